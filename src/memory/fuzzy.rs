/*!
Word-level fuzzy matching, as CAT tools score it: the edit distance between
two sentences counted in words (insertions, deletions, substitutions), as a
percentage of the longer one.

Scoring every entry of a 100,000-pair memory for every segment would be
far too slow, so candidates come from a word index with an exact prefilter:
a candidate reaching the threshold can differ from the query in at most
`k` words, hence it contains at least one of any `k + 1` distinct query
words. The memory looks up the `k + 1` rarest ones and only scores what
they point at, restricted to the lengths that can reach the threshold.
Nothing that could score at or above the threshold is ever missed.
*/

/// The words of an already normalised text: maximal runs of letters, marks
/// and digits. Punctuation does not count as a word.
pub fn tokens(norm: &str) -> Vec<&str> {
    norm.split(|c: char| !is_word_char(c))
        .filter(|t| !t.is_empty())
        .collect()
}

/// Whether `c` belongs to a word: a letter, mark or digit. Same answer as
/// `c.is_alphanumeric() || is_mark(c)`, with the characters of Arabic and
/// Latin text answered without the Unicode table look-up (which dominated
/// the profile of fuzzy look-ups: every candidate is tokenised).
#[inline]
fn is_word_char(c: char) -> bool {
    match c {
        '0'..='9' | 'a'..='z' | 'A'..='Z' => true,
        '\0'..='\u{7F}' => false,
        // Hamza to ghain, tatweel to yeh, harakat, Arabic-Indic digits,
        // superscript alef, alef wasla.
        '\u{0621}'..='\u{063A}'
        | '\u{0640}'..='\u{065F}'
        | '\u{0660}'..='\u{0669}'
        | '\u{0670}'..='\u{0671}' => true,
        // Arabic punctuation: comma, semicolon, question mark, percent,
        // decimal and thousands separators, full stop.
        '\u{060C}' | '\u{061B}' | '\u{061F}' | '\u{066A}'..='\u{066C}' | '\u{06D4}' => false,
        _ => c.is_alphanumeric() || is_mark(c),
    }
}

fn is_mark(c: char) -> bool {
    // Combining marks that survive normalisation (rare) stay inside words.
    crate::normalize::is_harakah(c) || matches!(c, '\u{0300}'..='\u{036F}')
}

/// Word-level similarity in percent (0..=100, rounded down): 100 for equal
/// word sequences.
pub fn similarity(a: &[&str], b: &[&str]) -> u8 {
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 100;
    }
    let dist = word_levenshtein(a, b);
    let pct = (longest - dist.min(longest)) * 100 / longest;
    pct as u8
}

/// [`similarity`] when it is at least `min_score`, else `None`, found
/// sooner: a length difference or a row of the table already past the
/// edits `min_score` allows ends the count (most candidates of a fuzzy
/// look-up are rejected this way).
pub fn similarity_at_least(a: &[&str], b: &[&str], min_score: u8) -> Option<u8> {
    let longest = a.len().max(b.len());
    if longest == 0 {
        return (100 >= min_score).then_some(100);
    }
    // pct = (longest - d) * 100 / longest >= min  <=>  d <= allowed
    let need = (usize::from(min_score) * longest).div_ceil(100);
    let allowed = longest.checked_sub(need)?;
    if a.len().abs_diff(b.len()) > allowed {
        return None;
    }
    let dist = levenshtein_within(a, b, allowed)?;
    Some(((longest - dist.min(longest)) * 100 / longest) as u8)
}

/// Edit distance in words (one row of the classic table; strsim's
/// `generic_levenshtein` wants owned collections, this works on slices).
pub fn word_levenshtein(a: &[&str], b: &[&str]) -> usize {
    levenshtein_within(a, b, usize::MAX).expect("no limit")
}

/// The edit distance in words if it is at most `limit`, else `None`, given
/// up as soon as a whole row of the table is past `limit`.
fn levenshtein_within(a: &[&str], b: &[&str], limit: usize) -> Option<usize> {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        let mut best = row[0];
        for (j, y) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = if x == y {
                diag
            } else {
                1 + diag.min(up).min(row[j])
            };
            best = best.min(row[j + 1]);
            diag = up;
        }
        if best > limit {
            return None;
        }
    }
    Some(row[b.len()]).filter(|&d| d <= limit)
}

/// The most words a candidate may differ by from a query of `n` words and
/// still score `min_score` percent.
pub fn max_edits(n: usize, min_score: u8) -> usize {
    let s = usize::from(min_score.clamp(1, 100));
    // dist <= (1 - s) * max(n, m) and m <= n / s, so dist <= n (1 - s) / s.
    n * (100 - s) / s
}

/// The range of word counts a candidate must have to score `min_score`
/// against a query of `n` words.
pub fn length_range(n: usize, min_score: u8) -> (usize, usize) {
    let s = usize::from(min_score.clamp(1, 100));
    let lo = (n * s).div_ceil(100);
    let hi = n * 100 / s;
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_drop_punctuation() {
        assert_eq!(
            tokens("قال، \"الرئيس\" (2024) hello-world."),
            ["قال", "الرئيس", "2024", "hello", "world"]
        );
    }

    #[test]
    fn fast_word_chars_agree_with_unicode() {
        for c in (0..0x3000u32).filter_map(char::from_u32) {
            assert_eq!(
                is_word_char(c),
                c.is_alphanumeric() || is_mark(c),
                "U+{:04X}",
                c as u32
            );
        }
    }

    #[test]
    fn distance_agrees_with_strsim() {
        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..500 {
            let a: Vec<&str> = (0..rng.usize(0..8))
                .map(|_| ["x", "y", "z"][rng.usize(..3)])
                .collect();
            let b: Vec<&str> = (0..rng.usize(0..8))
                .map(|_| ["x", "y", "z"][rng.usize(..3)])
                .collect();
            assert_eq!(
                word_levenshtein(&a, &b),
                strsim::generic_levenshtein(&a, &b),
                "{a:?} {b:?}"
            );
        }
    }

    #[test]
    fn early_rejection_agrees_with_the_full_score() {
        let mut rng = fastrand::Rng::with_seed(5);
        for _ in 0..5000 {
            let a: Vec<&str> = (0..rng.usize(0..10))
                .map(|_| ["x", "y", "z", "w"][rng.usize(..4)])
                .collect();
            let b: Vec<&str> = (0..rng.usize(0..10))
                .map(|_| ["x", "y", "z", "w"][rng.usize(..4)])
                .collect();
            let min = [0, 1, 50, 60, 75, 76, 90, 99, 100][rng.usize(..9)];
            let full = similarity(&a, &b);
            assert_eq!(
                similarity_at_least(&a, &b, min),
                (full >= min).then_some(full),
                "{a:?} {b:?} {min}"
            );
        }
    }

    #[test]
    fn similarity_counts_words() {
        let a = tokens("a b c d");
        assert_eq!(similarity(&a, &a), 100);
        assert_eq!(similarity(&a, &tokens("a b c x")), 75);
        assert_eq!(similarity(&a, &tokens("a b c")), 75);
        assert_eq!(similarity(&a, &tokens("a b")), 50);
        assert_eq!(similarity(&a, &tokens("")), 0);
        assert_eq!(similarity(&[], &[]), 100);
    }

    #[test]
    fn prefilter_bounds_admit_every_match_at_threshold() {
        // Brute force over small word sequences: whenever the score reaches
        // the threshold, the length is in range and the number of query
        // words missing from the candidate is at most max_edits.
        let words = ["a", "b", "c", "d"];
        let mut seqs: Vec<Vec<&str>> = vec![vec![]];
        for _ in 0..4 {
            let next: Vec<Vec<&str>> = seqs
                .iter()
                .flat_map(|s| {
                    words.iter().map(move |w| {
                        let mut t = s.clone();
                        t.push(w);
                        t
                    })
                })
                .collect();
            seqs.extend(next.into_iter().filter(|s| s.len() <= 4));
            seqs.sort();
            seqs.dedup();
        }
        for q in seqs.iter().filter(|s| !s.is_empty()) {
            let k = max_edits(q.len(), 75);
            let (lo, hi) = length_range(q.len(), 75);
            for c in &seqs {
                if similarity(q, c) >= 75 {
                    assert!(c.len() >= lo && c.len() <= hi, "{q:?} {c:?}");
                    let mut qd: Vec<&str> = q.clone();
                    qd.sort();
                    qd.dedup();
                    let missing = qd.iter().filter(|w| !c.contains(w)).count();
                    assert!(missing <= k, "{q:?} {c:?} missing {missing} > {k}");
                }
            }
        }
    }
}
