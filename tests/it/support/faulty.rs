//! A fault-injecting OpenAI-compatible server for the resilience tests and
//! the pipeline benchmark (`tests/bench/pipeline.rs` includes the whole
//! support module with `#[path]`).
//!
//! It answers `POST …/chat/completions` like [`super::openai`], after a
//! configurable latency, with deterministic translations
//! ([`super::fake_english`]: no Arabic letter left, same text for the same
//! Arabic) so that the outputs of two runs can be compared. On top of that:
//! - a rate limit (at most `max` requests arriving in any `window`;
//!   beyond it a 429 with `Retry-After`), like a hosted API's quota;
//! - a share of requests answered with a fault drawn from a list of
//!   [`FaultKind`]s, with a seeded generator;
//! - optionally, error bodies that echo the request's headers and body, as
//!   some proxies do (to prove the client never shows them to the user);
//! - a log of every request: the Arabic texts it carried (each segment's
//!   identity, since the LLM protocol numbers segments per request), the
//!   status returned (0 for a dropped connection), and the fault, if any.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Handler, HttpRequest, Reply, fake_english, llm_segments};

/// The ways a request can go wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// 429 with `Retry-After` (the server's `retry_after` seconds).
    RateLimitedRetryAfter,
    /// 429 with no hint.
    RateLimitedBare,
    Status500,
    Status503,
    /// A good answer, but only after `slow` (past the client's timeout).
    Slow,
    /// The connection closed without an answer.
    Drop,
    /// 502 with an HTML page, as a proxy sends.
    Html,
    /// 200 whose JSON body is cut in half.
    TruncatedJson,
    /// A well-formed answer with one translation too few.
    WrongCount,
}

impl FaultKind {
    pub const ALL: [FaultKind; 9] = [
        FaultKind::RateLimitedRetryAfter,
        FaultKind::RateLimitedBare,
        FaultKind::Status500,
        FaultKind::Status503,
        FaultKind::Slow,
        FaultKind::Drop,
        FaultKind::Html,
        FaultKind::TruncatedJson,
        FaultKind::WrongCount,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::RateLimitedRetryAfter => "429+retry-after",
            FaultKind::RateLimitedBare => "429",
            FaultKind::Status500 => "500",
            FaultKind::Status503 => "503",
            FaultKind::Slow => "slow",
            FaultKind::Drop => "drop",
            FaultKind::Html => "html",
            FaultKind::TruncatedJson => "truncated",
            FaultKind::WrongCount => "wrong-count",
        }
    }
}

/// A server-side request limit: at most `max` requests arriving in any
/// `window`.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub max: usize,
    pub window: Duration,
}

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct FaultyConfig {
    /// Time before every answer.
    pub latency: Duration,
    pub rate_limit: Option<RateLimit>,
    /// Share of requests (0..=1) answered with a fault.
    pub fault_rate: f64,
    /// The faults drawn from (uniformly).
    pub faults: Vec<FaultKind>,
    /// How long a [`FaultKind::Slow`] answer takes.
    pub slow: Duration,
    /// `Retry-After` seconds sent with 429s that carry one.
    pub retry_after_secs: u32,
    /// Seed of the fault generator.
    pub seed: u64,
    /// Error bodies echo the request's headers and body.
    pub echo: bool,
    /// Do not keep every request's texts (the benchmark's many requests).
    pub log_texts: bool,
}

impl Default for FaultyConfig {
    fn default() -> Self {
        FaultyConfig {
            latency: Duration::ZERO,
            rate_limit: None,
            fault_rate: 0.0,
            faults: FaultKind::ALL.to_vec(),
            slow: Duration::from_secs(2),
            retry_after_secs: 1,
            seed: 7,
            echo: false,
            log_texts: true,
        }
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Record {
    /// Arrival order, from 0.
    pub seq: u64,
    /// The Arabic texts of the segments it carried, in order.
    pub texts: Vec<String>,
    /// The status answered; 0 when the connection was dropped.
    pub status: u16,
    /// The injected fault, if any.
    pub fault: Option<FaultKind>,
    /// Refused by the server's rate limit.
    pub rate_limited: bool,
    pub arrived: Instant,
    /// The `Authorization` header as received.
    pub authorization: Option<String>,
    /// When the answer was written (or the connection dropped); `None`
    /// while the request is in flight.
    pub answered: Option<Instant>,
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
    /// Faults by kind.
    pub by_kind: Vec<(FaultKind, u64)>,
    pub max_in_flight: i64,
}

/// The server's state; share it with the test through an `Arc`.
pub struct Faulty {
    pub cfg: FaultyConfig,
    rng: Mutex<fastrand::Rng>,
    arrivals: Mutex<VecDeque<Instant>>,
    records: Mutex<Vec<Record>>,
    in_flight: AtomicI64,
    max_in_flight: AtomicI64,
}

struct InFlight<'a>(&'a Faulty);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

const HTML_PAGE: &str = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";

impl Faulty {
    pub fn new(cfg: FaultyConfig) -> Arc<Faulty> {
        Arc::new(Faulty {
            rng: Mutex::new(fastrand::Rng::with_seed(cfg.seed)),
            cfg,
            arrivals: Mutex::new(VecDeque::new()),
            records: Mutex::new(Vec::new()),
            in_flight: AtomicI64::new(0),
            max_in_flight: AtomicI64::new(0),
        })
    }

    /// The translation the server gives for `ar`.
    pub fn translation(ar: &str) -> String {
        fake_english(ar)
    }

    /// Every request so far, in arrival order.
    pub fn records(&self) -> Vec<Record> {
        let mut r = self.records.lock().unwrap().clone();
        r.sort_by_key(|x| x.seq);
        r
    }

    pub fn clear(&self) {
        self.records.lock().unwrap().clear();
        self.arrivals.lock().unwrap().clear();
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

    pub fn summary(&self) -> LogSummary {
        let records = self.records();
        let mut seen: HashSet<Vec<String>> = HashSet::new();
        let mut s = LogSummary {
            max_in_flight: self.max_in_flight.load(Ordering::SeqCst),
            ..LogSummary::default()
        };
        let mut kinds: HashMap<FaultKind, u64> = HashMap::new();
        for r in &records {
            s.requests += 1;
            if let Some(k) = r.fault {
                s.faults += 1;
                *kinds.entry(k).or_insert(0) += 1;
            }
            if r.rate_limited {
                s.rate_limited += 1;
            }
            if !r.texts.is_empty() && !seen.insert(r.texts.clone()) {
                s.resent += 1;
            }
        }
        s.by_kind = FaultKind::ALL
            .iter()
            .filter_map(|k| kinds.get(k).map(|n| (*k, *n)))
            .collect();
        s
    }

    /// The request handler, for [`super::serve`] or
    /// [`super::serve_in_background`].
    pub fn handler(self: &Arc<Self>) -> Handler {
        let me = self.clone();
        Arc::new(move |req: HttpRequest| {
            let me = me.clone();
            Box::pin(async move { me.answer(req).await })
        })
    }

    fn error(&self, status: u16, message: &str, req: &HttpRequest) -> Reply {
        let mut message = message.to_string();
        if self.cfg.echo {
            let headers: Vec<String> = req
                .headers
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            message = format!(
                "{message}; request headers: {}; request body: {}",
                headers.join(", "),
                req.text()
            );
        }
        super::openai_error(status, &message)
    }

    async fn answer(&self, req: HttpRequest) -> Reply {
        let arrived = Instant::now();
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let _guard = InFlight(self);
        let body = req.json();
        let segs = body
            .as_ref()
            .map(|b| llm_segments(b, "messages"))
            .unwrap_or_default();
        let (seq, rate_limited, fault) = {
            // One lock for the arrival order, the limit and the draw, so
            // that the log's order is the order of these decisions.
            let mut records = self.records.lock().unwrap();
            let seq = records.len() as u64;
            let limited = match self.cfg.rate_limit {
                Some(l) => {
                    let mut a = self.arrivals.lock().unwrap();
                    while a.front().is_some_and(|t| arrived - *t >= l.window) {
                        a.pop_front();
                    }
                    if a.len() >= l.max {
                        true
                    } else {
                        a.push_back(arrived);
                        false
                    }
                }
                None => false,
            };
            let fault = if limited || self.cfg.faults.is_empty() || self.cfg.fault_rate <= 0.0 {
                None
            } else {
                let mut rng = self.rng.lock().unwrap();
                (rng.f64() < self.cfg.fault_rate)
                    .then(|| self.cfg.faults[rng.usize(..self.cfg.faults.len())])
            };
            let texts = if self.cfg.log_texts {
                segs.iter().map(|(_, a)| a.clone()).collect()
            } else {
                Vec::new()
            };
            records.push(Record {
                seq,
                texts,
                status: 0,
                fault,
                rate_limited: limited,
                arrived,
                authorization: req.header("authorization").map(str::to_string),
                answered: None,
            });
            (seq, limited, fault)
        };
        let reply = self.reply(&req, body, &segs, rate_limited, fault).await;
        let status = match &reply {
            Reply::Full { status, .. } | Reply::CutShort { status, .. } => *status,
            Reply::Drop => 0,
        };
        if let Some(r) = self
            .records
            .lock()
            .unwrap()
            .iter_mut()
            .rev()
            .find(|r| r.seq == seq)
        {
            r.status = status;
            r.answered = Some(Instant::now());
        }
        reply
    }

    async fn reply(
        &self,
        req: &HttpRequest,
        body: Option<Value>,
        segs: &[(String, String)],
        rate_limited: bool,
        fault: Option<FaultKind>,
    ) -> Reply {
        if req.method != "POST" || !req.path.ends_with("/chat/completions") {
            return self.error(404, &format!("Invalid URL (POST {})", req.path), req);
        }
        let Some(body) = body else {
            return self.error(
                400,
                "We could not parse the JSON body of your request.",
                req,
            );
        };
        if rate_limited {
            return self
                .error(429, "Rate limit reached for requests per minute", req)
                .with_header("retry-after", &self.cfg.retry_after_secs.to_string());
        }
        if !self.cfg.latency.is_zero() {
            tokio::time::sleep(self.cfg.latency).await;
        }
        match fault {
            Some(FaultKind::RateLimitedRetryAfter) => {
                return self
                    .error(429, "Rate limit reached for requests", req)
                    .with_header("retry-after", &self.cfg.retry_after_secs.to_string());
            }
            Some(FaultKind::RateLimitedBare) => {
                return self.error(429, "Rate limit reached for requests", req);
            }
            Some(FaultKind::Status500) => {
                return self.error(
                    500,
                    "The server had an error while processing your request.",
                    req,
                );
            }
            Some(FaultKind::Status503) => {
                return self.error(503, "The engine is currently overloaded.", req);
            }
            Some(FaultKind::Slow) => tokio::time::sleep(self.cfg.slow).await,
            Some(FaultKind::Drop) => return Reply::Drop,
            Some(FaultKind::Html) => return Reply::raw(502, "text/html", HTML_PAGE),
            Some(FaultKind::TruncatedJson | FaultKind::WrongCount) | None => {}
        }
        let mut items: Vec<Value> = segs
            .iter()
            .map(|(id, ar)| json!({"id": id, "en": fake_english(ar)}))
            .collect();
        if fault == Some(FaultKind::WrongCount) {
            items.pop();
        }
        let content = json!({ "translations": items }).to_string();
        let answer = json!({
            "id": "chatcmpl-faulty", "object": "chat.completion", "created": 1726012687,
            "model": body["model"], "system_fingerprint": "fp_faulty",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 40, "completion_tokens": 8, "total_tokens": 48}
        });
        let s = answer.to_string();
        if fault == Some(FaultKind::TruncatedJson) {
            let mut cut = s.len() / 2;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            return Reply::raw(200, "application/json", &s[..cut]);
        }
        Reply::raw(200, "application/json", s)
    }
}
