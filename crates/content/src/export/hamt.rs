//! Reading UnixFS HAMT shards: key hashing, bitfields, lookup and a bounded walk.

use cid::Cid;

use super::node::{Loaded, load};
use crate::pb::{PbLink, PbNode};
use crate::unixfs::{DataType, UnixfsData};
use crate::{BlockSource, Error, Result};

/// Multicodec code of murmur3-x64-64, the only HAMT hash UnixFS uses.
const MURMUR3_X64_64: u64 = 0x22;

/// Shape of one shard node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ShardParams {
    pub(crate) fanout: u64,
    /// Hash bits consumed per level (log2 fanout).
    pub(crate) bits: u32,
    /// Hex digits of the slot prefix in link names (width of `fanout - 1` in hex).
    pub(crate) pad: usize,
}

fn malformed(cid: &Cid, why: impl std::fmt::Display) -> Error {
    Error::MalformedBlock {
        codec: "unixfs",
        reason: format!("HAMT shard {cid}: {why}"),
    }
}

/// The 64-bit key hash: Go `murmur3.New64` (seed 0) = the first half (h1) of murmur3 x64-128.
pub(crate) fn hash_key(name: &str) -> Result<u64> {
    let h = murmur3::murmur3_x64_128(&mut name.as_bytes(), 0)?;
    Ok(h as u64)
}

/// The slot index at `level`, taking `bits` bits from the most significant end; `None` when the
/// 64-bit hash is used up.
pub(crate) fn slot_at(hash: u64, level: usize, bits: u32) -> Option<u64> {
    let start = level.checked_mul(bits as usize)?;
    if start + bits as usize > 64 {
        return None;
    }
    Some((hash << start) >> (64 - bits))
}

/// Validate a shard's parameters and bitfield.
pub(crate) fn params(cid: &Cid, fs: &UnixfsData, links: usize) -> Result<ShardParams> {
    match fs.hash_type {
        Some(MURMUR3_X64_64) => {}
        Some(h) => {
            return Err(Error::UnsupportedHash(format!(
                "HAMT hash function 0x{h:x} in {cid}"
            )));
        }
        None => return Err(malformed(cid, "no hash function")),
    }
    let fanout = fs.fanout.ok_or_else(|| malformed(cid, "no fanout"))?;
    if !fanout.is_power_of_two() || !(8..=1024).contains(&fanout) {
        return Err(malformed(
            cid,
            format!("fanout {fanout} is not a power of two in 8..=1024"),
        ));
    }
    let bits = fanout.trailing_zeros();
    let pad = format!("{:X}", fanout - 1).len();
    let bitfield = fs.data.as_deref().unwrap_or_default();
    if bitfield.len() as u64 > fanout / 8 {
        return Err(malformed(cid, "bitfield longer than the fanout"));
    }
    let set: u32 = bitfield.iter().map(|b| b.count_ones()).sum();
    if set as usize != links {
        return Err(malformed(
            cid,
            format!("bitfield has {set} slots set but the node has {links} links"),
        ));
    }
    Ok(ShardParams { fanout, bits, pad })
}

/// Whether slot `idx` is set in a big-endian bitfield whose last byte holds slots 0-7.
fn bit_set(bitfield: &[u8], idx: u64) -> bool {
    let from_end = (idx / 8) as usize;
    from_end < bitfield.len() && (bitfield[bitfield.len() - 1 - from_end] >> (idx % 8)) & 1 == 1
}

/// Number of set slots below `idx`: the link index of slot `idx`.
fn rank(bitfield: &[u8], idx: u64) -> usize {
    (0..idx).filter(|&i| bit_set(bitfield, i)).count()
}

/// Load `cid` and check it is a HAMT shard with the expected parameters.
pub(crate) fn load_shard<S: BlockSource + ?Sized>(
    src: &S,
    cid: &Cid,
    expect: Option<ShardParams>,
) -> Result<(PbNode, UnixfsData, ShardParams)> {
    match load(src, cid)? {
        Loaded::Pb {
            node, fs: Some(fs), ..
        } if fs.kind == DataType::HamtShard => {
            let p = params(cid, &fs, node.links.len())?;
            if expect.is_some_and(|e| e != p) {
                return Err(malformed(cid, "child shard fanout differs from its parent"));
            }
            Ok((node, fs, p))
        }
        other => Err(malformed(
            cid,
            format!("expected a child shard, found a {} node", other.kind()),
        )),
    }
}

/// Look `name` up in the HAMT rooted at (`cid`, `node`, `fs`); `Ok(None)` when absent.
pub(crate) fn lookup<S: BlockSource + ?Sized>(
    src: &S,
    cid: &Cid,
    node: PbNode,
    fs: UnixfsData,
    name: &str,
) -> Result<Option<Cid>> {
    let hash = hash_key(name)?;
    let mut p = params(cid, &fs, node.links.len())?;
    let (mut cid, mut node, mut bitfield) = (*cid, node, fs.data.unwrap_or_default());
    let mut level = 0;
    loop {
        let slot = slot_at(hash, level, p.bits)
            .ok_or_else(|| malformed(&cid, "deeper than the 64-bit key hash allows"))?;
        if !bit_set(&bitfield, slot) {
            return Ok(None);
        }
        let link = node
            .links
            .get(rank(&bitfield, slot))
            .ok_or_else(|| malformed(&cid, "bitfield points past the links"))?;
        let lname = link.name.as_deref().unwrap_or_default();
        let prefix = format!("{slot:0width$X}", width = p.pad);
        if !lname.starts_with(&prefix) {
            return Err(malformed(
                &cid,
                format!("link {lname:?} sits in slot {prefix}"),
            ));
        }
        if lname.len() > p.pad {
            return Ok((&lname[p.pad..] == name).then_some(link.cid));
        }
        let child = link.cid;
        let (n, f, cp) = load_shard(src, &child, Some(p))?;
        (cid, node, bitfield, p) = (child, n, f.data.unwrap_or_default(), cp);
        level += 1;
    }
}

#[derive(Debug)]
struct WalkFrame {
    links: std::vec::IntoIter<PbLink>,
}

/// Entries of a HAMT directory in shard order (depth first, slots ascending), holding one
/// node per level.
#[derive(Debug)]
pub(crate) struct HamtWalk {
    params: ShardParams,
    stack: Vec<WalkFrame>,
}

impl HamtWalk {
    pub(crate) fn new(node: PbNode, params: ShardParams) -> Self {
        HamtWalk {
            params,
            stack: vec![WalkFrame {
                links: node.links.into_iter(),
            }],
        }
    }

    /// Next entry: (name, cid, tsize).
    pub(crate) fn next<S: BlockSource + ?Sized>(
        &mut self,
        src: &S,
    ) -> Option<Result<(String, Cid, Option<u64>)>> {
        loop {
            let top = self.stack.last_mut()?;
            let Some(link) = top.links.next() else {
                self.stack.pop();
                continue;
            };
            let name = link.name.unwrap_or_default();
            let pad = self.params.pad;
            if name.len() < pad || !name.is_char_boundary(pad) {
                return Some(Err(malformed(
                    &link.cid,
                    format!("link name {name:?} lacks its slot prefix"),
                )));
            }
            if name.len() > pad {
                return Some(Ok((name[pad..].to_string(), link.cid, link.tsize)));
            }
            let max_levels = 64 / self.params.bits as usize;
            if self.stack.len() >= max_levels {
                return Some(Err(malformed(
                    &link.cid,
                    "deeper than the 64-bit key hash allows",
                )));
            }
            match load_shard(src, &link.cid, Some(self.params)) {
                Ok((node, _, _)) => self.stack.push(WalkFrame {
                    links: node.links.into_iter(),
                }),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
