/*!
The HTTP plumbing every backend shares: one request with a timeout, transport
failures mapped to [`BackendError`]s and `Retry-After` parsing (the client
and the redaction of secrets from URLs are [`crate::net`]'s), so that
protocol modules only deal with their own bodies and error codes.
*/

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

use super::{BackendError, ErrorKind};
use crate::net::error_text as clean;
pub use crate::net::{client, redact_url};

/// An answer from the server, whatever its status.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The wait the server asked for, from `retry-after-ms` or `Retry-After`
    /// (seconds or an HTTP date).
    pub fn retry_after(&self) -> Option<Duration> {
        retry_after(&self.headers, SystemTime::now())
    }

    /// Whether the body looks like an HTML page (a proxy's error page).
    pub fn is_html(&self) -> bool {
        let start = self.body.trim_start();
        let ct = self
            .headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        ct.contains("text/html")
            || start.starts_with("<!DOCTYPE")
            || start.starts_with("<!doctype")
            || start.starts_with("<html")
    }

    /// The first line of the body, shortened, for error messages.
    pub fn body_excerpt(&self) -> String {
        excerpt(&self.body, 200)
    }
}

/// At most `max` characters of the first non-empty line of `s`.
pub fn excerpt(s: &str, max: usize) -> String {
    let line = s
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut out: String = line.chars().take(max).collect();
    if line.chars().count() > max {
        out.push('…');
    }
    out
}

/// Parse `retry-after-ms`, then `Retry-After` (delta seconds or HTTP date).
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let v = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs));
        }
        return None;
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Send a prepared request and read the whole answer. Transport failures
/// become `Unreachable` or `Timeout` errors that name `backend` and the
/// redacted URL; HTTP error statuses are returned as a [`Reply`] for the
/// protocol to interpret.
pub async fn send(
    backend: &str,
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<Reply, BackendError> {
    let request = request.timeout(timeout);
    let (client, request) = request.build_split();
    let request = request.map_err(|e| {
        BackendError::new(
            ErrorKind::BadRequest,
            format!("{backend}: cannot build the request: {}", clean(&e)),
        )
    })?;
    let url = redact_url(request.url().as_str());
    let response = client
        .execute(request)
        .await
        .map_err(|e| transport_error(backend, &url, timeout, &e))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .text()
        .await
        .map_err(|e| transport_error(backend, &url, timeout, &e))?;
    Ok(Reply {
        status,
        headers,
        body,
    })
}

fn transport_error(
    backend: &str,
    url: &str,
    timeout: Duration,
    e: &reqwest::Error,
) -> BackendError {
    if e.is_timeout() {
        BackendError::new(
            ErrorKind::Timeout,
            format!(
                "{backend}: no answer from {url} within {}s; raise timeout_secs or check the server",
                timeout.as_secs_f64()
            ),
        )
    } else if e.is_connect() {
        BackendError::new(
            ErrorKind::Unreachable,
            format!(
                "{backend}: cannot connect to {url}; check that the server is running and the url in the config"
            ),
        )
        .not_sent()
    } else {
        BackendError::new(
            ErrorKind::Unreachable,
            format!(
                "{backend}: connection to {url} failed ({}); check the server",
                clean(e)
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_seconds_ms_and_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(3)));
        h.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_millis(1500)));
        let mut h = HeaderMap::new();
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        h.insert("retry-after", HeaderValue::from_str(&later).unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);
    }
}
