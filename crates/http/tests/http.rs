//! The HTTP server on a loopback port: security checks, REST mirror, MCP over streamable HTTP.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use ipfs_kit_http::HttpConfig;
use ipfs_kit_mcp::{McpOptions, McpServer};
use ipfs_kit_ops::{Catalogue, Kit};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

async fn start(token: Option<&str>) -> (SocketAddr, CancellationToken, tempfile::TempDir) {
    let home = tempfile::tempdir().unwrap();
    let kit = Kit::open(home.path()).unwrap();
    let server = McpServer::new(kit, Catalogue::standard(), McpOptions::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = HttpConfig::new(addr);
    config.token = token.map(String::from);
    let stop = CancellationToken::new();
    let s = stop.clone();
    tokio::spawn(async move { ipfs_kit_http::serve_on(server, listener, config, s).await });
    (addr, stop, home)
}

/// One HTTP/1.1 request with `Connection: close`; returns (status, body).
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    let has_host = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host"));
    if !has_host {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    // A server that rejects a body early (413) may close before it is all sent: read its answer anyway.
    let _ = s.write_all(req.as_bytes());
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out[9..12].parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn json_body(body: &str) -> Value {
    serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_mirror_and_status_codes() {
    let (addr, stop, _h) = start(None).await;
    tokio::task::spawn_blocking(move || {
        let (st, body) = http(addr, "GET", "/api/tools", &[], "");
        assert_eq!(st, 200);
        let tools = json_body(&body)["tools"].as_array().unwrap().len();
        assert_eq!(tools, Catalogue::standard().len());
        let ct = [("Content-Type", "application/json")];
        let (st, body) = http(
            addr,
            "POST",
            "/api/tools/ipfs_add",
            &ct,
            r#"{"content":"rest"}"#,
        );
        assert_eq!(st, 200, "{body}");
        let root = json_body(&body)["root"].as_str().unwrap().to_string();
        let (st, body) = http(
            addr,
            "POST",
            "/api/mcp/ipfs_cat",
            &ct,
            &json!({"path": root}).to_string(),
        );
        assert_eq!(st, 200);
        assert_eq!(json_body(&body)["content"], "rest");
        let (st, body) = http(
            addr,
            "POST",
            "/api/tools/ipfs_cat",
            &ct,
            r#"{"path":"nope"}"#,
        );
        assert_eq!(st, 400);
        let e = json_body(&body);
        assert_eq!(
            (e["status"].as_str(), e["error_code"].as_str()),
            (Some("error"), Some("INVALID_CID"))
        );
        let (st, body) = http(addr, "POST", "/api/tools/no_such_tool", &ct, "{}");
        assert_eq!(st, 404);
        assert_eq!(json_body(&body)["error_code"], "NOT_FOUND");
        let (st, _) = http(addr, "POST", "/api/tools/ipfs_cat", &ct, "{not json");
        assert_eq!(st, 400);
        let big = "x".repeat(17 * 1024 * 1024);
        let (st, _) = http(addr, "POST", "/api/tools/ipfs_cat", &ct, &big);
        assert_eq!(st, 413);
        // Still serving.
        let (st, _) = http(addr, "GET", "/api/tools", &[], "");
        assert_eq!(st, 200);
    })
    .await
    .unwrap();
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_origin_and_token_checks() {
    let (addr, stop, _h) = start(Some("tok")).await;
    tokio::task::spawn_blocking(move || {
        let auth = ("Authorization", "Bearer tok");
        assert_eq!(http(addr, "GET", "/api/tools", &[auth], "").0, 200);
        assert_eq!(http(addr, "GET", "/api/tools", &[], "").0, 401);
        assert_eq!(http(addr, "GET", "/api/tools", &[("Authorization", "Bearer tok2")], "").0, 401);
        assert_eq!(http(addr, "GET", "/api/tools", &[auth, ("Host", "evil.example:80")], "").0, 403);
        assert_eq!(http(addr, "GET", "/api/tools", &[auth, ("Host", "localhost")], "").0, 200);
        assert_eq!(http(addr, "GET", "/api/tools", &[auth, ("Origin", "http://evil.example")], "").0, 403);
        assert_eq!(http(addr, "GET", "/api/tools", &[auth, ("Origin", "http://localhost:3000")], "").0, 200);
        // The MCP endpoint is behind the same checks.
        let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}})
        .to_string();
        let mcp_headers = [auth, ("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")];
        let (st, body) = http(addr, "POST", "/mcp", &mcp_headers, &init);
        assert_eq!(st, 200, "{body}");
        assert!(body.contains("\"protocolVersion\":\"2025-11-25\""), "{body}");
        let evil = [auth, ("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream"), ("Origin", "https://evil.example")];
        assert_eq!(http(addr, "POST", "/mcp", &evil, &init).0, 403);
    })
    .await
    .unwrap();
    stop.cancel();
}

#[test]
fn non_loopback_needs_a_token() {
    let config = HttpConfig::new("0.0.0.0:8765".parse().unwrap());
    assert!(matches!(
        config.validate(),
        Err(ipfs_kit_http::Error::TokenRequired(_))
    ));
    let mut config = HttpConfig::new("0.0.0.0:8765".parse().unwrap());
    config.token = Some("t".into());
    assert!(config.validate().is_ok());
    assert!(
        HttpConfig::new("127.0.0.1:8765".parse().unwrap())
            .validate()
            .is_ok()
    );
}
