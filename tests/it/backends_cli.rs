//! `tarjama backends list` and `tarjama backends test` through the real
//! binary, against servers started here.

use crate::support;
use crate::support::tarjama;

use std::path::Path;

use predicates::prelude::*;
use support::{Fake, closed_port_url, serve_in_background};

const KEY: &str = "sk-cli-KEY-0d8e7f";

fn write_config(dir: &Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("tarjama.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn llm_table(name: &str, url: &str) -> String {
    format!(
        "[backends.{name}]\nkind = \"openai\"\nurl = \"{url}/v1\"\nmodel = \"m\"\napi_key_env = \"CLI_TEST_LLM_KEY\"\ntimeout_secs = 3\n"
    )
}

#[test]
fn list_shows_kind_url_and_key_state_never_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "default_backend = \"llm\"\n{}\n[backends.deepl]\nkind = \"deepl\"\napi_key_env = \"CLI_TEST_DEEPL_KEY\"\n\n[backends.local]\nkind = \"ollama\"\nmodel = \"llama3.2\"\n",
        llm_table("llm", "http://127.0.0.1:8080")
    );
    let p = write_config(dir.path(), &cfg);
    let out = tarjama(dir.path())
        .arg("--config")
        .arg(&p)
        .args(["backends", "list"])
        .env("CLI_TEST_LLM_KEY", KEY)
        .env_remove("CLI_TEST_DEEPL_KEY")
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(!stdout.contains(KEY), "{stdout}");
    let line = |name: &str| {
        stdout
            .lines()
            .find(|l| l.split_whitespace().next().unwrap().trim_start_matches('*') == name)
            .unwrap_or_else(|| panic!("no {name} in {stdout}"))
            .to_string()
    };
    let llm = line("llm");
    assert!(llm.starts_with("*llm"), "default is marked: {llm}");
    assert!(
        llm.contains("openai")
            && llm.contains("http://127.0.0.1:8080/v1")
            && llm.contains("CLI_TEST_LLM_KEY set"),
        "{llm}"
    );
    let deepl = line("deepl");
    assert!(
        deepl.contains("https://api.deepl.com") && deepl.contains("CLI_TEST_DEEPL_KEY NOT SET"),
        "{deepl}"
    );
    let local = line("local");
    assert!(
        local.contains("ollama")
            && local.contains("http://127.0.0.1:11434")
            && local.trim_end().ends_with('-'),
        "{local}"
    );
}

#[test]
fn test_reports_success_with_the_answer_and_latency() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::with_key(KEY);
    let srv = serve_in_background(support::openai(fake.clone()));
    let p = write_config(dir.path(), &llm_table("llm", srv.url()));
    tarjama(dir.path())
        .arg("--config")
        .arg(&p)
        .args(["backends", "test"])
        .env("CLI_TEST_LLM_KEY", KEY)
        .assert()
        .success()
        .stdout(
            predicate::str::is_match(
                r#"^ok +llm \(openai, http://127\.0\.0\.1:\d+/v1\) +\d+\.\d\d s +"EN "#,
            )
            .unwrap(),
        );
    assert_eq!(fake.log.count(), 1);
}

#[test]
fn test_reports_a_bad_key_without_showing_it() {
    let dir = tempfile::tempdir().unwrap();
    // The server wants another key and echoes the one it got.
    let fake = Fake::with_key("sk-the-right-one");
    let srv = serve_in_background(support::openai(fake));
    let p = write_config(dir.path(), &llm_table("llm", srv.url()));
    let out = tarjama(dir.path())
        .arg("--config")
        .arg(&p)
        .args(["backends", "test", "llm"])
        .env("CLI_TEST_LLM_KEY", KEY)
        .assert()
        .code(1);
    let o = out.get_output();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!all.contains(KEY), "{all}");
    assert!(
        all.contains("FAIL  llm") && all.contains("HTTP 401") && all.contains("$CLI_TEST_LLM_KEY"),
        "{all}"
    );
    assert!(all.contains("backend test failed: llm"), "{all}");
}

#[test]
fn test_reports_an_unreachable_url_and_a_missing_key_variable() {
    let dir = tempfile::tempdir().unwrap();
    let url = closed_port_url();
    let p = write_config(dir.path(), &llm_table("llm", &url));
    tarjama(dir.path())
        .arg("--config")
        .arg(&p)
        .args(["backends", "test", "llm"])
        .env("CLI_TEST_LLM_KEY", KEY)
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("cannot connect to")
                .and(predicate::str::contains(url.as_str())),
        );
    tarjama(dir.path())
        .arg("--config")
        .arg(&p)
        .args(["backends", "test", "llm"])
        .env_remove("CLI_TEST_LLM_KEY")
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "CLI_TEST_LLM_KEY (api_key_env) is not set",
        ));
}

#[test]
fn unknown_backend_and_bad_config_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_config(dir.path(), &llm_table("llm", "http://127.0.0.1:9"));
    tarjama(dir.path())
        .arg("--config")
        .arg(&p)
        .args(["backends", "test", "nope"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("unknown backend \"nope\"")
                .and(predicate::str::contains("known backends: llm")),
        );
    // TARJAMA_BACKEND picks the backend when no name is given.
    tarjama(dir.path())
        .arg("--config")
        .arg(&p)
        .args(["backends", "test"])
        .env("TARJAMA_BACKEND", "other")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("unknown backend \"other\""));
    let p = write_config(
        dir.path(),
        "[backends.x]\nkind = \"ollama\"\nmodel = \"m\"\nconcurency = 3\n",
    );
    tarjama(dir.path())
        .arg("--config")
        .arg(&p)
        .args(["backends", "list"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("concurency").and(predicate::str::contains("line 4")));
}

/// The knob variables are shown in `--help`, at the top and on the
/// commands that read them.
#[test]
fn help_shows_the_environment_variables() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--help"][..],
        &["translate", "--help"],
        &["memory", "--help"],
    ] {
        let out = tarjama(dir.path()).args(args).output().unwrap();
        let help = String::from_utf8(out.stdout).unwrap();
        for var in [
            "TARJAMA_CONFIG",
            tarjama::config::ENV_BACKEND,
            tarjama::config::ENV_MEMORY,
            tarjama::config::ENV_BATCH_SIZE,
            tarjama::config::ENV_CONCURRENCY,
            tarjama::config::ENV_REQUESTS_PER_MINUTE,
            tarjama::config::ENV_TIMEOUT_SECS,
            tarjama::config::ENV_MAX_RETRIES,
        ] {
            assert!(help.contains(var), "{args:?}: {var} missing in\n{help}");
        }
    }
}

/// `[segment]` in tarjama.toml is honoured by `segment` as by `translate`:
/// the same file gets the same segment ids from both.
#[test]
fn segment_and_translate_give_the_same_ids_under_the_config_segment_table() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_config(d, "[segment]\njoin_lines = true\n");
    std::fs::write(
        d.join("article.txt"),
        "قال الوزير إن\nالاجتماع انتهى. هل من\nجديد؟\n\nفقرة ثانية\nهنا.\n",
    )
    .unwrap();
    let ids_of = |out: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(out)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["id"].as_str().map(String::from))
            .collect()
    };
    let seg = tarjama(d)
        .env("XDG_DATA_HOME", d.join("data"))
        .args(["segment", "--format", "jsonl", "article.txt"])
        .output()
        .unwrap();
    crate::support::assert_success(&seg);
    let seg_ids = ids_of(&seg.stdout);
    assert_eq!(seg_ids, ["p1s1", "p1s2", "p2s1"], "joined lines");
    tarjama(d)
        .env("XDG_DATA_HOME", d.join("data"))
        .env_remove("TARJAMA_MEMORY")
        .args(["translate", "article.txt", "-o", "out.jsonl"])
        .assert()
        .success();
    let out = std::fs::read(d.join("out.jsonl")).unwrap();
    assert_eq!(ids_of(&out), seg_ids);
    // Without the table, the line breaks count: other ids.
    std::fs::write(d.join("tarjama.toml"), "").unwrap();
    let plain = tarjama(d)
        .args(["segment", "--format", "jsonl", "article.txt"])
        .output()
        .unwrap();
    assert_ne!(ids_of(&plain.stdout), seg_ids);
}
