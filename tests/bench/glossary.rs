//! Glossary speed (issue 3, item 7): load a 10,000-entry glossary, and match
//! it over 10 MB of Arabic news text. Run with `cargo bench --bench glossary`;
//! criterion prints the load time and the matching throughput (MB/s).

use std::hint::black_box;
use std::io::Write;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tarjama::glossary::Glossary;
use tarjama::segment::{SegmentOptions, Segmenter};

const LETTERS: &[char] = &[
    'ا', 'ب', 'ت', 'ث', 'ج', 'ح', 'خ', 'د', 'ذ', 'ر', 'ز', 'س', 'ش', 'ص', 'ض', 'ط', 'ظ', 'ع', 'غ',
    'ف', 'ق', 'ك', 'ل', 'م', 'ن', 'ه', 'و', 'ي', 'ة', 'ى', 'أ',
];

fn word(rng: &mut fastrand::Rng) -> String {
    let n = rng.usize(3..8);
    (0..n)
        .map(|_| LETTERS[rng.usize(..LETTERS.len())])
        .collect()
}

/// A 10,000-entry TSV: the seed article's names plus generated one- to
/// three-word entries with variants, half of them names.
fn glossary_tsv() -> String {
    let mut rng = fastrand::Rng::with_seed(7);
    let mut out = String::from("source\ttarget\tvariants\tkind\n");
    for (ar, en) in [
        ("روسيا", "Russia"),
        ("طالبان", "Taliban"),
        ("أفغانستان", "Afghanistan"),
        ("موسكو", "Moscow"),
        ("صيغة موسكو", "Moscow Format"),
        ("ديمتري بيسكوف", "Dmitry Peskov"),
        ("الكرملين", "the Kremlin"),
        ("داعش خراسان", "Islamic State Khorasan"),
    ] {
        out.push_str(&format!("{ar}\t{en}\t\tplace\n"));
    }
    let mut n = 8;
    while n < 10_000 {
        let words = rng.usize(1..4);
        let src: Vec<String> = (0..words).map(|_| word(&mut rng)).collect();
        let variant = if rng.bool() {
            word(&mut rng)
        } else {
            String::new()
        };
        let kind = if rng.bool() { "person" } else { "term" };
        out.push_str(&format!(
            "{}\tEntry {n}\t{variant}\t{kind}\n",
            src.join(" ")
        ));
        n += 1;
    }
    out
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.tsv");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(glossary_tsv().as_bytes())
        .unwrap();
    let paths = vec![path];

    let mut g = c.benchmark_group("glossary");
    g.sample_size(10);
    g.bench_function("load_10k_entries", |b| {
        b.iter(|| black_box(Glossary::load(black_box(&paths)).unwrap()))
    });
    let (loaded, _) = Glossary::load(&paths).unwrap();
    g.bench_function("build_matcher_10k_entries", |b| {
        b.iter(|| black_box(black_box(&loaded).matcher()))
    });

    let seed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/seeds/2024-10-04-russia-taliban.ar.txt"
    ))
    .unwrap();
    let mut text = String::with_capacity(10_500_000);
    while text.len() < 10_000_000 {
        text.push_str(&seed);
        text.push('\n');
    }
    let segments = Segmenter::default().segment(&text, SegmentOptions::default());
    let (gl, _) = Glossary::load(&paths).unwrap();
    let m = gl.matcher();
    let total: usize = segments.iter().map(|s| s.text.len()).sum();
    let hits: usize = segments.iter().map(|s| m.find(s).len()).sum();
    eprintln!(
        "{} segments, {:.1} MB, {hits} hits",
        segments.len(),
        total as f64 / 1e6
    );
    g.throughput(Throughput::Bytes(total as u64));
    g.bench_function("match_10MB", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for s in &segments {
                n += m.find(black_box(s)).len();
            }
            black_box(n)
        })
    });
    g.finish();

    // The machine may be shared: also report figures in CPU time, which
    // other processes do not inflate.
    if let Some(t0) = cpu_seconds() {
        let passes = 5;
        for _ in 0..passes {
            for s in &segments {
                black_box(m.find(s));
            }
        }
        let t1 = cpu_seconds().unwrap();
        for _ in 0..passes {
            black_box(Glossary::load(&paths).unwrap());
        }
        let t2 = cpu_seconds().unwrap();
        for _ in 0..passes {
            black_box(gl.matcher());
        }
        let t3 = cpu_seconds().unwrap();
        eprintln!(
            "CPU time: matching {:.1} MB/s; load {:.0} ms; build matcher {:.0} ms",
            total as f64 * passes as f64 / 1e6 / (t1 - t0),
            (t2 - t1) * 1000.0 / passes as f64,
            (t3 - t2) * 1000.0 / passes as f64
        );
    }
}

/// User + system CPU time of this process (Linux `/proc/self/stat`).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    // fields 14 and 15 of the file (utime, stime) are 11 and 12 after the name
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

criterion_group!(benches, bench);
criterion_main!(benches);
