/*!
The translation memory: never pay twice for a segment, never lose one.

One SQLite file (WAL mode, embedded, no server) plays two roles:

- the **cache**: every machine translation is stored under a key that is a
  blake3 hash of the normalised source and of everything that shapes the
  answer (backend kind, URL, model, prompt version and the segment's pinned
  terms). Changing any of them re-translates; nothing else does;
- the **translation memory**: every pair keeps its source, target, origin
  (machine or human), backend, model and timestamps. A human translation of
  the same normalised source outranks any machine one; close matches
  (word-level similarity of at least 75%) are offered as suggestions.

Each batch is written in one transaction as soon as it arrives, so a crash
or SIGKILL loses at most the batches that were still in flight. The API is
synchronous: one owner (a dedicated thread or `spawn_blocking`).
*/

pub mod fuzzy;
mod schema;
pub mod time;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::model::{Origin, PinnedTerm, Suggestion};

/// The default similarity threshold for fuzzy suggestions, in percent.
pub const FUZZY_THRESHOLD: u8 = 75;

/// Why the memory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    #[error("cannot create the directory {path} for the translation memory: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot open the translation memory {path}: {source} (is it an SQLite file? use --memory PATH for another one)"
    )]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "the translation memory {path} has schema version {found}, newer than this tarjama knows ({known}); upgrade tarjama"
    )]
    Schema {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("translation memory: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// The default location: `$XDG_DATA_HOME/tarjama/memory.sqlite`.
pub fn default_path() -> Option<PathBuf> {
    crate::config::user_data_dir().map(|d| d.join("memory.sqlite"))
}

/// The memory's comparison key of a text: the glossary's Arabic matching
/// normalisation ([`crate::normalize::key`]), so that spelling variants
/// news sites produce share one entry.
pub fn normalize_key(text: &str) -> String {
    crate::normalize::key(text)
}

/// Everything apart from the source text and the pinned terms that shapes
/// a machine translation, hashed into the cache key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyParams {
    /// Backend kind (`openai`, `deepl`, ...).
    pub backend_kind: String,
    /// Endpoint URL (without secrets).
    pub url: String,
    /// Model, or empty.
    pub model: String,
    /// Version of the prompt and request options (term mode, languages...):
    /// anything whose change should re-translate.
    pub prompt_version: String,
}

fn hash_field(h: &mut blake3::Hasher, s: &str) {
    h.update(&(s.len() as u64).to_le_bytes());
    h.update(s.as_bytes());
}

/// The cache key of `source` translated under `params` with `terms` pinned
/// (hex blake3). The order of the terms and duplicates do not matter.
pub fn cache_key(source: &str, params: &KeyParams, terms: &[PinnedTerm]) -> String {
    let mut h = blake3::Hasher::new();
    hash_field(&mut h, "tarjama-cache-v1");
    hash_field(&mut h, &normalize_key(source));
    hash_field(&mut h, &params.backend_kind);
    hash_field(&mut h, params.url.trim_end_matches('/'));
    hash_field(&mut h, &params.model);
    hash_field(&mut h, &params.prompt_version);
    let mut t: Vec<(&str, &str)> = terms
        .iter()
        .map(|t| (t.source.as_str(), t.target.as_str()))
        .collect();
    t.sort_unstable();
    t.dedup();
    h.update(&(t.len() as u64).to_le_bytes());
    for (s, e) in t {
        hash_field(&mut h, s);
        hash_field(&mut h, e);
    }
    h.finalize().to_hex().to_string()
}

/// A machine translation to store under its cache key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MtEntry {
    pub key: String,
    pub source: String,
    pub target: String,
    pub backend: String,
    pub model: Option<String>,
}

/// A pair without a cache key: a human translation (post-edit, reviewed
/// file, TMX import) or an imported machine one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPair {
    pub source: String,
    pub target: String,
    /// `Human` or `Mt`; anything else is stored as `Mt`.
    pub origin: Origin,
    pub backend: Option<String>,
    pub model: Option<String>,
    /// Unix seconds; now when absent.
    pub created: Option<i64>,
}

/// A stored pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredPair {
    pub id: i64,
    pub source: String,
    pub target: String,
    /// `Human` or `Mt`.
    pub origin: Origin,
    pub backend: Option<String>,
    pub model: Option<String>,
    /// Unix seconds.
    pub created: i64,
    pub updated: i64,
}

/// What adding keyless pairs did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AddStats {
    /// New pairs.
    pub added: usize,
    /// Pairs already there (their `updated` time was refreshed).
    pub existing: usize,
    /// Pairs with an empty source or target, not stored.
    pub skipped: usize,
}

/// Counts for `tarjama memory stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub path: Option<PathBuf>,
    pub file_bytes: u64,
    pub pairs: usize,
    pub human: usize,
    pub mt: usize,
    pub distinct_sources: usize,
    /// Pairs per (backend, model), most first.
    pub by_backend: Vec<(String, String, usize)>,
    pub oldest: Option<i64>,
    pub newest: Option<i64>,
}

/// An open translation memory (one owner; not `Sync`).
pub struct Memory {
    conn: Connection,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memory").field("path", &self.path).finish()
    }
}

const PAIR_COLUMNS: &str = "id, source, target, origin, backend, model, created, updated";

fn origin_str(o: Origin) -> &'static str {
    if o == Origin::Human { "human" } else { "mt" }
}

fn row_to_pair(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredPair> {
    let origin: String = r.get(3)?;
    Ok(StoredPair {
        id: r.get(0)?,
        source: r.get(1)?,
        target: r.get(2)?,
        origin: if origin == "human" {
            Origin::Human
        } else {
            Origin::Mt
        },
        backend: r.get(4)?,
        model: r.get(5)?,
        created: r.get(6)?,
        updated: r.get(7)?,
    })
}

impl Memory {
    /// Open (or create) the memory at `path`, creating its directory.
    pub fn open(path: &Path) -> Result<Memory, MemoryError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| MemoryError::Dir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let open_err = |source| MemoryError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        Memory::init(conn, Some(path.to_path_buf())).map_err(|e| match e {
            MemoryError::Sql(source) => open_err(source),
            e => e,
        })
    }

    /// A memory that lives only as long as the value (tests, `--dry-run`
    /// without a file).
    pub fn open_in_memory() -> Result<Memory, MemoryError> {
        Memory::init(Connection::open_in_memory()?, None)
    }

    fn init(conn: Connection, path: Option<PathBuf>) -> Result<Memory, MemoryError> {
        conn.busy_timeout(Duration::from_secs(10))?;
        // Fuzzy look-ups prepare one statement per query word count.
        conn.set_prepared_statement_cache_capacity(64);
        if path.is_some() {
            let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(MemoryError::Sql(rusqlite::Error::InvalidQuery));
            }
        }
        // In WAL mode NORMAL survives any crash of the process (the commit
        // is in the WAL file); only a power cut may lose the last commits.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > schema::SCHEMA_VERSION {
            return Err(MemoryError::Schema {
                path: path.clone().unwrap_or_default(),
                found: version,
                known: schema::SCHEMA_VERSION,
            });
        }
        conn.execute_batch(schema::CREATE)?;
        if version < schema::SCHEMA_VERSION {
            conn.pragma_update(None, "user_version", schema::SCHEMA_VERSION)?;
        }
        Ok(Memory { conn, path })
    }

    /// The file, if the memory is on disk.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The best stored translation for a segment: the newest human
    /// translation of the same normalised source if there is one, else the
    /// machine translation stored under `key`.
    pub fn lookup(&self, key: &str, source: &str) -> Result<Option<StoredPair>, MemoryError> {
        if let Some(h) = self.lookup_human(source)? {
            return Ok(Some(h));
        }
        self.lookup_key(key)
    }

    /// The machine translation stored under `key`.
    pub fn lookup_key(&self, key: &str) -> Result<Option<StoredPair>, MemoryError> {
        let sql = format!("SELECT {PAIR_COLUMNS} FROM pairs WHERE cache_key = ?1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([key], row_to_pair)
            .optional()?)
    }

    /// The newest human translation of `source` (after normalisation).
    pub fn lookup_human(&self, source: &str) -> Result<Option<StoredPair>, MemoryError> {
        let sql = format!(
            "SELECT {PAIR_COLUMNS} FROM pairs WHERE origin = 'human' AND source_id =
               (SELECT id FROM sources WHERE norm = ?1)
             ORDER BY updated DESC, id DESC LIMIT 1"
        );
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([normalize_key(source)], row_to_pair)
            .optional()?)
    }

    /// Any stored translation of `source` (after normalisation), whatever
    /// engine made it: the newest human one, else the newest machine one.
    /// Used when no engine is configured.
    pub fn lookup_any(&self, source: &str) -> Result<Option<StoredPair>, MemoryError> {
        let sql = format!(
            "SELECT {PAIR_COLUMNS} FROM pairs WHERE source_id =
               (SELECT id FROM sources WHERE norm = ?1)
             ORDER BY origin = 'human' DESC, updated DESC, id DESC LIMIT 1"
        );
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([normalize_key(source)], row_to_pair)
            .optional()?)
    }

    /// The id of the source row for `norm`, creating it (and indexing its
    /// words) when new. Must run inside a transaction.
    fn source_id(tx: &rusqlite::Transaction<'_>, norm: &str) -> Result<i64, MemoryError> {
        if let Some(id) = tx
            .prepare_cached("SELECT id FROM sources WHERE norm = ?1")?
            .query_row([norm], |r| r.get(0))
            .optional()?
        {
            return Ok(id);
        }
        let words = fuzzy::tokens(norm);
        tx.prepare_cached("INSERT INTO sources (norm, ntokens) VALUES (?1, ?2)")?
            .execute(params![norm, words.len() as i64])?;
        let id = tx.last_insert_rowid();
        let mut distinct = words;
        distinct.sort_unstable();
        distinct.dedup();
        let mut ins = tx.prepare_cached("INSERT INTO tokens (token, source_id) VALUES (?1, ?2)")?;
        let mut df = tx.prepare_cached(
            "INSERT INTO token_df (token, n) VALUES (?1, 1)
             ON CONFLICT(token) DO UPDATE SET n = n + 1",
        )?;
        for w in distinct {
            ins.execute(params![w, id])?;
            df.execute([w])?;
        }
        Ok(id)
    }

    /// A transaction that takes the write lock at once (`BEGIN IMMEDIATE`).
    /// A deferred one that reads first and writes later cannot wait for
    /// another connection's write: SQLite answers SQLITE_BUSY at once,
    /// whatever the busy timeout, when two `translate` processes (or the
    /// documents one translates at once) share the memory.
    fn write_transaction(&mut self) -> Result<rusqlite::Transaction<'_>, MemoryError> {
        Ok(self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?)
    }

    /// Store one batch of machine translations in one transaction
    /// (committed before this returns). An existing key is overwritten.
    pub fn store_mt(&mut self, entries: &[MtEntry]) -> Result<(), MemoryError> {
        let now = time::now_unix();
        let tx = self.write_transaction()?;
        for e in entries {
            let sid = Memory::source_id(&tx, &normalize_key(&e.source))?;
            tx.prepare_cached(
                "INSERT INTO pairs (source_id, cache_key, source, target, origin, backend, model, created, updated)
                 VALUES (?1, ?2, ?3, ?4, 'mt', ?5, ?6, ?7, ?7)
                 ON CONFLICT(cache_key) WHERE cache_key IS NOT NULL DO UPDATE SET
                   source = excluded.source, target = excluded.target,
                   backend = excluded.backend, model = excluded.model, updated = excluded.updated",
            )?
            .execute(params![sid, e.key, e.source, e.target, e.backend, e.model, now])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Add pairs without a cache key (human translations, imports) in one
    /// transaction. The same source, origin and target is stored once.
    pub fn add_pairs(&mut self, pairs: &[NewPair]) -> Result<AddStats, MemoryError> {
        let now = time::now_unix();
        let mut stats = AddStats::default();
        let tx = self.write_transaction()?;
        for p in pairs {
            if p.source.trim().is_empty() || p.target.trim().is_empty() {
                stats.skipped += 1;
                continue;
            }
            let sid = Memory::source_id(&tx, &normalize_key(&p.source))?;
            let origin = origin_str(p.origin);
            let updated = tx
                .prepare_cached(
                    "UPDATE pairs SET updated = ?4 WHERE cache_key IS NULL
                     AND source_id = ?1 AND origin = ?2 AND target = ?3",
                )?
                .execute(params![sid, origin, p.target, now])?;
            if updated > 0 {
                stats.existing += 1;
                continue;
            }
            let created = p.created.unwrap_or(now);
            tx.prepare_cached(
                "INSERT INTO pairs (source_id, cache_key, source, target, origin, backend, model, created, updated)
                 VALUES (?1, NULL, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                sid,
                p.source,
                p.target,
                origin,
                p.backend,
                p.model,
                created,
                now.max(created)
            ])?;
            stats.added += 1;
        }
        tx.commit()?;
        Ok(stats)
    }

    /// Close matches of `source` (word-level similarity of at least
    /// `min_score` percent on normalised text), best first, human first at
    /// equal scores, at most `limit`, one per distinct source (its best
    /// pair).
    pub fn fuzzy(
        &self,
        source: &str,
        min_score: u8,
        limit: usize,
    ) -> Result<Vec<Suggestion>, MemoryError> {
        let norm = normalize_key(source);
        let query = fuzzy::tokens(&norm);
        if query.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let k = fuzzy::max_edits(query.len(), min_score);
        let (lo, hi) = fuzzy::length_range(query.len(), min_score);
        let mut distinct = query.clone();
        distinct.sort_unstable();
        distinct.dedup();

        let candidates: Vec<(i64, String)> = if distinct.len() > k {
            // Document frequencies of the query's words, in one statement.
            let dfs: HashMap<String, i64> = {
                let placeholders = vec!["?"; distinct.len()].join(",");
                let sql = format!("SELECT token, n FROM token_df WHERE token IN ({placeholders})");
                let mut stmt = self.conn.prepare_cached(&sql)?;
                stmt.query_map(rusqlite::params_from_iter(distinct.iter()), |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect::<Result<_, _>>()?
            };
            let mut by_df: Vec<(i64, &str)> = distinct
                .iter()
                .map(|w| (dfs.get(*w).copied().unwrap_or(0), *w))
                .collect();
            by_df.sort_unstable();
            // Any k + 1 distinct words will do; the rarest give the fewest
            // candidates.
            let chosen: Vec<&str> = by_df.iter().take(k + 1).map(|(_, w)| *w).collect();
            if by_df.iter().take(k + 1).all(|(n, _)| *n == 0) {
                return Ok(Vec::new());
            }
            let placeholders = vec!["?"; chosen.len()].join(",");
            let sql = format!(
                "SELECT s.id, s.norm FROM sources s WHERE s.ntokens BETWEEN ? AND ? AND s.id IN
                   (SELECT source_id FROM tokens WHERE token IN ({placeholders}))"
            );
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let mut args: Vec<rusqlite::types::Value> =
                vec![(lo as i64).into(), (hi as i64).into()];
            args.extend(
                chosen
                    .iter()
                    .map(|w| rusqlite::types::Value::from(w.to_string())),
            );
            stmt.query_map(rusqlite::params_from_iter(args), |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<Result<_, _>>()?
        } else {
            // A query repeating few words: no word is sure to be shared, so
            // scan the sources of a fitting length (bounded).
            let mut stmt = self.conn.prepare_cached(
                "SELECT id, norm FROM sources WHERE ntokens BETWEEN ?1 AND ?2 LIMIT 20000",
            )?;
            stmt.query_map(params![lo as i64, hi as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<Result<_, _>>()?
        };

        let mut scored: Vec<(u8, i64)> = candidates
            .iter()
            .filter_map(|(id, cand)| {
                let s = fuzzy::similarity(&query, &fuzzy::tokens(cand));
                (s >= min_score).then_some((s, *id))
            })
            .collect();
        scored.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));

        let sql = format!(
            "SELECT {PAIR_COLUMNS} FROM pairs WHERE source_id = ?1
             ORDER BY origin = 'human' DESC, updated DESC, id DESC LIMIT 1"
        );
        let mut best = self.conn.prepare_cached(&sql)?;
        let mut out: Vec<Suggestion> = Vec::new();
        for (score, sid) in scored {
            if let Some(p) = best.query_row([sid], row_to_pair).optional()? {
                out.push(Suggestion {
                    score,
                    source: p.source,
                    target: p.target,
                    origin: p.origin,
                });
            }
            if out.len() >= limit * 4 {
                break;
            }
        }
        // Human first among equal scores.
        out.sort_by(|a, b| {
            b.score
                .cmp(&a.score)
                .then((b.origin == Origin::Human).cmp(&(a.origin == Origin::Human)))
        });
        out.truncate(limit);
        Ok(out)
    }

    /// Every stored pair, oldest first (for export).
    pub fn pairs(&self) -> Result<Vec<StoredPair>, MemoryError> {
        let sql = format!("SELECT {PAIR_COLUMNS} FROM pairs ORDER BY id");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], row_to_pair)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Counts for `memory stats`.
    pub fn stats(&self) -> Result<Stats, MemoryError> {
        let count = |sql: &str| -> Result<usize, MemoryError> {
            let n: i64 = self.conn.query_row(sql, [], |r| r.get(0))?;
            Ok(n as usize)
        };
        let (oldest, newest): (Option<i64>, Option<i64>) =
            self.conn
                .query_row("SELECT min(created), max(updated) FROM pairs", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
        let mut stmt = self.conn.prepare(
            "SELECT coalesce(backend, ''), coalesce(model, ''), count(*) FROM pairs
             GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2",
        )?;
        let by_backend = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as usize))
            })?
            .collect::<Result<_, _>>()?;
        let file_bytes = self
            .path
            .as_ref()
            .map(|p| {
                let wal = PathBuf::from(format!("{}-wal", p.display()));
                [p.as_path(), wal.as_path()]
                    .iter()
                    .filter_map(|f| std::fs::metadata(f).ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0);
        Ok(Stats {
            path: self.path.clone(),
            file_bytes,
            pairs: count("SELECT count(*) FROM pairs")?,
            human: count("SELECT count(*) FROM pairs WHERE origin = 'human'")?,
            mt: count("SELECT count(*) FROM pairs WHERE origin = 'mt'")?,
            distinct_sources: count("SELECT count(DISTINCT source_id) FROM pairs")?,
            by_backend,
            oldest,
            newest,
        })
    }

    /// `PRAGMA integrity_check`: `Ok(())` or the problems SQLite found.
    pub fn integrity_check(&self) -> Result<Result<(), Vec<String>>, MemoryError> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        if rows.len() == 1 && rows[0] == "ok" {
            Ok(Ok(()))
        } else {
            Ok(Err(rows))
        }
    }
}

#[cfg(test)]
mod tests;
