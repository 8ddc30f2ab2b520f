//! Scoring sentence segmenters on the development set in
//! `tests/fixtures/segment_dev/` (real Arabic text whose sentence boundaries
//! were marked by people outside the project; see the README there).
//!
//! Each fixture file holds one sentence per line and a blank line between
//! paragraphs. A paragraph is rebuilt as its sentences joined by one space,
//! and paragraphs are joined by line breaks, so both segmenters see running
//! text and the boundaries inside every paragraph are known. Only boundaries
//! inside paragraphs are scored (paragraph breaks are given). As in the
//! dataset authors' own scoring, recall counts only the boundaries after a
//! sentence that ends in punctuation (`.` `!` `?` `؟` `…`, then perhaps
//! closing quotes or brackets): a boundary with no punctuation at all (speech
//! transcripts have many) is out of reach of any punctuation-based
//! segmenter. Precision counts a break as right when it is at any marked
//! boundary.
#![allow(dead_code)]

use std::collections::BTreeSet;

/// The development set files, with a short name for reports.
pub const DEV_FILES: &[(&str, &str)] = &[
    (
        "news-commentary",
        include_str!("../../fixtures/segment_dev/news-commentary-v15.ar.txt"),
    ),
    (
        "iwslt2017-ted",
        include_str!("../../fixtures/segment_dev/iwslt2017.ar.txt"),
    ),
];

/// Running text and the character offsets where a sentence starts inside a
/// paragraph (paragraph starts excluded).
pub struct DevText {
    pub text: String,
    pub gold: BTreeSet<usize>,
    /// The gold boundaries that follow sentence-final punctuation.
    pub gold_punct: BTreeSet<usize>,
    pub sentences: usize,
}

/// Whether a marked sentence ends in sentence-final punctuation.
fn ends_in_punctuation(s: &str) -> bool {
    let trimmed = s.trim_end_matches(|c: char| "\"'»”’)]".contains(c) || c.is_whitespace());
    trimmed.ends_with(['.', '!', '?', '؟', '…'])
}

pub fn load(file: &str) -> DevText {
    let mut text = String::new();
    let mut gold = BTreeSet::new();
    let mut gold_punct = BTreeSet::new();
    let mut sentences = 0;
    let mut chars = 0usize;
    for para in file.split("\n\n") {
        let sents: Vec<&str> = para
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        if sents.is_empty() {
            continue;
        }
        if !text.is_empty() {
            text.push('\n');
            chars += 1;
        }
        for (i, s) in sents.iter().enumerate() {
            if i > 0 {
                text.push(' ');
                chars += 1;
                gold.insert(chars);
                if ends_in_punctuation(sents[i - 1]) {
                    gold_punct.insert(chars);
                }
            }
            text.push_str(s);
            chars += s.chars().count();
            sentences += 1;
        }
    }
    DevText {
        text,
        gold,
        gold_punct,
        sentences,
    }
}

/// Precision, recall and F1 of predicted boundaries against the gold ones.
#[derive(Debug, Clone, Copy)]
pub struct Score {
    /// Breaks at a marked boundary.
    pub right: usize,
    pub predicted: usize,
    /// Punctuated marked boundaries found, and their number.
    pub found: usize,
    pub gold: usize,
}

impl Score {
    pub fn of(pred: &BTreeSet<usize>, dev: &DevText) -> Score {
        Score {
            right: pred.intersection(&dev.gold).count(),
            predicted: pred.len(),
            found: pred.intersection(&dev.gold_punct).count(),
            gold: dev.gold_punct.len(),
        }
    }
    pub fn add(self, o: Score) -> Score {
        Score {
            right: self.right + o.right,
            predicted: self.predicted + o.predicted,
            found: self.found + o.found,
            gold: self.gold + o.gold,
        }
    }
    pub fn precision(&self) -> f64 {
        self.right as f64 / self.predicted.max(1) as f64
    }
    pub fn recall(&self) -> f64 {
        self.found as f64 / self.gold.max(1) as f64
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

/// Sentence starts inside paragraphs found by tarjama's segmenter.
pub fn tarjama_starts(text: &str) -> BTreeSet<usize> {
    let seg = tarjama::segment::Segmenter::default();
    seg.segment(text, tarjama::segment::SegmentOptions::default())
        .iter()
        .filter(|s| s.index > 1)
        .map(|s| s.start)
        .collect()
}

/// Sentence starts inside paragraphs found by ICU4X's UAX #29 sentence
/// segmenter, run on each paragraph (line) alone.
pub fn icu4x_starts(text: &str) -> BTreeSet<usize> {
    let seg = icu_segmenter::SentenceSegmenter::new(Default::default());
    let mut out = BTreeSet::new();
    let mut base = 0usize;
    for line in text.split('\n') {
        let mut last_byte = 0usize;
        let mut last_char = 0usize;
        for b in seg.segment_str(line) {
            if b == 0 || b == line.len() {
                continue;
            }
            last_char += line[last_byte..b].chars().count();
            last_byte = b;
            out.insert(base + last_char);
        }
        base += line.chars().count() + 1;
    }
    out
}

/// Both segmenters on every development file: (name, sentences, tarjama, icu4x).
pub fn evaluate() -> Vec<(&'static str, usize, Score, Score)> {
    DEV_FILES
        .iter()
        .map(|&(name, file)| {
            let dev = load(file);
            let t = Score::of(&tarjama_starts(&dev.text), &dev);
            let i = Score::of(&icu4x_starts(&dev.text), &dev);
            (name, dev.sentences, t, i)
        })
        .collect()
}

/// Context around each error, for working on the rules:
/// `TARJAMA_SEG_ERRORS=1 cargo test --test segment dev_set -- --nocapture`.
pub fn errors(dev: &DevText, pred: &BTreeSet<usize>) -> Vec<String> {
    let chars: Vec<char> = dev.text.chars().collect();
    let ctx = |p: usize| -> String {
        let a = p.saturating_sub(60);
        let b = (p + 40).min(chars.len());
        let left: String = chars[a..p].iter().collect();
        let right: String = chars[p..b].iter().collect();
        format!("{left}⟦|⟧{right}").replace('\n', "¶")
    };
    let mut out = Vec::new();
    for &p in dev.gold_punct.difference(pred) {
        out.push(format!("MISS  {}", ctx(p)));
    }
    for &p in pred.difference(&dev.gold) {
        out.push(format!("EXTRA {}", ctx(p)));
    }
    out
}
