//! Hostile input through the real binary: huge lines, millions of lines,
//! mixed scripts. No panic, no hang, bounded memory.
//!
//! The CI sizes are small; set `TARJAMA_LONG_TESTS=1` for the full sizes
//! named in the issue (a 50 MB line, 1 million lines).

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

fn long() -> bool {
    std::env::var_os("TARJAMA_LONG_TESTS").is_some()
}

/// Run `tarjama ARGS` on `input` from a file; return its output and the
/// peak resident memory of that one child, in bytes (from `wait4`, so other
/// tests' children running in the same test binary do not count).
// The child is reaped by `wait4` below, which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn run(args: &[&str], input: &[u8]) -> (std::process::Output, u64) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("input.txt");
    std::fs::write(&p, input).unwrap();
    let mut child = crate::support::command::tarjama_process(dir.path())
        .args(args)
        .arg(&p)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            r.read_to_end(&mut v).unwrap();
            v
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data, fully written by wait4.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own child, not yet waited for; the pointers are valid.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    let out = std::process::Output {
        status: std::process::ExitStatus::from_raw(status),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    (out, ru.ru_maxrss as u64 * 1024)
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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
