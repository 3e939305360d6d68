//! `ipfs-kit daemon`: the embedded node's Kubo RPC API (with `/mcp` and `/api/tools` on the same
//! listener) and its gateway, on Kubo's default ports, announced through Kubo's `repo/api` and
//! `repo/gateway` files.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use ipfs_kit_mcp::McpServer;
use ipfs_kit_ops::Kit;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::rpc::{self, DaemonInfo, RpcState};
use crate::{Error, HttpConfig, security};

/// Kubo's default RPC API address.
pub const DEFAULT_API_ADDR: &str = "/ip4/127.0.0.1/tcp/5001";
/// Kubo's default gateway address.
pub const DEFAULT_GATEWAY_ADDR: &str = "/ip4/127.0.0.1/tcp/8080";
/// How long in-flight requests may take to finish once shutdown is asked for.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Parse a listen address: a multiaddr (`/ip4/127.0.0.1/tcp/5001`, `/ip6/::1/tcp/0`) or
/// `host:port`.
pub fn parse_listen_addr(s: &str) -> Result<SocketAddr, Error> {
    let bad = |why: &str| Error::BadAddress {
        addr: s.to_string(),
        reason: why.to_string(),
    };
    if !s.starts_with('/') {
        return s
            .parse()
            .map_err(|_| bad("expected a multiaddr like /ip4/127.0.0.1/tcp/5001 or host:port"));
    }
    let parts: Vec<&str> = s.trim_end_matches('/').split('/').skip(1).collect();
    match parts.as_slice() {
        [proto, ip, "tcp", port] if matches!(*proto, "ip4" | "ip6") => {
            let ip: IpAddr = ip.parse().map_err(|_| bad("bad IP address"))?;
            if (*proto == "ip4") != ip.is_ipv4() {
                return Err(bad("the address does not match its protocol"));
            }
            let port: u16 = port.parse().map_err(|_| bad("bad TCP port"))?;
            Ok(SocketAddr::new(ip, port))
        }
        _ => Err(bad(
            "only /ip4/…/tcp/PORT and /ip6/…/tcp/PORT are supported",
        )),
    }
}

/// The multiaddr of a socket address (`/ip4/127.0.0.1/tcp/5001`).
pub fn multiaddr(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(ip) => format!("/ip4/{ip}/tcp/{}", addr.port()),
        IpAddr::V6(ip) => format!("/ip6/{ip}/tcp/{}", addr.port()),
    }
}

/// How the daemon is set up.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// Where the RPC API (and `/mcp`, `/api/tools`) listens.
    pub api: SocketAddr,
    /// Where the gateway listens.
    pub gateway: SocketAddr,
    /// Bearer token required on both listeners (needed for non-loopback addresses).
    pub token: Option<String>,
    /// Extra Host names accepted.
    pub allowed_hosts: Vec<String>,
}

/// A daemon whose listeners are bound (so their real ports are known) but not yet serving.
#[derive(Debug)]
pub struct Daemon {
    api: TcpListener,
    gateway: TcpListener,
    api_config: HttpConfig,
    gateway_config: HttpConfig,
}

/// Removes the announcement files when dropped (clean exit, error or panic unwinding).
struct Announced(Vec<PathBuf>);

impl Drop for Announced {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Write `text` to `path` atomically (a temporary file renamed over it).
fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

impl Daemon {
    /// Check the addresses (a token for non-loopback ones) and bind both listeners.
    pub async fn bind(config: DaemonConfig) -> Result<Daemon, Error> {
        let http = |addr| {
            let mut c = HttpConfig::new(addr);
            c.token = config.token.clone();
            c.allowed_hosts = config.allowed_hosts.clone();
            c
        };
        let (mut api_config, mut gateway_config) = (http(config.api), http(config.gateway));
        api_config.validate()?;
        gateway_config.validate()?;
        let bind = |addr: SocketAddr| async move {
            TcpListener::bind(addr).await.map_err(|e| match e.kind() {
                std::io::ErrorKind::AddrInUse => Error::AddressInUse(addr),
                _ => Error::Io(e),
            })
        };
        let api = bind(config.api).await?;
        let gateway = bind(config.gateway).await?;
        api_config.addr = api.local_addr()?;
        gateway_config.addr = gateway.local_addr()?;
        Ok(Daemon {
            api,
            gateway,
            api_config,
            gateway_config,
        })
    }

    /// The bound RPC API address.
    pub fn api_addr(&self) -> SocketAddr {
        self.api_config.addr
    }

    /// The bound gateway address.
    pub fn gateway_addr(&self) -> SocketAddr {
        self.gateway_config.addr
    }

    /// Announce the addresses in `<home>/repo/api` and `<home>/repo/gateway`, call `ready`,
    /// serve until `shutdown` is cancelled (by a signal or `/api/v0/shutdown`), let in-flight
    /// requests finish (at most [`SHUTDOWN_GRACE`], then they are cancelled), sync the repo and
    /// remove the files.
    pub async fn serve(
        self,
        kit: Kit,
        server: McpServer,
        shutdown: CancellationToken,
        ready: impl FnOnce(),
    ) -> Result<(), Error> {
        let repo_dir = kit.home().join("repo");
        let api_file = repo_dir.join("api");
        let gateway_file = repo_dir.join("gateway");
        let info = DaemonInfo {
            api: multiaddr(self.api_addr()),
            gateway: multiaddr(self.gateway_addr()),
        };
        let mut announced = Announced(Vec::new());
        write_atomic(&api_file, &info.api)?;
        announced.0.push(api_file);
        write_atomic(&gateway_file, &format!("http://{}", self.gateway_addr()))?;
        announced.0.push(gateway_file);

        // Operations in flight are cancelled through this token, which fires only once the
        // grace period is over.
        let ops_token = CancellationToken::new();
        let state = RpcState::new(kit.clone(), shutdown.clone(), info);
        let state = state.with_cancel(ops_token.clone());
        let api_app = crate::router_with(
            server,
            &self.api_config,
            shutdown.clone(),
            rpc::router(state),
        );
        let guard = Arc::new(security::Guard::new(&self.gateway_config));
        let gateway_app: Router = crate::gateway::router(kit.clone())
            .layer(axum::middleware::from_fn_with_state(guard, security::check));

        ready();
        let mut api_task = tokio::spawn(serve_app(self.api, api_app, shutdown.clone()));
        let mut gateway_task = tokio::spawn(serve_app(self.gateway, gateway_app, shutdown.clone()));
        let (mut api_done, mut gateway_done) = (false, false);
        let early = tokio::select! {
            biased;
            _ = shutdown.cancelled() => None,
            r = &mut api_task => {
                api_done = true;
                Some(r)
            }
            r = &mut gateway_task => {
                gateway_done = true;
                Some(r)
            }
        };
        shutdown.cancel();
        let result = match early {
            Some(Ok(Err(e))) => Err(e),
            Some(Err(e)) => Err(Error::Io(std::io::Error::other(e))),
            _ => Ok(()),
        };
        let both = async {
            if !api_done {
                let _ = (&mut api_task).await;
            }
            if !gateway_done {
                let _ = (&mut gateway_task).await;
            }
        };
        if tokio::time::timeout(SHUTDOWN_GRACE, both).await.is_err() {
            ops_token.cancel();
            api_task.abort();
            gateway_task.abort();
        }
        ops_token.cancel();
        let synced = kit.blocking(|kit| Ok(kit.repo()?.blocks().sync()?)).await;
        drop(announced);
        result?;
        synced.map_err(|e| Error::Io(std::io::Error::other(e.to_string())))
    }
}

async fn serve_app(
    listener: TcpListener,
    app: Router,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        let a = parse_listen_addr("/ip4/127.0.0.1/tcp/5001").unwrap();
        assert_eq!(a, "127.0.0.1:5001".parse().unwrap());
        assert_eq!(multiaddr(a), "/ip4/127.0.0.1/tcp/5001");
        let b = parse_listen_addr("/ip6/::1/tcp/0").unwrap();
        assert_eq!(multiaddr(b), "/ip6/::1/tcp/0");
        assert_eq!(parse_listen_addr("127.0.0.1:8080").unwrap().port(), 8080);
        for bad in [
            "/ip4/1.2.3/tcp/1",
            "/ip4/::1/tcp/1",
            "/dns4/x/tcp/1",
            "nope",
            "/ip4/127.0.0.1/udp/1",
        ] {
            assert!(parse_listen_addr(bad).is_err(), "{bad}");
        }
    }
}
