//! End-to-end tests of the `ipfs-kit` binary on temporary homes: Kubo's CIDs and output formats for the
//! content commands, and bad input (each refused with a clear error, a non-zero exit, and no change to
//! the repo or the filesystem).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ipfs_kit_content::pb::{PbLink, PbNode};
use ipfs_kit_content::unixfs::{DataType, UnixfsData};
use serde_json::Value;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_ipfs-kit");

/// Kubo's `ipfs add` vectors (`shared/reference/cid-vectors.json`), by id.
fn vector(id: &str) -> String {
    static VECTORS: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    let all = VECTORS.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/reference/cid-vectors.json"
        );
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("read cid-vectors.json"))
                .expect("parse cid-vectors.json");
        doc["vectors"]
            .as_array()
            .expect("vectors")
            .iter()
            .map(|v| {
                (
                    v["id"].as_str().expect("id").to_string(),
                    v["expected_cid"].as_str().expect("cid").to_string(),
                )
            })
            .collect()
    });
    all.get(id)
        .unwrap_or_else(|| panic!("no vector {id}"))
        .clone()
}

/// One temporary kit home plus a scratch directory for input and output files.
struct Kit {
    home: TempDir,
    scratch: TempDir,
}

impl Kit {
    fn new() -> Kit {
        Kit {
            home: tempfile::tempdir().expect("home"),
            scratch: tempfile::tempdir().expect("scratch"),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.scratch.path().join(rel)
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--home").arg(self.home.path()).args(args);
        c.env_remove("IPFS_KIT_HOME").env("IPFS_KIT_LOG", "warn");
        c
    }

    fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ipfs-kit");
        let mut input = child.stdin.take().expect("stdin");
        let data = stdin.to_vec();
        // Fed from a thread so a command that stops reading early cannot deadlock the test.
        let feeder = std::thread::spawn(move || {
            let _ = input.write_all(&data);
        });
        let out = child.wait_with_output().expect("wait");
        let _ = feeder.join();
        out
    }

    /// Run, expect success, return stdout as bytes.
    fn ok_bytes(&self, args: &[&str], stdin: &[u8]) -> Vec<u8> {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "ipfs-kit {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert_no_panic(&out);
        out.stdout
    }

    /// Run, expect success, return stdout as text.
    fn ok(&self, args: &[&str]) -> String {
        self.ok_in(args, b"")
    }

    fn ok_in(&self, args: &[&str], stdin: &[u8]) -> String {
        String::from_utf8(self.ok_bytes(args, stdin)).expect("utf-8 stdout")
    }

    /// Run with `--json`, expect success, parse stdout as one JSON value.
    fn json(&self, args: &[&str]) -> Value {
        self.json_in(args, b"")
    }

    fn json_in(&self, args: &[&str], stdin: &[u8]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let out = self.ok_in(&a, stdin);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out}"))
    }

    /// Run, expect failure; return (stdout, stderr).
    fn fail(&self, args: &[&str], stdin: &[u8]) -> (Vec<u8>, String) {
        let out = self.run(args, stdin);
        assert!(
            !out.status.success(),
            "ipfs-kit {args:?} should fail but printed {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_no_panic(&out);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        // `get` announces where it saves (as Kubo does) before failing.
        let err: String = err
            .lines()
            .filter(|l| !l.starts_with("Saving file(s) to "))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(
            err.starts_with("Error: ") && err.lines().count() == 1,
            "{args:?}: not one error line: {err:?}"
        );
        (out.stdout, err)
    }

    /// Expect failure with an error naming `needle` (case-insensitive) and nothing on stdout.
    fn refuse(&self, args: &[&str], stdin: &[u8], needle: &str) -> String {
        let (out, err) = self.fail(args, stdin);
        assert!(
            err.to_lowercase().contains(&needle.to_lowercase()),
            "{args:?}: error {err:?} does not mention {needle:?}"
        );
        assert!(
            out.is_empty(),
            "{args:?}: printed {:?}",
            String::from_utf8_lossy(&out)
        );
        err
    }

    /// Expect failure with `--json`: the one error shape on stdout, with this code.
    fn refuse_json(&self, args: &[&str], stdin: &[u8], code: &str) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let out = self.run(&a, stdin);
        assert!(!out.status.success(), "{args:?} should fail");
        assert_no_panic(&out);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: error is not one JSON value ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        assert_eq!(v["status"], "error", "{v}");
        assert_eq!(v["error_code"], code, "{v}");
        assert!(v["error"].as_str().is_some_and(|s| !s.is_empty()), "{v}");
        assert!(v["context"].is_object(), "{v}");
        v
    }

    fn add_bytes(&self, data: &[u8], flags: &[&str]) -> String {
        let mut a = vec!["add", "-Q"];
        a.extend_from_slice(flags);
        self.ok_in(&a, data).trim().to_string()
    }

    fn write(&self, rel: &str, data: &[u8]) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, data).expect("write");
        p
    }

    /// Everything a failed command must leave alone: the bytes of the pack files holding the
    /// blocks (sorted; GC compaction may renumber a pack without changing what it holds), the
    /// pins, what `repo stat` counts, and the blocks the index lists.
    fn snapshot(&self) -> (Vec<Vec<u8>>, Value, u64, String) {
        let pins = self.json(&["pin", "ls"]);
        let objects = self.json(&["repo", "stat"])["num_objects"]
            .as_u64()
            .expect("num_objects");
        let local = self.ok(&["refs", "local"]);
        let mut packs: Vec<Vec<u8>> = self
            .block_files()
            .iter()
            .map(|p| std::fs::read(p).expect("read pack"))
            .collect();
        packs.sort();
        (packs, pins, objects, local)
    }

    /// The pack files the blocks are stored in.
    fn block_files(&self) -> Vec<PathBuf> {
        walk(&self.home.path().join("repo/blocks"))
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "pack"))
            .collect()
    }
}

fn assert_no_panic(out: &Output) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "ipfs-kit panicked: {err}");
    assert_ne!(out.status.code(), Some(101), "ipfs-kit panicked: {err}");
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.expect("dir entry").path();
            if std::fs::symlink_metadata(&p)
                .expect("stat")
                .file_type()
                .is_dir()
            {
                todo.push(p.clone());
            }
            out.push(p);
        }
    }
    out.sort();
    out
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_str().expect("string").to_string())
        .collect()
}

/// The planets directory of Kubo's t0040 test.
fn planets(k: &Kit) -> PathBuf {
    k.write("planets/mars.txt", b"Hello Mars!\n");
    k.write("planets/venus.txt", b"Hello Venus!\n");
    k.path("planets")
}

/// A deterministic byte stream (SplitMix64) for larger files.
fn pseudo_random(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed;
    let mut v = Vec::with_capacity(n + 8);
    while v.len() < n {
        s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        v.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    v.truncate(n);
    v
}

// ---------------------------------------------------------------------------------------------
// Happy paths
// ---------------------------------------------------------------------------------------------

#[test]
fn add_matches_kubo_cids_and_output() {
    let k = Kit::new();
    // stdin: Kubo names the entry by its CID.
    let hello = vector("hello-world-v0");
    assert_eq!(
        k.ok_in(&["add"], b"hello world"),
        format!("added {hello} {hello}\n")
    );
    assert_eq!(
        k.add_bytes(b"hello world", &["--cid-version", "1"]),
        vector("hello-world-cidv1")
    );
    assert_eq!(
        k.ok_in(&["add", "-q", "-"], b"Hello Jupiter!\n").trim(),
        vector("hello-jupiter-stdin-v0")
    );
    // A file argument, with --trickle and --raw-leaves.
    let hello_txt = k.write("hello.txt", b"Hello Worlds!\n");
    let h = hello_txt.to_str().expect("path");
    assert_eq!(
        k.ok(&["add", h]),
        format!("added {} hello.txt\n", vector("hello-worlds-newline-v0"))
    );
    assert_eq!(
        k.ok(&["add", "-Q", "--trickle", h]).trim(),
        vector("hello-worlds-newline-trickle")
    );
    assert_eq!(
        k.ok(&["add", "-Q", "--chunker=size-64", h]).trim(),
        vector("hello-worlds-newline-chunker-size-64")
    );
    let empty = k.write("empty", b"");
    assert_eq!(
        k.ok(&["add", "-Q", "--raw-leaves", empty.to_str().expect("path")])
            .trim(),
        vector("empty-file-raw-leaves")
    );

    // A tree, as Kubo prints it: files first, the root last, names relative to the argument's parent.
    let dir = planets(&k);
    let d = dir.to_str().expect("path");
    assert_eq!(
        lines(&k.ok(&["add", "-r", d])),
        vec![
            format!("added {} planets/mars.txt", vector("planets-mars-v0")),
            format!("added {} planets/venus.txt", vector("hello-venus-v0")),
            format!("added {} planets", vector("planets-dir-v0")),
        ]
    );
    assert_eq!(
        k.ok(&["add", "-r", "-Q", "--cid-version", "1", d]).trim(),
        vector("planets-dir-cidv1")
    );
    assert_eq!(
        k.ok(&["add", "-r", "-Q", "--raw-leaves", d]).trim(),
        vector("planets-dir-raw-leaves")
    );
    assert_eq!(
        k.ok(&[
            "add",
            "-r",
            "-Q",
            "--cid-version=1",
            "--raw-leaves=false",
            d
        ])
        .trim(),
        vector("planets-dir-cidv1-no-raw-leaves")
    );
    // -q: one CID per entry, root last.
    assert_eq!(
        lines(&k.ok(&["add", "-r", "-q", "--raw-leaves", d])),
        vec![
            vector("planets-mars-raw-leaves"),
            vector("planets-venus-raw-leaves"),
            vector("planets-dir-raw-leaves"),
        ]
    );
    // -w wraps the arguments in a directory; the wrapper is printed last with an empty name.
    let venus = k.write("venus.txt", b"Hello Venus!\n");
    let wrapped = k.ok(&["add", "-w", h, venus.to_str().expect("path")]);
    assert_eq!(
        lines(&wrapped).last().copied(),
        Some(format!("added {} ", vector("computed-wrap-two-files")).as_str())
    );
    // --json: the documented fields.
    let j = k.json_in(&["add"], b"hello world");
    assert_eq!(j["root"], hello);
    assert_eq!(j["pinned"], true);
    assert_eq!(j["entries"][0]["cid"], hello);
    assert_eq!(j["entries"][0]["bytes"], 11);
    assert_eq!(j["entries"][0]["size"], 19);
    // Pins: every root above, recursively.
    let recursive = k.ok(&["pin", "ls", "--type=recursive", "-q"]);
    for id in [
        "hello-world-v0",
        "hello-world-cidv1",
        "planets-dir-v0",
        "planets-dir-cidv1",
        "computed-wrap-two-files",
    ] {
        assert!(recursive.contains(&vector(id)), "{id} is not pinned");
    }
}

#[test]
fn add_only_hash_and_no_pin() {
    let k = Kit::new();
    k.write("moons/jupiter/europa.txt", b"Hello Europa!\n");
    k.write("moons/saturn/titan.txt", b"Hello Titan!\n");
    k.write("moons/mercury.txt", b"hey you are no moon!\n");
    let moons = k.path("moons");
    let before = k.snapshot();
    // -n computes Kubo's CID and stores nothing.
    assert_eq!(
        k.ok(&["add", "-r", "-Q", "-n", moons.to_str().expect("path")])
            .trim(),
        vector("moons-nested-dir-v0")
    );
    assert_eq!(
        k.add_bytes(b"hello world", &["--only-hash"]),
        vector("hello-world-v0")
    );
    assert_eq!(k.snapshot(), before, "-n stored or pinned something");
    assert!(k.block_files().is_empty());
    k.refuse(&["cat", &vector("hello-world-v0")], b"", "not found");

    // --pin=false stores the blocks but pins nothing; GC then removes them.
    let cid = k.add_bytes(b"hello world", &["--pin=false"]);
    assert_eq!(k.ok(&["cat", &cid]), "hello world");
    assert_eq!(k.json(&["pin", "ls"])["pins"], serde_json::json!([]));
    assert_eq!(k.json(&["repo", "stat"])["num_objects"], 1);
    let gc = k.json(&["repo", "gc"]);
    assert_eq!(gc["removed_count"], 1);
    assert_eq!(k.json(&["repo", "stat"])["num_objects"], 0);
}

#[test]
fn cat_get_ls() {
    let k = Kit::new();
    let data = pseudo_random(700_000, 7);
    let big = k.add_bytes(&data, &[]);
    // Whole, ranged, past the end.
    assert_eq!(k.ok_bytes(&["cat", &big], b""), data);
    assert_eq!(
        k.ok_bytes(&["cat", "--offset", "262140", "--length", "10", &big], b""),
        &data[262_140..262_150]
    );
    assert_eq!(
        k.ok_bytes(&["cat", "-o", "699990", &big], b""),
        &data[699_990..]
    );
    assert_eq!(
        k.ok_bytes(&["cat", "-o", "800000", &big], b""),
        Vec::<u8>::new()
    );
    assert_eq!(k.ok_bytes(&["cat", "-l", "0", &big], b""), Vec::<u8>::new());

    // A tree with a subdirectory, an empty file and a larger file.
    k.write("tree/a.txt", b"alpha\n");
    k.write("tree/sub/b.bin", &data[..300_000]);
    k.write("tree/sub/empty", b"");
    std::fs::create_dir_all(k.path("tree/emptydir")).expect("mkdir");
    let root = k.ok(&["add", "-r", "-Q", k.path("tree").to_str().expect("path")]);
    let root = root.trim();
    // cat by path inside the tree.
    assert_eq!(k.ok(&["cat", &format!("/ipfs/{root}/a.txt")]), "alpha\n");
    assert_eq!(
        k.ok_bytes(&["cat", &format!("{root}/sub/b.bin")], b""),
        &data[..300_000]
    );

    // ls: Kubo's columns (CID, size, name; directories end in `/`).
    let ls = k.ok(&["ls", root]);
    let ls = lines(&ls);
    assert_eq!(ls.len(), 3, "{ls:?}");
    assert!(ls[0].ends_with(" 6 a.txt"), "{ls:?}");
    assert!(ls[1].ends_with(" - emptydir/"), "{ls:?}");
    assert!(ls[2].ends_with(" - sub/"), "{ls:?}");
    let j = k.json(&["ls", &format!("{root}/sub")]);
    let entries = j["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["name"], "b.bin");
    assert_eq!(entries[0]["size"], 300_000);
    assert_eq!(entries[0]["type"], "file");
    assert!(
        entries[0]["cid"]
            .as_str()
            .is_some_and(|c| c.starts_with("Qm"))
    );
    assert_eq!(entries[1]["name"], "empty");

    // get -o: a file and the tree, byte for byte.
    let out_file = k.path("out/big.bin");
    let g = k.json(&["get", &big, "-o", out_file.to_str().expect("path")]);
    assert_eq!(g["bytes"], 700_000);
    assert_eq!(g["files"], 1);
    assert_eq!(std::fs::read(&out_file).expect("read"), data);
    let out_tree = k.path("out/tree");
    k.ok(&["get", root, "-o", out_tree.to_str().expect("path")]);
    assert_eq!(
        std::fs::read(out_tree.join("a.txt")).expect("a"),
        b"alpha\n"
    );
    assert_eq!(
        std::fs::read(out_tree.join("sub/b.bin")).expect("b"),
        &data[..300_000]
    );
    assert_eq!(
        std::fs::read(out_tree.join("sub/empty")).expect("empty"),
        b""
    );
    assert!(out_tree.join("emptydir").is_dir());
    // Writing over an existing path is refused and leaves it alone.
    k.refuse(
        &[
            "get",
            &big,
            "-o",
            out_tree.join("a.txt").to_str().expect("path"),
        ],
        b"",
        "exists",
    );
    assert_eq!(
        std::fs::read(out_tree.join("a.txt")).expect("a"),
        b"alpha\n"
    );
}

#[test]
fn pins_gc_and_stat() {
    let k = Kit::new();
    let stat = |k: &Kit| {
        let s = k.json(&["repo", "stat"]);
        (
            s["num_objects"].as_u64().expect("n"),
            s["repo_size"].as_u64().expect("size"),
        )
    };
    let (n0, _) = stat(&k);
    assert_eq!(n0, 0);
    let s = k.json(&["repo", "stat"]);
    assert_eq!(
        s["storage_max"], 10_000_000_000u64,
        "Kubo's default StorageMax"
    );
    assert!(s["version"].as_str().is_some_and(|v| !v.is_empty()));
    assert_eq!(
        Path::new(s["repo_path"].as_str().expect("repo_path")),
        k.home.path().join("repo")
    );
    let text = k.ok(&["repo", "stat"]);
    assert!(text.starts_with("NumObjects: 0\nRepoSize:"), "{text}");
    let dir = planets(&k);
    let root = vector("planets-dir-v0");
    let mars = vector("planets-mars-v0");
    let venus = vector("hello-venus-v0");
    k.ok(&["add", "-r", "-Q", dir.to_str().expect("path")]);
    let (n1, s1) = stat(&k);
    assert_eq!(n1, 3);
    // 300 KB unpinned: 2 leaves + 1 root more, and the size grows by at least the data.
    let loose_data = pseudo_random(300_000, 1);
    let loose = k.add_bytes(&loose_data, &["--pin=false"]);
    let (n2, s2) = stat(&k);
    assert_eq!(n2, n1 + 3);
    assert!(s2 > s1, "{s1} -> {s2}");

    // pin ls: text and JSON, types, and how one CID is pinned.
    assert_eq!(
        lines(&k.ok(&["pin", "ls"])),
        vec![
            format!("{root} recursive"),
            format!("{mars} indirect"),
            format!("{venus} indirect"),
        ]
    );
    assert_eq!(
        k.ok(&["pin", "ls", &mars]).trim(),
        format!("{mars} indirect through {root}")
    );
    let j = k.json(&["pin", "ls", "--type", "recursive"]);
    assert_eq!(j["pins"][0]["cid"], root.as_str());
    assert_eq!(j["pins"][0]["type"], "recursive");
    assert_eq!(j["truncated"], false);
    k.refuse(&["pin", "ls", &loose], b"", "not pinned");

    // GC removes the unpinned file and keeps the pinned tree.
    let gc = k.json(&["repo", "gc"]);
    assert_eq!(gc["removed_count"], 3);
    assert_eq!(gc["kept"], 3);
    assert!(gc["bytes_freed"].as_u64().expect("freed") >= 300_000);
    let (n3, s3) = stat(&k);
    assert_eq!(n3, 3);
    assert!(s3 < s2);
    k.refuse(&["cat", &loose], b"", "not found");
    assert_eq!(k.ok(&["cat", &format!("{root}/mars.txt")]), "Hello Mars!\n");
    assert_eq!(k.ok(&["repo", "gc"]), "", "a second GC removes nothing");

    // Direct pin of a child, pin rm of the root: GC keeps just the child.
    assert_eq!(
        k.ok(&["pin", "add", "--recursive=false", &mars]).trim(),
        format!("pinned {mars} directly")
    );
    // An indirectly pinned CID cannot be unpinned on its own.
    k.refuse(&["pin", "rm", &venus], b"", "not pinned");
    assert_eq!(
        k.ok(&["pin", "rm", &root]).trim(),
        format!("unpinned {root}")
    );
    k.refuse(&["pin", "rm", &root], b"", "not pinned");
    let removed = k.ok(&["repo", "gc", "-q"]);
    assert_eq!(removed.lines().count(), 2, "{removed}");
    assert_eq!(k.ok(&["cat", &mars]), "Hello Mars!\n");
    k.refuse(&["cat", &venus], b"", "not found");
    assert_eq!(
        k.ok(&["pin", "rm", "--recursive=false", &mars]).trim(),
        format!("unpinned {mars}")
    );

    // pin update moves a recursive pin to a new root.
    let old = k.add_bytes(b"version 1", &[]);
    let new = k.add_bytes(b"version 2", &["--pin=false"]);
    assert_eq!(
        k.ok(&["pin", "update", &old, &new]).trim(),
        format!("updated {old} to {new}")
    );
    assert_eq!(
        k.ok(&["pin", "ls", "-q", "--type=recursive"]).trim(),
        new.as_str()
    );
    // --unpin=false keeps both.
    let j = k.json(&["pin", "add", &old]);
    assert_eq!(j["pins"], serde_json::json!([old]));
    let third = k.add_bytes(b"version 3", &["--pin=false"]);
    let j = k.json(&["pin", "update", "--unpin=false", &new, &third]);
    assert_eq!(j["pins"], serde_json::json!([new, third]));
    assert_eq!(
        k.ok(&["pin", "ls", "-q", "--type=recursive"])
            .lines()
            .count(),
        3
    );

    // pin verify: fine pins, verbose and JSON.
    assert_eq!(k.ok(&["pin", "verify"]), "");
    assert_eq!(k.ok(&["pin", "verify", "--verbose"]).lines().count(), 3);
    let v = k.json(&["pin", "verify", "--verbose"]);
    assert_eq!(v["ok"], true);
    assert_eq!(v["pins"].as_array().expect("pins").len(), 3);
    assert_eq!(v["pins"][0]["bad_nodes"], serde_json::json!([]));
    let v = k.json(&["repo", "verify"]);
    assert_eq!(v["ok"], true);
    // Three versions plus the unpinned (not yet collected) mars.txt.
    assert_eq!(v["checked"], 4);
    assert!(
        k.ok(&["repo", "verify"])
            .starts_with("verified repo integrity (4 blocks)")
    );
}

#[test]
fn block_round_trip() {
    let k = Kit::new();
    let data = b"some raw bytes";
    let cid = k.ok_in(&["block", "put"], data).trim().to_string();
    assert!(cid.starts_with("bafkrei"), "{cid}");
    assert_eq!(
        k.ok_bytes(&["block", "get", &cid], b""),
        data,
        "block get returns the bytes"
    );
    assert_eq!(
        k.ok(&["block", "stat", &cid]),
        format!("Key: {cid}\nSize: 14\n")
    );
    let st = k.json(&["block", "stat", &cid]);
    assert_eq!(st["cid"], cid.as_str());
    assert_eq!(st["size"], 14);
    // The same bytes through `add --raw-leaves --cid-version 1` give the same CID (one raw leaf).
    assert_eq!(k.add_bytes(data, &["-n", "--cid-version", "1"]), cid);
    // From a file, with another hash and codec.
    let f = k.write("node.json", br#"{"a":1}"#);
    let j = k.json(&[
        "block",
        "put",
        "--cid-codec",
        "dag-json",
        "--mhtype",
        "blake3",
        f.to_str().expect("path"),
    ]);
    let jc = j["cid"].as_str().expect("cid").to_string();
    assert!(jc.starts_with("baguqehra"), "dag-json + blake3: {jc}");
    assert_eq!(j["size"], 7);
    assert_eq!(
        k.ok_bytes(&["block", "get", &jc], b""),
        br#"{"a":1}"#.to_vec()
    );
    // --pin pins directly; a pinned block cannot be removed.
    let pinned = k
        .ok_in(&["block", "put", "--pin"], b"keep me")
        .trim()
        .to_string();
    assert_eq!(
        k.ok(&["pin", "ls", &pinned]).trim(),
        format!("{pinned} direct")
    );
    k.refuse(&["block", "rm", &pinned], b"", "pinned");
    assert_eq!(k.ok(&["block", "get", &pinned]), "keep me");
    // rm, then rm again (error), then rm -f (quiet success).
    assert_eq!(
        k.ok(&["block", "rm", &cid]).trim(),
        format!("removed {cid}")
    );
    k.refuse(&["block", "get", &cid], b"", "not found");
    k.refuse(&["block", "rm", &cid], b"", "not found");
    assert_eq!(k.ok(&["block", "rm", "-f", &cid]), "");
    let j = k.json(&["block", "rm", &jc]);
    assert_eq!(j["removed"], serde_json::json!([jc]));
}

#[test]
fn dag_put_get_export_import() {
    let fx = Kit::new();
    // dag-json in, dag-cbor stored: CIDs from the IPLD cross-codec fixtures (ipld/ipld
    // specs/codecs/dag-cbor/fixtures/cross-codec: "array-3,4,5,6" and a single CID link).
    assert_eq!(
        fx.ok_in(&["dag", "put"], b"[3,4,5,6]").trim(),
        "bafyreid7y3kwce6omkwi4ziyisf5v2niknzjwab2ofigddwm3bq4xlnovy"
    );
    assert_eq!(
        fx.ok_in(
            &["dag", "put"],
            br#"{"/":"QmQg1v4o9xdT3Q14wh4S7dxZkDjyZ9ssFzFzyep1YrVJBY"}"#
        )
        .trim(),
        "bafyreidsrf4agofvag5iiksjc7jjehhdcjqggra7cxe3m2movopc7pomr4"
    );
    let k = Kit::new();
    // A node linking to a UnixFS tree; paths through maps, lists and into dag-pb.
    let dir = planets(&k);
    let tree = k.ok(&["add", "-r", "-Q", dir.to_str().expect("path")]);
    let tree = tree.trim();
    let doc = format!(r#"{{"name":"planets","meta":{{"n":[1,2,{{"/":"{tree}"}}]}}}}"#);
    let node = k
        .ok_in(&["dag", "put", "--pin"], doc.as_bytes())
        .trim()
        .to_string();
    assert!(node.starts_with("bafyrei"), "{node}");
    let j = k.json_in(&["dag", "put"], doc.as_bytes());
    assert_eq!(j["cid"], node.as_str());
    let whole: Value = serde_json::from_str(&k.ok(&["dag", "get", &node])).expect("json");
    assert_eq!(whole["name"], "planets");
    assert_eq!(whole["meta"]["n"][2]["/"], tree);
    assert_eq!(
        k.ok(&["dag", "get", &format!("{node}/meta/n/1")]).trim(),
        "2"
    );
    let j = k.json(&["dag", "get", &format!("{node}/meta/n")]);
    assert_eq!(j["cid"], node.as_str());
    assert_eq!(j["codec"], "dag-cbor");
    assert_eq!(j["value"][0], 1);
    // Through the link into the dag-pb directory.
    let pb: Value =
        serde_json::from_str(&k.ok(&["dag", "get", &format!("{node}/meta/n/2")])).expect("json");
    assert_eq!(pb["Links"][0]["Name"], "mars.txt");
    assert_eq!(pb["Links"][0]["Hash"]["/"], vector("planets-mars-v0"));
    // --pin pinned the node recursively: the tree stays pinned through it.
    k.ok(&["pin", "rm", tree]);
    assert_eq!(
        k.ok(&["pin", "ls", tree]).trim(),
        format!("{tree} indirect through {node}")
    );

    // Export to a CAR, import into a fresh home: same roots, same blocks, cat works there.
    let car = k.path("planets.car");
    let bytes = k.ok_bytes(&["dag", "export", &node], b"");
    std::fs::write(&car, &bytes).expect("write car");
    let other = Kit::new();
    let imported = other.ok(&["dag", "import", car.to_str().expect("path")]);
    assert_eq!(imported, format!("Pinned root\t{node}\tsuccess\n"));
    let mut here = strs(&k.json(&["refs", "local"])["refs"]);
    let mut there = strs(&other.json(&["refs", "local"])["refs"]);
    here.sort();
    there.sort();
    assert_eq!(here, there);
    assert_eq!(
        other.ok(&["cat", &format!("{tree}/venus.txt")]),
        "Hello Venus!\n"
    );
    assert_eq!(
        other.ok(&["dag", "get", &format!("{node}/name")]).trim(),
        "\"planets\""
    );
    assert_eq!(
        other.ok(&["pin", "ls", "--type=recursive"]).trim(),
        format!("{node} recursive")
    );
    assert!(other.json(&["pin", "verify"])["ok"] == true);
    // From standard input, without pinning, as JSON; importing twice is harmless.
    let third = Kit::new();
    let j = third.json_in(&["dag", "import", "--pin-roots=false"], &bytes);
    assert_eq!(j["blocks"], 4);
    assert_eq!(j["roots"][0]["cid"], node.as_str());
    assert_eq!(j["roots"][0]["pinned"], false);
    assert_eq!(third.json(&["pin", "ls"])["pins"], serde_json::json!([]));
    other.ok(&["dag", "import", car.to_str().expect("path")]);
    assert_eq!(other.json(&["repo", "stat"])["num_objects"], 4);
}

#[test]
fn refs_listing() {
    let k = Kit::new();
    k.write("t/x/one", b"1\n");
    k.write("t/x/two", b"2\n");
    k.write("t/y/one", b"1\n");
    let root = k.ok(&["add", "-r", "-Q", k.path("t").to_str().expect("path")]);
    let root = root.trim();
    let one = k.add_bytes(b"1\n", &[]);
    let two = k.add_bytes(b"2\n", &[]);
    let x = k.ok(&["add", "-r", "-Q", k.path("t/x").to_str().expect("path")]);
    let y = k.ok(&["add", "-r", "-Q", k.path("t/y").to_str().expect("path")]);
    let (x, y) = (x.trim(), y.trim());
    // Direct children only, then depth-first pre-order with the duplicate `one`, then unique.
    assert_eq!(lines(&k.ok(&["refs", root])), vec![x, y]);
    assert_eq!(
        lines(&k.ok(&["refs", "-r", root])),
        vec![x, &one, &two, y, &one]
    );
    assert_eq!(
        lines(&k.ok(&["refs", "-r", "--unique", root])),
        vec![x, &one, &two, y]
    );
    assert_eq!(
        lines(&k.ok(&["refs", "--max-depth", "1", root])),
        vec![x, y]
    );
    let j = k.json(&["refs", "-r", "-u", root]);
    assert_eq!(strs(&j["refs"]).len(), 4);
    assert_eq!(j["truncated"], false);
    // refs local: every stored block once, as CIDv1 raw like Kubo (same multihashes).
    let local = k.ok(&["refs", "local"]);
    assert_eq!(local.lines().count(), 5, "{local}");
    assert!(local.lines().all(|l| l.starts_with("bafkrei")), "{local}");
    let j = k.json(&["refs", "local"]);
    assert_eq!(strs(&j["refs"]).len(), 5);
}

#[test]
fn tool_list_and_call() {
    let k = Kit::new();
    let tools = k.json(&["tool", "list"]);
    let tools = tools.as_array().expect("array");
    let add = tools
        .iter()
        .find(|t| t["name"] == "ipfs_add")
        .expect("ipfs_add listed");
    for field in [
        "title",
        "description",
        "toolset",
        "read_only",
        "destructive",
        "idempotent",
        "input_schema",
        "output_schema",
    ] {
        assert!(!add[field].is_null(), "ipfs_add has no {field}");
    }
    assert!(add["input_schema"]["properties"]["content"].is_object());
    assert!(
        tools
            .iter()
            .all(|t| t["name"].as_str().is_some_and(|n| n.len() <= 40)),
        "tool names"
    );
    let read_only = k.json(&["tool", "list", "--read-only"]);
    let read_only = read_only.as_array().expect("array");
    assert!(!read_only.is_empty() && read_only.len() < tools.len());
    assert!(read_only.iter().all(|t| t["read_only"] == true));
    assert!(
        k.ok(&["tool", "list"])
            .lines()
            .any(|l| l.starts_with("ipfs_cat "))
    );
    k.refuse(&["tool", "list", "--toolsets", "nope"], b"", "nope");

    // ipfs_add with inline content, then read it back through ipfs_cat and the CLI.
    let out: Value =
        serde_json::from_str(&k.ok(&["tool", "call", "ipfs_add", r#"{"content":"hi"}"#]))
            .expect("json");
    let cid = out["root"].as_str().expect("root").to_string();
    assert_eq!(cid, k.add_bytes(b"hi", &["-n"]), "the same CID as `add`");
    assert_eq!(out["pinned"], true);
    assert_eq!(k.ok(&["cat", &cid]), "hi");
    let input = format!(r#"{{"path":"{cid}","encoding":"base64"}}"#);
    let cat: Value =
        serde_json::from_str(&k.ok(&["tool", "call", "ipfs_cat", &input])).expect("json");
    assert_eq!(cat["content"], "aGk=");
    assert_eq!(cat["file_size"], 2);
    assert_eq!(cat["truncated"], false);
    // Input from standard input.
    let stat: Value =
        serde_json::from_str(&k.ok_in(&["tool", "call", "ipfs_repo_stat", "-"], b"{}"))
            .expect("json");
    assert_eq!(stat["num_objects"], 1);
    // Errors: unknown tool, bad JSON, unknown field; as the JSON shape with --json.
    k.refuse(&["tool", "call", "nope", "{}"], b"", "unknown tool");
    k.refuse(&["tool", "call", "ipfs_add", "{not json"], b"", "not JSON");
    k.refuse(
        &["tool", "call", "ipfs_cat", r#"{"path":"x","bogus":1}"#],
        b"",
        "bogus",
    );
    let e = k.refuse_json(&["tool", "call", "nope", "{}"], b"", "NOT_FOUND");
    assert_eq!(e["context"]["tool"], "nope");
}

// ---------------------------------------------------------------------------------------------
// Bad input: a clear error, a non-zero exit, nothing changed.
// ---------------------------------------------------------------------------------------------

/// A kit with some content: a pinned tree, a pinned file, an unpinned file.
fn populated() -> (Kit, String) {
    let k = Kit::new();
    let dir = planets(&k);
    let root = k
        .ok(&["add", "-r", "-Q", dir.to_str().expect("path")])
        .trim()
        .to_string();
    k.add_bytes(b"hello world", &[]);
    k.add_bytes(b"loose", &["--pin=false"]);
    (k, root)
}

#[test]
fn malformed_cids_change_nothing() {
    let (k, _) = populated();
    let before = k.snapshot();
    let bad = [
        "QmNotACid",
        "bafyfoo",
        "zzz",
        "",
        "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyf",
        "/ipfs/",
        "/ipns/example.com",
    ];
    for cid in bad {
        for args in [
            vec!["cat", cid],
            vec!["get", cid, "-o"],
            vec!["ls", cid],
            vec!["pin", "add", cid],
            vec!["pin", "rm", cid],
            vec!["pin", "ls", cid],
            vec!["block", "get", cid],
            vec!["block", "stat", cid],
            vec!["block", "rm", cid],
            vec!["dag", "get", cid],
            vec!["dag", "export", cid],
            vec!["refs", cid],
        ] {
            let mut args = args;
            let out = k.path("never-written");
            let out = out.to_str().expect("path");
            if args[0] == "get" {
                args.push(out);
            }
            let (stdout, err) = k.fail(&args, b"");
            assert!(stdout.is_empty(), "{args:?} printed output");
            assert!(
                ["invalid", "cid", "path", "not found", "unsupported"]
                    .iter()
                    .any(|w| err.to_lowercase().contains(w)),
                "{args:?}: unclear error {err:?}"
            );
        }
    }
    let e = k.refuse_json(&["cat", "QmNotACid"], b"", "INVALID_CID");
    assert!(e["error"].as_str().expect("error").contains("QmNotACid"));
    k.refuse_json(&["block", "stat", "bafyfoo"], b"", "INVALID_CID");
    // Well-formed but absent.
    let absent = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
    k.refuse(&["cat", absent], b"", "not found");
    k.refuse(&["pin", "add", absent], b"", absent);
    k.refuse_json(&["block", "get", absent], b"", "NOT_FOUND");
    assert!(!k.path("never-written").exists());
    assert_eq!(k.snapshot(), before);
}

#[test]
fn bad_options_change_nothing() {
    let (k, root) = populated();
    let before = k.snapshot();
    let f = k.write("f.txt", b"some content that is never stored\n");
    let f = f.to_str().expect("path");
    k.refuse(&["add", "--chunker=bogus-12", f], b"", "bogus-12");
    k.refuse(&["add", "--chunker=size-0", f], b"", "chunker");
    k.refuse(&["add", "--chunker=rabin-1-2", f], b"", "rabin");
    k.refuse(&["add", "--hash=bogus", f], b"", "bogus");
    k.refuse(&["add", "--hash", "md5", f], b"", "md5");
    k.refuse(&["add", "--cid-version=7", f], b"", "7");
    k.refuse(&["add", "--cid-base=base2000", f], b"", "base2000");
    k.refuse(&["add", "--profile=nope", f], b"", "nope");
    k.refuse(&["add", "--chunker=bogus"], b"from stdin", "bogus");
    k.refuse(&["block", "put", "--cid-codec", "nope"], b"x", "nope");
    k.refuse(&["block", "put", "--mhtype", "md5"], b"x", "md5");
    k.refuse(&["dag", "put", "--store-codec", "foo"], b"[1]", "foo");
    k.refuse(&["dag", "put", "--input-codec", "foo"], b"[1]", "foo");
    k.refuse(&["dag", "put", "--hash", "nope"], b"[1]", "nope");
    k.refuse(&["dag", "put"], b"{bad", "dag-json");
    k.refuse(&["dag", "get", "--output-codec", "xml", &root], b"", "xml");
    // cat of a directory, as Kubo words it.
    k.refuse(&["cat", &root], b"", "this dag node is a directory");
    // add of a directory without -r names the path and the flag.
    let dir = k.path("planets");
    let err = k.refuse(&["add", dir.to_str().expect("path")], b"", "is a directory");
    assert!(err.contains("-r"), "{err}");
    // A missing file names the path.
    let missing = k.path("does-not-exist");
    k.refuse(
        &["add", missing.to_str().expect("path")],
        b"",
        "does-not-exist",
    );
    k.refuse(
        &["dag", "import", missing.to_str().expect("path")],
        b"",
        "does-not-exist",
    );
    // Block put of bytes that are not what the codec claims.
    k.refuse(
        &["block", "put", "--cid-codec", "dag-pb"],
        b"not dag-pb at all",
        "dag-pb",
    );
    k.refuse(
        &["block", "put", "--cid-codec", "dag-cbor"],
        b"\xff\xff",
        "dag-cbor",
    );
    k.refuse(
        &["block", "put", "--cid-codec", "dag-json"],
        b"{\"a\":",
        "dag-json",
    );
    // Over Kubo's 1 MiB block limit.
    k.refuse(&["block", "put"], &vec![7u8; 1024 * 1024 + 1], "limit");
    // Unknown pin type, pin update from something not pinned.
    k.refuse(&["pin", "ls", "--type", "sideways"], b"", "sideways");
    let hello = vector("hello-world-v0");
    k.refuse(
        &["pin", "update", &vector("hello-venus-v0"), &hello],
        b"",
        "not pinned",
    );
    assert_eq!(k.snapshot(), before);
}

/// A CAR of the planets tree from one home, for the CAR tests.
fn planets_car(k: &Kit, root: &str) -> Vec<u8> {
    k.ok_bytes(&["dag", "export", root], b"")
}

/// Offsets of the block sections of a CARv1: (start of section, start of data, end).
fn car_sections(car: &[u8]) -> Vec<(usize, usize, usize)> {
    fn varint(b: &[u8], mut i: usize) -> (usize, usize) {
        let (mut v, mut shift) = (0usize, 0);
        loop {
            let byte = b[i];
            v |= ((byte & 0x7f) as usize) << shift;
            i += 1;
            if byte & 0x80 == 0 {
                return (v, i);
            }
            shift += 7;
        }
    }
    let (hlen, mut i) = varint(car, 0);
    i += hlen;
    let mut out = Vec::new();
    while i < car.len() {
        let (len, body) = varint(car, i);
        // CIDv0 (34-byte multihash) or CIDv1: version, codec, multihash code, length, digest.
        let cid_len = if car[body] == 0x12 {
            34
        } else {
            let (_, j) = varint(car, body);
            let (_, j) = varint(car, j);
            let (_, j) = varint(car, j);
            let (dl, j) = varint(car, j);
            j + dl - body
        };
        out.push((i, body + cid_len, body + len));
        i = body + len;
    }
    out
}

#[test]
fn bad_cars_change_nothing() {
    let (src, root) = populated();
    let car = planets_car(&src, &root);
    let sections = car_sections(&car);
    assert_eq!(sections.len(), 3, "root + 2 files");
    assert_eq!(sections.last().expect("last").2, car.len());

    let k = Kit::new();
    k.add_bytes(b"already here", &[]);
    let before = k.snapshot();
    let import = |name: &str, bytes: &[u8], needle: &str| {
        let p = k.write(name, bytes);
        k.refuse(&["dag", "import", p.to_str().expect("path")], b"", needle);
        // The same through standard input.
        k.refuse(&["dag", "import"], bytes, needle);
    };
    // Truncated inside the header, and inside the first block.
    import("h.car", &car[..10], "truncated");
    import("b.car", &car[..sections[0].1 + 3], "truncated");
    // Not a CAR at all; an empty file; a header claiming version 3.
    import("text.car", b"hello this is not a car\n", "CAR");
    import("empty.car", b"", "CAR");
    let mut v3 = car.clone();
    let pos = v3
        .windows(8)
        .position(|w| w == b"version\x01")
        .expect("version field");
    v3[pos + 7] = 3;
    import("v3.car", &v3, "version");
    // A corrupted first block: one flipped bit in its data.
    let mut bad = car.clone();
    bad[sections[0].1 + 2] ^= 0x01;
    import("bad.car", &bad, "corrupted");
    assert_eq!(k.snapshot(), before, "a refused CAR changed the repo");

    // A corrupted last block: the verified blocks before it may stay (unpinned, as with Kubo),
    // but nothing is pinned, the bad block is not stored, and GC brings the repo back.
    let mut bad = car.clone();
    let (_, data, end) = sections[2];
    bad[(data + end) / 2] ^= 0x40;
    import("late.car", &bad, "corrupted");
    assert_eq!(k.snapshot().1, before.1, "pins changed");
    assert!(k.json(&["repo", "verify"])["ok"] == true);
    k.refuse(&["cat", &vector("hello-venus-v0")], b"", "not found");
    k.ok(&["repo", "gc"]);
    assert_eq!(k.snapshot(), before);
    // The intact CAR still imports.
    let good = k.write("good.car", &car);
    k.ok(&["dag", "import", good.to_str().expect("path")]);
    assert_eq!(
        k.ok(&["cat", &format!("{root}/venus.txt")]),
        "Hello Venus!\n"
    );
}

/// Flip one byte in the stored block that contains `needle`, in place in its pack file. Returns
/// the pack file and the tampered bytes around the needle.
fn corrupt_block_containing(k: &Kit, needle: &[u8]) -> (PathBuf, Vec<u8>) {
    let file = k
        .block_files()
        .into_iter()
        .find(|p| {
            std::fs::read(p)
                .expect("read")
                .windows(needle.len())
                .any(|w| w == needle)
        })
        .expect("block holding the needle");
    let mut bytes = std::fs::read(&file).expect("read");
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("needle")
        + needle.len() / 2;
    bytes[at] ^= 0x20;
    std::fs::write(&file, &bytes).expect("write");
    let from = at.saturating_sub(needle.len());
    let to = (at + needle.len()).min(bytes.len());
    (file, bytes[from..to].to_vec())
}

#[test]
fn corrupted_block_on_disk_is_reported_never_served() {
    let k = Kit::new();
    let secret = b"TOP-SECRET-PAYLOAD-0123456789";
    let cid = k.add_bytes(secret, &[]);
    let fine = k.add_bytes(b"an intact file", &[]);
    let (file, tampered_block) = corrupt_block_containing(&k, b"SECRET-PAYLOAD");
    let tampered = std::fs::read(&file).expect("read");
    let leaked = |out: &[u8]| {
        out.windows(10).any(|w| {
            secret.windows(10).any(|s| s == w) || tampered_block.windows(10).any(|t| t == w)
        })
    };
    for args in [
        vec!["cat", cid.as_str()],
        vec!["block", "get", cid.as_str()],
        vec!["dag", "get", cid.as_str()],
        vec!["dag", "export", cid.as_str()],
        vec!["--json", "tool", "call", "ipfs_cat"],
    ] {
        let mut args = args;
        let input = format!(r#"{{"path":"{cid}"}}"#);
        if args.contains(&"tool") {
            args.push(&input);
        }
        let out = k.run(&args, b"");
        assert!(!out.status.success(), "{args:?} served a corrupted block");
        assert_no_panic(&out);
        assert!(!leaked(&out.stdout), "{args:?} printed the bad bytes");
        let err = String::from_utf8_lossy(&out.stderr);
        let all = format!("{err}{}", String::from_utf8_lossy(&out.stdout));
        assert!(all.contains("corrupted"), "{args:?}: {all}");
        assert!(
            all.contains(&cid),
            "{args:?} does not name the block: {all}"
        );
    }
    let out_dir = k.path("got");
    k.refuse(
        &["get", &cid, "-o", out_dir.to_str().expect("path")],
        b"",
        "corrupted",
    );
    assert!(!out_dir.exists(), "get left a file behind");
    // pin verify: the broken pin, its bad node, a non-zero exit; the intact pin is fine.
    let out = k.run(&["pin", "verify"], b"");
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("{cid} broken")), "{text}");
    assert!(text.contains("corrupted"), "{text}");
    assert!(!text.contains(&fine), "{text}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken"));
    let out = k.run(&["--json", "pin", "verify"], b"");
    assert!(!out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON value");
    assert_eq!(v["error_code"], "CORRUPTED");
    let pins = v["context"]["pins"].as_array().expect("pins in context");
    assert_eq!(pins.len(), 1);
    assert_eq!(pins[0]["cid"], cid.as_str());
    assert_eq!(pins[0]["ok"], false);
    // repo verify: names the block (as CIDv1 raw) and fails.
    let out = k.run(&["repo", "verify"], b"");
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("corrupted"), "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(!leaked(&out.stdout));
    let out = k.run(&["--json", "repo", "verify"], b"");
    assert!(!out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON value");
    assert_eq!(v["error_code"], "CORRUPTED");
    assert_eq!(v["context"]["checked"], 2);
    assert_eq!(
        v["context"]["corrupted"]
            .as_array()
            .expect("corrupted")
            .len(),
        1
    );
    // The intact file is still served; nothing was repaired or removed behind our back.
    assert_eq!(k.ok(&["cat", &fine]), "an intact file");
    assert_eq!(std::fs::read(&file).expect("read"), tampered);
}

#[test]
fn corrupted_middle_leaf_stops_cat_before_it() {
    let k = Kit::new();
    let mut data = vec![b'A'; 262_144];
    data.extend(vec![b'B'; 262_144]);
    data.extend(vec![b'C'; 1000]);
    let cid = k.add_bytes(&data, &[]);
    corrupt_block_containing(&k, &[b'B'; 64]);
    // cat streams the intact first chunk, then stops with the error: no B, no C, ever.
    let out = k.run(&["cat", &cid], b"");
    assert!(!out.status.success());
    assert_no_panic(&out);
    assert_eq!(out.stdout, &data[..262_144]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("corrupted"));
    let out = k.run(&["cat", "--offset", "300000", &cid], b"");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    // The last chunk alone is still fine.
    assert_eq!(
        k.ok_bytes(&["cat", "--offset", "524288", &cid], b""),
        &data[524_288..]
    );
    // get writes under a temporary name: no partial file is left under the final one.
    let dest = k.path("abc.bin");
    k.refuse(
        &["get", &cid, "-o", dest.to_str().expect("path")],
        b"",
        "corrupted",
    );
    assert_eq!(
        std::fs::read_dir(k.scratch.path()).expect("read").count(),
        0
    );
}

#[test]
fn pin_of_incomplete_dag_names_the_missing_block() {
    let k = Kit::new();
    let present = k.add_bytes(b"here\n", &["--pin=false"]);
    let absent = k.add_bytes(b"never stored\n", &["-n"]);
    let dir = put_dir(&k, &[("a", &present, 13), ("b", &absent, 21)]);
    let before = k.snapshot();
    let err = k.refuse(&["pin", "add", &dir], b"", &absent);
    assert!(err.contains(&dir) || err.contains("missing"), "{err}");
    let e = k.refuse_json(&["pin", "add", &dir], b"", "NOT_FOUND");
    assert_eq!(e["context"]["missing"], absent.as_str());
    assert_eq!(k.snapshot(), before);
    // Direct pins need only the block itself.
    k.ok(&["pin", "add", "--recursive=false", &dir]);
    // refs -r stops at the hole with an error naming it.
    k.refuse(&["refs", "-r", &dir], b"", &absent);
    k.refuse(&["cat", &format!("{dir}/b")], b"", "not found");
    assert_eq!(k.ok(&["cat", &format!("{dir}/a")]), "here\n");
}

/// A dag-pb UnixFS directory with these (name, CID, tsize) links, stored with `block put`.
fn put_dir(k: &Kit, links: &[(&str, &str, u64)]) -> String {
    let node = PbNode {
        links: links
            .iter()
            .map(|(name, cid, size)| {
                PbLink::new(ipfs_kit_content::parse_cid(cid).expect("cid"), *name, *size)
            })
            .collect(),
        data: Some(UnixfsData::new(DataType::Directory).encode().into()),
    };
    k.ok_in(&["block", "put", "--cid-codec", "dag-pb"], &node.encode())
        .trim()
        .to_string()
}

/// A UnixFS symlink node stored with `block put`.
fn put_symlink(k: &Kit, target: &str) -> String {
    let mut data = UnixfsData::new(DataType::Symlink);
    data.data = Some(target.as_bytes().to_vec().into());
    let node = PbNode {
        links: Vec::new(),
        data: Some(data.encode().into()),
    };
    k.ok_in(&["block", "put", "--cid-codec", "dag-pb"], &node.encode())
        .trim()
        .to_string()
}

#[test]
fn get_refuses_escaping_names() {
    let k = Kit::new();
    let file = k.add_bytes(b"payload that must stay inside\n", &[]);
    let ok_sub = put_dir(&k, &[("inner", &file, 40)]);
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("dotdot", vec![("../evil", file.clone())]),
        ("slash", vec![("a/b", file.clone())]),
        ("parent", vec![("..", ok_sub.clone())]),
        ("dot", vec![(".", ok_sub.clone())]),
        ("abs", vec![("/tmp/evil-abs", file.clone())]),
        ("empty", vec![("", file.clone())]),
        ("nul", vec![("a\0b", file.clone())]),
        (
            "deep",
            vec![("fine", ok_sub.clone()), ("../../evil", file.clone())],
        ),
    ];
    for (label, links) in &cases {
        let links: Vec<(&str, &str, u64)> =
            links.iter().map(|(n, c)| (*n, c.as_str(), 40)).collect();
        let evil = put_dir(&k, &links);
        // The hostile tree sits two levels down so `..` and `../..` would still land in scratch.
        let out = k.path(&format!("jail/{label}/out"));
        let before = walk(k.scratch.path());
        let err = k.refuse(
            &["get", &evil, "-o", out.to_str().expect("path")],
            b"",
            "name",
        );
        assert!(
            err.contains("not allowed") || err.contains("may not") || err.contains("empty"),
            "{label}: {err}"
        );
        // Nothing new anywhere in scratch outside `out` (its parents may be created).
        for p in walk(k.scratch.path()) {
            if before.contains(&p) || p.starts_with(&out) || out.starts_with(&p) {
                continue;
            }
            panic!("{label}: get wrote {} outside its output", p.display());
        }
        assert!(!Path::new("/tmp/evil-abs").exists());
        // ls shows such names as they are, without touching the disk.
        k.ok(&["ls", &evil]);
    }

    // A symlink pointing outside is written as a symlink, never followed; a later entry with the
    // same name as the symlink must not be written through it.
    let outside = k.path("outside");
    std::fs::create_dir_all(&outside).expect("mkdir");
    let link = put_symlink(&k, outside.to_str().expect("path"));
    let sub = put_dir(&k, &[("pwned", &file, 40)]);
    let tricky = put_dir(&k, &[("d", &link, 10), ("d", &sub, 50)]);
    let out = k.path("jail/symlink/out");
    k.refuse(
        &["get", &tricky, "-o", out.to_str().expect("path")],
        b"",
        "already exists",
    );
    assert!(
        !outside.join("pwned").exists(),
        "get followed a symlink out of its output"
    );
    assert_eq!(
        std::fs::read_dir(&outside).expect("read").count(),
        0,
        "something was written into the symlink target"
    );
    // A plain symlink tree is fine and stays a symlink.
    let plain = put_dir(&k, &[("l", &link, 10)]);
    let out = k.path("jail/plain/out");
    k.ok(&["get", &plain, "-o", out.to_str().expect("path")]);
    let meta = std::fs::symlink_metadata(out.join("l")).expect("symlink");
    assert!(meta.file_type().is_symlink());
}

#[test]
fn second_process_gets_repo_locked() {
    let k = Kit::new();
    k.add_bytes(b"before", &[]);
    let before = k.snapshot();
    // A long `add` from a stdin stream we keep open holds the repo.
    let mut holder = k
        .cmd(&["add", "-Q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = holder.stdin.take().expect("stdin");
    let chunk = pseudo_random(1 << 20, 3);
    stdin.write_all(&chunk).expect("feed");
    let pid = holder.id();
    // Wait until the holder has opened the repo (a second process then sees the lock).
    let deadline = Instant::now() + Duration::from_secs(10);
    let err = loop {
        let out = k.run(&["repo", "stat"], b"");
        if !out.status.success() {
            break String::from_utf8_lossy(&out.stderr).into_owned();
        }
        assert!(Instant::now() < deadline, "the holder never took the lock");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(err.contains("locked"), "{err}");
    assert!(
        err.contains(&pid.to_string()),
        "error does not name pid {pid}: {err}"
    );
    for args in [
        vec!["cat", "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"],
        vec!["pin", "ls"],
        vec!["repo", "gc"],
    ] {
        k.refuse(&args, b"", "locked");
    }
    let e = k.refuse_json(&["repo", "gc"], b"", "REPO_LOCKED");
    assert_eq!(e["context"]["pid"], pid);
    k.refuse(&["add"], b"other data", "locked");
    // Finish the holder's add: it completes and its result is there.
    stdin.write_all(&chunk).expect("feed");
    drop(stdin);
    let out = holder.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cid = String::from_utf8(out.stdout).expect("utf-8");
    let mut both = chunk.clone();
    both.extend_from_slice(&chunk);
    assert_eq!(k.ok_bytes(&["cat", cid.trim()], b""), both);
    // Nothing from the refused commands: just the holder's add on top of the old state.
    k.ok(&["pin", "rm", cid.trim()]);
    k.ok(&["repo", "gc"]);
    assert_eq!(k.snapshot(), before);
}

#[test]
fn huge_and_hostile_tool_inputs() {
    let (k, _) = populated();
    let before = k.snapshot();
    // Deep nesting (10 MB of brackets), over-limit block data, an unterminated 10 MB string.
    let deep = format!("{}{}", "[".repeat(5_000_000), "]".repeat(5_000_000));
    k.refuse(
        &["tool", "call", "ipfs_add", "-"],
        deep.as_bytes(),
        "recursion",
    );
    let big = serde_json::json!({ "data": "x".repeat(10_000_000) }).to_string();
    k.refuse(
        &["tool", "call", "ipfs_block_put", "-"],
        big.as_bytes(),
        "limit",
    );
    let open = format!("{{\"content\": \"{}", "x".repeat(10_000_000));
    k.refuse(
        &["tool", "call", "ipfs_add", "-"],
        open.as_bytes(),
        "not JSON",
    );
    let many = serde_json::json!({ "paths": vec!["not-a-cid"; 1_000_000] }).to_string();
    k.refuse(
        &["tool", "call", "ipfs_pin_add", "-"],
        many.as_bytes(),
        "invalid CID",
    );
    let wrong = serde_json::json!({ "content": 12, "paths": {"a": 1} }).to_string();
    k.refuse(
        &["tool", "call", "ipfs_add", "-"],
        wrong.as_bytes(),
        "ipfs_add",
    );
    k.refuse(&["tool", "call", "ipfs_add", "-"], b"\xff\xfe\x00", "");
    // Standard input is read up to a bound, not to the end of the world.
    let mut endless = vec![b' '; 64 * 1024 * 1024 + 10];
    endless[0] = b'[';
    k.refuse(&["tool", "call", "ipfs_repo_stat", "-"], &endless, "over");
    // A JSON argument near the OS limit for one argument (128 KiB) is handled as well.
    let arg = serde_json::json!({ "cids": vec!["x"; 30_000] }).to_string();
    k.refuse(&["tool", "call", "ipfs_block_rm", &arg], b"", "invalid CID");
    assert_eq!(k.snapshot(), before);
}

#[test]
fn closed_stdout_is_not_a_panic() {
    let k = Kit::new();
    let data = pseudo_random(3_000_000, 9);
    let cid = k.add_bytes(&data, &["--chunker=size-1024"]);
    for args in [
        vec!["tool", "list"],
        vec!["cat", cid.as_str()],
        vec!["refs", "-r", cid.as_str()],
        vec!["refs", "local"],
        vec!["pin", "verify", "--verbose"],
        vec!["pin", "add", cid.as_str()],
        vec!["repo", "stat"],
        vec!["repo", "verify"],
        vec!["block", "stat", cid.as_str()],
        vec!["dag", "export", cid.as_str()],
        vec!["--json", "ls", cid.as_str()],
    ] {
        for read_first in [false, true] {
            let mut child = k
                .cmd(&args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn");
            // Hang up at once, or after a little, as `| head -c 16` does.
            let mut stdout = child.stdout.take().expect("stdout");
            if read_first {
                let mut buf = [0u8; 16];
                let _ = stdout.read(&mut buf);
            }
            drop(stdout);
            let out = child.wait_with_output().expect("wait");
            assert_no_panic(&out);
        }
    }
}

#[test]
fn files_mfs_commands() {
    let k = Kit::new();
    assert_eq!(
        k.ok(&["files", "stat", "--hash", "/"]).trim(),
        "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
    );
    k.ok(&["files", "mkdir", "-p", "/docs/sub"]);
    // `files write` reads standard input. Kubo's t0250-files-api.sh: "ipfs rocks" then "is super
    // cool" at offset 5 is FILE_HASH.
    k.ok_in(&["files", "write", "-e", "/docs/mfs.txt"], b"ipfs rocks\n");
    k.write("patch", b"is super cool\n");
    k.ok(&[
        "files",
        "write",
        "-o",
        "5",
        "/docs/mfs.txt",
        k.path("patch").to_str().expect("path"),
    ]);
    assert_eq!(
        k.ok(&["files", "stat", "--hash", "/docs/mfs.txt"]).trim(),
        "QmQdQt9qooenjeaNhiKHF3hBvmNteB4MQBtgu3jxgf9c7i"
    );
    let stat = k.ok(&["files", "stat", "/docs/mfs.txt"]);
    assert!(
        stat.contains("Size: 19\n") && stat.contains("Type: file"),
        "{stat}"
    );
    assert_eq!(
        k.ok(&["files", "read", "-o", "5", "-n", "5", "/docs/mfs.txt"]),
        "is su"
    );
    // --count takes that many bytes of the input; --hash gives the file that hash (and CIDv1).
    k.ok_in(
        &[
            "files",
            "write",
            "-e",
            "-n",
            "4",
            "--hash",
            "blake2b-256",
            "/docs/b",
        ],
        b"ipfs rocks\n",
    );
    assert_eq!(k.ok(&["files", "read", "/docs/b"]), "ipfs");
    assert!(
        k.ok(&["files", "stat", "--hash", "/docs/b"])
            .starts_with("bafk2bz"),
        "a blake2b-256 raw leaf"
    );
    k.ok(&["files", "rm", "/docs/b"]);
    // add --to-files links the added file into an MFS directory (Kubo's t0040 `hello-mfs-v0`).
    k.write("mfs.txt", b"Hello MFS!\n");
    k.ok(&[
        "add",
        "--to-files",
        "/",
        k.path("mfs.txt").to_str().expect("path"),
    ]);
    assert_eq!(
        k.ok(&["files", "stat", "--hash", "/mfs.txt"]).trim(),
        vector("hello-mfs-v0")
    );
    k.ok(&["files", "rm", "/mfs.txt"]);
    assert_eq!(lines(&k.ok(&["files", "ls", "/docs"])), ["mfs.txt", "sub"]);
    let long = k.ok(&["files", "ls", "-l", "/docs"]);
    assert!(
        long.contains("sub/\tQmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn\t0"),
        "{long}"
    );
    let added = k.add_bytes(b"from ipfs", &[]);
    k.ok(&["files", "cp", &format!("/ipfs/{added}"), "/docs/sub/x"]);
    k.ok(&["files", "mv", "/docs/sub/x", "/y"]);
    assert_eq!(k.ok(&["files", "read", "/y"]), "from ipfs");
    let (_, err) = k.fail(&["files", "rm", "/docs"], b"");
    assert!(err.contains("directory"), "{err}");
    // Several paths: each one that can go goes, then the missing one fails the command (Kubo's
    // t0250 "remove multiple files (with nonexistent one)"); --force succeeds on missing paths.
    k.ok_in(&["files", "write", "-e", "/one"], b"1\n");
    k.ok_in(&["files", "write", "-e", "/two"], b"2\n");
    let (_, err) = k.fail(&["files", "rm", "/one", "/nonexistent", "/two"], b"");
    assert!(err.contains("/nonexistent"), "{err}");
    assert!(
        !lines(&k.ok(&["files", "ls", "/"]))
            .iter()
            .any(|l| *l == "one" || *l == "two")
    );
    k.ok(&[
        "files",
        "rm",
        "--force",
        "/nonexistent",
        "/deeply/nonexistent",
    ]);
    let (_, err) = k.fail(&["files", "mkdir", "/a/../b"], b"");
    assert!(err.contains("invalid MFS path"), "{err}");
    k.ok(&["files", "rm", "-r", "/docs"]);
    k.ok(&["files", "chcid", "--cid-version", "1"]);
    let root = k.ok(&["files", "flush"]);
    assert!(root.trim().starts_with("bafy"), "{root}");
    let j = k.json(&["files", "stat", "/y"]);
    assert_eq!(j["size"], 9);
    // The root survives GC and a new process.
    k.ok(&["repo", "gc"]);
    assert_eq!(k.ok(&["files", "flush"]), root);
    assert_eq!(k.ok(&["files", "read", "/y"]), "from ipfs");
}
