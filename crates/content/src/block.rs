use std::collections::HashMap;
use std::sync::RwLock;

use bytes::Bytes;
use cid::Cid;

use crate::{Error, HashAlg, Result};

/// A block: bytes and the CID that names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Its CID.
    pub cid: Cid,
    /// Its bytes.
    pub data: Bytes,
}

impl Block {
    /// Check that `data` hashes to `cid`'s multihash.
    pub fn verify(cid: &Cid, data: &[u8]) -> Result<()> {
        let mh = cid.hash();
        let alg = HashAlg::from_code(mh.code())
            .ok_or_else(|| Error::UnsupportedHash(format!("0x{:x}", mh.code())))?;
        let got = alg.digest(data)?;
        if got.digest() == mh.digest() {
            Ok(())
        } else {
            Err(Error::Corrupted(*cid))
        }
    }
}

/// Where an importer puts the blocks it makes. `put` may be called from several threads.
pub trait BlockSink: Sync {
    /// Store one block (idempotent: storing a block that exists is a no-op).
    fn put(&self, cid: &Cid, data: &[u8]) -> Result<()>;

    /// Store the block whose bytes are the concatenation of `parts` (a leaf framed around shared
    /// buffers). The default joins them and calls [`BlockSink::put`]; a store that can write the
    /// parts as they are (the repo's `pwritev`) saves that copy.
    fn put_parts(&self, cid: &Cid, parts: &[&[u8]]) -> Result<()> {
        match parts {
            [one] => self.put(cid, one),
            _ => self.put(cid, &parts.concat()),
        }
    }
}

/// Where an exporter reads blocks from.
pub trait BlockSource: Sync {
    /// The block's bytes, verified against its CID, or [`Error::NotFound`].
    fn get(&self, cid: &Cid) -> Result<Bytes>;
}

/// A sink that keeps nothing: `--only-hash`.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl BlockSink for NullSink {
    fn put(&self, _cid: &Cid, _data: &[u8]) -> Result<()> {
        Ok(())
    }

    fn put_parts(&self, _cid: &Cid, _parts: &[&[u8]]) -> Result<()> {
        Ok(())
    }
}

/// Blocks in memory, keyed by CID (for tests and small in-process work).
#[derive(Debug, Default)]
pub struct MemoryBlocks {
    blocks: RwLock<HashMap<Cid, Bytes>>,
}

impl MemoryBlocks {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of blocks held.
    pub fn len(&self) -> usize {
        self.blocks.read().map(|b| b.len()).unwrap_or(0)
    }

    /// Whether no block is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All CIDs held, in no particular order.
    pub fn cids(&self) -> Vec<Cid> {
        self.blocks
            .read()
            .map(|b| b.keys().copied().collect())
            .unwrap_or_default()
    }
}

impl BlockSink for MemoryBlocks {
    fn put(&self, cid: &Cid, data: &[u8]) -> Result<()> {
        let mut map = self
            .blocks
            .write()
            .map_err(|_| Error::Store("memory store poisoned".into()))?;
        map.entry(*cid)
            .or_insert_with(|| Bytes::copy_from_slice(data));
        Ok(())
    }
}

impl BlockSource for MemoryBlocks {
    fn get(&self, cid: &Cid) -> Result<Bytes> {
        if cid.hash().code() == HashAlg::Identity.code() {
            return Ok(Bytes::copy_from_slice(cid.hash().digest()));
        }
        let map = self
            .blocks
            .read()
            .map_err(|_| Error::Store("memory store poisoned".into()))?;
        map.get(cid).cloned().ok_or(Error::NotFound(*cid))
    }
}
