//! Lassie daemon settings. Lassie reads no config file, only flags and `LASSIE_*` env vars, so the settings live in
//! the kit home (`config/lassie.toml`) and are rendered into the argument and environment lists the daemon reads
//! (flags and env names from lassie `cmd/lassie/{daemon,flags}.go`).

use serde_json::{Value, json};

use crate::error::{Problem, ProblemCode, Result};
use crate::kinds::{check_maddr, check_url, is_go_duration, typed};

/// Secret values.
pub const SECRETS: &[&str] = &["access_token", "event_recorder_auth"];

/// Everything `lassie daemon` can be told.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LassieSettings {
    /// `--address` / `LASSIE_ADDRESS`.
    pub address: String,
    /// `--port` / `LASSIE_PORT` (0 = random).
    pub port: u16,
    /// `--maxblocks` / `LASSIE_MAX_BLOCKS_PER_REQUEST` (0 = unlimited).
    pub max_blocks: u64,
    /// `--libp2p-conns-lowwater`.
    pub libp2p_conns_lowwater: u32,
    /// `--libp2p-conns-highwater`.
    pub libp2p_conns_highwater: u32,
    /// `--concurrent-sp-retrievals` (0 = no limit).
    pub concurrent_sp_retrievals: u32,
    /// `--ipni-endpoint`.
    pub ipni_endpoint: String,
    /// `--protocols` (subset of bitswap, graphsync, http).
    pub protocols: Vec<String>,
    /// `--providers`: provider multiaddrs with `/p2p/` (empty = discover via IPNI).
    pub providers: Vec<String>,
    /// `--exclude-providers`: peer IDs.
    pub exclude_providers: Vec<String>,
    /// `--tempdir` (empty = OS temp dir).
    pub temp_dir: String,
    /// `--bitswap-concurrency`.
    pub bitswap_concurrency: u32,
    /// `--bitswap-concurrency-per-retrieval`.
    pub bitswap_concurrency_per_retrieval: u32,
    /// `--global-timeout` (Go duration; empty = none).
    pub global_timeout: String,
    /// `--provider-timeout` (Go duration).
    pub provider_timeout: String,
    /// `--event-recorder-url` (empty = off).
    pub event_recorder_url: String,
    /// `--event-recorder-auth`.
    pub event_recorder_auth: String,
    /// `--access-token`: clients must send `Authorization: Bearer <token>`.
    pub access_token: String,
}

/// Lassie's own defaults, except the port: a fixed one (upstream picks a random one) so the port plan can see it.
pub fn defaults() -> Result<Value> {
    Ok(json!({
        "address": "127.0.0.1",
        "port": 41443,
        "max_blocks": 0,
        "libp2p_conns_lowwater": 0,
        "libp2p_conns_highwater": 0,
        "concurrent_sp_retrievals": 0,
        "ipni_endpoint": "https://cid.contact",
        "protocols": ["bitswap", "graphsync", "http"],
        "providers": [],
        "exclude_providers": [],
        "temp_dir": "",
        "bitswap_concurrency": 32,
        "bitswap_concurrency_per_retrieval": 12,
        "global_timeout": "",
        "provider_timeout": "20s",
        "event_recorder_url": "",
        "event_recorder_auth": "",
        "access_token": ""
    }))
}

/// Strict shape plus values.
pub fn validate(doc: &Value) -> Vec<Problem> {
    let mut p = Vec::new();
    let Some(s) = typed::<LassieSettings>(doc, &mut p) else {
        return p;
    };
    if s.address.parse::<std::net::IpAddr>().is_err() && url::Host::parse(&s.address).is_err() {
        p.push(Problem::new(
            "address",
            ProblemCode::BadValue,
            format!("{:?} is not a host", s.address),
        ));
    }
    check_url("ipni_endpoint", &s.ipni_endpoint, &mut p);
    if !s.event_recorder_url.is_empty() {
        check_url("event_recorder_url", &s.event_recorder_url, &mut p);
    }
    for (i, proto) in s.protocols.iter().enumerate() {
        if !matches!(proto.as_str(), "bitswap" | "graphsync" | "http") {
            p.push(Problem::new(
                format!("protocols.{i}"),
                ProblemCode::BadValue,
                format!("unknown protocol {proto:?}"),
            ));
        }
    }
    for (i, m) in s.providers.iter().enumerate() {
        check_maddr(&format!("providers.{i}"), &json!(m), true, &mut p);
    }
    for (i, id) in s.exclude_providers.iter().enumerate() {
        if id.parse::<libp2p_identity::PeerId>().is_err() {
            p.push(Problem::new(
                format!("exclude_providers.{i}"),
                ProblemCode::BadPeerId,
                format!("{id:?} is not a peer ID"),
            ));
        }
    }
    for (key, d) in [
        ("global_timeout", &s.global_timeout),
        ("provider_timeout", &s.provider_timeout),
    ] {
        if !d.is_empty() && !is_go_duration(d) {
            p.push(Problem::new(
                key,
                ProblemCode::BadValue,
                format!("{d:?} is not a duration like \"20s\""),
            ));
        }
    }
    p
}

/// The daemon's HTTP listener.
pub fn listen_addresses(doc: &Value) -> Vec<(String, String)> {
    match (doc["address"].as_str(), doc["port"].as_u64()) {
        (Some(a), Some(port)) if port > 0 => {
            let proto = if a.parse::<std::net::Ipv6Addr>().is_ok() {
                "ip6"
            } else if a.parse::<std::net::Ipv4Addr>().is_ok() {
                "ip4"
            } else {
                "dns"
            };
            vec![("port".into(), format!("/{proto}/{a}/tcp/{port}"))]
        }
        _ => vec![],
    }
}

/// `lassie daemon` arguments for these settings (only values that differ from Lassie's built-in defaults, plus
/// the address and port).
pub fn daemon_args(s: &LassieSettings) -> Vec<String> {
    let mut a = vec![
        "daemon".to_string(),
        "--address".into(),
        s.address.clone(),
        "--port".into(),
        s.port.to_string(),
    ];
    let mut flag = |name: &str, v: String| a.extend([format!("--{name}"), v]);
    let nz = |n: u64| n != 0;
    if nz(s.max_blocks) {
        flag("maxblocks", s.max_blocks.to_string());
    }
    if nz(s.libp2p_conns_lowwater.into()) {
        flag("libp2p-conns-lowwater", s.libp2p_conns_lowwater.to_string());
    }
    if nz(s.libp2p_conns_highwater.into()) {
        flag(
            "libp2p-conns-highwater",
            s.libp2p_conns_highwater.to_string(),
        );
    }
    if nz(s.concurrent_sp_retrievals.into()) {
        flag(
            "concurrent-sp-retrievals",
            s.concurrent_sp_retrievals.to_string(),
        );
    }
    if s.ipni_endpoint != "https://cid.contact" {
        flag("ipni-endpoint", s.ipni_endpoint.clone());
    }
    if s.protocols != ["bitswap", "graphsync", "http"] {
        flag("protocols", s.protocols.join(","));
    }
    if !s.providers.is_empty() {
        flag("providers", s.providers.join(","));
    }
    if !s.exclude_providers.is_empty() {
        flag("exclude-providers", s.exclude_providers.join(","));
    }
    if !s.temp_dir.is_empty() {
        flag("tempdir", s.temp_dir.clone());
    }
    if s.bitswap_concurrency != 32 {
        flag("bitswap-concurrency", s.bitswap_concurrency.to_string());
    }
    if s.bitswap_concurrency_per_retrieval != 12 {
        flag(
            "bitswap-concurrency-per-retrieval",
            s.bitswap_concurrency_per_retrieval.to_string(),
        );
    }
    if !s.global_timeout.is_empty() {
        flag("global-timeout", s.global_timeout.clone());
    }
    if s.provider_timeout != "20s" {
        flag("provider-timeout", s.provider_timeout.clone());
    }
    if !s.event_recorder_url.is_empty() {
        flag("event-recorder-url", s.event_recorder_url.clone());
    }
    a
}

/// Environment for the daemon: secrets go here rather than on argv where Lassie reads them from env
/// (`LASSIE_EVENT_RECORDER_AUTH`); the access token has no env var upstream, so it must be passed as a flag by
/// the caller that spawns the daemon (see [`access_token_args`]).
pub fn daemon_env(s: &LassieSettings) -> Vec<(String, String)> {
    let mut e = Vec::new();
    if !s.event_recorder_auth.is_empty() {
        e.push((
            "LASSIE_EVENT_RECORDER_AUTH".to_string(),
            s.event_recorder_auth.clone(),
        ));
    }
    e
}

/// `--access-token <token>` when one is set.
pub fn access_token_args(s: &LassieSettings) -> Vec<String> {
    if s.access_token.is_empty() {
        vec![]
    } else {
        vec!["--access-token".into(), s.access_token.clone()]
    }
}
