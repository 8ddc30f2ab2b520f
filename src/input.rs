/*!
Reading documents: the only place where bytes become text.

Articles come from web pages, e-mail and Word exports, so this is where bad
input is caught with an error that names the file and what to do: invalid
UTF-8 (with its byte offset), UTF-16 files (with or without a BOM), binary
files, unreadable paths, pages with no article, hostile Word files.
A leading BOM is dropped; line endings are kept as they are (the segmenter
handles LF and CRLF), so offsets refer to the text as read.

[`read_source`] reads plain text (what `segment` and the glossary tools
take); [`read_document`] is what `translate` reads: text, a saved web page
([`html`]), an `http(s)://` URL ([`fetch`]) or a Word file ([`docx`]), each
turned into paragraphs separated by blank lines plus what is known of the
document (title, URL, which paragraphs are headings).
*/

pub mod docx;
pub mod fetch;
pub mod html;

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Where a document came from: a path, or standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Stdin,
    File(PathBuf),
}

impl Source {
    /// `-` means standard input.
    pub fn from_arg(arg: Option<&Path>) -> Source {
        match arg {
            None => Source::Stdin,
            Some(p) if p.as_os_str() == "-" => Source::Stdin,
            Some(p) => Source::File(p.to_path_buf()),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Stdin => f.write_str("<stdin>"),
            Source::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Why a document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {source_name}: {error}")]
    Io {
        source_name: String,
        error: std::io::Error,
    },
    #[error(
        "{source_name}: not valid UTF-8 at byte {offset}; convert the file to UTF-8 first (e.g. `iconv -f WINDOWS-1256 -t UTF-8`)"
    )]
    InvalidUtf8 { source_name: String, offset: usize },
    #[error(
        "{source_name}: the file is UTF-16; convert it to UTF-8 first (e.g. `iconv -f UTF-16 -t UTF-8`)"
    )]
    Utf16 { source_name: String },
    #[error(
        "{source_name}: the file is UTF-16 ({endian}, without a byte-order mark); convert it to UTF-8 first (e.g. `iconv -f {iconv} -t UTF-8`)"
    )]
    Utf16NoBom {
        source_name: String,
        endian: &'static str,
        iconv: &'static str,
    },
    #[error(
        "{source_name}: this is a web page (HTML); this command reads plain UTF-8 text: `tarjama translate` reads web pages, or save the article's text as .txt"
    )]
    Html { source_name: String },
    #[error(
        "{source_name}: no article found in this web page (no block of paragraphs); save the article's text as .txt and translate that"
    )]
    NoArticle { source_name: String },
    #[error("{source_name}: {message}")]
    Page {
        source_name: String,
        message: String,
    },
    #[error(
        "{source_name}: too large ({size} bytes; the limit for a {what} is {limit} bytes); is this really one article?"
    )]
    TooLarge {
        source_name: String,
        what: &'static str,
        size: u64,
        limit: u64,
    },
    #[error("{source_name}: {message}")]
    Fetch {
        source_name: String,
        message: String,
    },
    #[error("{source_name}: not a Word document tarjama can read: {message}")]
    Docx {
        source_name: String,
        message: String,
    },
    #[error(
        "{source_name}: looks like a binary file (NUL byte at byte {offset}); tarjama reads plain UTF-8 text"
    )]
    Binary { source_name: String, offset: usize },
}

/// The largest web page read (saved or fetched): 8 MiB.
pub const MAX_PAGE_BYTES: u64 = 8 << 20;

/// One paragraph of a document, with its heading level when it is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub text: String,
    pub heading: Option<u8>,
    /// Whether the source marks it right to left (`Some(true)`), left to
    /// right (`Some(false)`), or does not say.
    pub rtl: Option<bool>,
    /// Its formatted runs (`para` is filled in by [`Document::from_blocks`]).
    pub inline: Vec<crate::model::InlineFormat>,
}

impl Block {
    pub fn para(text: impl Into<String>) -> Block {
        Block {
            text: text.into(),
            heading: None,
            rtl: None,
            inline: Vec::new(),
        }
    }
    pub fn heading(text: impl Into<String>, level: u8) -> Block {
        Block {
            text: text.into(),
            heading: Some(level),
            rtl: None,
            inline: Vec::new(),
        }
    }
}

/// A document as `translate` reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    /// The text, paragraphs separated by blank lines.
    pub text: String,
    /// The title the document gives itself (a page's `og:title`/`<title>`,
    /// a Word file's title property), if any.
    pub title: Option<String>,
    /// The URL it was fetched from.
    pub url: Option<String>,
    /// 1-based paragraph numbers that are headings, with their level.
    pub headings: Vec<(usize, u8)>,
    /// The paragraphs the source marks right to left, when it marks any
    /// (see `DocMeta::rtl_paragraphs`).
    pub rtl_paragraphs: Option<Vec<usize>>,
    /// Inline formatting (see `DocMeta::inline`).
    pub inline: Vec<crate::model::InlineFormat>,
}

impl Document {
    /// A document made of blocks (one paragraph each).
    pub fn from_blocks(blocks: &[Block], title: Option<String>, url: Option<String>) -> Document {
        let mut text = String::new();
        let mut headings = Vec::new();
        let mut rtl = Vec::new();
        let mut marked = false;
        let mut inline = Vec::new();
        let mut para = 0;
        // the character offset of the paragraph being added
        let mut at = 0;
        for b in blocks {
            // A block is one paragraph: inner line breaks would split it.
            let t = b.text.split_whitespace().collect::<Vec<_>>().join(" ");
            if t.is_empty() {
                continue;
            }
            para += 1;
            if !text.is_empty() {
                text.push_str("\n\n");
                at += 2;
            }
            let start = at;
            text.push_str(&t);
            at += t.chars().count();
            if let Some(level) = b.heading {
                headings.push((para, level));
            }
            marked |= b.rtl.is_some();
            if b.rtl == Some(true) {
                rtl.push(para);
            }
            inline.extend(b.inline.iter().map(|f| crate::model::InlineFormat {
                para,
                start: f.start.map(|s| start + s),
                ..f.clone()
            }));
        }
        if !text.is_empty() {
            text.push('\n');
        }
        Document {
            text,
            title,
            url,
            headings,
            rtl_paragraphs: marked.then_some(rtl),
            inline,
        }
    }
}

/// Whether an argument is a web address `translate` fetches.
pub fn is_url(arg: &Path) -> bool {
    let s = arg.to_string_lossy();
    s.starts_with("http://") || s.starts_with("https://")
}

/// Whether the file name says it is a Word document (`.docx`).
pub fn is_docx_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("docx"))
}

/// Read a document as `translate` does: text, a web page (saved or at a
/// URL) or a Word file (see the module docs). A page at a URL gets the
/// default fetch timeout.
pub fn read_document(source: &Source) -> Result<Document, InputError> {
    read_document_with(source, fetch::DEFAULT_TIMEOUT)
}

/// [`read_document`] with the timeout of a fetch (see
/// [`fetch::timeout`]).
pub fn read_document_with(
    source: &Source,
    fetch_timeout: std::time::Duration,
) -> Result<Document, InputError> {
    let name = source.to_string();
    if let Source::File(p) = source {
        if is_url(p) {
            let (bytes, charset) = fetch::get(&name, fetch_timeout)?;
            return page_document(&name, &bytes, charset.as_deref(), Some(name.clone()));
        }
        if is_html_name(p) || is_docx_name(p) {
            let what = if is_docx_name(p) {
                "Word file"
            } else {
                "web page"
            };
            let limit = if is_docx_name(p) {
                docx::MAX_DOCX_BYTES
            } else {
                MAX_PAGE_BYTES
            };
            let io = |error| InputError::Io {
                source_name: name.clone(),
                error,
            };
            let size = std::fs::metadata(p).map_err(io)?.len();
            if size > limit {
                return Err(InputError::TooLarge {
                    source_name: name,
                    what,
                    size,
                    limit,
                });
            }
            let bytes = std::fs::read(p).map_err(io)?;
            if is_docx_name(p) {
                return docx::read(&name, &bytes);
            }
            return page_document(&name, &bytes, None, None);
        }
    }
    let io = |error| InputError::Io {
        source_name: name.clone(),
        error,
    };
    let bytes = match source {
        Source::Stdin => {
            let mut buf = Vec::new();
            std::io::stdin().lock().read_to_end(&mut buf).map_err(io)?;
            buf
        }
        Source::File(p) => std::fs::read(p).map_err(io)?,
    };
    // A saved page under another name (or on standard input), whatever its
    // charset: told by how it starts.
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(64)]).into_owned();
    if looks_like_html(head.trim_start_matches('\u{feff}')) {
        return page_document(&name, &bytes, None, None);
    }
    Ok(Document {
        text: decode(&name, bytes)?,
        ..Document::default()
    })
}

/// The article of a page's bytes.
fn page_document(
    name: &str,
    bytes: &[u8],
    header_charset: Option<&str>,
    url: Option<String>,
) -> Result<Document, InputError> {
    if bytes.len() as u64 > MAX_PAGE_BYTES {
        return Err(InputError::TooLarge {
            source_name: name.to_string(),
            what: "web page",
            size: bytes.len() as u64,
            limit: MAX_PAGE_BYTES,
        });
    }
    let page_err = |e| match e {
        html::PageError::NoArticle => InputError::NoArticle {
            source_name: name.to_string(),
        },
        html::PageError::Charset(message) => InputError::Page {
            source_name: name.to_string(),
            message,
        },
        html::PageError::TooDeep => InputError::Page {
            source_name: name.to_string(),
            message: format!(
                "elements nested more than {} deep; refusing (a damaged or hostile page)",
                html::MAX_NESTING
            ),
        },
    };
    let (text, _) = html::decode(bytes, header_charset).map_err(page_err)?;
    let page = html::extract(&text).map_err(page_err)?;
    Ok(Document::from_blocks(&page.blocks, page.title, url))
}

/// Read a whole document as text (see the module docs for what is checked).
pub fn read_source(source: &Source) -> Result<String, InputError> {
    let name = source.to_string();
    let bytes = match source {
        Source::Stdin => {
            // When standard input is a file, read it into one allocation.
            let size = std::fs::metadata("/dev/stdin").map_or(0, |m| m.len() as usize);
            let mut buf = Vec::with_capacity(size.saturating_add(1));
            std::io::stdin()
                .lock()
                .read_to_end(&mut buf)
                .map_err(|error| InputError::Io {
                    source_name: name.clone(),
                    error,
                })?;
            buf
        }
        Source::File(p) => {
            if is_html_name(p) {
                return Err(InputError::Html { source_name: name });
            }
            std::fs::read(p).map_err(|error| InputError::Io {
                source_name: name.clone(),
                error,
            })?
        }
    };
    let text = decode(&name, bytes)?;
    if looks_like_html(&text) {
        return Err(InputError::Html { source_name: name });
    }
    Ok(text)
}

/// Whether the file name says it is a web page (`.html`, `.htm`, `.xhtml`).
pub fn is_html_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ["html", "htm", "xhtml"].contains(&e.to_ascii_lowercase().as_str()))
}

/// Whether text starts like a saved web page (`<!DOCTYPE html` or `<html`).
fn looks_like_html(text: &str) -> bool {
    let head: String = text
        .trim_start()
        .chars()
        .take(16)
        .collect::<String>()
        .to_ascii_lowercase();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

/// Which UTF-16 byte order, if any, makes sense of bytes that hold NULs:
/// every code unit decodes and nearly every character is text (letters,
/// digits, punctuation, white space), as in a UTF-16 export without a BOM.
fn utf16_without_bom(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    if bytes.len() < 4 || !bytes.len().is_multiple_of(2) {
        return None;
    }
    let sample = &bytes[..bytes.len().min(8192)];
    let textual = |units: Vec<u16>| {
        let mut total = 0usize;
        let mut good = 0usize;
        for c in char::decode_utf16(units) {
            let Ok(c) = c else { return false };
            total += 1;
            if c.is_alphanumeric()
                || c.is_whitespace()
                || (c.is_ascii_punctuation())
                || crate::normalize::in_arabic_blocks(c)
                || ('\u{2000}'..='\u{206F}').contains(&c)
            {
                good += 1;
            }
        }
        total > 0 && good * 100 >= total * 95
    };
    let le = sample
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .collect();
    if textual(le) {
        return Some(("little-endian", "UTF-16LE"));
    }
    let be = sample
        .chunks_exact(2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .collect();
    if textual(be) {
        return Some(("big-endian", "UTF-16BE"));
    }
    None
}

/// Read a file by path.
pub fn read_path(path: &Path) -> Result<String, InputError> {
    read_source(&Source::File(path.to_path_buf()))
}

/// Check and decode bytes read from `name`.
pub fn decode(name: &str, bytes: Vec<u8>) -> Result<String, InputError> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(InputError::Utf16 {
            source_name: name.to_string(),
        });
    }
    if let Some(offset) = memchr::memchr(0, &bytes) {
        if let Some((endian, iconv)) = utf16_without_bom(&bytes) {
            return Err(InputError::Utf16NoBom {
                source_name: name.to_string(),
                endian,
                iconv,
            });
        }
        return Err(InputError::Binary {
            source_name: name.to_string(),
            offset,
        });
    }
    let mut text = String::from_utf8(bytes).map_err(|e| InputError::InvalidUtf8 {
        source_name: name.to_string(),
        offset: e.utf8_error().valid_up_to(),
    })?;
    if text.starts_with('\u{FEFF}') {
        text.drain(..'\u{FEFF}'.len_utf8());
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_is_dropped() {
        let t = decode("x", "\u{FEFF}مرحبا".as_bytes().to_vec()).unwrap();
        assert_eq!(t, "مرحبا");
    }

    #[test]
    fn invalid_utf8_names_offset() {
        let mut b = "سلام ".as_bytes().to_vec();
        let at = b.len();
        b.push(0xC3);
        b.push(b'(');
        let e = decode("a.txt", b).unwrap_err();
        match &e {
            InputError::InvalidUtf8 { offset, .. } => assert_eq!(*offset, at),
            other => panic!("wrong error {other:?}"),
        }
        assert!(e.to_string().contains("a.txt"));
        assert!(e.to_string().contains(&format!("byte {at}")));
    }

    #[test]
    fn nul_byte_is_binary() {
        let e = decode("b.bin", vec![b'a', 0, b'b']).unwrap_err();
        assert!(matches!(e, InputError::Binary { offset: 1, .. }));
    }

    #[test]
    fn utf16_without_bom_is_named_as_such() {
        let text = "قالت وزارة الخارجية الروسية (Reuters) 2024.\n";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let e = decode("le.txt", le).unwrap_err();
        assert!(
            matches!(
                e,
                InputError::Utf16NoBom {
                    endian: "little-endian",
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("le.txt") && e.to_string().contains("UTF-16LE"));
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let e = decode("be.txt", be).unwrap_err();
        assert!(
            matches!(
                e,
                InputError::Utf16NoBom {
                    endian: "big-endian",
                    ..
                }
            ),
            "{e:?}"
        );
        // A real binary file stays binary.
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x01\0".to_vec();
        assert!(matches!(
            decode("p.png", png).unwrap_err(),
            InputError::Binary { .. }
        ));
    }

    #[test]
    fn html_is_refused_by_name_and_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("page.html");
        std::fs::write(&p, "<p>نص</p>").unwrap();
        let e = read_path(&p).unwrap_err();
        assert!(matches!(e, InputError::Html { .. }));
        assert!(e.to_string().contains("page.html"), "{e}");
        let q = dir.path().join("saved.txt");
        std::fs::write(&q, "\n <!DOCTYPE html><html><body>نص</body></html>").unwrap();
        let e = read_path(&q).unwrap_err();
        assert!(matches!(e, InputError::Html { .. }), "{e:?}");
        let ok = dir.path().join("ok.txt");
        std::fs::write(&ok, "<ليس> صفحة").unwrap();
        assert!(read_path(&ok).is_ok());
    }

    #[test]
    fn utf16_is_refused() {
        let e = decode("u.txt", vec![0xFF, 0xFE, b'a', 0]).unwrap_err();
        assert!(matches!(e, InputError::Utf16 { .. }));
    }
}
