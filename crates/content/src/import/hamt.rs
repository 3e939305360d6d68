//! HAMT-sharded directories as boxo writes them (`ipld/unixfs/hamt`).
//!
//! Keys are hashed with murmur3 x64 128 (seed 0) keeping its first 64-bit half, read from the
//! most significant bit down, `log2(fanout)` bits per level. A slot with one entry holds it
//! directly (link name = slot in upper-case hex, zero-padded, + entry name); a slot shared by
//! several entries holds a child shard (link name = the hex slot alone). Without deletions the
//! shape only depends on the set of names, so it is built here in one pass over the entries
//! sorted by hash.

use std::io::Cursor;

use bytes::Bytes;

use super::NodeLink;
use super::NodeWriter;
use super::file::Meta;
use crate::pb::{PbLink, PbNode};
use crate::unixfs::{DataType, UnixfsData};
use crate::{Error, Result};

/// Multicodec of murmur3-x64-64, the HAMT hash function code stored in each shard.
pub(crate) const HASH_MURMUR3: u64 = 0x22;

/// The 64-bit key hash boxo uses (Go `murmur3.New64`, i.e. the first half of x64-128).
pub(crate) fn key_hash(name: &str) -> Result<u64> {
    let h = murmur3::murmur3_x64_128(&mut Cursor::new(name.as_bytes()), 0)?;
    Ok(h as u64)
}

struct Entry<'a> {
    hash: u64,
    name: &'a str,
    link: NodeLink,
}

/// Write a HAMT over `entries` (name, child link); `meta` goes on the root shard only.
pub(crate) fn build<'a>(
    entries: impl Iterator<Item = (&'a str, NodeLink)>,
    fanout: usize,
    meta: Meta,
    w: &NodeWriter<'_>,
) -> Result<NodeLink> {
    let bits = fanout.trailing_zeros();
    if !fanout.is_power_of_two() || !fanout.is_multiple_of(8) || bits > 16 {
        return Err(Error::InvalidOption(format!(
            "invalid HAMT fanout {fanout}"
        )));
    }
    let mut all = Vec::new();
    for (name, link) in entries {
        all.push(Entry {
            hash: key_hash(name)?,
            name,
            link,
        });
    }
    all.sort_unstable_by(|a, b| a.hash.cmp(&b.hash).then_with(|| a.name.cmp(b.name)));
    let width = format!("{:X}", fanout - 1).len();
    shard(&all, 0, bits, fanout, width, meta, w)
}

fn slot(hash: u64, level: u32, bits: u32) -> usize {
    let shift = 64 - bits * (level + 1);
    ((hash >> shift) & ((1u64 << bits) - 1)) as usize
}

/// One shard over `entries` (sorted by hash, all sharing the first `level` slots). The depth is
/// bounded by 64 / log2(fanout) levels, so the recursion is too.
fn shard(
    entries: &[Entry<'_>],
    level: u32,
    bits: u32,
    fanout: usize,
    width: usize,
    meta: Meta,
    w: &NodeWriter<'_>,
) -> Result<NodeLink> {
    if bits * (level + 1) > 64 {
        return Err(Error::InvalidOption(
            "sharded directory too deep: names with identical 64-bit hashes".into(),
        ));
    }
    let mut bitfield = vec![0u8; fanout / 8];
    let mut links = Vec::new();
    let mut i = 0;
    while i < entries.len() {
        let s = slot(entries[i].hash, level, bits);
        let mut j = i + 1;
        while j < entries.len() && slot(entries[j].hash, level, bits) == s {
            j += 1;
        }
        let len = bitfield.len();
        bitfield[len - 1 - s / 8] |= 1 << (s % 8);
        let prefix = format!("{s:0width$X}");
        if j - i == 1 {
            let e = &entries[i];
            links.push(PbLink::new(
                e.link.cid,
                format!("{prefix}{}", e.name),
                e.link.tsize,
            ));
        } else {
            let child = shard(
                &entries[i..j],
                level + 1,
                bits,
                fanout,
                width,
                Meta::default(),
                w,
            )?;
            links.push(PbLink::new(child.cid, prefix, child.tsize));
        }
        i = j;
    }
    // Go's bitfield bytes: big-endian with the leading zero bytes dropped.
    let first = bitfield.iter().position(|&b| b != 0);
    let mut d = UnixfsData::new(DataType::HamtShard);
    d.data = first.map(|f| Bytes::copy_from_slice(&bitfield[f..]));
    d.hash_type = Some(HASH_MURMUR3);
    d.fanout = Some(fanout as u64);
    d.mode = meta.mode;
    d.mtime = meta.mtime;
    w.put_pb(&PbNode {
        links,
        data: Some(Bytes::from(d.encode())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur_matches_go_new64() {
        // Go: murmur3.Sum64([]byte("")) == 0; murmur3.Sum64([]byte("hello")) == 0xcbd8a7b341bd9b02.
        assert_eq!(key_hash("").unwrap(), 0);
        assert_eq!(key_hash("hello").unwrap(), 0xcbd8_a7b3_41bd_9b02);
    }

    #[test]
    fn slots_read_from_the_top() {
        let h = 0xF604_0000_0000_0000u64;
        assert_eq!(slot(h, 0, 8), 0xF6);
        assert_eq!(slot(h, 1, 8), 0x04);
        assert_eq!(slot(h, 0, 3), 0b111);
        assert_eq!(slot(h, 1, 3), 0b101);
    }
}
