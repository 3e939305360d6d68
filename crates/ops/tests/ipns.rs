//! Keystore, IPNS records, identity, CID tools, DAG stat/resolve, stats, and the network-only
//! operations on the embedded node; plus a real-peer check of our records with the npm `ipns`
//! package.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use base64::Engine;
use ipfs_kit_ops::ipns::{self, RecordStore};
use ipfs_kit_ops::keystore::{self, Keystore};
use ipfs_kit_ops::{Catalogue, ErrorCode, Kit, OpContext, OpError};
use libp2p_identity::{Keypair, PublicKey};
use serde_json::{Value, json};

#[path = "../../../tests/support/interop.rs"]
mod interop;
use interop::{ensure_interop, interop_dir};

fn kit() -> (tempfile::TempDir, Kit) {
    let home = tempfile::tempdir().unwrap();
    let kit = Kit::open(home.path()).unwrap();
    (home, kit)
}

async fn call(kit: &Kit, tool: &str, input: Value) -> Result<Value, OpError> {
    Catalogue::standard()
        .require(tool)
        .unwrap()
        .call(kit, input, &OpContext::default())
        .await
}

async fn ok(kit: &Kit, tool: &str, input: Value) -> Value {
    match call(kit, tool, input.clone()).await {
        Ok(v) => v,
        Err(e) => panic!("{tool} {input}: {}", e.to_json()),
    }
}

async fn fails(kit: &Kit, tool: &str, input: Value, code: ErrorCode) -> OpError {
    match call(kit, tool, input.clone()).await {
        Ok(v) => panic!("{tool} {input} should fail with {code:?}, gave {v}"),
        Err(e) => {
            assert_eq!(e.code, code, "{tool} {input}: {}", e.to_json());
            e
        }
    }
}

async fn put(kit: &Kit, text: &str) -> String {
    ok(kit, "ipfs_block_put", json!({"data": text})).await["cid"]
        .as_str()
        .unwrap()
        .to_string()
}

fn repo_dir(home: &Path) -> PathBuf {
    home.join("repo")
}

fn reference() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference")
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn keystore_round_trip_kubo_layout_and_0600() {
    let dir = tempfile::tempdir().unwrap();
    let ks = Keystore::new(dir.path());
    let me = ks.identity().unwrap();
    assert_eq!(
        ks.identity().unwrap().public(),
        me.public(),
        "self is created once"
    );
    let alice = ks.generate("alice").unwrap();
    let file = ks.dir().join("key_mfwgsy3f");
    assert_eq!(keystore::file_name("alice"), "key_mfwgsy3f");
    assert!(file.is_file());
    #[cfg(unix)]
    {
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&ks.dir().join("key_onswyzq")), 0o600);
        assert_eq!(mode(ks.dir()), 0o700);
    }
    // The file holds the protobuf private key, as Kubo's keystore does.
    let back = Keypair::from_protobuf_encoding(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(back.public().to_peer_id(), alice.peer_id);
    assert_eq!(
        Keystore::new(dir.path())
            .get("alice")
            .unwrap()
            .public()
            .to_peer_id(),
        alice.peer_id
    );
    let names: Vec<String> = ks.list().unwrap().into_iter().map(|k| k.name).collect();
    assert_eq!(names, ["self", "alice"]);
    assert_eq!(
        ks.generate("alice").unwrap_err().code,
        ErrorCode::AlreadyExists
    );
    // No temp files left behind.
    let leftovers: Vec<_> = std::fs::read_dir(ks.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.starts_with("key_"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(ks.remove("alice").unwrap().peer_id, alice.peer_id);
    assert!(!file.exists());
    assert_eq!(ks.get("alice").unwrap_err().code, ErrorCode::NotFound);
    let (name, found) = ks
        .find(&keystore::ipns_name(&me.public().to_peer_id()))
        .unwrap();
    assert_eq!(name, "self");
    assert_eq!(found.public(), me.public());
}

#[test]
fn peer_id_vectors() {
    let text = std::fs::read_to_string(reference().join("peerid-vectors.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let mut ed25519 = 0;
    for v in doc["vectors"].as_array().unwrap() {
        let b58 = v["peer_id_base58btc"].as_str().unwrap();
        let b36 = v["peer_id_cidv1_libp2p_key_base36"].as_str().unwrap();
        let b32 = v["peer_id_cidv1_libp2p_key_base32"].as_str().unwrap();
        let pid = keystore::parse_peer_id(b58).unwrap();
        assert_eq!(keystore::parse_peer_id(b36).unwrap(), pid, "{b36}");
        assert_eq!(keystore::parse_peer_id(b32).unwrap(), pid, "{b32}");
        assert_eq!(
            keystore::parse_peer_id(&format!("/ipns/{b36}")).unwrap(),
            pid
        );
        assert_eq!(keystore::peer_id_b58(&pid), b58);
        assert_eq!(keystore::ipns_name(&pid), b36);
        assert_eq!(
            keystore::ipns_name_in(&pid, multibase::Base::Base32Lower),
            b32
        );
        if v["key_type"] == "Ed25519" {
            ed25519 += 1;
            let sk = hex::decode(v["private_key_protobuf_hex"].as_str().unwrap()).unwrap();
            let key = Keypair::from_protobuf_encoding(&sk).unwrap();
            assert_eq!(
                hex::encode(key.public().encode_protobuf()),
                v["public_key_protobuf_hex"].as_str().unwrap()
            );
            assert_eq!(key.public().to_peer_id(), pid);
            assert_eq!(
                keystore::public_key_of(&pid).unwrap(),
                key.public(),
                "Ed25519 peer IDs inline their key"
            );
        } else {
            let pk = hex::decode(v["public_key_protobuf_hex"].as_str().unwrap()).unwrap();
            // RSA and secp256k1 keys decode too (IPNS records signed with them verify) and derive
            // the published peer ID.
            let key = PublicKey::try_decode_protobuf(&pk).unwrap();
            assert_eq!(key.to_peer_id(), pid, "{}", v["key_type"]);
        }
    }
    assert!(ed25519 >= 2);
    for bad in [
        "",
        "hello",
        "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
    ] {
        assert!(keystore::parse_peer_id(bad).is_err(), "{bad}");
    }
}

fn record_of(home: &Path, name: &str) -> ipns::Record {
    let pid = keystore::parse_peer_id(name).unwrap();
    let store = RecordStore::new(&repo_dir(home));
    ipns::verify_record(&store.get(&pid).unwrap().unwrap(), &pid, SystemTime::now()).unwrap()
}

#[tokio::test]
async fn publish_resolve_and_sequence() {
    let (home, kit) = kit();
    let a = put(&kit, "first").await;
    let b = put(&kit, "second").await;
    let out = ok(
        &kit,
        "ipfs_name_publish",
        json!({"path": format!("/ipfs/{a}")}),
    )
    .await;
    let name = out["name"].as_str().unwrap().to_string();
    assert!(name.starts_with("k51"), "{name}");
    assert_eq!(out["value"], format!("/ipfs/{a}"));
    let id = ok(&kit, "ipfs_id", json!({})).await;
    assert_eq!(
        keystore::parse_peer_id(id["id"].as_str().unwrap()).unwrap(),
        keystore::parse_peer_id(&name).unwrap(),
        "self publishes under the node identity"
    );
    assert_eq!(
        ok(&kit, "ipfs_name_resolve", json!({})).await["path"],
        format!("/ipfs/{a}")
    );
    assert_eq!(
        ok(
            &kit,
            "ipfs_name_resolve",
            json!({"name": format!("/ipns/{name}")})
        )
        .await["path"],
        format!("/ipfs/{a}")
    );
    let r = record_of(home.path(), &name);
    assert_eq!(r.sequence, 0);
    assert!(r.v1, "V1 compatibility is on by default");
    assert_eq!(r.ttl_ns, 5 * 60 * 1_000_000_000);
    let left = r.eol.duration_since(SystemTime::now()).unwrap();
    assert!(left > Duration::from_secs(47 * 3600) && left <= Duration::from_secs(48 * 3600));

    // A new value takes the next sequence number; the same value keeps it (Kubo).
    ok(&kit, "ipfs_name_publish", json!({"path": b})).await;
    assert_eq!(record_of(home.path(), &name).sequence, 1);
    assert_eq!(
        ok(&kit, "ipfs_name_resolve", json!({"name": name})).await["path"],
        format!("/ipfs/{b}")
    );
    ok(
        &kit,
        "ipfs_name_publish",
        json!({"path": b, "lifetime": "1h", "ttl": "30s"}),
    )
    .await;
    let r = record_of(home.path(), &name);
    assert_eq!(r.sequence, 1);
    assert_eq!(r.ttl_ns, 30_000_000_000);
    fails(
        &kit,
        "ipfs_name_publish",
        json!({"path": a, "sequence": 1}),
        ErrorCode::InvalidInput,
    )
    .await;
    ok(
        &kit,
        "ipfs_name_publish",
        json!({"path": a, "sequence": 7, "v1compat": false}),
    )
    .await;
    let r = record_of(home.path(), &name);
    assert_eq!((r.sequence, r.v1), (7, false));
    fails(
        &kit,
        "ipfs_name_publish",
        json!({"path": a, "ttl": "2h", "lifetime": "1h"}),
        ErrorCode::InvalidInput,
    )
    .await;
    fails(
        &kit,
        "ipfs_name_publish",
        json!({"path": a, "lifetime": "7d"}),
        ErrorCode::InvalidInput,
    )
    .await;

    // resolve=true: the path must resolve here.
    let absent = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
    fails(
        &kit,
        "ipfs_name_publish",
        json!({"path": absent}),
        ErrorCode::NotFound,
    )
    .await;
    ok(
        &kit,
        "ipfs_name_publish",
        json!({"path": absent, "resolve": false}),
    )
    .await;

    // Another key, pointing at our name: recursive resolution follows it.
    let bob = ok(&kit, "ipfs_key_gen", json!({"name": "bob"})).await;
    let bob_name = bob["id"].as_str().unwrap().to_string();
    ok(&kit, "ipfs_name_publish", json!({"path": b})).await;
    let out = ok(
        &kit,
        "ipfs_name_publish",
        json!({"path": format!("/ipns/{name}"), "key": "bob"}),
    )
    .await;
    assert_eq!(out["name"], bob_name);
    assert_eq!(
        ok(&kit, "ipfs_name_resolve", json!({"name": bob_name})).await["path"],
        format!("/ipfs/{b}")
    );
    assert_eq!(
        ok(
            &kit,
            "ipfs_name_resolve",
            json!({"name": bob_name, "recursive": false})
        )
        .await["path"],
        format!("/ipns/{name}")
    );
    // The key can also be named by its peer ID.
    ok(
        &kit,
        "ipfs_name_publish",
        json!({"path": a, "key": bob_name}),
    )
    .await;
    assert_eq!(
        ok(&kit, "ipfs_name_resolve", json!({"name": bob_name})).await["path"],
        format!("/ipfs/{a}")
    );
    // Survives reopening the kit.
    drop(kit);
    let kit = Kit::open(home.path()).unwrap();
    assert_eq!(
        ok(&kit, "ipfs_name_resolve", json!({"name": bob_name})).await["path"],
        format!("/ipfs/{a}")
    );
}

#[tokio::test]
async fn bad_records_are_refused() {
    let (home, kit) = kit();
    let a = put(&kit, "content").await;
    let out = ok(&kit, "ipfs_name_publish", json!({"path": a})).await;
    let name = out["name"].as_str().unwrap().to_string();
    let pid = keystore::parse_peer_id(&name).unwrap();
    let store = RecordStore::new(&repo_dir(home.path()));
    let good = store.get(&pid).unwrap().unwrap();

    // Tampered: change one byte of the signed value inside `data`.
    let at = good
        .windows(a.len())
        .rposition(|w| w == a.as_bytes())
        .expect("value inside data");
    let mut bad = good.clone();
    bad[at + 10] ^= 1;
    store.put(&pid, &bad).unwrap();
    let e = fails(
        &kit,
        "ipfs_name_resolve",
        json!({"name": name}),
        ErrorCode::Corrupted,
    )
    .await;
    assert!(e.message.contains("signature"), "{}", e.message);

    // Tampered V1 copy only: the V2 signature holds but the fields disagree.
    let first = good
        .windows(a.len())
        .position(|w| w == a.as_bytes())
        .unwrap();
    assert!(first < at);
    let mut bad = good.clone();
    bad[first + 10] ^= 1;
    assert_eq!(
        ipns::verify_record(&bad, &pid, SystemTime::now()).unwrap_err(),
        ipns::RecordError::V1Mismatch("value")
    );

    // Expired.
    let ks = Keystore::new(&repo_dir(home.path()));
    let me = ks.identity().unwrap();
    let past = SystemTime::now() - Duration::from_secs(60);
    let expired = ipns::create_record(
        &me,
        &format!("/ipfs/{a}"),
        9,
        past,
        Duration::from_secs(1),
        true,
    )
    .unwrap();
    store.put(&pid, &expired).unwrap();
    let e = fails(
        &kit,
        "ipfs_name_resolve",
        json!({"name": name}),
        ErrorCode::NotFound,
    )
    .await;
    assert!(e.message.contains("expired"), "{}", e.message);

    // Signed by another key.
    let other = Keypair::generate_ed25519();
    let future = SystemTime::now() + Duration::from_secs(3600);
    let forged = ipns::create_record(
        &other,
        "/ipfs/bafkqaaa",
        99,
        future,
        Duration::from_secs(1),
        true,
    )
    .unwrap();
    store.put(&pid, &forged).unwrap();
    fails(
        &kit,
        "ipfs_name_resolve",
        json!({"name": name}),
        ErrorCode::Corrupted,
    )
    .await;
    assert_eq!(
        ipns::verify_record(&forged, &pid, SystemTime::now()).unwrap_err(),
        ipns::RecordError::BadSignature
    );
    // The same record is fine for its own key.
    let r = ipns::verify_record(&forged, &other.public().to_peer_id(), SystemTime::now()).unwrap();
    assert_eq!((r.value.as_str(), r.sequence), ("/ipfs/bafkqaaa", 99));

    // Garbage and oversize.
    for junk in [vec![], vec![0xff; 20], vec![0x0a, 0x80]] {
        assert!(ipns::verify_record(&junk, &pid, SystemTime::now()).is_err());
    }
    assert_eq!(
        ipns::verify_record(&vec![0; 10 * 1024 + 1], &pid, SystemTime::now()).unwrap_err(),
        ipns::RecordError::TooLarge(10 * 1024 + 1)
    );

    // Publishing after a foreign record continues past its sequence number.
    ok(&kit, "ipfs_name_publish", json!({"path": a})).await;
    assert_eq!(record_of(home.path(), &name).sequence, 100);
}

#[tokio::test]
async fn names_and_keys_checked() {
    let (_home, kit) = kit();
    for bad in ["", "a/b", "self"] {
        fails(
            &kit,
            "ipfs_key_gen",
            json!({"name": bad}),
            ErrorCode::InvalidInput,
        )
        .await;
    }
    fails(
        &kit,
        "ipfs_key_gen",
        json!({"name": "x".repeat(200)}),
        ErrorCode::InvalidInput,
    )
    .await;
    fails(
        &kit,
        "ipfs_key_gen",
        json!({"name": "r", "type": "rsa"}),
        ErrorCode::Unsupported,
    )
    .await;
    let k = ok(
        &kit,
        "ipfs_key_gen",
        json!({"name": "work", "ipns_base": "base32"}),
    )
    .await;
    assert!(k["id"].as_str().unwrap().starts_with("bafz"), "{k}");
    fails(
        &kit,
        "ipfs_key_gen",
        json!({"name": "work"}),
        ErrorCode::AlreadyExists,
    )
    .await;
    let list = ok(&kit, "ipfs_key_list", json!({})).await;
    let names: Vec<&str> = list["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["self", "work"]);
    fails(
        &kit,
        "ipfs_key_rm",
        json!({"names": ["self"]}),
        ErrorCode::InvalidInput,
    )
    .await;
    fails(
        &kit,
        "ipfs_key_rm",
        json!({"names": ["work", "nope"]}),
        ErrorCode::NotFound,
    )
    .await;
    assert_eq!(
        ok(&kit, "ipfs_key_list", json!({})).await["keys"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "nothing removed"
    );
    let rm = ok(&kit, "ipfs_key_rm", json!({"names": ["work"]})).await;
    assert_eq!(rm["keys"][0]["name"], "work");
    assert!(rm["keys"][0]["id"].as_str().unwrap().starts_with("k51"));
    fails(
        &kit,
        "ipfs_name_publish",
        json!({"path": "/ipfs/bafkqaaa", "key": "work", "resolve": false}),
        ErrorCode::NotFound,
    )
    .await;
    fails(
        &kit,
        "ipfs_name_publish",
        json!({"path": "not a path"}),
        ErrorCode::InvalidCid,
    )
    .await;
    fails(
        &kit,
        "ipfs_name_publish",
        json!({"path": "/foo/bar"}),
        ErrorCode::InvalidPath,
    )
    .await;
    // Names the embedded node never published, and names that need DNS.
    let stranger = keystore::ipns_name(&Keypair::generate_ed25519().public().to_peer_id());
    fails(
        &kit,
        "ipfs_name_resolve",
        json!({"name": stranger}),
        ErrorCode::NotFound,
    )
    .await;
    fails(
        &kit,
        "ipfs_name_resolve",
        json!({"name": "example.com"}),
        ErrorCode::DaemonUnavailable,
    )
    .await;
    fails(
        &kit,
        "ipfs_name_resolve",
        json!({"name": "/ipfs/bafkqaaa"}),
        ErrorCode::InvalidInput,
    )
    .await;
}

#[tokio::test]
async fn identity_is_stable_and_real() {
    let (home, kit) = kit();
    let id = ok(&kit, "ipfs_id", json!({})).await;
    let text = id["id"].as_str().unwrap();
    assert!(text.starts_with("12D3KooW"), "{id}");
    let pk = base64::engine::general_purpose::STANDARD
        .decode(id["public_key"].as_str().unwrap())
        .unwrap();
    let pk = PublicKey::try_decode_protobuf(&pk).unwrap();
    assert_eq!(pk.to_peer_id().to_base58(), text);
    assert_eq!(id["addresses"], json!([]));
    assert_eq!(id["protocols"], json!([]));
    assert!(
        id["agent_version"]
            .as_str()
            .unwrap()
            .starts_with("ipfs-kit/")
    );
    assert_eq!(
        ok(&kit, "ipfs_id", json!({"peer_id": text})).await["id"],
        text
    );
    let other = Keypair::generate_ed25519()
        .public()
        .to_peer_id()
        .to_base58();
    fails(
        &kit,
        "ipfs_id",
        json!({"peer_id": other}),
        ErrorCode::DaemonUnavailable,
    )
    .await;
    drop(kit);
    let kit = Kit::open(home.path()).unwrap();
    assert_eq!(ok(&kit, "ipfs_id", json!({})).await["id"], text);
}

#[tokio::test]
async fn network_operations_need_a_networked_node() {
    let (_home, kit) = kit();
    let peer = Keypair::generate_ed25519()
        .public()
        .to_peer_id()
        .to_base58();
    for (tool, input) in [
        ("ipfs_swarm_peers", json!({})),
        ("ipfs_dht_findpeer", json!({"peer_id": peer})),
        ("ipfs_dht_findprovs", json!({"cid": "bafkqaaa"})),
        ("ipfs_dht_query", json!({"peer_id": peer})),
        ("ipfs_pubsub_publish", json!({"topic": "t", "data": "hi"})),
        ("ipfs_pubsub_subscribe", json!({"topic": "t"})),
        ("ipfs_pubsub_peers", json!({})),
    ] {
        let e = fails(&kit, tool, input, ErrorCode::DaemonUnavailable).await;
        assert!(e.message.contains("--api"), "{tool}: {}", e.message);
    }
    let stats = ok(&kit, "ipfs_stats", json!({})).await;
    assert_eq!(stats["bandwidth"], Value::Null);
    assert_eq!(stats["networked"], false);
    assert!(stats["note"].as_str().unwrap().contains("no network"));
    assert!(stats["repo"]["repo_size"].as_u64().unwrap() > 0);
    put(&kit, "one block").await;
    assert!(
        ok(&kit, "ipfs_stats", json!({})).await["repo"]["num_objects"]
            .as_u64()
            .unwrap()
            >= 1
    );
    assert_eq!(ipfs_kit_ops::topic_multibase("hello"), "uaGVsbG8");
}

#[tokio::test]
async fn dag_stat_and_resolve() {
    let (_home, kit) = kit();
    let leaf = put(&kit, "hello").await;
    let node = ok(
        &kit,
        "ipfs_dag_put",
        json!({"data": format!(r#"{{"a": {{"/": "{leaf}"}}, "b": {{"c": 1}}, "again": {{"/": "{leaf}"}}}}"#)}),
    )
    .await;
    let root = node["cid"].as_str().unwrap().to_string();
    let r = ok(
        &kit,
        "ipfs_dag_resolve",
        json!({"path": format!("/ipld/{root}/b/c")}),
    )
    .await;
    assert_eq!(r, json!({"cid": root, "rem_path": "b/c"}));
    let r = ok(
        &kit,
        "ipfs_dag_resolve",
        json!({"path": format!("{root}/a")}),
    )
    .await;
    assert_eq!(r, json!({"cid": leaf, "rem_path": ""}));
    let r = ok(
        &kit,
        "ipfs_dag_resolve",
        json!({"path": format!("/ipfs/{root}")}),
    )
    .await;
    assert_eq!(r, json!({"cid": root, "rem_path": ""}));
    fails(
        &kit,
        "ipfs_dag_resolve",
        json!({"path": format!("/ipfs/{root}/nope")}),
        ErrorCode::InvalidPath,
    )
    .await;

    let root_size = ok(&kit, "ipfs_block_stat", json!({"cid": root})).await["size"]
        .as_u64()
        .unwrap();
    let s = ok(&kit, "ipfs_dag_stat", json!({"paths": [root]})).await;
    assert_eq!(s["num_blocks"], 2, "{s}");
    assert_eq!(s["total_size"], root_size + 5);
    assert_eq!(s["dag_stats"][0]["num_blocks"], 2);
    let s = ok(&kit, "ipfs_dag_stat", json!({"paths": [root, leaf]})).await;
    assert_eq!(s["num_blocks"], 2, "{s}");
    assert_eq!(s["total_size"], root_size + 5);
    assert_eq!(s["shared_size"], 5);
    assert_eq!(
        s["dag_stats"][1],
        json!({"cid": leaf, "size": 5, "num_blocks": 1})
    );
    fails(
        &kit,
        "ipfs_dag_stat",
        json!({"paths": [format!("/ipld/{root}/b")]}),
        ErrorCode::InvalidInput,
    )
    .await;
    fails(
        &kit,
        "ipfs_dag_stat",
        json!({"paths": ["bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"]}),
        ErrorCode::NotFound,
    )
    .await;

    // An /ipns/ path resolves through the local record.
    let name = ok(&kit, "ipfs_name_publish", json!({"path": root})).await["name"]
        .as_str()
        .unwrap()
        .to_string();
    let r = ok(
        &kit,
        "ipfs_dag_resolve",
        json!({"path": format!("/ipns/{name}/a")}),
    )
    .await;
    assert_eq!(r["cid"], leaf);
}

#[tokio::test]
async fn cid_format_and_info() {
    let (_home, kit) = kit();
    let v0 = "QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR";
    let v1 = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
    let out = ok(
        &kit,
        "ipfs_cid_format",
        json!({"cids": [v0, "junk"], "base": "base32"}),
    )
    .await;
    assert_eq!(out["results"][0]["formatted"], v1);
    assert_eq!(out["results"][0]["error"], Value::Null);
    assert_eq!(out["results"][1]["formatted"], Value::Null);
    assert!(out["results"][1]["error"].is_string());
    let out = ok(
        &kit,
        "ipfs_cid_format",
        json!({"cids": [v0, v1], "format": "%P %b %V %h %c %C %H %L %%"}),
    )
    .await;
    assert_eq!(
        out["results"][0]["formatted"],
        "cidv0-dag-pb-sha2-256-32 base58btc 0 sha2-256 dag-pb 112 18 32 %"
    );
    assert_eq!(
        out["results"][1]["formatted"],
        "cidv1-dag-pb-sha2-256-32 base32 1 sha2-256 dag-pb 112 18 32 %"
    );
    let out = ok(
        &kit,
        "ipfs_cid_format",
        json!({"cids": [v1], "version": "0"}),
    )
    .await;
    assert_eq!(out["results"][0]["formatted"], v0);
    let out = ok(
        &kit,
        "ipfs_cid_format",
        json!({"cids": [v0], "format": "%s %S %m", "base": "base58btc"}),
    )
    .await;
    let f = out["results"][0]["formatted"].as_str().unwrap().to_string();
    let parts: Vec<&str> = f.split(' ').collect();
    assert!(parts[0].starts_with("zdj7W"), "{f}");
    assert_eq!(parts[1], &parts[0][1..]);
    assert_eq!(parts[2], format!("z{v0}"));
    let out = ok(
        &kit,
        "ipfs_cid_format",
        json!({"cids": [v1], "codec": "raw", "base": "base36"}),
    )
    .await;
    let raw = out["results"][0]["formatted"].as_str().unwrap();
    assert!(raw.starts_with('k'), "{raw}");
    let parsed = ipfs_kit_content::parse_cid(raw).unwrap();
    assert_eq!(parsed.codec(), 0x55);
    let out = ok(
        &kit,
        "ipfs_cid_format",
        json!({"cids": ["bafkqaaa"], "version": "0"}),
    )
    .await;
    assert!(
        out["results"][0]["error"]
            .as_str()
            .unwrap()
            .contains("dag-pb")
    );
    fails(
        &kit,
        "ipfs_cid_format",
        json!({"cids": [v0], "format": "%Q"}),
        ErrorCode::InvalidInput,
    )
    .await;
    fails(
        &kit,
        "ipfs_cid_format",
        json!({"cids": [v0], "format": "plain"}),
        ErrorCode::InvalidInput,
    )
    .await;
    fails(
        &kit,
        "ipfs_cid_format",
        json!({"cids": [v0], "version": "0", "base": "base32"}),
        ErrorCode::InvalidInput,
    )
    .await;
    fails(
        &kit,
        "ipfs_cid_format",
        json!({"cids": [v0], "base": "base99"}),
        ErrorCode::InvalidInput,
    )
    .await;

    let bases = ok(&kit, "ipfs_cid_info", json!({"kind": "bases"})).await;
    let b32 = bases["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "base32")
        .unwrap();
    assert_eq!(b32["code"], 98);
    assert_eq!(b32["prefix"], "b");
    let codecs = ok(&kit, "ipfs_cid_info", json!({"kind": "codecs"})).await;
    for (n, c) in [
        ("raw", 0x55),
        ("dag-pb", 0x70),
        ("dag-cbor", 0x71),
        ("dag-json", 0x0129),
        ("libp2p-key", 0x72),
    ] {
        assert!(
            codecs["entries"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["name"] == n && e["code"] == c),
            "{n}"
        );
    }
    let hashes = ok(&kit, "ipfs_cid_info", json!({"kind": "hashes"})).await;
    assert_eq!(hashes["entries"][1]["name"], "sha2-256");
    fails(
        &kit,
        "ipfs_cid_info",
        json!({"kind": "colours"}),
        ErrorCode::InvalidInput,
    )
    .await;
}

/// The record the JS `ipns` package signs with `key_file` for the same inputs.
fn js_create(
    key_file: &Path,
    value: &str,
    seq: u64,
    validity: &str,
    ttl_ns: u64,
    v1: bool,
) -> Vec<u8> {
    let out = Command::new("node")
        .arg(interop_dir().join("ipns-verify.mjs"))
        .arg("create")
        .arg(key_file)
        .args([
            value,
            &seq.to_string(),
            validity,
            &ttl_ns.to_string(),
            &v1.to_string(),
        ])
        .output()
        .expect("node is needed for the interop tests");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(v["record_base64"].as_str().unwrap())
        .unwrap()
}

#[test]
fn js_ipns_signs_the_same_bytes() {
    ensure_interop();
    let dir = tempfile::tempdir().unwrap();
    let ks = Keystore::new(dir.path());
    let key = ks.identity().unwrap();
    let key_file = ks.dir().join(keystore::file_name("self"));
    // Nine significant fraction digits: Go (ours) trims trailing zeros, the JS package pads.
    let validity = "2030-01-02T03:04:05.123456789Z";
    let eol = ipns::parse_rfc3339(validity).unwrap();
    let value = "/ipfs/bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
    for (seq, ttl_ns, v1) in [
        (0u64, 300_000_000_000u64, true),
        (41, 1, false),
        (u64::from(u32::MAX) + 7, 3_600_000_000_000, true),
    ] {
        let ours =
            ipns::create_record(&key, value, seq, eol, Duration::from_nanos(ttl_ns), v1).unwrap();
        let theirs = js_create(&key_file, value, seq, validity, ttl_ns, v1);
        assert_eq!(
            hex::encode(&ours),
            hex::encode(&theirs),
            "seq {seq} ttl {ttl_ns} v1 {v1}"
        );
    }
}

fn js_verify(record: &Path, name: &str) -> (bool, Value) {
    let out = Command::new("node")
        .arg(interop_dir().join("ipns-verify.mjs"))
        .arg(record)
        .arg(name)
        .output()
        .expect("node is needed for the interop tests");
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("{e}: {text} {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.success(), v)
}

#[tokio::test]
async fn js_ipns_accepts_our_records() {
    ensure_interop();
    let (home, kit) = kit();
    let a = put(&kit, "for the JS peer").await;
    let out = ok(&kit, "ipfs_name_publish", json!({"path": a, "ttl": "90s"})).await;
    let name = out["name"].as_str().unwrap().to_string();
    let store = RecordStore::new(&repo_dir(home.path()));
    let file = store.path(&keystore::parse_peer_id(&name).unwrap());
    let (success, v) = js_verify(&file, &name);
    assert!(success, "{v}");
    assert_eq!(v["ok"], true);
    assert_eq!(v["v2_valid"], true);
    assert_eq!(v["has_v1"], true);
    assert_eq!(v["v1_valid"], true);
    assert_eq!(v["value"], format!("/ipfs/{a}"));
    assert_eq!(v["sequence"], "0");
    assert_eq!(v["ttl"], "90000000000");
    assert_eq!(
        v["validity"].as_str().unwrap(),
        record_of(home.path(), &name).validity
    );

    // V2-only records too, with a higher sequence.
    let b = put(&kit, "second value").await;
    ok(
        &kit,
        "ipfs_name_publish",
        json!({"path": b, "v1compat": false}),
    )
    .await;
    let (success, v) = js_verify(&file, &name);
    assert!(success, "{v}");
    assert_eq!(
        (v["has_v1"].clone(), v["sequence"].clone()),
        (json!(false), json!("1"))
    );

    // The JS peer refuses what we refuse: a record under the wrong name, and an expired one.
    let other = keystore::ipns_name(&Keypair::generate_ed25519().public().to_peer_id());
    let (success, v) = js_verify(&file, &other);
    assert!(!success && v["ok"] == false, "{v}");
    let me = Keystore::new(&repo_dir(home.path())).identity().unwrap();
    let expired = ipns::create_record(
        &me,
        "/ipfs/bafkqaaa",
        5,
        SystemTime::now() - Duration::from_secs(5),
        Duration::ZERO,
        true,
    )
    .unwrap();
    let path = home.path().join("expired.ipns");
    std::fs::write(&path, expired).unwrap();
    let (success, v) = js_verify(&path, &name);
    assert!(!success, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("expired"),
        "{v}"
    );
}

/// A stand-in Kubo RPC server: answers canned bodies per command and records each request line.
/// `pubsub/sub` sends one message and then keeps the answer open, as a quiet topic does.
async fn mock_kubo(
    answers: Vec<(&'static str, &'static str)>,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let answers = answers.clone();
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break p + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap_or(0))
                    })
                    .unwrap_or(0);
                while buf.len() < head_end + len {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let line = head.lines().next().unwrap_or_default().to_string();
                let body_text = String::from_utf8_lossy(&buf[head_end..]).to_string();
                log.lock().unwrap().push(format!("{line} {body_text}"));
                let path = line.split(' ').nth(1).unwrap_or_default();
                let cmd = path
                    .trim_start_matches("/api/v0/")
                    .split('?')
                    .next()
                    .unwrap_or_default();
                if cmd == "pubsub/sub" {
                    let msg = r#"{"from":"12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq","data":"uaGk","seqno":"uAAE","topicIDs":["udA"]}"#;
                    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nX-Chunked-Output: 1\r\n\r\n";
                    let _ = sock.write_all(head.as_bytes()).await;
                    let line = format!("{msg}\n");
                    let _ = sock
                        .write_all(format!("{:x}\r\n{line}\r\n", line.len()).as_bytes())
                        .await;
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    return;
                }
                let (status, body) = match answers.iter().find(|(c, _)| *c == cmd) {
                    Some((_, b)) => ("200 OK", b.to_string()),
                    None => (
                        "500 Internal Server Error",
                        format!(r#"{{"Message":"unknown command {cmd}","Code":0,"Type":"error"}}"#),
                    ),
                };
                let resp = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn kubo_translations() {
    let pid = "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq";
    let (url, seen) = mock_kubo(vec![
        ("id", r#"{"ID":"12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq","PublicKey":"CAESIB7R6PrixKFEuL6P1LR789OzS4ccPKz2AQ8OQtR0/OJ+","Addresses":["/ip4/127.0.0.1/tcp/4001"],"AgentVersion":"kubo/0.44.0","Protocols":["/ipfs/bitswap/1.2.0"]}"#),
        ("key/gen", r#"{"Name":"k1","Id":"k51qzi5uqu5dgy8qsq67hbz73jqkw87l3fgf4a91qb0d9b5173tir7n4vxk1oe"}"#),
        ("key/ls", r#"{"Keys":[{"Name":"self","Id":"k51a"},{"Name":"k1","Id":"k51b"}]}"#),
        ("key/rm", r#"{"Keys":[{"Name":"k1","Id":"k51b"}]}"#),
        ("name/publish", r#"{"Name":"k51a","Value":"/ipfs/bafkqaaa"}"#),
        ("name/resolve", r#"{"Path":"/ipfs/bafkqaaa"}"#),
        ("repo/stat", r#"{"RepoSize":1234,"StorageMax":10000000000,"NumObjects":7,"RepoPath":"/home/u/.ipfs","Version":"fs-repo@16"}"#),
        ("stats/bw", r#"{"TotalIn":10,"TotalOut":20,"RateIn":1.5,"RateOut":2.5}"#),
        ("swarm/peers", r#"{"Peers":[{"Addr":"/ip4/1.2.3.4/tcp/4001","Peer":"12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq","Latency":"","Muxer":"","Direction":0,"Streams":null}]}"#),
        ("routing/findpeer", "{\"Extra\":\"\",\"ID\":\"\",\"Responses\":null,\"Type\":0}\n{\"Extra\":\"\",\"ID\":\"\",\"Responses\":[{\"ID\":\"12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq\",\"Addrs\":[\"/ip4/1.2.3.4/tcp/4001\"]}],\"Type\":2}\n"),
        ("routing/findprovs", "{\"Extra\":\"\",\"ID\":\"\",\"Responses\":[{\"ID\":\"12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq\",\"Addrs\":[]}],\"Type\":4}\n{\"Extra\":\"\",\"ID\":\"x\",\"Responses\":null,\"Type\":1}\n"),
        ("dht/query", "{\"ID\":\"12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq\",\"Type\":2,\"Responses\":null,\"Extra\":\"\"}\n{\"ID\":\"QmaeANgBs1DTSxWSrPPtobgQuxW8XTfsS4ydbK4rCHzqxG\",\"Type\":1,\"Responses\":null,\"Extra\":\"\"}\n"),
        ("pubsub/pub", ""),
        ("pubsub/peers", r#"{"Strings":["12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"]}"#),
        ("dag/stat", "{\"UniqueBlocks\":1,\"TotalSize\":5,\"DagStats\":[{\"Cid\":\"bafkqaaa\",\"Size\":5,\"NumBlocks\":1}]}\n{\"UniqueBlocks\":2,\"TotalSize\":9,\"SharedSize\":0,\"Ratio\":1,\"DagStats\":[{\"Cid\":\"bafkqaaa\",\"Size\":9,\"NumBlocks\":2}]}\n"),
        ("dag/resolve", r#"{"Cid":{"/":"bafkqaaa"},"RemPath":"a/b"}"#),
    ])
    .await;
    let home = tempfile::tempdir().unwrap();
    let kit = Kit::with_kubo(
        home.path(),
        ipfs_kit_clients::KuboClient::new(&url).unwrap(),
    );

    let id = ok(&kit, "ipfs_id", json!({})).await;
    assert_eq!(id["id"], pid);
    assert_eq!(id["addresses"], json!(["/ip4/127.0.0.1/tcp/4001"]));
    assert_eq!(id["agent_version"], "kubo/0.44.0");
    assert_eq!(
        ok(&kit, "ipfs_key_gen", json!({"name": "k1"})).await["name"],
        "k1"
    );
    assert_eq!(
        ok(&kit, "ipfs_key_list", json!({})).await["keys"][1],
        json!({"name": "k1", "id": "k51b"})
    );
    assert_eq!(
        ok(&kit, "ipfs_key_rm", json!({"names": ["k1"]})).await["keys"][0]["name"],
        "k1"
    );
    let p = ok(&kit, "ipfs_name_publish", json!({"path": "bafkqaaa", "key": "k1", "lifetime": "1h", "sequence": 3, "allow_offline": true})).await;
    assert_eq!(p, json!({"name": "k51a", "value": "/ipfs/bafkqaaa"}));
    assert_eq!(
        ok(
            &kit,
            "ipfs_name_resolve",
            json!({"name": "k51a", "recursive": false})
        )
        .await["path"],
        "/ipfs/bafkqaaa"
    );
    let st = ok(&kit, "ipfs_stats", json!({})).await;
    assert_eq!(st["repo"]["num_objects"], 7);
    assert_eq!(
        st["bandwidth"],
        json!({"total_in": 10, "total_out": 20, "rate_in": 1.5, "rate_out": 2.5})
    );
    assert_eq!(st["networked"], true);
    let sp = ok(&kit, "ipfs_swarm_peers", json!({})).await;
    assert_eq!(
        sp["peers"],
        json!([{"peer": pid, "addr": "/ip4/1.2.3.4/tcp/4001"}])
    );
    let fp = ok(&kit, "ipfs_dht_findpeer", json!({"peer_id": pid})).await;
    assert_eq!(fp, json!({"id": pid, "addrs": ["/ip4/1.2.3.4/tcp/4001"]}));
    let pr = ok(
        &kit,
        "ipfs_dht_findprovs",
        json!({"cid": "bafkqaaa", "num_providers": 5}),
    )
    .await;
    assert_eq!(pr["providers"], json!([{"id": pid, "addrs": []}]));
    assert_eq!(pr["timed_out"], false);
    let q = ok(&kit, "ipfs_dht_query", json!({"peer_id": pid})).await;
    assert_eq!(q["peers"], json!([pid]));
    let pb = ok(
        &kit,
        "ipfs_pubsub_publish",
        json!({"topic": "t", "data": "hi"}),
    )
    .await;
    assert_eq!(pb["size"], 2);
    assert_eq!(
        ok(&kit, "ipfs_pubsub_peers", json!({"topic": "t"})).await["peers"],
        json!([pid])
    );
    let started = std::time::Instant::now();
    let sub = ok(
        &kit,
        "ipfs_pubsub_subscribe",
        json!({"topic": "t", "max_messages": 5, "timeout_seconds": 1}),
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(sub["timed_out"], true, "{sub}");
    assert_eq!(sub["messages"][0]["data"], "hi");
    assert_eq!(sub["messages"][0]["seqno"], "0001");
    assert_eq!(sub["messages"][0]["topics"], json!(["t"]));
    let sub = ok(
        &kit,
        "ipfs_pubsub_subscribe",
        json!({"topic": "t", "max_messages": 1, "timeout_seconds": 5}),
    )
    .await;
    assert_eq!(
        (
            sub["timed_out"].clone(),
            sub["messages"].as_array().unwrap().len()
        ),
        (json!(false), 1)
    );
    let ds = ok(&kit, "ipfs_dag_stat", json!({"paths": ["bafkqaaa"]})).await;
    assert_eq!(
        (ds["total_size"].clone(), ds["num_blocks"].clone()),
        (json!(9), json!(2)),
        "the final summary counts"
    );
    assert_eq!(
        ok(
            &kit,
            "ipfs_dag_resolve",
            json!({"path": "/ipfs/bafkqaaa/a/b"})
        )
        .await,
        json!({"cid": "bafkqaaa", "rem_path": "a/b"})
    );
    // CID tools never need the daemon.
    assert!(
        ok(&kit, "ipfs_cid_format", json!({"cids": ["bafkqaaa"]})).await["results"][0]["formatted"]
            == "bafkqaaa"
    );

    let seen = seen.lock().unwrap().clone();
    let find = |cmd: &str| {
        seen.iter()
            .find(|l| {
                l.contains(&format!("/api/v0/{cmd}?")) || l.contains(&format!("/api/v0/{cmd} "))
            })
            .cloned()
            .unwrap_or_else(|| panic!("no {cmd} in {seen:?}"))
    };
    let publish = find("name/publish");
    for part in [
        "arg=%2Fipfs%2Fbafkqaaa",
        "key=k1",
        "lifetime=1h",
        "sequence=3",
        "allow-offline=true",
        "v1compat=true",
        "resolve=true",
    ] {
        assert!(publish.contains(part), "{part} in {publish}");
    }
    assert!(find("name/resolve").contains("recursive=false"));
    assert!(find("routing/findprovs").contains("num-providers=5"));
    assert!(
        find("pubsub/sub").contains("arg=udA"),
        "topics go multibase-encoded"
    );
    let pubreq = find("pubsub/pub");
    assert!(
        pubreq.contains("arg=udA") && pubreq.contains("hi"),
        "{pubreq}"
    );
    assert!(find("dag/stat").contains("progress=false"));
    // Kubo's errors come back in the one error shape.
    let e = fails(&kit, "ipfs_repo_gc", json!({}), ErrorCode::InvalidInput).await;
    assert!(e.message.contains("unknown command"), "{}", e.message);
}
