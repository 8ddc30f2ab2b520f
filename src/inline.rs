/*!
Inline formatting through translation: a Word source's bold, italic,
underlined and linked runs as paired markers in the segment text.

A formatted run of the Arabic is wrapped in `⟦1⟧…⟦/1⟧` (numbered in the
segment from 1) before the segment is sent; the engine is asked to keep
the markers around the English words that render those Arabic words (the
tag-handling protocols get them as tags, see `backend::markup`). The answer
is then checked like the pinned terms are: every marker pair of the source
present exactly once, opened before it is closed, well nested, and nothing
else in brackets. An English that passes keeps its markers beside the plain
text (`AlignedPair::marked`), so that the Word document puts the run's
formatting on those English words and the HTML shows it; every other
writer and the memory get the plain English (the markers stripped), and
the cache key is the plain Arabic's, as it always was.

The spans are placed on the segments by the offsets the reader recorded
([`Placer`]), so that a short span ("قال") is placed where the source had
it and not on an earlier sentence that has the same word; a span that runs
across two sentences cannot be placed and is reported.
*/

use crate::model::InlineFormat;

/// The opening bracket of a marker.
pub const OPEN: char = '⟦';
/// The closing bracket of a marker.
pub const CLOSE: char = '⟧';

/// Whether `s` holds a marker (or a bracket of one).
pub fn has_markers(s: &str) -> bool {
    s.contains(OPEN) || s.contains(CLOSE)
}

/// One token of a marked text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token<'a> {
    Text(&'a str),
    Open(usize),
    Close(usize),
    /// A bracket that does not make a marker (`⟦x`, `⟦1`, a lone `⟧`).
    Stray(&'a str),
}

/// The tokens of `s`, in order.
pub fn tokens(s: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let at = rest.find([OPEN, CLOSE]);
        let Some(at) = at else {
            out.push(Token::Text(rest));
            break;
        };
        if at > 0 {
            out.push(Token::Text(&rest[..at]));
            rest = &rest[at..];
        }
        if rest.starts_with(CLOSE) {
            let n = CLOSE.len_utf8();
            out.push(Token::Stray(&rest[..n]));
            rest = &rest[n..];
            continue;
        }
        let after = &rest[OPEN.len_utf8()..];
        let (close, body) = match after.strip_prefix('/') {
            Some(b) => (true, b),
            None => (false, after),
        };
        let digits = body.chars().take_while(char::is_ascii_digit).count();
        let n: Option<usize> = body[..digits].parse().ok().filter(|&n| n > 0);
        match (n, body[digits..].starts_with(CLOSE)) {
            (Some(n), true) => {
                let len = OPEN.len_utf8() + usize::from(close) + digits + CLOSE.len_utf8();
                out.push(if close {
                    Token::Close(n)
                } else {
                    Token::Open(n)
                });
                rest = &rest[len..];
            }
            _ => {
                let n = OPEN.len_utf8();
                out.push(Token::Stray(&rest[..n]));
                rest = &rest[n..];
            }
        }
    }
    out
}

/// `s` without its markers (and without stray brackets): what the memory,
/// the term check and every writer but Word and HTML get.
pub fn strip(s: &str) -> String {
    if !has_markers(s) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    for t in tokens(s) {
        if let Token::Text(x) = t {
            out.push_str(x);
        }
    }
    // A marker that stood between two spaces leaves two.
    let mut folded = String::with_capacity(out.len());
    let mut space = false;
    for c in out.chars() {
        if c == ' ' {
            if !space {
                folded.push(c);
            }
            space = true;
        } else {
            space = false;
            folded.push(c);
        }
    }
    folded.trim().to_string()
}

/// The marker numbers of a marked source, in order of opening.
pub fn numbers(s: &str) -> Vec<usize> {
    tokens(s)
        .into_iter()
        .filter_map(|t| match t {
            Token::Open(n) => Some(n),
            _ => None,
        })
        .collect()
}

/// Check the markers of an `english` answer against those of the
/// `source` it translates: each pair present exactly once, opened before
/// it is closed, well nested, no marker the source lacks, no stray
/// bracket. `Err` says what is wrong, in words for the warning and for
/// the re-request's prompt.
pub fn check(source: &str, english: &str) -> Result<(), String> {
    let want = numbers(source);
    let mut opened: Vec<usize> = Vec::new();
    let mut closed: Vec<usize> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    for t in tokens(english) {
        match t {
            Token::Text(_) => {}
            Token::Stray(b) => return Err(format!("a stray {b} that is not a marker")),
            Token::Open(n) => {
                if !want.contains(&n) {
                    return Err(format!("marker ⟦{n}⟧ is not in the source"));
                }
                if opened.contains(&n) {
                    return Err(format!("marker ⟦{n}⟧ appears twice"));
                }
                opened.push(n);
                stack.push(n);
            }
            Token::Close(n) => {
                if !want.contains(&n) {
                    return Err(format!("marker ⟦/{n}⟧ is not in the source"));
                }
                if closed.contains(&n) {
                    return Err(format!("marker ⟦/{n}⟧ appears twice"));
                }
                if !opened.contains(&n) {
                    return Err(format!("⟦/{n}⟧ comes before ⟦{n}⟧"));
                }
                if stack.last() != Some(&n) {
                    return Err(format!(
                        "⟦{n}⟧…⟦/{n}⟧ crosses ⟦{m}⟧…⟦/{m}⟧ (markers must nest)",
                        m = stack.last().copied().unwrap_or(0)
                    ));
                }
                stack.pop();
                closed.push(n);
            }
        }
    }
    if let Some(n) = want.iter().find(|n| !opened.contains(n)) {
        return Err(format!("marker pair ⟦{n}⟧…⟦/{n}⟧ is missing"));
    }
    if let Some(n) = want.iter().find(|n| !closed.contains(n)) {
        return Err(format!("⟦{n}⟧ is never closed with ⟦/{n}⟧"));
    }
    Ok(())
}

/// The pieces of a checked marked English: each stretch of text with the
/// markers open around it (innermost last).
pub fn pieces(marked: &str) -> Vec<(String, Vec<usize>)> {
    let mut out: Vec<(String, Vec<usize>)> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut space = true;
    for t in tokens(marked) {
        match t {
            // white space that a marker split is kept once, as `strip` does
            Token::Text(x) => {
                let x = if space { x.trim_start_matches(' ') } else { x };
                if x.is_empty() {
                    continue;
                }
                space = x.ends_with(' ');
                match out.last_mut() {
                    Some((s, o)) if *o == open => s.push_str(x),
                    _ => out.push((x.to_string(), open.clone())),
                }
            }
            Token::Open(n) => open.push(n),
            Token::Close(n) => open.retain(|&m| m != n),
            Token::Stray(_) => {}
        }
    }
    if let Some((s, _)) = out.last_mut() {
        s.truncate(s.trim_end_matches(' ').len());
    }
    out.retain(|(s, _)| !s.is_empty());
    out
}

/// The formats that cover a piece: the union of its open markers'.
pub fn format_of(open: &[usize], formats: &[InlineFormat]) -> InlineFormat {
    let mut f = InlineFormat::default();
    for &n in open {
        if let Some(g) = formats.get(n - 1) {
            f.bold |= g.bold;
            f.italic |= g.italic;
            f.underline |= g.underline;
            if g.link.is_some() {
                f.link = g.link.clone();
            }
        }
    }
    f
}

/// One segment with its source's spans placed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placed {
    /// The segment's text with markers, when a span was placed in it.
    pub marked: Option<String>,
    /// The format of marker `n` at `n - 1`.
    pub formats: Vec<InlineFormat>,
    /// Spans of this segment that could not be placed, with why.
    pub lost: Vec<(InlineFormat, &'static str)>,
}

/// Why a span is not placed: it runs across two sentences.
pub const ACROSS_SENTENCES: &str = "it runs across two sentences";
/// Why a span is not placed: the reader could not tell where it stands.
pub const UNKNOWN_PLACE: &str = "where it stands in the paragraph could not be read";

/// Places a document's spans on its segments by their offsets (the
/// reader records where each span starts, in the frame of
/// `Segment::start`). Feed it every segment of the document in order.
#[derive(Debug, Clone, Default)]
pub struct Placer {
    /// The paragraph of the segment before.
    para: usize,
}

impl Placer {
    /// Place the spans of `spans` (the document's) that fall in the
    /// segment of paragraph `para` starting at character `start` of the
    /// document, whose text is `text`.
    pub fn place(
        &mut self,
        spans: &[InlineFormat],
        para: usize,
        start: usize,
        text: &str,
    ) -> Placed {
        let first_of_para = std::mem::replace(&mut self.para, para) != para;
        let chars: Vec<char> = text.chars().collect();
        let end = start + chars.len();
        let mut placed = Placed::default();
        let mut cuts: Vec<(usize, usize)> = Vec::new();
        for span in spans.iter().filter(|f| f.para == para) {
            let len = span.text.chars().count();
            let Some(s) = span.start else {
                // where it is, the reader could not say: reported once
                if first_of_para {
                    placed.lost.push((span.clone(), UNKNOWN_PLACE));
                }
                continue;
            };
            let e = s + len;
            if s >= start && e <= end {
                let (a, b) = (s - start, e - start);
                let same = chars[a..b].iter().copied().eq(span.text.chars());
                let free = cuts.last().is_none_or(|&(_, pb)| pb <= a);
                if same && free && len > 0 {
                    cuts.push((a, b));
                    placed.formats.push(span.clone());
                } else {
                    placed.lost.push((span.clone(), UNKNOWN_PLACE));
                }
            } else if s >= start && s < end {
                // starts here, runs on into the next sentence
                placed.lost.push((span.clone(), ACROSS_SENTENCES));
            }
        }
        if !cuts.is_empty() {
            let mut out = String::with_capacity(text.len() + cuts.len() * 8);
            let mut at = 0;
            for (n, &(a, b)) in cuts.iter().enumerate() {
                out.extend(&chars[at..a]);
                out.push_str(&format!("{OPEN}{}{CLOSE}", n + 1));
                out.extend(&chars[a..b]);
                out.push_str(&format!("{OPEN}/{}{CLOSE}", n + 1));
                at = b;
            }
            out.extend(&chars[at..]);
            placed.marked = Some(out);
        }
        placed
    }
}

/// The marked English of a row, when it still marks the row's English: a
/// reviewer's edit replaces `target` and leaves the machine's marked
/// English behind, which must then not be used.
pub fn marked_of(pair: &crate::model::AlignedPair) -> Option<&str> {
    let m = pair.marked.as_deref()?;
    let t = pair.target.as_deref()?;
    (fold(&strip(m)) == fold(t)).then_some(m)
}

/// White space folded to single spaces, ends trimmed (as segments are
/// sent and spans recorded).
pub fn fold(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(para: usize, text: &str, bold: bool, start: Option<usize>) -> InlineFormat {
        InlineFormat {
            para,
            text: text.into(),
            start,
            bold,
            italic: !bold,
            ..InlineFormat::default()
        }
    }

    #[test]
    fn checks_pairs_once_in_order_and_nested() {
        let src = "قال ⟦1⟧الرئيس⟦/1⟧ إن ⟦2⟧الوفد⟦/2⟧ وصل";
        assert_eq!(
            check(src, "⟦1⟧The president⟦/1⟧ said ⟦2⟧the delegation⟦/2⟧ came"),
            Ok(())
        );
        // order may change with the English word order
        assert_eq!(
            check(src, "⟦2⟧The delegation⟦/2⟧ came, said ⟦1⟧the president⟦/1⟧"),
            Ok(())
        );
        for (bad, why) in [
            ("The president said the delegation came", "missing"),
            (
                "⟦1⟧The president⟦/1⟧ said the delegation came",
                "⟦2⟧…⟦/2⟧ is missing",
            ),
            ("⟦1⟧The ⟦2⟧president⟦/1⟧ said the delegation⟦/2⟧", "crosses"),
            ("⟦/1⟧The president⟦1⟧ ⟦2⟧x⟦/2⟧", "comes before"),
            ("⟦1⟧The⟦/1⟧ ⟦1⟧president⟦/1⟧ ⟦2⟧x⟦/2⟧", "twice"),
            ("⟦1⟧The⟦/1⟧ ⟦2⟧x⟦/2⟧ ⟦3⟧y⟦/3⟧", "not in the source"),
            ("⟦1⟧The⟦/1⟧ ⟦2⟧x⟦/2", "stray"),
            ("⟦1⟧The⟦/1⟧ ⟦2⟧x", "never closed"),
            ("[1]The[/1] <2>x</2>", "missing"),
        ] {
            let e = check(src, bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        assert_eq!(check("نص", "text"), Ok(()));
        assert!(check("نص", "text ⟦1⟧x⟦/1⟧").is_err());
    }

    #[test]
    fn strip_and_pieces() {
        let m = "He said ⟦1⟧the ⟦2⟧new⟦/2⟧ law⟦/1⟧ passed ⟦3⟧ today⟦/3⟧.";
        assert_eq!(strip(m), "He said the new law passed today.");
        assert_eq!(strip("a ⟦1⟧ b ⟦/1⟧ c ⟦ x"), "a b c x");
        for m in [m, "a ⟦1⟧ b ⟦/1⟧ c", " ⟦1⟧x⟦/1⟧ "] {
            let joined: String = pieces(m).into_iter().map(|(t, _)| t).collect();
            assert_eq!(joined, strip(m), "{m}");
        }
        assert_eq!(
            pieces(m),
            vec![
                ("He said ".to_string(), vec![]),
                ("the ".to_string(), vec![1]),
                ("new".to_string(), vec![1, 2]),
                (" law".to_string(), vec![1]),
                (" passed ".to_string(), vec![]),
                ("today".to_string(), vec![3]),
                (".".to_string(), vec![]),
            ]
        );
    }

    #[test]
    fn spans_are_placed_by_their_offsets_on_their_own_sentence() {
        // Paragraph 1 at document offset 0: "قال" is bold in the second
        // sentence only, so the first sentence's "قال" stays plain.
        let p1 = "قال الوزير ذلك. ثم قال إن الوفد غادر.";
        let chars: Vec<char> = p1.chars().collect();
        let at = |s: &str, from: usize| {
            let n: Vec<char> = s.chars().collect();
            (from..chars.len())
                .find(|&i| chars[i..].starts_with(&n))
                .unwrap()
        };
        let second = at("ثم", 0);
        let spans = vec![
            span(1, "قال", true, Some(at("قال", second))),
            span(1, "الوفد", false, Some(at("الوفد", 0))),
            span(2, "بيروت", true, Some(chars.len() + 2 + 3)),
        ];
        let mut p = Placer::default();
        let a = p.place(&spans, 1, 0, "قال الوزير ذلك.");
        assert_eq!(a.marked, None);
        assert!(a.lost.is_empty());
        let b = p.place(&spans, 1, second, "ثم قال إن الوفد غادر.");
        assert_eq!(
            b.marked.as_deref(),
            Some("ثم ⟦1⟧قال⟦/1⟧ إن ⟦2⟧الوفد⟦/2⟧ غادر.")
        );
        assert_eq!(b.formats.len(), 2);
        assert!(b.formats[0].bold && b.formats[1].italic);
        let c = p.place(&spans, 2, chars.len() + 2, "في بيروت.");
        assert_eq!(c.marked.as_deref(), Some("في ⟦1⟧بيروت⟦/1⟧."));
        assert_eq!(
            check(
                b.marked.as_deref().unwrap(),
                "Then ⟦1⟧said⟦/1⟧ ⟦2⟧the delegation⟦/2⟧ left."
            ),
            Ok(())
        );
    }

    #[test]
    fn a_span_across_two_sentences_or_at_an_unknown_place_is_reported_once() {
        // "انتهى. هل" runs across the boundary of "قال إن الاجتماع انتهى."
        // (offset 0) and "هل من جديد؟" (offset 23).
        let spans = vec![
            span(1, "انتهى. هل", true, Some(16)),
            span(1, "جديد", false, Some(29)),
            span(1, "غائب", true, None),
            span(1, "وهم", true, Some(25)),
        ];
        let mut p = Placer::default();
        let a = p.place(&spans, 1, 0, "قال إن الاجتماع انتهى.");
        assert_eq!(a.marked, None);
        let lost: Vec<(&str, &str)> = a
            .lost
            .iter()
            .map(|(f, why)| (f.text.as_str(), *why))
            .collect();
        assert_eq!(
            lost,
            [("انتهى. هل", ACROSS_SENTENCES), ("غائب", UNKNOWN_PLACE)]
        );
        let b = p.place(&spans, 1, 23, "هل من جديد؟");
        assert_eq!(b.marked.as_deref(), Some("هل من ⟦1⟧جديد⟦/1⟧؟"));
        // a span whose text is not what stands at its offset is not placed
        let lost: Vec<(&str, &str)> = b
            .lost
            .iter()
            .map(|(f, why)| (f.text.as_str(), *why))
            .collect();
        assert_eq!(lost, [("وهم", UNKNOWN_PLACE)]);
    }
}
