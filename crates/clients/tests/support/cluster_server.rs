//! A local stand-in for an IPFS Cluster REST API that answers with the recorded and reconstructed
//! bodies under `tests/fixtures/cluster/` (see its README.md) and records every request it gets, so
//! tests can check what a client sent: method, path, query and `Authorization` header.
//!
//! Shared by the clients' and the ops' tests (`#[path]` include), so it reads fixtures with
//! `include_str!` relative to this file.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};

/// Fixture bodies, by file name.
pub mod fixtures {
    /// `GET /id`.
    pub const ID: &str = include_str!("../fixtures/cluster/id.json");
    /// `GET /version`.
    pub const VERSION: &str = include_str!("../fixtures/cluster/version.json");
    /// `GET /peers` (ndjson).
    pub const PEERS: &str = include_str!("../fixtures/cluster/peers.ndjson");
    /// `GET /pins` (ndjson), recorded from a real 3-peer cluster.
    pub const PINS: &str = include_str!("../fixtures/cluster/pins_status_all.ndjson");
    /// `POST /pins/{cid}`.
    pub const PIN_ANSWER: &str = include_str!("../fixtures/cluster/pin_answer.json");
    /// `GET /allocations` (ndjson).
    pub const ALLOCATIONS: &str = include_str!("../fixtures/cluster/allocations.ndjson");
    /// A pin as Cluster's state export writes it (sharness test data).
    pub const IMPORT_STATE: &str = include_str!("../fixtures/cluster/allocation_import_state.json");
    /// `GET /monitor/metrics`.
    pub const METRIC_NAMES: &str = include_str!("../fixtures/cluster/metric_names.json");
    /// `GET /monitor/metrics/freespace`.
    pub const METRICS_FREESPACE: &str = include_str!("../fixtures/cluster/metrics_freespace.json");
    /// `GET /health/alerts`.
    pub const ALERTS: &str = include_str!("../fixtures/cluster/alerts.json");
    /// `GET /health/graph`.
    pub const GRAPH: &str = include_str!("../fixtures/cluster/health_graph.json");
    /// `POST /token` for testuser/testpass.
    pub const TOKEN: &str = include_str!("../fixtures/cluster/token.json");
    /// 401, wrong Basic credentials.
    pub const E401_DENIED: &str = include_str!("../fixtures/cluster/error_401_access_denied.json");
    /// 401, bad bearer token.
    pub const E401_TOKEN: &str = include_str!("../fixtures/cluster/error_401_invalid_token.json");
    /// 401, no credentials.
    pub const E401_NONE: &str = include_str!("../fixtures/cluster/error_401_no_auth.json");
    /// 404, CID not in the pinset.
    pub const E404_PIN: &str = include_str!("../fixtures/cluster/error_404_not_in_pinset.json");
    /// 404, no such route.
    pub const E404_ROUTE: &str = include_str!("../fixtures/cluster/error_404_route.json");
    /// 500, a write on a follower.
    pub const E500_FOLLOWER: &str =
        include_str!("../fixtures/cluster/error_500_follower_mode.json");
}

/// The credentials of Cluster's sharness basic-auth config.
pub const USER: &str = "testuser";
/// Their password.
pub const PASSWORD: &str = "testpass";

/// How the stand-in behaves.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// Require these Basic credentials (or the bearer token they yield).
    pub credentials: Option<(String, String)>,
    /// Answer writes like a follower peer (500, follower mode).
    pub follower: bool,
    /// Answer every route with a body that is not JSON.
    pub garbage: bool,
    /// Answer every route with more bytes than the client reads.
    pub oversized: bool,
}

/// One request the stand-in received.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    /// HTTP method.
    pub method: String,
    /// Path, percent-decoded.
    pub path: String,
    /// Raw query string.
    pub query: String,
    /// Decoded query pairs.
    pub pairs: Vec<(String, String)>,
    /// The `Authorization` header.
    pub auth: Option<String>,
}

/// A running stand-in; stops when dropped.
pub struct ClusterServer {
    /// `http://127.0.0.1:<port>` or `/unix/<socket>`.
    pub addr: String,
    /// Its TCP address (TCP servers).
    pub socket: Option<SocketAddr>,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ClusterServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ClusterServer {
    /// Serve on a fresh loopback TCP port.
    pub async fn start(b: Behaviour) -> ClusterServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let local = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let app = router(b, Arc::clone(&seen));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        ClusterServer {
            addr: format!("http://{local}"),
            socket: Some(local),
            seen,
            task,
        }
    }

    /// Serve on a unix socket at `path` (a follower's `api-socket`).
    pub async fn start_unix(path: &Path, b: Behaviour) -> ClusterServer {
        let _ = std::fs::remove_file(path);
        let listener = tokio::net::UnixListener::bind(path).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let app = router(b, Arc::clone(&seen));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        ClusterServer {
            addr: format!("/unix{}", path.display()),
            socket: None,
            seen,
            task,
        }
    }

    /// The multiaddr of a TCP server (`/ip4/127.0.0.1/tcp/<port>`).
    pub fn multiaddr(&self) -> String {
        let s = self.socket.expect("tcp server");
        format!("/ip4/127.0.0.1/tcp/{}", s.port())
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The last request.
    pub fn last(&self) -> Seen {
        self.seen().pop().expect("no request seen")
    }
}

/// A path to bind a unix socket at, inside `dir`.
pub fn socket_in(dir: &Path) -> PathBuf {
    dir.join("api-socket")
}

/// The `Authorization` value of HTTP Basic for `user:password`.
pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// The JWT the token fixture holds.
pub fn token() -> String {
    let v: serde_json::Value = serde_json::from_str(fixtures::TOKEN).unwrap();
    v["token"].as_str().unwrap().to_string()
}

fn router(b: Behaviour, seen: Arc<Mutex<Vec<Seen>>>) -> axum::Router {
    axum::Router::new().fallback(move |req: Request<Body>| {
        let b = b.clone();
        let seen = Arc::clone(&seen);
        async move { answer(&b, &seen, req) }
    })
}

fn body(status: StatusCode, text: impl Into<Body>) -> Response<Body> {
    let mut r = Response::new(text.into());
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn ok(text: &'static str) -> Response<Body> {
    body(StatusCode::OK, text)
}

fn unauthorized(text: &'static str, scheme: &'static str) -> Response<Body> {
    let mut r = body(StatusCode::UNAUTHORIZED, text);
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(scheme));
    r
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn line_for(ndjson: &'static str, cid: &str) -> Option<&'static str> {
    ndjson
        .lines()
        .find(|l| l.contains(&format!("\"cid\":\"{cid}\"")))
}

fn answer(b: &Behaviour, seen: &Mutex<Vec<Seen>>, req: Request<Body>) -> Response<Body> {
    let method = req.method().as_str().to_string();
    let path = decode(req.uri().path());
    let query = req.uri().query().unwrap_or("").to_string();
    let pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    seen.lock().unwrap().push(Seen {
        method: method.clone(),
        path: path.clone(),
        query,
        pairs: pairs.clone(),
        auth: auth.clone(),
    });

    if b.garbage {
        return body(
            StatusCode::OK,
            "<html><body>502 Bad Gateway</body></html>\n",
        );
    }
    if b.oversized {
        // 9 MiB of one JSON string on one line: over both the answer and the line limits.
        let big = format!("{{\"id\":\"{}\"}}\n", "x".repeat(9 * 1024 * 1024));
        return body(StatusCode::OK, big);
    }

    // Cluster lets GET /health through without credentials.
    let public = method == "GET" && path == "/health";
    if let Some((user, pass)) = &b.credentials
        && !public
    {
        match auth.as_deref() {
            Some(a) if a.starts_with("Basic ") => {
                if a != basic(user, pass) {
                    return unauthorized(
                        fixtures::E401_DENIED,
                        "Basic realm=\"Restricted IPFS Cluster API\"",
                    );
                }
            }
            Some(a) if a.starts_with("Bearer ") => {
                if a != format!("Bearer {}", token()) {
                    return unauthorized(
                        fixtures::E401_TOKEN,
                        "Bearer realm=\"Restricted IPFS Cluster API\", error=\"invalid_token\"",
                    );
                }
            }
            _ => {
                return unauthorized(
                    fixtures::E401_NONE,
                    "Basic realm=\"Restricted IPFS Cluster API\"",
                );
            }
        }
    }

    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let q = |k: &str| pairs.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
    match (method.as_str(), segs.as_slice()) {
        ("GET", ["id"]) => ok(fixtures::ID),
        ("GET", ["version"]) => ok(fixtures::VERSION),
        ("GET", ["peers"]) => ok(fixtures::PEERS),
        ("GET", ["health"]) => body(StatusCode::NO_CONTENT, ""),
        ("GET", ["health", "graph"]) => ok(fixtures::GRAPH),
        ("GET", ["health", "alerts"]) => ok(fixtures::ALERTS),
        ("GET", ["monitor", "metrics"]) => ok(fixtures::METRIC_NAMES),
        ("GET", ["monitor", "metrics", "freespace"]) => ok(fixtures::METRICS_FREESPACE),
        ("GET", ["monitor", "metrics", _]) => ok("null\n"),
        ("POST", ["token"]) => match &b.credentials {
            Some(_) if auth.as_deref().is_some_and(|a| a.starts_with("Basic ")) => {
                ok(fixtures::TOKEN)
            }
            _ => body(
                StatusCode::UNAUTHORIZED,
                "{\"code\":401,\"message\":\"unauthorized\"}\n",
            ),
        },
        ("GET", ["pins"]) => match q("filter").unwrap_or("") {
            "" | "pinned" => ok(fixtures::PINS),
            f if f.split(',').all(|s| {
                [
                    "pin_error",
                    "pinning",
                    "pin_queued",
                    "queued",
                    "error",
                    "unpinned",
                ]
                .contains(&s)
            }) =>
            {
                body(StatusCode::NO_CONTENT, "")
            }
            _ => body(
                StatusCode::BAD_REQUEST,
                "{\"code\":400,\"message\":\"invalid filter value\"}\n",
            ),
        },
        ("POST", ["pins", "recover"]) => ok(fixtures::PINS),
        ("GET", ["pins", cid]) => match line_for(fixtures::PINS, cid) {
            Some(l) => body(StatusCode::OK, format!("{l}\n")),
            None => body(StatusCode::NOT_FOUND, fixtures::E404_PIN),
        },
        ("POST", ["pins", cid, "recover"]) => match line_for(fixtures::PINS, cid) {
            Some(l) => body(StatusCode::OK, format!("{l}\n")),
            None => body(StatusCode::NOT_FOUND, fixtures::E404_PIN),
        },
        ("POST", ["pins", ..]) => {
            if b.follower {
                body(StatusCode::INTERNAL_SERVER_ERROR, fixtures::E500_FOLLOWER)
            } else {
                ok(fixtures::PIN_ANSWER)
            }
        }
        ("DELETE", ["pins", rest @ ..]) => {
            if b.follower {
                return body(StatusCode::INTERNAL_SERVER_ERROR, fixtures::E500_FOLLOWER);
            }
            match line_for(fixtures::ALLOCATIONS, rest.last().unwrap_or(&"")) {
                Some(l) => body(StatusCode::OK, format!("{l}\n")),
                None if rest.len() > 1 => ok(fixtures::PIN_ANSWER),
                None => body(StatusCode::NOT_FOUND, fixtures::E404_PIN),
            }
        }
        ("GET", ["allocations"]) => ok(fixtures::ALLOCATIONS),
        (
            "GET",
            [
                "allocations",
                "QmbrCtydGyPeHiLURSPMqrvE5mCgMCwFYq3UD4XLCeAYw6",
            ],
        ) => ok(fixtures::IMPORT_STATE),
        ("GET", ["allocations", cid]) => match line_for(fixtures::ALLOCATIONS, cid) {
            Some(l) => body(StatusCode::OK, format!("{l}\n")),
            None => body(StatusCode::NOT_FOUND, fixtures::E404_PIN),
        },
        _ => body(StatusCode::NOT_FOUND, fixtures::E404_ROUTE),
    }
}
