//! `ipfs-kit config …` run as a real binary with `HOME` and `--home` in temporary directories.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

#[path = "../../../tests/support/isolated.rs"]
mod isolated;

struct Env {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    kit: PathBuf,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        let kit = tmp.path().join("kit");
        std::fs::create_dir_all(&home).unwrap();
        Env {
            _tmp: tmp,
            home,
            kit,
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ipfs-kit"));
        cmd.arg("--home")
            .arg(&self.kit)
            .args(args)
            .env("HOME", &self.home);
        isolated::scrub_env(&mut cmd);
        cmd.output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "ipfs-kit {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        serde_json::from_str(&self.ok(&a)).unwrap()
    }
}

fn read_all(paths: &[&Path]) -> BTreeMap<PathBuf, Vec<u8>> {
    paths
        .iter()
        .map(|p| (p.to_path_buf(), std::fs::read(p).unwrap()))
        .collect()
}

#[test]
fn create_set_validate_get_ports_history() {
    let env = Env::new();
    let text = env.ok(&["config", "create", "all"]);
    assert!(text.contains("created") && text.contains("kubo"), "{text}");
    let kubo = env.home.join(".ipfs/config");
    let service = env.home.join(".ipfs-cluster/service.json");
    let identity = env.home.join(".ipfs-cluster/identity.json");
    for p in [
        &kubo,
        &service,
        &identity,
        &env.home.join(".lotus/config.toml"),
    ] {
        assert!(p.exists(), "{}", p.display());
    }
    // again: nothing is replaced
    let again = env.json(&["config", "create", "all"]);
    assert!(
        again["configs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["created"] == false),
        "{again}"
    );
    env.ok(&[
        "config",
        "create",
        "ipfs_cluster_follow",
        "--cluster",
        "fleet",
    ]);
    assert!(
        env.home
            .join(".ipfs-cluster-follow/fleet/service.json")
            .exists()
    );

    // --validate-only shows the change and leaves the file unchanged
    let before = read_all(&[&kubo]);
    let text = env.ok(&[
        "config",
        "set",
        "kubo",
        "Addresses.API",
        "/ip4/127.0.0.1/tcp/5011",
        "--validate-only",
    ]);
    assert!(
        text.contains("Addresses.API") && text.contains("5011") && text.contains("not written"),
        "{text}"
    );
    assert_eq!(before, read_all(&[&kubo]), "validate-only wrote");

    // a refused change (invalid, or a port collision) leaves the file unchanged and says why
    let out = env.run(&[
        "config",
        "set",
        "kubo",
        "Addresses.API",
        "/ip4/1.2.3/tcp/5001",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Addresses.API"));
    let out = env.run(&[
        "--json",
        "config",
        "set",
        "kubo",
        "Addresses.API",
        "/ip4/127.0.0.1/tcp/9094",
    ]);
    assert!(!out.status.success());
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["error_code"], "PORT_IN_USE", "{err}");
    assert!(err["context"]["suggested_port"].as_u64().is_some(), "{err}");
    assert_eq!(before, read_all(&[&kubo]), "refused change wrote");

    // set for real, with a path and with a merge document
    let out = env.json(&[
        "config",
        "set",
        "kubo",
        "Addresses.API",
        "/ip4/127.0.0.1/tcp/5011",
    ]);
    assert_eq!(out["written"], true);
    let version = out["backup"].as_str().unwrap().to_string();
    let out = env.json(&[
        "config",
        "set",
        "ipfs_cluster_service",
        "--merge",
        r#"{"service": {"cluster": {"replication_factor_min": 2, "replication_factor_max": 3}}}"#,
    ]);
    assert_eq!(out["changes"].as_array().unwrap().len(), 2, "{out}");
    let config: Value = serde_json::from_slice(&std::fs::read(&kubo).unwrap()).unwrap();
    assert_eq!(config["Addresses"]["API"], "/ip4/127.0.0.1/tcp/5011");

    // validate
    let text = env.ok(&["config", "validate"]);
    assert!(text.contains("ok") && !text.contains("INVALID"), "{text}");
    env.ok(&["config", "validate", "ipfs_cluster_follow@fleet"]);

    // get redacts the cluster secret and the identity's private key (and Kubo's), unless asked
    let svc: Value =
        serde_json::from_str(&env.ok(&["config", "get", "ipfs_cluster_service"])).unwrap();
    assert_eq!(svc["service"]["cluster"]["secret"], "<redacted>");
    assert_eq!(svc["identity"]["private_key"], "<redacted>");
    let on_disk: Value = serde_json::from_slice(&std::fs::read(&identity).unwrap()).unwrap();
    let key = on_disk["private_key"].as_str().unwrap();
    let service_doc: Value = serde_json::from_slice(&std::fs::read(&service).unwrap()).unwrap();
    let secret = service_doc["cluster"]["secret"].as_str().unwrap();
    let text = env.ok(&["config", "get", "ipfs_cluster_service"]);
    assert!(
        !text.contains(key) && !text.contains(secret),
        "secret leaked"
    );
    let text = env.ok(&["config", "get", "kubo"]);
    assert!(text.contains("<redacted>"));
    let text = env.ok(&["config", "get", "ipfs_cluster_service", "--reveal-secrets"]);
    assert!(text.contains(key) && text.contains(secret));

    // ports: a table with every daemon's listeners; a hand-made collision shows with a suggested port
    let text = env.ok(&["config", "ports", "--no-live"]);
    assert!(text.starts_with("OWNER"), "{text}");
    for needle in [
        "kubo",
        "Addresses.API",
        "5011",
        "ipfs_cluster_service",
        "9094",
        "ipfs_cluster_follow@fleet",
        "no conflicts",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    let lassie = env.kit.join("config/lassie.toml");
    let toml = std::fs::read_to_string(&lassie).unwrap();
    let colliding = toml.replace("port = 41443", "port = 5011");
    assert_ne!(toml, colliding, "{toml}");
    std::fs::write(&lassie, colliding).unwrap();
    let text = env.ok(&["config", "ports", "--no-live"]);
    assert!(
        text.contains("CONFLICTS") && text.contains("suggested port"),
        "{text}"
    );
    let plan = env.json(&["config", "ports", "--no-live"]);
    assert_eq!(plan["ok"], false);
    assert!(plan["conflicts"][0]["suggested_port"].as_u64().unwrap() > 0);
    std::fs::write(&lassie, toml).unwrap();

    // history, diff, restore
    let text = env.ok(&["config", "history", "kubo"]);
    assert!(text.lines().any(|l| l == version), "{text}");
    let text = env.ok(&["config", "diff", "kubo", "--against", &version]);
    assert!(
        text.contains("~ Addresses.API: /ip4/127.0.0.1/tcp/5001 -> /ip4/127.0.0.1/tcp/5011"),
        "{text}"
    );
    let text = env.ok(&["config", "diff", "kubo"]);
    assert!(
        text.contains("Addresses.API") && !text.contains(key),
        "{text}"
    );
    env.ok(&["config", "restore", "kubo", &version]);
    assert_eq!(before, read_all(&[&kubo]), "restore puts the bytes back");
    let text = env.ok(&["config", "diff", "kubo", "--against", &version]);
    assert!(text.contains("no differences"), "{text}");
    let b = env.json(&["config", "backup", "kubo"]);
    let h = env.json(&["config", "history", "kubo"]);
    assert_eq!(h["versions"][0]["version"], b["version"]);

    // bad input is a clear error
    let out = env.run(&["config", "get", "nonsense"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nonsense"));
    let out = env.run(&["--json", "config", "restore", "kubo", "no-such-version"]);
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["error_code"], "NOT_FOUND");
}
