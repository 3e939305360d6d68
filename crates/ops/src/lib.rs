//! The ipfs-kit operation catalogue: every capability defined once (name, typed input and output with JSON
//! Schemas, hints, toolset) and run against a [`Kit`]. The MCP, REST and CLI faces only translate.
//!
//! ```
//! # tokio_test_block(async {
//! use ipfs_kit_ops::{Catalogue, Kit, OpContext};
//! let home = tempfile::tempdir().unwrap();
//! let kit = Kit::open(home.path()).unwrap();
//! let catalogue = Catalogue::standard();
//! let out = catalogue
//!     .require("ipfs_version").unwrap()
//!     .call(&kit, serde_json::json!({}), &OpContext::default())
//!     .await
//!     .unwrap();
//! assert!(out["version"].is_string());
//! # });
//! # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod catalogue;
mod error;
pub mod ipns;
pub mod keystore;
mod kit;
mod kit_config;
pub mod mfs;
mod operation;
mod ops;
mod remote;
mod select;
pub mod stream;

pub use catalogue::{Catalogue, ToolInfo};
pub use error::{ErrorCode, OpError};
pub use kit::{Kit, Node};
pub use kit_config::{KIT_CONFIG_FILE, KitConfig};
pub use operation::{
    BoxFuture, DynOperation, InputStream, OpContext, OpMeta, Operation, Progress, Toolset,
};
pub use ops::*;
pub use select::{NodeSource, Selection};
