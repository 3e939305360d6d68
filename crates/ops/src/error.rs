use serde::Serialize;
use serde_json::{Map, Value};

/// Machine-readable error codes: a closed set shared by every face (MCP, REST, CLI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The input does not match the operation's schema or is out of range.
    InvalidInput,
    /// A CID could not be parsed or uses an unsupported codec/hash.
    InvalidCid,
    /// A path is malformed or escapes its root.
    InvalidPath,
    /// The thing asked for does not exist.
    NotFound,
    /// The target already exists.
    AlreadyExists,
    /// Stored data does not match its CID, or a DAG is malformed.
    Corrupted,
    /// The repository is held by another process.
    RepoLocked,
    /// A needed external daemon is absent or not answering.
    DaemonUnavailable,
    /// An external daemon refused the credentials ipfs-kit sent (HTTP 401), or wants some.
    DaemonUnauthorized,
    /// A configuration is invalid.
    ConfigInvalid,
    /// A port is already in use.
    PortInUse,
    /// The operation is not supported on this node or for this input.
    Unsupported,
    /// The caller cancelled the operation.
    Cancelled,
    /// A local I/O failure.
    Io,
    /// A bug or unexpected failure inside ipfs-kit.
    Internal,
}

/// The one error shape that crosses every face:
/// `{"status":"error","error":"…","error_code":"…","context":{…}}`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct OpError {
    /// Machine code.
    pub code: ErrorCode,
    /// Human text.
    pub message: String,
    /// Structured details (offending CID, path, limits, …).
    pub context: Map<String, Value>,
}

impl OpError {
    /// An error with no context.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        OpError {
            code,
            message: message.into(),
            context: Map::new(),
        }
    }

    /// Shorthand for [`ErrorCode::InvalidInput`].
    pub fn invalid(message: impl Into<String>) -> Self {
        OpError::new(ErrorCode::InvalidInput, message)
    }

    /// Add a context pair.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.context.insert(key.to_string(), value.into());
        self
    }

    /// The JSON shape every face returns.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "status": "error",
            "error": self.message,
            "error_code": self.code,
            "context": self.context,
        })
    }
}

impl From<ipfs_kit_content::Error> for OpError {
    fn from(e: ipfs_kit_content::Error) -> Self {
        use ipfs_kit_content::Error as E;
        let code = match &e {
            E::InvalidCid { .. } | E::UnsupportedCodec(_) | E::UnsupportedHash(_) => {
                ErrorCode::InvalidCid
            }
            E::MalformedBlock { .. } | E::Corrupted(_) | E::MalformedCar(_) => ErrorCode::Corrupted,
            E::NotFound(_) | E::NoSuchEntry { .. } => ErrorCode::NotFound,
            E::InvalidOption(_) => ErrorCode::InvalidInput,
            E::InvalidPath { .. } => ErrorCode::InvalidPath,
            E::WrongKind(_) => ErrorCode::InvalidInput,
            E::Cancelled => ErrorCode::Cancelled,
            E::Io(io) if io.kind() == std::io::ErrorKind::NotFound => ErrorCode::NotFound,
            E::Io(io) if io.kind() == std::io::ErrorKind::AlreadyExists => ErrorCode::AlreadyExists,
            E::Io(_) | E::Store(_) => ErrorCode::Io,
            _ => ErrorCode::Internal,
        };
        let mut err = OpError::new(code, e.to_string());
        match &e {
            E::Corrupted(cid) | E::NotFound(cid) => err = err.with("cid", cid.to_string()),
            E::InvalidPath { path, .. } | E::NoSuchEntry { path, .. } => {
                err = err.with("path", path.clone())
            }
            _ => {}
        }
        err
    }
}

impl From<std::io::Error> for OpError {
    fn from(e: std::io::Error) -> Self {
        ipfs_kit_content::Error::Io(e).into()
    }
}

impl From<ipfs_kit_repo::Error> for OpError {
    fn from(e: ipfs_kit_repo::Error) -> Self {
        use ipfs_kit_repo::Error as E;
        let text = e.to_string();
        match e {
            E::Content(c) => c.into(),
            E::RepoLocked { path, pid } => OpError::new(ErrorCode::RepoLocked, text)
                .with("path", path.display().to_string())
                .with("pid", pid),
            E::UnsupportedVersion { path, .. } => {
                OpError::new(ErrorCode::Unsupported, text).with("path", path.display().to_string())
            }
            E::Io { path, source, .. } => {
                let code = match source.kind() {
                    std::io::ErrorKind::NotFound => ErrorCode::NotFound,
                    _ => ErrorCode::Io,
                };
                OpError::new(code, text).with("path", path.display().to_string())
            }
            E::IncompleteDag { root, missing } => OpError::new(ErrorCode::NotFound, text)
                .with("cid", root.to_string())
                .with("missing", missing.to_string()),
            E::NotPinned(cid) => {
                OpError::new(ErrorCode::NotFound, text).with("cid", cid.to_string())
            }
            E::PinnedRecursively(cid) | E::Pinned { cid, .. } => {
                OpError::new(ErrorCode::InvalidInput, text).with("cid", cid.to_string())
            }
            E::GcAborted(_) => OpError::new(ErrorCode::Corrupted, text),
            E::Cancelled => OpError::new(ErrorCode::Cancelled, text),
            E::InvalidOption(_) => OpError::new(ErrorCode::InvalidInput, text),
            _ => OpError::new(ErrorCode::Internal, text),
        }
    }
}

impl From<ipfs_kit_config::Error> for OpError {
    fn from(e: ipfs_kit_config::Error) -> Self {
        use ipfs_kit_config::Error as E;
        let text = e.to_string();
        match e {
            E::Io { path, source, .. } => {
                let code = match source.kind() {
                    std::io::ErrorKind::NotFound => ErrorCode::NotFound,
                    _ => ErrorCode::Io,
                };
                OpError::new(code, text).with("path", path.display().to_string())
            }
            E::Parse { path, .. } => OpError::new(ErrorCode::ConfigInvalid, text)
                .with("path", path.display().to_string()),
            E::Invalid { kind, problems } => OpError::new(ErrorCode::ConfigInvalid, text)
                .with("kind", kind)
                .with(
                    "problems",
                    serde_json::to_value(&problems).unwrap_or_default(),
                ),
            E::NotFound { kind, path } => OpError::new(ErrorCode::NotFound, text)
                .with("kind", kind)
                .with("path", path.display().to_string()),
            E::BadPath { path, .. } => OpError::new(ErrorCode::InvalidInput, text)
                .with("field", "path")
                .with("path", path),
            E::UnknownKind(kind) => OpError::new(ErrorCode::InvalidInput, text).with("kind", kind),
            E::BadInstance(name) => {
                OpError::new(ErrorCode::InvalidInput, text).with("cluster", name)
            }
            E::NoBackup { kind, version } => OpError::new(ErrorCode::NotFound, text)
                .with("kind", kind)
                .with("version", version),
            E::PortConflict(conflicts) => {
                let first = conflicts.first().map(|c| c.suggested_port);
                let mut err = OpError::new(ErrorCode::PortInUse, text).with(
                    "conflicts",
                    serde_json::to_value(&conflicts).unwrap_or_default(),
                );
                if let Some(port) = first {
                    err = err.with("suggested_port", port);
                }
                err
            }
            E::Unsupported(_) => OpError::new(ErrorCode::Unsupported, text),
            E::Random(_) => OpError::new(ErrorCode::Internal, text),
        }
    }
}
