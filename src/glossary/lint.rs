/*!
`glossary check`: find what is wrong in glossary files before it silently
changes a translation.

A wrong or dead glossary entry is worse than none: MT systems copy whatever
dictionary they are given. Every finding names the file and line. Kinds:
wrong column count, empty cells, leading/trailing spaces, control or
invisible characters, duplicates after normalisation, conflicting targets,
variants equal to another entry, and entries that can never match (empty
once normalised, or every spelling always won by another entry).
*/

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Entry, Glossary, GlossaryError, Location, TsvFile, read_tsv};
use crate::normalize::key;

/// The kinds of defect, as printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DefectKind {
    NoHeader,
    ColumnCount,
    EmptyCell,
    Spaces,
    ControlChar,
    Duplicate,
    Conflict,
    VariantIsEntry,
    NeverMatches,
    BadCell,
    Quotes,
    CliticDuplicate,
    UnknownKind,
    UselessNotIn,
}

impl DefectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DefectKind::NoHeader => "no-header",
            DefectKind::ColumnCount => "column-count",
            DefectKind::EmptyCell => "empty-cell",
            DefectKind::Spaces => "spaces",
            DefectKind::ControlChar => "control-character",
            DefectKind::Duplicate => "duplicate",
            DefectKind::Conflict => "conflict",
            DefectKind::VariantIsEntry => "variant-is-entry",
            DefectKind::NeverMatches => "never-matches",
            DefectKind::BadCell => "bad-cell",
            DefectKind::Quotes => "quotes",
            DefectKind::CliticDuplicate => "clitic-duplicate",
            DefectKind::UnknownKind => "unknown-kind",
            DefectKind::UselessNotIn => "useless-not-in",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Defect {
    pub path: PathBuf,
    pub line: usize,
    pub kind: DefectKind,
    pub message: String,
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.path.display(),
            self.line,
            self.kind.as_str(),
            self.message
        )
    }
}

fn is_bad_char(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{061C}')
}

/// Check the glossary files, layered in this order.
pub fn lint(paths: &[PathBuf]) -> Result<Vec<Defect>, GlossaryError> {
    let files = paths
        .iter()
        .map(|p| read_tsv(p))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(lint_files(&files))
}

/// Check parsed glossaries, layered in this order (files, or the layers of
/// the shared glossary as `glossary export` writes them).
pub fn lint_files(files: &[TsvFile]) -> Vec<Defect> {
    let mut out = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    for file in files {
        let path = &file.path;
        let Some(h) = &file.header else {
            out.push(defect(
                path,
                1,
                DefectKind::NoHeader,
                "no header line".into(),
            ));
            continue;
        };
        for column in ["source", "target"] {
            if h.index(column).is_none() {
                out.push(defect(
                    path,
                    h.line,
                    DefectKind::NoHeader,
                    format!("the header has no `{column}` column"),
                ));
            }
        }
        if h.index("source").is_none() || h.index("target").is_none() {
            continue;
        }
        for row in &file.rows {
            let d = |kind, message| defect(path, row.line, kind, message);
            if let Some(e) = &row.error {
                out.push(d(DefectKind::BadCell, e.clone()));
                continue;
            }
            if let Some(i) = h.index("ambiguous")
                && let Err(m) = super::parse_flag(row.cells.get(i).map_or("", |s| s.as_str()))
            {
                out.push(d(DefectKind::BadCell, m));
            }
            if row.cells.len() != h.names.len() {
                out.push(d(
                    DefectKind::ColumnCount,
                    format!(
                        "{} cells, the header has {} columns",
                        row.cells.len(),
                        h.names.len()
                    ),
                ));
            }
            for (i, cell) in row.cells.iter().enumerate() {
                let col = h.names.get(i).map_or("(extra)", String::as_str);
                let quoted = |x: &str| {
                    let q = |c: char| QUOTES.contains(&c);
                    x.trim().starts_with(q) || x.trim().ends_with(q)
                };
                if col != "note" && cell.split('|').any(quoted) {
                    out.push(d(
                        DefectKind::Quotes,
                        format!(
                            "quote marks left in `{col}`: {cell} (a spreadsheet's quoting? write the cell without them)"
                        ),
                    ));
                }
                if cell.trim() != cell {
                    out.push(d(
                        DefectKind::Spaces,
                        format!("leading or trailing space in `{col}`: {:?}", cell),
                    ));
                }
                if let Some(c) = cell.chars().find(|c| is_bad_char(*c)) {
                    out.push(d(
                        DefectKind::ControlChar,
                        format!(
                            "control or invisible character U+{:04X} in `{col}`",
                            c as u32
                        ),
                    ));
                }
                if matches!(col, "variants" | "forbidden")
                    && !cell.trim().is_empty()
                    && cell.split('|').any(|x| x.trim().is_empty())
                {
                    out.push(d(
                        DefectKind::EmptyCell,
                        format!("empty item in the `{col}` list: {cell:?}"),
                    ));
                }
            }
            for col in ["source", "target"] {
                let cell = h.index(col).and_then(|i| row.cells.get(i));
                if cell.is_none_or(|c| c.trim().is_empty()) {
                    out.push(d(
                        DefectKind::EmptyCell,
                        format!("the `{col}` cell is empty"),
                    ));
                }
            }
            if let Ok(e) = file.entry(h, row) {
                if let Some(k) = &e.kind
                    && !super::is_known_kind(k)
                {
                    let mut known: Vec<&str> = super::NAME_KINDS
                        .iter()
                        .chain(super::TERM_KINDS.iter())
                        .copied()
                        .collect();
                    known.sort();
                    out.push(d(
                        DefectKind::UnknownKind,
                        format!("unknown kind `{k}` (known: {})", known.join(", ")),
                    ));
                }
                for phrase in &e.not_in {
                    let p = key(phrase);
                    let inside = e.forms().any(|f| {
                        let k = key(f);
                        let stem = k.strip_prefix("ال").unwrap_or(&k);
                        !stem.is_empty() && p.contains(stem)
                    });
                    if !inside {
                        out.push(d(
                            DefectKind::UselessNotIn,
                            format!(
                                "the not_in phrase `{phrase}` does not contain `{}`, so it never blocks it",
                                e.source
                            ),
                        ));
                    }
                }
                if key(&e.source).is_empty() {
                    out.push(d(
                        DefectKind::NeverMatches,
                        format!("the source `{}` is empty once normalised", e.source),
                    ));
                } else {
                    entries.push(e);
                }
            }
        }
    }
    out.extend(cross_checks(&entries));
    out.sort_by(|a, b| (&a.path, a.line, a.kind).cmp(&(&b.path, b.line, b.kind)));
    out.dedup();
    out
}

fn defect(path: &Path, line: usize, kind: DefectKind, message: String) -> Defect {
    Defect {
        path: path.to_path_buf(),
        line,
        kind,
        message,
    }
}

fn loc(e: &Entry) -> Location {
    e.location.clone().unwrap_or(Location {
        path: PathBuf::new(),
        line: 0,
    })
}

/// Quote marks a spreadsheet may leave at the edge of a cell.
const QUOTES: [char; 9] = ['"', '“', '”', '«', '»', '\'', '‘', '’', '„'];

/// `form` as a proclitic chain (no article) + another spelling of the
/// glossary: (chain, the spelling's normalised key).
fn clitic_split(form: &str, keys: &HashMap<String, usize>) -> Option<(String, String)> {
    let k = key(form);
    let chars: Vec<char> = k.chars().collect();
    for n in 1..chars.len().min(3) {
        if super::matcher::proclitic_chain(&chars[..n]) != Some(0) {
            continue;
        }
        let rest: String = chars[n..].iter().collect();
        if keys.contains_key(&rest) {
            return Some((chars[..n].iter().collect(), rest));
        }
    }
    None
}

/// Duplicates, conflicts, variants equal to other entries, dead entries.
fn cross_checks(entries: &[Entry]) -> Vec<Defect> {
    let mut out = Vec::new();
    // spellings that are another spelling with a clitic (وباميان)
    let mut keys: HashMap<String, usize> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        for f in e.forms() {
            keys.entry(key(f)).or_insert(i);
        }
    }
    for e in entries {
        for f in e.forms() {
            if let Some((chain, rest)) = clitic_split(f, &keys) {
                let other = &entries[keys[&rest]];
                let l = loc(e);
                out.push(defect(
                    &l.path,
                    l.line,
                    DefectKind::CliticDuplicate,
                    format!(
                        "`{f}` is `{rest}` ({} → {}, {}) with the clitic `{chain}`; the matcher finds it already, remove it",
                        other.source,
                        other.target,
                        other.where_()
                    ),
                ));
            }
        }
    }
    let at = |e: &Entry, kind, message| {
        let l = loc(e);
        defect(&l.path, l.line, kind, message)
    };
    // duplicates and conflicts on the source
    let mut first: HashMap<String, usize> = HashMap::new();
    let mut active: Vec<usize> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let k = key(&e.source);
        match first.get(&k) {
            Some(&j) => {
                let o = &entries[j];
                let (kind, message) = if o.target == e.target {
                    (
                        DefectKind::Duplicate,
                        format!("`{}` duplicates {} (`{}`)", e.source, o.where_(), o.source),
                    )
                } else {
                    (
                        DefectKind::Conflict,
                        format!(
                            "`{}` → {} conflicts with {}: `{}` → {}",
                            e.source,
                            e.target,
                            o.where_(),
                            o.source,
                            o.target
                        ),
                    )
                };
                out.push(at(e, kind, message));
                let pos = active.iter().position(|&a| a == j).expect("active");
                active[pos] = i;
                first.insert(k, i);
            }
            None => {
                first.insert(k, i);
                active.push(i);
            }
        }
    }
    // variants equal to another entry's source or variant
    let mut form_of: HashMap<String, usize> = HashMap::new();
    for &i in &active {
        form_of.entry(key(&entries[i].source)).or_insert(i);
    }
    for &i in &active {
        let e = &entries[i];
        for v in &e.variants {
            let k = key(v);
            if k.is_empty() {
                continue;
            }
            if k == key(&e.source) {
                out.push(at(
                    e,
                    DefectKind::VariantIsEntry,
                    format!("variant `{v}` is the source itself once normalised"),
                ));
                continue;
            }
            match form_of.get(&k) {
                Some(&j) if j != i => {
                    let o = &entries[j];
                    out.push(at(
                        e,
                        DefectKind::VariantIsEntry,
                        format!(
                            "variant `{v}` is also a spelling of {} (`{}` → {})",
                            o.where_(),
                            o.source,
                            o.target
                        ),
                    ));
                }
                Some(_) => {}
                None => {
                    form_of.insert(k, i);
                }
            }
        }
    }
    // entries that never match on their own spellings
    let ents: Vec<Entry> = active.iter().map(|&i| entries[i].clone()).collect();
    let g = Glossary::new(ents.clone());
    let m = g.matcher();
    for (i, e) in ents.iter().enumerate() {
        let mut winners = Vec::new();
        let mut matched = false;
        for f in e.forms() {
            let hits = m.find_raw(f);
            if hits.iter().any(|h| h.entry == i) {
                matched = true;
                break;
            }
            winners.extend(hits.into_iter().map(|h| h.entry));
        }
        if !matched {
            winners.sort();
            winners.dedup();
            let by: Vec<String> = winners
                .iter()
                .map(|&w| format!("{} (`{}`)", ents[w].where_(), ents[w].source))
                .collect();
            let why = if by.is_empty() {
                "no spelling of it can match as a word".to_string()
            } else {
                format!("another entry always wins: {}", by.join(", "))
            };
            out.push(at(
                e,
                DefectKind::NeverMatches,
                format!("`{}` never matches: {why}", e.source),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_defect_kind_with_its_line() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("bad.tsv");
        let text = [
            "source\ttarget\tvariants\tkind",         // 1
            "روسيا\tRussia\t\tplace",                 // 2
            "روسيا\tRussia\t\tplace",                 // 3 duplicate
            "روسيّا\tthe Russian Federation\t\tplace", // 4 conflict
            "طالبان\tTaliban",                        // 5 column count
            "\tEmpty\t\t",                            // 6 empty source
            " موسكو\tMoscow \t\tplace",               // 7 spaces
            "كابول\tKa\u{7}bul\t\tplace",             // 8 control char
            "موسكفا\tMoskva\tروسيا\tplace",           // 9 variant equal to entry
            "ـــ\tTatweel\t\tterm",                   // 10 never matches
            "أوكرانيا\tUkraine\tاوكرانيا||\tplace",   // 11 empty list item, variant = source
        ]
        .join("\n");
        std::fs::write(&p, text).unwrap();
        let found = lint(&[p]).unwrap();
        let has = |line, kind| found.iter().any(|d| d.line == line && d.kind == kind);
        assert!(has(3, DefectKind::Duplicate), "{found:#?}");
        assert!(has(4, DefectKind::Conflict), "{found:#?}");
        assert!(has(5, DefectKind::ColumnCount), "{found:#?}");
        assert!(has(6, DefectKind::EmptyCell), "{found:#?}");
        assert!(has(7, DefectKind::Spaces), "{found:#?}");
        assert!(has(8, DefectKind::ControlChar), "{found:#?}");
        assert!(has(9, DefectKind::VariantIsEntry), "{found:#?}");
        assert!(has(10, DefectKind::NeverMatches), "{found:#?}");
        assert!(has(11, DefectKind::EmptyCell), "{found:#?}");
        assert!(has(11, DefectKind::VariantIsEntry), "{found:#?}");
        assert!(!found.iter().any(|d| d.line == 2), "{found:#?}");
    }

    #[test]
    fn shadowed_entry_never_matches() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("g.tsv");
        // line 3's variant claims line 2's only spelling and comes later
        std::fs::write(
            &p,
            "source\ttarget\tvariants\tkind\nبطرسبرغ\tPetersburg\t\tplace\nسان بطرسبورغ\tSt Petersburg\tبطرسبرغ\tplace\n",
        )
        .unwrap();
        let found = lint(&[p]).unwrap();
        let never: Vec<_> = found
            .iter()
            .filter(|d| d.kind == DefectKind::NeverMatches)
            .collect();
        assert_eq!(never.len(), 1, "{found:#?}");
        assert_eq!(never[0].line, 2);
        assert!(never[0].message.contains("g.tsv:3"), "{}", never[0].message);
    }

    #[test]
    fn a_clean_file_has_no_findings() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ok.tsv");
        std::fs::write(
            &p,
            "# c\nsource\ttarget\tvariants\tkind\nداعش\tIslamic State\t\torg\nداعش خراسان\tIslamic State Khorasan\t\torg\n",
        )
        .unwrap();
        assert_eq!(lint(&[p]).unwrap(), vec![]);
    }
}
