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

use crate::backend::{BackendKind, TermMode};

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
pub struct SegmentConfig {
    #[serde(default)]
    pub join_lines: bool,
    pub rules: Option<PathBuf>,
    #[serde(default)]
    pub abbreviations: Vec<PathBuf>,
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

/// The default of every optional backend key, per kind. These are what a
/// backend table without the key gets; `tarjama.sample.toml` documents them.
pub mod defaults {
    use crate::backend::{BackendKind, TermMode};

    /// Base URL: the public service, or the usual local port.
    pub fn url(kind: BackendKind) -> Option<&'static str> {
        match kind {
            BackendKind::Libretranslate => Some("http://127.0.0.1:5000"),
            // Pro; a free key (ending in ":fx") uses FREE_DEEPL_URL, see
            // BackendConfig::url_or_default.
            BackendKind::Deepl => Some("https://api.deepl.com"),
            BackendKind::Google => Some("https://translation.googleapis.com"),
            BackendKind::Azure => Some("https://api.cognitive.microsofttranslator.com"),
            BackendKind::Openai => Some("https://api.openai.com/v1"),
            BackendKind::Ollama => Some("http://127.0.0.1:11434"),
            BackendKind::Template => None,
        }
    }

    /// DeepL's endpoint for free keys (those ending in `:fx`).
    pub const FREE_DEEPL_URL: &str = "https://api-free.deepl.com";

    /// Segments per request (the protocol's own cap applies on top).
    pub fn batch_size(kind: BackendKind) -> usize {
        match kind {
            BackendKind::Libretranslate => 25,
            BackendKind::Deepl => 50,
            BackendKind::Google => 128,
            BackendKind::Azure => 100,
            BackendKind::Openai | BackendKind::Ollama => 8,
            BackendKind::Template => 16,
        }
    }

    /// Requests in flight.
    pub fn concurrency(kind: BackendKind) -> usize {
        match kind {
            // LibreTranslate bans IPs that collect too many 429s.
            BackendKind::Libretranslate => 2,
            BackendKind::Ollama => 1,
            BackendKind::Openai => 4,
            _ => 4,
        }
    }

    /// Seconds to wait for one answer, before the allowance per character.
    pub fn timeout_secs(_kind: BackendKind) -> f64 {
        30.0
    }

    /// Milliseconds of timeout added per character of a batch: a local LLM
    /// on a CPU writes some 25 characters a second; a local MT server is
    /// faster.
    pub fn timeout_ms_per_char(kind: BackendKind) -> f64 {
        if kind.is_llm() { 40.0 } else { 10.0 }
    }

    pub const MAX_RETRIES: u32 = 5;
    pub const RETRY_BASE_MS: u64 = 500;
    pub const RETRY_MAX_SECS: f64 = 60.0;

    /// How pinned terms are passed.
    pub fn terms(kind: BackendKind) -> TermMode {
        match kind {
            BackendKind::Openai | BackendKind::Ollama => TermMode::Prompt,
            BackendKind::Deepl | BackendKind::Azure => TermMode::Native,
            _ => TermMode::Off,
        }
    }

    /// Source language as the service spells it.
    pub fn source_lang(kind: BackendKind) -> &'static str {
        match kind {
            BackendKind::Deepl => "AR",
            _ => "ar",
        }
    }

    /// Target language as the service spells it.
    pub fn target_lang(kind: BackendKind) -> &'static str {
        match kind {
            BackendKind::Deepl => "EN-US",
            _ => "en",
        }
    }

    /// Whether the kind cannot work without a key.
    pub fn needs_key(kind: BackendKind) -> bool {
        matches!(
            kind,
            BackendKind::Deepl | BackendKind::Google | BackendKind::Azure
        )
    }
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
        }
    }

    /// The base URL, without a trailing slash. DeepL without a `url` picks
    /// the free endpoint when the key ends in `:fx`, as the DeepL module does.
    pub fn url_or_default(&self) -> Option<String> {
        let free_deepl = self.url.is_none()
            && self.kind == BackendKind::Deepl
            && self
                .api_key_env
                .as_deref()
                .and_then(|v| std::env::var(v).ok())
                .is_some_and(|k| k.trim().ends_with(":fx"));
        let default = if free_deepl {
            Some(defaults::FREE_DEEPL_URL)
        } else {
            defaults::url(self.kind)
        };
        self.url
            .as_deref()
            .or(default)
            .map(|u| u.trim_end_matches('/').to_string())
    }

    pub fn batch_size_or_default(&self) -> usize {
        self.batch_size
            .unwrap_or_else(|| defaults::batch_size(self.kind))
    }

    pub fn concurrency_or_default(&self) -> usize {
        self.concurrency
            .unwrap_or_else(|| defaults::concurrency(self.kind))
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(
            self.timeout_secs
                .unwrap_or_else(|| defaults::timeout_secs(self.kind)),
        )
    }

    /// The timeout added per character of a batch.
    pub fn timeout_per_char(&self) -> Duration {
        Duration::from_secs_f64(
            self.timeout_ms_per_char
                .unwrap_or_else(|| defaults::timeout_ms_per_char(self.kind))
                / 1000.0,
        )
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

    pub fn terms_or_default(&self) -> TermMode {
        self.terms.unwrap_or_else(|| defaults::terms(self.kind))
    }

    pub fn source_lang_or_default(&self) -> &str {
        self.source_lang
            .as_deref()
            .unwrap_or_else(|| defaults::source_lang(self.kind))
    }

    pub fn target_lang_or_default(&self) -> &str {
        self.target_lang
            .as_deref()
            .unwrap_or_else(|| defaults::target_lang(self.kind))
    }

    pub fn response_format_or_default(&self) -> ResponseFormat {
        self.response_format.unwrap_or(ResponseFormat::JsonSchema)
    }

    /// Whether the key variable is named and set (for `backends list`).
    pub fn key_is_set(&self) -> bool {
        self.api_key_env
            .as_deref()
            .is_some_and(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
    }

    /// The API key from the variable named by `api_key_env`. `Ok(None)` when
    /// no variable is named and the kind can do without a key. Errors name
    /// the variable, never a value.
    pub fn api_key(&self, name: &str) -> Result<Option<String>, ConfigError> {
        let Some(var) = self.api_key_env.as_deref() else {
            if defaults::needs_key(self.kind) {
                return Err(ConfigError::Invalid(format!(
                    "backend {name}: kind {} needs an API key; add api_key_env = \"SOME_VARIABLE\" to [backends.{name}] and export the key in that variable",
                    self.kind.as_str()
                )));
            }
            return Ok(None);
        };
        match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_string())),
            Ok(_) => Err(ConfigError::Invalid(format!(
                "backend {name}: the environment variable {var} (api_key_env) is empty; export your API key in it"
            ))),
            Err(std::env::VarError::NotPresent) => Err(ConfigError::Invalid(format!(
                "backend {name}: the environment variable {var} (api_key_env) is not set; export your API key in it"
            ))),
            Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::Invalid(format!(
                "backend {name}: the environment variable {var} (api_key_env) is not valid UTF-8"
            ))),
        }
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
        match self.url_or_default() {
            None => {
                return bad(
                    "url",
                    format!("is required for kind {}", self.kind.as_str()),
                );
            }
            Some(u) => match reqwest::Url::parse(&u) {
                Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
                _ => {
                    return bad(
                        "url",
                        format!(
                            "is not an http(s) URL: {}",
                            crate::backend::http::redact_url(&u)
                        ),
                    );
                }
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
            (None, crate::backend::BackendKind::Template) => {
                return bad(
                    "template",
                    "is required for kind template: add a [backends.NAME.template] table with body and response_pointer".into(),
                );
            }
            (Some(t), crate::backend::BackendKind::Template) => {
                crate::backend::template::check(t)
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
    pub fn discover(explicit: Option<&Path>) -> Result<Option<Config>, ConfigError> {
        if let Some(p) = explicit {
            return Config::load(p).map(Some);
        }
        let local = PathBuf::from("tarjama.toml");
        if local.is_file() {
            return Config::load(&local).map(Some);
        }
        if let Some(p) = user_config_path().filter(|p| p.is_file()) {
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
/// Environment variables that override the chosen backend's knobs (below the
/// matching flags).
pub const ENV_BATCH_SIZE: &str = "TARJAMA_BATCH_SIZE";
pub const ENV_CONCURRENCY: &str = "TARJAMA_CONCURRENCY";
pub const ENV_REQUESTS_PER_MINUTE: &str = "TARJAMA_REQUESTS_PER_MINUTE";
pub const ENV_TIMEOUT_SECS: &str = "TARJAMA_TIMEOUT_SECS";
pub const ENV_MAX_RETRIES: &str = "TARJAMA_MAX_RETRIES";

/// What the command line sets; `None` leaves the value to the layers below.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub backend: Option<String>,
    pub memory: Option<PathBuf>,
    pub batch_size: Option<usize>,
    pub concurrency: Option<usize>,
    pub requests_per_minute: Option<u32>,
    pub timeout_secs: Option<f64>,
    pub max_retries: Option<u32>,
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
}

impl Settings {
    /// Resolve with the process environment.
    pub fn resolve(config: Option<Config>, flags: &Overrides) -> Result<Settings, ConfigError> {
        Settings::resolve_with(config, flags, |k| std::env::var(k).ok())
    }

    /// Resolve with `env` standing in for the environment (for tests).
    pub fn resolve_with(
        config: Option<Config>,
        flags: &Overrides,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let env = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        let had_file = config.is_some();
        let config = config.unwrap_or_default();
        let (wanted, chosen) = if let Some(b) = &flags.backend {
            (Some(b.clone()), Chosen::Flag)
        } else if let Some(b) = env(ENV_BACKEND) {
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
                    let user = user_config_path()
                        .map(|p| format!(" or {}", p.display()))
                        .unwrap_or_default();
                    return Err(ConfigError::Invalid(format!(
                        "backend \"{name}\"{from} is asked for but no config file was found (./tarjama.toml{user}); pass --config PATH or create one from seeds/tarjama.sample.toml"
                    )));
                }
                let mut b = config.backend(&name)?.clone();
                apply_env_and_flags(&name, &mut b, flags, &env)?;
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
            .or_else(|| env(ENV_MEMORY_URL).map(PathBuf::from))
            .or_else(|| env(ENV_MEMORY).map(PathBuf::from))
            .or_else(|| config.memory.url.clone().map(PathBuf::from))
            .or_else(|| config.memory.path.clone());
        Ok(Settings {
            config,
            backend,
            memory_path,
        })
    }

    /// The memory file: the resolved one, else `tarjama/memory.sqlite` in
    /// the user data dir.
    pub fn memory_path_or_default(&self) -> Option<PathBuf> {
        self.memory_path
            .clone()
            .or_else(|| user_data_dir().map(|d| d.join("memory.sqlite")))
    }
}

fn apply_env_and_flags(
    name: &str,
    b: &mut BackendConfig,
    flags: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    fn parse<T: std::str::FromStr>(var: &str, v: String) -> Result<T, ConfigError> {
        v.trim().parse().map_err(|_| {
            ConfigError::Invalid(format!(
                "environment variable {var}: not a valid number: {v:?}"
            ))
        })
    }
    if let Some(v) = env(ENV_BATCH_SIZE) {
        b.batch_size = Some(parse(ENV_BATCH_SIZE, v)?);
    }
    if let Some(v) = env(ENV_CONCURRENCY) {
        b.concurrency = Some(parse(ENV_CONCURRENCY, v)?);
    }
    if let Some(v) = env(ENV_REQUESTS_PER_MINUTE) {
        b.requests_per_minute = Some(parse(ENV_REQUESTS_PER_MINUTE, v)?);
    }
    if let Some(v) = env(ENV_TIMEOUT_SECS) {
        b.timeout_secs = Some(parse(ENV_TIMEOUT_SECS, v)?);
    }
    if let Some(v) = env(ENV_MAX_RETRIES) {
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

/// `$XDG_CONFIG_HOME/tarjama/config.toml` (or `~/.config/...`).
pub fn user_config_path() -> Option<PathBuf> {
    use etcetera::BaseStrategy;
    let s = etcetera::choose_base_strategy().ok()?;
    Some(s.config_dir().join("tarjama").join("config.toml"))
}

/// The folder of installed glossaries, `$XDG_DATA_HOME/tarjama/glossaries`
/// (usually `~/.local/share/tarjama/glossaries`): where `glossary init`
/// puts the starter glossaries, so that any folder finds them.
pub fn user_glossary_dir() -> Option<PathBuf> {
    user_data_dir().map(|d| d.join("glossaries"))
}

/// The folders whose `*.tsv` files are the glossaries when neither
/// `--glossary` nor the config's `glossaries` names any, in the order they
/// are tried: the installed glossaries, then `./glossaries`. The first
/// folder holding a `*.tsv` file wins.
pub fn glossary_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = user_glossary_dir().into_iter().collect();
    dirs.push(PathBuf::from("glossaries"));
    dirs
}

/// The user data dir for tarjama (`$XDG_DATA_HOME/tarjama`).
pub fn user_data_dir() -> Option<PathBuf> {
    use etcetera::BaseStrategy;
    let s = etcetera::choose_base_strategy().ok()?;
    Some(s.data_dir().join("tarjama"))
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
        let no_env = |_: &str| None;
        // The file's default.
        let s =
            Settings::resolve_with(Some(two_backends()), &Overrides::default(), no_env).unwrap();
        let b = s.backend.unwrap();
        assert_eq!((b.name.as_str(), b.chosen), ("a", Chosen::DefaultBackend));
        assert_eq!(b.config.concurrency_or_default(), 2);
        assert_eq!(
            b.config.batch_size_or_default(),
            defaults::batch_size(BackendKind::Ollama)
        );
        assert_eq!(s.memory_path, Some(PathBuf::from("/p/mem.sqlite")));
        // The environment beats the file.
        let env = |k: &str| match k {
            ENV_BACKEND => Some("b".to_string()),
            ENV_CONCURRENCY => Some("7".to_string()),
            ENV_MEMORY => Some("/env/mem.sqlite".to_string()),
            _ => None,
        };
        let s = Settings::resolve_with(Some(two_backends()), &Overrides::default(), env).unwrap();
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
        let s = Settings::resolve_with(Some(two_backends()), &flags, env).unwrap();
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
        let e = Settings::resolve_with(Some(two_backends()), &flags, no_env).unwrap_err();
        assert!(
            e.to_string().contains("concurrency must be at least 1"),
            "{e}"
        );
        let e = Settings::resolve_with(Some(two_backends()), &Overrides::default(), |k: &str| {
            (k == ENV_BATCH_SIZE).then(|| "lots".to_string())
        })
        .unwrap_err();
        assert!(e.to_string().contains("TARJAMA_BATCH_SIZE"), "{e}");
    }

    #[test]
    fn unknown_or_missing_backends_are_explained() {
        let flags = Overrides {
            backend: Some("c".into()),
            ..Overrides::default()
        };
        let e = Settings::resolve_with(Some(two_backends()), &flags, |_: &str| None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown backend \"c\"") && e.contains("known backends: a, b"),
            "{e}"
        );
        let e = Settings::resolve_with(None, &flags, |_: &str| None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no config file"), "{e}");
        // No file and nothing asked for: an offline run.
        let s = Settings::resolve_with(None, &Overrides::default(), |_: &str| None).unwrap();
        assert!(s.backend.is_none());
        // One backend and no default: that one.
        let mut c = two_backends();
        c.default_backend = None;
        c.backends.remove("a");
        let s = Settings::resolve_with(Some(c), &Overrides::default(), |_: &str| None).unwrap();
        assert_eq!(s.backend.unwrap().chosen, Chosen::OnlyOne);
    }

    #[test]
    fn keys_come_from_the_named_variable_and_errors_name_it() {
        let mut b = BackendConfig::new(BackendKind::Deepl);
        let e = b.api_key("d").unwrap_err().to_string();
        assert!(
            e.contains("needs an API key") && e.contains("api_key_env"),
            "{e}"
        );
        b.api_key_env = Some("TARJAMA_CONFIG_TEST_SURELY_UNSET".into());
        let e = b.api_key("d").unwrap_err().to_string();
        assert!(
            e.contains("TARJAMA_CONFIG_TEST_SURELY_UNSET") && e.contains("not set"),
            "{e}"
        );
        assert!(!b.key_is_set());
        // A path-like variable that is always set stands in for a key.
        b.api_key_env = Some("PATH".into());
        let k = b.api_key("d").unwrap().unwrap();
        assert!(!k.is_empty() && b.key_is_set());
        // LLMs and templates may go without a key.
        assert!(
            BackendConfig::new(BackendKind::Ollama)
                .api_key("o")
                .unwrap()
                .is_none()
        );
    }
}
