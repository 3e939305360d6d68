//! The ipfs-kit HTTP server: MCP over streamable HTTP at `/mcp` and the REST mirror of the same
//! catalogue (`GET /api/tools`, `POST /api/tools/{name}`, `POST /api/mcp/{name}`).
//!
//! Security: loopback by default; `Host` and `Origin` are checked against DNS rebinding (403);
//! any other bind address needs a bearer token (401 without it); request bodies are bounded (413).
//!
//! ```no_run
//! # async fn demo(server: ipfs_kit_mcp::McpServer) -> Result<(), ipfs_kit_http::Error> {
//! use ipfs_kit_http::HttpConfig;
//! let config = HttpConfig::new("127.0.0.1:8765".parse().unwrap());
//! let shutdown = tokio_util::sync::CancellationToken::new();
//! ipfs_kit_http::serve(server, config, shutdown).await
//! # }
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod daemon;
pub mod gateway;
mod rest;
pub mod rpc;
mod security;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use ipfs_kit_mcp::McpServer;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

pub use rest::status_for;

/// Default largest request body (JSON-RPC message or REST input).
pub const DEFAULT_MAX_BODY: usize = 16 * 1024 * 1024;

/// Errors starting or running the HTTP server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A non-loopback bind address without a bearer token.
    #[error(
        "binding {0} (not loopback) needs a bearer token: pass --token-file or set IPFS_KIT_TOKEN"
    )]
    TokenRequired(SocketAddr),
    /// The token file could not be read or is empty.
    #[error("cannot use the token file {path}: {reason}")]
    TokenFile {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Binding or serving failed.
    #[error("HTTP server I/O: {0}")]
    Io(#[from] std::io::Error),
    /// A listen address could not be parsed.
    #[error("bad listen address {addr:?}: {reason}")]
    BadAddress {
        /// The address as given.
        addr: String,
        /// What is wrong.
        reason: String,
    },
    /// Another process listens on the address.
    #[error("{0} is already in use (is another daemon running?)")]
    AddressInUse(SocketAddr),
}

/// How the HTTP server is set up.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Where to listen.
    pub addr: SocketAddr,
    /// Bearer token every request must carry (required for non-loopback addresses).
    pub token: Option<String>,
    /// Host names accepted besides localhost, 127.0.0.1, [::1] and the bound address.
    pub allowed_hosts: Vec<String>,
    /// Largest request body in bytes.
    pub max_body: usize,
}

impl HttpConfig {
    /// Listen on `addr`, no token, default limits.
    pub fn new(addr: SocketAddr) -> Self {
        HttpConfig {
            addr,
            token: None,
            allowed_hosts: Vec::new(),
            max_body: DEFAULT_MAX_BODY,
        }
    }

    /// Refuse a non-loopback address without a token.
    pub fn validate(&self) -> Result<(), Error> {
        if !self.addr.ip().is_loopback() && self.token.as_deref().is_none_or(str::is_empty) {
            return Err(Error::TokenRequired(self.addr));
        }
        Ok(())
    }
}

/// The bearer token from `token_file`, else from the environment variable `IPFS_KIT_TOKEN`.
pub fn load_token(token_file: Option<&Path>) -> Result<Option<String>, Error> {
    if let Some(path) = token_file {
        let text = std::fs::read_to_string(path).map_err(|e| Error::TokenFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let token = text.trim().to_string();
        if token.is_empty() {
            return Err(Error::TokenFile {
                path: path.display().to_string(),
                reason: "it is empty".into(),
            });
        }
        return Ok(Some(token));
    }
    Ok(std::env::var("IPFS_KIT_TOKEN")
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty()))
}

/// The whole application: `/mcp`, `/api/…`, behind the security checks and the body limit.
/// `shutdown` ends open MCP streams when cancelled.
pub fn router(server: McpServer, config: &HttpConfig, shutdown: CancellationToken) -> Router {
    router_with(server, config, shutdown, Router::new())
}

/// [`router`] with `extra` routes merged in behind the same security checks but outside the
/// body limit (they bound or stream their own bodies: the Kubo RPC API).
pub fn router_with(
    server: McpServer,
    config: &HttpConfig,
    shutdown: CancellationToken,
    extra: Router,
) -> Router {
    let guard = Arc::new(security::Guard::new(config));
    let factory = server.clone();
    // Our own middleware checks Host and Origin for every route; rmcp's checks are turned off so
    // there is one policy, in one place.
    let mcp_config = StreamableHttpServerConfig::default()
        .disable_allowed_hosts()
        .disable_allowed_origins()
        .with_max_request_body_bytes(config.max_body)
        .with_cancellation_token(shutdown);
    let mcp = StreamableHttpService::new(
        move || Ok(factory.clone()),
        Arc::new(LocalSessionManager::default()),
        mcp_config,
    );
    Router::new()
        .nest_service("/mcp", mcp)
        .merge(rest::routes(server))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            config.max_body,
        ))
        .merge(extra)
        .layer(axum::middleware::from_fn_with_state(guard, security::check))
}

/// Bind `config.addr` and serve until `shutdown` is cancelled (then finish in-flight requests).
pub async fn serve(
    server: McpServer,
    config: HttpConfig,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    config.validate()?;
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    serve_on(server, listener, config, shutdown).await
}

/// Serve on an already bound listener (tests bind port 0 and read the address first).
pub async fn serve_on(
    server: McpServer,
    listener: tokio::net::TcpListener,
    mut config: HttpConfig,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    config.addr = listener.local_addr()?;
    config.validate()?;
    let app = router(server, &config, shutdown.clone());
    tracing::info!(addr = %config.addr, "serving MCP at /mcp and REST at /api");
    // TCP_NODELAY: MCP answers go out as several small SSE writes; with Nagle each waits ~40 ms for an ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    Ok(())
}
