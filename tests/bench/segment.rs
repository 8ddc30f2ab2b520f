//! Segmenter accuracy and speed, beside ICU4X's UAX #29 sentence segmenter
//! measured in the same run.
//!
//! `cargo bench --bench segment` prints:
//! 1. precision, recall and F1 of both segmenters on the development set
//!    (`tests/fixtures/segment_dev/`, real text with sentence boundaries
//!    marked outside the project);
//! 2. the speed of the whole `tarjama segment -` process (the release
//!    binary, standard input from a file of at least 10 MB of Arabic text,
//!    standard output to a file), and of a small program around ICU4X's
//!    sentence segmenter doing the same work on the same bytes in this
//!    process (read the file, check UTF-8, segment each line, write one
//!    sentence per line to a buffered file), with the ratio;
//! 3. the in-library speed of `Segmenter::segment` on the same text.
//!
//! Each timing is the best of several runs (`TARJAMA_BENCH_RUNS`, default 5),
//! the two whole-process runs interleaved. Both wall time and CPU time
//! (user + system, from `getrusage`: the child process for tarjama, this
//! process for ICU4X) are printed; on a shared, loaded machine CPU time is the
//! steadier comparison.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tarjama::segment::{SegmentOptions, Segmenter};

#[path = "../it/segment_eval/mod.rs"]
mod segment_eval;

/// At least `min_bytes` of real text: the development set, the seed article
/// and every golden case input, repeated with a counter so that lines differ.
fn corpus(min_bytes: usize) -> String {
    let seed = include_str!("../../seeds/2024-10-04-russia-taliban.ar.txt");
    let golden = include_str!("../fixtures/segment_golden.txt");
    let mut parts: Vec<String> = vec![seed.to_string()];
    for (_, file) in segment_eval::DEV_FILES {
        parts.push(segment_eval::load(file).text + "\n");
    }
    for line in golden.lines() {
        if let Some(input) = line.strip_prefix("> ") {
            parts.push(format!("{input}\n"));
        }
    }
    let mut out = String::with_capacity(min_bytes + (1 << 20));
    let mut n = 0usize;
    while out.len() < min_bytes {
        for p in &parts {
            out.push_str(p);
            out.push_str(&format!("وقال المصدر في التحديث رقم {n}. "));
            out.push('\n');
            n += 1;
        }
    }
    out
}

fn best_of(runs: usize, mut f: impl FnMut() -> usize) -> (Duration, usize) {
    // In-library timings are wall time.
    let mut best = Duration::MAX;
    let mut result = 0;
    for _ in 0..runs {
        let t = Instant::now();
        result = f();
        best = best.min(t.elapsed());
    }
    (best, result)
}

/// User + system CPU time used so far by this process (`who` =
/// `RUSAGE_SELF`) or by its waited-for children (`RUSAGE_CHILDREN`).
fn cpu_time(who: libc::c_int) -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(who, &mut u) };
    assert_eq!(rc, 0, "getrusage failed");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// Wall and CPU time of `f`, CPU counted for `who`.
fn timed(who: libc::c_int, f: impl FnOnce() -> usize) -> (Duration, Duration, usize) {
    let c0 = cpu_time(who);
    let t = Instant::now();
    let r = f();
    (t.elapsed(), cpu_time(who) - c0, r)
}

fn mb_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

/// `tarjama segment -` with stdin from `input` and stdout to `output`;
/// returns the number of lines written.
fn run_binary(input: &Path, output: &Path) -> usize {
    let status = Command::new(env!("CARGO_BIN_EXE_tarjama"))
        .args(["segment", "-"])
        .stdin(Stdio::from(std::fs::File::open(input).unwrap()))
        .stdout(Stdio::from(std::fs::File::create(output).unwrap()))
        .status()
        .unwrap();
    assert!(status.success(), "tarjama segment failed: {status}");
    line_count(output)
}

/// The ICU4X program: read, check UTF-8, segment each line, write each
/// sentence (trimmed) on its own line; returns the number of lines written.
fn run_icu4x(input: &Path, output: &Path) -> usize {
    let bytes = std::fs::read(input).unwrap();
    let text = std::str::from_utf8(&bytes).unwrap();
    let seg = icu_segmenter::SentenceSegmenter::new(Default::default());
    let mut out =
        std::io::BufWriter::with_capacity(1 << 16, std::fs::File::create(output).unwrap());
    for line in text.split('\n') {
        let mut last = 0;
        for b in seg.segment_str(line).skip(1) {
            let s = line[last..b].trim();
            if !s.is_empty() {
                out.write_all(s.as_bytes()).unwrap();
                out.write_all(b"\n").unwrap();
            }
            last = b;
        }
    }
    out.flush().unwrap();
    drop(out);
    line_count(output)
}

fn line_count(p: &Path) -> usize {
    std::fs::read(p)
        .unwrap()
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

fn main() {
    // `cargo bench` passes `--bench`; anything else (a filter) is ignored.
    let runs: usize = std::env::var("TARJAMA_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);

    println!("== accuracy on the development set (boundaries inside paragraphs)");
    let mut total: Option<(usize, segment_eval::Score, segment_eval::Score)> = None;
    for (name, sentences, t, i) in segment_eval::evaluate() {
        println!(
            "{name:<16} {sentences:>5} sentences  tarjama P {:.3} R {:.3} F1 {:.3}  |  ICU4X P {:.3} R {:.3} F1 {:.3}",
            t.precision(),
            t.recall(),
            t.f1(),
            i.precision(),
            i.recall(),
            i.f1()
        );
        total = Some(match total {
            None => (sentences, t, i),
            Some((n, a, b)) => (n + sentences, a.add(t), b.add(i)),
        });
    }
    let (n, t, i) = total.unwrap();
    println!(
        "{:<16} {n:>5} sentences  tarjama P {:.3} R {:.3} F1 {:.3}  |  ICU4X P {:.3} R {:.3} F1 {:.3}",
        "all",
        t.precision(),
        t.recall(),
        t.f1(),
        i.precision(),
        i.recall(),
        i.f1()
    );

    let text = corpus(12 * 1000 * 1000);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("news.ar.txt");
    std::fs::write(&input, &text).unwrap();
    let out_t = dir.path().join("tarjama.out");
    let out_i = dir.path().join("icu4x.out");
    let bytes = text.len();
    println!(
        "\n== whole process, stdin -> file, {:.1} MB, best of {runs}",
        bytes as f64 / 1e6
    );
    // Interleave the two so that machine load hits both alike.
    let (mut wall_t, mut cpu_t) = (Duration::MAX, Duration::MAX);
    let (mut wall_i, mut cpu_i) = (Duration::MAX, Duration::MAX);
    let (mut lines_t, mut lines_i) = (0, 0);
    for _ in 0..runs {
        let (w, c, l) = timed(libc::RUSAGE_CHILDREN, || run_binary(&input, &out_t));
        (wall_t, cpu_t, lines_t) = (wall_t.min(w), cpu_t.min(c), l);
        let (w, c, l) = timed(libc::RUSAGE_SELF, || run_icu4x(&input, &out_i));
        (wall_i, cpu_i, lines_i) = (wall_i.min(w), cpu_i.min(c), l);
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "tarjama segment -   wall {:>7.1} ms ({:>6.1} MB/s)   CPU {:>7.1} ms ({:>6.1} MB/s)   {lines_t} lines out",
        ms(wall_t),
        mb_s(bytes, wall_t),
        ms(cpu_t),
        mb_s(bytes, cpu_t)
    );
    println!(
        "ICU4X program       wall {:>7.1} ms ({:>6.1} MB/s)   CPU {:>7.1} ms ({:>6.1} MB/s)   {lines_i} lines out",
        ms(wall_i),
        mb_s(bytes, wall_i),
        ms(cpu_i),
        mb_s(bytes, cpu_i)
    );
    println!(
        "ratio (ICU4X time / tarjama time): wall {:.2}x, CPU {:.2}x",
        wall_i.as_secs_f64() / wall_t.as_secs_f64(),
        cpu_i.as_secs_f64() / cpu_t.as_secs_f64()
    );

    println!("\n== in the library, best of {runs}");
    let seg = Segmenter::default();
    for (label, join) in [("one line per paragraph", false), ("--join-lines", true)] {
        let (d, count) = best_of(runs, || {
            seg.segment(&text, SegmentOptions { join_lines: join })
                .len()
        });
        println!(
            "Segmenter::segment ({label}) {:>8.1} ms  {:>7.1} MB/s  ({count} segments)",
            d.as_secs_f64() * 1e3,
            mb_s(bytes, d)
        );
    }
}
