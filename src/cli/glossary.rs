//! `tarjama glossary`: match, maintain, check, convert and grow glossaries.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Serialize;
use tarjama::glossary::format::{self, Format as GFormat};
use tarjama::glossary::shared::SharedGlossary;
use tarjama::glossary::suggest::{SuggestOptions, suggest};
use tarjama::glossary::{Entry, Glossary, GlossaryError, PathsFrom, edit, lint};
use tarjama::input::{Source, read_path, read_source};

use super::segment::SegmentFlags;
use super::{GlobalArgs, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Glossary file (TSV); repeat to layer them, a later file overriding an
    /// earlier one. Default: the config file's `glossaries`, else every
    /// *.tsv in ./glossaries/.
    #[arg(long = "glossary", short = 'g', value_name = "PATH", global = true)]
    pub glossaries: Vec<PathBuf>,
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// Show the glossary hits in an article, per segment.
    Match(MatchArgs),
    /// Add an entry to a glossary file (in place, other lines untouched),
    /// or to the shared glossary.
    Add(AddArgs),
    /// Remove an entry from a glossary file (in place, other lines
    /// untouched), or from the shared glossary.
    Remove(RemoveArgs),
    /// List the active entries after layering.
    List(ListArgs),
    /// Lint the glossary files; exit code 4 when something is wrong.
    Check,
    /// Convert a CSV, OmegaT, DeepL or TBX glossary to tarjama's TSV; with
    /// --shared, load TSV files into the shared glossary.
    Import(ImportArgs),
    /// Write the active entries as CSV, OmegaT, DeepL or TBX; with --dir,
    /// each layer of the shared glossary as DIR/LAYER.tsv.
    Export(ExportArgs),
    /// The changes of the shared glossary, newest first: when, who, and the
    /// row before and after.
    History(HistoryArgs),
    /// Propose entries: near-misses of existing ones and frequent phrases.
    Suggest(SuggestArgs),
    /// Show where glossaries are looked for, in order, and which are used.
    Paths,
    /// Install the starter glossaries (countries, organisations, the seed
    /// article) into $XDG_DATA_HOME/tarjama/glossaries/, where every
    /// folder finds them.
    Init(InitArgs),
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Install into this folder instead.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Replace starter glossaries already there (your own files are never
    /// touched).
    #[arg(long)]
    pub force: bool,
}

/// The starter glossaries, built into the binary so that an installed
/// tarjama can install them without the source tree.
const STARTERS: [(&str, &str); 4] = [
    (
        "countries.tsv",
        include_str!("../../glossaries/countries.tsv"),
    ),
    (
        "organisations.tsv",
        include_str!("../../glossaries/organisations.tsv"),
    ),
    ("phrases.tsv", include_str!("../../glossaries/phrases.tsv")),
    (
        "seed-article.tsv",
        include_str!("../../glossaries/seed-article.tsv"),
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutFormat {
    /// Readable text.
    Text,
    /// One JSON object per line.
    Jsonl,
}

#[derive(Debug, clap::Args)]
pub struct MatchArgs {
    /// The article (UTF-8 text); `-` or nothing reads standard input.
    pub file: Option<PathBuf>,
    /// Output format; jsonl has the fields segment, start, end, surface,
    /// source, target (character offsets in the article).
    #[arg(long, value_enum, default_value_t = OutFormat::Text)]
    pub format: OutFormat,
    #[command(flatten)]
    pub seg: SegmentFlags,
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The Arabic source.
    pub source: String,
    /// The English rendering to pin.
    pub target: String,
    /// person, org, place, event, term, ...
    #[arg(long)]
    pub kind: Option<String>,
    /// Another Arabic spelling (repeatable).
    #[arg(long = "variant", value_name = "ARABIC")]
    pub variants: Vec<String>,
    /// An English rendering that must not appear (repeatable).
    #[arg(long = "forbidden", value_name = "ENGLISH")]
    pub forbidden: Vec<String>,
    /// A note for translators and reviewers (never sent to an engine).
    #[arg(long)]
    pub note: Option<String>,
    /// A phrase inside which the entry does not apply (repeatable; the file
    /// needs a `not_in` column).
    #[arg(long = "not-in", value_name = "ARABIC")]
    pub not_in: Vec<String>,
    /// Its hits are hints, never required wording (the file needs an
    /// `ambiguous` column).
    #[arg(long)]
    pub ambiguous: bool,
    /// The file to edit (default: the last --glossary; without either, the
    /// shared glossary when one is configured).
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// The shared glossary's layer to add to (default: the last layer,
    /// else `desk`).
    #[arg(long, value_name = "NAME", conflicts_with = "file")]
    pub layer: Option<String>,
    /// Allow an entry that overrides one in another glossary file.
    #[arg(long = "override")]
    pub allow_override: bool,
}

#[derive(Debug, clap::Args)]
pub struct RemoveArgs {
    /// The Arabic source of the entry (compared after normalisation).
    pub source: String,
    /// The file to edit (default: the last --glossary; without either, the
    /// shared glossary when one is configured).
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// The shared glossary's layer to remove from (default: the one that
    /// has the entry).
    #[arg(long, value_name = "NAME", conflicts_with = "file")]
    pub layer: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// Only the changes of this Arabic source (after normalisation).
    pub source: Option<String>,
    /// At most this many changes.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    #[arg(long, value_enum, default_value_t = OutFormat::Text)]
    pub format: OutFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    Text,
    Tsv,
    Jsonl,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only entries of this kind.
    #[arg(long)]
    pub kind: Option<String>,
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ConvFormat {
    Tsv,
    Csv,
    Omegat,
    DeeplTsv,
    DeeplCsv,
    Tbx,
}

impl From<ConvFormat> for GFormat {
    fn from(f: ConvFormat) -> GFormat {
        match f {
            ConvFormat::Tsv => GFormat::Tsv,
            ConvFormat::Csv => GFormat::Csv,
            ConvFormat::Omegat => GFormat::Omegat,
            ConvFormat::DeeplTsv => GFormat::DeeplTsv,
            ConvFormat::DeeplCsv => GFormat::DeeplCsv,
            ConvFormat::Tbx => GFormat::Tbx,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The glossary to convert (with --shared: the TSV files to load).
    #[arg(required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Load the TSV files into the shared glossary, each into the layer of
    /// its name (countries.tsv into `countries`), each file all or nothing,
    /// with the checks of `glossary add`.
    #[arg(long, conflicts_with_all = ["from", "columns", "output"])]
    pub shared: bool,
    /// With --shared: load into this layer instead.
    #[arg(long, value_name = "NAME", requires = "shared")]
    pub layer: Option<String>,
    /// Its format (default: from the extension: .tbx, .csv, .tsv, .txt/.tab/.utf8 = OmegaT).
    #[arg(long, value_enum)]
    pub from: Option<ConvFormat>,
    /// The columns of a CSV or TSV file in order, when its header does not
    /// name them (e.g. `ar,en,-,note`; `-` skips a column).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub columns: Option<Vec<String>>,
    /// Write the TSV here instead of standard output.
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The format to write.
    #[arg(long, value_enum, required_unless_present = "dir")]
    pub to: Option<ConvFormat>,
    /// Write each layer of the shared glossary as DIR/LAYER.tsv, in the
    /// format of glossaries/*.tsv.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["to", "output"])]
    pub dir: Option<PathBuf>,
    /// Write here instead of standard output.
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, clap::Args)]
pub struct SuggestArgs {
    /// The article (UTF-8 text); `-` or nothing reads standard input.
    pub file: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = OutFormat::Text)]
    pub format: OutFormat,
    /// At most this many candidates of each kind.
    #[arg(long, default_value_t = 30)]
    pub limit: usize,
    /// Least number of occurrences for a phrase.
    #[arg(long, default_value_t = 2)]
    pub min_count: usize,
    #[command(flatten)]
    pub seg: SegmentFlags,
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<Outcome> {
    match &args.command {
        Sub::Match(a) => run_match(global, &args, a),
        Sub::Add(a) => run_add(global, &args, a),
        Sub::Remove(a) => run_remove(global, &args, a),
        Sub::List(a) => run_list(global, &args, a),
        Sub::Check => run_check(global, &args),
        Sub::Import(a) => run_import(global, a),
        Sub::Export(a) => run_export(global, &args, a),
        Sub::History(a) => run_history(global, a),
        Sub::Suggest(a) => run_suggest(global, &args, a),
        Sub::Paths => run_paths(global, &args),
        Sub::Init(a) => run_init(global, a),
    }
}

/// The glossary files of this run and where the list came from.
fn paths(global: &GlobalArgs, args: &Args) -> anyhow::Result<(Vec<PathBuf>, PathsFrom)> {
    let config = if args.glossaries.is_empty() {
        super::config_file(global)?
    } else {
        None
    };
    Ok(super::glossary_paths(&args.glossaries, config.as_ref())?)
}

/// The segmenter for these flags plus the config file's `[segment]`
/// settings, so that segment ids are the ones `translate` uses.
fn segmenter(
    global: &GlobalArgs,
    flags: &SegmentFlags,
) -> anyhow::Result<(
    tarjama::segment::Segmenter,
    tarjama::segment::SegmentOptions,
)> {
    flags.build(super::config_file(global)?.as_ref())
}

/// The shared glossary, when one is configured and no --glossary file is
/// given; and who edits it.
fn shared(global: &GlobalArgs, args: &Args) -> anyhow::Result<Option<(SharedGlossary, String)>> {
    match super::shared_glossary(global, &args.glossaries)? {
        Some(at) => Ok(Some((SharedGlossary::open(&at)?, at.editor))),
        None => Ok(None),
    }
}

/// The shared glossary, or an error saying how to configure one.
fn need_shared(global: &GlobalArgs, args: &Args) -> anyhow::Result<(SharedGlossary, String)> {
    shared(global, args)?.context(
        "no shared glossary: pass --glossary-url postgres://user@host/db, set TARJAMA_GLOSSARY_URL, or add url under [glossary] in the config",
    )
}

/// Load the layered glossary, printing its warnings.
fn load(global: &GlobalArgs, args: &Args) -> anyhow::Result<Glossary> {
    if let Some(at) = super::shared_glossary(global, &args.glossaries)? {
        return super::load_shared_glossary(global, &at);
    }
    let (paths, from) = paths(global, args)?;
    let (g, warnings) =
        Glossary::load(&paths).with_context(|| format!("loading the glossaries from {from}"))?;
    if !global.quiet {
        for w in warnings {
            eprintln!("tarjama: warning: {w}");
        }
    }
    Ok(g)
}

fn stdout() -> std::io::BufWriter<std::io::StdoutLock<'static>> {
    std::io::BufWriter::new(std::io::stdout().lock())
}

#[derive(Serialize)]
struct JsonHit<'a> {
    segment: &'a str,
    start: usize,
    end: usize,
    surface: &'a str,
    source: &'a str,
    target: &'a str,
    /// From an `ambiguous` entry: a hint, not pinned.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    ambiguous: bool,
}

fn run_match(global: &GlobalArgs, args: &Args, a: &MatchArgs) -> anyhow::Result<Outcome> {
    let g = load(global, args)?;
    let m = g.matcher();
    let (segmenter, opts) = segmenter(global, &a.seg)?;
    let text = read_source(&Source::from_arg(a.file.as_deref()))?;
    let segments = segmenter.segment(&text, opts);
    let mut out = stdout();
    let (mut total, mut with_hits) = (0, 0);
    for s in &segments {
        let hits = m.find(s);
        if hits.is_empty() {
            continue;
        }
        total += hits.len();
        with_hits += 1;
        match a.format {
            OutFormat::Text => {
                writeln!(out, "{}", s.id)?;
                for h in &hits {
                    write!(
                        out,
                        "  {}-{}\t{}\t→ {}",
                        h.start, h.end, h.surface, h.target
                    )?;
                    if tarjama::normalize::key(&h.surface) != tarjama::normalize::key(&h.source) {
                        write!(out, "\t({})", h.source)?;
                    }
                    if h.ambiguous {
                        write!(out, "\t[hint: ambiguous entry, not pinned]")?;
                    }
                    writeln!(out)?;
                }
            }
            OutFormat::Jsonl => {
                for h in &hits {
                    serde_json::to_writer(
                        &mut out,
                        &JsonHit {
                            segment: &h.segment,
                            start: h.start,
                            end: h.end,
                            surface: &h.surface,
                            source: &h.source,
                            target: &h.target,
                            ambiguous: h.ambiguous,
                        },
                    )?;
                    writeln!(out)?;
                }
            }
        }
    }
    out.flush().context("writing to standard output")?;
    if !global.quiet {
        eprintln!(
            "tarjama: {total} hits in {with_hits} of {} segments ({} entries)",
            segments.len(),
            g.len()
        );
    }
    Ok(Outcome::Success)
}

/// The file `add`/`remove` edit.
fn edit_target(args: &Args, file: &Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match file.as_ref().or(args.glossaries.last()) {
        Some(p) => Ok(p.clone()),
        None => bail!("which glossary file? pass --file PATH (or --glossary PATH)"),
    }
}

/// The layered glossary the edited file belongs to, if one can be loaded.
fn layers_for_edit(global: &GlobalArgs, args: &Args) -> Option<Glossary> {
    let (paths, _) = paths(global, args).ok()?;
    let existing: Vec<PathBuf> = paths.into_iter().filter(|p| p.exists()).collect();
    Glossary::load(&existing).ok().map(|x| x.0)
}

fn run_add(global: &GlobalArgs, args: &Args, a: &AddArgs) -> anyhow::Result<Outcome> {
    let mut e = Entry::new(&a.source, &a.target);
    e.kind = a.kind.clone();
    e.variants = a.variants.clone();
    e.forbidden = a.forbidden.clone();
    e.note = a.note.clone();
    e.not_in = a.not_in.clone();
    e.ambiguous = a.ambiguous;
    if a.file.is_none()
        && let Some((mut g, who)) = shared(global, args)?
    {
        let added = g.add(a.layer.as_deref(), &e, a.allow_override, &who)?;
        println!(
            "added {}: {} → {}",
            added.where_(),
            added.source,
            added.target
        );
        return Ok(Outcome::Success);
    }
    if a.layer.is_some() {
        need_shared(global, args)?;
    }
    let path = edit_target(args, &a.file)?;
    let layers = layers_for_edit(global, args);
    let line = edit::add(&path, &e, layers.as_ref(), a.allow_override)?;
    println!(
        "added {}:{line}: {} → {}",
        path.display(),
        a.source.trim(),
        a.target.trim()
    );
    Ok(Outcome::Success)
}

fn run_remove(global: &GlobalArgs, args: &Args, a: &RemoveArgs) -> anyhow::Result<Outcome> {
    if a.file.is_none()
        && let Some((mut g, who)) = shared(global, args)?
    {
        let e = g.remove(a.layer.as_deref(), &a.source, &who)?;
        println!("removed {}: {} → {}", e.where_(), e.source, e.target);
        return Ok(Outcome::Success);
    }
    if a.layer.is_some() {
        need_shared(global, args)?;
    }
    let path = edit_target(args, &a.file)?;
    match edit::remove(&path, &a.source) {
        Ok(removed) => {
            for e in removed {
                let line = e.location.as_ref().map_or(0, |l| l.line);
                println!(
                    "removed {}:{line}: {} → {}",
                    path.display(),
                    e.source,
                    e.target
                );
            }
            Ok(Outcome::Success)
        }
        Err(GlossaryError::NotFound(msg)) => {
            let k = tarjama::normalize::key(&a.source);
            let elsewhere: Vec<String> = layers_for_edit(global, args)
                .map(|g| {
                    g.entries()
                        .iter()
                        .filter(|e| tarjama::normalize::key(&e.source) == k)
                        .map(Entry::where_)
                        .collect()
                })
                .unwrap_or_default();
            if elsewhere.is_empty() {
                bail!("{msg}")
            } else {
                bail!("{msg}; it is in {}", elsewhere.join(", "))
            }
        }
        Err(e) => Err(e.into()),
    }
}

fn run_list(global: &GlobalArgs, args: &Args, a: &ListArgs) -> anyhow::Result<Outcome> {
    let g = load(global, args)?;
    let want = a.kind.as_ref().map(|k| k.to_lowercase());
    if let Some(k) = &want {
        let used = |k: &str| g.entries().iter().any(|e| e.kind.as_deref() == Some(k));
        if !tarjama::glossary::is_known_kind(k) && !used(k) {
            let mut known: Vec<String> = tarjama::glossary::NAME_KINDS
                .iter()
                .chain(tarjama::glossary::TERM_KINDS.iter())
                .map(|s| s.to_string())
                .chain(g.entries().iter().filter_map(|e| e.kind.clone()))
                .collect();
            known.sort();
            known.dedup();
            bail!("unknown kind `{k}`; the kinds are: {}", known.join(", "));
        }
    }
    let entries: Vec<&Entry> = g
        .entries()
        .iter()
        .filter(|e| want.is_none() || e.kind == want)
        .collect();
    let mut out = stdout();
    match a.format {
        ListFormat::Text => {
            for e in &entries {
                write!(out, "{} → {}", e.source, e.target)?;
                if let Some(k) = &e.kind {
                    write!(out, "  [{k}]")?;
                }
                if !e.variants.is_empty() {
                    write!(out, "  variants: {}", e.variants.join(", "))?;
                }
                if !e.forbidden.is_empty() {
                    write!(out, "  not: {}", e.forbidden.join(", "))?;
                }
                writeln!(out, "  ({})", e.where_())?;
            }
        }
        ListFormat::Tsv => {
            let owned: Vec<Entry> = entries.iter().map(|e| (*e).clone()).collect();
            out.write_all(format::export(&owned, GFormat::Tsv)?.as_bytes())?;
        }
        ListFormat::Jsonl => {
            for e in &entries {
                serde_json::to_writer(&mut out, e)?;
                writeln!(out)?;
            }
        }
    }
    out.flush().context("writing to standard output")?;
    Ok(Outcome::Success)
}

fn run_check(global: &GlobalArgs, args: &Args) -> anyhow::Result<Outcome> {
    let (defects, files) = match shared(global, args)? {
        Some((mut g, _)) => {
            let files = g.as_files()?;
            (lint::lint_files(&files), files.len())
        }
        None => {
            let (paths, _) = paths(global, args)?;
            (lint::lint(&paths)?, paths.len())
        }
    };
    let mut out = stdout();
    for d in &defects {
        writeln!(out, "{d}")?;
    }
    out.flush().context("writing to standard output")?;
    if defects.is_empty() {
        if !global.quiet {
            eprintln!("tarjama: {files} glossary files, no problems");
        }
        Ok(Outcome::Success)
    } else {
        if !global.quiet {
            eprintln!(
                "tarjama: {} problems in {files} glossary files",
                defects.len()
            );
        }
        Ok(Outcome::Findings)
    }
}

/// Write `text` to `output` (atomically) or to standard output.
fn emit(text: &str, output: Option<&Path>, force: bool) -> anyhow::Result<()> {
    match output {
        Some(p) => {
            // Only a file would be replaced; a FIFO or device is written into.
            if std::fs::metadata(p).is_ok_and(|m| m.is_file()) && !force {
                bail!("{} exists; pass --force to replace it", p.display());
            }
            tarjama::atomic::write_atomic(p, text.as_bytes())?;
        }
        None => {
            let mut out = stdout();
            out.write_all(text.as_bytes())?;
            out.flush().context("writing to standard output")?;
        }
    }
    Ok(())
}

fn run_import(global: &GlobalArgs, a: &ImportArgs) -> anyhow::Result<Outcome> {
    if a.shared {
        let (mut g, who) = match super::shared_glossary(global, &[])? {
            Some(at) => (SharedGlossary::open(&at)?, at.editor),
            None => bail!(
                "no shared glossary to import into: pass --glossary-url postgres://user@host/db, set TARJAMA_GLOSSARY_URL, or add url under [glossary] in the config"
            ),
        };
        if a.layer.is_some() && a.files.len() > 1 {
            bail!("--layer takes one file; without it each file goes to the layer of its name");
        }
        for f in &a.files {
            let st = g.import(f, a.layer.as_deref(), &who)?;
            println!(
                "imported {}: {} entries added, {} already there",
                f.display(),
                st.added,
                st.unchanged
            );
        }
        return Ok(Outcome::Success);
    }
    let [file] = a.files.as_slice() else {
        bail!(
            "give one file to convert (several TSV files load into the shared glossary with --shared)"
        );
    };
    let from: GFormat = match a.from {
        Some(f) => f.into(),
        None => GFormat::guess(file).with_context(|| {
            format!(
                "cannot tell the format of {} from its name; pass --from (tsv, csv, omegat, deepl-tsv, deepl-csv, tbx)",
                file.display()
            )
        })?,
    };
    let text = read_path(file)?;
    let entries = format::import_with(
        &text,
        &file.display().to_string(),
        from,
        a.columns.as_deref(),
    )?;
    emit(
        &format::export(&entries, GFormat::Tsv)?,
        a.output.as_deref(),
        a.force,
    )?;
    eprintln!(
        "tarjama: imported {} entries from {} ({})",
        entries.len(),
        file.display(),
        from.name()
    );
    Ok(Outcome::Success)
}

fn run_export(global: &GlobalArgs, args: &Args, a: &ExportArgs) -> anyhow::Result<Outcome> {
    if let Some(dir) = &a.dir {
        let (mut g, _) = need_shared(global, args)?;
        let written = g.export_dir(dir, a.force)?;
        for (path, n) in &written {
            println!("wrote {} ({n} entries)", path.display());
        }
        if written.is_empty() && !global.quiet {
            eprintln!("tarjama: the shared glossary {} is empty", g.location());
        }
        return Ok(Outcome::Success);
    }
    let to = a.to.expect("clap requires --to without --dir");
    let g = load(global, args)?;
    let text = format::export(g.entries(), to.into())?;
    emit(&text, a.output.as_deref(), a.force)?;
    Ok(Outcome::Success)
}

fn run_history(global: &GlobalArgs, a: &HistoryArgs) -> anyhow::Result<Outcome> {
    let Some(at) = super::shared_glossary(global, &[])? else {
        bail!(
            "only the shared glossary keeps a history (files have their version control): pass --glossary-url postgres://user@host/db, set TARJAMA_GLOSSARY_URL, or add url under [glossary] in the config"
        );
    };
    let changes = SharedGlossary::open(&at)?.history(a.source.as_deref(), a.limit)?;
    let mut out = stdout();
    for c in &changes {
        match a.format {
            OutFormat::Text => {
                writeln!(
                    out,
                    "{}  {}  {} {}  {}",
                    tarjama::memory::time::format_rfc3339(c.at),
                    c.who,
                    c.action,
                    c.layer,
                    c.source
                )?;
                if let Some(o) = &c.old_row {
                    writeln!(out, "  - {}", o.replace('\t', " | "))?;
                }
                if let Some(n) = &c.new_row {
                    writeln!(out, "  + {}", n.replace('\t', " | "))?;
                }
            }
            OutFormat::Jsonl => {
                serde_json::to_writer(&mut out, c)?;
                writeln!(out)?;
            }
        }
    }
    out.flush().context("writing to standard output")?;
    Ok(Outcome::Success)
}

fn run_suggest(global: &GlobalArgs, args: &Args, a: &SuggestArgs) -> anyhow::Result<Outcome> {
    let g = load(global, args)?;
    let (segmenter, opts) = segmenter(global, &a.seg)?;
    let text = read_source(&Source::from_arg(a.file.as_deref()))?;
    let segments = segmenter.segment(&text, opts);
    let s = suggest(
        &g,
        &segments,
        SuggestOptions {
            min_count: a.min_count.max(1),
            ..SuggestOptions::default()
        },
    );
    let mut out = stdout();
    let where_ = |occ: &[tarjama::glossary::suggest::Occurrence]| -> String {
        occ.iter()
            .map(|o| format!("{} {}-{}", o.segment, o.start, o.end))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match a.format {
        OutFormat::Text => {
            writeln!(out, "Near-misses of glossary entries:")?;
            if s.near_misses.is_empty() {
                writeln!(out, "  (none)")?;
            }
            for n in s.near_misses.iter().take(a.limit) {
                writeln!(
                    out,
                    "  {}\t~ {} → {}\t{} edit{}\tx{}: {}",
                    n.surface,
                    n.source,
                    n.target,
                    n.distance,
                    if n.distance == 1 { "" } else { "s" },
                    n.occurrences.len(),
                    where_(&n.occurrences)
                )?;
            }
            writeln!(out, "Frequent phrases not in the glossary:")?;
            if s.phrases.is_empty() {
                writeln!(out, "  (none)")?;
            }
            for p in s.phrases.iter().take(a.limit) {
                writeln!(
                    out,
                    "  {}\tx{}: {}",
                    p.surface,
                    p.occurrences.len(),
                    where_(&p.occurrences)
                )?;
            }
        }
        OutFormat::Jsonl => {
            #[derive(Serialize)]
            struct Tagged<'a, T: Serialize> {
                kind: &'static str,
                #[serde(flatten)]
                item: &'a T,
            }
            for n in s.near_misses.iter().take(a.limit) {
                serde_json::to_writer(
                    &mut out,
                    &Tagged {
                        kind: "near-miss",
                        item: n,
                    },
                )?;
                writeln!(out)?;
            }
            for p in s.phrases.iter().take(a.limit) {
                serde_json::to_writer(
                    &mut out,
                    &Tagged {
                        kind: "phrase",
                        item: p,
                    },
                )?;
                writeln!(out)?;
            }
        }
    }
    out.flush().context("writing to standard output")?;
    Ok(Outcome::Success)
}

fn run_paths(global: &GlobalArgs, args: &Args) -> anyhow::Result<Outcome> {
    let config = super::config_file(global)?;
    let mut out = stdout();
    if let Some(at) = super::shared_glossary(global, &args.glossaries)? {
        writeln!(
            out,
            "In use: the shared glossary {} (--glossary-url, TARJAMA_GLOSSARY_URL or [glossary] url; a --glossary file would win)",
            tarjama::memory::pg::redact(&at.url)
        )?;
        out.flush().context("writing to standard output")?;
        return Ok(Outcome::Success);
    }
    writeln!(
        out,
        "Glossaries are looked for in this order; the first that names any is used:"
    )?;
    if args.glossaries.is_empty() {
        writeln!(out, "1. --glossary: not given")?;
    } else {
        let list: Vec<String> = args
            .glossaries
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        writeln!(out, "1. --glossary: {}", list.join(", "))?;
    }
    match &config {
        Some(c) if !c.glossaries.is_empty() => {
            let list: Vec<String> = c
                .glossaries
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            writeln!(
                out,
                "2. `glossaries` in {} (relative to that file): {}",
                c.path.as_deref().unwrap_or(Path::new("?")).display(),
                list.join(", ")
            )?;
        }
        Some(c) => writeln!(
            out,
            "2. `glossaries` in {}: not set",
            c.path.as_deref().unwrap_or(Path::new("?")).display()
        )?,
        None => writeln!(out, "2. `glossaries` in the config file: no config file")?,
    }
    for (i, dir) in tarjama::config::glossary_dirs(super::env())
        .iter()
        .enumerate()
    {
        let n = std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "tsv"))
                    .count()
            })
            .ok();
        let state = match n {
            None => "does not exist".to_string(),
            Some(0) => "no *.tsv files".to_string(),
            Some(n) => format!("{n} *.tsv file{}", if n == 1 { "" } else { "s" }),
        };
        writeln!(out, "{}. {}/: {state}", i + 3, dir.display())?;
    }
    match super::glossary_paths(&args.glossaries, config.as_ref()) {
        Ok((paths, from)) => {
            writeln!(out, "In use ({from}):")?;
            for p in paths {
                writeln!(out, "  {}", p.display())?;
            }
        }
        Err(GlossaryError::NotFound(_)) => {
            writeln!(
                out,
                "In use: none; run `tarjama glossary init` to install the starter glossaries"
            )?;
        }
        Err(e) => return Err(e.into()),
    }
    out.flush().context("writing to standard output")?;
    Ok(Outcome::Success)
}

fn run_init(global: &GlobalArgs, a: &InitArgs) -> anyhow::Result<Outcome> {
    let dir = match &a.dir {
        Some(d) => d.clone(),
        None => tarjama::config::user_glossary_dir(super::env())
            .context("cannot find the user data directory; pass --dir DIR")?,
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, text) in STARTERS {
        let path = dir.join(name);
        if path.exists() && !a.force {
            if !global.quiet {
                eprintln!(
                    "tarjama: kept {} (exists; --force replaces it)",
                    path.display()
                );
            }
            continue;
        }
        tarjama::atomic::write_atomic(&path, text.as_bytes())?;
        println!("installed {}", path.display());
    }
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::STARTERS;

    /// `glossary init` installs every starter glossary the repository ships.
    #[test]
    fn starters_are_every_shipped_glossary() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/glossaries");
        let mut shipped: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tsv"))
            .collect();
        shipped.sort();
        let mut built: Vec<String> = STARTERS.iter().map(|(n, _)| n.to_string()).collect();
        built.sort();
        assert_eq!(built, shipped);
    }
}
