/*!
The one base every backend stands on: a [`Protocol`] says what is particular
to one MT API (its defaults, how it is built from its table, the call, and
the few errors only it can recognise), and [`Client`] holds everything the
protocols share, written once:

- building: the URL check, the key read from the value the settings took
  from the environment (never from the process), the timeout and the
  batch-size cap, the term mode checked against what the protocol offers;
- the HTTP client and the secret, scrubbed from every message, transport
  errors included;
- the status table, README's retry rule in one place: 408, 409, 429 and
  every 5xx are retried, the other statuses are final, and a protocol may
  only refine that with what its own error bodies say (DeepL's 456,
  Google's `reason`s, Ollama's "pull the model", ...);
- the check that an answer holds one translation per text, and the decoding
  that turns an HTML page or cut JSON into a clear
  [`ErrorKind::BadResponse`].

[`Client<P>`] is the [`Backend`] the engine drives, for every `P`.
*/

use std::time::Duration;

use serde::de::DeserializeOwned;

use super::TermMode;
use super::http::{self, Reply, excerpt};
use super::secret::Secret;
use super::{Backend, BackendError, BackendKind, BatchLimits, BoxFuture, EachAnswer, ErrorKind};
use crate::config::{BackendConfig, ConfigError};
use crate::model::Request;

/// What a backend table without a key gets, per protocol.
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    /// Base URL: the public service or the usual local port (`None`: the
    /// table must give one).
    pub url: Option<&'static str>,
    /// Segments per request when `batch_size` is not set.
    pub batch_size: usize,
    /// What one request may hold, whatever `batch_size` says.
    pub limits: BatchLimits,
    /// Requests in flight.
    pub concurrency: usize,
    /// Milliseconds of timeout per character of a batch.
    pub timeout_ms_per_char: f64,
    /// How pinned terms are passed, and the modes the protocol offers.
    pub terms: TermMode,
    pub term_modes: &'static [TermMode],
    /// Languages as the service spells them.
    pub source_lang: &'static str,
    pub target_lang: &'static str,
    /// Whether the service cannot be used without a key.
    pub needs_key: bool,
}

/// Seconds to wait for one answer, before the allowance per character.
pub const TIMEOUT_SECS: f64 = 30.0;

/// What a protocol's call returns.
pub enum Answer {
    /// One English string per text, in order (the count is checked by the
    /// client), and the status of the answer they came in.
    All(u16, Vec<String>),
    /// Read segment by segment (the LLM protocols).
    Each(EachAnswer),
}

/// The decision on an error answer, which a protocol may refine.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub kind: ErrorKind,
    pub retryable: bool,
    /// What to do, for the message.
    pub hint: String,
    /// The server's own words, for the message.
    pub detail: String,
    /// The wait to ask the engine for (default: the server's Retry-After
    /// when the error is retried).
    pub retry_after: Option<Duration>,
}

/// What an error body says, whichever server wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerWords {
    pub message: Option<String>,
    /// `type` (OpenAI, vLLM, llama.cpp).
    pub kind: Option<String>,
    /// `code`: a string (OpenAI), a number (Azure's six digits, vLLM).
    pub code: Option<String>,
}

impl ServerWords {
    /// Whether `type` or `code` is `s`.
    pub fn is(&self, s: &str) -> bool {
        self.kind.as_deref() == Some(s) || self.code.as_deref() == Some(s)
    }

    /// The message in lower case ("" without one), for matching.
    pub fn lower(&self) -> String {
        self.message.as_deref().unwrap_or("").to_lowercase()
    }
}

/// One MT protocol. Everything else a backend needs is in [`Client`].
pub trait Protocol: Sized + Send + Sync + 'static {
    const KIND: BackendKind;
    /// Whether the API takes markup in its texts: a batch with inline
    /// markers is then sent as markup, the markers as tags
    /// ([`super::markup`]), and its answers turned back.
    const MARKUP: bool = false;

    /// The defaults of a table of this kind.
    fn defaults() -> Defaults;

    /// The protocol's own settings from its table; `base` is already built
    /// (URL checked, key read, limits capped).
    fn from_config(name: &str, cfg: &BackendConfig, base: &mut Base) -> Result<Self, ConfigError>;

    /// The URL requests go to, from the checked base URL (messages show it
    /// redacted).
    fn endpoint(base_url: &str, cfg: &BackendConfig) -> String;

    /// Send one batch (never empty) and read the answer. Send with
    /// [`Client::exchange`], which applies the shared status table.
    fn call<'a>(
        client: &'a Client<Self>,
        batch: &'a [Request],
    ) -> BoxFuture<'a, Result<Answer, BackendError>>;

    /// Refine the shared decision on an error answer with what only this
    /// protocol's error bodies say. By default, nothing.
    fn classify(&self, _base: &Base, _reply: &Reply, _words: &ServerWords, _v: &mut Verdict) {}

    /// The body `call` would send, for dry runs; `None` when it is not
    /// built in advance.
    fn request_body(&self, _base: &Base, _batch: &[Request]) -> Option<String> {
        None
    }
}

/// What every backend holds, whatever its protocol.
pub struct Base {
    /// The backend's configured name.
    pub name: String,
    /// The URL requests go to (may hold a key in its query: never shown).
    pub endpoint: String,
    /// `endpoint` without secrets, for messages.
    pub shown: String,
    pub http: reqwest::Client,
    pub key: Option<Secret>,
    /// The variable the key came from, for advice.
    pub key_var: Option<String>,
    pub timeout: Duration,
    pub limits: BatchLimits,
    pub terms: TermMode,
    pub source_lang: String,
    pub target_lang: String,
    /// Spellings of the key to remove from messages (raw, URL-encoded,
    /// JSON-escaped).
    secrets: Vec<String>,
}

/// A backend: the shared base and one protocol.
pub struct Client<P> {
    pub base: Base,
    pub protocol: P,
}

fn invalid(name: &str, kind: BackendKind, what: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid(format!("backend {name} ({}): {what}", kind.as_str()))
}

/// The key named by `api_key_env`, as the settings read it from the
/// environment. `Ok(None)` when no variable is named and `required` is
/// false; a missing or empty variable is an error naming it, never a value.
pub fn read_key(
    name: &str,
    cfg: &BackendConfig,
    required: bool,
) -> Result<Option<Secret>, ConfigError> {
    let Some(var) = cfg.api_key_env.as_deref().filter(|v| !v.trim().is_empty()) else {
        if required {
            return Err(invalid(
                name,
                cfg.kind,
                format!(
                    "needs an API key: add api_key_env = \"SOME_VARIABLE\" to [backends.{name}] and export the key in that variable"
                ),
            ));
        }
        return Ok(None);
    };
    match &cfg.key {
        Some(k) if !k.expose().trim().is_empty() => Ok(Some(Secret::new(k.expose().trim()))),
        Some(_) => Err(invalid(
            name,
            cfg.kind,
            format!(
                "the environment variable {var} (api_key_env) is empty; export your API key in it"
            ),
        )),
        None => Err(invalid(
            name,
            cfg.kind,
            format!(
                "the environment variable {var} (api_key_env) is not set; export your API key in it"
            ),
        )),
    }
}

impl<P: Protocol> Client<P> {
    /// Build from a table of `P`'s kind.
    pub fn new(name: &str, cfg: &BackendConfig) -> Result<Self, ConfigError> {
        cfg.validate(name)?;
        let d = P::defaults();
        let key = read_key(name, cfg, d.needs_key)?;
        let raw = cfg
            .url_or_default()
            .ok_or_else(|| invalid(name, P::KIND, "url is required for this kind"))?;
        let base_url = match reqwest::Url::parse(&raw) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => raw,
            _ => {
                return Err(invalid(
                    name,
                    P::KIND,
                    format!(
                        "url {:?} is not an http:// or https:// URL",
                        http::redact_url(&raw)
                    ),
                ));
            }
        };
        let wanted = cfg.batch_size.unwrap_or(d.batch_size);
        let limits = BatchLimits {
            max_items: wanted.min(d.limits.max_items).max(1),
            ..d.limits
        };
        let terms = cfg.terms.unwrap_or(d.terms);
        if !d.term_modes.contains(&terms) {
            let ok: Vec<&str> = d.term_modes.iter().map(|m| m.spelled()).collect();
            return Err(invalid(
                name,
                P::KIND,
                format!(
                    "terms = {} is not available for this protocol; use one of {}",
                    terms.spelled(),
                    ok.join(", ")
                ),
            ));
        }
        let timeout = cfg.timeout();
        let http = http::client(timeout).map_err(|e| invalid(name, P::KIND, e))?;
        let endpoint = P::endpoint(&base_url, cfg);
        let mut base = Base {
            name: name.to_string(),
            shown: http::redact_url(&endpoint),
            endpoint,
            http,
            secrets: spellings(key.as_ref().map(Secret::expose)),
            key,
            key_var: cfg.api_key_env.clone(),
            timeout,
            limits,
            terms,
            source_lang: cfg
                .source_lang
                .clone()
                .unwrap_or_else(|| d.source_lang.into()),
            target_lang: cfg
                .target_lang
                .clone()
                .unwrap_or_else(|| d.target_lang.into()),
        };
        let protocol = P::from_config(name, cfg, &mut base)?;
        Ok(Client { base, protocol })
    }

    /// Send a request; a transport failure or an error status becomes a
    /// [`BackendError`] (the shared table refined by the protocol), scrubbed
    /// of the key. Only a 2xx answer comes back.
    pub async fn exchange(&self, request: reqwest::RequestBuilder) -> Result<Reply, BackendError> {
        let reply = http::send(&self.base.name, request, self.base.timeout)
            .await
            .map_err(|mut e| {
                e.message = self.base.scrub(&e.message);
                e
            })?;
        if reply.is_success() {
            return Ok(reply);
        }
        Err(self.status_error(&reply))
    }

    /// The inline-marker check of one answer (see [`crate::inline`]): an
    /// LLM whose English damaged the markers is asked again once, alone,
    /// with what was wrong named in its prompt (the engine resends a
    /// segment that fails with [`ErrorKind::BadResponse`]); a second
    /// damaged answer, or any from an MT API (which would answer the same
    /// request the same way), is kept with its markers removed, and the
    /// pipeline notes that the formatting was not placed. Brackets in the
    /// answer to a text without markers are removed.
    fn check_markers(&self, r: &Request, english: &mut String) -> Result<(), BackendError> {
        use crate::inline;
        if !inline::has_markers(&r.text) {
            if inline::has_markers(english) {
                *english = inline::strip(english);
            }
            return Ok(());
        }
        match inline::check(&r.text, english) {
            Ok(()) => Ok(()),
            Err(why) if P::KIND.is_llm() && r.context.problem.is_none() => Err(BackendError::new(
                ErrorKind::BadResponse,
                format!(
                    "{}: the English of {} damaged its formatting markers ({why}); keep each pair ⟦n⟧…⟦/n⟧ of the Arabic exactly once, around the English words that translate the marked Arabic",
                    self.base.name, r.id
                ),
            )),
            Err(_) => {
                *english = inline::strip(english);
                Ok(())
            }
        }
    }

    /// The error for a non-2xx answer.
    pub fn status_error(&self, reply: &Reply) -> BackendError {
        let words = parse_error_body(&reply.body);
        let mut v = self.base.verdict(reply, &words);
        self.protocol.classify(&self.base, reply, &words, &mut v);
        self.base.error_from(reply, v)
    }
}

impl Base {
    /// The text sent for `r`: as markup when `tagged` (see
    /// [`super::markup`]), with its pinned terms written in when the
    /// backend's term mode is `inline`.
    pub fn sent_text(&self, r: &Request, tagged: bool) -> String {
        let text = if tagged {
            super::markup::to_tags(&r.text)
        } else {
            r.text.clone()
        };
        match self.terms {
            TermMode::Inline => super::terms::inline(&text, &r.terms),
            _ => text,
        }
    }

    /// `text` with every spelling of the key replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for k in &self.secrets {
            out = out.replace(k.as_str(), "***");
        }
        out
    }

    /// One line, at most `max` characters, secrets removed.
    pub fn clean_line(&self, s: &str, max: usize) -> String {
        let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
        excerpt(&self.scrub(&one), max)
    }

    /// The advice for a refused key.
    pub fn key_advice(&self) -> String {
        match &self.key_var {
            Some(v) => format!("check the API key in ${v} (api_key_env)"),
            None => "this server wants a key: set api_key_env to the variable that holds it".into(),
        }
    }

    /// The shared status table: README's retry rule, implemented once. A
    /// status it has nothing particular to say about gets [`REFUSED_HINT`].
    pub fn verdict(&self, reply: &Reply, words: &ServerWords) -> Verdict {
        let s = reply.status;
        let (kind, hint): (ErrorKind, String) = match s {
            401 | 403 => (ErrorKind::Auth, self.key_advice()),
            404 => (
                ErrorKind::NotFound,
                "check the url in the config (wrong base URL or path)".into(),
            ),
            408 => (
                ErrorKind::Timeout,
                "the server timed out; it will be retried".into(),
            ),
            409 => (
                ErrorKind::Server,
                "conflict on the server; it will be retried".into(),
            ),
            413 | 414 => (
                ErrorKind::BadRequest,
                "the request is too large; lower batch_size".into(),
            ),
            429 => (
                ErrorKind::RateLimited,
                "rate limited: it will be retried; lower concurrency or requests_per_minute".into(),
            ),
            s if s >= 500 => (
                ErrorKind::Server,
                "server error; it will be retried, or try again later".into(),
            ),
            _ => (ErrorKind::BadRequest, REFUSED_HINT.into()),
        };
        let retryable = is_retried(s);
        let detail = if reply.is_html() {
            "an HTML page (a proxy or web server answered, not the API)".to_string()
        } else {
            words
                .message
                .clone()
                .unwrap_or_else(|| reply.body_excerpt())
        };
        Verdict {
            kind,
            retryable,
            hint,
            detail,
            retry_after: if retryable { reply.retry_after() } else { None },
        }
    }

    /// The error for an answer and its verdict: one line naming the backend,
    /// the URL and the status, with the server's words and what to do.
    pub fn error_from(&self, reply: &Reply, v: Verdict) -> BackendError {
        let detail = self.clean_line(&v.detail, 200);
        let detail = detail.trim_end_matches('.');
        let detail = if detail.is_empty() {
            String::new()
        } else {
            format!(": {detail}")
        };
        let msg = format!(
            "{}: {} answered HTTP {}{detail}; {}",
            self.name, self.shown, reply.status, v.hint
        );
        BackendError::new(v.kind, self.scrub(&msg))
            .with_status(reply.status)
            .retryable(v.retryable)
            .with_retry_after(v.retry_after)
    }

    /// An error of `kind` before or without an HTTP status.
    pub fn error(&self, kind: ErrorKind, what: &str, hint: &str) -> BackendError {
        let msg = format!("{}: {}: {what}; {hint}", self.name, self.shown);
        BackendError::new(kind, self.scrub(&msg))
    }

    /// A 2xx answer that is not what the protocol promises.
    pub fn bad_response(&self, reply: &Reply, what: &str, retryable: bool) -> BackendError {
        self.bad_status(reply.status, what, retryable)
            .with_retry_after(if retryable { reply.retry_after() } else { None })
    }

    /// A 2xx answer with status `status` that is not what was promised.
    pub fn bad_status(&self, status: u16, what: &str, retryable: bool) -> BackendError {
        self.answer_error(
            status,
            what,
            "check that url points at the service's API (not a proxy or web page) and try again",
            retryable,
        )
    }

    /// A 2xx answer with status `status` that is not usable, and what to do.
    pub fn answer_error(
        &self,
        status: u16,
        what: &str,
        hint: &str,
        retryable: bool,
    ) -> BackendError {
        let msg = format!(
            "{}: {} answered HTTP {status} with {}; {hint}",
            self.name,
            self.shown,
            self.clean_line(what, 240)
        );
        BackendError::new(ErrorKind::BadResponse, self.scrub(&msg))
            .with_status(status)
            .retryable(retryable)
    }

    /// Parse a 2xx body as JSON, or say why it is not (an HTML page, cut or
    /// other text).
    pub fn json(&self, reply: &Reply, retryable: bool) -> Result<serde_json::Value, BackendError> {
        if reply.is_html() {
            return Err(self.bad_response(
                reply,
                "an HTML page instead of JSON (a proxy or web server answered, not the API)",
                retryable,
            ));
        }
        serde_json::from_str(&reply.body).map_err(|e| {
            let what = if reply.body.trim().is_empty() {
                "an empty body".to_string()
            } else if e.is_eof() {
                "a body that is not JSON (truncated JSON)".to_string()
            } else {
                format!(
                    "a body that is not JSON (truncated?): \"{}\"",
                    self.clean_line(&reply.body, 60)
                )
            };
            self.bad_response(reply, &what, retryable)
        })
    }

    /// Decode a 2xx body into `T`.
    pub fn decode<T: DeserializeOwned>(&self, reply: &Reply) -> Result<T, BackendError> {
        let value = self.json(reply, false)?;
        serde_json::from_value(value).map_err(|e| {
            self.bad_response(reply, &format!("JSON of an unexpected shape ({e})"), false)
        })
    }
}

/// The hint of the shared status table for a refusal it has nothing
/// particular to say about (a protocol may give a better one).
pub const REFUSED_HINT: &str = "the request was refused; check the backend's settings";

/// README's retry rule: 408, 409, 429 and 5xx are worth sending again.
pub fn is_retried(status: u16) -> bool {
    matches!(status, 408 | 409 | 429) || status >= 500
}

/// The spellings of a key as it may appear in text: raw, URL-encoded and
/// JSON-escaped, longest first.
fn spellings(key: Option<&str>) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(k) = key.filter(|k| !k.is_empty()) {
        v.push(k.to_string());
        let enc: String = reqwest::Url::parse_with_params("http://x/", &[("k", k)])
            .ok()
            .and_then(|u| u.query().map(|q| q[2..].to_string()))
            .unwrap_or_default();
        if !enc.is_empty() && enc != k {
            v.push(enc);
        }
        let json = serde_json::to_string(k).unwrap_or_default();
        let json = json.trim_matches('"').to_string();
        if !json.is_empty() && json != k {
            v.push(json);
        }
    }
    v.sort_by_key(|s| std::cmp::Reverse(s.len()));
    v
}

/// Read the error body variants: OpenAI `{"error":{message,type,code}}`,
/// vLLM nested (int code) and old flat `{"object":"error",message,...}`,
/// llama.cpp, Google and Azure `{"error":{code,message}}`, LibreTranslate
/// and Ollama `{"error":"..."}`, DeepL `{"message"}`, FastAPI
/// `{"detail":...}`.
pub fn parse_error_body(body: &str) -> ServerWords {
    use serde_json::Value;
    let Ok(v) = serde_json::from_str::<Value>(body.trim()) else {
        // Ollama's NDJSON: an error line among others.
        for line in body.lines() {
            if let Ok(v) = serde_json::from_str::<Value>(line.trim())
                && v.get("error").is_some()
            {
                return parse_error_value(&v);
            }
        }
        return ServerWords::default();
    };
    parse_error_value(&v)
}

fn parse_error_value(v: &serde_json::Value) -> ServerWords {
    use serde_json::Value;
    let text = |v: Option<&Value>| -> Option<String> {
        match v? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    };
    let obj = match v.get("error") {
        Some(Value::String(s)) => {
            return ServerWords {
                message: Some(s.clone()),
                ..Default::default()
            };
        }
        Some(e @ Value::Object(_)) => e,
        _ => v,
    };
    let mut message = text(obj.get("message"));
    if message.is_none() {
        message = match v.get("detail") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Array(a)) => a
                .first()
                .and_then(|d| d.get("msg"))
                .and_then(Value::as_str)
                .map(str::to_string),
            _ => None,
        };
    }
    ServerWords {
        message,
        kind: text(obj.get("type")),
        code: text(obj.get("code")),
    }
}

impl<P: Protocol> Backend for Client<P> {
    fn name(&self) -> &str {
        &self.base.name
    }

    fn kind(&self) -> BackendKind {
        P::KIND
    }

    fn limits(&self) -> BatchLimits {
        self.base.limits
    }

    fn endpoint(&self) -> String {
        self.base.shown.clone()
    }

    fn translate<'a>(
        &'a self,
        batch: &'a [Request],
    ) -> BoxFuture<'a, Result<Vec<String>, BackendError>> {
        Box::pin(async move { self.translate_each(batch).await?.each.into_iter().collect() })
    }

    fn translate_each<'a>(
        &'a self,
        batch: &'a [Request],
    ) -> BoxFuture<'a, Result<EachAnswer, BackendError>> {
        Box::pin(async move {
            if batch.is_empty() {
                return Ok(EachAnswer {
                    each: Vec::new(),
                    stray_ids: 0,
                });
            }
            let mut answer = match P::call(self, batch).await? {
                Answer::Each(each) => each,
                Answer::All(status, v) if v.len() != batch.len() => {
                    return Err(self.base.bad_status(
                        status,
                        &format!("{} translations for {} texts", v.len(), batch.len()),
                        false,
                    ));
                }
                Answer::All(_, v) => EachAnswer {
                    each: v.into_iter().map(Ok).collect(),
                    stray_ids: 0,
                },
            };
            let tagged = P::MARKUP && super::markup::tagged(batch);
            for (r, res) in batch.iter().zip(answer.each.iter_mut()) {
                if let Ok(english) = res {
                    if tagged {
                        *english = super::markup::from_tags(english);
                    }
                    if let Err(e) = self.check_markers(r, english) {
                        *res = Err(e);
                    }
                }
            }
            Ok(answer)
        })
    }

    fn request_body(&self, batch: &[Request]) -> Option<String> {
        self.protocol.request_body(&self.base, batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_rule_is_readmes() {
        for s in [408, 409, 429, 500, 502, 503, 504, 529] {
            assert!(is_retried(s), "{s}");
        }
        for s in [400, 401, 403, 404, 413, 422, 456] {
            assert!(!is_retried(s), "{s}");
        }
    }

    #[test]
    fn secrets_are_scrubbed_in_all_spellings() {
        let v = spellings(Some("ab/c+d=e\"f"));
        let text = "raw ab/c+d=e\"f url ab%2Fc%2Bd%3De%22f json ab/c+d=e\\\"f";
        let mut out = text.to_string();
        for k in &v {
            out = out.replace(k.as_str(), "***");
        }
        assert!(!out.contains("ab/c"), "{out}");
        assert!(!out.contains("ab%2F"), "{out}");
        assert_eq!(out.matches("***").count(), 3, "{out}");
    }
}
