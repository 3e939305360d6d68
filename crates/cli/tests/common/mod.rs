//! Test support shared by the MCP harnesses: the pinned-peer directory and an HTTP server process.
#![allow(dead_code)] // each test binary uses a different part

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
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
