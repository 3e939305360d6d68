//! `storacha`: the Storacha (w3up) upload service, checked by a request to its service URL.

use ipfs_kit_config::{ConfigKind, Target};

use super::{KindCtx, KindSpec, Probe, Setting, cfg_str, setting};
use crate::{Result, ServiceKind, ServiceRecord};

pub(super) struct Storacha;

const SETTINGS: &[Setting] = &[
    setting(
        "service_url",
        false,
        false,
        "upload service URL (default: config/storacha.toml, else https://up.storacha.network)",
    ),
    setting(
        "space_did",
        false,
        false,
        "the space uploads go to (did:key:…)",
    ),
];

impl KindSpec for Storacha {
    fn kind(&self) -> ServiceKind {
        ServiceKind::Storacha
    }
    fn summary(&self) -> &'static str {
        "the Storacha (w3up) upload service; credentials in config/storacha.toml"
    }
    fn settings(&self) -> &'static [Setting] {
        SETTINGS
    }
    fn config_target(&self, _rec: &ServiceRecord) -> Option<Target> {
        Some(Target::new(ConfigKind::Storacha))
    }
    fn listeners(&self, _rec: &ServiceRecord, _ctx: &KindCtx<'_>) -> Vec<(String, String)> {
        Vec::new()
    }
    fn probe(&self, rec: &ServiceRecord, ctx: &KindCtx<'_>) -> Result<Probe> {
        let url = rec
            .setting("service_url")
            .map(str::to_owned)
            .or_else(|| {
                cfg_str(
                    &ctx.config(&Target::new(ConfigKind::Storacha)),
                    "/service_url",
                )
            })
            .unwrap_or_else(|| "https://up.storacha.network".into());
        // the service answers GET / with its version document
        Ok(Probe::Http {
            url: url.trim_end_matches('/').to_string() + "/",
            method: "GET",
            ok_status: vec![200],
            expect_header: None,
            authorization: None,
        })
    }
}
