/*!
Arabic normalisation for matching (never for output).

News sites write the same name many ways: with or without hamza on the
alef, with ى or ي at the end, with tatweel stretching a letter, with stray
harakat, Persian keyboard letters, Arabic-Indic digits, invisible bidi marks
and non-breaking spaces. The glossary, the translation memory and `suggest`
compare text after folding all of that away, and every comparison has to
point back at the exact characters of the original, so [`normalize`] keeps a
map from each normalised character to its original character offset.

Rules (issue 3, item 2):
- alef forms أ إ آ ٱ → ا; ى and Persian ی → ي; ة → ه; Persian/Urdu ک → ك,
  ھ ہ ۀ → ه;
- tatweel, harakat (U+064B–U+065F, U+0670) and Quranic marks are dropped;
- Arabic-Indic (U+0660–U+0669) and Extended (U+06F0–U+06F9) digits → ASCII;
- zero-width, bidi control and other invisible format characters are dropped;
- every run of white space (NBSP and line breaks included) becomes one space.

Arabic presentation forms (ﻻ, ﺑ ...) are folded to their letters first
(NFKC on those characters only).
*/

/// Normalised text with a map back to the original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// The normalised text.
    pub text: String,
    /// For each character of `text`, the character offset in the original
    /// it came from; one final entry holds the original's length in
    /// characters.
    pub map: Vec<usize>,
}

impl Normalized {
    /// The original character span `[start, end)` covered by normalised
    /// characters `[a, b)` (`a < b`). The span runs from the first original
    /// character to the last, plus any marks (harakat, tatweel) that were
    /// dropped right after it, which `original` is needed to see.
    pub fn original_span(&self, original: &[char], a: usize, b: usize) -> (usize, usize) {
        let start = self.map[a];
        let mut end = self.map[b - 1] + 1;
        while end < original.len() && is_attached_mark(original[end]) {
            end += 1;
        }
        (start, end)
    }
}

/// What one original character becomes.
enum Fold {
    Drop,
    Space,
    One(char),
}

/// Whether `c` is a harakah: a mark written over or under an Arabic letter,
/// exactly U+064B–U+065F (tanween, the short vowels, shadda, sukun, maddah,
/// hamza above and below, the small and inverted vowels, the marks of
/// Persian and Kashmiri vowels) and U+0670 (superscript alef). Not tatweel
/// (U+0640, a letter-stretching character, not a mark) and not the Quranic
/// annotation marks; [`is_attached_mark`] is the wider set every stage drops.
#[inline]
pub fn is_harakah(c: char) -> bool {
    matches!(c, '\u{064B}'..='\u{065F}' | '\u{0670}')
}

/// The marks that belong to the letter before them, which every stage
/// drops or keeps with that letter when it compares Arabic text loosely
/// (normalisation, the glossary's inline terms, the LLM answer check, the
/// segmenter's quotes, QA's Arabic-left check): the harakat
/// ([`is_harakah`]), tatweel (U+0640) and the Quranic marks (U+0610–U+061A,
/// U+06D6–U+06DC, U+06DF–U+06E4, U+06E7–U+06E8, U+06EA–U+06ED,
/// U+08D3–U+08E1, U+08E3–U+08FF).
pub fn is_attached_mark(c: char) -> bool {
    is_harakah(c)
        || matches!(c,
        '\u{0640}'                       // tatweel
        | '\u{0610}'..='\u{061A}'        // Quranic honorifics and small marks
        | '\u{06D6}'..='\u{06DC}'
        | '\u{06DF}'..='\u{06E4}'
        | '\u{06E7}'..='\u{06E8}'
        | '\u{06EA}'..='\u{06ED}'
        | '\u{08D3}'..='\u{08E1}'
        | '\u{08E3}'..='\u{08FF}')
}

/// Whether `c` is in one of the Arabic script's blocks (Arabic, Arabic
/// Supplement, Extended-A/B, the presentation forms): letters, marks,
/// digits and punctuation alike.
pub fn in_arabic_blocks(c: char) -> bool {
    matches!(c,
        '\u{0600}'..='\u{06FF}'
        | '\u{0750}'..='\u{077F}'
        | '\u{0870}'..='\u{08FF}'
        | '\u{FB50}'..='\u{FDFF}'
        | '\u{FE70}'..='\u{FEFF}')
}

/// Whether `c` is an Arabic-script letter: the one predicate every stage
/// uses (QA's copied-source check, the LLM answer check, the segmenter,
/// glossary import, the HTML writer's direction). Harakat, tatweel and the
/// other marks dropped by [`normalize`] are not letters (see
/// [`is_attached_mark`]); nor are digits and punctuation.
#[inline]
pub fn is_arabic_letter(c: char) -> bool {
    if matches!(c, '\u{0621}'..='\u{063A}' | '\u{0641}'..='\u{064A}') {
        return true;
    }
    in_arabic_blocks(c) && c.is_alphabetic() && !is_attached_mark(c)
}

/// Invisible characters dropped outright.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}'                       // soft hyphen
        | '\u{061C}'                     // Arabic letter mark
        | '\u{180E}'
        | '\u{200B}'..='\u{200F}'        // zero-width space/joiners, LRM, RLM
        | '\u{202A}'..='\u{202E}'        // bidi embeddings and overrides
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'        // bidi isolates
        | '\u{FE00}'..='\u{FE0F}'        // variation selectors
        | '\u{FEFF}')
}

#[inline]
fn fold(c: char) -> Fold {
    if c.is_ascii() {
        return if c == ' ' || ('\t'..='\r').contains(&c) {
            Fold::Space
        } else {
            Fold::One(c)
        };
    }
    match c {
        'أ' | 'إ' | 'آ' | 'ٱ' => Fold::One('ا'),
        'ى' | 'ی' | 'ې' | 'ۍ' => Fold::One('ي'),
        'ة' | 'ھ' | 'ہ' | 'ۀ' | 'ە' => Fold::One('ه'),
        'ک' | 'ڪ' => Fold::One('ك'),
        // the common case: Arabic letters that stay as they are
        '\u{0621}'..='\u{063A}' | '\u{0641}'..='\u{064A}' => Fold::One(c),
        '٠'..='٩' => Fold::One(char::from(b'0' + (c as u32 - 0x0660) as u8)),
        '۰'..='۹' => Fold::One(char::from(b'0' + (c as u32 - 0x06F0) as u8)),
        _ if is_attached_mark(c) || is_invisible(c) => Fold::Drop,
        _ if c.is_whitespace() => Fold::Space,
        _ => Fold::One(c),
    }
}

/// Arabic presentation forms (ligatures and contextual letter shapes).
fn is_presentation_form(c: char) -> bool {
    matches!(c, '\u{FB50}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFE}')
}

/// Normalise `text` for matching, keeping a map back to the original.
pub fn normalize(text: &str) -> Normalized {
    let mut out = String::with_capacity(text.len());
    let mut map = Vec::with_capacity(text.len() / 2 + 1);
    let mut in_space = false;
    let mut count = 0usize;
    for (i, c) in text.chars().enumerate() {
        count = i + 1;
        if is_presentation_form(c) {
            use icu_normalizer::ComposingNormalizerBorrowed;
            let mut buf = [0u8; 4];
            let nfkc = ComposingNormalizerBorrowed::new_nfkc().normalize(c.encode_utf8(&mut buf));
            for d in nfkc.chars() {
                push(fold(d), i, &mut out, &mut map, &mut in_space);
            }
        } else {
            push(fold(c), i, &mut out, &mut map, &mut in_space);
        }
    }
    map.push(count);
    Normalized { text: out, map }
}

#[inline]
fn push(f: Fold, i: usize, out: &mut String, map: &mut Vec<usize>, in_space: &mut bool) {
    match f {
        Fold::Drop => {}
        Fold::Space => {
            if !*in_space {
                out.push(' ');
                map.push(i);
                *in_space = true;
            }
        }
        Fold::One(c) => {
            out.push(c);
            map.push(i);
            *in_space = false;
        }
    }
}

/// The normalised text alone, trimmed: the key the glossary and the
/// translation memory compare and hash.
pub fn key(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if is_presentation_form(c) {
            let n = normalize(&c.to_string());
            for d in n.text.chars() {
                key_push(d, &mut out, &mut pending_space);
            }
            continue;
        }
        match fold(c) {
            Fold::Drop => {}
            Fold::Space => pending_space = true,
            Fold::One(d) => key_push(d, &mut out, &mut pending_space),
        }
    }
    out
}

#[inline]
fn key_push(d: char, out: &mut String, pending_space: &mut bool) {
    if d == ' ' {
        *pending_space = true;
        return;
    }
    if *pending_space && !out.is_empty() {
        out.push(' ');
    }
    *pending_space = false;
    out.push(d);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harakat_are_exactly_their_range_and_attached_marks_add_tatweel_and_quranic_marks() {
        // The whole documented set, by code point: every mark of it, and
        // nothing on either side.
        let harakat: Vec<char> = ('\u{064B}'..='\u{065F}').chain(['\u{0670}']).collect();
        assert_eq!(harakat.len(), 22);
        for &c in &harakat {
            assert!(is_harakah(c) && is_attached_mark(c), "{:04X}", c as u32);
            assert!(!is_arabic_letter(c), "{:04X}", c as u32);
        }
        for c in [
            '\u{064A}', '\u{0660}', '\u{066F}', '\u{0671}', 'ـ', 'ا', 'a', '\u{0301}',
        ] {
            assert!(!is_harakah(c), "{:04X}", c as u32);
        }
        // Fatha, tanween, shadda, sukun, hamza below, superscript alef, as
        // written in real vowelled text.
        for c in "َ ً ّ ْ ٕ ٰ".split(' ').flat_map(str::chars) {
            assert!(is_harakah(c), "{:04X}", c as u32);
        }
        // Tatweel and the Quranic marks are attached marks, not harakat.
        for c in [
            '\u{0640}', '\u{0610}', '\u{061A}', '\u{06D6}', '\u{06ED}', '\u{08F0}',
        ] {
            assert!(is_attached_mark(c) && !is_harakah(c), "{:04X}", c as u32);
        }
        for c in ['\u{06DD}', '\u{06DE}', '\u{0621}', '\u{0301}', '،'] {
            assert!(!is_attached_mark(c), "{:04X}", c as u32);
        }
        // What normalisation drops is exactly the attached marks (no other
        // Arabic character of the block is dropped).
        for c in ('\u{0600}'..='\u{06FF}').chain('\u{08D3}'..='\u{08FF}') {
            let dropped = normalize(&format!("ب{c}ب")).text == "بب";
            if is_attached_mark(c) {
                assert!(dropped, "{:04X} is kept", c as u32);
            }
        }
    }

    #[test]
    fn arabic_letters_are_letters_only() {
        for c in [
            'ا', 'ب', 'ي', 'ى', 'ة', 'ء', 'پ', 'ڤ', 'ک', 'ی', 'ﻻ', 'ﺑ', 'ݐ', 'ࢠ',
        ] {
            assert!(is_arabic_letter(c), "{c}");
        }
        for c in [
            'َ', 'ً', 'ّ', 'ٰ', 'ـ', '،', '؟', '٣', '۴', 'a', 'א', ' ', '\u{200F}',
        ] {
            assert!(!is_arabic_letter(c), "{c:?}");
        }
        assert!(in_arabic_blocks('،') && in_arabic_blocks('٣') && !in_arabic_blocks('a'));
    }

    #[test]
    fn folds_alef_yeh_teh_marbuta() {
        assert_eq!(key("أإآٱ"), "اااا");
        assert_eq!(key("ديمترى"), "ديمتري");
        assert_eq!(key("مدينة"), "مدينه");
        assert_eq!(key("ی ک ھ"), "ي ك ه");
    }

    #[test]
    fn drops_tatweel_harakat_quranic_marks() {
        assert_eq!(key("بـ"), "ب");
        assert_eq!(key("مُحَمَّدٌ"), "محمد");
        assert_eq!(key("رحمٰن"), "رحمن");
        assert_eq!(key("صلى\u{0610}"), "صلي");
        assert_eq!(key("طــالبان"), "طالبان");
    }

    #[test]
    fn digits_to_ascii() {
        assert_eq!(key("٢٠٢٤ ۱۹"), "2024 19");
    }

    #[test]
    fn invisible_and_spaces() {
        assert_eq!(key("\u{200F}روسيا\u{200B}"), "روسيا");
        assert_eq!(key("صيغة\u{00A0}\u{00A0} \n موسكو"), "صيغه موسكو");
        assert_eq!(key("  a  "), "a");
        assert_eq!(normalize("a \u{00A0}\tb").text, "a b");
    }

    #[test]
    fn presentation_forms() {
        assert_eq!(key("ﻻ"), "لا");
        assert_eq!(key("ﺑﻮﺗﻴﻦ"), "بوتين");
    }

    #[test]
    fn map_points_back_to_original() {
        let orig = "وَطــالبان  هنا";
        let n = normalize(orig);
        assert_eq!(n.text, "وطالبان هنا");
        assert_eq!(n.map.len(), n.text.chars().count() + 1);
        assert_eq!(*n.map.last().unwrap(), orig.chars().count());
        let chars: Vec<char> = orig.chars().collect();
        // "طالبان" is normalised chars 1..7
        let (s, e) = n.original_span(&chars, 1, 7);
        let surface: String = chars[s..e].iter().collect();
        assert_eq!(surface, "طــالبان");
        // a trailing haraka belongs to the word
        let orig2 = "بوتينَ قال";
        let n2 = normalize(orig2);
        let c2: Vec<char> = orig2.chars().collect();
        let (s, e) = n2.original_span(&c2, 0, 5);
        assert_eq!(c2[s..e].iter().collect::<String>(), "بوتينَ");
    }

    #[test]
    fn ligature_maps_both_letters_to_one_char() {
        let n = normalize("ﻻ");
        assert_eq!(n.text, "لا");
        assert_eq!(n.map, vec![0, 0, 1]);
    }

    proptest::proptest! {
        #[test]
        fn idempotent_and_map_monotonic(s in "[\\u0600-\\u06FF \\u00A0\\u200F a-z0-9]{0,40}") {
            let k = key(&s);
            proptest::prop_assert_eq!(key(&k), k.clone());
            let n = normalize(&s);
            proptest::prop_assert_eq!(n.map.len(), n.text.chars().count() + 1);
            proptest::prop_assert!(n.map.windows(2).all(|w| w[0] <= w[1]));
            proptest::prop_assert_eq!(n.text.trim(), k.as_str());
        }
    }
}
