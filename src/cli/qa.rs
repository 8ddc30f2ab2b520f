//! `tarjama qa`: check a bilingual file (JSONL, XLIFF, TSV, TMX) and report
//! problems; exit code 4 when any is an error.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use tarjama::glossary::Glossary;
use tarjama::model::{AlignedPair, Bitext};
use tarjama::output::review;
use tarjama::qa::{self, Finding, QaOptions, Severity};

use super::render::InputFormatArg;
use super::{GlobalArgs, Outcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// One line per finding, with a summary line first.
    Text,
    /// One JSON object per finding: segment, check, severity, message.
    Jsonl,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The bilingual file: tarjama JSONL, XLIFF 2.x/1.2, TSV (the
    /// post_edit column wins over target) or TMX; `-` reads standard input.
    pub file: PathBuf,
    /// Report format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Format of the input (default: from its extension or content).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub from: Option<InputFormatArg>,
    /// Glossary file (TSV); repeat to layer them. Default: the config
    /// file's `glossaries`, else every *.tsv in ./glossaries/; when there is
    /// none, the glossary hits recorded in the file (JSONL) are re-checked.
    #[arg(long = "glossary", short = 'g', value_name = "PATH")]
    pub glossaries: Vec<PathBuf>,
    /// Use no glossary: only re-check the hits recorded in the file.
    #[arg(long, conflicts_with = "glossaries")]
    pub no_glossary: bool,
    /// Flag translations shorter than this many times the source length.
    #[arg(long, value_name = "RATIO", default_value_t = QaOptions::default().min_ratio)]
    pub min_ratio: f64,
    /// Flag translations longer than this many times the source length.
    #[arg(long, value_name = "RATIO", default_value_t = QaOptions::default().max_ratio)]
    pub max_ratio: f64,
}

/// Read any bilingual file tarjama understands as a document, the
/// reviewer's text taking precedence.
pub fn load(
    file: &std::path::Path,
    from: Option<InputFormatArg>,
) -> anyhow::Result<(String, Bitext)> {
    let (name, text) = super::render::read_reviewed_file(file)?;
    let format = match from {
        Some(f) => f.into(),
        None => review::detect_format(&name, &text).with_context(|| {
            format!("{name}: cannot tell whether this is JSONL, XLIFF, TSV or TMX; give --from")
        })?,
    };
    let reviewed = review::read_reviewed(&name, &text, format)?;
    let keep = |p: &AlignedPair, english: &str| review::recheck_terms(&p.terms, english);
    let (doc, _) = review::merge(&reviewed, None, &keep)?;
    Ok((name, doc))
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<Outcome> {
    let (name, doc) = load(&args.file, args.from)?;
    let opts = QaOptions {
        min_ratio: args.min_ratio,
        max_ratio: args.max_ratio,
        ..QaOptions::default()
    };
    let glossary = super::run_glossary(global, &args.glossaries, args.no_glossary)?;
    let matcher = glossary.as_ref().map(Glossary::matcher);
    // With a glossary every segment is matched and checked afresh; without
    // one the hits the file recorded are re-checked against its English.
    let checker = |p: &AlignedPair, english: &str| match &matcher {
        Some(m) => qa::glossary_terms(m, p, Some(english)),
        None => review::recheck_terms(&p.terms, english),
    };
    let findings = qa::check(&doc, &opts, Some(&checker));
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.format {
        ReportFormat::Text => write_text(&mut out, &name, doc.pairs.len(), &findings)?,
        ReportFormat::Jsonl => {
            for f in &findings {
                serde_json::to_writer(&mut out, f)?;
                writeln!(out)?;
            }
        }
    }
    out.flush().context("writing to standard output")?;
    let (errors, _) = qa::counts(&findings);
    Ok(if errors > 0 {
        Outcome::Findings
    } else {
        Outcome::Success
    })
}

fn write_text(
    out: &mut impl Write,
    name: &str,
    segments: usize,
    findings: &[Finding],
) -> std::io::Result<()> {
    let (errors, warnings) = qa::counts(findings);
    writeln!(
        out,
        "{name}: {segments} segments checked: {errors} error(s), {warnings} warning(s)"
    )?;
    let id_width = findings
        .iter()
        .map(|f| f.segment.chars().count())
        .max()
        .unwrap_or(0);
    for f in findings {
        let sev = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(
            out,
            "{:<id_width$}  {:<7}  {:<14}  {}",
            f.segment,
            sev,
            f.check.code(),
            f.message
        )?;
    }
    Ok(())
}
