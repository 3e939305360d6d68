//! `ipfs-kit daemon`: Kubo's RPC API and the gateway on the embedded node, until SIGINT/SIGTERM
//! or `/api/v0/shutdown`.

use std::io::Write;

use ipfs_kit_http::daemon::{Daemon, DaemonConfig, multiaddr, parse_listen_addr};
use ipfs_kit_mcp::{McpOptions, McpServer};
use ipfs_kit_ops::{Catalogue, Kit};
use tokio_util::sync::CancellationToken;

use crate::cli::DaemonArgs;

/// How often the daemon probes running services and samples their metrics.
const SERVICES_TICK: std::time::Duration = std::time::Duration::from_secs(10);

pub(crate) async fn run(kit: Kit, args: DaemonArgs) -> anyhow::Result<()> {
    if let Some(k) = kit.kubo() {
        anyhow::bail!(
            "ipfs-kit daemon serves the embedded node, but this home is set to drive the node at {} \
             (another daemon runs on it, or --api / IPFS_KIT_API is set)",
            k.base_url()
        );
    }
    let config = DaemonConfig {
        api: parse_listen_addr(&args.api_addr)?,
        gateway: parse_listen_addr(&args.gateway_addr)?,
        token: ipfs_kit_http::load_token(args.token_file.as_deref())?,
        allowed_hosts: args.allow_host,
    };
    let daemon = Daemon::bind(config).await?;
    let server = McpServer::new(kit.clone(), Catalogue::standard(), McpOptions::default());
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    let signalled = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = signalled.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
        signal.cancel();
    });
    // the supervisor of the home's services: restart policies, adoption, health, metrics, alerts
    let services = kit.services()?.clone();
    let services_task = tokio::spawn({
        let token = shutdown.clone();
        async move { services.run(token, SERVICES_TICK).await }
    });
    let (api, gateway) = (daemon.api_addr(), daemon.gateway_addr());
    // Kubo's start-up lines, once the listeners are bound and the api file is written, so a
    // script waiting for the ready line can connect at once.
    let ready = move || {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "RPC API server listening on {}", multiaddr(api));
        let _ = writeln!(out, "Gateway server listening on {}", multiaddr(gateway));
        let _ = writeln!(out, "Daemon is ready");
        let _ = out.flush();
    };
    let served = daemon.serve(kit, server, shutdown.clone(), ready).await;
    shutdown.cancel();
    let _ = services_task.await;
    served?;
    if signalled.load(std::sync::atomic::Ordering::SeqCst) {
        println!("Received interrupt signal, shut down.");
    }
    Ok(())
}

/// SIGINT or SIGTERM (the daemon and `mcp --http` stop on either).
pub(crate) async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
