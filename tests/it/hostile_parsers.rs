//! Hostile input for the parsers of files users bring: the glossary (TSV
//! and the import formats, TBX included) and the reviewed-file readers
//! (XLIFF, TSV, JSONL) and the TMX reader (`memory import`). None may panic, hang or grow without
//! bound on any input; each error names the file (and the line, where the
//! input has one). XML readers never expand entities declared in a DTD (the
//! billion laughs), refuse nesting past the limit and control characters,
//! and survive nesting far deeper than any real file without overflowing.
//! The segmenter's own hostile tests are in `tests/hostile.rs`.
//!
//! `TARJAMA_LONG_TESTS=1` raises the sizes and the number of cases.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use tarjama::glossary::Glossary;
use tarjama::glossary::format::{Format as GlossaryFormat, import};
use tarjama::output::Format;
use tarjama::output::review::read_reviewed;

fn long() -> bool {
    std::env::var("TARJAMA_LONG_TESTS").is_ok_and(|v| v == "1")
}

fn cases() -> u32 {
    if long() { 2000 } else { 64 }
}

/// Text made of the pieces parsers trip on: separators, quotes, markup,
/// escapes, Arabic, bidi controls, NULs, CRs and long runs.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\t".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just("#".to_string()),
        Just("|".to_string()),
        Just("\"".to_string()),
        Just(",".to_string()),
        Just(";".to_string()),
        Just("source\ttarget\tvariants\tkind\n".to_string()),
        Just("<".to_string()),
        Just(">".to_string()),
        Just("&".to_string()),
        Just("&amp;".to_string()),
        Just("&lol;".to_string()),
        Just("<![CDATA[".to_string()),
        Just("]]>".to_string()),
        Just("<?xml version=\"1.0\"?>".to_string()),
        Just("<!DOCTYPE x [<!ENTITY lol \"lol\">]>".to_string()),
        Just("<xliff version=\"2.1\"><file id=\"f\"><unit id=\"u\"><segment><source>".to_string()),
        Just("</source><target>".to_string()),
        Just("</target></segment></unit></file></xliff>".to_string()),
        Just(
            "<tmx version=\"1.4\"><header srclang=\"ar\"/><body><tu><tuv xml:lang=\"ar\"><seg>"
                .to_string()
        ),
        Just("</seg></tuv></tu></body></tmx>".to_string()),
        Just(
            "<martif type=\"TBX\"><text><body><termEntry><langSet xml:lang=\"ar\"><tig><term>"
                .to_string()
        ),
        Just("{\"type\":\"header\"}\n".to_string()),
        Just("{\"id\":\"p1s1\",\"para\":1,\"source\":\"".to_string()),
        Just("\\ud800".to_string()),
        Just("\\udfff".to_string()),
        Just("\\u0000".to_string()),
        Just("\"}".to_string()),
        Just("\u{0}".to_string()),
        Just("\u{feff}".to_string()),
        Just("\u{202e}".to_string()),
        Just("وزير الخارجية".to_string()),
        Just("ـــ".to_string()),
        "[\\PC]{0,12}",
        "[ا-ي ]{0,40}",
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

/// Run `f` on another thread with a small stack and a time limit: a
/// recursive parser overflows it, a quadratic one runs out of time.
fn bounded<T: Send + 'static>(
    what: &str,
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let started = Instant::now();
    let h = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .unwrap();
    let out = h.join().unwrap_or_else(|_| panic!("{what}: panicked"));
    assert!(
        started.elapsed() < limit,
        "{what}: took {:?}",
        started.elapsed()
    );
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn glossary_files_never_panic_and_errors_name_the_file(text in hostile_text()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hostile.tsv");
        std::fs::write(&path, &text).unwrap();
        if let Err(e) = Glossary::load(std::slice::from_ref(&path)) {
            let msg = e.to_string();
            prop_assert!(msg.contains("hostile.tsv"), "{msg}");
        }
    }

    #[test]
    fn glossary_imports_never_panic_and_errors_name_the_file(text in hostile_text()) {
        for f in GlossaryFormat::ALL {
            if let Err(e) = import(&text, "hostile.in", f) {
                let msg = e.to_string();
                prop_assert!(msg.contains("hostile.in"), "{}: {msg}", f.name());
            }
        }
    }

    #[test]
    fn reviewed_readers_never_panic_and_errors_name_the_file(text in hostile_text()) {
        for f in [Format::Xliff, Format::Tsv, Format::Jsonl] {
            if let Err(e) = read_reviewed("hostile.rev", &text, f) {
                prop_assert_eq!(&e.file, "hostile.rev");
                prop_assert!(e.to_string().starts_with("hostile.rev"), "{}", e);
            }
        }
    }

    #[test]
    fn tmx_reader_never_panics_and_errors_name_file_and_line(text in hostile_text()) {
        if let Err(e) = tarjama::tmx::read_tmx("hostile.tmx", &text) {
            let msg = e.to_string();
            prop_assert!(msg.starts_with("hostile.tmx:"), "{msg}");
        }
    }
}

fn xliff(seg: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xliff xmlns=\"urn:oasis:names:tc:xliff:document:2.0\" version=\"2.1\" srcLang=\"ar\" trgLang=\"en\">\n<file id=\"f1\">\n<unit id=\"p1s1\">\n<segment>\n<source>{seg}</source>\n<target>{seg}</target>\n</segment>\n</unit>\n</file>\n</xliff>\n"
    )
}

fn tmx(seg: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<tmx version=\"1.4\">\n<header srclang=\"ar\" datatype=\"plaintext\" segtype=\"sentence\" adminlang=\"en\" o-tmf=\"x\" creationtool=\"x\" creationtoolversion=\"1\"/>\n<body>\n<tu>\n<tuv xml:lang=\"ar\"><seg>{seg}</seg></tuv>\n<tuv xml:lang=\"en\"><seg>{seg}</seg></tuv>\n</tu>\n</body>\n</tmx>\n"
    )
}

fn tbx(term: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<martif type=\"TBX\" xml:lang=\"en\">\n<text><body>\n<termEntry id=\"e1\">\n<langSet xml:lang=\"ar\"><tig><term>{term}</term></tig></langSet>\n<langSet xml:lang=\"en\"><tig><term>{term}</term></tig></langSet>\n</termEntry>\n</body></text>\n</martif>\n"
    )
}

const LAUGHS: &str = "<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n<!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n<!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n<!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n<!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n<!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n<!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n]>\n";

/// Put the DTD after the XML declaration.
fn with_dtd(doc: &str) -> String {
    let (decl, rest) = doc.split_once('\n').unwrap();
    format!("{decl}\n{LAUGHS}{rest}")
}

#[test]
fn billion_laughs_and_external_entities_are_never_expanded() {
    let limit = Duration::from_secs(5);
    for entity in ["&lol9;", "&xxe;"] {
        let doc = with_dtd(&tbx(entity));
        let r = bounded("tbx laughs", limit, move || {
            import(&doc, "laughs.tbx", GlossaryFormat::Tbx)
                .map(|e| format!("{e:?}"))
                .map_err(|e| e.to_string())
        });
        match r {
            Ok(dump) => {
                assert!(dump.len() < 2000, "{entity} expanded: {} bytes", dump.len());
                assert!(!dump.contains("root:"), "external entity read");
            }
            Err(e) => assert!(e.contains("laughs.tbx"), "{e}"),
        }
    }
}

#[test]
fn deeply_nested_xml_neither_overflows_nor_hangs() {
    let depth = if long() { 1_000_000 } else { 100_000 };
    let limit = Duration::from_secs(if long() { 60 } else { 10 });
    for doc in [
        tbx(&format!(
            "{}x{}",
            "<hi>".repeat(depth),
            "</hi>".repeat(depth)
        )),
        tbx(&"<hi>".repeat(depth)),
        "<martif>".repeat(depth),
    ] {
        let r = bounded("tbx nesting", limit, move || {
            import(&doc, "deep.tbx", GlossaryFormat::Tbx)
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
        if let Err(e) = r {
            assert!(e.contains("deep.tbx"), "{e}");
        }
    }
}

#[test]
fn malformed_glossaries_name_the_line_of_the_fault() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.tsv");
    std::fs::write(
        &p,
        "# terms\nsource\ttarget\nلافروف\tLavrov\nطالبان\tTaliban\textra\tcells\n",
    )
    .unwrap();
    let e = Glossary::load(std::slice::from_ref(&p))
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad.tsv:4"), "{e}");
    // (`english` is a name for the target column now: a header it cannot map)
    std::fs::write(&p, "# terms\n\nsource\tmeaning\nلافروف\tLavrov\n").unwrap();
    let e = Glossary::load(std::slice::from_ref(&p))
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad.tsv:3"), "{e}");
}

#[test]
fn a_million_tiny_lines_and_one_huge_line_stay_bounded() {
    let n = if long() { 1_000_000 } else { 200_000 };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("many.tsv");
    let mut text = String::from("source\ttarget\n");
    for i in 0..n {
        text.push_str(&format!("ك{i}\tk{i}\n"));
    }
    std::fs::write(&p, &text).unwrap();
    let limit = Duration::from_secs(if long() { 120 } else { 30 });
    let t = Instant::now();
    let (g, _) = Glossary::load(std::slice::from_ref(&p)).unwrap();
    assert_eq!(g.len(), n);
    assert!(t.elapsed() < limit, "{:?}", t.elapsed());

    // One line of 8 MB (50 MB under TARJAMA_LONG_TESTS) with no tab.
    let mb = if long() { 50 } else { 8 };
    let line = "ب".repeat(mb * 1024 * 1024 / 2);
    std::fs::write(&p, format!("source\ttarget\n{line}\n")).unwrap();
    let t = Instant::now();
    match Glossary::load(std::slice::from_ref(&p)) {
        Ok((g, _)) => assert!(g.len() <= 1),
        Err(e) => {
            let e = e.to_string();
            assert!(e.contains("many.tsv:2"), "{}", &e[..e.len().min(200)]);
            assert!(e.len() < 10_000, "the error does not carry the whole line");
        }
    }
    assert!(t.elapsed() < limit, "{:?}", t.elapsed());
}

#[test]
fn xliff_entities_and_nesting_are_bounded() {
    let limit = Duration::from_secs(if long() { 60 } else { 10 });
    for entity in ["&lol9;", "&xxe;"] {
        let doc = with_dtd(&xliff(entity));
        let r = bounded("xliff laughs", limit, move || {
            read_reviewed("laughs.xlf", &doc, Format::Xliff).map(|r| {
                r.units
                    .iter()
                    .map(|u| u.source.len() + u.text.as_deref().map_or(0, str::len))
                    .sum::<usize>()
            })
        });
        match r {
            Ok(len) => assert!(len < 1000, "{entity} expanded to {len} bytes"),
            Err(e) => assert!(e.to_string().starts_with("laughs.xlf"), "{e}"),
        }
    }
    let depth = if long() { 1_000_000 } else { 100_000 };
    let doc = xliff(&format!(
        "{}x{}",
        "<pc id=\"1\">".repeat(depth),
        "</pc>".repeat(depth)
    ));
    let r = bounded("xliff nesting", limit, move || {
        read_reviewed("deep.xlf", &doc, Format::Xliff).map(|_| ())
    });
    if let Err(e) = r {
        assert!(e.to_string().starts_with("deep.xlf"), "{e}");
    }
    // Unclosed: the error names the file and a line.
    let doc = xliff(&"<pc id=\"1\">".repeat(depth));
    let e = bounded("xliff unclosed", limit, move || {
        read_reviewed("deep.xlf", &doc, Format::Xliff).map(|_| ())
    })
    .unwrap_err();
    assert!(e.line.is_some(), "{e}");
    // A mismatched end tag on line 6.
    let doc = xliff("x").replace("</source>", "</sourc>");
    let e = read_reviewed("bad.xlf", &doc, Format::Xliff).unwrap_err();
    assert_eq!(e.line, Some(6), "{e}");
}

#[test]
fn lone_surrogates_in_json_escapes_are_errors_with_file_and_line() {
    let header = "{\"type\":\"header\"}";
    let good = "{\"id\":\"p1s1\",\"para\":1,\"source\":\"نص\",\"target\":\"text \\ud83d\\ude00\",\"origin\":\"mt\"}";
    for bad in ["\\ud800", "\\udfff", "\\ud800\\u0041", "\\ude00\\ud83d"] {
        let line = format!(
            "{{\"id\":\"p2s1\",\"para\":2,\"source\":\"نص\",\"target\":\"x{bad}y\",\"origin\":\"mt\"}}"
        );
        let text = format!("{header}\n{good}\n{line}\n");
        let e = tarjama::output::jsonl::read("lone.jsonl", &text).unwrap_err();
        assert_eq!(
            (e.file.as_str(), e.line),
            ("lone.jsonl", Some(3)),
            "{bad}: {e}"
        );
        let e = read_reviewed("lone.jsonl", &text, Format::Jsonl).unwrap_err();
        assert_eq!(
            (e.file.as_str(), e.line),
            ("lone.jsonl", Some(3)),
            "{bad}: {e}"
        );
    }
    // A proper surrogate pair is a character like any other.
    let doc = tarjama::output::jsonl::read("ok.jsonl", &format!("{header}\n{good}\n")).unwrap();
    assert_eq!(doc.pairs[0].target.as_deref(), Some("text 😀"));
    // A line cut short names its line.
    let text = "{\"type\":\"header\"}\n{\"id\":\"p1s1\",\"para\":1,\"source\":\"نص\"";
    let e = tarjama::output::jsonl::read("cut.jsonl", text).unwrap_err();
    assert_eq!(e.line, Some(2), "{e}");
}

#[test]
fn huge_lines_in_reviewed_files_stay_bounded() {
    let mb = if long() { 50 } else { 8 };
    let line = "ب".repeat(mb * 1024 * 1024 / 2);
    let limit = Duration::from_secs(if long() { 120 } else { 30 });
    let t = Instant::now();
    for (name, f) in [
        ("huge.tsv", Format::Tsv),
        ("huge.jsonl", Format::Jsonl),
        ("huge.xlf", Format::Xliff),
    ] {
        if let Err(e) = read_reviewed(name, &format!("id\tsource\ttarget\n{line}\n"), f) {
            let e = e.to_string();
            assert!(e.starts_with(name), "{}", &e[..e.len().min(200)]);
            assert!(e.len() < 10_000, "the error does not carry the whole line");
        }
    }
    assert!(t.elapsed() < limit, "{:?}", t.elapsed());
}

#[test]
fn tmx_entities_nesting_and_errors_are_bounded() {
    let limit = Duration::from_secs(if long() { 60 } else { 10 });
    for entity in ["&lol9;", "&xxe;"] {
        let doc = with_dtd(&tmx(entity));
        let r = bounded("tmx laughs", limit, move || {
            tarjama::tmx::read_tmx("laughs.tmx", &doc)
                .map(|u| format!("{u:?}"))
                .map_err(|e| e.to_string())
        });
        match r {
            Ok(dump) => {
                assert!(dump.len() < 2000, "{entity} expanded: {} bytes", dump.len());
                assert!(!dump.contains("root:"), "external entity read");
            }
            Err(e) => assert!(e.starts_with("laughs.tmx:"), "{e}"),
        }
    }
    let depth = if long() { 1_000_000 } else { 100_000 };
    for doc in [
        tmx(&format!(
            "{}x{}",
            "<bpt i=\"1\">".repeat(depth),
            "</bpt>".repeat(depth)
        )),
        tmx(&"<hi>".repeat(depth)),
        "<tmx>".repeat(depth),
    ] {
        let r = bounded("tmx nesting", limit, move || {
            tarjama::tmx::read_tmx("deep.tmx", &doc)
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
        if let Err(e) = r {
            assert!(e.starts_with("deep.tmx:"), "{e}");
        }
    }
    // A mismatched end tag on line 6.
    let doc = tmx("x").replacen("</seg>", "</sg>", 1);
    let e = tarjama::tmx::read_tmx("bad.tmx", &doc)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("bad.tmx:6:"), "{e}");
}

/// Every XML reader follows the one policy of `tarjama::xml`: a DOCTYPE
/// with declarations, nesting past the limit and a control character are
/// each an error naming the file and line (or the part of a Word file),
/// and a CR survives every writer's round trip.
#[test]
fn every_xml_reader_refuses_doctype_deep_nesting_and_control_characters() {
    use std::io::Write as _;
    fn docx(document_xml: &str) -> Vec<u8> {
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let o = zip::write::SimpleFileOptions::default();
        z.start_file("word/document.xml", o).unwrap();
        z.write_all(document_xml.as_bytes()).unwrap();
        z.finish().unwrap().into_inner()
    }
    const W: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;
    let word = |t: &str| {
        format!(
            "<?xml version=\"1.0\"?>\n<w:document {W}><w:body>\n<w:p><w:r><w:t>{t}</w:t></w:r></w:p></w:body></w:document>"
        )
    };
    type Reader = Box<dyn Fn(&str) -> Result<(), String>>;
    // (the reader, a well-formed document around a piece of text, where
    // the text's line is named)
    type Wrap = Box<dyn Fn(&str) -> String>;
    let readers: Vec<(&str, Reader, Wrap, &str)> = vec![
        (
            "xliff",
            Box::new(|d| {
                read_reviewed("h.xlf", d, Format::Xliff)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }),
            Box::new(xliff),
            "h.xlf:6:",
        ),
        (
            "tmx",
            Box::new(|d| {
                tarjama::tmx::read_tmx("h.tmx", d)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }),
            Box::new(tmx),
            "h.tmx:6:",
        ),
        (
            "tbx",
            Box::new(|d| {
                import(d, "h.tbx", GlossaryFormat::Tbx)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }),
            Box::new(tbx),
            "h.tbx:5:",
        ),
        (
            "docx",
            Box::new(|d| {
                tarjama::input::docx::read("h.docx", &docx(d))
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }),
            Box::new(word),
            "word/document.xml:3:",
        ),
    ];
    for (what, read, wrap, at) in &readers {
        // the plain document is read
        read(&wrap("نص")).unwrap_or_else(|e| panic!("{what}: {e}"));
        // a bare DOCTYPE as CAT tools write it is fine, declarations are not
        let bare = wrap("نص").replacen("?>\n", "?>\n<!DOCTYPE x SYSTEM \"x.dtd\">", 1);
        read(&bare).unwrap_or_else(|e| panic!("{what}: {e}"));
        let e = read(&with_dtd(&wrap("&lol9;"))).unwrap_err();
        assert!(e.contains("DOCTYPE") && e.contains(":2:"), "{what}: {e}");
        // nesting past the limit, inside the text
        let deep = format!("{}x{}", "<hi>".repeat(80), "</hi>".repeat(80));
        let e = read(&wrap(&deep)).unwrap_err();
        assert!(
            e.contains("nested more than 64") && e.contains(at),
            "{what}: {e}"
        );
        // control characters, raw and as references
        for (c, says) in [
            ("a\u{1}b", "U+0001"),
            ("a&#x1b;b", "U+001B"),
            ("a&#0;b", "&#0;"),
        ] {
            let e = read(&wrap(c)).unwrap_err();
            assert!(e.contains(at) && e.contains(says), "{what} {c:?}: {e}");
        }
    }
}

#[test]
fn every_xml_writer_keeps_cr_and_never_writes_control_characters() {
    use tarjama::model::{AlignedPair, Bitext, Origin};
    let text = "سطر\r\nثان\rثالث\u{1}\u{1b}";
    let pair = AlignedPair {
        id: "p1s1".into(),
        para: 1,
        source: text.into(),
        target: Some("one\r\ntwo\rthree\u{7}".into()),
        origin: Origin::Mt,
        terms: vec![],
        warnings: vec![],
        suggestions: vec![],
        start: 0,
        end: 0,
        formats: Vec::new(),
        marked: None,
        history: Vec::new(),
    };
    let doc = Bitext {
        pairs: vec![pair],
        ..Bitext::default()
    };
    let opts = tarjama::output::WriteOptions::default();
    for format in [Format::Xliff, Format::Tmx] {
        let bytes = tarjama::output::render(format, &doc, &opts).unwrap();
        let xml = String::from_utf8(bytes).unwrap();
        assert!(
            !xml.contains(['\r', '\u{1}', '\u{1b}', '\u{7}']),
            "{format:?}: {xml}"
        );
        let back = read_reviewed("cr", &xml, format).unwrap();
        assert_eq!(back.units[0].source, "سطر\r\nثان\rثالث", "{format:?}");
        assert_eq!(
            back.units[0].text.as_deref(),
            Some("one\r\ntwo\rthree"),
            "{format:?}"
        );
    }
    let tmx = {
        let mut out = Vec::new();
        let unit = tarjama::tmx::TmxUnit {
            source: text.into(),
            target: "x\ry".into(),
            ..Default::default()
        };
        tarjama::tmx::write_tmx(&mut out, &Default::default(), &[unit]).unwrap();
        String::from_utf8(out).unwrap()
    };
    let back = tarjama::tmx::read_tmx("m.tmx", &tmx).unwrap();
    assert_eq!(back[0].source, "سطر\r\nثان\rثالث");
    assert_eq!(back[0].target, "x\ry");
    // Glossary terms are one line; the TBX written is still clean XML.
    let mut e = tarjama::glossary::Entry::new("طالبان", "Taliban");
    e.note = Some("a\r\nnote\u{1}".into());
    let tbx = tarjama::glossary::format::export(&[e], GlossaryFormat::Tbx).unwrap();
    assert!(!tbx.contains(['\r', '\u{1}']), "{tbx}");
    assert!(import(&tbx, "g.tbx", GlossaryFormat::Tbx).is_ok());
    for bytes in [
        tarjama::output::docx::render_document(&doc).unwrap(),
        tarjama::output::docx::render_table(&doc).unwrap(),
    ] {
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut body = String::new();
        std::io::Read::read_to_string(&mut z.by_name("word/document.xml").unwrap(), &mut body)
            .unwrap();
        assert!(!body.contains(['\r', '\u{1}', '\u{1b}', '\u{7}']), "{body}");
    }
}
