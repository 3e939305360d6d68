//! The port plan: every configured listener of every daemon on this host in one table, with collisions between
//! configs and with live sockets, each with a suggested free port.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};

use serde_json::Value;

use crate::maddr::{self, Component};
use crate::store::Target;

/// Transport of a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP (QUIC, WebTransport, WebRTC).
    Udp,
}

/// One configured listening socket.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Listener {
    /// Whose it is (`kubo`, `ipfs_cluster_follow@mycluster`, or a name given to [`PortPlan::add_listener`]).
    pub owner: String,
    /// The dotted key that configures it.
    pub key: String,
    /// The configured address as written.
    pub address: String,
    /// Transport.
    pub proto: Proto,
    /// Host part (`0.0.0.0`, `::`, `127.0.0.1`, a DNS name).
    pub host: String,
    /// Port (never 0: random ports are not planned).
    pub port: u16,
}

impl Listener {
    fn ip(&self) -> Option<IpAddr> {
        if self.host == "localhost" {
            return Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        self.host.parse().ok()
    }

    fn overlaps(&self, o: &Listener) -> bool {
        if self.proto != o.proto || self.port != o.port {
            return false;
        }
        match (self.ip(), o.ip()) {
            // Go listens on "::" with IPV6_V6ONLY, so v4 and v6 sockets never share a port
            (Some(a), Some(b)) => {
                a.is_ipv4() == b.is_ipv4() && (a == b || a.is_unspecified() || b.is_unspecified())
            }
            _ => self.host == o.host,
        }
    }

    fn group(&self) -> &str {
        // `Addresses.Swarm.3` → `Addresses.Swarm`: one daemon shares a socket among the entries of one list
        match self.key.rsplit_once('.') {
            Some((g, last)) if last.bytes().all(|b| b.is_ascii_digit()) => g,
            _ => &self.key,
        }
    }
}

/// A listener that cannot bind as planned.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Conflict {
    /// The listener that must move.
    pub listener: Listener,
    /// The configured listener it collides with (`None`: a socket already open on this host).
    pub with: Option<Listener>,
    /// A port free both in the plan and on this host.
    pub suggested_port: u16,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let l = &self.listener;
        match &self.with {
            Some(w) => write!(
                f,
                "{} {} ({:?} {}) collides with {} {} ({}); try port {}",
                l.owner, l.key, l.proto, l.port, w.owner, w.key, w.address, self.suggested_port
            ),
            None => write!(
                f,
                "{} {} ({:?} {} on {}) is already in use on this host; try port {}",
                l.owner, l.key, l.proto, l.port, l.host, self.suggested_port
            ),
        }
    }
}

/// Every planned listener.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PortPlan {
    /// The listeners, in the order added.
    pub listeners: Vec<Listener>,
}

fn listener_of(owner: &str, key: &str, address: &str) -> Option<Listener> {
    let m = maddr::parse(address).ok()?;
    let host = m.host()?;
    let (proto, port) = match (m.tcp_port(), m.udp_port()) {
        (Some(p), _) => (Proto::Tcp, p),
        (None, Some(p)) => (Proto::Udp, p),
        _ => return None,
    };
    if port == 0 || m.components.iter().any(|c| matches!(c, Component::Unix(_))) {
        return None;
    }
    Some(Listener {
        owner: owner.to_string(),
        key: key.to_string(),
        address: address.to_string(),
        proto,
        host,
        port,
    })
}

impl PortPlan {
    /// Adds every listener a config document declares.
    pub fn add_config(&mut self, t: &Target, doc: &Value) {
        for (key, addr) in t.kind.listen_addresses(doc) {
            if let Some(l) = listener_of(&t.to_string(), &key, &addr) {
                self.listeners.push(l);
            }
        }
    }

    /// Adds a listener that is not a daemon config (e.g. the kit's own server, `/ip4/127.0.0.1/tcp/8765`).
    /// Returns false when `address` is not a listenable multiaddr with a non-zero port.
    pub fn add_listener(&mut self, owner: &str, key: &str, address: &str) -> bool {
        match listener_of(owner, key, address) {
            Some(l) => {
                self.listeners.push(l);
                true
            }
            None => false,
        }
    }

    /// Whether `port` is free in the plan for `proto` (on any host) and bindable on this host.
    fn port_free(&self, proto: Proto, port: u16, skip: Option<&Listener>) -> bool {
        let planned = self
            .listeners
            .iter()
            .any(|l| l.proto == proto && l.port == port && Some(l) != skip);
        !planned && bind_ok(proto, IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)
    }

    fn suggest(&self, l: &Listener) -> u16 {
        let mut p = l.port;
        for _ in 0..2000 {
            p = if p == u16::MAX { 1024 } else { p + 1 };
            if self.port_free(l.proto, p, Some(l)) {
                return p;
            }
        }
        0
    }

    /// The first port at or after `start` that no listener of another owner uses (TCP or UDP) and that binds here.
    pub fn free_port_from(&self, start: u16, owner: &Target) -> u16 {
        let me = owner.to_string();
        let mut p = start.max(1);
        for _ in 0..5000 {
            let used = self.listeners.iter().any(|l| l.port == p && l.owner != me);
            if !used
                && bind_ok(Proto::Tcp, IpAddr::V4(Ipv4Addr::UNSPECIFIED), p)
                && bind_ok(Proto::Udp, IpAddr::V4(Ipv4Addr::UNSPECIFIED), p)
            {
                return p;
            }
            p = if p == u16::MAX { 1024 } else { p + 1 };
        }
        start
    }

    /// Collisions between planned listeners (the later one is reported as the one to move).
    pub fn conflicts(&self) -> Vec<Conflict> {
        let mut out = Vec::new();
        for (i, b) in self.listeners.iter().enumerate() {
            for a in &self.listeners[..i] {
                let same_socket_group =
                    a.owner == b.owner && (a.group() == b.group() || a.proto == Proto::Udp);
                if a.overlaps(b) && !same_socket_group {
                    out.push(Conflict {
                        listener: b.clone(),
                        with: Some(a.clone()),
                        suggested_port: self.suggest(b),
                    });
                    break;
                }
            }
        }
        out
    }

    /// Planned listeners whose address is already taken by a socket open on this host (try-bind). When the
    /// daemon that owns the listener is running, its own sockets show up here too.
    pub fn live_conflicts(&self) -> Vec<Conflict> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for l in &self.listeners {
            let Some(ip) = l.ip() else { continue };
            if !seen.insert((l.proto, ip, l.port)) {
                continue;
            }
            if !bind_ok(l.proto, ip, l.port) && bind_error_is_in_use(l.proto, ip, l.port) {
                out.push(Conflict {
                    listener: l.clone(),
                    with: None,
                    suggested_port: self.suggest(l),
                });
            }
        }
        out
    }

    /// `Err(PortConflict)` when any planned listener collides (with `live`, also with open sockets).
    pub fn check(&self, live: bool) -> crate::Result<()> {
        let mut c = self.conflicts();
        if live {
            c.extend(self.live_conflicts());
        }
        if c.is_empty() {
            Ok(())
        } else {
            Err(crate::Error::PortConflict(c))
        }
    }
}

fn try_bind(proto: Proto, ip: IpAddr, port: u16) -> std::io::Result<()> {
    let addr = SocketAddr::new(ip, port);
    match proto {
        Proto::Tcp => TcpListener::bind(addr).map(drop),
        Proto::Udp => UdpSocket::bind(addr).map(drop),
    }
}

fn bind_ok(proto: Proto, ip: IpAddr, port: u16) -> bool {
    try_bind(proto, ip, port).is_ok()
}

fn bind_error_is_in_use(proto: Proto, ip: IpAddr, port: u16) -> bool {
    // an address that is not on this host (AddrNotAvailable) or a privileged port is not a collision
    matches!(try_bind(proto, ip, port), Err(e) if e.kind() == std::io::ErrorKind::AddrInUse)
}
