use super::*;
use proptest::prelude::*;

const GOLDEN: &str = include_str!("../../tests/fixtures/segment_golden.txt");

struct Case {
    name: String,
    input: String,
    join: bool,
    /// Expected paragraphs, each a list of segment texts.
    expected: Vec<Vec<String>>,
}

fn parse_golden() -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    let mut inputs: Vec<String> = Vec::new();
    let mut crlf = false;
    let finish = |cases: &mut Vec<Case>, inputs: &mut Vec<String>, crlf: &mut bool| {
        if let Some(c) = cases.last_mut()
            && c.input.is_empty()
            && !inputs.is_empty()
        {
            c.input = inputs.join(if *crlf { "\r\n" } else { "\n" });
        }
        inputs.clear();
        *crlf = false;
    };
    for line in GOLDEN.lines() {
        if let Some(name) = line.strip_prefix("# case: ") {
            finish(&mut cases, &mut inputs, &mut crlf);
            cases.push(Case {
                name: name.to_string(),
                input: String::new(),
                join: false,
                expected: vec![Vec::new()],
            });
        } else if line.starts_with('#') || line.is_empty() {
            continue;
        } else if line == "@join" {
            cases.last_mut().unwrap().join = true;
        } else if line == "@crlf" {
            crlf = true;
        } else if line == ">" {
            inputs.push(String::new());
        } else if let Some(i) = line.strip_prefix("> ") {
            inputs.push(i.to_string());
        } else if line == "-" {
            cases.last_mut().unwrap().expected.push(Vec::new());
        } else if let Some(e) = line.strip_prefix("= ") {
            cases
                .last_mut()
                .unwrap()
                .expected
                .last_mut()
                .unwrap()
                .push(e.to_string());
        } else {
            // Continuation of the previous expected segment.
            let c = cases.last_mut().unwrap();
            let seg = c.expected.last_mut().unwrap().last_mut().unwrap();
            seg.push('\n');
            seg.push_str(line);
        }
    }
    finish(&mut cases, &mut inputs, &mut crlf);
    cases
}

#[test]
fn golden_cases() {
    let cases = parse_golden();
    assert!(cases.len() >= 80, "only {} golden cases", cases.len());
    let seg = Segmenter::default();
    let mut failures = Vec::new();
    for c in &cases {
        let opts = SegmentOptions { join_lines: c.join };
        let got = seg.segment(&c.input, opts);
        let mut paras: Vec<Vec<String>> = Vec::new();
        let mut last = 0;
        for s in &got {
            if s.para != last {
                paras.push(Vec::new());
                last = s.para;
            }
            // CRLF inside a joined paragraph is compared as LF.
            paras.last_mut().unwrap().push(s.text.replace("\r\n", "\n"));
        }
        if paras != c.expected {
            failures.push(format!(
                "case {}:\n  expected {:?}\n  got      {:?}",
                c.name, c.expected, paras
            ));
        }
        check_cover(&c.input, &got);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The invariant: segments are in order, do not overlap, slice the input
/// back to their text, and only white space lies between them.
fn check_cover(text: &str, segs: &[Segment]) {
    let chars: Vec<char> = text.chars().collect();
    let mut pos = 0usize;
    let mut last_para = 0;
    for s in segs {
        assert!(s.start < s.end, "empty segment {s:?}");
        assert!(s.start >= pos, "overlap at {s:?}");
        assert!(
            chars[pos..s.start].iter().all(|&c| is_blank_char(c)),
            "non-blank text between segments before {}",
            s.id
        );
        let slice: String = chars[s.start..s.end].iter().collect();
        assert_eq!(slice, s.text, "offsets of {}", s.id);
        assert!(s.para >= last_para);
        assert_eq!(s.id, Segment::make_id(s.para, s.index));
        last_para = s.para;
        pos = s.end;
    }
    assert!(chars[pos..].iter().all(|&c| is_blank_char(c)));
}

#[test]
fn seed_article_is_nineteen_segments() {
    let text = include_str!("../../seeds/2024-10-04-russia-taliban.ar.txt");
    let segs = Segmenter::default().segment(text, SegmentOptions::default());
    assert_eq!(segs.len(), 19);
    // One sentence per paragraph.
    assert!(segs.iter().all(|s| s.index == 1));
    assert_eq!(
        segs[0].text,
        "في خطوة جديدة للتقارب.. روسيا وطالبان يبحثان التعاون الثنائي"
    );
    assert_eq!(segs[18].text, "شارك");
    check_cover(text, &segs);
}

#[test]
fn user_abbreviation_extends_the_list() {
    let text = "التقى اللواء ركن. أحمد بالوفد.";
    let default = Segmenter::default().segment(text, SegmentOptions::default());
    assert_eq!(default.len(), 2);
    let mut rules = Rules::builtin();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("abbr.txt");
    std::fs::write(&p, "# military ranks\nركن.\n").unwrap();
    rules.add_abbreviation_file(&p).unwrap();
    let segs = Segmenter::new(rules).segment(text, SegmentOptions::default());
    assert_eq!(segs.len(), 1);
}

#[test]
fn bad_abbreviation_file_names_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("abbr.txt");
    std::fs::write(&p, "ok.\nتو ت.\n").unwrap();
    let err = Rules::builtin().add_abbreviation_file(&p).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("abbr.txt:2"), "{msg}");
}

#[test]
fn user_rules_file_adds_terminator() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("rules.toml");
    std::fs::write(&p, "terminators = [\";\"]\n").unwrap();
    let mut rules = Rules::builtin();
    rules.merge_file(&p).unwrap();
    let segs = Segmenter::new(rules).segment("one; Two", SegmentOptions::default());
    assert_eq!(segs.len(), 2);
    std::fs::write(&p, "terminatorz = []\n").unwrap();
    let err = Rules::builtin().merge_file(&p).unwrap_err();
    assert!(err.to_string().contains("terminatorz"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn segments_cover_input(parts in proptest::collection::vec(
        prop_oneof![
            Just("قال د. أحمد"), Just("؟"), Just("."), Just(".."), Just("..."),
            Just("…"), Just(" "), Just("\n"), Just("\r\n"), Just("\u{a0}"),
            Just("«"), Just("»"), Just("\""), Just("("), Just(")"), Just("،"),
            Just("روسيا"), Just("U.S."), Just("3.5"), Just("!"), Just("e.g."),
            Just("١٢"), Just("\u{200f}"), Just("x"), Just("ـ"),
            Just("ظهراً.وعقد"), Just("10 ص."), Just("وقال"), Just("“"),
            Just("”"), Just("م."), Just("بـ\""), Just("؟و"),
        ], 0..60),
        join in any::<bool>())
    {
        let text: String = parts.concat();
        let segs = Segmenter::default().segment(&text, SegmentOptions { join_lines: join });
        check_cover(&text, &segs);
    }

    #[test]
    fn any_string_is_covered(text in "\\PC{0,200}") {
        let segs = Segmenter::default().segment(&text, SegmentOptions::default());
        check_cover(&text, &segs);
    }
}
