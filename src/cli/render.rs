//! `tarjama render`: turn a reviewed XLIFF, TSV or JSONL file (or any
//! tarjama JSONL) into any output format, taking the reviewer's text.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use tarjama::input::{Source, read_source};
use tarjama::memory::{Memory, NewPair, Provenance};
use tarjama::model::Bitext;
use tarjama::output::review::{self, MergeReport, Reviewed};
use tarjama::output::{self, Format, Layout, WriteOptions, XliffVersion};

use super::{GlobalArgs, Outcome};

/// Output formats as `--to` takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// tarjama's JSONL (header line, then one segment per line).
    Jsonl,
    /// Self-contained bilingual HTML page.
    Html,
    /// Markdown table (or interleaved paragraphs with --layout interleaved).
    #[value(alias = "markdown")]
    Md,
    /// Tab-separated values with a post_edit column for the reviewer.
    Tsv,
    /// XLIFF 2.1 (or 1.2 with --xliff-version 1.2).
    #[value(alias = "xlf")]
    Xliff,
    /// TMX 1.4b.
    Tmx,
    /// The English alone, in the original paragraphs.
    #[value(alias = "text")]
    Txt,
    /// A Word document: the English in the source's paragraphs and headings.
    Docx,
    /// A Word bilingual table for editors (id, Arabic, English, notes).
    DocxTable,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Jsonl => Format::Jsonl,
            FormatArg::Html => Format::Html,
            FormatArg::Md => Format::Markdown,
            FormatArg::Tsv => Format::Tsv,
            FormatArg::Xliff => Format::Xliff,
            FormatArg::Tmx => Format::Tmx,
            FormatArg::Txt => Format::Text,
            FormatArg::Docx => Format::Docx,
            FormatArg::DocxTable => Format::DocxTable,
        }
    }
}

/// Formats tarjama reads back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormatArg {
    /// tarjama's JSONL.
    Jsonl,
    /// TSV with a post_edit column.
    Tsv,
    /// XLIFF 2.x or 1.2.
    #[value(alias = "xlf")]
    Xliff,
    /// TMX 1.4b.
    Tmx,
    /// A Word bilingual table (`--to docx-table`), its English column.
    #[value(alias = "docx")]
    DocxTable,
}

impl From<InputFormatArg> for Format {
    fn from(f: InputFormatArg) -> Format {
        match f {
            InputFormatArg::Jsonl => Format::Jsonl,
            InputFormatArg::Tsv => Format::Tsv,
            InputFormatArg::Xliff => Format::Xliff,
            InputFormatArg::Tmx => Format::Tmx,
            InputFormatArg::DocxTable => Format::DocxTable,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LayoutArg {
    /// Two-column table.
    #[default]
    Table,
    /// Each Arabic paragraph followed by its English.
    Interleaved,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum XliffVersionArg {
    #[default]
    #[value(name = "2.1")]
    V2_1,
    #[value(name = "1.2")]
    V1_2,
}

/// Flags choosing and shaping the output document; shared by every command
/// that writes bilingual documents.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OutputFlags {
    /// Output format (default: from the extension of -o).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub to: Option<FormatArg>,
    #[command(flatten)]
    pub writer: WriterFlags,
}

/// How the writers lay out their output (shared with `translate`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct WriterFlags {
    /// Markdown layout.
    #[arg(long, value_enum, default_value_t = LayoutArg::Table)]
    pub layout: LayoutArg,
    /// Start TSV output with a UTF-8 byte-order mark (for Excel).
    #[arg(long)]
    pub bom: bool,
    /// XLIFF version to write.
    #[arg(long, value_enum, value_name = "VERSION", default_value_t = XliffVersionArg::V2_1)]
    pub xliff_version: XliffVersionArg,
}

impl OutputFlags {
    /// The format: `--to`, else the extension of `out`, else `fallback`.
    pub fn format(&self, out: Option<&Path>, fallback: Option<Format>) -> anyhow::Result<Format> {
        if let Some(f) = self.to {
            return Ok(f.into());
        }
        // `-o -` is standard output: no extension to go by.
        if let Some(p) = out.filter(|p| p.as_os_str() != "-") {
            if let Some(f) = Format::from_path(p) {
                return Ok(f);
            }
            if fallback.is_none() {
                bail!(
                    "cannot tell the output format from {}; give --to (jsonl, html, md, tsv, xliff, tmx, txt, docx, docx-table)",
                    p.display()
                );
            }
        }
        fallback.ok_or_else(|| {
            anyhow::anyhow!("give --to FORMAT (jsonl, html, md, tsv, xliff, tmx, txt, docx, docx-table) or -o FILE with one of those extensions")
        })
    }

    pub fn options(&self) -> WriteOptions {
        self.writer.options()
    }
}

impl WriterFlags {
    pub fn options(&self) -> WriteOptions {
        WriteOptions {
            layout: match self.layout {
                LayoutArg::Table => Layout::Table,
                LayoutArg::Interleaved => Layout::Interleaved,
            },
            bom: self.bom,
            xliff_version: match self.xliff_version {
                XliffVersionArg::V2_1 => XliffVersion::V2_1,
                XliffVersionArg::V1_2 => XliffVersion::V1_2,
            },
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The reviewed file: XLIFF (.xlf/.xliff), TSV (.tsv, its post_edit
    /// column), tarjama JSONL or TMX; `-` reads standard input.
    pub file: PathBuf,
    /// Write here instead of standard output (`-`: standard output). A
    /// file is replaced atomically; through a symbolic link the linked file
    /// is; a FIFO or device is written into.
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub out: OutputFlags,
    /// The JSONL `translate` wrote for this document: segments are checked
    /// against it, glossary hits and metadata come from it, and edits are
    /// counted against its machine text.
    #[arg(long, alias = "original", value_name = "JSONL")]
    pub against: Option<PathBuf>,
    /// Format of the reviewed file (default: from its extension or content).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub from: Option<InputFormatArg>,
    /// Glossary file (TSV), repeatable: match and check every segment
    /// afresh, so highlights and term flags follow this glossary. Without
    /// it, the hits recorded in the JSONL (or --against) are re-checked.
    #[arg(long = "glossary", short = 'g', value_name = "PATH")]
    pub glossaries: Vec<PathBuf>,
    /// Store the segments the reviewer edited in the translation memory as
    /// human translations, which later runs prefer to anything else.
    /// Unedited segments are not stored unless --accept-unedited is given.
    /// Needs the machine text to tell edits apart (--against, or a TSV).
    #[arg(long)]
    pub update_memory: bool,
    /// With --update-memory: also store the unedited segments that are not
    /// flagged for review, as `reviewed` (the reviewer saw the engine's
    /// English and kept it), ranked above machine and below human ones.
    #[arg(long, requires = "update_memory")]
    pub accept_unedited: bool,
    #[command(flatten)]
    pub memory: super::memory::MemoryFlag,
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<Outcome> {
    let format = args.out.format(args.output.as_deref(), None)?;
    let name = args.file.display().to_string();
    let word = args.from == Some(InputFormatArg::DocxTable)
        || (args.from.is_none() && tarjama::input::is_docx_name(&args.file));
    let (reviewed, from): (Reviewed, Format) = if word {
        let bytes = std::fs::read(&args.file).with_context(|| format!("cannot read {name}"))?;
        (review::read_docx_table(&name, &bytes)?, Format::DocxTable)
    } else {
        let (name, text) = read_reviewed_file(&args.file)?;
        let from = match args.from {
            Some(f) => f.into(),
            None => review::detect_format(&name, &text).with_context(|| {
                format!("{name}: cannot tell whether this is XLIFF, TSV, JSONL or TMX; give --from")
            })?,
        };
        (review::read_reviewed(&name, &text, from)?, from)
    };
    let base: Option<(Bitext, String)> = match &args.against {
        Some(p) => {
            let src = Source::from_arg(Some(p));
            let n = src.to_string();
            let t = read_source(&src)?;
            Some((output::jsonl::read(&n, &t)?, n))
        }
        None => None,
    };
    let recheck =
        |p: &tarjama::model::AlignedPair, english: &str| review::recheck_terms(&p.terms, english);
    let (mut doc, report) = review::merge(
        &reviewed,
        base.as_ref().map(|(d, n)| (d, n.as_str())),
        &recheck,
    )?;
    // Re-checked with a glossary given, or the desk's shared one.
    if !args.glossaries.is_empty() || super::shared_glossary(global, &args.glossaries)?.is_some() {
        let glossary = super::run_glossary(global, &args.glossaries, false)?;
        if let Some(m) = glossary.as_ref().map(tarjama::glossary::Glossary::matcher) {
            for p in &mut doc.pairs {
                p.terms = tarjama::qa::glossary_terms(&m, p, p.target.as_deref());
            }
        }
    }
    if args.update_memory && !report.edits_known {
        bail!(
            "{name}: --update-memory cannot tell which segments the reviewer edited without the machine text; give --against with the JSONL translate wrote (a TMX of human translations goes in with `tarjama memory import`); nothing was written"
        );
    }
    output::write_bitext(format, &doc, &args.out.options(), args.output.as_deref())?;
    if !global.quiet {
        eprintln!(
            "{}",
            summary(
                &report,
                args.output.as_deref(),
                base.is_some() || from == Format::Jsonl
            )
        );
    }
    if args.update_memory {
        let line = update_memory(global, &args, &doc, &report)?;
        if !global.quiet {
            eprintln!("{line}");
        }
    }
    Ok(Outcome::Success)
}

/// Store the edited segments as human translations and, with
/// `--accept-unedited`, the confirmed unedited ones as reviewed; the report
/// line.
fn update_memory(
    global: &GlobalArgs,
    args: &Args,
    doc: &Bitext,
    report: &MergeReport,
) -> anyhow::Result<String> {
    let (path, access) = args.memory.resolve(global)?;
    let mut memory = Memory::open_with(&path, &access)?;
    let confirmed = review::confirmed(doc, report);
    let edited: std::collections::HashSet<&str> =
        report.edits.iter().map(|e| e.id.as_str()).collect();
    let document = review::memory_document(doc);
    let mut human: Vec<NewPair> = Vec::new();
    let mut reviewed: Vec<NewPair> = Vec::new();
    let mut unedited = 0;
    for p in &confirmed {
        if p.target.is_none() {
            continue;
        }
        let is_edit = edited.contains(p.id.as_str());
        if !is_edit {
            unedited += 1;
            if !args.accept_unedited {
                continue;
            }
        }
        let origin = if is_edit {
            Provenance::Human
        } else {
            Provenance::Reviewed
        };
        let Some(pair) = review::memory_pair(p, origin, document.clone()) else {
            continue;
        };
        if is_edit {
            human.push(pair);
        } else {
            reviewed.push(pair);
        }
    }
    let store = |m: &mut Memory, pairs: &[NewPair]| {
        m.add_pairs(pairs)
            .with_context(|| format!("storing the reviewed segments in {}", path.display()))
    };
    let h = store(&mut memory, &human)?;
    let r = store(&mut memory, &reviewed)?;
    let translated = doc
        .pairs
        .iter()
        .filter(|p| p.target.as_deref().is_some_and(|t| !t.trim().is_empty()))
        .count();
    let held_back = translated.saturating_sub(confirmed.len());
    let mut line = format!(
        "memory: {} human translation(s) stored in {} ({} new, {} already there)",
        h.added + h.existing,
        path.display(),
        h.added,
        h.existing
    );
    if args.accept_unedited {
        line.push_str(&format!(
            "; {} unedited segment(s) stored as reviewed",
            r.added + r.existing
        ));
    } else if unedited > 0 {
        line.push_str(&format!(
            "; {unedited} unedited segment(s) not stored (--accept-unedited stores them as reviewed)"
        ));
    }
    if held_back > 0 {
        line.push_str(&format!(
            "; {held_back} unedited segment(s) still flagged for review were not stored"
        ));
    }
    Ok(line)
}

/// Read a reviewed file (`-` is standard input), UTF-8 or UTF-16 with a BOM.
pub fn read_reviewed_file(path: &Path) -> anyhow::Result<(String, String)> {
    use std::io::Read;
    let source = Source::from_arg(Some(path));
    let name = source.to_string();
    let bytes = match &source {
        Source::Stdin => {
            let mut buf = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut buf)
                .context("reading standard input")?;
            buf
        }
        Source::File(p) => std::fs::read(p).with_context(|| format!("cannot read {name}"))?,
    };
    Ok((name.clone(), review::decode(&name, bytes)?))
}

/// The one-paragraph report on standard error.
/// `quiet_edits`: say nothing about uncounted edits (a plain JSONL
/// conversion, or a base was given).
fn summary(r: &MergeReport, out: Option<&Path>, quiet_edits: bool) -> String {
    let mut s = format!("render: {} segments", r.segments);
    if r.edits_known {
        let filled = r.edits.iter().filter(|e| e.before.is_none()).count();
        s.push_str(&format!(
            ", {} edited by the reviewer ({} filled in), word edit distance {}",
            r.edits.len(),
            filled,
            r.word_distance()
        ));
        let words = r.machine_words();
        if words > 0 {
            s.push_str(&format!(
                " ({:.0}% of {} words)",
                100.0 * r.word_distance() as f64 / words as f64,
                words
            ));
        }
        if !r.edits.is_empty() {
            let list: Vec<String> = r
                .edits
                .iter()
                .map(|e| format!("{} ({})", e.id, e.distance))
                .collect();
            s.push_str(&format!("\n  edited: {}", list.join(", ")));
        }
    } else if !quiet_edits {
        s.push_str("; edits not counted: give --against with the JSONL translate wrote");
    }
    if r.untranslated > 0 {
        s.push_str(&format!(
            "\n  {} segment(s) still untranslated",
            r.untranslated
        ));
    }
    if let Some(p) = out {
        s.push_str(&format!("\n  written to {}", p.display()));
    }
    s
}
