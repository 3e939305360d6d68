//! `lassie`: the Lassie retrieval daemon (`lassie daemon`), checked over its HTTP server.

use ipfs_kit_config::kinds::lassie::{self as cfg, LassieSettings};
use ipfs_kit_config::{ConfigKind, Target};

use super::{KindCtx, KindSpec, Probe, Setting};
use crate::{Result, ServiceKind, ServiceRecord};

pub(super) struct Lassie;

const SETTINGS: &[Setting] = &[];

fn settings(ctx: &KindCtx<'_>) -> Option<LassieSettings> {
    serde_json::from_value(ctx.config(&Target::new(ConfigKind::Lassie))?).ok()
}

fn defaults() -> Option<LassieSettings> {
    serde_json::from_value(cfg::defaults().ok()?).ok()
}

impl KindSpec for Lassie {
    fn kind(&self) -> ServiceKind {
        ServiceKind::Lassie
    }
    fn summary(&self) -> &'static str {
        "the Lassie retrieval daemon (`lassie daemon`); settings in config/lassie.toml"
    }
    fn settings(&self) -> &'static [Setting] {
        SETTINGS
    }
    fn program(&self) -> Option<&'static str> {
        Some("lassie")
    }
    fn args(&self, _rec: &ServiceRecord, ctx: &KindCtx<'_>) -> Vec<String> {
        settings(ctx)
            .or_else(defaults)
            .map(|s| cfg::daemon_args(&s))
            .unwrap_or_else(|| vec!["daemon".into()])
    }
    fn env(&self, _rec: &ServiceRecord, ctx: &KindCtx<'_>) -> Vec<(String, String)> {
        settings(ctx)
            .map(|s| cfg::daemon_env(&s))
            .unwrap_or_default()
    }
    fn config_target(&self, _rec: &ServiceRecord) -> Option<Target> {
        Some(Target::new(ConfigKind::Lassie))
    }
    fn probe(&self, _rec: &ServiceRecord, ctx: &KindCtx<'_>) -> Result<Probe> {
        let s = settings(ctx).or_else(defaults).ok_or_else(|| {
            crate::Error::invalid("lassie settings", "config/lassie.toml does not parse")
        })?;
        let host = if s.address.contains(':') {
            format!("[{}]", s.address)
        } else {
            s.address.clone()
        };
        // the identity CID of empty content: Lassie answers without touching the network
        Ok(Probe::Http {
            url: format!("http://{host}:{}/ipfs/bafkqaaa?format=car", s.port),
            method: "HEAD",
            ok_status: vec![200, 400, 404],
            expect_header: None,
            authorization: (!s.access_token.is_empty())
                .then(|| format!("Bearer {}", s.access_token)),
        })
    }
}
