/*!
Bilingual documents: the aligned pairs of a [`Bitext`] written as the files
reviewers and tools actually open (HTML, Markdown, TSV, XLIFF, TMX, plain
English text, tarjama's JSONL), and read back after review.

Every writer consumes the same [`Bitext`], so that all formats show the same
segments, ids and flags. Writers render into memory and [`write_bitext`]
puts the bytes in place atomically (temporary file in the same directory,
then rename), so an interrupted run never leaves half a document behind.
Reading reviewed files back (XLIFF, TSV, TMX, JSONL) and merging the reviewer's
text lives in [`review`].
*/

use std::fmt;
use std::io::Write;
use std::path::Path;

use crate::model::{AlignedPair, Bitext};

pub mod html;
pub mod jsonl;
pub mod markdown;
pub mod review;
pub mod text;
pub mod tmx;
pub mod tsv;
pub mod xliff;
mod xml;

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
}

impl Format {
    /// Every format, in the order they are listed in help texts.
    pub const ALL: [Format; 7] = [
        Format::Jsonl,
        Format::Html,
        Format::Markdown,
        Format::Tsv,
        Format::Xliff,
        Format::Tmx,
        Format::Text,
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
    })
}

/// Write the document in `format` to `out`, or to standard output when `out`
/// is `None`. Files are replaced atomically.
pub fn write_bitext(
    format: Format,
    doc: &Bitext,
    opts: &WriteOptions,
    out: Option<&Path>,
) -> Result<(), OutputError> {
    let bytes = render(format, doc, opts)?;
    match out {
        Some(path) => write_atomic(path, &bytes),
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            lock.write_all(&bytes)
                .and_then(|_| lock.flush())
                .map_err(|error| OutputError::Io {
                    path: "standard output".into(),
                    error,
                })
        }
    }
}

/// Replace `path` with `bytes` atomically: write a temporary file in the same
/// directory, flush it to disk, then rename it over the target.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let err = |error| OutputError::Io {
        path: path.display().to_string(),
        error,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    let mut attempt = 0;
    let (tmp, mut file) = loop {
        let tmp = dir.join(format!(
            ".{name}.tmp-{}-{:08x}",
            std::process::id(),
            fastrand::u32(..)
        ));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 8 => {
                attempt += 1;
            }
            Err(e) => return Err(err(e)),
        }
    };
    let result = file
        .write_all(bytes)
        .and_then(|_| file.sync_all())
        .and_then(|_| {
            drop(file);
            std::fs::rename(&tmp, path)
        });
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(e));
    }
    Ok(())
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
            assert_eq!(Format::from_name(f.extension()), Some(f));
        }
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        std::fs::write(&p, "old").unwrap();
        write_atomic(&p, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn atomic_write_to_missing_dir_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nope/out.txt");
        let e = write_atomic(&p, b"x").unwrap_err().to_string();
        assert!(e.contains("nope/out.txt"), "{e}");
    }
}
