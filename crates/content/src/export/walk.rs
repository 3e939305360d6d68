//! A depth-first, iterative walk of a UnixFS tree for `get` and `get_tar`.

use bytes::Bytes;
use cid::Cid;

use super::ls::Entries;
use super::node::{Loaded, NodeKind, load};
use super::path::validate_entry_name;
use crate::unixfs::Mtime;
use crate::{BlockSource, Error, Result};

/// Mode and mtime stored on a node.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Meta {
    pub(crate) mode: Option<u32>,
    pub(crate) mtime: Option<Mtime>,
}

/// One step of the walk. `rel` is the `/`-joined path below the root ("" for the root itself);
/// every component has passed [`validate_entry_name`].
#[derive(Debug)]
pub(crate) enum Event {
    EnterDir {
        rel: String,
        meta: Meta,
    },
    File {
        rel: String,
        cid: Cid,
        loaded: Box<Loaded>,
        meta: Meta,
    },
    Symlink {
        rel: String,
        target: Bytes,
        meta: Meta,
    },
    LeaveDir {
        rel: String,
        meta: Meta,
    },
}

#[derive(Debug)]
struct DirFrame {
    rel: String,
    entries: Entries,
    meta: Meta,
}

/// Walks a tree holding one directory listing (or one shard node per HAMT level) per level.
pub(crate) struct TreeWalk<'a, S: BlockSource + ?Sized> {
    src: &'a S,
    root: Option<Cid>,
    stack: Vec<DirFrame>,
    max_depth: usize,
    failed: bool,
}

impl<'a, S: BlockSource + ?Sized> TreeWalk<'a, S> {
    pub(crate) fn new(src: &'a S, root: &Cid, max_depth: usize) -> Self {
        TreeWalk {
            src,
            root: Some(*root),
            stack: Vec::new(),
            max_depth,
            failed: false,
        }
    }

    fn visit(&mut self, rel: String, cid: Cid) -> Result<Event> {
        let loaded = load(self.src, &cid)?;
        let kind = loaded.kind();
        let meta = match &loaded {
            Loaded::Pb { fs: Some(fs), .. } => Meta {
                mode: fs.mode,
                mtime: fs.mtime,
            },
            _ => Meta::default(),
        };
        match kind {
            NodeKind::File | NodeKind::Raw => Ok(Event::File {
                rel,
                cid,
                loaded: Box::new(loaded),
                meta,
            }),
            NodeKind::Symlink => {
                let target = match loaded {
                    Loaded::Pb { fs: Some(fs), .. } => fs.data.unwrap_or_default(),
                    _ => Bytes::new(),
                };
                Ok(Event::Symlink { rel, target, meta })
            }
            NodeKind::Directory | NodeKind::HamtDirectory => {
                if self.stack.len() >= self.max_depth {
                    return Err(Error::InvalidPath {
                        path: rel,
                        reason: format!("tree deeper than {} levels", self.max_depth),
                    });
                }
                let entries = Entries::of(&cid, loaded)?;
                self.stack.push(DirFrame {
                    rel: rel.clone(),
                    entries,
                    meta,
                });
                Ok(Event::EnterDir { rel, meta })
            }
            NodeKind::Unknown => Err(Error::WrongKind(format!(
                "{cid} at {rel:?} is not a UnixFS file, directory or symlink"
            ))),
        }
    }

    fn step(&mut self) -> Option<Result<Event>> {
        if let Some(cid) = self.root.take() {
            return Some(self.visit(String::new(), cid));
        }
        let top = self.stack.last_mut()?;
        match top.entries.next(self.src) {
            None => {
                let f = self.stack.pop()?;
                Some(Ok(Event::LeaveDir {
                    rel: f.rel,
                    meta: f.meta,
                }))
            }
            Some(Err(e)) => Some(Err(e)),
            Some(Ok((name, cid, _))) => {
                let rel = if top.rel.is_empty() {
                    name.clone()
                } else {
                    format!("{}/{}", top.rel, name)
                };
                if let Err(Error::InvalidPath { reason, .. }) = validate_entry_name(&name) {
                    return Some(Err(Error::InvalidPath {
                        path: rel,
                        reason: format!("refusing entry name {name:?} in {}: {reason}", top.rel),
                    }));
                }
                Some(self.visit(rel, cid))
            }
        }
    }
}

impl<S: BlockSource + ?Sized> Iterator for TreeWalk<'_, S> {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let r = self.step();
        if matches!(r, Some(Err(_))) {
            self.failed = true;
        }
        r
    }
}
