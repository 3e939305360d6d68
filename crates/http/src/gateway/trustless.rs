//! Verifiable and serialized responses: raw blocks, CAR streams, tar archives, and blocks
//! re-encoded as dag-json / dag-cbor.

use axum::http::{HeaderName, StatusCode, header};
use bytes::Bytes;
use cid::Cid;
use ipfs_kit_content::car::CarWriter;
use ipfs_kit_content::export;
use ipfs_kit_content::{BlockSource, Codec, HashAlg, dag};
use sha2::{Digest, Sha256};

use super::request::{CarParams, CodecFormat, GwRequest};
use super::unixfs::{RangeAnswer, parse_range};
use super::{
    GwError, Head, HeadBody, Out, common_headers, content_disposition, etag_matches, not_modified,
};

fn block<S: BlockSource + ?Sized>(src: &S, cid: &Cid) -> Result<Bytes, GwError> {
    if cid.hash().code() == HashAlg::Identity.code() {
        return Ok(Bytes::copy_from_slice(cid.hash().digest()));
    }
    Ok(src.get(cid)?)
}

fn etag_of(head: &Head) -> String {
    head.headers
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn nosniff(head: &mut Head) {
    head.set(HeaderName::from_static("x-content-type-options"), "nosniff");
}

/// `application/vnd.ipld.raw`: the root block itself; a path is refused (400).
pub(crate) fn raw<S: BlockSource + ?Sized>(
    src: &S,
    req: &GwRequest,
    root: &Cid,
    out: &mut Out,
) -> Result<(), GwError> {
    if !req.segments.is_empty() {
        return Err(GwError::bad_request(
            "a raw block response names one block: ask for /ipfs/{cid} with no path (or ?format=car)",
        ));
    }
    let data = block(src, root)?;
    let size = data.len() as u64;
    let mut head = Head::new(StatusCode::OK);
    common_headers(&mut head, req, &[*root]);
    head.set(header::ETAG, format!("\"{root}.raw\""));
    head.set(header::CONTENT_TYPE, "application/vnd.ipld.raw");
    nosniff(&mut head);
    let name = req
        .query("filename")
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("{root}.bin"));
    content_disposition(&mut head, "attachment", &name);
    head.set(header::ACCEPT_RANGES, "bytes");
    if etag_matches(req, &etag_of(&head)) {
        out.respond(not_modified(head));
        return Ok(());
    }
    let body = match parse_range(req.range.as_deref(), size) {
        RangeAnswer::Whole => data,
        RangeAnswer::Part(a, b) => {
            head.status = StatusCode::PARTIAL_CONTENT;
            head.set(header::CONTENT_RANGE, format!("bytes {a}-{b}/{size}"));
            data.slice(a as usize..=b as usize)
        }
        RangeAnswer::Unsatisfiable => {
            let mut h = Head::new(StatusCode::RANGE_NOT_SATISFIABLE);
            h.set(header::CONTENT_RANGE, format!("bytes */{size}"));
            out.respond(h);
            return Ok(());
        }
    };
    head.set(header::CONTENT_LENGTH, body.len().to_string());
    head.body = HeadBody::Full(body);
    out.respond(head);
    Ok(())
}

/// The CAR `Etag`: weak, the root CID plus a hash of everything that shapes the stream (path,
/// scope, order, dups, byte range), so two different selections never share one.
fn car_etag(req: &GwRequest, root: &Cid, p: &CarParams) -> String {
    let mut h = Sha256::new();
    h.update(req.content_path.trim_end_matches('/').as_bytes());
    h.update(b"\0scope=");
    h.update(p.scope.name().as_bytes());
    h.update(b"\0order=");
    h.update(p.order.as_bytes());
    h.update(if p.dups {
        &b"\0dups=y"[..]
    } else {
        b"\0dups=n"
    });
    if let Some(r) = p.range {
        h.update(b"\0range=");
        h.update(r.from.to_le_bytes());
        match r.to {
            Some(t) => h.update(t.to_le_bytes()),
            None => h.update(b"*"),
        }
    }
    let digest = h.finalize();
    let tag: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("W/\"{root}.car.{tag}\"")
}

/// `application/vnd.ipld.car`: path blocks, then the terminus per `dag-scope`/`entity-bytes`.
pub(crate) fn car<S: BlockSource + ?Sized>(
    src: &S,
    req: &GwRequest,
    root: &Cid,
    params: &CarParams,
    out: &mut Out,
) -> Result<(), GwError> {
    let path = export::resolve_blocks(src, root, &req.segments)?;
    let mut head = Head::new(StatusCode::OK);
    common_headers(&mut head, req, &path.roots);
    let name = match req.query("filename").filter(|f| !f.is_empty()) {
        Some(f) => f.to_string(),
        None => match req.segments.last() {
            Some(last) => format!("{root}_{last}.car"),
            None => format!("{root}.car"),
        },
    };
    content_disposition(&mut head, "attachment", &name);
    head.set(header::ETAG, car_etag(req, root, params));
    if etag_matches(req, &etag_of(&head)) {
        out.respond(not_modified(head));
        return Ok(());
    }
    // Fetches the terminus: a missing one is a 404 before any header goes out.
    let blocks = export::select_blocks(src, &path, params.scope, params.range, params.dups)?;
    head.set(header::ACCEPT_RANGES, "none");
    head.set(
        header::CONTENT_TYPE,
        format!(
            "application/vnd.ipld.car; version=1; order={}; dups={}",
            params.order,
            if params.dups { "y" } else { "n" }
        ),
    );
    nosniff(&mut head);
    head.body = HeadBody::Stream;
    if !out.respond(head) {
        return Ok(());
    }
    let mut car = CarWriter::new(&mut *out, &[*root])?;
    for b in blocks {
        let (cid, data) = b?;
        car.write_block(&cid, &data)?;
    }
    car.finish()?;
    Ok(())
}

/// `application/x-tar`: the UnixFS tree at the path (Kubo `get` archive layout).
pub(crate) fn tar<S: BlockSource + ?Sized>(
    src: &S,
    req: &GwRequest,
    root: &Cid,
    out: &mut Out,
) -> Result<(), GwError> {
    let path = export::resolve_blocks(src, root, &req.segments)?;
    let cid = path.terminus;
    let kind = export::stat(src, &cid)?.kind;
    if kind == export::NodeKind::Unknown {
        return Err(GwError::bad_request(format!(
            "{cid} is not UnixFS: a tar response needs a file or directory"
        )));
    }
    let name = req
        .segments
        .last()
        .cloned()
        .unwrap_or_else(|| cid.to_string());
    let mut head = Head::new(StatusCode::OK);
    common_headers(&mut head, req, &path.roots);
    head.set(header::ETAG, format!("W/\"{cid}.x-tar\""));
    head.set(header::CONTENT_TYPE, "application/x-tar");
    nosniff(&mut head);
    let file = req
        .query("filename")
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("{name}.tar"));
    content_disposition(&mut head, "attachment", &file);
    if etag_matches(req, &etag_of(&head)) {
        out.respond(not_modified(head));
        return Ok(());
    }
    head.body = HeadBody::Stream;
    if !out.respond(head) {
        return Ok(());
    }
    export::get_tar(src, &cid, &name, &mut *out, &export::Control::new())?;
    Ok(())
}

/// `dag-json`, `dag-cbor`, `json`, `cbor`: the terminus block in that encoding (a block already
/// in the asked codec is sent as stored).
pub(crate) fn codec<S: BlockSource + ?Sized>(
    src: &S,
    req: &GwRequest,
    root: &Cid,
    fmt: CodecFormat,
    out: &mut Out,
) -> Result<(), GwError> {
    let path = export::resolve_blocks(src, root, &req.segments)?;
    let cid = path.terminus;
    let data = block(src, &cid)?;
    let target = match fmt {
        CodecFormat::DagJson | CodecFormat::Json => Codec::DagJson,
        CodecFormat::DagCbor | CodecFormat::Cbor => Codec::DagCbor,
    };
    let mut head = Head::new(StatusCode::OK);
    common_headers(&mut head, req, &path.roots);
    head.set(header::ETAG, format!("\"{cid}.{}\"", fmt.short()));
    head.set(header::CONTENT_TYPE, fmt.media_type());
    nosniff(&mut head);
    if etag_matches(req, &etag_of(&head)) {
        out.respond(not_modified(head));
        return Ok(());
    }
    let body = if Codec::of(&cid).ok() == Some(target) {
        data
    } else {
        let value = dag::decode_block(&cid, &data)?;
        Bytes::from(dag::encode(target, &value)?)
    };
    let ext = match target {
        Codec::DagJson => "json",
        _ => "cbor",
    };
    let name = req
        .query("filename")
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("{cid}.{ext}"));
    let kind = if req.query("download") == Some("false") {
        "inline"
    } else {
        "attachment"
    };
    content_disposition(&mut head, kind, &name);
    head.set(header::CONTENT_LENGTH, body.len().to_string());
    head.body = HeadBody::Full(body);
    out.respond(head);
    Ok(())
}
