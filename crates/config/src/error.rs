//! The crate's typed errors and validation problems.

use std::path::PathBuf;

/// What kind of thing is wrong with one value of a config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    /// A key the format does not know.
    UnknownKey,
    /// A value of the wrong JSON/TOML type.
    WrongType,
    /// A required key is absent.
    Missing,
    /// A multiaddr that does not parse.
    BadMultiaddr,
    /// A peer ID that does not parse or does not match its private key.
    BadPeerId,
    /// A private key that does not decode.
    BadKey,
    /// A cluster secret that is not 64 hex characters.
    BadSecret,
    /// A URL that does not parse or has the wrong scheme.
    BadUrl,
    /// A port outside 0..=65535 or a listener collision.
    BadPort,
    /// Replication factors that contradict each other.
    Replication,
    /// Any other value outside its allowed set or range.
    BadValue,
}

/// One thing wrong with a config: where (dotted path) and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Dotted path of the offending value (`Addresses.API`, `service.cluster.secret`).
    pub path: String,
    /// Machine-readable class of the problem.
    pub code: ProblemCode,
    /// Human text.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, code: ProblemCode, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}",
            if self.path.is_empty() {
                "<root>"
            } else {
                &self.path
            },
            self.message
        )
    }
}

fn join(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Errors of the config crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file on disk does not parse in its format.
    #[error("{path} does not parse: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Parser message.
        message: String,
    },
    /// A document (or a proposed change) breaks the kind's rules; nothing was written.
    #[error("{kind} config invalid: {}", join(problems))]
    Invalid {
        /// The config kind.
        kind: &'static str,
        /// Everything found wrong.
        problems: Vec<Problem>,
    },
    /// The config has not been created yet.
    #[error("{kind} config not found at {path}")]
    NotFound {
        /// The config kind.
        kind: &'static str,
        /// The main file that is missing.
        path: PathBuf,
    },
    /// A dotted path that cannot be applied to the document.
    #[error("bad path {path:?}: {message}")]
    BadPath {
        /// The dotted path.
        path: String,
        /// Why.
        message: String,
    },
    /// An unknown kind name.
    #[error("unknown config kind {0:?}")]
    UnknownKind(String),
    /// An instance name (cluster name) that is empty or not a plain file name.
    #[error("bad instance name {0:?}: use letters, digits, '-', '_' or '.'")]
    BadInstance(String),
    /// The requested backup version does not exist.
    #[error("no backup {version:?} of {kind}")]
    NoBackup {
        /// The config kind.
        kind: &'static str,
        /// The requested version id.
        version: String,
    },
    /// Configured listeners collide with each other or with live sockets.
    #[error("port conflicts: {}", .0.iter().map(|c| c.to_string()).collect::<Vec<_>>().join("; "))]
    PortConflict(Vec<crate::ports::Conflict>),
    /// Something this build cannot do (a template or document it cannot render, a key it cannot encode).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The system random source failed.
    #[error("random source failed: {0}")]
    Random(String),
}

impl Error {
    /// An I/O error with its path.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// The validation problems, if this is an `Invalid` error.
    pub fn problems(&self) -> &[Problem] {
        match self {
            Error::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
