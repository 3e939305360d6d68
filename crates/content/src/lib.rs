//! Content core of ipfs-kit: CIDs and multihashes, the dag-pb / raw / dag-cbor / dag-json codecs,
//! UnixFS import (Kubo-identical CIDs) and export, and CAR files.
//!
//! Pure data logic: no servers, no global state. Block storage is abstracted by [`BlockSink`] (where
//! an importer puts blocks) and [`BlockSource`] (where an exporter reads them).
//!
//! ```
//! use ipfs_kit_content::{HashAlg, Codec, block_cid};
//! let cid = block_cid(1, Codec::Raw, HashAlg::Sha2_256, b"").unwrap();
//! assert_eq!(cid.to_string(), "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod block;
pub mod car;
pub mod chunker;
mod cids;
mod control;
pub mod dag;
mod error;
pub mod export;
mod hash;
pub mod import;
pub mod pb;
pub mod unixfs;

pub use block::{Block, BlockSink, BlockSource, MemoryBlocks, NullSink};
pub use cid::Cid;
pub use cids::{CidBase, Codec, block_cid, block_cid_parts, format_cid, parse_cid};
pub use control::Control;
pub use error::{Error, Result};
pub use hash::{HashAlg, Mh};
