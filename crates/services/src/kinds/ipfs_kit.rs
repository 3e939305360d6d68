//! `ipfs_kit`: `ipfs-kit daemon` itself (the embedded node's RPC API and gateway), usually for the same home.

use std::path::PathBuf;

use super::{KindCtx, KindSpec, Probe, Setting, or, setting};
use crate::{Result, ServiceKind, ServiceRecord};

pub(super) struct IpfsKit;

const SETTINGS: &[Setting] = &[
    setting(
        "home",
        false,
        false,
        "the kit home the daemon serves (default: this kit's home)",
    ),
    setting(
        "api",
        false,
        false,
        "RPC API listen address (default /ip4/127.0.0.1/tcp/5001)",
    ),
    setting(
        "gateway",
        false,
        false,
        "gateway listen address (default /ip4/127.0.0.1/tcp/8080)",
    ),
];

const DEFAULT_API: &str = "/ip4/127.0.0.1/tcp/5001";
const DEFAULT_GATEWAY: &str = "/ip4/127.0.0.1/tcp/8080";

fn home(rec: &ServiceRecord, ctx: &KindCtx<'_>) -> PathBuf {
    rec.setting("home")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| ctx.home.root().to_path_buf())
}

impl KindSpec for IpfsKit {
    fn kind(&self) -> ServiceKind {
        ServiceKind::IpfsKit
    }
    fn summary(&self) -> &'static str {
        "ipfs-kit's own daemon (`ipfs-kit daemon`): Kubo RPC API, gateway, MCP and REST"
    }
    fn settings(&self) -> &'static [Setting] {
        SETTINGS
    }
    fn program(&self) -> Option<&'static str> {
        Some("ipfs-kit")
    }
    fn args(&self, rec: &ServiceRecord, ctx: &KindCtx<'_>) -> Vec<String> {
        vec![
            "--home".into(),
            home(rec, ctx).display().to_string(),
            // the embedded node whatever IPFS_KIT_API the supervisor's environment holds
            "--embedded".into(),
            "daemon".into(),
            "--api-addr".into(),
            or(rec, "api", DEFAULT_API).to_string(),
            "--gateway-addr".into(),
            or(rec, "gateway", DEFAULT_GATEWAY).to_string(),
        ]
    }
    fn listeners(&self, rec: &ServiceRecord, _ctx: &KindCtx<'_>) -> Vec<(String, String)> {
        vec![
            ("api".into(), or(rec, "api", DEFAULT_API).to_string()),
            (
                "gateway".into(),
                or(rec, "gateway", DEFAULT_GATEWAY).to_string(),
            ),
        ]
    }
    fn probe(&self, rec: &ServiceRecord, _ctx: &KindCtx<'_>) -> Result<Probe> {
        Ok(Probe::KuboId {
            api: or(rec, "api", DEFAULT_API).to_string(),
        })
    }
    fn data_dir(&self, rec: &ServiceRecord, ctx: &KindCtx<'_>) -> Option<PathBuf> {
        Some(home(rec, ctx).join("repo"))
    }
}
