//! `tarjama translate`: articles in, aligned bilingual documents out,
//! through the glossary, the memory and the configured backend (or offline
//! when none is configured).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use tarjama::config::Config;
use tarjama::input::{Source, read_source};
use tarjama::memory::{Memory, time};
use tarjama::model::{Bitext, CheckedTerm, DocMeta, RunSummary, Segment, TermHit};
use tarjama::output::{Format, WriteOptions};
use tarjama::pipeline::{self, EngineInfo, NO_BACKEND_HINT, Settings, Translator};
use tokio::sync::watch;

use super::memory::MemoryFlag;
use super::progress::Progress;
use super::segment::SegmentFlags;
use super::{GlobalArgs, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Articles (UTF-8 text) or directories of them (their *.txt files);
    /// `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output file, or directory when there are several inputs; stdout when
    /// absent (one input only). The format follows the extension.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Output format when the extension does not say (default: jsonl).
    #[arg(long, value_name = "FORMAT")]
    pub to: Option<String>,
    /// The backend (a [backends.NAME] table in the config); default:
    /// `default_backend`. Without any, translate runs offline.
    #[arg(long, value_name = "NAME")]
    pub backend: Option<String>,
    /// Glossary TSV files, layered in order (repeatable; added after the
    /// config's `glossaries`).
    #[arg(long = "glossary", value_name = "PATH")]
    pub glossaries: Vec<PathBuf>,
    #[command(flatten)]
    pub memory: MemoryFlag,
    /// Send nothing: show segments, memory hits, and what would be sent
    /// (characters and requests).
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub seg: SegmentFlags,
}

/// One input document and where its output goes (`None`: stdout).
struct Job {
    source: Source,
    output: Option<PathBuf>,
}

fn expand_inputs(files: &[PathBuf]) -> anyhow::Result<(Vec<Source>, bool)> {
    let mut out = Vec::new();
    let mut had_dir = false;
    for f in files {
        if f.is_dir() {
            had_dir = true;
            let mut found: Vec<PathBuf> = std::fs::read_dir(f)
                .with_context(|| format!("reading directory {}", f.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("txt"))
                        && !p
                            .file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                })
                .collect();
            found.sort();
            if found.is_empty() {
                bail!("{}: no *.txt files in this directory", f.display());
            }
            out.extend(found.into_iter().map(Source::File));
        } else {
            out.push(Source::from_arg(Some(f)));
        }
    }
    Ok((out, had_dir))
}

fn plan_jobs(args: &Args) -> anyhow::Result<(Vec<Job>, Format)> {
    let (sources, had_dir) = expand_inputs(&args.files)?;
    let named = match &args.to {
        Some(t) => Some(Format::from_name(t).with_context(|| {
            format!(
                "unknown output format {t:?}; use one of: {}",
                Format::ALL.map(|f| f.name()).join(", ")
            )
        })?),
        None => None,
    };
    let several = sources.len() > 1 || had_dir;
    if sources.iter().filter(|s| **s == Source::Stdin).count() > 0 && several {
        bail!("`-` (standard input) cannot be combined with other inputs");
    }
    let out_is_dir = args
        .output
        .as_ref()
        .is_some_and(|o| o.is_dir() || (several && o.extension().is_none()));
    if several && !out_is_dir {
        bail!(
            "several inputs need an output directory: pass -o DIR (one output per input is written into it)"
        );
    }
    let format = match (&args.output, named) {
        (_, Some(f)) => f,
        (Some(o), None) if !out_is_dir => Format::from_path(o).with_context(|| {
            format!(
                "cannot tell the output format from {}; use an extension ({}) or --to",
                o.display(),
                Format::ALL.map(|f| f.extension()).join(", ")
            )
        })?,
        _ => Format::Jsonl,
    };
    let jobs = sources
        .into_iter()
        .map(|source| {
            let output = match (&args.output, &source) {
                (Some(dir), _) if out_is_dir => {
                    let stem = match &source {
                        Source::File(p) => p
                            .file_stem()
                            .map(|s| s.to_string_lossy().into_owned())
                            .unwrap_or_else(|| "output".into()),
                        Source::Stdin => "stdin".into(),
                    };
                    // "x.ar.txt" → "x.ar.jsonl" keeps the language tag.
                    Some(dir.join(format!("{stem}.{}", format.extension())))
                }
                (Some(o), _) => Some(o.clone()),
                (None, _) => None,
            };
            Job { source, output }
        })
        .collect();
    Ok((jobs, format))
}

/// The glossary's hits for the segments of one document, its term check and
/// its content hash.
struct Terms {
    check: pipeline::CheckFn,
    hash: Option<String>,
}

impl Terms {
    fn load(_config: Option<&Config>, args: &Args) -> anyhow::Result<Terms> {
        // TODO(glossary): load the layered glossaries and match them.
        if !args.glossaries.is_empty() {
            bail!("glossaries are not available in this build yet");
        }
        Ok(Terms {
            check: no_check,
            hash: None,
        })
    }

    fn find(&self, _segments: &[Segment]) -> Vec<TermHit> {
        Vec::new()
    }
}

fn no_check(_hits: &[TermHit], _english: &str) -> Vec<CheckedTerm> {
    Vec::new()
}

/// The engine for the chosen backend, or `None` to run offline.
fn build_translator(
    config: Option<&Config>,
    args: &Args,
) -> anyhow::Result<Option<Arc<dyn Translator>>> {
    let name = args
        .backend
        .clone()
        .or_else(|| config.and_then(|c| c.default_backend.clone()));
    let Some(name) = name else { return Ok(None) };
    let Some(cfg) = config.and_then(|c| c.backends.get(&name)) else {
        let known: Vec<String> = config
            .map(|c| c.backends.keys().cloned().collect())
            .unwrap_or_default();
        bail!(
            "no backend named {name:?} in the config{}; add a [backends.{name}] table (see seeds/)",
            if known.is_empty() {
                String::new()
            } else {
                format!(" (configured: {})", known.join(", "))
            }
        );
    };
    let t = pipeline::EngineTranslator::from_config(&name, cfg)?;
    Ok(Some(Arc::new(t)))
}

fn segmenter(
    config: Option<&Config>,
    flags: &SegmentFlags,
) -> anyhow::Result<(
    tarjama::segment::Segmenter,
    tarjama::segment::SegmentOptions,
)> {
    let mut f = flags.clone();
    if let Some(c) = config {
        f.join_lines |= c.segment.join_lines;
        if f.rules.is_none() {
            f.rules = c.segment.rules.clone();
        }
        f.abbreviations
            .splice(0..0, c.segment.abbreviations.iter().cloned());
    }
    f.build()
}

fn summary_line(name: &str, s: &RunSummary, offline: bool, dry_run: bool) -> String {
    let mut line = format!(
        "{name}: {} segments: {} from memory",
        s.segments, s.from_memory
    );
    let untranslated = s.segments - s.from_memory - (s.sent - s.failed).min(s.segments);
    if offline || dry_run {
        line.push_str(&format!(", {untranslated} not translated"));
    } else {
        line.push_str(&format!(
            ", {} sent ({} characters, {} requests, {} retries), {} failed",
            s.sent, s.chars_sent, s.requests, s.retries, s.failed
        ));
        let left = untranslated.saturating_sub(s.failed);
        if left > 0 {
            line.push_str(&format!(", {left} not sent"));
        }
    }
    if s.terms_honoured + s.terms_missed > 0 {
        line.push_str(&format!(
            "; terms {} honoured, {} missed",
            s.terms_honoured, s.terms_missed
        ));
    }
    line.push_str(&format!("; {:.1} s", s.elapsed_ms as f64 / 1000.0));
    line
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || "-_./=:,@+".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn write_doc(job: &Job, format: Format, doc: &Bitext) -> anyhow::Result<()> {
    let bytes = tarjama::output::render(format, doc, &WriteOptions::default())
        .with_context(|| format!("output format {format} is not available in this build yet"))?;
    match &job.output {
        Some(p) => {
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            tarjama::output::write_atomic(p, &bytes)?;
        }
        None => {
            use std::io::Write;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            out.write_all(&bytes)?;
            out.flush().context("writing to standard output")?;
        }
    }
    Ok(())
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<Outcome> {
    let config = Config::discover(global.config.as_deref())?;
    let config = config.as_ref();
    let (jobs, format) = plan_jobs(&args)?;
    let (segmenter, seg_opts) = segmenter(config, &args.seg)?;
    let terms = Terms::load(config, &args)?;
    let translator = build_translator(config, &args)?;
    let info: Option<EngineInfo> = translator.as_ref().map(|t| t.info().clone());
    let mem_path = args.memory.resolve(config)?;
    let mut mem = Some(Memory::open(&mem_path)?);
    let settings = Settings::new(terms.check);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (cancel_tx, cancel_rx) = watch::channel(false);
    if translator.is_some() && !args.dry_run {
        let quiet = global.quiet;
        rt.spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                if !quiet {
                    eprintln!(
                        "\ntarjama: interrupted: sending nothing more, waiting for requests in flight (Ctrl-C again to quit at once; finished batches are saved)"
                    );
                }
                let _ = cancel_tx.send(true);
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!("tarjama: stopped; rerun the same command to resume");
                    std::process::exit(i32::from(super::EXIT_PARTIAL));
                }
            }
        });
    }

    let mut partial = false;
    let mut interrupted = false;
    let mut dry_total = (0usize, 0usize, 0usize);
    for job in &jobs {
        if *cancel_rx.borrow() {
            break;
        }
        let started = Instant::now();
        let name = job.source.to_string();
        let text = read_source(&job.source)?;
        let segments = segmenter.segment(&text, seg_opts);
        let hits = terms.find(&segments);
        let meta = DocMeta {
            source_path: match &job.source {
                Source::File(p) => Some(p.display().to_string()),
                Source::Stdin => None,
            },
            source_name: match &job.source {
                Source::File(p) => p.file_name().map(|n| n.to_string_lossy().into_owned()),
                Source::Stdin => None,
            },
            title: segments.first().map(Segment::flat_text),
            created: Some(time::format_rfc3339(time::now_unix())),
            tarjama_version: Some(env!("CARGO_PKG_VERSION").into()),
            backend: info.as_ref().map(|i| i.name.clone()),
            model: info.as_ref().and_then(|i| i.model.clone()),
            glossary_hash: terms.hash.clone(),
            source_lang: Some("ar".into()),
            target_lang: Some("en".into()),
            summary: None,
        };
        let memory = mem
            .take()
            .expect("the memory is handed back after each document");
        let prepared = pipeline::prepare(&memory, meta, segments, hits, info.as_ref(), &settings)
            .with_context(|| {
            format!("{name}: looking segments up in {}", mem_path.display())
        })?;

        if args.dry_run {
            let reqs = prepared.requests(info.as_ref());
            let chars = prepared.pending_chars();
            let n_req = translator.as_ref().map(|t| t.planned_requests(&reqs));
            println!(
                "{name}: {} segments, {} from memory, {} to send ({} characters{})",
                prepared.units.len(),
                prepared.from_memory,
                prepared.pending.len(),
                chars,
                match (n_req, &info) {
                    (Some(n), Some(i)) => format!(
                        " in {n} request{} to {} ({}{})",
                        if n == 1 { "" } else { "s" },
                        i.name,
                        i.kind.as_str(),
                        i.model
                            .as_ref()
                            .map(|m| format!(", model {m}"))
                            .unwrap_or_default()
                    ),
                    _ => "; no backend configured".into(),
                }
            );
            dry_total.0 += prepared.pending.len();
            dry_total.1 += chars;
            dry_total.2 += n_req.unwrap_or(0);
            mem = Some(memory);
            continue;
        }

        let (doc, summary, failed_ids) = match &translator {
            None => {
                let p = pipeline::offline(prepared, NO_BACKEND_HINT);
                if !p.pending.is_empty() && !global.quiet {
                    eprintln!("tarjama: {NO_BACKEND_HINT}");
                }
                mem = Some(memory);
                let (doc, s) = pipeline::finish(p, None, started);
                (doc, s, Vec::new())
            }
            Some(t) => {
                let progress = Arc::new(Progress::new(global.quiet, &name));
                use tarjama::pipeline::ProgressSink;
                progress.planned(
                    prepared.units.len(),
                    prepared.from_memory,
                    prepared.pending.len(),
                );
                let (p, memory, outcome) = rt
                    .block_on(pipeline::translate(
                        prepared,
                        memory,
                        t.as_ref(),
                        &settings,
                        cancel_rx.clone(),
                        progress.clone(),
                    ))
                    .with_context(|| {
                        format!("{name}: storing translations in {}", mem_path.display())
                    })?;
                progress.finish();
                mem = Some(memory);
                interrupted |= outcome.interrupted;
                let failed: Vec<(String, String)> = p
                    .units
                    .iter()
                    .filter_map(|u| {
                        u.failure
                            .as_ref()
                            .map(|f| (u.segment.id.clone(), f.clone()))
                    })
                    .collect();
                let (doc, s) = pipeline::finish(p, Some(&outcome), started);
                if doc.pairs.iter().any(|p| p.target.is_none()) {
                    partial = true;
                }
                (doc, s, failed)
            }
        };
        write_doc(job, format, &doc)?;
        if !global.quiet {
            eprintln!(
                "{}",
                summary_line(&name, &summary, translator.is_none(), false)
            );
            for (id, reason) in failed_ids.iter().take(20) {
                eprintln!("  failed {id}: {reason}");
            }
            if failed_ids.len() > 20 {
                eprintln!("  ... and {} more", failed_ids.len() - 20);
            }
        }
    }
    if args.dry_run && jobs.len() > 1 {
        println!(
            "total: {} segments to send, {} characters, {} requests",
            dry_total.0, dry_total.1, dry_total.2
        );
    }
    if interrupted || partial {
        if !global.quiet {
            let cmd: Vec<String> = std::env::args().map(|a| shell_quote(&a)).collect();
            eprintln!(
                "tarjama: {}; to resume, rerun the same command (nothing already translated is sent again):\n  {}",
                if interrupted {
                    "interrupted"
                } else {
                    "some segments are not translated"
                },
                cmd.join(" ")
            );
        }
        return Ok(Outcome::Partial);
    }
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_for_the_resume_hint() {
        assert_eq!(shell_quote("a.txt"), "a.txt");
        assert_eq!(shell_quote("my file.txt"), "'my file.txt'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn summary_line_counts() {
        let s = RunSummary {
            segments: 19,
            from_memory: 4,
            sent: 15,
            chars_sent: 2000,
            requests: 2,
            retries: 1,
            failed: 2,
            terms_honoured: 5,
            terms_missed: 1,
            elapsed_ms: 1500,
        };
        assert_eq!(
            summary_line("a.txt", &s, false, false),
            "a.txt: 19 segments: 4 from memory, 15 sent (2000 characters, 2 requests, 1 retries), 2 failed; terms 5 honoured, 1 missed; 1.5 s"
        );
        let off = RunSummary {
            segments: 19,
            from_memory: 4,
            ..RunSummary::default()
        };
        assert_eq!(
            summary_line("a.txt", &off, true, false),
            "a.txt: 19 segments: 4 from memory, 15 not translated; 0.0 s"
        );
    }

    #[test]
    fn a_directory_gives_one_output_per_input() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.ar.txt"), "نص.").unwrap();
        std::fs::write(dir.path().join("b.txt"), "نص.").unwrap();
        std::fs::write(dir.path().join("notes.md"), "x").unwrap();
        let out = dir.path().join("out");
        let args = Args {
            files: vec![dir.path().to_path_buf()],
            output: Some(out.clone()),
            to: None,
            backend: None,
            glossaries: vec![],
            memory: MemoryFlag::default(),
            dry_run: false,
            seg: SegmentFlags::default(),
        };
        let (jobs, format) = plan_jobs(&args).unwrap();
        assert_eq!(format, Format::Jsonl);
        let outs: Vec<PathBuf> = jobs.iter().map(|j| j.output.clone().unwrap()).collect();
        assert_eq!(outs, [out.join("a.ar.jsonl"), out.join("b.jsonl")]);
    }
}
