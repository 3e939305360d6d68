//! The `config` toolset through the catalogue's JSON face: every kind through create → validate → set → get →
//! backup → restore → diff, the error codes of bad input, and the aliases.
//!
//! The store reads `HOME` (and `IPFS_PATH`, …) from the environment, so the checks run in a child process whose
//! environment points at a temporary directory.

#[path = "support/temp_home.rs"]
mod temp_home;
use std::collections::BTreeMap;
use std::path::PathBuf;

use ipfs_kit_ops::{Catalogue, ErrorCode, Kit, OpContext, OpError};
use serde_json::{Value, json};

const OTHER_PEER: &str = "12D3KooW9rxqumy8vqCxnNfpeyT7zHGae6srENFW2gip8LMw3TsX";

struct Env {
    kit: Kit,
    catalogue: Catalogue,
    rt: tokio::runtime::Runtime,
}

impl Env {
    fn call(&self, name: &str, input: Value) -> Result<Value, OpError> {
        let op = self.catalogue.require(name)?.clone();
        self.rt
            .block_on(async { op.call(&self.kit, input, &OpContext::default()).await })
    }

    fn ok(&self, name: &str, input: Value) -> Value {
        self.call(name, input.clone())
            .unwrap_or_else(|e| panic!("{name} {input}: {}", e.to_json()))
    }

    fn files(&self, kind: &str, cluster: Option<&str>) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut input = json!({ "kind": kind });
        if let Some(c) = cluster {
            input["cluster"] = c.into();
        }
        let out = self.ok("get_daemon_config_status", input);
        out["configs"][0]["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let p = PathBuf::from(f["path"].as_str().unwrap());
                let b = std::fs::read(&p).unwrap();
                (p, b)
            })
            .collect()
    }
}

/// Per kind: a good dotted change and a value only the full document holds (a secret) to check redaction.
fn cases() -> Vec<(&'static str, Option<&'static str>, &'static str, Value)> {
    vec![
        (
            "kubo",
            None,
            "Addresses.API",
            json!("/ip4/127.0.0.1/tcp/5011"),
        ),
        (
            "ipfs_cluster_service",
            None,
            "service.cluster.replication_factor_min",
            json!(2),
        ),
        (
            "ipfs_cluster_follow",
            Some("fleet"),
            "service.cluster.peername",
            json!("follower-1"),
        ),
        (
            "ipfs_cluster_ctl",
            None,
            "host",
            json!("/ip4/10.0.0.1/tcp/9094"),
        ),
        (
            "lotus",
            None,
            "API.ListenAddress",
            json!("/ip4/127.0.0.1/tcp/1235/http"),
        ),
        ("lassie", None, "port", json!(41444)),
        ("s3", None, "default.access_key", json!("AKIAEXAMPLE")),
        ("huggingface", None, "token", json!("hf_abcdefghijklmnop")),
        ("storacha", None, "email", json!("ops@example.org")),
    ]
}

fn with_cluster(mut v: Value, cluster: Option<&str>) -> Value {
    if let Some(c) = cluster {
        v["cluster"] = c.into();
    }
    v
}

fn get_path<'a>(doc: &'a Value, dotted: &str) -> &'a Value {
    dotted.split('.').fold(doc, |v, k| &v[k])
}

/// Runs [`in_temp_home`] in a child process whose `HOME` is a temporary directory (changing this process's
/// environment would need `unsafe`, and the real home must never be touched).
#[test]
fn config_toolset_through_the_catalogue() {
    temp_home::run_in_temp_home("CONFIG_OPS_TEMP_HOME");
}

#[test]
#[ignore = "run by config_toolset_through_the_catalogue with HOME in a temporary directory"]
fn in_temp_home() {
    let home = PathBuf::from(
        std::env::var_os("CONFIG_OPS_TEMP_HOME")
            .expect("run through config_toolset_through_the_catalogue"),
    );
    assert_eq!(
        std::env::var_os("HOME").map(PathBuf::from),
        Some(home.clone())
    );
    let env = Env {
        kit: Kit::open(&home.join(".ipfs_kit")).unwrap(),
        catalogue: Catalogue::standard(),
        rt: tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap(),
    };

    every_kind_round_trip(&env, &home);
    bad_input_error_codes(&env);
    aliases_resolve(&env);
    joining_and_ports(&env);
}

fn every_kind_round_trip(env: &Env, home: &std::path::Path) {
    let out = env.ok("configure_daemon", json!({"kind": "all"}));
    let created: Vec<&str> = out["configs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["created"], true, "{c}");
            c["target"].as_str().unwrap()
        })
        .collect();
    assert_eq!(created.len(), 8, "every kind but followers: {created:?}");
    assert!(home.join(".ipfs/config").exists());
    assert!(home.join(".ipfs-cluster/service.json").exists());
    assert!(home.join(".ipfs-cluster/identity.json").exists());
    // idempotent without overwrite
    let again = env.ok("configure_daemon", json!({"kind": "all"}));
    assert!(
        again["configs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["created"] == false)
    );
    let out = env.ok("cluster_follow_config_create", json!({"cluster": "fleet"}));
    assert_eq!(
        (out["created"].as_bool(), out["target"].as_str()),
        (Some(true), Some("ipfs_cluster_follow@fleet"))
    );
    assert!(
        home.join(".ipfs-cluster-follow/fleet/service.json")
            .exists()
    );

    let all = env.ok("validate_daemon_configs", json!({}));
    assert_eq!(all["valid"], true, "{all}");
    assert_eq!(all["configs"].as_array().unwrap().len(), 9);

    for (kind, cluster, path, value) in cases() {
        let ctx = format!(
            "{kind}{}",
            cluster.map(|c| format!("@{c}")).unwrap_or_default()
        );
        let sel = with_cluster(json!({ "kind": kind }), cluster);
        let v = env.ok("validate_daemon_configs", sel.clone());
        assert_eq!(v["configs"][0]["valid"], true, "{ctx}: {v}");

        // validate_only: the change is shown, nothing is written
        let before = env.files(kind, cluster);
        let dry = env.ok(
            "update_daemon_config",
            with_cluster(
                json!({"kind": kind, "path": path, "value": value, "validate_only": true}),
                cluster,
            ),
        );
        assert_eq!(dry["written"], false, "{ctx}");
        assert_eq!(dry["changes"][0]["path"], path, "{ctx}: {dry}");
        assert_eq!(
            before,
            env.files(kind, cluster),
            "{ctx}: validate_only wrote"
        );

        let set = env.ok(
            "update_daemon_config",
            with_cluster(json!({"kind": kind, "path": path, "value": value}), cluster),
        );
        assert_eq!(set["written"], true, "{ctx}");
        let first_backup = set["backup"].as_str().unwrap().to_string();

        // get: the change is there; secrets are redacted and revealed only on request
        let got = env.ok("config_get", sel.clone());
        assert_eq!(got["redacted"], true);
        let redacted_text = got["config"].to_string();
        if kind != "s3" && kind != "huggingface" {
            assert_eq!(get_path(&got["config"], path), &value, "{ctx}");
        }
        let full = env.ok(
            "config_get",
            with_cluster(json!({"kind": kind, "reveal_secrets": true}), cluster),
        );
        assert_eq!(full["redacted"], false);
        if redacted_text.contains("<redacted>") {
            assert_ne!(
                full["config"], got["config"],
                "{ctx}: reveal_secrets shows secrets"
            );
            assert!(!full["config"].to_string().contains("<redacted>"), "{ctx}");
        }

        // backup → history → restore the version before the change
        let b = env.ok("config_backup", sel.clone());
        let hist = env.ok("config_history", sel.clone());
        let versions: Vec<&str> = hist["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["version"].as_str().unwrap())
            .collect();
        assert_eq!(
            versions[0],
            b["version"].as_str().unwrap(),
            "{ctx}: newest first"
        );
        assert!(versions.contains(&first_backup.as_str()), "{ctx}");

        let diff = env.ok(
            "config_diff",
            with_cluster(json!({"kind": kind, "against": first_backup}), cluster),
        );
        assert!(
            diff["changes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["path"] == path),
            "{ctx}: {diff}"
        );
        let restored = env.ok(
            "config_restore",
            with_cluster(json!({"kind": kind, "version": first_backup}), cluster),
        );
        assert_eq!(restored["written"], true, "{ctx}");
        let diff = env.ok(
            "config_diff",
            with_cluster(json!({"kind": kind, "against": first_backup}), cluster),
        );
        assert_eq!(
            diff["changes"],
            json!([]),
            "{ctx}: restored to the saved version"
        );
        assert_eq!(
            before,
            env.files(kind, cluster),
            "{ctx}: restore puts the bytes back"
        );

        // diff against the defaults never shows a secret
        let d = env.ok("config_diff", sel.clone());
        assert_eq!(d["against"], "defaults");
        let full_text = full["config"].to_string();
        for c in d["changes"].as_array().unwrap() {
            for side in ["old", "new"] {
                if let Some(s) = c[side].as_str()
                    && s.len() >= 16
                    && s != "<redacted>"
                {
                    assert!(
                        !redacted_text.contains(s) || full_text.contains(s),
                        "{ctx}: {c}"
                    );
                }
            }
        }
    }

    // get redacts the cluster secret and the identity's private key
    let svc = env.ok("cluster_service_config_get", json!({}));
    assert_eq!(svc["config"]["service"]["cluster"]["secret"], "<redacted>");
    assert_eq!(svc["config"]["identity"]["private_key"], "<redacted>");
    let kubo = env.ok("config_get", json!({"kind": "kubo"}));
    assert_eq!(kubo["config"]["Identity"]["PrivKey"], "<redacted>");
}

fn bad_input_error_codes(env: &Env) {
    let before = env.files("ipfs_cluster_service", None);
    let e = env
        .call(
            "cluster_service_config_set",
            json!({"merge": {"service": {"cluster": {"secret": "xyz", "replication_factor_min": 3, "replication_factor_max": 2}}}}),
        )
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::ConfigInvalid, "{}", e.to_json());
    let codes: Vec<&str> = e.context["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"bad_secret") && codes.contains(&"replication"),
        "{codes:?}"
    );
    assert_eq!(
        before,
        env.files("ipfs_cluster_service", None),
        "refused change wrote"
    );

    let e = env
        .call(
            "update_daemon_config",
            json!({"kind": "kubo", "path": "Addresses.API", "value": "/ip4/1.2.3/tcp/5001"}),
        )
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::ConfigInvalid);
    assert_eq!(
        e.context["problems"][0]["code"],
        "bad_multiaddr",
        "{}",
        e.to_json()
    );
    let e = env
        .call(
            "update_daemon_config",
            json!({"kind": "kubo", "path": "Identity.PeerID", "value": OTHER_PEER}),
        )
        .unwrap_err();
    assert_eq!(
        e.context["problems"][0]["code"],
        "bad_peer_id",
        "{}",
        e.to_json()
    );

    // Kubo's API moved onto the Cluster service's REST API port: a collision, with a suggested port
    let kubo_before = env.files("kubo", None);
    let e = env
        .call(
            "update_daemon_config",
            json!({"kind": "kubo", "path": "Addresses.API", "value": "/ip4/127.0.0.1/tcp/9094"}),
        )
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::PortInUse, "{}", e.to_json());
    let port = e.context["suggested_port"].as_u64().unwrap();
    assert!(port > 0 && port != 9094, "{}", e.to_json());
    assert_eq!(kubo_before, env.files("kubo", None), "refused change wrote");
    let ok = env.ok(
        "update_daemon_config",
        json!({"kind": "kubo", "path": "Addresses.API", "value": format!("/ip4/127.0.0.1/tcp/{port}"), "validate_only": true}),
    );
    assert_eq!(ok["written"], false);

    for (name, input, code) in [
        (
            "config_get",
            json!({"kind": "nonsense"}),
            ErrorCode::InvalidInput,
        ),
        (
            "config_get",
            json!({"kind": "ipfs_cluster_follow"}),
            ErrorCode::InvalidInput,
        ),
        (
            "config_get",
            json!({"kind": "kubo", "cluster": "x"}),
            ErrorCode::InvalidInput,
        ),
        (
            "config_get",
            json!({"kind": "ipfs_cluster_follow", "cluster": "../up"}),
            ErrorCode::InvalidInput,
        ),
        (
            "cluster_follow_config_get",
            json!({"cluster": "absent"}),
            ErrorCode::NotFound,
        ),
        (
            "config_restore",
            json!({"kind": "kubo", "version": "nope"}),
            ErrorCode::NotFound,
        ),
        (
            "update_daemon_config",
            json!({"kind": "kubo"}),
            ErrorCode::InvalidInput,
        ),
        (
            "update_daemon_config",
            json!({"kind": "kubo", "path": "Addresses.API"}),
            ErrorCode::InvalidInput,
        ),
        (
            "update_daemon_config",
            json!({"kind": "kubo", "merge": [1]}),
            ErrorCode::InvalidInput,
        ),
        (
            "validate_daemon_configs",
            json!({"kind": "ipfs_cluster_follow", "cluster": "absent"}),
            ErrorCode::NotFound,
        ),
    ] {
        let e = env.call(name, input.clone()).unwrap_err();
        assert_eq!(e.code, code, "{name} {input}: {}", e.to_json());
    }

    // a config broken on disk: validate names the problem, status reports it
    let lassie = env.files("lassie", None);
    let (path, bytes) = lassie.iter().next().unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let broken = text.replace("port = 41443", "port = 99999");
    assert_ne!(text, broken, "{text}");
    std::fs::write(path, broken).unwrap();
    let e = env
        .call("validate_daemon_configs", json!({"kind": "lassie"}))
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::ConfigInvalid, "{}", e.to_json());
    let st = env.ok("get_daemon_config_status", json!({}));
    assert_eq!(st["valid"], false);
    let l = st["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "lassie")
        .unwrap();
    assert_eq!(
        (l["exists"].as_bool(), l["valid"].as_bool()),
        (Some(true), Some(false)),
        "{l}"
    );
    assert!(!l["problems"].as_array().unwrap().is_empty());
    std::fs::write(path, bytes).unwrap();
}

fn aliases_resolve(env: &Env) {
    let c = &env.catalogue;
    for (alias, tool) in [
        ("create_service_config", "cluster_service_config_create"),
        ("create_follow_config", "cluster_follow_config_create"),
        ("get_service_config", "cluster_service_config_get"),
        ("get_follow_config", "cluster_follow_config_get"),
        ("update_service_config", "cluster_service_config_set"),
        ("update_follow_config", "cluster_follow_config_set"),
        ("get_service_status", "get_daemon_config_status"),
        ("get_follow_status", "get_daemon_config_status"),
    ] {
        assert_eq!(c.get(alias).map(|o| o.name()), Some(tool), "{alias}");
    }
    // get_service_peers / get_follow_peers are the Cluster client's
    assert!(c.get("get_service_peers").map(|o| o.name()) != Some("cluster_service_config_get"));
    let out = env.ok("get_follow_config", json!({"cluster": "fleet"}));
    assert_eq!(out["config"]["identity"]["private_key"], "<redacted>");
    let out = env.ok(
        "get_service_status",
        json!({"kind": "ipfs_cluster_service"}),
    );
    assert_eq!(out["configs"].as_array().unwrap().len(), 1);
    assert_eq!(out["configs"][0]["valid"], true);
    let out = env.ok("get_follow_status", json!({"kind": "ipfs_cluster_follow"}));
    let followers: Vec<&str> = out["configs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["target"].as_str().unwrap())
        .collect();
    assert_eq!(followers, ["ipfs_cluster_follow@fleet"], "{out}");
    let out = env.ok("update_follow_config", json!({"cluster": "fleet", "path": "service.cluster.peername", "value": "f2", "validate_only": true}));
    assert_eq!(out["changes"][0]["new"], "f2");
    // the revealing readers are not offered to read-only faces
    let ro: Vec<&str> = c
        .describe(None, true)
        .iter()
        .map(|t| t.name)
        .collect::<Vec<_>>()
        .into_iter()
        .collect();
    for name in [
        "config_get",
        "cluster_service_config_get",
        "cluster_follow_config_get",
    ] {
        assert!(!ro.contains(&name), "{name} is read-only-listed");
    }
    for name in [
        "validate_daemon_configs",
        "get_daemon_config_status",
        "config_port_plan",
        "config_diff",
    ] {
        assert!(ro.contains(&name), "{name}");
    }
}

fn joining_and_ports(env: &Env) {
    let leader_id = env.ok(
        "cluster_service_config_get",
        json!({"reveal_secrets": true}),
    );
    let secret = leader_id["config"]["service"]["cluster"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let id = leader_id["config"]["identity"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let leader = format!("/ip4/10.0.0.5/tcp/9096/p2p/{id}");
    let out = env.ok(
        "connect_follow_to_leader",
        json!({"cluster": "team", "leader": leader, "secret": secret}),
    );
    assert_eq!(out["config"]["service"]["cluster"]["secret"], "<redacted>");
    let trusted = out["config"]["service"]["consensus"]["crdt"]["trusted_peers"].to_string();
    assert!(trusted.contains(&id), "{out}");

    let plan = env.ok("config_port_plan", json!({"live": false}));
    assert_eq!(plan["ok"], true, "{plan}");
    let owners: Vec<&str> = plan["listeners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["owner"].as_str().unwrap())
        .collect();
    for o in ["kubo", "ipfs_cluster_service", "ipfs_cluster_follow@team"] {
        assert!(owners.contains(&o), "{o}: {owners:?}");
    }

    let e = env
        .call(
            "connect_to_networked_cluster",
            json!({"secret": secret, "bootstrap": "/ip4/10.0.0.5/tcp/9096"}),
        )
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::ConfigInvalid, "{}", e.to_json());
    let out = env.ok(
        "connect_to_networked_cluster",
        json!({"secret": "b".repeat(64), "bootstrap": format!("/ip4/10.0.0.6/tcp/9096/p2p/{OTHER_PEER}")}),
    );
    assert_eq!(out["config"]["service"]["cluster"]["secret"], "<redacted>");
    let full = env.ok(
        "cluster_service_config_get",
        json!({"reveal_secrets": true}),
    );
    assert_eq!(
        full["config"]["service"]["cluster"]["secret"],
        "b".repeat(64)
    );

    // a collision written by hand shows up in the plan and as PORT_IN_USE with check
    env.ok("config_backup", json!({"kind": "lassie"}));
    let lassie = env.files("lassie", None);
    let (path, bytes) = lassie.iter().next().unwrap();
    let kubo = env.ok("config_get", json!({"kind": "kubo"}));
    let api = kubo["config"]["Addresses"]["API"].as_str().unwrap();
    let kubo_port: u64 = api.rsplit('/').next().unwrap().parse().unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let colliding = text.replace("port = 41443", &format!("port = {kubo_port}"));
    assert_ne!(text, colliding, "{text}");
    std::fs::write(path, colliding).unwrap();
    let plan = env.ok("config_port_plan", json!({"live": false}));
    if plan["ok"] == false {
        assert!(
            plan["conflicts"][0]["suggested_port"].as_u64().unwrap() > 0,
            "{plan}"
        );
        let e = env
            .call("config_port_plan", json!({"live": false, "check": true}))
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::PortInUse);
        assert!(e.context["suggested_port"].as_u64().is_some());
    }
    std::fs::write(path, bytes).unwrap();
}
