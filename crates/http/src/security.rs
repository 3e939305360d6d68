//! Host / Origin checks (DNS rebinding) and the bearer token.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::HttpConfig;

pub(crate) struct Guard {
    hosts: Vec<String>,
    token: Option<Vec<u8>>,
}

impl Guard {
    pub(crate) fn new(config: &HttpConfig) -> Self {
        let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"]
            .into_iter()
            .map(String::from)
            .collect();
        let ip = config.addr.ip();
        if !ip.is_unspecified() {
            hosts.push(ip.to_string());
        }
        hosts.extend(config.allowed_hosts.iter().map(|h| h.to_ascii_lowercase()));
        Guard {
            hosts,
            token: config.token.as_ref().map(|t| t.as_bytes().to_vec()),
        }
    }

    fn host_allowed(&self, authority: &str) -> bool {
        let host = host_of(authority);
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }
}

/// The host part of `host[:port]` or `[v6]:port`.
fn host_of(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    match authority.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    }
}

fn reject(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"status": "error", "error": message, "error_code": code, "context": {}});
    (status, axum::Json(body)).into_response()
}

/// Constant-time byte comparison (length is not secret).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(crate) async fn check(State(guard): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    if let Err((status, code, message)) = check_headers(&guard, req.headers()) {
        return reject(status, code, message);
    }
    next.run(req).await
}

/// Why a request is refused: status, error code, message.
type Refusal = (StatusCode, &'static str, &'static str);

fn check_headers(guard: &Guard, headers: &HeaderMap) -> Result<(), Refusal> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match host {
        Some(h) if guard.host_allowed(h) => {}
        _ => {
            return Err((
                StatusCode::FORBIDDEN,
                "FORBIDDEN",
                "Host header not allowed",
            ));
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let allowed = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .is_some_and(|(scheme, authority)| {
                matches!(scheme, "http" | "https") && guard.host_allowed(authority)
            });
        if !allowed {
            return Err((StatusCode::FORBIDDEN, "FORBIDDEN", "Origin not allowed"));
        }
    }
    if let Some(token) = &guard.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::as_bytes);
        if !given.is_some_and(|g| same(g, token)) {
            return Err((
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "a valid bearer token is required",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_parse() {
        assert_eq!(host_of("localhost:8765"), "localhost");
        assert_eq!(host_of("[::1]:8765"), "::1");
        assert_eq!(host_of("127.0.0.1"), "127.0.0.1");
        assert!(same(b"abc", b"abc") && !same(b"abc", b"abd") && !same(b"ab", b"abc"));
    }
}
