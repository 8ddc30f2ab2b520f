/*!
TSV for review in a spreadsheet: columns `id`, `source`, `target`, `origin`,
`flags`, `post_edit`. The reviewer types the final English into `post_edit`
(or corrects `target` in place); `render` reads the file back.

Every record stays on one line: tab, line feed, carriage return and
backslash inside a cell are written as `\t`, `\n`, `\r` and `\\`, which the
reader reverses exactly. Cells containing a double quote are quoted the way
spreadsheet programs expect (`"..."` with inner quotes doubled), so that
LibreOffice and Excel show the quotes Arabic news is full of instead of
eating them, and so that a file they save back still reads correctly. An
optional UTF-8 BOM makes Excel pick the right encoding.
*/

use std::collections::HashMap;

use super::{ReadError, flags_of};
use crate::model::Bitext;

/// The column names, in order.
pub const COLUMNS: [&str; 6] = ["id", "source", "target", "origin", "flags", "post_edit"];

/// Escape a cell: backslash, tab, LF and CR become two-character escapes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// Reverse [`escape`]. A backslash before any other character is kept as it is.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.peek() {
            Some('\\') => out.push('\\'),
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            _ => {
                out.push('\\');
                continue;
            }
        }
        it.next();
    }
    out
}

/// Quote a cell for spreadsheet programs when it contains a double quote.
fn quote(s: String) -> String {
    if s.contains('"') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The document as TSV.
pub fn render(doc: &Bitext, bom: bool) -> String {
    let mut out = String::new();
    if bom {
        out.push('\u{feff}');
    }
    out.push_str(&COLUMNS.join("\t"));
    out.push('\n');
    for p in &doc.pairs {
        let cells = [
            escape(&p.id),
            escape(&p.source),
            escape(p.target.as_deref().unwrap_or("")),
            p.origin.as_str().to_string(),
            flags_of(p).join(","),
            String::new(),
        ];
        let cells: Vec<String> = cells.into_iter().map(quote).collect();
        out.push_str(&cells.join("\t"));
        out.push('\n');
    }
    out
}

/// One row of a reviewed TSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsvRow {
    /// 1-based line in the file.
    pub line: usize,
    pub id: String,
    pub source: String,
    /// The `target` cell (None when empty or absent).
    pub target: Option<String>,
    /// The `origin` cell, if the column is there.
    pub origin: Option<String>,
    /// The `post_edit` cell (None when empty or absent).
    pub post_edit: Option<String>,
}

/// Read a TSV file written by [`render`] (and possibly saved again by a
/// spreadsheet program). Columns are found by their header names; `id` and
/// `source` are required, and at least one of `target` or `post_edit`.
pub fn read(name: &str, text: &str) -> Result<Vec<TsvRow>, ReadError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .has_headers(true)
        .quoting(true)
        .double_quote(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| ReadError::new(name, Some(1), format!("cannot read the header line: {e}")))?
        .clone();
    let index: HashMap<String, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim().to_ascii_lowercase(), i))
        .collect();
    let col = |n: &str| index.get(n).copied();
    let (Some(id_col), Some(src_col)) = (col("id"), col("source")) else {
        return Err(ReadError::new(
            name,
            Some(1),
            format!(
                "the header must name the columns {}; found: {}",
                COLUMNS.join(", "),
                {
                    let found = headers.iter().collect::<Vec<_>>().join(", ");
                    if found.chars().count() > 80 {
                        format!("{}…", found.chars().take(80).collect::<String>())
                    } else {
                        found
                    }
                }
            ),
        ));
    };
    let (tgt_col, org_col, pe_col) = (col("target"), col("origin"), col("post_edit"));
    if tgt_col.is_none() && pe_col.is_none() {
        return Err(ReadError::new(
            name,
            Some(1),
            "the header has neither a `target` nor a `post_edit` column",
        ));
    }
    let mut rows = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line() as usize);
            let msg = match e.kind() {
                csv::ErrorKind::UnequalLengths {
                    expected_len, len, ..
                } => format!(
                    "{len} cells where the header has {expected_len}; a tab inside a cell must be written as \\t"
                ),
                _ => e.to_string(),
            };
            ReadError::new(name, line, msg)
        })?;
        let line = rec.position().map(|p| p.line() as usize).unwrap_or(0);
        let cell = |i: Option<usize>| i.and_then(|i| rec.get(i)).map(unescape);
        let nonempty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
        let id = cell(Some(id_col)).unwrap_or_default().trim().to_string();
        if id.is_empty() {
            if rec.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            return Err(ReadError::new(name, Some(line), "a row with an empty `id`"));
        }
        if let Some(first) = seen.insert(id.clone(), line) {
            return Err(ReadError::new(
                name,
                Some(line),
                format!("duplicate id `{id}` (first on line {first})"),
            ));
        }
        rows.push(TsvRow {
            line,
            id,
            source: cell(Some(src_col)).unwrap_or_default(),
            target: nonempty(cell(tgt_col)),
            origin: nonempty(cell(org_col)),
            post_edit: nonempty(cell(pe_col)),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AlignedPair, Origin};

    fn doc() -> Bitext {
        Bitext {
            meta: Default::default(),
            pairs: vec![
                AlignedPair {
                    id: "p1s1".into(),
                    para: 1,
                    source: "قال \"إيجابية\"\tثم\\n".into(),
                    target: Some("He said \"positive\"\nthen \\ done".into()),
                    origin: Origin::Mt,
                    terms: vec![],
                    warnings: vec!["w".into()],
                    suggestions: vec![],
                    start: 0,
                    end: 0,
                    formats: Vec::new(),
                    marked: None,
                    history: Vec::new(),
                },
                AlignedPair {
                    id: "p2s1".into(),
                    para: 2,
                    source: "شارك".into(),
                    target: None,
                    origin: Origin::None,
                    terms: vec![],
                    warnings: vec![],
                    suggestions: vec![],
                    start: 0,
                    end: 0,
                    formats: Vec::new(),
                    marked: None,
                    history: Vec::new(),
                },
            ],
        }
    }

    #[test]
    fn escape_round_trips() {
        for s in [
            "a\tb\nc\rd\\e",
            "\\n literal",
            "\\",
            "ends with \\",
            "\\\\t",
        ] {
            assert_eq!(unescape(&escape(s)), s, "{s:?}");
        }
        assert_eq!(escape("a\tb\n"), "a\\tb\\n");
    }

    #[test]
    fn one_line_per_record_and_round_trip() {
        let tsv = render(&doc(), false);
        assert_eq!(tsv.lines().count(), 3, "{tsv}");
        let mut lines = tsv.lines();
        assert_eq!(
            lines.next(),
            Some("id\tsource\ttarget\torigin\tflags\tpost_edit")
        );
        let row1 = lines.next().unwrap();
        assert_eq!(row1.split('\t').count(), 6);
        assert!(row1.contains("\"قال \"\"إيجابية\"\"\\tثم\\\\n\""), "{row1}");
        let rows = read("r.tsv", &tsv).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].source, doc().pairs[0].source);
        assert_eq!(rows[0].target, doc().pairs[0].target);
        assert_eq!(rows[0].origin.as_deref(), Some("mt"));
        assert_eq!(rows[0].post_edit, None);
        assert_eq!(rows[1].target, None);
        assert_eq!(rows[1].line, 3);
    }

    #[test]
    fn bom_and_crlf_and_post_edit_are_read() {
        let tsv = render(&doc(), true);
        assert!(tsv.starts_with('\u{feff}'));
        let edited = tsv
            .replace("\tnone\tuntranslated\t\n", "\tnone\tuntranslated\tShare\n")
            .replace('\n', "\r\n");
        let rows = read("r.tsv", &edited).unwrap();
        assert_eq!(rows[1].post_edit.as_deref(), Some("Share"));
    }

    #[test]
    fn bad_rows_name_the_line() {
        let e = read(
            "r.tsv",
            "id\tsource\ttarget\torigin\tflags\tpost_edit\np1\ta\tb\n",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(
            e.to_string().contains("3 cells where the header has 6"),
            "{e}"
        );
        let e = read("r.tsv", "foo\tbar\n").unwrap_err();
        assert!(
            e.to_string().starts_with("r.tsv:1: the header must name"),
            "{e}"
        );
        let dup = "id\tsource\tpost_edit\np1\ta\t\np1\tb\t\n";
        let e = read("r.tsv", dup).unwrap_err();
        assert!(
            e.to_string()
                .contains("r.tsv:3: duplicate id `p1` (first on line 2)"),
            "{e}"
        );
    }
}
