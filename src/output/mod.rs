/*!
Bilingual documents: the aligned pairs of a [`Bitext`] written as the files
reviewers and tools actually open (HTML, Markdown, TSV, XLIFF, TMX, plain
English text, tarjama's JSONL), and read back after review.

Every writer consumes the same [`Bitext`], so that all formats show the same
segments, ids and flags. Writers render into memory and [`write_bitext`]
puts the bytes in place atomically (temporary file in the same directory,
then rename), so an interrupted run never leaves half a document behind;
[`write_atomic`] is the one function that writes a file, and it follows
links and writes devices and FIFOs directly rather than replacing them.
Reading reviewed files back (XLIFF, TSV, TMX, JSONL) and merging the reviewer's
text lives in [`review`].
*/

use std::fmt;
use std::io::Write;
use std::path::Path;

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
    match out {
        Some(path) => write_atomic(path, &bytes),
        None => write_stdout(&bytes),
    }
}

/// Put `bytes` where the user pointed, without ever replacing what they
/// pointed at with something else. The one place tarjama writes a file:
///
/// - `-` is standard output;
/// - a symbolic link is followed (through any chain of links) and its
///   target is replaced, so the link stays a link;
/// - a character or block device, a FIFO or a socket is written directly,
///   never renamed over (`-o /dev/stdout`, `-o >(gzip > x.gz)`);
/// - a regular file (or a new one) is replaced atomically: a temporary file
///   in the same directory, flushed to disk, given the old file's
///   permissions (and owner, when allowed), then renamed over it and the
///   directory flushed too, so an interrupted run or a crash never leaves
///   half a document behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    if path.as_os_str() == "-" {
        return write_stdout(bytes);
    }
    let target = follow_links(path).map_err(|error| io_error(path, path, error))?;
    let err = |error| io_error(path, &target, error);
    match std::fs::metadata(&target) {
        Ok(meta) if is_special(&meta.file_type()) => {
            write_direct(&target, &meta.file_type(), bytes).map_err(err)
        }
        Ok(meta) if meta.is_dir() => Err(err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "is a directory",
        ))),
        Ok(meta) => replace(&target, bytes, Some(&meta)).map_err(err),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            replace(&target, bytes, None).map_err(err)
        }
        Err(e) => Err(err(e)),
    }
}

/// The error for `asked` (and the file it resolved to, when different).
fn io_error(asked: &Path, target: &Path, error: std::io::Error) -> OutputError {
    let path = if asked == target {
        asked.display().to_string()
    } else {
        format!("{} (-> {})", asked.display(), target.display())
    };
    OutputError::Io { path, error }
}

fn write_stdout(bytes: &[u8]) -> Result<(), OutputError> {
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    lock.write_all(bytes)
        .and_then(|_| lock.flush())
        .map_err(|error| OutputError::Io {
            path: "standard output".into(),
            error,
        })
}

/// The file a path finally names: symbolic links followed (relative links
/// against their own directory), at most 40 deep as the kernel does. A
/// dangling link names the file it would create.
fn follow_links(path: &Path) -> std::io::Result<std::path::PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&current)?;
                current = match current.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}

#[cfg(unix)]
fn is_special(t: &std::fs::FileType) -> bool {
    use std::os::unix::fs::FileTypeExt;
    t.is_char_device() || t.is_block_device() || t.is_fifo() || t.is_socket()
}

#[cfg(not(unix))]
fn is_special(_: &std::fs::FileType) -> bool {
    false
}

/// Write into a device, FIFO or socket as it is.
fn write_direct(target: &Path, kind: &std::fs::FileType, bytes: &[u8]) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_socket() {
            let mut s = std::os::unix::net::UnixStream::connect(target)?;
            s.write_all(bytes)?;
            return s.flush();
        }
    }
    let _ = kind;
    let mut f = std::fs::OpenOptions::new().write(true).open(target)?;
    f.write_all(bytes)?;
    f.flush()
}

/// Replace the regular file `target` (or create it) by a rename.
fn replace(target: &Path, bytes: &[u8], old: Option<&std::fs::Metadata>) -> std::io::Result<()> {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = target
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
            Err(e) => return Err(e),
        }
    };
    let result = (|| {
        if let Some(meta) = old {
            file.set_permissions(meta.permissions())?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                // Only root may give a file away; others keep their own.
                let _ = std::os::unix::fs::fchown(&file, Some(meta.uid()), Some(meta.gid()));
            }
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, target)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Flush a directory's entries to disk, so that a rename in it survives a
/// crash (on systems where a directory cannot be opened, nothing to do).
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = dir;
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
            let by_ext = Format::from_name(f.extension());
            assert!(by_ext == Some(f) || (f == Format::DocxTable && by_ext == Some(Format::Docx)));
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

    #[cfg(unix)]
    #[test]
    fn a_replaced_file_keeps_its_permissions_and_a_new_one_gets_the_default() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o600, 0o640, 0o755, 0o444] {
            let p = dir.path().join(format!("f{mode:o}"));
            std::fs::write(&p, "old").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            write_atomic(&p, b"new").unwrap();
            assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
            let got = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(got, mode, "{mode:o}");
        }
        let fresh = dir.path().join("fresh");
        write_atomic(&fresh, b"x").unwrap();
        let got = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
        assert_eq!(got & 0o600, 0o600, "{got:o}");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_followed_and_its_target_replaced_keeping_permissions() {
        use std::os::unix::fs::{PermissionsExt, symlink};
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        let target = shared.join("real.txt");
        std::fs::write(&target, "old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        // A chain: link2 -> link1 -> shared/real.txt (relative links).
        let link1 = dir.path().join("link1.txt");
        symlink("shared/real.txt", &link1).unwrap();
        let link2 = dir.path().join("link2.txt");
        symlink("link1.txt", &link2).unwrap();
        write_atomic(&link2, b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link2)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(
            std::fs::symlink_metadata(&link1)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        // The temporary file went into the target's folder and is gone.
        assert_eq!(std::fs::read_dir(&shared).unwrap().count(), 1);
        // A dangling link creates its target.
        let dangling = dir.path().join("dangling.txt");
        symlink("shared/new.txt", &dangling).unwrap();
        write_atomic(&dangling, b"made").unwrap();
        assert_eq!(
            std::fs::read_to_string(shared.join("new.txt")).unwrap(),
            "made"
        );
        assert!(
            std::fs::symlink_metadata(&dangling)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_written_into_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(&fifo).unwrap())
        };
        write_atomic(&fifo, b"through the pipe").unwrap();
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        assert!(
            std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo()
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_socket_is_written_into_not_replaced() {
        use std::io::Read;
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("sock");
        let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let reader = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut got = Vec::new();
            s.read_to_end(&mut got).unwrap();
            got
        });
        write_atomic(&sock, b"to the socket").unwrap();
        assert_eq!(reader.join().unwrap(), b"to the socket");
        assert!(
            std::fs::symlink_metadata(&sock)
                .unwrap()
                .file_type()
                .is_socket()
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_character_device_is_written_into_not_replaced() {
        use std::os::unix::fs::{FileTypeExt, symlink};
        let dir = tempfile::tempdir().unwrap();
        // A null device node of our own (major 1, minor 3) in the temporary
        // folder, reached through a link as `-o /dev/stdout` is.
        let dev = dir.path().join("null");
        let made = std::process::Command::new("mknod")
            .arg(&dev)
            .args(["c", "1", "3"])
            .stderr(std::process::Stdio::null())
            .status();
        if !made.is_ok_and(|s| s.success()) {
            eprintln!("skipped: cannot create a device node here");
            return;
        }
        let link = dir.path().join("stdout");
        symlink(&dev, &link).unwrap();
        write_atomic(&link, b"discarded").unwrap();
        write_atomic(&dev, b"discarded").unwrap();
        let t = std::fs::symlink_metadata(&dev).unwrap().file_type();
        assert!(t.is_char_device(), "{t:?}");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = write_atomic(dir.path(), b"x").unwrap_err().to_string();
        assert!(e.contains("directory"), "{e}");
    }

    #[test]
    fn atomic_write_to_missing_dir_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nope/out.txt");
        let e = write_atomic(&p, b"x").unwrap_err().to_string();
        assert!(e.contains("nope/out.txt"), "{e}");
    }
}
