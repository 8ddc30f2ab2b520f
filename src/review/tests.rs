use super::*;
use crate::output::Format;
use crate::output::review::{merge, read_reviewed};

const DRAFT: &str = "tests/fixtures/output_seed.jsonl";

fn setup(name: &str) -> (PathBuf, Memory) {
    let dir =
        std::env::temp_dir().join(format!("tarjama-review-unit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let draft = dir.join("a.jsonl");
    std::fs::copy(DRAFT, &draft).unwrap();
    (draft, Memory::open_in_memory().unwrap())
}

#[test]
fn an_edit_is_checked_stored_as_human_and_resumed() {
    let (draft, mut memory) = setup("edit");
    let mut s = Session::open(&draft, None).unwrap();
    let i = s.position("p6s1").unwrap();
    assert!(output::is_flagged(&s.doc.pairs[i]));
    let saved = s
        .save(
            "p6s1",
            &SaveRequest {
                text: "The Taliban's minister went to Russia for the Moscow Format; the Taliban have not commented.",
                base_rev: 0,
                accept: false,
                commit: true,
            },
            Some(&mut memory),
            None,
        )
        .unwrap();
    assert_eq!(saved.rev, 1);
    assert_eq!(saved.status, ReviewStatus::Edited);
    assert_eq!(saved.replaced, None);
    let p = &s.doc.pairs[i];
    assert_eq!(p.origin, Origin::Human);
    assert!(p.warnings.is_empty());
    assert!(
        p.terms.iter().all(|t| t.honoured == Some(true)),
        "{:?}",
        p.terms
    );
    assert!(!output::is_flagged(p));
    let hit = memory.lookup_human(&p.source).unwrap().unwrap();
    assert_eq!(
        hit.target,
        "The Taliban's minister went to Russia for the Moscow Format; the Taliban have not commented."
    );

    // Accepting another unchanged stores it as reviewed.
    let j = s.position("p5s1").unwrap();
    let machine = s.machine(j).unwrap().to_string();
    let a = s
        .save(
            "p5s1",
            &SaveRequest {
                text: &machine,
                base_rev: 0,
                accept: true,
                commit: true,
            },
            Some(&mut memory),
            None,
        )
        .unwrap();
    assert_eq!(a.status, ReviewStatus::Accepted);
    let any = memory.lookup_any(&s.doc.pairs[j].source).unwrap().unwrap();
    assert_eq!(any.origin, Provenance::Reviewed);

    // Resume: same state from the review file.
    let again = Session::open(&draft, None).unwrap();
    assert_eq!(
        again.doc.pairs[i].target.as_deref(),
        Some(
            "The Taliban's minister went to Russia for the Moscow Format; the Taliban have not commented."
        )
    );
    assert_eq!(again.state(i).rev, 1);
    assert_eq!(again.state(j).status, ReviewStatus::Accepted);
    assert_eq!(again.cursor.as_deref(), Some("p5s1"));

    // render reads the review file and counts the edit against the draft's English.
    let text = std::fs::read_to_string(review_path(&draft)).unwrap();
    let reviewed = read_reviewed("a.review.jsonl", &text, Format::Jsonl).unwrap();
    let (doc, report) = merge(&reviewed, None, &|p, e| recheck_terms(&p.terms, e)).unwrap();
    assert!(report.edits_known);
    assert_eq!(report.edits.len(), 1);
    assert_eq!(report.edits[0].id, "p6s1");
    assert_eq!(
        doc.pairs[i].target.as_deref(),
        Some(
            "The Taliban's minister went to Russia for the Moscow Format; the Taliban have not commented."
        )
    );
    let _ = std::fs::remove_dir_all(draft.parent().unwrap());
}

#[test]
fn a_stale_save_wins_and_names_what_it_replaced() {
    let (draft, _) = setup("tabs");
    let mut s = Session::open(&draft, None).unwrap();
    let a = s
        .save(
            "p4s1",
            &SaveRequest {
                text: "Tab A.",
                base_rev: 0,
                accept: false,
                commit: false,
            },
            None,
            None,
        )
        .unwrap();
    assert_eq!(a.rev, 1);
    let b = s
        .save(
            "p4s1",
            &SaveRequest {
                text: "Tab B.",
                base_rev: 0,
                accept: false,
                commit: false,
            },
            None,
            None,
        )
        .unwrap();
    assert_eq!(b.rev, 2);
    assert_eq!(b.replaced.as_deref(), Some("Tab A."));
    let i = s.position("p4s1").unwrap();
    assert_eq!(s.doc.pairs[i].target.as_deref(), Some("Tab B."));
    assert_eq!(s.revisions()[i], ("p4s1", 2));
    // Saving the draft's English again puts the row back to draft.
    let machine = s.machine(i).unwrap().to_string();
    let c = s
        .save(
            "p4s1",
            &SaveRequest {
                text: &machine,
                base_rev: 2,
                accept: false,
                commit: false,
            },
            None,
            None,
        )
        .unwrap();
    assert_eq!(c.status, ReviewStatus::Draft);
    assert!(
        s.save(
            "nope",
            &SaveRequest {
                text: "x",
                base_rev: 0,
                accept: false,
                commit: false,
            },
            None,
            None,
        )
        .is_err()
    );
    let _ = std::fs::remove_dir_all(draft.parent().unwrap());
}

#[test]
fn uncommitted_saves_reach_the_memory_on_the_next_start() {
    let (draft, mut memory) = setup("pending");
    let mut s = Session::open(&draft, None).unwrap();
    s.save(
        "p7s1",
        &SaveRequest {
            text: "Typed, not committed.",
            base_rev: 0,
            accept: false,
            commit: false,
        },
        Some(&mut memory),
        None,
    )
    .unwrap();
    let src = s.doc.pairs[s.position("p7s1").unwrap()].source.clone();
    assert!(memory.lookup_human(&src).unwrap().is_none());
    let mut again = Session::open(&draft, None).unwrap();
    assert_eq!(again.store_pending(&mut memory).unwrap(), 1);
    assert_eq!(
        memory.lookup_human(&src).unwrap().unwrap().target,
        "Typed, not committed."
    );
    assert_eq!(again.store_pending(&mut memory).unwrap(), 0);
    let _ = std::fs::remove_dir_all(draft.parent().unwrap());
}

#[test]
fn a_review_file_of_another_draft_is_refused() {
    let (draft, _) = setup("stale");
    let mut s = Session::open(&draft, None).unwrap();
    s.save(
        "p4s1",
        &SaveRequest {
            text: "x",
            base_rev: 0,
            accept: false,
            commit: false,
        },
        None,
        None,
    )
    .unwrap();
    let text = std::fs::read_to_string(&draft).unwrap();
    std::fs::write(
        &draft,
        text.replacen("أعلنت الخارجية الروسية", "أعلنت الخارجية", 1),
    )
    .unwrap();
    let err = Session::open(&draft, None).err().unwrap().to_string();
    assert!(
        err.contains("another version") && err.contains("p4s1"),
        "{err}"
    );
    // A review file is not a draft.
    let err = Session::open(&review_path(&draft), None)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("is a review file"), "{err}");
    let _ = std::fs::remove_dir_all(draft.parent().unwrap());
}

#[test]
fn a_term_added_from_the_page_is_checked_everywhere() {
    let (draft, _) = setup("term");
    let gpath = draft.with_file_name("g.tsv");
    std::fs::write(&gpath, "source\ttarget\nروسيا\tRussia\n").unwrap();
    let (mut g, _) = ReviewGlossary::load(vec![gpath.clone()]).unwrap();
    let mut s = Session::open(&draft, Some(&g)).unwrap();
    let i = s.position("p3s1").unwrap();
    assert!(s.doc.pairs[i].terms.is_empty());
    let (path, line) = s.add_term(&mut g, "محمد شعت", "Mohamed Shaat").unwrap();
    assert_eq!((path, line), (gpath.clone(), 3));
    let changed = s.recheck(&g).unwrap();
    assert!(changed.contains(&i), "{changed:?}");
    assert_eq!(s.doc.pairs[i].terms[0].honoured, Some(true));
    // The same entry again is refused, as `glossary add` refuses it.
    assert!(s.add_term(&mut g, "محمد شعت", "Mohamed Shaat").is_err());
    let _ = std::fs::remove_dir_all(draft.parent().unwrap());
}

#[test]
fn review_file_names() {
    assert_eq!(
        review_path(Path::new("d/a.jsonl")),
        Path::new("d/a.review.jsonl")
    );
    assert!(is_review_file(Path::new("d/a.review.jsonl")));
    assert!(!is_review_file(Path::new("d/a.jsonl")));
}

#[test]
fn the_page_shows_both_answers_of_a_re_requested_segment() {
    let (draft, _) = setup("history");
    let text = std::fs::read_to_string(&draft).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let k = lines.iter().position(|l| l.contains("\"p5s1\"")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&lines[k]).unwrap();
    v["history"] = serde_json::json!([
        {"request": "first", "target": "First <English>", "terms_missed": 1, "kept": false,
         "why": "it missed as many pinned terms as the re-request (1)"},
        {"request": "re-request", "target": v["target"], "terms_missed": 1, "kept": true,
         "why": "it missed as many pinned terms as the first answer (1) and was asked with the terms insisted on"}
    ]);
    lines[k] = v.to_string();
    std::fs::write(&draft, lines.join("\n") + "\n").unwrap();
    let s = Session::open(&draft, None).unwrap();
    let i = s.position("p5s1").unwrap();
    assert_eq!(s.doc.pairs[i].history.len(), 2);
    let notes = page::row_parts(&s, i).notes;
    assert!(
        notes.contains("first (set aside): “First &lt;English&gt;”"),
        "{notes}"
    );
    assert!(notes.contains("re-request (kept)"), "{notes}");
    let _ = std::fs::remove_dir_all(draft.parent().unwrap());
}
