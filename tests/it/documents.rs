//! Documents in and out through the real binary: saved and fetched web pages
//! (real Arabic news pages, charsets, the seed article's page), Word files in
//! (paragraphs, headings, tables, text boxes, footnotes) and out (document
//! and bilingual table), and hostile documents (each a clear error naming the
//! file, nothing written). Servers are started on 127.0.0.1 by the tests.
//! LibreOffice checks are in tests/libreoffice.rs.

use crate::support::tarjama;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use predicates::str::contains;
use serde_json::Value;

use crate::support;

const SEED: &str = "seeds/2024-10-04-russia-taliban.ar.txt";
const PAGES: &str = "tests/fixtures/pages";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fold(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The header and rows of a JSONL file.
fn jsonl(path: &Path) -> (Value, Vec<Value>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap());
    let header = lines.next().unwrap();
    (header, lines.collect())
}

/// The segment sources `translate` (offline) reads from `input`.
fn sources(dir: &Path, input: &str) -> (Value, Vec<String>) {
    let out = dir.join("out.jsonl");
    tarjama(dir)
        .args(["-q", "translate", input, "-o"])
        .arg(&out)
        .assert()
        .success();
    let (h, rows) = jsonl(&out);
    (
        h,
        rows.iter()
            .map(|r| fold(r["source"].as_str().unwrap()))
            .collect(),
    )
}

/// The paragraphs of `translate`'s reading: segments of a paragraph joined.
fn paragraphs(dir: &Path, input: &str) -> Vec<String> {
    let out = dir.join("para.jsonl");
    tarjama(dir)
        .args(["-q", "translate", input, "-o"])
        .arg(&out)
        .assert()
        .success();
    let (_, rows) = jsonl(&out);
    let mut paras: Vec<(u64, String)> = Vec::new();
    for r in rows {
        let p = r["para"].as_u64().unwrap();
        let s = fold(r["source"].as_str().unwrap());
        match paras.last_mut() {
            Some((n, t)) if *n == p => {
                t.push(' ');
                t.push_str(&s);
            }
            _ => paras.push((p, s)),
        }
    }
    paras.into_iter().map(|(_, t)| t).collect()
}

/// The real saved pages (tests/fixtures/pages/README.md), each with the
/// file of its expected paragraphs (headline first).
pub const REAL_PAGES: &[(&str, &str)] = &[
    (
        "cnn-arabic-2013-newspaper.html",
        "cnn-arabic-2013.expected.txt",
    ),
    (
        "cnn-arabic-2013-newspaper4k.html",
        "cnn-arabic-2013.expected.txt",
    ),
    (
        "cnn-arabic-2013-goose3.html",
        "cnn-arabic-2013.expected.txt",
    ),
    (
        "cnn-arabic-2013-windows-1256.html",
        "cnn-arabic-2013.expected.txt",
    ),
    (
        "assabah-2019-sudan-interview.html",
        "assabah-2019-sudan-interview.expected.txt",
    ),
    (
        "lbci-2026-trump-hair.html",
        "lbci-2026-trump-hair.expected.txt",
    ),
    (
        "bbc-arabic-2024-bushnell.html",
        "bbc-arabic-2024-bushnell.expected.txt",
    ),
    (
        "rt-arabic-2020-syria-corona.html",
        "rt-arabic-2020-syria-corona.expected.txt",
    ),
    (
        "sputnik-arabic-2020-china-corona.html",
        "sputnik-arabic-2020-china-corona.expected.txt",
    ),
];

fn expected_paragraphs(file: &str) -> Vec<String> {
    std::fs::read_to_string(repo().join(PAGES).join(file))
        .unwrap()
        .split("\n\n")
        .map(fold)
        .filter(|p| !p.is_empty())
        .collect()
}

/// The segments `translate` reads from a real saved page (and its header),
/// checked to hold none of `boilerplate`, the text around its article.
fn real_page_without(dir: &Path, page: &str, boilerplate: &[&str]) -> (Value, Vec<String>) {
    let (h, all) = sources(dir, repo().join(PAGES).join(page).to_str().unwrap());
    let text = all.join(" ");
    for without in boilerplate {
        assert!(!text.contains(without), "{page}: {without} leaked in");
    }
    (h, all)
}

#[test]
fn real_saved_news_pages_give_their_article_paragraphs() {
    // README's count of real sites is the count of sites here (the CNN
    // article's several saves are one site).
    let sites: std::collections::BTreeSet<&str> = REAL_PAGES
        .iter()
        .map(|(page, _)| page.split("-20").next().unwrap())
        .collect();
    assert_eq!(sites.len(), 6, "{sites:?}");
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(fold(&readme).contains("Tested on saved pages of six real Arabic news sites"));
    assert_eq!(expected_paragraphs("cnn-arabic-2013.expected.txt").len(), 8);
    assert_eq!(
        expected_paragraphs("assabah-2019-sudan-interview.expected.txt").len(),
        25
    );
    let dir = tempfile::tempdir().unwrap();
    for (page, expected) in REAL_PAGES {
        let path = repo().join(PAGES).join(page);
        let got = paragraphs(dir.path(), path.to_str().unwrap());
        assert_eq!(got, expected_paragraphs(expected), "{page}");
    }
    // The comment policy under the article and the menus are not in it.
    let (h, _) = real_page_without(
        dir.path(),
        "cnn-arabic-2013-goose3.html",
        &["ترحب شبكة CNN"],
    );
    assert_eq!(h["title"], "معارضون يسيطرون على مخازن للصواريخ بريف دمشق");
    assert_eq!(h["headings"], serde_json::json!([[1, 1]]));
    // Assabah (a Drupal page whose <article> is classed `node-not-promoted`):
    // trafilatura's own evaluation marks for this page, the text it must
    // have and the boilerplate (news ticker, weather, comment form) it must
    // not.
    let (h, all) = real_page_without(
        dir.path(),
        "assabah-2019-sudan-interview.html",
        &["كورونا يقتل", "غائم جزئيا", "إضافة تعليق جديد"],
    );
    let text = all.join(" ");
    for with in ["منذ بدء", "كل المجالات", "وماذا عن حقيقة"] {
        assert!(text.contains(with), "{with} missing");
    }
    assert!(
        h["title"]
            .as_str()
            .unwrap()
            .starts_with("الناشط الحقوقي السوداني")
    );
    // LBCI (an ASP.NET page: one <form> holds the whole page, and the
    // headline and body are classed `PrintThis`): the headline, the date and
    // the body as fundus's own test expects it, without the category label,
    // the reading-time bar, the view counter, the share box, the tags and
    // the "most read" lists around it.
    assert_eq!(
        expected_paragraphs("lbci-2026-trump-hair.expected.txt").len(),
        8
    );
    let (h, _) = real_page_without(
        dir.path(),
        "lbci-2026-trump-hair.html",
        &[
            "منوعات",
            "2min",
            "مشاهدات عالية",
            "شارك",
            "مقالات ذات صلة",
            "الأكثر قراءة",
            "جميع الحقوق محفوظة",
        ],
    );
    assert_eq!(h["headings"], serde_json::json!([[1, 1]]));
    assert!(
        h["title"]
            .as_str()
            .unwrap()
            .starts_with("شعر وردي يُشعل السخرية")
    );
    // BBC Arabic (Simorgh: every paragraph in a <div> of its own, the
    // headline in another): the headline and all 33 paragraphs, without the
    // image credit and caption, the advert, the "suggested stories" and
    // "most read" lists that readability's own expected output keeps.
    assert_eq!(
        expected_paragraphs("bbc-arabic-2024-bushnell.expected.txt").len(),
        34
    );
    let (h, _) = real_page_without(
        dir.path(),
        "bbc-arabic-2024-bushnell.html",
        &[
            "صدر الصورة",
            "التعليق على الصورة",
            "إعلان",
            "قصص مقترحة",
            "الأكثر قراءة",
        ],
    );
    assert_eq!(h["headings"], serde_json::json!([[1, 1]]));
    // RT Arabic: the headline; its date box as the two times it marks
    // (published, updated), without the section link beside them; the
    // body without the "read more" box inside it (a linked headline over a
    // lazy-loaded picture whose <noscript> fallback is markup, not text),
    // the photo credit and caption, the tags, the comment button, the
    // "headlines" and "most read" lists and the cookie notice.
    assert_eq!(
        expected_paragraphs("rt-arabic-2020-syria-corona.expected.txt").len(),
        7
    );
    let (h, all) = real_page_without(
        dir.path(),
        "rt-arabic-2020-syria-corona.html",
        &[
            "أخبار العالم العربي",
            "إقرأ المزيد",
            "مكافأة مالية للقائمين",
            "Reuters",
            "تدابير احترازية",
            "امراض",
            "شارك بالتعليقات",
            "العناوين",
            "الأكثر قراءة",
            "ملفات تعريف الارتباط",
        ],
    );
    assert_eq!(all[1], "تاريخ النشر:07.04.2020 | 17:38 GMT |");
    assert_eq!(all[2], "آخر تحديث:07.04.2020 | 18:05 GMT |");
    assert_eq!(h["headings"], serde_json::json!([[1, 1]]));
    assert_eq!(
        h["title"],
        "الصحة السورية: إصابات كورونا المسجلة حتى اليوم 19 شفي منها 3 وتوفيت حالتان"
    );
    // Sputnik Arabic: the headline, the <time>, the lead in its own marked
    // box before the body, and the body without the related-story box and
    // the video embedded inside its paragraphs; without the photo credit,
    // the hidden schema.org author item (with its logo's web address), the
    // short-link button, the share and like counters, the "see also" and
    // tag lists, the comment forms and rules, and the sidebar.
    assert_eq!(
        expected_paragraphs("sputnik-arabic-2020-china-corona.expected.txt").len(),
        12
    );
    let (h, all) = real_page_without(
        dir.path(),
        "sputnik-arabic-2020-china-corona.html",
        &[
            "AFP",
            "https://",
            "انسخ الرابط",
            "الحصيلة الأضخم في العالم",
            "REUTERS",
            "انظر أيضا",
            "الكلمات الدلالية",
            "معايير المجتمع",
            "آخر الأخبار",
            "جميع الحقوق محفوظة",
        ],
    );
    assert_eq!(all[1], "GMT 02:27 08.04.2020");
    assert!(all[2].starts_with("أعلنت السلطات الصحية في الصين"));
    assert_eq!(h["headings"], serde_json::json!([[1, 1]]));
    assert_eq!(
        h["title"],
        "الصين تسجل 62 إصابة جديدة بفيروس كورونا المستجد في عموم البلاد"
    );
}

/// Every real page goes to both Word outputs: one paragraph (or row) per
/// segment, its Arabic right to left in the table, no segment lost.
#[test]
fn every_real_page_goes_to_word_and_to_the_bilingual_table() {
    let fake = support::Fake::new();
    let server = support::serve_in_background(support::openai(fake.clone()));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    with_backend(d, server.url());
    for (page, expected) in REAL_PAGES {
        std::fs::copy(repo().join(PAGES).join(page), d.join("page.html")).unwrap();
        tarjama(d)
            .env_remove("TARJAMA_MEMORY")
            .args(["-q", "translate", "page.html", "-o", "page.jsonl"])
            .assert()
            .success();
        let (_, rows) = jsonl(&d.join("page.jsonl"));
        let paras: std::collections::BTreeSet<u64> =
            rows.iter().map(|r| r["para"].as_u64().unwrap()).collect();
        assert_eq!(paras.len(), expected_paragraphs(expected).len(), "{page}");
        for (to, file) in [("docx", "page.docx"), ("docx-table", "table.docx")] {
            tarjama(d)
                .env_remove("TARJAMA_MEMORY")
                .args(["-q", "translate", "page.html", "--to", to, "-o", file])
                .assert()
                .success();
        }
        let doc = docx_part(&d.join("page.docx"), "word/document.xml");
        assert_eq!(doc.matches("<w:p>").count(), paras.len(), "{page}");
        assert!(doc.contains("<w:pStyle w:val=\"Heading1\"/>"), "{page}");
        assert!(
            !doc.chars().any(|c| ('\u{0621}'..='\u{064A}').contains(&c)),
            "{page}: Arabic left in the English document"
        );
        let table = docx_part(&d.join("table.docx"), "word/document.xml");
        assert_eq!(table.matches("<w:tr>").count(), rows.len() + 1, "{page}");
        assert!(table.contains("<w:bidi/>") && table.contains("<w:rtl/>"));
        for r in &rows {
            assert!(table.contains(r["id"].as_str().unwrap()), "{page}");
        }
    }
}

#[test]
fn the_seed_articles_page_gives_the_same_19_segments_as_the_text() {
    let dir = tempfile::tempdir().unwrap();
    let seg = tarjama(dir.path())
        .args(["segment", "--format", "jsonl"])
        .arg(repo().join(SEED))
        .output()
        .unwrap();
    let from_text: Vec<String> = String::from_utf8(seg.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            fold(
                serde_json::from_str::<Value>(l).unwrap()["text"]
                    .as_str()
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(from_text.len(), 19);
    let page = repo().join(PAGES).join("seed-russia-taliban.html");
    let (h, from_page) = sources(dir.path(), page.to_str().unwrap());
    assert_eq!(from_page, from_text);
    // Nothing of the menus, ticker, share buttons, tweet, related links,
    // sidebar, comments, footer or scripts.
    for noise in [
        "الرئيسية",
        "عاجل",
        "فيسبوك",
        "تغريدة",
        "اقرأ أيضا",
        "الأكثر قراءة",
        "التعليقات",
        "جميع الحقوق",
        "سكربت",
    ] {
        assert!(
            !from_page.iter().any(|s| s.contains(noise)),
            "{noise} leaked"
        );
    }
    assert_eq!(
        h["title"],
        "في خطوة جديدة للتقارب.. روسيا وطالبان يبحثان التعاون الثنائي"
    );
}

#[test]
fn a_page_on_standard_input_or_under_a_txt_name_is_read_as_a_page() {
    let dir = tempfile::tempdir().unwrap();
    let page = std::fs::read(repo().join(PAGES).join("cnn-arabic-2013-windows-1256.html")).unwrap();
    std::fs::write(dir.path().join("saved.txt"), &page).unwrap();
    assert_eq!(paragraphs(dir.path(), "saved.txt").len(), 8);
    let out = dir.path().join("stdin.jsonl");
    tarjama(dir.path())
        .args(["-q", "translate", "-", "-o"])
        .arg(&out)
        .write_stdin(page)
        .assert()
        .success();
    assert_eq!(jsonl(&out).1.len(), 8);
}

#[test]
fn a_folder_of_pages_is_translated_page_by_page() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::copy(
        repo().join(PAGES).join("seed-russia-taliban.html"),
        input.join("a.html"),
    )
    .unwrap();
    std::fs::copy(
        repo().join(PAGES).join("cnn-arabic-2013-goose3.html"),
        input.join("b.htm"),
    )
    .unwrap();
    tarjama(dir.path())
        .args(["-q", "translate", "in", "-o", "out"])
        .assert()
        .success();
    assert_eq!(jsonl(&dir.path().join("out/a.jsonl")).1.len(), 19);
    assert_eq!(jsonl(&dir.path().join("out/b.jsonl")).1.len(), 8);
}

/// The fakes' HTTP server answering every request with `status`,
/// `content_type` and `body` after `delay` (bytes as they are: the pages'
/// charsets are the point). Its `Display` is its base URL.
fn page_server(
    status: u16,
    content_type: &str,
    body: Vec<u8>,
    delay_ms: u64,
) -> support::BackgroundServer {
    let content_type = content_type.to_string();
    support::serve_in_background(std::sync::Arc::new(move |_req: support::HttpRequest| {
        let (content_type, body) = (content_type.clone(), body.clone());
        Box::pin(async move {
            tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
            support::Reply::Full {
                status,
                headers: vec![("content-type".into(), content_type)],
                body,
            }
        })
    }))
}

#[test]
fn a_url_is_fetched_with_the_header_charset_and_its_url_goes_into_every_output() {
    // windows-1256 bytes, and a page that declares nothing: only the HTTP
    // header says what they are.
    let page = std::fs::read_to_string(repo().join(PAGES).join("seed-russia-taliban.html"))
        .unwrap()
        .replace("<meta charset=\"utf-8\">", "");
    let (bytes, _, bad) = encoding_rs::WINDOWS_1256.encode(&page);
    assert!(!bad);
    let body = bytes.into_owned();
    let server = page_server(200, "text/html; charset=windows-1256", body, 0);
    let url = format!("{server}/news/2024/10/04/russia-taliban.html");
    let dir = tempfile::tempdir().unwrap();
    let (h, segs) = sources(dir.path(), &url);
    assert_eq!(segs.len(), 19);
    assert!(segs[3].starts_with("أعلنت الخارجية الروسية"), "{}", segs[3]);
    assert_eq!(h["source_path"], url.as_str());
    for (fmt, file) in [
        ("html", "o.html"),
        ("xliff", "o.xlf"),
        ("md", "o.md"),
        ("docx-table", "o.docx"),
    ] {
        tarjama(dir.path())
            .args(["-q", "translate", &url, "--to", fmt, "-o", file])
            .assert()
            .success();
        let text = if fmt == "docx-table" {
            support::docx_text(&dir.path().join(file))
        } else {
            std::fs::read_to_string(dir.path().join(file)).unwrap()
        };
        assert!(text.contains(&url) || fmt == "md", "{fmt}: URL missing");
        assert!(
            text.contains("في خطوة جديدة للتقارب.. روسيا وطالبان"),
            "{fmt}: title missing"
        );
    }
}

#[test]
fn fetching_fails_clearly_on_timeouts_size_and_http_errors() {
    let dir = tempfile::tempdir().unwrap();
    let slow = page_server(200, "text/html", b"<p>late</p>".to_vec(), 3000);
    let url = format!("{slow}/slow.html");
    tarjama(dir.path())
        .env("TARJAMA_FETCH_TIMEOUT", "0.5")
        .args(["translate", &url, "-o", "x.jsonl"])
        .assert()
        .failure()
        .stderr(contains(url.as_str()).and(contains("within 0.5s")));
    let huge = page_server(200, "text/html", vec![b'a'; 9 << 20], 0);
    let url = format!("{huge}/huge.html");
    tarjama(dir.path())
        .args(["translate", &url, "-o", "x.jsonl"])
        .assert()
        .failure()
        .stderr(contains("too large").and(contains("8388608")));
    let missing = page_server(404, "text/html", b"<h1>Not Found</h1>".to_vec(), 0);
    let url = format!("{missing}/gone.html");
    tarjama(dir.path())
        .args(["translate", &url, "-o", "x.jsonl"])
        .assert()
        .failure()
        .stderr(contains("404").and(contains(url.as_str())));
    tarjama(dir.path())
        .args(["translate", &support::closed_port_url(), "-o", "x.jsonl"])
        .assert()
        .failure()
        .stderr(contains("cannot connect"));
    assert!(!dir.path().join("x.jsonl").exists());
}

use predicates::prelude::PredicateBooleanExt;

#[test]
fn pages_without_an_article_or_too_large_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<html><body><nav><a href='/'>الرئيسية</a><a>سياسة</a></nav><ul><li><a>خبر قصير</a></li></ul></body></html>",
    )
    .unwrap();
    tarjama(dir.path())
        .args(["translate", "index.html", "-o", "x.docx"])
        .assert()
        .failure()
        .stderr(contains("index.html: no article found"));
    let big = dir.path().join("big.html");
    let mut f = std::fs::File::create(&big).unwrap();
    f.write_all(b"<html><body><p>").unwrap();
    f.write_all(&vec![b'a'; 9 << 20]).unwrap();
    drop(f);
    tarjama(dir.path())
        .args(["translate", "big.html", "-o", "x.docx"])
        .assert()
        .failure()
        .stderr(contains("big.html: too large"));
    // Bytes that are not the charset the page declares.
    std::fs::write(
        dir.path().join("bad.html"),
        b"<p>\xc7\xe1\xd3\xe1\xc7\xe3</p>",
    )
    .unwrap();
    tarjama(dir.path())
        .args(["translate", "bad.html", "-o", "x.docx"])
        .assert()
        .failure()
        .stderr(contains("bad.html: the page does not decode as UTF-8"));
    assert!(!dir.path().join("x.docx").exists());
}

fn docx_part(path: &Path, part: &str) -> String {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut s = String::new();
    z.by_name(part).unwrap().read_to_string(&mut s).unwrap();
    s
}

/// A project with an OpenAI-compatible fake backend.
pub fn with_backend(dir: &Path, url: &str) {
    std::fs::write(
        dir.join("tarjama.toml"),
        format!(
            "default_backend = \"fake\"\n[memory]\npath = \"tm.sqlite\"\n\
             [backends.fake]\nkind = \"openai\"\nurl = \"{url}/v1\"\nmodel = \"m\"\n\
             batch_size = 20\nconcurrency = 2\nmax_retries = 1\ntimeout_secs = 20\n"
        ),
    )
    .unwrap();
}

#[test]
fn a_page_translated_to_word_keeps_headings_and_the_table_is_right_to_left() {
    let fake = support::Fake::new();
    let server = support::serve_in_background(support::openai(fake.clone()));
    let dir = tempfile::tempdir().unwrap();
    with_backend(dir.path(), server.url());
    std::fs::copy(
        repo().join(PAGES).join("seed-russia-taliban.html"),
        dir.path().join("page.html"),
    )
    .unwrap();
    tarjama(dir.path())
        .env_remove("TARJAMA_MEMORY")
        .args(["-q", "translate", "page.html", "-o", "page.docx"])
        .assert()
        .success();
    tarjama(dir.path())
        .env_remove("TARJAMA_MEMORY")
        .args([
            "-q",
            "translate",
            "page.html",
            "--to",
            "docx-table",
            "-o",
            "table.docx",
        ])
        .assert()
        .success();
    let doc = docx_part(&dir.path().join("page.docx"), "word/document.xml");
    // The headline is a heading; 19 paragraphs of English, left to right.
    assert_eq!(doc.matches("<w:p>").count(), 19, "{doc}");
    assert!(doc.contains("<w:pStyle w:val=\"Heading1\"/>"));
    assert!(!doc.contains("<w:bidi"));
    // Every paragraph is English: no Arabic letter, nothing untranslated.
    assert!(
        !doc.chars().any(|c| ('\u{0621}'..='\u{064A}').contains(&c)),
        "{doc}"
    );
    assert!(!doc.contains("[untranslated"));
    assert_eq!(fake.log.count(), 1);
    let table = docx_part(&dir.path().join("table.docx"), "word/document.xml");
    assert!(table.contains("<w:tblHeader/>"));
    assert_eq!(table.matches("<w:tr>").count(), 20);
    assert!(table.contains("<w:bidi/>") && table.contains("<w:rtl/>"));
    assert!(table.contains("w:cs=\"Noto Naskh Arabic\""));
    assert!(table.contains("w:bidi=\"ar-SA\""));
    assert!(table.contains("p20s1") || table.contains("p19s1"));
}

/// A small Word file written by hand (as Word lays one out): a title, a
/// right-to-left paragraph with a bold run and a link, a table, a text box
/// (with its VML fallback, which must not be read twice) and a footnote.
fn handmade_docx(path: &Path, document_xml: &str, footnotes: Option<&str>) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let o = zip::write::SimpleFileOptions::default();
    z.start_file("[Content_Types].xml", o).unwrap();
    z.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#).unwrap();
    z.start_file("word/document.xml", o).unwrap();
    z.write_all(document_xml.as_bytes()).unwrap();
    if let Some(f) = footnotes {
        z.start_file("word/footnotes.xml", o).unwrap();
        z.write_all(f.as_bytes()).unwrap();
    }
    z.finish().unwrap();
}

const W: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" xmlns:v="urn:schemas-microsoft-com:vml""#;

#[test]
fn a_word_file_is_read_in_order_with_headings_tables_text_boxes_and_footnotes() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document {W}><w:body>
<w:p><w:pPr><w:pStyle w:val="Title"/><w:bidi/></w:pPr><w:r><w:rPr><w:rtl/></w:rPr><w:t>روسيا وطالبان يبحثان التعاون</w:t></w:r></w:p>
<w:p><w:pPr><w:bidi/></w:pPr><w:r><w:t xml:space="preserve">أعلنت الخارجية الروسية أن </w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>سيرجي لافروف</w:t></w:r><w:hyperlink><w:r><w:t xml:space="preserve"> أجرى محادثة</w:t></w:r></w:hyperlink><w:r><w:t>.</w:t></w:r><w:r><w:footnoteReference w:id="1"/></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="Heading2"/></w:pPr><w:r><w:t>خلفية</w:t></w:r></w:p>
<w:tbl><w:tr><w:tc><w:p><w:r><w:t>الخلية الأولى</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>الخلية الثانية</w:t></w:r></w:p></w:tc></w:tr>
<w:tr><w:tc><w:p><w:r><w:t>الخلية الثالثة</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>الخلية الرابعة</w:t></w:r></w:p></w:tc></w:tr></w:tbl>
<w:p><w:r><w:t>فقرة قبل الإطار.</w:t></w:r><w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wps:wsp><wps:txbx><w:txbxContent><w:p><w:r><w:t>نص داخل الإطار.</w:t></w:r></w:p></w:txbxContent></wps:txbx></wps:wsp></w:drawing></mc:Choice><mc:Fallback><w:pict><v:shape><v:textbox><w:txbxContent><w:p><w:r><w:t>نص داخل الإطار.</w:t></w:r></w:p></w:txbxContent></v:textbox></v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>
<w:p><w:r><w:t>الفقرة الأخيرة.</w:t></w:r></w:p>
<w:sectPr/></w:body></w:document>"#
    );
    let notes = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><w:footnotes {W}><w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote><w:footnote w:id="1"><w:p><w:r><w:t>المصدر: وكالة تاس.</w:t></w:r></w:p></w:footnote></w:footnotes>"#
    );
    handmade_docx(&dir.path().join("in.docx"), &body, Some(&notes));
    let got = paragraphs(dir.path(), "in.docx");
    assert_eq!(
        got,
        [
            "روسيا وطالبان يبحثان التعاون",
            "أعلنت الخارجية الروسية أن سيرجي لافروف أجرى محادثة.",
            "خلفية",
            "الخلية الأولى",
            "الخلية الثانية",
            "الخلية الثالثة",
            "الخلية الرابعة",
            "فقرة قبل الإطار.",
            "نص داخل الإطار.",
            "الفقرة الأخيرة.",
            "المصدر: وكالة تاس.",
        ]
    );
    let (h, _) = jsonl(&dir.path().join("para.jsonl"));
    assert_eq!(h["headings"], serde_json::json!([[1, 1], [3, 2]]));
    // The two paragraphs marked right to left (`w:bidi`) are carried in the
    // header; the file marks direction, so the others are left to right.
    assert_eq!(h["rtl_paragraphs"], serde_json::json!([1, 2]));
}

#[test]
fn right_to_left_paragraphs_of_a_word_file_are_kept_in_the_bilingual_table() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document {W}><w:body>
<w:p><w:pPr><w:bidi/></w:pPr><w:r><w:rPr><w:rtl/></w:rPr><w:t>قال المتحدث إن المحادثات ستستمر.</w:t></w:r></w:p>
<w:p><w:pPr><w:bidi w:val="0"/></w:pPr><w:r><w:t>"We will talk again," he said.</w:t></w:r></w:p>
<w:p><w:r><w:rPr><w:rtl/></w:rPr><w:t>وأضاف أن الاجتماع المقبل في موسكو.</w:t></w:r></w:p>
<w:sectPr/></w:body></w:document>"#
    );
    handmade_docx(&dir.path().join("in.docx"), &body, None);
    let out = dir.path().join("in.jsonl");
    tarjama(dir.path())
        .args(["-q", "translate", "in.docx", "-o"])
        .arg(&out)
        .assert()
        .success();
    let (h, rows) = jsonl(&out);
    // w:bidi, and a paragraph whose runs are all w:rtl; not w:bidi="0".
    assert_eq!(h["rtl_paragraphs"], serde_json::json!([1, 3]));
    tarjama(dir.path())
        .args(["-q", "render"])
        .arg(&out)
        .args(["--to", "docx-table", "-o", "t.docx"])
        .assert()
        .success();
    let table = docx_part(&dir.path().join("t.docx"), "word/document.xml");
    // Each row's Arabic cell: right to left for paragraphs 1 and 3 only.
    let rows_xml: Vec<&str> = table.split("<w:tr>").skip(2).collect();
    assert_eq!(rows_xml.len(), rows.len());
    for (r, xml) in rows.iter().zip(&rows_xml) {
        let para = r["para"].as_u64().unwrap();
        let arabic_cell = xml.split("<w:tc>").nth(2).unwrap();
        assert_eq!(
            arabic_cell.contains("<w:bidi/>") && arabic_cell.contains("<w:rtl/>"),
            para != 2,
            "paragraph {para}: {arabic_cell}"
        );
    }
    // The English document is left to right throughout.
    tarjama(dir.path())
        .args(["-q", "render"])
        .arg(&out)
        .args(["--to", "docx", "-o", "d.docx"])
        .assert()
        .success();
    let doc = docx_part(&dir.path().join("d.docx"), "word/document.xml");
    assert!(!doc.contains("<w:bidi") && !doc.contains("<w:rtl"));
    // Text and web pages say nothing of direction: no field, all Arabic
    // right to left.
    let page = repo().join(PAGES).join("cnn-arabic-2013-goose3.html");
    let (h, _) = sources(dir.path(), page.to_str().unwrap());
    assert!(h.get("rtl_paragraphs").is_none(), "{h}");
}

#[test]
fn hostile_word_files_are_refused_naming_the_file_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    // A zip bomb: 40 MiB of zeros deflate to a few kilobytes.
    {
        let mut z =
            zip::ZipWriter::new(std::fs::File::create(dir.path().join("bomb.docx")).unwrap());
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        z.start_file("word/document.xml", o).unwrap();
        let zeros = vec![b' '; 1 << 20];
        for _ in 0..40 {
            z.write_all(&zeros).unwrap();
        }
        z.finish().unwrap();
    }
    assert!(
        std::fs::metadata(dir.path().join("bomb.docx"))
            .unwrap()
            .len()
            < 200_000
    );
    // Entity expansion ("billion laughs") behind a DOCTYPE.
    let laughs = format!(
        r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><w:document {W}><w:body><w:p><w:r><w:t>&lol2;</w:t></w:r></w:p></w:body></w:document>"#
    );
    handmade_docx(&dir.path().join("laughs.docx"), &laughs, None);
    std::fs::write(
        dir.path().join("broken.docx"),
        b"PK\x03\x04 this is not really a zip",
    )
    .unwrap();
    let mut deep = format!("<?xml version=\"1.0\"?><w:document {W}><w:body>");
    deep.push_str(&"<w:sdt><w:sdtContent>".repeat(100));
    handmade_docx(&dir.path().join("deep.docx"), &deep, None);
    for (file, says) in [
        ("bomb.docx", "zip bomb"),
        ("laughs.docx", "DOCTYPE"),
        ("broken.docx", "not a zip archive"),
        ("deep.docx", "nested more than"),
    ] {
        tarjama(dir.path())
            .args(["translate", file, "-o", "out.docx"])
            .assert()
            .failure()
            .stderr(
                contains(format!("{file}: not a Word document tarjama can read"))
                    .and(contains(says)),
            );
        assert!(!dir.path().join("out.docx").exists(), "{file}");
    }
}

#[test]
fn an_edited_bilingual_table_comes_back_through_render() {
    let dir = tempfile::tempdir().unwrap();
    let seed = repo().join("tests/fixtures/output_seed.jsonl");
    tarjama(dir.path())
        .args(["-q", "render"])
        .arg(&seed)
        .args(["--to", "docx-table", "-o", "table.docx"])
        .assert()
        .success();
    // The reviewer changes one English cell (edited here in the XML; the
    // LibreOffice round trip is in tests/libreoffice.rs).
    let xml = docx_part(&dir.path().join("table.docx"), "word/document.xml");
    let before = "Friday 04/October/2024 - 06:52 PM";
    assert!(xml.contains(before));
    let edited = xml.replace(before, "Friday 4 October 2024, 6:52 pm");
    rezip(
        &dir.path().join("table.docx"),
        &dir.path().join("edited.docx"),
        &edited,
    );
    tarjama(dir.path())
        .env("TARJAMA_MEMORY", dir.path().join("tm.sqlite"))
        .args(["render", "edited.docx", "--against"])
        .arg(&seed)
        .args(["--update-memory", "-o", "final.txt"])
        .assert()
        .success()
        .stderr(contains("1 edited by the reviewer").and(contains("human translation(s) stored")));
    let text = std::fs::read_to_string(dir.path().join("final.txt")).unwrap();
    assert!(text.contains("Friday 4 October 2024, 6:52 pm"));
    let mem = tarjama::memory::Memory::open(&dir.path().join("tm.sqlite")).unwrap();
    let h = mem
        .lookup_human("الجمعة 04/أكتوبر/2024 - 06:52 م")
        .unwrap()
        .unwrap();
    assert_eq!(h.target, "Friday 4 October 2024, 6:52 pm");
}

/// Copy a docx with its document.xml replaced.
pub fn rezip(from: &Path, to: &Path, document_xml: &str) {
    let mut src = zip::ZipArchive::new(std::fs::File::open(from).unwrap()).unwrap();
    let mut z = zip::ZipWriter::new(std::fs::File::create(to).unwrap());
    let o = zip::write::SimpleFileOptions::default();
    for i in 0..src.len() {
        let mut f = src.by_index(i).unwrap();
        let name = f.name().unwrap().into_owned();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        z.start_file(&name, o).unwrap();
        if name == "word/document.xml" {
            z.write_all(document_xml.as_bytes()).unwrap();
        } else {
            z.write_all(&bytes).unwrap();
        }
    }
    z.finish().unwrap();
}

#[test]
fn inline_formatting_of_a_word_file_is_kept_for_the_editor() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document {W} xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:body>
<w:p><w:pPr><w:bidi/></w:pPr><w:r><w:rPr><w:b/><w:bCs/><w:rtl/></w:rPr><w:t>بيان عاجل من الخارجية.</w:t></w:r></w:p>
<w:p><w:pPr><w:bidi/></w:pPr><w:r><w:rPr><w:rtl/></w:rPr><w:t xml:space="preserve">قال </w:t></w:r><w:r><w:rPr><w:bCs/><w:rtl/></w:rPr><w:t>سيرجي</w:t></w:r><w:r><w:rPr><w:b w:val="1"/><w:rtl/></w:rPr><w:t xml:space="preserve"> لافروف</w:t></w:r><w:r><w:rPr><w:rtl/></w:rPr><w:t xml:space="preserve"> في </w:t></w:r><w:hyperlink r:id="rId9"><w:r><w:rPr><w:iCs/><w:rtl/></w:rPr><w:t>مقابلة</w:t></w:r></w:hyperlink><w:r><w:rPr><w:b w:val="0"/><w:rtl/></w:rPr><w:t xml:space="preserve"> إن المحادثات مستمرة.</w:t></w:r></w:p>
<w:sectPr/></w:body></w:document>"#
    );
    {
        let mut z = zip::ZipWriter::new(std::fs::File::create(d.join("in.docx")).unwrap());
        let o = zip::write::SimpleFileOptions::default();
        z.start_file("word/document.xml", o).unwrap();
        z.write_all(body.as_bytes()).unwrap();
        z.start_file("word/_rels/document.xml.rels", o).unwrap();
        z.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://example.com/interview" TargetMode="External"/></Relationships>"#).unwrap();
        z.finish().unwrap();
    }
    let out = d.join("in.jsonl");
    tarjama(d)
        .args(["-q", "translate", "in.docx", "-o"])
        .arg(&out)
        .assert()
        .success();
    let (h, rows) = jsonl(&out);
    // The spans are in the header, not in the text sent to the engine.
    assert_eq!(
        h["inline"],
        serde_json::json!([
            {"para": 1, "text": "بيان عاجل من الخارجية.", "start": 0, "bold": true},
            {"para": 2, "text": "سيرجي لافروف", "start": 28, "bold": true},
            {"para": 2, "text": "مقابلة", "start": 44, "italic": true, "link": "https://example.com/interview"},
        ])
    );
    assert!(
        rows.iter()
            .all(|r| !r["source"].as_str().unwrap().contains('<'))
    );
    for (to, file) in [("docx", "d.docx"), ("docx-table", "t.docx")] {
        tarjama(d)
            .args(["-q", "render"])
            .arg(&out)
            .args(["--to", to, "-o", file])
            .assert()
            .success();
    }
    // The Word document: the wholly bold paragraph's English is bold; the
    // other paragraph is plain (its spans cannot be placed in the English).
    let doc = docx_part(&d.join("d.docx"), "word/document.xml");
    let paras: Vec<&str> = doc.split("<w:p>").skip(1).collect();
    assert_eq!(paras.len(), 2);
    assert!(paras[0].contains("<w:b/>"), "{}", paras[0]);
    assert!(!paras[1].contains("<w:b/>") && !paras[1].contains("<w:i/>"));
    // The table's notes name every span of the row's Arabic.
    let table = docx_part(&d.join("t.docx"), "word/document.xml");
    assert!(
        table.contains("source formatting: bold «سيرجي لافروف»"),
        "{table}"
    );
    assert!(
        table.contains("source formatting: italic, link https://example.com/interview «مقابلة»")
    );
    assert!(table.contains("source formatting: bold «بيان عاجل من الخارجية.»"));
}

/// A Word file laid out as Word writes an Arabic article with inline
/// formatting mid-sentence: runs split at each change, `w:rtl` and `w:bCs`
/// on Arabic runs, a hyperlink through a relationship, a styles part.
/// Paragraph 2 has "قال" in its first sentence plain and in its second
/// bold (the bold one must be placed on the second sentence's English).
pub fn formatted_docx(path: &Path) {
    let rtl = "<w:rPr><w:rtl/></w:rPr>";
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document {W} xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:body>
<w:p><w:pPr><w:pStyle w:val="Heading1"/><w:bidi/></w:pPr><w:r>{rtl}<w:t>روسيا وطالبان تبحثان التعاون</w:t></w:r></w:p>
<w:p><w:pPr><w:bidi/></w:pPr><w:r>{rtl}<w:t xml:space="preserve">قال مصدر إن الوفد وصل. ثم </w:t></w:r><w:r><w:rPr><w:b/><w:bCs/><w:rtl/></w:rPr><w:t>قال</w:t></w:r><w:r>{rtl}<w:t xml:space="preserve"> وزير الخارجية </w:t></w:r><w:r><w:rPr><w:b/><w:bCs/><w:rtl/></w:rPr><w:t>سيرجي</w:t></w:r><w:r><w:rPr><w:b/><w:bCs/><w:rtl/></w:rPr><w:t xml:space="preserve"> لافروف</w:t></w:r><w:r>{rtl}<w:t xml:space="preserve"> في </w:t></w:r><w:r><w:rPr><w:i/><w:iCs/><w:rtl/></w:rPr><w:t>مقابلة</w:t></w:r><w:r>{rtl}<w:t xml:space="preserve"> مع </w:t></w:r><w:hyperlink r:id="rId7" w:history="1"><w:r><w:rPr><w:rStyle w:val="Hyperlink"/><w:rtl/></w:rPr><w:t>وكالة تاس</w:t></w:r></w:hyperlink><w:r>{rtl}<w:t xml:space="preserve"> إن المحادثات مستمرة.</w:t></w:r></w:p>
<w:p><w:pPr><w:bidi/></w:pPr><w:r>{rtl}<w:t>وانتهى اللقاء دون بيان.</w:t></w:r></w:p>
<w:sectPr/></w:body></w:document>"#
    );
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let o = zip::write::SimpleFileOptions::default();
    z.start_file("[Content_Types].xml", o).unwrap();
    z.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#).unwrap();
    z.start_file("_rels/.rels", o).unwrap();
    z.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#).unwrap();
    z.start_file("word/document.xml", o).unwrap();
    z.write_all(body.as_bytes()).unwrap();
    z.start_file("word/_rels/document.xml.rels", o).unwrap();
    z.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId7" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://tass.ru/a?b=1&amp;c=2" TargetMode="External"/></Relationships>"#).unwrap();
    z.finish().unwrap();
}

/// The runs of a written Word document, paragraph by paragraph: each
/// run's text with "b", "i", "u" and the link target it carries.
pub fn word_runs(path: &Path) -> Vec<Vec<(String, String)>> {
    let doc = tarjama::xml::parse(&docx_part(path, "word/document.xml")).unwrap();
    let rels = tarjama::xml::parse(&docx_part(path, "word/_rels/document.xml.rels")).unwrap();
    let target = |id: &str| {
        rels.elements()
            .find(|r| r.attr("Id") == Some(id))
            .and_then(|r| r.attr("Target"))
            .unwrap_or("?")
            .to_string()
    };
    fn walk(
        e: &tarjama::xml::Element,
        link: Option<String>,
        target: &dyn Fn(&str) -> String,
        out: &mut Vec<(String, String)>,
    ) {
        for c in e.elements() {
            match c.name.as_str() {
                "r" => {
                    let pr = c.child("rPr");
                    let on = |n: &str| pr.and_then(|p| p.child(n)).is_some();
                    let mut f = String::new();
                    for (n, k) in [("b", "b"), ("i", "i"), ("u", "u")] {
                        if on(n) {
                            f.push_str(k);
                        }
                    }
                    if let Some(l) = &link {
                        f.push_str(&format!(" {l}"));
                    }
                    let text = c
                        .child("t")
                        .map(|t| t.text_skipping(&[]))
                        .unwrap_or_default();
                    out.push((text, f));
                }
                "hyperlink" => walk(c, c.attr("r:id").map(target), target, out),
                _ => walk(c, link.clone(), target, out),
            }
        }
    }
    let mut ps = Vec::new();
    doc.descendants("p", &mut ps);
    ps.iter()
        .map(|p| {
            let mut out = Vec::new();
            walk(p, None, &target, &mut out);
            out
        })
        .collect()
}

/// A project with an LLM fake and the formatted Word file as `in.docx`.
fn formatted_project() -> (
    std::sync::Arc<support::Fake>,
    support::BackgroundServer,
    tempfile::TempDir,
) {
    let fake = support::Fake::new();
    let server = support::serve_in_background(support::openai(fake.clone()));
    let dir = tempfile::tempdir().unwrap();
    with_backend(dir.path(), server.url());
    formatted_docx(&dir.path().join("in.docx"));
    (fake, server, dir)
}

/// The English words a run must hold: the fake's rendering of the Arabic
/// it translates.
fn fake_words(ar: &str) -> String {
    support::fake_english(ar)
        .trim_start_matches("EN ")
        .to_string()
}

/// The formatted runs of a paragraph: (text, format) for each run with one.
fn formatted_runs(p: &[(String, String)]) -> Vec<(String, String)> {
    p.iter()
        .filter(|(_, f)| !f.is_empty())
        .map(|(t, f)| (t.trim().to_string(), f.clone()))
        .collect()
}

#[test]
fn bold_italic_and_links_inside_sentences_land_on_the_right_english_words_through_an_llm() {
    let (fake, _server, dir) = formatted_project();
    let d = dir.path();
    tarjama(d)
        .args(["-q", "translate", "in.docx", "-o", "out.docx"])
        .assert()
        .success();
    // What the engine was sent: the second sentence's spans as markers,
    // with the rule in the system prompt; the first sentence unmarked.
    let body = fake.log.last_body();
    let segs = support::llm_segments(&body, "messages");
    let texts: Vec<&str> = segs.iter().map(|(_, a)| a.as_str()).collect();
    assert!(texts.contains(&"قال مصدر إن الوفد وصل."), "{texts:?}");
    assert!(
        texts.contains(
            &"ثم ⟦1⟧قال⟦/1⟧ وزير الخارجية ⟦2⟧سيرجي لافروف⟦/2⟧ في ⟦3⟧مقابلة⟦/3⟧ مع ⟦4⟧وكالة تاس⟦/4⟧ إن المحادثات مستمرة."
        ),
        "{texts:?}"
    );
    assert!(body.to_string().contains("Formatting markers"));
    let runs = word_runs(&d.join("out.docx"));
    assert_eq!(runs.len(), 3);
    // The headline and the last paragraph are plain; no marker anywhere.
    assert!(formatted_runs(&runs[0]).is_empty() && formatted_runs(&runs[2]).is_empty());
    let all: String = runs.iter().flatten().map(|(t, _)| t.as_str()).collect();
    assert!(!all.contains('⟦') && !all.contains('⟧'), "{all}");
    assert_eq!(
        formatted_runs(&runs[1]),
        [
            (fake_words("قال"), "b".to_string()),
            (fake_words("سيرجي لافروف"), "b".to_string()),
            (fake_words("مقابلة"), "i".to_string()),
            (
                fake_words("وكالة تاس"),
                "u https://tass.ru/a?b=1&c=2".to_string()
            ),
        ]
    );
    // The first sentence's "قال" stayed plain.
    assert!(
        runs[1][0]
            .0
            .starts_with(&format!("EN {}", fake_words("قال مصدر"))),
        "{:?}",
        runs[1]
    );
    // The memory holds the plain English (no markers), under the plain key:
    // a rerun sends nothing and places no formatting (with a note).
    let out = d.join("out.jsonl");
    tarjama(d)
        .args(["-q", "translate", "in.docx", "-o"])
        .arg(&out)
        .assert()
        .success();
    assert_eq!(fake.log.count(), 1);
    let (_, rows) = jsonl(&out);
    let row = rows
        .iter()
        .find(|r| r["source"].as_str().unwrap().starts_with("ثم"))
        .unwrap();
    assert!(!row["target"].as_str().unwrap().contains('⟦'));
    assert!(row.get("marked").is_none());
    assert!(
        row["warnings"][0]
            .as_str()
            .unwrap()
            .contains("formatting not placed: bold «قال», bold «سيرجي لافروف»"),
        "{row}"
    );
    let tmx = d.join("tm.tmx");
    tarjama(d)
        .args(["memory", "export", "-o"])
        .arg(&tmx)
        .assert()
        .success();
    let tmx = std::fs::read_to_string(&tmx).unwrap();
    assert!(tmx.contains("syrjy lafrwf") && !tmx.contains('⟦'), "{tmx}");
}

#[test]
fn markers_an_llm_damages_are_asked_for_again_once_then_the_formatting_is_dropped_with_a_note() {
    let (fake, _server, dir) = formatted_project();
    let d = dir.path();
    // Damaged once: the segment is asked again alone, with what was wrong.
    fake.push(support::Fault::CrossMarkers);
    tarjama(d)
        .args(["-q", "translate", "in.docx", "-o", "a.jsonl"])
        .assert()
        .success();
    assert_eq!(fake.log.count(), 2);
    let again = fake.log.last_body().to_string();
    assert!(again.contains("damaged its formatting markers"), "{again}");
    assert!(again.contains("comes before"), "{again}");
    let (_, rows) = jsonl(&d.join("a.jsonl"));
    let row = rows.iter().find(|r| r.get("marked").is_some()).unwrap();
    assert!(
        row["marked"]
            .as_str()
            .unwrap()
            .contains("⟦2⟧syrjy lafrwf⟦/2⟧")
    );
    assert!(row["warnings"].as_array().unwrap().is_empty(), "{row}");

    // Damaged every time: the English is kept without its markers, the
    // formatting is not placed, and the row says so.
    let (fake, _server, dir) = formatted_project();
    let d = dir.path();
    fake.set_always(Some(support::Fault::CrossMarkers));
    tarjama(d)
        .args(["-q", "translate", "in.docx", "-o", "b.jsonl"])
        .assert()
        .success();
    assert_eq!(fake.log.count(), 2);
    let (_, rows) = jsonl(&d.join("b.jsonl"));
    let row = rows
        .iter()
        .find(|r| r["source"].as_str().unwrap().starts_with("ثم"))
        .unwrap();
    let target = row["target"].as_str().unwrap();
    assert!(
        target.contains("syrjy lafrwf") && !target.contains('⟦'),
        "{row}"
    );
    assert!(row.get("marked").is_none());
    assert!(
        row["warnings"][0]
            .as_str()
            .unwrap()
            .contains("formatting not placed: bold «قال», bold «سيرجي لافروف», italic «مقابلة», link https://tass.ru/a?b=1&c=2 «وكالة تاس» (the engine's English did not keep its markers)"),
        "{row}"
    );
    tarjama(d)
        .args(["-q", "render", "b.jsonl", "--to", "docx", "-o", "b.docx"])
        .assert()
        .success();
    let runs = word_runs(&d.join("b.docx"));
    assert!(
        runs.iter().all(|p| formatted_runs(p).is_empty()),
        "{runs:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markers_go_to_deepl_as_xml_tags_and_come_back_on_the_right_words() {
    use crate::support::vendors::{self as pfake, Canned, Server};
    let state = std::sync::Arc::new(pfake::DeepLState::default());
    let server = Server::start(pfake::deepl(pfake::DEEPL_KEY, state)).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    std::fs::write(
        d.join("tarjama.toml"),
        format!(
            "default_backend = \"dl\"\n[memory]\npath = \"tm.sqlite\"\n[backends.dl]\nkind = \"deepl\"\nurl = \"{}\"\napi_key_env = \"TARJAMA_TEST_DEEPL_KEY\"\nterms = \"off\"\nmax_retries = 0\n",
            server.url
        ),
    )
    .unwrap();
    formatted_docx(&d.join("in.docx"));
    let run = |d: PathBuf, out: &'static str| {
        tokio::task::spawn_blocking(move || {
            tarjama(&d)
                .env("TARJAMA_TEST_DEEPL_KEY", pfake::DEEPL_KEY)
                .args(["-q", "translate", "in.docx", "--no-memory", "-o", out])
                .assert()
                .success();
        })
    };
    run(d.clone(), "out.docx").await.unwrap();
    let sent = server.requests_to("/v2/translate");
    assert_eq!(sent.len(), 1);
    let body = sent[0].json();
    assert_eq!(body["tag_handling"], "xml");
    let texts = body["text"].to_string();
    assert!(
        texts.contains("<m2>سيرجي لافروف</m2> في <m3>مقابلة</m3> مع <m4>وكالة تاس</m4>"),
        "{texts}"
    );
    assert!(!texts.contains('⟦'));
    // The fake DeepL answers en(<text>), tags kept where they were.
    let runs = word_runs(&d.join("out.docx"));
    assert_eq!(
        formatted_runs(&runs[1]),
        [
            ("قال".to_string(), "b".to_string()),
            ("سيرجي لافروف".to_string(), "b".to_string()),
            ("مقابلة".to_string(), "i".to_string()),
            (
                "وكالة تاس".to_string(),
                "u https://tass.ru/a?b=1&c=2".to_string()
            ),
        ]
    );
    // A reply whose tags cross: not asked again (DeepL would answer the
    // same), the English kept without the formatting, and a note.
    let damaged = json_reply_crossing(&body);
    server.push(Canned::json(200, damaged));
    run(d.clone(), "b.jsonl").await.unwrap();
    assert_eq!(server.requests_to("/v2/translate").len(), 2);
    let (_, rows) = jsonl(&d.join("b.jsonl"));
    let row = rows
        .iter()
        .find(|r| r["source"].as_str().unwrap().starts_with("ثم"))
        .unwrap();
    assert!(row.get("marked").is_none(), "{row}");
    assert_eq!(
        row["target"].as_str().unwrap(),
        "en(ثم قال وزير الخارجية سيرجي لافروف في مقابلة مع وكالة تاس إن المحادثات مستمرة.)"
    );
    assert!(
        row["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("formatting not placed: bold «قال»"),
        "{row}"
    );
}

/// DeepL's answer to `body` with the tags of the marked text crossed
/// (`</m1>` moved after `<m2>`).
fn json_reply_crossing(body: &Value) -> Value {
    let out: Vec<Value> = body["text"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let t = t.as_str().unwrap();
            let t = if t.contains("<m2>") {
                t.replacen("</m1>", "", 1).replacen("<m2>", "<m2></m1>", 1)
            } else {
                t.to_string()
            };
            serde_json::json!({"detected_source_language": "AR", "text": format!("en({t})")})
        })
        .collect();
    serde_json::json!({ "translations": out })
}

/// The LLM answer alignment check does not read inline markers as the
/// text's numbers or first words: answers that keep the markers, and
/// first words copied without them, are not taken for swapped answers.
#[test]
fn inline_markers_do_not_disturb_the_llm_alignment_check() {
    use tarjama::backend::align::misaligned;
    let req = |id: &str, text: &str| tarjama::model::Request {
        id: id.into(),
        text: text.into(),
        terms: vec![],
        context: Default::default(),
        insist: false,
    };
    let batch = [
        req("p1s1", "قال ⟦1⟧الوزير⟦/1⟧ إن ⟦2⟧الوفد⟦/2⟧ وصل في 2024."),
        req("p1s2", "وأضاف ⟦1⟧المتحدث⟦/1⟧ أن 15 شخصا أصيبوا."),
        req("p1s3", "وانتهى اللقاء في ⟦1⟧بيروت⟦/1⟧ مساء 3 أكتوبر."),
    ];
    let answers = vec![
        (
            "The ⟦1⟧minister⟦/1⟧ said ⟦2⟧the delegation⟦/2⟧ arrived in 2024.".to_string(),
            Some("قال الوزير إن".to_string()),
        ),
        (
            "The ⟦1⟧spokesman⟦/1⟧ added that 15 people were hurt.".to_string(),
            Some("وأضاف ⟦1⟧المتحدث⟦/1⟧ أن".to_string()),
        ),
        (
            "The meeting ended in ⟦1⟧Beirut⟦/1⟧ on the evening of 3 October.".to_string(),
            Some("وانتهى اللقاء في".to_string()),
        ),
    ];
    assert_eq!(misaligned(&batch, &answers), [false, false, false]);
    // the check still works on marked segments: swapped answers are caught
    let swapped = vec![answers[1].clone(), answers[0].clone(), answers[2].clone()];
    let bad = misaligned(&batch, &swapped);
    assert!(bad[0] && bad[1], "{bad:?}");
}

/// A bold run across a sentence boundary cannot be placed in either
/// sentence's English: the sentence where it starts says so, the bold
/// runs of the next sentence are still placed.
#[test]
fn a_formatted_run_across_two_sentences_is_reported_where_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document {W}><w:body>
<w:p><w:pPr><w:bidi/></w:pPr><w:r><w:t xml:space="preserve">قال الوزير إن الاجتماع </w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>انتهى. وأضاف</w:t></w:r><w:r><w:t xml:space="preserve"> أن </w:t></w:r><w:r><w:rPr><w:i/></w:rPr><w:t>الوفد</w:t></w:r><w:r><w:t xml:space="preserve"> غادر.</w:t></w:r></w:p>
<w:sectPr/></w:body></w:document>"#
    );
    handmade_docx(&d.join("in.docx"), &body, None);
    tarjama(d)
        .args(["-q", "translate", "in.docx", "-o", "in.jsonl"])
        .assert()
        .success();
    let (_, rows) = jsonl(&d.join("in.jsonl"));
    assert_eq!(rows.len(), 2);
    let w0: Vec<&str> = rows[0]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        w0.contains(
            &"formatting not placed: bold «انتهى. وأضاف» (it runs across two sentences); apply it by hand"
        ),
        "{w0:?}"
    );
    assert!(rows[0].get("formats").is_none());
    // the second sentence's italic run is placed (in the request, offline
    // here: it is in the row's formats)
    assert_eq!(rows[1]["formats"][0]["text"], "الوفد");
    assert!(
        !rows[1]["warnings"]
            .to_string()
            .contains("formatting not placed: bold")
    );
}
