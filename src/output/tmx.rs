/*!
TMX 1.4b, the translation-memory exchange format every CAT tool imports,
through the project's TMX module ([`crate::tmx`]):
one `<tu>` per translated segment with the Arabic and English `<tuv>`s, the
segment id as `tuid`, where the English came from as a `x-origin` property
and warnings as notes. Untranslated segments are left out: a unit with one
language is of no use to a memory.
*/

use crate::memory::time;
use crate::model::Bitext;
use crate::tmx::{TmxError, TmxHeader, TmxUnit, write_tmx};

/// `2026-11-29T10:32:00Z` (RFC 3339, UTC) as TMX's `20261129T103200Z`,
/// through the one TMX date formatter ([`time::format_tmx`], which
/// `memory export` uses too).
fn tmx_date(rfc3339: &str) -> Option<String> {
    let utc = rfc3339.ends_with('Z') || rfc3339.ends_with("+00:00");
    let seconds = rfc3339.get(..19).filter(|_| utc && rfc3339.len() >= 20)?;
    time::parse_date(&format!("{seconds}Z")).map(time::format_tmx)
}

/// The document as TMX 1.4b, written by [`crate::tmx::write_tmx`] (the same
/// writer `memory export` uses).
pub fn render(doc: &Bitext) -> Result<Vec<u8>, TmxError> {
    let header = TmxHeader {
        source_lang: doc.meta.source_lang.clone().unwrap_or_else(|| "ar".into()),
        target_lang: doc.meta.target_lang.clone().unwrap_or_else(|| "en".into()),
        creation_date: doc.meta.created.as_deref().and_then(tmx_date),
        ..TmxHeader::default()
    };
    let units: Vec<TmxUnit> = doc
        .pairs
        .iter()
        .filter_map(|p| {
            let target = p.target.as_ref().filter(|t| !t.trim().is_empty())?;
            let mut props = vec![("x-origin".to_string(), p.origin.as_str().to_string())];
            if let Some(d) = &doc.meta.source_name {
                props.push(("x-document".to_string(), d.clone()));
            }
            Some(TmxUnit {
                id: Some(p.id.clone()),
                source: p.source.clone(),
                target: target.clone(),
                props,
                notes: p.warnings.clone(),
            })
        })
        .collect();
    let mut out = Vec::new();
    write_tmx(&mut out, &header, &units)?;
    Ok(out)
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
            formats: Vec::new(),
            marked: None,
            history: Vec::new(),
        };
        let doc = Bitext {
            meta: Default::default(),
            pairs: vec![mk("p1s1", Some("Text \u{0}& <")), mk("p1s2", None)],
        };
        let s = String::from_utf8(render(&doc).unwrap()).unwrap();
        assert!(s.contains(r#"srclang="ar""#));
        assert!(s.contains(r#"<tu tuid="p1s1">"#));
        assert!(!s.contains("p1s2"));
        assert!(s.contains("<prop type=\"x-origin\">human</prop>"));
        assert!(s.contains("<seg>نص &amp; &lt;</seg>"), "{s}");
        assert!(s.contains("<seg>Text &amp; &lt;</seg>"), "{s}");
    }
}
