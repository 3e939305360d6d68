//! Byte-stream outputs: file contents, tar archives and CARs written straight to a sink.
//!
//! Operations answer bounded JSON (an MCP tool result must fit in one message); faces that can
//! stream (the CLI's standard output, the RPC API's and the gateway's response bodies) use these
//! instead. They run on the node behind the [`Kit`], embedded or external, and are blocking: call
//! them from a worker thread ([`Kit::blocking`] or `spawn_blocking`). Progress is reported in bytes
//! to `cx`, and cancellation is checked between chunks.

use std::io::Write;

use bytes::Bytes;
use ipfs_kit_content::{car, export};

use crate::mfs::{self, MfsPath};
use crate::{Kit, OpContext, OpError};

/// Bytes of read-ahead used when streaming a file from the embedded store.
pub const READ_AHEAD: usize = export::READ_AHEAD;

/// Where a byte stream goes chunk by chunk, zero-copy: each chunk is a slice of a block (or of
/// the external node's response) that the sink may keep.
pub type ChunkSink<'a> = dyn FnMut(Bytes) -> std::io::Result<()> + 'a;

/// Hand `reader`'s range to `out` (pipelined read-ahead), reporting progress against its known
/// length.
fn copy_file<S: ipfs_kit_content::BlockSource + ?Sized>(
    mut reader: export::FileReader<'_, S>,
    out: &mut ChunkSink<'_>,
    cx: &OpContext,
) -> Result<u64, OpError> {
    let total = reader.end().saturating_sub(reader.position());
    let mut done = 0u64;
    cx.progress(0, Some(total), "bytes");
    reader.for_each_chunk(|chunk| {
        cx.check()?;
        done += chunk.len() as u64;
        out(chunk)?;
        cx.progress(done, Some(total), "bytes");
        Ok::<_, OpError>(())
    })
}

/// Write the file at `path` (a CID or `/ipfs/…` path), from `offset`, at most `length` bytes, to
/// `out` (Kubo's `cat`). Returns the bytes written.
pub fn cat(
    kit: &Kit,
    path: &str,
    offset: u64,
    length: Option<u64>,
    out: &mut dyn Write,
    cx: &OpContext,
) -> Result<u64, OpError> {
    cat_chunks(kit, path, offset, length, &mut |b| out.write_all(&b), cx)
}

/// [`cat`] handing the bytes over as chunks, without copying them.
pub fn cat_chunks(
    kit: &Kit,
    path: &str,
    offset: u64,
    length: Option<u64>,
    out: &mut ChunkSink<'_>,
    cx: &OpContext,
) -> Result<u64, OpError> {
    if let Some(k) = kit.kubo() {
        let mut q = vec![
            ("arg", crate::remote::ipfs_path(path)),
            ("offset", offset.to_string()),
        ];
        if let Some(l) = length {
            q.push(("length", l.to_string()));
        }
        return remote_copy(k, "cat", &q, out, cx);
    }
    let blocks = kit.repo()?.blocks();
    let cid = export::resolve_path(blocks, path)?;
    let reader = export::cat(blocks, &cid, offset, length)?.with_read_ahead(READ_AHEAD);
    copy_file(reader, out, cx)
}

/// Write the MFS file at `path`, from `offset`, at most `count` bytes, to `out` (Kubo's
/// `files read`). Returns the bytes written.
pub fn files_read(
    kit: &Kit,
    path: &str,
    offset: u64,
    count: Option<u64>,
    out: &mut dyn Write,
    cx: &OpContext,
) -> Result<u64, OpError> {
    files_read_chunks(kit, path, offset, count, &mut |b| out.write_all(&b), cx)
}

/// [`files_read`] handing the bytes over as chunks, without copying them.
pub fn files_read_chunks(
    kit: &Kit,
    path: &str,
    offset: u64,
    count: Option<u64>,
    out: &mut ChunkSink<'_>,
    cx: &OpContext,
) -> Result<u64, OpError> {
    let path = MfsPath::parse(path)?;
    if let Some(k) = kit.kubo() {
        let mut q = vec![("arg", path.display()), ("offset", offset.to_string())];
        if let Some(c) = count {
            q.push(("count", c.to_string()));
        }
        return remote_copy(k, "files/read", &q, out, cx);
    }
    let repo = kit.repo()?;
    let blocks = repo.blocks();
    let cid = mfs::resolve(blocks, &kit.mfs()?.root(repo)?, &path)?;
    let reader = export::cat(blocks, &cid, offset, count)?.with_read_ahead(READ_AHEAD);
    copy_file(reader, out, cx)
}

/// Write the DAG under `root` (a CID) as a CARv1 stream to `out`, blocks in walk order (Kubo's
/// `dag export`). Returns the bytes written.
pub fn dag_export(
    kit: &Kit,
    root: &str,
    out: &mut dyn Write,
    cx: &OpContext,
) -> Result<u64, OpError> {
    let cid = ipfs_kit_content::parse_cid(root)?;
    if let Some(k) = kit.kubo() {
        return remote_copy(
            k,
            "dag/export",
            &[("arg", cid.to_string())],
            &mut |b| out.write_all(&b),
            cx,
        );
    }
    let mut counted = Counted { out, done: 0, cx };
    let r = car::export_dag(kit.repo()?.blocks(), &cid, &mut counted);
    cx.check()?;
    r?;
    Ok(counted.done)
}

/// Write the UnixFS tree at `path` as a tar stream to `out`, with `name` as its top entry (Kubo's
/// `get` uses the last path segment or the CID). Returns the bytes written.
pub fn get_tar(
    kit: &Kit,
    path: &str,
    name: &str,
    out: &mut dyn Write,
    cx: &OpContext,
) -> Result<u64, OpError> {
    if let Some(k) = kit.kubo() {
        return remote_tar(k, path, name, out, cx);
    }
    let blocks = kit.repo()?.blocks();
    let cid = export::resolve_path(blocks, path)?;
    let control = export::Control::new().with_cancel(cx.cancel_arc());
    let mut counted = Counted { out, done: 0, cx };
    let r = export::get_tar(blocks, &cid, name, &mut counted, &control);
    cx.check()?;
    r?;
    Ok(counted.done)
}

/// Copy the raw answer of `command` on the external node to `out` (blocking: drives the async
/// client on the current runtime's handle).
fn remote_copy(
    k: &ipfs_kit_clients::KuboClient,
    command: &str,
    query: &[(&str, String)],
    out: &mut ChunkSink<'_>,
    cx: &OpContext,
) -> Result<u64, OpError> {
    let handle = tokio::runtime::Handle::try_current().map_err(|_| {
        OpError::new(
            crate::ErrorCode::Internal,
            "streaming from an external node needs the tokio runtime (call from spawn_blocking)",
        )
    })?;
    handle.block_on(async {
        let mut body = k
            .bytes(command, query)
            .await
            .map_err(|e| crate::remote::err(k, e))?;
        let mut done = 0u64;
        cx.progress(0, None, "bytes");
        while let Some(chunk) = body.chunk().await.map_err(|e| crate::remote::err(k, e))? {
            cx.check()?;
            done += chunk.len() as u64;
            out(chunk)?;
            cx.progress(done, None, "bytes");
        }
        Ok(done)
    })
}

/// Kubo's `get` tar for `path`, its top entry renamed to `name` when Kubo names it otherwise
/// (Kubo uses the last path segment, or the CID).
fn remote_tar(
    k: &ipfs_kit_clients::KuboClient,
    path: &str,
    name: &str,
    out: &mut dyn Write,
    cx: &OpContext,
) -> Result<u64, OpError> {
    let full = crate::remote::ipfs_path(path);
    let kubo_name = full
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let q = [("arg", full.clone())];
    if kubo_name == name {
        return remote_copy(k, "get", &q, &mut |b| out.write_all(&b), cx);
    }
    let handle = tokio::runtime::Handle::try_current().map_err(|_| {
        OpError::new(
            crate::ErrorCode::Internal,
            "streaming from an external node needs the tokio runtime (call from spawn_blocking)",
        )
    })?;
    let body = handle
        .block_on(k.bytes("get", &q))
        .map_err(|e| crate::remote::err(k, e))?;
    let _guard = handle.enter();
    let mut archive = tar::Archive::new(body.into_blocking_read());
    let mut counted = Counted { out, done: 0, cx };
    let mut builder = tar::Builder::new(&mut counted);
    for entry in archive.entries()? {
        cx.check()?;
        let mut entry = entry?;
        let p = entry.path()?.into_owned();
        let mut parts = p.components();
        parts.next();
        let renamed = std::path::Path::new(name).join(parts.as_path());
        let mut header = entry.header().clone();
        if header.entry_type().is_symlink() {
            let target = entry
                .link_name()?
                .map(|t| t.into_owned())
                .unwrap_or_default();
            builder.append_link(&mut header, &renamed, &target)?;
        } else {
            builder.append_data(&mut header, &renamed, &mut entry)?;
        }
    }
    builder.finish()?;
    drop(builder);
    Ok(counted.done)
}

/// A writer that counts, reports progress and stops when cancelled (the caller turns the write
/// error into [`crate::ErrorCode::Cancelled`] by checking `cx` first).
struct Counted<'a> {
    out: &'a mut dyn Write,
    done: u64,
    cx: &'a OpContext,
}

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.cx.is_cancelled() {
            return Err(std::io::Error::other("operation cancelled"));
        }
        let n = self.out.write(buf)?;
        self.done += n as u64;
        self.cx.progress(self.done, None, "bytes");
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}
