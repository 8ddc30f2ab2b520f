/*!
Quality checks on a bilingual document, run before anything is published.

Machine translation fails in ways a tired reviewer misses: a name rendered
the way the glossary forbids, a casualty figure that changed, a sentence
left in Arabic or copied through untranslated, a segment cut in half, the
same sentence translated two ways. Each check here is a small function over
the aligned pairs that returns [`Finding`]s; the command (`tarjama qa`)
only reads the file and prints them.

The glossary checks take the checked terms of each pair from a
[`TermChecker`]: with a glossary loaded, the caller re-matches and
re-checks every segment; without one, the terms recorded in the file (by
`translate`) are re-checked against the current English.
*/

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use crate::glossary::check::check_terms;
use crate::glossary::matcher::Matcher;
use crate::model::{AlignedPair, Bitext, CheckedTerm, Segment};

/// How bad a finding is. Errors make `tarjama qa` exit with code 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// The kinds of defect `qa` looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// A pinned glossary term whose English is missing.
    TermMissing,
    /// A rendering the glossary forbids.
    TermForbidden,
    /// A number in the source missing from the translation, or one added.
    Number,
    /// Arabic script left in the English.
    ArabicLeft,
    /// No translation, or an empty one.
    Untranslated,
    /// The translation is the source copied through.
    Identical,
    /// English much shorter or longer than the Arabic warrants.
    LengthRatio,
    /// The same source translated differently in one document.
    Inconsistent,
    /// A pinned term honoured by an accepted form, not the preferred one
    /// (a style note).
    TermStyle,
}

impl Check {
    pub fn code(self) -> &'static str {
        match self {
            Check::TermMissing => "term-missing",
            Check::TermForbidden => "term-forbidden",
            Check::Number => "number",
            Check::ArabicLeft => "arabic-left",
            Check::Untranslated => "untranslated",
            Check::Identical => "identical",
            Check::LengthRatio => "length-ratio",
            Check::Inconsistent => "inconsistent",
            Check::TermStyle => "term-style",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One problem in one segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub segment: String,
    pub check: Check,
    pub severity: Severity,
    pub message: String,
}

/// Thresholds for the checks that have them.
#[derive(Debug, Clone, PartialEq)]
pub struct QaOptions {
    /// English/Arabic length ratio (letters and digits, spaces excluded)
    /// below which a translation looks truncated.
    pub min_ratio: f64,
    /// Ratio above which it looks padded or hallucinated.
    pub max_ratio: f64,
    /// Sources shorter than this (in characters, spaces excluded) are not
    /// length-checked: headlines and bylines vary too much.
    pub min_ratio_len: usize,
}

impl Default for QaOptions {
    fn default() -> Self {
        // Arabic news sentences come out 1.0-1.6 times as long in English.
        QaOptions {
            min_ratio: 0.6,
            max_ratio: 2.6,
            min_ratio_len: 20,
        }
    }
}

/// Gives the checked glossary terms of a pair (see the module docs).
pub type TermChecker<'a> = &'a dyn Fn(&AlignedPair, &str) -> Vec<CheckedTerm>;

/// The glossary hits of a pair found afresh by `matcher` and checked
/// against `english` (not checked, `honoured: None`, when there is none).
pub fn glossary_terms(
    matcher: &Matcher,
    pair: &AlignedPair,
    english: Option<&str>,
) -> Vec<CheckedTerm> {
    let segment = Segment {
        id: pair.id.clone(),
        para: pair.para,
        index: 1,
        text: pair.source.clone(),
        start: pair.start,
        end: pair.start + pair.source.chars().count(),
    };
    let hits = matcher.find(&segment);
    match english.filter(|e| !e.trim().is_empty()) {
        Some(e) => check_terms(&hits, e),
        None => hits.iter().map(CheckedTerm::unchecked).collect(),
    }
}

/// Run every check over the document. Findings come in document order,
/// then by check.
pub fn check(doc: &Bitext, opts: &QaOptions, terms: Option<TermChecker<'_>>) -> Vec<Finding> {
    let mut out = Vec::new();
    for pair in &doc.pairs {
        let english = pair.target.as_deref().unwrap_or("");
        if let Some(f) = untranslated(pair) {
            out.push(f);
            continue;
        }
        let checked = match terms {
            Some(t) => t(pair, english),
            None => pair.terms.clone(),
        };
        out.extend(term_findings(pair, &checked));
        out.extend(numbers(pair));
        match identical(pair) {
            Some(f) => out.push(f),
            None => out.extend(arabic_left(pair)),
        }
        out.extend(length_ratio(pair, opts));
    }
    out.extend(inconsistent(&doc.pairs));
    let order: HashMap<&str, usize> = doc
        .pairs
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i))
        .collect();
    out.sort_by_key(|f| {
        (
            order.get(f.segment.as_str()).copied().unwrap_or(usize::MAX),
            f.check,
        )
    });
    out
}

fn finding(pair: &AlignedPair, check: Check, severity: Severity, message: String) -> Finding {
    Finding {
        segment: pair.id.clone(),
        check,
        severity,
        message,
    }
}

/// Missing pinned terms and forbidden renderings.
pub fn term_findings(pair: &AlignedPair, terms: &[CheckedTerm]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for t in terms {
        if t.honoured == Some(false)
            && seen.insert((Check::TermMissing, t.source.clone(), t.target.clone()))
        {
            out.push(finding(
                pair,
                Check::TermMissing,
                Severity::Error,
                format!(
                    "pinned term {} → \"{}\" is missing from the translation",
                    t.source,
                    crate::glossary::check::shown(&t.target)
                ),
            ));
        }
        // honoured, but not (every time) in the preferred form
        let forms = crate::glossary::check::forms(&t.target);
        if t.honoured == Some(true)
            && forms.len() > 1
            && let Some(en) = &pair.target
        {
            let words = crate::glossary::check::tokens(en);
            let needed = terms
                .iter()
                .filter(|o| o.target == t.target && o.honoured.is_some())
                .count();
            if crate::glossary::check::occurrences(forms[0], &words) < needed
                && seen.insert((Check::TermStyle, t.source.clone(), t.target.clone()))
            {
                out.push(finding(
                    pair,
                    Check::TermStyle,
                    Severity::Warning,
                    format!(
                        "style: pinned term {} is rendered with an accepted form; the preferred one is \"{}\"",
                        t.source, forms[0]
                    ),
                ));
            }
        }
        for f in &t.forbidden_found {
            if seen.insert((Check::TermForbidden, t.source.clone(), f.clone())) {
                out.push(finding(
                    pair,
                    Check::TermForbidden,
                    Severity::Error,
                    format!(
                        "forbidden rendering \"{f}\" used for {}; the glossary says \"{}\"",
                        t.source,
                        crate::glossary::check::shown(&t.target)
                    ),
                ));
            }
        }
    }
    out
}

/// Untranslated or empty.
pub fn untranslated(pair: &AlignedPair) -> Option<Finding> {
    match pair.target.as_deref() {
        None => Some(finding(
            pair,
            Check::Untranslated,
            Severity::Error,
            match pair.warnings.first() {
                Some(w) => format!("not translated ({w})"),
                None => "not translated".into(),
            },
        )),
        Some(t) if t.trim().is_empty() => Some(finding(
            pair,
            Check::Untranslated,
            Severity::Error,
            "the translation is empty".into(),
        )),
        Some(_) => None,
    }
}

use crate::normalize::is_arabic_letter;

/// The translation is the source copied through (only when the source has
/// Arabic letters: a segment of figures or a URL may stay as it is).
pub fn identical(pair: &AlignedPair) -> Option<Finding> {
    let t = pair.target.as_deref()?;
    let fold = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    (fold(t) == fold(&pair.source) && pair.source.chars().any(is_arabic_letter)).then(|| {
        finding(
            pair,
            Check::Identical,
            Severity::Error,
            "the translation is identical to the source".into(),
        )
    })
}

/// Runs of Arabic script in the English.
pub fn arabic_left(pair: &AlignedPair) -> Option<Finding> {
    let t = pair.target.as_deref()?;
    let mut runs: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut pending_space = false;
    for c in t.chars() {
        if is_arabic_letter(c) || (!cur.is_empty() && crate::normalize::is_attached_mark(c)) {
            if pending_space {
                cur.push(' ');
            }
            pending_space = false;
            cur.push(c);
        } else if c == ' ' && !cur.is_empty() {
            pending_space = true;
        } else {
            pending_space = false;
            if !cur.is_empty() {
                runs.push(std::mem::take(&mut cur));
            }
        }
    }
    if !cur.is_empty() {
        runs.push(cur);
    }
    (!runs.is_empty()).then(|| {
        finding(
            pair,
            Check::ArabicLeft,
            Severity::Error,
            format!("Arabic left in the English: {}", runs.join(", ")),
        )
    })
}

/// English/Arabic length ratio out of the expected range.
pub fn length_ratio(pair: &AlignedPair, opts: &QaOptions) -> Option<Finding> {
    let t = pair.target.as_deref()?;
    let count = |s: &str| s.chars().filter(|c| !c.is_whitespace()).count();
    let (src, tgt) = (count(&pair.source), count(t));
    if src < opts.min_ratio_len || tgt == 0 {
        return None;
    }
    let ratio = tgt as f64 / src as f64;
    let what = if ratio < opts.min_ratio {
        "shorter"
    } else if ratio > opts.max_ratio {
        "longer"
    } else {
        return None;
    };
    Some(finding(
        pair,
        Check::LengthRatio,
        Severity::Warning,
        format!(
            "the translation is much {what} than the source ({tgt} vs {src} characters, ratio {ratio:.2}; expected {:.1}-{:.1})",
            opts.min_ratio, opts.max_ratio
        ),
    ))
}

/// The same source translated differently in the document.
pub fn inconsistent(pairs: &[AlignedPair]) -> Vec<Finding> {
    let fold = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut groups: HashMap<String, Vec<&AlignedPair>> = HashMap::new();
    let mut order = Vec::new();
    for p in pairs {
        if p.target.as_deref().is_none_or(|t| t.trim().is_empty()) {
            continue;
        }
        // The glossary's normalisation: spelling variants, diacritics and
        // tatweel do not make a different sentence.
        let key = crate::normalize::key(&p.source);
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(p);
    }
    let mut out = Vec::new();
    for key in order {
        let group = &groups[&key];
        let mut variants: Vec<String> = Vec::new();
        for p in group {
            let t = fold(p.target.as_deref().unwrap_or(""));
            if !variants
                .iter()
                .any(|v| v.to_lowercase() == t.to_lowercase())
            {
                variants.push(t);
            }
        }
        if variants.len() < 2 {
            continue;
        }
        let ids: Vec<&str> = group.iter().map(|p| p.id.as_str()).collect();
        for p in group.iter().skip(1) {
            out.push(finding(
                p,
                Check::Inconsistent,
                Severity::Warning,
                format!(
                    "the same source is translated {} ways in this document ({}): {}",
                    variants.len(),
                    ids.join(", "),
                    variants
                        .iter()
                        .map(|v| format!("\"{v}\""))
                        .collect::<Vec<_>>()
                        .join(" / ")
                ),
            ));
        }
    }
    out
}

/// Numbers in the source missing from the translation (error) and numbers
/// in the translation that are not in the source (warning: an engine may
/// legitimately write a number the source spelled out).
pub fn numbers(pair: &AlignedPair) -> Vec<Finding> {
    let Some(t) = pair.target.as_deref() else {
        return Vec::new();
    };
    let src = extract_numbers(&pair.source);
    let mut tgt = extract_numbers(t);
    let mut missing = Vec::new();
    for n in &src {
        match tgt
            .iter()
            .position(|m| m.values.iter().any(|v| n.values.contains(v)))
        {
            Some(i) => {
                tgt.remove(i);
            }
            None => missing.push(n.text.clone()),
        }
    }
    let mut out = Vec::new();
    if !missing.is_empty() {
        out.push(finding(
            pair,
            Check::Number,
            Severity::Error,
            format!(
                "number(s) in the source missing from the translation: {}",
                missing.join(", ")
            ),
        ));
    }
    if !tgt.is_empty() {
        let extra: Vec<String> = tgt.into_iter().map(|n| n.text).collect();
        out.push(finding(
            pair,
            Check::Number,
            Severity::Warning,
            format!(
                "number(s) in the translation not in the source: {}",
                extra.join(", ")
            ),
        ));
    }
    out
}

/// A number as written and the values it can stand for (`1.000` is a
/// thousand in some conventions and one in others).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Number {
    pub text: String,
    pub values: Vec<String>,
}

fn ascii_digit(c: char) -> Option<char> {
    match c {
        '0'..='9' => Some(c),
        '\u{0660}'..='\u{0669}' => char::from_digit(c as u32 - 0x0660, 10),
        '\u{06F0}'..='\u{06F9}' => char::from_digit(c as u32 - 0x06F0, 10),
        _ => None,
    }
}

/// The numbers written with digits in `text`: ASCII, Arabic-Indic and
/// Extended Arabic-Indic digits; `,` `٬` `.` as thousands separators when
/// they group by three; `٫` (and `.` or `,` otherwise) as decimal point.
pub fn extract_numbers(text: &str) -> Vec<Number> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if ascii_digit(chars[i]).is_none() {
            i += 1;
            continue;
        }
        let start = i;
        let mut j = i;
        // digits, and separators followed by a digit
        while j < chars.len() {
            let digit = ascii_digit(chars[j]).is_some();
            let separator = matches!(chars[j], ',' | '.' | '٬' | '٫')
                && chars.get(j + 1).and_then(|&c| ascii_digit(c)).is_some();
            if digit || separator {
                j += 1;
            } else {
                break;
            }
        }
        let raw: String = chars[start..j].iter().collect();
        out.push(Number {
            values: interpretations(&raw),
            text: raw,
        });
        i = j;
    }
    out
}

fn canonical(int: &str, frac: &str) -> String {
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        int.to_string()
    } else {
        format!("{int}.{frac}")
    }
}

fn interpretations(raw: &str) -> Vec<String> {
    let s: String = raw
        .chars()
        .map(|c| ascii_digit(c).unwrap_or(c))
        .filter(|&c| c != '٬')
        .collect();
    // ٫ is always the decimal point.
    if let Some((a, b)) = s.split_once('٫') {
        let int: String = a.chars().filter(char::is_ascii_digit).collect();
        let frac: String = b.chars().filter(char::is_ascii_digit).collect();
        return vec![canonical(&int, &frac)];
    }
    let groups_of_three = |sep: char| {
        let parts: Vec<&str> = s.split(sep).collect();
        parts.len() > 1
            && (1..=3).contains(&parts[0].len())
            && parts[1..].iter().all(|p| p.len() == 3)
    };
    let has_comma = s.contains(',');
    let has_dot = s.contains('.');
    let mut values = Vec::new();
    match (has_comma, has_dot) {
        (false, false) => values.push(canonical(&s, "")),
        (true, true) => {
            // The later separator is the decimal point.
            let last = s.rfind([',', '.']).unwrap_or(0);
            let int: String = s[..last].chars().filter(char::is_ascii_digit).collect();
            values.push(canonical(&int, &s[last + 1..]));
        }
        (comma, _) => {
            // A comma grouping by three is a thousands separator (English and
            // Arabic usage); a dot grouping by three may be either.
            let sep = if comma { ',' } else { '.' };
            let grouped = groups_of_three(sep);
            if grouped {
                values.push(canonical(&s.replace(sep, ""), ""));
            }
            if s.matches(sep).count() == 1 && !(comma && grouped) {
                let (a, b) = s.split_once(sep).unwrap_or((&s, ""));
                values.push(canonical(a, b));
            }
        }
    }
    values.dedup();
    values
}

/// The count of findings of each severity.
pub fn counts(findings: &[Finding]) -> (usize, usize) {
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    (errors, findings.len() - errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Origin;

    fn pair(id: &str, source: &str, target: Option<&str>) -> AlignedPair {
        AlignedPair {
            id: id.into(),
            para: 1,
            source: source.into(),
            target: target.map(Into::into),
            origin: Origin::Mt,
            terms: vec![],
            warnings: vec![],
            suggestions: vec![],
            start: 0,
            end: 0,
            formats: Vec::new(),
            marked: None,
            history: Vec::new(),
        }
    }

    fn term(honoured: Option<bool>, forbidden: &[&str]) -> CheckedTerm {
        CheckedTerm {
            source: "طالبان".into(),
            target: "Taliban".into(),
            start: 0,
            end: 6,
            surface: "طالبان".into(),
            honoured,
            forbidden_found: forbidden.iter().map(|s| s.to_string()).collect(),
            ambiguous: false,
        }
    }

    fn values(s: &str) -> Vec<Vec<String>> {
        extract_numbers(s).into_iter().map(|n| n.values).collect()
    }

    #[test]
    fn a_non_preferred_accepted_form_is_a_style_note() {
        let mut t = term(Some(true), &[]);
        t.target = "UN|United Nations".into();
        let p = pair("a", "الأمم المتحدة", Some("The United Nations said"));
        let f = term_findings(&p, std::slice::from_ref(&t));
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].check, f[0].severity),
            (Check::TermStyle, Severity::Warning)
        );
        assert!(
            f[0].message.contains("preferred one is \"UN\""),
            "{}",
            f[0].message
        );
        let p = pair("a", "الأمم المتحدة", Some("The UN said"));
        assert!(term_findings(&p, &[t]).is_empty());
    }

    #[test]
    fn term_missing_positive_and_negative() {
        let p = pair("a", "طالبان", Some("The Taleban"));
        let f = term_findings(&p, &[term(Some(false), &[])]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].check, Check::TermMissing);
        assert_eq!(f[0].severity, Severity::Error);
        assert!(term_findings(&p, &[term(Some(true), &[])]).is_empty());
        assert!(
            term_findings(&p, &[term(None, &[])]).is_empty(),
            "unchecked is not missing"
        );
    }

    #[test]
    fn term_forbidden_positive_and_negative() {
        let p = pair("a", "طالبان", Some("The Taleban"));
        let f = term_findings(&p, &[term(Some(true), &["Taleban"])]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].check, Check::TermForbidden);
        assert!(f[0].message.contains("\"Taleban\""));
        assert!(term_findings(&p, &[term(Some(true), &[])]).is_empty());
    }

    #[test]
    fn numbers_are_read_in_every_script_and_convention() {
        assert_eq!(values("قتل ١٤٤ شخصا"), vec![vec!["144"]]);
        assert_eq!(values("۲۰ عاما"), vec![vec!["20"]]);
        assert_eq!(values("٣٫٥ مليون"), vec![vec!["3.5"]]);
        assert_eq!(values("١٢٬٥٠٠"), vec![vec!["12500"]]);
        assert_eq!(values("12,500 people"), vec![vec!["12500"]]);
        assert_eq!(values("1,234,567.50"), vec![vec!["1234567.5"]]);
        assert_eq!(values("1.234.567,5"), vec![vec!["1234567.5"]]);
        assert_eq!(values("3.5 million"), vec![vec!["3.5"]]);
        assert_eq!(values("1.000"), vec![vec!["1000", "1"]]);
        assert_eq!(
            values("at 06:52, 04/10/2024."),
            vec![vec!["6"], vec!["52"], vec!["4"], vec!["10"], vec!["2024"]]
        );
    }

    #[test]
    fn number_mismatch_positive() {
        let p = pair(
            "a",
            "مقتل ١٤٤ شخصا منذ 20 عاما",
            Some("killing 114 people in 20 years"),
        );
        let f = numbers(&p);
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(f[0].severity, Severity::Error);
        assert!(f[0].message.ends_with(": ١٤٤"), "{}", f[0].message);
        assert_eq!(f[1].severity, Severity::Warning);
        assert!(f[1].message.ends_with(": 114"), "{}", f[1].message);
    }

    #[test]
    fn number_mismatch_negative() {
        let p = pair(
            "a",
            "مقتل ١٤٤ شخصا و١٢٬٥٠٠ جريح بنسبة ٣٫٥",
            Some("144 killed and 12,500 wounded, 3.5 percent"),
        );
        assert!(numbers(&p).is_empty(), "{:?}", numbers(&p));
        let p = pair("a", "ثلاثة أشخاص", Some("three people"));
        assert!(numbers(&p).is_empty());
    }

    #[test]
    fn arabic_left_positive_and_negative() {
        let p = pair("a", "قال بيسكوف", Some("said بيسكوف today and موسكو"));
        let f = arabic_left(&p).unwrap();
        assert!(f.message.ends_with(": بيسكوف, موسكو"), "{}", f.message);
        assert!(arabic_left(&pair("a", "قال بيسكوف", Some("Peskov said"))).is_none());
    }

    #[test]
    fn untranslated_positive_and_negative() {
        let mut p = pair("a", "شارك", None);
        p.warnings = vec!["HTTP 503".into()];
        assert_eq!(
            untranslated(&p).unwrap().message,
            "not translated (HTTP 503)"
        );
        assert!(untranslated(&pair("a", "شارك", Some("  "))).is_some());
        assert!(untranslated(&pair("a", "شارك", Some("Share"))).is_none());
    }

    #[test]
    fn identical_positive_and_negative() {
        assert!(identical(&pair("a", "روسيا وطالبان", Some(" روسيا  وطالبان"))).is_some());
        assert!(
            identical(&pair("a", "2024", Some("2024"))).is_none(),
            "figures may stay"
        );
        assert!(identical(&pair("a", "روسيا", Some("Russia"))).is_none());
    }

    #[test]
    fn length_ratio_positive_and_negative() {
        let opts = QaOptions::default();
        let src = "وقال زامير كابولوف الممثل الروسي الخاص في أفغانستان";
        let f = length_ratio(&pair("a", src, Some("Kabulov said.")), &opts).unwrap();
        assert!(f.message.contains("much shorter"), "{}", f.message);
        let long = "word ".repeat(60);
        assert!(
            length_ratio(&pair("a", src, Some(&long)), &opts)
                .unwrap()
                .message
                .contains("much longer")
        );
        let ok = "Zamir Kabulov, Russia's special representative for Afghanistan, said";
        assert!(length_ratio(&pair("a", src, Some(ok)), &opts).is_none());
        assert!(
            length_ratio(
                &pair("a", "شارك", Some("Share this article with friends")),
                &opts
            )
            .is_none(),
            "short sources are skipped"
        );
    }

    #[test]
    fn inconsistent_positive_and_negative() {
        let pairs = vec![
            pair("a", "شارك", Some("Share")),
            pair("b", "شارك ", Some("Participate")),
            pair("c", "شارك", Some("share")),
            pair("d", "طباعة", Some("Print")),
            pair("e", "طباعة", Some("print")),
        ];
        let f = inconsistent(&pairs);
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(f[0].segment, "b");
        assert!(
            f[0].message
                .contains("2 ways in this document (a, b, c): \"Share\" / \"Participate\""),
            "{}",
            f[0].message
        );
        assert!(
            inconsistent(&pairs[3..]).is_empty(),
            "case differences are not inconsistencies"
        );
    }

    #[test]
    fn glossary_terms_are_found_and_checked_afresh() {
        use crate::glossary::{Entry, Glossary};
        let mut e = Entry::new("طالبان", "Taliban");
        e.forbidden = vec!["Taleban".into()];
        let g = Glossary::new(vec![e]);
        let m = g.matcher();
        let mut p = pair("p1s1", "روسيا وطالبان", Some("Russia and the Taleban"));
        p.start = 100;
        let t = glossary_terms(&m, &p, p.target.as_deref());
        assert_eq!(t.len(), 1);
        assert_eq!(
            (t[0].start, t[0].end, t[0].surface.as_str()),
            (107, 113, "طالبان")
        );
        assert_eq!(t[0].honoured, Some(false));
        assert_eq!(t[0].forbidden_found, vec!["Taleban".to_string()]);
        let t = glossary_terms(&m, &p, None);
        assert_eq!(t[0].honoured, None, "nothing to check without English");
    }

    #[test]
    fn check_runs_everything_in_document_order() {
        let doc = Bitext {
            meta: Default::default(),
            pairs: vec![
                pair("p1s1", "روسيا", Some("روسيا")),
                pair("p2s1", "مقتل ١٤٤ شخصا", Some("144 killed")),
                pair("p3s1", "شارك", None),
            ],
        };
        let f = check(&doc, &QaOptions::default(), None);
        let got: Vec<(&str, Check)> = f.iter().map(|f| (f.segment.as_str(), f.check)).collect();
        assert_eq!(
            got,
            vec![("p1s1", Check::Identical), ("p3s1", Check::Untranslated)]
        );
        assert_eq!(counts(&f), (2, 0));
        // A term checker plugs in.
        let checker = |_: &AlignedPair, _: &str| vec![term(Some(false), &[])];
        let f = check(&doc, &QaOptions::default(), Some(&checker));
        assert_eq!(
            f.iter().filter(|f| f.check == Check::TermMissing).count(),
            2
        );
    }
}
