//! Input generators shared by the content crate's vector tests (see `input_kinds` in
//! `shared/reference/cid-vectors.json`).
#![allow(dead_code)]

use std::io::{self, Read};
use std::path::Path;

use chacha20::ChaCha20;
use chacha20::cipher::{KeyIvInit, StreamCipher};
use sha2::{Digest, Sha256};

/// Path of the reference CID vectors.
pub(crate) const CID_VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/cid-vectors.json"
);

/// Path of the reference block-bytes vectors.
pub(crate) const UNIXFS_BLOCKS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/unixfs-blocks.json"
);

/// Parse a JSON file of the reference directory.
pub(crate) fn load_json(path: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"))
}

/// Kubo's `DeterministicRandomReader`: the IETF ChaCha20 keystream under key SHA-256(seed),
/// zero nonce, counter 0, cut at `size` bytes. Streams: nothing is kept but the cipher state.
pub(crate) struct ChaChaReader {
    cipher: ChaCha20,
    left: u64,
}

impl ChaChaReader {
    /// A reader of the first `size` keystream bytes for `seed`.
    pub(crate) fn new(seed: &str, size: u64) -> Self {
        let key: [u8; 32] = Sha256::digest(seed.as_bytes()).into();
        let nonce = [0u8; 12];
        ChaChaReader {
            cipher: ChaCha20::new(&key.into(), &nonce.into()),
            left: size,
        }
    }
}

impl Read for ChaChaReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let out = &mut buf[..n];
        out.fill(0);
        self.cipher.apply_keystream(out);
        self.left -= n as u64;
        Ok(n)
    }
}

/// The whole ChaCha20 stream in memory (small sizes only).
pub(crate) fn chacha_bytes(seed: &str, size: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(size);
    ChaChaReader::new(seed, size as u64)
        .read_to_end(&mut v)
        .expect("chacha stream");
    v
}

/// Kubo's easy alphabet for generated names (`'0'` appears twice, as in Kubo).
const ALPHABET_EASY: &[u8] = b"abcdefghijklmnopqrstuvwxyz01234567890-_";

/// Kubo test/cli `createDeterministicFiles`: `num_files` files named from the ChaCha20 stream
/// of `seed` (the last one `last_name_len` long), each holding `content`.
pub(crate) fn kubo_deterministic_dir(
    dir: &Path,
    seed: &str,
    num_files: usize,
    name_len: usize,
    last_name_len: usize,
    content: &[u8],
) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let mut r = ChaChaReader::new(seed, 1 << 20);
    for i in 0..num_files {
        let len = if i + 1 == num_files {
            last_name_len
        } else {
            name_len
        };
        let mut buf = vec![0u8; len];
        r.read_exact(&mut buf).expect("name bytes");
        let name: String = buf
            .iter()
            .map(|&b| ALPHABET_EASY[b as usize % ALPHABET_EASY.len()] as char)
            .collect();
        std::fs::write(dir.join(name), content).expect("write file");
    }
}

/// Materialise the `directory` / `files` entry lists under `dir`: `{path, utf8}` files,
/// `{path, dir: true}` directories and `{path, symlink}` symlinks (parents created as needed).
pub(crate) fn write_entries(dir: &Path, entries: &[serde_json::Value]) {
    std::fs::create_dir_all(dir).expect("mkdir");
    for e in entries {
        let p = dir.join(e["path"].as_str().expect("entry path"));
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir parent");
        }
        if e["dir"].as_bool() == Some(true) {
            std::fs::create_dir_all(&p).expect("mkdir entry");
        } else if let Some(t) = e["symlink"].as_str() {
            std::os::unix::fs::symlink(t, &p).expect("symlink");
        } else {
            let text = e["utf8"].as_str().expect("entry utf8");
            std::fs::write(&p, text).expect("write entry");
        }
    }
}
