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

use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;

use super::client::{Answer, Base, Client, Defaults, Protocol, ServerWords, Verdict};
use super::http::Reply;
use super::secret::Secret;
use super::{BackendError, BackendKind, BatchLimits, BoxFuture, ErrorKind, TermMode};
use crate::config::{BackendConfig, ConfigError, collect_placeholders, placeholders};
use crate::model::Request;

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

/// The template protocol: a user-described JSON endpoint.
pub struct TemplateApi {
    body: Value,
    pointer: String,
    headers: Vec<(HeaderName, String)>,
}

/// A user-described JSON endpoint.
pub type Template = Client<TemplateApi>;

impl Protocol for TemplateApi {
    const KIND: BackendKind = BackendKind::Template;

    fn defaults() -> Defaults {
        Defaults {
            url: None,
            batch_size: 16,
            limits: BatchLimits {
                max_items: usize::MAX,
                max_chars: None,
                max_bytes: None,
            },
            concurrency: 4,
            timeout_ms_per_char: 10.0,
            terms: TermMode::Off,
            term_modes: &[TermMode::Off],
            source_lang: "ar",
            target_lang: "en",
            needs_key: false,
        }
    }

    fn from_config(name: &str, cfg: &BackendConfig, base: &mut Base) -> Result<Self, ConfigError> {
        let t = cfg.template.as_ref().ok_or_else(|| {
            ConfigError::Invalid(format!(
                "backend {name}: template is required for kind template"
            ))
        })?;
        let body: Value = serde_json::from_str(&t.body)
            .map_err(|e| ConfigError::Invalid(format!("backend {name}: template body: {e}")))?;
        let mut found = Vec::new();
        collect_placeholders(&body, &mut found);
        if !found.contains(&"texts") {
            // One segment per request.
            base.limits.max_items = 1;
        }
        let uses_key = found.contains(&"api_key")
            || t.headers
                .values()
                .any(|h| placeholders(h).contains(&"api_key"));
        if uses_key && base.key.is_none() {
            return Err(ConfigError::Invalid(format!(
                "backend {name}: the template uses {{{{api_key}}}} but api_key_env is not set; name the variable that holds the key"
            )));
        }
        let headers = t
            .headers
            .iter()
            .map(|(k, v)| {
                HeaderName::from_bytes(k.as_bytes())
                    .map(|h| (h, v.clone()))
                    .map_err(|_| {
                        ConfigError::Invalid(format!(
                            "backend {name}: header name {k} is not valid"
                        ))
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(TemplateApi {
            body,
            pointer: t.response_pointer.clone(),
            headers,
        })
    }

    fn endpoint(base_url: &str, cfg: &BackendConfig) -> String {
        match cfg.template.as_ref().map(|t| t.path.as_str()) {
            None | Some("") => base_url.to_string(),
            Some(p) => format!("{base_url}/{}", p.trim_start_matches('/')),
        }
    }

    fn call<'a>(
        c: &'a Client<Self>,
        batch: &'a [Request],
    ) -> BoxFuture<'a, Result<Answer, BackendError>> {
        Box::pin(c.send(batch))
    }

    /// A quota status some services use, and a refused language pair.
    fn classify(&self, base: &Base, reply: &Reply, words: &ServerWords, v: &mut Verdict) {
        match reply.status {
            404 => v.hint = "check url and template.path".into(),
            402 | 456 => {
                v.kind = ErrorKind::Quota;
                v.hint = "the account's quota is exhausted".into();
            }
            400 | 422
                if words.lower().contains("language")
                    || v.detail.to_lowercase().contains("language") =>
            {
                v.kind = ErrorKind::UnsupportedLanguage;
                v.hint = format!(
                    "the server refused the language pair {}→{}; check source_lang and target_lang",
                    base.source_lang, base.target_lang
                );
            }
            // A refusal the shared table has nothing particular to say about.
            _ if v.hint == super::client::REFUSED_HINT => {
                v.hint = "the server refused the request; check template.body".into()
            }
            _ => {}
        }
        if matches!(reply.status, 401 | 403) && base.key_var.is_none() {
            v.hint = "the server wants a key: set api_key_env and use {{api_key}} in the template"
                .into();
        }
    }

    fn request_body(&self, base: &Base, batch: &[Request]) -> Option<String> {
        Some(self.body(base, batch).to_string())
    }
}

impl TemplateApi {
    fn vars<'a>(&'a self, base: &'a Base, texts: &'a [&'a str]) -> Vars<'a> {
        Vars {
            texts,
            source_lang: &base.source_lang,
            target_lang: &base.target_lang,
            api_key: base.key.as_ref(),
        }
    }

    /// The request body for a batch.
    pub fn body(&self, base: &Base, batch: &[Request]) -> Value {
        let texts: Vec<&str> = batch.iter().map(|r| r.text.as_str()).collect();
        self.vars(base, &texts).fill(&self.body)
    }
}

impl Template {
    async fn send(&self, batch: &[Request]) -> Result<Answer, BackendError> {
        let (b, p) = (&self.base, &self.protocol);
        let mut rb = b.http.post(&b.endpoint).json(&p.body(b, batch));
        let texts: Vec<&str> = batch.iter().map(|r| r.text.as_str()).collect();
        let vars = p.vars(b, &texts);
        for (name, value) in &p.headers {
            let v = HeaderValue::from_str(&vars.interpolate(value)).map_err(|_| {
                b.error(
                    ErrorKind::BadRequest,
                    &format!("header {name} is not a valid header value after substitution"),
                    "fix template.headers",
                )
            })?;
            rb = rb.header(name, v);
        }
        let reply = self.exchange(rb).await?;
        let hint = "check template.response_pointer against the server's answer";
        let bad = |what: String| b.answer_error(reply.status, &what, hint, false);
        let v = b.json(&reply, true)?;
        let selected = select(&v, &p.pointer).ok_or_else(|| {
            bad(format!(
                "nothing at response_pointer {} in the answer",
                p.pointer
            ))
        })?;
        // A pointer to an array (without `*`) means its elements.
        let leaves: Vec<&Value> = match selected.as_slice() {
            [Value::Array(a)] => a.iter().collect(),
            _ => selected,
        };
        let out = leaves
            .into_iter()
            .map(|l| {
                l.as_str().map(str::to_string).ok_or_else(|| {
                    bad(format!(
                        "response_pointer {} selects a {} instead of a string",
                        p.pointer,
                        kind_of(l)
                    ))
                })
            })
            .collect::<Result<Vec<String>, BackendError>>()?;
        Ok(Answer::All(reply.status, out))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TemplateConfig;
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
        assert!(tpl(r#"{"q":"{{texts}}"}"#, "/r").check().is_ok());
        assert!(tpl(r#"{"q":"{{text}}"}"#, "").check().is_ok());
        let e = tpl(r#"{"q": {{texts}}}"#, "/r").check().unwrap_err();
        assert!(e.contains("not valid JSON"), "{e}");
        let e = tpl(r#"{"q":"{{txt}}"}"#, "/r").check().unwrap_err();
        assert!(e.contains("unknown placeholder {{txt}}"), "{e}");
        let e = tpl(r#"{"q":"{{text}}","r":"{{texts}}"}"#, "/r")
            .check()
            .unwrap_err();
        assert!(e.contains("both"), "{e}");
        let e = tpl(r#"{"q":"x"}"#, "/r").check().unwrap_err();
        assert!(e.contains("neither"), "{e}");
        let e = tpl(r#"{"q":"{{text}}"}"#, "r").check().unwrap_err();
        assert!(e.contains("start with /"), "{e}");
    }
}
