//! A streaming `multipart/form-data` (and `multipart/mixed`) reader that hands out each part's
//! bytes as slices of the buffers the network delivered.
//!
//! Why not `multer`: it copies every byte of the body into its own buffer before finding the
//! boundary, and searches that whole buffer again for each chunk it returns. `ipfs add` over
//! the RPC API is the hot path of this daemon: with the importer storing the slices as they are
//! (`SharedRead`), this reader makes the body's only copy the kernel's, out of the socket.
//!
//! The grammar is RFC 2046 §5.1.1 as Go's `mime/multipart` reads it (Kubo's server): an optional
//! preamble, `--boundary`, then parts each made of a header block, an empty line and the data,
//! every part ended by `CRLF--boundary`; `--` after a boundary ends the body (the epilogue is
//! ignored); spaces and tabs may follow a boundary before its line ends.

use bytes::{Buf, Bytes, BytesMut};
use memchr::memmem::Finder;
use tokio_stream::{Stream, StreamExt};

/// Longest header block of one part.
const MAX_HEADER_BLOCK: usize = 64 * 1024;
/// Most bytes before the first boundary.
const MAX_PREAMBLE: usize = 64 * 1024;
/// Longest boundary (RFC 2046 allows 70 characters; be lenient, as Go is).
const MAX_BOUNDARY: usize = 200;

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MultipartError {
    /// The request's `Content-Type` names no usable boundary.
    #[error("no multipart boundary in the Content-Type")]
    NoBoundary,
    /// The body does not start with the boundary.
    #[error("the body does not start with its multipart boundary")]
    NoFirstBoundary,
    /// A part's header block is malformed or too long.
    #[error("malformed part headers: {0}")]
    Headers(String),
    /// Something other than CRLF or `--` follows a boundary.
    #[error("malformed multipart boundary line")]
    BoundaryLine,
    /// The body ended before the closing boundary.
    #[error("the multipart body ended before its closing boundary")]
    Incomplete,
    /// Reading the body failed.
    #[error("{0}")]
    Stream(String),
}

/// The headers of one part that matter here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PartHeaders {
    /// `Content-Disposition`'s `name`.
    pub(crate) name: Option<String>,
    /// `Content-Disposition`'s `filename` (or `filename*`).
    pub(crate) file_name: Option<String>,
    /// The `Content-Type` essence, lowercased (`application/x-directory`).
    pub(crate) content_type: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first boundary.
    Preamble,
    /// Just after a boundary: `--` or the end of its line comes next.
    AfterBoundary,
    /// Inside a part's data.
    Data,
    /// A part's data is all returned and its boundary consumed.
    Ending,
    /// After the closing boundary.
    Done,
}

/// The boundary of a `multipart/*` Content-Type value.
pub(crate) fn boundary(content_type: &str) -> Result<String, MultipartError> {
    let (_, params) = content_type
        .split_once(';')
        .ok_or(MultipartError::NoBoundary)?;
    match param(params, "boundary") {
        Some(b) if !b.is_empty() && b.len() <= MAX_BOUNDARY => Ok(b),
        _ => Err(MultipartError::NoBoundary),
    }
}

/// A multipart body read part by part.
pub(crate) struct Multipart<S> {
    stream: S,
    /// Bytes received and not yet consumed.
    cur: Bytes,
    /// `CRLF--boundary`.
    delim: Vec<u8>,
    finder: Finder<'static>,
    state: State,
}

impl<S, E> Multipart<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    /// Read `stream`, a body whose parts are separated by `boundary`.
    pub(crate) fn new(stream: S, boundary: &str) -> Self {
        let delim = [b"\r\n--", boundary.as_bytes()].concat();
        Multipart {
            stream,
            cur: Bytes::new(),
            finder: Finder::new(&delim).into_owned(),
            delim,
            state: State::Preamble,
        }
    }

    /// The next non-empty buffer of the body; `None` at its end.
    async fn more(&mut self) -> Result<Option<Bytes>, MultipartError> {
        while let Some(b) = self.stream.next().await {
            let b = b.map_err(|e| MultipartError::Stream(e.to_string()))?;
            if !b.is_empty() {
                return Ok(Some(b));
            }
        }
        Ok(None)
    }

    /// Append the next buffer to `cur` (a copy: only for the short stretches that are parsed,
    /// never for part data); `false` at the end of the body.
    async fn extend(&mut self) -> Result<bool, MultipartError> {
        let Some(next) = self.more().await? else {
            return Ok(false);
        };
        self.cur = if self.cur.is_empty() {
            next
        } else {
            join(&self.cur, &next)
        };
        Ok(true)
    }

    /// Make `cur` hold at least `n` bytes; `false` if the body ends first.
    async fn fill(&mut self, n: usize) -> Result<bool, MultipartError> {
        while self.cur.len() < n {
            if !self.extend().await? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The next part's headers (the rest of the current part is skipped); `None` after the
    /// closing boundary.
    pub(crate) async fn next_part(&mut self) -> Result<Option<PartHeaders>, MultipartError> {
        while matches!(self.state, State::Data | State::Ending) {
            self.chunk().await?;
        }
        if self.state == State::Preamble {
            self.skip_preamble().await?;
        }
        if self.state == State::Done {
            return Ok(None);
        }
        // After a boundary: `--` ends the body; else optional padding, then CRLF.
        if !self.fill(2).await? {
            return Err(MultipartError::Incomplete);
        }
        if self.cur.starts_with(b"--") {
            self.state = State::Done;
            self.cur = Bytes::new();
            return Ok(None);
        }
        let mut pad = 0;
        while matches!(self.cur[0], b' ' | b'\t') {
            self.cur.advance(1);
            pad += 1;
            if pad > MAX_BOUNDARY {
                return Err(MultipartError::BoundaryLine);
            }
            if !self.fill(2).await? {
                return Err(MultipartError::Incomplete);
            }
        }
        if !self.cur.starts_with(b"\r\n") {
            return Err(MultipartError::BoundaryLine);
        }
        self.cur.advance(2);
        let headers = self.headers().await?;
        self.state = State::Data;
        Ok(Some(headers))
    }

    /// Skip everything up to and including the first `--boundary`.
    async fn skip_preamble(&mut self) -> Result<(), MultipartError> {
        // The body usually starts with the boundary itself (no CRLF before it).
        loop {
            let first = &self.delim[2..];
            let n = self.cur.len().min(first.len());
            if self.cur[..n] != first[..n] {
                break;
            }
            if n == first.len() {
                self.cur.advance(n);
                self.state = State::AfterBoundary;
                return Ok(());
            }
            if !self.extend().await? {
                return Err(MultipartError::NoFirstBoundary);
            }
        }
        let mut seen = 0usize;
        loop {
            if let Some(i) = self.finder.find(&self.cur) {
                self.cur.advance(i + self.delim.len());
                self.state = State::AfterBoundary;
                return Ok(());
            }
            let keep = partial_suffix(&self.cur, &self.delim);
            seen += self.cur.len() - keep;
            if seen > MAX_PREAMBLE {
                return Err(MultipartError::NoFirstBoundary);
            }
            self.cur.advance(self.cur.len() - keep);
            if !self.extend().await? {
                return Err(MultipartError::NoFirstBoundary);
            }
        }
    }

    /// Read a part's header block (`cur` is at its start).
    async fn headers(&mut self) -> Result<PartHeaders, MultipartError> {
        let end = loop {
            if self.cur.starts_with(b"\r\n") {
                break 2;
            }
            if let Some(i) = memchr::memmem::find(&self.cur, b"\r\n\r\n") {
                break i + 4;
            }
            if self.cur.len() > MAX_HEADER_BLOCK {
                return Err(MultipartError::Headers(format!(
                    "over {MAX_HEADER_BLOCK} bytes"
                )));
            }
            if !self.extend().await? {
                return Err(MultipartError::Incomplete);
            }
        };
        if end > MAX_HEADER_BLOCK {
            return Err(MultipartError::Headers(format!(
                "over {MAX_HEADER_BLOCK} bytes"
            )));
        }
        let block = self.cur.split_to(end);
        let mut raw = [httparse::EMPTY_HEADER; 32];
        let parsed = match httparse::parse_headers(&block, &mut raw) {
            Ok(httparse::Status::Complete((_, h))) => h,
            Ok(httparse::Status::Partial) => {
                return Err(MultipartError::Headers("incomplete".into()));
            }
            Err(e) => return Err(MultipartError::Headers(e.to_string())),
        };
        let mut out = PartHeaders::default();
        for h in parsed {
            let value = std::str::from_utf8(h.value)
                .map_err(|_| MultipartError::Headers(format!("{} is not UTF-8", h.name)))?;
            if h.name.eq_ignore_ascii_case("content-disposition") {
                let params = value.split_once(';').map_or("", |(_, p)| p);
                out.name = param(params, "name");
                out.file_name = param(params, "filename*")
                    .and_then(|v| ext_value(&v))
                    .or_else(|| param(params, "filename"));
            } else if h.name.eq_ignore_ascii_case("content-type") {
                let essence = value.split(';').next().unwrap_or("").trim();
                out.content_type = Some(essence.to_ascii_lowercase());
            }
        }
        Ok(out)
    }

    /// The next bytes of the current part (a slice of a received buffer, never empty);
    /// `None` at its end.
    pub(crate) async fn chunk(&mut self) -> Result<Option<Bytes>, MultipartError> {
        match self.state {
            State::Data => {}
            State::Ending => {
                self.state = State::AfterBoundary;
                return Ok(None);
            }
            _ => return Ok(None),
        }
        let dlen = self.delim.len();
        loop {
            if let Some(i) = self.finder.find(&self.cur) {
                if i > 0 {
                    // The data before the boundary now; the boundary at the next call.
                    return Ok(Some(self.cur.split_to(i)));
                }
                self.cur.advance(dlen);
                self.state = State::AfterBoundary;
                return Ok(None);
            }
            // No whole boundary in `cur`: all of it is data except a tail that could be the
            // start of one.
            let keep = partial_suffix(&self.cur, &self.delim);
            if self.cur.len() > keep {
                return Ok(Some(self.cur.split_to(self.cur.len() - keep)));
            }
            let Some(next) = self.more().await? else {
                return Err(MultipartError::Incomplete);
            };
            if self.cur.is_empty() {
                self.cur = next;
                continue;
            }
            if next.len() < dlen {
                // Too short to tell: join the few bytes and look again.
                self.cur = join(&self.cur, &next);
                continue;
            }
            // `cur` is a proper prefix of the boundary; does the boundary go on in `next`?
            let tail = self.cur.len();
            let mut probe = Vec::with_capacity(tail + dlen);
            probe.extend_from_slice(&self.cur);
            probe.extend_from_slice(&next[..dlen - 1]);
            match self.finder.find(&probe) {
                Some(j) if j < tail => {
                    let data = self.cur.split_to(j);
                    self.cur = next.slice(j + dlen - tail..);
                    if data.is_empty() {
                        self.state = State::AfterBoundary;
                        return Ok(None);
                    }
                    // The boundary is consumed already: the part ends at the next call.
                    self.state = State::Ending;
                    return Ok(Some(data));
                }
                _ => {
                    let data = std::mem::replace(&mut self.cur, next);
                    return Ok(Some(data));
                }
            }
        }
    }
}

/// `a` then `b` in one buffer (a copy: only for short stretches).
fn join(a: &[u8], b: &[u8]) -> Bytes {
    let mut joined = BytesMut::with_capacity(a.len() + b.len());
    joined.extend_from_slice(a);
    joined.extend_from_slice(b);
    joined.freeze()
}

/// The length of the longest proper prefix of `delim` that `buf` ends with.
fn partial_suffix(buf: &[u8], delim: &[u8]) -> usize {
    let max = buf.len().min(delim.len() - 1);
    (1..=max)
        .rev()
        .find(|&k| buf[buf.len() - k..] == delim[..k])
        .unwrap_or(0)
}

/// The value of parameter `key` (case-insensitive) in `; a=b; c="d"` (quoted strings unescaped).
fn param(params: &str, key: &str) -> Option<String> {
    let mut rest = params;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ';' || c.is_ascii_whitespace());
        if rest.is_empty() {
            return None;
        }
        let k_end = rest.find(['=', ';']).unwrap_or(rest.len());
        let k = rest[..k_end].trim();
        rest = &rest[k_end..];
        let value = if let Some(v) = rest.strip_prefix('=') {
            let v = v.trim_start();
            if let Some(q) = v.strip_prefix('"') {
                let mut out = String::new();
                let mut chars = q.char_indices();
                let mut end = q.len();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, e)) = chars.next() {
                                out.push(e);
                            }
                        }
                        '"' => {
                            end = i + 1;
                            break;
                        }
                        c => out.push(c),
                    }
                }
                rest = &q[end.min(q.len())..];
                out
            } else {
                let v_end = v.find(';').unwrap_or(v.len());
                let out = v[..v_end].trim().to_string();
                rest = &v[v_end..];
                out
            }
        } else {
            String::new()
        };
        if k.eq_ignore_ascii_case(key) {
            return Some(value);
        }
    }
}

/// An RFC 5987 `ext-value` (`utf-8''a%20b`) decoded; `None` for another charset or bad UTF-8.
fn ext_value(v: &str) -> Option<String> {
    let mut it = v.splitn(3, '\'');
    let (charset, _lang, encoded) = (it.next()?, it.next()?, it.next()?);
    if !charset.eq_ignore_ascii_case("utf-8") {
        return None;
    }
    percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type Frames = tokio_stream::Iter<std::vec::IntoIter<Result<Bytes, String>>>;

    fn reader(body: &[u8], cuts: &[usize], boundary: &str) -> Multipart<Frames> {
        let mut frames = Vec::new();
        let mut at = 0;
        for &c in cuts {
            let c = c.min(body.len());
            if c > at {
                frames.push(Ok(Bytes::copy_from_slice(&body[at..c])));
                at = c;
            }
        }
        frames.push(Ok(Bytes::copy_from_slice(&body[at..])));
        Multipart::new(tokio_stream::iter(frames), boundary)
    }

    /// Every part's headers and bytes, or the first error.
    fn read_all(
        body: &[u8],
        cuts: &[usize],
        boundary: &str,
    ) -> Result<Vec<(PartHeaders, Vec<u8>)>, MultipartError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut m = reader(body, cuts, boundary);
            let mut out = Vec::new();
            while let Some(h) = m.next_part().await? {
                let mut data = Vec::new();
                while let Some(c) = m.chunk().await? {
                    assert!(!c.is_empty());
                    data.extend_from_slice(&c);
                }
                out.push((h, data));
            }
            Ok(out)
        })
    }

    fn body(boundary: &str, parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = Vec::new();
        for (i, (name, data)) in parts.iter().enumerate() {
            b.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            b.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"file-{i}\"; filename=\"{name}\"\r\n"
                )
                .as_bytes(),
            );
            b.extend_from_slice(b"Content-Type: application/octet-stream\r\n\r\n");
            b.extend_from_slice(data);
            b.extend_from_slice(b"\r\n");
        }
        b.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        b
    }

    #[test]
    fn parts_and_headers() {
        let b = body(
            "xyz",
            &[("a.txt", b"hello"), ("b%20c", b""), ("d", b"\r\n--xy")],
        );
        let parts = read_all(&b, &[], "xyz").unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0].0.name.as_deref(), Some("file-0"));
        assert_eq!(parts[0].0.file_name.as_deref(), Some("a.txt"));
        assert_eq!(
            parts[0].0.content_type.as_deref(),
            Some("application/octet-stream")
        );
        assert_eq!(parts[0].1, b"hello");
        assert_eq!(parts[1].0.file_name.as_deref(), Some("b%20c"));
        assert_eq!(parts[1].1, b"");
        assert_eq!(parts[2].1, b"\r\n--xy");
    }

    #[test]
    fn preamble_padding_epilogue_and_bare_parts() {
        let b = b"preamble\r\n--B  \t\r\n\r\nbare\r\n--B\r\nContent-Type: Application/X-Directory; x=1\r\n\r\n\r\n--B--junk after";
        let parts = read_all(b, &[], "B").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].0, PartHeaders::default());
        assert_eq!(parts[0].1, b"bare");
        assert_eq!(
            parts[1].0.content_type.as_deref(),
            Some("application/x-directory")
        );
        assert_eq!(parts[1].1, b"");
    }

    #[test]
    fn skipping_an_unread_part() {
        let b = body("q", &[("one", &[7u8; 5000]), ("two", b"2")]);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut m = reader(&b, &[100, 2000, 2001, 4000], "q");
            assert_eq!(
                m.next_part().await.unwrap().unwrap().file_name.unwrap(),
                "one"
            );
            let first = m.chunk().await.unwrap().unwrap();
            assert!(!first.is_empty() && first.len() < 5000 && first.iter().all(|&b| b == 7));
            let h = m.next_part().await.unwrap().unwrap();
            assert_eq!(h.file_name.unwrap(), "two");
            assert_eq!(&m.chunk().await.unwrap().unwrap()[..], b"2");
            assert_eq!(m.chunk().await.unwrap(), None);
            assert_eq!(m.next_part().await.unwrap(), None);
        });
    }

    #[test]
    fn malformed_bodies_are_refused() {
        let bad: &[(&[u8], MultipartError)] = &[
            (
                b"this is not multipart at all",
                MultipartError::NoFirstBoundary,
            ),
            (b"", MultipartError::NoFirstBoundary),
            (
                b"--xyz\r\nContent-Type: a\r\n\r\nno end",
                MultipartError::Incomplete,
            ),
            (b"--xyz\r\nContent-Type: a\r\n", MultipartError::Incomplete),
            (b"--xyz", MultipartError::Incomplete),
            (b"--xyzzy\r\n\r\n\r\n--xyz--", MultipartError::BoundaryLine),
            (
                b"--xyz\r\nno colon here\r\n\r\ndata\r\n--xyz--",
                MultipartError::Headers("invalid header name".into()),
            ),
        ];
        for (b, want) in bad {
            assert_eq!(read_all(b, &[], "xyz").unwrap_err(), *want, "{b:?}");
        }
        let mut huge = b"--xyz\r\nX: ".to_vec();
        huge.extend(std::iter::repeat_n(b'a', MAX_HEADER_BLOCK + 10));
        assert!(matches!(
            read_all(&huge, &[1000], "xyz"),
            Err(MultipartError::Headers(_))
        ));
        let long_preamble = vec![b'p'; MAX_PREAMBLE + 10];
        assert_eq!(
            read_all(&long_preamble, &[10, 5000], "xyz").unwrap_err(),
            MultipartError::NoFirstBoundary
        );
    }

    #[test]
    fn boundary_and_params() {
        assert_eq!(
            boundary("multipart/form-data; boundary=abc").unwrap(),
            "abc"
        );
        assert_eq!(
            boundary("multipart/form-data; charset=x; BOUNDARY=\"a b;c\"").unwrap(),
            "a b;c"
        );
        assert_eq!(
            boundary("multipart/form-data").unwrap_err(),
            MultipartError::NoBoundary
        );
        assert_eq!(
            boundary("multipart/form-data; boundary=").unwrap_err(),
            MultipartError::NoBoundary
        );
        let p = " name=\"file?mode=0644\"; filename=\"a\\\"b\"; filename*=UTF-8''%E2%82%AC%20x";
        assert_eq!(param(p, "name").unwrap(), "file?mode=0644");
        assert_eq!(param(p, "filename").unwrap(), "a\"b");
        assert_eq!(ext_value(&param(p, "filename*").unwrap()).unwrap(), "€ x");
        assert_eq!(param(p, "other"), None);
        assert_eq!(param("name", "name").unwrap(), "");
    }

    proptest! {
        /// Any split of the body into buffers reads back the same parts, whatever the data
        /// (built from bytes of the boundary itself, so near-boundaries are common).
        #[test]
        fn any_split_reads_the_same(
            datas in proptest::collection::vec(
                proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'-'), Just(b'b'), Just(b'x')], 0..60),
                0..4,
            ),
            cuts in proptest::collection::vec(0usize..400, 0..12),
        ) {
            prop_assume!(datas.iter().all(|d| memchr::memmem::find(d, b"\r\n--bx").is_none()));
            let parts: Vec<(&str, &[u8])> = datas.iter().map(|d| ("f", &d[..])).collect();
            let b = body("bx", &parts);
            let mut cuts = cuts;
            cuts.sort_unstable();
            let got = read_all(&b, &cuts, "bx").unwrap();
            prop_assert_eq!(got.len(), datas.len());
            for ((_, g), want) in got.iter().zip(&datas) {
                prop_assert_eq!(g, want);
            }
        }
    }
}
