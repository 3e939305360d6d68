//! Kubo's RPC API (`/api/v0/*`) on the embedded node: each endpoint translates Kubo's query
//! arguments into a catalogue operation (or a byte stream of [`ipfs_kit_ops::stream`]) and its
//! output into Kubo's JSON, with Kubo's error shape and streaming conventions.

mod add;
mod args;
mod body;
mod commands;
mod multipart;
mod reply;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use ipfs_kit_ops::{Catalogue, Kit, OpContext};
use tokio_util::sync::CancellationToken;

use args::Args;
use reply::RpcError;

/// What the RPC handlers share.
#[derive(Clone)]
pub struct RpcState {
    pub(crate) kit: Kit,
    pub(crate) catalogue: Arc<Catalogue>,
    pub(crate) shutdown: CancellationToken,
    pub(crate) cancel: CancellationToken,
    pub(crate) info: Arc<DaemonInfo>,
}

/// Where the daemon listens, as `config/show` reports it.
#[derive(Debug, Clone, Default)]
pub struct DaemonInfo {
    /// The RPC API's multiaddr.
    pub api: String,
    /// The gateway's multiaddr.
    pub gateway: String,
}

impl RpcState {
    /// State over `kit`; `shutdown` is cancelled by `/api/v0/shutdown` and cancels every
    /// operation in flight when the daemon stops.
    pub fn new(kit: Kit, shutdown: CancellationToken, info: DaemonInfo) -> Self {
        RpcState {
            kit,
            catalogue: Arc::new(Catalogue::standard()),
            cancel: shutdown.clone(),
            shutdown,
            info: Arc::new(info),
        }
    }

    /// Cancel operations in flight when `token` fires instead of as soon as shutdown is asked
    /// for (the daemon gives them a grace period first).
    pub fn with_cancel(mut self, token: CancellationToken) -> Self {
        self.cancel = token;
        self
    }
}

/// The `/api/v0/*` routes (POST only, as Kubo).
pub fn router(state: RpcState) -> Router {
    Router::new()
        .route("/api/v0/{*cmd}", axum::routing::any(dispatch))
        .with_state(state)
}

/// One request being served: its parsed arguments, body and cancellation.
pub(crate) struct Call {
    pub(crate) state: RpcState,
    pub(crate) args: Args,
    pub(crate) headers: axum::http::HeaderMap,
    /// The body, taken by the endpoints that read file arguments (a mutex keeps `Call` `Sync`).
    pub(crate) body: std::sync::Mutex<Option<axum::body::Body>>,
    pub(crate) cx: OpContext,
}

async fn dispatch(State(state): State<RpcState>, request: Request) -> Response {
    let path = request
        .uri()
        .path()
        .trim_start_matches("/api/v0/")
        .trim_end_matches('/');
    // Kubo checks the method before the command: any GET is a 405.
    match *request.method() {
        Method::POST => {}
        Method::OPTIONS => {
            let mut res = StatusCode::NO_CONTENT.into_response();
            res.headers_mut().insert(
                axum::http::header::ALLOW,
                axum::http::HeaderValue::from_static("OPTIONS, POST"),
            );
            return res;
        }
        _ => {
            return RpcError::with_status(
                StatusCode::METHOD_NOT_ALLOWED,
                "405 - Method Not Allowed",
            )
            .into_response();
        }
    }
    let Some(cmd) = commands::find(path) else {
        return RpcError::with_status(StatusCode::NOT_FOUND, "404 page not found").into_response();
    };
    let query = request.uri().query().unwrap_or("").to_string();
    let args = match args::parse(&query, cmd.opts, cmd.args) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    if !args.ignored.is_empty() {
        tracing::debug!(command = path, ignored = ?args.ignored, "ignoring unknown options");
    }
    let timeout = match args.timeout() {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let cx = OpContext::default();
    // Cancel the operation when the daemon gives up on it or the timeout passes; the watcher ends when
    // the request is done (the guard cancels its token).
    let token = state.cancel.child_token();
    let done = token.clone().drop_guard();
    let watched = cx.clone();
    tokio::spawn(async move {
        match timeout {
            Some(t) => {
                tokio::select! {
                    _ = token.cancelled() => {}
                    _ = tokio::time::sleep(t) => {}
                }
            }
            None => token.cancelled().await,
        }
        watched.cancel();
    });
    let trailers_ok = request
        .headers()
        .get_all(axum::http::header::TE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("trailers"))
        });
    let (head, body) = request.into_parts();
    let call = Call {
        state,
        args,
        headers: head.headers,
        body: std::sync::Mutex::new(Some(body)),
        cx,
    };
    let res = (cmd.run)(call).await;
    // A streaming body outlives the handler: the watcher lives as long as the body does.
    res.map(|body| {
        axum::body::Body::new(reply::Guarded {
            body,
            _guard: done,
            trailers_ok,
            abort: None,
        })
    })
}
