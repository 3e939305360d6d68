//! Import a stream of named entries (the parts of an `ipfs add` multipart body) into UnixFS, the
//! way Kubo's adder does: entries arrive in pre-order with `/`-separated relative paths (parent
//! directories may be implicit), file contents are read as they come, and the records are
//! reported in Kubo's order: each file or symlink as soon as it is added, then the directories of
//! each top-level entry (post-order, children sorted by name), the `-w` wrapper last.

use std::borrow::Cow;
use std::io::Read;

use super::dir::{DirBuilder, MAX_DIR_DEPTH};
use super::{
    AddedEntry, Control, ImportOptions, NodeWriter, SharedRead, import_file, import_shared,
    import_symlink,
};
use crate::unixfs::Mtime;
use crate::{BlockSink, Error, Result};

/// Metadata carried by one entry (e.g. the `mode`/`mtime` of a multipart part); stored only with
/// `preserve_mode` / `preserve_mtime`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntryMeta {
    /// Permission bits.
    pub mode: Option<u32>,
    /// Modification time.
    pub mtime: Option<Mtime>,
}

/// What one entry is.
pub enum EntryData<'r> {
    /// A directory (its entries follow, with paths below it).
    Dir,
    /// A file whose bytes are read from the reader.
    File(&'r mut (dyn Read + Send)),
    /// A file whose bytes arrive as shared buffers (stored without copying them).
    Shared(&'r mut dyn SharedRead),
    /// A symlink with this target.
    Symlink(String),
}

/// A directory that is still receiving entries.
struct OpenDir {
    name: String,
    path: String,
    dir: DirBuilder,
    bytes: u64,
    had_children: bool,
    closed: Vec<DirRecord>,
}

/// A finished directory and its finished subdirectories, kept to report them in Kubo's order.
struct DirRecord {
    name: String,
    entry: AddedEntry,
    children: Vec<DirRecord>,
}

/// A UnixFS import fed one entry at a time.
pub struct TreeImport<'a> {
    opts: &'a ImportOptions,
    sink: &'a dyn BlockSink,
    control: &'a Control,
    /// Open directories, outermost first; with `-w`, the wrapper is the first one.
    stack: Vec<OpenDir>,
    /// Roots to pin: each top-level entry, or the wrapper.
    roots: Vec<AddedEntry>,
    entries: u64,
}

/// The components of an entry path, cleaned as Go's `path.Clean("/" + p)` does (so `..` never
/// leaves the root).
pub fn clean_components(path: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

impl<'a> TreeImport<'a> {
    /// Start an import with `opts` (validated here) writing to `sink`.
    pub fn new(
        opts: &'a ImportOptions,
        sink: &'a dyn BlockSink,
        control: &'a Control,
    ) -> Result<Self> {
        opts.validate()?;
        let mut stack = Vec::new();
        if opts.wrap_with_directory {
            let mut dir = DirBuilder::new();
            dir.set_mode(opts.mode);
            dir.set_mtime(opts.mtime);
            stack.push(OpenDir {
                name: String::new(),
                path: String::new(),
                dir,
                bytes: 0,
                had_children: false,
                closed: Vec::new(),
            });
        }
        Ok(TreeImport {
            opts,
            sink,
            control,
            stack,
            roots: Vec::new(),
            entries: 0,
        })
    }

    fn base(&self) -> usize {
        usize::from(self.opts.wrap_with_directory)
    }

    /// Options with an entry's own metadata applied when the import preserves it.
    fn opts_for(&self, meta: EntryMeta) -> Cow<'a, ImportOptions> {
        let o = self.opts;
        let mode = if o.mode.is_some() {
            o.mode
        } else if o.preserve_mode {
            meta.mode.map(|m| m & 0o7777).filter(|&m| m != 0)
        } else {
            None
        };
        let mtime = if o.mtime.is_some() {
            o.mtime
        } else if o.preserve_mtime {
            meta.mtime
        } else {
            None
        };
        if mode == o.mode && mtime == o.mtime {
            Cow::Borrowed(o)
        } else {
            let mut c = o.clone();
            c.mode = mode;
            c.mtime = mtime;
            Cow::Owned(c)
        }
    }

    /// Add the entry at `path` (relative, `/`-separated; empty only for one unnamed file).
    /// `out` receives the records of files and directories as they become final, with
    /// whether each is a directory.
    pub fn add(
        &mut self,
        path: &str,
        data: EntryData<'_>,
        meta: EntryMeta,
        out: &mut dyn FnMut(AddedEntry, bool) -> Result<()>,
    ) -> Result<()> {
        self.control.check()?;
        let comps = clean_components(path);
        let base = self.base();
        let Some((leaf, parents)) = comps.split_last() else {
            if matches!(data, EntryData::Dir) {
                return Err(Error::InvalidPath {
                    path: path.to_string(),
                    reason: "a directory entry needs a name".into(),
                });
            }
            self.close_to(base, out)?;
            return self.add_leaf(None, data, meta, out);
        };
        // Close the open directories that are not ancestors of this entry.
        let mut keep = 0;
        while keep < parents.len()
            && base + keep < self.stack.len()
            && self.stack[base + keep].name == parents[keep]
        {
            keep += 1;
        }
        self.close_to(base + keep, out)?;
        for name in &parents[keep..] {
            self.open_dir(name, EntryMeta::default())?;
        }
        match data {
            EntryData::Dir => {
                let own = self.opts_for(meta);
                self.open_dir(
                    leaf,
                    EntryMeta {
                        mode: own.mode,
                        mtime: own.mtime,
                    },
                )
            }
            data => self.add_leaf(Some(leaf), data, meta, out),
        }
    }

    fn join(&self, name: &str) -> String {
        match self.stack.last() {
            Some(p) if !p.path.is_empty() => format!("{}/{name}", p.path),
            _ => name.to_string(),
        }
    }

    fn open_dir(&mut self, name: &str, meta: EntryMeta) -> Result<()> {
        if self.stack.len() >= MAX_DIR_DEPTH {
            return Err(Error::InvalidPath {
                path: self.join(name),
                reason: format!("directory nesting deeper than {MAX_DIR_DEPTH}"),
            });
        }
        if let Some(parent) = self.stack.last_mut() {
            if parent.dir.entries_contains(name) || parent.closed.iter().any(|d| d.name == name) {
                return Err(Error::InvalidPath {
                    path: format!("{}/{name}", parent.path),
                    reason: "the entries of this directory are not contiguous, or it appears twice"
                        .into(),
                });
            }
            parent.had_children = true;
        }
        let mut dir = DirBuilder::new();
        dir.set_mode(meta.mode);
        dir.set_mtime(meta.mtime);
        let path = self.join(name);
        self.stack.push(OpenDir {
            name: name.to_string(),
            path,
            dir,
            bytes: 0,
            had_children: false,
            closed: Vec::new(),
        });
        self.entries += 1;
        Ok(())
    }

    fn add_leaf(
        &mut self,
        name: Option<&str>,
        data: EntryData<'_>,
        meta: EntryMeta,
        out: &mut dyn FnMut(AddedEntry, bool) -> Result<()>,
    ) -> Result<()> {
        let opts = self.opts_for(meta);
        let mut entry = match data {
            EntryData::File(reader) => import_file("", reader, &opts, self.sink, self.control)?,
            EntryData::Shared(src) => import_shared("", src, &opts, self.sink, self.control)?,
            EntryData::Symlink(target) => import_symlink("", &target, &opts, self.sink)?,
            EntryData::Dir => {
                return Err(Error::InvalidOption(
                    "internal: a directory as a leaf".into(),
                ));
            }
        };
        // An unnamed file is named by its CID, as Kubo's adder does.
        let cid_name;
        let name = match name {
            Some(n) => n,
            None => {
                cid_name = entry.cid.to_string();
                &cid_name
            }
        };
        entry.path = self.join(name);
        self.entries += 1;
        match self.stack.last_mut() {
            Some(parent) => {
                if parent.dir.entries_contains(name) || parent.closed.iter().any(|d| d.name == name)
                {
                    return Err(Error::InvalidPath {
                        path: entry.path,
                        reason: "two entries have this path".into(),
                    });
                }
                parent.dir.add(name, entry.cid, entry.size)?;
                parent.bytes += entry.bytes;
                parent.had_children = true;
                out(entry, false)
            }
            None => {
                self.roots.push(entry.clone());
                out(entry, false)
            }
        }
    }

    /// Close open directories until `depth` remain.
    fn close_to(
        &mut self,
        depth: usize,
        out: &mut dyn FnMut(AddedEntry, bool) -> Result<()>,
    ) -> Result<()> {
        while self.stack.len() > depth {
            let Some(done) = self.stack.pop() else { break };
            let toplevel = self.stack.is_empty();
            if !done.had_children && !toplevel && !self.opts.empty_dirs {
                continue;
            }
            let link = done.dir.write(&NodeWriter {
                opts: self.opts,
                sink: self.sink,
            })?;
            let entry = AddedEntry::new(&done.path, link, done.bytes);
            let record = DirRecord {
                name: done.name,
                entry,
                children: done.closed,
            };
            match self.stack.last_mut() {
                Some(parent) => {
                    parent.dir.add(&record.name, link.cid, link.tsize)?;
                    parent.bytes += done.bytes;
                    parent.closed.push(record);
                }
                None => {
                    self.roots.push(record.entry.clone());
                    emit_post_order(record, out)?;
                }
            }
        }
        Ok(())
    }

    /// Finish: close every directory (and the wrapper) and return the roots to pin.
    pub fn finish(
        mut self,
        out: &mut dyn FnMut(AddedEntry, bool) -> Result<()>,
    ) -> Result<Vec<AddedEntry>> {
        if self.entries == 0 {
            return Err(Error::InvalidOption("expected a file argument".into()));
        }
        self.close_to(0, out)?;
        Ok(self.roots)
    }
}

/// Report a finished top-level directory and its subdirectories: children before parents,
/// siblings sorted by name (Kubo walks its MFS tree that way).
fn emit_post_order(
    root: DirRecord,
    out: &mut dyn FnMut(AddedEntry, bool) -> Result<()>,
) -> Result<()> {
    fn sorted(mut v: Vec<DirRecord>) -> std::vec::IntoIter<DirRecord> {
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v.into_iter()
    }
    let mut stack = vec![(root.entry, sorted(root.children))];
    while let Some((_, children)) = stack.last_mut() {
        match children.next() {
            Some(child) => stack.push((child.entry, sorted(child.children))),
            None => {
                if let Some((entry, _)) = stack.pop() {
                    out(entry, true)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NullSink;
    use crate::import::add_paths;

    fn run(opts: &ImportOptions, entries: &[(&str, Option<&[u8]>)]) -> Vec<(String, String)> {
        let control = Control::new();
        let mut t = TreeImport::new(opts, &NullSink, &control).unwrap();
        let mut out = Vec::new();
        for (path, data) in entries {
            let mut push = |e: AddedEntry, _dir: bool| {
                out.push((e.path, e.cid.to_string()));
                Ok(())
            };
            match data {
                Some(bytes) => {
                    let mut r: &[u8] = bytes;
                    t.add(
                        path,
                        EntryData::File(&mut r),
                        EntryMeta::default(),
                        &mut push,
                    )
                    .unwrap()
                }
                None => t
                    .add(path, EntryData::Dir, EntryMeta::default(), &mut push)
                    .unwrap(),
            }
        }
        t.finish(&mut |e, _| {
            out.push((e.path, e.cid.to_string()));
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn same_records_as_a_filesystem_add() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("d");
        std::fs::create_dir_all(d.join("b/c")).unwrap();
        std::fs::create_dir_all(d.join("a")).unwrap();
        std::fs::write(d.join("a/x"), b"xx").unwrap();
        std::fs::write(d.join("b/c/y"), b"yy").unwrap();
        std::fs::write(d.join("z"), b"zz").unwrap();
        for wrap in [false, true] {
            let opts = ImportOptions {
                wrap_with_directory: wrap,
                ..ImportOptions::default()
            };
            let fs: Vec<(String, String)> =
                add_paths(std::slice::from_ref(&d), &opts, &NullSink, &Control::new())
                    .unwrap()
                    .into_iter()
                    .map(|e| (e.path, e.cid.to_string()))
                    .collect();
            // Implicit parents, files in multipart order (already sorted here).
            let streamed = run(
                &opts,
                &[
                    ("d/a/x", Some(b"xx")),
                    ("d/b/c/y", Some(b"yy")),
                    ("d/z", Some(b"zz")),
                ],
            );
            assert_eq!(fs, streamed, "wrap={wrap}");
        }
    }

    #[test]
    fn unnamed_file_and_errors() {
        let opts = ImportOptions::default();
        let out = run(&opts, &[("", Some(b"hello world"))]);
        assert_eq!(
            out,
            vec![(
                "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD".to_string(),
                "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD".to_string()
            )]
        );
        let control = Control::new();
        let t = TreeImport::new(&opts, &NullSink, &control).unwrap();
        assert!(t.finish(&mut |_, _| Ok(())).is_err());
        let mut t = TreeImport::new(&opts, &NullSink, &control).unwrap();
        let mut sink = |_e: AddedEntry, _d: bool| Ok(());
        let mut r: &[u8] = b"a";
        t.add(
            "d/a",
            EntryData::File(&mut r),
            EntryMeta::default(),
            &mut sink,
        )
        .unwrap();
        let mut r: &[u8] = b"b";
        assert!(
            t.add(
                "d/a",
                EntryData::File(&mut r),
                EntryMeta::default(),
                &mut sink
            )
            .is_err()
        );
        assert_eq!(clean_components("/../a/./b//c/.."), vec!["a", "b"]);
    }
}
