//! HTTP clients of the engines ipfs-kit drives rather than imitates: Kubo's RPC API ([`kubo`]) and
//! IPFS Cluster's REST API ([`cluster`]).
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod cluster;
pub mod kubo;

pub use cluster::ClusterClient;
pub use kubo::KuboClient;
