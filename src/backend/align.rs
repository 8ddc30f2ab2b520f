/*!
Does each English answer of a batch belong to its own Arabic source?

An LLM asked for several segments at once sometimes gives two of them each
other's English: fluent, plausible and wrong, and no id, count or Arabic
letter check can see it. So every batched answer is scored pair by pair
(each source against each answer) on what a translation carries over:
numbers (Arabic-Indic, Persian and ASCII digits read alike, thousands
separators dropped), Latin-script names and words, the pinned terms, the
first word(s) of the source that the model is asked to copy next to its
English, and the ratio of the lengths. The answers are *misaligned* when
the best pairing of the batch's answers to its sources (an assignment over
the whole batch: two answers exchanged, three rotated, any permutation)
scores clearly better than the pairing by id; those segments' answers are
not used (the engine re-sends
them alone), the others are.

The margin is set so that correct answers (real human translations) do not
trip it; see the README for the measured false-alarm rate.
*/

use crate::glossary::check::{honoured, tokens};
use crate::model::Request;

/// How much better an exchange of two answers must score than the pairing
/// by id before the pair is called misaligned.
pub const MARGIN: f64 = 3.5;

/// How much better an answer must fit its source joined with a neighbour
/// whose own answer is missing than its source alone to be called merged
/// (lower than [`MARGIN`]: the answer is already bad, and a false alarm only
/// costs re-sending the segment alone; not so low that a translation
/// longer than most, whose neighbour was merely dropped, is called merged:
/// a short neighbour swallowed is found by its sentences instead).
pub const MERGE_MARGIN: f64 = 1.0;

/// How far (as a factor) the length of the sentences an answer holds
/// beyond its own may be from its missing neighbour's expected length for
/// the answer to be called merged.
pub const TAIL_FIT: f64 = 3.0;

/// Words of the source the model is asked to copy (`"ar_start"`).
pub const ECHO_WORDS: usize = 3;

/// The first [`ECHO_WORDS`] words of `text`, as the prompt asks them copied.
pub fn first_words(text: &str) -> String {
    text.split_whitespace()
        .take(ECHO_WORDS)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The numbers in `text`, ASCII, separators dropped, sorted.
pub fn numbers(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let digit = match c {
            '0'..='9' => Some(c),
            '\u{0660}'..='\u{0669}' => char::from_digit(c as u32 - 0x0660, 10),
            '\u{06F0}'..='\u{06F9}' => char::from_digit(c as u32 - 0x06F0, 10),
            _ => None,
        };
        if let Some(d) = digit {
            cur.push(d);
            continue;
        }
        let next_is_digit = chars
            .peek()
            .is_some_and(|n| n.is_ascii_digit() || ('\u{0660}'..='\u{06F9}').contains(n));
        match c {
            // thousands separators inside a number
            ',' | '٬' if !cur.is_empty() && next_is_digit => {}
            // decimal point inside a number
            '.' | '٫' if !cur.is_empty() && next_is_digit => cur.push('.'),
            _ => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out.sort();
    out
}

/// Latin-script words of two letters or more in an Arabic source, lower-cased.
fn latin_words(text: &str) -> Vec<String> {
    tokens(text)
        .into_iter()
        .filter(|w| w.chars().count() >= 2 && w.chars().all(|c| c.is_ascii_alphabetic()))
        .collect()
}

/// Arabic letters compared loosely (alef forms, ya/alef maqsura, ta marbuta,
/// diacritics and tatweel dropped), for the copied first words.
fn fold_arabic(text: &str) -> String {
    text.chars()
        .filter(|&c| !crate::normalize::is_attached_mark(c))
        .map(|c| match c {
            'أ' | 'إ' | 'آ' | 'ٱ' => 'ا',
            'ى' => 'ي',
            'ة' => 'ه',
            c => c,
        })
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Size of the intersection of two sorted lists.
fn common(a: &[String], b: &[String]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// What the scoring needs of one source.
struct Source {
    numbers: Vec<String>,
    latin: Vec<String>,
    folded_start: String,
    chars: f64,
}

/// What the scoring needs of one answer.
struct Answer {
    numbers: Vec<String>,
    words: Vec<String>,
    /// the copied first words, folded (see [`fold_arabic`])
    echo: Option<String>,
    chars: f64,
}

/// English runs to about this many characters per Arabic character in news.
const LENGTH_RATIO: f64 = 1.25;

fn score(req: &Request, s: &Source, a: &Answer) -> f64 {
    let mut v = 0.0;
    // numbers: each shared one counts, each one on one side only costs
    let shared = common(&s.numbers, &a.numbers) as f64;
    v += 2.0 * shared;
    v -= 0.5 * ((s.numbers.len() + a.numbers.len()) as f64 - 2.0 * shared);
    // Latin names carried over
    v += s.latin.iter().filter(|w| a.words.contains(w)).count() as f64;
    // pinned terms honoured
    v += req
        .terms
        .iter()
        .filter(|t| honoured(&t.target, &a.words))
        .count() as f64;
    // the copied first words
    if let Some(e) = &a.echo
        && !e.is_empty()
        && !s.folded_start.is_empty()
        && (s.folded_start.starts_with(e.as_str()) || e.starts_with(&s.folded_start))
    {
        v += 3.0;
    }
    // length ratio
    if s.chars > 0.0 && a.chars > 0.0 {
        v -= (a.chars / (s.chars * LENGTH_RATIO)).ln().abs();
    }
    v
}

/// The sentences of an English text: cut after `.`, `!`, `?` or `:` (and
/// any closing quotes or brackets) followed by white space and a capital, a
/// digit or an opening quote.
pub fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let closing = |c: char| matches!(c, '"' | '\'' | ')' | '”' | '’' | '»' | '.');
    let mut k = 0;
    while k < chars.len() {
        if matches!(chars[k].1, '.' | '!' | '?' | ':') {
            // the mark, then closing quotes (tokenised text spaces them)
            let mut e = k + 1;
            loop {
                let mut w = e;
                while w < chars.len() && chars[w].1 == ' ' {
                    w += 1;
                }
                // a straight quote after a space and against a word opens
                let opens = w > e
                    && matches!(chars[w].1, '"' | '\'')
                    && chars.get(w + 1).is_some_and(|c| !c.1.is_whitespace());
                if w < chars.len() && closing(chars[w].1) && !opens {
                    e = w + 1;
                } else {
                    break;
                }
            }
            let mut w = e;
            while w < chars.len() && chars[w].1.is_whitespace() {
                w += 1;
            }
            if w > e
                && w < chars.len()
                && (chars[w].1.is_uppercase()
                    || chars[w].1.is_ascii_digit()
                    || matches!(chars[w].1, '"' | '“' | '\''))
            {
                out.push(text[start..chars[e - 1].0 + chars[e - 1].1.len_utf8()].trim());
                start = chars[w].0;
                k = w;
                continue;
            }
        }
        k += 1;
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// Letters and digits lower-cased, one space between words: for finding
/// one answer inside another.
fn plain(text: &str) -> String {
    tokens(text).join(" ")
}

fn non_space(text: &str) -> f64 {
    text.chars().filter(|c| !c.is_whitespace()).count() as f64
}

/// Whether `answer` begins (`at_start`) or ends with the whole of `theirs`
/// (another segment's English) and holds more: at a sentence boundary, or
/// anywhere for an English of three words or more.
fn holds(answer: &str, theirs: &str, at_start: bool) -> bool {
    let (mine, theirs_plain) = (plain(answer), plain(theirs));
    let n = theirs_plain.split(' ').filter(|w| !w.is_empty()).count();
    if n == 0 || mine.len() <= theirs_plain.len() {
        return false;
    }
    let edge = if at_start {
        mine.starts_with(&format!("{theirs_plain} "))
    } else {
        mine.ends_with(&format!(" {theirs_plain}"))
    };
    if !edge {
        return false;
    }
    if n >= 3 {
        return true;
    }
    // a short English: only as whole sentences
    let told = sentences(answer);
    let k = sentences(theirs).len();
    told.len() > k && {
        let part = if at_start {
            &told[..k]
        } else {
            &told[told.len() - k..]
        };
        plain(&part.join(" ")) == theirs_plain
    }
}

/// Whether `answer` (with the words the model copied), given for `target`,
/// also translates its neighbour `other` (just before it when
/// `other_before`, else just after): two segments merged into one entry.
/// `other_answer`: the neighbour's own English, if the answer has it.
///
/// - The neighbour's own answer is there: merged when `answer` contains it
///   whole (a neighbour translated twice).
/// - It is missing: merged when the answer fits the two sources joined
///   clearly better than its own ([`MERGE_MARGIN`]: numbers, names, terms
///   and length), or when the answer has two sentences or more and a cut
///   between them leaves on the neighbour's side about the length the
///   neighbour's English would have (within a factor of [`TAIL_FIT`]) and
///   on the target's side enough for it: at least 0.4 of its expected
///   length, 0.8 when the cut leaves it fewer sentences than its Arabic
///   has ([`source_sentences`]), so that an Arabic of two sentences
///   translated by two is no merge. The second test catches a short
///   neighbour swallowed, whose few words change the length too little for
///   the first.
pub fn merged(
    target: &Request,
    other: &Request,
    other_before: bool,
    answer: &(String, Option<String>),
    other_answer: Option<&str>,
) -> bool {
    if let Some(theirs) = other_answer {
        return holds(&answer.0, theirs, other_before);
    }
    let (first, second) = if other_before {
        (other, target)
    } else {
        (target, other)
    };
    let mut both = target.clone();
    both.text = format!("{} {}", first.text, second.text);
    // the neighbour's terms that are not the target's own (a term both
    // pin is no sign of a merge)
    both.terms = target.terms.clone();
    both.terms.extend(
        other
            .terms
            .iter()
            .filter(|t| !target.terms.iter().any(|m| m.target == t.target))
            .cloned(),
    );
    let a = parse_answer(answer);
    if score(&both, &source(&both), &a) - score(target, &source(target), &a) > MERGE_MARGIN {
        return true;
    }
    let told = sentences(&answer.0);
    // a source of several sentences is translated by about as many
    let own = source_sentences(&target.text);
    if told.len() < 2 {
        return false;
    }
    let (t_len, o_len) = (non_space(&target.text), non_space(&other.text));
    if t_len == 0.0 || o_len == 0.0 {
        return false;
    }
    // each cut between sentences
    (1..told.len()).any(|k| {
        let (theirs, mine) = if other_before {
            (&told[..k], &told[k..])
        } else {
            (&told[told.len() - k..], &told[..told.len() - k])
        };
        let theirs: f64 = theirs.iter().map(|s| non_space(s)).sum();
        let mine: f64 = mine.iter().map(|s| non_space(s)).sum();
        // a cut that leaves the target fewer sentences than its Arabic
        // has must leave it most of its length (a source of two sentences
        // translated by two is no merge)
        let least = if told.len() - k >= own { 0.4 } else { 0.8 };
        (theirs / (o_len * LENGTH_RATIO)).ln().abs() < TAIL_FIT.ln()
            && mine / (t_len * LENGTH_RATIO) >= least
    })
}

/// How many sentences an Arabic source holds: one, and one more for each
/// full stop, question or exclamation mark (Arabic or Latin) followed by
/// white space and then a letter, a digit or an opening quote. Not counted: an
/// ellipsis, a decimal point, and a full stop after a word of one or two
/// letters (initials: `دي. كي. أريا`, `U.S.`).
pub fn source_sentences(text: &str) -> usize {
    let chars: Vec<char> = text.trim().chars().collect();
    let word_before = |k: usize| {
        chars[..k]
            .iter()
            .rev()
            .take_while(|c| c.is_alphanumeric())
            .count()
    };
    1 + (0..chars.len())
        .filter(|&k| {
            let mark = match chars[k] {
                '.' => {
                    (k == 0 || chars[k - 1] != '.')
                        && chars.get(k + 1) != Some(&'.')
                        && word_before(k) >= 3
                }
                '!' | '?' | '؟' => true,
                _ => false,
            };
            if !mark || !chars.get(k + 1).is_some_and(|c| c.is_whitespace()) {
                return false;
            }
            let Some(next) = (k + 1..chars.len()).find(|&i| !chars[i].is_whitespace()) else {
                return false;
            };
            match chars[next] {
                c if c.is_alphanumeric() => true,
                '«' | '“' => true,
                // a straight quote opens against a word; one followed by
                // a space closes (`؟ " تسأل`: the question is quoted)
                '"' => chars.get(next + 1).is_some_and(|c| !c.is_whitespace()),
                _ => false,
            }
        })
        .count()
}

fn source(r: &Request) -> Source {
    Source {
        numbers: numbers(&r.text),
        latin: latin_words(&r.text),
        folded_start: fold_arabic(&first_words(&r.text)),
        chars: r.text.chars().filter(|c| !c.is_whitespace()).count() as f64,
    }
}

fn parse_answer((en, echo): &(String, Option<String>)) -> Answer {
    Answer {
        numbers: numbers(en),
        words: tokens(en),
        echo: echo.as_deref().map(fold_arabic),
        chars: en.chars().filter(|c| !c.is_whitespace()).count() as f64,
    }
}

/// The pairing of sources (rows) to answers (columns) with the highest
/// total score: `best[i]` is the answer given to source `i`. An assignment
/// over the whole batch (the Hungarian method, O(n³)), so that any
/// permutation of the answers, a rotation of three or more as well as an
/// exchange of two, is found.
pub fn best_pairing(m: &[Vec<f64>]) -> Vec<usize> {
    let n = m.len();
    if n == 0 {
        return Vec::new();
    }
    // Minimum cost with cost = -score; potentials u (rows), v (columns),
    // 1-based with column 0 as the free slot.
    let inf = f64::INFINITY;
    let (mut u, mut v) = (vec![0.0; n + 1], vec![0.0; n + 1]);
    let (mut p, mut way) = (vec![0usize; n + 1], vec![0usize; n + 1]);
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![inf; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let (mut delta, mut j1) = (inf, 0);
            for j in 1..=n {
                if !used[j] {
                    let cur = -m[i0 - 1][j - 1] - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut best = vec![0; n];
    for j in 1..=n {
        best[p[j] - 1] = j - 1;
    }
    best
}

/// How well each answer fits each source: `m[i][j]` scores `answers[j]`
/// as the English of `batch[i]` (numbers, names, pinned terms, copied
/// first words, length). Both slices must be the same length.
pub fn scores(batch: &[Request], answers: &[(String, Option<String>)]) -> Vec<Vec<f64>> {
    let sources: Vec<Source> = batch.iter().map(source).collect();
    let parsed: Vec<Answer> = answers.iter().map(parse_answer).collect();
    batch
        .iter()
        .zip(&sources)
        .map(|(r, s)| parsed.iter().map(|a| score(r, s, a)).collect())
        .collect()
}

/// For each segment of `batch`, whether its answer is misaligned.
/// `answers[i]` is the English for `batch[i]` and the first words the model
/// copied, if it did. The answers are scored against every source
/// ([`scores`]) and judged by [`misaligned_scores`].
pub fn misaligned(batch: &[Request], answers: &[(String, Option<String>)]) -> Vec<bool> {
    let n = batch.len().min(answers.len());
    let mut out = vec![false; batch.len()];
    if n < 2 {
        return out;
    }
    let bad = misaligned_scores(&scores(&batch[..n], &answers[..n]));
    out[..n].copy_from_slice(&bad);
    out
}

/// The judgement of [`misaligned`] on a square score matrix (`m[i][j]`:
/// answer `j` as the English of source `i`). The best pairing of the whole
/// batch is found (see [`best_pairing`]); each of its cycles (two answers
/// exchanged, three rotated, …) that scores better than the pairing by id
/// by more than [`MARGIN`] marks its segments misaligned. So does any
/// exchange of two answers that clears the margin on its own, should the
/// best pairing have taken another route through those segments.
pub fn misaligned_scores(m: &[Vec<f64>]) -> Vec<bool> {
    let n = m.len();
    let mut out = vec![false; n];
    if n < 2 {
        return out;
    }
    for i in 0..n {
        for j in i + 1..n {
            let gain = m[i][j] + m[j][i] - m[i][i] - m[j][j];
            if gain > MARGIN {
                out[i] = true;
                out[j] = true;
            }
        }
    }
    let best = best_pairing(m);
    let mut seen = vec![false; n];
    for start in 0..n {
        if seen[start] || best[start] == start {
            continue;
        }
        let mut cycle = Vec::new();
        let mut i = start;
        while !seen[i] {
            seen[i] = true;
            cycle.push(i);
            i = best[i];
        }
        let gain: f64 = cycle.iter().map(|&i| m[i][best[i]] - m[i][i]).sum();
        if gain > MARGIN {
            for i in cycle {
                out[i] = true;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Context, PinnedTerm};

    fn req(text: &str) -> Request {
        Request {
            id: "x".into(),
            text: text.into(),
            terms: vec![],
            context: Context::default(),
            insist: false,
        }
    }

    #[test]
    fn numbers_are_read_alike_in_both_scripts() {
        assert_eq!(numbers("قتل ١٢ شخصا في ٢٠١٥"), ["12", "2015"]);
        assert_eq!(numbers("12 people in 2015."), ["12", "2015"]);
        assert_eq!(numbers("١٬٥٠٠ و٢٫٥"), ["1500", "2.5"]);
        assert_eq!(numbers("1,500 and 2.5, then 3."), ["1500", "2.5", "3"]);
        assert_eq!(numbers("۳۴"), ["34"]);
    }

    fn a(en: &str, echo: Option<&str>) -> (String, Option<String>) {
        (en.into(), echo.map(str::to_string))
    }

    #[test]
    fn a_swap_is_caught_and_a_correct_answer_is_not() {
        let batch = [
            req("قتل ١٢ شخصا في هجوم على سوق في كابول يوم الأحد."),
            req("وقالت شركة Apple إنها ستفتح ٣ متاجر جديدة في دبي العام المقبل."),
        ];
        let right = [
            a(
                "Twelve people were killed in an attack on a market in Kabul on Sunday.",
                Some("قتل ١٢ شخصا"),
            ),
            a(
                "Apple said it would open 3 new stores in Dubai next year.",
                Some("وقالت شركة Apple"),
            ),
        ];
        assert_eq!(misaligned(&batch, &right), [false, false]);
        let swapped = [right[1].clone(), right[0].clone()];
        assert_eq!(misaligned(&batch, &swapped), [true, true]);
        // without the copied words, numbers and names still tell
        let bare: Vec<_> = swapped.iter().map(|(e, _)| a(e, None)).collect();
        assert_eq!(misaligned(&batch, &bare), [true, true]);
    }

    #[test]
    fn pinned_terms_and_lengths_count() {
        let mut x = req("وصل بيسكوف إلى الاجتماع.");
        x.terms = vec![PinnedTerm {
            source: "بيسكوف".into(),
            target: "Peskov".into(),
        }];
        let y = req(
            "وأكدت الوزارة في بيان طويل صدر مساء أمس أن المفاوضات ستستمر حتى التوصل إلى اتفاق شامل بين الطرفين.",
        );
        let right = [
            a("Peskov arrived at the meeting.", None),
            a(
                "In a long statement issued last night, the ministry said negotiations would continue until a comprehensive agreement between the two sides is reached.",
                None,
            ),
        ];
        assert_eq!(misaligned(&[x.clone(), y.clone()], &right), [false, false]);
        let swapped = [right[1].clone(), right[0].clone()];
        assert_eq!(misaligned(&[x, y], &swapped), [true, true]);
    }

    #[test]
    fn the_best_pairing_is_an_assignment_over_the_whole_batch() {
        // a rotation of three: no exchange of two alone gains as much
        let m = vec![
            vec![0.0, 5.0, 0.0],
            vec![0.0, 0.0, 5.0],
            vec![5.0, 0.0, 0.0],
        ];
        assert_eq!(best_pairing(&m), [1, 2, 0]);
        let id = vec![vec![3.0, 1.0], vec![1.0, 3.0]];
        assert_eq!(best_pairing(&id), [0, 1]);
        assert!(best_pairing(&[]).is_empty());
        // against every permutation of a 5×5 matrix
        let mut rng = fastrand::Rng::with_seed(5);
        for _ in 0..200 {
            let m: Vec<Vec<f64>> = (0..5)
                .map(|_| (0..5).map(|_| rng.f64() * 10.0 - 5.0).collect())
                .collect();
            let total = |p: &[usize]| p.iter().enumerate().map(|(i, &j)| m[i][j]).sum::<f64>();
            let mut best = f64::MIN;
            let mut p = [0, 1, 2, 3, 4];
            permute(&mut p, 0, &mut |q| best = best.max(total(q)));
            assert!((total(&best_pairing(&m)) - best).abs() < 1e-9);
        }
    }

    fn permute(p: &mut [usize; 5], k: usize, f: &mut dyn FnMut(&[usize])) {
        if k == p.len() {
            return f(p);
        }
        for i in k..p.len() {
            p.swap(k, i);
            permute(p, k + 1, f);
            p.swap(k, i);
        }
    }

    #[test]
    fn a_rotation_of_three_is_caught() {
        let batch = [
            req("قتل ١٢ شخصا في هجوم على سوق في كابول يوم الأحد."),
            req("وقالت شركة Apple إنها ستفتح ٣ متاجر جديدة في دبي العام المقبل."),
            req("وارتفع عدد السكان إلى ٤٥٠ ألفا عام ١٩٩٩ بحسب تقرير UNICEF."),
        ];
        let right = [
            a(
                "Twelve people were killed in an attack on a market in Kabul on Sunday.",
                None,
            ),
            a(
                "Apple said it would open 3 new stores in Dubai next year.",
                None,
            ),
            a(
                "The population rose to 450,000 in 1999, according to a UNICEF report.",
                None,
            ),
        ];
        assert_eq!(misaligned(&batch, &right), [false, false, false]);
        let rotated = [right[1].clone(), right[2].clone(), right[0].clone()];
        assert_eq!(misaligned(&batch, &rotated), [true, true, true]);
    }

    #[test]
    fn sentences_are_cut_where_a_new_one_starts() {
        assert_eq!(
            sentences("He left. \"Why?\" she asked: Nobody knew. 3 came."),
            ["He left.", "\"Why?\" she asked:", "Nobody knew.", "3 came."]
        );
        assert_eq!(
            sentences("U.S. forces left at 3.5 p.m. on Monday."),
            ["U.S. forces left at 3.5 p.m. on Monday."]
        );
        assert_eq!(sentences("It ended ? ” Then"), ["It ended ? ”", "Then"]);
    }

    #[test]
    fn a_merged_answer_is_told_from_a_dropped_neighbour() {
        let long =
            req("وقال المتحدث باسم الحكومة إن الوزراء سيجتمعون الأسبوع المقبل لمناقشة الموازنة.");
        let short = req("بلا جدوى.");
        let en_long =
            "The government spokesman said ministers would meet next week to discuss the budget.";
        // the short neighbour swallowed, its entry missing
        let both = a(&format!("{en_long} To no avail."), None);
        assert!(merged(&long, &short, false, &both, None));
        // the same answer alone, the neighbour merely dropped
        assert!(!merged(&long, &short, false, &a(en_long, None), None));
        // swallowed into the second
        let both = a(&format!("To no avail. {en_long}"), None);
        assert!(merged(&long, &short, true, &both, None));
        // the neighbour's English given too, and repeated in this one
        let both = a(&format!("{en_long} To no avail."), None);
        assert!(merged(&long, &short, false, &both, Some("To no avail.")));
        // a neighbour's words inside a sentence are no merge
        let alone = a("Talks were of no avail, the spokesman said.", None);
        assert!(!merged(&long, &short, false, &alone, Some("no avail")));
    }

    #[test]
    fn arabic_sentences_are_counted_at_their_marks() {
        assert_eq!(
            source_sentences("خلق كل شيء من مادة. وخلقت المواد من ذرات."),
            2
        );
        assert_eq!(source_sentences("هل انتهى؟ نعم! انتهى."), 3);
        // initials, an ellipsis, a decimal point: one sentence
        assert_eq!(
            source_sentences("وقال نائب المفتش دي. كي. أريا إن ذلك حدث."),
            1
        );
        assert_eq!(source_sentences("قال: يتحدث كثيرا... كنت أستعد."), 1);
        assert_eq!(source_sentences("ارتفع بنسبة 2.5 في المئة."), 1);
        // a quoted question, then who asked it: one sentence
        assert_eq!(source_sentences("\" ماذا يعني هذا ؟ \" تسأل المدونة ."), 1);
        // a quote that opens the next sentence
        assert_eq!(source_sentences("انتهى الاجتماع. \"لن نعود\" قال."), 2);
    }

    #[test]
    fn two_sentences_for_two_are_no_merge() {
        // a source of two sentences translated by two, the neighbour's
        // entry missing: not merged
        let two = req("خلق كل شيء في الكون من مادة. خلقت كل المواد من جزيئات صغيرة تسمى بالذرات.");
        let next = req("الذرات صغيرة جدا لدرجة أن تريليونات منها يمكن أن تتسع في النقطة.");
        let en = "Everything in the Universe is made of matter. All matter is made of tiny particles called atoms.";
        assert!(!merged(&two, &next, false, &a(en, None), None));
        // the neighbour swallowed: merged
        let both = a(
            &format!("{en} Atoms are so tiny that trillions of them could fit into the period."),
            None,
        );
        assert!(merged(&two, &next, false, &both, None));
    }

    #[test]
    fn a_single_segment_is_never_misaligned() {
        assert_eq!(misaligned(&[req("نص")], &[a("x", None)]), [false]);
    }
}
