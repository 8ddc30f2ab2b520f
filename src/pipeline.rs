/*!
The translate pipeline: segments and their glossary hits in, an aligned
bilingual document and the run's summary out.

This is where tarjama earns its keep over a script: every segment is
looked up in the memory first (a human translation, else the machine one
stored under the same cache key), only the rest is sent; each batch that
comes back is term-checked and committed to the memory at once (so a crash
loses at most the batches in flight, and a rerun sends nothing already
stored); an LLM answer that misses a pinned term is re-requested once with
the terms stated more explicitly, and if it still misses is kept as the
engine wrote it, flagged for review. Failed segments stay in the document,
untranslated, with the reason.

The stages are split so that each can be used alone: [`prepare`] (memory
lookups, suggestions, requests), [`apply_answer`] (one answer checked and
readied for the memory), `rerequest_for` (a re-request stating the
missed terms), [`mark_left`] (the warnings of what a run left),
[`offline`] (no backend: the document with what the memory already has)
and [`finish`] (the [`Bitext`]). The engine is reached through the small
[`Translator`] trait, so that the pipeline does not depend on how requests
are batched or sent. The one driver of these stages is [`crate::job::run`],
which runs a job of one or many documents as one stream.
*/

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use crate::backend::engine::{BatchOutcome, CancelToken, Engine, EngineOptions, Feed};
use crate::backend::{BackendError, BackendKind, BoxFuture, TermMode};
use crate::config::{BackendConfig, ConfigError};
use crate::memory::{self, KeyParams, Memory, MemoryError, MtEntry};
use crate::model::{
    AlignedPair, Attempt, Bitext, CheckedTerm, Context, DocMeta, Origin, PinnedTerm, Request,
    RunSummary, Segment, Suggestion, TermHit,
};

/// Prompt version for the cache key of non-LLM backends: bump it when what
/// tarjama sends them changes.
pub const MT_REQUEST_VERSION: &str = "mt-1";

/// The warning each untranslated segment of an offline run carries.
pub const OFFLINE_WARNING: &str = "not translated: offline run (no backend configured)";

/// The one-line hint shown once when no backend is configured.
pub const NO_BACKEND_HINT: &str = "no backend configured, so nothing was translated; add a [backends.NAME] table to ./tarjama.toml (every kind is shown in seeds/tarjama.sample.toml) and rerun";

/// The term check (the glossary's `check_terms`): each hit with whether the
/// English honours it.
pub type CheckFn = fn(&[TermHit], &str) -> Vec<CheckedTerm>;

/// One finished request: each segment id with its English or the error.
pub type BatchResults = Vec<(String, Result<String, BackendError>)>;

/// What the pipeline needs to know about the engine, for cache keys,
/// headers and the term policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineInfo {
    /// The backend's name in the config.
    pub name: String,
    pub kind: BackendKind,
    /// Endpoint URL without secrets.
    pub url: String,
    pub model: Option<String>,
    /// Version of the prompt / request shape plus the options that change
    /// the answer (languages); part of the cache key.
    pub prompt_version: String,
    /// How pinned terms are passed.
    pub term_mode: TermMode,
}

impl EngineInfo {
    fn key_params(&self) -> KeyParams {
        KeyParams {
            backend_kind: self.kind.as_str().to_string(),
            url: self.url.clone(),
            model: self.model.clone().unwrap_or_default(),
            prompt_version: format!("{}/{:?}", self.prompt_version, self.term_mode),
        }
    }

    /// Whether a segment that misses a pinned term is re-requested once.
    pub(crate) fn re_requests(&self) -> bool {
        self.kind.is_llm() && self.term_mode == TermMode::Prompt
    }
}

/// Counts from one engine run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounts {
    pub requests: u64,
    /// Requests the server answered (any HTTP status).
    pub answered: u64,
    pub retries: u64,
    pub chars_sent: u64,
    pub failed: u64,
    /// Answer entries for ids that were not asked for (ignored).
    pub stray_ids: u64,
}

/// One finished request of a stream: its results, and what the run spent
/// since the answer before it (see [`crate::backend::engine::BatchOutcome`]).
#[derive(Debug, Clone, Default)]
pub struct Answered {
    pub results: BatchResults,
    pub spent: RunCounts,
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRequest {
    /// The segment ids it carries.
    pub ids: Vec<String>,
    /// Characters of segment text it carries.
    pub text_chars: usize,
    /// The body as it would be sent (LLM kinds), prompts and context included.
    pub body: Option<String>,
    /// Why the engine would refuse it without sending (an oversize segment).
    pub refused: Option<String>,
}

/// A translation engine as the pipeline sees it.
pub trait Translator: Send + Sync {
    fn info(&self) -> &EngineInfo;
    /// How many requests `requests` would take (for dry runs).
    fn planned_requests(&self, requests: &[Request]) -> usize;
    /// Retries so far (live, for progress display).
    fn live_retries(&self) -> u64 {
        0
    }
    /// The requests `requests` would make, in order, as a dry run shows
    /// them (empty when the engine cannot say).
    fn preview(&self, _requests: &[Request]) -> Vec<PlannedRequest> {
        Vec::new()
    }
    /// Send `requests`, each finished batch on `tx` as soon as it arrives;
    /// stop sending new ones once `cancel` turns true; return when every
    /// request sent has an answer. Segments never sent get no result.
    fn run(
        &self,
        requests: Vec<Request>,
        tx: mpsc::UnboundedSender<BatchResults>,
        cancel: watch::Receiver<bool>,
    ) -> BoxFuture<'_, RunCounts>;

    /// Like [`Translator::run`] for requests that arrive on `input` while
    /// the run goes on, until it is closed. The default sends what has
    /// arrived each time through [`Translator::run`]; an engine that
    /// batches across what arrives overrides it.
    fn run_stream(
        &self,
        mut input: mpsc::UnboundedReceiver<Feed>,
        tx: mpsc::UnboundedSender<Answered>,
        cancel: watch::Receiver<bool>,
    ) -> BoxFuture<'_, RunCounts> {
        Box::pin(async move {
            let mut total = RunCounts::default();
            let mut stop = cancel.clone();
            let stopped = async move {
                // A dropped sender never stops the run.
                if stop.wait_for(|c| *c).await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            tokio::pin!(stopped);
            loop {
                let first = tokio::select! {
                    f = input.recv() => f,
                    () = &mut stopped => None,
                };
                let Some(first) = first else {
                    break;
                };
                let mut chunk: Vec<Request> = Vec::new();
                if let Feed::Request(r) = first {
                    chunk.push(r);
                }
                while let Ok(f) = input.try_recv() {
                    if let Feed::Request(r) = f {
                        chunk.push(r);
                    }
                }
                if chunk.is_empty() {
                    continue;
                }
                if *cancel.borrow() {
                    break;
                }
                let (btx, mut brx) = mpsc::unbounded_channel::<BatchResults>();
                let counts = self.run(chunk, btx, cancel.clone()).await;
                add_counts(&mut total, counts);
                let mut first = true;
                while let Ok(results) = brx.try_recv() {
                    let spent = if std::mem::take(&mut first) {
                        counts
                    } else {
                        RunCounts::default()
                    };
                    let _ = tx.send(Answered { results, spent });
                }
            }
            total
        })
    }
}

fn counts_of(s: &crate::backend::engine::EngineStats) -> RunCounts {
    RunCounts {
        requests: s.requests,
        answered: s.answered,
        retries: s.retries,
        chars_sent: s.chars_sent,
        failed: s.failed,
        stray_ids: s.stray_ids,
    }
}

/// The backends' [`Engine`] (batching, concurrency, retries, rate limit)
/// as a [`Translator`].
pub struct EngineTranslator {
    engine: Engine,
    info: EngineInfo,
}

impl EngineTranslator {
    /// Build the backend called `name` from its config table.
    pub fn from_config(name: &str, cfg: &BackendConfig) -> Result<EngineTranslator, ConfigError> {
        // The engine applies the timeout, which grows with the batch's
        // size; the backend's own HTTP timeout must not cut it short.
        let mut http_cfg = cfg.clone();
        http_cfg.timeout_secs = Some(86_400.0);
        let backend = crate::backend::build(name, &http_cfg)?;
        let version = if cfg.kind.is_llm() {
            crate::backend::llm::PROMPT_VERSION
        } else {
            MT_REQUEST_VERSION
        };
        let info = EngineInfo {
            name: name.to_string(),
            kind: cfg.kind,
            url: backend.endpoint(),
            model: cfg.model.clone(),
            prompt_version: format!(
                "{version}/{}-{}",
                cfg.source_lang_or_default(),
                cfg.target_lang_or_default()
            ),
            term_mode: cfg.terms_or_default(),
        };
        let engine = Engine::new(backend, EngineOptions::from_config(cfg));
        Ok(EngineTranslator { engine, info })
    }
}

impl Translator for EngineTranslator {
    fn info(&self) -> &EngineInfo {
        &self.info
    }

    fn planned_requests(&self, requests: &[Request]) -> usize {
        self.engine.plan(requests).len()
    }

    fn preview(&self, requests: &[Request]) -> Vec<PlannedRequest> {
        self.engine
            .plan(requests)
            .into_iter()
            .map(|range| {
                let batch = &requests[range];
                let refused = self.engine.too_long(batch).map(|e| e.message);
                PlannedRequest {
                    ids: batch.iter().map(|r| r.id.clone()).collect(),
                    text_chars: batch.iter().map(|r| r.text.chars().count()).sum(),
                    body: if refused.is_some() {
                        None
                    } else {
                        self.engine.backend().request_body(batch)
                    },
                    refused,
                }
            })
            .collect()
    }

    fn live_retries(&self) -> u64 {
        self.engine
            .progress()
            .retries
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn run(
        &self,
        requests: Vec<Request>,
        tx: mpsc::UnboundedSender<BatchResults>,
        mut cancel: watch::Receiver<bool>,
    ) -> BoxFuture<'_, RunCounts> {
        Box::pin(async move {
            let token = CancelToken::new();
            let token2 = token.clone();
            let watcher = tokio::spawn(async move {
                if cancel.wait_for(|c| *c).await.is_ok() {
                    token2.cancel();
                }
            });
            let (etx, mut erx) = mpsc::unbounded_channel::<BatchOutcome>();
            let forward = async move {
                while let Some(o) = erx.recv().await {
                    let _ = tx.send(o.results);
                }
            };
            let (stats, ()) = tokio::join!(self.engine.run(requests, etx, token), forward);
            watcher.abort();
            counts_of(&stats)
        })
    }

    fn run_stream(
        &self,
        input: mpsc::UnboundedReceiver<Feed>,
        tx: mpsc::UnboundedSender<Answered>,
        mut cancel: watch::Receiver<bool>,
    ) -> BoxFuture<'_, RunCounts> {
        Box::pin(async move {
            let token = CancelToken::new();
            let token2 = token.clone();
            let watcher = tokio::spawn(async move {
                if cancel.wait_for(|c| *c).await.is_ok() {
                    token2.cancel();
                }
            });
            let (etx, mut erx) = mpsc::unbounded_channel::<BatchOutcome>();
            let forward = async move {
                while let Some(o) = erx.recv().await {
                    let s = o.spent;
                    let _ = tx.send(Answered {
                        results: o.results,
                        spent: RunCounts {
                            requests: s.requests,
                            answered: s.answered,
                            retries: s.retries,
                            chars_sent: s.chars_sent,
                            failed: 0,
                            stray_ids: s.stray_ids,
                        },
                    });
                }
            };
            let (stats, ()) = tokio::join!(self.engine.run_stream(input, etx, token), forward);
            watcher.abort();
            counts_of(&stats)
        })
    }
}

/// Knobs of the pipeline.
#[derive(Debug, Clone)]
pub struct Settings {
    pub check_terms: CheckFn,
    /// Fuzzy suggestions: minimum word-level similarity and how many.
    pub fuzzy_threshold: u8,
    pub fuzzy_limit: usize,
    /// After Ctrl-C, how long to wait for requests in flight.
    pub drain_timeout: Duration,
    /// `translate --refresh`: machine translations in the memory are not
    /// used but sent again (and replaced); reviewed and human ones stay.
    pub refresh: bool,
}

impl Settings {
    pub fn new(check_terms: CheckFn) -> Settings {
        Settings {
            check_terms,
            fuzzy_threshold: memory::FUZZY_THRESHOLD,
            fuzzy_limit: 3,
            drain_timeout: Duration::from_secs(10),
            refresh: false,
        }
    }
}

/// One segment on its way through the pipeline.
#[derive(Debug, Clone)]
pub struct Unit {
    pub segment: Segment,
    /// The text sent to the engine (the segment on one line).
    pub text: String,
    pub hits: Vec<TermHit>,
    /// Cache key (when an engine is configured).
    pub key: Option<String>,
    pub target: Option<String>,
    pub origin: Origin,
    pub terms: Vec<CheckedTerm>,
    pub warnings: Vec<String>,
    pub suggestions: Vec<Suggestion>,
    /// The engine's error, when it failed.
    pub failure: Option<String>,
    /// The failure is one a rerun cannot fix, with the setting to change.
    pub fatal: Option<String>,
    /// Its English is a stored answer that missed a pinned term and whose
    /// re-request was not answered yet.
    pub awaiting_rerequest: bool,
    /// Whether the segment was sent in this run.
    pub sent: bool,
    /// `text` with the source's inline formatting as markers (sent
    /// instead of `text`), and the format of each marker (see
    /// [`crate::inline`]).
    pub marked: Option<String>,
    pub formats: Vec<crate::model::InlineFormat>,
    /// The English with those markers, when the engine kept them.
    pub marked_target: Option<String>,
    /// Both answers when the segment was re-requested, and which was kept.
    pub history: Vec<Attempt>,
}

impl Unit {
    /// What is sent: the text with its inline markers, if any.
    pub fn sent_text(&self) -> String {
        self.marked.clone().unwrap_or_else(|| self.text.clone())
    }

    /// An answer split into the plain English (for the memory, the term
    /// check and most writers) and the English with its markers, kept only
    /// when this segment has markers and the answer has them all, in good
    /// order ([`crate::inline::check`]).
    pub fn unmark(&self, english: &str) -> (String, Option<String>) {
        let plain = crate::inline::strip(english);
        let marked = self.marked.as_deref().and_then(|m| {
            (crate::inline::has_markers(english) && crate::inline::check(m, english).is_ok())
                .then(|| english.to_string())
        });
        (plain, marked)
    }
}

/// A document ready to translate.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub meta: DocMeta,
    pub units: Vec<Unit>,
    /// Indices (into `units`) of the segments to send.
    pub pending: Vec<usize>,
    /// Indices of the segments whose stored answer waits for its
    /// re-request (an earlier run was interrupted): sent first.
    pub rerequest: Vec<usize>,
    pub from_memory: usize,
    /// `--refresh`: machine translations in the memory that are sent again.
    pub refreshed: usize,
    /// Places the document's inline formatting on its segments as they
    /// are pushed.
    pub placer: crate::inline::Placer,
}

impl Prepared {
    /// The requests for the pending segments, with the pinned terms the
    /// term mode allows and the headline and previous segment as context.
    pub fn requests(&self, info: Option<&EngineInfo>) -> Vec<Request> {
        self.to_send()
            .into_iter()
            .map(|i| self.request_for(i, info))
            .collect()
    }

    /// The request for segment `i`: its pinned terms as the term mode
    /// allows, the headline and the previous segment as context.
    pub fn request_for(&self, i: usize, info: Option<&EngineInfo>) -> Request {
        let pass_terms = info.is_some_and(|i| i.term_mode != TermMode::Off);
        let u = &self.units[i];
        Request {
            id: u.segment.id.clone(),
            text: u.sent_text(),
            terms: if pass_terms {
                pinned_terms(&u.hits)
            } else {
                Vec::new()
            },
            context: Context {
                headline: (i > 0).then(|| self.units[0].text.clone()),
                previous: (i > 0).then(|| self.units[i - 1].text.clone()),
                hints: if pass_terms {
                    hint_terms(&u.hits)
                } else {
                    Vec::new()
                },
                problem: None,
            },
            insist: false,
        }
    }

    /// The pending segments that are sent: a segment repeated in the
    /// document (same cache key) is sent once and its answer used for
    /// every occurrence.
    pub fn to_send(&self) -> Vec<usize> {
        let mut seen = std::collections::HashSet::new();
        self.pending
            .iter()
            .copied()
            .filter(|&i| match &self.units[i].key {
                Some(k) => seen.insert(k.as_str()),
                None => true,
            })
            .collect()
    }

    /// Characters of the segments to send (what a paid API bills).
    pub fn pending_chars(&self) -> usize {
        self.to_send()
            .iter()
            .map(|&i| self.units[i].text.chars().count())
            .sum()
    }
}

/// The pinned terms of a segment's hits, once each, in order of appearance
/// (the hits of `ambiguous` entries are hints, not pinned terms).
pub fn pinned_terms(hits: &[TermHit]) -> Vec<PinnedTerm> {
    let mut out: Vec<PinnedTerm> = Vec::new();
    for h in hits.iter().filter(|h| !h.ambiguous) {
        if !out
            .iter()
            .any(|t| t.source == h.source && t.target == h.target)
        {
            out.push(PinnedTerm {
                source: h.source.clone(),
                target: h.target.clone(),
            });
        }
    }
    out
}

/// The hints of a segment: the hits of `ambiguous` entries, once each.
pub fn hint_terms(hits: &[TermHit]) -> Vec<PinnedTerm> {
    let mut out: Vec<PinnedTerm> = Vec::new();
    for h in hits.iter().filter(|h| h.ambiguous) {
        let t = PinnedTerm {
            source: h.source.clone(),
            target: h.target.clone(),
        };
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// The whole word(s) of `segment` around the document span `start..end`:
/// the term as it stands in the text, with its clitics and suffixes.
fn words_around(segment: &Segment, start: usize, end: usize) -> String {
    let chars: Vec<char> = segment.text.chars().collect();
    let mut s = start.saturating_sub(segment.start).min(chars.len());
    let mut e = end.saturating_sub(segment.start).clamp(s, chars.len());
    while s > 0 && chars[s - 1].is_alphabetic() {
        s -= 1;
    }
    while e < chars.len() && chars[e].is_alphabetic() {
        e += 1;
    }
    chars[s..e].iter().collect()
}

/// The terms of a re-request: each pinned term, and each missed one also
/// as the words that stand in the segment (clitics, suffixes and spelling
/// variants included), so the engine is told precisely which words must
/// come out how.
fn emphasised_terms(unit: &Unit, missed: &[CheckedTerm]) -> Vec<PinnedTerm> {
    let mut out = pinned_terms(&unit.hits);
    for m in missed {
        let surface = words_around(&unit.segment, m.start, m.end);
        if !surface.is_empty() && surface != m.source {
            let t = PinnedTerm {
                source: surface,
                target: m.target.clone(),
            };
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

fn missed(terms: &[CheckedTerm]) -> Vec<CheckedTerm> {
    terms
        .iter()
        .filter(|t| t.honoured == Some(false))
        .cloned()
        .collect()
}

/// Look every segment up in the memory and work out what must be sent.
///
/// With an engine, a segment is done when the memory has a human
/// translation of it or a machine one under its cache key. Without one
/// (offline), any stored translation of the same normalised source is
/// used. Segments not done get fuzzy suggestions.
pub fn prepare(
    mem: &Memory,
    meta: DocMeta,
    segments: Vec<Segment>,
    hits: Vec<TermHit>,
    engine: Option<&EngineInfo>,
    settings: &Settings,
) -> Result<Prepared, MemoryError> {
    let mut by_seg = hits_by_segment(hits);
    let mut prepared = Prepared::new(meta, segments.len());
    for segment in segments {
        let hits = by_seg.remove(&segment.id).unwrap_or_default();
        prepared.push(mem, segment, hits, engine, settings)?;
    }
    Ok(prepared)
}

/// The hits of each segment, by segment id.
pub fn hits_by_segment(hits: Vec<TermHit>) -> HashMap<String, Vec<TermHit>> {
    let mut by_seg: HashMap<String, Vec<TermHit>> = HashMap::new();
    for h in hits {
        by_seg.entry(h.segment.clone()).or_default().push(h);
    }
    by_seg
}

/// Where [`Prepared::push`] put a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Looked {
    /// The memory has it.
    Done,
    /// To send.
    Pending,
    /// Its stored answer waits for its re-request (an earlier run was
    /// interrupted).
    Rerequest,
}

impl Prepared {
    /// A document with no segment looked up yet.
    pub fn new(meta: DocMeta, capacity: usize) -> Prepared {
        Prepared {
            meta,
            units: Vec::with_capacity(capacity),
            pending: Vec::new(),
            rerequest: Vec::new(),
            from_memory: 0,
            refreshed: 0,
            placer: crate::inline::Placer::default(),
        }
    }

    /// Look the document's next segment up (see [`prepare`]), so that a
    /// long document's first segments can be sent while the rest are
    /// looked up.
    pub fn push(
        &mut self,
        mem: &Memory,
        segment: Segment,
        hits: Vec<TermHit>,
        engine: Option<&EngineInfo>,
        settings: &Settings,
    ) -> Result<Looked, MemoryError> {
        let i = self.units.len();
        let text = segment.flat_text();
        let key = engine.map(|e| {
            let terms = if e.term_mode == TermMode::Off {
                Vec::new()
            } else {
                pinned_terms(&hits)
            };
            memory::cache_key(&text, &e.key_params(), &terms)
        });
        let found = match &key {
            Some(_) if settings.refresh => mem.lookup_keyless(&text)?,
            Some(k) => mem.lookup(k, &text)?,
            None => mem.lookup_any(&text)?,
        };
        if settings.refresh
            && found.is_none()
            && let Some(k) = &key
            && mem.lookup_key(k)?.is_some()
        {
            self.refreshed += 1;
        }
        let placed = self
            .placer
            .place(&self.meta.inline, segment.para, segment.start, &text);
        let mut warnings = Vec::new();
        for (f, why) in &placed.lost {
            warnings.push(format!(
                "formatting not placed: {} ({why}); apply it by hand",
                f.describe()
            ));
        }
        let mut unit = Unit {
            segment,
            text,
            marked: placed.marked,
            formats: placed.formats,
            marked_target: None,
            hits,
            key,
            target: None,
            origin: Origin::None,
            terms: Vec::new(),
            warnings,
            suggestions: Vec::new(),
            failure: None,
            fatal: None,
            awaiting_rerequest: false,
            history: Vec::new(),
            sent: false,
        };
        let looked = match found {
            Some(p) if p.pending && engine.is_some_and(EngineInfo::re_requests) => {
                // An interrupted run stored this answer before its
                // re-request: finish that first.
                unit.origin = Origin::Memory;
                unit.terms = (settings.check_terms)(&unit.hits, &p.target);
                unit.target = Some(p.target);
                unit.awaiting_rerequest = true;
                self.rerequest.push(i);
                Looked::Rerequest
            }
            Some(p) => {
                unit.origin = p.origin.document_origin();
                unit.terms = (settings.check_terms)(&unit.hits, &p.target);
                unit.target = Some(p.target);
                self.from_memory += 1;
                Looked::Done
            }
            None => {
                unit.suggestions =
                    mem.fuzzy(&unit.text, settings.fuzzy_threshold, settings.fuzzy_limit)?;
                self.pending.push(i);
                Looked::Pending
            }
        };
        self.units.push(unit);
        Ok(looked)
    }
}

/// The document without sending anything: pending segments are marked
/// with `reason` (the no-backend hint, or the dry-run note).
pub fn offline(mut prepared: Prepared, reason: &str) -> Prepared {
    for &i in &prepared.pending {
        prepared.units[i].warnings.push(reason.to_string());
    }
    prepared
}

/// How a translate run ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOutcome {
    pub counts: RunCounts,
    /// Ctrl-C stopped it before everything was sent.
    pub interrupted: bool,
    /// Segments re-requested for missed terms.
    pub re_requested: usize,
    /// The drain timeout expired with requests still in flight.
    pub abandoned_in_flight: bool,
    /// An error a rerun cannot fix stopped the run: the message and the
    /// setting to change.
    pub fatal: Option<String>,
    /// Re-requests not answered (their first answers stay pending in the
    /// memory; a rerun sends them again).
    pub rerequests_unanswered: usize,
}

/// Apply one segment's answer to `u` (`leader`: the segment that was sent,
/// not a repetition of it); whether it was a translation. A translation to
/// store is added to `entries` (the caller commits them in one transaction).
///
/// In the first pass an answer that misses a pinned term (when the engine
/// re-requests) is stored as pending; in the re-request pass the better of
/// the two answers (the one that misses fewer pinned terms, the re-request
/// on a tie) is stored as final.
#[allow(clippy::too_many_arguments)]
pub fn apply_answer(
    entries: &mut Vec<MtEntry>,
    u: &mut Unit,
    leader: bool,
    res: &Result<String, BackendError>,
    info: &EngineInfo,
    settings: &Settings,
    retry_pass: bool,
    document: Option<&str>,
) -> bool {
    u.sent |= leader && res.as_ref().map_or_else(|e| e.sent, |_| true);
    match res {
        Ok(english) => {
            let (english, mut marked) = u.unmark(english);
            let mut terms = (settings.check_terms)(&u.hits, &english);
            let mut target = english.clone();
            if retry_pass && let Some(first) = &u.target {
                // Both answers passed the answer checks (the alignment
                // check among them: a first answer that failed it was
                // never stored). Keep the first only if the re-request
                // misses more pinned terms; on a tie the re-request wins
                // (it was asked with the terms insisted on, and alone, so
                // no neighbour's answer can be in it).
                let (was, now) = (missed(&u.terms).len(), missed(&terms).len());
                let keep_first = now > was;
                u.history = re_request_history(first, was, Some(&english), now, keep_first);
                if keep_first {
                    target = first.clone();
                    terms = u.terms.clone();
                    marked = u.marked_target.clone();
                }
            }
            let pending = !retry_pass && info.re_requests() && !missed(&terms).is_empty();
            if let (true, Some(key)) = (leader, &u.key) {
                entries.push(MtEntry {
                    key: key.clone(),
                    source: u.text.clone(),
                    target: target.clone(),
                    backend: info.name.clone(),
                    model: info.model.clone(),
                    pending,
                    document: document.map(str::to_string),
                });
            }
            u.target = Some(target);
            u.marked_target = marked;
            u.origin = Origin::Mt;
            u.terms = terms;
            u.failure = None;
            u.awaiting_rerequest = pending;
            true
        }
        Err(e) => {
            if !retry_pass {
                u.failure = Some(e.message.clone());
                if e.is_fatal() {
                    u.fatal = Some(format!("{}; {}", e.message, e.hint(&info.name)));
                }
            } else if let Some(first) = &u.target
                && e.sent
            {
                // the first answer stands; the history says why
                let was = missed(&u.terms).len();
                u.history = re_request_history(first, was, None, 0, true);
                u.history[1].why = format!("the re-request failed: {}", e.message);
            }
            false
        }
    }
}

/// The history of a re-requested segment: its first answer (missing
/// `was` pinned-term occurrences) and the re-request's (`now`, or `None`
/// when it failed), which one was kept and why.
fn re_request_history(
    first: &str,
    was: usize,
    again: Option<&str>,
    now: usize,
    keep_first: bool,
) -> Vec<Attempt> {
    let why_first = if again.is_none() {
        "the re-request gave no answer".to_string()
    } else if keep_first {
        format!("the re-request missed more pinned terms ({now} against {was})")
    } else if now < was {
        format!("it missed {was} pinned term(s), the re-request {now}")
    } else {
        format!(
            "it missed as many pinned terms as the re-request ({was}), and the re-request, asked with the terms insisted on, wins a tie"
        )
    };
    let why_again = if again.is_none() {
        "it gave no answer".to_string()
    } else if keep_first {
        format!("it missed more pinned terms than the first answer ({now} against {was})")
    } else if now < was {
        format!("it missed fewer pinned terms ({now} against {was})")
    } else {
        format!(
            "it missed as many pinned terms as the first answer ({now}) and was asked with the terms insisted on"
        )
    };
    vec![
        Attempt {
            request: "first".into(),
            target: Some(first.to_string()),
            terms_missed: was,
            kept: keep_first,
            why: why_first,
        },
        Attempt {
            request: "re-request".into(),
            target: again.map(str::to_string),
            terms_missed: now,
            kept: !keep_first,
            why: why_again,
        },
    ]
}

/// The re-request of a segment whose answer missed pinned terms: the
/// terms stated more explicitly, `insist` set.
pub(crate) fn rerequest_for(units: &[Unit], i: usize) -> Request {
    let u = &units[i];
    Request {
        id: u.segment.id.clone(),
        text: u.sent_text(),
        terms: emphasised_terms(u, &missed(&u.terms)),
        context: Context {
            headline: (i > 0).then(|| units[0].text.clone()),
            previous: (i > 0).then(|| units[i - 1].text.clone()),
            hints: hint_terms(&u.hits),
            problem: None,
        },
        insist: true,
    }
}

/// The warnings of the segments a run leaves without a final answer:
/// failed (with the reason), never answered (interrupted, or `stopped` by an
/// error a rerun cannot fix), or stored while their re-request was not
/// answered; returns how many are the last.
pub fn mark_left(prepared: &mut Prepared, stopped: bool) -> usize {
    let mut rerequests_unanswered = 0;
    let Prepared {
        units,
        pending,
        rerequest,
        ..
    } = prepared;
    for &i in pending.iter().chain(rerequest.iter()) {
        let u = &mut units[i];
        if let Some(f) = &u.failure {
            u.warnings.push(if u.fatal.is_some() {
                format!("not translated: {f}")
            } else {
                format!("not translated: {f}; rerun the same command to retry")
            });
        } else if u.target.is_none() {
            u.warnings.push(if stopped {
                "not translated: the run stopped at an error a rerun cannot fix (see the summary)".into()
            } else {
                "not translated: the run was interrupted before this segment was answered; rerun the same command to resume".into()
            });
        } else if u.awaiting_rerequest {
            rerequests_unanswered += 1;
            u.warnings.push(
                "needs review: the re-request with the pinned terms stated again was not answered; rerun the same command to finish it"
                    .into(),
            );
        }
    }
    rerequests_unanswered
}

/// Adds `b`'s counts to `a`.
pub fn add_counts(a: &mut RunCounts, b: RunCounts) {
    a.requests += b.requests;
    a.answered += b.answered;
    a.retries += b.retries;
    a.chars_sent += b.chars_sent;
    a.failed += b.failed;
    a.stray_ids += b.stray_ids;
}

/// Missed pinned terms and forbidden renderings become warnings, whether
/// the English came from the engine or from the memory (so a resumed run
/// writes what an uninterrupted one would).
fn flag_terms(u: &mut Unit) {
    if u.target.is_none() {
        return;
    }
    let m = missed(&u.terms);
    if !m.is_empty() {
        let list: Vec<String> = m
            .iter()
            .map(|t| {
                // which occurrence, when the segment has the term more than once
                let same: Vec<&CheckedTerm> = u
                    .terms
                    .iter()
                    .filter(|o| o.target == t.target && o.honoured.is_some())
                    .collect();
                let nth = same.iter().filter(|o| o.start < t.start).count() + 1;
                if same.len() > 1 {
                    format!(
                        "{} → {} (occurrence {nth} of {}: the English has it {} time{})",
                        t.surface,
                        crate::glossary::check::shown(&t.target),
                        same.len(),
                        same.iter().filter(|o| o.honoured == Some(true)).count(),
                        if same.iter().filter(|o| o.honoured == Some(true)).count() == 1 {
                            ""
                        } else {
                            "s"
                        }
                    )
                } else {
                    format!(
                        "{} → {}",
                        t.surface,
                        crate::glossary::check::shown(&t.target)
                    )
                }
            })
            .collect();
        u.warnings.push(format!(
            "needs review: pinned term missed: {}",
            list.join(", ")
        ));
    }
    for t in &u.terms {
        if !t.forbidden_found.is_empty() {
            let w = format!(
                "needs review: forbidden rendering of {} used: {}",
                t.source,
                t.forbidden_found.join(", ")
            );
            if !u.warnings.contains(&w) {
                u.warnings.push(w);
            }
        }
    }
}

/// A segment whose source had inline formatting and whose English has no
/// place for it (from the memory, or the engine lost the markers) says so.
fn flag_formats(u: &mut Unit) {
    if u.formats.is_empty() || u.target.is_none() || u.marked_target.is_some() {
        return;
    }
    let why = if matches!(u.origin, Origin::Mt) {
        "the engine's English did not keep its markers"
    } else {
        "the English came from the memory, which keeps no formatting"
    };
    let list: Vec<String> = u.formats.iter().map(|f| f.describe()).collect();
    u.warnings.push(format!(
        "formatting not placed: {} ({why}); apply it by hand",
        list.join(", ")
    ));
}

/// The aligned document and its summary.
pub fn finish(
    prepared: Prepared,
    outcome: Option<&RunOutcome>,
    started: Instant,
) -> (Bitext, RunSummary) {
    let mut summary = RunSummary {
        segments: prepared.units.len(),
        from_memory: prepared.from_memory,
        ..RunSummary::default()
    };
    if let Some(o) = outcome {
        summary.requests = o.counts.requests as usize;
        summary.answered = o.counts.answered as usize;
        summary.retries = o.counts.retries as usize;
        summary.chars_sent = o.counts.chars_sent as usize;
        summary.stray_ids = o.counts.stray_ids as usize;
    }
    let mut pairs = Vec::with_capacity(prepared.units.len());
    for mut u in prepared.units {
        flag_terms(&mut u);
        flag_formats(&mut u);
        if u.sent {
            summary.sent += 1;
        }
        if u.failure.is_some() {
            summary.failed += 1;
        }
        let terms = if u.target.is_some() {
            u.terms
        } else {
            u.hits.iter().map(CheckedTerm::unchecked).collect()
        };
        for t in &terms {
            match t.honoured {
                Some(true) => summary.terms_honoured += 1,
                Some(false) => summary.terms_missed += 1,
                None => {}
            }
        }
        // A suggestion that repeats the chosen translation adds nothing.
        let suggestions = u
            .suggestions
            .into_iter()
            .filter(|s| Some(&s.target) != u.target.as_ref())
            .collect();
        pairs.push(AlignedPair {
            id: u.segment.id,
            para: u.segment.para,
            source: u.segment.text,
            target: u.target,
            origin: u.origin,
            terms,
            warnings: u.warnings,
            suggestions,
            start: u.segment.start,
            end: u.segment.end,
            formats: u.formats,
            marked: u.marked_target,
            history: u.history,
        });
    }
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    let mut meta = prepared.meta;
    meta.summary = Some(summary.clone());
    (Bitext { meta, pairs }, summary)
}

#[cfg(test)]
mod tests;
