//! ipfs-cluster-ctl connection settings, kept as the kit's service record `services/ipfs-cluster-ctl.yaml`
//! (written as JSON, which every YAML reader reads) and turned into the flags/env the real `ipfs-cluster-ctl` takes.

use serde_json::{Value, json};

use crate::error::{Problem, ProblemCode, Result};
use crate::kinds::{check_maddr, typed};

/// Secret values of the record.
pub const SECRETS: &[&str] = &["basic_auth.password", "secret"];

/// HTTP basic-auth credentials.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
}

/// How `ipfs-cluster-ctl` reaches a cluster's REST API.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterCtlSettings {
    /// `--host`: REST API multiaddr(s), comma-separated for fail-over.
    pub host: String,
    /// `--https`.
    pub https: bool,
    /// `--no-check-certificate`.
    pub no_check_certificate: bool,
    /// `--basic-auth user:password` (`CLUSTER_CREDENTIALS`).
    pub basic_auth: Option<BasicAuth>,
    /// `--force-http` (basic auth otherwise switches to HTTPS).
    pub force_http: bool,
    /// `--secret`: cluster secret, only for a `/p2p/` (libp2p) host.
    pub secret: String,
    /// `--encoding`: `text` or `json`.
    pub encoding: String,
    /// `--timeout` in seconds (0 = none).
    pub timeout_seconds: u64,
}

/// Upstream defaults: local REST API, no auth.
pub fn defaults() -> Result<Value> {
    Ok(json!({
        "host": "/ip4/127.0.0.1/tcp/9094",
        "https": false,
        "no_check_certificate": false,
        "basic_auth": null,
        "force_http": false,
        "secret": "",
        "encoding": "text",
        "timeout_seconds": 0
    }))
}

/// Strict shape, host multiaddrs, encoding, secret.
pub fn validate(doc: &Value) -> Vec<Problem> {
    let mut p = Vec::new();
    let Some(s) = typed::<ClusterCtlSettings>(doc, &mut p) else {
        return p;
    };
    if s.host.is_empty() {
        p.push(Problem::new("host", ProblemCode::Missing, "host is empty"));
    }
    for (i, h) in s.host.split(',').filter(|h| !h.is_empty()).enumerate() {
        check_maddr(&format!("host.{i}"), &json!(h.trim()), false, &mut p);
    }
    if !matches!(s.encoding.as_str(), "text" | "json") {
        p.push(Problem::new(
            "encoding",
            ProblemCode::BadValue,
            "encoding is text or json",
        ));
    }
    if !crate::identity::is_valid_cluster_secret(&s.secret) {
        p.push(Problem::new(
            "secret",
            ProblemCode::BadSecret,
            "secret must be 64 hex characters (or empty)",
        ));
    }
    if let Some(a) = &s.basic_auth
        && (a.user.is_empty() || a.user.contains(':'))
    {
        p.push(Problem::new(
            "basic_auth.user",
            ProblemCode::BadValue,
            "user must be non-empty and have no ':'",
        ));
    }
    p
}

/// The command-line flags for `ipfs-cluster-ctl` (credentials go in the environment, see [`ctl_env`]).
pub fn ctl_args(s: &ClusterCtlSettings) -> Vec<String> {
    let mut a = vec![
        "--host".to_string(),
        s.host.clone(),
        "--encoding".into(),
        s.encoding.clone(),
    ];
    if s.https {
        a.push("--https".into());
    }
    if s.no_check_certificate {
        a.push("--no-check-certificate".into());
    }
    if s.force_http {
        a.push("--force-http".into());
    }
    if !s.secret.is_empty() {
        a.extend(["--secret".to_string(), s.secret.clone()]);
    }
    if s.timeout_seconds > 0 {
        a.extend(["--timeout".to_string(), s.timeout_seconds.to_string()]);
    }
    a
}

/// Environment for `ipfs-cluster-ctl`: `CLUSTER_CREDENTIALS=user:password` when basic auth is set (kept off argv).
pub fn ctl_env(s: &ClusterCtlSettings) -> Vec<(String, String)> {
    s.basic_auth
        .iter()
        .map(|a| {
            (
                "CLUSTER_CREDENTIALS".to_string(),
                format!("{}:{}", a.user, a.password),
            )
        })
        .collect()
}
