/*!
Pinned glossary terms inside the text sent to an engine that has no
glossary of its own.

LibreTranslate and Google v2 cannot be told "translate X as Y", so with
`terms = "inline"` the English rendering is put into the Arabic before
sending (the engines pass Latin words through), and Azure gets each term
wrapped in its dynamic-dictionary markup. Both need the same thing: where
each pinned term occurs in a segment. A [`PinnedTerm`] carries the entry's
canonical Arabic, while the segment may spell it with other alef or
ta-marbuta forms, diacritics or tatweel, or with a proclitic (و, ف, ب, ك, ل,
لل) glued in front; [`find`] matches through all of those, whole words only,
longest term first, without overlaps.
*/

use crate::model::PinnedTerm;

/// One occurrence of a pinned term: byte offsets into the text (the term
/// itself, any proclitic before it excluded) and the index of the term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub term: usize,
}

/// The letter a character is compared as.
fn fold(c: char) -> char {
    match c {
        'أ' | 'إ' | 'آ' | 'ٱ' => 'ا',
        'ى' => 'ي',
        'ة' => 'ه',
        c => c,
    }
}

/// Kept characters of `s` (folded) with the byte offset of each.
fn normalise(s: &str) -> Vec<(char, usize)> {
    s.char_indices()
        .filter(|&(_, c)| !crate::normalize::is_attached_mark(c))
        .map(|(i, c)| (fold(c), i))
        .collect()
}

fn is_letter(c: char) -> bool {
    c.is_alphanumeric()
}

/// Proclitics that may be glued in front of a term (folded forms).
const PREFIXES: &[&str] = &[
    "", "و", "ف", "ب", "ك", "ل", "وب", "فب", "ول", "فل", "وك", "فك", "وس", "فس",
];

/// Where the pinned terms occur in `text`, sorted by position.
pub fn find(text: &str, terms: &[PinnedTerm]) -> Vec<Span> {
    let hay = normalise(text);
    let mut order: Vec<(usize, Vec<char>)> = terms
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let needle: Vec<char> = normalise(t.source.trim())
                .into_iter()
                .map(|p| p.0)
                .collect();
            (i, needle)
        })
        .filter(|(_, n)| !n.is_empty())
        .collect();
    // Longest first, so that "الرئيس الروسي" wins over "الرئيس".
    order.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));

    let mut taken: Vec<(usize, usize)> = Vec::new(); // char index ranges in `hay`
    let mut spans = Vec::new();
    for (term, needle) in &order {
        // "ال..." after the preposition ل is written "لل...".
        let mut variants: Vec<(Vec<char>, bool)> = vec![(needle.clone(), false)];
        if needle.len() > 2 && needle[0] == 'ا' && needle[1] == 'ل' {
            variants.push((needle[1..].to_vec(), true));
        }
        for (pat, after_lam) in &variants {
            let n = pat.len();
            if n > hay.len() {
                continue;
            }
            let mut i = 0;
            while i + n <= hay.len() {
                if (0..n).all(|k| hay[i + k].0 == pat[k]) && fits(&hay, i, n, *after_lam) {
                    let overlaps = taken.iter().any(|&(s, e)| i < e && s < i + n);
                    if !overlaps {
                        taken.push((i, i + n));
                        let start = hay[i].1;
                        let end = hay.get(i + n).map(|p| p.1).unwrap_or(text.len());
                        // Keep trailing white space out of the span.
                        let end = start + text[start..end].trim_end().len();
                        spans.push(Span {
                            start,
                            end,
                            term: *term,
                        });
                        i += n;
                        continue;
                    }
                }
                i += 1;
            }
        }
    }
    spans.sort_by_key(|s| s.start);
    spans
}

/// Whether a match of `n` chars at `i` is a whole word, allowing a proclitic.
fn fits(hay: &[(char, usize)], i: usize, n: usize, after_lam: bool) -> bool {
    if hay.get(i + n).is_some_and(|p| is_letter(p.0)) {
        return false;
    }
    let mut w = i;
    while w > 0 && is_letter(hay[w - 1].0) {
        w -= 1;
    }
    let prefix: String = hay[w..i].iter().map(|p| p.0).collect();
    if after_lam {
        // The matched text starts with the lam of the article; the preceding
        // letters must be a proclitic ending in the preposition ل.
        return matches!(prefix.as_str(), "ل" | "ول" | "فل");
    }
    PREFIXES.contains(&prefix.as_str())
}

/// `text` with each pinned term replaced by its English rendering. A
/// proclitic glued to the term is kept and separated from the English by a
/// space.
pub fn inline(text: &str, terms: &[PinnedTerm]) -> String {
    replace(text, terms, |t, _| {
        crate::glossary::check::preferred(&t.target).to_string()
    })
}

/// `text` with each occurrence of a pinned term passed through `wrap`
/// (which gets the term and the original spelling in the text).
pub fn replace(
    text: &str,
    terms: &[PinnedTerm],
    wrap: impl Fn(&PinnedTerm, &str) -> String,
) -> String {
    let spans = find(text, terms);
    let mut out = String::with_capacity(text.len() + 32 * spans.len());
    let mut at = 0;
    for s in spans {
        out.push_str(&text[at..s.start]);
        let replacement = wrap(&terms[s.term], &text[s.start..s.end]);
        // A Latin rendering glued to an Arabic proclitic reads as one word.
        let glued = out.chars().last().is_some_and(is_letter);
        let latin = replacement
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        if glued && latin {
            out.push(' ');
        }
        out.push_str(&replacement);
        at = s.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str, e: &str) -> PinnedTerm {
        PinnedTerm {
            source: s.into(),
            target: e.into(),
        }
    }

    #[test]
    fn replaces_whole_words_through_spelling_variants() {
        let terms = [t("طالبان", "Taliban"), t("بوتين", "Putin")];
        assert_eq!(
            inline("التقى بوتين وفدا من طالبان.", &terms),
            "التقى Putin وفدا من Taliban."
        );
        // Inside another word: untouched.
        assert_eq!(inline("بوتينية", &terms), "بوتينية");
    }

    #[test]
    fn keeps_proclitics_and_handles_lil() {
        let terms = [t("الأمم المتحدة", "the United Nations")];
        assert_eq!(
            inline("وقالت الامم المتحدة", &terms),
            "وقالت the United Nations"
        );
        assert_eq!(
            inline("بيان للأمم المتحدة", &terms),
            "بيان ل the United Nations"
        );
        assert_eq!(
            inline("ووفقا للامم المتحدة.", &terms),
            "ووفقا ل the United Nations."
        );
        // A glued word that is not a proclitic does not match.
        assert_eq!(inline("سالأمم المتحدة", &terms), "سالأمم المتحدة");
    }

    #[test]
    fn longest_term_wins_and_diacritics_are_ignored() {
        let terms = [
            t("الرئيس", "the president"),
            t("الرئيس الروسي", "the Russian President"),
        ];
        assert_eq!(
            inline("قال الرَّئيس الروسي إن الرئيس", &terms),
            "قال the Russian President إن the president"
        );
    }

    #[test]
    fn spans_point_at_the_original_bytes() {
        let text = "وبوتين قال";
        let spans = find(text, &[t("بوتين", "Putin")]);
        assert_eq!(spans.len(), 1);
        assert_eq!(&text[spans[0].start..spans[0].end], "بوتين");
    }

    #[test]
    fn empty_terms_change_nothing() {
        assert_eq!(inline("نص", &[t("  ", "x")]), "نص");
        assert_eq!(inline("نص", &[]), "نص");
    }

    proptest::proptest! {
        #[test]
        fn spans_are_disjoint_boundaries_and_identity_wrap_round_trips(
            text in "[ابتطنيوةأىلل \u{064E}\u{0640}.،]{0,40}",
            a in "[ابتطنيوةأل]{1,4}",
            b in "[ابتطنيوةأل ]{1,6}",
        ) {
            let terms = [t(&a, "A"), t(&b, "B")];
            let spans = find(&text, &terms);
            for w in spans.windows(2) {
                proptest::prop_assert!(w[0].end <= w[1].start);
            }
            for s in &spans {
                proptest::prop_assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
                proptest::prop_assert!(s.start < s.end);
            }
            proptest::prop_assert_eq!(replace(&text, &terms, |_, surface| surface.to_string()), text.clone());
            let out = inline(&text, &terms);
            proptest::prop_assert_eq!(out.matches('A').count() + out.matches('B').count(), spans.len());
        }
    }
}
