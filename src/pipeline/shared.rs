//! A document translated against a memory other processes share (a
//! desk's PostgreSQL database): segments another process already has in
//! flight are not sent again, but waited for.
//!
//! Before sending, the document's pending cache keys are claimed
//! ([`Memory::claim`]). What this process was granted is sent as usual
//! ([`translate`]); then it waits for the rest: an answer another process
//! stores is used as a memory hit, and a key whose holder stopped renewing
//! its lease (it died) is claimed and sent here. Sending first and waiting
//! after means two processes each waiting for the other's keys cannot
//! happen. With a memory one process owns this is [`translate`] itself.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::{PipelineError, Prepared, ProgressSink, RunOutcome, Settings, Translator, translate};
use crate::memory::{Memory, MemoryError};

/// [`translate`], sharing the work with other processes through the
/// memory's claims. Also returns how many segments another process's
/// answers filled.
pub async fn translate_shared(
    mut prepared: Prepared,
    mut mem: Memory,
    translator: &dyn Translator,
    settings: &Settings,
    cancel: watch::Receiver<bool>,
    progress: Arc<dyn ProgressSink>,
) -> Result<(Prepared, Memory, RunOutcome), PipelineError> {
    if !mem.shared() {
        return translate(prepared, mem, translator, settings, cancel, progress).await;
    }
    // 1. Claim; what another process holds waits.
    let (waiting, mem2, prepared2) = blocking(move || {
        let waiting = hold(&mut mem, &mut prepared)?;
        Ok((waiting, mem, prepared))
    })
    .await?;
    let (mut prepared, mut mem) = (prepared2, mem2);
    let mut waiting = waiting;
    let mut outcome = RunOutcome::default();
    let mut first = true;
    loop {
        // 2. Send what this process holds.
        if first || !prepared.pending.is_empty() {
            let (p, m, o) = translate(
                prepared,
                mem,
                translator,
                settings,
                cancel.clone(),
                progress.clone(),
            )
            .await?;
            merge(&mut outcome, o);
            prepared = p;
            mem = m;
        }
        first = false;
        if waiting.is_empty() || *cancel.borrow() || outcome.fatal.is_some() {
            break;
        }
        // 3. Wait for the others' answers or their expired claims.
        let cancel2 = cancel.clone();
        let check = settings.check_terms;
        let (w, m, p) = blocking(move || {
            let w = wait(&mut mem, &mut prepared, waiting, check, &cancel2)?;
            Ok((w, mem, prepared))
        })
        .await?;
        waiting = w;
        mem = m;
        prepared = p;
        // The taken-over keys are in `prepared.pending` for the next round;
        // the re-requests were all sent in the first.
        prepared.rerequest.clear();
    }
    for &i in &waiting {
        prepared.units[i].warnings.push(
            "not translated: the run was interrupted while another process had this segment in flight; rerun the same command to resume".into(),
        );
    }
    Ok((prepared, mem, outcome))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, MemoryError> + Send + 'static,
) -> Result<T, PipelineError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| PipelineError::Join(e.to_string()))?
        .map_err(PipelineError::from)
}

fn merge(a: &mut RunOutcome, b: RunOutcome) {
    a.counts.requests += b.counts.requests;
    a.counts.answered += b.counts.answered;
    a.counts.retries += b.counts.retries;
    a.counts.chars_sent += b.counts.chars_sent;
    a.counts.failed += b.counts.failed;
    a.interrupted |= b.interrupted;
    a.re_requested += b.re_requested;
    a.abandoned_in_flight |= b.abandoned_in_flight;
    a.fatal = a.fatal.take().or(b.fatal);
    a.rerequests_unanswered += b.rerequests_unanswered;
}

/// Claim the pending keys; the pending segments left are the granted ones
/// (and those without a key). Returns the segments another process holds.
fn hold(mem: &mut Memory, prepared: &mut Prepared) -> Result<Vec<usize>, MemoryError> {
    let keys: Vec<String> = prepared
        .pending
        .iter()
        .filter_map(|&i| prepared.units[i].key.clone())
        .collect();
    let granted: HashSet<String> = mem.claim(&keys)?.into_iter().collect();
    let (mine, theirs): (Vec<usize>, Vec<usize>) = prepared.pending.iter().partition(|&&i| {
        prepared.units[i]
            .key
            .as_ref()
            .is_none_or(|k| granted.contains(k))
    });
    prepared.pending = mine;
    Ok(theirs)
}

/// Wait until each of `waiting` has an answer in the memory (filled in as
/// a memory hit) or its claim expired (claimed, moved to `pending`).
/// Returns what is still waiting when cancelled, else nothing.
fn wait(
    mem: &mut Memory,
    prepared: &mut Prepared,
    mut waiting: Vec<usize>,
    check_terms: super::CheckFn,
    cancel: &watch::Receiver<bool>,
) -> Result<Vec<usize>, MemoryError> {
    let poll = (mem.lease() / 10).clamp(Duration::from_millis(20), Duration::from_millis(500));
    prepared.pending.clear();
    while !waiting.is_empty() && !*cancel.borrow() {
        std::thread::sleep(poll);
        let mut still = Vec::new();
        for i in waiting {
            let Some(key) = prepared.units[i].key.clone() else {
                continue;
            };
            match mem.lookup_key(&key)? {
                Some(p) if !p.pending => {
                    let u = &mut prepared.units[i];
                    u.origin = p.origin.document_origin();
                    u.terms = check_terms(&u.hits, &p.target);
                    u.target = Some(p.target);
                    u.suggestions.clear();
                    prepared.from_memory += 1;
                }
                _ => still.push(i),
            }
        }
        let keys: Vec<String> = still
            .iter()
            .filter_map(|&i| prepared.units[i].key.clone())
            .collect();
        let granted: HashSet<String> = mem.claim(&keys)?.into_iter().collect();
        let (taken, left): (Vec<usize>, Vec<usize>) = still.into_iter().partition(|&i| {
            prepared.units[i]
                .key
                .as_ref()
                .is_some_and(|k| granted.contains(k))
        });
        waiting = left;
        if !taken.is_empty() {
            prepared.pending = taken;
            return Ok(waiting);
        }
    }
    Ok(waiting)
}
