//! A desk: several `tarjama` processes sharing one memory on a real
//! PostgreSQL server (started by `.ci/postgres.sh`, found through
//! TARJAMA_TEST_PG_URL). Without the variable these tests say so and skip,
//! unless TARJAMA_REQUIRE_POSTGRES=1 (CI), where they fail.

use crate::support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::faulty::{Faulty, FaultyConfig};

pub(crate) fn pg_url() -> Option<String> {
    match std::env::var("TARJAMA_TEST_PG_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        Some(u) => Some(u),
        None => {
            assert!(
                std::env::var_os("TARJAMA_REQUIRE_POSTGRES").is_none(),
                "TARJAMA_REQUIRE_POSTGRES is set but TARJAMA_TEST_PG_URL is not: start a server with .ci/postgres.sh"
            );
            eprintln!(
                "skipping: no PostgreSQL server (set TARJAMA_TEST_PG_URL, e.g. eval \"$(.ci/postgres.sh start)\")"
            );
            None
        }
    }
}

/// A database URL whose tables live in a new, empty schema, and a client
/// on that schema for the checks.
pub(crate) fn fresh_db(base: &str) -> (String, postgres::Client) {
    let schema = format!("d_{:016x}", fastrand::u64(..));
    let mut c = postgres::Client::connect(base, postgres::NoTls).expect("the test server");
    c.batch_execute(&format!(
        "CREATE SCHEMA {schema}; SET search_path = {schema}"
    ))
    .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    (format!("{base}{sep}options=-csearch_path%3D{schema}"), c)
}

/// One-sentence paragraphs, distinct for distinct `k`.
fn sentence(k: usize) -> String {
    format!("افتتح المعرض رقم {k} في القاعة الكبرى أمس بحضور الوزير.")
}

fn write_article(path: &Path, ks: &[usize]) {
    let text: String = ks.iter().map(|&k| format!("{}\n\n", sentence(k))).collect();
    std::fs::write(path, text).unwrap();
}

fn write_config(dir: &Path, url: &str, batch: usize, concurrency: usize) {
    std::fs::write(
        dir.join("tarjama.toml"),
        format!(
            "[backends.fake]\nkind = \"openai\"\nurl = \"{url}\"\nmodel = \"m\"\nbatch_size = {batch}\nconcurrency = {concurrency}\ntimeout_secs = 20\nmax_retries = 2\nretry_base_ms = 5\n"
        ),
    )
    .unwrap();
}

fn translate(dir: &Path, input: &str, output: &str, memory: &str, lease_ms: u64) -> Command {
    let mut c = support::tarjama_process(dir);
    c.env("TARJAMA_MEMORY_LEASE_MS", lease_ms.to_string())
        .args([
            "--config",
            "tarjama.toml",
            "translate",
            input,
            "-o",
            output,
            "--memory",
            memory,
        ]);
    c
}

fn targets(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v.get("type").is_none_or(|t| t != "header"))
        .map(|v| {
            (
                v["source"].as_str().unwrap_or_default().to_string(),
                v["target"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn count(c: &mut postgres::Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).unwrap().get(0)
}

fn wait_all(children: Vec<Child>) -> Vec<std::process::Output> {
    children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

#[test]
fn four_processes_on_overlapping_inputs_send_each_segment_once() {
    let Some(base) = pg_url() else { return };
    let (url, mut db) = fresh_db(&base);
    let faulty = Faulty::new(FaultyConfig {
        latency: Duration::from_millis(60),
        ..FaultyConfig::default()
    });
    let server = support::serve_in_background(faulty.handler());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_config(d, server.url(), 2, 2);
    // 24 sentences; each process has 14 of them, in its own order, so that
    // every sentence is wanted by two to four processes.
    let n = 24;
    let mut rng = fastrand::Rng::with_seed(18);
    let mut inputs = Vec::new();
    for p in 0..4 {
        let mut ks: Vec<usize> = (0..n).filter(|k| (k + p) % 12 < 7).collect();
        rng.shuffle(&mut ks);
        write_article(&d.join(format!("p{p}.txt")), &ks);
        inputs.push(ks);
    }
    let union: std::collections::BTreeSet<usize> = inputs.iter().flatten().copied().collect();
    // The schema is set up once before the race (the race on set-up is
    // covered by the advisory lock; here it would only add noise).
    let st = support::tarjama_process(d)
        .args(["memory", "--memory", &url, "stats"])
        .output()
        .unwrap();
    assert!(!st.status.success(), "no memory yet");

    let children: Vec<Child> = (0..4)
        .map(|p| {
            translate(
                d,
                &format!("p{p}.txt"),
                &format!("out{p}.jsonl"),
                &url,
                3000,
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for (p, out) in wait_all(children).iter().enumerate() {
        assert!(
            out.status.success(),
            "process {p}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Sent exactly once each, whichever process sent it.
    let received = faulty.received();
    for &k in &union {
        assert_eq!(
            received.get(&sentence(k)).copied(),
            Some(1),
            "sentence {k} sent {:?} times: {received:?}",
            received.get(&sentence(k))
        );
    }
    assert_eq!(received.len(), union.len());
    // Stored once each, no claim left behind.
    assert_eq!(
        count(&mut db, "SELECT count(*) FROM pairs"),
        union.len() as i64
    );
    assert_eq!(
        count(&mut db, "SELECT count(DISTINCT cache_key) FROM pairs"),
        union.len() as i64
    );
    assert_eq!(count(&mut db, "SELECT count(*) FROM claims"), 0);
    // Every document complete, with the server's English.
    for (p, ks) in inputs.iter().enumerate() {
        let got = targets(&d.join(format!("out{p}.jsonl")));
        assert_eq!(got.len(), ks.len(), "process {p}");
        for ((source, target), &k) in got.iter().zip(ks) {
            assert_eq!(source, &sentence(k));
            assert_eq!(target, &Faulty::translation(source), "process {p}");
        }
    }
}

#[test]
fn a_killed_process_claims_are_taken_over_after_the_lease() {
    let Some(base) = pg_url() else { return };
    let (url, mut db) = fresh_db(&base);
    let faulty = Faulty::new(FaultyConfig {
        latency: Duration::from_millis(700),
        ..FaultyConfig::default()
    });
    let server = support::serve_in_background(faulty.handler());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_config(d, server.url(), 2, 1);
    let ks: Vec<usize> = (100..106).collect();
    write_article(&d.join("a.txt"), &ks);
    let lease = 1500;

    // A claims the six segments and sends the first two; killed while
    // that request is in flight.
    let mut a = translate(d, "a.txt", "a.jsonl", &url, lease)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while faulty.records().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(faulty.records().len(), 1, "A's first request arrived");
    a.kill().unwrap();
    a.wait().unwrap();
    let held = count(&mut db, "SELECT count(*) FROM claims WHERE expires > now()");
    assert_eq!(held, 6, "A's claims outlive it until the lease ends");
    assert_eq!(count(&mut db, "SELECT count(*) FROM pairs"), 0);

    // B wants the same segments: it waits for A's lease, then sends them.
    let t0 = Instant::now();
    let b = translate(d, "a.txt", "b.jsonl", &url, lease)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let took = t0.elapsed();
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    eprintln!("B finished {took:?} after A was killed (lease {lease} ms)");
    let got = targets(&d.join("b.jsonl"));
    assert_eq!(got.len(), 6);
    for (source, target) in &got {
        assert_eq!(target, &Faulty::translation(source));
    }
    // A's in-flight pair was sent twice (A died before storing it), every
    // other segment once; each is stored once.
    let received = faulty.received();
    let first = &faulty.records()[0].texts;
    for &k in &ks {
        let s = sentence(k);
        let expected = if first.contains(&s) { 2 } else { 1 };
        assert_eq!(received.get(&s).copied(), Some(expected), "{s}");
    }
    assert_eq!(count(&mut db, "SELECT count(*) FROM pairs"), 6);
    assert_eq!(count(&mut db, "SELECT count(*) FROM claims"), 0);
}

#[test]
fn a_desk_memory_is_migrated_from_sqlite_and_shared_at_once() {
    let Some(base) = pg_url() else { return };
    let (url, mut db) = fresh_db(&base);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A translator's SQLite memory: a human pair, imported from TMX.
    let tmx = format!(
        "<?xml version=\"1.0\"?><tmx version=\"1.4\"><header srclang=\"ar\" adminlang=\"en\" segtype=\"sentence\" datatype=\"plaintext\" o-tmf=\"x\" creationtool=\"x\" creationtoolversion=\"1\"/><body>\
         <tu><tuv xml:lang=\"ar\"><seg>{}</seg></tuv><tuv xml:lang=\"en\"><seg>The exhibition opened, edited.</seg></tuv></tu></body></tmx>",
        sentence(7)
    );
    std::fs::write(d.join("desk.tmx"), tmx).unwrap();
    let run = |args: &[&str]| {
        let out = support::tarjama_process(d).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
    };
    run(&["memory", "--memory", "mine.sqlite", "import", "desk.tmx"]);
    let said = run(&["memory", "migrate", "--from", "mine.sqlite", "--to", &url]);
    assert!(said.contains("1 pair(s) added"), "{said}");
    assert!(said.contains("tables created (schema version"), "{said}");
    // Again: nothing new.
    let said = run(&["memory", "migrate", "--from", "mine.sqlite", "--to", &url]);
    assert!(said.contains("0 pair(s) added"), "{said}");
    assert_eq!(
        count(&mut db, "SELECT count(*) FROM pairs WHERE origin = 'human'"),
        1
    );
    // A colleague's search through the shared memory finds it.
    let found = run(&["memory", "--memory", &url, "search", &sentence(7)]);
    assert!(found.contains("The exhibition opened, edited."), "{found}");
    // A database from a newer tarjama is refused.
    db.batch_execute("INSERT INTO tarjama_schema VALUES (99, 0, 'from the future')")
        .unwrap();
    let out = support::tarjama_process(d)
        .args(["memory", "--memory", &url, "stats"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("schema version 99, newer than this tarjama"),
        "{err}"
    );
}

#[test]
fn the_shared_memory_is_chosen_by_env_or_config_and_no_password_is_shown() {
    let Some(base) = pg_url() else { return };
    let (url, _db) = fresh_db(&base);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let stats = |cfg: Option<&str>, env: Option<&str>| {
        let mut c = support::tarjama_process(d);
        if let Some(cfg) = cfg {
            std::fs::write(d.join("tarjama.toml"), cfg).unwrap();
            c.args(["--config", "tarjama.toml"]);
        }
        if let Some(e) = env {
            c.env("TARJAMA_MEMORY_URL", e);
        }
        c.args(["memory", "stats"]).output().unwrap()
    };
    // An empty database is not a memory yet: the message names the URL.
    let out = stats(None, Some(&url));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("holds no translation memory yet"), "{err}");
    assert!(err.contains(&base), "{err}");
    let out = stats(Some(&format!("[memory]\nurl = \"{url}\"\n")), None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("holds no translation memory yet"), "{err}");
    // A password in the URL is refused and not echoed.
    let with_pw = base.replacen("://", "://tarjama:hunter2@", 1);
    let with_pw = with_pw.replacen("tarjama@", "", 1);
    let out = stats(None, Some(&with_pw));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("PGPASSWORD"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn a_pending_re_request_is_claimed_so_two_processes_send_it_once() {
    let Some(base) = pg_url() else { return };
    let (url, mut db) = fresh_db(&base);
    let (llm, server) = crate::memory::llm::Llm::start();
    // Eight sentences, every other one naming Baghdad, which is pinned.
    let n = 8;
    let dir = crate::memory::project(
        server.url(),
        n,
        true,
        "batch_size = 2\nconcurrency = 2\ntimeout_secs = 20\n",
    );
    let d = dir.path();
    // A first run: each answer naming Baghdad misses it and is re-requested.
    let out = translate(d, "article.txt", "first.jsonl", &url, 3000)
        .output()
        .unwrap();
    crate::support::assert_success(&out);
    // Each segment sent, those naming Baghdad again with the term insisted on.
    assert_eq!(llm.segments(), n + n / 2);
    assert!((llm.rerequests() as u64) >= 1);
    // As a run killed before its re-requests left them: pending.
    db.batch_execute("UPDATE pairs SET pending = true WHERE source LIKE '%بغداد%'")
        .unwrap();
    let (requests, rerequests, segments) =
        (llm.requests(), (llm.rerequests() as u64), llm.segments());
    *llm.rerequest_delay.lock().unwrap() = Duration::from_millis(900);
    // Two processes find the same pending answers at once.
    let children: Vec<Child> = ["x", "y"]
        .iter()
        .map(|p| {
            translate(d, "article.txt", &format!("{p}.jsonl"), &url, 3000)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for out in wait_all(children) {
        crate::support::assert_success(&out);
    }
    // Each re-request went out once, whichever process sent it; nothing
    // else was sent.
    assert_eq!(llm.segments() - segments, n / 2);
    assert_eq!(
        llm.requests() - requests,
        (llm.rerequests() as u64) - rerequests
    );
    assert_eq!(
        count(&mut db, "SELECT count(*) FROM pairs WHERE pending"),
        0
    );
    assert_eq!(count(&mut db, "SELECT count(*) FROM pairs"), n as i64);
    assert_eq!(count(&mut db, "SELECT count(*) FROM claims"), 0);
    // Both documents have the final English, with the pinned name.
    for p in ["x", "y"] {
        let got = targets(&d.join(format!("{p}.jsonl")));
        assert_eq!(got.len(), n, "{p}");
        for (source, target) in got {
            assert_eq!(
                source.contains("بغداد"),
                target.contains("(Baghdad)"),
                "{p}: {target}"
            );
        }
    }
}

#[test]
fn memory_migrate_keeps_each_pairs_dates_and_provenance() {
    let Some(base) = pg_url() else { return };
    let (url, mut db) = fresh_db(&base);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A desk's SQLite memory from 2021 and 2022: a machine pair under a
    // cache key, a pending one, a reviewed and a human one.
    let sqlite = d.join("old.sqlite");
    support::tarjama(d)
        .args(["memory", "--memory", "old.sqlite", "stats"])
        .assert()
        .failure();
    {
        // Created by the binary, then dated by hand.
        let tmx = format!(
            "<?xml version=\"1.0\"?><tmx version=\"1.4\"><header srclang=\"ar\" adminlang=\"en\" segtype=\"sentence\" datatype=\"plaintext\" o-tmf=\"x\" creationtool=\"x\" creationtoolversion=\"1\"/><body>\
             <tu creationdate=\"20210301T100000Z\" changedate=\"20220115T120000Z\"><prop type=\"x-origin\">human</prop><tuv xml:lang=\"ar\"><seg>{}</seg></tuv><tuv xml:lang=\"en\"><seg>A human English.</seg></tuv></tu>\
             <tu creationdate=\"20210302T100000Z\"><prop type=\"x-origin\">reviewed</prop><tuv xml:lang=\"ar\"><seg>{}</seg></tuv><tuv xml:lang=\"en\"><seg>A reviewed English.</seg></tuv></tu>\
             </body></tmx>",
            sentence(1),
            sentence(2)
        );
        std::fs::write(d.join("old.tmx"), tmx).unwrap();
        support::tarjama(d)
            .args(["memory", "--memory", "old.sqlite", "import", "old.tmx"])
            .assert()
            .success();
        let c = rusqlite::Connection::open(&sqlite).unwrap();
        c.execute_batch(&format!(
            "INSERT INTO sources (norm, ntokens) VALUES ('{n3}', 1), ('{n4}', 1);
             INSERT INTO pairs (source_id, cache_key, source, target, origin, backend, model, created, updated, pending, document)
               SELECT id, 'key-3', '{s3}', 'A machine English.', 'mt', 'llm', 'm1', 1600000000, 1610000000, 0, '/news/a.txt' FROM sources WHERE norm = '{n3}';
             INSERT INTO pairs (source_id, cache_key, source, target, origin, backend, model, created, updated, pending, document)
               SELECT id, 'key-4', '{s4}', 'A first draft.', 'mt', 'llm', 'm1', 1600000100, 1600000200, 1, NULL FROM sources WHERE norm = '{n4}';
             UPDATE pairs SET created = 1614592800, updated = 1642248000 WHERE origin = 'human';
             UPDATE pairs SET created = 1614679200, updated = 1614679300 WHERE origin = 'reviewed';",
            n3 = tarjama::memory::normalize_key(&sentence(3)),
            n4 = tarjama::memory::normalize_key(&sentence(4)),
            s3 = sentence(3),
            s4 = sentence(4),
        ))
        .unwrap();
    }
    type Row = (
        String,
        String,
        i64,
        i64,
        bool,
        Option<String>,
        Option<String>,
    );
    let rows_of = |db: &mut postgres::Client| -> Vec<Row> {
        db.query(
            "SELECT origin, target, created, updated, pending, model, document FROM pairs ORDER BY created",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6)))
        .collect()
    };
    let expected: Vec<Row> = vec![
        (
            "mt".into(),
            "A machine English.".into(),
            1600000000,
            1610000000,
            false,
            Some("m1".into()),
            Some("/news/a.txt".into()),
        ),
        (
            "mt".into(),
            "A first draft.".into(),
            1600000100,
            1600000200,
            true,
            Some("m1".into()),
            None,
        ),
        (
            "human".into(),
            "A human English.".into(),
            1614592800,
            1642248000,
            false,
            None,
            None,
        ),
        (
            "reviewed".into(),
            "A reviewed English.".into(),
            1614679200,
            1614679300,
            false,
            None,
            None,
        ),
    ];
    for round in 0..2 {
        support::tarjama(d)
            .args(["memory", "migrate", "--from", "old.sqlite", "--to", &url])
            .assert()
            .success();
        // The dates are the pairs' own, not the migration's; a second
        // migration changes nothing.
        assert_eq!(rows_of(&mut db), expected, "round {round}");
    }
    // The machine pair keeps its cache key: a look-up under it finds it.
    assert_eq!(
        count(
            &mut db,
            "SELECT count(*) FROM pairs WHERE cache_key IN ('key-3', 'key-4')"
        ),
        2
    );
    // And back into a new SQLite file: the same dates.
    support::tarjama(d)
        .args(["memory", "migrate", "--from", &url, "--to", "back.sqlite"])
        .assert()
        .success();
    let c = rusqlite::Connection::open(d.join("back.sqlite")).unwrap();
    let mut st = c
        .prepare("SELECT origin, created, updated, pending FROM pairs ORDER BY created")
        .unwrap();
    let back: Vec<(String, i64, i64, bool)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        back,
        expected
            .iter()
            .map(|e| (e.0.clone(), e.2, e.3, e.4))
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_reviewers_edit_on_one_desk_is_the_next_look_up_of_another() {
    let Some(base) = pg_url() else { return };
    let (url, _db) = fresh_db(&base);
    let faulty = Faulty::new(FaultyConfig::default());
    let server = support::serve_in_background(faulty.handler());
    let one = tempfile::tempdir().unwrap();
    let two = tempfile::tempdir().unwrap();
    let (d1, d2) = (one.path(), two.path());
    let ks: Vec<usize> = (200..204).collect();
    for d in [d1, d2] {
        write_article(&d.join("a.txt"), &ks);
    }
    write_config(d1, server.url(), 4, 1);
    // The second desk uses another model: no machine answer of the first
    // is its answer, but a human translation is everyone's.
    write_config(d2, server.url(), 4, 1);
    let cfg = std::fs::read_to_string(d2.join("tarjama.toml")).unwrap();
    std::fs::write(
        d2.join("tarjama.toml"),
        cfg.replace("model = \"m\"", "model = \"other\""),
    )
    .unwrap();

    let run = |d: &Path, args: &[&str]| {
        let out = support::tarjama(d).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    run(
        d1,
        &[
            "--config",
            "tarjama.toml",
            "translate",
            "a.txt",
            "-o",
            "draft.jsonl",
            "--memory",
            &url,
        ],
    );
    run(d1, &["render", "draft.jsonl", "-o", "review.tsv", "-q"]);
    // The reviewer rewrites the second sentence and stores the review.
    let tsv = std::fs::read_to_string(d1.join("review.tsv")).unwrap();
    let edited: String = tsv
        .lines()
        .map(|l| {
            let mut cells: Vec<String> = l.split('\t').map(str::to_string).collect();
            if cells.first().is_some_and(|c| c == "p2s1") && cells.len() > 5 {
                cells[5] = "The second exhibition opened, as the editor wrote it.".into();
            }
            cells.join("\t") + "\n"
        })
        .collect();
    std::fs::write(d1.join("review.tsv"), edited).unwrap();
    let said = run(
        d1,
        &[
            "render",
            "review.tsv",
            "--against",
            "draft.jsonl",
            "--update-memory",
            "--memory",
            &url,
            "-o",
            "final.txt",
        ],
    );
    assert!(said.contains("1 human translation(s) stored"), "{said}");
    let sent_before = faulty.received();
    assert_eq!(sent_before.get(&sentence(201)), Some(&1));

    // Another translator, another process, another folder and model.
    run(
        d2,
        &[
            "--config",
            "tarjama.toml",
            "translate",
            "a.txt",
            "-o",
            "b.jsonl",
            "--memory",
            &url,
        ],
    );
    let rows: Vec<Value> = std::fs::read_to_string(d2.join("b.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &Value| v.get("type").is_none_or(|t| t != "header"))
        .collect();
    assert_eq!(rows.len(), ks.len());
    assert_eq!(
        rows[1]["target"],
        "The second exhibition opened, as the editor wrote it."
    );
    assert_eq!(rows[1]["origin"], "human");
    // The edited sentence was not sent again; the others were (new model).
    let sent = faulty.received();
    assert_eq!(sent.get(&sentence(201)), Some(&1));
    for k in [200, 202, 203] {
        assert_eq!(sent.get(&sentence(k)), Some(&2), "sentence {k}");
    }
    for (i, r) in rows.iter().enumerate() {
        if i != 1 {
            assert_eq!(r["origin"], "mt", "{r}");
        }
    }
}
