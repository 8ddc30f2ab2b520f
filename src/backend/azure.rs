/*!
Microsoft Azure Translator v3 (`POST {base}/translate?api-version=3.0&from=ar&to=en`).

The key goes in `Ocp-Apim-Subscription-Key`, and regional or multi-service
resources also need `Ocp-Apim-Subscription-Region` (`region` in the config),
whose absence shows up as a 401. The body is `[{"Text": ...}]`, at most
1,000 elements and 50,000 characters per request. Errors carry a 6-digit
code (HTTP status + sub-code) that decides more than the status does:
400019/400035/400036 are unsupported languages, 403001 is the free quota,
408001 is a custom system warming up (wait about a minute), 429xxx/500000/
503000 are retried, the other 400xxx/401xxx/403xxx/415000 are final.

With `terms = "native"` (the default) each occurrence of a pinned term is
wrapped in Azure's dynamic-dictionary markup,
`<mstrans:dictionary translation="EN">AR</mstrans:dictionary>`, with the
attribute XML-escaped; `from` is always sent, as the markup requires. Any
markup the service echoes back is stripped from the answer (an echoed
element becomes its `translation`). Markup makes a text longer, so a batch
whose marked-up text passes 50,000 characters is sent as several requests.
*/

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::http::{self, Reply};
use super::vendor::{self, Voice};
use super::{Backend, BackendError, BackendKind, BatchLimits, ErrorKind, TermMode};
use crate::config::{BackendConfig, ConfigError};
use crate::model::{PinnedTerm, Request};

pub const DEFAULT_URL: &str = "https://api.cognitive.microsofttranslator.com";
/// Array elements per request.
pub const MAX_ELEMENTS: usize = 1_000;
/// Characters per request, summed over the elements.
pub const MAX_CHARS: usize = 50_000;
/// Texts per request when `batch_size` is not set.
pub const DEFAULT_BATCH: usize = 100;

const OPEN: &str = "<mstrans:dictionary";
const CLOSE: &str = "</mstrans:dictionary>";

/// An Azure Translator resource. (No `Debug`: it holds the key.)
pub struct Azure {
    voice: Voice,
    /// `{base}/translate` without the query.
    path_url: String,
    key: String,
    region: Option<String>,
    from: String,
    to: String,
    category: Option<String>,
    limits: BatchLimits,
    timeout: Duration,
    terms: TermMode,
    client: reqwest::Client,
}

/// Build the backend named `name` from its configuration.
pub fn build(name: &str, cfg: &BackendConfig) -> Result<Arc<dyn Backend>, ConfigError> {
    Ok(Arc::new(Azure::new(name, cfg)?))
}

impl Azure {
    pub fn new(name: &str, cfg: &BackendConfig) -> Result<Self, ConfigError> {
        let key = vendor::read_key(name, cfg, true)?.unwrap_or_default();
        let base = vendor::base_url(name, cfg.url.as_deref().unwrap_or(DEFAULT_URL))?;
        let base = base.trim_end_matches("/translate").to_string();
        let limits = vendor::limits(
            name,
            cfg,
            BatchLimits {
                max_items: MAX_ELEMENTS,
                max_chars: Some(MAX_CHARS),
                max_bytes: None,
            },
            DEFAULT_BATCH,
        )?;
        let terms = vendor::term_mode(
            name,
            cfg,
            TermMode::Native,
            &[TermMode::Native, TermMode::Inline, TermMode::Off],
        )?;
        let from = cfg.source_lang.clone().unwrap_or_else(|| "ar".into());
        let to = cfg.target_lang.clone().unwrap_or_else(|| "en".into());
        let path_url = format!("{base}/translate");
        let shown = format!("{path_url}?api-version=3.0&from={from}&to={to}");
        Ok(Azure {
            voice: Voice {
                name: name.to_string(),
                url: http::redact_url(&shown),
                secrets: vendor::Secrets::new(Some(&key)),
            },
            path_url,
            key,
            region: cfg.region.clone().filter(|r| !r.trim().is_empty()),
            from,
            to,
            // A Custom Translator system, when `model` names one.
            category: cfg.model.clone().filter(|m| !m.trim().is_empty()),
            limits,
            timeout: vendor::timeout(name, cfg)?,
            terms,
            client: vendor::client(name)?,
        })
    }

    /// The text sent for one request.
    pub fn sent_text(&self, r: &Request) -> String {
        match self.terms {
            TermMode::Native => markup(&r.text, &r.terms),
            TermMode::Inline => super::terms::inline(&r.text, &r.terms),
            _ => r.text.clone(),
        }
    }

    async fn call(&self, batch: &[Request]) -> Result<Vec<String>, BackendError> {
        let texts: Vec<String> = batch.iter().map(|r| self.sent_text(r)).collect();
        let mut out = Vec::with_capacity(texts.len());
        for chunk in chunks(&texts, self.limits.max_items) {
            out.extend(self.send(chunk).await?);
        }
        Ok(out)
    }

    async fn send(&self, texts: &[String]) -> Result<Vec<String>, BackendError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let body: Vec<serde_json::Value> = texts.iter().map(|t| json!({ "Text": t })).collect();
        let mut query = vec![
            ("api-version", "3.0"),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
        ];
        if let Some(c) = &self.category {
            query.push(("category", c.as_str()));
        }
        let url = reqwest::Url::parse_with_params(&self.path_url, &query).map_err(|e| {
            BackendError::new(
                ErrorKind::BadRequest,
                format!("{}: bad url {}: {e}", self.voice.name, self.voice.url),
            )
        })?;
        let trace = trace_id();
        let mut request = self
            .client
            .post(url)
            .header("Ocp-Apim-Subscription-Key", &self.key)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/json; charset=UTF-8",
            )
            .header("X-ClientTraceId", &trace)
            .body(serde_json::to_vec(&body).unwrap_or_default());
        if let Some(r) = &self.region {
            request = request.header("Ocp-Apim-Subscription-Region", r);
        }
        let reply = http::send(&self.voice.name, request, self.timeout)
            .await
            .map_err(|mut e| {
                e.message = self.voice.secrets.scrub(&e.message);
                e
            })?;
        if !reply.is_success() {
            return Err(error(&self.voice, &reply, &trace, self.region.is_some()));
        }
        #[derive(Deserialize)]
        struct Item {
            translations: Vec<T>,
        }
        #[derive(Deserialize)]
        struct T {
            text: String,
        }
        let items: Vec<Item> = self.voice.decode(&reply)?;
        if items.len() != texts.len() {
            return Err(self.voice.wrong_count(&reply, items.len(), texts.len()));
        }
        items
            .into_iter()
            .map(|i| {
                i.translations
                    .into_iter()
                    .next()
                    .map(|t| strip_markup(&t.text))
                    .ok_or_else(|| {
                        self.voice
                            .bad_response(&reply, "an element without translations", false)
                    })
            })
            .collect()
    }
}

/// Consecutive runs of `texts` within the element and character limits.
fn chunks(texts: &[String], max_items: usize) -> Vec<&[String]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = 0;
    for (i, t) in texts.iter().enumerate() {
        let n = t.chars().count();
        if i > start && (i - start >= max_items || chars + n > MAX_CHARS) {
            out.push(&texts[start..i]);
            start = i;
            chars = 0;
        }
        chars += n;
    }
    if start < texts.len() {
        out.push(&texts[start..]);
    }
    out
}

fn trace_id() -> String {
    let n = fastrand::u128(..);
    let h = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// `s` escaped for an XML attribute value (line breaks and tabs as spaces:
/// a dictionary entry is one line), by the one XML escaper.
pub fn escape_attr(s: &str) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    crate::xml::escape_attr(&one_line)
}

fn unescape_attr(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// `text` with every pinned term wrapped in dynamic-dictionary markup.
pub fn markup(text: &str, terms: &[PinnedTerm]) -> String {
    super::terms::replace(text, terms, |t, surface| {
        format!(
            "{OPEN} translation=\"{}\">{surface}{CLOSE}",
            escape_attr(crate::glossary::check::preferred(&t.target))
        )
    })
}

/// Remove dynamic-dictionary markup from an answer: a whole echoed element
/// becomes its `translation`, stray tags disappear.
pub fn strip_markup(s: &str) -> String {
    if !s.contains("mstrans:dictionary") {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    loop {
        let open = rest.find(OPEN);
        let close = rest.find(CLOSE);
        match (open, close) {
            (Some(o), c) if c.is_none_or(|c| o < c) => {
                out.push_str(&rest[..o]);
                let after = &rest[o..];
                let Some(gt) = after.find('>') else {
                    // An unterminated tag: drop the rest of it.
                    rest = "";
                    continue;
                };
                let tag = &after[..gt];
                let translation = tag
                    .split_once("translation=\"")
                    .and_then(|(_, v)| v.split_once('"'))
                    .map(|(v, _)| unescape_attr(v));
                let inner = &after[gt + 1..];
                match (translation, inner.find(CLOSE)) {
                    (Some(tr), Some(end)) if !inner[..end].contains(OPEN) => {
                        out.push_str(&tr);
                        rest = &inner[end + CLOSE.len()..];
                    }
                    _ => rest = inner,
                }
            }
            (_, Some(c)) => {
                out.push_str(&rest[..c]);
                rest = &rest[c + CLOSE.len()..];
            }
            (None, None) => {
                out.push_str(rest);
                break;
            }
            _ => unreachable!("the first arm takes an opening tag without a closing one"),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Map an Azure error answer to a kind and a retry decision.
fn error(v: &Voice, reply: &Reply, trace: &str, has_region: bool) -> BackendError {
    let s = reply.status;
    if s != 404 && reply.is_html() {
        let retry = matches!(s, 408 | 429) || s >= 500;
        return v.bad_response(reply, "an HTML page instead of Azure's JSON error", retry);
    }
    let parsed: Option<(Option<u32>, String)> =
        serde_json::from_str::<serde_json::Value>(&reply.body)
            .ok()
            .and_then(|j| {
                let e = j.get("error")?;
                let code = match e.get("code") {
                    Some(serde_json::Value::Number(n)) => n.as_u64().map(|n| n as u32),
                    Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
                    _ => None,
                };
                let msg = e
                    .get("message")
                    .and_then(|m| m.as_str())
                    .unwrap_or("")
                    .to_string();
                Some((code, msg))
            });
    let (code, msg) = parsed.unwrap_or((None, reply.body_excerpt()));
    // A bare status in `code` (API Management's "401") reads as status*1000.
    let code = code.map(|c| if c < 1000 { c * 1000 } else { c });
    let detail = match code {
        Some(c) => format!("{c} {msg}"),
        None => msg,
    };
    let e = |kind, retry, hint: &str| v.status_error(kind, retry, reply, &detail, hint);
    let request_id = reply
        .headers
        .get("X-RequestId")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("-");
    let family = code.map(|c| c / 1000).unwrap_or(u32::from(s));
    match (code, family) {
        (Some(400019 | 400035 | 400036), _) => e(
            ErrorKind::UnsupportedLanguage,
            false,
            "Azure refuses this language: check source_lang/target_lang",
        ),
        (Some(400050 | 400072 | 400077), _) => e(
            ErrorKind::BadRequest,
            false,
            "the request is over Azure's limits (1,000 elements, 50,000 characters): lower batch_size",
        ),
        (Some(401015), _) => e(
            ErrorKind::Auth,
            false,
            "the key belongs to a Speech resource: use a Translator resource's key",
        ),
        (Some(403001), _) => e(
            ErrorKind::Quota,
            false,
            "the free tier's character quota is used up: wait for it to reset or move the resource to a paid tier",
        ),
        (Some(408001), _) => e(
            ErrorKind::Server,
            true,
            "the custom translation system is warming up: it will be retried in about a minute",
        )
        .with_retry_after(Some(reply.retry_after().unwrap_or(Duration::from_secs(60)))),
        (Some(408002), _) => e(
            ErrorKind::Timeout,
            true,
            "Azure timed out waiting for the request: it will be retried",
        ),
        (_, 400) => e(
            ErrorKind::BadRequest,
            false,
            "Azure refused the request; check source_lang, target_lang and model (category)",
        ),
        (_, 401) if !has_region => e(
            ErrorKind::Auth,
            false,
            "check the key in the variable named by api_key_env; a regional or multi-service resource also needs region = \"...\" in the config",
        ),
        (_, 401) => e(
            ErrorKind::Auth,
            false,
            "check the key in the variable named by api_key_env and that region matches the resource's region",
        ),
        (_, 403) => e(
            ErrorKind::Auth,
            false,
            "the resource may not use this operation: check the key and the resource's tier",
        ),
        (_, 404) => e(
            ErrorKind::NotFound,
            false,
            "check the url in the config (the base URL, e.g. https://api.cognitive.microsofttranslator.com)",
        ),
        (_, 415) => e(
            ErrorKind::BadRequest,
            false,
            "Azure refused the Content-Type; this is a bug in tarjama, please report it",
        ),
        (_, 408) => e(
            ErrorKind::Timeout,
            true,
            "Azure timed out: it will be retried",
        ),
        (_, 429) => e(
            ErrorKind::RateLimited,
            true,
            "Azure's request or character rate limit: it will be retried; lower concurrency or requests_per_minute",
        ),
        (_, f) if f >= 500 => e(
            ErrorKind::Server,
            true,
            &format!(
                "Azure is temporarily unavailable; it will be retried (report persistent failures with X-RequestId {request_id}, X-ClientTraceId {trace})"
            ),
        ),
        _ => e(ErrorKind::BadRequest, false, vendor::generic_hint(s)),
    }
}

vendor::vendor_backend!(Azure, BackendKind::Azure);

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str, e: &str) -> PinnedTerm {
        PinnedTerm {
            source: s.into(),
            target: e.into(),
        }
    }

    #[test]
    fn markup_wraps_terms_and_escapes_the_attribute() {
        let m = markup(
            "قال بوتين إن طالبان",
            &[t("بوتين", "Putin \"V\" & <Co>"), t("طالبان", "Taliban")],
        );
        assert_eq!(
            m,
            "قال <mstrans:dictionary translation=\"Putin &quot;V&quot; &amp; &lt;Co&gt;\">بوتين</mstrans:dictionary> إن <mstrans:dictionary translation=\"Taliban\">طالبان</mstrans:dictionary>"
        );
    }

    #[test]
    fn strip_markup_keeps_the_translation() {
        assert_eq!(
            strip_markup(
                "Said <mstrans:dictionary translation=\"A &amp; B\">أ</mstrans:dictionary> today"
            ),
            "Said A & B today"
        );
        assert_eq!(
            strip_markup(
                "Said </mstrans:dictionary>Putin<mstrans:dictionary translation=\"x\"> now"
            ),
            "Said Putin now"
        );
        assert_eq!(strip_markup("no markup <b>"), "no markup <b>");
    }

    #[test]
    fn chunks_respect_the_character_limit() {
        let texts: Vec<String> = (0..5).map(|_| "ا".repeat(20_000)).collect();
        let c = chunks(&texts, 1000);
        assert_eq!(c.iter().map(|c| c.len()).collect::<Vec<_>>(), vec![2, 2, 1]);
        let small: Vec<String> = (0..5).map(|_| "x".into()).collect();
        assert_eq!(chunks(&small, 2).len(), 3);
    }
}
