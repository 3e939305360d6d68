//! The kit's metadata home, `~/.ipfs_kit/` (override `IPFS_KIT_HOME` / `--home`).

use std::path::{Path, PathBuf};

use ipfs_kit_config::fsio::{self, FileLock};

use crate::{Error, Result};

/// What `.gitignore` in the home keeps out of git: everything that holds secrets, keys, data or
/// machine-local state. `config/kit.toml` stays versionable.
pub const GITIGNORE: &str = "\
# written by ipfs-kit: keeps secrets, keys and machine state out of git
services/
state/
logs/
cache/
monitoring/
repo/
journal/
config/history/
*.key
*.secret
*token*
";

/// The layout of the kit's home directory. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// The home rooted at `root` (nothing is created until [`Home::ensure`]).
    pub fn new(root: impl Into<PathBuf>) -> Home {
        Home { root: root.into() }
    }

    /// `IPFS_KIT_HOME`, else `$HOME/.ipfs_kit`.
    pub fn from_env() -> Result<Home> {
        if let Some(h) = std::env::var_os("IPFS_KIT_HOME").filter(|v| !v.is_empty()) {
            return Ok(Home::new(h));
        }
        let home = std::env::var_os("HOME")
            .filter(|v| !v.is_empty())
            .ok_or(Error::NoHome)?;
        Ok(Home::new(Path::new(&home).join(".ipfs_kit")))
    }

    /// Creates the directories and the `.gitignore` if missing. Safe to call from many threads
    /// and processes at once.
    pub fn ensure(&self) -> Result<()> {
        for d in [
            self.root.clone(),
            self.config_dir(),
            self.services_dir(),
            self.state_dir(),
            self.monitoring_dir(),
            self.logs_dir(),
            self.cache_dir(),
        ] {
            fsio::ensure_dir(&d)?;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // service records may hold credentials: only the owner reads them
            let dir = self.services_dir();
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| Error::io("chmod", &dir, e))?;
        }
        let gi = self.root.join(".gitignore");
        if !gi.exists() {
            let _lock = self.lock("gitignore")?;
            if !gi.exists() {
                fsio::write_atomic(&gi, GITIGNORE.as_bytes(), false)?;
            }
        }
        Ok(())
    }

    /// The home directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `config/`: the kit's own settings (`kit.toml`) and config history.
    pub fn config_dir(&self) -> PathBuf {
        self.root.join("config")
    }

    /// `services/`: one `<name>.yaml` record per registered service.
    pub fn services_dir(&self) -> PathBuf {
        self.root.join("services")
    }

    /// `state/`: process records, desired states and locks.
    pub fn state_dir(&self) -> PathBuf {
        self.root.join("state")
    }

    /// `monitoring/`: metric time series, alert rules and the event log.
    pub fn monitoring_dir(&self) -> PathBuf {
        self.root.join("monitoring")
    }

    /// `logs/`: one rotating log per supervised process.
    pub fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// `cache/`: data that can be rebuilt.
    pub fn cache_dir(&self) -> PathBuf {
        self.root.join("cache")
    }

    /// The record of service `name`: `services/<name>.yaml`.
    pub fn service_file(&self, name: &str) -> PathBuf {
        self.services_dir().join(format!("{name}.yaml"))
    }

    /// An exclusive advisory lock named `what` (`state/locks/<what>.lock`), held until dropped. Serialises
    /// writers across threads and processes.
    pub fn lock(&self, what: &str) -> Result<FileLock> {
        Ok(FileLock::acquire(
            &self.state_dir().join("locks").join(format!("{what}.lock")),
        )?)
    }

    /// Replaces `path` atomically (temp file, fsync, rename); `secret` files are 0600 from the first byte.
    pub fn write_atomic(&self, path: &Path, bytes: &[u8], secret: bool) -> Result<()> {
        Ok(fsio::write_atomic(path, bytes, secret)?)
    }

    /// Reads `path`, `None` when it does not exist.
    pub fn read_opt(&self, path: &Path) -> Result<Option<Vec<u8>>> {
        Ok(fsio::read_opt(path)?)
    }
}
