//! The supervisor against real processes: `sh` scripts and `sleep`, a second supervisor and a second OS
//! process on the same home.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use ipfs_kit_services::process::{self, StopSignal};
use ipfs_kit_services::{
    Desired, Error, Event, EventBus, EventKind, Home, LaunchSpec, ProcRecord, ProcStatus,
    RestartMode, RestartPolicy, Supervisor, SupervisorConfig,
};
use tokio_util::sync::CancellationToken;

/// Kills whatever the records of a home still name when a test ends (pass or fail).
struct Reaper(Home);

impl Drop for Reaper {
    fn drop(&mut self) {
        let sup = Supervisor::new(self.0.clone(), EventBus::new(1));
        for name in sup.names().unwrap_or_default() {
            if let Ok(Some(rec)) = sup.record(&name)
                && let Some(pid) = rec.pid
                && process::is_alive(pid, rec.start_time)
            {
                let _ = process::signal_group(rec.pgid.unwrap_or(pid), StopSignal::Kill);
            }
        }
    }
}

fn home() -> (tempfile::TempDir, Home, Reaper) {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path().join("kit"));
    let reaper = Reaper(home.clone());
    (dir, home, reaper)
}

fn fast() -> SupervisorConfig {
    SupervisorConfig {
        tick: Duration::from_millis(50),
        settle: Duration::from_millis(150),
        ..SupervisorConfig::default()
    }
}

fn policy(mode: RestartMode, max_attempts: u32) -> RestartPolicy {
    RestartPolicy {
        mode,
        max_attempts,
        backoff_initial_ms: 100,
        backoff_max_ms: 400,
        reset_after_ms: 60_000,
        stop_timeout_ms: 3_000,
    }
}

fn sh(home: &Home, name: &str, script: &str) -> LaunchSpec {
    let mut spec = LaunchSpec::new(name, "sh", home.root().join("run").join(name));
    spec.args = vec!["-c".into(), script.into()];
    spec.restart = policy(RestartMode::OnFailure, 3);
    spec
}

fn events(bus: &EventBus, kind: EventKind) -> Vec<Event> {
    bus.recent(0, 10_000)
        .into_iter()
        .filter(|e| e.kind == kind)
        .collect()
}

async fn until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn running_loop(sup: &Arc<Supervisor>) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let token = CancellationToken::new();
    let handle = tokio::spawn(sup.clone().run(token.clone()));
    (token, handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_captures_logs_and_sigterm_stops_cleanly() {
    let (_d, home, _r) = home();
    let bus = EventBus::new(256);
    let sup = Supervisor::with_config(home.clone(), bus.clone(), fast());
    let spec = sh(
        &home,
        "web",
        "echo hello out; echo hello err >&2; trap 'echo got term; exit 0' TERM; \
         while :; do sleep 0.05; done",
    );
    let st = sup.start(spec).await.unwrap();
    assert_eq!(st.status, ProcStatus::Running);
    assert_eq!(st.desired, Desired::Running);
    assert!(st.child);
    let pid = st.pid.unwrap();
    assert_eq!(st.pgid, Some(pid), "own process group");
    assert!(
        st.program.unwrap().is_absolute(),
        "program resolved on PATH"
    );
    let rec = sup.record("web").unwrap().unwrap();
    assert_eq!(rec.start_time, process::start_time(pid));
    assert_eq!(
        events(&bus, EventKind::Starting).len() + events(&bus, EventKind::Started).len(),
        2
    );

    until("log lines", Duration::from_secs(5), || {
        let l = sup.logs("web", 10).unwrap();
        l.iter().any(|x| x == "hello out") && l.iter().any(|x| x == "hello err")
    })
    .await;
    assert_eq!(sup.pids(), vec![("web".to_owned(), pid)]);

    let t0 = Instant::now();
    let st = sup.stop("web", None).await.unwrap();
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    assert_eq!(st.status, ProcStatus::Stopped);
    assert_eq!(st.desired, Desired::Stopped);
    assert_eq!(st.last_exit.as_ref().and_then(|e| e.code), Some(0));
    assert!(!process::is_alive(pid, None));
    let stopped = events(&bus, EventKind::Stopped);
    assert_eq!(stopped.len(), 1);
    assert_eq!(stopped[0].data["signal"], "SIGTERM");
    until("trap output", Duration::from_secs(2), || {
        sup.logs("web", 3).unwrap().iter().any(|l| l == "got term")
    })
    .await;
    assert!(sup.pids().is_empty());

    // restart with the recorded spec gives a new process
    let st = sup.restart("web", None).await.unwrap();
    assert_eq!(st.status, ProcStatus::Running);
    assert_ne!(st.pid, Some(pid));
    sup.remove("web", None).await.unwrap();
    assert!(sup.record("web").unwrap().is_none());
    assert!(sup.names().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_ignoring_sigterm_is_killed_after_the_timeout() {
    let (_d, home, _r) = home();
    let bus = EventBus::new(256);
    let sup = Supervisor::with_config(home.clone(), bus.clone(), fast());
    let spec = sh(
        &home,
        "stubborn",
        "trap '' TERM; echo ready; while :; do sleep 0.05; done",
    );
    let pid = sup.start(spec).await.unwrap().pid.unwrap();
    until("ready", Duration::from_secs(5), || {
        sup.logs("stubborn", 5)
            .unwrap()
            .iter()
            .any(|l| l == "ready")
    })
    .await;
    let t0 = Instant::now();
    let st = sup
        .stop("stubborn", Some(Duration::from_millis(400)))
        .await
        .unwrap();
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(400), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(st.status, ProcStatus::Stopped);
    assert_eq!(st.last_exit.as_ref().and_then(|e| e.signal), Some(9));
    assert!(!process::is_alive(pid, None));
    until("the whole group to go", Duration::from_secs(2), || {
        !process::group_alive(pid)
    })
    .await;
    assert_eq!(
        events(&bus, EventKind::Stopped)[0].data["signal"],
        "SIGKILL"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_is_restarted_with_backoff_and_events() {
    let (_d, home, _r) = home();
    let bus = EventBus::new(256);
    let sup = Arc::new(Supervisor::with_config(home.clone(), bus.clone(), fast()));
    let spec = sh(&home, "victim", "echo up; exec sleep 30");
    let pid = sup.start(spec).await.unwrap().pid.unwrap();
    let (token, handle) = running_loop(&sup);

    process::signal_process(pid, StopSignal::Kill).unwrap();
    until("restart", Duration::from_secs(5), || {
        !events(&bus, EventKind::Restarted).is_empty()
    })
    .await;
    let crashed = events(&bus, EventKind::Crashed);
    assert_eq!(crashed.len(), 1, "{crashed:?}");
    assert_eq!(crashed[0].data["signal"], 9);
    assert_eq!(crashed[0].data["pid"], pid);
    let restarted = &events(&bus, EventKind::Restarted)[0];
    assert_eq!(restarted.data["attempt"], 1);
    assert!(
        restarted.time_ms >= crashed[0].time_ms + 90,
        "back-off of 100 ms honoured: {} → {}",
        crashed[0].time_ms,
        restarted.time_ms
    );
    let st = sup.state("victim");
    assert_eq!(st.status, ProcStatus::Running);
    assert_ne!(st.pid, Some(pid));
    assert_eq!(st.restarts, 1);
    assert!(st.child);
    assert_eq!(st.last_exit.as_ref().and_then(|e| e.signal), Some(9));

    // stopping on request is not a crash: nothing restarts it
    sup.stop("victim", None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(events(&bus, EventKind::Restarted).len(), 1);
    assert_eq!(sup.state("victim").status, ProcStatus::Stopped);
    token.cancel();
    handle.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_exhausted_gives_up_instead_of_looping() {
    let (_d, home, _r) = home();
    let bus = EventBus::new(256);
    let sup = Arc::new(Supervisor::with_config(home.clone(), bus.clone(), fast()));
    let mut spec = sh(&home, "flaky", "echo boom; sleep 0.4; exit 3");
    spec.restart = policy(RestartMode::OnFailure, 2);
    sup.start(spec).await.unwrap();
    let (token, handle) = running_loop(&sup);
    until("give up", Duration::from_secs(10), || {
        !events(&bus, EventKind::GaveUp).is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(events(&bus, EventKind::Restarted).len(), 2);
    assert_eq!(events(&bus, EventKind::Crashed).len(), 3);
    assert_eq!(events(&bus, EventKind::GaveUp).len(), 1);
    assert!(
        events(&bus, EventKind::Crashed)
            .iter()
            .all(|e| e.data["code"] == 3)
    );
    let st = sup.state("flaky");
    match &st.status {
        ProcStatus::Failed { reason } => assert!(reason.contains("gave up"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(st.restarts, 2);
    assert!(sup.pids().is_empty());
    token.cancel();
    handle.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_longer_than_reset_after_resets_the_attempts() {
    let (_d, home, _r) = home();
    let bus = EventBus::new(256);
    let sup = Arc::new(Supervisor::with_config(home.clone(), bus.clone(), fast()));
    let mut spec = sh(&home, "slowcrash", "sleep 0.4; exit 1");
    spec.restart = policy(RestartMode::OnFailure, 1);
    spec.restart.reset_after_ms = 250;
    sup.start(spec).await.unwrap();
    let (token, handle) = running_loop(&sup);
    until("three restarts", Duration::from_secs(10), || {
        events(&bus, EventKind::Restarted).len() >= 3
    })
    .await;
    token.cancel();
    handle.await.unwrap();
    // one attempt allowed, but every run outlived reset_after: never gave up, each restart is attempt 1
    assert!(events(&bus, EventKind::GaveUp).is_empty());
    assert!(
        events(&bus, EventKind::Restarted)
            .iter()
            .all(|e| e.data["attempt"] == 1)
    );
    sup.stop("slowcrash", Some(Duration::from_secs(2)))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_policy_stays_crashed() {
    let (_d, home, _r) = home();
    let bus = EventBus::new(256);
    let sup = Arc::new(Supervisor::with_config(home.clone(), bus.clone(), fast()));
    let mut spec = sh(&home, "once", "sleep 0.4; exit 7");
    spec.restart = policy(RestartMode::Never, 5);
    sup.start(spec).await.unwrap();
    let (token, handle) = running_loop(&sup);
    until("crash", Duration::from_secs(5), || {
        !events(&bus, EventKind::Crashed).is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(events(&bus, EventKind::Restarted).is_empty());
    assert_eq!(
        sup.state("once").status,
        ProcStatus::Crashed {
            code: Some(7),
            signal: None
        }
    );
    token.cancel();
    handle.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn always_policy_restarts_a_clean_exit() {
    let (_d, home, _r) = home();
    let bus = EventBus::new(256);
    let sup = Arc::new(Supervisor::with_config(home.clone(), bus.clone(), fast()));
    let mut spec = sh(&home, "job", "sleep 0.4; exit 0");
    spec.restart = policy(RestartMode::Always, 5);
    sup.start(spec).await.unwrap();
    let (token, handle) = running_loop(&sup);
    until("restart", Duration::from_secs(5), || {
        !events(&bus, EventKind::Restarted).is_empty()
    })
    .await;
    assert_eq!(events(&bus, EventKind::Exited)[0].data["code"], 0);
    token.cancel();
    handle.await.unwrap();
    sup.stop("job", None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_that_exits_at_once_is_a_start_error_with_its_log() {
    let (_d, home, _r) = home();
    let bus = EventBus::new(256);
    let sup = Arc::new(Supervisor::with_config(home.clone(), bus.clone(), fast()));
    let spec = sh(&home, "bad", "echo 'fatal: bad config line 3' >&2; exit 3");
    let err = sup.start(spec).await.unwrap_err();
    let Error::Start { service, message } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(service, "bad");
    assert!(message.contains("code 3"), "{message}");
    assert!(message.contains("fatal: bad config line 3"), "{message}");
    let st = sup.state("bad");
    assert!(matches!(st.status, ProcStatus::Failed { .. }), "{st:?}");
    assert_eq!(st.last_exit.as_ref().and_then(|e| e.code), Some(3));
    assert_eq!(events(&bus, EventKind::Crashed).len(), 1);
    assert!(events(&bus, EventKind::Started).is_empty());
    // the loop leaves a failed start alone
    let (token, handle) = running_loop(&sup);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(events(&bus, EventKind::Restarted).is_empty());
    assert!(matches!(sup.state("bad").status, ProcStatus::Failed { .. }));
    token.cancel();
    handle.await.unwrap();
}

#[tokio::test]
async fn a_missing_binary_is_reported_before_anything_is_written() {
    let (_d, home, _r) = home();
    let sup = Supervisor::new(home.clone(), EventBus::new(16));
    let spec = LaunchSpec::new("ghost", "no-such-daemon-4f2a", home.root().join("run"));
    let err = sup.start(spec).await.unwrap_err();
    assert!(
        matches!(&err, Error::BinaryNotFound { service, program } if service == "ghost" && program == "no-such-daemon-4f2a"),
        "{err:?}"
    );
    assert!(!home.root().exists(), "nothing written");
    let bad = LaunchSpec::new("Bad/Name", "sh", home.root());
    assert!(matches!(
        sup.start(bad).await.unwrap_err(),
        Error::BadName(_)
    ));
    assert!(matches!(
        sup.stop("ghost", None).await.unwrap_err(),
        Error::NotFound(_)
    ));
    assert_eq!(sup.state("ghost").status, ProcStatus::Stopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_supervisor_adopts_instead_of_starting_a_twin() {
    let (_d, home, _r) = home();
    let bus1 = EventBus::new(64);
    let sup1 = Supervisor::with_config(home.clone(), bus1.clone(), fast());
    let spec = sh(&home, "kubo", "exec sleep 30");
    let pid = sup1.start(spec.clone()).await.unwrap().pid.unwrap();

    let bus2 = EventBus::new(64);
    let sup2 = Arc::new(Supervisor::with_config(home.clone(), bus2.clone(), fast()));
    let st = sup2.start(spec).await.unwrap();
    assert_eq!(st.pid, Some(pid));
    assert!(!st.child);
    assert_eq!(events(&bus2, EventKind::Adopted).len(), 1);
    assert!(events(&bus2, EventKind::Starting).is_empty());

    // a third supervisor's loop reports the adoption once
    let bus3 = EventBus::new(64);
    let sup3 = Arc::new(Supervisor::with_config(home.clone(), bus3.clone(), fast()));
    let (token, handle) = running_loop(&sup3);
    until("adoption", Duration::from_secs(3), || {
        !events(&bus3, EventKind::Adopted).is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(events(&bus3, EventKind::Adopted).len(), 1);
    token.cancel();
    handle.await.unwrap();

    // the adopter stops a process it did not spawn
    let st = sup2
        .stop("kubo", Some(Duration::from_secs(2)))
        .await
        .unwrap();
    assert_eq!(st.status, ProcStatus::Stopped);
    assert!(!process::is_alive(pid, None));
    assert_eq!(sup1.state("kubo").status, ProcStatus::Stopped);
}

/// Run by [`a_second_os_process_adopts_and_the_daemon_outlives_its_starter`] in a child process: starts
/// the service described by the environment and prints the resulting state.
#[test]
fn helper_start_in_child_process() {
    let (Ok(root), Ok(spec)) = (
        std::env::var("SUP_HELPER_HOME"),
        std::env::var("SUP_HELPER_SPEC"),
    ) else {
        return;
    };
    let spec: LaunchSpec = serde_json::from_str(&spec).unwrap();
    let bus = EventBus::new(64);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let st = rt.block_on(async {
        let sup = Supervisor::with_config(Home::new(root), bus.clone(), fast());
        sup.start(spec).await.unwrap()
    });
    let kinds: Vec<EventKind> = bus.recent(0, 64).iter().map(|e| e.kind).collect();
    println!(
        "SUP_RESULT {}",
        serde_json::json!({ "pid": st.pid, "events": kinds })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_os_process_adopts_and_the_daemon_outlives_its_starter() {
    let (_d, home, _r) = home();
    let spec = sh(&home, "daemon", "while :; do echo tick; sleep 0.05; done");
    let exe = std::env::current_exe().unwrap();
    let run = || {
        std::process::Command::new(&exe)
            .args([
                "helper_start_in_child_process",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("SUP_HELPER_HOME", home.root())
            .env("SUP_HELPER_SPEC", serde_json::to_string(&spec).unwrap())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    // two ipfs-kit processes start the same service at the same time
    let (a, b) = (run(), run());
    let mut results = Vec::new();
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = stdout
            .lines()
            .find_map(|l| l.split_once("SUP_RESULT ").map(|(_, r)| r))
            .unwrap_or_else(|| panic!("no result in {stdout}"));
        results.push(serde_json::from_str::<serde_json::Value>(line).unwrap());
    }
    let pid = results[0]["pid"].as_u64().unwrap() as u32;
    assert_eq!(results[1]["pid"], pid, "{results:?}");
    let started = results
        .iter()
        .filter(|r| r["events"].as_array().unwrap().contains(&"started".into()))
        .count();
    let adopted = results
        .iter()
        .filter(|r| r["events"].as_array().unwrap().contains(&"adopted".into()))
        .count();
    assert_eq!((started, adopted), (1, 1), "{results:?}");

    // both starters have exited; the daemon runs on and still writes its own log
    assert!(process::is_alive(pid, None));
    let sup = Supervisor::with_config(home.clone(), EventBus::new(64), fast());
    let log = sup.log_path("daemon");
    let before = std::fs::metadata(&log).unwrap().len();
    until("log growth", Duration::from_secs(3), || {
        std::fs::metadata(&log).unwrap().len() > before
    })
    .await;
    let st = sup.start(spec).await.unwrap();
    assert_eq!(st.pid, Some(pid));
    assert!(!st.child);
    sup.stop("daemon", Some(Duration::from_secs(2)))
        .await
        .unwrap();
    assert!(!process::is_alive(pid, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recycled_pid_is_not_adopted_or_signalled() {
    let (_d, home, _r) = home();
    let bus = EventBus::new(64);
    let sup = Supervisor::with_config(home.clone(), bus.clone(), fast());
    // an unrelated live process holds the recorded pid (and shares this test's process group)
    let mut decoy = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let decoy_pid = decoy.id();
    let real_start = process::start_time(decoy_pid).unwrap();
    let spec = sh(&home, "recycled", "exec sleep 30");
    let mut spec_resolved = spec.clone();
    spec_resolved.program = process::find_program("sh".as_ref()).unwrap();
    let rec = ProcRecord {
        spec: spec_resolved,
        desired: Desired::Running,
        pid: Some(decoy_pid),
        pgid: Some(decoy_pid),
        start_time: Some(real_start + 1),
        started_ms: Some(1),
        restarts: 0,
        attempts: 0,
        next_restart_ms: None,
        failed: None,
        last_exit: None,
        last_error: None,
        updated_ms: 1,
    };
    home.ensure().unwrap();
    home.write_atomic(
        &sup.record_path("recycled"),
        &serde_json::to_vec(&rec).unwrap(),
        true,
    )
    .unwrap();
    assert!(matches!(
        sup.state("recycled").status,
        ProcStatus::Crashed { code: None, .. }
    ));
    assert!(sup.pids().is_empty());
    let st = sup.start(spec).await.unwrap();
    assert_ne!(st.pid, Some(decoy_pid));
    assert!(events(&bus, EventKind::Adopted).is_empty());
    assert_eq!(events(&bus, EventKind::Started).len(), 1);
    sup.stop("recycled", Some(Duration::from_secs(2)))
        .await
        .unwrap();
    assert!(
        decoy.try_wait().unwrap().is_none(),
        "the decoy was not signalled"
    );
    decoy.kill().unwrap();
    decoy.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_rotate_into_bounded_generations() {
    let (_d, home, _r) = home();
    let bus = EventBus::new(64);
    let config = SupervisorConfig {
        log_max_bytes: 4096,
        log_keep: 2,
        ..fast()
    };
    let sup = Arc::new(Supervisor::with_config(home.clone(), bus, config));
    let spec = sh(
        &home,
        "chatty",
        "n=0; while :; do i=0; while [ $i -lt 40 ]; do \
         echo \"line $n.$i abcdefghijklmnopqrstuvwxyz0123456789\"; i=$((i+1)); done; \
         n=$((n+1)); sleep 0.03; done",
    );
    sup.start(spec).await.unwrap();
    let (token, handle) = running_loop(&sup);
    let log = sup.log_path("chatty");
    let generation = |n: u32| std::path::PathBuf::from(format!("{}.{n}", log.display()));
    until("two rotations", Duration::from_secs(10), || {
        generation(2).exists()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    token.cancel();
    handle.await.unwrap();
    assert!(generation(1).exists() && generation(2).exists());
    assert!(!generation(3).exists(), "only log_keep generations");
    let lines = sup.logs("chatty", 30).unwrap();
    assert_eq!(lines.len(), 30);
    assert!(lines.iter().all(|l| !l.is_empty()), "{lines:?}");
    sup.stop("chatty", Some(Duration::from_secs(2)))
        .await
        .unwrap();
    sup.rotate_logs().unwrap();
    assert!(std::fs::metadata(&log).unwrap().len() <= 4096 + 64 * 1024);
}

#[test]
fn eight_threads_starting_one_service_give_one_child() {
    let (_d, home, _r) = home();
    let bus = EventBus::new(256);
    let spec = sh(&home, "single", "exec sleep 30");
    let barrier = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (home, bus, spec, barrier) =
                (home.clone(), bus.clone(), spec.clone(), barrier.clone());
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let sup = Supervisor::with_config(home, bus, fast());
                barrier.wait();
                rt.block_on(sup.start(spec)).unwrap().pid.unwrap()
            })
        })
        .collect();
    let pids: Vec<u32> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(pids.iter().all(|p| *p == pids[0]), "{pids:?}");
    assert_eq!(events(&bus, EventKind::Starting).len(), 1);
    assert_eq!(events(&bus, EventKind::Started).len(), 1);
    assert_eq!(events(&bus, EventKind::Adopted).len(), 7);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sup = Supervisor::with_config(home.clone(), bus, fast());
    rt.block_on(sup.stop("single", Some(Duration::from_secs(2))))
        .unwrap();
    assert!(!process::is_alive(pids[0], None));
}
