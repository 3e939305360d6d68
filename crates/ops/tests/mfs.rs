//! The MFS operations through the catalogue: Kubo's CIDs, persistence, GC roots, bad paths.

use ipfs_kit_ops::{Catalogue, ErrorCode, Kit, OpContext};
use serde_json::{Value, json};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn call(kit: &Kit, tool: &str, input: Value) -> Result<Value, ipfs_kit_ops::OpError> {
    rt().block_on(Catalogue::standard().require(tool).unwrap().call(
        kit,
        input,
        &OpContext::default(),
    ))
}

fn ok(kit: &Kit, tool: &str, input: Value) -> Value {
    call(kit, tool, input.clone()).unwrap_or_else(|e| panic!("{tool} {input}: {e:?}"))
}

fn root(kit: &Kit) -> String {
    ok(kit, "ipfs_files_stat", json!({"path": "/"}))["hash"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn fresh_root_is_kubos_empty_directory_and_mkdir_ls_stat_work() {
    let home = tempfile::tempdir().unwrap();
    let kit = Kit::open(home.path()).unwrap();
    let st = ok(&kit, "ipfs_files_stat", json!({}));
    assert_eq!(st["hash"], "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn");
    assert_eq!(st["type"], "directory");
    assert_eq!(
        (st["size"].as_u64(), st["blocks"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(st["cumulative_size"], 4);

    let e = call(&kit, "ipfs_files_mkdir", json!({"path": "/a/b"})).unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    ok(
        &kit,
        "ipfs_files_mkdir",
        json!({"path": "/a/b", "parents": true}),
    );
    ok(
        &kit,
        "ipfs_files_mkdir",
        json!({"path": "/a/b", "parents": true}),
    );
    let e = call(&kit, "ipfs_files_mkdir", json!({"path": "/a"})).unwrap_err();
    assert_eq!(e.code, ErrorCode::AlreadyExists);
    let ls = ok(&kit, "ipfs_files_ls", json!({"path": "/a", "long": true}));
    assert_eq!(ls["entries"][0]["name"], "b");
    assert_eq!(ls["entries"][0]["type"], 1);
    assert_eq!(
        ls["entries"][0]["hash"],
        "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
    );
    let short = ok(&kit, "ipfs_files_ls", json!({}));
    assert_eq!(short["entries"], json!([{"name": "a"}]));
    let st = ok(&kit, "ipfs_files_stat", json!({"path": "/a"}));
    assert_eq!(st["blocks"], 1);
    ok(
        &kit,
        "ipfs_files_mkdir",
        json!({"path": "/v1", "cid_version": 1}),
    );
    let st = ok(&kit, "ipfs_files_stat", json!({"path": "/v1"}));
    assert!(st["hash"].as_str().unwrap().starts_with("bafy"), "{st}");
}

/// Kubo's sharness t0250-files-api.sh, in each of its modes: the file and truncation CIDs, and
/// the hashes of `/` and `/cats` at the point the script checks them. What is left by then:
/// `/cats/file1` (a copy of `echo foo | ipfs add`, with `--raw-leaves` in the raw-leaves modes),
/// `/cats/ipfs` ("ipfs rocks" overwritten at offset 5), `/cats/walrus` ("testing") and the
/// empty `/cats/this/is/a`. ARGS go to mkdir and write, RAW_LEAVES to write.
#[test]
fn write_matches_kubo_t0250_vectors() {
    struct Mode {
        name: &'static str,
        file1_raw: bool,
        cid_version: Option<u8>,
        raw_leaves: Option<bool>,
        root: &'static str,
        cats: &'static str,
        file: &'static str,
        trunc: &'static str,
    }
    let modes = [
        Mode {
            name: "defaults",
            file1_raw: false,
            cid_version: None,
            raw_leaves: None,
            root: "QmcwKfTMCT7AaeiD92hWjnZn9b6eh9NxnhfSzN5x2vnDpt",
            cats: "Qma88m8ErTGkZHbBWGqy1C7VmEmX8wwNDWNpGyCaNmEgwC",
            file: "QmQdQt9qooenjeaNhiKHF3hBvmNteB4MQBtgu3jxgf9c7i",
            trunc: "QmPVnT9gocPbqzN4G6SMp8vAPyzcjDbUJrNdKgzQquuDg4",
        },
        Mode {
            name: "partial raw-leaves",
            file1_raw: true,
            cid_version: None,
            raw_leaves: None,
            root: "QmTpKiKcAj4sbeesN6vrs5w3QeVmd4QmGpxRL81hHut4dZ",
            cats: "QmPhPkmtUGGi8ySPHoPu1qbfryLJKKq1GYxpgLyyCruvGe",
            file: "QmQdQt9qooenjeaNhiKHF3hBvmNteB4MQBtgu3jxgf9c7i",
            trunc: "QmPVnT9gocPbqzN4G6SMp8vAPyzcjDbUJrNdKgzQquuDg4",
        },
        Mode {
            name: "raw-leaves",
            file1_raw: true,
            cid_version: None,
            raw_leaves: Some(true),
            root: "QmTHzLiSouBHVTssS8xRzmfWGAvTGhPEjtPdB6pWMQdxJX",
            cats: "QmPJkzbCoBuL379TbHgwF1YbVHnKgiDa5bjqYhe6Lovdms",
            file: "bafybeibkrazpbejqh3qun7xfnsl7yofl74o4jwhxebpmtrcpavebokuqtm",
            trunc: "bafybeigwhb3q36yrm37jv5fo2ap6r6eyohckqrxmlejrenex4xlnuxiy3e",
        },
        Mode {
            name: "cidv1",
            file1_raw: true,
            cid_version: Some(1),
            raw_leaves: None,
            root: "QmTLdTaZNj8Mvq1cgYup59ZFJFv1KxptouFSZUZKeq7X3z",
            cats: "bafybeihsqinttigpskqqj63wgalrny3lifvqv5ml7igrirdhlcf73l3wvm",
            file: "bafybeibkrazpbejqh3qun7xfnsl7yofl74o4jwhxebpmtrcpavebokuqtm",
            trunc: "bafybeigwhb3q36yrm37jv5fo2ap6r6eyohckqrxmlejrenex4xlnuxiy3e",
        },
    ];
    for m in modes {
        let home = tempfile::tempdir().unwrap();
        let kit = Kit::open(home.path()).unwrap();
        let hash = |p: &str| ok(&kit, "ipfs_files_stat", json!({"path": p}))["hash"].clone();
        let write = |path: &str, text: &str, extra: Value| {
            let mut input = json!({"path": path, "content": text});
            if let Some(v) = m.cid_version {
                input["cid_version"] = json!(v);
            }
            if let Some(r) = m.raw_leaves {
                input["raw_leaves"] = json!(r);
            }
            for (k, v) in extra.as_object().unwrap() {
                input[k] = v.clone();
            }
            ok(&kit, "ipfs_files_write", input)
        };
        let mkdir = |path: &str, parents: bool| {
            let v = m.cid_version.unwrap_or(0);
            ok(
                &kit,
                "ipfs_files_mkdir",
                json!({"path": path, "parents": parents, "cid_version": v}),
            )
        };
        let file1 = ok(
            &kit,
            "ipfs_add",
            json!({"content": "foo\n", "raw_leaves": m.file1_raw}),
        )["root"]
            .as_str()
            .unwrap()
            .to_string();
        mkdir("/cats", false);
        ok(
            &kit,
            "ipfs_files_cp",
            json!({"from": format!("/ipfs/{file1}"), "to": "/cats/file1"}),
        );
        mkdir("/cats/this/is/a/dir", true);
        ok(
            &kit,
            "ipfs_files_rm",
            json!({"path": "/cats/this/is/a/dir", "recursive": true}),
        );
        write("/cats/ipfs", "ipfs rocks\n", json!({"create": true}));
        let w = write("/cats/ipfs", "is super cool\n", json!({"offset": 5}));
        assert_eq!(w["cid"], m.file, "{}: FILE_HASH", m.name);
        assert_eq!(
            (w["size"].as_u64(), w["written"].as_u64()),
            (Some(19), Some(14))
        );
        let r = ok(&kit, "ipfs_files_read", json!({"path": "/cats/ipfs"}));
        assert_eq!(r["content"], "ipfs is super cool\n", "{}", m.name);
        write("/cats/walrus", "testing\n", json!({"create": true}));
        assert_eq!(hash("/"), m.root, "{}: ROOT_HASH", m.name);
        assert_eq!(hash("/cats"), m.cats, "{}: CATS_HASH", m.name);

        ok(
            &kit,
            "ipfs_files_rm",
            json!({"path": "/cats", "recursive": true}),
        );
        write("/cats", "some content\n", json!({"create": true}));
        let w = write("/cats", "fish\n", json!({"truncate": true}));
        assert_eq!(w["cid"], m.trunc, "{}: TRUNC_HASH", m.name);
        assert_eq!(hash("/cats"), m.trunc, "{}", m.name);
        let r = ok(&kit, "ipfs_files_read", json!({"path": "/cats"}));
        assert_eq!(r["content"], "fish\n", "{}", m.name);
    }
}

/// The same sequence with `--hash blake2b-256` on the first write of each file (t0250 sets
/// Import.HashFunction instead, which gives the file the same prefix).
#[test]
fn write_with_a_hash_function_matches_kubo() {
    let home = tempfile::tempdir().unwrap();
    let kit = Kit::open(home.path()).unwrap();
    let w = |input: Value| ok(&kit, "ipfs_files_write", input);
    w(json!({"path": "/ipfs", "content": "ipfs rocks\n", "create": true, "hash": "blake2b-256"}));
    let r = w(json!({"path": "/ipfs", "content": "is super cool\n", "offset": 5}));
    assert_eq!(
        r["cid"],
        "bafykbzaceca45w2i3o3q3ctqsezdv5koakz7sxsw37ygqjg4w54m2bshzevxy"
    );
    w(json!({"path": "/t", "content": "some content\n", "create": true, "hash": "BLAKE2B-256"}));
    let r = w(json!({"path": "/t", "content": "fish\n", "truncate": true}));
    assert_eq!(
        r["cid"],
        "bafykbzaceadeu7onzmlq7v33ytjpmo37rsqk2q6mzeqf5at55j32zxbcdbwig"
    );
    let e = call(
        &kit,
        "ipfs_files_write",
        json!({"path": "/u", "content": "x", "create": true, "hash": "md5"}),
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput, "{e:?}");
    assert!(e.message.contains("md5"), "{e:?}");
}

#[test]
fn write_splices_at_offsets_and_truncates() {
    let home = tempfile::tempdir().unwrap();
    let kit = Kit::open(home.path()).unwrap();
    let read = |p: &str| ok(&kit, "ipfs_files_read", json!({"path": p}))["content"].clone();
    let e = call(
        &kit,
        "ipfs_files_write",
        json!({"path": "/f", "content": "x"}),
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    ok(
        &kit,
        "ipfs_files_write",
        json!({"path": "/f", "content": "hello world", "create": true}),
    );
    ok(
        &kit,
        "ipfs_files_write",
        json!({"path": "/f", "content": "WORLD", "offset": 6}),
    );
    assert_eq!(read("/f"), "hello WORLD");
    ok(
        &kit,
        "ipfs_files_write",
        json!({"path": "/f", "content": "J", "offset": 0}),
    );
    assert_eq!(read("/f"), "Jello WORLD");
    ok(
        &kit,
        "ipfs_files_write",
        json!({"path": "/f", "content": "!", "offset": 13}),
    );
    assert_eq!(read("/f"), "Jello WORLD\0\0!");
    // A write far past the end would zero-fill petabytes: refused, nothing changes.
    let before = root(&kit);
    let e = call(
        &kit,
        "ipfs_files_write",
        json!({"path": "/f", "content": "x", "offset": 1_000_000_000_000_000u64}),
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput, "{e:?}");
    assert_eq!(root(&kit), before);
    ok(
        &kit,
        "ipfs_files_write",
        json!({"path": "/f", "content": "new", "truncate": true}),
    );
    assert_eq!(read("/f"), "new");
    ok(
        &kit,
        "ipfs_files_write",
        json!({"path": "/d/e/g", "content_base64": "AAEC", "create": true, "parents": true}),
    );
    let r = ok(
        &kit,
        "ipfs_files_read",
        json!({"path": "/d/e/g", "encoding": "base64"}),
    );
    assert_eq!(r["content"], "AAEC");
    // A multi-chunk file (3 chunks of 256 KiB) spliced in the middle keeps its leaves: it is
    // `ipfs add --trickle` of the new bytes (true below 175 chunks, as boxo appends to an empty
    // file: trickle leaves, then deeper subtrees than a fresh trickle import would make).
    let big: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    let b64 = |b: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(b)
    };
    ok(
        &kit,
        "ipfs_files_write",
        json!({"path": "/big", "content_base64": b64(&big), "create": true}),
    );
    ok(
        &kit,
        "ipfs_files_write",
        json!({"path": "/big", "content": "XYZ", "offset": 300_000}),
    );
    let mut want = big.clone();
    want[300_000..300_003].copy_from_slice(b"XYZ");
    let added = ok(
        &kit,
        "ipfs_add",
        json!({"content_base64": b64(&want), "pin": false, "trickle": true}),
    );
    let st = ok(&kit, "ipfs_files_stat", json!({"path": "/big"}));
    assert_eq!(st["hash"], added["root"]);
    assert_eq!(st["size"], 700_000);
}

#[test]
fn rm_cp_mv_flush_chcid() {
    let home = tempfile::tempdir().unwrap();
    let kit = Kit::open(home.path()).unwrap();
    ok(
        &kit,
        "ipfs_files_write",
        json!({"path": "/d/f", "content": "hi", "create": true, "parents": true}),
    );
    let e = call(&kit, "ipfs_files_rm", json!({"path": "/d"})).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput);
    ok(&kit, "ipfs_files_cp", json!({"from": "/d", "to": "/copy"}));
    let e = call(&kit, "ipfs_files_cp", json!({"from": "/d", "to": "/copy"})).unwrap_err();
    assert_eq!(e.code, ErrorCode::AlreadyExists);
    let added = ok(
        &kit,
        "ipfs_add",
        json!({"content": "from ipfs", "pin": false}),
    );
    let from = format!("/ipfs/{}", added["root"].as_str().unwrap());
    ok(
        &kit,
        "ipfs_files_cp",
        json!({"from": from, "to": "/x/y", "parents": true}),
    );
    assert_eq!(
        ok(&kit, "ipfs_files_read", json!({"path": "/x/y"}))["content"],
        "from ipfs"
    );
    ok(&kit, "ipfs_files_mv", json!({"from": "/x/y", "to": "/d"}));
    assert_eq!(
        ok(&kit, "ipfs_files_read", json!({"path": "/d/y"}))["content"],
        "from ipfs"
    );
    ok(&kit, "ipfs_files_mv", json!({"from": "/d/y", "to": "/z"}));
    let e = call(
        &kit,
        "ipfs_files_mv",
        json!({"from": "/d", "to": "/d/inner"}),
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput);
    ok(
        &kit,
        "ipfs_files_rm",
        json!({"path": "/d", "recursive": true}),
    );
    ok(&kit, "ipfs_files_rm", json!({"path": "/x", "force": true}));
    let names: Vec<Value> = ok(&kit, "ipfs_files_ls", json!({}))["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("copy"), json!("z")]);
    assert_eq!(ok(&kit, "ipfs_files_flush", json!({}))["cid"], root(&kit));
    let copy = ok(&kit, "ipfs_files_flush", json!({"path": "/copy"}))["cid"].clone();
    ok(
        &kit,
        "ipfs_files_chcid",
        json!({"path": "/copy", "cid_version": 1}),
    );
    let st = ok(&kit, "ipfs_files_stat", json!({"path": "/copy"}));
    assert!(st["hash"].as_str().unwrap().starts_with("bafy"));
    assert_ne!(st["hash"], copy);
    ok(
        &kit,
        "ipfs_files_chcid",
        json!({"path": "/copy", "cid_version": 0}),
    );
    assert_eq!(
        ok(&kit, "ipfs_files_stat", json!({"path": "/copy"}))["hash"],
        copy
    );
}

#[test]
fn bad_paths_are_rejected_and_change_nothing() {
    let home = tempfile::tempdir().unwrap();
    let kit = Kit::open(home.path()).unwrap();
    ok(&kit, "ipfs_files_mkdir", json!({"path": "/keep"}));
    let before = root(&kit);
    for p in ["relative", "/a/../b", "/a//b", "/./a", "", "/a/\0"] {
        for (tool, input) in [
            ("ipfs_files_mkdir", json!({"path": p, "parents": true})),
            (
                "ipfs_files_write",
                json!({"path": p, "content": "x", "create": true, "parents": true}),
            ),
            ("ipfs_files_rm", json!({"path": p, "recursive": true})),
            ("ipfs_files_stat", json!({"path": p})),
        ] {
            let e = call(&kit, tool, input).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidPath, "{tool} {p:?}: {e:?}");
        }
    }
    for (tool, input) in [
        ("ipfs_files_rm", json!({"path": "/", "recursive": true})),
        ("ipfs_files_write", json!({"path": "/", "content": "x"})),
        ("ipfs_files_mv", json!({"from": "/", "to": "/x"})),
    ] {
        let e = call(&kit, tool, input).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidPath, "{tool}");
    }
    let e = call(
        &kit,
        "ipfs_files_write",
        json!({"path": "/keep", "content": "x"}),
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput);
    let e = call(&kit, "ipfs_files_rm", json!({"path": "/nope"})).unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    assert_eq!(root(&kit), before);
}

#[test]
fn root_persists_across_reopen_and_gc_keeps_mfs_content() {
    let home = tempfile::tempdir().unwrap();
    let (written, garbage): (Value, Value);
    {
        let kit = Kit::open(home.path()).unwrap();
        written = ok(
            &kit,
            "ipfs_files_write",
            json!({"path": "/docs/a.txt", "content": "kept by MFS", "create": true, "parents": true}),
        )["root"]
            .clone();
        // Unreachable from MFS and unpinned: GC removes it.
        garbage = ok(
            &kit,
            "ipfs_add",
            json!({"content": "garbage", "pin": false}),
        )["root"]
            .clone();
    }
    let kit = Kit::open(home.path()).unwrap();
    assert_eq!(json!(root(&kit)), written);
    let gc = ok(&kit, "ipfs_repo_gc", json!({}));
    // The unpinned add, the first (empty) MFS root and the empty file node `--create` started
    // from are gone; MFS content stays.
    assert_eq!(gc["removed_count"], 3, "{gc}");
    let e = call(&kit, "ipfs_cat", json!({"path": garbage})).unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    assert_eq!(
        ok(&kit, "ipfs_files_read", json!({"path": "/docs/a.txt"}))["content"],
        "kept by MFS"
    );
    // After rm, the old file is garbage.
    ok(
        &kit,
        "ipfs_files_rm",
        json!({"path": "/docs", "recursive": true}),
    );
    let gc = ok(&kit, "ipfs_repo_gc", json!({}));
    assert!(gc["removed_count"].as_u64().unwrap() >= 3, "{gc}");
    assert_eq!(root(&kit), "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn");
}

#[test]
fn untouched_mfs_writes_nothing_and_survives_gc() {
    let home = tempfile::tempdir().unwrap();
    let kit = Kit::open(home.path()).unwrap();
    assert!(
        !home
            .path()
            .join("repo")
            .join(ipfs_kit_ops::mfs::MFS_ROOT_FILE)
            .exists()
    );
    assert_eq!(ok(&kit, "ipfs_repo_stat", json!({}))["num_objects"], 0);
    // Reading materialises the empty root's block; GC may drop it (nothing links it) and the
    // next use brings it back.
    assert_eq!(root(&kit), "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn");
    ok(&kit, "ipfs_repo_gc", json!({}));
    assert_eq!(root(&kit), "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn");
    ok(&kit, "ipfs_files_mkdir", json!({"path": "/x"}));
    assert!(
        home.path()
            .join("repo")
            .join(ipfs_kit_ops::mfs::MFS_ROOT_FILE)
            .exists()
    );
    ok(&kit, "ipfs_repo_gc", json!({}));
    assert_eq!(
        ok(&kit, "ipfs_files_ls", json!({}))["entries"],
        json!([{"name": "x"}])
    );
}

#[test]
fn cp_from_ipfs_needs_the_whole_dag_locally() {
    let home = tempfile::tempdir().unwrap();
    let kit = Kit::open(home.path()).unwrap();
    // A 700 kB file: a root node and three leaves; one leaf removed.
    let big: Vec<u8> = (0..700_000u32).map(|i| (i % 253) as u8).collect();
    let b64 = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(&big)
    };
    let root = ok(
        &kit,
        "ipfs_add",
        json!({"content_base64": b64, "pin": false}),
    )["root"]
        .as_str()
        .unwrap()
        .to_string();
    let ls = ok(&kit, "ipfs_ls", json!({"path": root}));
    let leaf = ls["entries"][1]["cid"].as_str().unwrap().to_string();
    ok(&kit, "ipfs_block_rm", json!({"cids": [leaf]}));
    let before = ok(&kit, "ipfs_files_flush", json!({}))["cid"].clone();
    let e = call(
        &kit,
        "ipfs_files_cp",
        json!({"from": format!("/ipfs/{root}"), "to": "/big"}),
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound, "{e:?}");
    assert_eq!(ok(&kit, "ipfs_files_flush", json!({}))["cid"], before);
    // GC still works (the MFS holds nothing incomplete).
    ok(&kit, "ipfs_repo_gc", json!({}));
}

/// `ipfs add --to-files`, as Kubo's t0040-add-and-cat.sh checks it: the vectors `hello-mfs-v0`
/// and `mfs-test-dir-cidv1`, and each refusal with Kubo's message.
#[test]
fn add_to_files_links_into_mfs_like_kubo() {
    let home = tempfile::tempdir().unwrap();
    let kit = Kit::open(home.path()).unwrap();
    let files = tempfile::tempdir().unwrap();
    let mfs_txt = files.path().join("mfs.txt");
    std::fs::write(&mfs_txt, "Hello MFS!\n").unwrap();
    let test = files.path().join("test");
    std::fs::create_dir(&test).unwrap();
    std::fs::write(test.join("mfs1.txt"), "file1\n").unwrap();
    std::fs::write(test.join("mfs2.txt"), "file2\n").unwrap();
    let (m1, m2) = (test.join("mfs1.txt"), test.join("mfs2.txt"));
    let add = |input: Value| call(&kit, "ipfs_add", input);
    let hash = |p: &str| ok(&kit, "ipfs_files_stat", json!({"path": p}))["hash"].clone();
    let names = |p: &str| {
        ok(&kit, "ipfs_files_ls", json!({"path": p}))["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };

    let out = add(json!({"paths": [mfs_txt], "to_files": "/ipfs-add-to-files"})).unwrap();
    assert_eq!(
        out["root"],
        "QmVT8bL3sGBA2TwvX8JPhrv5CYZL8LLLfW7mxkUjPZsgBr"
    );
    assert_eq!(hash("/ipfs-add-to-files"), out["root"]);
    let read = ok(
        &kit,
        "ipfs_files_read",
        json!({"path": "/ipfs-add-to-files"}),
    );
    assert_eq!(read["content"], "Hello MFS!\n");
    add(json!({"paths": [mfs_txt], "to_files": "/"})).unwrap();
    assert_eq!(hash("/mfs.txt"), out["root"]);
    // Inline content needs a name, as stdin does in Kubo.
    let e = add(json!({"content": "x", "to_files": "/"})).unwrap_err();
    assert!(e.message.contains("cannot add unnamed files"), "{e:?}");
    add(json!({"content": "x", "name": "named.txt", "to_files": "/"})).unwrap();
    assert_eq!(
        ok(&kit, "ipfs_files_read", json!({"path": "/named.txt"}))["content"],
        "x"
    );

    let fails = |input: Value, want: &str| {
        let before = root(&kit);
        let e = add(input.clone()).unwrap_err();
        assert!(e.message.contains(want), "{input}: {e:?}");
        assert_eq!(root(&kit), before, "{input} changed the MFS");
    };
    fails(
        json!({"paths": [&m1, &m2], "to_files": "/mfspath0"}),
        "MFS destination is a file: only one entry can be copied to \"/mfspath0\"",
    );
    ok(
        &kit,
        "ipfs_files_write",
        json!({"path": "/mfsfile1", "content": "test\n", "create": true}),
    );
    fails(
        json!({"paths": [&m1, &m2], "to_files": "/mfsfile1"}),
        "to-files: cannot put node in path \"/mfsfile1\"",
    );
    fails(
        json!({"paths": [&m1, &m2], "to_files": "/mfsfile1/"}),
        "to-files: MFS destination \"/mfsfile1/\" is not a directory",
    );
    fails(
        json!({"paths": [&m1], "to_files": "/nowhere/"}),
        "MFS destination directory \"/nowhere/\" does not exist",
    );
    fails(
        json!({"paths": [&m1], "to_files": "/nowhere/x"}),
        "MFS destination parent \"/nowhere/x\" \"/nowhere\" does not exist",
    );
    ok(
        &kit,
        "ipfs_files_mkdir",
        json!({"path": "/mfs/subdir3", "parents": true}),
    );
    fails(
        json!({"paths": [&test], "recursive": true, "to_files": "/mfs/subdir3"}),
        "cannot put node in path \"/mfs/subdir3\": directory already has entry by that name",
    );
    fails(
        json!({"paths": [&test], "recursive": true, "wrap_with_directory": true, "to_files": "/mfs/"}),
        "wrap-with-directory and to-files options are not compatible",
    );
    fails(
        json!({"paths": [&m1], "only_hash": true, "to_files": "/"}),
        "only-hash and to-files options are not compatible",
    );

    ok(&kit, "ipfs_files_mkdir", json!({"path": "/mfsdir2"}));
    add(json!({"paths": [&m1, &m2], "cid_version": 1, "to_files": "/mfsdir2/"})).unwrap();
    assert_eq!(names("/mfsdir2"), ["mfs1.txt", "mfs2.txt"]);
    assert_eq!(
        hash("/mfsdir2/mfs1.txt"),
        "bafkreihm3rktn5z33luic3youqdsn326toaq3ekesmdvsa53sbrd3f5r3a"
    );
    ok(&kit, "ipfs_files_mkdir", json!({"path": "/mfs/subdir4"}));
    let out = add(
        json!({"paths": [&test], "recursive": true, "cid_version": 1, "to_files": "/mfs/subdir4/"}),
    )
    .unwrap();
    assert_eq!(
        out["root"],
        "bafybeic7xwqwovt4g4bax6d3udp6222i63vj2rblpbim7uy2uw4a5gahha"
    );
    assert_eq!(names("/mfs/subdir4"), ["test"]);
    assert_eq!(hash("/mfs/subdir4/test"), out["root"]);
    // Linked into the MFS, the content survives GC without a pin.
    add(json!({"content": "unpinned", "name": "u", "pin": false, "to_files": "/"})).unwrap();
    ok(&kit, "ipfs_repo_gc", json!({}));
    assert_eq!(
        ok(&kit, "ipfs_files_read", json!({"path": "/u"}))["content"],
        "unpinned"
    );
}
