//! A client of IPFS Cluster's REST API: the service peer's (`ipfs-cluster-service`, default
//! `/ip4/127.0.0.1/tcp/9094`) and a follower's (`ipfs-cluster-follow`, a unix socket
//! `<follow dir>/<cluster>/api-socket`).
//!
//! Answers are typed after Cluster's own JSON (`api.ID`, `api.Pin`, `api.GlobalPinInfo`,
//! `api.Metric`, `api.Alert`, `api.ConnectGraph`); fields Cluster leaves out or sends as `null`
//! read as empty. Every body is read with a size limit and every request has a timeout.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

/// The service API's default address.
pub const DEFAULT_API: &str = "/ip4/127.0.0.1/tcp/9094";
/// Largest single JSON answer read.
pub const MAX_ANSWER: usize = 8 * 1024 * 1024;
/// Longest line of a streamed (ndjson) answer.
pub const MAX_LINE: usize = 4 * 1024 * 1024;
/// Largest error body read to find Cluster's message.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// Default time a whole request may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Errors talking to an IPFS Cluster REST API.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API address is neither a multiaddr, a URL nor `host:port`.
    #[error(
        "invalid IPFS Cluster API address {0:?}: expected /ip4/127.0.0.1/tcp/9094, /unix/<socket>, http://host:port or host:port"
    )]
    InvalidAddress(String),
    /// An argument cannot be sent (an empty CID, a path outside /ipfs, /ipns, /ipld).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Nothing answered at the address (connection refused, no such socket, reset).
    #[error("no IPFS Cluster API answering at {addr}: {reason}")]
    Unreachable {
        /// The address tried (URL or `/unix/<socket>`).
        addr: String,
        /// What the transport said.
        reason: String,
    },
    /// The API did not answer within the request timeout.
    #[error("IPFS Cluster API at {addr} did not answer {endpoint} within {secs} s")]
    Timeout {
        /// The address tried.
        addr: String,
        /// The endpoint (`GET /pins`).
        endpoint: String,
        /// The timeout, in seconds.
        secs: u64,
    },
    /// The API refused the credentials (HTTP 401), or needs some and none were given.
    #[error("IPFS Cluster API at {addr} refused the request: {message}")]
    Unauthorized {
        /// The address.
        addr: String,
        /// Cluster's message (`unauthorized: access denied`).
        message: String,
    },
    /// The API answered with an error (`{"code":N,"message":"…"}`).
    #[error("IPFS Cluster {endpoint} failed ({status}): {message}")]
    Api {
        /// The endpoint (`POST /pins/{cid}`).
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// Cluster's message.
        message: String,
    },
    /// The answer was not what the endpoint documents.
    #[error("unexpected answer from IPFS Cluster {endpoint}: {reason}")]
    Decode {
        /// The endpoint.
        endpoint: String,
        /// What did not fit.
        reason: String,
    },
    /// An answer was larger than allowed.
    #[error("IPFS Cluster {endpoint} answered more than {limit} bytes")]
    TooLarge {
        /// The endpoint.
        endpoint: String,
        /// The limit, in bytes.
        limit: usize,
    },
    /// This platform cannot do what was asked (unix sockets off Unix).
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl Error {
    /// Whether nothing answered (unreachable or timed out).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Error::Unreachable { .. } | Error::Timeout { .. })
    }

    /// Whether the API refused the credentials.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, Error::Unauthorized { .. })
    }

    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            Error::Unauthorized { .. } => Some(401),
            _ => None,
        }
    }
}

/// How requests authenticate.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// HTTP Basic against the API's `basic_auth_credentials`.
    Basic {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
    /// `Authorization: Bearer <JWT>` (a token from [`ClusterClient::token`]).
    Bearer(String),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Basic { user, .. } => write!(f, "Basic({user}:<redacted>)"),
            Auth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
        }
    }
}

/// A page of a streamed listing, cut at the caller's limit.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Listing<T> {
    /// The items read, in the order the API sent them.
    pub items: Vec<T>,
    /// Whether the API had more than the limit (the rest was not read).
    pub truncated: bool,
}

fn nullable<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// The IPFS daemon a cluster peer drives (`api.IPFSID`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct IpfsId {
    /// Its peer ID.
    #[serde(deserialize_with = "nullable")]
    pub id: String,
    /// Its addresses.
    #[serde(deserialize_with = "nullable")]
    pub addresses: Vec<String>,
    /// Why the daemon could not be asked, if it could not.
    #[serde(deserialize_with = "nullable")]
    pub error: String,
}

/// A cluster peer (`api.ID`: `GET /id`, one line of `GET /peers`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ClusterPeer {
    /// Cluster peer ID.
    #[serde(deserialize_with = "nullable")]
    pub id: String,
    /// Its listen addresses.
    #[serde(deserialize_with = "nullable")]
    pub addresses: Vec<String>,
    /// The peers it knows in the cluster.
    #[serde(deserialize_with = "nullable")]
    pub cluster_peers: Vec<String>,
    /// Their addresses.
    #[serde(deserialize_with = "nullable")]
    pub cluster_peers_addresses: Vec<String>,
    /// Cluster version.
    #[serde(deserialize_with = "nullable")]
    pub version: String,
    /// Build commit.
    #[serde(deserialize_with = "nullable")]
    pub commit: String,
    /// The RPC protocol (`/ipfscluster/1.0/rpc`).
    #[serde(deserialize_with = "nullable")]
    pub rpc_protocol_version: String,
    /// Why this peer could not be asked, if it could not.
    #[serde(deserialize_with = "nullable")]
    pub error: String,
    /// Its IPFS daemon.
    pub ipfs: Option<IpfsId>,
    /// Human name.
    #[serde(deserialize_with = "nullable")]
    pub peername: String,
}

/// `GET /version`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ClusterVersion {
    /// The version (`1.1.6`).
    #[serde(deserialize_with = "nullable")]
    pub version: String,
}

/// One peer's view of a pin (`api.PinInfoShort`, a value of `peer_map`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct PeerPinStatus {
    /// The cluster peer's name.
    #[serde(deserialize_with = "nullable")]
    pub peername: String,
    /// Its IPFS daemon's peer ID.
    #[serde(deserialize_with = "nullable")]
    pub ipfs_peer_id: String,
    /// Its IPFS daemon's addresses.
    #[serde(deserialize_with = "nullable")]
    pub ipfs_peer_addresses: Vec<String>,
    /// Tracker status: `pinned`, `pinning`, `pin_queued`, `pin_error`, `unpinned`, `remote`, …
    #[serde(deserialize_with = "nullable")]
    pub status: String,
    /// When the status was last set (RFC 3339).
    #[serde(deserialize_with = "nullable")]
    pub timestamp: String,
    /// The error, for error statuses.
    #[serde(deserialize_with = "nullable")]
    pub error: String,
    /// Pin or unpin attempts so far.
    #[serde(deserialize_with = "nullable")]
    pub attempt_count: u64,
    /// Whether the last attempt went through the priority queue.
    #[serde(deserialize_with = "nullable")]
    pub priority_pin: bool,
}

/// The status of a pin on every peer (`api.GlobalPinInfo`: `GET /pins[/{cid}]`, recover).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct GlobalPinInfo {
    /// The CID.
    #[serde(deserialize_with = "nullable")]
    pub cid: String,
    /// The pin's name.
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    /// Peers it is allocated to (empty: everywhere).
    #[serde(deserialize_with = "nullable")]
    pub allocations: Vec<String>,
    /// Origins given when pinning.
    #[serde(deserialize_with = "nullable")]
    pub origins: Vec<String>,
    /// When it was pinned (RFC 3339).
    #[serde(deserialize_with = "nullable")]
    pub created: String,
    /// User metadata.
    #[serde(deserialize_with = "nullable")]
    pub metadata: BTreeMap<String, String>,
    /// Status per cluster peer ID.
    #[serde(deserialize_with = "nullable")]
    pub peer_map: BTreeMap<String, PeerPinStatus>,
}

/// An item of the shared pinset (`api.Pin`: pin/unpin answers, `GET /allocations`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Pin {
    /// The CID.
    #[serde(deserialize_with = "nullable")]
    pub cid: String,
    /// `pin`, `meta-pin`, `clusterdag-pin` or `shard-pin`.
    #[serde(rename = "type", deserialize_with = "nullable")]
    pub pin_type: String,
    /// Peers it is allocated to (empty: everywhere).
    #[serde(deserialize_with = "nullable")]
    pub allocations: Vec<String>,
    /// -1: recursive, 0: direct.
    #[serde(deserialize_with = "nullable")]
    pub max_depth: i64,
    /// The CID it refers to (shards and cluster DAGs).
    pub reference: Option<String>,
    /// When it entered the pinset (RFC 3339).
    #[serde(deserialize_with = "nullable")]
    pub timestamp: String,
    /// Minimum replicas (-1: everywhere, 0: the cluster's default).
    #[serde(deserialize_with = "nullable")]
    pub replication_factor_min: i64,
    /// Maximum replicas.
    #[serde(deserialize_with = "nullable")]
    pub replication_factor_max: i64,
    /// Name.
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    /// `recursive` or `direct`.
    #[serde(deserialize_with = "nullable")]
    pub mode: String,
    /// Shard size for sharded DAGs.
    #[serde(deserialize_with = "nullable")]
    pub shard_size: u64,
    /// Allocations the user asked for.
    #[serde(deserialize_with = "nullable")]
    pub user_allocations: Vec<String>,
    /// When the pin expires (RFC 3339; `0001-01-01T00:00:00Z` = never).
    pub expire_at: Option<String>,
    /// User metadata.
    #[serde(deserialize_with = "nullable")]
    pub metadata: BTreeMap<String, String>,
    /// The pin this one updates.
    pub pin_update: Option<String>,
    /// Origins to fetch from.
    #[serde(deserialize_with = "nullable")]
    pub origins: Vec<String>,
}

/// A metric a peer broadcast (`api.Metric`: `GET /monitor/metrics/{name}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Metric {
    /// Metric name (`ping`, `freespace`, `tag:group`, …).
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    /// The peer it is about.
    #[serde(deserialize_with = "nullable")]
    pub peer: String,
    /// Its value (a string: meaning depends on the metric).
    #[serde(deserialize_with = "nullable")]
    pub value: String,
    /// Expiry, Unix nanoseconds.
    #[serde(deserialize_with = "nullable")]
    pub expire: i64,
    /// Whether it is valid.
    #[serde(deserialize_with = "nullable")]
    pub valid: bool,
    /// Sort weight used by the allocator.
    #[serde(deserialize_with = "nullable")]
    pub weight: i64,
    /// Whether the allocator partitions by it.
    #[serde(deserialize_with = "nullable")]
    pub partitionable: bool,
    /// When this peer received it, Unix nanoseconds.
    #[serde(deserialize_with = "nullable")]
    pub received_at: i64,
}

/// A metric that expired (`api.Alert`: `GET /health/alerts`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Alert {
    /// The expired metric.
    #[serde(flatten)]
    pub metric: Metric,
    /// When the alert fired (RFC 3339).
    #[serde(default, deserialize_with = "nullable")]
    pub triggered_at: String,
}

/// Who is connected to whom (`api.ConnectGraph`: `GET /health/graph`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ConnectGraph {
    /// The peer that built the graph.
    #[serde(deserialize_with = "nullable")]
    pub cluster_id: String,
    /// Peer ID → peer name.
    #[serde(deserialize_with = "nullable")]
    pub id_to_peername: BTreeMap<String, String>,
    /// IPFS peer → IPFS peers it is connected to.
    #[serde(deserialize_with = "nullable")]
    pub ipfs_links: BTreeMap<String, Vec<String>>,
    /// Cluster peer → cluster peers it is connected to.
    #[serde(deserialize_with = "nullable")]
    pub cluster_links: BTreeMap<String, Vec<String>>,
    /// Cluster peer → whether it is trusted.
    #[serde(deserialize_with = "nullable")]
    pub cluster_trust_links: BTreeMap<String, bool>,
    /// Cluster peer → its IPFS peer.
    #[serde(deserialize_with = "nullable")]
    pub cluster_to_ipfs: BTreeMap<String, String>,
}

/// What to pin with (`api.PinOptions` as query parameters). Unset fields use the cluster's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PinOptions {
    /// `replication-min` (-1: everywhere).
    pub replication_min: Option<i32>,
    /// `replication-max` (-1: everywhere).
    pub replication_max: Option<i32>,
    /// `name`.
    pub name: Option<String>,
    /// `mode`: `recursive` or `direct`.
    pub mode: Option<String>,
    /// `user-allocations`: cluster peer IDs to allocate to.
    pub user_allocations: Vec<String>,
    /// `expire-in`: a Go duration (`24h`, `1h30m`).
    pub expire_in: Option<String>,
    /// `meta-<key>=<value>` pairs.
    pub metadata: BTreeMap<String, String>,
}

impl PinOptions {
    /// The query pairs Cluster reads (`PinOptions.FromQuery`).
    pub fn to_query(&self) -> Vec<(String, String)> {
        let mut q = Vec::new();
        if let Some(v) = self.replication_min {
            q.push(("replication-min".into(), v.to_string()));
        }
        if let Some(v) = self.replication_max {
            q.push(("replication-max".into(), v.to_string()));
        }
        if let Some(v) = &self.name {
            q.push(("name".into(), v.clone()));
        }
        if let Some(v) = &self.mode {
            q.push(("mode".into(), v.clone()));
        }
        if !self.user_allocations.is_empty() {
            q.push(("user-allocations".into(), self.user_allocations.join(",")));
        }
        if let Some(v) = &self.expire_in {
            q.push(("expire-in".into(), v.clone()));
        }
        for (k, v) in &self.metadata {
            if !k.is_empty() {
                q.push((format!("meta-{k}"), v.clone()));
            }
        }
        q
    }
}

#[derive(Debug, Clone)]
enum Transport {
    Tcp,
    #[cfg_attr(not(unix), allow(dead_code))]
    Unix(std::path::PathBuf),
}

/// An IPFS Cluster REST API endpoint. Cheap to clone (one shared connection pool).
#[derive(Debug, Clone)]
pub struct ClusterClient {
    base: Url,
    addr: String,
    http: reqwest::Client,
    auth: Option<Auth>,
    timeout: Duration,
}

impl ClusterClient {
    /// A client of the API at `addr`: a multiaddr (`/ip4/127.0.0.1/tcp/9094`,
    /// `/dns4/host/tcp/9094/https`, `/unix/<socket path>`), a URL (`http://127.0.0.1:9094`) or
    /// `host:port`.
    pub fn new(addr: &str) -> Result<ClusterClient, Error> {
        match parse_address(addr)? {
            (base, Transport::Tcp) => Self::build(base.clone(), base, Transport::Tcp),
            (_, Transport::Unix(path)) => ClusterClient::unix(path),
        }
    }

    /// A client of an API listening on the unix socket at `path` (a follower's
    /// `<follow dir>/<cluster>/api-socket`).
    pub fn unix(path: impl Into<std::path::PathBuf>) -> Result<ClusterClient, Error> {
        let path = path.into();
        let shown = format!("/unix{}", path.display());
        let base = "http://localhost".to_string();
        Self::build(base, shown, Transport::Unix(path))
    }

    fn build(base: String, addr: String, transport: Transport) -> Result<ClusterClient, Error> {
        let url = Url::parse(&base).map_err(|_| Error::InvalidAddress(addr.clone()))?;
        let mut b = crate::http_client_builder().connect_timeout(Duration::from_secs(5));
        match transport {
            Transport::Tcp => b = b.tcp_nodelay(true),
            #[cfg(unix)]
            Transport::Unix(path) => b = b.unix_socket(path),
            #[cfg(not(unix))]
            Transport::Unix(_) => {
                return Err(Error::Unsupported(format!(
                    "unix-socket APIs ({addr}) need a Unix platform"
                )));
            }
        }
        let http = b.build().map_err(|e| Error::Unreachable {
            addr: addr.clone(),
            reason: e.to_string(),
        })?;
        Ok(ClusterClient {
            base: url,
            addr,
            http,
            auth: None,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Authenticate every request with HTTP Basic.
    pub fn with_basic_auth(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth = Some(Auth::Basic {
            user: user.into(),
            password: password.into(),
        });
        self
    }

    /// Authenticate every request with a bearer token (a JWT from [`ClusterClient::token`]).
    pub fn with_bearer(mut self, token: impl Into<String>) -> Self {
        self.auth = Some(Auth::Bearer(token.into()));
        self
    }

    /// Authenticate with `auth`, or not at all.
    pub fn with_auth(mut self, auth: Option<Auth>) -> Self {
        self.auth = auth;
        self
    }

    /// Give every request at most `timeout` (default [`DEFAULT_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The address requests go to (`http://127.0.0.1:9094` or `/unix/<socket>`).
    pub fn address(&self) -> &str {
        &self.addr
    }

    /// The authentication in use.
    pub fn auth(&self) -> Option<&Auth> {
        self.auth.as_ref()
    }

    /// `GET /id`: the peer answering.
    pub async fn id(&self) -> Result<ClusterPeer, Error> {
        self.json(Method::GET, &["id"], &[]).await
    }

    /// `GET /version`.
    pub async fn version(&self) -> Result<ClusterVersion, Error> {
        self.json(Method::GET, &["version"], &[]).await
    }

    /// `GET /peers`: the cluster's peers as this peer sees them, at most `limit`.
    pub async fn peers(&self, limit: usize) -> Result<Listing<ClusterPeer>, Error> {
        self.ndjson(Method::GET, &["peers"], &[], limit).await
    }

    /// `POST /pins/{cid}` or `POST /pins/{ipfs|ipns|ipld}/{path}`: add `target` to the pinset.
    pub async fn pin(&self, target: &str, opts: &PinOptions) -> Result<Pin, Error> {
        let segs = pin_target(target)?;
        let q = opts.to_query();
        let q: Vec<(&str, String)> = q.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        self.json(Method::POST, &segs, &q).await
    }

    /// `DELETE /pins/{cid}` or `DELETE /pins/{ipfs|ipns|ipld}/{path}`: remove `target` from the pinset.
    pub async fn unpin(&self, target: &str) -> Result<Pin, Error> {
        let segs = pin_target(target)?;
        self.json(Method::DELETE, &segs, &[]).await
    }

    /// `GET /pins/{cid}`: the pin's status on every peer (`local`: this peer only).
    pub async fn status(&self, cid: &str, local: bool) -> Result<GlobalPinInfo, Error> {
        let c = cid_segment(cid)?;
        self.json(Method::GET, &["pins", c], &local_query(local))
            .await
    }

    /// `GET /pins`: the status of every pin, at most `limit`; `filter` is a comma-separated list
    /// of tracker statuses (`pinned`, `pin_error`, `queued`, …).
    pub async fn status_all(
        &self,
        filter: Option<&str>,
        local: bool,
        limit: usize,
    ) -> Result<Listing<GlobalPinInfo>, Error> {
        let mut q = local_query(local);
        if let Some(f) = filter.filter(|f| !f.is_empty()) {
            q.push(("filter", f.to_string()));
        }
        self.ndjson(Method::GET, &["pins"], &q, limit).await
    }

    /// `POST /pins/{cid}/recover`: retry a pin in error on every peer (`local`: this peer only).
    pub async fn recover(&self, cid: &str, local: bool) -> Result<GlobalPinInfo, Error> {
        let c = cid_segment(cid)?;
        self.json(Method::POST, &["pins", c, "recover"], &local_query(local))
            .await
    }

    /// `POST /pins/recover`: retry every pin in error, reading at most `limit` results.
    pub async fn recover_all(
        &self,
        local: bool,
        limit: usize,
    ) -> Result<Listing<GlobalPinInfo>, Error> {
        self.ndjson(
            Method::POST,
            &["pins", "recover"],
            &local_query(local),
            limit,
        )
        .await
    }

    /// `GET /allocations`: the pinset, at most `limit`; `filter` is a comma-separated list of pin
    /// types (`pin`, `meta-pin`, `clusterdag-pin`, `shard-pin`, `all`).
    pub async fn allocations(
        &self,
        filter: Option<&str>,
        limit: usize,
    ) -> Result<Listing<Pin>, Error> {
        let f = filter.filter(|f| !f.is_empty()).unwrap_or("pin");
        self.ndjson(
            Method::GET,
            &["allocations"],
            &[("filter", f.to_string())],
            limit,
        )
        .await
    }

    /// `GET /allocations/{cid}`: one item of the pinset.
    pub async fn allocation(&self, cid: &str) -> Result<Pin, Error> {
        let c = cid_segment(cid)?;
        self.json(Method::GET, &["allocations", c], &[]).await
    }

    /// `GET /health/graph`.
    pub async fn health_graph(&self) -> Result<ConnectGraph, Error> {
        self.json(Method::GET, &["health", "graph"], &[]).await
    }

    /// `GET /health/alerts`.
    pub async fn alerts(&self) -> Result<Vec<Alert>, Error> {
        let v: Option<Vec<Alert>> = self.json(Method::GET, &["health", "alerts"], &[]).await?;
        Ok(v.unwrap_or_default())
    }

    /// `GET /monitor/metrics`: the metric names this peer knows.
    pub async fn metric_names(&self) -> Result<Vec<String>, Error> {
        let v: Option<Vec<String>> = self.json(Method::GET, &["monitor", "metrics"], &[]).await?;
        Ok(v.unwrap_or_default())
    }

    /// `GET /monitor/metrics/{name}`: the latest value of a metric from every peer.
    pub async fn metrics(&self, name: &str) -> Result<Vec<Metric>, Error> {
        if name.is_empty() {
            return Err(Error::InvalidArgument("empty metric name".into()));
        }
        let v: Option<Vec<Metric>> = self
            .json(Method::GET, &["monitor", "metrics", name], &[])
            .await?;
        Ok(v.unwrap_or_default())
    }

    /// `GET /health`: whether the API answers (it needs no credentials).
    pub async fn health(&self) -> Result<(), Error> {
        let endpoint = "GET /health";
        let resp = self.send(Method::GET, &["health"], &[], endpoint).await?;
        read_limited(resp, MAX_ERROR_BODY, endpoint, (&self.addr, self.timeout)).await?;
        Ok(())
    }

    /// `POST /token`: a JWT for the Basic-auth user this client is set up with; use it with
    /// [`ClusterClient::with_bearer`].
    pub async fn token(&self) -> Result<String, Error> {
        #[derive(Deserialize)]
        struct Token {
            token: String,
        }
        let t: Token = self.json(Method::POST, &["token"], &[]).await?;
        if t.token.is_empty() {
            return Err(Error::Decode {
                endpoint: "POST /token".into(),
                reason: "empty token".into(),
            });
        }
        Ok(t.token)
    }

    fn url(&self, segs: &[&str]) -> Result<Url, Error> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| Error::InvalidAddress(self.addr.clone()))?
            .pop_if_empty()
            .extend(segs);
        Ok(url)
    }

    async fn send(
        &self,
        method: Method,
        segs: &[&str],
        query: &[(&str, String)],
        endpoint: &str,
    ) -> Result<reqwest::Response, Error> {
        let mut rb = self
            .http
            .request(method, self.url(segs)?)
            .timeout(self.timeout);
        if !query.is_empty() {
            rb = rb.query(query);
        }
        rb = match &self.auth {
            Some(Auth::Basic { user, password }) => rb.basic_auth(user, Some(password)),
            Some(Auth::Bearer(t)) => rb.bearer_auth(t),
            None => rb,
        };
        let resp = rb.send().await.map_err(|e| self.transport(endpoint, e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let body = read_limited(resp, MAX_ERROR_BODY, endpoint, (&self.addr, self.timeout))
            .await
            .unwrap_or_default();
        let message = error_message(&body, status);
        if status == StatusCode::UNAUTHORIZED {
            return Err(Error::Unauthorized {
                addr: self.addr.clone(),
                message,
            });
        }
        Err(Error::Api {
            endpoint: endpoint.to_string(),
            status: status.as_u16(),
            message,
        })
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        segs: &[&str],
        query: &[(&str, String)],
    ) -> Result<T, Error> {
        let endpoint = endpoint_name(&method, segs);
        let resp = self.send(method, segs, query, &endpoint).await?;
        let body = read_limited(resp, MAX_ANSWER, &endpoint, (&self.addr, self.timeout)).await?;
        serde_json::from_slice(&body).map_err(|e| Error::Decode {
            endpoint,
            reason: e.to_string(),
        })
    }

    async fn ndjson<T: DeserializeOwned>(
        &self,
        method: Method,
        segs: &[&str],
        query: &[(&str, String)],
        limit: usize,
    ) -> Result<Listing<T>, Error> {
        let endpoint = endpoint_name(&method, segs);
        let mut resp = self.send(method, segs, query, &endpoint).await?;
        let mut items = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut done = false;
        loop {
            while let Some(pos) = buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = buf.drain(..=pos).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                if items.len() == limit {
                    return Ok(Listing {
                        items,
                        truncated: true,
                    });
                }
                items.push(decode_line(&line, &endpoint)?);
            }
            if done {
                if !buf.iter().all(u8::is_ascii_whitespace) {
                    if items.len() == limit {
                        return Ok(Listing {
                            items,
                            truncated: true,
                        });
                    }
                    items.push(decode_line(&buf, &endpoint)?);
                }
                return Ok(Listing {
                    items,
                    truncated: false,
                });
            }
            if buf.len() > MAX_LINE {
                return Err(Error::TooLarge {
                    endpoint,
                    limit: MAX_LINE,
                });
            }
            match resp
                .chunk()
                .await
                .map_err(|e| broke_off(&self.addr, &endpoint, self.timeout, e))?
            {
                Some(c) => buf.extend_from_slice(&c),
                None => done = true,
            }
        }
    }

    fn transport(&self, endpoint: &str, e: reqwest::Error) -> Error {
        if e.is_timeout() {
            Error::Timeout {
                addr: self.addr.clone(),
                endpoint: endpoint.to_string(),
                secs: self.timeout.as_secs(),
            }
        } else if e.is_decode() || e.is_body() {
            Error::Decode {
                endpoint: endpoint.to_string(),
                reason: e.to_string(),
            }
        } else {
            Error::Unreachable {
                addr: self.addr.clone(),
                reason: error_chain(&e),
            }
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    let mut n = 0;
    while let Some(inner) = src {
        let t = inner.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = inner.source();
        n += 1;
        if n > 8 {
            break;
        }
    }
    s
}

fn broke_off(addr: &str, endpoint: &str, timeout: Duration, e: reqwest::Error) -> Error {
    if e.is_timeout() {
        Error::Timeout {
            addr: addr.to_string(),
            endpoint: endpoint.to_string(),
            secs: timeout.as_secs(),
        }
    } else {
        Error::Unreachable {
            addr: addr.to_string(),
            reason: format!("the {endpoint} answer broke off: {}", error_chain(&e)),
        }
    }
}

fn decode_line<T: DeserializeOwned>(line: &[u8], endpoint: &str) -> Result<T, Error> {
    serde_json::from_slice(line).map_err(|e| Error::Decode {
        endpoint: endpoint.to_string(),
        reason: e.to_string(),
    })
}

async fn read_limited(
    mut resp: reqwest::Response,
    limit: usize,
    endpoint: &str,
    (addr, timeout): (&str, Duration),
) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    while let Some(c) = resp
        .chunk()
        .await
        .map_err(|e| broke_off(addr, endpoint, timeout, e))?
    {
        if out.len() + c.len() > limit {
            return Err(Error::TooLarge {
                endpoint: endpoint.to_string(),
                limit,
            });
        }
        out.extend_from_slice(&c);
    }
    Ok(out)
}

/// Cluster's error body is `{"code":N,"message":"…"}`; anything else is shown trimmed.
fn error_message(body: &[u8], status: StatusCode) -> String {
    #[derive(Deserialize)]
    struct ApiError {
        message: String,
    }
    if let Ok(e) = serde_json::from_slice::<ApiError>(body)
        && !e.message.is_empty()
    {
        return e.message;
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("no message")
            .to_lowercase()
    } else {
        text.chars().take(500).collect()
    }
}

fn endpoint_name(method: &Method, segs: &[&str]) -> String {
    format!("{method} /{}", segs.join("/"))
}

fn local_query(local: bool) -> Vec<(&'static str, String)> {
    if local {
        vec![("local", "true".to_string())]
    } else {
        Vec::new()
    }
}

fn cid_segment(cid: &str) -> Result<&str, Error> {
    let c = cid.trim();
    if c.is_empty() || !c.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::InvalidArgument(format!("{cid:?} is not a CID")));
    }
    Ok(c)
}

/// `["pins", <cid>]` or `["pins", "ipfs", <path segments>…]`.
fn pin_target(target: &str) -> Result<Vec<&str>, Error> {
    let t = target.trim();
    for ns in ["ipfs", "ipns", "ipld"] {
        if let Some(rest) = t
            .strip_prefix('/')
            .and_then(|r| r.strip_prefix(ns))
            .and_then(|r| r.strip_prefix('/'))
        {
            let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
            if segs.is_empty() || segs.iter().any(|s| *s == "." || *s == "..") {
                return Err(Error::InvalidArgument(format!("bad path {target:?}")));
            }
            let mut out = vec!["pins", ns];
            out.extend(segs);
            return Ok(out);
        }
    }
    if t.starts_with('/') {
        return Err(Error::InvalidArgument(format!(
            "{target:?}: a path must start with /ipfs/, /ipns/ or /ipld/"
        )));
    }
    Ok(vec!["pins", cid_segment(t)?])
}

/// The base URL and transport for a multiaddr, URL or `host:port`.
fn parse_address(addr: &str) -> Result<(String, Transport), Error> {
    let a = addr.trim();
    if let Some(path) = a.strip_prefix("/unix") {
        if !path.starts_with('/') || path.len() < 2 {
            return Err(Error::InvalidAddress(addr.to_string()));
        }
        return Ok((String::new(), Transport::Unix(path.into())));
    }
    crate::kubo::base_url(a)
        .map(|base| (base, Transport::Tcp))
        .map_err(|_| Error::InvalidAddress(addr.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let tcp = |a: &str| match parse_address(a).unwrap() {
            (b, Transport::Tcp) => b,
            (_, Transport::Unix(p)) => panic!("unix {p:?}"),
        };
        assert_eq!(tcp(DEFAULT_API), "http://127.0.0.1:9094");
        assert_eq!(tcp("/ip6/::1/tcp/9094"), "http://[::1]:9094");
        assert_eq!(
            tcp("/dns4/cluster.example/tcp/443/https"),
            "https://cluster.example:443"
        );
        assert_eq!(tcp("http://localhost:9094/"), "http://localhost:9094");
        assert_eq!(tcp("localhost:9094"), "http://localhost:9094");
        match parse_address("/unix/home/u/.ipfs-cluster-follow/c/api-socket").unwrap() {
            (_, Transport::Unix(p)) => {
                assert_eq!(
                    p,
                    std::path::Path::new("/home/u/.ipfs-cluster-follow/c/api-socket")
                )
            }
            _ => panic!("not unix"),
        }
        for bad in [
            "",
            "/unix",
            "/unix/",
            "/ip4/1.2.3/tcp/9094",
            "/ip4/127.0.0.1/udp/9094",
            "host",
            "http://",
            "/ip4/127.0.0.1/tcp/99999",
        ] {
            assert!(parse_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pin_targets() {
        assert_eq!(pin_target("QmX").unwrap(), ["pins", "QmX"]);
        assert_eq!(
            pin_target("/ipns/example.org/a b").unwrap(),
            ["pins", "ipns", "example.org", "a b"]
        );
        for bad in ["", "/ipfs/", "/x/y", "Qm/x", "/ipfs/a/../b", "a b"] {
            assert!(pin_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pin_options_query() {
        let o = PinOptions {
            replication_min: Some(2),
            replication_max: Some(3),
            name: Some("n".into()),
            mode: Some("direct".into()),
            user_allocations: vec!["12D3a".into(), "12D3b".into()],
            expire_in: Some("24h".into()),
            metadata: [("kind".to_string(), "text".to_string())].into(),
        };
        let q = o.to_query();
        assert!(q.contains(&("user-allocations".into(), "12D3a,12D3b".into())));
        assert!(q.contains(&("meta-kind".into(), "text".into())));
        assert_eq!(PinOptions::default().to_query(), Vec::new());
    }

    #[test]
    fn auth_debug_hides_secrets() {
        let a = Auth::Basic {
            user: "u".into(),
            password: "p4ss".into(),
        };
        assert!(!format!("{a:?}").contains("p4ss"));
        assert!(!format!("{:?}", Auth::Bearer("tok".into())).contains("tok"));
    }
}
