//! The shared glossary of a desk, on a real PostgreSQL server (see
//! `desk.rs`: TARJAMA_TEST_PG_URL, TARJAMA_REQUIRE_POSTGRES=1 in CI):
//! imported from the shipped TSV files, edited with the files' checks,
//! versioned, exported back, edited by two translators at once, and used
//! by `translate`, `qa`, `render` and `review`.

use std::path::Path;
use std::process::Stdio;

use predicates::prelude::*;
use serde_json::Value;

use crate::desk::{fresh_db, pg_url};
use crate::support::command::repo;
use crate::support::{self, faulty::Faulty, faulty::FaultyConfig};

/// `tarjama` in `d` with the shared glossary at `url` (from the
/// environment) edited by `who`.
fn tj(d: &Path, url: &str, who: &str) -> assert_cmd::Command {
    let mut c = support::tarjama(d);
    c.env("TARJAMA_GLOSSARY_URL", url)
        .env("TARJAMA_GLOSSARY_USER", who);
    c
}

fn stdout(c: &mut assert_cmd::Command) -> String {
    let out = c.output().unwrap();
    crate::support::assert_success(&out);
    String::from_utf8(out.stdout).unwrap()
}

fn stderr_of_failure(c: &mut assert_cmd::Command) -> String {
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    String::from_utf8(out.stderr).unwrap()
}

/// The shipped glossaries, copied into `d`; their names in order.
fn starters(d: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("glossaries"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tsv"))
        .collect();
    names.sort();
    for f in &names {
        std::fs::copy(repo().join("glossaries").join(f), d.join(f)).unwrap();
    }
    assert!(names.len() >= 4, "{names:?}");
    names
}

#[test]
fn the_shared_glossary_holds_the_files_and_gives_them_back() {
    let Some(base) = pg_url() else { return };
    let (url, mut db) = fresh_db(&base);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let names = starters(d);
    let said = stdout(
        tj(d, &url, "huda")
            .args(["glossary", "import", "--shared"])
            .args(&names),
    );
    assert!(said.contains("imported countries.tsv:"), "{said}");
    // The same entries, in the same layered order, as the files give.
    let list = |dir: &str| {
        let mut c = support::tarjama(d);
        c.arg("glossary");
        for n in &names {
            c.args(["--glossary", &format!("{dir}{n}")]);
        }
        stdout(c.args(["list", "--format", "tsv"]))
    };
    let files = list("");
    let shared = stdout(tj(d, &url, "huda").args(["glossary", "list", "--format", "tsv"]));
    assert!(files.lines().count() > 300, "{files}");
    assert_eq!(shared, files);
    // A second import changes nothing.
    let again =
        stdout(tj(d, &url, "huda").args(["glossary", "import", "--shared", "countries.tsv"]));
    assert!(again.contains(": 0 entries added"), "{again}");
    // Exported as the files of a glossaries/ folder, through which the
    // same glossary comes back.
    let said = stdout(tj(d, &url, "huda").args(["glossary", "export", "--dir", "out"]));
    for n in &names {
        assert!(said.contains(&format!("out/{n}")), "{said}");
    }
    assert_eq!(list("out/"), files);
    // ... and pass `glossary check` as the originals do.
    support::tarjama(d)
        .args(["glossary", "--glossary", "out/countries.tsv", "check"])
        .assert()
        .success();
    // Not over existing files without --force.
    let err = stderr_of_failure(tj(d, &url, "huda").args(["glossary", "export", "--dir", "out"]));
    assert!(err.contains("--force"), "{err}");
    // Every imported row is in the history, as Huda's.
    let n: i64 = db
        .query_one(
            "SELECT count(*) FROM glossary_history WHERE action = 'import' AND who = 'huda'",
            &[],
        )
        .unwrap()
        .get(0);
    let rows: i64 = db
        .query_one("SELECT count(*) FROM glossary", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, rows);
    // A file with a bad row imports nothing and names the line.
    std::fs::write(d.join("bad.tsv"), "source\ttarget\nمسقط\tMuscat\nصلالة\t\n").unwrap();
    let err =
        stderr_of_failure(tj(d, &url, "huda").args(["glossary", "import", "--shared", "bad.tsv"]));
    assert!(
        err.contains("bad.tsv:3") && err.contains("target cell is empty"),
        "{err}"
    );
    let n: i64 = db
        .query_one("SELECT count(*) FROM glossary WHERE layer = 'bad'", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
}

#[test]
fn edits_make_the_files_checks_and_are_recorded() {
    let Some(base) = pg_url() else { return };
    let (url, _db) = fresh_db(&base);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("base.tsv"),
        "source\ttarget\tvariants\nالكرملين\tthe Kremlin\t\nطالبان\tTaliban\tطلبان\n",
    )
    .unwrap();
    std::fs::write(d.join("proj.tsv"), "source\ttarget\n").unwrap();
    tj(d, &url, "huda")
        .args(["glossary", "import", "--shared", "base.tsv"])
        .assert()
        .success();
    // The same refusals, word for word but the place, as on the files.
    let cases: &[&[&str]] = &[
        &["طالبان", "Taliban"],
        &["الكرملين", "Kremlin"],
        &["حركة طالبان", "Taliban movement", "--variant", "طلبان"],
        &["س", "a\tb"],
        &["ـــ", "x"],
    ];
    for args in cases {
        let on_file = stderr_of_failure(
            support::tarjama(d)
                .args([
                    "glossary",
                    "--glossary",
                    "base.tsv",
                    "--glossary",
                    "proj.tsv",
                    "add",
                ])
                .args(*args),
        );
        let on_db = stderr_of_failure(
            tj(d, &url, "sami")
                .args(["glossary", "add", "--layer", "proj"])
                .args(*args),
        );
        let place = |s: &str| {
            s.replace("base.tsv", "shared:base")
                .replace("proj.tsv", "shared:proj")
        };
        assert_eq!(place(&on_file), on_db, "{args:?}");
    }
    // --override lets a later layer override, as for a later file.
    let said = stdout(tj(d, &url, "sami").args([
        "glossary",
        "add",
        "--layer",
        "proj",
        "الكرملين",
        "Kremlin",
        "--override",
        "--kind",
        "org",
    ]));
    assert_eq!(said, "added shared:proj:2: الكرملين → Kremlin\n");
    let list = stdout(tj(d, &url, "sami").args(["glossary", "list"]));
    assert!(
        list.contains("الكرملين → Kremlin  [org]  (shared:proj:2)"),
        "{list}"
    );
    // Removed from the one layer that has it; then it is gone.
    let said = stdout(tj(d, &url, "huda").args(["glossary", "remove", "طالبان"]));
    assert_eq!(said, "removed shared:base:3: طالبان → Taliban\n");
    let err = stderr_of_failure(tj(d, &url, "huda").args(["glossary", "remove", "طالبان"]));
    assert!(
        err.contains("has no entry with the source `طالبان`"),
        "{err}"
    );
    // In two layers: which one must be said.
    let err = stderr_of_failure(tj(d, &url, "huda").args(["glossary", "remove", "الكرملين"]));
    assert!(
        err.contains("several layers") && err.contains("--layer"),
        "{err}"
    );
    // The history: who, what, before and after, newest first.
    let h = stdout(tj(d, &url, "x").args(["glossary", "history", "--format", "jsonl"]));
    let h: Vec<Value> = h
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(h.len(), 4, "{h:?}");
    assert_eq!(
        (
            h[0]["action"].as_str(),
            h[0]["who"].as_str(),
            h[0]["layer"].as_str()
        ),
        (Some("remove"), Some("huda"), Some("base"))
    );
    assert_eq!(h[0]["old_row"], "طالبان\tTaliban\tطلبان\t\t\t\t\t");
    assert_eq!(h[0]["new_row"], Value::Null);
    assert_eq!(
        (h[1]["action"].as_str(), h[1]["who"].as_str()),
        (Some("add"), Some("sami"))
    );
    assert_eq!(h[1]["new_row"], "الكرملين\tKremlin\t\torg\t\t\t\t");
    assert!(h[0]["at"].as_i64().unwrap() >= h[1]["at"].as_i64().unwrap());
    let text = stdout(tj(d, &url, "x").args(["glossary", "history", "الكرملين"]));
    assert!(
        text.contains("sami  add proj  الكرملين") && text.contains("  + الكرملين | Kremlin"),
        "{text}"
    );
    assert!(!text.contains("طالبان"), "{text}");
    // Without TARJAMA_GLOSSARY_USER, the login name.
    support::tarjama(d)
        .env("TARJAMA_GLOSSARY_URL", &url)
        .env("USER", "layla")
        .args(["glossary", "add", "مسقط", "Muscat", "--kind", "capitl"])
        .assert()
        .success();
    let text = stdout(tj(d, &url, "x").args(["glossary", "history", "--limit", "1"]));
    assert!(text.contains("  layla  add proj  مسقط"), "{text}");
    // `glossary check` lints the layers as the export writes them.
    let out = tj(d, &url, "x")
        .args(["glossary", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let found = String::from_utf8(out.stdout).unwrap();
    assert!(
        found.contains("shared:proj:3") && found.contains("unknown kind `capitl`"),
        "{found}"
    );
    // The URL is never shown with a password; history names no secret.
    let pw = url.replacen("://tarjama@", "://tarjama:hunter2@", 1);
    let err = stderr_of_failure(tj(d, &pw, "x").args(["glossary", "list"]));
    assert!(
        err.contains("PGPASSWORD") && !err.contains("hunter2"),
        "{err}"
    );
}

#[test]
fn two_translators_editing_at_once_lose_no_edit() {
    let Some(base) = pg_url() else { return };
    let (url, mut db) = fresh_db(&base);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Set up before the race (the race on set-up is the memory's test).
    stdout(tj(d, &url, "x").args(["glossary", "list"]));
    let add = |who: &str, source: &str, target: &str| {
        support::tarjama_process(d)
            .env("TARJAMA_GLOSSARY_URL", &url)
            .env("TARJAMA_GLOSSARY_USER", who)
            .args(["glossary", "add", source, target])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Two translators, eight additions each, all in flight at once.
    let mut children = Vec::new();
    for k in 0..8 {
        children.push(add(
            "huda",
            &format!("المدينة رقم {k}"),
            &format!("City {k}"),
        ));
        children.push(add(
            "sami",
            &format!("القرية رقم {k}"),
            &format!("Village {k}"),
        ));
    }
    for c in children {
        let out = c.wait_with_output().unwrap();
        crate::support::assert_success(&out);
    }
    let n =
        |db: &mut postgres::Client, sql: &str| -> i64 { db.query_one(sql, &[]).unwrap().get(0) };
    assert_eq!(n(&mut db, "SELECT count(*) FROM glossary"), 16);
    assert_eq!(
        n(
            &mut db,
            "SELECT count(*) FROM glossary_history WHERE who = 'huda' AND action = 'add'"
        ),
        8
    );
    assert_eq!(
        n(
            &mut db,
            "SELECT count(*) FROM glossary_history WHERE who = 'sami' AND action = 'add'"
        ),
        8
    );
    // The same name pinned two ways at once: one wins, the other is told.
    for round in 0..3 {
        let source = format!("الميناء رقم {round}");
        let a = add("huda", &source, "the Port");
        let b = add("sami", &source, "the Harbour");
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        assert_ne!(a.status.success(), b.status.success(), "round {round}");
        let lost = if a.status.success() { &b } else { &a };
        let err = String::from_utf8_lossy(&lost.stderr);
        assert!(err.contains("conflict:"), "{err}");
    }
    assert_eq!(n(&mut db, "SELECT count(*) FROM glossary"), 19);
    assert_eq!(n(&mut db, "SELECT count(*) FROM glossary_history"), 19);
}

#[test]
fn translate_qa_render_and_review_use_the_shared_glossary() {
    let Some(base) = pg_url() else { return };
    let (url, mut db) = fresh_db(&base);
    let faulty = Faulty::new(FaultyConfig::default());
    let server = support::serve_in_background(faulty.handler());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("tarjama.toml"),
        format!(
            "[backends.fake]\nkind = \"openai\"\nurl = \"{}\"\nmodel = \"m\"\n\n[glossary]\nurl = \"{url}\"\nuser = \"desk-editor\"\n",
            server.url()
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("a.txt"),
        "وصل الوفد إلى بغداد صباح اليوم.\n\nوعاد الوفد من دمشق.\n",
    )
    .unwrap();
    // A local file that would pin something else: the shared glossary wins.
    std::fs::create_dir(d.join("glossaries")).unwrap();
    std::fs::write(
        d.join("glossaries/local.tsv"),
        "source\ttarget\nدمشق\tDamascus\n",
    )
    .unwrap();
    support::tarjama(d)
        .args(["glossary", "add", "بغداد", "Baghdad", "--kind", "city"])
        .assert()
        .success();
    let paths = stdout(support::tarjama(d).args(["glossary", "paths"]));
    assert!(paths.contains("the shared glossary postgres://"), "{paths}");
    // translate pins Baghdad (the fake engine writes no English name, so
    // the term is reported missed), and knows nothing of Damascus.
    let out = support::tarjama(d)
        .args(["translate", "a.txt", "-o", "a.jsonl"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = std::fs::read_to_string(d.join("a.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &Value| v.get("type").is_none_or(|t| t != "header"))
        .collect();
    let terms = |r: &Value| r["terms"].to_string();
    assert!(terms(&rows[0]).contains("Baghdad"), "{}", rows[0]);
    assert!(!terms(&rows[1]).contains("Damascus"), "{}", rows[1]);
    // qa checks the English against it: Baghdad is missing.
    let out = support::tarjama(d)
        .args(["qa", "a.jsonl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let qa = String::from_utf8_lossy(&out.stdout);
    assert!(qa.contains("Baghdad") && !qa.contains("Damascus"), "{qa}");
    // A name pinned since: render re-checks with the shared glossary.
    support::tarjama(d)
        .args(["glossary", "add", "دمشق", "Damascus"])
        .assert()
        .success();
    support::tarjama(d)
        .args(["render", "a.jsonl", "-o", "b.jsonl"])
        .assert()
        .success();
    let b = std::fs::read_to_string(d.join("b.jsonl")).unwrap();
    assert!(b.contains("Damascus"), "{b}");
    // --glossary-url beats the config, --glossary beats both.
    let (other, _) = fresh_db(&base);
    let out = support::tarjama(d)
        .args(["--glossary-url", &other, "glossary", "list"])
        .output()
        .unwrap();
    assert!(out.status.success() && out.stdout.is_empty(), "{out:?}");
    let local = stdout(support::tarjama(d).args([
        "glossary",
        "--glossary",
        "glossaries/local.tsv",
        "list",
    ]));
    assert!(
        local.contains("Damascus") && !local.contains("Baghdad"),
        "{local}"
    );

    // review on the shared memory: the page's new entry goes to the shared
    // glossary, as the desk editor's, and an edit to the memory.
    let mut review = support::tarjama_process(d);
    review.args(["review", "a.jsonl", "--memory", &url]);
    let server = crate::review::Server::run(review);
    let (port, token) = (server.port(), server.token());
    let send = |method: &str, path: &str, body: serde_json::Value| {
        let body = body.to_string();
        crate::review::http(
            port,
            &format!(
                "{method} /{token}/{path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            ),
            body.as_bytes(),
        )
    };
    let (code, answer) = send(
        "POST",
        "doc/0/glossary",
        serde_json::json!({"source": "الوفد", "target": "the delegation"}),
    );
    let edited = "The delegation reached Baghdad this morning.";
    let (saved, said) = send(
        "PUT",
        "doc/0/seg/p1s1",
        serde_json::json!({"text": edited, "rev": 0, "commit": true}),
    );
    let (_, page) = crate::review::http(
        port,
        &format!(
            "GET /{token}/doc/0 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
        ),
        b"",
    );
    drop(server);
    assert!(page.contains("<span>Glossary (shared):</span>"), "{page}");
    assert_eq!(saved, 200, "{said}");
    assert_eq!(code, 200, "{answer}");
    assert!(answer.contains("added shared:desk:4"), "{answer}");
    let who: String = db
        .query_one(
            "SELECT who FROM glossary_history WHERE source = 'الوفد'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(who, "desk-editor");
    // The next look-up of another translator's process takes the edit.
    let out = support::tarjama(d)
        .args(["translate", "a.txt", "-o", "c.jsonl", "--memory", &url])
        .output()
        .unwrap();
    crate::support::assert_success(&out);
    let first: Value = std::fs::read_to_string(d.join("c.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["id"] == "p1s1")
        .unwrap();
    assert_eq!(
        (first["target"].as_str(), first["origin"].as_str()),
        (Some(edited), Some("human"))
    );
}

#[test]
fn a_desk_memory_of_schema_1_gets_the_glossary_tables_on_open() {
    let Some(base) = pg_url() else { return };
    let (url, mut db) = fresh_db(&base);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A memory set up by the tarjama before the shared glossary.
    std::fs::write(d.join("e.tmx"), "<?xml version=\"1.0\"?><tmx version=\"1.4\"><header srclang=\"ar\" adminlang=\"en\" segtype=\"sentence\" datatype=\"plaintext\" o-tmf=\"x\" creationtool=\"x\" creationtoolversion=\"1\"/><body><tu><tuv xml:lang=\"ar\"><seg>وصل الوفد.</seg></tuv><tuv xml:lang=\"en\"><seg>The delegation arrived.</seg></tuv></tu></body></tmx>").unwrap();
    support::tarjama(d)
        .args(["memory", "--memory", &url, "import", "e.tmx"])
        .assert()
        .success();
    db.batch_execute(
        "DROP TABLE glossary, glossary_history; DELETE FROM tarjama_schema WHERE version = 2",
    )
    .unwrap();
    let out = tj(d, &url, "huda")
        .args(["glossary", "add", "الوفد", "the delegation"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("schema migrated from version 1 to 2"), "{err}");
    // The memory is untouched, and both are at version 2.
    let n: i64 = db
        .query_one("SELECT count(*) FROM pairs", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    let v: i32 = db
        .query_one("SELECT max(version) FROM tarjama_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(v, 2);
    support::tarjama(d)
        .args(["memory", "--memory", &url, "stats"])
        .assert()
        .success()
        .stderr(predicates::str::contains("migrated").not());
}
