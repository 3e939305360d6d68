//! `ftp`: an FTP server, checked by connecting and reading its greeting.

use super::{KindCtx, KindSpec, Probe, Setting, setting};
use crate::{Error, Result, ServiceKind, ServiceRecord};

pub(super) struct Ftp;

const SETTINGS: &[Setting] = &[
    setting("host", true, false, "server host name or address"),
    setting("port", false, false, "port (default 21)"),
    setting("user", false, false, "user name"),
    setting("password", false, true, "password"),
    setting(
        "root",
        false,
        false,
        "directory on the server that holds the data",
    ),
];

impl KindSpec for Ftp {
    fn kind(&self) -> ServiceKind {
        ServiceKind::Ftp
    }
    fn summary(&self) -> &'static str {
        "an FTP server"
    }
    fn settings(&self) -> &'static [Setting] {
        SETTINGS
    }
    fn probe(&self, rec: &ServiceRecord, _ctx: &KindCtx<'_>) -> Result<Probe> {
        let host = rec.setting("host").unwrap_or_default();
        let port = match rec.settings.get("port") {
            None => 21,
            Some(v) => v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .filter(|p| (1..=65535).contains(p))
                .ok_or_else(|| Error::invalid("port", format!("{v} is not a port")))?,
        };
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        Ok(Probe::TcpBanner {
            addr: format!("{host}:{port}"),
            banner: "220",
        })
    }
}
