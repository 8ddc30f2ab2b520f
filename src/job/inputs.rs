/*!
The documents of a job as a command line names them: files, standard input,
URLs and folders of articles, each with where its output goes and in which
format. A library user translating a folder gets the same documents, names
and skipped files as `tarjama translate`.
*/

use std::path::{Path, PathBuf};

use super::Document;
use crate::input::{Source, is_docx_name, is_html_name};
use crate::output::Format;

/// Why the documents of a job cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The arguments do not make a job (the message says what to change).
    #[error("{0}")]
    Invalid(String),
    #[error("reading directory {path}: {error}")]
    Dir { path: String, error: std::io::Error },
}

/// A file a folder held that is not translated, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    pub why: &'static str,
}

/// Why a folder's entry is not one of its articles (`None`: it is one).
fn skip_reason(p: &Path) -> Option<&'static str> {
    let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
    if name.as_deref().is_some_and(|n| n.starts_with('.')) {
        return Some("hidden");
    }
    if p.is_dir() {
        return Some("a folder (folders inside are not read)");
    }
    if !p.is_file() {
        return Some("not a regular file");
    }
    if is_html_name(p) || is_docx_name(p) {
        return None;
    }
    match p.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("txt") => None,
        _ => Some("not a *.txt, *.html or *.docx file; rename it to translate it"),
    }
}

/// The documents the arguments name: files as given, a folder's `*.txt`
/// files in name order (with what else it held, and why that is skipped);
/// whether a folder was given.
fn expand_inputs(files: &[PathBuf]) -> Result<(Vec<Source>, bool, Vec<Skipped>), PlanError> {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    let mut had_dir = false;
    for f in files {
        if f.is_dir() {
            had_dir = true;
            let mut entries: Vec<PathBuf> = std::fs::read_dir(f)
                .map_err(|error| PlanError::Dir {
                    path: f.display().to_string(),
                    error,
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            let mut found = Vec::new();
            for p in entries {
                match skip_reason(&p) {
                    None => found.push(p),
                    Some(why) => skipped.push(Skipped { path: p, why }),
                }
            }
            if found.is_empty() {
                let also = if skipped.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (skipped: {})",
                        skipped
                            .iter()
                            .map(|s| format!("{}: {}", s.path.display(), s.why))
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                };
                return Err(PlanError::Invalid(format!(
                    "{}: no *.txt, *.html or *.docx files in this directory{also}",
                    f.display()
                )));
            }
            out.extend(found.into_iter().map(Source::File));
        } else {
            out.push(Source::from_arg(Some(f)));
        }
    }
    Ok((out, had_dir, skipped))
}

/// The documents of a job, the format they are written in, and what the
/// folders named held that is skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    pub documents: Vec<Document>,
    pub format: Format,
    pub skipped: Vec<Skipped>,
}

/// The documents `files` name (files as given, `-` for standard input, a
/// folder's articles in name order) and where each one's output goes:
/// `output` (`None` or `-`: standard output) is a file, or a folder when
/// there are several inputs; the format is `to` (a name), else the output's
/// extension, else JSONL. A `dry_run` needs no output folder.
pub fn plan(
    files: &[PathBuf],
    output: Option<&Path>,
    to: Option<&str>,
    dry_run: bool,
) -> Result<Inputs, PlanError> {
    let (sources, had_dir, skipped) = expand_inputs(files)?;
    // `-o -` is standard output, as no `-o` is.
    let output = output.filter(|o| o.as_os_str() != "-");
    let named = match to {
        Some(t) => Some(Format::from_name(t).ok_or_else(|| {
            PlanError::Invalid(format!(
                "unknown output format {t:?}; use one of: {}",
                Format::ALL.map(|f| f.name()).join(", ")
            ))
        })?),
        None => None,
    };
    let several = sources.len() > 1;
    if sources.iter().filter(|s| **s == Source::Stdin).count() > 0 && (several || had_dir) {
        return Err(PlanError::Invalid(
            "`-` (standard input) cannot be combined with other inputs".into(),
        ));
    }
    // A folder's output is a folder unless `-o` names a file (a folder
    // holding one article may go to `-o x.html`).
    let out_is_dir =
        output.is_some_and(|o| o.is_dir() || ((several || had_dir) && o.extension().is_none()));
    if several && !out_is_dir && !dry_run {
        return Err(PlanError::Invalid(
            "several inputs need an output directory: pass -o DIR (one output per input is written into it)".into(),
        ));
    }
    let format = match (output, named) {
        (_, Some(f)) => f,
        (Some(o), None) if !out_is_dir => Format::from_path(o).ok_or_else(|| {
            PlanError::Invalid(format!(
                "cannot tell the output format from {}; use an extension ({}) or --to",
                o.display(),
                Format::ALL.map(|f| f.extension()).join(", ")
            ))
        })?,
        _ => Format::Jsonl,
    };
    let documents = sources
        .into_iter()
        .map(|source| {
            let output = match output {
                Some(dir) if out_is_dir => {
                    let stem = match &source {
                        Source::File(p) => p
                            .file_stem()
                            .map(|s| s.to_string_lossy().into_owned())
                            .unwrap_or_else(|| "output".into()),
                        Source::Stdin => "stdin".into(),
                    };
                    // "x.ar.txt" → "x.ar.jsonl" keeps the language tag.
                    Some(dir.join(format!("{stem}.{}", format.extension())))
                }
                Some(o) => Some(o.to_path_buf()),
                None => None,
            };
            Document { source, output }
        })
        .collect();
    Ok(Inputs {
        documents,
        format,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_gives_one_output_per_input() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.ar.txt"), "نص.").unwrap();
        std::fs::write(dir.path().join("b.txt"), "نص.").unwrap();
        std::fs::write(dir.path().join("notes.md"), "x").unwrap();
        std::fs::write(dir.path().join("page.html"), "<p>x</p>").unwrap();
        std::fs::write(dir.path().join("x.text"), "نص.").unwrap();
        let out = dir.path().join("out");
        let Inputs {
            documents: jobs,
            format,
            skipped,
        } = plan(&[dir.path().to_path_buf()], Some(&out), None, false).unwrap();
        let why: Vec<_> = skipped
            .iter()
            .map(|s| {
                (
                    s.path.file_name().unwrap().to_string_lossy().into_owned(),
                    s.why,
                )
            })
            .collect();
        assert_eq!(why.len(), 2, "{why:?}");
        assert!(
            why[0].0 == "notes.md" && why[0].1.contains("not a *.txt, *.html or *.docx"),
            "{why:?}"
        );
        assert!(
            why[1].0 == "x.text" && why[1].1.contains("rename"),
            "{why:?}"
        );
        assert_eq!(format, Format::Jsonl);
        // Web pages are articles too.
        let outs: Vec<PathBuf> = jobs.iter().map(|j| j.output.clone().unwrap()).collect();
        assert_eq!(
            outs,
            [
                out.join("a.ar.jsonl"),
                out.join("b.jsonl"),
                out.join("page.jsonl")
            ]
        );
    }

    #[test]
    fn bad_arguments_say_what_to_change() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.txt");
        let b = dir.path().join("b.txt");
        std::fs::write(&a, "نص.").unwrap();
        std::fs::write(&b, "نص.").unwrap();
        let e = |files: &[PathBuf], out: Option<&Path>, to| {
            plan(files, out, to, false).unwrap_err().to_string()
        };
        assert!(e(&[a.clone(), b.clone()], None, None).contains("pass -o DIR"));
        assert!(e(&[a.clone(), PathBuf::from("-")], None, None).contains("standard input"));
        assert!(
            e(std::slice::from_ref(&a), None, Some("pdf"))
                .contains("unknown output format \"pdf\"")
        );
        assert!(e(std::slice::from_ref(&a), Some(Path::new("x.pdf")), None).contains("or --to"));
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert!(e(&[empty], None, None).contains("no *.txt, *.html or *.docx files"));
        // A dry run of several needs no folder; `-o -` is standard output.
        let p = plan(&[a.clone(), b], None, None, true).unwrap();
        assert!(p.documents.iter().all(|d| d.output.is_none()));
        let p = plan(&[a], Some(Path::new("-")), Some("html"), false).unwrap();
        assert_eq!(
            (p.documents[0].output.clone(), p.format),
            (None, Format::Html)
        );
    }
}
