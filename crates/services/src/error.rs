//! The crate's typed errors.

use std::path::PathBuf;

/// Everything that can go wrong in the services crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The config crate's file helpers failed (atomic write, lock).
    #[error(transparent)]
    Config(#[from] ipfs_kit_config::Error),
    /// No home directory could be found (no `IPFS_KIT_HOME`, no `HOME`).
    #[error("no home directory: set IPFS_KIT_HOME or HOME")]
    NoHome,
    /// A service kind that the registry does not know.
    #[error("unknown service kind {0:?} (known: {known})", known = crate::ServiceKind::names().join(", "))]
    UnknownKind(String),
    /// A service name that is not registered.
    #[error("no service named {0:?}")]
    NotFound(String),
    /// A service name that is already registered.
    #[error("a service named {0:?} already exists")]
    Exists(String),
    /// A service name outside `[a-z0-9][a-z0-9_.-]{0,62}`.
    #[error(
        "invalid service name {0:?}: use 1-63 of a-z, 0-9, '_', '-', '.', starting with a letter or digit"
    )]
    BadName(String),
    /// A record or setting with a bad value.
    #[error("invalid {what}: {message}")]
    Invalid {
        /// Which field or file.
        what: String,
        /// Why.
        message: String,
    },
    /// A stored file that does not parse.
    #[error("{} is damaged: {message}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The program of a daemon is neither configured nor on `PATH`.
    #[error(
        "{service}: program {program:?} not found (install it, put it on PATH, or set the service's `binary`)"
    )]
    BinaryNotFound {
        /// The service.
        service: String,
        /// The program looked for.
        program: String,
    },
    /// A port the service needs is taken.
    #[error("{service}: port in use: {detail}")]
    PortInUse {
        /// The service.
        service: String,
        /// Which listener and who holds it.
        detail: String,
    },
    /// The operation needs a daemon kind, the service is a storage backend (or the reverse).
    #[error("{service}: {message}")]
    Unsupported {
        /// The service.
        service: String,
        /// Why.
        message: String,
    },
    /// Starting a process failed, or it exited or stayed unhealthy.
    #[error("{service}: {message}")]
    Start {
        /// The service.
        service: String,
        /// What happened (exit status, last log lines, timeout).
        message: String,
    },
    /// The caller gave up on a start while it waited for health; the daemon was stopped.
    #[error("{service}: start cancelled while waiting for its health probe; it was stopped")]
    Cancelled {
        /// The service.
        service: String,
    },
    /// A remote API (health probe, storage endpoint) could not be reached or answered badly.
    #[error("{service}: {message}")]
    Unreachable {
        /// The service.
        service: String,
        /// What was tried and what came back.
        message: String,
    },
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// An invalid value.
    pub fn invalid(what: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid {
            what: what.into(),
            message: message.into(),
        }
    }
}

/// The crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
