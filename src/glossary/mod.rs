/*!
Glossaries: the names and terms whose English must come out the same in
every sentence of every article.

A glossary is a UTF-8 TSV file with a header line (`source`, `target`, and
optionally `variants`, `kind`, `forbidden`, `note`, `not_in`, `ambiguous`);
`#` lines are comments. `not_in` lists phrases inside which the entry does
not apply (مسقط رأس for مسقط); an `ambiguous` entry (`yes`) is a hint to the
reviewer and the engine, never required wording.
Several files are layered: an entry in a later file overrides an entry with
the same (normalised) source in an earlier one, with a warning naming both
lines, so a project glossary can sit on top of a shared one.

This module reads and layers the files; [`matcher`] finds entries in
segments, [`check`] verifies the English afterwards, [`lint`], [`edit`],
[`format`](mod@format) and [`suggest`] maintain the files. [`shared`] keeps
the same entries, in named layers, in a desk's PostgreSQL database.
*/

pub mod check;
pub mod edit;
pub mod format;
pub mod lint;
pub mod matcher;
pub mod shared;
pub mod suggest;

#[cfg(test)]
mod collisions;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use matcher::Matcher;

use crate::config::Config;
use crate::normalize::key;

/// The columns tarjama writes by default, in this order.
pub const COLUMNS: [&str; 6] = ["source", "target", "variants", "kind", "forbidden", "note"];

/// Columns written only when an entry uses them.
pub const CONTEXT_COLUMNS: [&str; 2] = ["not_in", "ambiguous"];

/// Every column tarjama reads.
pub fn known_columns() -> impl Iterator<Item = &'static str> {
    COLUMNS.into_iter().chain(CONTEXT_COLUMNS)
}

/// Kinds `check` and `list --kind` know: the names, and the kinds of
/// entries that take suffixes.
pub const TERM_KINDS: [&str; 3] = ["term", "title", "phrase"];

/// Whether `kind` is one tarjama knows.
pub fn is_known_kind(kind: &str) -> bool {
    let k = kind.to_lowercase();
    NAME_KINDS.contains(&k.as_str()) || TERM_KINDS.contains(&k.as_str())
}

/// Read an `ambiguous` cell: empty/no/false/0 or yes/true/1/x.
pub fn parse_flag(cell: &str) -> Result<bool, String> {
    match cell.trim().to_lowercase().as_str() {
        "" | "no" | "n" | "false" | "0" => Ok(false),
        "yes" | "y" | "true" | "1" | "x" => Ok(true),
        other => Err(format!(
            "the ambiguous cell `{other}` is not yes or no (leave it empty for no)"
        )),
    }
}

/// Kinds whose entries are names: they take proclitics (وطالبان) but no
/// suffixes, so that a name never swallows the start of another word.
pub const NAME_KINDS: [&str; 10] = [
    "person",
    "org",
    "organisation",
    "organization",
    "place",
    "country",
    "capital",
    "city",
    "name",
    "event",
];

/// Where an entry was read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Location {
    pub path: PathBuf,
    /// 1-based line number.
    pub line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.path.display(), self.line)
    }
}

/// One glossary entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The canonical Arabic form.
    pub source: String,
    /// The pinned English rendering.
    pub target: String,
    /// Further Arabic spellings.
    pub variants: Vec<String>,
    /// person, org, place, term, ...
    pub kind: Option<String>,
    /// English renderings that must not appear.
    pub forbidden: Vec<String>,
    pub note: Option<String>,
    /// Phrases inside which the entry does not apply (مسقط رأس for مسقط).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_in: Vec<String>,
    /// Its hits are hints, never required wording.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ambiguous: bool,
    /// The file and line it came from (None when built in memory).
    #[serde(skip)]
    pub location: Option<Location>,
}

impl Entry {
    pub fn new(source: &str, target: &str) -> Entry {
        Entry {
            source: source.to_string(),
            target: target.to_string(),
            variants: Vec::new(),
            kind: None,
            forbidden: Vec::new(),
            note: None,
            not_in: Vec::new(),
            ambiguous: false,
            location: None,
        }
    }

    /// Whether the entry is a name (see [`NAME_KINDS`]).
    pub fn is_name(&self) -> bool {
        self.kind
            .as_deref()
            .is_some_and(|k| NAME_KINDS.contains(&k.to_lowercase().as_str()))
    }

    /// The source followed by the variants.
    pub fn forms(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.source.as_str()).chain(self.variants.iter().map(String::as_str))
    }

    /// Where it came from, for messages.
    pub fn where_(&self) -> String {
        self.location
            .as_ref()
            .map_or_else(|| "(built-in)".to_string(), Location::to_string)
    }
}

/// Why a glossary could not be used.
#[derive(Debug, thiserror::Error)]
pub enum GlossaryError {
    #[error(transparent)]
    Input(#[from] crate::input::InputError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}: no header line; the first line that is not a comment must name the columns, e.g. `source<TAB>target<TAB>variants<TAB>kind`"
    )]
    NoHeader { path: PathBuf },
    #[error(
        "{path}:{line}: the header has no `{column}` column (columns: source, target, variants, kind, forbidden, note)"
    )]
    MissingColumn {
        path: PathBuf,
        line: usize,
        column: &'static str,
    },
    #[error(
        "{path}:{line}: {message} (run `tarjama glossary check` for every problem in the file)"
    )]
    Row {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Format { path: String, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Refused(String),
}

/// The header of a TSV glossary: column name → index.
#[derive(Debug, Clone)]
pub struct Header {
    pub line: usize,
    pub names: Vec<String>,
}

impl Header {
    /// The index of a known column.
    pub fn index(&self, column: &str) -> Option<usize> {
        self.names.iter().position(|n| n == column)
    }
}

/// A data line of a TSV glossary, split on tabs (a cell in RFC 4180
/// double quotes, as spreadsheets write it, unquoted) but otherwise
/// untouched.
#[derive(Debug, Clone)]
pub struct RawRow {
    pub line: usize,
    pub cells: Vec<String>,
    /// Why the line could not be split (an unclosed quote, ...).
    pub error: Option<String>,
}

/// Header names spreadsheets and other tools use, and the column each means.
pub const COLUMN_ALIASES: [(&str, &str); 24] = [
    ("ar", "source"),
    ("arabic", "source"),
    ("src", "source"),
    ("source_term", "source"),
    ("en", "target"),
    ("english", "target"),
    ("tgt", "target"),
    ("translation", "target"),
    ("target_term", "target"),
    ("variant", "variants"),
    ("spellings", "variants"),
    ("type", "kind"),
    ("category", "kind"),
    ("avoid", "forbidden"),
    ("do_not_use", "forbidden"),
    ("notes", "note"),
    ("comment", "note"),
    ("comments", "note"),
    ("description", "note"),
    ("not in", "not_in"),
    ("not-in", "not_in"),
    ("except_in", "not_in"),
    ("hint", "ambiguous"),
    ("ambiguous?", "ambiguous"),
];

/// The column a header name means (`ar`, `Arabic` → `source`, ...), or
/// None for a name tarjama does not know.
pub fn canonical_column(name: &str) -> Option<&'static str> {
    let n = name.trim().trim_start_matches('\u{FEFF}').to_lowercase();
    known_columns()
        .find(|c| *c == n)
        .or_else(|| COLUMN_ALIASES.iter().find(|a| a.0 == n).map(|a| a.1))
}

/// Split one line into cells on `sep`, the way spreadsheets write them
/// (RFC 4180): a cell that starts with `"` runs to the next lone `"`, and
/// `""` inside it is one quote. A `"` inside an unquoted cell is kept.
pub fn split_cells(line: &str, sep: char) -> Result<Vec<String>, String> {
    let mut cells = Vec::new();
    let mut rest = line;
    loop {
        if let Some(q) = rest.strip_prefix('"') {
            let mut cell = String::new();
            let mut chars = q.char_indices().peekable();
            let mut after = None;
            while let Some((i, c)) = chars.next() {
                if c == '"' {
                    if chars.peek().is_some_and(|x| x.1 == '"') {
                        chars.next();
                        cell.push('"');
                    } else {
                        after = Some(&q[i + 1..]);
                        break;
                    }
                } else {
                    cell.push(c);
                }
            }
            let Some(after) = after else {
                return Err(format!(
                    "a cell opens a quote `\"` that is never closed: {}",
                    line.chars().take(60).collect::<String>()
                ));
            };
            cells.push(cell);
            if after.is_empty() {
                return Ok(cells);
            }
            match after.strip_prefix(sep) {
                Some(r) => rest = r,
                None => {
                    return Err(format!(
                        "text after the closing quote of cell {}: `{}`",
                        cells.len(),
                        after.split(sep).next().unwrap_or("")
                    ));
                }
            }
        } else {
            match rest.split_once(sep) {
                Some((c, r)) => {
                    cells.push(c.to_string());
                    rest = r;
                }
                None => {
                    cells.push(rest.to_string());
                    return Ok(cells);
                }
            }
        }
    }
}

/// A TSV glossary parsed leniently: what `load`, `check` and `edit` share.
#[derive(Debug, Clone)]
pub struct TsvFile {
    pub path: PathBuf,
    pub header: Option<Header>,
    pub rows: Vec<RawRow>,
}

/// Split file text into lines (LF or CRLF), 1-based numbers.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
}

/// Whether a line is a comment or blank (skipped everywhere).
pub(crate) fn is_skipped(line: &str) -> bool {
    line.trim().is_empty() || line.trim_start().starts_with('#')
}

/// Parse TSV text without judging it.
pub fn parse_tsv(text: &str, path: &Path) -> TsvFile {
    let mut header = None;
    let mut rows = Vec::new();
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    for (n, line) in lines(text) {
        if is_skipped(line) {
            continue;
        }
        let (cells, error) = match split_cells(line, '\t') {
            Ok(c) => (c, None),
            Err(e) => (line.split('\t').map(str::to_string).collect(), Some(e)),
        };
        if header.is_none() {
            header = Some(Header {
                line: n,
                names: cells
                    .iter()
                    .map(|c| {
                        canonical_column(c).map_or_else(|| c.trim().to_lowercase(), str::to_string)
                    })
                    .collect(),
            });
        } else {
            rows.push(RawRow {
                line: n,
                cells,
                error,
            });
        }
    }
    TsvFile {
        path: path.to_path_buf(),
        header,
        rows,
    }
}

/// Split a `|`-separated cell, trimming items and dropping empty ones.
pub fn split_list(cell: &str) -> Vec<String> {
    cell.split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl TsvFile {
    /// Check the header has what is required.
    pub fn require_header(&self) -> Result<&Header, GlossaryError> {
        let h = self
            .header
            .as_ref()
            .ok_or_else(|| GlossaryError::NoHeader {
                path: self.path.clone(),
            })?;
        for column in ["source", "target"] {
            if h.index(column).is_none() {
                return Err(GlossaryError::MissingColumn {
                    path: self.path.clone(),
                    line: h.line,
                    column,
                });
            }
        }
        Ok(h)
    }

    /// The row as an entry (cells trimmed), or why it cannot be one.
    pub fn entry(&self, h: &Header, row: &RawRow) -> Result<Entry, String> {
        if let Some(e) = &row.error {
            return Err(e.clone());
        }
        if row.cells.len() > h.names.len() {
            return Err(format!(
                "{} cells but the header has {} columns (a tab inside a cell?)",
                row.cells.len(),
                h.names.len()
            ));
        }
        let cell = |name: &str| -> &str {
            h.index(name)
                .and_then(|i| row.cells.get(i))
                .map_or("", |s| s.trim())
        };
        let source = cell("source");
        let target = cell("target");
        if source.is_empty() {
            return Err("the source cell is empty".into());
        }
        if target.is_empty() {
            return Err("the target cell is empty".into());
        }
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let ambiguous = parse_flag(cell("ambiguous"))?;
        Ok(Entry {
            source: source.to_string(),
            target: target.to_string(),
            variants: split_list(cell("variants")),
            kind: opt(cell("kind")).map(|k| k.to_lowercase()),
            forbidden: split_list(cell("forbidden")),
            note: opt(cell("note")),
            not_in: split_list(cell("not_in")),
            ambiguous,
            location: Some(Location {
                path: self.path.clone(),
                line: row.line,
            }),
        })
    }
}

/// Read and parse one glossary file.
pub fn read_tsv(path: &Path) -> Result<TsvFile, GlossaryError> {
    let text = crate::input::read_path(path)?;
    Ok(parse_tsv(&text, path))
}

/// Layered glossary entries.
#[derive(Debug, Clone, Default)]
pub struct Glossary {
    entries: Vec<Entry>,
    /// Precedence of each entry (higher wins a form claimed twice).
    ranks: Vec<usize>,
}

impl Glossary {
    /// A glossary from entries in memory; later entries take precedence.
    pub fn new(entries: Vec<Entry>) -> Glossary {
        let ranks = (0..entries.len()).collect();
        Glossary { entries, ranks }
    }

    /// Read and layer `paths` in order. Returns the warnings: overridden
    /// entries and spellings claimed by two entries, naming both lines.
    pub fn load(paths: &[PathBuf]) -> Result<(Glossary, Vec<String>), GlossaryError> {
        let mut layers = Vec::with_capacity(paths.len());
        for path in paths {
            let file = read_tsv(path)?;
            let h = file.require_header()?;
            let mut entries = Vec::with_capacity(file.rows.len());
            for row in &file.rows {
                entries.push(file.entry(h, row).map_err(|message| GlossaryError::Row {
                    path: path.clone(),
                    line: row.line,
                    message,
                })?);
            }
            layers.push(entries);
        }
        Ok(Glossary::layered(layers))
    }

    /// Layer the entries of several glossaries (files, or the layers of a
    /// shared glossary) in order: an entry overrides an earlier one with
    /// the same normalised source. Returns the warnings: overridden entries
    /// and spellings claimed by two entries, naming both places.
    pub fn layered(layers: impl IntoIterator<Item = Vec<Entry>>) -> (Glossary, Vec<String>) {
        let mut warnings = Vec::new();
        let mut entries: Vec<Entry> = Vec::new();
        let mut ranks = Vec::new();
        let mut by_key: HashMap<String, usize> = HashMap::new();
        let mut rank = 0usize;
        for layer in layers {
            for e in layer {
                let k = key(&e.source);
                if k.is_empty() {
                    warnings.push(format!(
                        "{}: source `{}` is empty after normalisation; entry ignored",
                        e.where_(),
                        e.source
                    ));
                    continue;
                }
                rank += 1;
                if let Some(&i) = by_key.get(&k) {
                    let old = &entries[i];
                    warnings.push(format!(
                        "{} overrides {}: {} → {} (was {})",
                        e.where_(),
                        old.where_(),
                        e.source,
                        e.target,
                        old.target
                    ));
                    entries[i] = e;
                    ranks[i] = rank;
                } else {
                    by_key.insert(k, entries.len());
                    entries.push(e);
                    ranks.push(rank);
                }
            }
        }
        let g = Glossary { entries, ranks };
        let (_, collisions) = g.form_owners();
        warnings.extend(collisions);
        (g, warnings)
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entry indices in precedence order (lowest first).
    pub(crate) fn by_precedence(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.entries.len()).collect();
        order.sort_by_key(|&i| self.ranks[i]);
        order
    }

    /// Which entry owns each normalised form, and a warning for every form
    /// claimed by two entries (the one with higher precedence wins).
    pub(crate) fn form_owners(&self) -> (HashMap<String, usize>, Vec<String>) {
        let mut owners: HashMap<String, usize> = HashMap::new();
        let mut warnings = Vec::new();
        for i in self.by_precedence() {
            let e = &self.entries[i];
            let mut seen = Vec::new();
            for f in e.forms() {
                let k = key(f);
                if k.is_empty() || seen.contains(&k) {
                    continue;
                }
                seen.push(k.clone());
                if let Some(old) = owners.insert(k, i) {
                    let o = &self.entries[old];
                    warnings.push(format!(
                        "`{f}` is a spelling of both {} ({}) and {} ({}); {} wins",
                        o.where_(),
                        o.target,
                        e.where_(),
                        e.target,
                        e.where_()
                    ));
                }
            }
        }
        (owners, warnings)
    }

    /// A stable blake3 hash (hex) of the active entries: what a translation
    /// cache keys on so that editing the glossary invalidates old answers.
    /// Independent of file names, line numbers and notes.
    pub fn content_hash(&self) -> String {
        let mut h = blake3::Hasher::new();
        h.update(b"tarjama-glossary-v1\n");
        for i in self.by_precedence() {
            let e = &self.entries[i];
            for field in [
                e.source.as_str(),
                e.target.as_str(),
                &e.variants.join("|"),
                e.kind.as_deref().unwrap_or(""),
                &e.forbidden.join("|"),
            ] {
                h.update(field.as_bytes());
                h.update(b"\x1f");
            }
            // context fields only when used, so older glossaries keep their hash
            if !e.not_in.is_empty() || e.ambiguous {
                h.update(e.not_in.join("|").as_bytes());
                h.update(if e.ambiguous { b"\x1fA" } else { b"\x1fP" });
            }
            h.update(b"\x1e");
        }
        h.finalize().to_hex().to_string()
    }

    /// Compile the matcher for these entries.
    pub fn matcher(&self) -> Matcher {
        Matcher::new(self)
    }
}

/// Where the glossary paths of a run came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathsFrom {
    /// `--glossary` options.
    Flags,
    /// The `glossaries` list of this config file.
    Config(PathBuf),
    /// Every `*.tsv` in this directory.
    Directory(PathBuf),
}

impl fmt::Display for PathsFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathsFrom::Flags => f.write_str("--glossary"),
            PathsFrom::Config(p) => write!(f, "the `glossaries` list in {}", p.display()),
            PathsFrom::Directory(p) => write!(f, "the *.tsv files in {}", p.display()),
        }
    }
}

/// The glossaries to use: `explicit` if any, else the config file's
/// `glossaries` list, else every `*.tsv` in `dir` (normally
/// `./glossaries`) in name order.
pub fn resolve_paths(
    explicit: &[PathBuf],
    config: Option<&Config>,
    dir: &Path,
) -> Result<(Vec<PathBuf>, PathsFrom), GlossaryError> {
    if !explicit.is_empty() {
        return Ok((explicit.to_vec(), PathsFrom::Flags));
    }
    if let Some(c) = config.filter(|c| !c.glossaries.is_empty()) {
        let from = PathsFrom::Config(c.path.clone().unwrap_or_default());
        return Ok((c.glossaries.clone(), from));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "tsv"))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    if found.is_empty() {
        let cfg = match config.and_then(|c| c.path.as_ref()) {
            Some(p) => format!("the config file {} has no `glossaries` list", p.display()),
            None => "no config file was found".to_string(),
        };
        return Err(GlossaryError::NotFound(format!(
            "no glossary: no --glossary was given, {cfg}, and there is no *.tsv file in {}/; pass --glossary PATH",
            dir.display()
        )));
    }
    Ok((found, PathsFrom::Directory(dir.to_path_buf())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn layering_overrides_with_warning_naming_both_lines() {
        let d = tempfile::tempdir().unwrap();
        let a = write(
            d.path(),
            "a.tsv",
            "source\ttarget\n# c\nطالبان\tthe Taliban\nروسيا\tRussia\n",
        );
        let b = write(d.path(), "b.tsv", "target\tsource\nTaliban\tطالبان\n");
        let (g, w) = Glossary::load(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(g.entries()[0].target, "Taliban");
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains(&format!("{}:2", b.display())), "{w:?}");
        assert!(w[0].contains(&format!("{}:3", a.display())), "{w:?}");
        // the other order keeps "the Taliban"
        let (g2, _) = Glossary::load(&[b, a]).unwrap();
        assert_eq!(g2.entries()[0].target, "the Taliban");
    }

    #[test]
    fn later_layer_wins_a_shared_spelling() {
        let d = tempfile::tempdir().unwrap();
        let a = write(
            d.path(),
            "a.tsv",
            "source\ttarget\tvariants\nموسكو\tMoscow\t\n",
        );
        let b = write(
            d.path(),
            "b.tsv",
            "source\ttarget\tvariants\nمسكو\tMoskva\tموسكو\n",
        );
        let (g, w) = Glossary::load(&[a, b]).unwrap();
        assert_eq!(g.len(), 2);
        assert!(
            w.iter()
                .any(|w| w.contains("b.tsv:2") && w.contains("a.tsv:2")),
            "{w:?}"
        );
        let (owners, _) = g.form_owners();
        assert_eq!(g.entries()[owners["موسكو"]].target, "Moskva");
    }

    #[test]
    fn bad_rows_name_file_and_line() {
        let d = tempfile::tempdir().unwrap();
        let a = write(d.path(), "a.tsv", "source\ttarget\nروسيا\t\n");
        let e = Glossary::load(&[a]).unwrap_err().to_string();
        assert!(
            e.contains("a.tsv:2") && e.contains("target cell is empty"),
            "{e}"
        );
        let b = write(d.path(), "b.tsv", "# only\nsource\tmeaning\n");
        let e = Glossary::load(&[b]).unwrap_err().to_string();
        assert!(e.contains("b.tsv:2") && e.contains("`target`"), "{e}");
        let c = write(d.path(), "c.tsv", "source\ttarget\nا\tb\tc\n");
        let e = Glossary::load(&[c]).unwrap_err().to_string();
        assert!(e.contains("c.tsv:2") && e.contains("3 cells"), "{e}");
    }

    #[test]
    fn spreadsheet_tsv_bom_crlf_quotes_and_header_names() {
        let d = tempfile::tempdir().unwrap();
        let text = "\u{FEFF}Arabic\tEnglish\tComment\r\nواشنطن\t\"Washington, D.C.\"\t\"a \"\"quoted\"\" note\"\r\nقناة \"الجزيرة\"\tAl Jazeera\t\r\n";
        let a = write(d.path(), "a.tsv", text);
        let (g, _) = Glossary::load(&[a]).unwrap();
        let e = g.entries();
        assert_eq!(e[0].source, "واشنطن");
        assert_eq!(e[0].target, "Washington, D.C.");
        assert_eq!(e[0].note.as_deref(), Some("a \"quoted\" note"));
        // a quote inside an unquoted cell is text
        assert_eq!(e[1].source, "قناة \"الجزيرة\"");
        let b = write(d.path(), "b.tsv", "source\ttarget\nروسيا\t\"Russia\n");
        let err = Glossary::load(&[b]).unwrap_err().to_string();
        assert!(
            err.contains("b.tsv:2") && err.contains("never closed"),
            "{err}"
        );
        assert_eq!(
            split_cells("\"a\"\"b\"\t\tc", '\t').unwrap(),
            ["a\"b", "", "c"]
        );
        assert!(split_cells("\"a\"b\tc", '\t').is_err());
    }

    #[test]
    fn hash_is_stable_and_tracks_content() {
        let g1 = Glossary::new(vec![Entry::new("روسيا", "Russia")]);
        let g2 = Glossary::new(vec![Entry::new("روسيا", "Russia")]);
        let g3 = Glossary::new(vec![Entry::new("روسيا", "the Russian Federation")]);
        assert_eq!(g1.content_hash(), g2.content_hash());
        assert_ne!(g1.content_hash(), g3.content_hash());
        assert_eq!(g1.content_hash().len(), 64);
    }

    #[test]
    fn resolve_paths_order_and_error() {
        let d = tempfile::tempdir().unwrap();
        let e = resolve_paths(&[], None, d.path()).unwrap_err().to_string();
        assert!(
            e.contains("no --glossary") && e.contains("no config file"),
            "{e}"
        );
        write(d.path(), "b.tsv", "");
        write(d.path(), "a.tsv", "");
        write(d.path(), "c.txt", "");
        let (p, from) = resolve_paths(&[], None, d.path()).unwrap();
        assert_eq!(p, vec![d.path().join("a.tsv"), d.path().join("b.tsv")]);
        assert_eq!(from, PathsFrom::Directory(d.path().to_path_buf()));
        let cfg = Config {
            glossaries: vec![PathBuf::from("x.tsv")],
            path: Some(PathBuf::from("tarjama.toml")),
            ..Config::default()
        };
        let (p, from) = resolve_paths(&[], Some(&cfg), d.path()).unwrap();
        assert_eq!(p, vec![PathBuf::from("x.tsv")]);
        assert!(matches!(from, PathsFrom::Config(_)));
        let (p, _) = resolve_paths(&[PathBuf::from("y.tsv")], Some(&cfg), d.path()).unwrap();
        assert_eq!(p, vec![PathBuf::from("y.tsv")]);
    }
}
