/*!
The configuration file: named backends, glossaries, memory and segmentation
settings, in TOML.

Users keep one `tarjama.toml` per project (or one in their config dir) so that
a run is reproducible without a long command line. Unknown keys are errors
with line and column, because a misspelt `concurency` silently ignored is
worse than no config at all. Secrets are never in this file: a backend names
the environment variable that holds its key (`api_key_env`).

Relative paths in the file are resolved against the file's directory.
*/

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The protocols tarjama speaks (each one's defaults live with its client
/// in `backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Libretranslate,
    Deepl,
    Google,
    Azure,
    Openai,
    Ollama,
    Template,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Libretranslate => "libretranslate",
            BackendKind::Deepl => "deepl",
            BackendKind::Google => "google",
            BackendKind::Azure => "azure",
            BackendKind::Openai => "openai",
            BackendKind::Ollama => "ollama",
            BackendKind::Template => "template",
        }
    }

    /// Whether the backend is a large language model (prompted, JSON answers).
    pub fn is_llm(self) -> bool {
        matches!(self, BackendKind::Openai | BackendKind::Ollama)
    }
}

/// How pinned glossary terms are passed to the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TermMode {
    /// In the prompt (LLM backends).
    Prompt,
    /// The service's own mechanism (DeepL glossary, Azure dynamic dictionary).
    Native,
    /// The English rendering substituted into the Arabic before sending.
    Inline,
    /// Not passed; only checked afterwards.
    Off,
}

impl TermMode {
    /// As written in the config file, quoted.
    pub fn spelled(self) -> &'static str {
        match self {
            TermMode::Prompt => "\"prompt\"",
            TermMode::Native => "\"native\"",
            TermMode::Inline => "\"inline\"",
            TermMode::Off => "\"off\"",
        }
    }
}

/// The process environment as a value: the CLI reads it once and passes it
/// down; the library never reads the environment itself.
#[derive(Clone, Default)]
pub struct Env(BTreeMap<String, String>);

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may be keys: only the names are shown.
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Env {
    /// From name/value pairs (the CLI passes `std::env::vars_os()`,
    /// tests a few pairs); values that are not UTF-8 are left out.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Env
    where
        K: Into<std::ffi::OsString>,
        V: Into<std::ffi::OsString>,
    {
        Env(pairs
            .into_iter()
            .filter_map(|(k, v)| Some((k.into().into_string().ok()?, v.into().into_string().ok()?)))
            .collect())
    }

    /// The value of `name`, as set (possibly empty).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The value of `name` when set to something other than white space.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.trim().is_empty())
    }

    /// A copy with `name` set to `value`.
    pub fn with(mut self, name: &str, value: &str) -> Env {
        self.0.insert(name.to_string(), value.to_string());
        self
    }
}

/// An API key as read from the environment. `Debug` shows `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(value: impl Into<String>) -> ApiKey {
        ApiKey(value.into())
    }
    /// The key itself, for the request and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The backend used when `--backend` is not given.
    pub default_backend: Option<String>,
    /// Glossaries, layered in order (a later entry overrides an earlier one).
    #[serde(default)]
    pub glossaries: Vec<PathBuf>,
    #[serde(default)]
    pub memory: MemoryConfig,
    /// The shared glossary (`[glossary] url`), used instead of the files.
    #[serde(default)]
    pub glossary: GlossaryConfig,
    #[serde(default)]
    pub segment: SegmentConfig,
    #[serde(default)]
    pub backends: BTreeMap<String, BackendConfig>,
    /// Where the file was read from (not a key in the file).
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryConfig {
    /// The SQLite translation memory (default: in the user data dir).
    pub path: Option<PathBuf>,
    /// A shared memory in PostgreSQL (`postgres://user@host/db`, password
    /// from `TARJAMA_MEMORY_PASSWORD`, `PGPASSWORD` or `~/.pgpass`); used
    /// instead of `path`.
    pub url: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlossaryConfig {
    /// A shared glossary in PostgreSQL (`postgres://user@host/db`, the
    /// same database as the memory's allowed; password as for the memory),
    /// used instead of the glossary files.
    pub url: Option<String>,
    /// The name recorded with each change of the shared glossary (default:
    /// the login name, `$USER`).
    pub user: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentConfig {
    #[serde(default)]
    pub join_lines: bool,
    pub rules: Option<PathBuf>,
    #[serde(default)]
    pub abbreviations: Vec<PathBuf>,
}

impl SegmentConfig {
    /// These settings (the file's) under a command's flags: a flag turns
    /// `join_lines` on, `rules` replaces the file's, abbreviation lists are
    /// added after the file's.
    pub fn under(&self, flags: &SegmentConfig) -> SegmentConfig {
        let mut abbreviations = self.abbreviations.clone();
        abbreviations.extend(flags.abbreviations.iter().cloned());
        SegmentConfig {
            join_lines: self.join_lines || flags.join_lines,
            rules: flags.rules.clone().or_else(|| self.rules.clone()),
            abbreviations,
        }
    }
}

/// One named backend.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    pub kind: BackendKind,
    /// Base URL; each kind knows its path. Default: the public service, or
    /// the usual local port for self-hosted servers.
    pub url: Option<String>,
    pub model: Option<String>,
    /// Environment variable holding the API key.
    pub api_key_env: Option<String>,
    /// Segments per request (capped by the protocol's limit).
    pub batch_size: Option<usize>,
    /// Requests in flight.
    pub concurrency: Option<usize>,
    pub requests_per_minute: Option<u32>,
    /// Time allowed for one request, before the allowance per character.
    pub timeout_secs: Option<f64>,
    /// Milliseconds added to `timeout_secs` for each character of the
    /// batch (a batch of 8 long segments takes a slow model longer than one
    /// short segment).
    pub timeout_ms_per_char: Option<f64>,
    pub max_retries: Option<u32>,
    /// How pinned terms are passed (default per kind).
    pub terms: Option<TermMode>,
    /// Source language code as the service spells it (default per kind).
    pub source_lang: Option<String>,
    /// Target language code as the service spells it (DeepL: EN-US or EN-GB).
    pub target_lang: Option<String>,
    /// Azure resource region (`Ocp-Apim-Subscription-Region`).
    pub region: Option<String>,
    /// The generic JSON template (kind = "template").
    pub template: Option<TemplateConfig>,
    /// LLM kinds: the largest answer in tokens (default: from the batch's
    /// length). `0` leaves it out of the request (o-series models reject it).
    pub max_tokens: Option<u32>,
    /// LLM kinds: how structured output is requested (default `json_schema`;
    /// `json_object` or `none` for servers without schema support).
    pub response_format: Option<ResponseFormat>,
    /// Ollama: context window in tokens (`options.num_ctx`), if set.
    pub num_ctx: Option<u32>,
    /// First retry delay in milliseconds; doubles on each retry (default 500).
    pub retry_base_ms: Option<u64>,
    /// Longest wait between retries, in seconds, including waits a server
    /// asks for with Retry-After (default 60).
    pub retry_max_secs: Option<f64>,
    /// The value of the variable named by `api_key_env`, taken from the
    /// environment the settings were resolved with (not a key in the file).
    #[serde(skip)]
    pub key: Option<ApiKey>,
}

/// How an LLM backend asks for JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseFormat {
    /// `response_format: {type: json_schema, json_schema: {name, strict, schema}}`
    /// (Ollama native: `format: <schema>`).
    JsonSchema,
    /// `response_format: {type: json_object}` (Ollama native: `format: "json"`).
    JsonObject,
    /// Nothing: the prompt alone asks for JSON.
    None,
}

/// A user-written JSON protocol.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateConfig {
    /// Path appended to `url` (may be empty).
    #[serde(default)]
    pub path: String,
    /// The JSON request body with placeholders.
    pub body: String,
    /// JSON pointer to the translation(s) in the response.
    pub response_pointer: String,
    /// Extra headers; values may use placeholders such as `{{api_key}}`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// The placeholders a template may use.
pub const TEMPLATE_PLACEHOLDERS: [&str; 5] =
    ["text", "texts", "source_lang", "target_lang", "api_key"];

/// The placeholders in `s`, in order (names trimmed).
pub fn placeholders(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    out
}

/// Every placeholder found in the strings of `v`.
pub fn collect_placeholders<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
    match v {
        serde_json::Value::String(s) => out.extend(placeholders(s)),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_placeholders(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| collect_placeholders(x, out)),
        _ => {}
    }
}

impl TemplateConfig {
    /// Check a template: the body is JSON, it has `{{text}}` or `{{texts}}`
    /// (not both), every placeholder is known, the pointer and headers are
    /// well-formed. The error says what to fix.
    pub fn check(&self) -> Result<(), String> {
        let t = self;
        let body: serde_json::Value = serde_json::from_str(&t.body).map_err(|e| {
        format!(
            "body is not valid JSON ({e}); write placeholders inside strings, e.g. \"q\": \"{{{{texts}}}}\""
        )
    })?;
        let mut found = Vec::new();
        collect_placeholders(&body, &mut found);
        for h in t.headers.values() {
            found.extend(placeholders(h));
        }
        if let Some(bad) = found.iter().find(|p| !TEMPLATE_PLACEHOLDERS.contains(p)) {
            return Err(format!(
                "has an unknown placeholder {{{{{bad}}}}}; known: {}",
                TEMPLATE_PLACEHOLDERS
                    .map(|p| format!("{{{{{p}}}}}"))
                    .join(", ")
            ));
        }
        let single = found.contains(&"text");
        let multi = found.contains(&"texts");
        if single == multi {
            return Err(if single {
                "body uses both {{text}} and {{texts}}; use {{text}} for one segment per request or {{texts}} for a JSON array".into()
            } else {
                "body has neither {{text}} nor {{texts}}; put one where the text to translate goes"
                    .into()
            });
        }
        if !(t.response_pointer.is_empty() || t.response_pointer.starts_with('/')) {
            return Err(format!(
                "response_pointer \"{}\" must be empty or start with / (JSON pointer, e.g. /translations/*/text)",
                t.response_pointer
            ));
        }
        for (k, v) in &t.headers {
            reqwest::header::HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| format!("header name \"{k}\" is not valid"))?;
            // The value is checked with placeholders in place (never the key).
            reqwest::header::HeaderValue::from_str(v)
                .map_err(|_| format!("header {k} has an invalid value"))?;
        }
        Ok(())
    }
}

/// The engine's retry defaults (the per-kind defaults of a backend table
/// come from each protocol, in `backend::client`).
pub mod defaults {
    pub const MAX_RETRIES: u32 = 5;
    pub const RETRY_BASE_MS: u64 = 500;
    pub const RETRY_MAX_SECS: f64 = 60.0;
}

impl BackendConfig {
    /// A table with only `kind` set: every other key takes its default.
    pub fn new(kind: BackendKind) -> Self {
        BackendConfig {
            kind,
            url: None,
            model: None,
            api_key_env: None,
            batch_size: None,
            concurrency: None,
            requests_per_minute: None,
            timeout_secs: None,
            timeout_ms_per_char: None,
            max_retries: None,
            terms: None,
            source_lang: None,
            target_lang: None,
            region: None,
            template: None,
            max_tokens: None,
            response_format: None,
            num_ctx: None,
            retry_base_ms: None,
            retry_max_secs: None,
            key: None,
        }
    }

    pub fn max_retries_or_default(&self) -> u32 {
        self.max_retries.unwrap_or(defaults::MAX_RETRIES)
    }

    pub fn retry_base(&self) -> Duration {
        Duration::from_millis(self.retry_base_ms.unwrap_or(defaults::RETRY_BASE_MS))
    }

    pub fn retry_max(&self) -> Duration {
        Duration::from_secs_f64(self.retry_max_secs.unwrap_or(defaults::RETRY_MAX_SECS))
    }

    /// Whether the key variable is named and set (for `backends list`).
    pub fn key_is_set(&self) -> bool {
        self.api_key_env.is_some() && self.key.as_ref().is_some_and(|k| !k.0.trim().is_empty())
    }

    /// Take the key from `env`: the value of the variable named by
    /// `api_key_env`, if it is set.
    pub fn take_key(&mut self, env: &Env) {
        self.key = self
            .api_key_env
            .as_deref()
            .and_then(|v| env.get(v))
            .map(ApiKey::new);
    }

    /// Check the table for values that cannot work; the message names the
    /// backend and the key.
    pub fn validate(&self, name: &str) -> Result<(), ConfigError> {
        let bad = |key: &str, what: String| {
            Err(ConfigError::Invalid(format!(
                "backend {name}: {key} {what}"
            )))
        };
        if self.batch_size == Some(0) {
            return bad("batch_size", "must be at least 1".into());
        }
        if self.concurrency == Some(0) {
            return bad("concurrency", "must be at least 1".into());
        }
        if self.requests_per_minute == Some(0) {
            return bad(
                "requests_per_minute",
                "must be at least 1 (leave it out for no limit)".into(),
            );
        }
        if let Some(t) = self.timeout_secs
            && !(t.is_finite() && t > 0.0 && t <= 86_400.0)
        {
            return bad("timeout_secs", "must be a number of seconds above 0".into());
        }
        if let Some(t) = self.timeout_ms_per_char
            && !(t.is_finite() && (0.0..=60_000.0).contains(&t))
        {
            return bad(
                "timeout_ms_per_char",
                "must be a number of milliseconds, 0 or more".into(),
            );
        }
        if let Some(t) = self.retry_max_secs
            && !(t.is_finite() && (0.0..=86_400.0).contains(&t))
        {
            return bad(
                "retry_max_secs",
                "must be a number of seconds, 0 or more".into(),
            );
        }
        if let Some(var) = self.api_key_env.as_deref() {
            let ok = !var.is_empty()
                && var.len() <= 128
                && !var.starts_with(|c: char| c.is_ascii_digit())
                && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                // Never echo the value: it may be the key itself.
                return bad(
                    "api_key_env",
                    "must be the NAME of an environment variable (letters, digits and _), not the key itself; put the key in that variable".into(),
                );
            }
        }
        match self.url.as_deref().map(|u| u.trim().trim_end_matches('/')) {
            None if self.kind == BackendKind::Template => {
                return bad(
                    "url",
                    format!("is required for kind {}", self.kind.as_str()),
                );
            }
            None => {}
            Some(u) => match reqwest::Url::parse(u) {
                Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
                Ok(parsed) => {
                    return bad(
                        "url",
                        format!("is not an http(s) URL (scheme {})", parsed.scheme()),
                    );
                }
                Err(e) => return bad("url", format!("is not an http(s) URL ({e})")),
            },
        }
        if self.kind.is_llm() && self.model.as_deref().is_none_or(|m| m.trim().is_empty()) {
            return bad(
                "model",
                format!(
                    "is required for kind {} (the model name the server knows, e.g. \"qwen2.5-7b-instruct\")",
                    self.kind.as_str()
                ),
            );
        }
        match (&self.template, self.kind) {
            (None, BackendKind::Template) => {
                return bad(
                    "template",
                    "is required for kind template: add a [backends.NAME.template] table with body and response_pointer".into(),
                );
            }
            (Some(t), BackendKind::Template) => {
                t.check()
                    .map_err(|e| ConfigError::Invalid(format!("backend {name}: template {e}")))?;
            }
            (Some(_), kind) => {
                return bad(
                    "template",
                    format!("is only used by kind template, not {}", kind.as_str()),
                );
            }
            (None, _) => {}
        }
        Ok(())
    }
}

impl Config {
    /// Parse configuration text; `path` is used in messages and to resolve
    /// relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            // toml's report is several lines (the line, a caret under the
            // column, the reason): kept as it is so the caret points at the key.
            message: e.to_string().trim_end().to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new(""));
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        cfg.glossaries.iter_mut().for_each(resolve);
        if let Some(p) = cfg.memory.path.as_mut() {
            resolve(p);
        }
        if let Some(p) = cfg.segment.rules.as_mut() {
            resolve(p);
        }
        cfg.segment.abbreviations.iter_mut().for_each(resolve);
        cfg.path = Some(path.to_path_buf());
        cfg.validate().map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(cfg)
    }

    /// Check every backend table and `default_backend`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (name, b) in &self.backends {
            b.validate(name)?;
        }
        if let Some(d) = &self.default_backend {
            self.backend(d).map_err(|_| {
                ConfigError::Invalid(format!(
                    "default_backend = \"{d}\" names no [backends.{d}] table; known backends: {}",
                    self.known_backends()
                ))
            })?;
        }
        Ok(())
    }

    /// The names of the configured backends, for messages.
    pub fn known_backends(&self) -> String {
        if self.backends.is_empty() {
            "none".to_string()
        } else {
            self.backends.keys().cloned().collect::<Vec<_>>().join(", ")
        }
    }

    /// The backend table called `name`; the error lists the known ones.
    pub fn backend(&self, name: &str) -> Result<&BackendConfig, ConfigError> {
        self.backends.get(name).ok_or_else(|| {
            let file = self
                .path
                .as_ref()
                .map(|p| format!(" in {}", p.display()))
                .unwrap_or_default();
            ConfigError::Invalid(format!(
                "unknown backend \"{name}\"{file}; known backends: {}",
                self.known_backends()
            ))
        })
    }

    /// Read a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// The file to use: `explicit` if given (it must exist), else
    /// `./tarjama.toml`, else `$XDG_CONFIG_HOME/tarjama/config.toml`; `None`
    /// when there is none (everything then runs on defaults).
    pub fn discover(explicit: Option<&Path>, env: &Env) -> Result<Option<Config>, ConfigError> {
        if let Some(p) = explicit {
            return Config::load(p).map(Some);
        }
        let local = PathBuf::from("tarjama.toml");
        if local.is_file() {
            return Config::load(&local).map(Some);
        }
        if let Some(p) = user_config_path(env).filter(|p| p.is_file()) {
            return Config::load(&p).map(Some);
        }
        Ok(None)
    }
}

/// Environment variable that picks the backend (below `--backend`).
pub const ENV_BACKEND: &str = "TARJAMA_BACKEND";
/// Environment variable for the translation memory file (below `--memory`).
pub const ENV_MEMORY: &str = "TARJAMA_MEMORY";
/// Environment variable for a shared PostgreSQL memory (below `--memory`,
/// above `TARJAMA_MEMORY`).
pub const ENV_MEMORY_URL: &str = "TARJAMA_MEMORY_URL";
/// Environment variable for a shared glossary in PostgreSQL (below
/// `--glossary-url`, above `[glossary] url`).
pub const ENV_GLOSSARY_URL: &str = "TARJAMA_GLOSSARY_URL";
/// Environment variable naming who edits the shared glossary (above
/// `[glossary] user` and the login name).
pub const ENV_GLOSSARY_USER: &str = "TARJAMA_GLOSSARY_USER";
/// Environment variables that override the chosen backend's knobs (below the
/// matching flags).
pub const ENV_BATCH_SIZE: &str = "TARJAMA_BATCH_SIZE";
pub const ENV_CONCURRENCY: &str = "TARJAMA_CONCURRENCY";
pub const ENV_REQUESTS_PER_MINUTE: &str = "TARJAMA_REQUESTS_PER_MINUTE";
pub const ENV_TIMEOUT_SECS: &str = "TARJAMA_TIMEOUT_SECS";
pub const ENV_MAX_RETRIES: &str = "TARJAMA_MAX_RETRIES";

/// Environment variable with the shared memory's database password (before
/// `PGPASSWORD` and `.pgpass`).
pub const ENV_MEMORY_PASSWORD: &str = "TARJAMA_MEMORY_PASSWORD";
/// Environment variable that sets a shared memory's claim lease, in
/// milliseconds.
pub const ENV_MEMORY_LEASE_MS: &str = "TARJAMA_MEMORY_LEASE_MS";

/// How to reach a shared memory and how long its claims last: what the
/// environment says, read from the [`Env`] passed in (the memory never
/// reads the process environment). The default asks for no password and
/// keeps the memory's own lease.
/// `Debug` shows the password as `***` (it is an [`ApiKey`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryAccess {
    /// The database user when the URL names none (`PGUSER`).
    pub user: Option<String>,
    /// The database password (`TARJAMA_MEMORY_PASSWORD`, else `PGPASSWORD`).
    pub password: Option<ApiKey>,
    /// The password file looked in when no password is set (`PGPASSFILE`,
    /// else `~/.pgpass`).
    pub pgpass: Option<PathBuf>,
    /// How long a claim holds (`TARJAMA_MEMORY_LEASE_MS`); `None`: the
    /// memory's default.
    pub lease: Option<Duration>,
}

impl MemoryAccess {
    /// The access `env` describes, as `psql` reads it; a lease that is not a
    /// whole number of milliseconds above 0 is an error naming the variable.
    pub fn from_env(env: &Env) -> Result<MemoryAccess, ConfigError> {
        let lease = match env.non_empty(ENV_MEMORY_LEASE_MS) {
            None => None,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(ms) if ms > 0 => Some(Duration::from_millis(ms)),
                _ => {
                    return Err(ConfigError::Invalid(format!(
                        "environment variable {ENV_MEMORY_LEASE_MS}: not a whole number of milliseconds above 0: {v:?}"
                    )));
                }
            },
        };
        Ok(MemoryAccess {
            user: env.non_empty("PGUSER").map(str::to_string),
            password: [ENV_MEMORY_PASSWORD, "PGPASSWORD"]
                .into_iter()
                .find_map(|var| env.get(var).filter(|p| !p.is_empty()))
                .map(ApiKey::new),
            pgpass: env
                .non_empty("PGPASSFILE")
                .map(PathBuf::from)
                .or_else(|| env.non_empty("HOME").map(|h| Path::new(h).join(".pgpass"))),
            lease,
        })
    }
}

/// What the command line sets; `None` leaves the value to the layers below.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub backend: Option<String>,
    pub memory: Option<PathBuf>,
    /// `--glossary-url`.
    pub glossary_url: Option<String>,
    pub batch_size: Option<usize>,
    pub concurrency: Option<usize>,
    pub requests_per_minute: Option<u32>,
    pub timeout_secs: Option<f64>,
    pub max_retries: Option<u32>,
    /// For commands that use no backend: no backend is chosen (and none
    /// named by `TARJAMA_BACKEND` is looked for).
    pub skip_backend: bool,
}

/// Which layer chose the backend (for messages such as "backend x (from
/// TARJAMA_BACKEND)").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chosen {
    Flag,
    Env,
    DefaultBackend,
    OnlyOne,
}

/// The backend a run uses, with every override applied.
#[derive(Debug, Clone)]
pub struct SelectedBackend {
    pub name: String,
    pub config: BackendConfig,
    pub chosen: Chosen,
}

/// Everything a command needs from the layers, resolved in one place:
/// built-in defaults < config file < environment < flags.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The file's content (empty when there is no file).
    pub config: Config,
    /// `None` when no backend is configured (offline run).
    pub backend: Option<SelectedBackend>,
    /// The memory file from `--memory`, `TARJAMA_MEMORY` or `memory.path`;
    /// `None` means the default in the user data dir (see
    /// [`Settings::memory_path_or_default`]).
    pub memory_path: Option<PathBuf>,
    /// The default memory file in the user data dir, if there is one.
    pub memory_default: Option<PathBuf>,
    /// How to reach a shared memory (password, lease).
    pub memory_access: MemoryAccess,
    /// The shared glossary from `--glossary-url`, `TARJAMA_GLOSSARY_URL`
    /// or `glossary.url`; `None`: the glossary files.
    pub glossary_url: Option<String>,
    /// Who edits the shared glossary, as its history records it:
    /// `TARJAMA_GLOSSARY_USER`, else `glossary.user`, else the login name
    /// (`USER`, `LOGNAME`, `USERNAME`), else `unknown`.
    pub editor: String,
}

impl Settings {
    /// Resolve the layers: `config` (the file, if any) < `env` < `flags`.
    /// Every backend table gets its key from `env`.
    pub fn resolve(
        config: Option<Config>,
        flags: &Overrides,
        env: &Env,
    ) -> Result<Settings, ConfigError> {
        let had_file = config.is_some();
        let mut config = config.unwrap_or_default();
        for b in config.backends.values_mut() {
            b.take_key(env);
        }
        let (wanted, chosen) = if flags.skip_backend {
            (None, Chosen::OnlyOne)
        } else if let Some(b) = &flags.backend {
            (Some(b.clone()), Chosen::Flag)
        } else if let Some(b) = env.non_empty(ENV_BACKEND) {
            (Some(b.trim().to_string()), Chosen::Env)
        } else if let Some(b) = &config.default_backend {
            (Some(b.clone()), Chosen::DefaultBackend)
        } else if config.backends.len() == 1 {
            (config.backends.keys().next().cloned(), Chosen::OnlyOne)
        } else {
            (None, Chosen::OnlyOne)
        };
        let backend = match wanted {
            None => None,
            Some(name) => {
                if !had_file {
                    let from = match chosen {
                        Chosen::Env => format!(" (from {ENV_BACKEND})"),
                        _ => String::new(),
                    };
                    let user = user_config_path(env)
                        .map(|p| format!(" or {}", p.display()))
                        .unwrap_or_default();
                    return Err(ConfigError::Invalid(format!(
                        "backend \"{name}\"{from} is asked for but no config file was found (./tarjama.toml{user}); pass --config PATH or create one from seeds/tarjama.sample.toml"
                    )));
                }
                let mut b = config.backend(&name)?.clone();
                apply_env_and_flags(&name, &mut b, flags, env)?;
                Some(SelectedBackend {
                    name,
                    config: b,
                    chosen,
                })
            }
        };
        let memory_path = flags
            .memory
            .clone()
            .or_else(|| env.non_empty(ENV_MEMORY_URL).map(PathBuf::from))
            .or_else(|| env.non_empty(ENV_MEMORY).map(PathBuf::from))
            .or_else(|| config.memory.url.clone().map(PathBuf::from))
            .or_else(|| config.memory.path.clone());
        let memory_default = user_data_dir(env).map(|d| d.join("memory.sqlite"));
        let glossary_url = flags
            .glossary_url
            .clone()
            .or_else(|| {
                env.non_empty(ENV_GLOSSARY_URL)
                    .map(|u| u.trim().to_string())
            })
            .or_else(|| config.glossary.url.clone());
        if let Some(u) = &glossary_url
            && !(u.starts_with("postgres://") || u.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid(
                "the shared glossary's URL (--glossary-url, TARJAMA_GLOSSARY_URL or [glossary] url) must start with postgres:// or postgresql://".into(),
            ));
        }
        let editor = env
            .non_empty(ENV_GLOSSARY_USER)
            .or(config
                .glossary
                .user
                .as_deref()
                .filter(|u| !u.trim().is_empty()))
            .or_else(|| {
                ["USER", "LOGNAME", "USERNAME"]
                    .iter()
                    .find_map(|v| env.non_empty(v))
            })
            .unwrap_or("unknown")
            .trim()
            .to_string();
        Ok(Settings {
            config,
            backend,
            memory_path,
            memory_default,
            memory_access: MemoryAccess::from_env(env)?,
            glossary_url,
            editor,
        })
    }

    /// The memory file: the resolved one, else `tarjama/memory.sqlite` in
    /// the user data dir.
    pub fn memory_path_or_default(&self) -> Option<PathBuf> {
        self.memory_path
            .clone()
            .or_else(|| self.memory_default.clone())
    }

    /// The segmentation settings: the `[segment]` table under the command's
    /// own flags (a flag turns `join_lines` on, `rules` replaces the file's,
    /// abbreviation lists are added after the file's).
    pub fn segment(&self, flags: &SegmentConfig) -> SegmentConfig {
        self.config.segment.under(flags)
    }
}

fn apply_env_and_flags(
    name: &str,
    b: &mut BackendConfig,
    flags: &Overrides,
    env: &Env,
) -> Result<(), ConfigError> {
    fn parse<T: std::str::FromStr>(var: &str, v: &str) -> Result<T, ConfigError> {
        v.trim().parse().map_err(|_| {
            ConfigError::Invalid(format!(
                "environment variable {var}: not a valid number: {v:?}"
            ))
        })
    }
    if let Some(v) = env.non_empty(ENV_BATCH_SIZE) {
        b.batch_size = Some(parse(ENV_BATCH_SIZE, v)?);
    }
    if let Some(v) = env.non_empty(ENV_CONCURRENCY) {
        b.concurrency = Some(parse(ENV_CONCURRENCY, v)?);
    }
    if let Some(v) = env.non_empty(ENV_REQUESTS_PER_MINUTE) {
        b.requests_per_minute = Some(parse(ENV_REQUESTS_PER_MINUTE, v)?);
    }
    if let Some(v) = env.non_empty(ENV_TIMEOUT_SECS) {
        b.timeout_secs = Some(parse(ENV_TIMEOUT_SECS, v)?);
    }
    if let Some(v) = env.non_empty(ENV_MAX_RETRIES) {
        b.max_retries = Some(parse(ENV_MAX_RETRIES, v)?);
    }
    if flags.batch_size.is_some() {
        b.batch_size = flags.batch_size;
    }
    if flags.concurrency.is_some() {
        b.concurrency = flags.concurrency;
    }
    if flags.requests_per_minute.is_some() {
        b.requests_per_minute = flags.requests_per_minute;
    }
    if flags.timeout_secs.is_some() {
        b.timeout_secs = flags.timeout_secs;
    }
    if flags.max_retries.is_some() {
        b.max_retries = flags.max_retries;
    }
    b.validate(name)
}

/// A base directory per the XDG rules, from `env`: `$VAR` when it is an
/// absolute path, else `$HOME/fallback`.
fn xdg_dir(env: &Env, var: &str, fallback: &str) -> Option<PathBuf> {
    if let Some(p) = env
        .non_empty(var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
    {
        return Some(p);
    }
    let home = env
        .non_empty("HOME")
        .or_else(|| env.non_empty("USERPROFILE"))
        .map(PathBuf::from)?;
    Some(home.join(fallback))
}

/// `$XDG_CONFIG_HOME/tarjama/config.toml` (or `~/.config/...`).
pub fn user_config_path(env: &Env) -> Option<PathBuf> {
    Some(
        xdg_dir(env, "XDG_CONFIG_HOME", ".config")?
            .join("tarjama")
            .join("config.toml"),
    )
}

/// The folder of installed glossaries, `$XDG_DATA_HOME/tarjama/glossaries`
/// (usually `~/.local/share/tarjama/glossaries`): where `glossary init`
/// puts the starter glossaries, so that any folder finds them.
pub fn user_glossary_dir(env: &Env) -> Option<PathBuf> {
    user_data_dir(env).map(|d| d.join("glossaries"))
}

/// The folders whose `*.tsv` files are the glossaries when neither
/// `--glossary` nor the config's `glossaries` names any, in the order they
/// are tried: the installed glossaries, then `./glossaries`. The first
/// folder holding a `*.tsv` file wins.
pub fn glossary_dirs(env: &Env) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = user_glossary_dir(env).into_iter().collect();
    dirs.push(PathBuf::from("glossaries"));
    dirs
}

/// The user data dir for tarjama (`$XDG_DATA_HOME/tarjama`).
pub fn user_data_dir(env: &Env) -> Option<PathBuf> {
    Some(xdg_dir(env, "XDG_DATA_HOME", ".local/share")?.join("tarjama"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_issue_example() {
        let text = r#"
default_backend = "local-llm"
glossaries = ["g/a.tsv"]
[backends.local-llm]
kind = "openai"
url = "http://127.0.0.1:8080/v1"
model = "qwen2.5-7b-instruct"
api_key_env = "LLM_API_KEY"
batch_size = 20
concurrency = 4
requests_per_minute = 120
timeout_secs = 60
max_retries = 5
"#;
        let c = Config::parse(text, Path::new("/p/tarjama.toml")).unwrap();
        assert_eq!(c.default_backend.as_deref(), Some("local-llm"));
        assert_eq!(c.glossaries, vec![PathBuf::from("/p/g/a.tsv")]);
        let b = &c.backends["local-llm"];
        assert_eq!(b.kind, BackendKind::Openai);
        assert_eq!(b.batch_size, Some(20));
    }

    #[test]
    fn unknown_key_is_an_error_with_line_and_column() {
        let text = "[backends.x]\nkind = \"deepl\"\nconcurency = 3\n";
        let e = Config::parse(text, Path::new("t.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.toml"), "{e}");
        assert!(e.contains("concurency"), "{e}");
        assert!(e.contains("line 3"), "{e}");
        // toml's multi-line report is kept: the line, then a caret under the key.
        let lines: Vec<&str> = e.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.ends_with("concurency = 3"))
            .unwrap_or_else(|| panic!("the offending line is shown: {e}"));
        let (code, caret) = (lines[at], lines[at + 1]);
        let col = code.find("concurency").unwrap();
        assert_eq!(caret.find('^'), Some(col), "{e}");
    }

    #[test]
    fn the_sample_config_has_every_kind_and_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/tarjama.sample.toml");
        let c = Config::load(&path).unwrap();
        let kinds: std::collections::BTreeSet<&str> =
            c.backends.values().map(|b| b.kind.as_str()).collect();
        assert_eq!(kinds.len(), 7, "{kinds:?}");
        assert_eq!(c.default_backend.as_deref(), Some("local-llm"));
    }

    fn two_backends() -> Config {
        let text = r#"
default_backend = "a"
[memory]
path = "mem.sqlite"
[backends.a]
kind = "ollama"
model = "m"
concurrency = 2
[backends.b]
kind = "openai"
model = "m"
batch_size = 5
"#;
        Config::parse(text, Path::new("/p/tarjama.toml")).unwrap()
    }

    #[test]
    fn settings_layer_defaults_file_env_and_flags() {
        let no_env = Env::default();
        // The file's default.
        let s = Settings::resolve(Some(two_backends()), &Overrides::default(), &no_env).unwrap();
        let b = s.backend.unwrap();
        assert_eq!((b.name.as_str(), b.chosen), ("a", Chosen::DefaultBackend));
        assert_eq!(b.config.concurrency, Some(2));
        assert_eq!(b.config.batch_size, None);
        assert_eq!(s.memory_path, Some(PathBuf::from("/p/mem.sqlite")));
        // The environment beats the file.
        let env = Env::default()
            .with(ENV_BACKEND, "b")
            .with(ENV_CONCURRENCY, "7")
            .with(ENV_MEMORY, "/env/mem.sqlite");
        let s = Settings::resolve(Some(two_backends()), &Overrides::default(), &env).unwrap();
        let b = s.backend.unwrap();
        assert_eq!((b.name.as_str(), b.chosen), ("b", Chosen::Env));
        assert_eq!(
            (b.config.concurrency, b.config.batch_size),
            (Some(7), Some(5))
        );
        assert_eq!(s.memory_path, Some(PathBuf::from("/env/mem.sqlite")));
        // Flags beat the environment.
        let flags = Overrides {
            backend: Some("a".into()),
            concurrency: Some(3),
            memory: Some("/flag.sqlite".into()),
            ..Overrides::default()
        };
        let s = Settings::resolve(Some(two_backends()), &flags, &env).unwrap();
        let b = s.backend.unwrap();
        assert_eq!(
            (b.name.as_str(), b.chosen, b.config.concurrency),
            ("a", Chosen::Flag, Some(3))
        );
        assert_eq!(s.memory_path, Some(PathBuf::from("/flag.sqlite")));
        // Overrides are validated like the file.
        let flags = Overrides {
            concurrency: Some(0),
            ..Overrides::default()
        };
        let e = Settings::resolve(Some(two_backends()), &flags, &no_env).unwrap_err();
        assert!(
            e.to_string().contains("concurrency must be at least 1"),
            "{e}"
        );
        let env = Env::default().with(ENV_BATCH_SIZE, "lots");
        let e = Settings::resolve(Some(two_backends()), &Overrides::default(), &env).unwrap_err();
        assert!(e.to_string().contains("TARJAMA_BATCH_SIZE"), "{e}");
    }

    #[test]
    fn the_shared_memory_access_comes_from_the_env_passed_in() {
        let none = Settings::resolve(None, &Overrides::default(), &Env::default()).unwrap();
        assert_eq!(none.memory_access, MemoryAccess::default());
        let env = Env::default()
            .with("HOME", "/home/u")
            .with("PGUSER", "desk")
            .with("PGPASSWORD", "pg-secret")
            .with(ENV_MEMORY_LEASE_MS, "1500");
        let s = Settings::resolve(None, &Overrides::default(), &env).unwrap();
        let a = &s.memory_access;
        assert_eq!(a.user.as_deref(), Some("desk"));
        assert_eq!(a.password.as_ref().map(ApiKey::expose), Some("pg-secret"));
        assert_eq!(a.pgpass, Some(PathBuf::from("/home/u/.pgpass")));
        assert_eq!(a.lease, Some(Duration::from_millis(1500)));
        assert!(!format!("{s:?}").contains("pg-secret"), "{s:?}");
        // tarjama's own variable comes first; an empty one is not a password.
        let env = env
            .with(ENV_MEMORY_PASSWORD, "mine")
            .with("PGPASSFILE", "/etc/pgpass");
        let a = MemoryAccess::from_env(&env).unwrap();
        assert_eq!(a.password.as_ref().map(ApiKey::expose), Some("mine"));
        assert_eq!(a.pgpass, Some(PathBuf::from("/etc/pgpass")));
        let a = MemoryAccess::from_env(&Env::default().with(ENV_MEMORY_PASSWORD, "")).unwrap();
        assert_eq!(a.password, None);
        for bad in ["0", "soon", "-5"] {
            let e = Settings::resolve(
                None,
                &Overrides::default(),
                &Env::default().with(ENV_MEMORY_LEASE_MS, bad),
            )
            .unwrap_err()
            .to_string();
            assert!(e.contains(ENV_MEMORY_LEASE_MS) && e.contains(bad), "{e}");
        }
    }

    #[test]
    fn the_memory_default_and_segment_settings_come_from_one_place() {
        let env = Env::default().with("HOME", "/home/u");
        let s = Settings::resolve(None, &Overrides::default(), &env).unwrap();
        assert_eq!(
            s.memory_path_or_default(),
            Some(PathBuf::from("/home/u/.local/share/tarjama/memory.sqlite"))
        );
        let env = env.with("XDG_DATA_HOME", "/data");
        let s = Settings::resolve(None, &Overrides::default(), &env).unwrap();
        assert_eq!(
            s.memory_path_or_default(),
            Some(PathBuf::from("/data/tarjama/memory.sqlite"))
        );
        let c = Config::parse(
            "[segment]\njoin_lines = true\nabbreviations = [\"a.tsv\"]\n",
            Path::new("/p/tarjama.toml"),
        )
        .unwrap();
        let s = Settings::resolve(Some(c), &Overrides::default(), &env).unwrap();
        let flags = SegmentConfig {
            join_lines: false,
            rules: Some("/r.toml".into()),
            abbreviations: vec!["b.tsv".into()],
        };
        let seg = s.segment(&flags);
        assert!(seg.join_lines);
        assert_eq!(seg.rules, Some(PathBuf::from("/r.toml")));
        assert_eq!(
            seg.abbreviations,
            vec![PathBuf::from("/p/a.tsv"), PathBuf::from("b.tsv")]
        );
    }

    #[test]
    fn the_shared_glossary_and_its_editor_come_from_flag_env_or_file() {
        let c = Config::parse(
            "[glossary]\nurl = \"postgres://desk@db/tm\"\nuser = \"Huda\"\n",
            Path::new("/p/tarjama.toml"),
        )
        .unwrap();
        let env = Env::default().with("USER", "u1");
        let s = Settings::resolve(Some(c.clone()), &Overrides::default(), &env).unwrap();
        assert_eq!(s.glossary_url.as_deref(), Some("postgres://desk@db/tm"));
        assert_eq!(s.editor, "Huda");
        let env = env
            .with(ENV_GLOSSARY_URL, "postgres://env@db/tm")
            .with(ENV_GLOSSARY_USER, "Sami");
        let s = Settings::resolve(Some(c.clone()), &Overrides::default(), &env).unwrap();
        assert_eq!(
            (s.glossary_url.as_deref(), s.editor.as_str()),
            (Some("postgres://env@db/tm"), "Sami")
        );
        let flags = Overrides {
            glossary_url: Some("postgresql://flag@db/tm".into()),
            ..Overrides::default()
        };
        let s = Settings::resolve(Some(c), &flags, &env).unwrap();
        assert_eq!(s.glossary_url.as_deref(), Some("postgresql://flag@db/tm"));
        // No file: the login name; nothing at all: "unknown".
        let s = Settings::resolve(
            None,
            &Overrides::default(),
            &Env::default().with("LOGNAME", "x"),
        )
        .unwrap();
        assert_eq!((s.glossary_url, s.editor.as_str()), (None, "x"));
        let s = Settings::resolve(None, &Overrides::default(), &Env::default()).unwrap();
        assert_eq!(s.editor, "unknown");
        let env = Env::default().with(ENV_GLOSSARY_URL, "glossaries/desk.tsv");
        let e = Settings::resolve(None, &Overrides::default(), &env).unwrap_err();
        assert!(e.to_string().contains("postgres://"), "{e}");
    }

    #[test]
    fn unknown_or_missing_backends_are_explained() {
        let no_env = Env::default();
        let flags = Overrides {
            backend: Some("c".into()),
            ..Overrides::default()
        };
        let e = Settings::resolve(Some(two_backends()), &flags, &no_env)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown backend \"c\"") && e.contains("known backends: a, b"),
            "{e}"
        );
        let e = Settings::resolve(None, &flags, &no_env)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no config file"), "{e}");
        // No file and nothing asked for: an offline run.
        let s = Settings::resolve(None, &Overrides::default(), &no_env).unwrap();
        assert!(s.backend.is_none());
        // One backend and no default: that one.
        let mut c = two_backends();
        c.default_backend = None;
        c.backends.remove("a");
        let s = Settings::resolve(Some(c), &Overrides::default(), &no_env).unwrap();
        assert_eq!(s.backend.unwrap().chosen, Chosen::OnlyOne);
    }

    #[test]
    fn keys_come_from_the_environment_value() {
        let mut b = BackendConfig::new(BackendKind::Deepl);
        b.api_key_env = Some("SOME_KEY".into());
        b.take_key(&Env::default());
        assert!(!b.key_is_set());
        b.take_key(&Env::default().with("SOME_KEY", "k"));
        assert!(b.key_is_set());
        assert_eq!(format!("{:?}", b.key), "Some(ApiKey(***))");
        let env = Env::default().with("SOME_KEY", "secret-value");
        assert!(!format!("{env:?}").contains("secret-value"));
    }
}
