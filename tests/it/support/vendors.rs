/*!
Fake LibreTranslate, DeepL, Google v2 and Azure servers for the protocol
tests, on the fakes' one HTTP server ([`super::serve`]), each on 127.0.0.1
and behaving as the real service is documented to
(`shared/docs/mt-protocols.md`): auth where the service expects it, body
shape, batch limits refused with the real error, error bodies and status
codes. Every request is recorded so that tests can assert what was sent, and
a queue of canned answers lets a test make the next request fail in a chosen
way.

The fake "translation" of an Arabic text is `en(<text>)`, so that order and
content can be checked exactly.
*/
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::{HttpRequest, Reply};

/// Keys used by the tests, passed to the settings (or a child's
/// environment) as values. Each contains characters that URL encoding
/// changes.
pub const LT_KEY: &str = "lt-K3y/+=secret";
pub const DEEPL_KEY: &str = "dl-0a1b2c3d-secret";
pub const DEEPL_FREE_KEY: &str = "dl-free-9z8y-secret:fx";
pub const GOOGLE_KEY: &str = "AIzaG00gle/+key=secret";
pub const AZURE_KEY: &str = "az-Sub5cr1pt10n-secret";
pub const WRONG_KEY: &str = "wr0ng/+key=secret";

/// The environment the tests resolve their settings with: the keys are
/// passed as values, never set in the process.
pub fn env() -> tarjama::config::Env {
    tarjama::config::Env::from_pairs(key_vars())
}

/// The key variables, for the environment of a `tarjama` child process.
pub fn key_vars() -> [(&'static str, &'static str); 7] {
    [
        ("TARJAMA_TEST_LT_KEY", LT_KEY),
        ("TARJAMA_TEST_DEEPL_KEY", DEEPL_KEY),
        ("TARJAMA_TEST_DEEPL_FREE_KEY", DEEPL_FREE_KEY),
        ("TARJAMA_TEST_GOOGLE_KEY", GOOGLE_KEY),
        ("TARJAMA_TEST_AZURE_KEY", AZURE_KEY),
        ("TARJAMA_TEST_EMPTY_KEY", ""),
        ("TARJAMA_TEST_WRONG_KEY", WRONG_KEY),
    ]
}

/// The fake translation of one text.
pub fn en(text: &str) -> String {
    format!("en({text})")
}

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: HashMap<String, String>,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<String> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    }
}

/// An answer.
#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Wait this long before answering.
    pub delay: Option<std::time::Duration>,
}

impl Canned {
    pub fn json(status: u16, body: Value) -> Canned {
        Canned {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
            delay: None,
        }
    }
    pub fn raw(status: u16, content_type: &str, body: &str) -> Canned {
        Canned {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
            delay: None,
        }
    }
    pub fn delayed(mut self, d: std::time::Duration) -> Canned {
        self.delay = Some(d);
        self
    }
    pub fn header(mut self, k: &str, v: &str) -> Canned {
        self.headers.push((k.into(), v.into()));
        self
    }
}

type Handler = Arc<dyn Fn(&Recorded) -> Canned + Send + Sync>;

struct Shared {
    log: Mutex<Vec<Recorded>>,
    script: Mutex<VecDeque<Canned>>,
    handler: Handler,
}

/// A running fake server (stopped when dropped).
pub struct Server {
    pub url: String,
    shared: Arc<Shared>,
    _server: super::Server,
}

impl Server {
    pub async fn start(handler: impl Fn(&Recorded) -> Canned + Send + Sync + 'static) -> Server {
        let shared = Arc::new(Shared {
            log: Mutex::new(Vec::new()),
            script: Mutex::new(VecDeque::new()),
            handler: Arc::new(handler),
        });
        let s = shared.clone();
        let server = super::serve(Arc::new(move |req: HttpRequest| {
            let s = s.clone();
            Box::pin(async move { answer(&s, req).await })
        }))
        .await;
        Server {
            url: server.url.clone(),
            shared,
            _server: server,
        }
    }

    /// Answer the next request with `c` instead of the protocol.
    pub fn push(&self, c: Canned) {
        self.shared.script.lock().unwrap().push_back(c);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.log.lock().unwrap().clone()
    }

    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }
}

async fn answer(shared: &Shared, req: HttpRequest) -> Reply {
    let (path, query) = match req.path.split_once('?') {
        Some((p, q)) => (p.to_string(), url_pairs(q).into_iter().collect()),
        None => (req.path.clone(), HashMap::new()),
    };
    let rec = Recorded {
        method: req.method.clone(),
        path,
        query,
        body: req.text(),
        headers: req.headers,
    };
    shared.log.lock().unwrap().push(rec.clone());
    let scripted = shared.script.lock().unwrap().pop_front();
    let c = scripted.unwrap_or_else(|| (shared.handler)(&rec));
    if let Some(d) = c.delay {
        tokio::time::sleep(d).await;
    }
    Reply::Full {
        status: c.status,
        headers: c.headers,
        body: c.body.into_bytes(),
    }
}

/// Decode `a=b&c=d` with percent-decoding.
fn url_pairs(q: &str) -> Vec<(String, String)> {
    let u = reqwest::Url::parse(&format!("http://x/?{q}")).unwrap();
    u.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn strings(v: &Value) -> Option<Vec<String>> {
    v.as_array()?
        .iter()
        .map(|x| x.as_str().map(String::from))
        .collect()
}

// ---------------------------------------------------------------- LibreTranslate

/// How a fake LibreTranslate server is started.
#[derive(Debug, Clone, Default)]
pub struct LibreOptions {
    /// `--api-keys` with this one key.
    pub api_key: Option<String>,
    /// `--batch-limit`.
    pub batch_limit: Option<usize>,
    /// `--char-limit` (per text, in code points).
    pub char_limit: Option<usize>,
}

pub fn libretranslate(opts: LibreOptions) -> impl Fn(&Recorded) -> Canned {
    move |r: &Recorded| {
        let err = |status: u16, msg: &str| Canned::json(status, json!({ "error": msg }));
        if r.path != "/translate" {
            return Canned::raw(
                404,
                "text/html",
                "<!doctype html><title>404 Not Found</title><h1>Not Found</h1>",
            );
        }
        if r.method != "POST" {
            return err(405, "Method Not Allowed");
        }
        let body = r.json();
        let Some(q) = body.get("q") else {
            return err(400, "Invalid request: missing q parameter");
        };
        let (texts, batch) = match q {
            Value::String(s) => (vec![s.clone()], false),
            v => match strings(v) {
                Some(t) => (t, true),
                None => return err(400, "Invalid request: missing q parameter"),
            },
        };
        let Some(source) = body.get("source").and_then(Value::as_str) else {
            return err(400, "Invalid request: missing source parameter");
        };
        let Some(target) = body.get("target").and_then(Value::as_str) else {
            return err(400, "Invalid request: missing target parameter");
        };
        if let Some(key) = &opts.api_key {
            match body.get("api_key").and_then(Value::as_str) {
                None | Some("") => {
                    return err(
                        400,
                        "Visit https://portal.libretranslate.com to get an API key",
                    );
                }
                Some(k) if k != key => return err(403, "Invalid API key"),
                _ => {}
            }
        }
        if let Some(limit) = opts.batch_limit
            && batch
            && texts.len() > limit
        {
            return err(
                400,
                &format!(
                    "Invalid request: request ({}) exceeds text limit ({limit})",
                    texts.len()
                ),
            );
        }
        if let Some(limit) = opts.char_limit {
            for t in &texts {
                let n = t.chars().count();
                if n > limit {
                    return err(
                        400,
                        &format!("Invalid request: request ({n}) exceeds text limit ({limit})"),
                    );
                }
            }
        }
        if source != "ar" && source != "auto" {
            return err(400, &format!("{source} is not supported"));
        }
        if target != "en" {
            return err(
                400,
                &format!("{target} is not available as a target language from {source}"),
            );
        }
        let out: Vec<String> = texts.iter().map(|t| en(t)).collect();
        if batch {
            Canned::json(200, json!({ "translatedText": out }))
        } else {
            Canned::json(200, json!({ "translatedText": out[0] }))
        }
    }
}

// ---------------------------------------------------------------- DeepL

/// The glossaries a fake DeepL server holds: id → (entries, TSV as sent).
#[derive(Debug, Default)]
pub struct DeepLState {
    pub glossaries: Mutex<HashMap<String, Vec<(String, String)>>>,
}

pub fn deepl(key: &'static str, state: Arc<DeepLState>) -> impl Fn(&Recorded) -> Canned {
    move |r: &Recorded| {
        let err = |status: u16, msg: &str| Canned::json(status, json!({ "message": msg }));
        if r.header("authorization").as_deref() != Some(&format!("DeepL-Auth-Key {key}")) {
            return err(403, "Authorization failure, check auth_key");
        }
        match (r.method.as_str(), r.path.as_str()) {
            ("POST", "/v2/translate") => deepl_translate(r, &state),
            ("POST", "/v2/glossaries") => deepl_glossary(r, &state),
            _ => Canned::raw(404, "text/plain", "404 page not found"),
        }
    }
}

fn deepl_translate(r: &Recorded, state: &DeepLState) -> Canned {
    let err = |status: u16, msg: &str| Canned::json(status, json!({ "message": msg }));
    if r.body.len() > 128 * 1024 {
        return err(413, "Request Entity Too Large");
    }
    let body = r.json();
    let Some(texts) = body.get("text").and_then(strings) else {
        return err(400, "Parameter 'text' not specified.");
    };
    if texts.len() > 50 {
        return err(400, "Too many texts, the maximum number of texts is 50.");
    }
    let source = body.get("source_lang").and_then(Value::as_str);
    if source.is_some_and(|s| !s.eq_ignore_ascii_case("AR")) {
        return err(400, "Value for 'source_lang' not supported.");
    }
    match body.get("target_lang").and_then(Value::as_str) {
        Some("EN-US" | "EN-GB") => {}
        Some(_) => return err(400, "Value for 'target_lang' not supported."),
        None => return err(400, "Parameter 'target_lang' not specified."),
    }
    let mut entries = Vec::new();
    if let Some(id) = body.get("glossary_id").and_then(Value::as_str) {
        if source.is_none() {
            return err(400, "Use of a glossary requires the source_lang parameter.");
        }
        match state.glossaries.lock().unwrap().get(id) {
            Some(e) => entries = e.clone(),
            None => return err(404, "Glossary not found"),
        }
    }
    let out: Vec<Value> = texts
        .iter()
        .map(|t| {
            let mut t = t.clone();
            for (s, e) in &entries {
                t = t.replace(s.as_str(), e.as_str());
            }
            json!({ "detected_source_language": "AR", "text": en(&t) })
        })
        .collect();
    Canned::json(200, json!({ "translations": out }))
}

fn deepl_glossary(r: &Recorded, state: &DeepLState) -> Canned {
    let err = |status: u16, msg: &str, detail: &str| {
        Canned::json(status, json!({ "message": msg, "detail": detail }))
    };
    let body = r.json();
    for field in [
        "name",
        "source_lang",
        "target_lang",
        "entries",
        "entries_format",
    ] {
        if body.get(field).and_then(Value::as_str).is_none() {
            return err(400, "Bad request", &format!("Missing field '{field}'"));
        }
    }
    if body["entries_format"] != "tsv" || body["source_lang"] != "ar" || body["target_lang"] != "en"
    {
        return err(400, "Bad request", "Unsupported glossary parameters");
    }
    let mut seen = std::collections::HashSet::new();
    let mut entries = Vec::new();
    for line in body["entries"].as_str().unwrap().split('\n') {
        let Some((s, t)) = line.split_once('\t') else {
            return err(400, "Invalid glossary entries provided", "Missing tab");
        };
        let bad = |x: &str| {
            x.is_empty() || x.trim() != x || x.chars().any(char::is_control) || x.len() > 1024
        };
        if bad(s) || bad(t) || t.contains('\t') {
            return err(
                400,
                "Invalid glossary entries provided",
                &format!("Bad entry {s:?}"),
            );
        }
        if !seen.insert(s.to_string()) {
            return err(
                400,
                "Invalid glossary entries provided",
                &format!("Key {s:?} duplicated"),
            );
        }
        entries.push((s.to_string(), t.to_string()));
    }
    let mut g = state.glossaries.lock().unwrap();
    let id = format!("def3a26b-{:04}-4d5e-9f00-{:012}", g.len() + 1, g.len() + 1);
    let n = entries.len();
    g.insert(id.clone(), entries);
    Canned::json(
        201,
        json!({
            "glossary_id": id, "ready": true, "name": body["name"],
            "source_lang": "ar", "target_lang": "en",
            "creation_time": "2026-11-29T10:00:00.000Z", "entry_count": n
        }),
    )
}

// ---------------------------------------------------------------- Google v2

pub fn google_error(code: u16, message: &str, reason: &str) -> Canned {
    Canned::json(
        code,
        json!({"error": {"code": code, "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}]}}),
    )
}

pub fn google(key: &'static str) -> impl Fn(&Recorded) -> Canned {
    move |r: &Recorded| {
        if r.path != "/language/translate/v2" {
            return Canned::raw(
                404,
                "text/html; charset=UTF-8",
                "<!DOCTYPE html><html lang=en><title>Error 404 (Not Found)!!1</title></html>",
            );
        }
        match r.query.get("key").map(String::as_str) {
            None => {
                return google_error(403, "The request is missing a valid API key.", "forbidden");
            }
            Some(k) if k != key => {
                let mut c = google_error(
                    400,
                    "API key not valid. Please pass a valid API key.",
                    "badRequest",
                );
                let mut v: Value = serde_json::from_str(&c.body).unwrap();
                v["error"]["status"] = json!("INVALID_ARGUMENT");
                v["error"]["details"] = json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]);
                c.body = v.to_string();
                return c;
            }
            _ => {}
        }
        if r.body.len() > 100_000 {
            return google_error(400, "Text too long", "invalid");
        }
        let body = r.json();
        let Some(q) = body.get("q").and_then(strings) else {
            return google_error(400, "Required Text", "required");
        };
        if q.len() > 128 {
            return google_error(400, "Too many text segments", "invalid");
        }
        if body.get("target").and_then(Value::as_str) != Some("en")
            || body.get("source").and_then(Value::as_str) != Some("ar")
        {
            return google_error(400, "Bad language pair: {0}", "invalid");
        }
        // The default format is html: the text is then read as HTML, its
        // tags and entities kept as sent, and quotes in the answer come
        // entity-escaped (`&#39;`, `&quot;`), as Google writes them.
        let html = body.get("format").and_then(Value::as_str) != Some("text");
        let out: Vec<Value> = q
            .iter()
            .map(|t| {
                let e = en(t);
                let e = if html {
                    e.replace('"', "&quot;").replace('\'', "&#39;")
                } else {
                    e
                };
                json!({ "translatedText": e })
            })
            .collect();
        Canned::json(200, json!({ "data": { "translations": out } }))
    }
}

// ---------------------------------------------------------------- Azure

pub fn azure_error(status: u16, code: u32, message: &str) -> Canned {
    Canned::json(status, json!({"error": {"code": code, "message": message}}))
        .header("X-RequestId", "req-0001")
}

/// Replace each dynamic-dictionary element by its `translation`, as the
/// service does.
pub fn apply_dictionary(text: &str) -> String {
    const OPEN: &str = "<mstrans:dictionary translation=\"";
    const CLOSE: &str = "</mstrans:dictionary>";
    let mut out = String::new();
    let mut rest = text;
    while let Some(o) = rest.find(OPEN) {
        out.push_str(&rest[..o]);
        let after = &rest[o + OPEN.len()..];
        let q = after.find("\">").expect("attribute end");
        let translation = after[..q]
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
        let inner = &after[q + 2..];
        let c = inner.find(CLOSE).expect("closing tag");
        out.push_str(&translation);
        rest = &inner[c + CLOSE.len()..];
    }
    out.push_str(rest);
    out
}

/// A fake Azure Translator. With `region`, the resource is regional and
/// the region header is required. With `echo_markup`, the answer keeps the
/// markup (as some deployments do).
pub fn azure(
    key: &'static str,
    region: Option<&'static str>,
    echo_markup: bool,
) -> impl Fn(&Recorded) -> Canned {
    move |r: &Recorded| {
        if r.path != "/translate" {
            return azure_error(404, 404000, "The requested resource was not found.");
        }
        if r.query.get("api-version").map(String::as_str) != Some("3.0") {
            return azure_error(
                400,
                400021,
                "The API version parameter is missing or invalid.",
            );
        }
        if r.header("ocp-apim-subscription-key").as_deref() != Some(key) {
            return azure_error(
                401,
                401000,
                "The request is not authorized because credentials are missing or invalid.",
            );
        }
        if let Some(reg) = region
            && r.header("ocp-apim-subscription-region").as_deref() != Some(reg)
        {
            return azure_error(
                401,
                401000,
                "The request is not authorized because credentials are missing or invalid.",
            );
        }
        if !r
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
        {
            return azure_error(
                415,
                415000,
                "The Content-Type header is missing or invalid.",
            );
        }
        match r.query.get("from").map(String::as_str) {
            Some("ar") => {}
            _ => return azure_error(400, 400035, "The source language is not valid."),
        }
        if r.query.get("to").map(String::as_str) != Some("en") {
            return azure_error(400, 400036, "The target language is not valid.");
        }
        let body = r.json();
        let Some(items) = body.as_array() else {
            return azure_error(400, 400074, "The body of the request is not valid JSON.");
        };
        if items.len() > 1000 {
            return azure_error(
                400,
                400072,
                "The array of input text has too many elements.",
            );
        }
        let mut texts = Vec::new();
        for i in items {
            match i.get("Text").and_then(Value::as_str) {
                Some(t) => texts.push(t.to_string()),
                None => {
                    return azure_error(400, 400074, "The body of the request is not valid JSON.");
                }
            }
        }
        let total: usize = texts.iter().map(|t| t.chars().count()).sum();
        if total > 50_000 {
            return azure_error(400, 400077, "The maximum request size has been exceeded.");
        }
        let out: Vec<Value> = texts
            .iter()
            .map(|t| {
                let text = if echo_markup {
                    en(t)
                } else {
                    en(&apply_dictionary(t))
                };
                json!({ "translations": [{ "text": text, "to": "en" }] })
            })
            .collect();
        Canned::json(200, Value::Array(out))
            .header("X-RequestId", "req-0002")
            .header("X-metered-usage", &total.to_string())
    }
}
