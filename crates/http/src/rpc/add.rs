//! `/api/v0/add`: the multipart body imported as it arrives, Kubo's ndjson events out.

use std::io::Read;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use ipfs_kit_content::import::{
    AddFlags, AddedEntry, Control, EntryData, EntryMeta, SharedRead, TreeImport, clean_components,
};
use ipfs_kit_content::{BlockSink, CidBase, NullSink, format_cid};
use ipfs_kit_ops::{Kit, OpContext, OpError};
use serde::Serialize;

use super::args::Args;
use super::body::{self, PartFeed, PartKind};
use super::reply::{self, ChunkWriter, RpcError, StreamKind};

/// Kubo's `AddEvent` (`core/commands/add.go`): empty fields are left out.
#[derive(Debug, Serialize)]
struct AddEvent<'a> {
    #[serde(rename = "Name")]
    name: &'a str,
    #[serde(rename = "Hash", skip_serializing_if = "Option::is_none")]
    hash: Option<String>,
    #[serde(rename = "Bytes", skip_serializing_if = "is_zero")]
    bytes: u64,
    #[serde(rename = "Size", skip_serializing_if = "Option::is_none")]
    size: Option<String>,
    #[serde(flatten)]
    top: TopMeta,
}

fn is_zero<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// The mode and mtime a top-level entry's part carried (`file?mode=0644&mtime=…`). Kubo echoes them
/// on every event of that entry (its files, directories and progress), the mode as `"0"` and octal
/// digits; none when the request is wrapped in a directory, or for a directory no part described.
#[derive(Debug, Default, Clone, Copy, Serialize)]
struct TopMeta {
    #[serde(
        rename = "Mode",
        skip_serializing_if = "Option::is_none",
        serialize_with = "octal"
    )]
    mode: Option<u32>,
    #[serde(rename = "Mtime", skip_serializing_if = "is_zero")]
    mtime: i64,
    #[serde(rename = "MtimeNsecs", skip_serializing_if = "is_zero")]
    mtime_nsecs: u32,
}

fn octal<S: serde::Serializer>(mode: &Option<u32>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("0{:o}", mode.unwrap_or_default()))
}

impl TopMeta {
    fn of(meta: &EntryMeta) -> TopMeta {
        TopMeta {
            mode: meta.mode.filter(|&m| m != 0),
            mtime: meta.mtime.map_or(0, |m| m.seconds),
            mtime_nsecs: meta.mtime.and_then(|m| m.nanos).unwrap_or(0),
        }
    }
}

/// Each top-level entry's [`TopMeta`], by name, as its part arrives, and the one of the part being
/// imported (a file's events come while its part is imported; a directory's at the end, by name).
#[derive(Debug, Default)]
struct TopLevel {
    wrapped: bool,
    by_name: std::collections::HashMap<String, TopMeta>,
    current: TopMeta,
}

impl TopLevel {
    /// A part arrives: remember its meta if it is a top-level entry (a nameless part is the one
    /// top-level file of its request), and make its top-level entry's meta the current one.
    fn part(&mut self, name: &str, meta: &EntryMeta) {
        if self.wrapped {
            return;
        }
        if !name.contains('/') {
            self.by_name.insert(name.to_string(), TopMeta::of(meta));
        }
        self.current = self.of(name);
    }

    fn of(&self, name: &str) -> TopMeta {
        let top = name.split('/').next().unwrap_or_default();
        self.by_name.get(top).copied().unwrap_or_default()
    }

    fn event(&self, name: &str, is_dir: bool) -> TopMeta {
        if is_dir { self.of(name) } else { self.current }
    }
}

/// Kubo reports progress every 256 KiB of a file (`progressReaderIncrement`).
const PROGRESS_STEP: u64 = 256 * 1024;

/// Longest symlink target read from a part.
const MAX_SYMLINK: usize = 4096;

/// The import settings an add request asks for.
struct Plan {
    flags: AddFlags,
    only_hash: bool,
    pin: bool,
    pin_name: String,
    silent: bool,
    progress: bool,
    base: CidBase,
    /// `to-files`: where in the MFS to link the added entries.
    to_files: Option<String>,
}

fn plan(a: &Args) -> Result<Plan, RpcError> {
    let usize_opt = |name: &str| -> Result<Option<usize>, RpcError> {
        a.int(name)
            .map(|v| {
                usize::try_from(v)
                    .map_err(|_| RpcError::normal(format!("{name} must not be negative")))
            })
            .transpose()
    };
    for unsupported in ["nocopy", "fscache"] {
        if a.flag(unsupported, false) {
            return Err(RpcError::normal(format!(
                "{unsupported} is not supported by this node (it has no filestore)"
            )));
        }
    }
    let cid_version = a
        .int("cid-version")
        .map(|v| u8::try_from(v).map_err(|_| RpcError::normal(format!("unknown CID version {v}"))))
        .transpose()?;
    let flags = AddFlags {
        cid_version,
        raw_leaves: a.bool("raw-leaves"),
        hash: a.str("hash").map(str::to_string),
        chunker: a.str("chunker").map(str::to_string),
        trickle: a.bool("trickle"),
        max_file_links: usize_opt("max-file-links")?,
        max_directory_links: usize_opt("max-directory-links")?,
        max_hamt_fanout: usize_opt("max-hamt-fanout")?,
        inline: a.bool("inline"),
        inline_limit: usize_opt("inline-limit")?,
        mode: a
            .uint("mode")
            .filter(|&m| m != 0)
            .map(|m| format!("0o{m:o}")),
        mtime: a.int("mtime"),
        mtime_nsecs: a
            .uint("mtime-nsecs")
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
        preserve_mode: a.bool("preserve-mode"),
        preserve_mtime: a.bool("preserve-mtime"),
        empty_dirs: a.bool("empty-dirs"),
        wrap_with_directory: a.bool("wrap-with-directory"),
        ..AddFlags::default()
    };
    let only_hash = a.flag("only-hash", false);
    let to_files = a.str("to-files").map(str::to_string);
    if to_files.is_some() {
        ipfs_kit_ops::mfs::check_to_files(only_hash, flags.wrap_with_directory == Some(true))?;
    }
    let pin = a.flag("pin", true) && !only_hash;
    let pin_name = a.str("pin-name").unwrap_or("").to_string();
    if !a.flag("pin", true) && a.str("pin-name").is_some() {
        return Err(RpcError::normal("pin-name option requires pin to be set"));
    }
    let base: CidBase = a
        .str("cid-base")
        .unwrap_or("")
        .parse()
        .map_err(|e: ipfs_kit_content::Error| RpcError::normal(e.to_string()))?;
    Ok(Plan {
        flags,
        only_hash,
        pin,
        pin_name,
        silent: a.flag("silent", false),
        progress: a.flag("progress", false),
        base,
        to_files,
    })
}

/// Answer an add request: parse, then import on a worker thread while the body streams in.
pub(crate) async fn add(
    kit: Kit,
    a: Args,
    headers: HeaderMap,
    body: Body,
    cx: OpContext,
) -> Response {
    let plan = match plan(&a) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let feed = match body::start(&headers, body) {
        Ok(Some(f)) => f,
        Ok(None) => return RpcError::client("file argument 'path' is required").into_response(),
        Err(e) => return e.into_response(),
    };
    let (mut w, rx) = reply::channel();
    w.live = true;
    let worker_cx = cx.clone();
    tokio::task::spawn_blocking(move || {
        let w = Arc::new(Mutex::new(w));
        let r = import(&kit, &plan, feed, &w, &worker_cx);
        if let Ok(m) = Arc::try_unwrap(w)
            && let Ok(w) = m.into_inner()
        {
            w.finish_blocking(r);
        }
    });
    reply::stream_response(StreamKind::Json, rx, cx, None).await
}

type Shared = Arc<Mutex<ChunkWriter>>;

fn send(w: &Shared, ev: &AddEvent<'_>) -> std::io::Result<()> {
    match w.lock() {
        Ok(mut w) => w.emit(ev),
        Err(_) => Err(std::io::Error::other("output lock poisoned")),
    }
}

/// Counts a file's bytes and reports Kubo's progress events.
struct Progress<'a> {
    inner: &'a mut PartFeed,
    name: String,
    top: TopMeta,
    w: Shared,
    done: u64,
    last: u64,
    ended: bool,
}

impl SharedRead for Progress<'_> {
    fn read_shared(&mut self, max: usize) -> std::io::Result<Option<Bytes>> {
        let got = self.inner.read_shared(max)?;
        let n = got.as_ref().map_or(0, Bytes::len);
        self.done += n as u64;
        let eof = got.is_none() && max > 0 && !self.ended;
        if eof {
            self.ended = true;
        }
        self.report(eof)?;
        Ok(got)
    }
}

impl Progress<'_> {
    /// Send a progress event every [`PROGRESS_STEP`] bytes and at the end.
    fn report(&mut self, eof: bool) -> std::io::Result<()> {
        if self.done - self.last >= PROGRESS_STEP || eof {
            self.last = self.done;
            send(
                &self.w,
                &AddEvent {
                    name: &self.name,
                    hash: None,
                    bytes: self.done,
                    size: None,
                    top: self.top,
                },
            )?;
        }
        Ok(())
    }
}

fn import(
    kit: &Kit,
    plan: &Plan,
    mut feed: PartFeed,
    w: &Shared,
    cx: &OpContext,
) -> Result<(), RpcError> {
    let opts = plan
        .flags
        .resolve()
        .map_err(|e| RpcError::normal(e.to_string()))?;
    let repo = kit.repo()?;
    // The MFS lock comes before the GC guard (GC takes them in that order).
    let mut mfs_guard = match &plan.to_files {
        Some(_) => Some(kit.mfs()?.lock(repo)?),
        None => None,
    };
    // Held across import and pin: GC may not remove blocks of an add in flight.
    let _hold = repo.gc_shared();
    let sink: &dyn BlockSink = if plan.only_hash {
        &NullSink
    } else {
        repo.blocks()
    };
    let control = Control::new().with_cancel(cx.cancel_arc());
    let mut tree = TreeImport::new(&opts, sink, &control).map_err(OpError::from)?;
    let tops = std::cell::RefCell::new(TopLevel {
        wrapped: plan.flags.wrap_with_directory.unwrap_or(false),
        ..TopLevel::default()
    });
    let emit = |e: AddedEntry, is_dir: bool| -> ipfs_kit_content::Result<()> {
        if plan.silent && !is_dir {
            return Ok(());
        }
        send(
            w,
            &AddEvent {
                name: &e.path,
                hash: Some(format_cid(&e.cid, plan.base)),
                bytes: 0,
                size: Some(e.size.to_string()),
                top: tops.borrow().event(&e.path, is_dir),
            },
        )
        .map_err(ipfs_kit_content::Error::Io)
    };
    let to_rpc = |e: ipfs_kit_content::Error| RpcError::from(OpError::from(e));
    let io_rpc = |e: std::io::Error| RpcError::normal(e.to_string());
    while let Some(head) = feed.next_part().map_err(io_rpc)? {
        cx.check()?;
        let name = clean_components(&head.path).join("/");
        tops.borrow_mut().part(&name, &head.meta);
        match head.kind {
            PartKind::Dir => tree
                .add(&head.path, EntryData::Dir, head.meta, &mut |e, d| {
                    emit(e, d)
                })
                .map_err(to_rpc)?,
            PartKind::Symlink => {
                let mut target = Vec::new();
                (&mut feed)
                    .take(MAX_SYMLINK as u64 + 1)
                    .read_to_end(&mut target)
                    .map_err(io_rpc)?;
                if target.len() > MAX_SYMLINK {
                    return Err(RpcError::normal(format!(
                        "symlink target of {name:?} is over {MAX_SYMLINK} bytes"
                    )));
                }
                let target = String::from_utf8(target).map_err(|_| {
                    RpcError::normal(format!("symlink target of {name:?} is not UTF-8"))
                })?;
                tree.add(
                    &head.path,
                    EntryData::Symlink(target),
                    head.meta,
                    &mut |e, d| emit(e, d),
                )
                .map_err(to_rpc)?
            }
            PartKind::File => {
                if plan.progress {
                    let top = tops.borrow().current;
                    let mut reader = Progress {
                        inner: &mut feed,
                        name,
                        top,
                        w: Arc::clone(w),
                        done: 0,
                        last: 0,
                        ended: false,
                    };
                    tree.add(
                        &head.path,
                        EntryData::Shared(&mut reader),
                        head.meta,
                        &mut |e, d| emit(e, d),
                    )
                    .map_err(to_rpc)?
                } else {
                    tree.add(
                        &head.path,
                        EntryData::Shared(&mut feed),
                        head.meta,
                        &mut |e, d| emit(e, d),
                    )
                    .map_err(to_rpc)?
                }
            }
        }
    }
    cx.check()?;
    let roots = tree.finish(&mut |e, d| emit(e, d)).map_err(to_rpc)?;
    if !plan.only_hash {
        repo.blocks().sync().map_err(OpError::from)?;
    }
    if plan.pin {
        for root in &roots {
            repo.pin_add(&root.cid, true, &plan.pin_name)
                .map_err(OpError::from)?;
        }
    }
    if let (Some(dst), Some(guard)) = (&plan.to_files, &mut mfs_guard) {
        ipfs_kit_ops::mfs::link_added(repo, kit.mfs()?, guard, dst, &roots)?;
    }
    Ok(())
}
