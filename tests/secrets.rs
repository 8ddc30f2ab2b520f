//! The API key never leaves the request: every command runs with a
//! distinctive key in the environment, against a server whose error bodies
//! echo the request's headers and body back (as some proxies do), and the
//! key must appear in no output file, no memory file, no stdout or stderr
//! line and no error message. The server must have received the key, so a
//! run that simply never sent it cannot pass.

mod support;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use support::faulty::{FaultKind, Faulty, FaultyConfig};

const KEY: &str = "sk-proof-SECRET-5e1f7a93c2d84b60";
const KEY_VAR: &str = "TARJAMA_PROOF_SECRET_KEY";

struct Project {
    dir: tempfile::TempDir,
    _servers: Vec<support::BackgroundServer>,
    servers: Vec<std::sync::Arc<Faulty>>,
}

fn server(
    fault_rate: f64,
    faults: Vec<FaultKind>,
) -> (support::BackgroundServer, std::sync::Arc<Faulty>) {
    let f = Faulty::new(FaultyConfig {
        fault_rate,
        faults,
        echo: true,
        retry_after_secs: 0,
        latency: Duration::from_millis(1),
        ..FaultyConfig::default()
    });
    (support::serve_in_background(f.handler()), f)
}

/// Three backends: `good` answers, `failing` answers 500/503/429 with the
/// request echoed, `flaky` fails half the time.
fn project() -> Project {
    let dir = tempfile::tempdir().unwrap();
    let (s1, good) = server(0.0, vec![]);
    let (s2, failing) = server(
        1.0,
        vec![
            FaultKind::Status500,
            FaultKind::Status503,
            FaultKind::RateLimitedBare,
        ],
    );
    let (s3, flaky) = server(0.5, FaultKind::ALL.to_vec());
    let table = |name: &str, url: &str| {
        format!(
            "[backends.{name}]\nkind = \"openai\"\nurl = \"{url}/v1\"\nmodel = \"m\"\n\
             api_key_env = \"{KEY_VAR}\"\nbatch_size = 4\ntimeout_secs = 0.5\nmax_retries = 1\n\
             retry_base_ms = 1\nretry_max_secs = 0.01\n\n"
        )
    };
    std::fs::write(
        dir.path().join("tarjama.toml"),
        format!(
            "default_backend = \"good\"\n\n{}{}{}",
            table("good", s1.url()),
            table("failing", s2.url()),
            table("flaky", s3.url())
        ),
    )
    .unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/2024-10-04-russia-taliban.ar.txt"),
        dir.path().join("article.txt"),
    )
    .unwrap();
    Project {
        dir,
        _servers: vec![s1, s2, s3],
        servers: vec![good, failing, flaky],
    }
}

impl Project {
    fn run(&self, args: &[&str]) -> Output {
        let d = self.dir.path();
        Command::cargo_bin("tarjama")
            .unwrap()
            .current_dir(d)
            .env("XDG_DATA_HOME", d.join("data"))
            .env("XDG_CONFIG_HOME", d.join("config"))
            .env_remove("TARJAMA_CONFIG")
            .env_remove("TARJAMA_BACKEND")
            .env(KEY_VAR, KEY)
            .args(args)
            .output()
            .unwrap()
    }

    /// Run and check that the key is in neither stream; return the streams.
    fn run_clean(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let out = self.run(args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        for (name, text) in [("stdout", &stdout), ("stderr", &stderr)] {
            assert!(
                !text.contains(KEY) && !text.contains(&KEY[3..]),
                "the key leaked on {name} of `tarjama {}`:\n{text}",
                args.join(" ")
            );
        }
        (out.status.code(), stdout, stderr)
    }

    /// No file under the project holds the key (or a good part of it).
    fn assert_no_file_holds_the_key(&self) {
        fn walk(p: &Path, files: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(p).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, files);
                } else {
                    files.push(p);
                }
            }
        }
        let mut files = Vec::new();
        walk(self.dir.path(), &mut files);
        let needle = &KEY.as_bytes()[3..];
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "the key is in {}",
                f.display()
            );
        }
    }

    /// The key reached the server (so the test above means something).
    fn assert_key_was_sent(&self, server: usize) {
        let records = self.servers[server].records();
        assert!(!records.is_empty(), "server {server} received nothing");
        let bearer = format!("Bearer {KEY}");
        assert!(
            records
                .iter()
                .all(|r| r.authorization.as_deref() == Some(bearer.as_str())),
            "server {server} got the key in every request"
        );
    }
}

#[test]
fn the_key_appears_in_no_output_stream_or_file() {
    let p = project();
    let (code, stdout, _) = p.run_clean(&["backends", "list"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("good"), "{stdout}");

    let (code, _, _) = p.run_clean(&["backends", "test", "good"]);
    assert_eq!(code, Some(0));
    p.assert_key_was_sent(0);

    // Errors that echo the Authorization header back.
    let (code, stdout, stderr) = p.run_clean(&["backends", "test", "failing"]);
    // The echoed request was shown (so scrubbing, not luck, kept the key out).
    assert!(
        format!("{stdout}{stderr}").contains("request headers"),
        "{stdout}{stderr}"
    );
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("failing") || stdout.contains("failing"),
        "the error names the backend:\n{stdout}{stderr}"
    );
    p.assert_key_was_sent(1);
    let (_, _, _) = p.run_clean(&["backends", "test", "--all"]);

    let (code, _, _) = p.run_clean(&["segment", "article.txt", "--format", "jsonl"]);
    assert_eq!(code, Some(0));

    p.assert_no_file_holds_the_key();
}
