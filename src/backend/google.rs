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

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::http::{self, Reply};
use super::vendor::{self, Voice};
use super::{Backend, BackendError, BackendKind, BatchLimits, ErrorKind, TermMode};
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

/// A Google Cloud project with the Translation API enabled. (No `Debug`:
/// it holds the key.)
pub struct Google {
    voice: Voice,
    /// Full URL of the endpoint, without the key.
    url: String,
    key: String,
    source: String,
    target: String,
    model: Option<String>,
    limits: BatchLimits,
    timeout: Duration,
    terms: TermMode,
    client: reqwest::Client,
}

/// Build the backend named `name` from its configuration.
pub fn build(name: &str, cfg: &BackendConfig) -> Result<Arc<dyn Backend>, ConfigError> {
    Ok(Arc::new(Google::new(name, cfg)?))
}

impl Google {
    pub fn new(name: &str, cfg: &BackendConfig) -> Result<Self, ConfigError> {
        let key = vendor::read_key(name, cfg, true)?.unwrap_or_default();
        let base = vendor::base_url(name, cfg.url.as_deref().unwrap_or(DEFAULT_URL))?;
        if base.contains('?') {
            return Err(ConfigError::Invalid(format!(
                "backend {name} (google): url must not have a query string; the key comes from api_key_env"
            )));
        }
        let url = if base.ends_with(PATH) {
            base
        } else {
            format!("{base}{PATH}")
        };
        let limits = vendor::limits(
            name,
            cfg,
            BatchLimits {
                max_items: MAX_SEGMENTS,
                max_chars: None,
                max_bytes: Some(MAX_TEXT_BYTES),
            },
            MAX_SEGMENTS,
        )?;
        let terms =
            vendor::term_mode(name, cfg, TermMode::Off, &[TermMode::Off, TermMode::Inline])?;
        Ok(Google {
            voice: Voice {
                name: name.to_string(),
                url: http::redact_url(&url),
                secrets: vendor::Secrets::new(Some(&key)),
            },
            url,
            key,
            source: cfg.source_lang.clone().unwrap_or_else(|| "ar".into()),
            target: cfg.target_lang.clone().unwrap_or_else(|| "en".into()),
            model: cfg.model.clone().filter(|m| !m.trim().is_empty()),
            limits,
            timeout: vendor::timeout(name, cfg)?,
            terms,
            client: vendor::client(name)?,
        })
    }

    /// The JSON body for a batch.
    pub fn body(&self, batch: &[Request]) -> serde_json::Value {
        let q: Vec<String> = batch.iter().map(|r| self.sent_text(r)).collect();
        let mut body = json!({
            "q": q,
            "source": self.source,
            "target": self.target,
            "format": "text",
        });
        if let Some(m) = &self.model {
            body["model"] = json!(m);
        }
        body
    }

    fn sent_text(&self, r: &Request) -> String {
        match self.terms {
            TermMode::Inline => super::terms::inline(&r.text, &r.terms),
            _ => r.text.clone(),
        }
    }

    async fn call(&self, batch: &[Request]) -> Result<Vec<String>, BackendError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let url = reqwest::Url::parse_with_params(&self.url, [("key", self.key.as_str())])
            .map_err(|e| {
                BackendError::new(
                    ErrorKind::BadRequest,
                    format!("{}: bad url {}: {e}", self.voice.name, self.voice.url),
                )
            })?;
        let request = self.client.post(url).json(&self.body(batch));
        let reply = http::send(&self.voice.name, request, self.timeout)
            .await
            .map_err(|mut e| {
                e.message = self.voice.secrets.scrub(&e.message);
                e
            })?;
        if !reply.is_success() {
            return Err(error(&self.voice, &reply));
        }
        #[derive(Deserialize)]
        struct Answer {
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
        let answer: Answer = self.voice.decode(&reply)?;
        let items = answer.data.translations;
        if items.len() != batch.len() {
            return Err(self.voice.wrong_count(&reply, items.len(), batch.len()));
        }
        Ok(items
            .into_iter()
            .zip(batch)
            .map(|(t, r)| {
                if self.sent_text(r).contains('&') {
                    t.translated
                } else {
                    unescape_entities(&t.translated)
                }
            })
            .collect())
    }
}

/// Undo HTML entity escaping (`&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;`,
/// `&#39;`, `&#NNN;`, `&#xHH;`); anything else is left as it is.
pub fn unescape_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest[1..].find(';').map(|e| e + 1).filter(|&e| e <= 10);
        let decoded = end.and_then(|e| {
            let name = &rest[1..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                n if n.starts_with("#x") || n.starts_with("#X") => u32::from_str_radix(&n[2..], 16)
                    .ok()
                    .and_then(char::from_u32),
                n if n.starts_with('#') => n[1..].parse().ok().and_then(char::from_u32),
                _ => None,
            };
            c.map(|c| (c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Map a Google error answer to a kind and a retry decision.
fn error(v: &Voice, reply: &Reply) -> BackendError {
    let s = reply.status;
    if s != 404 && reply.is_html() {
        let retry = s == 429 || s >= 500;
        return v.bad_response(reply, "an HTML page instead of Google's JSON error", retry);
    }
    #[derive(Deserialize, Default)]
    struct Body {
        error: Inner,
    }
    #[derive(Deserialize, Default)]
    struct Inner {
        #[serde(default)]
        message: String,
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
    let msg = if body.error.message.is_empty() {
        reply.body_excerpt()
    } else {
        body.error.message.clone()
    };
    let lower = msg.to_lowercase();
    let daily =
        has("dailyLimitExceeded") || lower.contains("daily limit") || lower.contains("per day");
    let key_problem = has("API_KEY_INVALID")
        || has("keyInvalid")
        || lower.contains("api key not valid")
        || lower.contains("missing a valid api key");
    match s {
        400 if key_problem => v.status_error(
            ErrorKind::Auth,
            false,
            reply,
            &msg,
            "the API key was refused: check the key in the variable named by api_key_env",
        ),
        400 if lower.contains("language pair") || lower.contains("not supported") => v
            .status_error(
                ErrorKind::UnsupportedLanguage,
                false,
                reply,
                &msg,
                "Google refuses this language pair: check source_lang/target_lang",
            ),
        400 if lower.contains("too long")
            || lower.contains("too large")
            || lower.contains("too many")
            || lower.contains("exceeds the limit") =>
        {
            v.status_error(
            ErrorKind::BadRequest,
            false,
            reply,
            &msg,
            "the request is over Google's limits (128 segments, 100K bytes): lower batch_size",
            )
        }
        400 => v.status_error(
            ErrorKind::BadRequest,
            false,
            reply,
            &msg,
            "Google refused the request; check source_lang, target_lang and model",
        ),
        401 => v.status_error(
            ErrorKind::Auth,
            false,
            reply,
            &msg,
            "check the key in the variable named by api_key_env",
        ),
        403 if has("userRateLimitExceeded")
            || has("rateLimitExceeded")
            || (has("quotaExceeded") && !daily) =>
        {
            v.status_error(
            ErrorKind::RateLimited,
            true,
            reply,
            &msg,
            "Google's rate limit: it will be retried; lower concurrency or requests_per_minute",
            )
        }
        403 if daily || has("dailyLimitExceeded") || has("dailyLimitExceededUnreg") => {
            v.status_error(
                ErrorKind::Quota,
                false,
                reply,
                &msg,
                "the project's daily quota is used up: it resets at midnight Pacific time, or raise it in the Cloud console",
            )
        }
        403 => v.status_error(
            ErrorKind::Auth,
            false,
            reply,
            &msg,
            "the key may not use the Translation API: check the key, its API restrictions and that the API and billing are enabled",
        ),
        404 => v.status_error(
            ErrorKind::NotFound,
            false,
            reply,
            &msg,
            "check the url in the config (the base URL, e.g. https://translation.googleapis.com)",
        ),
        429 => v.status_error(
            ErrorKind::RateLimited,
            true,
            reply,
            &msg,
            "Google asks to slow down: it will be retried; lower concurrency or requests_per_minute",
        ),
        s if s >= 500 => v.status_error(
            ErrorKind::Server,
            true,
            reply,
            &msg,
            "Google is temporarily unavailable; it will be retried, or try again later",
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

vendor::vendor_backend!(Google, BackendKind::Google);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_only_entities() {
        assert_eq!(
            unescape_entities("it&#39;s &quot;5 &gt; 2&quot; &amp; &#x41; &foo; & x"),
            "it's \"5 > 2\" & A &foo; & x"
        );
        assert_eq!(unescape_entities("plain"), "plain");
    }
}
