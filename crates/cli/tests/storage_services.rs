//! Storage services' connectivity checks against real servers no one here wrote, pinned in
//! tests/storage/requirements.txt and installed into tests/storage/.venv on first use (CI pre-installs them):
//! moto's S3 server (`python -m moto.server`) and pyftpdlib's FTP server (`python -m pyftpdlib`), plus the
//! standard library's `http.server` as a web server that is not S3.
//!
//! Through the CLI (`service add`, `service status --fresh`, `tool call backends_stats`, `status`): an existing
//! bucket is reachable with a latency, a missing one unreachable with S3's `NoSuchBucket`; the FTP greeting
//! makes `ftp` reachable, while a port that does not greet (the S3 server) or greets with something else is
//! unreachable; once the servers are killed everything is unreachable, naming the address.
//!
//! No SSH server is installed here (none is pip-installable without building one), so `sftp` is checked only
//! where it must fail: a port where nothing listens, and the FTP server, whose greeting is not `SSH-`.
//! Statuses younger than 5 s come from a cache, so every status here is asked for `--fresh`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::Server;
use common::free_port;
use common::json_at as ok;

/// tests/storage: the pinned storage servers.
fn storage_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/storage")
}

/// The venv's interpreter with the pinned servers installed.
fn python() -> PathBuf {
    common::venv_python(&storage_dir(), "the storage server tests")
}

/// `python -m MODULE ARGS` from the venv, once it accepts connections on `port`.
fn start(py: &Path, module: &str, args: &[&str], port: u16, log: &Path) -> Server {
    let child = Command::new(py)
        .args(["-m", module])
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(log).unwrap())
        .stderr(std::fs::File::create(log.with_extension("err")).unwrap())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = server.0.try_wait().unwrap() {
            let err = std::fs::read_to_string(log.with_extension("err")).unwrap_or_default();
            panic!("python -m {module} {args:?} exited with {status}: {err}");
        }
        assert!(
            Instant::now() < deadline,
            "python -m {module} never listened on {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

/// One HTTP/1.1 request without a body, answered in full (the server closes the connection).
fn http(port: u16, method: &str, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

/// `service add NAME KIND --set K=V …`.
fn add(home: &Path, name: &str, kind: &str, settings: &[String]) {
    let mut args = vec!["service", "add", name, kind];
    for s in settings {
        args.extend(["--set", s]);
    }
    ok(home, &args);
}

/// The fresh status of one service.
fn status(home: &Path, name: &str) -> Value {
    let s = ok(home, &["service", "status", name, "--fresh"]);
    let svc = s["services"][0].clone();
    assert_eq!(svc["name"], name, "{s}");
    assert_eq!(svc["cached"], false, "{s}");
    svc
}

fn assert_reachable(s: &Value) {
    assert_eq!(s["status"], "reachable", "{s}");
    assert_eq!(s["health"]["healthy"], true, "{s}");
    assert!(s["health"]["latency_ms"].is_u64(), "{s}");
    assert!(s["score"].as_u64().unwrap() >= 60, "{s}");
}

/// Asserts `s` is unreachable with a reason containing every one of `words`.
fn assert_unreachable(s: &Value, words: &[&str]) {
    assert_eq!(s["status"], "unreachable", "{s}");
    assert_eq!(s["score"], 0, "{s}");
    assert_eq!(s["health"]["healthy"], false, "{s}");
    let detail = s["health"]["detail"].as_str().unwrap();
    for w in words {
        assert!(detail.contains(w), "{w:?} not in {detail:?}");
    }
}

/// `backends_stats` probing now: (reachable, total, status by name).
fn backends(home: &Path) -> (u64, u64, Vec<(String, String)>) {
    let b = ok(
        home,
        &["tool", "call", "backends_stats", r#"{"fresh": true}"#],
    );
    let rows = b["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["status"]["name"].as_str().unwrap().to_string(),
                r["status"]["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (
        b["reachable"].as_u64().unwrap(),
        b["total"].as_u64().unwrap(),
        rows,
    )
}

#[test]
fn s3_ftp_and_sftp_checks_against_real_servers() {
    let py = python();
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    let logs = work.path();
    let ftp_root = work.path().join("ftp-root");
    let web_root = work.path().join("web-root");
    std::fs::create_dir_all(&ftp_root).unwrap();
    std::fs::create_dir_all(&web_root).unwrap();

    let s3_port = free_port();
    let mut moto = start(
        &py,
        "moto.server",
        &["-H", "127.0.0.1", "-p", &s3_port.to_string()],
        s3_port,
        &logs.join("moto.log"),
    );
    let ftp_port = free_port();
    let mut ftpd = start(
        &py,
        "pyftpdlib",
        &[
            "-i",
            "127.0.0.1",
            "-p",
            &ftp_port.to_string(),
            "-d",
            ftp_root.to_str().unwrap(),
        ],
        ftp_port,
        &logs.join("ftpd.log"),
    );
    let web_port = free_port();
    let _web = start(
        &py,
        "http.server",
        &[
            "--bind",
            "127.0.0.1",
            "--directory",
            web_root.to_str().unwrap(),
            &web_port.to_string(),
        ],
        web_port,
        &logs.join("web.log"),
    );
    let silent_port = free_port();

    // moto takes unsigned requests: CreateBucket is a bare PUT
    let created = http(s3_port, "PUT", "/kit-bucket");
    assert!(created.starts_with("HTTP/1.1 200"), "{created}");
    let listing = http(s3_port, "GET", "/kit-bucket?max-keys=1");
    println!("moto's answer to the probe's request:\n{listing}");
    assert!(listing.contains("<ListBucketResult"), "{listing}");

    let s3 = format!("endpoint=http://127.0.0.1:{s3_port}");
    let ftp_host = "host=127.0.0.1".to_string();
    add(
        &home,
        "bucket",
        "s3",
        &["bucket=kit-bucket".into(), s3.clone()],
    );
    add(
        &home,
        "nobucket",
        "s3",
        &["bucket=no-such-bucket".into(), s3.clone()],
    );
    add(
        &home,
        "nots3",
        "s3",
        &[
            "bucket=kit-bucket".into(),
            format!("endpoint=http://127.0.0.1:{web_port}"),
        ],
    );
    add(
        &home,
        "ftp",
        "ftp",
        &[ftp_host.clone(), format!("port={ftp_port}")],
    );
    add(
        &home,
        "notftp",
        "ftp",
        &[ftp_host.clone(), format!("port={s3_port}")],
    );
    add(
        &home,
        "sftp",
        "sftp",
        &[ftp_host.clone(), format!("port={silent_port}")],
    );
    add(
        &home,
        "sftp-at-ftp",
        "sftp",
        &[ftp_host.clone(), format!("port={ftp_port}")],
    );

    // S3: the bucket that exists answers 200 with S3's listing; the missing one S3's NoSuchBucket error;
    // a web server that is not S3 is not taken for one
    let b = status(&home, "bucket");
    assert_reachable(&b);
    assert_eq!(b["health"]["info"]["status"], 200, "{b}");
    assert_eq!(
        b["health"]["check"],
        format!("GET http://127.0.0.1:{s3_port}/kit-bucket?max-keys=1"),
        "{b}"
    );
    assert_unreachable(&status(&home, "nobucket"), &["404", "NoSuchBucket"]);
    assert_unreachable(&status(&home, "nots3"), &["404", "not an S3 server"]);

    // FTP: pyftpdlib's greeting; an HTTP server says nothing until asked
    let f = status(&home, "ftp");
    assert_reachable(&f);
    let greeting = f["health"]["info"]["greeting"].as_str().unwrap();
    assert!(greeting.starts_with("220 "), "{f}");
    assert_unreachable(
        &status(&home, "notftp"),
        &[&format!("127.0.0.1:{s3_port}"), "no greeting", "\"220\""],
    );

    // SFTP: nothing listening, and an FTP greeting where SSH's is expected
    assert_unreachable(
        &status(&home, "sftp"),
        &["nothing answers", &format!("127.0.0.1:{silent_port}")],
    );
    assert_unreachable(&status(&home, "sftp-at-ftp"), &[greeting, "\"SSH-\""]);

    let (reachable, total, rows) = backends(&home);
    assert_eq!((reachable, total), (2, 7), "{rows:?}");
    for (name, st) in &rows {
        let want = if name == "bucket" || name == "ftp" {
            "reachable"
        } else {
            "unreachable"
        };
        assert_eq!(st, want, "{name}: {rows:?}");
    }
    // the stack: storage services count in the score, two healthy of seven
    let stack = ok(&home, &["status", "--fresh"]);
    assert_eq!(stack["services"].as_array().unwrap().len(), 7, "{stack}");
    let score = stack["score"].as_u64().unwrap();
    assert!((17..=28).contains(&score), "{stack}");
    assert_eq!(stack["status"], "unhealthy", "{stack}");

    // the servers go away
    moto.0.kill().unwrap();
    moto.0.wait().unwrap();
    ftpd.0.kill().unwrap();
    ftpd.0.wait().unwrap();
    assert_unreachable(
        &status(&home, "bucket"),
        &["nothing answers", &format!("127.0.0.1:{s3_port}")],
    );
    assert_unreachable(
        &status(&home, "ftp"),
        &["nothing answers", &format!("127.0.0.1:{ftp_port}")],
    );
    let (reachable, total, rows) = backends(&home);
    assert_eq!((reachable, total), (0, 7), "{rows:?}");
    let stack = ok(&home, &["status", "--fresh"]);
    assert_eq!(stack["score"], 0, "{stack}");
}
