//! The `go-math-rand-v1` vectors of `cid-vectors.json`: inputs regenerated with Go's `math/rand` (v1)
//! stream, checked against the SHA-1 the vectors carry, then imported (streamed) and compared with
//! Kubo's CIDs; plus rabin/buzhash CIDs built on chunk boundaries printed by Go.

#[path = "support/gomathrand.rs"]
mod gomathrand;

use std::io::Read;

use gomathrand::{go_math_rand_v1, go_math_rand_v1_reader};
use ipfs_kit_content::import::{AddFlags, Control, import_file};
use ipfs_kit_content::{CidBase, NullSink, format_cid};
use sha1::{Digest, Sha1};

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/cid-vectors.json"
);

/// One `go-math-rand-v1` vector.
struct GoRandVector {
    id: String,
    seed: i64,
    size: u64,
    sha1: String,
    options: serde_json::Value,
    expected_cid: String,
}

fn vectors() -> Vec<GoRandVector> {
    let text = std::fs::read_to_string(VECTORS).expect("read cid-vectors.json");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("parse cid-vectors.json");
    doc["vectors"]
        .as_array()
        .expect("vectors array")
        .iter()
        .filter(|v| v["input"]["kind"] == "go-math-rand-v1")
        .map(|v| GoRandVector {
            id: v["id"].as_str().expect("id").to_owned(),
            seed: v["input"]["seed"].as_i64().expect("seed"),
            size: v["input"]["size"].as_u64().expect("size"),
            sha1: v["input"]["sha1"].as_str().expect("sha1").to_owned(),
            options: v["options"].clone(),
            expected_cid: v["expected_cid"].as_str().expect("cid").to_owned(),
        })
        .collect()
}

fn sha1_of(mut r: impl Read) -> String {
    let mut h = Sha1::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = r.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    hex::encode(h.finalize())
}

#[test]
fn there_are_nine_vectors() {
    assert_eq!(vectors().len(), 9);
}

#[test]
fn go_rand_first_values_match_go() {
    // rand.New(rand.NewSource(1)).Int63() first values, as printed by Go 1.19.
    let mut r = gomathrand::GoRand::new(1);
    let got: Vec<i64> = (0..3).map(|_| r.int63()).collect();
    assert_eq!(
        got,
        [
            5577006791947779410,
            8674665223082153551,
            6129484611666145821
        ]
    );
}

#[test]
fn stream_5mib_seed41_sha1() {
    let mut seen = 0;
    for v in vectors().iter().filter(|v| v.size <= 8 << 20) {
        let data = go_math_rand_v1(v.seed, v.size as usize);
        assert_eq!(sha1_of(&data[..]), v.sha1, "{}", v.id);
        seen += 1;
    }
    assert_eq!(seen, 6);
}

#[test]
fn stream_100mib_seed42_sha1() {
    let v = vectors()
        .into_iter()
        .find(|v| v.size == 100 << 20)
        .expect("a 100 MiB vector");
    assert_eq!(
        sha1_of(go_math_rand_v1_reader(v.seed, v.size)),
        v.sha1,
        "{}",
        v.id
    );
}

/// Import one vector's stream (never held in memory) and return the CID as Kubo prints it.
fn import_cid(v: &GoRandVector) -> String {
    let flags: AddFlags = serde_json::from_value(v.options.clone())
        .unwrap_or_else(|e| panic!("{}: options: {e}", v.id));
    let opts = flags
        .resolve()
        .unwrap_or_else(|e| panic!("{}: resolve: {e}", v.id));
    let entry = import_file(
        "bigfile",
        go_math_rand_v1_reader(v.seed, v.size),
        &opts,
        &NullSink,
        &Control::new(),
    )
    .unwrap_or_else(|e| panic!("{}: import: {e}", v.id));
    format_cid(&entry.cid, CidBase::Default)
}

fn check_all(filter: impl Fn(&GoRandVector) -> bool, count: usize) {
    let selected: Vec<GoRandVector> = vectors().into_iter().filter(|v| filter(v)).collect();
    assert_eq!(selected.len(), count);
    let failures: Vec<String> = selected
        .iter()
        .filter_map(|v| {
            let got = import_cid(v);
            (got != v.expected_cid).then(|| format!("{}: got {got}, want {}", v.id, v.expected_cid))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The six 5 MiB `random-data -seed=41` vectors (v0, raw leaves, CIDv1, blake2b-256).
#[test]
fn import_5mib_seed41() {
    check_all(|v| v.size == 5 << 20, 6);
}

/// The three 100 MiB `random-data -seed=42` vectors, streamed.
#[test]
fn import_100mib_seed42() {
    check_all(|v| v.size == 100 << 20, 3);
}

/// `--chunker=rabin…` / `buzhash` CIDs whose chunk boundaries come from Go itself: boundaries
/// printed by Go 1.19 running whyrusleeping/chunker (via boxo's `NewRabinMinMax`) and boxo's
/// `NewBuzhash`, then fed as fixed chunks to npm ipfs-unixfs-importer 17.1.1 (Kubo's default
/// layout: CIDv0, dag-pb leaves, balanced, 174 links). No Kubo-published multi-chunk values exist;
/// the JS rabin-wasm values in cid-vectors.json disagree with Go's chunker.
#[test]
fn content_defined_chunking_matches_go_boundaries() {
    let chacha = |seed: &str, size: usize| {
        use chacha20::cipher::{KeyIvInit, StreamCipher};
        let key: [u8; 32] = sha2::Sha256::digest(seed.as_bytes()).into();
        let mut c = chacha20::ChaCha20::new(&key.into(), &[0u8; 12].into());
        let mut out = vec![0u8; size];
        c.apply_keystream(&mut out);
        out
    };
    let c1m = chacha("ipfs-reference-1MB", 1_000_000);
    let r41 = go_math_rand_v1(41, 5 << 20);
    let cases: [(&[u8], &str, &str); 5] = [
        (
            &c1m,
            "rabin",
            "QmXHkYHritejPZvk4RyWaCugkCAW5ERDUtWTku2GdJToGN",
        ),
        (
            &c1m,
            "rabin-16384-65536-131072",
            "Qmdz88b5p88wfwfywrAYjSUJNcuuRo9gn4wJfW1wtpsaPK",
        ),
        (
            &c1m,
            "buzhash",
            "QmWUjuq9RfiKtKvKcwUQXErHWxCRuHE5umvjCM6LUTWp6T",
        ),
        (
            &r41,
            "rabin",
            "QmXYMUnJCwPafn46XNjSBJVabdyZr482F2gCRfS7GUZ4GB",
        ),
        (
            &r41,
            "buzhash",
            "QmS6CcuwSP8Q8JKiCs9TBrbxTM6oA4d2CidjSM3zxfs72v",
        ),
    ];
    for (data, chunker, want) in cases {
        let flags: AddFlags =
            serde_json::from_value(serde_json::json!({ "chunker": chunker })).expect("flags");
        let opts = flags.resolve().expect("options");
        let entry = import_file("f", data, &opts, &NullSink, &Control::new()).expect("import");
        assert_eq!(format_cid(&entry.cid, CidBase::Default), want, "{chunker}");
    }
}
