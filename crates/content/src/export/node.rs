use bytes::Bytes;
use cid::Cid;

use crate::pb::PbNode;
use crate::unixfs::{DataType, UnixfsData};
use crate::{BlockSource, Codec, Error, HashAlg, Result};

/// What a UnixFS node is, as `stat` and `ls` report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeKind {
    /// A UnixFS file (dag-pb File or Raw node, any layout).
    File,
    /// A plain UnixFS directory.
    Directory,
    /// A HAMT-sharded UnixFS directory.
    HamtDirectory,
    /// A UnixFS symbolic link.
    Symlink,
    /// A raw-codec block: a file of exactly its bytes.
    Raw,
    /// Not UnixFS (another codec, a dag-pb node without UnixFS data, obsolete Metadata), or not
    /// resolved (`ls` without type resolution).
    Unknown,
}

impl NodeKind {
    /// Whether it holds file bytes (`cat` works).
    pub fn is_file(self) -> bool {
        matches!(self, NodeKind::File | NodeKind::Raw)
    }

    /// Whether it is a directory (plain or sharded).
    pub fn is_dir(self) -> bool {
        matches!(self, NodeKind::Directory | NodeKind::HamtDirectory)
    }

    /// The UnixFS type number Kubo's `ipfs ls --json` prints in `Type`
    /// (1 directory, 2 file, 4 symlink, 0 unknown).
    pub fn kubo_type(self) -> u8 {
        match self {
            NodeKind::Directory | NodeKind::HamtDirectory => 1,
            NodeKind::File | NodeKind::Raw => 2,
            NodeKind::Symlink => 4,
            NodeKind::Unknown => 0,
        }
    }

    /// Short lower-case name (`file`, `directory`, `hamt-directory`, `symlink`, `raw`, `unknown`).
    pub fn name(self) -> &'static str {
        match self {
            NodeKind::File => "file",
            NodeKind::Directory => "directory",
            NodeKind::HamtDirectory => "hamt-directory",
            NodeKind::Symlink => "symlink",
            NodeKind::Raw => "raw",
            NodeKind::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for NodeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The permission bits Kubo assumes when a node carries no `mode`
/// (directories 0755, files 0644, symlinks 0777; boxo `unixfs.FSNode.Mode`).
pub fn default_mode(kind: NodeKind) -> u32 {
    match kind {
        NodeKind::Directory | NodeKind::HamtDirectory => 0o755,
        NodeKind::Symlink => 0o777,
        _ => 0o644,
    }
}

/// A block's bytes, with identity-hash CIDs answered from the CID itself.
pub(crate) fn fetch<S: BlockSource + ?Sized>(src: &S, cid: &Cid) -> Result<Bytes> {
    if cid.hash().code() == HashAlg::Identity.code() {
        return Ok(Bytes::copy_from_slice(cid.hash().digest()));
    }
    src.get(cid)
}

/// A decoded block, classified for export.
#[derive(Debug)]
pub(crate) enum Loaded {
    /// A raw-codec block.
    Raw(Bytes),
    /// A dag-pb node, with its UnixFS data when it has a data field.
    Pb {
        block_len: u64,
        node: PbNode,
        fs: Option<UnixfsData>,
    },
    /// A block of another codec.
    Other(Codec),
}

impl Loaded {
    pub(crate) fn kind(&self) -> NodeKind {
        match self {
            Loaded::Raw(_) => NodeKind::Raw,
            Loaded::Pb { fs: Some(fs), .. } => kind_of(fs.kind),
            _ => NodeKind::Unknown,
        }
    }
}

/// The kind of a dag-pb node with UnixFS type `dt`.
pub(crate) fn kind_of(dt: DataType) -> NodeKind {
    match dt {
        DataType::File | DataType::Raw => NodeKind::File,
        DataType::Directory => NodeKind::Directory,
        DataType::HamtShard => NodeKind::HamtDirectory,
        DataType::Symlink => NodeKind::Symlink,
        DataType::Metadata => NodeKind::Unknown,
    }
}

/// Fetch and decode the block `cid` names.
pub(crate) fn load<S: BlockSource + ?Sized>(src: &S, cid: &Cid) -> Result<Loaded> {
    let codec = cid.codec();
    if codec != Codec::Raw.code() && codec != Codec::DagPb.code() {
        return Ok(Loaded::Other(Codec::from_code(codec)?));
    }
    decode(cid, fetch(src, cid)?)
}

/// Decode the bytes of block `cid`.
pub(crate) fn decode(cid: &Cid, bytes: Bytes) -> Result<Loaded> {
    let codec = cid.codec();
    if codec == Codec::Raw.code() {
        return Ok(Loaded::Raw(bytes));
    }
    if codec != Codec::DagPb.code() {
        return Ok(Loaded::Other(Codec::from_code(codec)?));
    }
    let node = PbNode::decode(&bytes)?;
    let fs = match &node.data {
        Some(d) => Some(UnixfsData::decode(d)?),
        None => None,
    };
    Ok(Loaded::Pb {
        block_len: bytes.len() as u64,
        node,
        fs,
    })
}

/// The error `cat` gives for a node that is not a file (Kubo's wording for directories).
pub(crate) fn not_a_file(kind: NodeKind, cid: &Cid) -> Error {
    match kind {
        NodeKind::Directory | NodeKind::HamtDirectory => {
            Error::WrongKind("this dag node is a directory".into())
        }
        NodeKind::Symlink => Error::WrongKind(format!("{cid} is a symlink, not a file")),
        _ => Error::WrongKind(format!("{cid} is not a UnixFS file")),
    }
}
