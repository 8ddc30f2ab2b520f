/*!
The embedded memory: one SQLite file in WAL mode, the default. See the
parent module for what is stored and why; [`schema`](super::schema) has the
tables.
*/

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use super::*;

/// An open translation memory (one owner; not `Sync`).
pub struct SqliteStore {
    pub(super) conn: Connection,
    path: Option<PathBuf>,
    /// Sources this connection created whose words are not in the word
    /// index yet (see [`Staged`]).
    staged: Staged,
    /// Fuzzy candidates above this source id are not wanted
    /// ([`Memory::freeze_suggestions`]).
    candidates_up_to: i64,
}

/// A source created by this connection: id, normalised text, word count.
type NewSource = (i64, String, usize);

/// How many new sources wait before their words are written to the index
/// together. Each commit of a job's answers would otherwise write some
/// twenty random pages of the index per sentence.
const STAGE_LIMIT: usize = 512;

/// New sources whose words are not in the word index yet: written together
/// once [`STAGE_LIMIT`] of them wait, and when the memory is closed. Each
/// is listed in the `unindexed` table in the transaction that creates it, so
/// a process that dies before writing them leaves a list the next opening
/// indexes; meanwhile fuzzy look-ups find them here.
#[derive(Default)]
struct Staged {
    sources: Vec<NewSource>,
    /// Each distinct word → positions in `sources`.
    words: HashMap<String, Vec<usize>>,
}

impl Staged {
    fn push(&mut self, id: i64, norm: String, ntokens: usize) {
        let at = self.sources.len();
        let mut words = fuzzy::tokens(&norm);
        words.sort_unstable();
        words.dedup();
        for w in words {
            self.words.entry(w.to_string()).or_default().push(at);
        }
        self.sources.push((id, norm, ntokens));
    }

    fn clear(&mut self) {
        self.sources.clear();
        self.words.clear();
    }

    /// The staged sources of `lo..=hi` words holding one of `words` (all of
    /// that length when `words` is `None`), not among `seen`.
    fn candidates(
        &self,
        words: Option<&[&str]>,
        lo: usize,
        hi: usize,
        seen: &std::collections::HashSet<i64>,
        out: &mut Vec<(i64, String)>,
    ) {
        let fits = |&(id, _, n): &NewSource| (lo..=hi).contains(&n) && !seen.contains(&id);
        match words {
            Some(words) => {
                let mut at: Vec<usize> = words
                    .iter()
                    .filter_map(|w| self.words.get(*w))
                    .flatten()
                    .copied()
                    .collect();
                at.sort_unstable();
                at.dedup();
                out.extend(
                    at.into_iter()
                        .map(|i| &self.sources[i])
                        .filter(|s| fits(s))
                        .map(|(id, norm, _)| (*id, norm.clone())),
                );
            }
            None => out.extend(
                self.sources
                    .iter()
                    .filter(|s| fits(s))
                    .map(|(id, norm, _)| (*id, norm.clone())),
            ),
        }
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // What is not written now is written by the next opening.
        let _ = self.flush_index();
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

const PAIR_COLUMNS: &str =
    "id, source, target, origin, backend, model, created, updated, pending, document";

/// `ORDER BY` rank of an origin: human first, then reviewed, then machine.
const RANK: &str = "CASE origin WHEN 'human' THEN 2 WHEN 'reviewed' THEN 1 ELSE 0 END DESC";

fn row_to_pair(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredPair> {
    let origin: String = r.get(3)?;
    Ok(StoredPair {
        id: r.get(0)?,
        source: r.get(1)?,
        target: r.get(2)?,
        origin: Provenance::parse(&origin).unwrap_or(Provenance::Mt),
        backend: r.get(4)?,
        model: r.get(5)?,
        created: r.get(6)?,
        updated: r.get(7)?,
        pending: r.get::<_, i64>(8)? != 0,
        document: r.get(9)?,
    })
}

/// Whether an SQLite error is another connection holding a lock.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// How long opening waits for other processes setting up the same file.
const SETUP_PATIENCE: Duration = Duration::from_secs(30);

impl SqliteStore {
    /// Open the memory at `path`, creating it (and its directory) when it
    /// does not exist; migrated first when it has an older schema (after a
    /// backup copy beside it).
    pub fn open(path: &Path) -> Result<SqliteStore, MemoryError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| MemoryError::Dir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        SqliteStore::open_file(path)
    }

    /// Open a memory that must already exist (read-only and maintenance
    /// commands): a missing file is [`MemoryError::Missing`] and nothing is
    /// created.
    pub fn open_existing(path: &Path) -> Result<SqliteStore, MemoryError> {
        if !path.is_file() {
            return Err(MemoryError::Missing {
                path: path.to_path_buf(),
            });
        }
        SqliteStore::open_file(path)
    }

    fn open_file(path: &Path) -> Result<SqliteStore, MemoryError> {
        let open_err = |source| MemoryError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        SqliteStore::init(conn, Some(path.to_path_buf())).map_err(|e| match e {
            MemoryError::Sql(source) if is_busy(&source) => MemoryError::Busy {
                path: path.to_path_buf(),
            },
            MemoryError::Sql(source) => open_err(source),
            e => e,
        })
    }

    /// A memory that lives only as long as the value (tests, `--no-memory`,
    /// `--dry-run` without a file).
    pub fn open_in_memory() -> Result<SqliteStore, MemoryError> {
        SqliteStore::init(Connection::open_in_memory()?, None)
    }

    fn init(conn: Connection, path: Option<PathBuf>) -> Result<SqliteStore, MemoryError> {
        conn.busy_timeout(Duration::from_secs(10))?;
        // Fuzzy look-ups prepare one statement per query word count.
        conn.set_prepared_statement_cache_capacity(64);
        // Several processes may open a new file at the same moment: the
        // journal-mode switch and the schema set-up can meet a lock that
        // the busy handler does not wait for, so they are retried.
        let deadline = std::time::Instant::now() + SETUP_PATIENCE;
        let mut mem = SqliteStore {
            conn,
            path,
            staged: Staged::default(),
            candidates_up_to: i64::MAX,
        };
        loop {
            match mem.setup() {
                Err(MemoryError::Sql(e)) if is_busy(&e) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20 + fastrand::u64(0..40)));
                }
                r => {
                    r?;
                    break;
                }
            }
        }
        // Sources a process that died left out of the word index: indexed
        // now when the file can be written (a read-only file keeps its
        // list, and fuzzy look-ups miss those sources until then).
        let _ = mem.index_leftovers();
        Ok(mem)
    }

    fn setup(&mut self) -> Result<(), MemoryError> {
        let conn = &self.conn;
        if self.path.is_some() {
            let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
                if !mode.eq_ignore_ascii_case("wal") {
                    return Err(MemoryError::Sql(rusqlite::Error::InvalidQuery));
                }
            }
        }
        // In WAL mode NORMAL survives any crash of the process (the commit
        // is in the WAL file); only a power cut may lose the last commits.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        // The word index is written and read at random places: a page cache
        // of 32 MiB (the default is 2 MiB) keeps a job's working set in
        // memory instead of re-reading pages from the OS on every commit.
        conn.pragma_update(None, "cache_size", -32 * 1024)?;
        let version = self.version()?;
        if version == schema::SCHEMA_VERSION {
            return Ok(());
        }
        if version > schema::SCHEMA_VERSION {
            return Err(MemoryError::Schema {
                path: self.path.clone().unwrap_or_default(),
                found: version,
                known: schema::SCHEMA_VERSION,
            });
        }
        if version >= 1
            && let Some(p) = &self.path
        {
            // A copy first (consistent, WAL included), outside the
            // migration's transaction.
            let backup = backup_path(p, version);
            conn.execute("VACUUM INTO ?1", [backup.to_string_lossy()])
                .map_err(|source| {
                    if backup.exists() {
                        // Another process opening the same old file made
                        // its backup at the same moment: wait for it.
                        MemoryError::Sql(rusqlite::Error::SqliteFailure(
                            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                            None,
                        ))
                    } else {
                        MemoryError::Backup {
                            path: backup.clone(),
                            source,
                        }
                    }
                })?;
        }
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Another process may have set the file up meanwhile.
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version == 1 {
            tx.execute_batch(&schema::migrate_1_to_2())?;
        }
        if (1..=2).contains(&version) {
            tx.execute_batch(&schema::migrate_2_to_3())?;
        }
        if version < schema::SCHEMA_VERSION {
            tx.execute_batch(&schema::create())?;
            tx.pragma_update(None, "user_version", schema::SCHEMA_VERSION)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The schema version in the file (0: a new, empty file).
    fn version(&self) -> Result<i64, MemoryError> {
        let v: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if v == 0 {
            // A file made before versions were written has the tables.
            let tables: i64 = self.conn.query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'pairs'",
                [],
                |r| r.get(0),
            )?;
            if tables > 0 {
                return Ok(1);
            }
        }
        Ok(v)
    }

    /// The schema version of the open file.
    pub fn schema_version(&self) -> Result<i64, MemoryError> {
        self.version()
    }

    /// The file, if the memory is on disk.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The best stored translation for a segment: the newest human
    /// translation of the same normalised source, else the newest reviewed
    /// one, else the machine translation stored under `key` (which may be
    /// [`StoredPair::pending`]).
    pub fn lookup(&self, key: &str, source: &str) -> Result<Option<StoredPair>, MemoryError> {
        if let Some(h) = self.lookup_keyless(source)? {
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

    /// The newest human translation of `source` (after normalisation), else
    /// the newest reviewed one.
    pub fn lookup_keyless(&self, source: &str) -> Result<Option<StoredPair>, MemoryError> {
        let sql = format!(
            "SELECT {PAIR_COLUMNS} FROM pairs WHERE origin IN ('human', 'reviewed') AND source_id =
               (SELECT id FROM sources WHERE norm = ?1)
             ORDER BY {RANK}, updated DESC, id DESC LIMIT 1"
        );
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([normalize_key(source)], row_to_pair)
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
    /// engine made it: human, else reviewed, else the newest machine one
    /// that is not pending. Used when no engine is configured.
    pub fn lookup_any(&self, source: &str) -> Result<Option<StoredPair>, MemoryError> {
        let sql = format!(
            "SELECT {PAIR_COLUMNS} FROM pairs WHERE source_id =
               (SELECT id FROM sources WHERE norm = ?1)
             ORDER BY {RANK}, pending ASC, updated DESC, id DESC LIMIT 1"
        );
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([normalize_key(source)], row_to_pair)
            .optional()?)
    }

    /// The id of the source row for `norm`, creating it when new (listed in
    /// `unindexed`, and in `created` for the staged word index). Must run
    /// inside a transaction.
    fn source_id(
        tx: &rusqlite::Transaction<'_>,
        norm: &str,
        created: &mut Vec<NewSource>,
    ) -> Result<i64, MemoryError> {
        if let Some(id) = tx
            .prepare_cached("SELECT id FROM sources WHERE norm = ?1")?
            .query_row([norm], |r| r.get(0))
            .optional()?
        {
            return Ok(id);
        }
        let n = fuzzy::tokens(norm).len();
        tx.prepare_cached("INSERT INTO sources (norm, ntokens) VALUES (?1, ?2)")?
            .execute(params![norm, n as i64])?;
        let id = tx.last_insert_rowid();
        tx.prepare_cached("INSERT INTO unindexed (source_id) VALUES (?1)")?
            .execute([id])?;
        created.push((id, norm.to_string(), n));
        Ok(id)
    }

    /// After a write transaction's inserts: the sources it created join the
    /// staged ones; once [`STAGE_LIMIT`] wait, all their words are written
    /// in `tx`. Returns the new staged list, to keep once `tx` commits.
    fn stage(
        tx: &rusqlite::Transaction<'_>,
        staged: &Staged,
        created: Vec<NewSource>,
    ) -> Result<Option<Vec<NewSource>>, MemoryError> {
        if staged.sources.len() + created.len() < STAGE_LIMIT {
            return Ok(Some(created));
        }
        let all = staged
            .sources
            .iter()
            .map(|(id, norm, _)| (*id, norm.as_str()))
            .chain(created.iter().map(|(id, norm, _)| (*id, norm.as_str())));
        write_index(tx, all)?;
        Ok(None)
    }

    /// Keep what [`SqliteStore::stage`] decided once its transaction
    /// committed: more staged sources, or none (they were written).
    fn staged_after_commit(&mut self, outcome: Option<Vec<NewSource>>) {
        match outcome {
            Some(created) => {
                for (id, norm, n) in created {
                    self.staged.push(id, norm, n);
                }
            }
            None => self.staged.clear(),
        }
    }

    /// Write the staged sources' words to the index now.
    pub fn flush_index(&mut self) -> Result<(), MemoryError> {
        if self.staged.sources.is_empty() {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        write_index(
            &tx,
            self.staged
                .sources
                .iter()
                .map(|(id, norm, _)| (*id, norm.as_str())),
        )?;
        tx.commit()?;
        self.staged.clear();
        Ok(())
    }

    /// Index the sources listed in `unindexed` that no live connection of
    /// this one staged: those a process that died left.
    fn index_leftovers(&mut self) -> Result<(), MemoryError> {
        let any: Option<i64> = self
            .conn
            .query_row("SELECT source_id FROM unindexed LIMIT 1", [], |r| r.get(0))
            .optional()?;
        if any.is_none() {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let left: Vec<(i64, String)> = {
            let mut stmt = tx.prepare(
                "SELECT s.id, s.norm FROM unindexed u JOIN sources s ON s.id = u.source_id",
            )?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?
        };
        write_index(&tx, left.iter().map(|(id, n)| (*id, n.as_str())))?;
        // Listed but gone (removed meanwhile).
        tx.execute(
            "DELETE FROM unindexed WHERE source_id NOT IN (SELECT id FROM sources)",
            [],
        )?;
        tx.commit()?;
        Ok(())
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
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut created = Vec::new();
        for e in entries {
            let sid = SqliteStore::source_id(&tx, &normalize_key(&e.source), &mut created)?;
            tx.prepare_cached(
                "INSERT INTO pairs (source_id, cache_key, source, target, origin, backend, model, created, updated, pending, document)
                 VALUES (?1, ?2, ?3, ?4, 'mt', ?5, ?6, ?7, ?7, ?8, ?9)
                 ON CONFLICT(cache_key) WHERE cache_key IS NOT NULL DO UPDATE SET
                   source = excluded.source, target = excluded.target,
                   backend = excluded.backend, model = excluded.model, updated = excluded.updated,
                   pending = excluded.pending, document = coalesce(excluded.document, document)",
            )?
            .execute(params![
                sid,
                e.key,
                e.source,
                e.target,
                e.backend,
                e.model,
                now,
                i64::from(e.pending),
                e.document
            ])?;
        }
        let staged = SqliteStore::stage(&tx, &self.staged, created)?;
        tx.commit()?;
        self.staged_after_commit(staged);
        Ok(())
    }

    /// Add pairs without a cache key (human translations, imports) in one
    /// transaction. The same source, origin and target is stored once.
    pub fn add_pairs(&mut self, pairs: &[NewPair]) -> Result<AddStats, MemoryError> {
        let now = time::now_unix();
        let mut stats = AddStats::default();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut created = Vec::new();
        for p in pairs {
            if p.source.trim().is_empty() || p.target.trim().is_empty() {
                stats.skipped += 1;
                continue;
            }
            let sid = SqliteStore::source_id(&tx, &normalize_key(&p.source), &mut created)?;
            let origin = p.origin.as_str();
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
                "INSERT INTO pairs (source_id, cache_key, source, target, origin, backend, model, created, updated, document)
                 VALUES (?1, NULL, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                sid,
                p.source,
                p.target,
                origin,
                p.backend,
                p.model,
                created,
                now.max(created),
                p.document
            ])?;
            stats.added += 1;
        }
        let staged = SqliteStore::stage(&tx, &self.staged, created)?;
        tx.commit()?;
        self.staged_after_commit(staged);
        Ok(stats)
    }

    /// Fuzzy candidates: the sources of `lo..=hi` words that contain one
    /// of the `k + 1` rarest of the query's `distinct` words (all sources
    /// of that length when the query has at most `k` distinct words),
    /// from the word index and from the sources staged for it.
    pub(super) fn candidates(
        &self,
        distinct: &[&str],
        k: usize,
        lo: usize,
        hi: usize,
    ) -> Result<Vec<(i64, String)>, MemoryError> {
        let mut out: Vec<(i64, String)>;
        let chosen: Option<Vec<&str>> = if distinct.len() > k {
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
            out = if by_df.iter().take(k + 1).all(|(n, _)| *n == 0) {
                Vec::new()
            } else {
                let placeholders = vec!["?"; chosen.len()].join(",");
                // The index's key (word, word count, source) makes this one
                // range per chosen word, over the fitting lengths only.
                let sql = format!(
                    "SELECT s.id, s.norm FROM sources s WHERE s.id IN
                       (SELECT source_id FROM tokens
                        WHERE ntokens BETWEEN ? AND ? AND source_id <= ? AND token IN ({placeholders}))"
                );
                let mut stmt = self.conn.prepare_cached(&sql)?;
                let mut args: Vec<rusqlite::types::Value> = vec![
                    (lo as i64).into(),
                    (hi as i64).into(),
                    self.candidates_up_to.into(),
                ];
                args.extend(
                    chosen
                        .iter()
                        .map(|w| rusqlite::types::Value::from(w.to_string())),
                );
                stmt.query_map(rusqlite::params_from_iter(args), |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect::<Result<_, _>>()?
            };
            Some(chosen)
        } else {
            // A query repeating few words: no word is sure to be shared, so
            // scan the sources of a fitting length (bounded).
            let mut stmt = self.conn.prepare_cached(
                "SELECT id, norm FROM sources WHERE ntokens BETWEEN ?1 AND ?2 AND id <= ?3
                 LIMIT 20000",
            )?;
            out = stmt
                .query_map(params![lo as i64, hi as i64, self.candidates_up_to], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect::<Result<_, _>>()?;
            None
        };
        if !self.staged.sources.is_empty() && self.staged.sources[0].0 <= self.candidates_up_to {
            // Another connection may have indexed a staged source already.
            let seen: std::collections::HashSet<i64> = out.iter().map(|(id, _)| *id).collect();
            self.staged
                .candidates(chosen.as_deref(), lo, hi, &seen, &mut out);
        }
        Ok(out)
    }

    /// The highest source id (0: none).
    pub(super) fn max_source_id(&self) -> Result<i64, MemoryError> {
        Ok(self
            .conn
            .query_row("SELECT coalesce(max(id), 0) FROM sources", [], |r| r.get(0))?)
    }

    /// Leave sources above `max_id` out of the fuzzy candidates.
    pub(super) fn limit_candidates(&mut self, max_id: i64) {
        self.candidates_up_to = max_id;
    }

    /// The source row of exactly this normalised text.
    pub(super) fn exact_source(&self, norm: &str) -> Result<Option<i64>, MemoryError> {
        Ok(self
            .conn
            .prepare_cached("SELECT id FROM sources WHERE norm = ?1")?
            .query_row([norm], |r| r.get(0))
            .optional()?)
    }

    /// The pairs of a source, best first (human, reviewed, machine; newest
    /// first); with `best_only` the one best pair, a final one before a
    /// pending one.
    pub(super) fn source_pairs(
        &self,
        sid: i64,
        best_only: bool,
    ) -> Result<Vec<StoredPair>, MemoryError> {
        let sql = if best_only {
            format!(
                "SELECT {PAIR_COLUMNS} FROM pairs WHERE source_id = ?1
                 ORDER BY {RANK}, pending ASC, updated DESC, id DESC LIMIT 1"
            )
        } else {
            format!(
                "SELECT {PAIR_COLUMNS} FROM pairs WHERE source_id = ?1
                 ORDER BY {RANK}, updated DESC, id DESC"
            )
        };
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([sid], row_to_pair)?;
        Ok(rows.collect::<Result<_, _>>()?)
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
        let file_bytes = self.file_bytes();
        Ok(Stats {
            path: self.path.clone(),
            file_bytes,
            pairs: count("SELECT count(*) FROM pairs")?,
            human: count("SELECT count(*) FROM pairs WHERE origin = 'human'")?,
            reviewed: count("SELECT count(*) FROM pairs WHERE origin = 'reviewed'")?,
            mt: count("SELECT count(*) FROM pairs WHERE origin = 'mt'")?,
            pending: count("SELECT count(*) FROM pairs WHERE pending = 1")?,
            distinct_sources: count("SELECT count(DISTINCT source_id) FROM pairs")?,
            by_backend,
            oldest,
            newest,
        })
    }

    /// Bytes of the file and its WAL.
    fn file_bytes(&self) -> u64 {
        self.path
            .as_ref()
            .map(|p| {
                let wal = PathBuf::from(format!("{}-wal", p.display()));
                [p.as_path(), wal.as_path()]
                    .iter()
                    .filter_map(|f| std::fs::metadata(f).ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }

    /// The pairs `filter` selects, oldest first.
    pub fn select(&self, filter: &Filter) -> Result<Vec<StoredPair>, MemoryError> {
        let (cond, args) = filter_sql(filter);
        let sql = format!("SELECT {PAIR_COLUMNS} FROM pairs WHERE {cond} ORDER BY id");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), row_to_pair)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Remove the pairs `filter` selects, in one transaction; how many.
    /// An empty filter removes nothing.
    pub fn forget(&mut self, filter: &Filter) -> Result<usize, MemoryError> {
        let (cond, args) = filter_sql(filter);
        let tx = self.write_transaction()?;
        let n = tx.execute(
            &format!("DELETE FROM pairs WHERE {cond}"),
            rusqlite::params_from_iter(args),
        )?;
        tx.commit()?;
        Ok(n)
    }

    /// Remove the machine pair stored under each of `keys` (for `translate
    /// --refresh`, after their new answers are stored they are written
    /// again); how many there were.
    pub fn forget_keys(&mut self, keys: &[String]) -> Result<usize, MemoryError> {
        let tx = self.write_transaction()?;
        let mut n = 0;
        for k in keys {
            n += tx
                .prepare_cached("DELETE FROM pairs WHERE cache_key = ?1 AND origin = 'mt'")?
                .execute([k])?;
        }
        tx.commit()?;
        Ok(n)
    }

    /// `memory check`: SQLite's `integrity_check` and `foreign_key_check`,
    /// then tarjama's own invariants: each pair's source is its source
    /// row's normalised text, machine pairs (and only they) have a cache
    /// key, only machine pairs are pending, no target is empty, and the
    /// word index matches the sources. The problems found, none when sound.
    pub fn check(&self) -> Result<Vec<String>, MemoryError> {
        let mut problems = match self.integrity_check()? {
            Ok(()) => Vec::new(),
            Err(p) => return Ok(p.into_iter().map(|p| format!("sqlite: {p}")).collect()),
        };
        let fk: i64 =
            self.conn
                .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                    r.get(0)
                })?;
        if fk > 0 {
            problems.push(format!("{fk} row(s) refer to a missing source"));
        }
        let count = |sql: &str| -> Result<i64, MemoryError> {
            Ok(self.conn.query_row(sql, [], |r| r.get(0))?)
        };
        for (sql, what) in [
            (
                "SELECT count(*) FROM pairs WHERE origin <> 'mt' AND cache_key IS NOT NULL",
                "reviewed or human pair(s) carry a machine cache key",
            ),
            (
                "SELECT count(*) FROM pairs WHERE pending = 1 AND origin <> 'mt'",
                "reviewed or human pair(s) marked pending",
            ),
            (
                "SELECT count(*) FROM pairs WHERE trim(target) = '' OR trim(source) = ''",
                "pair(s) with an empty source or target",
            ),
            (
                "SELECT count(*) FROM token_df d WHERE n <> (SELECT count(*) FROM tokens t WHERE t.token = d.token)",
                "word index count(s) out of step with the index",
            ),
            (
                "SELECT count(*) FROM tokens t JOIN sources s ON s.id = t.source_id WHERE t.ntokens <> s.ntokens",
                "word index entries with a wrong word count",
            ),
        ] {
            let n = count(sql)?;
            if n > 0 {
                problems.push(format!("{n} {what}"));
            }
        }
        let mut stmt = self.conn.prepare(
            "SELECT p.id, p.source, s.norm FROM pairs p JOIN sources s ON s.id = p.source_id",
        )?;
        let mut wrong = Vec::new();
        for row in stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })? {
            let (id, source, norm) = row?;
            if normalize_key(&source) != norm {
                wrong.push(id);
            }
        }
        if !wrong.is_empty() {
            problems.push(super::misfiled(&wrong));
        }
        let indexed: HashMap<i64, i64> = {
            let mut stmt = self
                .conn
                .prepare("SELECT source_id, count(*) FROM tokens GROUP BY source_id")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?
        };
        // Sources another connection has not indexed yet.
        let unindexed: std::collections::HashSet<i64> = {
            let mut stmt = self.conn.prepare("SELECT source_id FROM unindexed")?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?
        };
        let mut stmt = self.conn.prepare("SELECT id, norm, ntokens FROM sources")?;
        let mut bad_index = 0;
        for row in stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })? {
            let (id, norm, n) = row?;
            let words = fuzzy::tokens(&norm);
            let mut distinct = words.clone();
            distinct.sort_unstable();
            distinct.dedup();
            let indexed = indexed.get(&id).copied().unwrap_or(0);
            let expected = if unindexed.contains(&id) {
                0
            } else {
                distinct.len() as i64
            };
            if n != words.len() as i64 || indexed != expected {
                bad_index += 1;
            }
        }
        if bad_index > 0 {
            problems.push(format!(
                "{bad_index} source(s) whose word index does not match their text"
            ));
        }
        Ok(problems)
    }

    /// `memory vacuum`: drop sources no pair refers to any more (and their
    /// word index), then rebuild the file without free pages.
    pub fn vacuum(&mut self) -> Result<VacuumStats, MemoryError> {
        let bytes_before = self.file_bytes();
        self.flush_index()?;
        let tx = self.write_transaction()?;
        let orphans: Vec<i64> = {
            let mut stmt = tx.prepare(
                "SELECT id FROM sources WHERE NOT EXISTS (SELECT 1 FROM pairs WHERE source_id = sources.id)",
            )?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?
        };
        for id in &orphans {
            tx.execute(
                "UPDATE token_df SET n = n - 1 WHERE token IN (SELECT token FROM tokens WHERE source_id = ?1)",
                [id],
            )?;
            tx.execute("DELETE FROM tokens WHERE source_id = ?1", [id])?;
            tx.execute("DELETE FROM unindexed WHERE source_id = ?1", [id])?;
            tx.execute("DELETE FROM sources WHERE id = ?1", [id])?;
        }
        tx.execute("DELETE FROM token_df WHERE n <= 0", [])?;
        tx.commit()?;
        self.conn.execute_batch("VACUUM")?;
        if self.path.is_some() {
            self.conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        }
        Ok(VacuumStats {
            orphan_sources: orphans.len(),
            bytes_before,
            bytes_after: self.file_bytes(),
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

/// Write the words of `sources` (id, normalised text) to the index in
/// `tx`: each one still listed in `unindexed` (another connection may have
/// written it meanwhile), sorted so that the inserts walk the index in
/// order, with one document-frequency update per distinct word.
fn write_index<'a>(
    tx: &rusqlite::Transaction<'_>,
    sources: impl Iterator<Item = (i64, &'a str)>,
) -> Result<(), MemoryError> {
    let mut rows: Vec<(&str, i64, i64)> = Vec::new();
    let mut claim = tx.prepare_cached("DELETE FROM unindexed WHERE source_id = ?1")?;
    for (id, norm) in sources {
        if claim.execute([id])? == 0 {
            continue;
        }
        let mut words = fuzzy::tokens(norm);
        let n = words.len() as i64;
        words.sort_unstable();
        words.dedup();
        rows.extend(words.into_iter().map(|w| (w, n, id)));
    }
    rows.sort_unstable();
    let mut ins =
        tx.prepare_cached("INSERT INTO tokens (token, ntokens, source_id) VALUES (?1, ?2, ?3)")?;
    for (w, n, id) in &rows {
        ins.execute(params![w, n, id])?;
    }
    let mut df = tx.prepare_cached(
        "INSERT INTO token_df (token, n) VALUES (?1, ?2)
         ON CONFLICT(token) DO UPDATE SET n = n + excluded.n",
    )?;
    for group in rows.chunk_by(|a, b| a.0 == b.0) {
        df.execute(params![group[0].0, group.len() as i64])?;
    }
    Ok(())
}

pub(super) fn filter_sql(f: &Filter) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value;
    let mut conds: Vec<&str> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let glob = |g: &str| -> String {
        if g.contains(['*', '?', '[']) {
            g.to_string()
        } else {
            format!("*{g}*")
        }
    };
    if let Some(b) = &f.backend {
        conds.push("backend = ?");
        args.push(b.clone().into());
    }
    if let Some(m) = &f.model {
        conds.push("model = ?");
        args.push(m.clone().into());
    }
    if let Some(o) = f.origin {
        conds.push("origin = ?");
        args.push(o.as_str().to_string().into());
    }
    if let Some(t) = f.since {
        conds.push("updated >= ?");
        args.push(t.into());
    }
    if let Some(t) = f.until {
        conds.push("updated < ?");
        args.push(t.into());
    }
    if let Some(d) = &f.document {
        conds.push("(document GLOB ? OR document GLOB ?)");
        args.push(d.clone().into());
        args.push(format!("*/{d}").into());
    }
    if let Some(s) = &f.source {
        conds.push("source GLOB ?");
        args.push(glob(s).into());
    }
    let sql = if conds.is_empty() {
        "0".to_string()
    } else {
        conds.join(" AND ")
    };
    (sql, args)
}
