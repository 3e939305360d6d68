//! Block selection for trustless-gateway CAR responses: the blocks that walk a path, then the
//! terminus DAG cut to a `dag-scope` (`block`, `entity`, `all`) and, for files, to an
//! `entity-bytes` range. Depth-first pre-order in link order; each block once unless duplicates
//! are asked for.

use std::collections::HashSet;
use std::str::FromStr;

use bytes::Bytes;
use cid::Cid;

use super::hamt::{self, ShardParams};
use super::node::{Loaded, decode, fetch, kind_of};
use crate::pb::PbNode;
use crate::unixfs::{DataType, UnixfsData};
use crate::{BlockSource, Codec, Error, Result};

/// Deepest DAG a scope walk descends (the stack holds one child list per level).
pub const MAX_SCOPE_DEPTH: usize = 4096;

/// How much of the terminus DAG a CAR carries (trustless gateway `dag-scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DagScope {
    /// Only the terminus block.
    Block,
    /// The terminus entity: a whole file, a directory's own blocks (every shard of a HAMT), or
    /// the block alone for anything else.
    Entity,
    /// Every block reachable from the terminus.
    All,
}

impl DagScope {
    /// The parameter value (`block`, `entity`, `all`).
    pub fn name(self) -> &'static str {
        match self {
            DagScope::Block => "block",
            DagScope::Entity => "entity",
            DagScope::All => "all",
        }
    }
}

impl FromStr for DagScope {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "block" => Ok(DagScope::Block),
            "entity" => Ok(DagScope::Entity),
            "all" => Ok(DagScope::All),
            other => Err(Error::InvalidOption(format!(
                "dag-scope {other:?}: expected block, entity or all"
            ))),
        }
    }
}

/// An `entity-bytes=from:to` range as given: inclusive, negative values count back from the end,
/// `to = None` is the last byte (`*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntityBytes {
    /// First byte (negative: from the end).
    pub from: i64,
    /// Last byte, inclusive (negative: from the end); `None` for `*`.
    pub to: Option<i64>,
}

impl FromStr for EntityBytes {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| Error::InvalidOption(format!("entity-bytes {s:?}: {why}"));
        let (from, to) = s.split_once(':').ok_or_else(|| bad("expected from:to"))?;
        let from: i64 = from.parse().map_err(|_| bad("`from` is not an integer"))?;
        let to = match to {
            "*" => None,
            t => Some(
                t.parse()
                    .map_err(|_| bad("`to` is not an integer or `*`"))?,
            ),
        };
        if let Some(t) = to
            && from >= 0
            && t >= 0
            && t < from
        {
            return Err(bad("`to` is before `from`"));
        }
        Ok(EntityBytes { from, to })
    }
}

/// Where an [`EntityBytes`] range falls in an entity of a known size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteSpan {
    /// Bytes `first..=last` (clamped to the entity).
    Bytes(u64, u64),
    /// A zero-length range inside the entity: the terminus block alone answers it.
    Empty,
    /// Entirely outside the entity.
    Outside,
}

impl EntityBytes {
    /// Resolve against an entity of `size` bytes.
    pub fn span(&self, size: u64) -> ByteSpan {
        let size_i = i128::from(size);
        let abs = |v: i64| -> i128 {
            if v < 0 {
                size_i + i128::from(v)
            } else {
                i128::from(v)
            }
        };
        let first = abs(self.from).max(0);
        let last = self.to.map_or(size_i - 1, abs).min(size_i - 1);
        if first >= size_i || last < 0 {
            return ByteSpan::Outside;
        }
        if last < first {
            return ByteSpan::Empty;
        }
        ByteSpan::Bytes(first as u64, last as u64)
    }
}

/// A content path resolved with the blocks its walk read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathBlocks {
    /// The path's root CID.
    pub root: Cid,
    /// What the path names.
    pub terminus: Cid,
    /// Logical roots: the root, then the CID each segment resolved to (gateway `X-Ipfs-Roots`).
    pub roots: Vec<Cid>,
    /// Every block read to walk the path, in order (directories and the HAMT shards crossed),
    /// not counting the terminus.
    pub blocks: Vec<Cid>,
}

fn not_walkable(cur: &Cid, seg: &str, path: &str, what: &str) -> Error {
    Error::InvalidPath {
        path: path.chars().take(300).collect(),
        reason: format!("{cur} is a {what}, it has no entry {seg:?}"),
    }
}

/// Resolve `segments` under `root` through plain and HAMT-sharded UnixFS directories (and
/// named links of other dag-pb nodes), recording each block read.
pub fn resolve_blocks<S: BlockSource + ?Sized>(
    src: &S,
    root: &Cid,
    segments: &[String],
) -> Result<PathBlocks> {
    if segments.len() > super::MAX_PATH_SEGMENTS {
        return Err(Error::InvalidPath {
            path: segments.join("/").chars().take(300).collect(),
            reason: format!("more than {} segments", super::MAX_PATH_SEGMENTS),
        });
    }
    let path = || segments.join("/");
    let mut out = PathBlocks {
        root: *root,
        terminus: *root,
        roots: vec![*root],
        blocks: Vec::new(),
    };
    let mut cur = *root;
    for seg in segments {
        super::validate_entry_name(seg)?;
        out.blocks.push(cur);
        let next = match decode_any(&cur, fetch(src, &cur)?)? {
            Loaded::Pb {
                node, fs: Some(fs), ..
            } => match fs.kind {
                DataType::Directory => named(&node, seg),
                DataType::HamtShard => hamt_lookup(src, &cur, node, &fs, seg, &mut out.blocks)?,
                other => {
                    return Err(not_walkable(&cur, seg, &path(), kind_of(other).name()));
                }
            },
            Loaded::Pb { node, fs: None, .. } => named(&node, seg),
            Loaded::Raw(_) => return Err(not_walkable(&cur, seg, &path(), "raw block")),
            Loaded::Other(codec) => {
                return Err(not_walkable(
                    &cur,
                    seg,
                    &path(),
                    &format!("{codec} block (only dag-pb paths are walked)"),
                ));
            }
        };
        cur = next.ok_or_else(|| Error::NoSuchEntry {
            path: path(),
            name: seg.clone(),
            parent: cur.to_string(),
        })?;
        out.roots.push(cur);
    }
    out.terminus = cur;
    Ok(out)
}

fn decode_any(cid: &Cid, bytes: Bytes) -> Result<Loaded> {
    match Codec::from_code(cid.codec()) {
        Ok(Codec::Raw | Codec::DagPb) => decode(cid, bytes),
        Ok(c) => Ok(Loaded::Other(c)),
        Err(e) => Err(e),
    }
}

fn named(node: &PbNode, seg: &str) -> Option<Cid> {
    node.links
        .iter()
        .find(|l| l.name.as_deref() == Some(seg))
        .map(|l| l.cid)
}

/// Whether slot `idx` is set in a HAMT bitfield (big-endian: the last byte holds slots 0-7).
fn bit_set(bitfield: &[u8], idx: u64) -> bool {
    let from_end = (idx / 8) as usize;
    from_end < bitfield.len() && (bitfield[bitfield.len() - 1 - from_end] >> (idx % 8)) & 1 == 1
}

fn hamt_malformed(cid: &Cid, why: impl std::fmt::Display) -> Error {
    Error::MalformedBlock {
        codec: "unixfs",
        reason: format!("HAMT shard {cid}: {why}"),
    }
}

/// Look `name` up in a HAMT, pushing each child shard read onto `blocks`.
fn hamt_lookup<S: BlockSource + ?Sized>(
    src: &S,
    cid: &Cid,
    node: PbNode,
    fs: &UnixfsData,
    name: &str,
    blocks: &mut Vec<Cid>,
) -> Result<Option<Cid>> {
    let hash = hamt::hash_key(name)?;
    let mut p: ShardParams = hamt::params(cid, fs, node.links.len())?;
    let (mut cid, mut node, mut bitfield) = (*cid, node, fs.data.clone().unwrap_or_default());
    let mut level = 0;
    loop {
        let slot = hamt::slot_at(hash, level, p.bits)
            .ok_or_else(|| hamt_malformed(&cid, "deeper than the 64-bit key hash allows"))?;
        if !bit_set(&bitfield, slot) {
            return Ok(None);
        }
        let idx = (0..slot).filter(|&i| bit_set(&bitfield, i)).count();
        let link = node
            .links
            .get(idx)
            .ok_or_else(|| hamt_malformed(&cid, "bitfield points past the links"))?;
        let lname = link.name.as_deref().unwrap_or_default();
        let prefix = format!("{slot:0width$X}", width = p.pad);
        if !lname.starts_with(&prefix) {
            return Err(hamt_malformed(
                &cid,
                format!("link {lname:?} sits in slot {prefix}"),
            ));
        }
        if lname.len() > p.pad {
            return Ok((&lname[p.pad..] == name).then_some(link.cid));
        }
        let child = link.cid;
        blocks.push(child);
        let (n, f, cp) = hamt::load_shard(src, &child, Some(p))?;
        (cid, node, bitfield, p) = (child, n, f.data.unwrap_or_default(), cp);
        level += 1;
    }
}

/// What the walk does below a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A path block: emitted alone.
    Path,
    /// The terminus, not yet classified.
    Terminus,
    /// Part of a file entity (children filtered by the byte span).
    File,
    /// A HAMT shard of a directory entity (only child shards followed).
    Shard(usize),
    /// Anything under an `all` walk.
    All,
}

#[derive(Debug)]
struct Frame {
    /// (child, role, file offset where it starts).
    children: std::vec::IntoIter<(Cid, Role, u64)>,
}

/// The blocks of a CAR response, in order; see [`select_blocks`].
pub struct CarBlocks<'a, S: BlockSource + ?Sized> {
    src: &'a S,
    scope: DagScope,
    span: Option<(u64, u64)>,
    pending: std::vec::IntoIter<(Cid, Role, u64)>,
    stack: Vec<Frame>,
    seen: Option<HashSet<Cid>>,
    failed: bool,
}

impl<S: BlockSource + ?Sized> std::fmt::Debug for CarBlocks<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CarBlocks")
            .field("scope", &self.scope)
            .field("span", &self.span)
            .field("depth", &self.stack.len())
            .finish_non_exhaustive()
    }
}

/// The size of the file `cid` (its root block already fetched), or `None` when it is not a file.
fn file_size(cid: &Cid, bytes: &Bytes) -> Result<Option<u64>> {
    match decode_any(cid, bytes.clone())? {
        Loaded::Raw(b) => Ok(Some(b.len() as u64)),
        Loaded::Pb { fs: Some(fs), .. } if matches!(fs.kind, DataType::File | DataType::Raw) => {
            let inline = fs.data.as_ref().map_or(0, |d| d.len() as u64);
            let sum = fs
                .blocksizes
                .iter()
                .try_fold(inline, |a, s| a.checked_add(*s))
                .ok_or_else(|| Error::malformed("unixfs", format!("{cid}: blocksizes overflow")))?;
            Ok(Some(fs.filesize.unwrap_or(sum)))
        }
        _ => Ok(None),
    }
}

/// Select the blocks of a CAR response for `path`: the path blocks, then the terminus DAG cut
/// to `scope` (and, for a file, to `range`, which implies [`DagScope::Entity`]). Each block
/// appears once unless `dups`.
///
/// Fetches the terminus block up front, so a missing terminus or a range entirely outside the
/// file is an error before anything is produced ([`Error::NotFound`], [`Error::InvalidOption`]).
/// Later missing blocks end the iteration with an error.
pub fn select_blocks<'a, S: BlockSource + ?Sized>(
    src: &'a S,
    path: &PathBlocks,
    scope: DagScope,
    range: Option<EntityBytes>,
    dups: bool,
) -> Result<CarBlocks<'a, S>> {
    let terminus = fetch(src, &path.terminus)?;
    let mut scope = scope;
    let mut span = None;
    if let Some(r) = range {
        scope = DagScope::Entity;
        if let Some(size) = file_size(&path.terminus, &terminus)? {
            match r.span(size) {
                ByteSpan::Bytes(a, b) => span = Some((a, b)),
                ByteSpan::Empty => scope = DagScope::Block,
                ByteSpan::Outside => {
                    return Err(Error::InvalidOption(format!(
                        "entity-bytes {}:{} is outside the {size}-byte file {}",
                        r.from,
                        r.to.map_or("*".to_string(), |t| t.to_string()),
                        path.terminus
                    )));
                }
            }
        }
    }
    let mut pending: Vec<(Cid, Role, u64)> =
        path.blocks.iter().map(|c| (*c, Role::Path, 0)).collect();
    pending.push((path.terminus, Role::Terminus, 0));
    Ok(CarBlocks {
        src,
        scope,
        span,
        pending: pending.into_iter(),
        stack: Vec::new(),
        seen: (!dups).then(HashSet::new),
        failed: false,
    })
}

impl<S: BlockSource + ?Sized> CarBlocks<'_, S> {
    /// The next (CID, role, offset) to visit, depth first.
    fn next_visit(&mut self) -> Option<(Cid, Role, u64)> {
        while let Some(top) = self.stack.last_mut() {
            if let Some(c) = top.children.next() {
                return Some(c);
            }
            self.stack.pop();
        }
        self.pending.next()
    }

    /// The children of `cid` (bytes `data`) for its role.
    fn children(
        &self,
        cid: &Cid,
        data: &Bytes,
        role: Role,
        start: u64,
    ) -> Result<Vec<(Cid, Role, u64)>> {
        let role = match role {
            Role::Path => return Ok(Vec::new()),
            Role::Terminus => match self.scope {
                DagScope::Block => return Ok(Vec::new()),
                DagScope::All => Role::All,
                DagScope::Entity => match decode_any(cid, data.clone())? {
                    Loaded::Pb {
                        fs: Some(fs), node, ..
                    } => match fs.kind {
                        DataType::File | DataType::Raw => Role::File,
                        DataType::HamtShard => {
                            let p = hamt::params(cid, &fs, node.links.len())?;
                            Role::Shard(p.pad)
                        }
                        _ => return Ok(Vec::new()),
                    },
                    _ => return Ok(Vec::new()),
                },
            },
            r => r,
        };
        match role {
            Role::All => Ok(crate::dag::links(cid, data)?
                .into_iter()
                .map(|c| (c, Role::All, 0))
                .collect()),
            Role::Shard(pad) => {
                let node = PbNode::decode(data)?;
                Ok(node
                    .links
                    .into_iter()
                    .filter(|l| l.name.as_deref().is_some_and(|n| n.len() == pad))
                    .map(|l| (l.cid, Role::Shard(pad), 0))
                    .collect())
            }
            Role::File => self.file_children(cid, data, start),
            _ => Ok(Vec::new()),
        }
    }

    fn file_children(&self, cid: &Cid, data: &Bytes, start: u64) -> Result<Vec<(Cid, Role, u64)>> {
        let (node, fs) = match decode_any(cid, data.clone())? {
            Loaded::Pb {
                node, fs: Some(fs), ..
            } => (node, fs),
            _ => return Ok(Vec::new()),
        };
        if node.links.len() != fs.blocksizes.len() {
            return Err(Error::malformed(
                "unixfs",
                format!(
                    "{cid}: {} links but {} blocksizes",
                    node.links.len(),
                    fs.blocksizes.len()
                ),
            ));
        }
        let mut off = start.saturating_add(fs.data.as_ref().map_or(0, |d| d.len() as u64));
        let mut out = Vec::with_capacity(node.links.len());
        for (link, size) in node.links.iter().zip(&fs.blocksizes) {
            let keep = match self.span {
                None => true,
                Some((a, b)) => *size > 0 && off <= b && off.saturating_add(*size - 1) >= a,
            };
            if keep {
                out.push((link.cid, Role::File, off));
            }
            off = off.saturating_add(*size);
        }
        Ok(out)
    }

    fn step(&mut self) -> Option<Result<(Cid, Bytes)>> {
        loop {
            let (cid, role, start) = self.next_visit()?;
            if let Some(seen) = &mut self.seen
                && !seen.insert(cid)
            {
                continue;
            }
            let data = match fetch(self.src, &cid) {
                Ok(d) => d,
                Err(e) => return Some(Err(e)),
            };
            let children = match self.children(&cid, &data, role, start) {
                Ok(c) => c,
                Err(e) => return Some(Err(e)),
            };
            if !children.is_empty() {
                if self.stack.len() >= MAX_SCOPE_DEPTH {
                    return Some(Err(Error::InvalidPath {
                        path: cid.to_string(),
                        reason: format!("DAG deeper than {MAX_SCOPE_DEPTH} levels"),
                    }));
                }
                self.stack.push(Frame {
                    children: children.into_iter(),
                });
            }
            return Some(Ok((cid, data)));
        }
    }
}

impl<S: BlockSource + ?Sized> Iterator for CarBlocks<'_, S> {
    type Item = Result<(Cid, Bytes)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let r = self.step();
        if matches!(r, Some(Err(_))) {
            self.failed = true;
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_bytes_spans() {
        let p = |s: &str| s.parse::<EntityBytes>().unwrap();
        assert_eq!(p("0:*").span(10), ByteSpan::Bytes(0, 9));
        assert_eq!(p("-3:*").span(10), ByteSpan::Bytes(7, 9));
        assert_eq!(p("2:-3").span(10), ByteSpan::Bytes(2, 7));
        assert_eq!(p("0:100").span(10), ByteSpan::Bytes(0, 9));
        assert_eq!(p("-100:*").span(10), ByteSpan::Bytes(0, 9));
        assert_eq!(p("10:*").span(10), ByteSpan::Outside);
        assert_eq!(p("5:-8").span(10), ByteSpan::Empty);
        assert_eq!(p("0:*").span(0), ByteSpan::Outside);
        for bad in ["", "1", "a:2", "1:b", "5:2", "1:2:3"] {
            assert!(bad.parse::<EntityBytes>().is_err(), "{bad}");
        }
    }

    #[test]
    fn scopes_parse() {
        assert_eq!("entity".parse::<DagScope>().unwrap(), DagScope::Entity);
        assert!("dfs".parse::<DagScope>().is_err());
    }
}
