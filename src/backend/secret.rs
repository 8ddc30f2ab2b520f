/*!
API keys in memory: a wrapper that never prints its value, and the scrubbing
every backend applies to text it did not write (server error bodies, which
some proxies fill with the request's own headers) before it goes into a
message. The key reaches the wire and nowhere else.
*/

use std::fmt;

/// An API key. `Debug` and `Display` show `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The key itself, for the request and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the key replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        if self.0.is_empty() || !text.contains(&self.0) {
            return text.to_string();
        }
        text.replace(&self.0, "***")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// `text` scrubbed of `key`, if there is one.
pub fn scrub(text: &str, key: Option<&Secret>) -> String {
    match key {
        Some(k) => k.scrub(text),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_shows_the_key() {
        let k = Secret::new("sk-live-XYZ123");
        assert_eq!(format!("{k:?} {k}"), "Secret(***) ***");
        assert_eq!(
            k.scrub("bad key sk-live-XYZ123 (Bearer sk-live-XYZ123)"),
            "bad key *** (Bearer ***)"
        );
        assert_eq!(scrub("nothing", None), "nothing");
    }
}
