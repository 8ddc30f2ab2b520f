//! The engine over HTTP against a fake OpenAI-compatible server: retries,
//! Retry-After, give-up, timeout, concurrency bound, rate limit, order,
//! batch splitting, a fault mix, and no key in any message.

use crate::support;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use support::{Fake, Fault, HttpRequest, Reply, fake_english, serve};
use tarjama::backend::engine::{CancelToken, Engine, EngineOptions};
use tarjama::backend::{Backend, ErrorKind, build};
use tarjama::config::{Config, Env};
use tarjama::model::{Context, Request};

const KEY: &str = "sk-engine-KEY-93c1d0";

fn llm(url: &str, extra: &str) -> (Arc<dyn Backend>, EngineOptions) {
    // Short waits for tests; `extra` overrides them.
    let defaults: String = [
        "retry_base_ms = 5",
        "retry_max_secs = 3",
        "timeout_secs = 5",
    ]
    .iter()
    .filter(|d| !extra.contains(d.split(' ').next().unwrap()))
    .map(|d| format!("{d}\n"))
    .collect();
    let toml = format!(
        "[backends.llm]\nkind = \"openai\"\nurl = \"{url}/v1\"\nmodel = \"m\"\napi_key_env = \"TARJAMA_TEST_ENGINE_KEY\"\n{defaults}{extra}"
    );
    let c = Config::parse(&toml, Path::new("/t/tarjama.toml")).unwrap();
    let mut b = c.backends["llm"].clone();
    b.take_key(&Env::default().with("TARJAMA_TEST_ENGINE_KEY", KEY));
    (build("llm", &b).unwrap(), EngineOptions::from_config(&b))
}

fn requests(n: usize) -> Vec<Request> {
    // Distinct texts, so answers can be matched to their segment.
    (0..n)
        .map(|i| Request {
            id: format!("p{}s{}", i / 3 + 1, i % 3 + 1),
            text: format!("قال المتحدث في البيان رقم {i} إن الاجتماع انتهى."),
            terms: vec![],
            context: Context::default(),
            insist: false,
        })
        .collect()
}

fn assert_all_translated(
    input: &[Request],
    out: &[Result<String, tarjama::backend::BackendError>],
) {
    assert_eq!(input.len(), out.len());
    for (r, o) in input.iter().zip(out) {
        assert_eq!(
            o.as_ref().unwrap(),
            &fake_english(&r.text),
            "segment {}",
            r.id
        );
    }
}

#[tokio::test]
async fn retry_after_one_second_twice_then_success() {
    let fake = Fake::with_key(KEY);
    fake.push(Fault::RateLimited(Some("1")));
    fake.push(Fault::RateLimited(Some("1")));
    let srv = serve(support::openai(fake.clone())).await;
    let (b, opts) = llm(&srv.url, "batch_size = 8\n");
    let input = requests(6);
    let t0 = Instant::now();
    let (out, stats) = Engine::new(b, opts).translate_all(input.clone()).await;
    let waited = t0.elapsed();
    assert_all_translated(&input, &out);
    assert_eq!(
        (stats.requests, stats.retries, stats.rate_limited),
        (3, 2, 2)
    );
    assert_eq!(fake.log.count(), 3);
    assert!(
        waited >= Duration::from_millis(1950),
        "waited only {waited:?}"
    );
    assert!(waited < Duration::from_secs(8), "waited {waited:?}");
}

#[tokio::test]
async fn always_500_gives_up_after_max_retries_while_other_batches_complete() {
    let fake = Fake::with_key(KEY);
    *fake.poison.lock().unwrap() = Some("رقم 7 ".into());
    let srv = serve(support::openai(fake.clone())).await;
    let (b, opts) = llm(&srv.url, "batch_size = 3\nmax_retries = 2\n");
    let input = requests(15);
    let (out, stats) = Engine::new(b, opts).translate_all(input.clone()).await;
    for (i, (r, o)) in input.iter().zip(&out).enumerate() {
        if (6..9).contains(&i) {
            let e = o.as_ref().unwrap_err();
            assert_eq!(e.kind, ErrorKind::Server);
            assert!(e.message.contains("HTTP 500"), "{}", e.message);
            assert!(
                e.message.contains("gave up after 2 retries"),
                "{}",
                e.message
            );
            assert!(e.message.starts_with("llm: ") && e.message.contains("/v1/chat/completions"));
        } else {
            assert_eq!(o.as_ref().unwrap(), &fake_english(&r.text));
        }
    }
    assert_eq!((stats.translated, stats.failed, stats.batches), (12, 3, 5));
    // 4 good batches once, the bad one 1 + 2 times.
    assert_eq!((stats.requests, stats.retries), (7, 2));
    assert_eq!(fake.log.count(), 7);
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_split_or_retried() {
    let fake = Fake::with_key(KEY);
    fake.push(Fault::Slow(Duration::from_secs(3)));
    let srv = serve(support::openai(fake.clone())).await;
    let (b, opts) = llm(&srv.url, "timeout_secs = 0.4\n");
    let input = requests(2);
    let t0 = Instant::now();
    let (out, stats) = Engine::new(b.clone(), opts.clone())
        .translate_all(input.clone())
        .await;
    assert_all_translated(&input, &out);
    // The batch of two that timed out is split, not sent again whole.
    assert_eq!((stats.requests, stats.retries, stats.splits), (3, 0, 1));
    assert!(t0.elapsed() < Duration::from_secs(3));

    // A single segment that times out is sent again.
    fake.push(Fault::Slow(Duration::from_secs(3)));
    let (out, stats) = Engine::new(b.clone(), opts.clone())
        .translate_all(input[..1].to_vec())
        .await;
    assert_all_translated(&input[..1], &out);
    assert_eq!((stats.requests, stats.retries), (2, 1));

    let input = input[..1].to_vec();
    fake.set_always(Some(Fault::Slow(Duration::from_secs(3))));
    let opts = EngineOptions {
        max_retries: 1,
        ..opts
    };
    let (out, _) = Engine::new(b, opts).translate_all(input).await;
    let e = out[0].as_ref().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout);
    assert!(
        e.message.contains("within 0.4s") && e.message.contains("gave up after 1 retry"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn never_more_requests_in_flight_than_concurrency() {
    let fake = Fake::with_key(KEY);
    fake.set_latency(Duration::from_millis(40));
    let srv = serve(support::openai(fake.clone())).await;
    let (b, opts) = llm(&srv.url, "batch_size = 1\nconcurrency = 3\n");
    let input = requests(18);
    let engine = Engine::new(b, opts);
    let (out, stats) = engine.translate_all(input.clone()).await;
    assert_all_translated(&input, &out);
    assert_eq!(stats.requests, 18);
    assert_eq!(fake.log.max_concurrent(), 3);
    assert_eq!(engine.progress().requests.load(Ordering::Relaxed), 18);
    assert_eq!(engine.progress().in_flight.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn paced_to_the_servers_limit_without_a_single_429() {
    let fake = Fake::with_key(KEY);
    // The server allows 3 requests in any 240 ms (750 a minute); the client
    // is set to 600 a minute. The margin absorbs scheduling jitter on a busy
    // machine (a request delayed in the client arrives late, the next one on
    // time), not a difference in the limit's meaning.
    *fake.limit.lock().unwrap() = Some((3, Duration::from_millis(240)));
    let srv = serve(support::openai(fake.clone())).await;
    let (b, opts) = llm(
        &srv.url,
        "batch_size = 1\nconcurrency = 8\nrequests_per_minute = 600\n",
    );
    let input = requests(8);
    let t0 = Instant::now();
    let (out, stats) = Engine::new(b, opts).translate_all(input.clone()).await;
    assert_all_translated(&input, &out);
    assert_eq!(fake.log.rejected_429.load(Ordering::SeqCst), 0);
    assert_eq!((stats.requests, stats.rate_limited), (8, 0));
    // 8 requests spaced 100 ms apart.
    assert!(
        t0.elapsed() >= Duration::from_millis(690),
        "{:?}",
        t0.elapsed()
    );
    let gaps = fake.log.gaps();
    assert!(
        gaps.iter().all(|g| *g >= Duration::from_millis(60)),
        "{gaps:?}"
    );
}

#[tokio::test]
async fn results_keep_input_order_whatever_the_completion_order() {
    let fake = Fake::with_key(KEY);
    // The first batches answer last.
    fake.push(Fault::Slow(Duration::from_millis(300)));
    fake.push(Fault::Slow(Duration::from_millis(200)));
    fake.push(Fault::Slow(Duration::from_millis(100)));
    let srv = serve(support::openai(fake.clone())).await;
    let (b, opts) = llm(&srv.url, "batch_size = 2\nconcurrency = 4\n");
    let input = requests(16);
    let engine = Engine::new(b, opts);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stats = engine.run(input.clone(), tx, CancelToken::new()).await;
    assert_eq!(stats.translated, 16);
    let mut arrival = vec![];
    while let Ok(o) = rx.try_recv() {
        arrival.extend(o.results.into_iter().map(|(id, _)| id));
    }
    let ids: Vec<String> = input.iter().map(|r| r.id.clone()).collect();
    assert_ne!(arrival, ids, "completion order differs from input order");
    let (out, _) = engine.translate_all(input.clone()).await;
    assert_all_translated(&input, &out);
}

#[tokio::test]
async fn a_bad_llm_answer_costs_only_its_bad_segments_sent_again_alone() {
    let fake = Fake::with_key(KEY);
    // Batches of more than 2 come back with the last id missing.
    *fake.max_good_batch.lock().unwrap() = Some(2);
    let srv = serve(support::openai(fake.clone())).await;
    let (b, opts) = llm(&srv.url, "batch_size = 8\n");
    let input = requests(16);
    let (out, stats) = Engine::new(b, opts).translate_all(input.clone()).await;
    assert_all_translated(&input, &out);
    // 2 batches of 8, each answered for 7: the 7 are kept, the missing one
    // is asked alone; no split, no blind resend.
    assert_eq!((stats.splits, stats.retries, stats.resent_alone), (0, 0, 2));
    assert_eq!(stats.requests, 2 + 2);
    let sizes: Vec<usize> = fake
        .log
        .bodies
        .lock()
        .unwrap()
        .iter()
        .map(|b| support::llm_segments(b, "messages").len())
        .collect();
    assert_eq!(sizes.iter().filter(|s| **s == 1).count(), 2, "{sizes:?}");

    // A wrong count on one answer: only its missing segment is asked again.
    let fake = Fake::with_key(KEY);
    fake.push(Fault::WrongCount);
    let srv = serve(support::openai(fake.clone())).await;
    let (b, opts) = llm(&srv.url, "batch_size = 4\nconcurrency = 1\n");
    let input = requests(8);
    let (out, stats) = Engine::new(b, opts).translate_all(input.clone()).await;
    assert_all_translated(&input, &out);
    assert_eq!((stats.splits, stats.requests), (0, 3));
}

#[tokio::test]
async fn a_30_percent_fault_mix_still_translates_every_segment_once() {
    let fake = Fake::with_key(KEY);
    *fake.random.lock().unwrap() = Some((
        0.3,
        vec![
            Fault::RateLimited(None),
            Fault::RateLimitedMs("5"),
            Fault::Status(500),
            Fault::Status(503),
            Fault::Drop,
            Fault::Html,
            Fault::Truncated,
            Fault::WrongCount,
        ],
    ));
    let srv = serve(support::openai(fake.clone())).await;
    let (b, opts) = llm(
        &srv.url,
        "batch_size = 5\nconcurrency = 4\nmax_retries = 12\nretry_max_secs = 0.02\n",
    );
    let input = requests(200);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stats = Engine::new(b, opts)
        .run(input.clone(), tx, CancelToken::new())
        .await;
    let mut got: HashMap<String, String> = HashMap::new();
    while let Ok(o) = rx.try_recv() {
        for (id, r) in o.results {
            assert!(got.insert(id.clone(), r.unwrap()).is_none(), "{id} twice");
        }
    }
    assert_eq!(got.len(), 200);
    for r in &input {
        assert_eq!(got[&r.id], fake_english(&r.text));
    }
    assert_eq!(stats.requests, fake.log.count());
    assert!(stats.retries > 0 && stats.failed == 0, "{stats:?}");
}

#[tokio::test]
async fn cancel_stops_sending_and_reports_what_finished() {
    let fake = Fake::with_key(KEY);
    fake.set_latency(Duration::from_millis(30));
    let srv = serve(support::openai(fake.clone())).await;
    let (b, opts) = llm(&srv.url, "batch_size = 1\nconcurrency = 2\n");
    let engine = Engine::new(b, opts);
    let cancel = CancelToken::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let c = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        c.cancel();
    });
    let stats = engine.run(requests(100), tx, cancel).await;
    let mut done = 0;
    while let Ok(o) = rx.try_recv() {
        done += o.results.len() as u64;
    }
    assert!(stats.not_sent > 50, "{stats:?}");
    assert_eq!(done, stats.translated);
    assert_eq!(stats.translated + stats.not_sent, 100);
    assert_eq!(fake.log.count(), stats.requests);
}

#[tokio::test]
async fn the_key_echoed_in_a_server_error_never_reaches_the_message() {
    // A proxy that puts the request's headers and body in its error page.
    let handler: support::Handler = Arc::new(|req: HttpRequest| {
        Box::pin(async move {
            let echo = format!("{:?} {}", req.headers, req.text());
            support::openai_error(500, &echo)
        })
    });
    let srv = serve(handler).await;
    let (b, opts) = llm(&srv.url, "max_retries = 1\n");
    let (out, _) = Engine::new(b, opts).translate_all(requests(2)).await;
    let e = out[0].as_ref().unwrap_err();
    assert!(e.message.contains("Bearer ***"), "{}", e.message);
    assert!(!e.message.contains(KEY), "{}", e.message);
    assert!(!format!("{e:?}").contains(KEY));
}

#[tokio::test]
async fn a_final_error_is_not_retried() {
    let fake = Fake::with_key(KEY);
    fake.set_always(Some(Fault::Reply(Reply::json(
        429,
        &serde_json::json!({"error": {"message": "You exceeded your current quota", "type": "insufficient_quota", "param": null, "code": "insufficient_quota"}}),
    ))));
    let srv = serve(support::openai(fake.clone())).await;
    let (b, opts) = llm(&srv.url, "batch_size = 4\n");
    let (out, stats) = Engine::new(b, opts).translate_all(requests(8)).await;
    assert_eq!(out[0].as_ref().unwrap_err().kind, ErrorKind::Quota);
    assert_eq!((stats.requests, stats.retries, stats.failed), (2, 0, 8));
}
