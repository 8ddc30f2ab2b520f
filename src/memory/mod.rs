/*!
The translation memory: never pay twice for a segment, never lose one.

One SQLite file (WAL mode, embedded, no server) plays two roles:

- the **cache**: every machine translation is stored under a key that is a
  blake3 hash of the normalised source and of everything that shapes the
  answer (backend kind, URL, model, prompt version and the segment's pinned
  terms). Changing any of them re-translates; nothing else does;
- the **translation memory**: every pair keeps its source, target, origin
  ([`Provenance`]: `mt`, `reviewed` or `human`), backend, model, document
  and timestamps. Look-ups rank human over reviewed over machine output;
  close matches (word-level similarity of at least 75%) are offered as
  suggestions.

Each batch is written in one transaction as soon as it arrives, so a crash
or SIGKILL loses at most the batches that were still in flight. An answer
that missed a pinned term is stored as *pending* until its re-request is
answered, so an interrupted run cannot leave a first draft as final.

The memory can be corrected: [`Memory::forget`] removes what a filter
selects, [`Memory::check`] verifies SQLite's and tarjama's invariants,
[`Memory::vacuum`] drops unused sources. Opening is safe when several
processes create the same file at once (busy waits and a retried set-up),
and [`Memory::open_existing`] never creates anything. A file with an older
schema is backed up and migrated when opened ([`schema`]). The API is
synchronous: one owner (a dedicated thread or `spawn_blocking`).
*/

pub mod fuzzy;
pub mod schema;
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
        "no translation memory at {path}; a memory is created by the first `tarjama translate` (or `tarjama memory import FILE.tmx`) with --memory {path} or TARJAMA_MEMORY set to it"
    )]
    Missing { path: PathBuf },
    #[error(
        "the translation memory {path} stayed locked by another process for too long; wait for the other tarjama to finish, or use --memory PATH for another file"
    )]
    Busy { path: PathBuf },
    #[error(
        "cannot copy the translation memory to {path} before migrating it to the new schema: {source}; free some space or make the folder writable"
    )]
    Backup {
        path: PathBuf,
        source: rusqlite::Error,
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
pub fn default_path(env: &crate::config::Env) -> Option<PathBuf> {
    crate::config::user_data_dir(env).map(|d| d.join("memory.sqlite"))
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

/// Where a stored translation comes from, best last: lookups rank
/// `Human` over `Reviewed` over `Mt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provenance {
    /// Engine output.
    Mt,
    /// Engine output a reviewer saw and kept as it was.
    Reviewed,
    /// Written or changed by a reviewer, or from a human TMX.
    Human,
}

impl Provenance {
    pub const ALL: [Provenance; 3] = [Provenance::Mt, Provenance::Reviewed, Provenance::Human];

    pub fn as_str(self) -> &'static str {
        match self {
            Provenance::Mt => "mt",
            Provenance::Reviewed => "reviewed",
            Provenance::Human => "human",
        }
    }

    /// `mt`, `reviewed` or `human` (any case); see the [`FromStr`](std::str::FromStr) impl.
    pub fn parse(s: &str) -> Option<Provenance> {
        s.parse().ok()
    }

    /// How a document shows a segment taken from the memory: a human
    /// translation as `human`, anything else (machine English, reviewed or
    /// not) as `memory`.
    pub fn document_origin(self) -> Origin {
        if self == Provenance::Human {
            Origin::Human
        } else {
            Origin::Memory
        }
    }
}

impl std::fmt::Display for Provenance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The one place the provenance vocabulary is read (the memory's own
/// column, `--origin`, a TMX unit's `x-origin`): `mt`, `reviewed` or
/// `human` in any case, and a document's words for engine output
/// (`machine`, `memory`) as `mt`.
impl std::str::FromStr for Provenance {
    type Err = String;

    fn from_str(s: &str) -> Result<Provenance, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("machine") || s.eq_ignore_ascii_case("memory") {
            return Ok(Provenance::Mt);
        }
        Provenance::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("{s:?} is not an origin; use mt, reviewed or human"))
    }
}

/// A machine translation to store under its cache key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MtEntry {
    pub key: String,
    pub source: String,
    pub target: String,
    pub backend: String,
    pub model: Option<String>,
    /// The answer missed a pinned term and its re-request is not answered
    /// yet: a later run re-requests it before using it.
    pub pending: bool,
    /// The input document, when known.
    pub document: Option<String>,
}

/// A pair without a cache key: a human translation (post-edit, reviewed
/// file, TMX import), a reviewed one, or an imported machine one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPair {
    pub source: String,
    pub target: String,
    pub origin: Provenance,
    pub backend: Option<String>,
    pub model: Option<String>,
    /// Unix seconds; now when absent.
    pub created: Option<i64>,
    /// The document the pair comes from, when known.
    pub document: Option<String>,
}

/// A stored pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredPair {
    pub id: i64,
    pub source: String,
    pub target: String,
    pub origin: Provenance,
    pub backend: Option<String>,
    pub model: Option<String>,
    /// Unix seconds.
    pub created: i64,
    pub updated: i64,
    /// Waiting for a re-request (machine pairs only).
    pub pending: bool,
    pub document: Option<String>,
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
    pub reviewed: usize,
    pub mt: usize,
    /// Machine pairs waiting for a re-request.
    pub pending: usize,
    pub distinct_sources: usize,
    /// Pairs per (backend, model), most first.
    pub by_backend: Vec<(String, String, usize)>,
    pub oldest: Option<i64>,
    pub newest: Option<i64>,
}

/// Which pairs `memory forget` removes: every condition given must hold
/// (none given matches nothing, so that a slip cannot empty the memory).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub backend: Option<String>,
    pub model: Option<String>,
    pub origin: Option<Provenance>,
    /// Stored (last written) at or after, Unix seconds.
    pub since: Option<i64>,
    /// Stored (last written) before, Unix seconds.
    pub until: Option<i64>,
    /// The document, as a glob (`*`, `?`) on the stored document name or
    /// path; a plain name also matches a path ending in it.
    pub document: Option<String>,
    /// The Arabic source, as a glob (`*`, `?`); without wildcards, any
    /// source containing it.
    pub source: Option<String>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    fn sql(&self) -> (String, Vec<rusqlite::types::Value>) {
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
        if let Some(b) = &self.backend {
            conds.push("backend = ?");
            args.push(b.clone().into());
        }
        if let Some(m) = &self.model {
            conds.push("model = ?");
            args.push(m.clone().into());
        }
        if let Some(o) = self.origin {
            conds.push("origin = ?");
            args.push(o.as_str().to_string().into());
        }
        if let Some(t) = self.since {
            conds.push("updated >= ?");
            args.push(t.into());
        }
        if let Some(t) = self.until {
            conds.push("updated < ?");
            args.push(t.into());
        }
        if let Some(d) = &self.document {
            conds.push("(document GLOB ? OR document GLOB ?)");
            args.push(d.clone().into());
            args.push(format!("*/{d}").into());
        }
        if let Some(s) = &self.source {
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
}

/// A pair found by `memory search`: its similarity (100 for an exact
/// match after normalisation) and the pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchHit {
    pub score: u8,
    #[serde(flatten)]
    pub pair: StoredPair,
}

/// What `memory vacuum` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct VacuumStats {
    /// Sources no pair refers to any more (with their word index), removed.
    pub orphan_sources: usize,
    pub bytes_before: u64,
    pub bytes_after: u64,
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

/// The file a version-`from` memory is copied to before its migration:
/// `NAME.v1-backup`, or `NAME.v1-backup.2`, ... when that one exists.
pub fn backup_path(path: &Path, from: i64) -> PathBuf {
    let base = format!("{}.v{from}-backup", path.display());
    let mut p = PathBuf::from(&base);
    let mut n = 2;
    while p.exists() {
        p = PathBuf::from(format!("{base}.{n}"));
        n += 1;
    }
    p
}

impl Memory {
    /// Open the memory at `path`, creating it (and its directory) when it
    /// does not exist; migrated first when it has an older schema (after a
    /// backup copy beside it).
    pub fn open(path: &Path) -> Result<Memory, MemoryError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| MemoryError::Dir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        Memory::open_file(path)
    }

    /// Open a memory that must already exist (read-only and maintenance
    /// commands): a missing file is [`MemoryError::Missing`] and nothing is
    /// created.
    pub fn open_existing(path: &Path) -> Result<Memory, MemoryError> {
        if !path.is_file() {
            return Err(MemoryError::Missing {
                path: path.to_path_buf(),
            });
        }
        Memory::open_file(path)
    }

    fn open_file(path: &Path) -> Result<Memory, MemoryError> {
        let open_err = |source| MemoryError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        Memory::init(conn, Some(path.to_path_buf())).map_err(|e| match e {
            MemoryError::Sql(source) if is_busy(&source) => MemoryError::Busy {
                path: path.to_path_buf(),
            },
            MemoryError::Sql(source) => open_err(source),
            e => e,
        })
    }

    /// A memory that lives only as long as the value (tests, `--no-memory`,
    /// `--dry-run` without a file).
    pub fn open_in_memory() -> Result<Memory, MemoryError> {
        Memory::init(Connection::open_in_memory()?, None)
    }

    fn init(conn: Connection, path: Option<PathBuf>) -> Result<Memory, MemoryError> {
        conn.busy_timeout(Duration::from_secs(10))?;
        // Fuzzy look-ups prepare one statement per query word count.
        conn.set_prepared_statement_cache_capacity(64);
        // Several processes may open a new file at the same moment: the
        // journal-mode switch and the schema set-up can meet a lock that
        // the busy handler does not wait for, so they are retried.
        let deadline = std::time::Instant::now() + SETUP_PATIENCE;
        let mut mem = Memory { conn, path };
        loop {
            match mem.setup() {
                Err(MemoryError::Sql(e)) if is_busy(&e) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20 + fastrand::u64(0..40)));
                }
                r => return r.map(|()| mem),
            }
        }
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
        if limit == 0 {
            return Ok(Vec::new());
        }
        let scored = self.scored_sources(source, min_score)?;
        let sql = format!(
            "SELECT {PAIR_COLUMNS} FROM pairs WHERE source_id = ?1
             ORDER BY {RANK}, pending ASC, updated DESC, id DESC LIMIT 1"
        );
        let mut best = self.conn.prepare_cached(&sql)?;
        let mut out: Vec<Suggestion> = Vec::new();
        for (score, sid) in scored {
            if let Some(p) = best.query_row([sid], row_to_pair).optional()? {
                out.push(Suggestion {
                    score,
                    source: p.source,
                    target: p.target,
                    origin: p.origin.document_origin(),
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

    /// The stored sources within `min_score` percent of `source`, with
    /// their score, best first.
    fn scored_sources(&self, source: &str, min_score: u8) -> Result<Vec<(u8, i64)>, MemoryError> {
        let norm = normalize_key(source);
        let query = fuzzy::tokens(&norm);
        if query.is_empty() {
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
        Ok(scored)
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
        let (cond, args) = filter.sql();
        let sql = format!("SELECT {PAIR_COLUMNS} FROM pairs WHERE {cond} ORDER BY id");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), row_to_pair)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Remove the pairs `filter` selects, in one transaction; how many.
    /// An empty filter removes nothing.
    pub fn forget(&mut self, filter: &Filter) -> Result<usize, MemoryError> {
        let (cond, args) = filter.sql();
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

    /// `memory search`: every pair of the same normalised source (score
    /// 100), then those of close sources (word-level similarity of at least
    /// `min_score`), best first, human before reviewed before machine at
    /// equal scores, at most `limit` pairs.
    pub fn search(
        &self,
        text: &str,
        min_score: u8,
        limit: usize,
    ) -> Result<Vec<SearchHit>, MemoryError> {
        let norm = normalize_key(text);
        let exact: Option<i64> = self
            .conn
            .query_row("SELECT id FROM sources WHERE norm = ?1", [&norm], |r| {
                r.get(0)
            })
            .optional()?;
        let mut sources: Vec<(u8, i64)> = exact.map(|id| (100, id)).into_iter().collect();
        for (score, id) in self.scored_sources(text, min_score)? {
            if Some(id) != exact {
                sources.push((score, id));
            }
        }
        let sql = format!(
            "SELECT {PAIR_COLUMNS} FROM pairs WHERE source_id = ?1
             ORDER BY {RANK}, updated DESC, id DESC"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut out = Vec::new();
        for (score, sid) in sources {
            for p in stmt.query_map([sid], row_to_pair)? {
                out.push(SearchHit { score, pair: p? });
                if out.len() >= limit {
                    return Ok(out);
                }
            }
        }
        Ok(out)
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
            problems.push(format!(
                "{} pair(s) filed under another source's normalised text (ids {}); export, delete and re-import the memory",
                wrong.len(),
                wrong
                    .iter()
                    .take(8)
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let mut stmt = self.conn.prepare("SELECT id, norm, ntokens FROM sources")?;
        let mut bad_index = 0;
        let mut tok = self
            .conn
            .prepare("SELECT count(*) FROM tokens WHERE source_id = ?1")?;
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
            let indexed: i64 = tok.query_row([id], |r| r.get(0))?;
            if n != words.len() as i64 || indexed != distinct.len() as i64 {
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

#[cfg(test)]
mod tests;
