//! The job function's behaviour on one document and on several, with an
//! engine that answers in-process (the fakes of `tests/it` speak HTTP; these
//! check what the job does with answers, not how they travel).

use std::sync::Mutex;

use super::*;
use crate::backend::{BackendError, BackendKind, BoxFuture, TermMode};
use crate::glossary::check::check_terms;
use crate::glossary::{Entry, Glossary};
use crate::memory::{self, Memory};
use crate::model::Origin;
use crate::pipeline::BatchResults;

#[test]
fn ids_are_unique_across_documents() {
    assert_eq!(job_id(false, 0, "p1s1"), "p1s1");
    assert_ne!(job_id(true, 0, "p1s1"), job_id(true, 1, "p1s1"));
}

/// An engine that answers `EN[id]`, fails the ids in `fail`, and writes the
/// pinned terms' English only when asked with the surface forms stated
/// (`stubborn`: never, and a re-request gets `EN[id] again`); with `stop`,
/// it presses Ctrl-C once its first batch is answered.
struct Fake {
    info: EngineInfo,
    fail: Vec<String>,
    stubborn: bool,
    batch: usize,
    sent: Mutex<Vec<Request>>,
    /// Requests made.
    requests: Mutex<usize>,
    stop: Mutex<Option<watch::Sender<bool>>>,
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
            requests: Mutex::new(0),
            stop: Mutex::new(None),
        }
    }
    fn sent(&self) -> Vec<Request> {
        self.sent.lock().unwrap().clone()
    }
    fn sent_ids(&self) -> Vec<String> {
        self.sent().into_iter().map(|r| r.id).collect()
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
                *self.requests.lock().unwrap() += 1;
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
                let stop = self.stop.lock().unwrap().take();
                if let Some(stop) = stop {
                    let _ = stop.send(true);
                    // Until the job has passed Ctrl-C on to the engine.
                    while !*cancel.borrow() {
                        tokio::task::yield_now().await;
                    }
                }
            }
            counts
        })
    }
}

const DOC: &str =
    "روسيا وطالبان يبحثان التعاون.\n\nقال بيسكوف إن الاجتماع انتهى. ثم غادر الوفد.\nجملة رابعة هنا.";

/// The reports a job writes.
#[derive(Default)]
struct Reports(Vec<Report>);
impl Sink for Reports {
    fn written(&mut self, report: &Report) {
        self.0.push(report.clone());
    }
}

/// A folder with a memory file, where documents are written and read back.
struct Desk {
    dir: tempfile::TempDir,
}

/// One document's output, as the job wrote it.
struct Written {
    doc: Bitext,
    summary: RunSummary,
}

impl Desk {
    fn new() -> Desk {
        Desk {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn memory(&self) -> Memory {
        Memory::open(&self.dir.path().join("tm.sqlite")).unwrap()
    }

    /// Run a job over `texts` (one document each) with `engine` (none:
    /// offline), the glossary pinning طالبان to `term`, and Ctrl-C pressed
    /// by the engine after its first batch when `interrupt`.
    fn run(
        &self,
        texts: &[&str],
        engine: Option<Arc<Fake>>,
        term: Option<&str>,
        interrupt: bool,
    ) -> (Vec<Written>, Outcome) {
        let documents: Vec<Document> = texts
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let input = self.dir.path().join(format!("in{i}.txt"));
                std::fs::write(&input, text).unwrap();
                Document {
                    source: Source::File(input),
                    output: Some(self.dir.path().join(format!("out{i}.jsonl"))),
                }
            })
            .collect();
        let glossary = term.map(|t| {
            let g = Glossary::new(vec![Entry::new("طالبان", t)]);
            (g.matcher(), g.content_hash())
        });
        let (cancel_tx, cancel) = watch::channel(false);
        if let Some(e) = engine.as_ref().filter(|_| interrupt) {
            *e.stop.lock().unwrap() = Some(cancel_tx.clone());
        }
        let job = Job {
            memory: self.memory(),
            work: Work {
                documents: documents.clone(),
                format: Format::Jsonl,
                write: WriteOptions::default(),
                segmenter: Segmenter::default(),
                segment_options: SegmentOptions::default(),
                glossary,
                translator: engine.map(|e| e as Arc<dyn Translator>),
                settings: Settings::new(check_terms),
                dry_run: false,
                fetch_timeout: Duration::from_secs(5),
                cancel,
            },
        };
        let mut reports = Reports::default();
        let outcome = run(job, &mut reports).unwrap();
        drop(cancel_tx);
        let written = documents
            .iter()
            .map(|d| {
                let out = d.output.as_ref().unwrap();
                let text = std::fs::read_to_string(out).unwrap();
                let doc = crate::output::jsonl::read("out", &text).unwrap();
                let report = reports
                    .0
                    .iter()
                    .find(|r| r.output.as_ref() == Some(out))
                    .expect("a report for each document");
                Written {
                    doc,
                    summary: report.summary.clone(),
                }
            })
            .collect();
        (written, outcome)
    }

    /// One document, [`DOC`].
    fn run_doc(&self, engine: &Arc<Fake>, term: Option<&str>) -> (Written, Outcome) {
        let (mut w, o) = self.run(&[DOC], Some(engine.clone()), term, false);
        (w.remove(0), o)
    }
}

fn targets(doc: &Bitext) -> Vec<Option<String>> {
    doc.pairs.iter().map(|p| p.target.clone()).collect()
}

#[test]
fn translates_stores_and_rerun_sends_nothing() {
    let desk = Desk::new();
    let fake = Arc::new(Fake::new("m1"));
    let (w, o) = desk.run_doc(&fake, None);
    let (b, s) = (&w.doc, &w.summary);
    assert_eq!(s.segments, 4);
    assert_eq!((s.sent, s.from_memory, s.failed), (4, 0, 0));
    // Batches of two, each request counted once (how many depends on how
    // the segments arrived: the job sends them as it looks them up).
    let requests = *fake.requests.lock().unwrap();
    assert!((2..=4).contains(&requests), "{requests}");
    assert_eq!(o.totals.requests, requests);
    assert!(
        b.pairs
            .iter()
            .all(|p| p.origin == Origin::Mt && p.target.is_some())
    );
    assert_eq!(b.pairs[1].target.as_deref(), Some("EN[p2s1]"));
    assert_eq!(b.meta.summary.as_ref().unwrap().sent, 4);

    let again = Arc::new(Fake::new("m1"));
    let (w2, _) = desk.run_doc(&again, None);
    assert!(again.sent_ids().is_empty());
    assert_eq!((w2.summary.sent, w2.summary.from_memory), (0, 4));
    assert_eq!(targets(&w.doc), targets(&w2.doc));
    assert!(w2.doc.pairs.iter().all(|p| p.origin == Origin::Memory));
}

#[test]
fn changed_model_or_term_retranslates_only_what_it_affects() {
    let desk = Desk::new();
    desk.run_doc(&Arc::new(Fake::new("m1")), Some("the Taliban"));
    // Another target for the term: only the segment with the hit is sent.
    let f = Arc::new(Fake::new("m1"));
    desk.run_doc(&f, Some("Taliban movement"));
    let mut ids = f.sent_ids();
    ids.dedup(); // the term re-request sends it a second time
    assert_eq!(ids, ["p1s1"]);
    // Another model: everything is sent.
    let f = Arc::new(Fake::new("m2"));
    desk.run_doc(&f, Some("the Taliban"));
    let mut ids = f.sent_ids();
    ids.sort();
    ids.dedup();
    assert_eq!(ids, ["p1s1", "p2s1", "p2s2", "p3s1"]);
}

#[test]
fn missed_term_is_re_requested_once_with_the_surface_form() {
    let desk = Desk::new();
    let fake = Arc::new(Fake::new("m1"));
    let (w, o) = desk.run_doc(&fake, Some("the Taliban"));
    let (b, s) = (&w.doc, &w.summary);
    assert_eq!(o.re_requested, 1);
    let sent = fake.sent();
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
    let f = Arc::new(Fake::new("m1"));
    let (w2, _) = desk.run_doc(&f, Some("the Taliban"));
    assert!(f.sent_ids().is_empty());
    assert_eq!(w2.doc.pairs[0].target, b.pairs[0].target);
}

#[test]
fn still_missed_term_is_kept_and_flagged() {
    let desk = Desk::new();
    let mut fake = Fake::new("m1");
    fake.stubborn = true;
    let (w, o) = desk.run_doc(&Arc::new(fake), Some("the Taliban"));
    let b = &w.doc;
    assert_eq!(o.re_requested, 1);
    assert_eq!(
        b.pairs[0].target.as_deref(),
        Some("EN[p1s1] again"),
        "English is never rewritten; on a tie the re-request is kept"
    );
    assert_eq!(b.pairs[0].terms[0].honoured, Some(false));
    assert!(
        // The glossary's match is the word without its clitic.
        b.pairs[0].warnings[0].contains("pinned term missed: طالبان → the Taliban"),
        "{:?}",
        b.pairs[0].warnings
    );
    assert_eq!(w.summary.terms_missed, 1);
}

#[test]
fn failures_stay_in_the_document_and_a_rerun_fills_them_in() {
    let desk = Desk::new();
    let mut fake = Fake::new("m1");
    fake.fail = vec!["p2s2".into()];
    let (w, o) = desk.run_doc(&Arc::new(fake), None);
    assert_eq!(w.summary.failed, 1);
    assert_eq!(o.untranslated, 1);
    assert!(o.partial());
    let p = &w.doc.pairs[2];
    assert_eq!(
        (p.id.as_str(), p.target.as_ref(), p.origin),
        ("p2s2", None, Origin::None)
    );
    assert!(p.warnings[0].contains("HTTP 500"), "{:?}", p.warnings);
    let f = Arc::new(Fake::new("m1"));
    let (w2, o2) = desk.run_doc(&f, None);
    assert_eq!(f.sent_ids(), ["p2s2"]);
    let s2 = &w2.summary;
    assert_eq!((s2.failed, s2.from_memory, s2.sent), (0, 3, 1));
    assert!(w2.doc.pairs.iter().all(|p| p.target.is_some()));
    assert!(!o2.partial());
}

#[test]
fn an_interrupted_run_writes_what_it_has_and_marks_unsent_segments() {
    let desk = Desk::new();
    let fake = Arc::new(Fake::new("m1"));
    let (w, o) = desk.run(&[DOC], Some(fake.clone()), None, true);
    assert!(o.interrupted);
    assert!(o.partial());
    let sent = fake.sent_ids();
    assert!(!sent.is_empty() && sent.len() < 4, "{sent:?}");
    let b = &w[0].doc;
    assert_eq!(b.pairs.len(), 4, "the document is written with what it has");
    for p in &b.pairs {
        if sent.contains(&p.id) {
            assert_eq!(p.target, Some(format!("EN[{}]", p.id)));
        } else {
            assert_eq!(p.target, None);
            assert!(
                p.warnings[0].contains("rerun the same command to resume"),
                "{:?}",
                p.warnings
            );
        }
    }
    // The rerun sends only what was not sent.
    let again = Arc::new(Fake::new("m1"));
    let (w2, o2) = desk.run(&[DOC], Some(again.clone()), None, false);
    assert!(!o2.partial());
    assert_eq!(again.sent().len(), 4 - sent.len());
    assert!(w2[0].doc.pairs.iter().all(|p| p.target.is_some()));
}

#[test]
fn offline_uses_any_stored_translation_and_marks_the_rest() {
    let desk = Desk::new();
    desk.run_doc(&Arc::new(Fake::new("m1")), None);
    let segs = Segmenter::default().segment(DOC, SegmentOptions::default());
    desk.memory()
        .add_pairs(&[memory::NewPair {
            source: segs[1].text.clone(),
            target: "Peskov said the meeting was over.".into(),
            origin: memory::Provenance::Human,
            backend: None,
            model: None,
            created: None,
            document: None,
        }])
        .unwrap();
    let text = format!("{DOC}\n\nجملة خامسة لم تترجم من قبل.");
    let (w, o) = desk.run(&[&text], None, None, false);
    assert!(o.offline);
    assert!(!o.partial(), "an offline run has nothing to resume");
    let (b, s) = (&w[0].doc, &w[0].summary);
    assert_eq!((s.from_memory, s.sent), (4, 0));
    assert_eq!(b.pairs[1].origin, Origin::Human);
    assert_eq!(b.pairs[0].origin, Origin::Memory);
    assert_eq!(b.pairs[4].id, "p4s1");
    assert_eq!(b.pairs[4].target, None);
    assert_eq!(b.pairs[4].warnings, [OFFLINE_WARNING]);
}

#[test]
fn a_repeated_segment_is_sent_once() {
    let desk = Desk::new();
    let fake = Arc::new(Fake::new("m1"));
    let text = "جملة مكررة هنا.\n\nجملة أخرى.\n\nجملة  مكررة هنا.";
    let (w, _) = desk.run(&[text], Some(fake.clone()), None, false);
    assert_eq!(fake.sent_ids(), ["p1s1", "p2s1"]);
    let (b, s) = (&w[0].doc, &w[0].summary);
    assert_eq!(s.sent, 2);
    assert_eq!(b.pairs[2].target.as_deref(), Some("EN[p1s1]"));
    assert_eq!(b.pairs[2].origin, Origin::Mt);
    assert!(b.pairs[2].warnings.is_empty());
}

#[test]
fn a_segment_repeated_in_another_document_is_sent_once_and_each_output_holds_its_own() {
    let desk = Desk::new();
    let fake = Arc::new(Fake::new("m1"));
    let (w, o) = desk.run(
        &[DOC, "جملة رابعة هنا.\n\nجملة أخرى جديدة."],
        Some(fake.clone()),
        None,
        false,
    );
    assert_eq!(o.documents, 2);
    assert_eq!(fake.sent().len(), 5, "{:?}", fake.sent_ids());
    assert_eq!(w[0].doc.pairs.len(), 4);
    assert_eq!(w[1].doc.pairs.len(), 2);
    let ids: Vec<&str> = w[1].doc.pairs.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["p1s1", "p2s1"]);
    assert_eq!(w[0].doc.pairs[3].target, w[1].doc.pairs[0].target);
    assert!(
        w.iter()
            .all(|w| w.doc.pairs.iter().all(|p| p.target.is_some()))
    );
}
