//! UnixFS export: `ipfs_cat`, `ipfs_get`, `ipfs_ls`.

use std::io::Read;
use std::path::PathBuf;

use base64::Engine;
use ipfs_kit_content::export::{self, GetOptions};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{DEFAULT_LIST_LIMIT, core_meta};
use crate::{Kit, OpContext, OpError, OpMeta, Operation};

/// Largest byte range `ipfs_cat` returns inline (agents get a bounded answer; the CLI streams).
/// 512 KiB keeps a base64 answer under the 1 MiB per-event limit of the official MCP SDK clients'
/// SSE readers.
pub const CAT_MAX_INLINE: u64 = 512 * 1024;

/// `ipfs_cat`.
#[derive(Debug, Clone, Copy)]
pub struct Cat;

/// Input of `ipfs_cat`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CatInput {
    /// CID or IPFS path (`/ipfs/CID/dir/file`).
    pub path: String,
    /// Byte offset to start at.
    #[serde(default)]
    pub offset: u64,
    /// Maximum bytes to return (default and cap: 512 KiB).
    pub length: Option<u64>,
    /// `utf8` (default; invalid sequences replaced) or `base64`.
    #[serde(default)]
    pub encoding: Encoding,
}

/// How bytes are returned in JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// UTF-8 text (lossy).
    #[default]
    Utf8,
    /// base64 (standard alphabet, padded).
    Base64,
}

/// A byte range of a file (`ipfs_cat`, `ipfs_files_read`).
#[derive(Debug, Serialize, JsonSchema)]
pub struct CatOutput {
    /// The CID the path resolved to.
    pub cid: String,
    /// The bytes, in `encoding`.
    pub content: String,
    /// The encoding of `content`.
    pub encoding: Encoding,
    /// Offset of the first byte returned.
    pub offset: u64,
    /// Number of bytes returned.
    pub length: u64,
    /// Size of the whole file.
    pub file_size: u64,
    /// Whether bytes remain after this range (ask again with a larger offset).
    pub truncated: bool,
}

impl Operation for Cat {
    const NAME: &'static str = "ipfs_cat";
    type Input = CatInput;
    type Output = CatOutput;

    fn meta(&self) -> OpMeta {
        core_meta(
            "Read a file",
            "Read the bytes of a UnixFS file by CID or IPFS path, from `offset`, at most `length` bytes \
             (capped at 512 KiB per call; `truncated` tells whether more remains). Text by default, base64 on request.",
            true,
            false,
            true,
        )
    }

    async fn run(&self, kit: &Kit, input: CatInput, _cx: &OpContext) -> Result<CatOutput, OpError> {
        if let Some(k) = kit.kubo() {
            return crate::remote::cat(k, input).await;
        }
        let want = input.length.unwrap_or(CAT_MAX_INLINE).min(CAT_MAX_INLINE);
        kit.blocking(move |kit| {
            let blocks = kit.repo()?.blocks();
            let cid = export::resolve_path(blocks, &input.path)?;
            read_range(blocks, &cid, input.offset, want, input.encoding)
        })
        .await
    }
}

/// Read at most `want` bytes of the file `cid` from `offset`, as a bounded JSON answer.
pub(super) fn read_range(
    blocks: &(impl ipfs_kit_content::BlockSource + ?Sized),
    cid: &cid::Cid,
    offset: u64,
    want: u64,
    encoding: Encoding,
) -> Result<CatOutput, OpError> {
    let mut reader = export::cat(blocks, cid, offset, Some(want))?;
    let file_size = reader.size();
    let mut buf = Vec::with_capacity(want.min(file_size) as usize);
    reader.read_to_end(&mut buf)?;
    let length = buf.len() as u64;
    let content = match encoding {
        Encoding::Utf8 => String::from_utf8_lossy(&buf).into_owned(),
        Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(&buf),
    };
    Ok(CatOutput {
        cid: cid.to_string(),
        content,
        encoding,
        offset,
        length,
        file_size,
        truncated: offset.saturating_add(length) < file_size,
    })
}

/// `ipfs_get`.
#[derive(Debug, Clone, Copy)]
pub struct Get;

/// Input of `ipfs_get`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetInput {
    /// CID or IPFS path of a file, directory or symlink.
    pub path: String,
    /// Local path to create (must not exist unless `overwrite`).
    pub output: String,
    /// Replace existing files and write into existing directories.
    #[serde(default)]
    pub overwrite: bool,
    /// Apply stored permission bits.
    #[serde(default)]
    pub preserve_mode: bool,
    /// Apply stored modification times.
    #[serde(default)]
    pub preserve_mtime: bool,
}

/// Output of `ipfs_get`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct GetOutput {
    /// The CID written.
    pub cid: String,
    /// Where it was written.
    pub output: String,
    /// Regular files written.
    pub files: u64,
    /// Directories created.
    pub directories: u64,
    /// Symlinks created.
    pub symlinks: u64,
    /// File bytes written.
    pub bytes: u64,
}

impl Operation for Get {
    const NAME: &'static str = "ipfs_get";
    type Input = GetInput;
    type Output = GetOutput;

    fn meta(&self) -> OpMeta {
        core_meta(
            "Write to disk",
            "Write a UnixFS file, directory tree or symlink (by CID or IPFS path) to a new local path. \
             Entry names are checked so nothing is written outside `output`.",
            false,
            false,
            false,
        )
    }

    async fn run(&self, kit: &Kit, input: GetInput, cx: &OpContext) -> Result<GetOutput, OpError> {
        if let Some(k) = kit.kubo() {
            return crate::remote::get(k, input, cx).await;
        }
        let cx = cx.clone();
        kit.blocking(move |kit| {
            let blocks = kit.repo()?.blocks();
            let cid = export::resolve_path(blocks, &input.path)?;
            let total = export::stat(blocks, &cid).ok().map(|s| s.size);
            let progress_cx = cx.clone();
            let control = export::Control::new()
                .with_cancel(cx.cancel_arc())
                .with_progress(move |done| progress_cx.progress(done, total, "bytes"));
            let opts = GetOptions {
                overwrite: input.overwrite,
                preserve_mode: input.preserve_mode,
                preserve_mtime: input.preserve_mtime,
                control,
                ..GetOptions::default()
            };
            let out = PathBuf::from(&input.output);
            let sum = export::get(blocks, &cid, &out, &opts)?;
            Ok(GetOutput {
                cid: cid.to_string(),
                output: input.output,
                files: sum.files,
                directories: sum.directories,
                symlinks: sum.symlinks,
                bytes: sum.bytes,
            })
        })
        .await
    }
}

/// `ipfs_ls`.
#[derive(Debug, Clone, Copy)]
pub struct Ls;

/// Input of `ipfs_ls`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LsInput {
    /// CID or IPFS path of a directory (or a file: its chunk links).
    pub path: String,
    /// Skip this many entries (for paging).
    #[serde(default)]
    pub offset: usize,
    /// Return at most this many entries (default 1000).
    pub limit: Option<usize>,
    /// Fetch each entry to report its type and size (default true, as Kubo).
    #[serde(default = "super::default_true")]
    pub resolve_type: bool,
}

/// One directory entry.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LsItem {
    /// Entry name.
    pub name: String,
    /// Its CID.
    pub cid: String,
    /// File size (0 for directories).
    pub size: u64,
    /// Kubo's entry types: `file` (raw blocks included), `directory` (sharded included), `symlink`
    /// or `unknown`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Symlink target, for symlinks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// Output of `ipfs_ls`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LsOutput {
    /// The CID listed.
    pub cid: String,
    /// The entries of this page.
    pub entries: Vec<LsItem>,
    /// Offset to ask for the next page, when more entries remain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<usize>,
}

impl Operation for Ls {
    const NAME: &'static str = "ipfs_ls";
    type Input = LsInput;
    type Output = LsOutput;

    fn meta(&self) -> OpMeta {
        core_meta(
            "List a directory",
            "List the entries of a UnixFS directory (plain or HAMT-sharded) by CID or IPFS path, with names, \
             CIDs, sizes and types. Paged with offset/limit.",
            true,
            false,
            true,
        )
    }

    async fn run(&self, kit: &Kit, input: LsInput, _cx: &OpContext) -> Result<LsOutput, OpError> {
        if let Some(k) = kit.kubo() {
            return crate::remote::ls(k, input).await;
        }
        let limit = input.limit.unwrap_or(DEFAULT_LIST_LIMIT);
        kit.blocking(move |kit| {
            let blocks = kit.repo()?.blocks();
            let cid = export::resolve_path(blocks, &input.path)?;
            let mut entries = Vec::new();
            let mut iter = export::ls(blocks, &cid, input.resolve_type)?.skip(input.offset);
            for e in iter.by_ref().take(limit) {
                let e = e?;
                entries.push(LsItem {
                    name: e.name,
                    cid: e.cid.to_string(),
                    size: e.size,
                    kind: kubo_type_name(e.kind).to_string(),
                    target: e.target,
                });
            }
            let next_offset = match iter.next() {
                Some(_) => Some(input.offset + entries.len()),
                None => None,
            };
            Ok(LsOutput {
                cid: cid.to_string(),
                entries,
                next_offset,
            })
        })
        .await
    }
}

/// The entry type names Kubo's `ls` uses.
fn kubo_type_name(kind: export::NodeKind) -> &'static str {
    match kind.kubo_type() {
        1 => "directory",
        2 => "file",
        4 => "symlink",
        _ => "unknown",
    }
}
