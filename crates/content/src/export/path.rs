use cid::Cid;

use super::hamt;
use super::node::{Loaded, kind_of, load};
use crate::unixfs::DataType;
use crate::{BlockSource, Error, Result, parse_cid};

/// Most segments a path may have.
pub const MAX_PATH_SEGMENTS: usize = 4096;

fn bad(path: &str, reason: impl Into<String>) -> Error {
    Error::InvalidPath {
        path: path.chars().take(300).collect(),
        reason: reason.into(),
    }
}

/// Check a directory entry name before using it on disk or in a path: not empty, not `.` or
/// `..`, no `/`, no NUL byte.
pub fn validate_entry_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        "empty name"
    } else if name == "." || name == ".." {
        "`.` and `..` are not allowed"
    } else if name.contains('/') {
        "a name may not contain `/`"
    } else if name.contains('\0') {
        "a name may not contain a NUL byte"
    } else {
        return Ok(());
    };
    Err(bad(name, reason))
}

/// Split a relative path (`a/b`, `/a/b`, `a/b/`) into validated segments.
fn segments<'p>(full: &str, rest: &'p str) -> Result<Vec<&'p str>> {
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let segs: Vec<&str> = rest.split('/').collect();
    if segs.len() > MAX_PATH_SEGMENTS {
        return Err(bad(full, format!("more than {MAX_PATH_SEGMENTS} segments")));
    }
    for s in &segs {
        validate_entry_name(s).map_err(|_| {
            bad(
                full,
                match *s {
                    "" => "empty segment (`//`)".to_string(),
                    "." | ".." => format!("segment {s:?} is not allowed"),
                    _ => "segment contains a NUL byte".to_string(),
                },
            )
        })?;
    }
    Ok(segs)
}

/// Split `/ipfs/CID/a/b`, `ipfs/CID/a/b`, `CID/a/b` or `CID` into the root CID and its segments.
pub fn parse_ipfs_path(path: &str) -> Result<(Cid, Vec<String>)> {
    let rest = path
        .strip_prefix("/ipfs/")
        .or_else(|| path.strip_prefix("ipfs/"))
        .unwrap_or(path);
    if rest.starts_with("/ipns/") || path.starts_with("/ipns/") {
        return Err(bad(path, "IPNS paths are not resolved here"));
    }
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let (root, tail) = rest.split_once('/').unwrap_or((rest, ""));
    if root.is_empty() {
        return Err(bad(path, "no CID"));
    }
    let cid = parse_cid(root)?;
    let segs = segments(path, tail)?;
    Ok((cid, segs.into_iter().map(str::to_string).collect()))
}

/// Resolve a full IPFS path (`/ipfs/CID/a/b`, `CID/a/b`, `CID`) to the CID it names.
pub fn resolve_path<S: BlockSource + ?Sized>(src: &S, path: &str) -> Result<Cid> {
    let (root, segs) = parse_ipfs_path(path)?;
    walk(src, &root, path, segs.iter().map(String::as_str))
}

/// Resolve `path` (segments such as `a/b`, optionally with a leading `/ipfs/CID`) under `root`,
/// through plain and HAMT-sharded directories. A path that starts with `/ipfs/` names its own
/// root and `root` is ignored.
pub fn resolve<S: BlockSource + ?Sized>(src: &S, root: &Cid, path: &str) -> Result<Cid> {
    if path.starts_with("/ipfs/") || path.starts_with("/ipns/") {
        return resolve_path(src, path);
    }
    let segs = segments(path, path)?;
    walk(src, root, path, segs.into_iter())
}

fn walk<'s, S: BlockSource + ?Sized>(
    src: &S,
    root: &Cid,
    path: &str,
    segs: impl Iterator<Item = &'s str>,
) -> Result<Cid> {
    let mut cur = *root;
    for seg in segs {
        let missing = || Error::NoSuchEntry {
            path: path.to_string(),
            name: seg.to_string(),
            parent: cur.to_string(),
        };
        let next = match load(src, &cur)? {
            Loaded::Pb {
                node, fs: Some(fs), ..
            } => match fs.kind {
                DataType::Directory => node
                    .links
                    .iter()
                    .find(|l| l.name.as_deref() == Some(seg))
                    .map(|l| l.cid),
                DataType::HamtShard => hamt::lookup(src, &cur, node, fs, seg)?,
                DataType::File | DataType::Raw | DataType::Symlink | DataType::Metadata => {
                    let kind = kind_of(fs.kind);
                    return Err(bad(
                        path,
                        format!("{cur} is a {kind}, it has no entry {seg:?}"),
                    ));
                }
            },
            // dag-pb without UnixFS data: follow links by name.
            Loaded::Pb { node, fs: None, .. } => node
                .links
                .iter()
                .find(|l| l.name.as_deref() == Some(seg))
                .map(|l| l.cid),
            Loaded::Raw(_) => {
                return Err(bad(
                    path,
                    format!("{cur} is a raw block, it has no entry {seg:?}"),
                ));
            }
            Loaded::Other(codec) => {
                return Err(bad(
                    path,
                    format!("{cur} is a {codec} block; only dag-pb paths are resolved"),
                ));
            }
        };
        cur = next.ok_or_else(missing)?;
    }
    Ok(cur)
}
