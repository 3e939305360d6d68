//! The IPFS Cluster REST client against recorded (and, where noted in
//! `fixtures/cluster/README.md`, reconstructed) Cluster answers served by a local stand-in that
//! also checks what the client sent.

#[path = "support/cluster_server.rs"]
mod cluster_server;

use std::collections::BTreeMap;
use std::time::Duration;

use cluster_server::{Behaviour, ClusterServer, PASSWORD, USER, basic, fixtures, token};
use ipfs_kit_clients::cluster::{ClusterClient, Error, PinOptions};

const CID1: &str = "QmQDVZrti9ZAvZQHndy58TzfAAKQpkyWQZrSwrzn64qX5E";
const PEER1: &str = "12D3KooWB6cxrTahCGu4T1vLeJTsSU3fHnWJsrig6bNi8afVEekm";

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn decodes_every_recorded_body() {
    let srv = ClusterServer::start(Behaviour::default()).await;
    let c = ClusterClient::new(&srv.multiaddr()).unwrap();
    assert_eq!(c.address(), srv.addr);

    let id = c.id().await.unwrap();
    assert_eq!(id.id, PEER1);
    assert_eq!(id.cluster_peers.len(), 3);
    assert_eq!(id.rpc_protocol_version, "/ipfscluster/1.0/rpc");
    assert_eq!(
        id.ipfs.as_ref().unwrap().id,
        "12D3KooWK3yhTEZvvzZq5LM8FtvtAs2oX7iEj4Vjycx8eBdJRCQi"
    );
    let s = srv.last();
    assert_eq!(
        (s.method.as_str(), s.path.as_str(), s.auth),
        ("GET", "/id", None)
    );

    assert_eq!(c.version().await.unwrap().version, "1.1.6");

    let peers = c.peers(100).await.unwrap();
    assert!(!peers.truncated);
    assert_eq!(peers.items.len(), 3);
    assert!(
        peers
            .items
            .iter()
            .all(|p| p.peername == "localhost.localdomain")
    );

    // recorded from a real three-peer cluster
    let all = c.status_all(None, false, 100).await.unwrap();
    assert_eq!(all.items.len(), 3);
    assert!(!all.truncated);
    let first = &all.items[0];
    assert_eq!(first.cid, CID1);
    assert_eq!(first.created, "2022-11-21T01:33:20Z");
    assert_eq!(first.allocations.len(), 3);
    assert!(first.metadata.is_empty(), "metadata was null");
    assert_eq!(first.peer_map.len(), 3);
    let mine = &first.peer_map[PEER1];
    assert_eq!(mine.status, "pinned");
    assert_eq!(
        mine.ipfs_peer_addresses,
        ["/ip4/192.168.0.87/tcp/4001/p2p/12D3KooWK3yhTEZvvzZq5LM8FtvtAs2oX7iEj4Vjycx8eBdJRCQi"]
    );
    assert_eq!(mine.attempt_count, 0);
    assert!(!mine.priority_pin);
    assert!(
        all.items
            .iter()
            .flat_map(|g| g.peer_map.values())
            .all(|p| p.status == "pinned" && p.error.is_empty())
    );
    let s = srv.last();
    assert_eq!(
        (s.method.as_str(), s.path.as_str(), s.query.as_str()),
        ("GET", "/pins", "")
    );

    let one = c.status(CID1, true).await.unwrap();
    assert_eq!(one, all.items[0]);
    let s = srv.last();
    assert_eq!(s.path, format!("/pins/{CID1}"));
    assert_eq!(s.pairs, pairs(&[("local", "true")]));

    let rec = c.recover(CID1, false).await.unwrap();
    assert_eq!(rec.cid, CID1);
    let s = srv.last();
    assert_eq!(
        (s.method.as_str(), s.path),
        ("POST", format!("/pins/{CID1}/recover"))
    );
    let rec_all = c.recover_all(false, 10).await.unwrap();
    assert_eq!(rec_all.items.len(), 3);
    assert_eq!(srv.last().path, "/pins/recover");

    let allocs = c.allocations(None, 100).await.unwrap();
    assert_eq!(allocs.items.len(), 3);
    assert!(
        allocs
            .items
            .iter()
            .all(|p| p.pin_type == "pin" && p.max_depth == -1)
    );
    let s = srv.last();
    assert_eq!(s.pairs, pairs(&[("filter", "pin")]));
    let a = c.allocation(CID1).await.unwrap();
    assert_eq!(a.allocations.len(), 3);
    assert_eq!(a.mode, "recursive");
    assert_eq!(a.expire_at.as_deref(), Some("0001-01-01T00:00:00Z"));
    assert!(a.user_allocations.is_empty() && a.pin_update.is_none());

    // Cluster's own test data: a pin as its state export writes it (most fields absent)
    let exported = c
        .allocation("QmbrCtydGyPeHiLURSPMqrvE5mCgMCwFYq3UD4XLCeAYw6")
        .await
        .unwrap();
    assert_eq!(exported.replication_factor_min, -1);
    assert_eq!(exported.replication_factor_max, -1);
    assert!(exported.allocations.is_empty() && exported.pin_type.is_empty());

    let graph = c.health_graph().await.unwrap();
    assert_eq!(graph.cluster_id, PEER1);
    assert_eq!(graph.cluster_links[PEER1].len(), 2);
    assert_eq!(graph.cluster_to_ipfs.len(), 3);
    assert!(graph.cluster_trust_links.values().all(|t| *t));

    let alerts = c.alerts().await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].metric.name, "ping");
    assert!(alerts[0].triggered_at.starts_with("2022-11-21T03:33:35"));

    assert_eq!(
        c.metric_names().await.unwrap(),
        ["freespace", "pinqueue", "ping", "tag:group"]
    );
    let free = c.metrics("freespace").await.unwrap();
    assert_eq!(free.len(), 3);
    assert!(
        free.iter()
            .all(|m| m.valid && m.value == m.weight.to_string())
    );
    assert!(
        c.metrics("nothing").await.unwrap().is_empty(),
        "null reads as empty"
    );
    assert!(matches!(
        c.metrics("").await,
        Err(Error::InvalidArgument(_))
    ));

    c.health().await.unwrap();
    assert_eq!(srv.last().path, "/health");
}

#[tokio::test]
async fn pin_options_are_encoded_as_cluster_reads_them() {
    let srv = ClusterServer::start(Behaviour::default()).await;
    let c = ClusterClient::new(&srv.addr).unwrap();
    let opts = PinOptions {
        replication_min: Some(2),
        replication_max: Some(3),
        name: Some("quarterly report".into()),
        mode: Some("direct".into()),
        user_allocations: vec![
            PEER1.into(),
            "12D3KooWJ7b5LSbZJmRvrgGQVoSyVM6bTQdjtSc6cBpLWoZTQKXH".into(),
        ],
        expire_in: Some("24h".into()),
        metadata: BTreeMap::from([("kind".to_string(), "text".to_string())]),
    };
    let pin = c.pin(CID1, &opts).await.unwrap();
    assert_eq!(pin.cid, CID1);
    assert_eq!(pin.name, "report");
    assert_eq!(pin.metadata["kind"], "text");
    assert_eq!(
        (pin.replication_factor_min, pin.replication_factor_max),
        (2, 3)
    );
    let s = srv.last();
    assert_eq!(
        (s.method.as_str(), s.path),
        ("POST", format!("/pins/{CID1}"))
    );
    let mut got = s.pairs.clone();
    got.sort();
    let mut want = pairs(&[
        ("replication-min", "2"),
        ("replication-max", "3"),
        ("name", "quarterly report"),
        ("mode", "direct"),
        (
            "user-allocations",
            "12D3KooWB6cxrTahCGu4T1vLeJTsSU3fHnWJsrig6bNi8afVEekm,12D3KooWJ7b5LSbZJmRvrgGQVoSyVM6bTQdjtSc6cBpLWoZTQKXH",
        ),
        ("expire-in", "24h"),
        ("meta-kind", "text"),
    ]);
    want.sort();
    assert_eq!(got, want);
    assert!(
        !s.query.contains(' '),
        "query is percent-encoded: {}",
        s.query
    );

    // no options: nothing sent, the cluster's defaults apply
    c.pin(CID1, &PinOptions::default()).await.unwrap();
    assert_eq!(srv.last().query, "");

    // paths go to /pins/{ipfs|ipns|ipld}/<path>, segments escaped
    c.pin("/ipns/example.org/a b", &PinOptions::default())
        .await
        .unwrap();
    let s = srv.last();
    assert_eq!(s.path, "/pins/ipns/example.org/a b");
    let un = c.unpin(CID1).await.unwrap();
    assert_eq!(un.cid, CID1);
    let s = srv.last();
    assert_eq!(
        (s.method.as_str(), s.path),
        ("DELETE", format!("/pins/{CID1}"))
    );
    c.unpin("/ipfs/QmX/sub").await.unwrap();
    assert_eq!(srv.last().path, "/pins/ipfs/QmX/sub");

    for bad in ["", "/tmp/x", "Qm/../x", "not a cid"] {
        assert!(
            matches!(
                c.pin(bad, &PinOptions::default()).await,
                Err(Error::InvalidArgument(_))
            ),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn basic_auth_right_wrong_and_missing() {
    let srv = ClusterServer::start(Behaviour {
        credentials: Some((USER.into(), PASSWORD.into())),
        ..Behaviour::default()
    })
    .await;
    let good = ClusterClient::new(&srv.addr)
        .unwrap()
        .with_basic_auth(USER, PASSWORD);
    assert_eq!(good.id().await.unwrap().id, PEER1);
    assert_eq!(srv.last().auth, Some(basic(USER, PASSWORD)));

    let wrong = ClusterClient::new(&srv.addr)
        .unwrap()
        .with_basic_auth(USER, "nope");
    match wrong.id().await {
        Err(e @ Error::Unauthorized { .. }) => {
            assert!(e.is_unauthorized() && !e.is_unreachable());
            assert_eq!(e.status(), Some(401));
            let Error::Unauthorized { addr, message } = e else {
                unreachable!()
            };
            assert_eq!(message, "unauthorized: access denied");
            assert_eq!(addr, srv.addr);
        }
        other => panic!("{other:?}"),
    }

    let none = ClusterClient::new(&srv.addr).unwrap();
    match none.status_all(None, false, 10).await {
        Err(Error::Unauthorized { message, .. }) => {
            assert_eq!(message, "unauthorized: no auth provided")
        }
        other => panic!("{other:?}"),
    }
    // /health needs no credentials
    none.health().await.unwrap();
    // a token needs Basic credentials
    assert!(none.token().await.unwrap_err().is_unauthorized());
}

#[tokio::test]
async fn bearer_token_flow() {
    let srv = ClusterServer::start(Behaviour {
        credentials: Some((USER.into(), PASSWORD.into())),
        ..Behaviour::default()
    })
    .await;
    let basic_client = ClusterClient::new(&srv.addr)
        .unwrap()
        .with_basic_auth(USER, PASSWORD);
    let jwt = basic_client.token().await.unwrap();
    assert_eq!(jwt, token());
    let s = srv.last();
    assert_eq!((s.method.as_str(), s.path.as_str()), ("POST", "/token"));
    assert_eq!(s.auth, Some(basic(USER, PASSWORD)));

    let bearer = basic_client.clone().with_bearer(&jwt);
    assert_eq!(bearer.peers(10).await.unwrap().items.len(), 3);
    assert_eq!(srv.last().auth, Some(format!("Bearer {jwt}")));

    let forged = ClusterClient::new(&srv.addr)
        .unwrap()
        .with_bearer(format!("{jwt}x"));
    match forged.version().await {
        Err(Error::Unauthorized { message, .. }) => {
            assert_eq!(message, "unauthorized: invalid token")
        }
        other => panic!("{other:?}"),
    }
    assert!(
        !format!("{bearer:?}").contains(&jwt),
        "tokens stay out of Debug"
    );
}

#[tokio::test]
async fn api_errors_carry_clusters_message() {
    let srv = ClusterServer::start(Behaviour::default()).await;
    let c = ClusterClient::new(&srv.addr).unwrap();
    match c.allocation("QmNotPinnedAnywhere").await {
        Err(Error::Api {
            endpoint,
            status,
            message,
        }) => {
            assert_eq!(status, 404);
            assert_eq!(message, "pin is not part of the pinset");
            assert_eq!(endpoint, "GET /allocations/QmNotPinnedAnywhere");
        }
        other => panic!("{other:?}"),
    }
    match c.status_all(Some("bogus"), false, 10).await {
        Err(Error::Api {
            status, message, ..
        }) => assert_eq!((status, message.as_str()), (400, "invalid filter value")),
        other => panic!("{other:?}"),
    }
    // a filter nothing matches: Cluster answers 204 with no body
    let none = c.status_all(Some("pin_error"), false, 10).await.unwrap();
    assert!(none.items.is_empty() && !none.truncated);
    let s = srv.last();
    assert_eq!(s.pairs, pairs(&[("filter", "pin_error")]));

    let follower = ClusterServer::start(Behaviour {
        follower: true,
        ..Behaviour::default()
    })
    .await;
    let f = ClusterClient::new(&follower.addr).unwrap();
    match f.pin(CID1, &PinOptions::default()).await {
        Err(e @ Error::Api { .. }) => {
            assert_eq!(e.status(), Some(500));
            assert!(e.to_string().contains("follower mode"), "{e}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn listings_stop_at_the_limit() {
    let srv = ClusterServer::start(Behaviour::default()).await;
    let c = ClusterClient::new(&srv.addr).unwrap();
    let two = c.status_all(None, false, 2).await.unwrap();
    assert_eq!(two.items.len(), 2);
    assert!(two.truncated);
    let three = c.allocations(Some("all"), 3).await.unwrap();
    assert_eq!(three.items.len(), 3);
    assert!(!three.truncated);
    assert_eq!(srv.last().pairs, pairs(&[("filter", "all")]));
    let zero = c.peers(0).await.unwrap();
    assert!(zero.items.is_empty() && zero.truncated);
}

#[tokio::test]
async fn unreachable_addresses_are_named() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = ClusterClient::new(&format!("/ip4/127.0.0.1/tcp/{port}")).unwrap();
    match c.id().await {
        Err(e @ Error::Unreachable { .. }) => {
            assert!(e.is_unreachable());
            assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
        }
        other => panic!("{other:?}"),
    }
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("fleet").join("api-socket");
    let c = ClusterClient::unix(&sock).unwrap();
    match c.id().await {
        Err(Error::Unreachable { addr, .. }) => {
            assert_eq!(addr, format!("/unix{}", sock.display()))
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        ClusterClient::new("/ip4/127.0.0.1/udp/9094"),
        Err(Error::InvalidAddress(_))
    ));
}

#[tokio::test]
async fn silent_daemon_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let c = ClusterClient::new(&addr.to_string())
        .unwrap()
        .with_timeout(Duration::from_millis(300));
    match c.id().await {
        Err(e @ Error::Timeout { .. }) => assert!(e.is_unreachable()),
        other => panic!("{other:?}"),
    }
    hold.abort();
}

#[tokio::test]
async fn garbage_and_oversized_bodies_are_typed_errors() {
    let srv = ClusterServer::start(Behaviour {
        garbage: true,
        ..Behaviour::default()
    })
    .await;
    let c = ClusterClient::new(&srv.addr).unwrap();
    assert!(matches!(c.id().await, Err(Error::Decode { .. })));
    assert!(matches!(
        c.status_all(None, false, 10).await,
        Err(Error::Decode { .. })
    ));

    let big = ClusterServer::start(Behaviour {
        oversized: true,
        ..Behaviour::default()
    })
    .await;
    let c = ClusterClient::new(&big.addr).unwrap();
    match c.id().await {
        Err(Error::TooLarge { limit, .. }) => {
            assert_eq!(limit, ipfs_kit_clients::cluster::MAX_ANSWER)
        }
        other => panic!("{other:?}"),
    }
    match c.peers(10).await {
        Err(Error::TooLarge { limit, .. }) => {
            assert_eq!(limit, ipfs_kit_clients::cluster::MAX_LINE)
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn follower_api_over_a_unix_socket() {
    let dir = tempfile::tempdir().unwrap();
    let sock = cluster_server::socket_in(dir.path());
    let srv = ClusterServer::start_unix(
        &sock,
        Behaviour {
            follower: true,
            ..Behaviour::default()
        },
    )
    .await;
    let c = ClusterClient::new(&srv.addr).unwrap();
    assert_eq!(c.address(), srv.addr);
    assert_eq!(c.id().await.unwrap().id, PEER1);
    assert_eq!(c.peers(10).await.unwrap().items.len(), 3);
    assert_eq!(c.status_all(None, true, 10).await.unwrap().items.len(), 3);
    assert_eq!(srv.last().pairs, pairs(&[("local", "true")]));
    assert_eq!(
        c.unpin(CID1).await.unwrap_err().status(),
        Some(500),
        "followers refuse writes"
    );
}

#[test]
fn fixtures_are_well_formed_json() {
    for body in [
        fixtures::ID,
        fixtures::VERSION,
        fixtures::PIN_ANSWER,
        fixtures::IMPORT_STATE,
        fixtures::METRIC_NAMES,
        fixtures::METRICS_FREESPACE,
        fixtures::ALERTS,
        fixtures::GRAPH,
        fixtures::TOKEN,
        fixtures::E401_DENIED,
        fixtures::E401_TOKEN,
        fixtures::E401_NONE,
        fixtures::E404_PIN,
        fixtures::E404_ROUTE,
        fixtures::E500_FOLLOWER,
    ] {
        serde_json::from_str::<serde_json::Value>(body).unwrap();
    }
    for body in [fixtures::PEERS, fixtures::PINS, fixtures::ALLOCATIONS] {
        assert_eq!(body.lines().count(), 3);
        for l in body.lines() {
            serde_json::from_str::<serde_json::Value>(l).unwrap();
        }
    }
}
