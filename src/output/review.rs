/*!
Taking a reviewed file back: the last step of machine draft → human review →
final English.

A reviewer edits one of the files tarjama wrote: the XLIFF (in a CAT tool),
the TSV (its `post_edit` column, or `target` in place) or the JSONL. This
module reads any of them into [`Reviewed`] units (id, source, the machine
text when the file still has it, the reviewer's text) and [`merge`]s them
into a document:

* the base is the JSONL `translate` wrote, when the caller has it (it holds
  the glossary hits, warnings and metadata the reviewed file may have lost);
  otherwise the reviewed file's own ids and sources;
* every segment must still match: same ids, same Arabic (white space
  aside). Otherwise nothing is merged and the error lists each mismatch,
  because a reviewed file for another version of the article would put
  English against the wrong sentences;
* a segment whose text changed becomes `Origin::Human`, its warnings and
  memory suggestions (now answered) are dropped and its glossary terms are
  re-checked against the new English;
* the [`MergeReport`] counts edited segments and the word-level edit
  distance (Levenshtein over words) between machine and final text.
*/

use std::collections::HashMap;
use std::fmt;

use super::{Format, ReadError, jsonl, tsv, xliff};
use crate::model::{AlignedPair, Bitext, CheckedTerm, DocMeta, Origin, TermHit};

/// One unit of a reviewed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewedUnit {
    /// 1-based line in the reviewed file (0 when unknown).
    pub line: usize,
    pub id: String,
    pub source: String,
    /// The machine text, when the file keeps it beside the reviewer's
    /// (TSV: the `target` column when `post_edit` is filled).
    pub machine: Option<String>,
    /// The text to publish: the reviewer's where present, else what the file holds.
    pub text: Option<String>,
    /// Where the machine text came from, when the file says.
    pub origin: Option<Origin>,
}

/// A reviewed file, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Reviewed {
    /// The file's name, for messages.
    pub file: String,
    pub format: Format,
    pub units: Vec<ReviewedUnit>,
    /// The whole document when the reviewed file is tarjama JSONL.
    pub doc: Option<Bitext>,
    /// The name of the source document, when the file records it.
    pub original: Option<String>,
    /// The review page's record, when the file is a review file
    /// (`tarjama review` writes one beside the draft).
    pub review: Option<ReviewRecord>,
}

/// The review page's own record in a review file: the last line of a
/// tarjama JSONL, `{"type":"review", ...}`, which other JSONL readers skip.
/// It keeps what the page needs to resume (each segment's revision and
/// status, where the editor stopped) and the draft's English, so that
/// `render` counts the edits without the draft at hand.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReviewRecord {
    /// The draft the review started from (its file name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draft: Option<String>,
    /// The segment the editor was last on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(default)]
    pub segments: Vec<SegmentReview>,
}

/// Where a segment stands in a review.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewStatus {
    /// Not touched yet: the draft's English.
    #[default]
    Draft,
    /// The editor changed the English.
    Edited,
    /// The editor accepted the draft's English unchanged.
    Accepted,
}

/// One segment's review state.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SegmentReview {
    pub id: String,
    /// Saves so far (each one replaces the last).
    pub rev: u64,
    pub status: ReviewStatus,
    /// The draft's English (None: the draft left it untranslated).
    #[serde(default)]
    pub machine: Option<String>,
    /// Whether the memory holds the current English.
    #[serde(default)]
    pub stored: bool,
}

/// The JSONL line of a review record.
pub fn review_record_line(r: &ReviewRecord) -> String {
    #[derive(serde::Serialize)]
    struct Line<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        #[serde(flatten)]
        record: &'a ReviewRecord,
    }
    serde_json::to_string(&Line {
        kind: "review",
        record: r,
    })
    .expect("a review record serialises")
}

/// The review record of a JSONL text, if it has one (the last one wins).
pub fn find_review_record(name: &str, text: &str) -> Result<Option<ReviewRecord>, ReadError> {
    let mut found = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        // Cheap test first: only a review record has this type.
        if !line.starts_with('{') || !line.contains("\"review\"") {
            continue;
        }
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v.get("type").and_then(|t| t.as_str()) == Some("review") {
            found = Some(serde_json::from_value(v).map_err(|e| {
                ReadError::new(name, Some(i + 1), format!("bad review record: {e}"))
            })?);
        }
    }
    Ok(found)
}

/// The memory pair for a reviewed segment: its English as `origin`, from
/// `document`. None when the segment has no English.
pub fn memory_pair(
    pair: &AlignedPair,
    origin: crate::memory::Provenance,
    document: Option<String>,
) -> Option<crate::memory::NewPair> {
    let target = pair.target.clone().filter(|t| !t.trim().is_empty())?;
    Some(crate::memory::NewPair {
        source: pair.source.clone(),
        target,
        origin,
        backend: None,
        model: None,
        created: None,
        document,
    })
}

/// The document name the memory records for pairs of `doc`.
pub fn memory_document(doc: &Bitext) -> Option<String> {
    doc.meta
        .source_path
        .clone()
        .or_else(|| doc.meta.source_name.clone())
}

/// The format of a reviewed file: from its extension, else from its first
/// characters (`<` XML, `{` JSONL, a tab-separated header TSV).
pub fn detect_format(name: &str, text: &str) -> Option<Format> {
    let by_ext = std::path::Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .and_then(Format::from_name);
    if let Some(f @ (Format::Xliff | Format::Tsv | Format::Jsonl | Format::Tmx)) = by_ext {
        return Some(f);
    }
    let head = text.trim_start_matches('\u{feff}').trim_start();
    if head.starts_with('<') {
        if head.contains("<tmx") && !head.contains("<xliff") {
            Some(Format::Tmx)
        } else {
            Some(Format::Xliff)
        }
    } else if head.starts_with('{') {
        Some(Format::Jsonl)
    } else if head.lines().next().is_some_and(|l| l.contains('\t')) {
        Some(Format::Tsv)
    } else {
        None
    }
}

/// The text of a reviewed file from its bytes: UTF-8 (a BOM dropped) as
/// everywhere in tarjama, and also UTF-16 with a byte-order mark, which is
/// what Excel's "Unicode Text" export writes for a TSV.
pub fn decode(name: &str, bytes: Vec<u8>) -> Result<String, ReadError> {
    let utf16 = match bytes.get(..2) {
        Some([0xFF, 0xFE]) => Some(true),
        Some([0xFE, 0xFF]) => Some(false),
        _ => None,
    };
    let Some(little) = utf16 else {
        return crate::input::decode(name, bytes).map_err(|e| {
            // The input error already names the file.
            let msg = e.to_string();
            let msg = msg
                .strip_prefix(&format!("{name}: "))
                .unwrap_or(&msg)
                .to_string();
            ReadError::new(name, None, msg)
        });
    };
    if !bytes.len().is_multiple_of(2) {
        return Err(ReadError::new(
            name,
            None,
            "UTF-16 file with an odd number of bytes (truncated?)",
        ));
    }
    let units = bytes[2..].chunks_exact(2).map(|c| {
        if little {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    });
    let mut text = String::with_capacity(bytes.len() / 2);
    for (i, r) in char::decode_utf16(units).enumerate() {
        match r {
            Ok(c) => text.push(c),
            Err(e) => {
                return Err(ReadError::new(
                    name,
                    Some(text.matches('\n').count() + 1),
                    format!(
                        "invalid UTF-16: unpaired surrogate {:#06x} at code unit {}",
                        e.unpaired_surrogate(),
                        i + 1
                    ),
                ));
            }
        }
    }
    Ok(text)
}

/// Read an edited Word bilingual table (`--to docx-table`): the English
/// column as the reviewer left it.
pub fn read_docx_table(name: &str, bytes: &[u8]) -> Result<Reviewed, ReadError> {
    let rows = super::docx::read_table(name, bytes)?;
    Ok(Reviewed {
        file: name.to_string(),
        format: Format::DocxTable,
        units: rows
            .into_iter()
            .map(|r| ReviewedUnit {
                line: r.row,
                id: r.id,
                source: r.source,
                machine: None,
                text: r.target,
                origin: None,
            })
            .collect(),
        doc: None,
        original: None,
        review: None,
    })
}

/// Read a reviewed XLIFF, TSV or JSONL file.
pub fn read_reviewed(name: &str, text: &str, format: Format) -> Result<Reviewed, ReadError> {
    let mut r = Reviewed {
        file: name.to_string(),
        format,
        units: Vec::new(),
        doc: None,
        original: None,
        review: None,
    };
    match format {
        Format::Jsonl => {
            let doc = jsonl::read(name, text)?;
            r.units = doc
                .pairs
                .iter()
                .map(|p| ReviewedUnit {
                    line: 0,
                    id: p.id.clone(),
                    source: p.source.clone(),
                    machine: None,
                    text: p.target.clone(),
                    origin: Some(p.origin),
                })
                .collect();
            r.original = doc.meta.source_name.clone();
            r.doc = Some(doc);
            r.review = find_review_record(name, text)?;
        }
        Format::Tsv => {
            r.units = tsv::read(name, text)?
                .into_iter()
                .map(|row| ReviewedUnit {
                    line: row.line,
                    id: row.id,
                    source: row.source,
                    machine: row.target.clone(),
                    text: row.post_edit.or(row.target),
                    origin: row.origin.as_deref().and_then(|o| o.parse().ok()),
                })
                .collect();
        }
        Format::Xliff => {
            let x = xliff::read(name, text)?;
            r.original = x.original;
            r.units = x
                .units
                .into_iter()
                .map(|u| ReviewedUnit {
                    line: u.line,
                    id: u.id,
                    source: u.source,
                    machine: None,
                    text: u.target,
                    origin: None,
                })
                .collect();
        }
        Format::Tmx => {
            let units = crate::tmx::read_tmx(name, text).map_err(|e| match e {
                crate::tmx::TmxError::Syntax { line, message, .. } => {
                    ReadError::new(name, Some(line), message)
                }
                other => ReadError::new(name, None, other.to_string()),
            })?;
            let mut seen = HashMap::new();
            for (i, u) in units.into_iter().enumerate() {
                let id = u.id.clone().unwrap_or_else(|| format!("tu{}", i + 1));
                if let Some(first) = seen.insert(id.clone(), i + 1) {
                    return Err(ReadError::new(
                        name,
                        None,
                        format!("duplicate tuid `{id}` (units {first} and {})", i + 1),
                    ));
                }
                let origin = u
                    .props
                    .iter()
                    .find(|(k, _)| k == "x-origin")
                    .map(|(_, v)| v.parse().unwrap_or(Origin::Mt));
                r.units.push(ReviewedUnit {
                    line: 0,
                    id,
                    source: u.source,
                    machine: None,
                    text: Some(u.target).filter(|t| !t.trim().is_empty()),
                    origin,
                });
            }
        }
        other => {
            return Err(ReadError::new(
                name,
                None,
                format!(
                    "{other} is not a bilingual file tarjama reads back; give an XLIFF, TSV, TMX or JSONL file"
                ),
            ));
        }
    }
    Ok(r)
}

/// How a reviewed segment fails to match the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MismatchKind {
    /// The reviewed file has an id the document does not.
    UnknownId,
    /// The document has a segment the reviewed file lost.
    Missing,
    /// The Arabic differs.
    SourceChanged { expected: String, found: String },
    /// The reviewed file has no Arabic for the segment.
    EmptySource,
}

/// One mismatch between a reviewed file and its document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub id: String,
    /// Line in the reviewed file, when known.
    pub line: Option<usize>,
    pub kind: MismatchKind,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(l) = self.line.filter(|&l| l > 0) {
            write!(f, "line {l}: ")?;
        }
        match &self.kind {
            MismatchKind::UnknownId => write!(f, "{}: not a segment of the document", self.id),
            MismatchKind::Missing => write!(f, "{}: missing from the reviewed file", self.id),
            MismatchKind::SourceChanged { expected, found } => write!(
                f,
                "{}: the Arabic changed: expected \"{}\", found \"{}\"",
                self.id,
                short(expected),
                short(found)
            ),
            MismatchKind::EmptySource => write!(f, "{}: the Arabic is empty", self.id),
        }
    }
}

fn short(s: &str) -> String {
    let flat = fold(s);
    if flat.chars().count() > 60 {
        format!("{}…", flat.chars().take(60).collect::<String>())
    } else {
        flat
    }
}

/// Why a reviewed file could not be merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error("{file}: {} segment(s) no longer match {against}; nothing was rendered:\n  {}", .mismatches.len(), .mismatches.iter().map(|m| m.to_string()).collect::<Vec<_>>().join("\n  "))]
    Mismatch {
        file: String,
        against: String,
        mismatches: Vec<Mismatch>,
    },
    #[error("{file}: no segments")]
    Empty { file: String },
}

/// One segment the reviewer changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub id: String,
    /// The machine text (None: it was untranslated).
    pub before: Option<String>,
    pub after: String,
    /// Word-level edit distance between `before` and `after`.
    pub distance: usize,
}

/// What a merge did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeReport {
    pub segments: usize,
    /// Segments whose text the reviewer changed (filled-in ones included).
    pub edits: Vec<Edit>,
    /// Whether the machine text was known, so that `edits` is meaningful.
    pub edits_known: bool,
    /// Segments still without English after review.
    pub untranslated: usize,
}

impl MergeReport {
    /// Sum of the word-level edit distances.
    pub fn word_distance(&self) -> usize {
        self.edits.iter().map(|e| e.distance).sum()
    }

    /// Words in the machine text of the edited segments plus the words the
    /// reviewer added to untranslated ones, for a percentage.
    pub fn machine_words(&self) -> usize {
        self.edits
            .iter()
            .map(|e| words(e.before.as_deref().unwrap_or(&e.after)).len())
            .sum()
    }
}

/// White space folded to single spaces, ends trimmed.
fn fold(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn words(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

/// Levenshtein distance over words: insertions, deletions and substitutions
/// of whole words.
pub fn word_edit_distance(a: &str, b: &str) -> usize {
    strsim::generic_levenshtein(&words(a), &words(b))
}

/// Re-check the glossary terms of a segment whose English changed, without
/// the glossary at hand, with the glossary's own rules
/// ([`crate::glossary::check`]: case, a leading "the", possessives and
/// plurals tolerated). A forbidden rendering recorded before counts only
/// while it is still there.
pub fn recheck_terms(terms: &[CheckedTerm], english: &str) -> Vec<CheckedTerm> {
    let hits: Vec<TermHit> = terms
        .iter()
        .map(|t| TermHit {
            segment: String::new(),
            start: t.start,
            end: t.end,
            surface: t.surface.clone(),
            source: t.source.clone(),
            target: t.target.clone(),
            kind: None,
            forbidden: t.forbidden_found.clone(),
            ambiguous: t.ambiguous,
        })
        .collect();
    crate::glossary::check::check_terms(&hits, english)
}

/// The segments a review confirms as human translations, for the memory:
/// every segment with English that the reviewer edited, and every other one
/// with English that no longer needs review. A segment left as the machine
/// wrote it while still flagged (missed or forbidden term, warning) is not
/// confirmed: the reviewer may simply not have got to it.
pub fn confirmed<'a>(doc: &'a Bitext, report: &MergeReport) -> Vec<&'a AlignedPair> {
    let edited: std::collections::HashSet<&str> =
        report.edits.iter().map(|e| e.id.as_str()).collect();
    doc.pairs
        .iter()
        .filter(|p| p.target.as_deref().is_some_and(|t| !t.trim().is_empty()))
        .filter(|p| edited.contains(p.id.as_str()) || !super::is_flagged(p))
        .collect()
}

/// The paragraph number in a tarjama id `p{para}s{index}`.
fn para_of(id: &str) -> Option<usize> {
    let rest = id.strip_prefix('p')?;
    let end = rest.find('s')?;
    rest[..end].parse().ok()
}

/// The draft a review file started from: its document with each
/// segment's English put back as the draft had it.
fn draft_of(doc: &Bitext, review: &ReviewRecord) -> Bitext {
    let by_id: HashMap<&str, &SegmentReview> =
        review.segments.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut draft = doc.clone();
    for p in &mut draft.pairs {
        if let Some(s) = by_id.get(p.id.as_str())
            && s.status == ReviewStatus::Edited
        {
            p.target = s.machine.clone();
            p.origin = if p.target.is_some() {
                Origin::Mt
            } else {
                Origin::None
            };
        }
    }
    draft
}

/// Merge a reviewed file into its document.
///
/// `base` is the document as `translate` wrote it, when the caller has it
/// (`against` names it in messages); without it the reviewed file's own ids
/// and sources are the document. `recheck` re-checks the glossary terms of
/// an edited segment against its new English ([`recheck_terms`] when no
/// glossary is loaded).
pub fn merge(
    reviewed: &Reviewed,
    base: Option<(&Bitext, &str)>,
    recheck: &dyn Fn(&AlignedPair, &str) -> Vec<CheckedTerm>,
) -> Result<(Bitext, MergeReport), MergeError> {
    if reviewed.units.is_empty() {
        return Err(MergeError::Empty {
            file: reviewed.file.clone(),
        });
    }
    let own;
    let (base_doc, against, edits_known) = match (base, &reviewed.doc) {
        (Some((doc, name)), _) => (doc, name.to_string(), true),
        // A review file: the draft's English is in its review record.
        (None, Some(doc)) if reviewed.review.is_some() => {
            own = draft_of(doc, reviewed.review.as_ref().expect("checked"));
            (&own, "its draft".to_string(), true)
        }
        (None, Some(doc)) => (doc, "itself".to_string(), false),
        (None, None) => {
            // TSV keeps the machine text beside the post-edit; XLIFF does not.
            let known = reviewed.format == Format::Tsv;
            let mut pairs = Vec::with_capacity(reviewed.units.len());
            for (i, u) in reviewed.units.iter().enumerate() {
                let target = if known {
                    u.machine.clone()
                } else {
                    u.text.clone()
                };
                pairs.push(AlignedPair {
                    id: u.id.clone(),
                    para: para_of(&u.id).unwrap_or(i + 1),
                    source: u.source.clone(),
                    origin: if target.is_some() {
                        Origin::Mt
                    } else {
                        Origin::None
                    },
                    target,
                    terms: vec![],
                    warnings: vec![],
                    suggestions: vec![],
                    start: 0,
                    end: 0,
                    formats: Vec::new(),
                    marked: None,
                    history: Vec::new(),
                });
            }
            own = Bitext {
                meta: DocMeta {
                    source_name: reviewed.original.clone(),
                    ..Default::default()
                },
                pairs,
            };
            (&own, "itself".to_string(), known)
        }
    };

    let by_id: HashMap<&str, &ReviewedUnit> =
        reviewed.units.iter().map(|u| (u.id.as_str(), u)).collect();
    let base_ids: HashMap<&str, &AlignedPair> =
        base_doc.pairs.iter().map(|p| (p.id.as_str(), p)).collect();
    let mut mismatches = Vec::new();
    for u in &reviewed.units {
        let line = Some(u.line).filter(|&l| l > 0);
        if fold(&u.source).is_empty() {
            mismatches.push(Mismatch {
                id: u.id.clone(),
                line,
                kind: MismatchKind::EmptySource,
            });
            continue;
        }
        match base_ids.get(u.id.as_str()) {
            None => mismatches.push(Mismatch {
                id: u.id.clone(),
                line,
                kind: MismatchKind::UnknownId,
            }),
            Some(p) if fold(&p.source) != fold(&u.source) => mismatches.push(Mismatch {
                id: u.id.clone(),
                line,
                kind: MismatchKind::SourceChanged {
                    expected: p.source.clone(),
                    found: u.source.clone(),
                },
            }),
            Some(_) => {}
        }
    }
    for p in &base_doc.pairs {
        if !by_id.contains_key(p.id.as_str()) {
            mismatches.push(Mismatch {
                id: p.id.clone(),
                line: None,
                kind: MismatchKind::Missing,
            });
        }
    }
    if !mismatches.is_empty() {
        return Err(MergeError::Mismatch {
            file: reviewed.file.clone(),
            against,
            mismatches,
        });
    }

    let mut report = MergeReport {
        segments: base_doc.pairs.len(),
        edits_known,
        ..Default::default()
    };
    let mut out = Bitext {
        meta: base_doc.meta.clone(),
        pairs: Vec::with_capacity(base_doc.pairs.len()),
    };
    for p in &base_doc.pairs {
        let u = by_id[p.id.as_str()];
        let mut pair = p.clone();
        let before = p.target.as_deref().map(fold).filter(|s| !s.is_empty());
        let after = u.text.as_deref().map(str::trim).filter(|s| !s.is_empty());
        match after {
            Some(after) if before.as_deref() != Some(fold(after).as_str()) => {
                report.edits.push(Edit {
                    id: p.id.clone(),
                    before: p.target.clone(),
                    after: after.to_string(),
                    distance: word_edit_distance(p.target.as_deref().unwrap_or(""), after),
                });
                pair.terms = recheck(&pair, after);
                pair.target = Some(after.to_string());
                pair.origin = Origin::Human;
                pair.warnings.clear();
                pair.suggestions.clear();
            }
            Some(_) => {}
            None => {
                // The reviewer emptied or never filled the segment: keep the
                // machine text if there is one.
            }
        }
        if pair.target.is_none() {
            report.untranslated += 1;
        }
        out.pairs.push(pair);
    }
    if !report.edits_known {
        // Without the machine text every difference is unknowable; what the
        // file holds is taken as it is and nothing counts as edited.
        report.edits.clear();
    }
    Ok((out, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Bitext {
        let mk = |id: &str, para, src: &str, tgt: Option<&str>| AlignedPair {
            id: id.into(),
            para,
            source: src.into(),
            target: tgt.map(Into::into),
            origin: if tgt.is_some() {
                Origin::Mt
            } else {
                Origin::None
            },
            terms: vec![],
            warnings: vec!["w".into()],
            suggestions: vec![],
            start: 0,
            end: 0,
            formats: Vec::new(),
            marked: None,
            history: Vec::new(),
        };
        let mut doc = Bitext {
            meta: DocMeta {
                source_name: Some("a.txt".into()),
                ..Default::default()
            },
            pairs: vec![
                mk("p1s1", 1, "روسيا وطالبان", Some("Russia and the Taleban")),
                mk("p2s1", 2, "جملة ثانية", Some("A second sentence")),
                mk("p3s1", 3, "شارك", None),
            ],
        };
        doc.pairs[0].terms = vec![CheckedTerm {
            source: "طالبان".into(),
            target: "Taliban".into(),
            start: 7,
            end: 13,
            surface: "طالبان".into(),
            honoured: Some(false),
            forbidden_found: vec!["Taleban".into()],
            ambiguous: false,
        }];
        doc
    }

    fn tsv_of(doc: &Bitext) -> String {
        tsv::render(doc, false)
    }

    #[test]
    fn recheck_uses_whole_words() {
        let t = &base().pairs[0].terms;
        let r = recheck_terms(t, "the Taliban's envoy and the Taleban");
        assert_eq!(r[0].honoured, Some(true));
        assert_eq!(r[0].forbidden_found, vec!["Taleban".to_string()]);
        let r = recheck_terms(t, "the Talibanistan");
        assert_eq!(r[0].honoured, Some(false));
        assert!(r[0].forbidden_found.is_empty());
    }

    #[test]
    fn an_ambiguous_hit_stays_a_hint_when_the_english_is_checked_again() {
        let mut t = base().pairs[0].terms.clone();
        t[0].ambiguous = true;
        t[0].honoured = None;
        // a reviewer's English without the entry's rendering: not a miss
        let r = recheck_terms(&t, "The envoy met them");
        assert_eq!(r[0].honoured, None);
        assert!(r[0].ambiguous);
        // the flag survives the JSONL round trip a review goes through
        let line = serde_json::to_string(&r[0]).unwrap();
        let back: CheckedTerm = serde_json::from_str(&line).unwrap();
        assert!(back.ambiguous, "{line}");
        // and a pinned hit is still checked
        let r = recheck_terms(&base().pairs[0].terms, "The envoy met them");
        assert_eq!(r[0].honoured, Some(false));
    }

    #[test]
    fn word_distance_counts_words() {
        assert_eq!(
            word_edit_distance("Russia and the Taleban", "Russia and the Taliban"),
            1
        );
        assert_eq!(word_edit_distance("", "Share"), 1);
        assert_eq!(word_edit_distance("a b c", "a  b c"), 0);
        assert_eq!(word_edit_distance("a b c", "c"), 2);
    }

    #[test]
    fn tsv_post_edit_is_merged_without_base() {
        let tsv = tsv_of(&base())
            .replace("untranslated,warning\t\n", "untranslated,warning\tShare\n")
            .replacen(
                "Taleban\tmt\tterm-missed,forbidden,warning\t",
                "Taleban\tmt\tterm-missed,forbidden,warning\tRussia and the Taliban",
                1,
            );
        let r = read_reviewed("r.tsv", &tsv, Format::Tsv).unwrap();
        let (doc, rep) = merge(&r, None, &|p, e| recheck_terms(&p.terms, e)).unwrap();
        assert!(rep.edits_known);
        assert_eq!(rep.edits.len(), 2, "{rep:?}");
        assert_eq!(rep.word_distance(), 2);
        assert_eq!(
            doc.pairs[0].target.as_deref(),
            Some("Russia and the Taliban")
        );
        assert_eq!(doc.pairs[0].origin, Origin::Human);
        assert_eq!(doc.pairs[1].origin, Origin::Mt);
        assert_eq!(doc.pairs[2].target.as_deref(), Some("Share"));
        assert_eq!(rep.untranslated, 0);
    }

    #[test]
    fn merge_with_base_rechecks_terms_and_clears_warnings() {
        let b = base();
        let tsv = tsv_of(&b).replacen(
            "Taleban\tmt\tterm-missed,forbidden,warning\t",
            "Taleban\tmt\tterm-missed,forbidden,warning\tRussia and the Taliban",
            1,
        );
        let r = read_reviewed("r.tsv", &tsv, Format::Tsv).unwrap();
        let (doc, rep) = merge(&r, Some((&b, "a.jsonl")), &|p, e| {
            recheck_terms(&p.terms, e)
        })
        .unwrap();
        assert_eq!(rep.edits.len(), 1);
        assert_eq!(doc.pairs[0].terms[0].honoured, Some(true));
        assert!(doc.pairs[0].terms[0].forbidden_found.is_empty());
        assert!(doc.pairs[0].warnings.is_empty());
        assert_eq!(
            doc.pairs[1].warnings,
            vec!["w".to_string()],
            "unedited rows keep their warnings"
        );
        assert_eq!(doc.meta.source_name.as_deref(), Some("a.txt"));
        assert_eq!(rep.untranslated, 1);
    }

    #[test]
    fn mismatches_are_listed_and_refused() {
        let b = base();
        let tsv = tsv_of(&b)
            .replace("جملة ثانية", "جملة أخرى")
            .replace("p3s1\t", "p9s1\t");
        let r = read_reviewed("r.tsv", &tsv, Format::Tsv).unwrap();
        let e = merge(&r, Some((&b, "a.jsonl")), &|p, e| {
            recheck_terms(&p.terms, e)
        })
        .unwrap_err();
        let MergeError::Mismatch { mismatches, .. } = &e else {
            panic!("{e}")
        };
        assert_eq!(mismatches.len(), 3, "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains("r.tsv: 3 segment(s) no longer match a.jsonl"),
            "{msg}"
        );
        assert!(
            msg.contains(
                "line 3: p2s1: the Arabic changed: expected \"جملة ثانية\", found \"جملة أخرى\""
            ),
            "{msg}"
        );
        assert!(
            msg.contains("line 4: p9s1: not a segment of the document"),
            "{msg}"
        );
        assert!(
            msg.contains("p3s1: missing from the reviewed file"),
            "{msg}"
        );
    }

    #[test]
    fn confirmed_pairs_leave_out_unedited_flagged_ones() {
        let b = base();
        // p2s1 (flagged only by its warning) is edited; p1s1 stays flagged.
        let tsv = tsv_of(&b).replace(
            "A second sentence\tmt\twarning\t",
            "A second sentence\tmt\twarning\tThe second sentence",
        );
        let r = read_reviewed("r.tsv", &tsv, Format::Tsv).unwrap();
        let (doc, rep) = merge(&r, Some((&b, "a.jsonl")), &|p, e| {
            recheck_terms(&p.terms, e)
        })
        .unwrap();
        let ids: Vec<&str> = confirmed(&doc, &rep)
            .iter()
            .map(|p| p.id.as_str())
            .collect();
        assert_eq!(ids, ["p2s1"]);
        let mut clean = b.clone();
        for p in &mut clean.pairs {
            p.warnings.clear();
            p.terms.clear();
        }
        let r = read_reviewed("r.tsv", &tsv_of(&clean), Format::Tsv).unwrap();
        let (doc, rep) = merge(&r, Some((&clean, "a.jsonl")), &|p, e| {
            recheck_terms(&p.terms, e)
        })
        .unwrap();
        let ids: Vec<&str> = confirmed(&doc, &rep)
            .iter()
            .map(|p| p.id.as_str())
            .collect();
        assert_eq!(
            ids,
            ["p1s1", "p2s1"],
            "untranslated p3s1 is never confirmed"
        );
    }

    #[test]
    fn whitespace_differences_in_the_source_are_not_mismatches() {
        let b = base();
        let tsv = tsv_of(&b).replace("جملة ثانية", " جملة  ثانية ");
        let r = read_reviewed("r.tsv", &tsv, Format::Tsv).unwrap();
        assert!(
            merge(&r, Some((&b, "a.jsonl")), &|p, e| recheck_terms(
                &p.terms, e
            ))
            .is_ok()
        );
    }

    #[test]
    fn xliff_without_base_cannot_count_edits() {
        let b = base();
        let x = String::from_utf8(xliff::render(&b, super::super::XliffVersion::V2_1)).unwrap();
        let x = x.replace("A second sentence", "The second sentence");
        let r = read_reviewed("r.xlf", &x, Format::Xliff).unwrap();
        let (doc, rep) = merge(&r, None, &|p, e| recheck_terms(&p.terms, e)).unwrap();
        assert!(!rep.edits_known);
        assert_eq!(doc.pairs[1].target.as_deref(), Some("The second sentence"));
        assert_eq!(doc.pairs[1].para, 2, "para comes from the id");
        let (_, rep) = merge(&r, Some((&b, "a.jsonl")), &|p, e| {
            recheck_terms(&p.terms, e)
        })
        .unwrap();
        assert_eq!(rep.edits.len(), 1);
        assert_eq!(rep.edits[0].distance, 1);
    }

    #[test]
    fn utf16_exports_are_decoded() {
        let text = "id\tsource\np1s1\tروسيا\n";
        let mut le = vec![0xFF, 0xFE];
        let mut be = vec![0xFE, 0xFF];
        for u in text.encode_utf16() {
            le.extend(u.to_le_bytes());
            be.extend(u.to_be_bytes());
        }
        assert_eq!(decode("x.tsv", le).unwrap(), text);
        assert_eq!(decode("x.tsv", be).unwrap(), text);
        let bad = vec![0xFF, 0xFE, b'a', 0, 0x00, 0xD8, b'b', 0];
        let e = decode("x.tsv", bad).unwrap_err().to_string();
        assert!(
            e.starts_with("x.tsv:1: invalid UTF-16: unpaired surrogate 0xd800"),
            "{e}"
        );
        assert_eq!(decode("x", "\u{feff}ok".as_bytes().to_vec()).unwrap(), "ok");
        let e = decode("x.tsv", vec![b'a', 0xC3, b'('])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.tsv: not valid UTF-8 at byte 1"), "{e}");
    }

    #[test]
    fn tmx_units_are_read() {
        let b = base();
        let tmx = String::from_utf8(super::super::tmx::render(&b).unwrap()).unwrap();
        let r = read_reviewed("m.tmx", &tmx, Format::Tmx).unwrap();
        let ids: Vec<&str> = r.units.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(
            ids,
            ["p1s1", "p2s1"],
            "untranslated segments are not in TMX"
        );
        assert_eq!(r.units[1].text.as_deref(), Some("A second sentence"));
        assert_eq!(r.units[1].origin, Some(Origin::Mt));
        let e =
            read_reviewed("m.tmx", "<tmx version=\"1.4\">\n<body></tmx>", Format::Tmx).unwrap_err();
        assert_eq!(e.file, "m.tmx");
    }

    #[test]
    fn formats_are_detected() {
        assert_eq!(detect_format("a.xlf", ""), Some(Format::Xliff));
        assert_eq!(
            detect_format("a", "<?xml version=\"1.0\"?><xliff>"),
            Some(Format::Xliff)
        );
        assert_eq!(
            detect_format("a", "<?xml version=\"1.0\"?>\n<tmx version=\"1.4\">"),
            Some(Format::Tmx)
        );
        assert_eq!(
            detect_format("a", "\u{feff}id\tsource\n"),
            Some(Format::Tsv)
        );
        assert_eq!(
            detect_format("a", "{\"type\":\"header\"}"),
            Some(Format::Jsonl)
        );
        assert_eq!(detect_format("a", "hello"), None);
    }
}
