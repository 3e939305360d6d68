//! Health probes: a real request to each service's real API ([`Probe`]), timed, and a score.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::events::now_ms;
use crate::kinds::{Probe, http_base};

/// How long one probe may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The most of a probe's answer that is read.
const MAX_BODY: usize = 64 * 1024;

/// How long a server that accepted the connection may take to greet: less than [`PROBE_TIMEOUT`] so that a
/// silent server (HTTP waits for the client to speak first) is reported as such rather than as a timeout.
const GREETING_WAIT: Duration = Duration::from_secs(4);

/// The `expect_header` of S3 probes, which for S3 stands for any proof that the answer is S3's.
///
/// S3 servers differ in their headers: AWS and MinIO send `x-amz-request-id` and `x-amz-id-2`, Ceph RGW
/// `x-amz-request-id`, moto neither (only the generic AWS `x-amzn-requestid`). What every one of them sends to
/// a bucket request is S3's XML: a `ListBucketResult` in the S3 namespace, or an `Error` document with a `Code`
/// and a `RequestId`. So either header or such a body is the proof; a web server that is not S3 has neither.
pub const S3_PROOF: &str = "x-amz-request-id";

/// The XML namespace of S3 documents.
const S3_XMLNS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// The outcome of one probe.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Health {
    /// Whether the service answered as expected.
    pub healthy: bool,
    /// 0–100: 100 healthy and quick, lower when slow, 0 when it did not answer as expected.
    pub score: u8,
    /// How long the probe took, when it got an answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// When it was checked (ms since the Unix epoch).
    pub checked_ms: u64,
    /// What was checked (`POST http://127.0.0.1:5001/api/v0/id`, …).
    pub check: String,
    /// What came back, or why it failed.
    pub detail: String,
    /// What the service said about itself (peer ID, version), when it says anything.
    #[serde(skip_serializing_if = "Value::is_null")]
    #[schemars(with = "Option<Value>")]
    pub info: Value,
}

/// The score of a healthy answer that took `ms`.
pub fn latency_score(ms: u64) -> u8 {
    match ms {
        0..=500 => 100,
        501..=2000 => 80,
        _ => 60,
    }
}

fn client() -> reqwest::Client {
    ipfs_kit_clients::http_client_builder()
        .timeout(PROBE_TIMEOUT)
        .connect_timeout(PROBE_TIMEOUT)
        .no_proxy()
        .build()
        .unwrap_or_default()
}

/// Runs `probe` and reports what happened. Never fails: an error is an unhealthy result with the reason.
pub async fn check(probe: &Probe) -> Health {
    let started = Instant::now();
    let (what, result) = match tokio::time::timeout(PROBE_TIMEOUT, run(probe)).await {
        Ok((what, r)) => (what, r),
        Err(_) => (
            describe(probe),
            Err(format!("no answer within {} s", PROBE_TIMEOUT.as_secs())),
        ),
    };
    let ms = started.elapsed().as_millis() as u64;
    match result {
        Ok((detail, info)) => Health {
            healthy: true,
            score: latency_score(ms),
            latency_ms: Some(ms),
            checked_ms: now_ms(),
            check: what,
            detail,
            info,
        },
        Err(detail) => Health {
            healthy: false,
            score: 0,
            latency_ms: None,
            checked_ms: now_ms(),
            check: what,
            detail,
            info: Value::Null,
        },
    }
}

fn describe(probe: &Probe) -> String {
    match probe {
        Probe::KuboId { api } => format!(
            "POST {}/api/v0/id",
            http_base(api).unwrap_or_else(|_| api.clone())
        ),
        Probe::ClusterId { api, .. } => {
            format!("GET {}/id", http_base(api).unwrap_or_else(|_| api.clone()))
        }
        Probe::UnixHttpGet { socket, path } => format!("GET {path} on {}", socket.display()),
        Probe::LotusVersion { url, .. } => format!("JSON-RPC Filecoin.Version at {url}"),
        Probe::Http { url, method, .. } => format!("{method} {url}"),
        Probe::TcpBanner { addr, banner } => format!("connect {addr}, expect greeting {banner:?}"),
    }
}

type Outcome = Result<(String, Value), String>;

async fn run(probe: &Probe) -> (String, Outcome) {
    let what = describe(probe);
    let r = match probe {
        Probe::KuboId { api } => kubo_id(api).await,
        Probe::ClusterId { api, basic_auth } => cluster_id(api, basic_auth.as_deref()).await,
        Probe::UnixHttpGet { socket, path } => unix_get(socket, path).await,
        Probe::LotusVersion { url, token } => lotus_version(url, token.as_deref()).await,
        Probe::Http {
            url,
            method,
            ok_status,
            expect_header,
            authorization,
        } => {
            http(
                url,
                method,
                ok_status,
                *expect_header,
                authorization.as_deref(),
            )
            .await
        }
        Probe::TcpBanner { addr, banner } => tcp_banner(addr, banner).await,
    };
    (what, r)
}

async fn kubo_id(api: &str) -> Outcome {
    let c = ipfs_kit_clients::KuboClient::new(api).map_err(|e| e.to_string())?;
    let v: Value = c.json("id", &[]).await.map_err(|e| e.to_string())?;
    let id = v["ID"].as_str().ok_or("answer has no ID")?;
    Ok((
        format!("peer {id}"),
        json!({"id": id, "agent_version": v["AgentVersion"]}),
    ))
}

async fn body(
    resp: reqwest::Response,
) -> Result<(u16, reqwest::header::HeaderMap, Vec<u8>), String> {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let mut resp = resp;
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
        let room = MAX_BODY.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() >= MAX_BODY {
            break;
        }
    }
    Ok((status, headers, out))
}

fn unreachable(url: &str, e: reqwest::Error) -> String {
    // reqwest's Display stops at the outermost error; the cause (refused, TLS handshake, certificate) is inside
    let mut why = e.to_string();
    let mut refused = false;
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        why = format!("{why}: {s}");
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            refused |= matches!(
                io.kind(),
                ConnectionRefused
                    | ConnectionReset
                    | HostUnreachable
                    | NetworkUnreachable
                    | AddrNotAvailable
            );
        }
        src = s.source();
    }
    if e.is_connect() && refused {
        format!("nothing answers at {url}: {why}")
    } else {
        format!("{url}: {why}")
    }
}

async fn cluster_id(api: &str, basic: Option<&str>) -> Outcome {
    let url = format!("{}/id", http_base(api).map_err(|e| e.to_string())?);
    let mut req = client().get(&url);
    if let Some(b) = basic {
        let (u, p) = b.split_once(':').unwrap_or((b, ""));
        req = req.basic_auth(u, Some(p));
    }
    let resp = req.send().await.map_err(|e| unreachable(&url, e))?;
    let (status, _, bytes) = body(resp).await?;
    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    match status {
        200 => {
            let id = v["id"].as_str().ok_or("answer has no id")?;
            if let Some(err) = v["error"].as_str().filter(|e| !e.is_empty()) {
                return Err(format!("peer {id} reports: {err}"));
            }
            Ok((
                format!("cluster peer {id}"),
                json!({"id": id, "version": v["version"], "peername": v["peername"]}),
            ))
        }
        401 => Err("401 Unauthorized: the REST API wants other credentials (basic_auth)".into()),
        s => Err(format!("HTTP {s}: {}", String::from_utf8_lossy(&bytes))),
    }
}

async fn unix_get(socket: &std::path::Path, path: &str) -> Outcome {
    #[cfg(unix)]
    {
        let mut s = tokio::net::UnixStream::connect(socket)
            .await
            .map_err(|e| format!("nothing answers on {}: {e}", socket.display()))?;
        s.write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        s.take(MAX_BODY as u64)
            .read_to_end(&mut buf)
            .await
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&buf);
        let status = text.lines().next().unwrap_or_default().to_string();
        if !status.contains(" 200") {
            return Err(format!("answered {status:?}"));
        }
        let body = text.split_once("\r\n\r\n").map(|x| x.1).unwrap_or_default();
        let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        Ok((
            format!("answered {status}"),
            json!({"id": v["id"], "version": v["version"]}),
        ))
    }
    #[cfg(not(unix))]
    {
        let _ = (socket, path);
        Err("unix sockets need a unix host".into())
    }
}

async fn lotus_version(url: &str, token: Option<&str>) -> Outcome {
    let mut req = client().post(url).json(&json!({
        "jsonrpc": "2.0", "method": "Filecoin.Version", "params": [], "id": 1
    }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.map_err(|e| unreachable(url, e))?;
    let (status, _, bytes) = body(resp).await?;
    if status == 401 {
        return Err("401 Unauthorized: the API token is missing or wrong".into());
    }
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| {
        format!(
            "HTTP {status}, not JSON-RPC: {}",
            String::from_utf8_lossy(&bytes)
        )
    })?;
    if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
        return Err(format!("JSON-RPC error: {err}"));
    }
    let version = v["result"]["Version"].as_str().ok_or("no result.Version")?;
    Ok((format!("lotus {version}"), v["result"].clone()))
}

async fn http(
    url: &str,
    method: &str,
    ok: &[u16],
    expect_header: Option<&str>,
    authorization: Option<&str>,
) -> Outcome {
    let m = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
    let mut req = client().request(m, url);
    if let Some(a) = authorization {
        req = req.header(reqwest::header::AUTHORIZATION, a);
    }
    let resp = req.send().await.map_err(|e| unreachable(url, e))?;
    let (status, headers, bytes) = body(resp).await?;
    let text = String::from_utf8_lossy(&bytes);
    match expect_header {
        Some(S3_PROOF) if !is_s3_answer(&headers, &text) => {
            return Err(format!(
                "HTTP {status} with neither an x-amz-request-id / x-amz-id-2 header nor an S3 XML body: \
                 this is not an S3 server"
            ));
        }
        Some(h) if h != S3_PROOF && !headers.contains_key(h) => {
            return Err(format!(
                "HTTP {status} without the {h} header: this is not the expected kind of server"
            ));
        }
        _ => {}
    }
    if ok.contains(&status) {
        return Ok((format!("HTTP {status}"), json!({"status": status})));
    }
    if let Some(err) = xml_element(&text, "Error")
        && let Some(code) = xml_element(err, "Code")
    {
        let message = xml_element(err, "Message").unwrap_or_default();
        return Err(format!("HTTP {status} {code}: {message}"));
    }
    let excerpt: String = text.chars().take(200).collect();
    Err(format!("HTTP {status}: {excerpt}"))
}

/// Whether an answer comes from an S3 server (see [`S3_PROOF`]).
fn is_s3_answer(headers: &reqwest::header::HeaderMap, text: &str) -> bool {
    if headers.contains_key("x-amz-request-id") || headers.contains_key("x-amz-id-2") {
        return true;
    }
    let listing = text.contains("<ListBucketResult") && text.contains(S3_XMLNS);
    let error = xml_element(text, "Error").is_some_and(|e| {
        xml_element(e, "Code").is_some_and(|c| !c.is_empty())
            && xml_element(e, "RequestId").is_some()
    });
    listing || error
}

/// The text between the first `<name>` and the `</name>` after it (S3 documents put no attributes on these).
fn xml_element<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&format!("</{name}>"))?;
    Some(text[start..start + end].trim())
}

async fn tcp_banner(addr: &str, banner: &str) -> Outcome {
    let s = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("nothing answers at {addr}: {e}"))?;
    let mut line = String::new();
    let mut reader = BufReader::new(s.take(1024));
    match tokio::time::timeout(GREETING_WAIT, reader.read_line(&mut line)).await {
        Err(_) => {
            return Err(format!(
                "{addr} accepted the connection but sent no greeting within {} s \
                 (expected one starting with {banner:?})",
                GREETING_WAIT.as_secs()
            ));
        }
        Ok(Err(e)) => return Err(format!("{addr}: {e}")),
        Ok(Ok(0)) => {
            return Err(format!(
                "{addr} closed the connection without a greeting (expected one starting with {banner:?})"
            ));
        }
        Ok(Ok(_)) => {}
    }
    let line = line.trim_end().to_string();
    if line.starts_with(banner) {
        Ok((format!("greeting {line:?}"), json!({"greeting": line})))
    } else {
        Err(format!(
            "{addr} greeted {line:?}, which does not start with {banner:?}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn nothing_listening_is_unhealthy_with_reason() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let h = check(&Probe::KuboId {
            api: format!("/ip4/127.0.0.1/tcp/{port}"),
        })
        .await;
        assert!(!h.healthy);
        assert_eq!(h.score, 0);
        assert!(h.check.contains("/api/v0/id"), "{}", h.check);
        let h = check(&Probe::TcpBanner {
            addr: format!("127.0.0.1:{port}"),
            banner: "220",
        })
        .await;
        assert!(
            !h.healthy && h.detail.contains("nothing answers"),
            "{}",
            h.detail
        );
    }

    #[tokio::test]
    async fn banner_probe_reads_the_greeting() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            for greeting in ["220 ready\r\n", "500 go away\r\n", ""] {
                let (mut s, _) = l.accept().await.unwrap();
                s.write_all(greeting.as_bytes()).await.unwrap();
            }
        });
        let p = Probe::TcpBanner {
            addr,
            banner: "220",
        };
        let ok = check(&p).await;
        assert!(ok.healthy, "{ok:?}");
        assert_eq!(ok.info["greeting"], "220 ready");
        let bad = check(&p).await;
        assert!(
            !bad.healthy && bad.detail.contains("500 go away"),
            "{bad:?}"
        );
        let closed = check(&p).await;
        assert!(
            !closed.healthy && closed.detail.contains("without a greeting"),
            "{closed:?}"
        );
    }

    #[test]
    fn s3_answers_are_told_from_other_servers() {
        use reqwest::header::{HeaderMap, HeaderValue};
        let none = HeaderMap::new();
        let mut amz = HeaderMap::new();
        amz.insert("x-amz-id-2", HeaderValue::from_static("abc"));
        assert!(is_s3_answer(&amz, ""));
        let listing = r#"<?xml version="1.0"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name></ListBucketResult>"#;
        assert!(is_s3_answer(&none, listing));
        let missing = "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message>\
                       <RequestId>42</RequestId></Error>";
        assert!(is_s3_answer(&none, missing));
        // a web server's page, an XML error without S3's request id, a listing outside S3's namespace
        assert!(!is_s3_answer(
            &none,
            "<html><body>404 Not Found</body></html>"
        ));
        assert!(!is_s3_answer(&none, "<Error><Code>NotFound</Code></Error>"));
        assert!(!is_s3_answer(
            &none,
            "<ListBucketResult></ListBucketResult>"
        ));
        assert_eq!(xml_element(missing, "Code"), Some("NoSuchBucket"));
        assert_eq!(xml_element(missing, "HostId"), None);
    }

    #[tokio::test]
    async fn https_speaks_tls_and_reports_the_handshake_failure() {
        // a plain-HTTP server: the TLS client hello gets garbage back, so the handshake must fail with a TLS
        // error (a build without TLS would fail before connecting, naming the scheme)
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let mut buf = [0u8; 512];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                    .await;
            }
        });
        let h = check(&Probe::Http {
            url: format!("https://127.0.0.1:{port}/"),
            method: "GET",
            ok_status: vec![200],
            expect_header: None,
            authorization: None,
        })
        .await;
        assert!(!h.healthy);
        let d = h.detail.to_ascii_lowercase();
        assert!(
            // rustls: the server's bytes are not a TLS record
            d.contains("corrupt message") || d.contains("handshake") || d.contains("certificate"),
            "{}",
            h.detail
        );
        assert!(!d.contains("scheme"), "{}", h.detail);
    }

    /// A one-request-per-connection HTTP server answering every request with `status` and `body`, after
    /// checking the request with `check`.
    async fn serve(
        status: u16,
        body: &'static str,
        check: fn(&str) -> bool,
    ) -> (u16, tokio::task::JoinHandle<()>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let h = tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let mut buf = vec![0u8; 8192];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let (status, body) = if check(&req) {
                    (status, body)
                } else {
                    (400, "unexpected request")
                };
                let _ = s
                    .write_all(
                        format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        )
                        .as_bytes(),
                    )
                    .await;
            }
        });
        (port, h)
    }

    // Cluster's answers as recorded/reconstructed for the Cluster client's tests (their sources are in
    // crates/clients/tests/fixtures/cluster/README.md).
    const CLUSTER_ID: &str = include_str!("../../clients/tests/fixtures/cluster/id.json");
    const CLUSTER_401: &str =
        include_str!("../../clients/tests/fixtures/cluster/error_401_access_denied.json");
    // A real Lotus node's answer to Filecoin.Version, as published in GetBlock's Lotus API docs.
    const LOTUS_VERSION: &str = r#"{"jsonrpc":"2.0","id":1,"result":{"Version":"1.28.0+mainnet","APIVersion":131840,"BlockDelay":30}}"#;

    #[tokio::test]
    async fn cluster_probe_reads_the_peer_and_reports_refused_credentials() {
        let (port, _h) = serve(200, CLUSTER_ID, |r| {
            r.starts_with("GET /id ")
                && r.to_ascii_lowercase()
                    .contains("authorization: basic dxnlcjpwyxnz")
        })
        .await;
        let p = Probe::ClusterId {
            api: format!("/ip4/127.0.0.1/tcp/{port}"),
            basic_auth: Some("user:pass".into()),
        };
        let h = check(&p).await;
        assert!(h.healthy, "{h:?}");
        assert_eq!(
            h.info["id"],
            "12D3KooWB6cxrTahCGu4T1vLeJTsSU3fHnWJsrig6bNi8afVEekm"
        );
        let (port, _h) = serve(401, CLUSTER_401, |_| true).await;
        let h = check(&Probe::ClusterId {
            api: format!("127.0.0.1:{port}"),
            basic_auth: Some("user:wrong".into()),
        })
        .await;
        assert!(!h.healthy && h.detail.contains("401"), "{h:?}");
    }

    #[tokio::test]
    async fn follower_socket_probe_speaks_http_over_the_unix_socket() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("api-socket");
        let l = tokio::net::UnixListener::bind(&sock).unwrap();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).await.unwrap();
            assert!(String::from_utf8_lossy(&buf[..n]).starts_with("GET /id HTTP/1.0"));
            let resp =
                format!("HTTP/1.0 200 OK\r\ncontent-type: application/json\r\n\r\n{CLUSTER_ID}");
            s.write_all(resp.as_bytes()).await.unwrap();
        });
        let h = check(&Probe::UnixHttpGet {
            socket: sock.clone(),
            path: "/id".into(),
        })
        .await;
        assert!(h.healthy, "{h:?}");
        assert_eq!(
            h.info["id"],
            "12D3KooWB6cxrTahCGu4T1vLeJTsSU3fHnWJsrig6bNi8afVEekm"
        );
        std::fs::remove_file(&sock).unwrap();
        let h = check(&Probe::UnixHttpGet {
            socket: sock,
            path: "/id".into(),
        })
        .await;
        assert!(!h.healthy && h.detail.contains("nothing answers"), "{h:?}");
    }

    #[tokio::test]
    async fn lotus_probe_calls_filecoin_version_with_the_token() {
        let (port, _h) = serve(200, LOTUS_VERSION, |r| {
            r.starts_with("POST /rpc/v0 ")
                && r.contains("\"method\":\"Filecoin.Version\"")
                && r.to_ascii_lowercase().contains("authorization: bearer tok")
        })
        .await;
        let h = check(&Probe::LotusVersion {
            url: format!("http://127.0.0.1:{port}/rpc/v0"),
            token: Some("tok".into()),
        })
        .await;
        assert!(h.healthy, "{h:?}");
        assert_eq!(h.info["Version"], "1.28.0+mainnet");
        let (port, _h) = serve(
            200,
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"boom"}}"#,
            |_| true,
        )
        .await;
        let h = check(&Probe::LotusVersion {
            url: format!("http://127.0.0.1:{port}/rpc/v0"),
            token: None,
        })
        .await;
        assert!(!h.healthy && h.detail.contains("boom"), "{h:?}");
    }

    #[test]
    fn scores() {
        assert_eq!(latency_score(3), 100);
        assert_eq!(latency_score(1500), 80);
        assert_eq!(latency_score(9000), 60);
    }
}
