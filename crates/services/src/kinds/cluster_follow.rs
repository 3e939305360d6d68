//! `ipfs_cluster_follow`: a follower peer of a collaborative cluster (`ipfs-cluster-follow <cluster> run`).

use std::path::PathBuf;

use ipfs_kit_config::Target;

use super::{KindCtx, KindSpec, Probe, Setting, setting};
use crate::{Result, ServiceKind, ServiceRecord};

pub(super) struct ClusterFollow;

const SETTINGS: &[Setting] = &[setting(
    "cluster",
    true,
    false,
    "the followed cluster's name (its folder under ~/.ipfs-cluster-follow)",
)];

fn cluster(rec: &ServiceRecord) -> &str {
    rec.setting("cluster").unwrap_or_default()
}

fn dir(rec: &ServiceRecord, ctx: &KindCtx<'_>) -> Option<PathBuf> {
    ctx.configs
        .files(&Target::follow(cluster(rec)))
        .ok()?
        .first()?
        .path
        .parent()
        .map(PathBuf::from)
}

impl KindSpec for ClusterFollow {
    fn kind(&self) -> ServiceKind {
        ServiceKind::IpfsClusterFollow
    }
    fn summary(&self) -> &'static str {
        "a follower of a collaborative cluster (`ipfs-cluster-follow <cluster> run`)"
    }
    fn settings(&self) -> &'static [Setting] {
        SETTINGS
    }
    fn program(&self) -> Option<&'static str> {
        Some("ipfs-cluster-follow")
    }
    fn args(&self, rec: &ServiceRecord, _ctx: &KindCtx<'_>) -> Vec<String> {
        vec![cluster(rec).to_string(), "run".into()]
    }
    fn env(&self, rec: &ServiceRecord, ctx: &KindCtx<'_>) -> Vec<(String, String)> {
        // IPFS_CLUSTER_PATH is the base folder holding one folder per followed cluster
        dir(rec, ctx)
            .and_then(|d| d.parent().map(PathBuf::from))
            .map(|d| vec![("IPFS_CLUSTER_PATH".to_string(), d.display().to_string())])
            .unwrap_or_default()
    }
    fn config_target(&self, rec: &ServiceRecord) -> Option<Target> {
        Some(Target::follow(cluster(rec)))
    }
    fn listeners(&self, rec: &ServiceRecord, ctx: &KindCtx<'_>) -> Vec<(String, String)> {
        // the follower's own swarm listeners; its API is a unix socket
        self.config_target(rec)
            .and_then(|t| ctx.config(&t).map(|d| t.kind.listen_addresses(&d)))
            .unwrap_or_default()
    }
    fn requires(&self) -> &'static [ServiceKind] {
        &[ServiceKind::Ipfs]
    }
    fn probe(&self, rec: &ServiceRecord, ctx: &KindCtx<'_>) -> Result<Probe> {
        let socket = dir(rec, ctx).map(|d| d.join("api-socket")).ok_or_else(|| {
            crate::Error::invalid("cluster", "no follower folder for this cluster")
        })?;
        Ok(Probe::UnixHttpGet {
            socket,
            path: "/id".into(),
        })
    }
    fn data_dir(&self, rec: &ServiceRecord, ctx: &KindCtx<'_>) -> Option<PathBuf> {
        dir(rec, ctx)
    }
}
