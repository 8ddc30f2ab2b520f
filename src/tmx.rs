/*!
TMX 1.4b, the exchange format every CAT tool reads: the translation memory
is exported and imported through it, and bilingual output can be written as
it.

Writing goes through quick-xml's event writer, so text and attributes are
always escaped; characters XML 1.0 forbids (C0 controls other than tab and
line breaks, U+FFFE, U+FFFF), which machine translation output sometimes
contains, are removed. Reading never expands entities beyond the five
predefined ones and character references: a DOCTYPE and its entity
definitions are ignored, so a billion-laughs file is an error naming the
undefined entity, not an exhausted machine. Errors name the file and line.

Inline markup in `<seg>` is reduced to plain text: the text of `<hi>` and
`<sub>` is kept, native codes (`<bpt>`, `<ept>`, `<ph>`, `<it>`, `<ut>`)
are dropped.
*/

use std::io::Write;

use quick_xml::Reader;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

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

/// `text` without the characters XML 1.0 does not allow.
pub fn strip_illegal_xml_chars(text: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}');
    if text.chars().any(bad) {
        text.chars().filter(|&c| !bad(c)).collect::<String>().into()
    } else {
        text.into()
    }
}

fn text_event(s: &str) -> Event<'static> {
    Event::Text(BytesText::new(&strip_illegal_xml_chars(s)).into_owned())
}

fn start(name: &str, attrs: &[(&str, &str)]) -> Event<'static> {
    let mut e = BytesStart::new(name.to_string());
    for (k, v) in attrs {
        let v = strip_illegal_xml_chars(v);
        e.push_attribute((*k, v.as_ref()));
    }
    Event::Start(e)
}

fn end(name: &str) -> Event<'static> {
    Event::End(BytesEnd::new(name.to_string()))
}

fn indent<W: Write>(w: &mut Writer<W>, level: usize) -> std::io::Result<()> {
    let s = format!("\n{}", "  ".repeat(level));
    w.write_event(Event::Text(BytesText::new(&s).into_owned()))
}

fn simple<W: Write>(
    w: &mut Writer<W>,
    level: usize,
    name: &str,
    attrs: &[(&str, &str)],
    text: &str,
) -> std::io::Result<()> {
    indent(w, level)?;
    w.write_event(start(name, attrs))?;
    w.write_event(text_event(text))?;
    w.write_event(end(name))
}

/// Write a TMX 1.4b document.
pub fn write_tmx<W: Write>(out: W, header: &TmxHeader, units: &[TmxUnit]) -> Result<(), TmxError> {
    let mut w = Writer::new(out);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    indent(&mut w, 0)?;
    w.write_event(start("tmx", &[("version", "1.4")]))?;
    indent(&mut w, 1)?;
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
        let mut e = BytesStart::new("header");
        for (k, v) in &attrs {
            e.push_attribute((*k, *v));
        }
        w.write_event(Event::Empty(e))?;
    } else {
        w.write_event(start("header", &attrs))?;
        for (k, v) in &header.props {
            simple(&mut w, 2, "prop", &[("type", k)], v)?;
        }
        indent(&mut w, 1)?;
        w.write_event(end("header"))?;
    }
    indent(&mut w, 1)?;
    w.write_event(start("body", &[]))?;
    for u in units {
        indent(&mut w, 2)?;
        match &u.id {
            Some(id) => w.write_event(start("tu", &[("tuid", id)]))?,
            None => w.write_event(start("tu", &[]))?,
        }
        for (k, v) in &u.props {
            simple(&mut w, 3, "prop", &[("type", k)], v)?;
        }
        for n in &u.notes {
            simple(&mut w, 3, "note", &[], n)?;
        }
        for (lang, text) in [
            (&header.source_lang, &u.source),
            (&header.target_lang, &u.target),
        ] {
            indent(&mut w, 3)?;
            w.write_event(start("tuv", &[("xml:lang", lang)]))?;
            simple(&mut w, 4, "seg", &[], text)?;
            indent(&mut w, 3)?;
            w.write_event(end("tuv"))?;
        }
        indent(&mut w, 2)?;
        w.write_event(end("tu"))?;
    }
    indent(&mut w, 1)?;
    w.write_event(end("body"))?;
    indent(&mut w, 0)?;
    w.write_event(end("tmx"))?;
    indent(&mut w, 0)?;
    Ok(())
}

/// Where a TMX document is being read, for error messages.
struct Ctx<'a> {
    name: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    fn line_at(&self, pos: u64) -> usize {
        let pos = (pos as usize).min(self.text.len());
        self.text.as_bytes()[..pos]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn err(&self, pos: u64, message: impl Into<String>) -> TmxError {
        TmxError::Syntax {
            name: self.name.to_string(),
            line: self.line_at(pos),
            message: message.into(),
        }
    }
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
    let ctx = Ctx { name, text };
    let mut r = Reader::from_str(text);
    r.config_mut().trim_text(false);
    r.config_mut().check_end_names = true;
    r.config_mut().expand_empty_elements = true;

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

    loop {
        let pos = r.buffer_position();
        let ev = r
            .read_event()
            .map_err(|e| ctx.err(r.error_position(), format!("not well-formed XML: {e}")))?;
        match ev {
            Event::Eof => {
                if let Some(open) = stack.last() {
                    return Err(ctx.err(
                        text.len() as u64,
                        format!("the file ends inside <{open}>: truncated or not closed"),
                    ));
                }
                break;
            }
            Event::DocType(_) | Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Start(e) => {
                let local = e.local_name().as_ref().to_string();
                let attr = |key: &str| -> Result<Option<String>, TmxError> {
                    for a in e.attributes() {
                        let a = a.map_err(|err| ctx.err(pos, format!("bad attribute: {err}")))?;
                        if a.key.as_ref() == key {
                            let v = a
                                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .map_err(|err| {
                                    ctx.err(
                                        pos,
                                        format!(
                                            "attribute {key}: {err} (DTD entities are not expanded)"
                                        ),
                                    )
                                })?;
                            return Ok(Some(v.into_owned()));
                        }
                    }
                    Ok(None)
                };
                if in_seg {
                    let code = matches!(local.as_str(), "bpt" | "ept" | "ph" | "it" | "ut");
                    code_depth += usize::from(code);
                    inline.push(code);
                    continue;
                }
                {
                    match local.as_str() {
                        "tmx" => saw_tmx = true,
                        "header" => srclang = attr("srclang")?,
                        "tu" => {
                            let u = TmxUnit {
                                id: attr("tuid")?,
                                ..TmxUnit::default()
                            };
                            unit = Some((u, Vec::new()));
                        }
                        "tuv" => {
                            let lang = match attr("xml:lang")? {
                                Some(l) => l,
                                None => attr("lang")?
                                    .ok_or_else(|| ctx.err(pos, "<tuv> without xml:lang"))?,
                            };
                            tuv = Some(Tuv {
                                lang,
                                ..Tuv::default()
                            });
                        }
                        "prop" => {
                            prop_type = attr("type")?.unwrap_or_default();
                            buf.clear();
                        }
                        "note" => buf.clear(),
                        "seg" => {
                            buf.clear();
                            in_seg = true;
                        }
                        _ => {}
                    }
                }
                stack.push(local);
            }
            Event::End(e) => {
                if in_seg {
                    if let Some(code) = inline.pop() {
                        code_depth -= usize::from(code);
                        continue;
                    }
                    in_seg = false;
                }
                let local = e.local_name().as_ref().to_string();
                stack.pop();
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
                                return Err(ctx.err(pos, "<tu> without any <tuv>"));
                            }
                            let src_idx = match srclang.as_deref() {
                                Some(l) if l != "*all*" => tuvs
                                    .iter()
                                    .position(|t| lang_matches(&t.lang, l))
                                    .ok_or_else(|| {
                                        ctx.err(
                                            pos,
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
            Event::Text(t) => {
                if code_depth == 0 {
                    buf.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if code_depth == 0 {
                    buf.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(g) => {
                let resolved = if g.is_char_ref() {
                    g.resolve_char_ref()
                        .map_err(|e| ctx.err(pos, format!("bad character reference: {e}")))?
                } else {
                    match g.as_ref() {
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "amp" => Some('&'),
                        "apos" => Some('\''),
                        "quot" => Some('"'),
                        other => {
                            return Err(ctx.err(
                                pos,
                                format!(
                                    "undefined entity &{other}; (tarjama does not expand entities from a DOCTYPE)"
                                ),
                            ));
                        }
                    }
                };
                if code_depth == 0 {
                    match resolved {
                        Some(c) => buf.push(c),
                        None => return Err(ctx.err(pos, "bad character reference")),
                    }
                }
            }
            Event::Empty(_) => {}
        }
    }
    if !saw_tmx {
        return Err(ctx.err(0, "not a TMX document (no <tmx> element)"));
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
        assert!(e.starts_with("bomb.tmx:15:"), "{e}");
        assert!(e.contains("&lol9;"), "{e}");
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
    fn deep_nesting_does_not_overflow() {
        let depth = 100_000;
        let xml = format!(
            "<tmx><header srclang=\"ar\"/><body><tu><tuv xml:lang=\"ar\"><seg>{}x{}</seg></tuv></tu></body></tmx>",
            "<hi>".repeat(depth),
            "</hi>".repeat(depth)
        );
        let u = read_tmx("deep.tmx", &xml).unwrap();
        assert_eq!(u[0].source, "x");
    }
}
