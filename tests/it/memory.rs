//! `tarjama memory`: TMX import and export through the real binary, the
//! memory's location, and the file's integrity after a SIGKILL mid-write;
//! the maintenance commands (search, forget, check, vacuum), opening safely
//! (concurrent first opens, nothing created by read-only commands), and a
//! memory that can be trusted through the runs that fill it: provenance
//! from reviews, pending re-requests that survive Ctrl-C and SIGKILL,
//! `--refresh`, `--no-memory`, honest exit codes and adaptive timeouts,
//! against an OpenAI-compatible server the test starts on 127.0.0.1.

use crate::support;
use crate::support::tarjama;

use std::path::Path;
use std::time::Duration;

use tarjama::memory::{Memory, Provenance};
use tarjama::tmx::{TmxHeader, TmxUnit, read_tmx, write_tmx};

fn tmx_file(path: &Path, units: &[TmxUnit]) {
    let mut buf = Vec::new();
    write_tmx(&mut buf, &TmxHeader::default(), units).unwrap();
    std::fs::write(path, buf).unwrap();
}

fn unit(i: usize, origin: Option<&str>) -> TmxUnit {
    TmxUnit {
        id: Some(i.to_string()),
        source: format!("قال المتحدث باسم الكرملين في البيان رقم {i} إن الاجتماع انتهى"),
        target: format!("The Kremlin spokesman said in statement no. {i} that the meeting ended"),
        props: origin
            .map(|o| vec![("x-origin".to_string(), o.to_string())])
            .unwrap_or_default(),
        notes: vec![],
    }
}

#[test]
fn import_stats_export_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let units = vec![unit(1, None), unit(2, Some("mt")), unit(3, Some("human"))];
    tmx_file(&d.join("in.tmx"), &units);

    tarjama(d)
        .args(["memory", "--memory", "tm.sqlite", "import", "in.tmx"])
        .assert()
        .success()
        .stderr(predicates::str::contains("imported 3 new pairs"));
    // Importing again adds nothing.
    tarjama(d)
        .args(["memory", "--memory", "tm.sqlite", "import", "in.tmx"])
        .assert()
        .success()
        .stderr(predicates::str::contains("imported 0 new pairs"))
        .stderr(predicates::str::contains("3 already there"));

    let out = tarjama(d)
        .args([
            "memory",
            "--memory",
            "tm.sqlite",
            "stats",
            "--format",
            "json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["pairs"], 3);
    assert_eq!(v["human"], 2);
    assert_eq!(v["mt"], 1);

    tarjama(d)
        .args([
            "memory",
            "--memory",
            "tm.sqlite",
            "export",
            "--to",
            "tmx",
            "-o",
            "out.tmx",
        ])
        .assert()
        .success();
    // Valid TMX 1.4b (xmllint is installed by .ci/run).
    if std::process::Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok()
    {
        let dtd = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/xsd/tmx14.dtd");
        let out = std::process::Command::new("xmllint")
            .args(["--noout", "--nonet", "--dtdvalid"])
            .arg(&dtd)
            .arg(d.join("out.tmx"))
            .output()
            .unwrap();
        crate::support::assert_success(&out);
    }
    let text = std::fs::read_to_string(d.join("out.tmx")).unwrap();
    let back = read_tmx("out.tmx", &text).unwrap();
    assert_eq!(back.len(), 3);
    for (a, b) in units.iter().zip(&back) {
        assert_eq!((&a.source, &a.target), (&b.source, &b.target));
    }
    let origins: Vec<&str> = back
        .iter()
        .map(|u| {
            u.props
                .iter()
                .find(|(k, _)| k == "x-origin")
                .unwrap()
                .1
                .as_str()
        })
        .collect();
    assert_eq!(origins, ["human", "mt", "human"]);

    // The exported file imports into a fresh memory with the same origins.
    tarjama(d)
        .args(["memory", "--memory", "tm2.sqlite", "import", "out.tmx"])
        .assert()
        .success();
    let m = Memory::open(&d.join("tm2.sqlite")).unwrap();
    let pairs = m.pairs().unwrap();
    assert_eq!(
        pairs.iter().map(|p| p.origin).collect::<Vec<_>>(),
        [Provenance::Human, Provenance::Mt, Provenance::Human]
    );

    // Without -o the TMX goes to stdout.
    tarjama(d)
        .args(["memory", "--memory", "tm.sqlite", "export"])
        .assert()
        .success()
        .stdout(predicates::str::contains("<tmx version=\"1.4\">"));
}

#[test]
fn memory_location_default_and_config() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tmx_file(&d.join("in.tmx"), &[unit(1, None)]);
    tarjama(d)
        .args(["memory", "import", "in.tmx"])
        .assert()
        .success();
    assert!(d.join("data/tarjama/memory.sqlite").is_file());

    std::fs::write(
        d.join("tarjama.toml"),
        "[memory]\npath = \"proj/tm.sqlite\"\n",
    )
    .unwrap();
    tarjama(d)
        .args(["memory", "import", "in.tmx"])
        .assert()
        .success();
    assert!(d.join("proj/tm.sqlite").is_file());
    tarjama(d)
        .args(["memory", "stats"])
        .assert()
        .success()
        .stdout(predicates::str::contains("proj/tm.sqlite"))
        .stdout(predicates::str::contains(
            "pairs: 1 (human 1, reviewed 0, machine 0)",
        ));
}

#[test]
fn bad_tmx_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("bad.tmx"),
        "<tmx version=\"1.4\">\n<header srclang=\"ar\"/>\n<body>\n<tu><tuv xml:lang=\"ar\"><seg>&x;</seg></tuv></tu>\n</body></tmx>\n",
    )
    .unwrap();
    tarjama(d)
        .args(["memory", "--memory", "tm.sqlite", "import", "bad.tmx"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("bad.tmx:4:"))
        .stderr(predicates::str::contains("&x;"));
}

#[test]
fn sigkill_during_import_leaves_an_intact_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let n = 6_000;
    let units: Vec<TmxUnit> = (0..n).map(|i| unit(i, None)).collect();
    tmx_file(&d.join("big.tmx"), &units);
    let mut outcomes = Vec::new();
    for (round, delay_ms) in [150u64, 300, 450, 600, 800].into_iter().enumerate() {
        let db = d.join(format!("tm{round}.sqlite"));
        let mut child = support::tarjama_process(d)
            .args(["memory", "--memory"])
            .arg(&db)
            .args(["import", "big.tmx"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        if !db.exists() {
            outcomes.push("not created");
            continue;
        }
        let m = Memory::open(&db).unwrap();
        assert_eq!(m.integrity_check().unwrap(), Ok(()), "round {round}");
        // The import is one transaction: all or nothing.
        let pairs = m.stats().unwrap().pairs;
        assert!(pairs == 0 || pairs == n, "round {round}: {pairs} pairs");
        outcomes.push(if pairs == 0 {
            "rolled back"
        } else {
            "complete"
        });
    }
    eprintln!("kill outcomes: {outcomes:?}");
}

// ---------------------------------------------------------------------
// Maintenance commands and opening safely.

/// A memory with units 1..=4 imported: 1 and 2 human, 3 mt, 4 reviewed.
fn maintained(d: &Path) {
    let units = vec![
        unit(1, None),
        unit(2, Some("human")),
        TmxUnit {
            props: vec![
                ("x-origin".into(), "mt".into()),
                ("x-backend".into(), "bad-endpoint".into()),
                ("x-model".into(), "m0".into()),
            ],
            ..unit(3, None)
        },
        unit(4, Some("reviewed")),
    ];
    tmx_file(&d.join("in.tmx"), &units);
    tarjama(d)
        .args(["memory", "--memory", "tm.sqlite", "import", "in.tmx"])
        .assert()
        .success();
}

fn left(db: &Path) -> Vec<(String, Provenance)> {
    Memory::open_existing(db)
        .unwrap()
        .pairs()
        .unwrap()
        .into_iter()
        .map(|p| (p.target, p.origin))
        .collect()
}

fn target(i: usize) -> String {
    unit(i, None).target
}

#[test]
fn forget_dry_run_then_forget_by_backend_origin_and_source() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    maintained(d);
    let db = d.join("tm.sqlite");

    // Nothing to select by: refused, nothing removed.
    tarjama(d)
        .args(["memory", "--memory", "tm.sqlite", "forget"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("needs at least one of"));
    // --dry-run lists and removes nothing.
    tarjama(d)
        .args([
            "memory",
            "--memory",
            "tm.sqlite",
            "forget",
            "--backend",
            "bad-endpoint",
            "--dry-run",
        ])
        .assert()
        .success()
        .stdout(predicates::str::contains(target(3)))
        .stderr(predicates::str::contains("1 pair(s) would be removed"));
    assert_eq!(left(&db).len(), 4);
    tarjama(d)
        .args([
            "memory",
            "--memory",
            "tm.sqlite",
            "forget",
            "--backend",
            "bad-endpoint",
        ])
        .assert()
        .success()
        .stderr(predicates::str::contains("removed 1 pair(s)"));
    assert_eq!(
        left(&db),
        [
            (target(1), Provenance::Human),
            (target(2), Provenance::Human),
            (target(4), Provenance::Reviewed)
        ]
    );
    tarjama(d)
        .args([
            "memory",
            "--memory",
            "tm.sqlite",
            "forget",
            "--origin",
            "reviewed",
        ])
        .assert()
        .success()
        .stderr(predicates::str::contains("removed 1 pair(s)"));
    // By source text and by a date range (everything is from today).
    tarjama(d)
        .args([
            "memory",
            "--memory",
            "tm.sqlite",
            "forget",
            "--source",
            "رقم 2 إن",
        ])
        .assert()
        .success()
        .stderr(predicates::str::contains("removed 1 pair(s)"));
    assert_eq!(left(&db), [(target(1), Provenance::Human)]);
    tarjama(d)
        .args([
            "memory",
            "--memory",
            "tm.sqlite",
            "forget",
            "--until",
            "2000-01-01",
        ])
        .assert()
        .success()
        .stderr(predicates::str::contains("removed 0 pair(s)"));
    tarjama(d)
        .args([
            "memory",
            "--memory",
            "tm.sqlite",
            "forget",
            "--since",
            "2000-01-01",
            "--origin",
            "human",
        ])
        .assert()
        .success()
        .stderr(predicates::str::contains("removed 1 pair(s)"));
    assert!(left(&db).is_empty());
    tarjama(d)
        .args([
            "memory",
            "--memory",
            "tm.sqlite",
            "forget",
            "--since",
            "yesterday",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("YYYY-MM-DD"));
}

#[test]
fn search_shows_exact_and_close_matches_with_their_origin() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    maintained(d);
    let out = tarjama(d)
        .args(["memory", "--memory", "tm.sqlite", "search"])
        .arg(unit(3, None).source)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    // The exact match first, with its origin, backend/model and date; then
    // the close ones (one word in ten differs).
    assert!(lines[0].starts_with("exact 100%"), "{out}");
    assert!(lines[0].contains("\tmt\tbad-endpoint/m0\t"), "{out}");
    assert!(lines[0].contains(&target(3)), "{out}");
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[1..].iter().all(|l| l.starts_with("fuzzy 90%")),
        "{out}"
    );
    // Searching changes nothing.
    assert_eq!(left(&d.join("tm.sqlite")).len(), 4);
    let json = tarjama(d)
        .args([
            "memory",
            "--memory",
            "tm.sqlite",
            "search",
            "--format",
            "json",
        ])
        .arg(unit(4, None).source)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v[0]["score"], 100);
    assert_eq!(v[0]["origin"], "reviewed");
}

#[test]
fn check_reports_broken_invariants_and_vacuum_compacts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    maintained(d);
    let db = d.join("tm.sqlite");
    tarjama(d)
        .args(["memory", "--memory", "tm.sqlite", "check"])
        .assert()
        .success()
        .stdout(predicates::str::contains("is sound (4 pairs, 4 sources"));
    tarjama(d)
        .args([
            "memory",
            "--memory",
            "tm.sqlite",
            "forget",
            "--origin",
            "human",
        ])
        .assert()
        .success()
        .stderr(predicates::str::contains("removed 2 pair(s)"));
    tarjama(d)
        .args(["memory", "--memory", "tm.sqlite", "vacuum"])
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "removed 0 pairs and 2 unused source(s)",
        ));
    assert_eq!(
        left(&db),
        [
            (target(3), Provenance::Mt),
            (target(4), Provenance::Reviewed)
        ]
    );
    tarjama(d)
        .args(["memory", "--memory", "tm.sqlite", "check"])
        .assert()
        .success()
        .stdout(predicates::str::contains("is sound (2 pairs, 2 sources"));
    // A reviewed pair given a machine cache key breaks an invariant.
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute(
        "UPDATE pairs SET cache_key = 'k' WHERE origin = 'reviewed'",
        [],
    )
    .unwrap();
    drop(c);
    tarjama(d)
        .args(["memory", "--memory", "tm.sqlite", "check"])
        .assert()
        .code(4)
        .stdout(predicates::str::contains(
            "1 reviewed or human pair(s) carry a machine cache key",
        ));
}

#[test]
fn read_only_commands_on_a_missing_memory_exit_1_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for args in [
        &["stats"][..],
        &["export"],
        &["search", "نص"],
        &["check"],
        &["vacuum"],
        &["forget", "--origin", "mt"],
    ] {
        tarjama(d)
            .args(["memory", "--memory", "typo/tm.sqlite"])
            .args(args)
            .assert()
            .code(1)
            .stderr(predicates::str::contains(
                "no translation memory at typo/tm.sqlite",
            ))
            .stderr(predicates::str::contains(
                "created by the first `tarjama translate`",
            ));
    }
    // The default location, too.
    tarjama(d)
        .args(["memory", "stats"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("no translation memory at"));
    let created: Vec<_> = std::fs::read_dir(d).unwrap().collect();
    assert!(created.is_empty(), "{created:?}");
}

#[test]
fn ten_processes_opening_a_new_memory_at_once_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tmx_file(
        &d.join("in.tmx"),
        &(1..=5).map(|i| unit(i, None)).collect::<Vec<_>>(),
    );
    for round in 0..2 {
        let db = format!("new{round}/tm.sqlite");
        let children: Vec<_> = (0..10)
            .map(|_| {
                crate::support::tarjama_process(d)
                    .args(["memory", "--memory", &db, "import", "in.tmx"])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            crate::support::assert_success(&out);
        }
        assert_eq!(left(&d.join(&db)).len(), 5);
    }
}

// ---------------------------------------------------------------------
// Runs that fill the memory, against an OpenAI-compatible server.

pub(crate) mod llm {
    use std::sync::{Arc, Mutex};

    use super::support::{self, Fake, Fault};

    /// The one fake as these runs want it: [`support::fake_english`] after
    /// `prefix` (to tell runs apart), and pinned terms honoured only when a
    /// re-request lists them under `must_use` (as a model that ignores the
    /// terminology at first).
    pub struct Llm {
        pub fake: Arc<Fake>,
        pub prefix: Arc<Mutex<String>>,
    }

    impl std::ops::Deref for Llm {
        type Target = Fake;
        fn deref(&self) -> &Fake {
            &self.fake
        }
    }

    impl Llm {
        pub fn start() -> (Arc<Llm>, support::BackgroundServer) {
            let fake = Fake::new();
            let prefix = Arc::new(Mutex::new(String::new()));
            let p = prefix.clone();
            fake.set_translate(move |a| {
                let mut en = format!("{}{}", p.lock().unwrap(), support::fake_english(&a.ar));
                for t in &a.must_use {
                    en.push_str(&format!(" ({t})"));
                }
                en
            });
            let server = support::serve_in_background(fake.handler());
            (Arc::new(Llm { fake, prefix }), server)
        }

        /// Segments received.
        pub fn segments(&self) -> usize {
            self.log.segments.lock().unwrap().len()
        }

        pub fn requests(&self) -> u64 {
            self.log.count()
        }

        /// Re-requests received.
        pub fn rerequests(&self) -> usize {
            self.records().iter().filter(|r| r.insist).count()
        }

        /// Answer every request with `status` and OpenAI's error body.
        pub fn answer_with_status(&self, status: u16) {
            let message = match status {
                404 => "The model `nope` does not exist",
                401 => "Incorrect API key provided",
                _ => "error",
            };
            self.set_always(Some(Fault::Reply(support::openai_error(status, message))));
        }
    }
}

const CITIES: &[&str] = &["بغداد", "دمشق", "بيروت", "القاهرة"];

/// `n` distinct one-sentence paragraphs; every other one names Baghdad.
fn article(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "ناقش المجلس في {} الملف رقم {} وأقر {} توصيات جديدة.\n\n",
                if i % 2 == 0 {
                    CITIES[0]
                } else {
                    CITIES[1 + i % 3]
                },
                i + 1,
                i % 7 + 2
            )
        })
        .collect()
}

/// A project for `url`: `article.txt` of `n` segments, a glossary pinning
/// Baghdad when `glossary`, and a config with `extra` in the backend.
pub(crate) fn project(url: &str, n: usize, glossary: bool, extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("article.txt"), article(n)).unwrap();
    std::fs::create_dir(d.join("glossaries")).unwrap();
    if glossary {
        std::fs::write(
            d.join("glossaries/places.tsv"),
            "source\ttarget\nبغداد\tBaghdad\n",
        )
        .unwrap();
    }
    std::fs::write(
        d.join("tarjama.toml"),
        format!(
            "default_backend = \"fake\"\n[backends.fake]\nkind = \"openai\"\nurl = \"{url}/v1\"\n\
             model = \"m\"\nmax_retries = 1\nretry_base_ms = 5\n{extra}"
        ),
    )
    .unwrap();
    dir
}

fn translate(d: &Path, out: &str, memory: &str) -> std::process::Command {
    let mut c = crate::support::tarjama_process(d);
    c.args([
        "--config",
        "tarjama.toml",
        "translate",
        "article.txt",
        "-o",
        out,
    ])
    .args(["--memory", memory])
    .stdin(std::process::Stdio::null());
    c
}

fn run(c: &mut std::process::Command) -> (Option<i32>, String) {
    let out = c.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The segment lines of a JSONL output.
fn rows(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v.get("type").is_none_or(|t| t != "header"))
        .collect()
}

fn stats(d: &Path, memory: &str) -> serde_json::Value {
    let out = tarjama(d)
        .args(["memory", "--memory", memory, "stats", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

/// Replace the post-edit cell (column 6) of row `id` in a review TSV.
fn edit_tsv(tsv: &str, id: &str, english: &str) -> String {
    tsv.lines()
        .map(|l| {
            let mut cells: Vec<String> = l.split('\t').map(str::to_string).collect();
            if cells.first().is_some_and(|c| c == id) && cells.len() > 5 {
                cells[5] = english.to_string();
            }
            cells.join("\t")
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn a_review_stores_only_its_edits_as_human_and_a_glossary_fix_retranslates_the_rest() {
    let (llm, server) = llm::Llm::start();
    let dir = project(server.url(), 19, false, "batch_size = 8\n");
    let d = dir.path();
    let (code, err) = run(&mut translate(d, "draft.jsonl", "tm.sqlite"));
    assert_eq!(code, Some(0), "{err}");
    tarjama(d)
        .args(["render", "draft.jsonl", "-o", "review.tsv", "-q"])
        .assert()
        .success();
    let mut tsv = std::fs::read_to_string(d.join("review.tsv")).unwrap();
    for id in ["p2s1", "p4s1", "p6s1"] {
        tsv = edit_tsv(&tsv, id, &format!("Reviewed English of {id}."));
    }
    std::fs::write(d.join("review.tsv"), tsv).unwrap();
    let review = |memory: &str, extra: &[&str]| {
        let out = tarjama(d)
            .args([
                "render",
                "review.tsv",
                "--against",
                "draft.jsonl",
                "--update-memory",
            ])
            .args(["--memory", memory, "-o", "final.txt"])
            .args(extra)
            .assert()
            .success()
            .get_output()
            .stderr
            .clone();
        String::from_utf8(out).unwrap()
    };
    std::fs::copy(d.join("tm.sqlite"), d.join("tm2.sqlite")).unwrap();
    let log = review("tm.sqlite", &[]);
    assert!(log.contains("3 edited by the reviewer"), "{log}");
    assert!(
        log.contains("3 human translation(s) stored")
            && log.contains("16 unedited segment(s) not stored"),
        "{log}"
    );
    let s = stats(d, "tm.sqlite");
    assert_eq!(
        (
            s["human"].as_u64(),
            s["reviewed"].as_u64(),
            s["mt"].as_u64()
        ),
        (Some(3), Some(0), Some(19))
    );

    // A glossary pinning Baghdad: the unedited segments naming it are
    // sent again (their cache key changed); the edited ones come from the
    // memory as human translations.
    std::fs::write(
        d.join("glossaries/places.tsv"),
        "source\ttarget\nبغداد\tBaghdad\n",
    )
    .unwrap();
    let before = llm.segments();
    let (code, err) = run(&mut translate(d, "again.jsonl", "tm.sqlite"));
    assert_eq!(code, Some(0), "{err}");
    let rows = rows(&d.join("again.jsonl"));
    let baghdad: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|r| r["source"].as_str().unwrap().contains("بغداد"))
        .collect();
    assert_eq!(baghdad.len(), 10);
    for r in &baghdad {
        let id = r["id"].as_str().unwrap();
        if ["p2s1", "p4s1", "p6s1"].contains(&id) {
            unreachable!("the edited rows do not name Baghdad");
        }
        assert_eq!(r["origin"], "mt", "{r}");
        assert!(r["target"].as_str().unwrap().contains("Baghdad"), "{r}");
    }
    for id in ["p2s1", "p4s1", "p6s1"] {
        let r = rows.iter().find(|r| r["id"] == id).unwrap();
        assert_eq!(r["origin"], "human");
        assert_eq!(r["target"], format!("Reviewed English of {id}."));
    }
    // Each of the 10 was sent, then re-requested for the missed term.
    assert_eq!(llm.segments() - before, 20);

    // --accept-unedited stores the unedited rows as reviewed, never human.
    let log = review("tm2.sqlite", &["--accept-unedited"]);
    assert!(
        log.contains("16 unedited segment(s) stored as reviewed"),
        "{log}"
    );
    let s = stats(d, "tm2.sqlite");
    assert_eq!(
        (s["human"].as_u64(), s["reviewed"].as_u64()),
        (Some(3), Some(16))
    );
    // Without the machine text edits cannot be told apart: refused.
    tarjama(d)
        .args(["render", "draft.jsonl", "-o", "review.xlf", "-q"])
        .assert()
        .success();
    tarjama(d)
        .args([
            "render",
            "review.xlf",
            "--update-memory",
            "--memory",
            "tm3.sqlite",
        ])
        .args(["-o", "x.txt"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("give --against"));
    assert!(!d.join("tm3.sqlite").exists() && !d.join("x.txt").exists());
}

/// Send SIGINT (as Ctrl-C does) or SIGKILL to a child.
fn signal(child: &std::process::Child, sig: i32) {
    unsafe {
        libc::kill(child.id() as i32, sig);
    }
}

#[test]
fn ctrl_c_or_a_kill_during_re_requests_then_a_rerun_gives_the_uninterrupted_output() {
    let (llm, server) = llm::Llm::start();
    *llm.rerequest_delay.lock().unwrap() = Duration::from_millis(600);
    let dir = project(
        server.url(),
        16,
        true,
        "batch_size = 2\nconcurrency = 1\ntimeout_secs = 20\n",
    );
    let d = dir.path();
    let (code, err) = run(&mut translate(d, "reference.jsonl", "reference.sqlite"));
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("terms 8 honoured, 0 missed"), "{err}");
    let reference = rows(&d.join("reference.jsonl"));

    for (sig, name) in [(libc::SIGINT, "ctrl-c"), (libc::SIGKILL, "kill")] {
        let memory = format!("{name}.sqlite");
        let out = format!("{name}.jsonl");
        let before = llm.rerequests();
        let mut child = translate(d, &out, &memory)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Interrupted while the first re-request is in flight.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while llm.rerequests() == before {
            assert!(std::time::Instant::now() < deadline, "no re-request came");
            std::thread::sleep(Duration::from_millis(5));
        }
        signal(&child, sig);
        let status = child.wait().unwrap();
        if sig == libc::SIGINT {
            assert_eq!(status.code(), Some(3), "{name}");
        }
        // The answers still waiting for their re-request are pending.
        let s = stats(d, &memory);
        let pending = s["pending"].as_u64().unwrap();
        assert!((1..=8).contains(&pending), "{name}: {s}");
        // The rerun finishes them first and writes what the
        // uninterrupted run wrote.
        let (code, err) = run(&mut translate(d, &out, &memory));
        assert_eq!(code, Some(0), "{name}: {err}");
        assert!(err.contains("terms 8 honoured, 0 missed"), "{name}: {err}");
        let resumed = rows(&d.join(&out));
        assert_eq!(resumed.len(), reference.len());
        for (a, b) in reference.iter().zip(&resumed) {
            for k in ["id", "source", "target", "terms", "warnings"] {
                assert_eq!(a[k], b[k], "{name}: {k} of {}", a["id"]);
            }
        }
        assert_eq!(stats(d, &memory)["pending"], 0, "{name}");
    }
}

#[test]
fn refresh_retranslates_machine_entries_and_keeps_human_ones() {
    let (llm, server) = llm::Llm::start();
    let dir = project(server.url(), 6, false, "batch_size = 8\n");
    let d = dir.path();
    let (code, err) = run(&mut translate(d, "a.jsonl", "tm.sqlite"));
    assert_eq!(code, Some(0), "{err}");
    // A human translation of the first segment.
    let first = rows(&d.join("a.jsonl"))[0]["source"]
        .as_str()
        .unwrap()
        .to_string();
    tmx_file(
        &d.join("h.tmx"),
        &[TmxUnit {
            id: None,
            source: first,
            target: "By hand.".into(),
            props: vec![],
            notes: vec![],
        }],
    );
    tarjama(d)
        .args(["memory", "--memory", "tm.sqlite", "import", "h.tmx"])
        .assert()
        .success();
    *llm.prefix.lock().unwrap() = "v2 ".into();
    let before = llm.segments();
    let mut c = translate(d, "b.jsonl", "tm.sqlite");
    c.arg("--refresh");
    let (code, err) = run(&mut c);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("refresh: 5 machine translation(s) in the memory sent again"),
        "{err}"
    );
    assert_eq!(llm.segments() - before, 5);
    let m = Memory::open_existing(&d.join("tm.sqlite")).unwrap();
    let pairs = m.pairs().unwrap();
    let mt: Vec<_> = pairs
        .iter()
        .filter(|p| p.origin == Provenance::Mt)
        .collect();
    // 6 machine pairs (the first segment's was stored before the human
    // one came), 5 of them replaced; the human one stays.
    assert_eq!(mt.len(), 6);
    assert_eq!(mt.iter().filter(|p| p.target.starts_with("v2 ")).count(), 5);
    assert!(
        pairs
            .iter()
            .any(|p| p.origin == Provenance::Human && p.target == "By hand.")
    );
    assert_eq!(rows(&d.join("b.jsonl"))[0]["target"], "By hand.");
}

#[test]
fn no_memory_reads_and_writes_nothing() {
    let (llm, server) = llm::Llm::start();
    let dir = project(server.url(), 4, false, "");
    let d = dir.path();
    let mut c = translate(d, "a.jsonl", "never.sqlite");
    c.arg("--no-memory");
    let (code, err) = run(&mut c);
    assert_eq!(code, Some(0), "{err}");
    assert!(!d.join("never.sqlite").exists());
    assert!(!d.join("data").exists());
    // An existing memory is neither read nor changed.
    let (code, _) = run(&mut translate(d, "b.jsonl", "tm.sqlite"));
    assert_eq!(code, Some(0));
    let sent = llm.segments();
    let mut c = translate(d, "c.jsonl", "tm.sqlite");
    c.arg("--no-memory");
    assert_eq!(run(&mut c).0, Some(0));
    assert_eq!(llm.segments() - sent, 4, "everything sent again");
    assert_eq!(stats(d, "tm.sqlite")["pairs"], 4);
}

#[test]
fn a_dry_run_creates_no_memory_file_or_folder() {
    let (llm, server) = llm::Llm::start();
    let dir = project(server.url(), 4, false, "");
    let d = dir.path();
    let out = tarjama(d)
        .args([
            "--config",
            "tarjama.toml",
            "translate",
            "article.txt",
            "--dry-run",
        ])
        .args(["--memory", "new/tm.sqlite"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8_lossy(&out).contains("4 to send"));
    assert!(!d.join("new").exists());
    assert!(!d.join("data").exists());
    assert_eq!(llm.requests(), 0);
}

#[test]
fn an_unknown_model_exits_1_with_the_setting_to_change_after_one_request() {
    let (llm, server) = llm::Llm::start();
    llm.answer_with_status(404);
    let dir = project(server.url(), 12, false, "batch_size = 2\nconcurrency = 1\n");
    let d = dir.path();
    let (code, err) = run(&mut translate(d, "a.jsonl", "tm.sqlite"));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("check `url` and `model` in [backends.fake]"),
        "{err}"
    );
    assert!(!err.contains("rerun the same command"), "{err}");
    // Nothing more was sent once the first answer said the model is unknown.
    assert_eq!(llm.requests(), 1);
    // The document is still written, every segment untranslated.
    assert!(
        rows(&d.join("a.jsonl"))
            .iter()
            .all(|r| r["target"].is_null())
    );
}

#[test]
fn a_rejected_key_exits_1_naming_the_key_setting() {
    let (llm, server) = llm::Llm::start();
    llm.answer_with_status(401);
    let dir = project(server.url(), 6, false, "batch_size = 2\nconcurrency = 1\n");
    let (code, err) = run(&mut translate(dir.path(), "a.jsonl", "tm.sqlite"));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("`api_key_env` in [backends.fake]"), "{err}");
    assert_eq!(llm.requests(), 1, "not retried, nothing more sent");
}

#[test]
fn a_server_that_is_down_counts_nothing_as_sent_and_exits_3() {
    let url = support::closed_port_url();
    let dir = project(url.trim_end_matches("/v1"), 3, false, "");
    let d = dir.path();
    let (code, err) = run(&mut translate(d, "a.jsonl", "tm.sqlite"));
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("0 sent (0 characters, 0 requests"), "{err}");
    assert!(err.contains("cannot connect"), "{err}");
}

#[test]
fn a_slow_model_whose_batches_time_out_translates_every_segment() {
    // The case scaled down (TARJAMA_LONG_TESTS=1: 1 s a segment,
    // a 3 s timeout, 19 segments in one batch).
    let long = std::env::var("TARJAMA_LONG_TESTS").is_ok_and(|v| v == "1");
    let (per, timeout, n) = if long {
        (1000, 3.0, 19)
    } else {
        (150, 0.45, 8)
    };
    let (llm, server) = llm::Llm::start();
    *llm.per_segment.lock().unwrap() = Duration::from_millis(per);
    let dir = project(
        server.url(),
        n,
        false,
        &format!(
            "batch_size = {n}\nconcurrency = 4\ntimeout_secs = {timeout}\ntimeout_ms_per_char = 0\n"
        ),
    );
    let d = dir.path();
    let (code, err) = run(&mut translate(d, "a.jsonl", "tm.sqlite"));
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains(&format!("{n} sent")) && err.contains("0 failed"),
        "{err}"
    );
    assert!(rows(&d.join("a.jsonl")).iter().all(|r| r["origin"] == "mt"));
    assert!(llm.requests() > 1);
    // The batches that timed out reached the server but were not answered,
    // and the summary says so.
    let reached = llm.requests();
    assert!(
        err.contains(&format!("{reached} requests (")) && err.contains(" answered)"),
        "{err}"
    );

    // With time allowed per character the whole batch fits in one request.
    let (llm, server) = llm::Llm::start();
    *llm.per_segment.lock().unwrap() = Duration::from_millis(per);
    let dir = project(
        server.url(),
        n,
        false,
        &format!(
            "batch_size = {n}\ntimeout_secs = {timeout}\ntimeout_ms_per_char = {}\n",
            per / 10
        ),
    );
    let (code, err) = run(&mut translate(dir.path(), "a.jsonl", "tm.sqlite"));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(llm.requests(), 1, "{err}");
}
