//! HTTP clients of the engines ipfs-kit drives rather than imitates: Kubo's RPC API ([`kubo`]).
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod kubo;

pub use kubo::KuboClient;
