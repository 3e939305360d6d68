//! The endpoints: Kubo's options and arguments per command, each translated into a catalogue
//! operation or a byte stream, and the output into Kubo's JSON field names.

use std::future::Future;
use std::io::Write;
use std::pin::Pin;

use axum::response::{IntoResponse, Response};
use base64::Engine;
use ipfs_kit_content::{BlockSink, export};
use ipfs_kit_ops::{Kit, OpContext, OpError, stream};
use ipfs_kit_repo::{PinFilter, PinKind, RefsOptions};
use serde_json::{Value, json};

use super::Call;
use super::args::{ArgSpec, Kind, Opt};
use super::body;
use super::reply::{self, ChunkWriter, RpcError, StreamKind};

type Reply = Result<Response, RpcError>;
type Run = fn(Call) -> Pin<Box<dyn Future<Output = Response> + Send>>;

/// One endpoint.
pub(crate) struct Cmd {
    pub(crate) opts: &'static [Opt],
    pub(crate) args: ArgSpec,
    pub(crate) run: Run,
}

macro_rules! cmd {
    ($opts:expr, $names:expr, $required:expr, $variadic:expr, $f:ident) => {
        Cmd {
            opts: $opts,
            args: ArgSpec {
                names: $names,
                required: $required,
                variadic: $variadic,
            },
            run: |c| {
                Box::pin(async move {
                    match $f(c).await {
                        Ok(r) => r,
                        Err(e) => e.into_response(),
                    }
                })
            },
        }
    };
}

use Kind::{Bool, Int, Str, Uint};

const FAST_PROVIDE: [Opt; 3] = [
    Opt(&["fast-provide-root"], Bool),
    Opt(&["fast-provide-dag"], Bool),
    Opt(&["fast-provide-wait"], Bool),
];

const ADD_OPTS: &[Opt] = &[
    Opt(&["recursive", "r"], Bool),
    Opt(&["dereference-args"], Bool),
    Opt(&["stdin-name"], Str),
    Opt(&["hidden", "H"], Bool),
    Opt(&["ignore"], Str),
    Opt(&["ignore-rules-path"], Str),
    Opt(&["empty-dirs", "E"], Bool),
    Opt(&["dereference-symlinks"], Bool),
    Opt(&["quiet", "q"], Bool),
    Opt(&["quieter", "Q"], Bool),
    Opt(&["silent"], Bool),
    Opt(&["progress", "p"], Bool),
    Opt(&["only-hash", "n"], Bool),
    Opt(&["wrap-with-directory", "w"], Bool),
    Opt(&["pin"], Bool),
    Opt(&["pin-name"], Str),
    Opt(&["to-files"], Str),
    Opt(&["cid-version"], Int),
    Opt(&["hash"], Str),
    Opt(&["raw-leaves"], Bool),
    Opt(&["chunker", "s"], Str),
    Opt(&["trickle", "t"], Bool),
    Opt(&["max-file-links"], Int),
    Opt(&["max-directory-links"], Int),
    Opt(&["max-hamt-fanout"], Int),
    Opt(&["inline"], Bool),
    Opt(&["inline-limit"], Int),
    Opt(&["nocopy"], Bool),
    Opt(&["fscache"], Bool),
    Opt(&["preserve-mode"], Bool),
    Opt(&["preserve-mtime"], Bool),
    Opt(&["mode"], Uint),
    Opt(&["mtime"], Int),
    Opt(&["mtime-nsecs"], Uint),
    FAST_PROVIDE[0],
    FAST_PROVIDE[1],
    FAST_PROVIDE[2],
];

const NONE: &[&str] = &[];
const PATHS: &[&str] = &["ipfs-path"];

static ADD: Cmd = cmd!(ADD_OPTS, &["path"], 0, true, add);
static CAT: Cmd = cmd!(
    &[
        Opt(&["offset", "o"], Int),
        Opt(&["length", "l"], Int),
        Opt(&["progress", "p"], Bool)
    ],
    PATHS,
    1,
    true,
    cat
);
static GET: Cmd = cmd!(
    &[
        Opt(&["output", "o"], Str),
        Opt(&["archive", "a"], Bool),
        Opt(&["compress", "C"], Bool),
        Opt(&["compression-level", "l"], Int),
        Opt(&["progress", "p"], Bool)
    ],
    PATHS,
    1,
    false,
    get
);
static LS: Cmd = cmd!(
    &[
        Opt(&["headers", "v"], Bool),
        Opt(&["resolve-type"], Bool),
        Opt(&["size"], Bool),
        Opt(&["stream", "s"], Bool),
        Opt(&["long", "l"], Bool)
    ],
    PATHS,
    1,
    true,
    ls
);
static PIN_ADD: Cmd = cmd!(
    &[
        Opt(&["recursive", "r"], Bool),
        Opt(&["pin-name", "n"], Str),
        Opt(&["progress"], Bool),
        // kubo-rpc-client sends the pin name as `name`.
        Opt(&["name"], Str),
        FAST_PROVIDE[0],
        FAST_PROVIDE[1],
        FAST_PROVIDE[2]
    ],
    PATHS,
    1,
    true,
    pin_add
);
static PIN_RM: Cmd = cmd!(&[Opt(&["recursive", "r"], Bool)], PATHS, 1, true, pin_rm);
static PIN_LS: Cmd = cmd!(
    &[
        Opt(&["type", "t"], Str),
        Opt(&["quiet", "q"], Bool),
        Opt(&["pin-name", "n"], Str),
        Opt(&["stream", "s"], Bool),
        Opt(&["names"], Bool)
    ],
    PATHS,
    0,
    true,
    pin_ls
);
static PIN_UPDATE: Cmd = cmd!(
    &[
        Opt(&["unpin"], Bool),
        FAST_PROVIDE[0],
        FAST_PROVIDE[1],
        FAST_PROVIDE[2]
    ],
    &["from-path", "to-path"],
    2,
    false,
    pin_update
);
static PIN_VERIFY: Cmd = cmd!(
    &[Opt(&["verbose"], Bool), Opt(&["quiet", "q"], Bool)],
    NONE,
    0,
    false,
    pin_verify
);
static BLOCK_PUT: Cmd = cmd!(
    &[
        Opt(&["cid-codec"], Str),
        Opt(&["mhtype"], Str),
        Opt(&["mhlen"], Int),
        Opt(&["pin"], Bool),
        Opt(&["allow-big-block"], Bool),
        Opt(&["format", "f"], Str)
    ],
    &["data"],
    0,
    true,
    block_put
);
static BLOCK_GET: Cmd = cmd!(&[], &["cid"], 1, false, block_get);
static BLOCK_STAT: Cmd = cmd!(&[], &["cid"], 1, false, block_stat);
static BLOCK_RM: Cmd = cmd!(
    &[Opt(&["force", "f"], Bool), Opt(&["quiet", "q"], Bool)],
    &["cid"],
    1,
    true,
    block_rm
);
static DAG_PUT: Cmd = cmd!(
    &[
        Opt(&["store-codec"], Str),
        Opt(&["input-codec"], Str),
        Opt(&["pin"], Bool),
        Opt(&["hash"], Str),
        Opt(&["allow-big-block"], Bool)
    ],
    &["object data"],
    0,
    true,
    dag_put
);
static DAG_GET: Cmd = cmd!(&[Opt(&["output-codec"], Str)], &["ref"], 1, false, dag_get);
static DAG_RESOLVE: Cmd = cmd!(&[], &["ref"], 1, false, dag_resolve);
static DAG_IMPORT: Cmd = cmd!(
    &[
        Opt(&["pin-roots"], Bool),
        Opt(&["local-only"], Bool),
        Opt(&["silent"], Bool),
        Opt(&["stats"], Bool),
        Opt(&["allow-big-block"], Bool),
        FAST_PROVIDE[0],
        FAST_PROVIDE[1],
        FAST_PROVIDE[2]
    ],
    &["path"],
    0,
    true,
    dag_import
);
static DAG_EXPORT: Cmd = cmd!(
    &[Opt(&["progress", "p"], Bool), Opt(&["local-only"], Bool)],
    &["root"],
    1,
    false,
    dag_export
);
static DAG_STAT: Cmd = cmd!(
    &[Opt(&["progress", "p"], Bool)],
    &["root"],
    1,
    true,
    dag_stat
);
static REFS: Cmd = cmd!(
    &[
        Opt(&["format"], Str),
        Opt(&["edges", "e"], Bool),
        Opt(&["unique", "u"], Bool),
        Opt(&["recursive", "r"], Bool),
        Opt(&["max-depth"], Int)
    ],
    PATHS,
    1,
    true,
    refs
);
static REFS_LOCAL: Cmd = cmd!(&[], NONE, 0, false, refs_local);
static REPO_STAT: Cmd = cmd!(
    &[Opt(&["size-only", "s"], Bool), Opt(&["human", "H"], Bool)],
    NONE,
    0,
    false,
    repo_stat
);
static REPO_GC: Cmd = cmd!(
    &[
        Opt(&["stream-errors"], Bool),
        Opt(&["quiet", "q"], Bool),
        Opt(&["silent"], Bool)
    ],
    NONE,
    0,
    false,
    repo_gc
);
static REPO_VERIFY: Cmd = cmd!(
    &[
        Opt(&["drop"], Bool),
        Opt(&["heal"], Bool),
        Opt(&["heal-timeout"], Str)
    ],
    NONE,
    0,
    false,
    repo_verify
);
static FILES_MKDIR: Cmd = cmd!(
    &[
        Opt(&["parents", "p"], Bool),
        Opt(&["cid-version", "cid-ver"], Int),
        Opt(&["hash"], Str),
        Opt(&["flush", "f"], Bool)
    ],
    &["path"],
    1,
    false,
    files_mkdir
);
static FILES_LS: Cmd = cmd!(
    &[Opt(&["long", "l"], Bool), Opt(&["U"], Bool)],
    &["path"],
    0,
    false,
    files_ls
);
static FILES_STAT: Cmd = cmd!(
    &[
        Opt(&["format"], Str),
        Opt(&["hash"], Bool),
        Opt(&["size"], Bool),
        Opt(&["with-local"], Bool)
    ],
    &["path"],
    1,
    false,
    files_stat
);
static FILES_READ: Cmd = cmd!(
    &[Opt(&["offset", "o"], Int), Opt(&["count", "n"], Int)],
    &["path"],
    1,
    false,
    files_read
);
static FILES_WRITE: Cmd = cmd!(
    &[
        Opt(&["offset", "o"], Int),
        Opt(&["create", "e"], Bool),
        Opt(&["parents", "p"], Bool),
        Opt(&["truncate", "t"], Bool),
        Opt(&["count", "n"], Int),
        Opt(&["raw-leaves"], Bool),
        Opt(&["cid-version", "cid-ver"], Int),
        Opt(&["hash"], Str),
        Opt(&["flush", "f"], Bool)
    ],
    &["path"],
    1,
    false,
    files_write
);
static FILES_CP: Cmd = cmd!(
    &[
        Opt(&["parents", "p"], Bool),
        Opt(&["force"], Bool),
        Opt(&["flush", "f"], Bool)
    ],
    &["source", "dest"],
    2,
    false,
    files_cp
);
static FILES_MV: Cmd = cmd!(
    &[Opt(&["flush", "f"], Bool)],
    &["source", "dest"],
    2,
    false,
    files_mv
);
static FILES_RM: Cmd = cmd!(
    &[
        Opt(&["recursive", "r"], Bool),
        Opt(&["force"], Bool),
        Opt(&["flush", "f"], Bool)
    ],
    &["path"],
    1,
    true,
    files_rm
);
static FILES_FLUSH: Cmd = cmd!(&[], &["path"], 0, false, files_flush);
static FILES_CHCID: Cmd = cmd!(
    &[Opt(&["cid-version", "cid-ver"], Int), Opt(&["hash"], Str)],
    &["path"],
    0,
    false,
    files_chcid
);
static ID: Cmd = cmd!(
    &[Opt(&["format", "f"], Str), Opt(&["peerid-base"], Str)],
    &["peerid"],
    0,
    false,
    id
);
static VERSION: Cmd = cmd!(
    &[
        Opt(&["number", "n"], Bool),
        Opt(&["commit"], Bool),
        Opt(&["repo"], Bool),
        Opt(&["all"], Bool)
    ],
    NONE,
    0,
    false,
    version
);
static KEY_GEN: Cmd = cmd!(
    &[
        Opt(&["type", "t"], Str),
        Opt(&["size", "s"], Int),
        Opt(&["ipns-base"], Str)
    ],
    &["name"],
    1,
    false,
    key_gen
);
static KEY_LS: Cmd = cmd!(
    &[Opt(&["l"], Bool), Opt(&["ipns-base"], Str)],
    NONE,
    0,
    false,
    key_ls
);
static KEY_RM: Cmd = cmd!(
    &[Opt(&["l"], Bool), Opt(&["ipns-base"], Str)],
    &["name"],
    1,
    true,
    key_rm
);
static NAME_PUBLISH: Cmd = cmd!(
    &[
        Opt(&["key", "k"], Str),
        Opt(&["resolve"], Bool),
        Opt(&["lifetime", "t"], Str),
        Opt(&["ttl"], Str),
        Opt(&["quieter", "Q"], Bool),
        Opt(&["v1compat"], Bool),
        Opt(&["allow-offline"], Bool),
        Opt(&["allow-delegated"], Bool),
        Opt(&["sequence"], Uint),
        Opt(&["ipns-base"], Str)
    ],
    &["ipfs-path"],
    1,
    false,
    name_publish
);
static NAME_RESOLVE: Cmd = cmd!(
    &[
        Opt(&["recursive", "r"], Bool),
        Opt(&["nocache", "n"], Bool),
        Opt(&["dht-record-count", "dhtrc"], Uint),
        Opt(&["dht-timeout", "dhtt"], Str),
        Opt(&["stream", "s"], Bool)
    ],
    &["name"],
    0,
    false,
    name_resolve
);
static CID_FORMAT: Cmd = cmd!(
    &[
        Opt(&["f"], Str),
        Opt(&["v"], Str),
        Opt(&["mc"], Str),
        Opt(&["b"], Str)
    ],
    &["cid"],
    1,
    true,
    cid_format
);
static CID_BASE32: Cmd = cmd!(&[], &["cid"], 1, true, cid_base32);
static CID_BASES: Cmd = cmd!(
    &[Opt(&["prefix"], Bool), Opt(&["numeric"], Bool)],
    NONE,
    0,
    false,
    cid_bases
);
static CID_CODECS: Cmd = cmd!(
    &[Opt(&["numeric", "n"], Bool), Opt(&["supported", "s"], Bool)],
    NONE,
    0,
    false,
    cid_codecs
);
static CID_HASHES: Cmd = cmd!(
    &[Opt(&["numeric"], Bool), Opt(&["supported"], Bool)],
    NONE,
    0,
    false,
    cid_hashes
);
static CONFIG_SHOW: Cmd = cmd!(&[], NONE, 0, false, config_show);
static SHUTDOWN: Cmd = cmd!(&[], NONE, 0, false, shutdown);

/// The endpoint at `path` (below `/api/v0/`).
pub(crate) fn find(path: &str) -> Option<&'static Cmd> {
    Some(match path {
        "add" => &ADD,
        "cat" => &CAT,
        "get" => &GET,
        "ls" => &LS,
        "pin/add" => &PIN_ADD,
        "pin/rm" => &PIN_RM,
        "pin/ls" => &PIN_LS,
        "pin/update" => &PIN_UPDATE,
        "pin/verify" => &PIN_VERIFY,
        "block/put" => &BLOCK_PUT,
        "block/get" => &BLOCK_GET,
        "block/stat" => &BLOCK_STAT,
        "block/rm" => &BLOCK_RM,
        "dag/put" => &DAG_PUT,
        "dag/get" => &DAG_GET,
        "dag/resolve" => &DAG_RESOLVE,
        "dag/import" => &DAG_IMPORT,
        "dag/export" => &DAG_EXPORT,
        "dag/stat" => &DAG_STAT,
        "refs" => &REFS,
        "refs/local" | "repo/ls" => &REFS_LOCAL,
        "repo/stat" | "stats/repo" => &REPO_STAT,
        "repo/gc" => &REPO_GC,
        "repo/verify" => &REPO_VERIFY,
        "files/mkdir" => &FILES_MKDIR,
        "files/ls" => &FILES_LS,
        "files/stat" => &FILES_STAT,
        "files/read" => &FILES_READ,
        "files/write" => &FILES_WRITE,
        "files/cp" => &FILES_CP,
        "files/mv" => &FILES_MV,
        "files/rm" => &FILES_RM,
        "files/flush" => &FILES_FLUSH,
        "files/chcid" => &FILES_CHCID,
        "id" => &ID,
        "version" => &VERSION,
        "key/gen" => &KEY_GEN,
        "key/list" | "key/ls" => &KEY_LS,
        "key/rm" => &KEY_RM,
        "name/publish" => &NAME_PUBLISH,
        "name/resolve" => &NAME_RESOLVE,
        "cid/format" => &CID_FORMAT,
        "cid/base32" => &CID_BASE32,
        "cid/bases" => &CID_BASES,
        "cid/codecs" => &CID_CODECS,
        "cid/hashes" => &CID_HASHES,
        "config/show" => &CONFIG_SHOW,
        "shutdown" => &SHUTDOWN,
        _ => return None,
    })
}

// ---- helpers ----

/// Run a catalogue operation; a missing one is an error naming it.
async fn op(c: &Call, name: &str, input: Value) -> Result<Value, RpcError> {
    let Some(op) = c.state.catalogue.get(name) else {
        return Err(RpcError::normal(format!(
            "this node has no operation {name} (not built into this version of ipfs-kit)"
        )));
    };
    Ok(op.call(&c.state.kit, input, &c.cx).await?)
}

fn s(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

fn u(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_default()
}

fn cid_link(cid: &str) -> Value {
    json!({ "/": cid })
}

/// Run `f` on a worker thread writing into a streamed response.
async fn blocking_stream<F>(c: &Call, kind: StreamKind, length: Option<u64>, f: F) -> Response
where
    F: FnOnce(&Kit, &mut ChunkWriter, &OpContext) -> Result<(), RpcError> + Send + 'static,
{
    let (mut w, rx) = reply::channel();
    let kit = c.state.kit.clone();
    let cx = c.cx.clone();
    tokio::task::spawn_blocking(move || {
        let r = f(&kit, &mut w, &cx);
        w.finish_blocking(r);
    });
    reply::stream_response(kind, rx, c.cx.clone(), length).await
}

fn io_err(e: std::io::Error) -> RpcError {
    RpcError::normal(e.to_string())
}

/// The file arguments of a request (`file argument … is required` without a multipart body).
fn parts(c: &Call, what: &str) -> Result<body::PartFeed, RpcError> {
    let b = take_body(c);
    body::start(&c.headers, b)?
        .ok_or_else(|| RpcError::client(format!("file argument '{what}' is required")))
}

fn take_body(c: &Call) -> axum::body::Body {
    c.body
        .lock()
        .ok()
        .and_then(|mut b| b.take())
        .unwrap_or_default()
}

fn no_hash_but_sha256(c: &Call) -> Result<(), RpcError> {
    match c.args.str("hash") {
        None | Some("sha2-256") => Ok(()),
        Some(h) => Err(RpcError::normal(format!(
            "hash function {h:?} is not supported for MFS here (only sha2-256)"
        ))),
    }
}

// ---- content ----

async fn add(c: Call) -> Reply {
    let b = take_body(&c);
    Ok(super::add::add(c.state.kit.clone(), c.args, c.headers, b, c.cx).await)
}

async fn cat(c: Call) -> Reply {
    let offset = c.args.int("offset").unwrap_or(0);
    if offset < 0 {
        return Err(RpcError::normal("cannot specify negative offset"));
    }
    let length = c.args.int("length");
    if length.is_some_and(|l| l < 0) {
        return Err(RpcError::normal("cannot specify negative length"));
    }
    let paths = c.args.args.clone();
    // Resolve every path first (errors before any byte; the total goes in X-Content-Length),
    // then stream the ranges as Kubo's cat does: the offset runs across the files.
    let (plan, total) = c
        .state
        .kit
        .blocking(move |kit| {
            let blocks = kit.repo()?.blocks();
            let mut plan = Vec::new();
            let (mut off, mut total) = (offset as u64, 0u64);
            if length == Some(0) {
                return Ok((plan, 0));
            }
            for p in paths {
                let cid = export::resolve_path(blocks, &p)?;
                let size = export::cat(blocks, &cid, 0, None)?.size();
                if off > size {
                    off -= size;
                    continue;
                }
                let avail = size - off;
                total += avail;
                if let Some(max) = length.map(|l| l as u64)
                    && total >= max
                {
                    let take = avail - (total - max);
                    total = max;
                    plan.push((cid.to_string(), off, Some(take)));
                    break;
                }
                plan.push((cid.to_string(), off, None));
                off = 0;
            }
            Ok::<_, OpError>((plan, total))
        })
        .await?;
    Ok(
        blocking_stream(&c, StreamKind::Bytes, Some(total), move |kit, w, cx| {
            for (cid, off, len) in plan {
                stream::cat_chunks(kit, &cid, off, len, &mut |b| w.send_bytes(b), cx)?;
            }
            Ok(())
        })
        .await,
    )
}

async fn get(c: Call) -> Reply {
    let path = c.args.arg(0).unwrap_or_default().to_string();
    let name = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(&path)
        .to_string();
    let archive = c.args.flag("archive", false);
    let compress = c.args.flag("compress", false);
    let level = c.args.int("compression-level").unwrap_or(-1);
    if !(-1..=9).contains(&level) {
        return Err(RpcError::normal(
            "compression level must be between 1 and 9",
        ));
    }
    let level = match level {
        -1 => flate2::Compression::default(),
        l => flate2::Compression::new(l as u32),
    };
    // Resolve before answering, so a bad path is an error status, not a broken stream.
    let p = path.clone();
    let is_dir = c
        .state
        .kit
        .blocking(move |kit| {
            let blocks = kit.repo()?.blocks();
            let cid = export::resolve_path(blocks, &p)?;
            Ok::<_, OpError>(export::stat(blocks, &cid)?.kind.is_dir())
        })
        .await?;
    Ok(
        blocking_stream(&c, StreamKind::Bytes, None, move |kit, w, cx| {
            if !compress {
                stream::get_tar(kit, &path, &name, w, cx)?;
                return Ok(());
            }
            let mut gz = flate2::write::GzEncoder::new(w, level);
            if archive || is_dir {
                stream::get_tar(kit, &path, &name, &mut gz, cx)?;
            } else {
                stream::cat(kit, &path, 0, None, &mut gz, cx)?;
            }
            gz.finish().map_err(io_err)?;
            Ok(())
        })
        .await,
    )
}

fn kubo_type(kind: &str) -> u8 {
    match kind {
        "directory" => 1,
        "file" => 2,
        "symlink" => 4,
        _ => 0,
    }
}

async fn ls(c: Call) -> Reply {
    let resolve_type = c.args.flag("resolve-type", true);
    let with_size = c.args.flag("size", true);
    let streamed = c.args.flag("stream", false);
    let mut objects = Vec::new();
    for path in &c.args.args {
        let mut links = Vec::new();
        let mut offset = 0u64;
        loop {
            let page = op(
                &c,
                "ipfs_ls",
                json!({"path": path, "offset": offset, "limit": 1000, "resolve_type": resolve_type}),
            )
            .await?;
            for e in page["entries"].as_array().into_iter().flatten() {
                links.push(json!({
                    "Name": s(e, "name"),
                    "Hash": s(e, "cid"),
                    "Size": if with_size { u(e, "size") } else { 0 },
                    "Type": kubo_type(e["type"].as_str().unwrap_or_default()),
                    "Target": s(e, "target"),
                }));
            }
            match page["next_offset"].as_u64() {
                Some(n) => offset = n,
                None => break,
            }
        }
        objects.push(json!({"Hash": path, "Links": links}));
    }
    if !streamed {
        return Ok(reply::single(&json!({ "Objects": objects })));
    }
    // Kubo's --stream sends one object per link.
    let (mut w, rx) = reply::channel();
    tokio::spawn(async move {
        let mut r = Ok(());
        'out: for o in objects {
            for l in o["Links"].as_array().into_iter().flatten() {
                let line = json!({"Objects": [{"Hash": o["Hash"], "Links": [l]}]});
                if let Err(e) = w.emit_async(&line).await {
                    r = Err(io_err(e));
                    break 'out;
                }
            }
        }
        w.finish_async(r).await;
    });
    Ok(reply::stream_response(StreamKind::Json, rx, c.cx, None).await)
}

// ---- pins ----

async fn pin_add(c: Call) -> Reply {
    let out = op(
        &c,
        "ipfs_pin_add",
        json!({
            "paths": c.args.args,
            "recursive": c.args.flag("recursive", true),
            "name": c.args.str("pin-name").or(c.args.str("name")).unwrap_or(""),
        }),
    )
    .await?;
    Ok(reply::single(&json!({"Pins": out["pins"]})))
}

async fn pin_rm(c: Call) -> Reply {
    let out = op(
        &c,
        "ipfs_pin_rm",
        json!({"paths": c.args.args, "recursive": c.args.flag("recursive", true)}),
    )
    .await?;
    Ok(reply::single(&json!({"Pins": out["pins"]})))
}

fn kind_name(k: PinKind) -> &'static str {
    match k {
        PinKind::Recursive => "recursive",
        PinKind::Direct => "direct",
        PinKind::Indirect => "indirect",
    }
}

async fn pin_ls(c: Call) -> Reply {
    let kind = c.args.str("type").unwrap_or("all").to_string();
    let filter = match kind.as_str() {
        "all" => PinFilter::All,
        "direct" => PinFilter::Direct,
        "indirect" => PinFilter::Indirect,
        "recursive" => PinFilter::Recursive,
        other => {
            return Err(RpcError::normal(format!(
                "invalid type '{other}', must be one of {{direct, indirect, recursive, all}}"
            )));
        }
    };
    let streamed = c.args.flag("stream", false);
    let names = c.args.flag("names", false);
    let want_name = c.args.str("pin-name").map(str::to_string);
    if !c.args.args.is_empty() {
        let out = op(
            &c,
            "ipfs_pin_ls",
            json!({"paths": c.args.args, "type": kind}),
        )
        .await?;
        let pins = out["pins"].as_array().cloned().unwrap_or_default();
        if streamed {
            let (mut w, rx) = reply::channel();
            tokio::spawn(async move {
                let mut r = Ok(());
                for p in pins {
                    let line = json!({"Cid": s(&p, "cid"), "Type": s(&p, "type")});
                    if let Err(e) = w.emit_async(&line).await {
                        r = Err(io_err(e));
                        break;
                    }
                }
                w.finish_async(r).await;
            });
            return Ok(reply::stream_response(StreamKind::Json, rx, c.cx, None).await);
        }
        let keys: serde_json::Map<String, Value> = pins
            .iter()
            .map(|p| (s(p, "cid"), json!({"Type": s(p, "type"), "Name": ""})))
            .collect();
        return Ok(reply::single(&json!({ "Keys": keys })));
    }
    // Every pin, streamed from the repo (the set may be large): ndjson with --stream, else one
    // `{"Keys":{…}}` object written as it is produced.
    Ok(
        blocking_stream(&c, StreamKind::Json, None, move |kit, w, cx| {
            let mut first = true;
            if !streamed {
                w.write_all(b"{\"Keys\":{").map_err(io_err)?;
            }
            for entry in kit.repo()?.pin_ls(filter).map_err(OpError::from)? {
                cx.check()?;
                let e = entry.map_err(OpError::from)?;
                if let Some(n) = &want_name
                    && &e.name != n
                {
                    continue;
                }
                let name = if names { e.name.as_str() } else { "" };
                let cid = e.cid.to_string();
                if streamed {
                    let mut line = json!({"Cid": cid, "Type": kind_name(e.kind)});
                    if !name.is_empty() {
                        line["Name"] = json!(name);
                    }
                    w.emit(&line).map_err(io_err)?;
                } else {
                    if !first {
                        w.write_all(b",").map_err(io_err)?;
                    }
                    first = false;
                    serde_json::to_writer(&mut *w, &cid).map_err(|e| io_err(e.into()))?;
                    w.write_all(b":").map_err(io_err)?;
                    serde_json::to_writer(
                        &mut *w,
                        &json!({"Type": kind_name(e.kind), "Name": name}),
                    )
                    .map_err(|e| io_err(e.into()))?;
                }
            }
            if !streamed {
                w.write_all(b"}}\n").map_err(io_err)?;
            }
            Ok(())
        })
        .await,
    )
}

async fn pin_update(c: Call) -> Reply {
    let out = op(
        &c,
        "ipfs_pin_update",
        json!({
            "from": c.args.arg(0),
            "to": c.args.arg(1),
            "unpin": c.args.flag("unpin", true),
        }),
    )
    .await?;
    Ok(reply::single(&json!({"Pins": out["pins"]})))
}

async fn pin_verify(c: Call) -> Reply {
    let verbose = c.args.flag("verbose", false);
    let out = op(&c, "ipfs_pin_verify", json!({ "verbose": verbose })).await?;
    let mut lines = Vec::new();
    for p in out["pins"].as_array().into_iter().flatten() {
        let mut line = json!({"Cid": s(p, "cid")});
        if p["ok"].as_bool() == Some(true) {
            line["Ok"] = json!(true);
        }
        let bad: Vec<Value> = p["bad_nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| json!({"Cid": s(b, "cid"), "Err": s(b, "error")}))
            .collect();
        if !bad.is_empty() {
            line["BadNodes"] = json!(bad);
        }
        lines.push(line);
    }
    Ok(lines_response(c.cx, lines).await)
}

/// Already computed lines as an ndjson stream.
async fn lines_response(cx: OpContext, lines: Vec<Value>) -> Response {
    let (mut w, rx) = reply::channel();
    tokio::spawn(async move {
        let mut r = Ok(());
        for l in lines {
            if let Err(e) = w.emit_async(&l).await {
                r = Err(io_err(e));
                break;
            }
        }
        w.finish_async(r).await;
    });
    reply::stream_response(StreamKind::Json, rx, cx, None).await
}

// ---- blocks and DAGs ----

const HARD_BLOCK: usize = ipfs_kit_ops::HARD_BLOCK_LIMIT;

async fn block_put(c: Call) -> Reply {
    let mut feed = parts(&c, "data")?;
    let mut codec = c.args.str("cid-codec").unwrap_or("raw").to_string();
    let mut v0 = false;
    if let Some(f) = c.args.str("format") {
        match f {
            "v0" | "protobuf" => {
                codec = "dag-pb".into();
                v0 = true;
            }
            "cbor" => codec = "dag-cbor".into(),
            "raw" => codec = "raw".into(),
            other => return Err(RpcError::normal(format!("unrecognized format {other:?}"))),
        }
    }
    let hash = c.args.str("mhtype").unwrap_or("sha2-256").to_string();
    if let Some(l) = c.args.int("mhlen")
        && l != -1
    {
        return Err(RpcError::normal(
            "mhlen (truncated multihashes) is not supported",
        ));
    }
    let big = c.args.flag("allow-big-block", false);
    let mut lines = Vec::new();
    while let Some(_head) = feed.next_part_async().await.map_err(io_err)? {
        let data = feed.read_all_async(HARD_BLOCK).await?;
        let out = op(
            &c,
            "ipfs_block_put",
            json!({
                "data_base64": base64::engine::general_purpose::STANDARD.encode(&data),
                "cid_codec": codec,
                "hash": hash,
                "pin": c.args.flag("pin", false),
                "allow_big_block": big,
            }),
        )
        .await?;
        let mut key = s(&out, "cid");
        if v0 && let Ok(cid) = ipfs_kit_content::parse_cid(&key) {
            key = cid::Cid::new_v0(*cid.hash())
                .map(|c| c.to_string())
                .unwrap_or(key);
        }
        lines.push(json!({"Key": key, "Size": u(&out, "size")}));
    }
    if lines.is_empty() {
        return Err(RpcError::client("file argument 'data' is required"));
    }
    Ok(lines_response(c.cx, lines).await)
}

async fn block_get(c: Call) -> Reply {
    let out = op(&c, "ipfs_block_get", json!({"cid": c.args.arg(0)})).await?;
    let data = base64::engine::general_purpose::STANDARD
        .decode(s(&out, "data_base64"))
        .map_err(|e| RpcError::normal(format!("bad block encoding: {e}")))?;
    bytes_response(c.cx, data).await
}

async fn bytes_response(cx: OpContext, data: Vec<u8>) -> Reply {
    let len = data.len() as u64;
    let (w, rx) = reply::channel();
    let mut w = w;
    tokio::task::spawn_blocking(move || {
        let r = w.write_all(&data).map_err(io_err);
        w.finish_blocking(r);
    });
    Ok(reply::stream_response(StreamKind::Bytes, rx, cx, Some(len)).await)
}

async fn block_stat(c: Call) -> Reply {
    let out = op(&c, "ipfs_block_stat", json!({"cid": c.args.arg(0)})).await?;
    Ok(reply::single(
        &json!({"Key": s(&out, "cid"), "Size": u(&out, "size")}),
    ))
}

async fn block_rm(c: Call) -> Reply {
    let force = c.args.flag("force", false);
    let quiet = c.args.flag("quiet", false);
    let mut lines = Vec::new();
    for cid in &c.args.args {
        match op(&c, "ipfs_block_rm", json!({"cids": [cid], "force": force})).await {
            Ok(out) => {
                for r in out["removed"].as_array().into_iter().flatten() {
                    if !quiet {
                        lines.push(json!({"Hash": r}));
                    }
                }
            }
            Err(e) => lines.push(json!({"Hash": cid, "Error": e.message})),
        }
    }
    Ok(lines_response(c.cx, lines).await)
}

async fn dag_put(c: Call) -> Reply {
    let mut feed = parts(&c, "object data")?;
    let mut lines = Vec::new();
    while let Some(_head) = feed.next_part_async().await.map_err(io_err)? {
        let data = feed.read_all_async(HARD_BLOCK).await?;
        let out = op(
            &c,
            "ipfs_dag_put",
            json!({
                "data_base64": base64::engine::general_purpose::STANDARD.encode(&data),
                "input_codec": c.args.str("input-codec").unwrap_or("dag-json"),
                "store_codec": c.args.str("store-codec").unwrap_or("dag-cbor"),
                "hash": c.args.str("hash").unwrap_or("sha2-256"),
                "pin": c.args.flag("pin", false),
                "allow_big_block": c.args.flag("allow-big-block", false),
            }),
        )
        .await?;
        lines.push(json!({"Cid": cid_link(&s(&out, "cid"))}));
    }
    if lines.is_empty() {
        return Err(RpcError::client("file argument 'object data' is required"));
    }
    Ok(lines_response(c.cx, lines).await)
}

async fn dag_get(c: Call) -> Reply {
    let codec = c.args.str("output-codec").unwrap_or("dag-json");
    let out = op(
        &c,
        "ipfs_dag_get",
        json!({"path": c.args.arg(0), "output_codec": codec}),
    )
    .await?;
    let data = base64::engine::general_purpose::STANDARD
        .decode(s(&out, "data_base64"))
        .map_err(|e| RpcError::normal(format!("bad node encoding: {e}")))?;
    bytes_response(c.cx, data).await
}

async fn dag_resolve(c: Call) -> Reply {
    let out = op(&c, "ipfs_dag_resolve", json!({"path": c.args.arg(0)})).await?;
    Ok(reply::single(&json!({
        "Cid": cid_link(&s(&out, "cid")),
        "RemPath": s(&out, "rem_path"),
    })))
}

async fn dag_stat(c: Call) -> Reply {
    let out = op(&c, "ipfs_dag_stat", json!({"paths": c.args.args})).await?;
    let stats: Vec<Value> = out["dag_stats"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| json!({"Cid": s(d, "cid"), "Size": u(d, "size"), "NumBlocks": u(d, "num_blocks")}))
        .collect();
    Ok(reply::single(&json!({
        "UniqueBlocks": u(&out, "num_blocks"),
        "TotalSize": u(&out, "total_size"),
        "DagStats": stats,
    })))
}

/// Counts what a CAR import stores.
struct Counting<'a> {
    inner: &'a ipfs_kit_repo::Blockstore,
    bytes: std::sync::atomic::AtomicU64,
}

impl BlockSink for Counting<'_> {
    fn put(&self, cid: &cid::Cid, data: &[u8]) -> ipfs_kit_content::Result<()> {
        self.bytes
            .fetch_add(data.len() as u64, std::sync::atomic::Ordering::Relaxed);
        BlockSink::put(self.inner, cid, data)
    }

    fn put_parts(&self, cid: &cid::Cid, parts: &[&[u8]]) -> ipfs_kit_content::Result<()> {
        let n: usize = parts.iter().map(|p| p.len()).sum();
        self.bytes
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        BlockSink::put_parts(self.inner, cid, parts)
    }
}

async fn dag_import(c: Call) -> Reply {
    let mut feed = parts(&c, "path")?;
    let pin_roots = c.args.flag("pin-roots", true);
    let stats = c.args.flag("stats", false);
    Ok(
        blocking_stream(&c, StreamKind::Json, None, move |kit, w, cx| {
            let repo = kit.repo()?;
            let _hold = repo.gc_shared();
            let sink = Counting {
                inner: repo.blocks(),
                bytes: Default::default(),
            };
            let mut roots = Vec::new();
            let mut blocks = 0u64;
            let mut any = false;
            while feed.next_part().map_err(io_err)?.is_some() {
                cx.check()?;
                any = true;
                let imported = ipfs_kit_content::car::import_car(
                    std::io::BufReader::with_capacity(1 << 20, &mut feed),
                    &sink,
                )
                .map_err(OpError::from)?;
                blocks += imported.blocks;
                roots.extend(imported.roots);
            }
            if !any {
                return Err(RpcError::client("file argument 'path' is required"));
            }
            repo.blocks().sync().map_err(OpError::from)?;
            if pin_roots {
                for root in roots {
                    let msg = match repo.pin_add(&root, true, "") {
                        Ok(()) => String::new(),
                        Err(e) => e.to_string(),
                    };
                    w.emit(
                        &json!({"Root": {"Cid": cid_link(&root.to_string()), "PinErrorMsg": msg}}),
                    )
                    .map_err(io_err)?;
                }
            }
            if stats {
                let bytes = sink.bytes.load(std::sync::atomic::Ordering::Relaxed);
                w.emit(&json!({"Stats": {"BlockCount": blocks, "BlockBytesCount": bytes}}))
                    .map_err(io_err)?;
            }
            Ok(())
        })
        .await,
    )
}

async fn dag_export(c: Call) -> Reply {
    let root = c.args.arg(0).unwrap_or_default().to_string();
    ipfs_kit_content::parse_cid(&root).map_err(|e| RpcError::normal(e.to_string()))?;
    Ok(
        blocking_stream(&c, StreamKind::Bytes, None, move |kit, w, cx| {
            stream::dag_export(kit, &root, w, cx)?;
            Ok(())
        })
        .await,
    )
}

async fn refs(c: Call) -> Reply {
    let format = if c.args.flag("edges", false) {
        if c.args.str("format").is_some() {
            return Err(RpcError::normal(
                "using format argument with edges is not allowed",
            ));
        }
        "<src> -> <dst>".to_string()
    } else {
        c.args.str("format").unwrap_or("<dst>").to_string()
    };
    let unique = c.args.flag("unique", false);
    let max_depth = c.args.int("max-depth").unwrap_or(-1);
    if max_depth < -1 {
        return Err(RpcError::normal(
            "cannot set max-depth to a negative value other than -1",
        ));
    }
    let recursive = c.args.flag("recursive", false) || max_depth != -1;
    let opts = RefsOptions {
        recursive,
        unique,
        max_depth: u64::try_from(max_depth).ok(),
    };
    let paths = c.args.args.clone();
    // Resolve up front: a bad path is an error status.
    let roots = c
        .state
        .kit
        .blocking(move |kit| {
            paths
                .iter()
                .map(|p| Ok(export::resolve_path(kit.repo()?.blocks(), p)?))
                .collect::<Result<Vec<_>, OpError>>()
        })
        .await?;
    Ok(
        blocking_stream(&c, StreamKind::Json, None, move |kit, w, cx| {
            for root in roots {
                for edge in kit.repo()?.refs(&root, opts) {
                    cx.check()?;
                    let (line, err) = match edge {
                        Ok(e) => (
                            format
                                .replace("<src>", &e.from.to_string())
                                .replace("<dst>", &e.to.to_string())
                                .replace("<linkname>", e.name.as_deref().unwrap_or("")),
                            String::new(),
                        ),
                        Err(e) => (String::new(), e.to_string()),
                    };
                    w.emit(&json!({"Ref": line, "Err": err})).map_err(io_err)?;
                }
            }
            Ok(())
        })
        .await,
    )
}

async fn refs_local(c: Call) -> Reply {
    Ok(
        blocking_stream(&c, StreamKind::Json, None, move |kit, w, cx| {
            for cid in kit.repo()?.refs_local().map_err(OpError::from)? {
                cx.check()?;
                let line = match cid {
                    Ok(c) => json!({"Ref": c.to_string(), "Err": ""}),
                    Err(e) => json!({"Ref": "", "Err": e.to_string()}),
                };
                w.emit(&line).map_err(io_err)?;
            }
            Ok(())
        })
        .await,
    )
}

async fn repo_stat(c: Call) -> Reply {
    let out = op(&c, "ipfs_repo_stat", json!({})).await?;
    if c.args.flag("size-only", false) {
        return Ok(reply::single(&json!({
            "RepoSize": u(&out, "repo_size"),
            "StorageMax": u(&out, "storage_max"),
        })));
    }
    Ok(reply::single(&json!({
        "RepoSize": u(&out, "repo_size"),
        "StorageMax": u(&out, "storage_max"),
        "NumObjects": u(&out, "num_objects"),
        "RepoPath": s(&out, "repo_path"),
        "Version": s(&out, "version"),
    })))
}

/// Kubo's `repo/gc`: one `{"Key":{"/":cid}}` line per removed block, streamed as the sweep
/// removes it (nothing with `silent`); a GC that cannot run is an error before any line.
async fn repo_gc(c: Call) -> Reply {
    let silent = c.args.flag("silent", false);
    Ok(
        blocking_stream(&c, StreamKind::Json, None, move |kit, w, cx| {
            let mut failed = None;
            ipfs_kit_ops::gc_embedded(kit, cx, &mut |cid| {
                if !silent
                    && failed.is_none()
                    && let Err(e) = w.emit(&json!({"Key": cid_link(&cid.to_string())}))
                {
                    // the client is gone: the sweep goes on, it is not undone by a hang-up
                    failed = Some(e);
                }
            })?;
            Ok(())
        })
        .await,
    )
}

async fn repo_verify(c: Call) -> Reply {
    if c.args.flag("drop", false) || c.args.flag("heal", false) {
        return Err(RpcError::normal(
            "drop and heal are not supported by this node (it has no network to heal from)",
        ));
    }
    let out = op(&c, "ipfs_repo_verify", json!({})).await?;
    let mut lines: Vec<Value> = out["corrupted"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| json!({"Msg": format!("block {} was corrupt ({})", s(b, "cid"), s(b, "error"))}))
        .collect();
    if out["ok"].as_bool() == Some(true) {
        lines.push(json!({"Msg": "verify complete, all blocks validated."}));
        return Ok(lines_response(c.cx, lines).await);
    }
    let (mut w, rx) = reply::channel();
    tokio::spawn(async move {
        for l in lines {
            if w.emit_async(&l).await.is_err() {
                return;
            }
        }
        w.finish_async(Err(RpcError::normal(
            "verify complete, some blocks were corrupt",
        )))
        .await;
    });
    Ok(reply::stream_response(StreamKind::Json, rx, c.cx, None).await)
}

// ---- MFS ----

async fn files_mkdir(c: Call) -> Reply {
    no_hash_but_sha256(&c)?;
    let mut input = json!({"path": c.args.arg(0), "parents": c.args.flag("parents", false)});
    if let Some(v) = c.args.int("cid-version") {
        input["cid_version"] = json!(v);
    }
    op(&c, "ipfs_files_mkdir", input).await?;
    Ok(reply::empty())
}

async fn files_ls(c: Call) -> Reply {
    let path = c.args.arg(0).unwrap_or("/").to_string();
    let long = c.args.flag("long", false);
    let mut entries = Vec::new();
    let mut offset = 0u64;
    loop {
        let page = op(
            &c,
            "ipfs_files_ls",
            json!({"path": path, "long": long, "offset": offset, "limit": 1000}),
        )
        .await?;
        for e in page["entries"].as_array().into_iter().flatten() {
            entries.push(json!({
                "Name": s(e, "name"),
                "Type": e["type"].as_u64().unwrap_or(0),
                "Size": u(e, "size"),
                "Hash": s(e, "hash"),
            }));
        }
        match page["next_offset"].as_u64() {
            Some(n) => offset = n,
            None => break,
        }
    }
    Ok(reply::single(&json!({ "Entries": entries })))
}

async fn files_stat(c: Call) -> Reply {
    let out = op(&c, "ipfs_files_stat", json!({"path": c.args.arg(0)})).await?;
    let mut v = json!({
        "Hash": s(&out, "hash"),
        "Size": u(&out, "size"),
        "CumulativeSize": u(&out, "cumulative_size"),
        "Blocks": u(&out, "blocks"),
        "Type": s(&out, "type"),
    });
    if c.args.flag("with-local", false) {
        // The embedded MFS only ever refers to complete local DAGs.
        v["WithLocality"] = json!(true);
        v["Local"] = json!(true);
        v["SizeLocal"] = json!(u(&out, "cumulative_size"));
    }
    Ok(reply::single(&v))
}

async fn files_read(c: Call) -> Reply {
    let path = c.args.arg(0).unwrap_or_default().to_string();
    let offset = c.args.int("offset").unwrap_or(0);
    if offset < 0 {
        return Err(RpcError::normal("cannot specify negative offset"));
    }
    let count = c.args.int("count");
    if count.is_some_and(|n| n < 0) {
        return Err(RpcError::normal("cannot specify negative 'count'"));
    }
    // A missing file or a directory is an error status, not an empty stream.
    let st = op(&c, "ipfs_files_stat", json!({"path": path})).await?;
    if s(&st, "type") == "directory" {
        return Err(RpcError::normal(format!("{path} was not a file")));
    }
    Ok(
        blocking_stream(&c, StreamKind::Bytes, None, move |kit, w, cx| {
            stream::files_read_chunks(
                kit,
                &path,
                offset as u64,
                count.map(|n| n as u64),
                &mut |b| w.send_bytes(b),
                cx,
            )?;
            Ok(())
        })
        .await,
    )
}

async fn files_write(c: Call) -> Reply {
    no_hash_but_sha256(&c)?;
    let mut feed = parts(&c, "data")?;
    if feed.next_part_async().await.map_err(io_err)?.is_none() {
        return Err(RpcError::client("file argument 'data' is required"));
    }
    let offset = c.args.int("offset").unwrap_or(0);
    if offset < 0 {
        return Err(RpcError::normal("cannot have negative write offset"));
    }
    let stream: ipfs_kit_ops::InputStream = match c.args.int("count") {
        Some(n) if n < 0 => return Err(RpcError::normal("cannot have negative byte count")),
        Some(n) => Box::new(std::io::Read::take(feed, n as u64)),
        None => Box::new(feed),
    };
    let mut input = json!({
        "path": c.args.arg(0),
        "create": c.args.flag("create", false),
        "truncate": c.args.flag("truncate", false),
        "parents": c.args.flag("parents", false),
        "offset": offset,
    });
    if let Some(v) = c.args.int("cid-version") {
        input["cid_version"] = json!(v);
    }
    if let Some(h) = c.args.str("hash") {
        input["hash"] = json!(h);
    }
    if let Some(r) = c.args.bool("raw-leaves") {
        input["raw_leaves"] = json!(r);
    }
    let Some(write) = c.state.catalogue.get("ipfs_files_write") else {
        return Err(RpcError::normal(
            "this node has no operation ipfs_files_write",
        ));
    };
    let cx = c.cx.clone().with_stream(stream);
    write.call(&c.state.kit, input, &cx).await?;
    Ok(reply::empty())
}

async fn files_cp(c: Call) -> Reply {
    if c.args.flag("force", false) {
        match op(
            &c,
            "ipfs_files_rm",
            json!({"path": c.args.arg(1), "recursive": true, "force": true}),
        )
        .await
        {
            Ok(_) => {}
            Err(e) if e.message.contains("not found") || e.message.contains("does not exist") => {}
            Err(e) => return Err(e),
        }
    }
    op(
        &c,
        "ipfs_files_cp",
        json!({"from": c.args.arg(0), "to": c.args.arg(1), "parents": c.args.flag("parents", false)}),
    )
    .await?;
    Ok(reply::empty())
}

async fn files_mv(c: Call) -> Reply {
    op(
        &c,
        "ipfs_files_mv",
        json!({"from": c.args.arg(0), "to": c.args.arg(1)}),
    )
    .await?;
    Ok(reply::empty())
}

async fn files_rm(c: Call) -> Reply {
    let force = c.args.flag("force", false);
    if c.args.args.is_empty() {
        return Err(RpcError::client("argument \"path\" is required"));
    }
    // Like Kubo: every path is removed that can be, then the first failure is the answer.
    let mut first_err = None;
    for path in &c.args.args {
        let input = json!({"path": path, "recursive": c.args.flag("recursive", false) || force, "force": force});
        if let Err(e) = op(&c, "ipfs_files_rm", input).await {
            first_err.get_or_insert(e);
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(reply::empty()),
    }
}

async fn files_flush(c: Call) -> Reply {
    let out = op(
        &c,
        "ipfs_files_flush",
        json!({"path": c.args.arg(0).unwrap_or("/")}),
    )
    .await?;
    Ok(reply::single(&json!({"Cid": s(&out, "cid")})))
}

async fn files_chcid(c: Call) -> Reply {
    no_hash_but_sha256(&c)?;
    let Some(v) = c.args.int("cid-version") else {
        // Kubo changes nothing without a new prefix.
        return Ok(reply::empty());
    };
    op(
        &c,
        "ipfs_files_chcid",
        json!({"path": c.args.arg(0).unwrap_or("/"), "cid_version": v}),
    )
    .await?;
    Ok(reply::empty())
}

// ---- node, keys, names, CIDs ----

async fn id(c: Call) -> Reply {
    if c.args.str("format").is_some() {
        return Err(RpcError::normal("the format option is not supported here"));
    }
    let mut input = json!({});
    if let Some(p) = c.args.arg(0) {
        input["peer_id"] = json!(p);
    }
    let out = op(&c, "ipfs_id", input).await?;
    Ok(reply::single(&json!({
        "ID": s(&out, "id"),
        "PublicKey": s(&out, "public_key"),
        "Addresses": out["addresses"].as_array().cloned().unwrap_or_default(),
        "AgentVersion": s(&out, "agent_version"),
        "Protocols": out["protocols"].as_array().cloned().unwrap_or_default(),
    })))
}

async fn version(c: Call) -> Reply {
    let out = op(&c, "ipfs_version", json!({})).await?;
    Ok(reply::single(&json!({
        "Version": s(&out, "version"),
        "Commit": "",
        "Repo": "",
        "System": s(&out, "system"),
        "Golang": "",
    })))
}

fn keys(out: &Value) -> Value {
    let keys: Vec<Value> = out["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|k| json!({"Name": s(k, "name"), "Id": s(k, "id")}))
        .collect();
    json!({ "Keys": keys })
}

async fn key_gen(c: Call) -> Reply {
    if c.args.int("size").is_some() {
        return Err(RpcError::normal(
            "the size option is not supported here (ed25519 keys have one size)",
        ));
    }
    let mut input = json!({"name": c.args.arg(0)});
    if let Some(t) = c.args.str("type") {
        input["type"] = json!(t);
    }
    let out = op(&c, "ipfs_key_gen", input).await?;
    Ok(reply::single(
        &json!({"Name": s(&out, "name"), "Id": s(&out, "id")}),
    ))
}

async fn key_ls(c: Call) -> Reply {
    let out = op(&c, "ipfs_key_list", json!({})).await?;
    Ok(reply::single(&keys(&out)))
}

async fn key_rm(c: Call) -> Reply {
    let out = op(&c, "ipfs_key_rm", json!({"names": c.args.args})).await?;
    Ok(reply::single(&keys(&out)))
}

async fn name_publish(c: Call) -> Reply {
    let mut input = json!({"path": c.args.arg(0)});
    for (opt, field) in [("key", "key"), ("lifetime", "lifetime"), ("ttl", "ttl")] {
        if let Some(v) = c.args.str(opt) {
            input[field] = json!(v);
        }
    }
    if let Some(r) = c.args.bool("resolve") {
        input["resolve"] = json!(r);
    }
    if let Some(n) = c.args.uint("sequence") {
        input["sequence"] = json!(n);
    }
    let out = op(&c, "ipfs_name_publish", input).await?;
    Ok(reply::single(
        &json!({"Name": s(&out, "name"), "Value": s(&out, "value")}),
    ))
}

async fn name_resolve(c: Call) -> Reply {
    let mut input = json!({"recursive": c.args.flag("recursive", true)});
    if let Some(n) = c.args.arg(0) {
        input["name"] = json!(n);
    }
    let out = op(&c, "ipfs_name_resolve", input).await?;
    Ok(reply::single(&json!({"Path": s(&out, "path")})))
}

async fn cid_lines(c: Call, input: Value) -> Reply {
    let out = op(&c, "ipfs_cid_format", input).await?;
    let lines = out["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            json!({
                "CidStr": s(r, "cid"),
                "Formatted": s(r, "formatted"),
                "ErrorMsg": r["error"].as_str().unwrap_or_default(),
            })
        })
        .collect();
    Ok(lines_response(c.cx, lines).await)
}

async fn cid_format(c: Call) -> Reply {
    let mut input = json!({"cids": c.args.args});
    if let Some(f) = c.args.str("f") {
        input["format"] = json!(f);
    }
    if let Some(v) = c.args.str("v") {
        input["version"] = json!(v);
    }
    if let Some(mc) = c.args.str("mc") {
        input["codec"] = json!(mc);
    }
    if let Some(b) = c.args.str("b") {
        input["base"] = json!(b);
    }
    cid_lines(c, input).await
}

async fn cid_base32(c: Call) -> Reply {
    let input = json!({"cids": c.args.args, "version": "1", "base": "base32"});
    cid_lines(c, input).await
}

async fn cid_info(c: Call, kind: &str, with_prefix: bool) -> Reply {
    let out = op(&c, "ipfs_cid_info", json!({ "kind": kind })).await?;
    let list: Vec<Value> = out["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let mut v = json!({"Code": e["code"], "Name": s(e, "name")});
            if with_prefix {
                v["Prefix"] = json!(s(e, "prefix"));
            }
            v
        })
        .collect();
    Ok(reply::single(&list))
}

async fn cid_bases(c: Call) -> Reply {
    cid_info(c, "bases", true).await
}

async fn cid_codecs(c: Call) -> Reply {
    cid_info(c, "codecs", false).await
}

async fn cid_hashes(c: Call) -> Reply {
    cid_info(c, "hashes", false).await
}

async fn config_show(c: Call) -> Reply {
    let mut cfg = json!({
        "Addresses": {
            "API": c.state.info.api,
            "Gateway": c.state.info.gateway,
            "Swarm": [],
        },
    });
    if c.state.catalogue.get("ipfs_id").is_some()
        && let Ok(id) = op(&c, "ipfs_id", json!({})).await
    {
        cfg["Identity"] = json!({"PeerID": s(&id, "id")});
    }
    if let Ok(repo) = c.state.kit.repo() {
        cfg["Datastore"] = json!({"HashOnRead": repo.blocks().hash_on_read()});
    }
    Ok(reply::single(&cfg))
}

async fn shutdown(c: Call) -> Reply {
    c.state.shutdown.cancel();
    Ok(reply::empty())
}
