//! Resilience of `tarjama translate`, through the real binary, against the
//! fault-injecting server of `tests/it/support/faulty.rs`:
//! - a 1,000-segment job with 30% of requests answered by a fault (429 with
//!   and without Retry-After, 500, 503, an answer slower than the timeout, a
//!   dropped connection, an HTML page, truncated JSON, a missing
//!   translation): every segment ends translated exactly once, in order, and
//!   the summary's request and retry counts match the server's log;
//! - SIGKILL at 10 random moments of one job (seeded; the seed is printed,
//!   `TARJAMA_SEED=N` replays it), rerunning after each: the memory passes
//!   `PRAGMA integrity_check` after every kill, the final output equals an
//!   uninterrupted run's, and no segment reached the server more than
//!   1 + (the number of kills that caught it in flight) times.
//!
//! `TARJAMA_LONG_TESTS=1` runs larger jobs and more kills.

use crate::support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::Record;
use support::faulty::{FaultKind, Faulty, FaultyConfig};
use tarjama::segment::{SegmentOptions, Segmenter};

fn long() -> bool {
    std::env::var("TARJAMA_LONG_TESTS").is_ok_and(|v| v == "1")
}

const PLACES: &[&str] = &[
    "بغداد",
    "دمشق",
    "عمان",
    "بيروت",
    "القاهرة",
    "تونس",
    "الرباط",
];
const TOPICS: &[&str] = &[
    "الاقتصاد",
    "الانتخابات",
    "المياه",
    "الطاقة",
    "التعليم",
    "الصحة",
    "النقل",
];

/// An article of `n` distinct one-sentence paragraphs.
fn article(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "ناقش المجلس في {} ملف {} في الجلسة رقم {} وأقر {} توصيات.\n\n",
            PLACES[i % PLACES.len()],
            TOPICS[(i / 7) % TOPICS.len()],
            i + 1,
            i % 13 + 2
        ));
    }
    let segs = Segmenter::default().segment(&s, SegmentOptions::default());
    assert_eq!(segs.len(), n, "the generated article segments as planned");
    s
}

struct Job {
    dir: tempfile::TempDir,
}

impl Job {
    /// A project with `article.txt` of `n` segments and a config for `url`.
    fn new(url: &str, n: usize, backend: &str) -> Job {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("article.txt"), article(n)).unwrap();
        std::fs::write(
            dir.path().join("tarjama.toml"),
            format!(
                "default_backend = \"faulty\"\n[backends.faulty]\nurl = \"{url}/v1\"\n{backend}"
            ),
        )
        .unwrap();
        Job { dir }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn command(&self, out: &str, memory: &str) -> Command {
        let d = self.dir.path();
        let mut c = crate::support::tarjama_process(d);
        c.args(["--config", "tarjama.toml", "translate", "article.txt", "-o"])
            .arg(out)
            .arg("--memory")
            .arg(memory)
            .stdin(Stdio::null());
        c
    }
}

/// The segment lines of a JSONL output (header skipped).
fn pairs(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v.get("type").is_none_or(|t| t != "header"))
        .collect()
}

/// Every segment present once, in document order, translated as the server
/// translates it.
fn assert_all_translated_once(pairs: &[Value], n: usize) {
    assert_eq!(pairs.len(), n, "one line per segment");
    for (i, p) in pairs.iter().enumerate() {
        assert_eq!(p["id"], format!("p{}s1", i + 1), "order at line {i}");
        let source = p["source"].as_str().unwrap();
        assert!(
            source.contains(&format!("رقم {} ", i + 1)),
            "line {i}: {source}"
        );
        assert_eq!(
            p["target"].as_str(),
            Some(Faulty::translation(source).as_str()),
            "segment {} (origin {}, warnings {})",
            p["id"],
            p["origin"],
            p["warnings"]
        );
    }
}

/// (requests, retries) from the summary line on stderr.
fn summary_counts(stderr: &str) -> (u64, u64) {
    let num_before = |word: &str| -> u64 {
        let at = stderr
            .find(word)
            .unwrap_or_else(|| panic!("no {word:?} in the summary:\n{stderr}"));
        let digits: String = stderr[..at]
            .trim_end()
            .chars()
            .rev()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.chars().rev().collect::<String>().parse().unwrap()
    };
    (num_before(" requests"), num_before(" retries"))
}

/// The same segments sent again: requests whose texts equal an earlier
/// request's (a split batch is a new set).
fn resent(records: &[Record]) -> u64 {
    let mut seen = std::collections::HashSet::new();
    records
        .iter()
        .filter(|r| !seen.insert(r.texts.clone()))
        .count() as u64
}

fn seed() -> u64 {
    let s = std::env::var("TARJAMA_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                % 1_000_000
        });
    eprintln!("seed {s} (TARJAMA_SEED={s} replays it)");
    s
}

#[test]
fn thirty_percent_faults_every_segment_translated_once_and_retries_match_the_log() {
    let n = if long() { 5000 } else { 1000 };
    let seed = seed();
    let faulty = Faulty::new(FaultyConfig {
        latency: Duration::from_millis(2),
        fault_rate: 0.3,
        faults: FaultKind::ALL.to_vec(),
        slow: Duration::from_millis(1500),
        retry_after_secs: 1,
        seed,
        ..FaultyConfig::default()
    });
    let server = support::serve_in_background(faulty.handler());
    // Short timeout, small backoff, Retry-After capped at 50 ms: fast for CI.
    let job = Job::new(
        server.url(),
        n,
        "kind = \"openai\"\nmodel = \"m\"\nbatch_size = 10\nconcurrency = 4\n\
         timeout_secs = 0.5\ntimeout_ms_per_char = 0\nmax_retries = 10\nretry_base_ms = 5\nretry_max_secs = 0.05\n",
    );
    let mut runs = 0;
    loop {
        runs += 1;
        let before = faulty.records().len();
        let out = job
            .command("out.jsonl", "tm.sqlite")
            .output()
            .expect("running tarjama");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code();
        assert!(
            code == Some(0) || code == Some(3),
            "exit {code:?}:\n{stderr}"
        );
        let records = &faulty.records()[before..];
        let (requests, retries) = summary_counts(&stderr);
        let faults = records.iter().filter(|r| r.fault.is_some()).count();
        eprintln!(
            "run {runs}: {} requests, {faults} faults ({:?}), summary: {requests} requests, {retries} retries",
            records.len(),
            faulty.summary().by_kind
        );
        assert_eq!(requests, records.len() as u64, "requests:\n{stderr}");
        assert_eq!(retries, resent(records), "retries:\n{stderr}");
        if code == Some(0) {
            break;
        }
        // A segment that failed every attempt is in the output untranslated
        // with its reason; a rerun fills it in.
        assert!(runs < 3, "still partial after {runs} runs:\n{stderr}");
    }
    let s = faulty.summary();
    assert!(
        s.faults as f64 >= 0.15 * s.requests as f64,
        "the server injected faults: {s:?}"
    );
    assert!(
        s.by_kind.len() >= 8,
        "most kinds of fault happened: {:?}",
        s.by_kind
    );
    assert_all_translated_once(&pairs(&job.path("out.jsonl")), n);
}

fn integrity_check(db: &Path) {
    let c = rusqlite::Connection::open(db).unwrap();
    let r: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(r, "ok", "{}", db.display());
}

#[test]
fn sigkill_at_random_moments_then_resume_gives_the_uninterrupted_output() {
    let (n, kills) = if long() { (2000, 30) } else { (200, 10) };
    let seed = seed();
    let mut rng = fastrand::Rng::with_seed(seed);
    let faulty = Faulty::new(FaultyConfig {
        latency: Duration::from_millis(60),
        ..FaultyConfig::default()
    });
    let server = support::serve_in_background(faulty.handler());
    let job = Job::new(
        server.url(),
        n,
        "kind = \"openai\"\nmodel = \"m\"\nbatch_size = 4\nconcurrency = 2\n\
         timeout_secs = 10\nmax_retries = 2\nretry_base_ms = 5\n",
    );

    // The reference: one uninterrupted run with its own memory.
    let t0 = Instant::now();
    let st = job
        .command("reference.jsonl", "reference.sqlite")
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let uninterrupted = t0.elapsed();
    let reference = pairs(&job.path("reference.jsonl"));
    assert_all_translated_once(&reference, n);
    faulty.clear();

    // Kill moments: a random time after the run's first request reaches
    // the server (or during start-up, one time in five), spread so that
    // the job advances through all of them.
    let span = uninterrupted.as_millis() as u64 * 6 / 5 / kills;
    let mut caught: HashMap<String, usize> = HashMap::new();
    for k in 0..kills {
        let at = Duration::from_millis(rng.u64(0..=span.max(1)));
        let during_startup = rng.u8(0..5) == 0;
        let started_before = faulty.records().len();
        let mut child = job
            .command("out.jsonl", "tm.sqlite")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if !during_startup {
            let deadline = Instant::now() + Duration::from_secs(30);
            while faulty.records().len() == started_before
                && Instant::now() < deadline
                && child.try_wait().unwrap().is_none()
            {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        std::thread::sleep(at);
        child.kill().unwrap(); // SIGKILL
        let killed = Instant::now();
        let status = child.wait().unwrap();
        integrity_check(&job.path("tm.sqlite"));
        // Requests of this run that the client may not have stored: not
        // answered before the kill, or answered just before it (the commit
        // follows the answer).
        let grace = Duration::from_millis(100);
        let records = faulty.records();
        let mut in_flight = 0;
        for r in &records[started_before..] {
            let stored = r.answered.is_some_and(|a| a + grace < killed);
            if !stored {
                in_flight += 1;
                for t in &r.texts {
                    *caught.entry(t.clone()).or_insert(0) += 1;
                }
            }
        }
        eprintln!(
            "kill {k}: {at:?} after {} ({status}), {} requests in that run, {in_flight} possibly in flight",
            if during_startup {
                "the start"
            } else {
                "the first request"
            },
            records.len() - started_before
        );
    }
    // Resume to the end.
    let out = job.command("out.jsonl", "tm.sqlite").output().unwrap();
    crate::support::assert_success(&out);
    integrity_check(&job.path("tm.sqlite"));
    let resumed = pairs(&job.path("out.jsonl"));
    assert_all_translated_once(&resumed, n);
    for (a, b) in reference.iter().zip(&resumed) {
        for k in ["id", "para", "source", "target", "terms", "start", "end"] {
            assert_eq!(a[k], b[k], "{k} of {}", a["id"]);
        }
        assert!(
            b["origin"] == "mt" || b["origin"] == "memory",
            "{}",
            b["origin"]
        );
    }
    // Nothing stored was sent again.
    let received = faulty.received();
    assert_eq!(received.len(), n, "every segment reached the server");
    for (text, count) in &received {
        let limit = 1 + caught.get(text).copied().unwrap_or(0);
        assert!(
            *count <= limit,
            "{text:?} received {count} times, at most {limit} expected"
        );
    }
}

#[test]
fn a_folder_of_short_articles_shares_requests_and_keeps_the_endpoint_busy() {
    // Each article (3 segments) fits in one part-full request of 8: batched
    // article by article, the folder would take 24 requests and one
    // document at a time would never have more than one in flight.
    let faulty = Faulty::new(FaultyConfig {
        latency: Duration::from_millis(40),
        ..FaultyConfig::default()
    });
    let server = support::serve_in_background(faulty.handler());
    let job = Job::new(
        server.url(),
        3,
        "kind = \"openai\"\nmodel = \"m\"\nbatch_size = 8\nconcurrency = 4\ntimeout_secs = 10\n",
    );
    let d = job.dir.path();
    std::fs::create_dir(d.join("in")).unwrap();
    let n_docs = 24;
    for k in 0..n_docs {
        let text: String = (0..3)
            .map(|i| format!("افتتح المعرض رقم {k} في القاعة {i} أمس.\n\n"))
            .collect();
        std::fs::write(d.join(format!("in/a{k:02}.txt")), text).unwrap();
    }
    let out = crate::support::tarjama_process(d)
        .args([
            "--config",
            "tarjama.toml",
            "translate",
            "in",
            "-o",
            "out",
            "--memory",
            "tm.sqlite",
        ])
        .output()
        .unwrap();
    crate::support::assert_success(&out);
    let s = faulty.summary();
    // Batches are filled across articles: 72 segments, 8 a request, as few
    // as 9 requests (a part-full one only when the endpoint would idle).
    let ideal = (n_docs * 3_usize).div_ceil(8) as u64;
    assert!(
        s.requests >= ideal && s.requests < n_docs as u64,
        "fewer requests than one per article: {} (ideal {ideal}, per article {n_docs})",
        s.requests
    );
    eprintln!(
        "{} requests for {n_docs} articles (ideal {ideal})",
        s.requests
    );
    assert!(
        s.max_in_flight > 1 && s.max_in_flight <= 4,
        "articles overlap within the configured concurrency: {s:?}"
    );
    for k in 0..n_docs {
        let pairs = pairs(&d.join(format!("out/a{k:02}.jsonl")));
        assert_eq!(pairs.len(), 3);
        for (i, p) in pairs.iter().enumerate() {
            let source = p["source"].as_str().unwrap();
            assert!(
                source.contains(&format!("رقم {k} في القاعة {i} ")),
                "{source}"
            );
            assert_eq!(
                p["target"].as_str(),
                Some(Faulty::translation(source).as_str())
            );
        }
    }
}

#[test]
fn connections_sharing_the_memory_wait_for_each_other_instead_of_failing() {
    use tarjama::memory::{Memory, MtEntry};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tm.sqlite");
    drop(Memory::open(&path).unwrap());
    std::thread::scope(|s| {
        for t in 0..4 {
            let path = &path;
            s.spawn(move || {
                let mut m = Memory::open(path).unwrap();
                for b in 0..50 {
                    let entries: Vec<MtEntry> = (0..5)
                        .map(|i| MtEntry {
                            key: format!("k{t}-{b}-{i}"),
                            source: format!("جملة {t} {b} {i} في الخبر"),
                            target: format!("sentence {t} {b} {i}"),
                            backend: "b".into(),
                            model: None,
                            pending: false,
                            document: None,
                        })
                        .collect();
                    m.store_mt(&entries)
                        .unwrap_or_else(|e| panic!("writer {t}, batch {b}: {e}"));
                }
            });
        }
    });
    integrity_check(&path);
}
