/*!
Web pages in: the article of a saved (or fetched) news page, as paragraphs.

A news page is mostly not the article: navigation, share buttons, related
links, comment policies, scripts. Translating it whole sends all that to the
engine. This module decodes the page (charset from the HTTP header, a BOM,
or `<meta charset>` / `http-equiv`, windows-1256 included, via
`encoding_rs`, the WHATWG encoding standard's implementation), parses it with
`scraper` (html5ever, the browser-grade parser Servo uses; chosen over the
readability ports because their output is cleaned HTML that would still
have to be cut into paragraphs, and because a small scoring rule kept here
can be read and tested against real Arabic pages) and keeps:

- the headline (the page's `<h1>`; `og:title` or `<title>` as the title);
- a dateline, byline or lead between the headline and the body when it is
  marked (`<time>`, or a class/id/itemprop naming date, time, author,
  byline, lead, standfirst or description; a marked box that holds
  `<time>`s gives those, each a paragraph, without the section link beside
  them; one whose text holds a web address is microdata, and one that
  repeats the headline says nothing new: both are left out);
- the body: the element whose own paragraphs (a `<p>` alone in a `<div>`
  counts as one) hold the most text, flattened
  into paragraphs (`<p>`, headings, list items, `<br>`-separated runs),
  without sub-blocks that are boilerplate (class or id naming share, social,
  related, comment, nav, ad, tags...) or that hold little text next to it
  (text as a reader sees it: a `<noscript>` fallback's markup is not text).

A page with no such body is an error ("no article found"), never an empty
translation.
*/

use scraper::{ElementRef, Html, Node};

/// Paragraphs shorter than this many characters in total mean "no article".
const MIN_ARTICLE_CHARS: usize = 140;
/// Elements nested deeper than this are not read (html5ever builds any
/// depth; the walk below is recursive and must not overflow the stack).
const MAX_DEPTH: usize = 256;

/// What was read from a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The page's title (`og:title`, else `<title>`, else the headline).
    pub title: Option<String>,
    /// The article's paragraphs in reading order.
    pub blocks: Vec<super::Block>,
}

/// Why a page gave nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageError {
    /// No element holds enough paragraph text to be an article.
    NoArticle,
    /// The bytes do not decode in the charset the page declares.
    Charset(String),
    /// Elements nested deeper than [`MAX_NESTING`] (the HTML parsing
    /// algorithm is quadratic in depth: a hostile page would hang it).
    TooDeep,
}

/// The deepest nesting of elements a page may have.
pub const MAX_NESTING: usize = 2000;

/// How deep the page's tags nest, counted from its start and end tags
/// (elements whose end tag may be left out, and void elements, are not
/// counted): a cheap look before the parser runs.
fn nesting(html: &str) -> usize {
    const UNCOUNTED: &[&str] = &[
        "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "tbody", "thead", "tfoot",
        "colgroup", "caption", "rb", "rt", "rp", "html", "head", "body", "area", "base", "br",
        "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr", "param",
    ];
    let b = html.as_bytes();
    let (mut depth, mut max) = (0usize, 0usize);
    let mut i = 0;
    while let Some(off) = b[i..].iter().position(|&c| c == b'<') {
        i += off + 1;
        let close = b.get(i) == Some(&b'/');
        let start = if close { i + 1 } else { i };
        let end = b[start..]
            .iter()
            .position(|c| !c.is_ascii_alphanumeric())
            .map_or(b.len(), |n| start + n);
        if end == start {
            continue;
        }
        let name = html[start..end].to_ascii_lowercase();
        if UNCOUNTED.contains(&name.as_str()) {
            continue;
        }
        if close {
            depth = depth.saturating_sub(1);
        } else {
            let self_closing = b[end..]
                .iter()
                .position(|&c| c == b'>')
                .is_some_and(|n| n > 0 && b[end + n - 1] == b'/');
            if !self_closing {
                depth += 1;
                max = max.max(depth);
            }
        }
    }
    max
}

/// The charset a `Content-Type` value names (`text/html; charset=x`).
pub fn charset_of_content_type(ct: &str) -> Option<String> {
    ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(['"', '\'']).to_string())
    })
}

/// The charset declared in the first 1024 bytes of a page (`<meta
/// charset=x>` or `<meta http-equiv=Content-Type content="...; charset=x">`),
/// as the HTML standard's prescan looks for it.
fn prescan_charset(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(1024)];
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    let mut rest = head.as_str();
    while let Some(i) = rest.find("<meta") {
        rest = &rest[i + 5..];
        let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
        if let Some(j) = tag.find("charset") {
            let after = tag[j + 7..].trim_start();
            if let Some(v) = after.strip_prefix('=') {
                let v = v.trim_start().trim_start_matches(['"', '\'']);
                let end = v
                    .find(|c: char| {
                        c == '"' || c == '\'' || c == ';' || c.is_whitespace() || c == '/'
                    })
                    .unwrap_or(v.len());
                if end > 0 {
                    return Some(v[..end].to_string());
                }
            }
        }
    }
    None
}

/// Decode a page: a BOM wins, then the HTTP header's charset, then the
/// page's own declaration, then UTF-8. Returns the text and the encoding used.
pub fn decode(
    bytes: &[u8],
    header_charset: Option<&str>,
) -> Result<(String, &'static str), PageError> {
    if let Some((enc, _)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = enc.decode_with_bom_removal(bytes);
        return finish(text.into_owned(), had_errors, enc);
    }
    let declared = header_charset
        .map(str::to_string)
        .or_else(|| prescan_charset(bytes));
    let enc = declared
        .as_deref()
        .and_then(|l| encoding_rs::Encoding::for_label(l.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    // A page saved as UTF-16 declares "utf-16" but the bytes of the
    // declaration are ASCII: the standard says to read it as UTF-8.
    let enc = if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
        encoding_rs::UTF_8
    } else {
        enc
    };
    let (text, had_errors) = enc.decode_without_bom_handling(bytes);
    finish(text.into_owned(), had_errors, enc)
}

fn finish(
    text: String,
    had_errors: bool,
    enc: &'static encoding_rs::Encoding,
) -> Result<(String, &'static str), PageError> {
    if had_errors {
        return Err(PageError::Charset(format!(
            "the page does not decode as {} (the charset it declares, or UTF-8 when it declares none)",
            enc.name()
        )));
    }
    Ok((text, enc.name()))
}

/// Class and id words that mark boilerplate, not article text.
const UNLIKELY: &[&str] = &[
    "share",
    "social",
    "related",
    "comment",
    "footer",
    "nav",
    "menu",
    "sidebar",
    "breadcrumb",
    "advert",
    "ads",
    "banner",
    "tags",
    "widget",
    "popular",
    "most-read",
    "newsletter",
    "promo",
    "subscribe",
    "cookie",
    "sponsor",
    "outbrain",
    "taboola",
    "toolbar",
    "login",
    "tweet",
    "twitter",
    "instagram",
    "embed",
];

/// Class and id words that mark boilerplate only as a whole word or with a
/// hyphen (`print`, `btn-print`), not inside another word: `PrintThis`
/// marks what a page prints, its article (LBCI's headline and body).
const UNLIKELY_WORDS: &[&str] = &["print"];

/// Elements whose content is never article text.
const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "template", "nav", "aside", "footer", "form", "iframe", "svg",
    "button", "select", "textarea", "object", "embed", "figure", "video", "audio", "canvas",
    "menu",
];

/// Elements that end a paragraph.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "ul",
    "ol",
    "blockquote",
    "table",
    "tr",
    "td",
    "th",
    "dl",
    "dt",
    "dd",
    "pre",
    "hr",
    "center",
    "address",
    "time",
    "header",
    "footer",
    "figure",
    "figcaption",
    "form",
];

fn is_unlikely(e: &ElementRef) -> bool {
    let v = e.value();
    // `<article>`, `<main>` and `<body>` name their own role: their classes
    // are about the page's template (Drupal's `node-not-promoted`,
    // WordPress's `tag-…`), not boilerplate, as in readability.
    if matches!(v.name(), "article" | "main" | "body") {
        return v.attr("aria-hidden") == Some("true") || v.attr("hidden").is_some();
    }
    let words = format!(
        "{} {}",
        v.attr("class").unwrap_or(""),
        v.attr("id").unwrap_or("")
    )
    .to_ascii_lowercase();
    if words.trim().is_empty() {
        return false;
    }
    words
        .split(|c: char| c.is_whitespace() || c == '_')
        .any(|w| {
            UNLIKELY.iter().any(|u| {
                w == *u
                    || w.starts_with(&format!("{u}-"))
                    || w.ends_with(&format!("-{u}"))
                    || (u.len() > 4 && w.contains(u))
            }) || UNLIKELY_WORDS.iter().any(|u| {
                w == *u || w.starts_with(&format!("{u}-")) || w.ends_with(&format!("-{u}"))
            })
        })
        || v.attr("role")
            .is_some_and(|r| r == "navigation" || r == "complementary")
        || v.attr("aria-hidden") == Some("true")
        || v.attr("hidden").is_some()
}

fn is_skipped(e: &ElementRef) -> bool {
    (SKIPPED.contains(&e.value().name()) && !page_wide_form(e)) || is_unlikely(e)
}

/// A `<form>` right under `<body>` holds the page, not a comment or search
/// box: ASP.NET WebForms wraps every page in one (`<form id="aspnetForm">`,
/// LBCI's pages).
fn page_wide_form(e: &ElementRef) -> bool {
    e.value().name() == "form"
        && e.parent()
            .and_then(ElementRef::wrap)
            .is_some_and(|p| p.value().name() == "body")
}

/// A dateline, byline or lead marked as such (see the module docs).
fn marked_meta(e: &ElementRef) -> bool {
    let v = e.value();
    if v.name() == "time" {
        return true;
    }
    let words = format!(
        "{} {} {}",
        v.attr("class").unwrap_or(""),
        v.attr("id").unwrap_or(""),
        v.attr("itemprop").unwrap_or("")
    )
    .to_ascii_lowercase();
    // A reading-time estimate ("2 min", LBCI's `time_to_read`) is no dateline.
    if ["to_read", "to-read", "read-time", "read_time", "reading"]
        .iter()
        .any(|m| words.contains(m))
    {
        return false;
    }
    // A lead (standfirst) in a box of its own before the body: Sputnik
    // Arabic's `b-article__lead`, marked `itemprop="description"` too.
    [
        "date",
        "time",
        "byline",
        "author",
        "dateline",
        "published",
        "lead",
        "standfirst",
        "description",
    ]
    .iter()
    .any(|m| words.contains(m))
}

/// The text of a dateline or byline without the section label a page may
/// put in the same box (LBCI's category link in its author box).
fn meta_text(e: &ElementRef, depth: usize, out: &mut String) {
    if depth > MAX_DEPTH {
        return;
    }
    for child in e.children() {
        match child.value() {
            Node::Text(t) => out.push_str(t),
            Node::Element(el) => {
                let c = ElementRef::wrap(child).expect("element");
                let class = el.attr("class").unwrap_or("").to_ascii_lowercase();
                if !class.contains("category") && !is_skipped(&c) {
                    meta_text(&c, depth + 1, out);
                }
            }
            _ => {}
        }
    }
}

/// What of a marked dateline box is read: the `<time>` elements it holds,
/// each a paragraph, when it holds any (RT Arabic's `time-public` box: the
/// publication and update times, each in its own `<p>` with the section's
/// link after it), else the whole box.
fn dateline_parts<'a>(e: &ElementRef<'a>) -> Vec<ElementRef<'a>> {
    if e.value().name() == "time" {
        return vec![*e];
    }
    let times: Vec<ElementRef> = e
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(|d| d.value().name() == "time")
        .filter(|d| {
            !d.ancestors()
                .take_while(|a| a.id() != e.id())
                .filter_map(ElementRef::wrap)
                .any(|a| a.value().name() == "time" || is_skipped(&a))
        })
        .collect();
    if times.is_empty() { vec![*e] } else { times }
}

/// The elements of a page in document order, each with whether an
/// ancestor is skipped, down to [`MAX_DEPTH`]: one pass, iterative, so a
/// hostile nesting costs linear time and no stack.
fn elements<'a>(root: ElementRef<'a>) -> Vec<(ElementRef<'a>, bool)> {
    let mut out = Vec::new();
    let mut stack = vec![(root, false, 0usize)];
    while let Some((e, inside, depth)) = stack.pop() {
        out.push((e, inside));
        if depth >= MAX_DEPTH {
            continue;
        }
        let below = inside || is_skipped(&e);
        let children: Vec<ElementRef> = e.children().filter_map(ElementRef::wrap).collect();
        for c in children.into_iter().rev() {
            stack.push((c, below, depth + 1));
        }
    }
    out
}

/// Characters of text directly in `e`'s paragraph children (`<p>`, and
/// text runs of its own), not in deeper blocks: how much of an article
/// this element itself holds.
fn own_score(e: &ElementRef) -> usize {
    let mut n = 0;
    for child in e.children() {
        match child.value() {
            Node::Text(t) => n += letters(t),
            Node::Element(_) => {
                let c = ElementRef::wrap(child).expect("element");
                if is_skipped(&c) {
                    continue;
                }
                let name = c.value().name();
                if name == "p" || !BLOCKS.contains(&name) || paragraph_wrapper(&c) {
                    n += text_letters(&c);
                }
            }
            _ => {}
        }
    }
    n
}

/// A `<div>` or `<section>` around one `<p>` and nothing else: a paragraph
/// in its own box (BBC Arabic's pages put every paragraph of the article in
/// one), counted and read as the paragraph it holds.
fn paragraph_wrapper(e: &ElementRef) -> bool {
    if !matches!(e.value().name(), "div" | "section") {
        return false;
    }
    let mut paragraphs = 0;
    for child in e.children() {
        match child.value() {
            Node::Text(t) if !t.trim().is_empty() => return false,
            Node::Element(el) if el.name() == "p" => paragraphs += 1,
            Node::Element(_) => return false,
            _ => {}
        }
    }
    paragraphs == 1
}

fn letters(s: &str) -> usize {
    s.chars().filter(|c| c.is_alphanumeric()).count()
}

/// Whether an element's content is code or markup kept as text, never
/// shown: html5ever keeps a `<noscript>`'s content as raw text, so a link
/// around a lazy-loaded picture (RT Arabic's "read more" box) would count
/// its `<img src=…>` fallback as letters.
fn is_unshown(name: &str) -> bool {
    matches!(name, "script" | "style" | "noscript" | "template")
}

/// The letters of `e`'s text as a reader sees it (no [`is_unshown`]
/// content), iteratively, down to [`MAX_DEPTH`].
fn text_letters(e: &ElementRef) -> usize {
    let mut n = 0;
    let mut stack = vec![(*e, 0usize)];
    while let Some((el, depth)) = stack.pop() {
        for child in el.children() {
            match child.value() {
                Node::Text(t) => n += letters(t),
                Node::Element(v) if !is_unshown(v.name()) && depth < MAX_DEPTH => {
                    stack.push((ElementRef::wrap(child).expect("element"), depth + 1));
                }
                _ => {}
            }
        }
    }
    n
}

/// Fold white space to single spaces and trim.
fn fold(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `e` cut into paragraphs: runs of inline content, ended by `<br>` or a
/// block; nested blocks in order, except skipped ones and sub-blocks that
/// hold little text next to the article (`min` letters of their own).
fn flatten(e: &ElementRef, min: usize, depth: usize, out: &mut Vec<super::Block>) {
    if depth > MAX_DEPTH {
        return;
    }
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut Vec<super::Block>| {
        let t = fold(run);
        if !t.is_empty() {
            out.push(super::Block::para(t));
        }
        run.clear();
    };
    for child in e.children() {
        match child.value() {
            Node::Text(t) => run.push_str(t),
            Node::Element(el) => {
                let c = ElementRef::wrap(child).expect("element");
                let name = el.name();
                if name == "br" {
                    flush(&mut run, out);
                    continue;
                }
                if is_skipped(&c) {
                    continue;
                }
                if !BLOCKS.contains(&name) {
                    inline_text(&c, depth + 1, &mut run);
                    continue;
                }
                flush(&mut run, out);
                if let Some(level) = heading_level(name) {
                    let t = fold(&c.text().collect::<String>());
                    if !t.is_empty() {
                        out.push(super::Block::heading(t, level));
                    }
                } else if name == "p"
                    || name == "li"
                    || name == "blockquote"
                    || name == "dd"
                    || paragraph_wrapper(&c)
                {
                    flatten(&c, 0, depth + 1, out);
                } else if own_score(&c) >= min || name == "table" || name == "ul" || name == "ol" {
                    flatten(&c, min, depth + 1, out);
                }
            }
            _ => {}
        }
    }
    flush(&mut run, out);
}

/// The text of an inline element (links, bold...), `<br>` as a space.
fn inline_text(e: &ElementRef, depth: usize, out: &mut String) {
    if depth > MAX_DEPTH {
        return;
    }
    for child in e.children() {
        match child.value() {
            Node::Text(t) => out.push_str(t),
            Node::Element(el) if el.name() == "br" => out.push(' '),
            Node::Element(_) => {
                let c = ElementRef::wrap(child).expect("element");
                if !is_unshown(c.value().name()) {
                    inline_text(&c, depth + 1, out);
                }
            }
            _ => {}
        }
    }
}

fn heading_level(name: &str) -> Option<u8> {
    match name {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        "h4" => Some(4),
        "h5" => Some(5),
        "h6" => Some(6),
        _ => None,
    }
}

/// The article of a page (see the module docs).
pub fn extract(html: &str) -> Result<Page, PageError> {
    if nesting(html) > MAX_NESTING {
        return Err(PageError::TooDeep);
    }
    let doc = Html::parse_document(html);
    let root = doc.root_element();
    let annotated = elements(root);
    let inside: std::collections::HashSet<_> = annotated
        .iter()
        .filter(|(_, inside)| *inside)
        .map(|(e, _)| e.id())
        .collect();
    let inside_skipped = |e: &ElementRef| inside.contains(&e.id());
    let all: Vec<ElementRef> = annotated.iter().map(|(e, _)| *e).collect();
    // The body: the element whose own paragraphs hold the most text.
    let mut best: Option<(usize, ElementRef)> = None;
    for e in &all {
        let name = e.value().name();
        if !matches!(
            name,
            "div" | "article" | "section" | "main" | "td" | "body" | "span" | "font" | "center"
        ) {
            continue;
        }
        if is_skipped(e) || inside_skipped(e) {
            continue;
        }
        let s = own_score(e);
        if best.as_ref().is_none_or(|(b, _)| s > *b) {
            best = Some((s, *e));
        }
    }
    let Some((score, body)) = best.filter(|(s, _)| *s >= MIN_ARTICLE_CHARS) else {
        return Err(PageError::NoArticle);
    };
    // The headline: the first <h1> outside boilerplate, before the body or in it.
    let h1 = all
        .iter()
        .find(|e| e.value().name() == "h1" && !inside_skipped(e) && !is_skipped(e));
    let mut blocks = Vec::new();
    let body_id = body.id();
    let body_ancestors: std::collections::HashSet<_> = body.ancestors().map(|a| a.id()).collect();
    let h1_in_body = h1.is_some_and(|h| h.ancestors().any(|a| a.id() == body_id));
    if let Some(h) = h1.filter(|_| !h1_in_body) {
        let headline = fold(&h.text().collect::<String>());
        if !headline.is_empty() {
            blocks.push(super::Block::heading(headline.clone(), 1));
        }
        // Marked datelines, bylines and leads between the headline and the
        // body.
        let mut after_h1 = false;
        let mut taken = std::collections::HashSet::new();
        for e in &all {
            if e.id() == h.id() {
                after_h1 = true;
                continue;
            }
            if e.id() == body_id {
                break;
            }
            if !after_h1 || !marked_meta(e) || inside_skipped(e) || is_skipped(e) {
                continue;
            }
            if body_ancestors.contains(&e.id()) {
                continue;
            }
            if e.ancestors().any(|a| taken.contains(&a.id())) {
                continue;
            }
            for part in dateline_parts(e) {
                let mut t = String::new();
                meta_text(&part, 0, &mut t);
                let t = fold(&t);
                // A web address in it marks data for machines (schema.org
                // microdata: Sputnik Arabic's hidden author item with its
                // logo's URL), not a line a reader sees.
                // A lead that repeats the headline (LBCI's `body-lead` box)
                // is not said twice.
                if !t.is_empty()
                    && t != headline
                    && !t.contains("http://")
                    && !t.contains("https://")
                {
                    blocks.push(super::Block::para(t));
                }
            }
            taken.insert(e.id());
        }
    }
    flatten(&body, score / 4, 0, &mut blocks);
    // A headline inside the body but in a box of its own (BBC Arabic's
    // `<div><h1>`) is not among the body's paragraphs: it leads them.
    if let Some(h) = h1.filter(|_| h1_in_body) {
        let t = fold(&h.text().collect::<String>());
        if !t.is_empty() && !blocks.iter().any(|b| b.heading == Some(1) && b.text == t) {
            blocks.insert(0, super::Block::heading(t, 1));
        }
    }
    let title = meta_content(&all, "og:title")
        .or_else(|| {
            all.iter()
                .find(|e| e.value().name() == "title")
                .map(|t| fold(&t.text().collect::<String>()))
        })
        .filter(|t| !t.is_empty())
        .or_else(|| blocks.first().map(|b| b.text.clone()));
    Ok(Page { title, blocks })
}

fn meta_content(all: &[ElementRef], property: &str) -> Option<String> {
    all.iter()
        .filter(|e| e.value().name() == "meta")
        .find(|e| {
            e.value().attr("property") == Some(property) || e.value().attr("name") == Some(property)
        })
        .and_then(|e| e.value().attr("content"))
        .map(fold)
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charset_from_meta_header_and_bom() {
        let page = b"<html><head><meta charset=\"windows-1256\"></head><body>\xc7\xe1\xd3\xe1\xc7\xe3</body></html>";
        let (t, enc) = decode(page, None).unwrap();
        assert_eq!(enc, "windows-1256");
        assert!(t.contains("السلام"), "{t}");
        let equiv = b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1256\">\xe3\xd1\xcd\xc8\xc7";
        assert!(decode(equiv, None).unwrap().0.contains("مرحبا"));
        // The HTTP header wins over the page.
        let (_, enc) = decode(b"<meta charset=utf-8>\xe3", Some("windows-1256")).unwrap();
        assert_eq!(enc, "windows-1256");
        assert_eq!(
            charset_of_content_type("text/html; charset=\"WINDOWS-1256\"").as_deref(),
            Some("WINDOWS-1256")
        );
        // A BOM wins over a declaration.
        let (t, enc) = decode("\u{feff}<meta charset=windows-1256>سلام".as_bytes(), None).unwrap();
        assert_eq!((enc, t.contains("سلام")), ("UTF-8", true));
        // Undeclared bytes that are not UTF-8 are an error, not mojibake.
        assert!(matches!(
            decode(b"<p>\xc7\xe1</p>", None),
            Err(PageError::Charset(_))
        ));
    }

    #[test]
    fn boilerplate_is_left_out_and_the_body_kept() {
        let html = r#"<html><head><title>عنوان الصفحة</title><script>var x = "نص";</script></head><body>
<nav><a href="/">الرئيسية</a><a href="/world">العالم</a></nav>
<h1>العنوان الرئيسي للخبر</h1><div class="date">الجمعة 04/أكتوبر/2024</div>
<div class="share-buttons"><a>فيسبوك</a><a>تويتر</a></div>
<div class="article-body"><p>الفقرة الأولى من الخبر وفيها ما يكفي من الكلمات لتكون فقرة حقيقية من مقال إخباري طويل كتبه مراسل الوكالة في العاصمة صباح اليوم.</p>
<p>الفقرة الثانية <b>بخط عريض</b> و<a href="x">رابط</a> في وسطها وتستمر حتى تكتمل الجملة الطويلة هنا.</p>
<div class="related"><p>اقرأ أيضا: خبر آخر</p></div></div>
<footer>حقوق النشر محفوظة</footer></body></html>"#;
        let p = extract(html).unwrap();
        let texts: Vec<&str> = p.blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "العنوان الرئيسي للخبر",
                "الجمعة 04/أكتوبر/2024",
                "الفقرة الأولى من الخبر وفيها ما يكفي من الكلمات لتكون فقرة حقيقية من مقال إخباري طويل كتبه مراسل الوكالة في العاصمة صباح اليوم.",
                "الفقرة الثانية بخط عريض ورابط في وسطها وتستمر حتى تكتمل الجملة الطويلة هنا."
            ]
        );
        assert_eq!(p.blocks[0].heading, Some(1));
        assert_eq!(p.title.as_deref(), Some("عنوان الصفحة"));
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let mut html = String::from("<html><body>");
        html.push_str(&"<div><span>".repeat(100_000));
        html.push_str("نص");
        assert_eq!(extract(&html), Err(PageError::TooDeep));
        // Below the limit, the walk is bounded and iterative.
        let mut ok = String::from("<html><body>");
        ok.push_str(&"<div><span>".repeat(900));
        ok.push_str("نص");
        let p = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || extract(&ok))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(p, Err(PageError::NoArticle));
        // Real pages are far below it; unclosed paragraphs do not count.
        assert!(nesting(&"<p>نص ".repeat(5000)) < 5);
        assert_eq!(nesting("<div><img src=x><br/><span>a</span></div>"), 2);
    }

    #[test]
    fn a_date_box_gives_its_times_and_a_noscript_fallback_is_not_text() {
        // RT Arabic's shapes: a date box with two <time>s and the section's
        // link, and a "read more" link box whose picture has a <noscript>
        // fallback (raw markup to html5ever, letters to a naive count).
        let html = r#"<html><body><div class="article"><h1 class="heading">عنوان الخبر</h1>
<div class="time-public"><p><time><span>تاريخ النشر:</span><span>07.04.2020</span> | 17:38 GMT</time></p>
<p><time><span>آخر تحديث:</span><span>07.04.2020</span> | 18:05 GMT</time><a href="/middle_east/">أخبار العالم العربي</a></p></div>
<div class="text"><p>الفقرة الأولى من الخبر وفيها ما يكفي من الكلمات لتكون فقرة حقيقية من مقال إخباري طويل كتبه مراسل في العاصمة.</p>
<div class="box"><div>إقرأ المزيد</div><a href="/middle_east/1101593/"><picture><img src="data:,"></picture><noscript><img src="https://cdni.example.com/media/pics/2020.04/original/5e8c690c4c59b729925f4b17.JPG" alt="سوريا مكافأة مالية للقائمين على تنفيذ حظر التجول"></noscript><span>خبر آخر مرتبط</span></a></div>
<p>الفقرة الثانية من الخبر وهي أيضا طويلة بما يكفي لتحسب من نص المقال الذي نشره الموقع هنا.</p></div></div></body></html>"#;
        let p = extract(html).unwrap();
        let texts: Vec<&str> = p.blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "عنوان الخبر",
                "تاريخ النشر:07.04.2020 | 17:38 GMT",
                "آخر تحديث:07.04.2020 | 18:05 GMT",
                "الفقرة الأولى من الخبر وفيها ما يكفي من الكلمات لتكون فقرة حقيقية من مقال إخباري طويل كتبه مراسل في العاصمة.",
                "الفقرة الثانية من الخبر وهي أيضا طويلة بما يكفي لتحسب من نص المقال الذي نشره الموقع هنا."
            ]
        );
    }

    #[test]
    fn a_marked_lead_is_read_unless_it_repeats_the_headline_and_microdata_is_not() {
        // Sputnik Arabic's shapes: a hidden schema.org author item (a name
        // and a logo's address) and a lead box before the body; LBCI's lead
        // box repeating the headline.
        let body = r#"<div class="b-article__text"><p>الفقرة الأولى من الخبر وفيها ما يكفي من الكلمات لتكون فقرة حقيقية من مقال إخباري طويل كتبه مراسل في العاصمة.</p>
<p>الفقرة الثانية من الخبر وهي أيضا طويلة بما يكفي لتحسب من نص المقال الذي نشره الموقع هنا.</p></div>"#;
        let page = |lead: &str| {
            format!(
                r#"<html><body><h1>عنوان الخبر</h1><time>02:27 08.04.2020</time>
<div class="b-article__meta"><div itemprop="author" itemscope=""><div itemprop="name">Sputnik</div><div itemprop="logo"><div itemprop="url">https://example.com/i/logo.png</div></div></div></div>
<div itemprop="description" class="b-article__lead"><p>{lead}</p></div>{body}</body></html>"#
            )
        };
        let texts = |html: &str| -> Vec<String> {
            extract(html)
                .unwrap()
                .blocks
                .into_iter()
                .map(|b| b.text)
                .collect()
        };
        assert_eq!(
            texts(&page("مقدمة الخبر في سطر واحد.")),
            [
                "عنوان الخبر",
                "02:27 08.04.2020",
                "مقدمة الخبر في سطر واحد.",
                "الفقرة الأولى من الخبر وفيها ما يكفي من الكلمات لتكون فقرة حقيقية من مقال إخباري طويل كتبه مراسل في العاصمة.",
                "الفقرة الثانية من الخبر وهي أيضا طويلة بما يكفي لتحسب من نص المقال الذي نشره الموقع هنا."
            ]
        );
        assert_eq!(
            texts(&page("عنوان الخبر")),
            [
                "عنوان الخبر",
                "02:27 08.04.2020",
                "الفقرة الأولى من الخبر وفيها ما يكفي من الكلمات لتكون فقرة حقيقية من مقال إخباري طويل كتبه مراسل في العاصمة.",
                "الفقرة الثانية من الخبر وهي أيضا طويلة بما يكفي لتحسب من نص المقال الذي نشره الموقع هنا."
            ]
        );
    }

    #[test]
    fn a_page_wide_form_and_print_markers_hold_the_article() {
        // ASP.NET wraps the page in a <form>; `PrintThis` marks what prints.
        let html = r#"<html><body><form id="aspnetForm"><div class="menu"><a>الأخبار</a></div>
<h1 class="PrintThis">عنوان الخبر</h1>
<div class="author_container"><a class="article_category">منوعات</a></div>
<div class="article_date">2026-01-08 | 12:42</div>
<div class="PrintThis"><div class="time_to_read_bar">2min</div>
<div>الفقرة الأولى من الخبر وفيها ما يكفي من الكلمات لتكون فقرة حقيقية من مقال إخباري طويل كتبه مراسل في العاصمة.<br><br>الفقرة الثانية من الخبر وهي أيضا طويلة بما يكفي لتحسب من نص المقال الذي نشره الموقع هنا.</div>
<a class="print-button">طباعة</a></div></form></body></html>"#;
        let p = extract(html).unwrap();
        let texts: Vec<&str> = p.blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "عنوان الخبر",
                "2026-01-08 | 12:42",
                "الفقرة الأولى من الخبر وفيها ما يكفي من الكلمات لتكون فقرة حقيقية من مقال إخباري طويل كتبه مراسل في العاصمة.",
                "الفقرة الثانية من الخبر وهي أيضا طويلة بما يكفي لتحسب من نص المقال الذي نشره الموقع هنا."
            ]
        );
    }

    #[test]
    fn paragraphs_each_in_a_box_and_a_boxed_headline_are_read() {
        // BBC Arabic's layout: <main> > <div><h1>, then <div><p> per paragraph.
        let para = "فقرة من المقال فيها ما يكفي من الكلمات لتكون فقرة حقيقية من خبر طويل";
        let html = format!(
            "<html><body><main><div><h1>العنوان</h1></div>\
             <div><p>{para} أولى.</p></div><div><p>{para} ثانية.</p></div>\
             <div><p>قصيرة.</p></div><div><p>{para} أخيرة.</p></div>\
             <div><section><a>قصص مقترحة</a></section></div></main></body></html>"
        );
        let p = extract(&html).unwrap();
        let texts: Vec<&str> = p.blocks.iter().map(|b| b.text.as_str()).collect();
        let (first, second, last) = (
            format!("{para} أولى."),
            format!("{para} ثانية."),
            format!("{para} أخيرة."),
        );
        assert_eq!(texts, ["العنوان", &first, &second, "قصيرة.", &last]);
        assert_eq!(p.blocks[0].heading, Some(1));
    }

    #[test]
    fn a_page_without_an_article_is_an_error() {
        let html =
            "<html><body><nav><a>الرئيسية</a></nav><ul><li><a>خبر</a></li></ul></body></html>";
        assert_eq!(extract(html), Err(PageError::NoArticle));
    }
}
