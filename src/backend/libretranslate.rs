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

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::client::{Answer, Base, Client, Defaults, Protocol, ServerWords, Verdict};
use super::http::Reply;
use super::{BackendError, BackendKind, BatchLimits, BoxFuture, ErrorKind, TermMode};
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

/// The LibreTranslate protocol.
pub struct LibreTranslateApi;

/// A LibreTranslate server. (No `Debug`: it holds the key.)
pub type LibreTranslate = Client<LibreTranslateApi>;

/// Build the backend named `name` from its configuration.
pub fn build(
    name: &str,
    cfg: &BackendConfig,
) -> Result<std::sync::Arc<dyn super::Backend>, ConfigError> {
    Ok(std::sync::Arc::new(LibreTranslate::new(name, cfg)?))
}

impl LibreTranslateApi {
    /// The JSON body for a batch.
    pub fn body(base: &Base, batch: &[Request]) -> serde_json::Value {
        let tagged = super::markup::tagged(batch);
        let q: Vec<String> = batch.iter().map(|r| base.sent_text(r, tagged)).collect();
        let mut body = json!({
            "q": q,
            "source": base.source_lang,
            "target": base.target_lang,
            "format": if tagged { "html" } else { "text" },
        });
        if let Some(k) = &base.key {
            body["api_key"] = json!(k.expose());
        }
        body
    }

    async fn send(c: &LibreTranslate, batch: &[Request]) -> Result<Answer, BackendError> {
        let b = &c.base;
        let request = b.http.post(&b.endpoint).json(&Self::body(b, batch));
        let reply = c.exchange(request).await.map_err(|mut e| {
            // No Retry-After: wait as long as the server's rate asks for
            // this batch (a batch costs one request per text).
            if e.status == Some(429) && e.retryable && e.retry_after.is_none() {
                e.retry_after = Some(slowdown_wait(&e.message, batch.len()));
            }
            e
        })?;
        #[derive(Deserialize)]
        struct Answer_ {
            #[serde(rename = "translatedText")]
            translated: Translated,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Translated {
            Many(Vec<String>),
            One(String),
        }
        let answer: Answer_ = b.decode(&reply)?;
        Ok(Answer::All(
            reply.status,
            match answer.translated {
                Translated::Many(v) => v,
                Translated::One(s) => vec![s],
            },
        ))
    }
}

impl Protocol for LibreTranslateApi {
    const KIND: BackendKind = BackendKind::Libretranslate;
    const MARKUP: bool = true;

    fn defaults() -> Defaults {
        Defaults {
            url: Some(DEFAULT_URL),
            batch_size: DEFAULT_BATCH,
            limits: BatchLimits {
                max_items: usize::MAX,
                max_chars: None,
                max_bytes: None,
            },
            // LibreTranslate bans IPs that collect too many 429s.
            concurrency: 2,
            timeout_ms_per_char: 10.0,
            terms: TermMode::Off,
            term_modes: &[TermMode::Off, TermMode::Inline],
            source_lang: "ar",
            target_lang: "en",
            needs_key: false,
        }
    }

    fn from_config(_: &str, _: &BackendConfig, _: &mut Base) -> Result<Self, ConfigError> {
        Ok(LibreTranslateApi)
    }

    fn endpoint(base_url: &str, _: &BackendConfig) -> String {
        format!("{base_url}/translate")
    }

    fn call<'a>(
        c: &'a Client<Self>,
        batch: &'a [Request],
    ) -> BoxFuture<'a, Result<Answer, BackendError>> {
        Box::pin(Self::send(c, batch))
    }

    fn request_body(&self, base: &Base, batch: &[Request]) -> Option<String> {
        Some(Self::body(base, batch).to_string())
    }

    /// A required-but-missing key, a missing language model and the
    /// server's limits are 400s told apart by the message; an IP ban is a
    /// 403; a 429 carries no Retry-After, so the wait comes from the
    /// server's rate.
    fn classify(&self, _: &Base, reply: &Reply, words: &ServerWords, v: &mut Verdict) {
        let lower = words.lower();
        let hint = |v: &mut Verdict, kind, h: &str| {
            v.kind = kind;
            v.hint = h.to_string();
        };
        match reply.status {
            404 => hint(
                v,
                ErrorKind::NotFound,
                "no /translate here: check the url in the config (the server's base URL, e.g. http://127.0.0.1:5000)",
            ),
            400 if lower.contains("api key") => hint(
                v,
                ErrorKind::Auth,
                "this server requires an API key: set api_key_env to the variable holding it",
            ),
            400 if lower.contains("not supported")
                || lower.contains("not available as a target language") =>
            {
                hint(
                    v,
                    ErrorKind::UnsupportedLanguage,
                    "the server has no Arabic-to-English model: install it (argospm or --load-only) or set source_lang/target_lang",
                )
            }
            400 if lower.contains("limit") => hint(
                v,
                ErrorKind::BadRequest,
                "the server's --batch-limit or --char-limit refuses this request: lower batch_size, or raise the limits on the server",
            ),
            400 => hint(
                v,
                ErrorKind::BadRequest,
                "the server refused the request; check source_lang/target_lang",
            ),
            401 | 403 if lower.contains("too many request limits violations") => hint(
                v,
                ErrorKind::RateLimited,
                "the server has banned this address for too many 429s: wait, then lower requests_per_minute and concurrency",
            ),
            429 => {
                hint(
                    v,
                    ErrorKind::RateLimited,
                    "rate limited (each 429 counts towards a ban): it will be retried; lower requests_per_minute and concurrency",
                );
            }
            s if s >= 500 && !reply.is_html() => v.hint =
                "the server failed to translate; it will be retried, then check the server's log"
                    .into(),
            _ => {}
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
