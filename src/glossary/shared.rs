/*!
The shared glossary of a desk: the glossary in the PostgreSQL database the
translators already share for the memory (`[glossary] url =
"postgres://..."`, `TARJAMA_GLOSSARY_URL` or `--glossary-url`).

Why: with TSV files, a name one translator pins reaches the others only
when the files are copied around, and two editors changing the same file
lose each other's lines. Here every `glossary add`/`remove` is one
transaction under a lock on the glossary: it reads the entries as they are
now, makes exactly the checks `glossary add` makes on a file
([`super::edit::check_add`]), writes the row and a history row (who, when,
the row before and after). Two translators' edits are serialised, never
lost; a conflicting one is refused with the entry it collides with.

The entries keep the files' shape: each belongs to a named *layer* (a file's
name without `.tsv`), layers apply in name order like the `.tsv` files of
a folder, and `glossary export --dir DIR` writes `DIR/LAYER.tsv` in the
format of the shipped
`glossaries` files. An entry's place in messages is
`shared:LAYER:LINE`, the line it has in that export. `glossary import
--shared FILE.tsv...` loads files (each into the layer of its name).

The tables are version 2 of the memory's schema (one version number says
what a database holds), created or migrated on open; the connection and its
password are the memory's ([`crate::memory::pg::connect_config`]).
*/

use std::path::{Path, PathBuf};

use postgres::{Client, NoTls};
use serde::Serialize;

use super::{Entry, Glossary, GlossaryError, Location, TsvFile, edit, format, parse_tsv};
use crate::config::MemoryAccess;
use crate::memory::{MemoryError, pg, time};
use crate::normalize::key;

/// The name of the layer entries go to when the shared glossary has none
/// yet and no `--layer` is given.
pub const DEFAULT_LAYER: &str = "desk";

/// One change of the shared glossary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    pub who: String,
    /// `add`, `remove` or `import`.
    pub action: String,
    pub layer: String,
    pub source: String,
    /// The row before (see [`row_line`]); none for an addition.
    pub old_row: Option<String>,
    /// The row after; none for a removal.
    pub new_row: Option<String>,
}

/// `e` as a history row: a TSV line of every column tarjama reads
/// ([`super::known_columns`]), in that order.
pub fn row_line(e: &Entry) -> String {
    format::row_cells(e, true).join("\t")
}

/// What `glossary import --shared` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportStats {
    pub added: usize,
    /// Entries the layer already had, the same in every column.
    pub unchanged: usize,
}

/// Whether a layer name can be a file name (`LAYER.tsv`) on every system.
fn check_layer(layer: &str) -> Result<(), GlossaryError> {
    let ok = !layer.is_empty()
        && layer.len() <= 64
        && !layer.starts_with('.')
        && layer
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(GlossaryError::Refused(format!(
            "`{layer}` cannot be a layer name: use letters, digits, - _ and . (it becomes the file name LAYER.tsv on export)"
        )))
    }
}

/// The message of a memory-side error, for the glossary.
fn from_memory(e: MemoryError) -> GlossaryError {
    match e {
        MemoryError::Pg { location, message } => GlossaryError::Format {
            path: format!("the shared glossary {location}"),
            message,
        },
        other => GlossaryError::Refused(format!("the shared glossary: {other}")),
    }
}

/// The shared glossary in a PostgreSQL database.
pub struct SharedGlossary {
    client: Client,
    location: String,
}

impl std::fmt::Debug for SharedGlossary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedGlossary")
            .field("location", &self.location)
            .finish()
    }
}

/// A row of the `glossary` table as an entry, placed at `line`.
fn row_entry(r: &postgres::Row, line: usize) -> (String, Entry) {
    let layer: String = r.get(0);
    let e = Entry {
        source: r.get(1),
        target: r.get(2),
        variants: r.get(3),
        kind: r.get(4),
        forbidden: r.get(5),
        note: r.get(6),
        not_in: r.get(7),
        ambiguous: r.get(8),
        location: Some(Location {
            path: PathBuf::from(format!("shared:{layer}")),
            line,
        }),
    };
    (layer, e)
}

const ENTRY_COLUMNS: &str =
    "layer, source, target, variants, kind, forbidden, note, not_in, ambiguous";

/// Every layer and its entries, in the order the export writes them (line
/// 1 is the header).
fn read_layers(
    c: &mut impl postgres::GenericClient,
) -> Result<Vec<(String, Vec<Entry>)>, postgres::Error> {
    let rows = c.query(
        &format!("SELECT {ENTRY_COLUMNS} FROM glossary ORDER BY layer, id"),
        &[],
    )?;
    let mut layers: Vec<(String, Vec<Entry>)> = Vec::new();
    for r in &rows {
        let layer: String = r.get(0);
        if layers.last().is_none_or(|l| l.0 != layer) {
            layers.push((layer.clone(), Vec::new()));
        }
        let list = &mut layers.last_mut().expect("pushed above").1;
        let (_, e) = row_entry(r, list.len() + 2);
        list.push(e);
    }
    Ok(layers)
}

fn insert(
    tx: &mut postgres::Transaction<'_>,
    layer: &str,
    e: &Entry,
    who: &str,
    action: &str,
) -> Result<(), postgres::Error> {
    tx.execute(
        "INSERT INTO glossary (layer, norm, source, target, variants, kind, forbidden, note, not_in, ambiguous)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &layer,
            &key(&e.source),
            &e.source,
            &e.target,
            &e.variants,
            &e.kind,
            &e.forbidden,
            &e.note,
            &e.not_in,
            &e.ambiguous,
        ],
    )?;
    record(tx, who, action, layer, &e.source, None, Some(e))
}

fn record(
    tx: &mut postgres::Transaction<'_>,
    who: &str,
    action: &str,
    layer: &str,
    source: &str,
    old: Option<&Entry>,
    new: Option<&Entry>,
) -> Result<(), postgres::Error> {
    tx.execute(
        "INSERT INTO glossary_history (at, who, action, layer, source, old_row, new_row)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &time::now_unix(),
            &who,
            &action,
            &layer,
            &source,
            &old.map(row_line),
            &new.map(row_line),
        ],
    )?;
    Ok(())
}

/// Where a shared glossary is and who edits it: the resolved settings'
/// `glossary_url` and `editor`, with the memory's access (the password
/// from the environment or `.pgpass`, as for the memory).
#[derive(Debug, Clone)]
pub struct SharedAt {
    pub url: String,
    pub editor: String,
    pub access: MemoryAccess,
}

impl SharedGlossary {
    /// Connect to `at` and create or migrate the tables.
    pub fn open(at: &SharedAt) -> Result<SharedGlossary, GlossaryError> {
        let location = pg::redact(&at.url);
        let config = pg::connect_config(&at.url, &at.access).map_err(from_memory)?;
        let mut client = config.connect(NoTls).map_err(|e| GlossaryError::Format {
            path: format!("the shared glossary {location}"),
            message: format!("cannot connect: {}", pg::describe(&e)),
        })?;
        pg::migrate(&mut client, &location, true, "glossary").map_err(from_memory)?;
        Ok(SharedGlossary { client, location })
    }

    /// The database's URL (never with a password).
    pub fn location(&self) -> &str {
        &self.location
    }

    fn err(&self, e: postgres::Error) -> GlossaryError {
        GlossaryError::Format {
            path: format!("the shared glossary {}", self.location),
            message: pg::describe(&e),
        }
    }

    /// Every layer and its entries, layers in name order.
    pub fn layers(&mut self) -> Result<Vec<(String, Vec<Entry>)>, GlossaryError> {
        read_layers(&mut self.client).map_err(|e| self.err(e))
    }

    /// The layered glossary (a later layer overrides an earlier one, with
    /// the same warnings as files), for a run's matcher.
    pub fn load(&mut self) -> Result<(Glossary, Vec<String>), GlossaryError> {
        let layers = self.layers()?;
        Ok(Glossary::layered(layers.into_iter().map(|l| l.1)))
    }

    /// The layers as the TSV files `glossary export --dir` writes, parsed
    /// (for `glossary check`); named `shared:LAYER`.
    pub fn as_files(&mut self) -> Result<Vec<TsvFile>, GlossaryError> {
        let mut out = Vec::new();
        for (layer, entries) in self.layers()? {
            let text = format::export(&entries, format::Format::Tsv)?;
            out.push(parse_tsv(&text, Path::new(&format!("shared:{layer}"))));
        }
        Ok(out)
    }

    /// Run `f` in a transaction holding the glossary's edit lock, so that
    /// two desks' edits are applied one after the other, each on what the
    /// other wrote.
    fn edit<T>(
        &mut self,
        f: impl FnOnce(
            &mut postgres::Transaction<'_>,
        ) -> Result<Result<T, GlossaryError>, postgres::Error>,
    ) -> Result<T, GlossaryError> {
        let location = self.location.clone();
        let err = |e: postgres::Error| GlossaryError::Format {
            path: format!("the shared glossary {location}"),
            message: pg::describe(&e),
        };
        let mut tx = self.client.transaction().map_err(err)?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('tarjama-glossary-edit'))",
            &[],
        )
        .map_err(err)?;
        match f(&mut tx).map_err(err)? {
            Ok(v) => {
                tx.commit().map_err(err)?;
                Ok(v)
            }
            Err(refused) => Err(refused),
        }
    }

    /// The layer an edit goes to: `layer`, else the last layer (the one
    /// with the last say, as the last `--glossary` file), else
    /// [`DEFAULT_LAYER`].
    fn layer_for(layers: &[(String, Vec<Entry>)], layer: Option<&str>) -> String {
        layer
            .map(str::to_string)
            .or_else(|| layers.last().map(|l| l.0.clone()))
            .unwrap_or_else(|| DEFAULT_LAYER.to_string())
    }

    /// `glossary add`: add `entry` to `layer` (else the last layer, else
    /// [`DEFAULT_LAYER`])
    /// after the checks of [`edit::check_add`] against the glossary as it
    /// is now, and record who added it. Returns the entry as stored, with
    /// its place.
    pub fn add(
        &mut self,
        layer: Option<&str>,
        entry: &Entry,
        allow_override: bool,
        who: &str,
    ) -> Result<Entry, GlossaryError> {
        if let Some(l) = layer {
            check_layer(l)?;
        }
        self.edit(|tx| {
            let layers = read_layers(tx)?;
            let layer = Self::layer_for(&layers, layer);
            let empty = Vec::new();
            let same = layers
                .iter()
                .find(|l| l.0 == layer)
                .map_or(&empty, |l| &l.1);
            let others = layers
                .iter()
                .filter(|l| l.0 != layer)
                .flat_map(|l| l.1.iter());
            let place = format!("shared:{layer}");
            let mut e = match edit::check_add(entry, &place, same, others, allow_override) {
                Ok(e) => e,
                Err(refused) => return Ok(Err(refused)),
            };
            insert(tx, &layer, &e, who, "add")?;
            e.location = Some(Location {
                path: PathBuf::from(place),
                line: same.len() + 2,
            });
            Ok(Ok(e))
        })
    }

    /// `glossary remove`: remove the entry whose source is `source` (after
    /// normalisation) from `layer`, or from the one layer that has it;
    /// record who removed it. Returns the entry removed.
    pub fn remove(
        &mut self,
        layer: Option<&str>,
        source: &str,
        who: &str,
    ) -> Result<Entry, GlossaryError> {
        let want = key(source);
        self.edit(|tx| {
            let layers = read_layers(tx)?;
            let holders: Vec<(&str, &Entry)> = layers
                .iter()
                .filter(|l| layer.is_none_or(|x| x == l.0))
                .flat_map(|l| l.1.iter().map(move |e| (l.0.as_str(), e)))
                .filter(|(_, e)| key(&e.source) == want)
                .collect();
            let (from, old) = match holders.as_slice() {
                [one] => *one,
                [] => {
                    let elsewhere: Vec<String> = layers
                        .iter()
                        .flat_map(|l| l.1.iter())
                        .filter(|e| key(&e.source) == want)
                        .map(Entry::where_)
                        .collect();
                    let there = match layer {
                        Some(l) => format!("the layer {l} of the shared glossary"),
                        None => "the shared glossary".to_string(),
                    };
                    let mut m = format!("{there} has no entry with the source `{source}`");
                    if !elsewhere.is_empty() {
                        m.push_str(&format!("; it is in {}", elsewhere.join(", ")));
                    }
                    return Ok(Err(GlossaryError::NotFound(m)));
                }
                several => {
                    let names: Vec<String> = several.iter().map(|h| h.1.where_()).collect();
                    return Ok(Err(GlossaryError::Refused(format!(
                        "`{source}` is in several layers ({}); pass --layer NAME",
                        names.join(", ")
                    ))));
                }
            };
            tx.execute(
                "DELETE FROM glossary WHERE layer = $1 AND md5(norm) = md5($2) AND norm = $2",
                &[&from, &want],
            )?;
            record(tx, who, "remove", from, &old.source, Some(old), None)?;
            Ok(Ok(old.clone()))
        })
    }

    /// `glossary import --shared`: load the TSV glossary at `path` into
    /// `layer` (default: the file's name without `.tsv`), all or nothing.
    /// Every row is read as `Glossary::load` reads it (a bad row names its
    /// line) and added with `glossary add`'s checks against the layer as
    /// it grows; a row the layer already has, the same in every column, is
    /// left as it is. Entries of other layers may be overridden, as a later
    /// file overrides an earlier one.
    pub fn import(
        &mut self,
        path: &Path,
        layer: Option<&str>,
        who: &str,
    ) -> Result<ImportStats, GlossaryError> {
        let layer = match layer {
            Some(l) => l.to_string(),
            None => path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string(),
        };
        check_layer(&layer)?;
        let file = super::read_tsv(path)?;
        let h = file.require_header()?;
        let mut rows = Vec::with_capacity(file.rows.len());
        for row in &file.rows {
            rows.push(file.entry(h, row).map_err(|message| GlossaryError::Row {
                path: path.to_path_buf(),
                line: row.line,
                message,
            })?);
        }
        self.edit(|tx| {
            let layers = read_layers(tx)?;
            let mut same: Vec<Entry> = layers
                .iter()
                .find(|l| l.0 == layer)
                .map(|l| l.1.clone())
                .unwrap_or_default();
            let others: Vec<&Entry> = layers
                .iter()
                .filter(|l| l.0 != layer)
                .flat_map(|l| l.1.iter())
                .collect();
            let mut stats = ImportStats::default();
            for e in rows {
                if same.iter().any(|o| row_line(o) == row_line(&e)) {
                    stats.unchanged += 1;
                    continue;
                }
                let place = format!("shared:{layer}");
                let checked = match edit::check_add(&e, &place, &same, others.iter().copied(), true)
                {
                    Ok(c) => c,
                    Err(refused) => {
                        return Ok(Err(GlossaryError::Refused(format!(
                            "{}: {refused}; nothing was imported",
                            e.where_()
                        ))));
                    }
                };
                insert(tx, &layer, &checked, who, "import")?;
                same.push(checked);
                stats.added += 1;
            }
            Ok(Ok(stats))
        })
    }

    /// `glossary history`: the changes, newest first, at most `limit`;
    /// only those of `source` (after normalisation) when given.
    pub fn history(
        &mut self,
        source: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Change>, GlossaryError> {
        let rows = self
            .client
            .query(
                "SELECT id, at, who, action, layer, source, old_row, new_row
                 FROM glossary_history ORDER BY id DESC",
                &[],
            )
            .map_err(|e| self.err(e))?;
        let want = source.map(key);
        Ok(rows
            .iter()
            .map(|r| Change {
                id: r.get(0),
                at: r.get(1),
                who: r.get(2),
                action: r.get(3),
                layer: r.get(4),
                source: r.get(5),
                old_row: r.get(6),
                new_row: r.get(7),
            })
            .filter(|c| want.as_ref().is_none_or(|w| key(&c.source) == *w))
            .take(limit)
            .collect())
    }

    /// `glossary export --dir`: write each layer as `dir/LAYER.tsv` in the
    /// format of `glossaries/*.tsv` (through the one atomic write); an
    /// existing file is replaced only with `force`. Returns the files
    /// written and their entry counts.
    pub fn export_dir(
        &mut self,
        dir: &Path,
        force: bool,
    ) -> Result<Vec<(PathBuf, usize)>, GlossaryError> {
        let layers = self.layers()?;
        let files: Vec<(PathBuf, &Vec<Entry>)> = layers
            .iter()
            .map(|(l, e)| (dir.join(format!("{l}.tsv")), e))
            .collect();
        if !force && let Some((p, _)) = files.iter().find(|(p, _)| p.exists()) {
            return Err(GlossaryError::Refused(format!(
                "{} exists; pass --force to replace it",
                p.display()
            )));
        }
        std::fs::create_dir_all(dir).map_err(|source| GlossaryError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut out = Vec::new();
        for (path, entries) in files {
            let text = format::export(entries, format::Format::Tsv)?;
            edit::write_file(&path, text.as_bytes())?;
            out.push((path, entries.len()));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_names_must_make_file_names() {
        for ok in ["desk", "countries", "2026-elections", "a_b.c"] {
            check_layer(ok).unwrap();
        }
        for bad in ["", "../x", "a/b", ".hidden", "a b", "x\\y"] {
            let e = check_layer(bad).unwrap_err().to_string();
            assert!(e.contains("layer name"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_history_row_keeps_every_column() {
        let mut e = Entry::new("مسقط", "Muscat");
        e.variants = vec!["مسقظ".into()];
        e.kind = Some("city".into());
        e.not_in = vec!["مسقط رأس".into()];
        e.ambiguous = true;
        assert_eq!(row_line(&e), "مسقط\tMuscat\tمسقظ\tcity\t\t\tمسقط رأس\tyes");
    }
}
