/*!
Word files out: the translated document (`-o out.docx`) and the editor's
bilingual table (`--to docx-table`), and reading an edited table back.

The translated document keeps the source's layout as far as tarjama knows
it: one Word paragraph per source paragraph, headings as `Heading N` styles,
English left to right, and a Word source's bold, italic, underline and links
on the English words the engine marked as translating the formatted Arabic
(`crate::inline`; when the English has no markers, from the memory or
because the engine lost them, a format that covers the whole paragraph is
still applied and the row's warning says what was not placed). The bilingual table has one row per segment: id,
Arabic (paragraph `w:bidi`, runs `w:rtl`, unless the source marks the
paragraph left to right; an Arabic complex-script font and `ar` language),
English (with the marked formatting), and notes (terms missed, forbidden
renderings, warnings, the source's formatting); its header row is marked `w:tblHeader` so Word and LibreOffice
repeat it on each page. The title and source (path or URL) are written at
the top of the table and in the document properties of both.

Zips are written with the `zip` crate into memory; the bytes go through
[`crate::atomic::write_atomic`] like every other output. XML goes through the
project's one XML writer, `crate::xml`.
*/

use std::io::Write;

use super::{OutputError, ReadError};
use crate::model::{AlignedPair, Bitext, InlineFormat};
use crate::xml::XmlOut;

const W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
const R: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
/// The font Arabic text is set in (installed with Debian's fonts-noto-core).
pub const ARABIC_FONT: &str = "Noto Naskh Arabic";
const LATIN_FONT: &str = "Liberation Serif";

/// A stretch of English with its formatting.
type Piece = (String, InlineFormat);

/// The translated document.
pub fn render_document(doc: &Bitext) -> Result<Vec<u8>, OutputError> {
    let mut x = XmlOut::new();
    x.open("w:document", &[("xmlns:w", W), ("xmlns:r", R)]);
    x.open("w:body", &[]);
    // Each paragraph's English as pieces with their formatting.
    let mut paras: Vec<(usize, Vec<Piece>, bool)> = Vec::new();
    for p in &doc.pairs {
        let marked = crate::inline::marked_of(p);
        let mut pieces: Vec<Piece> = match (marked, p.target.as_deref()) {
            (Some(m), Some(_)) => crate::inline::pieces(&flat(m))
                .into_iter()
                .map(|(t, open)| (t, crate::inline::format_of(&open, &p.formats)))
                .collect(),
            (_, Some(t)) => vec![(flat(t), InlineFormat::default())],
            (_, None) => vec![(format!("[untranslated: {}]", p.id), InlineFormat::default())],
        };
        match paras.last_mut() {
            Some((n, v, m)) if *n == p.para => {
                v.push((" ".into(), InlineFormat::default()));
                v.append(&mut pieces);
                *m |= marked.is_some();
            }
            _ => paras.push((p.para, pieces, marked.is_some())),
        }
    }
    let mut links: Vec<String> = Vec::new();
    for (n, pieces, marked) in &paras {
        let level = doc
            .meta
            .headings
            .iter()
            .find(|(p, _)| p == n)
            .map(|(_, l)| *l);
        x.open("w:p", &[]);
        if let Some(l) = level {
            x.open("w:pPr", &[]);
            x.empty("w:pStyle", &[("w:val", &format!("Heading{}", l.min(3)))]);
            x.close("w:pPr");
        }
        // Without markers (English from the memory), a format that covers
        // the whole source paragraph still covers its English.
        let source = flat(
            &doc.pairs
                .iter()
                .filter(|p| p.para == *n)
                .map(|p| p.source.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        );
        let whole = (!marked)
            .then(|| {
                doc.meta
                    .inline
                    .iter()
                    .find(|f| f.para == *n && f.text == source)
            })
            .flatten();
        for (text, f) in pieces {
            let f = whole.unwrap_or(f);
            match &f.link {
                Some(target) => {
                    let id = match links.iter().position(|l| l == target) {
                        Some(i) => i,
                        None => {
                            links.push(target.clone());
                            links.len() - 1
                        }
                    };
                    if let Some(anchor) = target.strip_prefix('#') {
                        x.open("w:hyperlink", &[("w:anchor", anchor)]);
                    } else {
                        x.open("w:hyperlink", &[("r:id", &link_id(id))]);
                    }
                    run(&mut x, text, f.bold, f.italic, true);
                    x.close("w:hyperlink");
                }
                None => run(&mut x, text, f.bold, f.italic, f.underline),
            }
        }
        x.close("w:p");
    }
    section(&mut x, false);
    x.close("w:body");
    x.close("w:document");
    package_with(doc, x.finish(), &links)
}

/// The relationship id of the `i`-th link of a document.
fn link_id(i: usize) -> String {
    format!("rIdLink{}", i + 1)
}

/// The bilingual table.
pub fn render_table(doc: &Bitext) -> Result<Vec<u8>, OutputError> {
    let mut x = XmlOut::new();
    x.open("w:document", &[("xmlns:w", W)]);
    x.open("w:body", &[]);
    if let Some(t) = &doc.meta.title {
        x.open("w:p", &[]);
        x.open("w:pPr", &[]);
        x.empty("w:pStyle", &[("w:val", "Heading1")]);
        x.empty("w:bidi", &[]);
        x.close("w:pPr");
        arabic_run(&mut x, t);
        x.close("w:p");
    }
    if let Some(src) = doc
        .meta
        .source_path
        .as_ref()
        .or(doc.meta.source_name.as_ref())
    {
        x.open("w:p", &[]);
        latin_run(&mut x, &format!("Source: {src}"), false);
        x.close("w:p");
    }
    x.open("w:tbl", &[]);
    x.open("w:tblPr", &[]);
    x.empty("w:tblStyle", &[("w:val", "TableGrid")]);
    x.empty("w:tblW", &[("w:w", "5000"), ("w:type", "pct")]);
    x.open("w:tblBorders", &[]);
    for side in ["top", "left", "bottom", "right", "insideH", "insideV"] {
        x.empty(
            &format!("w:{side}"),
            &[
                ("w:val", "single"),
                ("w:sz", "4"),
                ("w:space", "0"),
                ("w:color", "808080"),
            ],
        );
    }
    x.close("w:tblBorders");
    x.empty("w:tblLayout", &[("w:type", "fixed")]);
    x.close("w:tblPr");
    let widths = ["1300", "5000", "5000", "2600"];
    x.open("w:tblGrid", &[]);
    for w in widths {
        x.empty("w:gridCol", &[("w:w", w)]);
    }
    x.close("w:tblGrid");
    // The header row, repeated on each page.
    x.open("w:tr", &[]);
    x.open("w:trPr", &[]);
    x.empty("w:tblHeader", &[]);
    x.close("w:trPr");
    for (h, w) in ["Segment", "Arabic", "English", "Notes"].iter().zip(widths) {
        cell_start(&mut x, w);
        x.open("w:p", &[]);
        latin_run(&mut x, h, true);
        x.close("w:p");
        x.close("w:tc");
    }
    x.close("w:tr");
    for p in &doc.pairs {
        x.open("w:tr", &[]);
        x.open("w:trPr", &[]);
        x.empty("w:cantSplit", &[]);
        x.close("w:trPr");
        cell_start(&mut x, widths[0]);
        x.open("w:p", &[]);
        latin_run(&mut x, &p.id, false);
        x.close("w:p");
        x.close("w:tc");
        cell_start(&mut x, widths[1]);
        x.open("w:p", &[]);
        let rtl = doc
            .meta
            .rtl_paragraphs
            .as_ref()
            .is_none_or(|r| r.contains(&p.para));
        x.open("w:pPr", &[]);
        if rtl {
            x.empty("w:bidi", &[]);
        }
        x.close("w:pPr");
        source_run(&mut x, &flat(&p.source), rtl);
        x.close("w:p");
        x.close("w:tc");
        cell_start(&mut x, widths[2]);
        x.open("w:p", &[]);
        match (crate::inline::marked_of(p), &p.target) {
            // the formatting on the English words the engine marked
            (Some(m), Some(_)) => {
                for (text, open) in crate::inline::pieces(&flat(m)) {
                    let f = crate::inline::format_of(&open, &p.formats);
                    run(
                        &mut x,
                        &text,
                        f.bold,
                        f.italic,
                        f.underline || f.link.is_some(),
                    );
                }
            }
            _ => latin_run(&mut x, &flat(p.target.as_deref().unwrap_or("")), false),
        }
        x.close("w:p");
        x.close("w:tc");
        cell_start(&mut x, widths[3]);
        x.open("w:p", &[]);
        let mut note = notes(p);
        for f in &p.formats {
            if !note.is_empty() {
                note.push_str("; ");
            }
            note.push_str(&format!("source formatting: {}", f.describe()));
        }
        latin_run(&mut x, &note, false);
        x.close("w:p");
        x.close("w:tc");
        x.close("w:tr");
    }
    x.close("w:tbl");
    x.open("w:p", &[]);
    x.close("w:p");
    section(&mut x, true);
    x.close("w:body");
    x.close("w:document");
    package(doc, x.finish())
}

/// What a reviewer should know about a row: flags, missed terms, warnings,
/// the answers of a re-requested segment.
pub fn notes(p: &AlignedPair) -> String {
    use crate::glossary::check::shown;
    let mut out: Vec<String> = Vec::new();
    for t in &p.terms {
        if t.honoured == Some(false) {
            out.push(format!("term missed: {} → {}", t.source, shown(&t.target)));
        }
        for f in &t.forbidden_found {
            out.push(format!("forbidden: {f} (use {})", shown(&t.target)));
        }
    }
    out.extend(p.warnings.iter().cloned());
    out.extend(p.history.iter().map(|a| format!("answer {}", a.describe())));
    if p.target.is_none() {
        out.push("untranslated".into());
    }
    out.join("; ")
}

fn flat(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn cell_start(x: &mut XmlOut, width: &str) {
    x.open("w:tc", &[]);
    x.open("w:tcPr", &[]);
    x.empty("w:tcW", &[("w:w", width), ("w:type", "dxa")]);
    x.close("w:tcPr");
}

fn latin_run(x: &mut XmlOut, text: &str, bold: bool) {
    run(x, text, bold, false, false);
}

fn run(x: &mut XmlOut, text: &str, bold: bool, italic: bool, underline: bool) {
    x.open("w:r", &[]);
    x.open("w:rPr", &[]);
    x.empty(
        "w:rFonts",
        &[
            ("w:ascii", LATIN_FONT),
            ("w:hAnsi", LATIN_FONT),
            ("w:cs", ARABIC_FONT),
        ],
    );
    if bold {
        x.empty("w:b", &[]);
    }
    if italic {
        x.empty("w:i", &[]);
    }
    if underline {
        x.empty("w:u", &[("w:val", "single")]);
    }
    x.empty("w:lang", &[("w:val", "en-GB")]);
    x.close("w:rPr");
    x.element("w:t", &[("xml:space", "preserve")], text);
    x.close("w:r");
}

fn arabic_run(x: &mut XmlOut, text: &str) {
    source_run(x, text, true);
}

/// A run of the source text: Arabic font and language always; right to
/// left unless the source marks its paragraph left to right.
fn source_run(x: &mut XmlOut, text: &str, rtl: bool) {
    x.open("w:r", &[]);
    x.open("w:rPr", &[]);
    x.empty(
        "w:rFonts",
        &[
            ("w:ascii", ARABIC_FONT),
            ("w:hAnsi", ARABIC_FONT),
            ("w:cs", ARABIC_FONT),
        ],
    );
    if rtl {
        x.empty("w:rtl", &[]);
    }
    x.empty("w:lang", &[("w:val", "ar-SA"), ("w:bidi", "ar-SA")]);
    x.close("w:rPr");
    x.element("w:t", &[("xml:space", "preserve")], text);
    x.close("w:r");
}

/// A4, landscape for the table.
fn section(x: &mut XmlOut, landscape: bool) {
    x.open("w:sectPr", &[]);
    if landscape {
        x.empty(
            "w:pgSz",
            &[
                ("w:w", "16838"),
                ("w:h", "11906"),
                ("w:orient", "landscape"),
            ],
        );
    } else {
        x.empty("w:pgSz", &[("w:w", "11906"), ("w:h", "16838")]);
    }
    x.empty(
        "w:pgMar",
        &[
            ("w:top", "1134"),
            ("w:right", "1134"),
            ("w:bottom", "1134"),
            ("w:left", "1134"),
            ("w:header", "709"),
            ("w:footer", "709"),
            ("w:gutter", "0"),
        ],
    );
    x.close("w:sectPr");
}

fn styles() -> Vec<u8> {
    let mut x = XmlOut::new();
    x.open("w:styles", &[("xmlns:w", W)]);
    x.open(
        "w:style",
        &[
            ("w:type", "paragraph"),
            ("w:default", "1"),
            ("w:styleId", "Normal"),
        ],
    );
    x.empty("w:name", &[("w:val", "Normal")]);
    x.open("w:pPr", &[]);
    x.empty("w:spacing", &[("w:after", "120")]);
    x.close("w:pPr");
    x.open("w:rPr", &[]);
    x.empty("w:sz", &[("w:val", "22")]);
    x.empty("w:szCs", &[("w:val", "24")]);
    x.close("w:rPr");
    x.close("w:style");
    for (n, size) in [(1, "32"), (2, "28"), (3, "24")] {
        x.open(
            "w:style",
            &[
                ("w:type", "paragraph"),
                ("w:styleId", &format!("Heading{n}")),
            ],
        );
        x.empty("w:name", &[("w:val", &format!("heading {n}"))]);
        x.empty("w:basedOn", &[("w:val", "Normal")]);
        x.empty("w:next", &[("w:val", "Normal")]);
        x.open("w:pPr", &[]);
        x.empty("w:keepNext", &[]);
        x.empty("w:outlineLvl", &[("w:val", &(n - 1).to_string())]);
        x.close("w:pPr");
        x.open("w:rPr", &[]);
        x.empty("w:b", &[]);
        x.empty("w:bCs", &[]);
        x.empty("w:sz", &[("w:val", size)]);
        x.empty("w:szCs", &[("w:val", size)]);
        x.close("w:rPr");
        x.close("w:style");
    }
    x.close("w:styles");
    x.finish()
}

fn core(doc: &Bitext) -> Vec<u8> {
    let mut x = XmlOut::new();
    x.open(
        "cp:coreProperties",
        &[
            (
                "xmlns:cp",
                "http://schemas.openxmlformats.org/package/2006/metadata/core-properties",
            ),
            ("xmlns:dc", "http://purl.org/dc/elements/1.1/"),
            ("xmlns:dcterms", "http://purl.org/dc/terms/"),
        ],
    );
    if let Some(t) = &doc.meta.title {
        x.element("dc:title", &[], t);
    }
    if let Some(s) = doc
        .meta
        .source_path
        .as_ref()
        .or(doc.meta.source_name.as_ref())
    {
        x.element("dc:source", &[], s);
        x.element("dc:identifier", &[], s);
    }
    x.element("dc:language", &[], "en");
    x.element(
        "dc:creator",
        &[],
        &format!("tarjama {}", env!("CARGO_PKG_VERSION")),
    );
    x.close("cp:coreProperties");
    x.finish()
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>
<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>
</Types>
"#;

const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>
</Relationships>
"#;

/// The document's relationships: its styles, and its links (external).
fn doc_rels(links: &[String]) -> Vec<u8> {
    let mut x = XmlOut::new();
    x.open(
        "Relationships",
        &[(
            "xmlns",
            "http://schemas.openxmlformats.org/package/2006/relationships",
        )],
    );
    x.empty(
        "Relationship",
        &[
            ("Id", "rId1"),
            (
                "Type",
                "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles",
            ),
            ("Target", "styles.xml"),
        ],
    );
    for (i, l) in links.iter().enumerate() {
        if l.starts_with('#') {
            continue;
        }
        x.empty(
            "Relationship",
            &[
                ("Id", &link_id(i)),
                (
                    "Type",
                    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink",
                ),
                ("Target", l),
                ("TargetMode", "External"),
            ],
        );
    }
    x.close("Relationships");
    x.finish()
}

fn package(doc: &Bitext, document: Vec<u8>) -> Result<Vec<u8>, OutputError> {
    package_with(doc, document, &[])
}

fn package_with(doc: &Bitext, document: Vec<u8>, links: &[String]) -> Result<Vec<u8>, OutputError> {
    let io = |e: std::io::Error| OutputError::Io {
        path: "the Word file being built".into(),
        error: e,
    };
    let zerr = |e: zip::result::ZipError| io(std::io::Error::other(e));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let parts: [(&str, Vec<u8>); 6] = [
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes().to_vec()),
        ("_rels/.rels", RELS.as_bytes().to_vec()),
        ("docProps/core.xml", core(doc)),
        ("word/_rels/document.xml.rels", doc_rels(links)),
        ("word/document.xml", document),
        ("word/styles.xml", styles()),
    ];
    for (name, bytes) in parts {
        zip.start_file(name, opts).map_err(zerr)?;
        zip.write_all(&bytes).map_err(io)?;
    }
    Ok(zip.finish().map_err(zerr)?.into_inner())
}

/// One row of an edited bilingual table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRow {
    /// 1-based row number in the table (the header is row 1).
    pub row: usize,
    pub id: String,
    pub source: String,
    pub target: Option<String>,
}

/// The rows of a bilingual table as the reviewer left it (the English
/// column as edited), from the `.docx` bytes.
pub fn read_table(name: &str, bytes: &[u8]) -> Result<Vec<TableRow>, ReadError> {
    use crate::input::docx;
    let conv = |e: crate::input::InputError| {
        let m = e.to_string();
        let m = m
            .strip_prefix(&format!("{name}: "))
            .unwrap_or(&m)
            .to_string();
        ReadError::new(name, None, m)
    };
    let mut zip = docx::open(name, bytes).map_err(conv)?;
    let body = docx::part(name, &mut zip, "word/document.xml")
        .map_err(conv)?
        .ok_or_else(|| ReadError::new(name, None, "no word/document.xml in the archive"))?;
    let root = docx::parse(name, "word/document.xml", &body).map_err(conv)?;
    let mut tables = Vec::new();
    root.descendants("tbl", &mut tables);
    let table = tables.into_iter().find(|t| {
        t.elements()
            .find(|r| r.name == "tr")
            .is_some_and(|r| cells(r).first().map(String::as_str) == Some("Segment"))
    });
    let Some(table) = table else {
        return Err(ReadError::new(
            name,
            None,
            "no bilingual table (a table whose first header cell is `Segment`); give the file `--to docx-table` wrote",
        ));
    };
    let mut out = Vec::new();
    for (i, r) in table
        .elements()
        .filter(|r| r.name == "tr")
        .enumerate()
        .skip(1)
    {
        let c = cells(r);
        if c.len() < 3 {
            return Err(ReadError::new(
                name,
                Some(i + 1),
                format!(
                    "table row {} has {} cells; expected Segment, Arabic, English, Notes",
                    i + 1,
                    c.len()
                ),
            ));
        }
        out.push(TableRow {
            row: i + 1,
            id: c[0].trim().to_string(),
            source: c[1].trim().to_string(),
            target: Some(c[2].trim().to_string()).filter(|t| !t.is_empty()),
        });
    }
    Ok(out)
}

/// The text of each cell of a row (paragraphs joined by spaces).
fn cells(row: &crate::xml::Element) -> Vec<String> {
    row.elements()
        .filter(|c| c.name == "tc")
        .map(|c| {
            let mut ps = Vec::new();
            c.descendants("p", &mut ps);
            ps.iter()
                .map(|p| {
                    let mut ts = Vec::new();
                    p.descendants("t", &mut ts);
                    ts.iter().map(|t| t.text_skipping(&[])).collect::<String>()
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DocMeta, Origin};

    fn doc(target: &str, marked: Option<&str>) -> Bitext {
        Bitext {
            meta: DocMeta::default(),
            pairs: vec![AlignedPair {
                id: "p1s1".into(),
                para: 1,
                source: "قال الرئيس".into(),
                target: Some(target.into()),
                origin: Origin::Mt,
                terms: vec![],
                warnings: vec![],
                suggestions: vec![],
                start: 0,
                end: 10,
                formats: vec![
                    InlineFormat {
                        bold: true,
                        ..InlineFormat::default()
                    },
                    InlineFormat {
                        italic: true,
                        link: Some("https://x.test/?a=1&b=2".into()),
                        ..InlineFormat::default()
                    },
                ],
                marked: marked.map(Into::into),
                history: Vec::new(),
            }],
        }
    }

    fn part(bytes: &[u8], name: &str) -> String {
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut s = String::new();
        std::io::Read::read_to_string(&mut z.by_name(name).unwrap(), &mut s).unwrap();
        s
    }

    #[test]
    fn marked_english_gets_runs_and_a_hyperlink_and_a_stale_one_is_ignored() {
        let d = doc(
            "The President said so",
            Some("The ⟦1⟧President⟦/1⟧ said ⟦2⟧so⟦/2⟧"),
        );
        let bytes = render_document(&d).unwrap();
        let body = part(&bytes, "word/document.xml");
        let rels = part(&bytes, "word/_rels/document.xml.rels");
        let runs: Vec<&str> = body.split("<w:r>").skip(1).collect();
        assert_eq!(runs.len(), 4, "{body}");
        assert!(runs[0].contains(">The </w:t>") && !runs[0].contains("<w:b/>"));
        assert!(runs[1].contains("<w:b/>") && runs[1].contains(">President</w:t>"));
        assert!(runs[2].contains("> said </w:t>") && !runs[2].contains("<w:b/>"));
        assert!(runs[3].contains("<w:i/>") && runs[3].contains("<w:u w:val=\"single\"/>"));
        assert!(body.contains("<w:hyperlink r:id=\"rIdLink1\">"), "{body}");
        assert!(
            rels.contains("Id=\"rIdLink1\"")
                && rels.contains("Target=\"https://x.test/?a=1&amp;b=2\"")
                && rels.contains("TargetMode=\"External\""),
            "{rels}"
        );
        assert!(!body.contains('⟦'));
        // the reviewer rewrote the English: the machine's marks do not apply
        let d = doc("He said it", Some("The ⟦1⟧President⟦/1⟧ said ⟦2⟧so⟦/2⟧"));
        let body = part(&render_document(&d).unwrap(), "word/document.xml");
        assert!(body.contains(">He said it</w:t>"), "{body}");
        assert!(
            !body.contains("<w:b/>") && !body.contains("hyperlink"),
            "{body}"
        );
        let table = part(&render_table(&d).unwrap(), "word/document.xml");
        assert!(table.contains(">He said it</w:t>"), "{table}");
    }
}
