//! The repository: `ipfs_repo_gc`, `ipfs_repo_stat`, `ipfs_repo_verify`, `ipfs_refs`, `ipfs_refs_local`.

use ipfs_kit_content::export;
use ipfs_kit_repo::{GcProgress, RefsOptions};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{DEFAULT_LIST_LIMIT, core_meta};
use crate::{Kit, OpContext, OpError, OpMeta, Operation};

/// Most removed CIDs listed in a GC report (the count is always exact).
pub const GC_LIST_LIMIT: usize = 10_000;

/// `ipfs_repo_gc`.
#[derive(Debug, Clone, Copy)]
pub struct RepoGc;

/// Input with no fields.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoInput {}

/// Output of `ipfs_repo_gc`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct GcOutput {
    /// Removed blocks (as CIDv1 raw, like Kubo; at most 10,000 listed).
    pub removed: Vec<String>,
    /// How many blocks were removed.
    pub removed_count: u64,
    /// Bytes freed.
    pub bytes_freed: u64,
    /// Blocks kept because they are pinned or reachable from a pin.
    pub kept: u64,
    /// Whether cancellation stopped the sweep early.
    pub cancelled: bool,
}

impl Operation for RepoGc {
    const NAME: &'static str = "ipfs_repo_gc";
    type Input = NoInput;
    type Output = GcOutput;

    fn meta(&self) -> OpMeta {
        core_meta(
            "Collect garbage",
            "Remove every local block that no pin and no MFS file reaches. Pinned data is never removed; if a pinned DAG is \
             damaged, nothing is removed.",
            false,
            true,
            true,
        )
    }

    async fn run(&self, kit: &Kit, _input: NoInput, cx: &OpContext) -> Result<GcOutput, OpError> {
        if let Some(k) = kit.kubo() {
            return crate::remote::repo_gc(k, cx).await;
        }
        let cx = cx.clone();
        kit.blocking(move |kit| {
            let mut removed = Vec::new();
            let report = gc_embedded(&kit, &cx, &mut |c| {
                if removed.len() < GC_LIST_LIMIT {
                    removed.push(c.to_string());
                }
            })?;
            Ok(GcOutput {
                removed_count: report.removed,
                removed,
                bytes_freed: report.bytes_freed,
                kept: report.kept,
                cancelled: report.cancelled,
            })
        })
        .await
    }
}

/// Garbage-collect the embedded node's repo (blocking), handing each removed block (CIDv1 raw)
/// to `on_removed` as it goes: the one GC behind `ipfs_repo_gc` and the daemon's streamed
/// `repo/gc`, so neither holds every removed CID at once. Progress and cancellation come from `cx`.
pub fn gc_embedded(
    kit: &Kit,
    cx: &OpContext,
    on_removed: &mut dyn FnMut(&ipfs_kit_content::Cid),
) -> Result<ipfs_kit_repo::GcReport, OpError> {
    let mut removed = 0u64;
    let mut progress = |p: GcProgress| match p {
        GcProgress::Marked(n) => cx.progress(n, None, "blocks marked"),
        GcProgress::Removed { cid, .. } => {
            removed += 1;
            on_removed(&cid);
            cx.progress(removed, None, "blocks removed");
        }
    };
    // The MFS lock is held across GC so no MFS change can produce blocks GC does not see as
    // reachable (changes take the lock before the GC-shared guard: one lock order).
    let mfs = kit.mfs()?.lock_for_gc()?;
    let extra: Vec<_> = crate::mfs::Mfs::gc_root(&mfs)?.into_iter().collect();
    let report = kit.repo()?.gc(&extra, &mut progress, cx.cancel_flag())?;
    drop(mfs);
    Ok(report)
}

/// `ipfs_repo_stat`.
#[derive(Debug, Clone, Copy)]
pub struct RepoStat;

/// Output of `ipfs_repo_stat` (Kubo's fields).
#[derive(Debug, Serialize, JsonSchema)]
pub struct RepoStatOutput {
    /// Bytes used on disk.
    pub repo_size: u64,
    /// Configured maximum, bytes.
    pub storage_max: u64,
    /// Number of blocks.
    pub num_objects: u64,
    /// Repository directory.
    pub repo_path: String,
    /// Repository format version.
    pub version: String,
}

impl Operation for RepoStat {
    const NAME: &'static str = "ipfs_repo_stat";
    type Input = NoInput;
    type Output = RepoStatOutput;

    fn meta(&self) -> OpMeta {
        core_meta(
            "Repository statistics",
            "Size on disk, number of blocks, storage limit and location of the embedded node's repository.",
            true,
            false,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        _input: NoInput,
        _cx: &OpContext,
    ) -> Result<RepoStatOutput, OpError> {
        if let Some(k) = kit.kubo() {
            return crate::remote::repo_stat(k).await;
        }
        kit.blocking(|kit| {
            let s = kit.repo()?.stat()?;
            Ok(RepoStatOutput {
                repo_size: s.repo_size,
                storage_max: s.storage_max,
                num_objects: s.num_objects,
                repo_path: s.repo_path,
                version: s.version,
            })
        })
        .await
    }
}

/// `ipfs_repo_verify`.
#[derive(Debug, Clone, Copy)]
pub struct RepoVerify;

/// Output of `ipfs_repo_verify`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RepoVerifyOutput {
    /// Whether every block matches its CID.
    pub ok: bool,
    /// Blocks checked.
    pub checked: u64,
    /// Corrupted blocks (as CIDv1 raw) with what is wrong.
    pub corrupted: Vec<super::pin::BadBlock>,
}

impl Operation for RepoVerify {
    const NAME: &'static str = "ipfs_repo_verify";
    type Input = NoInput;
    type Output = RepoVerifyOutput;

    fn meta(&self) -> OpMeta {
        core_meta(
            "Verify the repository",
            "Re-hash every stored block and report those whose bytes no longer match their CID.",
            true,
            false,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        _input: NoInput,
        cx: &OpContext,
    ) -> Result<RepoVerifyOutput, OpError> {
        if let Some(k) = kit.kubo() {
            return crate::remote::repo_verify(k, cx).await;
        }
        let cx = cx.clone();
        kit.blocking(move |kit| {
            let mut progress = |n: u64| cx.progress(n, None, "blocks");
            let r = kit.repo()?.verify(&mut progress, cx.cancel_flag())?;
            Ok(RepoVerifyOutput {
                ok: r.corrupted.is_empty(),
                checked: r.checked,
                corrupted: r
                    .corrupted
                    .into_iter()
                    .map(|b| super::pin::BadBlock {
                        cid: b.cid.to_string(),
                        error: b.error,
                    })
                    .collect(),
            })
        })
        .await
    }
}

/// `ipfs_refs`.
#[derive(Debug, Clone, Copy)]
pub struct Refs;

/// Input of `ipfs_refs`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefsInput {
    /// CID or IPFS path of the root.
    pub path: String,
    /// Follow links recursively.
    #[serde(default)]
    pub recursive: bool,
    /// Report each CID once.
    #[serde(default)]
    pub unique: bool,
    /// Deepest level (1 = direct children); none for unlimited.
    pub max_depth: Option<u64>,
    /// At most this many refs (default 1000).
    pub limit: Option<usize>,
}

/// Output of a refs listing.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RefsOutput {
    /// The CIDs, in DAG order.
    pub refs: Vec<String>,
    /// Whether the list was cut at `limit`.
    pub truncated: bool,
}

impl Operation for Refs {
    const NAME: &'static str = "ipfs_refs";
    type Input = RefsInput;
    type Output = RefsOutput;

    fn meta(&self) -> OpMeta {
        core_meta(
            "List DAG links",
            "List the CIDs linked from a node (recursively with `recursive`, each once with `unique`).",
            true,
            false,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: RefsInput,
        _cx: &OpContext,
    ) -> Result<RefsOutput, OpError> {
        if let Some(k) = kit.kubo() {
            return crate::remote::refs(k, input).await;
        }
        let limit = input.limit.unwrap_or(DEFAULT_LIST_LIMIT);
        kit.blocking(move |kit| {
            let root = export::resolve_path(kit.repo()?.blocks(), &input.path)?;
            let opts = RefsOptions {
                recursive: input.recursive,
                unique: input.unique,
                max_depth: input.max_depth,
            };
            let mut refs = Vec::new();
            let mut truncated = false;
            for edge in kit.repo()?.refs(&root, opts) {
                if refs.len() == limit {
                    truncated = true;
                    break;
                }
                refs.push(edge?.to.to_string());
            }
            Ok(RefsOutput { refs, truncated })
        })
        .await
    }
}

/// `ipfs_refs_local`.
#[derive(Debug, Clone, Copy)]
pub struct RefsLocal;

/// Input of `ipfs_refs_local`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefsLocalInput {
    /// At most this many CIDs (default 1000).
    pub limit: Option<usize>,
}

impl Operation for RefsLocal {
    const NAME: &'static str = "ipfs_refs_local";
    type Input = RefsLocalInput;
    type Output = RefsOutput;

    fn meta(&self) -> OpMeta {
        core_meta(
            "List local blocks",
            "List the CIDs (as CIDv1 raw, like Kubo) of blocks stored locally.",
            true,
            false,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: RefsLocalInput,
        _cx: &OpContext,
    ) -> Result<RefsOutput, OpError> {
        if let Some(k) = kit.kubo() {
            return crate::remote::refs_local(k, input).await;
        }
        let limit = input.limit.unwrap_or(DEFAULT_LIST_LIMIT);
        kit.blocking(move |kit| {
            let mut refs = Vec::new();
            let mut truncated = false;
            for cid in kit.repo()?.refs_local()? {
                if refs.len() == limit {
                    truncated = true;
                    break;
                }
                refs.push(cid?.to_string());
            }
            Ok(RefsOutput { refs, truncated })
        })
        .await
    }
}
