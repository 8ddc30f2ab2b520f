/*!
Editing a glossary file in place (`glossary add` and `glossary remove`).

Glossaries are reviewed plain data under version control, so an edit must
change only the line it adds or removes: order, comments, blank lines,
line endings, a BOM and every other byte stay as they were. A duplicate or a
conflicting entry is refused with the line it collides with. Files are
written atomically (temp file in the same directory, then rename); a
glossary reached through a symbolic link edits the file it links to.
*/

use std::path::Path;

use super::{COLUMNS, Entry, Glossary, GlossaryError, TsvFile, parse_tsv};
use crate::normalize::key;

/// Write `bytes` to `path` through the one atomic write
/// ([`crate::atomic::write_atomic`]), its error as a glossary error: a
/// glossary reached through a symbolic link edits the linked file, and its
/// permissions are kept.
pub(super) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), GlossaryError> {
    crate::atomic::write_atomic(path, bytes).map_err(|e| GlossaryError::Write {
        path: path.to_path_buf(),
        source: e.error,
    })
}

/// The file's text, split into an optional BOM and the rest.
fn read_keeping_bom(path: &Path) -> Result<(bool, String), GlossaryError> {
    let bytes = std::fs::read(path).map_err(|error| crate::input::InputError::Io {
        source_name: path.display().to_string(),
        error,
    })?;
    let bom = bytes.starts_with("\u{FEFF}".as_bytes());
    let text = crate::input::decode(&path.display().to_string(), bytes)?;
    Ok((bom, text))
}

fn write_with_bom(path: &Path, bom: bool, text: &str) -> Result<(), GlossaryError> {
    let mut out = Vec::with_capacity(text.len() + 3);
    if bom {
        out.extend_from_slice("\u{FEFF}".as_bytes());
    }
    out.extend_from_slice(text.as_bytes());
    write_file(path, &out)
}

/// Check a cell value given on the command line.
fn clean(what: &str, value: &str) -> Result<String, GlossaryError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(GlossaryError::Refused(format!("the {what} is empty")));
    }
    if let Some(c) = v.chars().find(|c| c.is_control()) {
        return Err(GlossaryError::Refused(format!(
            "the {what} `{}` contains the control character U+{:04X} (tabs and line breaks cannot be stored in a TSV cell)",
            v.escape_debug(),
            c as u32
        )));
    }
    Ok(v.to_string())
}

/// Check an entry before it is written.
pub fn validate(entry: &Entry) -> Result<Entry, GlossaryError> {
    let mut e = entry.clone();
    e.source = clean("source", &e.source)?;
    e.target = clean("target", &e.target)?;
    if key(&e.source).is_empty() {
        return Err(GlossaryError::Refused(format!(
            "the source `{}` has no letters once normalised",
            e.source
        )));
    }
    for v in e.variants.iter_mut().chain(e.forbidden.iter_mut()) {
        *v = clean("variant or forbidden rendering", v)?;
        if v.contains('|') {
            return Err(GlossaryError::Refused(format!(
                "`{v}` contains `|`, which separates list items; give each one separately"
            )));
        }
    }
    if let Some(k) = &e.kind {
        e.kind = Some(clean("kind", k)?.to_lowercase());
    }
    if let Some(n) = &e.note {
        e.note = Some(clean("note", n)?);
    }
    Ok(e)
}

/// Why `new` cannot go next to `old`: a duplicate, a conflict, or a
/// spelling that is already another entry's.
fn collision(new: &Entry, old: &Entry) -> Option<String> {
    let where_ = old.where_();
    if key(&new.source) == key(&old.source) {
        return Some(if new.target == old.target {
            format!(
                "duplicate: {where_} already has {} → {}",
                old.source, old.target
            )
        } else {
            format!(
                "conflict: {where_} has {} → {}, not {}",
                old.source, old.target, new.target
            )
        });
    }
    let old_forms: Vec<String> = old.forms().map(key).collect();
    new.forms().find(|f| old_forms.contains(&key(f))).map(|f| {
        format!(
            "`{f}` is already a spelling of {} → {} at {where_}",
            old.source, old.target
        )
    })
}

fn file_entries(file: &TsvFile) -> Result<Vec<Entry>, GlossaryError> {
    let h = file.require_header()?;
    Ok(file
        .rows
        .iter()
        .filter_map(|r| file.entry(h, r).ok())
        .collect())
}

/// The checks every way of adding an entry makes (`glossary add` on a
/// file or on the shared glossary, the review page, `glossary import
/// --shared`): `entry` is cleaned and checked ([`validate`]), then refused
/// when it collides with an entry of the glossary it goes to (`same`), or
/// with one of the other layers (`others`) unless `allow_override` (a
/// duplicate is refused even then). `place` names the glossary in the
/// messages. Returns the entry as it is to be written.
pub fn check_add<'a>(
    entry: &Entry,
    place: &str,
    same: &[Entry],
    others: impl IntoIterator<Item = &'a Entry>,
    allow_override: bool,
) -> Result<Entry, GlossaryError> {
    let e = validate(entry)?;
    for old in same {
        if let Some(why) = collision(&e, old) {
            return Err(GlossaryError::Refused(format!(
                "not added to {place}: {why}"
            )));
        }
    }
    for old in others {
        if let Some(why) = collision(&e, old) {
            if allow_override && !why.starts_with("duplicate") {
                continue;
            }
            let hint = if why.starts_with("duplicate") {
                ""
            } else {
                "; pass --override to override it in this file"
            };
            return Err(GlossaryError::Refused(format!(
                "not added to {place}: {why}{hint}"
            )));
        }
    }
    Ok(e)
}

/// Append `entry` to the glossary at `path` (created with the standard
/// header if missing). `layers` is the whole layered glossary the file is
/// part of: a conflict with an entry in another file is refused unless
/// `allow_override`. Returns the new line's number.
pub fn add(
    path: &Path,
    entry: &Entry,
    layers: Option<&Glossary>,
    allow_override: bool,
) -> Result<usize, GlossaryError> {
    validate(entry)?;
    let (bom, text) = if path.exists() {
        read_keeping_bom(path)?
    } else {
        (false, format!("{}\n", COLUMNS.join("\t")))
    };
    let file = parse_tsv(&text, path);
    let same_file = |o: &&Entry| {
        o.location
            .as_ref()
            .is_some_and(|l| same_path(&l.path, path))
    };
    let others = layers
        .into_iter()
        .flat_map(|g| g.entries().iter())
        .filter(|o| !same_file(o));
    let e = check_add(
        entry,
        &path.display().to_string(),
        &file_entries(&file)?,
        others,
        allow_override,
    )?;
    let h = file.require_header()?;
    for (column, used) in [("not_in", !e.not_in.is_empty()), ("ambiguous", e.ambiguous)] {
        if used && h.index(column).is_none() {
            return Err(GlossaryError::Refused(format!(
                "not added to {}: its header (line {}) has no `{column}` column; add the column first",
                path.display(),
                h.line
            )));
        }
    }
    let cells: Vec<String> = h
        .names
        .iter()
        .map(|n| match n.as_str() {
            "source" => e.source.clone(),
            "target" => e.target.clone(),
            "variants" => e.variants.join("|"),
            "kind" => e.kind.clone().unwrap_or_default(),
            "forbidden" => e.forbidden.join("|"),
            "note" => e.note.clone().unwrap_or_default(),
            "not_in" => e.not_in.join("|"),
            "ambiguous" if e.ambiguous => "yes".to_string(),
            _ => String::new(),
        })
        .collect();
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut out = text.clone();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push_str(eol);
        out.push_str(&cells.join("\t"));
    } else {
        out.push_str(&cells.join("\t"));
        out.push_str(eol);
    }
    let line = out.trim_end_matches(['\n', '\r']).split('\n').count();
    write_with_bom(path, bom, &out)?;
    Ok(line)
}

fn same_path(a: &Path, b: &Path) -> bool {
    a == b
        || matches!(
            (std::fs::canonicalize(a), std::fs::canonicalize(b)),
            (Ok(x), Ok(y)) if x == y
        )
}

/// Remove every entry whose source is `source` (after normalisation) from
/// the glossary at `path`. Returns the removed lines' numbers.
pub fn remove(path: &Path, source: &str) -> Result<Vec<Entry>, GlossaryError> {
    let (bom, text) = read_keeping_bom(path)?;
    let file = parse_tsv(&text, path);
    let h = file.require_header()?;
    let want = key(source);
    let si = h.index("source").expect("checked by require_header");
    let rows: Vec<&super::RawRow> = file
        .rows
        .iter()
        .filter(|r| r.cells.get(si).is_some_and(|c| key(c) == want))
        .collect();
    let lines: Vec<usize> = rows.iter().map(|r| r.line).collect();
    // what was removed, as the file had it (not as it was typed)
    let removed: Vec<Entry> = rows
        .iter()
        .map(|r| {
            file.entry(h, r).unwrap_or_else(|_| {
                let mut e = Entry::new(r.cells[si].trim(), "");
                e.location = Some(super::Location {
                    path: path.to_path_buf(),
                    line: r.line,
                });
                e
            })
        })
        .collect();
    if lines.is_empty() {
        return Err(GlossaryError::NotFound(format!(
            "{} has no entry with the source `{source}`",
            path.display()
        )));
    }
    let pieces: Vec<&str> = text.split_inclusive('\n').collect();
    let mut out = String::with_capacity(text.len());
    for (i, piece) in pieces.iter().enumerate() {
        if lines.contains(&(i + 1)) {
            // the last line had no line break: drop the one before it
            if i + 1 == pieces.len() && !piece.ends_with('\n') {
                if out.ends_with("\r\n") {
                    out.truncate(out.len() - 2);
                } else if out.ends_with('\n') {
                    out.truncate(out.len() - 1);
                }
            }
            continue;
        }
        out.push_str(piece);
    }
    write_with_bom(path, bom, &out)?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(source: &str, target: &str) -> Entry {
        Entry::new(source, target)
    }

    #[test]
    fn add_then_remove_restores_every_byte() {
        let d = tempfile::tempdir().unwrap();
        for original in [
            "\u{FEFF}# شارك\r\nsource\ttarget\tkind\r\n\r\nروسيا\tRussia\tplace\r\n# end\r\n",
            "source\ttarget\nروسيا\tRussia",
            "source\ttarget\n",
        ] {
            let p = d.path().join("g.tsv");
            std::fs::write(&p, original).unwrap();
            let line = add(&p, &e("موسكو", "Moscow"), None, false).unwrap();
            let after = std::fs::read_to_string(&p).unwrap();
            assert!(after.starts_with(original.trim_end_matches(['\r', '\n'])));
            assert!(after.contains("موسكو\tMoscow"));
            let nth = after
                .trim_start_matches('\u{FEFF}')
                .split('\n')
                .nth(line - 1)
                .unwrap();
            assert!(nth.starts_with("موسكو\tMoscow"), "{line} {after:?}");
            assert_eq!(
                remove(&p, "موسكو")
                    .unwrap()
                    .iter()
                    .map(|e| e.location.as_ref().unwrap().line)
                    .collect::<Vec<_>>(),
                vec![line]
            );
            assert_eq!(std::fs::read(&p).unwrap(), original.as_bytes());
        }
    }

    #[test]
    fn add_writes_context_columns_or_refuses_without_them() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("g.tsv");
        std::fs::write(&p, "source\ttarget\tkind\tnot_in\tambiguous\n").unwrap();
        let mut x = e("مسقط", "Muscat");
        x.not_in = vec!["مسقط رأس".into()];
        x.ambiguous = true;
        add(&p, &x, None, false).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.ends_with("مسقط\tMuscat\t\tمسقط رأس\tyes\n"),
            "{text:?}"
        );
        let (g, _) = Glossary::load(std::slice::from_ref(&p)).unwrap();
        assert_eq!(g.entries()[0].not_in, ["مسقط رأس"]);
        assert!(g.entries()[0].ambiguous);
        let q = d.path().join("h.tsv");
        std::fs::write(&q, "source\ttarget\n").unwrap();
        let err = add(&q, &x, None, false).unwrap_err().to_string();
        assert!(err.contains("not_in") && err.contains("line 1"), "{err}");
        assert_eq!(std::fs::read_to_string(&q).unwrap(), "source\ttarget\n");
    }

    #[test]
    fn add_refuses_duplicates_and_conflicts() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("g.tsv");
        std::fs::write(&p, "source\ttarget\tvariants\nطالبان\tTaliban\tطلبان\n").unwrap();
        let err = |x: Entry| add(&p, &x, None, false).unwrap_err().to_string();
        assert!(err(e("طالبان", "Taliban")).contains("duplicate"));
        let m = err(e("طالبـان", "the Taliban"));
        assert!(m.contains("conflict") && m.contains("g.tsv:2"), "{m}");
        let mut v = e("حركة طالبان", "Taliban movement");
        v.variants = vec!["طلبان".into()];
        assert!(err(v).contains("already a spelling"));
        assert!(err(e("س", "a\tb")).contains("control character"));
        assert!(err(e("ـــ", "x")).contains("no letters"));
        // the file is untouched
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "source\ttarget\tvariants\nطالبان\tTaliban\tطلبان\n"
        );
    }

    #[test]
    fn add_checks_other_layers_and_override() {
        let d = tempfile::tempdir().unwrap();
        let base = d.path().join("base.tsv");
        let proj = d.path().join("proj.tsv");
        std::fs::write(&base, "source\ttarget\nالكرملين\tthe Kremlin\n").unwrap();
        std::fs::write(&proj, "source\ttarget\n").unwrap();
        let (g, _) = Glossary::load(&[base.clone(), proj.clone()]).unwrap();
        let new = e("الكرملين", "Kremlin");
        let m = add(&proj, &new, Some(&g), false).unwrap_err().to_string();
        assert!(m.contains("base.tsv:2") && m.contains("--override"), "{m}");
        assert_eq!(add(&proj, &new, Some(&g), true).unwrap(), 2);
        let (g2, w) = Glossary::load(&[base, proj]).unwrap();
        assert_eq!(g2.entries()[0].target, "Kremlin");
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn new_file_gets_the_standard_header() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("new.tsv");
        let mut x = e("باميان", "Bamiyan");
        x.kind = Some("Place".into());
        add(&p, &x, None, false).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "source\ttarget\tvariants\tkind\tforbidden\tnote\nباميان\tBamiyan\t\tplace\t\t\n"
        );
        assert!(
            remove(&p, "كابول")
                .unwrap_err()
                .to_string()
                .contains("no entry")
        );
    }
}
