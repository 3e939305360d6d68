//! Daemon configuration (toolset `config`): the faces of `ipfs-kit-config`'s [`ConfigStore`].
//!
//! Daemon files live where the daemons read them under `$HOME` (`IPFS_PATH`, `IPFS_CLUSTER_PATH`, `LOTUS_PATH`,
//! `HF_TOKEN_PATH`/`HF_HOME` override); the kit's own records and the version history under the kit's home.
//!
//! Reading a config with `reveal_secrets` hands out private keys and cluster secrets, so the tools that can do
//! that (`cluster_service_config_get`, `cluster_follow_config_get`, `config_get`) are not marked read-only and
//! read-only faces do not list them; [`validate_daemon_configs`](ValidateDaemonConfigs) and
//! [`get_daemon_config_status`](GetDaemonConfigStatus) are the read-only views.

use std::collections::HashSet;

use ipfs_kit_config::{
    ConfigKind, ConfigStore, DiffAgainst, DiffEntry, FileSpec, Problem, Target, Update, doc,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::op_meta;
use crate::{ErrorCode, Kit, OpContext, OpError, OpMeta, Operation, Toolset};

/// The store of every daemon config: daemon paths from the environment, kit records in the kit's home.
pub fn config_store(kit: &Kit) -> Result<ConfigStore, OpError> {
    Ok(ConfigStore::from_env()?.with_kit_home(kit.home()))
}

fn meta(
    title: &'static str,
    description: &'static str,
    read_only: bool,
    destructive: bool,
    idempotent: bool,
    aliases: &'static [&'static str],
) -> OpMeta {
    OpMeta {
        aliases,
        ..op_meta(
            Toolset::Config,
            title,
            description,
            read_only,
            destructive,
            idempotent,
        )
    }
}

/// Which config a kind name (and the followed cluster's name) selects.
fn target(kind: &str, cluster: Option<&str>) -> Result<Target, OpError> {
    let kind: ConfigKind = kind
        .parse()
        .map_err(|e| OpError::from(e).with("field", "kind"))?;
    match (kind.needs_instance(), cluster) {
        (true, Some(c)) => Ok(Target::follow(c)),
        (true, None) => Err(OpError::invalid(format!(
            "{kind} needs the followed cluster's name (`cluster`)"
        ))
        .with("field", "cluster")),
        (false, None) => Ok(Target::new(kind)),
        (false, Some(_)) => {
            Err(OpError::invalid(format!("{kind} takes no `cluster` name"))
                .with("field", "cluster"))
        }
    }
}

fn cluster_of(t: &Target) -> Option<String> {
    (!t.instance.is_empty()).then(|| t.instance.clone())
}

/// One file of a config.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConfigFile {
    /// What the file holds (`config`, `service`, `identity`, `token`, …).
    pub role: String,
    /// Where it is.
    pub path: String,
    /// Whether it holds secrets (written with mode 0600).
    pub secret: bool,
}

fn files_out(files: &[FileSpec]) -> Vec<ConfigFile> {
    files
        .iter()
        .map(|f| ConfigFile {
            role: f.role.to_string(),
            path: f.path.display().to_string(),
            secret: f.secret,
        })
        .collect()
}

/// One thing wrong with a config.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConfigProblem {
    /// Dotted path of the offending value (empty: the whole file).
    pub path: String,
    /// Machine-readable class: `unknown_key`, `wrong_type`, `missing`, `bad_multiaddr`, `bad_peer_id`,
    /// `bad_key`, `bad_secret`, `bad_url`, `bad_port`, `replication`, `bad_value`.
    pub code: String,
    /// Human text.
    pub message: String,
}

fn problem_out(p: &Problem) -> ConfigProblem {
    ConfigProblem {
        path: p.path.clone(),
        code: serde_json::to_value(p.code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        message: p.message.clone(),
    }
}

/// One difference between two versions of a config (secrets redacted).
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConfigChange {
    /// Dotted path.
    pub path: String,
    /// `added`, `removed` or `changed`.
    pub change: String,
    /// The value before (absent when added).
    pub old: Option<Value>,
    /// The value after (absent when removed).
    pub new: Option<Value>,
}

fn changes_out(entries: Vec<DiffEntry>) -> Vec<ConfigChange> {
    entries
        .into_iter()
        .map(|e| ConfigChange {
            path: e.path,
            change: serde_json::to_value(e.change)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            old: e.old,
            new: e.new,
        })
        .collect()
}

/// What creating a config did.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConfigCreated {
    /// `kind` or `kind@cluster`.
    pub target: String,
    /// The kind.
    pub kind: String,
    /// The followed cluster (followers only).
    pub cluster: Option<String>,
    /// Whether files were written (false: it existed and `overwrite` was not asked).
    pub created: bool,
    /// The version the replaced config was saved as (with `overwrite`).
    pub backup: Option<String>,
    /// Its files.
    pub files: Vec<ConfigFile>,
}

/// A config document.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConfigDocument {
    /// `kind` or `kind@cluster`.
    pub target: String,
    /// Whether secrets are replaced by `"<redacted>"`.
    pub redacted: bool,
    /// The document (JSON view of the daemon's files; identity and service parts for Cluster).
    pub config: Value,
}

/// What an update (or a restore) did.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConfigUpdated {
    /// `kind` or `kind@cluster`.
    pub target: String,
    /// Whether the files were written (false for `validate_only` or when nothing changed).
    pub written: bool,
    /// The version the previous config was saved as.
    pub backup: Option<String>,
    /// The changes (secrets redacted).
    pub changes: Vec<ConfigChange>,
}

fn update_of(
    merge: Option<Value>,
    path: Option<String>,
    value: Option<Value>,
) -> Result<Update, OpError> {
    match (merge, path, value) {
        (Some(m), None, None) => Ok(Update::Merge(m)),
        (None, Some(path), Some(value)) => Ok(Update::Path { path, value }),
        (None, Some(_), None) => {
            Err(OpError::invalid("`path` needs a `value`").with("field", "value"))
        }
        _ => Err(OpError::invalid(
            "give either `merge` (a partial document) or `path` and `value`",
        )
        .with("field", "merge")),
    }
}

/// Listener collisions a change would add: every plan conflict involving `t` that the current configs do not
/// already have. A running daemon's own sockets are not counted (live listeners are `config_port_plan`'s job).
fn new_port_conflicts(store: &ConfigStore, t: &Target, update: &Update) -> Result<(), OpError> {
    let before = store.port_plan()?;
    let mut proposed = store.get(t, true)?;
    match update {
        Update::Merge(m) => doc::deep_merge(&mut proposed, m),
        Update::Path { path, value } => {
            if value.as_str() != Some(ipfs_kit_config::REDACTED) {
                doc::set_path(&mut proposed, path, value.clone())?;
            }
        }
    }
    let owner = t.to_string();
    let mut after = ipfs_kit_config::PortPlan::default();
    for l in before.listeners.iter().filter(|l| l.owner != owner) {
        after.listeners.push(l.clone());
    }
    after.add_config(t, &proposed);
    let key = |c: &ipfs_kit_config::Conflict| {
        let w = c.with.as_ref().map(|w| (w.owner.clone(), w.key.clone()));
        (c.listener.owner.clone(), c.listener.key.clone(), w)
    };
    let old: HashSet<_> = before.conflicts().iter().map(key).collect();
    let fresh: Vec<_> = after
        .conflicts()
        .into_iter()
        .filter(|c| {
            (c.listener.owner == owner || c.with.as_ref().is_some_and(|w| w.owner == owner))
                && !old.contains(&key(c))
        })
        .collect();
    if fresh.is_empty() {
        Ok(())
    } else {
        Err(ipfs_kit_config::Error::PortConflict(fresh).into())
    }
}

fn set(
    store: &ConfigStore,
    t: &Target,
    update: Update,
    validate_only: bool,
) -> Result<ConfigUpdated, OpError> {
    // a rejected document is reported before port checks: its problems say more than a collision
    let dry = store.set(t, &update, true)?;
    new_port_conflicts(store, t, &update)?;
    let out = if validate_only {
        dry
    } else {
        store.set(t, &update, false)?
    };
    Ok(ConfigUpdated {
        target: t.to_string(),
        written: out.written,
        backup: out.backup,
        changes: changes_out(out.changes),
    })
}

fn create(store: &ConfigStore, t: &Target, overwrite: bool) -> Result<ConfigCreated, OpError> {
    let o = store.create(t, overwrite)?;
    Ok(ConfigCreated {
        target: t.to_string(),
        kind: t.kind.to_string(),
        cluster: cluster_of(t),
        created: o.created,
        backup: o.backup,
        files: files_out(&o.files),
    })
}

fn get(store: &ConfigStore, t: &Target, reveal_secrets: bool) -> Result<ConfigDocument, OpError> {
    Ok(ConfigDocument {
        target: t.to_string(),
        redacted: !reveal_secrets,
        config: store.get(t, reveal_secrets)?,
    })
}

async fn with_store<T: Send + 'static>(
    kit: &Kit,
    f: impl FnOnce(ConfigStore) -> Result<T, OpError> + Send + 'static,
) -> Result<T, OpError> {
    let store = config_store(kit)?;
    kit.blocking(move |_| f(store)).await
}

// ---- ipfs-cluster-service ----

/// `cluster_service_config_create`.
#[derive(Debug, Clone, Copy)]
pub struct ClusterServiceConfigCreate;

/// Input of `cluster_service_config_create` and `configure_daemon`-like creates.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInput {
    /// Replace an existing config (the old one is backed up first; a new identity is generated).
    #[serde(default)]
    pub overwrite: bool,
}

impl Operation for ClusterServiceConfigCreate {
    const NAME: &'static str = "cluster_service_config_create";
    type Input = CreateInput;
    type Output = ConfigCreated;

    fn meta(&self) -> OpMeta {
        meta(
            "Create the Cluster service config",
            "Write ipfs-cluster-service's service.json and identity.json (every section of the upstream default, \
             a fresh Ed25519 identity and 32-byte cluster secret) unless they exist; `overwrite` backs the old \
             ones up and replaces them.",
            false,
            true,
            false,
            &["create_service_config"],
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: CreateInput,
        _cx: &OpContext,
    ) -> Result<ConfigCreated, OpError> {
        with_store(kit, move |s| {
            create(
                &s,
                &Target::new(ConfigKind::IpfsClusterService),
                i.overwrite,
            )
        })
        .await
    }
}

/// `cluster_service_config_get`.
#[derive(Debug, Clone, Copy)]
pub struct ClusterServiceConfigGet;

/// Input of the config readers.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RevealInput {
    /// Return private keys and secrets instead of `"<redacted>"`.
    #[serde(default)]
    pub reveal_secrets: bool,
}

impl Operation for ClusterServiceConfigGet {
    const NAME: &'static str = "cluster_service_config_get";
    type Input = RevealInput;
    type Output = ConfigDocument;

    fn meta(&self) -> OpMeta {
        meta(
            "Read the Cluster service config",
            texts::SERVICE_GET,
            false,
            false,
            true,
            &["get_service_config"],
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: RevealInput,
        _cx: &OpContext,
    ) -> Result<ConfigDocument, OpError> {
        with_store(kit, move |s| {
            get(
                &s,
                &Target::new(ConfigKind::IpfsClusterService),
                i.reveal_secrets,
            )
        })
        .await
    }
}

/// `cluster_service_config_set`.
#[derive(Debug, Clone, Copy)]
pub struct ClusterServiceConfigSet;

/// Input of `cluster_service_config_set`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceSetInput {
    /// Partial document deep-merged into the config (objects merge, everything else replaces).
    pub merge: Option<Value>,
    /// Dotted path to set instead (`Addresses.API`; `\.` escapes a dot in a key).
    pub path: Option<String>,
    /// The value for `path`.
    pub value: Option<Value>,
    /// Check the change (validation and port collisions) without writing.
    #[serde(default)]
    pub validate_only: bool,
}

impl Operation for ClusterServiceConfigSet {
    const NAME: &'static str = "cluster_service_config_set";
    type Input = ServiceSetInput;
    type Output = ConfigUpdated;

    fn meta(&self) -> OpMeta {
        meta(
            "Change the Cluster service config",
            "Deep-merge a partial document (`{\"service\": {\"cluster\": {…}}}`, `{\"identity\": …}`) or set one \
             dotted path; the result is validated and checked for port collisions before anything is written \
             (a refused change leaves the files untouched), and the old version is backed up.",
            false,
            false,
            true,
            &["update_service_config"],
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: ServiceSetInput,
        _cx: &OpContext,
    ) -> Result<ConfigUpdated, OpError> {
        let update = update_of(i.merge, i.path, i.value)?;
        with_store(kit, move |s| {
            set(
                &s,
                &Target::new(ConfigKind::IpfsClusterService),
                update,
                i.validate_only,
            )
        })
        .await
    }
}

// ---- ipfs-cluster-follow ----

/// `cluster_follow_config_create`.
#[derive(Debug, Clone, Copy)]
pub struct ClusterFollowConfigCreate;

/// Input of `cluster_follow_config_create`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowCreateInput {
    /// The followed cluster's name (`~/.ipfs-cluster-follow/<cluster>/`).
    pub cluster: String,
    /// Make the config a pointer to a published template (`http(s)://…`, `/ipns/…`, `/ipfs/…`) instead of a
    /// full config; an existing identity is kept.
    pub source: Option<String>,
    /// Replace an existing config (the old one is backed up first).
    #[serde(default)]
    pub overwrite: bool,
}

impl Operation for ClusterFollowConfigCreate {
    const NAME: &'static str = "cluster_follow_config_create";
    type Input = FollowCreateInput;
    type Output = ConfigCreated;

    fn meta(&self) -> OpMeta {
        meta(
            "Create a Cluster follower config",
            "Write ipfs-cluster-follow's <cluster>/service.json and identity.json: a full config with ports clear \
             of a local Cluster service, or a `source` pointer to a published template. Existing files are kept \
             unless `overwrite` (which backs them up first).",
            false,
            true,
            false,
            &["create_follow_config"],
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: FollowCreateInput,
        _cx: &OpContext,
    ) -> Result<ConfigCreated, OpError> {
        with_store(kit, move |s| {
            let t = Target::follow(i.cluster.clone());
            match i.source {
                None => create(&s, &t, i.overwrite),
                Some(src) => {
                    if s.exists(&t)? && !i.overwrite {
                        return Ok(ConfigCreated {
                            target: t.to_string(),
                            kind: t.kind.to_string(),
                            cluster: cluster_of(&t),
                            created: false,
                            backup: None,
                            files: files_out(&s.files(&t)?),
                        });
                    }
                    let before = s.history(&t)?.first().map(|b| b.version.clone());
                    s.follow_source(&i.cluster, &src)?;
                    let after = s.history(&t)?.first().map(|b| b.version.clone());
                    Ok(ConfigCreated {
                        target: t.to_string(),
                        kind: t.kind.to_string(),
                        cluster: cluster_of(&t),
                        created: true,
                        backup: after.filter(|a| Some(a) != before.as_ref()),
                        files: files_out(&s.files(&t)?),
                    })
                }
            }
        })
        .await
    }
}

/// `cluster_follow_config_get`.
#[derive(Debug, Clone, Copy)]
pub struct ClusterFollowConfigGet;

/// Input of `cluster_follow_config_get`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowGetInput {
    /// The followed cluster's name.
    pub cluster: String,
    /// Return private keys and secrets instead of `"<redacted>"`.
    #[serde(default)]
    pub reveal_secrets: bool,
}

impl Operation for ClusterFollowConfigGet {
    const NAME: &'static str = "cluster_follow_config_get";
    type Input = FollowGetInput;
    type Output = ConfigDocument;

    fn meta(&self) -> OpMeta {
        meta(
            "Read a Cluster follower config",
            texts::FOLLOW_GET,
            false,
            false,
            true,
            &["get_follow_config"],
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: FollowGetInput,
        _cx: &OpContext,
    ) -> Result<ConfigDocument, OpError> {
        with_store(kit, move |s| {
            get(&s, &Target::follow(i.cluster), i.reveal_secrets)
        })
        .await
    }
}

/// `cluster_follow_config_set`.
#[derive(Debug, Clone, Copy)]
pub struct ClusterFollowConfigSet;

/// Input of `cluster_follow_config_set`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowSetInput {
    /// The followed cluster's name.
    pub cluster: String,
    /// Partial document deep-merged into the config (objects merge, everything else replaces).
    pub merge: Option<Value>,
    /// Dotted path to set instead (`Addresses.API`; `\.` escapes a dot in a key).
    pub path: Option<String>,
    /// The value for `path`.
    pub value: Option<Value>,
    /// Check the change (validation and port collisions) without writing.
    #[serde(default)]
    pub validate_only: bool,
}

impl Operation for ClusterFollowConfigSet {
    const NAME: &'static str = "cluster_follow_config_set";
    type Input = FollowSetInput;
    type Output = ConfigUpdated;

    fn meta(&self) -> OpMeta {
        meta(
            "Change a Cluster follower config",
            "Deep-merge a partial document or set one dotted path of a follower config; validated and checked for \
             port collisions before writing (a refused change leaves the files untouched), old version backed up.",
            false,
            false,
            true,
            &["update_follow_config"],
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: FollowSetInput,
        _cx: &OpContext,
    ) -> Result<ConfigUpdated, OpError> {
        let update = update_of(i.merge, i.path, i.value)?;
        with_store(kit, move |s| {
            set(&s, &Target::follow(i.cluster), update, i.validate_only)
        })
        .await
    }
}

// ---- joining clusters ----

/// `connect_to_networked_cluster`.
#[derive(Debug, Clone, Copy)]
pub struct ConnectToNetworkedCluster;

/// Input of `connect_to_networked_cluster`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectClusterInput {
    /// The cluster's secret (64 hex characters).
    pub secret: String,
    /// A peer of the cluster: a multiaddr ending in `/p2p/<peer id>`.
    pub bootstrap: String,
    /// More peers to trust (peer IDs); the bootstrap peer is trusted too.
    #[serde(default)]
    pub trusted_peers: Vec<String>,
}

impl Operation for ConnectToNetworkedCluster {
    const NAME: &'static str = "connect_to_networked_cluster";
    type Input = ConnectClusterInput;
    type Output = ConfigDocument;

    fn meta(&self) -> OpMeta {
        meta(
            "Join an existing cluster",
            "Make the Cluster service config join an existing cluster: its secret, the bootstrap peer and the \
             trusted peers (the identity is kept; the config is created first if missing and backed up before \
             the change). Returns the new config, secrets redacted.",
            false,
            true,
            true,
            &[],
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: ConnectClusterInput,
        _cx: &OpContext,
    ) -> Result<ConfigDocument, OpError> {
        with_store(kit, move |s| {
            let config =
                s.connect_to_networked_cluster(&i.secret, &i.bootstrap, &i.trusted_peers)?;
            Ok(ConfigDocument {
                target: ConfigKind::IpfsClusterService.to_string(),
                redacted: true,
                config,
            })
        })
        .await
    }
}

/// `connect_follow_to_leader`.
#[derive(Debug, Clone, Copy)]
pub struct ConnectFollowToLeader;

/// Input of `connect_follow_to_leader`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectFollowInput {
    /// The followed cluster's name.
    pub cluster: String,
    /// The leader: a multiaddr ending in `/p2p/<peer id>`.
    pub leader: String,
    /// The cluster's secret (64 hex characters; empty or absent for none).
    #[serde(default)]
    pub secret: String,
}

impl Operation for ConnectFollowToLeader {
    const NAME: &'static str = "connect_follow_to_leader";
    type Input = ConnectFollowInput;
    type Output = ConfigDocument;

    fn meta(&self) -> OpMeta {
        meta(
            "Follow a leader peer",
            "Make a follower config a full config that trusts and bootstraps to the leader, with listen ports \
             clear of every other configured daemon (a local Cluster service's 9094-9097 included); the identity \
             is kept and the old config backed up. Returns the new config, secrets redacted.",
            false,
            true,
            true,
            &[],
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: ConnectFollowInput,
        _cx: &OpContext,
    ) -> Result<ConfigDocument, OpError> {
        with_store(kit, move |s| {
            let config = s.connect_follow_to_leader(&i.cluster, &i.leader, &i.secret)?;
            Ok(ConfigDocument {
                target: Target::follow(i.cluster).to_string(),
                redacted: true,
                config,
            })
        })
        .await
    }
}

// ---- any kind ----

/// `configure_daemon`.
#[derive(Debug, Clone, Copy)]
pub struct ConfigureDaemon;

/// Input of `configure_daemon`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigureInput {
    /// `kubo`, `ipfs_cluster_service`, `ipfs_cluster_follow` (with `cluster`), `ipfs_cluster_ctl`, `lotus`,
    /// `lassie`, `s3`, `huggingface`, `storacha`, or `all` (every kind but followers, which are per cluster).
    pub kind: String,
    /// The followed cluster's name (followers only).
    pub cluster: Option<String>,
    /// Replace existing configs (each old one is backed up first).
    #[serde(default)]
    pub overwrite: bool,
}

/// What creating one or more configs did.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConfiguredList {
    /// One entry per config.
    pub configs: Vec<ConfigCreated>,
}

impl Operation for ConfigureDaemon {
    const NAME: &'static str = "configure_daemon";
    type Input = ConfigureInput;
    type Output = ConfiguredList;

    fn meta(&self) -> OpMeta {
        meta(
            "Create default daemon configs",
            "Write the default config of one daemon kind, or of `all`, where the daemons read them (fresh \
             identities and secrets). Existing configs are kept unless `overwrite` (which backs them up first).",
            false,
            true,
            false,
            &[],
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: ConfigureInput,
        _cx: &OpContext,
    ) -> Result<ConfiguredList, OpError> {
        with_store(kit, move |s| {
            if i.kind.eq_ignore_ascii_case("all") {
                if i.cluster.is_some() {
                    return Err(
                        OpError::invalid("`all` takes no `cluster` name").with("field", "cluster")
                    );
                }
                let configs = s
                    .create_all(i.overwrite)?
                    .into_iter()
                    .map(|(t, o)| ConfigCreated {
                        target: t.to_string(),
                        kind: t.kind.to_string(),
                        cluster: cluster_of(&t),
                        created: o.created,
                        backup: o.backup,
                        files: files_out(&o.files),
                    })
                    .collect();
                return Ok(ConfiguredList { configs });
            }
            let t = target(&i.kind, i.cluster.as_deref())?;
            Ok(ConfiguredList {
                configs: vec![create(&s, &t, i.overwrite)?],
            })
        })
        .await
    }
}

/// `update_daemon_config`.
#[derive(Debug, Clone, Copy)]
pub struct UpdateDaemonConfig;

/// Input of `update_daemon_config`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateInput {
    /// The daemon kind (see `configure_daemon`).
    pub kind: String,
    /// The followed cluster's name (followers only).
    pub cluster: Option<String>,
    /// Partial document deep-merged into the config (objects merge, everything else replaces).
    pub merge: Option<Value>,
    /// Dotted path to set instead (`Addresses.API`; `\.` escapes a dot in a key).
    pub path: Option<String>,
    /// The value for `path`.
    pub value: Option<Value>,
    /// Check the change (validation and port collisions) without writing.
    #[serde(default)]
    pub validate_only: bool,
}

impl Operation for UpdateDaemonConfig {
    const NAME: &'static str = "update_daemon_config";
    type Input = UpdateInput;
    type Output = ConfigUpdated;

    fn meta(&self) -> OpMeta {
        meta(
            "Change a daemon config",
            "Deep-merge a partial document into one daemon's config, or set one dotted path. The result is \
             validated (CONFIG_INVALID lists every problem) and checked against the other configs' listeners \
             (PORT_IN_USE suggests a free port) before anything is written; a refused change leaves the files \
             untouched. The old version is backed up. `validate_only` checks without writing.",
            false,
            false,
            true,
            &[],
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: UpdateInput,
        _cx: &OpContext,
    ) -> Result<ConfigUpdated, OpError> {
        let t = target(&i.kind, i.cluster.as_deref())?;
        let update = update_of(i.merge, i.path, i.value)?;
        with_store(kit, move |s| set(&s, &t, update, i.validate_only)).await
    }
}

/// Which config(s) a status or validation covers.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SelectInput {
    /// One daemon kind, or `all` / absent for every config (followers included).
    pub kind: Option<String>,
    /// The followed cluster's name (followers only).
    pub cluster: Option<String>,
}

/// Existence and validity of one config.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConfigState {
    /// `kind` or `kind@cluster`.
    pub target: String,
    /// The kind.
    pub kind: String,
    /// The followed cluster (followers only).
    pub cluster: Option<String>,
    /// Whether its files exist.
    pub exists: bool,
    /// Whether it exists, parses and validates.
    pub valid: bool,
    /// What is wrong.
    pub problems: Vec<ConfigProblem>,
    /// Its files.
    pub files: Vec<ConfigFile>,
}

/// Existence and validity of configs.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConfigStates {
    /// Whether every existing config listed is valid.
    pub valid: bool,
    /// One entry per config.
    pub configs: Vec<ConfigState>,
}

fn is_followers(kind: Option<&str>) -> bool {
    kind.and_then(|k| k.parse::<ConfigKind>().ok()) == Some(ConfigKind::IpfsClusterFollow)
}

fn states(
    s: &ConfigStore,
    kind: Option<&str>,
    cluster: Option<&str>,
) -> Result<ConfigStates, OpError> {
    let every_follower = cluster.is_none() && is_followers(kind);
    let only = match kind {
        None if cluster.is_some() => Some(target(ConfigKind::IpfsClusterFollow.as_str(), cluster)?),
        None => None,
        Some(k) if k.eq_ignore_ascii_case("all") || every_follower => None,
        Some(k) => Some(target(k, cluster)?),
    };
    let mut all = s.status();
    if every_follower {
        all.retain(|st| st.target.kind == ConfigKind::IpfsClusterFollow);
    }
    if let Some(t) = &only {
        all.retain(|st| &st.target == t);
        if all.is_empty() {
            // a follower that does not exist yet is not in the scan of the follower folder
            let files = s.files(t)?;
            all.push(ipfs_kit_config::ConfigStatus {
                target: t.clone(),
                exists: false,
                valid: false,
                problems: vec![],
                files,
            });
        }
    }
    let configs: Vec<ConfigState> = all
        .into_iter()
        .map(|st| ConfigState {
            target: st.target.to_string(),
            kind: st.target.kind.to_string(),
            cluster: cluster_of(&st.target),
            exists: st.exists,
            valid: st.valid,
            problems: st.problems.iter().map(problem_out).collect(),
            files: files_out(&st.files),
        })
        .collect();
    Ok(ConfigStates {
        valid: configs.iter().all(|c| c.valid || !c.exists),
        configs,
    })
}

/// `validate_daemon_configs`.
#[derive(Debug, Clone, Copy)]
pub struct ValidateDaemonConfigs;

impl Operation for ValidateDaemonConfigs {
    const NAME: &'static str = "validate_daemon_configs";
    type Input = SelectInput;
    type Output = ConfigStates;

    fn meta(&self) -> OpMeta {
        meta(
            "Validate daemon configs",
            "Check one config or all of them beyond their shape (multiaddrs, bootstrap peer IDs, keys matching \
             peer IDs, secrets, URLs, ports, replication factors). Returns every problem; with one `kind`, a \
             missing or invalid config is a CONFIG_INVALID / NOT_FOUND error.",
            true,
            false,
            true,
            &[],
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: SelectInput,
        _cx: &OpContext,
    ) -> Result<ConfigStates, OpError> {
        with_store(kit, move |s| {
            let out = states(&s, i.kind.as_deref(), i.cluster.as_deref())?;
            let single = i
                .kind
                .as_deref()
                .is_some_and(|k| !k.eq_ignore_ascii_case("all"));
            if single && let Some(c) = out.configs.first() {
                let t = target(&c.kind, c.cluster.as_deref())?;
                if !c.exists {
                    // the store's own NotFound names the main file
                    s.validate(&t)?;
                }
                let problems = s.validate(&t)?;
                if !problems.is_empty() {
                    return Err(ipfs_kit_config::Error::Invalid {
                        kind: t.kind.as_str(),
                        problems,
                    }
                    .into());
                }
            }
            Ok(out)
        })
        .await
    }
}

/// `get_daemon_config_status`.
#[derive(Debug, Clone, Copy)]
pub struct GetDaemonConfigStatus;

impl Operation for GetDaemonConfigStatus {
    const NAME: &'static str = "get_daemon_config_status";
    type Input = SelectInput;
    type Output = ConfigStates;

    fn meta(&self) -> OpMeta {
        meta(
            "Daemon config status",
            "Which configs exist, where their files are, whether they are valid and what is wrong; every kind and \
             follower by default, or one `kind` (`get_service_status`: `ipfs_cluster_service`; \
             `get_follow_status`: `ipfs_cluster_follow` with `cluster`).",
            true,
            false,
            true,
            &["get_service_status", "get_follow_status"],
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: SelectInput,
        _cx: &OpContext,
    ) -> Result<ConfigStates, OpError> {
        with_store(kit, move |s| {
            states(&s, i.kind.as_deref(), i.cluster.as_deref())
        })
        .await
    }
}

/// A config of any kind.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KindInput {
    /// The daemon kind (see `configure_daemon`).
    pub kind: String,
    /// The followed cluster's name (followers only).
    pub cluster: Option<String>,
}

/// `config_get`.
#[derive(Debug, Clone, Copy)]
pub struct ConfigGet;

/// Input of `config_get`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigGetInput {
    /// The daemon kind (see `configure_daemon`).
    pub kind: String,
    /// The followed cluster's name (followers only).
    pub cluster: Option<String>,
    /// Return private keys, tokens and secrets instead of `"<redacted>"`.
    #[serde(default)]
    pub reveal_secrets: bool,
}

impl Operation for ConfigGet {
    const NAME: &'static str = "config_get";
    type Input = ConfigGetInput;
    type Output = ConfigDocument;

    fn meta(&self) -> OpMeta {
        meta(
            "Read a daemon config",
            texts::ANY_GET,
            false,
            false,
            true,
            &[],
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: ConfigGetInput,
        _cx: &OpContext,
    ) -> Result<ConfigDocument, OpError> {
        let t = target(&i.kind, i.cluster.as_deref())?;
        with_store(kit, move |s| get(&s, &t, i.reveal_secrets)).await
    }
}

/// `config_backup`.
#[derive(Debug, Clone, Copy)]
pub struct ConfigBackup;

/// A saved version.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConfigVersion {
    /// Version id (sorts by time).
    pub version: String,
    /// Directory holding the saved files (mode 0700).
    pub path: String,
}

/// A saved version of one config.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConfigBackedUp {
    /// `kind` or `kind@cluster`.
    pub target: String,
    /// Version id.
    pub version: String,
    /// Directory holding the saved files.
    pub path: String,
}

impl Operation for ConfigBackup {
    const NAME: &'static str = "config_backup";
    type Input = KindInput;
    type Output = ConfigBackedUp;

    fn meta(&self) -> OpMeta {
        meta(
            "Back up a daemon config",
            "Save the current files of one config as a new version in the kit's history (the last 10 are kept).",
            false,
            false,
            false,
            &[],
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: KindInput,
        _cx: &OpContext,
    ) -> Result<ConfigBackedUp, OpError> {
        let t = target(&i.kind, i.cluster.as_deref())?;
        with_store(kit, move |s| {
            let b = s.backup(&t)?;
            Ok(ConfigBackedUp {
                target: t.to_string(),
                version: b.version,
                path: b.path.display().to_string(),
            })
        })
        .await
    }
}

/// `config_history`.
#[derive(Debug, Clone, Copy)]
pub struct ConfigHistory;

/// Saved versions of one config.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConfigVersions {
    /// `kind` or `kind@cluster`.
    pub target: String,
    /// Newest first.
    pub versions: Vec<ConfigVersion>,
}

impl Operation for ConfigHistory {
    const NAME: &'static str = "config_history";
    type Input = KindInput;
    type Output = ConfigVersions;

    fn meta(&self) -> OpMeta {
        meta(
            "List saved config versions",
            "The saved versions of one config, newest first (taken by backups, updates, restores and overwrites).",
            true,
            false,
            true,
            &[],
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: KindInput,
        _cx: &OpContext,
    ) -> Result<ConfigVersions, OpError> {
        let t = target(&i.kind, i.cluster.as_deref())?;
        with_store(kit, move |s| {
            let versions = s
                .history(&t)?
                .into_iter()
                .map(|b| ConfigVersion {
                    version: b.version,
                    path: b.path.display().to_string(),
                })
                .collect();
            Ok(ConfigVersions {
                target: t.to_string(),
                versions,
            })
        })
        .await
    }
}

/// `config_restore`.
#[derive(Debug, Clone, Copy)]
pub struct ConfigRestore;

/// Input of `config_restore`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreInput {
    /// The daemon kind (see `configure_daemon`).
    pub kind: String,
    /// The followed cluster's name (followers only).
    pub cluster: Option<String>,
    /// The version to put back (see `config_history`).
    pub version: String,
}

impl Operation for ConfigRestore {
    const NAME: &'static str = "config_restore";
    type Input = RestoreInput;
    type Output = ConfigUpdated;

    fn meta(&self) -> OpMeta {
        meta(
            "Restore a saved config version",
            "Put a saved version of one config back, byte for byte (validated first; the current files are \
             backed up before they are replaced).",
            false,
            true,
            true,
            &[],
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: RestoreInput,
        _cx: &OpContext,
    ) -> Result<ConfigUpdated, OpError> {
        let t = target(&i.kind, i.cluster.as_deref())?;
        with_store(kit, move |s| {
            let o = s.restore(&t, &i.version)?;
            Ok(ConfigUpdated {
                target: t.to_string(),
                written: o.written,
                backup: o.backup,
                changes: changes_out(o.changes),
            })
        })
        .await
    }
}

/// `config_diff`.
#[derive(Debug, Clone, Copy)]
pub struct ConfigDiff;

/// Input of `config_diff`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiffInput {
    /// The daemon kind (see `configure_daemon`).
    pub kind: String,
    /// The followed cluster's name (followers only).
    pub cluster: Option<String>,
    /// `defaults` (the default), `latest` (the newest saved version) or a version id.
    pub against: Option<String>,
    /// Compare with this document instead (e.g. a proposed config).
    pub document: Option<Value>,
}

/// Differences from a baseline to the current config.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConfigDiffOut {
    /// `kind` or `kind@cluster`.
    pub target: String,
    /// What the current config was compared with (`defaults`, a version id, `document`).
    pub against: String,
    /// The differences, baseline → current (secrets redacted).
    pub changes: Vec<ConfigChange>,
}

impl Operation for ConfigDiff {
    const NAME: &'static str = "config_diff";
    type Input = DiffInput;
    type Output = ConfigDiffOut;

    fn meta(&self) -> OpMeta {
        meta(
            "Diff a daemon config",
            "Structured differences from the defaults, a saved version or a given document to the current config \
             (identities and secrets always differ from the defaults and are redacted).",
            true,
            false,
            true,
            &[],
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: DiffInput,
        _cx: &OpContext,
    ) -> Result<ConfigDiffOut, OpError> {
        let t = target(&i.kind, i.cluster.as_deref())?;
        with_store(kit, move |s| {
            let (against, label) = match (i.document, i.against.as_deref()) {
                (Some(_), Some(_)) => {
                    return Err(OpError::invalid("give `against` or `document`, not both")
                        .with("field", "document"));
                }
                (Some(d), None) => (DiffAgainst::Document(d), "document".to_string()),
                (None, None | Some("defaults")) => (DiffAgainst::Defaults, "defaults".to_string()),
                (None, Some("latest")) => {
                    let v = s.history(&t)?.into_iter().next().ok_or_else(|| {
                        OpError::new(ErrorCode::NotFound, format!("{t} has no saved version"))
                            .with("kind", t.kind.as_str())
                    })?;
                    (DiffAgainst::Version(v.version.clone()), v.version)
                }
                (None, Some(v)) => (DiffAgainst::Version(v.to_string()), v.to_string()),
            };
            Ok(ConfigDiffOut {
                changes: changes_out(s.diff(&t, &against)?),
                target: t.to_string(),
                against: label,
            })
        })
        .await
    }
}

/// `config_port_plan`.
#[derive(Debug, Clone, Copy)]
pub struct ConfigPortPlan;

/// Input of `config_port_plan`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortPlanInput {
    /// Also try-bind every planned address to find sockets already open on this host (default true; a running
    /// daemon's own listeners show up as in use).
    #[serde(default = "super::default_true")]
    pub live: bool,
    /// Fail with PORT_IN_USE (and the suggested ports) when anything collides, instead of reporting it.
    #[serde(default)]
    pub check: bool,
}

/// One planned listener.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PlannedListener {
    /// Whose it is (`kubo`, `ipfs_cluster_follow@name`, …).
    pub owner: String,
    /// The dotted key that configures it.
    pub key: String,
    /// The configured address.
    pub address: String,
    /// `tcp` or `udp`.
    pub proto: String,
    /// Host part.
    pub host: String,
    /// Port.
    pub port: u16,
}

/// A listener that cannot bind as planned.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PortConflictOut {
    /// The listener that must move.
    pub listener: PlannedListener,
    /// The configured listener it collides with (absent: a socket already open on this host).
    pub with: Option<PlannedListener>,
    /// A port free in the plan and on this host.
    pub suggested_port: u16,
    /// Human text.
    pub message: String,
}

/// Every configured listener of every daemon on this host.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PortPlanOut {
    /// The listeners, config by config.
    pub listeners: Vec<PlannedListener>,
    /// Collisions between configs (and with open sockets when `live`).
    pub conflicts: Vec<PortConflictOut>,
    /// No collision.
    pub ok: bool,
}

fn listener_out(l: &ipfs_kit_config::Listener) -> PlannedListener {
    PlannedListener {
        owner: l.owner.clone(),
        key: l.key.clone(),
        address: l.address.clone(),
        proto: match l.proto {
            ipfs_kit_config::Proto::Tcp => "tcp".into(),
            ipfs_kit_config::Proto::Udp => "udp".into(),
        },
        host: l.host.clone(),
        port: l.port,
    }
}

impl Operation for ConfigPortPlan {
    const NAME: &'static str = "config_port_plan";
    type Input = PortPlanInput;
    type Output = PortPlanOut;

    fn meta(&self) -> OpMeta {
        meta(
            "Port plan of every daemon",
            "Every listener configured by every daemon config on this host in one table, with collisions between \
             configs and with sockets already open, each with a suggested free port.",
            true,
            false,
            true,
            &[],
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: PortPlanInput,
        _cx: &OpContext,
    ) -> Result<PortPlanOut, OpError> {
        with_store(kit, move |s| {
            let plan = s.port_plan()?;
            let mut conflicts = plan.conflicts();
            if i.live {
                conflicts.extend(plan.live_conflicts());
            }
            if i.check && !conflicts.is_empty() {
                return Err(ipfs_kit_config::Error::PortConflict(conflicts).into());
            }
            Ok(PortPlanOut {
                listeners: plan.listeners.iter().map(listener_out).collect(),
                ok: conflicts.is_empty(),
                conflicts: conflicts
                    .iter()
                    .map(|c| PortConflictOut {
                        listener: listener_out(&c.listener),
                        with: c.with.as_ref().map(listener_out),
                        suggested_port: c.suggested_port,
                        message: c.to_string(),
                    })
                    .collect(),
            })
        })
        .await
    }
}

/// Descriptions of the readers, with the note on `reveal_secrets`.
mod texts {
    pub(super) const SERVICE_GET: &str = "ipfs-cluster-service's service.json and identity.json as one document \
        ({\"service\": …, \"identity\": …}); the cluster secret and private key are \"<redacted>\" unless \
        `reveal_secrets`. With `reveal_secrets: true` it returns private keys and secrets, so read-only faces do \
        not list it.";
    pub(super) const FOLLOW_GET: &str = "A follower's service.json and identity.json as one document; secrets \
        \"<redacted>\" unless `reveal_secrets`. With `reveal_secrets: true` it returns private keys and secrets, \
        so read-only faces do not list it.";
    pub(super) const ANY_GET: &str = "Any daemon's config as a JSON document (Kubo's config, Cluster \
        service/identity, Lotus TOML as JSON, …); keys, tokens and secrets \"<redacted>\" unless \
        `reveal_secrets`. With `reveal_secrets: true` it returns private keys and secrets, so read-only faces do \
        not list it.";
}
