/*!
The one XML module: every XML file tarjama reads or writes (XLIFF, TMX,
TBX, the parts of a Word file) goes through it, so escaping, the characters
XML forbids and the reading limits are decided in one place.

Writing ([`XmlOut`]): text and attribute values are escaped here
([`escape_text`], [`escape_attr`]); the characters XML 1.0 forbids (C0
controls other than tab, LF and CR; U+FFFE, U+FFFF), which machine
translation output does contain, are never written; a CR is written as
`&#13;` so that it survives the parser's line-end normalisation.

Reading ([`Events`], and [`parse`] for a small element tree on top of it):
- entities are never expanded: only the five predefined ones and character
  references are accepted;
- a DOCTYPE with an internal subset (where entities are declared, as in a
  billion-laughs file) is refused; a bare `<!DOCTYPE tmx SYSTEM "tmx14.dtd">`,
  as OmegaT and other CAT tools write, is accepted and ignored (the DTD is
  never fetched);
- nesting deeper than [`MAX_DEPTH`] is an error, so a hostile file cannot
  exhaust the stack or memory;
- a character XML 1.0 forbids, written raw or as a reference (`&#1;`), is an
  error naming the line, not a silently changed text;
- a CR written as `&#13;` is kept; raw line ends are normalised as XML says.

Errors are `(line, message)` for the caller to prefix with the file name.
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

/// The entity a markup character is written as: `&`, `<`, `>`, `"`, `'`
/// (`&#39;`, which HTML and XML both read). The one table every escaper
/// uses: XML text and attributes here, HTML, Markdown, Azure's markup.
pub fn entity(c: char) -> Option<&'static str> {
    Some(match c {
        '&' => "&amp;",
        '<' => "&lt;",
        '>' => "&gt;",
        '"' => "&quot;",
        '\'' => "&#39;",
        _ => return None,
    })
}

/// Escape element text: `&`, `<` and `>` as entities, CR as a character
/// reference, the characters XML forbids left out.
pub fn escape_text(s: &str) -> String {
    escape(s, false)
}

/// Escape an attribute value: quotes too, and tab and LF as references so
/// that attribute normalisation does not fold them.
pub fn escape_attr(s: &str) -> String {
    escape(s, true)
}

fn escape(s: &str, attr: bool) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\r' => out.push_str("&#13;"),
            '\t' if attr => out.push_str("&#9;"),
            '\n' if attr => out.push_str("&#10;"),
            '"' | '\'' if !attr => out.push(c),
            c if !is_xml_char(c) => {}
            c => match entity(c) {
                Some(e) => out.push_str(e),
                None => out.push(c),
            },
        }
    }
    out
}

/// An indented XML document being written into memory.
pub struct XmlOut {
    w: Writer<Vec<u8>>,
}

impl Default for XmlOut {
    fn default() -> XmlOut {
        XmlOut::new()
    }
}

impl XmlOut {
    /// A new document with the XML declaration.
    pub fn new() -> XmlOut {
        let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
            .expect("writing to memory cannot fail");
        XmlOut { w }
    }

    /// `<!DOCTYPE root SYSTEM "system_id">`: a bare external reference, the
    /// only DOCTYPE the reader accepts (some CAT tools look for it).
    pub fn doctype(&mut self, root: &str, system_id: &str) {
        let decl = format!("{root} SYSTEM \"{}\"", escape_attr(system_id));
        self.ev(Event::DocType(BytesText::from_escaped(decl)));
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

/// Why a document could not be read: the line (when known) and a message.
pub type XmlError = (Option<usize>, String);

/// One step through a document, as [`Events`] gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ev {
    /// A start tag (an empty element gives `Start` then `End`); the
    /// element has no children yet.
    Start(Element),
    /// The end of the element last started.
    End,
    /// Text inside the root element: references resolved, CDATA included.
    Text(String),
}

/// A checked stream of events over a document held in memory, with the
/// reading rules of this module applied. Nothing is buffered beyond the
/// open elements, so a large file is read in one pass.
pub struct Events<'a> {
    text: &'a str,
    reader: quick_xml::Reader<&'a [u8]>,
    /// (byte position, line) counted so far: positions only grow.
    counted: (usize, usize),
    /// Names of the open elements.
    open: Vec<String>,
    root_seen: bool,
    pending_end: bool,
    line: usize,
}

impl<'a> Events<'a> {
    /// Events over `text` (a leading byte-order mark is skipped).
    pub fn new(text: &'a str) -> Events<'a> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut reader = quick_xml::Reader::from_str(text);
        reader.config_mut().trim_text(false);
        reader.config_mut().check_end_names = true;
        Events {
            text,
            reader,
            counted: (0, 1),
            open: Vec::new(),
            root_seen: false,
            pending_end: false,
            line: 1,
        }
    }

    /// The line of the last event given.
    pub fn line(&self) -> usize {
        self.line
    }

    fn line_at(&mut self, pos: u64) -> usize {
        let pos = (pos as usize).min(self.text.len());
        let bytes = self.text.as_bytes();
        if pos >= self.counted.0 {
            self.counted.1 += memchr::memchr_iter(b'\n', &bytes[self.counted.0..pos]).count();
            self.counted.0 = pos;
            self.counted.1
        } else {
            memchr::memchr_iter(b'\n', &bytes[..pos]).count() + 1
        }
    }

    fn err(&self, message: impl Into<String>) -> XmlError {
        (Some(self.line), message.into())
    }

    /// `s` when every character in it is allowed in XML 1.0.
    fn checked(&self, s: String, what: &str) -> Result<String, XmlError> {
        match s.chars().find(|&c| !is_xml_char(c)) {
            None => Ok(s),
            Some(c) => Err(self.err(format!(
                "control character U+{:04X} in {what} is not allowed in XML; remove it or save the file again from the tool that made it",
                c as u32
            ))),
        }
    }

    fn element(&self, s: &quick_xml::events::BytesStart<'_>) -> Result<Element, XmlError> {
        use quick_xml::XmlVersion;
        use quick_xml::escape::resolve_predefined_entity;
        let name = s.local_name().as_ref().to_string();
        let mut attrs = Vec::new();
        for a in s.attributes() {
            let a = a.map_err(|e| self.err(format!("bad attribute: {e}")))?;
            let key = a.key.as_ref().to_string();
            let value = a
                .normalized_value_with(XmlVersion::Implicit1_0, 1, resolve_predefined_entity)
                .map_err(|e| {
                    self.err(format!(
                        "attribute {key}: {e} (tarjama does not expand entities)"
                    ))
                })?
                .into_owned();
            let value = self.checked(value, &format!("attribute {key}"))?;
            attrs.push((key, value));
        }
        Ok(Element {
            name,
            attrs,
            children: Vec::new(),
            line: self.line,
        })
    }

    fn start(&mut self, s: &quick_xml::events::BytesStart<'_>) -> Result<Ev, XmlError> {
        if self.open.len() >= MAX_DEPTH {
            return Err(self.err(format!(
                "elements nested more than {MAX_DEPTH} deep; this is not a file tarjama reads"
            )));
        }
        if self.open.is_empty() && self.root_seen {
            return Err(self.err("content after the root element"));
        }
        self.root_seen = true;
        let e = self.element(s)?;
        self.open.push(e.name.clone());
        Ok(Ev::Start(e))
    }

    /// The next event, `None` at the end of a well-formed document.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Ev>, XmlError> {
        use quick_xml::escape::resolve_predefined_entity;
        if self.pending_end {
            self.pending_end = false;
            self.open.pop();
            return Ok(Some(Ev::End));
        }
        loop {
            let pos = self.reader.buffer_position();
            let ev = match self.reader.read_event() {
                Ok(ev) => ev,
                Err(e) => {
                    let at = self.reader.error_position();
                    self.line = self.line_at(at);
                    return Err(self.err(format!("not well-formed XML: {e}")));
                }
            };
            self.line = self.line_at(pos);
            match ev {
                Event::Start(s) => return self.start(&s).map(Some),
                Event::Empty(s) => {
                    let ev = self.start(&s)?;
                    self.pending_end = true;
                    return Ok(Some(ev));
                }
                Event::End(_) => {
                    if self.open.pop().is_none() {
                        return Err(self.err("unexpected end tag"));
                    }
                    return Ok(Some(Ev::End));
                }
                Event::Text(t) => {
                    let s = t.xml10_content().into_owned();
                    if self.open.is_empty() {
                        if !s.trim().is_empty() {
                            return Err(self.err("text outside the root element"));
                        }
                        continue;
                    }
                    return self.checked(s, "the text").map(|s| Some(Ev::Text(s)));
                }
                Event::CData(c) => {
                    let s = c.xml10_content().into_owned();
                    if self.open.is_empty() {
                        return Err(self.err("CDATA outside the root element"));
                    }
                    return self.checked(s, "the text").map(|s| Some(Ev::Text(s)));
                }
                Event::GeneralRef(r) => {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) if is_xml_char(c) => c.to_string(),
                        Ok(Some(c)) => {
                            return Err(self.err(format!(
                                "character reference &{}; is U+{:04X}, which XML does not allow; remove it",
                                &*r, c as u32
                            )));
                        }
                        Ok(None) => match resolve_predefined_entity(&r) {
                            Some(s) => s.to_string(),
                            None => {
                                return Err(self.err(format!(
                                    "entity reference &{}; is not expanded (tarjama reads only the five XML entities and character references)",
                                    &*r
                                )));
                            }
                        },
                        Err(e) => {
                            return Err(self.err(format!("bad character reference &{};: {e}", &*r)));
                        }
                    };
                    if self.open.is_empty() {
                        return Err(self.err("reference outside the root element"));
                    }
                    return Ok(Some(Ev::Text(resolved)));
                }
                Event::DocType(d) => {
                    if d.contains('[') {
                        return Err(self.err(
                            "DOCTYPE declarations are not accepted (entities are never expanded); remove it",
                        ));
                    }
                }
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
                Event::Eof => {
                    if let Some(name) = self.open.last() {
                        let message =
                            format!("the file ends inside <{name}>: truncated or not closed");
                        self.line = self.line_at(self.text.len() as u64);
                        return Err(self.err(message));
                    }
                    if !self.root_seen {
                        return Err((None, "no root element".into()));
                    }
                    return Ok(None);
                }
            }
        }
    }
}

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

/// Parse `text` into its root element (through [`Events`], so with the same
/// rules).
pub fn parse(text: &str) -> Result<Element, XmlError> {
    let mut events = Events::new(text);
    let mut stack: Vec<Element> = Vec::new();
    while let Some(ev) = events.next()? {
        match ev {
            Ev::Start(e) => stack.push(e),
            Ev::End => {
                let el = stack.pop().expect("Events balances start and end");
                match stack.last_mut() {
                    Some(top) => top.children.push(Node::Element(el)),
                    None => stack.push(el),
                }
            }
            Ev::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    if let Some(Node::Text(prev)) = top.children.last_mut() {
                        prev.push_str(&t);
                    } else {
                        top.children.push(Node::Text(t));
                    }
                }
            }
        }
    }
    stack.pop().ok_or((None, "no root element".into()))
}

/// Undo HTML entity escaping (`&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;`,
/// `&#39;`, `&#NNN;`, `&#xHH;`); anything else is left as it is.
pub fn unescape_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest[1..].find(';').map(|e| e + 1).filter(|&e| e <= 10);
        let decoded = end.and_then(|e| {
            let name = &rest[1..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                n if n.starts_with("#x") || n.starts_with("#X") => u32::from_str_radix(&n[2..], 16)
                    .ok()
                    .and_then(char::from_u32),
                n if n.starts_with('#') => n[1..].parse().ok().and_then(char::from_u32),
                _ => None,
            };
            c.map(|c| (c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_only_entities() {
        assert_eq!(
            unescape_entities("it&#39;s &quot;5 &gt; 2&quot; &amp; &#x41; &foo; & x"),
            "it's \"5 > 2\" & A &foo; & x"
        );
        assert_eq!(unescape_entities("plain"), "plain");
    }

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
        assert!(s.contains(r#"a="x&quot;&lt;&#39;&amp;&#10;""#), "{s}");
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
