/*!
The collision test (issue 10): the matcher against real Arabic vocabulary.

Every starter-glossary entry and every entry of a synthetic term list (2,000
frequent words of the list itself, as terms that take suffixes) is matched
against each of the 100,000 most frequent Arabic words of `wordfreq`
(tests/fixtures/wordfreq). A word the matcher takes for an entry must be
that entry with clitics and suffixes, as a reference that enumerates the
rules of `affixes.toml` on the letters as written explains it; anything else
is a collision, and fails the test unless it is in the hand-reviewed allow
list (`allow.tsv`). Test-only code.
*/

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use super::matcher::{affixes, is_word};
use super::{Entry, Glossary};
use crate::normalize::key;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/wordfreq")
        .join(name)
}

/// Every proclitic chain as written, with whether it ends in the article.
fn chains() -> Vec<(String, bool)> {
    let r = affixes();
    let mut conj: Vec<String> = vec![String::new()];
    conj.extend(r.conjunctions.iter().map(|c| c.to_string()));
    let mut out = Vec::new();
    for c in &conj {
        out.push((c.clone(), false));
        out.push((format!("{c}{}", r.article), true));
        for p in &r.prepositions {
            out.push((format!("{c}{p}"), false));
            if *p == r.lam {
                // ل + ال is written لل
                out.push((
                    format!("{c}{p}{}", &r.article[r.article.len() - 'ل'.len_utf8()..]),
                    true,
                ));
            } else {
                out.push((format!("{c}{p}{}", r.article), true));
            }
        }
    }
    out
}

/// Every suffix as written ("" first).
fn suffixes() -> Vec<String> {
    let r = affixes();
    let mut out = vec![String::new()];
    out.extend(r.possessives.iter().cloned());
    out.extend(r.plurals.iter().cloned());
    for p in &r.plurals_with_possessive {
        out.extend(r.possessives.iter().map(|s| format!("{p}{s}")));
    }
    out
}

/// Whether `word` is entry `e` with clitics and suffixes, by enumeration.
fn explains(e: &Entry, word: &str, chains: &[(String, bool)], sufs: &[String]) -> bool {
    let r = affixes();
    for form in e.forms() {
        let k = key(form);
        let (stem, needs_article) = match k.strip_prefix(r.article.as_str()) {
            Some(rest)
                if form.starts_with(r.article.as_str())
                    && rest.chars().take(2).filter(|c| is_word(*c)).count() == 2 =>
            {
                (rest.to_string(), true)
            }
            _ => (k.clone(), false),
        };
        let letters = stem.rsplit(' ').next().unwrap_or("").chars().count();
        let suffixes_ok = !e.is_name() && letters >= r.min_stem_letters;
        let teh = form
            .trim_end_matches(crate::normalize::is_attached_mark)
            .ends_with('ة');
        for (c, art) in chains {
            if needs_article && !art {
                continue;
            }
            let Some(rest) = word.strip_prefix(c.as_str()) else {
                continue;
            };
            for s in sufs {
                if !s.is_empty() && !suffixes_ok {
                    continue;
                }
                let Some(mid) = rest.strip_suffix(s.as_str()) else {
                    continue;
                };
                let m = key(mid);
                if m == stem {
                    return true;
                }
                if suffixes_ok && teh {
                    let base = &stem[..stem.len() - 'ه'.len_utf8()];
                    if (!s.is_empty() && m == format!("{base}ت")) || m == format!("{base}ات") {
                        return true;
                    }
                }
            }
        }
    }
    false
}

fn starter() -> Vec<Entry> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("glossaries");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "tsv"))
        .collect();
    paths.sort();
    Glossary::load(&paths).unwrap().0.entries().to_vec()
}

#[test]
fn no_unexplained_collisions_with_the_100000_most_frequent_words() {
    let text = std::fs::read_to_string(fixture("ar-top100k.txt")).unwrap();
    let words: Vec<&str> = text.lines().collect();
    assert_eq!(words.len(), 100_000);
    let allow_text = std::fs::read_to_string(fixture("allow.tsv")).unwrap();
    let allow: HashSet<(String, String)> = allow_text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut c = l.split('\t');
            (
                c.next().unwrap().to_string(),
                c.next().unwrap_or("").to_string(),
            )
        })
        .collect();
    // the starter glossaries, the examples of issue 10, and 2,000 frequent
    // words of the list as terms
    let mut entries = starter();
    for w in ["سلام", "عمل", "حرب", "ال"] {
        let mut e = Entry::new(w, "T");
        e.kind = Some("term".into());
        entries.push(e);
    }
    let seen: HashSet<String> = entries.iter().map(|e| key(&e.source)).collect();
    for w in words
        .iter()
        .skip(300)
        .filter(|w| !seen.contains(&key(w)))
        .take(2000)
    {
        let mut e = Entry::new(w, "T");
        e.kind = Some("term".into());
        entries.push(e);
    }
    let n_entries = entries.len();
    let m = Glossary::new(entries).matcher();
    let (chains, sufs) = (chains(), suffixes());
    let mut hits = 0usize;
    let mut collisions: Vec<String> = Vec::new();
    let mut used_allow = HashSet::new();
    let mut per_entry: HashMap<&str, usize> = HashMap::new();
    for w in &words {
        let chars: Vec<char> = w.chars().collect();
        for h in m.find_raw(w) {
            hits += 1;
            let e = &m.entries()[h.entry];
            // the run of word characters the hit is in (د.محمد, الدولة_الإسلامية)
            let (mut a, mut b) = (h.start, h.end);
            while a > 0 && is_word(chars[a - 1]) {
                a -= 1;
            }
            while b < chars.len() && is_word(chars[b]) {
                b += 1;
            }
            let run: String = chars[a..b].iter().collect();
            *per_entry.entry(e.source.as_str()).or_default() += 1;
            if explains(e, &run, &chains, &sufs) {
                continue;
            }
            let k = (w.to_string(), e.source.clone());
            if allow.contains(&k) {
                used_allow.insert(k);
                continue;
            }
            collisions.push(format!("{w}\t{}\t({})", e.source, e.target));
        }
    }
    println!(
        "{} words, {n_entries} entries, {hits} hits, {} collisions",
        words.len(),
        collisions.len()
    );
    assert!(
        hits > 10_000,
        "the test must exercise the matcher: {hits} hits"
    );
    assert!(
        collisions.is_empty(),
        "{} words the matcher takes for an entry they are not (add true variants to allow.tsv):\n{}",
        collisions.len(),
        collisions.join("\n")
    );
    let stale: Vec<_> = allow.difference(&used_allow).collect();
    assert!(
        stale.is_empty(),
        "allow.tsv lines no longer needed: {stale:?}"
    );
}

/// The reference itself: it must reject the words of issue 10.
#[test]
fn the_reference_rejects_the_examples_of_issue_10() {
    let (chains, sufs) = (chains(), suffixes());
    let term = |s: &str| {
        let mut e = Entry::new(s, "T");
        e.kind = Some("term".into());
        e
    };
    for (entry, word) in [
        ("سلام", "السلامة"),
        ("عمل", "العملة"),
        ("حرب", "حربة"),
        ("ال", "إلى"),
    ] {
        assert!(!explains(&term(entry), word, &chains, &sufs), "{word}");
    }
    for (entry, word) in [
        ("سلام", "والسلام"),
        ("حرب", "حربهم"),
        ("حكومة", "بحكومتها"),
        ("حكومة", "حكومات"),
    ] {
        assert!(explains(&term(entry), word, &chains, &sufs), "{word}");
    }
    assert!(chains.iter().any(|c| c.0 == "ولل" && c.1));
}
