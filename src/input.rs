/*!
Reading documents: the only place where bytes become text.

Articles come from web pages, e-mail and Word exports, so this is where bad
input is caught with an error that names the file and what to do: invalid
UTF-8 (with its byte offset), UTF-16 files, binary files, unreadable paths.
A leading BOM is dropped; line endings are kept as they are (the segmenter
handles LF and CRLF), so offsets refer to the text as read.
*/

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
        "{source_name}: looks like a binary file (NUL byte at byte {offset}); tarjama reads plain UTF-8 text"
    )]
    Binary { source_name: String, offset: usize },
}

/// Read a whole document as text (see the module docs for what is checked).
pub fn read_source(source: &Source) -> Result<String, InputError> {
    let name = source.to_string();
    let bytes = match source {
        Source::Stdin => {
            let mut buf = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut buf)
                .map_err(|error| InputError::Io {
                    source_name: name.clone(),
                    error,
                })?;
            buf
        }
        Source::File(p) => std::fs::read(p).map_err(|error| InputError::Io {
            source_name: name.clone(),
            error,
        })?,
    };
    decode(&name, bytes)
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
    if let Some(offset) = bytes.iter().position(|&b| b == 0) {
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
    fn utf16_is_refused() {
        let e = decode("u.txt", vec![0xFF, 0xFE, b'a', 0]).unwrap_err();
        assert!(matches!(e, InputError::Utf16 { .. }));
    }
}
