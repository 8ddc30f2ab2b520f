/*!
Finding glossary entries in segments.

Arabic writes conjunctions, prepositions and the article onto the word, so
exact string search misses وطالبان, لروسيا and للكرملين, and plain substring
search finds روس inside روسيا. The matcher compiles every spelling of every
entry into a trie and runs it over the normalised segment, anchored where a
term can start: at each word start and after each proclitic chain the word
begins with (و/ف, then ب/ك/ل, then ال; ل+ال is written لل). It keeps every
candidate whose right edge is a word end or, for entries that are not
names, a suffix (ه ها هم هما هن نا ك كم ان ين ون ات ي, and ات + a
possessive), then the leftmost-longest candidates that do not overlap (a
longer candidate that fails its boundary check leaves room for a shorter
one). Spans are mapped back through the normalisation map, so they are
exact in the original text. (A glossary with a spelling that starts with
punctuation is searched over the whole text instead.)

The rules are data (`affixes.toml`, beside this file), and clitics and
suffixes are read on the letters as written, not the folded ones (issue
10): a word ending in ة is never stem + ه (السلامة is not سلام), ى is never
the suffix ي (إلى is not ال), أ/إ/آ are never the article's alef (ألوانا
is not ال + وانا), no suffix follows a stem of fewer than three letters, and
an entry of one or two letters matches only as written (كان is not ك + آن).

Entries whose source begins with the article (الكرملين) are searched by
their stem and need the article in the text (ال or the لل of ل+ال); the span
then starts at the article. Non-name entries ending in ة also match the
bound form before a suffix (حكومته) and the plural in ات (حكومات). An
entry's `not_in` phrases are searched the same way, and a hit inside one of
them is dropped.
*/

use std::collections::HashMap;

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::{Entry, Glossary};
use crate::model::{Segment, TermHit};
use crate::normalize::{key, normalize};

/// The clitic and suffix rules, as data (`affixes.toml`, beside this file).
const AFFIXES: &str = include_str!("affixes.toml");

/// The rules of `affixes.toml`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Affixes {
    pub conjunctions: Vec<char>,
    pub prepositions: Vec<char>,
    pub article: String,
    pub lam: char,
    pub possessives: Vec<String>,
    pub plurals: Vec<String>,
    pub plurals_with_possessive: Vec<String>,
    pub min_stem_letters: usize,
    pub never_suffix_letters: Vec<char>,
    pub never_article_letters: Vec<char>,
}

/// The built-in rules (parsed once).
pub fn affixes() -> &'static Affixes {
    static RULES: OnceLock<Affixes> = OnceLock::new();
    RULES.get_or_init(|| toml::from_str(AFFIXES).expect("affixes.toml is valid"))
}

/// Whether `s` (normalised) is an allowed suffix.
pub fn is_suffix(s: &str) -> bool {
    let r = affixes();
    let has = |list: &[String], x: &str| list.iter().any(|p| p == x);
    has(&r.possessives, s)
        || has(&r.plurals, s)
        || r.plurals_with_possessive.iter().any(|p| {
            s.strip_prefix(p.as_str())
                .is_some_and(|x| has(&r.possessives, x))
        })
}

/// Whether `p` (normalised) is an allowed proclitic chain:
/// (و|ف)? (ب|ك|ل)? (ال)?, with ل+ال written لل. Returns the number of
/// characters of the article at its end (2 for ال, 1 for the لل's second
/// ل, 0 for none), or None when `p` is not a chain.
pub fn proclitic_chain(p: &[char]) -> Option<usize> {
    let r = affixes();
    let mut i = 0;
    if p.first().is_some_and(|c| r.conjunctions.contains(c)) {
        i += 1;
    }
    let rest = &p[i..];
    let article: Vec<char> = r.article.chars().collect();
    if rest.is_empty() {
        return Some(0);
    }
    let (prep, after) = match rest.first() {
        Some(c) if r.prepositions.contains(c) => (Some(*c), &rest[1..]),
        _ => (None, rest),
    };
    if after.is_empty() {
        return prep.map(|_| 0);
    }
    if after == article.as_slice() && prep != Some(r.lam) {
        return Some(article.len());
    }
    // ل + ال is written لل: the article's alef is dropped
    if prep == Some(r.lam) && after == &article[1..] {
        return Some(article.len() - 1);
    }
    None
}

/// Letters and digits (after normalisation), with fast paths for ASCII and
/// the Arabic letters.
#[inline]
pub(crate) fn is_word(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else if matches!(c, '\u{0621}'..='\u{063A}' | '\u{0641}'..='\u{064A}') {
        true
    } else {
        c.is_alphanumeric()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Suffix {
    /// Names: the word must end with the pattern.
    None,
    /// Terms: nothing or an allowed suffix.
    Optional,
    /// The bound ة form (حكومت): a suffix must follow.
    Required,
}

#[derive(Debug, Clone)]
struct Pattern {
    entry: usize,
    /// The article was stripped from the pattern and must be in the text.
    article: bool,
    suffix: Suffix,
    starts_word: bool,
    ends_word: bool,
    /// For entries shorter than `min_stem_letters`: the spelling as written
    /// (alef forms, ة and ى kept), which the text must have (أن, إن and آن
    /// are three words; كان is not ك + آن).
    exact: Option<String>,
}

/// A hit inside one text, in character offsets of that text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawHit {
    /// Index into the glossary's entries.
    pub entry: usize,
    pub start: usize,
    pub end: usize,
}

/// A compiled glossary.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// The normalised spellings (pattern texts), indexed like `patterns`.
    texts: Vec<String>,
    /// The spellings as a trie, for searches anchored at word starts.
    trie: Trie,
    /// An aho-corasick automaton over the spellings, for glossaries with a
    /// spelling that starts with punctuation (built on first use).
    ac: OnceLock<AhoCorasick>,
    patterns: Vec<Pattern>,
    entries: Vec<Entry>,
    /// Precedence of each entry, to break exact ties.
    ranks: Vec<usize>,
    /// Every pattern starts with a letter or digit: searches can be
    /// anchored at word starts and after proclitics only.
    word_starts_only: bool,
    /// The `not_in` phrases of the entries, searched like spellings; a hit
    /// inside one of its entry's phrases is dropped.
    blockers: Vec<Pattern>,
    blocker_trie: Trie,
}

impl Matcher {
    pub fn new(glossary: &Glossary) -> Matcher {
        let mut by_text: HashMap<String, usize> = HashMap::new();
        let mut texts: Vec<String> = Vec::new();
        let mut patterns: Vec<Pattern> = Vec::new();
        let order = glossary.by_precedence();
        let mut ranks = vec![0; glossary.len()];
        for (rank, &i) in order.iter().enumerate() {
            ranks[i] = rank;
            let e = &glossary.entries()[i];
            let name = e.is_name();
            for form in e.forms() {
                let k = key(form);
                for (text, article, suffix) in expand(&k, form, name) {
                    if text.is_empty() {
                        continue;
                    }
                    let chars: Vec<char> = text.chars().collect();
                    let p = Pattern {
                        entry: i,
                        article,
                        suffix,
                        starts_word: is_word(chars[0]),
                        ends_word: is_word(*chars.last().unwrap()),
                        exact: short_written(&text, form, article),
                    };
                    match by_text.get(&text) {
                        // a later (higher-precedence) entry takes the spelling
                        Some(&pi) => patterns[pi] = p,
                        None => {
                            by_text.insert(text.clone(), patterns.len());
                            texts.push(text);
                            patterns.push(p);
                        }
                    }
                }
            }
        }
        let word_starts_only = patterns.iter().all(|p| p.starts_word);
        let mut blockers = Vec::new();
        let mut blocker_texts = Vec::new();
        for (i, e) in glossary.entries().iter().enumerate() {
            for phrase in &e.not_in {
                let k = key(phrase);
                for (text, article, suffix) in expand(&k, phrase, false) {
                    if text.is_empty() || !text.starts_with(is_word) {
                        continue;
                    }
                    blocker_texts.push(text);
                    blockers.push(Pattern {
                        entry: i,
                        article,
                        suffix,
                        starts_word: true,
                        ends_word: blocker_texts.last().unwrap().ends_with(is_word),
                        exact: None,
                    });
                }
            }
        }
        Matcher {
            blocker_trie: Trie::build(&blocker_texts),
            blockers,
            trie: Trie::build(&texts),
            texts,
            ac: OnceLock::new(),
            word_starts_only,
            patterns,
            entries: glossary.entries().to_vec(),
            ranks,
        }
    }

    /// The entries this matcher was built from.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Hits in `segment`, in document character offsets.
    pub fn find(&self, segment: &Segment) -> Vec<TermHit> {
        let chars: Vec<char> = segment.text.chars().collect();
        self.find_in(&segment.text, &chars)
            .into_iter()
            .map(|h| {
                let e = &self.entries[h.entry];
                TermHit {
                    segment: segment.id.clone(),
                    start: segment.start + h.start,
                    end: segment.start + h.end,
                    surface: chars[h.start..h.end].iter().collect(),
                    source: e.source.clone(),
                    target: e.target.clone(),
                    kind: e.kind.clone(),
                    forbidden: e.forbidden.clone(),
                    ambiguous: e.ambiguous,
                }
            })
            .collect()
    }

    /// Hits in any text, in character offsets of `text`, sorted by start.
    pub fn find_raw(&self, text: &str) -> Vec<RawHit> {
        let chars: Vec<char> = text.chars().collect();
        self.find_in(text, &chars)
    }

    /// `find_raw` with the text's characters already split.
    fn find_in(&self, text: &str, orig: &[char]) -> Vec<RawHit> {
        if self.texts.is_empty() {
            return Vec::new();
        }
        let n = normalize(text);
        let hay = n.text.as_str();
        // (start byte, end byte, pattern) of candidates that pass the checks,
        // start being where the term starts (the article included).
        let mut cands: Vec<(usize, usize, usize)> = Vec::new();
        // the letters as written (ة and ى kept), built when a suffix is read
        let written = std::cell::OnceCell::new();
        let as_written = || written.get_or_init(|| as_written(&n, orig)).as_str();
        let mut consider = |pi: usize, s: usize, e: usize| {
            if let Some(start) = self.check(&self.patterns[pi], hay, s, e, &as_written) {
                cands.push((start, e, pi));
            }
        };
        if self.word_starts_only {
            // anchored searches where a term can start: at each word start
            // and after each proclitic chain it begins with
            let mut prev_word = false;
            for (b, c) in hay.char_indices() {
                let w = is_word(c);
                if w && !prev_word {
                    for q in chain_ends(&hay[b..]) {
                        self.trie
                            .walk(hay.as_bytes(), b + q, |pi, e| consider(pi, b + q, e));
                    }
                }
                prev_word = w;
            }
        } else {
            let ac = self.ac.get_or_init(|| {
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::Standard)
                    .build(&self.texts)
                    .expect("glossary patterns fit the automaton")
            });
            for m in ac.find_overlapping_iter(hay) {
                consider(m.pattern().as_usize(), m.start(), m.end());
            }
        }
        if cands.is_empty() {
            return Vec::new();
        }
        if !self.blockers.is_empty() {
            let blocked = self.blocked_spans(hay, &as_written);
            if !blocked.is_empty() {
                cands.retain(|&(s, e, pi)| {
                    let entry = self.patterns[pi].entry;
                    !blocked
                        .iter()
                        .any(|&(bs, be, be_entry)| be_entry == entry && bs <= s && e <= be)
                });
            }
        }
        // leftmost, then longest, then the higher-precedence entry
        cands.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then_with(|| {
                let ra = self.ranks[self.patterns[a.2].entry];
                let rb = self.ranks[self.patterns[b.2].entry];
                rb.cmp(&ra)
            })
        });
        let mut kept: Vec<(usize, usize, usize)> = Vec::new();
        let mut last_end = 0usize;
        for c in cands {
            if c.0 >= last_end {
                last_end = c.1;
                kept.push(c);
            }
        }
        // byte offsets → normalised char indices, in one forward walk (the
        // kept hits are sorted and disjoint)
        let mut out = Vec::with_capacity(kept.len());
        let mut walk = hay
            .char_indices()
            .map(|(b, _)| b)
            .chain(std::iter::once(hay.len()));
        let mut ci = 0usize;
        let mut cur = walk.next();
        let mut to_char = |byte: usize| {
            while let Some(b) = cur {
                if b >= byte {
                    break;
                }
                cur = walk.next();
                ci += 1;
            }
            ci
        };
        for (s, e, pi) in kept {
            let a = to_char(s);
            let b = to_char(e);
            let (os, oe) = n.original_span(orig, a, b);
            out.push(RawHit {
                entry: self.patterns[pi].entry,
                start: os,
                end: oe,
            });
        }
        out
    }

    /// Where the `not_in` phrases stand in `hay`: (start, end of the last
    /// word, entry) in bytes.
    fn blocked_spans<'w>(
        &self,
        hay: &str,
        written: &impl Fn() -> &'w str,
    ) -> Vec<(usize, usize, usize)> {
        let mut out = Vec::new();
        let mut prev_word = false;
        for (b, c) in hay.char_indices() {
            let w = is_word(c);
            if w && !prev_word {
                for q in chain_ends(&hay[b..]) {
                    self.blocker_trie.walk(hay.as_bytes(), b + q, |pi, e| {
                        let p = &self.blockers[pi];
                        if let Some(start) = self.check(p, hay, b + q, e, written) {
                            let rest = &hay[e..];
                            let end = e + rest.find(|c: char| !is_word(c)).unwrap_or(rest.len());
                            out.push((start.min(b + q), end, p.entry));
                        }
                    });
                }
            }
            prev_word = w;
        }
        out
    }

    /// Boundary, clitic and suffix checks for a candidate at `s..e` (bytes
    /// of `hay`); the start of the term (article included) if it passes.
    fn check<'w>(
        &self,
        p: &Pattern,
        hay: &str,
        s: usize,
        e: usize,
        written: &impl Fn() -> &'w str,
    ) -> Option<usize> {
        let mut start = s;
        if let Some(x) = &p.exact
            && written().get(s..e) != Some(x.as_str())
        {
            return None;
        }
        if p.starts_word || p.article {
            // up to 4 word characters before the pattern: the proclitics,
            // read as written (أل is not the article)
            let mut pre = [(0usize, ' '); 4];
            let mut np = 0;
            let w = if s > 0 { written() } else { hay };
            for (b, c) in w[..s].char_indices().rev() {
                if !is_word(c) {
                    break;
                }
                if np == 4 {
                    return None;
                }
                pre[3 - np] = (b, c);
                np += 1;
            }
            let pre = &pre[4 - np..];
            let mut chars = [' '; 4];
            for (i, x) in pre.iter().enumerate() {
                chars[i] = x.1;
            }
            let art = proclitic_chain(&chars[..np])?;
            if p.article {
                if art == 0 {
                    return None;
                }
                start = pre[pre.len() - art].0;
            }
        }
        if p.ends_word {
            let rest = &hay[e..];
            let end = rest.find(|c: char| !is_word(c)).unwrap_or(rest.len());
            // the suffix is read on the letters as written (same byte
            // offsets as `hay`): ة is never ه, ى never ي
            let suffix = || &written()[e..e + end];
            let ok = match p.suffix {
                Suffix::None => end == 0,
                Suffix::Optional => end == 0 || is_suffix(suffix()),
                Suffix::Required => end != 0 && is_suffix(suffix()),
            };
            if !ok {
                return None;
            }
        }
        Some(start)
    }
}

/// The spellings as a byte trie: what an anchored search needs, and much
/// quicker to build than an automaton with failure links.
#[derive(Debug, Clone, Default)]
struct Trie {
    /// Per node: start and length of its edges in `edges`, its pattern
    /// index + 1 (0: no pattern ends here), and the start + 1 of its dense
    /// table in `dense` (0: none).
    nodes: Vec<(u32, u32, u32, u32)>,
    /// (byte, child) edges, sorted by byte within each node.
    edges: Vec<(u8, u32)>,
    /// 256-entry child tables (0: no child; the root is nobody's child) for
    /// nodes with many children, where a search would miss the cache.
    dense: Vec<u32>,
}

/// Nodes with at least this many children get a dense table.
const DENSE_FROM: usize = 12;

impl Trie {
    fn build(patterns: &[String]) -> Trie {
        let mut children: Vec<Vec<(u8, u32)>> = vec![Vec::new()];
        let mut ends: Vec<u32> = vec![0];
        for (pi, p) in patterns.iter().enumerate() {
            let mut n = 0usize;
            for &b in p.as_bytes() {
                n = match children[n].iter().find(|e| e.0 == b) {
                    Some(e) => e.1 as usize,
                    None => {
                        let id = children.len();
                        children[n].push((b, id as u32));
                        children.push(Vec::new());
                        ends.push(0);
                        id
                    }
                };
            }
            ends[n] = pi as u32 + 1;
        }
        let mut nodes = Vec::with_capacity(children.len());
        let mut edges = Vec::with_capacity(children.len());
        let mut dense = Vec::new();
        for (i, mut c) in children.into_iter().enumerate() {
            c.sort_unstable_by_key(|e| e.0);
            let d = if c.len() >= DENSE_FROM {
                let at = dense.len();
                dense.resize(at + 256, 0);
                for &(b, child) in &c {
                    dense[at + b as usize] = child;
                }
                at as u32 + 1
            } else {
                0
            };
            nodes.push((edges.len() as u32, c.len() as u32, ends[i], d));
            edges.extend(c);
        }
        Trie {
            nodes,
            edges,
            dense,
        }
    }

    /// Call `f(pattern, end)` for every pattern that starts at byte `at`.
    fn walk(&self, hay: &[u8], at: usize, mut f: impl FnMut(usize, usize)) {
        if self.nodes.is_empty() {
            return;
        }
        let mut n = 0usize;
        for (i, &b) in hay[at..].iter().enumerate() {
            let (s, l, _, d) = self.nodes[n];
            if d != 0 {
                match self.dense[d as usize - 1 + b as usize] {
                    0 => return,
                    child => n = child as usize,
                }
            } else {
                let edges = &self.edges[s as usize..(s + l) as usize];
                match edges.iter().find(|e| e.0 == b) {
                    Some(e) => n = e.1 as usize,
                    None => return,
                }
            }
            let p = self.nodes[n].2;
            if p != 0 {
                f(p as usize - 1, at + i + 1);
            }
        }
    }
}

/// Byte offsets, in a word starting at `word`, where a term may start:
/// 0, and after every proclitic chain the word begins with.
fn chain_ends(word: &str) -> impl Iterator<Item = usize> + '_ {
    let mut ends = [0usize; 5];
    let mut n = 1;
    let mut chars = [' '; 4];
    for (i, (b, c)) in word.char_indices().take(4).enumerate() {
        let k = i + 1;
        chars[i] = c;
        let r = affixes();
        if !(r.conjunctions.contains(&c) || r.prepositions.contains(&c) || r.article.contains(c)) {
            break;
        }
        if proclitic_chain(&chars[..k]).is_some() {
            ends[n] = b + c.len_utf8();
            n += 1;
        }
    }
    ends.into_iter().take(n)
}

/// The normalised text with the letters that fold onto clitic and suffix
/// letters put back as written (ة for ه, ى for ي, أ إ آ for ا; see
/// `never_suffix_letters` and `never_article_letters`), so that byte
/// offsets are those of the normalised text.
fn as_written(n: &crate::normalize::Normalized, orig: &[char]) -> String {
    let r = affixes();
    n.text
        .chars()
        .enumerate()
        .map(|(i, c)| match c {
            'ه' | 'ي' | 'ا' => {
                let o = orig.get(n.map[i]).copied().unwrap_or(c);
                match c {
                    'ه' if r.never_suffix_letters.contains(&o) => 'ة',
                    'ي' if r.never_suffix_letters.contains(&o) => 'ى',
                    // the alef as written (same width in UTF-8)
                    'ا' if r.never_article_letters.contains(&o) => match o {
                        'ﺃ' | 'ﺄ' => 'أ',
                        'ﺇ' | 'ﺈ' => 'إ',
                        'ﺁ' | 'ﺂ' => 'آ',
                        o => o,
                    },
                    _ => c,
                }
            }
            c => c,
        })
        .collect()
}

/// For a pattern `text` shorter than `min_stem_letters` letters (the
/// article excluded), the letters of `form` as written.
fn short_written(text: &str, form: &str, article: bool) -> Option<String> {
    if text.chars().filter(|c| is_word(*c)).count() >= affixes().min_stem_letters {
        return None;
    }
    let n = normalize(form.trim());
    let chars: Vec<char> = form.trim().chars().collect();
    let w = as_written(&n, &chars);
    let w = if article {
        w.get(affixes().article.len()..).unwrap_or("").to_string()
    } else {
        w
    };
    Some(w.trim().to_string())
}

/// The patterns for one normalised form `k` (written `form`).
fn expand(k: &str, form: &str, name: bool) -> Vec<(String, bool, Suffix)> {
    let written_article = form.trim_start().starts_with(affixes().article.as_str());
    let (stem, article) = match k.strip_prefix(affixes().article.as_str()) {
        // the article as written (ألمانيا does not start with it), when
        // something word-like follows it
        Some(rest)
            if written_article && rest.chars().take(2).filter(|c| is_word(*c)).count() == 2 =>
        {
            (rest.to_string(), true)
        }
        _ => (k.to_string(), false),
    };
    // a suffix only after a plausible stem: the last word has enough letters
    let last_word = stem.rsplit(' ').next().unwrap_or("");
    let long_enough =
        last_word.chars().filter(|c| is_word(*c)).count() >= affixes().min_stem_letters;
    let takes_suffix = !name && long_enough;
    let suffix = if takes_suffix {
        Suffix::Optional
    } else {
        Suffix::None
    };
    let mut out = vec![(stem.clone(), article, suffix)];
    let ends_in_teh_marbuta = form
        .chars()
        .rev()
        .find(|c| !crate::normalize::is_attached_mark(*c))
        == Some('ة');
    if takes_suffix && ends_in_teh_marbuta {
        let base = &stem[..stem.len() - 'ه'.len_utf8()];
        if !base.is_empty() {
            out.push((format!("{base}ت"), article, Suffix::Required));
            out.push((format!("{base}ات"), article, Suffix::Optional));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glossary::Entry;

    fn entry(source: &str, target: &str, kind: Option<&str>, variants: &[&str]) -> Entry {
        let mut e = Entry::new(source, target);
        e.kind = kind.map(str::to_string);
        e.variants = variants.iter().map(|s| s.to_string()).collect();
        e
    }

    fn surfaces(m: &Matcher, text: &str) -> Vec<(String, String)> {
        let chars: Vec<char> = text.chars().collect();
        m.find_raw(text)
            .into_iter()
            .map(|h| {
                (
                    chars[h.start..h.end].iter().collect(),
                    m.entries()[h.entry].target.clone(),
                )
            })
            .collect()
    }

    fn one(source: &str, kind: Option<&str>) -> Matcher {
        Glossary::new(vec![entry(source, "T", kind, &[])]).matcher()
    }

    fn hits(m: &Matcher, text: &str) -> Vec<String> {
        surfaces(m, text).into_iter().map(|x| x.0).collect()
    }

    /// The examples of issue 10: a term never matches inside a longer word.
    #[test]
    fn suffixes_are_read_on_the_letters_as_written() {
        let g = Glossary::new(vec![
            entry("سلام", "peace", Some("term"), &[]),
            entry("عمل", "labour", Some("term"), &[]),
            entry("حرب", "war", Some("term"), &[]),
            entry("ال", "the", Some("term"), &[]),
        ]);
        let m = g.matcher();
        for text in [
            "السلامة",
            "العملة",
            "حربة",
            "إلى",
            "الى",
            "بالسلامة",
            "حربى",
            "ﺣﺮﺑﺔ",
        ] {
            assert!(hits(&m, text).is_empty(), "{text}: {:?}", hits(&m, text));
        }
        // the same words with a real suffix still match
        assert_eq!(hits(&m, "سلامه"), ["سلام"]);
        assert_eq!(hits(&m, "حربهم"), ["حرب"]);
        assert_eq!(hits(&m, "عملي"), ["عمل"]);
        assert_eq!(hits(&m, "والحرب"), ["حرب"]);
        // a two-letter entry takes no suffix at all
        assert!(hits(&m, "الي").is_empty());
        assert!(hits(&m, "الها").is_empty());
    }

    #[test]
    fn teh_marbuta_entries_keep_their_forms_as_written() {
        let m = one("سلامة", Some("term"));
        assert_eq!(hits(&m, "السلامة"), ["السلامة"].map(|s| s[4..].to_string()));
        assert_eq!(hits(&m, "سلامته"), ["سلامت"]);
        // ة written as ه (a common spelling) is still the entry
        assert_eq!(hits(&m, "سلامه"), ["سلامه"]);
    }

    #[test]
    fn not_in_phrases_block_their_entry_only() {
        let mut muscat = entry("مسقط", "Muscat", Some("capital"), &[]);
        muscat.not_in = vec!["مسقط رأس".into()];
        let mut benin = entry("بنين", "Benin", Some("country"), &[]);
        benin.not_in = vec!["البنين".into()];
        let m =
            Glossary::new(vec![muscat, benin, entry("رأس", "head", Some("term"), &[])]).matcher();
        assert_eq!(hits(&m, "عاد إلى مسقط رأسه"), ["رأس"]);
        assert_eq!(hits(&m, "في مسقط رأسها"), ["رأس"]);
        assert_eq!(hits(&m, "وصل إلى مسقط أمس"), ["مسقط"]);
        assert!(hits(&m, "مدرسة للبنين").is_empty());
        assert!(hits(&m, "والبنين والبنات").is_empty());
        assert_eq!(hits(&m, "زار بنين وتوغو"), ["بنين"]);
        assert_eq!(hits(&m, "وفي بنين"), ["بنين"]);
    }

    #[test]
    fn ambiguous_is_carried_to_the_hit() {
        let mut e = entry("المغرب", "Morocco", Some("country"), &[]);
        e.ambiguous = true;
        let m = Glossary::new(vec![e]).matcher();
        let seg = Segment {
            id: "p1s1".into(),
            para: 1,
            index: 1,
            text: "زار المغرب".into(),
            start: 0,
            end: 10,
        };
        let h = m.find(&seg);
        assert_eq!(h.len(), 1);
        assert!(h[0].ambiguous);
    }

    /// Collisions the 100,000-word test found: a hamza alef is never the
    /// article, and a short entry matches only as written.
    #[test]
    fn the_article_and_short_entries_as_written() {
        let g = Glossary::new(vec![
            entry("الأمة", "the nation", Some("term"), &[]),
            entry("آن", "time", Some("term"), &[]),
            entry("وانا", "T", Some("term"), &[]),
        ]);
        let m = g.matcher();
        for text in ["آلامه", "كان", "کان", "ألوانا", "إن", "أن"] {
            assert!(hits(&m, text).is_empty(), "{text}: {:?}", hits(&m, text));
        }
        assert_eq!(hits(&m, "والأمة"), ["الأمة"]);
        assert_eq!(hits(&m, "للأمة"), ["لأمة"]);
        assert_eq!(hits(&m, "الآن"), ["آن"]);
        assert_eq!(hits(&m, "وآن"), ["آن"]);
    }

    #[test]
    fn a_name_starting_with_hamza_alef_lam_is_not_an_article_entry() {
        let m = one("ألمانيا", Some("country"));
        for text in ["ألمانيا", "المانيا", "وألمانيا", "لألمانيا", "والمانيا"]
        {
            assert_eq!(hits(&m, text).len(), 1, "{text}");
        }
    }

    #[test]
    fn rules_are_data() {
        let r = affixes();
        assert!(r.conjunctions.contains(&'و') && r.prepositions.contains(&'ل'));
        assert_eq!(r.article, "ال");
        assert!(r.min_stem_letters >= 3);
        assert!(r.never_suffix_letters.contains(&'ة') && r.never_suffix_letters.contains(&'ى'));
        assert!(is_suffix("اتها") && !is_suffix("ة") && !is_suffix("ى"));
    }

    #[test]
    fn every_proclitic_chain() {
        let m = one("روسيا", Some("place"));
        for (text, want) in [
            ("روسيا", "روسيا"),
            ("وروسيا", "روسيا"),
            ("فروسيا", "روسيا"),
            ("بروسيا", "روسيا"),
            ("كروسيا", "روسيا"),
            ("لروسيا", "روسيا"),
            ("وبروسيا", "روسيا"),
            ("فلروسيا", "روسيا"),
            ("الروسيا", "روسيا"),
            ("والروسيا", "روسيا"),
            ("بالروسيا", "روسيا"),
            ("وبالروسيا", "روسيا"),
            ("للروسيا", "روسيا"),
            ("وللروسيا", "روسيا"),
        ] {
            assert_eq!(hits(&m, text), vec![want.to_string()], "{text}");
        }
        // not chains: two conjunctions, preposition before conjunction, ...
        for text in ["ووروسيا", "بوروسيا", "مروسيا", "البروسيا", "سروسيا"]
        {
            assert!(hits(&m, text).is_empty(), "{text}");
        }
    }

    #[test]
    fn article_entries_need_the_article_and_span_it() {
        let m = Glossary::new(vec![entry("الكرملين", "the Kremlin", Some("org"), &[])]).matcher();
        assert_eq!(hits(&m, "الكرملين"), ["الكرملين"]);
        assert_eq!(hits(&m, "والكرملين"), ["الكرملين"]);
        assert_eq!(hits(&m, "بالكرملين"), ["الكرملين"]);
        // ل + ال = لل: the span starts at the article's lam
        assert_eq!(hits(&m, "للكرملين"), ["لكرملين"]);
        assert_eq!(hits(&m, "وللكرملين"), ["لكرملين"]);
        assert!(hits(&m, "كرملين").is_empty());
        assert!(hits(&m, "بكرملين").is_empty());
    }

    #[test]
    fn every_suffix_for_terms_none_for_names() {
        let term = one("اتفاق", None);
        let name = one("اتفاق", Some("person"));
        for s in [
            "ه", "ها", "هم", "هما", "هن", "نا", "ك", "كم", "ان", "ين", "ون", "ات", "ي", "اتها",
        ] {
            let text = format!("اتفاق{s}");
            assert_eq!(hits(&term, &text), ["اتفاق"], "{text}");
            assert!(hits(&name, &text).is_empty(), "{text}");
        }
        assert!(hits(&term, "اتفاقيه").is_empty());
        assert!(hits(&term, "اتفاقكما1").is_empty());
    }

    #[test]
    fn teh_marbuta_bound_and_plural_forms() {
        let m = one("حكومة", Some("term"));
        assert_eq!(hits(&m, "حكومة"), ["حكومة"]);
        assert_eq!(hits(&m, "حكومته"), ["حكومت"]);
        assert_eq!(hits(&m, "بحكومتها"), ["حكومت"]);
        assert_eq!(hits(&m, "حكومات"), ["حكومات"]);
        assert_eq!(hits(&m, "حكوماتهم"), ["حكومات"]);
        assert!(hits(&m, "حكومت").is_empty());
    }

    #[test]
    fn never_inside_a_longer_word() {
        let m = one("روس", Some("term"));
        assert!(hits(&m, "روسيا").is_empty());
        assert!(hits(&m, "الروسية").is_empty());
        assert!(hits(&m, "مروس").is_empty());
        assert_eq!(hits(&m, "الروس."), ["روس"]);
        let m = one("روسيا", Some("place"));
        assert!(hits(&m, "الروسية والروسي").is_empty());
    }

    #[test]
    fn multi_word_across_any_whitespace_and_marks() {
        let m = one("صيغة موسكو", Some("event"));
        let text = "اجتماع لصيغةِ\u{00A0} \nموسكـو، ثم";
        assert_eq!(hits(&m, text), ["صيغةِ\u{00A0} \nموسكـو"]);
    }

    #[test]
    fn leftmost_longest_and_fallback_to_shorter() {
        let g = Glossary::new(vec![
            entry("داعش", "IS", Some("org"), &[]),
            entry("داعش خراسان", "IS-K", Some("org"), &[]),
            entry("خراسان", "Khorasan", Some("place"), &[]),
        ]);
        let m = g.matcher();
        assert_eq!(
            surfaces(&m, "تنظيم داعش خراسان وداعش"),
            vec![
                ("داعش خراسان".to_string(), "IS-K".to_string()),
                ("داعش".to_string(), "IS".to_string())
            ]
        );
        // the longer entry fails its boundary: the shorter still matches
        assert_eq!(
            surfaces(&m, "داعش خراسانية"),
            vec![("داعش".to_string(), "IS".to_string())]
        );
    }

    #[test]
    fn variants_and_normalised_spellings() {
        let g = Glossary::new(vec![entry(
            "ديمتري بيسكوف",
            "Dmitry Peskov",
            Some("person"),
            &["دميتري بيسكوف"],
        )]);
        let m = g.matcher();
        assert_eq!(hits(&m, "ديمترى بيسكوف"), ["ديمترى بيسكوف"]);
        assert_eq!(hits(&m, "ودميتري  بيسكوف"), ["دميتري  بيسكوف"]);
        assert_eq!(hits(&m, "\u{200F}ديمتري بيسكوف\u{200F}"), ["ديمتري بيسكوف"]);
    }

    #[test]
    fn trie_reports_every_pattern_starting_at_the_anchor() {
        let t = Trie::build(&["ab".into(), "abc".into(), "b".into(), "روس".into()]);
        let mut got = Vec::new();
        t.walk(b"abcb", 0, |p, e| got.push((p, e)));
        assert_eq!(got, [(0, 2), (1, 3)]);
        got.clear();
        t.walk(b"abcb", 3, |p, e| got.push((p, e)));
        assert_eq!(got, [(2, 4)]);
        got.clear();
        t.walk("روسيا".as_bytes(), 0, |p, e| got.push((p, e)));
        assert_eq!(got, [(3, 6)]);
        Trie::build(&[]).walk(b"x", 0, |_, _| panic!("empty trie"));
        // a node with many children uses its dense table
        let many: Vec<String> = (b'a'..=b'z').map(|c| format!("x{}", c as char)).collect();
        let t = Trie::build(&many);
        assert!(!t.dense.is_empty());
        let mut got = Vec::new();
        t.walk(b"xq", 0, |p, e| got.push((p, e)));
        assert_eq!(got, [(16, 2)]);
        t.walk(b"x!", 0, |_, _| panic!("no such child"));
    }

    #[test]
    fn chain_ends_lists_every_proclitic_split() {
        let e = |w: &str| chain_ends(w).collect::<Vec<_>>();
        assert_eq!(e("روسيا"), [0]);
        assert_eq!(e("وروسيا"), [0, 2]);
        assert_eq!(e("وبالروسيا"), [0, 2, 4, 8]);
        assert_eq!(e("للكرملين"), [0, 2, 4]);
        assert_eq!(e("ال"), [0, 4]);
    }

    #[test]
    fn anchored_and_unanchored_searches_agree() {
        let odd = entry("(داعش)", "IS", Some("org"), &[]);
        let words = Glossary::new(vec![
            entry("روسيا", "Russia", Some("place"), &[]),
            entry("الكرملين", "the Kremlin", Some("org"), &[]),
            entry("داعش", "IS", Some("org"), &[]),
        ]);
        let mut with_odd = words.entries().to_vec();
        with_odd.push(odd);
        let a = words.matcher();
        let b = Glossary::new(with_odd).matcher();
        assert!(a.word_starts_only && !b.word_starts_only);
        let text = "وبالروسيا وللكرملين ولروسيا، داعش (داعش) روسيات";
        let spans = |m: &Matcher| {
            m.find_raw(text)
                .into_iter()
                .filter(|h| m.entries()[h.entry].source != "(داعش)")
                .map(|h| (h.start, h.end))
                .collect::<Vec<_>>()
        };
        assert_eq!(spans(&a), [(4, 9), (12, 19), (22, 27), (29, 33), (35, 39)]);
        // with a pattern that starts with `(`, the whole-text search finds
        // the same words and the parenthesised form instead of the inner word
        assert_eq!(spans(&b), [(4, 9), (12, 19), (22, 27), (29, 33)]);
        let odd: Vec<_> = b
            .find_raw(text)
            .into_iter()
            .map(|h| (h.start, h.end))
            .collect();
        assert_eq!(odd.last(), Some(&(34, 40)));
    }

    #[test]
    fn document_offsets() {
        let m = one("طالبان", Some("org"));
        let seg = Segment {
            id: "p2s1".into(),
            para: 2,
            index: 1,
            text: "روسيا وطالبان".into(),
            start: 100,
            end: 113,
        };
        let h = m.find(&seg);
        assert_eq!(h.len(), 1);
        assert_eq!((h[0].start, h[0].end), (107, 113));
        assert_eq!(h[0].surface, "طالبان");
        assert_eq!(h[0].segment, "p2s1");
    }

    proptest::proptest! {
        #[test]
        fn spans_are_sorted_disjoint_and_whole_words(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "روسيا", "وروسيا", "الروسية", "طالبان", "لل", "ال", "و", " ", "  ", "،",
                    "\u{0640}", "\u{064E}", "\u{200F}", "حكومة", "حكومتها", "صيغة", "موسكو",
                ]),
                0..30,
            )
        ) {
            let text: String = parts.concat();
            let g = Glossary::new(vec![
                entry("روسيا", "Russia", Some("place"), &[]),
                entry("طالبان", "Taliban", Some("org"), &[]),
                entry("حكومة", "government", None, &[]),
                entry("صيغة موسكو", "Moscow Format", Some("event"), &[]),
                entry("موسكو", "Moscow", Some("place"), &[]),
            ]);
            let m = g.matcher();
            // the anchored search finds what the whole-text search finds
            let mut whole = m.clone();
            whole.word_starts_only = false;
            proptest::prop_assert!(m.word_starts_only);
            proptest::prop_assert_eq!(m.find_raw(&text), whole.find_raw(&text));
            let chars: Vec<char> = text.chars().collect();
            let mut last = 0;
            for h in m.find_raw(&text) {
                proptest::prop_assert!(h.start >= last && h.start < h.end && h.end <= chars.len());
                last = h.end;
                let surface: String = chars[h.start..h.end].iter().collect();
                let e = &m.entries()[h.entry];
                if e.is_name() {
                    // a name's surface is one of its spellings, a whole word
                    proptest::prop_assert!(e.forms().any(|f| key(f) == key(&surface)), "{surface}");
                    proptest::prop_assert!(h.end == chars.len() || !chars[h.end].is_alphabetic());
                }
            }
        }
    }
}
