//! The GC lock and mark-and-sweep garbage collection.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use cid::Cid;
use ipfs_kit_content::Mh;

use crate::blockstore::listed_cid;
use crate::walk::{Check, walk_dag};
use crate::{Error, Repo, Result};

/// Readers-writer lock between writers of blocks and pins (shared) and GC (exclusive).
///
/// Shared holds nest freely (a caller holding [`GcShared`] across add + pin can call `put` and
/// `pin_add`, which take it again): readers are never made to wait for a queued GC, so GC waits
/// until no shared guard is held. Guards are owned (`'static + Send`), so they can be held across
/// `.await` points or moved into blocking tasks.
#[derive(Debug, Default)]
pub struct GcLock {
    state: Mutex<(usize, bool)>,
    cv: Condvar,
}

/// A shared hold of the [`GcLock`]: no GC runs while it lives.
#[derive(Debug)]
#[must_use = "the lock is released when the guard is dropped"]
pub struct GcShared {
    lock: Arc<GcLock>,
}

/// The exclusive hold GC takes.
#[derive(Debug)]
#[must_use = "the lock is released when the guard is dropped"]
pub struct GcExclusive {
    lock: Arc<GcLock>,
}

impl GcLock {
    fn state(&self) -> MutexGuard<'_, (usize, bool)> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Take a shared hold (waits while a GC runs).
    pub fn shared(self: &Arc<Self>) -> GcShared {
        let mut s = self.state();
        while s.1 {
            s = self.cv.wait(s).unwrap_or_else(|p| p.into_inner());
        }
        s.0 += 1;
        GcShared {
            lock: Arc::clone(self),
        }
    }

    /// Take the exclusive hold (waits until no shared hold is left).
    pub fn exclusive(self: &Arc<Self>) -> GcExclusive {
        let mut s = self.state();
        while s.1 || s.0 > 0 {
            s = self.cv.wait(s).unwrap_or_else(|p| p.into_inner());
        }
        s.1 = true;
        GcExclusive {
            lock: Arc::clone(self),
        }
    }
}

impl Drop for GcShared {
    fn drop(&mut self) {
        let mut s = self.lock.state();
        s.0 -= 1;
        if s.0 == 0 {
            self.lock.cv.notify_all();
        }
    }
}

impl Drop for GcExclusive {
    fn drop(&mut self) {
        self.lock.state().1 = false;
        self.lock.cv.notify_all();
    }
}

/// What GC reports as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GcProgress {
    /// Marking: this many blocks found reachable so far.
    Marked(u64),
    /// Sweeping: one block removed (listed as CIDv1 raw, like Kubo), with its size.
    Removed {
        /// The removed block.
        cid: Cid,
        /// Its size in bytes.
        size: u64,
    },
}

/// Outcome of a GC run.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct GcReport {
    /// How many blocks were removed (each one was reported as [`GcProgress::Removed`]: the
    /// report stays small however many there are).
    pub removed: u64,
    /// Bytes freed.
    pub bytes_freed: u64,
    /// Blocks kept because they are reachable.
    pub kept: u64,
    /// True if the cancel flag stopped the sweep early (what was removed stays removed).
    pub cancelled: bool,
}

pub(crate) fn run(
    repo: &Repo,
    extra_roots: &[Cid],
    progress: &mut dyn FnMut(GcProgress),
    cancel: &AtomicBool,
) -> Result<GcReport> {
    let _x = repo.gc_lock().exclusive();
    let bs = repo.blocks();
    // Mark: everything reachable from recursive pins and extra roots, plus direct pins. A pinned
    // DAG that cannot be walked aborts GC before anything is deleted.
    let mut marked: HashSet<Mh> = HashSet::new();
    let mut visited: HashSet<Cid> = HashSet::new();
    let mut roots = repo.pins().recursive()?;
    roots.extend_from_slice(extra_roots);
    for root in &roots {
        walk_dag(bs, root, Check::Links, &mut visited, &mut |c| {
            if marked.insert(*c.hash()) && marked.len().is_multiple_of(1024) {
                progress(GcProgress::Marked(marked.len() as u64));
            }
            if cancel.load(Ordering::Relaxed) {
                return Err(Error::Cancelled);
            }
            Ok(())
        })
        .map_err(|e| match e {
            Error::Cancelled => Error::Cancelled,
            other => Error::GcAborted(Box::new(other)),
        })?;
    }
    for c in repo.pins().direct()? {
        marked.insert(*c.hash());
    }
    progress(GcProgress::Marked(marked.len() as u64));

    // Sweep. Removals are committed in batches, so a crash mid-sweep leaves only unmarked
    // blocks gone.
    let mut report = GcReport::default();
    for item in bs.list()? {
        if cancel.load(Ordering::Relaxed) {
            report.cancelled = true;
            break;
        }
        let (mh, _) = item?;
        if marked.contains(&mh) {
            report.kept += 1;
            continue;
        }
        if let Some(size) = bs.remove_mh(&mh)? {
            let cid = listed_cid(&mh);
            report.bytes_freed += size;
            report.removed += 1;
            progress(GcProgress::Removed { cid, size });
        }
    }
    bs.sync()?;
    // Reclaim the space: rewrite packs that the sweep left mostly dead.
    if !report.cancelled {
        let c = bs.compact(cancel)?;
        tracing::debug!(packs = c.packs, reclaimed = c.reclaimed, "gc compaction");
    }
    Ok(report)
}
