/*!
Quote and bracket pairs inside one paragraph, and which of them may hold
sentence breaks.

Pairing works per paragraph with a stack and recovers from damage instead of
letting one bad mark swallow the rest of the paragraph:
- a closing mark closes the nearest open mark it pairs with (`”` closes a
  `“` or a `"`, so mixed quotes still pair); a closing mark with no partner
  is ignored, and so is an opening mark never closed;
- a mark that is the same on both sides (`"`) is read from what touches it:
  white space (or an opener) before and a word after opens; a word before and
  white space or punctuation after closes; when that says nothing (`بـ"`), it
  closes an open one or else opens.

A bracket pair never holds a break. A quotation holds its sentence breaks
(`وقال "A. B. C."`) when it is not wrapped inside a longer sentence: when it
starts a sentence or ends one (a terminator just inside or just after the
closing mark, or the end of the paragraph). A quotation with words of the
same sentence on both sides (`وأضاف "A. B" في إشارة ...`) stays whole, and so
does one that holds a nested quotation with the same marks (`"A. "B" C"`),
because identical marks do not show which of them close and which open.
*/

use super::rules::Rules;

/// How deep a closing mark looks for its opening one.
const MAX_PAIR_SEARCH: usize = 32;
/// How many pairs one paragraph may keep.
const MAX_PAIRS: usize = 1 << 20;

#[derive(Debug, Clone, Copy)]
struct Open {
    pos: usize,
    ch: char,
    /// A nested mark of the same kind opened inside this one.
    ambiguous: bool,
}

/// Reusable buffers, so that a document is paired without allocating per
/// paragraph.
#[derive(Debug, Default)]
pub(crate) struct Pairs {
    stack: Vec<Open>,
    finder: super::rules::FinderState,
    /// (open, close) byte positions of the pairs that hold no break.
    pub(crate) hard: Vec<(usize, usize)>,
    /// (open, close) byte positions of the quotations whose sentence ends
    /// are breaks.
    pub(crate) soft: Vec<(usize, usize)>,
}

/// Punctuation after a `"` that shows it closes (`"،` `".` `")`).
fn is_punct(c: char) -> bool {
    !c.is_alphanumeric() && !c.is_whitespace() && !is_mark(c)
}

/// Combining marks belong to the letter before them: the Arabic ones, and
/// (unlike normalisation, which never sees them in Arabic text) the Latin
/// combining diacritics U+0300–U+036F, since a quoted word may be a
/// transliteration such as "Qurʾān" written with them.
fn is_mark(c: char) -> bool {
    crate::normalize::is_attached_mark(c) || matches!(c, '\u{0300}'..='\u{036F}')
}

impl Pairs {
    /// Pair the marks of `body` (one paragraph) and sort the pairs into
    /// hard and soft ones.
    pub(crate) fn compute(&mut self, r: &Rules, body: &str) {
        self.stack.clear();
        self.hard.clear();
        self.soft.clear();
        let mut count = 0usize;
        let mut i = 0usize;
        r.pair_finder.reset(&mut self.finder);
        while let Some(at) = r.pair_finder.find(&mut self.finder, body, i) {
            i = at;
            let Some(c) = body[i..].chars().next() else {
                break;
            };
            let len = c.len_utf8();
            if r.is_pair_char(c) {
                let prev = body[..i].chars().next_back();
                let next = body[i + len..].chars().next();
                let can_open = r.opens_pair(c);
                let can_close = r.closes_pair(c);
                let close = match (can_open, can_close) {
                    (true, false) => false,
                    (false, true) => true,
                    _ => {
                        let space_before = prev.is_none_or(|p| p.is_whitespace() || r.is_opener(p));
                        let word_after = next.is_some_and(|n| !n.is_whitespace());
                        let word_before = prev.is_some_and(|p| !p.is_whitespace());
                        let space_after = next.is_none_or(|n| n.is_whitespace() || is_punct(n));
                        let opens = space_before && word_after;
                        let closes = word_before && space_after;
                        match (opens, closes) {
                            (true, false) => false,
                            (false, true) => true,
                            _ => self.find_open(r, c).is_some(),
                        }
                    }
                };
                if close {
                    if let Some(p) = self.find_open(r, c) {
                        let open = self.stack[p];
                        self.stack.truncate(p);
                        self.classify(r, body, open, i);
                        count += 1;
                    }
                } else {
                    if can_close {
                        // A mark that can also close opened inside one of its
                        // own kind: which is which is no longer certain.
                        for o in self.stack.iter_mut().rev().take(MAX_PAIR_SEARCH) {
                            if o.ch == c {
                                o.ambiguous = true;
                                break;
                            }
                        }
                    }
                    self.stack.push(Open {
                        pos: i,
                        ch: c,
                        ambiguous: false,
                    });
                }
                if count >= MAX_PAIRS {
                    break;
                }
            }
            i += len;
        }
        // Pairs are found innermost first; the sweeps want them by opening.
        self.hard.sort_unstable();
        self.soft.sort_unstable();
    }

    /// The stack index of the nearest open mark that `close` closes.
    fn find_open(&self, r: &Rules, close: char) -> Option<usize> {
        let floor = self.stack.len().saturating_sub(MAX_PAIR_SEARCH);
        self.stack[floor..]
            .iter()
            .rposition(|o| r.pairs_with(o.ch, close))
            .map(|p| floor + p)
    }

    fn classify(&mut self, r: &Rules, body: &str, open: Open, close: usize) {
        let pair = (open.pos, close);
        if !r.is_quotation(open.ch) || open.ambiguous {
            self.hard.push(pair);
            return;
        }
        let close_len = body[close..].chars().next().map_or(1, char::len_utf8);
        if starts_sentence(r, body, open.pos) || ends_sentence(r, body, close, close + close_len) {
            self.soft.push(pair);
        } else {
            self.hard.push(pair);
        }
    }
}

/// Whether the mark at `open` starts a sentence: nothing but openers and
/// white space between it and the paragraph start or a terminator (with its
/// closers).
fn starts_sentence(r: &Rules, body: &str, open: usize) -> bool {
    let mut back = body[..open]
        .chars()
        .rev()
        .skip_while(|&c| c.is_whitespace() || r.is_opener(c))
        .skip_while(|&c| r.is_closer(c));
    match back.next() {
        None => true,
        Some(c) => r.is_terminator(c),
    }
}

/// Whether the quotation closed by the mark at `close..after` ends its
/// sentence: a terminator just inside the mark, or just after it (past other
/// closers), or the end of the paragraph.
fn ends_sentence(r: &Rules, body: &str, close: usize, after: usize) -> bool {
    let inside = body[..close].chars().rev().find(|&c| !r.is_closer(c));
    if inside.is_some_and(|c| r.is_terminator(c)) {
        return true;
    }
    match body[after..].chars().find(|&c| !r.is_closer(c)) {
        None => true,
        Some(c) => r.is_terminator(c),
    }
}

/// Answers "which pair holds this break?" for break positions that only move
/// forward, in linear time overall. The pairs come from one stack, so they
/// nest or are disjoint, and the innermost pair holding a position is on top.
#[derive(Debug, Default)]
pub(crate) struct Sweep {
    next: usize,
    active: Vec<(usize, usize)>,
}

impl Sweep {
    pub(crate) fn reset(&mut self) {
        self.next = 0;
        self.active.clear();
    }

    /// The innermost pair of `pairs` (sorted by opening) that opens before
    /// `run` and closes at or after `end`.
    pub(crate) fn holding(
        &mut self,
        pairs: &[(usize, usize)],
        run: usize,
        end: usize,
    ) -> Option<(usize, usize)> {
        while self.next < pairs.len() && pairs[self.next].0 < run {
            let p = pairs[self.next];
            while self.active.last().is_some_and(|a| a.1 < p.0) {
                self.active.pop();
            }
            self.active.push(p);
            self.next += 1;
        }
        while self.active.last().is_some_and(|a| a.1 < end) {
            self.active.pop();
        }
        self.active.last().copied()
    }
}
