//! The ipfs-kit MCP server: every operation of the catalogue is a tool, because it is an operation.
//!
//! [`McpServer`] implements rmcp's `ServerHandler` over an [`ipfs_kit_ops::Catalogue`] and a
//! [`ipfs_kit_ops::Kit`]; there is no per-tool code. It serves stdio ([`serve_stdio`]) here and
//! streamable HTTP in `ipfs-kit-http`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ipfs_kit_mcp::Error> {
//! use ipfs_kit_mcp::{McpOptions, McpServer, ToolFilter};
//! use ipfs_kit_ops::{Catalogue, Kit};
//! let kit = Kit::open(std::path::Path::new("/tmp/kit"))?;
//! let options = McpOptions { filter: ToolFilter::all().read_only(true), ..McpOptions::default() };
//! let server = McpServer::new(kit, Catalogue::standard(), options);
//! ipfs_kit_mcp::serve_stdio(server).await
//! # }
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod conformance;
mod error;
mod filter;
mod prompts;
mod resources;
mod server;

pub use error::{CallError, Error};
pub use filter::ToolFilter;
pub use resources::redact_secrets;
pub use server::{
    ExtraTool, ExtraToolFuture, ExtraToolHandler, McpOptions, McpServer, SUPPORTED_VERSIONS,
    serve_stdio,
};

/// The SDK this crate is built on, re-exported so callers use the exact same version.
pub use rmcp;
