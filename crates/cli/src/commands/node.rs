//! Which IPFS node the commands drive: an external Kubo-compatible daemon (`--api`, `IPFS_KIT_API`,
//! or `[ipfs] api` in `<home>/config/kit.toml`, in that order), the daemon that holds the
//! embedded repo (its address in `<home>/repo/api`, as Kubo's CLI uses `$IPFS_PATH/api`), or the
//! embedded node itself (`--embedded` forces it).

use std::path::{Path, PathBuf};

use ipfs_kit_clients::KuboClient;
use ipfs_kit_ops::{ErrorCode, Kit, OpError};

/// The kit config file, relative to the home.
pub(crate) const CONFIG_FILE: &str = "config/kit.toml";

/// What picked the node, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// `--api` or `IPFS_KIT_API`.
    Flag,
    /// The kit config file.
    Config,
    /// The API file of the daemon holding the repo.
    RunningDaemon,
}

/// How to choose the node.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selection {
    /// `--api` / `IPFS_KIT_API`.
    pub(crate) api: Option<String>,
    /// `--embedded`.
    pub(crate) embedded: bool,
    /// `--debug`: say which node and why on stderr.
    pub(crate) debug: bool,
    /// Whether a locked repo may be reached through its daemon (not for `daemon` itself).
    pub(crate) follow_daemon: bool,
}

/// Open the kit for `home` as `sel` says (precedence: flag/env > config file > embedded).
pub(crate) fn open(home: &Path, sel: &Selection) -> anyhow::Result<Kit> {
    if sel.embedded {
        return Ok(Kit::open(home)?);
    }
    if let Some(api) = &sel.api {
        return external(home, api, Source::Flag, sel.debug);
    }
    if let Some(api) = config_api(home)? {
        return external(home, &api, Source::Config, sel.debug);
    }
    match Kit::open(home) {
        Err(e) if e.code == ErrorCode::RepoLocked && sel.follow_daemon => {
            let api_file = home.join("repo").join("api");
            match std::fs::read_to_string(&api_file) {
                Ok(text) => {
                    let addr = text.lines().next().unwrap_or_default().trim().to_string();
                    if addr.is_empty() {
                        return Err(e.into());
                    }
                    external(home, &addr, Source::RunningDaemon, sel.debug)
                }
                Err(_) => Err(e.into()),
            }
        }
        other => Ok(other?),
    }
}

fn external(home: &Path, api: &str, source: Source, debug: bool) -> anyhow::Result<Kit> {
    let client = KuboClient::new(api).map_err(|e| {
        let from = match source {
            Source::Flag => "--api / IPFS_KIT_API".to_string(),
            Source::Config => home.join(CONFIG_FILE).display().to_string(),
            Source::RunningDaemon => home.join("repo").join("api").display().to_string(),
        };
        OpError::new(ErrorCode::ConfigInvalid, format!("{e} (from {from})")).with("api", api)
    })?;
    let why = match source {
        Source::Flag => "given by --api / IPFS_KIT_API",
        Source::Config => "configured in the kit config",
        Source::RunningDaemon => "the repo is held by a running ipfs-kit daemon",
    };
    tracing::debug!(api = client.base_url(), why, "using an external node");
    if debug {
        eprintln!("using the node at {} ({why})", client.base_url());
    }
    Ok(Kit::with_kubo(home, client))
}

/// `[ipfs] api` from the kit config file, if the file exists and sets it.
fn config_api(home: &Path) -> anyhow::Result<Option<String>> {
    let path: PathBuf = home.join(CONFIG_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(OpError::new(
                ErrorCode::ConfigInvalid,
                format!("cannot read {}: {e}", path.display()),
            )
            .with("path", path.display().to_string())
            .into());
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
    let Some(ipfs) = table.get("ipfs") else {
        return Ok(None);
    };
    let ipfs = ipfs
        .as_table()
        .ok_or_else(|| bad("[ipfs] must be a table".into()))?;
    match ipfs.get("api") {
        None => Ok(None),
        Some(toml::Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
        Some(_) => {
            Err(bad("[ipfs] api must be a non-empty string (a multiaddr or URL)".into()).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_file_selects_and_rejects() {
        let home = tempfile::tempdir().unwrap();
        assert_eq!(config_api(home.path()).unwrap(), None);
        std::fs::create_dir_all(home.path().join("config")).unwrap();
        let f = home.path().join(CONFIG_FILE);
        std::fs::write(&f, "[ipfs]\napi = \"/ip4/127.0.0.1/tcp/5001\"\n").unwrap();
        assert_eq!(
            config_api(home.path()).unwrap().as_deref(),
            Some("/ip4/127.0.0.1/tcp/5001")
        );
        std::fs::write(&f, "[ipfs\napi = 1").unwrap();
        let e = config_api(home.path()).unwrap_err();
        let op = e.downcast_ref::<OpError>().unwrap();
        assert_eq!(op.code, ErrorCode::ConfigInvalid);
        assert!(op.message.contains("kit.toml"), "{}", op.message);
        std::fs::write(&f, "[ipfs]\napi = 5001\n").unwrap();
        assert!(config_api(home.path()).is_err());
        std::fs::write(&f, "[other]\nx = 1\n").unwrap();
        assert_eq!(config_api(home.path()).unwrap(), None);
    }
}
