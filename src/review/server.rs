/*!
The local HTTP server behind the review page (axum on tokio).

It listens on 127.0.0.1 only and answers a request only when:

* its path starts with the random token printed in the URL (403 otherwise),
  so another local user or a web page that guesses the port cannot read or
  drive the review;
* its `Host` is `127.0.0.1:PORT` or `localhost:PORT` (a DNS-rebound name is
  refused), and its `Origin`, when the browser sends one, is this server;
* its body is at most [`BODY_LIMIT`] (413 otherwise).

Every answer forbids caching, framing, referrers and any script or style
but the page's own (`Content-Security-Policy`).

Routes, under `/TOKEN`: `/` (the document, or the list of a folder's),
`/doc/N` (a document's page), `/doc/N/seg/ID` (GET the segment, PUT a save:
`{"text", "rev", "accept", "commit"}` answered with the row checked again),
`/doc/N/revs` (every segment's revision, for tabs to see each other's
saves), `/doc/N/cursor`, `/doc/N/glossary` (POST `{"source", "target"}`),
`/doc/N/final.txt`, `/done` (POST: stop), `/review.css`, `/review.js`.
*/

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::page::{self, RowParts};
use super::{ReviewError, ReviewGlossary, SaveRequest, Session};
use crate::memory::{FUZZY_THRESHOLD, Memory};

/// The largest request body taken.
pub const BODY_LIMIT: usize = 1 << 20;

/// Memory suggestions shown under a row.
const SUGGESTIONS: usize = 3;

/// What the server edits.
pub struct Review {
    pub sessions: Vec<Session>,
    pub memory: Option<Memory>,
    pub glossary: Option<ReviewGlossary>,
    /// A folder was opened: `/` lists its drafts.
    pub folder: bool,
}

struct App {
    token: String,
    port: u16,
    review: Mutex<Review>,
    done: tokio::sync::Notify,
}

impl App {
    fn lock(&self) -> MutexGuard<'_, Review> {
        // A panic while holding the lock leaves the state as the last
        // completed save wrote it; keep serving.
        self.review.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A random token: 128 bits from the operating system, as hex.
pub fn new_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Serve `review` on `listener` until `stop` resolves or the page says it
/// is done.
pub async fn serve(
    listener: tokio::net::TcpListener,
    token: String,
    review: Review,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let port = listener.local_addr()?.port();
    let app = Arc::new(App {
        token: token.clone(),
        port,
        review: Mutex::new(review),
        done: tokio::sync::Notify::new(),
    });
    let inner = Router::new()
        .route("/", get(index))
        .route("/review.css", get(css))
        .route("/review.js", get(js))
        .route("/done", post(done))
        .route("/doc/{n}", get(document))
        .route("/doc/{n}/revs", get(revisions))
        .route("/doc/{n}/cursor", post(cursor))
        .route("/doc/{n}/glossary", post(add_term))
        .route("/doc/{n}/final.txt", get(final_text))
        .route("/doc/{n}/seg/{id}", get(segment).put(save));
    let router = Router::new()
        // The printed URL ends in a slash, which the nested `/` does not match.
        .route(&format!("/{token}/"), get(index))
        .nest(&format!("/{token}"), inner)
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app.clone());
    let done = app.clone();
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            tokio::select! {
                () = stop => {}
                () = done.done.notified() => {}
            }
        })
        .await
}

fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether `host` names this server (`127.0.0.1:PORT`, `localhost:PORT`).
fn is_our_host(host: &str, port: u16) -> bool {
    let Some((name, p)) = host.rsplit_once(':') else {
        return false;
    };
    p.parse::<u16>() == Ok(port) && (name == "127.0.0.1" || name.eq_ignore_ascii_case("localhost"))
}

fn refuse(why: &'static str) -> Response {
    (StatusCode::FORBIDDEN, why).into_response()
}

/// The token, Host and Origin checks, and the security headers.
async fn guard(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let token_ok = path
        .strip_prefix('/')
        .map(|rest| rest.split('/').next().unwrap_or(""))
        .is_some_and(|t| same_bytes(t.as_bytes(), app.token.as_bytes()));
    if !token_ok {
        return refuse(
            "forbidden: this address needs the review token (open the URL tarjama printed)\n",
        );
    }
    let headers = req.headers();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    if !host.is_some_and(|h| is_our_host(h, app.port)) {
        return refuse("forbidden: foreign Host\n");
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let ok = origin
            .to_str()
            .ok()
            .and_then(|o| o.strip_prefix("http://"))
            .is_some_and(|h| is_our_host(h, app.port));
        if !ok {
            return refuse("forbidden: foreign Origin\n");
        }
    }
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.as_bytes(), b"same-origin" | b"none")
    {
        return refuse("forbidden: cross-site request\n");
    }
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut HeaderMap, k: &'static str, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(
        h,
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
    );
    set(h, "x-content-type-options", "nosniff");
    set(h, "referrer-policy", "no-referrer");
    set(h, "x-frame-options", "DENY");
    set(h, "cache-control", "no-store");
    res
}

/// An error as the page shows it.
struct Failure(StatusCode, String);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.0, axum::Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<ReviewError> for Failure {
    fn from(e: ReviewError) -> Failure {
        let status = match &e {
            ReviewError::NoSegment(_) => StatusCode::NOT_FOUND,
            ReviewError::Glossary(_) | ReviewError::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Failure(status, e.to_string())
    }
}

fn no_doc() -> Failure {
    Failure(StatusCode::NOT_FOUND, "no such document".into())
}

async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        page::css(),
    )
        .into_response()
}

async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        page::JS,
    )
        .into_response()
}

async fn index(State(app): State<Arc<App>>) -> Response {
    let folder = app.lock().folder;
    if folder {
        let r = app.lock();
        Html(page::list_page(&r.sessions, &app.token)).into_response()
    } else {
        document_html(&app, 0).into_response()
    }
}

async fn document(State(app): State<Arc<App>>, Path(n): Path<usize>) -> Response {
    blocking(|| document_html(&app, n)).into_response()
}

/// Run `f`, which may wait on the memory or the glossary (a shared one is
/// a PostgreSQL client that blocks on a runtime of its own), on this
/// worker thread taken out of the server's runtime; the server runs on a
/// multi-threaded runtime, whose other workers go on serving.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

fn document_html(app: &App, n: usize) -> Result<Html<String>, Failure> {
    let r = app.lock();
    let s = r.sessions.get(n).ok_or_else(no_doc)?;
    let fuzzy: Vec<Vec<crate::model::Suggestion>> = match &r.memory {
        Some(m) => s
            .doc
            .pairs
            .iter()
            .map(|p| {
                m.fuzzy(&p.source, FUZZY_THRESHOLD, SUGGESTIONS + 1)
                    .unwrap_or_default()
            })
            .collect(),
        None => Vec::new(),
    };
    let file = r.glossary.as_ref().and_then(ReviewGlossary::label);
    Ok(Html(page::document_page(
        s,
        &app.token,
        n,
        &fuzzy,
        file.as_deref(),
        r.folder,
    )))
}

async fn segment(
    State(app): State<Arc<App>>,
    Path((n, id)): Path<(usize, String)>,
) -> Result<axum::Json<RowParts>, Failure> {
    let r = app.lock();
    let s = r.sessions.get(n).ok_or_else(no_doc)?;
    let i = s.position(&id)?;
    Ok(axum::Json(page::row_parts(s, i)))
}

#[derive(Deserialize)]
struct SaveBody {
    text: String,
    rev: u64,
    #[serde(default)]
    accept: bool,
    #[serde(default)]
    commit: bool,
}

async fn save(
    State(app): State<Arc<App>>,
    Path((n, id)): Path<(usize, String)>,
    axum::Json(body): axum::Json<SaveBody>,
) -> Result<Response, Failure> {
    blocking(|| save_now(&app, n, &id, &body))
}

fn save_now(app: &App, n: usize, id: &str, body: &SaveBody) -> Result<Response, Failure> {
    let id = id.to_string();
    let mut guard = app.lock();
    let r = &mut *guard;
    let s = r.sessions.get_mut(n).ok_or_else(no_doc)?;
    let req = SaveRequest {
        text: &body.text,
        base_rev: body.rev,
        accept: body.accept,
        commit: body.commit || body.accept,
    };
    let saved = s.save(&id, &req, r.memory.as_mut(), r.glossary.as_ref())?;
    let i = s.position(&id)?;
    Ok(axum::Json(json!({
        "row": page::row_parts(s, i),
        "replaced": saved.replaced,
        "progress": page::progress_text(s),
    }))
    .into_response())
}

async fn revisions(
    State(app): State<Arc<App>>,
    Path(n): Path<usize>,
) -> Result<axum::Json<serde_json::Value>, Failure> {
    let r = app.lock();
    let s = r.sessions.get(n).ok_or_else(no_doc)?;
    let map: serde_json::Map<String, serde_json::Value> = s
        .revisions()
        .into_iter()
        .map(|(id, rev)| (id.to_string(), rev.into()))
        .collect();
    Ok(axum::Json(
        json!({ "revs": map, "progress": page::progress_text(s) }),
    ))
}

#[derive(Deserialize)]
struct CursorBody {
    id: String,
}

async fn cursor(
    State(app): State<Arc<App>>,
    Path(n): Path<usize>,
    axum::Json(body): axum::Json<CursorBody>,
) -> Result<StatusCode, Failure> {
    let mut r = app.lock();
    let s = r.sessions.get_mut(n).ok_or_else(no_doc)?;
    s.set_cursor(&body.id)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct TermBody {
    source: String,
    target: String,
}

async fn add_term(
    State(app): State<Arc<App>>,
    Path(n): Path<usize>,
    axum::Json(body): axum::Json<TermBody>,
) -> Result<axum::Json<serde_json::Value>, Failure> {
    blocking(|| add_term_now(&app, n, &body))
}

fn add_term_now(
    app: &App,
    n: usize,
    body: &TermBody,
) -> Result<axum::Json<serde_json::Value>, Failure> {
    let mut guard = app.lock();
    let r = &mut *guard;
    if n >= r.sessions.len() {
        return Err(no_doc());
    }
    let Some(g) = r.glossary.as_mut() else {
        return Err(Failure(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no glossary file to add to: start the review with --glossary PATH".into(),
        ));
    };
    let (path, line) = r.sessions[n].add_term(g, &body.source, &body.target)?;
    let mut rows = Vec::new();
    for (k, s) in r.sessions.iter_mut().enumerate() {
        let changed = s.recheck(g)?;
        if k == n {
            rows = changed.into_iter().map(|i| page::row_parts(s, i)).collect();
        }
    }
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(axum::Json(json!({
        "message": format!("added {file}:{line}: {} → {}", body.source.trim(), body.target.trim()),
        "rows": rows,
        "progress": page::progress_text(&r.sessions[n]),
    })))
}

async fn final_text(
    State(app): State<Arc<App>>,
    Path(n): Path<usize>,
) -> Result<Response, Failure> {
    let r = app.lock();
    let s = r.sessions.get(n).ok_or_else(no_doc)?;
    let bytes = s.final_text()?;
    let name = s
        .draft_path
        .file_stem()
        .map(|f| f.to_string_lossy().replace(['"', '\\', '\r', '\n'], "_"))
        .unwrap_or_else(|| "article".into());
    let disposition = format!("attachment; filename=\"{name}.txt\"");
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
            ),
        ],
        Body::from(bytes),
    )
        .into_response())
}

async fn done(State(app): State<Arc<App>>) -> Result<axum::Json<serde_json::Value>, Failure> {
    let message = blocking(|| -> Result<String, Failure> {
        let mut guard = app.lock();
        let r = &mut *guard;
        if let Some(m) = r.memory.as_mut() {
            for s in &mut r.sessions {
                s.store_pending(m)?;
            }
        }
        for s in &r.sessions {
            s.write()?;
        }
        Ok(page::finished_message(&r.sessions))
    })?;
    app.done.notify_one();
    Ok(axum::Json(json!({ "message": message })))
}
