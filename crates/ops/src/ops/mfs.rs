//! The mutable filesystem: `ipfs_files_*` (Kubo's `ipfs files …`).

use base64::Engine;
use cid::Cid;
use ipfs_kit_content::export::{self, NodeKind};
use ipfs_kit_content::import::{self, Control, Modifier, NodeLink, Prefix};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::check_cid_version;
use super::files::{CAT_MAX_INLINE, CatOutput, Encoding};
use crate::mfs::{self, Dir, MfsPath};
use crate::{ErrorCode, InputStream, Kit, OpContext, OpError, OpMeta, Operation, Toolset};

const fn mfs_meta(
    title: &'static str,
    description: &'static str,
    read_only: bool,
    destructive: bool,
    idempotent: bool,
) -> OpMeta {
    super::op_meta(
        Toolset::Mfs,
        title,
        description,
        read_only,
        destructive,
        idempotent,
    )
}

/// Kubo's `files stat` type name.
fn type_name(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Directory | NodeKind::HamtDirectory => "directory",
        NodeKind::File | NodeKind::Raw => "file",
        NodeKind::Symlink => "symlink",
        NodeKind::Unknown => "unknown",
    }
}

/// `ipfs_files_mkdir`.
#[derive(Debug, Clone, Copy)]
pub struct FilesMkdir;

/// Input of `ipfs_files_mkdir`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilesMkdirInput {
    /// Absolute MFS path of the directory to create (`/a/b`).
    pub path: String,
    /// Create missing parents and accept an existing directory (`-p`).
    #[serde(default)]
    pub parents: bool,
    /// CID version of the new directories (0 or 1; default 0).
    #[serde(default)]
    pub cid_version: u8,
}

/// Output of MFS changes: the path changed and the new root.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FilesChanged {
    /// The MFS path that was changed.
    pub path: String,
    /// CID of the MFS root after the change.
    pub root: String,
}

impl Operation for FilesMkdir {
    const NAME: &'static str = "ipfs_files_mkdir";
    type Input = FilesMkdirInput;
    type Output = FilesChanged;

    fn meta(&self) -> OpMeta {
        mfs_meta(
            "Make an MFS directory",
            "Create a directory in the node's mutable filesystem (MFS) at an absolute path such as /docs/2024. \
             With parents (-p), missing parents are created and an existing directory is not an error.",
            false,
            false,
            false,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: FilesMkdirInput,
        _cx: &OpContext,
    ) -> Result<FilesChanged, OpError> {
        if let Some(k) = kit.kubo() {
            return crate::remote::files_mkdir(k, input).await;
        }
        let path = MfsPath::parse(&input.path)?;
        let version = check_cid_version(input.cid_version)?;
        kit.blocking(move |kit| {
            let repo = kit.repo()?;
            let mut guard = kit.mfs()?.lock(repo)?;
            let _hold = repo.gc_shared();
            let exists = match mfs::resolve(repo.blocks(), &guard, &path) {
                Ok(cid) => Some(cid),
                Err(e) if e.code == ErrorCode::NotFound => None,
                Err(e) => return Err(e),
            };
            match exists {
                Some(cid) if input.parents && export::stat(repo.blocks(), &cid)?.kind.is_dir() => {}
                Some(_) => {
                    return Err(OpError::new(
                        ErrorCode::AlreadyExists,
                        format!("file already exists: {}", path.display()),
                    )
                    .with("path", path.display()));
                }
                None => {
                    let empty =
                        Dir::empty(version, ipfs_kit_content::HashAlg::Sha2_256).write(repo)?;
                    let new =
                        mfs::set_entry(repo, &guard, &path, Some(empty), input.parents, version)?;
                    kit.mfs()?.commit(repo, &mut guard, new)?;
                }
            }
            Ok(FilesChanged {
                path: path.display(),
                root: guard.to_string(),
            })
        })
        .await
    }
}

/// `ipfs_files_ls`.
#[derive(Debug, Clone, Copy)]
pub struct FilesLs;

/// Input of `ipfs_files_ls`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilesLsInput {
    /// Absolute MFS path (default `/`).
    #[serde(default = "slash")]
    pub path: String,
    /// Include each entry's type, size and CID (`-l`).
    #[serde(default)]
    pub long: bool,
    /// Skip this many entries (for paging).
    #[serde(default)]
    pub offset: usize,
    /// Return at most this many entries (default 1000).
    pub limit: Option<usize>,
}

fn slash() -> String {
    "/".to_string()
}

/// One entry of `ipfs_files_ls` (Kubo's `Name`, `Type`, `Size`, `Hash`).
#[derive(Debug, Serialize, JsonSchema)]
pub struct FilesLsEntry {
    /// Entry name.
    pub name: String,
    /// Kubo's type number: 0 file, 1 directory (with `long`).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<u8>,
    /// File size in bytes (0 for directories; with `long`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The entry's CID (with `long`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

/// Output of `ipfs_files_ls`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FilesLsOutput {
    /// The entries of this page (a file lists itself).
    pub entries: Vec<FilesLsEntry>,
    /// Offset to ask for the next page, when more entries remain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<usize>,
}

impl Operation for FilesLs {
    const NAME: &'static str = "ipfs_files_ls";
    type Input = FilesLsInput;
    type Output = FilesLsOutput;

    fn meta(&self) -> OpMeta {
        mfs_meta(
            "List an MFS directory",
            "List the entries of a directory in the node's mutable filesystem (MFS), by absolute path (default /). \
             With long (-l), each entry's type (0 file, 1 directory), size and CID. Paged with offset/limit.",
            true,
            false,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: FilesLsInput,
        _cx: &OpContext,
    ) -> Result<FilesLsOutput, OpError> {
        if let Some(k) = kit.kubo() {
            return crate::remote::files_ls(k, input).await;
        }
        let path = MfsPath::parse(&input.path)?;
        let limit = input.limit.unwrap_or(super::DEFAULT_LIST_LIMIT);
        kit.blocking(move |kit| {
            let root = kit.mfs()?.root(kit.repo()?)?;
            let blocks = kit.repo()?.blocks();
            let cid = mfs::resolve(blocks, &root, &path)?;
            let st = export::stat(blocks, &cid)?;
            let item = |name: String, cid: Cid, kind: NodeKind, size: u64| FilesLsEntry {
                name,
                kind: input.long.then_some(u8::from(kind.is_dir())),
                size: input.long.then_some(size),
                hash: input.long.then(|| cid.to_string()),
            };
            if !st.kind.is_dir() {
                let name = path.split().map(|(_, n)| n.to_string()).unwrap_or_default();
                return Ok(FilesLsOutput {
                    entries: vec![item(name, cid, st.kind, st.size)],
                    next_offset: None,
                });
            }
            let mut entries = Vec::new();
            let mut iter = export::ls(blocks, &cid, input.long)?.skip(input.offset);
            for e in iter.by_ref().take(limit) {
                let e = e?;
                let size = if e.kind.is_dir() { 0 } else { e.size };
                entries.push(item(e.name, e.cid, e.kind, size));
            }
            let next_offset = iter.next().map(|_| input.offset + entries.len());
            Ok(FilesLsOutput {
                entries,
                next_offset,
            })
        })
        .await
    }
}

/// `ipfs_files_stat`.
#[derive(Debug, Clone, Copy)]
pub struct FilesStat;

/// Input of `ipfs_files_stat`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilesStatInput {
    /// Absolute MFS path (default `/`).
    #[serde(default = "slash")]
    pub path: String,
}

/// Output of `ipfs_files_stat` (Kubo's fields).
#[derive(Debug, Serialize, JsonSchema)]
pub struct FilesStatOutput {
    /// The node's CID.
    pub hash: String,
    /// File size in bytes (0 for directories).
    pub size: u64,
    /// Size of the node and everything below it (Kubo `CumulativeSize`).
    pub cumulative_size: u64,
    /// Number of links of the node (Kubo `Blocks`).
    pub blocks: usize,
    /// `file`, `directory`, `symlink` or `unknown`.
    #[serde(rename = "type")]
    pub kind: String,
}

impl Operation for FilesStat {
    const NAME: &'static str = "ipfs_files_stat";
    type Input = FilesStatInput;
    type Output = FilesStatOutput;

    fn meta(&self) -> OpMeta {
        mfs_meta(
            "Describe an MFS path",
            "Report the CID, size, cumulative size, number of blocks and type of a file or directory in the \
             node's mutable filesystem (MFS), as Kubo's `ipfs files stat`.",
            true,
            false,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: FilesStatInput,
        _cx: &OpContext,
    ) -> Result<FilesStatOutput, OpError> {
        if let Some(k) = kit.kubo() {
            return crate::remote::files_stat(k, input).await;
        }
        let path = MfsPath::parse(&input.path)?;
        kit.blocking(move |kit| {
            let root = kit.mfs()?.root(kit.repo()?)?;
            let blocks = kit.repo()?.blocks();
            let cid = mfs::resolve(blocks, &root, &path)?;
            let st = export::stat(blocks, &cid)?;
            Ok(FilesStatOutput {
                hash: cid.to_string(),
                size: if st.kind.is_dir() { 0 } else { st.size },
                cumulative_size: st.cumulative_size,
                blocks: st.links,
                kind: type_name(st.kind).to_string(),
            })
        })
        .await
    }
}

/// `ipfs_files_write`.
#[derive(Debug, Clone, Copy)]
pub struct FilesWrite;

/// Input of `ipfs_files_write`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilesWriteInput {
    /// Absolute MFS path of the file.
    pub path: String,
    /// UTF-8 text to write.
    pub content: Option<String>,
    /// Bytes to write, base64-encoded.
    pub content_base64: Option<String>,
    /// Create the file if it does not exist (`-e`).
    #[serde(default)]
    pub create: bool,
    /// Truncate the file to zero bytes before writing (`-t`).
    #[serde(default)]
    pub truncate: bool,
    /// Create missing parent directories (`-p`).
    #[serde(default)]
    pub parents: bool,
    /// Byte offset to write at (`-o`; beyond the end, the gap is zero-filled).
    #[serde(default)]
    pub offset: u64,
    /// CID version of a file this call creates (0 or 1; default 0). A CIDv1 file gets raw leaves
    /// unless raw_leaves is false.
    pub cid_version: Option<u8>,
    /// Hash function of a file this call creates (e.g. `sha2-256`, `blake2b-256`; implies CID
    /// version 1).
    pub hash: Option<String>,
    /// Store new leaves as raw blocks (default: only for CIDv1 files).
    pub raw_leaves: Option<bool>,
}

/// Output of `ipfs_files_write`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FilesWriteOutput {
    /// The MFS path written.
    pub path: String,
    /// The file's new CID.
    pub cid: String,
    /// The file's new size.
    pub size: u64,
    /// Bytes written by this call.
    pub written: u64,
    /// CID of the MFS root after the change.
    pub root: String,
}

impl Operation for FilesWrite {
    const NAME: &'static str = "ipfs_files_write";
    type Input = FilesWriteInput;
    type Output = FilesWriteOutput;

    fn meta(&self) -> OpMeta {
        mfs_meta(
            "Write an MFS file",
            "Write bytes (content, content_base64, or a stream the face attaches) into a file of the node's mutable \
             filesystem (MFS) at `offset`; create (-e) makes it if missing, truncate (-t) empties it first, parents \
             (-p) creates missing directories. cid_version/raw_leaves as Kubo's `ipfs files write`.",
            false,
            true,
            false,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: FilesWriteInput,
        cx: &OpContext,
    ) -> Result<FilesWriteOutput, OpError> {
        let path = MfsPath::parse_entry(&input.path, "write to")?;
        let hash = input
            .hash
            .as_deref()
            .map(|h| {
                h.to_ascii_lowercase()
                    .parse::<ipfs_kit_content::HashAlg>()
                    .map_err(|_| OpError::invalid(format!("unrecognized hash function: {h:?}")))
            })
            .transpose()?;
        let cid_version = input.cid_version.map(check_cid_version).transpose()?;
        let prefix = Prefix::for_flags(cid_version, hash)?;
        let data: InputStream = match (&input.content, &input.content_base64) {
            (Some(t), None) => Box::new(std::io::Cursor::new(t.clone().into_bytes())),
            (None, Some(b)) => Box::new(std::io::Cursor::new(
                base64::engine::general_purpose::STANDARD
                    .decode(b.as_bytes())
                    .map_err(|e| OpError::invalid(format!("content_base64 is not base64: {e}")))?,
            )),
            (None, None) => cx
                .take_stream()
                .ok_or_else(|| OpError::invalid("give content or content_base64"))?,
            _ => {
                return Err(OpError::invalid(
                    "give only one of content or content_base64",
                ));
            }
        };
        if let Some(k) = kit.kubo() {
            return crate::remote::files_write(k, input, data, cx).await;
        }
        let cx = cx.clone();
        kit.blocking(move |kit| {
            let repo = kit.repo()?;
            let blocks = repo.blocks();
            let mut guard = kit.mfs()?.lock(repo)?;
            let _hold = repo.gc_shared();
            let file = match mfs::resolve(blocks, &guard, &path) {
                Ok(cid) => {
                    let st = export::stat(blocks, &cid)?;
                    if !st.kind.is_file() {
                        return Err(
                            OpError::invalid(format!("{} is not a file", path.display()))
                                .with("path", path.display()),
                        );
                    }
                    cid
                }
                Err(e) if e.code == ErrorCode::NotFound && input.create => {
                    import::empty_file(blocks, prefix)?.cid
                }
                Err(e) => return Err(e),
            };
            let control = Control::new().with_cancel(cx.cancel_arc());
            let mut file = Modifier::open(blocks, file, input.raw_leaves, &control)?;
            if input.truncate {
                file.truncate(0)?;
            }
            let written = file.write_at(input.offset, data)?;
            let size = file.size()?;
            let link = file.finish()?;
            let new = mfs::set_entry(repo, &guard, &path, Some(link), input.parents, 0)?;
            kit.mfs()?.commit(repo, &mut guard, new)?;
            Ok(FilesWriteOutput {
                path: path.display(),
                cid: link.cid.to_string(),
                size,
                written,
                root: guard.to_string(),
            })
        })
        .await
    }
}

/// `ipfs_files_read`.
#[derive(Debug, Clone, Copy)]
pub struct FilesRead;

/// Input of `ipfs_files_read`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilesReadInput {
    /// Absolute MFS path of a file.
    pub path: String,
    /// Byte offset to start at (`-o`).
    #[serde(default)]
    pub offset: u64,
    /// Maximum bytes to read (`-n`; default and cap: 512 KiB).
    pub count: Option<u64>,
    /// `utf8` (default; invalid sequences replaced) or `base64`.
    #[serde(default)]
    pub encoding: Encoding,
}

impl Operation for FilesRead {
    const NAME: &'static str = "ipfs_files_read";
    type Input = FilesReadInput;
    type Output = CatOutput;

    fn meta(&self) -> OpMeta {
        mfs_meta(
            "Read an MFS file",
            "Read bytes of a file in the node's mutable filesystem (MFS) from `offset`, at most `count` bytes \
             (capped at 512 KiB per call; `truncated` tells whether more remains). Text by default, base64 on request.",
            true,
            false,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: FilesReadInput,
        _cx: &OpContext,
    ) -> Result<CatOutput, OpError> {
        if let Some(k) = kit.kubo() {
            return crate::remote::files_read(k, input).await;
        }
        let path = MfsPath::parse(&input.path)?;
        let want = input.count.unwrap_or(CAT_MAX_INLINE).min(CAT_MAX_INLINE);
        kit.blocking(move |kit| {
            let root = kit.mfs()?.root(kit.repo()?)?;
            let blocks = kit.repo()?.blocks();
            let cid = mfs::resolve(blocks, &root, &path)?;
            super::files::read_range(blocks, &cid, input.offset, want, input.encoding)
        })
        .await
    }
}

/// `ipfs_files_rm`.
#[derive(Debug, Clone, Copy)]
pub struct FilesRm;

/// Input of `ipfs_files_rm`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilesRmInput {
    /// Absolute MFS path to remove.
    pub path: String,
    /// Remove directories and their contents (`-r`).
    #[serde(default)]
    pub recursive: bool,
    /// Remove a directory without `recursive`; a path that does not exist is no error (`--force`).
    #[serde(default)]
    pub force: bool,
}

impl Operation for FilesRm {
    const NAME: &'static str = "ipfs_files_rm";
    type Input = FilesRmInput;
    type Output = FilesChanged;

    fn meta(&self) -> OpMeta {
        mfs_meta(
            "Remove an MFS path",
            "Remove a file or directory from the node's mutable filesystem (MFS). Directories need recursive (-r) \
             or force. The root / cannot be removed. The content stays in the repo until GC if nothing else uses it.",
            false,
            true,
            false,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: FilesRmInput,
        _cx: &OpContext,
    ) -> Result<FilesChanged, OpError> {
        if let Some(k) = kit.kubo() {
            return crate::remote::files_rm(k, input).await;
        }
        let path = MfsPath::parse_entry(&input.path, "remove")?;
        kit.blocking(move |kit| {
            let repo = kit.repo()?;
            let mut guard = kit.mfs()?.lock(repo)?;
            let _hold = repo.gc_shared();
            let cid = match mfs::resolve(repo.blocks(), &guard, &path) {
                // `--force` on a path that is not there is done (Kubo: "remove nonexistent path forcibly")
                Err(e) if input.force && e.code == ErrorCode::NotFound => {
                    return Ok(FilesChanged {
                        path: path.display(),
                        root: guard.to_string(),
                    });
                }
                other => other?,
            };
            if export::stat(repo.blocks(), &cid)?.kind.is_dir() && !input.recursive && !input.force
            {
                return Err(OpError::invalid(format!(
                    "{} is a directory, use recursive (-r) to remove it",
                    path.display()
                ))
                .with("path", path.display()));
            }
            let new = mfs::set_entry(repo, &guard, &path, None, false, 0)?;
            kit.mfs()?.commit(repo, &mut guard, new)?;
            Ok(FilesChanged {
                path: path.display(),
                root: guard.to_string(),
            })
        })
        .await
    }
}

/// `ipfs_files_cp`.
#[derive(Debug, Clone, Copy)]
pub struct FilesCp;

/// Input of `ipfs_files_cp`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilesCpInput {
    /// Source: an MFS path (`/a/b`) or an IPFS path (`/ipfs/CID[/sub]`) whose blocks are local.
    pub from: String,
    /// Destination MFS path (must not exist).
    pub to: String,
    /// Create missing parent directories of `to` (`-p`).
    #[serde(default)]
    pub parents: bool,
}

impl Operation for FilesCp {
    const NAME: &'static str = "ipfs_files_cp";
    type Input = FilesCpInput;
    type Output = FilesChanged;

    fn meta(&self) -> OpMeta {
        mfs_meta(
            "Copy into MFS",
            "Copy a file or directory into the node's mutable filesystem (MFS) from another MFS path or from an \
             /ipfs/CID path whose whole DAG is local (copy by reference: no bytes are duplicated). The destination \
             must not exist.",
            false,
            false,
            false,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: FilesCpInput,
        _cx: &OpContext,
    ) -> Result<FilesChanged, OpError> {
        if let Some(k) = kit.kubo() {
            return crate::remote::files_cp(k, input).await;
        }
        let to = MfsPath::parse(&input.to)?;
        let from_ipfs = input.from.starts_with("/ipfs/");
        let from = if from_ipfs {
            None
        } else {
            Some(MfsPath::parse(&input.from)?)
        };
        kit.blocking(move |kit| {
            let repo = kit.repo()?;
            let blocks = repo.blocks();
            let mut guard = kit.mfs()?.lock(repo)?;
            let _hold = repo.gc_shared();
            let src = match &from {
                Some(p) => mfs::resolve(blocks, &guard, p)?,
                None => {
                    // MFS content must be complete locally: GC walks the MFS root, and this node
                    // has no network to fetch missing blocks later.
                    let cid = export::resolve_path(blocks, &input.from)?;
                    repo.check_complete(&cid)?;
                    cid
                }
            };
            let (_, tsize) = mfs::tsize_of(blocks, &src)?;
            ensure_absent(blocks, &guard, &to)?;
            let link = NodeLink { cid: src, tsize };
            let new = mfs::set_entry(repo, &guard, &to, Some(link), input.parents, 0)?;
            kit.mfs()?.commit(repo, &mut guard, new)?;
            Ok(FilesChanged {
                path: to.display(),
                root: guard.to_string(),
            })
        })
        .await
    }
}

fn ensure_absent(
    blocks: &ipfs_kit_repo::Blockstore,
    root: &Cid,
    path: &MfsPath,
) -> Result<(), OpError> {
    if path.is_root() {
        return Err(OpError::new(
            ErrorCode::AlreadyExists,
            "the MFS root / already exists",
        ));
    }
    match mfs::resolve(blocks, root, path) {
        Ok(_) => Err(OpError::new(
            ErrorCode::AlreadyExists,
            format!("{} already exists", path.display()),
        )
        .with("path", path.display())),
        Err(e) if e.code == ErrorCode::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// `ipfs_files_mv`.
#[derive(Debug, Clone, Copy)]
pub struct FilesMv;

/// Input of `ipfs_files_mv`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilesMvInput {
    /// MFS path to move.
    pub from: String,
    /// New MFS path; an existing directory receives the entry under its current name.
    pub to: String,
}

impl Operation for FilesMv {
    const NAME: &'static str = "ipfs_files_mv";
    type Input = FilesMvInput;
    type Output = FilesChanged;

    fn meta(&self) -> OpMeta {
        mfs_meta(
            "Move an MFS path",
            "Move or rename a file or directory inside the node's mutable filesystem (MFS). If `to` is an existing \
             directory the entry moves into it; otherwise `to` must not exist. A directory cannot move into itself.",
            false,
            false,
            false,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: FilesMvInput,
        _cx: &OpContext,
    ) -> Result<FilesChanged, OpError> {
        if let Some(k) = kit.kubo() {
            return crate::remote::files_mv(k, input).await;
        }
        let from = MfsPath::parse(&input.from)?;
        let mut to = MfsPath::parse(&input.to)?;
        let Some((_, name)) = from.split() else {
            return Err(OpError::new(
                ErrorCode::InvalidPath,
                "cannot move the MFS root /",
            ));
        };
        let name = name.to_string();
        kit.blocking(move |kit| {
            let repo = kit.repo()?;
            let blocks = repo.blocks();
            let mut guard = kit.mfs()?.lock(repo)?;
            let _hold = repo.gc_shared();
            let src = mfs::resolve(blocks, &guard, &from)?;
            if let Ok(dest) = mfs::resolve(blocks, &guard, &to)
                && export::stat(blocks, &dest)?.kind.is_dir()
            {
                to.0.push(name);
            }
            if to.0.starts_with(&from.0) {
                return Err(OpError::invalid(format!(
                    "cannot move {} into itself ({})",
                    from.display(),
                    to.display()
                )));
            }
            ensure_absent(blocks, &guard, &to)?;
            let (_, tsize) = mfs::tsize_of(blocks, &src)?;
            let removed = mfs::set_entry(repo, &guard, &from, None, false, 0)?;
            let new = mfs::set_entry(
                repo,
                &removed,
                &to,
                Some(NodeLink { cid: src, tsize }),
                false,
                0,
            )?;
            kit.mfs()?.commit(repo, &mut guard, new)?;
            Ok(FilesChanged {
                path: to.display(),
                root: guard.to_string(),
            })
        })
        .await
    }
}

/// `ipfs_files_flush`.
#[derive(Debug, Clone, Copy)]
pub struct FilesFlush;

/// Input of `ipfs_files_flush`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilesFlushInput {
    /// Absolute MFS path (default `/`).
    #[serde(default = "slash")]
    pub path: String,
}

/// Output of `ipfs_files_flush`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FilesFlushOutput {
    /// The CID at the path.
    pub cid: String,
}

impl Operation for FilesFlush {
    const NAME: &'static str = "ipfs_files_flush";
    type Input = FilesFlushInput;
    type Output = FilesFlushOutput;

    fn meta(&self) -> OpMeta {
        mfs_meta(
            "Flush an MFS path",
            "Return the CID of an MFS path (default /). Every MFS change is already durable when it returns, so \
             this only reports the CID, as Kubo's `ipfs files flush` does after writing.",
            true,
            false,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: FilesFlushInput,
        _cx: &OpContext,
    ) -> Result<FilesFlushOutput, OpError> {
        if let Some(k) = kit.kubo() {
            return crate::remote::files_flush(k, input).await;
        }
        let path = MfsPath::parse(&input.path)?;
        kit.blocking(move |kit| {
            let root = kit.mfs()?.root(kit.repo()?)?;
            let cid = mfs::resolve(kit.repo()?.blocks(), &root, &path)?;
            Ok(FilesFlushOutput {
                cid: cid.to_string(),
            })
        })
        .await
    }
}

/// `ipfs_files_chcid`.
#[derive(Debug, Clone, Copy)]
pub struct FilesChcid;

/// Input of `ipfs_files_chcid`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilesChcidInput {
    /// Absolute MFS path of a directory (default `/`).
    #[serde(default = "slash")]
    pub path: String,
    /// The CID version to rewrite the directory with (0 or 1).
    pub cid_version: u8,
}

impl Operation for FilesChcid {
    const NAME: &'static str = "ipfs_files_chcid";
    type Input = FilesChcidInput;
    type Output = FilesChanged;

    fn meta(&self) -> OpMeta {
        mfs_meta(
            "Change an MFS directory's CID version",
            "Rewrite a directory of the node's mutable filesystem (MFS; default /) with CID version 0 or 1, as Kubo's \
             `ipfs files chcid`. Its entries keep their CIDs; the directories above it are rewritten.",
            false,
            false,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        input: FilesChcidInput,
        _cx: &OpContext,
    ) -> Result<FilesChanged, OpError> {
        if let Some(k) = kit.kubo() {
            return crate::remote::files_chcid(k, input).await;
        }
        let path = MfsPath::parse(&input.path)?;
        let version = check_cid_version(input.cid_version)?;
        kit.blocking(move |kit| {
            let repo = kit.repo()?;
            let mut guard = kit.mfs()?.lock(repo)?;
            let _hold = repo.gc_shared();
            let new = mfs::update_dir(repo, &guard, &path.0, false, version, |d| {
                d.cid_version = version;
                Ok(())
            })?;
            kit.mfs()?.commit(repo, &mut guard, new)?;
            Ok(FilesChanged {
                path: path.display(),
                root: guard.to_string(),
            })
        })
        .await
    }
}
