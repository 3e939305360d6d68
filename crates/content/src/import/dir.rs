//! Directories: the in-memory [`DirBuilder`] (basic or HAMT, Kubo's switch rule) and the
//! filesystem walk behind `ipfs add -r` (explicit stack, depth limit, sorted entries).

use std::collections::BTreeMap;
use std::fs::{self, Metadata};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use cid::Cid;
use rayon::prelude::*;

use super::NodeLink;
use super::file::{Input, Meta, import_reader};
use super::options::{ImportOptions, SizeEstimation};
use super::{AddedEntry, Control, NodeWriter, hamt};
use crate::pb::{PbLink, PbNode, varint_len};
use crate::unixfs::{DataType, Mtime, UnixfsData};
use crate::{BlockSink, Error, Result};

/// Deepest directory nesting a filesystem import accepts.
pub const MAX_DIR_DEPTH: usize = 1024;

/// Builds one UnixFS directory from (name, CID, Tsize) entries, without a filesystem: a basic
/// directory, or a HAMT when Kubo would shard it (estimated size strictly above
/// `hamt_threshold`, or more than `max_directory_links` entries).
#[derive(Debug, Clone, Default)]
pub struct DirBuilder {
    entries: BTreeMap<String, NodeLink>,
    meta: Meta,
}

impl DirBuilder {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Permission bits stored on the directory node (`None` or 0 = none).
    pub fn set_mode(&mut self, mode: Option<u32>) {
        self.meta.mode = mode.filter(|&m| m != 0);
    }

    /// Modification time stored on the directory node.
    pub fn set_mtime(&mut self, mtime: Option<Mtime>) {
        self.meta.mtime = mtime;
    }

    /// Add (or replace) the entry `name`. Names must be non-empty, not `.`/`..`, without `/`.
    pub fn add(&mut self, name: &str, cid: Cid, tsize: u64) -> Result<()> {
        if name.is_empty() || name == "." || name == ".." || name.contains('/') {
            return Err(Error::InvalidPath {
                path: name.to_string(),
                reason: "not a valid directory entry name".into(),
            });
        }
        self.entries
            .insert(name.to_string(), NodeLink { cid, tsize });
        Ok(())
    }

    pub(crate) fn entries_contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the directory has no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The data field of the basic directory node.
    fn data(&self) -> UnixfsData {
        let mut d = UnixfsData::new(DataType::Directory);
        d.mode = self.meta.mode;
        d.mtime = self.meta.mtime;
        d
    }

    /// Whether `build` with these options writes a HAMT (boxo `needsToSwitchToHAMTDir`).
    pub fn will_shard(&self, opts: &ImportOptions) -> bool {
        if opts.hamt_threshold == 0 {
            return false;
        }
        let too_many =
            opts.max_directory_links > 0 && self.entries.len() > opts.max_directory_links;
        let size: u64 = match opts.hamt_size_estimation {
            SizeEstimation::Disabled => return too_many,
            SizeEstimation::Links => self
                .entries
                .iter()
                .map(|(n, l)| (n.len() + l.cid.encoded_len()) as u64)
                .sum(),
            SizeEstimation::Block => {
                let d = self.data().encode().len();
                let data_field = 1 + varint_len(d as u64) + d;
                let links: usize = self
                    .entries
                    .iter()
                    .map(|(n, l)| {
                        let c = l.cid.encoded_len();
                        let inner = 1
                            + varint_len(c as u64)
                            + c
                            + 1
                            + varint_len(n.len() as u64)
                            + n.len()
                            + 1
                            + varint_len(l.tsize);
                        1 + varint_len(inner as u64) + inner
                    })
                    .sum();
                (data_field + links) as u64
            }
        };
        too_many || size > opts.hamt_threshold
    }

    /// Write the directory (and any HAMT shards) to `sink`; returns the root link.
    pub fn build(&self, opts: &ImportOptions, sink: &dyn BlockSink) -> Result<NodeLink> {
        opts.validate()?;
        self.write(&NodeWriter { opts, sink })
    }

    pub(crate) fn write(&self, w: &NodeWriter<'_>) -> Result<NodeLink> {
        if self.will_shard(w.opts) {
            return hamt::build(
                self.entries.iter().map(|(n, l)| (n.as_str(), *l)),
                w.opts.hamt_fanout,
                self.meta,
                w,
            );
        }
        w.put_pb(&PbNode {
            links: self
                .entries
                .iter()
                .map(|(n, l)| PbLink::new(l.cid, n.clone(), l.tsize))
                .collect(),
            data: Some(Bytes::from(self.data().encode())),
        })
    }
}

/// What one filesystem entry is, after following symlinks if asked.
enum Kind {
    File,
    Dir,
    Symlink(String),
}

fn path_err(path: &Path, reason: impl Into<String>) -> Error {
    Error::InvalidPath {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

fn io_err(path: &Path, e: std::io::Error) -> Error {
    path_err(path, e.to_string())
}

fn classify(path: &Path, deref: bool) -> Result<(Kind, Metadata)> {
    let md = fs::symlink_metadata(path).map_err(|e| io_err(path, e))?;
    let md = if md.file_type().is_symlink() {
        if !deref {
            let target = fs::read_link(path).map_err(|e| io_err(path, e))?;
            let target = target
                .into_os_string()
                .into_string()
                .map_err(|_| path_err(path, "symlink target is not UTF-8"))?;
            return Ok((Kind::Symlink(target), md));
        }
        fs::metadata(path).map_err(|e| io_err(path, e))?
    } else {
        md
    };
    if md.is_dir() {
        Ok((Kind::Dir, md))
    } else if md.is_file() {
        Ok((Kind::File, md))
    } else {
        Err(path_err(
            path,
            "unsupported file type (not a file, directory or symlink)",
        ))
    }
}

fn mtime_of(md: &Metadata) -> Option<Mtime> {
    let t = md.modified().ok()?;
    let (seconds, nanos) = match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            let mut s = -(d.as_secs() as i64);
            let mut n = d.subsec_nanos();
            if n > 0 {
                s -= 1;
                n = 1_000_000_000 - n;
            }
            (s, n)
        }
    };
    Some(Mtime {
        seconds,
        nanos: Some(nanos).filter(|&n| n != 0),
    })
}

#[cfg(unix)]
fn mode_of(md: &Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    Some(md.permissions().mode() & 0o7777).filter(|&m| m != 0)
}

#[cfg(not(unix))]
fn mode_of(_md: &Metadata) -> Option<u32> {
    None
}

/// Metadata Kubo stores for an entry: explicit values win, then preserved ones. Symlinks only
/// ever get an mtime.
fn meta_for(opts: &ImportOptions, md: &Metadata, symlink: bool) -> Meta {
    let mode = if symlink {
        None
    } else if opts.mode.is_some() {
        opts.mode
    } else if opts.preserve_mode {
        mode_of(md)
    } else {
        None
    };
    let mtime = if opts.mtime.is_some() {
        opts.mtime
    } else if opts.preserve_mtime {
        mtime_of(md)
    } else {
        None
    };
    Meta { mode, mtime }
}

/// A symlink node: `{Type=Symlink, Data=target}` (+ mtime).
pub(crate) fn symlink_node(w: &NodeWriter<'_>, target: &str, meta: Meta) -> Result<NodeLink> {
    let mut d = UnixfsData::new(DataType::Symlink);
    d.data = Some(Bytes::copy_from_slice(target.as_bytes()));
    d.mtime = meta.mtime;
    w.put_pb(&PbNode {
        links: Vec::new(),
        data: Some(Bytes::from(d.encode())),
    })
}

/// Entries of a directory: UTF-8 names, sorted bytewise, hidden ones dropped unless asked.
fn listing(path: &Path, hidden: bool) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for e in fs::read_dir(path).map_err(|e| io_err(path, e))? {
        let e = e.map_err(|e| io_err(path, e))?;
        let name = e
            .file_name()
            .into_string()
            .map_err(|n| path_err(&path.join(n), "file name is not UTF-8"))?;
        if !hidden && name.starts_with('.') {
            continue;
        }
        out.push((name, e.path()));
    }
    out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

pub(crate) fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

/// The records of one add, kept apart so they can be emitted in Kubo's order: every file and
/// symlink as it was added, then every directory (children before parents).
#[derive(Debug, Default)]
pub(crate) struct Outputs {
    pub(crate) files: Vec<AddedEntry>,
    pub(crate) dirs: Vec<AddedEntry>,
}

/// A directory entry already looked at (kind and metadata known).
type Classified = (String, PathBuf, Kind, Metadata);

struct Frame {
    name: String,
    out_path: String,
    entries: std::vec::IntoIter<(String, PathBuf)>,
    /// An entry classified while gathering a group of small files, not processed yet.
    pending: Option<Classified>,
    dir: DirBuilder,
    bytes: u64,
    canon: Option<PathBuf>,
}

/// Import one filesystem path (file, symlink or directory tree) under the output name
/// `out_path`. Returns `None` when the entry is skipped (an empty directory below the top
/// level with `empty_dirs` off). Returns the root link and its content bytes.
pub(crate) fn add_fs_path(
    path: &Path,
    out_path: &str,
    toplevel: bool,
    w: &NodeWriter<'_>,
    control: &Control,
    out: &mut Outputs,
) -> Result<Option<(NodeLink, u64)>> {
    let opts = w.opts;
    let deref = opts.dereference_symlinks;
    let (kind, md) = classify(path, deref)?;
    let (name, entries) = match kind {
        Kind::File => {
            let (link, bytes) = add_file(path, &md, w, control)?;
            out.files.push(AddedEntry::new(out_path, link, bytes));
            return Ok(Some((link, bytes)));
        }
        Kind::Symlink(target) => {
            let link = symlink_node(w, &target, meta_for(opts, &md, true))?;
            out.files.push(AddedEntry::new(out_path, link, 0));
            return Ok(Some((link, 0)));
        }
        Kind::Dir => (out_path.to_string(), listing(path, opts.hidden)?),
    };
    if entries.is_empty() && !toplevel && !opts.empty_dirs {
        return Ok(None);
    }
    let canon = |p: &Path| -> Result<Option<PathBuf>> {
        if deref {
            Ok(Some(fs::canonicalize(p).map_err(|e| io_err(p, e))?))
        } else {
            Ok(None)
        }
    };
    let mut root_dir = DirBuilder::new();
    let meta = meta_for(opts, &md, false);
    root_dir.meta = meta;
    let mut stack = vec![Frame {
        name,
        out_path: out_path.to_string(),
        entries: entries.into_iter(),
        pending: None,
        dir: root_dir,
        bytes: 0,
        canon: canon(path)?,
    }];
    loop {
        let Some(frame) = stack.last_mut() else {
            return Err(path_err(path, "internal: empty directory stack"));
        };
        let next = match frame.pending.take() {
            Some(c) => Some(c),
            None => match frame.entries.next() {
                Some((name, child)) => {
                    let (kind, md) = classify(&child, deref)?;
                    Some((name, child, kind, md))
                }
                None => None,
            },
        };
        if let Some((name, child, kind, md)) = next {
            control.check()?;
            let child_out = join(&frame.out_path, &name);
            match kind {
                Kind::File if is_small(&md, opts) => {
                    // Gather the run of small files that follows and hash them in parallel.
                    let mut group = vec![(name, child, md)];
                    let mut group_bytes = group[0].2.len();
                    while group.len() < SMALL_GROUP_FILES && group_bytes < SMALL_GROUP_BYTES {
                        let Some((name, child)) = frame.entries.next() else {
                            break;
                        };
                        let (kind, md) = classify(&child, deref)?;
                        if matches!(kind, Kind::File) && is_small(&md, opts) {
                            group_bytes += md.len();
                            group.push((name, child, md));
                        } else {
                            frame.pending = Some((name, child, kind, md));
                            break;
                        }
                    }
                    let results: Vec<Result<(NodeLink, u64)>> = group
                        .par_iter()
                        .map(|(_, child, md)| add_file(child, md, w, control))
                        .collect();
                    for ((name, _, _), r) in group.iter().zip(results) {
                        let (link, bytes) = r?;
                        frame.dir.add(name, link.cid, link.tsize)?;
                        frame.bytes += bytes;
                        out.files
                            .push(AddedEntry::new(&join(&frame.out_path, name), link, bytes));
                    }
                }
                Kind::File => {
                    let (link, bytes) = add_file(&child, &md, w, control)?;
                    frame.dir.add(&name, link.cid, link.tsize)?;
                    frame.bytes += bytes;
                    out.files.push(AddedEntry::new(&child_out, link, bytes));
                }
                Kind::Symlink(target) => {
                    let link = symlink_node(w, &target, meta_for(opts, &md, true))?;
                    frame.dir.add(&name, link.cid, link.tsize)?;
                    out.files.push(AddedEntry::new(&child_out, link, 0));
                }
                Kind::Dir => {
                    let entries = listing(&child, opts.hidden)?;
                    if entries.is_empty() && !opts.empty_dirs {
                        continue;
                    }
                    if stack.len() >= MAX_DIR_DEPTH {
                        return Err(path_err(
                            &child,
                            format!("directory nesting deeper than {MAX_DIR_DEPTH}"),
                        ));
                    }
                    let c = canon(&child)?;
                    if c.is_some() && stack.iter().any(|f| f.canon == c) {
                        return Err(path_err(&child, "symlink loop"));
                    }
                    let mut dir = DirBuilder::new();
                    dir.meta = meta_for(opts, &md, false);
                    stack.push(Frame {
                        name,
                        out_path: child_out,
                        entries: entries.into_iter(),
                        pending: None,
                        dir,
                        bytes: 0,
                        canon: c,
                    });
                }
            }
            continue;
        }
        let Some(done) = stack.pop() else {
            return Err(path_err(path, "internal: empty directory stack"));
        };
        let link = done.dir.write(w)?;
        out.dirs
            .push(AddedEntry::new(&done.out_path, link, done.bytes));
        match stack.last_mut() {
            Some(parent) => {
                parent.dir.add(&done.name, link.cid, link.tsize)?;
                parent.bytes += done.bytes;
            }
            None => return Ok(Some((link, done.bytes))),
        }
    }
}

/// Most files hashed together in one parallel group.
const SMALL_GROUP_FILES: usize = 256;
/// Most bytes (by size on disk) in one parallel group.
const SMALL_GROUP_BYTES: u64 = 8 << 20;

/// A file that fits in one chunk: hashed whole by one worker, no pipeline needed.
fn is_small(md: &Metadata, opts: &ImportOptions) -> bool {
    md.len() <= opts.chunker.max_chunk() as u64
}

fn add_file(
    path: &Path,
    md: &Metadata,
    w: &NodeWriter<'_>,
    control: &Control,
) -> Result<(NodeLink, u64)> {
    let f = fs::File::open(path).map_err(|e| io_err(path, e))?;
    import_reader(Input::Reader(f), meta_for(w.opts, md, false), w, control)
}
