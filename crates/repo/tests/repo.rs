//! Integration tests of the repo: persistence, concurrency, corruption, locking, pins, GC,
//! refs, and kill -9 crash safety (children are this test binary re-run with an env switch).

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cid::Cid;
use ipfs_kit_content::pb::{PbLink, PbNode};
use ipfs_kit_content::{BlockSource, Codec, HashAlg, block_cid};
use ipfs_kit_repo::{Error, PinFilter, PinKind, PinStatus, RefsOptions, Repo};

const CHILD_MODE: &str = "IPFS_KIT_REPO_TEST_CHILD";
const CHILD_DIR: &str = "IPFS_KIT_REPO_TEST_DIR";

fn raw(data: &[u8]) -> Cid {
    block_cid(1, Codec::Raw, HashAlg::Sha2_256, data).unwrap()
}

/// Put a two-level dag-pb DAG with `n` raw leaves derived from `seed`; returns (root, all cids).
fn put_dag(repo: &Repo, seed: u64, n: usize) -> (Cid, Vec<Cid>) {
    let mut links = Vec::new();
    let mut all = Vec::new();
    for i in 0..n {
        let data = format!("leaf {seed} {i} {}", "x".repeat(i * 7));
        let c = raw(data.as_bytes());
        repo.blocks().put(&c, data.as_bytes()).unwrap();
        links.push(PbLink::new(c, "", data.len() as u64));
        all.push(c);
    }
    let node = PbNode {
        links,
        data: Some(Bytes::from_static(&[8, 2])),
    };
    let enc = node.encode();
    let root = block_cid(0, Codec::DagPb, HashAlg::Sha2_256, &enc).unwrap();
    repo.blocks().put(&root, &enc).unwrap();
    all.push(root);
    (root, all)
}

/// Flip one byte of a stored block, in place in its pack file.
fn flip_byte(repo: &Repo, cid: &Cid, at: u64) {
    use std::os::unix::fs::FileExt;
    let loc = repo.blocks().locate(cid).unwrap().expect("stored");
    assert!(at < loc.len);
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&loc.path)
        .unwrap();
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, loc.offset + at).unwrap();
    b[0] ^= 0x01;
    f.write_all_at(&b, loc.offset + at).unwrap();
}

/// A one-level DAG of `n` raw leaves of 300 bytes each; returns the root.
fn put_flat_dag(repo: &Repo, seed: u64, n: usize) -> Cid {
    let mut links = Vec::new();
    for i in 0..n {
        let data = format!("leaf {seed} {i} {}", "y".repeat(300));
        let c = raw(data.as_bytes());
        repo.blocks().put(&c, data.as_bytes()).unwrap();
        links.push(PbLink::new(c, "", data.len() as u64));
    }
    let enc = PbNode {
        links,
        data: Some(Bytes::from_static(&[8, 2])),
    }
    .encode();
    let root = block_cid(1, Codec::DagPb, HashAlg::Sha2_256, &enc).unwrap();
    repo.blocks().put(&root, &enc).unwrap();
    root
}

fn pack_files(dir: &Path) -> Vec<(String, u64)> {
    let mut v: Vec<_> = std::fs::read_dir(dir.join("blocks/packs"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().len(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Run a child until it prints `line`, then SIGKILL it.
fn kill_after_line(mode: &str, dir: &Path, line: &str) {
    let mut c = child(mode, dir).stdout(Stdio::piped()).spawn().unwrap();
    let mut out = BufReader::new(c.stdout.take().unwrap());
    let mut l = String::new();
    while !l.contains(line) {
        l.clear();
        assert!(out.read_line(&mut l).unwrap() > 0, "child exited early");
    }
    c.kill().unwrap();
    c.wait().unwrap();
}

fn never() -> AtomicBool {
    AtomicBool::new(false)
}

#[test]
fn persistence_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (root, all) = {
        let repo = Repo::open(dir.path()).unwrap();
        let r = put_dag(&repo, 1, 5);
        repo.pin_add(&r.0, true, "mine").unwrap();
        r
    };
    let repo = Repo::open(dir.path()).unwrap();
    for c in &all {
        assert!(repo.blocks().has(c).unwrap());
        repo.blocks().get(c).unwrap();
    }
    let pins: Vec<_> = repo
        .pin_ls(PinFilter::Recursive)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(pins.len(), 1);
    assert_eq!((pins[0].cid, pins[0].name.as_str()), (root, "mine"));
    // v0 and v1 of the same bytes share one file
    let v1 = Cid::new_v1(0x70, *root.hash());
    assert!(repo.blocks().has(&v1).unwrap());
    let st = repo.stat().unwrap();
    assert_eq!(st.num_objects, 6);
    assert!(st.repo_size > 0);
    assert_eq!(st.storage_max, 10_000_000_000);
    assert_eq!(repo.refs_local().unwrap().count(), 6);
}

#[test]
fn identity_blocks_need_no_storage() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repo::open(dir.path()).unwrap();
    let c = block_cid(1, Codec::Raw, HashAlg::Identity, b"inline").unwrap();
    assert!(repo.blocks().has(&c).unwrap());
    assert_eq!(&repo.blocks().get(&c).unwrap()[..], b"inline");
    repo.blocks().put(&c, b"inline").unwrap();
    assert_eq!(repo.stat().unwrap().num_objects, 0);
    repo.pin_add(&c, true, "").unwrap();
}

#[test]
fn concurrent_puts() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Arc::new(Repo::open(dir.path()).unwrap());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let repo = Arc::clone(&repo);
            std::thread::spawn(move || {
                // half the blocks are shared between threads: same block put concurrently
                for i in 0..300u32 {
                    let data = if i % 2 == 0 {
                        format!("shared {i}")
                    } else {
                        format!("t{t} {i}")
                    };
                    let c = raw(data.as_bytes());
                    repo.blocks().put(&c, data.as_bytes()).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    repo.blocks().sync().unwrap();
    assert_eq!(repo.stat().unwrap().num_objects, 150 + 4 * 150);
    let r = repo.verify(&mut |_| {}, &never()).unwrap();
    assert_eq!(r.checked, 750);
    assert!(r.corrupted.is_empty());
}

#[test]
fn corruption_is_detected_never_served() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repo::open(dir.path()).unwrap();
    let (root, all) = put_dag(&repo, 2, 3);
    repo.pin_add(&root, true, "").unwrap();
    let victim = all[1];
    flip_byte(&repo, &victim, 0);
    assert!(matches!(
        repo.blocks().get(&victim),
        Err(Error::Content(ipfs_kit_content::Error::Corrupted(c))) if c == victim
    ));
    assert!(BlockSource::get(repo.blocks(), &victim).is_err());
    let r = repo.verify(&mut |_| {}, &never()).unwrap();
    assert_eq!(r.corrupted.len(), 1);
    assert_eq!(r.corrupted[0].cid.hash(), victim.hash());
    let pv = repo.pin_verify().unwrap();
    assert_eq!(pv.len(), 1);
    assert!(!pv[0].ok);
    assert_eq!(pv[0].bad_nodes[0].cid, victim);
}

#[test]
fn lock_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repo::open(dir.path()).unwrap();
    match Repo::open(dir.path()) {
        Err(Error::RepoLocked { pid, path }) => {
            assert_eq!(pid, Some(std::process::id()));
            assert_eq!(path, dir.path());
        }
        other => panic!("expected RepoLocked, got {other:?}"),
    }
    drop(repo);
    Repo::open(dir.path()).unwrap();
}

fn child(mode: &str, dir: &Path) -> Command {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env(CHILD_MODE, mode)
        .env(CHILD_DIR, dir);
    cmd
}

/// Not a test on its own: the body of the child processes (does nothing without the env switch).
#[test]
fn child_entry() {
    let Ok(mode) = std::env::var(CHILD_MODE) else {
        return;
    };
    let dir = std::env::var(CHILD_DIR).unwrap();
    match mode.as_str() {
        "hold" => {
            let _repo = Repo::open(&dir).unwrap();
            println!("LOCKED");
            std::thread::sleep(Duration::from_secs(30));
        }
        "churn" => {
            let repo = Repo::open(&dir).unwrap();
            let seed0 = std::process::id() as u64 * 1_000_000;
            for i in 0u64.. {
                let seed = seed0 + i;
                // garbage for GC to find
                for g in 0..20 {
                    let d = format!("garbage {seed} {g}");
                    repo.blocks().put(&raw(d.as_bytes()), d.as_bytes()).unwrap();
                }
                let guard = repo.gc_shared();
                let (root, _) = put_dag(&repo, seed, 30);
                repo.pin_add(&root, true, "").unwrap();
                drop(guard);
                println!("PINNED {root}");
                if i % 3 == 2 {
                    // announced before: once it may have happened, the parent stops expecting it
                    println!("UNPINNING {root}");
                    repo.pin_rm(&root, true).unwrap();
                }
                if i % 7 == 6 {
                    repo.gc(&[], &mut |_| {}, &AtomicBool::new(false)).unwrap();
                }
            }
        }
        "unsynced" => {
            let repo = Repo::open(&dir).unwrap();
            for i in 0..50 {
                let d = format!("synced {i}");
                repo.blocks().put(&raw(d.as_bytes()), d.as_bytes()).unwrap();
            }
            repo.blocks().sync().unwrap();
            println!("SYNCED");
            for i in 0..50 {
                let d = format!("unsynced {i}");
                repo.blocks().put(&raw(d.as_bytes()), d.as_bytes()).unwrap();
            }
            println!("WRITTEN");
            std::thread::sleep(Duration::from_secs(30));
        }
        "compact" => {
            let repo = Repo::open(&dir).unwrap();
            let seed0 = std::process::id() as u64 * 1_000_000;
            for i in 0u64.. {
                let seed = seed0 + i;
                // more garbage than live data, so every GC compacts, in several batches
                for g in 0..2500 {
                    let d = format!("garbage {seed} {g} {}", "g".repeat(300));
                    repo.blocks().put(&raw(d.as_bytes()), d.as_bytes()).unwrap();
                }
                let guard = repo.gc_shared();
                let root = put_flat_dag(&repo, seed, 1500);
                repo.pin_add(&root, true, "").unwrap();
                drop(guard);
                println!("PINNED {root}");
                if i % 2 == 1 {
                    println!("UNPINNING {root}");
                    repo.pin_rm(&root, true).unwrap();
                }
                repo.gc(&[], &mut |_| {}, &AtomicBool::new(false)).unwrap();
                println!("GC");
            }
        }
        other => panic!("unknown child mode {other}"),
    }
}

#[test]
fn lock_across_processes() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = child("hold", dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(c.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("LOCKED") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "child exited early");
    }
    match Repo::open(dir.path()) {
        Err(Error::RepoLocked { pid, .. }) => assert_eq!(pid, Some(c.id())),
        other => panic!("expected RepoLocked, got {other:?}"),
    }
    c.kill().unwrap();
    c.wait().unwrap();
    // the OS drops the lock with the process
    Repo::open(dir.path()).unwrap();
}

/// Run the child `mode` four times, SIGKILL it after a random wait of `base_ms` to
/// `base_ms + spread_ms`, and check after each kill that the repo opens and verifies, every pin
/// is complete, and every pin the child acknowledged (`PINNED` not followed by `UNPINNING`)
/// survived. Returns the acknowledged pins and how many `GC` lines the child printed.
fn kill_rounds(dir: &Path, mode: &str, base_ms: u64, spread_ms: u64) -> (HashSet<Cid>, usize) {
    let mut acknowledged: HashSet<Cid> = HashSet::new();
    let mut gcs = 0;
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        | 1;
    for round in 0..4 {
        let mut c = child(mode, dir).stdout(Stdio::piped()).spawn().unwrap();
        let out = c.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l2 = Arc::clone(&lines);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                l2.lock().unwrap().push(line);
            }
        });
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let wait = base_ms + seed % spread_ms;
        std::thread::sleep(Duration::from_millis(wait));
        c.kill().unwrap(); // SIGKILL
        c.wait().unwrap();
        reader.join().unwrap();
        for l in lines.lock().unwrap().iter() {
            if let Some(s) = l.strip_prefix("PINNED ") {
                acknowledged.insert(s.parse().unwrap());
            } else if let Some(s) = l.strip_prefix("UNPINNING ") {
                acknowledged.remove(&s.parse::<Cid>().unwrap());
            } else if l == "GC" {
                gcs += 1;
            }
        }
        let repo = Repo::open(dir).unwrap();
        let v = repo.verify(&mut |_| {}, &never()).unwrap();
        assert!(
            v.corrupted.is_empty(),
            "{mode} round {round}: {:?}",
            v.corrupted
        );
        let pv = repo.pin_verify().unwrap();
        assert!(pv.iter().all(|p| p.ok), "{mode} round {round}: {pv:?}");
        let pinned: HashSet<Cid> = repo
            .pin_ls(PinFilter::Recursive)
            .unwrap()
            .map(|e| e.unwrap().cid)
            .collect();
        for a in &acknowledged {
            assert!(
                pinned.contains(a),
                "{mode} round {round}: acknowledged pin {a} lost"
            );
        }
        eprintln!(
            "{mode} round {round}: killed after {wait} ms ({gcs} GCs so far), {} pins acknowledged, {} blocks",
            acknowledged.len(),
            v.checked
        );
    }
    (acknowledged, gcs)
}

#[test]
fn kill_minus_nine_during_puts_pins_and_gc() {
    let dir = tempfile::tempdir().unwrap();
    let (acknowledged, _) = kill_rounds(dir.path(), "churn", 300, 1700);
    assert!(!acknowledged.is_empty());
}

#[test]
fn pins_and_gc() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repo::open(dir.path()).unwrap();
    let (a, a_all) = put_dag(&repo, 10, 4);
    let (b, b_all) = put_dag(&repo, 11, 3);
    let (m, m_all) = put_dag(&repo, 12, 2);
    let loose = raw(b"loose");
    repo.blocks().put(&loose, b"loose").unwrap();

    // incomplete DAG: typed error naming the missing block
    let gone = a_all[2];
    let saved = repo.blocks().get(&gone).unwrap();
    repo.blocks().remove(&gone).unwrap();
    match repo.pin_add(&a, true, "") {
        Err(Error::IncompleteDag { root, missing }) => assert_eq!((*root, missing), (a, gone)),
        other => panic!("{other:?}"),
    }
    repo.blocks().put(&gone, &saved).unwrap();
    repo.pin_add(&a, true, "a").unwrap();
    repo.pin_add(&b, false, "b").unwrap();
    assert!(matches!(
        repo.pin_add(&a, false, ""),
        Err(Error::PinnedRecursively(_))
    ));
    assert!(matches!(
        repo.pin_rm(&a, false),
        Err(Error::PinnedRecursively(_))
    ));
    assert!(matches!(
        repo.pin_rm(&loose, true),
        Err(Error::NotPinned(_))
    ));

    let all: Vec<_> = repo
        .pin_ls(PinFilter::All)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let kinds: Vec<_> = all.iter().map(|e| (e.cid, e.kind)).collect();
    assert_eq!(kinds[0], (a, PinKind::Recursive));
    assert_eq!(kinds[1], (b, PinKind::Direct));
    let indirect: Vec<_> = kinds[2..].iter().map(|k| k.0).collect();
    assert_eq!(indirect, a_all[..4].to_vec());
    assert!(kinds[2..].iter().all(|k| k.1 == PinKind::Indirect));

    let st = repo.pin_status(&[a, b, a_all[0], loose]).unwrap();
    assert_eq!(st[0].1, PinStatus::Recursive);
    assert_eq!(st[1].1, PinStatus::Direct);
    assert_eq!(st[2].1, PinStatus::Indirect { via: a });
    assert_eq!(st[3].1, PinStatus::NotPinned);
    assert!(matches!(
        repo.remove_block(&a_all[0], false),
        Err(Error::Pinned { .. })
    ));

    // GC keeps pins and extra roots, removes the rest
    let mut got = HashSet::new();
    let report = repo
        .gc(
            &[m],
            &mut |p| {
                if let ipfs_kit_repo::GcProgress::Removed { cid, .. } = p {
                    got.insert(*cid.hash());
                }
            },
            &never(),
        )
        .unwrap();
    // b is direct: its leaves go, the root stays; loose goes
    let expect: HashSet<_> = b_all[..3]
        .iter()
        .chain(std::iter::once(&loose))
        .map(|c| *c.hash())
        .collect();
    assert_eq!(got, expect);
    assert_eq!(report.removed, 4);
    assert!(report.bytes_freed > 0);
    for c in a_all.iter().chain(&m_all).chain([&b]) {
        assert!(repo.blocks().has(c).unwrap());
    }

    // pin update
    repo.pin_update(&a, &m, true).unwrap();
    let rec: Vec<_> = repo
        .pin_ls(PinFilter::Recursive)
        .unwrap()
        .map(|e| e.unwrap().cid)
        .collect();
    assert_eq!(rec, vec![m]);
    assert!(matches!(
        repo.pin_update(&a, &m, true),
        Err(Error::NotPinned(_))
    ));

    // a pinned DAG with a missing block aborts GC before anything is removed
    repo.blocks().remove(&m_all[0]).unwrap();
    let before = repo.stat().unwrap().num_objects;
    assert!(matches!(
        repo.gc(&[], &mut |_| {}, &never()),
        Err(Error::GcAborted(_))
    ));
    assert_eq!(repo.stat().unwrap().num_objects, before);
}

#[test]
fn gc_waits_for_shared_guard() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Arc::new(Repo::open(dir.path()).unwrap());
    let guard = repo.gc_shared();
    let (root, all) = put_dag(&repo, 20, 3);
    let r2 = Arc::clone(&repo);
    let gc = std::thread::spawn(move || r2.gc(&[], &mut |_| {}, &AtomicBool::new(false)));
    std::thread::sleep(Duration::from_millis(200));
    assert!(!gc.is_finished(), "GC must wait for the shared guard");
    repo.pin_add(&root, true, "").unwrap(); // nested shared hold while GC waits
    drop(guard);
    let report = gc.join().unwrap().unwrap();
    assert_eq!(report.removed, 0);
    for c in all {
        assert!(repo.blocks().has(&c).unwrap());
    }
}

#[test]
fn gc_cancel_during_mark_removes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repo::open(dir.path()).unwrap();
    let (root, _) = put_dag(&repo, 30, 3);
    repo.pin_add(&root, true, "").unwrap();
    repo.blocks().put(&raw(b"junk"), b"junk").unwrap();
    let cancel = AtomicBool::new(true);
    assert!(matches!(
        repo.gc(&[], &mut |_| {}, &cancel),
        Err(Error::Cancelled)
    ));
    assert!(repo.blocks().has(&raw(b"junk")).unwrap());
}

#[test]
fn refs_kubo_semantics() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repo::open(dir.path()).unwrap();
    // diamond: top -> (l, r), l -> (x), r -> (x)
    let x = raw(b"x");
    repo.blocks().put(&x, b"x").unwrap();
    let mk = |links: Vec<PbLink>| {
        let enc = PbNode { links, data: None }.encode();
        let c = block_cid(1, Codec::DagPb, HashAlg::Sha2_256, &enc).unwrap();
        repo.blocks().put(&c, &enc).unwrap();
        c
    };
    let l = mk(vec![PbLink::new(x, "x", 1)]);
    let r = mk(vec![PbLink::new(x, "x", 1), PbLink::new(raw(b"y"), "y", 1)]);
    repo.blocks().put(&raw(b"y"), b"y").unwrap();
    let top = mk(vec![PbLink::new(l, "l", 1), PbLink::new(r, "r", 1)]);
    let to = |o: RefsOptions| -> Vec<Cid> { repo.refs(&top, o).map(|e| e.unwrap().to).collect() };
    let base = RefsOptions {
        recursive: false,
        unique: false,
        max_depth: None,
    };
    assert_eq!(to(base), vec![l, r]);
    let rec = RefsOptions {
        recursive: true,
        ..base
    };
    assert_eq!(to(rec), vec![l, x, r, x, raw(b"y")]);
    assert_eq!(
        to(RefsOptions {
            unique: true,
            ..rec
        }),
        vec![l, x, r, raw(b"y")]
    );
    assert_eq!(
        to(RefsOptions {
            max_depth: Some(1),
            ..rec
        }),
        vec![l, r]
    );
    let edges: Vec<_> = repo.refs(&top, base).map(Result::unwrap).collect();
    assert_eq!(edges[0].from, top);
    assert_eq!(edges[0].name.as_deref(), Some("l"));
}

#[test]
fn pin_commit_cost() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repo::open(dir.path()).unwrap();
    let n = 50;
    let roots: Vec<_> = (0..n).map(|i| put_dag(&repo, 100 + i, 2).0).collect();
    repo.blocks().sync().unwrap();
    let t = Instant::now();
    for r in &roots {
        repo.pin_add(r, true, "").unwrap();
    }
    let per = t.elapsed() / n as u32;
    eprintln!("pin add (3-block DAG, durable commit): {per:?} each");
    assert_eq!(
        repo.pin_ls(PinFilter::Recursive).unwrap().count(),
        n as usize
    );
}

#[test]
fn recovery_truncates_uncommitted_tails_and_drops_unknown_packs() {
    let dir = tempfile::tempdir().unwrap();
    let (root, all) = {
        let repo = Repo::open(dir.path()).unwrap();
        let r = put_dag(&repo, 40, 6);
        repo.pin_add(&r.0, true, "").unwrap();
        r
    };
    let clean = pack_files(dir.path());
    assert_eq!(clean.len(), 1);
    let packs = dir.path().join("blocks/packs");
    // A torn record after the committed length (what a killed writer leaves) ...
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(packs.join(&clean[0].0))
        .unwrap();
    std::io::Write::write_all(&mut f, b"ikb1\xff\xff\x00\x00 torn record").unwrap();
    drop(f);
    // ... and a pack the index never heard of.
    std::fs::write(packs.join("77.pack"), b"ikb1 stray").unwrap();
    std::fs::write(packs.join("junk.tmp"), b"stray").unwrap();
    let repo = Repo::open(dir.path()).unwrap();
    assert_eq!(pack_files(dir.path()), clean);
    for c in &all {
        repo.blocks().get(c).unwrap();
    }
    let v = repo.verify(&mut |_| {}, &never()).unwrap();
    assert_eq!((v.checked, v.corrupted.len()), (all.len() as u64, 0));
    // Appending goes on where the committed data ends.
    let (r2, all2) = put_dag(&repo, 41, 3);
    repo.pin_add(&r2, true, "").unwrap();
    drop(repo);
    let repo = Repo::open(dir.path()).unwrap();
    for c in all.iter().chain(&all2) {
        repo.blocks().get(c).unwrap();
    }
    assert!(repo.pin_verify().unwrap().iter().all(|p| p.ok));
    assert_eq!(
        repo.stat().unwrap().num_objects,
        (all.len() + all2.len()) as u64
    );
    let _ = root;
}

#[test]
fn kill_minus_nine_keeps_synced_blocks_and_drops_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    kill_after_line("unsynced", dir.path(), "WRITTEN");
    let before = pack_files(dir.path());
    let repo = Repo::open(dir.path()).unwrap();
    for i in 0..50 {
        let d = format!("synced {i}");
        assert_eq!(
            &repo.blocks().get(&raw(d.as_bytes())).unwrap()[..],
            d.as_bytes()
        );
        let d = format!("unsynced {i}");
        assert!(!repo.blocks().has(&raw(d.as_bytes())).unwrap());
    }
    // The unsynced records were cut off the pack.
    let after = pack_files(dir.path());
    assert_eq!(after.len(), 1);
    assert!(after[0].1 < before[0].1, "{before:?} -> {after:?}");
    assert_eq!(repo.stat().unwrap().num_objects, 50);
    // And they can be stored again.
    for i in 0..50 {
        let d = format!("unsynced {i}");
        repo.blocks().put(&raw(d.as_bytes()), d.as_bytes()).unwrap();
    }
    let v = repo.verify(&mut |_| {}, &never()).unwrap();
    assert_eq!((v.checked, v.corrupted.len()), (100, 0));
}

#[test]
fn gc_compaction_returns_disk_space() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repo::open(dir.path()).unwrap();
    let keep = put_flat_dag(&repo, 50, 200);
    repo.pin_add(&keep, true, "").unwrap();
    for g in 0..2000 {
        let d = format!("garbage {g} {}", "z".repeat(1000));
        repo.blocks().put(&raw(d.as_bytes()), d.as_bytes()).unwrap();
    }
    repo.blocks().sync().unwrap();
    let before = repo.stat().unwrap();
    let packs_before = pack_files(dir.path());
    let report = repo.gc(&[], &mut |_| {}, &never()).unwrap();
    assert_eq!(report.removed, 2000);
    assert!(report.bytes_freed > 2_000_000);
    let after = repo.stat().unwrap();
    assert_eq!(after.num_objects, 201);
    assert!(
        after.repo_size + report.bytes_freed <= before.repo_size,
        "{} - {} freed -> {}",
        before.repo_size,
        report.bytes_freed,
        after.repo_size
    );
    assert_ne!(
        pack_files(dir.path()),
        packs_before,
        "nothing was compacted"
    );
    let v = repo.verify(&mut |_| {}, &never()).unwrap();
    assert_eq!((v.checked, v.corrupted.len()), (201, 0));
    assert!(repo.pin_verify().unwrap().iter().all(|p| p.ok));
    drop(repo);
    // Nothing stray is left for the next open to clean up.
    let packs = pack_files(dir.path());
    let repo = Repo::open(dir.path()).unwrap();
    assert_eq!(pack_files(dir.path()), packs);
    assert_eq!(repo.stat().unwrap().num_objects, 201);
}

#[test]
fn kill_minus_nine_during_compaction() {
    let dir = tempfile::tempdir().unwrap();
    kill_rounds(dir.path(), "compact", 500, 2500);
    // A complete GC afterwards keeps exactly the pinned DAGs.
    let repo = Repo::open(dir.path()).unwrap();
    repo.gc(&[], &mut |_| {}, &never()).unwrap();
    let pinned = repo.pins().recursive().unwrap().len() as u64;
    assert_eq!(repo.stat().unwrap().num_objects, pinned * 1501);
    assert!(repo.pin_verify().unwrap().iter().all(|p| p.ok));
}

#[test]
fn a_version_1_repo_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("version"), "1\n").unwrap();
    match Repo::open(dir.path()) {
        Err(Error::UnsupportedVersion {
            found, expected, ..
        }) => assert_eq!(
            (found.as_str(), expected),
            ("1", ipfs_kit_repo::REPO_VERSION)
        ),
        other => panic!("expected UnsupportedVersion, got {other:?}"),
    }
    assert!(!dir.path().join("blocks").exists());
}

#[test]
fn a_version_2_repo_is_upgraded_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let (root, all) = {
        let repo = Repo::open(dir.path()).unwrap();
        let dag = put_dag(&repo, 2, 3);
        repo.pin_add(&dag.0, true, "").unwrap();
        dag
    };
    std::fs::write(dir.path().join("version"), "2\n").unwrap();
    let repo = Repo::open(dir.path()).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("version")).unwrap(),
        format!("{}\n", ipfs_kit_repo::REPO_VERSION)
    );
    for c in &all {
        repo.blocks().get(c).unwrap();
    }
    assert!(repo.pin_verify().unwrap().iter().all(|p| p.ok));
    assert_eq!(repo.pins().recursive().unwrap(), vec![root]);
}
