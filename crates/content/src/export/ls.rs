use cid::Cid;

use super::hamt::{self, HamtWalk};
use super::node::{Loaded, NodeKind, load};
use super::reader::file_node;
use crate::pb::{PbLink, PbNode};
use crate::unixfs::DataType;
use crate::{BlockSource, Error, Result};

/// One entry of `ls`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LsEntry {
    /// Entry name (empty for a file's chunk links).
    pub name: String,
    /// The entry's CID.
    pub cid: Cid,
    /// File size for files and raw blocks, target length for symlinks, 0 for directories
    /// (Kubo's `Size`); 0 when not resolved.
    pub size: u64,
    /// The link's cumulative size (`Tsize`), when the link has one.
    pub tsize: Option<u64>,
    /// What the entry is ([`NodeKind::Unknown`] when not resolved, except raw-codec CIDs).
    pub kind: NodeKind,
    /// Symlink target, when resolved.
    pub target: Option<String>,
}

/// The raw (name, CID, Tsize) entries of a directory, plain or sharded, or of any dag-pb node's
/// links, with bounded memory.
#[derive(Debug)]
pub(crate) enum Entries {
    Links(std::vec::IntoIter<PbLink>),
    Hamt(HamtWalk),
}

impl Entries {
    /// Entries of `node` (already loaded from `cid`), or `None` when it has none by nature
    /// (raw block, symlink).
    pub(crate) fn of(cid: &Cid, loaded: Loaded) -> Result<Entries> {
        Ok(match loaded {
            Loaded::Pb {
                node, fs: Some(fs), ..
            } if fs.kind == DataType::HamtShard => {
                let p = hamt::params(cid, &fs, node.links.len())?;
                Entries::Hamt(HamtWalk::new(node, p))
            }
            Loaded::Pb { node, .. } => Entries::Links(node.links.into_iter()),
            Loaded::Raw(_) => Entries::Links(Vec::new().into_iter()),
            Loaded::Other(codec) => {
                return Err(Error::WrongKind(format!(
                    "{cid} is a {codec} block, not a UnixFS node"
                )));
            }
        })
    }

    pub(crate) fn empty() -> Entries {
        Entries::Links(PbNode::default().links.into_iter())
    }

    pub(crate) fn next<S: BlockSource + ?Sized>(
        &mut self,
        src: &S,
    ) -> Option<Result<(String, Cid, Option<u64>)>> {
        match self {
            Entries::Links(it) => it
                .next()
                .map(|l| Ok((l.name.unwrap_or_default(), l.cid, l.tsize))),
            Entries::Hamt(w) => w.next(src),
        }
    }
}

/// Iterator over `ls` entries; see [`ls`].
pub struct LsIter<'a, S: BlockSource + ?Sized> {
    src: &'a S,
    resolve: bool,
    entries: Entries,
}

impl<S: BlockSource + ?Sized> std::fmt::Debug for LsIter<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LsIter")
            .field("resolve", &self.resolve)
            .finish_non_exhaustive()
    }
}

/// List the node `cid`, like `ipfs ls`:
/// * a plain directory: its links in stored order (sorted by name in any canonical directory);
/// * a HAMT directory: entries in shard order (slots ascending, child shards depth first), one
///   shard node per level in memory, so huge directories stream;
/// * a dag-pb file: its chunk links (empty names); a raw block or symlink: nothing.
///
/// With `resolve`, each entry's root block is fetched to report its kind, size and symlink
/// target (Kubo's default `--resolve-type --size`); without it only raw-codec CIDs get a kind.
pub fn ls<'a, S: BlockSource + ?Sized>(
    src: &'a S,
    cid: &Cid,
    resolve: bool,
) -> Result<LsIter<'a, S>> {
    let loaded = load(src, cid)?;
    let entries = match loaded.kind() {
        NodeKind::Symlink => Entries::empty(),
        _ => Entries::of(cid, loaded)?,
    };
    Ok(LsIter {
        src,
        resolve,
        entries,
    })
}

fn describe<S: BlockSource + ?Sized>(src: &S, e: &mut LsEntry) -> Result<()> {
    let loaded = load(src, &e.cid)?;
    e.kind = loaded.kind();
    match e.kind {
        NodeKind::File | NodeKind::Raw => e.size = file_node(&e.cid, loaded, true)?.total,
        NodeKind::Symlink => {
            if let Loaded::Pb { fs: Some(fs), .. } = loaded {
                let t = fs.data.unwrap_or_default();
                e.size = t.len() as u64;
                e.target = Some(String::from_utf8_lossy(&t).into_owned());
            }
        }
        _ => {}
    }
    Ok(())
}

impl<S: BlockSource + ?Sized> Iterator for LsIter<'_, S> {
    type Item = Result<LsEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        let (name, cid, tsize) = match self.entries.next(self.src)? {
            Ok(t) => t,
            Err(e) => return Some(Err(e)),
        };
        let raw = cid.codec() == crate::Codec::Raw.code();
        let mut e = LsEntry {
            name,
            cid,
            size: 0,
            tsize,
            kind: if raw {
                NodeKind::Raw
            } else {
                NodeKind::Unknown
            },
            target: None,
        };
        if self.resolve
            && let Err(err) = describe(self.src, &mut e)
        {
            return Some(Err(err));
        }
        Some(Ok(e))
    }
}
