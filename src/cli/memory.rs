//! `tarjama memory`: look into the translation memory, export it to TMX,
//! import TMX from other tools, search it, forget what should not be there,
//! check it and compact it.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use tarjama::memory::{Filter, Memory, MemoryAccess, NewPair, Provenance, StoredPair, time};
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
    /// The translation memory: a file, or a shared PostgreSQL database as
    /// postgres://user@host/db (default: $TARJAMA_MEMORY_URL, else
    /// $TARJAMA_MEMORY, else `memory.url` or `memory.path` in the config,
    /// else $XDG_DATA_HOME/tarjama/memory.sqlite).
    #[arg(long = "memory", value_name = "PATH|URL", global = true)]
    pub path: Option<PathBuf>,
}

impl MemoryFlag {
    /// The memory to use, by the rule `translate` uses: the flag, else
    /// `TARJAMA_MEMORY_URL` or `TARJAMA_MEMORY`, else the config's
    /// `memory.url` or `memory.path`, else the default in the user data
    /// dir; with how to reach it (password, lease) from the same settings.
    pub fn resolve(&self, global: &GlobalArgs) -> anyhow::Result<(PathBuf, MemoryAccess)> {
        let flags = tarjama::config::Overrides {
            memory: self.path.clone(),
            skip_backend: true,
            ..Default::default()
        };
        let settings = super::settings(global, &flags)?;
        let path = settings.memory_path_or_default().context(
            "cannot find the user data directory for the translation memory; pass --memory PATH",
        )?;
        Ok((path, settings.memory_access))
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum MemoryCommand {
    /// How many pairs the memory holds, by origin and backend.
    Stats(StatsArgs),
    /// Write every pair to a TMX 1.4b file (stdout without -o).
    Export(ExportArgs),
    /// Add the pairs of a TMX file (human translations unless a unit's
    /// `x-origin` prop says `mt` or `reviewed`).
    Import(ImportArgs),
    /// Exact and close matches of an Arabic text, with origin, backend,
    /// model and date.
    Search(SearchArgs),
    /// Remove pairs by backend, model, origin, date, document or source;
    /// every condition given must hold. Says how many were removed.
    Forget(ForgetArgs),
    /// SQLite's integrity check plus tarjama's own invariants; exit 4 when
    /// a problem is found.
    Check,
    /// Drop sources no pair uses any more and compact the file.
    Vacuum,
    /// Copy a memory into another, merging by provenance (a desk's SQLite
    /// files into the shared PostgreSQL one): human and reviewed pairs are
    /// added unless already there; of two machine answers under one cache
    /// key the final one, then the newer one, is kept. Each pair keeps its
    /// origin, backend, model, document and dates.
    Migrate(MigrateArgs),
}

#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// The memory to copy from (a file or postgres:// URL); left unchanged.
    #[arg(long, value_name = "PATH|URL")]
    pub from: PathBuf,
    /// The memory to merge into (created when new).
    #[arg(long, value_name = "PATH|URL")]
    pub to: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// The Arabic text (matched after normalisation).
    pub text: String,
    /// Lowest word-level similarity in percent for close matches.
    #[arg(long, default_value_t = tarjama::memory::FUZZY_THRESHOLD, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub min_score: u8,
    /// At most this many pairs.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    #[arg(long, value_enum, default_value_t = StatsFormat::Text)]
    pub format: StatsFormat,
}

#[derive(Debug, clap::Args)]
pub struct ForgetArgs {
    /// Pairs stored from this backend (its name in the config).
    #[arg(long)]
    pub backend: Option<String>,
    /// Pairs made by this model.
    #[arg(long)]
    pub model: Option<String>,
    /// Pairs of this origin: mt, reviewed or human.
    #[arg(long, value_parser = parse_origin)]
    pub origin: Option<Provenance>,
    /// Pairs stored on or after this date (YYYY-MM-DD, or
    /// YYYY-MM-DDTHH:MM:SSZ; UTC).
    #[arg(long, value_parser = parse_date, value_name = "DATE")]
    pub since: Option<i64>,
    /// Pairs stored before this date.
    #[arg(long, value_parser = parse_date, value_name = "DATE")]
    pub until: Option<i64>,
    /// Pairs stored from this input document (its path or file name; `*`
    /// and `?` are wildcards).
    #[arg(long, value_name = "NAME")]
    pub document: Option<String>,
    /// Pairs whose Arabic source contains this text (or matches it as a
    /// pattern with `*` and `?`).
    #[arg(long, value_name = "PATTERN")]
    pub source: Option<String>,
    /// Show what would be removed and remove nothing.
    #[arg(long)]
    pub dry_run: bool,
}

fn parse_origin(s: &str) -> Result<Provenance, String> {
    s.parse()
}

fn parse_date(s: &str) -> Result<i64, String> {
    time::parse_date(s)
        .ok_or_else(|| format!("{s:?} is not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)"))
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
    let (path, access) = args.memory.resolve(global)?;
    let access = &access;
    match args.command {
        MemoryCommand::Stats(a) => stats(&path, access, a),
        MemoryCommand::Export(a) => export(&path, access, a),
        MemoryCommand::Import(a) => import(global, &path, access, a),
        MemoryCommand::Search(a) => search(&path, access, a),
        MemoryCommand::Forget(a) => forget(global, &path, access, a),
        MemoryCommand::Check => check(&path, access),
        MemoryCommand::Vacuum => vacuum(global, &path, access),
        MemoryCommand::Migrate(a) => migrate(global, access, a),
    }
}

fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}

fn stats(path: &Path, access: &MemoryAccess, args: StatsArgs) -> anyhow::Result<Outcome> {
    let mem = Memory::open_existing_with(path, access)?;
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
                "pairs: {} (human {}, reviewed {}, machine {}), distinct sources: {}",
                s.pairs, s.human, s.reviewed, s.mt, s.distinct_sources
            )?;
            if s.pending > 0 {
                writeln!(
                    out,
                    "pending: {} machine answer(s) that missed a pinned term wait for their re-request (the next translate sends them)",
                    s.pending
                )?;
            }
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
            if let Some(d) = p.document {
                props.push(("x-document".into(), d));
            }
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

fn export(path: &Path, access: &MemoryAccess, args: ExportArgs) -> anyhow::Result<Outcome> {
    let ExportFormat::Tmx = args.to;
    let mem = Memory::open_existing_with(path, access)?;
    let units = pairs_to_units(&mem)?;
    let header = TmxHeader {
        creation_date: Some(time::format_tmx(time::now_unix())),
        ..TmxHeader::default()
    };
    let mut buf = Vec::new();
    write_tmx(&mut buf, &header, &units)?;
    match &args.output {
        Some(o) => tarjama::atomic::write_atomic(o, &buf)
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
    // A unit that does not say (another tool's memory) is a human's.
    let origin = prop(u, &["x-origin", "origin"])
        .and_then(|o| o.parse().ok())
        .unwrap_or(Provenance::Human);
    NewPair {
        source: u.source.clone(),
        target: u.target.clone(),
        origin,
        backend: prop(u, &["x-backend"]).map(str::to_string),
        model: prop(u, &["x-model"]).map(str::to_string),
        created: prop(u, &["x-created"]).and_then(time::parse_tmx),
        document: prop(u, &["x-document"]).map(str::to_string),
    }
}

fn import(
    global: &GlobalArgs,
    path: &Path,
    access: &MemoryAccess,
    args: ImportArgs,
) -> anyhow::Result<Outcome> {
    let text = tarjama::input::read_path(&args.file)?;
    let units = read_tmx(&args.file.display().to_string(), &text)?;
    let pairs: Vec<NewPair> = units.iter().map(unit_to_pair).collect();
    let mut mem = Memory::open_with(path, access)?;
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

/// One pair on one line: id, origin, backend/model, date, source, target.
fn pair_line(p: &StoredPair) -> String {
    let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    format!(
        "#{}\t{}{}\t{}\t{}\t{}\t{}",
        p.id,
        p.origin.as_str(),
        if p.pending { " (pending)" } else { "" },
        match (&p.backend, &p.model) {
            (Some(b), Some(m)) => format!("{b}/{m}"),
            (Some(b), None) => b.clone(),
            (None, Some(m)) => format!("-/{m}"),
            (None, None) => "-".into(),
        },
        time::format_rfc3339(p.updated),
        flat(&p.source),
        flat(&p.target)
    )
}

fn search(path: &Path, access: &MemoryAccess, args: SearchArgs) -> anyhow::Result<Outcome> {
    let mem = Memory::open_existing_with(path, access)?;
    let hits = mem.search(&args.text, args.min_score, args.limit)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        StatsFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &hits)?;
            writeln!(out)?;
        }
        StatsFormat::Text => {
            if hits.is_empty() {
                writeln!(
                    out,
                    "no pair in {} matches (at {}% or more)",
                    path.display(),
                    args.min_score
                )?;
            }
            for h in &hits {
                let kind = if h.score == 100 { "exact" } else { "fuzzy" };
                writeln!(out, "{kind} {}%\t{}", h.score, pair_line(&h.pair))?;
            }
        }
    }
    out.flush()?;
    Ok(Outcome::Success)
}

fn forget(
    global: &GlobalArgs,
    path: &Path,
    access: &MemoryAccess,
    args: ForgetArgs,
) -> anyhow::Result<Outcome> {
    let filter = Filter {
        backend: args.backend,
        model: args.model,
        origin: args.origin,
        since: args.since,
        until: args.until,
        document: args.document,
        source: args.source,
    };
    if filter.is_empty() {
        anyhow::bail!(
            "memory forget needs at least one of --backend, --model, --origin, --since, --until, --document, --source (to remove everything, delete {})",
            path.display()
        );
    }
    let mut mem = Memory::open_existing_with(path, access)?;
    if args.dry_run {
        let pairs = mem.select(&filter)?;
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        for p in &pairs {
            writeln!(out, "{}", pair_line(p))?;
        }
        out.flush()?;
        eprintln!(
            "memory forget --dry-run: {} pair(s) would be removed from {}; nothing was removed",
            pairs.len(),
            path.display()
        );
        return Ok(Outcome::Success);
    }
    let n = mem
        .forget(&filter)
        .with_context(|| format!("removing pairs from {}", path.display()))?;
    if !global.quiet {
        eprintln!("memory forget: removed {n} pair(s) from {}", path.display());
    }
    Ok(Outcome::Success)
}

fn check(path: &Path, access: &MemoryAccess) -> anyhow::Result<Outcome> {
    let mem = Memory::open_existing_with(path, access)?;
    let problems = mem.check()?;
    let s = mem.stats()?;
    if problems.is_empty() {
        println!(
            "memory check: {} is sound ({} pairs, {} sources, schema version {})",
            path.display(),
            s.pairs,
            s.distinct_sources,
            mem.schema_version()?
        );
        return Ok(Outcome::Success);
    }
    println!(
        "memory check: {} problem(s) in {}:",
        problems.len(),
        path.display()
    );
    for p in &problems {
        println!("  {p}");
    }
    Ok(Outcome::Findings)
}

fn vacuum(global: &GlobalArgs, path: &Path, access: &MemoryAccess) -> anyhow::Result<Outcome> {
    let mut mem = Memory::open_existing_with(path, access)?;
    let v = mem
        .vacuum()
        .with_context(|| format!("compacting {}", path.display()))?;
    if !global.quiet {
        eprintln!(
            "memory vacuum: removed 0 pairs and {} unused source(s); {} is {} (was {})",
            v.orphan_sources,
            path.display(),
            human_size(v.bytes_after),
            human_size(v.bytes_before)
        );
    }
    Ok(Outcome::Success)
}

fn migrate(
    global: &GlobalArgs,
    access: &MemoryAccess,
    args: MigrateArgs,
) -> anyhow::Result<Outcome> {
    let from = Memory::open_existing_with(&args.from, access)?;
    let mut to = Memory::open_with(&args.to, access)?;
    let st = to
        .merge_from(&from)
        .with_context(|| format!("merging {} into {}", from.location(), to.location()))?;
    if !global.quiet {
        eprintln!(
            "memory migrate: {} pair(s) added to {}, {} machine answer(s) replaced by final or newer ones, {} already there or better, {} skipped (empty)",
            st.added,
            to.location(),
            st.replaced,
            st.kept,
            st.skipped
        );
    }
    Ok(Outcome::Success)
}
