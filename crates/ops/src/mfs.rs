//! The mutable filesystem (MFS) of the embedded node: a UnixFS directory tree whose root CID is
//! persisted in the repo (`repo/mfs-root`, replaced atomically) and kept alive by GC.
//!
//! Every change rewrites the changed directories up to the root (copy-on-write: the unchanged
//! entries are copied by CID), syncs the new blocks, then persists the new root. Changes are
//! serialised by one mutex and hold the repo's GC-shared guard, so GC (which takes the same
//! mutex to read the root) never sees blocks of a change that is not yet the root.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use cid::Cid;
use ipfs_kit_content::export::{self, NodeKind};
use ipfs_kit_content::import::{AddedEntry, DirBuilder, ImportOptions, NodeLink};
use ipfs_kit_content::{BlockSource, HashAlg, parse_cid};
use ipfs_kit_repo::Repo;

use crate::{ErrorCode, OpError};

/// Name of the file (in the repo directory) holding the MFS root CID.
pub const MFS_ROOT_FILE: &str = "mfs-root";

/// Kubo's empty UnixFS directory (CIDv0), the root of a fresh MFS.
pub const EMPTY_DIR_V0: &str = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn";

/// The MFS root and the lock that serialises changes to it.
#[derive(Debug)]
pub struct Mfs {
    file: PathBuf,
    root: Mutex<Cid>,
}

/// Exclusive access to the MFS for one change (or a consistent read of the root).
pub type MfsGuard<'a> = MutexGuard<'a, Cid>;

/// A validated absolute MFS path: its segments (empty for `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfsPath(pub Vec<String>);

impl MfsPath {
    /// Parse `/a/b` (a trailing `/` is allowed): absolute, no empty, `.` or `..` segments.
    pub fn parse(path: &str) -> Result<MfsPath, OpError> {
        let bad = |reason: &str| {
            OpError::new(
                ErrorCode::InvalidPath,
                format!("invalid MFS path {path:?}: {reason}"),
            )
            .with("path", path.chars().take(300).collect::<String>())
        };
        let Some(rest) = path.strip_prefix('/') else {
            return Err(bad("paths must start with /"));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() {
            return Ok(MfsPath(Vec::new()));
        }
        let mut segs = Vec::new();
        for s in rest.split('/') {
            if segs.len() >= export::MAX_PATH_SEGMENTS {
                return Err(bad("too many segments"));
            }
            export::validate_entry_name(s).map_err(|e| bad(&e.to_string()))?;
            segs.push(s.to_string());
        }
        Ok(MfsPath(segs))
    }

    /// Whether this is `/`.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// Parse a path that must name an entry, not `/` (`action` says what cannot be done to `/`).
    pub fn parse_entry(path: &str, action: &str) -> Result<MfsPath, OpError> {
        let p = MfsPath::parse(path)?;
        if p.is_root() {
            return Err(OpError::new(
                ErrorCode::InvalidPath,
                format!("cannot {action} the MFS root /"),
            ));
        }
        Ok(p)
    }

    /// The parent's segments and the last name (`None` for `/`).
    pub fn split(&self) -> Option<(&[String], &str)> {
        let (last, parent) = self.0.split_last()?;
        Some((parent, last.as_str()))
    }

    /// The path as `/a/b`.
    pub fn display(&self) -> String {
        format!("/{}", self.0.join("/"))
    }
}

impl Mfs {
    /// Open the MFS of `repo`: read the persisted root, or start from Kubo's empty directory
    /// (nothing is written until the MFS is first used).
    pub fn open(repo: &Repo) -> Result<Mfs, OpError> {
        let file = repo.path().join(MFS_ROOT_FILE);
        let root = match std::fs::read_to_string(&file) {
            Ok(s) => parse_cid(s.trim()).map_err(|e| {
                OpError::new(
                    ErrorCode::Corrupted,
                    format!("{} does not hold a CID: {e}", file.display()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => empty_dir()?,
            Err(e) => return Err(e.into()),
        };
        Ok(Mfs {
            file,
            root: Mutex::new(root),
        })
    }

    /// Lock the MFS (changes are serialised; the guard derefs to the current root, whose block
    /// is present in `repo`).
    pub fn lock(&self, repo: &Repo) -> Result<MfsGuard<'_>, OpError> {
        let guard = self
            .root
            .lock()
            .map_err(|_| OpError::new(ErrorCode::Internal, "MFS lock poisoned"))?;
        ensure_block(repo, &guard)?;
        Ok(guard)
    }

    /// Lock the MFS for GC: no change can start while it is held, and nothing is written.
    pub fn lock_for_gc(&self) -> Result<MfsGuard<'_>, OpError> {
        self.root
            .lock()
            .map_err(|_| OpError::new(ErrorCode::Internal, "MFS lock poisoned"))
    }

    /// The current root CID (its block present in `repo`).
    pub fn root(&self, repo: &Repo) -> Result<Cid, OpError> {
        Ok(*self.lock(repo)?)
    }

    /// The root GC must keep, taken under the lock held by `guard`: `None` while the root is the
    /// empty directory, which links nothing and whose 4-byte block is re-created on demand.
    pub fn gc_root(guard: &MfsGuard<'_>) -> Result<Option<Cid>, OpError> {
        Ok((**guard != empty_dir()?).then_some(**guard))
    }

    /// Make `new` the root: sync blocks, persist the CID atomically, then publish it in `guard`.
    pub fn commit(&self, repo: &Repo, guard: &mut MfsGuard<'_>, new: Cid) -> Result<(), OpError> {
        if **guard == new {
            return Ok(());
        }
        repo.blocks().sync()?;
        write_atomic(&self.file, &new)?;
        **guard = new;
        Ok(())
    }
}

/// Kubo's empty directory CID.
fn empty_dir() -> Result<Cid, OpError> {
    Ok(parse_cid(EMPTY_DIR_V0)?)
}

/// Store the empty directory's block when `root` is it and the block is absent (a fresh repo,
/// or GC removed it while nothing referenced it).
fn ensure_block(repo: &Repo, root: &Cid) -> Result<(), OpError> {
    if *root != empty_dir()? || repo.blocks().has(root)? {
        return Ok(());
    }
    let _hold = repo.gc_shared();
    let link = DirBuilder::new().build(&dir_options(0, HashAlg::Sha2_256), repo.blocks())?;
    if link.cid != *root {
        return Err(OpError::new(
            ErrorCode::Internal,
            format!("the empty directory encoded as {}, not {root}", link.cid),
        ));
    }
    Ok(())
}

/// Write `cid` to `file` via a synced temporary file and a rename, then sync the directory.
fn write_atomic(file: &Path, cid: &Cid) -> Result<(), OpError> {
    let tmp = file.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(format!("{cid}\n").as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, file)?;
    if let Some(dir) = file.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Options for writing a directory with this CID version and hash (Kubo's defaults otherwise).
pub fn dir_options(cid_version: u8, hash: HashAlg) -> ImportOptions {
    ImportOptions {
        cid_version,
        hash,
        ..ImportOptions::default()
    }
}

/// The CID version and hash of an existing node, to keep them when it is rewritten.
fn prefix_of(cid: &Cid) -> (u8, HashAlg) {
    let v = if cid.version() == cid::Version::V0 {
        0
    } else {
        1
    };
    (
        v,
        HashAlg::from_code(cid.hash().code()).unwrap_or(HashAlg::Sha2_256),
    )
}

/// A directory loaded for rewriting: its entries (name → CID, Tsize) and node metadata.
#[derive(Debug, Clone)]
pub struct Dir {
    /// Entries by name.
    pub entries: BTreeMap<String, (Cid, u64)>,
    /// CID version to write it with.
    pub cid_version: u8,
    /// Hash to write it with.
    pub hash: HashAlg,
    mode: Option<u32>,
    mtime: Option<ipfs_kit_content::unixfs::Mtime>,
}

impl Dir {
    /// A new empty directory.
    pub fn empty(cid_version: u8, hash: HashAlg) -> Dir {
        Dir {
            entries: BTreeMap::new(),
            cid_version,
            hash,
            mode: None,
            mtime: None,
        }
    }

    /// Load the directory `cid` (an error if it is not one).
    pub fn load<S: BlockSource + ?Sized>(src: &S, cid: &Cid, path: &str) -> Result<Dir, OpError> {
        let st = export::stat(src, cid)?;
        if !st.kind.is_dir() {
            return Err(OpError::invalid(format!("{path} is not a directory"))
                .with("path", path.to_string()));
        }
        let (cid_version, hash) = prefix_of(cid);
        let mut entries = BTreeMap::new();
        for e in export::ls(src, cid, false)? {
            let e = e?;
            entries.insert(e.name, (e.cid, e.tsize.unwrap_or(0)));
        }
        Ok(Dir {
            entries,
            cid_version,
            hash,
            mode: st.mode,
            mtime: st.mtime,
        })
    }

    /// Write it (basic or sharded, as Kubo decides) and return its link.
    pub fn write(&self, repo: &Repo) -> Result<NodeLink, OpError> {
        let mut b = DirBuilder::new();
        b.set_mode(self.mode);
        b.set_mtime(self.mtime);
        for (name, (cid, tsize)) in &self.entries {
            b.add(name, *cid, *tsize)?;
        }
        Ok(b.build(&dir_options(self.cid_version, self.hash), repo.blocks())?)
    }
}

/// Look `name` up in directory `dir` (`None` when absent).
pub fn lookup<S: BlockSource + ?Sized>(
    src: &S,
    dir: &Cid,
    name: &str,
) -> Result<Option<Cid>, OpError> {
    match export::resolve(src, dir, name) {
        Ok(c) => Ok(Some(c)),
        Err(ipfs_kit_content::Error::NoSuchEntry { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Resolve an MFS path under `root` to its CID (`NotFound` when missing).
pub fn resolve<S: BlockSource + ?Sized>(
    src: &S,
    root: &Cid,
    path: &MfsPath,
) -> Result<Cid, OpError> {
    let mut cur = *root;
    for (i, seg) in path.0.iter().enumerate() {
        cur = lookup(src, &cur, seg)?.ok_or_else(|| {
            OpError::new(
                ErrorCode::NotFound,
                format!(
                    "file does not exist: {}",
                    MfsPath(path.0[..=i].to_vec()).display()
                ),
            )
            .with("path", path.display())
        })?;
    }
    Ok(cur)
}

/// Rewrite the directory at `dir_path` with `change` and every directory above it, returning the
/// new root. With `parents`, missing directories on the way are created (with `new_dir_version`).
pub fn update_dir(
    repo: &Repo,
    root: &Cid,
    dir_path: &[String],
    parents: bool,
    new_dir_version: u8,
    change: impl FnOnce(&mut Dir) -> Result<(), OpError>,
) -> Result<Cid, OpError> {
    let src = repo.blocks();
    // The directories from the root down to `dir_path`; `None` = to be created.
    let mut chain: Vec<Option<Cid>> = vec![Some(*root)];
    for (i, seg) in dir_path.iter().enumerate() {
        let next = match chain.last().copied().flatten() {
            Some(cur) => lookup(src, &cur, seg)?,
            None => None,
        };
        if next.is_none() && !parents {
            return Err(OpError::new(
                ErrorCode::NotFound,
                format!(
                    "directory does not exist: {} (use parents to create it)",
                    MfsPath(dir_path[..=i].to_vec()).display()
                ),
            ));
        }
        chain.push(next);
    }
    let mut change = Some(change);
    let mut child: Option<NodeLink> = None;
    for level in (0..chain.len()).rev() {
        let here = MfsPath(dir_path[..level].to_vec()).display();
        let mut dir = match chain[level] {
            Some(cid) => Dir::load(src, &cid, &here)?,
            None => Dir::empty(new_dir_version, HashAlg::Sha2_256),
        };
        match (change.take(), child) {
            (Some(f), _) => f(&mut dir)?,
            (None, Some(link)) => {
                dir.entries
                    .insert(dir_path[level].clone(), (link.cid, link.tsize));
            }
            (None, None) => {
                return Err(OpError::new(
                    ErrorCode::Internal,
                    "MFS rewrite lost a level",
                ));
            }
        }
        child = Some(dir.write(repo)?);
    }
    child
        .map(|l| l.cid)
        .ok_or_else(|| OpError::new(ErrorCode::Internal, "MFS rewrite produced no root"))
}

/// Set (or with `None` remove) the entry at `path` (not `/`), returning the new root.
pub fn set_entry(
    repo: &Repo,
    root: &Cid,
    path: &MfsPath,
    link: Option<NodeLink>,
    parents: bool,
    new_dir_version: u8,
) -> Result<Cid, OpError> {
    let (parent, name) = path
        .split()
        .ok_or_else(|| OpError::new(ErrorCode::InvalidPath, "cannot replace the MFS root /"))?;
    let name = name.to_string();
    update_dir(repo, root, parent, parents, new_dir_version, move |d| {
        match link {
            Some(l) => {
                d.entries.insert(name, (l.cid, l.tsize));
            }
            None => {
                d.entries.remove(&name);
            }
        }
        Ok(())
    })
}

/// Cumulative size of a node (the `Tsize` a link to it carries).
pub fn tsize_of<S: BlockSource + ?Sized>(src: &S, cid: &Cid) -> Result<(NodeKind, u64), OpError> {
    let st = export::stat(src, cid)?;
    Ok((st.kind, st.cumulative_size))
}

/// The add options `--to-files` cannot be combined with (Kubo's checks, before anything is added).
pub fn check_to_files(only_hash: bool, wrap_with_directory: bool) -> Result<(), OpError> {
    if only_hash {
        return Err(OpError::invalid(
            "only-hash and to-files options are not compatible",
        ));
    }
    if wrap_with_directory {
        return Err(OpError::invalid(
            "wrap-with-directory and to-files options are not compatible",
        ));
    }
    Ok(())
}

/// Kubo's `ipfs add --to-files DST`: link each added top-level entry (its name and root) into
/// the MFS under `guard`, and commit. `DST` ending in `/` (or empty, meaning `/`) is an existing
/// directory that receives every entry under its own name; otherwise `DST` is the new name of the
/// one entry, in an existing directory. An existing name is never replaced. The checks and their
/// messages are Kubo's, in its order; unlike Kubo, a failure links none of the entries.
pub fn link_added(
    repo: &Repo,
    mfs: &Mfs,
    guard: &mut MfsGuard<'_>,
    dst: &str,
    added: &[AddedEntry],
) -> Result<(), OpError> {
    let dst = if dst.is_empty() { "/" } else { dst };
    let fail = |msg: String| OpError::invalid(format!("to-files: {msg}")).with("to_files", dst);
    let as_dir = dst.ends_with('/');
    let base = MfsPath::parse(dst)?;
    let src = repo.blocks();
    let mut root = **guard;
    // The destination directory is checked once: entries only ever go into it.
    if as_dir {
        let found = resolve(src, &root, &base).map_err(|e| {
            fail(format!(
                "MFS destination directory {dst:?} does not exist: {}",
                e.message
            ))
        })?;
        if !export::stat(src, &found)?.kind.is_dir() {
            return Err(fail(format!("MFS destination {dst:?} is not a directory")));
        }
    }
    for (i, entry) in added.iter().enumerate() {
        let name = &entry.path;
        let link = NodeLink {
            cid: entry.cid,
            tsize: entry.size,
        };
        if name.is_empty() {
            return Err(fail("cannot add unnamed files to MFS".into()));
        }
        let mut path = base.clone();
        if as_dir {
            path.0
                .push(name.rsplit('/').next().unwrap_or(name).to_string());
        } else if i > 0 {
            return Err(fail(format!(
                "MFS destination is a file: only one entry can be copied to {dst:?}"
            )));
        }
        let shown = path.display();
        let (parent, _) = path
            .split()
            .ok_or_else(|| fail("cannot put node in path \"/\": it is the MFS root".into()))?;
        let parent = MfsPath(parent.to_vec());
        resolve(src, &root, &parent).map_err(|e| {
            fail(format!(
                "MFS destination parent {shown:?} {:?} does not exist: {}",
                parent.display(),
                e.message
            ))
        })?;
        if resolve(src, &root, &path).is_ok() {
            return Err(fail(format!(
                "cannot put node in path {shown:?}: directory already has entry by that name"
            )));
        }
        root = set_entry(repo, &root, &path, Some(link), false, 0)?;
    }
    mfs.commit(repo, guard, root)
}
