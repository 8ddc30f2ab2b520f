//! `tarjama translate` end to end through the real binary, against the one
//! OpenAI-compatible fake of `support`, on 127.0.0.1, set up here to
//! translate deterministically, render a pinned term only when the term's
//! Arabic stands in the segment word for word (as a weak model might), log
//! every segment it receives, and be slowed down or made to refuse one
//! segment.

use crate::support::tarjama;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tarjama::memory::Memory;

use crate::support;

const SEED: &str = "seeds/2024-10-04-russia-taliban.ar.txt";

/// A stable, Arabic-free rendering of `ar`.
fn fake_english(ar: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in ar.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    format!(
        "English {:016x} ({} words)",
        h,
        ar.split_whitespace().count()
    )
}

fn words(ar: &str) -> Vec<&str> {
    ar.split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .collect()
}

/// The `- "ar" => "en"` lines of the system prompt.
fn prompt_terms(system: &str) -> Vec<(String, String)> {
    system
        .lines()
        .filter_map(|l| {
            let l = l.strip_prefix("- ")?;
            let (a, e) = l.split_once(" => ")?;
            Some((serde_json::from_str(a).ok()?, serde_json::from_str(e).ok()?))
        })
        .collect()
}

/// The one fake (`support::Fake`) as these runs want it: a stable,
/// Arabic-free English per segment, with each pinned term of the system
/// prompt rendered only when its Arabic stands in the segment word for word
/// (as a weak model might), and a moderation filter that refuses (400) a
/// batch holding the poisoned text.
fn fake() -> Arc<support::Fake> {
    let fake = support::Fake::new();
    fake.set_translate(|a| {
        let mut en = fake_english(&a.ar);
        for (term, e) in prompt_terms(&a.system) {
            // as many times as the term stands in the Arabic
            let stands = if term.contains(' ') {
                a.ar.matches(term.as_str()).count()
            } else {
                // the dictionary form only, like a weak model
                words(&a.ar).iter().filter(|w| **w == term.as_str()).count()
            };
            for _ in 0..stands {
                en.push_str(&format!("; {e}"));
            }
        }
        en
    });
    *fake.poison_reply.lock().unwrap() = (400, "input rejected by the moderation filter".into());
    fake
}

/// Serve `fake` on its own thread: the server (stopped when dropped) and
/// its base URL.
fn start(fake: &Arc<support::Fake>) -> (support::BackgroundServer, String) {
    let server = support::serve_in_background(fake.handler());
    let url = format!("{}/v1", server.url());
    (server, url)
}

/// Every segment text the fake received, in order of arrival.
fn received(fake: &support::Fake) -> Vec<String> {
    fake.log.segments.lock().unwrap().clone()
}

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

fn read_jsonl(path: &Path) -> (Value, Vec<Value>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap());
    let header = lines.next().unwrap();
    (header, lines.collect())
}

/// A segment as it is sent: on one line, white space folded.
fn flat(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn targets(rows: &[Value]) -> Vec<Value> {
    rows.iter().map(|r| r["target"].clone()).collect()
}

#[test]
fn offline_mode_marks_segments_and_shows_memory_and_glossary() {
    let dir = project(None, "", 0);
    let d = dir.path();
    let out = tarjama(d)
        .args([
            "translate",
            "article.txt",
            "--memory",
            "tm.sqlite",
            "--glossary",
            "glossary.tsv",
        ])
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
        assert!(row["warnings"][0].as_str().unwrap().contains("offline run"));
        for k in ["id", "para", "source", "terms", "start", "end"] {
            assert!(row.get(k).is_some(), "{k} missing in {row}");
        }
    }
    assert_eq!(lines[1]["id"], "p1s1");
    // Glossary hits are there offline, unchecked.
    let t = &lines[1]["terms"][0];
    assert_eq!(
        (t["source"].as_str(), t["target"].as_str()),
        (Some("طالبان"), Some("the Taliban"))
    );
    assert_eq!(t["honoured"], Value::Null);
    assert_eq!(lines[0]["glossary_hash"].as_str().map(str::len), Some(64));

    // A human translation in the memory shows up offline, and a close one
    // (one word changed in the longest segment) as a suggestion.
    let seg = lines[1]["source"].as_str().unwrap();
    let longest = lines[1..]
        .iter()
        .max_by_key(|r| r["source"].as_str().unwrap().len())
        .unwrap();
    let mut words: Vec<&str> = longest["source"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .collect();
    words[2] = "كلمة";
    let near = words.join(" ");
    let tmx = format!(
        "<tmx version=\"1.4\"><header srclang=\"ar\"/><body><tu><tuv xml:lang=\"ar\"><seg>{seg}</seg></tuv>\
         <tuv xml:lang=\"en\"><seg>Russia and the Taliban discuss bilateral cooperation</seg></tuv></tu>\
         <tu><tuv xml:lang=\"ar\"><seg>{near}</seg></tuv><tuv xml:lang=\"en\"><seg>Near translation</seg></tuv></tu></body></tmx>"
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
    let r = rows.iter().find(|r| r["id"] == longest["id"]).unwrap();
    assert_eq!(r["target"], Value::Null);
    let sug = &r["suggestions"][0];
    assert_eq!(sug["target"], "Near translation");
    assert_eq!(sug["origin"], "human");
    assert!(sug["score"].as_u64().unwrap() >= 90, "{sug}");
    // Segments with nothing close carry no suggestions.
    assert!(rows[1].get("suggestions").is_none());
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
            "x.pdf",
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

#[test]
fn full_article_then_a_rerun_sends_nothing() {
    let fake = fake();
    let (_server, url) = start(&fake);
    let dir = project(Some(&url), "m1", 4);
    let d = dir.path();
    tarjama(d)
        .args(["translate", "article.txt", "-o", "out.jsonl"])
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "19 segments: 0 from memory, 19 sent",
        ));
    let (header, rows) = read_jsonl(&d.join("out.jsonl"));
    assert_eq!(header["type"], "header");
    assert_eq!(header["backend"], "fake");
    assert_eq!(header["model"], "m1");
    assert_eq!(header["summary"]["segments"], 19);
    assert_eq!(header["summary"]["sent"], 19);
    assert_eq!(
        header["summary"]["requests"], 5,
        "19 segments in batches of 4"
    );
    assert_eq!(rows.len(), 19);
    for r in &rows {
        assert_eq!(r["origin"], "mt");
        let src = r["source"].as_str().unwrap();
        assert_eq!(r["target"].as_str().unwrap(), fake_english(&flat(src)));
        assert_eq!(r["warnings"], json!([]));
    }
    assert_eq!(received(&fake).len(), 19);

    // The same command again: nothing is sent, the same English comes out.
    let before = fake.log.count();
    tarjama(d)
        .args(["translate", "article.txt", "-o", "out2.jsonl"])
        .assert()
        .success()
        .stderr(predicates::str::contains("19 from memory, 0 sent"));
    assert_eq!(fake.log.count(), before, "rerun sent requests");
    let (h2, rows2) = read_jsonl(&d.join("out2.jsonl"));
    assert_eq!(targets(&rows), targets(&rows2));
    assert_eq!(h2["summary"]["from_memory"], 19);
    assert!(rows2.iter().all(|r| r["origin"] == "memory"));

    // A changed model re-translates everything; stdout carries the JSONL.
    let cfg = std::fs::read_to_string(d.join("tarjama.toml")).unwrap();
    std::fs::write(d.join("tarjama.toml"), cfg.replace("\"m1\"", "\"m2\"")).unwrap();
    let out = tarjama(d)
        .args(["translate", "article.txt", "-q"])
        .assert()
        .success()
        .stderr("")
        .get_output()
        .stdout
        .clone();
    assert_eq!(received(&fake).len(), 38);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 20);
}

#[test]
fn dry_run_counts_what_would_be_sent() {
    let fake = fake();
    let (_server, url) = start(&fake);
    let dir = project(Some(&url), "m1", 4);
    let d = dir.path();
    tarjama(d)
        .args(["translate", "article.txt", "--dry-run"])
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "19 segments, 0 from memory, 19 to send",
        ))
        .stdout(predicates::str::contains(
            "in 5 requests to fake (openai, model m1)",
        ));
    assert_eq!(fake.log.count(), 0);
}

/// Input the server refuses (HTTP 400 for a single segment) is an error a
/// rerun cannot fix: exit 1 with the setting to change; the rest is
/// translated and stored, and once the cause is fixed a rerun sends only
/// the refused segments.
#[test]
fn refused_input_exits_1_with_a_hint_and_a_rerun_fills_in_once_fixed() {
    let fake = fake();
    *fake.poison.lock().unwrap() = Some("باميان".into());
    let (_server, url) = start(&fake);
    let dir = project(Some(&url), "m1", 4);
    let d = dir.path();
    let assert = tarjama(d)
        .args(["translate", "article.txt", "-o", "out.jsonl"])
        .assert()
        .code(1);
    let err = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(err.contains("failed p"), "{err}");
    assert!(
        err.contains("lower `batch_size` in [backends.fake]"),
        "{err}"
    );
    assert!(!err.contains("rerun the same command"), "{err}");
    let (header, rows) = read_jsonl(&d.join("out.jsonl"));
    let failed: Vec<&Value> = rows.iter().filter(|r| r["target"].is_null()).collect();
    assert!(!failed.is_empty());
    assert_eq!(header["summary"]["failed"], failed.len());
    for r in &failed {
        assert!(r["source"].as_str().unwrap().contains("باميان"));
        assert_eq!(r["origin"], "none");
        let w = r["warnings"][0].as_str().unwrap();
        assert!(w.starts_with("not translated:") && w.contains("400"), "{w}");
    }
    // Everything else is translated and stored.
    assert_eq!(
        rows.iter().filter(|r| r["origin"] == "mt").count(),
        19 - failed.len()
    );

    // The server is fixed: a rerun sends only the failed segments.
    *fake.poison.lock().unwrap() = None;
    let before = received(&fake).len();
    tarjama(d)
        .args(["translate", "article.txt", "-o", "out.jsonl", "-q"])
        .assert()
        .success();
    let resent = &received(&fake)[before..];
    let mut expected: Vec<String> = failed
        .iter()
        .map(|r| flat(r["source"].as_str().unwrap()))
        .collect();
    let mut got = resent.to_vec();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    let (_, rows) = read_jsonl(&d.join("out.jsonl"));
    assert!(rows.iter().all(|r| !r["target"].is_null()));
}

#[test]
fn killed_mid_way_then_resumed_sends_each_segment_once_apart_from_in_flight() {
    let fake = fake();
    fake.set_latency(Duration::from_millis(150));
    let (_server, url) = start(&fake);
    let dir = project(Some(&url), "m1", 2);
    let d = dir.path();
    let mut child = support::tarjama_process(d)
        .args(["translate", "article.txt", "-o", "out.jsonl"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill once a few batches have been received (some answered, some in
    // flight).
    let t0 = std::time::Instant::now();
    while received(&fake).len() < 8 && t0.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // A request written just before the kill may still be on its way into
    // the server's log: let it land before taking the count.
    std::thread::sleep(Duration::from_millis(500));
    let first = received(&fake);
    assert!(
        first.len() >= 8 && first.len() < 19,
        "killed too late: {}",
        first.len()
    );
    assert!(!d.join("out.jsonl").exists(), "no half-written output");
    let m = Memory::open(&d.join("tm.sqlite")).unwrap();
    assert_eq!(m.integrity_check().unwrap(), Ok(()));
    let stored = m.stats().unwrap().pairs;
    drop(m);

    tarjama(d)
        .args(["translate", "article.txt", "-o", "out.jsonl", "-q"])
        .assert()
        .success();
    let all = received(&fake);
    let mut counts: std::collections::HashMap<&str, usize> = Default::default();
    for s in &all {
        *counts.entry(s.as_str()).or_default() += 1;
    }
    assert_eq!(counts.len(), 19, "every segment was sent");
    let twice = counts.values().filter(|&&n| n == 2).count();
    assert!(counts.values().all(|&n| n <= 2), "{counts:?}");
    // Only what was sent but not stored before the kill is sent again: the
    // batches in flight (concurrency 2 × batch size 2), plus, on a loaded
    // machine, answers that had arrived but were still queued for their
    // commit (at most one more round of batches).
    assert_eq!(twice, first.len() - stored, "re-sent = received - stored");
    assert!(twice <= 8, "{twice} segments sent twice");

    // Same output as an uninterrupted run (fresh memory).
    let (_, resumed) = read_jsonl(&d.join("out.jsonl"));
    tarjama(d)
        .args([
            "translate",
            "article.txt",
            "--memory",
            "fresh.sqlite",
            "-o",
            "clean.jsonl",
            "-q",
        ])
        .assert()
        .success();
    let (_, clean) = read_jsonl(&d.join("clean.jsonl"));
    assert_eq!(targets(&resumed), targets(&clean));
}

#[test]
fn terms_go_in_the_prompt_and_a_miss_is_re_requested_once() {
    let fake = fake();
    let (_server, url) = start(&fake);
    let dir = project(Some(&url), "m1", 4);
    let d = dir.path();
    tarjama(d)
        .args([
            "translate",
            "article.txt",
            "--glossary",
            "glossary.tsv",
            "-o",
            "out.jsonl",
        ])
        .assert()
        .success();
    let systems = fake.log.systems();
    assert!(
        systems
            .iter()
            .any(|s| s.contains("\"طالبان\" => \"the Taliban\"")),
        "pinned terms are in the prompt"
    );
    // p1s1 has وطالبان: the server (like a weak model) misses the term when
    // asked with the dictionary form only; the re-request names the word as
    // it stands, and then it comes out right.
    assert!(
        systems
            .iter()
            .any(|s| s.contains("\"وطالبان\" => \"the Taliban\"")),
        "the re-request states the surface form"
    );
    let received = received(&fake);
    let p1s1 = "في خطوة جديدة للتقارب.. روسيا وطالبان يبحثان التعاون الثنائي";
    assert_eq!(
        received.iter().filter(|s| *s == p1s1).count(),
        2,
        "sent, then re-requested once"
    );
    let (header, rows) = read_jsonl(&d.join("out.jsonl"));
    assert!(
        header["glossary_hash"]
            .as_str()
            .is_some_and(|h| h.len() == 64)
    );
    let r = &rows[0];
    assert_eq!(r["id"], "p1s1");
    assert!(
        r["target"].as_str().unwrap().ends_with("; the Taliban"),
        "{r}"
    );
    let t = r["terms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["source"] == "طالبان")
        .unwrap();
    assert_eq!(t["honoured"], true);
    assert_eq!(t["target"], "the Taliban");
    assert!(t["start"].as_u64().unwrap() < t["end"].as_u64().unwrap());
    assert_eq!(r["warnings"], json!([]));
    // The spelling variant ديمترى بيسكوف is also fixed by the re-request.
    let peskov = rows
        .iter()
        .find(|r| r["source"].as_str().unwrap().contains("ديمترى بيسكوف"))
        .unwrap();
    assert!(
        peskov["target"].as_str().unwrap().contains("Dmitry Peskov"),
        "{peskov}"
    );
    assert_eq!(header["summary"]["terms_missed"], 0);
    assert!(header["summary"]["terms_honoured"].as_u64().unwrap() > 5);
}

#[test]
fn a_changed_glossary_entry_re_translates_only_its_segments() {
    let fake = fake();
    let (_server, url) = start(&fake);
    let dir = project(Some(&url), "m1", 4);
    let d = dir.path();
    let run = || {
        tarjama(d)
            .args([
                "translate",
                "article.txt",
                "--glossary",
                "glossary.tsv",
                "-o",
                "out.jsonl",
                "-q",
            ])
            .assert()
            .success();
    };
    run();
    let before = received(&fake).len();
    let g = std::fs::read_to_string(d.join("glossary.tsv")).unwrap();
    std::fs::write(
        d.join("glossary.tsv"),
        g.replace("\tLavrov\t", "\tSergei Lavrov\t"),
    )
    .unwrap();
    run();
    let resent: Vec<String> = received(&fake)[before..].to_vec();
    assert!(!resent.is_empty());
    assert!(resent.iter().all(|s| s.contains("لافروف")), "{resent:?}");
    let (_, rows) = read_jsonl(&d.join("out.jsonl"));
    let with: Vec<&Value> = rows
        .iter()
        .filter(|r| r["source"].as_str().unwrap().contains("لافروف"))
        .collect();
    // each once, and again if its answer missed an occurrence of a term
    // (this server misses the forms with a glued proclitic, like وطالبان)
    let mut distinct = resent.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), with.len());
    for r in with {
        assert_eq!(r["origin"], "mt");
        assert!(r["target"].as_str().unwrap().contains("Sergei Lavrov"));
    }
}

/// The seed article through each of the seven backend kinds, each against
/// its protocol's fake server (the backends' own test servers), into JSONL
/// with every field; the same command again sends nothing. With a glossary,
/// DeepL gets a glossary created through its glossary API.
#[test]
fn the_seed_article_through_every_backend_kind() {
    use crate::support::vendors as pfake;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let llm = support::Fake::new();
    let openai = support::serve_in_background(support::openai(llm.clone()));
    let ollama_fake = support::Fake::new();
    let ollama = support::serve_in_background(support::ollama(ollama_fake.clone()));
    let tpl_fake = support::Fake::new();
    let tpl = support::serve_in_background(support::json_api(tpl_fake.clone()));
    let deepl_state = Arc::new(pfake::DeepLState::default());
    let libre = rt.block_on(pfake::Server::start(pfake::libretranslate(
        pfake::LibreOptions {
            api_key: Some(pfake::LT_KEY.into()),
            ..Default::default()
        },
    )));
    let deepl = rt.block_on(pfake::Server::start(pfake::deepl(
        pfake::DEEPL_KEY,
        deepl_state.clone(),
    )));
    let google = rt.block_on(pfake::Server::start(pfake::google(pfake::GOOGLE_KEY)));
    let azure = rt.block_on(pfake::Server::start(pfake::azure(
        pfake::AZURE_KEY,
        Some("westeurope"),
        false,
    )));

    let tables = [
        (
            "openai",
            format!(
                "kind = \"openai\"\nurl = \"{}/v1\"\nmodel = \"m\"",
                openai.url()
            ),
        ),
        (
            "ollama",
            format!(
                "kind = \"ollama\"\nurl = \"{}\"\nmodel = \"m\"",
                ollama.url()
            ),
        ),
        (
            "template",
            format!(
                "kind = \"template\"\nurl = \"{}\"\nbatch_size = 4\n[backends.template.template]\npath = \"/translate\"\n\
                 body = '{{\"q\": \"{{{{texts}}}}\", \"source\": \"{{{{source_lang}}}}\", \"target\": \"{{{{target_lang}}}}\"}}'\n\
                 response_pointer = \"/data/translations/*/text\"",
                tpl.url()
            ),
        ),
        (
            "libretranslate",
            format!(
                "kind = \"libretranslate\"\nurl = \"{}\"\napi_key_env = \"TARJAMA_TEST_LT_KEY\"",
                libre.url
            ),
        ),
        (
            "deepl",
            format!(
                "kind = \"deepl\"\nurl = \"{}\"\napi_key_env = \"TARJAMA_TEST_DEEPL_KEY\"",
                deepl.url
            ),
        ),
        (
            "google",
            format!(
                "kind = \"google\"\nurl = \"{}\"\napi_key_env = \"TARJAMA_TEST_GOOGLE_KEY\"",
                google.url
            ),
        ),
        (
            "azure",
            format!(
                "kind = \"azure\"\nurl = \"{}\"\napi_key_env = \"TARJAMA_TEST_AZURE_KEY\"\nregion = \"westeurope\"",
                azure.url
            ),
        ),
    ];
    let dir = project(None, "", 0);
    let d = dir.path();
    let config: String = tables
        .iter()
        .map(|(name, t)| format!("[backends.{name}]\n{t}\n"))
        .collect();
    std::fs::write(
        d.join("tarjama.toml"),
        format!("[memory]\npath = \"tm.sqlite\"\n{config}"),
    )
    .unwrap();
    let count = |kind: &str| -> usize {
        match kind {
            "openai" => llm.log.count() as usize,
            "ollama" => ollama_fake.log.count() as usize,
            "template" => tpl_fake.log.count() as usize,
            "libretranslate" => libre.requests().len(),
            "deepl" => deepl.requests().len(),
            "google" => google.requests().len(),
            _ => azure.requests().len(),
        }
    };
    for (kind, _) in &tables {
        let out = format!("{kind}.jsonl");
        let run = || {
            tarjama(d)
                .envs(pfake::key_vars())
                .args([
                    "translate",
                    "article.txt",
                    "--glossary",
                    "glossary.tsv",
                    "--backend",
                    kind,
                    "-o",
                    &out,
                    "-q",
                ])
                .assert()
                .success();
        };
        run();
        let sent = count(kind);
        assert!(sent > 0, "{kind}: nothing sent");
        let (header, rows) = read_jsonl(&d.join(&out));
        assert_eq!(header["backend"], *kind);
        assert_eq!(rows.len(), 19, "{kind}");
        for r in &rows {
            assert_eq!(r["origin"], "mt", "{kind}: {r}");
            assert!(
                r["target"].as_str().is_some_and(|t| !t.is_empty()),
                "{kind}: {r}"
            );
            for k in ["id", "para", "source", "terms", "warnings", "start", "end"] {
                assert!(r.get(k).is_some(), "{kind}: {k} missing");
            }
        }
        run();
        assert_eq!(count(kind), sent, "{kind}: the rerun sent requests");
        let (_, again) = read_jsonl(&d.join(&out));
        assert!(again.iter().all(|r| r["origin"] == "memory"), "{kind}");
        assert_eq!(targets(&rows), targets(&again), "{kind}");
    }
    // DeepL: the active glossary entries went through its glossary API and
    // the translations used it.
    let glossaries = deepl_state.glossaries.lock().unwrap();
    assert!(!glossaries.is_empty(), "no DeepL glossary was created");
    assert!(
        glossaries
            .values()
            .any(|e| e.iter().any(|(s, t)| s == "طالبان" && t == "the Taliban"))
    );
    let translate_reqs = deepl.requests_to("/v2/translate");
    assert!(
        translate_reqs
            .iter()
            .any(|r| r.json().get("glossary_id").is_some())
    );
}

#[test]
fn ctrl_c_stops_sending_writes_what_it_has_and_says_how_to_resume() {
    let fake = fake();
    fake.set_latency(Duration::from_millis(200));
    let (_server, url) = start(&fake);
    let dir = project(Some(&url), "m1", 2);
    let d = dir.path();
    let child = support::tarjama_process(d)
        .args(["translate", "article.txt", "-o", "out.jsonl"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while received(&fake).len() < 4 && t0.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(err.contains("to resume, rerun the same command"), "{err}");
    let sent_before = received(&fake);
    assert!(
        sent_before.len() < 19,
        "Ctrl-C came too late to test anything"
    );
    let (header, rows) = read_jsonl(&d.join("out.jsonl"));
    let done = rows.iter().filter(|r| !r["target"].is_null()).count();
    // What was in flight was waited for: everything sent got its answer.
    assert_eq!(done, sent_before.len(), "{err}");
    assert_eq!(header["summary"]["sent"], done);
    for r in rows.iter().filter(|r| r["target"].is_null()) {
        assert!(r["warnings"][0].as_str().unwrap().contains("interrupted"));
    }
    tarjama(d)
        .args(["translate", "article.txt", "-o", "out.jsonl", "-q"])
        .assert()
        .success();
    assert_eq!(
        received(&fake).len(),
        19,
        "the resumed run sent only the rest"
    );
}
