/*!
XLIFF, the exchange format CAT tools (OmegaT, Okapi, Trados, memoQ, Weblate)
open: 2.1 by default, 1.2 for older tools.

Each segment becomes one unit whose id is the segment id, so a reviewed
file maps back to the document exactly. Segments that need review
(untranslated, warnings, missed or forbidden terms) are marked with
`state="initial"` and `subState="tarjama:needs-review"` (2.1) or
`state="needs-review-translation"` (1.2); the rest are `translated`.
Warnings, glossary hits and memory suggestions travel as notes (in 1.2
fuzzy suggestions are `<alt-trans>` elements with their match quality), so
the reviewer sees them in the tool.

Reading takes each unit's id, source and target text (the reviewer's), with
inline markup reduced to its text; see [`read`].
*/

use super::{ReadError, XliffVersion, is_flagged};
use crate::model::{AlignedPair, Bitext};
use crate::xml::{Element, XmlOut, parse};

/// The XLIFF 2 core namespace (XLIFF 2.1 keeps the 2.0 namespace).
pub const NS_2: &str = "urn:oasis:names:tc:xliff:document:2.0";
/// The XLIFF 1.2 namespace.
pub const NS_1_2: &str = "urn:oasis:names:tc:xliff:document:1.2";

/// A note on a unit: its category (`warning`, `glossary`, `history`,
/// `memory`) and text.
fn unit_notes(p: &AlignedPair) -> Vec<(&'static str, String)> {
    let mut notes: Vec<(&'static str, String)> =
        p.warnings.iter().map(|w| ("warning", w.clone())).collect();
    let mut seen = std::collections::HashSet::new();
    for t in &p.terms {
        // A term hit twice in one segment is noted once.
        if !seen.insert((&t.source, &t.target, t.honoured)) {
            continue;
        }
        let state = match t.honoured {
            Some(true) => "honoured",
            Some(false) => "MISSING from the translation",
            None => "not checked",
        };
        let target = crate::glossary::check::shown(&t.target);
        notes.push(("glossary", format!("{} = {target} ({state})", t.source)));
        for f in &t.forbidden_found {
            notes.push((
                "glossary",
                format!(
                    "forbidden rendering \"{f}\" used for {}; use {target}",
                    t.source
                ),
            ));
        }
    }
    for a in &p.history {
        notes.push(("history", format!("answer {}", a.describe())));
    }
    notes
}

fn source_lang(doc: &Bitext) -> &str {
    doc.meta.source_lang.as_deref().unwrap_or("ar")
}

fn target_lang(doc: &Bitext) -> &str {
    doc.meta.target_lang.as_deref().unwrap_or("en")
}

fn original(doc: &Bitext) -> String {
    doc.meta
        .source_name
        .clone()
        .or_else(|| doc.meta.source_path.clone())
        .unwrap_or_else(|| "document".into())
}

/// The document as XLIFF of the given version.
pub fn render(doc: &Bitext, version: XliffVersion) -> Vec<u8> {
    match version {
        XliffVersion::V2_1 => render_2(doc),
        XliffVersion::V1_2 => render_1_2(doc),
    }
}

fn render_2(doc: &Bitext) -> Vec<u8> {
    let mut x = XmlOut::new();
    x.open(
        "xliff",
        &[
            ("xmlns", NS_2),
            ("version", "2.1"),
            ("srcLang", source_lang(doc)),
            ("trgLang", target_lang(doc)),
        ],
    );
    let original = original(doc);
    x.open("file", &[("id", "f1"), ("original", &original)]);
    for p in &doc.pairs {
        x.open("unit", &[("id", &p.id)]);
        let notes = unit_notes(p);
        let suggestions: Vec<String> = p
            .suggestions
            .iter()
            .map(|s| {
                format!(
                    "{}% match ({}): {} = {}",
                    s.score,
                    s.origin.as_str(),
                    s.source,
                    s.target
                )
            })
            .collect();
        if !notes.is_empty() || !suggestions.is_empty() {
            x.open("notes", &[]);
            for (cat, text) in &notes {
                x.element("note", &[("category", cat)], text);
            }
            for s in &suggestions {
                x.element("note", &[("category", "memory")], s);
            }
            x.close("notes");
        }
        let (state, sub) = match (&p.target, is_flagged(p)) {
            (None, _) => ("initial", None),
            (Some(_), true) => ("initial", Some("tarjama:needs-review")),
            (Some(_), false) => ("translated", None),
        };
        let mut attrs = vec![("id", "s1"), ("state", state)];
        if let Some(sub) = sub {
            attrs.push(("subState", sub));
        }
        x.open("segment", &attrs);
        x.element("source", &[("xml:space", "preserve")], &p.source);
        if let Some(t) = &p.target {
            x.element("target", &[("xml:space", "preserve")], t);
        }
        x.close("segment");
        x.close("unit");
    }
    x.close("file");
    x.close("xliff");
    x.finish()
}

fn render_1_2(doc: &Bitext) -> Vec<u8> {
    let mut x = XmlOut::new();
    x.open("xliff", &[("version", "1.2"), ("xmlns", NS_1_2)]);
    let original = original(doc);
    x.open(
        "file",
        &[
            ("original", &original),
            ("source-language", source_lang(doc)),
            ("target-language", target_lang(doc)),
            ("datatype", "plaintext"),
            ("tool-id", "tarjama"),
        ],
    );
    x.open("header", &[]);
    x.empty(
        "tool",
        &[
            ("tool-id", "tarjama"),
            ("tool-name", "tarjama"),
            ("tool-version", env!("CARGO_PKG_VERSION")),
        ],
    );
    x.close("header");
    x.open("body", &[]);
    for p in &doc.pairs {
        x.open("trans-unit", &[("id", &p.id), ("xml:space", "preserve")]);
        x.element("source", &[("xml:lang", source_lang(doc))], &p.source);
        if let Some(t) = &p.target {
            let state = if is_flagged(p) {
                "needs-review-translation"
            } else {
                "translated"
            };
            x.element(
                "target",
                &[("xml:lang", target_lang(doc)), ("state", state)],
                t,
            );
        }
        for s in &p.suggestions {
            let quality = s.score.to_string();
            let origin = format!("tarjama-memory-{}", s.origin.as_str());
            x.open(
                "alt-trans",
                &[("match-quality", &quality), ("origin", &origin)],
            );
            x.element("source", &[("xml:lang", source_lang(doc))], &s.source);
            x.element("target", &[("xml:lang", target_lang(doc))], &s.target);
            x.close("alt-trans");
        }
        for (cat, text) in unit_notes(p) {
            let priority = if cat == "warning" { "1" } else { "5" };
            x.element(
                "note",
                &[("from", "tarjama"), ("priority", priority)],
                &format!("{cat}: {text}"),
            );
        }
        x.close("trans-unit");
    }
    x.close("body");
    x.close("file");
    x.close("xliff");
    x.finish()
}

/// One unit of a reviewed XLIFF file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XliffUnit {
    /// 1-based line of the unit's start tag.
    pub line: usize,
    pub id: String,
    pub source: String,
    /// The target text; None when there is no target or it is empty.
    pub target: Option<String>,
}

/// What a reviewed XLIFF file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XliffDoc {
    /// `2.0`, `2.1` or `1.2`, as the file says.
    pub version: String,
    /// The first file's `original` attribute.
    pub original: Option<String>,
    pub units: Vec<XliffUnit>,
}

/// Elements whose content is native code, not text.
const NATIVE: [&str; 6] = ["bpt", "ept", "ph", "it", "sc", "ec"];

fn nonempty(s: String) -> Option<String> {
    if s.trim().is_empty() { None } else { Some(s) }
}

/// Read an XLIFF 2.x or 1.2 file. Units nested in groups are found; a 2.x
/// unit with several segments has their texts joined.
pub fn read(name: &str, text: &str) -> Result<XliffDoc, ReadError> {
    let root = parse(text).map_err(|(line, msg)| ReadError::new(name, line, msg))?;
    if root.name != "xliff" {
        return Err(ReadError::new(
            name,
            Some(root.line),
            format!("the root element is <{}>, not <xliff>", root.name),
        ));
    }
    let version = root.attr("version").unwrap_or("").to_string();
    let mut files = Vec::new();
    root.descendants("file", &mut files);
    let original = files
        .first()
        .and_then(|f| f.attr("original"))
        .map(str::to_string);
    let mut units = Vec::new();
    let mut seen = std::collections::HashMap::new();
    let is_2 = version.starts_with('2');
    if !is_2 && version != "1.2" && version != "1.1" {
        return Err(ReadError::new(
            name,
            Some(root.line),
            format!("XLIFF version \"{version}\" is not supported (2.0, 2.1 or 1.2)"),
        ));
    }
    let mut found: Vec<&Element> = Vec::new();
    root.descendants(if is_2 { "unit" } else { "trans-unit" }, &mut found);
    for u in found {
        let id = u.attr("id").unwrap_or("").to_string();
        if id.is_empty() {
            return Err(ReadError::new(name, Some(u.line), "a unit without an id"));
        }
        if let Some(first) = seen.insert(id.clone(), u.line) {
            return Err(ReadError::new(
                name,
                Some(u.line),
                format!("duplicate unit id `{id}` (first on line {first})"),
            ));
        }
        let (source, target) = if is_2 {
            let mut src = String::new();
            let mut tgt = String::new();
            let mut any_target = false;
            for seg in u
                .elements()
                .filter(|e| e.name == "segment" || e.name == "ignorable")
            {
                if let Some(s) = seg.child("source") {
                    src.push_str(&s.text_skipping(&NATIVE));
                }
                if let Some(t) = seg.child("target") {
                    any_target = true;
                    tgt.push_str(&t.text_skipping(&NATIVE));
                }
            }
            (src, if any_target { nonempty(tgt) } else { None })
        } else {
            let src = u
                .child("source")
                .map(|s| s.text_skipping(&NATIVE))
                .unwrap_or_default();
            let tgt = u
                .child("target")
                .map(|t| t.text_skipping(&NATIVE))
                .and_then(nonempty);
            (src, tgt)
        };
        units.push(XliffUnit {
            line: u.line,
            id,
            source,
            target,
        });
    }
    Ok(XliffDoc {
        version,
        original,
        units,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CheckedTerm, Origin, Suggestion};

    fn doc() -> Bitext {
        let mk = |id: &str, src: &str, tgt: Option<&str>| AlignedPair {
            id: id.into(),
            para: 1,
            source: src.into(),
            target: tgt.map(Into::into),
            origin: Origin::Mt,
            terms: vec![],
            warnings: vec![],
            suggestions: vec![],
            start: 0,
            end: 0,
            formats: Vec::new(),
            marked: None,
            history: Vec::new(),
        };
        let mut flagged = mk("p1s2", "روسيا <b> & \u{1}", Some("Russia <b> & \u{1b}ok"));
        flagged.terms = vec![CheckedTerm {
            source: "روسيا".into(),
            target: "Russia".into(),
            start: 0,
            end: 5,
            surface: "روسيا".into(),
            honoured: Some(false),
            forbidden_found: vec![],
            ambiguous: false,
        }];
        flagged.suggestions = vec![Suggestion {
            score: 80,
            source: "روسيا".into(),
            target: "Russia".into(),
            origin: Origin::Human,
        }];
        Bitext {
            meta: Default::default(),
            pairs: vec![
                mk("p1s1", "عنوان", Some("Title")),
                flagged,
                mk("p2s1", "شارك", None),
            ],
        }
    }

    #[test]
    fn xliff2_states_notes_and_escaping() {
        let s = String::from_utf8(render(&doc(), XliffVersion::V2_1)).unwrap();
        assert!(s.contains(r#"<xliff xmlns="urn:oasis:names:tc:xliff:document:2.0" version="2.1" srcLang="ar" trgLang="en">"#), "{s}");
        assert!(s.contains(r#"<segment id="s1" state="translated">"#));
        assert!(s.contains(r#"<segment id="s1" state="initial" subState="tarjama:needs-review">"#));
        assert!(
            s.contains(
                "<note category=\"glossary\">روسيا = Russia (MISSING from the translation)</note>"
            ),
            "{s}"
        );
        assert!(s.contains("Russia &lt;b&gt; &amp; ok</target>"), "{s}");
        assert!(!s.contains('\u{1}') && !s.contains('\u{1b}'));
        let back = read("x.xlf", &s).unwrap();
        assert_eq!(back.version, "2.1");
        assert_eq!(back.units.len(), 3);
        assert_eq!(back.units[1].source, "روسيا <b> & ");
        assert_eq!(back.units[1].target.as_deref(), Some("Russia <b> & ok"));
        assert_eq!(back.units[2].target, None);
    }

    #[test]
    fn xliff12_states_alt_trans_and_round_trip() {
        let s = String::from_utf8(render(&doc(), XliffVersion::V1_2)).unwrap();
        assert!(s.contains(r#"source-language="ar" target-language="en""#));
        assert!(
            s.contains(r#"<target xml:lang="en" state="translated">Title</target>"#),
            "{s}"
        );
        assert!(s.contains(r#"state="needs-review-translation""#));
        assert!(s.contains(r#"<alt-trans match-quality="80" origin="tarjama-memory-human">"#));
        let back = read("x.xlf", &s).unwrap();
        assert_eq!(back.version, "1.2");
        // The alt-trans target is not mistaken for the unit's target.
        assert_eq!(back.units[1].target.as_deref(), Some("Russia <b> & ok"));
        assert_eq!(back.units[2].target, None);
    }

    #[test]
    fn reads_inline_markup_as_text() {
        let x = r#"<xliff xmlns="urn:oasis:names:tc:xliff:document:2.0" version="2.0" srcLang="ar" trgLang="en">
<file id="f"><group id="g"><unit id="u1"><segment><source>أ<ph id="1"/>ب</source>
<target>A <pc id="2">bold</pc> <mrk id="m" translate="no">x</mrk></target></segment>
<segment><source> ج</source><target> C</target></segment></unit></group></file></xliff>"#;
        let d = read("r.xlf", x).unwrap();
        assert_eq!(d.units[0].source, "أب ج");
        assert_eq!(d.units[0].target.as_deref(), Some("A bold x C"));
    }

    #[test]
    fn bad_files_are_refused_with_line() {
        let e = read("r.xlf", "<tmx version=\"1.4\"/>").unwrap_err();
        assert!(e.to_string().contains("not <xliff>"), "{e}");
        let e = read("r.xlf", "<xliff version=\"1.2\"><file><body>\n<trans-unit id=\"a\"><source>x</source></trans-unit>\n<trans-unit id=\"a\"><source>y</source></trans-unit></body></file></xliff>").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        let e = read(
            "r.xlf",
            "<xliff version=\"1.2\">\n<file>&xxe;</file></xliff>",
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("r.xlf:2: entity reference &xxe;"),
            "{e}"
        );
    }
}
