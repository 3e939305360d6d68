use cid::Cid;

/// Result with the content crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while encoding, decoding, importing or exporting content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A CID string or binary CID could not be parsed.
    #[error("invalid CID {input:?}: {reason}")]
    InvalidCid {
        /// The offending input (truncated for display).
        input: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A codec this crate does not handle.
    #[error("unsupported codec 0x{0:x}")]
    UnsupportedCodec(u64),
    /// A hash function this crate does not handle.
    #[error("unsupported hash function {0}")]
    UnsupportedHash(String),
    /// A block whose bytes are not valid for its codec.
    #[error("malformed {codec} block: {reason}")]
    MalformedBlock {
        /// Codec name.
        codec: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A block whose bytes do not hash to its CID.
    #[error("block {0} is corrupted: its bytes do not match its CID")]
    Corrupted(Cid),
    /// A block the source does not have.
    #[error("block {0} not found")]
    NotFound(Cid),
    /// A malformed CAR file.
    #[error("malformed CAR: {0}")]
    MalformedCar(String),
    /// An option or argument outside its allowed range.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// A path that does not resolve, or escapes its root.
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath {
        /// The path.
        path: String,
        /// Why.
        reason: String,
    },
    /// A path segment that names no entry of its directory (Kubo: `no link named "x" under Qm…`).
    #[error("no link named {name:?} under {parent} (resolving {path:?})")]
    NoSuchEntry {
        /// The whole path being resolved.
        path: String,
        /// The missing entry name.
        name: String,
        /// The directory that lacks it (its CID as text).
        parent: String,
    },
    /// The node is not of the kind the operation needs (e.g. `cat` of a directory).
    #[error("{0}")]
    WrongKind(String),
    /// The operation was cancelled by its caller.
    #[error("operation cancelled")]
    Cancelled,
    /// Underlying I/O failure (reading input, writing output, or the block store).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A block store failure reported by a [`crate::BlockSink`] / [`crate::BlockSource`] implementation.
    #[error("block store: {0}")]
    Store(String),
}

impl Error {
    pub(crate) fn malformed(codec: &'static str, reason: impl Into<String>) -> Self {
        Error::MalformedBlock {
            codec,
            reason: reason.into(),
        }
    }
}
