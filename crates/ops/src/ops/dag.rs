//! IPLD DAGs and CAR files: `ipfs_dag_get`, `ipfs_dag_put`, `ipfs_dag_export`, `ipfs_dag_import`.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};

use base64::Engine;
use ipfs_kit_content::{Codec, HashAlg, car, dag};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::block::{HARD_BLOCK_LIMIT, InlineBytes, SOFT_BLOCK_LIMIT, default_hash};
use super::{cid_arg, core_meta, default_true};
use crate::{ErrorCode, Kit, OpContext, OpError, OpMeta, Operation};

/// `ipfs_dag_get`.
#[derive(Debug, Clone, Copy)]
pub struct DagGet;

/// Input of `ipfs_dag_get`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DagGetInput {
    /// CID with an optional IPLD path (`CID/a/b/0`; dag-pb: `Links/0/Hash`, `Data`).
    pub path: String,
    /// Also encode the value in this codec (dag-cbor, dag-json, dag-pb, raw) and return the bytes
    /// as `data_base64`, as Kubo's `dag get --output-codec` does.
    pub output_codec: Option<String>,
}

/// Output of `ipfs_dag_get`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DagGetOutput {
    /// The block the value was found in.
    pub cid: String,
    /// Its codec.
    pub codec: String,
    /// The value, in dag-json form (links as `{"/": cid}`, bytes as `{"/": {"bytes": b64}}`).
    pub value: serde_json::Value,
    /// The value encoded in `output_codec`, base64, when one was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_base64: Option<String>,
}

impl Operation for DagGet {
    const NAME: &'static str = "ipfs_dag_get";
    type Input = DagGetInput;
    type Output = DagGetOutput;

    fn meta(&self) -> OpMeta {
        core_meta(
            "Read an IPLD node",
            "Read an IPLD node (dag-cbor, dag-json, dag-pb or raw) by CID and optional path, shown as dag-json \
             (and, with output_codec, encoded in that codec as base64).",
            true,
            false,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: DagGetInput,
        _cx: &OpContext,
    ) -> Result<DagGetOutput, OpError> {
        let output_codec: Option<Codec> =
            input.output_codec.as_deref().map(str::parse).transpose()?;
        if let Some(k) = kit.kubo() {
            return crate::remote::dag_get(k, input).await;
        }
        kit.blocking(move |kit| {
            let (root, segs) = dag::parse_path(&input.path)?;
            let found = dag::resolve(kit.repo()?.blocks(), &root, &segs)?;
            let data_base64 = match output_codec {
                Some(codec) => Some(
                    base64::engine::general_purpose::STANDARD
                        .encode(dag::encode(codec, &found.value)?),
                ),
                None => None,
            };
            let json = dag::encode(Codec::DagJson, &found.value)?;
            let value = serde_json::from_slice(&json).map_err(|e| {
                OpError::new(
                    ErrorCode::Internal,
                    format!("dag-json output is not JSON: {e}"),
                )
            })?;
            Ok(DagGetOutput {
                cid: found.cid.to_string(),
                codec: Codec::of(&found.cid)
                    .map(|c| c.name())
                    .unwrap_or("unknown")
                    .to_string(),
                value,
                data_base64,
            })
        })
        .await
    }
}

/// `ipfs_dag_put`.
#[derive(Debug, Clone, Copy)]
pub struct DagPut;

/// Input of `ipfs_dag_put`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DagPutInput {
    /// The node, in `input_codec`.
    #[serde(flatten)]
    pub bytes: InlineBytes,
    /// Codec of the input: dag-json (default), dag-cbor, dag-pb (as dag-json) or raw.
    #[serde(default = "default_dag_json")]
    pub input_codec: String,
    /// Codec to store as: dag-cbor (default), dag-json, dag-pb, raw.
    #[serde(default = "default_dag_cbor")]
    pub store_codec: String,
    /// Hash function (default sha2-256).
    #[serde(default = "default_hash")]
    pub hash: String,
    /// Pin the node recursively (its links must be present).
    #[serde(default)]
    pub pin: bool,
    /// Accept nodes over 1 MiB (up to 4 MiB).
    #[serde(default)]
    pub allow_big_block: bool,
}

fn default_dag_json() -> String {
    "dag-json".into()
}

fn default_dag_cbor() -> String {
    "dag-cbor".into()
}

/// Output of `ipfs_dag_put`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DagPutOutput {
    /// The stored node's CID.
    pub cid: String,
}

impl Operation for DagPut {
    const NAME: &'static str = "ipfs_dag_put";
    type Input = DagPutInput;
    type Output = DagPutOutput;

    fn meta(&self) -> OpMeta {
        core_meta(
            "Store an IPLD node",
            "Parse a node (dag-json by default), store it canonically in the store codec (dag-cbor by \
             default) and return its CID.",
            false,
            false,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: DagPutInput,
        _cx: &OpContext,
    ) -> Result<DagPutOutput, OpError> {
        let opts = dag::PutOptions {
            input_codec: input.input_codec.parse()?,
            store_codec: input.store_codec.parse()?,
            hash: input.hash.parse::<HashAlg>()?,
            cid_version: 1,
        };
        let limit = if input.allow_big_block {
            HARD_BLOCK_LIMIT
        } else {
            SOFT_BLOCK_LIMIT
        };
        let data = input.bytes.read(limit)?;
        let pin = input.pin;
        if let Some(k) = kit.kubo() {
            // Encoded here too: the node's answer must be this CID.
            let expected = dag::put(&data, &opts)?.cid;
            let opts = crate::remote::DagPutQuery {
                expected,
                input_codec: input.input_codec,
                store_codec: input.store_codec,
                hash: input.hash,
                pin,
                allow_big_block: input.allow_big_block,
            };
            return crate::remote::dag_put(k, opts, data).await;
        }
        kit.blocking(move |kit| {
            let block = dag::put(&data, &opts)?;
            if block.data.len() > limit {
                return Err(OpError::invalid(format!(
                    "encoded node is {} bytes, over the {limit}-byte limit",
                    block.data.len()
                )));
            }
            let _hold = kit.repo()?.gc_shared();
            kit.repo()?.blocks().put_verified(&block.cid, &block.data)?;
            kit.repo()?.blocks().sync()?;
            if pin {
                kit.repo()?.pin_add(&block.cid, true, "")?;
            }
            Ok(DagPutOutput {
                cid: block.cid.to_string(),
            })
        })
        .await
    }
}

/// `ipfs_dag_export`.
#[derive(Debug, Clone, Copy)]
pub struct DagExport;

/// Input of `ipfs_dag_export`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DagExportInput {
    /// Root CID of the DAG.
    pub root: String,
    /// Local path of the CAR file to create.
    pub output: String,
}

/// Output of `ipfs_dag_export`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DagExportOutput {
    /// The root.
    pub root: String,
    /// The CAR file written.
    pub output: String,
    /// Blocks written.
    pub blocks: u64,
    /// Bytes written.
    pub bytes: u64,
}

impl Operation for DagExport {
    const NAME: &'static str = "ipfs_dag_export";
    type Input = DagExportInput;
    type Output = DagExportOutput;

    fn meta(&self) -> OpMeta {
        core_meta(
            "Export a DAG as CAR",
            "Write the whole DAG under a root, each block once in depth-first order, as a CARv1 file \
             (what `ipfs dag export` produces).",
            false,
            false,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: DagExportInput,
        cx: &OpContext,
    ) -> Result<DagExportOutput, OpError> {
        let root = cid_arg("root", &input.root)?;
        if let Some(k) = kit.kubo() {
            return crate::remote::dag_export(k, input, cx).await;
        }
        kit.blocking(move |kit| {
            let out = std::path::PathBuf::from(&input.output);
            let tmp = out.with_extension("car.partial");
            let result = (|| -> Result<u64, OpError> {
                let mut w = BufWriter::new(File::create(&tmp)?);
                let blocks = car::export_dag(kit.repo()?.blocks(), &root, &mut w)?;
                w.flush()?;
                w.get_ref().sync_all()?;
                Ok(blocks)
            })();
            let blocks = match result {
                Ok(b) => b,
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e);
                }
            };
            std::fs::rename(&tmp, &out)?;
            let bytes = std::fs::metadata(&out)?.len();
            Ok(DagExportOutput {
                root: root.to_string(),
                output: input.output,
                blocks,
                bytes,
            })
        })
        .await
    }
}

/// `ipfs_dag_import`.
#[derive(Debug, Clone, Copy)]
pub struct DagImport;

/// Input of `ipfs_dag_import`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DagImportInput {
    /// Local CAR files (v1 or v2).
    pub paths: Vec<String>,
    /// Pin each root recursively (default true).
    #[serde(default = "default_true")]
    pub pin_roots: bool,
}

/// One imported root.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ImportedRoot {
    /// The root CID.
    pub cid: String,
    /// Whether it was pinned.
    pub pinned: bool,
}

/// Output of `ipfs_dag_import`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DagImportOutput {
    /// Roots from the CAR headers.
    pub roots: Vec<ImportedRoot>,
    /// Blocks read.
    pub blocks: u64,
}

impl Operation for DagImport {
    const NAME: &'static str = "ipfs_dag_import";
    type Input = DagImportInput;
    type Output = DagImportOutput;

    fn meta(&self) -> OpMeta {
        core_meta(
            "Import CAR files",
            "Import every block of CAR files (v1 or v2), verifying each against its CID, and pin the roots. \
             A malformed or corrupted CAR stops with an error and pins nothing.",
            false,
            false,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: DagImportInput,
        cx: &OpContext,
    ) -> Result<DagImportOutput, OpError> {
        if let Some(k) = kit.kubo() {
            return crate::remote::dag_import(k, input, cx).await;
        }
        let cx = cx.clone();
        kit.blocking(move |kit| {
            let _hold = kit.repo()?.gc_shared();
            let mut roots = Vec::new();
            let mut blocks = 0;
            for p in &input.paths {
                cx.check()?;
                let f = File::open(p).map_err(|e| OpError::from(e).with("path", p.clone()))?;
                let imported =
                    car::import_car(BufReader::with_capacity(1 << 20, f), kit.repo()?.blocks())
                        .map_err(|e| OpError::from(e).with("path", p.clone()))?;
                blocks += imported.blocks;
                cx.progress(blocks, None, "blocks");
                roots.extend(imported.roots);
            }
            kit.repo()?.blocks().sync()?;
            let mut out = Vec::new();
            for root in roots {
                if input.pin_roots {
                    kit.repo()?.pin_add(&root, true, "")?;
                }
                out.push(ImportedRoot {
                    cid: root.to_string(),
                    pinned: input.pin_roots,
                });
            }
            Ok(DagImportOutput { roots: out, blocks })
        })
        .await
    }
}
