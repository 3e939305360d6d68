//! `sftp`: an SFTP (SSH) server, checked by connecting and reading its greeting.

use super::{KindCtx, KindSpec, Probe, Setting, setting};
use crate::{Result, ServiceKind, ServiceRecord};

pub(super) struct Sftp;

const SETTINGS: &[Setting] = &[
    setting("host", true, false, "server host name or address"),
    setting("port", false, false, "port (default 22)"),
    setting("user", false, false, "user name"),
    setting("password", false, true, "password"),
    setting(
        "root",
        false,
        false,
        "directory on the server that holds the data",
    ),
    setting("private_key", false, true, "path of a private key file"),
];

impl KindSpec for Sftp {
    fn kind(&self) -> ServiceKind {
        ServiceKind::Sftp
    }
    fn summary(&self) -> &'static str {
        "an SFTP (SSH) server"
    }
    fn settings(&self) -> &'static [Setting] {
        SETTINGS
    }
    fn probe(&self, rec: &ServiceRecord, _ctx: &KindCtx<'_>) -> Result<Probe> {
        super::greeting_probe(rec, 22, "SSH-")
    }
}
