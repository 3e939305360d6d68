//! Pins: `ipfs_pin_add`, `ipfs_pin_rm`, `ipfs_pin_ls`, `ipfs_pin_update`, `ipfs_pin_verify`.

use ipfs_kit_content::export;
use ipfs_kit_repo::{PinFilter, PinKind, PinStatus};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{DEFAULT_LIST_LIMIT, core_meta, default_true};
use crate::{ErrorCode, Kit, OpContext, OpError, OpMeta, Operation};

/// Resolve a CID or IPFS path against the embedded node.
fn resolve(kit: &Kit, path: &str) -> Result<cid::Cid, OpError> {
    Ok(export::resolve_path(kit.repo()?.blocks(), path)?)
}

/// `ipfs_pin_add`.
#[derive(Debug, Clone, Copy)]
pub struct PinAdd;

/// Input of `ipfs_pin_add`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PinAddInput {
    /// CIDs or IPFS paths to pin.
    pub paths: Vec<String>,
    /// Pin the whole DAG (default true); false pins only the block.
    #[serde(default = "default_true")]
    pub recursive: bool,
    /// A name for the pins.
    #[serde(default)]
    pub name: String,
}

/// Output of pin changes.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PinsOutput {
    /// The CIDs affected.
    pub pins: Vec<String>,
}

impl Operation for PinAdd {
    const NAME: &'static str = "ipfs_pin_add";
    type Input = PinAddInput;
    type Output = PinsOutput;

    fn meta(&self) -> OpMeta {
        core_meta(
            "Pin content",
            "Pin CIDs or IPFS paths so garbage collection keeps them. Recursive pins need the whole DAG \
             present locally; the error names the first missing block.",
            false,
            false,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: PinAddInput,
        cx: &OpContext,
    ) -> Result<PinsOutput, OpError> {
        if let Some(k) = kit.kubo() {
            return crate::remote::pin_add(k, input).await;
        }
        let cx = cx.clone();
        kit.blocking(move |kit| {
            let total = input.paths.len() as u64;
            let mut pins = Vec::new();
            for (i, p) in input.paths.iter().enumerate() {
                cx.check()?;
                let cid = resolve(&kit, p)?;
                kit.repo()?.pin_add(&cid, input.recursive, &input.name)?;
                pins.push(cid.to_string());
                cx.progress(i as u64 + 1, Some(total), "pins");
            }
            Ok(PinsOutput { pins })
        })
        .await
    }
}

/// `ipfs_pin_rm`.
#[derive(Debug, Clone, Copy)]
pub struct PinRm;

/// Input of `ipfs_pin_rm`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PinRmInput {
    /// CIDs or IPFS paths to unpin.
    pub paths: Vec<String>,
    /// Remove recursive pins (default true); false removes only direct pins.
    #[serde(default = "default_true")]
    pub recursive: bool,
}

impl Operation for PinRm {
    const NAME: &'static str = "ipfs_pin_rm";
    type Input = PinRmInput;
    type Output = PinsOutput;

    fn meta(&self) -> OpMeta {
        core_meta(
            "Unpin content",
            "Remove pins; the blocks stay until the next garbage collection.",
            false,
            true,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: PinRmInput,
        _cx: &OpContext,
    ) -> Result<PinsOutput, OpError> {
        if let Some(k) = kit.kubo() {
            return crate::remote::pin_rm(k, input).await;
        }
        kit.blocking(move |kit| {
            let mut pins = Vec::new();
            for p in &input.paths {
                let cid = resolve(&kit, p)?;
                kit.repo()?.pin_rm(&cid, input.recursive)?;
                pins.push(cid.to_string());
            }
            Ok(PinsOutput { pins })
        })
        .await
    }
}

/// `ipfs_pin_ls`.
#[derive(Debug, Clone, Copy)]
pub struct PinLs;

/// Which pins to list.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PinType {
    /// Every pin.
    #[default]
    All,
    /// Direct pins.
    Direct,
    /// Indirect pins (inside recursive ones).
    Indirect,
    /// Recursive pins.
    Recursive,
}

/// Input of `ipfs_pin_ls`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PinLsInput {
    /// Only report these CIDs or paths (with how each is pinned).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Which pins to list.
    #[serde(default, rename = "type")]
    pub kind: PinType,
    /// At most this many pins (default 1000).
    pub limit: Option<usize>,
}

/// One pin.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PinItem {
    /// The CID.
    pub cid: String,
    /// `recursive`, `direct`, or `indirect through <cid>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The pin's name, if any.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
}

/// Output of `ipfs_pin_ls`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PinLsOutput {
    /// The pins.
    pub pins: Vec<PinItem>,
    /// Whether the list was cut at `limit`.
    pub truncated: bool,
}

fn kind_name(k: PinKind) -> &'static str {
    match k {
        PinKind::Recursive => "recursive",
        PinKind::Direct => "direct",
        PinKind::Indirect => "indirect",
    }
}

impl Operation for PinLs {
    const NAME: &'static str = "ipfs_pin_ls";
    type Input = PinLsInput;
    type Output = PinLsOutput;

    fn meta(&self) -> OpMeta {
        core_meta(
            "List pins",
            "List pinned CIDs by type (all, direct, indirect, recursive), or tell how given CIDs are pinned.",
            true,
            false,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: PinLsInput,
        _cx: &OpContext,
    ) -> Result<PinLsOutput, OpError> {
        if let Some(k) = kit.kubo() {
            return crate::remote::pin_ls(k, input).await;
        }
        let limit = input.limit.unwrap_or(DEFAULT_LIST_LIMIT);
        kit.blocking(move |kit| {
            let mut pins = Vec::new();
            if !input.paths.is_empty() {
                let cids = input
                    .paths
                    .iter()
                    .map(|p| resolve(&kit, p))
                    .collect::<Result<Vec<_>, _>>()?;
                for (cid, status) in kit.repo()?.pin_status(&cids)? {
                    let kind = match status {
                        PinStatus::Recursive => "recursive".to_string(),
                        PinStatus::Direct => "direct".to_string(),
                        PinStatus::Indirect { via } => format!("indirect through {via}"),
                        PinStatus::NotPinned => {
                            return Err(OpError::new(
                                ErrorCode::NotFound,
                                format!("path '{cid}' is not pinned"),
                            )
                            .with("cid", cid.to_string()));
                        }
                    };
                    pins.push(PinItem {
                        cid: cid.to_string(),
                        kind,
                        name: String::new(),
                    });
                }
                return Ok(PinLsOutput {
                    pins,
                    truncated: false,
                });
            }
            let filter = match input.kind {
                PinType::All => PinFilter::All,
                PinType::Direct => PinFilter::Direct,
                PinType::Indirect => PinFilter::Indirect,
                PinType::Recursive => PinFilter::Recursive,
            };
            let mut truncated = false;
            for entry in kit.repo()?.pin_ls(filter)? {
                if pins.len() == limit {
                    truncated = true;
                    break;
                }
                let e = entry?;
                pins.push(PinItem {
                    cid: e.cid.to_string(),
                    kind: kind_name(e.kind).to_string(),
                    name: e.name,
                });
            }
            Ok(PinLsOutput { pins, truncated })
        })
        .await
    }
}

/// `ipfs_pin_update`.
#[derive(Debug, Clone, Copy)]
pub struct PinUpdate;

/// Input of `ipfs_pin_update`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PinUpdateInput {
    /// The recursively pinned old root.
    pub from: String,
    /// The new root (its DAG must be present).
    pub to: String,
    /// Remove the old pin (default true).
    #[serde(default = "default_true")]
    pub unpin: bool,
}

impl Operation for PinUpdate {
    const NAME: &'static str = "ipfs_pin_update";
    type Input = PinUpdateInput;
    type Output = PinsOutput;

    fn meta(&self) -> OpMeta {
        core_meta(
            "Move a pin",
            "Replace a recursive pin on one root with a recursive pin on another (e.g. a new version of a \
             directory), removing the old pin unless unpin=false.",
            false,
            true,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: PinUpdateInput,
        _cx: &OpContext,
    ) -> Result<PinsOutput, OpError> {
        if let Some(k) = kit.kubo() {
            return crate::remote::pin_update(k, input).await;
        }
        kit.blocking(move |kit| {
            let from = resolve(&kit, &input.from)?;
            let to = resolve(&kit, &input.to)?;
            kit.repo()?.pin_update(&from, &to, input.unpin)?;
            Ok(PinsOutput {
                pins: vec![from.to_string(), to.to_string()],
            })
        })
        .await
    }
}

/// `ipfs_pin_verify`.
#[derive(Debug, Clone, Copy)]
pub struct PinVerify;

/// Input of `ipfs_pin_verify`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PinVerifyInput {
    /// Also list the pins that are fine.
    #[serde(default)]
    pub verbose: bool,
}

/// One verified pin.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PinCheck {
    /// The pin.
    pub cid: String,
    /// Whether its DAG is complete and uncorrupted.
    pub ok: bool,
    /// What is wrong, block by block.
    pub bad_nodes: Vec<BadBlock>,
}

/// A missing or corrupted block.
#[derive(Debug, Serialize, JsonSchema)]
pub struct BadBlock {
    /// The block.
    pub cid: String,
    /// What is wrong.
    pub error: String,
}

/// Output of `ipfs_pin_verify`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PinVerifyOutput {
    /// Whether every pin is fine.
    pub ok: bool,
    /// The pins checked (only bad ones unless verbose).
    pub pins: Vec<PinCheck>,
}

impl Operation for PinVerify {
    const NAME: &'static str = "ipfs_pin_verify";
    type Input = PinVerifyInput;
    type Output = PinVerifyOutput;

    fn meta(&self) -> OpMeta {
        core_meta(
            "Verify pins",
            "Check that every pinned DAG is complete and that each of its blocks matches its CID.",
            true,
            false,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: PinVerifyInput,
        _cx: &OpContext,
    ) -> Result<PinVerifyOutput, OpError> {
        if let Some(k) = kit.kubo() {
            return crate::remote::pin_verify(k, input).await;
        }
        kit.blocking(move |kit| {
            let all = kit.repo()?.pin_verify()?;
            let ok = all.iter().all(|p| p.ok);
            let pins = all
                .into_iter()
                .filter(|p| input.verbose || !p.ok)
                .map(|p| PinCheck {
                    cid: p.cid.to_string(),
                    ok: p.ok,
                    bad_nodes: p
                        .bad_nodes
                        .into_iter()
                        .map(|b| BadBlock {
                            cid: b.cid.to_string(),
                            error: b.error,
                        })
                        .collect(),
                })
                .collect();
            Ok(PinVerifyOutput { ok, pins })
        })
        .await
    }
}
