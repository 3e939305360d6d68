//! The dag-pb codec (`PBNode` / `PBLink`), encoded canonically and decoded strictly as the
//! dag-pb spec asks: links before data, link fields in order, no unknown fields.

use bytes::Bytes;
use cid::Cid;

use crate::{Error, Result};

const CODEC: &str = "dag-pb";

/// One link of a dag-pb node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PbLink {
    /// The child's CID.
    pub cid: Cid,
    /// Link name (UnixFS: entry name; empty for file chunks).
    pub name: Option<String>,
    /// Cumulative size of the child DAG in bytes.
    pub tsize: Option<u64>,
}

/// A dag-pb node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PbNode {
    /// Links, in stored order.
    pub links: Vec<PbLink>,
    /// The opaque data field (UnixFS metadata for UnixFS nodes).
    pub data: Option<Bytes>,
}

impl PbLink {
    /// A link as UnixFS writes it: name and size always present.
    pub fn new(cid: Cid, name: impl Into<String>, tsize: u64) -> Self {
        PbLink {
            cid,
            name: Some(name.into()),
            tsize: Some(tsize),
        }
    }

    fn encoded_len(&self) -> usize {
        let cid_len = cid_len(&self.cid);
        let mut n = 1 + varint_len(cid_len as u64) + cid_len;
        if let Some(name) = &self.name {
            n += 1 + varint_len(name.len() as u64) + name.len();
        }
        if let Some(t) = self.tsize {
            n += 1 + varint_len(t);
        }
        n
    }
}

/// Length of a CID's binary form without allocating.
pub fn cid_len(cid: &Cid) -> usize {
    cid.encoded_len()
}

impl PbNode {
    /// Size of the canonical encoding in bytes.
    pub fn encoded_len(&self) -> usize {
        let mut n = 0;
        for l in &self.links {
            let ll = l.encoded_len();
            n += 1 + varint_len(ll as u64) + ll;
        }
        if let Some(d) = &self.data {
            n += 1 + varint_len(d.len() as u64) + d.len();
        }
        n
    }

    /// Canonical encoding: links (in order) then data.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out);
        out
    }

    /// Append the canonical encoding to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        for l in &self.links {
            out.push(0x12);
            put_varint(out, l.encoded_len() as u64);
            let cid = l.cid.to_bytes();
            out.push(0x0a);
            put_varint(out, cid.len() as u64);
            out.extend_from_slice(&cid);
            if let Some(name) = &l.name {
                out.push(0x12);
                put_varint(out, name.len() as u64);
                out.extend_from_slice(name.as_bytes());
            }
            if let Some(t) = l.tsize {
                out.push(0x18);
                put_varint(out, t);
            }
        }
        if let Some(d) = &self.data {
            out.push(0x0a);
            put_varint(out, d.len() as u64);
            out.extend_from_slice(d);
        }
    }

    /// Strict decode. `data` slices share `bytes` (no copy).
    pub fn decode(bytes: &Bytes) -> Result<PbNode> {
        let mut r = Reader::new(bytes);
        let mut node = PbNode::default();
        while !r.is_empty() {
            let (field, wire) = r.key()?;
            match (field, wire) {
                (2, 2) => {
                    if node.data.is_some() {
                        return Err(Error::malformed(CODEC, "link after data"));
                    }
                    let sub = r.len_delimited()?;
                    node.links.push(decode_link(bytes, sub)?);
                }
                (1, 2) => {
                    if node.data.is_some() {
                        return Err(Error::malformed(CODEC, "duplicate data field"));
                    }
                    let (s, e) = r.len_delimited()?;
                    node.data = Some(bytes.slice(s..e));
                }
                _ => {
                    return Err(Error::malformed(
                        CODEC,
                        format!("unexpected field {field} wire type {wire}"),
                    ));
                }
            }
        }
        Ok(node)
    }
}

fn decode_link(bytes: &Bytes, (start, end): (usize, usize)) -> Result<PbLink> {
    let mut r = Reader::new(&bytes[start..end]);
    let mut cid = None;
    let mut name = None;
    let mut tsize = None;
    let mut last = 0;
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        if field <= last {
            return Err(Error::malformed(
                CODEC,
                "link fields out of order or repeated",
            ));
        }
        last = field;
        match (field, wire) {
            (1, 2) => {
                let (s, e) = r.len_delimited()?;
                let raw = &bytes[start + s..start + e];
                let c = Cid::try_from(raw)
                    .map_err(|e| Error::malformed(CODEC, format!("bad link CID: {e}")))?;
                if c.encoded_len() != raw.len() {
                    return Err(Error::malformed(CODEC, "trailing bytes after link CID"));
                }
                cid = Some(c);
            }
            (2, 2) => {
                let (s, e) = r.len_delimited()?;
                let raw = &bytes[start + s..start + e];
                name = Some(
                    std::str::from_utf8(raw)
                        .map_err(|_| Error::malformed(CODEC, "link name is not UTF-8"))?
                        .to_string(),
                );
            }
            (3, 0) => tsize = Some(r.varint()?),
            _ => {
                return Err(Error::malformed(
                    CODEC,
                    format!("unexpected link field {field} wire type {wire}"),
                ));
            }
        }
    }
    let cid = cid.ok_or_else(|| Error::malformed(CODEC, "link without a hash"))?;
    Ok(PbLink { cid, name, tsize })
}

/// Number of bytes of `v` as a protobuf varint.
pub fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Append `v` as a protobuf varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A bounds-checked protobuf reader over a byte slice.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(crate) fn varint(&mut self) -> Result<u64> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = *self
                .buf
                .get(self.pos)
                .ok_or_else(|| Error::malformed("protobuf", "truncated varint"))?;
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err(Error::malformed("protobuf", "varint overflows 64 bits"));
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                if b == 0 && i > 0 {
                    return Err(Error::malformed("protobuf", "non-minimal varint"));
                }
                return Ok(v);
            }
        }
        Err(Error::malformed("protobuf", "varint too long"))
    }

    pub(crate) fn key(&mut self) -> Result<(u64, u8)> {
        let k = self.varint()?;
        let field = k >> 3;
        if field == 0 {
            return Err(Error::malformed("protobuf", "field number 0"));
        }
        Ok((field, (k & 7) as u8))
    }

    /// Returns the (start, end) offsets of a length-delimited field's payload.
    pub(crate) fn len_delimited(&mut self) -> Result<(usize, usize)> {
        let len = self.varint()?;
        let start = self.pos;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| start.checked_add(l))
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| Error::malformed("protobuf", "length-delimited field past the end"))?;
        self.pos = end;
        Ok((start, end))
    }

    pub(crate) fn fixed32(&mut self) -> Result<u32> {
        let b = self
            .buf
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| Error::malformed("protobuf", "truncated fixed32"))?;
        self.pos += 4;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Skip a field of the given wire type (used by lenient decoders such as UnixFS Data).
    pub(crate) fn skip(&mut self, wire: u8) -> Result<()> {
        match wire {
            0 => {
                self.varint()?;
            }
            1 => self.advance(8)?,
            2 => {
                self.len_delimited()?;
            }
            5 => self.advance(4)?,
            w => return Err(Error::malformed("protobuf", format!("wire type {w}"))),
        }
        Ok(())
    }

    fn advance(&mut self, n: usize) -> Result<()> {
        if self.pos + n > self.buf.len() {
            return Err(Error::malformed("protobuf", "truncated field"));
        }
        self.pos += n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_cid;

    #[test]
    fn varint_len_matches_encoding() {
        for v in [
            0u64,
            1,
            127,
            128,
            300,
            16383,
            16384,
            u32::MAX as u64,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v), "{v}");
            assert_eq!(Reader::new(&out).varint().unwrap(), v);
        }
    }

    #[test]
    fn round_trip_and_strictness() {
        let cid = parse_cid("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH").unwrap();
        let node = PbNode {
            links: vec![PbLink::new(cid, "a", 6), PbLink::new(cid, "", 6)],
            data: Some(Bytes::from_static(&[8, 1])),
        };
        let enc = Bytes::from(node.encode());
        assert_eq!(enc.len(), node.encoded_len());
        assert_eq!(PbNode::decode(&enc).unwrap(), node);
        // every truncation is an error, never a panic
        for i in 0..enc.len() {
            let _ = PbNode::decode(&enc.slice(..i));
        }
        // data before links is not canonical
        let mut bad = vec![0x0a, 0x02, 0x08, 0x01];
        bad.extend_from_slice(&enc[..enc.len() - 4]);
        assert!(PbNode::decode(&Bytes::from(bad)).is_err());
        // unknown field
        assert!(PbNode::decode(&Bytes::from_static(&[0x18, 0x01])).is_err());
    }
}
