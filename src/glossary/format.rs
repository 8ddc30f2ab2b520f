/*!
Glossary import and export: CSV, OmegaT, DeepL and TBX.

Translators already have glossaries in their CAT tool or MT account, and
want tarjama's back there. TSV stays the master copy; these converters map
its columns onto each format and back:

| format      | layout                                         | kept                      |
|-------------|------------------------------------------------|---------------------------|
| `tsv`       | tarjama's own, header line                     | everything                |
| `csv`       | header `source,target,variants,kind,forbidden,note` (a headerless CSV is read as source,target,note) | everything |
| `omegat`    | headerless `source<TAB>target<TAB>comment`     | source, target, variants, note |
| `deepl-tsv` | headerless `source<TAB>target` (DeepL entries) | source, target, variants  |
| `deepl-csv` | headerless `source,target` (DeepL entries)     | source, target, variants  |
| `tbx`       | TBX-Basic (TBX 2, `martif`), read by OmegaT and Okapi; TBX v3 (`conceptEntry`) is read too | everything but notes on terms |

Formats with one line per spelling (OmegaT, DeepL) write each variant as its
own line right after the entry, with the same target; reading them back,
consecutive lines with the same target (and no comment of their own) become
one entry with variants. In TBX, Arabic terms after the first are variants,
English terms marked deprecated are the forbidden renderings, and the kind is
the entry's `subjectField`.
*/

use std::path::Path;

use crate::xml::{Ev, Events, XmlOut};

use super::{COLUMNS, CONTEXT_COLUMNS, Entry, GlossaryError, split_list};

/// A glossary format tarjama reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Tsv,
    Csv,
    Omegat,
    DeeplTsv,
    DeeplCsv,
    Tbx,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::Tsv,
        Format::Csv,
        Format::Omegat,
        Format::DeeplTsv,
        Format::DeeplCsv,
        Format::Tbx,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Tsv => "tsv",
            Format::Csv => "csv",
            Format::Omegat => "omegat",
            Format::DeeplTsv => "deepl-tsv",
            Format::DeeplCsv => "deepl-csv",
            Format::Tbx => "tbx",
        }
    }

    /// The format a file name suggests (`.tbx`, `.csv`, `.tsv`, and OmegaT's
    /// `.txt`/`.tab`/`.utf8`).
    pub fn guess(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_lowercase();
        Some(match ext.as_str() {
            "tbx" | "xml" => Format::Tbx,
            "csv" => Format::Csv,
            "tsv" => Format::Tsv,
            "txt" | "tab" | "utf8" => Format::Omegat,
            _ => return None,
        })
    }
}

/// A cell safe for one-line formats: control characters become spaces,
/// runs of spaces are folded, ends trimmed.
fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether any entry has a `not_in` or `ambiguous` value to write.
fn uses_context(entries: &[Entry]) -> bool {
    entries.iter().any(|e| !e.not_in.is_empty() || e.ambiguous)
}

/// An entry's cells as written, in the order of [`COLUMNS`] (then of
/// [`CONTEXT_COLUMNS`] with `context`).
pub(crate) fn row_cells(e: &Entry, context: bool) -> Vec<String> {
    let mut rec = vec![
        e.source.clone(),
        e.target.clone(),
        e.variants.join("|"),
        e.kind.clone().unwrap_or_default(),
        e.forbidden.join("|"),
        e.note.clone().unwrap_or_default(),
    ];
    if context {
        rec.extend(context_cells(e));
    }
    rec
}

/// The `not_in` and `ambiguous` cells of an entry.
fn context_cells(e: &Entry) -> [String; 2] {
    [
        e.not_in
            .iter()
            .map(|v| one_line(v))
            .collect::<Vec<_>>()
            .join("|"),
        if e.ambiguous { "yes" } else { "" }.to_string(),
    ]
}

/// Write entries in `format`.
pub fn export(entries: &[Entry], format: Format) -> Result<String, GlossaryError> {
    Ok(match format {
        Format::Tsv => {
            let context = uses_context(entries);
            let mut out = COLUMNS.join("\t");
            if context {
                out.push('\t');
                out.push_str(&CONTEXT_COLUMNS.join("\t"));
            }
            out.push('\n');
            for e in entries {
                let mut cells = vec![
                    one_line(&e.source),
                    one_line(&e.target),
                    e.variants
                        .iter()
                        .map(|v| one_line(v))
                        .collect::<Vec<_>>()
                        .join("|"),
                    one_line(e.kind.as_deref().unwrap_or("")),
                    e.forbidden
                        .iter()
                        .map(|v| one_line(v))
                        .collect::<Vec<_>>()
                        .join("|"),
                    one_line(e.note.as_deref().unwrap_or("")),
                ];
                if context {
                    cells.extend(context_cells(e));
                }
                out.push_str(&cells.join("\t"));
                out.push('\n');
            }
            out
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let io = |e: csv::Error| GlossaryError::Format {
                path: "<csv>".into(),
                message: e.to_string(),
            };
            let context = uses_context(entries);
            let mut header: Vec<&str> = COLUMNS.to_vec();
            if context {
                header.extend(CONTEXT_COLUMNS);
            }
            w.write_record(&header).map_err(io)?;
            for e in entries {
                w.write_record(row_cells(e, context)).map_err(io)?;
            }
            String::from_utf8(w.into_inner().map_err(|e| io(e.into_error().into()))?)
                .expect("csv of strings is UTF-8")
        }
        Format::Omegat | Format::DeeplTsv | Format::DeeplCsv => {
            let mut out = String::new();
            let mut seen = std::collections::HashSet::new();
            for e in entries {
                let target = one_line(&e.target);
                for (i, form) in e.forms().enumerate() {
                    let form = one_line(form);
                    // DeepL refuses duplicate sources; OmegaT gains nothing
                    if form.is_empty() || !seen.insert(form.clone()) {
                        continue;
                    }
                    match format {
                        Format::Omegat => {
                            let note = if i == 0 {
                                one_line(e.note.as_deref().unwrap_or(""))
                            } else {
                                String::new()
                            };
                            out.push_str(&format!("{form}\t{target}"));
                            if !note.is_empty() {
                                out.push('\t');
                                out.push_str(&note);
                            }
                            out.push('\n');
                        }
                        Format::DeeplTsv => out.push_str(&format!("{form}\t{target}\n")),
                        _ => out.push_str(&format!("{},{}\n", csv_cell(&form), csv_cell(&target))),
                    }
                }
            }
            out
        }
        Format::Tbx => write_tbx(entries),
    })
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Read entries from `text` (named `name` in messages) in `format`.
pub fn import(text: &str, name: &str, format: Format) -> Result<Vec<Entry>, GlossaryError> {
    import_with(text, name, format, None)
}

/// [`import`], with the columns of a TSV or CSV file named in order
/// (`--columns source,target,-,note`; `-` skips a column) instead of read
/// from its header.
pub fn import_with(
    text: &str,
    name: &str,
    format: Format,
    columns: Option<&[String]>,
) -> Result<Vec<Entry>, GlossaryError> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let err = |line: usize, message: String| GlossaryError::Format {
        path: if line > 0 {
            format!("{name}:{line}")
        } else {
            name.to_string()
        },
        message,
    };
    match format {
        Format::Tsv => {
            let mut records = Vec::new();
            for (n, line) in super::lines(text) {
                if super::is_skipped(line) {
                    continue;
                }
                let cells = super::split_cells(line, '\t').map_err(|m| err(n, m))?;
                records.push((n, cells));
            }
            from_records(records, columns, &err)
        }
        Format::Csv => {
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(text.as_bytes());
            let mut records = Vec::new();
            for rec in r.records() {
                let rec = rec.map_err(|e| err(0, e.to_string()))?;
                let line = rec.position().map_or(0, |p| p.line() as usize);
                let cells: Vec<String> = rec.iter().map(str::to_string).collect();
                if cells.len() == 1 && super::is_skipped(&cells[0]) {
                    continue;
                }
                records.push((line, cells));
            }
            from_records(records, columns, &err)
        }
        Format::Omegat | Format::DeeplTsv | Format::DeeplCsv => {
            let mut rows: Vec<(usize, Vec<String>)> = Vec::new();
            if format == Format::DeeplCsv {
                let mut r = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(text.as_bytes());
                for rec in r.records() {
                    let rec = rec.map_err(|e| err(0, e.to_string()))?;
                    let line = rec.position().map_or(0, |p| p.line() as usize);
                    rows.push((line, rec.iter().map(str::to_string).collect()));
                }
            } else {
                for (n, line) in super::lines(text) {
                    if super::is_skipped(line) {
                        continue;
                    }
                    rows.push((n, line.split('\t').map(str::to_string).collect()));
                }
            }
            let mut out: Vec<Entry> = Vec::new();
            for (line, cells) in rows {
                let cell = |i: usize| cells.get(i).map_or("", |s| s.trim());
                let (source, target) = (cell(0), cell(1));
                if source.is_empty() || target.is_empty() {
                    return Err(err(
                        line,
                        "a source and a target are needed on every line".into(),
                    ));
                }
                let note = if format == Format::Omegat {
                    cell(2)
                } else {
                    ""
                };
                match out.last_mut() {
                    Some(prev) if prev.target == target && note.is_empty() => {
                        prev.variants.push(source.to_string())
                    }
                    _ => {
                        let mut e = Entry::new(source, target);
                        e.note = (!note.is_empty()).then(|| note.to_string());
                        out.push(e);
                    }
                }
            }
            Ok(out)
        }
        Format::Tbx => read_tbx(text).map_err(|(line, m)| err(line.unwrap_or(0), m)),
    }
}

fn has_arabic(cells: &[String]) -> bool {
    cells
        .iter()
        .any(|c| c.chars().any(crate::normalize::is_arabic_letter))
}

/// The column each position means, from `--columns` names or a header row.
fn column_map(names: &[String], from_flag: bool) -> Result<Vec<Option<&'static str>>, String> {
    let mut map = Vec::with_capacity(names.len());
    for n in names {
        let t = n.trim();
        if t.is_empty() || t == "-" {
            map.push(None);
            continue;
        }
        match super::canonical_column(t) {
            Some(c) if map.contains(&Some(c)) => {
                return Err(format!("two columns mean `{c}` (`{t}` is the second)"));
            }
            Some(c) => map.push(Some(c)),
            None => {
                return Err(format!(
                    "{} `{t}` is not a column tarjama knows (source/ar/arabic, target/en/english, variants, kind, forbidden, note/comment, not_in, ambiguous){}",
                    if from_flag {
                        "--columns:"
                    } else {
                        "the header column"
                    },
                    if from_flag {
                        ""
                    } else {
                        "; rename it, or name every column with --columns (`-` skips one)"
                    }
                ));
            }
        }
    }
    for need in ["source", "target"] {
        if !map.contains(&Some(need)) {
            return Err(format!(
                "no `{need}` column in {}{}",
                if from_flag {
                    "--columns".to_string()
                } else {
                    format!("the header `{}`", names.join(","))
                },
                if from_flag {
                    ""
                } else {
                    "; name the columns with --columns"
                }
            ));
        }
    }
    Ok(map)
}

/// Entries from TSV or CSV records: the first record is a header when it
/// names known columns or has no Arabic in it (then it must map); a file
/// whose first row is Arabic data has the columns source, target, note.
fn from_records(
    records: Vec<(usize, Vec<String>)>,
    columns: Option<&[String]>,
    err: &dyn Fn(usize, String) -> GlossaryError,
) -> Result<Vec<Entry>, GlossaryError> {
    let mut out = Vec::new();
    let Some((first_line, first)) = records.first() else {
        return Ok(out);
    };
    let (map, skip_first) = match columns {
        Some(c) => (
            column_map(c, true).map_err(|m| err(0, m))?,
            !has_arabic(first),
        ),
        None => {
            let names_known = first.iter().any(|c| super::canonical_column(c).is_some());
            if names_known || !has_arabic(first) {
                (
                    column_map(first, false).map_err(|m| err(*first_line, m))?,
                    true,
                )
            } else {
                (vec![Some("source"), Some("target"), Some("note")], false)
            }
        }
    };
    for (line, cells) in records.iter().skip(usize::from(skip_first)) {
        let line = *line;
        let get = |col: &str| {
            map.iter()
                .position(|c| *c == Some(col))
                .and_then(|i| cells.get(i))
                .map_or("", |s| s.trim())
        };
        let (source, target) = (get("source"), get("target"));
        if source.is_empty() && target.is_empty() {
            continue;
        }
        if source.is_empty() || target.is_empty() {
            return Err(err(
                line,
                "a source and a target are needed on every row".into(),
            ));
        }
        let mut e = Entry::new(&one_line(source), &one_line(target));
        e.variants = split_list(&one_line(get("variants")));
        e.kind = Some(get("kind").to_lowercase()).filter(|k| !k.is_empty());
        e.forbidden = split_list(&one_line(get("forbidden")));
        e.note = Some(one_line(get("note"))).filter(|n| !n.is_empty());
        e.not_in = split_list(&one_line(get("not_in")));
        e.ambiguous = super::parse_flag(get("ambiguous")).map_err(|m| err(line, m))?;
        out.push(e);
    }
    Ok(out)
}

const PREFERRED: &str = "preferredTerm-admn-sts";
const ADMITTED: &str = "admittedTerm-admn-sts";
const DEPRECATED: &str = "deprecatedTerm-admn-sts";

fn write_tbx(entries: &[Entry]) -> String {
    let mut x = XmlOut::new();
    x.doctype("martif", "TBXcoreStructV02.dtd");
    x.open("martif", &[("type", "TBX"), ("xml:lang", "en")]);
    x.open("martifHeader", &[]);
    x.open("fileDesc", &[]);
    x.open("sourceDesc", &[]);
    x.element("p", &[], "tarjama glossary");
    x.close("sourceDesc");
    x.close("fileDesc");
    x.close("martifHeader");
    x.open("text", &[]);
    x.open("body", &[]);
    for (i, e) in entries.iter().enumerate() {
        write_entry(&mut x, i + 1, e);
    }
    x.close("body");
    x.close("text");
    x.close("martif");
    String::from_utf8(x.finish()).expect("UTF-8 XML")
}

fn write_entry(x: &mut XmlOut, n: usize, e: &Entry) {
    let id = format!("t{n}");
    x.open("termEntry", &[("id", id.as_str())]);
    if let Some(k) = &e.kind {
        x.element("descrip", &[("type", "subjectField")], k);
    }
    if let Some(note) = &e.note {
        x.element("note", &[], note);
    }
    let ar: Vec<(&str, &str)> = e
        .forms()
        .enumerate()
        .map(|(i, f)| (f, if i == 0 { PREFERRED } else { ADMITTED }))
        .collect();
    let en: Vec<(&str, &str)> = std::iter::once((e.target.as_str(), PREFERRED))
        .chain(e.forbidden.iter().map(|f| (f.as_str(), DEPRECATED)))
        .collect();
    for (lang, terms) in [("ar", ar), ("en", en)] {
        x.open("langSet", &[("xml:lang", lang)]);
        for (term, status) in &terms {
            x.open("tig", &[]);
            x.element("term", &[], term);
            x.element("termNote", &[("type", "administrativeStatus")], status);
            x.close("tig");
        }
        x.close("langSet");
    }
    x.close("termEntry");
}

#[derive(Default)]
struct TbxEntry {
    kind: Option<String>,
    note: Option<String>,
    /// (language, term, status)
    terms: Vec<(String, String, String)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Capture {
    None,
    Term,
    Status,
    Kind,
    Note,
}

fn read_tbx(text: &str) -> Result<Vec<Entry>, (Option<usize>, String)> {
    let mut events = Events::new(text);
    let mut out = Vec::new();
    let mut entry: Option<TbxEntry> = None;
    let mut lang = String::new();
    let mut term = String::new();
    let mut status = String::new();
    let mut in_term_group = false;
    let mut capture = Capture::None;
    let mut buf = String::new();
    // Names of the open elements.
    let mut open: Vec<String> = Vec::new();
    while let Some(ev) = events.next()? {
        match ev {
            Ev::Start(s) => {
                let attr = |want: &str| -> Option<String> {
                    s.attrs.iter().find_map(|(k, v)| {
                        (k == want || k.rsplit(':').next() == Some(want)).then(|| v.clone())
                    })
                };
                match s.name.as_str() {
                    "termEntry" | "conceptEntry" => entry = Some(TbxEntry::default()),
                    "langSet" | "langSec" => lang = attr("lang").unwrap_or_default().to_lowercase(),
                    "tig" | "ntig" | "termSec" => {
                        in_term_group = true;
                        term.clear();
                        status.clear();
                    }
                    "term" => capture = Capture::Term,
                    "termNote" => {
                        let t = attr("type").unwrap_or_default();
                        if t == "administrativeStatus" || t == "normativeAuthorization" {
                            capture = Capture::Status;
                        }
                    }
                    "descrip" if attr("type").as_deref() == Some("subjectField") => {
                        capture = Capture::Kind
                    }
                    "note" if !in_term_group => capture = Capture::Note,
                    _ => {}
                }
                if matches!(s.name.as_str(), "term" | "termNote" | "descrip" | "note") {
                    buf.clear();
                }
                open.push(s.name);
            }
            Ev::Text(t) if capture != Capture::None => buf.push_str(&t),
            Ev::Text(_) => {}
            Ev::End => {
                let name = open.pop().unwrap_or_default();
                let value = one_line(&buf);
                match (capture, name.as_str()) {
                    (Capture::Term, "term") => term = value,
                    (Capture::Status, "termNote") => status = value,
                    (Capture::Kind, "descrip") => {
                        if let Some(en) = entry.as_mut() {
                            en.kind = Some(value.to_lowercase()).filter(|k| !k.is_empty());
                        }
                    }
                    (Capture::Note, "note") => {
                        if let Some(en) = entry.as_mut() {
                            en.note = Some(value).filter(|n| !n.is_empty());
                        }
                    }
                    _ => {}
                }
                if matches!(name.as_str(), "term" | "termNote" | "descrip" | "note") {
                    capture = Capture::None;
                    buf.clear();
                }
                match name.as_str() {
                    "tig" | "ntig" | "termSec" => {
                        in_term_group = false;
                        if let Some(en) = entry.as_mut()
                            && !term.is_empty()
                        {
                            en.terms.push((lang.clone(), term.clone(), status.clone()));
                        }
                    }
                    "termEntry" | "conceptEntry" => {
                        if let Some(e) = entry.take().and_then(tbx_entry) {
                            out.push(e);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(out)
}

fn is_deprecated(status: &str) -> bool {
    let s = status.to_lowercase();
    ["deprecated", "notrecommended", "superseded", "obsolete"]
        .iter()
        .any(|d| s.contains(d))
}

/// An entry from a TBX concept: needs an Arabic and an English term.
fn tbx_entry(t: TbxEntry) -> Option<Entry> {
    let side = |p: &str| -> Vec<&(String, String, String)> {
        t.terms
            .iter()
            .filter(|(l, _, _)| l == p || l.starts_with(&format!("{p}-")))
            .collect()
    };
    let ar: Vec<&String> = side("ar")
        .into_iter()
        .filter(|x| !is_deprecated(&x.2))
        .map(|x| &x.1)
        .collect();
    let en = side("en");
    let target = en.iter().find(|x| !is_deprecated(&x.2))?;
    let mut e = Entry::new(ar.first()?, &target.1);
    e.variants = ar[1..].iter().map(|s| s.to_string()).collect();
    e.forbidden = en
        .iter()
        .filter(|x| is_deprecated(&x.2))
        .map(|x| x.1.clone())
        .collect();
    e.kind = t.kind;
    e.note = t.note;
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Entry> {
        let mut a = Entry::new("داعش خراسان", "Islamic State Khorasan (IS-K)");
        a.variants = vec!["ولاية خراسان".into()];
        a.kind = Some("org".into());
        a.forbidden = vec!["ISIS-K".into(), "Daesh <Khorasan> & co".into()];
        a.note = Some("Reuters, AP: \"Islamic State Khorasan\", a note, with commas".into());
        let mut b = Entry::new("ديمتري بيسكوف", "Dmitry Peskov");
        b.variants = vec!["ديمترى بيسكوف".into(), "دميتري بيسكوف".into()];
        b.kind = Some("person".into());
        let mut c = Entry::new("الكرملين", "the Kremlin");
        c.not_in = vec!["ساحة الكرملين".into(), "قصر \"الكرملين\"".into()];
        c.ambiguous = true;
        vec![a, b, c]
    }

    /// What a lossy format keeps.
    fn project(e: &[Entry], format: Format) -> Vec<Entry> {
        e.iter()
            .map(|e| {
                let mut e = e.clone();
                if matches!(format, Format::Omegat | Format::DeeplTsv | Format::DeeplCsv) {
                    e.kind = None;
                    e.forbidden.clear();
                }
                if matches!(format, Format::DeeplTsv | Format::DeeplCsv) {
                    e.note = None;
                }
                // only tarjama's own TSV and CSV carry the context columns
                if !matches!(format, Format::Tsv | Format::Csv) {
                    e.not_in.clear();
                    e.ambiguous = false;
                }
                e
            })
            .collect()
    }

    #[test]
    fn every_format_round_trips() {
        let entries = sample();
        for f in Format::ALL {
            let text = export(&entries, f).unwrap();
            let back =
                import(&text, "x", f).unwrap_or_else(|e| panic!("{}: {e}\n{text}", f.name()));
            assert_eq!(back, project(&entries, f), "{}\n{text}", f.name());
        }
    }

    #[test]
    fn tbx_is_escaped_and_shaped_for_omegat() {
        let text = export(&sample(), Format::Tbx).unwrap();
        assert!(text.contains("Daesh &lt;Khorasan&gt; &amp; co"), "{text}");
        assert!(text.contains("<langSet xml:lang=\"ar\">"));
        assert!(text.contains("<tig>"));
        assert!(text.contains("<martif type=\"TBX\""));
    }

    #[test]
    fn reads_tbx_v3_and_ntig() {
        let v3 = r#"<?xml version="1.0"?>
<tbx type="TBX-Basic" style="dca" xml:lang="en" xmlns="urn:iso:std:iso:30042:ed-2">
<text><body>
<conceptEntry id="c1">
 <langSec xml:lang="ar"><termSec><term>موسكو</term></termSec></langSec>
 <langSec xml:lang="en-GB"><termSec><term>Moskva</term>
   <termNote type="administrativeStatus">deprecatedTerm-admn-sts</termNote></termSec>
   <termSec><term>Moscow</term></termSec></langSec>
</conceptEntry>
<conceptEntry id="c2"><langSec xml:lang="fr"><termSec><term>x</term></termSec></langSec></conceptEntry>
</body></text></tbx>"#;
        let e = import(v3, "v3.tbx", Format::Tbx).unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].source, "موسكو");
        assert_eq!(e[0].target, "Moscow");
        assert_eq!(e[0].forbidden, vec!["Moskva"]);
        let ntig = r#"<martif type="TBX"><text><body><termEntry>
<langSet xml:lang="ar"><ntig><termGrp><term>كابول</term></termGrp></ntig></langSet>
<langSet xml:lang="en"><ntig><termGrp><term>Kabul &amp;#38; co&#x21;</term></termGrp></ntig></langSet>
</termEntry></body></text></martif>"#;
        let e = import(ntig, "n.tbx", Format::Tbx).unwrap();
        assert_eq!(e[0].target, "Kabul &#38; co!");
        let bad = import("<a></b>", "b.tbx", Format::Tbx)
            .unwrap_err()
            .to_string();
        assert!(bad.contains("b.tbx") && bad.contains("XML"), "{bad}");
    }

    #[test]
    fn headerless_csv_and_errors_name_the_line() {
        let e = import("روسيا,Russia,a note\nموسكو,Moscow\n", "g.csv", Format::Csv).unwrap();
        assert_eq!(e[0].note.as_deref(), Some("a note"));
        assert_eq!(e[1].target, "Moscow");
        let err = import("روسيا\tRussia\nموسكو\n", "g.txt", Format::Omegat)
            .unwrap_err()
            .to_string();
        assert!(err.contains("g.txt:2"), "{err}");
    }

    #[test]
    fn deepl_export_has_no_duplicate_sources_or_spaces() {
        let mut a = Entry::new(" روسيا ", "Russia");
        a.variants = vec!["روسيا".into()];
        let text = export(&[a], Format::DeeplTsv).unwrap();
        assert_eq!(text, "روسيا\tRussia\n");
    }
}
