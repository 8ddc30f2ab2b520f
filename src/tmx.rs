/*!
TMX 1.4b, the exchange format every CAT tool reads: the translation memory
is exported and imported through it, and bilingual output can be written as
it.

Reading and writing go through the project's one XML module
([`crate::xml`]), with its rules: text and attributes always escaped, the
characters XML 1.0 forbids never written and refused when read, a CR kept
as `&#13;`, entities never expanded, a DOCTYPE with declarations refused
(so a billion-laughs file is an error, not an exhausted machine), nesting
limited. Errors name the file and line.

Inline markup in `<seg>` is reduced to plain text: the text of `<hi>` and
`<sub>` is kept, native codes (`<bpt>`, `<ept>`, `<ph>`, `<it>`, `<ut>`)
are dropped.
*/

use std::io::Write;

use crate::xml::{Ev, Events, XmlOut};

/// One translation unit: a source segment and its translation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TmxUnit {
    /// `tuid`.
    pub id: Option<String>,
    pub source: String,
    /// Empty when the unit has no translation in the target language.
    pub target: String,
    /// `<prop type="...">value</prop>` in the unit (e.g. `x-origin`).
    pub props: Vec<(String, String)>,
    /// `<note>`s in the unit.
    pub notes: Vec<String>,
}

/// The `<header>` of a TMX document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TmxHeader {
    /// `srclang`, also the `xml:lang` of the source `<tuv>`s.
    pub source_lang: String,
    /// `xml:lang` of the target `<tuv>`s.
    pub target_lang: String,
    pub creation_tool: String,
    pub creation_tool_version: String,
    /// `creationdate`, `YYYYMMDDThhmmssZ`.
    pub creation_date: Option<String>,
    /// `<prop>`s of the header.
    pub props: Vec<(String, String)>,
}

impl Default for TmxHeader {
    fn default() -> Self {
        TmxHeader {
            source_lang: "ar".into(),
            target_lang: "en".into(),
            creation_tool: "tarjama".into(),
            creation_tool_version: env!("CARGO_PKG_VERSION").into(),
            creation_date: None,
            props: Vec::new(),
        }
    }
}

/// Why a TMX file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum TmxError {
    #[error("{name}:{line}: {message}")]
    Syntax {
        name: String,
        line: usize,
        message: String,
    },
    #[error("writing TMX: {0}")]
    Io(#[from] std::io::Error),
}

/// Write a TMX 1.4b document.
pub fn write_tmx<W: Write>(
    mut out: W,
    header: &TmxHeader,
    units: &[TmxUnit],
) -> Result<(), TmxError> {
    let mut x = XmlOut::new();
    x.open("tmx", &[("version", "1.4")]);
    let mut attrs = vec![
        ("creationtool", header.creation_tool.as_str()),
        ("creationtoolversion", header.creation_tool_version.as_str()),
        ("segtype", "sentence"),
        ("o-tmf", "tarjama"),
        ("adminlang", "en"),
        ("srclang", header.source_lang.as_str()),
        ("datatype", "plaintext"),
    ];
    if let Some(d) = &header.creation_date {
        attrs.push(("creationdate", d.as_str()));
    }
    if header.props.is_empty() {
        x.empty("header", &attrs);
    } else {
        x.open("header", &attrs);
        for (k, v) in &header.props {
            x.element("prop", &[("type", k)], v);
        }
        x.close("header");
    }
    x.open("body", &[]);
    for u in units {
        match &u.id {
            Some(id) => x.open("tu", &[("tuid", id)]),
            None => x.open("tu", &[]),
        }
        for (k, v) in &u.props {
            x.element("prop", &[("type", k)], v);
        }
        for n in &u.notes {
            x.element("note", &[], n);
        }
        for (lang, text) in [
            (&header.source_lang, &u.source),
            (&header.target_lang, &u.target),
        ] {
            x.open("tuv", &[("xml:lang", lang)]);
            x.element("seg", &[], text);
            x.close("tuv");
        }
        x.close("tu");
    }
    x.close("body");
    x.close("tmx");
    out.write_all(&x.finish())?;
    Ok(())
}

fn lang_matches(lang: &str, want: &str) -> bool {
    let l = lang.to_ascii_lowercase();
    let w = want.to_ascii_lowercase();
    l == w || l.starts_with(&format!("{w}-")) || w.starts_with(&format!("{l}-"))
}

/// One `<tuv>` as read.
#[derive(Default)]
struct Tuv {
    lang: String,
    seg: String,
}

/// Read a TMX document; `name` is used in error messages.
///
/// The source of each unit is the `<tuv>` in the header's `srclang` (or the
/// first one when `srclang` is `*all*` or absent); the target is the first
/// `<tuv>` in another language (empty if there is none).
pub fn read_tmx(name: &str, text: &str) -> Result<Vec<TmxUnit>, TmxError> {
    let err = |line: Option<usize>, message: String| TmxError::Syntax {
        name: name.to_string(),
        line: line.unwrap_or(1),
        message,
    };
    let mut events = Events::new(text);
    let mut srclang: Option<String> = None;
    let mut units = Vec::new();
    let mut saw_tmx = false;
    // Element stack (local names) outside <seg>.
    let mut stack: Vec<String> = Vec::new();
    // Inside <seg>: one entry per open inline element, true for native codes.
    let mut inline: Vec<bool> = Vec::new();
    let mut in_seg = false;
    let mut unit: Option<(TmxUnit, Vec<Tuv>)> = None;
    let mut tuv: Option<Tuv> = None;
    // Depth of native-code elements inside the current <seg>.
    let mut code_depth = 0usize;
    // Text being collected for a <prop>/<note>/<seg>.
    let mut buf = String::new();
    let mut prop_type = String::new();

    while let Some(ev) = events.next().map_err(|(l, m)| err(l, m))? {
        let line = Some(events.line());
        match ev {
            Ev::Start(e) => {
                if in_seg {
                    let code = matches!(e.name.as_str(), "bpt" | "ept" | "ph" | "it" | "ut");
                    code_depth += usize::from(code);
                    inline.push(code);
                    continue;
                }
                match e.name.as_str() {
                    "tmx" => saw_tmx = true,
                    "header" => srclang = e.attr("srclang").map(str::to_string),
                    "tu" => {
                        let u = TmxUnit {
                            id: e.attr("tuid").map(str::to_string),
                            ..TmxUnit::default()
                        };
                        unit = Some((u, Vec::new()));
                    }
                    "tuv" => {
                        let lang = e
                            .attr("xml:lang")
                            .or_else(|| e.attr("lang"))
                            .ok_or_else(|| err(line, "<tuv> without xml:lang".into()))?;
                        tuv = Some(Tuv {
                            lang: lang.to_string(),
                            ..Tuv::default()
                        });
                    }
                    "prop" => {
                        prop_type = e.attr("type").unwrap_or_default().to_string();
                        buf.clear();
                    }
                    "note" => buf.clear(),
                    "seg" => {
                        buf.clear();
                        in_seg = true;
                    }
                    _ => {}
                }
                stack.push(e.name);
            }
            Ev::End => {
                if in_seg {
                    if let Some(code) = inline.pop() {
                        code_depth -= usize::from(code);
                        continue;
                    }
                    in_seg = false;
                }
                let local = stack.pop().unwrap_or_default();
                let parent = stack.last().map(String::as_str);
                match local.as_str() {
                    "seg" => {
                        if let Some(t) = tuv.as_mut() {
                            t.seg = std::mem::take(&mut buf);
                        }
                    }
                    "tuv" => {
                        if let (Some(t), Some((_, tuvs))) = (tuv.take(), unit.as_mut()) {
                            tuvs.push(t);
                        }
                    }
                    "prop" if parent == Some("tu") => {
                        if let Some((u, _)) = unit.as_mut() {
                            u.props
                                .push((std::mem::take(&mut prop_type), std::mem::take(&mut buf)));
                        }
                    }
                    "note" if parent == Some("tu") => {
                        if let Some((u, _)) = unit.as_mut() {
                            u.notes.push(std::mem::take(&mut buf));
                        }
                    }
                    "tu" => {
                        if let Some((mut u, tuvs)) = unit.take() {
                            if tuvs.is_empty() {
                                return Err(err(line, "<tu> without any <tuv>".into()));
                            }
                            let src_idx = match srclang.as_deref() {
                                Some(l) if l != "*all*" => tuvs
                                    .iter()
                                    .position(|t| lang_matches(&t.lang, l))
                                    .ok_or_else(|| {
                                        err(
                                            line,
                                            format!("<tu> has no <tuv> in the source language {l}"),
                                        )
                                    })?,
                                _ => 0,
                            };
                            let src_lang = tuvs[src_idx].lang.clone();
                            u.target = tuvs
                                .iter()
                                .find(|t| !lang_matches(&t.lang, &src_lang))
                                .map(|t| t.seg.clone())
                                .unwrap_or_default();
                            u.source = tuvs
                                .into_iter()
                                .nth(src_idx)
                                .map(|t| t.seg)
                                .unwrap_or_default();
                            units.push(u);
                        }
                    }
                    _ => {}
                }
            }
            Ev::Text(t) => {
                if code_depth == 0 {
                    buf.push_str(&t);
                }
            }
        }
    }
    if !saw_tmx {
        return Err(err(Some(1), "not a TMX document (no <tmx> element)".into()));
    }
    Ok(units)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(id: &str, s: &str, t: &str) -> TmxUnit {
        TmxUnit {
            id: Some(id.into()),
            source: s.into(),
            target: t.into(),
            props: vec![("x-origin".into(), "mt".into())],
            notes: vec!["a <note> & more".into()],
        }
    }

    #[test]
    fn round_trip_with_hostile_text() {
        let units = vec![
            unit(
                "1",
                "قال \"بيسكوف\" <script>alert(1)</script> & غيره",
                "Peskov said <b>x</b> & 'y'",
            ),
            unit("p2s1", "سطر\nثان", "a\u{1}b\u{B}c\u{FFFF}d"),
            TmxUnit {
                id: None,
                source: "]]> &amp; &lol;".into(),
                target: String::new(),
                ..TmxUnit::default()
            },
        ];
        let header = TmxHeader {
            creation_date: Some("20241004T185200Z".into()),
            props: vec![("x-memory".into(), "tm & co".into())],
            ..TmxHeader::default()
        };
        let mut out = Vec::new();
        write_tmx(&mut out, &header, &units).unwrap();
        let xml = String::from_utf8(out).unwrap();
        assert!(xml.contains("<tmx version=\"1.4\">"), "{xml}");
        assert!(xml.contains("srclang=\"ar\""));
        assert!(xml.contains("xml:lang=\"en\""));
        assert!(xml.contains("&lt;script&gt;"));
        assert!(!xml.contains("<script>"));
        assert!(!xml.contains('\u{1}'));
        let back = read_tmx("t.tmx", &xml).unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(back[0], units[0]);
        assert_eq!(back[1].source, "سطر\nثان");
        assert_eq!(back[1].target, "abcd", "control characters stripped");
        assert_eq!(back[2].source, "]]> &amp; &lol;");
        assert_eq!(back[2].id, None);
    }

    #[test]
    fn reads_inline_codes_and_language_variants() {
        let xml = r#"<?xml version="1.0"?>
<tmx version="1.4"><header srclang="AR-SA" segtype="sentence" datatype="html" adminlang="en" o-tmf="x" creationtool="x" creationtoolversion="1"/>
<body>
<tu tuid="7"><tuv xml:lang="en-US"><seg>The <bpt i="1">&lt;b&gt;</bpt>bold<ept i="1">&lt;/b&gt;</ept> word<ph>&lt;br/&gt;</ph>.</seg></tuv>
<tuv xml:lang="ar-SA"><seg>الكلمة <hi>الجريئة</hi>&#46;</seg></tuv></tu>
</body></tmx>"#;
        let u = read_tmx("x.tmx", xml).unwrap();
        assert_eq!(u[0].source, "الكلمة الجريئة.");
        assert_eq!(u[0].target, "The bold word.");
        assert_eq!(u[0].id.as_deref(), Some("7"));
    }

    #[test]
    fn billion_laughs_is_refused_without_expansion() {
        let mut xml =
            String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE tmx [\n<!ENTITY lol \"lol\">\n");
        for i in 1..10 {
            let prev = if i == 1 {
                "lol".to_string()
            } else {
                format!("lol{}", i - 1)
            };
            xml.push_str(&format!(
                "<!ENTITY lol{i} \"{}\">\n",
                format!("&{prev};").repeat(10)
            ));
        }
        xml.push_str("]>\n<tmx version=\"1.4\"><header srclang=\"ar\"/><body>\n<tu><tuv xml:lang=\"ar\"><seg>&lol9;</seg></tuv></tu></body></tmx>\n");
        let e = read_tmx("bomb.tmx", &xml).unwrap_err().to_string();
        assert!(e.starts_with("bomb.tmx:2:"), "{e}");
        assert!(e.contains("DOCTYPE"), "{e}");
        // Without the declarations, the reference is named and refused.
        let xml = "<tmx version=\"1.4\"><header srclang=\"ar\"/><body>\n<tu><tuv xml:lang=\"ar\"><seg>&lol9;</seg></tuv></tu></body></tmx>";
        let e = read_tmx("bomb.tmx", xml).unwrap_err().to_string();
        assert!(e.starts_with("bomb.tmx:2:") && e.contains("&lol9;"), "{e}");
    }

    #[test]
    fn a_bare_doctype_as_cat_tools_write_it_is_read() {
        let xml = "<?xml version=\"1.0\"?>\n<!DOCTYPE tmx SYSTEM \"tmx14.dtd\">\n<tmx version=\"1.4\"><header srclang=\"ar\"/><body><tu><tuv xml:lang=\"ar\"><seg>نص</seg></tuv><tuv xml:lang=\"en\"><seg>text</seg></tuv></tu></body></tmx>";
        let u = read_tmx("omegat.tmx", xml).unwrap();
        assert_eq!(u[0].target, "text");
    }

    #[test]
    fn control_characters_are_refused_with_the_line_and_cr_is_kept() {
        let xml = "<tmx version=\"1.4\"><header srclang=\"ar\"/><body>\n<tu><tuv xml:lang=\"ar\"><seg>a\u{1}b</seg></tuv></tu></body></tmx>";
        let e = read_tmx("c.tmx", xml).unwrap_err().to_string();
        assert!(e.starts_with("c.tmx:2:") && e.contains("U+0001"), "{e}");
        let xml = "<tmx version=\"1.4\"><header srclang=\"ar\"/><body>\n\n<tu><tuv xml:lang=\"ar\"><seg>a&#x1b;b</seg></tuv></tu></body></tmx>";
        let e = read_tmx("c.tmx", xml).unwrap_err().to_string();
        assert!(e.starts_with("c.tmx:3:") && e.contains("U+001B"), "{e}");
        let units = vec![unit("1", "سطر\r\nثان\r", "line\rtwo")];
        let mut out = Vec::new();
        write_tmx(&mut out, &TmxHeader::default(), &units).unwrap();
        let xml = String::from_utf8(out).unwrap();
        assert!(!xml.contains('\r') && xml.contains("&#13;"), "{xml}");
        let back = read_tmx("cr.tmx", &xml).unwrap();
        assert_eq!(back[0], units[0]);
    }

    #[test]
    fn truncated_file_is_an_error() {
        let e = read_tmx("cut.tmx", "<tmx version=\"1.4\"><body>\n<tu>")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("cut.tmx:2:"), "{e}");
        assert!(e.contains("ends inside <tu>"), "{e}");
    }

    #[test]
    fn errors_name_file_and_line() {
        let xml = "<tmx version=\"1.4\">\n<header srclang=\"ar\"/>\n<body>\n<tu><tuv xml:lang=\"ar\"><seg>x</tuv></tu>\n</body></tmx>";
        let e = read_tmx("bad.tmx", xml).unwrap_err().to_string();
        assert!(e.starts_with("bad.tmx:4:"), "{e}");
        let e = read_tmx("n.xml", "<root/>").unwrap_err().to_string();
        assert!(e.contains("not a TMX document"), "{e}");
        let xml = "<tmx>\n<header srclang=\"ar\"/><body>\n<tu><tuv xml:lang=\"en\"><seg>x</seg></tuv></tu></body></tmx>";
        let e = read_tmx("l.tmx", xml).unwrap_err().to_string();
        assert!(
            e.starts_with("l.tmx:3:") && e.contains("source language ar"),
            "{e}"
        );
    }

    #[test]
    fn deep_nesting_is_refused_without_overflow() {
        let depth = 100_000;
        let xml = format!(
            "<tmx><header srclang=\"ar\"/><body><tu><tuv xml:lang=\"ar\"><seg>{}x{}</seg></tuv></tu></body></tmx>",
            "<hi>".repeat(depth),
            "</hi>".repeat(depth)
        );
        let e = read_tmx("deep.tmx", &xml).unwrap_err().to_string();
        assert!(e.starts_with("deep.tmx:1:") && e.contains("nested"), "{e}");
        let ok = format!(
            "<tmx><header srclang=\"ar\"/><body><tu><tuv xml:lang=\"ar\"><seg>{}x{}</seg></tuv></tu></body></tmx>",
            "<hi>".repeat(20),
            "</hi>".repeat(20)
        );
        assert_eq!(read_tmx("ok.tmx", &ok).unwrap()[0].source, "x");
    }
}
