/*!
The SQLite schema of the translation memory, in one place so that a reader
of the file (or of a bug report) can see every table at once.

`sources` holds each distinct normalised Arabic text once, with its word
count, and is what the fuzzy index points at; `pairs` holds translations of
a source (machine ones under a cache key, reviewed and human ones without);
`tokens` and `token_df` are the word index used to find fuzzy candidates
without reading the whole table; `tokens` carries each source's word count
in its key, so that a candidate query reads only the sources of a length
that can reach the threshold.

Version history (`PRAGMA user_version`):
- 1: origins `mt` and `human`;
- 2: origin `reviewed` (a reviewer kept the engine's English), `pending`
  (an answer that missed a pinned term, waiting for its re-request) and
  `document` (the input the pair was stored from). A version 1 file is
  copied to a backup and migrated when it is opened;
- 3: `tokens` keyed by (word, word count, source), so that the fuzzy
  candidate query is bounded by sentence length, and `unindexed`, the new
  sources whose words a connection has not written to the index yet (it
  writes them in batches). Older files are backed up and migrated on open
  (the index is rebuilt from `sources`).
*/

/// Bumped when the layout changes; stored in `PRAGMA user_version`.
pub const SCHEMA_VERSION: i64 = 3;

/// The `pairs` table of the current version, under a given name (the
/// migration builds it beside the old one).
pub fn pairs_table(name: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {name} (
    id        INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES sources(id),
    -- blake3 of the normalised source and every setting that shapes a
    -- machine translation; NULL for reviewed, human and imported pairs
    cache_key TEXT,
    source    TEXT NOT NULL,
    target    TEXT NOT NULL,
    origin    TEXT NOT NULL CHECK (origin IN ('mt', 'reviewed', 'human')),
    backend   TEXT,
    model     TEXT,
    created   INTEGER NOT NULL,
    updated   INTEGER NOT NULL,
    -- 1: a machine answer that missed a pinned term and whose re-request
    -- has not been answered yet; never served as final
    pending   INTEGER NOT NULL DEFAULT 0 CHECK (pending IN (0, 1)),
    -- the input document the pair was stored from, when known
    document  TEXT
);"
    )
}

/// Creates every table and index (idempotent).
pub fn create() -> String {
    format!(
        "
CREATE TABLE IF NOT EXISTS sources (
    id      INTEGER PRIMARY KEY,
    norm    TEXT NOT NULL UNIQUE,
    ntokens INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sources_ntokens ON sources(ntokens);

{}
{INDEXES}

{}

CREATE TABLE IF NOT EXISTS token_df (
    token TEXT PRIMARY KEY,
    n     INTEGER NOT NULL
) WITHOUT ROWID;

-- sources whose words are not in `tokens` yet: a connection writes the
-- index of its new sources in batches, and the next opening indexes what
-- a process that died left here
CREATE TABLE IF NOT EXISTS unindexed (
    source_id INTEGER PRIMARY KEY REFERENCES sources(id)
);
",
        pairs_table("pairs"),
        tokens_table("tokens")
    )
}

/// The word index of the current version, under a given name: a source's
/// distinct words, with its word count in the key (a candidate query reads
/// only the lengths that can reach the threshold).
pub fn tokens_table(name: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {name} (
    token     TEXT NOT NULL,
    ntokens   INTEGER NOT NULL,
    source_id INTEGER NOT NULL REFERENCES sources(id),
    PRIMARY KEY (token, ntokens, source_id)
) WITHOUT ROWID;"
    )
}

/// Version 2 to 3: the word index rebuilt with each source's word count in
/// its key. Runs in a transaction.
pub fn migrate_2_to_3() -> String {
    format!(
        "{}
INSERT INTO tokens_v3 (token, ntokens, source_id)
    SELECT t.token, s.ntokens, t.source_id FROM tokens t JOIN sources s ON s.id = t.source_id;
DROP TABLE tokens;
ALTER TABLE tokens_v3 RENAME TO tokens;",
        tokens_table("tokens_v3")
    )
}

const INDEXES: &str = "
CREATE UNIQUE INDEX IF NOT EXISTS pairs_cache_key
    ON pairs(cache_key) WHERE cache_key IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS pairs_keyless
    ON pairs(source_id, origin, target) WHERE cache_key IS NULL;
CREATE INDEX IF NOT EXISTS pairs_source ON pairs(source_id, origin, updated);
";

/// Version 1 to 2: the `pairs` table rebuilt with the new origin check and
/// columns (SQLite cannot alter a CHECK constraint). Runs in a transaction.
pub fn migrate_1_to_2() -> String {
    format!(
        "{}
INSERT INTO pairs_v2 (id, source_id, cache_key, source, target, origin, backend, model, created, updated)
    SELECT id, source_id, cache_key, source, target, origin, backend, model, created, updated FROM pairs;
DROP TABLE pairs;
ALTER TABLE pairs_v2 RENAME TO pairs;
{INDEXES}",
        pairs_table("pairs_v2")
    )
}

/// The version 1 schema, for migration tests.
#[cfg(test)]
pub const CREATE_V1: &str = "
CREATE TABLE sources (id INTEGER PRIMARY KEY, norm TEXT NOT NULL UNIQUE, ntokens INTEGER NOT NULL);
CREATE INDEX sources_ntokens ON sources(ntokens);
CREATE TABLE pairs (
    id INTEGER PRIMARY KEY, source_id INTEGER NOT NULL REFERENCES sources(id), cache_key TEXT,
    source TEXT NOT NULL, target TEXT NOT NULL,
    origin TEXT NOT NULL CHECK (origin IN ('mt', 'human')),
    backend TEXT, model TEXT, created INTEGER NOT NULL, updated INTEGER NOT NULL);
CREATE UNIQUE INDEX pairs_cache_key ON pairs(cache_key) WHERE cache_key IS NOT NULL;
CREATE UNIQUE INDEX pairs_keyless ON pairs(source_id, origin, target) WHERE cache_key IS NULL;
CREATE INDEX pairs_source ON pairs(source_id, origin, updated);
CREATE TABLE tokens (token TEXT NOT NULL, source_id INTEGER NOT NULL REFERENCES sources(id),
    PRIMARY KEY (token, source_id)) WITHOUT ROWID;
CREATE TABLE token_df (token TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
PRAGMA user_version = 1;
";
