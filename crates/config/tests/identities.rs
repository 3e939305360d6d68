//! RSA and secp256k1 identities: real-world keys validate, mismatches are `BadPeerId`, new identities stay Ed25519.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ipfs_kit_config::identity::{Identity, check_identity, peer_id_of_private_key};
use ipfs_kit_config::{ConfigKind, ConfigStore, ProblemCode, Target, Update};
use serde_json::{Value, json};

fn reference(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference")
        .join(rel)
}

fn read_json(rel: &str) -> Value {
    serde_json::from_slice(&std::fs::read(reference(rel)).unwrap()).unwrap()
}

fn snapshot(store: &ConfigStore, t: &Target) -> BTreeMap<PathBuf, Vec<u8>> {
    store
        .files(t)
        .unwrap()
        .into_iter()
        .map(|f| (f.path.clone(), std::fs::read(&f.path).unwrap()))
        .collect()
}

fn vectors() -> Vec<Value> {
    read_json("peerid-vectors.json")["vectors"]
        .as_array()
        .unwrap()
        .clone()
}

fn vector(name: &str) -> Value {
    vectors()
        .into_iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no vector {name}"))
}

fn sharness_rsa() -> Value {
    read_json("ipfs-cluster/identity.sharness-rsa.json")
}

fn cluster_doc(identity: Value) -> Value {
    json!({"service": read_json("ipfs-cluster/service.default-v1.1.0.json"), "identity": identity})
}

fn has_bad_peer_id(problems: &[ipfs_kit_config::Problem]) -> bool {
    problems.iter().any(|p| p.code == ProblemCode::BadPeerId)
}

#[test]
fn sharness_rsa_identity_validates() {
    let id = sharness_rsa();
    let (pid, key) = (
        id["id"].as_str().unwrap(),
        id["private_key"].as_str().unwrap(),
    );
    assert!(key.starts_with("CAAS"), "an RSA (KeyType 0) protobuf");
    assert_eq!(peer_id_of_private_key(key).unwrap().to_base58(), pid);
    check_identity(pid, key).unwrap();
    // as a cluster service's and a follower's identity.json
    assert_eq!(
        ConfigKind::IpfsClusterService.validate(&cluster_doc(id.clone())),
        vec![]
    );
    let follow = json!({"service": read_json("ipfs-cluster/follow.service.remote-source.json"), "identity": id});
    assert_eq!(ConfigKind::IpfsClusterFollow.validate(&follow), vec![]);
    // and as a Kubo repo's Identity (old repos carry RSA keys)
    let mut kubo = read_json("kubo/default-config.json");
    kubo["Identity"] = json!({"PeerID": pid, "PrivKey": key});
    assert_eq!(ConfigKind::Kubo.validate(&kubo), vec![]);
    // written to disk and read back, it still validates
    let home = tempfile::tempdir().unwrap();
    let store = ConfigStore::new(home.path());
    let t = Target::new(ConfigKind::IpfsClusterService);
    assert!(
        store
            .create_with(&t, cluster_doc(sharness_rsa()), false)
            .unwrap()
            .created
    );
    assert_eq!(store.validate(&t).unwrap(), vec![]);
    assert_eq!(store.get(&t, true).unwrap()["identity"]["id"], pid);
}

#[test]
fn every_vector_with_a_private_key_rederives_its_peer_id() {
    let mut seen = BTreeMap::<String, usize>::new();
    for v in vectors() {
        let Some(key) = v["private_key_protobuf_base64"].as_str() else {
            continue;
        };
        let want = v["peer_id_base58btc"].as_str().unwrap();
        let name = v["name"].as_str().unwrap();
        // the base64 and hex forms are the same bytes
        assert_eq!(
            hex::encode(STANDARD.decode(key).unwrap()),
            v["private_key_protobuf_hex"].as_str().unwrap(),
            "{name}"
        );
        let pid = peer_id_of_private_key(key).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(pid.to_base58(), want, "{name}");
        check_identity(want, key).unwrap_or_else(|e| panic!("{name}: {e}"));
        // and as a cluster identity.json
        assert_eq!(
            ConfigKind::IpfsClusterService
                .validate(&cluster_doc(json!({"id": want, "private_key": key}))),
            vec![],
            "{name}"
        );
        *seen
            .entry(v["key_type"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert!(seen.get("Ed25519").copied().unwrap_or(0) >= 3, "{seen:?}");
    assert!(seen.get("RSA").copied().unwrap_or(0) >= 2, "{seen:?}");
    assert!(seen.get("Secp256k1").copied().unwrap_or(0) >= 1, "{seen:?}");
}

#[test]
fn mismatched_rsa_and_secp256k1_identities_are_bad_peer_ids() {
    let rsa = sharness_rsa();
    let rsa_key = rsa["private_key"].as_str().unwrap();
    let rsa_id = rsa["id"].as_str().unwrap();
    let rsa4096 = vector("libp2p-spec-rsa-4096");
    let secp = vector("libp2p-spec-secp256k1");
    let secp_key = secp["private_key_protobuf_base64"].as_str().unwrap();
    let secp_id = secp["peer_id_base58btc"].as_str().unwrap();
    let ed = vector("libp2p-spec-ed25519");
    let ed_id = ed["peer_id_base58btc"].as_str().unwrap();
    // a real key of one type paired with another peer's ID
    for (id, key) in [
        (rsa4096["peer_id_base58btc"].as_str().unwrap(), rsa_key),
        (ed_id, rsa_key),
        (secp_id, rsa_key),
        (rsa_id, secp_key),
        (ed_id, secp_key),
        (rsa_id, ed["private_key_protobuf_base64"].as_str().unwrap()),
    ] {
        let e = check_identity(id, key).unwrap_err();
        assert!(e.contains("does not match"), "{id}: {e}");
        let problems = ConfigKind::IpfsClusterService
            .validate(&cluster_doc(json!({"id": id, "private_key": key})));
        assert!(has_bad_peer_id(&problems), "{id}: {problems:?}");
        let mut kubo = read_json("kubo/default-config.json");
        kubo["Identity"] = json!({"PeerID": id, "PrivKey": key});
        assert!(has_bad_peer_id(&ConfigKind::Kubo.validate(&kubo)), "{id}");
    }
    // a damaged RSA key (one byte of the modulus flipped) is refused, never given a different ID
    let mut bytes = STANDARD.decode(rsa_key).unwrap();
    bytes[40] ^= 0x01;
    let damaged = STANDARD.encode(&bytes);
    assert!(peer_id_of_private_key(&damaged).is_err());
    assert!(check_identity(rsa_id, &damaged).is_err());
    // ECDSA (KeyType 3) stays a clear refusal
    let e = peer_id_of_private_key(&STANDARD.encode([0x08, 0x03, 0x12, 0x01, 0x00])).unwrap_err();
    assert!(e.contains("not supported"), "{e}");
}

#[test]
fn a_tampered_rsa_identity_is_refused_and_the_file_is_unchanged() {
    let home = tempfile::tempdir().unwrap();
    let store = ConfigStore::new(home.path());
    let t = Target::new(ConfigKind::IpfsClusterService);
    store
        .create_with(&t, cluster_doc(sharness_rsa()), false)
        .unwrap();
    let before = snapshot(&store, &t);
    let other_rsa = vector("libp2p-spec-rsa-4096");
    let mut bytes = STANDARD
        .decode(sharness_rsa()["private_key"].as_str().unwrap())
        .unwrap();
    bytes[40] ^= 0x01;
    for update in [
        // another RSA peer's ID against this key
        Update::Path {
            path: "identity.id".into(),
            value: json!(other_rsa["peer_id_base58btc"]),
        },
        // another RSA private key against this ID
        Update::Path {
            path: "identity.private_key".into(),
            value: json!(other_rsa["private_key_protobuf_base64"]),
        },
        // a damaged copy of this key
        Update::Path {
            path: "identity.private_key".into(),
            value: json!(STANDARD.encode(&bytes)),
        },
    ] {
        for validate_only in [true, false] {
            let err = store.set(&t, &update, validate_only).unwrap_err();
            assert!(has_bad_peer_id(err.problems()), "{err}");
            assert_eq!(snapshot(&store, &t), before, "files untouched");
        }
    }
    // swapping both halves for another consistent RSA identity is accepted
    let swap = Update::Merge(json!({"identity": {
        "id": other_rsa["peer_id_base58btc"],
        "private_key": other_rsa["private_key_protobuf_base64"],
    }}));
    assert!(store.set(&t, &swap, false).unwrap().written);
    assert_eq!(store.validate(&t).unwrap(), vec![]);
    // a file tampered on disk is reported on validation
    let identity_path = store
        .files(&t)
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .find(|p| p.file_name().is_some_and(|n| n == "identity.json"))
        .unwrap();
    let mut on_disk: Value =
        serde_json::from_slice(&std::fs::read(&identity_path).unwrap()).unwrap();
    on_disk["id"] = sharness_rsa()["id"].clone();
    std::fs::write(&identity_path, serde_json::to_vec_pretty(&on_disk).unwrap()).unwrap();
    assert!(has_bad_peer_id(&store.validate(&t).unwrap()));
}

#[test]
fn new_identities_stay_ed25519() {
    for _ in 0..3 {
        let id = Identity::generate().unwrap();
        assert!(id.private_key.starts_with("CAESQ"), "Ed25519 protobuf");
        assert!(id.peer_id.starts_with("12D3KooW"), "{}", id.peer_id);
        check_identity(&id.peer_id, &id.private_key).unwrap();
    }
    let layout = ipfs_kit_config::Layout::new("/nonexistent");
    let c = ConfigKind::IpfsClusterService
        .defaults(&layout, "")
        .unwrap();
    assert!(
        c["identity"]["private_key"]
            .as_str()
            .unwrap()
            .starts_with("CAESQ")
    );
    let k = ConfigKind::Kubo.defaults(&layout, "").unwrap();
    assert!(
        k["Identity"]["PrivKey"]
            .as_str()
            .unwrap()
            .starts_with("CAESQ")
    );
}
