/*!
The segmentation rule set: punctuation classes and abbreviation lists, read
from data files (compiled-in defaults, then the user's own on top).
*/

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

const BUILTIN_RULES: &str = include_str!("rules.toml");
const BUILTIN_ABBREV_AR: &str = include_str!("abbreviations.ar.txt");
const BUILTIN_ABBREV_EN: &str = include_str!("abbreviations.en.txt");

/// Errors reading a user's rules or abbreviation file.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}:{line}: {message}")]
    Line {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// The raw TOML form; every field optional so that a user file can extend
/// the built-in one.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    terminators: Option<Vec<String>>,
    closers: Option<Vec<String>>,
    pairs: Option<Vec<[String; 2]>>,
    never_break_runs: Option<Vec<String>>,
    openers: Option<Vec<String>>,
    single_letter_initials: Option<bool>,
    list_markers: Option<bool>,
    abbreviations: Option<Vec<String>>,
    quotations: Option<Vec<String>>,
    quotation_min_words: Option<usize>,
    ellipsis_runs: Option<Vec<String>>,
    never_break_runs_glued_only: Option<bool>,
    glued_terminators: Option<Vec<String>>,
    time_markers: Option<Vec<String>>,
    sentence_starters: Option<Vec<String>>,
}

/// Finds the next of a set of characters in one paragraph, moving forward.
/// ASCII characters are searched three at a time with `memchr3`, the others
/// each with a `memmem` finder (both SIMD), so Arabic letters are never
/// decoded one by one. For each searcher it keeps where its next hit is, so
/// every searcher passes over a paragraph once.
#[derive(Debug, Clone, Default)]
pub(crate) struct CharFinder {
    searchers: Vec<Searcher>,
}

#[derive(Debug, Clone)]
enum Searcher {
    Ascii(Vec<u8>),
    Char(Box<memchr::memmem::Finder<'static>>),
}

impl Searcher {
    fn find(&self, hay: &[u8]) -> Option<usize> {
        match self {
            Searcher::Ascii(b) => match b[..] {
                [a] => memchr::memchr(a, hay),
                [a, c] => memchr::memchr2(a, c, hay),
                [a, c, d, ..] => memchr::memchr3(a, c, d, hay),
                [] => None,
            },
            Searcher::Char(f) => f.find(hay),
        }
    }
}

/// Per-paragraph state of a [`CharFinder`]: the next hit of each searcher,
/// `None` once it has none left.
#[derive(Debug, Default)]
pub(crate) struct FinderState {
    next: Vec<Option<usize>>,
    fresh: Vec<bool>,
}

impl CharFinder {
    fn build(chars: impl IntoIterator<Item = char>) -> CharFinder {
        let mut ascii: Vec<u8> = Vec::new();
        let mut others: Vec<char> = Vec::new();
        for c in chars {
            if c.is_ascii() {
                if !ascii.contains(&(c as u8)) {
                    ascii.push(c as u8);
                }
            } else if !others.contains(&c) {
                others.push(c);
            }
        }
        let mut searchers: Vec<Searcher> = ascii
            .chunks(3)
            .map(|ch| Searcher::Ascii(ch.to_vec()))
            .collect();
        for c in others {
            let mut buf = [0u8; 4];
            let enc = c.encode_utf8(&mut buf).as_bytes();
            searchers.push(Searcher::Char(Box::new(
                memchr::memmem::Finder::new(enc).into_owned(),
            )));
        }
        CharFinder { searchers }
    }

    /// Start on a new paragraph.
    pub(crate) fn reset(&self, st: &mut FinderState) {
        st.next.clear();
        st.next.resize(self.searchers.len(), Some(0));
        st.fresh.clear();
        st.fresh.resize(self.searchers.len(), true);
    }

    /// The byte position of the first of the characters at or after `from`
    /// (queries must not go backwards within a paragraph).
    #[inline]
    pub(crate) fn find(&self, st: &mut FinderState, hay: &str, from: usize) -> Option<usize> {
        let bytes = hay.as_bytes();
        let mut best: Option<usize> = None;
        for (k, s) in self.searchers.iter().enumerate() {
            if let Some(p) = st.next[k]
                && (p < from || st.fresh[k])
            {
                st.next[k] = bytes.get(from..).and_then(|t| s.find(t)).map(|q| from + q);
                st.fresh[k] = false;
            }
            if let Some(p) = st.next[k] {
                best = Some(best.map_or(p, |b: usize| b.min(p)));
            }
        }
        best
    }
}

/// A compiled rule set.
#[derive(Debug, Clone)]
pub struct Rules {
    terminators: Vec<char>,
    /// Bit `c` set for each ASCII terminator `c`: the hot path.
    ascii_terminators: u128,
    /// Bit `c` set for each ASCII character that is one side of a pair.
    ascii_pair_chars: u128,
    /// Finds the next terminator, or the next quote or bracket, fast.
    pub(crate) terminator_finder: CharFinder,
    pub(crate) pair_finder: CharFinder,
    closers: Vec<char>,
    openers: Vec<char>,
    pairs: Vec<(char, char)>,
    never_break_runs: Vec<String>,
    abbreviations: HashSet<String>,
    pub(crate) single_letter_initials: bool,
    pub(crate) list_markers: bool,
    /// Opening marks of the pairs that are quotations (the rest are brackets).
    quotations: Vec<char>,
    pub(crate) quotation_min_words: usize,
    ellipsis_runs: Vec<String>,
    pub(crate) never_break_runs_glued_only: bool,
    glued_terminators: Vec<char>,
    time_markers: HashSet<String>,
    sentence_starters: HashSet<String>,
}

fn single_char(s: &str, what: &str) -> Result<char, String> {
    let mut it = s.chars();
    match (it.next(), it.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(format!(
            "{what} entries must be single characters, found {s:?}"
        )),
    }
}

fn chars_of(list: &[String], what: &str) -> Result<Vec<char>, String> {
    list.iter().map(|s| single_char(s, what)).collect()
}

impl Rules {
    /// The rules compiled into tarjama.
    pub fn builtin() -> Rules {
        let mut rules = Rules {
            terminators: Vec::new(),
            ascii_terminators: 0,
            ascii_pair_chars: 0,
            terminator_finder: CharFinder::default(),
            pair_finder: CharFinder::default(),
            closers: Vec::new(),
            openers: Vec::new(),
            pairs: Vec::new(),
            never_break_runs: Vec::new(),
            abbreviations: HashSet::new(),
            single_letter_initials: false,
            list_markers: false,
            quotations: Vec::new(),
            quotation_min_words: 0,
            ellipsis_runs: Vec::new(),
            never_break_runs_glued_only: false,
            glued_terminators: Vec::new(),
            time_markers: HashSet::new(),
            sentence_starters: HashSet::new(),
        };
        let file: RulesFile = toml::from_str(BUILTIN_RULES).expect("built-in rules.toml is valid");
        rules
            .merge(file)
            .expect("built-in rules.toml is consistent");
        for text in [BUILTIN_ABBREV_AR, BUILTIN_ABBREV_EN] {
            rules
                .add_abbreviation_list(text)
                .expect("built-in abbreviation lists are valid");
        }
        rules
    }

    fn merge(&mut self, f: RulesFile) -> Result<(), String> {
        if let Some(v) = f.terminators {
            extend_unique(&mut self.terminators, chars_of(&v, "terminators")?);
            for &c in &self.terminators {
                if c.is_ascii() {
                    self.ascii_terminators |= 1u128 << (c as u32);
                }
            }
        }
        self.terminator_finder = CharFinder::build(self.terminators.iter().copied());
        if let Some(v) = f.closers {
            extend_unique(&mut self.closers, chars_of(&v, "closers")?);
        }
        if let Some(v) = f.openers {
            extend_unique(&mut self.openers, chars_of(&v, "openers")?);
        }
        if let Some(v) = f.pairs {
            for [a, b] in v {
                let p = (single_char(&a, "pairs")?, single_char(&b, "pairs")?);
                if !self.pairs.contains(&p) {
                    self.pairs.push(p);
                }
                for c in [p.0, p.1] {
                    if c.is_ascii() {
                        self.ascii_pair_chars |= 1u128 << (c as u32);
                    }
                }
            }
        }
        self.pair_finder = CharFinder::build(self.pairs.iter().flat_map(|&(a, b)| [a, b]));
        if let Some(v) = f.never_break_runs {
            for s in v {
                if s.is_empty() {
                    return Err("never_break_runs entries must not be empty".into());
                }
                self.never_break_runs.push(s);
            }
        }
        if let Some(b) = f.single_letter_initials {
            self.single_letter_initials = b;
        }
        if let Some(b) = f.list_markers {
            self.list_markers = b;
        }
        if let Some(v) = f.abbreviations {
            for a in v {
                self.add_abbreviation(&a)?;
            }
        }
        if let Some(v) = f.quotations {
            extend_unique(&mut self.quotations, chars_of(&v, "quotations")?);
        }
        if let Some(n) = f.quotation_min_words {
            self.quotation_min_words = n;
        }
        if let Some(v) = f.ellipsis_runs {
            for s in v {
                if s.is_empty() {
                    return Err("ellipsis_runs entries must not be empty".into());
                }
                self.ellipsis_runs.push(s);
            }
        }
        if let Some(b) = f.never_break_runs_glued_only {
            self.never_break_runs_glued_only = b;
        }
        if let Some(v) = f.glued_terminators {
            extend_unique(
                &mut self.glued_terminators,
                chars_of(&v, "glued_terminators")?,
            );
        }
        if let Some(v) = f.time_markers {
            for m in v {
                let m = if m.ends_with('.') { m } else { format!("{m}.") };
                self.time_markers.insert(m.to_lowercase());
            }
        }
        if let Some(v) = f.sentence_starters {
            for w in v {
                if w.is_empty() || w.chars().any(char::is_whitespace) {
                    return Err(format!(
                        "sentence_starters entries must be single words, found {w:?}"
                    ));
                }
                self.sentence_starters.insert(w);
            }
        }
        Ok(())
    }

    /// Merge a user's TOML rules file (same keys as the built-in `rules.toml`,
    /// plus `abbreviations`) on top of these rules.
    pub fn merge_file(&mut self, path: &Path) -> Result<(), RulesError> {
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file: RulesFile = toml::from_str(&text).map_err(|e| RulesError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        self.merge(file).map_err(|message| RulesError::Parse {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Add the abbreviations listed in a text file: one per line, with the
    /// final dot; `#` starts a comment line.
    pub fn add_abbreviation_file(&mut self, path: &Path) -> Result<(), RulesError> {
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        self.add_abbreviation_list(&text)
            .map_err(|(line, message)| RulesError::Line {
                path: path.to_path_buf(),
                line,
                message,
            })
    }

    fn add_abbreviation_list(&mut self, text: &str) -> Result<(), (usize, String)> {
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            self.add_abbreviation(line).map_err(|m| (n + 1, m))?;
        }
        Ok(())
    }

    fn add_abbreviation(&mut self, a: &str) -> Result<(), String> {
        if a.chars().any(char::is_whitespace) {
            return Err(format!("abbreviation {a:?} contains white space"));
        }
        let a = if a.ends_with('.') {
            a.to_string()
        } else {
            format!("{a}.")
        };
        self.abbreviations.insert(a.to_lowercase());
        Ok(())
    }

    /// Number of abbreviations known.
    pub fn abbreviation_count(&self) -> usize {
        self.abbreviations.len()
    }

    #[inline]
    pub(crate) fn is_terminator(&self, c: char) -> bool {
        if c.is_ascii() {
            return self.ascii_terminators & (1u128 << (c as u32)) != 0;
        }
        self.terminators.contains(&c)
    }

    #[inline]
    pub(crate) fn is_closer(&self, c: char) -> bool {
        self.closers.contains(&c)
    }

    #[inline]
    pub(crate) fn is_opener(&self, c: char) -> bool {
        self.openers.contains(&c) || self.pairs.iter().any(|&(o, _)| o == c)
    }

    #[inline]
    pub(crate) fn is_pair_char(&self, c: char) -> bool {
        if c.is_ascii() {
            return self.ascii_pair_chars & (1u128 << (c as u32)) != 0;
        }
        self.pairs.iter().any(|&(o, cl)| o == c || cl == c)
    }

    pub(crate) fn is_never_break_run(&self, run: &str) -> bool {
        self.never_break_runs.iter().any(|r| r == run)
    }

    /// Whether a sentence may start with `c`.
    pub(crate) fn starts_sentence(&self, c: char) -> bool {
        if c.is_alphabetic() {
            // Lower-case Latin continues a sentence ("e.g. this"); Arabic has no case.
            return !c.is_lowercase();
        }
        c.is_numeric() || self.is_opener(c)
    }

    /// Whether `word` (ending in its dot) is an abbreviation or initials.
    pub(crate) fn is_abbreviation(&self, word: &str) -> bool {
        if self.single_letter_initials && is_initials(word) {
            return true;
        }
        if word.chars().any(char::is_uppercase) {
            self.abbreviations.contains(&word.to_lowercase())
        } else {
            self.abbreviations.contains(word)
        }
    }

    /// Whether `c` opens a pair (`«`, `(`, `"` ...).
    #[inline]
    pub(crate) fn opens_pair(&self, c: char) -> bool {
        self.pairs.iter().any(|&(o, _)| o == c)
    }

    /// Whether `c` closes a pair (`»`, `)`, `"` ...).
    #[inline]
    pub(crate) fn closes_pair(&self, c: char) -> bool {
        self.pairs.iter().any(|&(_, cl)| cl == c)
    }

    /// Whether `open` ... `close` is one of the pairs.
    #[inline]
    pub(crate) fn pairs_with(&self, open: char, close: char) -> bool {
        self.pairs.contains(&(open, close))
    }

    /// Whether a pair opened by `c` is a quotation (not a bracket).
    #[inline]
    pub(crate) fn is_quotation(&self, c: char) -> bool {
        self.quotations.contains(&c)
    }

    pub(crate) fn is_ellipsis_run(&self, run: &str) -> bool {
        self.ellipsis_runs.iter().any(|r| r == run)
    }

    /// Whether every character of `run` may end a sentence with no space
    /// before the next word.
    pub(crate) fn is_glued_run(&self, run: &str) -> bool {
        !self.glued_terminators.is_empty()
            && run.chars().all(|c| self.glued_terminators.contains(&c))
    }

    /// Whether `word` (ending in its dot) is a time marker (`ص.` `م.`).
    pub(crate) fn is_time_marker(&self, word: &str) -> bool {
        self.time_markers.contains(word)
    }

    /// Whether `word` is one that starts a new sentence (`وقال`, `وأضاف`).
    pub(crate) fn is_sentence_starter(&self, word: &str) -> bool {
        self.sentence_starters.contains(word)
    }
}

/// `د.` `ج.م.ع.` `U.S.` `e.g.`: single letters (an optional tatweel after
/// each, as in `هـ.`) each followed by a dot.
fn is_initials(word: &str) -> bool {
    let mut it = word.chars().peekable();
    let mut letters = 0;
    while let Some(c) = it.next() {
        if !c.is_alphabetic() {
            return false;
        }
        if it.peek() == Some(&'\u{0640}') {
            it.next();
        }
        if it.next() != Some('.') {
            return false;
        }
        letters += 1;
    }
    letters > 0
}

fn extend_unique(v: &mut Vec<char>, more: Vec<char>) {
    for c in more {
        if !v.contains(&c) {
            v.push(c);
        }
    }
}
