//! Which IPFS node a kit drives: an external Kubo-compatible daemon (an address given by the face,
//! e.g. `--api` or `IPFS_KIT_API`, else `[ipfs] api` in the [`KitConfig`]), the daemon that holds the
//! embedded repo (its address in `<home>/repo/api`, as Kubo's CLI uses `$IPFS_PATH/api`), or the
//! embedded node itself.

use std::path::Path;

use ipfs_kit_clients::KuboClient;

use crate::{ErrorCode, KIT_CONFIG_FILE, Kit, KitConfig, OpError};

/// How to choose the node (precedence: `api` > the kit config > the embedded node, reached through
/// its daemon when another process holds the repo and `follow_daemon` allows it).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// An address the caller was given (`--api`, `IPFS_KIT_API`).
    pub api: Option<String>,
    /// Use the embedded node whatever else is configured (`--embedded`).
    pub embedded: bool,
    /// Whether a repo locked by a running daemon may be reached through that daemon's API (not for
    /// `daemon` itself, which must report the lock instead of driving the other daemon).
    pub follow_daemon: bool,
}

/// What picked the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeSource {
    /// The caller's address ([`Selection::api`]).
    Given,
    /// `[ipfs] api` in the kit config.
    Config,
    /// The API file of the daemon holding the repo.
    RunningDaemon,
    /// The embedded node.
    Embedded,
}

impl NodeSource {
    /// Why this node, in words (for `--debug` and logs).
    pub fn why(self) -> &'static str {
        match self {
            NodeSource::Given => "given by --api / IPFS_KIT_API",
            NodeSource::Config => "configured in the kit config",
            NodeSource::RunningDaemon => "the repo is held by a running ipfs-kit daemon",
            NodeSource::Embedded => "the embedded node",
        }
    }
}

impl Kit {
    /// Open the kit for `home` on the node `sel` chooses, and say which one it is.
    pub fn select(home: &Path, sel: &Selection) -> Result<(Kit, NodeSource), OpError> {
        if sel.embedded {
            return Ok((Kit::open(home)?, NodeSource::Embedded));
        }
        if let Some(api) = &sel.api {
            return external(home, api, NodeSource::Given);
        }
        if let Some(api) = KitConfig::load(home)?.api {
            return external(home, &api, NodeSource::Config);
        }
        match Kit::open(home) {
            Err(e) if e.code == ErrorCode::RepoLocked && sel.follow_daemon => {
                let text =
                    std::fs::read_to_string(home.join("repo").join("api")).unwrap_or_default();
                let addr = text.lines().next().unwrap_or_default().trim();
                if addr.is_empty() {
                    return Err(e);
                }
                external(home, addr, NodeSource::RunningDaemon)
            }
            other => Ok((other?, NodeSource::Embedded)),
        }
    }
}

fn external(home: &Path, api: &str, source: NodeSource) -> Result<(Kit, NodeSource), OpError> {
    let client = KuboClient::new(api).map_err(|e| {
        let from = match source {
            NodeSource::Given => "--api / IPFS_KIT_API".to_string(),
            NodeSource::Config => home.join(KIT_CONFIG_FILE).display().to_string(),
            NodeSource::RunningDaemon | NodeSource::Embedded => {
                home.join("repo").join("api").display().to_string()
            }
        };
        OpError::new(ErrorCode::ConfigInvalid, format!("{e} (from {from})")).with("api", api)
    })?;
    tracing::debug!(
        api = client.base_url(),
        why = source.why(),
        "using an external node"
    );
    Ok((Kit::with_kubo(home, client), source))
}
