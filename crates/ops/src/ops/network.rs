//! Operations that need a networked node: swarm peers, DHT/routing queries and pubsub. They run on
//! an external Kubo (`--api`); the embedded node has no swarm and answers `DAEMON_UNAVAILABLE`.
//! Also a bounded reader of Kubo's streamed (ndjson) answers.

use std::time::Duration;

use base64::Engine;
use ipfs_kit_clients::KuboClient;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::remote::err as kubo_err;
use crate::{ErrorCode, Kit, OpContext, OpError, OpMeta, Operation, Toolset};

/// Most events read from one streamed answer.
const MAX_EVENTS: usize = 10_000;

/// The error of a network-only operation on the embedded node.
pub(crate) fn needs_network(what: &str) -> OpError {
    OpError::new(
        ErrorCode::DaemonUnavailable,
        format!(
            "{what} needs a networked node: the embedded node has no swarm; run with --api pointing at \
             a Kubo daemon (e.g. --api /ip4/127.0.0.1/tcp/5001)"
        ),
    )
    .with("needs", "networked node")
}

/// The Kubo client, or the network-only error.
fn networked<'a>(kit: &'a Kit, what: &str) -> Result<&'a KuboClient, OpError> {
    kit.kubo().ok_or_else(|| needs_network(what))
}

/// Call a streaming (ndjson) command and collect at most `max` objects, stopping at `deadline`
/// (`None`: until the daemon ends the answer). Returns the objects and whether time ran out.
pub(crate) async fn ndjson(
    client: &KuboClient,
    command: &str,
    query: &[(&str, String)],
    max: usize,
    deadline: Option<Duration>,
    cx: &OpContext,
) -> Result<(Vec<Value>, bool), OpError> {
    let max = max.min(MAX_EVENTS);
    let until = deadline.map(|d| tokio::time::Instant::now() + d);
    let call = client.ndjson(command, query);
    let mut stream = match until {
        Some(t) => match tokio::time::timeout_at(t, call).await {
            Ok(r) => r,
            Err(_) => return Ok((Vec::new(), true)),
        },
        None => call.await,
    }
    .map_err(|e| kubo_err(client, e))?;
    let mut out = Vec::new();
    while out.len() < max {
        cx.check()?;
        let next = match until {
            Some(t) => match tokio::time::timeout_at(t, stream.next::<Value>()).await {
                Ok(r) => r,
                Err(_) => return Ok((out, true)),
            },
            None => stream.next::<Value>().await,
        };
        match next.map_err(|e| kubo_err(client, e))? {
            // An empty object is a keep-alive (js-ipfs opens `pubsub/sub` with `{}`), not an event.
            Some(v) if v.as_object().is_some_and(|o| o.is_empty()) => {}
            Some(v) => out.push(v),
            None => break,
        }
    }
    Ok((out, false))
}

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

fn s(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `ipfs_swarm_peers`.
#[derive(Debug, Clone, Copy)]
pub struct SwarmPeers;

/// Input of `ipfs_swarm_peers`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwarmPeersInput {
    /// Also report latency, multiplexer and direction.
    #[serde(default)]
    pub verbose: bool,
}

/// One connected peer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SwarmPeer {
    /// Its peer ID.
    pub peer: String,
    /// The address of the connection.
    pub addr: String,
    /// Round-trip latency (verbose).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<String>,
    /// Stream multiplexer (verbose).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub muxer: Option<String>,
    /// Connection direction: 1 inbound, 2 outbound (verbose).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<i64>,
}

/// Output of `ipfs_swarm_peers`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SwarmPeersOutput {
    /// Connected peers.
    pub peers: Vec<SwarmPeer>,
}

impl Operation for SwarmPeers {
    const NAME: &'static str = "ipfs_swarm_peers";
    type Input = SwarmPeersInput;
    type Output = SwarmPeersOutput;

    fn meta(&self) -> OpMeta {
        meta(
            "Connected peers",
            "List the peers the node has open connections to (networked node only).",
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: SwarmPeersInput,
        _cx: &OpContext,
    ) -> Result<SwarmPeersOutput, OpError> {
        let k = networked(kit, "listing swarm peers")?;
        let mut q = Vec::new();
        if input.verbose {
            q.push(("verbose", "true".to_string()));
        }
        let v: Value = k
            .json("swarm/peers", &q)
            .await
            .map_err(|e| kubo_err(k, e))?;
        let peers = v
            .get("Peers")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|p| SwarmPeer {
                        peer: s(p, "Peer"),
                        addr: s(p, "Addr"),
                        latency: p
                            .get("Latency")
                            .and_then(Value::as_str)
                            .filter(|l| !l.is_empty())
                            .map(str::to_string),
                        muxer: p
                            .get("Muxer")
                            .and_then(Value::as_str)
                            .filter(|l| !l.is_empty())
                            .map(str::to_string),
                        direction: p
                            .get("Direction")
                            .and_then(Value::as_i64)
                            .filter(|d| *d != 0),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(SwarmPeersOutput { peers })
    }
}

/// A peer and its addresses, as routing answers carry them.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PeerAddrs {
    /// The peer ID.
    pub id: String,
    /// Its multiaddresses.
    pub addrs: Vec<String>,
}

/// Routing event types of Kubo's `routing/*` and `dht/query` answers.
const EVENT_FINAL_PEER: i64 = 2;
const EVENT_PROVIDER: i64 = 4;

fn responses(ev: &Value) -> Vec<PeerAddrs> {
    ev.get("Responses")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|r| PeerAddrs {
                    id: s(r, "ID"),
                    addrs: strings(r.get("Addrs")),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Default and most seconds a routing query may take.
const DEFAULT_QUERY_SECONDS: u64 = 60;
const MAX_QUERY_SECONDS: u64 = 600;

fn query_timeout(seconds: Option<u64>) -> Duration {
    Duration::from_secs(
        seconds
            .unwrap_or(DEFAULT_QUERY_SECONDS)
            .clamp(1, MAX_QUERY_SECONDS),
    )
}

/// `ipfs_dht_findpeer`.
#[derive(Debug, Clone, Copy)]
pub struct DhtFindPeer;

/// Input of `ipfs_dht_findpeer`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DhtFindPeerInput {
    /// The peer ID to look up.
    pub peer_id: String,
    /// Give up after this many seconds (default 60, at most 600).
    pub timeout_seconds: Option<u64>,
}

/// Output of `ipfs_dht_findpeer`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DhtFindPeerOutput {
    /// The peer ID.
    pub id: String,
    /// Its known multiaddresses.
    pub addrs: Vec<String>,
}

impl Operation for DhtFindPeer {
    const NAME: &'static str = "ipfs_dht_findpeer";
    type Input = DhtFindPeerInput;
    type Output = DhtFindPeerOutput;

    fn meta(&self) -> OpMeta {
        meta(
            "Find a peer",
            "Find the multiaddresses of a peer through the routing system (Kubo routing/findpeer; \
             networked node only).",
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: DhtFindPeerInput,
        cx: &OpContext,
    ) -> Result<DhtFindPeerOutput, OpError> {
        let k = networked(kit, "finding a peer")?;
        crate::keystore::parse_peer_id(&input.peer_id).map_err(|e| e.with("field", "peer_id"))?;
        let (events, _) = ndjson(
            k,
            "routing/findpeer",
            &[("arg", input.peer_id.clone())],
            MAX_EVENTS,
            Some(query_timeout(input.timeout_seconds)),
            cx,
        )
        .await?;
        let found = events
            .iter()
            .filter(|e| e.get("Type").and_then(Value::as_i64) == Some(EVENT_FINAL_PEER))
            .flat_map(responses)
            .next()
            .ok_or_else(|| {
                OpError::new(
                    ErrorCode::NotFound,
                    format!("peer {} not found by the routing system", input.peer_id),
                )
                .with("peer_id", input.peer_id.clone())
            })?;
        Ok(DhtFindPeerOutput {
            id: found.id,
            addrs: found.addrs,
        })
    }
}

/// `ipfs_dht_findprovs`.
#[derive(Debug, Clone, Copy)]
pub struct DhtFindProvs;

/// Input of `ipfs_dht_findprovs`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DhtFindProvsInput {
    /// The CID whose providers are wanted.
    pub cid: String,
    /// Most providers to find (default 20, as Kubo).
    pub num_providers: Option<u32>,
    /// Give up after this many seconds (default 60, at most 600).
    pub timeout_seconds: Option<u64>,
}

/// Output of `ipfs_dht_findprovs`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DhtFindProvsOutput {
    /// Providers found.
    pub providers: Vec<PeerAddrs>,
    /// Whether the time ran out before the search ended.
    pub timed_out: bool,
}

impl Operation for DhtFindProvs {
    const NAME: &'static str = "ipfs_dht_findprovs";
    type Input = DhtFindProvsInput;
    type Output = DhtFindProvsOutput;

    fn meta(&self) -> OpMeta {
        meta(
            "Find providers",
            "Find peers that provide a CID through the routing system (Kubo routing/findprovs; \
             networked node only).",
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: DhtFindProvsInput,
        cx: &OpContext,
    ) -> Result<DhtFindProvsOutput, OpError> {
        let k = networked(kit, "finding providers")?;
        super::cid_arg("cid", &input.cid)?;
        let n = input.num_providers.unwrap_or(20).clamp(1, 1000);
        let (events, timed_out) = ndjson(
            k,
            "routing/findprovs",
            &[("arg", input.cid.clone()), ("num-providers", n.to_string())],
            MAX_EVENTS,
            Some(query_timeout(input.timeout_seconds)),
            cx,
        )
        .await?;
        let mut providers: Vec<PeerAddrs> = events
            .iter()
            .filter(|e| e.get("Type").and_then(Value::as_i64) == Some(EVENT_PROVIDER))
            .flat_map(responses)
            .collect();
        providers.truncate(n as usize);
        Ok(DhtFindProvsOutput {
            providers,
            timed_out,
        })
    }
}

/// `ipfs_dht_query`.
#[derive(Debug, Clone, Copy)]
pub struct DhtQuery;

/// Input of `ipfs_dht_query`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DhtQueryInput {
    /// The peer ID whose closest peers are wanted.
    pub peer_id: String,
    /// Give up after this many seconds (default 60, at most 600).
    pub timeout_seconds: Option<u64>,
}

/// Output of `ipfs_dht_query`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DhtQueryOutput {
    /// The closest peers found.
    pub peers: Vec<String>,
    /// Whether the time ran out before the query ended.
    pub timed_out: bool,
}

impl Operation for DhtQuery {
    const NAME: &'static str = "ipfs_dht_query";
    type Input = DhtQueryInput;
    type Output = DhtQueryOutput;

    fn meta(&self) -> OpMeta {
        meta(
            "Closest peers",
            "Find the peers closest to a peer ID by querying the DHT (Kubo dht/query; networked node only).",
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: DhtQueryInput,
        cx: &OpContext,
    ) -> Result<DhtQueryOutput, OpError> {
        let k = networked(kit, "querying the DHT")?;
        crate::keystore::parse_peer_id(&input.peer_id).map_err(|e| e.with("field", "peer_id"))?;
        let (events, timed_out) = ndjson(
            k,
            "dht/query",
            &[("arg", input.peer_id.clone())],
            MAX_EVENTS,
            Some(query_timeout(input.timeout_seconds)),
            cx,
        )
        .await?;
        let mut peers: Vec<String> = events
            .iter()
            .filter(|e| e.get("Type").and_then(Value::as_i64) == Some(EVENT_FINAL_PEER))
            .map(|e| s(e, "ID"))
            .filter(|id| !id.is_empty())
            .collect();
        peers.dedup();
        Ok(DhtQueryOutput { peers, timed_out })
    }
}

/// Kubo's multibase form of a pubsub topic: `u` + unpadded base64url of its bytes.
pub fn topic_multibase(topic: &str) -> String {
    format!(
        "u{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(topic.as_bytes())
    )
}

/// Decode a multibase string Kubo's pubsub answers carry (`u…` base64url, or any multibase).
fn multibase_bytes(s: &str) -> Option<Vec<u8>> {
    multibase::decode(s).ok().map(|(_, b)| b)
}

/// Largest pubsub message published (Kubo's default pubsub message limit is 1 MiB).
const MAX_PUBSUB_MESSAGE: usize = 1024 * 1024;

/// `ipfs_pubsub_publish`.
#[derive(Debug, Clone, Copy)]
pub struct PubsubPublish;

/// Input of `ipfs_pubsub_publish`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PubsubPublishInput {
    /// The topic (plain text; sent multibase-encoded as Kubo requires).
    pub topic: String,
    /// The message as UTF-8 text.
    pub data: Option<String>,
    /// The message, base64-encoded.
    pub data_base64: Option<String>,
}

/// Output of `ipfs_pubsub_publish`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PubsubPublishOutput {
    /// The topic.
    pub topic: String,
    /// Bytes published.
    pub size: u64,
}

impl Operation for PubsubPublish {
    const NAME: &'static str = "ipfs_pubsub_publish";
    type Input = PubsubPublishInput;
    type Output = PubsubPublishOutput;

    fn meta(&self) -> OpMeta {
        meta(
            "Publish to a topic",
            "Publish a message to a pubsub topic (Kubo pubsub/pub; networked node with pubsub enabled).",
            false,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: PubsubPublishInput,
        _cx: &OpContext,
    ) -> Result<PubsubPublishOutput, OpError> {
        let k = networked(kit, "publishing to pubsub")?;
        if input.topic.is_empty() {
            return Err(OpError::invalid("empty topic").with("field", "topic"));
        }
        let data = match (input.data, input.data_base64) {
            (Some(t), None) => t.into_bytes(),
            (None, Some(b)) => base64::engine::general_purpose::STANDARD
                .decode(b.as_bytes())
                .map_err(|e| OpError::invalid(format!("data_base64 is not base64: {e}")))?,
            _ => return Err(OpError::invalid("give exactly one of data or data_base64")),
        };
        if data.len() > MAX_PUBSUB_MESSAGE {
            return Err(OpError::invalid(format!(
                "{} bytes is over the {MAX_PUBSUB_MESSAGE}-byte pubsub message limit",
                data.len()
            )));
        }
        let size = data.len() as u64;
        // A typed part, as Kubo's own client sends: js-ipfs refuses a part without Content-Type.
        let part = reqwest::multipart::Part::bytes(data)
            .file_name("data")
            .mime_str("application/octet-stream")
            .map_err(|e| OpError::new(ErrorCode::Internal, e.to_string()))?;
        let form = reqwest::multipart::Form::new().part("file", part);
        let rb = k
            .request("pubsub/pub", &[("arg", topic_multibase(&input.topic))])
            .multipart(form);
        k.send("pubsub/pub", rb).await.map_err(|e| kubo_err(k, e))?;
        Ok(PubsubPublishOutput {
            topic: input.topic,
            size,
        })
    }
}

/// `ipfs_pubsub_subscribe`.
#[derive(Debug, Clone, Copy)]
pub struct PubsubSubscribe;

/// Input of `ipfs_pubsub_subscribe`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PubsubSubscribeInput {
    /// The topic (plain text).
    pub topic: String,
    /// Stop after this many messages (default 10, at most 1000).
    pub max_messages: Option<usize>,
    /// Stop after this many seconds (default 10, at most 300).
    pub timeout_seconds: Option<u64>,
}

/// One pubsub message.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PubsubMessage {
    /// Sender's peer ID.
    pub from: String,
    /// The payload, base64.
    pub data_base64: String,
    /// The payload as text, when it is UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Sequence number, hex.
    pub seqno: String,
    /// Topics it was sent on.
    pub topics: Vec<String>,
}

/// Output of `ipfs_pubsub_subscribe`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PubsubSubscribeOutput {
    /// Messages received while subscribed.
    pub messages: Vec<PubsubMessage>,
    /// Whether the time ran out before `max_messages` arrived.
    pub timed_out: bool,
}

impl Operation for PubsubSubscribe {
    const NAME: &'static str = "ipfs_pubsub_subscribe";
    type Input = PubsubSubscribeInput;
    type Output = PubsubSubscribeOutput;

    fn meta(&self) -> OpMeta {
        meta(
            "Read a topic",
            "Subscribe to a pubsub topic and collect messages until max_messages arrive or \
             timeout_seconds pass, then unsubscribe (Kubo pubsub/sub; networked node only).",
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: PubsubSubscribeInput,
        cx: &OpContext,
    ) -> Result<PubsubSubscribeOutput, OpError> {
        let k = networked(kit, "subscribing to pubsub")?;
        if input.topic.is_empty() {
            return Err(OpError::invalid("empty topic").with("field", "topic"));
        }
        let max = input.max_messages.unwrap_or(10).clamp(1, 1000);
        let secs = input.timeout_seconds.unwrap_or(10).clamp(1, 300);
        let (events, timed_out) = ndjson(
            k,
            "pubsub/sub",
            &[("arg", topic_multibase(&input.topic))],
            max,
            Some(Duration::from_secs(secs)),
            cx,
        )
        .await?;
        let b64 = base64::engine::general_purpose::STANDARD;
        let messages = events
            .iter()
            .map(|m| {
                let data = multibase_bytes(&s(m, "data")).unwrap_or_default();
                let seqno = multibase_bytes(&s(m, "seqno")).unwrap_or_default();
                PubsubMessage {
                    from: s(m, "from"),
                    data_base64: b64.encode(&data),
                    data: String::from_utf8(data).ok(),
                    seqno: seqno.iter().map(|b| format!("{b:02x}")).collect(),
                    topics: strings(m.get("topicIDs"))
                        .iter()
                        .map(|t| {
                            multibase_bytes(t)
                                .and_then(|b| String::from_utf8(b).ok())
                                .unwrap_or_else(|| t.clone())
                        })
                        .collect(),
                }
            })
            .collect();
        Ok(PubsubSubscribeOutput {
            messages,
            timed_out,
        })
    }
}

/// `ipfs_pubsub_peers`.
#[derive(Debug, Clone, Copy)]
pub struct PubsubPeers;

/// Input of `ipfs_pubsub_peers`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PubsubPeersInput {
    /// Only peers on this topic (plain text); all pubsub peers when absent.
    pub topic: Option<String>,
}

/// Output of `ipfs_pubsub_peers`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PubsubPeersOutput {
    /// Peer IDs.
    pub peers: Vec<String>,
}

impl Operation for PubsubPeers {
    const NAME: &'static str = "ipfs_pubsub_peers";
    type Input = PubsubPeersInput;
    type Output = PubsubPeersOutput;

    fn meta(&self) -> OpMeta {
        meta(
            "Pubsub peers",
            "List the peers the node is pubsubbing with, optionally on one topic (Kubo pubsub/peers; \
             networked node only).",
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: PubsubPeersInput,
        _cx: &OpContext,
    ) -> Result<PubsubPeersOutput, OpError> {
        let k = networked(kit, "listing pubsub peers")?;
        let q: Vec<(&str, String)> = input
            .topic
            .iter()
            .map(|t| ("arg", topic_multibase(t)))
            .collect();
        let v: Value = k
            .json("pubsub/peers", &q)
            .await
            .map_err(|e| kubo_err(k, e))?;
        Ok(PubsubPeersOutput {
            peers: strings(v.get("Strings")),
        })
    }
}
