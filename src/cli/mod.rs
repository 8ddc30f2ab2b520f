/*!
The command-line layer: clap definitions, and the code that turns flags into
library calls and library results into output. Nothing in the library
depends on this module.

House rules: each subcommand has its own file with its `Args` struct and a
`run` function; doc comments on fields are the `--help` text.
*/

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use std::io::Write;
use tarjama::config::{Config, Env, Overrides, Settings, glossary_dirs};
use tarjama::glossary::{GlossaryError, PathsFrom, resolve_paths};

mod backends;
mod glossary;
mod memory;
mod progress;
mod qa;
mod render;
mod review;
mod segment;
mod translate;

/// Exit code: everything asked for was done.
pub const EXIT_OK: u8 = 0;
/// Exit code: an error stopped the command (bad input, bad config, ...).
pub const EXIT_ERROR: u8 = 1;
/// Exit code: the command ran, but some segments failed or were left
/// untranslated; rerunning fills them in.
pub const EXIT_PARTIAL: u8 = 3;
/// Exit code: a check (`glossary check`, `qa`) found problems.
pub const EXIT_FINDINGS: u8 = 4;

/// How a command that did not fail outright ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Partial,
    Findings,
}

impl Outcome {
    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(match self {
            Outcome::Success => EXIT_OK,
            Outcome::Partial => EXIT_PARTIAL,
            Outcome::Findings => EXIT_FINDINGS,
        })
    }
}

/// tarjama: Arabic-to-English machine-assisted translation workbench.
///
/// Segments Arabic news articles, pins names and terms with glossaries,
/// remembers every translation, drives the MT endpoint you already have and
/// writes aligned bilingual documents for review.
/// The environment variables the settings read (between the config file
/// and the flags), for `--help`.
const ENV_HELP: &str = "\
Environment (above the config file, below the flags):
  TARJAMA_CONFIG               the config file (--config)
  TARJAMA_BACKEND              the backend to use (--backend)
  TARJAMA_MEMORY               the translation memory file (--memory)
  TARJAMA_MEMORY_URL           a shared memory, postgres://user@host/db (--memory)
  TARJAMA_GLOSSARY_URL         a shared glossary, postgres://user@host/db (--glossary-url)
  TARJAMA_GLOSSARY_USER        who edits the shared glossary (default: $USER)
  TARJAMA_BATCH_SIZE           segments per request (--batch-size)
  TARJAMA_CONCURRENCY          requests in flight (--concurrency)
  TARJAMA_REQUESTS_PER_MINUTE  the backend's requests_per_minute
  TARJAMA_TIMEOUT_SECS         the backend's timeout_secs
  TARJAMA_MAX_RETRIES          the backend's max_retries
  TARJAMA_FETCH_TIMEOUT        seconds to fetch a page at a URL (default 30)";

#[derive(Debug, Parser)]
#[command(name = "tarjama", version, about, max_term_width = 100, after_help = ENV_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand accepts.
#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// Configuration file (default: ./tarjama.toml, then
    /// $XDG_CONFIG_HOME/tarjama/config.toml).
    #[arg(long, global = true, value_name = "PATH", env = "TARJAMA_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print nothing on stderr but errors.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// A shared glossary in PostgreSQL (postgres://user@host/db), used
    /// instead of the glossary files (default: $TARJAMA_GLOSSARY_URL, else
    /// `glossary.url` in the config). A --glossary file given wins.
    #[arg(long, global = true, value_name = "URL")]
    pub glossary_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Translate articles into aligned bilingual documents (offline without
    /// a backend: segments, glossary hits and memory matches).
    #[command(after_help = ENV_HELP)]
    Translate(translate::Args),
    /// Cut an article into paragraphs and sentences.
    Segment(segment::Args),
    /// Match, maintain, check, convert and grow glossaries.
    Glossary(glossary::Args),
    /// Inspect the translation memory, export it to TMX, import TMX.
    #[command(after_help = ENV_HELP)]
    Memory(memory::Args),
    /// List the configured MT backends, or test one.
    #[command(after_help = ENV_HELP)]
    Backends(backends::Args),
    /// Turn a reviewed XLIFF, TSV or JSONL into any format, taking the
    /// reviewer's text.
    Render(render::Args),
    /// Check a bilingual file: terms, numbers, leftovers, consistency.
    Qa(qa::Args),
    /// Post-edit a draft in the browser: a local page that saves every
    /// edit to a review file and the memory.
    Review(review::Args),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(CompletionsArgs),
    /// Print the manual page (roff), e.g. `tarjama man > ~/.local/share/man/man1/tarjama.1`.
    Man,
}

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// The process environment, read once here and passed to the library as a
/// value (the library never reads the environment itself).
pub fn env() -> &'static Env {
    static ENV: std::sync::OnceLock<Env> = std::sync::OnceLock::new();
    ENV.get_or_init(|| Env::from_pairs(std::env::vars_os()))
}

/// Every command's settings, from the one resolution: built-in defaults <
/// config file < environment < `flags`. Commands that use no backend set
/// `flags.skip_backend`.
pub fn settings(global: &GlobalArgs, flags: &Overrides) -> anyhow::Result<Settings> {
    let config = Config::discover(global.config.as_deref(), env())?;
    let mut flags = flags.clone();
    if flags.glossary_url.is_none() {
        flags.glossary_url = global.glossary_url.clone();
    }
    Ok(Settings::resolve(config, &flags, env())?)
}

/// The shared glossary a run uses and who edits it: the resolved
/// `glossary_url`, unless `--glossary` files are given (they win).
pub fn shared_glossary(
    global: &GlobalArgs,
    explicit: &[PathBuf],
) -> anyhow::Result<Option<tarjama::glossary::shared::SharedAt>> {
    if !explicit.is_empty() {
        return Ok(None);
    }
    let s = settings_without_backend(global)?;
    Ok(s.glossary_url
        .map(|url| tarjama::glossary::shared::SharedAt {
            url,
            editor: s.editor,
            access: s.memory_access,
        }))
}

/// The settings of a command that uses no backend.
fn settings_without_backend(global: &GlobalArgs) -> anyhow::Result<Settings> {
    settings(
        global,
        &Overrides {
            skip_backend: true,
            ..Overrides::default()
        },
    )
}

/// Load the shared glossary at `url` once for a run, printing its
/// warnings.
pub fn load_shared_glossary(
    global: &GlobalArgs,
    at: &tarjama::glossary::shared::SharedAt,
) -> anyhow::Result<tarjama::glossary::Glossary> {
    let mut shared = tarjama::glossary::shared::SharedGlossary::open(at)?;
    let (g, warnings) = shared
        .load()
        .with_context(|| format!("loading the shared glossary {}", shared.location()))?;
    if !global.quiet {
        for w in warnings {
            eprintln!("tarjama: warning: {w}");
        }
    }
    Ok(g)
}

/// The config file of a command that uses no backend (`None`: no file), as
/// the settings resolved it.
pub fn config_file(global: &GlobalArgs) -> anyhow::Result<Option<Config>> {
    let s = settings_without_backend(global)?;
    Ok(s.config.path.is_some().then_some(s.config))
}

/// The glossary for this run: `--glossary`, else the same defaults as the
/// glossary commands; None when there is none (or `--no-glossary`).
pub fn run_glossary(
    global: &GlobalArgs,
    explicit: &[PathBuf],
    none: bool,
) -> anyhow::Result<Option<tarjama::glossary::Glossary>> {
    if none {
        return Ok(None);
    }
    if let Some(at) = shared_glossary(global, explicit)? {
        return load_shared_glossary(global, &at).map(Some);
    }
    let config = if explicit.is_empty() {
        config_file(global)?
    } else {
        None
    };
    let (paths, from) = match glossary_paths(explicit, config.as_ref()) {
        Ok(found) => found,
        // No glossary anywhere: fall back to the recorded hits.
        Err(tarjama::glossary::GlossaryError::NotFound(_)) if explicit.is_empty() => {
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    let (g, warnings) = tarjama::glossary::Glossary::load(&paths)
        .with_context(|| format!("loading the glossaries from {from}"))?;
    if !global.quiet {
        for w in warnings {
            eprintln!("tarjama: warning: {w}");
        }
    }
    Ok(Some(g))
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Translate(args) => translate::run(&cli.global, args),
        Command::Segment(args) => segment::run(&cli.global, args),
        Command::Glossary(args) => glossary::run(&cli.global, args),
        Command::Memory(args) => memory::run(&cli.global, args),
        Command::Backends(args) => backends::run(&cli.global, args),
        Command::Render(args) => render::run(&cli.global, args),
        Command::Qa(args) => qa::run(&cli.global, args),
        Command::Review(args) => review::run(&cli.global, args),
        Command::Completions(args) => {
            let mut out = std::io::stdout().lock();
            clap_complete::generate(args.shell, &mut Cli::command(), "tarjama", &mut out);
            out.flush().context("writing to standard output")?;
            Ok(Outcome::Success)
        }
        Command::Man => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            out.flush().context("writing to standard output")?;
            Ok(Outcome::Success)
        }
    }
}

/// The glossary files of a run, and where the list came from. The order,
/// shown by `tarjama glossary paths`: `--glossary`, else the config's
/// `glossaries` (relative to the config file), else the `*.tsv` files of
/// the first folder of [`glossary_dirs`] that has any
/// (`$XDG_DATA_HOME/tarjama/glossaries/`, then `./glossaries/`).
pub fn glossary_paths(
    explicit: &[PathBuf],
    config: Option<&Config>,
) -> Result<(Vec<PathBuf>, PathsFrom), GlossaryError> {
    let dirs = glossary_dirs(env());
    if explicit.is_empty() && config.is_none_or(|c| c.glossaries.is_empty()) {
        for dir in &dirs {
            if let Ok(found) = resolve_paths(&[], None, dir) {
                return Ok(found);
            }
        }
        let cfg = match config.and_then(|c| c.path.as_ref()) {
            Some(p) => format!("the config file {} has no `glossaries` list", p.display()),
            None => "no config file was found".to_string(),
        };
        let looked = dirs
            .iter()
            .map(|d| format!("{}/", d.display()))
            .collect::<Vec<_>>()
            .join(" or ");
        return Err(GlossaryError::NotFound(format!(
            "no glossary: no --glossary was given, {cfg}, and there is no *.tsv file in {looked}; pass --glossary PATH or run `tarjama glossary init`"
        )));
    }
    resolve_paths(explicit, config, Path::new("glossaries"))
}

/// Whether the error is a closed stdout (`tarjama ... | head`), which is not
/// a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
