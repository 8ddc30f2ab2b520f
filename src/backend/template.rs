//! The `template` backend: any JSON-over-HTTP translation endpoint without
//! code. The user writes the request body as JSON with placeholders, a JSON
//! pointer to the translation(s) in the answer, and extra headers:
//!
//! ```toml
//! [backends.custom]
//! kind = "template"
//! url = "http://127.0.0.1:9000"
//! api_key_env = "CUSTOM_KEY"
//! [backends.custom.template]
//! path = "/v1/translate"
//! body = '{"texts": "{{texts}}", "from": "{{source_lang}}", "to": "{{target_lang}}"}'
//! response_pointer = "/results/*/text"
//! headers = { Authorization = "Bearer {{api_key}}" }
//! ```
//!
//! Placeholders: `{{text}}` (one segment per request), `{{texts}}` (a JSON
//! array of the batch's segments: the whole string value is replaced by the
//! array), `{{source_lang}}`, `{{target_lang}}`, `{{api_key}}`. They are
//! substituted into the *parsed* JSON values, so quotes, backslashes and
//! newlines in Arabic text are escaped by the serializer, never by string
//! concatenation. The pointer is RFC 6901 with one extension: a `*` step takes
//! every element of an array (`/translations/*/text`). It may point at a
//! string (single mode) or an array of strings.

use std::sync::Arc;

use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;

use super::http::{self, Reply, excerpt};
use super::llm::{http_client, parse_error_body};
use super::secret::{Secret, scrub};
use super::{Backend, BackendError, BackendKind, BatchLimits, BoxFuture, ErrorKind};
use crate::config::{BackendConfig, ConfigError, TemplateConfig};
use crate::model::Request;

const PLACEHOLDERS: [&str; 5] = ["text", "texts", "source_lang", "target_lang", "api_key"];

/// The placeholders in `s`, in order (names trimmed).
fn placeholders(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    out
}

/// Every placeholder found in the strings of `v`.
fn collect_placeholders<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.extend(placeholders(s)),
        Value::Array(a) => a.iter().for_each(|x| collect_placeholders(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_placeholders(x, out)),
        _ => {}
    }
}

/// Check a template: the body is JSON, it has `{{text}}` or `{{texts}}`
/// (not both), every placeholder is known, the pointer and headers are
/// well-formed. The error says what to fix.
pub fn check(t: &TemplateConfig) -> Result<(), String> {
    let body: Value = serde_json::from_str(&t.body).map_err(|e| {
        format!(
            "body is not valid JSON ({e}); write placeholders inside strings, e.g. \"q\": \"{{{{texts}}}}\""
        )
    })?;
    let mut found = Vec::new();
    collect_placeholders(&body, &mut found);
    for h in t.headers.values() {
        found.extend(placeholders(h));
    }
    if let Some(bad) = found.iter().find(|p| !PLACEHOLDERS.contains(p)) {
        return Err(format!(
            "has an unknown placeholder {{{{{bad}}}}}; known: {}",
            PLACEHOLDERS.map(|p| format!("{{{{{p}}}}}")).join(", ")
        ));
    }
    let single = found.contains(&"text");
    let multi = found.contains(&"texts");
    if single == multi {
        return Err(if single {
            "body uses both {{text}} and {{texts}}; use {{text}} for one segment per request or {{texts}} for a JSON array".into()
        } else {
            "body has neither {{text}} nor {{texts}}; put one where the text to translate goes"
                .into()
        });
    }
    if !(t.response_pointer.is_empty() || t.response_pointer.starts_with('/')) {
        return Err(format!(
            "response_pointer \"{}\" must be empty or start with / (JSON pointer, e.g. /translations/*/text)",
            t.response_pointer
        ));
    }
    for (k, v) in &t.headers {
        HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| format!("header name \"{k}\" is not valid"))?;
        // The value is checked with placeholders in place (never the key).
        HeaderValue::from_str(v).map_err(|_| format!("header {k} has an invalid value"))?;
    }
    Ok(())
}

/// Values for the placeholders.
struct Vars<'a> {
    texts: &'a [&'a str],
    source_lang: &'a str,
    target_lang: &'a str,
    api_key: Option<&'a Secret>,
}

impl Vars<'_> {
    fn lookup(&self, name: &str) -> String {
        match name {
            "text" => self.texts.first().copied().unwrap_or_default().to_string(),
            "texts" => serde_json::to_string(self.texts).unwrap_or_default(),
            "source_lang" => self.source_lang.to_string(),
            "target_lang" => self.target_lang.to_string(),
            "api_key" => self
                .api_key
                .map(|k| k.expose().to_string())
                .unwrap_or_default(),
            _ => String::new(),
        }
    }

    /// `s` with every placeholder replaced by its value, as plain text.
    fn interpolate(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(start) = rest.find("{{") {
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else { break };
            out.push_str(&rest[..start]);
            out.push_str(&self.lookup(after[..end].trim()));
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// The body with placeholders filled in, value by value.
    fn fill(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => {
                let ph = placeholders(s);
                let whole = s.trim().starts_with("{{") && s.trim().ends_with("}}") && ph.len() == 1;
                if whole && ph[0] == "texts" {
                    Value::Array(
                        self.texts
                            .iter()
                            .map(|t| Value::String(t.to_string()))
                            .collect(),
                    )
                } else {
                    Value::String(self.interpolate(s))
                }
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| self.fill(x)).collect()),
            Value::Object(o) => {
                Value::Object(o.iter().map(|(k, x)| (k.clone(), self.fill(x))).collect())
            }
            other => other.clone(),
        }
    }
}

/// The values `pointer` selects in `v`, with `*` expanding arrays.
pub fn select<'a>(v: &'a Value, pointer: &str) -> Option<Vec<&'a Value>> {
    if pointer.is_empty() {
        return Some(vec![v]);
    }
    let mut current = vec![v];
    for raw in pointer.strip_prefix('/')?.split('/') {
        let step = raw.replace("~1", "/").replace("~0", "~");
        let mut next = Vec::new();
        for node in current {
            match (step.as_str(), node) {
                ("*", Value::Array(a)) => next.extend(a.iter()),
                ("*", Value::Object(o)) => next.extend(o.values()),
                (key, Value::Object(o)) => next.push(o.get(key)?),
                (idx, Value::Array(a)) => next.push(a.get(idx.parse::<usize>().ok()?)?),
                _ => return None,
            }
        }
        current = next;
    }
    Some(current)
}

/// A user-described JSON endpoint.
pub struct Template {
    name: String,
    url: String,
    body: Value,
    pointer: String,
    headers: Vec<(HeaderName, String)>,
    key: Option<Secret>,
    key_var: Option<String>,
    client: reqwest::Client,
    timeout: std::time::Duration,
    limits: BatchLimits,
    source_lang: String,
    target_lang: String,
}

/// Build from a `kind = "template"` table.
pub fn build(name: &str, cfg: &BackendConfig) -> Result<Arc<dyn Backend>, ConfigError> {
    cfg.validate(name)?;
    let t = cfg.template.as_ref().ok_or_else(|| {
        ConfigError::Invalid(format!(
            "backend {name}: template is required for kind template"
        ))
    })?;
    let body: Value = serde_json::from_str(&t.body)
        .map_err(|e| ConfigError::Invalid(format!("backend {name}: template body: {e}")))?;
    let mut found = Vec::new();
    collect_placeholders(&body, &mut found);
    let multi = found.contains(&"texts");
    let uses_key = found.contains(&"api_key")
        || t.headers
            .values()
            .any(|h| placeholders(h).contains(&"api_key"));
    let key = cfg.api_key(name)?.map(Secret::new);
    if uses_key && key.is_none() {
        return Err(ConfigError::Invalid(format!(
            "backend {name}: the template uses {{{{api_key}}}} but api_key_env is not set; name the variable that holds the key"
        )));
    }
    let base = cfg.url_or_default().unwrap_or_default();
    let url = if t.path.is_empty() {
        base
    } else {
        format!("{base}/{}", t.path.trim_start_matches('/'))
    };
    let headers = t
        .headers
        .iter()
        .map(|(k, v)| {
            HeaderName::from_bytes(k.as_bytes())
                .map(|h| (h, v.clone()))
                .map_err(|_| {
                    ConfigError::Invalid(format!("backend {name}: header name {k} is not valid"))
                })
        })
        .collect::<Result<_, _>>()?;
    Ok(Arc::new(Template {
        name: name.to_string(),
        url,
        body,
        pointer: t.response_pointer.clone(),
        headers,
        key,
        key_var: cfg.api_key_env.clone(),
        client: http_client(cfg.timeout())?,
        timeout: cfg.timeout(),
        limits: BatchLimits {
            max_items: if multi {
                cfg.batch_size_or_default()
            } else {
                1
            },
            max_chars: None,
            max_bytes: None,
        },
        source_lang: cfg.source_lang_or_default().to_string(),
        target_lang: cfg.target_lang_or_default().to_string(),
    }))
}

impl Template {
    fn vars<'a>(&'a self, texts: &'a [&'a str]) -> Vars<'a> {
        Vars {
            texts,
            source_lang: &self.source_lang,
            target_lang: &self.target_lang,
            api_key: self.key.as_ref(),
        }
    }

    /// The request body for a batch.
    pub fn body(&self, batch: &[Request]) -> Value {
        let texts: Vec<&str> = batch.iter().map(|r| r.text.as_str()).collect();
        self.vars(&texts).fill(&self.body)
    }

    fn error(
        &self,
        kind: ErrorKind,
        status: Option<u16>,
        detail: &str,
        advice: &str,
    ) -> BackendError {
        let url = http::redact_url(&self.url);
        let status_part = status
            .map(|s| format!("HTTP {s} from "))
            .unwrap_or_default();
        let msg = format!("{}: {status_part}{url}: {detail}; {advice}", self.name);
        let mut e = BackendError::new(kind, scrub(&msg, self.key.as_ref()));
        e.status = status;
        e
    }

    fn http_error(&self, reply: &Reply) -> BackendError {
        let detail = if reply.is_html() {
            "an HTML page (a proxy or web server answered, not the API)".to_string()
        } else {
            parse_error_body(&reply.body)
                .message
                .map(|m| excerpt(&m, 200))
                .unwrap_or_else(|| reply.body_excerpt())
        };
        let key_advice = match &self.key_var {
            Some(v) => format!("check the API key in ${v}"),
            None => {
                "the server wants a key: set api_key_env and use {{api_key}} in the template".into()
            }
        };
        let (kind, advice) = match reply.status {
            401 | 403 => (ErrorKind::Auth, key_advice),
            404 => (
                ErrorKind::NotFound,
                "check url and template.path".to_string(),
            ),
            408 => (ErrorKind::Timeout, "the server timed out; retrying".into()),
            413 => (
                ErrorKind::BadRequest,
                "the request is too large; lower batch_size".into(),
            ),
            429 => (
                ErrorKind::RateLimited,
                "rate limited; lower concurrency or set requests_per_minute".into(),
            ),
            402 | 456 => (ErrorKind::Quota, "the account's quota is exhausted".into()),
            400 | 422 if detail.to_ascii_lowercase().contains("language") => (
                ErrorKind::UnsupportedLanguage,
                format!(
                    "the server refused the language pair {}→{}; check source_lang and target_lang",
                    self.source_lang, self.target_lang
                ),
            ),
            s if s >= 500 => (ErrorKind::Server, "the server failed; retrying".into()),
            _ => (
                ErrorKind::BadRequest,
                "the server refused the request; check template.body".into(),
            ),
        };
        let mut e = self.error(kind, Some(reply.status), &detail, &advice);
        if e.retryable {
            e.retry_after = reply.retry_after();
        }
        e
    }

    async fn call(&self, batch: &[Request]) -> Result<Vec<String>, BackendError> {
        let mut rb = self.client.post(&self.url).json(&self.body(batch));
        let texts: Vec<&str> = batch.iter().map(|r| r.text.as_str()).collect();
        let vars = self.vars(&texts);
        for (name, value) in &self.headers {
            let v = HeaderValue::from_str(&vars.interpolate(value)).map_err(|_| {
                self.error(
                    ErrorKind::BadRequest,
                    None,
                    &format!("header {name} is not a valid header value after substitution"),
                    "fix template.headers",
                )
            })?;
            rb = rb.header(name, v);
        }
        let reply = http::send(&self.name, rb, self.timeout)
            .await
            .map_err(|mut e| {
                e.message = scrub(&e.message, self.key.as_ref());
                e
            })?;
        if !reply.is_success() {
            return Err(self.http_error(&reply));
        }
        let bad = |what: String, retryable: bool| {
            self.error(
                ErrorKind::BadResponse,
                Some(reply.status),
                &what,
                "check template.response_pointer against the server's answer",
            )
            .retryable(retryable)
        };
        let v: Value = serde_json::from_str(&reply.body).map_err(|_| {
            if reply.is_html() {
                bad("an HTML page instead of JSON".into(), true)
            } else {
                bad(
                    format!(
                        "a body that is not JSON (truncated?): \"{}\"",
                        reply.body_excerpt()
                    ),
                    true,
                )
            }
        })?;
        let selected = select(&v, &self.pointer).ok_or_else(|| {
            bad(
                format!("nothing at response_pointer {} in the answer", self.pointer),
                false,
            )
        })?;
        // A pointer to an array (without `*`) means its elements.
        let leaves: Vec<&Value> = match selected.as_slice() {
            [Value::Array(a)] => a.iter().collect(),
            _ => selected,
        };
        if leaves.len() != batch.len() {
            return Err(bad(
                format!(
                    "{} translation(s) for {} segment(s)",
                    leaves.len(),
                    batch.len()
                ),
                false,
            ));
        }
        leaves
            .into_iter()
            .map(|l| {
                l.as_str().map(str::to_string).ok_or_else(|| {
                    bad(
                        format!(
                            "response_pointer {} selects a {} instead of a string",
                            self.pointer,
                            kind_of(l)
                        ),
                        false,
                    )
                })
            })
            .collect()
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl Backend for Template {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> BackendKind {
        BackendKind::Template
    }

    fn limits(&self) -> BatchLimits {
        self.limits
    }

    fn endpoint(&self) -> String {
        http::redact_url(&self.url)
    }

    fn translate<'a>(
        &'a self,
        batch: &'a [Request],
    ) -> BoxFuture<'a, Result<Vec<String>, BackendError>> {
        Box::pin(self.call(batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tpl(body: &str, pointer: &str) -> TemplateConfig {
        TemplateConfig {
            path: String::new(),
            body: body.into(),
            response_pointer: pointer.into(),
            headers: Default::default(),
        }
    }

    #[test]
    fn substitution_escapes_through_json() {
        let body: Value = serde_json::from_str(
            r#"{"q": "{{texts}}", "one": "{{ text }}", "p": "from {{source_lang}} to {{target_lang}}", "n": 3}"#,
        )
        .unwrap();
        let texts = ["قال \"لا\"\n\\ هنا", "ثانٍ"];
        let key = Secret::new("K");
        let vars = Vars {
            texts: &texts,
            source_lang: "ar",
            target_lang: "en",
            api_key: Some(&key),
        };
        let out = vars.fill(&body);
        assert_eq!(out["q"], json!(texts));
        assert_eq!(out["one"], json!(texts[0]));
        assert_eq!(out["p"], "from ar to en");
        assert_eq!(out["n"], 3);
        // Round-trips through JSON text unchanged.
        let again: Value = serde_json::from_str(&out.to_string()).unwrap();
        assert_eq!(again, out);
    }

    #[test]
    fn pointers_with_wildcards() {
        let v = json!({"a": [{"t": "x"}, {"t": "y"}], "s": "z", "l": ["p", "q"], "k~/": 1});
        let strs =
            |p: &str| select(&v, p).map(|x| x.iter().map(|v| v.to_string()).collect::<Vec<_>>());
        assert_eq!(strs("/a/*/t").unwrap(), ["\"x\"", "\"y\""]);
        assert_eq!(strs("/a/1/t").unwrap(), ["\"y\""]);
        assert_eq!(strs("/s").unwrap(), ["\"z\""]);
        assert_eq!(strs("/k~0~1").unwrap(), ["1"]);
        assert!(select(&v, "/nope").is_none());
    }

    #[test]
    fn templates_are_checked() {
        assert!(check(&tpl(r#"{"q":"{{texts}}"}"#, "/r")).is_ok());
        assert!(check(&tpl(r#"{"q":"{{text}}"}"#, "")).is_ok());
        let e = check(&tpl(r#"{"q": {{texts}}}"#, "/r")).unwrap_err();
        assert!(e.contains("not valid JSON"), "{e}");
        let e = check(&tpl(r#"{"q":"{{txt}}"}"#, "/r")).unwrap_err();
        assert!(e.contains("unknown placeholder {{txt}}"), "{e}");
        let e = check(&tpl(r#"{"q":"{{text}}","r":"{{texts}}"}"#, "/r")).unwrap_err();
        assert!(e.contains("both"), "{e}");
        let e = check(&tpl(r#"{"q":"x"}"#, "/r")).unwrap_err();
        assert!(e.contains("neither"), "{e}");
        let e = check(&tpl(r#"{"q":"{{text}}"}"#, "r")).unwrap_err();
        assert!(e.contains("start with /"), "{e}");
    }
}
