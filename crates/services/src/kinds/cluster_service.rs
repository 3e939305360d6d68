//! `ipfs_cluster_service`: an IPFS Cluster peer (`ipfs-cluster-service daemon`), after its IPFS node.

use std::path::PathBuf;

use ipfs_kit_config::{ConfigKind, Target};
use serde_json::Value;

use super::{KindCtx, KindSpec, Probe, Setting, cfg_str, or, setting};
use crate::{Result, ServiceKind, ServiceRecord};

pub(super) struct ClusterService;

const SETTINGS: &[Setting] = &[
    setting(
        "api",
        false,
        false,
        "REST API address (default: api.restapi.http_listen_multiaddress of service.json, else /ip4/127.0.0.1/tcp/9094)",
    ),
    setting(
        "basic_auth",
        false,
        true,
        "user:password for the REST API (default: the first of basic_auth_credentials)",
    ),
];

fn dir(ctx: &KindCtx<'_>) -> Option<PathBuf> {
    ctx.configs
        .files(&Target::new(ConfigKind::IpfsClusterService))
        .ok()?
        .first()?
        .path
        .parent()
        .map(PathBuf::from)
}

/// The first Basic-auth credential of a cluster REST API config, as `user:password`.
pub(super) fn first_credential(doc: &Option<Value>) -> Option<String> {
    let creds = doc
        .as_ref()?
        .pointer("/service/api/restapi/basic_auth_credentials")?
        .as_object()?;
    let (user, pass) = creds.iter().next()?;
    Some(format!("{user}:{}", pass.as_str().unwrap_or_default()))
}

impl KindSpec for ClusterService {
    fn kind(&self) -> ServiceKind {
        ServiceKind::IpfsClusterService
    }
    fn summary(&self) -> &'static str {
        "an IPFS Cluster peer (`ipfs-cluster-service daemon`)"
    }
    fn settings(&self) -> &'static [Setting] {
        SETTINGS
    }
    fn program(&self) -> Option<&'static str> {
        Some("ipfs-cluster-service")
    }
    fn args(&self, _rec: &ServiceRecord, _ctx: &KindCtx<'_>) -> Vec<String> {
        vec!["daemon".into()]
    }
    fn env(&self, _rec: &ServiceRecord, ctx: &KindCtx<'_>) -> Vec<(String, String)> {
        dir(ctx)
            .map(|d| vec![("IPFS_CLUSTER_PATH".to_string(), d.display().to_string())])
            .unwrap_or_default()
    }
    fn config_target(&self, _rec: &ServiceRecord) -> Option<Target> {
        Some(Target::new(ConfigKind::IpfsClusterService))
    }
    fn requires(&self) -> &'static [ServiceKind] {
        &[ServiceKind::Ipfs]
    }
    fn probe(&self, rec: &ServiceRecord, ctx: &KindCtx<'_>) -> Result<Probe> {
        let cfg = ctx.config(&Target::new(ConfigKind::IpfsClusterService));
        let api = cfg_str(&cfg, "/service/api/restapi/http_listen_multiaddress");
        Ok(Probe::ClusterId {
            api: or(
                rec,
                "api",
                api.as_deref().unwrap_or("/ip4/127.0.0.1/tcp/9094"),
            )
            .to_string(),
            basic_auth: rec
                .setting("basic_auth")
                .map(str::to_owned)
                .or_else(|| first_credential(&cfg)),
        })
    }
    fn data_dir(&self, _rec: &ServiceRecord, ctx: &KindCtx<'_>) -> Option<PathBuf> {
        dir(ctx)
    }
}
