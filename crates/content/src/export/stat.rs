use cid::Cid;

use super::node::{Loaded, NodeKind, fetch, load};
use super::reader::file_node;
use crate::unixfs::Mtime;
use crate::{BlockSource, Result};

/// What `stat` reports about one node (Kubo `ipfs files stat` / `ipfs object stat` fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// The node's CID.
    pub cid: Cid,
    /// What it is.
    pub kind: NodeKind,
    /// File bytes for files and raw blocks (checked against the DAG's sizes), target length for
    /// symlinks, 0 for directories and unknown nodes.
    pub size: u64,
    /// This block's size plus the `Tsize` of all its links (Kubo `CumulativeSize`).
    pub cumulative_size: u64,
    /// This block's size in bytes.
    pub block_size: u64,
    /// Number of links of this block (Kubo `Blocks`; for a file, its chunk links).
    pub links: usize,
    /// Permission bits, when stored (see [`default_mode`](super::default_mode) otherwise).
    pub mode: Option<u32>,
    /// Modification time, when stored.
    pub mtime: Option<Mtime>,
    /// Symlink target, for symlinks (lossy UTF-8).
    pub symlink_target: Option<String>,
    /// HAMT fanout, for sharded directories.
    pub fanout: Option<u64>,
}

/// Describe the node `cid` (fetches only its own block).
pub fn stat<S: BlockSource + ?Sized>(src: &S, cid: &Cid) -> Result<Stat> {
    let loaded = load(src, cid)?;
    let kind = loaded.kind();
    let mut st = Stat {
        cid: *cid,
        kind,
        size: 0,
        cumulative_size: 0,
        block_size: 0,
        links: 0,
        mode: None,
        mtime: None,
        symlink_target: None,
        fanout: None,
    };
    match &loaded {
        Loaded::Raw(b) => {
            st.block_size = b.len() as u64;
            st.cumulative_size = st.block_size;
            st.size = st.block_size;
        }
        Loaded::Pb {
            block_len,
            node,
            fs,
        } => {
            st.block_size = *block_len;
            st.links = node.links.len();
            st.cumulative_size = node.links.iter().fold(*block_len, |acc, l| {
                acc.saturating_add(l.tsize.unwrap_or(0))
            });
            if let Some(fs) = fs {
                st.mode = fs.mode;
                st.mtime = fs.mtime;
                st.fanout = fs.fanout.filter(|_| kind == NodeKind::HamtDirectory);
                if kind == NodeKind::Symlink {
                    let target = fs.data.as_deref().unwrap_or_default();
                    st.size = target.len() as u64;
                    st.symlink_target = Some(String::from_utf8_lossy(target).into_owned());
                }
            }
        }
        Loaded::Other(_) => {
            st.block_size = fetch(src, cid)?.len() as u64;
            st.cumulative_size = st.block_size;
        }
    }
    if kind == NodeKind::File {
        st.size = file_node(cid, loaded, true)?.total;
    }
    Ok(st)
}
