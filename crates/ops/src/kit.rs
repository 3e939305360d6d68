use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use ipfs_kit_clients::KuboClient;
use ipfs_kit_repo::Repo;

use crate::KitConfig;
use crate::mfs::Mfs;
use crate::{ErrorCode, OpError};

/// The context every operation runs against: the kit's home and the IPFS node it drives, either the
/// embedded node (its repo and MFS) or an external Kubo-compatible daemon over its RPC API.
/// Cheap to clone (shared inside), so blocking work can move it onto a worker thread.
#[derive(Debug, Clone)]
pub struct Kit {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    home: PathBuf,
    node: Node,
    services: OnceLock<ipfs_kit_services::Services>,
}

/// The IPFS node behind a [`Kit`].
#[derive(Debug)]
// One per kit, behind its Arc: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Node {
    /// The embedded node: a repo in the kit's home, and its MFS.
    Embedded {
        /// The repository.
        repo: Repo,
        /// The mutable filesystem.
        mfs: Mfs,
    },
    /// An external Kubo-compatible daemon, driven over its RPC API.
    Kubo(KuboClient),
    /// No IPFS node: only the operations on the home's configs and services work. Used by commands
    /// that must not take the repo lock (starting `ipfs-kit daemon` as a service, for one).
    Detached,
}

impl Kit {
    /// Open the kit rooted at `home` (created if missing) and take the lock of its repo
    /// (`home/repo`), with the settings of its [`KitConfig`]. A repo held by another process is a
    /// [`ErrorCode::RepoLocked`] error.
    pub fn open(home: &Path) -> Result<Kit, OpError> {
        std::fs::create_dir_all(home)?;
        let cfg = KitConfig::load(home)?;
        let repo = Repo::open(home.join("repo"))?;
        repo.blocks().set_hash_on_read(cfg.hash_on_read);
        let mfs = Mfs::open(&repo)?;
        Ok(Kit {
            inner: Arc::new(Inner {
                home: home.to_path_buf(),
                node: Node::Embedded { repo, mfs },
                services: OnceLock::new(),
            }),
        })
    }

    /// A kit rooted at `home` whose operations run on the external daemon behind `client`
    /// (no local repo is opened or locked).
    pub fn with_kubo(home: &Path, client: KuboClient) -> Kit {
        Kit {
            inner: Arc::new(Inner {
                home: home.to_path_buf(),
                node: Node::Kubo(client),
                services: OnceLock::new(),
            }),
        }
    }

    /// A kit rooted at `home` with no IPFS node: configs and services only, no repo lock taken.
    pub fn detached(home: &Path) -> Kit {
        Kit {
            inner: Arc::new(Inner {
                home: home.to_path_buf(),
                node: Node::Detached,
                services: OnceLock::new(),
            }),
        }
    }

    /// The error of an IPFS operation on a [`Node::Detached`] kit.
    pub fn no_node(&self) -> OpError {
        OpError::new(
            ErrorCode::Unsupported,
            "this command runs without an IPFS node (configs and services only)",
        )
    }

    /// The node operations run on.
    pub fn node(&self) -> &Node {
        &self.inner.node
    }

    /// The external daemon's client, when the kit drives one.
    pub fn kubo(&self) -> Option<&KuboClient> {
        match &self.inner.node {
            Node::Kubo(k) => Some(k),
            Node::Embedded { .. } | Node::Detached => None,
        }
    }

    /// The kit's home directory.
    pub fn home(&self) -> &Path {
        &self.inner.home
    }

    /// The embedded node's repository; [`ErrorCode::Unsupported`] when the kit drives an external node.
    pub fn repo(&self) -> Result<&Repo, OpError> {
        match &self.inner.node {
            Node::Embedded { repo, .. } => Ok(repo),
            Node::Kubo(k) => Err(embedded_only(k)),
            Node::Detached => Err(self.no_node()),
        }
    }

    /// The embedded node's mutable filesystem; [`ErrorCode::Unsupported`] when the kit drives an
    /// external node.
    pub fn mfs(&self) -> Result<&Mfs, OpError> {
        match &self.inner.node {
            Node::Embedded { mfs, .. } => Ok(mfs),
            Node::Kubo(k) => Err(embedded_only(k)),
            Node::Detached => Err(self.no_node()),
        }
    }

    /// The services of this kit's home (registry, supervisor, health, metrics, events), opened on first use
    /// and shared by every operation of this kit, so one process has one supervisor.
    pub fn services(&self) -> Result<&ipfs_kit_services::Services, OpError> {
        if let Some(s) = self.inner.services.get() {
            return Ok(s);
        }
        let store = ipfs_kit_config::ConfigStore::from_env()?.with_kit_home(self.home());
        let s = ipfs_kit_services::Services::open(ipfs_kit_services::Home::new(self.home()), store)
            .map_err(OpError::from)?;
        Ok(self.inner.services.get_or_init(|| s))
    }

    /// Run blocking work (hashing, disk I/O) on the blocking thread pool.
    pub async fn blocking<T, F>(&self, f: F) -> Result<T, OpError>
    where
        T: Send + 'static,
        F: FnOnce(Kit) -> Result<T, OpError> + Send + 'static,
    {
        let kit = self.clone();
        tokio::task::spawn_blocking(move || f(kit))
            .await
            .map_err(|e| OpError::new(ErrorCode::Internal, format!("worker failed: {e}")))?
    }
}

fn embedded_only(k: &KuboClient) -> OpError {
    OpError::new(
        ErrorCode::Unsupported,
        format!(
            "this needs the embedded node's repo, but ipfs-kit is driving the external node at {}",
            k.base_url()
        ),
    )
    .with("api", k.base_url())
}
