//! Issue 6 says the TMX and XLIFF tarjama writes are "readable by OmegaT".
//! These tests hand the real files to a real OmegaT (Debian's 3.6,
//! `apt-get install --no-install-recommends omegat`) in its headless console
//! modes and check what OmegaT made of them:
//!
//! - TMX 1.4b in `tm/auto/` of a project whose source is the seed's Arabic:
//!   OmegaT inserts our English into every segment we translated.
//! - XLIFF 1.2: OmegaT's own XLIFF filter is of the "source=target variety"
//!   (it offers the text of `<target>` for editing), so it extracts our 18
//!   English targets; a reviewer's edit made in OmegaT comes back into
//!   `tarjama render` as an edit.
//! - XLIFF 2.1: OmegaT 3.6 has no XLIFF 2 filter (it extracts no segment);
//!   the file still goes through OmegaT unharmed and reads back in tarjama.
//!
//! Skipped with a message when OmegaT (its jar) or `java` is missing; with
//! `CI` set and `TARJAMA_REQUIRE_OMEGAT=1` a missing OmegaT fails instead.
//! `TARJAMA_OMEGAT_JAR` points at a jar elsewhere.

use crate::support::tarjama_in_repo as tarjama;
use std::path::{Path, PathBuf};
use std::process::{Command as Std, Stdio};
use std::time::{Duration, Instant};

const SEED: &str = "tests/fixtures/output_seed.jsonl";
/// One OmegaT run takes about 3 s; this only stops a hung JVM.
const OMEGAT_TIMEOUT: Duration = Duration::from_secs(120);

/// The OmegaT jar to run, or None (after printing why) to skip the test.
fn omegat_jar() -> Option<PathBuf> {
    let jar = std::env::var_os("TARJAMA_OMEGAT_JAR")
        .map(PathBuf::from)
        .or_else(|| {
            ["/usr/share/omegat/OmegaT.jar", "/opt/omegat/OmegaT.jar"]
                .iter()
                .map(PathBuf::from)
                .find(|p| p.is_file())
        });
    let java = Std::new("java")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let why = match (&jar, java) {
        (Some(jar), true) if jar.is_file() => return jar.clone().into(),
        (Some(jar), true) => format!("{} does not exist", jar.display()),
        (_, false) => "java is not installed".to_string(),
        (None, true) => "OmegaT is not installed".to_string(),
    };
    let required = std::env::var_os("CI").is_some()
        && std::env::var("TARJAMA_REQUIRE_OMEGAT").is_ok_and(|v| v == "1");
    if required {
        panic!(
            "TARJAMA_REQUIRE_OMEGAT=1 but {why} (apt-get install --no-install-recommends omegat)"
        );
    }
    eprintln!(
        "SKIPPED: {why} (apt-get install --no-install-recommends omegat, \
         or set TARJAMA_OMEGAT_JAR)"
    );
    None
}

/// `tarjama render` with these arguments; its stderr.
fn render(args: &[&str]) -> String {
    let out = tarjama().arg("render").args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "tarjama render {args:?}: {err}");
    err
}

/// An empty OmegaT project (Arabic to English, one segment per paragraph:
/// OmegaT's sentence rules are not tarjama's, they split the seed's headline
/// at "..", so they are switched off).
fn project(dir: &Path) -> PathBuf {
    let p = dir.join("project");
    for sub in [
        "source",
        "target",
        "tm/auto",
        "glossary",
        "dictionary",
        "omegat",
    ] {
        std::fs::create_dir_all(p.join(sub)).unwrap();
    }
    std::fs::write(
        p.join("omegat.project"),
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<omegat>
    <project version="1.0">
        <source_dir>__DEFAULT__</source_dir>
        <source_dir_excludes/>
        <target_dir>__DEFAULT__</target_dir>
        <tm_dir>__DEFAULT__</tm_dir>
        <glossary_dir>__DEFAULT__</glossary_dir>
        <glossary_file>__DEFAULT__</glossary_file>
        <dictionary_dir>__DEFAULT__</dictionary_dir>
        <source_lang>ar</source_lang>
        <target_lang>en</target_lang>
        <source_tok>org.omegat.tokenizer.LuceneArabicTokenizer</source_tok>
        <target_tok>org.omegat.tokenizer.LuceneEnglishTokenizer</target_tok>
        <sentence_seg>false</sentence_seg>
        <support_default_translations>true</support_default_translations>
        <remove_tags>false</remove_tags>
    </project>
</omegat>
"#,
    )
    .unwrap();
    p
}

/// Run OmegaT headless on the project in one console mode; its log.
/// Its configuration goes to a directory beside the project, not $HOME.
fn omegat(jar: &Path, project: &Path, args: &[&str]) -> String {
    let log = project.with_file_name("omegat.log");
    let mut child = Std::new("java")
        // An unknown --mode starts the GUI: headless, that fails at once.
        .arg("-Djava.awt.headless=true")
        .arg("-jar")
        .arg(jar)
        .arg(project)
        .args(args)
        .arg(format!(
            "--config-dir={}",
            project.with_file_name("omegat-config").display()
        ))
        .args(["--no-team", "--disable-project-locking"])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::from(
            std::fs::OpenOptions::new().append(true).open(&log).unwrap(),
        ))
        .spawn()
        .expect("start java");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > OMEGAT_TIMEOUT {
            child.kill().ok();
            child.wait().ok();
            panic!("OmegaT {args:?} still running after {OMEGAT_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        status.success() && text.contains("Finished"),
        "OmegaT {args:?} failed ({status}):\n{text}"
    );
    let errors: Vec<&str> = text.lines().filter(|l| l.contains(": Error:")).collect();
    assert!(errors.is_empty(), "OmegaT {args:?} logged errors:\n{text}");
    text
}

/// The segments of the seed fixture: (id, source, target if translated).
fn seed_segments() -> Vec<(String, String, Option<String>)> {
    std::fs::read_to_string(SEED)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v.get("type").is_none())
        .map(|v| {
            let s = |k: &str| v[k].as_str().map(str::to_string);
            (
                s("id").unwrap(),
                s("source").unwrap(),
                s("target").filter(|t| !t.is_empty()),
            )
        })
        .collect()
}

/// The text of every `<seg>` OmegaT wrote into a TMX, per `<tu>`.
fn tmx_segs(path: &Path) -> Vec<Vec<String>> {
    use quick_xml::events::Event;
    let xml = std::fs::read_to_string(path).unwrap();
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut units, mut in_seg, mut text) = (Vec::new(), false, String::new());
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) if e.local_name().as_ref() == "tu" => units.push(Vec::new()),
            Event::Start(e) if e.local_name().as_ref() == "seg" => {
                in_seg = true;
                text.clear();
            }
            Event::Text(t) if in_seg => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if in_seg => {
                let name: &str = r.as_ref();
                let c = quick_xml::escape::resolve_predefined_entity(name)
                    .unwrap_or_else(|| panic!("entity &{name}; in {}", path.display()));
                text.push_str(c);
            }
            Event::End(e) if e.local_name().as_ref() == "seg" => {
                in_seg = false;
                units.last_mut().unwrap().push(text.clone());
            }
            Event::Eof => break,
            _ => {}
        }
    }
    units
}

#[test]
fn omegat_inserts_the_english_of_our_tmx() {
    let Some(jar) = omegat_jar() else { return };
    let dir = tempfile::tempdir().unwrap();
    let p = project(dir.path());
    render(&[
        SEED,
        "-q",
        "-o",
        p.join("tm/auto/seed.tmx").to_str().unwrap(),
    ]);
    let segs = seed_segments();
    // The Arabic alone, one paragraph per segment.
    let arabic: Vec<&str> = segs.iter().map(|s| s.1.as_str()).collect();
    std::fs::write(p.join("source/seed.txt"), arabic.join("\n\n") + "\n").unwrap();

    let log = omegat(&jar, &p, &["--mode=console-translate"]);
    assert!(log.contains("Source language: ar"), "{log}");

    let out = std::fs::read_to_string(p.join("target/seed.txt")).unwrap();
    let paras: Vec<&str> = out.trim_end().split("\n\n").collect();
    assert_eq!(paras.len(), segs.len(), "{out}");
    let mut inserted = 0;
    for ((id, source, target), got) in segs.iter().zip(&paras) {
        match target {
            Some(t) => {
                assert_eq!(got, t, "{id}: OmegaT did not take our TMX's English");
                inserted += 1;
            }
            // Nothing in the TMX: OmegaT leaves the Arabic.
            None => assert_eq!(got, source, "{id}"),
        }
    }
    assert_eq!(inserted, 18);
}

#[test]
fn omegat_reads_our_xliff_12_and_its_edits_come_back() {
    let Some(jar) = omegat_jar() else { return };
    let dir = tempfile::tempdir().unwrap();
    let p = project(dir.path());
    let xlf = p.join("source/seed.xlf");
    render(&[
        SEED,
        "-q",
        "--xliff-version",
        "1.2",
        "-o",
        xlf.to_str().unwrap(),
    ]);
    let segs = seed_segments();
    let targets: Vec<&str> = segs.iter().filter_map(|s| s.2.as_deref()).collect();

    // What OmegaT extracted, as a TMX of source = translation.
    let pseudo = dir.path().join("pseudo.tmx");
    omegat(
        &jar,
        &p,
        &[
            "--mode=console-createpseudotranslatetmx",
            &format!("--pseudotranslatetmx={}", pseudo.display()),
            "--pseudotranslatetype=equal",
        ],
    );
    let mut extracted: Vec<String> = tmx_segs(&pseudo)
        .into_iter()
        .map(|u| u[0].clone())
        .collect();
    extracted.sort();
    let mut want: Vec<String> = targets.iter().map(|t| t.to_string()).collect();
    want.sort();
    // OmegaT's filter offers <target> for editing: our 18 translations
    // (the untranslated segment has no <target>, so nothing to offer).
    assert_eq!(extracted, want);

    // A reviewer edits one segment in OmegaT (here through its auto TM).
    let (old, new) = (
        "Friday 04/October/2024 - 06:52 PM",
        "Friday, 4 October 2024, 6:52 pm",
    );
    assert!(targets.contains(&old));
    std::fs::write(
        p.join("tm/auto/review.tmx"),
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<tmx version="1.4"><header creationtool="test" creationtoolversion="1" segtype="paragraph" o-tmf="test" adminlang="en" srclang="ar" datatype="plaintext"/>
<body><tu><tuv xml:lang="ar"><seg>{old}</seg></tuv><tuv xml:lang="en"><seg>{new}</seg></tuv></tu></body></tmx>
"#
        ),
    )
    .unwrap();
    omegat(&jar, &p, &["--mode=console-translate"]);

    // OmegaT's output goes back into tarjama: same 19 segments, one edit.
    let back = p.join("target/seed.xlf");
    let txt = dir.path().join("final.txt");
    let err = render(&[
        back.to_str().unwrap(),
        "--against",
        SEED,
        "-o",
        txt.to_str().unwrap(),
    ]);
    assert!(err.contains("19 segments, 1 edited"), "{err}");
    assert!(err.contains("edited: p2s1"), "{err}");
    let text = std::fs::read_to_string(&txt).unwrap();
    assert!(text.contains(new) && !text.contains(old), "{text}");
}

#[test]
fn our_xliff_21_goes_through_omegat_unharmed() {
    let Some(jar) = omegat_jar() else { return };
    let dir = tempfile::tempdir().unwrap();
    let p = project(dir.path());
    let xlf = p.join("source/seed.xlf");
    render(&[SEED, "-q", "-o", xlf.to_str().unwrap()]);
    let log = omegat(&jar, &p, &["--mode=console-translate"]);
    assert!(log.contains("Loading: seed.xlf"), "{log}");

    // OmegaT 3.6 has no XLIFF 2 filter; whatever it wrote must still be
    // the same document to tarjama.
    let tsv = |file: &Path, out: &str| {
        let out = dir.path().join(out);
        render(&[file.to_str().unwrap(), "-q", "-o", out.to_str().unwrap()]);
        std::fs::read_to_string(out).unwrap()
    };
    assert_eq!(
        tsv(&p.join("target/seed.xlf"), "back.tsv"),
        tsv(&xlf, "orig.tsv")
    );
}
