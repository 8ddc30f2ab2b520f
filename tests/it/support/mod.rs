//! The one set of fake servers for tests and benchmarks, on 127.0.0.1,
//! started by the test itself.
//!
//! Layers, each usable alone:
//! - [`serve`]: the one HTTP server, a small HTTP/1.1 server on a raw tokio
//!   listener (keep-alive, Content-Length bodies) that hands each
//!   [`HttpRequest`] to a handler and writes its [`Reply`]: any status,
//!   headers and body, a slow answer, and the faults a framework cannot
//!   make, a dropped connection or a body cut short.
//!   [`serve_in_background`] runs it on its own runtime for tests that
//!   drive the binary with `assert_cmd`.
//! - [`Log`]: what the server received (count, bodies, headers, request
//!   times, requests in flight and their maximum, and a [`Record`] of each
//!   request: its texts, status, fault and timing).
//! - [`Fake`]: the one fake's behaviour, every knob changeable while it
//!   runs: latency (per request, per segment, per re-request), a script of
//!   [`Fault`]s, a fault every time, faults at a seeded random rate, a
//!   required key, a server-side rate limit, a "poison" text that always
//!   fails, error bodies that echo the request, scripted answers
//!   ([`Fake::set_translate`]), bad LLM answers above a batch size, and a
//!   model's misbehaviour at a seeded rate ([`misbehaving`], its logic in
//!   a file of its own). Protocol handlers consult it through
//!   [`Fake::before`].
//! - Protocol handlers over it: [`openai`] (the one OpenAI-compatible
//!   fake), [`ollama`] and [`json_api`] (the shape the template backend
//!   tests use), answering with [`fake_english`], a deterministic
//!   transliteration with no Arabic letters left, unless told otherwise.
//! - [`faulty`]: a named fault-injecting configuration of the fake, for the
//!   resilience tests and the pipeline benchmark.
//! - [`vendors`]: LibreTranslate, DeepL, Google and Azure as documented, on
//!   the same server.
//! - [`command`]: [`tarjama`], the one helper that runs the binary with the
//!   environment isolated (every `TARJAMA_*` variable removed, XDG and HOME
//!   in the test's folder).
#![allow(dead_code)]

pub mod command;
pub mod faulty;
pub mod misbehaving;
pub mod vendors;

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[allow(unused_imports)]
pub use command::{assert_success, tarjama, tarjama_in_repo, tarjama_process};
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
        /// Bytes as they are (a page in a legacy charset, say).
        body: Vec<u8>,
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
            body: v.to_string().into_bytes(),
        }
    }

    pub fn raw(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
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

/// The base URL, as in `format!("{server}/page.html")`.
impl std::fmt::Display for BackgroundServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.url())
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
                stream.write_all(head.as_bytes()).await?;
                stream.write_all(&body).await?;
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

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Record {
    /// Arrival order, from 0.
    pub seq: u64,
    /// The Arabic texts of the segments it carried, in order (empty when
    /// the log keeps no bodies).
    pub texts: Vec<String>,
    /// The status answered; 0 when the connection was dropped.
    pub status: u16,
    /// The injected fault, if any.
    pub fault: Option<Fault>,
    /// Refused by the server's own rate limit.
    pub rate_limited: bool,
    /// A re-request: a segment listed its terms under `must_use`.
    pub insist: bool,
    pub arrived: Instant,
    /// The `Authorization` header as received.
    pub authorization: Option<String>,
    /// When the answer was written (or the connection dropped); `None`
    /// while the request is in flight.
    pub answered: Option<Instant>,
}

/// A kind of [`Fault`], by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FaultName(pub &'static str);

impl FaultName {
    pub fn name(self) -> &'static str {
        self.0
    }
}

/// Totals over the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSummary {
    pub requests: u64,
    /// Requests answered with an injected fault.
    pub faults: u64,
    /// Requests refused by the rate limit.
    pub rate_limited: u64,
    /// Requests carrying exactly the segments of an earlier request: the
    /// client's retries (a split batch is a new set, not a retry).
    pub resent: u64,
    /// Faults by kind, in the order of [`Fault::NAMES`].
    pub by_kind: Vec<(FaultName, u64)>,
    pub max_in_flight: i64,
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
    /// Every request, in arrival order.
    pub records: Mutex<Vec<Record>>,
    /// Keep counts, times and records only, not bodies, requests and texts
    /// (long benchmarks).
    pub discard_bodies: std::sync::atomic::AtomicBool,
    /// Arrivals the server's rate limit counted (those it did not refuse).
    arrivals: Mutex<VecDeque<Instant>>,
}

/// Decrements the in-flight count when the request is answered.
pub struct InFlight<'a>(&'a Log);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Log {
    /// A request arrives: counted, timed, kept, and its [`Record`] opened
    /// (its sequence number is returned with the in-flight guard).
    pub fn enter(&self, req: &HttpRequest) -> (InFlight<'_>, u64) {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let arrived = Instant::now();
        self.times.lock().unwrap().push(arrived);
        if !self.discard_bodies.load(Ordering::Relaxed) {
            if let Some(v) = req.json() {
                self.bodies.lock().unwrap().push(v);
            }
            self.requests_seen.lock().unwrap().push(req.clone());
        }
        let mut records = self.records.lock().unwrap();
        let seq = records.len() as u64;
        records.push(Record {
            seq,
            texts: Vec::new(),
            status: 0,
            fault: None,
            rate_limited: false,
            insist: false,
            arrived,
            authorization: req.header("authorization").map(str::to_string),
            answered: None,
        });
        (InFlight(self), seq)
    }

    /// Change the record of request `seq`.
    fn update(&self, seq: u64, f: impl FnOnce(&mut Record)) {
        if let Some(r) = self.records.lock().unwrap().get_mut(seq as usize) {
            f(r);
        }
    }

    /// The answer to request `seq` is written.
    pub fn answered(&self, seq: u64, reply: &Reply) {
        let status = match reply {
            Reply::Full { status, .. } | Reply::CutShort { status, .. } => *status,
            Reply::Drop => 0,
        };
        self.update(seq, |r| {
            r.status = status;
            r.answered = Some(Instant::now());
        });
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

    /// Every request so far, in arrival order.
    pub fn records(&self) -> Vec<Record> {
        self.records.lock().unwrap().clone()
    }

    /// The system prompts received, in arrival order.
    pub fn systems(&self) -> Vec<String> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .filter_map(|b| {
                b["messages"]
                    .as_array()?
                    .iter()
                    .find(|m| m["role"] == "system")?["content"]
                    .as_str()
                    .map(str::to_string)
            })
            .collect()
    }

    /// How many times each Arabic text was received.
    pub fn received(&self) -> HashMap<String, usize> {
        let mut m = HashMap::new();
        for r in self.records.lock().unwrap().iter() {
            for t in &r.texts {
                *m.entry(t.clone()).or_insert(0) += 1;
            }
        }
        m
    }

    /// Forget what was received (the rate limit's window too).
    pub fn clear(&self) {
        self.records.lock().unwrap().clear();
        self.arrivals.lock().unwrap().clear();
        self.segments.lock().unwrap().clear();
    }

    pub fn summary(&self) -> LogSummary {
        let records = self.records();
        let mut seen: HashSet<Vec<String>> = HashSet::new();
        let mut s = LogSummary {
            max_in_flight: self.max_concurrent(),
            ..LogSummary::default()
        };
        let mut kinds: HashMap<&'static str, u64> = HashMap::new();
        for r in &records {
            s.requests += 1;
            if let Some(f) = &r.fault {
                s.faults += 1;
                *kinds.entry(f.name()).or_insert(0) += 1;
            }
            if r.rate_limited {
                s.rate_limited += 1;
            }
            if !r.texts.is_empty() && !seen.insert(r.texts.clone()) {
                s.resent += 1;
            }
        }
        s.by_kind = Fault::NAMES
            .iter()
            .filter_map(|k| kinds.get(k).map(|n| (FaultName(k), *n)))
            .collect();
        s
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

impl Fault {
    /// The names of [`Fault::name`], in a fixed order.
    pub const NAMES: [&'static str; 13] = [
        "429+retry-after",
        "429",
        "429+retry-after-ms",
        "500",
        "503",
        "status",
        "reply",
        "slow",
        "drop",
        "html",
        "truncated",
        "wrong-count",
        "cross-markers",
    ];

    /// Every kind of fault a server answers with: 429 with and without
    /// `Retry-After` (`retry_after` seconds), 500, 503, an answer after
    /// `slow`, a dropped connection, an HTML page, cut JSON and a wrong
    /// count.
    pub fn every_kind(slow: Duration, retry_after: &'static str) -> Vec<Fault> {
        vec![
            Fault::RateLimited(Some(retry_after)),
            Fault::RateLimited(None),
            Fault::Status(500),
            Fault::Status(503),
            Fault::Slow(slow),
            Fault::Drop,
            Fault::Html,
            Fault::Truncated,
            Fault::WrongCount,
        ]
    }

    /// A short name for logs and summaries.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::RateLimited(Some(_)) => "429+retry-after",
            Fault::RateLimited(None) => "429",
            Fault::RateLimitedMs(_) => "429+retry-after-ms",
            Fault::Status(500) => "500",
            Fault::Status(503) => "503",
            Fault::Status(_) => "status",
            Fault::Reply(_) => "reply",
            Fault::Slow(_) => "slow",
            Fault::Drop => "drop",
            Fault::Html => "html",
            Fault::Truncated => "truncated",
            Fault::WrongCount => "wrong-count",
            Fault::CrossMarkers => "cross-markers",
        }
    }
}

/// One segment of an LLM request, as a scripted answer sees it.
#[derive(Debug, Clone)]
pub struct Asked {
    /// The request's local id.
    pub id: String,
    pub ar: String,
    /// The terms a re-request lists under `must_use`.
    pub must_use: Vec<String>,
    /// The request's system prompt.
    pub system: String,
}

/// How a fake writes a segment's English.
pub type Translate = Arc<dyn Fn(&Asked) -> String + Send + Sync>;

/// The one fake server's behaviour, shared by its protocol handlers
/// ([`openai`], [`ollama`], [`json_api`]); every knob can be changed while
/// it runs.
pub struct Fake {
    pub log: Log,
    pub latency: Mutex<Duration>,
    /// More time per segment a request carries (a slow model).
    pub per_segment: Mutex<Duration>,
    /// More time for a re-request (a segment with `must_use` terms).
    pub rerequest_delay: Mutex<Duration>,
    /// Faults for the next requests, in order.
    pub script: Mutex<VecDeque<Fault>>,
    /// A fault for every request (after the script).
    pub always: Mutex<Option<Fault>>,
    /// Share of requests (0..1) that get a fault drawn from the list, with
    /// the seeded generator `rng`.
    pub random: Mutex<Option<(f64, Vec<Fault>)>>,
    pub rng: Mutex<fastrand::Rng>,
    /// The key clients must send (`Authorization: Bearer KEY` or the
    /// protocol's header); errors echo what was sent, as some proxies do.
    pub key: Option<String>,
    /// At most this many requests arriving in any window (a hosted API's
    /// quota); beyond it a 429 with `Retry-After: limit_retry_after`.
    pub limit: Mutex<Option<(usize, Duration)>>,
    pub limit_retry_after: Mutex<String>,
    /// Requests with a segment containing this text always get
    /// `poison_reply` (status and message).
    pub poison: Mutex<Option<String>>,
    pub poison_reply: Mutex<(u16, String)>,
    /// LLM answers drop the last id when a batch has more segments than this.
    pub max_good_batch: Mutex<Option<usize>>,
    /// Error bodies echo the request's headers and body, as some proxies
    /// do (to prove the client never shows them).
    pub echo: std::sync::atomic::AtomicBool,
    /// How a segment's English is written (default: [`fake_english`]).
    pub translate: Mutex<Option<Translate>>,
    /// LLM answers misbehave as a model does, at a seeded rate (see
    /// [`misbehaving`]); their entries then copy each source's first words.
    pub misbehaving: Mutex<Option<Arc<misbehaving::Misbehaving>>>,
}

impl Default for Fake {
    fn default() -> Self {
        Fake {
            log: Log::default(),
            latency: Mutex::new(Duration::ZERO),
            per_segment: Mutex::new(Duration::ZERO),
            rerequest_delay: Mutex::new(Duration::ZERO),
            script: Mutex::new(VecDeque::new()),
            always: Mutex::new(None),
            random: Mutex::new(None),
            rng: Mutex::new(fastrand::Rng::with_seed(7)),
            key: None,
            limit: Mutex::new(None),
            limit_retry_after: Mutex::new("1".into()),
            poison: Mutex::new(None),
            poison_reply: Mutex::new((
                500,
                "The server had an error while processing your request.".into(),
            )),
            max_good_batch: Mutex::new(None),
            echo: std::sync::atomic::AtomicBool::new(false),
            translate: Mutex::new(None),
            misbehaving: Mutex::new(None),
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

    /// A fake whose faults are drawn with generator seed `seed`.
    pub fn seeded(seed: u64) -> Arc<Fake> {
        Arc::new(Fake {
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
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

    /// Answer a share `rate` of requests with a fault drawn from `faults`.
    pub fn set_random(&self, rate: f64, faults: Vec<Fault>) {
        *self.random.lock().unwrap() = Some((rate, faults));
    }

    /// Write each segment's English with `f`.
    pub fn set_translate(&self, f: impl Fn(&Asked) -> String + Send + Sync + 'static) {
        *self.translate.lock().unwrap() = Some(Arc::new(f));
    }

    /// Its OpenAI-compatible handler ([`openai`]).
    pub fn handler(self: &Arc<Self>) -> Handler {
        openai(self.clone())
    }

    /// Every request so far, in arrival order.
    pub fn records(&self) -> Vec<Record> {
        self.log.records()
    }

    /// How many times each Arabic text was received.
    pub fn received(&self) -> HashMap<String, usize> {
        self.log.received()
    }

    pub fn summary(&self) -> LogSummary {
        self.log.summary()
    }

    pub fn clear(&self) {
        self.log.clear()
    }

    /// The English of one segment.
    fn english(&self, asked: &Asked) -> String {
        let f = self.translate.lock().unwrap().clone();
        match f {
            Some(f) => f(asked),
            None => fake_english(&asked.ar),
        }
    }

    /// The protocol's error body for `status`, with the request echoed
    /// when the fake echoes.
    fn error_reply(
        &self,
        error: &(dyn Fn(u16, &str) -> Reply + Sync),
        req: &HttpRequest,
        status: u16,
        message: &str,
    ) -> Reply {
        if !self.echo.load(Ordering::Relaxed) {
            return error(status, message);
        }
        let headers: Vec<String> = req
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        error(
            status,
            &format!(
                "{message}; request headers: {}; request body: {}",
                headers.join(", "),
                req.text()
            ),
        )
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

    /// Whether the server's own limit refuses a request arriving now (one
    /// it does not refuse counts towards the limit).
    fn over_limit(&self) -> bool {
        let Some((max, window)) = *self.limit.lock().unwrap() else {
            return false;
        };
        let now = Instant::now();
        let mut a = self.log.arrivals.lock().unwrap();
        while a.front().is_some_and(|t| now - *t >= window) {
            a.pop_front();
        }
        if a.len() >= max {
            true
        } else {
            a.push_back(now);
            false
        }
    }

    /// The server's rate limit, latency, auth, poison and faults, common to
    /// every protocol, for request `seq` of the log. `presented_key` is
    /// what the client sent; `segments` the texts in the request; `error`
    /// builds the protocol's error reply.
    pub async fn before(
        &self,
        req: &HttpRequest,
        seq: u64,
        presented_key: Option<&str>,
        segments: &[String],
        error: &(dyn Fn(u16, &str) -> Reply + Sync),
    ) -> Verdict {
        let keep = !self.log.discard_bodies.load(Ordering::Relaxed);
        let limited = self.over_limit();
        self.log.update(seq, |r| {
            if keep {
                r.texts = segments.to_vec();
            }
            r.rate_limited = limited;
        });
        if keep {
            self.log
                .segments
                .lock()
                .unwrap()
                .extend(segments.iter().cloned());
        }
        if limited {
            self.log.rejected_429.fetch_add(1, Ordering::SeqCst);
            let after = self.limit_retry_after.lock().unwrap().clone();
            return Verdict::Reply(
                self.error_reply(
                    error,
                    req,
                    429,
                    "Rate limit reached for requests per minute",
                )
                .with_header("retry-after", &after),
            );
        }
        let latency = *self.latency.lock().unwrap()
            + *self.per_segment.lock().unwrap() * segments.len() as u32;
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
        let poison = self.poison.lock().unwrap().clone();
        if let Some(p) = poison
            && segments.iter().any(|s| s.contains(&p))
        {
            let (status, message) = self.poison_reply.lock().unwrap().clone();
            return Verdict::Reply(error(status, &message));
        }
        let fault = self.next_fault();
        self.log.update(seq, |r| r.fault = fault.clone());
        match fault {
            None => Verdict::Answer(None),
            Some(Fault::Slow(d)) => {
                tokio::time::sleep(d).await;
                Verdict::Answer(None)
            }
            Some(Fault::RateLimited(after)) => {
                self.log.rejected_429.fetch_add(1, Ordering::SeqCst);
                let r = self.error_reply(error, req, 429, "Rate limit reached for requests");
                Verdict::Reply(match after {
                    Some(a) => r.with_header("retry-after", a),
                    None => r,
                })
            }
            Some(Fault::RateLimitedMs(ms)) => {
                self.log.rejected_429.fetch_add(1, Ordering::SeqCst);
                Verdict::Reply(
                    self.error_reply(error, req, 429, "Rate limit reached")
                        .with_header("retry-after-ms", ms),
                )
            }
            Some(Fault::Status(s)) => {
                let message = match s {
                    500 => "The server had an error while processing your request.",
                    503 => "The engine is currently overloaded.",
                    _ => "simulated failure",
                };
                Verdict::Reply(self.error_reply(error, req, s, message))
            }
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
    llm_asked(body, messages_key)
        .into_iter()
        .map(|a| (a.id, a.ar))
        .collect()
}

/// The segments of an LLM request's user message, with its system prompt.
pub fn llm_asked(body: &Value, messages_key: &str) -> Vec<Asked> {
    let messages = body[messages_key].as_array();
    let content = |role: &str| {
        messages
            .and_then(|m| m.iter().find(|x| x["role"] == role))
            .and_then(|m| m["content"].as_str())
            .unwrap_or("")
    };
    let system = content("system").to_string();
    let payload: Value = serde_json::from_str(content("user")).unwrap_or(Value::Null);
    payload["segments"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| Asked {
                    id: s["id"].as_str().unwrap_or("").to_string(),
                    ar: s["ar"].as_str().unwrap_or("").to_string(),
                    must_use: s["must_use"]
                        .as_array()
                        .map(|m| {
                            m.iter()
                                .map(|t| t.as_str().unwrap_or("").to_string())
                                .collect()
                        })
                        .unwrap_or_default(),
                    system: system.clone(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The LLM answer content for these segments, with a protocol-level fault
/// or a model's misbehaviour applied, and its `finish_reason`.
fn llm_content(
    fake: &Fake,
    body: &Value,
    asked: &[Asked],
    fault: Option<&Fault>,
) -> (String, &'static str) {
    let misbehaving = fake.misbehaving.lock().unwrap().clone();
    let mut items: Vec<Value> = asked
        .iter()
        .map(|a| {
            let mut en = fake.english(a);
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
            match &misbehaving {
                Some(_) => json!({
                    "id": a.id,
                    "ar_start": misbehaving::first_words(&a.ar),
                    "en": en,
                }),
                None => json!({"id": a.id, "en": en}),
            }
        })
        .collect();
    let over = fake
        .max_good_batch
        .lock()
        .unwrap()
        .is_some_and(|n| asked.len() > n);
    if over || matches!(fault, Some(Fault::WrongCount)) {
        items.pop();
    }
    match misbehaving {
        Some(m) => {
            let segs: Vec<(String, String)> =
                asked.iter().map(|a| (a.id.clone(), a.ar.clone())).collect();
            m.answer(body, &segs, items)
        }
        None => (json!({"translations": items}).to_string(), "stop"),
    }
}

/// `s` cut in half (on a character boundary).
fn half(s: &str) -> &str {
    let mut cut = s.len() / 2;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    &s[..cut]
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

/// A handler over `fake`: each request is logged, answered by `answer`
/// (given the request and its sequence number), and its status recorded.
fn logged<F>(fake: Arc<Fake>, answer: F) -> Handler
where
    F: Fn(Arc<Fake>, HttpRequest, u64) -> BoxFut<Reply> + Send + Sync + 'static,
{
    let answer = Arc::new(answer);
    Arc::new(move |req: HttpRequest| {
        let fake = fake.clone();
        let answer = answer.clone();
        Box::pin(async move {
            let (_in_flight, seq) = fake.log.enter(&req);
            let reply = answer(fake.clone(), req, seq).await;
            fake.log.answered(seq, &reply);
            reply
        })
    })
}

/// The one OpenAI-compatible `/v1/chat/completions` fake.
pub fn openai(fake: Arc<Fake>) -> Handler {
    logged(fake, |fake, req, seq| {
        Box::pin(async move {
            if req.method != "POST" || !req.path.ends_with("/chat/completions") {
                return openai_error(404, &format!("Invalid URL (POST {})", req.path));
            }
            let Some(body) = req.json() else {
                return openai_error(400, "We could not parse the JSON body of your request.");
            };
            let asked = llm_asked(&body, "messages");
            let texts: Vec<String> = asked.iter().map(|a| a.ar.clone()).collect();
            if asked.iter().any(|a| !a.must_use.is_empty()) {
                fake.log.update(seq, |r| r.insist = true);
                let extra = *fake.rerequest_delay.lock().unwrap();
                tokio::time::sleep(extra).await;
            }
            let key = bearer(&req);
            match fake
                .before(&req, seq, key.as_deref(), &texts, &openai_error)
                .await
            {
                Verdict::Reply(r) => r,
                Verdict::Answer(fault) => {
                    let (content, finish) = llm_content(&fake, &body, &asked, fault.as_ref());
                    let answer = json!({
                        "id": "chatcmpl-test", "object": "chat.completion", "created": 1726012687,
                        "model": body["model"], "system_fingerprint": "fp_test",
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}],
                        "usage": {"prompt_tokens": 40, "completion_tokens": 8, "total_tokens": 48}
                    });
                    let s = answer.to_string();
                    if matches!(fault, Some(Fault::Truncated)) {
                        return Reply::raw(200, "application/json", half(&s));
                    }
                    Reply::raw(200, "application/json", s)
                }
            }
        })
    })
}

/// An Ollama native `/api/chat` server.
pub fn ollama(fake: Arc<Fake>) -> Handler {
    logged(fake, |fake, req, seq| {
        Box::pin(async move {
            if req.method != "POST" || req.path != "/api/chat" {
                return Reply::raw(404, "text/plain", "404 page not found");
            }
            let Some(body) = req.json() else {
                return ollama_error(400, "invalid character 'x' looking for beginning of value");
            };
            let asked = llm_asked(&body, "messages");
            let texts: Vec<String> = asked.iter().map(|a| a.ar.clone()).collect();
            let key = bearer(&req);
            match fake
                .before(&req, seq, key.as_deref(), &texts, &ollama_error)
                .await
            {
                Verdict::Reply(r) => r,
                Verdict::Answer(fault) => {
                    let (content, _) = llm_content(&fake, &body, &asked, fault.as_ref());
                    let answer = json!({
                        "model": body["model"], "created_at": "2026-11-29T10:00:00Z",
                        "message": {"role": "assistant", "content": content},
                        "done": true, "done_reason": "stop", "prompt_eval_count": 26, "eval_count": 298
                    });
                    if matches!(fault, Some(Fault::Truncated)) {
                        return Reply::raw(200, "application/json", half(&answer.to_string()));
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
    logged(fake, |fake, req, seq| {
        Box::pin(async move {
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
            match fake.before(&req, seq, key.as_deref(), &texts, &error).await {
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
                        return Reply::raw(200, "application/json", half(&answer.to_string()));
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
