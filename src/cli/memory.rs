//! `tarjama memory`: look into the translation memory, export it to TMX and
//! import TMX from other tools.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use tarjama::config::Config;
use tarjama::memory::{Memory, NewPair, time};
use tarjama::model::Origin;
use tarjama::tmx::{TmxHeader, TmxUnit, read_tmx, write_tmx};

use super::{GlobalArgs, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub memory: MemoryFlag,
    #[command(subcommand)]
    pub command: MemoryCommand,
}

/// The `--memory` flag, shared with `translate`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct MemoryFlag {
    /// The translation memory file (default: $TARJAMA_MEMORY, else
    /// `memory.path` in the config, else
    /// $XDG_DATA_HOME/tarjama/memory.sqlite).
    #[arg(long = "memory", value_name = "PATH", global = true)]
    pub path: Option<PathBuf>,
}

impl MemoryFlag {
    /// The file to use: the flag, else `TARJAMA_MEMORY`, else the config's
    /// `memory.path`, else the default in the user data dir.
    pub fn resolve(&self, config: Option<&Config>) -> anyhow::Result<PathBuf> {
        if let Some(p) = &self.path {
            return Ok(p.clone());
        }
        if let Some(p) = std::env::var_os(tarjama::config::ENV_MEMORY).filter(|v| !v.is_empty()) {
            return Ok(PathBuf::from(p));
        }
        if let Some(p) = config.and_then(|c| c.memory.path.clone()) {
            return Ok(p);
        }
        tarjama::memory::default_path().context(
            "cannot find the user data directory for the translation memory; pass --memory PATH",
        )
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum MemoryCommand {
    /// How many pairs the memory holds, by origin and backend.
    Stats(StatsArgs),
    /// Write every pair to a TMX 1.4b file (stdout without -o).
    Export(ExportArgs),
    /// Add the pairs of a TMX file (human translations unless a unit's
    /// `x-origin` prop says `mt`).
    Import(ImportArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatsFormat {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    #[arg(long, value_enum, default_value_t = StatsFormat::Text)]
    pub format: StatsFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Tmx,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Tmx)]
    pub to: ExportFormat,
    /// Output file (written atomically); stdout when absent.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The TMX file.
    pub file: PathBuf,
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<Outcome> {
    let config = Config::discover(global.config.as_deref())?;
    let path = args.memory.resolve(config.as_ref())?;
    match args.command {
        MemoryCommand::Stats(a) => stats(&path, a),
        MemoryCommand::Export(a) => export(&path, a),
        MemoryCommand::Import(a) => import(global, &path, a),
    }
}

fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}

fn stats(path: &Path, args: StatsArgs) -> anyhow::Result<Outcome> {
    let mem = Memory::open(path)?;
    let s = mem.stats()?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        StatsFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &s)?;
            writeln!(out)?;
        }
        StatsFormat::Text => {
            writeln!(
                out,
                "memory: {} ({})",
                path.display(),
                human_size(s.file_bytes)
            )?;
            writeln!(
                out,
                "pairs: {} (human {}, machine {}), distinct sources: {}",
                s.pairs, s.human, s.mt, s.distinct_sources
            )?;
            if let (Some(o), Some(n)) = (s.oldest, s.newest) {
                writeln!(
                    out,
                    "oldest: {}, newest: {}",
                    time::format_rfc3339(o),
                    time::format_rfc3339(n)
                )?;
            }
            if !s.by_backend.is_empty() {
                writeln!(out, "by backend and model:")?;
                for (b, m, n) in &s.by_backend {
                    let b = if b.is_empty() { "(none)" } else { b };
                    let m = if m.is_empty() { "-" } else { m };
                    writeln!(out, "  {b}\t{m}\t{n}")?;
                }
            }
        }
    }
    out.flush()?;
    Ok(Outcome::Success)
}

/// The TMX units of every stored pair, with origin, backend and model as
/// `x-` props.
pub fn pairs_to_units(mem: &Memory) -> anyhow::Result<Vec<TmxUnit>> {
    Ok(mem
        .pairs()?
        .into_iter()
        .map(|p| {
            let mut props = vec![("x-origin".to_string(), p.origin.as_str().to_string())];
            if let Some(b) = p.backend {
                props.push(("x-backend".into(), b));
            }
            if let Some(m) = p.model {
                props.push(("x-model".into(), m));
            }
            props.push(("x-created".into(), time::format_tmx(p.created)));
            TmxUnit {
                id: Some(p.id.to_string()),
                source: p.source,
                target: p.target,
                props,
                notes: Vec::new(),
            }
        })
        .collect())
}

fn export(path: &Path, args: ExportArgs) -> anyhow::Result<Outcome> {
    let ExportFormat::Tmx = args.to;
    let mem = Memory::open(path)?;
    let units = pairs_to_units(&mem)?;
    let header = TmxHeader {
        creation_date: Some(time::format_tmx(time::now_unix())),
        ..TmxHeader::default()
    };
    let mut buf = Vec::new();
    write_tmx(&mut buf, &header, &units)?;
    match &args.output {
        Some(o) => tarjama::output::write_atomic(o, &buf)
            .with_context(|| format!("writing {}", o.display()))?,
        None => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            out.write_all(&buf)?;
            out.flush()?;
        }
    }
    Ok(Outcome::Success)
}

fn prop<'a>(u: &'a TmxUnit, names: &[&str]) -> Option<&'a str> {
    u.props
        .iter()
        .find(|(k, _)| names.iter().any(|n| k.eq_ignore_ascii_case(n)))
        .map(|(_, v)| v.as_str())
}

/// The pair a TMX unit stands for.
pub fn unit_to_pair(u: &TmxUnit) -> NewPair {
    let origin = match prop(u, &["x-origin", "origin"]).map(str::to_ascii_lowercase) {
        Some(o) if o == "mt" || o == "machine" || o == "memory" => Origin::Mt,
        _ => Origin::Human,
    };
    NewPair {
        source: u.source.clone(),
        target: u.target.clone(),
        origin,
        backend: prop(u, &["x-backend"]).map(str::to_string),
        model: prop(u, &["x-model"]).map(str::to_string),
        created: prop(u, &["x-created"]).and_then(time::parse_tmx),
    }
}

fn import(global: &GlobalArgs, path: &Path, args: ImportArgs) -> anyhow::Result<Outcome> {
    let text = tarjama::input::read_path(&args.file)?;
    let units = read_tmx(&args.file.display().to_string(), &text)?;
    let pairs: Vec<NewPair> = units.iter().map(unit_to_pair).collect();
    let mut mem = Memory::open(path)?;
    let st = mem.add_pairs(&pairs)?;
    if !global.quiet {
        eprintln!(
            "imported {} new pairs into {} ({} already there, {} skipped for an empty source or target)",
            st.added,
            path.display(),
            st.existing,
            st.skipped
        );
    }
    Ok(Outcome::Success)
}
