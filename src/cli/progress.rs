//! The progress display of `tarjama translate`: on stderr, only when stderr
//! is a terminal and `--quiet` is not given, so that stdout carries nothing
//! but the result and logs stay clean.
//!
//! One bar for the whole run (indicatif's `MultiProgress`): for one article
//! its segments; for several, the articles done of total with the segments,
//! memory hits, segments sent, failures, retries and an ETA, and a line per
//! article printed above the bar as each one finishes. A phase label (such
//! as re-asking segments that missed pinned terms) shows what a bar that
//! stands still is waiting for.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Default)]
struct Totals {
    planned: usize,
    done: usize,
    from_memory: usize,
    sent: usize,
    failed: usize,
    retries: u64,
    phase: Option<String>,
}

/// The display of one run (one or several documents).
pub struct Progress {
    multi: Option<MultiProgress>,
    bar: Option<ProgressBar>,
    folder: bool,
    totals: Mutex<Totals>,
}

impl Progress {
    /// A bar on stderr if it is a terminal and `quiet` is off; otherwise a
    /// display that draws nothing (lines are then plain stderr lines).
    pub fn new(quiet: bool, documents: usize) -> Arc<Progress> {
        Progress::with_terminal(!quiet && std::io::stderr().is_terminal(), documents)
    }

    fn with_terminal(draw: bool, documents: usize) -> Arc<Progress> {
        let folder = documents > 1;
        let (multi, bar) = if draw {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let bar = if folder {
                let bar = multi.add(ProgressBar::new(documents as u64));
                bar.set_style(
                    ProgressStyle::with_template(
                        "[{bar:30}] {pos}/{len} articles · ETA {eta} · {msg}",
                    )
                    .expect("the template is valid")
                    .progress_chars("=> "),
                );
                bar
            } else {
                // No length until the document is planned: a spinner, not
                // a full 0/0 bar.
                let bar = multi.add(ProgressBar::no_length());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {msg}").expect("the template is valid"),
                );
                bar
            };
            bar.set_message("preparing");
            bar.enable_steady_tick(Duration::from_millis(250));
            (Some(multi), Some(bar))
        } else {
            (None, None)
        };
        Arc::new(Progress {
            multi,
            bar,
            folder,
            totals: Mutex::default(),
        })
    }

    /// Whether anything is drawn.
    #[cfg(test)]
    pub fn is_drawn(&self) -> bool {
        self.bar.is_some()
    }

    fn redraw(&self) {
        let Some(bar) = &self.bar else { return };
        let t = self.totals.lock().unwrap_or_else(|e| e.into_inner());
        let phase = t
            .phase
            .as_ref()
            .map(|p| format!(" · {p}"))
            .unwrap_or_default();
        if self.folder {
            bar.set_message(format!(
                "segments {}/{} · memory {} · sent {} · failed {} · retries {}{phase}",
                t.done, t.planned, t.from_memory, t.sent, t.failed, t.retries
            ));
        } else {
            bar.set_position(t.done as u64);
            bar.set_message(format!(
                "memory {} · sent {} · failed {} · retries {}{phase}",
                t.from_memory, t.sent, t.failed, t.retries
            ));
        }
    }

    /// A document finished: its summary line (above the bar when one is
    /// drawn) and, in a folder, one more article done.
    pub fn finished(&self, lines: &[String]) {
        self.println(lines);
        if self.folder
            && let Some(bar) = &self.bar
        {
            bar.inc(1);
        }
        self.totals.lock().unwrap_or_else(|e| e.into_inner()).phase = None;
        self.redraw();
    }

    /// Lines on stderr that do not break the bar.
    pub fn println(&self, lines: &[String]) {
        match &self.multi {
            Some(m) => {
                for l in lines {
                    let _ = m.println(l);
                }
            }
            None => {
                for l in lines {
                    eprintln!("{l}");
                }
            }
        }
    }

    /// Remove the bar (before the last messages are printed).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    /// An error ends the run early: leave no bar behind the message.
    fn drop(&mut self) {
        self.finish();
    }
}

/// What the job's sink reports, drawn (see `translate::Display`).
impl Progress {
    pub fn planned(&self, total: usize, from_memory: usize, _to_send: usize) {
        {
            let mut t = self.totals.lock().unwrap_or_else(|e| e.into_inner());
            t.planned += total;
            t.done += from_memory;
            t.from_memory += from_memory;
            t.phase = None;
        }
        if !self.folder
            && let Some(bar) = &self.bar
        {
            bar.set_style(
                ProgressStyle::with_template(
                    "[{bar:30}] {pos}/{len} segments {per_sec} ETA {eta} · {msg}",
                )
                .expect("the template is valid")
                .progress_chars("=> "),
            );
            bar.set_length(total as u64);
        }
        self.redraw();
    }

    pub fn batch(&self, ok: usize, failed: usize, retries: u64) {
        {
            let mut t = self.totals.lock().unwrap_or_else(|e| e.into_inner());
            t.done += ok + failed;
            t.sent += ok + failed;
            t.failed += failed;
            t.retries = t.retries.max(retries);
        }
        self.redraw();
    }

    pub fn phase(&self, label: &str) {
        self.totals.lock().unwrap_or_else(|e| e.into_inner()).phase = Some(label.to_string());
        self.redraw();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_drawn_without_a_terminal_and_counts_add_up() {
        let p = Progress::with_terminal(false, 3);
        assert!(!p.is_drawn());
        p.planned(19, 4, 15);
        p.batch(8, 0, 0);
        p.batch(6, 1, 2);
        p.phase("re-asking 2 segments that missed pinned terms");
        let t = p.totals.lock().unwrap();
        assert_eq!(
            (
                t.planned,
                t.done,
                t.from_memory,
                t.sent,
                t.failed,
                t.retries
            ),
            (19, 19, 4, 15, 1, 2)
        );
        assert!(t.phase.as_deref().unwrap().starts_with("re-asking"));
    }
}
