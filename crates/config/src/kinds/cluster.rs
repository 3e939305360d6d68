//! IPFS Cluster service and follower: `service.json` + `identity.json`, one document
//! `{"service": <service.json>, "identity": {"id", "private_key"}}`.

use std::path::Path;

use serde_json::{Value, json};

use crate::doc;
use crate::error::{Error, Problem, ProblemCode, Result};
use crate::identity::{Identity, check_identity, generate_cluster_secret, is_valid_cluster_secret};
use crate::kinds::{check_maddr, check_maddrs, check_url, is_go_duration, json_bytes};
use crate::maddr;

/// Secret values of a cluster document.
pub const SECRETS: &[&str] = &[
    "identity.private_key",
    "service.cluster.secret",
    "service.api.restapi.basic_auth_credentials.*",
    "service.api.pinsvcapi.basic_auth_credentials.*",
];

// The default service.json ipfs-cluster v1.1.0 publishes (reference/ipfs-cluster/service.default-v1.1.0.json);
// peername and secret are replaced on creation.
const TEMPLATE: &str = include_str!("../../assets/cluster-service-default.json");

/// Ports a follower on the same host as a cluster service starts from (upstream's 9094..=9097 are the service's).
pub const FOLLOWER_SWARM_PORT: u16 = 9196;

const TOP_KEYS: &[&str] = &[
    "source",
    "cluster",
    "consensus",
    "api",
    "ipfs_connector",
    "state",
    "pin_tracker",
    "monitor",
    "allocator",
    "informer",
    "observations",
    "datastore",
];

/// The published default `service.json` (template secret and peername).
pub fn service_template() -> Result<Value> {
    serde_json::from_str(TEMPLATE).map_err(|e| Error::Unsupported(format!("cluster template: {e}")))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "ipfs-kit-peer".to_string())
}

fn identity_json() -> Result<Value> {
    let id = Identity::generate()?;
    Ok(json!({ "id": id.peer_id, "private_key": id.private_key }))
}

/// `ipfs-cluster-service init` defaults: fresh identity, fresh secret, peername = host name.
pub fn service_defaults() -> Result<Value> {
    let mut s = service_template()?;
    s["cluster"]["peername"] = json!(hostname());
    s["cluster"]["secret"] = json!(generate_cluster_secret()?);
    Ok(json!({ "service": s, "identity": identity_json()? }))
}

/// A full follower config for `cluster` living in `dir`: follower mode, REST API on the unix socket the follower
/// uses, no proxy or pinning-service API, swarm on [`FOLLOWER_SWARM_PORT`], nobody trusted until a leader is set.
pub fn follow_defaults(cluster: &str, dir: &Path) -> Result<Value> {
    let mut s = service_template()?;
    let c = &mut s["cluster"];
    c["peername"] = json!(hostname());
    c["secret"] = json!("");
    c["follower_mode"] = json!(true);
    c["listen_multiaddress"] = json!([
        format!("/ip4/0.0.0.0/tcp/{FOLLOWER_SWARM_PORT}"),
        format!("/ip4/0.0.0.0/udp/{FOLLOWER_SWARM_PORT}/quic")
    ]);
    s["consensus"]["crdt"]["cluster_name"] = json!(cluster);
    s["consensus"]["crdt"]["trusted_peers"] = json!([]);
    if let Some(api) = s["api"].as_object_mut() {
        api.remove("ipfsproxy");
        api.remove("pinsvcapi");
    }
    s["api"]["restapi"]["http_listen_multiaddress"] =
        json!(format!("/unix{}", dir.join("api-socket").display()));
    Ok(json!({ "service": s, "identity": identity_json()? }))
}

/// `service.json` and `identity.json` bytes.
pub fn render(doc: &Value) -> Result<Vec<(&'static str, Vec<u8>)>> {
    Ok(vec![
        ("identity", json_bytes(&doc["identity"])?),
        ("service", json_bytes(&doc["service"])?),
    ])
}

fn validate_identity(doc: &Value, p: &mut Vec<Problem>) {
    let id = &doc["identity"];
    match (
        id.get("id").and_then(Value::as_str),
        id.get("private_key").and_then(Value::as_str),
    ) {
        (Some(i), Some(k)) => {
            if let Err(e) = check_identity(i, k) {
                p.push(Problem::new("identity.id", ProblemCode::BadPeerId, e));
            }
        }
        _ => p.push(Problem::new(
            "identity",
            ProblemCode::Missing,
            "identity needs string id and private_key",
        )),
    }
    if let Some(m) = id.as_object() {
        for k in m.keys().filter(|k| *k != "id" && *k != "private_key") {
            p.push(Problem::new(
                format!("identity.{k}"),
                ProblemCode::UnknownKey,
                format!("unknown key {k:?}"),
            ));
        }
    }
}

fn check_durations(v: &Value, p: &mut Vec<Problem>) {
    let mut stack = vec![("service".to_string(), v)];
    while let Some((path, v)) = stack.pop() {
        if let Value::Object(m) = v {
            for (k, c) in m {
                let cp = format!("{path}.{k}");
                let is_dur = [
                    "_timeout",
                    "_interval",
                    "_age",
                    "_delay",
                    "_ttl",
                    "grace_period",
                ]
                .iter()
                .any(|s| k.ends_with(s));
                match c {
                    Value::String(s) if is_dur && !is_go_duration(s) => p.push(Problem::new(
                        cp,
                        ProblemCode::BadValue,
                        format!("{s:?} is not a duration like \"30s\""),
                    )),
                    Value::Object(_) => stack.push((cp, c)),
                    _ => {}
                }
            }
        }
    }
}

fn validate_full_service(s: &Value, p: &mut Vec<Problem>) {
    let Ok(skeleton) = service_template() else {
        p.push(Problem::new(
            "",
            ProblemCode::BadValue,
            "built-in cluster template does not parse",
        ));
        return;
    };
    let mut sub = Vec::new();
    doc::typecheck(
        s,
        &skeleton,
        &[
            "cluster.listen_multiaddress",
            "api.restapi.http_listen_multiaddress",
            "api.pinsvcapi.http_listen_multiaddress",
        ],
        false,
        &mut sub,
    );
    if let Some(m) = s.as_object() {
        for k in m.keys().filter(|k| !TOP_KEYS.contains(&k.as_str())) {
            sub.push(Problem::new(
                k.clone(),
                ProblemCode::UnknownKey,
                format!("unknown section {k:?}"),
            ));
        }
    }
    for q in &mut sub {
        q.path = format!("service.{}", q.path);
    }
    p.extend(sub);
    let c = &s["cluster"];
    if !c.is_object() {
        p.push(Problem::new(
            "service.cluster",
            ProblemCode::Missing,
            "no cluster section",
        ));
        return;
    }
    if let Some(secret) = c.get("secret") {
        match secret.as_str() {
            Some(x) if is_valid_cluster_secret(x) => {}
            _ => p.push(Problem::new(
                "service.cluster.secret",
                ProblemCode::BadSecret,
                "secret must be 64 hex characters (or empty)",
            )),
        }
    }
    if let Some(v) = c.get("listen_multiaddress") {
        check_maddrs("service.cluster.listen_multiaddress", v, false, false, p);
    }
    for key in ["announce_multiaddress", "no_announce_multiaddress"] {
        if let Some(v) = c.get(key) {
            check_maddrs(&format!("service.cluster.{key}"), v, false, false, p);
        }
    }
    if let Some(list) = c.get("peer_addresses").and_then(Value::as_array) {
        for (i, m) in list.iter().enumerate() {
            check_maddr(&format!("service.cluster.peer_addresses.{i}"), m, true, p);
        }
    }
    let min = c.get("replication_factor_min").and_then(Value::as_i64);
    let max = c.get("replication_factor_max").and_then(Value::as_i64);
    if let (Some(min), Some(max)) = (min, max) {
        // the rules of ipfs-cluster's cluster_config.go: -1 means "everywhere", 0 is not allowed
        let msg = if min == 0 || max == 0 {
            Some("replication factors cannot be 0")
        } else if min < -1 || max < -1 {
            Some("replication factors must be -1 or positive")
        } else if min == -1 && max != -1 {
            Some("replication_factor_min is -1 (everywhere) but replication_factor_max is not")
        } else if max != -1 && min > max {
            Some("replication_factor_min is greater than replication_factor_max")
        } else {
            None
        };
        if let Some(m) = msg {
            p.push(Problem::new(
                "service.cluster.replication_factor_min",
                ProblemCode::Replication,
                m,
            ));
        }
    }
    if let Some(cons) = s.get("consensus").and_then(Value::as_object) {
        let n = ["crdt", "raft"]
            .iter()
            .filter(|k| cons.contains_key(**k))
            .count();
        if n != 1 {
            p.push(Problem::new(
                "service.consensus",
                ProblemCode::BadValue,
                "exactly one of consensus.crdt / consensus.raft",
            ));
        }
        if let Some(tp) = s
            .pointer("/consensus/crdt/trusted_peers")
            .and_then(Value::as_array)
        {
            for (i, t) in tp.iter().enumerate() {
                let ok = t
                    .as_str()
                    .is_some_and(|t| t == "*" || t.parse::<libp2p_identity::PeerId>().is_ok());
                if !ok {
                    p.push(Problem::new(
                        format!("service.consensus.crdt.trusted_peers.{i}"),
                        ProblemCode::BadPeerId,
                        format!("{t} is neither \"*\" nor a peer ID"),
                    ));
                }
            }
        }
    }
    for (key, ptr) in [
        (
            "service.api.restapi.http_listen_multiaddress",
            "/api/restapi/http_listen_multiaddress",
        ),
        (
            "service.api.pinsvcapi.http_listen_multiaddress",
            "/api/pinsvcapi/http_listen_multiaddress",
        ),
        (
            "service.api.ipfsproxy.listen_multiaddress",
            "/api/ipfsproxy/listen_multiaddress",
        ),
        (
            "service.api.ipfsproxy.node_multiaddress",
            "/api/ipfsproxy/node_multiaddress",
        ),
        (
            "service.ipfs_connector.ipfshttp.node_multiaddress",
            "/ipfs_connector/ipfshttp/node_multiaddress",
        ),
        (
            "service.observations.metrics.prometheus_endpoint",
            "/observations/metrics/prometheus_endpoint",
        ),
        (
            "service.observations.tracing.jaeger_agent_endpoint",
            "/observations/tracing/jaeger_agent_endpoint",
        ),
    ] {
        if let Some(v) = s.pointer(ptr) {
            check_maddrs(key, v, false, true, p);
        }
    }
    for api in ["restapi", "pinsvcapi"] {
        match s.pointer(&format!("/api/{api}/basic_auth_credentials")) {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) if m.values().all(Value::is_string) => {}
            Some(_) => p.push(Problem::new(
                format!("service.api.{api}.basic_auth_credentials"),
                ProblemCode::WrongType,
                "expected null or {\"user\": \"password\"}",
            )),
        }
        if let Some(Value::Object(h)) = s.pointer(&format!("/api/{api}/headers"))
            && !h
                .values()
                .all(|v| v.as_array().is_some_and(|a| a.iter().all(Value::is_string)))
        {
            p.push(Problem::new(
                format!("service.api.{api}.headers"),
                ProblemCode::WrongType,
                "headers map names to lists of strings",
            ));
        }
    }
    check_durations(s, p);
}

/// Identity plus the full `service.json` checks.
pub fn validate_service(doc: &Value) -> Vec<Problem> {
    let mut p = Vec::new();
    check_top(doc, &mut p);
    validate_identity(doc, &mut p);
    match doc.get("service") {
        Some(s) if s.get("source").is_some() => p.push(Problem::new(
            "service.source",
            ProblemCode::BadValue,
            "a cluster service config cannot be a `source` pointer (only followers fetch theirs)",
        )),
        Some(s) => validate_full_service(s, &mut p),
        None => p.push(Problem::new(
            "service",
            ProblemCode::Missing,
            "no service document",
        )),
    }
    p
}

/// Identity plus either a `{"source": url}` pointer or a full config (which must be in follower mode).
pub fn validate_follow(doc: &Value) -> Vec<Problem> {
    let mut p = Vec::new();
    check_top(doc, &mut p);
    validate_identity(doc, &mut p);
    match doc.get("service") {
        Some(Value::Object(s)) if s.contains_key("source") => {
            match s.get("source").and_then(Value::as_str) {
                // `ipfs-cluster-follow init <dnslink>` stores `<gateway>/ipns/<name>` without a scheme
                Some(u) if !u.contains("://") => {
                    check_url("service.source", &format!("http://{u}"), &mut p)
                }
                Some(u) => check_url("service.source", u, &mut p),
                None => p.push(Problem::new(
                    "service.source",
                    ProblemCode::WrongType,
                    "source must be a URL string",
                )),
            }
            for k in s.keys().filter(|k| *k != "source") {
                p.push(Problem::new(
                    format!("service.{k}"),
                    ProblemCode::UnknownKey,
                    "a `source` service.json holds only the source key",
                ));
            }
        }
        Some(s) => {
            validate_full_service(s, &mut p);
            if s.pointer("/cluster/follower_mode").and_then(Value::as_bool) != Some(true) {
                p.push(Problem::new(
                    "service.cluster.follower_mode",
                    ProblemCode::BadValue,
                    "a follower config needs follower_mode = true",
                ));
            }
        }
        None => p.push(Problem::new(
            "service",
            ProblemCode::Missing,
            "no service document",
        )),
    }
    p
}

fn check_top(doc: &Value, p: &mut Vec<Problem>) {
    if let Some(m) = doc.as_object() {
        for k in m.keys().filter(|k| *k != "service" && *k != "identity") {
            p.push(Problem::new(
                k.clone(),
                ProblemCode::UnknownKey,
                format!("unknown key {k:?}"),
            ));
        }
    } else {
        p.push(Problem::new(
            "",
            ProblemCode::WrongType,
            "expected {\"service\": …, \"identity\": …}",
        ));
    }
}

/// Swarm, REST, pinning-service, proxy and (when enabled) Prometheus listeners.
pub fn listen_addresses(doc: &Value) -> Vec<(String, String)> {
    let s = &doc["service"];
    let mut out = Vec::new();
    let mut add = |key: &str, v: Option<&Value>| match v {
        Some(Value::String(x)) if !x.is_empty() => out.push((format!("service.{key}"), x.clone())),
        Some(Value::Array(l)) => {
            for (i, x) in l.iter().enumerate() {
                if let Some(x) = x.as_str() {
                    out.push((format!("service.{key}.{i}"), x.to_string()));
                }
            }
        }
        _ => {}
    };
    add(
        "cluster.listen_multiaddress",
        s.pointer("/cluster/listen_multiaddress"),
    );
    add(
        "api.restapi.http_listen_multiaddress",
        s.pointer("/api/restapi/http_listen_multiaddress"),
    );
    add(
        "api.pinsvcapi.http_listen_multiaddress",
        s.pointer("/api/pinsvcapi/http_listen_multiaddress"),
    );
    add(
        "api.ipfsproxy.listen_multiaddress",
        s.pointer("/api/ipfsproxy/listen_multiaddress"),
    );
    if s.pointer("/observations/metrics/enable_stats")
        .and_then(Value::as_bool)
        == Some(true)
    {
        add(
            "observations.metrics.prometheus_endpoint",
            s.pointer("/observations/metrics/prometheus_endpoint"),
        );
    }
    out
}

fn bad(path: &str, code: ProblemCode, msg: String) -> Error {
    Error::Invalid {
        kind: "ipfs_cluster",
        problems: vec![Problem::new(path, code, msg)],
    }
}

/// Turns a service (or full follower) document into one that joins an existing cluster: its `secret` (empty = no
/// private network), a bootstrap peer address
/// (`/…/p2p/<id>`, stored in `peer_addresses`) and the trusted peers (the bootstrap peer is always trusted).
pub fn join_networked_cluster(
    doc: &mut Value,
    secret: &str,
    bootstrap: &str,
    trusted_peers: &[String],
) -> Result<()> {
    if !is_valid_cluster_secret(secret) {
        return Err(bad(
            "secret",
            ProblemCode::BadSecret,
            "the cluster secret must be 64 hex characters (or empty)".into(),
        ));
    }
    let m = maddr::parse(bootstrap).map_err(|e| bad("bootstrap", ProblemCode::BadMultiaddr, e))?;
    let leader = m.peer_id().ok_or_else(|| {
        bad(
            "bootstrap",
            ProblemCode::BadMultiaddr,
            format!("{bootstrap:?} must end with /p2p/<peer ID>"),
        )
    })?;
    let mut trusted: Vec<String> = vec![leader.to_base58()];
    for t in trusted_peers {
        if t != "*" && t.parse::<libp2p_identity::PeerId>().is_err() {
            return Err(bad(
                "trusted_peers",
                ProblemCode::BadPeerId,
                format!("{t:?} is not a peer ID"),
            ));
        }
        if !trusted.contains(t) {
            trusted.push(t.clone());
        }
    }
    let s = &mut doc["service"];
    s["cluster"]["secret"] = json!(secret.to_ascii_lowercase());
    let addrs = s["cluster"]["peer_addresses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut addrs: Vec<Value> = addrs
        .into_iter()
        .filter(|a| a.as_str() != Some(bootstrap))
        .collect();
    addrs.push(json!(bootstrap));
    s["cluster"]["peer_addresses"] = Value::Array(addrs);
    if s.pointer("/consensus/crdt").is_some() {
        s["consensus"]["crdt"]["trusted_peers"] = json!(trusted);
    } else if s.pointer("/consensus/raft").is_some() {
        let mut peers = s["consensus"]["raft"]["init_peerset"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !peers
            .iter()
            .any(|p| p.as_str() == Some(trusted[0].as_str()))
        {
            peers.push(json!(trusted[0]));
        }
        s["consensus"]["raft"]["init_peerset"] = Value::Array(peers);
    }
    Ok(())
}
