use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use cid::Cid;

use super::reader::FileReader;
use super::walk::{Event, Meta, TreeWalk};
use crate::Control;
use crate::unixfs::Mtime;
use crate::{BlockSource, Error, Result};

/// Options of [`get`].
#[derive(Debug, Clone)]
pub struct GetOptions {
    /// Replace an existing file or symlink at a destination path, and write into existing
    /// directories. Off: any existing destination path is an error.
    pub overwrite: bool,
    /// Apply stored UnixFS `mode` bits (Unix only).
    pub preserve_mode: bool,
    /// Apply stored UnixFS `mtime` (files and directories; not symlinks).
    pub preserve_mtime: bool,
    /// Deepest directory nesting accepted.
    pub max_depth: usize,
    /// Progress (total file bytes written) and cancellation.
    pub control: Control,
}

impl Default for GetOptions {
    fn default() -> Self {
        GetOptions {
            overwrite: false,
            preserve_mode: false,
            preserve_mtime: false,
            max_depth: 1024,
            control: Control::default(),
        }
    }
}

/// What [`get`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GetSummary {
    /// Regular files written.
    pub files: u64,
    /// Directories created (or entered, with `overwrite`).
    pub directories: u64,
    /// Symlinks created.
    pub symlinks: u64,
    /// File bytes written.
    pub bytes: u64,
}

fn ctx(path: &Path, e: io::Error) -> Error {
    Error::Io(io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

fn exists_err(path: &Path, what: &str) -> Error {
    Error::Io(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{}: {what}", path.display()),
    ))
}

/// What is at `path` now, without following a symlink there.
fn existing(path: &Path) -> Result<Option<fs::FileType>> {
    match fs::symlink_metadata(path) {
        Ok(m) => Ok(Some(m.file_type())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ctx(path, e)),
    }
}

/// A temp name beside `path` for writing before the final rename.
fn temp_beside(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = format!(".ipfs-kit-get-{}-{n}.part", std::process::id());
    path.parent()
        .map_or_else(|| PathBuf::from(&name), |p| p.join(&name))
}

fn to_system_time(t: Mtime) -> Option<SystemTime> {
    let nanos = Duration::from_nanos(u64::from(t.nanos.unwrap_or(0)));
    if t.seconds >= 0 {
        SystemTime::UNIX_EPOCH
            .checked_add(Duration::from_secs(t.seconds as u64))?
            .checked_add(nanos)
    } else {
        SystemTime::UNIX_EPOCH
            .checked_sub(Duration::from_secs(t.seconds.unsigned_abs()))?
            .checked_add(nanos)
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o7777)).map_err(|e| ctx(path, e))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<()> {
    Ok(())
}

#[cfg(unix)]
fn make_symlink(target: &[u8], at: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(target), at)
}

#[cfg(not(unix))]
fn make_symlink(_target: &[u8], _at: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "symlinks are only written on Unix",
    ))
}

struct Writer<'o> {
    opts: &'o GetOptions,
    sum: GetSummary,
}

impl Writer<'_> {
    /// Make sure a file or symlink may be put at `path`.
    fn check_leaf_target(&self, path: &Path) -> Result<()> {
        match existing(path)? {
            None => Ok(()),
            Some(t) if t.is_dir() => Err(exists_err(path, "a directory is in the way")),
            Some(_) if self.opts.overwrite => Ok(()),
            Some(_) => Err(exists_err(path, "already exists")),
        }
    }

    fn enter_dir(&mut self, path: &Path) -> Result<()> {
        match existing(path)? {
            None => {}
            Some(t) if t.is_dir() && self.opts.overwrite => {
                self.sum.directories += 1;
                return Ok(());
            }
            Some(t) if !t.is_dir() && self.opts.overwrite => {
                // A file or symlink where a directory goes: replace it, never follow it.
                fs::remove_file(path).map_err(|e| ctx(path, e))?;
            }
            Some(_) => return Err(exists_err(path, "already exists")),
        }
        fs::create_dir(path).map_err(|e| ctx(path, e))?;
        self.sum.directories += 1;
        Ok(())
    }

    fn leave_dir(&mut self, path: &Path, meta: Meta) -> Result<()> {
        if self.opts.preserve_mtime
            && let Some(t) = meta.mtime.and_then(to_system_time)
        {
            let dir = File::open(path).map_err(|e| ctx(path, e))?;
            dir.set_modified(t).map_err(|e| ctx(path, e))?;
        }
        if self.opts.preserve_mode
            && let Some(m) = meta.mode
        {
            set_mode(path, m)?;
        }
        Ok(())
    }

    fn write_file<S: BlockSource + ?Sized>(
        &mut self,
        path: &Path,
        mut reader: FileReader<'_, S>,
        meta: Meta,
    ) -> Result<()> {
        self.check_leaf_target(path)?;
        let tmp = temp_beside(path);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| ctx(&tmp, e))?;
        let result = self.fill_file(&mut file, &mut reader, path, meta);
        drop(file);
        let result = result.and_then(|()| fs::rename(&tmp, path).map_err(|e| ctx(path, e)));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result?;
        self.sum.files += 1;
        Ok(())
    }

    fn fill_file<S: BlockSource + ?Sized>(
        &mut self,
        file: &mut File,
        reader: &mut FileReader<'_, S>,
        path: &Path,
        meta: Meta,
    ) -> Result<()> {
        let control = &self.opts.control;
        while let Some(chunk) = reader.next_chunk()? {
            control.check()?;
            file.write_all(&chunk).map_err(|e| ctx(path, e))?;
            self.sum.bytes += chunk.len() as u64;
            control.report(self.sum.bytes);
        }
        if self.opts.preserve_mtime
            && let Some(t) = meta.mtime.and_then(to_system_time)
        {
            file.set_modified(t).map_err(|e| ctx(path, e))?;
        }
        #[cfg(unix)]
        if self.opts.preserve_mode
            && let Some(m) = meta.mode
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(fs::Permissions::from_mode(m & 0o7777))
                .map_err(|e| ctx(path, e))?;
        }
        Ok(())
    }

    fn write_symlink(&mut self, path: &Path, target: &[u8]) -> Result<()> {
        if target.is_empty() || target.contains(&0) {
            return Err(Error::InvalidPath {
                path: path.display().to_string(),
                reason: "symlink target is empty or contains a NUL byte".into(),
            });
        }
        self.check_leaf_target(path)?;
        let tmp = temp_beside(path);
        make_symlink(target, &tmp).map_err(|e| ctx(&tmp, e))?;
        if let Err(e) = fs::rename(&tmp, path) {
            let _ = fs::remove_file(&tmp);
            return Err(ctx(path, e));
        }
        self.sum.symlinks += 1;
        Ok(())
    }
}

/// Write the UnixFS node `cid` (file, symlink, or directory tree including HAMT directories) to
/// the new path `dest`. Missing parents of `dest` are created.
///
/// Safety rules: every entry name is checked with
/// [`validate_entry_name`](super::validate_entry_name) before use, so nothing is written outside
/// `dest`; symlinks are created as symlinks and never followed (a directory is only descended
/// into when it is a real directory); an existing path is an error unless `overwrite`. Files are
/// written under a temp name in the same directory and renamed when complete, so an interrupted
/// `get` never leaves a partial file under its final name. The walk is iterative, with at most
/// `max_depth` nested directories. On error, entries already finished stay on disk.
pub fn get<S: BlockSource + ?Sized>(
    src: &S,
    cid: &Cid,
    dest: &Path,
    opts: &GetOptions,
) -> Result<GetSummary> {
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| ctx(parent, e))?;
    }
    let mut w = Writer {
        opts,
        sum: GetSummary::default(),
    };
    let at = |rel: &str| {
        if rel.is_empty() {
            dest.to_path_buf()
        } else {
            dest.join(rel)
        }
    };
    for event in TreeWalk::new(src, cid, opts.max_depth) {
        opts.control.check()?;
        match event? {
            Event::EnterDir { rel, .. } => w.enter_dir(&at(&rel))?,
            Event::LeaveDir { rel, meta } => w.leave_dir(&at(&rel), meta)?,
            Event::File {
                rel,
                cid,
                loaded,
                meta,
            } => {
                let reader = FileReader::from_loaded(src, &cid, *loaded)?;
                w.write_file(&at(&rel), reader, meta)?;
            }
            Event::Symlink { rel, target, .. } => w.write_symlink(&at(&rel), &target)?,
        }
    }
    Ok(w.sum)
}
