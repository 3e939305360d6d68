//! Which IPFS node the commands drive: an external Kubo-compatible daemon (`--api`, `IPFS_KIT_API`,
//! or `[ipfs] api` in `<home>/config/kit.toml`, in that order), the daemon that holds the
//! embedded repo (its address in `<home>/repo/api`, as Kubo's CLI uses `$IPFS_PATH/api`), or the
//! embedded node itself (`--embedded` forces it).

use std::path::Path;

use ipfs_kit_clients::KuboClient;
use ipfs_kit_ops::{ErrorCode, KIT_CONFIG_FILE, Kit, KitConfig, OpError};

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
            Source::Config => home.join(KIT_CONFIG_FILE).display().to_string(),
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
    Ok(KitConfig::load(home)?.api)
}
