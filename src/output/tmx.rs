/*!
TMX 1.4b, the translation-memory exchange format every CAT tool imports:
one `<tu>` per translated segment with the Arabic and English `<tuv>`s, the
segment id as `tuid`, where the English came from as a `x-origin` property
and warnings as notes. Untranslated segments are left out: a unit with one
language is of no use to a memory.
*/

use super::xml::XmlOut;
use crate::model::Bitext;

/// `2026-11-29T10:32:00Z` (RFC 3339, UTC) as TMX's `20261129T103200Z`.
fn tmx_date(rfc3339: &str) -> Option<String> {
    let digits: String = rfc3339
        .chars()
        .take(19)
        .filter(|c| c.is_ascii_digit())
        .collect();
    let utc = rfc3339.ends_with('Z') || rfc3339.ends_with("+00:00");
    (digits.len() == 14 && utc).then(|| format!("{}T{}Z", &digits[..8], &digits[8..]))
}

/// The document as TMX 1.4b.
pub fn render(doc: &Bitext) -> Vec<u8> {
    let src = doc.meta.source_lang.as_deref().unwrap_or("ar");
    let tgt = doc.meta.target_lang.as_deref().unwrap_or("en");
    let mut x = XmlOut::new();
    x.open("tmx", &[("version", "1.4")]);
    let date = doc.meta.created.as_deref().and_then(tmx_date);
    let mut header = vec![
        ("creationtool", "tarjama"),
        ("creationtoolversion", env!("CARGO_PKG_VERSION")),
        ("segtype", "sentence"),
        ("o-tmf", "tarjama"),
        ("adminlang", "en"),
        ("srclang", src),
        ("datatype", "plaintext"),
    ];
    if let Some(d) = &date {
        header.push(("creationdate", d));
    }
    x.empty("header", &header);
    x.open("body", &[]);
    let document = doc.meta.source_name.clone();
    for p in &doc.pairs {
        let Some(target) = &p.target else { continue };
        x.open("tu", &[("tuid", &p.id)]);
        x.element("prop", &[("type", "x-origin")], p.origin.as_str());
        if let Some(d) = &document {
            x.element("prop", &[("type", "x-document")], d);
        }
        for w in &p.warnings {
            x.element("note", &[], w);
        }
        x.open("tuv", &[("xml:lang", src)]);
        x.element("seg", &[], &p.source);
        x.close("tuv");
        x.open("tuv", &[("xml:lang", tgt)]);
        x.element("seg", &[], target);
        x.close("tuv");
        x.close("tu");
    }
    x.close("body");
    x.close("tmx");
    x.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AlignedPair, Origin};

    #[test]
    fn dates_convert_only_from_utc() {
        assert_eq!(
            tmx_date("2026-11-29T10:32:05Z").as_deref(),
            Some("20261129T103205Z")
        );
        assert_eq!(
            tmx_date("2026-11-29T10:32:05.123+00:00").as_deref(),
            Some("20261129T103205Z")
        );
        assert_eq!(tmx_date("2026-11-29T10:32:05+03:00"), None);
        assert_eq!(tmx_date("yesterday"), None);
    }

    #[test]
    fn translated_pairs_become_units() {
        let mk = |id: &str, tgt: Option<&str>| AlignedPair {
            id: id.into(),
            para: 1,
            source: "نص & <".into(),
            target: tgt.map(Into::into),
            origin: Origin::Human,
            terms: vec![],
            warnings: vec![],
            suggestions: vec![],
            start: 0,
            end: 0,
        };
        let doc = Bitext {
            meta: Default::default(),
            pairs: vec![mk("p1s1", Some("Text \u{0}& <")), mk("p1s2", None)],
        };
        let s = String::from_utf8(render(&doc)).unwrap();
        assert!(s.contains(r#"srclang="ar""#));
        assert!(s.contains(r#"<tu tuid="p1s1">"#));
        assert!(!s.contains("p1s2"));
        assert!(s.contains("<prop type=\"x-origin\">human</prop>"));
        assert!(
            s.contains("<tuv xml:lang=\"ar\">\n        <seg>نص &amp; &lt;</seg>"),
            "{s}"
        );
        assert!(s.contains("<seg>Text &amp; &lt;</seg>"), "{s}");
    }
}
