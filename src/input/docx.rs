/*!
Word files in: the paragraphs of a `.docx` in reading order.

A `.docx` is a zip of XML parts. The body (`word/document.xml`) is read in
order: paragraphs, headings (paragraph styles `Title` and `Heading N`, kept
as headings), tables row by row and cell by cell, text boxes after the
paragraph that anchors them (the `mc:Choice` of an alternate-content block
only, never its duplicate fallback), then footnotes (`word/footnotes.xml`).

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
    let mut blocks = Vec::new();
    if let Some(b) = root.child("body") {
        walk(b, &mut blocks);
    }
    if let Some(notes) = part(name, &mut zip, "word/footnotes.xml")? {
        let notes = parse(name, "word/footnotes.xml", &notes)?;
        for n in notes.elements().filter(|e| e.name == "footnote") {
            if n.attr("w:type").is_some_and(|t| t != "normal") {
                continue;
            }
            walk(n, &mut blocks);
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

/// The paragraphs of a container (body, cell, text box, footnote) in order.
fn walk(e: &Element, out: &mut Vec<Block>) {
    for c in e.elements() {
        match c.name.as_str() {
            "p" => paragraph(c, out),
            "tbl" => {
                for row in c.elements().filter(|r| r.name == "tr") {
                    for cell in row.elements().filter(|x| x.name == "tc") {
                        walk(cell, out);
                    }
                }
            }
            "sdt" => {
                if let Some(content) = c.child("sdtContent") {
                    walk(content, out);
                }
            }
            _ => {}
        }
    }
}

/// One paragraph, then the text boxes it anchors.
fn paragraph(p: &Element, out: &mut Vec<Block>) {
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
        });
    }
    for b in boxes {
        walk(b, out);
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
