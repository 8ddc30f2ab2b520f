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
pub mod pg;
pub mod schema;
pub mod sqlite;
pub mod time;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

pub use pg::PgStore;
pub use sqlite::SqliteStore;

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
    #[error("the shared translation memory {location}: {message}")]
    Pg { location: String, message: String },
    #[error(
        "the shared translation memory {location} has schema version {found}, newer than this tarjama knows ({known}); upgrade tarjama on this machine"
    )]
    PgSchema {
        location: String,
        found: i64,
        known: i64,
    },
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
}

/// A pair found by `memory search`: its similarity (100 for an exact
/// match after normalisation) and the pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchHit {
    pub score: u8,
    #[serde(flatten)]
    pub pair: StoredPair,
}

/// What `memory migrate` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MergeStats {
    /// Pairs the target did not have.
    pub added: usize,
    /// Machine pairs that replaced a pending or older one under the same key.
    pub replaced: usize,
    /// Pairs the target already had (or had better).
    pub kept: usize,
    /// Pairs with an empty source or target.
    pub skipped: usize,
}

/// The dates a pair copied by `memory migrate` keeps: the pair is the
/// machine one under `key`, or (without a key) the one of this source,
/// origin and English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub key: Option<String>,
    pub source: String,
    pub origin: Provenance,
    pub target: String,
    pub created: i64,
    pub updated: i64,
}

/// What `memory vacuum` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct VacuumStats {
    /// Sources no pair refers to any more (with their word index), removed.
    pub orphan_sources: usize,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

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

/// Whether `--memory`, `TARJAMA_MEMORY(_URL)` or the config named a
/// PostgreSQL database (`postgres://` or `postgresql://`) rather than a file.
pub fn is_url(location: &Path) -> bool {
    location
        .to_str()
        .is_some_and(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"))
}

/// Whether the memory at `location` exists: the file, or (for a database)
/// always true, since the server is asked when it is opened.
pub fn exists(location: &Path) -> bool {
    is_url(location) || location.exists()
}

/// How long another process may hold a segment it claimed before the
/// claim counts as abandoned (its process died): [`DEFAULT_LEASE`] unless
/// `TARJAMA_MEMORY_LEASE_MS` says otherwise (read into
/// [`MemoryAccess::lease`]). A live process renews its claims well before
/// they expire.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

pub use crate::config::MemoryAccess;

/// What a memory implementation provides. [`Memory`] is the handle every
/// caller uses; the fuzzy scoring and the look-up order are written once
/// there over these primitives, so that both implementations give the
/// same answers.
pub trait Store: Send {
    /// The file, if the memory is one.
    fn path(&self) -> Option<&Path>;
    /// The file or the database's URL (never with a password).
    fn location(&self) -> String;
    fn schema_version(&self) -> Result<i64, MemoryError>;
    fn lookup_key(&self, key: &str) -> Result<Option<StoredPair>, MemoryError>;
    fn lookup_keyless(&self, source: &str) -> Result<Option<StoredPair>, MemoryError>;
    fn lookup_human(&self, source: &str) -> Result<Option<StoredPair>, MemoryError>;
    fn lookup_any(&self, source: &str) -> Result<Option<StoredPair>, MemoryError>;
    fn store_mt(&mut self, entries: &[MtEntry]) -> Result<(), MemoryError>;
    fn add_pairs(&mut self, pairs: &[NewPair]) -> Result<AddStats, MemoryError>;
    /// Fuzzy candidates `(source id, normalised text)`: sources of
    /// `lo..=hi` words sharing at least one of `k + 1` of the query's
    /// `distinct` words (every source of that length when there are at
    /// most `k`). Never misses a source that could reach the threshold.
    fn candidates(
        &self,
        distinct: &[&str],
        k: usize,
        lo: usize,
        hi: usize,
    ) -> Result<Vec<(i64, String)>, MemoryError>;
    fn exact_source(&self, norm: &str) -> Result<Option<i64>, MemoryError>;
    /// The highest source id so far (0 when there is none): the memory as
    /// a job found it, for [`Memory::freeze_suggestions`].
    fn max_source_id(&self) -> Result<i64, MemoryError>;
    /// From now on, [`Store::candidates`] need not return sources above
    /// `max_id` (the caller drops them anyway); an implementation may use
    /// it to read less.
    fn limit_candidates(&mut self, _max_id: i64) {}
    fn source_pairs(&self, sid: i64, best_only: bool) -> Result<Vec<StoredPair>, MemoryError>;
    fn pairs(&self) -> Result<Vec<StoredPair>, MemoryError>;
    fn stats(&self) -> Result<Stats, MemoryError>;
    fn select(&self, filter: &Filter) -> Result<Vec<StoredPair>, MemoryError>;
    fn forget(&mut self, filter: &Filter) -> Result<usize, MemoryError>;
    fn forget_keys(&mut self, keys: &[String]) -> Result<usize, MemoryError>;
    fn check(&self) -> Result<Vec<String>, MemoryError>;
    fn vacuum(&mut self) -> Result<VacuumStats, MemoryError>;
    fn integrity_check(&self) -> Result<Result<(), Vec<String>>, MemoryError>;
    /// Claim `keys` for sending; the ones granted (free, expired, or
    /// already ours). A memory one process owns grants everything.
    fn claim(&mut self, keys: &[String], lease: Duration) -> Result<Vec<String>, MemoryError>;
    /// Give up this process's claims on `keys` (not sent after all).
    fn release(&mut self, keys: &[String]) -> Result<(), MemoryError>;
    /// Whether several processes share this memory (claims mean something).
    fn shared(&self) -> bool;
    /// The cache key of every machine pair that has one, by pair id.
    fn cache_keys(&self) -> Result<Vec<(i64, String)>, MemoryError>;
    /// Give pairs copied from another memory their own dates (`memory
    /// migrate`), in one transaction: each one's `created` becomes the
    /// earlier of its own and the stamp's, its `updated` the stamp's.
    fn restamp(&mut self, stamps: &[Stamp]) -> Result<(), MemoryError>;
    /// The SQLite store behind this one, if it is one (tests of the file).
    #[doc(hidden)]
    fn as_sqlite(&self) -> Option<&SqliteStore> {
        None
    }
}

impl Store for SqliteStore {
    fn path(&self) -> Option<&Path> {
        SqliteStore::path(self)
    }
    fn location(&self) -> String {
        SqliteStore::path(self).map_or_else(|| "(in memory)".into(), |p| p.display().to_string())
    }
    fn schema_version(&self) -> Result<i64, MemoryError> {
        SqliteStore::schema_version(self)
    }
    fn lookup_key(&self, key: &str) -> Result<Option<StoredPair>, MemoryError> {
        SqliteStore::lookup_key(self, key)
    }
    fn lookup_keyless(&self, source: &str) -> Result<Option<StoredPair>, MemoryError> {
        SqliteStore::lookup_keyless(self, source)
    }
    fn lookup_human(&self, source: &str) -> Result<Option<StoredPair>, MemoryError> {
        SqliteStore::lookup_human(self, source)
    }
    fn lookup_any(&self, source: &str) -> Result<Option<StoredPair>, MemoryError> {
        SqliteStore::lookup_any(self, source)
    }
    fn store_mt(&mut self, entries: &[MtEntry]) -> Result<(), MemoryError> {
        SqliteStore::store_mt(self, entries)
    }
    fn add_pairs(&mut self, pairs: &[NewPair]) -> Result<AddStats, MemoryError> {
        SqliteStore::add_pairs(self, pairs)
    }
    fn candidates(
        &self,
        distinct: &[&str],
        k: usize,
        lo: usize,
        hi: usize,
    ) -> Result<Vec<(i64, String)>, MemoryError> {
        SqliteStore::candidates(self, distinct, k, lo, hi)
    }
    fn exact_source(&self, norm: &str) -> Result<Option<i64>, MemoryError> {
        SqliteStore::exact_source(self, norm)
    }
    fn max_source_id(&self) -> Result<i64, MemoryError> {
        SqliteStore::max_source_id(self)
    }
    fn limit_candidates(&mut self, max_id: i64) {
        SqliteStore::limit_candidates(self, max_id)
    }
    fn source_pairs(&self, sid: i64, best_only: bool) -> Result<Vec<StoredPair>, MemoryError> {
        SqliteStore::source_pairs(self, sid, best_only)
    }
    fn pairs(&self) -> Result<Vec<StoredPair>, MemoryError> {
        SqliteStore::pairs(self)
    }
    fn stats(&self) -> Result<Stats, MemoryError> {
        SqliteStore::stats(self)
    }
    fn select(&self, filter: &Filter) -> Result<Vec<StoredPair>, MemoryError> {
        SqliteStore::select(self, filter)
    }
    fn forget(&mut self, filter: &Filter) -> Result<usize, MemoryError> {
        SqliteStore::forget(self, filter)
    }
    fn forget_keys(&mut self, keys: &[String]) -> Result<usize, MemoryError> {
        SqliteStore::forget_keys(self, keys)
    }
    fn check(&self) -> Result<Vec<String>, MemoryError> {
        SqliteStore::check(self)
    }
    fn vacuum(&mut self) -> Result<VacuumStats, MemoryError> {
        SqliteStore::vacuum(self)
    }
    fn integrity_check(&self) -> Result<Result<(), Vec<String>>, MemoryError> {
        SqliteStore::integrity_check(self)
    }
    fn claim(&mut self, keys: &[String], _lease: Duration) -> Result<Vec<String>, MemoryError> {
        Ok(keys.to_vec())
    }
    fn release(&mut self, _keys: &[String]) -> Result<(), MemoryError> {
        Ok(())
    }
    fn shared(&self) -> bool {
        false
    }
    fn as_sqlite(&self) -> Option<&SqliteStore> {
        Some(self)
    }
    fn restamp(&mut self, stamps: &[Stamp]) -> Result<(), MemoryError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for s in stamps {
            match &s.key {
                Some(k) => tx
                    .prepare_cached(
                        "UPDATE pairs SET created = min(created, ?2), updated = ?3 WHERE cache_key = ?1",
                    )?
                    .execute(rusqlite::params![k, s.created, s.updated])?,
                None => tx
                    .prepare_cached(
                        "UPDATE pairs SET created = min(created, ?4), updated = ?5
                         WHERE cache_key IS NULL AND origin = ?2 AND target = ?3
                         AND source_id = (SELECT id FROM sources WHERE norm = ?1)",
                    )?
                    .execute(rusqlite::params![
                        normalize_key(&s.source),
                        s.origin.as_str(),
                        s.target,
                        s.created,
                        s.updated
                    ])?,
            };
        }
        tx.commit()?;
        Ok(())
    }
    fn cache_keys(&self) -> Result<Vec<(i64, String)>, MemoryError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, cache_key FROM pairs WHERE cache_key IS NOT NULL")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// An open translation memory (one owner; not `Sync`): the SQLite file
/// or the shared PostgreSQL database behind one API.
pub struct Memory {
    store: Box<dyn Store>,
    lease: Duration,
    /// Set by [`Memory::freeze_suggestions`]: fuzzy matches come from the
    /// sources up to this id only.
    suggest_up_to: Option<i64>,
}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memory")
            .field("location", &self.store.location())
            .finish()
    }
}

impl Memory {
    fn wrap(store: Box<dyn Store>, access: &MemoryAccess) -> Memory {
        Memory {
            store,
            lease: access.lease.unwrap_or(DEFAULT_LEASE),
            suggest_up_to: None,
        }
    }

    /// Open the memory at `location`, creating it when it does not exist:
    /// a file (and its directory; migrated first when it has an older
    /// schema, after a backup copy beside it), or a `postgres://` URL
    /// (its tables created or migrated). A database is reached with no
    /// password but a `.pgpass` file's, and claims hold [`DEFAULT_LEASE`]:
    /// [`Memory::open_with`] takes both from the settings.
    pub fn open(location: &Path) -> Result<Memory, MemoryError> {
        Memory::open_with(location, &MemoryAccess::default())
    }

    /// [`Memory::open`] with the password and lease of `access` (the
    /// settings' [`crate::config::Settings::memory_access`]).
    pub fn open_with(location: &Path, access: &MemoryAccess) -> Result<Memory, MemoryError> {
        if is_url(location) {
            return Ok(Memory::wrap(
                Box::new(PgStore::open(&location.to_string_lossy(), true, access)?),
                access,
            ));
        }
        Ok(Memory::wrap(Box::new(SqliteStore::open(location)?), access))
    }

    /// Open a memory that must already exist (read-only and maintenance
    /// commands): a missing file, or a database without tarjama's tables,
    /// is [`MemoryError::Missing`] and nothing is created.
    pub fn open_existing(location: &Path) -> Result<Memory, MemoryError> {
        Memory::open_existing_with(location, &MemoryAccess::default())
    }

    /// [`Memory::open_existing`] with the password and lease of `access`.
    pub fn open_existing_with(
        location: &Path,
        access: &MemoryAccess,
    ) -> Result<Memory, MemoryError> {
        if is_url(location) {
            return Ok(Memory::wrap(
                Box::new(PgStore::open(&location.to_string_lossy(), false, access)?),
                access,
            ));
        }
        Ok(Memory::wrap(
            Box::new(SqliteStore::open_existing(location)?),
            access,
        ))
    }

    /// A memory that lives only as long as the value (tests, `--no-memory`,
    /// `--dry-run` without a file).
    pub fn open_in_memory() -> Result<Memory, MemoryError> {
        Ok(Memory::wrap(
            Box::new(SqliteStore::open_in_memory()?),
            &MemoryAccess::default(),
        ))
    }

    /// A memory over any [`Store`].
    pub fn from_store(store: Box<dyn Store>) -> Memory {
        Memory::wrap(store, &MemoryAccess::default())
    }

    /// The schema version of the open memory.
    pub fn schema_version(&self) -> Result<i64, MemoryError> {
        self.store.schema_version()
    }

    /// The file, if the memory is on disk.
    pub fn path(&self) -> Option<&Path> {
        self.store.path()
    }

    /// The file or database, for messages (never with a password).
    pub fn location(&self) -> String {
        self.store.location()
    }

    /// Whether other processes share this memory (PostgreSQL).
    pub fn shared(&self) -> bool {
        self.store.shared()
    }

    /// The best stored translation for a segment: the newest human
    /// translation of the same normalised source, else the newest reviewed
    /// one, else the machine translation stored under `key` (which may be
    /// [`StoredPair::pending`]).
    pub fn lookup(&self, key: &str, source: &str) -> Result<Option<StoredPair>, MemoryError> {
        if let Some(h) = self.store.lookup_keyless(source)? {
            return Ok(Some(h));
        }
        self.store.lookup_key(key)
    }

    /// The machine translation stored under `key`.
    pub fn lookup_key(&self, key: &str) -> Result<Option<StoredPair>, MemoryError> {
        self.store.lookup_key(key)
    }

    /// The newest human translation of `source` (after normalisation), else
    /// the newest reviewed one.
    pub fn lookup_keyless(&self, source: &str) -> Result<Option<StoredPair>, MemoryError> {
        self.store.lookup_keyless(source)
    }

    /// The newest human translation of `source` (after normalisation).
    pub fn lookup_human(&self, source: &str) -> Result<Option<StoredPair>, MemoryError> {
        self.store.lookup_human(source)
    }

    /// Any stored translation of `source` (after normalisation), whatever
    /// engine made it: human, else reviewed, else the newest machine one
    /// that is not pending. Used when no engine is configured.
    pub fn lookup_any(&self, source: &str) -> Result<Option<StoredPair>, MemoryError> {
        self.store.lookup_any(source)
    }

    /// Store one batch of machine translations in one transaction
    /// (committed before this returns). An existing key is overwritten;
    /// this process's claims on the keys of final answers end in the same
    /// transaction (a pending answer's claim lasts until its re-request is
    /// stored).
    pub fn store_mt(&mut self, entries: &[MtEntry]) -> Result<(), MemoryError> {
        self.store.store_mt(entries)
    }

    /// Add pairs without a cache key (human translations, imports) in one
    /// transaction. The same source, origin and target is stored once.
    pub fn add_pairs(&mut self, pairs: &[NewPair]) -> Result<AddStats, MemoryError> {
        self.store.add_pairs(pairs)
    }

    /// From now on, fuzzy suggestions ([`Memory::fuzzy`], [`Memory::search`])
    /// come from the memory as it is now: what is stored later (a job's own
    /// answers) is not offered. A job calls this when it starts, so that
    /// its suggestions do not depend on the order its answers arrive in,
    /// and a segment's look-up does not score the sentences the same job
    /// translated moments before.
    pub fn freeze_suggestions(&mut self) -> Result<(), MemoryError> {
        let max = self.store.max_source_id()?;
        self.suggest_up_to = Some(max);
        self.store.limit_candidates(max);
        Ok(())
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
        let mut out: Vec<Suggestion> = Vec::new();
        for (score, sid) in scored {
            if let Some(p) = self.store.source_pairs(sid, true)?.into_iter().next() {
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
        if query.is_empty() || self.suggest_up_to == Some(0) {
            // Nothing to say, or frozen while the memory was empty.
            return Ok(Vec::new());
        }
        let k = fuzzy::max_edits(query.len(), min_score);
        let (lo, hi) = fuzzy::length_range(query.len(), min_score);
        let mut distinct = query.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let candidates = self.store.candidates(&distinct, k, lo, hi)?;
        let up_to = self.suggest_up_to.unwrap_or(i64::MAX);
        let mut scored: Vec<(u8, i64)> = candidates
            .iter()
            .filter(|(id, _)| *id <= up_to)
            .filter_map(|(id, cand)| {
                fuzzy::similarity_at_least(&query, &fuzzy::tokens(cand), min_score)
                    .map(|s| (s, *id))
            })
            .collect();
        scored.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        Ok(scored)
    }

    /// Every stored pair, oldest first (for export).
    pub fn pairs(&self) -> Result<Vec<StoredPair>, MemoryError> {
        self.store.pairs()
    }

    /// Counts for `memory stats`.
    pub fn stats(&self) -> Result<Stats, MemoryError> {
        self.store.stats()
    }

    /// The pairs `filter` selects, oldest first.
    pub fn select(&self, filter: &Filter) -> Result<Vec<StoredPair>, MemoryError> {
        self.store.select(filter)
    }

    /// Remove the pairs `filter` selects, in one transaction; how many.
    /// An empty filter removes nothing.
    pub fn forget(&mut self, filter: &Filter) -> Result<usize, MemoryError> {
        self.store.forget(filter)
    }

    /// Remove the machine pair stored under each of `keys` (for `translate
    /// --refresh`, after their new answers are stored they are written
    /// again); how many there were.
    pub fn forget_keys(&mut self, keys: &[String]) -> Result<usize, MemoryError> {
        self.store.forget_keys(keys)
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
        let exact = self.store.exact_source(&norm)?;
        let mut sources: Vec<(u8, i64)> = exact.map(|id| (100, id)).into_iter().collect();
        for (score, id) in self.scored_sources(text, min_score)? {
            if Some(id) != exact {
                sources.push((score, id));
            }
        }
        let mut out = Vec::new();
        for (score, sid) in sources {
            for pair in self.store.source_pairs(sid, false)? {
                out.push(SearchHit { score, pair });
                if out.len() >= limit {
                    return Ok(out);
                }
            }
        }
        Ok(out)
    }

    /// `memory check`: the engine's own integrity checks (SQLite's
    /// `integrity_check` and `foreign_key_check`), then tarjama's
    /// invariants: each pair's source is its source row's normalised text,
    /// machine pairs (and only they) have a cache key, only machine pairs
    /// are pending, no target is empty, and the word index matches the
    /// sources. The problems found, none when sound.
    pub fn check(&self) -> Result<Vec<String>, MemoryError> {
        self.store.check()
    }

    /// `memory vacuum`: drop sources no pair refers to any more (and their
    /// word index), then compact the storage.
    pub fn vacuum(&mut self) -> Result<VacuumStats, MemoryError> {
        self.store.vacuum()
    }

    /// SQLite's `integrity_check` (always sound for PostgreSQL, which
    /// checks its own pages): `Ok(())` or the problems found.
    pub fn integrity_check(&self) -> Result<Result<(), Vec<String>>, MemoryError> {
        self.store.integrity_check()
    }

    /// The lease of this process's claims (see [`Memory::claim`]).
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// Set the claim lease (default [`DEFAULT_LEASE`] or
    /// [`MemoryAccess::lease`]).
    pub fn set_lease(&mut self, lease: Duration) {
        self.lease = lease;
    }

    /// Claim the cache keys this process is about to send, so that other
    /// processes sharing the memory wait for its answers instead of
    /// paying for them again. The keys granted: free ones, ones whose
    /// holder's lease expired (it died), and ones already held by this
    /// process. A claim ends when its answer is stored
    /// ([`Memory::store_mt`]), on [`Memory::release`], when the memory is
    /// closed, or when the lease runs out without renewal (a live process
    /// renews its claims in the background). A memory one process owns
    /// grants every key.
    pub fn claim(&mut self, keys: &[String]) -> Result<Vec<String>, MemoryError> {
        let lease = self.lease;
        self.store.claim(keys, lease)
    }

    /// Give up this process's claims on `keys`.
    pub fn release(&mut self, keys: &[String]) -> Result<(), MemoryError> {
        self.store.release(keys)
    }

    /// `memory migrate`: copy every pair of `from` into this memory,
    /// merging by provenance. Human and reviewed pairs (and machine ones
    /// without a key) are added unless the same source, origin and English
    /// is there; a machine pair under a cache key this memory lacks is
    /// added; under one it has, the final answer wins over a pending one,
    /// then the newer one. Look-ups rank human over reviewed over machine
    /// whatever was merged. Every pair copied keeps its provenance, backend,
    /// model, document and dates (created and last updated), not the
    /// migration's; a pair already here is left as it was.
    pub fn merge_from(&mut self, from: &Memory) -> Result<MergeStats, MemoryError> {
        let keys: std::collections::HashMap<i64, String> =
            from.store.cache_keys()?.into_iter().collect();
        let mut stats = MergeStats::default();
        let mut keyless = Vec::new();
        let mut keyed = Vec::new();
        let mut stamps = Vec::new();
        for p in from.pairs()? {
            if p.source.trim().is_empty() || p.target.trim().is_empty() {
                stats.skipped += 1;
                continue;
            }
            let key = keys.get(&p.id).filter(|_| p.origin == Provenance::Mt);
            match key {
                Some(k) => {
                    match self.store.lookup_key(k)? {
                        None => stats.added += 1,
                        Some(old)
                            if (old.pending && !p.pending)
                                || (old.pending == p.pending && p.updated > old.updated) =>
                        {
                            stats.replaced += 1
                        }
                        Some(_) => {
                            stats.kept += 1;
                            continue;
                        }
                    }
                    keyed.push(MtEntry {
                        key: k.clone(),
                        source: p.source.clone(),
                        target: p.target.clone(),
                        backend: p.backend.clone().unwrap_or_default(),
                        model: p.model.clone(),
                        pending: p.pending,
                        document: p.document.clone(),
                    });
                }
                None => {
                    if self.has_keyless(&p)? {
                        stats.kept += 1;
                        continue;
                    }
                    keyless.push(NewPair {
                        source: p.source.clone(),
                        target: p.target.clone(),
                        origin: p.origin,
                        backend: p.backend.clone(),
                        model: p.model.clone(),
                        created: Some(p.created),
                        document: p.document.clone(),
                    });
                }
            }
            stamps.push(Stamp {
                key: key.cloned(),
                source: p.source,
                origin: p.origin,
                target: p.target,
                created: p.created,
                updated: p.updated,
            });
        }
        for chunk in keyed.chunks(500) {
            self.store.store_mt(chunk)?;
        }
        for chunk in keyless.chunks(500) {
            let a = self.store.add_pairs(chunk)?;
            stats.added += a.added;
            stats.kept += a.existing;
            stats.skipped += a.skipped;
        }
        for chunk in stamps.chunks(500) {
            self.store.restamp(chunk)?;
        }
        Ok(stats)
    }

    /// Whether a pair of `p`'s source, origin and English is stored (for
    /// a machine one, under any key).
    fn has_keyless(&self, p: &StoredPair) -> Result<bool, MemoryError> {
        let Some(sid) = self.store.exact_source(&normalize_key(&p.source))? else {
            return Ok(false);
        };
        Ok(self
            .store
            .source_pairs(sid, false)?
            .iter()
            .any(|o| o.origin == p.origin && o.target == p.target))
    }

    #[cfg(test)]
    fn sqlite_conn(&self) -> &rusqlite::Connection {
        &self.store.as_sqlite().expect("an SQLite memory").conn
    }
}

/// `memory check`'s line for pairs filed under another source's normalised
/// text (their ids, the first 8), the same for every store.
fn misfiled(ids: &[i64]) -> String {
    let shown: Vec<String> = ids.iter().take(8).map(i64::to_string).collect();
    format!(
        "{} pair(s) filed under another source's normalised text (ids {}); export, delete and re-import the memory",
        ids.len(),
        shown.join(", ")
    )
}

#[cfg(test)]
mod tests;
