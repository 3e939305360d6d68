//! `lotus`: a Filecoin node (`lotus daemon`), checked over JSON-RPC `Filecoin.Version`.

use std::path::PathBuf;

use ipfs_kit_config::{ConfigKind, Target};

use super::{KindCtx, KindSpec, Probe, Setting, cfg_str, http_base, setting};
use crate::{Result, ServiceKind, ServiceRecord};

pub(super) struct Lotus;

const SETTINGS: &[Setting] = &[
    setting(
        "api",
        false,
        false,
        "JSON-RPC API address (default: API.ListenAddress of config.toml, else /ip4/127.0.0.1/tcp/1234/http)",
    ),
    setting(
        "token",
        false,
        true,
        "API token (default: the `token` file in LOTUS_PATH)",
    ),
];

fn dir(ctx: &KindCtx<'_>) -> Option<PathBuf> {
    ctx.configs
        .files(&Target::new(ConfigKind::Lotus))
        .ok()?
        .first()?
        .path
        .parent()
        .map(PathBuf::from)
}

impl KindSpec for Lotus {
    fn kind(&self) -> ServiceKind {
        ServiceKind::Lotus
    }
    fn summary(&self) -> &'static str {
        "a Filecoin node (`lotus daemon`)"
    }
    fn settings(&self) -> &'static [Setting] {
        SETTINGS
    }
    fn program(&self) -> Option<&'static str> {
        Some("lotus")
    }
    fn args(&self, _rec: &ServiceRecord, _ctx: &KindCtx<'_>) -> Vec<String> {
        vec!["daemon".into()]
    }
    fn env(&self, _rec: &ServiceRecord, ctx: &KindCtx<'_>) -> Vec<(String, String)> {
        dir(ctx)
            .map(|d| vec![("LOTUS_PATH".to_string(), d.display().to_string())])
            .unwrap_or_default()
    }
    fn config_target(&self, _rec: &ServiceRecord) -> Option<Target> {
        Some(Target::new(ConfigKind::Lotus))
    }
    fn probe(&self, rec: &ServiceRecord, ctx: &KindCtx<'_>) -> Result<Probe> {
        let cfg = ctx.config(&Target::new(ConfigKind::Lotus));
        let api = rec
            .setting("api")
            .map(str::to_owned)
            .or_else(|| cfg_str(&cfg, "/API/ListenAddress"))
            .unwrap_or_else(|| "/ip4/127.0.0.1/tcp/1234/http".into());
        let token = rec.setting("token").map(str::to_owned).or_else(|| {
            dir(ctx)
                .and_then(|d| std::fs::read_to_string(d.join("token")).ok())
                .map(|t| t.trim().to_string())
        });
        Ok(Probe::LotusVersion {
            url: format!("{}/rpc/v0", http_base(&api)?),
            token,
        })
    }
    fn data_dir(&self, _rec: &ServiceRecord, ctx: &KindCtx<'_>) -> Option<PathBuf> {
        dir(ctx)
    }
}
