//! `tarjama segment`: print the segments of an article.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use serde::Serialize;
use tarjama::input::{Source, read_source};
use tarjama::segment::{Rules, SegmentOptions, Segmenter};

use super::{GlobalArgs, Outcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One segment per line, an empty line between paragraphs.
    Lines,
    /// One JSON object per segment: id, para, index, text, start, end.
    Jsonl,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The article (UTF-8 text); `-` or nothing reads standard input.
    pub file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Lines)]
    pub format: Format,
    #[command(flatten)]
    pub seg: SegmentFlags,
}

/// Segmentation flags shared by every command that reads articles.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SegmentFlags {
    /// Treat single line breaks as spaces (hard-wrapped text); paragraphs are
    /// separated by blank lines.
    #[arg(long)]
    pub join_lines: bool,
    /// Extra segmentation rules (TOML, same keys as the built-in rules).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Extra abbreviations, one per line with the final dot (repeatable).
    #[arg(long = "abbreviations", value_name = "FILE")]
    pub abbreviations: Vec<PathBuf>,
}

impl SegmentFlags {
    /// Build the segmenter and options these flags describe.
    pub fn build(&self) -> anyhow::Result<(Segmenter, SegmentOptions)> {
        let mut rules = Rules::builtin();
        if let Some(p) = &self.rules {
            rules.merge_file(p)?;
        }
        for p in &self.abbreviations {
            rules.add_abbreviation_file(p)?;
        }
        Ok((
            Segmenter::new(rules),
            SegmentOptions {
                join_lines: self.join_lines,
            },
        ))
    }
}

#[derive(Serialize)]
struct JsonSegment<'a> {
    id: &'a str,
    para: usize,
    index: usize,
    text: &'a str,
    start: usize,
    end: usize,
}

pub fn run(_global: &GlobalArgs, args: Args) -> anyhow::Result<Outcome> {
    let (segmenter, opts) = args.seg.build()?;
    let source = Source::from_arg(args.file.as_deref());
    let text = read_source(&source)?;
    let segments = segmenter.segment(&text, opts);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut last_para = 0;
    for s in &segments {
        match args.format {
            Format::Lines => {
                if last_para != 0 && s.para != last_para {
                    writeln!(out)?;
                }
                writeln!(out, "{}", one_line(&s.text))?;
            }
            Format::Jsonl => {
                let j = JsonSegment {
                    id: &s.id,
                    para: s.para,
                    index: s.index,
                    text: &s.text,
                    start: s.start,
                    end: s.end,
                };
                serde_json::to_writer(&mut out, &j)?;
                writeln!(out)?;
            }
        }
        last_para = s.para;
    }
    out.flush().context("writing to standard output")?;
    Ok(Outcome::Success)
}

/// The segment on one line: line breaks (possible with `--join-lines`)
/// become spaces; everything else is printed as it is.
fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains(['\n', '\r']) {
        text.replace("\r\n", " ").replace(['\n', '\r'], " ").into()
    } else {
        text.into()
    }
}
