//! IPFS Cluster over its REST API (toolset `cluster`): pin, unpin, status and peers of a running cluster
//! peer, and the status of the service peer or of a follower.
//!
//! Where the API is: the `api` input (a multiaddr, URL, `host:port` or `/unix/<socket>`); else, for the
//! service peer, `api.restapi.http_listen_multiaddress` of the kit's cluster service config (with its first
//! `basic_auth_credentials` entry), else `/ip4/127.0.0.1/tcp/9094`; for a follower (`cluster` input), its
//! unix socket `<follow dir>/<cluster>/api-socket`. Credentials given as input (`basic_auth` `user:password`,
//! or a bearer `token`) win over the config's. Nothing answering is `DAEMON_UNAVAILABLE` naming the address;
//! refused credentials are `DAEMON_UNAUTHORIZED`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ipfs_kit_clients::cluster::{
    self, Alert, Auth, ClusterClient, ClusterPeer, GlobalPinInfo, Pin, PinOptions,
};
use ipfs_kit_config::{ConfigKind, Target};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::config::config_store;
use super::{DEFAULT_LIST_LIMIT, cid_arg, op_meta};
use crate::{ErrorCode, Kit, OpContext, OpError, OpMeta, Operation, Toolset};

/// Most items a listing may ask for.
const MAX_LIMIT: usize = 100_000;

fn meta(
    title: &'static str,
    description: &'static str,
    read_only: bool,
    destructive: bool,
    idempotent: bool,
    aliases: &'static [&'static str],
) -> OpMeta {
    OpMeta {
        open_world: true,
        aliases,
        ..op_meta(
            Toolset::Cluster,
            title,
            description,
            read_only,
            destructive,
            idempotent,
        )
    }
}

/// A resolved API endpoint and where its address came from.
struct Endpoint {
    client: ClusterClient,
    source: &'static str,
}

/// What the caller said about the API.
struct ApiArgs<'a> {
    api: Option<&'a str>,
    basic_auth: Option<&'a str>,
    token: Option<&'a str>,
}

fn input_auth(a: &ApiArgs<'_>) -> Result<Option<Auth>, OpError> {
    match (a.basic_auth, a.token) {
        (Some(_), Some(_)) => Err(OpError::invalid(
            "give either `basic_auth` or `token`, not both",
        )
        .with("field", "token")),
        (Some(b), None) => match b.split_once(':') {
            Some((user, password)) if !user.is_empty() => Ok(Some(Auth::Basic {
                user: user.to_string(),
                password: password.to_string(),
            })),
            _ => Err(OpError::invalid("`basic_auth` must be `user:password`")
                .with("field", "basic_auth")),
        },
        (None, Some(t)) if t.trim().is_empty() => {
            Err(OpError::invalid("`token` is empty").with("field", "token"))
        }
        (None, Some(t)) => Ok(Some(Auth::Bearer(t.trim().to_string()))),
        (None, None) => Ok(None),
    }
}

fn client(addr: &str, field: &str) -> Result<ClusterClient, OpError> {
    ClusterClient::new(addr).map_err(|e| {
        OpError::new(ErrorCode::InvalidInput, e.to_string())
            .with("field", field)
            .with("api", addr)
    })
}

/// A wildcard listen address is reached on loopback.
fn dial_address(listen: &str) -> String {
    if let Some(rest) = listen.strip_prefix("/ip4/0.0.0.0/") {
        format!("/ip4/127.0.0.1/{rest}")
    } else if let Some(rest) = listen.strip_prefix("/ip6/::/") {
        format!("/ip6/::1/{rest}")
    } else {
        listen.to_string()
    }
}

/// The service peer's API: input, else the kit's cluster service config, else the default.
fn service_endpoint(kit: &Kit, a: &ApiArgs<'_>) -> Result<Endpoint, OpError> {
    let auth = input_auth(a)?;
    if let Some(addr) = a.api {
        return Ok(Endpoint {
            client: client(addr, "api")?.with_auth(auth),
            source: "input",
        });
    }
    let doc = match config_store(kit)
        .and_then(|s| Ok(s.get(&Target::new(ConfigKind::IpfsClusterService), true)?))
    {
        Ok(d) => Some(d),
        // No config (or no HOME to find it under): the default address.
        Err(e) if matches!(e.code, ErrorCode::NotFound | ErrorCode::Unsupported) => None,
        Err(e) => return Err(e),
    };
    let Some(doc) = doc else {
        return Ok(Endpoint {
            client: client(cluster::DEFAULT_API, "api")?.with_auth(auth),
            source: "default",
        });
    };
    let rest = &doc["service"]["api"]["restapi"];
    let listen = match &rest["http_listen_multiaddress"] {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => a.iter().find_map(|v| v.as_str().map(str::to_string)),
        _ => None,
    };
    let Some(listen) = listen.filter(|l| !l.trim().is_empty()) else {
        return Err(OpError::new(
            ErrorCode::Unsupported,
            "the cluster service config has no REST API (api.restapi.http_listen_multiaddress is empty)",
        )
        .with("kind", "ipfs_cluster_service"));
    };
    let addr = dial_address(listen.trim());
    let c = ClusterClient::new(&addr).map_err(|e| {
        OpError::new(ErrorCode::ConfigInvalid, e.to_string())
            .with("kind", "ipfs_cluster_service")
            .with("path", "service.api.restapi.http_listen_multiaddress")
    })?;
    let auth = auth.or_else(|| {
        rest["basic_auth_credentials"]
            .as_object()
            .and_then(|m| m.iter().next())
            .and_then(|(user, pass)| {
                pass.as_str().map(|p| Auth::Basic {
                    user: user.clone(),
                    password: p.to_string(),
                })
            })
    });
    Ok(Endpoint {
        client: c.with_auth(auth),
        source: "config",
    })
}

/// A follower's API: input, else its socket `<follow dir>/<cluster>/api-socket`.
fn follower_endpoint(kit: &Kit, cluster: &str, a: &ApiArgs<'_>) -> Result<Endpoint, OpError> {
    let auth = input_auth(a)?;
    if let Some(addr) = a.api {
        return Ok(Endpoint {
            client: client(addr, "api")?.with_auth(auth),
            source: "input",
        });
    }
    let store = config_store(kit)?;
    let files = store
        .files(&Target::follow(cluster))
        .map_err(|e| OpError::from(e).with("field", "cluster"))?;
    let dir: PathBuf = files
        .first()
        .and_then(|f| f.path.parent())
        .map(PathBuf::from)
        .ok_or_else(|| OpError::new(ErrorCode::Internal, "no follower folder"))?;
    let socket = dir.join("api-socket");
    let c = ClusterClient::unix(&socket).map_err(|e| cluster_err(None, e))?;
    Ok(Endpoint {
        client: c.with_auth(auth),
        source: "follower",
    })
}

fn endpoint(kit: &Kit, follower: Option<&str>, a: &ApiArgs<'_>) -> Result<Endpoint, OpError> {
    match follower {
        Some(c) => follower_endpoint(kit, c, a),
        None => service_endpoint(kit, a),
    }
}

/// A client error as the one error shape.
fn cluster_err(c: Option<&ClusterClient>, e: cluster::Error) -> OpError {
    use cluster::Error as E;
    let text = e.to_string();
    let api = c.map(|c| c.address().to_string());
    let with_api = |err: OpError| match &api {
        Some(a) => err.with("api", a.clone()),
        None => err,
    };
    match e {
        E::Unreachable { addr, .. } => {
            OpError::new(ErrorCode::DaemonUnavailable, text).with("api", addr)
        }
        E::Timeout { addr, secs, .. } => OpError::new(ErrorCode::DaemonUnavailable, text)
            .with("api", addr)
            .with("timeout_secs", secs),
        E::Unauthorized { addr, message } => OpError::new(ErrorCode::DaemonUnauthorized, text)
            .with("api", addr)
            .with("daemon_message", message),
        E::InvalidAddress(a) => OpError::new(ErrorCode::InvalidInput, text).with("api", a),
        E::InvalidArgument(_) => with_api(OpError::new(ErrorCode::InvalidInput, text)),
        E::Api {
            endpoint,
            status,
            message,
        } => {
            let m = message.to_ascii_lowercase();
            let code = match status {
                404 if m == "not found" => ErrorCode::Unsupported,
                404 => ErrorCode::NotFound,
                400 if m.contains("cid") => ErrorCode::InvalidCid,
                400 => ErrorCode::InvalidInput,
                _ if m.contains("follower mode") => ErrorCode::Unsupported,
                _ => ErrorCode::Internal,
            };
            with_api(
                OpError::new(code, text)
                    .with("endpoint", endpoint)
                    .with("status", status)
                    .with("daemon_message", message),
            )
        }
        E::Decode { endpoint, .. } | E::TooLarge { endpoint, .. } => {
            with_api(OpError::new(ErrorCode::Corrupted, text).with("endpoint", endpoint))
        }
        E::Unsupported(_) => with_api(OpError::new(ErrorCode::Unsupported, text)),
    }
}

fn limit_of(limit: Option<usize>) -> Result<usize, OpError> {
    let l = limit.unwrap_or(DEFAULT_LIST_LIMIT);
    if l > MAX_LIMIT {
        return Err(
            OpError::invalid(format!("limit must be at most {MAX_LIMIT}")).with("field", "limit"),
        );
    }
    Ok(l)
}

/// A CID, or an `/ipfs/`, `/ipns/` or `/ipld/` path.
fn pin_target(s: &str) -> Result<String, OpError> {
    let t = s.trim();
    if t.starts_with('/') {
        let ok = ["/ipfs/", "/ipns/", "/ipld/"].iter().any(|p| {
            t.strip_prefix(p)
                .is_some_and(|r| !r.trim_matches('/').is_empty())
        });
        if !ok {
            return Err(OpError::new(
                ErrorCode::InvalidPath,
                format!("{s:?}: give a CID or a path starting with /ipfs/, /ipns/ or /ipld/"),
            )
            .with("field", "cid"));
        }
        return Ok(t.to_string());
    }
    Ok(cid_arg("cid", t)?.to_string())
}

/// How a pin is stored on IPFS.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClusterPinMode {
    /// The whole DAG.
    Recursive,
    /// The root block only.
    Direct,
}

/// Input of `ipfs_cluster_pin`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterPinInput {
    /// The CID, or a path `/ipfs/…`, `/ipns/…`, `/ipld/…` the cluster resolves.
    pub cid: String,
    /// Minimum replicas (-1: every peer; absent: the cluster's default).
    pub replication_min: Option<i32>,
    /// Maximum replicas (-1: every peer; absent: the cluster's default).
    pub replication_max: Option<i32>,
    /// A name for the pin.
    pub name: Option<String>,
    /// `recursive` (default) or `direct`.
    pub mode: Option<ClusterPinMode>,
    /// Cluster peer IDs to allocate to first.
    #[serde(default)]
    pub user_allocations: Vec<String>,
    /// Unpin after this long: a Go duration (`24h`, `1h30m`, at least `1s`).
    pub expire_in: Option<String>,
    /// User metadata (`key → value`).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// The REST API: multiaddr, URL, `host:port` or `/unix/<socket>` (default: from the service config).
    pub api: Option<String>,
    /// HTTP Basic credentials `user:password`.
    pub basic_auth: Option<String>,
    /// A bearer token (JWT from the API's `POST /token`).
    pub token: Option<String>,
}

/// Output of `ipfs_cluster_pin` and `ipfs_cluster_unpin`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ClusterPinOutput {
    /// The API that answered.
    pub api: String,
    /// Where its address came from: `input`, `config`, `default` or `follower`.
    pub api_source: String,
    /// The pinset entry as the cluster recorded it.
    pub pin: Pin,
}

/// `ipfs_cluster_pin`.
#[derive(Debug, Clone, Copy)]
pub struct ClusterPin;

impl Operation for ClusterPin {
    const NAME: &'static str = "ipfs_cluster_pin";
    type Input = ClusterPinInput;
    type Output = ClusterPinOutput;

    fn meta(&self) -> OpMeta {
        meta(
            "Pin in IPFS Cluster",
            "Add a CID (or an /ipfs, /ipns, /ipld path) to a running IPFS Cluster's shared pinset, with \
             replication factors, name, mode, user allocations, expiry and metadata. The cluster allocates \
             it to peers and they pin it in their IPFS daemons; follow with ipfs_cluster_status.",
            false,
            false,
            true,
            &[],
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: ClusterPinInput,
        _cx: &OpContext,
    ) -> Result<ClusterPinOutput, OpError> {
        let target = pin_target(&input.cid)?;
        for (field, v) in [
            ("replication_min", input.replication_min),
            ("replication_max", input.replication_max),
        ] {
            if v.is_some_and(|v| v < -1) {
                return Err(
                    OpError::invalid(format!("{field} must be -1 (everywhere) or more"))
                        .with("field", field),
                );
            }
        }
        if input.metadata.keys().any(|k| k.is_empty()) {
            return Err(
                OpError::invalid("metadata keys must not be empty").with("field", "metadata")
            );
        }
        let opts = PinOptions {
            replication_min: input.replication_min,
            replication_max: input.replication_max,
            name: input.name,
            mode: input.mode.map(|m| match m {
                ClusterPinMode::Recursive => "recursive".to_string(),
                ClusterPinMode::Direct => "direct".to_string(),
            }),
            user_allocations: input.user_allocations,
            expire_in: input.expire_in,
            metadata: input.metadata,
        };
        let ep = service_endpoint(
            kit,
            &ApiArgs {
                api: input.api.as_deref(),
                basic_auth: input.basic_auth.as_deref(),
                token: input.token.as_deref(),
            },
        )?;
        let pin = ep
            .client
            .pin(&target, &opts)
            .await
            .map_err(|e| cluster_err(Some(&ep.client), e))?;
        Ok(ClusterPinOutput {
            api: ep.client.address().to_string(),
            api_source: ep.source.to_string(),
            pin,
        })
    }
}

/// Input of `ipfs_cluster_unpin`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterUnpinInput {
    /// The CID, or a path `/ipfs/…`, `/ipns/…`, `/ipld/…`.
    pub cid: String,
    /// The REST API: multiaddr, URL, `host:port` or `/unix/<socket>` (default: from the service config).
    pub api: Option<String>,
    /// HTTP Basic credentials `user:password`.
    pub basic_auth: Option<String>,
    /// A bearer token (JWT from the API's `POST /token`).
    pub token: Option<String>,
}

/// `ipfs_cluster_unpin`.
#[derive(Debug, Clone, Copy)]
pub struct ClusterUnpin;

impl Operation for ClusterUnpin {
    const NAME: &'static str = "ipfs_cluster_unpin";
    type Input = ClusterUnpinInput;
    type Output = ClusterPinOutput;

    fn meta(&self) -> OpMeta {
        meta(
            "Unpin from IPFS Cluster",
            "Remove a CID (or an /ipfs, /ipns, /ipld path) from a running IPFS Cluster's shared pinset; every \
             peer unpins it from its IPFS daemon. Answers the entry that was removed; NOT_FOUND when it was \
             not in the pinset.",
            false,
            true,
            true,
            &[],
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: ClusterUnpinInput,
        _cx: &OpContext,
    ) -> Result<ClusterPinOutput, OpError> {
        let target = pin_target(&input.cid)?;
        let ep = service_endpoint(
            kit,
            &ApiArgs {
                api: input.api.as_deref(),
                basic_auth: input.basic_auth.as_deref(),
                token: input.token.as_deref(),
            },
        )?;
        let pin = ep
            .client
            .unpin(&target)
            .await
            .map_err(|e| cluster_err(Some(&ep.client), e))?;
        Ok(ClusterPinOutput {
            api: ep.client.address().to_string(),
            api_source: ep.source.to_string(),
            pin,
        })
    }
}

/// Input of `ipfs_cluster_status`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterStatusInput {
    /// One CID; every pin when absent.
    pub cid: Option<String>,
    /// Only pins in these tracker statuses, comma-separated (`pinned`, `pinning`, `pin_queued`,
    /// `pin_error`, `unpinned`, `remote`, `queued`, `error`, …); every pin only.
    pub filter: Option<String>,
    /// Only this peer's view (faster: no broadcast to the other peers).
    #[serde(default)]
    pub local: bool,
    /// At most this many pins (default 1000).
    pub limit: Option<usize>,
    /// Ask this followed cluster's follower (its API socket) instead of the service peer.
    pub cluster: Option<String>,
    /// The REST API: multiaddr, URL, `host:port` or `/unix/<socket>` (default: from the service config).
    pub api: Option<String>,
    /// HTTP Basic credentials `user:password`.
    pub basic_auth: Option<String>,
    /// A bearer token (JWT from the API's `POST /token`).
    pub token: Option<String>,
}

/// Output of `ipfs_cluster_status`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ClusterStatusOutput {
    /// The API that answered.
    pub api: String,
    /// Where its address came from: `input`, `config`, `default` or `follower`.
    pub api_source: String,
    /// Each pin's status on every peer (`peer_map`).
    pub pins: Vec<GlobalPinInfo>,
    /// How many pins are listed.
    pub count: usize,
    /// Whether the list was cut at `limit`.
    pub truncated: bool,
}

/// `ipfs_cluster_status`.
#[derive(Debug, Clone, Copy)]
pub struct ClusterStatus;

impl Operation for ClusterStatus {
    const NAME: &'static str = "ipfs_cluster_status";
    type Input = ClusterStatusInput;
    type Output = ClusterStatusOutput;

    fn meta(&self) -> OpMeta {
        meta(
            "IPFS Cluster pin status",
            "The status of one pin, or of every pin (optionally filtered by tracker status), on each peer of a \
             running IPFS Cluster: pinned, pinning, queued, pin_error with its error, attempts. Asks the \
             service peer, or a follower with `cluster`.",
            true,
            false,
            true,
            &[],
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: ClusterStatusInput,
        _cx: &OpContext,
    ) -> Result<ClusterStatusOutput, OpError> {
        let limit = limit_of(input.limit)?;
        let cid = match &input.cid {
            Some(c) => Some(cid_arg("cid", c)?.to_string()),
            None => None,
        };
        if cid.is_some() && input.filter.is_some() {
            return Err(OpError::invalid(
                "`filter` applies to the list of every pin, not to one `cid`",
            )
            .with("field", "filter"));
        }
        let ep = endpoint(
            kit,
            input.cluster.as_deref(),
            &ApiArgs {
                api: input.api.as_deref(),
                basic_auth: input.basic_auth.as_deref(),
                token: input.token.as_deref(),
            },
        )?;
        let c = &ep.client;
        let (pins, truncated) = match cid {
            Some(cid) => {
                let one = c
                    .status(&cid, input.local)
                    .await
                    .map_err(|e| cluster_err(Some(c), e))?;
                (vec![one], false)
            }
            None => {
                let l = c
                    .status_all(input.filter.as_deref(), input.local, limit)
                    .await
                    .map_err(|e| cluster_err(Some(c), e))?;
                (l.items, l.truncated)
            }
        };
        Ok(ClusterStatusOutput {
            api: c.address().to_string(),
            api_source: ep.source.to_string(),
            count: pins.len(),
            pins,
            truncated,
        })
    }
}

/// Input of `ipfs_cluster_peers`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterPeersInput {
    /// Ask this followed cluster's follower (its API socket) instead of the service peer.
    pub cluster: Option<String>,
    /// At most this many peers (default 1000).
    pub limit: Option<usize>,
    /// The REST API: multiaddr, URL, `host:port` or `/unix/<socket>` (default: from the service config).
    pub api: Option<String>,
    /// HTTP Basic credentials `user:password`.
    pub basic_auth: Option<String>,
    /// A bearer token (JWT from the API's `POST /token`).
    pub token: Option<String>,
}

/// Output of `ipfs_cluster_peers`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ClusterPeersOutput {
    /// The API that answered.
    pub api: String,
    /// Where its address came from: `input`, `config`, `default` or `follower`.
    pub api_source: String,
    /// The cluster's peers as the answering peer sees them.
    pub peers: Vec<ClusterPeer>,
    /// How many are listed.
    pub count: usize,
    /// Whether the list was cut at `limit`.
    pub truncated: bool,
}

/// `ipfs_cluster_peers`.
#[derive(Debug, Clone, Copy)]
pub struct ClusterPeers;

impl Operation for ClusterPeers {
    const NAME: &'static str = "ipfs_cluster_peers";
    type Input = ClusterPeersInput;
    type Output = ClusterPeersOutput;

    fn meta(&self) -> OpMeta {
        meta(
            "IPFS Cluster peers",
            "The peers of a running IPFS Cluster (ID, name, addresses, version, their IPFS daemon) as the \
             service peer sees them, or a follower with `cluster` (`get_follow_peers` with the followed \
             cluster's name).",
            true,
            false,
            true,
            &["get_service_peers", "get_follow_peers"],
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: ClusterPeersInput,
        _cx: &OpContext,
    ) -> Result<ClusterPeersOutput, OpError> {
        let limit = limit_of(input.limit)?;
        let ep = endpoint(
            kit,
            input.cluster.as_deref(),
            &ApiArgs {
                api: input.api.as_deref(),
                basic_auth: input.basic_auth.as_deref(),
                token: input.token.as_deref(),
            },
        )?;
        let l = ep
            .client
            .peers(limit)
            .await
            .map_err(|e| cluster_err(Some(&ep.client), e))?;
        Ok(ClusterPeersOutput {
            api: ep.client.address().to_string(),
            api_source: ep.source.to_string(),
            count: l.items.len(),
            peers: l.items,
            truncated: l.truncated,
        })
    }
}

/// What a cluster peer's API says about it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ClusterApiStatus {
    /// The API that answered.
    pub api: String,
    /// Where its address came from: `input`, `config`, `default` or `follower`.
    pub api_source: String,
    /// The followed cluster (follower status only).
    pub cluster: Option<String>,
    /// The peer (`GET /id`).
    pub peer: ClusterPeer,
    /// How many cluster peers it knows (itself included).
    pub peer_count: usize,
    /// Whether it reaches its IPFS daemon (the `ipfs` part of `/id` carries no error).
    pub ipfs_connected: bool,
    /// Metrics that expired (`GET /health/alerts`): peers that went silent.
    pub alerts: Vec<Alert>,
}

async fn api_status(ep: Endpoint, cluster: Option<String>) -> Result<ClusterApiStatus, OpError> {
    let c = &ep.client;
    let peer = c.id().await.map_err(|e| cluster_err(Some(c), e))?;
    let alerts = c.alerts().await.map_err(|e| cluster_err(Some(c), e))?;
    let ipfs_connected = peer
        .ipfs
        .as_ref()
        .is_some_and(|i| i.error.is_empty() && !i.id.is_empty());
    Ok(ClusterApiStatus {
        api: c.address().to_string(),
        api_source: ep.source.to_string(),
        cluster,
        peer_count: peer.cluster_peers.len(),
        peer,
        ipfs_connected,
        alerts,
    })
}

/// Input of `cluster_service_status_via_api`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceStatusViaApiInput {
    /// The REST API: multiaddr, URL, `host:port` or `/unix/<socket>` (default: from the service config).
    pub api: Option<String>,
    /// HTTP Basic credentials `user:password`.
    pub basic_auth: Option<String>,
    /// A bearer token (JWT from the API's `POST /token`).
    pub token: Option<String>,
}

/// `cluster_service_status_via_api`.
#[derive(Debug, Clone, Copy)]
pub struct ClusterServiceStatusViaApi;

impl Operation for ClusterServiceStatusViaApi {
    const NAME: &'static str = "cluster_service_status_via_api";
    type Input = ServiceStatusViaApiInput;
    type Output = ClusterApiStatus;

    fn meta(&self) -> OpMeta {
        meta(
            "Cluster service status (API)",
            "Ask a running ipfs-cluster-service over its REST API who it is (peer ID, name, version, \
             addresses), how many peers it knows, whether it reaches its IPFS daemon, and its alerts. \
             DAEMON_UNAVAILABLE names the address when nothing answers.",
            true,
            false,
            true,
            &[],
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: ServiceStatusViaApiInput,
        _cx: &OpContext,
    ) -> Result<ClusterApiStatus, OpError> {
        let ep = service_endpoint(
            kit,
            &ApiArgs {
                api: input.api.as_deref(),
                basic_auth: input.basic_auth.as_deref(),
                token: input.token.as_deref(),
            },
        )?;
        api_status(ep, None).await
    }
}

/// Input of `cluster_follow_status_via_api`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowStatusViaApiInput {
    /// The followed cluster's name (may be left out when exactly one follower is configured).
    pub cluster: Option<String>,
    /// The follower's REST API (default: `<follow dir>/<cluster>/api-socket`).
    pub api: Option<String>,
    /// HTTP Basic credentials `user:password`.
    pub basic_auth: Option<String>,
    /// A bearer token.
    pub token: Option<String>,
}

/// `cluster_follow_status_via_api`.
#[derive(Debug, Clone, Copy)]
pub struct ClusterFollowStatusViaApi;

impl Operation for ClusterFollowStatusViaApi {
    const NAME: &'static str = "cluster_follow_status_via_api";
    type Input = FollowStatusViaApiInput;
    type Output = ClusterApiStatus;

    fn meta(&self) -> OpMeta {
        meta(
            "Cluster follower status (API)",
            "Ask a running ipfs-cluster-follow over its REST API (the unix socket in its folder) who it is, \
             how many cluster peers it knows, whether it reaches its IPFS daemon, and its alerts. \
             DAEMON_UNAVAILABLE names the socket when nothing answers.",
            true,
            false,
            true,
            &[],
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: FollowStatusViaApiInput,
        _cx: &OpContext,
    ) -> Result<ClusterApiStatus, OpError> {
        let cluster = match input.cluster {
            Some(c) => c,
            None => {
                let all = config_store(kit)?.follower_clusters();
                match all.as_slice() {
                    [one] => one.clone(),
                    [] => {
                        return Err(OpError::invalid(
                            "no follower is configured; give the followed cluster's name (`cluster`)",
                        )
                        .with("field", "cluster"));
                    }
                    many => {
                        return Err(OpError::invalid(format!(
                            "several followers are configured ({}); give `cluster`",
                            many.join(", ")
                        ))
                        .with("field", "cluster"));
                    }
                }
            }
        };
        let ep = follower_endpoint(
            kit,
            &cluster,
            &ApiArgs {
                api: input.api.as_deref(),
                basic_auth: input.basic_auth.as_deref(),
                token: input.token.as_deref(),
            },
        )?;
        api_status(ep, Some(cluster)).await
    }
}
