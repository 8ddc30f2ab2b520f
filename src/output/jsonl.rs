/*!
tarjama's JSONL: the lossless format every other one is made from, and the
one `translate` writes and `render`/`qa` read.

The first line is a header, `{"type":"header", ...DocMeta}`; then one
[`AlignedPair`] per line in document order. The reader accepts a file
without a header (older files, hand-made files), skips blank lines and
records of other `type`s, and reports every problem with the file name and
line number, including JSON that escapes a lone UTF-16 surrogate
(`"\ud800"`), which cannot become Rust text.
*/

use std::collections::HashMap;
use std::io::Write;

use serde::Serialize;
use serde_json::Value;

use super::ReadError;
use crate::model::{AlignedPair, Bitext, DocMeta};

#[derive(Serialize)]
struct Header<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    meta: &'a DocMeta,
}

/// Write the document as JSONL: the header line, then one line per pair.
pub fn write(mut w: impl Write, doc: &Bitext) -> std::io::Result<()> {
    serde_json::to_writer(
        &mut w,
        &Header {
            kind: "header",
            meta: &doc.meta,
        },
    )?;
    w.write_all(b"\n")?;
    for pair in &doc.pairs {
        serde_json::to_writer(&mut w, pair)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

/// The document as a JSONL string.
pub fn to_string(doc: &Bitext) -> String {
    let mut buf = Vec::new();
    write(&mut buf, doc).expect("writing to memory cannot fail");
    String::from_utf8(buf).expect("serde_json writes UTF-8")
}

/// Read a JSONL document; `name` is used in error messages.
pub fn read(name: &str, text: &str) -> Result<Bitext, ReadError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut doc = Bitext::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut header_seen = false;
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let err = |m: String| ReadError::new(name, Some(lineno), m);
        let value: Value = serde_json::from_str(line).map_err(|e| err(json_message(&e, line)))?;
        let Value::Object(obj) = &value else {
            return Err(err(
                "expected a JSON object (one segment record per line)".into()
            ));
        };
        match obj.get("type").and_then(Value::as_str) {
            Some("header") => {
                if header_seen || !doc.pairs.is_empty() {
                    return Err(err(
                        "a header record is only allowed on the first line".into()
                    ));
                }
                header_seen = true;
                doc.meta = serde_json::from_value(value)
                    .map_err(|e| err(format!("bad header record: {e}")))?;
            }
            None | Some("pair") | Some("segment") => {
                let pair: AlignedPair = serde_json::from_value(value)
                    .map_err(|e| err(format!("not a tarjama segment record: {e}")))?;
                if pair.id.is_empty() {
                    return Err(err("segment record with an empty `id`".into()));
                }
                if let Some(first) = seen.insert(pair.id.clone(), lineno) {
                    return Err(err(format!(
                        "duplicate segment id `{}` (first on line {first})",
                        pair.id
                    )));
                }
                doc.pairs.push(pair);
            }
            // Other record kinds (a trailing summary, future additions) carry
            // nothing a writer needs.
            Some(_) => {}
        }
    }
    Ok(doc)
}

/// serde_json's message, with a plain explanation for the cases people hit.
fn json_message(e: &serde_json::Error, line: &str) -> String {
    match lone_surrogate(line) {
        Some((col, esc)) => format!(
            "invalid JSON: `{esc}` at column {col} is half of a UTF-16 surrogate pair \
             without its partner, which is not valid Unicode text (the program that \
             wrote the file mangled a character); fix or remove that escape"
        ),
        None => format!("invalid JSON: {e}"),
    }
}

/// The 1-based byte column and text of the first `\uXXXX` escape in `line`
/// that is a surrogate without its partner.
fn lone_surrogate(line: &str) -> Option<(usize, &str)> {
    let b = line.as_bytes();
    let hex = |at: usize| -> Option<u16> {
        let s = line.get(at..at + 4)?;
        u16::from_str_radix(s, 16).ok()
    };
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        if b[i + 1] != b'u' {
            i += 2; // any other escape, including `\\`
            continue;
        }
        let Some(unit) = hex(i + 2) else {
            i += 2;
            continue;
        };
        match unit {
            0xD800..=0xDBFF => {
                let paired = b.get(i + 6) == Some(&b'\\')
                    && b.get(i + 7) == Some(&b'u')
                    && hex(i + 8).is_some_and(|u| (0xDC00..=0xDFFF).contains(&u));
                if !paired {
                    return Some((i + 1, &line[i..i + 6]));
                }
                i += 12;
            }
            0xDC00..=0xDFFF => return Some((i + 1, &line[i..i + 6])),
            _ => i += 6,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CheckedTerm, Origin, RunSummary};

    fn sample() -> Bitext {
        Bitext {
            meta: DocMeta {
                source_name: Some("a.ar.txt".into()),
                title: Some("عنوان".into()),
                backend: Some("test".into()),
                summary: Some(RunSummary {
                    segments: 2,
                    sent: 1,
                    ..Default::default()
                }),
                ..Default::default()
            },
            pairs: vec![
                AlignedPair {
                    id: "p1s1".into(),
                    para: 1,
                    source: "عنوان".into(),
                    target: Some("Title".into()),
                    origin: Origin::Mt,
                    terms: vec![CheckedTerm {
                        source: "عنوان".into(),
                        target: "Title".into(),
                        start: 0,
                        end: 5,
                        surface: "عنوان".into(),
                        honoured: Some(true),
                        forbidden_found: vec![],
                        ambiguous: false,
                    }],
                    warnings: vec![],
                    suggestions: vec![],
                    start: 0,
                    end: 5,
                    formats: Vec::new(),
                    marked: None,
                    history: Vec::new(),
                },
                AlignedPair {
                    id: "p2s1".into(),
                    para: 2,
                    source: "نص\n\"مقتبس\"".into(),
                    target: None,
                    origin: Origin::None,
                    terms: vec![],
                    warnings: vec!["backend failed: 503".into()],
                    suggestions: vec![],
                    start: 7,
                    end: 17,
                    formats: Vec::new(),
                    marked: None,
                    history: Vec::new(),
                },
            ],
        }
    }

    #[test]
    fn round_trip_with_header() {
        let doc = sample();
        let text = to_string(&doc);
        assert!(text.starts_with("{\"type\":\"header\""), "{text}");
        assert_eq!(text.lines().count(), 3);
        assert_eq!(read("x.jsonl", &text).unwrap(), doc);
    }

    #[test]
    fn missing_header_is_tolerated() {
        let doc = sample();
        let text = to_string(&doc);
        let body: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
        let back = read("x.jsonl", &body).unwrap();
        assert_eq!(back.meta, DocMeta::default());
        assert_eq!(back.pairs, doc.pairs);
    }

    #[test]
    fn errors_name_file_and_line() {
        let text = "{\"type\":\"header\"}\n\n{\"id\":\"p1s1\",\"para\":1}\n";
        let e = read("doc.jsonl", text).unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.to_string().starts_with("doc.jsonl:3: "), "{e}");
        assert!(e.to_string().contains("source"), "{e}");

        let e = read("doc.jsonl", "[1,2]\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("doc.jsonl:1: expected a JSON object"),
            "{e}"
        );
        let e = read("doc.jsonl", "{not json\n").unwrap_err();
        assert!(e.to_string().contains("invalid JSON"), "{e}");
    }

    #[test]
    fn duplicate_ids_and_late_header_are_refused() {
        let rec = r#"{"id":"p1s1","para":1,"source":"a","target":null,"origin":"none"}"#;
        let e = read("d", &format!("{rec}\n{rec}\n")).unwrap_err();
        assert!(
            e.to_string()
                .contains("d:2: duplicate segment id `p1s1` (first on line 1)"),
            "{e}"
        );
        let e = read("d", &format!("{rec}\n{{\"type\":\"header\"}}\n")).unwrap_err();
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn lone_surrogate_is_a_clear_error_not_a_panic() {
        let rec = r#"{"id":"p1s1","para":1,"source":"a\ud800b","target":null,"origin":"none"}"#;
        let e = read("bad.jsonl", rec).unwrap_err().to_string();
        assert!(e.starts_with("bad.jsonl:1: invalid JSON"), "{e}");
        assert!(e.contains("`\\ud800` at column 34"), "{e}");
        let trail = r#"{"id":"p1s1","para":1,"source":"\udc00","target":null,"origin":"none"}"#;
        let e = read("bad.jsonl", trail).unwrap_err().to_string();
        assert!(e.contains("`\\udc00`"), "{e}");
        // An escaped backslash followed by `ud800` is ordinary text.
        let text = r#"{"id":"p1s1","para":1,"source":"\\ud800","target":null,"origin":"none"}"#;
        assert_eq!(read("ok", text).unwrap().pairs[0].source, "\\ud800");
        // A proper pair is fine.
        let ok = r#"{"id":"p1s1","para":1,"source":"\ud83d\ude00","target":null,"origin":"none"}"#;
        assert_eq!(read("ok", ok).unwrap().pairs[0].source, "😀");
    }

    #[test]
    fn other_record_types_are_skipped() {
        let text = "{\"type\":\"summary\",\"failed\":0}\n{\"id\":\"a\",\"para\":1,\"source\":\"s\",\"target\":\"t\",\"origin\":\"mt\"}\n";
        let doc = read("d", text).unwrap();
        assert_eq!(doc.pairs.len(), 1);
    }
}
