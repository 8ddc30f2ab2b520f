//! `tarjama review`: post-edit a draft in the browser, on a local page that
//! saves every edit to a review file beside the draft and to the memory.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use tarjama::glossary::GlossaryError;
use tarjama::memory::Memory;
use tarjama::review::server::{self, Review};
use tarjama::review::{ReviewGlossary, Session, drafts_in};

use super::{GlobalArgs, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The draft: the JSONL `translate` wrote; or a folder of them, which
    /// the page lists. Edits go to DRAFT.review.jsonl beside each draft.
    pub draft: PathBuf,
    /// Port on 127.0.0.1 (default: a free one). The server never listens
    /// on another address.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub port: u16,
    /// Open the page in the default browser ($BROWSER, else xdg-open/open).
    #[arg(long)]
    pub open: bool,
    /// Glossary file (TSV), repeatable: every segment is matched and
    /// checked with it, and entries added from the page go to the last one.
    /// Default: the glossaries `translate` would use.
    #[arg(long = "glossary", short = 'g', value_name = "PATH")]
    pub glossaries: Vec<PathBuf>,
    #[command(flatten)]
    pub memory: super::memory::MemoryFlag,
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<Outcome> {
    let config = super::config_file(global)?;
    let drafts = if args.draft.is_dir() {
        drafts_in(&args.draft)?
    } else {
        vec![args.draft.clone()]
    };
    let glossary = match super::shared_glossary(global, &args.glossaries)? {
        Some(at) => {
            let (g, warnings) =
                ReviewGlossary::shared(&at).context("loading the shared glossary")?;
            if !global.quiet {
                for w in warnings {
                    eprintln!("tarjama: warning: {w}");
                }
            }
            Some(g)
        }
        None => match super::glossary_paths(&args.glossaries, config.as_ref()) {
            Ok((paths, _)) => {
                let (g, warnings) =
                    ReviewGlossary::load(paths).context("loading the glossaries")?;
                if !global.quiet {
                    for w in warnings {
                        eprintln!("tarjama: warning: {w}");
                    }
                }
                Some(g)
            }
            Err(GlossaryError::NotFound(_)) if args.glossaries.is_empty() => None,
            Err(e) => return Err(e.into()),
        },
    };
    let mut sessions = Vec::with_capacity(drafts.len());
    for d in &drafts {
        sessions.push(Session::open(d, glossary.as_ref())?);
    }
    let (mem_path, access) = args.memory.resolve(global)?;
    let mut memory = Memory::open_with(&mem_path, &access)
        .with_context(|| format!("opening the memory {}", mem_path.display()))?;
    for s in &mut sessions {
        // Saves a killed server had not stored yet.
        s.store_pending(&mut memory)?;
    }
    let token = server::new_token().context("cannot get random bytes for the review token")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the server runtime")?;
    let listener = rt
        .block_on(tokio::net::TcpListener::bind(("127.0.0.1", args.port)))
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
    let port = listener.local_addr()?.port();
    let url = format!("http://127.0.0.1:{port}/{token}/");
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{url}")?;
        out.flush()?;
    }
    if !global.quiet {
        let resumed = sessions.iter().filter(|s| s.review_path.exists()).count();
        eprintln!(
            "review: {} document(s), {} segment(s){}; memory {}; stop with Ctrl-C or the page's Done",
            sessions.len(),
            sessions.iter().map(|s| s.doc.pairs.len()).sum::<usize>(),
            if resumed > 0 {
                format!(", {resumed} resumed from their review file")
            } else {
                String::new()
            },
            mem_path.display()
        );
    }
    if args.open {
        open_browser(&url);
    }
    let review = Review {
        folder: args.draft.is_dir(),
        sessions,
        memory: Some(memory),
        glossary,
    };
    rt.block_on(server::serve(listener, token, review, async {
        let _ = tokio::signal::ctrl_c().await;
    }))
    .context("serving the review page")?;
    if !global.quiet {
        eprintln!("review: stopped; edits are in the review file(s) beside the draft(s)");
    }
    Ok(Outcome::Success)
}

/// Start the user's browser on `url`, without waiting for it.
fn open_browser(url: &str) {
    let cmd = std::env::var("BROWSER")
        .ok()
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| {
            if cfg!(target_os = "macos") {
                "open".into()
            } else {
                "xdg-open".into()
            }
        });
    let started = std::process::Command::new(&cmd)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if let Err(e) = started {
        eprintln!("tarjama: warning: cannot start {cmd} ({e}); open the URL yourself");
    }
}
