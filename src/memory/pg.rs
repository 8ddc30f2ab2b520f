/*!
The shared memory of a desk: the same pairs, provenance and cache keys as
the SQLite file, in a PostgreSQL database several translators' machines use
at once (`[memory] url = "postgres://..."` or `TARJAMA_MEMORY_URL`).

Why a server and not a synchronised file: a colleague's answer, or an
editor's correction, is there for the next look-up of everyone, and two
processes never pay for the same segment while one of them has it in
flight. The second point is the `claims` table: a process claims the cache
keys it is about to send (one `INSERT ... ON CONFLICT DO UPDATE ... WHERE
expired` statement, keys in sorted order so that two claimers cannot
deadlock), renews its claims from a background connection every third of
the lease, and its claims end in the same transaction that stores their
answers. A process that dies stops renewing; after the lease anyone may
take its keys over.

Fuzzy candidates come from a GIN index over each source's words (`&&`,
array overlap), with the same exact prefilter as the SQLite word index
([`super::fuzzy`]): any k + 1 of the query's distinct words, here the
rarest by PostgreSQL's own statistics (`pg_stats.most_common_elems`),
where SQLite keeps document frequencies itself. The scoring is shared, so
both give the same suggestions. `pg_trgm` was not used: trigram similarity is a character
measure and ranks sentences differently from the word-level score CAT
tools (and the SQLite memory) use.

Schema versions are rows of `tarjama_schema` (version 2 adds the desk's
shared glossary, `glossary::shared`, to the same database), applied in order on open
under an advisory lock (several processes may open a new database at
once), with a message on stderr; a database newer than the binary is
refused. Passwords never travel in the URL (refused, since URLs are shown
in messages and process lists): they come from `TARJAMA_MEMORY_PASSWORD`,
`PGPASSWORD` or the `.pgpass` file, as for `psql`, read from the
environment passed in (a [`MemoryAccess`]), never from the process's.

The client is the synchronous `postgres` crate: the memory's API is
synchronous and owned by one thread (or `spawn_blocking`), so the async
`tokio-postgres` it wraps would only add a runtime hand-off at every call.
*/

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use postgres::types::ToSql;
use postgres::{Client, NoTls};

use super::*;

/// The environment variable with the database password (before
/// `PGPASSWORD` and `.pgpass`; read into [`MemoryAccess`]).
pub use crate::config::ENV_MEMORY_PASSWORD as ENV_PASSWORD;
use crate::config::MemoryAccess;

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = 2;

/// Each version's statements, applied in order in one transaction. The
/// shared glossary (`glossary::shared`) lives in the same schema,
/// so that one version number says what a database holds.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "sources, pairs (provenance, pending, document), claims",
        "
CREATE TABLE tarjama_schema (
    version integer PRIMARY KEY,
    applied bigint  NOT NULL,
    note    text    NOT NULL
);
CREATE TABLE sources (
    id      bigserial PRIMARY KEY,
    norm    text      NOT NULL,
    ntokens integer   NOT NULL,
    -- the distinct words of norm: the fuzzy index
    words   text[]    NOT NULL
);
-- md5: a long paragraph would not fit a b-tree entry
CREATE UNIQUE INDEX sources_norm ON sources (md5(norm));
CREATE INDEX sources_ntokens ON sources (ntokens);
CREATE INDEX sources_words ON sources USING gin (words);
CREATE TABLE pairs (
    id        bigserial PRIMARY KEY,
    source_id bigint  NOT NULL REFERENCES sources(id),
    cache_key text,
    source    text    NOT NULL,
    target    text    NOT NULL,
    origin    text    NOT NULL CHECK (origin IN ('mt', 'reviewed', 'human')),
    backend   text,
    model     text,
    created   bigint  NOT NULL,
    updated   bigint  NOT NULL,
    pending   boolean NOT NULL DEFAULT false,
    document  text
);
CREATE UNIQUE INDEX pairs_cache_key ON pairs (cache_key) WHERE cache_key IS NOT NULL;
CREATE UNIQUE INDEX pairs_keyless ON pairs (source_id, origin, md5(target)) WHERE cache_key IS NULL;
CREATE INDEX pairs_source ON pairs (source_id, origin, updated);
-- segments a process is sending: others wait for the answer until expires
CREATE TABLE claims (
    cache_key text        PRIMARY KEY,
    owner     text        NOT NULL,
    expires   timestamptz NOT NULL
);
",
    ),
    (
        2,
        "the shared glossary: entries in named layers, and every change",
        "
CREATE TABLE glossary (
    id        bigserial PRIMARY KEY,
    -- the layer, as a glossary file's name without .tsv; layers are
    -- applied in name order, a later one overriding an earlier one
    layer     text    NOT NULL,
    norm      text    NOT NULL,
    source    text    NOT NULL,
    target    text    NOT NULL,
    variants  text[]  NOT NULL DEFAULT '{}',
    kind      text,
    forbidden text[]  NOT NULL DEFAULT '{}',
    note      text,
    not_in    text[]  NOT NULL DEFAULT '{}',
    ambiguous boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX glossary_layer_norm ON glossary (layer, md5(norm));
-- every change: who (a user name, never a secret), when, and the row
-- before and after (as a TSV line of the export's columns)
CREATE TABLE glossary_history (
    id      bigserial PRIMARY KEY,
    at      bigint NOT NULL,
    who     text   NOT NULL,
    action  text   NOT NULL CHECK (action IN ('add', 'remove', 'import')),
    layer   text   NOT NULL,
    source  text   NOT NULL,
    old_row text,
    new_row text
);
",
    ),
];

const PAIR_COLUMNS: &str =
    "id, source, target, origin, backend, model, created, updated, pending, document";
const RANK: &str = "CASE origin WHEN 'human' THEN 2 WHEN 'reviewed' THEN 1 ELSE 0 END DESC";
const SOURCE_OF: &str = "(SELECT id FROM sources WHERE md5(norm) = md5($1) AND norm = $1)";

fn row_to_pair(r: &postgres::Row) -> StoredPair {
    let origin: String = r.get(3);
    StoredPair {
        id: r.get(0),
        source: r.get(1),
        target: r.get(2),
        origin: Provenance::parse(&origin).unwrap_or(Provenance::Mt),
        backend: r.get(4),
        model: r.get(5),
        created: r.get(6),
        updated: r.get(7),
        pending: r.get(8),
        document: r.get(9),
    }
}

/// The message of a PostgreSQL error: the server's own words when it sent
/// some, else the client's (connection refused, ...). Never a password:
/// none is in the URL and the server does not echo it.
pub(crate) fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut m = format!("{}: {}", db.severity(), db.message());
        if let Some(d) = db.detail() {
            m.push_str(&format!(" ({d})"));
        }
        return m;
    }
    let mut m = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        m.push_str(&format!(": {s}"));
        src = s.source();
    }
    m
}

/// A deadlock or serialisation failure: the statement can be run again.
fn retryable(e: &postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == postgres::error::SqlState::T_R_DEADLOCK_DETECTED
            || *c == postgres::error::SqlState::T_R_SERIALIZATION_FAILURE
    })
}

/// The password for `config`: the one `access` holds, else the matching
/// line of its `.pgpass` file.
fn password_for(config: &postgres::Config, access: &MemoryAccess) -> Option<String> {
    if let Some(p) = &access.password {
        return Some(p.expose().to_string());
    }
    let text = std::fs::read_to_string(access.pgpass.as_ref()?).ok()?;
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "localhost".to_string(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user().unwrap_or_default().to_string();
    let db = config
        .get_dbname()
        .map_or_else(|| user.clone(), str::to_string);
    pgpass_lookup(&text, &host, &port, &db, &user)
}

/// The password of the first `.pgpass` line matching (`*` matches
/// anything; `\:` and `\\` are escapes).
pub fn pgpass_lookup(text: &str, host: &str, port: &str, db: &str, user: &str) -> Option<String> {
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut fields = Vec::new();
        let mut cur = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => cur.extend(chars.next()),
                ':' if fields.len() < 4 => fields.push(std::mem::take(&mut cur)),
                c => cur.push(c),
            }
        }
        fields.push(cur);
        if fields.len() != 5 {
            continue;
        }
        let ok = |pat: &str, v: &str| pat == "*" || pat == v;
        if ok(&fields[0], host)
            && ok(&fields[1], port)
            && ok(&fields[2], db)
            && ok(&fields[3], user)
        {
            return Some(fields[4].clone());
        }
    }
    None
}

/// The connection settings of `url`, with the user and password from
/// `access`; a password in the URL is refused.
pub fn connect_config(url: &str, access: &MemoryAccess) -> Result<postgres::Config, MemoryError> {
    let err = |message: String| MemoryError::Pg {
        location: redact(url),
        message,
    };
    let mut config: postgres::Config = url
        .parse()
        .map_err(|e: postgres::Error| err(format!("not a PostgreSQL URL: {}", describe(&e))))?;
    if config.get_password().is_some() {
        return Err(err(format!(
            "the URL holds a password; remove it and set {ENV_PASSWORD} or PGPASSWORD, or add it to ~/.pgpass (URLs are shown in messages)"
        )));
    }
    if config.get_user().is_none()
        && let Some(u) = &access.user
    {
        config.user(u);
    }
    if let Some(p) = password_for(&config, access) {
        config.password(p);
    }
    config.application_name("tarjama");
    config.connect_timeout(Duration::from_secs(10));
    Ok(config)
}

/// `url` without a password, for messages.
pub fn redact(url: &str) -> String {
    // scheme://user:password@host -> scheme://user:***@host
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((auth, host)) = rest.split_once('@')
        && let Some((user, _)) = auth.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_string()
}

/// Bring the tables of the database `client` is connected to up to date:
/// the versions it lacks are applied in order, in one transaction, under an
/// advisory lock (several processes may open a new database at once), with
/// a message on stderr naming `what` was opened; a database newer than the
/// binary is refused. Without `create`, a database holding no tables yet is
/// refused and left untouched.
pub(crate) fn migrate(
    client: &mut Client,
    location: &str,
    create: bool,
    what: &str,
) -> Result<(), MemoryError> {
    let e = |e: postgres::Error| MemoryError::Pg {
        location: location.to_string(),
        message: describe(&e),
    };
    let mut tx = client.transaction().map_err(e)?;
    // One opener at a time sets up or migrates the schema.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('tarjama-memory-schema'))",
        &[],
    )
    .map_err(e)?;
    let exists: bool = tx
        .query_one("SELECT to_regclass('tarjama_schema') IS NOT NULL", &[])
        .map_err(e)?
        .get(0);
    let found: i64 = if exists {
        tx.query_one(
            "SELECT coalesce(max(version), 0)::bigint FROM tarjama_schema",
            &[],
        )
        .map_err(e)?
        .get(0)
    } else {
        0
    };
    if found > SCHEMA_VERSION {
        return Err(MemoryError::PgSchema {
            location: location.to_string(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return tx.commit().map_err(e);
    }
    if found == 0 && !create {
        return Err(MemoryError::Pg {
            location: location.to_string(),
            message: "this database holds no translation memory yet; the first `tarjama translate --memory URL` (or `tarjama memory import FILE.tmx`, or `tarjama memory migrate --to URL`) sets it up".into(),
        });
    }
    for (version, note, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
        tx.batch_execute(sql).map_err(e)?;
        tx.execute(
            "INSERT INTO tarjama_schema (version, applied, note) VALUES ($1, $2, $3)",
            &[&(*version as i32), &time::now_unix(), note],
        )
        .map_err(e)?;
    }
    tx.commit().map_err(e)?;
    if found == 0 {
        eprintln!(
            "tarjama: shared {what} {location}: tables created (schema version {SCHEMA_VERSION})"
        );
    } else {
        eprintln!(
            "tarjama: shared {what} {location}: schema migrated from version {found} to {SCHEMA_VERSION}"
        );
    }
    Ok(())
}

/// The background connection that renews this process's claims.
struct Heartbeat {
    stop: mpsc::Sender<()>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A translation memory in a PostgreSQL database.
pub struct PgStore {
    client: RefCell<Client>,
    config: postgres::Config,
    location: String,
    /// This process's name in `claims` (host, pid, random).
    owner: String,
    heartbeat: Option<Heartbeat>,
    /// How common the most common words are, from PostgreSQL's own
    /// statistics of `sources.words`, and when they were read.
    common: RefCell<Option<(std::time::Instant, CommonWords)>>,
    /// The read statements prepared on this connection, by their text: a
    /// look-up is then one round trip, not two.
    prepared: RefCell<HashMap<String, postgres::Statement>>,
}

/// How many read statements a connection keeps prepared.
const PREPARED_AT_MOST: usize = 128;

/// The share of sources holding each of the most common words.
type CommonWords = Arc<HashMap<String, f32>>;

/// How long word statistics are used before they are read again.
const COMMON_WORDS_FOR: Duration = Duration::from_secs(60);

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("location", &self.location)
            .finish()
    }
}

impl PgStore {
    /// Connect to `url` and bring its schema up to date (`create`: set it
    /// up in an empty database; without, an empty database is
    /// [`MemoryError::Missing`]).
    pub fn open(url: &str, create: bool, access: &MemoryAccess) -> Result<PgStore, MemoryError> {
        let location = redact(url);
        let config = connect_config(url, access)?;
        let client = config.connect(NoTls).map_err(|e| MemoryError::Pg {
            location: location.clone(),
            message: format!("cannot connect: {}", describe(&e)),
        })?;
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default();
        let mut store = PgStore {
            client: RefCell::new(client),
            config,
            location,
            owner: format!("{host}:{}:{:08x}", std::process::id(), fastrand::u32(..)),
            heartbeat: None,
            common: RefCell::new(None),
            prepared: RefCell::new(HashMap::new()),
        };
        store.migrate(create)?;
        Ok(store)
    }

    /// The share of sources holding each of the most common words, as
    /// `ANALYZE` samples them (`pg_stats.most_common_elems`, up to a
    /// thousand words): a word not among them is rarer than every one that
    /// is. A table never analysed is analysed once, when it is large enough
    /// for the choice to matter (owner only; otherwise nothing is known and
    /// every word counts as rare).
    fn common_words(&self) -> Result<CommonWords, MemoryError> {
        if let Some((at, words)) = &*self.common.borrow()
            && at.elapsed() < COMMON_WORDS_FOR
        {
            return Ok(Arc::clone(words));
        }
        const STATS: &str = "SELECT most_common_elems::text::text[], most_common_elem_freqs
             FROM pg_stats WHERE schemaname = current_schema()
             AND tablename = 'sources' AND attname = 'words'";
        let mut rows = self.query(STATS, &[])?;
        if rows.is_empty() {
            let large = self.query("SELECT EXISTS (SELECT 1 FROM sources OFFSET 1000)", &[])?;
            if large.first().is_some_and(|r| r.get::<_, bool>(0))
                && self
                    .client
                    .borrow_mut()
                    .batch_execute("ANALYZE sources")
                    .is_ok()
            {
                rows = self.query(STATS, &[])?;
            }
        }
        let words: CommonWords = rows
            .first()
            .and_then(|r| {
                let elems: Option<Vec<String>> = r.get(0);
                let freqs: Option<Vec<f32>> = r.get(1);
                Some(elems?.into_iter().zip(freqs?).collect())
            })
            .map(Arc::new)
            .unwrap_or_default();
        *self.common.borrow_mut() = Some((std::time::Instant::now(), Arc::clone(&words)));
        Ok(words)
    }

    fn err(&self, e: postgres::Error) -> MemoryError {
        MemoryError::Pg {
            location: self.location.clone(),
            message: describe(&e),
        }
    }

    fn migrate(&mut self, create: bool) -> Result<(), MemoryError> {
        migrate(
            &mut self.client.borrow_mut(),
            &self.location,
            create,
            "translation memory",
        )
    }

    fn query(
        &self,
        sql: &str,
        args: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, MemoryError> {
        let known = self.prepared.borrow().get(sql).cloned();
        let statement = match known {
            Some(s) => s,
            None => {
                let s = self
                    .client
                    .borrow_mut()
                    .prepare(sql)
                    .map_err(|e| self.err(e))?;
                let mut prepared = self.prepared.borrow_mut();
                if prepared.len() >= PREPARED_AT_MOST {
                    prepared.clear();
                }
                prepared.insert(sql.to_string(), s.clone());
                s
            }
        };
        self.client
            .borrow_mut()
            .query(&statement, args)
            .map_err(|e| self.err(e))
    }

    fn one_pair(
        &self,
        sql: &str,
        args: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<StoredPair>, MemoryError> {
        Ok(self.query(sql, args)?.first().map(row_to_pair))
    }

    fn count(&self, sql: &str) -> Result<usize, MemoryError> {
        let rows = self.query(sql, &[])?;
        Ok(rows.first().map_or(0, |r| r.get::<_, i64>(0)) as usize)
    }

    /// Run `f` in a transaction, again when PostgreSQL answers with a
    /// deadlock or a serialisation failure (two desks writing the same
    /// rows at once).
    fn write<T>(
        &mut self,
        mut f: impl FnMut(&mut postgres::Transaction<'_>) -> Result<T, postgres::Error>,
    ) -> Result<T, MemoryError> {
        let mut attempt = 0;
        loop {
            let r = {
                let mut client = self.client.borrow_mut();
                client.transaction().and_then(|mut tx| {
                    let v = f(&mut tx)?;
                    tx.commit()?;
                    Ok(v)
                })
            };
            match r {
                Ok(v) => return Ok(v),
                Err(e) if retryable(&e) && attempt < 8 => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(10 + fastrand::u64(0..40)));
                }
                Err(e) => return Err(self.err(e)),
            }
        }
    }

    fn file_bytes(&self) -> Result<u64, MemoryError> {
        let rows = self.query(
            "SELECT (pg_total_relation_size('sources') + pg_total_relation_size('pairs')
                     + pg_total_relation_size('claims'))::bigint",
            &[],
        )?;
        Ok(rows.first().map_or(0, |r| r.get::<_, i64>(0)) as u64)
    }

    fn start_heartbeat(&mut self, lease: Duration) {
        if self.heartbeat.is_some() {
            return;
        }
        let (stop, rx) = mpsc::channel::<()>();
        let config = self.config.clone();
        let owner = self.owner.clone();
        let every = (lease / 3).max(Duration::from_millis(50));
        let secs = lease.as_secs_f64();
        let thread = std::thread::spawn(move || {
            let Ok(mut client) = config.connect(NoTls) else {
                return;
            };
            while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(every) {
                let _ = client.execute(
                    "UPDATE claims SET expires = now() + make_interval(secs => $2)
                     WHERE owner = $1",
                    &[&owner, &secs],
                );
            }
        });
        self.heartbeat = Some(Heartbeat {
            stop,
            thread: Some(thread),
        });
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        if let Some(mut h) = self.heartbeat.take() {
            let _ = h.stop.send(());
            if let Some(t) = h.thread.take() {
                let _ = t.join();
            }
            let owner = self.owner.clone();
            let _ = self
                .client
                .borrow_mut()
                .execute("DELETE FROM claims WHERE owner = $1", &[&owner]);
        }
    }
}

/// The id of the source row of `norm`, created (with its words) when new.
fn source_id(tx: &mut postgres::Transaction<'_>, norm: &str) -> Result<i64, postgres::Error> {
    let words = fuzzy::tokens(norm);
    let n = words.len() as i32;
    let mut distinct: Vec<&str> = words;
    distinct.sort_unstable();
    distinct.dedup();
    let inserted = tx.query(
        "INSERT INTO sources (norm, ntokens, words) VALUES ($1, $2, $3)
         ON CONFLICT ((md5(norm))) DO NOTHING RETURNING id",
        &[&norm, &n, &distinct],
    )?;
    if let Some(r) = inserted.first() {
        return Ok(r.get(0));
    }
    Ok(tx
        .query_one(
            "SELECT id FROM sources WHERE md5(norm) = md5($1) AND norm = $1",
            &[&norm],
        )?
        .get(0))
}

/// `*` and `?` of a filter's pattern as LIKE's `%` and `_`, everything
/// else literal.
fn glob_to_like(g: &str) -> String {
    let mut out = String::with_capacity(g.len() + 2);
    for c in g.chars() {
        match c {
            '*' => out.push('%'),
            '?' => out.push('_'),
            '%' | '_' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// The filter as a condition with `$n` parameters.
fn filter_sql(f: &Filter) -> (String, Vec<Box<dyn ToSql + Sync>>) {
    let mut conds: Vec<String> = Vec::new();
    let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
    let arg = |v: Box<dyn ToSql + Sync>, args: &mut Vec<Box<dyn ToSql + Sync>>| {
        args.push(v);
        format!("${}", args.len())
    };
    if let Some(b) = &f.backend {
        let p = arg(Box::new(b.clone()), &mut args);
        conds.push(format!("backend = {p}"));
    }
    if let Some(m) = &f.model {
        let p = arg(Box::new(m.clone()), &mut args);
        conds.push(format!("model = {p}"));
    }
    if let Some(o) = f.origin {
        let p = arg(Box::new(o.as_str().to_string()), &mut args);
        conds.push(format!("origin = {p}"));
    }
    if let Some(t) = f.since {
        let p = arg(Box::new(t), &mut args);
        conds.push(format!("updated >= {p}"));
    }
    if let Some(t) = f.until {
        let p = arg(Box::new(t), &mut args);
        conds.push(format!("updated < {p}"));
    }
    if let Some(d) = &f.document {
        let a = arg(Box::new(glob_to_like(d)), &mut args);
        let b = arg(Box::new(format!("%/{}", glob_to_like(d))), &mut args);
        conds.push(format!("(document LIKE {a} OR document LIKE {b})"));
    }
    if let Some(s) = &f.source {
        let pat = if s.contains(['*', '?']) {
            glob_to_like(s)
        } else {
            format!("%{}%", glob_to_like(s))
        };
        let p = arg(Box::new(pat), &mut args);
        conds.push(format!("source LIKE {p}"));
    }
    let sql = if conds.is_empty() {
        "false".to_string()
    } else {
        conds.join(" AND ")
    };
    (sql, args)
}

fn refs(args: &[Box<dyn ToSql + Sync>]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter()
        .map(|a| a.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

impl Store for PgStore {
    fn path(&self) -> Option<&Path> {
        None
    }

    fn location(&self) -> String {
        self.location.clone()
    }

    fn schema_version(&self) -> Result<i64, MemoryError> {
        let rows = self.query(
            "SELECT coalesce(max(version), 0)::bigint FROM tarjama_schema",
            &[],
        )?;
        Ok(rows.first().map_or(0, |r| r.get(0)))
    }

    fn lookup_key(&self, key: &str) -> Result<Option<StoredPair>, MemoryError> {
        self.one_pair(
            &format!("SELECT {PAIR_COLUMNS} FROM pairs WHERE cache_key = $1"),
            &[&key],
        )
    }

    fn lookup_keyless(&self, source: &str) -> Result<Option<StoredPair>, MemoryError> {
        self.one_pair(
            &format!(
                "SELECT {PAIR_COLUMNS} FROM pairs WHERE origin IN ('human', 'reviewed')
                 AND source_id = {SOURCE_OF} ORDER BY {RANK}, updated DESC, id DESC LIMIT 1"
            ),
            &[&normalize_key(source)],
        )
    }

    fn lookup_human(&self, source: &str) -> Result<Option<StoredPair>, MemoryError> {
        self.one_pair(
            &format!(
                "SELECT {PAIR_COLUMNS} FROM pairs WHERE origin = 'human'
                 AND source_id = {SOURCE_OF} ORDER BY updated DESC, id DESC LIMIT 1"
            ),
            &[&normalize_key(source)],
        )
    }

    fn lookup_any(&self, source: &str) -> Result<Option<StoredPair>, MemoryError> {
        self.one_pair(
            &format!(
                "SELECT {PAIR_COLUMNS} FROM pairs WHERE source_id = {SOURCE_OF}
                 ORDER BY {RANK}, pending ASC, updated DESC, id DESC LIMIT 1"
            ),
            &[&normalize_key(source)],
        )
    }

    fn store_mt(&mut self, entries: &[MtEntry]) -> Result<(), MemoryError> {
        if entries.is_empty() {
            return Ok(());
        }
        let now = time::now_unix();
        // A pending answer's re-request is still to come: its claim stays.
        let keys: Vec<&str> = entries
            .iter()
            .filter(|e| !e.pending)
            .map(|e| e.key.as_str())
            .collect();
        self.write(|tx| {
            let upsert = tx.prepare(
                "INSERT INTO pairs (source_id, cache_key, source, target, origin, backend, model, created, updated, pending, document)
                 VALUES ($1, $2, $3, $4, 'mt', $5, $6, $7, $7, $8, $9)
                 ON CONFLICT (cache_key) WHERE cache_key IS NOT NULL DO UPDATE SET
                   source = excluded.source, target = excluded.target,
                   backend = excluded.backend, model = excluded.model, updated = excluded.updated,
                   pending = excluded.pending, document = coalesce(excluded.document, pairs.document)",
            )?;
            for e in entries {
                let sid = source_id(tx, &normalize_key(&e.source))?;
                tx.execute(
                    &upsert,
                    &[
                        &sid, &e.key, &e.source, &e.target, &e.backend, &e.model, &now,
                        &e.pending, &e.document,
                    ],
                )?;
            }
            // The final answers are stored: nobody needs to wait for them.
            tx.execute("DELETE FROM claims WHERE cache_key = ANY($1)", &[&keys])?;
            Ok(())
        })
    }

    fn add_pairs(&mut self, pairs: &[NewPair]) -> Result<AddStats, MemoryError> {
        let now = time::now_unix();
        self.write(|tx| {
            let mut stats = AddStats::default();
            let insert = tx.prepare(
                "INSERT INTO pairs (source_id, cache_key, source, target, origin, backend, model, created, updated, document)
                 VALUES ($1, NULL, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (source_id, origin, (md5(target))) WHERE cache_key IS NULL
                 DO UPDATE SET updated = $10
                 RETURNING (xmax = 0)",
            )?;
            for p in pairs {
                if p.source.trim().is_empty() || p.target.trim().is_empty() {
                    stats.skipped += 1;
                    continue;
                }
                let sid = source_id(tx, &normalize_key(&p.source))?;
                let created = p.created.unwrap_or(now);
                let row = tx.query_one(
                    &insert,
                    &[
                        &sid,
                        &p.source,
                        &p.target,
                        &p.origin.as_str(),
                        &p.backend,
                        &p.model,
                        &created,
                        &now.max(created),
                        &p.document,
                        &now,
                    ],
                )?;
                if row.get::<_, bool>(0) {
                    stats.added += 1;
                } else {
                    stats.existing += 1;
                }
            }
            Ok(stats)
        })
    }

    fn candidates(
        &self,
        distinct: &[&str],
        k: usize,
        lo: usize,
        hi: usize,
    ) -> Result<Vec<(i64, String)>, MemoryError> {
        let (lo, hi) = (lo as i32, hi as i32);
        let rows = if distinct.len() > k {
            // Any k + 1 distinct words will do; the rarest give the fewest
            // candidates: by PostgreSQL's statistics, then the longest.
            let common = self.common_words()?;
            let share = |w: &str| common.get(w).copied().unwrap_or(0.0);
            let mut chosen: Vec<&str> = distinct.to_vec();
            chosen.sort_unstable_by(|a, b| {
                share(a)
                    .total_cmp(&share(b))
                    .then(b.chars().count().cmp(&a.chars().count()))
                    .then(a.cmp(b))
            });
            chosen.truncate(k + 1);
            self.query(
                "SELECT id, norm FROM sources WHERE ntokens BETWEEN $1 AND $2 AND words && $3",
                &[&lo, &hi, &chosen],
            )?
        } else {
            self.query(
                "SELECT id, norm FROM sources WHERE ntokens BETWEEN $1 AND $2 LIMIT 20000",
                &[&lo, &hi],
            )?
        };
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn max_source_id(&self) -> Result<i64, MemoryError> {
        let rows = self.query("SELECT coalesce(max(id), 0)::bigint FROM sources", &[])?;
        Ok(rows.first().map_or(0, |r| r.get(0)))
    }

    fn exact_source(&self, norm: &str) -> Result<Option<i64>, MemoryError> {
        let rows = self.query(
            "SELECT id FROM sources WHERE md5(norm) = md5($1) AND norm = $1",
            &[&norm],
        )?;
        Ok(rows.first().map(|r| r.get(0)))
    }

    fn source_pairs(&self, sid: i64, best_only: bool) -> Result<Vec<StoredPair>, MemoryError> {
        let sql = if best_only {
            format!(
                "SELECT {PAIR_COLUMNS} FROM pairs WHERE source_id = $1
                 ORDER BY {RANK}, pending ASC, updated DESC, id DESC LIMIT 1"
            )
        } else {
            format!(
                "SELECT {PAIR_COLUMNS} FROM pairs WHERE source_id = $1
                 ORDER BY {RANK}, updated DESC, id DESC"
            )
        };
        Ok(self.query(&sql, &[&sid])?.iter().map(row_to_pair).collect())
    }

    fn pairs(&self) -> Result<Vec<StoredPair>, MemoryError> {
        Ok(self
            .query(
                &format!("SELECT {PAIR_COLUMNS} FROM pairs ORDER BY id"),
                &[],
            )?
            .iter()
            .map(row_to_pair)
            .collect())
    }

    fn stats(&self) -> Result<Stats, MemoryError> {
        let row = self
            .query("SELECT min(created), max(updated) FROM pairs", &[])?
            .into_iter()
            .next();
        let (oldest, newest) = row.map_or((None, None), |r| (r.get(0), r.get(1)));
        let by_backend = self
            .query(
                "SELECT coalesce(backend, ''), coalesce(model, ''), count(*) FROM pairs
                 GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2",
                &[],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get::<_, i64>(2) as usize))
            .collect();
        Ok(Stats {
            path: Some(PathBuf::from(&self.location)),
            file_bytes: self.file_bytes()?,
            pairs: self.count("SELECT count(*) FROM pairs")?,
            human: self.count("SELECT count(*) FROM pairs WHERE origin = 'human'")?,
            reviewed: self.count("SELECT count(*) FROM pairs WHERE origin = 'reviewed'")?,
            mt: self.count("SELECT count(*) FROM pairs WHERE origin = 'mt'")?,
            pending: self.count("SELECT count(*) FROM pairs WHERE pending")?,
            distinct_sources: self.count("SELECT count(DISTINCT source_id) FROM pairs")?,
            by_backend,
            oldest,
            newest,
        })
    }

    fn select(&self, filter: &Filter) -> Result<Vec<StoredPair>, MemoryError> {
        let (cond, args) = filter_sql(filter);
        Ok(self
            .query(
                &format!("SELECT {PAIR_COLUMNS} FROM pairs WHERE {cond} ORDER BY id"),
                &refs(&args),
            )?
            .iter()
            .map(row_to_pair)
            .collect())
    }

    fn forget(&mut self, filter: &Filter) -> Result<usize, MemoryError> {
        let (cond, args) = filter_sql(filter);
        let sql = format!("DELETE FROM pairs WHERE {cond}");
        self.write(|tx| Ok(tx.execute(&sql, &refs(&args))? as usize))
    }

    fn forget_keys(&mut self, keys: &[String]) -> Result<usize, MemoryError> {
        self.write(|tx| {
            Ok(tx.execute(
                "DELETE FROM pairs WHERE cache_key = ANY($1) AND origin = 'mt'",
                &[&keys],
            )? as usize)
        })
    }

    fn check(&self) -> Result<Vec<String>, MemoryError> {
        let mut problems = Vec::new();
        for (sql, what) in [
            (
                "SELECT count(*) FROM pairs WHERE origin <> 'mt' AND cache_key IS NOT NULL",
                "reviewed or human pair(s) carry a machine cache key",
            ),
            (
                "SELECT count(*) FROM pairs WHERE pending AND origin <> 'mt'",
                "reviewed or human pair(s) marked pending",
            ),
            (
                "SELECT count(*) FROM pairs WHERE trim(target) = '' OR trim(source) = ''",
                "pair(s) with an empty source or target",
            ),
        ] {
            let n = self.count(sql)?;
            if n > 0 {
                problems.push(format!("{n} {what}"));
            }
        }
        let mut wrong = Vec::new();
        for r in self.query(
            "SELECT p.id, p.source, s.norm FROM pairs p JOIN sources s ON s.id = p.source_id",
            &[],
        )? {
            let (id, source, norm): (i64, String, String) = (r.get(0), r.get(1), r.get(2));
            if normalize_key(&source) != norm {
                wrong.push(id);
            }
        }
        if !wrong.is_empty() {
            problems.push(super::misfiled(&wrong));
        }
        let mut bad_index = 0;
        for r in self.query("SELECT norm, ntokens, words FROM sources", &[])? {
            let (norm, n, words): (String, i32, Vec<String>) = (r.get(0), r.get(1), r.get(2));
            let toks = fuzzy::tokens(&norm);
            let mut distinct = toks.clone();
            distinct.sort_unstable();
            distinct.dedup();
            if n as usize != toks.len() || words != distinct {
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

    fn vacuum(&mut self) -> Result<VacuumStats, MemoryError> {
        let bytes_before = self.file_bytes()?;
        let orphans = self.write(|tx| {
            tx.execute("DELETE FROM claims WHERE expires < now()", &[])?;
            Ok(tx.execute(
                "DELETE FROM sources s WHERE NOT EXISTS (SELECT 1 FROM pairs WHERE source_id = s.id)",
                &[],
            )? as usize)
        })?;
        // Plain VACUUM: a desk keeps working meanwhile (FULL would lock
        // every table).
        self.client
            .borrow_mut()
            .batch_execute("VACUUM (ANALYZE) sources, pairs, claims")
            .map_err(|e| self.err(e))?;
        Ok(VacuumStats {
            orphan_sources: orphans,
            bytes_before,
            bytes_after: self.file_bytes()?,
        })
    }

    fn integrity_check(&self) -> Result<Result<(), Vec<String>>, MemoryError> {
        Ok(Ok(()))
    }

    fn claim(&mut self, keys: &[String], lease: Duration) -> Result<Vec<String>, MemoryError> {
        let mut keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        // Sorted: two processes claiming overlapping keys lock them in the
        // same order and cannot deadlock.
        keys.sort_unstable();
        keys.dedup();
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let owner = self.owner.clone();
        let secs = lease.as_secs_f64();
        let granted = self.write(|tx| {
            let got: Vec<String> = tx
                .query(
                    "INSERT INTO claims (cache_key, owner, expires)
                     SELECT k, $1, now() + make_interval(secs => $2) FROM unnest($3::text[]) AS k
                     ON CONFLICT (cache_key) DO UPDATE SET owner = excluded.owner, expires = excluded.expires
                     WHERE claims.expires < now() OR claims.owner = excluded.owner
                     RETURNING cache_key",
                    &[&owner, &secs, &keys],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect();
            // A key answered since the caller looked is not sent again.
            let done: Vec<String> = tx
                .query(
                    "DELETE FROM claims c WHERE c.cache_key = ANY($1) AND EXISTS
                       (SELECT 1 FROM pairs p WHERE p.cache_key = c.cache_key AND NOT p.pending)
                     RETURNING cache_key",
                    &[&got],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect();
            Ok(got.into_iter().filter(|k| !done.contains(k)).collect::<Vec<_>>())
        })?;
        if !granted.is_empty() {
            self.start_heartbeat(lease);
        }
        Ok(granted)
    }

    fn release(&mut self, keys: &[String]) -> Result<(), MemoryError> {
        let owner = self.owner.clone();
        self.write(|tx| {
            tx.execute(
                "DELETE FROM claims WHERE owner = $1 AND cache_key = ANY($2)",
                &[&owner, &keys],
            )?;
            Ok(())
        })
    }

    fn shared(&self) -> bool {
        true
    }

    fn restamp(&mut self, stamps: &[Stamp]) -> Result<(), MemoryError> {
        self.write(|tx| {
            let keyed = tx.prepare(
                "UPDATE pairs SET created = least(created, $2), updated = $3 WHERE cache_key = $1",
            )?;
            let keyless = tx.prepare(
                "UPDATE pairs SET created = least(created, $4), updated = $5
                 WHERE cache_key IS NULL AND origin = $2 AND md5(target) = md5($3) AND target = $3
                 AND source_id = (SELECT id FROM sources WHERE md5(norm) = md5($1) AND norm = $1)",
            )?;
            for s in stamps {
                match &s.key {
                    Some(k) => tx.execute(&keyed, &[k, &s.created, &s.updated])?,
                    None => tx.execute(
                        &keyless,
                        &[
                            &normalize_key(&s.source),
                            &s.origin.as_str(),
                            &s.target,
                            &s.created,
                            &s.updated,
                        ],
                    )?,
                };
            }
            Ok(())
        })
    }

    fn cache_keys(&self) -> Result<Vec<(i64, String)>, MemoryError> {
        Ok(self
            .query(
                "SELECT id, cache_key FROM pairs WHERE cache_key IS NOT NULL",
                &[],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgpass_lines_match_with_wildcards_and_escapes() {
        let text = "# comment\nother:5432:*:u:nope\n127.0.0.1:*:desk:u:s\\:cr\\\\et\n*:*:*:*:any\n";
        assert_eq!(
            pgpass_lookup(text, "127.0.0.1", "5433", "desk", "u").as_deref(),
            Some("s:cr\\et")
        );
        assert_eq!(
            pgpass_lookup(text, "h", "1", "d", "x").as_deref(),
            Some("any")
        );
        assert_eq!(pgpass_lookup("a:b:c:d:e\n", "x", "b", "c", "d"), None);
    }

    #[test]
    fn the_password_comes_from_the_access_passed_in() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(&file, "h:5433:tm:desk:from-file\n").unwrap();
        let url = "postgres://desk@h:5433/tm";
        let mut access = MemoryAccess {
            pgpass: Some(file),
            ..MemoryAccess::default()
        };
        let c = connect_config(url, &access).unwrap();
        assert_eq!(c.get_password(), Some(&b"from-file"[..]));
        access.password = Some(crate::config::ApiKey::new("set"));
        let c = connect_config(url, &access).unwrap();
        assert_eq!(c.get_password(), Some(&b"set"[..]));
        // No access, no password (the process environment is not read).
        let c = connect_config(url, &MemoryAccess::default()).unwrap();
        assert_eq!(c.get_password(), None);
        let c = connect_config(
            "postgres://h/tm",
            &MemoryAccess {
                user: Some("pguser".into()),
                ..MemoryAccess::default()
            },
        )
        .unwrap();
        assert_eq!(c.get_user(), Some("pguser"));
    }

    #[test]
    fn a_password_in_the_url_is_refused_and_never_shown() {
        let e = connect_config(
            "postgres://desk:s3cret@127.0.0.1/tm",
            &MemoryAccess::default(),
        )
        .unwrap_err();
        let m = e.to_string();
        assert!(m.contains("PGPASSWORD"), "{m}");
        assert!(!m.contains("s3cret"), "{m}");
        assert_eq!(redact("postgres://u:p@h/d"), "postgres://u:***@h/d");
    }

    #[test]
    fn globs_become_like_patterns() {
        assert_eq!(glob_to_like("a*b?c%d_e"), "a%b_c\\%d\\_e");
    }
}
