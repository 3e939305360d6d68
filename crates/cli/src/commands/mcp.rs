//! `ipfs-kit mcp`: the catalogue as an MCP server over stdio or streamable HTTP.

use ipfs_kit_http::HttpConfig;
use ipfs_kit_mcp::{McpOptions, McpServer, ToolFilter};
use ipfs_kit_ops::{Catalogue, Kit};
use tokio_util::sync::CancellationToken;

use super::daemon::wait_for_signal;
use crate::cli::McpArgs;

pub(crate) async fn run(kit: Kit, args: McpArgs) -> anyhow::Result<()> {
    let catalogue = Catalogue::standard();
    let filter = ToolFilter::parse(
        &catalogue,
        &args.toolsets,
        &args.tools,
        &args.exclude_tools,
        args.read_only,
    )?;
    let options = McpOptions {
        filter,
        conformance_fixtures: args.conformance_fixtures,
        ..McpOptions::default()
    };
    let server = McpServer::new(kit, catalogue, options);
    let Some(addr) = args.http else {
        return Ok(ipfs_kit_mcp::serve_stdio(server).await?);
    };
    let mut config = HttpConfig::new(addr);
    config.token = ipfs_kit_http::load_token(args.token_file.as_deref())?;
    config.allowed_hosts = args.allow_host;
    config.validate()?;
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        signal.cancel();
    });
    let listener = tokio::net::TcpListener::bind(addr).await?;
    // The bound address on stderr (stdout stays clean), so a caller that asked for port 0 can read it.
    eprintln!(
        "ipfs-kit mcp: listening on http://{}/mcp",
        listener.local_addr()?
    );
    ipfs_kit_http::serve_on(server, listener, config, shutdown).await?;
    Ok(())
}
