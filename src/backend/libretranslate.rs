/*!
LibreTranslate (`POST {base}/translate`), as LibreTranslate 1.9 speaks it.

A self-hosted LibreTranslate is the free, private option most users start
with. Its quirks drive this client: the `q` array works only in a JSON body,
the API key is a *body* field, every error is `{"error": "..."}`, a 429 has
no `Retry-After` and each one counts towards an IP ban (so the client asks
the engine for a long wait), a required-but-missing key is a 400, and the
`--char-limit` / `--batch-limit` refusals are 400s that a smaller batch
fixes. Pinned terms can only be passed inline (`terms = "inline"`).
*/

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::http::{self, Reply};
use super::vendor::{self, Voice};
use super::{Backend, BackendError, BackendKind, BatchLimits, ErrorKind, TermMode};
use crate::config::{BackendConfig, ConfigError};
use crate::model::Request;

/// Where `libretranslate` listens by default.
pub const DEFAULT_URL: &str = "http://127.0.0.1:5000";
/// Texts per request when `batch_size` is not set (the server has no limit
/// unless started with `--batch-limit`).
pub const DEFAULT_BATCH: usize = 25;

/// Wait after a 429 when the message gives no rate to compute one from.
const SLOWDOWN_WAIT: Duration = Duration::from_secs(10);
/// Never wait longer than this after a 429.
const SLOWDOWN_MAX: Duration = Duration::from_secs(120);

/// A LibreTranslate server. (No `Debug`: it holds the key.)
pub struct LibreTranslate {
    voice: Voice,
    base: String,
    key: Option<String>,
    source: String,
    target: String,
    limits: BatchLimits,
    timeout: Duration,
    terms: TermMode,
    client: reqwest::Client,
}

/// Build the backend named `name` from its configuration.
pub fn build(name: &str, cfg: &BackendConfig) -> Result<Arc<dyn Backend>, ConfigError> {
    Ok(Arc::new(LibreTranslate::new(name, cfg)?))
}

impl LibreTranslate {
    pub fn new(name: &str, cfg: &BackendConfig) -> Result<Self, ConfigError> {
        let key = vendor::read_key(name, cfg, false)?;
        let base = vendor::base_url(name, cfg.url.as_deref().unwrap_or(DEFAULT_URL))?;
        let limits = vendor::limits(
            name,
            cfg,
            BatchLimits {
                max_items: usize::MAX,
                max_chars: None,
                max_bytes: None,
            },
            DEFAULT_BATCH,
        )?;
        let terms =
            vendor::term_mode(name, cfg, TermMode::Off, &[TermMode::Off, TermMode::Inline])?;
        let url = format!("{base}/translate");
        Ok(LibreTranslate {
            voice: Voice {
                name: name.to_string(),
                url: http::redact_url(&url),
                secrets: vendor::Secrets::new(key.as_deref()),
            },
            base,
            key,
            source: cfg.source_lang.clone().unwrap_or_else(|| "ar".into()),
            target: cfg.target_lang.clone().unwrap_or_else(|| "en".into()),
            limits,
            timeout: vendor::timeout(name, cfg)?,
            terms,
            client: vendor::client(name)?,
        })
    }

    /// The JSON body for a batch.
    pub fn body(&self, batch: &[Request]) -> serde_json::Value {
        let q: Vec<String> = batch
            .iter()
            .map(|r| match self.terms {
                TermMode::Inline => super::terms::inline(&r.text, &r.terms),
                _ => r.text.clone(),
            })
            .collect();
        let mut body = json!({
            "q": q,
            "source": self.source,
            "target": self.target,
            "format": "text",
        });
        if let Some(k) = &self.key {
            body["api_key"] = json!(k);
        }
        body
    }

    async fn call(&self, batch: &[Request]) -> Result<Vec<String>, BackendError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let request = self
            .client
            .post(format!("{}/translate", self.base))
            .json(&self.body(batch));
        let reply = http::send(&self.voice.name, request, self.timeout)
            .await
            .map_err(|e| self.scrubbed(e))?;
        if !reply.is_success() {
            return Err(self.error(&reply, batch.len()));
        }
        #[derive(Deserialize)]
        struct Answer {
            #[serde(rename = "translatedText")]
            translated: Translated,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Translated {
            Many(Vec<String>),
            One(String),
        }
        let answer: Answer = self.voice.decode(&reply)?;
        let out = match answer.translated {
            Translated::Many(v) => v,
            Translated::One(s) => vec![s],
        };
        if out.len() != batch.len() {
            return Err(self.voice.wrong_count(&reply, out.len(), batch.len()));
        }
        Ok(out)
    }

    fn scrubbed(&self, mut e: BackendError) -> BackendError {
        e.message = self.voice.secrets.scrub(&e.message);
        e
    }

    /// Map an error answer to a kind and a retry decision.
    pub fn error(&self, reply: &Reply, batch_len: usize) -> BackendError {
        #[derive(Deserialize)]
        struct Body {
            error: String,
        }
        let v = &self.voice;
        if reply.status == 404 {
            return v.status_error(
                ErrorKind::NotFound,
                false,
                reply,
                &reply.body_excerpt(),
                "no /translate here: check the url in the config (the server's base URL, e.g. http://127.0.0.1:5000)",
            );
        }
        if reply.is_html() {
            let retry = matches!(reply.status, 429 | 500..=599);
            return v.bad_response(
                reply,
                "an HTML page instead of LibreTranslate's JSON error",
                retry,
            );
        }
        let msg = serde_json::from_str::<Body>(&reply.body)
            .map(|b| b.error)
            .unwrap_or_else(|_| reply.body_excerpt());
        let lower = msg.to_lowercase();
        match reply.status {
            400 if lower.contains("api key") => v.status_error(
                ErrorKind::Auth,
                false,
                reply,
                &msg,
                "this server requires an API key: set api_key_env to the variable holding it",
            ),
            400 if lower.contains("not supported")
                || lower.contains("not available as a target language") =>
            {
                v.status_error(
                    ErrorKind::UnsupportedLanguage,
                    false,
                    reply,
                    &msg,
                    "the server has no Arabic-to-English model: install it (argospm or --load-only) or set source_lang/target_lang",
                )
            }
            400 if lower.contains("limit") => v.status_error(
                ErrorKind::BadRequest,
                false,
                reply,
                &msg,
                "the server's --batch-limit or --char-limit refuses this request: lower batch_size, or raise the limits on the server",
            ),
            400 => v.status_error(
                ErrorKind::BadRequest,
                false,
                reply,
                &msg,
                "the server refused the request; check source_lang/target_lang",
            ),
            401 | 403 if lower.contains("too many request limits violations") => v.status_error(
                ErrorKind::RateLimited,
                false,
                reply,
                &msg,
                "the server has banned this address for too many 429s: wait, then lower requests_per_minute and concurrency",
            ),
            401 | 403 => v.status_error(
                ErrorKind::Auth,
                false,
                reply,
                &msg,
                "check the key in the variable named by api_key_env",
            ),
            429 => {
                let wait = reply
                    .retry_after()
                    .unwrap_or_else(|| slowdown_wait(&msg, batch_len));
                v.status_error(
                    ErrorKind::RateLimited,
                    true,
                    reply,
                    &msg,
                    "rate limited (each 429 counts towards a ban): lower requests_per_minute and concurrency",
                )
                .with_retry_after(Some(wait))
            }
            s if s >= 500 => v.status_error(
                ErrorKind::Server,
                true,
                reply,
                &msg,
                "the server failed to translate; it will be retried, then check the server's log",
            ),
            s => v.status_error(
                ErrorKind::BadRequest,
                false,
                reply,
                &msg,
                vendor::generic_hint(s),
            ),
        }
    }
}

/// How long to wait after `Slowdown: N per M unit`: the time the server's
/// window allows for this batch (a batch costs one request per text),
/// clamped to [1 s, 120 s]; 10 s when the message gives no rate.
pub fn slowdown_wait(msg: &str, batch_len: usize) -> Duration {
    let words: Vec<&str> = msg.split_whitespace().collect();
    let rate = words.windows(4).find_map(|w| {
        if !w[1].eq_ignore_ascii_case("per") {
            return None;
        }
        let n: f64 = w[0]
            .trim_start_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .ok()?;
        let m: f64 = w[2].parse().ok()?;
        let unit = w[3]
            .trim_end_matches(|c: char| !c.is_ascii_alphabetic())
            .to_lowercase();
        let secs = match unit.trim_end_matches('s') {
            "second" => 1.0,
            "minute" => 60.0,
            "hour" => 3600.0,
            "day" => 86_400.0,
            _ => return None,
        };
        (n > 0.0).then_some(m * secs / n)
    });
    match rate {
        Some(per_request) => {
            let secs = per_request * batch_len.max(1) as f64;
            Duration::from_secs_f64(secs.clamp(1.0, SLOWDOWN_MAX.as_secs_f64()))
        }
        None => SLOWDOWN_WAIT,
    }
}

vendor::vendor_backend!(LibreTranslate, BackendKind::Libretranslate);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slowdown_wait_follows_the_servers_rate() {
        assert_eq!(
            slowdown_wait("Slowdown: 30 per 1 minute", 1),
            Duration::from_secs(2)
        );
        assert_eq!(
            slowdown_wait("Slowdown: 30 per 1 minute", 10),
            Duration::from_secs(20)
        );
        assert_eq!(slowdown_wait("Slowdown: 1 per 1 day", 1), SLOWDOWN_MAX);
        assert_eq!(slowdown_wait("Too many requests", 3), SLOWDOWN_WAIT);
    }
}
