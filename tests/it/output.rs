//! Bilingual output end to end through the real binary: every writer on the
//! seed article against snapshots, XML against the XLIFF/TMX schemas
//! (xmllint), hostile input in HTML, the HTML laid out by headless Chromium,
//! and the review round trip (TSV and XLIFF edited, rendered back).

use crate::support::tarjama_in_repo as tarjama;
use std::path::{Path, PathBuf};
use std::process::Command as Std;

use predicates::prelude::*;

const SEED: &str = "tests/fixtures/output_seed.jsonl";
const SNAPSHOTS: &str = "tests/fixtures/output_snapshots";
const XSD: &str = "tests/fixtures/xsd";

/// Render the seed fixture with extra arguments; the bytes written to stdout.
fn render_seed(args: &[&str]) -> Vec<u8> {
    let out = tarjama()
        .arg("render")
        .arg(SEED)
        .args(args)
        .arg("-q")
        .output()
        .unwrap();
    crate::support::assert_success(&out);
    out.stdout
}

/// Compare with the stored snapshot (the version number masked); set
/// TARJAMA_UPDATE_SNAPSHOTS=1 to rewrite them after a deliberate change.
fn snapshot(name: &str, bytes: &[u8]) {
    let text = String::from_utf8(bytes.to_vec())
        .unwrap()
        .replace(env!("CARGO_PKG_VERSION"), "{VERSION}");
    let path = Path::new(SNAPSHOTS).join(name);
    if std::env::var_os("TARJAMA_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(SNAPSHOTS).unwrap();
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with TARJAMA_UPDATE_SNAPSHOTS=1 to create it",
            path.display()
        )
    });
    if want != text {
        let line = want
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(want.lines().count().min(text.lines().count()));
        panic!(
            "{name} differs from {} at line {}:\n  want: {:?}\n  got:  {:?}\n(TARJAMA_UPDATE_SNAPSHOTS=1 rewrites snapshots)",
            path.display(),
            line + 1,
            want.lines().nth(line),
            text.lines().nth(line)
        );
    }
}

fn test_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("output")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Whether an external tool is there; in CI (CI=true) its absence fails the test.
fn have(tool: &str) -> bool {
    let ok = Std::new(tool).arg("--version").output().is_ok();
    if !ok {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{tool} is not installed; .ci/run must install it");
        }
        eprintln!("SKIPPED: {tool} is not installed");
    }
    ok
}

#[test]
fn every_writer_matches_its_snapshot() {
    snapshot("seed.html", &render_seed(&["--to", "html"]));
    snapshot("seed.md", &render_seed(&["--to", "md"]));
    snapshot(
        "seed.interleaved.md",
        &render_seed(&["--to", "md", "--layout", "interleaved"]),
    );
    snapshot("seed.tsv", &render_seed(&["--to", "tsv"]));
    snapshot("seed.xlf", &render_seed(&["--to", "xliff"]));
    snapshot(
        "seed.1.2.xlf",
        &render_seed(&["--to", "xliff", "--xliff-version", "1.2"]),
    );
    snapshot("seed.tmx", &render_seed(&["--to", "tmx"]));
    snapshot("seed.txt", &render_seed(&["--to", "txt"]));
}

#[test]
fn jsonl_round_trips_through_render() {
    let out = render_seed(&["--to", "jsonl"]);
    let original = std::fs::read_to_string(SEED).unwrap();
    let a = tarjama::output::jsonl::read("seed", &original).unwrap();
    let b = tarjama::output::jsonl::read("out", std::str::from_utf8(&out).unwrap()).unwrap();
    assert_eq!(a, b);
    assert_eq!(b.pairs.len(), 19);
}

#[test]
fn format_follows_the_extension_and_files_are_written_atomically() {
    let dir = test_dir("ext");
    for (ext, needle) in [
        ("html", "<!DOCTYPE html>"),
        ("md", "| Arabic | English |"),
        ("tsv", "id\tsource\ttarget\torigin\tflags\tpost_edit"),
        ("xliff", "urn:oasis:names:tc:xliff:document:2.0"),
        ("tmx", "<tmx version=\"1.4\">"),
        ("txt", "Russia and the Taliban discuss"),
    ] {
        let out = dir.join(format!("seed.{ext}"));
        tarjama()
            .args(["render", SEED, "-q", "-o"])
            .arg(&out)
            .assert()
            .success()
            .stdout("");
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.contains(needle), "{ext}: {needle}");
    }
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with('.')),
        "temporary files left: {names:?}"
    );
    tarjama()
        .args(["render", SEED, "-o"])
        .arg(dir.join("seed.odt"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("give --to"));
}

#[test]
fn tsv_bom_flag() {
    let with = render_seed(&["--to", "tsv", "--bom"]);
    assert!(with.starts_with("\u{feff}id\t".as_bytes()));
    assert!(render_seed(&["--to", "tsv"]).starts_with(b"id\t"));
}

fn xmllint(args: &[&str], file: &Path) -> (bool, String) {
    let out = Std::new("xmllint").args(args).arg(file).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn xml_outputs_validate_against_the_schemas() {
    if !have("xmllint") {
        return;
    }
    let dir = test_dir("xml");
    let cases = [
        (
            "seed.xlf",
            vec!["--to", "xliff"],
            "xliff-core-2.0-subset.xsd",
        ),
        (
            "seed12.xlf",
            vec!["--to", "xliff", "--xliff-version", "1.2"],
            "xliff-core-1.2-strict-subset.xsd",
        ),
    ];
    for (name, args, xsd) in cases {
        let p = dir.join(name);
        std::fs::write(&p, render_seed(&args)).unwrap();
        let schema = format!("{XSD}/{xsd}");
        let (ok, err) = xmllint(&["--noout", "--nonet", "--schema", &schema], &p);
        assert!(ok, "{name} does not validate against {xsd}:\n{err}");
    }
    let tmx = dir.join("seed.tmx");
    std::fs::write(&tmx, render_seed(&["--to", "tmx"])).unwrap();
    let dtd = format!("{XSD}/tmx14.dtd");
    let (ok, err) = xmllint(&["--noout", "--nonet", "--dtdvalid", &dtd], &tmx);
    assert!(
        ok,
        "seed.tmx does not validate against the TMX 1.4b DTD:\n{err}"
    );

    // The schemas are not vacuous: a broken file is rejected.
    let bad = dir.join("bad.xlf");
    let text = String::from_utf8(render_seed(&["--to", "xliff"])).unwrap();
    std::fs::write(
        &bad,
        text.replacen("state=\"translated\"", "state=\"done\"", 1),
    )
    .unwrap();
    let (ok, _) = xmllint(
        &[
            "--noout",
            "--nonet",
            "--schema",
            &format!("{XSD}/xliff-core-2.0-subset.xsd"),
        ],
        &bad,
    );
    assert!(!ok, "an invalid state value must not validate");
    let bad12 = dir.join("bad12.xlf");
    let text =
        String::from_utf8(render_seed(&["--to", "xliff", "--xliff-version", "1.2"])).unwrap();
    std::fs::write(
        &bad12,
        text.replacen(
            "<source xml:lang=\"ar\">",
            "<target><source xml:lang=\"ar\">",
            1,
        )
        .replacen("</source>", "</source></target>", 1),
    )
    .unwrap();
    let (ok, _) = xmllint(
        &[
            "--noout",
            "--nonet",
            "--schema",
            &format!("{XSD}/xliff-core-1.2-strict-subset.xsd"),
        ],
        &bad12,
    );
    assert!(!ok, "a misplaced element must not validate");
    let badtmx = dir.join("bad.tmx");
    let text = String::from_utf8(render_seed(&["--to", "tmx"])).unwrap();
    std::fs::write(&badtmx, text.replacen(" srclang=\"ar\"", "", 1)).unwrap();
    let (ok, _) = xmllint(&["--noout", "--nonet", "--dtdvalid", &dtd], &badtmx);
    assert!(!ok, "a TMX header without srclang must not validate");
}

/// A one-segment JSONL whose texts are hostile.
fn hostile_jsonl(dir: &Path) -> PathBuf {
    let pair = serde_json::json!({
        "id": "p1s1", "para": 1,
        "source": "<script>alert('ar')</script> \"روسيا\" & وطالبان \u{202E}",
        "target": "<script>alert(\"en\")</script> <img src=x onerror=alert(1)> 'Russia' & \u{202E}nabilaT\u{202C} \u{2067}x",
        "origin": "mt",
        "terms": [{"source": "<b>", "target": "<i>\"", "start": 0, "end": 8, "surface": "<script>", "honoured": false}],
        "warnings": ["<b>bold</b> & \"quoted\""],
        "suggestions": [{"score": 80, "source": "</td><td>", "target": "</table>", "origin": "human"}]
    });
    let header = serde_json::json!({"type": "header", "title": "</title><script>x()</script>", "backend": "<svg onload=x>"});
    let p = dir.join("hostile.jsonl");
    std::fs::write(&p, format!("{header}\n{pair}\n")).unwrap();
    p
}

#[test]
fn html_escapes_hostile_input() {
    let dir = test_dir("hostile");
    let input = hostile_jsonl(&dir);
    let out = tarjama()
        .args(["render", "--to", "html", "-q"])
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success());
    let html = String::from_utf8(out.stdout).unwrap();
    let lower = html.to_lowercase();
    assert!(!lower.contains("<script"), "a script element got through");
    assert!(!lower.contains("<img"), "an img element got through");
    assert!(!lower.contains("<svg"), "an svg element got through");
    assert!(!lower.contains("</table>\n</table>"));
    // (In the Arabic cell the Latin run is isolated in <bdi>, the text intact.)
    assert!(html.contains("&lt;<bdi dir=\"ltr\">script</bdi>&gt;<sup class=\"tn\">1</sup></mark><bdi dir=\"ltr\">alert(&#39;ar&#39;)&lt;/script</bdi>&gt;"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(&quot;en&quot;)&lt;/script&gt;"));
    assert!(html.contains("&lt;/title&gt;&lt;script&gt;x()&lt;/script&gt;"));
    assert!(html.contains("&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;"));
    // Bidi controls are shown, never obeyed.
    for c in ['\u{202E}', '\u{202C}', '\u{2067}'] {
        assert!(
            !html.contains(c),
            "raw bidi control U+{:04X} in the page",
            c as u32
        );
    }
    assert!(html.contains(">U+202E</span>"));
    // Exactly one table with one body row: nothing broke out of its cell.
    assert_eq!(lower.matches("<table").count(), 1);
    assert_eq!(lower.matches("<tr ").count(), 1);
    assert_eq!(lower.matches("</td>").count(), 2);
    // Markdown and XML escape it too.
    let md = tarjama()
        .args(["render", "--to", "md", "-q"])
        .arg(&input)
        .output()
        .unwrap()
        .stdout;
    assert!(
        !String::from_utf8(md)
            .unwrap()
            .to_lowercase()
            .contains("<script")
    );
    let xlf = tarjama()
        .args(["render", "--to", "xliff", "-q"])
        .arg(&input)
        .output()
        .unwrap()
        .stdout;
    let xlf = String::from_utf8(xlf).unwrap();
    assert!(!xlf.contains("<script") && xlf.contains("&lt;script&gt;"));
}

fn chromium() -> Option<String> {
    for c in ["chromium", "chromium-browser", "google-chrome"] {
        if Std::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Some(c.to_string());
        }
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "chromium is not installed; .ci/run must install the Debian packages chromium and fonts-noto-core"
        );
    }
    eprintln!("SKIPPED: chromium is not installed (apt-get install chromium fonts-noto-core)");
    None
}

fn headless(browser: &str, profile: &Path) -> Std {
    let mut c = Std::new(browser);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// Measures the laid-out page from inside the browser: the computed
/// direction of the first Arabic and English cells and where their first two
/// characters landed. Injected only into a copy made for the test; the page
/// tarjama writes has no script.
const PROBE: &str = r#"<script>
window.addEventListener('load', () => {
  const chars = (el) => {
    const w = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    let n; while ((n = w.nextNode())) { if (n.textContent.trim().length > 1) break; }
    const at = (i) => { const r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + 1); return r.getBoundingClientRect(); };
    const s = n.textContent.search(/\S/);
    return [at(s), at(s + 1)];
  };
  const ar = document.querySelector('tbody td.ar');
  const en = document.querySelector('tbody td.en .text');
  const [a0, a1] = chars(ar), [e0, e1] = chars(en);
  const ac = ar.getBoundingClientRect(), ec = en.getBoundingClientRect();
  const out = {
    arDir: getComputedStyle(ar).direction, enDir: getComputedStyle(en).direction,
    arFirstRightOfSecond: a0.left > a1.left, enFirstLeftOfSecond: e0.left < e1.left,
    arStartsAtRightEdge: (ac.right - a0.right) < (a0.left - ac.left),
    enStartsAtLeftEdge: (e0.left - ec.left) < (ec.right - e0.right),
    arColumnLeftOfEn: ac.right <= ec.left + 1,
  };
  const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"#;

#[test]
fn html_shows_right_to_left_arabic_in_headless_chromium() {
    let Some(browser) = chromium() else { return };
    let dir = test_dir("chromium");
    let page = dir.join("seed.html");
    tarjama()
        .args(["render", SEED, "-q", "-o"])
        .arg(&page)
        .assert()
        .success();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("<script"),
        "the page itself needs no JavaScript"
    );

    // Screenshot of the page as written.
    let shot = dir.join("seed.png");
    let out = headless(&browser, &dir.join("profile-shot"))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1280,1600")
        .arg(format!("file://{}", page.canonicalize().unwrap().display()))
        .output()
        .unwrap();
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "screenshot suspiciously small"
    );
    eprintln!("screenshot: {}", shot.display());

    // Layout measured in a probe copy.
    let probe = dir.join("probe.html");
    std::fs::write(
        &probe,
        html.replace("</body>", &format!("{PROBE}\n</body>")),
    )
    .unwrap();
    let out = headless(&browser, &dir.join("profile-probe"))
        .args([
            "--window-size=1280,1600",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ])
        .arg(format!(
            "file://{}",
            probe.canonicalize().unwrap().display()
        ))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom.find("<pre id=\"probe\">").unwrap_or_else(|| {
        panic!(
            "the probe did not run:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    }) + "<pre id=\"probe\">".len();
    let json = &dom[start..start + dom[start..].find("</pre>").unwrap()];
    let v: serde_json::Value = serde_json::from_str(&json.replace("&quot;", "\"")).unwrap();
    assert_eq!(v["arDir"], "rtl", "{v}");
    assert_eq!(v["enDir"], "ltr", "{v}");
    for key in [
        "arFirstRightOfSecond",
        "enFirstLeftOfSecond",
        "arStartsAtRightEdge",
        "enStartsAtLeftEdge",
        "arColumnLeftOfEn",
    ] {
        assert_eq!(v[key], true, "{key}: {v}");
    }
}

/// Set column `col` of the TSV row whose id is `id`.
fn set_tsv_cell(tsv: &str, id: &str, col: usize, value: &str) -> String {
    tsv.lines()
        .map(|l| {
            let mut cells: Vec<String> = l.split('\t').map(str::to_string).collect();
            if cells[0] == id {
                cells[col] = value.to_string();
            }
            cells.join("\t") + "\n"
        })
        .collect()
}

#[test]
fn reviewed_tsv_renders_to_final_english() {
    let dir = test_dir("tsv-review");
    let tsv = dir.join("review.tsv");
    tarjama()
        .args(["render", SEED, "-q", "-o"])
        .arg(&tsv)
        .assert()
        .success();
    let text = std::fs::read_to_string(&tsv).unwrap();
    let fixed = "The Taliban's acting foreign minister travelled to Russia on Wednesday to take part in the sixth meeting of the Moscow Format, and the Taliban foreign ministry has not yet commented on the meeting.";
    let text = set_tsv_cell(&text, "p6s1", 5, fixed);
    let text = set_tsv_cell(&text, "p19s1", 5, "Share");
    // A spreadsheet program saves CRLF line ends.
    std::fs::write(&tsv, text.replace('\n', "\r\n")).unwrap();

    let final_txt = dir.join("final.txt");
    let assert = tarjama()
        .args(["render", "--against", SEED, "-o"])
        .arg(&final_txt)
        .arg(&tsv)
        .assert()
        .success();
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(
        stderr
            .contains("19 segments, 2 edited by the reviewer (1 filled in), word edit distance 4"),
        "{stderr}"
    );
    assert!(stderr.contains("edited: p6s1 (3), p19s1 (1)"), "{stderr}");
    let english = std::fs::read_to_string(&final_txt).unwrap();
    assert!(english.contains(fixed));
    assert!(english.trim_end().ends_with("Share"), "{english}");
    assert!(!english.contains("Taleban") && !english.contains("[untranslated"));
    assert_eq!(
        english.split("\n\n").count(),
        19,
        "one paragraph per source paragraph"
    );

    // Without --against the TSV's own target column is the machine text.
    let assert = tarjama()
        .args(["render", "--to", "jsonl"])
        .arg(&tsv)
        .assert()
        .success();
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("2 edited by the reviewer"), "{stderr}");
    let doc = tarjama::output::jsonl::read(
        "out",
        std::str::from_utf8(&assert.get_output().stdout).unwrap(),
    )
    .unwrap();
    let p6 = doc.pairs.iter().find(|p| p.id == "p6s1").unwrap();
    assert_eq!(p6.origin, tarjama::model::Origin::Human);
    assert_eq!(p6.target.as_deref(), Some(fixed));

    // With --against, the glossary hits are re-checked against the edit.
    let assert = tarjama()
        .args(["render", "--to", "jsonl", "-q", "--against", SEED])
        .arg(&tsv)
        .assert()
        .success();
    let doc = tarjama::output::jsonl::read(
        "out",
        std::str::from_utf8(&assert.get_output().stdout).unwrap(),
    )
    .unwrap();
    let p6 = doc.pairs.iter().find(|p| p.id == "p6s1").unwrap();
    assert!(
        p6.terms
            .iter()
            .all(|t| t.honoured == Some(true) && t.forbidden_found.is_empty()),
        "{:?}",
        p6.terms
    );
    assert!(p6.warnings.is_empty());
}

#[test]
fn render_with_a_glossary_highlights_terms_of_a_reviewed_tsv() {
    let dir = test_dir("tsv-glossary");
    let tsv = dir.join("review.tsv");
    tarjama()
        .args(["render", SEED, "-q", "-o"])
        .arg(&tsv)
        .assert()
        .success();
    // A TSV carries no glossary hits: without a glossary there is nothing to highlight.
    let plain = tarjama()
        .args(["render", "--to", "html", "-q"])
        .arg(&tsv)
        .output()
        .unwrap()
        .stdout;
    assert!(!String::from_utf8(plain).unwrap().contains("<mark"));
    let html = tarjama()
        .args([
            "render",
            "--to",
            "html",
            "-q",
            "--glossary",
            "glossaries/seed-article.tsv",
        ])
        .arg(&tsv)
        .output()
        .unwrap()
        .stdout;
    let html = String::from_utf8(html).unwrap();
    assert!(
        html.contains(" title=\"Taliban ← طالبان (glossary)\">Taliban<sup class=\"tn\">"),
        "English side"
    );
    assert!(
        html.contains("<mark class=\"term forbidden c")
            && html.contains(" title=\"طالبان → Taliban (glossary;"),
        "the Taleban row"
    );
    assert!(html.contains(" title=\"سيرجي لافروف → Sergei Lavrov (glossary; honoured in the English)\">سيرجي لافروف<sup class=\"tn\">"));
}

#[test]
fn a_tsv_saved_as_excel_unicode_text_is_read() {
    let dir = test_dir("utf16");
    let tsv = String::from_utf8(render_seed(&["--to", "tsv"])).unwrap();
    let tsv = set_tsv_cell(&tsv, "p19s1", 5, "Share");
    // Excel's "Unicode Text": UTF-16LE with a BOM, CRLF line ends.
    let mut bytes = vec![0xFF, 0xFE];
    for u in tsv.replace('\n', "\r\n").encode_utf16() {
        bytes.extend(u.to_le_bytes());
    }
    let p = dir.join("review.txt");
    std::fs::write(&p, bytes).unwrap();
    let out = tarjama()
        .args(["render", "--from", "tsv", "--to", "txt", "-q"])
        .arg(&p)
        .output()
        .unwrap();
    crate::support::assert_success(&out);
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .trim_end()
            .ends_with("Share")
    );
}

#[test]
fn reviewed_xliff_renders_to_final_english() {
    for version in ["2.1", "1.2"] {
        let dir = test_dir(&format!("xliff-review-{version}"));
        let xlf = dir.join("review.xlf");
        tarjama()
            .args(["render", SEED, "-q", "--xliff-version", version, "-o"])
            .arg(&xlf)
            .assert()
            .success();
        let text = std::fs::read_to_string(&xlf).unwrap();
        // The reviewer corrects p13s1 in the CAT tool: both mentions of
        // the group get the glossary's name.
        assert_eq!(text.matches("ISIS-Khorasan").count(), 2);
        let text = text.replace("ISIS-Khorasan", "Islamic State Khorasan");
        std::fs::write(&xlf, text).unwrap();
        let out = tarjama()
            .args(["render", "--to", "txt", "--against", SEED])
            .arg(&xlf)
            .output()
            .unwrap();
        crate::support::assert_success(&out);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("1 edited by the reviewer (0 filled in), word edit distance 6"),
            "{version}: {stderr}"
        );
        let english = String::from_utf8(out.stdout).unwrap();
        assert!(
            english.contains("The \"Islamic State Khorasan\" group, which is active"),
            "{english}"
        );
        assert!(english.contains("[untranslated: p19s1]"));
    }
}

#[test]
fn render_refuses_segments_that_no_longer_match() {
    let dir = test_dir("mismatch");
    let tsv = dir.join("review.tsv");
    tarjama()
        .args(["render", SEED, "-q", "-o"])
        .arg(&tsv)
        .assert()
        .success();
    let text = std::fs::read_to_string(&tsv).unwrap();
    let text = set_tsv_cell(&text, "p2s1", 1, "السبت 05/أكتوبر/2024");
    let text = text.replace("p3s1\t", "p3s9\t");
    std::fs::write(&tsv, text).unwrap();
    let out = dir.join("never.txt");
    tarjama()
        .args(["render", "--against", SEED, "-o"])
        .arg(&out)
        .arg(&tsv)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("3 segment(s) no longer match tests/fixtures/output_seed.jsonl"))
        .stderr(predicate::str::contains("line 3: p2s1: the Arabic changed: expected \"الجمعة 04/أكتوبر/2024 - 06:52 م\", found \"السبت 05/أكتوبر/2024\""))
        .stderr(predicate::str::contains("line 4: p3s9: not a segment of the document"))
        .stderr(predicate::str::contains("p3s1: missing from the reviewed file"));
    assert!(
        !out.exists(),
        "nothing is written when segments do not match"
    );
}

#[test]
fn bad_input_names_file_and_line() {
    let dir = test_dir("bad");
    let p = dir.join("broken.jsonl");
    std::fs::write(&p, "{\"type\":\"header\"}\n{\"id\":\"p1s1\",\"para\":1,\"source\":\"\\ud83d\",\"target\":null,\"origin\":\"none\"}\n").unwrap();
    tarjama()
        .args(["render", "--to", "txt"])
        .arg(&p)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "broken.jsonl:2: invalid JSON: `\\ud83d`",
        ));
    let x = dir.join("evil.xlf");
    std::fs::write(
        &x,
        "<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY a \"a\">]>\n<xliff version=\"1.2\"/>",
    )
    .unwrap();
    tarjama()
        .args(["render", "--to", "txt"])
        .arg(&x)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "evil.xlf:2: DOCTYPE declarations are not accepted",
        ));
}

#[test]
fn round_trip_translate_review_render_and_the_memory_learns() {
    // The one fake, answering each segment with a stable English stand-in.
    let fake = crate::support::Fake::new();
    fake.set_translate(|a| {
        format!(
            "Machine draft of {} words.",
            a.ar.split_whitespace().count()
        )
    });
    let server = crate::support::serve_in_background(fake.handler());
    let url = format!("{}/v1", server.url());
    let segments = || fake.log.segments.lock().unwrap().len();
    let dir = test_dir("round-trip");
    std::fs::copy(
        "seeds/2024-10-04-russia-taliban.ar.txt",
        dir.join("article.txt"),
    )
    .unwrap();
    std::fs::write(
        dir.join("tarjama.toml"),
        format!(
            "default_backend = \"fake\"\n[memory]\npath = \"tm.sqlite\"\n\
             [backends.fake]\nkind = \"openai\"\nurl = \"{url}\"\nmodel = \"m\"\nbatch_size = 8\n\
             concurrency = 1\nmax_retries = 0\ntimeout_secs = 20\n"
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = crate::support::tarjama(&dir).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stderr).unwrap()
    };

    // 1. Machine draft.
    run(&["translate", "article.txt", "-o", "draft.jsonl", "-q"]);
    assert_eq!(segments(), 19);

    // 2. The reviewer edits the TSV (p1s1) and the XLIFF (p5s1).
    run(&["render", "draft.jsonl", "-o", "review.tsv", "-q"]);
    run(&["render", "draft.jsonl", "-o", "review.xlf", "-q"]);
    let headline = "Russia and the Taliban discuss bilateral cooperation";
    let tsv = std::fs::read_to_string(dir.join("review.tsv")).unwrap();
    std::fs::write(
        dir.join("review.tsv"),
        set_tsv_cell(&tsv, "p1s1", 5, headline),
    )
    .unwrap();
    let p5 = "The Russian Foreign Ministry said both sides stressed the key role of regional mechanisms.";
    let xlf = std::fs::read_to_string(dir.join("review.xlf")).unwrap();
    let unit = xlf.find("<unit id=\"p5s1\">").unwrap();
    let at = unit
        + xlf[unit..].find("<target xml:space=\"preserve\">").unwrap()
        + "<target xml:space=\"preserve\">".len();
    let end = at + xlf[at..].find("</target>").unwrap();
    std::fs::write(
        dir.join("review.xlf"),
        format!("{}{p5}{}", &xlf[..at], &xlf[end..]),
    )
    .unwrap();

    // 3. Final English, and the memory learns the reviewed segments.
    let log = run(&[
        "render",
        "review.tsv",
        "--against",
        "draft.jsonl",
        "--update-memory",
        "-o",
        "final.txt",
    ]);
    assert!(log.contains("1 edited by the reviewer"), "{log}");
    assert!(
        log.contains("human translation(s) stored in tm.sqlite"),
        "{log}"
    );
    let log = run(&[
        "render",
        "review.xlf",
        "--against",
        "draft.jsonl",
        "--update-memory",
        "--memory",
        "tm.sqlite",
        "-o",
        "final-x.txt",
    ]);
    assert!(log.contains("1 edited by the reviewer"), "{log}");
    // Unedited segments are not stored: p1s1 keeps the TSV reviewer's
    // translation, the others stay machine output.
    assert!(
        log.contains("1 human translation(s) stored")
            && log.contains("18 unedited segment(s) not stored"),
        "{log}"
    );
    let english = std::fs::read_to_string(dir.join("final.txt")).unwrap();
    assert!(english.starts_with(&format!("{headline}\n\n")), "{english}");
    assert!(
        std::fs::read_to_string(dir.join("final-x.txt"))
            .unwrap()
            .contains(p5)
    );

    let memory = tarjama::memory::Memory::open(&dir.join("tm.sqlite")).unwrap();
    let draft = tarjama::output::jsonl::read(
        "draft",
        &std::fs::read_to_string(dir.join("draft.jsonl")).unwrap(),
    )
    .unwrap();
    let source = |id: &str| {
        draft
            .pairs
            .iter()
            .find(|p| p.id == id)
            .unwrap()
            .source
            .clone()
    };
    assert_eq!(
        memory
            .lookup_human(&source("p1s1"))
            .unwrap()
            .unwrap()
            .target,
        headline
    );
    assert_eq!(
        memory
            .lookup_human(&source("p5s1"))
            .unwrap()
            .unwrap()
            .target,
        p5
    );
    drop(memory);

    // 4. A later run takes the human translations and sends nothing.
    run(&["translate", "article.txt", "-o", "again.jsonl", "-q"]);
    assert_eq!(segments(), 19, "nothing re-sent");
    let again = tarjama::output::jsonl::read(
        "again",
        &std::fs::read_to_string(dir.join("again.jsonl")).unwrap(),
    )
    .unwrap();
    let p1 = again.pairs.iter().find(|p| p.id == "p1s1").unwrap();
    assert_eq!(p1.target.as_deref(), Some(headline));
    assert_eq!(p1.origin, tarjama::model::Origin::Human);
    let p5row = again.pairs.iter().find(|p| p.id == "p5s1").unwrap();
    assert_eq!(
        (p5row.target.as_deref(), p5row.origin),
        (Some(p5), tarjama::model::Origin::Human)
    );
}

/// Probes the review page from inside the browser: the review list's links
/// and their rows, the flagged row scrolled into view by its link, and the
/// numbered terms (same number and colour on both sides, a hover rule that
/// links them). Injected only into a copy made for the test.
const REVIEW_PROBE: &str = r#"<script>
window.addEventListener('load', () => {
  const links = [...document.querySelectorAll('nav.review a')];
  const rows = links.map(a => document.querySelector(a.getAttribute('href')));
  const first = rows[0];
  const r = first ? first.getBoundingClientRect() : null;
  const pairs = [];
  for (const tr of document.querySelectorAll('tbody tr')) {
    for (const m of tr.querySelectorAll('td.en mark[data-term]')) {
      const ar = tr.querySelector(`td.ar mark[data-term="${m.dataset.term}"]`);
      if (ar) pairs.push([getComputedStyle(ar).backgroundColor, getComputedStyle(m).backgroundColor,
        ar.querySelector('sup').textContent, m.querySelector('sup').textContent]);
    }
  }
  const colours = new Set(pairs.map(p => p[1]));
  let hover = false;
  for (const sheet of document.styleSheets) for (const rule of sheet.cssRules)
    if (rule.selectorText && rule.selectorText.includes(':has(mark.n1:hover)')) hover = true;
  const out = {
    links: links.length, allRowsExist: rows.every(x => x !== null),
    allRowsFlagged: rows.every(x => x && x.classList.contains('flagged')),
    firstRowInView: r !== null && r.top >= -1 && r.top < window.innerHeight,
    numberedPairs: pairs.length, sameOnBothSides: pairs.every(p => p[0] === p[1] && p[2] === p[3]),
    distinctColours: colours.size, hoverRule: hover,
    notesInFirstRow: first ? first.querySelectorAll('ul.notes li').length : -1,
  };
  const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"#;

#[test]
fn review_page_lists_flagged_rows_and_numbers_terms_in_headless_chromium() {
    let Some(browser) = chromium() else { return };
    let dir = test_dir("chromium-review");
    let page = dir.join("seed.html");
    tarjama()
        .args(["render", SEED, "-q", "-o"])
        .arg(&page)
        .assert()
        .success();
    let html = std::fs::read_to_string(&page).unwrap();
    // Screenshot of the first flagged row, reached by its link in the list.
    let first = html
        .split("<nav class=\"review\"")
        .nth(1)
        .and_then(|n| n.split("href=\"#").nth(1))
        .and_then(|h| h.split('"').next())
        .expect("a review list with links")
        .to_string();
    // (Headless screenshots ignore the URL's fragment: a copy shows the
    // table's head and that row alone.)
    let only = dir.join("flagged-row.html");
    std::fs::write(
        &only,
        html.replace(
            "</head>",
            &format!("<style>header, tbody tr:not(#{first}) {{ display: none; }}</style>\n</head>"),
        ),
    )
    .unwrap();
    let shot = dir.join("flagged-row.png");
    let out = headless(&browser, &dir.join("profile-shot"))
        .arg(format!("--screenshot={}", shot.display()))
        .args(["--window-size=1280,400"])
        .arg(format!("file://{}", only.canonicalize().unwrap().display()))
        .output()
        .unwrap();
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "screenshot suspiciously small"
    );
    eprintln!("screenshot of {first}: {}", shot.display());

    let probe = dir.join("probe.html");
    std::fs::write(
        &probe,
        html.replace("</body>", &format!("{REVIEW_PROBE}\n</body>")),
    )
    .unwrap();
    let out = headless(&browser, &dir.join("profile-probe"))
        .args([
            "--window-size=1280,600",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ])
        .arg(format!(
            "file://{}#{first}",
            probe.canonicalize().unwrap().display()
        ))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom.find("<pre id=\"probe\">").unwrap_or_else(|| {
        panic!(
            "the probe did not run:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    }) + "<pre id=\"probe\">".len();
    let json = &dom[start..start + dom[start..].find("</pre>").unwrap()];
    let v: serde_json::Value = serde_json::from_str(&json.replace("&quot;", "\"")).unwrap();
    eprintln!("review probe: {v}");
    // The seed fixture: p6s1 and p13s1 missed a term, p19s1 failed.
    assert_eq!(v["links"], 3, "{v}");
    for key in [
        "allRowsExist",
        "allRowsFlagged",
        "firstRowInView",
        "sameOnBothSides",
        "hoverRule",
    ] {
        assert_eq!(v[key], true, "{key}: {v}");
    }
    assert!(v["numberedPairs"].as_u64().unwrap() >= 10, "{v}");
    assert!(
        v["distinctColours"].as_u64().unwrap() >= 3,
        "terms are told apart: {v}"
    );
    // p6s1 missed Taliban and wrote the forbidden Taleban: two problems, two
    // notes; its warning that repeats the miss is not a third.
    assert_eq!(v["notesInFirstRow"], 2, "one note per problem: {v}");
}
