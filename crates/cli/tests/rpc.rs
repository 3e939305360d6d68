//! `ipfs-kit daemon` and its Kubo RPC API: the real npm `kubo-rpc-client` against the daemon
//! (CIDs equal to our CLI's and to Kubo's published vectors), bad input over raw HTTP answered
//! in Kubo's shape, and a clean stop on SIGTERM.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;
use common::{daemon_command, ensure_interop, interop_dir};

const BIN: &str = env!("CARGO_BIN_EXE_ipfs-kit");

/// A running daemon, killed when the test ends however it ends.
struct Daemon {
    child: Option<Child>,
    home: PathBuf,
    port: u16,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Daemon {
    /// `ipfs-kit --home HOME daemon` on free ports; ready once the api file names the port.
    fn start(home: &Path) -> Daemon {
        std::fs::create_dir_all(home).unwrap();
        let child = daemon_command(home)
            .stdout(std::fs::File::create(home.join("daemon.out")).unwrap())
            .stderr(std::fs::File::create(home.join("daemon.log")).unwrap())
            .spawn()
            .unwrap();
        let mut d = Daemon {
            child: Some(child),
            home: home.to_path_buf(),
            port: 0,
        };
        let api = home.join("repo/api");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(text) = std::fs::read_to_string(&api)
                && let Some(port) = text.trim().rsplit('/').next().and_then(|p| p.parse().ok())
            {
                assert!(text.starts_with("/ip4/127.0.0.1/tcp/"), "api file: {text}");
                d.port = port;
                break;
            }
            if let Some(status) = d.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("daemon exited with {status}: {}", d.log());
            }
            assert!(Instant::now() < deadline, "daemon never wrote {api:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
        d
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.home.join("daemon.log")).unwrap_or_default()
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Wait for the process to exit and return its exit code.
    fn wait(&mut self) -> Option<i32> {
        let mut c = self.child.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = c.try_wait().unwrap() {
                return s.code();
            }
            assert!(Instant::now() < deadline, "daemon did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn post(&self, path: &str) -> Reply {
        http(self.port, "POST", path, &[], b"")
    }
}

/// A parsed HTTP response (chunked bodies decoded, trailers kept).
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    trailers: Vec<(String, String)>,
    /// Whether a chunked body ended with its last chunk (an aborted transfer does not).
    complete: bool,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn lines(&self) -> Vec<Value> {
        self.body
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect()
    }

    /// Kubo's error shape, with the expected status and code.
    fn assert_error(&self, status: u16, code: u64) -> String {
        assert_eq!(self.status, status, "{self:?}");
        let v = self.json();
        assert_eq!(v["Type"], "error", "{v}");
        assert_eq!(v["Code"], code, "{v}");
        v["Message"].as_str().unwrap().to_string()
    }
}

fn parse_headers(text: &str) -> Vec<(String, String)> {
    text.split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// One HTTP/1.1 request on a fresh connection.
fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> Reply {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        // The server cut the connection before a whole header went out.
        return Reply {
            status: 0,
            headers: Vec::new(),
            body: Vec::new(),
            trailers: Vec::new(),
            complete: false,
        };
    };
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let headers = parse_headers(head.split_once("\r\n").map(|x| x.1).unwrap_or(""));
    let mut rest = &raw[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let mut body = Vec::new();
    let mut trailers = Vec::new();
    let mut complete = true;
    if chunked {
        complete = false;
        while let Some(nl) = rest.windows(2).position(|w| w == b"\r\n") {
            let Ok(size) = usize::from_str_radix(
                String::from_utf8_lossy(&rest[..nl])
                    .split(';')
                    .next()
                    .unwrap()
                    .trim(),
                16,
            ) else {
                break;
            };
            rest = &rest[nl + 2..];
            if size == 0 {
                trailers = parse_headers(&String::from_utf8_lossy(rest));
                complete = true;
                break;
            }
            if rest.len() < size + 2 {
                break;
            }
            body.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
    } else {
        body = rest.to_vec();
    }
    Reply {
        status,
        headers,
        body,
        trailers,
        complete,
    }
}

/// A multipart/form-data body from (field, filename, content type, bytes) parts.
fn multipart(parts: &[(&str, &str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----ipfskitboundary7d93";
    let mut body = Vec::new();
    for (name, filename, ct, data) in parts {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {ct}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn add_raw(d: &Daemon, query: &str, parts: &[(&str, &str, &str, &[u8])]) -> Reply {
    let (ct, body) = multipart(parts);
    http(
        d.port,
        "POST",
        &format!("/api/v0/add?{query}"),
        &[("Content-Type", &ct)],
        &body,
    )
}

/// `ipfs-kit --home HOME add -n -Q ARGS…`: our CLI's CID for the same input.
fn cli_cid(home: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("--home")
        .arg(home)
        .args(["add", "-n", "-Q"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Kubo's CID from shared/reference/cid-vectors.json for an input and options.
fn kubo_vector(input: &Value, options: &Value) -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/reference/cid-vectors.json"
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| &v["input"] == input && &v["options"] == options)
        .unwrap_or_else(|| panic!("no vector for {input} {options}"))["expected_cid"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Deterministic bytes (SplitMix64).
fn bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed;
    let mut v = Vec::with_capacity(n + 8);
    while v.len() < n {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        v.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    v.truncate(n);
    v
}

#[test]
fn kubo_rpc_client_against_the_daemon() {
    ensure_interop();
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    let tree = work.join("tree");
    std::fs::create_dir_all(tree.join("sub/deeper")).unwrap();
    std::fs::create_dir_all(tree.join("empty")).unwrap();
    std::fs::create_dir_all(work.join("planets")).unwrap();
    std::fs::write(work.join("small.txt"), b"hello world").unwrap();
    std::fs::write(work.join("big.bin"), bytes(1_500_000, 1)).unwrap();
    std::fs::write(tree.join("a.txt"), b"alpha\n").unwrap();
    std::fs::write(tree.join("b.bin"), bytes(300_000, 2)).unwrap();
    std::fs::write(tree.join("sub/c.txt"), b"gamma\n").unwrap();
    std::fs::write(tree.join("sub/deeper/d.bin"), bytes(70_000, 3)).unwrap();
    std::fs::write(work.join("planets/mars.txt"), b"Hello Mars!\n").unwrap();
    std::fs::write(work.join("planets/venus.txt"), b"Hello Venus!\n").unwrap();

    let d = Daemon::start(&tmp.path().join("home"));
    let out = Command::new("node")
        .arg(interop_dir().join("kubo-rpc-client.mjs"))
        .arg(d.url())
        .arg(&work)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubo-rpc-client failed:\n{}\ndaemon log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        d.log()
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let add = &report["add"];
    let cli = tmp.path().join("cli-home");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let (small, big, treep) = (
        s(&work.join("small.txt")),
        s(&work.join("big.bin")),
        s(&tree),
    );
    assert_eq!(add["small"], cli_cid(&cli, &[&small]));
    assert_eq!(
        add["small"],
        kubo_vector(
            &serde_json::json!({"kind":"bytes","utf8":"hello world"}),
            &serde_json::json!({})
        )
    );
    assert_eq!(add["big"], cli_cid(&cli, &[&big]));
    assert_eq!(add["big_v1"], cli_cid(&cli, &["--cid-version", "1", &big]));
    assert_eq!(
        add["big_raw_chunked"],
        cli_cid(&cli, &["--raw-leaves", "--chunker", "size-1024", &big])
    );
    assert_eq!(add["small_wrapped"], cli_cid(&cli, &["-w", &small]));
    // Echoed, not stored: as in Kubo, a part's mode and mtime enter the DAG only with
    // preserve-mode / preserve-mtime (or --mode / --mtime), which the client did not ask for.
    assert_eq!(add["small_meta"], add["small"]);
    assert_eq!(add["tree"], cli_cid(&cli, &["-r", &treep]));
    assert_eq!(
        add["tree_wrapped_v1"],
        cli_cid(&cli, &["-r", "-w", "--cid-version", "1", &treep])
    );
    assert_eq!(
        add["planets"],
        kubo_vector(
            &serde_json::json!({"kind":"directory","entries":[
                {"path":"mars.txt","utf8":"Hello Mars!\n"},
                {"path":"venus.txt","utf8":"Hello Venus!\n"}]}),
            &serde_json::json!({})
        )
    );
    // Without explicit directory parts the empty directory is absent: compare with the CLI on a
    // copy of the tree without it.
    std::fs::remove_dir(tree.join("empty")).unwrap();
    assert_eq!(add["tree_implicit"], cli_cid(&cli, &["-r", &treep]));
    // Every entry's CID equals the CLI's for the same path.
    let cli_all = Command::new(BIN)
        .arg("--home")
        .arg(&cli)
        .args(["--json", "add", "-n", "-r"])
        .arg(&tree)
        .output()
        .unwrap();
    assert!(cli_all.status.success());
    eprintln!("report: {report}");
    eprintln!("skipped: {}", report["skipped"]);
    assert!(!d.log().contains("panicked"), "{}", d.log());
}

#[test]
fn bad_input_is_answered_like_kubo() {
    let tmp = tempfile::tempdir().unwrap();
    let d = Daemon::start(tmp.path());

    // Unknown command, GET, unknown option, bad option value, missing argument.
    d.post("/api/v0/no/such/command").assert_error(404, 1);
    let r = http(d.port, "GET", "/api/v0/version", &[], b"");
    r.assert_error(405, 1);
    assert_eq!(r.header("allow"), Some("OPTIONS, POST"));
    http(d.port, "GET", "/api/v0/no/such/command", &[], b"").assert_error(405, 1);
    // Unknown options are ignored as Kubo ignores them (clients rely on it); a known option
    // with a value of the wrong type is refused.
    assert_eq!(d.post("/api/v0/version?bogus=1").status, 200);
    assert!(
        d.post("/api/v0/pin/ls?stream=maybe")
            .assert_error(400, 1)
            .contains("stream")
    );
    assert!(
        d.post("/api/v0/cat?arg=x&offset=abc")
            .assert_error(400, 1)
            .contains("offset")
    );
    d.post("/api/v0/cat").assert_error(400, 1);
    d.post("/api/v0/pin/add?arg=a&recursive=true&r=false")
        .assert_error(400, 1);
    // Bad CID / bad path / missing content: command errors, 500 / Code 0.
    d.post("/api/v0/cat?arg=not-a-cid").assert_error(500, 0);
    d.post("/api/v0/block/stat?arg=QmNotACidAtAll")
        .assert_error(500, 0);
    d.post("/api/v0/ls?arg=/ipfs/QmNotACidAtAll/x")
        .assert_error(500, 0);
    d.post("/api/v0/cat?arg=bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e")
        .assert_error(500, 0);
    d.post("/api/v0/files/read?arg=/nope").assert_error(500, 0);
    // add without a body, with a malformed body, with a broken part.
    d.post("/api/v0/add").assert_error(400, 1);
    let r = http(
        d.port,
        "POST",
        "/api/v0/add",
        &[("Content-Type", "multipart/form-data; boundary=xyz")],
        b"this is not multipart at all",
    );
    let msg = r.assert_error(500, 0);
    assert!(
        msg.contains("request body") || msg.contains("multipart"),
        "{msg}"
    );
    let r = http(
        d.port,
        "POST",
        "/api/v0/add",
        &[("Content-Type", "multipart/form-data")],
        b"--x\r\n",
    );
    r.assert_error(400, 1);
    // A huge header is refused by the HTTP layer, and the daemon keeps serving.
    let big = "x".repeat(512 * 1024);
    let mut s = TcpStream::connect(("127.0.0.1", d.port)).unwrap();
    let _ = s.write_all(
        format!("POST /api/v0/version HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {big}\r\n\r\n")
            .as_bytes(),
    );
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let head = String::from_utf8_lossy(&raw);
    assert!(
        raw.is_empty() || head.starts_with("HTTP/1.1 431") || head.starts_with("HTTP/1.1 400"),
        "{head}"
    );

    // A good add, with Kubo's event shapes: files, then directories, root last; Size a string.
    let r = add_raw(
        &d,
        "cid-version=1&progress=true",
        &[
            ("file", "d%2Fa.txt", "application/octet-stream", b"aaa"),
            ("file", "d/sub/b.txt", "application/octet-stream", b"bbb"),
        ],
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("x-chunked-output"), Some("1"));
    let events = r.lines();
    let named: Vec<_> = events
        .iter()
        .filter(|e| e.get("Hash").is_some())
        .map(|e| e["Name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(named, ["d/a.txt", "d/sub/b.txt", "d/sub", "d"]);
    assert!(
        events
            .iter()
            .all(|e| e.get("Size").is_none_or(Value::is_string))
    );
    assert!(
        events
            .iter()
            .any(|e| e["Bytes"] == 3 && e.get("Hash").is_none())
    );
    let root = events.last().unwrap()["Hash"].as_str().unwrap().to_string();
    assert!(root.starts_with("bafy"));

    // A client that disconnects mid-add: nothing new is pinned, the daemon goes on.
    let pins_before = d.post("/api/v0/pin/ls?type=recursive").json();
    {
        let (ct, body) = multipart(&[(
            "file",
            "half.bin",
            "application/octet-stream",
            &bytes(4 << 20, 9),
        )]);
        let mut s = TcpStream::connect(("127.0.0.1", d.port)).unwrap();
        s.write_all(
            format!(
                "POST /api/v0/add HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .unwrap();
        s.write_all(&body[..body.len() / 2]).unwrap();
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(300));
    let pins_after = d.post("/api/v0/pin/ls?type=recursive").json();
    assert_eq!(pins_before, pins_after);
    // A body that breaks off mid-part (malformed) after a complete file: error, nothing pinned.
    let (ct, body) = multipart(&[
        ("file", "one.txt", "application/octet-stream", b"complete"),
        (
            "file",
            "two.txt",
            "application/octet-stream",
            &bytes(100_000, 4),
        ),
    ]);
    let broken = &body[..body.len() - 60_000];
    let r = http(
        d.port,
        "POST",
        "/api/v0/add",
        &[("Content-Type", &ct), ("TE", "trailers")],
        broken,
    );
    assert!(
        r.status == 500
            || (r.complete
                && r.trailers
                    .iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case("x-stream-error"))),
        "{r:?}"
    );
    // Without `TE: trailers` the error cannot travel in a trailer: the transfer is cut short.
    let r = http(
        d.port,
        "POST",
        "/api/v0/add",
        &[("Content-Type", &ct)],
        broken,
    );
    assert!(r.status == 500 || !r.complete, "{r:?}");
    assert_eq!(d.post("/api/v0/pin/ls?type=recursive").json(), pins_after);

    // Concurrent requests all answered.
    let port = d.port;
    let handles: Vec<_> = (0..16)
        .map(|i| {
            std::thread::spawn(move || {
                let data = format!("concurrent {i}");
                let (ct, body) =
                    multipart(&[("file", "", "application/octet-stream", data.as_bytes())]);
                let r = http(
                    port,
                    "POST",
                    "/api/v0/add?pin=false",
                    &[("Content-Type", &ct)],
                    &body,
                );
                assert_eq!(r.status, 200);
                let hash = r.lines().last().unwrap()["Hash"]
                    .as_str()
                    .unwrap()
                    .to_string();
                let cat = http(port, "POST", &format!("/api/v0/cat?arg={hash}"), &[], b"");
                assert_eq!(cat.body, data.as_bytes());
                assert_eq!(cat.header("x-stream-output"), Some("1"));
                assert_eq!(
                    cat.header("x-content-length"),
                    Some(data.len().to_string().as_str())
                );
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }

    // Still serving, no panic.
    assert_eq!(d.post("/api/v0/version").status, 200);
    let log = d.log();
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn sigterm_and_shutdown_stop_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let started = Instant::now();
    let mut d = Daemon::start(home);
    eprintln!(
        "daemon ready (api file written) after {:?}",
        started.elapsed()
    );
    let r = add_raw(
        &d,
        "",
        &[("file", "keep.txt", "application/octet-stream", b"keep me")],
    );
    let root = r.lines().last().unwrap()["Hash"]
        .as_str()
        .unwrap()
        .to_string();
    // The gateway (its URL in repo/gateway) serves what the API added; /api/tools shares the
    // API listener.
    let gw = std::fs::read_to_string(home.join("repo/gateway")).unwrap();
    let gw_port: u16 = gw.trim().rsplit(':').next().unwrap().parse().unwrap();
    let page = http(gw_port, "GET", &format!("/ipfs/{root}"), &[], b"");
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(page.body, b"keep me");
    assert_eq!(http(d.port, "GET", "/api/tools", &[], b"").status, 200);
    let status = Command::new("kill")
        .args(["-TERM", &d.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(d.wait(), Some(0), "{}", d.log());
    assert!(!home.join("repo/api").exists());
    assert!(!home.join("repo/gateway").exists());
    let out = Command::new(BIN)
        .arg("--home")
        .arg(home)
        .args(["pin", "ls", "--type", "recursive"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&root));

    // /api/v0/shutdown stops it too.
    let mut d = Daemon::start(home);
    assert_eq!(d.post("/api/v0/shutdown").status, 200);
    assert_eq!(d.wait(), Some(0), "{}", d.log());
    assert!(!home.join("repo/api").exists());
}

#[test]
fn the_other_endpoints_answer_in_kubos_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let d = Daemon::start(tmp.path());
    let r = add_raw(
        &d,
        "",
        &[
            ("file", "dir/x.txt", "application/octet-stream", b"xxx"),
            (
                "file",
                "dir/y.bin",
                "application/octet-stream",
                &bytes(300_000, 5),
            ),
        ],
    );
    let root = r.lines().last().unwrap()["Hash"]
        .as_str()
        .unwrap()
        .to_string();

    // get: a tar stream, gzip with compress; cat of a directory is an error.
    let tar = d.post(&format!("/api/v0/get?arg={root}"));
    assert_eq!(tar.status, 200);
    assert_eq!(tar.header("x-stream-output"), Some("1"));
    assert!(tar.body.len() > 300_000 && tar.body.windows(5).any(|w| w == b"x.txt"));
    let gz = d.post(&format!(
        "/api/v0/get?arg={root}&archive=true&compress=true"
    ));
    assert_eq!(&gz.body[..2], &[0x1f, 0x8b]);
    d.post(&format!("/api/v0/cat?arg={root}"))
        .assert_error(500, 0);

    // dag export → import round trip, with stats.
    let car = d.post(&format!("/api/v0/dag/export?arg={root}"));
    assert_eq!(car.status, 200);
    let (ct, body) = multipart(&[("file", "", "application/octet-stream", &car.body)]);
    let imp = http(
        d.port,
        "POST",
        "/api/v0/dag/import?stats=true",
        &[("Content-Type", &ct)],
        &body,
    );
    let lines = imp.lines();
    assert_eq!(lines[0]["Root"]["Cid"]["/"], root.as_str());
    assert_eq!(lines[0]["Root"]["PinErrorMsg"], "");
    assert!(lines[1]["Stats"]["BlockCount"].as_u64().unwrap() >= 3);

    // dag stat / resolve, refs, refs/local.
    let st = d.post(&format!("/api/v0/dag/stat?arg={root}")).json();
    assert!(st["TotalSize"].as_u64().unwrap() > 300_000, "{st}");
    assert_eq!(st["DagStats"][0]["Cid"], root.as_str());
    let res = d
        .post(&format!("/api/v0/dag/resolve?arg={root}/x.txt"))
        .json();
    assert!(res["Cid"]["/"].is_string(), "{res}");
    let refs = d
        .post(&format!("/api/v0/refs?arg={root}&edges=true"))
        .lines();
    assert!(
        refs.iter()
            .all(|r| r["Err"] == "" && r["Ref"].as_str().unwrap().contains(" -> "))
    );
    assert!(d.post("/api/v0/refs/local").lines().len() >= refs.len());

    // Pins: update, verify, ls with names and stream.
    let other = add_raw(
        &d,
        "pin=false",
        &[("file", "o.txt", "application/octet-stream", b"o")],
    );
    let other = other.lines().last().unwrap()["Hash"]
        .as_str()
        .unwrap()
        .to_string();
    let up = d
        .post(&format!("/api/v0/pin/update?arg={root}&arg={other}"))
        .json();
    assert_eq!(up["Pins"], serde_json::json!([root, other]));
    let keys = d.post("/api/v0/pin/ls?type=recursive").json();
    assert_eq!(keys["Keys"][&other]["Type"], "recursive");
    assert!(keys["Keys"].get(&root).is_none());
    let streamed = d.post("/api/v0/pin/ls?type=recursive&stream=true").lines();
    assert_eq!(streamed[0]["Cid"], other.as_str());
    assert_eq!(
        d.post("/api/v0/pin/verify?verbose=true").lines()[0]["Ok"],
        true
    );

    // Blocks: put (v0 format), rm with per-block errors.
    let (ct, body) = multipart(&[("file", "", "application/octet-stream", b"blocky")]);
    let put = http(
        d.port,
        "POST",
        "/api/v0/block/put",
        &[("Content-Type", &ct)],
        &body,
    )
    .lines();
    let key = put[0]["Key"].as_str().unwrap().to_string();
    assert!(key.starts_with("bafkrei") && put[0]["Size"] == 6);
    let rm = d
        .post(&format!("/api/v0/block/rm?arg={key}&arg=bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"))
        .lines();
    assert_eq!(rm[0]["Hash"], key.as_str());
    assert!(rm[0].get("Error").is_none() && rm[1]["Error"].is_string());

    // Repo and node.
    let gc = d.post("/api/v0/repo/gc").lines();
    assert!(gc.iter().all(|l| l["Key"]["/"].is_string()));
    assert_eq!(
        d.post("/api/v0/repo/verify").lines().last().unwrap()["Msg"],
        "verify complete, all blocks validated."
    );
    let stat = d.post("/api/v0/stats/repo?size-only=true").json();
    assert!(stat["RepoSize"].is_u64() && stat.get("NumObjects").is_none());
    let cfg = d.post("/api/v0/config/show").json();
    assert_eq!(
        cfg["Addresses"]["API"],
        format!("/ip4/127.0.0.1/tcp/{}", d.port)
    );
    let v = d.post("/api/v0/version").json();
    assert!(v["Version"].is_string() && v["System"].is_string());

    // files/rm of several paths removes each one it can, then answers the first failure (Kubo).
    for p in ["/r1", "/r2"] {
        assert_eq!(d.post(&format!("/api/v0/files/mkdir?arg={p}")).status, 200);
    }
    d.post("/api/v0/files/rm?arg=/r1&arg=/nope&arg=/r2&recursive=true")
        .assert_error(500, 0);
    let ls = d.post("/api/v0/files/ls?arg=/").json();
    assert!(
        ls["Entries"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|e| e["Name"] != "r1" && e["Name"] != "r2"),
        "{ls}"
    );
    assert_eq!(d.post("/api/v0/files/rm?arg=/nope&force=true").status, 200);
    d.post("/api/v0/files/rm").assert_error(400, 1);

    // MFS flush / chcid; CIDs.
    assert!(d.post("/api/v0/files/mkdir?arg=/m").status == 200);
    // add --to-files links the added entry into an MFS directory (Kubo's t0040 vector).
    let r = add_raw(
        &d,
        "to-files=/m/",
        &[(
            "file",
            "mfs.txt",
            "application/octet-stream",
            b"Hello MFS!\n",
        )],
    );
    assert!(r.status == 200 && r.complete, "{r:?}");
    assert_eq!(
        d.post("/api/v0/files/stat?arg=/m/mfs.txt").json()["Hash"],
        "QmVT8bL3sGBA2TwvX8JPhrv5CYZL8LLLfW7mxkUjPZsgBr"
    );
    let msg = add_raw(
        &d,
        "to-files=/m/&only-hash=true",
        &[("file", "x", "application/octet-stream", b"x")],
    )
    .assert_error(500, 0);
    assert!(msg.contains("not compatible"), "{msg}");
    assert_eq!(d.post("/api/v0/files/rm?arg=/m/mfs.txt").status, 200);
    let flushed = d.post("/api/v0/files/flush?arg=/").json();
    assert!(flushed["Cid"].is_string());
    assert_eq!(
        d.post("/api/v0/files/chcid?arg=/m&cid-version=1").status,
        200
    );
    assert!(
        d.post("/api/v0/files/stat?arg=/m").json()["Hash"]
            .as_str()
            .unwrap()
            .starts_with("bafy")
    );
    let b32 = d
        .post("/api/v0/cid/base32?arg=Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD")
        .lines();
    assert_eq!(
        b32[0]["Formatted"],
        "bafybeihykld7uyxzogax6vgyvag42y7464eywpf55gxi5qpoisibh3c5wa"
    );
    let bases = d.post("/api/v0/cid/bases").json();
    assert!(
        bases
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["Name"] == "base32" && b["Prefix"] == "b")
    );
    let log = d.log();
    assert!(!log.contains("panicked"), "{log}");
}

/// Flip one byte of `marker` where it is stored in the repo's packs (the daemon keeps running and
/// reads the damaged bytes from the page cache).
fn damage_stored(home: &Path, marker: &[u8]) {
    use std::os::unix::fs::FileExt;
    let packs = home.join("repo/blocks/packs");
    for entry in std::fs::read_dir(&packs).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        if let Some(at) = bytes.windows(marker.len()).position(|w| w == marker) {
            let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            f.write_all_at(&[bytes[at + 3] ^ 0x04], (at + 3) as u64)
                .unwrap();
            return;
        }
    }
    panic!("{} not found in {packs:?}", String::from_utf8_lossy(marker));
}

#[test]
fn damaged_blocks_are_refused_and_hash_on_read_is_a_kit_setting() {
    let home = tempfile::tempdir().unwrap();
    let marker = b"bytes that will be damaged on disk, one bit of them";
    let cid = {
        let d = Daemon::start(home.path());
        let cfg = d.post("/api/v0/config/show").json();
        assert_eq!(cfg["Datastore"]["HashOnRead"], false, "{cfg}");
        let added = add_raw(&d, "", &[("file", "f", "application/octet-stream", marker)]).json();
        let cid = added["Hash"].as_str().unwrap().to_string();
        damage_stored(home.path(), marker);
        // Checked against the CRC stored with the block: an error naming it, not the bytes.
        let r = d.post(&format!("/api/v0/cat?arg={cid}"));
        let text = String::from_utf8_lossy(&r.body).to_string();
        assert!(!r.body.windows(8).any(|w| w == &marker[..8]), "{text}");
        assert!(
            text.contains("corrupt") && text.contains(&cid),
            "{} {text}",
            r.status
        );
        cid
    };
    // The killed daemon's api file names its old port.
    std::fs::remove_file(home.path().join("repo/api")).unwrap();
    std::fs::create_dir_all(home.path().join("config")).unwrap();
    std::fs::write(
        home.path().join("config/kit.toml"),
        "[datastore]\nhash_on_read = true\n",
    )
    .unwrap();
    let d = Daemon::start(home.path());
    let cfg = d.post("/api/v0/config/show").json();
    assert_eq!(cfg["Datastore"]["HashOnRead"], true, "{cfg}");
    let r = d.post(&format!("/api/v0/cat?arg={cid}"));
    assert!(String::from_utf8_lossy(&r.body).contains("corrupt"));
    // `repo verify` re-hashes whatever the setting; without `TE: trailers` the client gets
    // every line, then a broken transfer (the error).
    let r = d.post("/api/v0/repo/verify");
    assert!(!r.complete);
    let v = r.lines();
    assert!(
        v.iter()
            .any(|l| l["Msg"].as_str().unwrap_or("").contains("was corrupt")),
        "{v:?}"
    );
}

#[test]
fn add_echoes_each_top_level_entrys_mode_and_mtime_like_kubo() {
    let tmp = tempfile::tempdir().unwrap();
    let d = Daemon::start(tmp.path());
    // Mode and mtime from the parts (`file?mode=…&mtime=…`) come back on every event of their top-level
    // entry, as Kubo echoes them ("0" and octal digits); not for a request wrapped in a directory.
    let meta = |query: &str| {
        add_raw(
            &d,
            query,
            &[
                (
                    "file?mode=0755&mtime=1700000000&mtime-nsecs=5",
                    "m",
                    "application/x-directory",
                    b"",
                ),
                ("file", "m/a.txt", "application/octet-stream", b"aaa"),
                (
                    "file?mode=644&mtime=42",
                    "solo.bin",
                    "application/octet-stream",
                    &bytes(600_000, 9),
                ),
                ("file", "plain.txt", "application/octet-stream", b"p"),
            ],
        )
        .lines()
    };
    let events = meta("progress=true");
    let by = |name: &str, hashed: bool| {
        events
            .iter()
            .filter(|e| e["Name"] == name && e.get("Hash").is_some() == hashed)
            .cloned()
            .collect::<Vec<_>>()
    };
    for e in by("m", true).iter().chain(&by("m/a.txt", true)) {
        assert_eq!(
            (&e["Mode"], &e["Mtime"], &e["MtimeNsecs"]),
            (&json!("0755"), &json!(1_700_000_000), &json!(5)),
            "{e}"
        );
    }
    let solo = by("solo.bin", true);
    assert_eq!(
        (&solo[0]["Mode"], &solo[0]["Mtime"]),
        (&json!("0644"), &json!(42))
    );
    assert!(solo[0].get("MtimeNsecs").is_none(), "{}", solo[0]);
    let progress = by("solo.bin", false);
    assert!(progress.len() >= 2, "{events:?}");
    assert!(
        progress
            .iter()
            .all(|e| e["Mode"] == "0644" && e["Mtime"] == 42)
    );
    let plain = by("plain.txt", true);
    assert!(plain[0].get("Mode").is_none() && plain[0].get("Mtime").is_none());
    let wrapped = meta("wrap-with-directory=true");
    assert!(
        wrapped
            .iter()
            .all(|e| e.get("Mode").is_none() && e.get("Mtime").is_none()),
        "{wrapped:?}"
    );
}

#[test]
fn repo_gc_streams_every_removed_block_past_the_report_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let d = Daemon::start(tmp.path());
    // 10,050 small files, unpinned: more blocks than the 10,000 a GC report lists.
    let names: Vec<String> = (0..10_050).map(|i| format!("many/f{i}")).collect();
    let bodies: Vec<Vec<u8>> = (0..10_050)
        .map(|i| format!("gc me {i}").into_bytes())
        .collect();
    let parts: Vec<(&str, &str, &str, &[u8])> = names
        .iter()
        .zip(&bodies)
        .map(|(n, b)| ("file", n.as_str(), "application/octet-stream", b.as_slice()))
        .collect();
    let r = add_raw(&d, "pin=false&quieter=true", &parts);
    assert_eq!(r.status, 200);
    let lines = d.post("/api/v0/repo/gc").lines();
    let keys: std::collections::HashSet<String> = lines
        .iter()
        .map(|l| l["Key"]["/"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys.len(), lines.len(), "each block once");
    assert!(lines.len() > 10_050, "{}", lines.len());
    assert!(keys.iter().all(|k| k.starts_with("bafkrei")));
    // Nothing left to collect. `silent` collects without a line.
    assert!(d.post("/api/v0/repo/gc").lines().is_empty());
    add_raw(&d, "pin=false", &parts[..3]);
    assert!(d.post("/api/v0/refs/local").lines().len() >= 3);
    assert!(d.post("/api/v0/repo/gc?silent=true").lines().is_empty());
    assert!(d.post("/api/v0/refs/local").lines().is_empty());
    assert!(d.post("/api/v0/repo/gc").lines().is_empty());
}
