//! DAG measurements and path resolution: `ipfs_dag_stat`, `ipfs_dag_resolve`.

use std::collections::HashSet;

use cid::Cid;
use ipfs_kit_content::{Codec, dag, export};
use ipfs_kit_repo::RefsOptions;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::core_meta;
use super::network::ndjson;
use crate::ipns::{self, RecordStore};
use crate::remote::err as kubo_err;
use crate::{ErrorCode, Kit, Node, OpContext, OpError, OpMeta, Operation};

/// Most paths measured in one call.
const MAX_PATHS: usize = 1000;

/// Resolve a path on the embedded node to the block it ends in and the path left inside that
/// block (Kubo's `dag resolve`). `/ipns/` names are resolved from the local records first;
/// `/ipfs/` paths into UnixFS (dag-pb) follow UnixFS directories, HAMT shards included.
fn resolve_local(kit: &Kit, path: &str) -> Result<(Cid, String), OpError> {
    let repo = kit.repo()?;
    let p = path.trim();
    let p = if p.starts_with("/ipns/") {
        ipns::resolve(&RecordStore::new(repo.path()), p, true)?
    } else {
        p.to_string()
    };
    let blocks = repo.blocks();
    let (root, segs) = dag::parse_path(&p)?;
    if !p.starts_with("/ipld/") && Codec::of(&root).ok() == Some(Codec::DagPb) {
        let cid = if segs.is_empty() {
            root
        } else {
            export::resolve_path(blocks, &p)?
        };
        return Ok((cid, String::new()));
    }
    let mut cid = root;
    let mut rem: Vec<String> = Vec::new();
    for seg in segs {
        rem.push(seg);
        let found = dag::resolve(blocks, &cid, &rem)?;
        if found.cid != cid {
            cid = found.cid;
            rem.clear();
        }
    }
    if rem.is_empty() && !blocks.has(&cid)? {
        return Err(OpError::new(
            ErrorCode::NotFound,
            format!("block {cid} is not stored on this node"),
        )
        .with("cid", cid.to_string()));
    }
    Ok((cid, rem.join("/")))
}

/// `ipfs_dag_stat`.
#[derive(Debug, Clone, Copy)]
pub struct DagStat;

/// Input of `ipfs_dag_stat`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DagStatInput {
    /// Root CIDs or paths of the DAGs to measure.
    pub paths: Vec<String>,
}

/// One DAG's size.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DagStatEntry {
    /// The root CID.
    pub cid: String,
    /// Bytes of its unique blocks.
    pub size: u64,
    /// Number of its unique blocks.
    pub num_blocks: u64,
}

/// Output of `ipfs_dag_stat`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DagStatOutput {
    /// Bytes of the blocks of all DAGs, each block counted once.
    pub total_size: u64,
    /// Number of distinct blocks over all DAGs.
    pub num_blocks: u64,
    /// Bytes counted more than once because DAGs share blocks.
    pub shared_size: u64,
    /// Sum of the per-DAG sizes divided by `total_size` (1 when nothing is shared).
    pub ratio: f64,
    /// Per DAG, in input order.
    pub dag_stats: Vec<DagStatEntry>,
}

impl Operation for DagStat {
    const NAME: &'static str = "ipfs_dag_stat";
    type Input = DagStatInput;
    type Output = DagStatOutput;

    fn meta(&self) -> OpMeta {
        core_meta(
            "Measure DAGs",
            "Size and block count of DAGs, each block counted once per DAG and once overall (Kubo's `dag stat`).",
            true,
            false,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: DagStatInput,
        cx: &OpContext,
    ) -> Result<DagStatOutput, OpError> {
        if input.paths.is_empty() {
            return Err(OpError::invalid("give at least one path").with("field", "paths"));
        }
        if input.paths.len() > MAX_PATHS {
            return Err(
                OpError::invalid(format!("more than {MAX_PATHS} paths")).with("limit", MAX_PATHS)
            );
        }
        if let Node::Kubo(k) = kit.node() {
            let mut q: Vec<(&str, String)> =
                input.paths.iter().map(|p| ("arg", p.clone())).collect();
            q.push(("progress", "false".into()));
            let (events, _) = ndjson(k, "dag/stat", &q, usize::MAX, None, cx).await?;
            let last = events.last().cloned().unwrap_or(Value::Null);
            let n = |v: &Value, key: &str| v.get(key).and_then(Value::as_u64).unwrap_or(0);
            let dag_stats = last
                .get("DagStats")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|d| DagStatEntry {
                            cid: match d.get("Cid") {
                                Some(Value::String(s)) => s.clone(),
                                Some(v) => v
                                    .get("/")
                                    .and_then(Value::as_str)
                                    .unwrap_or_default()
                                    .to_string(),
                                None => String::new(),
                            },
                            size: n(d, "Size"),
                            num_blocks: n(d, "NumBlocks"),
                        })
                        .collect()
                })
                .unwrap_or_default();
            return Ok(DagStatOutput {
                total_size: n(&last, "TotalSize"),
                num_blocks: n(&last, "UniqueBlocks"),
                shared_size: n(&last, "SharedSize"),
                ratio: last.get("Ratio").and_then(Value::as_f64).unwrap_or(0.0),
                dag_stats,
            });
        }
        let cancel = cx.cancel_arc();
        let cx2 = cx.clone();
        kit.blocking(move |kit| {
            let repo = kit.repo()?;
            let _hold = repo.gc_shared();
            let many = input.paths.len() > 1;
            let mut seen: HashSet<Cid> = HashSet::new();
            let (mut total_size, mut unique, mut redundant) = (0u64, 0u64, 0u64);
            let mut dag_stats = Vec::with_capacity(input.paths.len());
            for p in &input.paths {
                let (root, rem) = resolve_local(&kit, p)?;
                if !rem.is_empty() {
                    return Err(OpError::invalid(format!(
                        "{p}: cannot return size for anything other than a DAG with a root CID"
                    ))
                    .with("path", p.clone()));
                }
                let mut entry = DagStatEntry {
                    cid: root.to_string(),
                    size: 0,
                    num_blocks: 0,
                };
                let blocks = std::iter::once(Ok(root)).chain(
                    repo.refs(
                        &root,
                        RefsOptions {
                            recursive: true,
                            unique: true,
                            max_depth: None,
                        },
                    )
                    .map(|e| e.map(|edge| edge.to)),
                );
                for c in blocks {
                    if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                        return Err(OpError::new(ErrorCode::Cancelled, "operation cancelled"));
                    }
                    let c = c?;
                    let size = repo.blocks().size(&c)?.ok_or_else(|| {
                        OpError::new(
                            ErrorCode::NotFound,
                            format!("block {c} of {root} is not stored on this node"),
                        )
                        .with("cid", c.to_string())
                    })?;
                    entry.size += size;
                    entry.num_blocks += 1;
                    redundant += size;
                    if !many || seen.insert(c) {
                        total_size += size;
                        unique += 1;
                    }
                    cx2.progress(redundant, None, "bytes");
                }
                dag_stats.push(entry);
            }
            Ok(DagStatOutput {
                total_size,
                num_blocks: unique,
                shared_size: redundant - total_size,
                ratio: if total_size == 0 {
                    0.0
                } else {
                    redundant as f64 / total_size as f64
                },
                dag_stats,
            })
        })
        .await
    }
}

/// `ipfs_dag_resolve`.
#[derive(Debug, Clone, Copy)]
pub struct DagResolve;

/// Input of `ipfs_dag_resolve`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DagResolveInput {
    /// The path: `/ipfs/<cid>/a/b`, `/ipld/<cid>/a/b`, `/ipns/<name>/…` or `<cid>/a/b`.
    pub path: String,
}

/// Output of `ipfs_dag_resolve`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DagResolveOutput {
    /// The block the path ends in.
    pub cid: String,
    /// The part of the path left inside that block (empty when it ends on the block itself).
    pub rem_path: String,
}

impl Operation for DagResolve {
    const NAME: &'static str = "ipfs_dag_resolve";
    type Input = DagResolveInput;
    type Output = DagResolveOutput;

    fn meta(&self) -> OpMeta {
        core_meta(
            "Resolve a path",
            "Resolve an IPFS/IPLD path to the CID of the block it ends in and the path remaining inside \
             that block (Kubo's `dag resolve`).",
            true,
            false,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: DagResolveInput,
        _cx: &OpContext,
    ) -> Result<DagResolveOutput, OpError> {
        if let Node::Kubo(k) = kit.node() {
            let v: Value = k
                .json("dag/resolve", &[("arg", input.path.clone())])
                .await
                .map_err(|e| kubo_err(k, e))?;
            let cid = match v.get("Cid") {
                Some(Value::String(s)) => s.clone(),
                Some(c) => c
                    .get("/")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                None => String::new(),
            };
            return Ok(DagResolveOutput {
                cid,
                rem_path: v
                    .get("RemPath")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            });
        }
        kit.blocking(move |kit| {
            let (cid, rem_path) = resolve_local(&kit, &input.path)?;
            Ok(DagResolveOutput {
                cid: cid.to_string(),
                rem_path,
            })
        })
        .await
    }
}
