//! Kubo's response conventions: error JSON, single values, ndjson streams (`X-Chunked-Output`),
//! byte streams (`X-Stream-Output`, `X-Content-Length`) and the `X-Stream-Error` trailer for
//! errors after the status line went out.

use std::convert::Infallible;
use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame};
use ipfs_kit_ops::{OpContext, OpError};
use serde::Serialize;
use tokio::sync::mpsc;

/// Kubo's error categories (`cmds.ErrorType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// The command failed (HTTP 500, Code 0).
    Normal,
    /// The request was invalid (HTTP 400, Code 1).
    Client,
}

/// An error answered as `{"Message","Code","Type":"error"}`.
#[derive(Debug, Clone)]
pub(crate) struct RpcError {
    pub(crate) status: StatusCode,
    pub(crate) kind: ErrorKind,
    pub(crate) message: String,
}

impl RpcError {
    /// A bad request (400, Code 1).
    pub(crate) fn client(message: impl Into<String>) -> Self {
        RpcError {
            status: StatusCode::BAD_REQUEST,
            kind: ErrorKind::Client,
            message: message.into(),
        }
    }

    /// A failed command (500, Code 0).
    pub(crate) fn normal(message: impl Into<String>) -> Self {
        RpcError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: ErrorKind::Normal,
            message: message.into(),
        }
    }

    /// A client error with another status (404 unknown command, 405 method).
    pub(crate) fn with_status(status: StatusCode, message: impl Into<String>) -> Self {
        RpcError {
            status,
            kind: ErrorKind::Client,
            message: message.into(),
        }
    }
}

impl From<OpError> for RpcError {
    fn from(e: OpError) -> Self {
        // Kubo answers every failure of a command's run with 500 / Code 0; only argument
        // parsing is a client error.
        RpcError::normal(e.message)
    }
}

impl IntoResponse for RpcError {
    fn into_response(self) -> Response {
        let code = match self.kind {
            ErrorKind::Normal => 0,
            ErrorKind::Client => 1,
        };
        let mut body = serde_json::to_vec(&serde_json::json!({
            "Message": self.message,
            "Code": code,
            "Type": "error",
        }))
        .unwrap_or_default();
        body.push(b'\n');
        let mut res = (self.status, body).into_response();
        common_headers(res.headers_mut());
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            res.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("OPTIONS, POST"));
        }
        res
    }
}

const X_STREAM_ERROR: HeaderName = HeaderName::from_static("x-stream-error");

fn common_headers(h: &mut HeaderMap) {
    let exposed = HeaderValue::from_static("X-Stream-Output, X-Chunked-Output, X-Content-Length");
    h.insert("access-control-allow-headers", exposed.clone());
    h.insert("access-control-expose-headers", exposed);
    h.insert(header::TRAILER, HeaderValue::from_static("X-Stream-Error"));
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
}

/// One value as Kubo's `cmds.EmitOnce` sends it: JSON and a newline.
pub(crate) fn single<T: Serialize>(value: &T) -> Response {
    let mut body = match serde_json::to_vec(value) {
        Ok(b) => b,
        Err(e) => {
            return RpcError::normal(format!("cannot encode the output: {e}")).into_response();
        }
    };
    body.push(b'\n');
    let mut res = (StatusCode::OK, body).into_response();
    common_headers(res.headers_mut());
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// A command that succeeded with no output (200, empty body).
pub(crate) fn empty() -> Response {
    let mut res = StatusCode::OK.into_response();
    common_headers(res.headers_mut());
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res.headers_mut()
        .insert("x-chunked-output", HeaderValue::from_static("1"));
    res
}

/// What a stream carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamKind {
    /// One JSON value per line.
    Json,
    /// Raw bytes.
    Bytes,
}

/// One message of a response stream.
#[derive(Debug)]
pub(crate) enum Chunk {
    /// Body bytes.
    Data(Bytes),
    /// The command failed: the error, as JSON before any byte went out, else as trailer.
    Error(RpcError),
}

/// Messages in flight between a producer and the connection (each at most [`FLUSH_AT`] bytes).
const QUEUE: usize = 8;
/// Bytes buffered by a producer before they are handed to the connection.
pub(crate) const FLUSH_AT: usize = 256 * 1024;

/// The receiving side: a response body fed by a bounded channel. Dropping it (the client went
/// away) cancels the producing operation.
pub(crate) struct ChannelBody {
    rx: mpsc::Receiver<Chunk>,
    first: Option<Bytes>,
    cx: OpContext,
    finished: bool,
}

impl Drop for ChannelBody {
    fn drop(&mut self) {
        if !self.finished {
            self.cx.cancel();
        }
    }
}

fn header_safe(message: &str) -> HeaderValue {
    let clean: String = message
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(1024)
        .collect();
    HeaderValue::from_str(&clean).unwrap_or_else(|_| HeaderValue::from_static("error"))
}

impl HttpBody for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(b) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(b))));
        }
        if self.finished {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Chunk::Data(b))) => Poll::Ready(Some(Ok(Frame::data(b)))),
            Poll::Ready(Some(Chunk::Error(e))) => {
                self.finished = true;
                let mut trailers = HeaderMap::new();
                trailers.insert(X_STREAM_ERROR, header_safe(&e.message));
                Poll::Ready(Some(Ok(Frame::trailers(trailers))))
            }
            Poll::Ready(None) => {
                self.finished = true;
                Poll::Ready(None)
            }
        }
    }
}

/// The producing side, usable from blocking code (`Write`) and from async code.
pub(crate) struct ChunkWriter {
    tx: mpsc::Sender<Chunk>,
    buf: Vec<u8>,
    /// Flush after every JSON line (progress must reach the client as it happens).
    pub(crate) live: bool,
}

fn gone() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
}

impl ChunkWriter {
    /// Hand the buffered bytes to the connection (blocking).
    pub(crate) fn flush_blocking(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let data = Bytes::from(std::mem::take(&mut self.buf));
        self.tx.blocking_send(Chunk::Data(data)).map_err(|_| gone())
    }

    /// Hand `data` to the connection as is, after what is buffered (blocking, zero-copy).
    pub(crate) fn send_bytes(&mut self, data: Bytes) -> std::io::Result<()> {
        self.flush_blocking()?;
        if data.is_empty() {
            return Ok(());
        }
        self.tx.blocking_send(Chunk::Data(data)).map_err(|_| gone())
    }

    /// Write one JSON line (blocking).
    pub(crate) fn emit<T: Serialize>(&mut self, value: &T) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.buf, value).map_err(std::io::Error::other)?;
        self.buf.push(b'\n');
        if self.live || self.buf.len() >= FLUSH_AT {
            self.flush_blocking()?;
        }
        Ok(())
    }

    /// Write one JSON line (async).
    pub(crate) async fn emit_async<T: Serialize>(&mut self, value: &T) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.buf, value).map_err(std::io::Error::other)?;
        self.buf.push(b'\n');
        if self.live || self.buf.len() >= FLUSH_AT {
            let data = Bytes::from(std::mem::take(&mut self.buf));
            self.tx.send(Chunk::Data(data)).await.map_err(|_| gone())?;
        }
        Ok(())
    }

    /// End the stream: flush, then the error if any (blocking).
    pub(crate) fn finish_blocking(mut self, result: Result<(), RpcError>) {
        // A client that is gone reads neither the rest nor the error.
        if self.flush_blocking().is_ok()
            && let Err(e) = result
        {
            let _ = self.tx.blocking_send(Chunk::Error(e));
        }
    }

    /// End the stream: flush, then the error if any (async).
    pub(crate) async fn finish_async(mut self, result: Result<(), RpcError>) {
        if !self.buf.is_empty() {
            let data = Bytes::from(std::mem::take(&mut self.buf));
            let _ = self.tx.send(Chunk::Data(data)).await;
        }
        if let Err(e) = result {
            let _ = self.tx.send(Chunk::Error(e)).await;
        }
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= FLUSH_AT {
            self.flush_blocking()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // Buffered bytes go out when FLUSH_AT is reached or at the end; an explicit flush
        // from an encoder must not turn every small write into a message.
        Ok(())
    }
}

/// A bounded channel from a producer to a response body.
pub(crate) fn channel() -> (ChunkWriter, mpsc::Receiver<Chunk>) {
    let (tx, rx) = mpsc::channel(QUEUE);
    (
        ChunkWriter {
            tx,
            buf: Vec::with_capacity(FLUSH_AT),
            live: false,
        },
        rx,
    )
}

/// Wait for the producer's first message, then answer: its error as Kubo's error JSON when
/// nothing was produced, else a streaming body (later errors go to the trailer).
pub(crate) async fn stream_response(
    kind: StreamKind,
    mut rx: mpsc::Receiver<Chunk>,
    cx: OpContext,
    length: Option<u64>,
) -> Response {
    let first = match rx.recv().await {
        Some(Chunk::Error(e)) => return e.into_response(),
        Some(Chunk::Data(b)) => Some(b),
        None => None,
    };
    let finished = first.is_none();
    let body = ChannelBody {
        rx,
        first,
        cx,
        finished,
    };
    let mut res = Response::new(Body::new(body));
    let h = res.headers_mut();
    common_headers(h);
    match kind {
        StreamKind::Json => {
            h.insert("x-chunked-output", HeaderValue::from_static("1"));
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        StreamKind::Bytes => {
            h.insert("x-stream-output", HeaderValue::from_static("1"));
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        }
    }
    if let Some(n) = length {
        h.insert("x-content-length", HeaderValue::from(n));
    }
    res
}

/// A response body that holds a guard until it is dropped. Without `TE: trailers` in the
/// request hyper drops trailers silently, so an error after the status line aborts the
/// connection instead: the client sees a broken transfer, never a clean end.
pub(crate) struct Guarded<G> {
    pub(crate) body: Body,
    pub(crate) _guard: G,
    pub(crate) trailers_ok: bool,
    /// The stream error to abort with once what came before it is flushed.
    pub(crate) abort: Option<String>,
}

impl<G: Unpin> HttpBody for Guarded<G> {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if let Some(message) = self.abort.take() {
            return Poll::Ready(Some(Err(axum::Error::new(std::io::Error::other(message)))));
        }
        let trailers_ok = self.trailers_ok;
        match Pin::new(&mut self.body).poll_frame(cx) {
            Poll::Ready(Some(Ok(f))) if f.is_trailers() && !trailers_ok => {
                let message = f
                    .trailers_ref()
                    .and_then(|t| t.get(X_STREAM_ERROR))
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("error")
                    .to_string();
                // Yield once before aborting: hyper flushes what it has buffered (the status
                // line and every line so far) when the body is pending, so the client gets them
                // before the broken transfer, instead of an empty reply.
                self.abort = Some(message);
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
