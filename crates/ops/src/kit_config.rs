//! The kit's own settings, `<home>/config/kit.toml`:
//!
//! ```toml
//! [ipfs]
//! api = "/ip4/127.0.0.1/tcp/5001"   # drive this external Kubo-compatible node instead
//!
//! [datastore]
//! hash_on_read = true               # re-hash every block read (Kubo's Datastore.HashOnRead)
//! ```
//!
//! A missing file or table means the defaults; anything else that is not as above is a
//! [`ErrorCode::ConfigInvalid`] error naming the file.

use std::path::{Path, PathBuf};

use crate::{ErrorCode, OpError};

/// The kit config file, relative to the home.
pub const KIT_CONFIG_FILE: &str = "config/kit.toml";

/// The settings read from [`KIT_CONFIG_FILE`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KitConfig {
    /// `[ipfs] api`: the external node to drive (a multiaddr, URL or host:port).
    pub api: Option<String>,
    /// `[datastore] hash_on_read`: re-hash every block the embedded node reads against its CID
    /// (default false: reads are checked against the CRC-32 stored with each block).
    pub hash_on_read: bool,
}

impl KitConfig {
    /// Read `home`'s kit config (defaults when the file does not exist).
    pub fn load(home: &Path) -> Result<KitConfig, OpError> {
        let path: PathBuf = home.join(KIT_CONFIG_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(KitConfig::default());
            }
            Err(e) => {
                return Err(OpError::new(
                    ErrorCode::ConfigInvalid,
                    format!("cannot read {}: {e}", path.display()),
                )
                .with("path", path.display().to_string()));
            }
        };
        let bad = |why: String| {
            OpError::new(
                ErrorCode::ConfigInvalid,
                format!("{} is not a valid kit config: {why}", path.display()),
            )
            .with("path", path.display().to_string())
        };
        let table: toml::Table = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let section = |name: &str| -> Result<Option<&toml::Table>, OpError> {
            match table.get(name) {
                None => Ok(None),
                Some(v) => v
                    .as_table()
                    .map(Some)
                    .ok_or_else(|| bad(format!("[{name}] must be a table"))),
            }
        };
        let mut cfg = KitConfig::default();
        if let Some(ipfs) = section("ipfs")? {
            cfg.api = match ipfs.get("api") {
                None => None,
                Some(toml::Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
                Some(_) => {
                    return Err(bad(
                        "[ipfs] api must be a non-empty string (a multiaddr or URL)".into(),
                    ));
                }
            };
        }
        if let Some(ds) = section("datastore")? {
            cfg.hash_on_read = match ds.get("hash_on_read") {
                None => false,
                Some(toml::Value::Boolean(b)) => *b,
                Some(_) => {
                    return Err(bad("[datastore] hash_on_read must be true or false".into()));
                }
            };
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_defaults_settings_and_rejects_bad_ones() {
        let home = tempfile::tempdir().unwrap();
        assert_eq!(KitConfig::load(home.path()).unwrap(), KitConfig::default());
        std::fs::create_dir_all(home.path().join("config")).unwrap();
        let f = home.path().join(KIT_CONFIG_FILE);
        let set = |text: &str| {
            std::fs::write(&f, text).unwrap();
            KitConfig::load(home.path())
        };
        let cfg = set("[ipfs]\napi = \" /ip4/127.0.0.1/tcp/5001 \"\n").unwrap();
        assert_eq!(cfg.api.as_deref(), Some("/ip4/127.0.0.1/tcp/5001"));
        assert!(!cfg.hash_on_read);
        assert!(
            set("[datastore]\nhash_on_read = true\n")
                .unwrap()
                .hash_on_read
        );
        assert_eq!(set("[other]\nx = 1\n").unwrap(), KitConfig::default());
        for bad in [
            "[ipfs\napi = 1",
            "[ipfs]\napi = 5001\n",
            "[ipfs]\napi = \"\"\n",
            "ipfs = 3\n",
            "[datastore]\nhash_on_read = \"yes\"\n",
        ] {
            let e = set(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::ConfigInvalid, "{bad}");
            assert!(e.message.contains("kit.toml"), "{}", e.message);
        }
    }
}
