//! File import: chunking, parallel leaf hashing and the balanced / trickle layouts.
//!
//! The input is read by a helper thread in bounded batches (at most [`BATCH_BYTES`] of chunks per
//! batch, one batch queued), each batch's leaves are encoded and hashed on the rayon pool, and the
//! layout consumes the leaves in order; hashed chunk buffers go back to the reader for reuse.
//! Bytes that arrive as shared buffers ([`SharedRead`], a request body) are cut into leaves
//! without a copy: a leaf is its framing plus the slices it spans, hashed and written in parts.
//! Peak memory is a few batches (about 25 MiB measured on 1 GiB) whatever the input size.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use bytes::{Buf, Bytes};
use rayon::prelude::*;

use super::options::{ImportOptions, Layout};
use super::{Control, NodeLink, NodeWriter};
use crate::pb::{PbLink, PbNode, put_varint, varint_len};
use crate::unixfs::{DataType, Mtime, UnixfsData};
use crate::{Codec, Result};

/// Upper bound of the chunk bytes in one batch.
pub(crate) const BATCH_BYTES: usize = 4 << 20;
/// Upper bound of the chunks in one batch.
const BATCH_CHUNKS: usize = 128;
/// Trickle layout: how many subtrees of each depth are added before going deeper (boxo's value).
pub(super) const TRICKLE_DEPTH_REPEAT: usize = 4;

/// UnixFS metadata to store on a root node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Meta {
    pub(crate) mode: Option<u32>,
    pub(crate) mtime: Option<Mtime>,
}

impl Meta {
    fn apply(&self, d: &mut UnixfsData) {
        d.mode = self.mode.filter(|&m| m != 0);
        d.mtime = self.mtime;
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.mode.is_none() && self.mtime.is_none()
    }
}

/// A leaf or subtree of a file: its link plus the file bytes under it.
#[derive(Debug, Clone, Copy)]
pub(super) struct FileLink {
    pub(super) link: NodeLink,
    pub(super) filesize: u64,
}

/// Room kept in front of each fixed-size chunk so a dag-pb leaf can be framed in place.
const HEADROOM: usize = 16;
/// Room kept after each fixed-size chunk for the leaf's `filesize` field.
const TAILROOM: usize = 12;

/// A file's bytes as a run of shared buffers (a request body as it arrives from the network):
/// the importer frames fixed-size leaves around them and stores them without copying the bytes.
pub trait SharedRead: Send {
    /// The next bytes of the file, at most `max` (> 0) of them and never none; `None` at its end.
    fn read_shared(&mut self, max: usize) -> io::Result<Option<Bytes>>;
}

/// A [`SharedRead`] read as bytes (for the content-defined chunkers, which copy).
struct SharedReader<'a> {
    src: &'a mut dyn SharedRead,
    cur: Bytes,
}

impl Read for SharedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.cur.is_empty() {
            match self.src.read_shared(buf.len())? {
                Some(b) => self.cur = b,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        self.cur.advance(n);
        Ok(n)
    }
}

/// Where a file's bytes come from.
pub(super) enum Input<'a, R = io::Empty> {
    /// A reader: fixed-size chunks are read into buffers with headroom for a leaf's framing.
    Reader(R),
    /// Shared buffers, kept as they are.
    Shared(&'a mut dyn SharedRead),
}

/// One chunk of a file.
enum Chunk {
    /// Bytes read into `buf[start..]` (room before and after them for a dag-pb leaf's framing).
    Owned { buf: Vec<u8>, start: usize },
    /// Shared buffers, in order, of `len` bytes in all.
    Shared { parts: Vec<Bytes>, len: usize },
}

impl Chunk {
    /// The chunk's bytes in one slice (joined when they are shared buffers).
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        match self {
            Chunk::Owned { buf, start } => std::borrow::Cow::Borrowed(&buf[*start..]),
            Chunk::Shared { parts, .. } => std::borrow::Cow::Owned(parts.concat()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Chunk::Owned { buf, start } => buf.len() - start,
            Chunk::Shared { len, .. } => *len,
        }
    }

    /// The buffer to hand back to the reader for reuse, if the chunk owned one.
    fn into_buf(self) -> Option<Vec<u8>> {
        match self {
            Chunk::Owned { buf, .. } => Some(buf),
            Chunk::Shared { .. } => None,
        }
    }
}

/// Where chunks come from: fixed-size chunks are read here straight into buffers with
/// headroom (no copy when framing dag-pb leaves) or cut from shared buffers (no copy at all);
/// content-defined chunkers are used as is.
enum ChunkSource<'a, R> {
    Fixed {
        reader: R,
        size: usize,
        done: bool,
        /// Buffers of hashed chunks coming back for reuse (no new allocation, no zeroing).
        recycled: Option<Receiver<Vec<u8>>>,
    },
    SharedFixed {
        src: &'a mut dyn SharedRead,
        size: usize,
        done: bool,
    },
    Other(Box<dyn Iterator<Item = io::Result<Vec<u8>>> + Send + 'a>),
}

impl<'a, R: Read + Send + 'a> ChunkSource<'a, R> {
    fn new(input: Input<'a, R>, spec: &crate::chunker::ChunkerSpec) -> Self {
        match (input, *spec) {
            (Input::Reader(reader), crate::chunker::ChunkerSpec::Size { size }) => {
                ChunkSource::Fixed {
                    reader,
                    size,
                    done: false,
                    recycled: None,
                }
            }
            (Input::Shared(src), crate::chunker::ChunkerSpec::Size { size }) => {
                ChunkSource::SharedFixed {
                    src,
                    size,
                    done: false,
                }
            }
            (Input::Reader(reader), _) => ChunkSource::Other(spec.chunks(reader)),
            (Input::Shared(src), _) => ChunkSource::Other(spec.chunks(SharedReader {
                src,
                cur: Bytes::new(),
            })),
        }
    }

    fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        match self {
            ChunkSource::Other(it) => Ok(it
                .next()
                .transpose()?
                .map(|buf| Chunk::Owned { buf, start: 0 })),
            ChunkSource::SharedFixed { src, size, done } => {
                if *done {
                    return Ok(None);
                }
                let mut parts = Vec::new();
                let mut len = 0;
                while len < *size {
                    match src.read_shared(*size - len)? {
                        Some(b) if b.len() <= *size - len => {
                            len += b.len();
                            parts.push(b);
                        }
                        Some(b) => {
                            return Err(io::Error::other(format!(
                                "internal: a shared read of {} bytes where at most {} were asked",
                                b.len(),
                                *size - len
                            )));
                        }
                        None => {
                            *done = true;
                            break;
                        }
                    }
                }
                Ok((len > 0).then_some(Chunk::Shared { parts, len }))
            }
            ChunkSource::Fixed {
                reader,
                size,
                done,
                recycled,
            } => {
                if *done {
                    return Ok(None);
                }
                let want = HEADROOM + *size;
                let mut buf = recycled
                    .as_ref()
                    .and_then(|r| r.try_recv().ok())
                    .filter(|b| b.capacity() >= want + TAILROOM)
                    .unwrap_or_else(|| Vec::with_capacity(want + TAILROOM));
                // Bytes already initialised are overwritten by the read; only new ones are zeroed.
                if buf.len() >= want {
                    buf.truncate(want);
                } else {
                    buf.resize(want, 0);
                }
                let n = crate::chunker::read_full(reader, &mut buf[HEADROOM..])?;
                if n < *size {
                    *done = true;
                }
                if n == 0 {
                    return Ok(None);
                }
                buf.truncate(HEADROOM + n);
                Ok(Some(Chunk::Owned {
                    buf,
                    start: HEADROOM,
                }))
            }
        }
    }
}

/// Read up to one batch of chunks; the flag says whether the input ended.
fn read_batch<'a, R: Read + Send + 'a>(
    chunks: &mut ChunkSource<'a, R>,
) -> io::Result<(Vec<Chunk>, bool)> {
    let mut batch = Vec::new();
    let mut bytes = 0;
    while bytes < BATCH_BYTES && batch.len() < BATCH_CHUNKS {
        match chunks.next_chunk()? {
            None => return Ok((batch, true)),
            Some(c) => {
                bytes += c.len();
                batch.push(c);
            }
        }
    }
    Ok((batch, false))
}

/// Import one file's bytes, storing metadata `meta` on its root.
pub(crate) fn import_reader<'a, R: Read + Send + 'a>(
    input: Input<'a, R>,
    meta: Meta,
    w: &NodeWriter<'_>,
    control: &Control,
) -> Result<(NodeLink, u64)> {
    control.check()?;
    let opts = w.opts;
    let mut chunks = ChunkSource::new(input, &opts.chunker);
    let (first, eof) = read_batch(&mut chunks)?;

    if opts.layout == Layout::Balanced {
        if first.is_empty() {
            // No data: a single empty leaf is the root.
            let link = single_leaf(w, &[], meta)?;
            return Ok((link, 0));
        }
        if eof && first.len() == 1 {
            let link = single_leaf(w, &first[0].data(), meta)?;
            let n = first[0].len() as u64;
            control.advance(n);
            return Ok((link, n));
        }
    }

    let leaf_kind = match opts.layout {
        Layout::Balanced => DataType::File,
        Layout::Trickle => DataType::Raw,
    };
    run_stream(chunks, first, eof, w, control, leaf_kind, |stream| {
        finish(stream, opts, meta)
    })
}

/// Chunk `reader` with `w`'s chunker and hand the stream of stored leaves (dag-pb leaves of
/// `kind`, or raw leaves) to `f`.
pub(super) fn stream_leaves<R: Read + Send, T>(
    reader: R,
    w: &NodeWriter<'_>,
    control: &Control,
    kind: DataType,
    f: impl FnOnce(&mut LeafStream<'_, '_>) -> Result<T>,
) -> Result<T> {
    control.check()?;
    let mut chunks = ChunkSource::new(Input::Reader(reader), &w.opts.chunker);
    let (first, eof) = read_batch(&mut chunks)?;
    run_stream(chunks, first, eof, w, control, kind, f)
}

/// Run `f` over the leaves of `first` and, unless the input ended there, of the batches a
/// reader thread goes on reading from `chunks`.
fn run_stream<'a, R: Read + Send + 'a, T>(
    mut chunks: ChunkSource<'a, R>,
    first: Vec<Chunk>,
    eof: bool,
    w: &NodeWriter<'_>,
    control: &Control,
    kind: DataType,
    f: impl FnOnce(&mut LeafStream<'_, '_>) -> Result<T>,
) -> Result<T> {
    if eof {
        let mut stream = LeafStream::new(w, control, kind, first, None);
        return f(&mut stream);
    }
    // Enough returned buffers for about two batches.
    let (recycle_tx, recycle_rx) =
        sync_channel::<Vec<u8>>(2 * BATCH_BYTES / w.opts.chunker.max_chunk().max(1) + 2);
    if let ChunkSource::Fixed { recycled, .. } = &mut chunks {
        *recycled = Some(recycle_rx);
    }
    std::thread::scope(|scope| {
        let (tx, rx) = sync_channel::<io::Result<Vec<Chunk>>>(1);
        scope.spawn(move || {
            loop {
                match read_batch(&mut chunks) {
                    Ok((batch, eof)) => {
                        if !batch.is_empty() && tx.send(Ok(batch)).is_err() {
                            return;
                        }
                        if eof {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
        });
        let mut stream = LeafStream::new(w, control, kind, first, Some(rx));
        stream.recycle = Some(recycle_tx);
        let out = f(&mut stream);
        // Dropping the receiver stops the reader at its next batch.
        drop(stream);
        out
    })
}

fn finish(
    stream: &mut LeafStream<'_, '_>,
    opts: &ImportOptions,
    meta: Meta,
) -> Result<(NodeLink, u64)> {
    let root = match opts.layout {
        Layout::Balanced => balanced(stream, opts.max_file_links, meta)?,
        Layout::Trickle => {
            let mut links = Vec::new();
            trickle_fill(stream, &mut links, opts.max_file_links, None)?;
            commit_internal(stream.w, &links, meta)?
        }
    };
    Ok((root.link, root.filesize))
}

/// A file whose whole content is one chunk (or none): the leaf is the root.
fn single_leaf(w: &NodeWriter<'_>, data: &[u8], meta: Meta) -> Result<NodeLink> {
    if w.opts.raw_leaves && meta.is_empty() {
        return w.put(Codec::Raw, data);
    }
    let mut d = UnixfsData::new(DataType::File);
    if !data.is_empty() {
        d.data = Some(Bytes::copy_from_slice(data));
    }
    d.filesize = Some(data.len() as u64);
    meta.apply(&mut d);
    w.put_pb(&PbNode {
        links: Vec::new(),
        data: Some(Bytes::from(d.encode())),
    })
}

/// Encode a dag-pb leaf `{Type=kind, Data=chunk, filesize}` with a single copy of the chunk.
fn encode_leaf(kind: DataType, chunk: &[u8]) -> Vec<u8> {
    let n = chunk.len() as u64;
    let mut inner_len = 2 + 1 + varint_len(n);
    if !chunk.is_empty() {
        inner_len += 1 + varint_len(n) + chunk.len();
    }
    let mut out = Vec::with_capacity(1 + varint_len(inner_len as u64) + inner_len);
    out.push(0x0a);
    put_varint(&mut out, inner_len as u64);
    out.push(0x08);
    out.push(kind as u8);
    if !chunk.is_empty() {
        out.push(0x12);
        put_varint(&mut out, n);
        out.extend_from_slice(chunk);
    }
    out.push(0x18);
    put_varint(&mut out, n);
    out
}

/// Leaves in file order, hashed a batch at a time.
pub(super) struct LeafStream<'w, 'c> {
    pub(super) w: &'w NodeWriter<'w>,
    control: &'c Control,
    kind: DataType,
    pending: Option<Vec<Chunk>>,
    rx: Option<Receiver<io::Result<Vec<Chunk>>>>,
    ready: VecDeque<FileLink>,
    recycle: Option<SyncSender<Vec<u8>>>,
}

impl<'w, 'c> LeafStream<'w, 'c> {
    fn new(
        w: &'w NodeWriter<'w>,
        control: &'c Control,
        kind: DataType,
        first: Vec<Chunk>,
        rx: Option<Receiver<io::Result<Vec<Chunk>>>>,
    ) -> Self {
        LeafStream {
            w,
            control,
            kind,
            pending: Some(first),
            rx,
            ready: VecDeque::new(),
            recycle: None,
        }
    }

    /// Make sure `ready` holds a leaf unless the input is exhausted.
    fn fill(&mut self) -> Result<()> {
        while self.ready.is_empty() {
            let batch = match self.pending.take() {
                Some(b) => b,
                None => match &self.rx {
                    None => return Ok(()),
                    Some(rx) => match rx.recv() {
                        Ok(b) => b?,
                        Err(_) => {
                            self.rx = None;
                            return Ok(());
                        }
                    },
                },
            };
            self.control.check()?;
            let bytes: u64 = batch.iter().map(|c| c.len() as u64).sum();
            let (w, kind) = (self.w, self.kind);
            let hash_one = |mut c: Chunk| (leaf(w, kind, &mut c), c.into_buf());
            let links: Vec<(Result<FileLink>, Option<Vec<u8>>)> = if batch.len() > 1 {
                batch.into_par_iter().map(hash_one).collect()
            } else {
                batch.into_iter().map(hash_one).collect()
            };
            for (l, buf) in links {
                self.ready.push_back(l?);
                if let (Some(r), Some(buf)) = (&self.recycle, buf) {
                    // A full queue just means the buffer is freed instead.
                    let _ = r.try_send(buf);
                }
            }
            self.control.advance(bytes);
        }
        Ok(())
    }

    pub(super) fn next(&mut self) -> Result<Option<FileLink>> {
        self.fill()?;
        Ok(self.ready.pop_front())
    }

    pub(super) fn done(&mut self) -> Result<bool> {
        self.fill()?;
        Ok(self.ready.is_empty())
    }
}

/// Hash and store one leaf.
fn leaf(w: &NodeWriter<'_>, kind: DataType, chunk: &mut Chunk) -> Result<FileLink> {
    let n = chunk.len();
    let link = if let Chunk::Shared { parts, .. } = chunk
        && n > 0
    {
        // The shared buffers are hashed and written as they are, between the leaf's framing.
        let mut slices: Vec<&[u8]> = Vec::with_capacity(parts.len() + 2);
        if w.opts.raw_leaves {
            slices.extend(parts.iter().map(|p| &p[..]));
            w.put_parts(Codec::Raw, &slices)?
        } else {
            let (head, tail) = leaf_frame(kind, n as u64);
            slices.push(&head);
            slices.extend(parts.iter().map(|p| &p[..]));
            slices.push(&tail);
            w.put_parts(Codec::DagPb, &slices)?
        }
    } else if w.opts.raw_leaves {
        w.put(Codec::Raw, &chunk.data())?
    } else if let Some(block) = frame_leaf_in_place(kind, chunk) {
        w.put(Codec::DagPb, block)?
    } else {
        w.put(Codec::DagPb, &encode_leaf(kind, &chunk.data()))?
    };
    Ok(FileLink {
        link,
        filesize: n as u64,
    })
}

/// The bytes of a dag-pb leaf `{Type=kind, Data=<n bytes>, filesize=n}` before its data and
/// after it (`n` > 0).
fn leaf_frame(kind: DataType, n: u64) -> (Vec<u8>, Vec<u8>) {
    let inner_len = (2 + 1 + varint_len(n) + n as usize + 1 + varint_len(n)) as u64;
    let mut head = Vec::with_capacity(HEADROOM);
    head.push(0x0a);
    put_varint(&mut head, inner_len);
    head.push(0x08);
    head.push(kind as u8);
    head.push(0x12);
    put_varint(&mut head, n);
    let mut tail = Vec::with_capacity(TAILROOM);
    tail.push(0x18);
    put_varint(&mut tail, n);
    (head, tail)
}

/// Turn an owned chunk into the dag-pb leaf `{Type=kind, Data=chunk, filesize}` by writing
/// the framing into the headroom and after the data; returns the block, or `None` when there
/// is no room (the caller then copies).
fn frame_leaf_in_place(kind: DataType, chunk: &mut Chunk) -> Option<&[u8]> {
    let n = chunk.len() as u64;
    let Chunk::Owned { buf, start } = chunk else {
        return None;
    };
    if n == 0 {
        return None;
    }
    let (head, tail) = leaf_frame(kind, n);
    let at = start.checked_sub(head.len())?;
    buf[at..*start].copy_from_slice(&head);
    buf.extend_from_slice(&tail);
    Some(&buf[at..])
}

/// Write an internal file node over `children`.
pub(super) fn commit_internal(
    w: &NodeWriter<'_>,
    children: &[FileLink],
    meta: Meta,
) -> Result<FileLink> {
    let (node, cid, bytes) = encode_internal(w, children, meta)?;
    w.put_encoded(&cid, &bytes)?;
    Ok(node)
}

/// Encode (but do not store) an internal file node over `children`.
fn encode_internal(
    w: &NodeWriter<'_>,
    children: &[FileLink],
    meta: Meta,
) -> Result<(FileLink, crate::Cid, Vec<u8>)> {
    let mut d = UnixfsData::new(DataType::File);
    d.blocksizes = children.iter().map(|c| c.filesize).collect();
    let filesize = d.blocksizes.iter().sum();
    d.filesize = Some(filesize);
    meta.apply(&mut d);
    let node = PbNode {
        links: children
            .iter()
            .map(|c| PbLink::new(c.link.cid, "", c.link.tsize))
            .collect(),
        data: Some(Bytes::from(d.encode())),
    };
    let (link, bytes) = w.encode_pb(&node)?;
    Ok((FileLink { link, filesize }, link.cid, bytes))
}

/// Balanced layout (boxo `balanced.Layout`), built bottom-up without recursion: `levels[h]`
/// holds the finished children of the node being filled at height `h + 1`. A node is written as
/// soon as it has `max_links` children; at the end the partial nodes are closed bottom-up until a
/// single root is left. Called only for inputs of two or more chunks.
///
/// A full node that opens a new top level may turn out to be the root; when metadata is wanted
/// its block is held back (with its children) until another leaf arrives, so that the root is
/// only ever written once, with its mode/mtime, as Kubo does.
fn balanced(stream: &mut LeafStream<'_, '_>, max_links: usize, meta: Meta) -> Result<FileLink> {
    let w = stream.w;
    let mut levels: Vec<Vec<FileLink>> = vec![Vec::new()];
    let mut held: Option<(Vec<FileLink>, crate::Cid, Vec<u8>)> = None;
    while let Some(leaf) = stream.next()? {
        if let Some((_, cid, bytes)) = held.take() {
            w.put_encoded(&cid, &bytes)?;
        }
        levels[0].push(leaf);
        let mut h = 0;
        while levels[h].len() == max_links {
            let children = std::mem::take(&mut levels[h]);
            let opens_top = levels.len() == h + 1;
            let node = if opens_top && !meta.is_empty() {
                let (node, cid, bytes) = encode_internal(w, &children, Meta::default())?;
                held = Some((children, cid, bytes));
                node
            } else {
                commit_internal(w, &children, Meta::default())?
            };
            if opens_top {
                levels.push(Vec::new());
            }
            levels[h + 1].push(node);
            h += 1;
        }
    }
    let mut h = 0;
    loop {
        let top = levels.len() - 1;
        if h == top && levels[h].len() == 1 {
            return match held.take() {
                Some((children, _, _)) => commit_internal(w, &children, meta),
                None => Ok(levels[h][0]),
            };
        }
        if !levels[h].is_empty() {
            if let Some((_, cid, bytes)) = held.take() {
                w.put_encoded(&cid, &bytes)?;
            }
            let children = std::mem::take(&mut levels[h]);
            if h == top {
                return commit_internal(w, &children, meta);
            }
            // Partial nodes below the top are kept even with a single child.
            let node = commit_internal(w, &children, Meta::default())?;
            levels[h + 1].push(node);
        }
        h += 1;
    }
}

/// Trickle layout (boxo `trickle.fillTrickleRec`): up to `max_links` leaves, then for depth
/// 1, 2, … (below `max_depth`, unbounded at the root) up to 4 subtrees of that depth each.
/// Recursion depth grows with log4 of the number of chunks, so it stays small.
pub(super) fn trickle_fill(
    stream: &mut LeafStream<'_, '_>,
    links: &mut Vec<FileLink>,
    max_links: usize,
    max_depth: Option<usize>,
) -> Result<()> {
    while links.len() < max_links {
        match stream.next()? {
            Some(l) => links.push(l),
            None => return Ok(()),
        }
    }
    let mut depth = 1;
    while max_depth.is_none_or(|m| depth < m) {
        if stream.done()? {
            break;
        }
        for _ in 0..TRICKLE_DEPTH_REPEAT {
            if stream.done()? {
                break;
            }
            let mut child = Vec::new();
            trickle_fill(stream, &mut child, max_links, Some(depth))?;
            links.push(commit_internal(stream.w, &child, Meta::default())?);
        }
        depth += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_encoding_matches_generic_encoders() {
        for kind in [DataType::File, DataType::Raw] {
            for len in [0usize, 1, 127, 128, 300, 70_000] {
                let chunk: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let mut d = UnixfsData::new(kind);
                if len > 0 {
                    d.data = Some(Bytes::from(chunk.clone()));
                }
                d.filesize = Some(len as u64);
                let node = PbNode {
                    links: vec![],
                    data: Some(Bytes::from(d.encode())),
                };
                assert_eq!(encode_leaf(kind, &chunk), node.encode(), "{kind:?} {len}");
                let mut buf = vec![0u8; HEADROOM];
                buf.extend_from_slice(&chunk);
                let mut c = Chunk::Owned {
                    buf,
                    start: HEADROOM,
                };
                match frame_leaf_in_place(kind, &mut c) {
                    Some(block) => assert_eq!(block, &node.encode()[..], "{kind:?} {len}"),
                    None => assert_eq!(len, 0),
                }
                if len > 0 {
                    let (head, tail) = leaf_frame(kind, len as u64);
                    assert_eq!(
                        [head, chunk, tail].concat(),
                        node.encode(),
                        "{kind:?} {len}"
                    );
                }
            }
        }
    }

    /// Hands out `data` in slices of the sizes in `cuts` (cycled), never more than asked.
    struct Slices {
        data: Bytes,
        cuts: Vec<usize>,
        at: usize,
    }

    impl SharedRead for Slices {
        fn read_shared(&mut self, max: usize) -> io::Result<Option<Bytes>> {
            if self.data.is_empty() {
                return Ok(None);
            }
            let want = self.cuts[self.at % self.cuts.len()].max(1);
            self.at += 1;
            let n = want.min(max).min(self.data.len());
            Ok(Some(self.data.split_to(n)))
        }
    }

    /// Importing shared buffers gives the blocks importing the same bytes from a reader gives,
    /// whatever the options and however the bytes are split.
    #[test]
    fn shared_buffers_import_like_a_reader() {
        use crate::import::{ImportOptions, import_file, import_shared};
        use crate::{HashAlg, MemoryBlocks};
        let data: Vec<u8> = (0..300_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mut variants = Vec::new();
        for (chunker, raw, v1, hash, trickle, inline) in [
            ("size-1000", false, false, HashAlg::Sha2_256, false, false),
            ("size-1000", true, true, HashAlg::Sha2_256, false, false),
            ("size-4096", false, true, HashAlg::Blake2b256, true, false),
            ("size-7", true, true, HashAlg::Sha2_256, false, true),
            (
                "rabin-2048-4096-8192",
                false,
                false,
                HashAlg::Sha2_256,
                false,
                false,
            ),
            ("buzhash", true, true, HashAlg::Blake3, false, false),
            ("size-262144", false, false, HashAlg::Sha2_256, false, false),
        ] {
            let mut o = ImportOptions {
                chunker: chunker.parse().unwrap(),
                raw_leaves: raw,
                cid_version: u8::from(v1),
                hash,
                inline,
                ..ImportOptions::default()
            };
            if trickle {
                o.layout = Layout::Trickle;
            }
            variants.push(o);
        }
        for opts in &variants {
            for len in [0usize, 1, 999, 1000, 1001, 20_000, data.len()] {
                let want_store = MemoryBlocks::new();
                let want =
                    import_file("f", &data[..len], opts, &want_store, &Control::new()).unwrap();
                for cuts in [vec![1], vec![333, 17, 4096], vec![65_536], vec![1_000_000]] {
                    let got_store = MemoryBlocks::new();
                    let mut src = Slices {
                        data: Bytes::copy_from_slice(&data[..len]),
                        cuts: cuts.clone(),
                        at: 0,
                    };
                    let got =
                        import_shared("f", &mut src, opts, &got_store, &Control::new()).unwrap();
                    assert_eq!(got.cid, want.cid, "{opts:?} len {len} cuts {cuts:?}");
                    assert_eq!(got.size, want.size);
                    let (mut a, mut b) = (got_store.cids(), want_store.cids());
                    a.sort();
                    b.sort();
                    assert_eq!(a, b);
                    for c in &a {
                        assert_eq!(
                            crate::BlockSource::get(&got_store, c).unwrap(),
                            crate::BlockSource::get(&want_store, c).unwrap()
                        );
                    }
                }
            }
        }
    }
}
