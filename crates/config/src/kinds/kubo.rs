//! Kubo: `$IPFS_PATH/config` (JSON), identity in `Identity.PeerID` / `Identity.PrivKey`.

use serde_json::Value;

use crate::doc;
use crate::error::{Error, Problem, ProblemCode, Result};
use crate::identity::{Identity, check_identity};
use crate::kinds::{check_maddr, check_maddrs};

/// Secret values of a Kubo config.
pub const SECRETS: &[&str] = &["Identity.PrivKey"];

// The config `ipfs init` writes (Kubo 0.44), from reference/kubo/default-config.json; its identity is replaced.
const TEMPLATE: &str = include_str!("../../assets/kubo-default-config.json");

/// The default config shape (with the template's identity; use [`defaults`] for a fresh one).
pub fn template() -> Result<Value> {
    serde_json::from_str(TEMPLATE).map_err(|e| Error::Unsupported(format!("kubo template: {e}")))
}

/// `ipfs init` defaults with a fresh Ed25519 identity.
pub fn defaults() -> Result<Value> {
    let mut v = template()?;
    let id = Identity::generate()?;
    v["Identity"] = serde_json::json!({ "PeerID": id.peer_id, "PrivKey": id.private_key });
    Ok(v)
}

/// Typed view of the parts of a Kubo config this crate reasons about.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KuboIdentity {
    /// `Identity.PeerID`.
    #[serde(rename = "PeerID")]
    pub peer_id: String,
    /// `Identity.PrivKey`.
    pub priv_key: String,
}

/// Shape, identity, addresses and bootstrap checks.
pub fn validate(v: &Value) -> Vec<Problem> {
    let mut p = Vec::new();
    let Ok(skeleton) = template() else {
        return vec![Problem::new(
            "",
            ProblemCode::BadValue,
            "built-in Kubo template does not parse",
        )];
    };
    if !v.is_object() {
        return vec![Problem::new(
            "",
            ProblemCode::WrongType,
            "a Kubo config is a JSON object",
        )];
    }
    doc::typecheck(
        v,
        &skeleton,
        &["Addresses.API", "Addresses.Gateway"],
        true,
        &mut p,
    );
    match v.get("Identity") {
        Some(idv) => match serde_json::from_value::<KuboIdentity>(idv.clone()) {
            Ok(id) => {
                if let Err(e) = check_identity(&id.peer_id, &id.priv_key) {
                    p.push(Problem::new("Identity.PeerID", ProblemCode::BadPeerId, e));
                }
            }
            Err(e) => p.push(Problem::new(
                "Identity",
                ProblemCode::WrongType,
                e.to_string(),
            )),
        },
        None => p.push(Problem::new(
            "Identity",
            ProblemCode::Missing,
            "no Identity",
        )),
    }
    let a = &v["Addresses"];
    for key in ["Swarm", "Announce", "AppendAnnounce", "NoAnnounce"] {
        if let Some(list) = a.get(key).and_then(Value::as_array) {
            for (i, m) in list.iter().enumerate() {
                check_maddr(&format!("Addresses.{key}.{i}"), m, false, &mut p);
            }
        }
    }
    for key in ["API", "Gateway"] {
        if let Some(m) = a.get(key) {
            check_maddrs(&format!("Addresses.{key}"), m, false, true, &mut p);
        }
    }
    if let Some(list) = v.get("Bootstrap").and_then(Value::as_array) {
        for (i, m) in list.iter().enumerate() {
            if m.as_str() != Some("auto") {
                check_maddr(&format!("Bootstrap.{i}"), m, true, &mut p);
            }
        }
    }
    if let Some(peers) = v.pointer("/Peering/Peers").and_then(Value::as_array) {
        for (i, peer) in peers.iter().enumerate() {
            if let Some(addrs) = peer.get("Addrs").and_then(Value::as_array) {
                for (j, a) in addrs.iter().enumerate() {
                    check_maddr(&format!("Peering.Peers.{i}.Addrs.{j}"), a, false, &mut p);
                }
            }
            if let Some(id) = peer.get("ID").and_then(Value::as_str)
                && id.parse::<libp2p_identity::PeerId>().is_err()
            {
                p.push(Problem::new(
                    format!("Peering.Peers.{i}.ID"),
                    ProblemCode::BadPeerId,
                    format!("{id:?} is not a peer ID"),
                ));
            }
        }
    }
    if let Some(w) = v
        .pointer("/Datastore/StorageGCWatermark")
        .and_then(Value::as_i64)
        && !(0..=100).contains(&w)
    {
        p.push(Problem::new(
            "Datastore.StorageGCWatermark",
            ProblemCode::BadValue,
            "must be 0..=100",
        ));
    }
    p
}

/// Swarm, API and Gateway listeners.
pub fn listen_addresses(v: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let a = &v["Addresses"];
    for key in ["Swarm", "API", "Gateway"] {
        match a.get(key) {
            Some(Value::String(s)) if !s.is_empty() => {
                out.push((format!("Addresses.{key}"), s.clone()))
            }
            Some(Value::Array(l)) => {
                for (i, s) in l.iter().enumerate() {
                    if let Some(s) = s.as_str() {
                        out.push((format!("Addresses.{key}.{i}"), s.to_string()));
                    }
                }
            }
            _ => {}
        }
    }
    out
}
