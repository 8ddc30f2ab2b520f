//! Every kind of Word file tarjama writes, opened by a real application:
//! headless LibreOffice converts them to PDF (one invocation for all), and
//! `pdftotext` shows every segment there, the Arabic in logical order (its
//! words are found as stored, not mirrored). One screenshot of the bilingual
//! table is kept (`pdftoppm`, under target/tmp/libreoffice/) for a human to
//! look at. Then a table edited and re-saved by LibreOffice as .docx comes
//! back through `render --against --update-memory`.
//!
//! Skipped with a message when `soffice` or poppler's tools are missing;
//! with `CI` set and `TARJAMA_REQUIRE_LIBREOFFICE=1` (as .ci/run sets) a
//! missing one fails instead.

use crate::support::tarjama;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command as Std;

use serde_json::Value;

use crate::support;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
    })
}

/// The tools, or `None` (skip) with a message; a panic when CI requires them.
fn tools() -> Option<PathBuf> {
    let missing: Vec<&str> = ["soffice", "pdftotext", "pdftoppm"]
        .into_iter()
        .filter(|t| which(t).is_none())
        .collect();
    if missing.is_empty() {
        return which("soffice");
    }
    let why = format!("{} not installed", missing.join(", "));
    let required = std::env::var_os("CI").is_some()
        && std::env::var("TARJAMA_REQUIRE_LIBREOFFICE").is_ok_and(|v| v == "1");
    if required {
        panic!(
            "TARJAMA_REQUIRE_LIBREOFFICE=1 but {why} (apt-get install --no-install-recommends libreoffice-writer-nogui poppler-utils)"
        );
    }
    eprintln!(
        "SKIPPED: {why} (apt-get install --no-install-recommends libreoffice-writer-nogui poppler-utils)"
    );
    None
}

/// Run headless LibreOffice with its own profile in `dir`.
fn soffice(soffice: &Path, dir: &Path, args: &[&str]) {
    let profile = format!("file://{}", dir.join("lo-profile").display());
    let out = Std::new(soffice)
        .current_dir(dir)
        .env("HOME", dir)
        .args([
            "--headless",
            "--norestore",
            "--nologo",
            &format!("-env:UserInstallation={profile}"),
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "soffice {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The text pdftotext reads, bidi marks as spaces, white space folded.
fn pdf_text(pdf: &Path) -> String {
    let out = Std::new("pdftotext").arg(pdf).arg("-").output().unwrap();
    assert!(out.status.success(), "pdftotext {}", pdf.display());
    let t: String = String::from_utf8(out.stdout)
        .unwrap()
        .chars()
        .map(|c| match c {
            // pdftotext marks right-to-left runs; a mark stands between
            // runs (never inside a word), as a space does.
            '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => ' ',
            c => c,
        })
        .collect();
    t.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The words of `s` (letters and digits only; Arabic short vowels, which
/// pdftotext may place apart from their letter, left out). A token that
/// mixes Arabic letters with digits or Latin (`ديسمبر2018` on a real page)
/// is two words: the bidirectional algorithm lays its runs out in
/// opposite directions, so the PDF's text has them apart.
fn words(s: &str) -> Vec<String> {
    let arabic = |c: char| ('\u{0600}'..='\u{06FF}').contains(&c) && !c.is_numeric();
    let mut out: Vec<String> = Vec::new();
    let mut prev: Option<bool> = None;
    for c in s.chars() {
        if matches!(c, '\u{064B}'..='\u{0652}' | '\u{0670}') {
            continue;
        }
        if !c.is_alphanumeric() {
            prev = None;
            continue;
        }
        if prev != Some(arabic(c)) {
            out.push(String::new());
        }
        prev = Some(arabic(c));
        out.last_mut().expect("pushed").push(c);
    }
    out
}

fn pairs(jsonl: &Path) -> Vec<Value> {
    std::fs::read_to_string(jsonl)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Copy a docx with one text replaced in its document.xml.
fn edit_docx(from: &Path, to: &Path, old: &str, new: &str) {
    let mut src = zip::ZipArchive::new(std::fs::File::open(from).unwrap()).unwrap();
    let mut z = zip::ZipWriter::new(std::fs::File::create(to).unwrap());
    let o = zip::write::SimpleFileOptions::default();
    for i in 0..src.len() {
        let mut f = src.by_index(i).unwrap();
        let name = f.name().unwrap().into_owned();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        if name == "word/document.xml" {
            let xml = String::from_utf8(bytes).unwrap();
            assert!(xml.contains(old));
            bytes = xml.replace(old, new).into_bytes();
        }
        z.start_file(&name, o).unwrap();
        z.write_all(&bytes).unwrap();
    }
    z.finish().unwrap();
}

#[test]
fn libreoffice_opens_every_word_file_and_an_edited_table_comes_back() {
    let Some(soffice_bin) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The translated seed article (a fixture) as both Word outputs...
    let seed = repo().join("tests/fixtures/output_seed.jsonl");
    for (to, file) in [("docx", "seed.docx"), ("docx-table", "seed-table.docx")] {
        tarjama(d)
            .args(["-q", "render"])
            .arg(&seed)
            .args(["--to", to, "-o", file])
            .assert()
            .success();
    }
    // ...and a real saved page translated through a backend to both.
    let fake = support::Fake::new();
    let server = support::serve_in_background(support::openai(fake.clone()));
    std::fs::write(
        d.join("tarjama.toml"),
        format!(
            "default_backend = \"fake\"\n[memory]\npath = \"tm.sqlite\"\n\
             [backends.fake]\nkind = \"openai\"\nurl = \"{}/v1\"\nmodel = \"m\"\n\
             batch_size = 20\nmax_retries = 1\ntimeout_secs = 20\n",
            server.url()
        ),
    )
    .unwrap();
    // (each real site once: the CNN page's other saves are the same text)
    for (fixture, name) in [
        ("cnn-arabic-2013-newspaper.html", "page"),
        ("assabah-2019-sudan-interview.html", "assabah"),
        ("lbci-2026-trump-hair.html", "lbci"),
        ("bbc-arabic-2024-bushnell.html", "bbc"),
        ("rt-arabic-2020-syria-corona.html", "rt"),
        ("sputnik-arabic-2020-china-corona.html", "sputnik"),
    ] {
        std::fs::copy(
            repo().join("tests/fixtures/pages").join(fixture),
            d.join(format!("{name}.html")),
        )
        .unwrap();
        let html = format!("{name}.html");
        tarjama(d)
            .args(["-q", "translate", &html, "-o", &format!("{name}.jsonl")])
            .assert()
            .success();
        for (to, file) in [
            ("docx", format!("{name}.docx")),
            ("docx-table", format!("{name}-table.docx")),
        ] {
            tarjama(d)
                .args(["-q", "translate", &html, "--to", to, "-o", &file])
                .assert()
                .success();
        }
    }
    // The reviewer's edit, to be re-saved by LibreOffice below.
    let before = "Friday 04/October/2024 - 06:52 PM";
    let after = "Friday 4 October 2024, 6:52 pm";
    edit_docx(
        &d.join("seed-table.docx"),
        &d.join("edited.docx"),
        before,
        after,
    );

    let started = std::time::Instant::now();
    soffice(
        &soffice_bin,
        d,
        &[
            "--convert-to",
            "pdf",
            "--outdir",
            "pdf",
            "seed.docx",
            "seed-table.docx",
            "page.docx",
            "page-table.docx",
            "assabah.docx",
            "assabah-table.docx",
            "lbci.docx",
            "lbci-table.docx",
            "bbc.docx",
            "bbc-table.docx",
            "rt.docx",
            "rt-table.docx",
            "sputnik.docx",
            "sputnik-table.docx",
        ],
    );
    let converted = started.elapsed();

    // Every segment is in the PDF: the English (and, in the tables, the
    // Arabic, whose words are found in logical order).
    for (jsonl, pdf, table) in [
        (seed.clone(), "seed.pdf", false),
        (seed.clone(), "seed-table.pdf", true),
        (d.join("page.jsonl"), "page.pdf", false),
        (d.join("page.jsonl"), "page-table.pdf", true),
        (d.join("assabah.jsonl"), "assabah.pdf", false),
        (d.join("assabah.jsonl"), "assabah-table.pdf", true),
        (d.join("lbci.jsonl"), "lbci.pdf", false),
        (d.join("lbci.jsonl"), "lbci-table.pdf", true),
        (d.join("bbc.jsonl"), "bbc.pdf", false),
        (d.join("bbc.jsonl"), "bbc-table.pdf", true),
        (d.join("rt.jsonl"), "rt.pdf", false),
        (d.join("rt.jsonl"), "rt-table.pdf", true),
        (d.join("sputnik.jsonl"), "sputnik.pdf", false),
        (d.join("sputnik.jsonl"), "sputnik-table.pdf", true),
    ] {
        let text = pdf_text(&d.join("pdf").join(pdf));
        let have: std::collections::HashSet<String> = words(&text).into_iter().collect();
        // pdftotext may put a space inside a word after a shadda (`التغيّ ر`
        // at a line's end on LBCI's page): such a word is looked for in the
        // text without spaces, in logical order all the same.
        let joined: String = words(&text).concat();
        let rows = pairs(&jsonl);
        assert!(!rows.is_empty());
        for r in &rows {
            let Some(en) = r["target"].as_str() else {
                // An untranslated segment is marked, not dropped.
                assert!(text.contains("untranslated"), "{pdf}: {} unmarked", r["id"]);
                continue;
            };
            if !table {
                // One column: each English segment reads as written (line
                // breaks and the hyphens pdftotext joins at them aside).
                let squash = |s: &str| -> String {
                    s.chars()
                        .filter(|c| !c.is_whitespace() && *c != '-')
                        .collect()
                };
                assert!(squash(&text).contains(&squash(en)), "{pdf}: {en:?} missing");
            }
            for w in words(en) {
                assert!(have.contains(&w), "{pdf}: English word {w:?} missing");
            }
            if table {
                for w in words(r["source"].as_str().unwrap()) {
                    assert!(
                        have.contains(&w) || joined.contains(&w),
                        "{pdf}: Arabic word {w:?} missing or mirrored"
                    );
                }
                assert!(
                    text.contains(r["id"].as_str().unwrap()),
                    "{pdf}: id missing"
                );
            }
        }
        if table {
            // The header row is repeated on every page.
            let pages = Std::new("pdfinfo").arg(d.join("pdf").join(pdf)).output();
            let n = pages
                .ok()
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .and_then(|s| {
                    s.lines()
                        .find(|l| l.starts_with("Pages:"))
                        .and_then(|l| l[6..].trim().parse::<usize>().ok())
                })
                .unwrap_or(1);
            assert_eq!(text.matches("Notes").count(), n, "{pdf}: header rows");
        }
    }

    // One screenshot of the bilingual table, kept for a human to look at.
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("libreoffice");
    std::fs::create_dir_all(&shots).unwrap();
    let st = Std::new("pdftoppm")
        .args(["-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile"])
        .arg(d.join("pdf/seed-table.pdf"))
        .arg(shots.join("bilingual-table"))
        .status()
        .unwrap();
    assert!(st.success());
    let png = std::fs::read(shots.join("bilingual-table.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000);
    eprintln!(
        "LibreOffice converted 10 Word files in {:.1}s; screenshot: {}",
        converted.as_secs_f64(),
        shots.join("bilingual-table.png").display()
    );

    // LibreOffice re-saves the edited table as .docx; render reads it back.
    soffice(
        &soffice_bin,
        d,
        &[
            "--convert-to",
            "docx:MS Word 2007 XML",
            "--outdir",
            "resaved",
            "edited.docx",
        ],
    );
    let out = tarjama(d)
        .args(["render", "resaved/edited.docx", "--against"])
        .arg(&seed)
        .args([
            "--memory",
            "review.sqlite",
            "--update-memory",
            "-o",
            "final.txt",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("1 edited by the reviewer"), "{err}");
    let final_text = std::fs::read_to_string(d.join("final.txt")).unwrap();
    assert!(final_text.contains(after));
    let mem = tarjama::memory::Memory::open(&d.join("review.sqlite")).unwrap();
    let h = mem
        .lookup_human("الجمعة 04/أكتوبر/2024 - 06:52 م")
        .unwrap()
        .expect("the edit is in the memory");
    assert_eq!(h.target, after);
}

/// A document LibreOffice writes from an `.fodt` whose right-to-left
/// paragraphs get their direction from a paragraph style only (as an
/// Arabic template does): `w:bidi` in styles.xml, none on the paragraph.
const RTL_STYLE_FODT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">
<office:styles>
<style:style style:name="Arabic_Body" style:family="paragraph"><style:paragraph-properties style:writing-mode="rl-tb" fo:text-align="end"/></style:style>
<style:style style:name="English_Note" style:family="paragraph" style:parent-style-name="Arabic_Body"><style:paragraph-properties style:writing-mode="lr-tb"/></style:style>
</office:styles>
<office:body><office:text>
<text:p text:style-name="Arabic_Body">فقرة عربية أولى.</text:p>
<text:p text:style-name="Arabic_Body">ونقلت وكالة Reuters الخبر عن مصدر.</text:p>
<text:p text:style-name="English_Note">An English note.</text:p>
</office:text></office:body></office:document>
"#;

#[test]
fn libreoffice_sees_the_inline_formatting_on_the_english_words_and_style_directions_are_read() {
    let Some(soffice_bin) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A Word file with bold, italic and a link mid-sentence, translated
    // through an LLM fake to the document and to the table.
    let fake = support::Fake::new();
    let server = support::serve_in_background(support::openai(fake.clone()));
    crate::documents::with_backend(d, server.url());
    crate::documents::formatted_docx(&d.join("in.docx"));
    // Translated once; both Word files rendered from the draft (a second
    // translate would take the plain English from the memory).
    tarjama(d)
        .args(["-q", "translate", "in.docx", "-o", "draft.jsonl"])
        .assert()
        .success();
    for (to, file) in [
        ("docx", "formatted.docx"),
        ("docx-table", "formatted-table.docx"),
    ] {
        tarjama(d)
            .args(["-q", "render", "draft.jsonl", "--to", to, "-o", file])
            .assert()
            .success();
    }
    std::fs::write(d.join("rtl-style.fodt"), RTL_STYLE_FODT).unwrap();
    // LibreOffice reads both Word files (as HTML, where its formatting
    // shows as tags) and writes the .fodt as a Word file.
    soffice(
        &soffice_bin,
        d,
        &[
            "--convert-to",
            "html",
            "--outdir",
            "html",
            "formatted.docx",
            "formatted-table.docx",
        ],
    );
    soffice(&soffice_bin, d, &["--convert-to", "docx", "rtl-style.fodt"]);

    let en = |ar: &str| {
        support::fake_english(ar)
            .trim_start_matches("EN ")
            .to_string()
    };
    // Text without tags, white space folded.
    let text = |s: &str| -> String {
        let mut out = String::new();
        let mut in_tag = false;
        for c in s.chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    for file in ["formatted.html", "formatted-table.html"] {
        let html = std::fs::read_to_string(d.join("html").join(file)).unwrap();
        let flat: String = html.split_whitespace().collect::<Vec<_>>().join(" ");
        // The words each format covers, as LibreOffice reads them.
        let inside = |open: &str, close: &str| -> Vec<String> {
            flat.split(open)
                .skip(1)
                .filter_map(|s| s.split(close).next())
                .map(text)
                .collect()
        };
        let bold = inside("<b>", "</b>");
        let italic = inside("<i>", "</i>");
        assert!(
            bold.contains(&en("سيرجي لافروف")),
            "{file}: bold {bold:?}\n{flat}"
        );
        assert!(bold.contains(&en("قال")), "{file}: bold {bold:?}");
        assert!(italic.contains(&en("مقابلة")), "{file}: italic {italic:?}");
        // the first sentence's plain "قال" is not bold
        assert!(!bold.iter().any(|b| b.contains(&en("قال مصدر"))), "{file}");
        if file == "formatted.html" {
            let link = inside("href=\"https://tass.ru/a?b=1&amp;c=2\"", "</a>");
            assert_eq!(link, [en("وكالة تاس")], "{file}: link\n{flat}");
        }
        assert!(!flat.contains('⟦'), "{file}");
    }

    // The directions of the Word file LibreOffice made: paragraphs 1 and 2
    // right to left by their style alone (paragraph 2's runs are not all
    // right to left), paragraph 3 left to right by its style.
    let docx = d.join("rtl-style.docx");
    let mut z = zip::ZipArchive::new(std::fs::File::open(&docx).unwrap()).unwrap();
    let mut body = String::new();
    z.by_name("word/document.xml")
        .unwrap()
        .read_to_string(&mut body)
        .unwrap();
    assert!(
        !body.contains("<w:bidi"),
        "LibreOffice put w:bidi on a paragraph:\n{body}"
    );
    tarjama(d)
        .args([
            "-q",
            "translate",
            "rtl-style.docx",
            "--no-memory",
            "--to",
            "jsonl",
            "-o",
            "rtl.jsonl",
        ])
        .assert()
        .success();
    let header: Value = serde_json::from_str(
        std::fs::read_to_string(d.join("rtl.jsonl"))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        header["rtl_paragraphs"],
        serde_json::json!([1, 2]),
        "{header}"
    );
}
