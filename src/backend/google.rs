/*!
Google Cloud Translation v2 "Basic" (`POST
https://translation.googleapis.com/language/translate/v2?key=...`).

The key travels in the query string, so every URL this client shows is
redacted and every message is scrubbed of the key (Google's own error bodies
do not echo it, but proxies do). `format` is always sent as `"text"`: the
default is `html`, which entity-escapes the output (`&#39;`, `&quot;`) and
measurably hurts quality. Limits: 128 `q` items and 100K bytes per request.
Errors are `{"error":{"code","message","errors":[{"reason"}]}}`; quota
errors are 403s told apart by `reason` (`userRateLimitExceeded` and
`rateLimitExceeded` are retried, `dailyLimitExceeded` is final until
midnight Pacific time), and a bad key is a 400 that says "API key not
valid".

Entities: with `format=text` Google returns plain text, so the answer is
used as is. As a defence against servers that ignore `format` (an old
proxy, a look-alike API), a translation is html-unescaped only when it
contains an HTML entity *and its source contained no `&` at all*, so a
source that really talks about `&amp;` is never altered.
*/

use serde::Deserialize;
use serde_json::json;

use super::client::{Answer, Base, Client, Defaults, Protocol, ServerWords, Verdict};
use super::http::Reply;
use super::{BackendError, BackendKind, BatchLimits, BoxFuture, ErrorKind, TermMode};
use crate::config::{BackendConfig, ConfigError};
use crate::model::Request;

pub const DEFAULT_URL: &str = "https://translation.googleapis.com";
pub const PATH: &str = "/language/translate/v2";
/// `q` items per request.
pub const MAX_SEGMENTS: usize = 128;
/// Request size limit.
pub const MAX_REQUEST_BYTES: usize = 100_000;
/// Text bytes per request left for the engine's batching.
pub const MAX_TEXT_BYTES: usize = MAX_REQUEST_BYTES - 2_000;

/// The Google v2 protocol.
pub struct GoogleApi {
    model: Option<String>,
}

/// A Google Cloud project with the Translation API enabled. (No `Debug`:
/// it holds the key.)
pub type Google = Client<GoogleApi>;

/// Build the backend named `name` from its configuration.
pub fn build(
    name: &str,
    cfg: &BackendConfig,
) -> Result<std::sync::Arc<dyn super::Backend>, ConfigError> {
    Ok(std::sync::Arc::new(Google::new(name, cfg)?))
}

impl GoogleApi {
    /// The JSON body for a batch.
    pub fn body(&self, base: &Base, batch: &[Request]) -> serde_json::Value {
        let tagged = super::markup::tagged(batch);
        let q: Vec<String> = batch.iter().map(|r| base.sent_text(r, tagged)).collect();
        let mut body = json!({
            "q": q,
            "source": base.source_lang,
            "target": base.target_lang,
            "format": if tagged { "html" } else { "text" },
        });
        if let Some(m) = &self.model {
            body["model"] = json!(m);
        }
        body
    }

    async fn send(c: &Google, batch: &[Request]) -> Result<Answer, BackendError> {
        let b = &c.base;
        let key = b.key.as_ref().map(|k| k.expose()).unwrap_or("");
        let url = reqwest::Url::parse_with_params(&b.endpoint, [("key", key)]).map_err(|e| {
            b.error(
                ErrorKind::BadRequest,
                &format!("bad url: {e}"),
                "check the url in the config",
            )
        })?;
        let tagged = super::markup::tagged(batch);
        let request = b.http.post(url).json(&c.protocol.body(b, batch));
        let reply = c.exchange(request).await?;
        #[derive(Deserialize)]
        struct Translations {
            data: Data,
        }
        #[derive(Deserialize)]
        struct Data {
            translations: Vec<Item>,
        }
        #[derive(Deserialize)]
        struct Item {
            #[serde(rename = "translatedText")]
            translated: String,
        }
        let answer: Translations = b.decode(&reply)?;
        let items = answer.data.translations;
        if items.len() != batch.len() {
            return Ok(Answer::All(
                reply.status,
                items.into_iter().map(|t| t.translated).collect(),
            ));
        }
        Ok(Answer::All(
            reply.status,
            items
                .into_iter()
                .zip(batch)
                .map(|(t, r)| {
                    // markup answers are decoded once, with their tags
                    if tagged || b.sent_text(r, false).contains('&') {
                        t.translated
                    } else {
                        crate::xml::unescape_entities(&t.translated)
                    }
                })
                .collect(),
        ))
    }
}

impl Protocol for GoogleApi {
    const KIND: BackendKind = BackendKind::Google;
    const MARKUP: bool = true;

    fn defaults() -> Defaults {
        Defaults {
            url: Some(DEFAULT_URL),
            batch_size: MAX_SEGMENTS,
            limits: BatchLimits {
                max_items: MAX_SEGMENTS,
                max_chars: None,
                max_bytes: Some(MAX_TEXT_BYTES),
            },
            concurrency: 4,
            timeout_ms_per_char: 10.0,
            terms: TermMode::Off,
            term_modes: &[TermMode::Off, TermMode::Inline],
            source_lang: "ar",
            target_lang: "en",
            needs_key: true,
        }
    }

    fn from_config(name: &str, cfg: &BackendConfig, base: &mut Base) -> Result<Self, ConfigError> {
        if base.endpoint.contains('?') {
            return Err(ConfigError::Invalid(format!(
                "backend {name} (google): url must not have a query string; the key comes from api_key_env"
            )));
        }
        Ok(GoogleApi {
            model: cfg.model.clone().filter(|m| !m.trim().is_empty()),
        })
    }

    fn endpoint(base_url: &str, _: &BackendConfig) -> String {
        if base_url.ends_with(PATH) {
            base_url.to_string()
        } else {
            format!("{base_url}{PATH}")
        }
    }

    fn call<'a>(
        c: &'a Client<Self>,
        batch: &'a [Request],
    ) -> BoxFuture<'a, Result<Answer, BackendError>> {
        Box::pin(Self::send(c, batch))
    }

    fn request_body(&self, base: &Base, batch: &[Request]) -> Option<String> {
        Some(self.body(base, batch).to_string())
    }

    /// Google's `reason`s: a 403 is a rate limit (retried), a daily quota
    /// (final until midnight Pacific time) or a key not allowed; a bad key
    /// is a 400 that says so.
    fn classify(&self, _: &Base, reply: &Reply, words: &ServerWords, v: &mut Verdict) {
        if reply.is_html() {
            return;
        }
        #[derive(Deserialize, Default)]
        struct Body {
            error: Inner,
        }
        #[derive(Deserialize, Default)]
        struct Inner {
            #[serde(default)]
            errors: Vec<Detail>,
            #[serde(default)]
            details: Vec<serde_json::Value>,
        }
        #[derive(Deserialize, Default)]
        struct Detail {
            #[serde(default)]
            reason: String,
        }
        let body: Body = serde_json::from_str(&reply.body).unwrap_or_default();
        let mut reasons: Vec<String> = body.error.errors.iter().map(|d| d.reason.clone()).collect();
        reasons.extend(
            body.error
                .details
                .iter()
                .filter_map(|d| d.get("reason").and_then(|r| r.as_str()).map(String::from)),
        );
        let has = |r: &str| reasons.iter().any(|x| x.eq_ignore_ascii_case(r));
        let lower = words.lower();
        let daily =
            has("dailyLimitExceeded") || lower.contains("daily limit") || lower.contains("per day");
        let key_problem = has("API_KEY_INVALID")
            || has("keyInvalid")
            || lower.contains("api key not valid")
            || lower.contains("missing a valid api key");
        let mut set = |kind, retryable: bool, h: &str| {
            v.kind = kind;
            v.retryable = retryable;
            v.hint = h.to_string();
            if retryable && v.retry_after.is_none() {
                v.retry_after = reply.retry_after();
            }
        };
        match reply.status {
            400 if key_problem => set(
                ErrorKind::Auth,
                false,
                "the API key was refused: check the key in the variable named by api_key_env",
            ),
            400 if lower.contains("language pair") || lower.contains("not supported") => set(
                ErrorKind::UnsupportedLanguage,
                false,
                "Google refuses this language pair: check source_lang/target_lang",
            ),
            400 if lower.contains("too long")
                || lower.contains("too large")
                || lower.contains("too many")
                || lower.contains("exceeds the limit") =>
            {
                set(
                    ErrorKind::BadRequest,
                    false,
                    "the request is over Google's limits (128 segments, 100K bytes): lower batch_size",
                )
            }
            400 => set(
                ErrorKind::BadRequest,
                false,
                "Google refused the request; check source_lang, target_lang and model",
            ),
            403 if has("userRateLimitExceeded")
                || has("rateLimitExceeded")
                || (has("quotaExceeded") && !daily) =>
            {
                set(
                    ErrorKind::RateLimited,
                    true,
                    "Google's rate limit: it will be retried; lower concurrency or requests_per_minute",
                )
            }
            403 if daily || has("dailyLimitExceededUnreg") => set(
                ErrorKind::Quota,
                false,
                "the project's daily quota is used up: it resets at midnight Pacific time, or raise it in the Cloud console",
            ),
            403 => set(
                ErrorKind::Auth,
                false,
                "the key may not use the Translation API: check the key, its API restrictions and that the API and billing are enabled",
            ),
            404 => set(
                ErrorKind::NotFound,
                false,
                "check the url in the config (the base URL, e.g. https://translation.googleapis.com)",
            ),
            429 => {
                v.hint = "Google asks to slow down: it will be retried; lower concurrency or requests_per_minute".into()
            }
            s if s >= 500 => {
                v.hint =
                    "Google is temporarily unavailable; it will be retried, or try again later".into()
            }
            _ => {}
        }
    }
}
