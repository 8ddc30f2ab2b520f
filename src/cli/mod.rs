/*!
The command-line layer: clap definitions, and the code that turns flags into
library calls and library results into output. Nothing in the library
depends on this module.

House rules: each subcommand has its own file with its `Args` struct and a
`run` function; doc comments on fields are the `--help` text.
*/

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod backends;
mod glossary;
mod memory;
mod progress;
mod qa;
mod render;
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
#[derive(Debug, Parser)]
#[command(name = "tarjama", version, about, max_term_width = 100)]
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
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Translate articles into aligned bilingual documents (offline without
    /// a backend: segments, glossary hits and memory matches).
    Translate(translate::Args),
    /// Cut an article into paragraphs and sentences.
    Segment(segment::Args),
    /// Match, maintain, check, convert and grow glossaries.
    Glossary(glossary::Args),
    /// Inspect the translation memory, export it to TMX, import TMX.
    Memory(memory::Args),
    /// List the configured MT backends, or test one.
    Backends(backends::Args),
    /// Turn a reviewed XLIFF, TSV or JSONL into any format, taking the
    /// reviewer's text.
    Render(render::Args),
    /// Check a bilingual file: terms, numbers, leftovers, consistency.
    Qa(qa::Args),
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
    }
}

/// Whether the error is a closed stdout (`tarjama ... | head`), which is not
/// a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
