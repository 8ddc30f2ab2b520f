/*!
Paragraphs and sentences: the first stage of the pipeline.

Every later stage (glossary, memory, backend, bilingual output) works on the
segments made here, so a wrong break misaligns everything after it. General
purpose splitters get Arabic wrong: SRX defaults never break on `؟`, some
break on the Arabic comma `،`, UAX #29 breaks after `د.`. This segmenter is
driven by a rule set (`rules.toml` plus abbreviation lists, all compiled in
and extendable by the user) and keeps the original text and character
offsets of every segment, so that the input is covered exactly: what lies
between two segments is white space only (or nothing, when a sentence ends
inside a token such as `الماضي.وقال`).

The algorithm, per paragraph:
1. find runs of terminators (`.` `!` `?` `؟` `…`), take the closing quotes
   and brackets right after them;
2. break there if white space follows and the next word starts a sentence
   (a letter that is not lower-case Latin, a digit, an opener), or if the run
   is glued between two Arabic words (`الماضي.وقال`); not at a headline
   separator (`..` against the word before it), nor after an abbreviation,
   initials or a list number, except that `ص.` `م.` after a clock time or a
   date end the sentence when a sentence starter (`وقال`) follows;
3. pair quotes and brackets (see `quotes`): no sentence ends inside a
   bracket pair or a quotation wrapped inside a longer sentence; a quotation
   that starts or ends its sentence keeps its own sentence ends, unless the
   pieces would be shorter than a few words, and an ellipsis inside it breaks
   only where a new sentence clearly starts.

All of it is data in `rules.toml`; `tests/fixtures/segment_golden.txt` holds
an example of every rule, and `tests/fixtures/segment_dev/` real text to
measure against.
*/

mod quotes;
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

/// One segment as positions in the input, without a copy of its text: what
/// [`Segmenter::for_each_span`] hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// 1-based paragraph number.
    pub para: usize,
    /// 1-based index of the sentence inside its paragraph.
    pub index: usize,
    /// Byte range of the segment in the input.
    pub bytes: (usize, usize),
    /// Character offsets, as in [`Segment`].
    pub start: usize,
    pub end: usize,
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

/// Arabic-script letters and marks (harakat, tanween, tatweel).
fn is_arabic(c: char) -> bool {
    crate::normalize::is_arabic_letter(c) || crate::normalize::is_attached_mark(c)
}

/// Buffers reused from one paragraph to the next.
#[derive(Debug, Default)]
struct Scratch {
    spans: Vec<(usize, usize)>,
    terms: rules::FinderState,
    pairs: quotes::Pairs,
    hard: quotes::Sweep,
    soft: quotes::Sweep,
}

impl Segmenter {
    pub fn new(rules: Rules) -> Self {
        Segmenter { rules }
    }

    /// The segmenter and options a resolved `[segment]` table describes
    /// ([`crate::config::Settings::segment`]): the built-in rules with its
    /// rules file merged and its abbreviation lists added, so that every
    /// command that segments gives the same segment ids.
    pub fn configured(
        seg: &crate::config::SegmentConfig,
    ) -> Result<(Segmenter, SegmentOptions), RulesError> {
        let mut rules = Rules::builtin();
        if let Some(p) = &seg.rules {
            rules.merge_file(p)?;
        }
        for p in &seg.abbreviations {
            rules.add_abbreviation_file(p)?;
        }
        Ok((
            Segmenter::new(rules),
            SegmentOptions {
                join_lines: seg.join_lines,
            },
        ))
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Cut `text` into segments. `text` must not start with a BOM (see
    /// [`crate::input`]); offsets are character offsets into `text`.
    pub fn segment(&self, text: &str, opts: SegmentOptions) -> Vec<Segment> {
        let mut out = Vec::new();
        let _ = self.for_each_span(text, opts, |s| {
            out.push(Segment {
                id: Segment::make_id(s.para, s.index),
                para: s.para,
                index: s.index,
                text: text[s.bytes.0..s.bytes.1].to_string(),
                start: s.start,
                end: s.end,
            });
            Ok::<(), std::convert::Infallible>(())
        });
        out
    }

    /// The segments of `text` in order, handed to `f` one at a time with no
    /// copy of their text; stops at the first error `f` returns.
    pub fn for_each_span<E>(
        &self,
        text: &str,
        opts: SegmentOptions,
        mut f: impl FnMut(Span) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut cursor = CharCursor::default();
        let mut scratch = Scratch::default();
        for (p, (start, end)) in paragraphs(text, opts).into_iter().enumerate() {
            let para = p + 1;
            let body = &text[start..end];
            self.sentences(body, &mut scratch);
            for (index, &(s, e)) in scratch.spans.iter().enumerate() {
                let char_start = cursor.advance_to(text, start + s);
                let char_end = cursor.advance_to(text, start + e);
                f(Span {
                    para,
                    index: index + 1,
                    bytes: (start + s, start + e),
                    start: char_start,
                    end: char_end,
                })?;
            }
        }
        Ok(())
    }

    /// Sentence spans (byte ranges) inside one trimmed paragraph, into
    /// `scratch.spans`.
    fn sentences(&self, body: &str, scratch: &mut Scratch) {
        let r = &self.rules;
        scratch.spans.clear();
        r.terminator_finder.reset(&mut scratch.terms);
        let mut seg_start = 0usize;
        // Quote/bracket pairs are computed once per paragraph, and only when
        // a break is otherwise allowed.
        let mut paired = false;
        let n = body.len();
        let mut i = 0usize;
        while i < n {
            // Jump to the next terminator.
            let Some(at) = r.terminator_finder.find(&mut scratch.terms, body, i) else {
                break;
            };
            i = at;
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
            let run_text = &body[run_start..run_end];
            // Followed by white space and something after it, or glued to
            // the next Arabic word.
            let m = match body[k..].chars().next() {
                Some(c) if c.is_whitespace() => skip_while(body, k, is_blank_char),
                Some(c) if is_arabic(c) && self.glued_break(body, run_start, run_text) => k,
                _ => continue,
            };
            let Some(next) = body[m..].chars().next() else {
                continue;
            };
            if !self.breaks_here(body, seg_start, run_start, run_end, m, next) {
                continue;
            }
            if !paired {
                scratch.pairs.compute(r, body);
                scratch.hard.reset();
                scratch.soft.reset();
                paired = true;
            }
            if scratch
                .hard
                .holding(&scratch.pairs.hard, run_start, k)
                .is_some()
            {
                continue;
            }
            if let Some((open, close)) = scratch.soft.holding(&scratch.pairs.soft, run_start, k)
                && !self.breaks_in_quotation(body, seg_start, open, close, run_text, m, next)
            {
                continue;
            }
            scratch.spans.push((seg_start, k));
            seg_start = m;
            i = m;
        }
        if seg_start < n {
            scratch.spans.push((seg_start, n));
        }
    }

    /// A terminator run with no space after it ends a sentence only between
    /// two Arabic words (the next one is checked by the caller), and not
    /// after an abbreviation or initials (checked in `breaks_here`).
    fn glued_break(&self, body: &str, run: usize, run_text: &str) -> bool {
        let r = &self.rules;
        if !r.is_glued_run(run_text) {
            return false;
        }
        let before = body[..run].chars().rev().find(|&c| !r.is_closer(c));
        before.is_some_and(is_arabic)
    }

    /// The word-level checks for a terminator run `body[run..run_end]` whose
    /// next sentence would start with `next` at `m`.
    fn breaks_here(
        &self,
        body: &str,
        seg_start: usize,
        run: usize,
        run_end: usize,
        m: usize,
        next: char,
    ) -> bool {
        let r = &self.rules;
        let run_text = &body[run..run_end];
        if r.is_never_break_run(run_text) {
            let detached = body[..run]
                .chars()
                .next_back()
                .is_some_and(char::is_whitespace);
            if !(r.never_break_runs_glued_only && detached) {
                return false;
            }
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
                // `ص.` `م.` after a clock time or a date mark the time of day
                // or the era, and end the sentence when a new one starts.
                let after_number = body[..w]
                    .trim_end()
                    .chars()
                    .next_back()
                    .is_some_and(char::is_numeric);
                return r.is_time_marker(word)
                    && after_number
                    && r.is_sentence_starter(next_word(body, m));
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

    /// Whether a break inside the quotation `body[open..=close]`, which may
    /// hold breaks, is one: both sides must be sentences of at least
    /// `quotation_min_words` words (a short quoted phrase or title is not
    /// split), and an ellipsis breaks only where a new sentence clearly
    /// starts.
    #[allow(clippy::too_many_arguments)]
    fn breaks_in_quotation(
        &self,
        body: &str,
        seg_start: usize,
        open: usize,
        close: usize,
        run_text: &str,
        m: usize,
        next: char,
    ) -> bool {
        let r = &self.rules;
        let open_end = open + body[open..].chars().next().map_or(1, char::len_utf8);
        let from = open_end.max(seg_start);
        let words_before = body[from..m.max(from)].split_whitespace().count();
        let words_after = body[m.min(close)..close].split_whitespace().count();
        if words_before < r.quotation_min_words || words_after < r.quotation_min_words {
            return false;
        }
        if r.is_ellipsis_run(run_text) {
            return r.is_opener(next)
                || next.is_numeric()
                || next.is_uppercase()
                || r.is_sentence_starter(next_word(body, m));
        }
        true
    }
}

/// The word starting at `from`: letters and marks up to anything else.
fn next_word(body: &str, from: usize) -> &str {
    let end = skip_while(body, from, |c| {
        c.is_alphanumeric() || crate::normalize::is_attached_mark(c)
    });
    &body[from..end]
}

/// The byte position after the characters of `s` from `from` that satisfy `f`.
fn skip_while(s: &str, from: usize, f: impl Fn(char) -> bool) -> usize {
    s[from..]
        .char_indices()
        .find(|&(_, c)| !f(c))
        .map_or(s.len(), |(b, _)| from + b)
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
