/*!
Word files in: the paragraphs of a `.docx` in reading order.

A `.docx` is a zip of XML parts. The body (`word/document.xml`) is read in
order: paragraphs, headings (paragraph styles `Title` and `Heading N`, kept
as headings), tables row by row and cell by cell, text boxes after the
paragraph that anchors them (the `mc:Choice` of an alternate-content block
only, never its duplicate fallback), then footnotes (`word/footnotes.xml`).
Each paragraph's direction is recognised (its `w:bidi`, or its style's in
`word/styles.xml` through `w:basedOn` and `w:docDefaults`, or all runs
`w:rtl`)
and carried in the document's metadata, so that output can honour it, as
are its formatted runs (bold, italic, underline, links with their targets
from `word/_rels/document.xml.rels`), kept beside the text, never in it.

Hostile files are refused with an error naming the file: a zip that does not
open, a part larger than [`MAX_PART_BYTES`] once inflated or inflating more
than [`MAX_RATIO`] times (zip bombs; the size read is counted, not the size
the header claims), and XML with a DOCTYPE or nesting too deep (the project's
one XML reader, `crate::xml`, refuses both, so entity expansion never runs).
*/

use std::io::Read;

use super::{Block, Document, InputError};
use crate::xml::{self, Element, Node};

/// The largest `.docx` file read: 32 MiB.
pub const MAX_DOCX_BYTES: u64 = 32 << 20;
/// The largest XML part read, inflated: 16 MiB.
pub const MAX_PART_BYTES: u64 = 16 << 20;
/// The largest inflation ratio of a part above 1 MiB.
pub const MAX_RATIO: u64 = 100;

fn err(name: &str, message: impl Into<String>) -> InputError {
    InputError::Docx {
        source_name: name.to_string(),
        message: message.into(),
    }
}

/// One XML part of the zip as text, `None` when the part is absent.
pub fn part(
    name: &str,
    zip: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>,
    path: &str,
) -> Result<Option<String>, InputError> {
    let mut f = match zip.by_name(path) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(err(name, format!("{path}: {e}"))),
    };
    let compressed = f.compressed_size().max(1);
    let mut buf = Vec::new();
    let read = (&mut f)
        .take(MAX_PART_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| {
            err(
                name,
                format!("{path}: cannot inflate ({e}); the file is damaged"),
            )
        })?;
    let read = read as u64;
    if read > MAX_PART_BYTES {
        return Err(err(
            name,
            format!("{path} inflates to more than {MAX_PART_BYTES} bytes; refusing (zip bomb?)"),
        ));
    }
    if read > (1 << 20) && read / compressed > MAX_RATIO {
        return Err(err(
            name,
            format!(
                "{path} inflates {} times ({compressed} to {read} bytes); refusing (zip bomb?)",
                read / compressed
            ),
        ));
    }
    String::from_utf8(buf)
        .map(Some)
        .map_err(|_| err(name, format!("{path} is not UTF-8 XML")))
}

/// Open the zip of a Word file.
pub fn open<'a>(
    name: &str,
    bytes: &'a [u8],
) -> Result<zip::ZipArchive<std::io::Cursor<&'a [u8]>>, InputError> {
    zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| {
        err(
            name,
            format!("not a zip archive ({e}); save it from Word or LibreOffice as .docx again"),
        )
    })
}

/// Parse one XML part with the project's XML reader.
pub fn parse(name: &str, path: &str, text: &str) -> Result<Element, InputError> {
    xml::parse(text).map_err(|(line, m)| {
        let at = line.map(|l| format!(":{l}")).unwrap_or_default();
        err(name, format!("{path}{at}: {m}"))
    })
}

/// Read a `.docx` (see the module docs).
pub fn read(name: &str, bytes: &[u8]) -> Result<Document, InputError> {
    let mut zip = open(name, bytes)?;
    let body = part(name, &mut zip, "word/document.xml")?
        .ok_or_else(|| err(name, "no word/document.xml in the archive"))?;
    let root = parse(name, "word/document.xml", &body)?;
    let mut links = std::collections::HashMap::new();
    if let Some(rels) = part(name, &mut zip, "word/_rels/document.xml.rels")? {
        let rels = parse(name, "word/_rels/document.xml.rels", &rels)?;
        for r in rels.elements().filter(|e| e.name == "Relationship") {
            if let (Some(id), Some(target)) = (r.attr("Id"), r.attr("Target")) {
                links.insert(id.to_string(), target.to_string());
            }
        }
    }
    let styles = match part(name, &mut zip, "word/styles.xml")? {
        Some(x) => Styles::read(&parse(name, "word/styles.xml", &x)?),
        None => Styles::default(),
    };
    let cx = Cx { links, styles };
    let mut blocks = Vec::new();
    if let Some(b) = root.child("body") {
        walk(&cx, b, &mut blocks);
    }
    if let Some(notes) = part(name, &mut zip, "word/footnotes.xml")? {
        let notes = parse(name, "word/footnotes.xml", &notes)?;
        for n in notes.elements().filter(|e| e.name == "footnote") {
            if n.attr("w:type").is_some_and(|t| t != "normal") {
                continue;
            }
            walk(&cx, n, &mut blocks);
        }
    }
    let title = match part(name, &mut zip, "docProps/core.xml")? {
        Some(core) => {
            let core = parse(name, "docProps/core.xml", &core)?;
            core.child("title")
                .map(|t| t.text_skipping(&[]).trim().to_string())
                .filter(|t| !t.is_empty())
        }
        None => None,
    };
    Ok(Document::from_blocks(&blocks, title, None))
}

/// What the walk needs from the rest of the package.
struct Cx {
    /// Relationship ids to their targets (hyperlink URLs).
    links: std::collections::HashMap<String, String>,
    styles: Styles,
}

/// The paragraph directions `word/styles.xml` sets: each paragraph
/// style's own `w:bidi` and the style it is `w:basedOn`, the default
/// paragraph style, and the document defaults (`w:docDefaults`).
#[derive(Debug, Default)]
struct Styles {
    /// Style id → (its own `w:bidi`, if it sets one; its `w:basedOn`).
    own: std::collections::HashMap<String, (Option<bool>, Option<String>)>,
    /// The paragraph style marked `w:default="1"`.
    default: Option<String>,
    /// `w:docDefaults/w:pPrDefault/w:pPr/w:bidi`.
    doc_default: Option<bool>,
}

impl Styles {
    fn read(root: &Element) -> Styles {
        let mut s = Styles::default();
        if let Some(b) = root
            .child("docDefaults")
            .and_then(|d| d.child("pPrDefault"))
            .and_then(|d| d.child("pPr"))
            .and_then(|p| p.child("bidi"))
        {
            s.doc_default = Some(on(b));
        }
        for st in root.elements().filter(|e| e.name == "style") {
            if st.attr("w:type").is_some_and(|t| t != "paragraph") {
                continue;
            }
            let Some(id) = st.attr("w:styleId") else {
                continue;
            };
            if st
                .attr("w:default")
                .is_some_and(|d| d == "1" || d == "true")
            {
                s.default = Some(id.to_string());
            }
            let bidi = st.child("pPr").and_then(|p| p.child("bidi")).map(on);
            let based = st
                .child("basedOn")
                .and_then(|b| b.attr("w:val"))
                .map(str::to_string);
            s.own.insert(id.to_string(), (bidi, based));
        }
        s
    }

    /// The direction a paragraph of style `id` (the default paragraph
    /// style when `None`) gets from the styles: the first `w:bidi` up its
    /// `w:basedOn` chain (at most 32 steps, so a loop ends), else the
    /// document defaults'.
    fn direction(&self, id: Option<&str>) -> Option<bool> {
        let mut at = id.map(str::to_string).or_else(|| self.default.clone());
        for _ in 0..32 {
            let Some((bidi, based)) = at.as_ref().and_then(|i| self.own.get(i)) else {
                break;
            };
            if bidi.is_some() {
                return *bidi;
            }
            at = based.clone();
        }
        self.doc_default
    }
}

/// Whether an on/off property is on (`w:val` absent, or other than `0`,
/// `false`, `off`).
fn on(e: &Element) -> bool {
    !matches!(e.attr("w:val"), Some("0") | Some("false") | Some("off"))
}

/// The paragraphs of a container (body, cell, text box, footnote) in order.
fn walk(cx: &Cx, e: &Element, out: &mut Vec<Block>) {
    for c in e.elements() {
        match c.name.as_str() {
            "p" => paragraph(cx, c, out),
            "tbl" => {
                for row in c.elements().filter(|r| r.name == "tr") {
                    for cell in row.elements().filter(|x| x.name == "tc") {
                        walk(cx, cell, out);
                    }
                }
            }
            "sdt" => {
                if let Some(content) = c.child("sdtContent") {
                    walk(cx, content, out);
                }
            }
            _ => {}
        }
    }
}

/// One paragraph, then the text boxes it anchors.
fn paragraph(cx: &Cx, p: &Element, out: &mut Vec<Block>) {
    let ppr = p.child("pPr");
    let style = ppr
        .and_then(|x| x.child("pStyle"))
        .and_then(|s| s.attr("w:val"))
        .unwrap_or("");
    let level = heading_level(style);
    let mut text = String::new();
    let mut boxes = Vec::new();
    runs(p, &mut text, &mut boxes);
    let text = text.trim().to_string();
    if !text.is_empty() {
        let inline = formatted(cx, p, &text);
        out.push(Block {
            text,
            heading: level,
            rtl: direction(&cx.styles, p),
            inline,
        });
    }
    for b in boxes {
        walk(cx, b, out);
    }
}

/// A piece of a paragraph's text with the formatting of its run.
#[derive(Default, Clone, PartialEq)]
struct Piece {
    text: String,
    bold: bool,
    italic: bool,
    underline: bool,
    link: Option<String>,
}

/// The formatted spans of a paragraph: runs that are bold (`w:b`, or
/// `w:bCs`, which Word sets on bold Arabic), italic (`w:i`/`w:iCs`),
/// underlined (`w:u` other than `none`) or inside a hyperlink; neighbouring
/// runs with the same formatting make one span. Each span's `start` is
/// its character offset in `text`, the paragraph's text folded as
/// `Document::from_blocks` folds it (`None` if the runs do not add up to
/// that text).
fn formatted(cx: &Cx, p: &Element, text: &str) -> Vec<crate::model::InlineFormat> {
    let mut pieces: Vec<Piece> = Vec::new();
    pieces_of(cx, p, None, &mut pieces);
    let mut spans: Vec<Piece> = Vec::new();
    for pc in pieces {
        match spans.last_mut() {
            Some(last)
                if (last.bold, last.italic, last.underline, &last.link)
                    == (pc.bold, pc.italic, pc.underline, &pc.link) =>
            {
                last.text.push_str(&pc.text)
            }
            _ => spans.push(pc),
        }
    }
    // Where each raw character lands once white space is folded.
    let raw: String = spans.iter().map(|s| s.text.as_str()).collect();
    let fold = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let same = fold(&raw) == fold(text);
    let mut folded_at = Vec::new();
    let (mut n, mut space) = (0usize, false);
    for c in raw.chars() {
        if c.is_whitespace() {
            space |= n > 0;
            folded_at.push(n);
        } else {
            if std::mem::take(&mut space) {
                n += 1;
            }
            folded_at.push(n);
            n += 1;
        }
    }
    let mut out = Vec::new();
    let mut at = 0;
    for s in spans {
        let len = s.text.chars().count();
        let first = s.text.chars().position(|c| !c.is_whitespace());
        let start = first
            .filter(|_| same)
            .and_then(|i| folded_at.get(at + i).copied());
        at += len;
        if !(s.bold || s.italic || s.underline || s.link.is_some()) {
            continue;
        }
        let f = crate::model::InlineFormat {
            para: 0,
            text: fold(&s.text),
            start,
            bold: s.bold,
            italic: s.italic,
            underline: s.underline,
            link: s.link,
        };
        if !f.text.is_empty() {
            out.push(f);
        }
    }
    out
}

fn pieces_of(cx: &Cx, e: &Element, link: Option<&str>, out: &mut Vec<Piece>) {
    let on = |x: Option<&Element>| {
        x.is_some_and(|b| !matches!(b.attr("w:val"), Some("0" | "false" | "off" | "none")))
    };
    for c in e.elements() {
        match c.name.as_str() {
            "r" => {
                let pr = c.child("rPr");
                let get = |n: &str| pr.and_then(|x| x.child(n));
                let mut text = String::new();
                let mut boxes = Vec::new();
                runs(c, &mut text, &mut boxes);
                out.push(Piece {
                    text,
                    bold: on(get("b")) || on(get("bCs")),
                    italic: on(get("i")) || on(get("iCs")),
                    underline: on(get("u")),
                    link: link.map(str::to_string),
                });
            }
            "hyperlink" => {
                let target = c
                    .attr("r:id")
                    .and_then(|id| cx.links.get(id).cloned())
                    .or_else(|| c.attr("w:anchor").map(|a| format!("#{a}")))
                    .unwrap_or_default();
                pieces_of(cx, c, Some(&target), out);
            }
            "pPr" | "txbxContent" | "Fallback" | "del" | "moveFrom" => {}
            _ => pieces_of(cx, c, link, out),
        }
    }
}

/// The text of a paragraph's runs (`w:t`, tabs and breaks as spaces), and
/// the text boxes met on the way.
fn runs<'a>(e: &'a Element, text: &mut String, boxes: &mut Vec<&'a Element>) {
    for n in &e.children {
        let Node::Element(c) = n else { continue };
        match c.name.as_str() {
            "t" => text.push_str(&c.text_skipping(&[])),
            "tab" | "br" | "cr" => text.push(' '),
            "noBreakHyphen" => text.push('\u{2011}'),
            "txbxContent" => boxes.push(c),
            "Fallback" | "pPr" | "rPr" | "instrText" | "delText" | "footnoteReference" => {}
            _ => runs(c, text, boxes),
        }
    }
}

/// Whether a paragraph is right to left: its own `w:pPr/w:bidi`
/// (`w:val="0"` or `"false"` says left to right), else the one its
/// paragraph style sets (through `w:basedOn`, the default paragraph style,
/// then `w:docDefaults`; see [`Styles`]), else whether every run with text
/// is `w:rtl`. `None` when neither the paragraph nor the styles say.
fn direction(styles: &Styles, p: &Element) -> Option<bool> {
    let ppr = p.child("pPr");
    if let Some(b) = ppr.and_then(|x| x.child("bidi")) {
        return Some(on(b));
    }
    let style = ppr
        .and_then(|x| x.child("pStyle"))
        .and_then(|s| s.attr("w:val"));
    if let Some(d) = styles.direction(style) {
        return Some(d);
    }
    let mut runs = Vec::new();
    text_runs(p, &mut runs);
    let marks: Vec<Option<bool>> = runs
        .iter()
        .map(|r| r.child("rPr").and_then(|x| x.child("rtl")).map(on))
        .collect();
    if !marks.is_empty() && marks.iter().all(|m| *m == Some(true)) {
        return Some(true);
    }
    None
}

/// The runs (`w:r`) of a paragraph that hold text, links and fields
/// included, text boxes and fallbacks not.
fn text_runs<'a>(e: &'a Element, out: &mut Vec<&'a Element>) {
    for c in e.elements() {
        match c.name.as_str() {
            "r" if c.child("t").is_some() => out.push(c),
            "txbxContent" | "Fallback" | "pPr" => {}
            _ => text_runs(c, out),
        }
    }
}

/// `Title` and `Heading1`..`Heading9` (also written `heading 1`).
fn heading_level(style: &str) -> Option<u8> {
    let s = style.to_ascii_lowercase().replace(' ', "");
    if s == "title" {
        return Some(1);
    }
    s.strip_prefix("heading")
        .and_then(|n| n.parse::<u8>().ok())
        .filter(|n| (1..=9).contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;

    fn styles(body: &str) -> Styles {
        Styles::read(&xml::parse(&format!("<w:styles {W}>{body}</w:styles>")).unwrap())
    }

    fn para(ppr: &str) -> Element {
        xml::parse(&format!(
            "<w:p {W}><w:pPr>{ppr}</w:pPr><w:r><w:t>نص</w:t></w:r><w:r><w:t>Text</w:t></w:r></w:p>"
        ))
        .unwrap()
    }

    #[test]
    fn directions_come_from_styles_through_based_on_the_default_style_and_doc_defaults() {
        // As Word writes an Arabic template: the direction on a base style,
        // headings and quotes based on it, an English style that says LTR.
        let s = styles(
            r#"<w:docDefaults><w:pPrDefault><w:pPr><w:bidi w:val="0"/></w:pPr></w:pPrDefault></w:docDefaults>
<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style>
<w:style w:type="paragraph" w:styleId="ArabicBody"><w:basedOn w:val="Normal"/><w:pPr><w:bidi/></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="ArabicQuote"><w:basedOn w:val="ArabicBody"/><w:pPr><w:ind w:left="720"/></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="EnglishNote"><w:basedOn w:val="ArabicQuote"/><w:pPr><w:bidi w:val="0"/></w:pPr></w:style>
<w:style w:type="character" w:styleId="ArabicChar"><w:pPr><w:bidi/></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="LoopA"><w:basedOn w:val="LoopB"/></w:style>
<w:style w:type="paragraph" w:styleId="LoopB"><w:basedOn w:val="LoopA"/></w:style>"#,
        );
        let dir = |ppr: &str| direction(&s, &para(ppr));
        assert_eq!(dir(r#"<w:pStyle w:val="ArabicBody"/>"#), Some(true));
        assert_eq!(dir(r#"<w:pStyle w:val="ArabicQuote"/>"#), Some(true));
        assert_eq!(dir(r#"<w:pStyle w:val="EnglishNote"/>"#), Some(false));
        // the paragraph's own w:bidi wins over its style's
        assert_eq!(
            dir(r#"<w:pStyle w:val="EnglishNote"/><w:bidi/>"#),
            Some(true)
        );
        // no style: the default paragraph style, then the document defaults
        assert_eq!(dir(""), Some(false));
        // a loop of basedOn ends, at the document defaults
        assert_eq!(dir(r#"<w:pStyle w:val="LoopA"/>"#), Some(false));
        // a character style is not a paragraph style
        assert_eq!(dir(r#"<w:pStyle w:val="ArabicChar"/>"#), Some(false));
        // the default paragraph style itself right to left
        let s = styles(
            r#"<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:pPr><w:bidi w:val="1"/></w:pPr></w:style>"#,
        );
        assert_eq!(direction(&s, &para("")), Some(true));
        // nothing anywhere: not said (mixed runs)
        assert_eq!(direction(&Styles::default(), &para("")), None);
    }
}
