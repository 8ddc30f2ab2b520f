/*!
Does each English answer of a batch belong to its own Arabic source?

An LLM asked for several segments at once sometimes gives two of them each
other's English: fluent, plausible and wrong, and no id, count or Arabic
letter check can see it. So every batched answer is scored pair by pair
(each source against each answer) on what a translation carries over:
numbers (Arabic-Indic, Persian and ASCII digits read alike, thousands
separators dropped), Latin-script names and words, the pinned terms, the
first word(s) of the source that the model is asked to copy next to its
English, and the ratio of the lengths. The answer is *misaligned* for two
segments when exchanging their answers scores clearly better than the
pairing by id; those segments' answers are not used (the engine re-sends
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
/// costs re-sending the segment alone).
pub const MERGE_MARGIN: f64 = 0.5;

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
    if let Some(echo) = &a.echo {
        let e = fold_arabic(echo);
        if !e.is_empty()
            && !s.folded_start.is_empty()
            && (s.folded_start.starts_with(&e) || e.starts_with(&s.folded_start))
        {
            v += 3.0;
        }
    }
    // length ratio
    if s.chars > 0.0 && a.chars > 0.0 {
        v -= (a.chars / (s.chars * LENGTH_RATIO)).ln().abs();
    }
    v
}

/// Whether `answer` (with the words the model copied) translates `first`
/// and `second` together rather than `target` alone, where `target` is one
/// of them: an answer that swallowed its neighbour, whose own entry is
/// then missing.
pub fn merged(
    target: &Request,
    first: &Request,
    second: &Request,
    answer: &(String, Option<String>),
) -> bool {
    let mut both = target.clone();
    both.text = format!("{} {}", first.text, second.text);
    both.terms = first.terms.iter().chain(&second.terms).cloned().collect();
    let a = parse_answer(answer);
    score(&both, &source(&both), &a) - score(target, &source(target), &a) > MERGE_MARGIN
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
        echo: echo.clone(),
        chars: en.chars().filter(|c| !c.is_whitespace()).count() as f64,
    }
}

/// For each segment of `batch`, whether its answer is misaligned: some
/// exchange with another segment's answer scores better than the pairing
/// by id by more than [`MARGIN`]. `answers[i]` is the English for
/// `batch[i]` and the first words the model copied, if it did.
pub fn misaligned(batch: &[Request], answers: &[(String, Option<String>)]) -> Vec<bool> {
    let n = batch.len().min(answers.len());
    let mut out = vec![false; batch.len()];
    if n < 2 {
        return out;
    }
    let sources: Vec<Source> = batch[..n].iter().map(source).collect();
    let parsed: Vec<Answer> = answers[..n].iter().map(parse_answer).collect();
    let mut m = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..n {
            m[i][j] = score(&batch[i], &sources[i], &parsed[j]);
        }
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
    fn a_single_segment_is_never_misaligned() {
        assert_eq!(misaligned(&[req("نص")], &[a("x", None)]), [false]);
    }
}
