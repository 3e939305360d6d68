//! HTTP clients of the engines ipfs-kit drives rather than imitates: Kubo's RPC API ([`kubo`]) and
//! IPFS Cluster's REST API ([`cluster`]).
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod cluster;
pub mod kubo;

pub use cluster::ClusterClient;
pub use kubo::{KuboClient, base_url};

/// A reqwest client builder with TLS ready: reqwest is built with `rustls-no-provider`, so the one crypto
/// provider (ring; no aws-lc is built) is installed process-wide here before any client exists. Every HTTP
/// client of the workspace starts from this.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        // an error means another provider was installed first: that one is used, which is fine
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
}
