//! CAR files (content-addressed archives): a streaming CARv1 writer, a streaming CARv1/CARv2
//! reader that verifies every block, `ipfs dag export` ([`export_dag`]) and `ipfs dag import`
//! ([`import_car`]).
//!
//! CARv1 is `varint(len) header` then sections `varint(len) cid-bytes block-bytes` until the end;
//! the header is the dag-cbor map `{"roots": [CID…], "version": 1}`. CARv2 wraps a CARv1 payload:
//! an 11-byte pragma (`{"version": 2}`), a 40-byte header giving the payload's offset and size,
//! then the payload and an optional index, which this reader ignores.
//!
//! ```
//! use ipfs_kit_content::{Codec, HashAlg, MemoryBlocks, block_cid, car};
//! let cid = block_cid(1, Codec::Raw, HashAlg::Sha2_256, b"hi").unwrap();
//! let mut w = car::CarWriter::new(Vec::new(), &[cid]).unwrap();
//! w.write_block(&cid, b"hi").unwrap();
//! let bytes = w.finish().unwrap();
//! let store = MemoryBlocks::new();
//! let got = car::import_car(&bytes[..], &store).unwrap();
//! assert_eq!((got.roots, got.blocks), (vec![cid], 1));
//! ```

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Read, Write};

use cid::Cid;
use ipld_core::ipld::Ipld;

use crate::{Block, BlockSink, BlockSource, Codec, Error, Result};

/// Largest block a section may carry (Kubo's blocks are at most 2 MiB; this leaves room).
pub const MAX_BLOCK_SIZE: usize = 4 << 20;
/// Largest CID accepted in a section (a 64-byte digest plus varints fits easily).
const MAX_CID_SIZE: usize = 128;
/// Largest section (`cid + block`) accepted.
const MAX_SECTION_SIZE: usize = MAX_BLOCK_SIZE + MAX_CID_SIZE;
/// Largest CARv1 header accepted (tens of thousands of roots).
pub const MAX_HEADER_SIZE: usize = 1 << 20;
/// The CARv2 pragma: `varint(10)` then dag-cbor `{"version": 2}`.
const CARV2_PRAGMA: [u8; 11] = [
    0x0a, 0xa1, 0x67, b'v', b'e', b'r', b's', b'i', b'o', b'n', 0x02,
];
/// Bytes in the CARv2 header that follows the pragma.
const CARV2_HEADER_SIZE: usize = 40;

fn malformed(why: impl Into<String>) -> Error {
    Error::MalformedCar(why.into())
}

/// Encode a CARv1 header `{"roots": roots, "version": 1}` with its varint length prefix.
pub fn encode_header(roots: &[Cid]) -> Result<Vec<u8>> {
    let mut map = BTreeMap::new();
    map.insert(
        "roots".to_owned(),
        Ipld::List(roots.iter().map(|c| Ipld::Link(*c)).collect()),
    );
    map.insert("version".to_owned(), Ipld::Integer(1));
    let body = crate::dag::encode(Codec::DagCbor, &Ipld::Map(map))?;
    let mut out = Vec::with_capacity(body.len() + 10);
    write_uvarint(&mut out, body.len() as u64);
    out.extend_from_slice(&body);
    Ok(out)
}

fn write_uvarint(out: &mut Vec<u8>, v: u64) {
    let mut buf = unsigned_varint::encode::u64_buffer();
    out.extend_from_slice(unsigned_varint::encode::u64(v, &mut buf));
}

/// Read an unsigned LEB128 varint; `Ok(None)` on a clean end of input before its first byte.
fn read_uvarint<R: Read>(r: &mut R) -> Result<Option<u64>> {
    let mut value = 0u64;
    for i in 0..10 {
        let mut byte = [0u8; 1];
        let n = loop {
            match r.read(&mut byte) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => break other?,
            }
        };
        if n == 0 {
            return if i == 0 {
                Ok(None)
            } else {
                Err(malformed("truncated varint"))
            };
        }
        let b = byte[0];
        if i == 9 && b > 1 {
            return Err(malformed("varint overflows 64 bits"));
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            if b == 0 && i > 0 {
                return Err(malformed("varint is not minimally encoded"));
            }
            return Ok(Some(value));
        }
    }
    Err(malformed("varint longer than 10 bytes"))
}

fn read_exact_or<R: Read>(r: &mut R, buf: &mut [u8], what: &str) -> Result<()> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            malformed(format!("truncated {what}"))
        } else {
            Error::Io(e)
        }
    })
}

/// Parse a dag-cbor CAR header body into its version and roots.
fn parse_header(body: &[u8]) -> Result<(u64, Vec<Cid>)> {
    let value = crate::dag::decode_relaxed(Codec::DagCbor, body)
        .map_err(|e| malformed(format!("header is not dag-cbor: {e}")))?;
    let Ipld::Map(map) = value else {
        return Err(malformed("header is not a map"));
    };
    let version = match map.get("version") {
        Some(Ipld::Integer(v)) => u64::try_from(*v).map_err(|_| malformed("bad header version"))?,
        Some(_) => return Err(malformed("header version is not an integer")),
        None => return Err(malformed("header has no version")),
    };
    let roots = match map.get("roots") {
        Some(Ipld::List(items)) => items
            .iter()
            .map(|i| match i {
                Ipld::Link(c) => Ok(*c),
                _ => Err(malformed("header root is not a CID")),
            })
            .collect::<Result<Vec<_>>>()?,
        Some(_) => return Err(malformed("header roots is not a list")),
        None if version == 2 => Vec::new(),
        None => return Err(malformed("header has no roots")),
    };
    Ok((version, roots))
}

/// Read one length-prefixed CARv1 header.
fn read_v1_header<R: Read>(r: &mut R) -> Result<(u64, Vec<Cid>, Vec<u8>)> {
    let len = read_uvarint(r)?.ok_or_else(|| malformed("empty input"))?;
    if len == 0 || len > MAX_HEADER_SIZE as u64 {
        return Err(malformed(format!("header length {len} out of range")));
    }
    let mut body = vec![0u8; len as usize];
    read_exact_or(r, &mut body, "header")?;
    let (version, roots) = parse_header(&body)?;
    Ok((version, roots, body))
}

/// A streaming CAR reader: yields each block, verified against its CID, holding at most one
/// section ([`MAX_BLOCK_SIZE`] + CID) in memory.
pub struct CarReader<R> {
    reader: io::Take<R>,
    roots: Vec<Cid>,
    version: u8,
    done: bool,
}

impl<R: Read> CarReader<R> {
    /// Read the header (CARv1, or CARv2 whose inner CARv1 header is then read).
    pub fn new(mut reader: R) -> Result<Self> {
        let (version, roots, body) = read_v1_header(&mut reader)?;
        match version {
            1 => Ok(CarReader {
                reader: reader.take(u64::MAX),
                roots,
                version: 1,
                done: false,
            }),
            2 => {
                // the pragma must be exactly `{"version": 2}`
                if body[..] != CARV2_PRAGMA[1..] {
                    return Err(malformed("CARv2 pragma has unexpected fields"));
                }
                let mut header = [0u8; CARV2_HEADER_SIZE];
                read_exact_or(&mut reader, &mut header, "CARv2 header")?;
                let field = |i: usize| {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&header[16 + 8 * i..24 + 8 * i]);
                    u64::from_le_bytes(b)
                };
                let (offset, size) = (field(0), field(1));
                let consumed = (CARV2_PRAGMA.len() + CARV2_HEADER_SIZE) as u64;
                if offset < consumed {
                    return Err(malformed(format!(
                        "CARv2 data offset {offset} overlaps its header"
                    )));
                }
                let skipped =
                    io::copy(&mut (&mut reader).take(offset - consumed), &mut io::sink())?;
                if skipped != offset - consumed {
                    return Err(malformed("truncated before the CARv2 data payload"));
                }
                let mut inner = reader.take(size);
                let (inner_version, roots, _) = read_v1_header(&mut inner)?;
                if inner_version != 1 {
                    return Err(malformed(format!(
                        "CARv2 payload has version {inner_version}, expected 1"
                    )));
                }
                Ok(CarReader {
                    reader: inner,
                    roots,
                    version: 2,
                    done: false,
                })
            }
            v => Err(malformed(format!("unsupported CAR version {v}"))),
        }
    }

    /// The roots named in the header (the inner CARv1 header for CARv2).
    pub fn roots(&self) -> &[Cid] {
        &self.roots
    }

    /// The container version: 1 or 2.
    pub fn version(&self) -> u8 {
        self.version
    }

    fn next_block(&mut self) -> Result<Option<Block>> {
        let Some(len) = read_uvarint(&mut self.reader)? else {
            if self.version == 2 && self.reader.limit() > 0 {
                return Err(malformed(
                    "CARv2 data payload shorter than its declared size",
                ));
            }
            return Ok(None);
        };
        if len == 0 {
            return Err(malformed("zero-length section"));
        }
        if len > MAX_SECTION_SIZE as u64 {
            return Err(malformed(format!(
                "section of {len} bytes exceeds the {MAX_SECTION_SIZE}-byte limit"
            )));
        }
        let mut section = vec![0u8; len as usize];
        read_exact_or(&mut self.reader, &mut section, "section")?;
        let mut cursor = io::Cursor::new(&section[..]);
        let cid = Cid::read_bytes(&mut cursor)
            .map_err(|e| malformed(format!("bad CID in section: {e}")))?;
        let data = section.split_off(cursor.position() as usize);
        Block::verify(&cid, &data)?;
        Ok(Some(Block {
            cid,
            data: data.into(),
        }))
    }
}

impl<R: Read> Iterator for CarReader<R> {
    type Item = Result<Block>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_block() {
            Ok(Some(b)) => Some(Ok(b)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// A streaming CARv1 writer: the header goes out on creation, each block as it is written.
pub struct CarWriter<W: Write> {
    writer: W,
    scratch: Vec<u8>,
}

impl<W: Write> CarWriter<W> {
    /// Write the CARv1 header naming `roots`.
    pub fn new(mut writer: W, roots: &[Cid]) -> Result<Self> {
        writer.write_all(&encode_header(roots)?)?;
        Ok(CarWriter {
            writer,
            scratch: Vec::new(),
        })
    }

    /// Append one section (`data` is written as given; callers pass verified blocks).
    pub fn write_block(&mut self, cid: &Cid, data: &[u8]) -> Result<()> {
        self.scratch.clear();
        let cid_bytes = cid.to_bytes();
        write_uvarint(&mut self.scratch, (cid_bytes.len() + data.len()) as u64);
        self.scratch.extend_from_slice(&cid_bytes);
        self.writer.write_all(&self.scratch)?;
        self.writer.write_all(data)?;
        Ok(())
    }

    /// Flush and return the underlying writer.
    pub fn finish(mut self) -> Result<W> {
        self.writer.flush()?;
        Ok(self.writer)
    }
}

/// `ipfs dag export`: write a CARv1 with `root` as its only root and every block reachable from
/// it, depth-first pre-order in link order, each block once. Returns the number of blocks written.
///
/// Links are followed through dag-pb, dag-cbor and dag-json blocks (raw has none); a block in
/// another codec is an [`Error::UnsupportedCodec`], a missing one [`Error::NotFound`]. The walk is
/// iterative; memory grows with the number of distinct CIDs (as Kubo's does), not with depth.
pub fn export_dag<W: Write>(src: &impl BlockSource, root: &Cid, writer: W) -> Result<u64> {
    let mut car = CarWriter::new(writer, &[*root])?;
    let mut seen: HashSet<Cid> = HashSet::new();
    let mut stack = vec![*root];
    let mut count = 0u64;
    while let Some(cid) = stack.pop() {
        if !seen.insert(cid) {
            continue;
        }
        let data = src.get(&cid)?;
        car.write_block(&cid, &data)?;
        count += 1;
        let links = crate::dag::links(&cid, &data)?;
        stack.extend(links.into_iter().rev().filter(|c| !seen.contains(c)));
    }
    car.finish()?;
    Ok(count)
}

/// What [`import_car`] read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarImport {
    /// The header's roots.
    pub roots: Vec<Cid>,
    /// Blocks read (and stored) from the sections, duplicates included.
    pub blocks: u64,
}

/// `ipfs dag import` of one CAR (v1 or v2): verify every block and put it into `sink`. A bad
/// block stops the import with an error; blocks before it have been stored.
pub fn import_car<R: Read>(reader: R, sink: &impl BlockSink) -> Result<CarImport> {
    let mut car = CarReader::new(reader)?;
    let roots = car.roots().to_vec();
    let mut blocks = 0u64;
    for block in &mut car {
        let block = block?;
        sink.put(&block.cid, &block.data)?;
        blocks += 1;
    }
    Ok(CarImport { roots, blocks })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        for v in [0u64, 1, 127, 128, 300, u64::MAX] {
            let mut b = Vec::new();
            write_uvarint(&mut b, v);
            assert_eq!(read_uvarint(&mut &b[..]).unwrap(), Some(v));
        }
        assert_eq!(read_uvarint(&mut &[][..]).unwrap(), None);
        for bad in [
            &[0x80][..],
            &[0x80, 0x00],
            &[0xff; 11],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02],
        ] {
            assert!(
                matches!(read_uvarint(&mut &bad[..]), Err(Error::MalformedCar(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn header_round_trip() {
        let cid = crate::block_cid(1, Codec::Raw, crate::HashAlg::Sha2_256, b"x").unwrap();
        let h = encode_header(&[cid]).unwrap();
        let (v, roots, _) = read_v1_header(&mut &h[..]).unwrap();
        assert_eq!((v, roots), (1, vec![cid]));
    }
}
