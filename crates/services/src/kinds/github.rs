//! `github`: a GitHub repository used as storage, checked with the REST API.

use super::{KindCtx, KindSpec, Probe, Setting, or, setting};
use crate::{Result, ServiceKind, ServiceRecord};

pub(super) struct Github;

const SETTINGS: &[Setting] = &[
    setting("repo", true, false, "repository, `owner/name`"),
    setting(
        "branch",
        false,
        false,
        "branch (default: the repository's default branch)",
    ),
    setting(
        "endpoint",
        false,
        false,
        "API URL (default https://api.github.com)",
    ),
    setting("token", false, true, "access token"),
];

impl KindSpec for Github {
    fn kind(&self) -> ServiceKind {
        ServiceKind::Github
    }
    fn summary(&self) -> &'static str {
        "a GitHub repository used as storage"
    }
    fn settings(&self) -> &'static [Setting] {
        SETTINGS
    }
    fn probe(&self, rec: &ServiceRecord, _ctx: &KindCtx<'_>) -> Result<Probe> {
        Ok(Probe::Http {
            url: format!(
                "{}/repos/{}",
                or(rec, "endpoint", "https://api.github.com").trim_end_matches('/'),
                rec.setting("repo").unwrap_or_default()
            ),
            method: "GET",
            ok_status: vec![200],
            expect_header: None,
            authorization: rec
                .setting("token")
                .filter(|t| !t.is_empty())
                .map(|t| format!("Bearer {t}")),
        })
    }
}
