/*!
The one way tarjama writes a file, whatever it writes (documents, glossary
files, review files, memory exports): [`write_atomic`]. It sits below every
stage so that each of them can write without importing another stage.
*/

use std::io::Write;
use std::path::Path;

/// A file that could not be written: the path as the user named it (and
/// the file a link resolved to), and why.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {error}")]
pub struct WriteError {
    pub path: String,
    pub error: std::io::Error,
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
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
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
fn io_error(asked: &Path, target: &Path, error: std::io::Error) -> WriteError {
    let path = if asked == target {
        asked.display().to_string()
    } else {
        format!("{} (-> {})", asked.display(), target.display())
    };
    WriteError { path, error }
}

fn write_stdout(bytes: &[u8]) -> Result<(), WriteError> {
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    lock.write_all(bytes)
        .and_then(|_| lock.flush())
        .map_err(|error| WriteError {
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

#[cfg(test)]
mod tests {
    use super::*;

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
