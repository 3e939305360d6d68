//! `s3`: a bucket on an S3-compatible object store, checked by a request to the bucket's endpoint.

use ipfs_kit_config::{ConfigKind, Target};

use super::{KindCtx, KindSpec, Probe, Setting, cfg_str, setting};
use crate::{Error, Result, ServiceKind, ServiceRecord};

pub(super) struct S3;

const SETTINGS: &[Setting] = &[
    setting("bucket", true, false, "the bucket name"),
    setting(
        "endpoint",
        false,
        false,
        "endpoint URL (default: host_base of ~/.s3cfg, else https://s3.amazonaws.com)",
    ),
    setting("region", false, false, "region (default us-east-1)"),
    setting(
        "access_key_id",
        false,
        false,
        "access key id (default: access_key of ~/.s3cfg)",
    ),
    setting(
        "secret_access_key",
        false,
        true,
        "secret key (default: secret_key of ~/.s3cfg)",
    ),
    setting(
        "path_style",
        false,
        false,
        "address the bucket as <endpoint>/<bucket> (default true)",
    ),
];

impl KindSpec for S3 {
    fn kind(&self) -> ServiceKind {
        ServiceKind::S3
    }
    fn summary(&self) -> &'static str {
        "a bucket of an S3-compatible object store"
    }
    fn settings(&self) -> &'static [Setting] {
        SETTINGS
    }
    fn config_target(&self, _rec: &ServiceRecord) -> Option<Target> {
        Some(Target::new(ConfigKind::S3))
    }
    fn listeners(&self, _rec: &ServiceRecord, _ctx: &KindCtx<'_>) -> Vec<(String, String)> {
        Vec::new()
    }
    fn probe(&self, rec: &ServiceRecord, ctx: &KindCtx<'_>) -> Result<Probe> {
        let bucket = rec.setting("bucket").unwrap_or_default();
        let endpoint = match rec.setting("endpoint").filter(|s| !s.is_empty()) {
            Some(e) => e.trim_end_matches('/').to_string(),
            None => {
                let cfg = ctx.config(&Target::new(ConfigKind::S3));
                let host = cfg_str(&cfg, "/default/host_base")
                    .unwrap_or_else(|| "s3.amazonaws.com".into());
                let https = cfg_str(&cfg, "/default/use_https").is_none_or(|v| v != "False");
                format!("{}://{host}", if https { "https" } else { "http" })
            }
        };
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(Error::invalid(
                "endpoint",
                format!("{endpoint} is not an http(s) URL"),
            ));
        }
        let path_style = rec
            .settings
            .get("path_style")
            .map(|v| v.as_bool().unwrap_or(v.as_str() != Some("false")))
            .unwrap_or(true);
        let url = if path_style {
            format!("{endpoint}/{bucket}?max-keys=1")
        } else {
            let (scheme, host) = endpoint.split_once("://").unwrap_or(("https", &endpoint));
            format!("{scheme}://{bucket}.{host}/?max-keys=1")
        };
        // unsigned: the answer proves the endpoint is an S3 server (an S3 request-id header or S3's XML,
        // see health::S3_PROOF) and says whether the bucket exists (200 public, 403 exists but private,
        // 404 no such bucket)
        Ok(Probe::Http {
            url,
            method: "GET",
            ok_status: vec![200, 403],
            expect_header: Some(crate::health::S3_PROOF),
            authorization: None,
        })
    }
}
