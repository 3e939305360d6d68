//! Progress reporting and cancellation shared by import and export.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::{Error, Result};

type ProgressFn = dyn Fn(u64) + Send + Sync;

/// Progress and cancellation of a long content operation (import, `cat`, `get`, `get_tar`).
///
/// * The progress callback receives the **total** number of content bytes processed so far by
///   this `Control` (hashed for an import, produced for an export), once per chunk or batch of
///   at most a few MiB, never per byte. Small files of a directory import are hashed in
///   parallel, so calls may come from worker threads and two may arrive out of order (keep the
///   maximum).
/// * The cancel flag is polled between batches, blocks and files; once it reads `true` the
///   operation stops with [`Error::Cancelled`]. A cancelled `get` removes the file it was writing
///   (temp name) but keeps what it had already finished.
///
/// Clones share the callback, the flag and the byte count.
#[derive(Clone, Default)]
pub struct Control {
    cancel: Option<Arc<AtomicBool>>,
    progress: Option<Arc<ProgressFn>>,
    done: Arc<AtomicU64>,
}

impl fmt::Debug for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Control")
            .field("bytes_done", &self.bytes_done())
            .field("cancel", &self.cancel)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl Control {
    /// No progress reporting, no cancellation.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stop with [`Error::Cancelled`] once `flag` becomes `true`.
    pub fn with_cancel(mut self, flag: Arc<AtomicBool>) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Call `f(total_bytes_so_far)` as work progresses.
    pub fn with_progress(mut self, f: impl Fn(u64) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Content bytes counted so far with [`Control::advance`].
    pub fn bytes_done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// `Err(Cancelled)` if cancellation was requested.
    pub fn check(&self) -> Result<()> {
        match &self.cancel {
            Some(flag) if flag.load(Ordering::Relaxed) => Err(Error::Cancelled),
            _ => Ok(()),
        }
    }

    /// Count `n` more bytes and report the new total.
    pub(crate) fn advance(&self, n: u64) {
        let total = self.done.fetch_add(n, Ordering::Relaxed) + n;
        self.report(total);
    }

    /// Report an absolute total.
    pub(crate) fn report(&self, total: u64) {
        if let Some(p) = &self.progress {
            p(total);
        }
    }
}
