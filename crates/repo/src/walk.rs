//! DAG walks: completeness checks for pins, GC marking, `refs`.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use cid::Cid;
use ipfs_kit_content::pb::PbNode;
use ipfs_kit_content::{Codec, dag};

use crate::blockstore::Blockstore;
use crate::{Error, Result};

/// How much of each block a walk checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// Every block whose links are used is read and verified; leaves (raw blocks, dag-pb nodes
    /// whose first field is Data and so have no links) are only checked for presence.
    Links,
}

/// The children of a stored block.
pub(crate) fn children(bs: &Blockstore, cid: &Cid, check: Check) -> Result<Vec<Cid>> {
    if check == Check::Links {
        match Codec::of(cid)? {
            Codec::Raw => {
                return if bs.has(cid)? {
                    Ok(Vec::new())
                } else {
                    Err(ipfs_kit_content::Error::NotFound(*cid).into())
                };
            }
            // Canonical dag-pb puts links before data, so a block that starts with the Data
            // field (0x0a) or is empty has no links.
            Codec::DagPb => {
                if matches!(bs.first_byte(cid)?, None | Some(0x0a)) {
                    return Ok(Vec::new());
                }
            }
            _ => {}
        }
    }
    let data = bs.get(cid)?;
    Ok(dag::links(cid, &data)?)
}

/// Depth-first walk of the DAG under `root`, visiting each block once (per `visited`), calling
/// `on_block` for each. Iterative; a missing block is `NotFound(that block)`.
pub(crate) fn walk_dag(
    bs: &Blockstore,
    root: &Cid,
    check: Check,
    visited: &mut HashSet<Cid>,
    on_block: &mut dyn FnMut(&Cid) -> Result<()>,
) -> Result<()> {
    let mut stack = vec![*root];
    while let Some(c) = stack.pop() {
        if !visited.insert(c) {
            continue;
        }
        on_block(&c)?;
        let kids = children(bs, &c, check)?;
        stack.extend(kids.into_iter().rev());
    }
    Ok(())
}

/// One edge reported by `refs`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RefEdge {
    /// The parent block.
    pub from: Cid,
    /// The child block.
    pub to: Cid,
    /// The link's name (dag-pb links only).
    pub name: Option<String>,
}

/// Options of `refs`, with Kubo's meanings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefsOptions {
    /// Walk below the root's direct children.
    pub recursive: bool,
    /// Report each block once.
    pub unique: bool,
    /// Deepest level reported (1 = the root's children); `None` for no limit. Only used when
    /// `recursive`.
    pub max_depth: Option<u64>,
}

struct Frame {
    parent: Cid,
    depth: u64,
    links: std::vec::IntoIter<(Cid, Option<String>)>,
}

/// Streaming `refs`: edges in DAG order (depth-first, links in stored order), iterative.
pub struct Refs<'a> {
    bs: &'a Blockstore,
    max_depth: Option<u64>,
    unique: bool,
    seen: HashMap<Cid, u64>,
    stack: Vec<Frame>,
    pending_root: Option<Cid>,
}

impl std::fmt::Debug for Refs<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refs")
            .field("depth", &self.stack.len())
            .finish()
    }
}

fn named_links(bs: &Blockstore, cid: &Cid) -> Result<Vec<(Cid, Option<String>)>> {
    let data = bs.get(cid)?;
    if Codec::of(cid)? == Codec::DagPb {
        let node = PbNode::decode(&Bytes::clone(&data))?;
        return Ok(node.links.into_iter().map(|l| (l.cid, l.name)).collect());
    }
    Ok(dag::links(cid, &data)?
        .into_iter()
        .map(|c| (c, None))
        .collect())
}

impl<'a> Refs<'a> {
    pub(crate) fn new(bs: &'a Blockstore, root: Cid, opts: RefsOptions) -> Self {
        let max_depth = if opts.recursive {
            opts.max_depth
        } else {
            Some(1)
        };
        Refs {
            bs,
            max_depth,
            unique: opts.unique,
            seen: HashMap::new(),
            stack: Vec::new(),
            pending_root: Some(root),
        }
    }

    fn push(&mut self, cid: Cid, depth: u64) -> Result<()> {
        let links = named_links(self.bs, &cid)?;
        self.stack.push(Frame {
            parent: cid,
            depth,
            links: links.into_iter(),
        });
        Ok(())
    }

    /// Kubo's visit rule: (descend into it, report it).
    fn visit(&mut self, c: Cid, depth: u64) -> (bool, bool) {
        let at_max = self.max_depth == Some(depth);
        if self.max_depth.is_some_and(|m| depth > m) {
            return (false, false);
        }
        if !self.unique {
            return (!at_max, true);
        }
        match self.seen.get(&c) {
            Some(&old) if old <= depth => (false, false),
            Some(_) => {
                // seen before, but deeper: explore again from here, do not report twice
                self.seen.insert(c, depth);
                (!at_max, false)
            }
            None => {
                self.seen.insert(c, depth);
                (!at_max, true)
            }
        }
    }
}

impl Iterator for Refs<'_> {
    type Item = Result<RefEdge>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(root) = self.pending_root.take()
            && self.max_depth != Some(0)
            && let Err(e) = self.push(root, 0)
        {
            return Some(Err(e));
        }
        loop {
            let frame = self.stack.last_mut()?;
            let Some((child, name)) = frame.links.next() else {
                self.stack.pop();
                continue;
            };
            let (parent, depth) = (frame.parent, frame.depth + 1);
            let (descend, report) = self.visit(child, depth);
            if descend && let Err(e) = self.push(child, depth) {
                return Some(Err(e));
            }
            if report {
                return Some(Ok(RefEdge {
                    from: parent,
                    to: child,
                    name,
                }));
            }
        }
    }
}

/// Turn a walk error into the pin-level error naming the missing block.
pub(crate) fn incomplete(root: Cid, e: Error) -> Error {
    match e {
        Error::Content(ipfs_kit_content::Error::NotFound(missing)) => Error::IncompleteDag {
            root: Box::new(root),
            missing,
        },
        other => other,
    }
}
