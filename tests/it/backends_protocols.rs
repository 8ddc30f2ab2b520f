//! The four vendor protocols (LibreTranslate, DeepL, Google v2, Azure v3)
//! against fake servers on 127.0.0.1 that speak them as documented: what is
//! sent (auth, body shape, limits), what comes back (batches in order), and
//! how each documented error maps to a retry-or-final decision and an
//! [`ErrorKind`], with no key ever in a message.

use std::sync::Arc;
use std::time::Duration;

use crate::support::vendors::{self as fake, Canned, Server, en};
use serde_json::{Value, json};
use tarjama::backend::{Backend, BackendError, ErrorKind, azure, deepl, google, libretranslate};
use tarjama::config::BackendConfig;
use tarjama::model::{Context, PinnedTerm, Request};

const ALL_KEYS: &[&str] = &[
    fake::LT_KEY,
    fake::DEEPL_KEY,
    fake::DEEPL_FREE_KEY,
    fake::GOOGLE_KEY,
    fake::AZURE_KEY,
    fake::WRONG_KEY,
];

fn cfg(toml_text: &str) -> BackendConfig {
    let mut c: BackendConfig = toml::from_str(toml_text).expect("backend config");
    c.take_key(&fake::env());
    c
}

fn req(id: &str, text: &str) -> Request {
    Request {
        id: id.into(),
        text: text.into(),
        terms: vec![],
        context: Context::default(),
        insist: false,
    }
}

fn term(s: &str, t: &str) -> PinnedTerm {
    PinnedTerm {
        source: s.into(),
        target: t.into(),
    }
}

fn batch(n: usize) -> Vec<Request> {
    (1..=n)
        .map(|i| req(&format!("p1s{i}"), &format!("الجملة رقم {i}")))
        .collect()
}

fn expected(b: &[Request]) -> Vec<String> {
    b.iter().map(|r| en(&r.text)).collect()
}

/// The message is one line, names the backend, shows no key in any spelling.
fn assert_clean(e: &BackendError, backend: &str) {
    let m = &e.message;
    assert!(!m.contains('\n'), "not one line: {m}");
    assert!(
        m.starts_with(&format!("{backend}:")),
        "backend not named: {m}"
    );
    for k in ALL_KEYS {
        let enc: String = reqwest::Url::parse_with_params("http://x/", &[("k", *k)])
            .unwrap()
            .query()
            .unwrap()[2..]
            .to_string();
        assert!(!m.contains(k), "key in message: {m}");
        assert!(!m.contains(&enc), "encoded key in message: {m}");
        // Even a good part of it.
        assert!(
            !m.contains(&k[..k.len() / 2]),
            "part of a key in message: {m}"
        );
    }
    if let Some(s) = e.status {
        assert!(m.contains(&format!("HTTP {s}")), "status missing: {m}");
    }
}

/// Answer the next request with `canned` and check the decision.
async fn expect_error(
    server: &Server,
    backend: &dyn Backend,
    canned: Canned,
    kind: ErrorKind,
    retryable: bool,
) -> BackendError {
    server.push(canned.clone());
    let e = backend
        .translate(&batch(2))
        .await
        .expect_err("an error answer must be an error");
    assert_eq!(
        (e.kind, e.retryable),
        (kind, retryable),
        "for HTTP {} {}: {}",
        canned.status,
        canned.body,
        e.message
    );
    assert_eq!(e.status, Some(canned.status));
    assert_clean(&e, backend.name());
    e
}

// ================================================================ every vendor

/// One vendor of the table: its backend table (at `url`) and an answer
/// holding one translation where two were asked for.
struct Vendor {
    name: &'static str,
    table: fn(&str) -> String,
    one_of_two: Value,
    /// The key its server may echo.
    key: &'static str,
}

fn vendors() -> Vec<Vendor> {
    let llm_one = |id: &str| {
        json!({"translations": [{"id": id, "ar_start": "الجملة رقم 1", "en": "Sentence number 1"}]})
            .to_string()
    };
    vec![
        Vendor {
            name: "libretranslate",
            table: |u| {
                format!(
                    "kind = \"libretranslate\"\nurl = \"{u}\"\napi_key_env = \"TARJAMA_TEST_LT_KEY\"\n"
                )
            },
            one_of_two: json!({ "translatedText": ["only one"] }),
            key: fake::LT_KEY,
        },
        Vendor {
            name: "deepl",
            table: |u| {
                format!(
                    "kind = \"deepl\"\nurl = \"{u}\"\napi_key_env = \"TARJAMA_TEST_DEEPL_KEY\"\nterms = \"off\"\n"
                )
            },
            one_of_two: json!({ "translations": [{ "text": "x" }] }),
            key: fake::DEEPL_KEY,
        },
        Vendor {
            name: "google",
            table: |u| {
                format!(
                    "kind = \"google\"\nurl = \"{u}\"\napi_key_env = \"TARJAMA_TEST_GOOGLE_KEY\"\n"
                )
            },
            one_of_two: json!({ "data": { "translations": [{ "translatedText": "x" }] } }),
            key: fake::GOOGLE_KEY,
        },
        Vendor {
            name: "azure",
            table: |u| {
                format!(
                    "kind = \"azure\"\nurl = \"{u}\"\napi_key_env = \"TARJAMA_TEST_AZURE_KEY\"\n"
                )
            },
            one_of_two: json!([{ "translations": [{ "text": "x", "to": "en" }] }]),
            key: fake::AZURE_KEY,
        },
        Vendor {
            name: "openai",
            table: |u| {
                format!(
                    "kind = \"openai\"\nurl = \"{u}/v1\"\nmodel = \"m\"\napi_key_env = \"TARJAMA_TEST_WRONG_KEY\"\n"
                )
            },
            one_of_two: json!({"choices": [{"message": {"content": llm_one("s1")}, "finish_reason": "stop"}]}),
            key: fake::WRONG_KEY,
        },
        Vendor {
            name: "ollama",
            table: |u| {
                format!(
                    "kind = \"ollama\"\nurl = \"{u}\"\nmodel = \"m\"\napi_key_env = \"TARJAMA_TEST_WRONG_KEY\"\n"
                )
            },
            one_of_two: json!({"message": {"content": llm_one("s1")}, "done_reason": "stop"}),
            key: fake::WRONG_KEY,
        },
        Vendor {
            name: "template",
            table: |u| {
                format!(
                    "kind = \"template\"\nurl = \"{u}\"\napi_key_env = \"TARJAMA_TEST_WRONG_KEY\"\n[template]\nbody = '{{\"q\": \"{{{{texts}}}}\", \"k\": \"{{{{api_key}}}}\"}}'\nresponse_pointer = \"/t\"\n"
                )
            },
            one_of_two: json!({ "t": ["x"] }),
            key: fake::WRONG_KEY,
        },
    ]
}

/// Every vendor gets every error case from the one status table: 408 and
/// 409 retried, 429 with its Retry-After, 5xx retried, 401/403 final with
/// the key's variable named, an HTML page, cut JSON, a wrong count, a closed
/// port; no message holds a key.
#[tokio::test]
async fn every_vendor_gets_every_error_case() {
    for v in vendors() {
        let server = Server::start(|_| Canned::json(500, json!({"error": "unused"}))).await;
        let backend = tarjama::backend::build(v.name, &cfg(&(v.table)(&server.url)))
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        let backend = &*backend;
        let err = |status: u16| {
            Canned::json(
                status,
                json!({"error": {"message": format!("boom for key {}", v.key), "code": status}}),
            )
        };
        for (status, kind) in [
            (408, ErrorKind::Timeout),
            (409, ErrorKind::Server),
            (500, ErrorKind::Server),
            (503, ErrorKind::Server),
        ] {
            expect_error(&server, backend, err(status), kind, true).await;
        }
        let e = expect_error(
            &server,
            backend,
            err(429).header("Retry-After", "2"),
            ErrorKind::RateLimited,
            true,
        )
        .await;
        assert_eq!(e.retry_after, Some(Duration::from_secs(2)), "{}", v.name);
        for status in [401, 403] {
            let e = expect_error(&server, backend, err(status), ErrorKind::Auth, false).await;
            assert!(e.message.contains("key"), "{}: {}", v.name, e.message);
            if status == 401 {
                assert!(
                    e.message.contains("api_key_env"),
                    "{}: {}",
                    v.name,
                    e.message
                );
            }
        }
        let html = Canned::raw(
            200,
            "text/html",
            "<!DOCTYPE html><html><body>Please log in to the proxy</body></html>",
        );
        server.push(html);
        let e = backend.translate(&batch(2)).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadResponse, "{}: {}", v.name, e.message);
        assert!(e.message.contains("HTML"), "{}: {}", v.name, e.message);
        assert_clean(&e, v.name);
        server.push(Canned::raw(200, "application/json", r#"{"translat"#));
        let e = backend.translate(&batch(2)).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadResponse, "{}: {}", v.name, e.message);
        assert!(e.message.contains("truncated"), "{}: {}", v.name, e.message);
        assert_clean(&e, v.name);
        let page = Canned::raw(502, "text/html", "<html><h1>502 Bad Gateway</h1></html>");
        let e = expect_error(&server, backend, page, ErrorKind::Server, true).await;
        assert!(e.message.contains("HTML page"), "{}: {}", v.name, e.message);
        let e = expect_error(
            &server,
            backend,
            Canned::json(200, v.one_of_two.clone()),
            ErrorKind::BadResponse,
            false,
        )
        .await;
        assert!(
            e.message.contains("1 translations for 2 texts")
                || e.message.contains("no translation for segment p1s2"),
            "{}: {}",
            v.name,
            e.message
        );
        let dead =
            tarjama::backend::build(v.name, &cfg(&(v.table)(&crate::support::closed_port_url())))
                .unwrap();
        let e = dead.translate(&batch(1)).await.unwrap_err();
        assert_eq!(
            (e.kind, e.retryable, e.sent),
            (ErrorKind::Unreachable, true, false),
            "{}: {}",
            v.name,
            e.message
        );
        assert_clean(&e, v.name);
    }
}

// ================================================================ LibreTranslate

fn lt_cfg(url: &str, extra: &str) -> BackendConfig {
    cfg(&format!(
        "kind = \"libretranslate\"\nurl = \"{url}\"\napi_key_env = \"TARJAMA_TEST_LT_KEY\"\n{extra}"
    ))
}

#[tokio::test]
async fn libretranslate_translates_a_batch_in_order_with_the_key_in_the_body() {
    let server = Server::start(fake::libretranslate(fake::LibreOptions {
        api_key: Some(fake::LT_KEY.into()),
        ..Default::default()
    }))
    .await;
    let b = libretranslate::build("lt", &lt_cfg(&server.url, "batch_size = 10")).unwrap();
    assert_eq!(b.limits().max_items, 10);
    assert_eq!(b.endpoint(), format!("{}/translate", server.url));
    let input = batch(5);
    assert_eq!(b.translate(&input).await.unwrap(), expected(&input));

    let sent = server.requests_to("/translate");
    assert_eq!(sent.len(), 1);
    let body = sent[0].json();
    let q: Vec<&str> = input.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(body["q"], json!(q));
    assert_eq!(body["source"], "ar");
    assert_eq!(body["target"], "en");
    assert_eq!(body["format"], "text");
    assert_eq!(body["api_key"], fake::LT_KEY);
    assert!(
        sent[0]
            .header("content-type")
            .unwrap()
            .contains("application/json")
    );
    assert!(sent[0].header("authorization").is_none());
    assert!(sent[0].query.is_empty());

    // Without api_key_env there is no api_key field at all.
    let open = Server::start(fake::libretranslate(Default::default())).await;
    let b = libretranslate::build(
        "lt-open",
        &cfg(&format!(
            "kind = \"libretranslate\"\nurl = \"{}/\"",
            open.url
        )),
    )
    .unwrap();
    assert_eq!(
        b.translate(&input[..1]).await.unwrap(),
        expected(&input[..1])
    );
    assert!(open.requests()[0].json().get("api_key").is_none());
}

#[tokio::test]
async fn libretranslate_inline_terms_are_opt_in() {
    let server = Server::start(fake::libretranslate(Default::default())).await;
    let mut r = req("p1s1", "التقى بوتين وفدا من طالبان");
    r.terms = vec![term("طالبان", "Taliban"), term("بوتين", "Putin")];
    let off = libretranslate::build("lt", &lt_cfg(&server.url, "")).unwrap();
    off.translate(std::slice::from_ref(&r)).await.unwrap();
    let inline = libretranslate::build("lt", &lt_cfg(&server.url, "terms = \"inline\"")).unwrap();
    let out = inline.translate(std::slice::from_ref(&r)).await.unwrap();
    assert_eq!(out, vec![en("التقى Putin وفدا من Taliban")]);
    let sent = server.requests();
    assert_eq!(sent[0].json()["q"][0], r.text.as_str());
    assert_eq!(sent[1].json()["q"][0], "التقى Putin وفدا من Taliban");
    // Prompt and native are not LibreTranslate's.
    let e = libretranslate::build("lt", &lt_cfg(&server.url, "terms = \"native\"")).err();
    assert!(e.unwrap().to_string().contains("terms"));
}

#[tokio::test]
async fn libretranslate_auth_limits_and_languages_as_the_server_refuses_them() {
    let server = Server::start(fake::libretranslate(fake::LibreOptions {
        api_key: Some(fake::LT_KEY.into()),
        batch_limit: Some(3),
        char_limit: Some(40),
    }))
    .await;
    let url = &server.url;

    // Wrong key: 403 Invalid API key, final.
    let wrong = libretranslate::build(
        "lt",
        &cfg(&format!(
            "kind = \"libretranslate\"\nurl = \"{url}\"\napi_key_env = \"TARJAMA_TEST_WRONG_KEY\""
        )),
    )
    .unwrap();
    let e = wrong.translate(&batch(1)).await.unwrap_err();
    assert_eq!(
        (e.kind, e.retryable, e.status),
        (ErrorKind::Auth, false, Some(403))
    );
    assert_clean(&e, "lt");

    // No key where one is required: a 400 that is really an auth problem.
    let keyless = libretranslate::build(
        "lt",
        &cfg(&format!("kind = \"libretranslate\"\nurl = \"{url}\"")),
    )
    .unwrap();
    let e = keyless.translate(&batch(1)).await.unwrap_err();
    assert_eq!(
        (e.kind, e.retryable, e.status),
        (ErrorKind::Auth, false, Some(400))
    );
    assert!(e.message.contains("api_key_env"), "{}", e.message);

    // --batch-limit 3: four texts are refused; the hint says what to lower.
    let b = libretranslate::build("lt", &lt_cfg(url, "")).unwrap();
    let e = b.translate(&batch(4)).await.unwrap_err();
    assert_eq!(
        (e.kind, e.retryable, e.status),
        (ErrorKind::BadRequest, false, Some(400))
    );
    assert!(
        e.message.contains("exceeds text limit (3)"),
        "{}",
        e.message
    );
    assert!(e.message.contains("batch_size"), "{}", e.message);
    assert_clean(&e, "lt");
    assert_eq!(b.translate(&batch(3)).await.unwrap(), expected(&batch(3)));

    // --char-limit 40 is per text.
    let long = req("p2s1", &"ب".repeat(41));
    let e = b.translate(&[long]).await.unwrap_err();
    assert_eq!((e.kind, e.retryable), (ErrorKind::BadRequest, false));

    // A language the server has no model for.
    let e = libretranslate::build("lt", &lt_cfg(url, "source_lang = \"fa\""))
        .unwrap()
        .translate(&batch(1))
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::UnsupportedLanguage, false),
        "{}",
        e.message
    );
    let e = libretranslate::build("lt", &lt_cfg(url, "target_lang = \"xx\""))
        .unwrap()
        .translate(&batch(1))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnsupportedLanguage, "{}", e.message);

    // A wrong base URL: the 404 page.
    let e = libretranslate::build("lt", &lt_cfg(&format!("{url}/api"), ""))
        .unwrap()
        .translate(&batch(1))
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.retryable, e.status),
        (ErrorKind::NotFound, false, Some(404))
    );
    assert!(e.message.contains("/api/translate"), "{}", e.message);
}

#[tokio::test]
async fn libretranslate_error_table() {
    let server = Server::start(fake::libretranslate(Default::default())).await;
    let b = libretranslate::build("lt", &lt_cfg(&server.url, "")).unwrap();
    let err = |s: u16, m: &str| Canned::json(s, json!({ "error": m }));
    let echo = format!("Invalid API key {}", fake::LT_KEY);
    expect_error(&server, &*b, err(403, &echo), ErrorKind::Auth, false).await;
    let e = expect_error(
        &server,
        &*b,
        err(403, "Too many request limits violations"),
        ErrorKind::RateLimited,
        false,
    )
    .await;
    assert!(e.message.contains("banned"), "{}", e.message);
    // 429 has no Retry-After: the client asks for a hard back-off computed
    // from the server's rate (30 per minute, two texts cost two requests).
    let e = expect_error(
        &server,
        &*b,
        err(429, "Slowdown: 30 per 1 minute"),
        ErrorKind::RateLimited,
        true,
    )
    .await;
    assert_eq!(e.retry_after, Some(Duration::from_secs(4)));
    expect_error(
        &server,
        &*b,
        err(500, "translation crashed"),
        ErrorKind::Server,
        true,
    )
    .await;
    expect_error(
        &server,
        &*b,
        err(400, "Invalid request: missing q parameter"),
        ErrorKind::BadRequest,
        false,
    )
    .await;
}

#[tokio::test]
async fn a_slow_answer_times_out_after_timeout_secs() {
    let server = Server::start(fake::libretranslate(Default::default())).await;
    let b = libretranslate::build("lt", &lt_cfg(&server.url, "timeout_secs = 0.2")).unwrap();
    server.push(
        Canned::json(200, json!({ "translatedText": ["late", "late"] }))
            .delayed(Duration::from_secs(3)),
    );
    let started = std::time::Instant::now();
    let e = b.translate(&batch(2)).await.unwrap_err();
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::Timeout, true),
        "{}",
        e.message
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(e.message.contains("timeout_secs"), "{}", e.message);
    assert_clean(&e, "lt");
    // timeout_secs must be a positive number.
    assert!(libretranslate::build("lt", &lt_cfg(&server.url, "timeout_secs = 0")).is_err());
}

#[tokio::test]
async fn missing_or_empty_key_variable_is_a_config_error_naming_it() {
    let e = libretranslate::build(
        "lt",
        &cfg("kind = \"libretranslate\"\napi_key_env = \"TARJAMA_TEST_NO_SUCH_VAR\""),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("TARJAMA_TEST_NO_SUCH_VAR"), "{e}");
    assert!(e.contains("lt"), "{e}");
    for kind in ["deepl", "google", "azure"] {
        let c = cfg(&format!(
            "kind = \"{kind}\"\napi_key_env = \"TARJAMA_TEST_EMPTY_KEY\""
        ));
        let e = match kind {
            "deepl" => deepl::build("x", &c).err(),
            "google" => google::build("x", &c).err(),
            _ => azure::build("x", &c).err(),
        }
        .unwrap()
        .to_string();
        assert!(
            e.contains("TARJAMA_TEST_EMPTY_KEY") && e.contains("empty"),
            "{e}"
        );
        // These services cannot be used without a key at all.
        let c = cfg(&format!("kind = \"{kind}\""));
        let e = match kind {
            "deepl" => deepl::build("x", &c).err(),
            "google" => google::build("x", &c).err(),
            _ => azure::build("x", &c).err(),
        }
        .unwrap()
        .to_string();
        assert!(e.contains("api_key_env"), "{e}");
    }
}

// ================================================================ DeepL

fn deepl_cfg(url: &str, extra: &str) -> BackendConfig {
    cfg(&format!(
        "kind = \"deepl\"\nurl = \"{url}\"\napi_key_env = \"TARJAMA_TEST_DEEPL_KEY\"\n{extra}"
    ))
}

async fn deepl_server() -> (Server, Arc<fake::DeepLState>) {
    let state = Arc::new(fake::DeepLState::default());
    let server = Server::start(fake::deepl(fake::DEEPL_KEY, state.clone())).await;
    (server, state)
}

#[tokio::test]
async fn deepl_translates_a_batch_with_auth_header_languages_and_context() {
    let (server, _) = deepl_server().await;
    let b = deepl::build("dl", &deepl_cfg(&server.url, "")).unwrap();
    let limits = b.limits();
    assert_eq!(limits.max_items, 50);
    assert!(limits.max_bytes.unwrap() <= 128 * 1024);
    assert_eq!(b.endpoint(), format!("{}/v2/translate", server.url));

    let mut input = batch(4);
    input[0].context = Context {
        headline: Some("روسيا وطالبان".into()),
        previous: Some("الجملة السابقة".into()),
        ..Context::default()
    };
    assert_eq!(b.translate(&input).await.unwrap(), expected(&input));
    let sent = server.requests_to("/v2/translate");
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].header("authorization").as_deref(),
        Some(format!("DeepL-Auth-Key {}", fake::DEEPL_KEY).as_str())
    );
    let body = sent[0].json();
    let texts: Vec<&str> = input.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(body["text"], json!(texts));
    assert_eq!(body["source_lang"], "AR");
    assert_eq!(body["target_lang"], "EN-US");
    assert_eq!(body["split_sentences"], "0");
    assert_eq!(body["context"], "روسيا وطالبان\nالجملة السابقة");
    assert!(body.get("glossary_id").is_none());
    assert!(
        body.get("auth_key").is_none(),
        "the key is a header, not a field"
    );

    // EN-GB is configurable; model picks DeepL's model_type.
    let b = deepl::build(
        "dl",
        &deepl_cfg(
            &server.url,
            "target_lang = \"en-gb\"\nmodel = \"quality_optimized\"",
        ),
    )
    .unwrap();
    b.translate(&input[1..2]).await.unwrap();
    let body = server.requests_to("/v2/translate")[1].json();
    assert_eq!(body["target_lang"], "EN-GB");
    assert_eq!(body["model_type"], "quality_optimized");
    assert!(body.get("context").is_none());
}

#[tokio::test]
async fn deepl_configuration_rules() {
    let e = deepl::build(
        "dl",
        &deepl_cfg("http://127.0.0.1:9", "target_lang = \"EN\""),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("EN-US") && e.contains("EN-GB"), "{e}");
    assert!(
        deepl::build(
            "dl",
            &deepl_cfg("http://127.0.0.1:9", "target_lang = \"DE\"")
        )
        .is_err()
    );
    assert!(deepl::build("dl", &deepl_cfg("http://127.0.0.1:9", "model = \"fast\"")).is_err());
    assert!(deepl::build("dl", &deepl_cfg("http://127.0.0.1:9", "terms = \"prompt\"")).is_err());
    // The URL follows the key: Free keys end in :fx.
    let free = deepl::build(
        "dl",
        &cfg("kind = \"deepl\"\napi_key_env = \"TARJAMA_TEST_DEEPL_FREE_KEY\""),
    )
    .unwrap();
    assert_eq!(free.endpoint(), "https://api-free.deepl.com/v2/translate");
    let pro = deepl::build(
        "dl",
        &cfg("kind = \"deepl\"\napi_key_env = \"TARJAMA_TEST_DEEPL_KEY\"\nbatch_size = 80"),
    )
    .unwrap();
    assert_eq!(pro.endpoint(), "https://api.deepl.com/v2/translate");
    assert_eq!(pro.limits().max_items, 50, "capped by the protocol");
}

#[tokio::test]
async fn deepl_refuses_oversize_batches_with_the_real_errors() {
    let (server, _) = deepl_server().await;
    let b = deepl::build("dl", &deepl_cfg(&server.url, "batch_size = 100")).unwrap();
    // 51 texts: DeepL's 400.
    let e = b.translate(&batch(51)).await.unwrap_err();
    assert_eq!(
        (e.kind, e.retryable, e.status),
        (ErrorKind::BadRequest, false, Some(400))
    );
    assert_clean(&e, "dl");
    // Over 128 KiB: refused before sending, the server sees nothing.
    let before = server.requests().len();
    let huge = vec![req("p1s1", &"ك".repeat(70_000))];
    let e = b.translate(&huge).await.unwrap_err();
    assert_eq!((e.kind, e.retryable), (ErrorKind::BadRequest, false));
    assert!(e.message.contains("batch_size"), "{}", e.message);
    assert_eq!(server.requests().len(), before);
    // Just under the text-bytes limit passes.
    let max = b.limits().max_bytes.unwrap();
    let fits = vec![req("p1s1", &"ك".repeat(max / 2))];
    assert_eq!(b.translate(&fits).await.unwrap().len(), 1);
}

#[tokio::test]
async fn deepl_glossary_is_created_once_per_content_and_sent() {
    let (server, state) = deepl_server().await;
    let backend = deepl::DeepL::new("dl", &deepl_cfg(&server.url, "")).unwrap();
    let b: Arc<dyn Backend> = Arc::new(backend);
    let mut r1 = req("p1s1", "التقى بوتين وفدا من طالبان");
    r1.terms = vec![term("طالبان", "Taliban"), term("بوتين", "Putin")];
    let mut r2 = req("p1s2", "قالت طالبان");
    r2.terms = vec![term("طالبان", "Taliban")];
    let r3 = req("p1s3", "لا مصطلحات هنا");

    // Several batches in flight at once with the same terms: one glossary.
    let batches = [
        vec![r1.clone(), r3.clone()],
        vec![r1.clone()],
        vec![r3.clone(), r1.clone()],
    ];
    let outs = tokio::join!(
        b.translate(&batches[0]),
        b.translate(&batches[1]),
        b.translate(&batches[2])
    );
    let outs = [outs.0, outs.1, outs.2];
    assert_eq!(
        outs[0].as_ref().unwrap(),
        &vec![en("التقى Putin وفدا من Taliban"), en("لا مصطلحات هنا")]
    );
    let created = server.requests_to("/v2/glossaries");
    assert_eq!(created.len(), 1, "one glossary per content");
    let g = created[0].json();
    assert_eq!(g["source_lang"], "ar");
    assert_eq!(g["target_lang"], "en");
    assert_eq!(g["entries_format"], "tsv");
    assert_eq!(g["entries"], "بوتين\tPutin\nطالبان\tTaliban");
    let id = state
        .glossaries
        .lock()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    for t in server.requests_to("/v2/translate") {
        assert_eq!(t.json()["glossary_id"], id.as_str());
    }

    // Different content, different glossary; the same content again, none.
    b.translate(std::slice::from_ref(&r2)).await.unwrap();
    assert_eq!(server.requests_to("/v2/glossaries").len(), 2);
    b.translate(&[r2.clone(), r3.clone()]).await.unwrap();
    assert_eq!(server.requests_to("/v2/glossaries").len(), 2);
    // A batch without terms sends no glossary.
    b.translate(std::slice::from_ref(&r3)).await.unwrap();
    let last = server.requests_to("/v2/translate").pop().unwrap().json();
    assert!(last.get("glossary_id").is_none());
}

#[tokio::test]
async fn deepl_session_glossary_cleans_entries_and_can_be_reused() {
    let (server, state) = deepl_server().await;
    let dl = deepl::DeepL::new("dl", &deepl_cfg(&server.url, "")).unwrap();
    // Entries as a glossary file may hold them: padded, duplicated, empty,
    // with a tab inside. DeepL would refuse them; the fake server checks.
    let entries = vec![
        term(" طالبان ", "Taliban "),
        term("طالبان", "the Taliban"),
        term("", "nothing"),
        term("موسكو", "Moscow\tcity"),
        term("بوتين", "Putin"),
    ];
    let id = dl.glossary_id_for(&entries).await.unwrap().unwrap();
    assert_eq!(
        state.glossaries.lock().unwrap()[&id],
        vec![
            ("بوتين".to_string(), "Putin".to_string()),
            ("طالبان".to_string(), "Taliban".to_string()),
            ("موسكو".to_string(), "Moscow city".to_string()),
        ]
    );
    assert_eq!(
        dl.glossary_id_for(&entries).await.unwrap().as_deref(),
        Some(id.as_str())
    );
    assert_eq!(server.requests_to("/v2/glossaries").len(), 1);
    assert_eq!(dl.glossary_id_for(&[term(" ", " ")]).await.unwrap(), None);

    // The pipeline sets the run's entries: every batch uses that glossary,
    // even one whose own segments pin nothing.
    dl.set_glossary(entries.clone());
    dl.translate(&[req("p1s1", "قالت موسكو")]).await.unwrap();
    assert_eq!(
        server.requests_to("/v2/translate")[0].json()["glossary_id"],
        id.as_str()
    );
    assert_eq!(server.requests_to("/v2/glossaries").len(), 1);

    // A new process given the persisted id does not create it again.
    let again = deepl::DeepL::new("dl", &deepl_cfg(&server.url, "")).unwrap();
    again.remember_glossary(&deepl::glossary_hash(&entries), &id);
    again.set_glossary(entries.clone());
    let out = again.translate(&[req("p1s1", "قالت موسكو")]).await.unwrap();
    assert_eq!(out, vec![en("قالت Moscow city")]);
    assert_eq!(server.requests_to("/v2/glossaries").len(), 1);

    // The glossary deleted on DeepL's side: 404, retryable, and the next
    // attempt makes a new one.
    let gone = deepl::DeepL::new("dl", &deepl_cfg(&server.url, "")).unwrap();
    gone.remember_glossary(&deepl::glossary_hash(&entries), "deleted-id");
    gone.set_glossary(entries);
    let e = gone
        .translate(&[req("p1s1", "قالت موسكو")])
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.retryable, e.status),
        (ErrorKind::NotFound, true, Some(404))
    );
    gone.translate(&[req("p1s1", "قالت موسكو")]).await.unwrap();
    assert_eq!(server.requests_to("/v2/glossaries").len(), 2);
}

#[tokio::test]
async fn deepl_glossary_errors_are_reported() {
    let (server, _) = deepl_server().await;
    let dl = deepl::DeepL::new("dl", &deepl_cfg(&server.url, "")).unwrap();
    server.push(Canned::json(
        403,
        json!({ "message": format!("Forbidden for key {}", fake::DEEPL_KEY) }),
    ));
    let e = dl
        .glossary_id_for(&[term("بوتين", "Putin")])
        .await
        .unwrap_err();
    assert_eq!((e.kind, e.retryable), (ErrorKind::Auth, false));
    assert!(e.message.contains("/v2/glossaries"), "{}", e.message);
    assert!(e.message.contains("terms = \"off\""), "{}", e.message);
    assert_clean(&e, "dl");
}

#[tokio::test]
async fn deepl_error_table() {
    let (server, _) = deepl_server().await;
    let b = deepl::build("dl", &deepl_cfg(&server.url, "")).unwrap();
    let err = |s: u16, m: &str| {
        Canned::json(
            s,
            json!({ "message": format!("{m} (key {})", fake::DEEPL_KEY) }),
        )
    };
    let final_ = [
        (400, ErrorKind::BadRequest),
        (403, ErrorKind::Auth),
        (404, ErrorKind::NotFound),
        (413, ErrorKind::BadRequest),
        (414, ErrorKind::BadRequest),
        (456, ErrorKind::Quota),
    ];
    for (s, k) in final_ {
        expect_error(&server, &*b, err(s, "refused"), k, false).await;
    }
    let retried = [
        (429, ErrorKind::RateLimited),
        (529, ErrorKind::RateLimited),
        (500, ErrorKind::Server),
        (503, ErrorKind::Server),
        (504, ErrorKind::Server),
    ];
    for (s, k) in retried {
        expect_error(&server, &*b, err(s, "busy"), k, true).await;
    }
    let e = expect_error(
        &server,
        &*b,
        Canned::json(456, json!({ "message": "Quota Exceeded" })),
        ErrorKind::Quota,
        false,
    )
    .await;
    assert!(e.message.contains("quota"), "{}", e.message);
    // A Retry-After, if a proxy sends one, is passed on.
    let e = expect_error(
        &server,
        &*b,
        err(429, "Too many requests").header("Retry-After", "3"),
        ErrorKind::RateLimited,
        true,
    )
    .await;
    assert_eq!(e.retry_after, Some(Duration::from_secs(3)));
    // Language refused.
    expect_error(
        &server,
        &*b,
        Canned::json(
            400,
            json!({ "message": "Value for 'target_lang' not supported." }),
        ),
        ErrorKind::UnsupportedLanguage,
        false,
    )
    .await;
    // The real server with a wrong key.
    let wrong = deepl::build(
        "dl",
        &cfg(&format!(
            "kind = \"deepl\"\nurl = \"{}\"\napi_key_env = \"TARJAMA_TEST_WRONG_KEY\"",
            server.url
        )),
    )
    .unwrap();
    let e = wrong.translate(&batch(1)).await.unwrap_err();
    assert_eq!(
        (e.kind, e.retryable, e.status),
        (ErrorKind::Auth, false, Some(403))
    );
    assert_clean(&e, "dl");
}

// ================================================================ Google v2

fn google_cfg(url: &str, extra: &str) -> BackendConfig {
    cfg(&format!(
        "kind = \"google\"\nurl = \"{url}\"\napi_key_env = \"TARJAMA_TEST_GOOGLE_KEY\"\n{extra}"
    ))
}

#[tokio::test]
async fn google_translates_a_batch_with_format_text_and_the_key_in_the_query() {
    let server = Server::start(fake::google(fake::GOOGLE_KEY)).await;
    let b = google::build("gg", &google_cfg(&server.url, "")).unwrap();
    assert_eq!(b.limits().max_items, 128);
    assert!(b.limits().max_bytes.unwrap() <= 100_000);
    assert_eq!(
        b.endpoint(),
        format!("{}/language/translate/v2", server.url)
    );
    // An Arabic text with an apostrophe-like answer: no entity comes back.
    let mut input = batch(3);
    input.push(req("p2s1", "قال 'نعم' & \"لا\""));
    assert_eq!(b.translate(&input).await.unwrap(), expected(&input));
    let sent = server.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, "POST");
    assert_eq!(
        sent[0].query.get("key").map(String::as_str),
        Some(fake::GOOGLE_KEY)
    );
    let body = sent[0].json();
    let q: Vec<&str> = input.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(body["q"], json!(q));
    assert_eq!(body["source"], "ar");
    assert_eq!(body["target"], "en");
    assert_eq!(body["format"], "text");
    assert!(body.get("key").is_none());

    // 129 segments: Google's own 400, final.
    let big = google::build("gg", &google_cfg(&server.url, "batch_size = 500")).unwrap();
    assert_eq!(big.limits().max_items, 128);
    let e = big.translate(&batch(129)).await.unwrap_err();
    assert_eq!(
        (e.kind, e.retryable, e.status),
        (ErrorKind::BadRequest, false, Some(400))
    );
    assert_clean(&e, "gg");
    // Over 100K bytes: 400 too.
    let e = big
        .translate(&[req("p1s1", &"ك".repeat(60_000))])
        .await
        .unwrap_err();
    assert_eq!((e.kind, e.retryable), (ErrorKind::BadRequest, false));
    assert!(e.message.contains("batch_size"), "{}", e.message);

    // Inline terms, opt-in.
    let inline = google::build("gg", &google_cfg(&server.url, "terms = \"inline\"")).unwrap();
    let mut r = req("p1s1", "وصل وفد طالبان");
    r.terms = vec![term("طالبان", "Taliban")];
    assert_eq!(
        inline.translate(&[r]).await.unwrap(),
        vec![en("وصل وفد Taliban")]
    );
}

#[tokio::test]
async fn google_entities_are_undone_only_when_the_source_had_none() {
    let server = Server::start(fake::google(fake::GOOGLE_KEY)).await;
    let b = google::build("gg", &google_cfg(&server.url, "")).unwrap();
    let answer = |a: &str, b: &str| {
        Canned::json(
            200,
            json!({"data": {"translations": [{"translatedText": a}, {"translatedText": b}]}}),
        )
    };
    // A server that ignored format=text escaped the output.
    server.push(answer("It&#39;s &quot;5 &gt; 2&quot;", "A &amp; B"));
    let out = b.translate(&batch(2)).await.unwrap();
    assert_eq!(out, vec!["It's \"5 > 2\"", "A & B"]);
    // A source that itself has an ampersand is left exactly as answered.
    server.push(answer("AT&amp;T", "x"));
    let input = vec![req("p1s1", "شركة AT&amp;T"), req("p1s2", "س")];
    let out = b.translate(&input).await.unwrap();
    assert_eq!(out[0], "AT&amp;T");
}

#[tokio::test]
async fn google_error_table() {
    let server = Server::start(fake::google(fake::GOOGLE_KEY)).await;
    let b = google::build("gg", &google_cfg(&server.url, "")).unwrap();
    let echo = |c: u16, m: &str, r: &str| {
        // Proxies and some gateways repeat the request URL, key included.
        fake::google_error(
            c,
            &format!("{m} for /language/translate/v2?key={}", fake::GOOGLE_KEY),
            r,
        )
    };
    let cases = [
        (
            403,
            "User Rate Limit Exceeded",
            "userRateLimitExceeded",
            ErrorKind::RateLimited,
            true,
        ),
        (
            403,
            "Rate Limit Exceeded",
            "rateLimitExceeded",
            ErrorKind::RateLimited,
            true,
        ),
        (
            403,
            "Daily Limit Exceeded",
            "dailyLimitExceeded",
            ErrorKind::Quota,
            false,
        ),
        (403, "Forbidden", "forbidden", ErrorKind::Auth, false),
        (
            403,
            "Access Not Configured",
            "accessNotConfigured",
            ErrorKind::Auth,
            false,
        ),
        (
            400,
            "Invalid Value",
            "invalid",
            ErrorKind::BadRequest,
            false,
        ),
        (
            400,
            "Bad language pair: ar|xx",
            "invalid",
            ErrorKind::UnsupportedLanguage,
            false,
        ),
        (401, "Login Required", "required", ErrorKind::Auth, false),
        (404, "Not Found", "notFound", ErrorKind::NotFound, false),
        (
            429,
            "Resource has been exhausted",
            "rateLimitExceeded",
            ErrorKind::RateLimited,
            true,
        ),
        (
            500,
            "Internal error",
            "backendError",
            ErrorKind::Server,
            true,
        ),
        (
            503,
            "Service unavailable",
            "backendError",
            ErrorKind::Server,
            true,
        ),
    ];
    for (code, msg, reason, kind, retry) in cases {
        expect_error(&server, &*b, echo(code, msg, reason), kind, retry).await;
    }
    // The real server's answers to a wrong key and to no key.
    let wrong = google::build(
        "gg",
        &cfg(&format!(
            "kind = \"google\"\nurl = \"{}\"\napi_key_env = \"TARJAMA_TEST_WRONG_KEY\"",
            server.url
        )),
    )
    .unwrap();
    let e = wrong.translate(&batch(1)).await.unwrap_err();
    assert_eq!(
        (e.kind, e.retryable, e.status),
        (ErrorKind::Auth, false, Some(400))
    );
    assert_clean(&e, "gg");
    // The base URL may be given with the path; a wrong path is a 404 page.
    let full = google::build(
        "gg",
        &google_cfg(&format!("{}/language/translate/v2", server.url), ""),
    )
    .unwrap();
    assert!(full.translate(&batch(1)).await.is_ok());
    let e = google::build("gg", &google_cfg(&format!("{}/v2", server.url), ""))
        .unwrap()
        .translate(&batch(1))
        .await
        .unwrap_err();
    assert_eq!((e.kind, e.retryable), (ErrorKind::NotFound, false));
}

// ================================================================ Azure

fn azure_cfg(url: &str, extra: &str) -> BackendConfig {
    cfg(&format!(
        "kind = \"azure\"\nurl = \"{url}\"\napi_key_env = \"TARJAMA_TEST_AZURE_KEY\"\n{extra}"
    ))
}

#[tokio::test]
async fn azure_translates_a_batch_with_key_and_region_headers() {
    let server = Server::start(fake::azure(fake::AZURE_KEY, Some("westeurope"), false)).await;
    let b = azure::build("az", &azure_cfg(&server.url, "region = \"westeurope\"")).unwrap();
    let l = b.limits();
    assert_eq!(l.max_chars, Some(50_000));
    assert!(l.max_items <= 1000);
    let input = batch(6);
    assert_eq!(b.translate(&input).await.unwrap(), expected(&input));
    let sent = server.requests();
    assert_eq!(sent.len(), 1);
    let r = &sent[0];
    assert_eq!(r.path, "/translate");
    assert_eq!(r.query["api-version"], "3.0");
    assert_eq!(r.query["from"], "ar");
    assert_eq!(r.query["to"], "en");
    assert_eq!(
        r.header("ocp-apim-subscription-key").as_deref(),
        Some(fake::AZURE_KEY)
    );
    assert_eq!(
        r.header("ocp-apim-subscription-region").as_deref(),
        Some("westeurope")
    );
    assert!(r.header("x-clienttraceid").is_some());
    let want: Vec<Value> = input.iter().map(|r| json!({ "Text": r.text })).collect();
    assert_eq!(r.json(), Value::Array(want));
    assert!(!b.endpoint().contains(fake::AZURE_KEY));

    // Without the region a regional resource answers 401; the hint says why.
    let e = azure::build("az", &azure_cfg(&server.url, ""))
        .unwrap()
        .translate(&batch(1))
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.retryable, e.status),
        (ErrorKind::Auth, false, Some(401))
    );
    assert!(e.message.contains("region"), "{}", e.message);
    assert!(e.message.contains("401000"), "{}", e.message);
    assert_clean(&e, "az");
    // A language the service refuses, by its 6-digit code.
    let e = azure::build(
        "az",
        &azure_cfg(&server.url, "region = \"westeurope\"\ntarget_lang = \"xx\""),
    )
    .unwrap()
    .translate(&batch(1))
    .await
    .unwrap_err();
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::UnsupportedLanguage, false)
    );
}

#[tokio::test]
async fn azure_dynamic_dictionary_markup_is_sent_and_stripped() {
    let mut r = req("p1s1", "قال بوتين إن وفد طالبان وصل");
    r.terms = vec![
        term("بوتين", "President \"Putin\" & co"),
        term("طالبان", "Taliban"),
    ];
    let plain = req("p1s2", "لا مصطلحات");
    for echo in [false, true] {
        let server = Server::start(fake::azure(fake::AZURE_KEY, None, echo)).await;
        let b = azure::build("az", &azure_cfg(&server.url, "")).unwrap();
        let out = b.translate(&[r.clone(), plain.clone()]).await.unwrap();
        assert_eq!(
            out,
            vec![
                en("قال President \"Putin\" & co إن وفد Taliban وصل"),
                en("لا مصطلحات")
            ],
            "echo = {echo}"
        );
        let sent = server.requests()[0].json();
        assert_eq!(
            sent[0]["Text"],
            "قال <mstrans:dictionary translation=\"President &quot;Putin&quot; &amp; co\">بوتين</mstrans:dictionary> إن وفد <mstrans:dictionary translation=\"Taliban\">طالبان</mstrans:dictionary> وصل"
        );
        assert_eq!(sent[1]["Text"], "لا مصطلحات");
    }
    // terms = "off": plain text only.
    let server = Server::start(fake::azure(fake::AZURE_KEY, None, false)).await;
    let b = azure::build("az", &azure_cfg(&server.url, "terms = \"off\"")).unwrap();
    b.translate(std::slice::from_ref(&r)).await.unwrap();
    assert_eq!(server.requests()[0].json()[0]["Text"], r.text.as_str());
}

#[tokio::test]
async fn azure_splits_a_batch_that_markup_pushes_over_50000_characters() {
    let server = Server::start(fake::azure(fake::AZURE_KEY, None, false)).await;
    let b = azure::build("az", &azure_cfg(&server.url, "")).unwrap();
    // 3 × 16,120 characters fit in 50,000; the markup around the twenty
    // terms in each pushes them over, so the client sends two requests.
    let mut input: Vec<Request> = (1..=3)
        .map(|i| {
            let mut r = req(
                &format!("p1s{i}"),
                &format!("{}{}", "ك".repeat(16_000), " بوتين".repeat(20)),
            );
            r.terms = vec![term("بوتين", "Putin")];
            r
        })
        .collect();
    let total: usize = input.iter().map(|r| r.text.chars().count()).sum();
    assert!(total <= 50_000);
    let out = b.translate(&input).await.unwrap();
    assert_eq!(server.requests().len(), 2);
    for (o, r) in out.iter().zip(&input) {
        assert_eq!(o, &en(&r.text.replace("بوتين", "Putin")));
    }
    // Without terms the same batch is one request.
    input.iter_mut().for_each(|r| r.terms.clear());
    b.translate(&input).await.unwrap();
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn azure_error_table_by_six_digit_code() {
    let server = Server::start(fake::azure(fake::AZURE_KEY, None, false)).await;
    let b = azure::build("az", &azure_cfg(&server.url, "")).unwrap();
    let err = |s: u16, code: u32| {
        fake::azure_error(s, code, &format!("error for key {}", fake::AZURE_KEY))
    };
    let final_ = [
        (400, 400019, ErrorKind::UnsupportedLanguage),
        (400, 400036, ErrorKind::UnsupportedLanguage),
        (400, 400050, ErrorKind::BadRequest),
        (400, 400072, ErrorKind::BadRequest),
        (400, 400074, ErrorKind::BadRequest),
        (400, 400077, ErrorKind::BadRequest),
        (401, 401000, ErrorKind::Auth),
        (401, 401015, ErrorKind::Auth),
        (403, 403001, ErrorKind::Quota),
        (403, 403000, ErrorKind::Auth),
        (415, 415000, ErrorKind::BadRequest),
    ];
    for (s, code, kind) in final_ {
        let e = expect_error(&server, &*b, err(s, code), kind, false).await;
        assert!(e.message.contains(&code.to_string()), "{}", e.message);
    }
    let retried = [
        (408, 408002, ErrorKind::Timeout),
        (429, 429000, ErrorKind::RateLimited),
        (429, 429001, ErrorKind::RateLimited),
        (429, 429002, ErrorKind::RateLimited),
        (500, 500000, ErrorKind::Server),
        (503, 503000, ErrorKind::Server),
    ];
    for (s, code, kind) in retried {
        expect_error(&server, &*b, err(s, code), kind, true).await;
    }
    // A custom system warming up: wait about a minute.
    let e = expect_error(&server, &*b, err(408, 408001), ErrorKind::Server, true).await;
    assert_eq!(e.retry_after, Some(Duration::from_secs(60)));
    // 5xx messages carry the ids Microsoft asks for.
    let e = expect_error(&server, &*b, err(500, 500000), ErrorKind::Server, true).await;
    assert!(e.message.contains("req-0001"), "{}", e.message);
    // API Management's own 401 spells the code as a string.
    expect_error(
        &server,
        &*b,
        Canned::json(
            401,
            json!({"error": {"code": "401", "message": "Access denied due to invalid subscription key."}}),
        ),
        ErrorKind::Auth,
        false,
    )
    .await;
    // The real server with a wrong key.
    let wrong = azure::build(
        "az",
        &cfg(&format!(
            "kind = \"azure\"\nurl = \"{}\"\napi_key_env = \"TARJAMA_TEST_WRONG_KEY\"",
            server.url
        )),
    )
    .unwrap();
    let e = wrong.translate(&batch(1)).await.unwrap_err();
    assert_eq!(
        (e.kind, e.retryable, e.status),
        (ErrorKind::Auth, false, Some(401))
    );
    assert_clean(&e, "az");
}

// ================================================================ inline markers

/// A batch with a segment carrying inline markers goes as markup to each
/// protocol that has it (LibreTranslate `format=html`, Google
/// `format=html`, Azure `textType=html`; DeepL is tested end to end in
/// `documents`): every text escaped, the markers as `<mN>` tags; the
/// answers come back with the markers and the entities decoded. A batch
/// without markers is sent as text, as before.
#[tokio::test]
async fn a_batch_with_inline_markers_goes_as_markup_and_comes_back_with_them() {
    let marked = req("p1s1", "قال ⟦1⟧الرئيس⟦/1⟧ إن 5 < 6 & ⟦2⟧نعم⟦/2⟧");
    let plain = req("p1s2", "الجملة 5 < 6 & تم");
    let tags = "قال <m1>الرئيس</m1> إن 5 &lt; 6 &amp; <m2>نعم</m2>";
    let lt = Server::start(fake::libretranslate(fake::LibreOptions {
        api_key: Some(fake::LT_KEY.into()),
        ..Default::default()
    }))
    .await;
    let gg = Server::start(fake::google(fake::GOOGLE_KEY)).await;
    let az = Server::start(fake::azure(fake::AZURE_KEY, None, false)).await;
    let backends: Vec<(&str, Arc<dyn Backend>, &Server)> = vec![
        (
            "libretranslate",
            libretranslate::build("lt", &lt_cfg(&lt.url, "")).unwrap(),
            &lt,
        ),
        (
            "google",
            google::build("gg", &google_cfg(&gg.url, "")).unwrap(),
            &gg,
        ),
        (
            "azure",
            azure::build("az", &azure_cfg(&az.url, "terms = \"off\"")).unwrap(),
            &az,
        ),
    ];
    for (name, b, server) in backends {
        let got = b.translate(&[marked.clone(), plain.clone()]).await.unwrap();
        assert_eq!(
            got,
            [en(&marked.text), en(&plain.text)],
            "{name}: markers and entities come back as text"
        );
        let sent = server.requests();
        let last = sent.last().unwrap();
        let body = last.json();
        let (texts, mode): (Vec<String>, String) = match name {
            "azure" => (
                body.as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["Text"].as_str().unwrap().to_string())
                    .collect(),
                last.query.get("textType").cloned().unwrap_or_default(),
            ),
            _ => (
                body["q"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t.as_str().unwrap().to_string())
                    .collect(),
                body["format"].as_str().unwrap().to_string(),
            ),
        };
        assert_eq!(mode, "html", "{name}");
        assert_eq!(texts, [tags, "الجملة 5 &lt; 6 &amp; تم"], "{name}");
        // without markers: plain text, as before
        b.translate(std::slice::from_ref(&plain)).await.unwrap();
        let sent = server.requests();
        let last = sent.last().unwrap();
        let body = last.json();
        match name {
            "azure" => {
                assert!(!last.query.contains_key("textType"), "{name}");
                assert_eq!(body[0]["Text"], plain.text.as_str());
            }
            _ => {
                assert_eq!(body["format"], "text", "{name}");
                assert_eq!(body["q"][0], plain.text.as_str());
            }
        }
    }
}

/// An MT engine's answer whose markers were damaged is kept without them
/// (the pipeline notes the formatting was not placed); brackets in the
/// answer to a text without markers are removed.
#[tokio::test]
async fn damaged_markers_from_an_mt_engine_are_removed_not_resent() {
    let gg = Server::start(fake::google(fake::GOOGLE_KEY)).await;
    let b = google::build("gg", &google_cfg(&gg.url, "")).unwrap();
    let marked = req("p1s1", "قال ⟦1⟧الرئيس⟦/1⟧ إن ⟦2⟧الوفد⟦/2⟧ وصل");
    let plain = req("p1s2", "وصل الوفد");
    gg.push(Canned::json(
        200,
        json!({"data": {"translations": [
            {"translatedText": "<m1>The president</m1> said <m2>the</m1> delegation</m2> came"},
            {"translatedText": "The ⟦1⟧delegation came"},
        ]}}),
    ));
    let got = b.translate(&[marked, plain]).await.unwrap();
    assert_eq!(
        got,
        [
            "The president said the delegation came",
            "The delegation came"
        ]
    );
    assert_eq!(gg.requests().len(), 1);
}

/// Azure's dynamic dictionary and inline markers together: the markup
/// batch carries both, the dictionary's translation lands inside the
/// marked run, the markers come back.
#[tokio::test]
async fn azure_dictionary_markup_and_inline_markers_go_together() {
    let mut r = req("p1s1", "قال ⟦1⟧بوتين⟦/1⟧ إن وفد طالبان وصل & غادر");
    r.terms = vec![term("بوتين", "Putin"), term("طالبان", "Taliban")];
    let server = Server::start(fake::azure(fake::AZURE_KEY, None, false)).await;
    let b = azure::build("az", &azure_cfg(&server.url, "")).unwrap();
    let out = b.translate(std::slice::from_ref(&r)).await.unwrap();
    assert_eq!(out, vec![en("قال ⟦1⟧Putin⟦/1⟧ إن وفد Taliban وصل & غادر")]);
    let sent = &server.requests()[0];
    assert_eq!(sent.query.get("textType").map(String::as_str), Some("html"));
    assert_eq!(
        sent.json()[0]["Text"],
        "قال <m1><mstrans:dictionary translation=\"Putin\">بوتين</mstrans:dictionary></m1> إن وفد <mstrans:dictionary translation=\"Taliban\">طالبان</mstrans:dictionary> وصل &amp; غادر"
    );
}
