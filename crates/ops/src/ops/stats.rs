//! `ipfs_stats`: repository and bandwidth statistics.

use ipfs_kit_repo::RepoStat;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::core_meta;
use crate::remote::err as kubo_err;
use crate::{Kit, Node, OpContext, OpError, OpMeta, Operation};

/// `ipfs_stats`.
#[derive(Debug, Clone, Copy)]
pub struct Stats;

/// Input of `ipfs_stats` (none).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatsInput {}

/// Repository statistics (Kubo's `repo stat`).
#[derive(Debug, Serialize, JsonSchema)]
pub struct RepoStats {
    /// Bytes the repository takes on disk.
    pub repo_size: u64,
    /// Number of blocks stored.
    pub num_objects: u64,
    /// Configured maximum size, bytes.
    pub storage_max: u64,
    /// Where the repository lives.
    pub repo_path: String,
    /// Repository format version.
    pub version: String,
}

/// Bandwidth totals and rates (Kubo's `stats bw`).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Bandwidth {
    /// Bytes received since start.
    pub total_in: u64,
    /// Bytes sent since start.
    pub total_out: u64,
    /// Current receive rate, bytes per second.
    pub rate_in: f64,
    /// Current send rate, bytes per second.
    pub rate_out: f64,
}

/// Output of `ipfs_stats`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StatsOutput {
    /// Repository statistics.
    pub repo: RepoStats,
    /// Bandwidth, or null when the node has no network (the embedded node) or does not count it.
    pub bandwidth: Option<Bandwidth>,
    /// Whether the node is networked (false for the embedded node, which has no swarm).
    pub networked: bool,
    /// Why `bandwidth` is null, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn num(v: &Value, k: &str) -> u64 {
    v.get(k)
        .and_then(|x| {
            // js-ipfs sends the counters as strings (`"RepoSize":"15268"`).
            x.as_u64()
                .or_else(|| x.as_f64().map(|f| f.max(0.0) as u64))
                .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
        })
        .unwrap_or(0)
}

fn float(v: &Value, k: &str) -> f64 {
    v.get(k)
        .and_then(|x| {
            x.as_f64()
                .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
        })
        .unwrap_or(0.0)
}

fn text(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

impl Operation for Stats {
    const NAME: &'static str = "ipfs_stats";
    type Input = StatsInput;
    type Output = StatsOutput;

    fn meta(&self) -> OpMeta {
        core_meta(
            "Node statistics",
            "Repository size and block count, and bandwidth totals and rates when the node is networked \
             (null on the embedded node, which has no swarm).",
            true,
            false,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        _input: StatsInput,
        _cx: &OpContext,
    ) -> Result<StatsOutput, OpError> {
        match kit.node() {
            Node::Kubo(k) => {
                let r: Value = k.json("repo/stat", &[]).await.map_err(|e| kubo_err(k, e))?;
                let repo = RepoStats {
                    repo_size: num(&r, "RepoSize"),
                    num_objects: num(&r, "NumObjects"),
                    storage_max: num(&r, "StorageMax"),
                    repo_path: text(&r, "RepoPath"),
                    version: text(&r, "Version"),
                };
                let (bandwidth, note) = match k.json::<Value>("stats/bw", &[]).await {
                    Ok(b) => (
                        Some(Bandwidth {
                            total_in: num(&b, "TotalIn"),
                            total_out: num(&b, "TotalOut"),
                            rate_in: float(&b, "RateIn"),
                            rate_out: float(&b, "RateOut"),
                        }),
                        None,
                    ),
                    Err(e) => {
                        let e = kubo_err(k, e);
                        if e.code == crate::ErrorCode::DaemonUnavailable {
                            return Err(e);
                        }
                        (
                            None,
                            Some(format!(
                                "the daemon gives no bandwidth figures: {}",
                                e.message
                            )),
                        )
                    }
                };
                Ok(StatsOutput {
                    repo,
                    bandwidth,
                    networked: true,
                    note,
                })
            }
            Node::Detached => Err(kit.no_node()),
            Node::Embedded { .. } => {
                let st: RepoStat = kit.blocking(|kit| Ok(kit.repo()?.stat()?)).await?;
                Ok(StatsOutput {
                    repo: RepoStats {
                        repo_size: st.repo_size,
                        num_objects: st.num_objects,
                        storage_max: st.storage_max,
                        repo_path: st.repo_path,
                        version: st.version,
                    },
                    bandwidth: None,
                    networked: false,
                    note: Some(
                        "the embedded node has no network, so no bandwidth; run with --api pointing at Kubo \
                         for bandwidth figures"
                            .into(),
                    ),
                })
            }
        }
    }
}
