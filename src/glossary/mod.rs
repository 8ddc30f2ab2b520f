/*!
Glossaries: the names and terms whose English must come out the same in
every sentence of every article.

A glossary is a UTF-8 TSV file with a header line (`source`, `target`, and
optionally `variants`, `kind`, `forbidden`, `note`); `#` lines are comments.
Several files are layered: an entry in a later file overrides an entry with
the same (normalised) source in an earlier one, with a warning naming both
lines, so a project glossary can sit on top of a shared one.

This module reads and layers the files; [`matcher`] finds entries in
segments, [`check`] verifies the English afterwards, [`lint`], [`edit`],
[`format`](mod@format) and [`suggest`] maintain the files.
*/

pub mod check;
pub mod edit;
pub mod format;
pub mod lint;
pub mod matcher;
pub mod suggest;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use matcher::Matcher;

use crate::config::Config;
use crate::normalize::key;

/// The columns tarjama knows, in the order it writes them.
pub const COLUMNS: [&str; 6] = ["source", "target", "variants", "kind", "forbidden", "note"];

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

/// A data line of a TSV glossary, split on tabs but otherwise untouched.
#[derive(Debug, Clone)]
pub struct RawRow {
    pub line: usize,
    pub cells: Vec<String>,
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
    for (n, line) in lines(text) {
        if is_skipped(line) {
            continue;
        }
        let cells: Vec<String> = line.split('\t').map(str::to_string).collect();
        if header.is_none() {
            header = Some(Header {
                line: n,
                names: cells.iter().map(|c| c.trim().to_lowercase()).collect(),
            });
        } else {
            rows.push(RawRow { line: n, cells });
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
        Ok(Entry {
            source: source.to_string(),
            target: target.to_string(),
            variants: split_list(cell("variants")),
            kind: opt(cell("kind")).map(|k| k.to_lowercase()),
            forbidden: split_list(cell("forbidden")),
            note: opt(cell("note")),
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
        let mut warnings = Vec::new();
        let mut entries: Vec<Entry> = Vec::new();
        let mut ranks = Vec::new();
        let mut by_key: HashMap<String, usize> = HashMap::new();
        let mut rank = 0usize;
        for path in paths {
            let file = read_tsv(path)?;
            let h = file.require_header()?;
            for row in &file.rows {
                let e = file.entry(h, row).map_err(|message| GlossaryError::Row {
                    path: path.clone(),
                    line: row.line,
                    message,
                })?;
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
        Ok((g, warnings))
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
        let b = write(d.path(), "b.tsv", "# only\nsource\tenglish\n");
        let e = Glossary::load(&[b]).unwrap_err().to_string();
        assert!(e.contains("b.tsv:2") && e.contains("`target`"), "{e}");
        let c = write(d.path(), "c.tsv", "source\ttarget\nا\tb\tc\n");
        let e = Glossary::load(&[c]).unwrap_err().to_string();
        assert!(e.contains("c.tsv:2") && e.contains("3 cells"), "{e}");
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
