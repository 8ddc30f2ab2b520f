/*!
Web pages at a URL: `translate https://...` fetches the page itself, with
the same HTTP client the backends use (user agent, connect timeout), an
overall timeout and the same size limit as a saved page, so that a slow or
endless server cannot hang a run or fill memory.

The body is kept as bytes with the charset the `Content-Type` header names,
for [`super::html::decode`] to decode (a header charset wins over the page's
own `<meta>`, as in browsers). Runs on its own thread and runtime, so it can
be called from anywhere, inside an async runtime or not.
*/

use std::time::Duration;

use super::{InputError, MAX_PAGE_BYTES};

/// The timeout of a fetch when nothing sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The timeout of a fetch: `TARJAMA_FETCH_TIMEOUT` seconds in `env`, else 30.
pub fn timeout(env: &crate::config::Env) -> Duration {
    env.get("TARJAMA_FETCH_TIMEOUT")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(DEFAULT_TIMEOUT)
}

/// The page at `url`: its bytes and the header's charset.
pub fn get(url: &str, timeout: Duration) -> Result<(Vec<u8>, Option<String>), InputError> {
    let url = url.to_string();
    std::thread::scope(|s| {
        s.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| fail(&url, format!("cannot start the HTTP runtime: {e}")))?;
            rt.block_on(get_async(&url, timeout))
        })
        .join()
        .unwrap_or_else(|_| Err(fail(&url, "the download thread failed".into())))
    })
}

fn fail(url: &str, message: String) -> InputError {
    InputError::Fetch {
        source_name: crate::net::redact_url(url),
        message,
    }
}

async fn get_async(url: &str, timeout: Duration) -> Result<(Vec<u8>, Option<String>), InputError> {
    let client = crate::net::client(timeout).map_err(|e| fail(url, e))?;
    let work = async {
        let mut resp = client
            .get(url)
            .header(reqwest::header::ACCEPT, "text/html,application/xhtml+xml")
            .send()
            .await
            .map_err(|e| fail(url, transport(&e)))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(fail(
                url,
                format!("the server answered HTTP {status}; check the address"),
            ));
        }
        let too_big = |size: u64| InputError::TooLarge {
            source_name: crate::net::redact_url(url),
            what: "web page",
            size,
            limit: MAX_PAGE_BYTES,
        };
        if let Some(len) = resp.content_length().filter(|&l| l > MAX_PAGE_BYTES) {
            return Err(too_big(len));
        }
        let charset = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(super::html::charset_of_content_type);
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| fail(url, transport(&e)))? {
            body.extend_from_slice(&chunk);
            if body.len() as u64 > MAX_PAGE_BYTES {
                return Err(too_big(body.len() as u64));
            }
        }
        Ok((body, charset))
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(fail(
            url,
            format!(
                "no complete answer within {}s (TARJAMA_FETCH_TIMEOUT); save the page and translate the file",
                timeout.as_secs_f64()
            ),
        )),
    }
}

fn transport(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "the server did not answer in time (TARJAMA_FETCH_TIMEOUT)".into()
    } else if e.is_connect() {
        "cannot connect; check the address (or save the page and translate the file)".into()
    } else {
        format!("download failed: {}", crate::net::error_text(e))
    }
}
