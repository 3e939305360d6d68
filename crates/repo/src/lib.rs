//! The embedded IPFS node's persistent state in one directory: a pack-file [`Blockstore`], pin
//! sets ([`PinStore`], redb), mark-and-sweep GC, `refs`, `repo stat` / `repo verify`, and the
//! repo lock that keeps a second process out.
//!
//! ```
//! use ipfs_kit_content::{block_cid, Codec, HashAlg};
//! use ipfs_kit_repo::Repo;
//! let dir = tempfile::tempdir().unwrap();
//! let repo = Repo::open(dir.path()).unwrap();
//! let cid = block_cid(1, Codec::Raw, HashAlg::Sha2_256, b"hi").unwrap();
//! repo.blocks().put(&cid, b"hi").unwrap();
//! repo.pin_add(&cid, true, "").unwrap();
//! assert_eq!(&repo.blocks().get(&cid).unwrap()[..], b"hi");
//! ```
//!
//! Layout: `version` (format version), `repo.lock` (OS lock + holder's pid), `blocks/index.redb`
//! and `blocks/packs/<n>.pack` (see [`blockstore`]), `pins.redb`.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod blockstore;
mod error;
mod gc;
mod pins;
mod walk;

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use cid::Cid;
use ipfs_kit_content::{Block, dag};

pub use blockstore::{BlockList, BlockLocation, Blockstore};
pub use error::{Error, Result};
pub use gc::{GcExclusive, GcLock, GcProgress, GcReport, GcShared};
pub use pins::PinStore;
pub use walk::{RefEdge, Refs, RefsOptions};

use pins::Set;
use walk::{Check, incomplete, walk_dag};

/// The repo format version this build reads and writes.
pub const REPO_VERSION: u32 = 3;
/// The older version this build opens and upgrades in place: version 2 packs hold records
/// without a CRC, still read (re-hashed) and compacted into CRC records by GC.
const UPGRADES_FROM: u32 = 2;

/// Default `StorageMax` (Kubo's default `Datastore.StorageMax`, 10 GB).
pub const DEFAULT_STORAGE_MAX: u64 = 10_000_000_000;

/// An open repo. Holds the repo lock until dropped. `Send + Sync`: share it in an `Arc`.
#[derive(Debug)]
pub struct Repo {
    path: PathBuf,
    gc: Arc<GcLock>,
    // Dropped before the lock: the blockstore commits its pending changes on drop.
    blocks: Blockstore,
    pins: PinStore,
    _lock: File,
}

/// How a CID is pinned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PinKind {
    /// The whole DAG under it is pinned.
    Recursive,
    /// Only this block is pinned.
    Direct,
    /// Inside the DAG of a recursive pin.
    Indirect,
}

/// Which pins `pin ls` lists (Kubo's `--type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PinFilter {
    /// Recursive, then direct, then indirect.
    #[default]
    All,
    /// Direct pins only.
    Direct,
    /// Indirect pins only.
    Indirect,
    /// Recursive pins only.
    Recursive,
}

/// One `pin ls` row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PinEntry {
    /// The pinned CID.
    pub cid: Cid,
    /// How it is pinned.
    pub kind: PinKind,
    /// The pin's name (empty if none; indirect pins have none).
    pub name: String,
}

/// The pin status of one CID (`pin ls CID…`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum PinStatus {
    /// Pinned recursively.
    Recursive,
    /// Pinned directly.
    Direct,
    /// Reachable from the recursive pin `via`.
    Indirect {
        /// The recursive pin it is reached from.
        via: Cid,
    },
    /// Not pinned.
    NotPinned,
}

/// One bad block found by `pin verify`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BadNode {
    /// The block.
    pub cid: Cid,
    /// What is wrong (missing, corrupted, undecodable).
    pub error: String,
}

/// `pin verify` result for one pin (Kubo's `{Cid, Ok, BadNodes}`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PinVerify {
    /// The pin.
    pub cid: Cid,
    /// Whether its DAG is complete and every block matches its CID.
    pub ok: bool,
    /// The problems found.
    pub bad_nodes: Vec<BadNode>,
}

/// `repo stat`, with Kubo's field names and meanings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RepoStat {
    /// Bytes used by the repo on disk (pack files, block index, pin database and metadata);
    /// removed blocks keep taking space until GC compacts their pack.
    pub repo_size: u64,
    /// Configured maximum size in bytes.
    pub storage_max: u64,
    /// Number of blocks stored.
    pub num_objects: u64,
    /// The repo directory.
    pub repo_path: String,
    /// Repo format, e.g. `ipfs-kit-repo@1`.
    pub version: String,
}

/// `repo verify` result.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    /// Blocks checked.
    pub checked: u64,
    /// Blocks whose bytes do not match their multihash (listed as CIDv1 raw), with the reason.
    pub corrupted: Vec<BadNode>,
}

impl Repo {
    /// Open the repo at `path`, creating it if missing, and take its lock. A repo already open
    /// (in this or another process) gives [`Error::RepoLocked`] naming the holder's pid.
    pub fn open(path: impl AsRef<Path>) -> Result<Repo> {
        let path = path.as_ref().to_path_buf();
        fs::create_dir_all(&path).map_err(|e| Error::io("create", &path, e))?;
        let lock = take_lock(&path)?;
        let vpath = path.join("version");
        let mut upgrade = false;
        match fs::read_to_string(&vpath) {
            Ok(v) if v.trim() == UPGRADES_FROM.to_string() => upgrade = true,
            Ok(v) => {
                if v.trim() != REPO_VERSION.to_string() {
                    return Err(Error::UnsupportedVersion {
                        path,
                        found: v.trim().chars().take(40).collect(),
                        expected: REPO_VERSION,
                    });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                write_atomic(&path, "version", format!("{REPO_VERSION}\n").as_bytes())?;
            }
            Err(e) => return Err(Error::io("read", vpath, e)),
        }
        let bdir = path.join("blocks");
        fs::create_dir_all(&bdir).map_err(|e| Error::io("create", &bdir, e))?;
        let gc = Arc::new(GcLock::default());
        let blocks = Blockstore::open(bdir, Arc::clone(&gc))?;
        let pins = PinStore::open(&path.join("pins.redb"))?;
        if upgrade {
            // The blockstore has recorded where its CRC packs start: the upgrade is done.
            write_atomic(&path, "version", format!("{REPO_VERSION}\n").as_bytes())?;
            tracing::info!(path = %path.display(), "repo upgraded to version {REPO_VERSION}");
        }
        Ok(Repo {
            path,
            gc,
            blocks,
            pins,
            _lock: lock,
        })
    }

    /// The repo directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The blockstore (also a `BlockSink` / `BlockSource`).
    pub fn blocks(&self) -> &Blockstore {
        &self.blocks
    }

    /// The raw pin sets (prefer the `pin_*` methods, which check DAGs and take the GC lock).
    pub fn pins(&self) -> &PinStore {
        &self.pins
    }

    /// The GC lock.
    pub fn gc_lock(&self) -> &Arc<GcLock> {
        &self.gc
    }

    /// Hold this across "import then pin" so no GC runs in between and removes the new blocks.
    pub fn gc_shared(&self) -> GcShared {
        self.gc.shared()
    }

    /// Pin `cid`. Recursive: the whole DAG must be present ([`Error::IncompleteDag`] names the
    /// first missing block); a direct pin of the same CID is replaced. Direct: the block must be
    /// present, and the CID must not be pinned recursively. Blocks are made durable before the
    /// pin is committed, so a pin never outlives its blocks across a power loss.
    pub fn pin_add(&self, cid: &Cid, recursive: bool, name: &str) -> Result<()> {
        let _g = self.gc.shared();
        if recursive {
            if self.pins.get(Set::Recursive, cid)?.is_some() {
                return Ok(());
            }
            self.check_complete(cid)?;
            self.blocks.sync()?;
            self.pins
                .update(&[(Set::Recursive, *cid, name)], &[(Set::Direct, *cid)])
        } else {
            if self.pins.get(Set::Recursive, cid)?.is_some() {
                return Err(Error::PinnedRecursively(*cid));
            }
            if !self.blocks.has(cid)? {
                return Err(Error::IncompleteDag {
                    root: Box::new(*cid),
                    missing: *cid,
                });
            }
            self.blocks.sync()?;
            self.pins.update(&[(Set::Direct, *cid, name)], &[])
        }
    }

    /// Check that the whole DAG under `root` is present ([`Error::IncompleteDag`] names the
    /// first missing block).
    pub fn check_complete(&self, root: &Cid) -> Result<()> {
        let mut visited = HashSet::new();
        walk_dag(&self.blocks, root, Check::Links, &mut visited, &mut |_| {
            Ok(())
        })
        .map_err(|e| incomplete(*root, e))
    }

    /// Unpin `cid`. A recursive pin needs `recursive = true` ([`Error::PinnedRecursively`]
    /// otherwise, as Kubo); not pinned (or only indirectly) is [`Error::NotPinned`].
    pub fn pin_rm(&self, cid: &Cid, recursive: bool) -> Result<()> {
        if self.pins.get(Set::Recursive, cid)?.is_some() {
            if !recursive {
                return Err(Error::PinnedRecursively(*cid));
            }
            return self.pins.update(&[], &[(Set::Recursive, *cid)]);
        }
        if self.pins.get(Set::Direct, cid)?.is_some() {
            return self.pins.update(&[], &[(Set::Direct, *cid)]);
        }
        Err(Error::NotPinned(*cid))
    }

    /// Move a recursive pin from `from` to `to` (which must be complete); keep `from` pinned
    /// unless `unpin`. One transaction.
    pub fn pin_update(&self, from: &Cid, to: &Cid, unpin: bool) -> Result<()> {
        let _g = self.gc.shared();
        let Some(name) = self.pins.get(Set::Recursive, from)? else {
            return Err(Error::NotPinned(*from));
        };
        self.check_complete(to)?;
        self.blocks.sync()?;
        let mut remove = vec![(Set::Direct, *to)];
        if unpin && from != to {
            remove.push((Set::Recursive, *from));
        }
        self.pins
            .update(&[(Set::Recursive, *to, name.as_str())], &remove)
    }

    /// `pin ls --type`: recursive pins, then direct, then indirect (computed by walking the
    /// recursive DAGs; CIDs that are pinned themselves are not repeated as indirect). Streaming:
    /// the indirect walk advances as the iterator is consumed.
    pub fn pin_ls(&self, filter: PinFilter) -> Result<PinList<'_>> {
        let rec = self.pins.all(Set::Recursive)?;
        let dir = self.pins.all(Set::Direct)?;
        let mut queue = Vec::new();
        if matches!(filter, PinFilter::All | PinFilter::Recursive) {
            queue.extend(rec.iter().map(|(c, n)| PinEntry {
                cid: *c,
                kind: PinKind::Recursive,
                name: n.clone(),
            }));
        }
        if matches!(filter, PinFilter::All | PinFilter::Direct) {
            queue.extend(dir.iter().map(|(c, n)| PinEntry {
                cid: *c,
                kind: PinKind::Direct,
                name: n.clone(),
            }));
        }
        queue.reverse();
        let indirect = matches!(filter, PinFilter::All | PinFilter::Indirect);
        let exclude: HashSet<Cid> = rec.iter().chain(dir.iter()).map(|(c, _)| *c).collect();
        let mut visited = HashSet::new();
        let mut stack = Vec::new();
        if indirect {
            for (root, _) in rec.iter().rev() {
                visited.insert(*root);
                stack.push((*root, true));
            }
        }
        Ok(PinList {
            blocks: &self.blocks,
            queue,
            exclude,
            visited,
            stack,
        })
    }

    /// `pin ls CID…`: the status of each CID (one walk of the recursive pins covers all of them).
    pub fn pin_status(&self, cids: &[Cid]) -> Result<Vec<(Cid, PinStatus)>> {
        let mut out: HashMap<Cid, PinStatus> = HashMap::new();
        let mut wanted = HashSet::new();
        for c in cids {
            if self.pins.get(Set::Recursive, c)?.is_some() {
                out.insert(*c, PinStatus::Recursive);
            } else if self.pins.get(Set::Direct, c)?.is_some() {
                out.insert(*c, PinStatus::Direct);
            } else {
                wanted.insert(*c);
            }
        }
        if !wanted.is_empty() {
            let mut visited = HashSet::new();
            for root in self.pins.recursive()? {
                let mut found = Vec::new();
                walk_dag(&self.blocks, &root, Check::Links, &mut visited, &mut |c| {
                    if *c != root && wanted.contains(c) {
                        found.push(*c);
                    }
                    Ok(())
                })?;
                for c in found {
                    wanted.remove(&c);
                    out.insert(c, PinStatus::Indirect { via: root });
                }
                if wanted.is_empty() {
                    break;
                }
            }
        }
        Ok(cids
            .iter()
            .map(|c| (*c, out.get(c).cloned().unwrap_or(PinStatus::NotPinned)))
            .collect())
    }

    /// `pin verify`: every recursive pin's DAG present and every block matching its CID, every
    /// direct pin's block likewise. One result per pin.
    pub fn pin_verify(&self) -> Result<Vec<PinVerify>> {
        let mut out = Vec::new();
        for root in self.pins.recursive()? {
            out.push(self.verify_dag(&root, true));
        }
        for c in self.pins.direct()? {
            out.push(self.verify_dag(&c, false));
        }
        Ok(out)
    }

    fn verify_dag(&self, root: &Cid, recursive: bool) -> PinVerify {
        let mut bad = Vec::new();
        let mut visited = HashSet::new();
        let mut stack = vec![*root];
        while let Some(c) = stack.pop() {
            if !visited.insert(c) {
                continue;
            }
            let res = self.blocks.get(&c).and_then(|data| {
                if recursive {
                    Ok(dag::links(&c, &data)?)
                } else {
                    Ok(Vec::new())
                }
            });
            match res {
                Ok(kids) => stack.extend(kids.into_iter().rev()),
                Err(e) => bad.push(BadNode {
                    cid: c,
                    error: e.to_string(),
                }),
            }
        }
        PinVerify {
            cid: *root,
            ok: bad.is_empty(),
            bad_nodes: bad,
        }
    }

    /// Remove a block. Unless `force`, a pinned block (recursive, direct or indirect) is refused
    /// with [`Error::Pinned`]. Returns the bytes freed (`None`: it was not there).
    pub fn remove_block(&self, cid: &Cid, force: bool) -> Result<Option<u64>> {
        let _g = self.gc.shared();
        if !force {
            let how = match self.pin_status(std::slice::from_ref(cid))?.pop() {
                Some((_, PinStatus::Recursive)) => Some("recursive".to_string()),
                Some((_, PinStatus::Direct)) => Some("direct".to_string()),
                Some((_, PinStatus::Indirect { via })) => Some(format!("indirect through {via}")),
                _ => None,
            };
            if let Some(how) = how {
                return Err(Error::Pinned { cid: *cid, how });
            }
        }
        self.blocks.remove(cid)
    }

    /// Garbage-collect: remove every block not reachable from a pin or from `extra_roots` (the
    /// MFS root, say). Waits for every [`GcShared`] hold to end and blocks new writes while it
    /// runs. If a pinned DAG is incomplete or corrupted, nothing is removed
    /// ([`Error::GcAborted`]). `cancel` stops marking (→ [`Error::Cancelled`], nothing removed)
    /// or the sweep (→ a partial report with `cancelled`).
    pub fn gc(
        &self,
        extra_roots: &[Cid],
        progress: &mut dyn FnMut(GcProgress),
        cancel: &AtomicBool,
    ) -> Result<GcReport> {
        gc::run(self, extra_roots, progress, cancel)
    }

    /// `refs`: edges below `root` in DAG order (Kubo semantics for `-r`, `--unique`,
    /// `--max-depth`), streaming and iterative.
    pub fn refs(&self, root: &Cid, opts: RefsOptions) -> Refs<'_> {
        Refs::new(&self.blocks, *root, opts)
    }

    /// `refs local`: every stored block, as CIDv1 raw (the store is keyed by multihash, as Kubo's).
    pub fn refs_local(&self) -> Result<impl Iterator<Item = Result<Cid>> + '_> {
        Ok(self
            .blocks
            .list()?
            .map(|r| r.map(|(mh, _)| blockstore::listed_cid(&mh))))
    }

    /// `repo stat`.
    pub fn stat(&self) -> Result<RepoStat> {
        let mut num_objects = 0u64;
        for item in self.blocks.list()? {
            item?;
            num_objects += 1;
        }
        let mut repo_size = self.blocks.disk_usage()?;
        for f in ["pins.redb", "version", "repo.lock"] {
            if let Ok(m) = fs::metadata(self.path.join(f)) {
                repo_size += m.len();
            }
        }
        Ok(RepoStat {
            repo_size,
            storage_max: self.storage_max()?,
            num_objects,
            repo_path: self.path.display().to_string(),
            version: format!("ipfs-kit-repo@{REPO_VERSION}"),
        })
    }

    /// The configured `StorageMax` in bytes.
    pub fn storage_max(&self) -> Result<u64> {
        Ok(self
            .pins
            .meta("storage_max")?
            .unwrap_or(DEFAULT_STORAGE_MAX))
    }

    /// Set `StorageMax` (bytes).
    pub fn set_storage_max(&self, bytes: u64) -> Result<()> {
        self.pins.set_meta("storage_max", bytes)
    }

    /// `repo verify`: re-hash every stored block; `progress` gets the number checked so far.
    pub fn verify(
        &self,
        progress: &mut dyn FnMut(u64),
        cancel: &AtomicBool,
    ) -> Result<VerifyReport> {
        let mut report = VerifyReport::default();
        for item in self.blocks.list()? {
            if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(Error::Cancelled);
            }
            let (mh, _) = item?;
            let cid = blockstore::listed_cid(&mh);
            let res = self
                .blocks
                .get_unverified(&cid)
                .and_then(|d| Ok(Block::verify(&cid, &d)?));
            match res {
                Ok(()) => {}
                // removed meanwhile
                Err(e) if e.is_not_found() => continue,
                Err(e) => report.corrupted.push(BadNode {
                    cid,
                    error: e.to_string(),
                }),
            }
            report.checked += 1;
            if report.checked.is_multiple_of(256) {
                progress(report.checked);
            }
        }
        progress(report.checked);
        Ok(report)
    }
}

/// Streaming `pin ls` (see [`Repo::pin_ls`]).
pub struct PinList<'a> {
    blocks: &'a Blockstore,
    queue: Vec<PinEntry>,
    exclude: HashSet<Cid>,
    visited: HashSet<Cid>,
    stack: Vec<(Cid, bool)>,
}

impl std::fmt::Debug for PinList<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinList")
            .field("queued", &self.queue.len())
            .finish()
    }
}

impl Iterator for PinList<'_> {
    type Item = Result<PinEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.queue.pop() {
            return Some(Ok(e));
        }
        while let Some((c, is_root)) = self.stack.pop() {
            match walk::children(self.blocks, &c, Check::Links) {
                Ok(kids) => {
                    for k in kids.into_iter().rev() {
                        if self.visited.insert(k) {
                            self.stack.push((k, false));
                        }
                    }
                }
                Err(e) => return Some(Err(e)),
            }
            if !is_root && !self.exclude.contains(&c) {
                return Some(Ok(PinEntry {
                    cid: c,
                    kind: PinKind::Indirect,
                    name: String::new(),
                }));
            }
        }
        None
    }
}

fn take_lock(path: &Path) -> Result<File> {
    let lp = path.join("repo.lock");
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lp)
        .map_err(|e| Error::io("open", &lp, e))?;
    match f.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let pid = fs::read_to_string(&lp)
                .ok()
                .and_then(|s| s.trim().parse().ok());
            return Err(Error::RepoLocked {
                path: path.to_path_buf(),
                pid,
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(Error::io("lock", &lp, e)),
    }
    f.set_len(0).map_err(|e| Error::io("write", &lp, e))?;
    (&f).write_all(format!("{}\n", std::process::id()).as_bytes())
        .map_err(|e| Error::io("write", &lp, e))?;
    Ok(f)
}

fn write_atomic(dir: &Path, name: &str, data: &[u8]) -> Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let dest = dir.join(name);
    let w = || -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, &dest)?;
        File::open(dir)?.sync_all()
    };
    w().map_err(|e| Error::io("write", &dest, e))
}
