//! `tarjama review`: the real binary serves the page, headless Chromium
//! drives it over the DevTools protocol (chromiumoxide), and the edits are
//! checked on the page, in the review file, in the memory (SQLite) and in
//! the final text `render` writes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chromiumoxide::Page;
use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::page::ScreenshotParams;
use futures::StreamExt;
use serde_json::Value;

const SEED: &str = "tests/fixtures/output_seed.jsonl";
/// Engine output with markup and a script, put into the draft.
const HOSTILE: &str =
    "Friday <img src=x onerror=alert(1)> <script>alert(2)</script> <b>04</b> October";

fn test_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("review")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn chromium() -> Option<PathBuf> {
    for c in [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ] {
        if Path::new(c).exists() {
            return Some(PathBuf::from(c));
        }
    }
    if std::env::var("TARJAMA_REQUIRE_CHROMIUM").is_ok_and(|v| v == "1") {
        panic!(
            "chromium is not installed and TARJAMA_REQUIRE_CHROMIUM=1; install the Debian package chromium"
        );
    }
    eprintln!(
        "SKIPPED: chromium is not installed (apt-get install chromium); the review browser tests did not run"
    );
    None
}

/// The draft: the seed document, with hostile engine output in p2s1.
fn draft(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(SEED).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        let mut v: Value = serde_json::from_str(line).unwrap();
        if v["id"] == "p2s1" {
            v["target"] = HOSTILE.into();
            v["origin"] = "mt".into();
        }
        out.push_str(&v.to_string());
        out.push('\n');
    }
    let p = dir.join("article.jsonl");
    std::fs::write(&p, out).unwrap();
    std::fs::write(
        dir.join("glossary.tsv"),
        "source\ttarget\nروسيا\tRussia\nطالبان\tTaliban\nأفغانستان\tAfghanistan\n",
    )
    .unwrap();
    p
}

pub(crate) struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(dir: &Path, target: &str) -> Server {
        let mut c = crate::support::tarjama_process(dir);
        c.args([
            "review",
            target,
            "--glossary",
            "glossary.tsv",
            "--memory",
            "memory.sqlite",
        ]);
        Server::run(c)
    }

    /// Run a `tarjama review` command line and wait for the page's URL.
    pub(crate) fn run(mut command: Command) -> Server {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().to_string();
        assert!(
            url.starts_with("http://127.0.0.1:") && url.ends_with('/'),
            "printed {url:?}"
        );
        Server { child, url }
    }

    pub(crate) fn port(&self) -> u16 {
        self.url
            .trim_start_matches("http://127.0.0.1:")
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }

    pub(crate) fn token(&self) -> String {
        self.url
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap()
            .to_string()
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One raw HTTP/1.1 request; the status code and the response text.
pub(crate) fn http(port: u16, head: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let code = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, text)
}

fn get(port: u16, path: &str, extra: &str) -> (u16, String) {
    let host = if extra.contains("Host:") {
        String::new()
    } else {
        format!("Host: 127.0.0.1:{port}\r\n")
    };
    http(
        port,
        &format!("GET {path} HTTP/1.1\r\n{host}{extra}Connection: close\r\n\r\n"),
        b"",
    )
}

async fn launch(dir: &Path, exe: &Path, width: u32) -> (Browser, tokio::task::JoinHandle<()>) {
    let config = BrowserConfig::builder()
        .chrome_executable(exe)
        .no_sandbox()
        .user_data_dir(dir.join("profile"))
        .window_size(width, 900)
        .viewport(Viewport {
            width,
            height: 900,
            device_scale_factor: Some(1.0),
            emulating_mobile: false,
            is_landscape: true,
            has_touch: false,
        })
        .args([
            "--disable-gpu",
            "--disable-quic",
            "--disable-component-update",
            "--disable-background-networking",
            "--disable-sync",
            "--no-first-run",
        ])
        .build()
        .unwrap();
    let (browser, mut handler) = Browser::launch(config).await.expect("launch chromium");
    let task = tokio::spawn(async move { while handler.next().await.is_some() {} });
    (browser, task)
}

async fn eval<T: serde::de::DeserializeOwned>(page: &Page, js: &str) -> T {
    page.evaluate(js)
        .await
        .unwrap_or_else(|e| panic!("{js}: {e}"))
        .into_value()
        .unwrap_or_else(|e| panic!("{js}: {e}"))
}

/// Wait until `js` is true in the page.
async fn until(page: &Page, js: &str) {
    let start = Instant::now();
    loop {
        if eval::<bool>(page, js).await {
            return;
        }
        if start.elapsed() > Duration::from_secs(8) {
            let notice: String =
                eval(page, "document.getElementById('notice')?.textContent || ''").await;
            panic!("timed out waiting for {js} (notice: {notice})");
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}

async fn open(browser: &Browser, url: &str) -> Page {
    let page = browser.new_page(url).await.unwrap();
    page.wait_for_navigation().await.unwrap();
    until(&page, "document.querySelectorAll('.row').length === 19").await;
    page
}

/// Type `text` into a row's box as a user would (select all, type).
async fn type_into(page: &Page, id: &str, text: &str) {
    let el = page
        .find_element(format!("#seg-{id} textarea"))
        .await
        .unwrap();
    el.click().await.unwrap();
    eval::<bool>(
        page,
        &format!("(document.querySelector('#seg-{id} textarea').select(), true)"),
    )
    .await;
    el.type_str(text).await.unwrap();
}

fn memory_rows(dir: &Path, source_like: &str) -> Vec<(String, String)> {
    let db = rusqlite::Connection::open(dir.join("memory.sqlite")).unwrap();
    let mut st = db
        .prepare("SELECT origin, target FROM pairs WHERE source LIKE ?1 ORDER BY id")
        .unwrap();
    st.query_map([format!("{source_like}%")], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn source_of(dir: &Path, id: &str) -> String {
    let text = std::fs::read_to_string(dir.join("article.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["id"] == id)
        .unwrap()["source"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A human translation of a sentence close to p8s1 (one word differs).
const SUGGESTED: &str =
    "Zamir Kabulov, the Kremlin's envoy for Afghanistan, said the Taliban would be invited.";

fn seed_memory(dir: &Path) {
    let source = source_of(dir, "p8s1");
    let mut words: Vec<&str> = source.split(' ').collect();
    let last = words.len() - 1;
    words[last] = "غدا.";
    let near = words.join(" ");
    let tmx = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<tmx version=\"1.4\"><header creationtool=\"test\" creationtoolversion=\"1\" segtype=\"sentence\" o-tmf=\"test\" adminlang=\"en\" srclang=\"ar\" datatype=\"plaintext\"/><body>\n<tu><tuv xml:lang=\"ar\"><seg>{near}</seg></tuv><tuv xml:lang=\"en\"><seg>{SUGGESTED}</seg></tuv></tu>\n</body></tmx>\n"
    );
    std::fs::write(dir.join("near.tmx"), tmx).unwrap();
    let out = crate::support::tarjama_process(dir)
        .args(["memory", "--memory", "memory.sqlite", "import", "near.tmx"])
        .output()
        .unwrap();
    crate::support::assert_success(&out);
}

const EDIT: &str = "The Taliban's acting foreign minister travelled to Russia on Wednesday for the sixth Moscow Format meeting; the Taliban foreign ministry has not yet commented on it.";

#[test]
fn refuses_requests_without_the_token_or_from_elsewhere() {
    let dir = test_dir("refuse");
    draft(&dir);
    let server = Server::start(&dir, "article.jsonl");
    let port = server.port();
    let token = server.token();
    let (code, _) = get(port, "/", "");
    assert_eq!(code, 403, "no token");
    let (code, _) = get(port, "/0123456789abcdef0123456789abcdef/", "");
    assert_eq!(code, 403, "a wrong token");
    let (code, _) = get(port, &format!("/{token}/"), "Host: evil.example:80\r\n");
    assert_eq!(code, 403, "a foreign Host (DNS rebinding)");
    let (code, _) = get(
        port,
        &format!("/{token}/"),
        "Origin: http://evil.example\r\n",
    );
    assert_eq!(code, 403, "a foreign Origin");
    let (code, page) = get(port, &format!("/{token}/"), "");
    assert_eq!(code, 200);
    assert!(
        page.to_lowercase()
            .contains("content-security-policy: default-src 'none'")
    );
    assert!(page.contains("lang=\"ar\" dir=\"rtl\""));
    // Engine markup is text: escaped in the box and in the preview.
    assert!(
        !page.contains("<script>alert(2)"),
        "engine script reached the page"
    );
    assert!(page.contains("&lt;script&gt;alert(2)&lt;/script&gt;"));
    // An oversized body is refused before it is read.
    let big = vec![b'a'; 2 << 20];
    let (code, _) = http(
        port,
        &format!(
            "PUT /{token}/doc/0/seg/p1s1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nConnection: close\r\n\r\n",
            big.len()
        ),
        &big,
    );
    assert_eq!(code, 413, "a 2 MiB body");
    // Only 127.0.0.1 listens.
    server.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_in_headless_chromium_edits_accepts_adds_a_term_and_survives_a_kill() {
    let Some(exe) = chromium() else { return };
    let dir = test_dir("browser");
    draft(&dir);
    seed_memory(&dir);
    let server = Server::start(&dir, "article.jsonl");
    let (mut browser, task) = launch(&dir, &exe, 1280).await;
    let page = open(&browser, &server.url).await;

    // Layout: the Arabic right-to-left and right-aligned, flagged rows marked.
    let layout: Value = eval(
        &page,
        r#"(() => {
          const ar = document.querySelector('#seg-p4s1 .ar');
          const cs = getComputedStyle(ar);
          const flagged = Array.from(document.querySelectorAll('.row.flagged')).map(r => r.dataset.id);
          const bg = getComputedStyle(document.querySelector('#seg-p6s1')).backgroundColor;
          const plain = getComputedStyle(document.querySelector('#seg-p4s1')).backgroundColor;
          const r = ar.getBoundingClientRect();
          const range = document.createRange();
          const text = ar.firstChild;
          range.setStart(text, 0); range.setEnd(text, 1);
          const first = range.getBoundingClientRect();
          return { dir: cs.direction, align: cs.textAlign, lang: ar.lang, flagged, bg, plain,
                   firstRight: first.right, cellRight: r.right, cellLeft: r.left,
                   cols: getComputedStyle(document.querySelector('.row')).gridTemplateColumns.split(' ').length,
                   imgs: document.querySelectorAll('img, main script').length,
                   hostile: document.querySelector('#seg-p2s1 textarea').value };
        })()"#,
    )
    .await;
    assert_eq!(layout["dir"], "rtl", "{layout}");
    assert_eq!(layout["align"], "right", "{layout}");
    assert_eq!(layout["lang"], "ar");
    assert_eq!(
        layout["cols"], 3,
        "id, Arabic, English side by side at 1280 px: {layout}"
    );
    // The first Arabic letter sits at the right edge of its cell.
    let (fr, cr, cl) = (
        layout["firstRight"].as_f64().unwrap(),
        layout["cellRight"].as_f64().unwrap(),
        layout["cellLeft"].as_f64().unwrap(),
    );
    assert!(
        cr - fr < 30.0 && fr - cl > 100.0,
        "Arabic not laid out from the right: {layout}"
    );
    let flagged: Vec<String> = serde_json::from_value(layout["flagged"].clone()).unwrap();
    for id in ["p6s1", "p13s1", "p19s1"] {
        assert!(
            flagged.contains(&id.to_string()),
            "{id} not flagged: {flagged:?}"
        );
    }
    assert!(!flagged.contains(&"p4s1".to_string()));
    assert_ne!(
        layout["bg"], layout["plain"],
        "a flagged row looks like any other"
    );
    assert_eq!(layout["imgs"], 0, "engine markup became elements");
    assert_eq!(
        layout["hostile"], HOSTILE,
        "engine markup not shown as text"
    );
    // Terms numbered alike on both sides.
    let marks: Value = eval(
        &page,
        "[document.querySelector('#seg-p4s1 .ar mark.n1')?.title, document.querySelector('#seg-p4s1 .preview mark.n1')?.textContent]",
    )
    .await;
    assert!(
        marks[1].as_str().unwrap_or("").starts_with("Taliban")
            || marks[1].as_str().unwrap_or("").starts_with("Afghanistan")
            || marks[1].as_str().unwrap_or("").starts_with("Russia"),
        "{marks}"
    );

    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("review");
    // A flagged row (p6s1) in view.
    eval::<bool>(
        &page,
        "(document.getElementById('seg-p5s1').scrollIntoView(), window.scrollBy(0, -90), true)",
    )
    .await;
    page.save_screenshot(
        ScreenshotParams::builder().full_page(false).build(),
        shot.join("review.png"),
    )
    .await
    .unwrap();
    assert!(std::fs::metadata(shot.join("review.png")).unwrap().len() > 20_000);

    // The filter keeps the rows that need review.
    eval::<bool>(
        &page,
        "(document.getElementById('only-flagged').click(), true)",
    )
    .await;
    let shown: usize = eval(
        &page,
        "Array.from(document.querySelectorAll('.row')).filter(r => r.offsetParent !== null).length",
    )
    .await;
    assert_eq!(shown, flagged.len());
    eval::<bool>(
        &page,
        "(document.getElementById('only-flagged').click(), true)",
    )
    .await;

    // Edit a flagged row: the term check answers at once.
    type_into(&page, "p6s1", EDIT).await;
    // Leaving the box commits the edit.
    page.find_element("#seg-p7s1 textarea")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        &page,
        "document.querySelector('#seg-p6s1').classList.contains('status-edited')",
    )
    .await;
    until(
        &page,
        "!document.querySelector('#seg-p6s1').classList.contains('flagged')",
    )
    .await;
    let missed: usize = eval(
        &page,
        "document.querySelectorAll('#seg-p6s1 mark.missed').length",
    )
    .await;
    assert_eq!(missed, 0, "the edit's terms are not checked again");

    // Accept another unchanged.
    page.find_element("#seg-p5s1 .accept")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        &page,
        "document.querySelector('#seg-p5s1').classList.contains('status-accepted')",
    )
    .await;

    // Keyboard: Alt+Down moves to the next row, Alt+Shift+Down to the next flagged one.
    page.find_element("#seg-p8s1 textarea")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let key = |shift: bool| {
        format!(
            "(document.activeElement.dispatchEvent(new KeyboardEvent('keydown', {{key: 'ArrowDown', altKey: true, shiftKey: {shift}, bubbles: true}})), document.activeElement.closest('.row').dataset.id)"
        )
    };
    let at: String = eval(&page, &key(false)).await;
    assert_eq!(at, "p9s1");
    let at: String = eval(&page, &key(true)).await;
    let num = |id: &str| id[1..id.len() - 2].parse::<usize>().unwrap();
    let next_flagged = flagged.iter().find(|id| num(id) > 9).unwrap();
    assert_eq!(&at, next_flagged, "next flagged row");

    // A fuzzy memory suggestion under a row, taken with one click.
    let take = page
        .find_element("#seg-p8s1 ul.sugg button.take")
        .await
        .unwrap();
    take.click().await.unwrap();
    until(
        &page,
        "document.querySelector('#seg-p8s1').classList.contains('status-edited')",
    )
    .await;
    let taken: String = eval(&page, "document.querySelector('#seg-p8s1 textarea').value").await;
    assert_eq!(taken, SUGGESTED);

    // Add a glossary entry from the page: select Arabic, type the English.
    let selected: String = eval(
        &page,
        r#"(() => {
          const ar = document.querySelector('#seg-p3s1 .ar');
          const node = ar.firstChild; const t = node.textContent;
          const at = t.indexOf('محمد شعت');
          const r = document.createRange(); r.setStart(node, at); r.setEnd(node, at + 'محمد شعت'.length);
          const s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
          return s.toString();
        })()"#,
    )
    .await;
    assert_eq!(selected, "محمد شعت");
    until(&page, "!document.getElementById('term-form').hidden").await;
    let input = page.find_element("#term-en").await.unwrap();
    input.click().await.unwrap();
    input.type_str("Mohamed Shaat").await.unwrap();
    page.find_element("#term-add")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        &page,
        "document.getElementById('notice').textContent.startsWith('added')",
    )
    .await;
    until(
        &page,
        "document.querySelector('#seg-p3s1 .ar mark.term') !== null",
    )
    .await;
    let glossary = std::fs::read_to_string(dir.join("glossary.tsv")).unwrap();
    assert!(glossary.contains("محمد شعت\tMohamed Shaat"), "{glossary}");

    // Two tabs on one segment: the later save wins, the other tab is told.
    let other = open(&browser, &server.url).await;
    page.bring_to_front().await.unwrap();
    type_into(&page, "p9s1", "First tab's English.").await;
    page.find_element("#seg-p10s1 textarea")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        &page,
        "document.querySelector('#seg-p9s1').classList.contains('status-edited')",
    )
    .await;
    other.bring_to_front().await.unwrap();
    type_into(&other, "p9s1", "Second tab's English.").await;
    other
        .find_element("#seg-p10s1 textarea")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The second tab was told of the first one's save, by its poll or in
    // the answer to its own (stale) save.
    until(&other, "/replaced what another tab had saved|changed in another tab/.test(document.getElementById('notice').textContent)").await;
    until(
        &other,
        "document.querySelector('#seg-p9s1 .saved').textContent === 'saved'",
    )
    .await;
    page.bring_to_front().await.unwrap();
    until(
        &page,
        "document.querySelector('#seg-p9s1 textarea').value === \"Second tab's English.\"",
    )
    .await;
    until(
        &page,
        "document.getElementById('notice').textContent.includes('changed in another tab')",
    )
    .await;
    other.close().await.unwrap();

    // Type without leaving the box, then kill the server: the save while
    // typing is in the review file, and the restarted server stores it.
    type_into(&page, "p11s1", "Typed just before the server died.").await;
    until(
        &page,
        "document.querySelector('#seg-p11s1 .saved').textContent === 'saved'",
    )
    .await;
    let url_before = server.url.clone();
    server.kill();
    let server = Server::start(&dir, "article.jsonl");
    assert_ne!(server.url, url_before, "a new token each run");
    page.goto(server.url.as_str()).await.unwrap();
    page.wait_for_navigation().await.unwrap();
    until(&page, "document.querySelectorAll('.row').length === 19").await;
    let after: Value = eval(
        &page,
        r#"({ p6: document.querySelector('#seg-p6s1 textarea').value,
              p9: document.querySelector('#seg-p9s1 textarea').value,
              p11: document.querySelector('#seg-p11s1 textarea').value,
              p5: document.querySelector('#seg-p5s1').className,
              at: document.activeElement.closest('.row')?.dataset.id,
              term: document.querySelector('#seg-p3s1 .ar mark.term')?.textContent })"#,
    )
    .await;
    assert_eq!(after["p6"], EDIT, "{after}");
    assert_eq!(after["p9"], "Second tab's English.");
    assert_eq!(after["p11"], "Typed just before the server died.");
    assert!(
        after["p5"].as_str().unwrap().contains("status-accepted"),
        "{after}"
    );
    assert_eq!(
        after["at"], "p11s1",
        "the page opens where the editor stopped"
    );
    assert!(
        after["term"].as_str().unwrap().starts_with("محمد شعت"),
        "{after}"
    );

    // Narrow screen: one column, the Arabic above its English.
    page.execute(
        SetDeviceMetricsOverrideParams::builder()
            .width(400)
            .height(900)
            .device_scale_factor(1.0)
            .mobile(true)
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    until(&page, "getComputedStyle(document.querySelector('.row')).gridTemplateColumns.split(' ').length === 1").await;
    let overflow: bool = eval(
        &page,
        "document.documentElement.scrollWidth > window.innerWidth + 1",
    )
    .await;
    assert!(!overflow, "the page scrolls sideways at 400 px");
    eval::<bool>(&page, "(window.scrollTo(0, 0), true)").await;
    page.save_screenshot(
        ScreenshotParams::builder().build(),
        shot.join("review-narrow.png"),
    )
    .await
    .unwrap();

    // The page's "Final English" link gives the reviewed text.
    let (code, fin) = get(
        server.port(),
        &format!("/{}/doc/0/final.txt", server.token()),
        "",
    );
    assert_eq!(code, 200);
    assert!(fin.contains(EDIT) && fin.contains("Typed just before the server died."));

    // Done: the page stops the server.
    page.find_element("#done")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(&page, "document.querySelector('.finished') !== null").await;
    let mut server = server;
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status}");
    browser.close().await.unwrap();
    let _ = browser.wait().await;
    task.abort();

    // The memory: the edits as human, the accepted row as reviewed.
    let p6 = memory_rows(&dir, &source_of(&dir, "p6s1"));
    assert!(p6.contains(&("human".into(), EDIT.into())), "{p6:?}");
    let p5 = memory_rows(&dir, &source_of(&dir, "p5s1"));
    assert_eq!(p5.len(), 1, "{p5:?}");
    assert_eq!(p5[0].0, "reviewed");
    let p11 = memory_rows(&dir, &source_of(&dir, "p11s1"));
    assert!(
        p11.contains(&("human".into(), "Typed just before the server died.".into())),
        "{p11:?}"
    );

    // render: the final English from the review file, edits counted.
    let out = crate::support::tarjama_process(&dir)
        .args(["render", "article.review.jsonl", "-o", "final.txt"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("4 edited by the reviewer"), "{stderr}");
    let text = std::fs::read_to_string(dir.join("final.txt")).unwrap();
    assert!(text.contains(EDIT), "{text}");
    assert!(text.contains("Second tab's English."));
    assert!(text.contains("Typed just before the server died."));
    assert!(
        !text.contains("The Taleban's acting"),
        "the draft's English survived"
    );
    // --update-memory takes the review file without --against; the memory has them already.
    let out = crate::support::tarjama_process(&dir)
        .args([
            "render",
            "article.review.jsonl",
            "-o",
            "final2.txt",
            "--update-memory",
        ])
        .args(["--memory", "memory.sqlite"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("4 human translation(s) stored"), "{stderr}");
    assert!(stderr.contains("(0 new, 4 already there)"), "{stderr}");
}

#[test]
fn a_folder_of_drafts_has_a_list_page() {
    let dir = test_dir("folder");
    draft(&dir);
    std::fs::copy(SEED, dir.join("second.jsonl")).unwrap();
    let server = Server::start(&dir, ".");
    let (port, token) = (server.port(), server.token());
    let (code, list) = get(port, &format!("/{token}/"), "");
    assert_eq!(code, 200);
    assert!(
        list.contains("article.jsonl") && list.contains("second.jsonl"),
        "{list}"
    );
    assert!(list.contains(&format!("href=\"/{token}/doc/1\"")));
    let (code, second) = get(port, &format!("/{token}/doc/1"), "");
    assert_eq!(code, 200);
    assert!(second.contains("second.jsonl") && second.contains("id=\"seg-p19s1\""));
    let (code, _) = get(port, &format!("/{token}/doc/2"), "");
    assert_eq!(code, 404);
    server.kill();
}
