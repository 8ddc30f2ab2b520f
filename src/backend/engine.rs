/*!
The engine: how a list of requests becomes translations through one
backend, whatever its protocol. It cuts the work into batches within the
backend's limits, keeps at most `concurrency` requests in flight, paces
them to `requests_per_minute`, applies the per-request timeout (which grows
with the batch's size in characters), retries what the backend marks
retryable (exponential backoff with jitter, or the wait the server asked
for, capped), never retries what is final and stops the run on an error no
other batch can escape (key, quota, unknown model or URL), keeps the good
segments of an answer read segment by segment and sends only the bad ones
again, each alone, splits a batch whose answer was unusable as a whole or
that timed out down to single segments, counts
only requests that reached the server, and reports each batch
as soon as it is done, so that the caller can store it before the next one
arrives. A batch that still fails does not stop the others: its segments
come back as failed with the reason.
*/

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;

use super::ratelimit::{Gate, RateLimiter};
use super::{Backend, BackendError, BatchLimits, ErrorKind};
use crate::config::BackendConfig;
use crate::model::Request;

/// Retries of a single segment whose answer was unusable after its batch
/// was split down to it: one, with the problem named in the prompt, so
/// that a model that fails the same way every time costs one different
/// request, not several identical ones. A segment sent again alone because
/// its own answer in a batch was bad already names the problem: that
/// request is its one different retry.
pub const BAD_ANSWER_RETRIES: u32 = 1;

/// Retries of a segment that timed out again after its batch was split for
/// a timeout: none (its timeout already allows for its length, and a rerun
/// tries again), which bounds the time one failing batch can take.
pub const TIMEOUT_RETRIES_AFTER_SPLIT: u32 = 0;

/// How the engine drives a backend.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineOptions {
    /// Requests in flight at most (≥ 1).
    pub concurrency: usize,
    /// Requests started in any minute at most.
    pub requests_per_minute: Option<u32>,
    /// Retries of one batch after its first attempt.
    pub max_retries: u32,
    /// Time allowed for one request, before `timeout_per_char`; `None`
    /// leaves it to the backend.
    pub timeout: Option<Duration>,
    /// Added to `timeout` for each character of the batch.
    pub timeout_per_char: Duration,
    /// The first backoff; doubled on each retry.
    pub backoff_base: Duration,
    /// The longest wait between attempts, Retry-After included.
    pub backoff_max: Duration,
    /// Split a batch whose answer was unusable, that was refused as
    /// malformed, or that timed out, into halves, down to single segments.
    pub split_on_bad_response: bool,
}

impl EngineOptions {
    /// The time allowed for one request carrying `chars` characters.
    pub fn timeout_for(&self, chars: usize) -> Option<Duration> {
        self.timeout
            .map(|t| t + self.timeout_per_char.mul_f64(chars as f64))
    }
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            concurrency: 4,
            requests_per_minute: None,
            max_retries: crate::config::defaults::MAX_RETRIES,
            timeout: None,
            timeout_per_char: Duration::ZERO,
            backoff_base: Duration::from_millis(crate::config::defaults::RETRY_BASE_MS),
            backoff_max: Duration::from_secs_f64(crate::config::defaults::RETRY_MAX_SECS),
            split_on_bad_response: true,
        }
    }
}

impl EngineOptions {
    /// The options a backend table asks for (defaults filled in).
    pub fn from_config(cfg: &BackendConfig) -> EngineOptions {
        EngineOptions {
            concurrency: cfg.concurrency_or_default().max(1),
            requests_per_minute: cfg.requests_per_minute,
            max_retries: cfg.max_retries_or_default(),
            timeout: Some(cfg.timeout()),
            timeout_per_char: cfg.timeout_per_char(),
            backoff_base: cfg.retry_base(),
            backoff_max: cfg.retry_max(),
            split_on_bad_response: true,
        }
    }
}

/// Stops a run from sending new requests. Clones share the same state.
#[derive(Debug, Clone)]
pub struct CancelToken {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for CancelToken {
    fn default() -> Self {
        CancelToken::new()
    }
}

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken {
            tx: Arc::new(watch::Sender::new(false)),
        }
    }

    pub fn cancel(&self) {
        self.tx.send_replace(true);
    }

    pub fn is_cancelled(&self) -> bool {
        *self.tx.borrow()
    }

    /// Resolves once [`CancelToken::cancel`] has been called.
    pub async fn cancelled(&self) {
        let mut rx = self.tx.subscribe();
        let _ = rx.wait_for(|c| *c).await;
    }
}

/// One finished request: its segments, each with its English or the error.
#[derive(Debug, Clone)]
pub struct BatchOutcome {
    pub results: Vec<(String, Result<String, BackendError>)>,
    /// What the run spent since the outcome before this one (requests,
    /// retries, characters, stray ids): the outcomes of a run add up to its
    /// [`EngineStats`], less what was spent on segments never answered.
    pub spent: Spent,
}

/// Requests, answers, retries, characters and stray ids, as counted by a
/// run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spent {
    pub requests: u64,
    pub answered: u64,
    pub retries: u64,
    pub chars_sent: u64,
    pub stray_ids: u64,
}

impl Spent {
    fn of(c: &Progress) -> Spent {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Spent {
            requests: get(&c.requests),
            answered: get(&c.answered),
            retries: get(&c.retries),
            chars_sent: get(&c.chars_sent),
            stray_ids: get(&c.stray_ids),
        }
    }

    fn minus(self, o: Spent) -> Spent {
        Spent {
            requests: self.requests.saturating_sub(o.requests),
            answered: self.answered.saturating_sub(o.answered),
            retries: self.retries.saturating_sub(o.retries),
            chars_sent: self.chars_sent.saturating_sub(o.chars_sent),
            stray_ids: self.stray_ids.saturating_sub(o.stray_ids),
        }
    }
}

/// How long a part-full batch waits for more requests of a stream when a
/// request slot is free and the producer has not said [`Feed::Flush`]: a
/// safety net for a producer that stalls (a slow disk, a page fetched).
pub const STREAM_LINGER: Duration = Duration::from_millis(50);

/// What a stream's producer feeds [`Engine::run_stream`].
#[derive(Debug, Clone)]
pub enum Feed {
    Request(Request),
    /// Nothing more comes until answers arrive: send a part-full batch now.
    Flush,
}

/// Live counters, shared with a progress display. Cumulative over the
/// engine's life; a run's own figures are in its [`EngineStats`].
#[derive(Debug, Default)]
pub struct Progress {
    /// HTTP requests started (retries included).
    pub requests: AtomicU64,
    /// Requests the server answered (any HTTP status), as opposed to those
    /// that timed out or lost their connection.
    pub answered: AtomicU64,
    /// Requests sent again after a retryable failure.
    pub retries: AtomicU64,
    /// Characters of source text sent (retries included).
    pub chars_sent: AtomicU64,
    /// Segments translated.
    pub translated: AtomicU64,
    /// Segments that failed for good.
    pub failed: AtomicU64,
    /// Batches split in halves after an unusable answer.
    pub splits: AtomicU64,
    /// Answers that said "slow down" (429 and the like).
    pub rate_limited: AtomicU64,
    /// Segments not sent because the run was cancelled.
    pub not_sent: AtomicU64,
    /// Requests in flight now.
    pub in_flight: AtomicU64,
    /// Answer entries for ids that were not asked for (ignored).
    pub stray_ids: AtomicU64,
    /// Segments whose own answer in a batch was bad, sent again alone.
    pub resent_alone: AtomicU64,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineStats {
    pub requests: u64,
    /// Requests the server answered (any HTTP status).
    pub answered: u64,
    pub retries: u64,
    pub chars_sent: u64,
    /// Segments that failed for good.
    pub failed: u64,
    pub splits: u64,
    /// Segments translated.
    pub translated: u64,
    /// Batches planned from the input.
    pub batches: u64,
    pub rate_limited: u64,
    /// Segments never sent because the run was cancelled.
    pub not_sent: u64,
    /// Answer entries for ids that were not asked for (ignored).
    pub stray_ids: u64,
    /// Segments whose own answer in a batch was bad, sent again alone.
    pub resent_alone: u64,
    pub elapsed: Duration,
}

/// Cut `requests` into consecutive batches within `limits`. A request
/// that alone exceeds the character or byte limit gets a batch of its own
/// (the engine fails it without sending).
pub fn plan(requests: &[Request], limits: BatchLimits) -> Vec<Range<usize>> {
    let max_items = limits.max_items.max(1);
    let mut out = Vec::new();
    let mut start = 0;
    let (mut chars, mut bytes) = (0usize, 0usize);
    for (i, r) in requests.iter().enumerate() {
        let c = r.text.chars().count();
        let b = r.text.len();
        let n = i - start;
        let over = n >= max_items
            || limits.max_chars.is_some_and(|m| chars + c > m)
            || limits.max_bytes.is_some_and(|m| bytes + b > m);
        if n > 0 && over {
            out.push(start..i);
            start = i;
            chars = 0;
            bytes = 0;
        }
        chars += c;
        bytes += b;
    }
    if start < requests.len() {
        out.push(start..requests.len());
    }
    out
}

/// Drives one backend.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Arc<dyn Backend>,
    opts: EngineOptions,
    sem: Arc<Semaphore>,
    limiter: Option<RateLimiter>,
    gate: Gate,
    progress: Arc<Progress>,
}

/// Per-run state shared by the batch tasks.
struct Run {
    counters: Progress,
    tx: mpsc::UnboundedSender<BatchOutcome>,
    cancel: CancelToken,
    /// What the outcomes sent so far carried.
    reported: std::sync::Mutex<Spent>,
}

impl Run {
    fn new(tx: mpsc::UnboundedSender<BatchOutcome>, cancel: CancelToken) -> Arc<Run> {
        Arc::new(Run {
            counters: Progress::default(),
            tx,
            cancel,
            reported: std::sync::Mutex::default(),
        })
    }

    fn stats(&self, batches: u64, elapsed: Duration) -> EngineStats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        EngineStats {
            requests: get(&c.requests),
            answered: get(&c.answered),
            retries: get(&c.retries),
            chars_sent: get(&c.chars_sent),
            failed: get(&c.failed),
            splits: get(&c.splits),
            translated: get(&c.translated),
            batches,
            rate_limited: get(&c.rate_limited),
            not_sent: get(&c.not_sent),
            stray_ids: get(&c.stray_ids),
            resent_alone: get(&c.resent_alone),
            elapsed,
        }
    }
}

impl Engine {
    pub fn new(backend: Arc<dyn Backend>, opts: EngineOptions) -> Engine {
        let concurrency = opts.concurrency.max(1);
        Engine {
            inner: Arc::new(Inner {
                backend,
                limiter: opts.requests_per_minute.map(RateLimiter::per_minute),
                sem: Arc::new(Semaphore::new(concurrency)),
                gate: Gate::default(),
                progress: Arc::new(Progress::default()),
                opts,
            }),
        }
    }

    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.inner.backend
    }

    pub fn options(&self) -> &EngineOptions {
        &self.inner.opts
    }

    /// Live counters for a progress display.
    pub fn progress(&self) -> Arc<Progress> {
        self.inner.progress.clone()
    }

    /// The batches `requests` would be sent in (for dry runs and estimates).
    pub fn plan(&self, requests: &[Request]) -> Vec<Range<usize>> {
        plan(requests, self.inner.backend.limits())
    }

    /// Sends each finished batch on `tx` as soon as it arrives (completion
    /// order). Stops sending new requests when `cancel` is cancelled, waits
    /// for those in flight, and returns the run's statistics. Segments that
    /// were never sent get no outcome (they count in `not_sent`).
    pub async fn run(
        &self,
        requests: Vec<Request>,
        tx: mpsc::UnboundedSender<BatchOutcome>,
        cancel: CancelToken,
    ) -> EngineStats {
        let started = tokio::time::Instant::now();
        let ranges = self.plan(&requests);
        let run = Run::new(tx, cancel);
        let mut set = JoinSet::new();
        let mut rest = requests;
        let mut batches = Vec::with_capacity(ranges.len());
        for r in ranges.iter().rev() {
            batches.push(rest.split_off(r.start));
        }
        batches.reverse();
        let n_batches = batches.len() as u64;
        let mut pending = batches.into_iter();
        // Hand out permits in input order: a batch is spawned only when it
        // can be sent, which also bounds the number of live tasks.
        for batch in pending.by_ref() {
            let permit = tokio::select! {
                p = self.inner.sem.clone().acquire_owned() => p.ok(),
                _ = run.cancel.cancelled() => None,
            };
            let Some(permit) = permit else {
                self.count(&run, |c| &c.not_sent, batch.len() as u64);
                break;
            };
            let inner = self.clone();
            let run2 = run.clone();
            set.spawn(async move { inner.process(batch, Some(permit), &run2, false).await });
        }
        for batch in pending {
            self.count(&run, |c| &c.not_sent, batch.len() as u64);
        }
        while set.join_next().await.is_some() {}
        run.stats(n_batches, started.elapsed())
    }

    /// Like [`Engine::run`], for requests that arrive on `input` while the
    /// run goes on (a whole job's documents, and the re-requests their
    /// answers call for). Batches are filled from whatever has arrived, in
    /// order and within the backend's limits, whichever document it comes
    /// from; a part-full batch is sent only when a request slot is free and
    /// nothing more has arrived for [`STREAM_LINGER`]. The run ends when
    /// `input` is closed and every batch sent is answered, or, after
    /// `cancel`, when those in flight are.
    pub async fn run_stream(
        &self,
        mut input: mpsc::UnboundedReceiver<Feed>,
        tx: mpsc::UnboundedSender<BatchOutcome>,
        cancel: CancelToken,
    ) -> EngineStats {
        let started = tokio::time::Instant::now();
        let limits = self.inner.backend.limits();
        let max_items = limits.max_items.max(1);
        let run = Run::new(tx, cancel);
        let mut set = JoinSet::new();
        let mut batch: Vec<Request> = Vec::new();
        // A request that did not fit in `batch`: the first of the next one.
        let mut held: Option<Request> = None;
        let (mut chars, mut bytes) = (0usize, 0usize);
        let mut closed = false;
        let mut n_batches = 0u64;
        // Adds `r` to the batch, or holds it when it would overflow it;
        // whether the batch is full.
        let add = |r: Request,
                   batch: &mut Vec<Request>,
                   held: &mut Option<Request>,
                   chars: &mut usize,
                   bytes: &mut usize| {
            let c = r.text.chars().count();
            let b = r.text.len();
            let over = batch.len() >= max_items
                || limits.max_chars.is_some_and(|m| *chars + c > m)
                || limits.max_bytes.is_some_and(|m| *bytes + b > m);
            if !batch.is_empty() && over {
                *held = Some(r);
            } else {
                *chars += c;
                *bytes += b;
                batch.push(r);
            }
        };
        let full = |batch: &Vec<Request>, held: &Option<Request>| {
            held.is_some() || batch.len() >= max_items
        };
        'run: loop {
            while set.try_join_next().is_some() {}
            if batch.is_empty()
                && let Some(r) = held.take()
            {
                add(r, &mut batch, &mut held, &mut chars, &mut bytes);
            }
            let mut flush = false;
            while !full(&batch, &held) && !closed {
                match input.try_recv() {
                    Ok(Feed::Request(r)) => add(r, &mut batch, &mut held, &mut chars, &mut bytes),
                    Ok(Feed::Flush) => {
                        flush = true;
                        break;
                    }
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => closed = true,
                }
            }
            if batch.is_empty() {
                if closed {
                    break;
                }
                tokio::select! {
                    r = input.recv() => match r {
                        Some(Feed::Request(r)) => add(r, &mut batch, &mut held, &mut chars, &mut bytes),
                        Some(Feed::Flush) => {}
                        None => closed = true,
                    },
                    _ = run.cancel.cancelled() => break 'run,
                }
                continue;
            }
            if !full(&batch, &held) && !closed && !flush {
                // Part-full: more may come.
                tokio::select! {
                    r = input.recv() => {
                        match r {
                            Some(Feed::Request(r)) => add(r, &mut batch, &mut held, &mut chars, &mut bytes),
                            Some(Feed::Flush) => flush = true,
                            None => closed = true,
                        }
                        if !flush {
                            continue;
                        }
                    }
                    _ = tokio::time::sleep(STREAM_LINGER) => {}
                    _ = run.cancel.cancelled() => break 'run,
                }
            }
            // A slot for it; what arrives meanwhile still joins the batch.
            let permit = loop {
                let open = !full(&batch, &held) && !closed;
                tokio::select! {
                    p = self.inner.sem.clone().acquire_owned() => break p.ok(),
                    r = input.recv(), if open => match r {
                        Some(Feed::Request(r)) => add(r, &mut batch, &mut held, &mut chars, &mut bytes),
                        Some(Feed::Flush) => {}
                        None => closed = true,
                    },
                    _ = run.cancel.cancelled() => break None,
                }
            };
            let Some(permit) = permit else { break };
            let send = std::mem::take(&mut batch);
            chars = 0;
            bytes = 0;
            n_batches += 1;
            let inner = self.clone();
            let run2 = run.clone();
            set.spawn(async move { inner.process(send, Some(permit), &run2, false).await });
        }
        // Cancelled: what was not sent is counted, in flight is awaited.
        let mut left = batch.len() as u64 + u64::from(held.is_some());
        input.close();
        while let Ok(f) = input.try_recv() {
            left += u64::from(matches!(f, Feed::Request(_)));
        }
        self.count(&run, |c| &c.not_sent, left);
        while set.join_next().await.is_some() {}
        run.stats(n_batches, started.elapsed())
    }

    /// Everything, in input order. Request ids must be unique.
    pub async fn translate_all(
        &self,
        requests: Vec<Request>,
    ) -> (Vec<Result<String, BackendError>>, EngineStats) {
        let mut slots: HashMap<String, VecDeque<usize>> = HashMap::new();
        for (i, r) in requests.iter().enumerate() {
            slots.entry(r.id.clone()).or_default().push_back(i);
        }
        let n = requests.len();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let stats = self.run(requests, tx, CancelToken::new()).await;
        let mut out: Vec<Option<Result<String, BackendError>>> = vec![None; n];
        while let Ok(outcome) = rx.try_recv() {
            for (id, res) in outcome.results {
                if let Some(i) = slots.get_mut(&id).and_then(VecDeque::pop_front) {
                    out[i] = Some(res);
                }
            }
        }
        let name = self.inner.backend.name().to_string();
        let out = out
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(BackendError::new(
                        ErrorKind::BadRequest,
                        format!("{name}: segment was not sent"),
                    ))
                })
            })
            .collect();
        (out, stats)
    }

    fn count(&self, run: &Run, field: fn(&Progress) -> &AtomicU64, n: u64) {
        field(&run.counters).fetch_add(n, Ordering::Relaxed);
        field(&self.inner.progress).fetch_add(n, Ordering::Relaxed);
    }

    /// The wait before retry number `attempt` (1-based).
    fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let o = &self.inner.opts;
        match retry_after {
            Some(ra) => {
                // What the server asked for, capped, plus up to 10% so that
                // waiting batches do not all come back at the same instant.
                let ra = ra.min(o.backoff_max);
                ra + ra.mul_f64(0.1 * fastrand::f64())
            }
            None => {
                let exp = o
                    .backoff_base
                    .saturating_mul(1u32 << (attempt.saturating_sub(1)).min(20))
                    .min(o.backoff_max);
                // ±25% jitter.
                exp.mul_f64(0.75 + 0.5 * fastrand::f64())
            }
        }
    }

    fn finish(&self, run: &Run, batch: &[Request], result: Result<Vec<String>, BackendError>) {
        let results = match result {
            Ok(english) => {
                self.count(run, |c| &c.translated, batch.len() as u64);
                batch
                    .iter()
                    .map(|r| r.id.clone())
                    .zip(english.into_iter().map(Ok))
                    .collect()
            }
            Err(e) => {
                self.count(run, |c| &c.failed, batch.len() as u64);
                batch
                    .iter()
                    .map(|r| (r.id.clone(), Err(e.clone())))
                    .collect()
            }
        };
        let spent = {
            let mut reported = run.reported.lock().unwrap_or_else(|e| e.into_inner());
            let now = Spent::of(&run.counters);
            let spent = now.minus(*reported);
            *reported = now;
            spent
        };
        let _ = run.tx.send(BatchOutcome { results, spent });
    }

    /// Send one batch until it succeeds, fails for good, or is split.
    /// `after_timeout`: the batch is a part of one that timed out.
    fn process<'a>(
        &'a self,
        mut batch: Vec<Request>,
        mut permit: Option<tokio::sync::OwnedSemaphorePermit>,
        run: &'a Run,
        after_timeout: bool,
    ) -> super::BoxFuture<'a, ()> {
        Box::pin(async move {
            let inner = &self.inner;
            let backend = &inner.backend;
            if let Some(e) = self.too_long(&batch) {
                self.finish(run, &batch, Err(e));
                return;
            }
            let mut retries = 0u32;
            loop {
                if run.cancel.is_cancelled() {
                    self.count(run, |c| &c.not_sent, batch.len() as u64);
                    return;
                }
                let ready = async {
                    let p = match permit.take() {
                        Some(p) => p,
                        None => inner.sem.clone().acquire_owned().await.ok()?,
                    };
                    inner.gate.wait().await;
                    if let Some(l) = &inner.limiter {
                        l.until_ready().await;
                    }
                    Some(p)
                };
                let p = tokio::select! {
                    p = ready => p,
                    _ = run.cancel.cancelled() => None,
                };
                let Some(p) = p else {
                    self.count(run, |c| &c.not_sent, batch.len() as u64);
                    return;
                };
                let chars: usize = batch.iter().map(|r| r.text.chars().count()).sum();
                inner.progress.in_flight.fetch_add(1, Ordering::Relaxed);
                let call = backend.translate_each(&batch);
                let result = match inner.opts.timeout_for(chars) {
                    Some(t) => tokio::time::timeout(t, call).await.unwrap_or_else(|_| {
                        Err(BackendError::new(
                            ErrorKind::Timeout,
                            format!(
                                "{}: no answer from {} within {:.1}s for {} segment(s) of {chars} characters; raise timeout_secs or timeout_ms_per_char, or check the server",
                                backend.name(),
                                backend.endpoint(),
                                t.as_secs_f64(),
                                batch.len()
                            ),
                        ))
                    }),
                    None => call.await,
                };
                inner.progress.in_flight.fetch_sub(1, Ordering::Relaxed);
                // What a rerun cannot fix stops the run: every other batch
                // would meet the same key, account, URL or model. Cancelled
                // before the permit is released, so that no batch waiting
                // for it is sent.
                if let Err(e) = &result
                    && e.is_fatal()
                    && e.kind != ErrorKind::BadRequest
                {
                    run.cancel.cancel();
                }
                drop(p);
                // Only what reached the server counts as sent.
                if result.as_ref().map_or_else(|e| e.sent, |_| true) {
                    self.count(run, |c| &c.requests, 1);
                    self.count(run, |c| &c.chars_sent, chars as u64);
                }
                if result
                    .as_ref()
                    .map_or_else(|e| e.status.is_some(), |_| true)
                {
                    self.count(run, |c| &c.answered, 1);
                }
                let result = result.and_then(|a| {
                    if a.each.len() == batch.len() {
                        Ok(a)
                    } else {
                        Err(BackendError::new(
                            ErrorKind::BadResponse,
                            format!(
                                "{}: {} answered {} translation(s) for {} segment(s)",
                                backend.name(),
                                backend.endpoint(),
                                a.each.len(),
                                batch.len()
                            ),
                        ))
                    }
                });
                let err = match result {
                    Ok(a) => {
                        self.count(run, |c| &c.stray_ids, a.stray_ids as u64);
                        let bad = a.each.iter().filter(|r| r.is_err()).count();
                        if bad == 0 {
                            let english = a.each.into_iter().map(Result::unwrap_or_default);
                            self.finish(run, &batch, Ok(english.collect()));
                            return;
                        }
                        if batch.len() > 1 && bad < batch.len() {
                            // The answer is taken segment by segment: the
                            // good ones are kept, only the bad ones are sent
                            // again, each alone.
                            let mut good = (Vec::new(), Vec::new());
                            let mut again = Vec::new();
                            for (mut r, res) in batch.into_iter().zip(a.each) {
                                match res {
                                    Ok(en) => {
                                        good.0.push(r);
                                        good.1.push(en);
                                    }
                                    Err(e) => {
                                        r.context.problem = Some(e.message);
                                        again.push(r);
                                    }
                                }
                            }
                            self.count(run, |c| &c.resent_alone, again.len() as u64);
                            self.finish(run, &good.0, Ok(good.1));
                            self.alone(again, run, after_timeout).await;
                            return;
                        }
                        // Every segment (or the only one) is bad: the first
                        // segment's reason stands for the batch.
                        a.each.into_iter().find_map(Result::err).unwrap_or_else(|| {
                            BackendError::new(ErrorKind::BadResponse, "no answer")
                        })
                    }
                    Err(e) => e,
                };
                if err.kind == ErrorKind::RateLimited {
                    self.count(run, |c| &c.rate_limited, 1);
                }
                // A batch that timed out is split at once, like one with a
                // bad answer: a slow model may manage its halves.
                let split_timeout = err.kind == ErrorKind::Timeout
                    && batch.len() > 1
                    && inner.opts.split_on_bad_response;
                // A single segment's unusable answer cannot be split any
                // further; it is asked again once, with the problem named,
                // unless this request already named one (it was that one
                // different retry: sent alone after its batch's answer for
                // it was bad).
                let single_bad = err.kind == ErrorKind::BadResponse
                    && batch.len() == 1
                    && batch[0].context.problem.is_none()
                    && retries < inner.opts.max_retries.min(BAD_ANSWER_RETRIES);
                let retry_limit = if err.kind == ErrorKind::Timeout && after_timeout {
                    TIMEOUT_RETRIES_AFTER_SPLIT
                } else {
                    inner.opts.max_retries
                };
                if !split_timeout && ((err.retryable && retries < retry_limit) || single_bad) {
                    if single_bad {
                        // the retry names what was wrong: a different request
                        batch[0].context.problem = Some(err.message.clone());
                    }
                    retries += 1;
                    self.count(run, |c| &c.retries, 1);
                    if let Some(ra) = err.retry_after {
                        inner.gate.pause(ra.min(inner.opts.backoff_max));
                    }
                    let wait = self.delay(retries, err.retry_after);
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = run.cancel.cancelled() => {}
                    }
                    continue;
                }
                let splittable = split_timeout
                    || matches!(err.kind, ErrorKind::BadResponse | ErrorKind::BadRequest);
                if inner.opts.split_on_bad_response && splittable && batch.len() > 1 {
                    self.count(run, |c| &c.splits, 1);
                    let mut left = batch;
                    let right = left.split_off(left.len() / 2);
                    let timed_out = after_timeout || split_timeout;
                    tokio::join!(
                        self.process(left, None, run, timed_out),
                        self.process(right, None, run, timed_out)
                    );
                    return;
                }
                let mut err = err;
                if retries > 0 {
                    err.message = format!(
                        "{} (gave up after {retries} retr{})",
                        err.message,
                        if retries == 1 { "y" } else { "ies" }
                    );
                }
                self.finish(run, &batch, Err(err));
                return;
            }
        })
    }

    /// Send each of `requests` alone, concurrently (as the semaphore allows).
    fn alone<'a>(
        &'a self,
        mut requests: Vec<Request>,
        run: &'a Run,
        after_timeout: bool,
    ) -> super::BoxFuture<'a, ()> {
        Box::pin(async move {
            if requests.len() <= 1 {
                if !requests.is_empty() {
                    self.process(requests, None, run, after_timeout).await;
                }
                return;
            }
            let right = requests.split_off(requests.len() / 2);
            tokio::join!(
                self.alone(requests, run, after_timeout),
                self.alone(right, run, after_timeout)
            );
        })
    }

    /// A single segment longer than the backend takes in one request (the
    /// engine fails it without sending; dry runs list it in advance).
    pub fn too_long(&self, batch: &[Request]) -> Option<BackendError> {
        let [r] = batch else { return None };
        let l = self.inner.backend.limits();
        let chars = r.text.chars().count();
        let over = l
            .max_chars
            .filter(|m| chars > *m)
            .map(|m| (chars, m, "characters"))
            .or_else(|| {
                l.max_bytes
                    .filter(|m| r.text.len() > *m)
                    .map(|m| (r.text.len(), m, "bytes"))
            });
        over.map(|(n, m, unit)| {
            BackendError::new(
                ErrorKind::BadRequest,
                format!(
                    "{}: segment {} has {n} {unit}, more than the {m} one request to {} may carry; split it in the source",
                    self.inner.backend.name(),
                    r.id,
                    self.inner.backend.endpoint()
                ),
            )
            .not_sent()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{BackendKind, BoxFuture};
    use crate::model::Context;
    use std::sync::Mutex;

    fn reqs(n: usize) -> Vec<Request> {
        (0..n)
            .map(|i| Request {
                id: format!("r{i}"),
                text: format!("نص {i}"),
                terms: vec![],
                context: Context::default(),
                insist: false,
            })
            .collect()
    }

    /// A backend in memory: answers "en <text>", fails batches larger than
    /// `max_good` with a bad response, and fails from a script first.
    struct Fake {
        limits: BatchLimits,
        max_good: usize,
        script: Mutex<VecDeque<BackendError>>,
        always: Option<BackendError>,
        calls: Mutex<Vec<usize>>,
        poison: Option<String>,
        /// Time per segment of a batch (a slow model).
        per_item: Duration,
    }

    impl Fake {
        fn new(max_items: usize) -> Fake {
            Fake {
                limits: BatchLimits {
                    max_items,
                    max_chars: None,
                    max_bytes: None,
                },
                max_good: usize::MAX,
                script: Mutex::new(VecDeque::new()),
                always: None,
                calls: Mutex::new(vec![]),
                poison: None,
                per_item: Duration::ZERO,
            }
        }
    }

    impl Backend for Fake {
        fn name(&self) -> &str {
            "fake"
        }
        fn kind(&self) -> BackendKind {
            BackendKind::Template
        }
        fn limits(&self) -> BatchLimits {
            self.limits
        }
        fn endpoint(&self) -> String {
            "mem://fake".into()
        }
        fn translate<'a>(
            &'a self,
            batch: &'a [Request],
        ) -> BoxFuture<'a, Result<Vec<String>, BackendError>> {
            Box::pin(async move {
                self.calls.lock().unwrap().push(batch.len());
                tokio::time::sleep(Duration::from_millis(1) + self.per_item * batch.len() as u32)
                    .await;
                if let Some(e) = self.script.lock().unwrap().pop_front() {
                    return Err(e);
                }
                if let Some(e) = &self.always {
                    return Err(e.clone());
                }
                if batch.len() > self.max_good
                    || self
                        .poison
                        .as_ref()
                        .is_some_and(|p| batch.iter().any(|r| &r.id == p))
                {
                    return Err(BackendError::new(
                        ErrorKind::BadResponse,
                        "fake: missing id",
                    ));
                }
                Ok(batch.iter().map(|r| format!("en {}", r.id)).collect())
            })
        }
    }

    fn fast() -> EngineOptions {
        EngineOptions {
            backoff_base: Duration::from_millis(1),
            backoff_max: Duration::from_millis(20),
            max_retries: 3,
            ..EngineOptions::default()
        }
    }

    #[test]
    fn plans_within_items_chars_and_bytes() {
        let r = reqs(10);
        let l = BatchLimits {
            max_items: 4,
            max_chars: None,
            max_bytes: None,
        };
        assert_eq!(plan(&r, l), vec![0..4, 4..8, 8..10]);
        // "نص 1" is 4 chars, 7 bytes.
        let l = BatchLimits {
            max_items: 100,
            max_chars: Some(9),
            max_bytes: None,
        };
        assert_eq!(plan(&r, l), vec![0..2, 2..4, 4..6, 6..8, 8..10]);
        let l = BatchLimits {
            max_items: 100,
            max_chars: None,
            max_bytes: Some(21),
        };
        assert_eq!(plan(&r, l), vec![0..3, 3..6, 6..9, 9..10]);
        let l = BatchLimits {
            max_items: 100,
            max_chars: Some(2),
            max_bytes: None,
        };
        assert_eq!(plan(&r[..2], l), vec![0..1, 1..2]);
        assert!(plan(&[], l).is_empty());
    }

    #[tokio::test]
    async fn keeps_order_and_splits_bad_batches_down_to_the_bad_segment() {
        let mut f = Fake::new(8);
        f.max_good = 2;
        f.poison = Some("r5".into());
        let e = Engine::new(Arc::new(f), fast());
        let (out, stats) = e.translate_all(reqs(16)).await;
        for (i, r) in out.iter().enumerate() {
            if i == 5 {
                assert_eq!(r.as_ref().unwrap_err().kind, ErrorKind::BadResponse);
            } else {
                assert_eq!(r.as_ref().unwrap(), &format!("en r{i}"));
            }
        }
        assert_eq!(stats.translated, 15);
        assert_eq!(stats.failed, 1);
        assert_eq!(stats.batches, 2);
        assert!(stats.splits >= 4, "{stats:?}");
        // Batches are split, not resent; only the single bad segment is
        // asked again, BAD_ANSWER_RETRIES times.
        assert_eq!(stats.retries, u64::from(BAD_ANSWER_RETRIES));
    }

    #[tokio::test]
    async fn retries_then_gives_up_on_retryable_and_never_retries_final() {
        let mut f = Fake::new(4);
        f.script = Mutex::new(
            [
                BackendError::new(ErrorKind::Server, "fake: 500"),
                BackendError::new(ErrorKind::RateLimited, "fake: 429")
                    .with_retry_after(Some(Duration::from_millis(30))),
            ]
            .into(),
        );
        let e = Engine::new(
            Arc::new(f),
            EngineOptions {
                concurrency: 1,
                ..fast()
            },
        );
        let (out, stats) = e.translate_all(reqs(4)).await;
        assert!(out.iter().all(Result::is_ok));
        assert_eq!(
            (stats.requests, stats.retries, stats.rate_limited),
            (3, 2, 1)
        );
        assert!(stats.elapsed >= Duration::from_millis(20), "{stats:?}");

        let mut f = Fake::new(4);
        f.always = Some(BackendError::new(ErrorKind::Server, "fake: 500"));
        let e = Engine::new(Arc::new(f), fast());
        let (out, stats) = e.translate_all(reqs(4)).await;
        let err = out[0].as_ref().unwrap_err();
        assert!(
            err.message.contains("gave up after 3 retries"),
            "{}",
            err.message
        );
        assert_eq!(stats.requests, 4);

        let mut f = Fake::new(4);
        f.always = Some(BackendError::new(ErrorKind::Auth, "fake: 401"));
        let e = Engine::new(Arc::new(f), fast());
        let (_, stats) = e.translate_all(reqs(8)).await;
        assert_eq!((stats.requests, stats.retries, stats.failed), (2, 0, 8));
    }

    #[tokio::test]
    async fn a_long_retry_after_is_capped_and_chars_are_counted() {
        let f = Fake::new(4);
        f.script.lock().unwrap().push_back(
            BackendError::new(ErrorKind::RateLimited, "fake: 429")
                .with_retry_after(Some(Duration::from_secs(3600))),
        );
        let e = Engine::new(Arc::new(f), fast());
        let input = reqs(4);
        let chars: u64 = input.iter().map(|r| r.text.chars().count() as u64).sum();
        let t0 = std::time::Instant::now();
        let (out, stats) = e.translate_all(input).await;
        assert!(out.iter().all(Result::is_ok));
        // backoff_max is 20 ms: the hour asked for is not waited.
        assert!(t0.elapsed() < Duration::from_secs(2));
        assert_eq!(stats.chars_sent, 2 * chars);
    }

    #[tokio::test]
    async fn cancel_stops_new_requests() {
        let f = Fake::new(1);
        let e = Engine::new(
            Arc::new(f),
            EngineOptions {
                concurrency: 1,
                ..fast()
            },
        );
        let (tx, mut rx) = mpsc::unbounded_channel();
        let cancel = CancelToken::new();
        let c2 = cancel.clone();
        let stop = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            c2.cancel();
        });
        let stats = e.run(reqs(2000), tx, cancel).await;
        stop.await.unwrap();
        let mut got = 0;
        while let Ok(o) = rx.try_recv() {
            got += o.results.len() as u64;
        }
        assert_eq!(got, stats.translated);
        assert!(
            stats.not_sent > 0 && stats.translated + stats.not_sent == 2000,
            "{stats:?}"
        );
    }

    #[tokio::test]
    async fn oversized_segment_fails_without_sending() {
        let mut f = Fake::new(4);
        f.limits.max_chars = Some(5);
        let mut r = reqs(3);
        r[1].text = "كلمة طويلة جدا".into();
        let e = Engine::new(Arc::new(f), fast());
        let (out, stats) = e.translate_all(r).await;
        assert!(out[0].is_ok() && out[2].is_ok());
        assert!(
            out[1]
                .as_ref()
                .unwrap_err()
                .message
                .contains("segment r1 has 14 characters")
        );
        assert_eq!(stats.requests, 2);
    }

    #[tokio::test]
    async fn a_batch_that_times_out_is_split_down_to_segments_that_fit() {
        let mut f = Fake::new(8);
        f.per_item = Duration::from_millis(40);
        let f = Arc::new(f);
        let e = Engine::new(
            f.clone(),
            EngineOptions {
                timeout: Some(Duration::from_millis(100)),
                ..fast()
            },
        );
        let (out, stats) = e.translate_all(reqs(8)).await;
        assert!(out.iter().all(Result::is_ok), "{out:?}");
        // 8 (timed out), 4 + 4 (timed out), then pairs of 2 that fit.
        assert_eq!(stats.splits, 3, "{stats:?}");
        assert_eq!(stats.retries, 0, "{stats:?}");
        assert_eq!(*f.calls.lock().unwrap(), [8, 4, 4, 2, 2, 2, 2]);
    }

    #[test]
    fn the_timeout_grows_with_the_batch_in_characters() {
        let o = EngineOptions {
            timeout: Some(Duration::from_secs(30)),
            timeout_per_char: Duration::from_millis(40),
            ..EngineOptions::default()
        };
        assert_eq!(o.timeout_for(0), Some(Duration::from_secs(30)));
        assert_eq!(o.timeout_for(1200), Some(Duration::from_secs(78)));
        assert_eq!(EngineOptions::default().timeout_for(1200), None);
    }

    #[tokio::test]
    async fn a_fatal_error_stops_sending_the_other_batches() {
        let mut f = Fake::new(1);
        f.always = Some(BackendError::new(ErrorKind::NotFound, "fake: 404 model"));
        let e = Engine::new(
            Arc::new(f),
            EngineOptions {
                concurrency: 1,
                ..fast()
            },
        );
        let (out, stats) = e.translate_all(reqs(20)).await;
        assert_eq!((stats.requests, stats.retries), (1, 0), "{stats:?}");
        assert_eq!(stats.not_sent, 19);
        assert!(out[0].as_ref().unwrap_err().is_fatal());
    }

    #[tokio::test]
    async fn what_never_reached_the_server_is_not_counted_as_sent() {
        let mut f = Fake::new(4);
        f.always =
            Some(BackendError::new(ErrorKind::Unreachable, "fake: connection refused").not_sent());
        let e = Engine::new(Arc::new(f), fast());
        let (_, stats) = e.translate_all(reqs(8)).await;
        assert_eq!((stats.requests, stats.chars_sent), (0, 0), "{stats:?}");
        assert_eq!(stats.failed, 8);
    }

    /// The worst case README states: a batch of 8 segments of 150
    /// characters that never gets an answer, with the defaults.
    async fn never_answered(kind: BackendKind) -> Duration {
        let mut f = Fake::new(8);
        f.per_item = Duration::from_secs(24 * 3600);
        let mut r = reqs(8);
        for x in &mut r {
            x.text = "ب".repeat(150);
        }
        let cfg = crate::config::BackendConfig::new(kind);
        let e = Engine::new(Arc::new(f), EngineOptions::from_config(&cfg));
        let t0 = tokio::time::Instant::now();
        let (out, stats) = e.translate_all(r).await;
        assert!(
            out.iter()
                .all(|r| r.as_ref().unwrap_err().kind == ErrorKind::Timeout)
        );
        // 1 + 2 + 4 + 8 requests, none sent twice.
        assert_eq!((stats.requests, stats.retries), (15, 0), "{stats:?}");
        t0.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn worst_case_of_one_failing_batch_with_the_defaults() {
        let openai = never_answered(BackendKind::Openai).await;
        assert!(
            openai >= Duration::from_secs(246) && openai < Duration::from_secs(247),
            "{openai:?}"
        );
        let ollama = never_answered(BackendKind::Ollama).await;
        assert!(
            ollama >= Duration::from_secs(642) && ollama < Duration::from_secs(643),
            "{ollama:?}"
        );
    }
}
