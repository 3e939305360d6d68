//! The UnixFS `Data` message carried in a dag-pb node's data field.

use bytes::Bytes;

use crate::pb::{Reader, put_varint};
use crate::{Error, Result};

/// UnixFS node types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    /// Raw data (trickle leaves use it).
    Raw = 0,
    /// A plain directory.
    Directory = 1,
    /// A file (leaf or internal node).
    File = 2,
    /// Metadata (obsolete).
    Metadata = 3,
    /// A symbolic link; `data` is the target.
    Symlink = 4,
    /// A HAMT-sharded directory node.
    HamtShard = 5,
}

impl DataType {
    fn from_u64(v: u64) -> Result<Self> {
        Ok(match v {
            0 => DataType::Raw,
            1 => DataType::Directory,
            2 => DataType::File,
            3 => DataType::Metadata,
            4 => DataType::Symlink,
            5 => DataType::HamtShard,
            other => {
                return Err(Error::malformed("unixfs", format!("unknown type {other}")));
            }
        })
    }
}

/// Modification time: seconds since the epoch plus optional nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mtime {
    /// Seconds since 1970-01-01 UTC (may be negative).
    pub seconds: i64,
    /// Fractional nanoseconds, 1..=999_999_999 when present.
    pub nanos: Option<u32>,
}

/// The UnixFS `Data` protobuf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixfsData {
    /// Node type.
    pub kind: DataType,
    /// Inline bytes (file chunk, symlink target, HAMT bitfield).
    pub data: Option<Bytes>,
    /// Total file size under this node.
    pub filesize: Option<u64>,
    /// File bytes under each child link.
    pub blocksizes: Vec<u64>,
    /// HAMT hash function (0x22 = murmur3-x64-64).
    pub hash_type: Option<u64>,
    /// HAMT fanout.
    pub fanout: Option<u64>,
    /// Permission bits.
    pub mode: Option<u32>,
    /// Modification time.
    pub mtime: Option<Mtime>,
}

impl UnixfsData {
    /// A node of `kind` with nothing else set.
    pub fn new(kind: DataType) -> Self {
        UnixfsData {
            kind,
            data: None,
            filesize: None,
            blocksizes: Vec::new(),
            hash_type: None,
            fanout: None,
            mode: None,
            mtime: None,
        }
    }

    /// Protobuf encoding, fields in Kubo's order.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.data.as_ref().map_or(0, |d| d.len()));
        out.push(0x08);
        put_varint(&mut out, self.kind as u64);
        if let Some(d) = &self.data {
            out.push(0x12);
            put_varint(&mut out, d.len() as u64);
            out.extend_from_slice(d);
        }
        if let Some(s) = self.filesize {
            out.push(0x18);
            put_varint(&mut out, s);
        }
        for b in &self.blocksizes {
            out.push(0x20);
            put_varint(&mut out, *b);
        }
        if let Some(h) = self.hash_type {
            out.push(0x28);
            put_varint(&mut out, h);
        }
        if let Some(f) = self.fanout {
            out.push(0x30);
            put_varint(&mut out, f);
        }
        if let Some(m) = self.mode {
            out.push(0x38);
            put_varint(&mut out, u64::from(m));
        }
        if let Some(t) = self.mtime {
            let mut inner = Vec::with_capacity(16);
            inner.push(0x08);
            put_varint(&mut inner, t.seconds as u64);
            if let Some(n) = t.nanos {
                inner.push(0x15);
                inner.extend_from_slice(&n.to_le_bytes());
            }
            out.push(0x42);
            put_varint(&mut out, inner.len() as u64);
            out.extend_from_slice(&inner);
        }
        out
    }

    /// Decode (lenient about unknown fields and packed blocksizes, strict about bounds).
    pub fn decode(bytes: &Bytes) -> Result<UnixfsData> {
        let mut r = Reader::new(bytes);
        let mut kind = None;
        let mut d = UnixfsData::new(DataType::Raw);
        while !r.is_empty() {
            let (field, wire) = r.key()?;
            match (field, wire) {
                (1, 0) => kind = Some(DataType::from_u64(r.varint()?)?),
                (2, 2) => {
                    let (s, e) = r.len_delimited()?;
                    d.data = Some(bytes.slice(s..e));
                }
                (3, 0) => d.filesize = Some(r.varint()?),
                (4, 0) => d.blocksizes.push(r.varint()?),
                (4, 2) => {
                    let (s, e) = r.len_delimited()?;
                    let mut p = Reader::new(&bytes[s..e]);
                    while !p.is_empty() {
                        d.blocksizes.push(p.varint()?);
                    }
                }
                (5, 0) => d.hash_type = Some(r.varint()?),
                (6, 0) => d.fanout = Some(r.varint()?),
                (7, 0) => {
                    let m = r.varint()?;
                    d.mode = Some(u32::try_from(m).map_err(|_| {
                        Error::malformed("unixfs", format!("mode {m} out of range"))
                    })?);
                }
                (8, 2) => {
                    let (s, e) = r.len_delimited()?;
                    d.mtime = Some(decode_mtime(&bytes[s..e])?);
                }
                (_, w) => r.skip(w)?,
            }
        }
        d.kind = kind.ok_or_else(|| Error::malformed("unixfs", "missing Type"))?;
        Ok(d)
    }
}

fn decode_mtime(buf: &[u8]) -> Result<Mtime> {
    let mut r = Reader::new(buf);
    let mut t = Mtime {
        seconds: 0,
        nanos: None,
    };
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match (field, wire) {
            (1, 0) => t.seconds = r.varint()? as i64,
            (2, 5) => {
                let n = r.fixed32()?;
                if n == 0 || n > 999_999_999 {
                    return Err(Error::malformed("unixfs", "mtime nanoseconds out of range"));
                }
                t.nanos = Some(n);
            }
            (_, w) => r.skip(w)?,
        }
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_with_mode() {
        let mut d = UnixfsData::new(DataType::File);
        d.filesize = Some(0);
        d.mode = Some(0o640);
        assert_eq!(d.encode(), [0x08, 0x02, 0x18, 0x00, 0x38, 0xa0, 0x03]);
        assert_eq!(UnixfsData::decode(&Bytes::from(d.encode())).unwrap(), d);
    }

    #[test]
    fn hello_world_leaf() {
        let mut d = UnixfsData::new(DataType::File);
        d.data = Some(Bytes::from_static(b"hello world"));
        d.filesize = Some(11);
        let enc = d.encode();
        assert_eq!(&enc[..4], &[0x08, 0x02, 0x12, 0x0b]);
        assert_eq!(&enc[enc.len() - 2..], &[0x18, 0x0b]);
    }

    #[test]
    fn mtime_round_trip_and_bad_input() {
        let mut d = UnixfsData::new(DataType::Symlink);
        d.data = Some(Bytes::from_static(b"nothing"));
        d.mtime = Some(Mtime {
            seconds: -5,
            nanos: Some(54321),
        });
        let enc = Bytes::from(d.encode());
        assert_eq!(UnixfsData::decode(&enc).unwrap(), d);
        for i in 0..enc.len() {
            let _ = UnixfsData::decode(&enc.slice(..i));
        }
        assert!(UnixfsData::decode(&Bytes::from_static(&[0x08, 0x09])).is_err());
        assert!(UnixfsData::decode(&Bytes::from_static(&[0x18, 0x01])).is_err());
    }
}
