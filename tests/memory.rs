//! `tarjama memory`: TMX import and export through the real binary, the
//! memory's location, and the file's integrity after a SIGKILL mid-write.

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use tarjama::memory::Memory;
use tarjama::model::Origin;
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
        [Origin::Human, Origin::Mt, Origin::Human]
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
        .stdout(predicates::str::contains("pairs: 1 (human 1, machine 0)"));
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
