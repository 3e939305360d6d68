use ipfs_kit_ops::OpError;

/// Errors of the MCP face itself (starting, configuring, serving).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A filter names a toolset or tool that does not exist.
    #[error("invalid tool filter: {0}")]
    InvalidFilter(String),
    /// The kit could not be opened or an operation failed outside a call.
    #[error(transparent)]
    Op(#[from] OpError),
    /// The MCP session could not start (bad handshake, closed transport).
    #[error("MCP session failed to start: {0}")]
    Init(String),
    /// The serving task failed.
    #[error("MCP server task failed: {0}")]
    Task(String),
}

/// Why a tool call failed: the tool is absent (a protocol-level error), or it ran and failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No visible tool has this name (unknown, or hidden by the filter).
    #[error("unknown tool {0:?}")]
    UnknownTool(String),
    /// The operation rejected its input or failed.
    #[error(transparent)]
    Op(#[from] OpError),
}
