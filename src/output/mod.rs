/*!
Bilingual documents: the aligned pairs of a [`Bitext`] written as the files
reviewers and tools actually open (HTML, Markdown, TSV, XLIFF, TMX, plain
English text, tarjama's JSONL), and read back after review.

Every writer consumes the same [`Bitext`], so that all formats show the same
segments, ids and flags. Writers render into memory and [`write_bitext`]
puts the bytes in place atomically (temporary file in the same directory,
then rename), so an interrupted run never leaves half a document behind;
[`crate::atomic::write_atomic`] is the one function that writes a file, and
it follows links and writes devices and FIFOs directly rather than
replacing them.
Reading reviewed files back (XLIFF, TSV, TMX, JSONL) and merging the reviewer's
text lives in [`review`].
*/

use std::fmt;
use std::path::Path;

use crate::atomic::{WriteError, write_atomic};
use crate::model::{AlignedPair, Bitext};

pub mod docx;
pub mod html;
pub mod jsonl;
pub mod markdown;
pub mod review;
pub mod text;
pub mod tmx;
pub mod tsv;
pub mod xliff;

/// The file formats tarjama writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// tarjama's own line format: a header line, then one [`AlignedPair`] per line.
    Jsonl,
    /// A self-contained page with the two languages side by side.
    Html,
    /// A Markdown table, or source and translation interleaved.
    Markdown,
    /// Tab-separated values with a `post_edit` column for the reviewer.
    Tsv,
    /// XLIFF 2.1 (or 1.2) for CAT tools.
    Xliff,
    /// TMX 1.4b translation memory exchange.
    Tmx,
    /// The English alone, in the original paragraphs.
    Text,
    /// A Word document: the English in the source's paragraphs and headings.
    Docx,
    /// A Word bilingual table for editors: id, Arabic, English, notes.
    DocxTable,
}

impl Format {
    /// Every format, in the order they are listed in help texts.
    pub const ALL: [Format; 9] = [
        Format::Jsonl,
        Format::Html,
        Format::Markdown,
        Format::Tsv,
        Format::Xliff,
        Format::Tmx,
        Format::Text,
        Format::Docx,
        Format::DocxTable,
    ];

    /// The format a file name's extension asks for (case-insensitive), if any.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Format::from_name(&ext)
    }

    /// The format for a name as given to `--to` (or an extension).
    pub fn from_name(name: &str) -> Option<Format> {
        Some(match name.to_ascii_lowercase().as_str() {
            "jsonl" | "ndjson" => Format::Jsonl,
            "html" | "htm" => Format::Html,
            "md" | "markdown" => Format::Markdown,
            "tsv" | "tab" => Format::Tsv,
            "xlf" | "xliff" => Format::Xliff,
            "tmx" => Format::Tmx,
            "txt" | "text" => Format::Text,
            "docx" => Format::Docx,
            "docx-table" => Format::DocxTable,
            _ => return None,
        })
    }

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Html => "html",
            Format::Markdown => "md",
            Format::Tsv => "tsv",
            Format::Xliff => "xlf",
            Format::Tmx => "tmx",
            Format::Text => "txt",
            Format::Docx | Format::DocxTable => "docx",
        }
    }

    /// The name `--to` accepts.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Html => "html",
            Format::Markdown => "md",
            Format::Tsv => "tsv",
            Format::Xliff => "xliff",
            Format::Tmx => "tmx",
            Format::Text => "txt",
            Format::Docx => "docx",
            Format::DocxTable => "docx-table",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which XLIFF to write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum XliffVersion {
    /// XLIFF 2.1 (OASIS Standard, 2018).
    #[default]
    V2_1,
    /// XLIFF 1.2, for older tools.
    V1_2,
}

/// How Markdown puts the two languages together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Layout {
    /// A two-column table, one row per segment.
    #[default]
    Table,
    /// Each source paragraph, then its translation.
    Interleaved,
}

/// Options for the writers; each writer reads the ones that concern it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Markdown layout.
    pub layout: Layout,
    /// Start TSV with a UTF-8 byte-order mark (helps spreadsheet programs).
    pub bom: bool,
    /// XLIFF version.
    pub xliff_version: XliffVersion,
}

/// Why a document could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write {path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error(transparent)]
    Tmx(#[from] crate::tmx::TmxError),
}

impl From<WriteError> for OutputError {
    fn from(e: WriteError) -> OutputError {
        OutputError::Io {
            path: e.path,
            error: e.error,
        }
    }
}

/// Why a bilingual file could not be read: the file, the line when known,
/// and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ReadError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl ReadError {
    pub fn new(file: &str, line: Option<usize>, message: impl Into<String>) -> ReadError {
        ReadError {
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }
}

/// The document in `format`, as bytes.
pub fn render(format: Format, doc: &Bitext, opts: &WriteOptions) -> Result<Vec<u8>, OutputError> {
    Ok(match format {
        Format::Jsonl => jsonl::to_string(doc).into_bytes(),
        Format::Html => html::render(doc).into_bytes(),
        Format::Markdown => markdown::render(doc, opts.layout).into_bytes(),
        Format::Tsv => tsv::render(doc, opts.bom).into_bytes(),
        Format::Xliff => xliff::render(doc, opts.xliff_version),
        Format::Tmx => tmx::render(doc)?,
        Format::Text => text::render(doc).into_bytes(),
        Format::Docx => docx::render_document(doc)?,
        Format::DocxTable => docx::render_table(doc)?,
    })
}

/// Write the document in `format` to `out`, or to standard output when `out`
/// is `None` or `-` (see [`write_atomic`] for links and devices).
pub fn write_bitext(
    format: Format,
    doc: &Bitext,
    opts: &WriteOptions,
    out: Option<&Path>,
) -> Result<(), OutputError> {
    let bytes = render(format, doc, opts)?;
    Ok(write_atomic(out.unwrap_or(Path::new("-")), &bytes)?)
}

/// Whether a pair needs a reviewer's attention: untranslated, with warnings,
/// or with a pinned term missed or a forbidden rendering used.
pub fn is_flagged(pair: &AlignedPair) -> bool {
    pair.target.is_none()
        || !pair.warnings.is_empty()
        || pair
            .terms
            .iter()
            .any(|t| t.honoured == Some(false) || !t.forbidden_found.is_empty())
}

/// Short flags describing a pair, as shown in the TSV `flags` column and
/// elsewhere: `untranslated`, `term-missed`, `forbidden`, `warning`, `fuzzy`.
pub fn flags_of(pair: &AlignedPair) -> Vec<&'static str> {
    let mut flags = Vec::new();
    if pair.target.is_none() {
        flags.push("untranslated");
    }
    if pair.terms.iter().any(|t| t.honoured == Some(false)) {
        flags.push("term-missed");
    }
    if pair.terms.iter().any(|t| !t.forbidden_found.is_empty()) {
        flags.push("forbidden");
    }
    if !pair.warnings.is_empty() {
        flags.push("warning");
    }
    if !pair.suggestions.is_empty() {
        flags.push("fuzzy");
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_from_extension_and_name() {
        assert_eq!(Format::from_path(Path::new("a/b.XLF")), Some(Format::Xliff));
        assert_eq!(Format::from_path(Path::new("x.html")), Some(Format::Html));
        assert_eq!(Format::from_path(Path::new("x.md")), Some(Format::Markdown));
        assert_eq!(Format::from_path(Path::new("x.doc")), None);
        assert_eq!(Format::from_path(Path::new("noext")), None);
        for f in Format::ALL {
            assert_eq!(Format::from_name(f.name()), Some(f));
            let by_ext = Format::from_name(f.extension());
            assert!(by_ext == Some(f) || (f == Format::DocxTable && by_ext == Some(Format::Docx)));
        }
    }
}
