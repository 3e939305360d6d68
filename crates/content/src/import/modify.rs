//! Changing a UnixFS file in place the way Kubo's MFS does, so that `files write` gives Kubo's
//! CIDs. These are the rules of boxo's `unixfs/mod.DagModifier` over its trickle importer, read
//! from boxo v0.42 and written anew here:
//!
//! - A file created empty is the dag-pb node `{Type: File, filesize: 0}` with the requested CID
//!   prefix. A file whose node has CID version 1 gets raw leaves unless told otherwise.
//! - Bytes over existing data overwrite the leaves in place: leaf boundaries stay, each changed
//!   leaf keeps its own CID prefix, and the parent's link gets the new CID but keeps its old
//!   `Tsize`, as boxo leaves it.
//! - Bytes past the end are appended with the trickle layout (`trickle.Append`), in 256 KiB
//!   chunks, as dag-pb leaves of type `Raw` or as raw leaves. A raw-leaf file that grows becomes a
//!   dag-pb `File` node whose first child is the old raw block.
//! - Writing past the end first fills the gap with zeros, in 4 KiB chunks.
//! - Truncating cuts the DAG at the new size and keeps the cut leaf, even when it becomes empty.
//!   A cut dag-pb leaf is re-made with boxo's default CIDv0 prefix, whatever the file's prefix.
//! - A file with raw leaves whose root ends up with exactly one raw child and no mode or mtime
//!   is that raw block (boxo's `maybeCollapseToRawLeaf`), as `ipfs add` gives for one chunk.
//!
//! One deliberate difference: Kubo flushes its write buffer every 2 MiB plus one network read,
//! so appends longer than 2 MiB get a short leaf wherever a flush fell, which depends on how
//! the bytes arrived. Here a whole write is one flush, so its CIDs depend only on the bytes.

use std::io::{self, Read};

use bytes::Bytes;
use cid::Cid;

use super::file::{self, FileLink, LeafStream, TRICKLE_DEPTH_REPEAT};
use super::options::{DEFAULT_MAX_FILE_LINKS, ImportOptions, Layout, MAX_INLINE_LIMIT};
use super::{NodeLink, NodeWriter};
use crate::chunker::{ChunkerSpec, read_full};
use crate::export::MAX_FILE_DEPTH;
use crate::pb::{PbLink, PbNode};
use crate::unixfs::{DataType, Mtime, UnixfsData};
use crate::{BlockSink, BlockSource, Codec, Control, Error, HashAlg, Result, block_cid};

/// Chunk size of appended bytes (boxo's default splitter, 256 KiB).
pub const WRITE_CHUNK_SIZE: usize = 262_144;
/// Chunk size of the zeros that fill a gap before a write past the end (boxo: small, to dedup).
const SPARSE_CHUNK_SIZE: usize = 4096;
/// Most zeros one call fills in before a write past the end (or a growing truncate): more would be
/// hours of hashing and gigabytes of tree nodes for one request.
pub const MAX_ZERO_FILL: u64 = 4 << 30;
/// Bytes read ahead to learn whether the input has more.
const LOOKAHEAD: usize = 64 << 10;

/// The CID settings of a node: version and hash function (boxo's `cid.Prefix`; the codec
/// follows from the node).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    /// CID version (0 or 1). Raw blocks are always version 1.
    pub version: u8,
    /// Hash function.
    pub hash: HashAlg,
}

impl Prefix {
    /// CIDv0 with sha2-256: Kubo's default, and boxo's default builder.
    pub const V0: Prefix = Prefix {
        version: 0,
        hash: HashAlg::Sha2_256,
    };

    /// The prefix of an existing CID.
    pub fn of(cid: &Cid) -> Result<Prefix> {
        let code = cid.hash().code();
        let hash = HashAlg::from_code(code)
            .ok_or_else(|| Error::UnsupportedHash(format!("0x{code:x}")))?;
        let version = match cid.version() {
            cid::Version::V0 => 0,
            cid::Version::V1 => 1,
        };
        Ok(Prefix { version, hash })
    }

    /// Kubo's `files write` prefix for `--cid-version` / `--hash`: a hash other than the
    /// default implies version 1.
    pub fn for_flags(cid_version: Option<u8>, hash: Option<HashAlg>) -> Result<Prefix> {
        let mut version = cid_version.unwrap_or(0);
        if hash.is_some() && version == 0 {
            version = 1;
        }
        if version > 1 {
            return Err(Error::InvalidOption(format!(
                "unknown CID version {version}"
            )));
        }
        Ok(Prefix {
            version,
            hash: hash.unwrap_or_default(),
        })
    }
}

/// Store an empty UnixFS file node (`{Type: File, filesize: 0}`) with `prefix`: what Kubo's
/// `files write --create` starts from.
pub fn empty_file(sink: &dyn BlockSink, prefix: Prefix) -> Result<NodeLink> {
    let mut d = UnixfsData::new(DataType::File);
    d.filesize = Some(0);
    let bytes = PbNode {
        links: Vec::new(),
        data: Some(Bytes::from(d.encode())),
    }
    .encode();
    let cid = block_cid(prefix.version, Codec::DagPb, prefix.hash, &bytes)?;
    if prefix.hash != HashAlg::Identity {
        sink.put(&cid, &bytes)?;
    }
    Ok(NodeLink {
        cid,
        tsize: bytes.len() as u64,
    })
}

/// An opened dag-pb file node (boxo's `FSNodeOverDag`).
#[derive(Debug, Clone)]
struct PbFile {
    /// The prefix it is stored with.
    prefix: Prefix,
    /// Links and data as stored; `data` is re-encoded from `fs` only by [`PbFile::commit`].
    pb: PbNode,
    fs: UnixfsData,
}

impl PbFile {
    fn children(&self) -> usize {
        self.fs.blocksizes.len()
    }

    fn filesize(&self) -> u64 {
        self.fs.filesize.unwrap_or(0)
    }

    fn add_child(&mut self, child: FileLink) {
        self.pb
            .links
            .push(PbLink::new(child.link.cid, "", child.link.tsize));
        self.fs.blocksizes.push(child.filesize);
        self.fs.filesize = Some(self.filesize().wrapping_add(child.filesize));
    }

    fn remove_child(&mut self, i: usize) {
        let size = self.fs.blocksizes.remove(i);
        self.fs.filesize = Some(self.filesize().wrapping_sub(size));
        self.pb.links.remove(i);
    }

    /// Write the UnixFS fields back into the node's data.
    fn commit(&mut self) {
        self.pb.data = Some(Bytes::from(self.fs.encode()));
    }

    fn touch(&mut self) {
        if self.fs.mtime.is_some() {
            self.fs.mtime = Some(now());
        }
    }
}

/// A node of a file DAG.
enum Node {
    Raw(Cid, Bytes),
    Pb(PbFile),
}

fn now() -> Mtime {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Mtime {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: Some(d.subsec_nanos()).filter(|&n| n != 0),
    }
}

/// The bytes still to write: a reader with a look-ahead (boxo's write buffer).
struct Input<R> {
    reader: R,
    ahead: Vec<u8>,
    pos: usize,
    eof: bool,
    taken: u64,
}

impl<R: Read> Input<R> {
    fn new(reader: R) -> Self {
        Input {
            reader,
            ahead: Vec::new(),
            pos: 0,
            eof: false,
            taken: 0,
        }
    }

    /// Whether nothing is left (reads ahead to find out).
    fn is_empty(&mut self) -> io::Result<bool> {
        if self.pos < self.ahead.len() {
            return Ok(false);
        }
        if self.eof {
            return Ok(true);
        }
        self.ahead.resize(LOOKAHEAD, 0);
        let n = read_full(&mut self.reader, &mut self.ahead)?;
        self.ahead.truncate(n);
        self.pos = 0;
        self.eof = n < LOOKAHEAD;
        Ok(n == 0)
    }

    /// Fill as much of `buf` as the input allows; returns how much.
    fn fill(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = buf.len().min(self.ahead.len() - self.pos);
        buf[..k].copy_from_slice(&self.ahead[self.pos..self.pos + k]);
        self.pos += k;
        let mut n = k;
        if n < buf.len() && !self.eof {
            let m = read_full(&mut self.reader, &mut buf[n..])?;
            if m < buf.len() - n {
                self.eof = true;
            }
            n += m;
        }
        self.taken += n as u64;
        Ok(n)
    }
}

impl<R: Read> Read for Input<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = if self.pos < self.ahead.len() {
            let k = buf.len().min(self.ahead.len() - self.pos);
            buf[..k].copy_from_slice(&self.ahead[self.pos..self.pos + k]);
            self.pos += k;
            k
        } else if self.eof {
            0
        } else {
            self.reader.read(buf)?
        };
        self.taken += n as u64;
        Ok(n)
    }
}

/// Changes to one UnixFS file (boxo's `DagModifier`). Every node it makes is stored at once;
/// [`Modifier::finish`] gives the new root.
pub struct Modifier<'a, S> {
    store: &'a S,
    /// The current root.
    cur: Cid,
    /// Prefix of the file as opened: new nodes get it.
    prefix: Prefix,
    raw_leaves: bool,
    control: &'a Control,
}

impl<'a, S: BlockSource + BlockSink> Modifier<'a, S> {
    /// Open the file whose root is `root`. `raw_leaves` (`--raw-leaves`) decides the kind of
    /// new leaves; by default a file with a CIDv1 root gets raw leaves.
    pub fn open(
        store: &'a S,
        root: Cid,
        raw_leaves: Option<bool>,
        control: &'a Control,
    ) -> Result<Self> {
        let prefix = Prefix::of(&root)?;
        let m = Modifier {
            store,
            cur: root,
            prefix,
            raw_leaves: raw_leaves.unwrap_or(prefix.version > 0),
            control,
        };
        m.load(&root, 0)?;
        Ok(m)
    }

    /// The file's current size.
    pub fn size(&self) -> Result<u64> {
        Ok(file_size(&self.load(&self.cur, 0)?))
    }

    /// Cut the file to `size` bytes, or grow it with zeros.
    pub fn truncate(&mut self, size: u64) -> Result<()> {
        let real = self.size()?;
        if size == real {
            return Ok(());
        }
        if size > real {
            return self.expand_sparse(size - real);
        }
        let node = self.load(&self.cur, 0)?;
        self.cur = self.dag_truncate(&self.cur.clone(), node, size, 0)?.cid;
        Ok(())
    }

    /// Write everything `data` gives at `offset` (zero-filling any gap before it); returns the
    /// number of bytes written.
    pub fn write_at<R: Read + Send>(&mut self, offset: u64, data: R) -> Result<u64> {
        let size = self.size()?;
        if offset > size {
            self.expand_sparse(offset - size)?;
        }
        let mut input = Input::new(data);
        if input.is_empty()? {
            return Ok(0);
        }
        self.cur = self.modify_dag(self.cur, offset, &mut input, 0)?;
        if !input.is_empty()? {
            self.cur = self.append(self.cur, &mut input, WRITE_CHUNK_SIZE)?;
        }
        Ok(input.taken)
    }

    /// The file's root after the changes, with the cumulative size a directory link to it
    /// carries.
    pub fn finish(self) -> Result<NodeLink> {
        match self.load(&self.cur, 0)? {
            Node::Raw(cid, bytes) => Ok(NodeLink {
                cid,
                tsize: bytes.len() as u64,
            }),
            Node::Pb(f) => {
                let only_raw_child = match f.pb.links.as_slice() {
                    [l] if l.cid.codec() == Codec::Raw.code() => Some(l.cid),
                    _ => None,
                };
                if let Some(child) = only_raw_child
                    && self.raw_leaves
                    && f.fs.mtime.is_none()
                    && f.fs.mode.unwrap_or(0) & 0o7777 == 0
                {
                    let len = self.store.get(&child)?.len() as u64;
                    return Ok(NodeLink {
                        cid: child,
                        tsize: len,
                    });
                }
                Ok(NodeLink {
                    cid: self.cur,
                    tsize: f.pb.encoded_len() as u64
                        + f.pb.links.iter().map(|l| l.tsize.unwrap_or(0)).sum::<u64>(),
                })
            }
        }
    }

    fn load(&self, cid: &Cid, depth: usize) -> Result<Node> {
        if depth >= MAX_FILE_DEPTH {
            return Err(Error::malformed(
                "unixfs",
                format!("file DAG deeper than {MAX_FILE_DEPTH} levels"),
            ));
        }
        let bytes = self.store.get(cid)?;
        let codec = cid.codec();
        if codec == Codec::Raw.code() {
            return Ok(Node::Raw(*cid, bytes));
        }
        if codec != Codec::DagPb.code() {
            return Err(Error::WrongKind(format!(
                "{cid} is not a UnixFS file (codec 0x{codec:x})"
            )));
        }
        let pb = PbNode::decode(&bytes)?;
        let fs = UnixfsData::decode(&pb.data.clone().unwrap_or_default())?;
        if !matches!(fs.kind, DataType::File | DataType::Raw) {
            return Err(Error::WrongKind(format!("{cid} is not a UnixFS file")));
        }
        if !pb.links.is_empty() && pb.links.len() != fs.blocksizes.len() {
            return Err(Error::malformed(
                "unixfs",
                format!(
                    "{cid} has {} links but {} block sizes",
                    pb.links.len(),
                    fs.blocksizes.len()
                ),
            ));
        }
        Ok(Node::Pb(PbFile {
            prefix: Prefix::of(cid)?,
            pb,
            fs,
        }))
    }

    /// The CID of a new block with `prefix`; an identity prefix too long to inline falls back
    /// to the file's prefix, or to sha2-256.
    fn cid_for(&self, prefix: Prefix, codec: Codec, bytes: &[u8]) -> Result<Cid> {
        let mut p = prefix;
        if p.hash == HashAlg::Identity && bytes.len() > MAX_INLINE_LIMIT {
            p = self.prefix;
            if p.hash == HashAlg::Identity {
                p.hash = HashAlg::Sha2_256;
            }
        }
        let version = if codec == Codec::Raw { 1 } else { p.version };
        block_cid(version, codec, p.hash, bytes)
    }

    fn put(&self, cid: &Cid, bytes: &[u8]) -> Result<()> {
        if cid.hash().code() == HashAlg::Identity.code() {
            return Ok(());
        }
        self.store.put(cid, bytes)
    }

    fn store_pb(&self, f: &PbFile) -> Result<NodeLink> {
        let bytes = f.pb.encode();
        let cid = self.cid_for(f.prefix, Codec::DagPb, &bytes)?;
        self.put(&cid, &bytes)?;
        Ok(NodeLink {
            cid,
            tsize: bytes.len() as u64
                + f.pb.links.iter().map(|l| l.tsize.unwrap_or(0)).sum::<u64>(),
        })
    }

    fn store_raw(&self, prefix: Prefix, data: &[u8]) -> Result<NodeLink> {
        let cid = self.cid_for(prefix, Codec::Raw, data)?;
        self.put(&cid, data)?;
        Ok(NodeLink {
            cid,
            tsize: data.len() as u64,
        })
    }

    /// Overwrite the bytes from `offset` inside the existing DAG under `cid` with input
    /// (boxo's `modifyDag`); returns the new CID.
    fn modify_dag<R: Read>(
        &self,
        cid: Cid,
        offset: u64,
        input: &mut Input<R>,
        depth: usize,
    ) -> Result<Cid> {
        self.control.check()?;
        match self.load(&cid, depth)? {
            Node::Raw(_, bytes) => {
                let buf = self.overwrite(&cid, &bytes, offset, input)?;
                Ok(self.store_raw(Prefix::of(&cid)?, &buf)?.cid)
            }
            Node::Pb(mut f) if f.pb.links.is_empty() => {
                // A leaf without data (an empty file node) keeps having none.
                if f.fs.data.is_some() || offset > 0 {
                    let data = f.fs.data.take().unwrap_or_default();
                    f.fs.data = Some(Bytes::from(self.overwrite(&cid, &data, offset, input)?));
                }
                f.touch();
                f.commit();
                Ok(self.store_pb(&f)?.cid)
            }
            Node::Pb(mut f) => {
                let mut offset = offset;
                let mut cur = 0u64;
                let mut changed = false;
                for i in 0..f.children() {
                    let bs = f.fs.blocksizes[i];
                    if cur.saturating_add(bs) > offset {
                        let child = f.pb.links[i].cid;
                        f.pb.links[i].cid =
                            self.modify_dag(child, offset - cur, input, depth + 1)?;
                        changed = true;
                        if input.is_empty()? {
                            break;
                        }
                        offset = cur + bs;
                    }
                    cur = cur.saturating_add(bs);
                }
                if !changed {
                    return Ok(cid);
                }
                Ok(self.store_pb(&f)?.cid)
            }
        }
    }

    /// The leaf bytes `data` of `cid` with the input written over them from `offset`, never past
    /// their end.
    fn overwrite<R: Read>(
        &self,
        cid: &Cid,
        data: &[u8],
        offset: u64,
        input: &mut Input<R>,
    ) -> Result<Vec<u8>> {
        let at = usize::try_from(offset)
            .ok()
            .filter(|&o| o <= data.len())
            .ok_or_else(|| {
                Error::malformed(
                    "unixfs",
                    format!("{cid}: write offset {offset} is beyond the leaf's data"),
                )
            })?;
        let mut buf = data.to_vec();
        let n = input.fill(&mut buf[at..])?;
        self.control.advance(n as u64);
        Ok(buf)
    }

    /// Grow the file by `n` zeros (boxo's `expandSparse`).
    fn expand_sparse(&mut self, n: u64) -> Result<()> {
        if n > MAX_ZERO_FILL {
            return Err(Error::InvalidOption(format!(
                "this would fill {n} bytes with zeros; at most {MAX_ZERO_FILL} per write"
            )));
        }
        self.cur = self.append(self.cur, io::repeat(0).take(n), SPARSE_CHUNK_SIZE)?;
        Ok(())
    }

    /// Append everything `data` gives to the file under `cid` (boxo's `appendData`).
    fn append<R: Read + Send>(&self, cid: Cid, data: R, chunk: usize) -> Result<Cid> {
        let (mut root, raw_leaves) = match self.load(&cid, 0)? {
            Node::Pb(f) => (f, self.raw_leaves),
            Node::Raw(raw, bytes) => {
                // A raw block can't have children: it becomes the first child of a File node.
                let len = bytes.len() as u64;
                let mut fs = UnixfsData::new(DataType::File);
                fs.filesize = Some(len);
                fs.blocksizes = vec![len];
                let pb = PbNode {
                    links: vec![PbLink::new(raw, "", len)],
                    data: Some(Bytes::from(fs.encode())),
                };
                let prefix = self.prefix;
                (PbFile { prefix, pb, fs }, true)
            }
        };
        let mut opts = ImportOptions {
            cid_version: self.prefix.version,
            raw_leaves,
            hash: self.prefix.hash,
            chunker: ChunkerSpec::Size { size: chunk },
            layout: Layout::Trickle,
            max_file_links: DEFAULT_MAX_FILE_LINKS,
            ..ImportOptions::default()
        };
        if opts.hash == HashAlg::Identity {
            opts.hash = HashAlg::Sha2_256;
            opts.inline = true;
            opts.inline_limit = MAX_INLINE_LIMIT;
        }
        let w = NodeWriter {
            opts: &opts,
            sink: self.store,
        };
        file::stream_leaves(data, &w, self.control, DataType::Raw, |stream| {
            Trickle { m: self, stream }.append(&mut root)
        })?;
        root.commit();
        Ok(self.store_pb(&root)?.cid)
    }

    /// Cut the DAG `node` (stored as `cid`) at `size` (boxo's `dagTruncate`); returns the
    /// stored new node.
    fn dag_truncate(&self, cid: &Cid, node: Node, size: u64, depth: usize) -> Result<NodeLink> {
        self.control.check()?;
        let too_far = || {
            Error::malformed(
                "unixfs",
                format!("{cid}: cannot cut at {size}, beyond the leaf's data"),
            )
        };
        match node {
            Node::Raw(_, bytes) => {
                let end = usize::try_from(size)
                    .ok()
                    .filter(|&s| s <= bytes.len())
                    .ok_or_else(too_far)?;
                self.store_raw(Prefix::of(cid)?, &bytes[..end])
            }
            Node::Pb(mut f) if f.pb.links.is_empty() => {
                match f.fs.data.take() {
                    Some(d) => {
                        let end = usize::try_from(size)
                            .ok()
                            .filter(|&s| s <= d.len())
                            .ok_or_else(too_far)?;
                        let cut = (d.len() - end) as u64;
                        f.fs.filesize = Some(f.filesize().wrapping_sub(cut));
                        f.fs.data = Some(d.slice(..end));
                    }
                    None if size == 0 => {}
                    None => return Err(too_far()),
                }
                f.touch();
                f.commit();
                // boxo re-makes the leaf with its default builder: CIDv0, whatever it was.
                f.prefix = Prefix::V0;
                self.store_pb(&f)
            }
            Node::Pb(mut f) => {
                f.fs.blocksizes.clear();
                f.fs.filesize = Some(f.fs.data.as_ref().map_or(0, |d| d.len() as u64));
                let mut cur = 0u64;
                let mut cut = None;
                for (i, link) in f.pb.links.iter().enumerate() {
                    let child = self.load(&link.cid, depth + 1)?;
                    let child_size = file_size(&child);
                    if size < cur.saturating_add(child_size) {
                        let new = self.dag_truncate(&link.cid, child, size - cur, depth + 1)?;
                        cut = Some((i, new, size - cur));
                        break;
                    }
                    cur = cur.saturating_add(child_size);
                    f.fs.blocksizes.push(child_size);
                    f.fs.filesize = Some(f.filesize().wrapping_add(child_size));
                }
                let (end, new, kept) = cut.ok_or_else(|| {
                    Error::malformed("unixfs", format!("{cid}: its children hold no byte {size}"))
                })?;
                f.fs.blocksizes.push(kept);
                f.fs.filesize = Some(f.filesize().wrapping_add(kept));
                f.pb.links.truncate(end);
                f.pb.links.push(PbLink::new(new.cid, "", new.tsize));
                f.commit();
                self.store_pb(&f)
            }
        }
    }
}

/// The file size a node declares.
fn file_size(node: &Node) -> u64 {
    match node {
        Node::Raw(_, b) => b.len() as u64,
        Node::Pb(f) => f.filesize(),
    }
}

/// boxo's `trickle.Append` over a stream of new leaves.
struct Trickle<'m, 'a, 's, 'w, 'c, S> {
    m: &'m Modifier<'a, S>,
    stream: &'s mut LeafStream<'w, 'c>,
}

/// Where a trickle node's filling stopped: the depth of the subtrees being added and how many
/// of that depth are there (boxo's `trickleDepthInfo`).
fn depth_info(children: usize) -> (i64, i64) {
    if children < DEFAULT_MAX_FILE_LINKS {
        return (0, 0);
    }
    let subtrees = (children - DEFAULT_MAX_FILE_LINKS) as i64;
    let repeat = TRICKLE_DEPTH_REPEAT as i64;
    (subtrees / repeat + 1, subtrees % repeat)
}

impl<S: BlockSource + BlockSink> Trickle<'_, '_, '_, '_, '_, S> {
    fn done(&mut self) -> Result<bool> {
        self.stream.done()
    }

    /// Add leaves until the node has its share of direct leaves (`FillNodeLayer`).
    fn fill_layer(&mut self, f: &mut PbFile) -> Result<()> {
        while f.children() < DEFAULT_MAX_FILE_LINKS {
            match self.stream.next()? {
                Some(leaf) => f.add_child(leaf),
                None => break,
            }
        }
        Ok(())
    }

    /// A new trickle subtree of at most `depth` (boxo's `fillTrickleRec`; -1 is unbounded).
    fn subtree(&mut self, depth: i64) -> Result<FileLink> {
        let max_depth = if depth == -1 {
            None
        } else {
            Some(usize::try_from(depth).unwrap_or(0))
        };
        let mut links = Vec::new();
        file::trickle_fill(self.stream, &mut links, DEFAULT_MAX_FILE_LINKS, max_depth)?;
        file::commit_internal(self.stream.w, &links, file::Meta::default())
    }

    fn append(&mut self, f: &mut PbFile) -> Result<()> {
        let (mut depth, repeat) = depth_info(f.children());
        if depth == 0 {
            self.fill_layer(f)?;
            if self.done()? {
                f.touch();
                return Ok(());
            }
            depth += 1;
        }
        self.grow(f, depth, depth - 1, repeat, None)
    }

    /// Fill the last child (allowed `last_depth`), then add rounds of subtrees one level deeper
    /// each, from `depth` (or the next level when data is left), below `max_depth` if any.
    fn grow(
        &mut self,
        f: &mut PbFile,
        depth: i64,
        last_depth: i64,
        repeat: i64,
        max_depth: Option<i64>,
    ) -> Result<()> {
        self.fill_last_child(f, last_depth, repeat)?;
        let mut i = if self.done()? { depth } else { depth + 1 };
        while max_depth.is_none_or(|m| i < m) && !self.done()? {
            for _ in 0..TRICKLE_DEPTH_REPEAT {
                if self.done()? {
                    break;
                }
                let child = self.subtree(i)?;
                f.add_child(child);
            }
            i += 1;
        }
        Ok(())
    }

    /// boxo's `appendFillLastChild`.
    fn fill_last_child(&mut self, f: &mut PbFile, depth: i64, repeat: i64) -> Result<()> {
        if f.children() <= DEFAULT_MAX_FILE_LINKS {
            return Ok(());
        }
        let last = f.children() - 1;
        let last_cid = f.pb.links[last].cid;
        let mut child = match self.m.load(&last_cid, 1)? {
            Node::Pb(c) => c,
            Node::Raw(..) => {
                return Err(Error::malformed(
                    "unixfs",
                    format!("{last_cid}: a trickle subtree must be dag-pb"),
                ));
            }
        };
        let size = self.append_rec(&mut child, depth - 1)?;
        f.remove_child(last);
        child.commit();
        let link = self.m.store_pb(&child)?;
        f.add_child(FileLink {
            link,
            filesize: size,
        });
        let mut r = repeat;
        if r != 0 {
            while r < TRICKLE_DEPTH_REPEAT as i64 && !self.done()? {
                let sub = self.subtree(depth)?;
                f.add_child(sub);
                r += 1;
            }
        }
        Ok(())
    }

    /// boxo's `appendRec`: go on filling a subtree allowed `max_depth` levels.
    fn append_rec(&mut self, f: &mut PbFile, max_depth: i64) -> Result<u64> {
        if max_depth == 0 || self.done()? {
            return Ok(f.filesize());
        }
        let (mut depth, repeat) = depth_info(f.children());
        if depth == 0 {
            self.fill_layer(f)?;
            depth += 1;
        }
        if depth == max_depth {
            return Ok(f.filesize());
        }
        self.grow(f, depth, depth, repeat, Some(max_depth))?;
        Ok(f.filesize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryBlocks;

    fn write(
        store: &MemoryBlocks,
        root: Option<Cid>,
        create: Prefix,
        raw_leaves: Option<bool>,
        truncate: bool,
        offset: u64,
        data: &[u8],
    ) -> Cid {
        let control = Control::new();
        let root = match root {
            Some(c) => c,
            None => empty_file(store, create).unwrap().cid,
        };
        let mut m = Modifier::open(store, root, raw_leaves, &control).unwrap();
        if truncate {
            m.truncate(0).unwrap();
        }
        assert_eq!(m.write_at(offset, data).unwrap(), data.len() as u64);
        m.finish().unwrap().cid
    }

    /// Kubo's sharness t0250-files-api.sh: "ipfs rocks\n", then "is super cool\n" at offset
    /// 5 (FILE_HASH); "some content\n", then "fish\n" with --truncate (TRUNC_HASH). Each mode
    /// as the script runs it: defaults, --raw-leaves, --cid-version=1, and blake2b-256 (there
    /// through Import.HashFunction, which is the same prefix as --hash).
    #[test]
    fn kubo_t0250_vectors() {
        let blake = Prefix::for_flags(None, Some(HashAlg::Blake2b256)).unwrap();
        let v1 = Prefix::for_flags(Some(1), None).unwrap();
        let cases = [
            (
                "defaults",
                Prefix::V0,
                None,
                "QmQdQt9qooenjeaNhiKHF3hBvmNteB4MQBtgu3jxgf9c7i",
                "QmPVnT9gocPbqzN4G6SMp8vAPyzcjDbUJrNdKgzQquuDg4",
            ),
            (
                "raw-leaves",
                Prefix::V0,
                Some(true),
                "bafybeibkrazpbejqh3qun7xfnsl7yofl74o4jwhxebpmtrcpavebokuqtm",
                "bafybeigwhb3q36yrm37jv5fo2ap6r6eyohckqrxmlejrenex4xlnuxiy3e",
            ),
            (
                "cid-version=1",
                v1,
                None,
                "bafybeibkrazpbejqh3qun7xfnsl7yofl74o4jwhxebpmtrcpavebokuqtm",
                "bafybeigwhb3q36yrm37jv5fo2ap6r6eyohckqrxmlejrenex4xlnuxiy3e",
            ),
            (
                "blake2b-256",
                blake,
                None,
                "bafykbzaceca45w2i3o3q3ctqsezdv5koakz7sxsw37ygqjg4w54m2bshzevxy",
                "bafykbzaceadeu7onzmlq7v33ytjpmo37rsqk2q6mzeqf5at55j32zxbcdbwig",
            ),
        ];
        for (mode, prefix, raw, file_hash, trunc_hash) in cases {
            let store = MemoryBlocks::new();
            let a = write(&store, None, prefix, raw, false, 0, b"ipfs rocks\n");
            let b = write(&store, Some(a), prefix, raw, false, 5, b"is super cool\n");
            assert_eq!(b.to_string(), file_hash, "{mode}: FILE_HASH");
            let mut out = Vec::new();
            crate::export::cat(&store, &b, 0, None)
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, b"ipfs is super cool\n", "{mode}");

            let c = write(&store, None, prefix, raw, false, 0, b"some content\n");
            let d = write(&store, Some(c), prefix, raw, true, 0, b"fish\n");
            assert_eq!(d.to_string(), trunc_hash, "{mode}: TRUNC_HASH");
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Write { offset: u64, len: usize, byte: u8 },
        Truncate(u64),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            4 => (0u64..800_000, 1usize..600_000, any::<u8>())
                .prop_map(|(offset, len, byte)| Op::Write { offset, len, byte }),
            1 => (0u64..700_000).prop_map(Op::Truncate),
        ]
    }

    fn cat(store: &MemoryBlocks, cid: &Cid) -> Vec<u8> {
        let mut out = Vec::new();
        crate::export::cat(store, cid, 0, None)
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

        /// Any sequence of writes (inside, across and past the end, so with gaps of thousands of
        /// 4 KiB zero leaves and trickle subtrees) and truncations reads back as the same
        /// changes made to a byte vector, reopening the file after each step as MFS does.
        #[test]
        fn changes_read_back_like_a_byte_vector(
            ops in proptest::collection::vec(op(), 1..6),
            v1 in proptest::bool::ANY,
            raw in proptest::option::of(proptest::bool::ANY),
        ) {
            let store = MemoryBlocks::new();
            let control = Control::new();
            let prefix = if v1 { Prefix { version: 1, hash: HashAlg::Sha2_256 } } else { Prefix::V0 };
            let mut root = empty_file(&store, prefix).unwrap().cid;
            let mut model: Vec<u8> = Vec::new();
            for op in ops {
                let mut m = Modifier::open(&store, root, raw, &control).unwrap();
                match op {
                    Op::Write { offset, len, byte } => {
                        let data: Vec<u8> = (0..len).map(|i| byte.wrapping_add(i as u8)).collect();
                        assert_eq!(m.write_at(offset, &data[..]).unwrap(), len as u64);
                        let end = offset as usize + len;
                        if model.len() < end {
                            model.resize(end, 0);
                        }
                        model[offset as usize..end].copy_from_slice(&data);
                    }
                    Op::Truncate(n) => {
                        m.truncate(n).unwrap();
                        model.resize(n as usize, 0);
                    }
                }
                assert_eq!(m.size().unwrap(), model.len() as u64);
                root = m.finish().unwrap().cid;
                let back = cat(&store, &root);
                assert_eq!(back.len(), model.len());
                assert!(back == model, "content differs after {root}");
                let st = crate::export::stat(&store, &root).unwrap();
                assert_eq!(st.size, model.len() as u64);
            }
        }
    }

    #[test]
    fn a_write_past_the_end_fills_the_gap_with_4_kib_zero_leaves() {
        let store = MemoryBlocks::new();
        let control = Control::new();
        let root = empty_file(&store, Prefix::V0).unwrap().cid;
        let mut m = Modifier::open(&store, root, None, &control).unwrap();
        m.write_at(0, &b"foobar\n"[..]).unwrap();
        let root = m.finish().unwrap().cid;
        let mut m = Modifier::open(&store, root, None, &control).unwrap();
        // 2 MB of gap: 489 zero leaves, more than the 174 direct links of a trickle node.
        m.write_at(2_000_007, &b"blah\n"[..]).unwrap();
        let root = m.finish().unwrap().cid;
        let node = PbNode::decode(&store.get(&root).unwrap()).unwrap();
        let fs = UnixfsData::decode(&node.data.clone().unwrap()).unwrap();
        assert_eq!(fs.filesize, Some(2_000_012));
        assert_eq!(fs.blocksizes[..3], [7, 4096, 4096]);
        assert!(
            fs.blocksizes.len() > DEFAULT_MAX_FILE_LINKS,
            "trickle subtrees follow"
        );
        let back = cat(&store, &root);
        assert_eq!(&back[..7], b"foobar\n");
        assert!(back[7..2_000_007].iter().all(|&b| b == 0));
        assert_eq!(&back[2_000_007..], b"blah\n");
    }

    #[test]
    fn bad_files_are_refused_and_cancel_stops_a_write() {
        let store = MemoryBlocks::new();
        let control = Control::new();
        let dir = crate::block_cid(
            0,
            Codec::DagPb,
            HashAlg::Sha2_256,
            &[0x0a, 0x02, 0x08, 0x01],
        )
        .unwrap();
        store.put(&dir, &[0x0a, 0x02, 0x08, 0x01]).unwrap();
        assert!(matches!(
            Modifier::open(&store, dir, None, &control),
            Err(Error::WrongKind(_))
        ));
        let junk = crate::block_cid(0, Codec::DagPb, HashAlg::Sha2_256, b"\xff\xff").unwrap();
        store.put(&junk, b"\xff\xff").unwrap();
        assert!(Modifier::open(&store, junk, None, &control).is_err());
        let cbor = crate::block_cid(1, Codec::DagCbor, HashAlg::Sha2_256, &[0xa0]).unwrap();
        store.put(&cbor, &[0xa0]).unwrap();
        assert!(matches!(
            Modifier::open(&store, cbor, None, &control),
            Err(Error::WrongKind(_))
        ));
        // Two links but one block size: refused, not indexed out of range.
        let leaf = empty_file(&store, Prefix::V0).unwrap();
        let mut fs = UnixfsData::new(DataType::File);
        fs.filesize = Some(0);
        fs.blocksizes = vec![0];
        let bad = PbNode {
            links: vec![PbLink::new(leaf.cid, "", 6), PbLink::new(leaf.cid, "", 6)],
            data: Some(Bytes::from(fs.encode())),
        }
        .encode();
        let bad_cid = crate::block_cid(0, Codec::DagPb, HashAlg::Sha2_256, &bad).unwrap();
        store.put(&bad_cid, &bad).unwrap();
        assert!(Modifier::open(&store, bad_cid, None, &control).is_err());

        let root = empty_file(&store, Prefix::V0).unwrap().cid;
        let mut m = Modifier::open(&store, root, None, &control).unwrap();
        let n = store.len();
        assert!(matches!(
            m.write_at(MAX_ZERO_FILL + 1, &b"x"[..]),
            Err(Error::InvalidOption(_))
        ));
        assert!(matches!(m.truncate(u64::MAX), Err(Error::InvalidOption(_))));
        assert_eq!(store.len(), n, "nothing stored");

        let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let cancelled = Control::new().with_cancel(cancel);
        let root = empty_file(&store, Prefix::V0).unwrap().cid;
        let mut m = Modifier::open(&store, root, None, &cancelled).unwrap();
        let big = vec![7u8; 3 << 20];
        assert!(matches!(m.write_at(0, &big[..]), Err(Error::Cancelled)));
    }
}
