use std::sync::Mutex;

use super::*;
use crate::segment::{SegmentOptions, Segmenter};

/// A term check good enough for these tests: the target, case-insensitive.
fn check(hits: &[TermHit], english: &str) -> Vec<CheckedTerm> {
    let e = english.to_lowercase();
    hits.iter()
        .map(|h| CheckedTerm {
            source: h.source.clone(),
            target: h.target.clone(),
            start: h.start,
            end: h.end,
            surface: h.surface.clone(),
            honoured: Some(e.contains(&h.target.to_lowercase())),
            forbidden_found: vec![],
        })
        .collect()
}

/// An engine that answers `EN[id]`, fails the ids in `fail`, and writes the
/// pinned terms' English only when asked with the surface forms stated
/// (`stubborn`: never, and a re-request gets `EN[id] again`).
struct Fake {
    info: EngineInfo,
    fail: Vec<String>,
    stubborn: bool,
    batch: usize,
    sent: Mutex<Vec<Request>>,
}

impl Fake {
    fn new(model: &str) -> Fake {
        Fake {
            info: EngineInfo {
                name: "fake".into(),
                kind: BackendKind::Openai,
                url: "http://127.0.0.1:1/v1".into(),
                model: Some(model.into()),
                prompt_version: "t1".into(),
                term_mode: TermMode::Prompt,
            },
            fail: vec![],
            stubborn: false,
            batch: 2,
            sent: Mutex::new(vec![]),
        }
    }
    fn sent_ids(&self) -> Vec<String> {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.id.clone())
            .collect()
    }
}

impl Translator for Fake {
    fn info(&self) -> &EngineInfo {
        &self.info
    }
    fn planned_requests(&self, requests: &[Request]) -> usize {
        requests.len().div_ceil(self.batch)
    }
    fn run(
        &self,
        requests: Vec<Request>,
        tx: mpsc::UnboundedSender<BatchResults>,
        cancel: watch::Receiver<bool>,
    ) -> BoxFuture<'_, RunCounts> {
        Box::pin(async move {
            let mut counts = RunCounts::default();
            for chunk in requests.chunks(self.batch) {
                if *cancel.borrow() {
                    break;
                }
                counts.requests += 1;
                counts.answered += 1;
                self.sent.lock().unwrap().extend(chunk.iter().cloned());
                let results = chunk
                    .iter()
                    .map(|r| {
                        counts.chars_sent += r.text.chars().count() as u64;
                        if self.fail.contains(&r.id) {
                            counts.failed += 1;
                            return (
                                r.id.clone(),
                                Err(BackendError::new(
                                    crate::backend::ErrorKind::Server,
                                    "fake: HTTP 500 from http://127.0.0.1:1/v1",
                                )),
                            );
                        }
                        // Terms honoured only when a surface form is stated
                        // beside the canonical entry (the re-request).
                        let emphatic =
                            r.terms.len() > 1 || r.terms.iter().any(|t| t.source.starts_with('و'));
                        let mut en = if self.stubborn && r.insist {
                            format!("EN[{}] again", r.id)
                        } else {
                            format!("EN[{}]", r.id)
                        };
                        if emphatic && !self.stubborn {
                            for t in &r.terms {
                                en.push(' ');
                                en.push_str(&t.target);
                            }
                        }
                        (r.id.clone(), Ok(en))
                    })
                    .collect();
                let _ = tx.send(results);
            }
            counts
        })
    }
}

const DOC: &str =
    "روسيا وطالبان يبحثان التعاون.\n\nقال بيسكوف إن الاجتماع انتهى. ثم غادر الوفد.\nجملة رابعة هنا.";

fn segments() -> Vec<Segment> {
    Segmenter::default().segment(DOC, SegmentOptions::default())
}

/// A hit of وطالبان (surface with the clitic) in p1s1.
fn hits(target: &str) -> Vec<TermHit> {
    let segs = segments();
    let s = &segs[0];
    let byte = s.text.find("وطالبان").unwrap();
    let start = s.start + s.text[..byte].chars().count();
    vec![TermHit {
        segment: s.id.clone(),
        start,
        end: start + 7,
        surface: "وطالبان".into(),
        source: "طالبان".into(),
        target: target.into(),
        kind: None,
        forbidden: vec![],
        ambiguous: false,
    }]
}

fn settings() -> Settings {
    Settings::new(check)
}

async fn run_once(
    mem: Memory,
    fake: &Fake,
    hits: Vec<TermHit>,
) -> (Bitext, RunSummary, Memory, RunOutcome) {
    let p = prepare(
        &mem,
        DocMeta::default(),
        segments(),
        hits,
        Some(fake.info()),
        &settings(),
    )
    .unwrap();
    let (_tx, rx) = watch::channel(false);
    let (p, mem, o) = translate(p, mem, fake, &settings(), rx, Arc::new(NoProgress))
        .await
        .unwrap();
    let (b, s) = finish(p, Some(&o), Instant::now());
    (b, s, mem, o)
}

#[tokio::test]
async fn translates_stores_and_rerun_sends_nothing() {
    let mem = Memory::open_in_memory().unwrap();
    let fake = Fake::new("m1");
    let (b, s, mem, o) = run_once(mem, &fake, vec![]).await;
    assert_eq!(s.segments, 4);
    assert_eq!((s.sent, s.from_memory, s.failed), (4, 0, 0));
    assert_eq!(o.counts.requests, 2);
    assert!(
        b.pairs
            .iter()
            .all(|p| p.origin == Origin::Mt && p.target.is_some())
    );
    assert_eq!(b.pairs[1].target.as_deref(), Some("EN[p2s1]"));
    assert_eq!(b.meta.summary.as_ref().unwrap().sent, 4);

    let again = Fake::new("m1");
    let (b2, s2, _mem, _) = run_once(mem, &again, vec![]).await;
    assert!(again.sent_ids().is_empty());
    assert_eq!((s2.sent, s2.from_memory), (0, 4));
    let t1: Vec<_> = b.pairs.iter().map(|p| p.target.clone()).collect();
    let t2: Vec<_> = b2.pairs.iter().map(|p| p.target.clone()).collect();
    assert_eq!(t1, t2);
    assert!(b2.pairs.iter().all(|p| p.origin == Origin::Memory));
}

#[tokio::test]
async fn changed_model_or_term_retranslates_only_what_it_affects() {
    let mem = Memory::open_in_memory().unwrap();
    let (_, _, mem, _) = run_once(mem, &Fake::new("m1"), hits("the Taliban")).await;
    // Another target for the term: only the segment with the hit is sent.
    let f = Fake::new("m1");
    let (_, _, mem, _) = run_once(mem, &f, hits("Taliban movement")).await;
    let mut ids = f.sent_ids();
    ids.dedup(); // the term re-request sends it a second time
    assert_eq!(ids, ["p1s1"]);
    // Another model: everything is sent.
    let f = Fake::new("m2");
    let (_, _, _, _) = run_once(mem, &f, hits("the Taliban")).await;
    let mut ids = f.sent_ids();
    ids.sort();
    ids.dedup();
    assert_eq!(ids, ["p1s1", "p2s1", "p2s2", "p3s1"]);
}

#[tokio::test]
async fn missed_term_is_re_requested_once_with_the_surface_form() {
    let mem = Memory::open_in_memory().unwrap();
    let fake = Fake::new("m1");
    let (b, s, mem, o) = run_once(mem, &fake, hits("the Taliban")).await;
    assert_eq!(o.re_requested, 1);
    let sent = fake.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 5, "4 segments, then p1s1 again");
    let retry = &sent[4];
    assert_eq!(retry.id, "p1s1");
    assert!(retry.insist, "the second request insists on the terms");
    assert!(sent[..4].iter().all(|r| !r.insist));
    assert!(
        retry
            .terms
            .iter()
            .any(|t| t.source == "وطالبان" && t.target == "the Taliban")
    );
    assert_eq!(
        b.pairs[0].target.as_deref(),
        Some("EN[p1s1] the Taliban the Taliban")
    );
    assert_eq!(b.pairs[0].terms[0].honoured, Some(true));
    assert!(b.pairs[0].warnings.is_empty(), "{:?}", b.pairs[0].warnings);
    assert_eq!((s.terms_honoured, s.terms_missed), (1, 0));
    // The better answer is what the memory keeps.
    let f = Fake::new("m1");
    let (b2, _, _, _) = run_once(mem, &f, hits("the Taliban")).await;
    assert!(f.sent_ids().is_empty());
    assert_eq!(b2.pairs[0].target, b.pairs[0].target);
}

#[tokio::test]
async fn still_missed_term_is_kept_and_flagged() {
    let mem = Memory::open_in_memory().unwrap();
    let mut fake = Fake::new("m1");
    fake.stubborn = true;
    let (b, s, _, o) = run_once(mem, &fake, hits("the Taliban")).await;
    assert_eq!(o.re_requested, 1);
    assert_eq!(
        b.pairs[0].target.as_deref(),
        Some("EN[p1s1] again"),
        "English is never rewritten; on a tie the re-request is kept"
    );
    assert_eq!(b.pairs[0].terms[0].honoured, Some(false));
    assert!(b.pairs[0].warnings[0].contains("pinned term missed: وطالبان → the Taliban"));
    assert_eq!(s.terms_missed, 1);
}

#[tokio::test]
async fn failures_stay_in_the_document_and_a_rerun_fills_them_in() {
    let mem = Memory::open_in_memory().unwrap();
    let mut fake = Fake::new("m1");
    fake.fail = vec!["p2s2".into()];
    let (b, s, mem, _) = run_once(mem, &fake, vec![]).await;
    assert_eq!(s.failed, 1);
    let p = &b.pairs[2];
    assert_eq!(
        (p.id.as_str(), p.target.as_ref(), p.origin),
        ("p2s2", None, Origin::None)
    );
    assert!(p.warnings[0].contains("HTTP 500"), "{:?}", p.warnings);
    let f = Fake::new("m1");
    let (b2, s2, _, _) = run_once(mem, &f, vec![]).await;
    assert_eq!(f.sent_ids(), ["p2s2"]);
    assert_eq!((s2.failed, s2.from_memory, s2.sent), (0, 3, 1));
    assert!(b2.pairs.iter().all(|p| p.target.is_some()));
}

#[tokio::test]
async fn cancelled_run_marks_unsent_segments() {
    let mem = Memory::open_in_memory().unwrap();
    let fake = Fake::new("m1");
    let p = prepare(
        &mem,
        DocMeta::default(),
        segments(),
        vec![],
        Some(fake.info()),
        &settings(),
    )
    .unwrap();
    let (tx, rx) = watch::channel(false);
    tx.send(true).unwrap();
    let (p, _, o) = translate(p, mem, &fake, &settings(), rx, Arc::new(NoProgress))
        .await
        .unwrap();
    assert!(o.interrupted);
    let (b, _) = finish(p, Some(&o), Instant::now());
    assert!(b.pairs.iter().all(|p| p.target.is_none()));
    assert!(b.pairs[0].warnings[0].contains("rerun the same command to resume"));
}

#[tokio::test]
async fn offline_uses_any_stored_translation_and_marks_the_rest() {
    let mem = Memory::open_in_memory().unwrap();
    let (_, _, mut mem, _) = run_once(mem, &Fake::new("m1"), vec![]).await;
    let segs = segments();
    mem.add_pairs(&[memory::NewPair {
        source: segs[1].text.clone(),
        target: "Peskov said the meeting was over.".into(),
        origin: memory::Provenance::Human,
        backend: None,
        model: None,
        created: None,
        document: None,
    }])
    .unwrap();
    let extra = "جملة خامسة لم تترجم من قبل.";
    let mut all = segments();
    let mut s5 = all[3].clone();
    s5.id = "p4s1".into();
    s5.para = 4;
    s5.text = extra.into();
    all.push(s5);
    let p = prepare(&mem, DocMeta::default(), all, vec![], None, &settings()).unwrap();
    assert_eq!(p.pending, [4]);
    let (b, s) = finish(offline(p, OFFLINE_WARNING), None, Instant::now());
    assert_eq!(s.from_memory, 4);
    assert_eq!(b.pairs[1].origin, Origin::Human);
    assert_eq!(b.pairs[0].origin, Origin::Memory);
    assert_eq!(b.pairs[4].target, None);
    assert_eq!(b.pairs[4].warnings, [OFFLINE_WARNING]);
}

#[test]
fn requests_carry_context_and_terms() {
    let mem = Memory::open_in_memory().unwrap();
    let fake = Fake::new("m1");
    let p = prepare(
        &mem,
        DocMeta::default(),
        segments(),
        hits("the Taliban"),
        Some(fake.info()),
        &settings(),
    )
    .unwrap();
    let r = p.requests(Some(fake.info()));
    assert_eq!(r.len(), 4);
    assert_eq!(
        r[0].terms,
        [PinnedTerm {
            source: "طالبان".into(),
            target: "the Taliban".into()
        }]
    );
    assert_eq!(r[0].context, Context::default());
    assert_eq!(
        r[2].context.previous.as_deref(),
        Some("قال بيسكوف إن الاجتماع انتهى.")
    );
    assert_eq!(
        r[2].context.headline.as_deref(),
        Some("روسيا وطالبان يبحثان التعاون.")
    );
    assert_eq!(
        p.pending_chars(),
        segments()
            .iter()
            .map(|s| s.text.chars().count())
            .sum::<usize>()
    );
    let mut off = fake.info().clone();
    off.term_mode = TermMode::Off;
    assert!(p.requests(Some(&off))[0].terms.is_empty());
}

#[tokio::test]
async fn a_repeated_segment_is_sent_once() {
    let mem = Memory::open_in_memory().unwrap();
    let fake = Fake::new("m1");
    let segs = Segmenter::default().segment(
        "جملة مكررة هنا.\n\nجملة أخرى.\n\nجملة  مكررة هنا.",
        SegmentOptions::default(),
    );
    let p = prepare(
        &mem,
        DocMeta::default(),
        segs,
        vec![],
        Some(fake.info()),
        &settings(),
    )
    .unwrap();
    assert_eq!(p.pending.len(), 3);
    assert_eq!(p.to_send(), [0, 1]);
    let (_tx, rx) = watch::channel(false);
    let (p, _, o) = translate(p, mem, &fake, &settings(), rx, Arc::new(NoProgress))
        .await
        .unwrap();
    assert_eq!(fake.sent_ids(), ["p1s1", "p2s1"]);
    let (b, s) = finish(p, Some(&o), Instant::now());
    assert_eq!(s.sent, 2);
    assert_eq!(b.pairs[2].target.as_deref(), Some("EN[p1s1]"));
    assert_eq!(b.pairs[2].origin, Origin::Mt);
    assert!(b.pairs[2].warnings.is_empty());
}

#[test]
fn the_history_of_a_re_request_says_which_answer_was_kept_and_why() {
    // the re-request missed more: the first stands
    let h = re_request_history("EN first", 1, Some("EN again"), 2, true);
    assert_eq!((h[0].kept, h[1].kept), (true, false));
    assert_eq!((h[0].terms_missed, h[1].terms_missed), (1, 2));
    assert_eq!(h[1].target.as_deref(), Some("EN again"));
    assert!(
        h[0].why.contains("more pinned terms (2 against 1)"),
        "{h:?}"
    );
    assert!(
        h[0].describe().starts_with("first (kept): “EN first”"),
        "{h:?}"
    );
    assert!(
        h[1].describe().starts_with("re-request (set aside)"),
        "{h:?}"
    );
    // fewer: the re-request
    let h = re_request_history("EN first", 2, Some("EN again"), 0, false);
    assert_eq!((h[0].kept, h[1].kept), (false, true));
    assert!(h[1].why.contains("fewer"), "{h:?}");
    // a tie: the re-request
    let h = re_request_history("EN first", 1, Some("EN again"), 1, false);
    assert!(h[0].why.contains("wins a tie") && h[1].kept, "{h:?}");
    // no answer to the re-request
    let h = re_request_history("EN first", 1, None, 0, true);
    assert!(h[0].kept && h[1].target.is_none(), "{h:?}");
    assert!(h[1].describe().contains("no answer"), "{h:?}");
}
