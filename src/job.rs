/*!
A translation job: one or many documents through the whole pipeline, as
one stream.

[`crate::pipeline`] holds the stages of one document; this module runs a
job of any number of them the way a folder of articles needs it. Documents
are read, segmented and matched against the glossary on a thread of their
own, ahead of the rest (at most [`READ_AHEAD`] documents not yet written);
each one is looked up in the memory as it arrives and its segments go to
the engine at once, while earlier documents' requests are already out, so
batches are filled across article boundaries (the last segments of one
article share a request with the first of the next; each output still holds
exactly its own segments, in order). A segment repeated anywhere in the job
is sent once. Every answer is applied and committed as it arrives, through
the one memory connection the job was given (crash-safe: a rerun sends
nothing already stored, and finishes the re-requests an interrupted run left
pending); fuzzy suggestions come from the memory as the job found it, not
from its own answers; an answer that misses a pinned term is re-requested at once, in
the same stream. Each document is written as soon as its last segment is
in, by writer threads of their own (four for a folder, one for standard
output).

With a memory other processes share (a desk's PostgreSQL database), each
segment is claimed before it is sent, and so is the re-request of a pending
answer (the claim lasts until the final answer is stored); one another
process has in flight is
not sent again but waited for, and taken as a memory hit when that process
stores it, or claimed and sent here when its holder's lease ends.

Progress goes to a [`Sink`] (the CLI draws bars with it); the run ends with
an [`Outcome`] the caller maps to an exit code. [`inputs::plan`] turns
what a command line names (files, folders, standard input, an output file
or folder) into the job's [`Document`]s.
*/

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use crate::backend::engine::Feed;
use crate::glossary::Matcher;
use crate::input::{InputError, Source, read_document_with};
use crate::memory::{Memory, MemoryError, MtEntry, time};
use crate::model::{Bitext, DocMeta, Request, RunSummary, Segment, TermHit};
use crate::output::{Format, OutputError, WriteOptions};
use crate::pipeline::{
    self, Answered, EngineInfo, OFFLINE_WARNING, PlannedRequest, Prepared, RunCounts, RunOutcome,
    Settings, Translator,
};
use crate::segment::{SegmentOptions, Segmenter};

pub mod inputs;

/// Documents read but not yet written, at most: enough to keep a large
/// batch size times concurrency fed with short articles, few enough that a
/// folder of thousands is never all in memory.
pub const READ_AHEAD: usize = 256;

/// Requests of a document sent together while it is looked up: the first
/// group is this small, so that the first request leaves after a few
/// look-ups, and each next one twice as large, up to [`SEND_EVERY`].
const FIRST_GROUP: usize = 8;

/// The largest group of a document's requests sent together while it is
/// looked up.
const SEND_EVERY: usize = 256;

/// Threads writing a folder's outputs.
const WRITERS: usize = 4;

/// Answers applied before their translations are committed together.
const COMMIT_EVERY: usize = 64;

/// One input document and where its output goes (`None`: standard output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub source: Source,
    pub output: Option<PathBuf>,
}

/// Everything a job needs.
pub struct Job {
    /// The one connection to the memory the whole job uses.
    pub memory: Memory,
    pub work: Work,
}

/// A job's documents and how to treat them (everything but the memory,
/// shared with the threads that read and write).
pub struct Work {
    pub documents: Vec<Document>,
    pub format: Format,
    pub write: WriteOptions,
    pub segmenter: Segmenter,
    pub segment_options: SegmentOptions,
    /// The glossary's matcher and its content hash (none: no pinned terms).
    pub glossary: Option<(Matcher, String)>,
    /// The engine; `None` runs offline (what the memory has, nothing sent).
    pub translator: Option<Arc<dyn Translator>>,
    pub settings: Settings,
    /// Send nothing, write nothing: report what would be sent
    /// ([`Sink::dry_run`]).
    pub dry_run: bool,
    /// How long fetching a page at a URL may take, in all
    /// (`input::fetch::timeout` reads it from the environment).
    pub fetch_timeout: std::time::Duration,
    /// Turns true to stop (Ctrl-C): nothing more is sent, requests in flight
    /// are awaited (at most `settings.drain_timeout`), and what is read is
    /// written with what it has.
    pub cancel: watch::Receiver<bool>,
}

/// A document written, as the summary shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The input as named on the command line (`<stdin>`, a path, a URL).
    pub name: String,
    pub output: Option<PathBuf>,
    /// The summary in the document's header. In a job of several
    /// documents, requests are shared: each document counts what the run
    /// spent up to its answers, so that the documents add up to the run.
    pub summary: RunSummary,
    /// Segments without English.
    pub untranslated: usize,
    pub glossary_hits: usize,
    /// Segments that failed, with the reason.
    pub failures: Vec<(String, String)>,
    /// `--refresh`: machine translations in the memory sent again.
    pub refreshed: usize,
}

/// What a dry run foresees for one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub name: String,
    pub segments: usize,
    pub from_memory: usize,
    /// Segments to send.
    pub to_send: usize,
    /// Characters of text to send.
    pub chars: usize,
    /// Requests the document alone would take (none: no backend).
    pub requests: Option<usize>,
    /// Each of them, as it would be sent.
    pub planned: Vec<PlannedRequest>,
}

/// Progress of a job; every method has a no-op default.
pub trait Sink {
    /// Something the user should know that does not stop the job.
    fn warning(&mut self, _message: &str) {}
    /// A document is looked up: `segments`, `from_memory` of them done,
    /// `to_send` to be sent.
    fn planned(&mut self, _document: &str, _segments: usize, _from_memory: usize, _to_send: usize) {
    }
    /// An answer came back with `translated` and `failed` segments;
    /// `retries` so far.
    fn answered(&mut self, _translated: usize, _failed: usize, _retries: u64) {}
    /// A later phase starts (re-asking segments that missed terms).
    fn phase(&mut self, _label: &str) {}
    /// A document is written.
    fn written(&mut self, _report: &Report) {}
    /// A dry run's plan for a document.
    fn dry_run(&mut self, _plan: &Plan) {}
}

/// No progress reports.
pub struct Quiet;
impl Sink for Quiet {}

/// How a job ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Documents written.
    pub documents: usize,
    /// The run's figures: the documents' summed, the engine's counts as the
    /// run made them (requests, retries, characters, stray ids).
    pub totals: RunSummary,
    /// No backend: nothing was sent.
    pub offline: bool,
    /// Segments without English in the outputs.
    pub untranslated: usize,
    /// Ctrl-C stopped it.
    pub interrupted: bool,
    /// Re-requests not answered (their first answers stay pending in the
    /// memory; a rerun sends them again).
    pub rerequests_unanswered: usize,
    /// Segments re-requested for missed terms.
    pub re_requested: usize,
    /// After Ctrl-C, requests still in flight at the drain timeout were
    /// abandoned.
    pub abandoned_in_flight: bool,
    /// An error a rerun cannot fix stopped the job: the message and the
    /// setting to change.
    pub fatal: Option<String>,
    /// Dry run: requests the whole job would take (batches filled across
    /// documents), and the bytes of their bodies.
    pub dry_requests: usize,
    pub dry_bytes: usize,
}

impl Outcome {
    /// Whether a rerun has something left to do: interrupted, or segments
    /// not translated (failed, not sent, re-request unanswered).
    pub fn partial(&self) -> bool {
        !self.offline
            && (self.interrupted || self.untranslated > 0 || self.rerequests_unanswered > 0)
    }
}

/// Why a job stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("{context}: {error}")]
    Memory { context: String, error: MemoryError },
    #[error("writing {document} as {format}: {error}")]
    Output {
        document: String,
        format: Format,
        error: OutputError,
    },
    #[error("creating {path}: {error}")]
    Dir { path: String, error: std::io::Error },
    #[error("starting the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// A document read and segmented, with its glossary hits.
struct Read {
    name: String,
    output: Option<PathBuf>,
    meta: DocMeta,
    segments: Vec<Segment>,
    hits: Vec<TermHit>,
    empty: bool,
}

fn read_one(job: &Work, info: Option<&EngineInfo>, d: &Document) -> Result<Read, JobError> {
    let name = d.source.to_string();
    let document = read_document_with(&d.source, job.fetch_timeout)?;
    let segments = job.segmenter.segment(&document.text, job.segment_options);
    let hits = match &job.glossary {
        Some((m, _)) => segments.iter().flat_map(|s| m.find(s)).collect(),
        None => Vec::new(),
    };
    let meta = DocMeta {
        source_path: match &d.source {
            Source::File(p) => Some(p.display().to_string()),
            Source::Stdin => None,
        },
        // A page's URL is its name.
        source_name: match &d.source {
            _ if document.url.is_some() => document.url.clone(),
            Source::File(p) => p.file_name().map(|n| n.to_string_lossy().into_owned()),
            Source::Stdin => None,
        },
        title: document
            .title
            .or_else(|| segments.first().map(Segment::flat_text)),
        created: Some(time::format_rfc3339(time::now_unix())),
        tarjama_version: Some(env!("CARGO_PKG_VERSION").into()),
        backend: info.map(|i| i.name.clone()),
        model: info.and_then(|i| i.model.clone()),
        glossary_hash: job.glossary.as_ref().map(|(_, h)| h.clone()),
        source_lang: Some("ar".into()),
        target_lang: Some("en".into()),
        summary: None,
        headings: document.headings,
        rtl_paragraphs: document.rtl_paragraphs,
        inline: document.inline,
    };
    Ok(Read {
        name,
        output: d.output.clone(),
        meta,
        segments,
        hits,
        empty: document.text.trim().is_empty(),
    })
}

fn prepare(
    job: &Work,
    memory: &Memory,
    read: Read,
    info: Option<&EngineInfo>,
) -> Result<Prepared, JobError> {
    let name = read.name;
    pipeline::prepare(
        memory,
        read.meta,
        read.segments,
        read.hits,
        info,
        &job.settings,
    )
    .map_err(|error| JobError::Memory {
        context: format!("{name}: looking segments up in the memory"),
        error,
    })
}

/// Render `doc` and write it to `output` (standard output when `None`).
fn write(
    name: &str,
    output: Option<&Path>,
    format: Format,
    options: &WriteOptions,
    doc: &Bitext,
) -> Result<(), JobError> {
    let err = |error| JobError::Output {
        document: name.to_string(),
        format,
        error,
    };
    let bytes = crate::output::render(format, doc, options).map_err(err)?;
    match output {
        Some(p) => {
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|error| JobError::Dir {
                    path: dir.display().to_string(),
                    error,
                })?;
            }
            crate::atomic::write_atomic(p, &bytes).map_err(|e| err(e.into()))
        }
        None => crate::atomic::write_atomic(Path::new("-"), &bytes).map_err(|e| err(e.into())),
    }
}

fn report(name: String, output: Option<PathBuf>, doc: &Bitext, s: &RunSummary) -> Report {
    Report {
        name,
        output,
        summary: s.clone(),
        untranslated: doc.pairs.iter().filter(|p| p.target.is_none()).count(),
        glossary_hits: doc.pairs.iter().map(|p| p.terms.len()).sum(),
        failures: Vec::new(),
        refreshed: 0,
    }
}

fn add_summary(total: &mut RunSummary, s: &RunSummary) {
    total.segments += s.segments;
    total.from_memory += s.from_memory;
    total.sent += s.sent;
    total.failed += s.failed;
    total.terms_honoured += s.terms_honoured;
    total.terms_missed += s.terms_missed;
}

/// Run `job`: every document read, looked up, translated (or, offline or
/// in a dry run, not) and written, with progress on `sink`.
pub fn run(job: Job, sink: &mut impl Sink) -> Result<Outcome, JobError> {
    let started = Instant::now();
    let Job { mut memory, work } = job;
    // Suggestions come from the memory as the job found it: they do not
    // depend on the order answers arrive in, and a look-up does not score
    // the sentences this job translated moments before.
    memory
        .freeze_suggestions()
        .map_err(|error| JobError::Memory {
            context: "reading the memory".into(),
            error,
        })?;
    let mut outcome = match (&work.translator, work.dry_run) {
        (_, true) => dry_run(&work, &memory, sink)?,
        (None, false) => offline(&work, &memory, sink)?,
        (Some(t), false) => {
            let t = t.clone();
            stream(&work, &mut memory, t, sink)?
        }
    };
    outcome.totals.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(outcome)
}

/// No backend: each document with what the memory has.
fn offline(job: &Work, memory: &Memory, sink: &mut impl Sink) -> Result<Outcome, JobError> {
    let mut out = Outcome {
        offline: true,
        ..Outcome::default()
    };
    for d in &job.documents {
        let started = Instant::now();
        let read = read_one(job, None, d)?;
        if read.empty {
            sink.warning(&format!(
                "warning: {} is empty: nothing to translate; writing an empty document",
                read.name
            ));
        }
        let (name, output) = (read.name.clone(), read.output.clone());
        let p = pipeline::offline(prepare(job, memory, read, None)?, OFFLINE_WARNING);
        let (doc, s) = pipeline::finish(p, None, started);
        write(&name, output.as_deref(), job.format, &job.write, &doc)?;
        let r = report(name, output, &doc, &s);
        add_summary(&mut out.totals, &s);
        out.untranslated += r.untranslated;
        out.documents += 1;
        sink.written(&r);
    }
    Ok(out)
}

/// A request id unique in the job: the segment's id, prefixed with the
/// document's number when there are several.
fn job_id(several: bool, doc: usize, segment: &str) -> String {
    if several {
        format!("{}/{segment}", doc + 1)
    } else {
        segment.to_string()
    }
}

/// Send nothing: each document's plan, and the job's requests.
fn dry_run(job: &Work, memory: &Memory, sink: &mut impl Sink) -> Result<Outcome, JobError> {
    let info = job.translator.as_ref().map(|t| t.info().clone());
    let several = job.documents.len() > 1;
    let mut all = Vec::new();
    let mut out = Outcome::default();
    for (k, d) in job.documents.iter().enumerate() {
        let read = read_one(job, info.as_ref(), d)?;
        let name = read.name.clone();
        let p = prepare(job, memory, read, info.as_ref())?;
        let reqs = p.requests(info.as_ref());
        let planned = job
            .translator
            .as_ref()
            .map(|t| t.preview(&reqs))
            .unwrap_or_default();
        let plan = Plan {
            name,
            segments: p.units.len(),
            from_memory: p.from_memory,
            to_send: p.pending.len(),
            chars: p.pending_chars(),
            requests: job.translator.as_ref().map(|t| t.planned_requests(&reqs)),
            planned,
        };
        out.dry_bytes += plan
            .planned
            .iter()
            .filter(|r| r.refused.is_none())
            .filter_map(|r| r.body.as_ref().map(String::len))
            .sum::<usize>();
        out.totals.segments += plan.segments;
        out.totals.from_memory += plan.from_memory;
        out.totals.sent += plan.to_send;
        out.totals.chars_sent += plan.chars;
        sink.dry_run(&plan);
        all.extend(reqs.into_iter().map(|mut r| {
            r.id = job_id(several, k, &r.id);
            r
        }));
    }
    out.dry_requests = job
        .translator
        .as_ref()
        .map_or(0, |t| t.planned_requests(&all));
    Ok(out)
}

/// What the job loop hears about.
enum Event {
    /// A document read (its number), or why it could not be.
    Read(usize, Box<Result<Read, JobError>>),
    /// The reader is done (every document, or stopped).
    ReadDone,
    /// An answer from the engine.
    Answered(Answered),
    /// A document written (its number), or why it could not be.
    Written(Box<Result<Report, JobError>>),
    /// The engine's run is over: its counts, and whether requests in flight
    /// were abandoned after Ctrl-C.
    EngineDone(RunCounts, bool),
}

/// One request in flight: the segments its answer applies to (document,
/// unit; the one sent first) and whether it is a re-request.
struct Slot {
    targets: Vec<(usize, usize)>,
    retry: bool,
}

/// A document being translated.
struct Doc {
    name: String,
    output: Option<PathBuf>,
    prepared: Prepared,
    started: Instant,
    /// Answers it still waits for.
    outstanding: usize,
    /// Stored with each of its translations in the memory.
    label: Option<String>,
    spent: RunCounts,
    re_requested: usize,
    /// Its segments are still being looked up.
    registering: bool,
}

/// What a document to write carries to the writer thread.
struct ToWrite {
    doc: Bitext,
    report: Report,
}

/// The job loop's state.
struct Stream<'a> {
    job: &'a Work,
    memory: &'a mut Memory,
    /// A document that could not be read: the job stops reading, finishes
    /// the others and ends with it.
    read_error: Option<JobError>,
    info: EngineInfo,
    translator: Arc<dyn Translator>,
    several: bool,
    docs: HashMap<usize, Doc>,
    index: HashMap<String, Slot>,
    /// Cache key → id of the first-pass request in flight for it.
    in_flight: HashMap<String, String>,
    /// The same for the re-requests an interrupted run left pending.
    in_flight_retry: HashMap<String, String>,
    input: Option<mpsc::UnboundedSender<Feed>>,
    stop: Arc<watch::Sender<bool>>,
    entries: Vec<MtEntry>,
    error: Option<JobError>,
    out: Outcome,
    /// What answers spent that no document took yet.
    unattributed: RunCounts,
    writing: usize,
    /// Events the look-ups of a document did not handle, for the job loop.
    backlog: std::collections::VecDeque<Event>,
    /// A memory other processes share (a desk's database): each segment is
    /// claimed before it is sent, and one another process holds waits here
    /// (document, unit) for its answer, or for the holder's lease to end.
    shared: bool,
    waiting: Vec<(usize, usize)>,
    /// How often the waiting segments are looked at again.
    poll: Duration,
    last_poll: Instant,
}

impl Stream<'_> {
    fn send(&self, r: Request) {
        if let Some(i) = &self.input {
            let _ = i.send(Feed::Request(r));
        }
    }

    /// Nothing more comes before answers do: a part-full batch goes now.
    fn flush(&self) {
        if let Some(i) = &self.input {
            let _ = i.send(Feed::Flush);
        }
    }

    fn fail(&mut self, e: JobError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
        self.stop.send_replace(true);
        self.input = None;
    }

    /// Look `read` up and send what it needs. Between two segments, the
    /// answers that came meanwhile are applied and committed (a long
    /// document's look-ups never hold finished answers back from the
    /// memory); other events wait in `backlog`.
    fn register(
        &mut self,
        k: usize,
        read: Read,
        sink: &mut impl Sink,
        events: &std_mpsc::Receiver<Event>,
    ) {
        if read.empty {
            sink.warning(&format!(
                "warning: {} is empty: nothing to translate; writing an empty document",
                read.name
            ));
        }
        let label = read
            .meta
            .source_path
            .clone()
            .or_else(|| read.meta.source_name.clone());
        let Read {
            name,
            output,
            meta,
            segments,
            hits,
            ..
        } = read;
        let mut by_seg = pipeline::hits_by_segment(hits);
        self.docs.insert(
            k,
            Doc {
                name: name.clone(),
                output,
                prepared: Prepared::new(meta, segments.len()),
                started: Instant::now(),
                outstanding: 0,
                registering: true,
                label,
                spent: RunCounts::default(),
                re_requested: 0,
            },
        );
        // Segments to send go out in groups as they are looked up (8, 16,
        // 32... up to SEND_EVERY): a long document's first requests are out
        // after a few look-ups while the rest is looked up, and a short
        // one's go together. A part-full batch waits for the next group
        // (the engine's linger), so batches stay full while look-ups are
        // fast.
        let mut queued: Vec<Request> = Vec::new();
        let mut group = FIRST_GROUP;
        for (n, segment) in segments.into_iter().enumerate() {
            if queued.len() >= group {
                for r in queued.drain(..) {
                    self.send(r);
                }
                group = (group * 2).min(SEND_EVERY);
            }
            if n > 0 {
                self.catch_up(events, sink);
                if self.error.is_some() {
                    return;
                }
            }
            let hits = by_seg.remove(&segment.id).unwrap_or_default();
            let doc = self.docs.get_mut(&k).expect("registered above");
            let looked = match doc.prepared.push(
                self.memory,
                segment,
                hits,
                Some(&self.info),
                &self.job.settings,
            ) {
                Ok(l) => l,
                Err(error) => {
                    return self.fail(JobError::Memory {
                        context: format!("{name}: looking segments up in the memory"),
                        error,
                    });
                }
            };
            let i = doc.prepared.units.len() - 1;
            let retry = match looked {
                pipeline::Looked::Done => continue,
                pipeline::Looked::Pending => false,
                // The re-request an interrupted run left pending.
                pipeline::Looked::Rerequest => true,
            };
            doc.outstanding += 1;
            let u = &doc.prepared.units[i];
            // A segment already on its way (the same cache key, here or in
            // another document) is not sent again.
            let map = if retry {
                &self.in_flight_retry
            } else {
                &self.in_flight
            };
            if let Some(key) = &u.key
                && let Some(slot) = map.get(key).and_then(|id| self.index.get_mut(id))
                && slot.retry == retry
            {
                slot.targets.push((k, i));
                continue;
            }
            // A re-request is claimed like a first request: another
            // process that found the same pending answer waits for it.
            if self.shared
                && let Some(key) = &u.key
            {
                match self.memory.claim(std::slice::from_ref(key)) {
                    Ok(granted) if granted.is_empty() => {
                        // Another process has it in flight.
                        self.waiting.push((k, i));
                        continue;
                    }
                    Ok(_) => {}
                    Err(error) => {
                        return self.fail(JobError::Memory {
                            context: format!("{name}: claiming segments in the shared memory"),
                            error,
                        });
                    }
                }
            }
            let id = job_id(self.several, k, &u.segment.id);
            if let Some(key) = &u.key {
                let map = if retry {
                    &mut self.in_flight_retry
                } else {
                    &mut self.in_flight
                };
                map.insert(key.clone(), id.clone());
            }
            let mut r = if retry {
                doc.re_requested += 1;
                self.out.re_requested += 1;
                pipeline::rerequest_for(&doc.prepared.units, i)
            } else {
                doc.prepared.request_for(i, Some(&self.info))
            };
            r.id = id.clone();
            self.index.insert(
                id,
                Slot {
                    targets: vec![(k, i)],
                    retry,
                },
            );
            queued.push(r);
        }
        for r in queued {
            self.send(r);
        }
        let doc = self.docs.get_mut(&k).expect("registered above");
        doc.registering = false;
        let p = &doc.prepared;
        sink.planned(&name, p.units.len(), p.from_memory, p.pending.len());
    }

    /// The segments another process holds: an answer it stored is taken as
    /// a memory hit; a claim whose lease ended (its holder died) is taken
    /// over and the segment sent from here.
    fn poll_waiting(&mut self) {
        self.last_poll = Instant::now();
        if self.waiting.is_empty() || self.error.is_some() {
            return;
        }
        let mut still = Vec::new();
        for (k, i) in std::mem::take(&mut self.waiting) {
            let Some(doc) = self.docs.get_mut(&k) else {
                continue;
            };
            let Some(key) = doc.prepared.units[i].key.clone() else {
                continue;
            };
            match self.memory.lookup_key(&key) {
                Ok(Some(p)) if !p.pending => {
                    let u = &mut doc.prepared.units[i];
                    u.origin = p.origin.document_origin();
                    u.terms = (self.job.settings.check_terms)(&u.hits, &p.target);
                    u.target = Some(p.target);
                    u.suggestions.clear();
                    u.awaiting_rerequest = false;
                    doc.prepared.from_memory += 1;
                    doc.outstanding -= 1;
                }
                Ok(_) => still.push((k, i, key)),
                Err(error) => {
                    let context = format!("{}: reading the shared memory", doc.name);
                    return self.fail(JobError::Memory { context, error });
                }
            }
        }
        if still.is_empty() {
            return;
        }
        let keys: Vec<String> = still.iter().map(|(_, _, key)| key.clone()).collect();
        let granted: std::collections::HashSet<String> = match self.memory.claim(&keys) {
            Ok(g) => g.into_iter().collect(),
            Err(error) => {
                return self.fail(JobError::Memory {
                    context: "claiming segments in the shared memory".into(),
                    error,
                });
            }
        };
        let mut sent = false;
        for (k, i, key) in still {
            if !granted.contains(&key) {
                self.waiting.push((k, i));
                continue;
            }
            let doc = self
                .docs
                .get_mut(&k)
                .expect("a document waiting for answers");
            let id = job_id(self.several, k, &doc.prepared.units[i].segment.id);
            // A pending answer found at look-up waits for its re-request.
            let retry = doc.prepared.units[i].awaiting_rerequest;
            let mut r = if retry {
                doc.re_requested += 1;
                self.out.re_requested += 1;
                self.in_flight_retry.insert(key, id.clone());
                pipeline::rerequest_for(&doc.prepared.units, i)
            } else {
                self.in_flight.insert(key, id.clone());
                doc.prepared.request_for(i, Some(&self.info))
            };
            r.id = id.clone();
            self.index.insert(
                id,
                Slot {
                    targets: vec![(k, i)],
                    retry,
                },
            );
            self.send(r);
            sent = true;
        }
        if sent {
            self.flush();
        }
    }

    /// Apply and commit the answers that have arrived; keep other events
    /// for the job loop.
    fn catch_up(&mut self, events: &std_mpsc::Receiver<Event>, sink: &mut impl Sink) {
        let mut any = false;
        while let Ok(e) = events.try_recv() {
            match e {
                Event::Answered(a) => {
                    self.answered(a, sink);
                    any = true;
                }
                other => self.backlog.push_back(other),
            }
        }
        if any {
            self.commit();
        }
    }

    /// Apply an answer; the documents it completes are then written.
    fn answered(&mut self, a: Answered, sink: &mut impl Sink) {
        let first_doc = a
            .results
            .iter()
            .find_map(|(id, _)| self.index.get(id).map(|s| s.targets[0].0));
        pipeline::add_counts(&mut self.unattributed, a.spent);
        if let Some(d) = first_doc.and_then(|d| self.docs.get_mut(&d)) {
            pipeline::add_counts(&mut d.spent, std::mem::take(&mut self.unattributed));
        }
        let (mut ok, mut failed) = (0, 0);
        let stopping = *self.stop.borrow();
        for (id, res) in a.results {
            let Some(slot) = self.index.remove(&id) else {
                continue;
            };
            let (d0, i0) = slot.targets[0];
            if let Some(key) = &self.docs[&d0].prepared.units[i0].key {
                let map = if slot.retry {
                    &mut self.in_flight_retry
                } else {
                    &mut self.in_flight
                };
                if map.get(key) == Some(&id) {
                    map.remove(key);
                }
            }
            for (n, &(d, i)) in slot.targets.iter().enumerate() {
                let doc = self
                    .docs
                    .get_mut(&d)
                    .expect("a document waiting for answers");
                let u = &mut doc.prepared.units[i];
                if pipeline::apply_answer(
                    &mut self.entries,
                    u,
                    n == 0,
                    &res,
                    &self.info,
                    &self.job.settings,
                    slot.retry,
                    doc.label.as_deref(),
                ) {
                    ok += 1;
                } else {
                    failed += 1;
                }
                if let Some(f) = &u.fatal
                    && self.out.fatal.is_none()
                {
                    // Nothing more is read; what is on its way is finished.
                    self.out.fatal = Some(f.clone());
                }
            }
            let lead = &self.docs[&d0].prepared.units[i0];
            if !slot.retry
                && lead.awaiting_rerequest
                && self.info.re_requests()
                && !stopping
                && self.out.fatal.is_none()
                && self.input.is_some()
            {
                let mut r = pipeline::rerequest_for(&self.docs[&d0].prepared.units, i0);
                r.id = id.clone();
                self.docs.get_mut(&d0).expect("present").re_requested += 1;
                self.out.re_requested += 1;
                sink.phase(&format!(
                    "re-asking {} segment{} that missed pinned terms",
                    self.out.re_requested,
                    if self.out.re_requested == 1 { "" } else { "s" }
                ));
                self.index.insert(
                    id,
                    Slot {
                        targets: slot.targets,
                        retry: true,
                    },
                );
                self.send(r);
            } else {
                for (d, _) in slot.targets {
                    if let Some(doc) = self.docs.get_mut(&d) {
                        doc.outstanding -= 1;
                    }
                }
            }
        }
        sink.answered(ok, failed, self.translator.live_retries());
    }

    fn commit(&mut self) {
        if self.entries.is_empty() || self.error.is_some() {
            self.entries.clear();
            return;
        }
        if let Err(error) = self.memory.store_mt(&self.entries) {
            self.fail(JobError::Memory {
                context: "storing translations in the memory".into(),
                error,
            });
        }
        self.entries.clear();
    }

    /// Finish document `k` and hand it to the writer.
    fn finish(&mut self, k: usize, writer: &std_mpsc::Sender<ToWrite>) {
        let Some(mut d) = self.docs.remove(&k) else {
            return;
        };
        let unanswered = pipeline::mark_left(&mut d.prepared, self.out.fatal.is_some());
        self.out.rerequests_unanswered += unanswered;
        let failures: Vec<(String, String)> = d
            .prepared
            .units
            .iter()
            .filter_map(|u| {
                u.failure
                    .as_ref()
                    .map(|f| (u.segment.id.clone(), f.clone()))
            })
            .collect();
        let refreshed = d.prepared.refreshed;
        let outcome = RunOutcome {
            counts: d.spent,
            re_requested: d.re_requested,
            rerequests_unanswered: unanswered,
            ..RunOutcome::default()
        };
        let (doc, s) = pipeline::finish(d.prepared, Some(&outcome), d.started);
        let mut r = report(d.name, d.output, &doc, &s);
        r.failures = failures;
        r.refreshed = refreshed;
        self.writing += 1;
        let _ = writer.send(ToWrite { doc, report: r });
    }
}

/// The streaming run (see the module's documentation).
fn stream(
    job: &Work,
    memory: &mut Memory,
    translator: Arc<dyn Translator>,
    sink: &mut impl Sink,
) -> Result<Outcome, JobError> {
    let info = translator.info().clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // The engine (HTTP client, request bodies, answers) by name, for
        // the pipeline benchmark's CPU split.
        .thread_name("tarjama-engine")
        .enable_all()
        .build()
        .map_err(JobError::Runtime)?;
    let (req_tx, req_rx) = mpsc::unbounded_channel::<Feed>();
    let (ev_tx, ev_rx) = std_mpsc::channel::<Event>();
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    {
        // Ctrl-C stops the engine.
        let mut cancel = job.cancel.clone();
        let stop = stop_tx.clone();
        rt.spawn(async move {
            if cancel.wait_for(|c| *c).await.is_ok() {
                stop.send_replace(true);
            }
        });
    }
    {
        let ev = ev_tx.clone();
        let t = translator.clone();
        let drain = job.settings.drain_timeout;
        let mut stop_wait = stop_rx.clone();
        rt.spawn(async move {
            let (atx, mut arx) = mpsc::unbounded_channel::<Answered>();
            let ev2 = ev.clone();
            let forward = tokio::spawn(async move {
                while let Some(a) = arx.recv().await {
                    if ev2.send(Event::Answered(a)).is_err() {
                        break;
                    }
                }
            });
            let (counts, abandoned) = {
                let run = t.run_stream(req_rx, atx, stop_rx);
                tokio::select! {
                    c = run => (c, false),
                    _ = async {
                        let _ = stop_wait.wait_for(|c| *c).await;
                        tokio::time::sleep(drain).await;
                    } => (RunCounts::default(), true),
                }
            };
            let _ = forward.await;
            let _ = ev.send(Event::EngineDone(counts, abandoned));
        });
    }
    let several = job.documents.len() > 1;
    let result = std::thread::scope(|scope| {
        let (credit_tx, credit_rx) = std_mpsc::channel::<()>();
        for _ in 0..READ_AHEAD {
            let _ = credit_tx.send(());
        }
        {
            let ev = ev_tx.clone();
            let info = &info;
            scope.spawn(move || {
                for (k, d) in job.documents.iter().enumerate() {
                    if credit_rx.recv().is_err() {
                        break;
                    }
                    let r = read_one(job, Some(info), d);
                    let failed = r.is_err();
                    if ev.send(Event::Read(k, Box::new(r))).is_err() || failed {
                        break;
                    }
                }
                let _ = ev.send(Event::ReadDone);
            });
        }
        let (write_tx, write_rx) = std_mpsc::channel::<ToWrite>();
        // Writing a file waits for the disk twice (the file and its folder
        // are synced): a folder's outputs are written by a few threads, so
        // that a slow disk does not hold the reading back. Standard output
        // keeps one writer, in order.
        let writers = if job.documents.iter().all(|d| d.output.is_some()) {
            WRITERS
        } else {
            1
        };
        let write_rx = Arc::new(std::sync::Mutex::new(write_rx));
        for _ in 0..writers {
            let ev = ev_tx.clone();
            let write_rx = write_rx.clone();
            scope.spawn(move || {
                while let Ok(w) = write_rx
                    .lock()
                    .map_err(drop)
                    .and_then(|rx| rx.recv().map_err(drop))
                {
                    let name = w.report.name.clone();
                    let r = write(
                        &name,
                        w.report.output.as_deref(),
                        job.format,
                        &job.write,
                        &w.doc,
                    )
                    .map(|()| w.report);
                    if ev.send(Event::Written(Box::new(r))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(ev_tx);
        let shared = memory.shared();
        let poll =
            (memory.lease() / 10).clamp(Duration::from_millis(20), Duration::from_millis(500));
        let mut s = Stream {
            job,
            memory,
            read_error: None,
            info: info.clone(),
            translator: translator.clone(),
            several,
            docs: HashMap::new(),
            index: HashMap::new(),
            in_flight: HashMap::new(),
            in_flight_retry: HashMap::new(),
            input: Some(req_tx),
            stop: stop_tx.clone(),
            entries: Vec::new(),
            error: None,
            out: Outcome::default(),
            unattributed: RunCounts::default(),
            writing: 0,
            backlog: std::collections::VecDeque::new(),
            shared,
            waiting: Vec::new(),
            poll,
            last_poll: Instant::now(),
        };
        let mut credit = Some(credit_tx);
        let mut reading = true;
        let mut engine_done = false;
        let mut events = Vec::new();
        loop {
            let first = match s.backlog.pop_front() {
                Some(e) => Some(e),
                None if s.waiting.is_empty() => match ev_rx.recv() {
                    Ok(e) => Some(e),
                    Err(_) => break,
                },
                None => match ev_rx.recv_timeout(s.poll) {
                    Ok(e) => Some(e),
                    Err(std_mpsc::RecvTimeoutError::Timeout) => None,
                    Err(std_mpsc::RecvTimeoutError::Disconnected) => break,
                },
            };
            events.extend(first);
            while events.len() < COMMIT_EVERY
                && let Some(e) = s.backlog.pop_front().or_else(|| ev_rx.try_recv().ok())
            {
                events.push(e);
            }
            for e in events.drain(..) {
                match e {
                    Event::Read(k, r) => match *r {
                        Ok(read) => {
                            let stopped = *job.cancel.borrow()
                                || s.out.fatal.is_some()
                                || s.error.is_some()
                                || engine_done;
                            if !stopped {
                                s.register(k, read, sink, &ev_rx);
                            }
                        }
                        Err(e) => {
                            // The documents on their way are finished; no
                            // more are read.
                            s.read_error.get_or_insert(e);
                            credit = None;
                        }
                    },
                    Event::ReadDone => reading = false,
                    Event::Answered(a) => s.answered(a, sink),
                    Event::Written(r) => {
                        s.writing -= 1;
                        match *r {
                            Ok(report) => {
                                add_summary(&mut s.out.totals, &report.summary);
                                s.out.untranslated += report.untranslated;
                                s.out.documents += 1;
                                sink.written(&report);
                                if let Some(c) = &credit {
                                    let _ = c.send(());
                                }
                            }
                            Err(e) => s.fail(e),
                        }
                    }
                    Event::EngineDone(counts, abandoned) => {
                        engine_done = true;
                        s.out.abandoned_in_flight = abandoned;
                        s.out.totals.requests = counts.requests as usize;
                        s.out.totals.answered = counts.answered as usize;
                        s.out.totals.retries = counts.retries as usize;
                        s.out.totals.chars_sent = counts.chars_sent as usize;
                        s.out.totals.stray_ids = counts.stray_ids as usize;
                    }
                }
            }
            s.commit();
            if !s.waiting.is_empty() && s.last_poll.elapsed() >= s.poll {
                if *job.cancel.borrow() || s.out.fatal.is_some() {
                    // Left untranslated, with the interrupted run's warning.
                    s.waiting.clear();
                } else {
                    s.poll_waiting();
                }
            }
            if s.out.fatal.is_some() || *job.cancel.borrow() || s.error.is_some() {
                credit = None;
            }
            // What is complete is written; once the engine is done, so is
            // everything else (interrupted, or stopped).
            let done: Vec<usize> = s
                .docs
                .iter()
                .filter(|(_, d)| (d.outstanding == 0 && !d.registering) || engine_done)
                .map(|(&k, _)| k)
                .collect();
            let mut done = done;
            done.sort_unstable();
            if engine_done && let Some(&first) = done.first() {
                // What the engine spent after the last answer.
                let t = &s.out.totals;
                let engine = RunCounts {
                    requests: t.requests as u64,
                    answered: t.answered as u64,
                    retries: t.retries as u64,
                    chars_sent: t.chars_sent as u64,
                    failed: 0,
                    stray_ids: t.stray_ids as u64,
                };
                let rest = std::mem::take(&mut s.unattributed);
                let d = s.docs.get_mut(&first).expect("present");
                if several {
                    pipeline::add_counts(&mut d.spent, rest);
                } else {
                    d.spent = engine;
                }
            }
            for k in done {
                if s.error.is_some() {
                    // The memory or an output failed: nothing more is
                    // written.
                    s.docs.remove(&k);
                    continue;
                }
                s.finish(k, &write_tx);
            }
            let no_more_docs = !reading || credit.is_none();
            if s.input.is_some() && no_more_docs && s.docs.is_empty() {
                s.input = None;
            } else if no_more_docs && s.backlog.is_empty() {
                s.flush();
            }
            if engine_done && s.docs.is_empty() && s.writing == 0 {
                break;
            }
        }
        drop(credit);
        drop(write_tx);
        drop(ev_rx);
        s.out.interrupted = *job.cancel.borrow();
        match s.error.or(s.read_error) {
            Some(e) => Err(e),
            None => Ok(s.out),
        }
    });
    rt.shutdown_background();
    result
}

#[cfg(test)]
mod tests;
