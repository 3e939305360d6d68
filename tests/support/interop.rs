//! The pinned npm peers of tests/interop, shared by the test crates that run them
//! (included with `#[path = "../../../tests/support/interop.rs"] mod interop;`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// tests/interop: the pinned npm peers (UnixFS importer/exporter, kubo-rpc-client, @ipld/car, ipns).
pub(crate) fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop")
}

/// Install tests/interop's pinned peers on first use, or again when package.json names one that
/// node_modules lacks (CI pre-installs them; a fresh checkout gets them here).
pub(crate) fn ensure_interop() {
    static ONCE: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut done = ONCE.lock().unwrap_or_else(|e| e.into_inner());
    if *done {
        return;
    }
    let dir = interop_dir();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("package.json")).unwrap()).unwrap();
    let missing = manifest["dependencies"]
        .as_object()
        .unwrap()
        .keys()
        .any(|name| {
            !dir.join("node_modules")
                .join(name)
                .join("package.json")
                .exists()
        });
    if missing {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("npm is needed for the interop tests (Debian: apt-get install nodejs npm)");
        assert!(status.success(), "npm ci in tests/interop failed");
    }
    *done = true;
}
