//! The operations on an external Kubo-compatible node: each op's input translated to Kubo's RPC
//! (`/api/v0/…`) and Kubo's answer translated back to the op's output, the same shape the
//! embedded node gives. Options Kubo has no equivalent for are refused ([`ErrorCode::Unsupported`]
//! naming the option), never dropped.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use base64::Engine;
use ipfs_kit_clients::KuboClient;
use ipfs_kit_clients::kubo::{self, MultipartWriter, PartMeta};
use ipfs_kit_content::import::{AddFlags, Profile};
use ipfs_kit_content::{CidBase, format_cid, parse_cid};
use serde::Deserialize;
use serde_json::Value;

use crate::mfs::MfsPath;
use crate::ops::*;
use crate::{ErrorCode, InputStream, OpContext, OpError};

/// Default for list limits, as on the embedded node.
const DEFAULT_LIST_LIMIT: usize = 1000;

/// Query pairs of one call.
type Query = Vec<(&'static str, String)>;

/// Turn a client error into the one error shape, with Kubo's message and the daemon's address.
pub(crate) fn err(k: &KuboClient, e: kubo::Error) -> OpError {
    let api = k.base_url().to_string();
    match e {
        kubo::Error::Unreachable { url, reason } => OpError::new(
            ErrorCode::DaemonUnavailable,
            format!("no IPFS node answering at {url} (Kubo RPC API): {reason}"),
        )
        .with("api", url),
        kubo::Error::InvalidAddress(a) => OpError::new(
            ErrorCode::ConfigInvalid,
            format!("invalid Kubo API address {a:?}"),
        )
        .with("api", a),
        kubo::Error::Api {
            command,
            status,
            message,
        } => {
            let code = api_code(status, &message);
            let text = if status == 404 && code == ErrorCode::Unsupported {
                format!("the node at {api} has no /api/v0/{command} endpoint ({message})")
            } else {
                message.clone()
            };
            OpError::new(code, text)
                .with("api", api)
                .with("command", command)
                .with("status", status)
        }
        kubo::Error::TooLarge { command, limit } => OpError::new(
            ErrorCode::InvalidInput,
            format!("the answer of {command} is over {limit} bytes"),
        )
        .with("api", api)
        .with("limit", limit),
        kubo::Error::Upload { source, .. } => OpError::from(source),
        kubo::Error::Cancelled(_) => OpError::new(ErrorCode::Cancelled, "operation cancelled"),
        other => OpError::new(ErrorCode::Internal, other.to_string()).with("api", api),
    }
}

/// The error code for a Kubo error message.
fn api_code(status: u16, message: &str) -> ErrorCode {
    let m = message.to_ascii_lowercase();
    if status == 404 && (m == "not found" || m.contains("page not found")) {
        return ErrorCode::Unsupported;
    }
    if m.contains("not found")
        || m.contains("no link named")
        || m.contains("could not find")
        || m.contains("does not exist")
        || m.contains("file does not exist")
        || m.contains("not pinned")
    {
        ErrorCode::NotFound
    } else if (m.contains("cid") || m.contains("multihash") || m.contains("multibase"))
        && (m.contains("invalid")
            || m.contains("malformed")
            || m.contains("failed to parse")
            || m.contains("decode")
            || m.contains("selected encoding not supported"))
    {
        ErrorCode::InvalidCid
    } else if m.contains("already exists") || m.contains("already has entry") {
        ErrorCode::AlreadyExists
    } else if m.contains("invalid path") || m.contains("paths must start with") {
        ErrorCode::InvalidPath
    } else if m.contains("unsupported")
        || m.contains("not supported")
        || m.contains("not implemented")
    {
        ErrorCode::Unsupported
    } else {
        ErrorCode::InvalidInput
    }
}

/// An option the embedded node offers and Kubo's RPC does not.
fn unsupported(option: &str, why: &str) -> OpError {
    OpError::new(
        ErrorCode::Unsupported,
        format!("option {option} is not available on an external node: {why}"),
    )
    .with("option", option)
}

/// `/ipfs/<cid>` for a bare CID; paths pass unchanged.
pub(crate) fn ipfs_path(p: &str) -> String {
    let p = p.trim();
    if p.starts_with('/') {
        p.to_string()
    } else {
        format!("/ipfs/{p}")
    }
}

/// A CID as Kubo writes it: a string or `{"/": "<cid>"}`.
fn cid_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("/").and_then(|c| c.as_str()).map(str::to_string),
        _ => None,
    }
}

/// A number Kubo writes as a number or a decimal string (`Size`, `RepoSize`, …).
fn num(v: &Value) -> u64 {
    match v {
        Value::Number(n) => n.as_u64().unwrap_or(0),
        Value::String(s) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn decode(k: &KuboClient, command: &str, reason: impl std::fmt::Display) -> OpError {
    OpError::new(
        ErrorCode::Internal,
        format!(
            "unexpected answer from {} /api/v0/{command}: {reason}",
            k.base_url()
        ),
    )
    .with("api", k.base_url())
}

/// Kubo's `files/stat` of an MFS or `/ipfs/` path: (CID, size, cumulative size, blocks, type).
struct Stat {
    hash: String,
    size: u64,
    cumulative_size: u64,
    blocks: u64,
    kind: String,
}

async fn stat(k: &KuboClient, path: &str) -> Result<Stat, OpError> {
    let v: Value = k
        .json("files/stat", &[("arg", path.to_string())])
        .await
        .map_err(|e| err(k, e))?;
    let hash = cid_of(&v["Hash"]).ok_or_else(|| decode(k, "files/stat", "no Hash"))?;
    Ok(Stat {
        hash,
        size: num(&v["Size"]),
        cumulative_size: num(&v["CumulativeSize"]),
        blocks: num(&v["Blocks"]),
        kind: text(&v["Type"]),
    })
}

/// The CID an IPFS path resolves to (Kubo's `resolve`).
async fn resolve(k: &KuboClient, path: &str) -> Result<String, OpError> {
    if !path.trim().starts_with('/') {
        // A bare CID: check it here, as the embedded node does.
        return Ok(parse_cid(path)?.to_string());
    }
    let v: Value = k
        .json("resolve", &[("arg", path.to_string())])
        .await
        .map_err(|e| err(k, e))?;
    let p = text(&v["Path"]);
    let cid = p.strip_prefix("/ipfs/").unwrap_or(&p);
    // js-ipfs writes CIDv0 with a base58btc multibase prefix (`zQm…`), which no CID parser takes.
    let parsed = parse_cid(cid).or_else(|e| match cid.strip_prefix('z') {
        Some(v0) if v0.starts_with("Qm") => parse_cid(v0),
        _ => Err(e),
    });
    match parsed {
        Ok(c) => Ok(c.to_string()),
        Err(_) => Err(decode(k, "resolve", format!("path {p:?}"))),
    }
}

fn encode_bytes(buf: &[u8], encoding: Encoding) -> String {
    match encoding {
        Encoding::Utf8 => String::from_utf8_lossy(buf).into_owned(),
        Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(buf),
    }
}

// ---------------------------------------------------------------------------------------------
// add

/// Where the added bytes come from.
enum Source {
    Paths(Vec<PathBuf>),
    Bytes(Vec<u8>, Option<String>),
    Stream(InputStream, Option<String>),
}

/// Kubo's `add` query for the given flags (only what was given; the daemon's config decides the
/// rest, as `ipfs add` against it would).
fn add_query(input: &AddInput) -> Result<Query, OpError> {
    let f: &AddFlags = &input.flags;
    // Same validation and errors as the embedded node.
    let resolved = f.resolve()?;
    let mut q: Query = Vec::new();
    if let Some(dst) = &input.to_files {
        q.push(("to-files", dst.clone()));
    }
    if f.hamt_threshold.is_some() {
        return Err(unsupported(
            "hamt_threshold",
            "Kubo sets it in its config (Import.UnixFSHAMTDirectorySizeThreshold), not per add",
        ));
    }
    if f.hamt_size_estimation.is_some() {
        return Err(unsupported(
            "hamt_size_estimation",
            "Kubo sets it in its config (Import.UnixFSHAMTDirectorySizeEstimation), not per add",
        ));
    }
    match f.profile {
        None => {
            if let Some(v) = f.cid_version {
                q.push(("cid-version", v.to_string()));
            }
            if let Some(r) = f.raw_leaves {
                q.push(("raw-leaves", r.to_string()));
            }
            if let Some(c) = &f.chunker {
                q.push(("chunker", c.clone()));
            }
            if let Some(l) = f.max_file_links {
                q.push(("max-file-links", l.to_string()));
            }
        }
        Some(Profile::UnixfsV0_2015) => {
            // The profile's settings, spelled out (the daemon's own Import config may differ).
            q.push(("cid-version", resolved.cid_version.to_string()));
            q.push(("raw-leaves", resolved.raw_leaves.to_string()));
            q.push(("chunker", resolved.chunker.to_string()));
            q.push(("max-file-links", resolved.max_file_links.to_string()));
        }
        Some(p) => {
            return Err(unsupported(
                "profile",
                &format!(
                    "{} sets HAMT size estimation, which Kubo only takes from its config \
                     (apply the profile to the daemon, or pass cid_version/raw_leaves/chunker/max_file_links)",
                    p.name()
                ),
            ));
        }
    }
    if let Some(h) = &f.hash {
        q.push(("hash", h.to_ascii_lowercase()));
    }
    if f.trickle == Some(true) {
        q.push(("trickle", "true".into()));
    }
    if let Some(l) = f.max_directory_links {
        q.push(("max-directory-links", l.to_string()));
    }
    if let Some(l) = f.max_hamt_fanout {
        q.push(("max-hamt-fanout", l.to_string()));
    }
    if f.inline == Some(true) {
        q.push(("inline", "true".into()));
    }
    if let Some(l) = f.inline_limit {
        q.push(("inline-limit", l.to_string()));
    }
    if let Some(m) = &f.mode {
        q.push(("mode", ipfs_kit_content::import::parse_mode(m)?.to_string()));
    }
    if let Some(t) = f.mtime {
        q.push(("mtime", t.to_string()));
    }
    if let Some(n) = f.mtime_nsecs {
        q.push(("mtime-nsecs", n.to_string()));
    }
    if f.preserve_mode == Some(true) {
        q.push(("preserve-mode", "true".into()));
    }
    if f.preserve_mtime == Some(true) {
        q.push(("preserve-mtime", "true".into()));
    }
    if f.empty_dirs == Some(false) {
        q.push(("empty-dirs", "false".into()));
    }
    if f.wrap_with_directory == Some(true) {
        q.push(("wrap-with-directory", "true".into()));
    }
    if input.only_hash {
        q.push(("only-hash", "true".into()));
    }
    if !input.pin {
        q.push(("pin", "false".into()));
    }
    q.push(("progress", "false".into()));
    Ok(q)
}

/// How local paths are walked into the multipart body (Kubo's client does this, not the daemon).
#[derive(Clone, Copy)]
struct Walk {
    hidden: bool,
    dereference: bool,
    preserve_mode: bool,
    preserve_mtime: bool,
}

/// File bytes per entry name and its ancestors, counted while uploading.
#[derive(Default)]
struct Tally {
    bytes: HashMap<String, u64>,
    total: u64,
}

impl Tally {
    fn add(&mut self, name: &str, n: u64) {
        self.total += n;
        *self.bytes.entry(name.to_string()).or_default() += n;
        let mut cut = name;
        while let Some((parent, _)) = cut.rsplit_once('/') {
            *self.bytes.entry(parent.to_string()).or_default() += n;
            cut = parent;
        }
    }
}

fn part_meta(meta: &std::fs::Metadata, w: Walk) -> PartMeta {
    use std::os::unix::fs::PermissionsExt;
    PartMeta {
        mode: w.preserve_mode.then(|| meta.permissions().mode() & 0o7777),
        mtime: if w.preserve_mtime {
            meta.modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| (d.as_secs() as i64, d.subsec_nanos()))
        } else {
            None
        },
    }
}

/// Write one top-level path (and, for a directory, its tree in pre-order, entries sorted by
/// name) as multipart parts.
fn upload_path(
    w: &mut MultipartWriter,
    path: &Path,
    walk: Walk,
    tally: &mut Tally,
    progress: &mut dyn FnMut(u64),
) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .or_else(|| {
            std::fs::canonicalize(path)
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        })
        .unwrap_or_default();
    // Iterative walk: (local path, name in the upload).
    let mut stack = vec![(path.to_path_buf(), name)];
    while let Some((local, name)) = stack.pop() {
        let lmeta = std::fs::symlink_metadata(&local)?;
        let meta = if lmeta.file_type().is_symlink() && walk.dereference {
            std::fs::metadata(&local)?
        } else {
            lmeta
        };
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&local)?;
            w.symlink(&name, &target.to_string_lossy())?;
        } else if meta.is_dir() {
            w.directory(&name, part_meta(&meta, walk))?;
            let mut children = Vec::new();
            for e in std::fs::read_dir(&local)? {
                let e = e?;
                let n = e.file_name().to_string_lossy().into_owned();
                if !walk.hidden && n.starts_with('.') {
                    continue;
                }
                children.push(n);
            }
            children.sort();
            // Reversed onto the stack so they come off in name order.
            for n in children.into_iter().rev() {
                stack.push((local.join(&n), format!("{name}/{n}")));
            }
        } else if meta.is_file() {
            let mut f = std::fs::File::open(&local)?;
            let abs = std::fs::canonicalize(&local).ok();
            let n = w.file(
                &name,
                abs.as_deref(),
                part_meta(&meta, walk),
                &mut f,
                progress,
            )?;
            tally.add(&name, n);
        } else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                format!("{} is not a file, directory or symlink", local.display()),
            ));
        }
    }
    Ok(())
}

#[derive(Deserialize)]
struct AddEvent {
    #[serde(rename = "Name", default)]
    name: String,
    #[serde(rename = "Hash", default)]
    hash: Option<String>,
    #[serde(rename = "Size", default)]
    size: Value,
}

/// `ipfs_add` on the external node: local paths, inline bytes or the attached stream, uploaded
/// as a streamed multipart body.
pub(crate) async fn add(
    k: &KuboClient,
    input: AddInput,
    cx: &OpContext,
) -> Result<AddOutput, OpError> {
    let base: CidBase = input.cid_base.as_deref().unwrap_or("").parse()?;
    let query = add_query(&input)?;
    let source = match (
        input.paths.is_empty(),
        &input.content,
        &input.content_base64,
    ) {
        (false, None, None) => Source::Paths(input.paths.iter().map(PathBuf::from).collect()),
        (true, Some(t), None) => Source::Bytes(t.clone().into_bytes(), input.name.clone()),
        (true, None, Some(b)) => Source::Bytes(
            base64::engine::general_purpose::STANDARD
                .decode(b.as_bytes())
                .map_err(|e| OpError::invalid(format!("content_base64 is not base64: {e}")))?,
            input.name.clone(),
        ),
        (true, None, None) => match cx.take_stream() {
            Some(s) => Source::Stream(s, input.name.clone()),
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
    let wrap = input.flags.wrap_with_directory == Some(true);
    let single_name = match &source {
        Source::Bytes(_, n) | Source::Stream(_, n) => Some(n.clone()),
        Source::Paths(_) => None,
    };
    if let Some(None) = &single_name
        && wrap
    {
        return Err(unsupported(
            "wrap_with_directory",
            "unnamed inline content is named by its CID inside the wrapper, which is only known \
             after the upload; give `name`",
        ));
    }
    if let Source::Paths(paths) = &source {
        for p in paths {
            let meta = std::fs::symlink_metadata(p)
                .map_err(|e| OpError::from(e).with("path", p.display().to_string()))?;
            if meta.is_dir() && !input.recursive {
                return Err(OpError::invalid(format!(
                    "{} is a directory, use recursive (-r) to add it",
                    p.display()
                ))
                .with("path", p.display().to_string()));
            }
        }
    }
    let walk = Walk {
        hidden: input.flags.hidden == Some(true),
        dereference: input.flags.dereference_symlinks == Some(true),
        preserve_mode: input.flags.preserve_mode == Some(true),
        preserve_mtime: input.flags.preserve_mtime == Some(true),
    };
    let total = match &source {
        Source::Paths(p) if p.len() == 1 => std::fs::metadata(&p[0])
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len()),
        Source::Bytes(b, _) => Some(b.len() as u64),
        _ => None,
    };
    let tally = std::sync::Arc::new(std::sync::Mutex::new(Tally::default()));
    let t = std::sync::Arc::clone(&tally);
    let pcx = cx.clone();
    let (resp, task) = k
        .upload("add", &query, Some(cx.cancel_arc()), move |w| {
            let mut tally = Tally::default();
            let mut progress = |done: u64| pcx.progress(done, total, "bytes");
            let r = match source {
                Source::Paths(paths) => paths
                    .iter()
                    .try_for_each(|p| upload_path(w, p, walk, &mut tally, &mut progress)),
                Source::Bytes(bytes, name) => {
                    let name = name.unwrap_or_default();
                    w.file(
                        &name,
                        None,
                        PartMeta::default(),
                        &mut &bytes[..],
                        &mut progress,
                    )
                    .map(|n| tally.add(&name, n))
                }
                Source::Stream(mut s, name) => {
                    let name = name.unwrap_or_default();
                    w.file(&name, None, PartMeta::default(), &mut s, &mut progress)
                        .map(|n| tally.add(&name, n))
                }
            };
            if let Ok(mut shared) = t.lock() {
                *shared = tally;
            }
            r
        })
        .await
        .map_err(|e| err(k, e))?;
    let mut lines = k.ndjson_of("add", resp);
    let mut events = Vec::new();
    let read = async {
        while let Some(ev) = lines.next::<AddEvent>().await? {
            if ev.hash.is_some() {
                events.push(ev);
            }
        }
        Ok::<_, kubo::Error>(())
    }
    .await;
    task.finish().await.map_err(|e| err(k, e))?;
    read.map_err(|e| err(k, e))?;
    cx.check()?;
    let tally = std::mem::take(
        &mut *tally
            .lock()
            .map_err(|_| OpError::new(ErrorCode::Internal, "upload tally poisoned"))?,
    );
    let mut entries = Vec::with_capacity(events.len());
    for ev in events {
        let raw = ev.hash.unwrap_or_default();
        let cid = parse_cid(&raw).map_err(|e| decode(k, "add", e))?;
        let name = match &single_name {
            // Inline content is named as on the embedded node: its name, else its CID.
            Some(n) if !ev.name.is_empty() || !wrap => n.clone().unwrap_or_else(|| cid.to_string()),
            _ => ev.name.clone(),
        };
        let bytes = if ev.name.is_empty() && (wrap || single_name.is_some()) {
            tally.total
        } else {
            tally.bytes.get(&ev.name).copied().unwrap_or(0)
        };
        entries.push(AddedItem {
            name,
            cid: format_cid(&cid, base),
            size: num(&ev.size),
            bytes,
        });
    }
    let root = entries
        .last()
        .map(|e| e.cid.clone())
        .ok_or_else(|| OpError::invalid("nothing to add"))?;
    Ok(AddOutput {
        root,
        entries,
        pinned: input.pin && !input.only_hash,
    })
}

// ---------------------------------------------------------------------------------------------
// files: cat, get, ls

/// Read a bounded range of a file: `stat_path` for its CID and size, `command` for the bytes.
async fn read_range(
    k: &KuboClient,
    stat_path: &str,
    command: &'static str,
    query: Query,
    offset: u64,
    want: u64,
    encoding: Encoding,
) -> Result<CatOutput, OpError> {
    let st = stat(k, stat_path).await?;
    if st.kind == "directory" {
        return Err(
            OpError::invalid(format!("{stat_path} is a directory, not a file"))
                .with("path", stat_path),
        );
    }
    let buf = if offset >= st.size || want == 0 {
        Vec::new()
    } else {
        k.bytes(command, &query)
            .await
            .map_err(|e| err(k, e))?
            .collect(want)
            .await
            .map_err(|e| err(k, e))?
    };
    let length = buf.len() as u64;
    Ok(CatOutput {
        cid: st.hash,
        content: encode_bytes(&buf, encoding),
        encoding,
        offset,
        length,
        file_size: st.size,
        truncated: offset.saturating_add(length) < st.size,
    })
}

/// `ipfs_cat`.
pub(crate) async fn cat(k: &KuboClient, input: CatInput) -> Result<CatOutput, OpError> {
    let want = input.length.unwrap_or(CAT_MAX_INLINE).min(CAT_MAX_INLINE);
    let path = ipfs_path(&input.path);
    let q = vec![
        ("arg", path.clone()),
        ("offset", input.offset.to_string()),
        ("length", want.to_string()),
    ];
    read_range(k, &path, "cat", q, input.offset, want, input.encoding).await
}

/// `ipfs_files_read`.
pub(crate) async fn files_read(
    k: &KuboClient,
    input: FilesReadInput,
) -> Result<CatOutput, OpError> {
    let path = MfsPath::parse(&input.path)?.display();
    let want = input.count.unwrap_or(CAT_MAX_INLINE).min(CAT_MAX_INLINE);
    let q = vec![
        ("arg", path.clone()),
        ("offset", input.offset.to_string()),
        ("count", want.to_string()),
    ];
    read_range(
        k,
        &path,
        "files/read",
        q,
        input.offset,
        want,
        input.encoding,
    )
    .await
}

#[derive(Deserialize)]
struct LsLink {
    #[serde(rename = "Name", default)]
    name: String,
    #[serde(rename = "Hash", default)]
    hash: String,
    #[serde(rename = "Size", default)]
    size: Value,
    #[serde(rename = "Type", default)]
    kind: Value,
    #[serde(rename = "Target", default)]
    target: String,
}

/// Kubo's `ls` entry type (UnixFS data type numbers) as the op names it.
fn ls_type(v: &Value) -> &'static str {
    match v.as_u64() {
        Some(1) | Some(5) => "directory",
        Some(0) | Some(2) => "file",
        Some(4) => "symlink",
        _ => match v.as_str() {
            Some("dir" | "directory") => "directory",
            Some("file") => "file",
            Some("symlink") => "symlink",
            _ => "unknown",
        },
    }
}

/// `ipfs_ls`.
pub(crate) async fn ls(k: &KuboClient, input: LsInput) -> Result<LsOutput, OpError> {
    let limit = input.limit.unwrap_or(DEFAULT_LIST_LIMIT);
    let cid = resolve(k, &input.path).await?;
    let q = vec![
        ("arg", ipfs_path(&input.path)),
        ("stream", "true".to_string()),
        ("resolve-type", input.resolve_type.to_string()),
        ("size", input.resolve_type.to_string()),
    ];
    let mut lines = k.ndjson("ls", &q).await.map_err(|e| err(k, e))?;
    let mut seen = 0usize;
    let mut entries = Vec::new();
    let mut more = false;
    'read: while let Some(v) = lines.next::<Value>().await.map_err(|e| err(k, e))? {
        for obj in v["Objects"].as_array().into_iter().flatten() {
            for l in obj["Links"].as_array().into_iter().flatten() {
                let l: LsLink =
                    serde_json::from_value(l.clone()).map_err(|e| decode(k, "ls", e))?;
                seen += 1;
                if seen <= input.offset {
                    continue;
                }
                if entries.len() == limit {
                    more = true;
                    break 'read;
                }
                let kind = ls_type(&l.kind);
                entries.push(LsItem {
                    name: l.name,
                    cid: l.hash,
                    size: if kind == "directory" { 0 } else { num(&l.size) },
                    kind: kind.to_string(),
                    target: Some(l.target).filter(|t| !t.is_empty()),
                });
            }
        }
    }
    Ok(LsOutput {
        cid,
        next_offset: more.then_some(input.offset + entries.len()),
        entries,
    })
}

/// `ipfs_get`: Kubo's `get` tar stream unpacked under `output`.
pub(crate) async fn get(
    k: &KuboClient,
    input: GetInput,
    cx: &OpContext,
) -> Result<GetOutput, OpError> {
    let path = ipfs_path(&input.path);
    let st = stat(k, &path).await?;
    let out = PathBuf::from(&input.output);
    if !input.overwrite && std::fs::symlink_metadata(&out).is_ok() {
        return Err(OpError::new(
            ErrorCode::AlreadyExists,
            format!("{} already exists", out.display()),
        )
        .with("path", input.output.clone()));
    }
    let body = k
        .bytes("get", &[("arg", path)])
        .await
        .map_err(|e| err(k, e))?;
    let cx = cx.clone();
    let total = st.size.max(st.cumulative_size);
    let opts = input;
    let sum = tokio::task::spawn_blocking(move || {
        let reader = body.into_blocking_read();
        unpack_tar(reader, &out, &opts, total, &cx)
    })
    .await
    .map_err(|e| OpError::new(ErrorCode::Internal, format!("worker failed: {e}")))??;
    Ok(GetOutput {
        cid: st.hash,
        output: sum.output,
        files: sum.files,
        directories: sum.directories,
        symlinks: sum.symlinks,
        bytes: sum.bytes,
    })
}

#[derive(Default)]
struct Unpacked {
    output: String,
    files: u64,
    directories: u64,
    symlinks: u64,
    bytes: u64,
}

/// The relative path of a tar entry below the archive's top entry (the first one, which becomes
/// `output`), refusing anything that could leave the destination (`..`, absolute paths, drive
/// prefixes) or that is not below the top entry. Kubo names the top entry by the CID or the last
/// path segment; js-ipfs by the whole path: both work.
fn confined(entry: &Path, top: &mut Option<Vec<std::ffi::OsString>>) -> Result<PathBuf, OpError> {
    let refuse = |why: &str| {
        OpError::new(
            ErrorCode::InvalidPath,
            format!("refusing tar entry {} ({why})", entry.display()),
        )
        .with("path", entry.display().to_string())
    };
    let mut parts = Vec::new();
    for c in entry.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_os_string()),
            Component::CurDir => {}
            _ => return Err(refuse("escapes the destination")),
        }
    }
    match top {
        None => {
            *top = Some(parts);
            Ok(PathBuf::new())
        }
        Some(t) if parts.len() >= t.len() && parts[..t.len()] == t[..] => {
            Ok(parts[t.len()..].iter().collect())
        }
        Some(_) => Err(refuse("not below the top entry")),
    }
}

/// Whether a symlink at `rel` (relative to the root) with `target` stays inside the root.
fn link_stays_inside(rel: &Path, target: &Path) -> bool {
    if target.is_absolute() {
        return false;
    }
    let mut depth: i64 = rel.components().count() as i64 - 1;
    for c in target.components() {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            _ => return false,
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

/// A failure reading the daemon's tar stream (not writing to disk).
fn tar_err(e: std::io::Error) -> OpError {
    OpError::new(
        ErrorCode::Corrupted,
        format!("the node's tar stream (/api/v0/get) is malformed or broke off: {e}"),
    )
}

fn unpack_tar(
    reader: impl Read,
    out: &Path,
    opts: &GetInput,
    total: u64,
    cx: &OpContext,
) -> Result<Unpacked, OpError> {
    let mut archive = tar::Archive::new(reader);
    let mut sum = Unpacked {
        output: opts.output.clone(),
        ..Unpacked::default()
    };
    let mut mtimes: Vec<(PathBuf, u64)> = Vec::new();
    let mut top = None;
    let entries = archive
        .entries()
        .map_err(|e| OpError::from(e).with("path", opts.output.clone()))?;
    for entry in entries {
        cx.check()?;
        let mut entry = entry.map_err(tar_err)?;
        let rel = confined(&entry.path().map_err(tar_err)?, &mut top)?;
        let dest = out.join(&rel);
        // Never write through a symlink made by an earlier entry.
        let mut cur = out.to_path_buf();
        for c in rel.parent().into_iter().flat_map(|p| p.components()) {
            cur.push(c);
            if std::fs::symlink_metadata(&cur).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(OpError::new(
                    ErrorCode::InvalidPath,
                    format!("refusing tar entry {} below a symlink", rel.display()),
                ));
            }
        }
        let header = entry.header();
        let mode = header.mode().ok();
        let mtime = header.mtime().ok();
        let kind = header.entry_type();
        if kind.is_dir() {
            match std::fs::create_dir(&dest) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && opts.overwrite => {}
                Err(e) => return Err(OpError::from(e).with("path", dest.display().to_string())),
            }
            sum.directories += 1;
        } else if kind.is_file() {
            let mut o = std::fs::OpenOptions::new();
            o.write(true);
            if opts.overwrite {
                o.create(true).truncate(true);
            } else {
                o.create_new(true);
            }
            let mut f = o
                .open(&dest)
                .map_err(|e| OpError::from(e).with("path", dest.display().to_string()))?;
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                cx.check()?;
                let n = entry.read(&mut buf).map_err(tar_err)?;
                if n == 0 {
                    break;
                }
                std::io::Write::write_all(&mut f, &buf[..n])?;
                sum.bytes += n as u64;
                cx.progress(sum.bytes, Some(total), "bytes");
            }
            f.sync_all()?;
            sum.files += 1;
        } else if kind.is_symlink() {
            let target = entry
                .link_name()
                .map_err(tar_err)?
                .ok_or_else(|| OpError::new(ErrorCode::Corrupted, "symlink entry without target"))?
                .into_owned();
            if !link_stays_inside(&rel, &target) {
                return Err(OpError::new(
                    ErrorCode::InvalidPath,
                    format!(
                        "refusing symlink {} -> {} (points outside the destination)",
                        rel.display(),
                        target.display()
                    ),
                )
                .with("path", rel.display().to_string()));
            }
            if opts.overwrite && std::fs::symlink_metadata(&dest).is_ok() {
                std::fs::remove_file(&dest)?;
            }
            std::os::unix::fs::symlink(&target, &dest)
                .map_err(|e| OpError::from(e).with("path", dest.display().to_string()))?;
            sum.symlinks += 1;
            continue;
        } else {
            return Err(OpError::new(
                ErrorCode::Unsupported,
                format!("tar entry {} has an unsupported type", rel.display()),
            ));
        }
        if opts.preserve_mode
            && let Some(m) = mode
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(m & 0o7777))?;
        }
        if opts.preserve_mtime
            && let Some(t) = mtime
        {
            mtimes.push((dest, t));
        }
    }
    // Directory times last: writing their entries would change them.
    for (p, t) in mtimes.into_iter().rev() {
        let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(t);
        let f = std::fs::File::open(&p)?;
        f.set_modified(when)?;
    }
    Ok(sum)
}

// ---------------------------------------------------------------------------------------------
// blocks

/// `ipfs_block_put`: the bytes are checked locally as on the embedded node, then stored by Kubo.
pub(crate) async fn block_put(
    k: &KuboClient,
    expected: &cid::Cid,
    codec: &str,
    hash: &str,
    data: Vec<u8>,
    pin: bool,
    allow_big_block: bool,
) -> Result<BlockInfo, OpError> {
    let mut q: Query = vec![
        ("cid-codec", codec.to_string()),
        ("mhtype", hash.to_string()),
    ];
    if pin {
        q.push(("pin", "true".into()));
    }
    if allow_big_block {
        q.push(("allow-big-block", "true".into()));
    }
    let v: Value = upload_bytes(k, "block/put", &q, data).await?;
    let cid = cid_of(&v["Key"]).ok_or_else(|| decode(k, "block/put", "no Key"))?;
    check_stored(k, "block/put", expected, &cid)?;
    Ok(BlockInfo {
        cid: expected.to_string(),
        size: num(&v["Size"]),
    })
}

/// The node must have stored the bytes under the CID computed here; a node that ignores an
/// option (codec, hash) answers another CID, which is an error, not a silent substitute.
fn check_stored(
    k: &KuboClient,
    command: &str,
    expected: &cid::Cid,
    answered: &str,
) -> Result<(), OpError> {
    if parse_cid(answered).ok().as_ref() == Some(expected) {
        return Ok(());
    }
    Err(OpError::new(
        ErrorCode::Unsupported,
        format!(
            "the node at {} stored the data as {answered}, not as {expected}: it does not honour \
             the codec or hash options of /api/v0/{command}",
            k.base_url()
        ),
    )
    .with("api", k.base_url())
    .with("expected", expected.to_string())
    .with("answered", answered))
}

/// Upload one in-memory part and decode the single JSON answer.
async fn upload_bytes(
    k: &KuboClient,
    command: &'static str,
    q: &[(&'static str, String)],
    data: Vec<u8>,
) -> Result<Value, OpError> {
    let (resp, task) = k
        .upload(command, q, None, move |w| {
            w.file("", None, PartMeta::default(), &mut &data[..], &mut |_| {})
                .map(|_| ())
        })
        .await
        .map_err(|e| err(k, e))?;
    let v = k.decode_json::<Value>(command, resp).await;
    task.finish().await.map_err(|e| err(k, e))?;
    v.map_err(|e| err(k, e))
}

/// `ipfs_block_get`.
pub(crate) async fn block_get(k: &KuboClient, cid: &str) -> Result<BlockGetOutput, OpError> {
    let data = k
        .bytes("block/get", &[("arg", cid.to_string())])
        .await
        .map_err(|e| err(k, e))?
        .collect(HARD_BLOCK_LIMIT as u64)
        .await
        .map_err(|e| err(k, e))?;
    Ok(BlockGetOutput {
        cid: cid.to_string(),
        size: data.len() as u64,
        data_base64: base64::engine::general_purpose::STANDARD.encode(&data),
    })
}

/// `ipfs_block_stat`.
pub(crate) async fn block_stat(k: &KuboClient, cid: &str) -> Result<BlockInfo, OpError> {
    let v: Value = k
        .json("block/stat", &[("arg", cid.to_string())])
        .await
        .map_err(|e| err(k, e))?;
    Ok(BlockInfo {
        cid: cid_of(&v["Key"]).unwrap_or_else(|| cid.to_string()),
        size: num(&v["Size"]),
    })
}

/// `ipfs_block_rm`: Kubo answers one line per block; the first failure is the error.
pub(crate) async fn block_rm(
    k: &KuboClient,
    cids: Vec<String>,
    force: bool,
) -> Result<BlockRmOutput, OpError> {
    let mut q: Query = cids.iter().map(|c| ("arg", c.clone())).collect();
    if force {
        q.push(("force", "true".into()));
    }
    let mut lines = k.ndjson("block/rm", &q).await.map_err(|e| err(k, e))?;
    let mut removed = Vec::new();
    let mut first_err = None;
    while let Some(v) = lines.next::<Value>().await.map_err(|e| err(k, e))? {
        let hash = cid_of(&v["Hash"]).unwrap_or_default();
        let e = text(&v["Error"]);
        if e.is_empty() {
            removed.push(hash);
        } else if first_err.is_none() {
            first_err = Some(
                OpError::new(
                    api_code(500, &e),
                    format!("cannot remove block {hash}: {e}"),
                )
                .with("cid", hash)
                .with("api", k.base_url()),
            );
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(BlockRmOutput { removed }),
    }
}

// ---------------------------------------------------------------------------------------------
// DAGs

/// `ipfs_dag_get`: the block holding the value (Kubo's `dag/resolve`), the value as dag-json,
/// and, when asked, the value in another codec.
pub(crate) async fn dag_get(k: &KuboClient, input: DagGetInput) -> Result<DagGetOutput, OpError> {
    let r: Value = k
        .json("dag/resolve", &[("arg", input.path.clone())])
        .await
        .map_err(|e| err(k, e))?;
    let cid = cid_of(&r["Cid"]).ok_or_else(|| decode(k, "dag/resolve", "no Cid"))?;
    let parsed = parse_cid(&cid).map_err(|e| decode(k, "dag/resolve", e))?;
    let cid = parsed.to_string();
    let json_bytes = k
        .bytes(
            "dag/get",
            &[
                ("arg", input.path.clone()),
                ("output-codec", "dag-json".into()),
            ],
        )
        .await
        .map_err(|e| err(k, e))?
        .collect(kubo::MAX_JSON_ANSWER)
        .await
        .map_err(|e| err(k, e))?;
    let value: Value = serde_json::from_slice(&json_bytes).map_err(|e| decode(k, "dag/get", e))?;
    let data_base64 = match &input.output_codec {
        Some(codec) => {
            // Same codec names and errors as the embedded node.
            let _: ipfs_kit_content::Codec = codec.parse()?;
            let b = k
                .bytes(
                    "dag/get",
                    &[("arg", input.path.clone()), ("output-codec", codec.clone())],
                )
                .await
                .map_err(|e| err(k, e))?
                .collect(HARD_BLOCK_LIMIT as u64 * 4)
                .await
                .map_err(|e| err(k, e))?;
            Some(base64::engine::general_purpose::STANDARD.encode(b))
        }
        None => None,
    };
    Ok(DagGetOutput {
        cid,
        codec: ipfs_kit_content::Codec::of(&parsed)
            .map(|c| c.name())
            .unwrap_or("unknown")
            .to_string(),
        value,
        data_base64,
    })
}

/// The options of `ipfs_dag_put` that travel to Kubo.
pub(crate) struct DagPutQuery {
    pub(crate) expected: cid::Cid,
    pub(crate) input_codec: String,
    pub(crate) store_codec: String,
    pub(crate) hash: String,
    pub(crate) pin: bool,
    pub(crate) allow_big_block: bool,
}

/// `ipfs_dag_put`.
pub(crate) async fn dag_put(
    k: &KuboClient,
    input: DagPutQuery,
    data: Vec<u8>,
) -> Result<DagPutOutput, OpError> {
    let mut q: Query = vec![
        ("input-codec", input.input_codec.clone()),
        ("store-codec", input.store_codec.clone()),
        ("hash", input.hash.clone()),
    ];
    if input.pin {
        q.push(("pin", "true".into()));
    }
    if input.allow_big_block {
        q.push(("allow-big-block", "true".into()));
    }
    let v = upload_bytes(k, "dag/put", &q, data).await?;
    let cid = cid_of(&v["Cid"]).ok_or_else(|| decode(k, "dag/put", "no Cid"))?;
    check_stored(k, "dag/put", &input.expected, &cid)?;
    Ok(DagPutOutput {
        cid: input.expected.to_string(),
    })
}

/// `ipfs_dag_export`: Kubo's CAR stream written to a file, then its blocks counted.
pub(crate) async fn dag_export(
    k: &KuboClient,
    input: DagExportInput,
    cx: &OpContext,
) -> Result<DagExportOutput, OpError> {
    let root = parse_cid(&input.root)?.to_string();
    let out = PathBuf::from(&input.output);
    let tmp = out.with_extension("car.partial");
    let mut body = k
        .bytes("dag/export", &[("arg", root.clone())])
        .await
        .map_err(|e| err(k, e))?;
    let written = async {
        let mut f = tokio::fs::File::create(&tmp).await?;
        let mut done = 0u64;
        while let Some(c) = body.chunk().await.map_err(|e| err(k, e))? {
            cx.check()?;
            tokio::io::AsyncWriteExt::write_all(&mut f, &c).await?;
            done += c.len() as u64;
            cx.progress(done, None, "bytes");
        }
        f.sync_all().await?;
        Ok::<_, OpError>(done)
    }
    .await;
    let bytes = match written {
        Ok(b) => b,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    let blocks = match count_car_blocks(&tmp) {
        Ok(b) => b,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    std::fs::rename(&tmp, &out)?;
    Ok(DagExportOutput {
        root,
        output: input.output,
        blocks,
        bytes,
    })
}

/// The CARv2 pragma: a CARv1-style header of `{version: 2}`.
const CAR_V2_PRAGMA: [u8; 11] = [
    0x0a, 0xa1, 0x67, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x02,
];

/// Blocks in a CAR file (v1, or the v1 payload of a v2): its length-prefixed sections after
/// the header, found by seeking (nothing is read into memory).
fn count_car_blocks(path: &Path) -> Result<u64, OpError> {
    use std::io::{Seek, SeekFrom};
    let mut f = std::io::BufReader::new(std::fs::File::open(path)?);
    let file_len = f.get_ref().metadata()?.len();
    let mut pragma = [0u8; 11];
    let (mut pos, end) = match f.read_exact(&mut pragma) {
        Ok(()) if pragma == CAR_V2_PRAGMA => {
            let mut h = [0u8; 40];
            f.read_exact(&mut h)?;
            let word = |i: usize| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&h[i..i + 8]);
                u64::from_le_bytes(b)
            };
            let (offset, size) = (word(16), word(24));
            (offset, offset.saturating_add(size).min(file_len))
        }
        _ => (0, file_len),
    };
    f.seek(SeekFrom::Start(pos))?;
    let mut sections = 0u64;
    while pos < end {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let mut b = [0u8; 1];
            f.read_exact(&mut b)?;
            pos += 1;
            v |= u64::from(b[0] & 0x7f) << shift;
            if b[0] & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 63 {
                return Err(OpError::new(
                    ErrorCode::Corrupted,
                    "CAR section length overflows",
                ));
            }
        }
        pos = pos.saturating_add(v);
        if pos > end {
            return Err(OpError::new(
                ErrorCode::Corrupted,
                "CAR ends inside a section",
            ));
        }
        f.seek(SeekFrom::Start(pos))?;
        sections += 1;
    }
    Ok(sections.saturating_sub(1))
}

/// `ipfs_dag_import`.
pub(crate) async fn dag_import(
    k: &KuboClient,
    input: DagImportInput,
    cx: &OpContext,
) -> Result<DagImportOutput, OpError> {
    for p in &input.paths {
        std::fs::metadata(p).map_err(|e| OpError::from(e).with("path", p.clone()))?;
    }
    let q: Query = vec![
        ("pin-roots", input.pin_roots.to_string()),
        ("stats", "true".into()),
    ];
    let paths = input.paths.clone();
    let pcx = cx.clone();
    let (resp, task) = k
        .upload("dag/import", &q, Some(cx.cancel_arc()), move |w| {
            let mut progress = |d: u64| pcx.progress(d, None, "bytes");
            for p in &paths {
                let mut f = std::fs::File::open(p)?;
                let abs = std::fs::canonicalize(p).ok();
                let name = Path::new(p)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                w.file(
                    &name,
                    abs.as_deref(),
                    PartMeta::default(),
                    &mut f,
                    &mut progress,
                )?;
            }
            Ok(())
        })
        .await
        .map_err(|e| err(k, e))?;
    let mut lines = k.ndjson_of("dag/import", resp);
    let mut roots = Vec::new();
    let mut blocks = None;
    let read = async {
        while let Some(v) = lines.next::<Value>().await? {
            if let Some(r) = v.get("Root") {
                let cid = cid_of(&r["Cid"]).unwrap_or_default();
                let pin_err = text(&r["PinErrorMsg"]);
                roots.push((cid, pin_err));
            }
            if let Some(s) = v.get("Stats") {
                blocks = Some(num(&s["BlockCount"]));
            }
        }
        Ok::<_, kubo::Error>(())
    }
    .await;
    task.finish().await.map_err(|e| err(k, e))?;
    read.map_err(|e| err(k, e))?;
    let mut out = Vec::new();
    for (cid, pin_err) in roots {
        if !pin_err.is_empty() {
            return Err(OpError::new(
                api_code(500, &pin_err),
                format!("cannot pin root {cid}: {pin_err}"),
            )
            .with("cid", cid));
        }
        out.push(ImportedRoot {
            cid,
            pinned: input.pin_roots,
        });
    }
    // Daemons that give no stats (js-ipfs): the blocks the CARs hold, counted here.
    let blocks = match blocks {
        Some(b) => b,
        None => {
            let mut n = 0;
            for p in &input.paths {
                n += count_car_blocks(Path::new(p)).map_err(|e| e.with("path", p.clone()))?;
            }
            n
        }
    };
    Ok(DagImportOutput { roots: out, blocks })
}

// ---------------------------------------------------------------------------------------------
// pins

fn pins_of(k: &KuboClient, command: &str, v: &Value) -> Result<PinsOutput, OpError> {
    let pins = v["Pins"]
        .as_array()
        .ok_or_else(|| decode(k, command, "no Pins"))?
        .iter()
        .filter_map(cid_of)
        .collect();
    Ok(PinsOutput { pins })
}

/// `ipfs_pin_add`.
pub(crate) async fn pin_add(k: &KuboClient, input: PinAddInput) -> Result<PinsOutput, OpError> {
    let mut q: Query = input.paths.iter().map(|p| ("arg", ipfs_path(p))).collect();
    q.push(("recursive", input.recursive.to_string()));
    if !input.name.is_empty() {
        q.push(("name", input.name.clone()));
    }
    let v: Value = k.json("pin/add", &q).await.map_err(|e| err(k, e))?;
    pins_of(k, "pin/add", &v)
}

/// `ipfs_pin_rm`.
pub(crate) async fn pin_rm(k: &KuboClient, input: PinRmInput) -> Result<PinsOutput, OpError> {
    let mut q: Query = input.paths.iter().map(|p| ("arg", ipfs_path(p))).collect();
    q.push(("recursive", input.recursive.to_string()));
    let v: Value = k.json("pin/rm", &q).await.map_err(|e| err(k, e))?;
    pins_of(k, "pin/rm", &v)
}

/// `ipfs_pin_update`.
pub(crate) async fn pin_update(
    k: &KuboClient,
    input: PinUpdateInput,
) -> Result<PinsOutput, OpError> {
    let q: Query = vec![
        ("arg", ipfs_path(&input.from)),
        ("arg", ipfs_path(&input.to)),
        ("unpin", input.unpin.to_string()),
    ];
    let v: Value = k.json("pin/update", &q).await.map_err(|e| err(k, e))?;
    pins_of(k, "pin/update", &v)
}

fn pin_type_name(t: PinType) -> &'static str {
    match t {
        PinType::All => "all",
        PinType::Direct => "direct",
        PinType::Indirect => "indirect",
        PinType::Recursive => "recursive",
    }
}

/// `ipfs_pin_ls`: given paths as one answer, the whole list streamed and cut at `limit`.
pub(crate) async fn pin_ls(k: &KuboClient, input: PinLsInput) -> Result<PinLsOutput, OpError> {
    let limit = input.limit.unwrap_or(DEFAULT_LIST_LIMIT);
    let kind = pin_type_name(input.kind).to_string();
    if !input.paths.is_empty() {
        let mut q: Query = input.paths.iter().map(|p| ("arg", ipfs_path(p))).collect();
        q.push(("type", kind));
        let v: Value = k.json("pin/ls", &q).await.map_err(|e| err(k, e))?;
        let keys = v["Keys"]
            .as_object()
            .ok_or_else(|| decode(k, "pin/ls", "no Keys"))?;
        let pins = keys
            .iter()
            .map(|(cid, p)| PinItem {
                cid: cid.clone(),
                kind: text(&p["Type"]),
                name: text(&p["Name"]),
            })
            .collect();
        return Ok(PinLsOutput {
            pins,
            truncated: false,
        });
    }
    let q: Query = vec![
        ("type", kind),
        ("stream", "true".into()),
        ("names", "true".into()),
    ];
    let mut lines = k.ndjson("pin/ls", &q).await.map_err(|e| err(k, e))?;
    let mut pins = Vec::new();
    let mut truncated = false;
    while let Some(v) = lines.next::<Value>().await.map_err(|e| err(k, e))? {
        if pins.len() == limit {
            truncated = true;
            break;
        }
        pins.push(PinItem {
            cid: cid_of(&v["Cid"]).unwrap_or_default(),
            kind: text(&v["Type"]),
            name: text(&v["Name"]),
        });
    }
    Ok(PinLsOutput { pins, truncated })
}

/// `ipfs_pin_verify`.
pub(crate) async fn pin_verify(
    k: &KuboClient,
    input: PinVerifyInput,
) -> Result<PinVerifyOutput, OpError> {
    let q: Query = vec![("verbose", "true".into())];
    let mut lines = k.ndjson("pin/verify", &q).await.map_err(|e| err(k, e))?;
    let mut ok = true;
    let mut pins = Vec::new();
    while let Some(v) = lines.next::<Value>().await.map_err(|e| err(k, e))? {
        let good = v["Ok"].as_bool().unwrap_or(false);
        ok &= good;
        if good && !input.verbose {
            continue;
        }
        pins.push(PinCheck {
            cid: cid_of(&v["Cid"]).unwrap_or_default(),
            ok: good,
            bad_nodes: v["BadNodes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|b| BadBlock {
                    cid: cid_of(&b["Cid"]).unwrap_or_default(),
                    error: text(&b["Err"]),
                })
                .collect(),
        });
    }
    Ok(PinVerifyOutput { ok, pins })
}

// ---------------------------------------------------------------------------------------------
// repo, refs

#[derive(Deserialize)]
struct RefLine {
    #[serde(rename = "Ref", default)]
    r: String,
    #[serde(rename = "Err", default)]
    e: String,
}

async fn refs_of(
    k: &KuboClient,
    command: &'static str,
    q: &[(&'static str, String)],
    limit: usize,
) -> Result<RefsOutput, OpError> {
    let mut lines = k.ndjson(command, q).await.map_err(|e| err(k, e))?;
    let mut refs = Vec::new();
    let mut truncated = false;
    while let Some(l) = lines.next::<RefLine>().await.map_err(|e| err(k, e))? {
        if !l.e.is_empty() {
            return Err(OpError::new(api_code(500, &l.e), l.e).with("api", k.base_url()));
        }
        if refs.len() == limit {
            truncated = true;
            break;
        }
        refs.push(l.r);
    }
    Ok(RefsOutput { refs, truncated })
}

/// `ipfs_refs`.
pub(crate) async fn refs(k: &KuboClient, input: RefsInput) -> Result<RefsOutput, OpError> {
    let limit = input.limit.unwrap_or(DEFAULT_LIST_LIMIT);
    let mut q: Query = vec![
        ("arg", ipfs_path(&input.path)),
        ("recursive", input.recursive.to_string()),
        ("unique", input.unique.to_string()),
    ];
    if let Some(d) = input.max_depth {
        q.push(("max-depth", d.to_string()));
    }
    refs_of(k, "refs", &q, limit).await
}

/// `ipfs_refs_local`.
pub(crate) async fn refs_local(
    k: &KuboClient,
    input: RefsLocalInput,
) -> Result<RefsOutput, OpError> {
    let limit = input.limit.unwrap_or(DEFAULT_LIST_LIMIT);
    refs_of(k, "refs/local", &[], limit).await
}

/// Kubo's `repo/stat`.
async fn repo_stat_raw(k: &KuboClient) -> Result<RepoStatOutput, OpError> {
    let v: Value = k.json("repo/stat", &[]).await.map_err(|e| err(k, e))?;
    Ok(RepoStatOutput {
        repo_size: num(&v["RepoSize"]),
        storage_max: num(&v["StorageMax"]),
        num_objects: num(&v["NumObjects"]),
        repo_path: text(&v["RepoPath"]),
        version: match &v["Version"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
    })
}

/// `ipfs_repo_stat`.
pub(crate) async fn repo_stat(k: &KuboClient) -> Result<RepoStatOutput, OpError> {
    repo_stat_raw(k).await
}

/// `ipfs_repo_gc`: Kubo's `repo/gc` stream; bytes freed and blocks kept come from `repo/stat`
/// before and after (Kubo reports neither).
pub(crate) async fn repo_gc(k: &KuboClient, cx: &OpContext) -> Result<GcOutput, OpError> {
    let before = repo_stat_raw(k).await?;
    let mut lines = k
        .ndjson("repo/gc", &[("stream-errors", "true".into())])
        .await
        .map_err(|e| err(k, e))?;
    let mut removed = Vec::new();
    let mut removed_count = 0u64;
    let mut cancelled = false;
    while let Some(v) = lines.next::<Value>().await.map_err(|e| err(k, e))? {
        if cx.is_cancelled() {
            // Dropping the answer closes the request, which stops Kubo's sweep.
            cancelled = true;
            break;
        }
        let e = text(&v["Error"]);
        if !e.is_empty() {
            return Err(OpError::new(
                ErrorCode::Corrupted,
                format!("garbage collection failed: {e}"),
            )
            .with("api", k.base_url()));
        }
        if let Some(c) = cid_of(&v["Key"]) {
            removed_count += 1;
            if removed.len() < GC_LIST_LIMIT {
                removed.push(c);
            }
            cx.progress(removed_count, None, "blocks removed");
        }
    }
    drop(lines);
    let after = repo_stat_raw(k).await?;
    Ok(GcOutput {
        removed,
        removed_count,
        bytes_freed: before.repo_size.saturating_sub(after.repo_size),
        kept: after.num_objects,
        cancelled,
    })
}

/// `ipfs_repo_verify`: Kubo's `repo/verify` stream of `{"Msg","Progress"}` lines.
pub(crate) async fn repo_verify(
    k: &KuboClient,
    cx: &OpContext,
) -> Result<RepoVerifyOutput, OpError> {
    let mut lines = k.ndjson("repo/verify", &[]).await.map_err(|e| err(k, e))?;
    let mut checked = 0u64;
    let mut corrupted = Vec::new();
    loop {
        let v = match lines.next::<Value>().await {
            Ok(Some(v)) => v,
            Ok(None) => break,
            // Kubo ends a run with corrupt blocks with this error, after listing them.
            Err(kubo::Error::Api { message, .. }) if message.contains("some blocks") => break,
            Err(e) => return Err(err(k, e)),
        };
        cx.check()?;
        let p = num(&v["Progress"]);
        if p > 0 {
            checked = checked.max(p);
            cx.progress(checked, None, "blocks");
        }
        let msg = text(&v["Msg"]);
        if msg.is_empty() || msg.starts_with("verify complete") {
            continue;
        }
        let cid = msg
            .split_whitespace()
            .find(|w| parse_cid(w.trim_end_matches([':', ','])).is_ok())
            .map(|w| w.trim_end_matches([':', ',']).to_string())
            .unwrap_or_default();
        corrupted.push(BadBlock { cid, error: msg });
    }
    Ok(RepoVerifyOutput {
        ok: corrupted.is_empty(),
        checked,
        corrupted,
    })
}

/// `ipfs_version`: ipfs-kit's version and the external node's.
pub(crate) async fn version(k: &KuboClient) -> Result<VersionOutput, OpError> {
    let v: Value = k.json("version", &[]).await.map_err(|e| err(k, e))?;
    Ok(VersionOutput {
        version: env!("CARGO_PKG_VERSION").to_string(),
        node: "external".to_string(),
        system: format!("{}/{}", std::env::consts::ARCH, std::env::consts::OS),
        node_version: Some(text(&v["Version"])),
        api: Some(k.base_url().to_string()),
    })
}

// ---------------------------------------------------------------------------------------------
// MFS

/// The MFS root's CID after a change.
async fn mfs_root(k: &KuboClient) -> Result<String, OpError> {
    Ok(stat(k, "/").await?.hash)
}

fn changed(path: String, root: String) -> FilesChanged {
    FilesChanged { path, root }
}

/// `ipfs_files_mkdir`.
pub(crate) async fn files_mkdir(
    k: &KuboClient,
    input: FilesMkdirInput,
) -> Result<FilesChanged, OpError> {
    let path = MfsPath::parse(&input.path)?.display();
    crate::ops::check_cid_version(input.cid_version)?;
    let q: Query = vec![
        ("arg", path.clone()),
        ("parents", input.parents.to_string()),
        ("cid-version", input.cid_version.to_string()),
    ];
    k.call("files/mkdir", &q).await.map_err(|e| err(k, e))?;
    Ok(changed(path, mfs_root(k).await?))
}

/// `ipfs_files_ls`.
pub(crate) async fn files_ls(
    k: &KuboClient,
    input: FilesLsInput,
) -> Result<FilesLsOutput, OpError> {
    let path = MfsPath::parse(&input.path)?.display();
    let limit = input.limit.unwrap_or(DEFAULT_LIST_LIMIT);
    let q: Query = vec![("arg", path), ("long", input.long.to_string())];
    let v: Value = k.json("files/ls", &q).await.map_err(|e| err(k, e))?;
    let all = v["Entries"].as_array().cloned().unwrap_or_default();
    let mut entries = Vec::new();
    for e in all.iter().skip(input.offset).take(limit) {
        let kind = match &e["Type"] {
            Value::String(s) => u8::from(s == "directory" || s == "dir"),
            other => u8::from(other.as_u64() == Some(1)),
        };
        entries.push(FilesLsEntry {
            name: text(&e["Name"]),
            kind: input.long.then_some(kind),
            size: input
                .long
                .then(|| if kind == 1 { 0 } else { num(&e["Size"]) }),
            hash: input.long.then(|| cid_of(&e["Hash"]).unwrap_or_default()),
        });
    }
    let next = input.offset + entries.len();
    Ok(FilesLsOutput {
        entries,
        next_offset: (next < all.len()).then_some(next),
    })
}

/// `ipfs_files_stat`.
pub(crate) async fn files_stat(
    k: &KuboClient,
    input: FilesStatInput,
) -> Result<FilesStatOutput, OpError> {
    let path = MfsPath::parse(&input.path)?.display();
    let st = stat(k, &path).await?;
    Ok(FilesStatOutput {
        hash: st.hash,
        size: if st.kind == "directory" { 0 } else { st.size },
        cumulative_size: st.cumulative_size,
        blocks: st.blocks as usize,
        kind: st.kind,
    })
}

/// `ipfs_files_write`: the bytes uploaded as one part, then the file's new CID and size.
pub(crate) async fn files_write(
    k: &KuboClient,
    input: FilesWriteInput,
    data: InputStream,
    cx: &OpContext,
) -> Result<FilesWriteOutput, OpError> {
    let path = MfsPath::parse_entry(&input.path, "write to")?.display();
    let mut q: Query = vec![
        ("arg", path.clone()),
        ("offset", input.offset.to_string()),
        ("create", input.create.to_string()),
        ("truncate", input.truncate.to_string()),
        ("parents", input.parents.to_string()),
    ];
    if let Some(v) = input.cid_version {
        q.push(("cid-version", crate::ops::check_cid_version(v)?.to_string()));
    }
    if let Some(h) = &input.hash {
        q.push(("hash", h.clone()));
    }
    if let Some(r) = input.raw_leaves {
        q.push(("raw-leaves", r.to_string()));
    }
    let written = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let count = std::sync::Arc::clone(&written);
    let pcx = cx.clone();
    let (resp, task) = k
        .upload("files/write", &q, Some(cx.cancel_arc()), move |w| {
            let mut data = data;
            let mut progress = |d: u64| pcx.progress(d, None, "bytes");
            let n = w.file("", None, PartMeta::default(), &mut data, &mut progress)?;
            count.store(n, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        })
        .await
        .map_err(|e| err(k, e))?;
    let answered = k
        .bytes_of("files/write", resp)
        .collect(kubo::MAX_JSON_ANSWER)
        .await;
    task.finish().await.map_err(|e| err(k, e))?;
    answered.map_err(|e| err(k, e))?;
    let st = stat(k, &path).await?;
    Ok(FilesWriteOutput {
        path,
        cid: st.hash,
        size: st.size,
        written: written.load(std::sync::atomic::Ordering::Relaxed),
        root: mfs_root(k).await?,
    })
}

/// `ipfs_files_rm`.
pub(crate) async fn files_rm(k: &KuboClient, input: FilesRmInput) -> Result<FilesChanged, OpError> {
    let path = MfsPath::parse_entry(&input.path, "remove")?.display();
    let q: Query = vec![
        ("arg", path.clone()),
        ("recursive", input.recursive.to_string()),
        ("force", input.force.to_string()),
    ];
    k.call("files/rm", &q).await.map_err(|e| err(k, e))?;
    Ok(changed(path, mfs_root(k).await?))
}

/// `ipfs_files_cp`.
pub(crate) async fn files_cp(k: &KuboClient, input: FilesCpInput) -> Result<FilesChanged, OpError> {
    let to = MfsPath::parse(&input.to)?.display();
    if !input.from.starts_with("/ipfs/") {
        MfsPath::parse(&input.from)?;
    }
    let q: Query = vec![
        ("arg", input.from.clone()),
        ("arg", to.clone()),
        ("parents", input.parents.to_string()),
    ];
    k.call("files/cp", &q).await.map_err(|e| err(k, e))?;
    Ok(changed(to, mfs_root(k).await?))
}

/// `ipfs_files_mv`: an existing directory `to` receives the entry, as on the embedded node.
pub(crate) async fn files_mv(k: &KuboClient, input: FilesMvInput) -> Result<FilesChanged, OpError> {
    let from = MfsPath::parse(&input.from)?;
    let to = MfsPath::parse(&input.to)?;
    let Some((_, name)) = from.split() else {
        return Err(OpError::new(
            ErrorCode::InvalidPath,
            "cannot move the MFS root /",
        ));
    };
    let name = name.to_string();
    let mut dest = to.display();
    match stat(k, &to.display()).await {
        Ok(st) if st.kind == "directory" => {
            dest = if to.is_root() {
                format!("/{name}")
            } else {
                format!("{}/{name}", to.display())
            };
        }
        Ok(_) => {}
        Err(e) if e.code == ErrorCode::NotFound => {}
        Err(e) => return Err(e),
    }
    let q: Query = vec![("arg", from.display()), ("arg", to.display())];
    k.call("files/mv", &q).await.map_err(|e| err(k, e))?;
    Ok(changed(dest, mfs_root(k).await?))
}

/// `ipfs_files_flush`.
pub(crate) async fn files_flush(
    k: &KuboClient,
    input: FilesFlushInput,
) -> Result<FilesFlushOutput, OpError> {
    let path = MfsPath::parse(&input.path)?.display();
    let v: Value = k
        .json("files/flush", &[("arg", path.clone())])
        .await
        .map_err(|e| err(k, e))?;
    let cid = match cid_of(&v["Cid"]) {
        Some(c) if !c.is_empty() => c,
        // Older daemons answer nothing: ask for the CID.
        _ => stat(k, &path).await?.hash,
    };
    Ok(FilesFlushOutput { cid })
}

/// `ipfs_files_chcid`.
pub(crate) async fn files_chcid(
    k: &KuboClient,
    input: FilesChcidInput,
) -> Result<FilesChanged, OpError> {
    let path = MfsPath::parse(&input.path)?.display();
    crate::ops::check_cid_version(input.cid_version)?;
    let q: Query = vec![
        ("arg", path.clone()),
        ("cid-version", input.cid_version.to_string()),
    ];
    k.call("files/chcid", &q).await.map_err(|e| err(k, e))?;
    Ok(changed(path, mfs_root(k).await?))
}
