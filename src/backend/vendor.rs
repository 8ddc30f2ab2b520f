/*!
What the four vendor MT clients (LibreTranslate, DeepL, Google v2, Azure)
share beyond [`super::http`]: reading the key from its environment variable,
the timeout and batch-size settings, one-line error messages that never carry
the key, and JSON decoding that turns an HTML page or truncated JSON into a
[`super::ErrorKind::BadResponse`] instead of a confusing parse error.

Each protocol module decides *which* kind and retry decision a status means;
this module only builds the message the same way everywhere:
`{backend}: {url} answered HTTP {status}: {server's words}; {what to do}`.
*/

use std::time::Duration;

use serde::de::DeserializeOwned;

use super::http::{Reply, excerpt};
use super::{BackendError, BatchLimits, TermMode};
use crate::config::{BackendConfig, ConfigError};

/// The [`Backend`](super::Backend) impl every vendor client shares: a
/// `voice` (name and redacted URL), its `limits`, and an inherent
/// `async fn call(&self, &[Request])`.
macro_rules! vendor_backend {
    ($ty:ty, $kind:expr) => {
        impl $crate::backend::Backend for $ty {
            fn name(&self) -> &str {
                &self.voice.name
            }
            fn kind(&self) -> $crate::backend::BackendKind {
                $kind
            }
            fn limits(&self) -> $crate::backend::BatchLimits {
                self.limits
            }
            fn endpoint(&self) -> String {
                self.voice.url.clone()
            }
            fn translate<'a>(
                &'a self,
                batch: &'a [$crate::model::Request],
            ) -> $crate::backend::BoxFuture<'a, Result<Vec<String>, $crate::backend::BackendError>>
            {
                Box::pin(self.call(batch))
            }
        }
    };
}
pub(crate) use vendor_backend;

/// Default per-request timeout when `timeout_secs` is not set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The key named by `api_key_env`. `Ok(None)` when no variable is configured
/// and `required` is false; a missing or empty variable is an error naming it.
pub fn read_key(
    name: &str,
    cfg: &BackendConfig,
    required: bool,
) -> Result<Option<String>, ConfigError> {
    let kind = cfg.kind.as_str();
    let Some(var) = cfg.api_key_env.as_deref().filter(|v| !v.trim().is_empty()) else {
        if required {
            return Err(ConfigError::Invalid(format!(
                "backend {name} ({kind}) needs a key: set api_key_env to the name of the environment variable that holds it"
            )));
        }
        return Ok(None);
    };
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_string())),
        Ok(_) => Err(ConfigError::Invalid(format!(
            "backend {name} ({kind}): environment variable {var} (api_key_env) is empty; export it with your key"
        ))),
        Err(_) => Err(ConfigError::Invalid(format!(
            "backend {name} ({kind}): environment variable {var} (api_key_env) is not set; export it with your key"
        ))),
    }
}

/// The configured per-request timeout (default 60 s).
pub fn timeout(name: &str, cfg: &BackendConfig) -> Result<Duration, ConfigError> {
    match cfg.timeout_secs {
        None => Ok(DEFAULT_TIMEOUT),
        Some(t) if t.is_finite() && t > 0.0 && t <= 86_400.0 => Ok(Duration::from_secs_f64(t)),
        Some(t) => Err(ConfigError::Invalid(format!(
            "backend {name}: timeout_secs = {t} is not a positive number of seconds"
        ))),
    }
}

/// The protocol's limits with `max_items` capped by `batch_size`
/// (`default_items` when it is not set).
pub fn limits(
    name: &str,
    cfg: &BackendConfig,
    protocol: BatchLimits,
    default_items: usize,
) -> Result<BatchLimits, ConfigError> {
    let wanted = match cfg.batch_size {
        Some(0) => {
            return Err(ConfigError::Invalid(format!(
                "backend {name}: batch_size must be at least 1"
            )));
        }
        Some(n) => n,
        None => default_items,
    };
    Ok(BatchLimits {
        max_items: wanted.min(protocol.max_items).max(1),
        ..protocol
    })
}

/// The term mode from the config, checked against what the protocol offers.
pub fn term_mode(
    name: &str,
    cfg: &BackendConfig,
    default: TermMode,
    allowed: &[TermMode],
) -> Result<TermMode, ConfigError> {
    let mode = cfg.terms.unwrap_or(default);
    if allowed.contains(&mode) {
        return Ok(mode);
    }
    let spell = |m: &TermMode| match m {
        TermMode::Prompt => "\"prompt\"",
        TermMode::Native => "\"native\"",
        TermMode::Inline => "\"inline\"",
        TermMode::Off => "\"off\"",
    };
    let ok: Vec<&str> = allowed.iter().map(spell).collect();
    Err(ConfigError::Invalid(format!(
        "backend {name} ({}): terms = {} is not available for this protocol; use one of {}",
        cfg.kind.as_str(),
        spell(&mode),
        ok.join(", ")
    )))
}

/// An HTTP client for one backend.
pub fn client(name: &str) -> Result<reqwest::Client, ConfigError> {
    reqwest::Client::builder()
        .user_agent(concat!("tarjama/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ConfigError::Invalid(format!("backend {name}: cannot set up HTTP: {e}")))
}

/// `base` without trailing slashes, checked to be an http(s) URL.
pub fn base_url(name: &str, base: &str) -> Result<String, ConfigError> {
    let trimmed = base.trim().trim_end_matches('/');
    match reqwest::Url::parse(trimmed) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(trimmed.to_string()),
        _ => Err(ConfigError::Invalid(format!(
            "backend {name}: url {:?} is not an http:// or https:// URL",
            super::http::redact_url(trimmed)
        ))),
    }
}

/// Removes secrets from text before it goes into a message.
#[derive(Clone, Default)]
pub struct Secrets(Vec<String>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} hidden)", self.0.len())
    }
}

impl Secrets {
    pub fn new(key: Option<&str>) -> Self {
        let mut v = Vec::new();
        if let Some(k) = key.filter(|k| !k.is_empty()) {
            v.push(k.to_string());
            // The key as it appears in a URL query.
            let enc: String = reqwest::Url::parse_with_params("http://x/", &[("k", k)])
                .ok()
                .and_then(|u| u.query().map(|q| q[2..].to_string()))
                .unwrap_or_default();
            if !enc.is_empty() && enc != k {
                v.push(enc);
            }
            // The key as a JSON string escapes it.
            let json = serde_json::to_string(k).unwrap_or_default();
            let json = json.trim_matches('"').to_string();
            if !json.is_empty() && json != k {
                v.push(json);
            }
        }
        // Longest first, so that a variant containing another is removed whole.
        v.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Secrets(v)
    }

    pub fn scrub(&self, s: &str) -> String {
        let mut out = s.to_string();
        for k in &self.0 {
            out = out.replace(k.as_str(), "***");
        }
        out
    }
}

/// One line, at most `max` characters, secrets removed.
pub fn clean_line(s: &str, max: usize, secrets: &Secrets) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    excerpt(&secrets.scrub(&one), max)
}

/// Everything needed to phrase an error for one backend.
#[derive(Debug, Clone)]
pub struct Voice {
    /// The backend's configured name.
    pub name: String,
    /// The endpoint without secrets.
    pub url: String,
    pub secrets: Secrets,
}

impl Voice {
    /// An error for an HTTP answer: kind, retry decision, status, the server's
    /// own words and a hint, in one line without secrets.
    pub fn status_error(
        &self,
        kind: super::ErrorKind,
        retryable: bool,
        reply: &Reply,
        detail: &str,
        hint: &str,
    ) -> BackendError {
        let detail = if reply.is_html() && detail.trim_start().starts_with('<') {
            "an HTML page".to_string()
        } else {
            clean_line(detail, 200, &self.secrets)
                .trim_end_matches('.')
                .to_string()
        };
        let detail = if detail.is_empty() {
            String::new()
        } else {
            format!(": {detail}")
        };
        let msg = format!(
            "{}: {} answered HTTP {}{detail}; {hint}",
            self.name, self.url, reply.status
        );
        BackendError::new(kind, self.secrets.scrub(&msg))
            .with_status(reply.status)
            .retryable(retryable)
            .with_retry_after(if retryable { reply.retry_after() } else { None })
    }

    /// A 2xx (or unparseable error) answer that is not what the protocol
    /// promises.
    pub fn bad_response(&self, reply: &Reply, what: &str, retryable: bool) -> BackendError {
        let msg = format!(
            "{}: {} answered HTTP {} with {what}; check that url points at the service's API (not a proxy or web page) and try again",
            self.name, self.url, reply.status
        );
        BackendError::new(super::ErrorKind::BadResponse, self.secrets.scrub(&msg))
            .with_status(reply.status)
            .retryable(retryable)
            .with_retry_after(if retryable { reply.retry_after() } else { None })
    }

    /// Decode a success body, or say why it is not the expected JSON.
    pub fn decode<T: DeserializeOwned>(&self, reply: &Reply) -> Result<T, BackendError> {
        if reply.is_html() {
            return Err(self.bad_response(reply, "an HTML page instead of JSON", false));
        }
        let value: serde_json::Value = serde_json::from_str(&reply.body).map_err(|e| {
            let what = if e.is_eof() {
                "truncated JSON".to_string()
            } else {
                format!(
                    "a body that is not JSON ({})",
                    clean_line(&reply.body, 60, &self.secrets)
                )
            };
            self.bad_response(reply, &what, false)
        })?;
        serde_json::from_value(value).map_err(|e| {
            self.bad_response(reply, &format!("JSON of an unexpected shape ({e})"), false)
        })
    }

    /// The answer held `got` translations for `want` texts.
    pub fn wrong_count(&self, reply: &Reply, got: usize, want: usize) -> BackendError {
        self.bad_response(
            reply,
            &format!("{got} translations for {want} texts"),
            false,
        )
    }
}

/// The hint for a status when the protocol has nothing more specific.
pub fn generic_hint(status: u16) -> &'static str {
    match status {
        401 | 403 => "check the key in the variable named by api_key_env",
        404 => "check the url in the config (wrong base URL or path)",
        408 => "the server timed out; it will be retried",
        413 | 414 => "the request is too large; lower batch_size",
        429 => "rate limited; lower concurrency or requests_per_minute",
        s if s >= 500 => "server error; it will be retried, or try again later",
        _ => "the request was refused; check the backend's settings",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_scrubbed_in_all_spellings() {
        let s = Secrets::new(Some("ab/c+d=e\"f"));
        let text = "raw ab/c+d=e\"f url ab%2Fc%2Bd%3De%22f json ab/c+d=e\\\"f";
        let out = s.scrub(text);
        assert!(!out.contains("ab/c"), "{out}");
        assert!(!out.contains("ab%2F"), "{out}");
        assert_eq!(out.matches("***").count(), 3, "{out}");
    }

    #[test]
    fn clean_line_is_one_line() {
        let s = Secrets::new(Some("K"));
        assert_eq!(clean_line("a\n  b\tK", 50, &s), "a b ***");
    }
}
