//! Fake MT servers for tests and benchmarks, on 127.0.0.1, started by the
//! test itself.
//!
//! Layers, each usable alone:
//! - [`serve`]: a small HTTP/1.1 server on a raw tokio listener (keep-alive,
//!   Content-Length bodies) that hands each [`HttpRequest`] to a handler and
//!   writes its [`Reply`]: any status, headers and body, a slow answer, a
//!   dropped connection, or a body cut short. [`serve_in_background`] runs it
//!   on its own runtime for tests that drive the binary with `assert_cmd`.
//! - [`Log`]: what the server received (count, bodies, headers, request
//!   times, requests in flight and their maximum).
//! - [`Fake`]: shared behaviour knobs (latency, a script of [`Fault`]s, a
//!   fault every time, a random fault rate, a required key, a server-side
//!   rate limit, a "poison" text that always fails, bad LLM answers above a
//!   batch size) that a protocol handler consults through
//!   [`Fake::before`].
//! - Protocol handlers: [`openai`], [`ollama`] and [`json_api`] (the shape the
//!   template backend tests use), answering with [`fake_english`], a
//!   deterministic transliteration with no Arabic letters left.
//!
//! - [`faulty`]: a fault-injecting OpenAI-compatible server with a request
//!   log, for the resilience tests and the pipeline benchmark.
//!
//! - [`command`]: [`tarjama`], the one helper that runs the binary with the
//!   environment isolated (every `TARJAMA_*` variable removed, XDG and HOME
//!   in the test's folder).
//!
//! `mod support;` in a test file pulls it in; other backends add their own
//! protocol handler next to these and reuse the rest.
#![allow(dead_code)]

pub mod command;
pub mod faulty;
pub mod misbehaving;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[allow(unused_imports)]
pub use command::{tarjama, tarjama_in_repo, tarjama_process};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// What the server does with a request.
#[derive(Debug, Clone)]
pub enum Reply {
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Close the connection without answering.
    Drop,
    /// Send the head announcing the whole body, then only half of it, then close.
    CutShort { status: u16, body: String },
}

impl Reply {
    pub fn json(status: u16, v: &Value) -> Reply {
        Reply::Full {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: v.to_string(),
        }
    }

    pub fn raw(status: u16, content_type: &str, body: impl Into<String>) -> Reply {
        Reply::Full {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
        }
    }

    pub fn with_header(mut self, k: &str, v: &str) -> Reply {
        if let Reply::Full { headers, .. } = &mut self {
            headers.push((k.to_ascii_lowercase(), v.to_string()));
        }
        self
    }
}

pub type BoxFut<T> = Pin<Box<dyn Future<Output = T> + Send>>;
pub type Handler = Arc<dyn Fn(HttpRequest) -> BoxFut<Reply> + Send + Sync>;

/// A running server; it stops when dropped.
pub struct Server {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Start a server on 127.0.0.1 (a free port) in the current runtime.
pub async fn serve(handler: Handler) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            // As real HTTP servers do: without it, Nagle's algorithm holds
            // a reply's second write until the client's delayed ACK (~40 ms).
            let _ = stream.set_nodelay(true);
            let h = handler.clone();
            tokio::spawn(async move {
                let _ = connection(stream, h).await;
            });
        }
    });
    Server { url, task }
}

/// A server on its own runtime, for tests that block on the binary.
pub struct BackgroundServer {
    pub server: Server,
    rt: tokio::runtime::Runtime,
}

impl BackgroundServer {
    pub fn url(&self) -> &str {
        &self.server.url
    }
}

pub fn serve_in_background(handler: Handler) -> BackgroundServer {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(serve(handler));
    BackgroundServer { server, rt }
}

/// A URL on which nothing listens (connection refused).
pub fn closed_port_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

async fn connection(mut stream: TcpStream, handler: Handler) -> std::io::Result<()> {
    let mut buf = Vec::new();
    loop {
        let Some(req) = read_request(&mut stream, &mut buf).await? else {
            return Ok(());
        };
        match handler(req).await {
            Reply::Drop => return Ok(()),
            Reply::CutShort { status, body } => {
                let head = format!(
                    "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    reason(status),
                    body.len()
                );
                stream.write_all(head.as_bytes()).await?;
                stream.write_all(&body.as_bytes()[..body.len() / 2]).await?;
                stream.flush().await?;
                return Ok(());
            }
            Reply::Full {
                status,
                headers,
                body,
            } => {
                let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
                for (k, v) in &headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
                head.push_str(&body);
                stream.write_all(head.as_bytes()).await?;
                stream.flush().await?;
            }
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        456 => "Quota Exceeded",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

async fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<HttpRequest>> {
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split_whitespace();
    let method = first.next().unwrap_or("").to_string();
    let path = first.next().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let body_start = head_end + 4;
    while buf.len() < body_start + len {
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[body_start..body_start + len].to_vec();
    buf.drain(..body_start + len);
    Ok(Some(HttpRequest {
        method,
        path,
        headers,
        body,
    }))
}

/// What a server received.
#[derive(Debug, Default)]
pub struct Log {
    pub requests: AtomicU64,
    pub in_flight: AtomicI64,
    pub max_in_flight: AtomicI64,
    /// Requests answered 429 by the server's own rate limit or a fault.
    pub rejected_429: AtomicU64,
    pub times: Mutex<Vec<Instant>>,
    pub bodies: Mutex<Vec<Value>>,
    pub requests_seen: Mutex<Vec<HttpRequest>>,
    /// Every segment text received, in arrival order.
    pub segments: Mutex<Vec<String>>,
    /// Keep counts and times only, not bodies and requests (long benchmarks).
    pub discard_bodies: std::sync::atomic::AtomicBool,
}

/// Decrements the in-flight count when the request is answered.
pub struct InFlight<'a>(&'a Log);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Log {
    pub fn enter(&self, req: &HttpRequest) -> InFlight<'_> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        self.times.lock().unwrap().push(Instant::now());
        if !self.discard_bodies.load(Ordering::Relaxed) {
            if let Some(v) = req.json() {
                self.bodies.lock().unwrap().push(v);
            }
            self.requests_seen.lock().unwrap().push(req.clone());
        }
        InFlight(self)
    }

    pub fn count(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    pub fn max_concurrent(&self) -> i64 {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    pub fn last_body(&self) -> Value {
        self.bodies
            .lock()
            .unwrap()
            .last()
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// Gaps between consecutive request arrivals.
    pub fn gaps(&self) -> Vec<Duration> {
        let t = self.times.lock().unwrap();
        t.windows(2).map(|w| w[1] - w[0]).collect()
    }
}

/// A misbehaviour, interpreted by the protocol handler (error bodies are
/// the protocol's own).
#[derive(Debug, Clone)]
pub enum Fault {
    /// 429 with the protocol's body; `Retry-After` if given.
    RateLimited(Option<&'static str>),
    /// 429 with `retry-after-ms`.
    RateLimitedMs(&'static str),
    /// This status with the protocol's error body.
    Status(u16),
    /// Exactly this reply.
    Reply(Reply),
    /// Wait this long, then answer normally.
    Slow(Duration),
    /// Close the connection.
    Drop,
    /// 502 with an HTML page, as a proxy sends.
    Html,
    /// 200 whose JSON is cut short.
    Truncated,
    /// A well-formed answer with one translation too few.
    WrongCount,
    /// Answers whose English has its inline markers out of order (every
    /// `⟦/n⟧` moved to the front, before its `⟦n⟧`), as a careless model
    /// writes them.
    CrossMarkers,
}

/// Shared behaviour of a fake server.
pub struct Fake {
    pub log: Log,
    pub latency: Mutex<Duration>,
    /// Faults for the next requests, in order.
    pub script: Mutex<VecDeque<Fault>>,
    /// A fault for every request (after the script).
    pub always: Mutex<Option<Fault>>,
    /// Share of requests (0..1) that get a fault drawn from the list.
    pub random: Mutex<Option<(f64, Vec<Fault>)>>,
    pub rng: Mutex<fastrand::Rng>,
    /// The key clients must send (`Authorization: Bearer KEY` or the
    /// protocol's header); errors echo what was sent, as some proxies do.
    pub key: Option<String>,
    /// At most this many requests in any window (server-side limit → 429).
    pub limit: Mutex<Option<(usize, Duration)>>,
    /// Requests with a segment containing this text always get a 500.
    pub poison: Mutex<Option<String>>,
    /// LLM answers drop the last id when a batch has more segments than this.
    pub max_good_batch: Mutex<Option<usize>>,
}

impl Default for Fake {
    fn default() -> Self {
        Fake {
            log: Log::default(),
            latency: Mutex::new(Duration::ZERO),
            script: Mutex::new(VecDeque::new()),
            always: Mutex::new(None),
            random: Mutex::new(None),
            rng: Mutex::new(fastrand::Rng::with_seed(7)),
            key: None,
            limit: Mutex::new(None),
            poison: Mutex::new(None),
            max_good_batch: Mutex::new(None),
        }
    }
}

/// What the handler should do after [`Fake::before`].
pub enum Verdict {
    /// Answer normally (maybe with a protocol-level fault).
    Answer(Option<Fault>),
    /// Send this.
    Reply(Reply),
}

impl Fake {
    pub fn new() -> Arc<Fake> {
        Arc::new(Fake::default())
    }

    pub fn with_key(key: &str) -> Arc<Fake> {
        Arc::new(Fake {
            key: Some(key.into()),
            ..Fake::default()
        })
    }

    pub fn push(&self, f: Fault) {
        self.script.lock().unwrap().push_back(f);
    }

    pub fn set_always(&self, f: Option<Fault>) {
        *self.always.lock().unwrap() = f;
    }

    pub fn set_latency(&self, d: Duration) {
        *self.latency.lock().unwrap() = d;
    }

    /// The fault for this request, if any: script, then always, then random.
    fn next_fault(&self) -> Option<Fault> {
        if let Some(f) = self.script.lock().unwrap().pop_front() {
            return Some(f);
        }
        if let Some(f) = self.always.lock().unwrap().clone() {
            return Some(f);
        }
        let random = self.random.lock().unwrap().clone();
        if let Some((rate, faults)) = random {
            let mut rng = self.rng.lock().unwrap();
            if rng.f64() < rate && !faults.is_empty() {
                return Some(faults[rng.usize(..faults.len())].clone());
            }
        }
        None
    }

    /// Latency, auth, rate limit, poison and faults, common to every
    /// protocol. `presented_key` is what the client sent; `segments` the
    /// texts in the request; `error` builds the protocol's error reply.
    pub async fn before(
        &self,
        presented_key: Option<&str>,
        segments: &[String],
        error: &(dyn Fn(u16, &str) -> Reply + Sync),
    ) -> Verdict {
        let latency = *self.latency.lock().unwrap();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        if let Some(k) = &self.key {
            match presented_key {
                Some(p) if p == k => {}
                Some(p) => {
                    return Verdict::Reply(error(401, &format!("Incorrect API key provided: {p}")));
                }
                None => return Verdict::Reply(error(401, "You didn't provide an API key.")),
            }
        }
        let limit = *self.limit.lock().unwrap();
        if let Some((n, window)) = limit {
            let t = self.log.times.lock().unwrap();
            let now = Instant::now();
            let recent = t.iter().filter(|x| now - **x < window).count();
            if recent > n {
                drop(t);
                self.log.rejected_429.fetch_add(1, Ordering::SeqCst);
                return Verdict::Reply(
                    error(429, "Rate limit reached").with_header("retry-after", "1"),
                );
            }
        }
        self.log
            .segments
            .lock()
            .unwrap()
            .extend(segments.iter().cloned());
        let poison = self.poison.lock().unwrap().clone();
        if let Some(p) = poison
            && segments.iter().any(|s| s.contains(&p))
        {
            return Verdict::Reply(error(
                500,
                "The server had an error while processing your request.",
            ));
        }
        let fault = self.next_fault();
        match fault {
            None => Verdict::Answer(None),
            Some(Fault::Slow(d)) => {
                tokio::time::sleep(d).await;
                Verdict::Answer(None)
            }
            Some(Fault::RateLimited(after)) => {
                self.log.rejected_429.fetch_add(1, Ordering::SeqCst);
                let r = error(429, "Rate limit reached for requests");
                Verdict::Reply(match after {
                    Some(a) => r.with_header("retry-after", a),
                    None => r,
                })
            }
            Some(Fault::RateLimitedMs(ms)) => {
                self.log.rejected_429.fetch_add(1, Ordering::SeqCst);
                Verdict::Reply(error(429, "Rate limit reached").with_header("retry-after-ms", ms))
            }
            Some(Fault::Status(s)) => Verdict::Reply(error(s, "simulated failure")),
            Some(Fault::Reply(r)) => Verdict::Reply(r),
            Some(Fault::Drop) => Verdict::Reply(Reply::Drop),
            Some(Fault::Html) => Verdict::Reply(Reply::raw(
                502,
                "text/html",
                "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
            )),
            Some(f @ (Fault::Truncated | Fault::WrongCount | Fault::CrossMarkers)) => {
                Verdict::Answer(Some(f))
            }
        }
    }
}

/// A deterministic "translation": Arabic letters transliterated to Latin,
/// Arabic digits and punctuation to ASCII, everything else kept.
pub fn fake_english(ar: &str) -> String {
    let mut out = String::from("EN ");
    for c in ar.chars() {
        let s: &str = match c {
            'ا' | 'أ' | 'إ' | 'آ' | 'ٱ' | 'ى' => "a",
            'ب' => "b",
            'ت' | 'ة' => "t",
            'ث' => "th",
            'ج' => "j",
            'ح' => "h",
            'خ' => "kh",
            'د' => "d",
            'ذ' => "dh",
            'ر' => "r",
            'ز' => "z",
            'س' => "s",
            'ش' => "sh",
            'ص' => "s",
            'ض' => "d",
            'ط' => "t",
            'ظ' => "z",
            'ع' => "'",
            'غ' => "gh",
            'ف' => "f",
            'ق' => "q",
            'ك' => "k",
            'ل' => "l",
            'م' => "m",
            'ن' => "n",
            'ه' => "h",
            'و' | 'ؤ' => "w",
            'ي' | 'ئ' => "y",
            'ء' => "'",
            '،' => ",",
            '؛' => ";",
            '؟' => "?",
            '٠'..='٩' => {
                out.push(char::from_digit(c as u32 - '٠' as u32, 10).unwrap());
                continue;
            }
            c if ('\u{0600}'..='\u{06FF}').contains(&c) => "",
            _ => {
                out.push(c);
                continue;
            }
        };
        out.push_str(s);
    }
    out
}

/// Segments (local id, Arabic) from an LLM request's user message.
pub fn llm_segments(body: &Value, messages_key: &str) -> Vec<(String, String)> {
    let user = body[messages_key]
        .as_array()
        .and_then(|m| m.iter().find(|x| x["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or("");
    let payload: Value = serde_json::from_str(user).unwrap_or(Value::Null);
    payload["segments"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    (
                        s["id"].as_str().unwrap_or("").to_string(),
                        s["ar"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The LLM answer content for these segments, with a protocol-level fault
/// applied, and whether it was cut short.
fn llm_content(fake: &Fake, segs: &[(String, String)], fault: Option<&Fault>) -> String {
    let mut items: Vec<Value> = segs
        .iter()
        .map(|(id, ar)| {
            let mut en = fake_english(ar);
            if matches!(fault, Some(Fault::CrossMarkers)) {
                // every closing marker moved to the front of the text, so
                // it comes before its opening one
                let closes: Vec<String> = (1..=9).map(|n| format!("⟦/{n}⟧")).collect();
                let mut moved = String::new();
                for c in &closes {
                    if en.contains(c.as_str()) {
                        en = en.replace(c.as_str(), "");
                        moved.push_str(c);
                    }
                }
                en = format!("{moved}{en}");
            }
            json!({"id": id, "en": en})
        })
        .collect();
    let over = fake
        .max_good_batch
        .lock()
        .unwrap()
        .is_some_and(|n| segs.len() > n);
    if over || matches!(fault, Some(Fault::WrongCount)) {
        items.pop();
    }
    json!({"translations": items}).to_string()
}

fn bearer(req: &HttpRequest) -> Option<String> {
    req.header("authorization")
        .map(|v| v.trim_start_matches("Bearer ").to_string())
}

/// OpenAI's error body: `{"error":{"message","type","param","code"}}`.
pub fn openai_error(status: u16, message: &str) -> Reply {
    let (kind, code) = match status {
        401 => ("invalid_request_error", json!("invalid_api_key")),
        404 => ("invalid_request_error", json!("model_not_found")),
        429 => ("requests", json!("rate_limit_exceeded")),
        s if s >= 500 => ("server_error", Value::Null),
        _ => ("invalid_request_error", Value::Null),
    };
    Reply::json(
        status,
        &json!({"error": {"message": message, "type": kind, "param": null, "code": code}}),
    )
}

/// Ollama's error body: `{"error":"..."}`.
pub fn ollama_error(status: u16, message: &str) -> Reply {
    Reply::json(status, &json!({"error": message}))
}

/// An OpenAI-compatible `/v1/chat/completions` server.
pub fn openai(fake: Arc<Fake>) -> Handler {
    Arc::new(move |req: HttpRequest| {
        let fake = fake.clone();
        Box::pin(async move {
            let _g = fake.log.enter(&req);
            if req.method != "POST" || !req.path.ends_with("/chat/completions") {
                return openai_error(404, &format!("Invalid URL (POST {})", req.path));
            }
            let Some(body) = req.json() else {
                return openai_error(400, "We could not parse the JSON body of your request.");
            };
            let segs = llm_segments(&body, "messages");
            let texts: Vec<String> = segs.iter().map(|(_, a)| a.clone()).collect();
            let key = bearer(&req);
            match fake.before(key.as_deref(), &texts, &openai_error).await {
                Verdict::Reply(r) => r,
                Verdict::Answer(fault) => {
                    let content = llm_content(&fake, &segs, fault.as_ref());
                    let answer = json!({
                        "id": "chatcmpl-test", "object": "chat.completion", "created": 1726012687,
                        "model": body["model"], "system_fingerprint": "fp_test",
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 40, "completion_tokens": 8, "total_tokens": 48}
                    });
                    if matches!(fault, Some(Fault::Truncated)) {
                        let s = answer.to_string();
                        return Reply::raw(200, "application/json", &s[..s.len() / 2]);
                    }
                    Reply::json(200, &answer)
                }
            }
        })
    })
}

/// An Ollama native `/api/chat` server.
pub fn ollama(fake: Arc<Fake>) -> Handler {
    Arc::new(move |req: HttpRequest| {
        let fake = fake.clone();
        Box::pin(async move {
            let _g = fake.log.enter(&req);
            if req.method != "POST" || req.path != "/api/chat" {
                return Reply::raw(404, "text/plain", "404 page not found");
            }
            let Some(body) = req.json() else {
                return ollama_error(400, "invalid character 'x' looking for beginning of value");
            };
            let segs = llm_segments(&body, "messages");
            let texts: Vec<String> = segs.iter().map(|(_, a)| a.clone()).collect();
            let key = bearer(&req);
            match fake.before(key.as_deref(), &texts, &ollama_error).await {
                Verdict::Reply(r) => r,
                Verdict::Answer(fault) => {
                    let content = llm_content(&fake, &segs, fault.as_ref());
                    let answer = json!({
                        "model": body["model"], "created_at": "2026-11-29T10:00:00Z",
                        "message": {"role": "assistant", "content": content},
                        "done": true, "done_reason": "stop", "prompt_eval_count": 26, "eval_count": 298
                    });
                    if matches!(fault, Some(Fault::Truncated)) {
                        let s = answer.to_string();
                        return Reply::raw(200, "application/json", &s[..s.len() / 2]);
                    }
                    Reply::json(200, &answer)
                }
            }
        })
    })
}

/// A generic JSON translation API for the template backend:
/// `POST /translate {"q": [texts] | "text", "source": .., "target": ..}` with
/// `X-Api-Key`, answering `{"data": {"translations": [{"text": ..}]}}` (or
/// `{"data": {"text": ..}}` for a single string). Errors:
/// `{"message": .., "code": status}`.
pub fn json_api(fake: Arc<Fake>) -> Handler {
    fn error(status: u16, message: &str) -> Reply {
        Reply::json(status, &json!({"message": message, "code": status}))
    }
    Arc::new(move |req: HttpRequest| {
        let fake = fake.clone();
        Box::pin(async move {
            let _g = fake.log.enter(&req);
            if req.path != "/translate" {
                return error(404, "no such route");
            }
            let Some(body) = req.json() else {
                return error(400, "body is not JSON");
            };
            let (texts, single) = match &body["q"] {
                Value::Array(a) => (
                    a.iter()
                        .map(|v| v.as_str().unwrap_or("").to_string())
                        .collect::<Vec<_>>(),
                    false,
                ),
                Value::String(s) => (vec![s.clone()], true),
                _ => return error(400, "q is required"),
            };
            let key = req.header("x-api-key").map(str::to_string);
            match fake.before(key.as_deref(), &texts, &error).await {
                Verdict::Reply(r) => r,
                Verdict::Answer(fault) => {
                    let mut items: Vec<Value> = texts
                        .iter()
                        .map(|t| json!({"text": fake_english(t)}))
                        .collect();
                    if matches!(fault, Some(Fault::WrongCount)) {
                        items.pop();
                    }
                    let answer = if single {
                        json!({"data": {"text": fake_english(&texts[0])}})
                    } else {
                        json!({"data": {"translations": items}})
                    };
                    if matches!(fault, Some(Fault::Truncated)) {
                        let s = answer.to_string();
                        return Reply::raw(200, "application/json", &s[..s.len() / 2]);
                    }
                    Reply::json(200, &answer)
                }
            }
        })
    })
}

/// A docx's document.xml followed by its core.xml, as text.
pub fn docx_text(path: &std::path::Path) -> String {
    use std::io::Read;
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = String::new();
    for part in ["word/document.xml", "docProps/core.xml"] {
        let mut s = String::new();
        z.by_name(part).unwrap().read_to_string(&mut s).unwrap();
        out.push_str(&s);
    }
    out
}
