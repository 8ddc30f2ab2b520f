/*!
Inline markers (`crate::inline`) as the protocols that have markup take
them: one function each way, shared by DeepL (`tag_handling=xml`), Google
(`format=html`), Azure (`textType=html`) and LibreTranslate
(`format=html`).

Only a batch that holds a marker is sent as markup; every other batch is
sent as plain text, as before. In a markup batch every text is escaped
(`&`, `<`, `>`) and each marker becomes an element of its own name,
`⟦1⟧…⟦/1⟧` → `<m1>…</m1>`, so that a reply whose tags were moved apart or
mismatched is still seen as damaged once turned back (a shared `<span>`
name would hide it). The LLM protocols get the markers as they are, with
an instruction.
*/

use crate::inline::{self, Token};
use crate::model::Request;
use crate::xml;

/// Whether a batch goes as markup: some text carries inline markers.
pub fn tagged(batch: &[Request]) -> bool {
    batch.iter().any(|r| inline::has_markers(&r.text))
}

/// A text as markup: escaped, markers as `<mN>`/`</mN>`.
pub fn to_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for t in inline::tokens(text) {
        match t {
            Token::Text(s) | Token::Stray(s) => out.push_str(&xml::escape_text(s)),
            Token::Open(n) => out.push_str(&format!("<m{n}>")),
            Token::Close(n) => out.push_str(&format!("</m{n}>")),
        }
    }
    out
}

/// A markup answer back to text: `<mN>`/`</mN>` (spaces before `>`
/// allowed) to markers, entities decoded; any other tag is left as text.
pub fn from_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        match tag(rest) {
            Some((marker, len)) => {
                out.push_str(&marker);
                rest = &rest[len..];
            }
            None => {
                out.push('<');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    xml::unescape_entities(&out)
}

/// `<mN>` or `</mN>` at the start of `s`: the marker and the tag's length.
fn tag(s: &str) -> Option<(String, usize)> {
    let body = s.strip_prefix('<')?;
    let (close, body) = match body.strip_prefix('/') {
        Some(b) => (true, b),
        None => (false, body),
    };
    let body = body.strip_prefix('m')?;
    let digits = body.chars().take_while(char::is_ascii_digit).count();
    let n: usize = body[..digits].parse().ok()?;
    let after = &body[digits..];
    let spaces = after.len() - after.trim_start().len();
    if !after[spaces..].starts_with('>') {
        return None;
    }
    let len = 1 + usize::from(close) + 1 + digits + spaces + 1;
    let (o, c) = (inline::OPEN, inline::CLOSE);
    Some((
        if close {
            format!("{o}/{n}{c}")
        } else {
            format!("{o}{n}{c}")
        },
        len,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_go_as_tags_and_come_back() {
        let t = "قال ⟦1⟧الرئيس⟦/1⟧ إن 5 < 6 & ⟦2⟧«نعم»⟦/2⟧";
        let tags = to_tags(t);
        assert_eq!(tags, "قال <m1>الرئيس</m1> إن 5 &lt; 6 &amp; <m2>«نعم»</m2>");
        assert_eq!(from_tags(&tags), t);
        assert_eq!(
            from_tags("<m1 >The president</m1> said 5 &lt; 6 &amp; <m2>yes</m2> <br>"),
            "⟦1⟧The president⟦/1⟧ said 5 < 6 & ⟦2⟧yes⟦/2⟧ <br>"
        );
        // a mismatched reply stays visibly damaged once turned back
        let back = from_tags("<m1>The <m2>president</m1> said</m2>");
        assert!(inline::check(t, &back).unwrap_err().contains("crosses"));
        // an escaped tag in the answer is text, not a marker
        assert_eq!(from_tags("&lt;m1&gt;"), "<m1>");
    }
}
