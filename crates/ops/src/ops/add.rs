//! `ipfs_add`: files, directory trees or inline content into the embedded node.

use std::path::PathBuf;

use base64::Engine;
use ipfs_kit_content::import::{self, AddFlags, AddedEntry, Control};
use ipfs_kit_content::{BlockSink, CidBase, NullSink, format_cid};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::default_true;
use crate::{InputStream, Kit, OpContext, OpError, OpMeta, Operation, Toolset};

/// `ipfs_add`.
#[derive(Debug, Clone, Copy)]
pub struct Add;

/// Input of `ipfs_add`: what to add (local paths, or inline content) and Kubo's `ipfs add` options.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AddInput {
    /// Local files or directories to add (directories need `recursive`).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Inline UTF-8 text to add as one file (instead of `paths`).
    pub content: Option<String>,
    /// Inline bytes, base64-encoded, to add as one file (instead of `paths`).
    pub content_base64: Option<String>,
    /// Name reported for inline content (default: its CID, as Kubo does for stdin).
    pub name: Option<String>,
    /// Add directories recursively (`-r`).
    #[serde(default)]
    pub recursive: bool,
    /// Only compute the CIDs, store nothing (`-n`).
    #[serde(default)]
    pub only_hash: bool,
    /// Pin the added roots (default true).
    #[serde(default = "default_true")]
    pub pin: bool,
    /// Multibase for the CIDs in the output: base32, base58btc, base36.
    pub cid_base: Option<String>,
    /// Also link each added top-level entry into the MFS (`--to-files`): a path ending in `/` is an
    /// existing directory that receives the entries under their names; otherwise the new name of
    /// the one entry. Existing entries are never replaced.
    pub to_files: Option<String>,
    /// Kubo's import options.
    #[serde(flatten)]
    pub flags: AddFlags,
}

/// One added file or directory.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AddedItem {
    /// Path as Kubo prints it (empty for a `-w` wrapper; the CID for inline content).
    pub name: String,
    /// The CID.
    pub cid: String,
    /// Cumulative DAG size in bytes (Kubo's `Size`).
    pub size: u64,
    /// Content bytes under it.
    pub bytes: u64,
}

/// Output of `ipfs_add`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AddOutput {
    /// The CID of the last entry: the root of the add.
    pub root: String,
    /// Every added file and directory, in Kubo's order (root last).
    pub entries: Vec<AddedItem>,
    /// Whether the roots were pinned.
    pub pinned: bool,
}

enum Source {
    Paths(Vec<PathBuf>),
    Bytes(Vec<u8>, Option<String>),
    Stream(InputStream, Option<String>),
}

impl Operation for Add {
    const NAME: &'static str = "ipfs_add";
    type Input = AddInput;
    type Output = AddOutput;

    fn meta(&self) -> OpMeta {
        OpMeta {
            title: "Add content",
            description: "Add local files, directory trees or inline content to IPFS and return their CIDs \
                (Kubo-identical). Takes Kubo's `ipfs add` options: cid_version, raw_leaves, chunker, trickle, \
                hash, wrap_with_directory, hidden, inline, mode/mtime, profile. Pins the roots unless pin=false; \
                only_hash computes CIDs without storing.",
            toolset: Toolset::IpfsCore,
            read_only: false,
            destructive: false,
            idempotent: true,
            open_world: false,
            aliases: &[],
        }
    }

    async fn run(&self, kit: &Kit, input: AddInput, cx: &OpContext) -> Result<AddOutput, OpError> {
        if let Some(k) = kit.kubo() {
            return crate::remote::add(k, input, cx).await;
        }
        let opts = input.flags.resolve()?;
        let base: CidBase = input.cid_base.as_deref().unwrap_or("").parse()?;
        let source = match (
            input.paths.is_empty(),
            &input.content,
            &input.content_base64,
        ) {
            (false, None, None) => Source::Paths(input.paths.iter().map(PathBuf::from).collect()),
            (true, Some(text), None) => Source::Bytes(text.clone().into_bytes(), input.name),
            (true, None, Some(b64)) => Source::Bytes(
                base64::engine::general_purpose::STANDARD
                    .decode(b64.as_bytes())
                    .map_err(|e| OpError::invalid(format!("content_base64 is not base64: {e}")))?,
                input.name,
            ),
            (true, None, None) => match cx.take_stream() {
                Some(stream) => Source::Stream(stream, input.name),
                None => {
                    return Err(OpError::invalid(
                        "give one of paths, content or content_base64",
                    ));
                }
            },
            _ => {
                return Err(OpError::invalid(
                    "give exactly one of paths, content or content_base64",
                ));
            }
        };
        if let Source::Paths(paths) = &source
            && !input.recursive
        {
            for p in paths {
                let meta = std::fs::symlink_metadata(p)
                    .map_err(|e| OpError::from(e).with("path", p.display().to_string()))?;
                if meta.is_dir() {
                    return Err(OpError::invalid(format!(
                        "{} is a directory, use recursive (-r) to add it",
                        p.display()
                    ))
                    .with("path", p.display().to_string()));
                }
            }
        }
        let (only_hash, pin) = (input.only_hash, input.pin && !input.only_hash);
        let to_files = input.to_files;
        if to_files.is_some() {
            crate::mfs::check_to_files(only_hash, opts.wrap_with_directory)?;
            if let Source::Bytes(_, None) | Source::Stream(_, None) = &source {
                return Err(OpError::invalid(
                    "to-files: cannot add unnamed files to MFS (give name)",
                ));
            }
        }
        let cx = cx.clone();
        kit.blocking(move |kit| {
            let total = match &source {
                Source::Paths(p) if p.len() == 1 => std::fs::metadata(&p[0])
                    .ok()
                    .filter(|m| m.is_file())
                    .map(|m| m.len()),
                Source::Bytes(b, _) => Some(b.len() as u64),
                _ => None,
            };
            let progress_cx = cx.clone();
            let control = Control::new()
                .with_progress(move |done| progress_cx.progress(done, total, "bytes"))
                .with_cancel(cx.cancel_arc());
            // The MFS lock comes before the GC guard (GC takes them in that order).
            let mut mfs_guard = match &to_files {
                Some(_) => Some(kit.mfs()?.lock(kit.repo()?)?),
                None => None,
            };
            // Held across import and pin: GC may not remove blocks of an add in flight.
            let _hold = kit.repo()?.gc_shared();
            let sink: &dyn BlockSink = if only_hash {
                &NullSink
            } else {
                kit.repo()?.blocks()
            };
            // One file from bytes or a stream, wrapped in a directory with `-w`, as Kubo does for stdin.
            let single = |reader: &mut (dyn std::io::Read + Send), name: Option<String>| {
                let mut e = import::import_file("", reader, &opts, sink, &control)?;
                e.path = name.unwrap_or_else(|| e.cid.to_string());
                if !opts.wrap_with_directory {
                    return Ok::<_, OpError>(vec![e]);
                }
                let mut dir = import::DirBuilder::new();
                dir.add(&e.path, e.cid, e.size)?;
                let root = dir.build(&opts, sink)?;
                let bytes = e.bytes;
                let wrapper = AddedEntry {
                    path: String::new(),
                    cid: root.cid,
                    size: root.tsize,
                    bytes,
                };
                Ok(vec![e, wrapper])
            };
            let mut entries: Vec<AddedEntry> = match source {
                Source::Paths(paths) => import::add_paths(&paths, &opts, sink, &control)?,
                Source::Bytes(bytes, name) => single(&mut &bytes[..], name)?,
                Source::Stream(mut stream, name) => single(&mut stream, name)?,
            };
            if !only_hash {
                kit.repo()?.blocks().sync()?;
            }
            if pin {
                for e in roots(&entries, opts.wrap_with_directory) {
                    kit.repo()?.pin_add(&e.cid, true, "")?;
                }
            }
            if let (Some(dst), Some(guard)) = (&to_files, &mut mfs_guard) {
                let added: Vec<AddedEntry> = roots(&entries, false).cloned().collect();
                crate::mfs::link_added(kit.repo()?, kit.mfs()?, guard, dst, &added)?;
            }
            let root = entries
                .last()
                .map(|e| format_cid(&e.cid, base))
                .ok_or_else(|| OpError::invalid("nothing to add"))?;
            Ok(AddOutput {
                root,
                entries: entries
                    .drain(..)
                    .map(|e| AddedItem {
                        name: e.path,
                        cid: format_cid(&e.cid, base),
                        size: e.size,
                        bytes: e.bytes,
                    })
                    .collect(),
                pinned: pin,
            })
        })
        .await
    }
}

/// The entries Kubo pins: the wrapper with `-w`, otherwise each argument's root (a top-level name).
fn roots(entries: &[AddedEntry], wrapped: bool) -> impl Iterator<Item = &AddedEntry> {
    entries.iter().filter(move |e| {
        if wrapped {
            e.path.is_empty()
        } else {
            !e.path.contains('/')
        }
    })
}
