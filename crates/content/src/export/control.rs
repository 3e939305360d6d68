use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::{Error, Result};

type ProgressFn = dyn Fn(u64) + Send + Sync;

/// Progress reporting and cancellation for [`cat`](super::cat), [`get`](super::get) and
/// [`get_tar`](super::get_tar).
///
/// * The progress callback receives the **total** number of file bytes produced so far by the
///   operation. It is called once per leaf chunk (never per byte), from the calling thread.
/// * The cancel flag is polled before each block is fetched and before each chunk is written;
///   once it reads `true` the operation stops with [`Error::Cancelled`]. A cancelled `get` removes
///   the file it was writing (temp name) but keeps what it had already finished.
#[derive(Clone, Default)]
pub struct Control {
    cancel: Option<Arc<AtomicBool>>,
    progress: Option<Arc<ProgressFn>>,
}

impl fmt::Debug for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Control")
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

    /// Call `f(total_bytes_so_far)` after each chunk.
    pub fn with_progress(mut self, f: impl Fn(u64) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// `Err(Cancelled)` if cancellation was requested.
    pub fn check(&self) -> Result<()> {
        match &self.cancel {
            Some(flag) if flag.load(Ordering::Relaxed) => Err(Error::Cancelled),
            _ => Ok(()),
        }
    }

    pub(crate) fn report(&self, total: u64) {
        if let Some(p) = &self.progress {
            p(total);
        }
    }
}
