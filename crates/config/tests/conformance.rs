//! One conformance run over every config kind, reference comparisons, identities, crash and concurrency tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ipfs_kit_config::doc::{key_paths, type_name};
use ipfs_kit_config::identity::{check_identity, peer_id_of_private_key};
use ipfs_kit_config::kinds::lotus;
use ipfs_kit_config::{
    Change, ConfigKind, ConfigStore, DiffAgainst, Error, ProblemCode, REDACTED, Target, Update,
};
use serde_json::{Value, json};

fn reference(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference")
        .join(rel)
}

fn read_json(rel: &str) -> Value {
    serde_json::from_slice(&std::fs::read(reference(rel)).unwrap()).unwrap()
}

fn dotted(path: &str, value: Value) -> Update {
    Update::Path {
        path: path.into(),
        value,
    }
}

fn snapshot(store: &ConfigStore, t: &Target) -> BTreeMap<PathBuf, Vec<u8>> {
    store
        .files(t)
        .unwrap()
        .into_iter()
        .map(|f| (f.path.clone(), std::fs::read(&f.path).unwrap()))
        .collect()
}

const OTHER_PEER: &str = "12D3KooW9rxqumy8vqCxnNfpeyT7zHGae6srENFW2gip8LMw3TsX";

/// Per kind: a good dotted update (path, value), a good merge, and bad updates with the problem they must raise.
struct Case {
    target: Target,
    good_path: (&'static str, Value),
    good_merge: Value,
    bad: Vec<(Update, ProblemCode)>,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            target: Target::new(ConfigKind::Kubo),
            good_path: ("Addresses.API", json!("/ip4/127.0.0.1/tcp/5011")),
            good_merge: json!({"Datastore": {"StorageMax": "20GB"}, "Gateway": {"NoFetch": true}}),
            bad: vec![
                (
                    dotted("Addresses.API", json!("/ip4/999.1.1.1/tcp/5001")),
                    ProblemCode::BadMultiaddr,
                ),
                (
                    dotted("Addresses.Swarm", json!(["/ip4/0.0.0.0/tcp/70000"])),
                    ProblemCode::BadMultiaddr,
                ),
                (
                    dotted("Datastore.StorageGCWatermark", json!("ninety")),
                    ProblemCode::WrongType,
                ),
                (Update::Merge(json!({"Bogus": 1})), ProblemCode::UnknownKey),
                (
                    dotted("Identity.PeerID", json!(OTHER_PEER)),
                    ProblemCode::BadPeerId,
                ),
                (
                    dotted("Bootstrap", json!(["/ip4/1.2.3.4/tcp/4001"])),
                    ProblemCode::BadMultiaddr,
                ),
            ],
        },
        Case {
            target: Target::new(ConfigKind::IpfsClusterService),
            good_path: ("service.cluster.replication_factor_min", json!(2)),
            good_merge: json!({"service": {"cluster": {"peername": "peer-one", "replication_factor_max": 3}}}),
            bad: vec![
                (
                    dotted("service.cluster.secret", json!("xyz")),
                    ProblemCode::BadSecret,
                ),
                (
                    dotted(
                        "service.cluster.listen_multiaddress",
                        json!("/ip4/0.0.0.0/tcp/99999"),
                    ),
                    ProblemCode::BadMultiaddr,
                ),
                (
                    Update::Merge(
                        json!({"service": {"cluster": {"replication_factor_min": 3, "replication_factor_max": 2}}}),
                    ),
                    ProblemCode::Replication,
                ),
                (
                    dotted("identity.id", json!(OTHER_PEER)),
                    ProblemCode::BadPeerId,
                ),
                (
                    Update::Merge(json!({"service": {"bogus": {}}})),
                    ProblemCode::UnknownKey,
                ),
                (
                    dotted(
                        "service.cluster.connection_manager.high_water",
                        json!("many"),
                    ),
                    ProblemCode::WrongType,
                ),
                (
                    dotted(
                        "service.cluster.peer_addresses",
                        json!(["/ip4/1.2.3.4/tcp/9096"]),
                    ),
                    ProblemCode::BadMultiaddr,
                ),
            ],
        },
        Case {
            target: Target::follow("fleet"),
            good_path: ("service.cluster.peername", json!("follower-1")),
            good_merge: json!({"service": {"consensus": {"crdt": {"trusted_peers": [OTHER_PEER]}}}}),
            bad: vec![
                (
                    dotted("service.cluster.follower_mode", json!(false)),
                    ProblemCode::BadValue,
                ),
                (
                    dotted("identity.id", json!(OTHER_PEER)),
                    ProblemCode::BadPeerId,
                ),
                (
                    dotted(
                        "service.consensus.crdt.trusted_peers",
                        json!(["not-a-peer"]),
                    ),
                    ProblemCode::BadPeerId,
                ),
                (Update::Merge(json!({"extra": 1})), ProblemCode::UnknownKey),
            ],
        },
        Case {
            target: Target::new(ConfigKind::IpfsClusterCtl),
            good_path: ("host", json!("/ip4/10.0.0.1/tcp/9094")),
            good_merge: json!({"basic_auth": {"user": "admin", "password": "s3cret-pass"}, "https": true}),
            bad: vec![
                (
                    dotted("host", json!("/ip4/x/tcp/1")),
                    ProblemCode::BadMultiaddr,
                ),
                (Update::Merge(json!({"hostt": ""})), ProblemCode::UnknownKey),
                (dotted("https", json!("yes")), ProblemCode::WrongType),
            ],
        },
        Case {
            target: Target::new(ConfigKind::Lotus),
            good_path: ("API.ListenAddress", json!("/ip4/127.0.0.1/tcp/1235/http")),
            good_merge: json!({"Libp2p": {"ConnMgrLow": 100}}),
            bad: vec![
                (
                    dotted("Libp2p.ConnMgrLow", json!("low")),
                    ProblemCode::WrongType,
                ),
                (
                    Update::Merge(json!({"API": {"Bogus": 1}})),
                    ProblemCode::UnknownKey,
                ),
                (
                    dotted("API.ListenAddress", json!("/ip4/127.0.0.1/tcpp/1")),
                    ProblemCode::BadMultiaddr,
                ),
            ],
        },
        Case {
            target: Target::new(ConfigKind::Lassie),
            good_path: ("port", json!(41444)),
            good_merge: json!({"protocols": ["http"], "access_token": "tok-123"}),
            bad: vec![
                (dotted("port", json!(70000)), ProblemCode::WrongType),
                (Update::Merge(json!({"bogus": 1})), ProblemCode::UnknownKey),
                (
                    dotted("providers", json!(["/ip4/1.2.3.4/tcp/1"])),
                    ProblemCode::BadMultiaddr,
                ),
            ],
        },
        Case {
            target: Target::new(ConfigKind::S3),
            good_path: ("default.access_key", json!("AKIAEXAMPLE")),
            good_merge: json!({"default": {"secret_key": "wJalrXUtnFEMI"}}),
            bad: vec![
                (
                    dotted("default.use_https", json!("yes")),
                    ProblemCode::WrongType,
                ),
                (
                    dotted("default.host_base", json!(5)),
                    ProblemCode::WrongType,
                ),
            ],
        },
        Case {
            target: Target::new(ConfigKind::Huggingface),
            good_path: ("token", json!("hf_abcdefghijklmnop")),
            good_merge: json!({"token": "hf_qrstuvwxyz"}),
            bad: vec![
                (Update::Merge(json!({"bogus": 1})), ProblemCode::UnknownKey),
                (dotted("token", json!(5)), ProblemCode::WrongType),
            ],
        },
        Case {
            target: Target::new(ConfigKind::Storacha),
            good_path: ("email", json!("ops@example.org")),
            good_merge: json!({"space_did": "did:key:z6MkexampleSpace", "agent_key": "MgCexample"}),
            bad: vec![
                (Update::Merge(json!({"bogus": 1})), ProblemCode::UnknownKey),
                (
                    dotted("service_url", json!("ftp://up.example")),
                    ProblemCode::BadUrl,
                ),
            ],
        },
    ]
}

fn secret_strings(doc: &Value, kind: ConfigKind) -> Vec<String> {
    let mut redacted = doc.clone();
    ipfs_kit_config::doc::redact(&mut redacted, kind.secret_paths());
    let mut out = Vec::new();
    for e in ipfs_kit_config::doc::diff(&redacted, doc) {
        if let Some(Value::String(s)) = e.new {
            out.push(s);
        }
    }
    out
}

#[test]
fn every_kind_conforms() {
    let home = tempfile::tempdir().unwrap();
    let store = ConfigStore::new(home.path());
    for case in cases() {
        let t = &case.target;
        let ctx = t.to_string();
        // create, idempotent
        let c = store.create(t, false).unwrap();
        assert!(c.created, "{ctx}");
        let first = snapshot(&store, t);
        assert!(!store.create(t, false).unwrap().created, "{ctx}");
        assert_eq!(snapshot(&store, t), first, "{ctx}: create is idempotent");
        #[cfg(unix)]
        for f in &c.files {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&f.path).unwrap().permissions().mode() & 0o777;
            if f.secret {
                assert_eq!(mode, 0o600, "{ctx}: {} must be 0600", f.path.display());
            }
        }
        assert_eq!(
            store.validate(t).unwrap(),
            vec![],
            "{ctx}: defaults validate"
        );

        // set: dotted, then merge
        let (path, value) = case.good_path.clone();
        let out = store.set(t, &dotted(path, value.clone()), false).unwrap();
        assert!(out.written && !out.changes.is_empty(), "{ctx}");
        assert_eq!(
            ipfs_kit_config::doc::get_path(&store.get(t, true).unwrap(), path).unwrap(),
            &value,
            "{ctx}"
        );
        let out = store
            .set(t, &Update::Merge(case.good_merge.clone()), false)
            .unwrap();
        assert!(out.written, "{ctx}");
        let full = store.get(t, true).unwrap();
        let mut merged = full.clone();
        ipfs_kit_config::doc::deep_merge(&mut merged, &case.good_merge);
        assert_eq!(merged, full, "{ctx}: the merge landed");
        assert_eq!(store.validate(t).unwrap(), vec![], "{ctx}");
        // validate_only computes without writing
        let before = snapshot(&store, t);
        let vo = store.set(t, &dotted(path, case.good_path.1.clone()), true);
        assert!(vo.is_ok(), "{ctx}");
        assert_eq!(snapshot(&store, t), before, "{ctx}");

        // get: secrets redacted
        let red = store.get(t, false).unwrap();
        let red_text = red.to_string();
        for s in secret_strings(&full, t.kind) {
            assert!(!red_text.contains(&s), "{ctx}: secret {s:?} leaked by get");
        }
        if !secret_strings(&full, t.kind).is_empty() {
            assert!(red_text.contains(REDACTED), "{ctx}");
        }
        // a redacted document sent back keeps the secrets
        let out = store.set(t, &Update::Merge(red.clone()), false).unwrap();
        assert!(
            out.changes.is_empty(),
            "{ctx}: redacted round trip changes nothing: {:?}",
            out.changes
        );

        // backup, change, diff, restore
        let b = store.backup(t).unwrap();
        let saved = snapshot(&store, t);
        let change = match t.kind {
            ConfigKind::Kubo => dotted("Gateway.RootRedirect", json!("/ipfs/x")),
            ConfigKind::IpfsClusterService | ConfigKind::IpfsClusterFollow => {
                dotted("service.cluster.peername", json!("changed"))
            }
            ConfigKind::IpfsClusterCtl => dotted("timeout_seconds", json!(30)),
            ConfigKind::Lotus => dotted("Fevm.EnableEthRPC", json!(true)),
            ConfigKind::Lassie => dotted("max_blocks", json!(100)),
            ConfigKind::S3 => dotted("default.bucket_location", json!("EU")),
            ConfigKind::Huggingface => dotted("token", json!("hf_changed")),
            ConfigKind::Storacha => dotted("email", json!("other@example.org")),
        };
        store.set(t, &change, false).unwrap();
        let d = store
            .diff(t, &DiffAgainst::Version(b.version.clone()))
            .unwrap();
        assert_eq!(d.len(), 1, "{ctx}: {d:?}");
        assert_eq!(d[0].change, Change::Changed, "{ctx}");
        if t.kind == ConfigKind::Huggingface {
            assert_eq!(
                d[0].new,
                Some(json!(REDACTED)),
                "{ctx}: diff redacts secrets"
            );
        }
        assert!(
            store
                .history(t)
                .unwrap()
                .iter()
                .any(|h| h.version == b.version),
            "{ctx}"
        );
        store.restore(t, &b.version).unwrap();
        assert_eq!(
            snapshot(&store, t),
            saved,
            "{ctx}: restore gives the saved bytes back"
        );
        assert!(
            store
                .diff(t, &DiffAgainst::Version(b.version.clone()))
                .unwrap()
                .is_empty(),
            "{ctx}"
        );
        assert!(
            matches!(store.restore(t, "nope"), Err(Error::NoBackup { .. })),
            "{ctx}"
        );

        // bad input: typed error, files untouched
        for (update, code) in &case.bad {
            let before = snapshot(&store, t);
            let err = store
                .set(t, update, false)
                .expect_err(&format!("{ctx}: {update:?} must be refused"));
            assert!(
                err.problems().iter().any(|p| p.code == *code),
                "{ctx}: {update:?} gave {err} instead of {code:?}"
            );
            assert_eq!(
                snapshot(&store, t),
                before,
                "{ctx}: a refused change leaves the files byte-identical"
            );
        }
        // unparseable dotted path
        assert!(
            matches!(
                store.set(t, &dotted("a..b", json!(1)), false),
                Err(Error::BadPath { .. })
            ),
            "{ctx}"
        );

        // overwrite backs up first
        let n = store.history(t).unwrap().len();
        let o = store.create(t, true).unwrap();
        assert!(o.created && o.backup.is_some(), "{ctx}");
        assert!(store.history(t).unwrap().len() > n.min(9), "{ctx}");
        assert_eq!(store.validate(t).unwrap(), vec![], "{ctx}");
    }
    // every kind got a status entry, all valid
    let status = store.status();
    assert_eq!(status.len(), ConfigKind::ALL.len());
    assert!(status.iter().all(|s| s.exists && s.valid), "{status:?}");
    // everything lives under the given home
    for s in &status {
        for f in &s.files {
            assert!(f.path.starts_with(home.path()), "{}", f.path.display());
        }
    }
}

#[test]
fn unparseable_and_missing_files_are_typed_errors() {
    let home = tempfile::tempdir().unwrap();
    let store = ConfigStore::new(home.path());
    let t = Target::new(ConfigKind::Kubo);
    assert!(matches!(store.get(&t, false), Err(Error::NotFound { .. })));
    assert!(matches!(
        store.set(&t, &dotted("API", json!({})), false),
        Err(Error::NotFound { .. })
    ));
    store.create(&t, false).unwrap();
    let path = &store.files(&t).unwrap()[0].path;
    std::fs::write(path, b"{ not json").unwrap();
    assert!(matches!(store.validate(&t), Err(Error::Parse { .. })));
    assert!(matches!(
        store.set(&t, &dotted("Gateway.NoFetch", json!(true)), false),
        Err(Error::Parse { .. })
    ));
    assert_eq!(std::fs::read(path).unwrap(), b"{ not json");
    assert!(matches!(
        "nonsense".parse::<ConfigKind>(),
        Err(Error::UnknownKind(_))
    ));
    assert_eq!(
        "ipfs-cluster-follow".parse::<ConfigKind>().unwrap(),
        ConfigKind::IpfsClusterFollow
    );
    assert!(matches!(
        store.create(&Target::follow("../x"), false),
        Err(Error::BadInstance(_))
    ));
    assert!(matches!(
        store.create(&Target::new(ConfigKind::IpfsClusterFollow), false),
        Err(Error::BadInstance(_))
    ));
}

#[test]
fn history_keeps_the_last_n() {
    let home = tempfile::tempdir().unwrap();
    let store = ConfigStore::new(home.path()).with_history_limit(3);
    let t = Target::new(ConfigKind::Lassie);
    store.create(&t, false).unwrap();
    for port in 41000..41006 {
        store.set(&t, &dotted("port", json!(port)), false).unwrap();
    }
    let h = store.history(&t).unwrap();
    assert_eq!(h.len(), 3);
    assert!(
        h.windows(2).all(|w| w[0].version > w[1].version),
        "newest first"
    );
    // the newest backup holds the state before the last set
    let d = store
        .diff(&t, &DiffAgainst::Version(h[0].version.clone()))
        .unwrap();
    assert_eq!(d[0].old, Some(json!(41004)));
    assert_eq!(d[0].new, Some(json!(41005)));
}

fn types_of(v: &Value) -> BTreeMap<String, &'static str> {
    let mut out = BTreeMap::new();
    for p in key_paths(v) {
        out.insert(
            p.clone(),
            type_name(ipfs_kit_config::doc::get_path(v, &p).unwrap()),
        );
    }
    out
}

#[test]
fn kubo_defaults_match_the_reference_key_set_and_types() {
    let reference = read_json("kubo/default-config.json");
    let ours = ConfigKind::Kubo
        .defaults(&ipfs_kit_config::Layout::new("/nonexistent"), "")
        .unwrap();
    assert_eq!(types_of(&ours), types_of(&reference));
    assert_ne!(
        ours["Identity"], reference["Identity"],
        "a fresh identity, never the shipped one"
    );
    let id = &ours["Identity"];
    check_identity(
        id["PeerID"].as_str().unwrap(),
        id["PrivKey"].as_str().unwrap(),
    )
    .unwrap();
    // the reference config itself and Kubo's real older test config validate
    assert_eq!(ConfigKind::Kubo.validate(&reference), vec![]);
    assert_eq!(
        ConfigKind::Kubo.validate(&read_json("kubo/test-repo-v16-config.json")),
        vec![]
    );
}

#[test]
fn cluster_defaults_match_the_reference_key_set_and_types() {
    let reference = read_json("ipfs-cluster/service.default-v1.1.0.json");
    let layout = ipfs_kit_config::Layout::new("/nonexistent");
    let a = ConfigKind::IpfsClusterService
        .defaults(&layout, "")
        .unwrap();
    let b = ConfigKind::IpfsClusterService
        .defaults(&layout, "")
        .unwrap();
    assert_eq!(types_of(&a["service"]), types_of(&reference));
    for d in [&a, &b] {
        let secret = d["service"]["cluster"]["secret"].as_str().unwrap();
        assert_eq!(secret.len(), 64);
        assert!(secret.bytes().all(|c| c.is_ascii_hexdigit()));
        check_identity(
            d["identity"]["id"].as_str().unwrap(),
            d["identity"]["private_key"].as_str().unwrap(),
        )
        .unwrap();
        assert!(
            d["identity"]["private_key"]
                .as_str()
                .unwrap()
                .starts_with("CAESQ"),
            "Ed25519 protobuf"
        );
    }
    assert_ne!(
        a["service"]["cluster"]["secret"], b["service"]["cluster"]["secret"],
        "fresh secret per cluster"
    );
    assert_ne!(a["identity"], b["identity"]);
    assert_ne!(
        a["service"]["cluster"]["secret"],
        reference["cluster"]["secret"]
    );
    // the published sample identity and the follower source file are accepted
    let sample = read_json("ipfs-cluster/identity.sample.json");
    let follow = json!({"service": read_json("ipfs-cluster/follow.service.remote-source.json"), "identity": sample});
    assert_eq!(ConfigKind::IpfsClusterFollow.validate(&follow), vec![]);
    let svc = json!({"service": reference, "identity": sample});
    assert_eq!(ConfigKind::IpfsClusterService.validate(&svc), vec![]);
    let f = ConfigKind::IpfsClusterFollow
        .defaults(&layout, "c1")
        .unwrap();
    assert_eq!(ConfigKind::IpfsClusterFollow.validate(&f), vec![]);
    check_identity(
        f["identity"]["id"].as_str().unwrap(),
        f["identity"]["private_key"].as_str().unwrap(),
    )
    .unwrap();
}

fn uncomment_reference_lotus() -> Value {
    let text = std::fs::read_to_string(reference("filecoin/lotus-default-config.toml")).unwrap();
    let mut live = String::new();
    for line in text.lines() {
        let t = line.trim_start();
        match t.strip_prefix('#') {
            Some(rest)
                if rest.split(" = ").next().is_some_and(|k| {
                    !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric())
                }) && rest.contains(" = ") =>
            {
                live.push_str(rest)
            }
            _ => live.push_str(line),
        }
        live.push('\n');
    }
    let v: toml::Value = toml::from_str(&live).unwrap();
    serde_json::to_value(v).unwrap()
}

#[test]
fn lotus_keys_match_and_comments_survive_edits() {
    let reference = uncomment_reference_lotus();
    let ours = lotus::defaults().unwrap();
    assert_eq!(types_of(&ours), types_of(&reference));
    let home = tempfile::tempdir().unwrap();
    let store = ConfigStore::new(home.path());
    let t = Target::new(ConfigKind::Lotus);
    store.create(&t, false).unwrap();
    let path = home.path().join(".lotus/config.toml");
    store
        .set(&t, &dotted("Libp2p.ConnMgrHigh", json!(250)), false)
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("# Binding address for the Lotus API"));
    assert!(text.contains("# env var: LOTUS_LIBP2P_CONNMGRHIGH"));
    assert!(text.contains("ConnMgrHigh = 250"));
    // only that line changed
    let template = lotus::template_text();
    let changed: Vec<_> = template
        .lines()
        .zip(text.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(template.lines().count(), text.lines().count());
}

#[test]
fn peer_id_vectors() {
    let v = read_json("peerid-vectors.json");
    let vectors = v
        .as_array()
        .cloned()
        .or_else(|| v["vectors"].as_array().cloned())
        .unwrap();
    let mut ed = 0;
    for vec in vectors {
        let key = vec["private_key_protobuf_base64"].as_str().unwrap();
        let want = vec["peer_id_base58btc"].as_str().unwrap();
        // Ed25519, RSA and secp256k1 keys all re-derive their published peer ID (more in tests/identities.rs)
        assert_eq!(
            peer_id_of_private_key(key).unwrap().to_base58(),
            want,
            "{}",
            vec["name"]
        );
        check_identity(want, key).unwrap();
        if vec["key_type"] == "Ed25519" {
            ed += 1;
        }
    }
    assert!(ed >= 3);
    assert!(check_identity(OTHER_PEER, "CAESQNfpGWI4zS+x+HSggBd7qqBai+Je5fopjmBylaTo7uZZYtESGX1PLDr5HmS3NJmrK7glW5kGRuYDvpqwJ2hnC2g=").is_err());
}

#[test]
fn joining_clusters() {
    let home = tempfile::tempdir().unwrap();
    let store = ConfigStore::new(home.path());
    let leader = "/ip4/10.0.0.5/tcp/9096/p2p/12D3KooWGU72UzYkzVAiTyNLugX72zoDPTGkRegoKcTfB8oWxSuu";
    let secret = "a".repeat(64);
    // bad bootstrap (no /p2p) refused, nothing written
    let err = store
        .connect_to_networked_cluster(&secret, "/ip4/10.0.0.5/tcp/9096", &[])
        .unwrap_err();
    assert!(
        err.problems()
            .iter()
            .any(|p| p.code == ProblemCode::BadMultiaddr),
        "{err}"
    );
    let out = store
        .connect_to_networked_cluster(&secret, leader, &[OTHER_PEER.to_string()])
        .unwrap();
    assert_eq!(out["service"]["cluster"]["secret"], REDACTED);
    let t = Target::new(ConfigKind::IpfsClusterService);
    let doc = store.get(&t, true).unwrap();
    assert_eq!(doc["service"]["cluster"]["secret"], secret.as_str());
    assert_eq!(doc["service"]["cluster"]["peer_addresses"], json!([leader]));
    assert_eq!(
        doc["service"]["consensus"]["crdt"]["trusted_peers"],
        json!([
            "12D3KooWGU72UzYkzVAiTyNLugX72zoDPTGkRegoKcTfB8oWxSuu",
            OTHER_PEER
        ])
    );
    assert_eq!(store.validate(&t).unwrap(), vec![]);

    // a follower on the same host: trusts the leader, ports avoid the service's 9094-9097
    let own_id = doc["identity"]["id"].as_str().unwrap().to_string();
    let local_leader = format!("/ip4/127.0.0.1/tcp/9096/p2p/{own_id}");
    store
        .connect_follow_to_leader("fleet", &local_leader, &secret)
        .unwrap();
    let f = store.get(&Target::follow("fleet"), true).unwrap();
    assert_eq!(
        f["service"]["consensus"]["crdt"]["trusted_peers"],
        json!([own_id])
    );
    assert_eq!(f["service"]["cluster"]["follower_mode"], json!(true));
    let plan = store.port_plan().unwrap();
    for l in plan
        .listeners
        .iter()
        .filter(|l| l.owner.starts_with("ipfs_cluster_follow"))
    {
        assert!(!(9094..=9097).contains(&l.port), "{l:?}");
    }
    assert_eq!(
        plan.conflicts(),
        vec![],
        "service + follower on one host do not collide"
    );
    // switching the follower to a source pointer keeps its identity
    let before = f["identity"].clone();
    store
        .follow_source("fleet", "http://127.0.0.1:8080/ipns/cluster.example.org")
        .unwrap();
    let f2 = store.get(&Target::follow("fleet"), true).unwrap();
    assert_eq!(f2["identity"], before);
    assert_eq!(
        f2["service"],
        json!({"source": "http://127.0.0.1:8080/ipns/cluster.example.org"})
    );
    assert!(store.follow_source("fleet", "not a url").is_err());
}

#[test]
fn port_plan_reports_collisions_with_suggestions() {
    let home = tempfile::tempdir().unwrap();
    let store = ConfigStore::new(home.path());
    let kubo = Target::new(ConfigKind::Kubo);
    store.create(&kubo, false).unwrap();
    store
        .create(&Target::new(ConfigKind::IpfsClusterService), false)
        .unwrap();
    store
        .create(&Target::new(ConfigKind::Lotus), false)
        .unwrap();
    store
        .create(&Target::new(ConfigKind::Lassie), false)
        .unwrap();
    let plan = store.port_plan().unwrap();
    assert_eq!(plan.conflicts(), vec![], "defaults do not collide");
    assert!(
        plan.listeners
            .iter()
            .any(|l| l.owner == "kubo" && l.port == 4001)
    );
    assert!(
        plan.listeners
            .iter()
            .any(|l| l.owner == "ipfs_cluster_service" && l.port == 9097)
    );
    assert!(
        plan.listeners
            .iter()
            .any(|l| l.owner == "lotus" && l.port == 1234)
    );
    // Kubo's API moved onto cluster's REST port: a collision
    store
        .set(
            &kubo,
            &dotted("Addresses.API", json!("/ip4/127.0.0.1/tcp/9094")),
            false,
        )
        .unwrap();
    let plan = store.port_plan().unwrap();
    let c = plan.conflicts();
    assert_eq!(c.len(), 1, "{c:?}");
    assert_ne!(c[0].suggested_port, 9094);
    assert!(c[0].suggested_port > 0);
    let err = plan.check(false).unwrap_err();
    assert!(matches!(err, Error::PortConflict(_)));
    assert!(err.to_string().contains("try port"), "{err}");
    // API and Gateway of one Kubo on one port collide too
    store
        .set(
            &kubo,
            &dotted("Addresses.API", json!("/ip4/127.0.0.1/tcp/8080")),
            false,
        )
        .unwrap();
    assert_eq!(store.port_plan().unwrap().conflicts().len(), 1);
    store
        .set(
            &kubo,
            &dotted("Addresses.API", json!("/ip4/127.0.0.1/tcp/5001")),
            false,
        )
        .unwrap();

    // a live listener on the configured port
    let sock = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = sock.local_addr().unwrap().port();
    store
        .set(
            &Target::new(ConfigKind::Lassie),
            &dotted("port", json!(port)),
            false,
        )
        .unwrap();
    let plan = store.port_plan().unwrap();
    let live = plan.live_conflicts();
    let mine: Vec<_> = live
        .iter()
        .filter(|c| c.listener.owner == "lassie")
        .collect();
    assert_eq!(mine.len(), 1, "{live:?}");
    assert!(mine[0].with.is_none());
    assert_ne!(mine[0].suggested_port, port);
    // the kit's own server joins the plan
    let mut plan = plan;
    assert!(plan.add_listener("ipfs-kit", "server", "/ip4/127.0.0.1/tcp/1234"));
    assert_eq!(plan.conflicts().len(), 1, "collides with Lotus' API");
}

#[test]
fn concurrent_sets_all_land() {
    let home = tempfile::tempdir().unwrap();
    let store = ConfigStore::new(home.path());
    let t = Target::new(ConfigKind::Kubo);
    store.create(&t, false).unwrap();
    std::thread::scope(|s| {
        for i in 0..4 {
            let store = store.clone();
            let t = t.clone();
            s.spawn(move || {
                for j in 0..8 {
                    let patch = json!({"API": {"HTTPHeaders": {format!("X-T{i}-{j}"): ["v"]}}});
                    store.set(&t, &Update::Merge(patch), false).unwrap();
                }
            });
        }
    });
    let doc = store.get(&t, false).unwrap();
    let headers = doc["API"]["HTTPHeaders"].as_object().unwrap();
    assert_eq!(headers.len(), 32, "no update lost: {headers:?}");
}

const CHILD_ENV: &str = "IPFS_KIT_CONFIG_CRASH_HOME";

/// Child side of the crash test: loops `set` until killed (does nothing in a normal run).
#[test]
fn crash_child() {
    let Some(home) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    if std::env::var_os(WRITER_ENV).is_some() {
        return;
    }
    let store = ConfigStore::new(PathBuf::from(home));
    let kubo = Target::new(ConfigKind::Kubo);
    let lotus = Target::new(ConfigKind::Lotus);
    for i in 0u64.. {
        let port = 20000 + (i % 20000);
        store
            .set(
                &kubo,
                &dotted("Addresses.API", json!(format!("/ip4/127.0.0.1/tcp/{port}"))),
                false,
            )
            .unwrap();
        store
            .set(&lotus, &dotted("Libp2p.ConnMgrLow", json!(port)), false)
            .unwrap();
    }
}

#[test]
fn kill_9_leaves_old_or_new_file() {
    let home = tempfile::tempdir().unwrap();
    let store = ConfigStore::new(home.path()).with_history_limit(2);
    let kubo = Target::new(ConfigKind::Kubo);
    let lotus = Target::new(ConfigKind::Lotus);
    store.create(&kubo, false).unwrap();
    store.create(&lotus, false).unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut seen_ports = std::collections::BTreeSet::new();
    for round in 0..8u64 {
        let mut child = Command::new(&exe)
            .args([
                "crash_child",
                "--exact",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(CHILD_ENV, home.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let jitter = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos() as u64
            % 150;
        std::thread::sleep(Duration::from_millis(150 + jitter + round * 20));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // every file parses and validates
        assert_eq!(store.validate(&kubo).unwrap(), vec![], "round {round}");
        assert_eq!(store.validate(&lotus).unwrap(), vec![], "round {round}");
        let api = store.get(&kubo, false).unwrap()["Addresses"]["API"]
            .as_str()
            .unwrap()
            .to_string();
        seen_ports.insert(api);
    }
    assert!(
        seen_ports.len() > 1,
        "the child did write between kills: {seen_ports:?}"
    );
    // the next write clears temp files a killed writer left behind
    store
        .set(&kubo, &dotted("Gateway.NoFetch", json!(true)), false)
        .unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(home.path().join(".ipfs"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

const WRITER_ENV: &str = "IPFS_KIT_CONFIG_WRITER";

/// Child side of the multi-process test: 20 merges under a name given by the parent.
#[test]
fn writer_child() {
    let (Some(home), Some(name)) = (std::env::var_os(CHILD_ENV), std::env::var(WRITER_ENV).ok())
    else {
        return;
    };
    let store = ConfigStore::new(PathBuf::from(home));
    let t = Target::new(ConfigKind::Kubo);
    for j in 0..20 {
        let patch = json!({"Gateway": {"HTTPHeaders": {format!("X-{name}-{j}"): ["v"]}}});
        store.set(&t, &Update::Merge(patch), false).unwrap();
    }
}

#[test]
fn concurrent_processes_lose_nothing() {
    let home = tempfile::tempdir().unwrap();
    let store = ConfigStore::new(home.path());
    let t = Target::new(ConfigKind::Kubo);
    store.create(&t, false).unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|name| {
            Command::new(&exe)
                .args(["writer_child", "--exact", "--test-threads", "1"])
                .env(CHILD_ENV, home.path())
                .env(WRITER_ENV, name)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let doc = store.get(&t, false).unwrap();
    assert_eq!(doc["Gateway"]["HTTPHeaders"].as_object().unwrap().len(), 60);
}

#[test]
fn set_changes_and_diffs_never_show_secrets() {
    let home = tempfile::tempdir().unwrap();
    let store = ConfigStore::new(home.path());
    let s3 = Target::new(ConfigKind::S3);
    store.create(&s3, false).unwrap();
    let out = store
        .set(
            &s3,
            &Update::Merge(json!({"backup": {"access_key": "AK2", "secret_key": "very-secret-2"}})),
            false,
        )
        .unwrap();
    let text = serde_json::to_string(&out.changes).unwrap();
    assert!(
        !text.contains("very-secret-2") && text.contains("AK2"),
        "{text}"
    );
    let ctl = Target::new(ConfigKind::IpfsClusterCtl);
    store.create(&ctl, false).unwrap();
    let b = store.backup(&ctl).unwrap();
    store
        .set(
            &ctl,
            &Update::Merge(json!({"basic_auth": {"user": "admin", "password": "pw-xyz"}})),
            false,
        )
        .unwrap();
    let d = store.diff(&ctl, &DiffAgainst::Version(b.version)).unwrap();
    let text = serde_json::to_string(&d).unwrap();
    assert!(!text.contains("pw-xyz") && text.contains("admin"), "{text}");
    let svc = Target::new(ConfigKind::IpfsClusterService);
    store.create(&svc, false).unwrap();
    let d = store.diff(&svc, &DiffAgainst::Defaults).unwrap();
    let secret = store.get(&svc, true).unwrap()["service"]["cluster"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let text = serde_json::to_string(&d).unwrap();
    assert!(!text.contains(&secret), "{text}");
    assert!(
        d.iter()
            .any(|e| e.path == "identity.private_key" && e.new == Some(json!(REDACTED)))
    );
}

#[test]
fn create_all_and_extra_cluster_checks() {
    let home = tempfile::tempdir().unwrap();
    let store = ConfigStore::new(home.path());
    let made = store.create_all(false).unwrap();
    assert_eq!(made.len(), ConfigKind::ALL.len() - 1);
    assert!(made.iter().all(|(_, o)| o.created));
    assert!(
        store
            .create_all(false)
            .unwrap()
            .iter()
            .all(|(_, o)| !o.created)
    );
    let svc = Target::new(ConfigKind::IpfsClusterService);
    let bad = dotted(
        "service.api.restapi.basic_auth_credentials",
        json!(["user", "pw"]),
    );
    let err = store.set(&svc, &bad, false).unwrap_err();
    assert!(
        err.problems()
            .iter()
            .any(|p| p.code == ProblemCode::WrongType),
        "{err}"
    );
    let good = dotted(
        "service.api.restapi.basic_auth_credentials",
        json!({"admin": "pw"}),
    );
    store.set(&svc, &good, false).unwrap();
    assert_eq!(
        store.get(&svc, false).unwrap()["service"]["api"]["restapi"]["basic_auth_credentials"]["admin"],
        REDACTED
    );
    let bad = dotted("service.cluster.dial_peer_timeout", json!("3 seconds"));
    assert!(
        store
            .set(&svc, &bad, false)
            .unwrap_err()
            .problems()
            .iter()
            .any(|p| p.code == ProblemCode::BadValue)
    );
    // a DNSLink follower source (scheme-less, as `ipfs-cluster-follow init <name>` writes it) is accepted
    store
        .follow_source("dl", "127.0.0.1:8080/ipns/cluster.example.org")
        .unwrap();
    let kubo = Target::new(ConfigKind::Kubo);
    let bad = Update::Merge(
        json!({"Peering": {"Peers": [{"ID": OTHER_PEER, "Addrs": ["/ip4/1.2.3.4/tcp/x"]}]}}),
    );
    assert!(
        store
            .set(&kubo, &bad, false)
            .unwrap_err()
            .problems()
            .iter()
            .any(|p| p.code == ProblemCode::BadMultiaddr)
    );
}
