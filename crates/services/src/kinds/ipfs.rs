//! `ipfs`: Kubo, or any daemon serving Kubo's RPC API (js-ipfs, another ipfs-kit).

use std::path::PathBuf;

use ipfs_kit_config::{ConfigKind, Target};

use super::{KindCtx, KindSpec, Probe, Setting, cfg_str, or, setting};
use crate::{Result, ServiceKind, ServiceRecord};

pub(super) struct Ipfs;

const SETTINGS: &[Setting] = &[
    setting(
        "api",
        false,
        false,
        "RPC API address (default: Addresses.API of the Kubo config, else /ip4/127.0.0.1/tcp/5001)",
    ),
    setting(
        "repo",
        false,
        false,
        "repo directory passed as IPFS_PATH (default: the Kubo config's directory)",
    ),
];

impl Ipfs {
    fn repo(rec: &ServiceRecord, ctx: &KindCtx<'_>) -> Option<PathBuf> {
        if let Some(r) = rec.setting("repo").filter(|s| !s.is_empty()) {
            return Some(PathBuf::from(r));
        }
        ctx.configs
            .files(&Target::new(ConfigKind::Kubo))
            .ok()?
            .first()?
            .path
            .parent()
            .map(PathBuf::from)
    }
}

impl KindSpec for Ipfs {
    fn kind(&self) -> ServiceKind {
        ServiceKind::Ipfs
    }
    fn summary(&self) -> &'static str {
        "Kubo or any Kubo-RPC daemon (`ipfs daemon`)"
    }
    fn settings(&self) -> &'static [Setting] {
        SETTINGS
    }
    fn program(&self) -> Option<&'static str> {
        Some("ipfs")
    }
    fn args(&self, _rec: &ServiceRecord, _ctx: &KindCtx<'_>) -> Vec<String> {
        vec!["daemon".into()]
    }
    fn env(&self, rec: &ServiceRecord, ctx: &KindCtx<'_>) -> Vec<(String, String)> {
        Ipfs::repo(rec, ctx)
            .map(|r| vec![("IPFS_PATH".to_string(), r.display().to_string())])
            .unwrap_or_default()
    }
    fn config_target(&self, rec: &ServiceRecord) -> Option<Target> {
        // a repo of its own (e.g. js-ipfs) is not the Kubo config the store manages
        rec.setting("repo")
            .is_none()
            .then(|| Target::new(ConfigKind::Kubo))
    }
    fn probe(&self, rec: &ServiceRecord, ctx: &KindCtx<'_>) -> Result<Probe> {
        let cfg = self.config_target(rec).and_then(|t| ctx.config(&t));
        let api = cfg_str(&cfg, "/Addresses/API");
        Ok(Probe::KuboId {
            api: or(
                rec,
                "api",
                api.as_deref().unwrap_or("/ip4/127.0.0.1/tcp/5001"),
            )
            .to_string(),
        })
    }
    fn data_dir(&self, rec: &ServiceRecord, ctx: &KindCtx<'_>) -> Option<PathBuf> {
        Ipfs::repo(rec, ctx)
    }
}
