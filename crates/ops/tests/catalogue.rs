//! The catalogue's public interface (names, schemas, hints) and its behaviour through the erased JSON face.

use std::path::Path;

use ipfs_kit_ops::{Catalogue, ErrorCode, Kit, OpContext};
use serde_json::{Value, json};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Any change to a tool's name, schema or hints must be deliberate: regenerate with
/// `UPDATE_SNAPSHOTS=1 cargo test -p ipfs-kit-ops --test catalogue` and review the diff.
#[test]
fn tool_list_snapshot() {
    let tools = Catalogue::standard().describe(None, false);
    let got = serde_json::to_string_pretty(&tools).unwrap() + "\n";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/tools.json");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        got == want,
        "the tool list changed; review and regenerate tests/snapshots/tools.json with UPDATE_SNAPSHOTS=1"
    );
}

#[test]
fn every_tool_is_well_formed_and_named_in_the_inventory() {
    let inventory = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/TOOLS.md"),
    )
    .expect("../shared/TOOLS.md beside the checkout");
    // `| cluster_service_config_create / _get / _set |` names three tools
    let mut inventory = inventory.clone();
    for cell in inventory.clone().split('|').filter(|c| c.contains(" / _")) {
        let mut parts = cell.trim().split(" / ");
        let first = parts.next().unwrap_or_default();
        let base = first.rsplit_once('_').map_or(first, |(b, _)| b);
        for suffix in parts {
            inventory.push_str(&format!("\n{base}{suffix}"));
        }
    }
    // Operations the CLI needs that the inventory does not list (yet).
    let extra = [
        "ipfs_block_rm",
        "ipfs_repo_verify",
        // Keys behind IPNS publishing (Kubo's `key gen|ls|rm`): names need keys to publish with.
        "ipfs_key_gen",
        "ipfs_key_list",
        "ipfs_key_rm",
        // Kubo's `cid format` and `cid bases|codecs|hashes`: converting and printing CIDs needs no node.
        "ipfs_cid_format",
        "ipfs_cid_info",
        // Kubo's `dag stat` and `dag resolve`: DAG sizes and path resolution the CLI and RPC face offer.
        "ipfs_dag_stat",
        "ipfs_dag_resolve",
        // `ipfs-kit config get|backup|history|restore|diff|ports` for every daemon kind, not only Cluster's:
        "config_get", // read any kind's config (the inventory only names the Cluster readers)
        "config_backup", // save the current files as a version before risky hand edits
        "config_history", // list saved versions so restore has something to name
        "config_restore", // put a saved version back, byte for byte
        "config_diff", // what differs from the defaults or a saved version
        "config_port_plan", // every daemon's listeners on this host, with collisions and suggested ports
    ];
    let catalogue = Catalogue::standard();
    assert!(catalogue.len() >= 20);
    for t in catalogue.describe(None, false) {
        assert!(
            inventory.contains(t.name) || extra.contains(&t.name),
            "{} is not in TOOLS.md",
            t.name
        );
        assert!(t.name.len() <= 40 && !t.name.contains('.'));
        assert!(!t.meta.description.is_empty() && !t.meta.title.is_empty());
        for schema in [&t.input_schema, &t.output_schema] {
            assert_eq!(schema["type"], "object", "{}: {schema}", t.name);
            for banned in ["$schema", "oneOf", "anyOf", "allOf", "$ref", "$defs"] {
                assert!(
                    schema.get(banned).is_none(),
                    "{} has top-level {banned}",
                    t.name
                );
            }
        }
        assert!(!(t.meta.read_only && t.meta.destructive), "{}", t.name);
    }
    let read_only = catalogue.describe(None, true);
    assert!(read_only.iter().all(|t| t.meta.read_only));
    assert!(read_only.iter().any(|t| t.name == "ipfs_cat"));
    assert!(!read_only.iter().any(|t| t.name == "ipfs_add"));
}

#[test]
fn add_then_cat_ls_pin_through_the_json_face() {
    let home = tempfile::tempdir().unwrap();
    let kit = Kit::open(home.path()).unwrap();
    let c = Catalogue::standard();
    let cx = OpContext::default();
    rt().block_on(async {
        let call = |name: &'static str, input: Value| {
            let op = c.require(name).unwrap().clone();
            let kit = kit.clone();
            let cx = cx.clone();
            async move { op.call(&kit, input, &cx).await }
        };
        let out = call("ipfs_add", json!({"content": "hello world"})).await.unwrap();
        assert_eq!(out["root"], "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD");
        assert_eq!(out["entries"][0]["size"], 19);
        assert_eq!(out["pinned"], true);

        let out = call("ipfs_cat", json!({"path": "/ipfs/Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD", "offset": 6}))
            .await
            .unwrap();
        assert_eq!(out["content"], "world");
        assert_eq!((out["file_size"].as_u64(), out["truncated"].as_bool()), (Some(11), Some(false)));

        let out = call("ipfs_cat", json!({"path": "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD", "length": 2, "encoding": "base64"}))
            .await
            .unwrap();
        assert_eq!((out["content"].as_str(), out["truncated"].as_bool()), (Some("aGU="), Some(true)));

        let out = call("ipfs_add", json!({"content": "x", "cid_version": 1, "wrap_with_directory": true, "name": "x.txt"}))
            .await
            .unwrap();
        let dir = out["root"].as_str().unwrap().to_string();
        let out = call("ipfs_ls", json!({"path": dir})).await.unwrap();
        assert_eq!(out["entries"][0]["name"], "x.txt");
        assert_eq!(out["entries"][0]["type"], "file");

        let out = call("ipfs_pin_ls", json!({"type": "recursive"})).await.unwrap();
        let pins: Vec<&str> = out["pins"].as_array().unwrap().iter().map(|p| p["cid"].as_str().unwrap()).collect();
        assert!(pins.contains(&"Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD"));
        assert!(pins.contains(&dir.as_str()));

        let out = call("ipfs_add", json!({"content": "not stored", "only_hash": true})).await.unwrap();
        let err = call("ipfs_cat", json!({"path": out["root"]})).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::NotFound);
    });
}

#[test]
fn errors_have_one_shape() {
    let home = tempfile::tempdir().unwrap();
    let kit = Kit::open(home.path()).unwrap();
    let c = Catalogue::standard();
    let cx = OpContext::default();
    rt().block_on(async {
        let err = c.require("no_such_tool").err().unwrap();
        assert_eq!(err.code, ErrorCode::NotFound);

        let op = c.require("ipfs_cat").unwrap();
        let err = op
            .call(&kit, json!({"path": "not-a-cid"}), &cx)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidCid);
        let v = err.to_json();
        assert_eq!(v["status"], "error");
        assert_eq!(v["error_code"], "INVALID_CID");
        assert!(v["error"].as_str().unwrap().contains("not-a-cid"));
        assert!(v["context"].is_object());

        let err = op.call(&kit, json!({"path": 5}), &cx).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        let err = op
            .call(&kit, json!({"path": "x", "bogus": 1}), &cx)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);

        let add = c.require("ipfs_add").unwrap();
        let err = add
            .call(&kit, json!({"content": "a", "chunker": "size-0"}), &cx)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        let err = add
            .call(&kit, json!({"content": "a", "content_base64": "YQ=="}), &cx)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
    });
}

#[test]
fn cancelled_add_stores_no_pin() {
    let home = tempfile::tempdir().unwrap();
    let kit = Kit::open(home.path()).unwrap();
    let c = Catalogue::standard();
    let cx = OpContext::default();
    cx.cancel();
    rt().block_on(async {
        let big = "x".repeat(8 << 20);
        let err = c
            .require("ipfs_add")
            .unwrap()
            .call(&kit, json!({"content": big}), &cx)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::Cancelled);
        let pins = c
            .require("ipfs_pin_ls")
            .unwrap()
            .call(&kit, json!({}), &OpContext::default())
            .await
            .unwrap();
        assert_eq!(pins["pins"], json!([]));
    });
}

#[test]
fn progress_is_reported() {
    let home = tempfile::tempdir().unwrap();
    let kit = Kit::open(home.path()).unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let cx = OpContext::with_progress(move |p| s.lock().unwrap().push(p.done));
    rt().block_on(async {
        Catalogue::standard()
            .require("ipfs_add")
            .unwrap()
            .call(&kit, json!({"content": "y".repeat(3 << 20)}), &cx)
            .await
            .unwrap();
    });
    let seen = seen.lock().unwrap();
    assert!(!seen.is_empty());
    assert_eq!(*seen.last().unwrap(), 3 << 20);
    assert!(seen.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn dag_get_encodes_in_the_asked_codec() {
    let home = tempfile::tempdir().unwrap();
    let kit = Kit::open(home.path()).unwrap();
    let c = Catalogue::standard();
    let cx = OpContext::default();
    rt().block_on(async {
        let put = c
            .require("ipfs_dag_put")
            .unwrap()
            .call(&kit, json!({"data": r#"{"b": [1, 2], "a": "x"}"#}), &cx)
            .await
            .unwrap();
        let cid = put["cid"].as_str().unwrap();
        let get = c.require("ipfs_dag_get").unwrap();
        let cbor = get
            .call(&kit, json!({"path": cid, "output_codec": "dag-cbor"}), &cx)
            .await
            .unwrap();
        let stored = c
            .require("ipfs_block_get")
            .unwrap()
            .call(&kit, json!({"cid": cid}), &cx)
            .await
            .unwrap();
        // Re-encoding the stored dag-cbor node gives its exact bytes back.
        assert_eq!(cbor["data_base64"], stored["data_base64"]);
        let as_json = get
            .call(&kit, json!({"path": cid, "output_codec": "dag-json"}), &cx)
            .await
            .unwrap();
        use base64::Engine;
        let text = base64::engine::general_purpose::STANDARD
            .decode(as_json["data_base64"].as_str().unwrap())
            .unwrap();
        assert_eq!(text, br#"{"a":"x","b":[1,2]}"#);
        assert_eq!(as_json["value"], json!({"a": "x", "b": [1, 2]}));
        let err = get
            .call(&kit, json!({"path": cid, "output_codec": "nope"}), &cx)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
    });
}
