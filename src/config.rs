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
    pub timeout_secs: Option<f64>,
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

impl Config {
    /// Parse configuration text; `path` is used in messages and to resolve
    /// relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().replace('\n', " "),
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
        Ok(cfg)
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

/// `$XDG_CONFIG_HOME/tarjama/config.toml` (or `~/.config/...`).
pub fn user_config_path() -> Option<PathBuf> {
    use etcetera::BaseStrategy;
    let s = etcetera::choose_base_strategy().ok()?;
    Some(s.config_dir().join("tarjama").join("config.toml"))
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
    }
}
