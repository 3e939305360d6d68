//! Node identity and version.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Kit, OpContext, OpError, OpMeta, Operation, Toolset};

/// `ipfs_version`.
#[derive(Debug, Clone, Copy)]
pub struct Version;

/// Input of `ipfs_version` (none).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionInput {}

/// Output of `ipfs_version`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct VersionOutput {
    /// ipfs-kit's version.
    pub version: String,
    /// Which node answers: `embedded` or `external` (a Kubo-compatible daemon).
    pub node: String,
    /// Operating system and architecture.
    pub system: String,
    /// The external node's own version (when `node` is `external`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_version: Option<String>,
    /// The external node's RPC API address (when `node` is `external`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
}

impl Operation for Version {
    const NAME: &'static str = "ipfs_version";
    type Input = VersionInput;
    type Output = VersionOutput;

    fn meta(&self) -> OpMeta {
        OpMeta {
            title: "Node version",
            description: "Version of ipfs-kit and of the IPFS node it drives.",
            toolset: Toolset::IpfsCore,
            read_only: true,
            destructive: false,
            idempotent: true,
            open_world: false,
            aliases: &[],
        }
    }

    async fn run(
        &self,
        kit: &Kit,
        _input: VersionInput,
        _cx: &OpContext,
    ) -> Result<VersionOutput, OpError> {
        if let Some(k) = kit.kubo() {
            return crate::remote::version(k).await;
        }
        Ok(VersionOutput {
            version: env!("CARGO_PKG_VERSION").to_string(),
            node: "embedded".to_string(),
            system: format!("{}/{}", std::env::consts::ARCH, std::env::consts::OS),
            node_version: None,
            api: None,
        })
    }
}
