//! `tarjama memory`: TMX import and export through the real binary, the
//! memory's location, and the file's integrity after a SIGKILL mid-write;
//! the maintenance commands (search, forget, check, vacuum), opening safely
//! (concurrent first opens, nothing created by read-only commands), and a
//! memory that can be trusted through the runs that fill it: provenance
//! from reviews, pending re-requests that survive Ctrl-C and SIGKILL,
//! `--refresh`, `--no-memory`, honest exit codes and adaptive timeouts,
//! against an OpenAI-compatible server the test starts on 127.0.0.1.

mod support;

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use tarjama::memory::{Memory, Provenance};
use tarjama::tmx::{TmxHeader, TmxUnit, read_tmx, write_tmx};

fn tarjama(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("tarjama").unwrap();
    c.current_dir(dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env_remove("TARJAMA_CONFIG")
        .env_remove("TARJAMA_MEMORY");
    c
}

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
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
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
        .stdout(predicates::str::contains("pairs: 1 (human 1, reviewed 0, machine 0)"));
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
    let bin = assert_cmd::cargo::cargo_bin("tarjama");
    let mut outcomes = Vec::new();
    for (round, delay_ms) in [150u64, 300, 450, 600, 800].into_iter().enumerate() {
        let db = d.join(format!("tm{round}.sqlite"));
        let mut child = std::process::Command::new(&bin)
            .args(["memory", "--memory"])
            .arg(&db)
            .args(["import", "big.tmx"])
            .current_dir(d)
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
        .args(["memory", "--memory", "tm.sqlite", "forget", "--origin", "reviewed"])
        .assert()
        .success()
        .stderr(predicates::str::contains("removed 1 pair(s)"));
    // By source text and by a date range (everything is from today).
    tarjama(d)
        .args(["memory", "--memory", "tm.sqlite", "forget", "--source", "رقم 2 إن"])
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
        .args(["memory", "--memory", "tm.sqlite", "forget", "--since", "yesterday"])
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
    assert!(lines[1..].iter().all(|l| l.starts_with("fuzzy 90%")), "{out}");
    // Searching changes nothing.
    assert_eq!(left(&d.join("tm.sqlite")).len(), 4);
    let json = tarjama(d)
        .args(["memory", "--memory", "tm.sqlite", "search", "--format", "json"])
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
        .args(["memory", "--memory", "tm.sqlite", "forget", "--origin", "human"])
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
        [(target(3), Provenance::Mt), (target(4), Provenance::Reviewed)]
    );
    tarjama(d)
        .args(["memory", "--memory", "tm.sqlite", "check"])
        .assert()
        .success()
        .stdout(predicates::str::contains("is sound (2 pairs, 2 sources"));
    // A reviewed pair given a machine cache key breaks an invariant.
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute("UPDATE pairs SET cache_key = 'k' WHERE origin = 'reviewed'", [])
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
            .stderr(predicates::str::contains("created by the first `tarjama translate`"));
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
    tmx_file(&d.join("in.tmx"), &(1..=5).map(|i| unit(i, None)).collect::<Vec<_>>());
    let bin = assert_cmd::cargo::cargo_bin("tarjama");
    for round in 0..2 {
        let db = format!("new{round}/tm.sqlite");
        let children: Vec<_> = (0..10)
            .map(|_| {
                std::process::Command::new(&bin)
                    .current_dir(d)
                    .env("XDG_DATA_HOME", d.join("data"))
                    .env("XDG_CONFIG_HOME", d.join("config"))
                    .env_remove("TARJAMA_CONFIG")
                    .args(["memory", "--memory", &db, "import", "in.tmx"])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert_eq!(left(&d.join(&db)).len(), 5);
    }
}
