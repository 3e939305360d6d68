//! The config kinds: one module per daemon, each with the same shape (files, defaults, render, parse, validate,
//! secrets, listeners), dispatched through [`ConfigKind`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde_json::Value;

use crate::error::{Error, Problem, ProblemCode, Result};
use crate::maddr;

pub mod cluster;
pub mod cluster_ctl;
pub mod huggingface;
pub mod kubo;
pub mod lassie;
pub mod lotus;
pub mod s3;
pub mod storacha;

/// Every kind of config this crate manages.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ConfigKind {
    /// Kubo (`$IPFS_PATH/config`).
    Kubo,
    /// ipfs-cluster-service (`~/.ipfs-cluster/{service,identity}.json`).
    IpfsClusterService,
    /// ipfs-cluster-follow (`~/.ipfs-cluster-follow/<cluster>/{service,identity}.json`).
    IpfsClusterFollow,
    /// ipfs-cluster-ctl connection settings (a kit service record).
    IpfsClusterCtl,
    /// Lotus (`~/.lotus/config.toml`).
    Lotus,
    /// Lassie daemon settings (kit home; rendered as flags and env).
    Lassie,
    /// s3cmd-style `~/.s3cfg`.
    S3,
    /// The HuggingFace token file.
    Huggingface,
    /// Storacha settings (kit home).
    Storacha,
}

impl ConfigKind {
    /// All kinds, in a stable order.
    pub const ALL: [ConfigKind; 9] = [
        ConfigKind::Kubo,
        ConfigKind::IpfsClusterService,
        ConfigKind::IpfsClusterFollow,
        ConfigKind::IpfsClusterCtl,
        ConfigKind::Lotus,
        ConfigKind::Lassie,
        ConfigKind::S3,
        ConfigKind::Huggingface,
        ConfigKind::Storacha,
    ];

    /// The snake_case name (`ipfs_cluster_service`).
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigKind::Kubo => "kubo",
            ConfigKind::IpfsClusterService => "ipfs_cluster_service",
            ConfigKind::IpfsClusterFollow => "ipfs_cluster_follow",
            ConfigKind::IpfsClusterCtl => "ipfs_cluster_ctl",
            ConfigKind::Lotus => "lotus",
            ConfigKind::Lassie => "lassie",
            ConfigKind::S3 => "s3",
            ConfigKind::Huggingface => "huggingface",
            ConfigKind::Storacha => "storacha",
        }
    }

    /// Whether the kind needs an instance name (the followed cluster's name).
    pub fn needs_instance(self) -> bool {
        self == ConfigKind::IpfsClusterFollow
    }

    /// Dotted paths (with `*` wildcards) whose values are secrets.
    pub fn secret_paths(self) -> &'static [&'static str] {
        match self {
            ConfigKind::Kubo => kubo::SECRETS,
            ConfigKind::IpfsClusterService | ConfigKind::IpfsClusterFollow => cluster::SECRETS,
            ConfigKind::IpfsClusterCtl => cluster_ctl::SECRETS,
            ConfigKind::Lotus => lotus::SECRETS,
            ConfigKind::Lassie => lassie::SECRETS,
            ConfigKind::S3 => s3::SECRETS,
            ConfigKind::Huggingface => huggingface::SECRETS,
            ConfigKind::Storacha => storacha::SECRETS,
        }
    }

    /// The files this kind keeps, with where they live under `layout`.
    pub fn files(self, layout: &Layout, instance: &str) -> Vec<FileSpec> {
        let kit = |name: &str| layout.kit_home.join(name);
        let file = |role, path: PathBuf, secret| FileSpec { role, path, secret };
        match self {
            ConfigKind::Kubo => vec![file(
                "config",
                layout.dir(self, ".ipfs").join("config"),
                true,
            )],
            ConfigKind::IpfsClusterService => {
                let d = layout.dir(self, ".ipfs-cluster");
                vec![
                    file("identity", d.join("identity.json"), true),
                    file("service", d.join("service.json"), true),
                ]
            }
            ConfigKind::IpfsClusterFollow => {
                let d = layout.dir(self, ".ipfs-cluster-follow").join(instance);
                vec![
                    file("identity", d.join("identity.json"), true),
                    file("service", d.join("service.json"), true),
                ]
            }
            ConfigKind::IpfsClusterCtl => {
                vec![file(
                    "record",
                    layout.file(self, kit("services/ipfs-cluster-ctl.yaml")),
                    true,
                )]
            }
            ConfigKind::Lotus => vec![file(
                "config",
                layout.dir(self, ".lotus").join("config.toml"),
                false,
            )],
            ConfigKind::Lassie => vec![file(
                "settings",
                layout.file(self, kit("config/lassie.toml")),
                true,
            )],
            ConfigKind::S3 => vec![file(
                "s3cfg",
                layout.file(self, layout.home.join(".s3cfg")),
                true,
            )],
            ConfigKind::Huggingface => {
                vec![file(
                    "token",
                    layout.file(self, layout.home.join(".cache/huggingface/token")),
                    true,
                )]
            }
            ConfigKind::Storacha => vec![file(
                "settings",
                layout.file(self, kit("config/storacha.toml")),
                true,
            )],
        }
    }

    /// A fresh default document (new identities and secrets where the kind has them).
    pub fn defaults(self, layout: &Layout, instance: &str) -> Result<Value> {
        match self {
            ConfigKind::Kubo => kubo::defaults(),
            ConfigKind::IpfsClusterService => cluster::service_defaults(),
            ConfigKind::IpfsClusterFollow => {
                let dir = layout.dir(self, ".ipfs-cluster-follow").join(instance);
                cluster::follow_defaults(instance, &dir)
            }
            ConfigKind::IpfsClusterCtl => cluster_ctl::defaults(),
            ConfigKind::Lotus => lotus::defaults(),
            ConfigKind::Lassie => lassie::defaults(),
            ConfigKind::S3 => s3::defaults(),
            ConfigKind::Huggingface => huggingface::defaults(),
            ConfigKind::Storacha => storacha::defaults(),
        }
    }

    /// The exact bytes of each file for `doc`; `previous` holds the current files (Lotus edits them in place).
    pub fn render(
        self,
        doc: &Value,
        previous: &BTreeMap<&'static str, Vec<u8>>,
    ) -> Result<Vec<(&'static str, Vec<u8>)>> {
        match self {
            ConfigKind::Kubo => Ok(vec![("config", json_bytes(doc)?)]),
            ConfigKind::IpfsClusterService | ConfigKind::IpfsClusterFollow => cluster::render(doc),
            ConfigKind::IpfsClusterCtl => Ok(vec![("record", json_bytes(doc)?)]),
            ConfigKind::Lotus => Ok(vec![(
                "config",
                lotus::render(doc, previous.get("config").map(Vec::as_slice))?,
            )]),
            ConfigKind::Lassie => Ok(vec![("settings", toml_bytes(doc)?)]),
            ConfigKind::S3 => Ok(vec![("s3cfg", s3::render(doc)?)]),
            ConfigKind::Huggingface => Ok(vec![("token", huggingface::render(doc)?)]),
            ConfigKind::Storacha => Ok(vec![("settings", toml_bytes(doc)?)]),
        }
    }

    /// Reads the document from the files' bytes (role → bytes; a missing file is absent).
    pub fn parse(self, files: &BTreeMap<&'static str, (PathBuf, Vec<u8>)>) -> Result<Value> {
        let one = |role: &str| {
            files.get(role).ok_or_else(|| Error::Parse {
                path: PathBuf::from(role),
                message: "file missing".into(),
            })
        };
        match self {
            ConfigKind::Kubo => {
                let (p, b) = one("config")?;
                parse_json(p, b)
            }
            ConfigKind::IpfsClusterService | ConfigKind::IpfsClusterFollow => {
                let (sp, sb) = one("service")?;
                let (ip, ib) = one("identity")?;
                Ok(
                    serde_json::json!({ "service": parse_json(sp, sb)?, "identity": parse_json(ip, ib)? }),
                )
            }
            ConfigKind::IpfsClusterCtl => {
                let (p, b) = one("record")?;
                parse_json(p, b)
            }
            ConfigKind::Lotus | ConfigKind::Lassie | ConfigKind::Storacha => {
                let (p, b) = files.values().next().ok_or_else(|| Error::Parse {
                    path: PathBuf::from(self.as_str()),
                    message: "file missing".into(),
                })?;
                parse_toml(p, b)
            }
            ConfigKind::S3 => {
                let (p, b) = one("s3cfg")?;
                s3::parse(p, b)
            }
            ConfigKind::Huggingface => {
                let (p, b) = one("token")?;
                huggingface::parse(p, b)
            }
        }
    }

    /// Everything wrong with `doc` (empty when valid).
    pub fn validate(self, doc: &Value) -> Vec<Problem> {
        match self {
            ConfigKind::Kubo => kubo::validate(doc),
            ConfigKind::IpfsClusterService => cluster::validate_service(doc),
            ConfigKind::IpfsClusterFollow => cluster::validate_follow(doc),
            ConfigKind::IpfsClusterCtl => cluster_ctl::validate(doc),
            ConfigKind::Lotus => lotus::validate(doc),
            ConfigKind::Lassie => lassie::validate(doc),
            ConfigKind::S3 => s3::validate(doc),
            ConfigKind::Huggingface => huggingface::validate(doc),
            ConfigKind::Storacha => storacha::validate(doc),
        }
    }

    /// The listening sockets `doc` configures: (dotted key, multiaddr or `host:port`).
    pub fn listen_addresses(self, doc: &Value) -> Vec<(String, String)> {
        match self {
            ConfigKind::Kubo => kubo::listen_addresses(doc),
            ConfigKind::IpfsClusterService | ConfigKind::IpfsClusterFollow => {
                cluster::listen_addresses(doc)
            }
            ConfigKind::Lotus => lotus::listen_addresses(doc),
            ConfigKind::Lassie => lassie::listen_addresses(doc),
            ConfigKind::IpfsClusterCtl
            | ConfigKind::S3
            | ConfigKind::Huggingface
            | ConfigKind::Storacha => vec![],
        }
    }
}

impl std::fmt::Display for ConfigKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ConfigKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let norm = s.trim().to_ascii_lowercase().replace('-', "_");
        let alias = match norm.as_str() {
            "cluster_service" | "ipfs_cluster" => "ipfs_cluster_service",
            "cluster_follow" | "follow" => "ipfs_cluster_follow",
            "cluster_ctl" | "ctl" => "ipfs_cluster_ctl",
            "ipfs" => "kubo",
            "hf" => "huggingface",
            n => n,
        };
        ConfigKind::ALL
            .into_iter()
            .find(|k| k.as_str() == alias)
            .ok_or_else(|| Error::UnknownKind(s.to_string()))
    }
}

/// One file of a kind: its role (`service`, `identity`, `config`, …), path, and whether it holds secrets (0600).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileSpec {
    /// Role name within the kind.
    pub role: &'static str,
    /// Where it lives.
    pub path: PathBuf,
    /// Written with mode 0600.
    pub secret: bool,
}

/// Where things live: the user's home, the kit home, and per-kind overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The home directory everything defaults under.
    pub home: PathBuf,
    /// The kit home (`<home>/.ipfs_kit`).
    pub kit_home: PathBuf,
    /// Per-kind override: a directory for Kubo / cluster service / cluster follow base / Lotus, the file itself for
    /// the others.
    pub overrides: BTreeMap<ConfigKind, PathBuf>,
}

impl Layout {
    /// Defaults rooted at `home`.
    pub fn new(home: impl Into<PathBuf>) -> Layout {
        let home = home.into();
        Layout {
            kit_home: home.join(".ipfs_kit"),
            home,
            overrides: BTreeMap::new(),
        }
    }

    fn dir(&self, kind: ConfigKind, default_name: &str) -> PathBuf {
        self.overrides
            .get(&kind)
            .cloned()
            .unwrap_or_else(|| self.home.join(default_name))
    }

    fn file(&self, kind: ConfigKind, default: PathBuf) -> PathBuf {
        self.overrides.get(&kind).cloned().unwrap_or(default)
    }
}

pub(crate) fn json_bytes(doc: &Value) -> Result<Vec<u8>> {
    let mut v = serde_json::to_vec_pretty(doc)
        .map_err(|e| Error::Unsupported(format!("render JSON: {e}")))?;
    v.push(b'\n');
    Ok(v)
}

pub(crate) fn toml_bytes(doc: &Value) -> Result<Vec<u8>> {
    toml::to_string(doc)
        .map(String::into_bytes)
        .map_err(|e| Error::Unsupported(format!("render TOML: {e}")))
}

pub(crate) fn parse_json(path: &Path, bytes: &[u8]) -> Result<Value> {
    serde_json::from_slice(bytes).map_err(|e| Error::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

pub(crate) fn parse_toml(path: &Path, bytes: &[u8]) -> Result<Value> {
    let text = std::str::from_utf8(bytes).map_err(|e| Error::Parse {
        path: path.to_path_buf(),
        message: format!("not UTF-8: {e}"),
    })?;
    let v: toml::Value = toml::from_str(text).map_err(|e| Error::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    serde_json::to_value(v).map_err(|e| Error::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Checks a multiaddr value (string) at `path`; `need_peer` requires a trailing `/p2p/<id>`.
pub(crate) fn check_maddr(path: &str, v: &Value, need_peer: bool, problems: &mut Vec<Problem>) {
    let Some(s) = v.as_str() else {
        problems.push(Problem::new(
            path,
            ProblemCode::WrongType,
            "expected a multiaddr string",
        ));
        return;
    };
    match maddr::parse(s) {
        Ok(m) if need_peer && m.peer_id().is_none() => problems.push(Problem::new(
            path,
            ProblemCode::BadMultiaddr,
            format!("{s:?} must end with /p2p/<peer ID>"),
        )),
        Ok(_) => {}
        Err(e) => problems.push(Problem::new(path, ProblemCode::BadMultiaddr, e)),
    }
}

/// Checks a string-or-list-of-strings of multiaddrs; `allow_empty` accepts `""` (disabled listener).
pub(crate) fn check_maddrs(
    path: &str,
    v: &Value,
    need_peer: bool,
    allow_empty: bool,
    problems: &mut Vec<Problem>,
) {
    match v {
        Value::String(s) if s.is_empty() && allow_empty => {}
        Value::String(_) => check_maddr(path, v, need_peer, problems),
        Value::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                check_maddr(&format!("{path}.{i}"), item, need_peer, problems);
            }
        }
        Value::Null => {}
        _ => problems.push(Problem::new(
            path,
            ProblemCode::WrongType,
            "expected a multiaddr or a list of them",
        )),
    }
}

/// Whether `s` is a Go duration string (`"30s"`, `"1h0m0s"`, `"0"`, `"-1.5h"`).
pub(crate) fn is_go_duration(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    if s == "0" {
        return true;
    }
    if s.is_empty() {
        return false;
    }
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
            i += 1;
        }
        if i == start {
            return false;
        }
        let unit_start = i;
        while i < b.len() && !(b[i].is_ascii_digit() || b[i] == b'.') {
            i += 1;
        }
        if !matches!(
            &s[unit_start..i],
            "ns" | "us" | "µs" | "μs" | "ms" | "s" | "m" | "h"
        ) {
            return false;
        }
    }
    true
}

/// Checks an http(s) URL at `path`.
pub(crate) fn check_url(path: &str, s: &str, problems: &mut Vec<Problem>) {
    match url::Url::parse(s) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        Ok(u) => problems.push(Problem::new(
            path,
            ProblemCode::BadUrl,
            format!("{s:?}: scheme {} is not http(s)", u.scheme()),
        )),
        Err(e) => problems.push(Problem::new(
            path,
            ProblemCode::BadUrl,
            format!("{s:?}: {e}"),
        )),
    }
}

/// Deserialises `doc` into a strict typed model, turning serde's message into a problem.
pub(crate) fn typed<T: serde::de::DeserializeOwned>(
    doc: &Value,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    match serde_json::from_value::<T>(doc.clone()) {
        Ok(t) => Some(t),
        Err(e) => {
            let msg = e.to_string();
            let code = if msg.starts_with("unknown field") {
                ProblemCode::UnknownKey
            } else if msg.starts_with("missing field") {
                ProblemCode::Missing
            } else {
                ProblemCode::WrongType
            };
            let path = msg
                .strip_prefix("unknown field `")
                .or_else(|| msg.strip_prefix("missing field `"))
                .and_then(|r| r.split('`').next())
                .unwrap_or("")
                .to_string();
            problems.push(Problem::new(path, code, msg));
            None
        }
    }
}
