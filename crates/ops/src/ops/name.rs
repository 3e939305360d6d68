//! IPNS: `ipfs_name_publish`, `ipfs_name_resolve`. On the embedded node they sign and verify IPNS
//! records for the node's own keys (kept in the repo; nothing is announced to a network); on an
//! external Kubo they are Kubo's `name/publish` and `name/resolve`.

use ipfs_kit_content::{Codec, dag, export};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::default_true;
use crate::ipns::{self, PublishOptions, RecordStore};
use crate::keystore::{self, Keystore};
use crate::remote::err as kubo_err;
use crate::{ErrorCode, Kit, Node, OpContext, OpError, OpMeta, Operation, Toolset};

fn meta(title: &'static str, description: &'static str, read_only: bool) -> OpMeta {
    OpMeta {
        title,
        description,
        toolset: Toolset::IpfsNetwork,
        read_only,
        destructive: false,
        idempotent: read_only,
        open_world: true,
        aliases: &[],
    }
}

/// A content path as Kubo takes it: a bare CID becomes `/ipfs/<cid>`; `/ipfs/`, `/ipns/` and
/// `/ipld/` paths are kept.
pub(crate) fn content_path(p: &str) -> Result<String, OpError> {
    let p = p.trim();
    let bad = |why: &str| {
        OpError::new(ErrorCode::InvalidPath, format!("invalid path {p:?}: {why}")).with("path", p)
    };
    if p.is_empty() {
        return Err(bad("empty"));
    }
    let full = if p.starts_with('/') {
        p.to_string()
    } else {
        ipfs_kit_content::parse_cid(p.split('/').next().unwrap_or(p))?;
        format!("/ipfs/{p}")
    };
    let full = full.trim_end_matches('/').to_string();
    let ok = ["/ipfs/", "/ipns/", "/ipld/"]
        .iter()
        .any(|ns| full.strip_prefix(ns).is_some_and(|r| !r.is_empty()));
    if !ok {
        return Err(bad(
            "paths must start with /ipfs/, /ipns/ or /ipld/, or be a CID",
        ));
    }
    Ok(full)
}

/// Check that an `/ipfs/` or `/ipld/` path resolves on the embedded node, block by block.
fn resolves_locally(kit: &Kit, path: &str) -> Result<(), OpError> {
    let blocks = kit.repo()?.blocks();
    let (root, segs) = dag::parse_path(path)?;
    let cid = if path.starts_with("/ipfs/") && Codec::of(&root).ok() == Some(Codec::DagPb) {
        export::resolve_path(blocks, path)?
    } else {
        dag::resolve(blocks, &root, &segs)?.cid
    };
    if !blocks.has(&cid)? {
        return Err(OpError::new(
            ErrorCode::NotFound,
            format!("{path} does not resolve on this node: block {cid} is not stored"),
        )
        .with("cid", cid.to_string()));
    }
    Ok(())
}

/// `ipfs_name_publish`.
#[derive(Debug, Clone, Copy)]
pub struct NamePublish;

/// Input of `ipfs_name_publish`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NamePublishInput {
    /// What the name points to: `/ipfs/<cid>[/path]`, `/ipns/<name>` or a bare CID.
    pub path: String,
    /// Name of the key to publish with, or its peer ID (default `self`, the node identity).
    #[serde(default = "default_self")]
    pub key: String,
    /// How long the record is valid, a Go duration (default `48h`).
    pub lifetime: Option<String>,
    /// How long resolvers may cache it, a Go duration (default `5m`, capped to the lifetime).
    pub ttl: Option<String>,
    /// Check that the path resolves before publishing (default true; on the embedded node every
    /// block on the way must be stored locally).
    #[serde(default = "default_true")]
    pub resolve: bool,
    /// An explicit sequence number; must be above the current one.
    pub sequence: Option<u64>,
    /// Also write the legacy V1 fields and signature (default true, as Kubo).
    #[serde(default = "default_true")]
    pub v1compat: bool,
    /// Multibase of the printed name: base36 (default), base32, base58btc, base16.
    pub ipns_base: Option<String>,
    /// External Kubo only: publish to its local datastore even when it is offline (Kubo's
    /// `--allow-offline`). The embedded node always keeps records locally.
    #[serde(default)]
    pub allow_offline: bool,
}

fn default_self() -> String {
    keystore::SELF_KEY.to_string()
}

/// Output of `ipfs_name_publish`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NamePublishOutput {
    /// The IPNS name published (`k51…`).
    pub name: String,
    /// The value it now points to.
    pub value: String,
}

impl Operation for NamePublish {
    const NAME: &'static str = "ipfs_name_publish";
    type Input = NamePublishInput;
    type Output = NamePublishOutput;

    fn meta(&self) -> OpMeta {
        meta(
            "Publish an IPNS name",
            "Point the IPNS name of a key at a path with a signed IPNS record (V2 signature, plus V1 \
             compatibility by default). The embedded node signs and keeps the record locally (it \
             resolves there; nothing is announced to the network); an external Kubo also publishes it \
             to the routing system.",
            false,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: NamePublishInput,
        _cx: &OpContext,
    ) -> Result<NamePublishOutput, OpError> {
        let value = content_path(&input.path)?;
        let base = keystore::ipns_base(input.ipns_base.as_deref())?;
        let lifetime = input
            .lifetime
            .as_deref()
            .map(ipns::parse_go_duration)
            .transpose()
            .map_err(|e| e.with("field", "lifetime"))?;
        let ttl = input
            .ttl
            .as_deref()
            .map(ipns::parse_go_duration)
            .transpose()
            .map_err(|e| e.with("field", "ttl"))?;
        match kit.node() {
            Node::Kubo(k) => {
                let mut q = vec![
                    ("arg", value.clone()),
                    ("key", input.key.clone()),
                    ("resolve", input.resolve.to_string()),
                    ("v1compat", input.v1compat.to_string()),
                ];
                if let Some(l) = &input.lifetime {
                    q.push(("lifetime", l.clone()));
                }
                if let Some(t) = &input.ttl {
                    q.push(("ttl", t.clone()));
                }
                if let Some(s) = input.sequence {
                    q.push(("sequence", s.to_string()));
                }
                if let Some(b) = &input.ipns_base {
                    q.push(("ipns-base", b.clone()));
                }
                if input.allow_offline {
                    q.push(("allow-offline", "true".into()));
                }
                let v: Value = k
                    .json("name/publish", &q)
                    .await
                    .map_err(|e| kubo_err(k, e))?;
                let text = |key: &str| {
                    v.get(key)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                Ok(NamePublishOutput {
                    name: text("Name"),
                    value: text("Value"),
                })
            }
            Node::Detached => Err(kit.no_node()),
            Node::Embedded { repo, .. } => {
                let (ks, store) = ipns::local(repo.path());
                let opts = PublishOptions {
                    lifetime: lifetime.unwrap_or(ipns::DEFAULT_LIFETIME),
                    ttl,
                    sequence: input.sequence,
                    v1compat: input.v1compat,
                };
                let key_name = input.key;
                let check = input.resolve;
                kit.blocking(move |kit| {
                    let (_, key) = ks.find(&key_name)?;
                    if check {
                        let target = if value.starts_with("/ipns/") {
                            ipns::resolve(&store, &value, true)?
                        } else {
                            value.clone()
                        };
                        resolves_locally(&kit, &target)?;
                    }
                    let published = ipns::publish(&store, &key, &value, &opts)?;
                    Ok(NamePublishOutput {
                        name: keystore::ipns_name_in(&published.name, base),
                        value: published.value,
                    })
                })
                .await
            }
        }
    }
}

/// `ipfs_name_resolve`.
#[derive(Debug, Clone, Copy)]
pub struct NameResolve;

/// Input of `ipfs_name_resolve`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NameResolveInput {
    /// The IPNS name (`k51…`, `12D3KooW…` or `/ipns/<name>[/path]`); the node's own when absent.
    pub name: Option<String>,
    /// Follow `/ipns/` values until an `/ipfs/` path (default true; at most 32 hops).
    #[serde(default = "default_true")]
    pub recursive: bool,
}

/// Output of `ipfs_name_resolve`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NameResolveOutput {
    /// The path the name points to.
    pub path: String,
}

impl Operation for NameResolve {
    const NAME: &'static str = "ipfs_name_resolve";
    type Input = NameResolveInput;
    type Output = NameResolveOutput;

    fn meta(&self) -> OpMeta {
        meta(
            "Resolve an IPNS name",
            "Resolve an IPNS name to the path its signed record points to, checking the signature and \
             expiry. The embedded node resolves the names it published; an external Kubo resolves any.",
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: NameResolveInput,
        _cx: &OpContext,
    ) -> Result<NameResolveOutput, OpError> {
        match kit.node() {
            Node::Kubo(k) => {
                let mut q: Vec<(&str, String)> =
                    input.name.iter().map(|n| ("arg", n.clone())).collect();
                q.push(("recursive", input.recursive.to_string()));
                let v: Value = k
                    .json("name/resolve", &q)
                    .await
                    .map_err(|e| kubo_err(k, e))?;
                let path = v
                    .get("Path")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                Ok(NameResolveOutput { path })
            }
            Node::Detached => Err(kit.no_node()),
            Node::Embedded { repo, .. } => {
                let ks = Keystore::new(repo.path());
                let store = RecordStore::new(repo.path());
                let recursive = input.recursive;
                let name = input.name;
                kit.blocking(move |_| {
                    let name = match name {
                        Some(n) => n,
                        None => keystore::ipns_name(&ks.identity()?.public().to_peer_id()),
                    };
                    let path = ipns::resolve(&store, &name, recursive)?;
                    Ok(NameResolveOutput { path })
                })
                .await
            }
        }
    }
}
