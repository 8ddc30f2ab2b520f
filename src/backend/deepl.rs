/*!
DeepL API v2 (`POST {base}/v2/translate`), with native term enforcement
through the v2 glossary API.

DeepL is the paid engine journalists ask for by name. What this client gets
right: the `DeepL-Auth-Key` header; the Free/Pro base URL chosen from the key
(`:fx` keys are Free); `source_lang=AR` (glossaries need an explicit source)
and an explicit `EN-US`/`EN-GB` target (plain `EN` is deprecated and refused
here); `split_sentences="0"` because every text is already one sentence; the
headline and previous segment as `context` (not translated, not billed);
50 texts and 128 KiB per request; and the error table: 456 (quota) and the
other 4xx are final, 429/529 and 5xx are retried.

With `terms = "native"` (the default) the pinned terms become a DeepL
glossary, created once per glossary content through `POST /v2/glossaries`
and cached in memory by a hash of the content, then sent as `glossary_id`.
The pipeline can hand the run's active entries over with
[`DeepL::set_glossary`], persist the id returned by
[`DeepL::glossary_id_for`] and give it back next run with
[`DeepL::remember_glossary`]; without that, each batch uses a glossary made
of the terms pinned in its own segments.
*/

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Deserialize;
use serde_json::json;

use super::client::{Answer, Base, Client, Defaults, Protocol, ServerWords, Verdict};
use super::http::Reply;
use super::{BackendError, BackendKind, BatchLimits, BoxFuture, ErrorKind, TermMode};
use crate::config::{BackendConfig, ConfigError};
use crate::model::{PinnedTerm, Request};

pub const PRO_URL: &str = "https://api.deepl.com";
pub const FREE_URL: &str = "https://api-free.deepl.com";
/// Texts per request.
pub const MAX_TEXTS: usize = 50;
/// Request body limit (context included).
pub const MAX_BODY: usize = 128 * 1024;
/// At most this much context is sent with a request.
pub const MAX_CONTEXT: usize = 8 * 1024;
/// Text bytes per request left for the engine's batching: the body limit
/// minus the context and room for the JSON around the texts.
pub const MAX_TEXT_BYTES: usize = MAX_BODY - MAX_CONTEXT - 4 * 1024;
/// A glossary phrase may hold at most this many UTF-8 bytes.
pub const MAX_PHRASE_BYTES: usize = 1024;

/// The base URL a key belongs to: Free keys end in `:fx`.
pub fn base_for_key(key: &str) -> &'static str {
    if key.trim().ends_with(":fx") {
        FREE_URL
    } else {
        PRO_URL
    }
}

/// The DeepL protocol: what a client keeps beyond the shared base.
pub struct DeepLApi {
    /// The base URL (the endpoint without `/v2/translate`).
    root: String,
    model_type: Option<String>,
    /// Glossary ids by content hash.
    glossaries: Mutex<HashMap<String, String>>,
    /// Serialises glossary creation so that concurrent batches create one.
    creating: tokio::sync::Mutex<()>,
    /// The run's active entries, when the pipeline set them.
    session: Mutex<Option<Vec<PinnedTerm>>>,
}

/// A DeepL account (Free or Pro). (No `Debug`: it holds the key.)
pub type DeepL = Client<DeepLApi>;

/// Build the backend named `name` from its configuration.
pub fn build(
    name: &str,
    cfg: &BackendConfig,
) -> Result<std::sync::Arc<dyn super::Backend>, ConfigError> {
    Ok(std::sync::Arc::new(DeepL::new(name, cfg)?))
}

/// `EN-US` or `EN-GB` from the configured target (default `EN-US`).
fn target_lang(name: &str, cfg: &BackendConfig) -> Result<String, ConfigError> {
    let t = cfg
        .target_lang
        .as_deref()
        .unwrap_or("EN-US")
        .trim()
        .to_ascii_uppercase();
    match t.as_str() {
        "EN-US" | "EN-GB" => Ok(t),
        "EN" => Err(ConfigError::Invalid(format!(
            "backend {name} (deepl): target_lang = \"EN\" is deprecated by DeepL; use \"EN-US\" or \"EN-GB\""
        ))),
        _ => Err(ConfigError::Invalid(format!(
            "backend {name} (deepl): target_lang = {t:?} is not an English variant; tarjama translates into English: use \"EN-US\" or \"EN-GB\""
        ))),
    }
}

impl Protocol for DeepLApi {
    const KIND: BackendKind = BackendKind::Deepl;
    const MARKUP: bool = true;

    fn defaults() -> Defaults {
        Defaults {
            // Pro; a Free key (ending in ":fx") picks FREE_URL.
            url: Some(PRO_URL),
            batch_size: MAX_TEXTS,
            limits: BatchLimits {
                max_items: MAX_TEXTS,
                max_chars: None,
                max_bytes: Some(MAX_TEXT_BYTES),
            },
            concurrency: 4,
            timeout_ms_per_char: 10.0,
            terms: TermMode::Native,
            term_modes: &[TermMode::Native, TermMode::Inline, TermMode::Off],
            source_lang: "AR",
            target_lang: "EN-US",
            needs_key: true,
        }
    }

    fn from_config(name: &str, cfg: &BackendConfig, base: &mut Base) -> Result<Self, ConfigError> {
        base.target_lang = target_lang(name, cfg)?;
        base.source_lang = base.source_lang.trim().to_ascii_uppercase();
        let model_type = match cfg.model.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(m @ ("latency_optimized" | "quality_optimized" | "prefer_quality_optimized")) => {
                Some(m.to_string())
            }
            Some(m) => {
                return Err(ConfigError::Invalid(format!(
                    "backend {name} (deepl): model = {m:?} is not a DeepL model_type; use \"latency_optimized\", \"quality_optimized\" or \"prefer_quality_optimized\""
                )));
            }
        };
        Ok(DeepLApi {
            root: base.endpoint.trim_end_matches("/v2/translate").to_string(),
            model_type,
            glossaries: Mutex::new(HashMap::new()),
            creating: tokio::sync::Mutex::new(()),
            session: Mutex::new(None),
        })
    }

    fn endpoint(base_url: &str, _: &BackendConfig) -> String {
        format!("{base_url}/v2/translate")
    }

    fn call<'a>(
        c: &'a Client<Self>,
        batch: &'a [Request],
    ) -> BoxFuture<'a, Result<Answer, BackendError>> {
        Box::pin(c.send(batch))
    }

    fn request_body(&self, base: &Base, batch: &[Request]) -> Option<String> {
        // Without a glossary id: that one is only known once it is created.
        (base.terms != TermMode::Native).then(|| self.body(base, batch, None).to_string())
    }

    /// DeepL's 456 (quota), the wrong endpoint for a Free or Pro key, and
    /// its 400s told apart by the message.
    fn classify(&self, _: &Base, reply: &Reply, words: &ServerWords, v: &mut Verdict) {
        if reply.is_html() {
            return;
        }
        if let Ok(j) = serde_json::from_str::<serde_json::Value>(&reply.body)
            && let (Some(m), Some(d)) = (
                j.get("message").and_then(|m| m.as_str()),
                j.get("detail")
                    .and_then(|d| d.as_str())
                    .filter(|d| !d.is_empty()),
            )
        {
            v.detail = format!("{m} ({d})");
        }
        let lower = words.lower();
        let mut set = |kind, h: &str| {
            v.kind = kind;
            v.hint = h.to_string();
        };
        match reply.status {
            400 if lower.contains("lang") && lower.contains("not supported") => set(
                ErrorKind::UnsupportedLanguage,
                "DeepL refuses this language pair: check source_lang/target_lang",
            ),
            400 if lower.contains("too many") || lower.contains("maximum") => set(
                ErrorKind::BadRequest,
                "the request is over DeepL's limits (50 texts, 128 KiB): lower batch_size",
            ),
            400 => set(
                ErrorKind::BadRequest,
                "DeepL refused the request's parameters; check source_lang, target_lang and model",
            ),
            401 | 403 if lower.contains("wrong endpoint") => set(
                ErrorKind::Auth,
                "Free keys (ending in :fx) use https://api-free.deepl.com, Pro keys https://api.deepl.com: fix url or remove it",
            ),
            404 => set(
                ErrorKind::NotFound,
                "check the url in the config (the base URL, e.g. https://api.deepl.com, without /v2)",
            ),
            413 => set(
                ErrorKind::BadRequest,
                "the request is over DeepL's 128 KiB: lower batch_size",
            ),
            456 => set(
                ErrorKind::Quota,
                "the DeepL character quota is used up: wait for the monthly reset or raise the plan's limit",
            ),
            429 | 529 => set(
                ErrorKind::RateLimited,
                "DeepL asks to slow down: it will be retried; lower concurrency or requests_per_minute",
            ),
            s if s >= 500 => {
                v.hint = "DeepL is temporarily unavailable; it will be retried, or try again later"
                    .into()
            }
            _ => {}
        }
    }
}

impl DeepL {
    /// Use these entries (the run's active glossary entries) as the glossary
    /// of every request from now on.
    pub fn set_glossary(&self, entries: Vec<PinnedTerm>) {
        *self
            .protocol
            .session
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(entries);
    }

    /// Reuse a glossary created in an earlier run: `hash` is
    /// [`glossary_hash`] of its entries.
    pub fn remember_glossary(&self, hash: &str, glossary_id: &str) {
        self.protocol
            .glossaries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(hash.to_string(), glossary_id.to_string());
    }

    /// The id of a DeepL glossary holding `entries`, created on first use and
    /// cached by content. `None` when no entry survives DeepL's rules.
    pub async fn glossary_id_for(
        &self,
        entries: &[PinnedTerm],
    ) -> Result<Option<String>, BackendError> {
        let clean = glossary_entries(entries);
        if clean.is_empty() {
            return Ok(None);
        }
        let hash = hash_of(&clean);
        if let Some(id) = self.cached(&hash) {
            return Ok(Some(id));
        }
        let _guard = self.protocol.creating.lock().await;
        if let Some(id) = self.cached(&hash) {
            return Ok(Some(id));
        }
        let id = self.create_glossary(&hash, &clean).await?;
        self.remember_glossary(&hash, &id);
        Ok(Some(id))
    }

    fn cached(&self, hash: &str) -> Option<String> {
        self.protocol
            .glossaries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(hash)
            .cloned()
    }

    fn forget_glossary_id(&self, id: &str) {
        self.protocol
            .glossaries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, v| v != id);
    }

    fn auth(&self) -> String {
        let key = self.base.key.as_ref().map(|k| k.expose()).unwrap_or("");
        format!("DeepL-Auth-Key {key}")
    }

    async fn create_glossary(
        &self,
        hash: &str,
        entries: &[(String, String)],
    ) -> Result<String, BackendError> {
        let body = json!({
            "name": format!("tarjama-{}", &hash[..16]),
            "source_lang": self.base.source_lang.to_ascii_lowercase(),
            "target_lang": "en",
            "entries": tsv(entries),
            "entries_format": "tsv",
        });
        let url = format!("{}/v2/glossaries", self.protocol.root);
        let request = self
            .base
            .http
            .post(&url)
            .header("Authorization", self.auth())
            .json(&body);
        let reply = self.exchange(request).await.map_err(|mut e| {
            e.message = e
                .message
                .replacen(&self.base.shown, &super::http::redact_url(&url), 1);
            if e.status.is_some() {
                e.message.push_str(
                    " (while creating the glossary; set terms = \"off\" to translate without it)",
                );
            }
            e
        })?;
        #[derive(Deserialize)]
        struct Created {
            glossary_id: String,
        }
        let created: Created = self.base.decode(&reply)?;
        if created.glossary_id.trim().is_empty() {
            return Err(self
                .base
                .bad_response(&reply, "an empty glossary_id", false));
        }
        Ok(created.glossary_id)
    }

    /// The glossary entries for a batch: the session's, else the batch's own.
    fn entries_for(&self, batch: &[Request]) -> Vec<PinnedTerm> {
        if let Some(s) = self
            .protocol
            .session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            return s.clone();
        }
        batch.iter().flat_map(|r| r.terms.iter().cloned()).collect()
    }

    /// The JSON body of a translate request.
    pub fn body(&self, batch: &[Request], glossary_id: Option<&str>) -> serde_json::Value {
        self.protocol.body(&self.base, batch, glossary_id)
    }

    async fn send(&self, batch: &[Request]) -> Result<Answer, BackendError> {
        let glossary_id = if self.base.terms == TermMode::Native {
            self.glossary_id_for(&self.entries_for(batch)).await?
        } else {
            None
        };
        let body = self.body(batch, glossary_id.as_deref());
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        if bytes.len() > MAX_BODY {
            return Err(self.base.error(
                ErrorKind::BadRequest,
                &format!(
                    "a request of {} texts is {} bytes, over DeepL's {} KiB",
                    batch.len(),
                    bytes.len(),
                    MAX_BODY / 1024
                ),
                "lower batch_size",
            ));
        }
        let request = self
            .base
            .http
            .post(&self.base.endpoint)
            .header("Authorization", self.auth())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(bytes);
        let reply = self.exchange(request).await.map_err(|mut e| {
            if e.status == Some(404)
                && let Some(id) = &glossary_id
            {
                // The glossary was deleted on DeepL's side: make a new one.
                self.forget_glossary_id(id);
                e.retryable = true;
                e.message = format!(
                    "{}; the glossary is gone on DeepL's side: a new one is created on retry",
                    e.message
                );
            }
            e
        })?;
        #[derive(Deserialize)]
        struct Translations {
            translations: Vec<Item>,
        }
        #[derive(Deserialize)]
        struct Item {
            text: String,
        }
        let answer: Translations = self.base.decode(&reply)?;
        Ok(Answer::All(
            reply.status,
            answer.translations.into_iter().map(|t| t.text).collect(),
        ))
    }
}

impl DeepLApi {
    fn body(&self, base: &Base, batch: &[Request], glossary_id: Option<&str>) -> serde_json::Value {
        let tagged = super::markup::tagged(batch);
        let text: Vec<String> = batch.iter().map(|r| base.sent_text(r, tagged)).collect();
        let mut body = json!({
            "text": text,
            "source_lang": base.source_lang,
            "target_lang": base.target_lang,
            "split_sentences": "0",
        });
        if tagged {
            body["tag_handling"] = json!("xml");
        }
        if let Some(ctx) = batch.first().and_then(context) {
            body["context"] = json!(ctx);
        }
        if let Some(id) = glossary_id {
            body["glossary_id"] = json!(id);
        }
        if let Some(m) = &self.model_type {
            body["model_type"] = json!(m);
        }
        body
    }
}

/// The `context` for a request: the first segment's headline and previous
/// segment, at most [`MAX_CONTEXT`] bytes.
fn context(r: &Request) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    if let Some(h) = r.context.headline.as_deref().map(str::trim)
        && !h.is_empty()
    {
        parts.push(h);
    }
    if let Some(p) = r.context.previous.as_deref().map(str::trim)
        && !p.is_empty()
        && !parts.contains(&p)
    {
        parts.push(p);
    }
    if parts.is_empty() {
        return None;
    }
    let mut s = parts.join("\n");
    if s.len() > MAX_CONTEXT {
        let mut cut = MAX_CONTEXT;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    Some(s)
}

/// Entries as DeepL accepts them: white space folded and trimmed, control
/// characters removed, empty or over-long phrases dropped, one entry per
/// source (the first wins), sorted by source so that the same content always
/// makes the same glossary.
pub fn glossary_entries(entries: &[PinnedTerm]) -> Vec<(String, String)> {
    fn clean(s: &str) -> String {
        let no_ctl: String = s
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .filter(
                |c| !matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{FEFF}'),
            )
            .collect();
        no_ctl.split_whitespace().collect::<Vec<_>>().join(" ")
    }
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<(String, String)> = Vec::new();
    for e in entries {
        let (s, t) = (
            clean(&e.source),
            clean(crate::glossary::check::preferred(&e.target)),
        );
        if s.is_empty() || t.is_empty() || s.len() > MAX_PHRASE_BYTES || t.len() > MAX_PHRASE_BYTES
        {
            continue;
        }
        if seen.insert(s.clone()) {
            out.push((s, t));
        }
    }
    out.sort();
    out
}

fn tsv(entries: &[(String, String)]) -> String {
    entries
        .iter()
        .map(|(s, t)| format!("{s}\t{t}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn hash_of(clean: &[(String, String)]) -> String {
    blake3::hash(tsv(clean).as_bytes()).to_hex().to_string()
}

/// The content hash a glossary of `entries` is cached under (what to store
/// next to its id to reuse it in a later run).
pub fn glossary_hash(entries: &[PinnedTerm]) -> String {
    hash_of(&glossary_entries(entries))
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
    fn entries_follow_deepls_rules() {
        let got = glossary_entries(&[
            t(" طالبان ", "Taliban"),
            t("طالبان", "the Taliban"),
            t("", "x"),
            t("موسكو", "  "),
            t("بوتين\t\n", "Vladimir\u{0007}Putin"),
            t(&"ا".repeat(600), "long"),
        ]);
        assert_eq!(
            got,
            vec![
                ("بوتين".to_string(), "Vladimir Putin".to_string()),
                ("طالبان".to_string(), "Taliban".to_string()),
            ]
        );
    }

    #[test]
    fn hash_depends_on_content_only() {
        let a = glossary_hash(&[t("a", "b"), t("c", "d")]);
        let b = glossary_hash(&[t("c", "d"), t(" a", "b ")]);
        let c = glossary_hash(&[t("a", "b"), t("c", "e")]);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn context_joins_headline_and_previous() {
        let mut r = Request {
            id: "p1s2".into(),
            text: "x".into(),
            terms: vec![],
            context: Default::default(),
            insist: false,
        };
        assert_eq!(context(&r), None);
        r.context.headline = Some("عنوان".into());
        r.context.previous = Some("سابق".into());
        assert_eq!(context(&r).as_deref(), Some("عنوان\nسابق"));
        r.context.previous = Some("ب".repeat(MAX_CONTEXT));
        assert!(context(&r).unwrap().len() <= MAX_CONTEXT);
    }
}
