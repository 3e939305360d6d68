//! `ipfs get --archive`: a UnixFS tree as a POSIX (ustar + PAX) tar stream.

use std::io::Write;

use cid::Cid;

use super::get::GetSummary;
use super::node::{NodeKind, default_mode};
use super::path::validate_entry_name;
use super::reader::FileReader;
use super::walk::{Event, Meta, TreeWalk};
use crate::Control;
use crate::{BlockSource, Result};

const BLOCK: usize = 512;
/// Largest value an 11-digit octal header field holds.
const OCTAL11_MAX: u64 = 0o777_7777_7777;

/// One PAX record: `"<len> <key>=<value>\n"` where `<len>` counts the whole record.
fn pax_record(key: &str, value: &str) -> String {
    let body = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    format!("{len} {key}={value}\n")
}

fn put_octal(field: &mut [u8], v: u64) {
    let digits = field.len() - 1;
    let s = format!("{v:0digits$o}");
    field[..digits].copy_from_slice(&s.as_bytes()[s.len() - digits..]);
    field[digits] = 0;
}

fn put_str(field: &mut [u8], s: &str) {
    let n = s.len().min(field.len());
    field[..n].copy_from_slice(&s.as_bytes()[..n]);
}

/// A ustar header block (fields that do not fit are carried by a preceding PAX header).
fn ustar(name: &str, size: u64, mode: u32, mtime: u64, kind: u8, link: &str) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    put_str(&mut h[0..100], name);
    put_octal(&mut h[100..108], u64::from(mode & 0o7777));
    put_octal(&mut h[108..116], 0);
    put_octal(&mut h[116..124], 0);
    put_octal(&mut h[124..136], size.min(OCTAL11_MAX));
    put_octal(&mut h[136..148], mtime.min(OCTAL11_MAX));
    h[156] = kind;
    put_str(&mut h[157..257], link);
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    h
}

struct TarOut<W: Write> {
    out: W,
}

impl<W: Write> TarOut<W> {
    fn entry(
        &mut self,
        name: &str,
        size: u64,
        meta: Meta,
        kind: NodeKind,
        flag: u8,
        link: &str,
    ) -> Result<()> {
        let mode = meta.mode.unwrap_or_else(|| default_mode(kind));
        let mtime = meta.mtime.map_or(0, |t| t.seconds);
        let mut pax = String::new();
        if name.len() > 100 || !name.is_ascii() {
            pax.push_str(&pax_record("path", name));
        }
        if link.len() > 100 || !link.is_ascii() {
            pax.push_str(&pax_record("linkpath", link));
        }
        if size > OCTAL11_MAX {
            pax.push_str(&pax_record("size", &size.to_string()));
        }
        if mtime < 0 || mtime as u64 > OCTAL11_MAX || meta.mtime.is_some_and(|t| t.nanos.is_some())
        {
            let t = meta.mtime.unwrap_or(crate::unixfs::Mtime {
                seconds: mtime,
                nanos: None,
            });
            let v = match t.nanos {
                Some(n) => format!("{}.{n:09}", t.seconds),
                None => t.seconds.to_string(),
            };
            pax.push_str(&pax_record("mtime", &v));
        }
        if !pax.is_empty() {
            let short: String = name.chars().filter(char::is_ascii).take(90).collect();
            let h = ustar(
                &format!("PaxHeaders/{short}"),
                pax.len() as u64,
                0o644,
                0,
                b'x',
                "",
            );
            self.out.write_all(&h)?;
            self.out.write_all(pax.as_bytes())?;
            self.pad(pax.len() as u64)?;
        }
        let mtime_field = u64::try_from(mtime).unwrap_or(0);
        let h = ustar(name, size, mode, mtime_field, flag, link);
        self.out.write_all(&h)?;
        Ok(())
    }

    fn pad(&mut self, written: u64) -> Result<()> {
        let rem = (written % BLOCK as u64) as usize;
        if rem != 0 {
            self.out.write_all(&[0u8; BLOCK][..BLOCK - rem])?;
        }
        Ok(())
    }
}

/// Write the UnixFS node `cid` as a tar stream to `out`, with `root_name` as the top entry
/// (Kubo uses the CID or the last path segment). Directories, files and symlinks keep their
/// stored mode (or [`default_mode`]) and mtime (or 0); uid/gid are 0. Entry names are
/// validated as in [`get`](super::get). Returns what was written; `out` is not flushed.
pub fn get_tar<S: BlockSource + ?Sized, W: Write>(
    src: &S,
    cid: &Cid,
    root_name: &str,
    out: W,
    control: &Control,
) -> Result<GetSummary> {
    validate_entry_name(root_name)?;
    let mut t = TarOut { out };
    let mut sum = GetSummary::default();
    let full = |rel: &str| {
        if rel.is_empty() {
            root_name.to_string()
        } else {
            format!("{root_name}/{rel}")
        }
    };
    for event in TreeWalk::new(src, cid, 1024) {
        control.check()?;
        match event? {
            Event::EnterDir { rel, meta } => {
                t.entry(&full(&rel), 0, meta, NodeKind::Directory, b'5', "")?;
                sum.directories += 1;
            }
            Event::LeaveDir { .. } => {}
            Event::Symlink { rel, target, meta } => {
                let target = String::from_utf8_lossy(&target);
                t.entry(&full(&rel), 0, meta, NodeKind::Symlink, b'2', &target)?;
                sum.symlinks += 1;
            }
            Event::File {
                rel,
                cid,
                loaded,
                meta,
            } => {
                let mut reader = FileReader::from_loaded(src, &cid, *loaded)?;
                let size = reader.size();
                t.entry(&full(&rel), size, meta, NodeKind::File, b'0', "")?;
                while let Some(chunk) = reader.next_chunk()? {
                    control.check()?;
                    t.out.write_all(&chunk)?;
                    sum.bytes += chunk.len() as u64;
                    control.report(sum.bytes);
                }
                t.pad(size)?;
                sum.files += 1;
            }
        }
    }
    t.out.write_all(&[0u8; 2 * BLOCK])?;
    Ok(sum)
}
