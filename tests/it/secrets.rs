//! The API key never leaves the request: every command runs with a
//! distinctive key in the environment, against a server whose error bodies
//! echo the request's headers and body back (as some proxies do), and the
//! key must appear in no output file, no memory file, no stdout or stderr
//! line and no error message. The server must have received the key, so a
//! run that simply never sent it cannot pass.

use crate::support;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use support::faulty::{FaultKind, Faulty, FaultyConfig};

const KEY: &str = "sk-proof-SECRET-5e1f7a93c2d84b60";
const KEY_VAR: &str = "TARJAMA_PROOF_SECRET_KEY";

struct Project {
    dir: tempfile::TempDir,
    _servers: Vec<support::BackgroundServer>,
    servers: Vec<std::sync::Arc<support::Fake>>,
}

fn server(
    fault_rate: f64,
    faults: Vec<FaultKind>,
) -> (support::BackgroundServer, std::sync::Arc<support::Fake>) {
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
        crate::support::tarjama(d)
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

    // The glossary commands (a glossary in ./glossaries/, the default).
    std::fs::create_dir(p.dir.path().join("glossaries")).unwrap();
    std::fs::write(
        p.dir.path().join("glossaries/terms.tsv"),
        "source\ttarget\tkind\nلافروف\tLavrov\tperson\nطالبان\tTaliban\torg\n",
    )
    .unwrap();
    for args in [
        &["glossary", "list"][..],
        &["glossary", "match", "article.txt"],
        &["glossary", "check"],
        &["glossary", "suggest", "article.txt"],
        &["glossary", "export", "--to", "tbx", "-o", "terms.tbx"],
        &["glossary", "import", "terms.tbx", "-o", "imported.tsv"],
        &[
            "glossary",
            "add",
            "-g",
            "glossaries/terms.tsv",
            "موسكو",
            "Moscow",
        ],
        &["glossary", "remove", "-g", "glossaries/terms.tsv", "موسكو"],
    ] {
        let (code, stdout, stderr) = p.run_clean(args);
        assert!(
            matches!(code, Some(0 | 4)),
            "{args:?}: {code:?}\n{stdout}{stderr}"
        );
    }

    // translate: a good run, a failing backend (errors echo the key back
    // and end in the output as reasons), a flaky one, a dry run; the
    // outputs of every format.
    for (backend, out) in [
        ("good", "good.jsonl"),
        ("failing", "failing.jsonl"),
        ("flaky", "flaky.jsonl"),
        ("good", "good.html"),
        ("good", "good.xlf"),
    ] {
        let (code, stdout, stderr) = p.run_clean(&[
            "translate",
            "article.txt",
            "--backend",
            backend,
            "--memory",
            "tm.sqlite",
            "-o",
            out,
        ]);
        assert!(
            matches!(code, Some(0 | 3)),
            "translate --backend {backend}: {code:?}\n{stdout}{stderr}"
        );
    }
    let failing = std::fs::read_to_string(p.dir.path().join("failing.jsonl")).unwrap();
    assert!(
        failing.contains("request headers"),
        "the echoed errors reached the output as reasons:\n{failing}"
    );
    p.assert_key_was_sent(1);
    p.assert_key_was_sent(2);
    let (code, _, _) = p.run_clean(&[
        "translate",
        "article.txt",
        "--dry-run",
        "--memory",
        "tm.sqlite",
    ]);
    assert_eq!(code, Some(0));
    for args in [
        &["memory", "--memory", "tm.sqlite", "stats"][..],
        &["memory", "--memory", "tm.sqlite", "export", "-o", "tm.tmx"],
        &["memory", "--memory", "tm2.sqlite", "import", "tm.tmx"],
        &["qa", "good.jsonl"],
        &["qa", "failing.jsonl", "--format", "jsonl"],
        &["render", "good.jsonl", "-o", "rendered.md"],
    ] {
        let (code, stdout, stderr) = p.run_clean(args);
        assert!(
            matches!(code, Some(0 | 3 | 4)),
            "{args:?}: {code:?}\n{stdout}{stderr}"
        );
    }

    p.assert_no_file_holds_the_key();
}

/// Segments and translations that break naive HTML and XML writers.
const HOSTILE: &[(&str, &str)] = &[
    (
        "قال <script>alert('ar')</script> المسؤول.",
        "He said <script>alert('en')</script> today.",
    ),
    ("نص ]]> بعد CDATA.", "Text ]]> after <![CDATA[ x ]]> here."),
    (
        "شركة A&B و\"اقتباس\" و'آخر'.",
        "A&B &amp; \"quoted\" and 'single' &lt;tag&gt;.",
    ),
    (
        "تحكم \u{1}\u{8}\u{b}\u{c}\u{1b} هنا.",
        "control \u{1}\u{8}\u{b}\u{c}\u{1b}\u{7f} here.",
    ),
    (
        "<img src=x onerror=alert(1)> نص.",
        "\"><img src=x onerror=alert(1)><!-- end",
    ),
];

fn hostile_doc() -> tarjama::model::Bitext {
    use tarjama::model::{AlignedPair, Bitext, DocMeta, Origin};
    let pairs = HOSTILE
        .iter()
        .enumerate()
        .map(|(i, (ar, en))| AlignedPair {
            id: format!("p{}s1", i + 1),
            para: i + 1,
            source: ar.to_string(),
            target: Some(en.to_string()),
            origin: Origin::Mt,
            terms: vec![],
            warnings: vec!["<b>warning</b> & \"note\"".into()],
            suggestions: vec![],
            start: 0,
            end: 0,
            formats: Vec::new(),
            marked: None,
            history: Vec::new(),
        })
        .collect();
    Bitext {
        meta: DocMeta {
            title: Some("<title>&\"'</title>".into()),
            ..DocMeta::default()
        },
        pairs,
    }
}

/// Every XML event parses, and no character XML 1.0 forbids is written,
/// raw or as a reference.
fn assert_well_formed_xml(name: &str, text: &str) {
    let mut r = quick_xml::Reader::from_str(text);
    loop {
        match r.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("{name}: not well-formed at {}: {e}", r.buffer_position()),
        }
    }
    for c in text.chars() {
        let bad = (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{fffe}';
        assert!(!bad, "{name}: raw control character {:?}", c);
    }
    for bad in [
        "&#1;", "&#x1;", "&#8;", "&#x8;", "&#11;", "&#xb;", "&#27;", "&#x1b;",
    ] {
        assert!(!text.to_lowercase().contains(bad), "{name}: {bad}");
    }
}

#[test]
fn html_and_xml_outputs_escape_hostile_segments_and_translations() {
    let p = project();
    let d = p.dir.path();
    std::fs::write(
        d.join("hostile.jsonl"),
        tarjama::output::jsonl::to_string(&hostile_doc()),
    )
    .unwrap();
    for out in ["out.html", "out.xlf", "out.tmx", "out.md", "out.tsv"] {
        let (code, _, stderr) = p.run_clean(&["render", "hostile.jsonl", "-o", out]);
        assert_eq!(code, Some(0), "render -o {out}: {stderr}");
    }
    let html = std::fs::read_to_string(d.join("out.html")).unwrap();
    for (ar, en) in HOSTILE {
        for s in [ar, en] {
            for needle in ["<script>alert", "<img src=x", "<!-- end", "<title>&"] {
                if s.contains(needle) {
                    assert!(!html.contains(needle), "raw {needle:?} in the HTML");
                }
            }
        }
    }
    assert!(
        html.contains("&lt;script&gt;alert("),
        "escaped, not dropped"
    );
    for c in html.chars() {
        assert!(
            c >= ' ' || matches!(c, '\t' | '\n' | '\r'),
            "raw control character {c:?} in the HTML"
        );
    }
    for f in ["out.xlf", "out.tmx"] {
        let text = std::fs::read_to_string(d.join(f)).unwrap();
        assert_well_formed_xml(f, &text);
    }
    // Through translate: the server's English keeps the markup of the
    // Arabic, so the translations are hostile too.
    let article: String = HOSTILE.iter().map(|(ar, _)| format!("{ar}\n\n")).collect();
    std::fs::write(d.join("hostile.txt"), article).unwrap();
    for out in ["t.html", "t.xlf", "t.tmx"] {
        let (code, _, stderr) = p.run_clean(&[
            "translate",
            "hostile.txt",
            "--memory",
            "tm.sqlite",
            "-o",
            out,
        ]);
        assert_eq!(code, Some(0), "translate -o {out}: {stderr}");
    }
    let html = std::fs::read_to_string(d.join("t.html")).unwrap();
    assert!(!html.contains("<script>alert") && !html.contains("<img src=x"));
    assert!(
        html.contains("&lt;script&gt;alert(&#39;ar&#39;)")
            || html.contains("&lt;script&gt;alert('ar')")
    );
    for f in ["t.xlf", "t.tmx"] {
        assert_well_formed_xml(f, &std::fs::read_to_string(d.join(f)).unwrap());
    }

    // The reviewed-file round trip gives back the same text (control
    // characters XML cannot carry aside).
    for f in ["out.xlf", "out.tsv"] {
        let back = format!("{f}.jsonl");
        let (code, _, stderr) = p.run_clean(&["render", f, "-o", &back]);
        assert_eq!(code, Some(0), "render {f}: {stderr}");
        let doc =
            tarjama::output::jsonl::read(&back, &std::fs::read_to_string(d.join(&back)).unwrap())
                .unwrap();
        assert_eq!(doc.pairs.len(), HOSTILE.len(), "{f}");
        for (pair, (ar, en)) in doc.pairs.iter().zip(HOSTILE) {
            let strip = |s: &str| -> String {
                s.chars()
                    .filter(|c| !c.is_control() || matches!(c, '\t' | '\n'))
                    .collect()
            };
            assert_eq!(strip(&pair.source), strip(ar), "{f}");
            assert_eq!(
                strip(pair.target.as_deref().unwrap_or("")),
                strip(en),
                "{f}"
            );
        }
    }
}
