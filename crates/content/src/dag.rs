//! IPLD over blocks: child links of a block, decoding and encoding the four codecs
//! (raw, dag-pb, dag-cbor, dag-json) to and from [`Ipld`], `dag put` and `dag get` path resolution.
//!
//! Decoding comes in two strengths. [`decode`] is strict: a block must be in its codec's canonical
//! form (dag-cbor: minimal lengths, map keys sorted length-first and unique, 64-bit floats only;
//! dag-json: no whitespace, keys sorted bytewise), otherwise [`Error::MalformedBlock`].
//! [`decode_relaxed`] accepts non-canonical dag-json (whitespace, key order), as Kubo's decoder
//! does; dag-cbor map-key order is enforced by the underlying decoder in both modes. [`links`] is
//! the most lenient (it also accepts unsorted dag-cbor keys) so that any well-formed block someone
//! stored with `block put` can still be pinned and walked. All of them reject bad CID tags,
//! indefinite lengths, trailing bytes and nesting deeper than [`MAX_DEPTH`] (dag-json is bounded
//! at 128 levels by `serde_json`), without recursion on untrusted input: dag-cbor is pre-scanned
//! iteratively before any recursive decoder runs.
//!
//! dag-pb nodes are shown in the data-model form Kubo's `ipfs dag get` prints:
//! `{"Data": {"/": {"bytes": "…"}}, "Links": [{"Hash": {"/": cid}, "Name": "…", "Tsize": n}]}`
//! (`Data`, `Name` and `Tsize` only when present in the block).
//!
//! Path resolution ([`resolve`]): segments index maps by key and lists by position, and cross
//! links transparently. On a dag-pb node a segment is first looked up as a link *name* (what Kubo
//! does for `/ipfs/` paths, so `dag get DIR/file.txt` works), and only if no link has that name as
//! a data-model field (`Data`, `Links`, so `dag get CID/Links/0/Hash` works too). When a path ends
//! on a link, the linked node is returned (as Kubo's `dag get` does).

use std::collections::BTreeMap;

use bytes::Bytes;
use cid::Cid;
use ipld_core::ipld::Ipld;

use crate::pb::{PbLink, PbNode};
use crate::{Block, BlockSource, Codec, Error, HashAlg, Result, block_cid};

/// Deepest nesting of lists/maps accepted in a block or an encoded value: the limit of the
/// dag-cbor and dag-json decoders we use (`cbor4ii` and `serde_json` both stop at 128 levels).
pub const MAX_DEPTH: usize = 128;

/// Most path segments [`resolve`] follows.
pub const MAX_PATH_SEGMENTS: usize = 4096;

/// The child CIDs of a block, in the order they appear in it. Raw blocks have none. For an
/// identity-hash CID the data is taken from the CID itself and `data` is ignored.
pub fn links(cid: &Cid, data: &[u8]) -> Result<Vec<Cid>> {
    let data = block_data(cid, data);
    match Codec::of(cid)? {
        Codec::Raw => Ok(Vec::new()),
        Codec::DagPb => {
            let node = PbNode::decode(&Bytes::copy_from_slice(data))?;
            Ok(node.links.into_iter().map(|l| l.cid).collect())
        }
        Codec::DagCbor => {
            let mut out = Vec::new();
            scan_cbor(data, false, Some(&mut out))?;
            Ok(out)
        }
        Codec::DagJson => {
            let value = decode_relaxed(Codec::DagJson, data)?;
            Ok(ipld_links(&value))
        }
    }
}

fn block_data<'a>(cid: &'a Cid, data: &'a [u8]) -> &'a [u8] {
    if cid.hash().code() == HashAlg::Identity.code() {
        cid.hash().digest()
    } else {
        data
    }
}

/// Every link inside a value, in document order (maps in key order), walked iteratively.
pub fn ipld_links(value: &Ipld) -> Vec<Cid> {
    let mut out = Vec::new();
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Ipld::Link(c) => out.push(*c),
            Ipld::List(items) => stack.extend(items.iter().rev()),
            Ipld::Map(m) => stack.extend(m.values().rev()),
            _ => {}
        }
    }
    out
}

/// Strictly decode a block of `codec` into its data model (non-canonical input is an error).
pub fn decode(codec: Codec, data: &[u8]) -> Result<Ipld> {
    match codec {
        Codec::Raw => Ok(Ipld::Bytes(data.to_vec())),
        Codec::DagPb => Ok(pb_to_ipld(&PbNode::decode(&Bytes::copy_from_slice(data))?)),
        Codec::DagCbor => {
            scan_cbor(data, true, None)?;
            let v = cbor_from_slice(data)?;
            if encode(Codec::DagCbor, &v)? != data {
                return Err(Error::malformed("dag-cbor", "not in canonical form"));
            }
            Ok(v)
        }
        Codec::DagJson => {
            let v = json_from_slice(data)?;
            if encode(Codec::DagJson, &v)? != data {
                return Err(Error::malformed(
                    "dag-json",
                    "not in canonical form (whitespace or unsorted keys)",
                ));
            }
            Ok(v)
        }
    }
}

/// Decode a block of `codec`, accepting well-formed but non-canonical dag-cbor/dag-json.
pub fn decode_relaxed(codec: Codec, data: &[u8]) -> Result<Ipld> {
    match codec {
        Codec::DagCbor => {
            scan_cbor(data, false, None)?;
            cbor_from_slice(data)
        }
        Codec::DagJson => json_from_slice(data),
        other => decode(other, data),
    }
}

/// Decode the block named by `cid` (identity CIDs use their inline data).
pub fn decode_block(cid: &Cid, data: &[u8]) -> Result<Ipld> {
    decode_relaxed(Codec::of(cid)?, block_data(cid, data))
}

fn cbor_from_slice(data: &[u8]) -> Result<Ipld> {
    serde_ipld_dagcbor::from_slice(data).map_err(|e| Error::malformed("dag-cbor", e.to_string()))
}

fn json_from_slice(data: &[u8]) -> Result<Ipld> {
    serde_ipld_dagjson::from_slice(data).map_err(|e| Error::malformed("dag-json", e.to_string()))
}

/// Encode a data-model value as a block of `codec`. Raw needs bytes; dag-pb needs the
/// `{"Data", "Links"}` form.
pub fn encode(codec: Codec, value: &Ipld) -> Result<Vec<u8>> {
    check_depth(value)?;
    match codec {
        Codec::Raw => match value {
            Ipld::Bytes(b) => Ok(b.clone()),
            _ => Err(Error::InvalidOption(
                "only a bytes value can be encoded as raw".into(),
            )),
        },
        Codec::DagPb => Ok(ipld_to_pb(value)?.encode()),
        Codec::DagCbor => serde_ipld_dagcbor::to_vec(value)
            .map_err(|e| Error::InvalidOption(format!("cannot encode as dag-cbor: {e}"))),
        Codec::DagJson => serde_ipld_dagjson::to_vec(value)
            .map_err(|e| Error::InvalidOption(format!("cannot encode as dag-json: {e}"))),
    }
}

/// The encoders recurse, so values built by callers are bounded here too.
fn check_depth(value: &Ipld) -> Result<()> {
    let mut stack = vec![(value, 1usize)];
    while let Some((v, d)) = stack.pop() {
        if d > MAX_DEPTH {
            return Err(Error::InvalidOption(format!(
                "value nests deeper than {MAX_DEPTH} levels"
            )));
        }
        match v {
            Ipld::List(items) => stack.extend(items.iter().map(|i| (i, d + 1))),
            Ipld::Map(m) => stack.extend(m.values().map(|i| (i, d + 1))),
            _ => {}
        }
    }
    Ok(())
}

/// The data-model form of a dag-pb node (as Kubo shows it).
pub fn pb_to_ipld(node: &PbNode) -> Ipld {
    let mut map = BTreeMap::new();
    if let Some(d) = &node.data {
        map.insert("Data".to_string(), Ipld::Bytes(d.to_vec()));
    }
    let links = node
        .links
        .iter()
        .map(|l| {
            let mut m = BTreeMap::new();
            m.insert("Hash".to_string(), Ipld::Link(l.cid));
            if let Some(n) = &l.name {
                m.insert("Name".to_string(), Ipld::String(n.clone()));
            }
            if let Some(t) = l.tsize {
                m.insert("Tsize".to_string(), Ipld::Integer(i128::from(t)));
            }
            Ipld::Map(m)
        })
        .collect();
    map.insert("Links".to_string(), Ipld::List(links));
    Ipld::Map(map)
}

/// A dag-pb node from its data-model form: a map with `Links` (required list of
/// `{Hash, Name?, Tsize?}`) and optional `Data` bytes; any other key is an error.
pub fn ipld_to_pb(value: &Ipld) -> Result<PbNode> {
    let bad = |why: &str| Error::InvalidOption(format!("not a dag-pb node: {why}"));
    let Ipld::Map(map) = value else {
        return Err(bad("expected a map"));
    };
    let mut node = PbNode::default();
    for (k, v) in map {
        match (k.as_str(), v) {
            ("Data", Ipld::Bytes(b)) => node.data = Some(Bytes::copy_from_slice(b)),
            ("Links", Ipld::List(items)) => {
                for item in items {
                    node.links.push(ipld_to_pb_link(item)?);
                }
            }
            ("Data", _) => return Err(bad("Data must be bytes")),
            ("Links", _) => return Err(bad("Links must be a list")),
            (other, _) => return Err(bad(&format!("unexpected key {other:?}"))),
        }
    }
    if !map.contains_key("Links") {
        return Err(bad("missing Links"));
    }
    Ok(node)
}

fn ipld_to_pb_link(item: &Ipld) -> Result<PbLink> {
    let bad = |why: &str| Error::InvalidOption(format!("not a dag-pb link: {why}"));
    let Ipld::Map(m) = item else {
        return Err(bad("expected a map"));
    };
    let mut cid = None;
    let mut name = None;
    let mut tsize = None;
    for (k, v) in m {
        match (k.as_str(), v) {
            ("Hash", Ipld::Link(c)) => cid = Some(*c),
            ("Name", Ipld::String(s)) => name = Some(s.clone()),
            ("Tsize", Ipld::Integer(t)) => {
                tsize = Some(u64::try_from(*t).map_err(|_| bad("Tsize out of range"))?)
            }
            (other, _) => return Err(bad(&format!("bad or unexpected key {other:?}"))),
        }
    }
    Ok(PbLink {
        cid: cid.ok_or_else(|| bad("missing Hash"))?,
        name,
        tsize,
    })
}

/// Options of `dag put`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PutOptions {
    /// How the input bytes are to be read (Kubo default: dag-json).
    pub input_codec: Codec,
    /// Codec of the stored block (Kubo default: dag-cbor).
    pub store_codec: Codec,
    /// Hash function (default sha2-256).
    pub hash: HashAlg,
    /// CID version (1 unless dag-pb + sha2-256 asks for 0).
    pub cid_version: u8,
}

impl Default for PutOptions {
    fn default() -> Self {
        PutOptions {
            input_codec: Codec::DagJson,
            store_codec: Codec::DagCbor,
            hash: HashAlg::Sha2_256,
            cid_version: 1,
        }
    }
}

/// `dag put`: read `input` in the input codec (leniently: whitespace and key order do not matter),
/// encode it canonically in the store codec and name it. Raw-to-raw keeps the bytes as given.
pub fn put(input: &[u8], opts: &PutOptions) -> Result<Block> {
    let data = if opts.input_codec == Codec::Raw && opts.store_codec == Codec::Raw {
        input.to_vec()
    } else {
        let value = decode_relaxed(opts.input_codec, input)?;
        encode(opts.store_codec, &value)?
    };
    let cid = block_cid(opts.cid_version, opts.store_codec, opts.hash, &data)?;
    Ok(Block {
        cid,
        data: Bytes::from(data),
    })
}

/// Split `/ipfs/CID/a/b`, `/ipld/CID/a/b` or `CID/a/b` into the root CID and its path segments.
pub fn parse_path(path: &str) -> Result<(Cid, Vec<String>)> {
    let p = path.trim();
    let p = p
        .strip_prefix("/ipfs/")
        .or_else(|| p.strip_prefix("/ipld/"))
        .unwrap_or(p);
    let mut parts = p.split('/').filter(|s| !s.is_empty());
    let root = parts.next().ok_or_else(|| Error::InvalidPath {
        path: path.to_string(),
        reason: "no CID".into(),
    })?;
    let cid = crate::parse_cid(root)?;
    let segs: Vec<String> = parts.map(str::to_string).collect();
    if segs.len() > MAX_PATH_SEGMENTS {
        return Err(Error::InvalidPath {
            path: path.chars().take(200).collect(),
            reason: format!("more than {MAX_PATH_SEGMENTS} segments"),
        });
    }
    Ok((cid, segs))
}

/// Where a path led: the CID of the last block loaded and the value found in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The block the value lives in (the node itself when the path ended on a link).
    pub cid: Cid,
    /// The value at the path.
    pub value: Ipld,
}

/// Walk `segments` from `root`, loading blocks from `source` as links are crossed.
pub fn resolve(source: &dyn BlockSource, root: &Cid, segments: &[String]) -> Result<Resolved> {
    if segments.len() > MAX_PATH_SEGMENTS {
        return Err(Error::InvalidOption(format!(
            "path has more than {MAX_PATH_SEGMENTS} segments"
        )));
    }
    let shown = |upto: usize| {
        let mut s = root.to_string();
        for seg in &segments[..upto] {
            s.push('/');
            s.push_str(seg);
        }
        s
    };
    let load = |cid: &Cid| -> Result<(Ipld, Option<PbNode>)> {
        let data = source.get(cid)?;
        if Codec::of(cid)? == Codec::DagPb {
            let node = PbNode::decode(&Bytes::copy_from_slice(block_data(cid, &data)))?;
            Ok((pb_to_ipld(&node), Some(node)))
        } else {
            Ok((decode_block(cid, &data)?, None))
        }
    };
    let mut cid = *root;
    let (mut value, mut pb) = load(&cid)?;
    for (i, seg) in segments.iter().enumerate() {
        // A named dag-pb link wins over the data-model field of the same name.
        if let Some(node) = pb.take()
            && let Some(l) = node.links.iter().find(|l| l.name.as_deref() == Some(seg))
        {
            cid = l.cid;
            (value, pb) = load(&cid)?;
            continue;
        }
        let next = match &value {
            Ipld::Map(m) => m.get(seg.as_str()).cloned(),
            Ipld::List(items) => seg
                .parse::<usize>()
                .ok()
                .and_then(|n| items.get(n).cloned()),
            _ => None,
        };
        let Some(next) = next else {
            return Err(Error::InvalidPath {
                path: shown(i + 1),
                reason: format!("no {seg:?} in this node"),
            });
        };
        if let Ipld::Link(c) = next {
            cid = c;
            (value, pb) = load(&cid)?;
        } else {
            value = next;
        }
    }
    Ok(Resolved { cid, value })
}

/// Scan a dag-cbor item iteratively: checks structure, nesting depth, that every tag is a valid
/// tag-42 CID and (when `strict`) canonical form; collects the CIDs into `links` if given.
fn scan_cbor(buf: &[u8], strict: bool, mut links: Option<&mut Vec<Cid>>) -> Result<()> {
    struct Frame {
        remaining: u64,
        map: bool,
        last_key: Option<(usize, usize)>,
    }
    let bad = |why: String| Error::malformed("dag-cbor", why);
    let mut stack: Vec<Frame> = Vec::new();
    let mut pos = 0usize;
    loop {
        let is_key = match stack.last_mut() {
            Some(f) => {
                let k = f.map && f.remaining % 2 == 0;
                f.remaining -= 1;
                k
            }
            None => false,
        };
        let (major, val, next) = cbor_header(buf, pos)?;
        pos = next;
        if is_key && major != 3 {
            return Err(bad(format!(
                "map key of major type {major} (must be a string)"
            )));
        }
        match major {
            0 | 1 | 7 => {}
            2 | 3 => {
                let end = usize::try_from(val)
                    .ok()
                    .and_then(|l| pos.checked_add(l))
                    .filter(|&e| e <= buf.len())
                    .ok_or_else(|| bad("string past the end".into()))?;
                if major == 3 {
                    std::str::from_utf8(&buf[pos..end])
                        .map_err(|_| bad("text string is not UTF-8".into()))?;
                }
                if is_key
                    && strict
                    && let Some(f) = stack.last_mut()
                {
                    if let Some((s, e)) = f.last_key {
                        let prev = &buf[s..e];
                        let cur = &buf[pos..end];
                        if (prev.len(), prev) >= (cur.len(), cur) {
                            return Err(bad("map keys unsorted or repeated".into()));
                        }
                    }
                    f.last_key = Some((pos, end));
                }
                pos = end;
            }
            4 | 5 => {
                let items = if major == 5 {
                    val.checked_mul(2)
                } else {
                    Some(val)
                };
                let items = items
                    .filter(|&n| n <= (buf.len() - pos) as u64)
                    .ok_or_else(|| bad("container longer than the block".into()))?;
                if items > 0 {
                    if stack.len() >= MAX_DEPTH {
                        return Err(bad(format!("nesting deeper than {MAX_DEPTH}")));
                    }
                    stack.push(Frame {
                        remaining: items,
                        map: major == 5,
                        last_key: None,
                    });
                }
            }
            6 => {
                if val != 42 {
                    return Err(bad(format!("tag {val} (only 42 is allowed)")));
                }
                let (m, len, start) = cbor_header(buf, pos)?;
                if m != 2 {
                    return Err(bad("tag 42 must wrap a byte string".into()));
                }
                let end = usize::try_from(len)
                    .ok()
                    .and_then(|l| start.checked_add(l))
                    .filter(|&e| e <= buf.len())
                    .ok_or_else(|| bad("CID past the end".into()))?;
                let raw = &buf[start..end];
                let Some((&0, cid_bytes)) = raw.split_first() else {
                    return Err(bad("tag 42 bytes must start with 0x00".into()));
                };
                let cid = Cid::try_from(cid_bytes).map_err(|e| bad(format!("bad CID: {e}")))?;
                if cid.encoded_len() != cid_bytes.len() {
                    return Err(bad("trailing bytes after CID".into()));
                }
                if let Some(l) = links.as_deref_mut() {
                    l.push(cid);
                }
                pos = end;
            }
            _ => return Err(bad(format!("major type {major}"))),
        }
        while stack.last().is_some_and(|f| f.remaining == 0) {
            stack.pop();
        }
        if stack.is_empty() {
            break;
        }
    }
    if pos != buf.len() {
        return Err(bad("trailing bytes after the top-level item".into()));
    }
    Ok(())
}

/// One CBOR head at `pos`: (major type, argument, position after the head). Rejects what
/// dag-cbor forbids: indefinite lengths, non-minimal arguments, simple values other than
/// false/true/null, floats other than finite 64-bit ones.
fn cbor_header(buf: &[u8], pos: usize) -> Result<(u8, u64, usize)> {
    let bad = |why: &str| Error::malformed("dag-cbor", why);
    let ib = *buf.get(pos).ok_or_else(|| bad("truncated"))?;
    let (major, info) = (ib >> 5, ib & 0x1f);
    let take = |n: usize| -> Result<u64> {
        let b = buf
            .get(pos + 1..pos + 1 + n)
            .ok_or_else(|| bad("truncated"))?;
        Ok(b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    };
    if major == 7 {
        return match info {
            20..=22 => Ok((7, 0, pos + 1)),
            27 => {
                let f = f64::from_bits(take(8)?);
                if !f.is_finite() {
                    return Err(bad("NaN or infinite float"));
                }
                Ok((7, 0, pos + 9))
            }
            25 | 26 => Err(bad("floats must be 64-bit")),
            _ => Err(bad("simple value other than false/true/null")),
        };
    }
    let (val, len, min) = match info {
        0..=23 => (u64::from(info), 0, 0),
        24 => (take(1)?, 1, 24),
        25 => (take(2)?, 2, 0x100),
        26 => (take(4)?, 4, 0x1_0000),
        27 => (take(8)?, 8, 0x1_0000_0000),
        31 => return Err(bad("indefinite length")),
        _ => return Err(bad("reserved additional information")),
    };
    if val < min {
        return Err(bad("non-minimal length or integer"));
    }
    Ok((major, val, pos + 1 + len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BlockSink, MemoryBlocks, parse_cid};

    fn cid_a() -> Cid {
        parse_cid("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH").unwrap()
    }

    fn put_json(store: &MemoryBlocks, json: &str) -> Cid {
        let b = put(json.as_bytes(), &PutOptions::default()).unwrap();
        store.put(&b.cid, &b.data).unwrap();
        b.cid
    }

    #[test]
    fn links_of_each_codec() {
        let a = cid_a();
        let raw = block_cid(1, Codec::Raw, HashAlg::Sha2_256, b"x").unwrap();
        assert!(links(&raw, b"x").unwrap().is_empty());

        let node = PbNode {
            links: vec![PbLink::new(a, "a", 1), PbLink::new(raw, "b", 1)],
            data: None,
        };
        let enc = node.encode();
        let pb = block_cid(1, Codec::DagPb, HashAlg::Sha2_256, &enc).unwrap();
        assert_eq!(links(&pb, &enc).unwrap(), vec![a, raw]);

        let json = format!(r#"{{"x":[{{"/":"{a}"}},1],"y":{{"/":"{raw}"}}}}"#);
        let b = put(json.as_bytes(), &PutOptions::default()).unwrap();
        assert_eq!(links(&b.cid, &b.data).unwrap(), vec![a, raw]);
        let bj = put(
            json.as_bytes(),
            &PutOptions {
                store_codec: Codec::DagJson,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(bj.data.as_ref(), json.as_bytes());
        assert_eq!(links(&bj.cid, &bj.data).unwrap(), vec![a, raw]);

        let unknown = Cid::new_v1(0x300, *a.hash());
        assert!(matches!(
            links(&unknown, b""),
            Err(Error::UnsupportedCodec(0x300))
        ));
    }

    #[test]
    fn identity_cid_links_use_inline_data() {
        let a = cid_a();
        let b = put(
            format!(r#"[{{"/":"{a}"}}]"#).as_bytes(),
            &PutOptions {
                hash: HashAlg::Identity,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(links(&b.cid, b"").unwrap(), vec![a]);
        let store = MemoryBlocks::new();
        let r = resolve(&store, &b.cid, &["0".into()]);
        // the link target is not stored, but the identity root itself was read
        assert!(matches!(r, Err(Error::NotFound(c)) if c == a));
    }

    #[test]
    fn kubo_style_dag_pb_json() {
        let a = cid_a();
        let node = PbNode {
            links: vec![PbLink::new(a, "f", 6)],
            data: Some(Bytes::from_static(&[8, 1])),
        };
        let json = encode(Codec::DagJson, &pb_to_ipld(&node)).unwrap();
        assert_eq!(
            String::from_utf8(json.clone()).unwrap(),
            format!(
                r#"{{"Data":{{"/":{{"bytes":"CAE"}}}},"Links":[{{"Hash":{{"/":"{a}"}},"Name":"f","Tsize":6}}]}}"#
            )
        );
        // and back: dag-json input stored as dag-pb gives the same bytes
        let b = put(
            &json,
            &PutOptions {
                store_codec: Codec::DagPb,
                cid_version: 0,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(b.data.as_ref(), node.encode().as_slice());
        assert!(b.cid.to_string().starts_with("Qm"));
    }

    #[test]
    fn resolve_paths_across_links() {
        let store = MemoryBlocks::new();
        let leaf = put_json(&store, r#"{"v":[10,20,30]}"#);
        let mid = put_json(&store, &format!(r#"{{"a":{{"/":"{leaf}"}}}}"#));
        let r = resolve(&store, &mid, &["a".into(), "v".into(), "1".into()]).unwrap();
        assert_eq!(r.value, Ipld::Integer(20));
        assert_eq!(r.cid, leaf);
        let r = resolve(&store, &mid, &["a".into()]).unwrap();
        assert_eq!(r.cid, leaf);
        assert!(matches!(r.value, Ipld::Map(_)));
        assert!(matches!(
            resolve(&store, &mid, &["nope".into()]),
            Err(Error::InvalidPath { .. })
        ));
        assert!(resolve(&store, &mid, &["a".into(), "v".into(), "9".into()]).is_err());

        // dag-pb: named link first, then data-model fields
        let raw = Bytes::from_static(b"hello");
        let raw_cid = block_cid(1, Codec::Raw, HashAlg::Sha2_256, &raw).unwrap();
        store.put(&raw_cid, &raw).unwrap();
        let dir = PbNode {
            links: vec![PbLink::new(raw_cid, "file.txt", 5)],
            data: Some(Bytes::from_static(&[8, 1])),
        };
        let enc = dir.encode();
        let dir_cid = block_cid(0, Codec::DagPb, HashAlg::Sha2_256, &enc).unwrap();
        store.put(&dir_cid, &enc).unwrap();
        let r = resolve(&store, &dir_cid, &["file.txt".into()]).unwrap();
        assert_eq!(r.value, Ipld::Bytes(b"hello".to_vec()));
        let r = resolve(
            &store,
            &dir_cid,
            &["Links".into(), "0".into(), "Name".into()],
        )
        .unwrap();
        assert_eq!(r.value, Ipld::String("file.txt".into()));
        let r = resolve(
            &store,
            &dir_cid,
            &["Links".into(), "0".into(), "Hash".into()],
        )
        .unwrap();
        assert_eq!(r.cid, raw_cid);

        let (c, segs) = parse_path(&format!("/ipfs/{dir_cid}/file.txt/")).unwrap();
        assert_eq!((c, segs), (dir_cid, vec!["file.txt".to_string()]));
        assert!(parse_path("/ipfs/").is_err());
    }

    #[test]
    fn strict_and_relaxed_dag_cbor() {
        // {"b":1,"a":2}: keys unsorted
        let unsorted = [0xa2, 0x61, b'b', 0x01, 0x61, b'a', 0x02];
        assert!(decode(Codec::DagCbor, &unsorted).is_err());
        assert!(decode_relaxed(Codec::DagCbor, &unsorted).is_err());
        let c = block_cid(1, Codec::DagCbor, HashAlg::Sha2_256, &unsorted).unwrap();
        assert!(links(&c, &unsorted).unwrap().is_empty());
        // {"a":1,"a":2}: repeated key
        assert!(decode(Codec::DagCbor, &[0xa2, 0x61, b'a', 1, 0x61, b'a', 2]).is_err());
        // non-minimal integer 1 as 0x18 0x01
        assert!(decode(Codec::DagCbor, &[0x18, 0x01]).is_err());
        assert!(decode_relaxed(Codec::DagCbor, &[0x18, 0x01]).is_err());
        // indefinite array
        assert!(decode_relaxed(Codec::DagCbor, &[0x9f, 0xff]).is_err());
        // tag other than 42
        assert!(decode_relaxed(Codec::DagCbor, &[0xc1, 0x01]).is_err());
        // tag 42 without the 0x00 prefix / with garbage CID
        assert!(decode_relaxed(Codec::DagCbor, &[0xd8, 0x2a, 0x42, 0x01, 0x02]).is_err());
        assert!(decode_relaxed(Codec::DagCbor, &[0xd8, 0x2a, 0x43, 0x00, 0x01, 0x02]).is_err());
        // tag 42 on a non-bytes item
        assert!(decode_relaxed(Codec::DagCbor, &[0xd8, 0x2a, 0x01]).is_err());
        // 32-bit float, undefined, NaN
        assert!(decode_relaxed(Codec::DagCbor, &[0xfa, 0, 0, 0, 0]).is_err());
        assert!(decode_relaxed(Codec::DagCbor, &[0xf7]).is_err());
        let mut nan = vec![0xfb];
        nan.extend_from_slice(&f64::NAN.to_bits().to_be_bytes());
        assert!(decode_relaxed(Codec::DagCbor, &nan).is_err());
        // non-string map key, trailing bytes, truncation, absurd lengths
        assert!(decode_relaxed(Codec::DagCbor, &[0xa1, 0x01, 0x02]).is_err());
        assert!(decode_relaxed(Codec::DagCbor, &[0x01, 0x01]).is_err());
        assert!(decode_relaxed(Codec::DagCbor, &[0x82, 0x01]).is_err());
        assert!(
            decode_relaxed(
                Codec::DagCbor,
                &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
            )
            .is_err()
        );
        assert!(decode_relaxed(Codec::DagCbor, &[0x7a, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(decode_relaxed(Codec::DagCbor, &[]).is_err());
        // good link round-trips strictly
        let a = cid_a();
        let b = put(
            format!(r#"{{"l":{{"/":"{a}"}}}}"#).as_bytes(),
            &PutOptions::default(),
        )
        .unwrap();
        let v = decode(Codec::DagCbor, &b.data).unwrap();
        assert_eq!(ipld_links(&v), vec![a]);
        // every truncation of a valid block is an error, never a panic
        for i in 0..b.data.len() {
            assert!(decode_relaxed(Codec::DagCbor, &b.data[..i]).is_err());
            assert!(links(&b.cid, &b.data[..i]).is_err());
        }
    }

    #[test]
    fn deep_nesting_is_rejected_without_overflow() {
        // 100k nested one-element arrays
        let mut deep = vec![0x81u8; 100_000];
        deep.push(0x01);
        let cid = block_cid(1, Codec::DagCbor, HashAlg::Sha2_256, &deep).unwrap();
        assert!(decode_relaxed(Codec::DagCbor, &deep).is_err());
        assert!(links(&cid, &deep).is_err());
        // MAX_DEPTH levels (the innermost value included) is fine
        let mut ok = vec![0x81u8; MAX_DEPTH - 1];
        ok.push(0x01);
        assert!(decode(Codec::DagCbor, &ok).is_ok());
        let mut over = vec![0x81u8; MAX_DEPTH + 1];
        over.push(0x01);
        assert!(decode_relaxed(Codec::DagCbor, &over).is_err());
        let json = "[".repeat(100_000);
        assert!(decode_relaxed(Codec::DagJson, json.as_bytes()).is_err());
    }

    #[test]
    fn malformed_dag_json() {
        assert!(decode(Codec::DagJson, br#"{"b":1,"a":2}"#).is_err());
        assert!(decode_relaxed(Codec::DagJson, br#"{"b":1,"a":2}"#).is_ok());
        assert!(decode(Codec::DagJson, br#"{ "a": 1 }"#).is_err());
        assert!(decode(Codec::DagJson, br#"{"a":1}"#).is_ok());
        for bad in [
            r#"{"/":"notacid"}"#,
            r#"{"/":{"bytes":"!!!"}}"#,
            r#"{"a":"#,
            r#"[1,2]x"#,
            r#"{"/":"bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku","x":1}"#,
        ] {
            assert!(
                decode_relaxed(Codec::DagJson, bad.as_bytes()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn encode_checks_shape() {
        assert!(encode(Codec::Raw, &Ipld::Integer(1)).is_err());
        assert!(encode(Codec::DagPb, &Ipld::Map(BTreeMap::new())).is_err());
        assert!(encode(Codec::DagJson, &Ipld::Float(f64::NAN)).is_err());
        let mut v = Ipld::Null;
        for _ in 0..MAX_DEPTH + 1 {
            v = Ipld::List(vec![v]);
        }
        assert!(encode(Codec::DagCbor, &v).is_err());
        let raw = put(
            b"\x00\x01",
            &PutOptions {
                input_codec: Codec::Raw,
                store_codec: Codec::Raw,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(raw.data.as_ref(), b"\x00\x01");
        assert_eq!(raw.cid.codec(), 0x55);
    }
}
