/*!
The SQLite schema of the translation memory, in one place so that a reader
of the file (or of a bug report) can see every table at once.

`sources` holds each distinct normalised Arabic text once, with its word
count, and is what the fuzzy index points at; `pairs` holds translations of
a source (machine ones under a cache key, human ones without); `tokens` and
`token_df` are the word index used to find fuzzy candidates without reading
the whole table.
*/

/// Bumped when the layout changes; stored in `PRAGMA user_version`.
pub const SCHEMA_VERSION: i64 = 1;

/// Creates every table and index (idempotent).
pub const CREATE: &str = "
CREATE TABLE IF NOT EXISTS sources (
    id      INTEGER PRIMARY KEY,
    norm    TEXT NOT NULL UNIQUE,
    ntokens INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sources_ntokens ON sources(ntokens);

CREATE TABLE IF NOT EXISTS pairs (
    id        INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES sources(id),
    -- blake3 of the normalised source and every setting that shapes a
    -- machine translation; NULL for human and imported pairs
    cache_key TEXT,
    source    TEXT NOT NULL,
    target    TEXT NOT NULL,
    origin    TEXT NOT NULL CHECK (origin IN ('mt', 'human')),
    backend   TEXT,
    model     TEXT,
    created   INTEGER NOT NULL,
    updated   INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS pairs_cache_key
    ON pairs(cache_key) WHERE cache_key IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS pairs_keyless
    ON pairs(source_id, origin, target) WHERE cache_key IS NULL;
CREATE INDEX IF NOT EXISTS pairs_source ON pairs(source_id, origin, updated);

CREATE TABLE IF NOT EXISTS tokens (
    token     TEXT NOT NULL,
    source_id INTEGER NOT NULL REFERENCES sources(id),
    PRIMARY KEY (token, source_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS token_df (
    token TEXT PRIMARY KEY,
    n     INTEGER NOT NULL
) WITHOUT ROWID;
";
