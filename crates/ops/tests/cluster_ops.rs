//! The `cluster` toolset through the catalogue's JSON face, against the Cluster stand-in that serves recorded and
//! reconstructed Cluster answers (`crates/clients/tests/fixtures/cluster/`) and checks what was sent.
//!
//! Where an address comes from the kit's config store (which reads `HOME`), the checks run in a child process whose
//! `HOME` is a temporary directory, as `config_ops.rs` does.

#[path = "../../clients/tests/support/cluster_server.rs"]
mod cluster_server;

#[path = "support/temp_home.rs"]
mod temp_home;
use std::path::PathBuf;

use cluster_server::{Behaviour, ClusterServer, PASSWORD, USER, basic, token};
use ipfs_kit_ops::{Catalogue, ErrorCode, Kit, OpContext, OpError, Toolset};
use serde_json::{Value, json};

const CID1: &str = "QmQDVZrti9ZAvZQHndy58TzfAAKQpkyWQZrSwrzn64qX5E";
const PEER1: &str = "12D3KooWB6cxrTahCGu4T1vLeJTsSU3fHnWJsrig6bNi8afVEekm";

struct Env {
    kit: Kit,
    catalogue: Catalogue,
    _home: Option<tempfile::TempDir>,
}

impl Env {
    fn new() -> Env {
        let home = tempfile::tempdir().unwrap();
        Env {
            kit: Kit::open(&home.path().join(".ipfs_kit")).unwrap(),
            catalogue: Catalogue::standard(),
            _home: Some(home),
        }
    }

    async fn call(&self, name: &str, input: Value) -> Result<Value, OpError> {
        let op = self.catalogue.require(name)?.clone();
        op.call(&self.kit, input, &OpContext::default()).await
    }

    async fn ok(&self, name: &str, input: Value) -> Value {
        self.call(name, input.clone())
            .await
            .unwrap_or_else(|e| panic!("{name} {input}: {}", e.to_json()))
    }

    async fn err(&self, name: &str, input: Value) -> OpError {
        match self.call(name, input.clone()).await {
            Err(e) => e,
            Ok(v) => panic!("{name} {input} should fail, gave {v}"),
        }
    }
}

fn pair<'a>(s: &'a cluster_server::Seen, k: &str) -> Option<&'a str> {
    s.pairs
        .iter()
        .find(|(a, _)| a == k)
        .map(|(_, v)| v.as_str())
}

#[test]
fn catalogue_lists_the_cluster_tools_and_aliases() {
    let c = Catalogue::standard();
    for name in [
        "ipfs_cluster_pin",
        "ipfs_cluster_unpin",
        "ipfs_cluster_status",
        "ipfs_cluster_peers",
        "cluster_service_status_via_api",
        "cluster_follow_status_via_api",
    ] {
        let op = c.get(name).unwrap_or_else(|| panic!("{name} missing"));
        let m = op.meta();
        assert_eq!(m.toolset, Toolset::Cluster, "{name}");
        assert!(m.open_world, "{name} talks to a daemon");
        let schema = op.input_schema();
        assert!(schema["properties"]["api"].is_object(), "{name}: {schema}");
        assert!(schema["properties"]["basic_auth"].is_object(), "{name}");
        assert!(schema["properties"]["token"].is_object(), "{name}");
    }
    assert!(c.get("ipfs_cluster_unpin").unwrap().meta().destructive);
    assert!(!c.get("ipfs_cluster_pin").unwrap().meta().read_only);
    assert!(c.get("ipfs_cluster_status").unwrap().meta().read_only);
    for alias in ["get_service_peers", "get_follow_peers"] {
        assert_eq!(
            c.get(alias).map(|o| o.name()),
            Some("ipfs_cluster_peers"),
            "{alias}"
        );
    }
}

#[tokio::test]
async fn pin_unpin_status_peers_against_the_stand_in() {
    let env = Env::new();
    let srv = ClusterServer::start(Behaviour::default()).await;

    let out = env
        .ok(
            "ipfs_cluster_pin",
            json!({
                "cid": CID1, "api": srv.multiaddr(), "replication_min": 2, "replication_max": 3,
                "name": "report", "mode": "recursive", "user_allocations": [PEER1],
                "expire_in": "24h", "metadata": {"kind": "text"}
            }),
        )
        .await;
    assert_eq!(out["api"], srv.addr);
    assert_eq!(out["api_source"], "input");
    assert_eq!(out["pin"]["cid"], CID1);
    assert_eq!(out["pin"]["type"], "pin");
    assert_eq!(out["pin"]["metadata"]["kind"], "text");
    let s = srv.last();
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        ("POST", format!("/pins/{CID1}").as_str())
    );
    assert_eq!(pair(&s, "replication-min"), Some("2"));
    assert_eq!(pair(&s, "replication-max"), Some("3"));
    assert_eq!(pair(&s, "mode"), Some("recursive"));
    assert_eq!(pair(&s, "user-allocations"), Some(PEER1));
    assert_eq!(pair(&s, "expire-in"), Some("24h"));
    assert_eq!(pair(&s, "meta-kind"), Some("text"));
    assert_eq!(s.auth, None);

    // a path goes to /pins/{ipfs|ipns|ipld}/…
    env.ok(
        "ipfs_cluster_pin",
        json!({"cid": "/ipns/example.org", "api": srv.addr}),
    )
    .await;
    assert_eq!(srv.last().path, "/pins/ipns/example.org");

    let out = env
        .ok("ipfs_cluster_unpin", json!({"cid": CID1, "api": srv.addr}))
        .await;
    assert_eq!(out["pin"]["cid"], CID1);
    assert_eq!(srv.last().method, "DELETE");

    let out = env
        .ok("ipfs_cluster_status", json!({"api": srv.addr}))
        .await;
    assert_eq!(out["count"], 3);
    assert_eq!(out["truncated"], false);
    assert_eq!(out["pins"][0]["peer_map"][PEER1]["status"], "pinned");
    let out = env
        .ok("ipfs_cluster_status", json!({"api": srv.addr, "limit": 1}))
        .await;
    assert_eq!(
        (out["count"].as_u64(), out["truncated"].as_bool()),
        (Some(1), Some(true))
    );
    let out = env
        .ok(
            "ipfs_cluster_status",
            json!({"api": srv.addr, "cid": CID1, "local": true}),
        )
        .await;
    assert_eq!(out["pins"][0]["cid"], CID1);
    let s = srv.last();
    assert_eq!(s.path, format!("/pins/{CID1}"));
    assert_eq!(pair(&s, "local"), Some("true"));
    let out = env
        .ok(
            "ipfs_cluster_status",
            json!({"api": srv.addr, "filter": "pin_error"}),
        )
        .await;
    assert_eq!(
        out["count"], 0,
        "no pin in error: an empty list, not invented ones"
    );

    let out = env.ok("get_service_peers", json!({"api": srv.addr})).await;
    assert_eq!(out["count"], 3);
    assert_eq!(out["peers"][0]["id"], PEER1);

    let out = env
        .ok("cluster_service_status_via_api", json!({"api": srv.addr}))
        .await;
    assert_eq!(out["peer"]["id"], PEER1);
    assert_eq!(out["peer"]["version"], "1.1.6");
    assert_eq!(out["peer_count"], 3);
    assert_eq!(out["ipfs_connected"], true);
    assert_eq!(out["alerts"][0]["name"], "ping");
    assert!(out["cluster"].is_null());

    // a CID not in the pinset
    let e = env
        .err(
            "ipfs_cluster_unpin",
            json!({"cid": "QmahnmYLjUWX8ek8oRMwmTeg7WnMY61foQdPf18VwWfaLZ", "api": srv.addr}),
        )
        .await;
    assert_eq!(e.code, ErrorCode::NotFound, "{}", e.to_json());
    assert_eq!(e.context["daemon_message"], "pin is not part of the pinset");
}

#[tokio::test]
async fn bad_input_is_refused_before_any_request() {
    let env = Env::new();
    let srv = ClusterServer::start(Behaviour::default()).await;
    for (tool, input, code) in [
        (
            "ipfs_cluster_pin",
            json!({"cid": "not-a-cid", "api": srv.addr}),
            ErrorCode::InvalidCid,
        ),
        (
            "ipfs_cluster_pin",
            json!({"cid": "/tmp/x", "api": srv.addr}),
            ErrorCode::InvalidPath,
        ),
        (
            "ipfs_cluster_pin",
            json!({"cid": CID1, "api": srv.addr, "replication_min": -2}),
            ErrorCode::InvalidInput,
        ),
        (
            "ipfs_cluster_pin",
            json!({"cid": CID1, "api": srv.addr, "mode": "sideways"}),
            ErrorCode::InvalidInput,
        ),
        (
            "ipfs_cluster_pin",
            json!({"cid": CID1, "api": "nowhere"}),
            ErrorCode::InvalidInput,
        ),
        (
            "ipfs_cluster_pin",
            json!({"cid": CID1, "api": srv.addr, "basic_auth": "no-colon"}),
            ErrorCode::InvalidInput,
        ),
        (
            "ipfs_cluster_pin",
            json!({"cid": CID1, "api": srv.addr, "basic_auth": "a:b", "token": "t"}),
            ErrorCode::InvalidInput,
        ),
        (
            "ipfs_cluster_status",
            json!({"api": srv.addr, "cid": CID1, "filter": "pinned"}),
            ErrorCode::InvalidInput,
        ),
        (
            "ipfs_cluster_status",
            json!({"api": srv.addr, "limit": 1_000_000}),
            ErrorCode::InvalidInput,
        ),
        (
            "ipfs_cluster_peers",
            json!({"api": srv.addr, "bogus": 1}),
            ErrorCode::InvalidInput,
        ),
        (
            "ipfs_cluster_peers",
            json!({"cluster": "../etc"}),
            ErrorCode::InvalidInput,
        ),
    ] {
        let e = env.err(tool, input.clone()).await;
        assert_eq!(e.code, code, "{tool} {input}: {}", e.to_json());
    }
    assert!(srv.seen().is_empty(), "nothing was sent: {:?}", srv.seen());
}

#[tokio::test]
async fn credentials_from_input() {
    let env = Env::new();
    let srv = ClusterServer::start(Behaviour {
        credentials: Some((USER.into(), PASSWORD.into())),
        ..Behaviour::default()
    })
    .await;
    let good = format!("{USER}:{PASSWORD}");
    let out = env
        .ok(
            "ipfs_cluster_peers",
            json!({"api": srv.addr, "basic_auth": good}),
        )
        .await;
    assert_eq!(out["count"], 3);
    assert_eq!(srv.last().auth, Some(basic(USER, PASSWORD)));

    let out = env
        .ok(
            "ipfs_cluster_status",
            json!({"api": srv.addr, "token": token()}),
        )
        .await;
    assert_eq!(out["count"], 3);
    assert_eq!(srv.last().auth, Some(format!("Bearer {}", token())));

    for input in [
        json!({"api": srv.addr, "basic_auth": format!("{USER}:wrong")}),
        json!({"api": srv.addr, "token": "forged"}),
        json!({"api": srv.addr}),
    ] {
        let e = env
            .err("cluster_service_status_via_api", input.clone())
            .await;
        assert_eq!(
            e.code,
            ErrorCode::DaemonUnauthorized,
            "{input}: {}",
            e.to_json()
        );
        assert_eq!(e.context["api"], srv.addr);
        assert!(
            e.context["daemon_message"]
                .as_str()
                .unwrap()
                .starts_with("unauthorized"),
            "{}",
            e.to_json()
        );
        assert_eq!(e.to_json()["error_code"], "DAEMON_UNAUTHORIZED");
    }
}

#[tokio::test]
async fn nothing_answering_is_daemon_unavailable_naming_the_address() {
    let env = Env::new();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let api = format!("/ip4/127.0.0.1/tcp/{port}");
    for tool in [
        "ipfs_cluster_pin",
        "ipfs_cluster_unpin",
        "ipfs_cluster_status",
        "ipfs_cluster_peers",
        "cluster_service_status_via_api",
    ] {
        let mut input = json!({"api": api});
        if tool.ends_with("pin") {
            input["cid"] = CID1.into();
        }
        let e = env.err(tool, input).await;
        assert_eq!(
            e.code,
            ErrorCode::DaemonUnavailable,
            "{tool}: {}",
            e.to_json()
        );
        assert_eq!(
            e.context["api"],
            format!("http://127.0.0.1:{port}"),
            "{tool}"
        );
        assert!(
            e.message.contains(&format!("127.0.0.1:{port}")),
            "{}",
            e.message
        );
    }

    let srv = ClusterServer::start(Behaviour {
        garbage: true,
        ..Behaviour::default()
    })
    .await;
    let e = env
        .err("ipfs_cluster_peers", json!({"api": srv.addr}))
        .await;
    assert_eq!(e.code, ErrorCode::Corrupted, "{}", e.to_json());

    let follower = ClusterServer::start(Behaviour {
        follower: true,
        ..Behaviour::default()
    })
    .await;
    let e = env
        .err(
            "ipfs_cluster_pin",
            json!({"cid": CID1, "api": follower.addr}),
        )
        .await;
    assert_eq!(e.code, ErrorCode::Unsupported, "{}", e.to_json());
    assert_eq!(e.context["status"], 500);
}

/// Runs [`in_temp_home`] in a child process whose `HOME` is a temporary directory.
#[test]
fn addresses_and_credentials_from_the_kit_config() {
    temp_home::run_in_temp_home("CLUSTER_OPS_TEMP_HOME");
}

#[tokio::test]
#[ignore = "run by addresses_and_credentials_from_the_kit_config with HOME in a temporary directory"]
async fn in_temp_home() {
    use ipfs_kit_config::{ConfigKind, ConfigStore, Target, Update};

    let home = PathBuf::from(
        std::env::var_os("CLUSTER_OPS_TEMP_HOME")
            .expect("run through addresses_and_credentials_from_the_kit_config"),
    );
    let env = Env {
        kit: Kit::open(&home.join(".ipfs_kit")).unwrap(),
        catalogue: Catalogue::standard(),
        _home: None,
    };

    // no service config: the default address, and nothing invented when nothing answers there
    if std::net::TcpListener::bind("127.0.0.1:9094").is_ok() {
        let e = env.err("cluster_service_status_via_api", json!({})).await;
        assert_eq!(e.code, ErrorCode::DaemonUnavailable, "{}", e.to_json());
        assert_eq!(e.context["api"], "http://127.0.0.1:9094");
    }

    // the service config's REST address (a wildcard is dialled on loopback) and its first credential
    let srv = ClusterServer::start(Behaviour {
        credentials: Some((USER.into(), PASSWORD.into())),
        ..Behaviour::default()
    })
    .await;
    let port = srv.socket.unwrap().port();
    let store = ConfigStore::from_env().unwrap();
    let service = Target::new(ConfigKind::IpfsClusterService);
    store.create(&service, false).unwrap();
    store
        .set(
            &service,
            &Update::Merge(json!({"service": {"api": {"restapi": {
                "http_listen_multiaddress": format!("/ip4/0.0.0.0/tcp/{port}"),
                "basic_auth_credentials": {USER: PASSWORD},
            }}}})),
            false,
        )
        .unwrap();
    let out = env.ok("cluster_service_status_via_api", json!({})).await;
    assert_eq!(out["api"], format!("http://127.0.0.1:{port}"));
    assert_eq!(out["api_source"], "config");
    assert_eq!(out["peer"]["id"], PEER1);
    assert_eq!(srv.last().auth, Some(basic(USER, PASSWORD)));
    // credentials given as input win over the config's
    let e = env
        .err("get_service_peers", json!({"basic_auth": "testuser:other"}))
        .await;
    assert_eq!(e.code, ErrorCode::DaemonUnauthorized, "{}", e.to_json());
    let out = env
        .ok("ipfs_cluster_pin", json!({"cid": CID1, "name": "report"}))
        .await;
    assert_eq!(out["api_source"], "config");

    // a follower: its API is the unix socket in its folder
    let follow = Target::follow("fleet");
    store.create(&follow, false).unwrap();
    let sock = home.join(".ipfs-cluster-follow/fleet/api-socket");
    let f = ClusterServer::start_unix(
        &sock,
        Behaviour {
            follower: true,
            ..Behaviour::default()
        },
    )
    .await;
    let out = env.ok("cluster_follow_status_via_api", json!({})).await;
    assert_eq!(out["cluster"], "fleet");
    assert_eq!(out["api"], format!("/unix{}", sock.display()));
    assert_eq!(out["api_source"], "follower");
    assert_eq!(out["peer_count"], 3);
    let out = env
        .ok("get_follow_peers", json!({"cluster": "fleet"}))
        .await;
    assert_eq!(out["count"], 3);
    assert_eq!(out["api"], f.addr);
    let out = env
        .ok(
            "ipfs_cluster_status",
            json!({"cluster": "fleet", "local": true}),
        )
        .await;
    assert_eq!(out["count"], 3);
    assert_eq!(pair(&f.last(), "local"), Some("true"));

    // a follower that is not running: the socket it would answer on is named
    store.create(&Target::follow("quiet"), false).unwrap();
    let e = env
        .err("cluster_follow_status_via_api", json!({"cluster": "quiet"}))
        .await;
    assert_eq!(e.code, ErrorCode::DaemonUnavailable, "{}", e.to_json());
    let quiet = home.join(".ipfs-cluster-follow/quiet/api-socket");
    assert_eq!(e.context["api"], format!("/unix{}", quiet.display()));
    // two followers: the name is needed
    let e = env.err("cluster_follow_status_via_api", json!({})).await;
    assert_eq!(e.code, ErrorCode::InvalidInput, "{}", e.to_json());
}
