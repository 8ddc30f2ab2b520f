//! `tarjama segment` through the real binary.

use crate::support::tarjama_in_repo as tarjama;
use predicates::prelude::*;

use crate::segment_eval;

const SEED: &str = "seeds/2024-10-04-russia-taliban.ar.txt";

#[derive(serde::Deserialize)]
struct Seg {
    id: String,
    para: usize,
    index: usize,
    text: String,
    start: usize,
    end: usize,
}

fn jsonl(out: &[u8]) -> Vec<Seg> {
    String::from_utf8(out.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn seed_article_lines() {
    let out = tarjama().args(["segment", SEED]).assert().success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let segments: Vec<&str> = stdout.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(segments.len(), 19);
    // An empty line between paragraphs: each segment is its own paragraph.
    assert_eq!(stdout.lines().filter(|l| l.is_empty()).count(), 18);
    assert_eq!(
        segments[0],
        "في خطوة جديدة للتقارب.. روسيا وطالبان يبحثان التعاون الثنائي"
    );
    assert_eq!(segments[1], "الجمعة 04/أكتوبر/2024 - 06:52 م");
    assert_eq!(segments[18], "شارك");
}

#[test]
fn seed_article_jsonl_offsets_slice_the_input() {
    let input = std::fs::read_to_string(SEED).unwrap();
    let chars: Vec<char> = input.chars().collect();
    let out = tarjama()
        .args(["segment", "--format", "jsonl", SEED])
        .assert()
        .success();
    let segs = jsonl(&out.get_output().stdout);
    assert_eq!(segs.len(), 19);
    let mut prev_end = 0;
    for (n, s) in segs.iter().enumerate() {
        let slice: String = chars[s.start..s.end].iter().collect();
        assert_eq!(slice, s.text, "segment {}", s.id);
        assert_eq!(s.id, format!("p{}s{}", s.para, s.index));
        assert_eq!(s.para, n + 1);
        let between: String = chars[prev_end..s.start].iter().collect();
        assert!(between.chars().all(char::is_whitespace), "{between:?}");
        prev_end = s.end;
    }
}

#[test]
fn stdin_and_dash() {
    for args in [vec!["segment"], vec!["segment", "-"]] {
        tarjama()
            .args(&args)
            .write_stdin("هل انتهى الاجتماع؟ نعم، انتهى.\n")
            .assert()
            .success()
            .stdout("هل انتهى الاجتماع؟\nنعم، انتهى.\n");
    }
}

#[test]
fn bom_and_crlf() {
    let input = "\u{FEFF}السطر الأول.\r\nالسطر الثاني؟ نعم.\r\n";
    let out = tarjama()
        .args(["segment", "--format", "jsonl"])
        .write_stdin(input)
        .assert()
        .success();
    let segs = jsonl(&out.get_output().stdout);
    let texts: Vec<&str> = segs.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(texts, ["السطر الأول.", "السطر الثاني؟", "نعم."]);
    // Offsets count from after the BOM, and \r is a character like any other.
    let body: Vec<char> = input.chars().skip(1).collect();
    for s in &segs {
        assert_eq!(body[s.start..s.end].iter().collect::<String>(), s.text);
    }
}

#[test]
fn join_lines_joins_hard_wrapped_text() {
    let input = "وقال المتحدث إن\nالمفاوضات مستمرة.\n\nفقرة ثانية.\n";
    tarjama()
        .args(["segment", "--join-lines"])
        .write_stdin(input)
        .assert()
        .success()
        .stdout("وقال المتحدث إن المفاوضات مستمرة.\n\nفقرة ثانية.\n");
    tarjama()
        .args(["segment"])
        .write_stdin(input)
        .assert()
        .success()
        .stdout("وقال المتحدث إن\n\nالمفاوضات مستمرة.\n\nفقرة ثانية.\n");
}

#[test]
fn invalid_utf8_names_file_and_byte() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cp1256.txt");
    let mut bytes = "خبر ".as_bytes().to_vec();
    bytes.extend([0xE1, 0xC7, 0xE3]);
    std::fs::write(&p, &bytes).unwrap();
    tarjama()
        .args(["segment", p.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cp1256.txt"))
        .stderr(predicate::str::contains("not valid UTF-8 at byte 7"));
}

#[test]
fn binary_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("image.png");
    std::fs::write(&p, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
    tarjama()
        .args(["segment", p.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("image.png"))
        .stderr(predicate::str::contains("binary"));
}

#[test]
fn missing_file_names_the_path() {
    tarjama()
        .args(["segment", "no/such/article.txt"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no/such/article.txt"));
}

#[test]
fn user_abbreviations_flag() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("abbr.txt");
    std::fs::write(&p, "ركن.\n").unwrap();
    let input = "التقى اللواء ركن. أحمد بالوفد.\n";
    tarjama()
        .args(["segment"])
        .write_stdin(input)
        .assert()
        .success()
        .stdout("التقى اللواء ركن.\nأحمد بالوفد.\n");
    tarjama()
        .args(["segment", "--abbreviations", p.to_str().unwrap()])
        .write_stdin(input)
        .assert()
        .success()
        .stdout("التقى اللواء ركن. أحمد بالوفد.\n");
}

#[test]
fn closed_stdout_is_not_an_error() {
    // `tarjama segment big.txt | head -1` must not print an error.
    let big = "جملة قصيرة. ".repeat(200_000);
    let home = tempfile::tempdir().unwrap();
    let mut child = crate::support::tarjama_process(home.path())
        .arg("segment")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(big.as_bytes());
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    use std::io::Read;
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The README's accuracy claim: on the development set (real text, sentence
/// boundaries marked outside the project) tarjama's F1 is above ICU4X's.
#[test]
fn dev_set_f1_above_icu4x() {
    let show = std::env::var_os("TARJAMA_SEG_ERRORS").is_some();
    let mut total_t = None::<segment_eval::Score>;
    let mut total_i = None::<segment_eval::Score>;
    for (name, file) in segment_eval::DEV_FILES {
        let dev = segment_eval::load(file);
        assert!(dev.sentences > 1000, "{name}: {} sentences", dev.sentences);
        let pred = segment_eval::tarjama_starts(&dev.text);
        let t = segment_eval::Score::of(&pred, &dev);
        let i = segment_eval::Score::of(&segment_eval::icu4x_starts(&dev.text), &dev);
        eprintln!(
            "{name}: tarjama P {:.3} R {:.3} F1 {:.3}; ICU4X P {:.3} R {:.3} F1 {:.3}",
            t.precision(),
            t.recall(),
            t.f1(),
            i.precision(),
            i.recall(),
            i.f1()
        );
        if show {
            for e in segment_eval::errors(&dev, &pred) {
                eprintln!("{name} {e}");
            }
        }
        total_t = Some(total_t.map_or(t, |a| a.add(t)));
        total_i = Some(total_i.map_or(i, |a| a.add(i)));
    }
    let (t, i) = (total_t.unwrap(), total_i.unwrap());
    assert!(
        t.f1() > i.f1(),
        "tarjama F1 {:.3} is not above ICU4X's {:.3}",
        t.f1(),
        i.f1()
    );
}
