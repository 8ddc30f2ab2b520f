//! `tarjama segment`: print the segments of an article.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use tarjama::config::{Config, SegmentConfig};
use tarjama::input::{Source, read_source};
use tarjama::segment::{SegmentOptions, Segmenter};

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
    /// Build the segmenter and options these flags describe over the config
    /// file's `[segment]` table, so that every command that segments
    /// (`segment`, `translate`, `glossary`) gives the same segment ids.
    pub fn build(&self, config: Option<&Config>) -> anyhow::Result<(Segmenter, SegmentOptions)> {
        let flags = SegmentConfig {
            join_lines: self.join_lines,
            rules: self.rules.clone(),
            abbreviations: self.abbreviations.clone(),
        };
        let seg = match config {
            Some(c) => c.segment.under(&flags),
            None => flags,
        };
        Ok(Segmenter::configured(&seg)?)
    }
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<Outcome> {
    let config = super::config_file(global)?;
    let (segmenter, opts) = args.seg.build(config.as_ref())?;
    let source = Source::from_arg(args.file.as_deref());
    let text = read_source(&source)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    write_segments(&segmenter, opts, &text, args.format, &mut out)?;
    out.flush().context("writing to standard output")?;
    Ok(Outcome::Success)
}

/// Print every segment of `text` straight from the input: no segment is
/// copied, only written.
fn write_segments(
    segmenter: &Segmenter,
    opts: SegmentOptions,
    text: &str,
    format: Format,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let mut last_para = 0;
    segmenter.for_each_span(text, opts, |s| {
        let seg = &text[s.bytes.0..s.bytes.1];
        match format {
            Format::Lines => {
                if last_para != 0 && s.para != last_para {
                    out.write_all(b"\n")?;
                }
                write_one_line(out, seg, opts.join_lines)?;
                out.write_all(b"\n")?;
            }
            Format::Jsonl => {
                write!(
                    out,
                    "{{\"id\":\"p{}s{}\",\"para\":{},\"index\":{},\"text\":",
                    s.para, s.index, s.para, s.index
                )?;
                serde_json::to_writer(&mut *out, seg)?;
                writeln!(out, ",\"start\":{},\"end\":{}}}", s.start, s.end)?;
            }
        }
        last_para = s.para;
        Ok(())
    })
}

/// The segment on one line: line breaks (possible with `--join-lines`)
/// become spaces (`\r\n` one space); everything else is written as it is.
fn write_one_line(out: &mut impl Write, text: &str, joined: bool) -> std::io::Result<()> {
    let bytes = text.as_bytes();
    // A memchr pass or two: the usual segment has no line break (and none
    // but `\r` can be inside one unless lines are joined).
    let has_break = bytes.contains(&b'\r') || (joined && bytes.contains(&b'\n'));
    if !has_break {
        return out.write_all(bytes);
    }
    let mut from = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\r' | b'\n' => {
                out.write_all(&bytes[from..i])?;
                out.write_all(b" ")?;
                i += if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                from = i;
            }
            _ => i += 1,
        }
    }
    out.write_all(&bytes[from..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str, format: Format, join: bool) -> String {
        let mut out = Vec::new();
        let opts = SegmentOptions { join_lines: join };
        write_segments(&Segmenter::default(), opts, text, format, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn jsonl_matches_the_segments() {
        let text = "قال \"نعم\"\\ ثم غادر. وعاد\tمساء.\n\nفقرة.";
        let segs = Segmenter::default().segment(text, SegmentOptions::default());
        let out = render(text, Format::Jsonl, false);
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), segs.len());
        for (l, s) in lines.iter().zip(&segs) {
            let want = serde_json::json!({
                "id": s.id, "para": s.para, "index": s.index,
                "text": s.text, "start": s.start, "end": s.end,
            });
            assert_eq!(l, &want);
        }
        let keys: Vec<&str> = out
            .lines()
            .next()
            .unwrap()
            .split('"')
            .skip(1)
            .step_by(2)
            .take(1)
            .collect();
        assert_eq!(keys, ["id"]);
    }

    #[test]
    fn joined_lines_print_on_one_line() {
        let out = render("سطر أول\r\nثم ثان\nوثالث.\n\nفقرة.", Format::Lines, true);
        assert_eq!(out, "سطر أول ثم ثان وثالث.\n\nفقرة.\n");
    }
}
