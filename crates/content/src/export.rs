//! UnixFS export: path resolution, `stat`, `cat`, `ls` and `get` over any [`BlockSource`].
//!
//! Everything here streams with bounded memory: a file is read through a stack of its internal
//! nodes (never the whole file), a directory (plain or HAMT-sharded) is listed through a stack of
//! shard nodes, and walks are iterative with a depth limit, so hostile DAGs produce errors, not
//! stack overflows or wrong bytes.
//!
//! ```
//! use ipfs_kit_content::{export, BlockSink, MemoryBlocks, parse_cid};
//! use std::io::Read;
//! let blocks = MemoryBlocks::new();
//! // "hello world" as Kubo stores it (one dag-pb File leaf, CIDv0).
//! let leaf = [0x0a, 0x11, 0x08, 0x02, 0x12, 0x0b, b'h', b'e', b'l', b'l', b'o', b' ',
//!             b'w', b'o', b'r', b'l', b'd', 0x18, 0x0b];
//! let cid = parse_cid("Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD").unwrap();
//! blocks.put(&cid, &leaf).unwrap();
//! let mut out = String::new();
//! export::cat(&blocks, &cid, 6, None).unwrap().read_to_string(&mut out).unwrap();
//! assert_eq!(out, "world");
//! assert_eq!(export::stat(&blocks, &cid).unwrap().size, 11);
//! ```
//!
//! [`BlockSource`]: crate::BlockSource

mod get;
mod hamt;
mod ls;
mod node;
mod path;
mod reader;
mod scope;
mod stat;
mod tar;
mod walk;

pub use crate::Control;
pub use get::{GetOptions, GetSummary, get};
pub use ls::{LsEntry, LsIter, ls};
pub use node::{NodeKind, default_mode};
pub use path::{MAX_PATH_SEGMENTS, parse_ipfs_path, resolve, resolve_path, validate_entry_name};
pub use reader::{FileReader, MAX_FILE_DEPTH, READ_AHEAD, cat};
pub use scope::{
    ByteSpan, CarBlocks, DagScope, EntityBytes, MAX_SCOPE_DEPTH, PathBlocks, resolve_blocks,
    select_blocks,
};
pub use stat::{Stat, stat};
pub use tar::get_tar;
