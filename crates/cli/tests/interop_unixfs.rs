//! Random files and trees, random `ipfs add` options: our CIDs must equal those of the real
//! `ipfs-unixfs-importer` (npm, pinned in tests/interop/package.json), a UnixFS implementation we did not write.
//!
//! Set `INTEROP_SEED` to replay a run; `INTEROP_CASES` to change the number of cases.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

mod common;
use common::{ensure_interop, interop_dir};

/// SplitMix64: tiny, seedable, good enough to vary test inputs.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(&self.next().to_le_bytes());
        }
        v.truncate(n);
        v
    }
}

fn file_size(rng: &mut Rng) -> usize {
    match rng.below(10) {
        0 => 0,
        1..=4 => rng.below(300) as usize,
        5..=7 => rng.below(300_000) as usize,
        _ => 262_144 * (1 + rng.below(4) as usize) + rng.below(3) as usize - 1,
    }
}

fn name(rng: &mut Rng) -> String {
    const CHARS: &[char] = &[
        'a', 'b', 'c', 'x', 'y', 'z', 'A', 'Z', '0', '9', '-', '_', '.', ' ', 'é', 'ß',
    ];
    let len = 1 + rng.below(12) as usize;
    let mut s: String = (0..len)
        .map(|_| CHARS[rng.below(CHARS.len() as u64) as usize])
        .collect();
    if s.starts_with('.') {
        s.insert(0, 'd');
    }
    s
}

fn make_tree(rng: &mut Rng, dir: &Path, depth: u32) {
    std::fs::create_dir_all(dir).unwrap();
    let n = rng.below(if depth == 0 { 8 } else { 5 });
    for _ in 0..n {
        let p = dir.join(name(rng));
        if p.exists() {
            continue;
        }
        if depth < 3 && rng.chance(25) {
            make_tree(rng, &p, depth + 1);
        } else {
            let size = file_size(rng);
            std::fs::write(&p, rng.bytes(size)).unwrap();
        }
    }
}

fn random_options(rng: &mut Rng) -> Value {
    let mut o = serde_json::Map::new();
    if rng.chance(25) {
        o.insert("profile".into(), json!("unixfs-v1-2025"));
    }
    if rng.chance(40) {
        o.insert("cid_version".into(), json!(rng.below(2)));
    }
    if rng.chance(30) {
        o.insert("raw_leaves".into(), json!(rng.chance(50)));
    }
    if rng.chance(50) {
        let size = match rng.below(3) {
            0 => 1 + rng.below(64),
            1 => 1 + rng.below(4096),
            _ => 1 + rng.below(1 << 20),
        };
        o.insert("chunker".into(), json!(format!("size-{size}")));
    }
    if rng.chance(30) {
        o.insert("trickle".into(), json!(true));
    }
    if rng.chance(30) {
        o.insert("max_file_links".into(), json!(2 + rng.below(200)));
    }
    if rng.chance(15) {
        o.insert("wrap_with_directory".into(), json!(true));
    }
    Value::Object(o)
}

fn our_cid(path: &Path, opts: &Value, home: &Path) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ipfs-kit"));
    cmd.args(["--home"])
        .arg(home)
        .args(["add", "-Q", "-n", "-r"]);
    for (k, v) in opts.as_object().unwrap() {
        let flag = format!("--{}", k.replace('_', "-"));
        match v {
            Value::Bool(true) => {
                cmd.arg(&flag);
            }
            Value::Bool(false) => {
                cmd.arg(format!("{flag}=false"));
            }
            Value::Number(n) => {
                cmd.arg(format!("{flag}={n}"));
            }
            Value::String(s) => {
                cmd.arg(format!("{flag}={s}"));
            }
            other => panic!("unexpected option {other}"),
        }
    }
    cmd.arg(path);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "ipfs-kit add failed for {path:?} {opts}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn random_trees_match_ipfs_unixfs_importer() {
    ensure_interop();
    let seed: u64 = std::env::var("INTEROP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    let cases: usize = std::env::var("INTEROP_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    eprintln!("INTEROP_SEED={seed}");
    let mut rng = Rng(seed);
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let mut specs = Vec::new();
    for i in 0..cases {
        let root = tmp.path().join(format!("case{i}"));
        std::fs::create_dir_all(&root).unwrap();
        let target = if rng.chance(40) {
            let f = root.join("file.bin");
            let size = file_size(&mut rng);
            std::fs::write(&f, rng.bytes(size)).unwrap();
            f
        } else {
            let d = root.join("tree");
            make_tree(&mut rng, &d, 0);
            d
        };
        specs.push(json!({"path": target, "options": random_options(&mut rng)}));
    }
    let mut child = Command::new("node")
        .arg(interop_dir().join("unixfs-importer.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node is needed for the interop tests");
    serde_json::to_writer(child.stdin.take().unwrap(), &specs).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the JS importer failed");
    let theirs: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(theirs.len(), specs.len());
    let mut mismatches = Vec::new();
    for (spec, want) in specs.iter().zip(&theirs) {
        let path = PathBuf::from(spec["path"].as_str().unwrap());
        let got = our_cid(&path, &spec["options"], &home);
        if &got != want {
            mismatches.push(format!(
                "{} {}: ours {got}, importer {want}",
                path.display(),
                spec["options"]
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "seed {seed}: {} of {} cases differ:\n{}",
        mismatches.len(),
        specs.len(),
        mismatches.join("\n")
    );
}
