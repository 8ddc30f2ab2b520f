//! The progress bar of `tarjama translate`: on stderr, only when stderr is
//! a terminal and `--quiet` is not given, so that stdout carries nothing
//! but the result and logs stay clean.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tarjama::pipeline::ProgressSink;

#[derive(Default)]
struct Counts {
    from_memory: usize,
    sent: usize,
    failed: usize,
    retries: u64,
}

/// Segments done of total, from memory vs sent, failures, retries, rate.
pub struct Progress {
    bar: Option<ProgressBar>,
    counts: Mutex<Counts>,
}

impl Progress {
    /// A bar on stderr if it is a terminal and `quiet` is off; otherwise a
    /// display that shows nothing.
    pub fn new(quiet: bool, label: &str) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {pos}/{len} segments {per_sec} {msg}",
                )
                .expect("the template is valid")
                .progress_chars("=> "),
            );
            bar.set_prefix(label.to_string());
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        Progress {
            bar,
            counts: Mutex::default(),
        }
    }

    fn message(&self) {
        if let Some(bar) = &self.bar {
            let c = self.counts.lock().expect("progress lock");
            bar.set_message(format!(
                "· memory {} · sent {} · failed {} · retries {}",
                c.from_memory, c.sent, c.failed, c.retries
            ));
        }
    }

    /// Remove the bar (before the summary is printed).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl ProgressSink for Progress {
    fn planned(&self, total: usize, from_memory: usize, _to_send: usize) {
        self.counts.lock().expect("progress lock").from_memory = from_memory;
        if let Some(bar) = &self.bar {
            bar.set_length(total as u64);
            bar.set_position(from_memory as u64);
        }
        self.message();
    }

    fn batch(&self, ok: usize, failed: usize, retries: u64) {
        {
            let mut c = self.counts.lock().expect("progress lock");
            c.sent += ok + failed;
            c.failed += failed;
            c.retries = retries;
        }
        if let Some(bar) = &self.bar {
            bar.inc((ok + failed) as u64);
        }
        self.message();
    }
}
