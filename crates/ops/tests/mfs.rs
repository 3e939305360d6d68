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

#[test]
fn write_read_match_kubo_vectors() {
    let home = tempfile::tempdir().unwrap();
    let kit = Kit::open(home.path()).unwrap();
    // cid-vectors.json `hello-mfs-v0`.
    let w = ok(
        &kit,
        "ipfs_files_write",
        json!({"path": "/mfs.txt", "content": "Hello MFS!\n", "create": true}),
    );
    assert_eq!(w["cid"], "QmVT8bL3sGBA2TwvX8JPhrv5CYZL8LLLfW7mxkUjPZsgBr");
    assert_eq!(w["written"], 11);
    let r = ok(
        &kit,
        "ipfs_files_read",
        json!({"path": "/mfs.txt", "offset": 6, "count": 3}),
    );
    assert_eq!(r["content"], "MFS");
    assert_eq!(r["truncated"], true);
    // cid-vectors.json `mfs-test-dir-cidv1`: a CIDv1 directory of two CIDv1 (raw-leaf) files.
    ok(
        &kit,
        "ipfs_files_mkdir",
        json!({"path": "/test", "cid_version": 1}),
    );
    for (name, text) in [("mfs1.txt", "file1\n"), ("mfs2.txt", "file2\n")] {
        ok(
            &kit,
            "ipfs_files_write",
            json!({"path": format!("/test/{name}"), "content": text, "create": true, "cid_version": 1}),
        );
    }
    let st = ok(&kit, "ipfs_files_stat", json!({"path": "/test"}));
    assert_eq!(
        st["hash"],
        "bafybeic7xwqwovt4g4bax6d3udp6222i63vj2rblpbim7uy2uw4a5gahha"
    );
    let f = ok(&kit, "ipfs_files_stat", json!({"path": "/test/mfs1.txt"}));
    assert_eq!(
        f["hash"],
        "bafkreihm3rktn5z33luic3youqdsn326toaq3ekesmdvsa53sbrd3f5r3a"
    );
    assert_eq!(
        (f["type"].as_str(), f["size"].as_u64()),
        (Some("file"), Some(6))
    );
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
    // A multi-chunk file (3 chunks of 256 KiB) spliced in the middle matches a fresh import.
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
        json!({"content_base64": b64(&want), "pin": false}),
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
    // The unpinned add and the first (empty) MFS root are gone; MFS content stays.
    assert_eq!(gc["removed_count"], 2, "{gc}");
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
