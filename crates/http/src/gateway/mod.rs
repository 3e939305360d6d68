//! The HTTP gateway of the embedded node: the path gateway and trustless gateway responses under
//! `/ipfs/` and `/ipns/`.
//!
//! * Path gateway (deserialized): UnixFS files (with `Range`, `Etag`/`If-None-Match`, sniffed
//!   `Content-Type`), directories (`index.html` or an HTML listing), symlinks (`inode/symlink`).
//! * Trustless gateway: `application/vnd.ipld.raw` blocks and `application/vnd.ipld.car` streams
//!   with `dag-scope`, `entity-bytes`, `car-version`, `car-order` and `car-dups`.
//! * Also `?format=tar|dag-json|dag-cbor|json|cbor`.
//!
//! Only the local repo is read (Kubo offline behaviour): a block that is not stored is a 404.
//! Blocking work (block reads, hashing) runs on the blocking pool; bodies stream through a
//! bounded channel, so a client that goes away stops the reading.

mod request;
mod sniff;
mod trustless;
mod unixfs;

use std::io::{self, Write};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use ipfs_kit_ops::{Catalogue, DynOperation, ErrorCode, Kit, OpContext, OpError};
use tokio::sync::{mpsc, oneshot};

use request::{GwRequest, Namespace};

/// `Cache-Control` of every immutable (`/ipfs/`) response.
const IMMUTABLE: &str = "public, max-age=29030400, immutable";
/// `Cache-Control` max-age of `/ipns/` responses (`ipfs_name_resolve` does not report the
/// record's TTL, so a short fixed one).
const IPNS_MAX_AGE: u64 = 60;
/// Chunks in flight between the reading thread and the connection.
const BODY_CHUNKS: usize = 8;
/// Bytes gathered before a chunk is sent when a response is written piecewise (CAR, tar, HTML).
const WRITE_CHUNK: usize = 256 * 1024;
/// Longest request target accepted (414 beyond).
const MAX_URI: usize = 8 * 1024;
/// Largest single header value, and largest total of all header lines (431 beyond).
const MAX_HEADER: usize = 8 * 1024;
/// See [`MAX_HEADER`].
const MAX_HEADERS_TOTAL: usize = 32 * 1024;

struct Gateway {
    kit: Kit,
    name_resolve: Option<Arc<dyn DynOperation>>,
}

/// The gateway's routes, served on their own listener by `ipfs-kit daemon`.
pub fn router(kit: Kit) -> Router {
    let name_resolve = Catalogue::standard().get("ipfs_name_resolve").cloned();
    let gw = Arc::new(Gateway { kit, name_resolve });
    Router::new().fallback(handle).with_state(gw)
}

/// A failed request: its status and a short human text.
#[derive(Debug)]
pub(crate) struct GwError {
    status: StatusCode,
    message: String,
}

impl GwError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        GwError {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        GwError::new(StatusCode::BAD_REQUEST, message)
    }

    fn into_response(self) -> Response {
        text_response(self.status, &self.message)
    }
}

impl From<ipfs_kit_content::Error> for GwError {
    fn from(e: ipfs_kit_content::Error) -> Self {
        use ipfs_kit_content::Error as E;
        let status = match &e {
            E::InvalidCid { .. } | E::InvalidOption(_) | E::WrongKind(_) => StatusCode::BAD_REQUEST,
            E::NotFound(_) | E::NoSuchEntry { .. } | E::InvalidPath { .. } => StatusCode::NOT_FOUND,
            E::UnsupportedCodec(_) | E::UnsupportedHash(_) => StatusCode::NOT_IMPLEMENTED,
            E::Io(io) if io.kind() == io::ErrorKind::NotFound => StatusCode::NOT_FOUND,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        GwError::new(status, e.to_string())
    }
}

impl From<OpError> for GwError {
    fn from(e: OpError) -> Self {
        let status = match e.code {
            ErrorCode::InvalidInput | ErrorCode::InvalidCid | ErrorCode::InvalidPath => {
                StatusCode::BAD_REQUEST
            }
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Unsupported => StatusCode::NOT_IMPLEMENTED,
            ErrorCode::DaemonUnavailable => StatusCode::BAD_GATEWAY,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        GwError::new(status, e.message)
    }
}

fn text_response(status: StatusCode, message: &str) -> Response {
    let text = format!(
        "{} {}: {}\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        message
    );
    let mut r = (status, text).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// What the worker decided about the response before any body byte.
pub(crate) struct Head {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: HeadBody,
}

/// The body that follows a [`Head`].
pub(crate) enum HeadBody {
    /// No body (HEAD, 304, redirects).
    None,
    /// A small body, complete.
    Full(Bytes),
    /// The worker streams it after the head.
    Stream,
}

impl Head {
    pub(crate) fn new(status: StatusCode) -> Self {
        Head {
            status,
            headers: HeaderMap::new(),
            body: HeadBody::None,
        }
    }

    /// Set a header; values that are not valid header text are dropped.
    pub(crate) fn set(&mut self, name: HeaderName, value: impl AsRef<str>) {
        if let Ok(v) = HeaderValue::from_str(value.as_ref()) {
            self.headers.insert(name, v);
        }
    }
}

/// Where the worker writes: first the head (once), then body chunks.
pub(crate) struct Out {
    head: Option<oneshot::Sender<Result<Head, GwError>>>,
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
    method_head: bool,
}

impl Out {
    /// Send the head. Returns whether the worker should go on and stream the body (only when the
    /// head says [`HeadBody::Stream`] and the request is a GET).
    pub(crate) fn respond(&mut self, mut head: Head) -> bool {
        if self.method_head {
            head.body = HeadBody::None;
        }
        let stream = matches!(head.body, HeadBody::Stream);
        match self.head.take() {
            Some(tx) => tx.send(Ok(head)).is_ok() && stream,
            None => false,
        }
    }

    /// Send one chunk as is (zero-copy); fails when the client has gone.
    pub(crate) fn send(&mut self, chunk: Bytes) -> io::Result<()> {
        self.flush_buf()?;
        self.push(chunk)
    }

    fn push(&mut self, chunk: Bytes) -> io::Result<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client went away"))
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.push(chunk)
    }

    fn fail(mut self, e: GwError) {
        match self.head.take() {
            Some(tx) => {
                let _ = tx.send(Err(e));
            }
            None => {
                // Headers are out: cutting the stream is the only way left to signal the failure.
                tracing::debug!(error = %e.message, "gateway stream cut");
                let _ = self.flush_buf();
                let _ = self.tx.blocking_send(Err(io::Error::other(e.message)));
            }
        }
    }
}

impl Write for Out {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= WRITE_CHUNK {
            self.flush_buf()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_buf()
    }
}

async fn handle(State(gw): State<Arc<Gateway>>, req: Request) -> Response {
    let mut r = match handle_inner(&gw, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

fn check_limits(req: &Request) -> Result<(), GwError> {
    if req.uri().to_string().len() > MAX_URI {
        return Err(GwError::new(
            StatusCode::URI_TOO_LONG,
            format!("the request target is longer than {MAX_URI} bytes"),
        ));
    }
    let mut total = 0usize;
    for (name, value) in req.headers() {
        let n = name.as_str().len() + value.len();
        total += n + 4;
        if n > MAX_HEADER || total > MAX_HEADERS_TOTAL {
            return Err(GwError::new(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                format!(
                    "request headers too large (at most {MAX_HEADER} bytes each, {MAX_HEADERS_TOTAL} in all)"
                ),
            ));
        }
    }
    Ok(())
}

const ALLOW: &str = "GET, HEAD, OPTIONS";

async fn handle_inner(gw: &Gateway, req: Request) -> Result<Response, GwError> {
    check_limits(&req)?;
    let method = req.method().clone();
    if method == Method::OPTIONS {
        let mut r = StatusCode::OK.into_response();
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(ALLOW));
        r.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOW),
        );
        return Ok(r);
    }
    if method != Method::GET && method != Method::HEAD {
        let mut r = text_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("method {method} is not allowed; the gateway is read-only"),
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(ALLOW));
        return Ok(r);
    }
    let mut greq = GwRequest::parse(&req)?;
    if matches!(greq.format, request::Format::IpnsRecord) {
        let kit = gw.kit.clone();
        let method_head = greq.method_head;
        return match tokio::task::spawn_blocking(move || ipns_record(&kit, &greq)).await {
            Ok(Ok(head)) => Ok(head_response(head, method_head, Body::empty())),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(GwError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the gateway worker failed",
            )),
        };
    }
    if greq.namespace == Namespace::Ipns {
        resolve_ipns(gw, &mut greq).await?;
    }
    Ok(run(gw.kit.clone(), greq).await)
}

/// Turn `/ipns/{name}/…` into its `/ipfs/` root through the catalogue's `ipfs_name_resolve`.
async fn resolve_ipns(gw: &Gateway, greq: &mut GwRequest) -> Result<(), GwError> {
    let Some(op) = &gw.name_resolve else {
        return Err(GwError::new(
            StatusCode::NOT_IMPLEMENTED,
            "IPNS names cannot be resolved: this build's catalogue has no ipfs_name_resolve operation",
        ));
    };
    let name = greq.ipns_name.clone().unwrap_or_default();
    let out = op
        .call(
            &gw.kit,
            serde_json::json!({ "name": name }),
            &OpContext::default(),
        )
        .await?;
    let path = out
        .get("path")
        .and_then(|p| p.as_str())
        .ok_or_else(|| GwError::new(StatusCode::BAD_GATEWAY, "ipfs_name_resolve gave no path"))?;
    let (root, mut segs) = ipfs_kit_content::export::parse_ipfs_path(path).map_err(|e| {
        GwError::new(
            StatusCode::BAD_GATEWAY,
            format!("{name} resolved to an unusable path {path:?}: {e}"),
        )
    })?;
    segs.append(&mut greq.segments);
    greq.root = Some(root);
    greq.segments = segs;
    Ok(())
}

/// Run the request on a blocking worker; answer with its head and stream its body.
async fn run(kit: Kit, greq: GwRequest) -> Response {
    let (htx, hrx) = oneshot::channel();
    let (btx, brx) = mpsc::channel(BODY_CHUNKS);
    let method_head = greq.method_head;
    tokio::task::spawn_blocking(move || {
        let mut out = Out {
            head: Some(htx),
            tx: btx,
            buf: Vec::new(),
            method_head,
        };
        match serve(&kit, &greq, &mut out) {
            Ok(()) => {
                if let Err(e) = out.flush_buf() {
                    tracing::debug!(error = %e, "gateway body not finished");
                }
                if let Some(tx) = out.head.take() {
                    let _ = tx.send(Err(GwError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "no response was produced",
                    )));
                }
            }
            Err(e) => out.fail(e),
        }
    });
    let head = match hrx.await {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => return e.into_response(),
        Err(_) => {
            return text_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the gateway worker failed",
            );
        }
    };
    head_response(
        head,
        method_head,
        Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(brx)),
    )
}

/// The response of a head; `stream` is its body when the worker streams one.
fn head_response(head: Head, method_head: bool, stream: Body) -> Response {
    let body = match head.body {
        HeadBody::None => Body::empty(),
        HeadBody::Full(b) if !method_head => Body::from(b),
        HeadBody::Full(_) => Body::empty(),
        HeadBody::Stream => stream,
    };
    let mut r = Response::new(body);
    *r.status_mut() = head.status;
    *r.headers_mut() = head.headers;
    r
}

/// `/ipns/{name}?format=ipns-record` (or `Accept: application/vnd.ipfs.ipns-record`): the signed
/// record of a name this node published, verified, as it is stored. Like boxo's gateway: an
/// attachment named `{name}.ipns-record` (or `?filename=`), an `Etag` from the record's bytes,
/// `max-age` from its TTL (else `Last-Modified`), no path below the name.
fn ipns_record(kit: &Kit, req: &GwRequest) -> Result<Head, GwError> {
    use sha2::{Digest, Sha256};
    if req.namespace != Namespace::Ipns {
        return Err(GwError::bad_request(format!(
            "{} is not an IPNS link",
            req.content_path
        )));
    }
    if !req.segments.is_empty() {
        return Err(GwError::bad_request("cannot find ipns key for subpath"));
    }
    let name = req.ipns_name.as_deref().unwrap_or_default();
    if ipfs_kit_ops::keystore::parse_peer_id(name).is_err() {
        return Err(GwError::bad_request(format!(
            "{name:?} is not an IPNS key name (only keys have records)"
        )));
    }
    let (_, store) = ipfs_kit_ops::ipns::local(kit.repo()?.path());
    let (bytes, record) = ipfs_kit_ops::ipns::local_record(&store, name)?;
    let digest = Sha256::digest(&bytes);
    let etag = format!("\"{}\"", hex_prefix(&digest[..8]));
    let mut head = Head::new(StatusCode::OK);
    head.set(header::ETAG, &etag);
    if record.ttl_ns > 0 {
        head.set(
            header::CACHE_CONTROL,
            format!("public, max-age={}", record.ttl_ns / 1_000_000_000),
        );
    } else {
        head.set(
            header::LAST_MODIFIED,
            httpdate::fmt_http_date(std::time::SystemTime::now()),
        );
    }
    if etag_matches(req, &etag) {
        return Ok(not_modified(head));
    }
    let file = req
        .query("filename")
        .filter(|f| !f.is_empty())
        .map_or_else(|| format!("{name}.ipns-record"), str::to_string);
    content_disposition(&mut head, "attachment", &file);
    head.set(header::CONTENT_TYPE, "application/vnd.ipfs.ipns-record");
    head.set(HeaderName::from_static("x-content-type-options"), "nosniff");
    head.set(header::CONTENT_LENGTH, bytes.len().to_string());
    head.body = HeadBody::Full(Bytes::from(bytes));
    Ok(head)
}

fn hex_prefix(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Serve one request on the blocking worker.
fn serve(kit: &Kit, req: &GwRequest, out: &mut Out) -> Result<(), GwError> {
    let blocks = kit.repo()?.blocks();
    let root = req
        .root
        .ok_or_else(|| GwError::bad_request("no CID in the path"))?;
    if req.only_if_cached && !blocks.has(&root).map_err(OpError::from)? {
        return Err(GwError::new(
            StatusCode::PRECONDITION_FAILED,
            format!("{root} is not in the local repo (Cache-Control: only-if-cached)"),
        ));
    }
    match &req.format {
        request::Format::Default => unixfs::serve(blocks, req, &root, out),
        request::Format::Raw => trustless::raw(blocks, req, &root, out),
        request::Format::Car(params) => trustless::car(blocks, req, &root, params, out),
        request::Format::Tar => trustless::tar(blocks, req, &root, out),
        request::Format::Codec(c) => trustless::codec(blocks, req, &root, *c, out),
        // answered before the name is resolved (see `ipns_record`)
        request::Format::IpnsRecord => Err(GwError::bad_request(
            "an IPNS record is served only for /ipns/{name}",
        )),
    }
}

/// Headers every content response carries: `X-Ipfs-Path`, `X-Ipfs-Roots`, `Cache-Control`.
pub(crate) fn common_headers(head: &mut Head, req: &GwRequest, roots: &[cid::Cid]) {
    head.set(HeaderName::from_static("x-ipfs-path"), &req.content_path);
    if !roots.is_empty() {
        let list: Vec<String> = roots.iter().map(|c| c.to_string()).collect();
        head.set(HeaderName::from_static("x-ipfs-roots"), list.join(","));
    }
    match req.namespace {
        Namespace::Ipfs => head.set(header::CACHE_CONTROL, IMMUTABLE),
        Namespace::Ipns => head.set(
            header::CACHE_CONTROL,
            format!("public, max-age={IPNS_MAX_AGE}"),
        ),
    }
}

/// Whether `If-None-Match` matches `etag` (weak comparison, `*` matches anything).
pub(crate) fn etag_matches(req: &GwRequest, etag: &str) -> bool {
    let Some(inm) = &req.if_none_match else {
        return false;
    };
    let strip = |t: &str| t.trim().trim_start_matches("W/").to_string();
    let want = strip(etag);
    inm.split(',').any(|t| t.trim() == "*" || strip(t) == want)
}

/// A 304 head with the validators and caching headers of the full response.
pub(crate) fn not_modified(head: Head) -> Head {
    let mut h = Head::new(StatusCode::NOT_MODIFIED);
    for name in [
        header::ETAG,
        header::CACHE_CONTROL,
        header::LAST_MODIFIED,
        header::CONTENT_LOCATION,
        HeaderName::from_static("x-ipfs-path"),
        HeaderName::from_static("x-ipfs-roots"),
    ] {
        if let Some(v) = head.headers.get(&name) {
            h.headers.insert(name, v.clone());
        }
    }
    h
}

/// `Content-Disposition` with an ASCII fallback name and the UTF-8 name (RFC 6266).
pub(crate) fn content_disposition(head: &mut Head, disposition: &str, name: &str) {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '_'
            }
        })
        .collect();
    head.set(
        header::CONTENT_DISPOSITION,
        format!(
            "{disposition}; filename=\"{}\"; filename*=UTF-8''{}",
            request::path_escape(&ascii),
            request::path_escape(name)
        ),
    );
}
