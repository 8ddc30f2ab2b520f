/*!
Markdown, for review in a repository, a wiki or a chat: a two-column table
(one row per segment) or, with the interleaved layout, each Arabic paragraph
as a quotation followed by its English.

Cells are escaped so that a translation can never break the table or inject
markup: pipes, backslashes and Markdown punctuation are backslash-escaped,
`<`, `>` and `&` become entities (many renderers pass raw HTML through), and
line breaks become `<br>`.
*/

use super::{Layout, flags_of};
use crate::model::{AlignedPair, Bitext};

/// The document as Markdown.
pub fn render(doc: &Bitext, layout: Layout) -> String {
    let mut out = String::new();
    let title = doc
        .meta
        .title
        .clone()
        .or_else(|| doc.pairs.first().map(|p| p.source.clone()))
        .unwrap_or_default();
    if !title.is_empty() {
        out.push_str(&format!("# {}\n\n", escape_inline(&title)));
    }
    let mut meta = Vec::new();
    if let Some(s) = &doc.meta.source_name {
        meta.push(format!("Source: {}", escape_inline(s)));
    }
    if let Some(b) = &doc.meta.backend {
        let model = doc
            .meta
            .model
            .as_deref()
            .map(|m| format!(" ({m})"))
            .unwrap_or_default();
        meta.push(format!(
            "Backend: {}",
            escape_inline(&format!("{b}{model}"))
        ));
    }
    if let Some(c) = &doc.meta.created {
        meta.push(format!("Created: {}", escape_inline(c)));
    }
    let translated = doc.pairs.iter().filter(|p| p.target.is_some()).count();
    meta.push(format!(
        "Segments: {} ({translated} translated)",
        doc.pairs.len()
    ));
    out.push_str(&meta.join(" · "));
    out.push_str("\n\n");
    match layout {
        Layout::Table => table(doc, &mut out),
        Layout::Interleaved => interleaved(doc, &mut out),
    }
    out
}

fn table(doc: &Bitext, out: &mut String) {
    out.push_str("| Arabic | English |\n| --- | --- |\n");
    for p in &doc.pairs {
        out.push_str("| ");
        out.push_str(&escape_cell(&p.source));
        out.push_str(" | ");
        out.push_str(&english_cell(p));
        out.push_str(" |\n");
    }
}

fn english_cell(p: &AlignedPair) -> String {
    let mut s = match &p.target {
        Some(t) => escape_cell(t),
        None => "*(untranslated)*".to_string(),
    };
    let flags = flags_of(p);
    if !flags.is_empty() {
        s.push_str(&format!("<br>*⚠ {}: {}*", p.id, flags.join(", ")));
    }
    s
}

fn interleaved(doc: &Bitext, out: &mut String) {
    let mut i = 0;
    while i < doc.pairs.len() {
        let para = doc.pairs[i].para;
        let mut j = i;
        while j < doc.pairs.len() && doc.pairs[j].para == para {
            j += 1;
        }
        let group = &doc.pairs[i..j];
        let ar: Vec<String> = group
            .iter()
            .map(|p| escape_inline(&flat(&p.source)))
            .collect();
        out.push_str("> ");
        out.push_str(&ar.join(" "));
        out.push_str("\n\n");
        let en: Vec<String> = group
            .iter()
            .map(|p| match &p.target {
                Some(t) => escape_inline(&flat(t)),
                None => format!("*(untranslated: {})*", p.id),
            })
            .collect();
        out.push_str(&en.join(" "));
        out.push_str("\n\n");
        i = j;
    }
}

fn flat(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Escape text for a table cell: inline escaping plus `<br>` for line breaks.
pub fn escape_cell(s: &str) -> String {
    let s = s.replace("\r\n", "\n").replace('\r', "\n");
    s.split('\n')
        .map(escape_inline)
        .collect::<Vec<_>>()
        .join("<br>")
}

/// Escape text that stays on one line.
pub fn escape_inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' | '<' | '>' => out.push_str(crate::xml::entity(c).unwrap_or_default()),
            '\\' | '|' | '*' | '_' | '`' | '[' | ']' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Origin;

    fn doc() -> Bitext {
        let mk = |id: &str, para, src: &str, tgt: Option<&str>| AlignedPair {
            id: id.into(),
            para,
            source: src.into(),
            target: tgt.map(Into::into),
            origin: Origin::Mt,
            terms: vec![],
            warnings: vec![],
            suggestions: vec![],
            start: 0,
            end: 0,
            formats: Vec::new(),
            marked: None,
            history: Vec::new(),
        };
        Bitext {
            meta: Default::default(),
            pairs: vec![
                mk("p1s1", 1, "عنوان", Some("A | B\nC <script>")),
                mk("p2s1", 2, "جملة.", Some("One.")),
                mk("p2s2", 2, "ثانية.", None),
            ],
        }
    }

    #[test]
    fn table_escapes_pipes_breaks_and_html() {
        let md = render(&doc(), Layout::Table);
        assert!(md.starts_with("# عنوان\n"), "{md}");
        assert!(
            md.contains("| عنوان | A \\| B<br>C &lt;script&gt; |\n"),
            "{md}"
        );
        assert!(
            md.contains("| ثانية. | *(untranslated)*<br>*⚠ p2s2: untranslated* |"),
            "{md}"
        );
        // Every table row has exactly the three unescaped pipes of two columns.
        for line in md.lines().filter(|l| l.starts_with('|')) {
            let bare = line.replace("\\|", "");
            assert_eq!(bare.matches('|').count(), 3, "{line}");
        }
    }

    #[test]
    fn interleaved_groups_paragraphs() {
        let md = render(&doc(), Layout::Interleaved);
        assert!(
            md.contains("> جملة. ثانية.\n\nOne. *(untranslated: p2s2)*\n\n"),
            "{md}"
        );
        assert!(!md.contains("| ---"), "{md}");
    }

    #[test]
    fn markdown_punctuation_is_literal() {
        assert_eq!(
            escape_inline("*a* _b_ [c](d) `e`"),
            "\\*a\\* \\_b\\_ \\[c\\](d) \\`e\\`"
        );
    }
}
