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
        let mut chars: Vec<char> = Vec::new();
        let mut bytes: Vec<usize> = Vec::new();
        for (start, end) in paragraphs(text, opts) {
            para += 1;
            let char_start = cursor.advance_to(text, start);
            let body = &text[start..end];
            chars.clear();
            bytes.clear();
            for (b, c) in body.char_indices() {
                chars.push(c);
                bytes.push(b);
            }
            bytes.push(body.len());
            let mut index = 0usize;
            for (s, e) in self.sentences(&chars) {
                index += 1;
                out.push(Segment {
                    id: Segment::make_id(para, index),
                    para,
                    index,
                    text: body[bytes[s]..bytes[e]].to_string(),
                    start: char_start + s,
                    end: char_start + e,
                });
            }
        }
        out
    }

    /// Sentence spans (char indices, end exclusive) inside one trimmed paragraph.
    fn sentences(&self, chars: &[char]) -> Vec<(usize, usize)> {
        let r = &self.rules;
        let mut spans = Vec::new();
        let mut seg_start = 0usize;
        // Quote/bracket pairs are computed only when a terminator is seen.
        let mut pairs: Option<Vec<(usize, usize)>> = None;
        let n = chars.len();
        let mut i = 0usize;
        while i < n {
            if !r.is_terminator(chars[i]) {
                i += 1;
                continue;
            }
            let run_start = i;
            let mut j = i;
            while j < n && r.is_terminator(chars[j]) {
                j += 1;
            }
            let mut k = j;
            while k < n && r.is_closer(chars[k]) {
                k += 1;
            }
            i = j.max(run_start + 1);
            // Must be followed by white space, and something after it.
            if k >= n || !chars[k].is_whitespace() {
                continue;
            }
            let mut m = k;
            while m < n && is_blank_char(chars[m]) {
                m += 1;
            }
            if m >= n {
                continue;
            }
            if !self.breaks_here(chars, seg_start, run_start, j, m) {
                continue;
            }
            let pairs = pairs.get_or_insert_with(|| r.matched_pairs(chars));
            if pairs.iter().any(|&(o, c)| o < run_start && c >= k) {
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

    /// The word-level checks for a terminator run `chars[run..run_end]` whose
    /// next sentence would start at `next`.
    fn breaks_here(
        &self,
        chars: &[char],
        seg_start: usize,
        run: usize,
        run_end: usize,
        next: usize,
    ) -> bool {
        let r = &self.rules;
        let run_chars = &chars[run..run_end];
        if r.is_never_break_run(run_chars) {
            return false;
        }
        if !r.starts_sentence(chars[next]) {
            return false;
        }
        if run_chars == ['.'] {
            // The word before the dot, without opening punctuation.
            let mut w = run;
            while w > seg_start && !chars[w - 1].is_whitespace() {
                w -= 1;
            }
            while w < run && r.is_opener(chars[w]) {
                w += 1;
            }
            let word = &chars[w..run_end];
            if r.is_abbreviation(word) {
                return false;
            }
            if r.list_markers
                && w == seg_start
                && word.len() > 1
                && word[..word.len() - 1].iter().all(|c| c.is_numeric())
            {
                return false;
            }
        }
        true
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
