//! The MCP face driven by a client no one here wrote: the official Python MCP SDK (pip `mcp`, pinned in
//! tests/mcp/requirements.txt), over stdio (`ipfs-kit mcp`) and streamable HTTP (`ipfs-kit mcp --http`).
//! The checks themselves live in tests/mcp/client_check.py; this file installs the SDK into tests/mcp/.venv on
//! first use (CI pre-installs it), starts the servers, and fails with the script's report.

use std::path::PathBuf;
use std::process::Command;

mod common;
use common::{mcp_dir, start_http};

/// The venv's interpreter with the pinned SDK installed.
fn python() -> PathBuf {
    common::venv_python(&mcp_dir(), "the MCP client tests")
}

/// Every operation of the catalogue: each must be a tool.
fn catalogue_names() -> String {
    ipfs_kit_ops::Catalogue::standard()
        .iter()
        .map(|op| op.name())
        .collect::<Vec<_>>()
        .join(",")
}

fn run_client_check(args: &[String]) {
    let work = tempfile::tempdir().unwrap();
    let out = Command::new(python())
        .arg(mcp_dir().join("client_check.py"))
        .args(args)
        .arg("--work")
        .arg(work.path())
        .args(["--expect-tools", &catalogue_names()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    let last = stdout.lines().last().unwrap_or("");
    assert!(
        out.status.success() && last.ends_with(" 0 failed") && !last.starts_with("0 passed"),
        "Python MCP SDK checks failed ({}):\n{stdout}\n--- stderr ---\n{stderr}",
        out.status
    );
}

#[test]
fn python_sdk_over_stdio() {
    let home = tempfile::tempdir().unwrap();
    run_client_check(&[
        "stdio".into(),
        "--bin".into(),
        env!("CARGO_BIN_EXE_ipfs-kit").into(),
        "--home".into(),
        home.path().display().to_string(),
    ]);
}

#[test]
fn python_sdk_over_stdio_initialize_handshake() {
    let home = tempfile::tempdir().unwrap();
    run_client_check(&[
        "stdio".into(),
        "--mode".into(),
        "legacy".into(),
        "--bin".into(),
        env!("CARGO_BIN_EXE_ipfs-kit").into(),
        "--home".into(),
        home.path().display().to_string(),
    ]);
}

#[test]
fn python_sdk_over_streamable_http() {
    let home = tempfile::tempdir().unwrap();
    let (_server, port) = start_http(home.path(), &[]);
    run_client_check(&[
        "http".into(),
        "--url".into(),
        format!("http://127.0.0.1:{port}/mcp"),
    ]);
}

#[test]
fn python_sdk_over_streamable_http_initialize_handshake() {
    let home = tempfile::tempdir().unwrap();
    let (_server, port) = start_http(home.path(), &[]);
    run_client_check(&[
        "http".into(),
        "--mode".into(),
        "legacy".into(),
        "--url".into(),
        format!("http://127.0.0.1:{port}/mcp"),
    ]);
}
