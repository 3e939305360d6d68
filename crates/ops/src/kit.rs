use std::path::{Path, PathBuf};
use std::sync::Arc;

use ipfs_kit_repo::Repo;

use crate::mfs::Mfs;
use crate::{ErrorCode, OpError};

/// The context every operation runs against: the kit's home and the embedded node's repo.
/// Cheap to clone (shared inside), so blocking work can move it onto a worker thread.
#[derive(Debug, Clone)]
pub struct Kit {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    home: PathBuf,
    repo: Repo,
    mfs: Mfs,
}

impl Kit {
    /// Open the kit rooted at `home` (created if missing) and take the lock of its repo
    /// (`home/repo`). A repo held by another process is a [`ErrorCode::RepoLocked`] error.
    pub fn open(home: &Path) -> Result<Kit, OpError> {
        std::fs::create_dir_all(home)?;
        let repo = Repo::open(home.join("repo"))?;
        let mfs = Mfs::open(&repo)?;
        Ok(Kit {
            inner: Arc::new(Inner {
                home: home.to_path_buf(),
                repo,
                mfs,
            }),
        })
    }

    /// The kit's home directory.
    pub fn home(&self) -> &Path {
        &self.inner.home
    }

    /// The embedded node's repository.
    pub fn repo(&self) -> &Repo {
        &self.inner.repo
    }

    /// The embedded node's mutable filesystem.
    pub fn mfs(&self) -> &Mfs {
        &self.inner.mfs
    }

    /// Run blocking work (hashing, disk I/O) on the blocking thread pool.
    pub async fn blocking<T, F>(&self, f: F) -> Result<T, OpError>
    where
        T: Send + 'static,
        F: FnOnce(Kit) -> Result<T, OpError> + Send + 'static,
    {
        let kit = self.clone();
        tokio::task::spawn_blocking(move || f(kit))
            .await
            .map_err(|e| OpError::new(ErrorCode::Internal, format!("worker failed: {e}")))?
    }
}
