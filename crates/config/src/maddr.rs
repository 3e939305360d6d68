//! A careful multiaddr string parser (text form only), enough to validate and read listeners.
//!
//! The `multiaddr` crate pins an older `libp2p-identity`, so we parse the text form ourselves against the
//! protocol table of multiformats/multiaddr `protocols.csv` (names and argument kinds are data from there).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use libp2p_identity::PeerId;

/// One protocol component of a multiaddr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Component {
    /// `/ip4/<addr>`
    Ip4(Ipv4Addr),
    /// `/ip6/<addr>`
    Ip6(Ipv6Addr),
    /// `/dns|dns4|dns6|dnsaddr/<name>` (the protocol name, the host name)
    Dns(&'static str, String),
    /// `/tcp/<port>`
    Tcp(u16),
    /// `/udp/<port>`
    Udp(u16),
    /// `/p2p/<peer id>` (also written `/ipfs/`)
    P2p(PeerId),
    /// `/unix/<path>` (the rest of the address)
    Unix(String),
    /// Any other protocol, with its argument if it takes one.
    Other(&'static str, Option<String>),
}

/// A parsed multiaddr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Multiaddr {
    /// Its components, in order.
    pub components: Vec<Component>,
}

enum Arg {
    None,
    Text,
    Port,
}

// (name, argument) from multiformats/multiaddr protocols.csv
const PROTOCOLS: &[(&str, Arg)] = &[
    ("ip6zone", Arg::Text),
    ("ipcidr", Arg::Text),
    ("dccp", Arg::Port),
    ("sctp", Arg::Port),
    ("onion", Arg::Text),
    ("onion3", Arg::Text),
    ("garlic64", Arg::Text),
    ("garlic32", Arg::Text),
    ("tls", Arg::None),
    ("sni", Arg::Text),
    ("noise", Arg::None),
    ("quic", Arg::None),
    ("quic-v1", Arg::None),
    ("webtransport", Arg::None),
    ("certhash", Arg::Text),
    ("http", Arg::None),
    ("http-path", Arg::Text),
    ("https", Arg::None),
    ("ws", Arg::None),
    ("wss", Arg::None),
    ("p2p-websocket-star", Arg::None),
    ("p2p-stardust", Arg::None),
    ("p2p-webrtc-star", Arg::None),
    ("p2p-webrtc-direct", Arg::None),
    ("webrtc-direct", Arg::None),
    ("webrtc", Arg::None),
    ("p2p-circuit", Arg::None),
    ("memory", Arg::Text),
    ("utp", Arg::None),
    ("udt", Arg::None),
    ("plaintextv2", Arg::None),
];

const DNS: &[&str] = &["dns", "dns4", "dns6", "dnsaddr"];

impl FromStr for Multiaddr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if !s.starts_with('/') {
            return Err(format!("{s:?} does not start with '/'"));
        }
        if s.len() > 1024 {
            return Err("multiaddr longer than 1024 bytes".into());
        }
        let mut parts = s[1..].split('/');
        let mut components = Vec::new();
        while let Some(name) = parts.next() {
            if name.is_empty() {
                return Err(format!("{s:?}: empty protocol name"));
            }
            let mut arg = |what: &str| {
                parts
                    .next()
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| format!("{s:?}: /{name} needs {what}"))
            };
            let c = match name {
                "ip4" => Component::Ip4(
                    arg("an IPv4 address")?
                        .parse()
                        .map_err(|_| format!("{s:?}: bad IPv4 address"))?,
                ),
                "ip6" => Component::Ip6(
                    arg("an IPv6 address")?
                        .parse()
                        .map_err(|_| format!("{s:?}: bad IPv6 address"))?,
                ),
                "tcp" | "udp" => {
                    let p = arg("a port")?;
                    let port: u16 = p
                        .parse()
                        .map_err(|_| format!("{s:?}: port {p:?} not in 0..=65535"))?;
                    if name == "tcp" {
                        Component::Tcp(port)
                    } else {
                        Component::Udp(port)
                    }
                }
                "p2p" | "ipfs" => {
                    let id = arg("a peer ID")?;
                    Component::P2p(
                        PeerId::from_str(id)
                            .map_err(|e| format!("{s:?}: bad peer ID {id:?}: {e}"))?,
                    )
                }
                "unix" => {
                    let rest: Vec<&str> = parts.by_ref().collect();
                    if rest.is_empty() || rest.iter().all(|p| p.is_empty()) {
                        return Err(format!("{s:?}: /unix needs a path"));
                    }
                    Component::Unix(format!("/{}", rest.join("/")))
                }
                n if DNS.contains(&n) => {
                    let host = arg("a host name")?;
                    let dns = DNS.iter().copied().find(|d| *d == n).unwrap_or("dns");
                    Component::Dns(dns, host.to_string())
                }
                n => match PROTOCOLS.iter().find(|(p, _)| *p == n) {
                    Some((p, Arg::None)) => Component::Other(p, None),
                    Some((p, Arg::Text)) => Component::Other(p, Some(arg("a value")?.to_string())),
                    Some((p, Arg::Port)) => {
                        let v = arg("a port")?;
                        v.parse::<u16>()
                            .map_err(|_| format!("{s:?}: port {v:?} not in 0..=65535"))?;
                        Component::Other(p, Some(v.to_string()))
                    }
                    None => return Err(format!("{s:?}: unknown protocol {n:?}")),
                },
            };
            components.push(c);
        }
        if components.is_empty() {
            return Err(format!("{s:?}: no protocols"));
        }
        Ok(Multiaddr { components })
    }
}

impl Multiaddr {
    /// The trailing `/p2p/<id>`, if any.
    pub fn peer_id(&self) -> Option<PeerId> {
        match self.components.last() {
            Some(Component::P2p(p)) => Some(*p),
            _ => None,
        }
    }

    /// The TCP port, if the address has one.
    pub fn tcp_port(&self) -> Option<u16> {
        self.components.iter().find_map(|c| {
            if let Component::Tcp(p) = c {
                Some(*p)
            } else {
                None
            }
        })
    }

    /// The UDP port, if the address has one.
    pub fn udp_port(&self) -> Option<u16> {
        self.components.iter().find_map(|c| {
            if let Component::Udp(p) = c {
                Some(*p)
            } else {
                None
            }
        })
    }

    /// The host part as text (`0.0.0.0`, `::`, `localhost`), if any.
    pub fn host(&self) -> Option<String> {
        self.components.iter().find_map(|c| match c {
            Component::Ip4(a) => Some(a.to_string()),
            Component::Ip6(a) => Some(a.to_string()),
            Component::Dns(_, h) => Some(h.clone()),
            _ => None,
        })
    }
}

/// Parses a multiaddr, giving the parser's message on failure.
pub fn parse(s: &str) -> Result<Multiaddr, String> {
    Multiaddr::from_str(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let m = parse("/ip4/0.0.0.0/udp/4001/quic-v1/webtransport").unwrap();
        assert_eq!(m.udp_port(), Some(4001));
        assert_eq!(m.host().as_deref(), Some("0.0.0.0"));
        let m = parse(
            "/dnsaddr/bootstrap.libp2p.io/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN",
        )
        .unwrap();
        assert!(m.peer_id().is_some());
        assert_eq!(
            parse("/unix/tmp/x/api-socket").unwrap().components,
            vec![Component::Unix("/tmp/x/api-socket".into())]
        );
        assert!(parse("/ip6/::/tcp/4001").is_ok());
        assert!(parse("/ip4/127.0.0.1/tcp/1234/http").is_ok());
        for bad in [
            "",
            "ip4/1.2.3.4",
            "/ip4/1.2.3",
            "/ip4/1.2.3.4/tcp",
            "/ip4/1.2.3.4/tcp/65536",
            "/foo/1",
            "/p2p/notapeer",
            "//tcp/1",
            "/ip4/1.2.3.4/tcp/1/",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
