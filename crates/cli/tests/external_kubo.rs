//! Every ipfs-kit operation against an external Kubo-RPC-compatible node: js-ipfs 0.66.1 (npm `ipfs`,
//! pinned in tests/jsipfs), started offline on loopback. Each result is checked against the
//! embedded node given the same input and options (same CIDs, same bytes, same shapes).
//!
//! Where js-ipfs differs from Kubo (the client follows Kubo; these are js-ipfs's gaps, asserted
//! as such below):
//!
//! | area                 | Kubo                                              | js-ipfs 0.66.1 (daemon 0.18.1)                                   |
//! |----------------------|---------------------------------------------------|------------------------------------------------------------------|
//! | `add` symlink part   | `application/symlink` part → UnixFS symlink       | the part is dropped: the tree has no symlink (CIDs differ)       |
//! | `dag/import` stats   | `{"Stats":{"BlockCount",…}}` with `stats=true`    | no stats line (the client counts the CARs' blocks itself)        |
//! | `ls` symlink entry   | `Type` 4 with `Target`                            | `Type` 2 (a file), no `Target`                                   |
//! | `resolve` of a CIDv0 | `/ipfs/Qm…`                                       | `/ipfs/zQm…` (a multibase prefix on CIDv0; the client strips it) |
//! | `get` with a symlink | tar symlink entry                                 | a regular-file header for the link, then the stream ends (truncated tar) |
//! | `get` of `/ipfs/CID/sub` | tar top entry `sub`                           | tar top entry `CID/sub` (the client takes whatever the first entry is) |
//! | `add` output entries | every file and directory, empty ones included    | empty directories not listed (still in the tree)                 |
//! | `add` part filename  | `url.QueryUnescape` (`+` and `%20` are spaces)     | `decodeURIComponent` (`+` stays `+`): the client sends `%20`     |
//! | `add` `Size`         | string (`"Size":"14"`)                            | number (`"Size":14`); the client reads both                      |
//! | `add` output         | `Name`,`Hash`,`Size`                              | also `Mode` on every entry (no mode is stored in the DAG)        |
//! | `pin/update`         | `{"Pins":[from,to]}`                              | no endpoint: 404 `{"Message":"Not Found","Code":3}`              |
//! | `block/put`          | `cid-codec` (raw default) → CIDv1                 | ignores `cid-codec`: CIDv0 dag-pb; the client refuses the wrong CID |
//! | missing block        | offline: an error at once                         | `block/stat`, `cat` … wait forever, even with `--offline`        |
//! | `dag/get`            | `output-codec` honoured; links as `{"/":cid}`     | always dag-json; a node with links fails with a 500              |
//! | `dag/resolve`        | `Cid` in the default base                         | CIDv1 in base58btc (`zdpu…`)                                     |
//! | MFS nodes            | no metadata: CIDs as `ipfs add`                   | mode/mtime stored on MFS files and directories: other CIDs       |
//! | `pin/verify`         | ndjson `{"Cid","Ok","BadNodes"}`                  | no endpoint: 404 `{"Message":"Not Found","Code":3}`              |
//! | `repo/verify`        | ndjson `{"Msg","Progress"}`                       | no endpoint: 404 `{"Message":"Not Found","Code":3}`              |
//! | `repo/stat`          | numbers, `Version` "fs-repo@16"                   | numbers as strings (`"NumObjects":"13"`), `Version` "12"         |
//! | `version`            | `Version`,`Commit`,`Repo`,`System`,`Golang`       | `Version`,`Commit`,`Repo`,`ipfs-core`,… (no `System`)            |
//! | `pin/ls --stream`    | `{"Cid","Type","Name"}`                           | `{"Type","Cid"}` (no names)                                      |
//! | `files/stat`         | `Type` "directory"/"file", `Blocks` = links       | same names, plus `Mode`, `WithLocality`                          |
//! | invalid CID          | "invalid path …: invalid cid …"                   | "Invalid request query input" (Code 1)                           |
//! | Swarm listen address | tcp/0 accepted offline                            | `daemon --offline` fails unless `Addresses.Swarm` is empty       |
//! | `key/ls`             | `key/ls` (`key/list` a deprecated alias)          | `key/list` only (404 on `key/ls`; the client falls back), every key listed twice |
//! | `key/gen` default    | ed25519, IPNS name `k51…`                         | RSA, IPNS name `Qm…`                                             |
//! | `repo/stat`, `stats/bw` | numbers                                        | `RepoSize`, `NumObjects`, `StorageMax`, `TotalIn`/`TotalOut` as strings |
//! | `routing/findpeer`, `routing/findprovs` | offline: an error (needs online mode) | no endpoint: 404 (`UNSUPPORTED`); `dht/query` answers no peers |
//! | `pubsub/pub` part    | any part accepted                                 | refuses a part without `Content-Type`; with no peer: `InsufficientPeers` |
//! | `pubsub/sub`         | messages only                                     | a `{}` keep-alive line first (the client skips empty objects)   |
//! | `pubsub/peers`       | topic optional                                    | topic required: "Invalid request query input" without one       |
//! | `dag/stat`           | `{"DagStats",…}`                                  | no endpoint: 404 `{"Message":"Not Found","Code":3}`              |

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;
use common::ensure_jsipfs;

const BIN: &str = env!("CARGO_BIN_EXE_ipfs-kit");

/// A js-ipfs daemon, offline on loopback, with its own repo; killed when dropped.
struct JsIpfs {
    child: Child,
    api: String,
    _repo: tempfile::TempDir,
}

impl Drop for JsIpfs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl JsIpfs {
    fn start() -> JsIpfs {
        let bin = ensure_jsipfs();
        let repo = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let out = Command::new(&bin)
                .args(args)
                .env("IPFS_PATH", repo.path())
                .stdin(Stdio::null())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "jsipfs {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&["init", "--profile", "test"]);
        // Loopback only, ports picked by the OS; no swarm listener (js-ipfs refuses tcp/0 offline).
        let cfg_path = repo.path().join("config");
        let mut cfg: Value = serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
        cfg["Addresses"]["Swarm"] = json!([]);
        cfg["Addresses"]["API"] = json!("/ip4/127.0.0.1/tcp/0");
        cfg["Addresses"]["Gateway"] = json!("/ip4/127.0.0.1/tcp/0");
        cfg["Addresses"]["RPC"] = json!("/ip4/127.0.0.1/tcp/0");
        cfg["Bootstrap"] = json!([]);
        std::fs::write(&cfg_path, serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();
        let log = repo.path().join("daemon.log");
        let child = Command::new(&bin)
            .args(["daemon", "--offline"])
            .env("IPFS_PATH", repo.path())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::from(
                std::fs::File::create(repo.path().join("daemon.err")).unwrap(),
            ))
            .spawn()
            .unwrap();
        let mut node = JsIpfs {
            child,
            api: String::new(),
            _repo: repo,
        };
        let deadline = Instant::now() + Duration::from_secs(90);
        let api_file = node._repo.path().join("api");
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("Daemon is ready")
                && let Ok(api) = std::fs::read_to_string(&api_file)
            {
                node.api = api.trim().to_string();
                break;
            }
            if let Some(status) = node.child.try_wait().unwrap() {
                let err = std::fs::read_to_string(node._repo.path().join("daemon.err"));
                panic!("jsipfs daemon exited with {status}: {text} {err:?}");
            }
            assert!(
                Instant::now() < deadline,
                "jsipfs daemon never got ready: {text}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        node
    }
}

/// `ipfs-kit ARGS` with stdin, returning the output.
fn kit(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("IPFS_KIT_API")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(data) = stdin {
        let mut s = child.stdin.take().unwrap();
        s.write_all(data).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn ok(args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let out = kit(args, stdin);
    assert!(
        out.status.success(),
        "ipfs-kit {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn line(b: Vec<u8>) -> String {
    String::from_utf8(b).unwrap().trim().to_string()
}

/// Both nodes side by side: the external one (`--api`) and an embedded one.
struct Pair {
    api: String,
    home_ext: tempfile::TempDir,
    home_emb: tempfile::TempDir,
}

impl Pair {
    fn ext(&self, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
        let mut a = vec!["--home", path_str(self.home_ext.path()), "--api", &self.api];
        a.extend_from_slice(args);
        ok(&a, stdin)
    }

    fn emb(&self, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
        let mut a = vec!["--home", path_str(self.home_emb.path())];
        a.extend_from_slice(args);
        ok(&a, stdin)
    }

    fn ext_raw(&self, args: &[&str]) -> Output {
        let mut a = vec!["--home", path_str(self.home_ext.path()), "--api", &self.api];
        a.extend_from_slice(args);
        kit(&a, None)
    }

    /// A catalogue call through `ipfs-kit tool call` on the external node.
    fn tool(&self, name: &str, input: Value) -> Value {
        serde_json::from_slice(&self.ext(&["tool", "call", name, &input.to_string()], None))
            .unwrap()
    }

    fn tool_emb(&self, name: &str, input: Value) -> Value {
        serde_json::from_slice(&self.emb(&["tool", "call", name, &input.to_string()], None))
            .unwrap()
    }

    /// A failing catalogue call on the external node: its JSON error.
    fn tool_err(&self, name: &str, input: Value) -> Value {
        let out = self.ext_raw(&["--json", "tool", "call", name, &input.to_string()]);
        assert!(!out.status.success(), "{name} {input} should fail");
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{name}: no JSON error ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Deterministic pseudo-random bytes.
fn bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Every file, directory and symlink under `root`, with contents or targets.
fn tree(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let rel = p.strip_prefix(root).unwrap().display().to_string();
        let m = std::fs::symlink_metadata(&p).unwrap();
        if m.file_type().is_symlink() {
            out.push((
                rel,
                format!("-> {}", std::fs::read_link(&p).unwrap().display()),
            ));
        } else if m.is_dir() {
            out.push((rel, "dir".into()));
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        } else {
            let data = std::fs::read(&p).unwrap();
            out.push((rel, format!("{} bytes {:x}", data.len(), fnv(&data))));
        }
    }
    out.sort();
    out
}

/// `v` without the fields that carry CIDs or node sizes.
fn without_cids(mut v: Value) -> Value {
    let mut stack = vec![&mut v];
    while let Some(x) = stack.pop() {
        match x {
            Value::Object(o) => {
                for k in ["cid", "hash", "root", "cumulative_size", "blocks"] {
                    o.remove(k);
                }
                stack.extend(o.values_mut());
            }
            Value::Array(a) => stack.extend(a.iter_mut()),
            _ => {}
        }
    }
    v
}

fn fnv(d: &[u8]) -> u64 {
    d.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

#[test]
fn every_operation_on_js_ipfs_matches_the_embedded_node() {
    let node = JsIpfs::start();
    let p = Pair {
        api: node.api.clone(),
        home_ext: tempfile::tempdir().unwrap(),
        home_emb: tempfile::tempdir().unwrap(),
    };
    let work = tempfile::tempdir().unwrap();

    // version: ipfs-kit's own, and the external node's.
    let v = p.tool("ipfs_version", json!({}));
    assert_eq!(v["node"], "external");
    assert_eq!(v["node_version"], "0.18.1");
    assert!(v["api"].as_str().unwrap().starts_with("http://127.0.0.1:"));

    // add: one file, with option sets; the same CIDs as the embedded node.
    let big = work.path().join("big.bin");
    let data = bytes(700_000, 1);
    std::fs::write(&big, &data).unwrap();
    let big_s = path_str(&big);
    for opts in [
        vec![],
        vec!["--cid-version", "1"],
        vec!["--raw-leaves"],
        vec!["--chunker", "size-1024"],
        vec![
            "--cid-version",
            "1",
            "--raw-leaves=false",
            "--chunker",
            "size-65536",
        ],
        vec!["--trickle"],
    ] {
        let mut args = vec!["add", "-Q"];
        args.extend_from_slice(&opts);
        args.push(big_s);
        let ext = line(p.ext(&args, None));
        let emb = line(p.emb(&args, None));
        assert_eq!(ext, emb, "add {opts:?}");
    }
    let big_cid = line(p.emb(&["add", "-Q", big_s], None));

    // add from stdin: one part, named by its CID.
    let stdin = b"hello from stdin\n";
    assert_eq!(
        String::from_utf8(p.ext(&["add"], Some(stdin))).unwrap(),
        String::from_utf8(p.emb(&["add"], Some(stdin))).unwrap()
    );
    // Inline content through the catalogue: same entries (name, CID, size, bytes).
    let input = json!({"content": "inline text", "name": "note.txt", "cid_version": 1});
    assert_eq!(
        p.tool("ipfs_add", input.clone()),
        p.tool_emb("ipfs_add", input)
    );
    // An option Kubo's RPC has no per-call equivalent for is refused, not ignored.
    let e = p.tool_err(
        "ipfs_add",
        json!({"content": "x", "hamt_size_estimation": "block"}),
    );
    assert_eq!(e["error_code"], "UNSUPPORTED");
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("hamt_size_estimation")
    );

    // Directory trees: the same CIDs, with hidden files, wrapping, spaces in names.
    let dir = work.path().join("site");
    std::fs::create_dir_all(dir.join("sub/deeper")).unwrap();
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    std::fs::write(dir.join("index.html"), b"<h1>hi</h1>\n").unwrap();
    std::fs::write(dir.join("sub/data.bin"), bytes(300_000, 2)).unwrap();
    std::fs::write(
        dir.join("sub/deeper/x y+z.txt"),
        b"spaces and a deep path\n",
    )
    .unwrap();
    std::fs::write(dir.join(".hidden"), b"secret\n").unwrap();
    let d = path_str(&dir);
    for opts in [
        vec!["-r"],
        vec!["-r", "-H"],
        vec!["-r", "-w", "--cid-version", "1"],
    ] {
        let mut args = opts.clone();
        args.insert(0, "add");
        args.insert(1, "-Q");
        args.push(d);
        assert_eq!(
            line(p.ext(&args, None)),
            line(p.emb(&args, None)),
            "add {opts:?}"
        );
    }
    // Every entry has the embedded node's CID, size and bytes; js-ipfs leaves empty
    // directories out of its listing (their CIDs are in the tree all the same).
    let input = json!({"paths": [d], "recursive": true, "hidden": true});
    let (ext, emb) = (
        p.tool("ipfs_add", input.clone()),
        p.tool_emb("ipfs_add", input),
    );
    assert_eq!(ext["root"], emb["root"]);
    let listed: Vec<&Value> = emb["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] != "site/empty")
        .collect();
    assert_eq!(
        ext["entries"]
            .as_array()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        listed
    );
    let plain_root = line(p.ext(&["add", "-Q", "-r", d], None));
    // js-ipfs drops `application/symlink` parts: the link is missing from its tree.
    std::os::unix::fs::symlink("sub/data.bin", dir.join("link")).unwrap();
    let ext = String::from_utf8(p.ext(&["add", "-r", d], None)).unwrap();
    let emb = String::from_utf8(p.emb(&["add", "-r", d], None)).unwrap();
    assert!(emb.contains(" site/link\n"), "{emb}");
    assert!(
        !ext.contains(" site/link\n"),
        "js-ipfs now keeps symlinks: {ext}"
    );

    // So the tree travels as a CAR: embedded add -r, dag export, dag import on js-ipfs.
    let dir_cid = line(p.emb(&["add", "-r", "-Q", path_str(&dir)], None));
    let car = work.path().join("site.car");
    let exp = p.tool_emb("ipfs_dag_export", json!({"root": dir_cid, "output": car}));
    let imported = p.tool("ipfs_dag_import", json!({"paths": [car]}));
    assert_eq!(imported["roots"][0]["cid"], dir_cid);
    assert_eq!(imported["roots"][0]["pinned"], true);
    assert_eq!(imported["blocks"], exp["blocks"]);

    // ls: same entries (names, CIDs, sizes, types, symlink targets).
    let ls = json!({"path": dir_cid});
    let (mut ext, emb) = (p.tool("ipfs_ls", ls.clone()), p.tool_emb("ipfs_ls", ls));
    // js-ipfs lists a symlink as a file (Type 2) without its target.
    let link = ext["entries"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["name"] == "link")
        .unwrap();
    assert_eq!(
        (&link["type"], &link["target"]),
        (&json!("file"), &Value::Null)
    );
    link["type"] = json!("symlink");
    link["target"] = json!("sub/data.bin");
    assert_eq!(ext, emb);
    let ls = json!({"path": format!("/ipfs/{dir_cid}")});
    assert_eq!(p.tool("ipfs_ls", ls)["cid"], emb["cid"]);
    let ls = json!({"path": format!("/ipfs/{dir_cid}/sub"), "offset": 1, "limit": 1});
    assert_eq!(p.tool("ipfs_ls", ls.clone()), p.tool_emb("ipfs_ls", ls));

    // get: the tree written to disk is identical (CLI and catalogue).
    let got = work.path().join("got");
    p.ext(&["get", &plain_root, "-o", path_str(&got)], None);
    let want_plain = work.path().join("want-plain");
    p.emb(&["get", &plain_root, "-o", path_str(&want_plain)], None);
    assert_eq!(tree(&got), tree(&want_plain));
    let want = work.path().join("want");
    p.emb(&["get", &dir_cid, "-o", path_str(&want)], None);
    // js-ipfs's tar stops short at a symlink: a clear error, never a silently partial tree.
    let e = p.tool_err(
        "ipfs_get",
        json!({"path": dir_cid, "output": work.path().join("broken")}),
    );
    assert_eq!(e["error_code"], "CORRUPTED", "{e}");
    let got2 = work.path().join("got2");
    let g = p.tool(
        "ipfs_get",
        json!({"path": format!("/ipfs/{dir_cid}/sub"), "output": got2}),
    );
    let w2 = work.path().join("want2");
    let gw = p.tool_emb(
        "ipfs_get",
        json!({"path": format!("/ipfs/{dir_cid}/sub"), "output": w2}),
    );
    assert_eq!(tree(&got2), tree(&w2));
    for k in ["cid", "files", "symlinks", "bytes"] {
        assert_eq!(g[k], gw[k], "ipfs_get {k}");
    }

    // cat: whole file and a range, through the CLI (streamed) and the catalogue (bounded).
    assert_eq!(p.ext(&["cat", &big_cid], None), data);
    assert_eq!(
        p.ext(&["cat", "-o", "1000", "-l", "5000", &big_cid], None),
        data[1000..6000]
    );
    let c = json!({"path": big_cid, "offset": 699_990, "length": 100, "encoding": "base64"});
    assert_eq!(p.tool("ipfs_cat", c.clone()), p.tool_emb("ipfs_cat", c));
    let c = json!({"path": format!("/ipfs/{dir_cid}/index.html")});
    assert_eq!(p.tool("ipfs_cat", c.clone()), p.tool_emb("ipfs_cat", c));

    // refs: same links, recursive and unique.
    let r = json!({"path": dir_cid, "recursive": true, "unique": true});
    let mut re = p.tool("ipfs_refs", r.clone())["refs"]
        .as_array()
        .unwrap()
        .clone();
    let mut rm = p.tool_emb("ipfs_refs", r)["refs"]
        .as_array()
        .unwrap()
        .clone();
    let key = |v: &Value| v.as_str().unwrap().to_string();
    re.sort_by_key(key);
    rm.sort_by_key(key);
    assert_eq!(re, rm);
    let local = p.tool("ipfs_refs_local", json!({"limit": 100_000}));
    assert!(!local["refs"].as_array().unwrap().is_empty());

    // pins: add (unpinned content first), ls, update, rm.
    let a = line(p.ext(&["add", "-Q", "--pin=false"], Some(b"pin me A\n")));
    let b = line(p.ext(&["add", "-Q", "--pin=false"], Some(b"pin me B\n")));
    let pinned = p.tool("ipfs_pin_add", json!({"paths": [a]}));
    assert_eq!(pinned["pins"], json!([a]));
    let ls = p.tool("ipfs_pin_ls", json!({"paths": [a]}));
    assert_eq!(ls["pins"][0]["cid"], a);
    assert_eq!(ls["pins"][0]["type"], "recursive");
    let all = p.tool(
        "ipfs_pin_ls",
        json!({"type": "recursive", "limit": 100_000}),
    );
    assert!(
        all["pins"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["cid"] == dir_cid)
    );
    // js-ipfs has no pin/update: a clear Unsupported naming the endpoint; done by hand instead.
    let e = p.tool_err("ipfs_pin_update", json!({"from": a, "to": b}));
    assert_eq!(e["error_code"], "UNSUPPORTED", "{e}");
    assert!(e["error"].as_str().unwrap().contains("pin/update"), "{e}");
    p.tool("ipfs_pin_add", json!({"paths": [b]}));
    assert_eq!(
        p.tool("ipfs_pin_rm", json!({"paths": [a]}))["pins"],
        json!([a])
    );
    let e = p.tool_err("ipfs_pin_ls", json!({"paths": [a]}));
    assert_eq!(e["error_code"], "NOT_FOUND", "{e}");
    assert_eq!(
        p.tool("ipfs_pin_rm", json!({"paths": [b]}))["pins"],
        json!([b])
    );
    // js-ipfs has no pin/verify: a clear Unsupported naming the endpoint.
    let e = p.tool_err("ipfs_pin_verify", json!({}));
    assert_eq!(e["error_code"], "UNSUPPORTED", "{e}");
    assert!(e["error"].as_str().unwrap().contains("pin/verify"), "{e}");

    // blocks: js-ipfs ignores `cid-codec` (it stores every put as CIDv0 dag-pb), which the
    // client catches by checking the answered CID against the one it computed.
    let e = p.tool_err(
        "ipfs_block_put",
        json!({"data": "a raw block", "cid_codec": "raw"}),
    );
    assert_eq!(e["error_code"], "UNSUPPORTED", "{e}");
    assert_eq!(
        e["context"]["expected"],
        p.tool_emb(
            "ipfs_block_put",
            json!({"data": "a raw block", "cid_codec": "raw"})
        )["cid"]
    );
    let leaf = "QmPNFLwQfFUZ4KutUs6iYsFdTVYJ9mUK47uFqRJsc7t6ci"; // site/index.html
    let got = p.tool("ipfs_block_get", json!({"cid": leaf}));
    assert_eq!(got, p.tool_emb("ipfs_block_get", json!({"cid": leaf})));
    assert_eq!(
        p.tool("ipfs_block_stat", json!({"cid": leaf})),
        p.tool_emb("ipfs_block_stat", json!({"cid": leaf}))
    );
    assert_eq!(
        p.tool("ipfs_block_rm", json!({"cids": [a]}))["removed"],
        json!([a])
    );
    // (A missing block is not asked for again: js-ipfs waits for it forever, even offline.)
    let local = p.tool("ipfs_refs_local", json!({"limit": 100_000}))["refs"].clone();
    assert!(!local.to_string().contains(a.as_str()), "{a} still listed");
    let e = p.tool_err("ipfs_block_get", json!({"cid": "not-a-cid"}));
    assert_eq!(e["error_code"], "INVALID_CID", "{e}");

    // dag: put, get (with a path and another codec), export.
    let node_json = r#"{"name":"ipfs-kit","n":[1,2,3]}"#;
    let put = json!({"data": node_json, "pin": false});
    let d = p.tool("ipfs_dag_put", put.clone());
    assert_eq!(d, p.tool_emb("ipfs_dag_put", put));
    let dcid = d["cid"].as_str().unwrap();
    for input in [
        json!({"path": dcid}),
        json!({"path": format!("{dcid}/n/1")}),
    ] {
        assert_eq!(
            p.tool("ipfs_dag_get", input.clone()),
            p.tool_emb("ipfs_dag_get", input)
        );
    }
    // js-ipfs answers dag-json whatever `output-codec` asks, and fails (500) on nodes with links.
    let linked = json!({"data": r#"{"l":{"/":"QmPNFLwQfFUZ4KutUs6iYsFdTVYJ9mUK47uFqRJsc7t6ci"}}"#});
    let lcid = p.tool("ipfs_dag_put", linked)["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let e = p.tool_err("ipfs_dag_get", json!({"path": lcid}));
    assert_eq!(e["context"]["status"], 500, "{e}");
    let car2 = work.path().join("again.car");
    let ex = p.tool("ipfs_dag_export", json!({"root": dir_cid, "output": car2}));
    assert_eq!(ex["blocks"], exp["blocks"]);
    let exported = p.ext(&["dag", "export", &dir_cid], None);
    assert_eq!(exported.len() as u64, ex["bytes"].as_u64().unwrap());
    // The exported CAR imports back into a fresh embedded node as the same tree.
    let fresh = tempfile::tempdir().unwrap();
    ok(
        &[
            "--home",
            path_str(fresh.path()),
            "dag",
            "import",
            path_str(&car2),
        ],
        None,
    );
    let back = work.path().join("back");
    ok(
        &[
            "--home",
            path_str(fresh.path()),
            "get",
            &dir_cid,
            "-o",
            path_str(&back),
        ],
        None,
    );
    assert_eq!(tree(&back), tree(&want));

    // repo: stat, gc (the unpinned blocks go), verify (absent on js-ipfs).
    let st = p.tool("ipfs_repo_stat", json!({}));
    assert!(st["num_objects"].as_u64().unwrap() > 0);
    assert!(st["repo_size"].as_u64().unwrap() > 0);
    let garbage = line(p.ext(&["add", "-Q", "--pin=false"], Some(b"collect me\n")));
    let before = p.tool("ipfs_refs_local", json!({"limit": 100_000}))["refs"]
        .as_array()
        .unwrap()
        .len();
    let gc = p.tool("ipfs_repo_gc", json!({}));
    assert!(gc["removed_count"].as_u64().unwrap() >= 1, "{gc}");
    assert_eq!(gc["cancelled"], false);
    let after = p.tool("ipfs_refs_local", json!({"limit": 100_000}))["refs"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        before - after,
        gc["removed_count"].as_u64().unwrap() as usize,
        "{garbage}"
    );
    let e = p.tool_err("ipfs_repo_verify", json!({}));
    assert_eq!(e["error_code"], "UNSUPPORTED", "{e}");

    // MFS: the same sequence on both nodes gives the same CIDs.
    for side in [true, false] {
        let t = |name: &str, input: Value| {
            if side {
                p.tool(name, input)
            } else {
                p.tool_emb(name, input)
            }
        };
        t(
            "ipfs_files_mkdir",
            json!({"path": "/docs/2024", "parents": true}),
        );
        t(
            "ipfs_files_write",
            json!({"path": "/docs/2024/notes.txt", "content": "first line\n", "create": true}),
        );
        t(
            "ipfs_files_write",
            json!({"path": "/docs/2024/notes.txt", "content": "LINE", "offset": 0}),
        );
        t(
            "ipfs_files_cp",
            json!({"from": format!("/ipfs/{dir_cid}/sub"), "to": "/docs/sub"}),
        );
        t(
            "ipfs_files_mv",
            json!({"from": "/docs/sub", "to": "/docs/2024"}),
        );
        t(
            "ipfs_files_rm",
            json!({"path": "/docs/2024/sub/deeper", "recursive": true}),
        );
    }
    for (name, input) in [
        (
            "ipfs_files_read",
            json!({"path": "/docs/2024/notes.txt", "offset": 2, "count": 5}),
        ),
        ("ipfs_files_ls", json!({"path": "/docs/2024", "long": true})),
        ("ipfs_files_ls", json!({"path": "/docs"})),
        ("ipfs_files_stat", json!({"path": "/docs/2024/notes.txt"})),
        ("ipfs_files_stat", json!({"path": "/docs/2024/sub"})),
        ("ipfs_files_flush", json!({"path": "/docs"})),
    ] {
        // js-ipfs stores mode and mtime on MFS nodes, so its CIDs differ: compare the rest.
        assert_eq!(
            without_cids(p.tool(name, input.clone())),
            without_cids(p.tool_emb(name, input)),
            "{name}"
        );
    }
    assert_eq!(
        p.ext(&["files", "read", "/docs/2024/notes.txt"], None),
        b"LINEt line\n"
    );
    let e = p.tool_err("ipfs_files_stat", json!({"path": "/nope"}));
    assert_eq!(e["error_code"], "NOT_FOUND", "{e}");
}

#[test]
fn a_dead_address_is_daemon_unavailable_naming_it_fast() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let home = tempfile::tempdir().unwrap();
    let api = format!("/ip4/127.0.0.1/tcp/{port}");
    let start = Instant::now();
    let out = kit(
        &[
            "--home",
            path_str(home.path()),
            "--api",
            &api,
            "--json",
            "tool",
            "call",
            "ipfs_version",
        ],
        None,
    );
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "{:?}",
        start.elapsed()
    );
    assert!(!out.status.success());
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["error_code"], "DAEMON_UNAVAILABLE", "{e}");
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains(&format!("127.0.0.1:{port}")),
        "{e}"
    );
    // The CLI's own commands fail the same way, in text on stderr.
    let out = kit(
        &[
            "--home",
            path_str(home.path()),
            "--api",
            &api,
            "cat",
            "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN",
        ],
        None,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("127.0.0.1:{port}")));
}

/// The address each source names shows up in the error: flag > env > config file > embedded.
#[test]
fn node_selection_precedence() {
    let dead = |n: u16| format!("http://127.0.0.1:{n}");
    let home = tempfile::tempdir().unwrap();
    let h = path_str(home.path());
    std::fs::create_dir_all(home.path().join("config")).unwrap();
    std::fs::write(
        home.path().join("config/kit.toml"),
        format!("[ipfs]\napi = \"{}\"\n", dead(1)),
    )
    .unwrap();
    let named = |args: &[&str], env: Option<&str>| {
        let mut c = Command::new(BIN);
        c.args(args).env_remove("IPFS_KIT_API");
        if let Some(v) = env {
            c.env("IPFS_KIT_API", v);
        }
        let out = c.output().unwrap();
        let e: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.success(), e)
    };
    let call = ["--home", h, "--json", "tool", "call", "ipfs_version"];
    let (_, e) = named(&call, None);
    assert!(
        e["error"].as_str().unwrap().contains("127.0.0.1:1"),
        "file: {e}"
    );
    let (_, e) = named(&call, Some(&dead(2)));
    assert!(
        e["error"].as_str().unwrap().contains("127.0.0.1:2"),
        "env: {e}"
    );
    let mut with_flag = call.to_vec();
    let flag = dead(3);
    with_flag.extend(["--api", &flag]);
    let (_, e) = named(&with_flag, Some(&dead(2)));
    assert!(
        e["error"].as_str().unwrap().contains("127.0.0.1:3"),
        "flag: {e}"
    );
    // --debug says which node and why.
    let out = Command::new(BIN)
        .args(["--home", h, "--debug", "tool", "call", "ipfs_version"])
        .env_remove("IPFS_KIT_API")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("using the node at http://127.0.0.1:1")
            && err.contains("configured in the kit config"),
        "{err}"
    );
    let mut embedded = call.to_vec();
    embedded.push("--embedded");
    let (okay, v) = named(&embedded, Some(&dead(2)));
    assert!(okay, "{v}");
    assert_eq!(v["node"], "embedded");
    // A malformed config file is a clear error naming the file.
    std::fs::write(home.path().join("config/kit.toml"), "[ipfs\napi=").unwrap();
    let (okay, e) = named(&call, None);
    assert!(!okay);
    assert_eq!(e["error_code"], "CONFIG_INVALID", "{e}");
    assert!(e["error"].as_str().unwrap().contains("kit.toml"), "{e}");
}

/// A repo held by another process, with `repo/api` naming a daemon: the CLI uses that daemon
/// (here the process holding the lock is `ipfs-kit mcp`, and the API file names js-ipfs).
#[test]
fn a_locked_repo_is_reached_through_its_daemon() {
    let node = JsIpfs::start();
    let home = tempfile::tempdir().unwrap();
    let h = path_str(home.path());
    // Holds the repo lock while it waits on stdin.
    let mut holder = Command::new(BIN)
        .args(["--home", h, "--embedded", "mcp"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the holder's pid in the lock file (opening the repo here would race it).
    let lock_deadline = Instant::now() + Duration::from_secs(20);
    let pid = holder.id().to_string();
    while std::fs::read_to_string(home.path().join("repo/repo.lock"))
        .map(|s| s.trim() != pid)
        .unwrap_or(true)
    {
        assert!(
            holder.try_wait().unwrap().is_none(),
            "the lock holder exited"
        );
        assert!(Instant::now() < lock_deadline, "the repo never got locked");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = kit(
        &[
            "--home",
            h,
            "--embedded",
            "--json",
            "tool",
            "call",
            "ipfs_repo_stat",
        ],
        None,
    );
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["error_code"], "REPO_LOCKED", "{e}");
    std::fs::write(home.path().join("repo/api"), format!("{}\n", node.api)).unwrap();
    let out = kit(
        &["--home", h, "--debug", "tool", "call", "ipfs_version"],
        None,
    );
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["node"], "external");
    assert!(String::from_utf8_lossy(&out.stderr).contains("running ipfs-kit daemon"));
}

/// `/api/v0/<cmd>` on the daemon itself (curl), for answers to check ours against.
fn daemon_json(api: &str, cmd: &str) -> Value {
    let url = format!(
        "http://{}/api/v0/{cmd}",
        api.trim_start_matches("/ip4/")
            .trim_end_matches("/http")
            .replace("/tcp/", ":")
    );
    let out = Command::new("curl")
        .args(["-sf", "-X", "POST", &url])
        .output()
        .expect("curl is needed to read the daemon's own answers");
    assert!(out.status.success(), "curl {url} failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn identity_keys_names_stats_and_network_on_js_ipfs() {
    let node = JsIpfs::start();
    let p = Pair {
        api: node.api.clone(),
        home_ext: tempfile::tempdir().unwrap(),
        home_emb: tempfile::tempdir().unwrap(),
    };

    // id: the daemon's own peer id, key, agent and (no swarm listener: none) addresses.
    let own = daemon_json(&node.api, "id");
    let id = p.tool("ipfs_id", json!({}));
    assert_eq!(id["id"], own["ID"]);
    assert!(id["id"].as_str().unwrap().starts_with("12D3KooW"), "{id}");
    assert_eq!(id["public_key"], own["PublicKey"]);
    assert_eq!(id["agent_version"], "js-ipfs/0.18.1");
    assert_eq!(id["addresses"], own["Addresses"]);
    assert_eq!(id["addresses"], json!([]));
    assert!(
        id["protocols"]
            .as_array()
            .unwrap()
            .contains(&json!("/ipfs/bitswap/1.2.0"))
    );
    let peer = id["id"].as_str().unwrap().to_string();
    assert_eq!(p.tool("ipfs_id", json!({"peer_id": peer}))["id"], peer);

    // key gen → list (js-ipfs answers key/list only; its list repeats every key) → rm.
    let k = p.tool("ipfs_key_gen", json!({"name": "jsnet-k1"}));
    assert_eq!(k["name"], "jsnet-k1");
    let kid = k["id"].as_str().unwrap().to_string();
    // js-ipfs makes RSA keys by default: a base58 `Qm…` name, where Kubo gives ed25519 `k51…`.
    assert!(kid.starts_with("Qm"), "{k}");
    let names = |list: &Value| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = list["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["name"].as_str().unwrap().to_string(),
                    e["id"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let listed = names(&p.tool("ipfs_key_list", json!({})));
    assert_eq!(
        listed,
        vec![
            ("jsnet-k1".to_string(), kid.clone()),
            ("self".into(), peer.clone())
        ]
    );

    // name publish with that key, offline → resolve gives the path back.
    let cid = line(p.ext(&["add", "-Q"], Some(b"published by js-ipfs\n")));
    let path = format!("/ipfs/{cid}");
    let pubd = p.tool(
        "ipfs_name_publish",
        json!({"path": path, "key": "jsnet-k1", "allow_offline": true}),
    );
    assert_eq!(pubd["name"], kid);
    assert_eq!(pubd["value"], path);
    let res = p.tool("ipfs_name_resolve", json!({"name": format!("/ipns/{kid}")}));
    assert_eq!(res["path"], path);

    let rm = p.tool("ipfs_key_rm", json!({"names": ["jsnet-k1"]}));
    assert_eq!(rm["keys"], json!([{"name": "jsnet-k1", "id": kid}]));
    let listed = names(&p.tool("ipfs_key_list", json!({})));
    assert_eq!(listed, vec![("self".to_string(), peer.clone())]);

    // stats: js-ipfs's repo numbers (sent as strings) and bandwidth counters.
    let repo = daemon_json(&node.api, "repo/stat");
    let st = p.tool("ipfs_stats", json!({}));
    let n = |v: &Value| v.as_str().unwrap().parse::<u64>().unwrap();
    assert_eq!(st["repo"]["num_objects"], n(&repo["NumObjects"]));
    assert!(st["repo"]["num_objects"].as_u64().unwrap() > 0, "{st}");
    assert!(st["repo"]["repo_size"].as_u64().unwrap() > 0, "{st}");
    assert_eq!(st["repo"]["storage_max"], n(&repo["StorageMax"]));
    assert_eq!(st["repo"]["version"], "12");
    assert_eq!(st["repo"]["repo_path"], repo["RepoPath"]);
    for f in ["total_in", "total_out"] {
        assert_eq!(st["bandwidth"][f], 0, "{st}");
    }
    for f in ["rate_in", "rate_out"] {
        assert_eq!(st["bandwidth"][f], 0.0, "{st}");
    }

    // Offline: no peers, and the routing answers js-ipfs has.
    assert_eq!(p.tool("ipfs_swarm_peers", json!({})), json!({"peers": []}));
    for (op, input, cmd) in [
        (
            "ipfs_dht_findpeer",
            json!({"peer_id": peer, "timeout_seconds": 5}),
            "routing/findpeer",
        ),
        (
            "ipfs_dht_findprovs",
            json!({"cid": cid, "timeout_seconds": 5}),
            "routing/findprovs",
        ),
    ] {
        let e = p.tool_err(op, input);
        assert_eq!(e["error_code"], "UNSUPPORTED", "{op}: {e}");
        assert_eq!(e["context"]["command"], cmd, "{op}: {e}");
    }
    assert_eq!(
        p.tool(
            "ipfs_dht_query",
            json!({"peer_id": peer, "timeout_seconds": 5})
        ),
        json!({"peers": [], "timed_out": false})
    );

    // pubsub is on in js-ipfs, but with no peer a publish is refused.
    let e = p.tool_err(
        "ipfs_pubsub_publish",
        json!({"topic": "jsnet", "data": "hi"}),
    );
    assert!(
        e["error"].as_str().unwrap().contains("InsufficientPeers"),
        "{e}"
    );
    assert_eq!(
        p.tool(
            "ipfs_pubsub_subscribe",
            json!({"topic": "jsnet", "max_messages": 1, "timeout_seconds": 2})
        ),
        json!({"messages": [], "timed_out": true})
    );
    assert_eq!(
        p.tool("ipfs_pubsub_peers", json!({"topic": "jsnet"})),
        json!({"peers": []})
    );
    let e = p.tool_err("ipfs_pubsub_peers", json!({}));
    assert_eq!(e["error_code"], "INVALID_INPUT", "{e}");

    // cid_format, dag_resolve: the embedded node's answers for the same content; js-ipfs has
    // no dag/stat.
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("tree");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("index.html"), b"<p>tree</p>\n").unwrap();
    std::fs::write(dir.join("sub/data.txt"), bytes(5_000, 9)).unwrap();
    let d = path_str(&dir);
    let root = line(p.ext(&["add", "-Q", "-r", d], None));
    assert_eq!(root, line(p.emb(&["add", "-Q", "-r", d], None)));
    let input = json!({"cids": [root, "not-a-cid"], "version": "1", "base": "base32"});
    assert_eq!(
        p.tool("ipfs_cid_format", input.clone()),
        p.tool_emb("ipfs_cid_format", input)
    );
    let input = json!({"path": format!("/ipfs/{root}/sub/data.txt")});
    assert_eq!(
        p.tool("ipfs_dag_resolve", input.clone()),
        p.tool_emb("ipfs_dag_resolve", input)
    );
    let input = json!({"paths": [root]});
    let emb = p.tool_emb("ipfs_dag_stat", input.clone());
    assert_eq!(emb["dag_stats"][0]["num_blocks"], 4, "{emb}");
    let e = p.tool_err("ipfs_dag_stat", input);
    assert_eq!(e["error_code"], "UNSUPPORTED", "{e}");
    assert_eq!(e["context"]["command"], "dag/stat");
}
