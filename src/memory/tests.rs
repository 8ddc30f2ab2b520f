use super::*;
use rusqlite::Connection;

fn params(model: &str) -> KeyParams {
    KeyParams {
        backend_kind: "openai".into(),
        url: "http://127.0.0.1:8080/v1".into(),
        model: model.into(),
        prompt_version: "p1".into(),
    }
}

fn term(s: &str, t: &str) -> PinnedTerm {
    PinnedTerm {
        source: s.into(),
        target: t.into(),
    }
}

fn mt(key: &str, source: &str, target: &str) -> MtEntry {
    MtEntry {
        key: key.into(),
        source: source.into(),
        target: target.into(),
        backend: "llm".into(),
        model: Some("m".into()),
        pending: false,
        document: None,
    }
}

fn human(source: &str, target: &str) -> NewPair {
    NewPair {
        source: source.into(),
        target: target.into(),
        origin: Provenance::Human,
        backend: None,
        model: None,
        created: None,
        document: None,
    }
}

const S1: &str = "أعلنت الخارجية الروسية أن سيرجي لافروف أجرى محادثة مع أمير خان متقي.";

#[test]
fn cache_key_changes_with_each_setting_and_nothing_else() {
    let base = cache_key(S1, &params("m1"), &[term("لافروف", "Lavrov")]);
    // Same text after normalisation (hamza forms, tatweel, spaces): same key.
    let folded = "اعلنت الخارجيـة الروسية  ان سيرجي لافروف أجرى محادثة مع أمير خان متقى.";
    assert_eq!(
        base,
        cache_key(folded, &params("m1"), &[term("لافروف", "Lavrov")])
    );
    // Order and duplicates of terms do not matter.
    let two = [term("لافروف", "Lavrov"), term("متقي", "Muttaqi")];
    let two_rev = [
        term("متقي", "Muttaqi"),
        term("لافروف", "Lavrov"),
        term("متقي", "Muttaqi"),
    ];
    assert_eq!(
        cache_key(S1, &params("m1"), &two),
        cache_key(S1, &params("m1"), &two_rev)
    );
    // A trailing slash on the URL is the same endpoint.
    let mut slash = params("m1");
    slash.url.push('/');
    assert_eq!(base, cache_key(S1, &slash, &[term("لافروف", "Lavrov")]));

    let mut others = vec![
        cache_key(S1, &params("m2"), &[term("لافروف", "Lavrov")]),
        cache_key(S1, &params("m1"), &[term("لافروف", "Lavrov")]).replace('a', "b"),
        cache_key(S1, &params("m1"), &[term("لافروف", "Lavrov F.")]),
        cache_key(S1, &params("m1"), &[]),
        cache_key("نص آخر", &params("m1"), &[term("لافروف", "Lavrov")]),
    ];
    let mut p = params("m1");
    p.backend_kind = "ollama".into();
    others.push(cache_key(S1, &p, &[term("لافروف", "Lavrov")]));
    let mut p = params("m1");
    p.url = "http://other:8080/v1".into();
    others.push(cache_key(S1, &p, &[term("لافروف", "Lavrov")]));
    let mut p = params("m1");
    p.prompt_version = "p2".into();
    others.push(cache_key(S1, &p, &[term("لافروف", "Lavrov")]));
    for (i, o) in others.iter().enumerate() {
        assert_ne!(&base, o, "variant {i} should change the key");
    }
}

#[test]
fn normalize_key_folds_what_news_sites_vary() {
    assert_eq!(normalize_key("أإآٱ"), "اااا");
    assert_eq!(normalize_key("ديمترى بيسكوف"), "ديمتري بيسكوف");
    assert_eq!(normalize_key("مدرسةُ  الـــعلم\u{200F}"), "مدرسه العلم");
    assert_eq!(normalize_key("٢٠٢٤ ۱۲ Moscow"), "2024 12 Moscow");
}

#[test]
fn file_is_in_wal_mode_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/dir/tm.sqlite");
    let key = cache_key(S1, &params("m"), &[]);
    {
        let mut m = Memory::open(&path).unwrap();
        m.store_mt(&[mt(&key, S1, "Russia's foreign ministry said...")])
            .unwrap();
    }
    let m = Memory::open(&path).unwrap();
    let mode: String = m
        .sqlite_conn()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let hit = m.lookup(&key, S1).unwrap().unwrap();
    assert_eq!(hit.target, "Russia's foreign ministry said...");
    assert_eq!(hit.origin, Provenance::Mt);
    assert_eq!(hit.model.as_deref(), Some("m"));
    assert!(m.integrity_check().unwrap().is_ok());
}

#[test]
fn exact_lookup_needs_the_same_key() {
    both(|| {
        let mut m = fresh();
        let k1 = cache_key(S1, &params("m1"), &[]);
        let k2 = cache_key(S1, &params("m2"), &[]);
        m.store_mt(&[mt(&k1, S1, "one")]).unwrap();
        assert_eq!(m.lookup(&k1, S1).unwrap().unwrap().target, "one");
        assert!(m.lookup(&k2, S1).unwrap().is_none());
        // Storing the same key again overwrites, it does not duplicate.
        m.store_mt(&[mt(&k1, S1, "one, revised")]).unwrap();
        assert_eq!(m.lookup(&k1, S1).unwrap().unwrap().target, "one, revised");
        assert_eq!(m.stats().unwrap().pairs, 1);
    });
}

#[test]
fn human_translation_outranks_machine_one() {
    both(|| {
        let mut m = fresh();
        let k = cache_key(S1, &params("m1"), &[]);
        m.store_mt(&[mt(&k, S1, "machine")]).unwrap();
        // Stored with a spelling variant: the normalised source is the same.
        let variant = S1.replace("متقي", "متقى");
        let st = m.add_pairs(&[human(&variant, "reviewed")]).unwrap();
        assert_eq!(st.added, 1);
        let hit = m.lookup(&k, S1).unwrap().unwrap();
        assert_eq!(
            (hit.target.as_str(), hit.origin),
            ("reviewed", Provenance::Human)
        );
        // Adding the same human pair again does not duplicate it.
        let st = m.add_pairs(&[human(S1, "reviewed")]).unwrap();
        assert_eq!((st.added, st.existing), (0, 1));
        // Empty targets are skipped.
        let st = m.add_pairs(&[human(S1, "  ")]).unwrap();
        assert_eq!(st.skipped, 1);
        let s = m.stats().unwrap();
        assert_eq!((s.pairs, s.human, s.mt, s.distinct_sources), (2, 1, 1, 1));
    });
}

#[test]
fn fuzzy_finds_close_sentences_only() {
    both(|| {
        let mut m = fresh();
        let stored = [
            // 12 words; the query below differs in one word (91%).
            "وقال زامير كابولوف الممثل الروسي الخاص في أفغانستان إن اقتراح رفع الحركة",
            // Shares many words but is much longer: below the threshold.
            "وقال زامير كابولوف الممثل الروسي الخاص في أفغانستان إن اقتراح رفع حركة طالبان من قائمة الجماعات الإرهابية تم تقديمه إلى الرئيس",
            "نص مختلف تماما لا علاقة له بالموضوع",
        ];
        let entries: Vec<MtEntry> = stored
            .iter()
            .enumerate()
            .map(|(i, s)| mt(&format!("k{i}"), s, &format!("en{i}")))
            .collect();
        m.store_mt(&entries).unwrap();
        m.add_pairs(&[human(stored[0], "human en0")]).unwrap();

        let q = "وقال زامير كابولوف الممثل الروسي الخاص في أفغانستان إن اقتراح رفع طالبان";
        let sug = m.fuzzy(q, FUZZY_THRESHOLD, 5).unwrap();
        assert_eq!(sug.len(), 1, "{sug:?}");
        assert_eq!(sug[0].score, 91);
        assert_eq!(sug[0].origin, Origin::Human, "the human pair is preferred");
        assert_eq!(sug[0].target, "human en0");

        // Normalisation applies: a hamza variant of a stored sentence is 100%.
        let q2 = stored[0].replace("أفغانستان", "افغانستان");
        assert_eq!(m.fuzzy(&q2, 75, 5).unwrap()[0].score, 100);
        // Nothing near.
        assert!(m.fuzzy("جملة جديدة كليا", 75, 5).unwrap().is_empty());
        assert!(m.fuzzy("...", 75, 5).unwrap().is_empty());
    });
}

#[test]
fn fuzzy_agrees_with_brute_force() {
    both(|| {
        // Random sentences over a small vocabulary: the indexed search returns
        // exactly the sources a full scan scores at or above the threshold.
        let vocab = [
            "قال",
            "روسيا",
            "طالبان",
            "موسكو",
            "في",
            "من",
            "الحركة",
            "وزير",
        ];
        let mut rng = fastrand::Rng::with_seed(7);
        let sentence = |rng: &mut fastrand::Rng| -> String {
            let n = rng.usize(1..9);
            (0..n)
                .map(|_| vocab[rng.usize(..vocab.len())])
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut m = fresh();
        let mut all = Vec::new();
        // More sources than are staged before the word index is written:
        // some are found through the index, the newest among the staged.
        for i in 0..700 {
            let s = format!("{} {}", sentence(&mut rng), vocab[i % 3]);
            m.store_mt(&[mt(&format!("k{i}"), &s, "t")]).unwrap();
            all.push(s);
        }
        all.sort();
        all.dedup();
        let mut rng = fastrand::Rng::with_seed(8);
        assert_fuzzy_is_brute_force(&m, &all, || sentence(&mut rng));
    });
}

/// `m.fuzzy` at 75% returns exactly the sources of `all` a full scan
/// scores at or above 75%, for 100 queries.
fn assert_fuzzy_is_brute_force(m: &Memory, all: &[String], mut query: impl FnMut() -> String) {
    for _ in 0..100 {
        let q = query();
        let qt = fuzzy::tokens(&q);
        let mut expected: Vec<String> = all
            .iter()
            .filter(|s| fuzzy::similarity(&qt, &fuzzy::tokens(s)) >= 75)
            .cloned()
            .collect();
        let mut got: Vec<String> = m
            .fuzzy(&q, 75, 10_000)
            .unwrap()
            .into_iter()
            .map(|s| s.source)
            .collect();
        expected.sort();
        got.sort();
        assert_eq!(got, expected, "query {q}");
    }
}

#[test]
fn sources_a_dead_process_left_out_of_the_word_index_are_indexed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tm.sqlite");
    let words = ["قال", "روسيا", "موسكو", "في", "من", "وزير"];
    let mut rng = fastrand::Rng::with_seed(9);
    let mut sentence = move || -> String {
        (0..rng.usize(2..7))
            .map(|_| words[rng.usize(..words.len())])
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut all = Vec::new();
    {
        let mut m = Memory::open(&path).unwrap();
        for i in 0..100 {
            let s = sentence();
            m.store_mt(&[mt(&format!("k{i}"), &s, "t")]).unwrap();
            all.push(s);
        }
        // The process dies: the staged words are never written.
        std::mem::forget(m);
    }
    let m = Memory::open_existing(&path).unwrap();
    let left: i64 = m
        .sqlite_conn()
        .query_row("SELECT count(*) FROM unindexed", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0, "indexed on open");
    assert!(m.check().unwrap().is_empty(), "{:?}", m.check());
    all.sort();
    all.dedup();
    assert_fuzzy_is_brute_force(&m, &all, &mut sentence);
}

#[test]
fn a_version_2_file_gets_its_word_index_rebuilt_with_lengths() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.sqlite");
    {
        let mut m = Memory::open(&path).unwrap();
        m.store_mt(&[mt("k2", S2, "two")]).unwrap();
        m.add_pairs(&[human(S1, "one")]).unwrap();
    }
    {
        // The version 2 index: (word, source) without the word count.
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE tokens_v2 (token TEXT NOT NULL, source_id INTEGER NOT NULL
                 REFERENCES sources(id), PRIMARY KEY (token, source_id)) WITHOUT ROWID;
             INSERT INTO tokens_v2 SELECT token, source_id FROM tokens;
             DROP TABLE tokens; ALTER TABLE tokens_v2 RENAME TO tokens;
             PRAGMA user_version = 2;",
        )
        .unwrap();
    }
    let m = Memory::open(&path).unwrap();
    assert_eq!(m.schema_version().unwrap(), 3);
    assert!(m.check().unwrap().is_empty(), "{:?}", m.check());
    let wrong: i64 = m
        .sqlite_conn()
        .query_row(
            "SELECT count(*) FROM tokens t JOIN sources s ON s.id = t.source_id
             WHERE t.ntokens <> s.ntokens",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(wrong, 0);
    let s = m.fuzzy(S3, 75, 3).unwrap();
    assert_eq!(
        s.iter().map(|s| s.target.as_str()).collect::<Vec<_>>(),
        ["two"]
    );
    assert!(dir.path().join("v2.sqlite.v2-backup").exists());
}

#[test]
fn a_wrong_word_count_in_the_index_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tm.sqlite");
    // Closed once, so that the source's words are in the index.
    Memory::open(&path)
        .unwrap()
        .store_mt(&[mt("k2", S2, "two")])
        .unwrap();
    let m = Memory::open(&path).unwrap();
    assert!(m.check().unwrap().is_empty());
    m.sqlite_conn()
        .execute_batch(
            "UPDATE tokens SET ntokens = ntokens + 1 WHERE token = (SELECT min(token) FROM tokens)",
        )
        .unwrap();
    let problems = m.check().unwrap();
    assert!(
        problems.iter().any(|p| p.contains("wrong word count")),
        "{problems:?}"
    );
}

#[test]
fn frozen_suggestions_come_from_the_memory_as_it_was() {
    both(|| {
        // Frozen empty: nothing stored since is suggested.
        let mut m = fresh();
        m.freeze_suggestions().unwrap();
        m.store_mt(&[mt("k2", S2, "two")]).unwrap();
        assert!(m.fuzzy(S3, 75, 5).unwrap().is_empty());
        let mut m = fresh();
        m.store_mt(&[mt("k2", S2, "two")]).unwrap();
        let before: Vec<String> = m
            .fuzzy(S3, 75, 5)
            .unwrap()
            .into_iter()
            .map(|s| s.target)
            .collect();
        assert_eq!(before, ["two"]);
        m.freeze_suggestions().unwrap();
        // Stored after the freeze: found exactly, never suggested.
        let s4 = "وقال المتحدث إن الاجتماع انتهى دون اتفاق نهائي أمس.";
        m.store_mt(&[mt("k3", S3, "three"), mt("k4", s4, "four")])
            .unwrap();
        m.add_pairs(&[human(S3, "three, by hand")]).unwrap();
        assert_eq!(
            m.lookup("k3", S3).unwrap().unwrap().target,
            "three, by hand"
        );
        let after: Vec<String> = m
            .fuzzy(S3, 75, 5)
            .unwrap()
            .into_iter()
            .map(|s| s.target)
            .collect();
        assert_eq!(after, ["two"]);
        let found: Vec<String> = m
            .search(S3, 75, 10)
            .unwrap()
            .into_iter()
            .map(|h| h.pair.target)
            .filter(|t| t != "three" && t != "three, by hand")
            .collect();
        assert_eq!(found, ["two"]);
    });
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tm.sqlite");
    {
        let c = Connection::open(&path).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
    }
    let e = Memory::open(&path).unwrap_err().to_string();
    assert!(e.contains("schema version 99"), "{e}");
}

#[test]
fn not_a_database_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(
        &path,
        "this is not sqlite, just some text long enough ".repeat(50),
    )
    .unwrap();
    let e = Memory::open(&path).unwrap_err().to_string();
    assert!(e.contains("notes.txt"), "{e}");
}

fn pair(source: &str, target: &str, origin: Provenance) -> NewPair {
    NewPair {
        origin,
        ..human(source, target)
    }
}

const S2: &str = "وقال المتحدث إن الاجتماع انتهى دون اتفاق.";
const S3: &str = "وقال المتحدث إن الاجتماع انتهى دون اتفاق نهائي.";

#[test]
fn human_outranks_reviewed_which_outranks_machine() {
    both(|| {
        let mut m = fresh();
        let k = cache_key(S1, &params("m1"), &[]);
        m.store_mt(&[mt(&k, S1, "machine")]).unwrap();
        m.add_pairs(&[pair(S1, "kept", Provenance::Reviewed)])
            .unwrap();
        let hit = m.lookup(&k, S1).unwrap().unwrap();
        assert_eq!(
            (hit.target.as_str(), hit.origin),
            ("kept", Provenance::Reviewed)
        );
        // A human translation stored before the reviewed one still wins.
        m.add_pairs(&[human(S1, "written")]).unwrap();
        m.add_pairs(&[pair(S1, "kept again", Provenance::Reviewed)])
            .unwrap();
        let hit = m.lookup(&k, S1).unwrap().unwrap();
        assert_eq!(
            (hit.target.as_str(), hit.origin),
            ("written", Provenance::Human)
        );
        assert_eq!(m.lookup_any(S1).unwrap().unwrap().target, "written");
        let s = m.stats().unwrap();
        assert_eq!((s.human, s.reviewed, s.mt), (1, 2, 1));
    });
}

#[test]
fn a_pending_answer_is_marked_and_made_final_by_storing_again() {
    both(|| {
        let mut m = fresh();
        let k = cache_key(S1, &params("m1"), &[]);
        m.store_mt(&[MtEntry {
            pending: true,
            ..mt(&k, S1, "first")
        }])
        .unwrap();
        assert!(m.lookup(&k, S1).unwrap().unwrap().pending);
        assert_eq!(m.stats().unwrap().pending, 1);
        m.store_mt(&[mt(&k, S1, "second")]).unwrap();
        let hit = m.lookup(&k, S1).unwrap().unwrap();
        assert_eq!((hit.target.as_str(), hit.pending), ("second", false));
        assert_eq!(m.stats().unwrap().pending, 0);
    });
}

#[test]
fn a_version_1_file_is_backed_up_and_migrated_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite");
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch(schema::CREATE_V1).unwrap();
        c.execute_batch(
            "INSERT INTO sources (id, norm, ntokens) VALUES (1, 'نص', 1);
             INSERT INTO tokens VALUES ('نص', 1); INSERT INTO token_df VALUES ('نص', 1);
             INSERT INTO pairs VALUES (1, 1, 'k1', 'نص', 'text', 'mt', 'llm', 'm', 10, 20);
             INSERT INTO pairs VALUES (2, 1, NULL, 'نص', 'a text', 'human', NULL, NULL, 10, 30);",
        )
        .unwrap();
    }
    let m = Memory::open(&path).unwrap();
    assert_eq!(m.schema_version().unwrap(), schema::SCHEMA_VERSION);
    let pairs = m.pairs().unwrap();
    assert_eq!(
        pairs
            .iter()
            .map(|p| (p.target.as_str(), p.origin, p.pending))
            .collect::<Vec<_>>(),
        [
            ("text", Provenance::Mt, false),
            ("a text", Provenance::Human, false)
        ]
    );
    assert_eq!(m.lookup("k1", "نص").unwrap().unwrap().target, "a text");
    assert!(m.check().unwrap().is_empty(), "{:?}", m.check());
    // The backup is the version 1 file as it was.
    let backup = dir.path().join("old.sqlite.v1-backup");
    let b = Connection::open(&backup).unwrap();
    let v: i64 = b
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    let n: i64 = b
        .query_row("SELECT count(*) FROM pairs", [], |r| r.get(0))
        .unwrap();
    assert_eq!((v, n), (1, 2));
    drop(m);
    // Opening again migrates nothing and makes no second backup.
    Memory::open(&path).unwrap();
    assert!(!dir.path().join("old.sqlite.v1-backup.2").exists());
}

#[test]
fn opening_a_missing_memory_for_reading_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/tm.sqlite");
    let e = Memory::open_existing(&path).unwrap_err();
    assert!(matches!(e, MemoryError::Missing { .. }));
    let msg = e.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("tarjama translate"), "{msg}");
    assert!(!dir.path().join("no").exists());
}

fn filled() -> Memory {
    let mut m = fresh();
    let k1 = cache_key(S1, &params("m1"), &[]);
    let k2 = cache_key(S2, &params("m2"), &[]);
    m.store_mt(&[
        MtEntry {
            document: Some("/news/a.txt".into()),
            ..mt(&k1, S1, "one")
        },
        MtEntry {
            model: Some("m2".into()),
            document: Some("/news/b.txt".into()),
            ..mt(&k2, S2, "two")
        },
    ])
    .unwrap();
    m.add_pairs(&[
        human(S2, "two, by hand"),
        pair(S3, "three", Provenance::Reviewed),
    ])
    .unwrap();
    m
}

fn targets(m: &Memory) -> Vec<String> {
    m.pairs().unwrap().into_iter().map(|p| p.target).collect()
}

#[test]
fn forget_by_each_condition_removes_only_what_matches() {
    both(|| {
        let mut m = filled();
        // No condition: nothing.
        assert_eq!(m.forget(&Filter::default()).unwrap(), 0);
        let by_model = Filter {
            model: Some("m2".into()),
            ..Filter::default()
        };
        assert_eq!(m.select(&by_model).unwrap().len(), 1);
        assert_eq!(m.forget(&by_model).unwrap(), 1);
        assert_eq!(targets(&m), ["one", "two, by hand", "three"]);

        let mut m = filled();
        let f = Filter {
            origin: Some(Provenance::Mt),
            backend: Some("llm".into()),
            ..Filter::default()
        };
        assert_eq!(m.forget(&f).unwrap(), 2);
        assert_eq!(targets(&m), ["two, by hand", "three"]);

        let mut m = filled();
        let f = Filter {
            document: Some("a.txt".into()),
            ..Filter::default()
        };
        assert_eq!(m.forget(&f).unwrap(), 1);
        assert_eq!(targets(&m), ["two", "two, by hand", "three"]);

        let mut m = filled();
        let f = Filter {
            source: Some("نهائي".into()),
            ..Filter::default()
        };
        assert_eq!(m.forget(&f).unwrap(), 1);
        assert_eq!(targets(&m), ["one", "two", "two, by hand"]);

        let mut m = filled();
        let now = time::now_unix();
        let past = Filter {
            until: Some(now - 3600),
            ..Filter::default()
        };
        assert_eq!(m.forget(&past).unwrap(), 0);
        let today = Filter {
            since: Some(now - 3600),
            until: Some(now + 3600),
            origin: Some(Provenance::Reviewed),
            ..Filter::default()
        };
        assert_eq!(m.forget(&today).unwrap(), 1);
        assert_eq!(targets(&m), ["one", "two", "two, by hand"]);
    });
}

#[test]
fn search_lists_exact_then_close_matches_best_origin_first() {
    both(|| {
        let m = filled();
        let hits = m.search(S2, 75, 10).unwrap();
        let got: Vec<(u8, &str, Provenance)> = hits
            .iter()
            .map(|h| (h.score, h.pair.target.as_str(), h.pair.origin))
            .collect();
        assert_eq!(got[0], (100, "two, by hand", Provenance::Human));
        assert_eq!(got[1], (100, "two", Provenance::Mt));
        assert_eq!(got[2].1, "three");
        assert!(got[2].0 < 100 && got[2].0 >= 75, "{got:?}");
        assert_eq!(got.len(), 3);
        assert!(
            m.search("كلمات لا وجود لها هنا أبدا", 75, 10)
                .unwrap()
                .is_empty()
        );
    });
}

#[test]
fn check_finds_broken_invariants_and_vacuum_drops_orphans() {
    let mut m = filled();
    assert!(m.check().unwrap().is_empty(), "{:?}", m.check());
    // Forget S1's only pair: its source is an orphan until vacuum.
    m.forget(&Filter {
        document: Some("a.txt".into()),
        ..Filter::default()
    })
    .unwrap();
    let before: i64 = m
        .sqlite_conn()
        .query_row("SELECT count(*) FROM sources", [], |r| r.get(0))
        .unwrap();
    let v = m.vacuum().unwrap();
    assert_eq!(v.orphan_sources, 1);
    let after: i64 = m
        .sqlite_conn()
        .query_row("SELECT count(*) FROM sources", [], |r| r.get(0))
        .unwrap();
    assert_eq!(after, before - 1);
    assert!(m.check().unwrap().is_empty(), "{:?}", m.check());
    assert_eq!(targets(&m), ["two", "two, by hand", "three"]);
    // Fuzzy still works after the index was trimmed.
    assert_eq!(m.fuzzy(S3, 75, 3).unwrap().len(), 2);

    // Broken by hand: a human pair with a cache key, a df out of step, a
    // pair filed under another source.
    m.sqlite_conn()
        .execute_batch(
            "UPDATE pairs SET cache_key = 'x' WHERE origin = 'human';
             UPDATE token_df SET n = n + 5 WHERE token = (SELECT token FROM token_df LIMIT 1);
             UPDATE pairs SET source = 'نص آخر' WHERE origin = 'reviewed';",
        )
        .unwrap();
    let problems = m.check().unwrap();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("cache key")));
    assert!(problems.iter().any(|p| p.contains("word index count")));
    assert!(
        problems
            .iter()
            .any(|p| p.contains("filed under another source"))
    );
}

#[test]
fn ten_concurrent_first_opens_all_succeed() {
    for round in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("new{round}/tm.sqlite"));
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(10));
        let handles: Vec<_> = (0..10)
            .map(|i| {
                let path = path.clone();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    let mut m = Memory::open(&path)?;
                    let k = format!("key{i}");
                    m.store_mt(&[mt(&k, &format!("{S1} {i}"), "x")])?;
                    Ok::<_, MemoryError>(())
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap().unwrap();
        }
        let m = Memory::open_existing(&path).unwrap();
        assert_eq!(m.stats().unwrap().pairs, 10);
        assert!(m.check().unwrap().is_empty());
    }
}

#[test]
fn concurrent_opens_of_a_version_1_file_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite");
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch(schema::CREATE_V1).unwrap();
        c.execute_batch(
            "INSERT INTO sources (id, norm, ntokens) VALUES (1, 'نص', 1);
             INSERT INTO pairs VALUES (1, 1, 'k1', 'نص', 'text', 'mt', 'llm', 'm', 10, 20);",
        )
        .unwrap();
    }
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let (path, barrier) = (path.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                Memory::open(&path).map(|m| m.pairs().unwrap().len())
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().unwrap(), 1);
    }
    assert!(dir.path().join("old.sqlite.v1-backup").exists());
}

// The same tests on PostgreSQL: `both` runs a test body on a fresh SQLite
// memory, then (when TARJAMA_TEST_PG_URL names a server, see
// .ci/postgres.sh) on a fresh schema of that database.

thread_local! {
    static ON_PG: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The test server, or `None` (a message says the PostgreSQL run is
/// skipped; with TARJAMA_REQUIRE_POSTGRES=1 a missing server fails).
pub(crate) fn pg_url() -> Option<String> {
    match std::env::var("TARJAMA_TEST_PG_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        Some(u) => Some(u),
        None => {
            assert!(
                std::env::var_os("TARJAMA_REQUIRE_POSTGRES").is_none(),
                "TARJAMA_REQUIRE_POSTGRES is set but TARJAMA_TEST_PG_URL is not: start a server with .ci/postgres.sh"
            );
            eprintln!(
                "skipping the PostgreSQL run: set TARJAMA_TEST_PG_URL (eval \"$(.ci/postgres.sh start)\")"
            );
            None
        }
    }
}

/// A URL of `base` whose tables live in a new, empty schema.
pub(crate) fn pg_fresh_url(base: &str) -> String {
    let schema = format!("t_{:016x}", fastrand::u64(..));
    let mut c = postgres::Client::connect(base, postgres::NoTls).expect("the test server");
    c.batch_execute(&format!("CREATE SCHEMA {schema}")).unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-csearch_path%3D{schema}")
}

/// A new, empty memory of the backend under test.
fn fresh() -> Memory {
    if ON_PG.with(|c| c.get()) {
        let url = pg_fresh_url(&pg_url().expect("checked by both()"));
        Memory::open(Path::new(&url)).unwrap()
    } else {
        Memory::open_in_memory().unwrap()
    }
}

fn both(body: impl Fn()) {
    body();
    if pg_url().is_some() {
        ON_PG.with(|c| c.set(true));
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&body));
        ON_PG.with(|c| c.set(false));
        if let Err(e) = r {
            eprintln!("(failed on PostgreSQL)");
            std::panic::resume_unwind(e);
        }
    }
}

#[test]
fn a_pending_answer_keeps_its_claim_until_the_final_one_is_stored() {
    let Some(base) = pg_url() else { return };
    let url = pg_fresh_url(&base);
    let mut a = Memory::open(Path::new(&url)).unwrap();
    let mut b = Memory::open(Path::new(&url)).unwrap();
    let k = cache_key(S1, &params("m1"), &[]);
    assert_eq!(
        a.claim(std::slice::from_ref(&k)).unwrap(),
        std::slice::from_ref(&k)
    );
    assert!(b.claim(std::slice::from_ref(&k)).unwrap().is_empty());
    // A's first answer missed a pinned term: its re-request is A's to send.
    a.store_mt(&[MtEntry {
        pending: true,
        ..mt(&k, S1, "first")
    }])
    .unwrap();
    assert!(b.claim(std::slice::from_ref(&k)).unwrap().is_empty());
    // The final answer ends the claim, and nobody needs to send it again.
    a.store_mt(&[mt(&k, S1, "final")]).unwrap();
    assert!(b.claim(std::slice::from_ref(&k)).unwrap().is_empty());
    assert_eq!(b.lookup_key(&k).unwrap().unwrap().target, "final");
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let n: i64 = c
        .query_one("SELECT count(*) FROM claims", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
}
