//! One module per service kind, all with the same shape ([`KindSpec`]): the program and arguments of a daemon,
//! the settings it accepts, the listeners the port plan must see, the health probe, and where its data lives.
//! Adding a kind is one new module plus one line in [`spec`].

use std::path::PathBuf;

use ipfs_kit_config::{ConfigStore, Target};
use serde_json::Value;

use crate::{Error, Home, Result, ServiceKind, ServiceRecord};

mod cluster_follow;
mod cluster_service;
mod ftp;
mod github;
mod huggingface;
mod ipfs;
mod ipfs_kit;
mod lassie;
mod lotus;
mod s3;
mod sftp;
mod storacha;

/// What a kind's functions may read: the kit home and the daemon configs.
#[derive(Debug, Clone, Copy)]
pub struct KindCtx<'a> {
    /// The kit home.
    pub home: &'a Home,
    /// Where the daemons' configs live.
    pub configs: &'a ConfigStore,
}

impl KindCtx<'_> {
    /// The daemon config of `target`, secrets revealed, `None` when it does not exist or does not parse.
    pub fn config(&self, target: &Target) -> Option<Value> {
        if !self.configs.exists(target).unwrap_or(false) {
            return None;
        }
        self.configs.get(target, true).ok()
    }
}

/// One setting a kind accepts in [`ServiceRecord::settings`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Setting {
    /// Its key.
    pub key: &'static str,
    /// Whether a record without it is refused.
    pub required: bool,
    /// Whether it is a secret (redacted in every view).
    pub secret: bool,
    /// What it means.
    pub doc: &'static str,
}

const fn setting(key: &'static str, required: bool, secret: bool, doc: &'static str) -> Setting {
    Setting {
        key,
        required,
        secret,
        doc,
    }
}

/// How a service's health is checked: a real request to the real API.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "probe", rename_all = "snake_case")]
pub enum Probe {
    /// Kubo RPC `POST /api/v0/id` (Kubo, js-ipfs, `ipfs-kit daemon`).
    KuboId {
        /// The RPC API address (multiaddr or URL).
        api: String,
    },
    /// IPFS Cluster REST `GET /id`.
    ClusterId {
        /// The REST API address (multiaddr or URL).
        api: String,
        /// `user:password` for Basic auth, if the API wants it.
        #[serde(skip)]
        basic_auth: Option<String>,
    },
    /// An HTTP `GET /id` over a unix socket (ipfs-cluster-follow's API socket).
    UnixHttpGet {
        /// The socket file.
        socket: PathBuf,
        /// The request path.
        path: String,
    },
    /// Lotus JSON-RPC `Filecoin.Version`.
    LotusVersion {
        /// The JSON-RPC URL (`http://127.0.0.1:1234/rpc/v0`).
        url: String,
        /// The API token, if one is readable.
        #[serde(skip)]
        token: Option<String>,
    },
    /// An HTTP request whose answer (any status listed) proves the server is up.
    Http {
        /// The URL.
        url: String,
        /// HTTP method.
        method: &'static str,
        /// Statuses that count as healthy.
        ok_status: Vec<u16>,
        /// A header whose presence proves the server is what we think, if any ([`crate::health::S3_PROOF`]
        /// stands for S3's headers or its XML answers).
        expect_header: Option<&'static str>,
        /// `Authorization` header value, if any.
        #[serde(skip)]
        authorization: Option<String>,
    },
    /// A TCP connection whose greeting starts with `banner` (FTP `220`, SSH `SSH-`).
    TcpBanner {
        /// `host:port`.
        addr: String,
        /// The expected start of the server's first line.
        banner: &'static str,
    },
}

/// The shape every kind module has.
pub trait KindSpec: Sync {
    /// The kind.
    fn kind(&self) -> ServiceKind;
    /// One line saying what it is.
    fn summary(&self) -> &'static str;
    /// The settings it accepts.
    fn settings(&self) -> &'static [Setting];
    /// The program a daemon kind runs by default (looked up on `PATH`); `None` for storage kinds.
    fn program(&self) -> Option<&'static str> {
        None
    }
    /// The daemon's default arguments.
    fn args(&self, _rec: &ServiceRecord, _ctx: &KindCtx<'_>) -> Vec<String> {
        Vec::new()
    }
    /// Environment variables the daemon needs (its config directory, …).
    fn env(&self, _rec: &ServiceRecord, _ctx: &KindCtx<'_>) -> Vec<(String, String)> {
        Vec::new()
    }
    /// The daemon config this service reads, if it has one the config store manages.
    fn config_target(&self, _rec: &ServiceRecord) -> Option<Target> {
        None
    }
    /// The listeners (`key`, multiaddr) the daemon will open, for the port check before start.
    fn listeners(&self, rec: &ServiceRecord, ctx: &KindCtx<'_>) -> Vec<(String, String)> {
        match (self.config_target(rec), rec.setting("api")) {
            (_, Some(api)) => vec![("api".into(), api.to_string())],
            (Some(t), None) => ctx
                .config(&t)
                .map(|doc| t.kind.listen_addresses(&doc))
                .unwrap_or_default(),
            (None, None) => Vec::new(),
        }
    }
    /// Kinds that must be running first (cluster after ipfs).
    fn requires(&self) -> &'static [ServiceKind] {
        &[]
    }
    /// How health is checked.
    fn probe(&self, rec: &ServiceRecord, ctx: &KindCtx<'_>) -> Result<Probe>;
    /// Where the service keeps its data on this host (for `service_storage`), if anywhere.
    fn data_dir(&self, _rec: &ServiceRecord, _ctx: &KindCtx<'_>) -> Option<PathBuf> {
        None
    }
}

/// The module of `kind`.
pub fn spec(kind: ServiceKind) -> &'static dyn KindSpec {
    match kind {
        ServiceKind::Ipfs => &ipfs::Ipfs,
        ServiceKind::IpfsClusterService => &cluster_service::ClusterService,
        ServiceKind::IpfsClusterFollow => &cluster_follow::ClusterFollow,
        ServiceKind::Lotus => &lotus::Lotus,
        ServiceKind::Lassie => &lassie::Lassie,
        ServiceKind::IpfsKit => &ipfs_kit::IpfsKit,
        ServiceKind::S3 => &s3::S3,
        ServiceKind::Storacha => &storacha::Storacha,
        ServiceKind::Huggingface => &huggingface::Huggingface,
        ServiceKind::Ftp => &ftp::Ftp,
        ServiceKind::Sftp => &sftp::Sftp,
        ServiceKind::Github => &github::Github,
    }
}

/// Checks a record's settings against its kind: unknown keys, missing required ones, non-scalar values.
pub fn check_settings(rec: &ServiceRecord) -> Result<()> {
    let spec = spec(rec.kind);
    for (k, v) in &rec.settings {
        if !spec.settings().iter().any(|s| s.key == k) {
            return Err(Error::invalid(
                format!("setting {k:?}"),
                format!(
                    "{} accepts: {}",
                    rec.kind,
                    spec.settings()
                        .iter()
                        .map(|s| s.key)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if !(v.is_string() || v.is_number() || v.is_boolean()) {
            return Err(Error::invalid(
                format!("setting {k:?}"),
                "must be a string, number or boolean",
            ));
        }
    }
    for s in spec.settings().iter().filter(|s| s.required) {
        if rec.setting(s.key).is_none_or(str::is_empty) && !rec.settings.contains_key(s.key) {
            return Err(Error::invalid(
                format!("setting {:?}", s.key),
                format!("{} needs it: {}", rec.kind, s.doc),
            ));
        }
    }
    if spec.program().is_none() && (rec.binary.is_some() || rec.args.is_some()) {
        return Err(Error::invalid(
            "binary/args",
            format!("{} is a storage service, not a process", rec.kind),
        ));
    }
    Ok(())
}

/// A copy of `rec` with every secret setting replaced by [`ipfs_kit_config::REDACTED`].
pub fn redact(rec: &ServiceRecord) -> ServiceRecord {
    let mut out = rec.clone();
    for s in spec(rec.kind).settings().iter().filter(|s| s.secret) {
        if let Some(v) = out.settings.get_mut(s.key)
            && v.as_str().is_none_or(|t| !t.is_empty())
        {
            *v = Value::String(ipfs_kit_config::REDACTED.to_string());
        }
    }
    for (k, v) in out.env.iter_mut() {
        let up = k.to_ascii_uppercase();
        if ["TOKEN", "SECRET", "PASSWORD", "KEY", "CREDENTIAL"]
            .iter()
            .any(|w| up.contains(w))
        {
            *v = ipfs_kit_config::REDACTED.to_string();
        }
    }
    out
}

/// The string setting `key`, else `default`.
fn or<'a>(rec: &'a ServiceRecord, key: &str, default: &'a str) -> &'a str {
    rec.setting(key)
        .filter(|s| !s.is_empty())
        .unwrap_or(default)
}

/// A probe reading the greeting of the server at the `host` and `port` settings (`default_port` when unset).
fn greeting_probe(rec: &ServiceRecord, default_port: u16, banner: &'static str) -> Result<Probe> {
    let host = rec.setting("host").unwrap_or_default();
    let port = match rec.settings.get("port") {
        None => default_port,
        Some(v) => v
            .as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .filter(|p| (1..=65535).contains(p))
            .map(|p| p as u16)
            .ok_or_else(|| Error::invalid("port", format!("{v} is not a port")))?,
    };
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    Ok(Probe::TcpBanner {
        addr: format!("{host}:{port}"),
        banner,
    })
}

/// A multiaddr, URL or `host:port` → base URL, parsed as the Kubo and Cluster clients parse addresses.
pub(crate) fn http_base(addr: &str) -> Result<String> {
    ipfs_kit_clients::base_url(addr).map_err(|e| Error::invalid("address", e.to_string()))
}

/// The config kind's string value at a JSON pointer.
fn cfg_str(doc: &Option<Value>, pointer: &str) -> Option<String> {
    doc.as_ref()?
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}
