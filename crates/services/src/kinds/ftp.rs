//! `ftp`: an FTP server, checked by connecting and reading its greeting.

use super::{KindCtx, KindSpec, Probe, Setting, setting};
use crate::{Result, ServiceKind, ServiceRecord};

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
        super::greeting_probe(rec, 21, "220")
    }
}
