//! `tarjama translate`: articles in, aligned bilingual documents out,
//! through the glossary, the memory and the configured backend (or offline
//! when none is configured).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use tarjama::config::{Config, Overrides, Settings as ResolvedSettings};
use tarjama::glossary::{Glossary, GlossaryError, check::check_terms};
use tarjama::job::inputs::Inputs;
use tarjama::job::{Job, Outcome as JobOutcome, Plan, Report, Sink, Work};
use tarjama::memory::{Memory, MemoryAccess};
use tarjama::model::RunSummary;
use tarjama::pipeline::{self, EngineInfo, NO_BACKEND_HINT, Settings, Translator};
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
fn open_memory(path: &Path, access: &MemoryAccess, args: &Args) -> anyhow::Result<Memory> {
    Ok(
        if args.no_memory || (args.dry_run && !tarjama::memory::exists(path)) {
            Memory::open_in_memory()?
        } else if args.dry_run {
            Memory::open_existing_with(path, access)?
        } else {
            Memory::open_with(path, access)?
        },
    )
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
        if let Some(at) = super::shared_glossary(global, &args.glossaries)? {
            let g = super::load_shared_glossary(global, &at)?;
            return Ok(Terms {
                hash: Some(g.content_hash()),
                matcher: Some(g.matcher()),
            });
        }
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
}

/// The run's settings, from the one resolution with this command's flags.
fn settings(global: &GlobalArgs, args: &Args) -> anyhow::Result<ResolvedSettings> {
    super::settings(
        global,
        &Overrides {
            backend: args.backend.clone(),
            memory: args.memory.path.clone(),
            batch_size: args.batch_size,
            concurrency: args.concurrency,
            ..Overrides::default()
        },
    )
}

/// The engine for the chosen backend (`--backend`, `TARJAMA_BACKEND`,
/// `default_backend`, or the only one configured), or `None` to run
/// offline.
fn translator(settings: &ResolvedSettings) -> anyhow::Result<Option<Arc<dyn Translator>>> {
    Ok(match &settings.backend {
        Some(b) => Some(Arc::new(pipeline::EngineTranslator::from_config(
            &b.name, &b.config,
        )?)),
        None => None,
    })
}

fn segmenter(
    config: Option<&Config>,
    flags: &SegmentFlags,
) -> anyhow::Result<(
    tarjama::segment::Segmenter,
    tarjama::segment::SegmentOptions,
)> {
    flags.build(config)
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
        if s.stray_ids > 0 {
            line.push_str(&format!(
                ", {} answer{} for ids not asked for (ignored)",
                s.stray_ids,
                if s.stray_ids == 1 { "" } else { "s" }
            ));
        }
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

/// The library's job reports, drawn and printed for a terminal.
struct Display {
    progress: Arc<Progress>,
    quiet: bool,
    offline: bool,
    show: bool,
    refresh: bool,
    info: Option<EngineInfo>,
}

impl Sink for Display {
    fn warning(&mut self, message: &str) {
        if !self.quiet {
            self.progress.println(&[format!("tarjama: {message}")]);
        }
    }

    fn planned(&mut self, _document: &str, segments: usize, from_memory: usize, to_send: usize) {
        self.progress.planned(segments, from_memory, to_send);
    }

    fn answered(&mut self, translated: usize, failed: usize, retries: u64) {
        self.progress.batch(translated, failed, retries);
    }

    fn phase(&mut self, label: &str) {
        self.progress.phase(label);
    }

    fn written(&mut self, r: &Report) {
        if self.quiet {
            return;
        }
        let mut lines = Vec::new();
        if self.refresh && !self.offline {
            lines.push(format!(
                "{}: refresh: {} machine translation(s) in the memory sent again; each is replaced when its answer arrives",
                r.name, r.refreshed
            ));
        }
        lines.push(summary_line(
            &r.name,
            &r.summary,
            r.untranslated,
            r.glossary_hits,
            self.offline,
        ));
        lines.extend(failure_lines(&r.failures));
        self.progress.finished(&lines);
    }

    fn dry_run(&mut self, p: &Plan) {
        print!("{}", dry_run_text(p, self.info.as_ref(), self.show));
    }
}

/// What a dry run prints for one document.
fn dry_run_text(p: &Plan, info: Option<&EngineInfo>, show: bool) -> String {
    let bytes: Option<usize> = p
        .planned
        .iter()
        .filter(|r| r.refused.is_none())
        .map(|r| r.body.as_ref().map(String::len))
        .sum();
    let bytes = bytes.filter(|_| !p.planned.is_empty());
    let mut out = String::new();
    out.push_str(&format!(
        "{}: {} segments, {} from memory, {} to send ({} characters of text{}{})\n",
        p.name,
        p.segments,
        p.from_memory,
        p.to_send,
        p.chars,
        bytes
            .map(|b| format!(", {b} bytes of request bodies"))
            .unwrap_or_default(),
        match (p.requests, info) {
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
    for (i, r) in p.planned.iter().enumerate() {
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
        if show && let Some(body) = &r.body {
            // Keys travel in headers or the URL, never in a body; neither
            // is shown.
            out.push_str(&format!(
                "  POST {} (headers not shown)\n{body}\n",
                info.map(|i| i.url.as_str()).unwrap_or("?")
            ));
        }
    }
    out
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<Outcome> {
    let settings = settings(global, &args)?;
    let config = settings.config.path.is_some().then_some(&settings.config);
    let Inputs {
        documents,
        format,
        skipped,
    } = tarjama::job::inputs::plan(
        &args.files,
        args.output.as_deref(),
        args.to.as_deref(),
        args.dry_run,
    )?;
    if !global.quiet {
        for s in &skipped {
            eprintln!("tarjama: skipped {}: {}", s.path.display(), s.why);
        }
    }
    let (segmenter, segment_options) = segmenter(config, &args.seg)?;
    let terms = Terms::load(global, config, &args)?;
    let translator = translator(&settings)?;
    let info: Option<EngineInfo> = translator.as_ref().map(|t| t.info().clone());
    let mem_path = settings.memory_path_or_default().context(
        "cannot find the user data directory for the translation memory; pass --memory PATH",
    )?;
    let memory = open_memory(&mem_path, &settings.memory_access, &args)?;
    let several = documents.len() > 1;

    // Ctrl-C: once, nothing more is sent and what is in flight is awaited;
    // twice, quit at once.
    let signals = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (cancel_tx, cancel) = watch::channel(false);
    if translator.is_some() && !args.dry_run {
        let quiet = global.quiet;
        signals.spawn(async move {
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
    let progress = Progress::new(
        global.quiet || translator.is_none() || args.dry_run,
        documents.len(),
    );
    let mut display = Display {
        progress: progress.clone(),
        quiet: global.quiet,
        offline: translator.is_none(),
        show: args.show,
        refresh: args.refresh,
        info: info.clone(),
    };
    let job = Job {
        memory,
        work: Work {
            documents,
            format,
            write: args.writer.options(),
            segmenter,
            segment_options,
            glossary: terms.matcher.zip(terms.hash),
            translator: translator.clone(),
            settings: Settings {
                refresh: args.refresh,
                ..Settings::new(check_terms)
            },
            dry_run: args.dry_run,
            fetch_timeout: tarjama::input::fetch::timeout(super::env()),
            cancel,
        },
    };
    let outcome = tarjama::job::run(job, &mut display)
        .with_context(|| format!("translating with the memory {}", mem_path.display()))?;
    progress.finish();
    if args.dry_run {
        if several {
            println!(
                "total: {} segments to send, {} characters of text, {} requests, {} bytes of request bodies",
                outcome.totals.sent,
                outcome.totals.chars_sent,
                outcome.dry_requests,
                outcome.dry_bytes
            );
        }
        return Ok(Outcome::Success);
    }
    if !global.quiet {
        if outcome.offline && outcome.untranslated > 0 {
            eprintln!("tarjama: {NO_BACKEND_HINT}");
        }
        if several && !outcome.offline {
            eprintln!("{}", total_line(&outcome));
        }
        if outcome.abandoned_in_flight {
            eprintln!(
                "tarjama: requests still in flight after {} s were abandoned; their segments are sent again on resume",
                Settings::new(check_terms).drain_timeout.as_secs()
            );
        }
    }
    if let Some(f) = &outcome.fatal {
        // A rerun cannot fix this: exit 1 with the setting to change (what
        // was translated is written and stored).
        bail!("{f}");
    }
    if outcome.partial() {
        if !global.quiet {
            let cmd: Vec<String> = std::env::args().map(|a| shell_quote(&a)).collect();
            eprintln!(
                "tarjama: {}; to resume, rerun the same command (nothing already translated is sent again):\n  {}",
                if outcome.interrupted {
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

/// The run's line after the documents' when there are several: requests
/// are shared by articles, so the run's figures are the ones to read.
fn total_line(o: &JobOutcome) -> String {
    summary_line(
        &format!("total ({} documents)", o.documents),
        &o.totals,
        o.untranslated,
        0,
        false,
    )
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
            stray_ids: 0,
            failed: 2,
            terms_honoured: 5,
            terms_missed: 1,
            elapsed_ms: 1500,
        };
        assert_eq!(
            summary_line("a.txt", &s, 2, 7, false),
            "a.txt: 19 segments: 4 from memory, 15 sent (2000 characters, 2 requests, 1 retries), 2 failed; terms 5 honoured, 1 missed; 1.5 s"
        );
        // Answers for ids that were not asked for are said.
        let stray = RunSummary {
            stray_ids: 3,
            ..s.clone()
        };
        assert!(
            summary_line("a.txt", &stray, 2, 7, false)
                .contains("), 2 failed, 3 answers for ids not asked for (ignored); terms"),
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
}
