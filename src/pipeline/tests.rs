use super::*;
use crate::segment::{SegmentOptions, Segmenter};

/// The engine as the pipeline sees it (the driver's tests, with an engine
/// that answers, are in `crate::job`).
fn info() -> EngineInfo {
    EngineInfo {
        name: "fake".into(),
        kind: BackendKind::Openai,
        url: "http://127.0.0.1:1/v1".into(),
        model: Some("m1".into()),
        prompt_version: "t1".into(),
        term_mode: TermMode::Prompt,
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
    Settings::new(crate::glossary::check::check_terms)
}

#[test]
fn requests_carry_context_and_terms() {
    let mem = Memory::open_in_memory().unwrap();
    let info = info();
    let p = prepare(
        &mem,
        DocMeta::default(),
        segments(),
        hits("the Taliban"),
        Some(&info),
        &settings(),
    )
    .unwrap();
    let r = p.requests(Some(&info));
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
    let mut off = info.clone();
    off.term_mode = TermMode::Off;
    assert!(p.requests(Some(&off))[0].terms.is_empty());
}

#[test]
fn a_repeated_segment_is_pending_twice_and_sent_once() {
    let mem = Memory::open_in_memory().unwrap();
    let segs = Segmenter::default().segment(
        "جملة مكررة هنا.\n\nجملة أخرى.\n\nجملة  مكررة هنا.",
        SegmentOptions::default(),
    );
    let p = prepare(
        &mem,
        DocMeta::default(),
        segs,
        vec![],
        Some(&info()),
        &settings(),
    )
    .unwrap();
    assert_eq!(p.pending.len(), 3);
    assert_eq!(p.to_send(), [0, 1]);
    assert_eq!(p.requests(Some(&info())).len(), 2);
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
