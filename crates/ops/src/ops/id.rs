//! Node identity: `ipfs_id`.

use base64::Engine;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::core_meta;
use super::network::needs_network;
use crate::keystore::{self, Keystore};
use crate::remote::err as kubo_err;
use crate::{Kit, Node, OpContext, OpError, OpMeta, Operation};

/// `ipfs_id`.
#[derive(Debug, Clone, Copy)]
pub struct Id;

/// Input of `ipfs_id`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdInput {
    /// Another peer to describe (networked node only); this node when absent.
    pub peer_id: Option<String>,
}

/// Output of `ipfs_id` (Kubo's `id` fields).
#[derive(Debug, Serialize, JsonSchema)]
pub struct IdOutput {
    /// The peer ID, base58btc (`12D3KooW…`).
    pub id: String,
    /// The public key: base64 of its protobuf encoding.
    pub public_key: String,
    /// Addresses it listens on (none for the embedded node, which has no swarm).
    pub addresses: Vec<String>,
    /// The software it runs (`ipfs-kit/<version>` for the embedded node).
    pub agent_version: String,
    /// Protocols it speaks (none for the embedded node).
    pub protocols: Vec<String>,
}

impl Operation for Id {
    const NAME: &'static str = "ipfs_id";
    type Input = IdInput;
    type Output = IdOutput;

    fn meta(&self) -> OpMeta {
        core_meta(
            "Node identity",
            "The node's peer ID, public key, addresses, agent version and protocols. The embedded node's \
             identity is an Ed25519 key created on first use; describing another peer needs a networked node.",
            true,
            false,
            true,
        )
    }

    async fn run(&self, kit: &Kit, input: IdInput, _cx: &OpContext) -> Result<IdOutput, OpError> {
        match kit.node() {
            Node::Kubo(k) => {
                let q: Vec<(&str, String)> =
                    input.peer_id.iter().map(|p| ("arg", p.clone())).collect();
                let v: Value = k.json("id", &q).await.map_err(|e| kubo_err(k, e))?;
                let list = |key: &str| -> Vec<String> {
                    v.get(key)
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let text = |key: &str| {
                    v.get(key)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                Ok(IdOutput {
                    id: text("ID"),
                    public_key: text("PublicKey"),
                    addresses: list("Addresses"),
                    agent_version: text("AgentVersion"),
                    protocols: list("Protocols"),
                })
            }
            Node::Detached => Err(kit.no_node()),
            Node::Embedded { repo, .. } => {
                let ks = Keystore::new(repo.path());
                let me = kit.blocking(move |_| ks.identity()).await?.public();
                let pid = me.to_peer_id();
                if let Some(other) = &input.peer_id {
                    let asked =
                        keystore::parse_peer_id(other).map_err(|e| e.with("field", "peer_id"))?;
                    if asked != pid {
                        return Err(needs_network("describing another peer"));
                    }
                }
                Ok(IdOutput {
                    id: keystore::peer_id_b58(&pid),
                    public_key: base64::engine::general_purpose::STANDARD
                        .encode(me.encode_protobuf()),
                    addresses: Vec::new(),
                    agent_version: format!("ipfs-kit/{}", env!("CARGO_PKG_VERSION")),
                    protocols: Vec::new(),
                })
            }
        }
    }
}
