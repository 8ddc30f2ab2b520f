//! LLM answers that misbehave like real models (tests/it/support/misbehaving.rs):
//! swapped or rotated answers never reach the output unflagged nor the
//! memory, a clean endpoint costs exactly the ideal number of requests, and
//! each misbehaviour at a set rate costs at most 1.5 times the ideal (a
//! rotation, exactly three single requests each time). The article is real Arabic (News
//! Commentary sentences of the segmentation development set).

use crate::support;

use std::path::Path;
use std::process::Stdio;

use serde_json::Value;
use support::misbehaving::{Misbehaving, Misbehaviour};
use tarjama::segment::{SegmentOptions, Segmenter};

const BATCH: usize = 8;

/// `n` real sentences, one paragraph each.
fn article(n: usize) -> String {
    let text =
        std::fs::read_to_string("tests/fixtures/segment_dev/news-commentary-v15.ar.txt").unwrap();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && l.chars().count() < 300)
        .take(n)
        .map(|l| format!("{l}\n\n"))
        .collect()
}

struct Run {
    /// Each machine translation the memory holds: (Arabic, English).
    stored: Vec<(String, String)>,
    pairs: Vec<Value>,
    /// The summary on stderr and the JSONL header.
    stderr: String,
    header: Value,
    log: Vec<support::misbehaving::Seen>,
    segments: usize,
}

impl Run {
    /// Requests a perfect endpoint would need: the segments in batches.
    fn ideal(&self) -> usize {
        self.segments.div_ceil(BATCH)
    }
}

fn translate(n: usize, fake: std::sync::Arc<Misbehaving>) -> Run {
    translate_text(&article(n), None, fake).0
}

/// Translate `text` (with `glossary`, a TSV, if given) to out.jsonl in a
/// fresh folder, which is handed back too.
fn translate_text(
    text: &str,
    glossary: Option<&str>,
    fake: std::sync::Arc<Misbehaving>,
) -> (Run, tempfile::TempDir) {
    let server = support::serve_in_background(fake.handler());
    let dir = tempfile::tempdir().unwrap();
    let text = text.to_string();
    let segments = Segmenter::default()
        .segment(&text, SegmentOptions::default())
        .len();
    std::fs::write(dir.path().join("article.txt"), &text).unwrap();
    std::fs::write(
        dir.path().join("tarjama.toml"),
        format!(
            "default_backend = \"llm\"\n[backends.llm]\nkind = \"openai\"\nurl = \"{}/v1\"\nmodel = \"m\"\nbatch_size = {BATCH}\nconcurrency = 1\nretry_base_ms = 1\n",
            server.url()
        ),
    )
    .unwrap();
    let d = dir.path();
    let mut args = vec![
        "--config",
        "tarjama.toml",
        "translate",
        "article.txt",
        "-o",
        "out.jsonl",
        "--memory",
        "mem.db",
    ];
    if let Some(g) = glossary {
        std::fs::write(d.join("glossary.tsv"), g).unwrap();
        args.extend(["--glossary", "glossary.tsv"]);
    }
    let out = crate::support::tarjama_process(d)
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    // 0, or 3 when a segment is left untranslated
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let header = std::fs::read_to_string(d.join("out.jsonl"))
        .unwrap()
        .lines()
        .next()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .unwrap_or_default();
    crate::support::tarjama(d)
        .args([
            "--config",
            "tarjama.toml",
            "memory",
            "export",
            "--memory",
            "mem.db",
            "--to",
            "tmx",
            "-o",
            "mem.tmx",
        ])
        .assert()
        .success();
    let tmx = std::fs::read_to_string(d.join("mem.tmx")).unwrap();
    let stored = tarjama::tmx::read_tmx("mem.tmx", &tmx)
        .unwrap()
        .into_iter()
        .map(|u| (u.source, u.target))
        .collect();
    let run = Run {
        stored,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        header,
        pairs: pairs(&d.join("out.jsonl")),
        log: fake.log(),
        segments,
    };
    (run, dir)
}

fn pairs(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v.get("type").is_none_or(|t| t != "header"))
        .collect()
}

/// Segments whose English is not their own source's and carries no warning.
fn wrong_and_unflagged(run: &Run) -> Vec<String> {
    run.pairs
        .iter()
        .filter(|p| {
            let own = support::fake_english(p["source"].as_str().unwrap());
            p["target"].as_str() != Some(own.as_str())
                && p["warnings"].as_array().is_none_or(|w| w.is_empty())
        })
        .map(|p| p["id"].to_string())
        .collect()
}

fn all_own_english(run: &Run) {
    assert_eq!(run.pairs.len(), run.segments);
    for p in &run.pairs {
        let own = support::fake_english(p["source"].as_str().unwrap());
        assert_eq!(p["target"].as_str(), Some(own.as_str()), "{p}");
    }
    // and the memory never stored another segment's English
    assert_eq!(run.stored.len(), run.segments);
    for (ar, en) in &run.stored {
        assert_eq!(en, &support::fake_english(ar), "{ar}");
    }
}

#[test]
fn a_clean_endpoint_costs_exactly_the_ideal_number_of_requests() {
    let run = translate(40, Misbehaving::new(1, 0.0, &[]));
    all_own_english(&run);
    assert_eq!(run.log.len(), run.ideal(), "{} segments", run.segments);
}

#[test]
fn stray_ids_are_ignored_and_counted_in_the_summary_and_the_header() {
    let run = translate(24, Misbehaving::new(5, 1.0, &[Misbehaviour::StrayId]));
    all_own_english(&run);
    let strays = run.header["summary"]["stray_ids"].as_u64().unwrap_or(0);
    assert!(strays >= 1, "{}", run.header);
    assert!(
        run.stderr.contains(&format!(
            "{strays} answer{} for ids not asked for (ignored)",
            if strays == 1 { "" } else { "s" }
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn no_swapped_segment_reaches_the_output_unflagged() {
    let mut swaps = 0;
    for seed in [7, 8, 9] {
        // half the requests swap two answers
        let run = translate(40, Misbehaving::new(seed, 0.5, &[Misbehaviour::Swap]));
        swaps += run.log.iter().filter(|s| s.swapped.is_some()).count();
        assert_eq!(
            wrong_and_unflagged(&run),
            Vec::<String>::new(),
            "seed {seed}"
        );
        all_own_english(&run);
    }
    assert!(swaps >= 5, "the fake swapped {swaps} times");
}

#[test]
fn no_rotated_segment_reaches_the_output_unflagged() {
    let mut rotations = 0;
    for seed in [17, 18, 19] {
        // half the requests give three neighbours each the next one's answer
        let run = translate(40, Misbehaving::new(seed, 0.5, &[Misbehaviour::Rotate]));
        let rotated: Vec<_> = run.log.iter().filter_map(|s| s.swapped.clone()).collect();
        assert!(rotated.iter().all(|r| r.len() == 3), "{rotated:?}");
        rotations += rotated.len();
        assert_eq!(
            wrong_and_unflagged(&run),
            Vec::<String>::new(),
            "seed {seed}"
        );
        all_own_english(&run);
        // each rotated segment was asked again alone
        for ar in rotated.iter().flatten() {
            assert!(
                run.log
                    .iter()
                    .any(|s| s.texts.len() == 1 && &s.texts[0] == ar),
                "{ar}"
            );
        }
    }
    assert!(rotations >= 5, "the fake rotated {rotations} times");
}

/// One request in five misbehaves (80 segments, batches of 8). The fake
/// draws from the seed and each request's segments, so the figures are the
/// same on every run.
#[test]
fn each_misbehaviour_costs_at_most_one_and_a_half_times_the_ideal() {
    for (k, kind) in Misbehaviour::ALL.into_iter().enumerate() {
        let run = translate(80, Misbehaving::new(100 + k as u64, 0.2, &[kind]));
        let bad = run.log.iter().filter(|s| s.misbehaviour.is_some()).count();
        assert!(bad >= 1, "{kind:?}: the fake never misbehaved");
        all_own_english(&run);
        let (spent, ideal) = (run.log.len(), run.ideal());
        eprintln!("{kind:?}: {bad} bad answers, {spent} requests for an ideal {ideal}");
        match kind {
            // each moved segment is asked again alone, nothing else
            Misbehaviour::Swap => assert_eq!(spent, ideal + 2 * bad, "{kind:?}"),
            Misbehaviour::Rotate => assert_eq!(spent, ideal + 3 * bad, "{kind:?}"),
            _ => {}
        }
        // A rotation moves three answers: three single requests each time,
        // more than half a batch of 8; the others stay within 1.5×.
        if kind != Misbehaviour::Rotate {
            assert!(
                spent * 2 <= ideal * 3,
                "{kind:?}: {spent} requests for an ideal {ideal}"
            );
        }
    }
}

#[test]
fn a_model_failing_the_same_way_gets_one_different_retry() {
    let fake = Misbehaving::new(3, 0.0, &[]);
    let text = article(20);
    let victim = text.split("\n\n").nth(5).unwrap().trim().to_string();
    *fake.stubborn.lock().unwrap() = Some(victim.clone());
    let run = translate(20, fake);
    let with: Vec<_> = run
        .log
        .iter()
        .filter(|s| s.texts.contains(&victim))
        .collect();
    // in its batch, then once alone with the problem named, then no more
    assert_eq!(with.len(), 2, "{with:?}");
    assert_eq!(with[0].texts.len(), BATCH);
    assert!(with[1..].iter().all(|s| s.texts.len() == 1));
    assert!(
        with[1..]
            .iter()
            .all(|s| s.problems.len() == 1 && s.problems[0].contains("Arabic")),
        "{with:?}"
    );
    // the others are kept, it is left untranslated with its reason
    assert_eq!(run.log.len(), run.ideal() + 1);
    let p = run
        .pairs
        .iter()
        .find(|p| p["source"].as_str() == Some(victim.as_str()))
        .unwrap();
    assert!(p["target"].is_null(), "{p}");
    let w = p["warnings"][0].as_str().unwrap();
    assert!(
        w.starts_with("not translated:") && w.contains("Arabic"),
        "{w}"
    );
    let others = run.pairs.iter().filter(|p| p["target"].is_string()).count();
    assert_eq!(others, run.segments - 1);
}

/// Both answers of a re-requested segment are in its history, with which
/// one was kept and why, in the JSONL and in what the reviewer reads (the
/// HTML table, the review page's notes, XLIFF and Word notes).
#[test]
fn both_answers_of_a_re_request_are_in_the_segments_history() {
    let text =
        "وصل الوفد إلى موسكو صباح الاثنين.\n\nوقال بيسكوف إن الاتفاق قريب.\n\nوغادر الوفد بعد ذلك.\n";
    let glossary = "source\ttarget\nبيسكوف\tPeskov\n";
    for obeys in [true, false] {
        let fake = Misbehaving::new(11, 0.0, &[]);
        *fake.obeys_must_use.lock().unwrap() = obeys;
        let (run, dir) = translate_text(text, Some(glossary), fake);
        let d = dir.path();
        // one batch, then the re-request of the segment that missed Peskov
        assert_eq!(run.log.len(), 2, "{:?}", run.log);
        let p = run
            .pairs
            .iter()
            .find(|p| p["source"].as_str().unwrap().contains("بيسكوف"))
            .unwrap();
        let h = p["history"].as_array().unwrap_or_else(|| panic!("{p}"));
        assert_eq!(h.len(), 2, "{p}");
        let (first, again) = (&h[0], &h[1]);
        assert_eq!(first["request"], "first");
        assert_eq!(again["request"], "re-request");
        let own = support::fake_english(p["source"].as_str().unwrap());
        assert_eq!(first["target"].as_str(), Some(own.as_str()));
        assert_eq!(first["terms_missed"], 1);
        assert_eq!(first["kept"], false);
        assert_eq!(again["kept"], true);
        assert_eq!(p["target"], again["target"]);
        if obeys {
            assert_eq!(
                again["target"].as_str(),
                Some(format!("{own}; Peskov").as_str())
            );
            assert_eq!(again["terms_missed"], 0);
            assert!(again["why"].as_str().unwrap().contains("fewer"), "{again}");
        } else {
            assert_eq!(again["terms_missed"], 1);
            assert!(
                again["why"].as_str().unwrap().contains("as many"),
                "{again}"
            );
            assert!(
                first["why"].as_str().unwrap().contains("wins a tie"),
                "{first}"
            );
        }
        // the other segments were not re-requested: no history
        assert!(
            run.pairs
                .iter()
                .filter(|q| q["id"] != p["id"])
                .all(|q| q.get("history").is_none()),
            "{:?}",
            run.pairs
        );
        // what the reviewer reads
        for (to, file) in [
            ("html", "out.html"),
            ("xliff", "out.xlf"),
            ("docx-table", "out.docx"),
        ] {
            crate::support::tarjama(d)
                .args(["render", "out.jsonl", "--to", to, "-o", file])
                .assert()
                .success();
        }
        let html = std::fs::read_to_string(d.join("out.html")).unwrap();
        let xlf = std::fs::read_to_string(d.join("out.xlf")).unwrap();
        for shown in [&html, &xlf] {
            assert!(shown.contains("re-request (kept)"), "{shown}");
            assert!(shown.contains("first (set aside)"), "{shown}");
            assert!(shown.contains(&own), "{shown}");
        }
        assert!(html.contains("<li class=\"history\">"), "{html}");
        let docx = support::docx_text(&d.join("out.docx"));
        assert!(docx.contains("re-request (kept)"), "{docx}");
    }
}

/// A segment with two hits of one entry needs its English twice: an answer
/// that has it once is re-requested, and, still once, flagged with which
/// occurrence is missing.
#[test]
fn a_term_pinned_twice_needs_two_occurrences() {
    let text = "التقى بيسكوف الوفد ثم قال بيسكوف إن الاتفاق قريب.\n\nوغادر الوفد بعد ذلك.\n";
    let glossary = "source\ttarget\nبيسكوف\tPeskov\n";
    let fake = Misbehaving::new(12, 0.0, &[]);
    // the re-request writes "; Peskov" once: one occurrence of two
    *fake.obeys_must_use.lock().unwrap() = true;
    let (run, _dir) = translate_text(text, Some(glossary), fake);
    assert_eq!(run.log.len(), 2, "{:?}", run.log);
    let p = &run.pairs[0];
    assert!(p["target"].as_str().unwrap().ends_with("; Peskov"), "{p}");
    let honoured: Vec<_> = p["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["honoured"].clone())
        .collect();
    assert_eq!(honoured, [true, false], "{p}");
    let w = p["warnings"][0].as_str().unwrap();
    assert!(
        w.contains("Peskov (occurrence 2 of 2: the English has it 1 time)"),
        "{w}"
    );
    assert_eq!(run.header["summary"]["terms_missed"], 1);
    assert_eq!(run.header["summary"]["terms_honoured"], 1);
}
