//! The record of one registered service, stored as `services/<name>.yaml`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Error, Result};

/// The kinds of service ipfs-kit knows. Each has one module under `kinds/`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    /// Kubo, or any daemon serving Kubo's RPC API.
    Ipfs,
    /// `ipfs-cluster-service`.
    IpfsClusterService,
    /// `ipfs-cluster-follow`.
    IpfsClusterFollow,
    /// Lotus (Filecoin).
    Lotus,
    /// Lassie (retrieval).
    Lassie,
    /// `ipfs-kit daemon` itself.
    IpfsKit,
    /// An S3-compatible object store.
    S3,
    /// Storacha (web3.storage).
    Storacha,
    /// HuggingFace Hub.
    Huggingface,
    /// An FTP server.
    Ftp,
    /// An SFTP server.
    Sftp,
    /// A GitHub repository.
    Github,
}

impl ServiceKind {
    /// Every kind, in a fixed order.
    pub const ALL: [ServiceKind; 12] = [
        ServiceKind::Ipfs,
        ServiceKind::IpfsClusterService,
        ServiceKind::IpfsClusterFollow,
        ServiceKind::Lotus,
        ServiceKind::Lassie,
        ServiceKind::IpfsKit,
        ServiceKind::S3,
        ServiceKind::Storacha,
        ServiceKind::Huggingface,
        ServiceKind::Ftp,
        ServiceKind::Sftp,
        ServiceKind::Github,
    ];

    /// The kind's name as written in records and tools.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::Ipfs => "ipfs",
            ServiceKind::IpfsClusterService => "ipfs_cluster_service",
            ServiceKind::IpfsClusterFollow => "ipfs_cluster_follow",
            ServiceKind::Lotus => "lotus",
            ServiceKind::Lassie => "lassie",
            ServiceKind::IpfsKit => "ipfs_kit",
            ServiceKind::S3 => "s3",
            ServiceKind::Storacha => "storacha",
            ServiceKind::Huggingface => "huggingface",
            ServiceKind::Ftp => "ftp",
            ServiceKind::Sftp => "sftp",
            ServiceKind::Github => "github",
        }
    }

    /// Every kind's name.
    pub fn names() -> Vec<&'static str> {
        ServiceKind::ALL.iter().map(|k| k.as_str()).collect()
    }

    /// Parses a kind name (also accepting `-` for `_`, and `kubo` for `ipfs`).
    pub fn parse(s: &str) -> Result<ServiceKind> {
        let norm = s.trim().to_ascii_lowercase().replace('-', "_");
        let norm = match norm.as_str() {
            "kubo" => "ipfs",
            "cluster_service" | "ipfs_cluster" => "ipfs_cluster_service",
            "cluster_follow" => "ipfs_cluster_follow",
            "ipfs_kit_daemon" | "kit" => "ipfs_kit",
            "hf" | "hugging_face" => "huggingface",
            other => other,
        };
        ServiceKind::ALL
            .into_iter()
            .find(|k| k.as_str() == norm)
            .ok_or_else(|| Error::UnknownKind(s.to_owned()))
    }

    /// Whether the kind is a daemon (a process ipfs-kit supervises) or a storage service (an endpoint).
    pub fn class(self) -> Class {
        match self {
            ServiceKind::Ipfs
            | ServiceKind::IpfsClusterService
            | ServiceKind::IpfsClusterFollow
            | ServiceKind::Lotus
            | ServiceKind::Lassie
            | ServiceKind::IpfsKit => Class::Daemon,
            _ => Class::Storage,
        }
    }
}

impl std::fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Daemon or storage service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// A process ipfs-kit starts, stops and watches.
    Daemon,
    /// An endpoint ipfs-kit connects to.
    Storage,
}

/// When the supervisor starts a process again.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum RestartMode {
    /// Never.
    Never,
    /// When it exits with failure or is killed by a signal (default).
    #[default]
    OnFailure,
    /// Whenever it exits without being asked to stop.
    Always,
}

/// The restart policy of a daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RestartPolicy {
    /// When to restart.
    pub mode: RestartMode,
    /// Restarts allowed in a row before giving up (a run that stays up [`RestartPolicy::reset_after_ms`] resets the count).
    pub max_attempts: u32,
    /// First back-off delay in milliseconds; doubled at each attempt.
    pub backoff_initial_ms: u64,
    /// Longest back-off delay in milliseconds.
    pub backoff_max_ms: u64,
    /// A run this long (ms) counts as healthy and resets the attempt count.
    pub reset_after_ms: u64,
    /// Grace period (ms) between SIGTERM and SIGKILL on stop.
    pub stop_timeout_ms: u64,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy {
            mode: RestartMode::OnFailure,
            max_attempts: 5,
            backoff_initial_ms: 500,
            backoff_max_ms: 30_000,
            reset_after_ms: 60_000,
            stop_timeout_ms: 10_000,
        }
    }
}

impl RestartPolicy {
    /// The delay before restart attempt `attempt` (1-based): initial × 2^(attempt-1), capped.
    pub fn backoff_ms(&self, attempt: u32) -> u64 {
        let shift = attempt.saturating_sub(1).min(30);
        self.backoff_initial_ms
            .saturating_mul(1u64 << shift)
            .min(self.backoff_max_ms)
    }
}

/// One registered service. Daemon kinds use `binary`/`args`/`env`/`restart`; storage kinds use `settings`
/// (endpoint, bucket, credentials). Per-kind settings are checked by the kind's module.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceRecord {
    /// Unique name (`[a-z0-9][a-z0-9_.-]{0,62}`).
    pub name: String,
    /// The kind.
    pub kind: ServiceKind,
    /// Whether a supervisor starts it on its own start-up.
    #[serde(default)]
    pub autostart: bool,
    /// The program (absolute path, or a name looked up on `PATH`); the kind's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<PathBuf>,
    /// Arguments; the kind's defaults when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Extra environment variables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Working directory; the service's state directory when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<PathBuf>,
    /// The restart policy.
    #[serde(default)]
    pub restart: RestartPolicy,
    /// Services that must be running before this one starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Kind-specific settings (API address, endpoint, bucket, credentials…).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub settings: Map<String, Value>,
    /// How long a started daemon may take to answer its health probe before the start counts as failed
    /// (ms; default 30 000).
    #[serde(default = "default_start_timeout")]
    pub start_timeout_ms: u64,
    /// Storage quota in bytes, if one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_bytes: Option<u64>,
    /// When it was registered (ms since the Unix epoch).
    #[serde(default)]
    pub created_ms: u64,
}

impl ServiceRecord {
    /// A record with defaults for everything but name and kind.
    pub fn new(name: impl Into<String>, kind: ServiceKind) -> ServiceRecord {
        ServiceRecord {
            name: name.into(),
            kind,
            autostart: false,
            binary: None,
            args: None,
            env: BTreeMap::new(),
            cwd: None,
            restart: RestartPolicy::default(),
            depends_on: Vec::new(),
            settings: Map::new(),
            start_timeout_ms: default_start_timeout(),
            quota_bytes: None,
            created_ms: crate::events::now_ms(),
        }
    }

    /// A string setting.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings.get(key).and_then(Value::as_str)
    }

    /// Parses a record from YAML (or JSON, which is YAML).
    pub fn from_yaml(text: &str, origin: &std::path::Path) -> Result<ServiceRecord> {
        serde_saphyr::from_str(text).map_err(|e| Error::Corrupt {
            path: origin.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// The record as YAML.
    pub fn to_yaml(&self) -> Result<String> {
        serde_saphyr::to_string(self).map_err(|e| Error::invalid("record", e.to_string()))
    }
}

fn default_start_timeout() -> u64 {
    30_000
}

/// Checks a service name: 1–63 of `a-z 0-9 _ - .`, starting with a letter or digit (it names files).
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.')
        });
    if ok {
        Ok(())
    } else {
        Err(Error::BadName(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_round_trip() {
        let mut r = ServiceRecord::new("ipfs", ServiceKind::Ipfs);
        r.args = Some(vec!["daemon".into(), "--offline".into()]);
        r.settings
            .insert("api".into(), "/ip4/127.0.0.1/tcp/5001".into());
        r.restart.mode = RestartMode::Always;
        let y = r.to_yaml().unwrap();
        assert!(y.contains("kind: ipfs"), "{y}");
        assert!(y.contains("mode: always"), "{y}");
        let back = ServiceRecord::from_yaml(&y, std::path::Path::new("x")).unwrap();
        assert_eq!(back, r);
        assert!(ServiceRecord::from_yaml("name: a\nkind: nope\n", "x".as_ref()).is_err());
        assert!(ServiceRecord::from_yaml("name: a\nkind: s3\nbogus: 1\n", "x".as_ref()).is_err());
    }

    #[test]
    fn names_and_kinds() {
        for ok in ["ipfs", "a", "cluster-1", "s3.backup_2"] {
            check_name(ok).unwrap();
        }
        for bad in ["", "-x", "A", "a/b", "..", &"x".repeat(64), "a b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert_eq!(ServiceKind::parse("Kubo").unwrap(), ServiceKind::Ipfs);
        assert_eq!(
            ServiceKind::parse("ipfs-cluster-follow").unwrap(),
            ServiceKind::IpfsClusterFollow
        );
        assert!(matches!(
            ServiceKind::parse("mysql"),
            Err(Error::UnknownKind(_))
        ));
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RestartPolicy::default();
        assert_eq!(p.backoff_ms(1), 500);
        assert_eq!(p.backoff_ms(2), 1000);
        assert_eq!(p.backoff_ms(10), 30_000);
        assert_eq!(p.backoff_ms(u32::MAX), 30_000);
    }
}
