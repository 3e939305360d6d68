//! Keys: `ipfs_key_gen`, `ipfs_key_list`, `ipfs_key_rm`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::core_meta;
use crate::keystore::{self, Keystore};
use crate::remote::err as kubo_err;
use crate::{ErrorCode, Kit, Node, OpContext, OpError, OpMeta, Operation};

/// A key: its name and IPNS name.
#[derive(Debug, Serialize, JsonSchema)]
pub struct KeyEntry {
    /// The key's name (`self` is the node identity).
    pub name: String,
    /// Its IPNS name: CIDv1 libp2p-key in `ipns_base` (base36 `k51…` by default).
    pub id: String,
}

/// A list of keys.
#[derive(Debug, Serialize, JsonSchema)]
pub struct KeyList {
    /// The keys.
    pub keys: Vec<KeyEntry>,
}

fn entry(info: &keystore::KeyInfo, base: multibase::Base) -> KeyEntry {
    KeyEntry {
        name: info.name.clone(),
        id: keystore::ipns_name_in(&info.peer_id, base),
    }
}

fn kubo_keys(v: &Value) -> Vec<KeyEntry> {
    v.get("Keys")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(kubo_key).collect())
        .unwrap_or_default()
}

fn kubo_key(k: &Value) -> KeyEntry {
    let text = |key: &str| {
        k.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    KeyEntry {
        name: text("Name"),
        id: text("Id"),
    }
}

fn base_query(ipns_base: &Option<String>) -> Vec<(&'static str, String)> {
    ipns_base.iter().map(|b| ("ipns-base", b.clone())).collect()
}

/// `ipfs_key_gen`.
#[derive(Debug, Clone, Copy)]
pub struct KeyGen;

/// Input of `ipfs_key_gen`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyGenInput {
    /// Name of the new key (not empty, no `/`, not `self`).
    pub name: String,
    /// Key type: `ed25519` (default). An external Kubo also offers `rsa` and `secp256k1`.
    #[serde(rename = "type")]
    pub key_type: Option<String>,
    /// Multibase of the printed IPNS name: base36 (default), base32, base58btc, base16.
    pub ipns_base: Option<String>,
}

impl Operation for KeyGen {
    const NAME: &'static str = "ipfs_key_gen";
    type Input = KeyGenInput;
    type Output = KeyEntry;

    fn meta(&self) -> OpMeta {
        core_meta(
            "Create a key",
            "Generate a new named key pair for publishing IPNS names (Ed25519; stored in the repo's keystore \
             with mode 0600).",
            false,
            false,
            false,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: KeyGenInput,
        _cx: &OpContext,
    ) -> Result<KeyEntry, OpError> {
        keystore::validate_key_name(&input.name)?;
        let base = keystore::ipns_base(input.ipns_base.as_deref())?;
        match kit.node() {
            Node::Kubo(k) => {
                let mut q = vec![("arg", input.name.clone())];
                if let Some(t) = &input.key_type {
                    q.push(("type", t.clone()));
                }
                q.extend(base_query(&input.ipns_base));
                let v: Value = k.json("key/gen", &q).await.map_err(|e| kubo_err(k, e))?;
                Ok(kubo_key(&v))
            }
            Node::Detached => Err(kit.no_node()),
            Node::Embedded { repo, .. } => {
                let t = input.key_type.as_deref().unwrap_or("ed25519");
                if !t.eq_ignore_ascii_case("ed25519") {
                    return Err(OpError::new(
                        ErrorCode::Unsupported,
                        format!(
                            "key type {t:?} is not supported by the embedded node (ed25519 only)"
                        ),
                    )
                    .with("field", "type"));
                }
                let ks = Keystore::new(repo.path());
                let name = input.name.clone();
                let info = kit.blocking(move |_| ks.generate(&name)).await?;
                Ok(entry(&info, base))
            }
        }
    }
}

/// `ipfs_key_list`.
#[derive(Debug, Clone, Copy)]
pub struct KeyListOp;

/// Input of `ipfs_key_list`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyListInput {
    /// Multibase of the printed IPNS names: base36 (default), base32, base58btc, base16.
    pub ipns_base: Option<String>,
}

impl Operation for KeyListOp {
    const NAME: &'static str = "ipfs_key_list";
    type Input = KeyListInput;
    type Output = KeyList;

    fn meta(&self) -> OpMeta {
        core_meta(
            "List keys",
            "List the node's key pairs (`self` first) with their IPNS names.",
            true,
            false,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: KeyListInput,
        _cx: &OpContext,
    ) -> Result<KeyList, OpError> {
        let base = keystore::ipns_base(input.ipns_base.as_deref())?;
        match kit.node() {
            Node::Kubo(k) => {
                let query = base_query(&input.ipns_base);
                // `key/ls` is Kubo's name; older Kubo and js-ipfs only have `key/list`.
                let v: Value = match k.json("key/ls", &query).await {
                    Err(ipfs_kit_clients::kubo::Error::Api { status: 404, .. }) => k
                        .json("key/list", &query)
                        .await
                        .map_err(|e| kubo_err(k, e))?,
                    other => other.map_err(|e| kubo_err(k, e))?,
                };
                Ok(KeyList {
                    keys: kubo_keys(&v),
                })
            }
            Node::Detached => Err(kit.no_node()),
            Node::Embedded { repo, .. } => {
                let ks = Keystore::new(repo.path());
                let infos = kit.blocking(move |_| ks.list()).await?;
                Ok(KeyList {
                    keys: infos.iter().map(|i| entry(i, base)).collect(),
                })
            }
        }
    }
}

/// `ipfs_key_rm`.
#[derive(Debug, Clone, Copy)]
pub struct KeyRm;

/// Input of `ipfs_key_rm`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRmInput {
    /// Names of the keys to remove (`self` cannot be removed).
    pub names: Vec<String>,
    /// Multibase of the printed IPNS names: base36 (default), base32, base58btc, base16.
    pub ipns_base: Option<String>,
}

impl Operation for KeyRm {
    const NAME: &'static str = "ipfs_key_rm";
    type Input = KeyRmInput;
    type Output = KeyList;

    fn meta(&self) -> OpMeta {
        core_meta(
            "Remove keys",
            "Remove named key pairs from the keystore; names published with them can no longer be updated.",
            false,
            true,
            false,
        )
    }

    async fn run(&self, kit: &Kit, input: KeyRmInput, _cx: &OpContext) -> Result<KeyList, OpError> {
        if input.names.is_empty() {
            return Err(OpError::invalid("give at least one key name").with("field", "names"));
        }
        for n in &input.names {
            keystore::validate_key_name(n)?;
        }
        let base = keystore::ipns_base(input.ipns_base.as_deref())?;
        match kit.node() {
            Node::Kubo(k) => {
                let mut q: Vec<(&str, String)> =
                    input.names.iter().map(|n| ("arg", n.clone())).collect();
                q.extend(base_query(&input.ipns_base));
                let v: Value = k.json("key/rm", &q).await.map_err(|e| kubo_err(k, e))?;
                Ok(KeyList {
                    keys: kubo_keys(&v),
                })
            }
            Node::Detached => Err(kit.no_node()),
            Node::Embedded { repo, .. } => {
                let ks = Keystore::new(repo.path());
                let names = input.names;
                let infos = kit
                    .blocking(move |_| {
                        // Check every name first, so a bad one removes nothing.
                        for n in &names {
                            if n == keystore::SELF_KEY {
                                return Err(OpError::invalid("cannot remove key with name 'self'"));
                            }
                            ks.get(n)?;
                        }
                        names
                            .iter()
                            .map(|n| ks.remove(n))
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .await?;
                Ok(KeyList {
                    keys: infos.iter().map(|i| entry(i, base)).collect(),
                })
            }
        }
    }
}
