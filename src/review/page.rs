/*!
The review page's HTML, made on the server: the page around the rows, one
row per segment, and the parts of a row the page replaces after a save.

The Arabic and the English preview use the bilingual HTML writer's term
marking ([`crate::output::html`]): each pinned term numbered and coloured
alike on both sides. Everything from a document is escaped there and here;
the English box is a `<textarea>`, whose content the browser never parses
as markup, so a segment holding a script is shown as text. The page loads
one style sheet and one script, both inside the binary.
*/

use std::fmt::Write as _;

use crate::model::{AlignedPair, Origin, Suggestion};
use crate::output::html::{
    escape, notes_html, origin_label, source_cell, target_cell, term_css, text_html,
};
use crate::output::review::ReviewStatus;
use crate::output::{flags_of, is_flagged};

use super::Session;

/// The page's style sheet.
pub const CSS: &str = include_str!("review.css");
/// The page's script.
pub const JS: &str = include_str!("review.js");

/// The style sheet with the term colours.
pub fn css() -> String {
    format!("{CSS}\n{}", term_css(".row"))
}

/// The replaceable parts of a row, as the page puts them in.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RowParts {
    pub id: String,
    pub rev: u64,
    pub status: ReviewStatus,
    pub flagged: bool,
    /// The English as saved (the box's text).
    pub text: String,
    pub ar: String,
    pub preview: String,
    pub info: String,
    pub notes: String,
}

fn status_label(s: ReviewStatus) -> &'static str {
    match s {
        ReviewStatus::Draft => "to review",
        ReviewStatus::Edited => "edited",
        ReviewStatus::Accepted => "accepted",
    }
}

/// The parts of row `i` of `session`.
pub fn row_parts(session: &Session, i: usize) -> RowParts {
    let pair = &session.doc.pairs[i];
    let state = session.state(i);
    let mut quiet = pair.clone();
    quiet.suggestions.clear();
    let flags: Vec<&str> = flags_of(&quiet);
    let preview = match &pair.target {
        Some(t) => target_cell(pair, t),
        None => "<span class=\"missing\">Not translated</span>".to_string(),
    };
    let mut info = format!(
        "{} · <span class=\"status\">{}</span>",
        origin_label(pair.origin),
        status_label(state.status)
    );
    if !flags.is_empty() {
        let _ = write!(
            info,
            " · <span class=\"flags\">{}</span>",
            escape(&flags.join(", "))
        );
    }
    RowParts {
        id: pair.id.clone(),
        rev: state.rev,
        status: state.status,
        flagged: is_flagged(pair),
        text: pair.target.clone().unwrap_or_default(),
        ar: source_cell(pair),
        preview,
        info,
        notes: notes_html(&quiet, None),
    }
}

fn suggestions_html(pair: &AlignedPair, extra: &[Suggestion]) -> String {
    let mut out = String::new();
    let mut seen: Vec<&str> = Vec::new();
    for s in pair.suggestions.iter().chain(extra) {
        if seen.contains(&s.target.as_str()) || pair.target.as_deref() == Some(s.target.as_str()) {
            continue;
        }
        seen.push(&s.target);
        let origin = match s.origin {
            Origin::Human => "human",
            Origin::Memory => "memory",
            Origin::Mt => "machine",
            Origin::None => "memory",
        };
        let _ = write!(
            out,
            "<li><button type=\"button\" class=\"take\" data-text=\"{}\" title=\"Use this English\">Use</button> \
             <span class=\"score\">{}%</span> <span class=\"origin\">{origin}</span> \
             <bdi lang=\"ar\" dir=\"rtl\">{}</bdi> → <span class=\"sugg-en\">{}</span></li>",
            escape(&s.target),
            s.score,
            escape(&s.source),
            text_html(&s.target, false)
        );
    }
    out
}

/// One row: the Arabic beside the English box, the marked English, the
/// row's warnings and the memory's suggestions.
pub fn row_html(out: &mut String, session: &Session, i: usize, fuzzy: &[Suggestion]) {
    let p = row_parts(session, i);
    let id = escape(&p.id);
    let _ = write!(
        out,
        "<section class=\"row status-{status}{flag}\" id=\"seg-{id}\" data-id=\"{id}\" data-rev=\"{rev}\">\n\
         <div class=\"sid\"><a href=\"#seg-{id}\">{id}</a></div>\n\
         <div class=\"ar\" lang=\"ar\" dir=\"rtl\">{ar}</div>\n\
         <div class=\"en\">\n\
         <textarea class=\"edit\" lang=\"en\" dir=\"ltr\" spellcheck=\"true\" rows=\"3\" aria-label=\"English for {id}\">{text}</textarea>\n\
         <div class=\"preview\" lang=\"en\" dir=\"ltr\">{preview}</div>\n\
         <div class=\"info\">{info}</div>\n\
         <ul class=\"notes\">{notes}</ul>\n",
        status = match p.status {
            ReviewStatus::Draft => "draft",
            ReviewStatus::Edited => "edited",
            ReviewStatus::Accepted => "accepted",
        },
        flag = if p.flagged { " flagged" } else { "" },
        rev = p.rev,
        ar = p.ar,
        text = escape(&p.text),
        preview = p.preview,
        info = p.info,
        notes = p.notes,
    );
    let sugg = suggestions_html(&session.doc.pairs[i], fuzzy);
    if !sugg.is_empty() {
        let _ = writeln!(
            out,
            "<ul class=\"sugg\" aria-label=\"Memory suggestions\">{sugg}</ul>"
        );
    }
    out.push_str(
        "<div class=\"actions\"><button type=\"button\" class=\"accept\" title=\"Ctrl+Enter\">Accept</button>\
         <span class=\"saved\" aria-live=\"polite\"></span></div>\n</div>\n</section>\n",
    );
}

fn head(out: &mut String, token: &str, title: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\" dir=\"ltr\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{}</title>\n<link rel=\"stylesheet\" href=\"/{token}/review.css\">\n",
        escape(title)
    );
}

/// The summary line of a document.
pub fn progress_text(session: &Session) -> String {
    let (edited, accepted, flagged) = session.progress();
    format!(
        "{} segments · {edited} edited · {accepted} accepted · {flagged} need review",
        session.doc.pairs.len()
    )
}

/// The page of one document. `fuzzy[i]`: the memory's suggestions for row `i`.
pub fn document_page(
    session: &Session,
    token: &str,
    doc: usize,
    fuzzy: &[Vec<Suggestion>],
    glossary_file: Option<&str>,
    list: bool,
) -> String {
    let mut out = String::with_capacity(8192 + session.doc.pairs.len() * 2048);
    let name = session.name();
    head(&mut out, token, &format!("Review: {name}"));
    let base = format!("/{token}/doc/{doc}");
    let _ = write!(
        out,
        "<script src=\"/{token}/review.js\" defer></script>\n</head>\n\
         <body data-base=\"{base}\" data-root=\"/{token}\" data-cursor=\"{cursor}\">\n\
         <header class=\"bar\">\n<div class=\"title\">{back}<h1>{name}</h1> \
         <span id=\"progress\" class=\"progress\">{progress}</span></div>\n\
         <div class=\"controls\">\
         <label><input type=\"checkbox\" id=\"only-flagged\"> Only rows that need review</label> \
         <a class=\"button\" href=\"{base}/final.txt\" download>Final English</a> \
         <button type=\"button\" id=\"done\" title=\"Save everything and stop the server\">Done</button></div>\n\
         <p class=\"keys\">Alt+↓ / Alt+↑ next / previous row · Ctrl+Enter accept and go on · \
         Alt+Shift+↓ next row that needs review · select Arabic to add a glossary term</p>\n",
        cursor = escape(session.cursor.as_deref().unwrap_or("")),
        back = if list {
            format!("<a class=\"back\" href=\"/{token}/\">All documents</a> ")
        } else {
            String::new()
        },
        name = escape(&name),
        progress = escape(&progress_text(session)),
    );
    let _ = write!(
        out,
        "<form id=\"term-form\" class=\"term-form\" hidden>\
         <span>Glossary{file}:</span> <bdi id=\"term-ar\" lang=\"ar\" dir=\"rtl\"></bdi> → \
         <input id=\"term-en\" lang=\"en\" dir=\"ltr\" placeholder=\"English\" aria-label=\"English for the glossary entry\" required> \
         <button type=\"submit\" id=\"term-add\">Add to glossary</button> \
         <button type=\"button\" id=\"term-cancel\">Cancel</button></form>\n\
         <div id=\"notice\" class=\"notice\" role=\"status\" aria-live=\"polite\"></div>\n</header>\n<main id=\"rows\">\n",
        file = glossary_file
            .map(|f| format!(" ({})", escape(f)))
            .unwrap_or_default()
    );
    for i in 0..session.doc.pairs.len() {
        row_html(
            &mut out,
            session,
            i,
            fuzzy.get(i).map(Vec::as_slice).unwrap_or(&[]),
        );
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// The list page of a folder of drafts.
pub fn list_page(sessions: &[Session], token: &str) -> String {
    let mut out = String::new();
    head(&mut out, token, "Review");
    let _ = write!(
        out,
        "<script src=\"/{token}/review.js\" defer></script>\n</head>\n<body class=\"list\" data-root=\"/{token}\">\n\
         <header class=\"bar\"><div class=\"title\"><h1>Documents to review</h1></div>\
         <div class=\"controls\"><button type=\"button\" id=\"done\">Done</button></div>\
         <div id=\"notice\" class=\"notice\" role=\"status\" aria-live=\"polite\"></div></header>\n<main>\n<ol class=\"docs\">\n"
    );
    for (i, s) in sessions.iter().enumerate() {
        let title = s
            .doc
            .meta
            .title
            .clone()
            .or_else(|| s.doc.pairs.first().map(|p| p.source.clone()))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<li><a href=\"/{token}/doc/{i}\">{}</a> <span class=\"progress\">{}</span><div class=\"gist\" lang=\"ar\" dir=\"rtl\">{}</div></li>",
            escape(&s.name()),
            escape(&progress_text(s)),
            text_html(&title, true)
        );
    }
    out.push_str("</ol>\n</main>\n</body>\n</html>\n");
    out
}

/// The page shown after "done".
pub fn finished_message(sessions: &[Session]) -> String {
    let files: Vec<String> = sessions
        .iter()
        .map(|s| s.review_path.display().to_string())
        .collect();
    format!(
        "Review saved in {}. The server has stopped; you can close this tab. `tarjama render FILE -o article.txt` writes the final English.",
        files.join(", ")
    )
}
