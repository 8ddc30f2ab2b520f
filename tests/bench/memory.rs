//! Translation memory speed on a 100,000-pair memory: exact lookups (the
//! cache), fuzzy lookups (word index + word-level edit distance) with and
//! without a close match, and committing a batch of 20 translations.
//!
//! The same on PostgreSQL when TARJAMA_BENCH_PG_URL (or TARJAMA_TEST_PG_URL)
//! names a server (`.ci/postgres.sh start`): each run gets a new schema.
//!
//! `cargo bench --bench memory`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tarjama::memory::{KeyParams, Memory, MtEntry, cache_key};

const PAIRS: usize = 100_000;

fn params() -> KeyParams {
    KeyParams {
        backend_kind: "openai".into(),
        url: "http://127.0.0.1:8080/v1".into(),
        model: "bench".into(),
        prompt_version: "b1".into(),
    }
}

/// A vocabulary of Arabic-looking words; word ranks are drawn log-uniformly
/// so that a few words are very common and most are rare, as in news text.
struct Gen {
    vocab: Vec<String>,
    rng: fastrand::Rng,
}

impl Gen {
    fn new() -> Gen {
        let letters: Vec<char> = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي".chars().collect();
        let mut rng = fastrand::Rng::with_seed(42);
        let vocab = (0..20_000)
            .map(|_| {
                let n = rng.usize(2..8);
                (0..n)
                    .map(|_| letters[rng.usize(..letters.len())])
                    .collect()
            })
            .collect();
        Gen { vocab, rng }
    }

    fn word(&mut self) -> &str {
        let r = (self.vocab.len() as f64).powf(self.rng.f64()) as usize - 1;
        &self.vocab[r.min(self.vocab.len() - 1)]
    }

    fn sentence(&mut self) -> String {
        let n = self.rng.usize(8..30);
        (0..n)
            .map(|_| self.word().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mem = Memory::open(&dir.path().join("tm.sqlite")).unwrap();
    run(c, "sqlite", mem);
    let pg = ["TARJAMA_BENCH_PG_URL", "TARJAMA_TEST_PG_URL"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()));
    match pg {
        Some(base) => {
            let schema = format!("bench_{:08x}", fastrand::u32(..));
            let mut cl = postgres::Client::connect(&base, postgres::NoTls).unwrap();
            cl.batch_execute(&format!("CREATE SCHEMA {schema}"))
                .unwrap();
            let sep = if base.contains('?') { '&' } else { '?' };
            let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
            let mem = Memory::open(std::path::Path::new(&url)).unwrap();
            run(c, "postgres", mem);
            drop(cl);
            let mut cl = postgres::Client::connect(&base, postgres::NoTls).unwrap();
            cl.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                .unwrap();
        }
        None => eprintln!("postgres: skipped (set TARJAMA_BENCH_PG_URL)"),
    }
}

fn run(c: &mut Criterion, name: &str, mut mem: Memory) {
    let mut g = Gen::new();
    let p = params();
    let mut sources = Vec::with_capacity(PAIRS);
    let started = std::time::Instant::now();
    for chunk in 0..PAIRS / 1000 {
        let batch: Vec<MtEntry> = (0..1000)
            .map(|i| {
                let s = g.sentence();
                sources.push(s.clone());
                MtEntry {
                    key: cache_key(&s, &p, &[]),
                    source: s,
                    target: format!("translation {chunk}-{i}"),
                    backend: "bench".into(),
                    model: Some("bench".into()),
                    pending: false,
                    document: None,
                }
            })
            .collect();
        mem.store_mt(&batch).unwrap();
    }
    eprintln!(
        "{name}: filled {PAIRS} pairs in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let keys: Vec<String> = sources
        .iter()
        .step_by(97)
        .map(|s| cache_key(s, &p, &[]))
        .collect();
    let mut i = 0;
    c.bench_function(&format!("{name}: {}", "exact lookup (100k pairs)"), |b| {
        b.iter(|| {
            i = (i + 1) % keys.len();
            black_box(mem.lookup_key(&keys[i]).unwrap())
        })
    });

    // A stored sentence with one word replaced: always has a close match.
    let near: Vec<String> = sources
        .iter()
        .step_by(211)
        .map(|s| {
            let mut w: Vec<&str> = s.split(' ').collect();
            let mid = w.len() / 2;
            w[mid] = "كلمةجديدة";
            w.join(" ")
        })
        .collect();
    let mut j = 0;
    c.bench_function(
        &format!("{name}: {}", "fuzzy lookup, close match (100k pairs)"),
        |b| {
            b.iter(|| {
                j = (j + 1) % near.len();
                let s = mem.fuzzy(&near[j], 75, 3).unwrap();
                assert!(!s.is_empty());
                black_box(s)
            })
        },
    );
    let fresh: Vec<String> = (0..200).map(|_| g.sentence()).collect();
    let mut k = 0;
    c.bench_function(
        &format!("{name}: {}", "fuzzy lookup, new sentence (100k pairs)"),
        |b| {
            b.iter(|| {
                k = (k + 1) % fresh.len();
                black_box(mem.fuzzy(&fresh[k], 75, 3).unwrap())
            })
        },
    );

    let mut n = 0;
    c.bench_function(
        &format!("{name}: {}", "commit a batch of 20 translations"),
        |b| {
            b.iter(|| {
                n += 1;
                let batch: Vec<MtEntry> = (0..20)
                    .map(|i| {
                        let s = format!("{} {n} {i}", fresh[i]);
                        MtEntry {
                            key: cache_key(&s, &p, &[]),
                            source: s,
                            target: "t".into(),
                            backend: "bench".into(),
                            model: None,
                            pending: false,
                            document: None,
                        }
                    })
                    .collect();
                mem.store_mt(&batch).unwrap()
            })
        },
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
