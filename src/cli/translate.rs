//! `tarjama translate`: articles in, aligned bilingual documents out,
//! through the glossary, the memory and the configured backend (or offline
//! when none is configured).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, bail};
use tarjama::config::{Config, Overrides, Settings as ResolvedSettings};
use tarjama::glossary::{Glossary, GlossaryError, check::check_terms};
use tarjama::input::{Source, is_docx_name, is_html_name, read_document};
use tarjama::memory::{Memory, time};
use tarjama::model::{Bitext, DocMeta, RunSummary, Segment, TermHit};
use tarjama::output::{Format, WriteOptions};
use tarjama::pipeline::{self, EngineInfo, NO_BACKEND_HINT, OFFLINE_WARNING, Settings, Translator};
use tokio::sync::watch;

use super::memory::MemoryFlag;
use super::progress::Progress;
use super::segment::SegmentFlags;
use super::{GlobalArgs, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Articles: UTF-8 text, saved web pages (.html, .htm), Word files
    /// (.docx), http(s):// URLs, or directories of files (their *.txt,
    /// *.html, *.htm and *.docx files; anything else there is listed as
    /// skipped); `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output file, or directory when there are several inputs; stdout when
    /// absent or `-` (one input only). The format follows the extension.
    /// A symbolic link's target is replaced; a FIFO or device is written into.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Output format when the extension does not say: jsonl (default),
    /// html, md, tsv, xliff, tmx, txt.
    #[arg(long, value_name = "FORMAT")]
    pub to: Option<String>,
    #[command(flatten)]
    pub writer: super::render::WriterFlags,
    /// The backend (a [backends.NAME] table in the config); default:
    /// $TARJAMA_BACKEND, then `default_backend`, then the only one
    /// configured. Without any, translate runs offline.
    #[arg(long, value_name = "NAME")]
    pub backend: Option<String>,
    /// Glossary TSV files, layered in order (repeatable; default: the
    /// config's `glossaries`, else every *.tsv in ./glossaries/).
    #[arg(long = "glossary", value_name = "PATH")]
    pub glossaries: Vec<PathBuf>,
    #[command(flatten)]
    pub memory: MemoryFlag,
    /// Segments per request (overrides the backend's batch_size).
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// Requests in flight (overrides the backend's concurrency).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Send nothing: show segments, memory hits, and each request that
    /// would be sent (its segments, characters of text and, for LLM
    /// backends, the exact body size with prompt and context), and the
    /// segments the backend would refuse as too long. Works on a folder
    /// without -o and writes no output.
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: print each request body as it would be sent (keys are
    /// never in a body; headers are not shown).
    #[arg(long, requires = "dry_run")]
    pub show: bool,
    /// Translate again what the memory holds as machine output (replacing
    /// it); reviewed and human translations are still used.
    #[arg(long)]
    pub refresh: bool,
    /// Run with a throw-away memory: nothing is read from or written to
    /// the memory file.
    #[arg(long, conflicts_with = "refresh")]
    pub no_memory: bool,
    #[command(flatten)]
    pub seg: SegmentFlags,
}

/// The run's memory: a throw-away one with `--no-memory`, or for a dry run
/// of a memory that does not exist yet (a dry run creates nothing); else
/// the file, created on a real run's first use.
fn open_memory(path: &Path, args: &Args) -> anyhow::Result<Memory> {
    Ok(
        if args.no_memory || (args.dry_run && !tarjama::memory::exists(path)) {
            Memory::open_in_memory()?
        } else if args.dry_run {
            Memory::open_existing(path)?
        } else {
            Memory::open(path)?
        },
    )
}

/// One input document and where its output goes (`None`: stdout).
struct Job {
    source: Source,
    output: Option<PathBuf>,
}

/// A file a folder held that is not translated, and why.
struct Skipped {
    path: PathBuf,
    why: &'static str,
}

/// Why a folder's entry is not one of its articles (`None`: it is one).
fn skip_reason(p: &Path) -> Option<&'static str> {
    let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
    if name.as_deref().is_some_and(|n| n.starts_with('.')) {
        return Some("hidden");
    }
    if p.is_dir() {
        return Some("a folder (folders inside are not read)");
    }
    if !p.is_file() {
        return Some("not a regular file");
    }
    if is_html_name(p) || is_docx_name(p) {
        return None;
    }
    match p.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("txt") => None,
        _ => Some("not a *.txt, *.html or *.docx file; rename it to translate it"),
    }
}

/// The documents the arguments name: files as given, a folder's `*.txt`
/// files in name order (with what else it held, and why that is skipped);
/// whether a folder was given.
fn expand_inputs(files: &[PathBuf]) -> anyhow::Result<(Vec<Source>, bool, Vec<Skipped>)> {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    let mut had_dir = false;
    for f in files {
        if f.is_dir() {
            had_dir = true;
            let mut entries: Vec<PathBuf> = std::fs::read_dir(f)
                .with_context(|| format!("reading directory {}", f.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            let mut found = Vec::new();
            for p in entries {
                match skip_reason(&p) {
                    None => found.push(p),
                    Some(why) => skipped.push(Skipped { path: p, why }),
                }
            }
            if found.is_empty() {
                let also = if skipped.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (skipped: {})",
                        skipped
                            .iter()
                            .map(|s| format!("{}: {}", s.path.display(), s.why))
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                };
                bail!(
                    "{}: no *.txt, *.html or *.docx files in this directory{also}",
                    f.display()
                );
            }
            out.extend(found.into_iter().map(Source::File));
        } else {
            out.push(Source::from_arg(Some(f)));
        }
    }
    Ok((out, had_dir, skipped))
}

/// The documents, where each one's output goes, the format, and what the
/// folders held that is skipped.
fn plan_jobs(args: &Args) -> anyhow::Result<(Vec<Job>, Format, Vec<Skipped>)> {
    let (sources, had_dir, skipped) = expand_inputs(&args.files)?;
    // `-o -` is standard output, as no `-o` is.
    let output = args.output.as_ref().filter(|o| o.as_os_str() != "-");
    let named = match &args.to {
        Some(t) => Some(Format::from_name(t).with_context(|| {
            format!(
                "unknown output format {t:?}; use one of: {}",
                Format::ALL.map(|f| f.name()).join(", ")
            )
        })?),
        None => None,
    };
    let several = sources.len() > 1;
    if sources.iter().filter(|s| **s == Source::Stdin).count() > 0 && (several || had_dir) {
        bail!("`-` (standard input) cannot be combined with other inputs");
    }
    // A folder's output is a folder unless `-o` names a file (a folder
    // holding one article may go to `-o x.html`).
    let out_is_dir =
        output.is_some_and(|o| o.is_dir() || ((several || had_dir) && o.extension().is_none()));
    if several && !out_is_dir && !args.dry_run {
        bail!(
            "several inputs need an output directory: pass -o DIR (one output per input is written into it)"
        );
    }
    let format = match (output, named) {
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
            let output = match (output, &source) {
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
    Ok((jobs, format, skipped))
}

/// The glossary of the run: its matcher and its content hash, or nothing
/// when no glossary is configured or found.
struct Terms {
    matcher: Option<tarjama::glossary::Matcher>,
    hash: Option<String>,
}

impl Terms {
    /// The glossaries [`super::glossary_paths`] finds; none at all is not
    /// an error, but a warning.
    fn load(global: &GlobalArgs, config: Option<&Config>, args: &Args) -> anyhow::Result<Terms> {
        let found = super::glossary_paths(&args.glossaries, config);
        let (paths, from) = match found {
            Ok(p) => p,
            Err(GlossaryError::NotFound(why)) => {
                if !global.quiet {
                    eprintln!(
                        "tarjama: warning: {why}; translating without pinned names and terms (see `tarjama glossary paths`)"
                    );
                }
                return Ok(Terms {
                    matcher: None,
                    hash: None,
                });
            }
            Err(e) => return Err(e.into()),
        };
        let (g, warnings) = Glossary::load(&paths)
            .with_context(|| format!("loading the glossaries from {from}"))?;
        if !global.quiet {
            for w in warnings {
                eprintln!("tarjama: warning: {w}");
            }
        }
        Ok(Terms {
            hash: Some(g.content_hash()),
            matcher: Some(g.matcher()),
        })
    }

    /// Every hit in the document's segments, in order.
    fn find(&self, segments: &[Segment]) -> Vec<TermHit> {
        match &self.matcher {
            Some(m) => segments.iter().flat_map(|s| m.find(s)).collect(),
            None => Vec::new(),
        }
    }
}

/// The engine (none: offline), the memory file, and the backend's
/// concurrency.
type Resolved = (Option<Arc<dyn Translator>>, PathBuf, usize);

/// The engine for the chosen backend (`--backend`, `TARJAMA_BACKEND`,
/// `default_backend`, or the only one configured), or `None` to run
/// offline; the memory file; the backend's concurrency.
fn resolve(config: Option<&Config>, args: &Args) -> anyhow::Result<Resolved> {
    let overrides = Overrides {
        backend: args.backend.clone(),
        memory: args.memory.path.clone(),
        batch_size: args.batch_size,
        concurrency: args.concurrency,
        ..Overrides::default()
    };
    let resolved = ResolvedSettings::resolve(config.cloned(), &overrides)?;
    let translator: Option<Arc<dyn Translator>> = match &resolved.backend {
        Some(b) => Some(Arc::new(pipeline::EngineTranslator::from_config(
            &b.name, &b.config,
        )?)),
        None => None,
    };
    let mem = resolved.memory_path_or_default().context(
        "cannot find the user data directory for the translation memory; pass --memory PATH",
    )?;
    let concurrency = resolved
        .backend
        .as_ref()
        .map_or(1, |b| b.config.concurrency_or_default());
    Ok((translator, mem, concurrency))
}

/// How many documents are translated at once: enough to keep the
/// backend's `concurrency` requests in flight when each document fills only
/// a request or two (twice it, so that reading, look-ups and writing overlap
/// with sending), at most 32 and at most the number of documents.
fn doc_window(concurrency: usize, documents: usize) -> usize {
    (2 * concurrency).clamp(1, 32).min(documents).max(1)
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

/// The one-line summary of a document; `untranslated` counts the segments
/// left without English.
fn summary_line(
    name: &str,
    s: &RunSummary,
    untranslated: usize,
    hits: usize,
    offline: bool,
) -> String {
    let mut line = format!(
        "{name}: {} segments: {} from memory",
        s.segments, s.from_memory
    );
    if offline {
        line.push_str(&format!(", {untranslated} not translated"));
    } else {
        // Requests that reached the server but got no answer (timed out,
        // connection lost) are said, so that "sent" is never mistaken for
        // "answered".
        let unanswered = if s.answered < s.requests {
            format!(" ({} answered)", s.answered)
        } else {
            String::new()
        };
        line.push_str(&format!(
            ", {} sent ({} characters, {} requests{unanswered}, {} retries), {} failed",
            s.sent, s.chars_sent, s.requests, s.retries, s.failed
        ));
        let left = untranslated.saturating_sub(s.failed);
        if left > 0 {
            line.push_str(&format!(", {left} not sent"));
        }
    }
    if offline && hits > 0 {
        line.push_str(&format!("; {hits} glossary hits"));
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

/// The failed segments grouped by reason: `  failed p3s1, p4s2: reason`
/// (at most eight ids shown per reason).
fn failure_lines(failed: &[(String, String)]) -> Vec<String> {
    let mut by_reason: Vec<(&str, Vec<&str>)> = Vec::new();
    for (id, reason) in failed {
        match by_reason.iter_mut().find(|(r, _)| *r == reason.as_str()) {
            Some((_, ids)) => ids.push(id),
            None => by_reason.push((reason, vec![id])),
        }
    }
    by_reason
        .into_iter()
        .map(|(reason, ids)| {
            let shown = ids.iter().take(8).copied().collect::<Vec<_>>().join(", ");
            let more = if ids.len() > 8 {
                format!(" and {} more", ids.len() - 8)
            } else {
                String::new()
            };
            format!("  failed {shown}{more}: {reason}")
        })
        .collect()
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

fn write_doc(
    job: &Job,
    format: Format,
    options: &WriteOptions,
    doc: &Bitext,
) -> anyhow::Result<()> {
    let bytes = tarjama::output::render(format, doc, options)
        .with_context(|| format!("writing {} as {format}", job.source))?;
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
    let (jobs, format, skipped) = plan_jobs(&args)?;
    if !global.quiet {
        for s in &skipped {
            eprintln!("tarjama: skipped {}: {}", s.path.display(), s.why);
        }
    }
    let write_options = args.writer.options();
    let (segmenter, seg_opts) = segmenter(config, &args.seg)?;
    let terms = Terms::load(global, config, &args)?;
    let (translator, mem_path, concurrency) = resolve(config, &args)?;
    let info: Option<EngineInfo> = translator.as_ref().map(|t| t.info().clone());
    let mut mem = Some(open_memory(&mem_path, &args)?);
    let settings = Settings {
        refresh: args.refresh,
        ..Settings::new(check_terms)
    };
    let fatal: Mutex<Option<String>> = Mutex::new(None);

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

    let window = match (&translator, args.dry_run) {
        (Some(_), false) => doc_window(concurrency, jobs.len()),
        _ => 1,
    };
    // One display for the run: a bar per run, a line per finished article.
    let progress = Progress::new(
        global.quiet || translator.is_none() || args.dry_run,
        jobs.len(),
    );
    let partial = AtomicBool::new(false);
    let interrupted = AtomicBool::new(false);
    let dry_total = Mutex::new((0usize, 0usize, 0usize, 0usize));
    // One line of summary (and its failures) at a time on stderr.
    let print = Mutex::new(());
    // One document: read, segment, look up, translate, write, report. Takes
    // a connection to the memory and hands it back.
    let one = |job: &Job, memory: Memory| -> anyhow::Result<Memory> {
        let started = Instant::now();
        let name = job.source.to_string();
        let document = read_document(&job.source)?;
        let text = document.text;
        if text.trim().is_empty() && !global.quiet {
            eprintln!(
                "tarjama: warning: {name} is empty: nothing to translate; writing an empty document"
            );
        }
        let segments = segmenter.segment(&text, seg_opts);
        let hits = terms.find(&segments);
        let meta = DocMeta {
            source_path: match &job.source {
                Source::File(p) => Some(p.display().to_string()),
                Source::Stdin => None,
            },
            // A page's URL is its name.
            source_name: match &job.source {
                _ if document.url.is_some() => document.url.clone(),
                Source::File(p) => p.file_name().map(|n| n.to_string_lossy().into_owned()),
                Source::Stdin => None,
            },
            title: document
                .title
                .or_else(|| segments.first().map(Segment::flat_text)),
            created: Some(time::format_rfc3339(time::now_unix())),
            tarjama_version: Some(env!("CARGO_PKG_VERSION").into()),
            backend: info.as_ref().map(|i| i.name.clone()),
            model: info.as_ref().and_then(|i| i.model.clone()),
            glossary_hash: terms.hash.clone(),
            source_lang: Some("ar".into()),
            target_lang: Some("en".into()),
            summary: None,
            headings: document.headings,
        };
        let prepared = pipeline::prepare(&memory, meta, segments, hits, info.as_ref(), &settings)
            .with_context(|| {
            format!("{name}: looking segments up in {}", mem_path.display())
        })?;

        if args.dry_run {
            let reqs = prepared.requests(info.as_ref());
            let chars = prepared.pending_chars();
            let plan = translator
                .as_ref()
                .map(|t| t.preview(&reqs))
                .unwrap_or_default();
            let n_req = translator.as_ref().map(|t| t.planned_requests(&reqs));
            let bytes: Option<usize> = plan
                .iter()
                .filter(|r| r.refused.is_none())
                .map(|r| r.body.as_ref().map(String::len))
                .sum();
            let bytes = bytes.filter(|_| !plan.is_empty());
            let mut out = String::new();
            out.push_str(&format!(
                "{name}: {} segments, {} from memory, {} to send ({} characters of text{}{})\n",
                prepared.units.len(),
                prepared.from_memory,
                prepared.pending.len(),
                chars,
                bytes
                    .map(|b| format!(", {b} bytes of request bodies"))
                    .unwrap_or_default(),
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
            ));
            for (i, r) in plan.iter().enumerate() {
                let ids = match r.ids.as_slice() {
                    [one] => one.clone(),
                    [first, .., last] => format!("{first}..{last}"),
                    [] => String::new(),
                };
                let n = r.ids.len();
                let segs = format!("{n} segment{} ({ids})", if n == 1 { "" } else { "s" });
                match (&r.refused, &r.body) {
                    (Some(why), _) => {
                        out.push_str(&format!("  request {}: refused in advance: {why}\n", i + 1))
                    }
                    (None, Some(body)) => out.push_str(&format!(
                        "  request {}: {segs}, {} characters of text, {} bytes sent (prompt and context included)\n",
                        i + 1,
                        r.text_chars,
                        body.len()
                    )),
                    (None, None) => out.push_str(&format!(
                        "  request {}: {segs}, {} characters of text\n",
                        i + 1,
                        r.text_chars
                    )),
                }
                if args.show
                    && let Some(body) = &r.body
                {
                    // Keys travel in headers or the URL, never in a body;
                    // neither is shown.
                    out.push_str(&format!(
                        "  POST {} (headers not shown)\n{body}\n",
                        info.as_ref().map(|i| i.url.as_str()).unwrap_or("?")
                    ));
                }
            }
            {
                let _line = print.lock().unwrap_or_else(|e| e.into_inner());
                print!("{out}");
            }
            let mut t = dry_total.lock().unwrap_or_else(|e| e.into_inner());
            t.0 += prepared.pending.len();
            t.1 += chars;
            t.2 += n_req.unwrap_or(0);
            t.3 += bytes.unwrap_or(0);
            return Ok(memory);
        }

        let (doc, summary, failed_ids, memory) = match &translator {
            None => {
                let p = pipeline::offline(prepared, OFFLINE_WARNING);
                if !p.pending.is_empty() && !global.quiet {
                    eprintln!("tarjama: {NO_BACKEND_HINT}");
                }
                let (doc, s) = pipeline::finish(p, None, started);
                (doc, s, Vec::new(), memory)
            }
            Some(t) => {
                use tarjama::pipeline::ProgressSink;
                progress.planned(
                    prepared.units.len(),
                    prepared.from_memory,
                    prepared.pending.len(),
                );
                let (p, memory, outcome) = rt
                    .block_on(pipeline::translate_shared(
                        prepared,
                        memory,
                        t.as_ref(),
                        &settings,
                        cancel_rx.clone(),
                        progress.clone() as Arc<dyn tarjama::pipeline::ProgressSink>,
                    ))
                    .with_context(|| {
                        format!("{name}: storing translations in {}", mem_path.display())
                    })?;
                if outcome.interrupted {
                    interrupted.store(true, Ordering::Relaxed);
                }
                if let Some(f) = &outcome.fatal {
                    fatal
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get_or_insert_with(|| f.clone());
                }
                if outcome.rerequests_unanswered > 0 {
                    partial.store(true, Ordering::Relaxed);
                }
                if args.refresh && !global.quiet {
                    eprintln!(
                        "{name}: refresh: {} machine translation(s) in the memory sent again; each is replaced when its answer arrives",
                        p.refreshed
                    );
                }
                if outcome.abandoned_in_flight && !global.quiet {
                    eprintln!(
                        "tarjama: requests still in flight after {} s were abandoned; their segments are sent again on resume",
                        settings.drain_timeout.as_secs()
                    );
                }
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
                    partial.store(true, Ordering::Relaxed);
                }
                (doc, s, failed, memory)
            }
        };
        write_doc(job, format, &write_options, &doc)?;
        if !global.quiet {
            let _line = print.lock().unwrap_or_else(|e| e.into_inner());
            let mut lines = vec![summary_line(
                &name,
                &summary,
                doc.pairs.iter().filter(|p| p.target.is_none()).count(),
                doc.pairs.iter().map(|p| p.terms.len()).sum(),
                translator.is_none(),
            )];
            lines.extend(failure_lines(&failed_ids));
            progress.finished(&lines);
        }
        Ok(memory)
    };

    let mem = mem.take().expect("opened above");
    if window <= 1 {
        let mut memory = mem;
        for job in &jobs {
            if *cancel_rx.borrow() {
                break;
            }
            memory = one(job, memory)?;
            if fatal.lock().unwrap_or_else(|e| e.into_inner()).is_some() {
                break;
            }
        }
    } else {
        // Articles are short: one at a time, each fills a request or two and
        // the endpoint idles between them. `window` documents are in flight
        // at once, each on its own connection to the memory (WAL: readers
        // and one writer at a time), sharing the engine and so its
        // concurrency and rate limit.
        let next = AtomicUsize::new(0);
        let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
        let first = Mutex::new(Some(mem));
        std::thread::scope(|scope| {
            for _ in 0..window {
                scope.spawn(|| {
                    let fail = |e: anyhow::Error| {
                        failure
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .get_or_insert(e);
                    };
                    let own = first.lock().unwrap_or_else(|e| e.into_inner()).take();
                    let mut memory = match own.map_or_else(|| open_memory(&mem_path, &args), Ok) {
                        Ok(m) => m,
                        Err(e) => return fail(e),
                    };
                    loop {
                        let stop = failure.lock().unwrap_or_else(|e| e.into_inner()).is_some()
                            || fatal.lock().unwrap_or_else(|e| e.into_inner()).is_some();
                        if stop || *cancel_rx.borrow() {
                            return;
                        }
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(i) else { return };
                        match one(job, memory) {
                            Ok(m) => memory = m,
                            Err(e) => return fail(e),
                        }
                    }
                });
            }
        });
        if let Some(e) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(e);
        }
    }
    progress.finish();
    let dry_total = dry_total.into_inner().unwrap_or_else(|e| e.into_inner());
    if args.dry_run && jobs.len() > 1 {
        println!(
            "total: {} segments to send, {} characters of text, {} requests, {} bytes of request bodies",
            dry_total.0, dry_total.1, dry_total.2, dry_total.3
        );
    }
    if let Some(f) = fatal.into_inner().unwrap_or_else(|e| e.into_inner()) {
        // A rerun cannot fix this: exit 1 with the setting to change (what
        // was translated is written and stored).
        bail!("{f}");
    }
    let interrupted = interrupted.into_inner();
    if interrupted || partial.into_inner() {
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
    fn failures_are_grouped_by_reason() {
        let f: Vec<(String, String)> = (1..=10)
            .map(|i| {
                (
                    format!("p{i}s1"),
                    if i == 3 { "HTTP 400" } else { "unreachable" }.to_string(),
                )
            })
            .collect();
        assert_eq!(
            failure_lines(&f),
            [
                "  failed p1s1, p2s1, p4s1, p5s1, p6s1, p7s1, p8s1, p9s1 and 1 more: unreachable",
                "  failed p3s1: HTTP 400",
            ]
        );
    }

    #[test]
    fn summary_line_counts() {
        let s = RunSummary {
            segments: 19,
            from_memory: 4,
            sent: 15,
            chars_sent: 2000,
            requests: 2,
            answered: 2,
            retries: 1,
            failed: 2,
            terms_honoured: 5,
            terms_missed: 1,
            elapsed_ms: 1500,
        };
        assert_eq!(
            summary_line("a.txt", &s, 2, 7, false),
            "a.txt: 19 segments: 4 from memory, 15 sent (2000 characters, 2 requests, 1 retries), 2 failed; terms 5 honoured, 1 missed; 1.5 s"
        );
        // A request that timed out reached the server but was not answered.
        let timed_out = RunSummary {
            answered: 1,
            ..s.clone()
        };
        assert!(
            summary_line("a.txt", &timed_out, 2, 7, false)
                .contains("2 requests (1 answered), 1 retries"),
        );
        let off = RunSummary {
            segments: 19,
            from_memory: 4,
            ..RunSummary::default()
        };
        assert_eq!(
            summary_line("a.txt", &off, 15, 7, true),
            "a.txt: 19 segments: 4 from memory, 15 not translated; 7 glossary hits; 0.0 s"
        );
    }

    #[test]
    fn a_directory_gives_one_output_per_input() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.ar.txt"), "نص.").unwrap();
        std::fs::write(dir.path().join("b.txt"), "نص.").unwrap();
        std::fs::write(dir.path().join("notes.md"), "x").unwrap();
        std::fs::write(dir.path().join("page.html"), "<p>x</p>").unwrap();
        std::fs::write(dir.path().join("x.text"), "نص.").unwrap();
        let out = dir.path().join("out");
        let args = Args {
            files: vec![dir.path().to_path_buf()],
            output: Some(out.clone()),
            to: None,
            writer: Default::default(),
            backend: None,
            glossaries: vec![],
            memory: MemoryFlag::default(),
            batch_size: None,
            concurrency: None,
            dry_run: false,
            show: false,
            refresh: false,
            no_memory: false,
            seg: SegmentFlags::default(),
        };
        let (jobs, format, skipped) = plan_jobs(&args).unwrap();
        let why: Vec<_> = skipped
            .iter()
            .map(|s| {
                (
                    s.path.file_name().unwrap().to_string_lossy().into_owned(),
                    s.why,
                )
            })
            .collect();
        assert_eq!(why.len(), 2, "{why:?}");
        assert!(
            why[0].0 == "notes.md" && why[0].1.contains("not a *.txt, *.html or *.docx"),
            "{why:?}"
        );
        assert!(
            why[1].0 == "x.text" && why[1].1.contains("rename"),
            "{why:?}"
        );
        assert_eq!(format, Format::Jsonl);
        // Web pages are articles too.
        let outs: Vec<PathBuf> = jobs.iter().map(|j| j.output.clone().unwrap()).collect();
        assert_eq!(
            outs,
            [
                out.join("a.ar.jsonl"),
                out.join("b.jsonl"),
                out.join("page.jsonl")
            ]
        );
    }
}
