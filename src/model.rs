/*!
The types that flow through the pipeline, in the order they are made.

`Segment` (from `segment`) → `TermHit` (from `glossary`) → `TranslationUnit`
(segment + hits + memory lookups) → `Request` (what a backend is sent) →
`Translation` (what it answered) → `AlignedPair` (one row of a bilingual
document, which every writer consumes) inside a `Bitext`.

They live in one place so that each stage depends on the data, not on the
stage that produced it. All offsets are *character* offsets (Unicode scalar
values) into the document text after a leading BOM is removed, so that any
program can slice the input back to a segment or a term.
*/

use serde::{Deserialize, Serialize};

/// One sentence (or headline, dateline, byline) of a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// Stable id, `p{para}s{index}`, both 1-based.
    pub id: String,
    /// 1-based paragraph number.
    pub para: usize,
    /// 1-based index of the sentence inside its paragraph.
    pub index: usize,
    /// The exact text of the segment as it stands in the input.
    pub text: String,
    /// Character offset of the first character in the document.
    pub start: usize,
    /// Character offset one past the last character in the document.
    pub end: usize,
}

impl Segment {
    /// The id of the segment at `para`/`index` (both 1-based).
    pub fn make_id(para: usize, index: usize) -> String {
        format!("p{para}s{index}")
    }

    /// The text with any internal line breaks (possible with `--join-lines`)
    /// and runs of white space folded to single spaces: what is shown on one
    /// line and what is sent to a translation engine.
    pub fn flat_text(&self) -> String {
        let mut out = String::with_capacity(self.text.len());
        let mut in_space = false;
        for c in self.text.chars() {
            if c.is_whitespace() {
                in_space = true;
            } else {
                if in_space && !out.is_empty() {
                    out.push(' ');
                }
                in_space = false;
                out.push(c);
            }
        }
        out
    }
}

/// A glossary entry found in a segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermHit {
    /// Id of the segment the hit is in.
    pub segment: String,
    /// Character offset of the hit in the document (same frame as `Segment::start`).
    pub start: usize,
    /// Character offset one past the hit in the document.
    pub end: usize,
    /// The original text that matched, clitics excluded.
    pub surface: String,
    /// The entry's canonical Arabic form.
    pub source: String,
    /// The pinned English rendering.
    pub target: String,
    /// The entry's kind (person, org, place, term, ...), if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// English renderings that must not appear.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forbidden: Vec<String>,
    /// From an `ambiguous` entry: a hint, never required wording, never
    /// re-requested, not a finding when the English lacks it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ambiguous: bool,
}

/// A pinned term as it is passed to a backend: the Arabic and its English.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PinnedTerm {
    pub source: String,
    pub target: String,
}

/// Context sent with a segment to engines that can use it; never translated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    /// The document's headline (its first segment), when it is not this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headline: Option<String>,
    /// The segment before this one in the document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// Terms of `ambiguous` glossary entries found in the segment: a hint
    /// for engines that take instructions, never required wording.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<PinnedTerm>,
    /// What was wrong with the engine's last answer for this segment, when
    /// it is asked again alone: named in the prompt, so that the retry is
    /// not the same request as the one that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// One unit of work for a backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The segment id (unique inside one engine run).
    pub id: String,
    /// The Arabic text to translate (already flattened to one line).
    pub text: String,
    /// The pinned terms found in this segment.
    #[serde(default)]
    pub terms: Vec<PinnedTerm>,
    /// Context for engines that support it.
    #[serde(default)]
    pub context: Context,
    /// Set on the second request for a segment whose first English missed a
    /// pinned term: engines that take instructions (LLMs) are told the terms
    /// are mandatory and which English each segment must contain.
    #[serde(default)]
    pub insist: bool,
}

/// Where a target text came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// An exact hit in the translation memory (a machine translation stored earlier).
    Memory,
    /// A reviewer's translation (post-edit) from the memory or a reviewed file.
    Human,
    /// Sent to the machine translation backend in this run.
    Mt,
    /// Not translated.
    None,
}

impl Origin {
    pub const ALL: [Origin; 4] = [Origin::Memory, Origin::Human, Origin::Mt, Origin::None];

    /// The word files use: `memory`, `human`, `mt`, `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Memory => "memory",
            Origin::Human => "human",
            Origin::Mt => "mt",
            Origin::None => "none",
        }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The one place a document's origin word is read (TSV, TMX `x-origin`):
/// `memory`, `human`, `mt` or `none`, in any case.
impl std::str::FromStr for Origin {
    type Err = String;

    fn from_str(s: &str) -> Result<Origin, String> {
        let s = s.trim();
        Origin::ALL
            .into_iter()
            .find(|o| o.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("{s:?} is not an origin; use memory, human, mt or none"))
    }
}

/// A glossary hit after the translation was checked against it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckedTerm {
    pub source: String,
    pub target: String,
    /// Character offsets of the hit in the document.
    pub start: usize,
    pub end: usize,
    /// Original Arabic text that matched.
    #[serde(default)]
    pub surface: String,
    /// Whether the English contains the pinned rendering (None: not checked,
    /// because there is no English yet).
    pub honoured: Option<bool>,
    /// Forbidden renderings that were found in the English.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forbidden_found: Vec<String>,
    /// The hit of an ambiguous entry: a hint, never checked (so `honoured`
    /// stays `None`), also when a reviewer's English is checked again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ambiguous: bool,
}

impl CheckedTerm {
    /// A hit not checked yet: there is no English to check it against.
    pub fn unchecked(h: &TermHit) -> CheckedTerm {
        CheckedTerm {
            source: h.source.clone(),
            target: h.target.clone(),
            start: h.start,
            end: h.end,
            surface: h.surface.clone(),
            honoured: None,
            forbidden_found: Vec::new(),
            ambiguous: h.ambiguous,
        }
    }
}

/// A fuzzy match from the translation memory, offered to the reviewer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    /// Word-level similarity in percent (75..=100).
    pub score: u8,
    pub source: String,
    pub target: String,
    pub origin: Origin,
}

/// One row of a bilingual document: the record every writer consumes and
/// the line format of tarjama's JSONL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlignedPair {
    pub id: String,
    pub para: usize,
    pub source: String,
    pub target: Option<String>,
    pub origin: Origin,
    #[serde(default)]
    pub terms: Vec<CheckedTerm>,
    #[serde(default)]
    pub warnings: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<Suggestion>,
    /// Character offsets of the segment in the source document.
    #[serde(default)]
    pub start: usize,
    #[serde(default)]
    pub end: usize,
    /// The source's inline formatting in this segment (a Word file's bold,
    /// italic, underlined or linked runs), the format of marker `n` at
    /// `n - 1` (see `crate::inline`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub formats: Vec<InlineFormat>,
    /// The English with the markers of `formats` around the words they
    /// cover, when the engine kept them (checked); `target` is the same
    /// English without them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marked: Option<String>,
    /// The engine's answers when there was more than one (a first answer
    /// that missed a pinned term and its re-request), with which one was
    /// kept and why: the reviewer sees both.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Attempt>,
}

/// One answer of the engine for a segment, as its history keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// Which request: `first` (the segment in its batch) or `re-request`
    /// (alone, the pinned terms insisted on).
    pub request: String,
    /// The English it answered; `None` when the request failed.
    pub target: Option<String>,
    /// Pinned-term occurrences its English missed.
    #[serde(default)]
    pub terms_missed: usize,
    /// Whether it is the English the segment got.
    pub kept: bool,
    /// Why it was kept or set aside, or why the request failed.
    pub why: String,
}

impl Attempt {
    /// One line for a reviewer: `re-request (kept): "…" — why`.
    pub fn describe(&self) -> String {
        let what = match &self.target {
            Some(t) => format!("\u{201c}{t}\u{201d}"),
            None => "no answer".into(),
        };
        format!(
            "{} ({}): {what} \u{2014} {}",
            self.request,
            if self.kept { "kept" } else { "set aside" },
            self.why
        )
    }
}

/// Counts from the run that produced a document, shown in its header.
/// Every field defaults to zero so that older files (or files written by
/// other tools) still parse.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunSummary {
    /// Segments in the document.
    pub segments: usize,
    /// Segments whose target came from the memory (exact hits).
    pub from_memory: usize,
    /// Segments sent to the backend in this run.
    pub sent: usize,
    /// Characters sent to the backend.
    pub chars_sent: usize,
    /// HTTP requests made.
    pub requests: usize,
    /// Requests the server answered (any HTTP status); the others timed out
    /// or lost their connection.
    pub answered: usize,
    /// Retries made.
    pub retries: usize,
    /// Answer entries for segment ids that were not asked for (an LLM
    /// translating its context, or inventing ids): ignored, counted here.
    pub stray_ids: usize,
    /// Segments left untranslated because the backend failed.
    pub failed: usize,
    /// Pinned terms the English honoured.
    pub terms_honoured: usize,
    /// Pinned terms the English missed.
    pub terms_missed: usize,
    /// Wall-clock time of the run in milliseconds.
    pub elapsed_ms: u64,
}

/// What is known about a bilingual document as a whole: where it came from
/// and how it was made. Written as the header line of tarjama's JSONL and
/// shown at the top of the HTML. Every field is optional, so that a
/// header from an older version still parses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DocMeta {
    /// Path of the source article as it was given on the command line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_path: Option<String>,
    /// File name of the source article (without directories).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    /// The document's title: its first segment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// When the document was made, RFC 3339 in UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The tarjama version that made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tarjama_version: Option<String>,
    /// Backend name (from the config) or kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// Model, for backends that have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Hash of the glossary content used (blake3, hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub glossary_hash: Option<String>,
    /// Source and target languages (BCP 47); `ar` and `en` when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_lang: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_lang: Option<String>,
    /// The run's counts, when the document was made by `translate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<RunSummary>,
    /// Paragraphs (1-based `para` numbers) that are headings in the source
    /// (a web page's headline, a Word heading), with their level, so that
    /// Word output keeps them as headings.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headings: Vec<(usize, u8)>,
    /// The paragraphs (1-based) the source marks right to left, when it
    /// marks direction at all (a Word file's `w:bidi` paragraphs, set on
    /// the paragraph or by its style, or whose runs are all `w:rtl`);
    /// `None` when it does not say (text, web pages),
    /// and the Arabic is then taken to be right to left throughout. The
    /// bilingual table sets a paragraph the source marks left to right (an
    /// English quotation in an Arabic Word file) left to right.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtl_paragraphs: Option<Vec<usize>>,
    /// Inline formatting of the source (a Word file's bold, italic,
    /// underlined and linked runs), by paragraph and the Arabic it covers,
    /// in document order. Each span is sent to the engine as a pair of
    /// markers in its segment (see `crate::inline`), and each pair's
    /// `formats` say which spans it carries.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inline: Vec<InlineFormat>,
}

/// A run of the source with formatting, as the Word file had it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InlineFormat {
    /// 1-based paragraph number.
    pub para: usize,
    /// The source text the formatting covers (white space folded).
    pub text: String,
    /// Where that text starts: a character offset into the paragraph's
    /// text as the reader gives it, then (in a document) into the
    /// document's text, the frame of `Segment::start`; `None` when the
    /// reader could not tell (the span is then not placed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<usize>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub bold: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub italic: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub underline: bool,
    /// The link's target (a URL, or `#bookmark`), for a linked run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl InlineFormat {
    /// "bold, italic" / "link https://…": what a reviewer reads in a note.
    pub fn describe(&self) -> String {
        let mut k: Vec<String> = Vec::new();
        for (on, name) in [
            (self.bold, "bold"),
            (self.italic, "italic"),
            (self.underline, "underlined"),
        ] {
            if on {
                k.push(name.into());
            }
        }
        if let Some(l) = &self.link {
            k.push(format!("link {l}"));
        }
        format!("{} «{}»", k.join(", "), self.text)
    }
}

/// A whole bilingual document: its metadata and its rows in document order.
/// `translate` produces it; every writer in `output` consumes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bitext {
    pub meta: DocMeta,
    pub pairs: Vec<AlignedPair>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_words_round_trip_through_display_from_str_and_serde() {
        for o in Origin::ALL {
            assert_eq!(o.to_string().parse::<Origin>(), Ok(o));
            assert_eq!(o.to_string().to_uppercase().parse::<Origin>(), Ok(o));
            let json = serde_json::to_string(&o).unwrap();
            assert_eq!(json, format!("\"{o}\""));
        }
        assert!(
            "reviewed"
                .parse::<Origin>()
                .unwrap_err()
                .contains("memory, human, mt")
        );
        use crate::memory::Provenance;
        for p in Provenance::ALL {
            assert_eq!(p.to_string().parse::<Provenance>(), Ok(p));
        }
        assert_eq!("machine".parse::<Provenance>(), Ok(Provenance::Mt));
        assert_eq!(" Memory ".parse::<Provenance>(), Ok(Provenance::Mt));
        assert!("none".parse::<Provenance>().is_err());
    }
}
