/*!
Machine translation backends: one client per HTTP protocol behind one trait.

tarjama does not translate by itself; it drives the endpoint a user already
has (LibreTranslate, DeepL, Google v2, Azure, OpenAI-compatible servers,
Ollama, or any JSON API through a template). Each [`Protocol`] has its own
batch limits, auth and error bodies, on the one base of [`client`] (status
table and retry rule, key, HTTP client, answer count); a [`Backend`] turns one batch of
[`Request`]s into English strings and maps every failure to a
[`BackendError`] that says whether it is worth retrying. Batching,
concurrency, rate limits and retries live in the engine, not here.
*/

pub mod align;
pub mod azure;
pub mod client;
pub mod deepl;
pub mod engine;
pub mod google;
pub mod http;
pub mod kinds;
pub mod libretranslate;
pub mod llm;
pub mod markup;
pub mod ollama;
pub mod openai;
pub mod ratelimit;
pub mod secret;
pub mod template;
pub mod terms;

pub use crate::config::{BackendKind, TermMode};
pub use client::{Client, Protocol};
pub use kinds::build;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::Request;

/// A boxed future, so that backends can be used as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What one request to a backend may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Texts per request.
    pub max_items: usize,
    /// Characters (Unicode scalar values) summed over the texts of a request.
    pub max_chars: Option<usize>,
    /// Bytes of the request body (UTF-8 text, summed), for byte-limited APIs.
    pub max_bytes: Option<usize>,
}

/// What went wrong, in terms a user can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Connection refused, DNS failure, connection dropped.
    Unreachable,
    /// No answer within the timeout.
    Timeout,
    /// 404: wrong URL or path, or unknown model.
    NotFound,
    /// 401/403: bad or missing key.
    Auth,
    /// Quota or billing exhausted (DeepL 456, OpenAI insufficient_quota...).
    Quota,
    /// 429 and the like: slow down.
    RateLimited,
    /// The request was refused as malformed or too large.
    BadRequest,
    /// The language pair is not supported.
    UnsupportedLanguage,
    /// 5xx.
    Server,
    /// The answer was not what the protocol promises: an HTML page, truncated
    /// JSON, the wrong number of translations, missing ids, Arabic left in
    /// the English, a truncated LLM answer.
    BadResponse,
}

/// A failed call to a backend. Its message never contains a secret.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct BackendError {
    pub kind: ErrorKind,
    /// HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// One line naming the backend, the URL without secrets, the status and
    /// what to do.
    pub message: String,
    /// Whether sending the same request again may succeed.
    pub retryable: bool,
    /// How long the server asked us to wait (Retry-After, retry-after-ms).
    pub retry_after: Option<Duration>,
    /// Whether the request may have reached the server (false: refused
    /// before sending, or no connection was made), for honest counts.
    pub sent: bool,
}

impl BackendError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let retryable = matches!(
            kind,
            ErrorKind::Unreachable
                | ErrorKind::Timeout
                | ErrorKind::RateLimited
                | ErrorKind::Server
        );
        BackendError {
            kind,
            status: None,
            message: message.into(),
            retryable,
            retry_after: None,
            sent: true,
        }
    }

    /// Marks an error that happened before anything reached the server.
    pub fn not_sent(mut self) -> Self {
        self.sent = false;
        self
    }

    /// Whether a rerun of the same command cannot help: the key, the
    /// account, the URL or model, the language pair or the input itself
    /// must change first.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Auth
                | ErrorKind::Quota
                | ErrorKind::NotFound
                | ErrorKind::UnsupportedLanguage
        ) || (self.kind == ErrorKind::BadRequest && !self.retryable)
    }

    /// For an error [`is_fatal`](BackendError::is_fatal): which setting
    /// of the backend table `[backends.NAME]` to change.
    pub fn hint(&self, name: &str) -> String {
        match self.kind {
            ErrorKind::Auth => format!(
                "check the API key: the environment variable named by `api_key_env` in [backends.{name}] must hold a valid key"
            ),
            ErrorKind::Quota => format!(
                "the account behind [backends.{name}] has no quota left; top it up, or choose another backend with --backend"
            ),
            ErrorKind::NotFound => format!(
                "check `url` and `model` in [backends.{name}] (`tarjama backends test {name}` tries them)"
            ),
            ErrorKind::UnsupportedLanguage => format!(
                "set `source_lang` / `target_lang` in [backends.{name}] to codes the service supports"
            ),
            _ => format!(
                "the server refused the input: lower `batch_size` in [backends.{name}], or split the segment named above in the source"
            ),
        }
    }
}

impl BackendError {
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    pub fn retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    pub fn with_retry_after(mut self, after: Option<Duration>) -> Self {
        self.retry_after = after;
        self
    }
}

/// One batch's answer read segment by segment.
#[derive(Debug, Clone)]
pub struct EachAnswer {
    /// One per request, in order.
    pub each: Vec<Result<String, BackendError>>,
    /// Entries of the answer for ids that were not asked for (ignored).
    pub stray_ids: usize,
}

/// One MT endpoint.
pub trait Backend: Send + Sync {
    /// The backend's name in the configuration.
    fn name(&self) -> &str;
    fn kind(&self) -> BackendKind;
    /// The request limits of this protocol, already capped by the configured
    /// batch size.
    fn limits(&self) -> BatchLimits;
    /// The endpoint URL for messages, without secrets.
    fn endpoint(&self) -> String;
    /// Translate one batch; the answer has exactly one English string per
    /// request, in order, or an error.
    fn translate<'a>(
        &'a self,
        batch: &'a [Request],
    ) -> BoxFuture<'a, Result<Vec<String>, BackendError>>;
    /// Translate one batch and read the answer segment by segment: each
    /// request's English or its own error (the LLM protocols, whose answers
    /// can be good for some segments and bad for others); an `Err` when the
    /// answer as a whole is unusable. By default, [`Backend::translate`].
    fn translate_each<'a>(
        &'a self,
        batch: &'a [Request],
    ) -> BoxFuture<'a, Result<EachAnswer, BackendError>> {
        Box::pin(async move {
            self.translate(batch).await.map(|v| EachAnswer {
                each: v.into_iter().map(Ok).collect(),
                stray_ids: 0,
            })
        })
    }
    /// The body `translate` would send for `batch`, byte for byte, for dry
    /// runs (`--dry-run --show`); `None` when the protocol does not build
    /// it in advance. Keys travel in headers or the URL, never here.
    fn request_body(&self, _batch: &[Request]) -> Option<String> {
        None
    }
}
