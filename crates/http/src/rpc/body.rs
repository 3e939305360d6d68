//! File arguments: the `multipart/form-data` body read part by part (never whole) and handed
//! to blocking code through a bounded channel.

use std::io::Read;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::{Buf, Bytes};
use ipfs_kit_content::import::EntryMeta;
use ipfs_kit_content::unixfs::Mtime;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;

use super::reply::RpcError;

/// What a part holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PartKind {
    /// `application/x-directory`.
    Dir,
    /// `application/symlink`: the body is the target.
    Symlink,
    /// Anything else: file bytes.
    File,
}

/// A part's header: its relative path (URL-unescaped, as Kubo reads `filename`), kind and
/// metadata (from `name="file?mode=…&mtime=…"`).
#[derive(Debug, Clone)]
pub(crate) struct PartHead {
    pub(crate) path: String,
    pub(crate) kind: PartKind,
    pub(crate) meta: EntryMeta,
}

/// Messages from the body reader to the blocking consumer.
#[derive(Debug)]
enum Feed {
    Head(PartHead),
    Data(Bytes),
    End,
    Failed(String),
}

/// Parts in flight (each message holds at most one network read).
const FEED_QUEUE: usize = 32;

/// Go's `url.QueryUnescape` (`+` is a space), falling back to the raw name as Kubo does.
fn query_unescape(s: &str) -> String {
    let plus = s.replace('+', " ");
    match percent_encoding::percent_decode_str(&plus).decode_utf8() {
        Ok(d) => d.into_owned(),
        Err(_) => s.to_string(),
    }
}

fn part_meta(field_name: Option<&str>) -> EntryMeta {
    let mut meta = EntryMeta::default();
    let Some((_, query)) = field_name.and_then(|n| n.split_once('?')) else {
        return meta;
    };
    let mut secs = None;
    let mut nsecs = 0u32;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "mode" => meta.mode = u32::from_str_radix(&v, 8).ok(),
            "mtime" => secs = v.parse::<i64>().ok(),
            "mtime-nsecs" => nsecs = v.parse().unwrap_or(0),
            _ => {}
        }
    }
    if let Some(seconds) = secs {
        meta.mtime = Some(Mtime {
            seconds,
            nanos: Some(nsecs).filter(|&n| n != 0 && n < 1_000_000_000),
        });
    }
    meta
}

/// Start reading the multipart body of a request; `None` when the request has none.
pub(crate) fn start(headers: &HeaderMap, body: Body) -> Result<Option<PartFeed>, RpcError> {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime != "multipart/form-data" && mime != "multipart/mixed" {
        return Ok(None);
    }
    let boundary = boundary_of(ct)
        .ok_or_else(|| RpcError::client("bad multipart body: no boundary in the Content-Type"))?;
    let mut parser = Parser::new(&boundary);
    let mut frames = body.into_data_stream();
    let (tx, rx) = mpsc::channel(FEED_QUEUE);
    tokio::spawn(async move {
        let mut events = Vec::new();
        let result: Result<(), String> = async {
            while let Some(frame) = frames.next().await {
                let frame = frame.map_err(|e| e.to_string())?;
                parser.push(frame, &mut events)?;
                for ev in events.drain(..) {
                    if tx.send(ev).await.is_err() {
                        return Ok(());
                    }
                }
                if parser.state == State::Done {
                    return Ok(());
                }
            }
            parser.finish()
        }
        .await;
        if let Err(e) = result {
            let _ = tx
                .send(Feed::Failed(format!("reading the request body: {e}")))
                .await;
        }
    });
    Ok(Some(PartFeed {
        rx,
        cur: Bytes::new(),
        in_part: false,
    }))
}

/// The `boundary` parameter of a multipart Content-Type (quoted or not).
fn boundary_of(ct: &str) -> Option<String> {
    params(ct.split_once(';')?.1)
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v)
        .filter(|b| !b.is_empty() && b.len() <= MAX_BOUNDARY)
}

/// `key=value` parameters of a header value (after its first `;`): values quoted (with `\`
/// escapes) or not; pieces without `=` are skipped.
fn params(s: &str) -> impl Iterator<Item = (String, String)> + '_ {
    let mut rest = s;
    std::iter::from_fn(move || {
        loop {
            rest = rest.trim_start_matches(|c: char| c == ';' || c.is_ascii_whitespace());
            if rest.is_empty() {
                return None;
            }
            let key_end = rest.find(['=', ';']).unwrap_or(rest.len());
            let key = rest[..key_end].trim().to_string();
            rest = &rest[key_end..];
            let Some(after) = rest.strip_prefix('=') else {
                continue;
            };
            let after = after.trim_start();
            let value = if let Some(q) = after.strip_prefix('"') {
                let mut v = String::new();
                let mut chars = q.char_indices();
                let mut end = q.len();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, n)) = chars.next() {
                                v.push(n);
                            }
                        }
                        '"' => {
                            end = i + 1;
                            break;
                        }
                        c => v.push(c),
                    }
                }
                rest = &q[end..];
                v
            } else {
                let end = after.find(';').unwrap_or(after.len());
                rest = &after[end..];
                after[..end].trim().to_string()
            };
            return Some((key, value));
        }
    })
}

/// Longest boundary accepted (RFC 2046 allows 70 characters).
const MAX_BOUNDARY: usize = 200;
/// Most bytes of one part's header block.
const MAX_PART_HEADER: usize = 16 * 1024;
/// Most header lines in one part.
const MAX_PART_HEADERS: usize = 32;
/// Most bytes of transport padding after a boundary.
const MAX_PADDING: usize = 1024;

/// Where the parser is in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first boundary (the preamble is skipped).
    Preamble,
    /// Just after a boundary: `--` ends the body, a line break starts a part.
    AfterBoundary,
    /// Reading a part's header block.
    Headers,
    /// Reading a part's bytes.
    Data,
    /// After the closing boundary (the epilogue is ignored).
    Done,
}

/// A `multipart/form-data` parser over the body's frames. Part bytes come out as slices of the
/// frames, never copied (the multipart reader used before gathered every frame into one growing
/// buffer first: ~17 % of the daemon's CPU time during a large add). Only bytes that may be the
/// start of a boundary at a frame's end, and header blocks, are kept over to the next frame.
struct Parser {
    /// `\r\n--` and the boundary: what ends a part's bytes.
    delim: Vec<u8>,
    finder: memchr::memmem::Finder<'static>,
    state: State,
    /// Bytes kept from the previous frame (a possible boundary start, a partial header block).
    carry: Vec<u8>,
}

impl Parser {
    fn new(boundary: &str) -> Self {
        let delim = format!("\r\n--{boundary}").into_bytes();
        Parser {
            finder: memchr::memmem::Finder::new(&delim).into_owned(),
            delim,
            state: State::Preamble,
            // The first boundary may open the body, with no line break before it.
            carry: b"\r\n".to_vec(),
        }
    }

    /// Parse one more frame, adding what it completes to `out`.
    fn push(&mut self, frame: Bytes, out: &mut Vec<Feed>) -> Result<(), String> {
        let data = if self.carry.is_empty() {
            frame
        } else {
            let mut joined = std::mem::take(&mut self.carry);
            joined.extend_from_slice(&frame);
            Bytes::from(joined)
        };
        let mut at = 0;
        while at < data.len() {
            match self.state {
                State::Done => return Ok(()),
                State::Preamble | State::Data => {
                    let rest = &data[at..];
                    if let Some(k) = self.finder.find(rest) {
                        if self.state == State::Data {
                            if k > 0 {
                                out.push(Feed::Data(data.slice(at..at + k)));
                            }
                            out.push(Feed::End);
                        }
                        at += k + self.delim.len();
                        self.state = State::AfterBoundary;
                        continue;
                    }
                    let keep = self.partial_delim(rest);
                    let upto = data.len() - keep;
                    if self.state == State::Data && upto > at {
                        out.push(Feed::Data(data.slice(at..upto)));
                    }
                    self.carry.extend_from_slice(&data[upto..]);
                    return Ok(());
                }
                State::AfterBoundary => {
                    let rest = &data[at..];
                    if rest.len() < 2 {
                        break;
                    }
                    if rest.starts_with(b"--") {
                        self.state = State::Done;
                        return Ok(());
                    }
                    let pad = rest
                        .iter()
                        .position(|&b| b != b' ' && b != b'\t')
                        .unwrap_or(rest.len());
                    if pad > MAX_PADDING {
                        return Err("malformed multipart boundary line".into());
                    }
                    if rest.len() < pad + 2 {
                        break;
                    }
                    if &rest[pad..pad + 2] != b"\r\n" {
                        return Err("malformed multipart boundary line".into());
                    }
                    at += pad + 2;
                    self.state = State::Headers;
                }
                State::Headers => {
                    let rest = &data[at..];
                    // An empty header block is a bare line break.
                    let end = if rest.starts_with(b"\r\n") {
                        Some((0, 2))
                    } else {
                        memchr::memmem::find(rest, b"\r\n\r\n").map(|k| (k, k + 4))
                    };
                    let Some((k, skip)) = end else {
                        if rest.len() > MAX_PART_HEADER {
                            return Err(format!(
                                "a part's headers are over {MAX_PART_HEADER} bytes"
                            ));
                        }
                        break;
                    };
                    if k > MAX_PART_HEADER {
                        return Err(format!("a part's headers are over {MAX_PART_HEADER} bytes"));
                    }
                    out.push(Feed::Head(part_head(&rest[..k])?));
                    at += skip;
                    self.state = State::Data;
                }
            }
        }
        self.carry.extend_from_slice(&data[at..]);
        Ok(())
    }

    /// How many bytes at the end of `rest` may be the start of a boundary (kept for the next
    /// frame). The delimiter starts with `\r`, so only those positions are checked.
    fn partial_delim(&self, rest: &[u8]) -> usize {
        let window = rest.len().min(self.delim.len() - 1);
        let tail = &rest[rest.len() - window..];
        for (i, &b) in tail.iter().enumerate() {
            if b == b'\r' && self.delim.starts_with(&tail[i..]) {
                return window - i;
            }
        }
        0
    }

    /// The body ended: fine only after the closing boundary.
    fn finish(&self) -> Result<(), String> {
        match self.state {
            State::Done => Ok(()),
            State::Preamble => Err("no multipart boundary found".into()),
            _ => Err("the multipart body ended before its closing boundary".into()),
        }
    }
}

/// A part's header block: its name, file name, kind and metadata.
fn part_head(block: &[u8]) -> Result<PartHead, String> {
    let text = std::str::from_utf8(block).map_err(|_| "a part's headers are not UTF-8")?;
    let (mut disposition, mut content_type) = (None, None);
    let mut count = 0;
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        count += 1;
        if count > MAX_PART_HEADERS {
            return Err(format!("a part has over {MAX_PART_HEADERS} headers"));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("malformed part header {line:?}"))?;
        let name = name.trim();
        if name.is_empty() || name.contains(|c: char| c.is_ascii_whitespace()) {
            return Err(format!("malformed part header {line:?}"));
        }
        if name.eq_ignore_ascii_case("content-disposition") {
            disposition = Some(value.trim());
        } else if name.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.trim());
        }
    }
    let (mut field_name, mut file_name) = (None, None);
    if let Some(d) = disposition {
        for (k, v) in params(d.split_once(';').map_or("", |(_, p)| p)) {
            if k.eq_ignore_ascii_case("name") {
                field_name.get_or_insert(v);
            } else if k.eq_ignore_ascii_case("filename") {
                file_name.get_or_insert(v);
            }
        }
    }
    let essence = content_type.map(|c| {
        c.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    let kind = match essence.as_deref() {
        Some("application/x-directory") => PartKind::Dir,
        Some("application/symlink") => PartKind::Symlink,
        Some("multipart/mixed") | Some("multipart/form-data") => {
            return Err(
                "nested multipart directories are not supported; send one part per entry".into(),
            );
        }
        _ => PartKind::File,
    };
    Ok(PartHead {
        path: query_unescape(file_name.as_deref().unwrap_or("")),
        kind,
        meta: part_meta(field_name.as_deref()),
    })
}

/// The blocking side: parts one after another, each readable as a byte stream.
pub(crate) struct PartFeed {
    rx: mpsc::Receiver<Feed>,
    cur: Bytes,
    in_part: bool,
}

fn broken(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg)
}

impl PartFeed {
    /// The next part's header (the rest of the current part is skipped); `None` at the end.
    pub(crate) fn next_part(&mut self) -> std::io::Result<Option<PartHead>> {
        while self.in_part {
            let mut sink = [0u8; 8192];
            if self.read(&mut sink)? == 0 {
                break;
            }
        }
        match self.rx.blocking_recv() {
            None => Ok(None),
            Some(Feed::Head(h)) => {
                self.in_part = true;
                self.cur = Bytes::new();
                Ok(Some(h))
            }
            Some(Feed::Failed(e)) => Err(broken(e)),
            Some(_) => Err(broken("multipart data outside a part".into())),
        }
    }

    /// The next part's header, from async code.
    pub(crate) async fn next_part_async(&mut self) -> std::io::Result<Option<PartHead>> {
        while self.in_part {
            if self.read_async().await?.is_none() {
                break;
            }
        }
        match self.rx.recv().await {
            None => Ok(None),
            Some(Feed::Head(h)) => {
                self.in_part = true;
                self.cur = Bytes::new();
                Ok(Some(h))
            }
            Some(Feed::Failed(e)) => Err(broken(e)),
            Some(_) => Err(broken("multipart data outside a part".into())),
        }
    }

    /// The next chunk of the current part, from async code; `None` at its end.
    pub(crate) async fn read_async(&mut self) -> std::io::Result<Option<Bytes>> {
        if !self.cur.is_empty() {
            return Ok(Some(std::mem::take(&mut self.cur)));
        }
        if !self.in_part {
            return Ok(None);
        }
        match self.rx.recv().await {
            Some(Feed::Data(b)) => Ok(Some(b)),
            Some(Feed::End) => {
                self.in_part = false;
                Ok(None)
            }
            Some(Feed::Failed(e)) => Err(broken(e)),
            Some(Feed::Head(_)) | None => {
                Err(broken("the request body ended inside a part".into()))
            }
        }
    }

    /// The whole current part, refusing more than `limit` bytes (async).
    pub(crate) async fn read_all_async(&mut self, limit: usize) -> Result<Vec<u8>, RpcError> {
        let mut out = Vec::new();
        while let Some(b) = self
            .read_async()
            .await
            .map_err(|e| RpcError::normal(e.to_string()))?
        {
            if out.len() + b.len() > limit {
                return Err(RpcError::normal(format!(
                    "the part is over the {limit}-byte limit"
                )));
            }
            out.extend_from_slice(&b);
        }
        Ok(out)
    }
}

impl Read for PartFeed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            if !self.in_part {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Feed::Data(b)) => self.cur = b,
                Some(Feed::End) => {
                    self.in_part = false;
                    return Ok(0);
                }
                Some(Feed::Failed(e)) => return Err(broken(e)),
                Some(Feed::Head(_)) | None => {
                    return Err(broken("the request body ended inside a part".into()));
                }
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        self.cur.advance(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_meta() {
        assert_eq!(query_unescape("a%20b+c%2Bd"), "a b c+d");
        assert_eq!(query_unescape("%zz"), "%zz");
        let m = part_meta(Some("file-1?mode=0644&mtime=5&mtime-nsecs=7"));
        assert_eq!(m.mode, Some(0o644));
        assert_eq!(
            m.mtime,
            Some(Mtime {
                seconds: 5,
                nanos: Some(7)
            })
        );
        assert_eq!(part_meta(Some("file")), EntryMeta::default());
    }

    /// Run the parser over `body` cut into frames of `step` bytes: parts as (head, bytes).
    fn parse(boundary: &str, body: &[u8], step: usize) -> Result<Vec<(PartHead, Vec<u8>)>, String> {
        let mut p = Parser::new(boundary);
        let mut events = Vec::new();
        for frame in body.chunks(step.max(1)) {
            p.push(Bytes::copy_from_slice(frame), &mut events)?;
            if p.state == State::Done {
                break;
            }
        }
        p.finish()?;
        let mut parts: Vec<(PartHead, Vec<u8>)> = Vec::new();
        let mut open = false;
        for ev in events {
            match ev {
                Feed::Head(h) => {
                    assert!(!open, "a part started inside a part");
                    open = true;
                    parts.push((h, Vec::new()));
                }
                Feed::Data(b) => {
                    assert!(open && !b.is_empty());
                    parts.last_mut().unwrap().1.extend_from_slice(&b);
                }
                Feed::End => {
                    assert!(open);
                    open = false;
                }
                Feed::Failed(e) => return Err(e),
            }
        }
        assert!(!open);
        Ok(parts)
    }

    #[test]
    fn multipart_parts_across_any_frame_split() {
        let b = "xYz-42";
        // Data full of near-boundaries: line breaks, dashes, the boundary without its `--`.
        let mut tricky = Vec::new();
        for i in 0..300u32 {
            tricky.extend_from_slice(b"\r\n-");
            tricky.extend_from_slice(b"\r\n--xYz-4");
            tricky.extend_from_slice(b"\r\nxYz-42");
            tricky.push((i % 251) as u8);
            tricky.push(b'\r');
        }
        let body = [
            &b"preamble to skip\r\n--xYz-42\r\n"[..],
            b"Content-Disposition: form-data; name=\"file\"; filename=\"a%20b.txt\"\r\n",
            b"Content-Type: application/octet-stream\r\n\r\n",
            &tricky,
            b"\r\n--xYz-42  \r\n",
            b"content-disposition: form-data; name=\"file-1?mode=0755\"; filename=\"d\"\r\n",
            b"CONTENT-TYPE: Application/X-Directory\r\n\r\n",
            b"\r\n--xYz-42\r\n\r\n",
            b"no headers\r\n--xYz-42\r\n",
            b"Content-Disposition: form-data; filename=empty\r\n\r\n",
            b"\r\n--xYz-42--\r\nepilogue",
        ]
        .concat();
        for step in [1, 2, 3, 7, 13, 64, 1000, body.len()] {
            let parts = parse(b, &body, step).unwrap_or_else(|e| panic!("step {step}: {e}"));
            assert_eq!(parts.len(), 4, "step {step}");
            assert_eq!(parts[0].0.path, "a b.txt");
            assert_eq!(parts[0].0.kind, PartKind::File);
            assert_eq!(parts[0].1, tricky, "step {step}");
            assert_eq!(parts[1].0.path, "d");
            assert_eq!(parts[1].0.kind, PartKind::Dir);
            assert_eq!(parts[1].0.meta.mode, Some(0o755));
            assert!(parts[1].1.is_empty());
            assert_eq!(parts[2].0.path, "");
            assert_eq!(parts[2].1, b"no headers");
            assert_eq!(parts[3].0.path, "empty");
            assert!(parts[3].1.is_empty());
        }
    }

    #[test]
    fn multipart_errors() {
        // No boundary at all, a body cut inside a part, a bad boundary line, bad headers.
        assert!(parse("b", b"this is not multipart at all", 5).is_err());
        assert!(parse("b", b"--b\r\n\r\nabc\r\n--b", 4).is_err());
        assert!(parse("b", b"--b\r\n\r\nabc", 100).is_err());
        assert!(parse("b", b"--bx\r\n\r\nabc\r\n--b--", 100).is_err());
        assert!(parse("b", b"--b\r\nno colon\r\n\r\n\r\n--b--", 100).is_err());
        let huge = format!("--b\r\nX: {}\r\n\r\n\r\n--b--", "y".repeat(MAX_PART_HEADER));
        assert!(parse("b", huge.as_bytes(), 4096).is_err());
        let nested = b"--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n\r\n--b--";
        assert!(parse("b", nested, 100).unwrap_err().contains("nested"));
        // Only the closing boundary: no parts, no error.
        assert!(parse("b", b"--b--\r\n", 1).unwrap().is_empty());
    }

    #[test]
    fn content_type_parameters() {
        assert_eq!(
            boundary_of("multipart/form-data; boundary=abc").as_deref(),
            Some("abc")
        );
        assert_eq!(
            boundary_of("multipart/form-data; charset=x; Boundary=\"a b;c\"").as_deref(),
            Some("a b;c")
        );
        assert_eq!(boundary_of("multipart/form-data"), None);
        assert_eq!(boundary_of("multipart/form-data; boundary="), None);
        let p: Vec<_> = params(" name=\"a\\\"b\"; filename = c.txt ;x").collect();
        assert_eq!(
            p,
            vec![
                ("name".to_string(), "a\"b".to_string()),
                ("filename".to_string(), "c.txt".to_string())
            ]
        );
    }
}
