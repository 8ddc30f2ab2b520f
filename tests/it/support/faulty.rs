//! The fault-injecting configuration of the one fake ([`super::Fake`] with
//! [`super::openai`]), by name, for the resilience and secrets tests and the
//! pipeline benchmark (`tests/bench/pipeline.rs` includes the whole support
//! module with `#[path]` and starts its server with [`Faulty::new`]). It
//! only names a set of the fake's knobs:
//! - a latency before every answer;
//! - a rate limit (at most `max` requests arriving in any `window`; beyond
//!   it a 429 with `Retry-After`), like a hosted API's quota;
//! - a share of requests answered with a fault drawn from a list of
//!   [`FaultKind`]s, with a seeded generator;
//! - optionally, error bodies that echo the request's headers and body;
//! - the fake's log of every request ([`super::Record`]).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{Fake, Fault, fake_english};

/// The ways a request can go wrong, as [`Fault`]s without their
/// parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// 429 with `Retry-After` (the config's `retry_after_secs`).
    RateLimitedRetryAfter,
    /// 429 with no hint.
    RateLimitedBare,
    Status500,
    Status503,
    /// A good answer, but only after the config's `slow`.
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

    /// The fault, with the config's parameters.
    pub fn fault(self, cfg: &FaultyConfig) -> Fault {
        match self {
            FaultKind::RateLimitedRetryAfter => Fault::RateLimited(Some(
                // A handful of small values; leaked once per server.
                Box::leak(cfg.retry_after_secs.to_string().into_boxed_str()),
            )),
            FaultKind::RateLimitedBare => Fault::RateLimited(None),
            FaultKind::Status500 => Fault::Status(500),
            FaultKind::Status503 => Fault::Status(503),
            FaultKind::Slow => Fault::Slow(cfg.slow),
            FaultKind::Drop => Fault::Drop,
            FaultKind::Html => Fault::Html,
            FaultKind::TruncatedJson => Fault::Truncated,
            FaultKind::WrongCount => Fault::WrongCount,
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
    /// Keep every request's texts and body (off: counts and times only).
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

/// Builds the fake a [`FaultyConfig`] describes.
pub struct Faulty;

impl Faulty {
    /// The one fake, set up as `cfg` says.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(cfg: FaultyConfig) -> Arc<Fake> {
        let fake = Fake::seeded(cfg.seed);
        fake.set_latency(cfg.latency);
        *fake.limit.lock().unwrap() = cfg.rate_limit.map(|l| (l.max, l.window));
        *fake.limit_retry_after.lock().unwrap() = cfg.retry_after_secs.to_string();
        if cfg.fault_rate > 0.0 && !cfg.faults.is_empty() {
            let faults = cfg.faults.iter().map(|k| k.fault(&cfg)).collect();
            fake.set_random(cfg.fault_rate, faults);
        }
        fake.echo.store(cfg.echo, Ordering::Relaxed);
        fake.log
            .discard_bodies
            .store(!cfg.log_texts, Ordering::Relaxed);
        fake
    }

    /// The translation the server gives for `ar`.
    pub fn translation(ar: &str) -> String {
        fake_english(ar)
    }
}
