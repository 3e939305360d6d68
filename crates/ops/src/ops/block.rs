//! Raw blocks: `ipfs_block_put`, `ipfs_block_get`, `ipfs_block_stat`, `ipfs_block_rm`.

use base64::Engine;
use ipfs_kit_content::{Codec, HashAlg, block_cid};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{cid_arg, core_meta};
use crate::{ErrorCode, Kit, OpContext, OpError, OpMeta, Operation};

/// Kubo's soft block size limit for `block put` / `dag put` (1 MiB).
pub const SOFT_BLOCK_LIMIT: usize = 1024 * 1024;
/// Hard limit even with `allow_big_block` (what CAR import accepts too).
pub const HARD_BLOCK_LIMIT: usize = ipfs_kit_content::car::MAX_BLOCK_SIZE;

/// Bytes given inline to an operation: UTF-8 text, base64, or a local file.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct InlineBytes {
    /// The bytes as UTF-8 text.
    pub data: Option<String>,
    /// The bytes, base64-encoded.
    pub data_base64: Option<String>,
    /// A local file holding the bytes.
    pub path: Option<String>,
}

impl InlineBytes {
    /// The bytes, refusing more than `limit`.
    pub(crate) fn read(self, limit: usize) -> Result<Vec<u8>, OpError> {
        let too_big = |n: usize| {
            OpError::invalid(format!("{n} bytes is over the {limit}-byte limit"))
                .with("limit", limit)
        };
        let bytes = match (self.data, self.data_base64, self.path) {
            (Some(t), None, None) => t.into_bytes(),
            (None, Some(b), None) => base64::engine::general_purpose::STANDARD
                .decode(b.as_bytes())
                .map_err(|e| OpError::invalid(format!("data_base64 is not base64: {e}")))?,
            (None, None, Some(p)) => {
                let meta =
                    std::fs::metadata(&p).map_err(|e| OpError::from(e).with("path", p.clone()))?;
                if meta.len() > limit as u64 {
                    return Err(too_big(meta.len() as usize));
                }
                std::fs::read(&p).map_err(|e| OpError::from(e).with("path", p.clone()))?
            }
            _ => {
                return Err(OpError::invalid(
                    "give exactly one of data, data_base64 or path",
                ));
            }
        };
        if bytes.len() > limit {
            return Err(too_big(bytes.len()));
        }
        Ok(bytes)
    }
}

/// `ipfs_block_put`.
#[derive(Debug, Clone, Copy)]
pub struct BlockPut;

/// Input of `ipfs_block_put`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct BlockPutInput {
    /// The block's bytes.
    #[serde(flatten)]
    pub bytes: InlineBytes,
    /// Codec to name the block with: raw (default), dag-pb, dag-cbor, dag-json. The bytes must be valid for it.
    #[serde(default = "default_raw")]
    pub cid_codec: String,
    /// Hash function (default sha2-256).
    #[serde(default = "default_hash")]
    pub hash: String,
    /// Pin the block directly.
    #[serde(default)]
    pub pin: bool,
    /// Accept blocks over 1 MiB (up to 4 MiB).
    #[serde(default)]
    pub allow_big_block: bool,
}

fn default_raw() -> String {
    "raw".into()
}

pub(crate) fn default_hash() -> String {
    "sha2-256".into()
}

/// A block's CID and size.
#[derive(Debug, Serialize, JsonSchema)]
pub struct BlockInfo {
    /// The CID.
    pub cid: String,
    /// Size in bytes.
    pub size: u64,
}

impl Operation for BlockPut {
    const NAME: &'static str = "ipfs_block_put";
    type Input = BlockPutInput;
    type Output = BlockInfo;

    fn meta(&self) -> OpMeta {
        core_meta(
            "Store a block",
            "Store raw bytes as one block and return its CID (CIDv1 with the given codec and hash). Bytes \
             claimed to be dag-pb/dag-cbor/dag-json must decode as such.",
            false,
            false,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: BlockPutInput,
        _cx: &OpContext,
    ) -> Result<BlockInfo, OpError> {
        let codec: Codec = input.cid_codec.parse()?;
        let hash: HashAlg = input.hash.parse()?;
        let limit = if input.allow_big_block {
            HARD_BLOCK_LIMIT
        } else {
            SOFT_BLOCK_LIMIT
        };
        let data = input.bytes.read(limit)?;
        let pin = input.pin;
        if let Some(k) = kit.kubo() {
            // Checked here as on the embedded node: bytes must decode in the codec they claim.
            let cid = block_cid(1, codec, hash, &data)?;
            ipfs_kit_content::dag::links(&cid, &data)?;
            return crate::remote::block_put(
                k,
                &cid,
                &input.cid_codec,
                &input.hash,
                data,
                pin,
                input.allow_big_block,
            )
            .await;
        }
        kit.blocking(move |kit| {
            let cid = block_cid(1, codec, hash, &data)?;
            // Refuse bytes that do not decode in the codec they claim.
            ipfs_kit_content::dag::links(&cid, &data)?;
            let _hold = kit.repo()?.gc_shared();
            kit.repo()?.blocks().put_verified(&cid, &data)?;
            kit.repo()?.blocks().sync()?;
            if pin {
                kit.repo()?.pin_add(&cid, false, "")?;
            }
            Ok(BlockInfo {
                cid: cid.to_string(),
                size: data.len() as u64,
            })
        })
        .await
    }
}

/// `ipfs_block_get`.
#[derive(Debug, Clone, Copy)]
pub struct BlockGet;

/// Input naming one block.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockCidInput {
    /// The block's CID.
    pub cid: String,
}

/// Output of `ipfs_block_get`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct BlockGetOutput {
    /// The CID.
    pub cid: String,
    /// The bytes, base64-encoded.
    pub data_base64: String,
    /// Size in bytes.
    pub size: u64,
}

impl Operation for BlockGet {
    const NAME: &'static str = "ipfs_block_get";
    type Input = BlockCidInput;
    type Output = BlockGetOutput;

    fn meta(&self) -> OpMeta {
        core_meta(
            "Read a block",
            "Return one block's raw bytes (base64), verified against its CID.",
            true,
            false,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: BlockCidInput,
        _cx: &OpContext,
    ) -> Result<BlockGetOutput, OpError> {
        let cid = cid_arg("cid", &input.cid)?;
        if let Some(k) = kit.kubo() {
            return crate::remote::block_get(k, &cid.to_string()).await;
        }
        kit.blocking(move |kit| {
            let data = kit.repo()?.blocks().get(&cid)?;
            Ok(BlockGetOutput {
                cid: cid.to_string(),
                size: data.len() as u64,
                data_base64: base64::engine::general_purpose::STANDARD.encode(&data),
            })
        })
        .await
    }
}

/// `ipfs_block_stat`.
#[derive(Debug, Clone, Copy)]
pub struct BlockStat;

impl Operation for BlockStat {
    const NAME: &'static str = "ipfs_block_stat";
    type Input = BlockCidInput;
    type Output = BlockInfo;

    fn meta(&self) -> OpMeta {
        core_meta(
            "Block size",
            "Return one stored block's CID and size.",
            true,
            false,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: BlockCidInput,
        _cx: &OpContext,
    ) -> Result<BlockInfo, OpError> {
        let cid = cid_arg("cid", &input.cid)?;
        if let Some(k) = kit.kubo() {
            return crate::remote::block_stat(k, &cid.to_string()).await;
        }
        kit.blocking(move |kit| {
            let size = match kit.repo()?.blocks().size(&cid)? {
                Some(s) => s,
                None => return Err(ipfs_kit_content::Error::NotFound(cid).into()),
            };
            Ok(BlockInfo {
                cid: cid.to_string(),
                size,
            })
        })
        .await
    }
}

/// `ipfs_block_rm`.
#[derive(Debug, Clone, Copy)]
pub struct BlockRm;

/// Input of `ipfs_block_rm`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockRmInput {
    /// CIDs of the blocks to remove.
    pub cids: Vec<String>,
    /// Ignore blocks that are not there.
    #[serde(default)]
    pub force: bool,
}

/// Output of `ipfs_block_rm`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct BlockRmOutput {
    /// The blocks removed.
    pub removed: Vec<String>,
}

impl Operation for BlockRm {
    const NAME: &'static str = "ipfs_block_rm";
    type Input = BlockRmInput;
    type Output = BlockRmOutput;

    fn meta(&self) -> OpMeta {
        core_meta(
            "Remove blocks",
            "Remove blocks from the local store. Pinned blocks are refused; missing blocks are an error \
             unless force.",
            false,
            true,
            false,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: BlockRmInput,
        _cx: &OpContext,
    ) -> Result<BlockRmOutput, OpError> {
        let cids = input
            .cids
            .iter()
            .map(|c| cid_arg("cids", c))
            .collect::<Result<Vec<_>, _>>()?;
        let force = input.force;
        if let Some(k) = kit.kubo() {
            let cids = cids.iter().map(|c| c.to_string()).collect();
            return crate::remote::block_rm(k, cids, force).await;
        }
        kit.blocking(move |kit| {
            let mut removed = Vec::new();
            for cid in cids {
                // Pinned blocks are always refused, as in Kubo; `force` only forgives missing ones.
                match kit.repo()?.remove_block(&cid, false)? {
                    Some(_) => removed.push(cid.to_string()),
                    None if force => {}
                    None => {
                        return Err(OpError::new(
                            ErrorCode::NotFound,
                            format!("block {cid} not found"),
                        )
                        .with("cid", cid.to_string()));
                    }
                }
            }
            Ok(BlockRmOutput { removed })
        })
        .await
    }
}
