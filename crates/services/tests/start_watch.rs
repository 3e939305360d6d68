//! A start that waits for a daemon's health reports its progress and can be given up: the daemon it
//! was starting (here `sleep`, which never answers the Kubo probe) is stopped, and the start is
//! `Cancelled`, well before its timeout.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ipfs_kit_config::ConfigStore;
#[path = "../../../tests/support/net.rs"]
mod net;
use net::free_port;

use ipfs_kit_services::{
    Error, Home, ProcStatus, ServiceKind, ServiceRecord, Services, StartWatch,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_reports_progress_and_cancelling_it_stops_the_daemon() {
    let tmp = tempfile::tempdir().unwrap();
    let svc = Services::open(
        Home::new(tmp.path().join("kit")),
        ConfigStore::new(tmp.path().join("home")),
    )
    .unwrap();
    let mut rec = ServiceRecord::new("mute", ServiceKind::Ipfs);
    rec.binary = Some("/bin/sleep".into());
    rec.args = Some(vec!["60".into()]);
    rec.settings.insert(
        "api".into(),
        format!("/ip4/127.0.0.1/tcp/{}", free_port()).into(),
    );
    rec.start_timeout_ms = 60_000;
    svc.add(rec).unwrap();

    let seen = Mutex::new(Vec::<(u64, u64)>::new());
    let progress = |waited: u64, timeout: u64| seen.lock().unwrap().push((waited, timeout));
    let cancel = AtomicBool::new(false);
    let t = Instant::now();
    let (res, ()) = tokio::join!(
        svc.start_watched(
            "mute",
            StartWatch {
                progress: Some(&progress),
                cancel: Some(&cancel),
            },
        ),
        async {
            tokio::time::sleep(Duration::from_millis(800)).await;
            cancel.store(true, Ordering::SeqCst);
        }
    );
    match res {
        Err(Error::Cancelled { service }) => assert_eq!(service, "mute"),
        other => panic!("expected Cancelled, got {other:?}"),
    }
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    let seen = seen.into_inner().unwrap();
    assert!(seen.len() >= 2, "{seen:?}");
    assert!(
        seen.iter().all(|&(_, timeout)| timeout == 60_000),
        "{seen:?}"
    );
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "{seen:?}");
    assert!(seen.last().unwrap().0 > 0, "{seen:?}");
    let st = svc.status("mute", true).await.unwrap();
    assert_eq!(st.status, "stopped", "{st:?}");
    let process = st.process.expect("a daemon has a process state");
    assert!(
        !matches!(process.status, ProcStatus::Running),
        "{:?}",
        process.status
    );
}
