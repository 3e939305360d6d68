//! UnixFS export: reference DAGs, hand-built file DAGs (balanced, trickle, raw and identity leaves,
//! inline data), hand-built HAMT directories, `get` to disk and tar, and hostile inputs.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::Bytes;
use ipfs_kit_content::export::{self, Control, GetOptions, NodeKind};
use ipfs_kit_content::pb::{PbLink, PbNode};
use ipfs_kit_content::unixfs::{DataType, Mtime, UnixfsData};
use ipfs_kit_content::{
    Block, BlockSink, BlockSource, Cid, Codec, Error, HashAlg, MemoryBlocks, block_cid, parse_cid,
};

// ---------- helpers ----------

fn reference(name: &str) -> serde_json::Value {
    let p = format!(
        "{}/../../../shared/reference/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

fn chacha(seed: &str, size: usize) -> Vec<u8> {
    use chacha20::ChaCha20;
    use chacha20::cipher::{KeyIvInit, StreamCipher};
    use sha2::Digest;
    let key: [u8; 32] = sha2::Sha256::digest(seed.as_bytes()).into();
    let mut c = ChaCha20::new(&key.into(), &[0u8; 12].into());
    let mut v = vec![0u8; size];
    c.apply_keystream(&mut v);
    v
}

/// Deterministic pseudo-random bytes (xorshift), for test data.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn put_raw(s: &MemoryBlocks, data: &[u8]) -> Cid {
    let cid = block_cid(1, Codec::Raw, HashAlg::Sha2_256, data).unwrap();
    s.put(&cid, data).unwrap();
    cid
}

fn put_pb(s: &MemoryBlocks, node: &PbNode) -> (Cid, u64) {
    let bytes = node.encode();
    let cid = block_cid(0, Codec::DagPb, HashAlg::Sha2_256, &bytes).unwrap();
    s.put(&cid, &bytes).unwrap();
    let tsize = bytes.len() as u64 + node.links.iter().map(|l| l.tsize.unwrap()).sum::<u64>();
    (cid, tsize)
}

fn fs_node(fs: &UnixfsData, links: Vec<PbLink>) -> PbNode {
    PbNode {
        links,
        data: Some(Bytes::from(fs.encode())),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Leaf {
    PbFile,
    PbRaw,
    Raw,
    Identity,
}

/// (cid, file size, tsize)
type Built = (Cid, u64, u64);

fn leaf(s: &MemoryBlocks, data: &[u8], kind: Leaf) -> Built {
    match kind {
        Leaf::Raw => (put_raw(s, data), data.len() as u64, data.len() as u64),
        Leaf::Identity => {
            let cid = block_cid(1, Codec::Raw, HashAlg::Identity, data).unwrap();
            (cid, data.len() as u64, data.len() as u64)
        }
        Leaf::PbFile | Leaf::PbRaw => {
            let mut fs = UnixfsData::new(if kind == Leaf::PbFile {
                DataType::File
            } else {
                DataType::Raw
            });
            if !data.is_empty() {
                fs.data = Some(Bytes::copy_from_slice(data));
            }
            fs.filesize = Some(data.len() as u64);
            let (cid, t) = put_pb(s, &fs_node(&fs, vec![]));
            (cid, data.len() as u64, t)
        }
    }
}

fn internal(s: &MemoryBlocks, children: &[Built]) -> Built {
    let mut fs = UnixfsData::new(DataType::File);
    fs.blocksizes = children.iter().map(|c| c.1).collect();
    let total = fs.blocksizes.iter().sum();
    fs.filesize = Some(total);
    let links = children.iter().map(|c| PbLink::new(c.0, "", c.2)).collect();
    let (cid, t) = put_pb(s, &fs_node(&fs, links));
    (cid, total, t)
}

/// Split `data` into chunks of the given repeating sizes.
fn chunks<'d>(data: &'d [u8], sizes: &[usize]) -> Vec<&'d [u8]> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < data.len() {
        let n = sizes[i % sizes.len()].min(data.len() - at);
        out.push(&data[at..at + n]);
        at += n;
        i += 1;
    }
    out
}

/// A balanced DAG built bottom-up, `max` links per node.
fn balanced(s: &MemoryBlocks, data: &[u8], sizes: &[usize], max: usize, kind: Leaf) -> Cid {
    let mut level: Vec<Built> = chunks(data, sizes)
        .into_iter()
        .map(|c| leaf(s, c, kind))
        .collect();
    if level.is_empty() {
        level.push(leaf(s, b"", kind));
    }
    while level.len() > 1 {
        level = level.chunks(max).map(|g| internal(s, g)).collect();
    }
    level[0].0
}

/// Kubo's trickle layout (unixfs-notes §5), leaves of kind `kind`.
fn trickle(s: &MemoryBlocks, data: &[u8], size: usize, max: usize, kind: Leaf) -> Cid {
    fn fill(
        s: &MemoryBlocks,
        it: &mut std::iter::Peekable<std::vec::IntoIter<Built>>,
        max: usize,
        max_depth: Option<usize>,
    ) -> Built {
        let mut kids = Vec::new();
        while kids.len() < max {
            match it.next() {
                Some(l) => kids.push(l),
                None => break,
            }
        }
        let mut depth = 1;
        while it.peek().is_some() && max_depth.is_none_or(|m| depth < m) {
            for _ in 0..4 {
                if it.peek().is_none() {
                    break;
                }
                kids.push(fill(s, it, max, Some(depth)));
            }
            depth += 1;
        }
        internal(s, &kids)
    }
    let leaves: Vec<Built> = chunks(data, &[size])
        .into_iter()
        .map(|c| leaf(s, c, kind))
        .collect();
    fill(s, &mut leaves.into_iter().peekable(), max, None).0
}

fn cat_all(s: &dyn BlockSource, cid: &Cid) -> Vec<u8> {
    let mut out = Vec::new();
    export::cat(s, cid, 0, None)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn check_ranges(s: &MemoryBlocks, cid: &Cid, data: &[u8]) {
    let n = data.len() as u64;
    let mut points: Vec<u64> = vec![0, 1, n / 3, n / 2, n.saturating_sub(1), n, n + 5];
    points.extend((0..40).map(|i| (i * 7919 + 13) % (n + 1)));
    let lens = [
        None,
        Some(0),
        Some(1),
        Some(2),
        Some(997),
        Some(n / 2),
        Some(n * 2),
    ];
    for &off in &points {
        for &len in &lens {
            let mut out = Vec::new();
            let mut r = export::cat(s, cid, off, len).unwrap();
            r.read_to_end(&mut out).unwrap();
            let a = (off.min(n)) as usize;
            let b = len.map_or(n, |l| (off.saturating_add(l)).min(n)) as usize;
            assert_eq!(out, &data[a..b.max(a)], "offset {off} length {len:?}");
        }
    }
    // chunk API (with and without parallel read-ahead) and small-buffer reads agree
    for ra in [4096, export::READ_AHEAD] {
        let mut r = export::FileReader::open(s, cid)
            .unwrap()
            .with_read_ahead(ra);
        let mut got = Vec::new();
        while let Some(c) = r.next_chunk().unwrap() {
            got.extend_from_slice(&c);
        }
        assert_eq!(got, data);
    }
    let mut r = export::FileReader::open(s, cid).unwrap();
    let mut got = Vec::new();
    while let Some(c) = r.next_chunk().unwrap() {
        got.extend_from_slice(&c);
    }
    assert_eq!(got, data);
    let mut r = export::FileReader::open(s, cid).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 13];
    loop {
        let k = r.read(&mut buf).unwrap();
        if k == 0 {
            break;
        }
        got.extend_from_slice(&buf[..k]);
    }
    assert_eq!(got, data);
    // random seeks
    let mut r = export::FileReader::open(s, cid).unwrap();
    assert_eq!(r.size(), n);
    for i in 0..30u64 {
        let to = (i * 104_729 + 7) % (n + 1);
        let from = match i % 3 {
            0 => SeekFrom::Start(to),
            1 => SeekFrom::End(to as i64 - n as i64),
            _ => SeekFrom::Current(to as i64 - r.position() as i64),
        };
        assert_eq!(r.seek(from).unwrap(), to);
        let mut buf = vec![0u8; 300];
        let mut k = 0;
        while k < buf.len() {
            let m = r.read(&mut buf[k..]).unwrap();
            if m == 0 {
                break;
            }
            k += m;
        }
        let end = (to as usize + 300).min(data.len());
        assert_eq!(&buf[..k], &data[to as usize..end], "seek to {to}");
    }
    assert!(r.seek(SeekFrom::Current(-(n as i64) - 1000)).is_err());
    assert_eq!(export::stat(s, cid).unwrap().size, n);
}

// ---------- reference DAGs ----------

#[test]
fn reference_blocks_decode_to_their_inputs() {
    let blocks = reference("unixfs-blocks.json");
    let vectors = reference("cid-vectors.json");
    let by_id: BTreeMap<String, serde_json::Value> = vectors["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["id"].as_str().unwrap().to_string(), v.clone()))
        .collect();
    let mut checked = 0;
    for dag in blocks["blocks"].as_array().unwrap() {
        let id = dag["id"].as_str().unwrap();
        let input = &by_id[id]["input"];
        let s = MemoryBlocks::new();
        let put = |cid: &str, bytes: Vec<u8>| {
            let cid = parse_cid(cid).unwrap();
            Block::verify(&cid, &bytes).unwrap();
            s.put(&cid, &bytes).unwrap();
        };
        let root = parse_cid(dag["root_cid"].as_str().unwrap()).unwrap();
        put(
            dag["root_cid"].as_str().unwrap(),
            hex::decode(dag["root_block_hex"].as_str().unwrap()).unwrap(),
        );
        // The expected file bytes, when the input is a single file.
        let content: Option<Vec<u8>> = match input["kind"].as_str().unwrap() {
            "bytes" => Some(input["utf8"].as_str().unwrap().as_bytes().to_vec()),
            "chacha20" => Some(chacha(
                input["seed"].as_str().unwrap(),
                input["size"].as_u64().unwrap() as usize,
            )),
            _ => None,
        };
        for b in dag["other_blocks"].as_array().unwrap() {
            let cid = b["cid"].as_str().unwrap();
            let bytes = match b["hex"].as_str() {
                Some(h) => hex::decode(h).unwrap(),
                None => {
                    // Large leaf: regenerate it from the input (first chunk of the file).
                    let size = b["size"].as_u64().unwrap() as usize;
                    let data = content.as_ref().unwrap();
                    if cid.starts_with("Qm") {
                        let chunk = &data[..262_144];
                        let mut fs = UnixfsData::new(DataType::File);
                        fs.data = Some(Bytes::copy_from_slice(chunk));
                        fs.filesize = Some(chunk.len() as u64);
                        let enc = fs_node(&fs, vec![]).encode();
                        assert_eq!(enc.len(), size);
                        enc
                    } else {
                        data[..size].to_vec()
                    }
                }
            };
            put(cid, bytes);
        }
        let st = export::stat(&s, &root).unwrap();
        match input["kind"].as_str().unwrap() {
            "bytes" | "chacha20" => {
                let data = content.unwrap();
                assert_eq!(st.kind, NodeKind::File, "{id}");
                assert_eq!(cat_all(&s, &root), data, "{id}");
                if data.len() > 1000 {
                    check_ranges(&s, &root, &data);
                }
            }
            "directory" => {
                assert_eq!(st.kind, NodeKind::Directory, "{id}");
                let entries = input["entries"].as_array().unwrap();
                let listed: Vec<_> = export::ls(&s, &root, true)
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                assert_eq!(listed.len(), entries.len(), "{id}");
                for (e, l) in entries.iter().zip(&listed) {
                    let text = e["utf8"].as_str().unwrap();
                    assert_eq!(l.name, e["path"].as_str().unwrap());
                    assert_eq!(l.size, text.len() as u64);
                    assert_eq!(l.kind.kubo_type(), 2);
                    let cid = export::resolve(&s, &root, &l.name).unwrap();
                    assert_eq!(cid, l.cid);
                    assert_eq!(cat_all(&s, &cid), text.as_bytes());
                    let full = format!("/ipfs/{root}/{}", l.name);
                    assert_eq!(export::resolve_path(&s, &full).unwrap(), cid);
                }
            }
            "symlink" => {
                assert_eq!(st.kind, NodeKind::Symlink);
                assert_eq!(
                    st.symlink_target.as_deref(),
                    input["target"].as_str(),
                    "{id}"
                );
                assert!(matches!(
                    export::cat(&s, &root, 0, None),
                    Err(Error::WrongKind(_))
                ));
            }
            other => panic!("unexpected input kind {other}"),
        }
        checked += 1;
    }
    assert_eq!(checked, 10);
}

// ---------- hand-built files ----------

#[test]
fn balanced_multi_level_odd_sizes() {
    let data = noise(1, 150_001);
    for (kind, max) in [(Leaf::PbFile, 3), (Leaf::Raw, 2), (Leaf::PbFile, 174)] {
        let s = MemoryBlocks::new();
        let cid = balanced(&s, &data, &[997, 1, 4096, 333, 0, 2048], max, kind);
        check_ranges(&s, &cid, &data);
    }
}

#[test]
fn trickle_layouts() {
    let data = noise(2, 90_000);
    for (kind, size, max) in [
        (Leaf::PbRaw, 100, 4),
        (Leaf::Raw, 777, 3),
        (Leaf::PbRaw, 1, 174),
    ] {
        let s = MemoryBlocks::new();
        let cid = trickle(&s, &data[..(size * 700).min(data.len())], size, max, kind);
        check_ranges(&s, &cid, &data[..(size * 700).min(data.len())]);
    }
    // Kubo's "Hello Worlds!\n" with --trickle
    let s = MemoryBlocks::new();
    let cid = trickle(&s, b"Hello Worlds!\n", 262_144, 174, Leaf::PbRaw);
    assert_eq!(
        cid.to_string(),
        "QmUkUQgxXeggyaD5Ckv8ZqfW8wHBX6cYyeiyqvVZYzq5Bi"
    );
    assert_eq!(cat_all(&s, &cid), b"Hello Worlds!\n");
}

#[test]
fn identity_leaves_single_raw_block_and_empty_files() {
    let data = noise(3, 5000);
    let s = MemoryBlocks::new();
    let cid = balanced(&s, &data, &[30, 17], 5, Leaf::Identity);
    check_ranges(&s, &cid, &data);
    let raw = put_raw(&s, &data);
    check_ranges(&s, &raw, &data);
    let st = export::stat(&s, &raw).unwrap();
    assert_eq!((st.kind, st.size, st.links), (NodeKind::Raw, 5000, 0));
    for kind in [Leaf::PbFile, Leaf::Raw] {
        let e = balanced(&s, b"", &[10], 3, kind);
        assert_eq!(cat_all(&s, &e), b"");
        assert_eq!(export::stat(&s, &e).unwrap().size, 0);
    }
    // The identity CID alone, without any store behind it.
    struct Nothing;
    impl BlockSource for Nothing {
        fn get(&self, cid: &Cid) -> ipfs_kit_content::Result<Bytes> {
            Err(Error::NotFound(*cid))
        }
    }
    let id = block_cid(1, Codec::Raw, HashAlg::Identity, b"inline!").unwrap();
    assert_eq!(cat_all(&Nothing, &id), b"inline!");
}

#[test]
fn node_with_inline_data_and_children() {
    let s = MemoryBlocks::new();
    let a = leaf(&s, b"-child-one-", Leaf::Raw);
    let b = leaf(&s, b"-two-", Leaf::PbFile);
    let mut fs = UnixfsData::new(DataType::File);
    fs.data = Some(Bytes::from_static(b"HEAD"));
    fs.blocksizes = vec![a.1, b.1];
    fs.filesize = Some(4 + a.1 + b.1);
    let (cid, _) = put_pb(
        &s,
        &fs_node(
            &fs,
            vec![PbLink::new(a.0, "", a.2), PbLink::new(b.0, "", b.2)],
        ),
    );
    check_ranges(&s, &cid, b"HEAD-child-one--two-");
}

// ---------- broken DAGs ----------

fn expect_malformed(s: &MemoryBlocks, cid: &Cid) {
    let mut out = Vec::new();
    let r = export::cat(s, cid, 0, None).and_then(|mut r| r.write_to(&mut out));
    assert!(
        matches!(r, Err(Error::MalformedBlock { .. })),
        "expected a malformed-DAG error, got {r:?}"
    );
}

#[test]
fn inconsistent_and_missing_blocks_are_errors() {
    // blocksizes that do not match the child
    let s = MemoryBlocks::new();
    let a = leaf(&s, b"aaaa", Leaf::Raw);
    let b = leaf(&s, b"bbbbbb", Leaf::Raw);
    let mut fs = UnixfsData::new(DataType::File);
    fs.blocksizes = vec![4, 5];
    fs.filesize = Some(9);
    let (bad, _) = put_pb(
        &s,
        &fs_node(&fs, vec![PbLink::new(a.0, "", 4), PbLink::new(b.0, "", 6)]),
    );
    expect_malformed(&s, &bad);
    // filesize that does not add up
    fs.blocksizes = vec![4, 6];
    fs.filesize = Some(11);
    let (bad, _) = put_pb(
        &s,
        &fs_node(&fs, vec![PbLink::new(a.0, "", 4), PbLink::new(b.0, "", 6)]),
    );
    assert!(matches!(
        export::cat(&s, &bad, 0, None),
        Err(Error::MalformedBlock { .. })
    ));
    // links and blocksizes of different lengths
    fs.blocksizes = vec![4];
    fs.filesize = Some(4);
    let (bad, _) = put_pb(
        &s,
        &fs_node(&fs, vec![PbLink::new(a.0, "", 4), PbLink::new(b.0, "", 6)]),
    );
    expect_malformed(&s, &bad);
    // a directory inside a file
    let (dir, _) = put_pb(&s, &fs_node(&UnixfsData::new(DataType::Directory), vec![]));
    fs.blocksizes = vec![4, 0];
    fs.filesize = Some(4);
    let (bad, _) = put_pb(
        &s,
        &fs_node(&fs, vec![PbLink::new(a.0, "", 4), PbLink::new(dir, "", 4)]),
    );
    expect_malformed(&s, &bad);

    // a good multi-level file, then break it in different ways
    let data = noise(9, 20_000);
    let good_store = MemoryBlocks::new();
    let root = balanced(&good_store, &data, &[1000], 4, Leaf::PbFile);
    let cids = good_store.cids();
    for victim in cids.iter().filter(|c| **c != root) {
        // missing block
        let s = MemoryBlocks::new();
        for c in &cids {
            if c != victim {
                s.put(c, &good_store.get(c).unwrap()).unwrap();
            }
        }
        let mut out = Vec::new();
        let r = export::cat(&s, &root, 0, None).and_then(|mut r| r.write_to(&mut out));
        assert!(
            matches!(r, Err(Error::NotFound(c)) if c == *victim),
            "{r:?}"
        );
        let r = export::FileReader::open(&s, &root)
            .map(|r| r.with_read_ahead(export::READ_AHEAD))
            .and_then(|mut r| r.write_to(&mut std::io::sink()));
        assert!(
            matches!(r, Err(Error::NotFound(c)) if c == *victim),
            "{r:?}"
        );
        // truncated block
        let bytes = good_store.get(victim).unwrap();
        let s2 = MemoryBlocks::new();
        for c in &cids {
            let b = if c == victim {
                bytes.slice(..bytes.len() - 3)
            } else {
                good_store.get(c).unwrap()
            };
            s2.put(c, &b).unwrap();
        }
        let mut out = Vec::new();
        let r = export::cat(&s2, &root, 0, None).and_then(|mut r| r.write_to(&mut out));
        assert!(r.is_err(), "truncated {victim} gave {} bytes", out.len());
    }
    // Reading through io::Read reports the typed error inside the io::Error.
    let s = MemoryBlocks::new();
    for c in cids.iter().filter(|c| **c != root).skip(1) {
        s.put(c, &good_store.get(c).unwrap()).unwrap();
    }
    s.put(&root, &good_store.get(&root).unwrap()).unwrap();
    let mut out = Vec::new();
    let e = export::cat(&s, &root, 0, None)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap_err();
    assert!(
        e.get_ref()
            .and_then(|i| i.downcast_ref::<Error>())
            .is_some_and(|e| matches!(e, Error::NotFound(_)))
    );
}

// ---------- directories ----------

fn dir_node(s: &MemoryBlocks, entries: &[(&str, Cid, u64)]) -> (Cid, u64) {
    let mut fs = UnixfsData::new(DataType::Directory);
    fs.mode = None;
    let mut links: Vec<PbLink> = entries
        .iter()
        .map(|(n, c, t)| PbLink::new(*c, *n, *t))
        .collect();
    links.sort_by(|a, b| a.name.cmp(&b.name));
    put_pb(s, &fs_node(&fs, links))
}

fn symlink(s: &MemoryBlocks, target: &str) -> (Cid, u64) {
    let mut fs = UnixfsData::new(DataType::Symlink);
    fs.data = Some(Bytes::copy_from_slice(target.as_bytes()));
    put_pb(s, &fs_node(&fs, vec![]))
}

fn murmur64(name: &str) -> u64 {
    murmur3::murmur3_x64_128(&mut name.as_bytes(), 0).unwrap() as u64
}

/// A HAMT directory built by hand following unixfs-notes §6.
fn hamt(s: &MemoryBlocks, entries: &[(String, Cid, u64)], fanout: u64) -> (Cid, u64) {
    fn shard(
        s: &MemoryBlocks,
        entries: &[(u64, &str, Cid, u64)],
        level: u32,
        fanout: u64,
    ) -> (Cid, u64) {
        let bits = fanout.trailing_zeros();
        let pad = format!("{:X}", fanout - 1).len();
        let slot = |h: u64| (h << (level * bits)) >> (64 - bits);
        let mut by_slot: BTreeMap<u64, Vec<(u64, &str, Cid, u64)>> = BTreeMap::new();
        for e in entries {
            by_slot.entry(slot(e.0)).or_default().push(*e);
        }
        let mut bitfield = vec![0u8; (fanout / 8) as usize];
        let mut links = Vec::new();
        for (slot, es) in &by_slot {
            let byte = bitfield.len() - 1 - (*slot / 8) as usize;
            bitfield[byte] |= 1 << (slot % 8);
            let prefix = format!("{slot:0pad$X}");
            if es.len() == 1 {
                links.push(PbLink::new(
                    es[0].2,
                    format!("{prefix}{}", es[0].1),
                    es[0].3,
                ));
            } else {
                let (c, t) = shard(s, es, level + 1, fanout);
                links.push(PbLink::new(c, prefix, t));
            }
        }
        let first = bitfield
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(bitfield.len());
        let mut fs = UnixfsData::new(DataType::HamtShard);
        fs.data = Some(Bytes::copy_from_slice(&bitfield[first..]));
        fs.hash_type = Some(0x22);
        fs.fanout = Some(fanout);
        put_pb(s, &fs_node(&fs, links))
    }
    let hashed: Vec<_> = entries
        .iter()
        .map(|(n, c, t)| (murmur64(n), n.as_str(), *c, *t))
        .collect();
    shard(s, &hashed, 0, fanout)
}

#[test]
fn murmur_matches_kubo_shard_bitfield_note() {
    // Go's murmur3.Sum64("") is 0 (h1 of the empty input with seed 0).
    assert_eq!(murmur64(""), 0);
}

fn file_set(s: &MemoryBlocks, n: usize) -> Vec<(String, Cid, u64, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let name = format!("file-{i:05}.txt");
            let data = noise(i as u64 + 100, i % 50);
            let (cid, _, t) = leaf(s, &data, Leaf::Raw);
            (name, cid, t, data)
        })
        .collect()
}

#[test]
fn hamt_lookup_and_listing() {
    for (fanout, n) in [(256u64, 1000usize), (16, 300), (8, 60), (1024, 50)] {
        let s = MemoryBlocks::new();
        let files = file_set(&s, n);
        let entries: Vec<_> = files.iter().map(|f| (f.0.clone(), f.1, f.2)).collect();
        let (root, _) = hamt(&s, &entries, fanout);
        let st = export::stat(&s, &root).unwrap();
        assert_eq!(st.kind, NodeKind::HamtDirectory);
        assert_eq!(st.fanout, Some(fanout));
        for (name, cid, _, data) in &files {
            assert_eq!(&export::resolve(&s, &root, name).unwrap(), cid, "{name}");
            assert_eq!(&cat_all(&s, cid), data);
        }
        let missing = export::resolve(&s, &root, "nope.txt").unwrap_err();
        assert!(
            matches!(&missing, Error::NoSuchEntry { name, .. } if name == "nope.txt"),
            "{missing}"
        );
        // listing order = shard walk order = ascending key hash
        let listed: Vec<_> = export::ls(&s, &root, false)
            .unwrap()
            .map(|e| e.unwrap().name)
            .collect();
        let mut expect: Vec<_> = files.iter().map(|f| f.0.clone()).collect();
        expect.sort_by_key(|n| murmur64(n));
        assert_eq!(listed, expect, "fanout {fanout}");
        let resolved: Vec<_> = export::ls(&s, &root, true)
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        assert!(resolved.iter().all(|e| e.kind == NodeKind::Raw));
    }
}

#[test]
fn plain_dirs_ls_stat_and_paths() {
    let s = MemoryBlocks::new();
    let data = noise(5, 40_000);
    let big = balanced(&s, &data, &[4096], 3, Leaf::PbFile);
    let big_t = export::stat(&s, &big).unwrap().cumulative_size;
    let (link, lt) = symlink(&s, "../elsewhere");
    let (sub, st) = dir_node(&s, &[("big.bin", big, big_t), ("link", link, lt)]);
    let (root, _) = dir_node(&s, &[("sub", sub, st), ("z", big, big_t)]);
    assert_eq!(export::resolve(&s, &root, "sub/big.bin").unwrap(), big);
    assert_eq!(export::resolve(&s, &root, "/sub/big.bin/").unwrap(), big);
    assert_eq!(export::resolve(&s, &root, "").unwrap(), root);
    assert_eq!(
        export::resolve_path(&s, &format!("{root}/sub/link")).unwrap(),
        link
    );
    for bad in ["sub/../z", "sub//big.bin", "./z", "z\0"] {
        assert!(
            matches!(
                export::resolve(&s, &root, bad),
                Err(Error::InvalidPath { .. })
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        export::resolve(&s, &root, "sub/big.bin/x"),
        Err(Error::InvalidPath { .. })
    ));
    assert!(matches!(
        export::resolve(&s, &root, "sub/missing"),
        Err(Error::NoSuchEntry { .. })
    ));
    assert!(matches!(
        export::resolve_path(&s, "/ipfs/notacid/x"),
        Err(Error::InvalidCid { .. })
    ));
    match export::cat(&s, &root, 0, None) {
        Err(Error::WrongKind(m)) => assert_eq!(m, "this dag node is a directory"),
        other => panic!("{other:?}"),
    }
    let names: Vec<_> = export::ls(&s, &sub, true)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| (e.name, e.kind, e.size, e.target))
        .collect();
    assert_eq!(
        names,
        vec![
            ("big.bin".into(), NodeKind::File, 40_000, None),
            (
                "link".into(),
                NodeKind::Symlink,
                12,
                Some("../elsewhere".into())
            )
        ]
    );
    // ls of a file lists its chunk links
    let chunks: Vec<_> = export::ls(&s, &big, true)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    assert_eq!(chunks.len(), 2);
    assert!(
        chunks
            .iter()
            .all(|c| c.name.is_empty() && c.kind == NodeKind::File)
    );
    assert_eq!(chunks.iter().map(|c| c.size).sum::<u64>(), 40_000);
    let st = export::stat(&s, &root).unwrap();
    assert_eq!((st.kind, st.size, st.links), (NodeKind::Directory, 0, 2));
    assert_eq!(export::default_mode(st.kind), 0o755);
}

// ---------- get ----------

fn compare_tree(s: &MemoryBlocks, cid: &Cid, path: &Path) {
    let st = export::stat(s, cid).unwrap();
    let meta = std::fs::symlink_metadata(path).unwrap();
    match st.kind {
        NodeKind::File | NodeKind::Raw => {
            assert!(meta.is_file(), "{}", path.display());
            assert_eq!(std::fs::read(path).unwrap(), cat_all(s, cid));
        }
        NodeKind::Symlink => {
            assert!(meta.file_type().is_symlink());
            assert_eq!(
                std::fs::read_link(path).unwrap().to_str(),
                st.symlink_target.as_deref()
            );
        }
        NodeKind::Directory | NodeKind::HamtDirectory => {
            assert!(meta.is_dir());
            let entries: Vec<_> = export::ls(s, cid, false)
                .unwrap()
                .map(|e| e.unwrap())
                .collect();
            assert_eq!(std::fs::read_dir(path).unwrap().count(), entries.len());
            for e in entries {
                compare_tree(s, &e.cid, &path.join(&e.name));
            }
        }
        NodeKind::Unknown => panic!(),
    }
}

fn sample_tree(s: &MemoryBlocks) -> Cid {
    let files = file_set(s, 300);
    let entries: Vec<_> = files.iter().map(|f| (f.0.clone(), f.1, f.2)).collect();
    let (h, ht) = hamt(s, &entries, 256);
    let data = noise(7, 70_000);
    let big = balanced(s, &data, &[1000, 3000], 5, Leaf::PbRaw);
    let (link, lt) = symlink(s, "/etc/passwd");
    let (empty, et) = dir_node(s, &[]);
    let (inner, it) = dir_node(
        s,
        &[("big", big, 1), ("empty", empty, et), ("ln", link, lt)],
    );
    dir_node(
        s,
        &[("hamt", h, ht), ("inner", inner, it), ("top.bin", big, 1)],
    )
    .0
}

#[test]
fn get_writes_trees_files_and_symlinks() {
    let s = MemoryBlocks::new();
    let root = sample_tree(&s);
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("out/nested");
    let bytes = Arc::new(AtomicU64::new(0));
    let b2 = Arc::clone(&bytes);
    let opts = GetOptions {
        control: Control::new().with_progress(move |n| b2.store(n, Ordering::Relaxed)),
        ..GetOptions::default()
    };
    let sum = export::get(&s, &root, &dest, &opts).unwrap();
    compare_tree(&s, &root, &dest);
    assert_eq!(sum.files, 302);
    assert_eq!(sum.symlinks, 1);
    assert_eq!(sum.directories, 4);
    assert_eq!(bytes.load(Ordering::Relaxed), sum.bytes);
    // no temp files left behind
    let leftovers = walk_names(&dest)
        .into_iter()
        .filter(|n| n.contains(".part"))
        .count();
    assert_eq!(leftovers, 0);
    // refuses to overwrite, unless asked
    let again = export::get(&s, &root, &dest, &GetOptions::default()).unwrap_err();
    assert!(matches!(&again, Error::Io(e) if e.kind() == std::io::ErrorKind::AlreadyExists));
    let over = GetOptions {
        overwrite: true,
        ..GetOptions::default()
    };
    export::get(&s, &root, &dest, &over).unwrap();
    compare_tree(&s, &root, &dest);
    // single file and symlink roots
    let file_cid = export::resolve(&s, &root, "top.bin").unwrap();
    let f = tmp.path().join("single.bin");
    export::get(&s, &file_cid, &f, &GetOptions::default()).unwrap();
    compare_tree(&s, &file_cid, &f);
    let ln = export::resolve(&s, &root, "inner/ln").unwrap();
    let l = tmp.path().join("single-link");
    export::get(&s, &ln, &l, &GetOptions::default()).unwrap();
    compare_tree(&s, &ln, &l);
}

fn walk_names(p: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![p.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            out.push(e.path().display().to_string());
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            }
        }
    }
    out
}

#[test]
fn get_applies_mode_and_mtime_when_asked() {
    use std::os::unix::fs::PermissionsExt;
    let s = MemoryBlocks::new();
    let mut fs = UnixfsData::new(DataType::File);
    fs.data = Some(Bytes::from_static(b"hi"));
    fs.filesize = Some(2);
    fs.mode = Some(0o640);
    fs.mtime = Some(Mtime {
        seconds: 1_000_000_000,
        nanos: Some(5),
    });
    let (f, ft) = put_pb(&s, &fs_node(&fs, vec![]));
    let mut dfs = UnixfsData::new(DataType::Directory);
    dfs.mode = Some(0o700);
    dfs.mtime = Some(Mtime {
        seconds: 12345,
        nanos: None,
    });
    let (d, _) = put_pb(&s, &fs_node(&dfs, vec![PbLink::new(f, "f", ft)]));
    let tmp = tempfile::tempdir().unwrap();
    let opts = GetOptions {
        preserve_mode: true,
        preserve_mtime: true,
        ..GetOptions::default()
    };
    export::get(&s, &d, &tmp.path().join("d"), &opts).unwrap();
    let fm = std::fs::metadata(tmp.path().join("d/f")).unwrap();
    assert_eq!(fm.permissions().mode() & 0o7777, 0o640);
    let secs = |m: &std::fs::Metadata| {
        m.modified()
            .unwrap()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
    };
    assert_eq!(secs(&fm).as_secs(), 1_000_000_000);
    assert_eq!(secs(&fm).subsec_nanos(), 5);
    let dm = std::fs::metadata(tmp.path().join("d")).unwrap();
    assert_eq!(dm.permissions().mode() & 0o7777, 0o700);
    assert_eq!(secs(&dm).as_secs(), 12345);
    // without the flags, nothing is applied
    export::get(&s, &d, &tmp.path().join("plain"), &GetOptions::default()).unwrap();
    let pm = std::fs::metadata(tmp.path().join("plain/f")).unwrap();
    assert_ne!(secs(&pm).as_secs(), 1_000_000_000);
}

#[test]
fn get_refuses_hostile_names_and_writes_nothing_outside() {
    let s = MemoryBlocks::new();
    let (f, ft, _) = {
        let b = leaf(&s, b"pwned", Leaf::Raw);
        (b.0, b.2, ())
    };
    for bad in ["../x", "a/b", "", ".", "..", "nul\0byte", "/abs"] {
        let links = vec![PbLink::new(f, bad, ft)];
        let (d, _) = put_pb(&s, &fs_node(&UnixfsData::new(DataType::Directory), links));
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("dest");
        let err = export::get(&s, &d, &dest, &GetOptions::default()).unwrap_err();
        assert!(matches!(err, Error::InvalidPath { .. }), "{bad:?}: {err}");
        let all = walk_names(tmp.path());
        assert_eq!(all, vec![dest.display().to_string()], "{bad:?}");
        // the same names in a HAMT
        let (h, _) = hamt(&s, &[(bad.to_string(), f, ft)], 256);
        let dest2 = tmp.path().join("dest2");
        assert!(export::get(&s, &h, &dest2, &GetOptions::default()).is_err());
        let mut sink = Vec::new();
        assert!(export::get_tar(&s, &d, "root", &mut sink, &Control::new()).is_err());
    }
    // a symlink followed by a directory of the same name must not be written through
    let outside = tempfile::tempdir().unwrap();
    let (ln, lt) = symlink(&s, outside.path().to_str().unwrap());
    let (inner, it) = dir_node(&s, &[("evil", f, ft)]);
    let links = vec![PbLink::new(ln, "a", lt), PbLink::new(inner, "a", it)];
    let (d, _) = put_pb(&s, &fs_node(&UnixfsData::new(DataType::Directory), links));
    let tmp = tempfile::tempdir().unwrap();
    for overwrite in [false, true] {
        let opts = GetOptions {
            overwrite,
            ..GetOptions::default()
        };
        let _ = export::get(&s, &d, &tmp.path().join(format!("d{overwrite}")), &opts);
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    }
}

#[test]
fn cancel_and_progress() {
    let s = MemoryBlocks::new();
    let data = noise(11, 100_000);
    let cid = balanced(&s, &data, &[1000], 10, Leaf::Raw);
    let seen = Arc::new(AtomicU64::new(0));
    let flag = Arc::new(AtomicBool::new(false));
    let (seen2, flag2) = (Arc::clone(&seen), Arc::clone(&flag));
    let control = Control::new()
        .with_cancel(Arc::clone(&flag))
        .with_progress(move |n| {
            seen2.store(n, Ordering::Relaxed);
            if n >= 5000 {
                flag2.store(true, Ordering::Relaxed);
            }
        });
    let mut r = export::cat(&s, &cid, 0, None)
        .unwrap()
        .with_control(control.clone());
    let mut out = Vec::new();
    assert!(matches!(r.write_to(&mut out), Err(Error::Cancelled)));
    assert_eq!(out.len(), 5000);
    assert_eq!(seen.load(Ordering::Relaxed), 5000);
    // get: cancelled mid-file leaves no file under the final name and no temp file
    let tmp = tempfile::tempdir().unwrap();
    let opts = GetOptions {
        control,
        ..GetOptions::default()
    };
    let dest = tmp.path().join("f");
    assert!(matches!(
        export::get(&s, &cid, &dest, &opts),
        Err(Error::Cancelled)
    ));
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn tar_stream_extracts_to_the_same_tree() {
    let s = MemoryBlocks::new();
    let root = sample_tree(&s);
    let tmp = tempfile::tempdir().unwrap();
    let tar_path = tmp.path().join("out.tar");
    let file = std::fs::File::create(&tar_path).unwrap();
    let sum = export::get_tar(&s, &root, "tree", file, &Control::new()).unwrap();
    assert_eq!(sum.files, 302);
    let st = std::process::Command::new("tar")
        .arg("-xf")
        .arg(&tar_path)
        .arg("-C")
        .arg(tmp.path())
        .status();
    match st {
        Ok(st) => {
            assert!(st.success());
            compare_tree(&s, &root, &tmp.path().join("tree"));
        }
        Err(e) => eprintln!("tar not available, extraction not checked: {e}"),
    }
    // long names go through PAX headers
    let long = "n".repeat(180);
    let f = leaf(&s, b"long name", Leaf::Raw);
    let (d, _) = dir_node(&s, &[(&long, f.0, f.2)]);
    let tar2 = tmp.path().join("long.tar");
    export::get_tar(
        &s,
        &d,
        "longdir",
        std::fs::File::create(&tar2).unwrap(),
        &Control::new(),
    )
    .unwrap();
    if let Ok(st) = std::process::Command::new("tar")
        .arg("-xf")
        .arg(&tar2)
        .arg("-C")
        .arg(tmp.path())
        .status()
    {
        assert!(st.success());
        assert_eq!(
            std::fs::read(tmp.path().join("longdir").join(&long)).unwrap(),
            b"long name"
        );
    }
}

// ---------- importer round trips ----------

mod round_trip {
    use super::*;
    use ipfs_kit_content::chunker::ChunkerSpec;
    use ipfs_kit_content::import::{self, ImportOptions, Layout};
    use proptest::prelude::*;

    fn options() -> impl Strategy<Value = ImportOptions> {
        (
            1usize..3000,
            any::<bool>(),
            2usize..12,
            any::<bool>(),
            0u8..2,
            any::<bool>(),
            prop::sample::select(vec![HashAlg::Sha2_256, HashAlg::Blake3, HashAlg::Sha2_512]),
        )
            .prop_map(|(chunk, trickle, links, raw, v, inline, hash)| {
                let mut o = ImportOptions {
                    chunker: ChunkerSpec::Size { size: chunk },
                    layout: if trickle {
                        Layout::Trickle
                    } else {
                        Layout::Balanced
                    },
                    max_file_links: links,
                    raw_leaves: raw,
                    cid_version: v,
                    inline,
                    hash,
                    ..ImportOptions::default()
                };
                if hash != HashAlg::Sha2_256 {
                    o.cid_version = 1;
                }
                o
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

        #[test]
        fn imported_files_cat_back(
            data in prop::collection::vec(any::<u8>(), 0..60_000),
            opts in options(),
            off in 0u64..70_000,
            len in prop::option::of(0u64..70_000),
        ) {
            let s = MemoryBlocks::new();
            let added = import::import_file("f", &data[..], &opts, &s, &import::Control::new()).unwrap();
            prop_assert_eq!(cat_all(&s, &added.cid), data.clone());
            let mut out = Vec::new();
            export::cat(&s, &added.cid, off, len).unwrap().read_to_end(&mut out).unwrap();
            let n = data.len() as u64;
            let a = off.min(n) as usize;
            let b = len.map_or(n, |l| off.saturating_add(l).min(n)) as usize;
            prop_assert_eq!(&out[..], &data[a..b.max(a)]);
            let st = export::stat(&s, &added.cid).unwrap();
            prop_assert_eq!(st.size, n);
            prop_assert!(st.kind.is_file());
        }
    }

    /// A random tree: (relative path, Some(contents) for a file / None for a directory).
    fn tree() -> impl Strategy<Value = Vec<(String, Option<Vec<u8>>)>> {
        let name = "[a-zA-Z0-9_-][a-zA-Z0-9_. -]{0,20}";
        prop::collection::vec(
            (
                prop::collection::vec(name, 1..4),
                prop::option::weighted(0.8, prop::collection::vec(any::<u8>(), 0..3000)),
            ),
            0..80,
        )
        .prop_map(|v| {
            v.into_iter()
                .map(|(parts, f)| (parts.join("/"), f))
                .collect()
        })
    }

    fn materialise(root: &Path, entries: &[(String, Option<Vec<u8>>)]) {
        std::fs::create_dir_all(root).unwrap();
        for (p, f) in entries {
            let path = root.join(p);
            // skip entries that clash with an earlier file/dir of the same path
            let parent_ok = path
                .ancestors()
                .skip(1)
                .take_while(|a| *a != root)
                .all(|a| !a.exists() || a.is_dir());
            if !parent_ok || path.exists() {
                continue;
            }
            match f {
                Some(bytes) => {
                    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                    std::fs::write(&path, bytes).unwrap();
                }
                None => std::fs::create_dir_all(&path).unwrap(),
            }
        }
    }

    fn same_tree(a: &Path, b: &Path) {
        let ma = std::fs::symlink_metadata(a).unwrap();
        let mb = std::fs::symlink_metadata(b).unwrap();
        assert_eq!(ma.is_dir(), mb.is_dir(), "{}", b.display());
        if ma.is_dir() {
            let names = |p: &Path| {
                let mut v: Vec<_> = std::fs::read_dir(p)
                    .unwrap()
                    .map(|e| e.unwrap().file_name())
                    .collect();
                v.sort();
                v
            };
            let (na, nb) = (names(a), names(b));
            assert_eq!(na, nb, "{}", b.display());
            for n in na {
                same_tree(&a.join(&n), &b.join(&n));
            }
        } else {
            assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn imported_trees_get_back(
            entries in tree(),
            opts in options(),
            shard in any::<bool>(),
            fanout in prop::sample::select(vec![8usize, 16, 64, 256]),
        ) {
            let tmp = tempfile::tempdir().unwrap();
            let src_dir = tmp.path().join("src");
            materialise(&src_dir, &entries);
            let mut opts = opts;
            if shard {
                opts.hamt_threshold = 1;
                opts.hamt_fanout = fanout;
            }
            let s = MemoryBlocks::new();
            let added = import::add_path(&src_dir, &opts, &s, &import::Control::new()).unwrap();
            let kind = export::stat(&s, &added.cid).unwrap().kind;
            let has_entries = std::fs::read_dir(&src_dir).unwrap().next().is_some();
            prop_assert_eq!(
                kind,
                if shard && has_entries { NodeKind::HamtDirectory } else { NodeKind::Directory }
            );
            let out = tmp.path().join("out");
            export::get(&s, &added.cid, &out, &GetOptions::default()).unwrap();
            same_tree(&src_dir, &out);
            // every file also resolves by path and cats back
            for (p, f) in &entries {
                let on_disk = src_dir.join(p);
                if let (Some(_), true) = (f, on_disk.is_file()) {
                    let cid = export::resolve(&s, &added.cid, p).unwrap();
                    prop_assert_eq!(cat_all(&s, &cid), std::fs::read(&on_disk).unwrap());
                }
            }
            let tar = tmp.path().join("t.tar");
            export::get_tar(&s, &added.cid, "t", std::fs::File::create(&tar).unwrap(), &Control::new()).unwrap();
        }
    }
}
