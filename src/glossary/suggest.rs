/*!
`glossary suggest`: what an article says that the glossary should know.

Two kinds of candidate, ranked, each with where it occurs:
- near-misses: words (or word sequences) one or two edits away from an
  existing entry after normalisation, such as أفعانستان for أفغانستان or
  دميتري for ديمتري; either a spelling variant to add or a typo in the source
  to report. Derived forms are not near-misses: an entry plus a suffix
  (the matcher's suffixes, or a nisba ending ي/ية/يون/يين: روسيا → الروسية);
- frequent multi-word sequences (two to four words, at least twice, not
  starting or ending with a function word, not already matched).
*/

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::Glossary;
use super::matcher::{is_suffix, proclitic_chain};
use crate::model::Segment;
use crate::normalize::{key, normalize};

/// Where a candidate occurs (document character offsets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Occurrence {
    pub segment: String,
    pub start: usize,
    pub end: usize,
}

/// A spelling close to an existing entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NearMiss {
    /// The text as written (first occurrence, clitics excluded).
    pub surface: String,
    /// The entry's spelling it is close to.
    pub form: String,
    pub source: String,
    pub target: String,
    /// Edits after normalisation (1 or 2).
    pub distance: usize,
    pub occurrences: Vec<Occurrence>,
}

/// A frequent word sequence not in the glossary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Phrase {
    /// The text as written (first occurrence).
    pub surface: String,
    pub words: usize,
    pub occurrences: Vec<Occurrence>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Suggestions {
    pub near_misses: Vec<NearMiss>,
    pub phrases: Vec<Phrase>,
}

/// Tunables.
#[derive(Debug, Clone, Copy)]
pub struct SuggestOptions {
    /// Least number of occurrences for a phrase.
    pub min_count: usize,
    /// Longest phrase, in words.
    pub max_words: usize,
}

impl Default for SuggestOptions {
    fn default() -> Self {
        SuggestOptions {
            min_count: 2,
            max_words: 4,
        }
    }
}

/// Function words (normalised) that do not start or end a phrase.
const STOPWORDS: &[&str] = &[
    "في",
    "من",
    "علي",
    "الي",
    "عن",
    "ان",
    "ما",
    "لا",
    "لم",
    "لن",
    "قد",
    "كان",
    "كانت",
    "هذا",
    "هذه",
    "ذلك",
    "تلك",
    "التي",
    "الذي",
    "الذين",
    "او",
    "ثم",
    "مع",
    "بين",
    "عند",
    "حتي",
    "منذ",
    "بعد",
    "قبل",
    "كل",
    "بعض",
    "غير",
    "هو",
    "هي",
    "هم",
    "نحن",
    "انه",
    "انها",
    "له",
    "لها",
    "فيه",
    "فيها",
    "عليه",
    "عليها",
    "به",
    "بها",
    "وقد",
    "وان",
    "وفي",
    "ومن",
    "كما",
    "اي",
    "ايضا",
    "الا",
    "اذا",
    "حيث",
    "اما",
    "لدي",
    "ولم",
    "وهو",
    "وهي",
    "فقد",
    "التي",
    "لذلك",
    "وذلك",
    "هناك",
    "يوم",
    "خلال",
    "عام",
    "وقال",
    "قال",
    "قالت",
    "اليوم",
    "امس",
    "الان",
    "عن",
    "فيما",
    "لقد",
    "بان",
];

/// Nisba (relative adjective) endings: روسيا → روسي, روسيه.
const NISBA: &[&str] = &["ي", "يه", "يون", "يين", "يان", "يتان", "يتين", "يات"];

/// A word of a segment: normalised text and original document span.
struct Word {
    norm: String,
    start: usize,
    end: usize,
    /// Only white space separates it from the previous word.
    joined: bool,
    covered: bool,
}

fn words_of(seg: &Segment, hits: &[(usize, usize)]) -> Vec<Word> {
    let n = normalize(&seg.text);
    let orig: Vec<char> = seg.text.chars().collect();
    let chars: Vec<char> = n.text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut gap_clean = true;
    while i < chars.len() {
        if !chars[i].is_alphanumeric() {
            if chars[i] != ' ' {
                gap_clean = false;
            }
            i += 1;
            continue;
        }
        let s = i;
        while i < chars.len() && chars[i].is_alphanumeric() {
            i += 1;
        }
        let (os, oe) = n.original_span(&orig, s, i);
        let (ds, de) = (seg.start + os, seg.start + oe);
        out.push(Word {
            norm: chars[s..i].iter().collect(),
            start: ds,
            end: de,
            joined: gap_clean && !out.is_empty(),
            covered: hits.iter().any(|&(hs, he)| hs < de && ds < he),
        });
        gap_clean = true;
    }
    out
}

/// The ways to read a word without its proclitics: (offset in chars, text).
fn strippings(w: &str) -> Vec<(usize, String)> {
    let chars: Vec<char> = w.chars().collect();
    let mut out = vec![(0, w.to_string())];
    for p in 1..=4.min(chars.len().saturating_sub(2)) {
        if let Some(art) = proclitic_chain(&chars[..p]) {
            let rest: String = chars[p..].iter().collect();
            out.push((p, rest.clone()));
            if art > 0 {
                out.push((p - art, format!("ال{rest}")));
            }
        }
    }
    out
}

/// Whether `cand` is `form` with an ending that makes another word.
fn is_derived(cand: &str, form: &str) -> bool {
    let stems = [
        Some(form),
        form.strip_suffix('ا'),
        form.strip_suffix('ه'),
        form.strip_suffix('ي'),
    ];
    stems.iter().flatten().any(|stem| {
        cand.strip_prefix(stem).is_some_and(|rest| {
            rest.is_empty() || NISBA.contains(&rest) || is_suffix(rest) || rest == "ت"
        })
    })
}

/// Edits allowed for a word of `len` letters: short Arabic words are one
/// letter away from many others.
fn allowed_distance(len: usize) -> usize {
    match len {
        0..=4 => 0,
        5..=7 => 1,
        _ => 2,
    }
}

/// Compare stems when the entry has the article: الجماعات is not near
/// الإمارات just because both start with ال.
fn without_article<'a>(cand: &'a str, form: &'a str) -> (&'a str, &'a str) {
    match form.strip_prefix("ال") {
        Some(f) => (cand.strip_prefix("ال").unwrap_or(cand), f),
        None => (cand, form),
    }
}

/// Letters that differ only by dots (the same rasm), the commonest typo.
fn rasm(c: char) -> char {
    match c {
        'ب' | 'ت' | 'ث' | 'ن' | 'ي' => 'ٮ',
        'ج' | 'ح' | 'خ' => 'ح',
        'د' | 'ذ' => 'د',
        'ر' | 'ز' => 'ر',
        'س' | 'ش' => 'س',
        'ص' | 'ض' => 'ص',
        'ط' | 'ظ' => 'ط',
        'ع' | 'غ' => 'ع',
        'ف' | 'ق' => 'ف',
        'ه' | 'ة' => 'ه',
        other => other,
    }
}

/// Whether `a` and `b` differ only in dots.
fn dot_slip(a: &str, b: &str) -> bool {
    a.chars().count() == b.chars().count()
        && a.chars().zip(b.chars()).all(|(x, y)| rasm(x) == rasm(y))
}

/// Candidates for `glossary` in `segments`.
pub fn suggest(glossary: &Glossary, segments: &[Segment], opts: SuggestOptions) -> Suggestions {
    let m = glossary.matcher();
    let entries = glossary.entries();
    // forms by word count and length
    let mut forms: HashMap<(usize, usize), Vec<(String, usize)>> = HashMap::new();
    let mut exact: HashMap<String, usize> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        for f in e.forms() {
            let k = key(f);
            let n = k.split(' ').count();
            forms
                .entry((n, k.chars().count()))
                .or_default()
                .push((k.clone(), i));
            exact.insert(k, i);
        }
    }
    let max_n = forms.keys().map(|k| k.0).max().unwrap_or(0);

    // (candidate, form) → near miss
    let mut near: BTreeMap<(String, String), NearMiss> = BTreeMap::new();
    let mut grams: HashMap<String, Phrase> = HashMap::new();
    let mut gram_order: Vec<String> = Vec::new();
    for seg in segments {
        let hits: Vec<(usize, usize)> = m.find(seg).iter().map(|h| (h.start, h.end)).collect();
        let words = words_of(seg, &hits);
        let text: Vec<char> = seg.text.chars().collect();
        let surface =
            |s: usize, e: usize| -> String { text[s - seg.start..e - seg.start].iter().collect() };
        for i in 0..words.len() {
            // near-misses over 1..=max_n words
            for n in 1..=max_n.min(words.len() - i) {
                let span = &words[i..i + n];
                if span.iter().any(|w| w.covered) || span[1..].iter().any(|w| !w.joined) {
                    break;
                }
                let tail: Vec<&str> = span[1..].iter().map(|w| w.norm.as_str()).collect();
                // the closest reading per entry spelling: (distance, candidate, skip, entry)
                let mut best: HashMap<&str, (usize, String, usize, usize)> = HashMap::new();
                for (skip, first) in strippings(&span[0].norm) {
                    let mut cand = first;
                    for t in &tail {
                        cand.push(' ');
                        cand.push_str(t);
                    }
                    if exact.contains_key(&cand) {
                        best.clear();
                        break;
                    }
                    let len = cand.chars().count();
                    for l in len.saturating_sub(2)..=len + 2 {
                        for (form, ei) in forms.get(&(n, l)).into_iter().flatten() {
                            let (a, b) = without_article(&cand, form);
                            let d = strsim::levenshtein(a, b);
                            let stem_len = a.chars().count().min(b.chars().count());
                            if d == 0 || d > allowed_distance(stem_len) || is_derived(&cand, form) {
                                continue;
                            }
                            let slot = best.entry(form.as_str()).or_insert((
                                usize::MAX,
                                String::new(),
                                0,
                                0,
                            ));
                            if d < slot.0 || (d == slot.0 && skip > slot.2) {
                                *slot = (d, cand.clone(), skip, *ei);
                            }
                        }
                    }
                }
                for (form, (d, cand, skip, ei)) in best {
                    let start =
                        span[0].start + original_offset(&text, span[0].start - seg.start, skip);
                    let end = span[n - 1].end;
                    let e = &entries[ei];
                    let nm = near
                        .entry((cand, form.to_string()))
                        .or_insert_with(|| NearMiss {
                            surface: surface(start, end),
                            form: form.to_string(),
                            source: e.source.clone(),
                            target: e.target.clone(),
                            distance: d,
                            occurrences: Vec::new(),
                        });
                    nm.occurrences.push(Occurrence {
                        segment: seg.id.clone(),
                        start,
                        end,
                    });
                }
            }
            // phrases
            for n in 2..=opts.max_words.min(words.len() - i) {
                let span = &words[i..i + n];
                if span.iter().any(|w| w.covered) || span[1..].iter().any(|w| !w.joined) {
                    break;
                }
                let stop = |w: &Word| {
                    STOPWORDS.contains(&w.norm.as_str())
                        || w.norm.chars().all(|c| c.is_ascii_digit())
                };
                if stop(&span[0]) || stop(&span[n - 1]) {
                    continue;
                }
                let k: Vec<&str> = span.iter().map(|w| w.norm.as_str()).collect();
                let k = k.join(" ");
                let (s, e) = (span[0].start, span[n - 1].end);
                let p = grams.entry(k.clone()).or_insert_with(|| {
                    gram_order.push(k.clone());
                    Phrase {
                        surface: surface(s, e),
                        words: n,
                        occurrences: Vec::new(),
                    }
                });
                p.occurrences.push(Occurrence {
                    segment: seg.id.clone(),
                    start: s,
                    end: e,
                });
            }
        }
    }
    let mut near_misses: Vec<NearMiss> = near.into_values().collect();
    // dot slips first, then by edits per letter, then by frequency
    near_misses.sort_by(|a, b| {
        let score = |n: &NearMiss| {
            let slip = dot_slip(&key(&n.surface), &n.form);
            (!slip, n.distance * 1000 / n.form.chars().count().max(1))
        };
        score(a)
            .cmp(&score(b))
            .then(b.occurrences.len().cmp(&a.occurrences.len()))
            .then(a.occurrences[0].start.cmp(&b.occurrences[0].start))
    });
    // frequent phrases, without those inside a longer one as frequent
    let frequent: Vec<&String> = gram_order
        .iter()
        .filter(|k| grams[*k].occurrences.len() >= opts.min_count)
        .collect();
    let mut phrases: Vec<Phrase> = frequent
        .iter()
        .filter(|k| {
            let c = grams[**k].occurrences.len();
            !frequent.iter().any(|o| {
                o.len() > k.len()
                    && grams[*o].occurrences.len() == c
                    && format!(" {o} ").contains(&format!(" {k} "))
            })
        })
        .map(|k| grams[*k].clone())
        .collect();
    phrases.sort_by(|a, b| {
        (b.occurrences.len() * b.words)
            .cmp(&(a.occurrences.len() * a.words))
            .then(b.words.cmp(&a.words))
            .then(a.occurrences[0].start.cmp(&b.occurrences[0].start))
    });
    Suggestions {
        near_misses,
        phrases,
    }
}

/// The original character offset (from `from`) of the `skip`-th normalised
/// character of the word starting there.
fn original_offset(text: &[char], from: usize, skip: usize) -> usize {
    if skip == 0 {
        return 0;
    }
    let rest: String = text[from..].iter().collect();
    let n = normalize(&rest);
    n.map[skip]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glossary::Entry;
    use crate::segment::{SegmentOptions, Segmenter};

    fn run(entries: Vec<Entry>, text: &str) -> Suggestions {
        let segs = Segmenter::default().segment(text, SegmentOptions::default());
        suggest(&Glossary::new(entries), &segs, SuggestOptions::default())
    }

    #[test]
    fn near_miss_with_clitic_and_span() {
        let s = run(
            vec![Entry::new("أفغانستان", "Afghanistan")],
            "سافر إلى أفغانستان. ثم عاد من بأفعانستان أمس.",
        );
        assert_eq!(s.near_misses.len(), 1, "{s:#?}");
        let nm = &s.near_misses[0];
        assert_eq!(nm.surface, "أفعانستان");
        assert_eq!(nm.distance, 1);
        let o = &nm.occurrences[0];
        let text: Vec<char> = "سافر إلى أفغانستان. ثم عاد من بأفعانستان أمس."
            .chars()
            .collect();
        assert_eq!(text[o.start..o.end].iter().collect::<String>(), "أفعانستان");
    }

    #[test]
    fn dot_slips_rank_first() {
        assert!(dot_slip("افعانستان", "افغانستان"));
        assert!(!dot_slip("تركيز", "تركيا"));
        let s = run(
            vec![
                Entry::new("أفغانستان", "Afghanistan"),
                Entry::new("ميدفيديف", "Medvedev"),
            ],
            "قال ميدفيدف ثم ميدفيدف. وفي أفعانستان.",
        );
        let surfaces: Vec<&str> = s.near_misses.iter().map(|n| n.surface.as_str()).collect();
        assert_eq!(surfaces, ["أفعانستان", "ميدفيدف"], "{s:#?}");
    }

    #[test]
    fn derived_forms_are_not_near_misses() {
        let s = run(
            vec![
                Entry::new("روسيا", "Russia"),
                Entry::new("ديمتري بيسكوف", "Dmitry Peskov"),
            ],
            "قالت الخارجية الروسية والمسؤول الروسي إن روسياه. وقال دميتري بيسكوف.",
        );
        let surfaces: Vec<&str> = s.near_misses.iter().map(|n| n.surface.as_str()).collect();
        assert_eq!(surfaces, ["دميتري بيسكوف"], "{s:#?}");
    }

    #[test]
    fn frequent_phrases_ranked_and_not_in_glossary() {
        let s = run(
            vec![Entry::new("روسيا", "Russia")],
            "قالت وزارة الخارجية الروسية. وقالت وزارة الخارجية الروسية أيضا. \
             قالت وزارة الخارجية في روسيا. قال مجلس الأمن.",
        );
        let top = &s.phrases[0];
        assert_eq!(top.surface, "وزارة الخارجية الروسية");
        assert_eq!(top.occurrences.len(), 2);
        assert!(
            s.phrases
                .iter()
                .any(|p| p.surface == "وزارة الخارجية" && p.occurrences.len() == 3)
        );
        assert!(!s.phrases.iter().any(|p| p.surface.contains("روسيا")));
        assert!(!s.phrases.iter().any(|p| p.surface.contains("مجلس")));
    }
}
