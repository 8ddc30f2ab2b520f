//! Real human translations against the checks that judge an engine's
//! English (tests/fixtures/bilingual/README.md): 86 Global Voices pairs and
//! the 1012 sentences of FLORES-200 devtest (341 of them Wikinews, the rest
//! Wikivoyage and Wikibooks), each in document order. The alignment check
//! must not fire on correct pairs (its false-alarm rate, stated in README,
//! must stay under 1% of segments, and the news sample is large enough to
//! show it at 95% confidence) and must catch pairs given each other's
//! English; the term check must pass every reference English for the terms
//! the glossaries pin (the fixture's own for Global Voices, the starter
//! glossaries for FLORES). Merged answers (one entry translating two
//! neighbours) are searched in every shape the samples offer and must all
//! be caught. The measured figures are printed (`--nocapture`); the merged
//! answers of FLORES are tried in every window of 8 only under
//! `TARJAMA_LONG_TESTS=1` (in batches of 8 otherwise).

use std::path::PathBuf;

use serde_json::json;
use tarjama::backend::align::{first_words, misaligned, misaligned_scores, scores};
use tarjama::backend::llm::{check_answers, local_id};
use tarjama::glossary::Glossary;
use tarjama::glossary::check::{check_terms, occurrences, tokens};
use tarjama::glossary::matcher::Matcher;
use tarjama::model::{Context, PinnedTerm, Request, Segment};

const DIR: &str = "tests/fixtures/bilingual";
/// The LLM backends' batch size (`config::Defaults::batch_size`).
const BATCH: usize = 8;

fn long() -> bool {
    std::env::var("TARJAMA_LONG_TESTS").is_ok_and(|v| v == "1")
}

struct Pair {
    doc: String,
    ar: String,
    en: String,
}

/// A bilingual sample with the glossaries a translator would use on it.
struct Sample {
    name: &'static str,
    pairs: Vec<Pair>,
    matcher: Matcher,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn lines(file: &str) -> Vec<String> {
    std::fs::read_to_string(repo().join(DIR).join(file))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn matcher(paths: &[PathBuf]) -> Matcher {
    let (g, _) = Glossary::load(paths).unwrap();
    Matcher::new(&g)
}

/// The Global Voices pairs, with the fixture's glossary.
fn globalvoices() -> Sample {
    let pairs = lines("globalvoices-ar-en.txt")
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split(" ||| ").collect();
            assert_eq!(f.len(), 5, "{l}");
            Pair {
                doc: f[0].to_string(),
                ar: f[3].to_string(),
                en: f[4].to_string(),
            }
        })
        .collect();
    Sample {
        name: "Global Voices",
        pairs,
        matcher: matcher(&[repo().join(DIR).join("globalvoices-glossary.tsv")]),
    }
}

/// The starter glossaries (`tarjama glossary init`).
fn starter_glossaries() -> Vec<PathBuf> {
    let dir = repo().join("glossaries");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "tsv"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 4, "{paths:?}");
    paths
}

/// FLORES-200 devtest, in file order; `news`: the Wikinews sentences only.
fn flores(news: bool) -> Sample {
    let pairs: Vec<Pair> = lines("flores200-devtest-arb-eng.tsv")
        .iter()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .inspect(|f| assert_eq!(f.len(), 5, "{f:?}"))
        .filter(|f| !news || f[1] == "wikinews")
        .map(|f| Pair {
            doc: f[2].to_string(),
            ar: f[3].to_string(),
            en: f[4].to_string(),
        })
        .collect();
    Sample {
        name: if news {
            "FLORES-200 devtest, Wikinews"
        } else {
            "FLORES-200 devtest, all"
        },
        pairs,
        matcher: matcher(&starter_glossaries()),
    }
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
fn requests(sample: &Sample) -> Vec<Request> {
    sample
        .pairs
        .iter()
        .enumerate()
        .map(|(i, p)| Request {
            id: format!("p{}s1", i + 1),
            text: p.ar.clone(),
            terms: sample
                .matcher
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

/// What the alignment check did on one sample, with or without the copied
/// first words.
#[derive(Default, Clone, Copy)]
struct Figures {
    segments: usize,
    /// segments flagged when the sample is cut into batches of [`BATCH`]
    alarms: usize,
    /// judgements and alarms when every window of [`BATCH`] is a batch
    slots: usize,
    window_alarms: usize,
    swaps: usize,
    swaps_caught: usize,
    rotations: usize,
    rotations_caught: usize,
}

impl std::ops::AddAssign for Figures {
    fn add_assign(&mut self, o: Figures) {
        self.segments += o.segments;
        self.alarms += o.alarms;
        self.slots += o.slots;
        self.window_alarms += o.window_alarms;
        self.swaps += o.swaps;
        self.swaps_caught += o.swaps_caught;
        self.rotations += o.rotations;
        self.rotations_caught += o.rotations_caught;
    }
}

fn pct(a: usize, b: usize) -> f64 {
    a as f64 * 100.0 / b as f64
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "false alarms {}/{} segments ({:.2}%), {}/{} over every window of {BATCH}; swaps caught {}/{} ({:.1}%); three-way rotations caught {}/{} ({:.1}%)",
            self.alarms,
            self.segments,
            pct(self.alarms, self.segments),
            self.window_alarms,
            self.slots,
            self.swaps_caught,
            self.swaps,
            pct(self.swaps_caught, self.swaps),
            self.rotations_caught,
            self.rotations,
            pct(self.rotations_caught, self.rotations),
        )
    }
}

/// The judgement of the check when the batch's answers are permuted:
/// `perm[i]` is the answer given to segment `i`. The scores of every answer
/// against every source do not depend on the order, so they are computed
/// once per batch (`m`) and the permutation is applied to them.
fn judged(m: &[Vec<f64>], perm: &[usize]) -> Vec<bool> {
    let p: Vec<Vec<f64>> = m
        .iter()
        .map(|row| perm.iter().map(|&j| row[j]).collect())
        .collect();
    misaligned_scores(&p)
}

/// Runs the alignment check over `sample`: false alarms on the correct
/// answers (in batches and in every window), every exchange of two answers
/// in each batch, and every rotation of three, both ways round.
fn alignment(sample: &Sample, echo: bool) -> Figures {
    let pairs = &sample.pairs;
    let reqs = requests(sample);
    // The model copies the first words of the source it translated (or
    // leaves the field out).
    let correct: Vec<_> = pairs
        .iter()
        .map(|p| (p.en.clone(), echo.then(|| first_words(&p.ar))))
        .collect();
    let mut fig = Figures {
        segments: pairs.len(),
        ..Figures::default()
    };
    for (start, (r, a)) in reqs.chunks(BATCH).zip(correct.chunks(BATCH)).enumerate() {
        for (k, f) in misaligned(r, a).into_iter().enumerate() {
            if f {
                let p = &pairs[start * BATCH + k];
                fig.alarms += 1;
                eprintln!(
                    "false alarm ({}, echo {echo}): {} {:?} / {:?}",
                    sample.name, p.doc, p.ar, p.en
                );
            }
        }
    }
    // More chances to fire: every window of BATCH consecutive segments as
    // a batch, each segment judged next to other neighbours.
    for start in 0..=pairs.len() - BATCH {
        let f = misaligned(&reqs[start..start + BATCH], &correct[start..start + BATCH]);
        fig.slots += f.len();
        fig.window_alarms += f.iter().filter(|x| **x).count();
    }
    for start in (0..pairs.len()).step_by(BATCH) {
        let end = (start + BATCH).min(pairs.len());
        let n = end - start;
        let m = scores(&reqs[start..end], &correct[start..end]);
        // Swaps: every two segments given each other's English (the
        // copied words travel with the English).
        for i in 0..n {
            for j in i + 1..n {
                let mut perm: Vec<usize> = (0..n).collect();
                perm.swap(i, j);
                let f = judged(&m, &perm);
                if start == 0 {
                    // the shortcut is the check itself
                    let answers: Vec<_> = perm.iter().map(|&k| correct[k].clone()).collect();
                    assert_eq!(f, misaligned(&reqs[..n], &answers));
                }
                fig.swaps += 1;
                if f[i] && f[j] {
                    fig.swaps_caught += 1;
                } else if echo {
                    eprintln!(
                        "swap missed ({}): {:?} / {:?} <-> {:?} / {:?}",
                        sample.name,
                        pairs[start + i].ar,
                        pairs[start + i].en,
                        pairs[start + j].ar,
                        pairs[start + j].en
                    );
                }
            }
        }
        // Rotations: every three segments (neighbours or not) each given
        // the next one's English, both ways round.
        for i in 0..n {
            for j in i + 1..n {
                for k in j + 1..n {
                    for (x, y, z) in [(i, j, k), (i, k, j)] {
                        let mut perm: Vec<usize> = (0..n).collect();
                        perm[x] = y;
                        perm[y] = z;
                        perm[z] = x;
                        let f = judged(&m, &perm);
                        fig.rotations += 1;
                        if f[x] && f[y] && f[z] {
                            fig.rotations_caught += 1;
                        }
                    }
                }
            }
        }
    }
    fig
}

/// The 95% upper confidence bound on a rate of which `k` events were seen
/// in `n` trials (Clopper–Pearson, found by bisection on the binomial
/// tail).
fn upper_bound(k: usize, n: usize) -> f64 {
    // P(X <= k) for X ~ Binomial(n, p)
    let cdf = |p: f64| {
        let (mut term, mut sum) = ((1.0 - p).powi(n as i32), 0.0);
        for i in 0..=k {
            sum += term;
            term *= (n - i) as f64 / (i + 1) as f64 * p / (1.0 - p);
        }
        sum
    };
    let (mut lo, mut hi) = (k as f64 / n as f64, 1.0);
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        if cdf(mid) > 0.05 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

#[test]
fn the_confidence_bound_is_clopper_pearson() {
    // zero events: 1 - 0.05^(1/n), the "rule of three" for large n
    assert!((upper_bound(0, 86) - 0.0342).abs() < 1e-4);
    assert!((upper_bound(0, 300) - (1.0 - 0.05f64.powf(1.0 / 300.0))).abs() < 1e-9);
    // one event in 100: 4.66% (tables)
    assert!((upper_bound(1, 100) - 0.0466).abs() < 1e-3);
}

#[test]
fn the_alignment_check_passes_real_human_translations_and_catches_swaps() {
    let gv = globalvoices();
    let news = flores(true);
    assert!(gv.pairs.len() >= 80, "{}", gv.pairs.len());
    assert!(news.pairs.len() >= 300, "{}", news.pairs.len());
    let all = flores(false);
    assert!(all.pairs.len() >= 1000, "{}", all.pairs.len());
    let mut report = Vec::new();
    for echo in [true, false] {
        let mut news_total = Figures::default();
        let mut total = Figures::default();
        for (sample, is_news) in [(&gv, true), (&news, true), (&all, false)] {
            let fig = alignment(sample, echo);
            report.push(format!("ar_start copied: {echo}: {}: {fig}", sample.name));
            if is_news {
                news_total += fig;
            }
            if sample.name != news.name {
                // the news sentences are inside the whole of FLORES
                total += fig;
            }
            // Under 1% on each sample, in batches and in every window.
            assert!(
                fig.alarms * 100 < fig.segments,
                "{} (echo {echo}): {fig}",
                sample.name
            );
            assert!(
                fig.window_alarms * 100 < fig.slots,
                "{} (echo {echo}): {fig}",
                sample.name
            );
        }
        for (name, fig) in [("news", news_total), ("all", total)] {
            let bound = upper_bound(fig.alarms, fig.segments);
            report.push(format!(
                "ar_start copied: {echo}: {name}: {fig}; false-alarm rate below {:.2}% (95% confidence)",
                bound * 100.0
            ));
        }
        // The news sample alone shows the rate under 1% at 95% confidence.
        assert!(
            upper_bound(news_total.alarms, news_total.segments) < 0.01,
            "echo {echo}: {news_total}"
        );
        // Lower bounds: what was measured (README states the figures). With
        // the copied words, only two sentences that begin with the same
        // three words can be exchanged unseen.
        let (swaps, rotations) = if echo { (3826, 15280) } else { (1062, 5912) };
        assert_eq!((total.swaps, total.rotations), (3829, 15280));
        assert!(total.swaps_caught >= swaps, "echo {echo}: {total}");
        assert!(total.rotations_caught >= rotations, "echo {echo}: {total}");
    }
    for r in report {
        eprintln!("{r}");
    }
}

#[test]
fn the_term_check_passes_every_reference_english() {
    for (sample, least) in [(globalvoices(), 40), (flores(false), 200)] {
        let mut checked = 0;
        let mut missed = Vec::new();
        // a name the Arabic repeats, said fewer times in the English ("…
        // across Indonesia, with 17,000 islands in Indonesia" → "… across
        // the nation"): occurrences count (a misspelt second mention must
        // be found), so these are flagged for the reviewer
        let mut repeated = Vec::new();
        for (i, p) in sample.pairs.iter().enumerate() {
            let hits = sample.matcher.find(&segment(i, &p.ar));
            for c in check_terms(&hits, &p.en) {
                checked += 1;
                if c.honoured != Some(false) {
                    continue;
                }
                let n = hits
                    .iter()
                    .filter(|h| !h.ambiguous && h.target == c.target)
                    .count();
                let line = format!("{} ({}) in {:?}", c.target, c.surface, p.en);
                if n > 1 && occurrences(&c.target, &tokens(&p.en)) >= 1 {
                    repeated.push(line);
                } else {
                    missed.push(line);
                }
            }
        }
        eprintln!(
            "term check, {}: {checked} pinned-term hits, {} missed, {} more of a name repeated in the Arabic said fewer times in the English",
            sample.name,
            missed.len(),
            repeated.len()
        );
        for r in &repeated {
            eprintln!("  repeated name: {r}");
        }
        // The glossaries pin terms in many sentences; every hit is checked.
        assert!(checked >= least, "{}: {checked}", sample.name);
        assert!(missed.is_empty(), "{}: {missed:#?}", sample.name);
        assert!(
            repeated.len() * 50 <= checked,
            "{}: {repeated:#?}",
            sample.name
        );
    }
}

/// Whether an English ends with a sentence mark (a quote or bracket may
/// follow).
fn ends_a_sentence(en: &str) -> bool {
    en.trim_end_matches(|c: char| c.is_whitespace() || "\"'”’)".contains(c))
        .ends_with(['.', '!', '?', ':'])
}

/// Whether an English starts as a sentence does (a capital or a digit,
/// after any opening quote).
fn starts_a_sentence(en: &str) -> bool {
    en.trim_start_matches(|c: char| c.is_whitespace() || "\"'“‘(".contains(c))
        .starts_with(|c: char| c.is_uppercase() || c.is_ascii_digit())
}

/// The answer content for a batch: `entries` as (local id, English, copied
/// first words) in order.
fn content(entries: &[(String, String, Option<String>)]) -> String {
    let items: Vec<_> = entries
        .iter()
        .map(|(id, en, echo)| match echo {
            Some(e) => json!({"id": id, "ar_start": e, "en": en}),
            None => json!({"id": id, "en": en}),
        })
        .collect();
    json!({ "translations": items }).to_string()
}

/// Whether the answer check rejects segment `k` of `batch` for `entries`.
fn rejected(batch: &[Request], entries: &[(String, String, Option<String>)], k: usize) -> bool {
    check_answers(batch, &content(entries), Some("stop"))
        .unwrap()
        .each[k]
        .is_err()
}

#[test]
fn merged_answers_are_caught_in_every_shape_of_the_sample() {
    let mut report = Vec::new();
    let mut missed = Vec::new();
    // Global Voices in every window of BATCH; FLORES in batches of BATCH
    // (every window under TARJAMA_LONG_TESTS: four times slower).
    for (sample, step) in [
        (globalvoices(), 1),
        (flores(false), if long() { 1 } else { BATCH }),
    ] {
        merged_in(&sample, step, &mut report, &mut missed);
    }
    for r in report {
        eprintln!("{r}");
    }
    missed.sort();
    missed.dedup();
    assert!(
        missed.is_empty(),
        "{} missed:\n{}",
        missed.len(),
        missed.join("\n")
    );
}

/// Every two neighbours of each batch (the windows of [`BATCH`] pairs that
/// start every `step` pairs) merged, in each shape a model gives them.
fn merged_in(sample: &Sample, step: usize, report: &mut Vec<String>, missed: &mut Vec<String>) {
    let pairs = &sample.pairs;
    let reqs = requests(sample);
    let name = sample.name;
    for echo in [true, false] {
        let (mut shapes, mut caught, mut alarms, mut clean) = (0usize, 0usize, 0usize, 0usize);
        let (mut unseeable, missed_before) = (0usize, missed.len());
        // Each window of BATCH consecutive pairs is a batch; in each, every
        // two neighbours merged, in each shape a model gives them.
        for start in (0..=pairs.len() - BATCH).step_by(step) {
            let batch = &reqs[start..start + BATCH];
            let entry = |k: usize, en: String| {
                let p = &pairs[start + k];
                (local_id(k), en, echo.then(|| first_words(&p.ar)))
            };
            let correct: Vec<_> = (0..BATCH)
                .map(|k| entry(k, pairs[start + k].en.clone()))
                .collect();
            for a in 0..BATCH - 1 {
                let b = a + 1;
                let joined = format!("{} {}", pairs[start + a].en, pairs[start + b].en);
                // (what the answer holds, the segment that must be rejected)
                let mut into_first = correct.clone();
                into_first[a].1 = joined.clone();
                let mut into_first_gone = into_first.clone();
                into_first_gone.remove(b);
                let mut into_second = correct.clone();
                into_second[b].1 = joined.clone();
                into_second[b].2 = correct[a].2.clone();
                let mut into_second_gone = into_second.clone();
                into_second_gone.remove(a);
                // where the two Englishes meet: at a sentence boundary, or
                // not (a headline without a full stop, a next sentence in
                // lower case)
                let boundary = ends_a_sentence(&pairs[start + a].en)
                    && starts_a_sentence(&pairs[start + b].en);
                for (shape, entries, k) in [
                    ("into the first, second missing", into_first_gone, a),
                    ("into the first, second also given", into_first, a),
                    ("into the second, first missing", into_second_gone, b),
                    ("into the second, first also given", into_second, b),
                ] {
                    shapes += 1;
                    // the copied first words are the first source's: they
                    // tell a merge into the second, not one into the first
                    let told_by_echo = echo && k == b;
                    if rejected(batch, &entries, k) {
                        caught += 1;
                    } else if !told_by_echo && !boundary {
                        // Nothing but the copied first words tells a
                        // headline run into the next sentence ("Painful ,
                        // but no surprise Jomhour regrets …") from one
                        // sentence: counted, not a failure.
                        unseeable += 1;
                    } else {
                        missed.push(format!(
                            "{name}, echo {echo}, {shape}: {:?} + {:?}",
                            pairs[start + a].en,
                            pairs[start + b].en
                        ));
                    }
                }
                // The cost of the check: a correct answer whose neighbour's
                // entry is missing (dropped, not merged) is not rejected.
                for (gone, k) in [(b, a), (a, b)] {
                    // entries keep their local ids: the batch still has
                    // BATCH segments, one of them unanswered
                    let mut dropped = correct.clone();
                    dropped.remove(gone);
                    clean += 1;
                    if rejected(batch, &dropped, k) {
                        alarms += 1;
                        eprintln!(
                            "rejected next to a missing entry ({name}, echo {echo}): {:?} (missing {:?})",
                            pairs[start + k].en,
                            pairs[start + gone].en
                        );
                    }
                }
            }
        }
        report.push(format!(
            "ar_start copied: {echo}: {name}: merged answers caught {caught}/{shapes} ({unseeable} of two Englishes that do not meet at a sentence boundary); correct answers next to a missing entry rejected {alarms}/{clean} ({:.1}%)",
            alarms as f64 * 100.0 / clean as f64
        ));
        assert_eq!(caught + unseeable + missed.len() - missed_before, shapes);
        // the price, as measured (README): under 2.5% of them
        assert!(
            alarms * 40 < clean,
            "{name}: {alarms}/{clean} (echo {echo})"
        );
    }
}
