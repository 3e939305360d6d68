//! UnixFS import with Kubo-identical CIDs: files (balanced or trickle layouts, dag-pb or raw
//! leaves), symlinks, directory trees (basic or HAMT-sharded) and `-w` wrapping.
//!
//! Start from [`AddFlags`] (Kubo's `ipfs add` flags) and [`AddFlags::resolve`] them into
//! [`ImportOptions`], or use a [`Profile`]'s options directly. Blocks go to any [`BlockSink`]
//! ([`crate::NullSink`] = `--only-hash`).
//!
//! ```
//! use ipfs_kit_content::import::{Control, ImportOptions, import_file};
//! use ipfs_kit_content::NullSink;
//! let added = import_file("hello", &b"hello world"[..], &ImportOptions::default(), &NullSink, &Control::new()).unwrap();
//! assert_eq!(added.cid.to_string(), "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD");
//! assert_eq!((added.size, added.bytes), (19, 11));
//! ```

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use cid::Cid;

pub use crate::Control;
use crate::pb::PbNode;
use crate::{BlockSink, Codec, Error, HashAlg, Result, block_cid_parts};

mod dir;
mod entries;
mod file;
mod hamt;
mod modify;
mod options;

pub use dir::{DirBuilder, MAX_DIR_DEPTH};
pub use entries::{EntryData, EntryMeta, TreeImport, clean_components};
pub use file::SharedRead;
pub use modify::{MAX_ZERO_FILL, Modifier, Prefix, WRITE_CHUNK_SIZE, empty_file};
pub use options::{
    AddFlags, DEFAULT_HAMT_FANOUT, DEFAULT_HAMT_THRESHOLD, DEFAULT_INLINE_LIMIT,
    DEFAULT_MAX_FILE_LINKS, ImportOptions, Layout, MAX_FILE_LINKS_LIMIT, MAX_INLINE_LIMIT, Profile,
    SizeEstimation, parse_mode,
};

/// A written node: its CID and the cumulative size of its DAG (the `Tsize` a parent's link
/// to it carries, what `ipfs add` prints as `Size`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeLink {
    /// The node's CID.
    pub cid: Cid,
    /// Serialized size of the node plus the cumulative sizes of all its links.
    pub tsize: u64,
}

/// One line of `ipfs add` output.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AddedEntry {
    /// Path as Kubo prints it (`dir/sub/file`; empty for a `-w` wrapper).
    pub path: String,
    /// The entry's root CID.
    #[serde(serialize_with = "cid_as_string")]
    pub cid: Cid,
    /// Cumulative DAG size in bytes (Kubo's `Size`).
    pub size: u64,
    /// Content bytes: the file size, or the sum of the file sizes below a directory.
    pub bytes: u64,
}

fn cid_as_string<S: serde::Serializer>(cid: &Cid, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(cid)
}

impl AddedEntry {
    fn new(path: &str, link: NodeLink, bytes: u64) -> Self {
        AddedEntry {
            path: path.to_string(),
            cid: link.cid,
            size: link.tsize,
            bytes,
        }
    }
}

/// Computes CIDs with the import's settings and stores blocks (identity-CID blocks are not
/// stored: their bytes are in the CID).
pub(crate) struct NodeWriter<'a> {
    pub(crate) opts: &'a ImportOptions,
    sink: &'a dyn BlockSink,
}

impl NodeWriter<'_> {
    fn cid_of(&self, codec: Codec, data: &[u8]) -> Result<Cid> {
        self.cid_of_parts(codec, &[data])
    }

    fn cid_of_parts(&self, codec: Codec, parts: &[&[u8]]) -> Result<Cid> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if self.opts.inline && len <= self.opts.inline_limit {
            return block_cid_parts(1, codec, HashAlg::Identity, parts);
        }
        let version = if codec == Codec::Raw {
            1
        } else {
            self.opts.cid_version
        };
        block_cid_parts(version, codec, self.opts.hash, parts)
    }

    pub(crate) fn put_encoded(&self, cid: &Cid, data: &[u8]) -> Result<()> {
        if cid.hash().code() == HashAlg::Identity.code() {
            return Ok(());
        }
        self.sink.put(cid, data)
    }

    /// Hash and store a block of `codec`.
    pub(crate) fn put(&self, codec: Codec, data: &[u8]) -> Result<NodeLink> {
        self.put_parts(codec, &[data])
    }

    /// Hash and store a block of `codec` whose bytes are the concatenation of `parts`.
    pub(crate) fn put_parts(&self, codec: Codec, parts: &[&[u8]]) -> Result<NodeLink> {
        let cid = self.cid_of_parts(codec, parts)?;
        if cid.hash().code() != HashAlg::Identity.code() {
            self.sink.put_parts(&cid, parts)?;
        }
        Ok(NodeLink {
            cid,
            tsize: parts.iter().map(|p| p.len() as u64).sum(),
        })
    }

    /// Encode and hash a dag-pb node without storing it.
    pub(crate) fn encode_pb(&self, node: &PbNode) -> Result<(NodeLink, Vec<u8>)> {
        let bytes = node.encode();
        let cid = self.cid_of(Codec::DagPb, &bytes)?;
        let tsize =
            bytes.len() as u64 + node.links.iter().map(|l| l.tsize.unwrap_or(0)).sum::<u64>();
        Ok((NodeLink { cid, tsize }, bytes))
    }

    /// Encode, hash and store a dag-pb node.
    pub(crate) fn put_pb(&self, node: &PbNode) -> Result<NodeLink> {
        let (link, bytes) = self.encode_pb(node)?;
        self.put_encoded(&link.cid, &bytes)?;
        Ok(link)
    }
}

/// Import one file's bytes from `reader` (`ipfs add` of a file or stdin) with `opts.mode` /
/// `opts.mtime` on its root. The returned entry's `path` is `name`.
pub fn import_file<R: Read + Send>(
    name: &str,
    reader: R,
    opts: &ImportOptions,
    sink: &dyn BlockSink,
    control: &Control,
) -> Result<AddedEntry> {
    import_input(name, file::Input::Reader(reader), opts, sink, control)
}

/// [`import_file`] of bytes that arrive as shared buffers ([`SharedRead`]): fixed-size leaves
/// are framed around them and stored without copying them.
pub fn import_shared(
    name: &str,
    src: &mut dyn SharedRead,
    opts: &ImportOptions,
    sink: &dyn BlockSink,
    control: &Control,
) -> Result<AddedEntry> {
    import_input::<io::Empty>(name, file::Input::Shared(src), opts, sink, control)
}

fn import_input<'a, R: Read + Send + 'a>(
    name: &str,
    input: file::Input<'a, R>,
    opts: &ImportOptions,
    sink: &dyn BlockSink,
    control: &Control,
) -> Result<AddedEntry> {
    opts.validate()?;
    let w = NodeWriter { opts, sink };
    let meta = file::Meta {
        mode: opts.mode,
        mtime: opts.mtime,
    };
    let (link, bytes) = file::import_reader(input, meta, &w, control)?;
    Ok(AddedEntry::new(name, link, bytes))
}

/// Import a symlink whose link text is `target` (with `opts.mtime`, never a mode).
pub fn import_symlink(
    name: &str,
    target: &str,
    opts: &ImportOptions,
    sink: &dyn BlockSink,
) -> Result<AddedEntry> {
    opts.validate()?;
    let w = NodeWriter { opts, sink };
    let meta = file::Meta {
        mode: None,
        mtime: opts.mtime,
    };
    let link = dir::symlink_node(&w, target, meta)?;
    Ok(AddedEntry::new(name, link, 0))
}

/// The name Kubo gives an argument: its last path component (`.`/`..` resolved).
pub fn arg_name(path: &Path) -> String {
    let named = |p: &Path| p.file_name().and_then(|n| n.to_str()).map(str::to_string);
    named(path)
        .or_else(|| std::fs::canonicalize(path).ok().as_deref().and_then(named))
        .unwrap_or_default()
}

/// `ipfs add [-r] [-w] PATH…`: import every path (files, symlinks, directory trees; a
/// directory is always imported recursively, so check `-r` before calling) and return the
/// records in Kubo's order: for each argument its files as added, then its directories
/// (children first); with `wrap_with_directory` all files of all arguments, then all
/// directories, then the wrapper (path `""`) last.
pub fn add_paths(
    paths: &[PathBuf],
    opts: &ImportOptions,
    sink: &dyn BlockSink,
    control: &Control,
) -> Result<Vec<AddedEntry>> {
    opts.validate()?;
    if paths.is_empty() {
        return Err(Error::InvalidOption("expected a file argument".into()));
    }
    let w = NodeWriter { opts, sink };
    let mut out = Vec::new();
    if !opts.wrap_with_directory {
        for p in paths {
            let mut o = dir::Outputs::default();
            dir::add_fs_path(p, &arg_name(p), true, &w, control, &mut o)?;
            out.append(&mut o.files);
            out.append(&mut o.dirs);
        }
        return Ok(out);
    }
    let mut wrapper = DirBuilder::new();
    wrapper.set_mode(opts.mode);
    wrapper.set_mtime(opts.mtime);
    let mut dirs: Vec<(String, Vec<AddedEntry>)> = Vec::new();
    let mut bytes = 0;
    for p in paths {
        let name = arg_name(p);
        if name.is_empty() {
            return Err(Error::InvalidPath {
                path: p.display().to_string(),
                reason: "has no name to use inside the wrapping directory".into(),
            });
        }
        let mut o = dir::Outputs::default();
        let Some((link, b)) = dir::add_fs_path(p, &name, false, &w, control, &mut o)? else {
            continue;
        };
        if wrapper.entries_contains(&name) {
            return Err(Error::InvalidPath {
                path: p.display().to_string(),
                reason: format!("two arguments are both named {name:?}"),
            });
        }
        wrapper.add(&name, link.cid, link.tsize)?;
        bytes += b;
        out.append(&mut o.files);
        dirs.push((name, o.dirs));
    }
    dirs.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, mut d) in dirs {
        out.append(&mut d);
    }
    let root = wrapper.write(&w)?;
    out.push(AddedEntry::new("", root, bytes));
    Ok(out)
}

/// `ipfs add -Q [-r] PATH`: import one path and return only its root record (the wrapper's
/// when `wrap_with_directory` is set).
pub fn add_path(
    path: &Path,
    opts: &ImportOptions,
    sink: &dyn BlockSink,
    control: &Control,
) -> Result<AddedEntry> {
    let mut all = add_paths(&[path.to_path_buf()], opts, sink, control)?;
    all.pop()
        .ok_or_else(|| Error::InvalidOption("nothing was added".into()))
}
