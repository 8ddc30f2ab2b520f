//! `tarjama translate` end to end through the real binary, against an
//! OpenAI-compatible chat-completions server that this file starts on
//! 127.0.0.1. The server translates deterministically, renders a pinned
//! term only when the term's Arabic stands in the segment word for word
//! (as a weak model might), logs every segment it receives, and can be
//! slowed down or made to refuse one segment.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

const SEED: &str = "seeds/2024-10-04-russia-taliban.ar.txt";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A project directory with the seed article, a glossary and a config for
/// a backend at `url`.
fn project(url: Option<&str>, model: &str, batch: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(repo().join(SEED), dir.path().join("article.txt")).unwrap();
    std::fs::copy(
        repo().join("tests/fixtures/translate_glossary.tsv"),
        dir.path().join("glossary.tsv"),
    )
    .unwrap();
    if let Some(url) = url {
        std::fs::write(
            dir.path().join("tarjama.toml"),
            format!(
                "default_backend = \"fake\"\n[memory]\npath = \"tm.sqlite\"\n\
                 [backends.fake]\nkind = \"openai\"\nurl = \"{url}\"\nmodel = \"{model}\"\n\
                 batch_size = {batch}\nconcurrency = 2\nmax_retries = 1\ntimeout_secs = 20\n"
            ),
        )
        .unwrap();
    }
    dir
}

fn tarjama(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("tarjama").unwrap();
    c.current_dir(dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env_remove("TARJAMA_CONFIG");
    c
}

fn read_jsonl(path: &Path) -> (Value, Vec<Value>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap());
    let header = lines.next().unwrap();
    (header, lines.collect())
}

#[test]
fn offline_mode_marks_segments_and_shows_memory_and_glossary() {
    let dir = project(None, "", 0);
    let d = dir.path();
    let out = tarjama(d)
        .args(["translate", "article.txt", "--memory", "tm.sqlite"])
        .assert()
        .success()
        .stderr(predicates::str::contains("no backend configured"))
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["type"], "header");
    assert_eq!(lines[0]["source_name"], "article.txt");
    assert_eq!(lines.len(), 20, "header + 19 segments");
    for row in &lines[1..] {
        assert_eq!(row["target"], Value::Null);
        assert_eq!(row["origin"], "none");
        assert!(
            row["warnings"][0]
                .as_str()
                .unwrap()
                .contains("[backends.NAME]")
        );
        for k in ["id", "para", "source", "terms", "start", "end"] {
            assert!(row.get(k).is_some(), "{k} missing in {row}");
        }
    }
    assert_eq!(lines[1]["id"], "p1s1");

    // A human translation in the memory shows up offline.
    let seg = lines[1]["source"].as_str().unwrap();
    let tmx = format!(
        "<tmx version=\"1.4\"><header srclang=\"ar\"/><body><tu><tuv xml:lang=\"ar\"><seg>{seg}</seg></tuv>\
         <tuv xml:lang=\"en\"><seg>Russia and the Taliban discuss bilateral cooperation</seg></tuv></tu></body></tmx>"
    );
    std::fs::write(d.join("h.tmx"), tmx).unwrap();
    tarjama(d)
        .args(["memory", "--memory", "tm.sqlite", "import", "h.tmx"])
        .assert()
        .success();
    tarjama(d)
        .args([
            "translate",
            "article.txt",
            "--memory",
            "tm.sqlite",
            "-o",
            "out.jsonl",
            "-q",
        ])
        .assert()
        .success()
        .stderr("");
    let (header, rows) = read_jsonl(&d.join("out.jsonl"));
    assert_eq!(header["summary"]["from_memory"], 1);
    assert_eq!(rows[0]["origin"], "human");
    assert_eq!(
        rows[0]["target"],
        "Russia and the Taliban discuss bilateral cooperation"
    );
}

#[test]
fn several_inputs_go_to_a_directory_and_bad_formats_are_refused() {
    let dir = project(None, "", 0);
    let d = dir.path();
    std::fs::create_dir(d.join("in")).unwrap();
    std::fs::write(d.join("in/a.txt"), "قال الوزير إن الاجتماع انتهى.\n").unwrap();
    std::fs::write(d.join("in/b.txt"), "غادر الوفد موسكو.\n").unwrap();
    tarjama(d)
        .args(["translate", "in", "--memory", "tm.sqlite"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("-o DIR"));
    tarjama(d)
        .args([
            "translate",
            "in",
            "--memory",
            "tm.sqlite",
            "-o",
            "out",
            "-q",
        ])
        .assert()
        .success();
    let (h, rows) = read_jsonl(&d.join("out/a.jsonl"));
    assert_eq!(h["source_name"], "a.txt");
    assert_eq!(rows.len(), 1);
    assert!(d.join("out/b.jsonl").is_file());
    tarjama(d)
        .args([
            "translate",
            "article.txt",
            "--memory",
            "tm.sqlite",
            "-o",
            "x.docx",
        ])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("cannot tell the output format"));
    tarjama(d)
        .args([
            "translate",
            "article.txt",
            "--memory",
            "tm.sqlite",
            "--to",
            "pdf",
        ])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("unknown output format"));
}
