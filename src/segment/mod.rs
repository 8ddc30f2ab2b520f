/*!
Paragraphs and sentences: the first stage of the pipeline.

Every later stage (glossary, memory, backend, bilingual output) works on the
segments made here, so a wrong break misaligns everything after it. General
purpose splitters get Arabic wrong: SRX defaults never break on `؟`, some
break on the Arabic comma `،`, UAX #29 breaks after `د.`. This segmenter is
driven by a rule set (`rules.toml` plus abbreviation lists, all compiled in
and extendable by the user) and keeps the original text and character
offsets of every segment, so that the input is covered exactly: what lies
between two segments is white space only.

The algorithm, per paragraph:
1. find matched quote and bracket pairs (`«»`, `""`, `()` ...): no sentence
   ends inside one;
2. find runs of terminators (`.` `!` `?` `؟` `…`), take the closing quotes
   and brackets right after them;
3. break there only if white space follows and the next word starts a
   sentence (a letter that is not lower-case Latin, a digit, an opener), the
   run is not a headline separator (`..`), and the word before a single `.`
   is not an abbreviation, initials or a list number.
*/

mod rules;

pub use rules::{Rules, RulesError};

use crate::model::Segment;

/// How the text is cut into paragraphs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SegmentOptions {
    /// Treat single line breaks as spaces (hard-wrapped text); paragraphs are
    /// then separated by blank lines. By default every non-empty line is a
    /// paragraph, as news pages are laid out.
    pub join_lines: bool,
}

/// A compiled rule set, ready to cut text into segments.
#[derive(Debug, Clone)]
pub struct Segmenter {
    rules: Rules,
}

impl Default for Segmenter {
    fn default() -> Self {
        Segmenter::new(Rules::builtin())
    }
}

/// True for characters that make a line blank: white space (NBSP included),
/// and invisible format characters that news sites leave on empty lines.
fn is_blank_char(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{200B}'
                | '\u{200C}'
                | '\u{200D}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{FEFF}'
                | '\u{2060}'
        )
}

impl Segmenter {
    pub fn new(rules: Rules) -> Self {
        Segmenter { rules }
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Cut `text` into segments. `text` must not start with a BOM (see
    /// [`crate::input`]); offsets are character offsets into `text`.
    pub fn segment(&self, text: &str, opts: SegmentOptions) -> Vec<Segment> {
        let mut out = Vec::new();
        let mut cursor = CharCursor::default();
        let mut para = 0usize;
        for (start, end) in paragraphs(text, opts) {
            para += 1;
            let body = &text[start..end];
            let mut index = 0usize;
            for (s, e) in self.sentences(body) {
                index += 1;
                let char_start = cursor.advance_to(text, start + s);
                let char_end = cursor.advance_to(text, start + e);
                out.push(Segment {
                    id: Segment::make_id(para, index),
                    para,
                    index,
                    text: body[s..e].to_string(),
                    start: char_start,
                    end: char_end,
                });
            }
        }
        out
    }

    /// Sentence spans (byte ranges) inside one trimmed paragraph.
    fn sentences(&self, body: &str) -> Vec<(usize, usize)> {
        let r = &self.rules;
        let mut spans = Vec::new();
        let mut seg_start = 0usize;
        // Quote/bracket pairs are computed once per paragraph, and only when
        // a break is otherwise allowed.
        let mut pairs: Option<PairSweep> = None;
        let n = body.len();
        let mut i = 0usize;
        while i < n {
            let Some(c) = body[i..].chars().next() else {
                break;
            };
            if !r.is_terminator(c) {
                i += c.len_utf8();
                continue;
            }
            let run_start = i;
            let run_end = skip_while(body, i, |c| r.is_terminator(c));
            let k = skip_while(body, run_end, |c| r.is_closer(c));
            i = run_end;
            // Must be followed by white space, and something after it.
            match body[k..].chars().next() {
                Some(c) if c.is_whitespace() => {}
                _ => continue,
            }
            let m = skip_while(body, k, is_blank_char);
            let Some(next) = body[m..].chars().next() else {
                continue;
            };
            if !self.breaks_here(body, seg_start, run_start, run_end, next) {
                continue;
            }
            let sweep = pairs.get_or_insert_with(|| PairSweep::new(r.matched_pairs(body)));
            if sweep.inside(run_start, k) {
                continue;
            }
            spans.push((seg_start, k));
            seg_start = m;
            i = m;
        }
        if seg_start < n {
            spans.push((seg_start, n));
        }
        spans
    }

    /// The word-level checks for a terminator run `body[run..run_end]` whose
    /// next sentence would start with `next`.
    fn breaks_here(
        &self,
        body: &str,
        seg_start: usize,
        run: usize,
        run_end: usize,
        next: char,
    ) -> bool {
        let r = &self.rules;
        let run_text = &body[run..run_end];
        if r.is_never_break_run(run_text) {
            return false;
        }
        if !r.starts_sentence(next) {
            return false;
        }
        if run_text == "." {
            // The word before the dot, without opening punctuation.
            let before = &body[seg_start..run];
            let mut w = before
                .char_indices()
                .rev()
                .find(|&(_, c)| c.is_whitespace())
                .map_or(seg_start, |(b, c)| seg_start + b + c.len_utf8());
            w = skip_while(body, w, |c| r.is_opener(c)).min(run);
            let word = &body[w..run_end];
            if r.is_abbreviation(word) {
                return false;
            }
            if r.list_markers
                && w == seg_start
                && word.len() > 1
                && word[..word.len() - 1].chars().all(char::is_numeric)
            {
                return false;
            }
        }
        true
    }
}

/// The byte position after the characters of `s` from `from` that satisfy `f`.
fn skip_while(s: &str, from: usize, f: impl Fn(char) -> bool) -> usize {
    s[from..]
        .char_indices()
        .find(|&(_, c)| !f(c))
        .map_or(s.len(), |(b, _)| from + b)
}

/// Answers "is this break inside a matched pair?" for break positions that
/// only move forward, in linear time overall.
struct PairSweep {
    /// (open, close) byte positions, sorted by open.
    pairs: Vec<(usize, usize)>,
    next: usize,
    max_close: Option<usize>,
}

impl PairSweep {
    fn new(mut pairs: Vec<(usize, usize)>) -> Self {
        pairs.sort_unstable();
        PairSweep {
            pairs,
            next: 0,
            max_close: None,
        }
    }

    /// Whether some pair opens before `run` and closes at or after `end`.
    fn inside(&mut self, run: usize, end: usize) -> bool {
        while self.next < self.pairs.len() && self.pairs[self.next].0 < run {
            let c = self.pairs[self.next].1;
            self.max_close = Some(self.max_close.map_or(c, |m| m.max(c)));
            self.next += 1;
        }
        self.max_close.is_some_and(|c| c >= end)
    }
}

/// Byte ranges of the paragraphs of `text`, trimmed of blank characters.
fn paragraphs(text: &str, opts: SegmentOptions) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    let mut line_start = 0usize;
    let len = text.len();
    while line_start <= len {
        let line_end = text[line_start..]
            .find('\n')
            .map_or(len, |p| line_start + p);
        let line = &text[line_start..line_end];
        match trimmed(line) {
            Some((a, b)) => {
                let (a, b) = (line_start + a, line_start + b);
                if opts.join_lines {
                    current = Some(match current {
                        Some((s, _)) => (s, b),
                        None => (a, b),
                    });
                } else {
                    out.push((a, b));
                }
            }
            None => {
                if let Some(p) = current.take() {
                    out.push(p);
                }
            }
        }
        if line_end == len {
            break;
        }
        line_start = line_end + 1;
    }
    if let Some(p) = current.take() {
        out.push(p);
    }
    out
}

/// Byte range of `line` without leading and trailing blank characters, or
/// `None` when the line is blank.
fn trimmed(line: &str) -> Option<(usize, usize)> {
    let start = line.char_indices().find(|&(_, c)| !is_blank_char(c))?.0;
    let (last, c) = line
        .char_indices()
        .rev()
        .find(|&(_, c)| !is_blank_char(c))?;
    Some((start, last + c.len_utf8()))
}

/// Converts increasing byte positions into character offsets in one pass.
#[derive(Default)]
struct CharCursor {
    byte: usize,
    chars: usize,
}

impl CharCursor {
    fn advance_to(&mut self, text: &str, byte: usize) -> usize {
        self.chars += text[self.byte..byte].chars().count();
        self.byte = byte;
        self.chars
    }
}

#[cfg(test)]
mod tests;
