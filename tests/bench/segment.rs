//! Segmenter throughput on a 10+ MB corpus of Arabic news text.
//!
//! `cargo bench --bench segment` prints MB/s (criterion's "thrpt").

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tarjama::segment::{SegmentOptions, Segmenter};

/// At least `min_bytes` of varied text: the seed article and every golden
/// case input, repeated with a counter so that lines differ.
fn corpus(min_bytes: usize) -> String {
    let seed = include_str!("../../seeds/2024-10-04-russia-taliban.ar.txt");
    let golden = include_str!("../fixtures/segment_golden.txt");
    let mut parts: Vec<String> = vec![seed.to_string()];
    for line in golden.lines() {
        if let Some(input) = line.strip_prefix("> ") {
            parts.push(format!("{input}\n"));
        }
    }
    let mut out = String::with_capacity(min_bytes + 4096);
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

fn bench(c: &mut Criterion) {
    let text = corpus(10 * 1024 * 1024);
    let seg = Segmenter::default();
    let mut g = c.benchmark_group("segment");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(10);
    g.bench_function("news-10MB", |b| {
        b.iter(|| seg.segment(&text, SegmentOptions::default()).len())
    });
    g.bench_function("news-10MB-join-lines", |b| {
        b.iter(|| {
            seg.segment(&text, SegmentOptions { join_lines: true })
                .len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
