//! `tarjama backends list` and `tarjama backends test [NAME]`: see what is
//! configured, and check that an endpoint answers before a long run.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tarjama::backend::{self, BackendError, ErrorKind};
use tarjama::config::{BackendConfig, Config, Overrides};
use tarjama::model::{Context, Request};

use super::{GlobalArgs, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// List the configured backends: name, kind, URL, and whether the
    /// variable holding the key is set (never its value). `*` marks the
    /// default.
    List,
    /// Send one short request and report the answer and latency, or the
    /// error. Exit 1 if it fails.
    Test(TestArgs),
}

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// The backend to test (default: $TARJAMA_BACKEND, then default_backend).
    pub name: Option<String>,
    /// Test every configured backend.
    #[arg(long, conflicts_with = "name")]
    pub all: bool,
}

/// The sentence sent by `backends test`.
const PROBE: &str = "وصل الوزير إلى موسكو صباح الجمعة.";

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<Outcome> {
    match args.command {
        Sub::List => list(global),
        Sub::Test(t) => test(global, t),
    }
}

fn list(global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let config = super::config_file(global)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let Some(config) = config else {
        eprintln!(
            "tarjama: no config file (./tarjama.toml or the user config dir); start from seeds/tarjama.sample.toml"
        );
        return Ok(Outcome::Success);
    };
    if config.backends.is_empty() {
        eprintln!("tarjama: {} has no [backends.NAME] table", path_of(&config));
        return Ok(Outcome::Success);
    }
    // The default as a run would choose it (flag aside).
    let chosen = super::settings(global, &Overrides::default())
        .ok()
        .and_then(|s| s.backend)
        .map(|b| b.name);
    let rows: Vec<[String; 4]> = config
        .backends
        .iter()
        .map(|(name, b)| {
            let mark = if chosen.as_deref() == Some(name) {
                "*"
            } else {
                " "
            };
            [
                format!("{mark}{name}"),
                b.kind.as_str().to_string(),
                endpoint_of(b),
                key_state(b),
            ]
        })
        .collect();
    let header = [" NAME", "KIND", "URL", "KEY"].map(String::from);
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let line = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ");
        writeln!(out, "{}", line.trim_end())?;
    }
    out.flush()?;
    Ok(Outcome::Success)
}

/// "VAR set", "VAR not set", or "-" when no variable is named.
fn key_state(b: &BackendConfig) -> String {
    match &b.api_key_env {
        None => "-".into(),
        Some(v) if b.key_is_set() => format!("{v} set"),
        Some(v) => format!("{v} NOT SET"),
    }
}

fn path_of(c: &Config) -> String {
    c.path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "the config".into())
}

fn test(global: &GlobalArgs, args: TestArgs) -> anyhow::Result<Outcome> {
    let targets: Vec<(String, BackendConfig)> = if args.all {
        let c = super::config_file(global)?.context("no config file, so no backend to test")?;
        c.backends.clone().into_iter().collect()
    } else {
        let flags = Overrides {
            backend: args.name.clone(),
            ..Overrides::default()
        };
        let s = super::settings(global, &flags)?;
        match s.backend {
            Some(b) => vec![(b.name, b.config)],
            None => bail!(
                "no backend to test: name one (tarjama backends test NAME), set default_backend in the config, or set TARJAMA_BACKEND"
            ),
        }
    };
    if targets.is_empty() {
        bail!("the config has no [backends.NAME] table");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let mut failed = Vec::new();
    let stdout = std::io::stdout();
    for (name, cfg) in &targets {
        let started = Instant::now();
        let result = rt.block_on(probe(name, cfg));
        let secs = started.elapsed().as_secs_f64();
        let mut out = stdout.lock();
        match result {
            Ok(english) => writeln!(
                out,
                "ok    {name} ({}, {})  {secs:.2} s  \"{}\"",
                cfg.kind.as_str(),
                endpoint_of(cfg),
                english
            )?,
            Err(message) => {
                writeln!(out, "FAIL  {name}  {secs:.2} s  {message}")?;
                failed.push(name.clone());
            }
        }
        out.flush()?;
    }
    if failed.is_empty() {
        Ok(Outcome::Success)
    } else {
        bail!("backend test failed: {}", failed.join(", "))
    }
}

/// The base URL without secrets, as written (no trailing slash added).
fn endpoint_of(cfg: &BackendConfig) -> String {
    match cfg.url_or_default() {
        None => "-".into(),
        Some(u) => {
            let r = backend::http::redact_url(&u);
            if u.ends_with('/') {
                r
            } else {
                r.trim_end_matches('/').to_string()
            }
        }
    }
}

/// One short request, no retries. The error is one line without secrets.
async fn probe(name: &str, cfg: &BackendConfig) -> Result<String, String> {
    let b = backend::build(name, cfg).map_err(|e| e.to_string())?;
    let req = Request {
        id: "probe".into(),
        text: PROBE.into(),
        terms: vec![],
        context: Context::default(),
        insist: false,
    };
    let timeout = cfg.timeout() + Duration::from_millis(500);
    let call = b.translate(std::slice::from_ref(&req));
    let result = tokio::time::timeout(timeout, call).await.unwrap_or_else(|_| {
        Err(BackendError::new(
            ErrorKind::Timeout,
            format!(
                "{name}: no answer from {} within {:.1}s; raise timeout_secs or check the server",
                b.endpoint(),
                cfg.timeout().as_secs_f64()
            ),
        ))
    });
    match result {
        Ok(mut v) if v.len() == 1 => Ok(v.remove(0)),
        Ok(v) => Err(format!(
            "{name}: {} answered {} translations for 1 segment",
            b.endpoint(),
            v.len()
        )),
        Err(e) => Err(e.message),
    }
}
