//! Services with real processes: `ipfs-kit daemon` itself and the js-ipfs daemon (npm `ipfs@0.66.1`,
//! pinned in tests/jsipfs) supervised as services: start, health, kill -9 → restart by policy with events,
//! adoption instead of twins, clean stop; and the bad cases (unknown kind, missing program, port taken,
//! a daemon that exits at once or never answers its probe).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;
use common::{daemon_command, free_port};
use common::{json_at as ok, kit_at as kit};

const BIN: &str = env!("CARGO_BIN_EXE_ipfs-kit");

/// `ipfs-kit --json ARGS`, which must fail, as the JSON error.
fn err(home: &Path, args: &[&str]) -> Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    let out = kit(home, &a);
    assert!(!out.status.success(), "ipfs-kit {args:?} should fail");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: {e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn alive(pid: u64) -> bool {
    // a zombie is not alive
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
                .unwrap_or(false)
        })
        .unwrap_or(false)
}

fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Stops every service of a home when the test ends, however it ends.
struct Cleanup<'a>(&'a Path, Vec<&'static str>);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for n in &self.1 {
            let _ = kit(self.0, &["service", "stop", n]);
        }
    }
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `ipfs-kit daemon` on `home` (the supervisor), once it is ready.
fn supervisor(home: &Path) -> Daemon {
    let mut child = daemon_command(home)
        .env_remove("IPFS_KIT_API")
        .env("HOME", home.parent().unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        let n = std::io::BufRead::read_line(&mut out, &mut line).unwrap();
        assert!(n > 0, "the supervisor daemon exited before it was ready");
        if line.contains("Daemon is ready") {
            break;
        }
    }
    // keep draining stdout so the daemon never blocks on a full pipe
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    Daemon(child)
}

fn events(home: &Path) -> Vec<Value> {
    ok(
        home,
        &[
            "tool",
            "call",
            "monitoring_list_alerts",
            r#"{"events": 500}"#,
        ],
    )["events"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn has_event(home: &Path, service: &str, kind: &str) -> bool {
    events(home)
        .iter()
        .any(|e| e["service"] == service && e["kind"] == kind)
}

#[test]
fn ipfs_kit_daemon_as_a_service_restarts_after_kill_9_and_is_adopted_not_doubled() {
    let root = tempfile::tempdir().unwrap();
    let sup = root.path().join("sup");
    let child_home = root.path().join("child");
    let (api, gw) = (free_port(), free_port());
    let api_addr = format!("/ip4/127.0.0.1/tcp/{api}");
    ok(
        &sup,
        &[
            "service",
            "add",
            "kitd",
            "ipfs_kit",
            "--binary",
            BIN,
            "--set",
            &format!("home={}", child_home.display()),
            "--set",
            &format!("api={api_addr}"),
            "--set",
            &format!("gateway=/ip4/127.0.0.1/tcp/{gw}"),
            "--restart",
            "always",
        ],
    );
    let _cleanup = Cleanup(&sup, vec!["kitd"]);
    let started = ok(&sup, &["service", "start", "kitd"]);
    assert_eq!(started["status"], "running", "{started}");
    assert!(started["health"]["healthy"] == true, "{started}");
    assert!(started["score"].as_u64().unwrap() > 0);
    let pid = started["process"]["pid"].as_u64().unwrap();
    assert!(alive(pid));
    // the child really serves Kubo's RPC API for its own home
    let id = ok(
        &child_home,
        &["--api", &api_addr, "tool", "call", "ipfs_id"],
    );
    assert!(id["id"].as_str().unwrap().starts_with("12D3KooW"), "{id}");

    // a second ipfs-kit process asked to start it adopts the running one
    let again = ok(&sup, &["service", "start", "kitd"]);
    assert_eq!(again["process"]["pid"].as_u64(), Some(pid), "{again}");
    let list = ok(&sup, &["service", "list"]);
    assert_eq!(list["services"][0]["process"], "running", "{list}");

    // the supervisor (ipfs-kit daemon of the same home) adopts it, and restarts it after kill -9
    let _sup = supervisor(&sup);
    Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    let mut new_pid = 0;
    wait_until("the restart after kill -9", 30, || {
        let s = ok(&sup, &["service", "status", "kitd", "--fresh"]);
        let s = &s["services"][0];
        new_pid = s["process"]["pid"].as_u64().unwrap_or(0);
        s["status"] == "running" && new_pid != 0 && new_pid != pid
    });
    assert!(alive(new_pid));
    wait_until("crashed and restarted events", 10, || {
        has_event(&sup, "kitd", "crashed") && has_event(&sup, "kitd", "restarted")
    });
    let st = ok(&sup, &["service", "status", "kitd", "--fresh"]);
    assert!(
        st["services"][0]["process"]["restarts"].as_u64().unwrap() >= 1,
        "{st}"
    );

    // resource figures of the real process
    let stats = ok(
        &sup,
        &["tool", "call", "service_stats", r#"{"name": "kitd"}"#],
    );
    assert_eq!(stats["now"]["pid"].as_u64(), Some(new_pid), "{stats}");
    assert!(
        stats["now"]["rss_bytes"].as_u64().unwrap() > 1 << 20,
        "{stats}"
    );
    assert!(
        stats["now"]["listening"].as_u64().unwrap_or(0) >= 2,
        "{stats}"
    );
    let storage = ok(&sup, &["service", "storage", "kitd"]);
    assert!(storage["used_bytes"].as_u64().unwrap() > 0, "{storage}");
    // its log holds what it printed
    let logs = ok(&sup, &["service", "logs", "kitd", "-n", "50"]);
    assert!(
        logs["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().contains("Daemon is ready")),
        "{logs}"
    );

    // a clean stop: the process is gone and the policy does not bring it back
    let stopped = ok(&sup, &["service", "stop", "kitd"]);
    assert_eq!(stopped["process"]["status"], "stopped", "{stopped}");
    wait_until("the stopped process to be gone", 10, || !alive(new_pid));
    std::thread::sleep(Duration::from_millis(1500));
    let st = ok(&sup, &["service", "status", "kitd", "--fresh"]);
    assert_eq!(st["services"][0]["status"], "stopped", "{st}");
    assert!(has_event(&sup, "kitd", "stopped"));
    // system health counts nothing that should run
    let h = ok(&sup, &["status"]);
    assert_eq!(h["services"][0]["name"], "kitd", "{h}");
}

/// A js-ipfs repo with its API on `api_port`, offline, loopback only.
fn jsipfs_repo(bin: &Path, repo: &Path, api_port: u16) {
    let out = Command::new(bin)
        .args(["init", "--profile", "test"])
        .env("IPFS_PATH", repo)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "jsipfs init: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cfg_path = repo.join("config");
    let mut cfg: Value = serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
    cfg["Addresses"]["Swarm"] = json!([]);
    cfg["Addresses"]["API"] = json!(format!("/ip4/127.0.0.1/tcp/{api_port}"));
    cfg["Addresses"]["Gateway"] = json!("/ip4/127.0.0.1/tcp/0");
    cfg["Addresses"]["RPC"] = json!("/ip4/127.0.0.1/tcp/0");
    cfg["Bootstrap"] = json!([]);
    std::fs::write(&cfg_path, serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();
}

#[test]
fn js_ipfs_as_an_ipfs_service_starts_healthy_is_adopted_and_stops_clean() {
    let bin = common::ensure_jsipfs();
    let root = tempfile::tempdir().unwrap();
    let home = root.path().join("kit");
    let repo = root.path().join("jsrepo");
    let port = free_port();
    jsipfs_repo(&bin, &repo, port);
    ok(
        &home,
        &[
            "service",
            "add",
            "js",
            "ipfs",
            "--binary",
            bin.to_str().unwrap(),
            "--set",
            &format!("repo={}", repo.display()),
            "--set",
            &format!("api=/ip4/127.0.0.1/tcp/{port}"),
            "--",
            "daemon",
            "--offline",
        ],
    );
    let _cleanup = Cleanup(&home, vec!["js"]);
    let s = ok(&home, &["service", "start", "js"]);
    assert_eq!(s["status"], "running", "{s}");
    let agent = s["health"]["info"]["agent_version"].as_str().unwrap();
    assert!(agent.starts_with("js-ipfs/"), "{s}");
    let pid = s["process"]["pid"].as_u64().unwrap();
    // the probe is a real Kubo-RPC call: the peer ID is js-ipfs's own
    let cfg: Value = serde_json::from_slice(&std::fs::read(repo.join("config")).unwrap()).unwrap();
    assert_eq!(s["health"]["info"]["id"], cfg["Identity"]["PeerID"], "{s}");
    // a cached status is served from the metadata cache, a fresh one probes again
    let c = ok(
        &home,
        &["tool", "call", "service_status", r#"{"name": "js"}"#],
    );
    assert_eq!(c["services"][0]["status"], "running");
    // adoption: a second start gives the same process
    let again = ok(&home, &["service", "start", "js"]);
    assert_eq!(again["process"]["pid"].as_u64(), Some(pid));
    // the repo is measured
    let storage = ok(&home, &["service", "quota", "js", "--set", "1000000000"]);
    assert!(storage["used_bytes"].as_u64().unwrap() > 0, "{storage}");
    assert!(
        storage["quota_used_percent"].as_f64().unwrap() > 0.0,
        "{storage}"
    );
    // a clean stop (SIGTERM to the group, node exits) and the API is gone
    let stopped = ok(&home, &["service", "stop", "js"]);
    assert_eq!(stopped["process"]["status"], "stopped", "{stopped}");
    assert_eq!(stopped["status"], "stopped", "{stopped}");
    wait_until("js-ipfs to exit", 10, || !alive(pid));
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    let ev = events(&home);
    for kind in ["added", "starting", "started", "healthy", "stopped"] {
        assert!(
            ev.iter().any(|e| e["service"] == "js" && e["kind"] == kind),
            "no {kind} event in {ev:?}"
        );
    }
}

#[test]
fn bad_services_give_clear_errors_and_never_hang_in_starting() {
    let root = tempfile::tempdir().unwrap();
    let home = root.path().join("kit");
    // unknown kind
    let e = err(&home, &["service", "add", "x", "mysql"]);
    assert_eq!(e["error_code"], "INVALID_INPUT", "{e}");
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("ipfs_cluster_service"),
        "{e}"
    );
    // unknown setting, missing required setting, bad name
    let e = err(&home, &["service", "add", "b", "s3", "--set", "bogus=1"]);
    assert_eq!(e["error_code"], "INVALID_INPUT", "{e}");
    let e = err(&home, &["service", "add", "b", "s3"]);
    assert!(e["error"].as_str().unwrap().contains("bucket"), "{e}");
    let e = err(&home, &["service", "add", "../evil", "ipfs"]);
    assert_eq!(e["error_code"], "INVALID_INPUT", "{e}");
    assert!(
        ok(&home, &["service", "list"])["services"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // a program that is not there
    ok(
        &home,
        &[
            "service",
            "add",
            "ghost",
            "ipfs",
            "--binary",
            "/nonexistent/ipfs",
        ],
    );
    let e = err(&home, &["service", "start", "ghost"]);
    assert_eq!(e["error_code"], "DAEMON_UNAVAILABLE", "{e}");
    assert_eq!(e["context"]["program"], "/nonexistent/ipfs", "{e}");

    // a port already taken
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    ok(
        &home,
        &[
            "service",
            "add",
            "busy",
            "ipfs_kit",
            "--binary",
            BIN,
            "--set",
            &format!("api=/ip4/127.0.0.1/tcp/{port}"),
        ],
    );
    let e = err(&home, &["service", "start", "busy"]);
    assert_eq!(e["error_code"], "PORT_IN_USE", "{e}");
    assert!(
        e["error"].as_str().unwrap().contains(&port.to_string()),
        "{e}"
    );

    // a daemon that exits at once: its exit code and what it said
    ok(
        &home,
        &[
            "service",
            "add",
            "quitter",
            "ipfs",
            "--binary",
            "/bin/sh",
            "--restart",
            "never",
            "--set",
            &format!("api=/ip4/127.0.0.1/tcp/{}", free_port()),
            "--",
            "-c",
            "echo boom >&2; exit 3",
        ],
    );
    let e = err(&home, &["service", "start", "quitter"]);
    assert_eq!(e["error_code"], "DAEMON_UNAVAILABLE", "{e}");
    let text = e["error"].as_str().unwrap();
    assert!(text.contains('3') && text.contains("boom"), "{e}");
    let s = ok(&home, &["service", "status", "quitter", "--fresh"]);
    assert_ne!(s["services"][0]["status"], "running", "{s}");

    // a daemon that never answers its probe: stopped after its start timeout, not "starting" forever
    ok(
        &home,
        &[
            "service",
            "add",
            "mute",
            "ipfs",
            "--binary",
            "/bin/sleep",
            "--set",
            &format!("api=/ip4/127.0.0.1/tcp/{}", free_port()),
            "--",
            "60",
        ],
    );
    ok(
        &home,
        &["service", "set", "mute", "--field", "start_timeout_ms=1500"],
    );
    let t = Instant::now();
    let e = err(&home, &["service", "start", "mute"]);
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("did not become healthy"),
        "{e}"
    );
    let s = ok(&home, &["service", "status", "mute", "--fresh"]);
    assert_eq!(s["services"][0]["status"], "stopped", "{s}");
    assert!(has_event(&home, "mute", "unhealthy"));

    // Ctrl-C while a start waits for health gives up at once and stops the daemon it started
    ok(
        &home,
        &[
            "service",
            "set",
            "mute",
            "--field",
            "start_timeout_ms=60000",
        ],
    );
    let child = Command::new(BIN)
        .args(["--json", "--home"])
        .arg(&home)
        .args(["service", "start", "mute"])
        .env("HOME", home.parent().unwrap())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while ok(&home, &["service", "status", "mute", "--fresh"])["services"][0]["process"]["status"]
        != "running"
    {
        assert!(Instant::now() < deadline, "mute never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    let t = Instant::now();
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    assert!(!out.status.success());
    let e: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(e["error_code"], "CANCELLED", "{e}");
    let s = ok(&home, &["service", "status", "mute", "--fresh"]);
    assert_eq!(s["services"][0]["status"], "stopped", "{s}");

    // storage services have no process
    ok(
        &home,
        &[
            "service",
            "add",
            "repo",
            "github",
            "--set",
            "repo=ipfs/kubo",
        ],
    );
    let e = err(&home, &["service", "start", "repo"]);
    assert_eq!(e["error_code"], "UNSUPPORTED", "{e}");
    // an unknown service
    let e = err(&home, &["service", "stop", "nope"]);
    assert_eq!(e["error_code"], "NOT_FOUND", "{e}");
    // secrets never come back
    ok(
        &home,
        &[
            "service",
            "add",
            "ftp1",
            "ftp",
            "--set",
            "host=127.0.0.1",
            "--set",
            "password=hunter2",
        ],
    );
    let c = kit(&home, &["--json", "service", "config", "ftp1"]);
    assert!(!String::from_utf8_lossy(&c.stdout).contains("hunter2"));
    let raw = std::fs::read_to_string(home.join("services/ftp1.yaml")).unwrap();
    assert!(raw.contains("hunter2"));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(home.join("services/ftp1.yaml"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // eight processes registering the same name at once: exactly one wins, the record is whole
    let kids: Vec<_> = (0..8)
        .map(|i| {
            Command::new(BIN)
                .arg("--home")
                .arg(&home)
                .args(["--json", "service", "add", "race", "ftp", "--set"])
                .arg(format!("host=h{i}"))
                .env("HOME", root.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let wins = kids
        .into_iter()
        .map(|mut c| c.wait().unwrap().success())
        .filter(|&w| w)
        .count();
    assert_eq!(wins, 1);
    let rec = ok(&home, &["service", "config", "race"]);
    assert!(
        rec["service"]["settings"]["host"]
            .as_str()
            .unwrap()
            .starts_with('h'),
        "{rec}"
    );
    // the home keeps secrets out of git
    let gi = std::fs::read_to_string(home.join(".gitignore")).unwrap();
    assert!(gi.lines().any(|l| l == "services/"), "{gi}");
}
