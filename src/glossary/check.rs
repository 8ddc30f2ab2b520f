/*!
Did the English honour the glossary?

Engines treat glossaries as hints (AWS says it "doesn't guarantee" the term
is used; LLMs ignore names in prompts), so every translation is checked
afterwards: each pinned term whose English is missing, and each forbidden
rendering that is present, is reported to the reviewer.

The comparison is on words, tolerant of case, a leading "the" (the target
"the Kremlin" is honoured by "Kremlin spokesman"), a possessive 's and a
plural s/es; a parenthesised abbreviation in the target ("Islamic State
(IS)") may be left out. Curly apostrophes count as straight ones. An
acronym of two or three capitals (`US`, `WHO`) matches only in capitals.
*/

use crate::model::{CheckedTerm, TermHit};

/// Check each hit of a segment against its English translation (the hits
/// of `ambiguous` entries are left unchecked, `honoured: None`).
///
/// Occurrences count, not entries: a segment with n hits of the same English
/// needs n occurrences of it; when there are fewer, the first hits (in text
/// order) are honoured and the later ones are reported missed.
pub fn check_terms(hits: &[TermHit], english: &str) -> Vec<CheckedTerm> {
    let words = tokens(english);
    let mut order: Vec<usize> = (0..hits.len()).collect();
    order.sort_by_key(|&i| hits[i].start);
    // how many of each target's occurrences the earlier hits used up
    let mut used: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut verdict = vec![None; hits.len()];
    for i in order {
        let h = &hits[i];
        if h.ambiguous {
            // an ambiguous entry's hit is a hint: never checked
            continue;
        }
        let n = used.entry(h.target.as_str()).or_insert(0);
        *n += 1;
        verdict[i] = Some(occurrences(&h.target, &words) >= *n);
    }
    hits.iter()
        .zip(verdict)
        .map(|(h, honoured)| CheckedTerm {
            source: h.source.clone(),
            target: h.target.clone(),
            start: h.start,
            end: h.end,
            surface: h.surface.clone(),
            honoured,
            forbidden_found: h
                .forbidden
                .iter()
                .filter(|f| contains(&words, &tokens(f), false))
                .cloned()
                .collect(),
            ambiguous: h.ambiguous,
        })
        .collect()
}

/// The English forms that honour an entry: its target may list accepted
/// forms separated by `|`, the preferred one first (`UN|United Nations|U.N.`).
pub fn forms(target: &str) -> Vec<&str> {
    let v: Vec<&str> = target
        .split('|')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .collect();
    if v.is_empty() { vec![target] } else { v }
}

/// An entry's English as a reader sees it: the preferred form, then the
/// other accepted ones (`UN (or United Nations, U.N.)`), never the raw
/// `UN|United Nations|U.N.` cell.
pub fn shown(target: &str) -> String {
    match forms(target).split_first() {
        Some((first, rest)) if !rest.is_empty() => format!("{first} (or {})", rest.join(", ")),
        _ => preferred(target).to_string(),
    }
}

/// The preferred English form of an entry (the first of its [`forms`]).
pub fn preferred(target: &str) -> &str {
    forms(target)[0]
}

/// How many times the English words contain `target` or one of its
/// accepted forms (see the module docs), without overlaps.
pub fn occurrences(target: &str, english_words: &[String]) -> usize {
    forms(target)
        .into_iter()
        .map(|f| form_occurrences(f, english_words))
        .sum()
}

/// How many times the English words contain one form.
fn form_occurrences(target: &str, english_words: &[String]) -> usize {
    let target = match target.find('(') {
        // "Islamic State (IS)" is honoured by "Islamic State"
        Some(i) if i > 0 => &target[..i],
        _ => target,
    };
    let mut t = tokens(target);
    if t.first().is_some_and(|w| w == "the") && t.len() > 1 {
        t.remove(0);
    }
    count(english_words, &t, true)
}

/// Whether the English words contain `target` or one of its accepted
/// forms (see the module docs).
pub fn honoured(target: &str, english_words: &[String]) -> bool {
    forms(target)
        .into_iter()
        .any(|f| form_honoured(f, english_words))
}

fn form_honoured(target: &str, english_words: &[String]) -> bool {
    let mut t = tokens(target);
    if t.first().is_some_and(|w| w == "the") && t.len() > 1 {
        t.remove(0);
    }
    if contains(english_words, &t, true) {
        return true;
    }
    // "Islamic State (IS)" is honoured by "Islamic State"
    match target.find('(') {
        Some(i) if i > 0 => form_honoured(&target[..i], english_words),
        _ => false,
    }
}

/// Lower-cased words: runs of letters and digits, a possessive 's dropped.
/// A word of two or three capitals keeps its case ([`is_acronym`]): `US`
/// is not `us`, `WHO` is not `who`.
pub fn tokens(text: &str) -> Vec<String> {
    let text = text.replace(['’', '‘', 'ʼ'], "'");
    let mut out = Vec::new();
    for raw in text.split(|c: char| !(c.is_alphanumeric() || c == '\'')) {
        let w = raw.trim_matches('\'');
        let w = w
            .strip_suffix("'s")
            .or_else(|| w.strip_suffix("'S"))
            .unwrap_or(w);
        for part in w.split('\'') {
            if is_acronym(part) {
                out.push(part.to_string());
            } else if !part.is_empty() {
                out.push(part.to_lowercase());
            }
        }
    }
    out
}

/// A word of two or three capital letters (`US`, `UN`, `WHO`), which
/// matches only itself: many are also common words in lower case.
pub fn is_acronym(word: &str) -> bool {
    (2..=3).contains(&word.chars().count()) && word.chars().all(|c| c.is_uppercase())
}

/// Whether the English word `h` is the glossary word `n`: an acronym
/// exactly, any other word in any case; with `plural`, `h` may add s/es
/// (or y → ies).
fn same(h: &str, n: &str, plural: bool) -> bool {
    if h == n {
        return true;
    }
    if is_acronym(n) {
        return false;
    }
    let lower;
    let h = if is_acronym(h) {
        lower = h.to_lowercase();
        lower.as_str()
    } else {
        h
    };
    h == n || (plural && is_plural(h, n))
}

/// Whether `needle` occurs as consecutive words of `hay`; with `plural`,
/// each hay word may add s/es (or y → ies) to the needle's word.
fn contains(hay: &[String], needle: &[String], plural: bool) -> bool {
    if needle.is_empty() || needle.len() > hay.len() {
        return false;
    }
    hay.windows(needle.len())
        .any(|w| w.iter().zip(needle).all(|(h, n)| same(h, n, plural)))
}

/// Non-overlapping occurrences of `needle` in `hay` (see [`contains`]).
fn count(hay: &[String], needle: &[String], plural: bool) -> usize {
    if needle.is_empty() || needle.len() > hay.len() {
        return 0;
    }
    let (mut i, mut n) = (0, 0);
    while i + needle.len() <= hay.len() {
        let here = hay[i..i + needle.len()]
            .iter()
            .zip(needle)
            .all(|(h, w)| same(h, w, plural));
        if here {
            n += 1;
            i += needle.len();
        } else {
            i += 1;
        }
    }
    n
}

fn is_plural(h: &str, n: &str) -> bool {
    h.strip_prefix(n)
        .is_some_and(|rest| rest == "s" || rest == "es")
        || n.strip_suffix('y')
            .is_some_and(|stem| h.strip_prefix(stem) == Some("ies"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_shown_with_its_accepted_forms() {
        assert_eq!(
            shown("UN|United Nations|U.N."),
            "UN (or United Nations, U.N.)"
        );
        assert_eq!(shown("Taliban"), "Taliban");
        assert_eq!(shown(" Russia | Russian "), "Russia (or Russian)");
    }

    fn hit(target: &str, forbidden: &[&str]) -> TermHit {
        TermHit {
            segment: "p1s1".into(),
            start: 3,
            end: 9,
            surface: "س".into(),
            source: "س".into(),
            target: target.into(),
            kind: None,
            forbidden: forbidden.iter().map(|s| s.to_string()).collect(),
            ambiguous: false,
        }
    }

    fn ok(target: &str, english: &str) -> bool {
        check_terms(&[hit(target, &[])], english)[0].honoured == Some(true)
    }

    #[test]
    fn tolerances() {
        assert!(ok("Dmitry Peskov", "Kremlin spokesman dmitry peskov said"));
        assert!(ok("Dmitry Peskov", "Dmitry Peskov's remarks"));
        assert!(ok("Dmitry Peskov", "Dmitry Peskov’s remarks"));
        assert!(ok("the Kremlin", "Kremlin spokesman"));
        assert!(ok("the Kremlin", "said the Kremlin."));
        assert!(ok("Taliban", "the Taliban's foreign minister"));
        assert!(ok("Moscow Format", "Moscow Formats"));
        assert!(ok("security agency", "security agencies"));
        assert!(ok("Islamic State (IS)", "Islamic State claimed"));
        assert!(ok("Islamic State (IS)", "Islamic State (IS) claimed"));
        assert!(!ok("Dmitry Peskov", "Dmitri Peskov said"));
        assert!(!ok("Dmitry Peskov", "Peskov Dmitry"));
        assert!(!ok("Russia", "Russian officials"));
        assert!(!ok("Taliban", ""));
    }

    #[test]
    fn every_occurrence_counts() {
        let at = |target: &str, start: usize| {
            let mut h = hit(target, &[]);
            h.start = start;
            h
        };
        let twice = [at("New York City", 40), at("New York City", 3)];
        let c = check_terms(&twice, "New York City and New Yurk City");
        // the later hit (in the text) is the one reported missing
        assert_eq!((c[0].honoured, c[1].honoured), (Some(false), Some(true)));
        let c = check_terms(&twice, "New York City, then New York City again");
        assert_eq!((c[0].honoured, c[1].honoured), (Some(true), Some(true)));
        let s = [at("Sulawesi", 1), at("Sulawesi", 9)];
        let c = check_terms(&s, "Sulawesi's coast and central Sulawezi");
        assert_eq!((c[0].honoured, c[1].honoured), (Some(true), Some(false)));
        // a plural and the parenthesised form count as occurrences too
        let c = check_terms(
            &[at("Islamic State (IS)", 1), at("Islamic State (IS)", 5)],
            "Islamic State (IS) and Islamic State claimed",
        );
        assert!(c.iter().all(|t| t.honoured == Some(true)));
        assert_eq!(
            occurrences("the Kremlin", &tokens("Kremlin, the Kremlin")),
            2
        );
    }

    #[test]
    fn accepted_forms_honour_the_entry() {
        assert!(ok("UN|United Nations|U.N.", "the United Nations said"));
        assert!(ok("UN|United Nations|U.N.", "the U.N. said"));
        assert!(ok("UN|United Nations|U.N.", "UN envoys"));
        assert!(!ok("UN|United Nations|U.N.", "the Nations united"));
        assert!(ok("New York|NYC", "NYC's mayor"));
        assert!(ok("North Korea|the North", "the North fired"));
        assert_eq!(preferred(" UN | United Nations"), "UN");
        assert_eq!(forms("Moscow"), ["Moscow"]);
        // two hits: one in each form is two occurrences
        let mut a = hit("UN|United Nations", &[]);
        a.start = 1;
        let mut b = a.clone();
        b.start = 20;
        let c = check_terms(&[a, b], "The UN and the United Nations");
        assert!(c.iter().all(|t| t.honoured == Some(true)));
    }

    #[test]
    fn ambiguous_hits_are_never_checked() {
        let mut h = hit("Benin", &[]);
        h.ambiguous = true;
        let c = check_terms(&[h.clone(), hit("Benin", &[])], "for boys");
        assert_eq!(c[0].honoured, None);
        assert_eq!(c[1].honoured, Some(false));
        // not re-requested and not pinned either
        let both = [h, hit("Russia", &[])];
        let pinned = crate::pipeline::pinned_terms(&both);
        assert_eq!(pinned.len(), 1);
        assert_eq!(pinned[0].target, "Russia");
        // ... but a hint for the engine
        let hints = crate::pipeline::hint_terms(&both);
        assert_eq!(hints.len(), 1);
        assert_eq!(hints[0].target, "Benin");
    }

    #[test]
    fn a_short_acronym_matches_only_in_capitals() {
        assert!(ok("United States|US", "He arrived in the US with 4 cents."));
        assert!(!ok("United States|US", "He told us nothing."));
        assert!(ok("World Health Organization|WHO", "WHO said on Monday."));
        assert!(!ok("World Health Organization|WHO", "Those who stayed."));
        // other words in any case, an acronym's possessive too
        assert!(ok("Kremlin", "THE KREMLIN SAID"));
        assert!(ok("United Nations|UN", "the UN's envoy"));
        assert_eq!(tokens("US and us, WHO's"), ["US", "and", "us", "WHO"]);
    }

    #[test]
    fn forbidden_found_and_fields_kept() {
        let h = hit("Islamic State", &["ISIS", "Daesh"]);
        let c = check_terms(&[h], "ISIS said Daeshi fighters");
        assert_eq!(c[0].forbidden_found, vec!["ISIS".to_string()]);
        assert_eq!(c[0].honoured, Some(false));
        assert_eq!((c[0].start, c[0].end), (3, 9));
        assert_eq!(c[0].target, "Islamic State");
    }
}
