//! Test support shared by the MCP harnesses: the pinned-peer directory and an HTTP server process.
#![allow(dead_code)] // each test binary uses a different part

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../../../../tests/support/net.rs"]
mod net;
pub(crate) use net::free_port;

/// tests/mcp: the pinned MCP peers (Python SDK requirements, conformance suite, Node 22).
pub(crate) fn mcp_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/mcp")
}

/// A server process killed when the test ends, however it ends.
pub(crate) struct Server(pub(crate) Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `ipfs-kit --home HOME mcp --http 127.0.0.1:PORT [extra]`, once it accepts connections.
pub(crate) fn start_http(home: &Path, extra: &[&str]) -> (Server, u16) {
    let port = free_port();
    std::fs::create_dir_all(home).unwrap();
    let log = home.join("mcp-http.log");
    let child = Command::new(env!("CARGO_BIN_EXE_ipfs-kit"))
        .arg("--home")
        .arg(home)
        .args(["mcp", "--http", &format!("127.0.0.1:{port}")])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = server.0.try_wait().unwrap() {
            let err = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("ipfs-kit mcp --http {extra:?} exited with {status}: {err}");
        }
        assert!(
            Instant::now() < deadline,
            "ipfs-kit mcp --http never listened on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (server, port)
}

#[path = "../../../../tests/support/interop.rs"]
mod interop;
#[allow(unused_imports)] // not every test binary runs the npm peers
pub(crate) use interop::{ensure_interop, interop_dir};

/// tests/jsipfs: the pinned js-ipfs daemon (an external Kubo-RPC node for the tests).
pub(crate) fn jsipfs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/jsipfs")
}

/// Install tests/jsipfs on first use (CI pre-installs it with `npm ci`).
pub(crate) fn ensure_jsipfs() -> PathBuf {
    static ONCE: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut done = ONCE.lock().unwrap_or_else(|e| e.into_inner());
    let bin = jsipfs_dir().join("node_modules/.bin/jsipfs");
    if !*done && !bin.exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(jsipfs_dir())
            .status()
            .expect(
                "npm is needed for the external-node tests (Debian: apt-get install nodejs npm)",
            );
        assert!(status.success(), "npm ci in tests/jsipfs failed");
    }
    *done = true;
    bin
}

/// The interpreter of `dir/.venv`, creating the venv and installing `dir/requirements.txt` when missing or
/// stale (a stamp holds the installed requirements). Fails loudly: a missing peer is a failed test, never a
/// skipped one. `what` names the tests in the message when python3 is missing.
pub(crate) fn venv_python(dir: &Path, what: &str) -> PathBuf {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let venv = dir.join(".venv");
    let py = venv.join("bin/python");
    let requirements = std::fs::read_to_string(dir.join("requirements.txt")).unwrap();
    let stamp = venv.join("installed-requirements.txt");
    if py.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(requirements.as_str())
    {
        return py;
    }
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "python3 is needed for {what} (Debian: apt-get install python3 python3-venv): {e}"
            )
        });
    assert!(
        status.success(),
        "python3 -m venv {} failed",
        venv.display()
    );
    let status = Command::new(&py)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(dir.join("requirements.txt"))
        .status()
        .expect("pip of the venv runs");
    assert!(
        status.success(),
        "pip install -r {}/requirements.txt failed",
        dir.display()
    );
    std::fs::write(&stamp, requirements).unwrap();
    py
}

/// `ipfs-kit --home HOME ARGS`, with `HOME` set to the kit home's parent so no user configuration
/// (`~/.s3cfg`, `~/.ipfs`) leaks in, and no `IPFS_KIT_API` from the environment.
pub(crate) fn kit_at(home: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ipfs-kit"))
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("IPFS_KIT_API")
        .env("IPFS_KIT_LOG", "warn")
        .env("HOME", home.parent().unwrap())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// `ipfs-kit --json ARGS` on `home` (see [`kit_at`]), which must succeed, as JSON.
pub(crate) fn json_at(home: &Path, args: &[&str]) -> serde_json::Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    let out = kit_at(home, &a);
    assert!(
        out.status.success(),
        "ipfs-kit {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// `ipfs-kit --home HOME daemon` on ports the OS picks (API and gateway), stdin closed; the caller
/// sets its environment and output and decides when it is ready.
pub(crate) fn daemon_command(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ipfs-kit"));
    c.arg("--home")
        .arg(home)
        .args([
            "daemon",
            "--api-addr",
            "127.0.0.1:0",
            "--gateway-addr",
            "127.0.0.1:0",
        ])
        .stdin(Stdio::null());
    c
}
