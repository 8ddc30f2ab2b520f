//! Hostile input through the real binary: huge lines, millions of lines,
//! mixed scripts. No panic, no hang, bounded memory.
//!
//! The CI sizes are small; set `TARJAMA_LONG_TESTS=1` for the full sizes
//! named in the issue (a 50 MB line, 1 million lines).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

fn long() -> bool {
    std::env::var_os("TARJAMA_LONG_TESTS").is_some()
}

/// Run `tarjama ARGS` on `input` from a file; return its output and the
/// peak resident memory of that one child, in bytes.
///
/// The peak is measured by GNU time (`/usr/bin/time -f %M`), which starts
/// the binary from its own small process: a child started by the test
/// binary itself would inherit the test process's resident size as its
/// `ru_maxrss` (Linux keeps the high-water mark across `exec`), so with
/// other tests running it reads 100 MB whatever tarjama does.
fn run(args: &[&str], input: &[u8]) -> (std::process::Output, u64) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("input.txt");
    std::fs::write(&p, input).unwrap();
    let time = Path::new("/usr/bin/time");
    assert!(
        time.exists(),
        "these tests measure peak memory with GNU time: install it (Debian package `time`)"
    );
    let isolated = crate::support::tarjama_process(dir.path());
    let rss_file = dir.path().join("peak-rss-kib");
    let mut cmd = Command::new(time);
    cmd.arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss_file)
        .arg(isolated.get_program())
        .args(args)
        .arg(&p)
        .current_dir(dir.path())
        .stdin(Stdio::null());
    for (k, v) in isolated.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd.output().unwrap();
    let kib: u64 = std::fs::read_to_string(&rss_file)
        .unwrap()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .expect("GNU time wrote the peak in KiB");
    (out, kib * 1024)
}

#[test]
fn one_huge_line_without_punctuation() {
    let mb = if long() { 50 } else { 4 };
    let word = "كلمة عربية طويلة بلا ترقيم ";
    let mut line = String::with_capacity(mb * 1024 * 1024 + word.len());
    while line.len() < mb * 1024 * 1024 {
        line.push_str(word);
    }
    line.push('\n');
    let (out, rss) = run(&["segment", "--format", "jsonl"], line.as_bytes());
    crate::support::assert_success(&out);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "one line, one segment");
    // The measure is the child's own: it held the line at least once.
    assert!(
        rss > line.len() as u64,
        "peak memory {rss} bytes: not measured"
    );
    // Input, its one segment and the JSON line: a few copies at most.
    let bound = 6 * line.len() as u64 + 64 * 1024 * 1024;
    assert!(
        rss < bound,
        "peak memory {rss} bytes for a {} byte line",
        line.len()
    );
}

#[test]
fn a_huge_line_of_quotes_and_dots() {
    // Pathological for pair matching: thousands of unbalanced quotes and
    // brackets around terminators.
    let mb = if long() { 20 } else { 2 };
    let unit = "«(\"نص. آخر؟ »)\" ((( ".repeat(8);
    let mut line = String::new();
    while line.len() < mb * 1024 * 1024 {
        line.push_str(&unit);
    }
    let (out, _) = run(&["segment"], line.as_bytes());
    crate::support::assert_success(&out);
    // Whatever the breaks, the output holds every non-space character.
    let stdout = String::from_utf8(out.stdout).unwrap();
    let count = |s: &str| s.chars().filter(|c| !c.is_whitespace()).count();
    assert_eq!(count(&stdout), count(&line));
}

#[test]
fn a_million_tiny_lines() {
    let n = if long() { 1_000_000 } else { 100_000 };
    let mut text = String::with_capacity(n * 6);
    for i in 0..n {
        text.push_str(if i % 3 == 0 { "نعم.\n" } else { "ب\n" });
    }
    let (out, _) = run(&["segment", "--format", "jsonl"], text.as_bytes());
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), n);
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["id"], format!("p{n}s1"));
}

#[test]
fn mixed_scripts_and_controls() {
    let mut text = String::new();
    for i in 0..2000 {
        text.push_str(&format!(
            "قال \u{202B}مسؤول\u{202C} 北京 Москва {i}. Ελλάδα! \u{200F}لا؟ 🙂 x\u{0301}.\u{0}"
        ));
        text.push('\n');
    }
    // A NUL byte makes it binary: refused with a clear error, no panic.
    let (out, _) = run(&["segment"], text.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("binary"));
    let text = text.replace('\u{0}', "");
    let (out, _) = run(&["segment", "--format", "jsonl"], text.as_bytes());
    assert!(out.status.success());
    let chars: Vec<char> = text.chars().collect();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let (s, e) = (
            v["start"].as_u64().unwrap() as usize,
            v["end"].as_u64().unwrap() as usize,
        );
        assert_eq!(
            chars[s..e].iter().collect::<String>(),
            v["text"].as_str().unwrap()
        );
    }
    let _ = std::io::stdout().flush();
}
