//! CAR reader/writer, `dag export` order and `dag import`, against the byte vectors in
//! `shared/reference/gateway/car-vectors.json`, plus malformed, truncated and corrupted input.

use std::collections::BTreeMap;

use ipfs_kit_content::car::{self, CarReader, CarWriter};
use ipfs_kit_content::pb::{PbLink, PbNode};
use ipfs_kit_content::{
    Block, BlockSink, BlockSource, Cid, Codec, Error, HashAlg, MemoryBlocks, block_cid, parse_cid,
};
use ipld_core::ipld::Ipld;
use proptest::prelude::*;

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/gateway/car-vectors.json"
);

struct CarVector {
    id: String,
    root: Cid,
    bytes: Vec<u8>,
}

fn vectors() -> Vec<CarVector> {
    let text = std::fs::read_to_string(VECTORS).expect("read car-vectors.json");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("parse car-vectors.json");
    let out: Vec<CarVector> = doc["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .map(|v| CarVector {
            id: v["id"].as_str().unwrap().to_owned(),
            root: parse_cid(v["root"].as_str().unwrap()).unwrap(),
            bytes: hex::decode(v["car_hex"].as_str().unwrap()).unwrap(),
        })
        .collect();
    assert_eq!(out.len(), 3);
    out
}

fn read_all(bytes: &[u8]) -> Result<(Vec<Cid>, Vec<Block>), Error> {
    let reader = CarReader::new(bytes)?;
    let roots = reader.roots().to_vec();
    let blocks = reader.collect::<Result<Vec<_>, _>>()?;
    Ok((roots, blocks))
}

/// Wrap a CARv1 in a CARv2 container with `pad` bytes between header and payload and a fake
/// index after it.
fn to_v2(v1: &[u8], pad: usize) -> Vec<u8> {
    let mut out = vec![
        0x0a, 0xa1, 0x67, b'v', b'e', b'r', b's', b'i', b'o', b'n', 0x02,
    ];
    out.extend_from_slice(&[0u8; 16]); // characteristics
    let offset = 51 + pad as u64;
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(&(v1.len() as u64).to_le_bytes());
    out.extend_from_slice(&(offset + v1.len() as u64).to_le_bytes());
    out.extend(std::iter::repeat_n(0xee, pad));
    out.extend_from_slice(v1);
    out.extend_from_slice(b"\x80\x01index bytes that are ignored");
    out
}

#[test]
fn vectors_read_and_rewrite_byte_for_byte() {
    for v in vectors() {
        let (roots, blocks) = read_all(&v.bytes).unwrap();
        assert_eq!(roots, [v.root], "{}", v.id);
        assert_eq!(blocks[0].cid, v.root, "{}: root first", v.id);
        let mut w = CarWriter::new(Vec::new(), &roots).unwrap();
        for b in &blocks {
            w.write_block(&b.cid, &b.data).unwrap();
        }
        assert_eq!(w.finish().unwrap(), v.bytes, "{}", v.id);
    }
}

#[test]
fn vectors_export_identically() {
    for v in vectors() {
        let store = MemoryBlocks::new();
        let got = car::import_car(&v.bytes[..], &store).unwrap();
        assert_eq!(got.roots, [v.root]);
        assert_eq!(got.blocks as usize, store.len(), "{}", v.id);
        let mut out = Vec::new();
        let n = car::export_dag(&store, &v.root, &mut out).unwrap();
        assert_eq!(n as usize, store.len());
        assert_eq!(out, v.bytes, "{}", v.id);
    }
}

#[test]
fn carv2_payload_is_read() {
    for v in vectors() {
        let (_, want) = read_all(&v.bytes).unwrap();
        for pad in [0, 1, 77] {
            let v2 = to_v2(&v.bytes, pad);
            let reader = CarReader::new(&v2[..]).unwrap();
            assert_eq!(reader.version(), 2);
            assert_eq!(reader.roots(), [v.root]);
            let got = reader.collect::<Result<Vec<_>, _>>().unwrap();
            assert_eq!(got, want, "{} pad {pad}", v.id);
        }
        // payload size claims more than there is
        let mut v2 = to_v2(&v.bytes, 0);
        v2.truncate(51 + v.bytes.len());
        v2[35..43].copy_from_slice(&(v.bytes.len() as u64 + 10).to_le_bytes());
        assert!(
            matches!(read_all(&v2), Err(Error::MalformedCar(_))),
            "{}",
            v.id
        );
        // data offset inside the header
        let mut v2 = to_v2(&v.bytes, 0);
        v2[27..35].copy_from_slice(&40u64.to_le_bytes());
        assert!(matches!(read_all(&v2), Err(Error::MalformedCar(_))));
    }
}

/// Offsets where a section ends (a truncation there is a valid, shorter CAR).
fn section_ends(bytes: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let (len, rest) = unsigned_varint_decode(&bytes[pos..]);
        pos = bytes.len() - rest.len() + len;
        ends.push(pos);
    }
    ends
}

fn unsigned_varint_decode(b: &[u8]) -> (usize, &[u8]) {
    let mut v = 0usize;
    for (i, byte) in b.iter().enumerate() {
        v |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return (v, &b[i + 1..]);
        }
    }
    panic!("bad varint in vector")
}

#[test]
fn every_truncation_is_an_error_or_a_shorter_car() {
    for v in vectors() {
        let ends = section_ends(&v.bytes);
        let (_, all) = read_all(&v.bytes).unwrap();
        for cut in 0..v.bytes.len() {
            match read_all(&v.bytes[..cut]) {
                Ok((_, blocks)) => {
                    let k = ends.iter().position(|&e| e == cut).unwrap_or_else(|| {
                        panic!("{}: prefix {cut} accepted though not at a boundary", v.id)
                    });
                    // the first end is the header's
                    assert_eq!(blocks, all[..k], "{} cut {cut}", v.id);
                }
                Err(Error::MalformedCar(_)) => assert!(!ends.contains(&cut) || cut == 0),
                Err(e) => panic!("{}: prefix {cut}: unexpected {e}", v.id),
            }
        }
    }
}

#[test]
fn corrupted_block_is_detected() {
    let v = &vectors()[1];
    let mut bytes = v.bytes.clone();
    let last = bytes.len() - 2;
    bytes[last] ^= 0x01;
    match read_all(&bytes) {
        Err(Error::Corrupted(_)) => {}
        other => panic!("expected Corrupted, got {other:?}"),
    }
    let store = MemoryBlocks::new();
    assert!(matches!(
        car::import_car(&bytes[..], &store),
        Err(Error::Corrupted(_))
    ));
}

fn header_only() -> Vec<u8> {
    let root = block_cid(1, Codec::Raw, HashAlg::Sha2_256, b"x").unwrap();
    car::encode_header(&[root]).unwrap()
}

#[test]
fn malformed_inputs_are_rejected() {
    let cbor = |v: &Ipld| {
        let body = ipfs_kit_content::dag::encode(Codec::DagCbor, v).unwrap();
        let mut out = vec![body.len() as u8];
        out.extend(body);
        out
    };
    let root = block_cid(1, Codec::Raw, HashAlg::Sha2_256, b"x").unwrap();
    let map = |pairs: Vec<(&str, Ipld)>| {
        Ipld::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect::<BTreeMap<_, _>>(),
        )
    };
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("zero header length", vec![0]),
        ("header not cbor", vec![3, 0xff, 0xff, 0xff]),
        ("header is a list", cbor(&Ipld::List(vec![]))),
        (
            "version 3",
            cbor(&map(vec![
                ("roots", Ipld::List(vec![Ipld::Link(root)])),
                ("version", Ipld::Integer(3)),
            ])),
        ),
        (
            "no version",
            cbor(&map(vec![("roots", Ipld::List(vec![Ipld::Link(root)]))])),
        ),
        ("no roots", cbor(&map(vec![("version", Ipld::Integer(1))]))),
        (
            "root not a link",
            cbor(&map(vec![
                ("roots", Ipld::List(vec![Ipld::Integer(1)])),
                ("version", Ipld::Integer(1)),
            ])),
        ),
        (
            "version is text",
            cbor(&map(vec![
                ("roots", Ipld::List(vec![])),
                ("version", Ipld::String("1".into())),
            ])),
        ),
        ("huge header length", vec![0xff, 0xff, 0xff, 0xff, 0x0f]),
    ];
    let mut oversized = header_only();
    oversized.extend_from_slice(&[0x80, 0x80, 0x80, 0x03]); // 6 MiB section
    cases.push(("oversized section", oversized));
    let mut zero = header_only();
    zero.push(0);
    cases.push(("zero-length section", zero));
    let mut bad_cid = header_only();
    bad_cid.extend_from_slice(&[5, 0x03, 0x55, 0x12, 0x01, 0x00]);
    cases.push(("CID version 3", bad_cid));
    let mut short_digest = header_only();
    short_digest.extend_from_slice(&[6, 0x01, 0x55, 0x12, 0x20, 0xaa, 0xbb]);
    cases.push(("CID digest cut short", short_digest));
    let mut truncated = header_only();
    truncated.extend_from_slice(&[40, 0x01, 0x55]);
    cases.push(("truncated section", truncated));
    let mut bad_varint = header_only();
    bad_varint.extend_from_slice(&[0x80]);
    cases.push(("truncated varint", bad_varint));
    let mut trailing_in_header = header_only();
    trailing_in_header[0] += 1;
    trailing_in_header.insert(trailing_in_header[0] as usize, 0x00);
    cases.push(("header with trailing byte", trailing_in_header));
    let mut v2_bad_inner = vec![
        0x0a, 0xa1, 0x67, b'v', b'e', b'r', b's', b'i', b'o', b'n', 0x02,
    ];
    v2_bad_inner.extend_from_slice(&[0u8; 16]);
    let inner = cbor(&map(vec![
        ("roots", Ipld::List(vec![])),
        ("version", Ipld::Integer(2)),
    ]));
    v2_bad_inner.extend_from_slice(&51u64.to_le_bytes());
    v2_bad_inner.extend_from_slice(&(inner.len() as u64).to_le_bytes());
    v2_bad_inner.extend_from_slice(&0u64.to_le_bytes());
    v2_bad_inner.extend_from_slice(&inner);
    cases.push(("CARv2 wrapping a v2 header", v2_bad_inner));

    for (what, bytes) in cases {
        match read_all(&bytes) {
            Err(Error::MalformedCar(_)) => {}
            other => panic!("{what}: expected MalformedCar, got {other:?}"),
        }
    }
}

#[test]
fn empty_roots_and_unknown_header_fields_are_accepted() {
    let body = ipfs_kit_content::dag::encode(
        Codec::DagCbor,
        &Ipld::Map(BTreeMap::from([
            ("roots".to_owned(), Ipld::List(vec![])),
            ("version".to_owned(), Ipld::Integer(1)),
            ("x".to_owned(), Ipld::Bool(true)),
        ])),
    )
    .unwrap();
    let mut bytes = vec![body.len() as u8];
    bytes.extend(body);
    let (roots, blocks) = read_all(&bytes).unwrap();
    assert!(roots.is_empty() && blocks.is_empty());
}

fn put(store: &MemoryBlocks, codec: Codec, data: Vec<u8>) -> Cid {
    let cid = block_cid(1, codec, HashAlg::Sha2_256, &data).unwrap();
    store.put(&cid, &data).unwrap();
    cid
}

fn pb(store: &MemoryBlocks, children: &[Cid]) -> Cid {
    let node = PbNode {
        links: children
            .iter()
            .enumerate()
            .map(|(i, c)| PbLink::new(*c, format!("{i}"), 1))
            .collect(),
        data: Some(vec![8, 1].into()),
    };
    put(store, Codec::DagPb, node.encode())
}

fn exported_order(store: &MemoryBlocks, root: &Cid) -> Vec<Cid> {
    let mut out = Vec::new();
    car::export_dag(store, root, &mut out).unwrap();
    let (roots, blocks) = read_all(&out).unwrap();
    assert_eq!(roots, [*root]);
    blocks.into_iter().map(|b| b.cid).collect()
}

#[test]
fn export_is_depth_first_preorder_each_block_once() {
    let store = MemoryBlocks::new();
    let c = put(&store, Codec::Raw, b"c".to_vec());
    let d = put(&store, Codec::Raw, b"d".to_vec());
    let a = pb(&store, &[c]);
    let b = pb(&store, &[c, d]);
    let root = pb(&store, &[a, b, a, d]);
    assert_eq!(exported_order(&store, &root), [root, a, c, b, d]);

    // dag-cbor and dag-json links are followed too, in document order
    let j = put(
        &store,
        Codec::DagJson,
        format!(r#"{{"a":{{"/":"{d}"}},"b":[{{"/":"{a}"}}]}}"#).into_bytes(),
    );
    let cb = ipfs_kit_content::dag::encode(
        Codec::DagCbor,
        &Ipld::List(vec![Ipld::Link(j), Ipld::Link(c)]),
    )
    .unwrap();
    let top = put(&store, Codec::DagCbor, cb);
    assert_eq!(exported_order(&store, &top), [top, j, d, a, c]);
}

#[test]
fn export_of_missing_block_fails() {
    let store = MemoryBlocks::new();
    let missing = block_cid(1, Codec::Raw, HashAlg::Sha2_256, b"gone").unwrap();
    let root = pb(&store, &[missing]);
    let err = car::export_dag(&store, &root, Vec::new()).unwrap_err();
    assert!(matches!(err, Error::NotFound(c) if c == missing));
    assert!(matches!(
        car::export_dag(&store, &missing, Vec::new()),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn deep_chain_exports_without_recursion() {
    let store = MemoryBlocks::new();
    let mut cur = put(&store, Codec::Raw, b"leaf".to_vec());
    for _ in 0..20_000 {
        cur = pb(&store, &[cur]);
    }
    let mut out = Vec::new();
    assert_eq!(car::export_dag(&store, &cur, &mut out).unwrap(), 20_001);
    let copy = MemoryBlocks::new();
    let got = car::import_car(&out[..], &copy).unwrap();
    assert_eq!((got.roots, got.blocks), (vec![cur], 20_001));
    assert_eq!(copy.get(&cur).unwrap(), store.get(&cur).unwrap());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    /// Random edits of valid CARs never panic: the result is an error or verified blocks.
    #[test]
    fn mutated_cars_never_panic(
        which in 0usize..3,
        v2 in any::<bool>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
    ) {
        let vs = vectors();
        let mut bytes = if v2 { to_v2(&vs[which].bytes, 3) } else { vs[which].bytes.clone() };
        for (at, byte, kind) in edits {
            if bytes.is_empty() { break; }
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] ^= byte | 1,
                1 => bytes.insert(i, byte),
                _ => { bytes.remove(i); }
            }
        }
        if let Ok(reader) = CarReader::new(&bytes[..]) {
            for block in reader {
                match block {
                    Ok(b) => prop_assert!(Block::verify(&b.cid, &b.data).is_ok()),
                    Err(_) => break,
                }
            }
        }
    }
}
