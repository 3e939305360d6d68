//! Deserialized UnixFS responses: files (with single ranges), symlinks, directories
//! (`index.html` or a listing).

use std::fmt::Write as _;
use std::io::Read;
use std::time::{Duration, SystemTime};

use axum::http::{StatusCode, header};
use bytes::Bytes;
use cid::Cid;
use ipfs_kit_content::export::{self, NodeKind, Stat};
use ipfs_kit_content::{BlockSource, Codec};

use super::request::{GwRequest, path_escape};
use super::{
    GwError, Head, HeadBody, Out, common_headers, content_disposition, etag_matches, not_modified,
    sniff,
};

/// Version of the listing page, part of its `Etag` (the HTML may change between releases).
const LISTING_VERSION: &str = "ipfs-kit-1";

/// Serve the UnixFS node at the request's path.
pub(crate) fn serve<S: BlockSource + ?Sized>(
    src: &S,
    req: &GwRequest,
    root: &Cid,
    out: &mut Out,
) -> Result<(), GwError> {
    let path = export::resolve_blocks(src, root, &req.segments)?;
    let st = export::stat(src, &path.terminus)?;
    match st.kind {
        NodeKind::File | NodeKind::Raw => file(src, req, &path.roots, &st, req.file_name(), out),
        NodeKind::Symlink => symlink(req, &path.roots, &st, out),
        NodeKind::Directory | NodeKind::HamtDirectory => dir(src, req, &path.roots, &st, out),
        NodeKind::Unknown => other(src, req, &path.roots, &st, out),
    }
}

fn last_modified(head: &mut Head, st: &Stat) {
    if let Some(mt) = st.mtime
        && let Ok(secs) = u64::try_from(mt.seconds)
    {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
        head.set(header::LAST_MODIFIED, httpdate::fmt_http_date(t));
    }
}

/// `?filename=` (inline, or attachment with `download=true`); `download=true` alone names the
/// last segment or the CID.
fn disposition(head: &mut Head, req: &GwRequest, cid: &Cid) {
    let download = req.query("download") == Some("true");
    match req.query("filename").filter(|f| !f.is_empty()) {
        Some(name) => {
            let kind = if download { "attachment" } else { "inline" };
            content_disposition(head, kind, name);
        }
        None if download => {
            let name = req
                .segments
                .last()
                .cloned()
                .unwrap_or_else(|| cid.to_string());
            content_disposition(head, "attachment", &name);
        }
        None => {}
    }
}

/// A single byte range answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeAnswer {
    Whole,
    Part(u64, u64),
    Unsatisfiable,
}

/// Interpret a `Range` header for a body of `size` bytes. One range only: a multi-range request
/// gets the whole body (200), which RFC 9110 allows; so do syntactically invalid ranges and
/// ranges over an empty body (as Go's `http.ServeContent` does for empty files).
pub(crate) fn parse_range(h: Option<&str>, size: u64) -> RangeAnswer {
    let Some(h) = h else {
        return RangeAnswer::Whole;
    };
    if size == 0 {
        return RangeAnswer::Whole;
    }
    let Some(spec) = h.trim().strip_prefix("bytes=") else {
        return RangeAnswer::Whole;
    };
    if spec.contains(',') {
        return RangeAnswer::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeAnswer::Whole;
    };
    let (a, b) = (a.trim(), b.trim());
    let num = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            None
        } else {
            s.parse().ok()
        }
    };
    if a.is_empty() {
        return match num(b) {
            None => RangeAnswer::Whole,
            Some(0) => RangeAnswer::Unsatisfiable,
            Some(n) => RangeAnswer::Part(size - n.min(size), size - 1),
        };
    }
    let Some(first) = num(a) else {
        return RangeAnswer::Whole;
    };
    let last = if b.is_empty() {
        size - 1
    } else {
        match num(b) {
            Some(l) if l >= first => l.min(size - 1),
            _ => return RangeAnswer::Whole,
        }
    };
    if first >= size {
        return RangeAnswer::Unsatisfiable;
    }
    RangeAnswer::Part(first, last)
}

fn read_head<S: BlockSource + ?Sized>(src: &S, cid: &Cid) -> Result<Vec<u8>, GwError> {
    let mut buf = Vec::with_capacity(sniff::SNIFF_LEN);
    export::cat(src, cid, 0, Some(sniff::SNIFF_LEN as u64))?
        .read_to_end(&mut buf)
        .map_err(|e| GwError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(buf)
}

/// Serve the file `st.cid`, guessing its type from `name`.
fn file<S: BlockSource + ?Sized>(
    src: &S,
    req: &GwRequest,
    roots: &[Cid],
    st: &Stat,
    name: Option<String>,
    out: &mut Out,
) -> Result<(), GwError> {
    let cid = st.cid;
    let size = st.size;
    let mut head = Head::new(StatusCode::OK);
    common_headers(&mut head, req, roots);
    head.set(header::ETAG, format!("\"{cid}\""));
    last_modified(&mut head, st);
    let has_ext = name
        .as_deref()
        .and_then(|n| n.rsplit_once('.'))
        .is_some_and(|(_, e)| !e.is_empty());
    let first = if has_ext {
        Vec::new()
    } else {
        read_head(src, &cid)?
    };
    head.set(
        header::CONTENT_TYPE,
        sniff::content_type(name.as_deref(), &first),
    );
    head.set(header::ACCEPT_RANGES, "bytes");
    disposition(&mut head, req, &cid);
    if etag_matches(req, &head_etag(&head)) {
        out.respond(not_modified(head));
        return Ok(());
    }
    let (offset, len) = match parse_range(req.range.as_deref(), size) {
        RangeAnswer::Whole => (0, size),
        RangeAnswer::Part(a, b) => {
            head.status = StatusCode::PARTIAL_CONTENT;
            head.set(header::CONTENT_RANGE, format!("bytes {a}-{b}/{size}"));
            (a, b - a + 1)
        }
        RangeAnswer::Unsatisfiable => {
            let text = format!("416 Range Not Satisfiable: the file has {size} bytes\n");
            let mut h = Head::new(StatusCode::RANGE_NOT_SATISFIABLE);
            common_headers(&mut h, req, roots);
            h.set(header::CONTENT_RANGE, format!("bytes */{size}"));
            h.set(header::CONTENT_TYPE, "text/plain; charset=utf-8");
            h.set(header::CONTENT_LENGTH, text.len().to_string());
            h.body = HeadBody::Full(Bytes::from(text));
            out.respond(h);
            return Ok(());
        }
    };
    head.set(header::CONTENT_LENGTH, len.to_string());
    head.body = HeadBody::Stream;
    if !out.respond(head) {
        return Ok(());
    }
    export::cat(src, &cid, offset, Some(len))?
        .with_read_ahead(export::READ_AHEAD)
        .for_each_chunk(|chunk| out.send(chunk).map_err(io_gone))?;
    Ok(())
}

pub(crate) fn io_gone(e: std::io::Error) -> GwError {
    GwError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

fn head_etag(head: &Head) -> String {
    head.headers
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// A symlink answers its target as the body, typed `inode/symlink` (as Kubo does).
fn symlink(req: &GwRequest, roots: &[Cid], st: &Stat, out: &mut Out) -> Result<(), GwError> {
    let target = st.symlink_target.clone().unwrap_or_default();
    let mut head = Head::new(StatusCode::OK);
    common_headers(&mut head, req, roots);
    head.set(header::ETAG, format!("\"{}\"", st.cid));
    last_modified(&mut head, st);
    head.set(header::CONTENT_TYPE, "inode/symlink");
    if etag_matches(req, &head_etag(&head)) {
        out.respond(not_modified(head));
        return Ok(());
    }
    head.set(header::CONTENT_LENGTH, target.len().to_string());
    head.body = HeadBody::Full(Bytes::from(target));
    out.respond(head);
    Ok(())
}

/// A block that is not UnixFS: dag-cbor and dag-json are answered as they are, typed by codec.
fn other<S: BlockSource + ?Sized>(
    src: &S,
    req: &GwRequest,
    roots: &[Cid],
    st: &Stat,
    out: &mut Out,
) -> Result<(), GwError> {
    let media = match Codec::of(&st.cid) {
        Ok(Codec::DagCbor) => "application/vnd.ipld.dag-cbor",
        Ok(Codec::DagJson) => "application/vnd.ipld.dag-json",
        _ => {
            return Err(GwError::new(
                StatusCode::NOT_IMPLEMENTED,
                format!(
                    "{} is not a UnixFS file or directory; ask for ?format=raw, car or dag-json",
                    st.cid
                ),
            ));
        }
    };
    let data = src.get(&st.cid)?;
    let mut head = Head::new(StatusCode::OK);
    common_headers(&mut head, req, roots);
    head.set(header::ETAG, format!("\"{}\"", st.cid));
    head.set(header::CONTENT_TYPE, media);
    if etag_matches(req, &head_etag(&head)) {
        out.respond(not_modified(head));
        return Ok(());
    }
    head.set(header::CONTENT_LENGTH, data.len().to_string());
    head.body = HeadBody::Full(data);
    out.respond(head);
    Ok(())
}

fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Directories: redirect to the trailing-slash form, then `index.html` if present, else a listing.
fn dir<S: BlockSource + ?Sized>(
    src: &S,
    req: &GwRequest,
    roots: &[Cid],
    st: &Stat,
    out: &mut Out,
) -> Result<(), GwError> {
    if !req.trailing_slash {
        let mut head = Head::new(StatusCode::MOVED_PERMANENTLY);
        let mut loc = format!("{}/", req.raw_path);
        if let Some(q) = &req.raw_query {
            loc.push('?');
            loc.push_str(q);
        }
        head.set(header::LOCATION, loc);
        common_headers(&mut head, req, roots);
        out.respond(head);
        return Ok(());
    }
    match export::resolve(src, &st.cid, "index.html") {
        Ok(index) => {
            let ist = export::stat(src, &index)?;
            if ist.kind.is_file() {
                let mut r = roots.to_vec();
                r.push(index);
                let name = req
                    .query("filename")
                    .map(str::to_string)
                    .unwrap_or_else(|| "index.html".into());
                return file(src, req, &r, &ist, Some(name), out);
            }
        }
        Err(ipfs_kit_content::Error::NoSuchEntry { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    listing(src, req, roots, st, out)
}

fn listing<S: BlockSource + ?Sized>(
    src: &S,
    req: &GwRequest,
    roots: &[Cid],
    st: &Stat,
    out: &mut Out,
) -> Result<(), GwError> {
    let cid = st.cid;
    let mut head = Head::new(StatusCode::OK);
    common_headers(&mut head, req, roots);
    head.set(
        header::ETAG,
        format!("\"DirIndex-{LISTING_VERSION}_CID-{cid}\""),
    );
    last_modified(&mut head, st);
    head.set(header::CONTENT_TYPE, "text/html; charset=utf-8");
    if etag_matches(req, &head_etag(&head)) {
        out.respond(not_modified(head));
        return Ok(());
    }
    let entries = export::ls(src, &cid, false)?;
    head.body = HeadBody::Stream;
    if !out.respond(head) {
        return Ok(());
    }
    let title = html_escape(&req.content_path);
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body>\n<h1>Index of {title}</h1>\n<p>CID: <code>{cid}</code></p>\n\
         <table>\n<tr><th>Name</th><th>CID</th><th>Size</th></tr>\n"
    );
    if !req.segments.is_empty() {
        page.push_str("<tr><td><a href=\"../\">..</a></td><td></td><td></td></tr>\n");
    }
    for e in entries {
        let e = e?;
        let href = html_escape(&path_escape(&e.name));
        let _ = writeln!(
            page,
            "<tr><td><a href=\"./{href}\">{}</a></td><td><a href=\"/ipfs/{c}\">{c}</a></td><td>{}</td></tr>",
            html_escape(&e.name),
            e.tsize.map(|t| t.to_string()).unwrap_or_default(),
            c = e.cid,
        );
        if page.len() >= 64 * 1024 {
            out.send(Bytes::from(std::mem::take(&mut page)))
                .map_err(io_gone)?;
        }
    }
    page.push_str("</table>\n</body></html>\n");
    out.send(Bytes::from(page)).map_err(io_gone)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeAnswer::*;
        let r = |h: &str| parse_range(Some(h), 100);
        assert_eq!(r("bytes=0-9"), Part(0, 9));
        assert_eq!(r("bytes=90-"), Part(90, 99));
        assert_eq!(r("bytes=-10"), Part(90, 99));
        assert_eq!(r("bytes=-1000"), Part(0, 99));
        assert_eq!(r("bytes=50-1000"), Part(50, 99));
        assert_eq!(r("bytes=100-"), Unsatisfiable);
        assert_eq!(r("bytes=-0"), Unsatisfiable);
        assert_eq!(r("bytes=0-1,5-6"), Whole);
        assert_eq!(r("bytes=9-2"), Whole);
        assert_eq!(r("items=0-1"), Whole);
        assert_eq!(r("bytes=x-1"), Whole);
        assert_eq!(parse_range(Some("bytes=0-1"), 0), Whole);
        assert_eq!(parse_range(None, 10), Whole);
    }
}
