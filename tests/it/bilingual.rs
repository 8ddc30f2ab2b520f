//! Real human translations (Global Voices, Arabic and English, see
//! tests/fixtures/bilingual/README.md) against the checks that judge an
//! engine's English: the alignment check must not fire on correct pairs
//! (its false-alarm rate, stated in README, must stay under 1% of
//! segments) and must catch pairs given each other's English; the term
//! check must pass every reference English for the terms the fixture's
//! glossary pins. The measured figures are printed (`--nocapture`).

use std::path::PathBuf;

use tarjama::backend::align::{first_words, misaligned};
use tarjama::glossary::Glossary;
use tarjama::glossary::check::check_terms;
use tarjama::glossary::matcher::Matcher;
use tarjama::model::{Context, PinnedTerm, Request, Segment};

const DIR: &str = "tests/fixtures/bilingual";
/// The LLM backends' batch size (`config::Defaults::batch_size`).
const BATCH: usize = 8;

struct Pair {
    doc: String,
    ar: String,
    en: String,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn pairs() -> Vec<Pair> {
    let text = std::fs::read_to_string(repo().join(DIR).join("globalvoices-ar-en.txt")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(" ||| ").collect();
            assert_eq!(f.len(), 5, "{l}");
            Pair {
                doc: f[0].to_string(),
                ar: f[3].to_string(),
                en: f[4].to_string(),
            }
        })
        .collect()
}

fn matcher() -> Matcher {
    let (g, _) = Glossary::load(&[repo().join(DIR).join("globalvoices-glossary.tsv")]).unwrap();
    Matcher::new(&g)
}

fn segment(i: usize, text: &str) -> Segment {
    Segment {
        id: format!("p{}s1", i + 1),
        para: i + 1,
        index: 1,
        text: text.to_string(),
        start: 0,
        end: text.chars().count(),
    }
}

/// The requests an engine would send for the pairs: each Arabic with the
/// terms the glossary pins in it.
fn requests(pairs: &[Pair], m: &Matcher) -> Vec<Request> {
    pairs
        .iter()
        .enumerate()
        .map(|(i, p)| Request {
            id: format!("p{}s1", i + 1),
            text: p.ar.clone(),
            terms: m
                .find(&segment(i, &p.ar))
                .into_iter()
                .map(|h| PinnedTerm {
                    source: h.source,
                    target: h.target,
                })
                .collect(),
            context: Context::default(),
            insist: false,
        })
        .collect()
}

/// Segments flagged when each batch of [`BATCH`] gets `answers`.
fn flagged(reqs: &[Request], answers: &[(String, Option<String>)]) -> Vec<bool> {
    reqs.chunks(BATCH)
        .zip(answers.chunks(BATCH))
        .flat_map(|(r, a)| misaligned(r, a))
        .collect()
}

#[test]
fn the_alignment_check_passes_real_human_translations_and_catches_swaps() {
    let pairs = pairs();
    assert!(pairs.len() >= 80, "{}", pairs.len());
    let m = matcher();
    let reqs = requests(&pairs, &m);
    let mut report = Vec::new();
    for echo in [true, false] {
        // The model copies the first words of the source it translated (or
        // leaves the field out).
        let answer = |p: &Pair| (p.en.clone(), echo.then(|| first_words(&p.ar)));
        let correct: Vec<_> = pairs.iter().map(answer).collect();
        let alarms: Vec<usize> = flagged(&reqs, &correct)
            .iter()
            .enumerate()
            .filter(|(_, f)| **f)
            .map(|(i, _)| i)
            .collect();
        for &i in &alarms {
            eprintln!(
                "false alarm (echo {echo}): {} {:?} / {:?}",
                pairs[i].doc, pairs[i].ar, pairs[i].en
            );
        }
        // More chances to fire: every window of BATCH consecutive segments
        // as a batch, each segment judged next to other neighbours.
        let (mut slots, mut window_alarms) = (0usize, 0usize);
        for start in 0..=pairs.len() - BATCH {
            let f = misaligned(&reqs[start..start + BATCH], &correct[start..start + BATCH]);
            slots += f.len();
            window_alarms += f.iter().filter(|x| **x).count();
        }
        assert!(window_alarms * 100 < slots, "{window_alarms}/{slots}");
        // Swaps: in each batch, every two segments given each other's
        // English (the copied words travel with the English).
        let (mut swaps, mut caught) = (0usize, 0usize);
        for start in (0..pairs.len()).step_by(BATCH) {
            let end = (start + BATCH).min(pairs.len());
            for i in start..end {
                for j in i + 1..end {
                    let mut a: Vec<_> = correct[start..end].to_vec();
                    a.swap(i - start, j - start);
                    let f = misaligned(&reqs[start..end], &a);
                    swaps += 1;
                    if f[i - start] && f[j - start] {
                        caught += 1;
                    }
                }
            }
        }
        let rate = alarms.len() as f64 / pairs.len() as f64;
        report.push(format!(
            "ar_start copied: {echo}: false alarms {}/{} segments ({:.1}%), {window_alarms}/{slots} over every window of {BATCH}; swaps caught {caught}/{swaps} ({:.1}%)",
            alarms.len(),
            pairs.len(),
            rate * 100.0,
            caught as f64 * 100.0 / swaps as f64
        ));
        assert!(
            rate < 0.01,
            "false-alarm rate {:.1}% (echo {echo})",
            rate * 100.0
        );
        if echo {
            // With the copied words, a swap is nearly always seen.
            assert!(caught * 10 >= swaps * 9, "{caught}/{swaps}");
        }
    }
    for r in report {
        eprintln!("{r}");
    }
}

#[test]
fn the_term_check_passes_every_reference_english() {
    let pairs = pairs();
    let m = matcher();
    let mut checked = 0;
    let mut missed = Vec::new();
    for (i, p) in pairs.iter().enumerate() {
        let hits = m.find(&segment(i, &p.ar));
        for c in check_terms(&hits, &p.en) {
            checked += 1;
            if c.honoured == Some(false) {
                missed.push(format!("{} ({}) in {:?}", c.target, c.surface, p.en));
            }
        }
    }
    eprintln!(
        "term check: {checked} pinned-term hits, {} missed",
        missed.len()
    );
    // The glossary pins terms in most documents; every hit is checked.
    assert!(checked >= 40, "{checked}");
    assert!(missed.is_empty(), "{missed:#?}");
}
