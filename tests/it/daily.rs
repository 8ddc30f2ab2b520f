//! Daily use through the real binary: where output lands (`-o -`, links,
//! FIFOs), what input is refused or skipped and why, standard input, config
//! errors, glossaries found from any folder (an installed binary included),
//! shell completions and the man page, and README's command lines against
//! `--help`. Everything runs in temporary folders; no system path is
//! written.

use crate::support::tarjama;
use std::io::Read;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::str::contains;
use serde_json::Value;

use crate::support;

const SEED: &str = "seeds/2024-10-04-russia-taliban.ar.txt";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn seed_into(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::copy(root().join(SEED), &p).unwrap();
    p
}

fn stdout_of(c: &mut Command) -> String {
    let out = c.assert().success().get_output().stdout.clone();
    String::from_utf8(out).unwrap()
}

fn header(jsonl: &str) -> Value {
    serde_json::from_str(jsonl.lines().next().expect("a header line")).unwrap()
}

/// A FIFO at `path` and a thread reading everything written to it.
#[cfg(unix)]
struct Fifo {
    path: PathBuf,
    reader: Option<std::thread::JoinHandle<Vec<u8>>>,
}

#[cfg(unix)]
impl Fifo {
    fn new(path: PathBuf) -> Fifo {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
        let p = path.clone();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            std::fs::File::open(&p)
                .unwrap()
                .read_to_end(&mut got)
                .unwrap();
            got
        });
        Fifo {
            path,
            reader: Some(reader),
        }
    }

    /// What the reader got; if nothing ever opened the FIFO for writing,
    /// open it once so that the reader ends instead of hanging the test.
    fn received(mut self) -> Vec<u8> {
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&self.path);
        self.reader.take().unwrap().join().unwrap()
    }

    fn is_still_a_fifo(&self) -> bool {
        use std::os::unix::fs::FileTypeExt;
        std::fs::symlink_metadata(&self.path)
            .unwrap()
            .file_type()
            .is_fifo()
    }
}

/// A draft JSONL of the seed article (offline run) in `dir`.
fn draft(dir: &Path) -> PathBuf {
    seed_into(dir, "a.txt");
    tarjama(dir)
        .args([
            "translate",
            "a.txt",
            "--memory",
            "m.sqlite",
            "-o",
            "draft.jsonl",
        ])
        .assert()
        .success();
    dir.join("draft.jsonl")
}

#[cfg(unix)]
#[test]
fn output_through_a_link_replaces_the_linked_file_and_keeps_the_link() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let d = tempfile::tempdir().unwrap();
    draft(d.path());
    let shared = d.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    let real = shared.join("review.tsv");
    std::fs::write(&real, "old").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o664)).unwrap();
    symlink("shared/review.tsv", d.path().join("review.tsv")).unwrap();
    // render, translate and memory export all go through the one write.
    tarjama(d.path())
        .args(["render", "draft.jsonl", "-o", "review.tsv"])
        .assert()
        .success();
    let link = d.path().join("review.tsv");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let text = std::fs::read_to_string(&real).unwrap();
    assert!(text.contains("post_edit"), "{text}");
    assert_eq!(
        std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
        0o664
    );
    symlink("shared/out.html", d.path().join("out.html")).unwrap();
    tarjama(d.path())
        .args([
            "translate",
            "a.txt",
            "--memory",
            "m.sqlite",
            "-o",
            "out.html",
        ])
        .assert()
        .success();
    assert!(
        std::fs::read_to_string(shared.join("out.html"))
            .unwrap()
            .contains("<html")
    );
    assert!(
        std::fs::symlink_metadata(d.path().join("out.html"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    symlink("shared/tm.tmx", d.path().join("tm.tmx")).unwrap();
    tarjama(d.path())
        .args([
            "memory", "--memory", "m.sqlite", "export", "--to", "tmx", "-o", "tm.tmx",
        ])
        .assert()
        .success();
    assert!(
        std::fs::read_to_string(shared.join("tm.tmx"))
            .unwrap()
            .contains("<tmx")
    );
    // Nothing but the three files in the shared folder: no temp file left.
    assert_eq!(std::fs::read_dir(&shared).unwrap().count(), 3);
}

#[cfg(unix)]
#[test]
fn output_to_a_fifo_is_written_into_never_replaced() {
    let d = tempfile::tempdir().unwrap();
    draft(d.path());
    // `render --to txt -o /dev/stdout`, with a FIFO standing in for the device.
    let fifo = Fifo::new(d.path().join("pipe"));
    tarjama(d.path())
        .args(["render", "draft.jsonl", "--to", "txt", "-o", "pipe"])
        .assert()
        .success();
    assert!(fifo.is_still_a_fifo());
    let got = String::from_utf8(fifo.received()).unwrap();
    assert!(got.contains("[untranslated: p1s1]"), "{got}");
    // translate -o FIFO
    let fifo = Fifo::new(d.path().join("pipe2"));
    tarjama(d.path())
        .args([
            "translate",
            "a.txt",
            "--memory",
            "m.sqlite",
            "--to",
            "jsonl",
            "-o",
            "pipe2",
        ])
        .assert()
        .success();
    assert!(fifo.is_still_a_fifo());
    let got = String::from_utf8(fifo.received()).unwrap();
    assert_eq!(header(&got)["type"], "header");
    // glossary export -o FIFO: no --force needed, nothing replaced.
    std::fs::write(d.path().join("g.tsv"), "source\ttarget\nطالبان\tTaliban\n").unwrap();
    let fifo = Fifo::new(d.path().join("pipe4"));
    tarjama(d.path())
        .args([
            "glossary",
            "--glossary",
            "g.tsv",
            "export",
            "--to",
            "csv",
            "-o",
            "pipe4",
        ])
        .assert()
        .success();
    assert!(fifo.is_still_a_fifo());
    assert!(
        String::from_utf8(fifo.received())
            .unwrap()
            .contains("Taliban")
    );
    // memory export -o FIFO
    let fifo = Fifo::new(d.path().join("pipe3"));
    tarjama(d.path())
        .args(["memory", "--memory", "m.sqlite", "export", "-o", "pipe3"])
        .assert()
        .success();
    assert!(fifo.is_still_a_fifo());
    assert!(String::from_utf8(fifo.received()).unwrap().contains("<tmx"));
}

#[test]
fn dash_output_is_standard_output() {
    let d = tempfile::tempdir().unwrap();
    draft(d.path());
    let out =
        stdout_of(tarjama(d.path()).args(["render", "draft.jsonl", "--to", "txt", "-o", "-"]));
    assert!(out.contains("[untranslated: p1s1]"), "{out}");
    let out = stdout_of(tarjama(d.path()).args([
        "translate",
        "a.txt",
        "--memory",
        "m.sqlite",
        "-o",
        "-",
    ]));
    assert_eq!(header(&out)["type"], "header");
    assert!(!d.path().join("-").exists());
    tarjama(d.path())
        .args(["render", "draft.jsonl", "-o", "-"])
        .assert()
        .code(1)
        .stderr(contains("--to"));
}

#[cfg(unix)]
#[test]
fn a_glossary_edited_through_a_link_edits_the_linked_file() {
    use std::os::unix::fs::symlink;
    let d = tempfile::tempdir().unwrap();
    let shared = d.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::write(
        shared.join("team.tsv"),
        "source\ttarget\nالكرملين\tthe Kremlin\n",
    )
    .unwrap();
    std::fs::create_dir(d.path().join("glossaries")).unwrap();
    symlink("../shared/team.tsv", d.path().join("glossaries/team.tsv")).unwrap();
    tarjama(d.path())
        .args([
            "glossary",
            "add",
            "طالبان",
            "Taliban",
            "--file",
            "glossaries/team.tsv",
        ])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(shared.join("team.tsv")).unwrap(),
        "source\ttarget\nالكرملين\tthe Kremlin\nطالبان\tTaliban\n"
    );
    assert!(
        std::fs::symlink_metadata(d.path().join("glossaries/team.tsv"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    tarjama(d.path())
        .args([
            "glossary",
            "remove",
            "الكرملين",
            "--file",
            "glossaries/team.tsv",
        ])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(shared.join("team.tsv")).unwrap(),
        "source\ttarget\nطالبان\tTaliban\n"
    );
}

#[test]
fn a_folder_lists_what_it_skips_and_one_article_may_go_to_a_file() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("in");
    std::fs::create_dir(&dir).unwrap();
    seed_into(&dir, "a.ar.txt");
    std::fs::write(dir.join("b.text"), "نص.").unwrap();
    std::fs::write(dir.join("c.pdf"), "%PDF-1.4").unwrap();
    std::fs::create_dir(dir.join("old")).unwrap();
    // One article in a folder plus a file -o: accepted.
    tarjama(d.path())
        .args(["translate", "in", "--memory", "m.sqlite", "-o", "x.html"])
        .assert()
        .success()
        .stderr(contains(
            "skipped in/b.text: not a *.txt, *.html or *.docx file",
        ))
        .stderr(contains(
            "skipped in/c.pdf: not a *.txt, *.html or *.docx file",
        ))
        .stderr(contains("skipped in/old: a folder"));
    let page = std::fs::read_to_string(d.path().join("x.html")).unwrap();
    assert!(page.contains("<html"));
    // Offline: the Arabic with one notice, not "not translated" on every row.
    assert_eq!(page.matches("not translated").count(), 1);
    // Several articles still need a folder.
    seed_into(&dir, "d.txt");
    tarjama(d.path())
        .args(["translate", "in", "--memory", "m.sqlite", "-o", "x.html"])
        .assert()
        .code(1)
        .stderr(contains("-o DIR"));
    // --quiet silences the list.
    tarjama(d.path())
        .args([
            "translate",
            "in",
            "--memory",
            "m.sqlite",
            "-o",
            "outdir",
            "--quiet",
        ])
        .assert()
        .success()
        .stderr("");
}

#[test]
fn html_utf16_without_bom_and_empty_input() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("page.html"), "<html><body>نص</body></html>").unwrap();
    tarjama(d.path())
        .args(["translate", "page.html", "--memory", "m.sqlite"])
        .assert()
        .code(1)
        .stderr(contains("page.html: no article found in this web page"));
    tarjama(d.path())
        .args(["segment", "page.html"])
        .assert()
        .code(1)
        .stderr(contains("page.html: this is a web page (HTML)"));
    // A saved page under a .txt name is read as a page (by its content).
    std::fs::write(
        d.path().join("saved.txt"),
        "<!DOCTYPE html>\n<html>نص</html>",
    )
    .unwrap();
    tarjama(d.path())
        .args(["translate", "saved.txt", "--memory", "m.sqlite"])
        .assert()
        .code(1)
        .stderr(contains("saved.txt: no article found in this web page"));
    // UTF-16LE without a BOM, as some Windows exports write it.
    let text = std::fs::read_to_string(root().join(SEED)).unwrap();
    let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    std::fs::write(d.path().join("u16.txt"), le).unwrap();
    tarjama(d.path())
        .args(["translate", "u16.txt", "--memory", "m.sqlite"])
        .assert()
        .code(1)
        .stderr(contains(
            "u16.txt: the file is UTF-16 (little-endian, without a byte-order mark)",
        ))
        .stderr(contains("iconv -f UTF-16LE"));
    tarjama(d.path())
        .args(["segment", "u16.txt"])
        .assert()
        .code(1)
        .stderr(contains(
            "UTF-16 (little-endian, without a byte-order mark)",
        ));
    // Empty: a warning and an empty document.
    std::fs::write(d.path().join("empty.txt"), "\n  \n").unwrap();
    tarjama(d.path())
        .args([
            "translate",
            "empty.txt",
            "--memory",
            "m.sqlite",
            "-o",
            "empty.jsonl",
        ])
        .assert()
        .success()
        .stderr(contains("empty.txt is empty"));
    let out = std::fs::read_to_string(d.path().join("empty.jsonl")).unwrap();
    assert_eq!(out.lines().count(), 1, "{out}");
    assert_eq!(header(&out)["summary"]["segments"], 0);
}

#[test]
fn translate_reads_standard_input() {
    let d = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join(SEED)).unwrap();
    let out = stdout_of(
        tarjama(d.path())
            .args(["translate", "-", "--memory", "m.sqlite"])
            .write_stdin(text.clone()),
    );
    assert_eq!(header(&out)["summary"]["segments"], 19);
    assert_eq!(out.lines().count(), 20);
    let out = stdout_of(
        tarjama(d.path())
            .args(["translate", "-", "--memory", "m.sqlite", "--to", "md"])
            .write_stdin(text),
    );
    assert!(out.contains("| "), "{out}");
}

#[test]
fn a_toml_error_keeps_the_multi_line_report_with_the_file_name() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("tarjama.toml"),
        "[backends.x]\nkind = \"openai\"\nmodel = \"m\"\nconcurency = 3\n",
    )
    .unwrap();
    seed_into(d.path(), "a.txt");
    let out = tarjama(d.path())
        .args(["translate", "a.txt", "--memory", "m.sqlite"])
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(out).unwrap();
    assert!(err.contains("tarjama.toml"), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.ends_with("concurency = 3"))
        .expect(&err);
    let col = lines[at].find("concurency").unwrap();
    assert_eq!(lines[at + 1].find('^'), Some(col), "{err}");
}

#[test]
fn glossaries_are_found_from_any_folder_once_installed() {
    let d = tempfile::tempdir().unwrap();
    // An installed binary, away from the source tree.
    let bin = d.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let exe = bin.join("tarjama");
    std::fs::copy(assert_cmd::cargo::cargo_bin("tarjama"), &exe).unwrap();
    let work = d.path().join("desk");
    std::fs::create_dir(&work).unwrap();
    seed_into(&work, "a.txt");
    let run = |args: &[&str]| {
        let mut c = support::command::isolated(&exe, d.path());
        c.current_dir(&work).args(args);
        Command::from_std(c)
    };
    // None yet: translate warns, and `glossary paths` says where it looked.
    let out = run(&["translate", "a.txt", "--memory", "m.sqlite"])
        .assert()
        .success()
        .stderr(contains("warning: no glossary"))
        .get_output()
        .stdout
        .clone();
    assert!(header(std::str::from_utf8(&out).unwrap())["glossary_hash"].is_null());
    run(&["glossary", "paths"])
        .assert()
        .success()
        .stdout(contains("data/tarjama/glossaries/: does not exist"))
        .stdout(contains("In use: none"));
    // Install the starters; every folder now finds them.
    run(&["glossary", "init"])
        .assert()
        .success()
        .stdout(contains("installed"));
    let installed = d.path().join("data/tarjama/glossaries");
    for name in [
        "countries.tsv",
        "organisations.tsv",
        "phrases.tsv",
        "seed-article.tsv",
    ] {
        assert_eq!(
            std::fs::read(installed.join(name)).unwrap(),
            std::fs::read(root().join("glossaries").join(name)).unwrap()
        );
    }
    let out = run(&["translate", "a.txt", "--memory", "m.sqlite"])
        .assert()
        .success()
        .stderr(contains("glossary hits"))
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(header(&out)["glossary_hash"].is_string());
    assert!(
        out.contains("\"target\":\"Taliban\""),
        "the seed's names are pinned"
    );
    run(&["glossary", "paths"])
        .assert()
        .success()
        .stdout(contains("4 *.tsv files"))
        .stdout(contains("In use (the *.tsv files in"));
    // A second init keeps what is there.
    run(&["glossary", "init"])
        .assert()
        .success()
        .stderr(contains("kept"));
    // The config's list, relative to the config file, comes first.
    let proj = d.path().join("proj");
    std::fs::create_dir(&proj).unwrap();
    std::fs::write(
        proj.join("mine.tsv"),
        "source\ttarget\nطالبان\tthe Taleban\n",
    )
    .unwrap();
    std::fs::write(proj.join("tarjama.toml"), "glossaries = [\"mine.tsv\"]\n").unwrap();
    let out = run(&["--config", "../proj/tarjama.toml", "glossary", "list"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("the Taleban"), "{out}");
    // --glossary beats everything.
    run(&["glossary", "paths", "--glossary", "x.tsv"])
        .assert()
        .success()
        .stdout(contains("In use (--glossary)"));
}

#[test]
fn completions_and_man_page_are_generated() {
    let d = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef tarjama"),
        ("fish", "complete -c tarjama"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = stdout_of(tarjama(d.path()).args(["completions", shell]));
        assert!(out.contains(marker), "{shell}: {out}");
        for sub in ["translate", "glossary", "render", "memory"] {
            assert!(out.contains(sub), "{shell} completes {sub}");
        }
    }
    let man = stdout_of(tarjama(d.path()).arg("man"));
    assert!(
        man.starts_with(".ie") || man.contains(".TH tarjama"),
        "{man}"
    );
    assert!(man.contains(".TH tarjama 1"), "{man}");
    assert!(man.contains("translate"));
}

/// The `tarjama ...` command lines of README, each as the words that name a
/// (sub)command followed by the rest of its tokens.
fn readme_commands() -> Vec<(Vec<Vec<String>>, Vec<String>)> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut snippets: Vec<String> = Vec::new();
    let mut in_block = false;
    for line in readme.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            snippets.push(line.to_string());
            continue;
        }
        // Inline code spans.
        let mut rest = line;
        while let Some(a) = rest.find('`') {
            let after = &rest[a + 1..];
            let Some(b) = after.find('`') else { break };
            snippets.push(after[..b].to_string());
            rest = &after[b + 1..];
        }
    }
    let mut cmds = Vec::new();
    // A word naming a command: lower-case letters and dashes; `a|b` names
    // alternatives, each to be checked.
    let command_words = |t: &str| -> Option<Vec<String>> {
        let words: Vec<String> = t
            .trim_end_matches([':', ','])
            .split('|')
            .map(str::to_string)
            .collect();
        words
            .iter()
            .all(|w| {
                !w.is_empty()
                    && !w.starts_with('-')
                    && w.chars().all(|c| c.is_ascii_lowercase() || c == '-')
            })
            .then_some(words)
    };
    // The glossary section writes `glossary add ...` without `tarjama`.
    const TOP: [&str; 9] = [
        "translate",
        "segment",
        "glossary",
        "memory",
        "backends",
        "render",
        "qa",
        "completions",
        "man",
    ];
    for s in snippets {
        let s = s.split(" # ").next().unwrap_or("");
        let s = if TOP.iter().any(|t| s.starts_with(&format!("{t} "))) {
            format!("tarjama {s}")
        } else {
            s.to_string()
        };
        for part in s.split("tarjama ").skip(1) {
            // `tarjama memory stats | export --to tmx | import FILE`: the
            // pieces after ` | ` are further subcommands of the same command.
            let mut top: Option<Vec<String>> = None;
            for (n, piece) in part.split(" | ").enumerate() {
                let tokens: Vec<&str> = piece.split_whitespace().collect();
                let mut path: Vec<Vec<String>> = Vec::new();
                if n > 0 {
                    match &top {
                        Some(t) => path.push(t.clone()),
                        None => break,
                    }
                }
                let mut i = 0;
                while i < tokens.len() && path.len() < 2 {
                    match command_words(tokens[i]) {
                        Some(w) => path.push(w),
                        None => break,
                    }
                    i += 1;
                }
                if path.is_empty() {
                    break;
                }
                if n == 0 {
                    top = Some(path[0].clone());
                }
                let rest = tokens[i..].iter().map(|t| t.to_string()).collect();
                cmds.push((path, rest));
            }
        }
    }
    cmds
}

/// Whether `word` stands in `help` as a whole word (not inside a longer
/// flag or value such as `--token` or `deepl-tsv`).
fn has_word(help: &str, word: &str) -> bool {
    let part = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    help.match_indices(word).any(|(i, _)| {
        let before = help[..i].chars().next_back();
        let after = help[i + word.len()..].chars().next();
        !before.is_some_and(part) && !after.is_some_and(part)
    })
}

#[test]
fn readme_command_lines_agree_with_help() {
    let d = tempfile::tempdir().unwrap();
    let help = |words: &[&str]| -> Option<String> {
        let out = tarjama(d.path())
            .args(words)
            .arg("--help")
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let cmds = readme_commands();
    assert!(
        cmds.len() >= 20,
        "README's commands were found: {}",
        cmds.len()
    );
    let mut problems = Vec::new();
    for (path, rest) in &cmds {
        let top = &path[0];
        for t in top {
            if help(&[t]).is_none() {
                problems.push(format!("`tarjama {t}`: no such command"));
            }
        }
        // The deepest level whose every alternative is a subcommand.
        let mut helps: Vec<String> = top.iter().filter_map(|t| help(&[t])).collect();
        let mut words_rest: Vec<String> = Vec::new();
        if let Some(subs) = path.get(1) {
            let sub_helps: Vec<Option<String>> = subs
                .iter()
                .map(|s| help(&[top[0].as_str(), s.as_str()]))
                .collect();
            if sub_helps.iter().all(Option::is_some) {
                helps = sub_helps.into_iter().flatten().collect();
            } else if subs.len() > 1 || top.len() > 1 {
                problems.push(format!(
                    "`tarjama {} {}`: not every alternative is a subcommand",
                    top.join("|"),
                    subs.join("|")
                ));
            } else {
                // A positional value such as a file name.
                words_rest.extend(subs.iter().cloned());
            }
        }
        // Every flag given must be in the help; so must `a|b` values after it.
        let tokens: Vec<String> = rest
            .iter()
            .map(|t| t.trim_matches(|c| "[]()`,".contains(c)).to_string())
            .collect();
        for (k, t) in tokens.iter().enumerate() {
            if !t.starts_with("--") || t == "--" {
                continue;
            }
            let flag = t.split('=').next().unwrap();
            if !helps.iter().all(|h| has_word(h, flag)) {
                problems.push(format!(
                    "`tarjama {} ...`: {flag} is not in its --help",
                    path.iter()
                        .map(|p| p.join("|"))
                        .collect::<Vec<_>>()
                        .join(" ")
                ));
                continue;
            }
            if let Some(v) = tokens.get(k + 1)
                && v.contains('|')
                && v.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '|' || c == '-')
            {
                for value in v.split('|') {
                    if !helps.iter().all(|h| has_word(h, value)) {
                        problems.push(format!("{flag} {value}: not a value its --help lists"));
                    }
                }
            }
        }
        let _ = words_rest;
    }
    assert!(
        problems.is_empty(),
        "README and --help disagree:\n{}",
        problems.join("\n")
    );
}

/// The drift the issue names, by itself, so that a parser change cannot
/// hide it: `glossary import` takes `--from` with deepl-tsv/deepl-csv, and
/// `glossary add` needs `--file`.
#[test]
fn readme_names_the_glossary_flags_the_cli_has() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        readme.contains("glossary import FILE --from"),
        "README: import --from"
    );
    assert!(readme.contains("deepl-tsv"), "README: deepl-tsv");
    assert!(
        readme.contains("glossary add SOURCE TARGET --file"),
        "README: add --file"
    );
    assert!(
        !readme.contains("import|export --to"),
        "README still says import --to"
    );
}

/// The figures of a dry run are those of the real run: per request, the
/// segments and the exact body bytes (prompt and context included), with
/// the oversize segment refused in advance and never sent.
#[test]
fn a_dry_run_foresees_exactly_what_the_real_run_sends() {
    let d = tempfile::tempdir().unwrap();
    let key = "sk-daily-dry-run-secret-4711";
    let fake = support::Fake::with_key(key);
    let server = support::serve_in_background(support::openai(fake.clone()));
    std::fs::write(
        d.path().join("tarjama.toml"),
        format!(
            "[backends.llm]\nkind = \"openai\"\nurl = \"{}/v1\"\nmodel = \"m\"\napi_key_env = \"DAILY_LLM_KEY\"\nbatch_size = 4\nconcurrency = 1\n",
            server.url()
        ),
    )
    .unwrap();
    // No pinned terms, so that no segment is asked twice.
    std::fs::write(d.path().join("none.tsv"), "source\ttarget\n").unwrap();
    let mut article = std::fs::read_to_string(root().join(SEED)).unwrap();
    article.push_str(&"كلمة ".repeat(1700));
    article.push('\n');
    std::fs::write(d.path().join("in.txt"), &article).unwrap();
    let args = [
        "translate",
        "in.txt",
        "--glossary",
        "none.tsv",
        "--memory",
        "m.sqlite",
    ];
    let dry = stdout_of(
        tarjama(d.path())
            .env("DAILY_LLM_KEY", key)
            .args(args)
            .args(["--dry-run", "--show"]),
    );
    assert!(!dry.contains(key), "the key is never shown");
    assert_eq!(fake.log.count(), 0, "a dry run sends nothing");
    assert!(!d.path().join("in.jsonl").exists());
    // Per request: "request N: K segments (ids), C characters of text, B bytes sent".
    let mut foreseen: Vec<(usize, usize)> = Vec::new();
    let mut refused = Vec::new();
    for line in dry.lines().filter(|l| l.starts_with("  request ")) {
        if line.contains("refused in advance") {
            refused.push(line.to_string());
            continue;
        }
        let num = |before: &str| -> usize {
            let i = line.find(before).unwrap();
            line[..i].rsplit(' ').next().unwrap().parse().unwrap()
        };
        foreseen.push((num(" segment"), num(" bytes sent")));
    }
    assert_eq!(refused.len(), 1, "{dry}");
    assert!(
        refused[0].contains("p19s1") && refused[0].contains("8000"),
        "{}",
        refused[0]
    );
    // --show prints each body, the system prompt included.
    assert_eq!(
        dry.matches("\"role\":\"system\"").count(),
        foreseen.len(),
        "{dry}"
    );
    // The real run: the refused segment is input a rerun cannot fix (exit 1).
    let run = tarjama(d.path())
        .env("DAILY_LLM_KEY", key)
        .args(args)
        .args(["-o", "out.jsonl"])
        .assert()
        .code(1);
    drop(run);
    let seen = fake.log.requests_seen.lock().unwrap().clone();
    let sent: Vec<(usize, usize)> = seen
        .iter()
        .map(|r| {
            (
                support::llm_segments(&r.json().unwrap(), "messages").len(),
                r.body.len(),
            )
        })
        .collect();
    assert_eq!(sent, foreseen, "dry run:\n{dry}");
    let total: usize = sent.iter().map(|s| s.1).sum();
    assert!(
        dry.contains(&format!("{total} bytes of request bodies")),
        "{dry}"
    );
    let out = std::fs::read_to_string(d.path().join("out.jsonl")).unwrap();
    assert!(out.contains("8000"), "the refusal is in the output");
}

#[test]
fn a_dry_run_on_a_folder_needs_no_output_folder() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("in");
    std::fs::create_dir(&dir).unwrap();
    seed_into(&dir, "a.txt");
    seed_into(&dir, "b.txt");
    let out =
        stdout_of(tarjama(d.path()).args(["translate", "in", "--memory", "m.sqlite", "--dry-run"]));
    assert!(
        out.contains("in/a.txt: 19 segments") && out.contains("in/b.txt: 19 segments"),
        "{out}"
    );
    assert!(out.contains("total: 38 segments to send"), "{out}");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        2,
        "nothing written"
    );
}

/// A folder with a backend: in a real terminal (tmux) one bar counts the
/// articles with segments, memory, sent and retries, and each finished
/// article gets its line; with stderr not a terminal nothing is drawn.
#[test]
fn a_folder_shows_one_bar_in_a_terminal_and_nothing_in_a_pipe() {
    let d = tempfile::tempdir().unwrap();
    let fake = support::Fake::new();
    fake.set_latency(std::time::Duration::from_millis(80));
    let server = support::serve_in_background(support::openai(fake.clone()));
    std::fs::write(
        d.path().join("tarjama.toml"),
        format!(
            "[backends.llm]\nkind = \"openai\"\nurl = \"{}/v1\"\nmodel = \"m\"\nbatch_size = 2\nconcurrency = 1\n",
            server.url()
        ),
    )
    .unwrap();
    std::fs::write(d.path().join("none.tsv"), "source\ttarget\n").unwrap();
    let dir = d.path().join("in");
    std::fs::create_dir(&dir).unwrap();
    let seed = std::fs::read_to_string(root().join(SEED)).unwrap();
    for (i, name) in ["a.txt", "b.txt", "c.txt"].iter().enumerate() {
        // Different articles, so that none comes from the memory.
        let text: String = seed
            .lines()
            .map(|l| {
                if l.trim().is_empty() {
                    l.to_string()
                } else {
                    format!("{l} {}", "و".repeat(i + 1))
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(dir.join(name), text).unwrap();
    }
    // A pipe: no bar, only the lines.
    let out = tarjama(d.path())
        .args([
            "translate",
            "in",
            "-o",
            "piped",
            "--glossary",
            "none.tsv",
            "--memory",
            "p.sqlite",
        ])
        .assert()
        .success()
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(out).unwrap();
    assert!(
        !err.contains("articles") && !err.contains('\r') && !err.contains('\u{1b}'),
        "{err}"
    );
    assert_eq!(
        err.lines()
            .filter(|l| l.starts_with("in/") && l.contains(" segments: "))
            .count(),
        3,
        "{err}"
    );

    let Some(screens) = in_tmux(
        d.path(),
        "translate in -o out --glossary none.tsv --memory t.sqlite",
    ) else {
        return;
    };
    let screen = screens.last().unwrap().clone();
    // The last bar seen before the run ended.
    let bar = screens.iter().rev().find_map(|s| {
        s.lines()
            .find(|l| l.contains("articles · ETA"))
            .map(str::to_string)
    });
    let bar = bar.unwrap_or_else(|| panic!("no bar seen; last screen:\n{screen}"));
    eprintln!("captured in tmux: {bar}");
    assert!(bar.contains("/3 articles"), "{bar}");
    assert!(
        bar.contains("segments ") && bar.contains("sent ") && bar.contains("retries "),
        "{bar}"
    );
    assert!(screen.contains("EXIT=0"), "{screen}");
    // One line per article stays; the bar is gone at the end.
    assert_eq!(
        screen
            .lines()
            .filter(|l| l.starts_with("in/") && l.contains(" segments: "))
            .count(),
        3,
        "{screen}"
    );
    assert!(!screen.contains("articles · ETA"), "{screen}");
}

/// Runs `tarjama ARGS` from `dir` in a detached tmux session (a real
/// terminal) and returns every distinct screen seen until it ended, or
/// `None` (with a message) when tmux is not installed.
fn in_tmux(dir: &Path, args: &str) -> Option<Vec<String>> {
    let tmux_ok = std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !tmux_ok {
        eprintln!("skipped the terminal check: tmux is not installed (apt-get install tmux)");
        return None;
    }
    let socket = format!("tarjama-test-{}-{}", std::process::id(), fastrand::u32(..));
    let tmux = |a: &[&str]| {
        std::process::Command::new("tmux")
            .args(["-L", &socket])
            .args(a)
            .output()
            .unwrap()
    };
    // The one command helper's environment, spelled for the shell.
    let c = support::tarjama_process(dir);
    // `env` takes its `-u` options before any assignment.
    let mut env = String::from("env");
    for (k, _) in c.get_envs().filter(|(_, v)| v.is_none()) {
        env.push_str(&format!(" -u {}", k.to_string_lossy()));
    }
    for (k, v) in c.get_envs() {
        if let Some(v) = v {
            env.push_str(&format!(
                " {}='{}'",
                k.to_string_lossy(),
                v.to_string_lossy()
            ));
        }
    }
    let script = format!(
        "cd '{h}' && {env} '{}' {args}; echo EXIT=$?; sleep 30",
        c.get_program().to_string_lossy(),
        h = dir.display()
    );
    let started = tmux(&["new-session", "-d", "-x", "160", "-y", "40", &script]);
    assert!(started.status.success(), "{started:?}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut screens: Vec<String> = Vec::new();
    while std::time::Instant::now() < deadline {
        let screen = String::from_utf8_lossy(&tmux(&["capture-pane", "-p"]).stdout).into_owned();
        let done = screen.contains("EXIT=");
        if screens.last() != Some(&screen) {
            screens.push(screen);
        }
        if done {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(40));
    }
    let _ = tmux(&["kill-server"]);
    Some(screens)
}

/// One article whose pinned terms the engine keeps missing: the bar starts
/// as a spinner, not a full 0/0 bar, and says when it re-asks.
#[test]
fn one_article_shows_no_empty_bar_and_a_label_while_re_asking() {
    let d = tempfile::tempdir().unwrap();
    let fake = support::Fake::new();
    fake.set_latency(std::time::Duration::from_millis(250));
    let server = support::serve_in_background(support::openai(fake.clone()));
    std::fs::write(
        d.path().join("tarjama.toml"),
        format!(
            "[backends.llm]\nkind = \"openai\"\nurl = \"{}/v1\"\nmodel = \"m\"\nbatch_size = 4\nconcurrency = 1\n",
            server.url()
        ),
    )
    .unwrap();
    std::fs::copy(
        root().join("glossaries/seed-article.tsv"),
        d.path().join("g.tsv"),
    )
    .unwrap();
    seed_into(d.path(), "a.txt");
    let Some(screens) = in_tmux(
        d.path(),
        "translate a.txt -o a.html --glossary g.tsv --memory t.sqlite",
    ) else {
        return;
    };
    let last = screens.last().unwrap();
    assert!(last.contains("EXIT=3") || last.contains("EXIT=0"), "{last}");
    assert!(
        screens.iter().all(|s| !s.contains("0/0")),
        "an empty 0/0 bar was drawn:\n{}",
        screens.join("\n----\n")
    );
    let label = screens
        .iter()
        .find_map(|s| {
            s.lines()
                .find(|l| l.contains("re-asking"))
                .map(str::to_string)
        })
        .unwrap_or_else(|| panic!("no re-asking label:\n{}", screens.join("\n----\n")));
    eprintln!("captured in tmux: {label}");
    assert!(
        label.contains("segments") && label.contains("missed pinned terms"),
        "{label}"
    );
}
