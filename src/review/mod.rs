/*!
Post-editing in the browser: the state behind `tarjama review`.

An editor opens the draft `translate` wrote (its JSONL) in a local page
([`server`], [`page`]) and fixes the English segment by segment. This module
holds what the page edits, so that nothing depends on the browser:

* a [`Session`] is one draft and its review file beside it
  (`article.jsonl` → `article.review.jsonl`): a tarjama JSONL of the
  document as reviewed so far, ending with a review record
  ([`ReviewRecord`]: each segment's revision, status and draft English, and
  where the editor stopped). It is rewritten atomically after every save,
  so a closed tab or a killed server loses nothing, and a rerun resumes
  from it. `render` reads it like any JSONL and counts the edits from its
  record;
* every save is checked at once (the glossary terms on the new English,
  with the loaded glossary, else the draft's hits as `render` re-checks
  them) and, when the page commits it (leaving the box, accepting), stored
  in the memory through [`crate::output::review::memory_pair`], the same
  pairs `render --update-memory` stores: `human` for an edit, `reviewed`
  for the draft's English accepted unchanged;
* two tabs on one segment: each save names the revision it started from;
  the later save wins and its answer names the text it replaced, and the
  other tab learns of the new revision when it next asks ([`Session::revisions`]);
* a glossary entry added from the page goes through
  [`crate::glossary::edit::add`], as `glossary add` does, and every segment
  is matched and checked again with the grown glossary.
*/

pub mod page;
pub mod server;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::glossary::shared::{SharedAt, SharedGlossary};
use crate::glossary::{Entry, Glossary, GlossaryError, Matcher, edit};
use crate::memory::{Memory, MemoryError, Provenance};
use crate::model::{AlignedPair, Bitext, CheckedTerm, Origin};
use crate::output::review::{
    ReviewRecord, ReviewStatus, SegmentReview, find_review_record, memory_document, memory_pair,
    recheck_terms, review_record_line,
};
use crate::output::{self, OutputError, ReadError, jsonl};

/// Why a review could not start or a change could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("cannot read {path}: {error}")]
    Io {
        path: String,
        #[source]
        error: std::io::Error,
    },
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Write(#[from] OutputError),
    #[error(transparent)]
    Memory(#[from] MemoryError),
    #[error(transparent)]
    Glossary(#[from] GlossaryError),
    #[error(
        "{review}: it is the review of another version of {draft} ({why}); move it away to start the review afresh"
    )]
    Stale {
        review: String,
        draft: String,
        why: String,
    },
    #[error("{0}: no segments to review")]
    Empty(String),
    #[error("no segment `{0}` in this document")]
    NoSegment(String),
    #[error("{0}")]
    Refused(String),
}

/// The review file of a draft: `x.jsonl` → `x.review.jsonl` beside it.
pub fn review_path(draft: &Path) -> PathBuf {
    let stem = draft
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "draft".into());
    draft.with_file_name(format!("{stem}.review.jsonl"))
}

/// Whether a file name is a review file (not a draft to list).
pub fn is_review_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".review.jsonl"))
}

/// The glossary a review checks against and grows.
pub struct ReviewGlossary {
    /// The files, in layer order; entries added from the page go to the last.
    pub paths: Vec<PathBuf>,
    /// The shared glossary's URL and who edits it, when the glossary is
    /// the desk's database (entries added from the page go there).
    shared: Option<SharedAt>,
    glossary: Glossary,
    matcher: Matcher,
}

impl ReviewGlossary {
    /// Load the glossary files (missing ones are skipped, the last is
    /// created when an entry is added).
    pub fn load(paths: Vec<PathBuf>) -> Result<(ReviewGlossary, Vec<String>), GlossaryError> {
        let existing: Vec<PathBuf> = paths.iter().filter(|p| p.exists()).cloned().collect();
        let (glossary, warnings) = Glossary::load(&existing)?;
        let matcher = glossary.matcher();
        Ok((
            ReviewGlossary {
                paths,
                shared: None,
                glossary,
                matcher,
            },
            warnings,
        ))
    }

    /// The shared glossary at `url`; entries added from the page are
    /// recorded as `who`'s.
    pub fn shared(at: &SharedAt) -> Result<(ReviewGlossary, Vec<String>), GlossaryError> {
        let (glossary, warnings) = SharedGlossary::open(at)?.load()?;
        let matcher = glossary.matcher();
        Ok((
            ReviewGlossary {
                paths: Vec::new(),
                shared: Some(at.clone()),
                glossary,
                matcher,
            },
            warnings,
        ))
    }

    /// The file entries are added to.
    pub fn target(&self) -> Option<&Path> {
        self.paths.last().map(PathBuf::as_path)
    }

    /// Where entries added from the page go, as the page names it: the
    /// file's name, or `shared` for the desk's shared glossary.
    pub fn label(&self) -> Option<String> {
        if self.shared.is_some() {
            return Some("shared".into());
        }
        self.target()
            .and_then(|p| p.file_name())
            .map(|f| f.to_string_lossy().into_owned())
    }

    fn terms(&self, pair: &AlignedPair, english: Option<&str>) -> Vec<CheckedTerm> {
        crate::qa::glossary_terms(&self.matcher, pair, english)
    }
}

/// A save from the page.
#[derive(Debug, Clone, Copy)]
pub struct SaveRequest<'a> {
    /// The English in the box.
    pub text: &'a str,
    /// The revision the tab last saw.
    pub base_rev: u64,
    /// The editor confirmed the text.
    pub accept: bool,
    /// Store it in the memory too.
    pub commit: bool,
}

/// The answer to a save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub rev: u64,
    pub status: ReviewStatus,
    /// The text this save replaced when another tab had saved the segment
    /// since this one loaded it (the later save wins).
    pub replaced: Option<String>,
}

/// One draft under review.
pub struct Session {
    pub draft_path: PathBuf,
    pub review_path: PathBuf,
    /// The document as reviewed so far.
    pub doc: Bitext,
    /// The draft as `translate` wrote it.
    draft: Bitext,
    state: Vec<SegmentReview>,
    index: HashMap<String, usize>,
    pub cursor: Option<String>,
}

impl Session {
    /// Open a draft and, when there is one, its review file, which must be
    /// the review of this draft (same segments, same Arabic).
    pub fn open(
        draft_path: &Path,
        glossary: Option<&ReviewGlossary>,
    ) -> Result<Session, ReviewError> {
        let name = draft_path.display().to_string();
        let text = read_text(draft_path)?;
        let mut draft = jsonl::read(&name, &text)?;
        if draft.pairs.is_empty() {
            return Err(ReviewError::Empty(name));
        }
        if find_review_record(&name, &text)?.is_some() {
            return Err(ReviewError::Refused(format!(
                "{name} is a review file; open the draft it was made from (its name without .review)"
            )));
        }
        if let Some(g) = glossary {
            for p in &mut draft.pairs {
                p.terms = g.terms(p, p.target.as_deref());
            }
        }
        let review_path = review_path(draft_path);
        let index: HashMap<String, usize> = draft
            .pairs
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        let mut session = Session {
            draft_path: draft_path.to_path_buf(),
            doc: draft.clone(),
            state: draft
                .pairs
                .iter()
                .map(|p| SegmentReview {
                    id: p.id.clone(),
                    rev: 0,
                    status: ReviewStatus::Draft,
                    machine: p.target.clone(),
                    stored: false,
                })
                .collect(),
            draft,
            index,
            cursor: None,
            review_path,
        };
        if session.review_path.exists() {
            session.resume(glossary)?;
        }
        Ok(session)
    }

    /// Take the review file's edits.
    fn resume(&mut self, glossary: Option<&ReviewGlossary>) -> Result<(), ReviewError> {
        let rname = self.review_path.display().to_string();
        let text = read_text(&self.review_path)?;
        let reviewed = jsonl::read(&rname, &text)?;
        let record = find_review_record(&rname, &text)?.unwrap_or_default();
        let stale = |why: String| ReviewError::Stale {
            review: rname.clone(),
            draft: self.draft_path.display().to_string(),
            why,
        };
        if reviewed.pairs.len() != self.draft.pairs.len() {
            return Err(stale(format!(
                "{} segments, the draft has {}",
                reviewed.pairs.len(),
                self.draft.pairs.len()
            )));
        }
        for (r, d) in reviewed.pairs.iter().zip(&self.draft.pairs) {
            if r.id != d.id || fold(&r.source) != fold(&d.source) {
                return Err(stale(format!("segment {} differs", d.id)));
            }
        }
        let states: HashMap<&str, &SegmentReview> =
            record.segments.iter().map(|s| (s.id.as_str(), s)).collect();
        for (i, r) in reviewed.pairs.into_iter().enumerate() {
            let Some(s) = states.get(r.id.as_str()) else {
                continue;
            };
            self.state[i].rev = s.rev;
            self.state[i].status = s.status;
            self.state[i].stored = s.stored;
            if s.status != ReviewStatus::Draft {
                let mut pair = r;
                if let Some(g) = glossary {
                    pair.terms = g.terms(&pair, pair.target.as_deref());
                }
                self.doc.pairs[i] = pair;
            }
        }
        self.cursor = record.cursor.filter(|c| self.index.contains_key(c));
        Ok(())
    }

    pub fn name(&self) -> String {
        self.draft_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.draft_path.display().to_string())
    }

    pub fn state(&self, i: usize) -> &SegmentReview {
        &self.state[i]
    }

    pub fn position(&self, id: &str) -> Result<usize, ReviewError> {
        self.index
            .get(id)
            .copied()
            .ok_or_else(|| ReviewError::NoSegment(id.to_string()))
    }

    /// The draft's English of segment `i`.
    pub fn machine(&self, i: usize) -> Option<&str> {
        self.draft.pairs[i].target.as_deref()
    }

    /// Every segment's revision, for a tab to see what others saved.
    pub fn revisions(&self) -> Vec<(&str, u64)> {
        self.state.iter().map(|s| (s.id.as_str(), s.rev)).collect()
    }

    /// How many segments are edited, accepted, and still flagged.
    pub fn progress(&self) -> (usize, usize, usize) {
        let edited = self
            .state
            .iter()
            .filter(|s| s.status == ReviewStatus::Edited)
            .count();
        let accepted = self
            .state
            .iter()
            .filter(|s| s.status == ReviewStatus::Accepted)
            .count();
        let flagged = self
            .doc
            .pairs
            .iter()
            .filter(|p| output::is_flagged(p))
            .count();
        (edited, accepted, flagged)
    }

    /// Save the editor's English for a segment ([`SaveRequest`]): `base_rev`
    /// is the revision the tab last saw; `accept` confirms the text (the draft's English
    /// kept unchanged becomes `reviewed`); `commit` stores it in the memory
    /// (the page commits when the editor leaves the box or accepts; saves
    /// while typing only go to the review file).
    pub fn save(
        &mut self,
        id: &str,
        req: &SaveRequest<'_>,
        memory: Option<&mut Memory>,
        glossary: Option<&ReviewGlossary>,
    ) -> Result<Saved, ReviewError> {
        let SaveRequest {
            text,
            base_rev,
            accept,
            commit,
        } = *req;
        let i = self.position(id)?;
        let text = text.trim();
        let replaced = (base_rev < self.state[i].rev)
            .then(|| self.doc.pairs[i].target.clone().unwrap_or_default());
        let machine = self.draft.pairs[i].target.clone();
        let unchanged = machine.as_deref().map(fold) == Some(fold(text)).filter(|t| !t.is_empty())
            || (machine.is_none() && text.is_empty());
        let before = (self.doc.pairs[i].target.clone(), self.state[i].status);
        let status = if unchanged {
            if accept || before.1 == ReviewStatus::Accepted {
                ReviewStatus::Accepted
            } else {
                ReviewStatus::Draft
            }
        } else {
            ReviewStatus::Edited
        };
        let mut pair = self.draft.pairs[i].clone();
        match status {
            ReviewStatus::Draft => {}
            ReviewStatus::Accepted => {
                // The editor saw the warnings and kept the English.
                pair.warnings.clear();
            }
            ReviewStatus::Edited => {
                pair.target = Some(text.to_string()).filter(|t| !t.is_empty());
                pair.origin = if pair.target.is_some() {
                    Origin::Human
                } else {
                    Origin::None
                };
                pair.warnings.clear();
                pair.suggestions.clear();
                pair.terms = match glossary {
                    Some(g) => g.terms(&pair, pair.target.as_deref()),
                    None => recheck_terms(&pair.terms, text),
                };
            }
        }
        let same = before.0 == pair.target && before.1 == status;
        self.doc.pairs[i] = pair;
        let s = &mut self.state[i];
        s.status = status;
        if !same {
            s.rev += 1;
            s.stored = false;
        }
        self.cursor = Some(id.to_string());
        let store = commit && !self.state[i].stored && status != ReviewStatus::Draft;
        if store && let Some(m) = memory {
            let origin = if status == ReviewStatus::Edited {
                Provenance::Human
            } else {
                Provenance::Reviewed
            };
            if let Some(p) = memory_pair(&self.doc.pairs[i], origin, memory_document(&self.doc)) {
                m.add_pairs(&[p])?;
            }
            self.state[i].stored = true;
        }
        self.write()?;
        Ok(Saved {
            rev: self.state[i].rev,
            status,
            replaced: replaced.filter(|r| Some(r.as_str()) != self.doc.pairs[i].target.as_deref()),
        })
    }

    /// Store every saved segment the memory does not hold yet (a server
    /// killed between a save and its commit); returns how many.
    pub fn store_pending(&mut self, memory: &mut Memory) -> Result<usize, ReviewError> {
        let document = memory_document(&self.doc);
        let mut pairs = Vec::new();
        let mut done = Vec::new();
        for (i, s) in self.state.iter().enumerate() {
            if s.stored || s.status == ReviewStatus::Draft {
                continue;
            }
            let origin = if s.status == ReviewStatus::Edited {
                Provenance::Human
            } else {
                Provenance::Reviewed
            };
            if let Some(p) = memory_pair(&self.doc.pairs[i], origin, document.clone()) {
                pairs.push(p);
            }
            done.push(i);
        }
        if done.is_empty() {
            return Ok(0);
        }
        memory.add_pairs(&pairs)?;
        for i in &done {
            self.state[*i].stored = true;
        }
        self.write()?;
        Ok(pairs.len())
    }

    /// Remember where the editor is.
    pub fn set_cursor(&mut self, id: &str) -> Result<(), ReviewError> {
        self.position(id)?;
        if self.cursor.as_deref() != Some(id) {
            self.cursor = Some(id.to_string());
            self.write()?;
        }
        Ok(())
    }

    /// Add a glossary entry through `glossary add`'s code (refused as
    /// there: duplicates, conflicts with another file) and reload the
    /// glossary; the file and line written. [`Session::recheck`] then checks
    /// the open documents with it.
    pub fn add_term(
        &mut self,
        glossary: &mut ReviewGlossary,
        source: &str,
        target: &str,
    ) -> Result<(PathBuf, usize), ReviewError> {
        if let Some(at) = glossary.shared.clone() {
            let mut shared = SharedGlossary::open(&at)?;
            let added = shared.add(None, &Entry::new(source, target), false, &at.editor)?;
            let (grown, _) = ReviewGlossary::shared(&at)?;
            *glossary = grown;
            let at = added.location.expect("a stored entry has its place");
            return Ok((at.path, at.line));
        }
        let Some(path) = glossary.target().map(Path::to_path_buf) else {
            return Err(ReviewError::Refused(
                "no glossary file to add to: start the review with --glossary PATH".into(),
            ));
        };
        let entry = Entry::new(source, target);
        let line = edit::add(&path, &entry, Some(&glossary.glossary), false)?;
        let (grown, _) = ReviewGlossary::load(glossary.paths.clone())?;
        *glossary = grown;
        Ok((path, line))
    }

    /// Match and check every segment afresh with `glossary`; the positions
    /// of the segments whose terms changed.
    pub fn recheck(&mut self, glossary: &ReviewGlossary) -> Result<Vec<usize>, ReviewError> {
        let mut changed = Vec::new();
        for (i, p) in self.doc.pairs.iter_mut().enumerate() {
            let terms = glossary.terms(p, p.target.as_deref());
            if terms != p.terms {
                p.terms = terms;
                changed.push(i);
            }
        }
        for p in &mut self.draft.pairs {
            p.terms = glossary.terms(p, p.target.as_deref());
        }
        if !changed.is_empty() {
            self.write()?;
        }
        Ok(changed)
    }

    /// The review file's text: the reviewed document, then the record.
    pub fn review_text(&self) -> String {
        let mut out = jsonl::to_string(&self.doc);
        out.push_str(&review_record_line(&ReviewRecord {
            draft: Some(self.name()),
            cursor: self.cursor.clone(),
            segments: self.state.clone(),
        }));
        out.push('\n');
        out
    }

    /// Write the review file atomically.
    pub fn write(&self) -> Result<(), ReviewError> {
        crate::atomic::write_atomic(&self.review_path, self.review_text().as_bytes())
            .map_err(OutputError::from)?;
        Ok(())
    }

    /// The final English (the text writer over the reviewed document).
    pub fn final_text(&self) -> Result<Vec<u8>, ReviewError> {
        Ok(output::render(
            output::Format::Text,
            &self.doc,
            &output::WriteOptions::default(),
        )?)
    }
}

fn read_text(path: &Path) -> Result<String, ReviewError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|error| ReviewError::Io {
        path: name.clone(),
        error,
    })?;
    Ok(crate::output::review::decode(&name, bytes)?)
}

fn fold(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The drafts of a folder: its `*.jsonl` files that are not review files,
/// by name.
pub fn drafts_in(dir: &Path) -> Result<Vec<PathBuf>, ReviewError> {
    let rd = std::fs::read_dir(dir).map_err(|error| ReviewError::Io {
        path: dir.display().to_string(),
        error,
    })?;
    let mut out: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("jsonl"))
                && !is_review_file(p)
        })
        .collect();
    out.sort();
    if out.is_empty() {
        return Err(ReviewError::Empty(format!(
            "{} (no *.jsonl draft in it)",
            dir.display()
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
