//! The `go-math-rand-v1` vectors of `cid-vectors.json`: inputs regenerated with Go's `math/rand` (v1)
//! stream, checked against the SHA-1 the vectors carry, then imported.

#[path = "support/gomathrand.rs"]
mod gomathrand;

use std::io::Read;

use gomathrand::{go_math_rand_v1, go_math_rand_v1_reader};
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
        [5577006791947779410, 8674665223082153551, 6129484611666145821]
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
    assert_eq!(sha1_of(go_math_rand_v1_reader(v.seed, v.size)), v.sha1, "{}", v.id);
}
