/*!
Word files in: the paragraphs of a `.docx` in reading order.

A `.docx` is a zip of XML parts. The body (`word/document.xml`) is read in
order: paragraphs, headings (paragraph styles `Title` and `Heading N`, kept
as headings), tables row by row and cell by cell, text boxes after the
paragraph that anchors them (the `mc:Choice` of an alternate-content block
only, never its duplicate fallback), then footnotes (`word/footnotes.xml`).
Each paragraph's direction is recognised (`w:bidi`, or all runs `w:rtl`)
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
    let cx = Cx { links };
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
        out.push(Block {
            text,
            heading: level,
            rtl: direction(p),
            inline: formatted(cx, p),
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
/// runs with the same formatting make one span.
fn formatted(cx: &Cx, p: &Element) -> Vec<crate::model::InlineFormat> {
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
    spans
        .into_iter()
        .filter(|s| s.bold || s.italic || s.underline || s.link.is_some())
        .map(|s| crate::model::InlineFormat {
            para: 0,
            text: s.text.split_whitespace().collect::<Vec<_>>().join(" "),
            bold: s.bold,
            italic: s.italic,
            underline: s.underline,
            link: s.link,
        })
        .filter(|f| !f.text.is_empty())
        .collect()
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

/// Whether a paragraph is right to left: its `w:pPr/w:bidi` (Word and
/// LibreOffice set it on every right-to-left paragraph; `w:val="0"` or
/// `"false"` says left to right), else whether every run with text is
/// `w:rtl`. `None` when the paragraph says nothing either way (directions
/// set only in `styles.xml` are not read).
fn direction(p: &Element) -> Option<bool> {
    let on = |e: &Element| !matches!(e.attr("w:val"), Some("0") | Some("false") | Some("off"));
    if let Some(b) = p.child("pPr").and_then(|x| x.child("bidi")) {
        return Some(on(b));
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
