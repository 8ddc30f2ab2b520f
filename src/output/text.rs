/*!
The English alone: what a newsroom publishes once review is done.

Segments of one paragraph are joined with a space and paragraphs are
separated by a blank line, following the `para` numbers the segmenter gave,
so the article keeps its original shape. A segment without a translation is
not silently dropped: it leaves a visible `[untranslated: ID]` marker.
*/

use crate::model::Bitext;

/// The English text of the document.
pub fn render(doc: &Bitext) -> String {
    let mut out = String::new();
    let mut last_para = None;
    for pair in &doc.pairs {
        let piece = match pair.target.as_deref() {
            Some(t) => flatten(t),
            None => format!("[untranslated: {}]", pair.id),
        };
        if piece.is_empty() {
            continue;
        }
        match last_para {
            None => {}
            Some(p) if p == pair.para => out.push(' '),
            Some(_) => out.push_str("\n\n"),
        }
        out.push_str(&piece);
        last_para = Some(pair.para);
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// A segment's English on one line with single spaces.
fn flatten(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AlignedPair, Origin};

    fn pair(id: &str, para: usize, target: Option<&str>) -> AlignedPair {
        AlignedPair {
            id: id.into(),
            para,
            source: "س".into(),
            target: target.map(Into::into),
            origin: if target.is_some() {
                Origin::Mt
            } else {
                Origin::None
            },
            terms: vec![],
            warnings: vec![],
            suggestions: vec![],
            start: 0,
            end: 0,
            formats: Vec::new(),
            marked: None,
            history: Vec::new(),
        }
    }

    #[test]
    fn paragraphs_follow_para_numbers() {
        let doc = Bitext {
            meta: Default::default(),
            pairs: vec![
                pair("p1s1", 1, Some("Title")),
                pair("p2s1", 2, Some("One.")),
                pair("p2s2", 2, Some(" Two\nlines. ")),
                pair("p3s1", 3, None),
            ],
        };
        assert_eq!(
            render(&doc),
            "Title\n\nOne. Two lines.\n\n[untranslated: p3s1]\n"
        );
    }

    #[test]
    fn empty_document_is_empty() {
        assert_eq!(render(&Bitext::default()), "");
    }
}
