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

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::client::{Answer, Base, Client, Defaults, Protocol, ServerWords, Verdict};
use super::http::Reply;
use super::{BackendError, BackendKind, BatchLimits, BoxFuture, ErrorKind, TermMode};
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

/// The Azure Translator v3 protocol.
pub struct AzureApi {
    region: Option<String>,
    category: Option<String>,
}

/// An Azure Translator resource. (No `Debug`: it holds the key.)
pub type Azure = Client<AzureApi>;

/// Build the backend named `name` from its configuration.
pub fn build(
    name: &str,
    cfg: &BackendConfig,
) -> Result<std::sync::Arc<dyn super::Backend>, ConfigError> {
    Ok(std::sync::Arc::new(Azure::new(name, cfg)?))
}

impl Azure {
    /// The text sent for one request (as markup when `tagged`).
    pub fn sent_text(&self, r: &Request, tagged: bool) -> String {
        sent_text(&self.base, r, tagged)
    }

    async fn send_all(&self, batch: &[Request]) -> Result<Answer, BackendError> {
        let tagged = super::markup::tagged(batch);
        let texts: Vec<String> = batch.iter().map(|r| self.sent_text(r, tagged)).collect();
        let mut out = Vec::with_capacity(texts.len());
        let mut status = 200;
        for chunk in chunks(&texts, self.base.limits.max_items) {
            let (s, got) = self.send(chunk, tagged).await?;
            if got.len() != chunk.len() {
                return Ok(Answer::All(s, got));
            }
            status = s;
            out.extend(got);
        }
        Ok(Answer::All(status, out))
    }

    async fn send(
        &self,
        texts: &[String],
        tagged: bool,
    ) -> Result<(u16, Vec<String>), BackendError> {
        let b = &self.base;
        let body: Vec<serde_json::Value> = texts.iter().map(|t| json!({ "Text": t })).collect();
        let mut query = vec![
            ("api-version", "3.0"),
            ("from", b.source_lang.as_str()),
            ("to", b.target_lang.as_str()),
        ];
        if let Some(c) = &self.protocol.category {
            query.push(("category", c.as_str()));
        }
        if tagged {
            query.push(("textType", "html"));
        }
        let path_url = b.endpoint.split('?').next().unwrap_or_default();
        let url = reqwest::Url::parse_with_params(path_url, &query).map_err(|e| {
            b.error(
                ErrorKind::BadRequest,
                &format!("bad url: {e}"),
                "check the url in the config",
            )
        })?;
        let trace = trace_id();
        let mut request = b
            .http
            .post(url)
            .header(
                "Ocp-Apim-Subscription-Key",
                b.key.as_ref().map(|k| k.expose()).unwrap_or(""),
            )
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/json; charset=UTF-8",
            )
            .header("X-ClientTraceId", &trace)
            .body(serde_json::to_vec(&body).unwrap_or_default());
        if let Some(r) = &self.protocol.region {
            request = request.header("Ocp-Apim-Subscription-Region", r);
        }
        let reply = self.exchange(request).await.map_err(|mut e| {
            if e.status.is_some_and(|s| s >= 500) {
                e.message.push_str(&format!(" (X-ClientTraceId {trace})"));
            }
            e
        })?;
        #[derive(Deserialize)]
        struct Item {
            translations: Vec<T>,
        }
        #[derive(Deserialize)]
        struct T {
            text: String,
        }
        let items: Vec<Item> = b.decode(&reply)?;
        let out = items
            .into_iter()
            .map(|i| {
                i.translations
                    .into_iter()
                    .next()
                    .map(|t| strip_markup(&t.text))
                    .ok_or_else(|| b.bad_response(&reply, "an element without translations", false))
            })
            .collect::<Result<Vec<String>, BackendError>>()?;
        Ok((reply.status, out))
    }
}

fn sent_text(base: &Base, r: &Request, tagged: bool) -> String {
    match base.terms {
        TermMode::Native if tagged => markup(&super::markup::to_tags(&r.text), &r.terms),
        TermMode::Native => markup(&r.text, &r.terms),
        _ => base.sent_text(r, tagged),
    }
}

impl Protocol for AzureApi {
    const KIND: BackendKind = BackendKind::Azure;
    const MARKUP: bool = true;

    fn defaults() -> Defaults {
        Defaults {
            url: Some(DEFAULT_URL),
            batch_size: DEFAULT_BATCH,
            limits: BatchLimits {
                max_items: MAX_ELEMENTS,
                max_chars: Some(MAX_CHARS),
                max_bytes: None,
            },
            concurrency: 4,
            timeout_ms_per_char: 10.0,
            terms: TermMode::Native,
            term_modes: &[TermMode::Native, TermMode::Inline, TermMode::Off],
            source_lang: "ar",
            target_lang: "en",
            needs_key: true,
        }
    }

    fn from_config(_: &str, cfg: &BackendConfig, base: &mut Base) -> Result<Self, ConfigError> {
        let shown = format!(
            "{}?api-version=3.0&from={}&to={}",
            base.endpoint, base.source_lang, base.target_lang
        );
        base.shown = super::http::redact_url(&shown);
        Ok(AzureApi {
            region: cfg.region.clone().filter(|r| !r.trim().is_empty()),
            // A Custom Translator system, when `model` names one.
            category: cfg.model.clone().filter(|m| !m.trim().is_empty()),
        })
    }

    fn endpoint(base_url: &str, _: &BackendConfig) -> String {
        format!("{}/translate", base_url.trim_end_matches("/translate"))
    }

    fn call<'a>(
        c: &'a Client<Self>,
        batch: &'a [Request],
    ) -> BoxFuture<'a, Result<Answer, BackendError>> {
        Box::pin(c.send_all(batch))
    }

    /// Azure's six-digit codes (status and sub-code) decide more than the
    /// status does.
    fn classify(&self, _: &Base, reply: &Reply, words: &ServerWords, v: &mut Verdict) {
        if reply.is_html() {
            return;
        }
        let code: Option<u32> = words.code.as_deref().and_then(|c| c.trim().parse().ok());
        // A bare status in `code` (API Management's "401") reads as status*1000.
        let code = code.map(|c| if c < 1000 { c * 1000 } else { c });
        if let Some(c) = code {
            v.detail = format!("{c} {}", words.message.as_deref().unwrap_or(""));
        }
        let request_id = reply
            .headers
            .get("X-RequestId")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("-")
            .to_string();
        let family = code.map(|c| c / 1000).unwrap_or(u32::from(reply.status));
        let mut set = |kind, retryable: bool, h: &str| {
            v.kind = kind;
            v.retryable = retryable;
            v.hint = h.to_string();
            v.retry_after = if retryable { reply.retry_after() } else { None };
        };
        match (code, family) {
            (Some(400019 | 400035 | 400036), _) => set(
                ErrorKind::UnsupportedLanguage,
                false,
                "Azure refuses this language: check source_lang/target_lang",
            ),
            (Some(400050 | 400072 | 400077), _) => set(
                ErrorKind::BadRequest,
                false,
                "the request is over Azure's limits (1,000 elements, 50,000 characters): lower batch_size",
            ),
            (Some(401015), _) => set(
                ErrorKind::Auth,
                false,
                "the key belongs to a Speech resource: use a Translator resource's key",
            ),
            (Some(403001), _) => set(
                ErrorKind::Quota,
                false,
                "the free tier's character quota is used up: wait for it to reset or move the resource to a paid tier",
            ),
            (Some(408001), _) => {
                set(
                    ErrorKind::Server,
                    true,
                    "the custom translation system is warming up: it will be retried in about a minute",
                );
                v.retry_after = Some(reply.retry_after().unwrap_or(Duration::from_secs(60)));
            }
            (Some(408002), _) => set(
                ErrorKind::Timeout,
                true,
                "Azure timed out waiting for the request: it will be retried",
            ),
            (_, 400) => set(
                ErrorKind::BadRequest,
                false,
                "Azure refused the request; check source_lang, target_lang and model (category)",
            ),
            (_, 401) if self.region.is_none() => set(
                ErrorKind::Auth,
                false,
                "check the key in the variable named by api_key_env; a regional or multi-service resource also needs region = \"...\" in the config",
            ),
            (_, 401) => set(
                ErrorKind::Auth,
                false,
                "check the key in the variable named by api_key_env and that region matches the resource's region",
            ),
            (_, 403) => set(
                ErrorKind::Auth,
                false,
                "the resource may not use this operation: check the key and the resource's tier",
            ),
            (_, 404) => set(
                ErrorKind::NotFound,
                false,
                "check the url in the config (the base URL, e.g. https://api.cognitive.microsofttranslator.com)",
            ),
            (_, 415) => set(
                ErrorKind::BadRequest,
                false,
                "Azure refused the Content-Type; this is a bug in tarjama, please report it",
            ),
            (_, 408) => set(
                ErrorKind::Timeout,
                true,
                "Azure timed out: it will be retried",
            ),
            (_, 429) => set(
                ErrorKind::RateLimited,
                true,
                "Azure's request or character rate limit: it will be retried; lower concurrency or requests_per_minute",
            ),
            (_, f) if f >= 500 => set(
                ErrorKind::Server,
                true,
                &format!(
                    "Azure is temporarily unavailable; it will be retried (report persistent failures with X-RequestId {request_id})"
                ),
            ),
            _ => {}
        }
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
                // The start tag alone, read by the one XML reader (entities
                // and character references in the value decoded as XML says).
                let translation = crate::xml::parse(&format!("{tag}/>"))
                    .ok()
                    .and_then(|e| e.attr("translation").map(str::to_string));
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
