/*!
The bilingual HTML page: what a reviewer opens in a browser or prints.

One self-contained file (inline CSS, no scripts, fonts or images from
anywhere), a two-column table with the Arabic `lang="ar" dir="rtl"` and the
English `lang="en" dir="ltr"`, so the browser's bidi algorithm lays each
language out correctly instead of the reversed Arabic terminals and PDF
exports produce. Runs of the other script inside a cell (a Latin acronym in
Arabic, an Arabic name in a note) are isolated in `<bdi>` so they cannot
reorder their neighbours.

Glossary hits are highlighted on both sides with the entry in a tooltip:
the Arabic span comes from the hit's character offsets (relative to the
segment), the English by finding the pinned rendering case-insensitively at
word boundaries. Each pinned term of a row gets a number and a colour, the
same on both sides, and hovering one side outlines the other (CSS `:has`,
no script), so the editor sees which English words answer which Arabic
term. Rows that need attention (untranslated, warnings, missed or forbidden
terms) are listed at the top with links, and carry one note per problem in
the row. A reason shared by every untranslated row (an offline run) is said
once at the top instead of on every row.

Everything that comes from a document is escaped; explicit bidi embedding,
override and isolate controls from the input are shown as visible badges
instead of being obeyed, so a translation cannot disguise itself.
*/

use crate::glossary::check::shown;
use std::fmt::Write as _;

use crate::model::{AlignedPair, Bitext, CheckedTerm, Origin};

/// Escape text for HTML content and attribute values: the markup
/// characters through the one entity table ([`crate::xml::entity`]);
/// bidi embeddings and control characters (other than LF and tab) dropped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            c if is_bidi_control(c) => {}
            c if c.is_control() && !matches!(c, '\n' | '\t') => {}
            c => match crate::xml::entity(c) {
                Some(e) => out.push_str(e),
                None => out.push(c),
            },
        }
    }
    out
}

/// Explicit embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI
/// RLI FSI PDI): they change how the surrounding text is laid out. The
/// plain marks (LRM, RLM, ALM) only act as strong characters and are kept.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Strong right-to-left letters: Arabic ([`crate::normalize::is_arabic_letter`])
/// and Hebrew, Syriac, Thaana, N'Ko and the other right-to-left scripts,
/// digits and marks excluded.
fn is_rtl_letter(c: char) -> bool {
    crate::normalize::is_arabic_letter(c)
        || (matches!(c,
            '\u{0590}'..='\u{05FF}' | '\u{0700}'..='\u{074F}' | '\u{0780}'..='\u{086F}'
            | '\u{FB1D}'..='\u{FB4F}' | '\u{10800}'..='\u{10FFF}' | '\u{1E800}'..='\u{1EFFF}')
            && c.is_alphabetic())
}

fn is_ltr_letter(c: char) -> bool {
    c.is_alphabetic() && !is_rtl_letter(c) && !crate::normalize::in_arabic_blocks(c)
}

/// Escape `text` for a cell whose base direction is right-to-left when
/// `rtl`, wrapping runs of the other direction in `<bdi>`, turning line
/// breaks into `<br>` and bidi controls into visible badges.
pub(crate) fn text_html(text: &str, rtl: bool) -> String {
    let chars: Vec<char> = text.chars().collect();
    let foreign = |c: char| {
        if rtl {
            is_ltr_letter(c)
        } else {
            is_rtl_letter(c)
        }
    };
    let native = |c: char| {
        if rtl {
            is_rtl_letter(c)
        } else {
            is_ltr_letter(c)
        }
    };
    let mut out = String::with_capacity(text.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        if foreign(chars[i]) {
            // Extend over neutrals while the next strong letter is foreign too.
            let mut last = i;
            let mut j = i + 1;
            while j < chars.len()
                && !native(chars[j])
                && chars[j] != '\n'
                && !is_bidi_control(chars[j])
            {
                if foreign(chars[j]) {
                    last = j;
                }
                j += 1;
            }
            let run: String = chars[i..=last].iter().collect();
            if rtl {
                let _ = write!(out, "<bdi dir=\"ltr\">{}</bdi>", escape(&run));
            } else {
                let _ = write!(out, "<bdi lang=\"ar\" dir=\"rtl\">{}</bdi>", escape(&run));
            }
            i = last + 1;
            continue;
        }
        let c = chars[i];
        if c == '\n' {
            out.push_str("<br>");
        } else if c == '\r' {
            if chars.get(i + 1) != Some(&'\n') {
                out.push_str("<br>");
            }
        } else if is_bidi_control(c) {
            let _ = write!(
                out,
                "<span class=\"ctl\" title=\"bidi control character U+{:04X} in the input, not applied\">U+{:04X}</span>",
                c as u32, c as u32
            );
        } else {
            out.push_str(&escape(&c.to_string()));
        }
        i += 1;
    }
    out
}

/// A highlighted span of a cell, in characters.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
    class: &'static str,
    title: String,
    /// The term's number in its row (0: not a numbered term).
    num: usize,
}

/// Colours the numbered terms of a row cycle through.
const TERM_COLOURS: [&str; 6] = [
    "#fff0a8", "#cdeccd", "#cfe3ff", "#f6d5f0", "#ffdcb8", "#dcd6ff",
];

/// Term numbers with a hover rule (rows with more terms still number them).
const HOVER_RULES: usize = 24;

/// The number of each distinct pinned term of a row (by source and
/// target), 1-based, in order of first appearance.
fn term_numbers(pair: &AlignedPair) -> Vec<(&str, &str)> {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for t in &pair.terms {
        let k = (t.source.as_str(), t.target.as_str());
        if !seen.contains(&k) {
            seen.push(k);
        }
    }
    seen
}

fn number_of(numbers: &[(&str, &str)], t: &CheckedTerm) -> usize {
    numbers
        .iter()
        .position(|&(s, g)| s == t.source && g == t.target)
        .map_or(0, |i| i + 1)
}

/// Render `text` with `spans` (any order, overlaps dropped) as `<mark>`s,
/// and the inline formatting `formats` (character ranges, in order) as
/// `<b>`, `<i>`, `<u>` and `<a>` inside them.
fn cell_html(text: &str, mut spans: Vec<Span>, rtl: bool, formats: &[Formatted]) -> String {
    let chars: Vec<char> = text.chars().collect();
    let html = |a: usize, b: usize| formatted_html(a, &chars[a..b], rtl, formats);
    spans.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
    let mut out = String::new();
    let mut pos = 0;
    for s in spans {
        if s.start < pos || s.end > chars.len() || s.start >= s.end {
            continue;
        }
        out.push_str(&html(pos, s.start));
        let inner = html(s.start, s.end);
        if s.num > 0 {
            let _ = write!(
                out,
                "<mark class=\"{} c{} n{}\" data-term=\"{}\" title=\"{}\">{inner}<sup class=\"tn\">{}</sup></mark>",
                s.class,
                (s.num - 1) % TERM_COLOURS.len() + 1,
                s.num,
                s.num,
                escape(&s.title),
                s.num
            );
        } else {
            let _ = write!(
                out,
                "<mark class=\"{}\" title=\"{}\">{inner}</mark>",
                s.class,
                escape(&s.title)
            );
        }
        pos = s.end;
    }
    out.push_str(&html(pos, chars.len()));
    out
}

/// A character range of a cell's text and its inline formatting.
type Formatted = (usize, usize, crate::model::InlineFormat);

/// `piece`, which starts at character `at` of its cell, with the parts
/// that `formats` cover wrapped in `<b>`, `<i>`, `<u>`, `<a href>`.
fn formatted_html(at: usize, piece: &[char], rtl: bool, formats: &[Formatted]) -> String {
    let mut out = String::new();
    let mut pos = 0;
    let end = piece.len();
    for (s, e, f) in formats {
        let (s, e) = ((*s).max(at) - at, (*e).min(at + end).saturating_sub(at));
        if s >= e || s < pos || e > end {
            continue;
        }
        out.push_str(&text_html(&piece[pos..s].iter().collect::<String>(), rtl));
        let mut inner = text_html(&piece[s..e].iter().collect::<String>(), rtl);
        for (on, tag) in [(f.bold, "b"), (f.italic, "i"), (f.underline, "u")] {
            if on {
                inner = format!("<{tag}>{inner}</{tag}>");
            }
        }
        if let Some(l) = &f.link {
            inner = format!("<a href=\"{}\">{inner}</a>", escape(l));
        }
        out.push_str(&inner);
        pos = e;
    }
    out.push_str(&text_html(&piece[pos..].iter().collect::<String>(), rtl));
    out
}

/// The character ranges of `target` that carry the row's inline
/// formatting: from its marked English, when that is the same English.
fn formats_of(pair: &AlignedPair, target: &str) -> Vec<Formatted> {
    let Some(m) = crate::inline::marked_of(pair) else {
        return Vec::new();
    };
    let pieces = crate::inline::pieces(m);
    if pieces.iter().map(|(t, _)| t.as_str()).collect::<String>() != target {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut at = 0;
    for (t, open) in pieces {
        let n = t.chars().count();
        if !open.is_empty() {
            out.push((at, at + n, crate::inline::format_of(&open, &pair.formats)));
        }
        at += n;
    }
    out
}

fn term_state(t: &CheckedTerm) -> &'static str {
    match t.honoured {
        Some(true) => "honoured in the English",
        Some(false) => "MISSING from the English",
        None => "not checked",
    }
}

/// Where a hit lies in the segment's source, in characters: its document
/// offsets minus the segment's start when they point at the surface text,
/// else the first occurrence of the surface not yet highlighted.
fn arabic_span(
    pair: &AlignedPair,
    t: &CheckedTerm,
    chars: &[char],
    taken: &[Span],
) -> Option<(usize, usize)> {
    let surface: Vec<char> = t.surface.chars().collect();
    if t.start >= pair.start && t.end > t.start {
        let (s, e) = (t.start - pair.start, t.end - pair.start);
        if e <= chars.len() && (surface.is_empty() || chars[s..e] == surface[..]) {
            return Some((s, e));
        }
    }
    if surface.is_empty() {
        return None;
    }
    find_all(chars, &surface, false)
        .into_iter()
        .find(|&(s, e)| !taken.iter().any(|x| s < x.end && x.start < e))
}

fn eq_fold(a: char, b: char) -> bool {
    a == b || a.to_lowercase().eq(b.to_lowercase())
}

/// Every non-overlapping occurrence of `needle` in `hay` (case-insensitive),
/// at word boundaries when `words` is set (a trailing `s` or `'s` is allowed
/// after the needle, as in plurals and possessives).
fn find_all(hay: &[char], needle: &[char], words: bool) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    if needle.is_empty() || needle.len() > hay.len() {
        return found;
    }
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        let hit = hay[i..i + needle.len()]
            .iter()
            .zip(needle)
            .all(|(&a, &b)| eq_fold(a, b));
        if hit {
            let end = i + needle.len();
            let left_ok = !words || i == 0 || !hay[i - 1].is_alphanumeric();
            let right_ok = !words || {
                let rest = &hay[end..];
                let boundary = |k: usize| rest.get(k).is_none_or(|c| !c.is_alphanumeric());
                boundary(0)
                    || (matches!(rest.first(), Some('s' | 'S')) && boundary(1))
                    || (matches!(rest.first(), Some('\'' | '’'))
                        && matches!(rest.get(1), Some('s' | 'S'))
                        && boundary(2))
            };
            if left_ok && right_ok {
                found.push((i, end));
                i = end;
                continue;
            }
        }
        i += 1;
    }
    found
}

/// The Arabic of a row with its numbered, coloured term marks (shared with
/// the review page, `crate::review::page`).
pub(crate) fn source_cell(pair: &AlignedPair) -> String {
    let numbers = term_numbers(pair);
    let chars: Vec<char> = pair.source.chars().collect();
    let mut spans: Vec<Span> = Vec::new();
    for t in &pair.terms {
        if let Some((start, end)) = arabic_span(pair, t, &chars, &spans) {
            let mut class = "term";
            if t.honoured == Some(false) {
                class = "term missed";
            }
            if !t.forbidden_found.is_empty() {
                class = "term forbidden";
            }
            let mut title = format!(
                "{} → {} (glossary; {})",
                t.source,
                shown(&t.target),
                term_state(t)
            );
            if !t.forbidden_found.is_empty() {
                let _ = write!(
                    title,
                    "; forbidden rendering used: {}",
                    t.forbidden_found.join(", ")
                );
            }
            spans.push(Span {
                start,
                end,
                class,
                title,
                num: number_of(&numbers, t),
            });
        }
    }
    cell_html(&pair.source, spans, true, &[])
}

/// The English of a row with the same marks as [`source_cell`].
pub(crate) fn target_cell(pair: &AlignedPair, target: &str) -> String {
    let numbers = term_numbers(pair);
    let chars: Vec<char> = target.chars().collect();
    let mut spans: Vec<Span> = Vec::new();
    let overlaps =
        |spans: &[Span], s: usize, e: usize| spans.iter().any(|x| s < x.end && x.start < e);
    for t in &pair.terms {
        for f in &t.forbidden_found {
            let needle: Vec<char> = f.chars().collect();
            for (s, e) in find_all(&chars, &needle, true) {
                if !overlaps(&spans, s, e) {
                    spans.push(Span {
                        start: s,
                        end: e,
                        class: "forbidden",
                        title: format!(
                            "forbidden rendering for {}; the glossary says {}",
                            t.source,
                            shown(&t.target)
                        ),
                        num: number_of(&numbers, t),
                    });
                }
            }
        }
    }
    for t in &pair.terms {
        // any accepted form marks the term on the English side
        for form in crate::glossary::check::forms(&t.target) {
            let needle: Vec<char> = form.chars().collect();
            for (s, e) in find_all(&chars, &needle, true) {
                if !overlaps(&spans, s, e) {
                    spans.push(Span {
                        start: s,
                        end: e,
                        class: "term",
                        title: format!("{form} ← {} (glossary)", t.source),
                        num: number_of(&numbers, t),
                    });
                }
            }
        }
    }
    cell_html(target, spans, false, &formats_of(pair, target))
}

pub(crate) fn origin_label(o: Origin) -> &'static str {
    match o {
        Origin::Memory => "from memory",
        Origin::Human => "human",
        Origin::Mt => "machine",
        Origin::None => "untranslated",
    }
}

/// A reason shared by every untranslated row (two or more), such as an
/// offline run's: said once at the top of the page, not on every row.
fn common_reason(doc: &Bitext) -> Option<&str> {
    let mut untranslated = doc.pairs.iter().filter(|p| p.target.is_none());
    let first = untranslated.next()?;
    let [w] = first.warnings.as_slice() else {
        return None;
    };
    let mut n = 1;
    for p in untranslated {
        if p.warnings.as_slice() != std::slice::from_ref(w) {
            return None;
        }
        n += 1;
    }
    (n >= 2).then_some(w.as_str())
}

/// Whether the row needs review for more than the page-wide reason.
fn needs_review(pair: &AlignedPair, common: Option<&str>) -> bool {
    super::is_flagged(pair)
        && !(common.is_some()
            && pair.target.is_none()
            && pair.warnings.iter().all(|w| Some(w.as_str()) == common))
}

fn row(out: &mut String, pair: &AlignedPair, common: Option<&str>) {
    let flagged = super::is_flagged(pair);
    let mut classes = vec![
        "seg".to_string(),
        format!("origin-{}", pair.origin.as_str()),
    ];
    if flagged {
        classes.push("flagged".into());
    }
    if pair.target.is_none() {
        classes.push("untranslated".into());
    }
    let id = escape(&pair.id);
    let _ = writeln!(out, "<tr id=\"seg-{id}\" class=\"{}\">", classes.join(" "));
    let _ = writeln!(
        out,
        "<td class=\"ar\" lang=\"ar\" dir=\"rtl\">{}</td>",
        source_cell(pair)
    );
    out.push_str("<td class=\"en\" lang=\"en\" dir=\"ltr\">");
    match &pair.target {
        Some(t) => {
            let _ = write!(out, "<div class=\"text\">{}</div>", target_cell(pair, t));
        }
        None if common.is_some() => out.push_str(
            "<div class=\"text missing quiet\" title=\"no English yet; see the notice at the top\">—</div>",
        ),
        None => out.push_str("<div class=\"text missing\">Not translated</div>"),
    }
    // A row whose only problem is the page-wide reason carries no flags:
    // the notice at the top says it once.
    let flags = if pair.target.is_none() && !needs_review(pair, common) {
        Vec::new()
    } else {
        super::flags_of(pair)
    };
    let _ = write!(
        out,
        "<div class=\"info\"><a class=\"sid\" href=\"#seg-{id}\">{id}</a> · {}{}</div>",
        origin_label(pair.origin),
        if flags.is_empty() {
            String::new()
        } else {
            format!(
                " · <span class=\"flags\">{}</span>",
                escape(&flags.join(", "))
            )
        }
    );
    let notes = notes_html(pair, common);
    if !notes.is_empty() {
        let _ = write!(out, "<ul class=\"notes\">{notes}</ul>");
    }
    out.push_str("</td>\n</tr>\n");
}

/// The row's notes, one per problem: a missed or forbidden term gets its
/// own note, so the warning that says the same is not repeated; the
/// page-wide reason is not repeated either.
pub(crate) fn notes_html(pair: &AlignedPair, common: Option<&str>) -> String {
    let mut out = String::new();
    let said_by_a_term_note = |w: &str| {
        let w = w.to_lowercase();
        pair.terms.iter().any(|t| {
            (t.honoured == Some(false)
                && w.contains("pinned term")
                && w.contains(&shown(&t.target).to_lowercase()))
                || (!t.forbidden_found.is_empty() && w.contains("forbidden rendering"))
        })
    };
    for w in &pair.warnings {
        if Some(w.as_str()) == common || said_by_a_term_note(w) {
            continue;
        }
        let _ = write!(out, "<li class=\"warn\">⚠ {}</li>", text_html(w, false));
    }
    let mut seen = std::collections::HashSet::new();
    for t in &pair.terms {
        // A term hit twice in one segment is reported once.
        if !seen.insert((&t.source, &t.target)) {
            continue;
        }
        if t.honoured == Some(false) {
            let _ = write!(
                out,
                "<li class=\"missed\">Pinned term missing: <bdi lang=\"ar\" dir=\"rtl\">{}</bdi> → {}</li>",
                escape(&t.source),
                text_html(&shown(&t.target), false)
            );
        }
        for f in &t.forbidden_found {
            let _ = write!(
                out,
                "<li class=\"forbidden\">Forbidden rendering “{}” used for <bdi lang=\"ar\" dir=\"rtl\">{}</bdi>; the glossary says {}</li>",
                text_html(f, false),
                escape(&t.source),
                text_html(&shown(&t.target), false)
            );
        }
    }
    // both answers of a re-requested segment, which one was kept and why
    for a in &pair.history {
        let _ = write!(
            out,
            "<li class=\"history\">Answer {}</li>",
            text_html(&a.describe(), false)
        );
    }
    for s in &pair.suggestions {
        let _ = write!(
            out,
            "<li class=\"fuzzy\">Memory {}% ({}): <bdi lang=\"ar\" dir=\"rtl\">{}</bdi> → {}</li>",
            s.score,
            s.origin.as_str(),
            escape(&s.source),
            text_html(&s.target, false)
        );
    }
    out
}

fn meta_row(out: &mut String, label: &str, value: &str) {
    let _ = writeln!(
        out,
        "<dt>{}</dt><dd>{}</dd>",
        escape(label),
        text_html(value, false)
    );
}

/// Counts over the document itself (always available, unlike the run summary).
#[derive(Debug, Default)]
struct Counts {
    segments: usize,
    translated: usize,
    memory: usize,
    human: usize,
    mt: usize,
    honoured: usize,
    missed: usize,
    forbidden: usize,
    unchecked: usize,
}

fn counts(doc: &Bitext) -> Counts {
    let mut c = Counts {
        segments: doc.pairs.len(),
        ..Default::default()
    };
    for p in &doc.pairs {
        if p.target.is_some() {
            c.translated += 1;
        }
        match p.origin {
            Origin::Memory => c.memory += 1,
            Origin::Human => c.human += 1,
            Origin::Mt => c.mt += 1,
            Origin::None => {}
        }
        for t in &p.terms {
            match t.honoured {
                Some(true) => c.honoured += 1,
                Some(false) => c.missed += 1,
                None => c.unchecked += 1,
            }
            c.forbidden += t.forbidden_found.len();
        }
    }
    c
}

const CSS: &str = r#"
:root { color-scheme: light; --ink: #1d1d1f; --muted: #5f6368; --line: #d9d9de; --term: #fff0a8; --bad: #b3261e; --badbg: #fde7e6; --flag: #fff8ec; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 76rem; padding: 1.5rem; color: var(--ink); background: #fff;
  font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", Arial, sans-serif; }
[lang="ar"] { font-family: "Noto Naskh Arabic", "Noto Sans Arabic", "Amiri", "Scheherazade New", "Geeza Pro", "Segoe UI", "Arial", "DejaVu Sans", sans-serif; }
td[lang="ar"], h1[lang="ar"] { font-size: 1.12em; line-height: 1.85; }
header { border-bottom: 2px solid var(--line); margin-bottom: 1rem; }
h1 { font-size: 1.6rem; margin: 0 0 .2rem; }
.subtitle { margin: 0 0 .8rem; font-size: 1.1rem; color: var(--muted); }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; font-size: .85rem; margin: .4rem 0 1rem; }
.meta dt { color: var(--muted); }
.meta dd { margin: 0; overflow-wrap: anywhere; }
h2 { font-size: .8rem; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: .8rem 0 0; }
table.bitext { width: 100%; border-collapse: collapse; table-layout: fixed; }
table.bitext th, table.bitext td { width: 50%; border-top: 1px solid var(--line); padding: .6rem .8rem; vertical-align: top; overflow-wrap: anywhere; }
table.bitext th { font-size: .8rem; font-weight: 600; color: var(--muted); text-align: start; }
tr.flagged td { background: var(--flag); }
.text.missing { color: var(--bad); font-style: italic; }
mark { color: inherit; border-radius: 2px; padding: 0 .08em; }
mark.term { background: var(--term); }
mark.term.missed { background: none; text-decoration: underline wavy var(--bad); text-underline-offset: .25em; }
mark.term.forbidden, mark.forbidden { background: var(--badbg); box-shadow: inset 0 -2px 0 var(--bad); }
.info { margin-top: .3rem; font-size: .75rem; color: var(--muted); }
.info a { color: inherit; }
.flags { color: var(--bad); }
ul.notes { margin: .3rem 0 0; padding-inline-start: 1.1rem; font-size: .85rem; }
li.warn, li.missed, li.forbidden { color: var(--bad); }
li.fuzzy, li.history { color: var(--muted); }
mark sup.tn { font-size: .62em; font-weight: 700; color: var(--muted); padding-inline-start: .1em; }
mark.term.missed sup.tn { color: var(--bad); }
.text.missing.quiet { color: var(--muted); font-style: normal; }
nav.review { margin: .4rem 0 1rem; font-size: .9rem; }
nav.review ol { margin: .2rem 0 0; padding-inline-start: 1.6rem; }
nav.review .why { color: var(--bad); }
nav.review .gist { color: var(--muted); }
p.notice { margin: .4rem 0 1rem; padding: .5rem .8rem; border-inline-start: 4px solid var(--bad); background: var(--flag); }
.ctl { font: .7rem/1 ui-monospace, monospace; color: #fff; background: var(--bad); border-radius: 2px; padding: 0 .2em; }
@page { margin: 1.5cm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  .meta { font-size: 8pt; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
  mark, tr.flagged td, .ctl { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"#;

/// The term colours and hover outlines; `row` is the element that holds
/// both sides of a segment (`tr` here, the review page's row otherwise).
pub(crate) fn term_css(row: &str) -> String {
    let mut css = String::new();
    for (i, colour) in TERM_COLOURS.iter().enumerate() {
        let _ = writeln!(css, "mark.term.c{} {{ background: {colour}; }}", i + 1);
    }
    // A missed or forbidden term keeps its warning look over its colour.
    css.push_str("mark.term.missed { background: none; }\nmark.term.forbidden { background: var(--badbg); }\n");
    for n in 1..=HOVER_RULES {
        let _ = writeln!(
            css,
            "{row}:has(mark.n{n}:hover) mark.n{n} {{ outline: 2px solid var(--ink); outline-offset: 1px; }}"
        );
    }
    css
}

/// The document as a self-contained HTML page.
pub fn render(doc: &Bitext) -> String {
    let m = &doc.meta;
    let title = m
        .title
        .clone()
        .or_else(|| doc.pairs.first().map(|p| p.source.clone()))
        .unwrap_or_else(|| "tarjama".into());
    let subtitle = doc.pairs.first().and_then(|p| p.target.clone());
    let mut out = String::with_capacity(4096 + doc.pairs.len() * 1024);
    out.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\" dir=\"ltr\">\n<head>\n<meta charset=\"utf-8\">\n",
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let version = m
        .tarjama_version
        .clone()
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").into());
    let _ = writeln!(
        out,
        "<meta name=\"generator\" content=\"tarjama {}\">",
        escape(&version)
    );
    let _ = writeln!(out, "<title>{}</title>", escape(&flat(&title)));
    let mut css = CSS.to_string();
    css.push_str(&term_css("tr"));
    let _ = writeln!(out, "<style>{css}</style>\n</head>\n<body>\n<header>");
    let _ = writeln!(
        out,
        "<h1 lang=\"ar\" dir=\"rtl\">{}</h1>",
        text_html(&flat(&title), true)
    );
    if let Some(s) = subtitle {
        let _ = writeln!(
            out,
            "<p class=\"subtitle\">{}</p>",
            text_html(&flat(&s), false)
        );
    }
    out.push_str("<h2>Document</h2>\n<dl class=\"meta doc\">\n");
    if let Some(v) = m.source_name.as_ref().or(m.source_path.as_ref()) {
        meta_row(&mut out, "Source", v);
    }
    if let Some(v) = &m.created {
        meta_row(&mut out, "Created", v);
    }
    let lang = format!(
        "{} → {}",
        m.source_lang.as_deref().unwrap_or("ar"),
        m.target_lang.as_deref().unwrap_or("en")
    );
    meta_row(&mut out, "Languages", &lang);
    if let Some(v) = &m.backend {
        meta_row(&mut out, "Backend", v);
    }
    if let Some(v) = &m.model {
        meta_row(&mut out, "Model", v);
    }
    if let Some(v) = &m.glossary_hash {
        let short: String = v.chars().take(16).collect();
        meta_row(&mut out, "Glossary hash", &short);
    }
    meta_row(&mut out, "tarjama", &version);
    out.push_str("</dl>\n<h2>Summary</h2>\n<dl class=\"meta summary\">\n");
    let c = counts(doc);
    meta_row(
        &mut out,
        "Segments",
        &format!(
            "{} ({} translated: {} machine, {} from memory, {} human; {} untranslated)",
            c.segments,
            c.translated,
            c.mt,
            c.memory,
            c.human,
            c.segments - c.translated
        ),
    );
    let common = common_reason(doc);
    let review: Vec<&AlignedPair> = doc
        .pairs
        .iter()
        .filter(|p| needs_review(p, common))
        .collect();
    meta_row(&mut out, "Need review", &review.len().to_string());
    let mut terms = format!(
        "{} honoured, {} missed, {} forbidden renderings",
        c.honoured, c.missed, c.forbidden
    );
    if c.unchecked > 0 {
        terms.push_str(&format!(", {} not checked (no English yet)", c.unchecked));
    }
    meta_row(&mut out, "Glossary terms", &terms);
    if let Some(s) = &m.summary {
        meta_row(
            &mut out,
            "Run",
            &format!(
                "{} sent ({} characters, {} requests, {} retries), {} from memory, {} failed, {:.1} s",
                s.sent,
                s.chars_sent,
                s.requests,
                s.retries,
                s.from_memory,
                s.failed,
                s.elapsed_ms as f64 / 1000.0
            ),
        );
    }
    out.push_str("</dl>\n");
    if let Some(w) = common {
        let n = doc.pairs.iter().filter(|p| p.target.is_none()).count();
        let _ = writeln!(
            out,
            "<p class=\"notice\">{n} of {} segments are not translated: {}. The Arabic is shown with its glossary hits.</p>",
            doc.pairs.len(),
            text_html(w.strip_prefix("not translated: ").unwrap_or(w), false)
        );
    }
    if !review.is_empty() {
        let _ = writeln!(
            out,
            "<nav class=\"review\" aria-label=\"Segments that need review\"><h2>Need review: {}</h2><ol>",
            review.len()
        );
        for p in &review {
            let id = escape(&p.id);
            let why: Vec<&str> = super::flags_of(p)
                .into_iter()
                .filter(|f| *f != "fuzzy")
                .collect();
            let gist: String = p.source.chars().take(60).collect();
            let _ = writeln!(
                out,
                "<li><a href=\"#seg-{id}\">{id}</a> <span class=\"why\">{}</span> <span class=\"gist\" lang=\"ar\" dir=\"rtl\">{}</span></li>",
                escape(&why.join(", ")),
                text_html(&flat(&gist), true)
            );
        }
        out.push_str("</ol></nav>\n");
    }
    out.push_str("</header>\n<main>\n<table class=\"bitext\">\n");
    out.push_str("<thead><tr><th lang=\"ar\" dir=\"rtl\">العربية</th><th lang=\"en\" dir=\"ltr\">English</th></tr></thead>\n<tbody>\n");
    for p in &doc.pairs {
        row(&mut out, p, common);
    }
    out.push_str("</tbody>\n</table>\n</main>\n</body>\n</html>\n");
    out
}

fn flat(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{InlineFormat, Suggestion};

    fn pair(source: &str, target: Option<&str>) -> AlignedPair {
        AlignedPair {
            id: "p1s1".into(),
            para: 1,
            source: source.into(),
            target: target.map(Into::into),
            origin: Origin::Mt,
            terms: vec![],
            warnings: vec![],
            suggestions: vec![],
            start: 100,
            end: 100 + source.chars().count(),
            formats: Vec::new(),
            marked: None,
            history: Vec::new(),
        }
    }

    fn term(
        source: &str,
        target: &str,
        start: usize,
        end: usize,
        surface: &str,
        honoured: Option<bool>,
    ) -> CheckedTerm {
        CheckedTerm {
            source: source.into(),
            target: target.into(),
            start,
            end,
            surface: surface.into(),
            honoured,
            forbidden_found: vec![],
            ambiguous: false,
        }
    }

    fn doc(p: AlignedPair) -> Bitext {
        Bitext {
            meta: Default::default(),
            pairs: vec![p],
        }
    }

    #[test]
    fn an_accepted_form_is_marked_and_the_entry_shown_as_a_reader_reads_it() {
        let mut p = pair("قالت الأمم المتحدة", Some("The United Nations said"));
        p.terms = vec![term(
            "الأمم المتحدة",
            "UN|United Nations|U.N.",
            105,
            118,
            "الأمم المتحدة",
            Some(true),
        )];
        let english = target_cell(&p, p.target.as_deref().unwrap());
        assert!(
            english.contains("United Nations<sup class=\"tn\">1</sup></mark>"),
            "the accepted form is marked with the term's number: {english}"
        );
        let arabic = source_cell(&p);
        assert!(arabic.contains("UN (or United Nations, U.N.)"), "{arabic}");
        assert!(!arabic.contains("UN|United"), "{arabic}");
        p.terms[0].honoured = Some(false);
        p.target = Some("They said".into());
        let notes = notes_html(&p, None);
        assert!(notes.contains("→ UN (or United Nations, U.N.)"), "{notes}");
    }

    #[test]
    fn hostile_text_is_escaped() {
        let p = pair(
            "<script>alert(1)</script> \"x\" & 'y'",
            Some("<img src=x onerror=alert(1)> & \"q\""),
        );
        let html = render(&doc(p));
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt; &amp; &quot;q&quot;"));
        assert!(!html.contains("<script"), "no script element at all");
    }

    #[test]
    fn bidi_controls_are_shown_not_obeyed() {
        let p = pair("نص", Some("abc\u{202E}evil\u{2066}x"));
        let html = render(&doc(p));
        assert!(!html.contains('\u{202E}') && !html.contains('\u{2066}'));
        assert!(
            html.contains(">U+202E</span>") && html.contains(">U+2066</span>"),
            "{html}"
        );
    }

    #[test]
    fn cells_have_language_and_direction() {
        let html = render(&doc(pair("روسيا", Some("Russia"))));
        assert!(html.contains("<td class=\"ar\" lang=\"ar\" dir=\"rtl\">"));
        assert!(html.contains("<td class=\"en\" lang=\"en\" dir=\"ltr\">"));
        assert!(!html.contains("http"), "no external resources");
    }

    #[test]
    fn mixed_runs_are_isolated() {
        assert_eq!(
            text_html("قال ISIS-K اليوم", true),
            "قال <bdi dir=\"ltr\">ISIS-K</bdi> اليوم"
        );
        assert_eq!(
            text_html("said بيسكوف today", false),
            "said <bdi lang=\"ar\" dir=\"rtl\">بيسكوف</bdi> today"
        );
        assert_eq!(text_html("no foreign 123", false), "no foreign 123");
    }

    #[test]
    fn terms_are_highlighted_on_both_sides() {
        // "وطالبان" at segment offset 6..13 of "روسيا وطالبان", surface "طالبان" at 7..13.
        let mut p = pair("روسيا وطالبان", Some("Russia and the Taliban's envoy"));
        p.terms = vec![
            term("روسيا", "Russia", 100, 105, "روسيا", Some(true)),
            term("طالبان", "Taliban", 107, 113, "طالبان", Some(true)),
        ];
        let html = render(&doc(p));
        // Each term has its number and colour, the same on both sides.
        assert!(html.contains("<mark class=\"term c1 n1\" data-term=\"1\" title=\"روسيا → Russia (glossary; honoured in the English)\">روسيا<sup class=\"tn\">1</sup></mark>"), "{html}");
        assert!(html.contains("و<mark class=\"term c2 n2\" data-term=\"2\" title=\"طالبان → Taliban (glossary; honoured in the English)\">طالبان<sup class=\"tn\">2</sup></mark>"), "{html}");
        assert!(html.contains("<mark class=\"term c1 n1\" data-term=\"1\" title=\"Russia ← روسيا (glossary)\">Russia<sup class=\"tn\">1</sup></mark> and the <mark class=\"term c2 n2\" data-term=\"2\" title=\"Taliban ← طالبان (glossary)\">Taliban<sup class=\"tn\">2</sup></mark>&#39;s"), "{html}");
        assert!(
            html.contains("tr:has(mark.n2:hover) mark.n2"),
            "hovering one side outlines the other"
        );
    }

    #[test]
    fn wrong_offsets_fall_back_to_the_surface() {
        let mut p = pair("روسيا وطالبان", Some("x"));
        p.terms = vec![term("طالبان", "Taliban", 0, 3, "طالبان", Some(false))];
        let html = render(&doc(p));
        assert!(
            html.contains("و<mark class=\"term missed c1 n1\""),
            "{html}"
        );
        assert!(html.contains("Pinned term missing"), "{html}");
    }

    #[test]
    fn a_missed_term_is_one_note_and_flagged_rows_are_listed_with_links() {
        let mut p = pair("روسيا وطالبان", Some("Russia and the Taleban"));
        p.terms = vec![
            term("طالبان", "Taliban", 107, 113, "طالبان", Some(false)),
            term("طالبان", "Taliban", 107, 113, "طالبان", Some(false)),
        ];
        p.warnings = vec!["pinned term missing after re-request: طالبان → Taliban".into()];
        let mut ok = pair("نص", Some("text"));
        ok.id = "p2s1".into();
        let mut d = doc(p);
        d.pairs.push(ok);
        let html = render(&d);
        let row = &html[html.find("<tr id=\"seg-p1s1\"").unwrap()..];
        let row = &row[..row.find("</tr>").unwrap()];
        assert_eq!(row.matches("<li").count(), 1, "one note: {row}");
        assert!(row.contains("Pinned term missing"), "{row}");
        let nav = &html[html.find("<nav class=\"review\"").expect("a review list")..];
        let nav = &nav[..nav.find("</nav>").unwrap()];
        assert!(nav.contains("Need review: 1"), "{nav}");
        assert!(
            nav.contains("<a href=\"#seg-p1s1\">p1s1</a>") && nav.contains("term-missed"),
            "{nav}"
        );
        assert!(!nav.contains("p2s1"), "{nav}");
    }

    #[test]
    fn an_offline_page_shows_the_arabic_with_one_notice() {
        let w = "not translated: offline run (no backend configured)";
        let mut d = doc(pair("روسيا", None));
        d.pairs[0].warnings = vec![w.into()];
        for i in 2..=19 {
            let mut p = pair("طالبان", None);
            p.id = format!("p{i}s1");
            p.warnings = vec![w.into()];
            d.pairs.push(p);
        }
        let html = render(&d);
        assert_eq!(html.matches("not translated").count(), 1, "{html}");
        assert!(
            html.contains("19 of 19 segments are not translated"),
            "{html}"
        );
        assert_eq!(html.matches("Not translated").count(), 0);
        assert!(
            !html.contains("class=\"flags\""),
            "no row repeats the notice as flags: {html}"
        );
        assert!(html.contains(">روسيا</td>") && html.matches(">طالبان</td>").count() == 18);
        assert!(
            !html.contains("<nav class=\"review\""),
            "nothing else to review"
        );
    }

    #[test]
    fn english_match_respects_word_boundaries() {
        let hay: Vec<char> = "Iranian IRAN iran's irans".chars().collect();
        let needle: Vec<char> = "Iran".chars().collect();
        assert_eq!(
            find_all(&hay, &needle, true),
            vec![(8, 12), (13, 17), (20, 24)]
        );
    }

    #[test]
    fn warnings_failures_and_suggestions_show_in_the_row() {
        let mut p = pair("شارك", None);
        p.origin = Origin::None;
        p.warnings = vec!["backend failed: HTTP 503".into()];
        p.suggestions = vec![Suggestion {
            score: 88,
            source: "شاركوا".into(),
            target: "Share it".into(),
            origin: Origin::Human,
        }];
        let mut t = term("موسكو", "Moscow", 0, 0, "", Some(false));
        t.forbidden_found = vec!["Moskva".into()];
        p.terms = vec![t];
        let html = render(&doc(p));
        assert!(
            html.contains("class=\"seg origin-none flagged untranslated\""),
            "{html}"
        );
        assert!(html.contains("Not translated"));
        assert!(html.contains("⚠ backend failed: HTTP 503"));
        assert!(html.contains("Memory 88% (human)"));
        assert!(html.contains("Forbidden rendering “Moskva”"));
    }

    #[test]
    fn header_shows_metadata_and_summary() {
        let mut d = doc(pair("عنوان", Some("Title")));
        d.meta.backend = Some("deepl <b>".into());
        d.meta.summary = Some(crate::model::RunSummary {
            sent: 1,
            chars_sent: 5,
            ..Default::default()
        });
        let html = render(&d);
        assert!(
            html.contains("<dt>Backend</dt><dd>deepl &lt;b&gt;</dd>"),
            "{html}"
        );
        assert!(html.contains("1 sent (5 characters"), "{html}");
        assert!(html.contains("<h1 lang=\"ar\" dir=\"rtl\">عنوان</h1>"));
        assert!(html.contains("@media print"));
        assert!(!html.contains("not checked (no English yet)"));
        let mut p = pair("روسيا", None);
        p.terms = vec![term("روسيا", "Russia", 100, 105, "روسيا", None)];
        let html = render(&doc(p));
        assert!(
            html.contains(
                "0 honoured, 0 missed, 0 forbidden renderings, 1 not checked (no English yet)"
            ),
            "{html}"
        );
    }
    #[test]
    fn inline_formatting_shows_as_tags_escaped_and_inside_term_marks() {
        let mut p = pair(
            "قال الرئيس إن 5 < 6",
            Some("The President said 5 < 6 & \"so\""),
        );
        p.terms = vec![term("الرئيس", "President", 104, 110, "الرئيس", Some(true))];
        p.formats = vec![
            InlineFormat {
                bold: true,
                ..InlineFormat::default()
            },
            InlineFormat {
                link: Some("https://x.test/?a=1&b=\"2\"".into()),
                ..InlineFormat::default()
            },
        ];
        p.marked = Some("The ⟦1⟧President said⟦/1⟧ ⟦2⟧5 < 6⟦/2⟧ & \"so\"".into());
        let cell = target_cell(&p, p.target.as_deref().unwrap());
        // the term mark is whole, the bold inside it and after it
        assert!(
            cell.contains("<b>President</b><sup class=\"tn\">1</sup></mark><b> said</b>"),
            "{cell}"
        );
        assert!(
            cell.contains(
                "<a href=\"https://x.test/?a=1&amp;b=&quot;2&quot;\">5 &lt; 6</a> &amp; &quot;so&quot;"
            ),
            "{cell}"
        );
        assert!(!cell.contains('⟦'));
        // a reviewer's English (the marked English no longer its own) is
        // shown without the machine's formatting
        p.target = Some("The president said five is less than six".into());
        let cell = target_cell(&p, p.target.as_deref().unwrap());
        assert!(!cell.contains("<b>") && !cell.contains("<a "), "{cell}");
    }
}
