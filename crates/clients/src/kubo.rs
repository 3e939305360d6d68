//! A client of Kubo's RPC API (`POST /api/v0/<command>?arg=…&option=…`), the interface every
//! Kubo-compatible daemon serves (Kubo itself, the js-ipfs daemon, and `ipfs-kit daemon`).

use std::io::Read;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio_util::io::SyncIoBridge;

/// Errors talking to a Kubo RPC endpoint.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API address is neither a multiaddr, a URL nor `host:port`.
    #[error(
        "invalid Kubo API address {0:?}: expected /ip4/127.0.0.1/tcp/5001, http://host:port or host:port"
    )]
    InvalidAddress(String),
    /// Nothing answered at the address (connection refused, timeout, reset).
    #[error("no Kubo RPC API answering at {url}: {reason}")]
    Unreachable {
        /// The base URL tried.
        url: String,
        /// What the transport said.
        reason: String,
    },
    /// The daemon answered with an error (`{"Message","Code","Type":"error"}`).
    #[error("Kubo RPC {command} failed ({status}): {message}")]
    Api {
        /// The command (`pin/add`).
        command: String,
        /// The HTTP status.
        status: u16,
        /// The daemon's message.
        message: String,
    },
    /// The answer was not what the command documents.
    #[error("unexpected answer from Kubo RPC {command}: {reason}")]
    Decode {
        /// The command.
        command: String,
        /// What did not fit.
        reason: String,
    },
    /// An answer was larger than the caller allows.
    #[error("Kubo RPC {command} answered more than {limit} bytes")]
    TooLarge {
        /// The command.
        command: String,
        /// The limit, in bytes.
        limit: u64,
    },
    /// Reading what was to be uploaded failed (a local file, standard input).
    #[error("cannot read the upload for Kubo RPC {command}: {source}")]
    Upload {
        /// The command.
        command: String,
        /// The local failure.
        #[source]
        source: std::io::Error,
    },
    /// The caller cancelled the call.
    #[error("Kubo RPC {0} cancelled")]
    Cancelled(String),
}

impl Error {
    /// Whether the daemon could not be reached at all.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Error::Unreachable { .. })
    }

    /// The daemon's own message, for [`Error::Api`].
    pub fn api_message(&self) -> Option<&str> {
        match self {
            Error::Api { message, .. } => Some(message),
            _ => None,
        }
    }
}

/// A Kubo RPC API endpoint. Cheap to clone (one shared connection pool).
#[derive(Debug, Clone)]
pub struct KuboClient {
    base: String,
    http: reqwest::Client,
    auth: Option<String>,
}

impl KuboClient {
    /// A client of the API at `addr`: a multiaddr (`/ip4/127.0.0.1/tcp/5001`, `/dns4/host/tcp/5001/https`),
    /// a URL (`http://127.0.0.1:5001`) or `host:port`.
    pub fn new(addr: &str) -> Result<KuboClient, Error> {
        let base = base_url(addr)?;
        let http = crate::http_client_builder()
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| Error::Unreachable {
                url: base.clone(),
                reason: e.to_string(),
            })?;
        Ok(KuboClient {
            base,
            http,
            auth: None,
        })
    }

    /// Send `value` as the `Authorization` header of every request (Kubo's `API.Authorizations`:
    /// `Basic …` or `Bearer …`).
    pub fn with_authorization(mut self, value: impl Into<String>) -> Self {
        self.auth = Some(value.into());
        self
    }

    /// The base URL (`http://127.0.0.1:5001`).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// A POST request for `command` (`pin/add`) with query pairs (`arg` repeated for positionals).
    pub fn request(&self, command: &str, query: &[(&str, String)]) -> reqwest::RequestBuilder {
        let mut rb = self
            .http
            .post(format!("{}/api/v0/{command}", self.base))
            .query(query);
        if let Some(a) = &self.auth {
            rb = rb.header(reqwest::header::AUTHORIZATION, a);
        }
        rb
    }

    /// Send a request built by [`KuboClient::request`]; a non-2xx answer becomes [`Error::Api`].
    pub async fn send(
        &self,
        command: &str,
        rb: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Error> {
        let resp = rb.send().await.map_err(|e| self.transport(command, e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let body = resp.text().await.unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                v.get("Message")
                    .and_then(|m| m.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| body.trim().to_string());
        Err(Error::Api {
            command: command.to_string(),
            status: status.as_u16(),
            message,
        })
    }

    /// Call `command` and decode its single JSON answer (at most [`MAX_JSON_ANSWER`] bytes).
    pub async fn json<T: DeserializeOwned>(
        &self,
        command: &str,
        query: &[(&str, String)],
    ) -> Result<T, Error> {
        let resp = self.send(command, self.request(command, query)).await?;
        self.decode_json(command, resp).await
    }

    /// Call `command`, ignoring its answer (commands that answer nothing or `{}`).
    pub async fn call(&self, command: &str, query: &[(&str, String)]) -> Result<(), Error> {
        let resp = self.send(command, self.request(command, query)).await?;
        let mut bytes = self.bytes_of(command, resp);
        while bytes.chunk().await?.is_some() {}
        Ok(())
    }

    /// Decode a whole response body as one JSON value (at most [`MAX_JSON_ANSWER`] bytes).
    pub async fn decode_json<T: DeserializeOwned>(
        &self,
        command: &str,
        resp: reqwest::Response,
    ) -> Result<T, Error> {
        let body = self
            .bytes_of(command, resp)
            .collect(MAX_JSON_ANSWER)
            .await?;
        serde_json::from_slice(&body).map_err(|e| Error::Decode {
            command: command.to_string(),
            reason: e.to_string(),
        })
    }

    /// Call a streaming command and read its answer one JSON object per line.
    pub async fn ndjson(&self, command: &str, query: &[(&str, String)]) -> Result<Ndjson, Error> {
        let resp = self.send(command, self.request(command, query)).await?;
        Ok(self.ndjson_of(command, resp))
    }

    /// Read an answer already received one JSON object per line.
    pub fn ndjson_of(&self, command: &str, resp: reqwest::Response) -> Ndjson {
        Ndjson {
            body: self.bytes_of(command, resp),
            buf: Vec::new(),
            done: false,
        }
    }

    /// Call a command whose answer is raw bytes (`cat`, `get`, `block/get`, `dag/export`).
    pub async fn bytes(
        &self,
        command: &str,
        query: &[(&str, String)],
    ) -> Result<ByteStream, Error> {
        let resp = self.send(command, self.request(command, query)).await?;
        Ok(self.bytes_of(command, resp))
    }

    /// The body of an answer already received, as a byte stream.
    pub fn bytes_of(&self, command: &str, resp: reqwest::Response) -> ByteStream {
        ByteStream {
            resp,
            command: command.to_string(),
            base: self.base.clone(),
        }
    }

    /// Call a command that takes files (`add`, `block/put`, `dag/put`, `dag/import`, `files/write`)
    /// with a multipart body that `produce` writes part by part on a blocking thread. The body is
    /// streamed with bounded memory; setting `cancel` aborts it. The answer comes back while the
    /// body may still be in flight (Kubo streams `add` results as it reads): read it, then call
    /// [`UploadTask::finish`] to learn whether the whole body was produced.
    pub async fn upload<F>(
        &self,
        command: &str,
        query: &[(&str, String)],
        cancel: Option<Arc<AtomicBool>>,
        produce: F,
    ) -> Result<(reqwest::Response, UploadTask), Error>
    where
        F: FnOnce(&mut MultipartWriter) -> std::io::Result<()> + Send + 'static,
    {
        let boundary = boundary();
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(UPLOAD_QUEUE);
        let b = boundary.clone();
        let producer = tokio::task::spawn_blocking(move || {
            let mut w = MultipartWriter {
                out: tx,
                boundary: b,
                cancel,
                sent: 0,
            };
            let r = produce(&mut w).and_then(|()| w.finish());
            if let Err(e) = &r {
                // The body ends with this error instead of its closing boundary.
                let _ = w
                    .out
                    .blocking_send(Err(std::io::Error::new(e.kind(), e.to_string())));
            }
            r
        });
        let task = UploadTask {
            producer,
            command: command.to_string(),
        };
        let rb = self
            .request(command, query)
            .header(
                reqwest::header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(reqwest::Body::wrap_stream(
                tokio_stream::wrappers::ReceiverStream::new(rx),
            ));
        match self.send(command, rb).await {
            Ok(resp) => Ok((resp, task)),
            Err(e) => {
                // A local failure (or a cancel) explains a broken request better than the transport.
                let waited = tokio::time::timeout(Duration::from_secs(2), task.finish()).await;
                match (waited, e) {
                    (Ok(Err(local)), Error::Unreachable { .. } | Error::Decode { .. }) => {
                        Err(local)
                    }
                    (Ok(Err(local @ Error::Cancelled(_))), _) => Err(local),
                    (_, e) => Err(e),
                }
            }
        }
    }

    fn transport(&self, command: &str, e: reqwest::Error) -> Error {
        if e.is_decode() || e.is_body() {
            Error::Decode {
                command: command.to_string(),
                reason: e.to_string(),
            }
        } else {
            Error::Unreachable {
                url: self.base.clone(),
                reason: e.to_string(),
            }
        }
    }
}

/// Largest single JSON answer read ([`KuboClient::json`]).
pub const MAX_JSON_ANSWER: u64 = 64 * 1024 * 1024;
/// Longest line of a streamed JSON answer.
pub const MAX_JSON_LINE: usize = 16 * 1024 * 1024;
/// Buffers queued between an upload's producer and the HTTP body.
const UPLOAD_QUEUE: usize = 4;
/// Bytes buffered between a streamed answer and its blocking reader.
const STREAM_BUFFER: usize = 256 * 1024;
/// Bytes read from a local file per multipart chunk (each is handed to the HTTP body as it is:
/// one `writev` per chunk, no copy).
const CHUNK: usize = 1024 * 1024;

/// A streamed answer: one JSON object per line (`add`, `refs`, `repo/gc`, `pin/verify`, …).
#[derive(Debug)]
pub struct Ndjson {
    body: ByteStream,
    buf: Vec<u8>,
    done: bool,
}

impl Ndjson {
    /// The next object, or `None` at the end of the answer. Blank lines are skipped.
    pub async fn next<T: DeserializeOwned>(&mut self) -> Result<Option<T>, Error> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return self.decode(&line).map(Some);
            }
            if self.done {
                if self.buf.iter().all(u8::is_ascii_whitespace) {
                    return Ok(None);
                }
                let line = std::mem::take(&mut self.buf);
                return self.decode(&line).map(Some);
            }
            if self.buf.len() > MAX_JSON_LINE {
                return Err(Error::TooLarge {
                    command: self.body.command.clone(),
                    limit: MAX_JSON_LINE as u64,
                });
            }
            match self.body.chunk().await? {
                Some(c) => self.buf.extend_from_slice(&c),
                None => self.done = true,
            }
        }
    }

    fn decode<T: DeserializeOwned>(&self, line: &[u8]) -> Result<T, Error> {
        // Kubo reports an error met after streaming began as a last `{"Message","Type":"error"}`.
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(line)
            && v.get("Type").and_then(|t| t.as_str()) == Some("error")
            && let Some(m) = v.get("Message").and_then(|m| m.as_str())
        {
            return Err(Error::Api {
                command: self.body.command.clone(),
                status: 200,
                message: m.to_string(),
            });
        }
        serde_json::from_slice(line).map_err(|e| Error::Decode {
            command: self.body.command.clone(),
            reason: e.to_string(),
        })
    }
}

/// The producer of an upload's body ([`KuboClient::upload`]).
#[derive(Debug)]
pub struct UploadTask {
    producer: tokio::task::JoinHandle<std::io::Result<()>>,
    command: String,
}

impl UploadTask {
    /// Wait for the producer: `Ok` once the whole body was written.
    pub async fn finish(self) -> Result<(), Error> {
        let produced = self.producer.await.map_err(|e| Error::Upload {
            command: self.command.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        match produced {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                Err(Error::Cancelled(self.command))
            }
            Err(e) => Err(Error::Upload {
                command: self.command,
                source: e,
            }),
        }
    }
}

/// A raw byte answer (`cat`, `get`, `block/get`, `dag/export`, `files/read`).
#[derive(Debug)]
pub struct ByteStream {
    resp: reqwest::Response,
    command: String,
    base: String,
}

impl ByteStream {
    /// The next chunk, or `None` at the end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        self.resp.chunk().await.map_err(|e| Error::Unreachable {
            url: self.base.clone(),
            reason: format!("the {} answer broke off: {e}", self.command),
        })
    }

    /// The whole body, refusing more than `limit` bytes.
    pub async fn collect(mut self, limit: u64) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        while let Some(c) = self.chunk().await? {
            if (out.len() + c.len()) as u64 > limit {
                return Err(Error::TooLarge {
                    command: self.command,
                    limit,
                });
            }
            out.extend_from_slice(&c);
        }
        Ok(out)
    }

    /// A blocking [`Read`] of the body, for code on a blocking thread (it must run inside the
    /// tokio runtime, e.g. under `spawn_blocking`). A body that breaks off is a read error, never
    /// a silent end.
    pub fn into_blocking_read(mut self) -> BlockingBody {
        let (reader, mut writer) = tokio::io::duplex(STREAM_BUFFER);
        let failure: Arc<Mutex<Option<std::io::Error>>> = Arc::default();
        let slot = Arc::clone(&failure);
        tokio::spawn(async move {
            loop {
                match self.chunk().await {
                    Ok(Some(c)) => {
                        // The reader went away: stop, dropping the connection.
                        if writer.write_all(&c).await.is_err() {
                            return;
                        }
                    }
                    Ok(None) => {
                        let _ = writer.shutdown().await;
                        return;
                    }
                    Err(e) => {
                        if let Ok(mut f) = slot.lock() {
                            *f = Some(std::io::Error::other(e.to_string()));
                        }
                        return;
                    }
                }
            }
        });
        BlockingBody(SyncIoBridge::new(FailingReader {
            inner: reader,
            failure,
        }))
    }
}

/// A response body read from blocking code ([`ByteStream::into_blocking_read`]).
pub struct BlockingBody(SyncIoBridge<FailingReader>);

impl std::fmt::Debug for BlockingBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlockingBody")
    }
}

impl Read for BlockingBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

/// The read half of a pipe whose end is an error when the other side recorded one.
#[derive(Debug)]
pub struct FailingReader {
    inner: tokio::io::DuplexStream,
    failure: Arc<Mutex<Option<std::io::Error>>>,
}

impl AsyncRead for FailingReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &r
            && buf.filled().len() == before
            && buf.remaining() > 0
            && let Ok(mut f) = self.failure.lock()
            && let Some(e) = f.take()
        {
            return Poll::Ready(Err(e));
        }
        r
    }
}

/// Writes a multipart body with Kubo's part conventions (boxo's `MultiFileReader`): every part
/// is `form-data; name="file"` with the percent-escaped relative path as `filename`
/// ([`query_escape`]);
/// directories are `application/x-directory` parts, symlinks `application/symlink` parts whose
/// body is the target, files `application/octet-stream`. Mode and mtime travel as query
/// parameters of the part name, as Kubo's client sends them for `--preserve-mode/-mtime`.
pub struct MultipartWriter {
    out: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
    boundary: String,
    cancel: Option<Arc<AtomicBool>>,
    sent: u64,
}

impl std::fmt::Debug for MultipartWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultipartWriter")
            .field("sent", &self.sent)
            .finish()
    }
}

/// Optional per-entry metadata sent with a part.
#[derive(Debug, Clone, Copy, Default)]
pub struct PartMeta {
    /// Permission bits.
    pub mode: Option<u32>,
    /// Modification time: seconds and nanoseconds since the epoch.
    pub mtime: Option<(i64, u32)>,
}

impl MultipartWriter {
    fn header(
        &mut self,
        name: &str,
        content_type: &str,
        abspath: Option<&std::path::Path>,
        meta: PartMeta,
    ) -> std::io::Result<()> {
        self.check()?;
        let mut params = Vec::new();
        if let Some(m) = meta.mode {
            params.push(format!("mode=0{m:o}"));
        }
        if let Some((s, n)) = meta.mtime {
            params.push(format!("mtime={s}"));
            if n > 0 {
                params.push(format!("mtime-nsecs={n}"));
            }
        }
        let field = if params.is_empty() {
            "file".to_string()
        } else {
            format!("file?{}", params.join("&"))
        };
        let mut h = format!(
            "--{}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{}\"\r\nContent-Type: {content_type}\r\n",
            self.boundary,
            query_escape(name)
        );
        if let Some(p) = abspath {
            h.push_str(&format!("Abspath: {}\r\n", p.display()));
        }
        h.push_str("\r\n");
        self.send(Bytes::from(h))
    }

    /// A directory entry (`name` is the relative path, `/`-separated).
    pub fn directory(&mut self, name: &str, meta: PartMeta) -> std::io::Result<()> {
        self.header(name, "application/x-directory", None, meta)?;
        self.send(Bytes::from_static(b"\r\n"))
    }

    /// A symlink entry whose target is `target`.
    pub fn symlink(&mut self, name: &str, target: &str) -> std::io::Result<()> {
        self.header(name, "application/symlink", None, PartMeta::default())?;
        self.send(Bytes::from(format!("{target}\r\n")))
    }

    /// A file entry read from `data` (with its local absolute path when it has one). Returns
    /// the bytes sent; `progress` sees the running total of file bytes of the whole upload.
    pub fn file(
        &mut self,
        name: &str,
        abspath: Option<&std::path::Path>,
        meta: PartMeta,
        data: &mut dyn Read,
        progress: &mut dyn FnMut(u64),
    ) -> std::io::Result<u64> {
        self.header(name, "application/octet-stream", abspath, meta)?;
        let mut n = 0u64;
        loop {
            self.check()?;
            // Read straight into the buffer the body sends (no zeroing: `File` reads into
            // spare capacity).
            let mut buf = Vec::with_capacity(CHUNK);
            (&mut *data).take(CHUNK as u64).read_to_end(&mut buf)?;
            if buf.is_empty() {
                break;
            }
            let got = buf.len() as u64;
            self.send(Bytes::from(buf))?;
            n += got;
            self.sent += got;
            progress(self.sent);
        }
        self.send(Bytes::from_static(b"\r\n"))?;
        Ok(n)
    }

    /// File bytes sent so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.send(Bytes::from(format!("--{}--\r\n", self.boundary)))
    }

    /// Hand `b` to the HTTP body (waiting while the queue is full).
    fn send(&mut self, b: Bytes) -> std::io::Result<()> {
        self.out.blocking_send(Ok(b)).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the request ended before its body was sent",
            )
        })
    }

    fn check(&self) -> std::io::Result<()> {
        match &self.cancel {
            Some(c) if c.load(Ordering::SeqCst) => Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "upload cancelled",
            )),
            _ => Ok(()),
        }
    }
}

/// A part's `filename`: every byte but `A-Za-z0-9-_.~` percent-encoded. This is Go's
/// `url.QueryEscape` (what Kubo's client sends and its daemon undoes with `QueryUnescape`) except
/// that a space is `%20` rather than `+`: Kubo decodes both, and daemons that decode with
/// `decodeURIComponent` (js-ipfs) only understand `%20`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A multipart boundary unlikely to occur in the data (random per upload).
fn boundary() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    let a = h.finish();
    let mut h2 = std::collections::hash_map::RandomState::new().build_hasher();
    h2.write_u64(a);
    format!("ipfs-kit-{a:016x}{:016x}", h2.finish())
}

/// `http://host:port` (or `https://` for `/https` and `/tls` multiaddrs) for a multiaddr, URL or `host:port`:
/// the address forms Kubo's and Cluster's tools accept.
pub fn base_url(addr: &str) -> Result<String, Error> {
    let bad = || Error::InvalidAddress(addr.to_string());
    let addr = addr.trim();
    if let Some(rest) = addr
        .strip_prefix("http://")
        .or(addr.strip_prefix("https://"))
    {
        if rest.is_empty() || reqwest::Url::parse(addr).is_err() {
            return Err(bad());
        }
        return Ok(addr.trim_end_matches('/').to_string());
    }
    if addr.starts_with('/') {
        let parts: Vec<&str> = addr.split('/').skip(1).collect();
        let (proto, host, tcp, port) = match parts.as_slice() {
            [proto, host, tcp, port, ..] => (*proto, *host, *tcp, *port),
            _ => return Err(bad()),
        };
        if tcp != "tcp" || port.parse::<u16>().is_err() {
            return Err(bad());
        }
        let scheme = match parts.get(4) {
            None | Some(&"http") => "http",
            Some(&"https") | Some(&"tls") => "https",
            Some(_) => return Err(bad()),
        };
        let host = match proto {
            "ip4" if host.parse::<std::net::Ipv4Addr>().is_ok() => host.to_string(),
            "ip6" if host.parse::<std::net::Ipv6Addr>().is_ok() => format!("[{host}]"),
            "dns" | "dns4" | "dns6" if !host.is_empty() => host.to_string(),
            _ => return Err(bad()),
        };
        return Ok(format!("{scheme}://{host}:{port}"));
    }
    match addr.rsplit_once(':') {
        Some((host, port))
            if !host.is_empty() && !host.contains('/') && port.parse::<u16>().is_ok() =>
        {
            Ok(format!("http://{addr}"))
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::base_url;

    #[test]
    fn filenames_are_escaped_for_every_daemon() {
        assert_eq!(
            super::query_escape("dir/x y+z~é.txt"),
            "dir%2Fx%20y%2Bz~%C3%A9.txt"
        );
    }

    #[test]
    fn addresses() {
        assert_eq!(
            base_url("/ip4/127.0.0.1/tcp/5001").unwrap(),
            "http://127.0.0.1:5001"
        );
        assert_eq!(base_url("/ip6/::1/tcp/5001").unwrap(), "http://[::1]:5001");
        assert_eq!(
            base_url("/dns4/node.example/tcp/443/https").unwrap(),
            "https://node.example:443"
        );
        assert_eq!(
            base_url("http://localhost:5001/").unwrap(),
            "http://localhost:5001"
        );
        assert_eq!(base_url("localhost:5001").unwrap(), "http://localhost:5001");
        for bad in [
            "",
            "/ip4/1.2.3/tcp/5001",
            "/ip4/127.0.0.1/udp/5001",
            "host",
            "http://",
            "/ip4/127.0.0.1/tcp/99999",
        ] {
            assert!(base_url(bad).is_err(), "{bad}");
        }
    }
}
