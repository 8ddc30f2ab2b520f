//! The one way the tests run the `tarjama` binary: in a folder of the
//! test's, with nothing of the machine's leaking in.
//!
//! Every `TARJAMA_*` variable of the test process is removed (the tests set
//! some for themselves, and a developer's shell may export others), every
//! `XDG_*` variable is removed and the four base directories are pointed
//! into the folder (`data`, `config`, `cache`, `state`), and `HOME` is the
//! folder, so no user configuration, glossary or memory is found; a test
//! adds what it means to test with `.env(...)` afterwards.

use std::path::{Path, PathBuf};

/// The binary, to run in `dir` (its working directory and its home).
pub fn tarjama(dir: &Path) -> assert_cmd::Command {
    assert_cmd::Command::from_std(tarjama_process(dir))
}

/// The same as [`tarjama`] as a `std::process::Command`, for tests that
/// spawn the binary and talk to it (stdin, signals).
pub fn tarjama_process(dir: &Path) -> std::process::Command {
    isolated(Path::new(env!("CARGO_BIN_EXE_tarjama")), dir)
}

/// `program` (a copy of the binary installed elsewhere, say) run as
/// [`tarjama_process`] runs the built one.
pub fn isolated(program: &Path, dir: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(program);
    c.current_dir(dir);
    for (name, _) in std::env::vars_os() {
        let n = name.to_string_lossy();
        if n.starts_with("TARJAMA_") || n.starts_with("XDG_") {
            c.env_remove(&name);
        }
    }
    c.env("HOME", dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env("XDG_STATE_HOME", dir.join("state"));
    c
}

/// The repository root, for the tests that run from it (fixtures named by
/// relative path, `./glossaries`).
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// [`tarjama`] run from the repository root, its home in a scratch folder
/// of its own (so nothing is written into the repository).
pub fn tarjama_in_repo() -> assert_cmd::Command {
    let mut c = tarjama(&scratch_home());
    c.current_dir(repo());
    c
}

/// A fresh folder under the target directory, kept for the process.
fn scratch_home() -> PathBuf {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("homes");
    std::fs::create_dir_all(&base).unwrap();
    tempfile::Builder::new()
        .prefix("home-")
        .tempdir_in(&base)
        .unwrap()
        .keep()
}

/// A finished run of the binary succeeded; when not, the failure shows its
/// standard error.
#[track_caller]
pub fn assert_success(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
