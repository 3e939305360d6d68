use std::path::PathBuf;

use cid::Cid;

/// Result with the repo crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong with the embedded node's repo.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Another process (or another `Repo` in this one) holds the repo lock.
    #[error("repo {path} is locked by {}", match pid { Some(p) => format!("process {p}"), None => "another process".to_string() })]
    RepoLocked {
        /// The repo directory.
        path: PathBuf,
        /// The pid written by the holder, when it could be read.
        pid: Option<u32>,
    },
    /// The repo was written by an incompatible version of ipfs-kit.
    #[error("repo {path} has version {found:?}, this build reads version {expected}")]
    UnsupportedVersion {
        /// The repo directory.
        path: PathBuf,
        /// What the version file says.
        found: String,
        /// What we understand.
        expected: u32,
    },
    /// A file-system operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What we were doing.
        op: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The pin database failed.
    #[error("pin database: {0}")]
    Db(String),
    /// A content-level error (not found, corrupted block, malformed block, unsupported codec…).
    #[error(transparent)]
    Content(#[from] ipfs_kit_content::Error),
    /// A recursive pin was asked for a DAG that is not entirely present.
    #[error("cannot pin {root}: block {missing} of its DAG is not in the repo")]
    IncompleteDag {
        /// The DAG root being pinned (boxed to keep `Error` small).
        root: Box<Cid>,
        /// The first missing block found.
        missing: Cid,
    },
    /// The CID is not pinned (in the way the operation needs).
    #[error("{0} is not pinned")]
    NotPinned(Cid),
    /// `pin rm` without `recursive` on a recursively pinned CID.
    #[error("{0} is pinned recursively (use recursive removal)")]
    PinnedRecursively(Cid),
    /// Removing a block that a pin needs.
    #[error("block {cid} is pinned ({how})")]
    Pinned {
        /// The block.
        cid: Cid,
        /// `recursive`, `direct` or `indirect through <root>`.
        how: String,
    },
    /// GC found a pinned DAG it cannot walk; nothing was deleted.
    #[error("garbage collection aborted, nothing removed: {0}")]
    GcAborted(Box<Error>),
    /// The operation was cancelled through its cancel flag.
    #[error("operation cancelled")]
    Cancelled,
    /// An argument outside its allowed range.
    #[error("invalid option: {0}")]
    InvalidOption(String),
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// Whether this is a content-level "block not found".
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Content(ipfs_kit_content::Error::NotFound(_)))
    }
}

impl From<redb::Error> for Error {
    fn from(e: redb::Error) -> Self {
        Error::Db(e.to_string())
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::Db(e.to_string())
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// Blockstore errors seen through the content crate's traits.
impl From<Error> for ipfs_kit_content::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Content(c) => c,
            other => ipfs_kit_content::Error::Store(other.to_string()),
        }
    }
}
