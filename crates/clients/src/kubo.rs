//! A client of Kubo's RPC API (`POST /api/v0/<command>?arg=…&option=…`), the interface every
//! Kubo-compatible daemon serves (Kubo itself, the js-ipfs daemon, and `ipfs-kit daemon`).

use std::time::Duration;

use serde::de::DeserializeOwned;

/// Errors talking to a Kubo RPC endpoint.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API address is neither a multiaddr, a URL nor `host:port`.
    #[error(
        "invalid Kubo API address {0:?}: expected /ip4/127.0.0.1/tcp/5001, http://host:port or host:port"
    )]
    InvalidAddress(String),
    /// Nothing answered at the address (connection refused, timeout, reset).
    #[error("no Kubo RPC API answering at {url}: {reason}")]
    Unreachable {
        /// The base URL tried.
        url: String,
        /// What the transport said.
        reason: String,
    },
    /// The daemon answered with an error (`{"Message","Code","Type":"error"}`).
    #[error("Kubo RPC {command} failed ({status}): {message}")]
    Api {
        /// The command (`pin/add`).
        command: String,
        /// The HTTP status.
        status: u16,
        /// The daemon's message.
        message: String,
    },
    /// The answer was not what the command documents.
    #[error("unexpected answer from Kubo RPC {command}: {reason}")]
    Decode {
        /// The command.
        command: String,
        /// What did not fit.
        reason: String,
    },
}

/// A Kubo RPC API endpoint. Cheap to clone (one shared connection pool).
#[derive(Debug, Clone)]
pub struct KuboClient {
    base: String,
    http: reqwest::Client,
    auth: Option<String>,
}

impl KuboClient {
    /// A client of the API at `addr`: a multiaddr (`/ip4/127.0.0.1/tcp/5001`, `/dns4/host/tcp/5001/https`),
    /// a URL (`http://127.0.0.1:5001`) or `host:port`.
    pub fn new(addr: &str) -> Result<KuboClient, Error> {
        let base = base_url(addr)?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| Error::Unreachable {
                url: base.clone(),
                reason: e.to_string(),
            })?;
        Ok(KuboClient {
            base,
            http,
            auth: None,
        })
    }

    /// Send `value` as the `Authorization` header of every request (Kubo's `API.Authorizations`:
    /// `Basic …` or `Bearer …`).
    pub fn with_authorization(mut self, value: impl Into<String>) -> Self {
        self.auth = Some(value.into());
        self
    }

    /// The base URL (`http://127.0.0.1:5001`).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// A POST request for `command` (`pin/add`) with query pairs (`arg` repeated for positionals).
    pub fn request(&self, command: &str, query: &[(&str, String)]) -> reqwest::RequestBuilder {
        let mut rb = self
            .http
            .post(format!("{}/api/v0/{command}", self.base))
            .query(query);
        if let Some(a) = &self.auth {
            rb = rb.header(reqwest::header::AUTHORIZATION, a);
        }
        rb
    }

    /// Send a request built by [`KuboClient::request`]; a non-2xx answer becomes [`Error::Api`].
    pub async fn send(
        &self,
        command: &str,
        rb: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Error> {
        let resp = rb.send().await.map_err(|e| self.transport(command, e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let body = resp.text().await.unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                v.get("Message")
                    .and_then(|m| m.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| body.trim().to_string());
        Err(Error::Api {
            command: command.to_string(),
            status: status.as_u16(),
            message,
        })
    }

    /// Call `command` and decode its single JSON answer.
    pub async fn json<T: DeserializeOwned>(
        &self,
        command: &str,
        query: &[(&str, String)],
    ) -> Result<T, Error> {
        let resp = self.send(command, self.request(command, query)).await?;
        let bytes = resp.bytes().await.map_err(|e| self.transport(command, e))?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Decode {
            command: command.to_string(),
            reason: e.to_string(),
        })
    }

    fn transport(&self, command: &str, e: reqwest::Error) -> Error {
        if e.is_decode() || e.is_body() {
            Error::Decode {
                command: command.to_string(),
                reason: e.to_string(),
            }
        } else {
            Error::Unreachable {
                url: self.base.clone(),
                reason: e.to_string(),
            }
        }
    }
}

/// `http://host:port` for a multiaddr, URL or `host:port`.
fn base_url(addr: &str) -> Result<String, Error> {
    let bad = || Error::InvalidAddress(addr.to_string());
    let addr = addr.trim();
    if let Some(rest) = addr
        .strip_prefix("http://")
        .or(addr.strip_prefix("https://"))
    {
        if rest.is_empty() {
            return Err(bad());
        }
        return Ok(addr.trim_end_matches('/').to_string());
    }
    if addr.starts_with('/') {
        let parts: Vec<&str> = addr.split('/').skip(1).collect();
        let (proto, host, tcp, port) = match parts.as_slice() {
            [proto, host, tcp, port, ..] => (*proto, *host, *tcp, *port),
            _ => return Err(bad()),
        };
        if tcp != "tcp" || port.parse::<u16>().is_err() {
            return Err(bad());
        }
        let scheme = match parts.get(4) {
            None | Some(&"http") => "http",
            Some(&"https") | Some(&"tls") => "https",
            Some(_) => return Err(bad()),
        };
        let host = match proto {
            "ip4" if host.parse::<std::net::Ipv4Addr>().is_ok() => host.to_string(),
            "ip6" if host.parse::<std::net::Ipv6Addr>().is_ok() => format!("[{host}]"),
            "dns" | "dns4" | "dns6" if !host.is_empty() => host.to_string(),
            _ => return Err(bad()),
        };
        return Ok(format!("{scheme}://{host}:{port}"));
    }
    match addr.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
            Ok(format!("http://{addr}"))
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::base_url;

    #[test]
    fn addresses() {
        assert_eq!(
            base_url("/ip4/127.0.0.1/tcp/5001").unwrap(),
            "http://127.0.0.1:5001"
        );
        assert_eq!(base_url("/ip6/::1/tcp/5001").unwrap(), "http://[::1]:5001");
        assert_eq!(
            base_url("/dns4/node.example/tcp/443/https").unwrap(),
            "https://node.example:443"
        );
        assert_eq!(
            base_url("http://localhost:5001/").unwrap(),
            "http://localhost:5001"
        );
        assert_eq!(base_url("localhost:5001").unwrap(), "http://localhost:5001");
        for bad in [
            "",
            "/ip4/1.2.3/tcp/5001",
            "/ip4/127.0.0.1/udp/5001",
            "host",
            "http://",
            "/ip4/127.0.0.1/tcp/99999",
        ] {
            assert!(base_url(bad).is_err(), "{bad}");
        }
    }
}
