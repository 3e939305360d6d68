//! `huggingface`: a repository on the HuggingFace Hub, checked with the Hub's repo API.

use ipfs_kit_config::{ConfigKind, Target};

use super::{KindCtx, KindSpec, Probe, Setting, cfg_str, or, setting};
use crate::{Error, Result, ServiceKind, ServiceRecord};

pub(super) struct Huggingface;

const SETTINGS: &[Setting] = &[
    setting("repo", true, false, "repository id, `owner/name`"),
    setting(
        "repo_type",
        false,
        false,
        "model (default), dataset or space",
    ),
    setting(
        "endpoint",
        false,
        false,
        "Hub URL (default https://huggingface.co)",
    ),
    setting(
        "token",
        false,
        true,
        "access token (default: the HuggingFace token file)",
    ),
];

impl KindSpec for Huggingface {
    fn kind(&self) -> ServiceKind {
        ServiceKind::Huggingface
    }
    fn summary(&self) -> &'static str {
        "a HuggingFace Hub repository (model, dataset or space)"
    }
    fn settings(&self) -> &'static [Setting] {
        SETTINGS
    }
    fn config_target(&self, _rec: &ServiceRecord) -> Option<Target> {
        Some(Target::new(ConfigKind::Huggingface))
    }
    fn listeners(&self, _rec: &ServiceRecord, _ctx: &KindCtx<'_>) -> Vec<(String, String)> {
        Vec::new()
    }
    fn probe(&self, rec: &ServiceRecord, ctx: &KindCtx<'_>) -> Result<Probe> {
        let plural = match or(rec, "repo_type", "model") {
            "model" => "models",
            "dataset" => "datasets",
            "space" => "spaces",
            other => {
                return Err(Error::invalid(
                    "repo_type",
                    format!("{other:?}: use model, dataset or space"),
                ));
            }
        };
        let token = rec
            .setting("token")
            .map(str::to_owned)
            .or_else(|| cfg_str(&ctx.config(&Target::new(ConfigKind::Huggingface)), "/token"))
            .filter(|t| !t.is_empty());
        Ok(Probe::Http {
            url: format!(
                "{}/api/{plural}/{}",
                or(rec, "endpoint", "https://huggingface.co").trim_end_matches('/'),
                rec.setting("repo").unwrap_or_default()
            ),
            method: "GET",
            ok_status: vec![200],
            expect_header: None,
            authorization: token.map(|t| format!("Bearer {t}")),
        })
    }
}
