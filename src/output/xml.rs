/*!
The small XML toolkit XLIFF and TMX share, so that escaping, illegal
characters and the reading limits are decided in one place.

Writing: everything goes through quick-xml's event writer; text is cleaned
of the characters XML 1.0 forbids (C0 controls other than tab, LF and CR;
U+FFFE, U+FFFF), which machine translation output does contain, and a CR is
written as `&#13;` so that it survives the parser's line-end normalisation.

Reading: a reviewed file is parsed into a tiny element tree. Entities are
never expanded: only the five predefined ones and character references are
accepted, a DOCTYPE is refused, and nesting deeper than [`MAX_DEPTH`] is an
error, so a hostile file cannot blow up memory or the stack.
*/

use std::borrow::Cow;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

/// Whether XML 1.0 allows `c` in a document.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `s` without the characters XML 1.0 forbids.
pub fn clean(s: &str) -> Cow<'_, str> {
    if s.chars().all(is_xml_char) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.chars().filter(|&c| is_xml_char(c)).collect())
    }
}

/// Escape element text: `&`, `<`, `>`, and CR as a character reference.
fn escape_text(s: &str) -> String {
    let s = clean(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// Escape an attribute value (quotes included; white space as references so
/// attribute normalisation does not fold it).
fn escape_attr(s: &str) -> String {
    let s = clean(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// An indented XML document being written into memory.
pub struct XmlOut {
    w: Writer<Vec<u8>>,
}

impl XmlOut {
    /// A new document with the XML declaration.
    pub fn new() -> XmlOut {
        let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
            .expect("writing to memory cannot fail");
        XmlOut { w }
    }

    fn ev(&mut self, e: Event<'_>) {
        self.w
            .write_event(e)
            .expect("writing to memory cannot fail");
    }

    fn start_tag(name: &str, attrs: &[(&str, &str)]) -> BytesStart<'static> {
        let mut raw = String::from(name);
        for (k, v) in attrs {
            raw.push(' ');
            raw.push_str(k);
            raw.push_str("=\"");
            raw.push_str(&escape_attr(v));
            raw.push('"');
        }
        BytesStart::from_content(raw, name.len())
    }

    /// `<name attrs...>`
    pub fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.ev(Event::Start(Self::start_tag(name, attrs)));
    }

    /// `</name>`
    pub fn close(&mut self, name: &str) {
        self.ev(Event::End(BytesEnd::new(name.to_string())));
    }

    /// `<name attrs.../>`
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.ev(Event::Empty(Self::start_tag(name, attrs)));
    }

    /// `<name attrs...>text</name>` with the text escaped and cleaned.
    pub fn element(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.open(name, attrs);
        let escaped = escape_text(text);
        if !escaped.is_empty() {
            self.ev(Event::Text(BytesText::from_escaped(escaped)));
        }
        self.close(name);
    }

    /// The finished document, ending with a newline.
    pub fn finish(self) -> Vec<u8> {
        let mut v = self.w.into_inner();
        v.push(b'\n');
        v
    }
}

/// Maximum element nesting accepted when reading.
pub const MAX_DEPTH: usize = 64;

/// A node of a parsed document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    Text(String),
}

/// An element: its local name (namespace prefix dropped), its attributes
/// (qualified names as written, values unescaped) and its children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
    /// 1-based line of the start tag.
    pub line: usize,
}

impl Element {
    /// The value of attribute `name` (as written, e.g. `xml:lang`).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Child elements.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// The first child element called `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.name == name)
    }

    /// Every descendant element called `name`, in document order (not
    /// descending into matches).
    pub fn descendants<'a>(&'a self, name: &str, out: &mut Vec<&'a Element>) {
        for e in self.elements() {
            if e.name == name {
                out.push(e);
            } else {
                e.descendants(name, out);
            }
        }
    }

    /// The text of the element, descending into inline elements but not
    /// into those in `skip` (which hold native codes rather than text).
    pub fn text_skipping(&self, skip: &[&str]) -> String {
        let mut out = String::new();
        self.collect_text(skip, &mut out);
        out
    }

    fn collect_text(&self, skip: &[&str], out: &mut String) {
        for n in &self.children {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Element(e) if !skip.contains(&e.name.as_str()) => e.collect_text(skip, out),
                Node::Element(_) => {}
            }
        }
    }
}

/// Parse `text` into its root element. Errors are plain messages with the
/// line number, for the caller to prefix with the file name.
pub fn parse(text: &str) -> Result<Element, (Option<usize>, String)> {
    use quick_xml::Reader;
    use quick_xml::XmlVersion;
    use quick_xml::escape::resolve_predefined_entity;
    use quick_xml::events::attributes::Attribute;

    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(false);
    // Positions only grow, so lines are counted incrementally.
    let mut counted = (0usize, 1usize);
    let mut line_at = |pos: u64| -> usize {
        let pos = (pos as usize).min(text.len());
        if pos >= counted.0 {
            counted.1 += text.as_bytes()[counted.0..pos]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            counted.0 = pos;
            counted.1
        } else {
            text.as_bytes()[..pos]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1
        }
    };
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let make = |s: &BytesStart<'_>, line: usize| -> Result<Element, (Option<usize>, String)> {
        let name = s.local_name().as_ref().to_string();
        let mut attrs = Vec::new();
        for a in s.attributes() {
            let a: Attribute<'_> = a.map_err(|e| (Some(line), format!("bad attribute: {e}")))?;
            let key = a.key.as_ref().to_string();
            let value = a
                .normalized_value_with(XmlVersion::Implicit1_0, 1, resolve_predefined_entity)
                .map_err(|e| {
                    (
                        Some(line),
                        format!("attribute {key}: {e} (tarjama does not expand entities)"),
                    )
                })?
                .into_owned();
            attrs.push((key, value));
        }
        Ok(Element {
            name,
            attrs,
            children: Vec::new(),
            line,
        })
    };
    loop {
        let pos = reader.buffer_position();
        let ev = reader.read_event().map_err(|e| {
            (
                Some(line_at(reader.error_position())),
                format!("not well-formed XML: {e}"),
            )
        })?;
        let line = line_at(pos);
        let push_text = |stack: &mut Vec<Element>, t: String| {
            if let Some(top) = stack.last_mut() {
                if let Some(Node::Text(prev)) = top.children.last_mut() {
                    prev.push_str(&t);
                } else {
                    top.children.push(Node::Text(t));
                }
            }
        };
        match ev {
            Event::Start(s) => {
                if stack.len() >= MAX_DEPTH {
                    return Err((
                        Some(line),
                        format!(
                            "elements nested more than {MAX_DEPTH} deep; this is not a bilingual file tarjama reads"
                        ),
                    ));
                }
                if root.is_some() {
                    return Err((Some(line), "content after the root element".into()));
                }
                stack.push(make(&s, line)?);
            }
            Event::Empty(s) => {
                let el = make(&s, line)?;
                match stack.last_mut() {
                    Some(top) => top.children.push(Node::Element(el)),
                    None if root.is_none() => root = Some(el),
                    None => return Err((Some(line), "content after the root element".into())),
                }
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or((Some(line), "unexpected end tag".to_string()))?;
                match stack.last_mut() {
                    Some(top) => top.children.push(Node::Element(el)),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let s = t.xml10_content().into_owned();
                if stack.is_empty() {
                    if !s.trim().is_empty() {
                        return Err((Some(line), "text outside the root element".into()));
                    }
                } else {
                    push_text(&mut stack, s);
                }
            }
            Event::CData(c) => {
                let s = c.into_inner().into_owned();
                push_text(&mut stack, s);
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => match resolve_predefined_entity(&r) {
                        Some(s) => s.to_string(),
                        None => {
                            return Err((
                                Some(line),
                                format!(
                                    "entity reference &{}; is not expanded (tarjama reads only the five XML entities and character references)",
                                    &*r
                                ),
                            ));
                        }
                    },
                    Err(e) => {
                        return Err((
                            Some(line),
                            format!("bad character reference &{};: {e}", &*r),
                        ));
                    }
                };
                if stack.is_empty() {
                    return Err((Some(line), "reference outside the root element".into()));
                }
                push_text(&mut stack, resolved);
            }
            Event::DocType(_) => {
                return Err((
                    Some(line),
                    "DOCTYPE declarations are not accepted (entities are never expanded); remove it".into(),
                ));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err((
            None,
            format!(
                "the file ends inside <{}>",
                stack.last().map(|e| e.name.as_str()).unwrap_or("?")
            ),
        ));
    }
    root.ok_or((None, "no root element".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_removes_illegal_controls_only() {
        assert_eq!(clean("a\u{0}b\u{1b}c\td\ne\u{FFFF}"), "abc\td\ne");
        assert!(matches!(clean("سلام\tok"), Cow::Borrowed(_)));
    }

    #[test]
    fn writer_escapes_text_and_attributes() {
        let mut x = XmlOut::new();
        x.open("r", &[("a", "x\"<'&\n")]);
        x.element("t", &[], "<b>&amp; \u{7}\r");
        x.close("r");
        let s = String::from_utf8(x.finish()).unwrap();
        assert!(s.contains(r#"a="x&quot;&lt;&apos;&amp;&#10;""#), "{s}");
        assert!(s.contains("<t>&lt;b&gt;&amp;amp; &#13;</t>"), "{s}");
        let root = parse(&s).unwrap();
        assert_eq!(root.attr("a"), Some("x\"<'&\n"));
        assert_eq!(root.child("t").unwrap().text_skipping(&[]), "<b>&amp; \r");
    }

    #[test]
    fn parse_refuses_doctype_unknown_entities_and_deep_nesting() {
        let e = parse("<!DOCTYPE x [<!ENTITY a \"aaaa\">]><x>&a;</x>").unwrap_err();
        assert!(e.1.contains("DOCTYPE"), "{e:?}");
        let e = parse("<x>\n&a;</x>").unwrap_err();
        assert_eq!(e.0, Some(2));
        assert!(e.1.contains("&a;"), "{e:?}");
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        let e = parse(&deep).unwrap_err();
        assert!(e.1.contains("nested"), "{e:?}");
        let ok = "<a>".repeat(MAX_DEPTH) + &"</a>".repeat(MAX_DEPTH);
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn parse_reads_text_refs_cdata_and_skips_native_code() {
        let root = parse("<t>a &lt;&#x627;<![CDATA[<x>]]><bpt>{b}</bpt><g>b</g></t>").unwrap();
        assert_eq!(root.text_skipping(&["bpt"]), "a <ا<x>b");
        assert!(parse("<t>unclosed").is_err());
        assert!(parse("<a/><b/>").is_err());
    }
}
