/*!
The network client tarjama's parts share, below all of them: the backends
and the page fetcher build their HTTP client here and say what went wrong
without ever showing a secret that a URL carries.
*/

use std::time::Duration;

/// The HTTP client of a backend or a page fetch: tarjama's user
/// agent and a connect timeout of at most 10 s.
pub fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .user_agent(concat!("tarjama/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {e}"))
}

/// `url` with any user info and the values of secret-looking query
/// parameters (`key`, `api_key`, `token`, ...) replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Ok(mut u) = reqwest::Url::parse(url) else {
        return url.to_string();
    };
    if !u.username().is_empty() {
        let _ = u.set_username("***");
    }
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    if u.query().is_some() {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let lk = k.to_ascii_lowercase();
                let secret = ["key", "token", "secret", "password", "auth", "sig"]
                    .iter()
                    .any(|s| lk.contains(s));
                (
                    k.into_owned(),
                    if secret { "***".into() } else { v.into_owned() },
                )
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

/// A reqwest error's text, its URL (which may carry a key) redacted.
pub fn error_text(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(u.as_str(), &redact_url(u.as_str()));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_secrets() {
        let r = redact_url(
            "https://u:p@translation.googleapis.com/language/translate/v2?key=SECRET123&x=1",
        );
        assert!(!r.contains("SECRET123"), "{r}");
        assert!(!r.contains("u:p"), "{r}");
        assert!(r.contains("x=1"), "{r}");
    }
}
