//! The MCP server driven in-process with raw JSON-RPC lines over a pipe.

use std::time::Duration;

use ipfs_kit_mcp::{McpOptions, McpServer, ToolFilter};
use ipfs_kit_ops::{Catalogue, Kit};
use rmcp::ServiceExt;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, ReadHalf, WriteHalf};

const WAIT: Duration = Duration::from_secs(20);

struct Client {
    w: WriteHalf<DuplexStream>,
    r: BufReader<ReadHalf<DuplexStream>>,
    /// Notifications seen while waiting for responses.
    notes: Vec<Value>,
}

impl Client {
    async fn send(&mut self, v: Value) {
        self.send_raw(&v.to_string()).await;
    }
    async fn send_raw(&mut self, line: &str) {
        self.w.write_all(line.as_bytes()).await.unwrap();
        self.w.write_all(b"\n").await.unwrap();
        self.w.flush().await.unwrap();
    }
    async fn next(&mut self) -> Value {
        let mut line = String::new();
        let n = tokio::time::timeout(WAIT, self.r.read_line(&mut line))
            .await
            .expect("server answered in time")
            .unwrap();
        assert!(n > 0, "server closed the stream");
        serde_json::from_str(&line).unwrap()
    }
    /// The response with `id`; notifications on the way are kept.
    async fn response(&mut self, id: Value) -> Value {
        loop {
            let m = self.next().await;
            if m.get("id") == Some(&id) && m.get("method").is_none() {
                return m;
            }
            if m.get("method").is_some() && m.get("id").is_none() {
                self.notes.push(m);
            }
        }
    }
    async fn request(&mut self, id: i64, method: &str, params: Value) -> Value {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        self.response(json!(id)).await
    }
    async fn call(&mut self, id: i64, name: &str, args: Value) -> Value {
        self.request(id, "tools/call", json!({"name": name, "arguments": args}))
            .await
    }
}

async fn start(options: McpOptions) -> (Client, McpServer, tempfile::TempDir) {
    let home = tempfile::tempdir().unwrap();
    let kit = Kit::open(home.path()).unwrap();
    let server = McpServer::new(kit, Catalogue::standard(), options);
    let (ours, theirs) = tokio::io::duplex(1 << 20);
    let s = server.clone();
    tokio::spawn(async move {
        if let Ok(running) = s.serve(theirs).await {
            let _ = running.waiting().await;
        }
    });
    let (r, w) = tokio::io::split(ours);
    let client = Client {
        w,
        r: BufReader::new(r),
        notes: Vec::new(),
    };
    (client, server, home)
}

async fn init(c: &mut Client, version: &str) -> Value {
    let r = c
        .request(
            0,
            "initialize",
            json!({"protocolVersion": version, "capabilities": {},
                   "clientInfo": {"name": "test", "version": "0"}}),
        )
        .await;
    c.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;
    r
}

#[tokio::test]
async fn negotiates_versions() {
    for (asked, got) in [
        ("2025-11-25", "2025-11-25"),
        ("2025-06-18", "2025-06-18"),
        ("2025-03-26", "2025-03-26"),
        ("2026-07-28", "2025-11-25"),
        ("1999-01-01", "2025-11-25"),
    ] {
        let (mut c, _s, _h) = start(McpOptions::default()).await;
        let r = init(&mut c, asked).await;
        assert_eq!(r["result"]["protocolVersion"], got, "asked {asked}");
        assert_eq!(r["result"]["serverInfo"]["name"], "ipfs-kit");
        assert_eq!(r["result"]["capabilities"]["tools"]["listChanged"], true);
    }
}

#[tokio::test]
async fn lists_tools_with_schemas_annotations_and_pages() {
    let options = McpOptions {
        page_size: 5,
        ..McpOptions::default()
    };
    let (mut c, server, _h) = start(options).await;
    init(&mut c, "2025-11-25").await;
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    let mut id = 1;
    loop {
        let params = match &cursor {
            Some(cur) => json!({"cursor": cur}),
            None => json!({}),
        };
        let r = c.request(id, "tools/list", params).await;
        id += 1;
        let tools = r["result"]["tools"].as_array().unwrap();
        assert!(tools.len() <= 5);
        for t in tools {
            let schema = &t["inputSchema"];
            assert_eq!(schema["type"], "object");
            for k in ["$schema", "oneOf", "anyOf", "allOf"] {
                assert!(schema.get(k).is_none(), "{} has top-level {k}", t["name"]);
            }
            assert_eq!(t["outputSchema"]["type"], "object");
            let a = &t["annotations"];
            for k in [
                "readOnlyHint",
                "destructiveHint",
                "idempotentHint",
                "openWorldHint",
            ] {
                assert!(a[k].is_boolean(), "{} lacks {k}", t["name"]);
            }
            assert!(t["title"].is_string() && t["description"].is_string());
            names.push(t["name"].as_str().unwrap().to_string());
        }
        match r["result"]["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "deterministic name order");
    assert_eq!(names.len(), Catalogue::standard().len());
    assert_eq!(names.len(), server.tools().len());
    assert!(names.contains(&"ipfs_add".to_string()));
    // A malformed cursor is invalid params.
    let r = c
        .request(99, "tools/list", json!({"cursor": "garbage"}))
        .await;
    assert_eq!(r["error"]["code"], -32602);
}

#[tokio::test]
async fn calls_succeed_and_fail_in_the_catalogue_shape() {
    let (mut c, _s, _h) = start(McpOptions::default()).await;
    init(&mut c, "2025-11-25").await;
    let r = c.call(1, "ipfs_add", json!({"content": "hello mcp"})).await;
    let res = &r["result"];
    assert_eq!(res["isError"], false);
    let root = res["structuredContent"]["root"]
        .as_str()
        .unwrap()
        .to_string();
    let text: Value = serde_json::from_str(res["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(text, res["structuredContent"]);
    let r = c.call(2, "ipfs_cat", json!({"path": root})).await;
    assert_eq!(r["result"]["structuredContent"]["content"], "hello mcp");

    // Execution error: isError with the catalogue's error JSON.
    let r = c.call(3, "ipfs_cat", json!({"path": "not-a-cid"})).await;
    let res = &r["result"];
    assert_eq!(res["isError"], true);
    assert_eq!(res["structuredContent"]["status"], "error");
    assert_eq!(res["structuredContent"]["error_code"], "INVALID_CID");
    assert!(res["structuredContent"]["context"].is_object());
    assert!(
        res["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("INVALID_CID")
    );

    // Wrong types: input validation error, isError.
    let r = c
        .call(4, "ipfs_cat", json!({"path": 12, "offset": "x"}))
        .await;
    assert_eq!(r["result"]["isError"], true);
    assert_eq!(
        r["result"]["structuredContent"]["error_code"],
        "INVALID_INPUT"
    );

    // Unknown tool: protocol error -32602.
    let r = c.call(5, "no_such_tool", json!({})).await;
    assert_eq!(r["error"]["code"], -32602);

    // Huge arguments (1 MiB string): a clean error, and the server keeps serving.
    let big = "x".repeat(1 << 20);
    let r = c.call(6, "ipfs_cat", json!({"path": big})).await;
    assert_eq!(r["result"]["isError"], true);

    // Malformed JSON is ignored, a non-message object is Invalid Request, unknown methods are
    // -32601; none of it stops the server.
    c.send_raw("{this is not json").await;
    c.send_raw(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":"oops"}"#)
        .await;
    let m = c.next().await;
    assert!(m["error"]["code"].is_i64(), "{m}");
    let r = c.request(8, "no/such/method", json!({})).await;
    assert_eq!(r["error"]["code"], -32601);
    let r = c.request(9, "ping", json!({})).await;
    assert!(r["result"].is_object());
}

#[tokio::test]
async fn aliases_resolve_and_read_only_hides_write_tools() {
    let filter = ToolFilter::parse(&Catalogue::standard(), &[], &[], &[], true).unwrap();
    let (mut c, server, _h) = start(McpOptions {
        filter,
        ..McpOptions::default()
    })
    .await;
    init(&mut c, "2025-11-25").await;
    let r = c.request(1, "tools/list", json!({})).await;
    let tools = r["result"]["tools"].as_array().unwrap();
    assert!(!tools.is_empty());
    for t in tools {
        assert_eq!(t["annotations"]["readOnlyHint"], true, "{}", t["name"]);
    }
    assert!(!tools.iter().any(|t| t["name"] == "ipfs_add"));
    // Absent, not refused: calling it is an unknown tool.
    let r = c.call(2, "ipfs_add", json!({"content": "x"})).await;
    assert_eq!(r["error"]["code"], -32602);
    assert!(server.filter().is_read_only());
}

#[tokio::test]
async fn filter_change_sends_list_changed() {
    let (mut c, server, _h) = start(McpOptions::default()).await;
    init(&mut c, "2025-11-25").await;
    // The server registers the session when `initialized` arrives; a round trip makes sure.
    c.request(1, "ping", json!({})).await;
    let before = server.tools().len();
    assert!(
        server
            .set_filter(ToolFilter::all().with_tools(["ipfs_cat"]))
            .await
    );
    let note = c.next().await;
    assert_eq!(note["method"], "notifications/tools/list_changed");
    let r = c.request(2, "tools/list", json!({})).await;
    let tools = r["result"]["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 1);
    assert_eq!(tools[0]["name"], "ipfs_cat");
    // The same filter again changes nothing and sends nothing.
    assert!(
        !server
            .set_filter(ToolFilter::all().with_tools(["ipfs_cat"]))
            .await
    );
    assert!(server.set_filter(ToolFilter::all()).await);
    let note = c.next().await;
    assert_eq!(note["method"], "notifications/tools/list_changed");
    assert_eq!(server.tools().len(), before);
}

fn sparse_file(dir: &std::path::Path, len: u64) -> String {
    let p = dir.join(format!("sparse-{len}"));
    std::fs::File::create(&p).unwrap().set_len(len).unwrap();
    p.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_with_a_token() {
    let (mut c, _s, home) = start(McpOptions::default()).await;
    init(&mut c, "2025-11-25").await;
    let path = sparse_file(home.path(), 64 << 20);
    c.send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "ipfs_add", "arguments": {"paths": [path], "only_hash": true, "pin": false},
        "_meta": {"progressToken": "tok-1"}}}),
    )
    .await;
    let r = c.response(json!(1)).await;
    assert_eq!(r["result"]["isError"], false, "{r}");
    let progress: Vec<_> = c
        .notes
        .iter()
        .filter(|n| n["method"] == "notifications/progress")
        .collect();
    assert!(!progress.is_empty(), "no progress notifications");
    let mut last = -1.0;
    for p in &progress {
        assert_eq!(p["params"]["progressToken"], "tok-1");
        let v = p["params"]["progress"].as_f64().unwrap();
        assert!(v > last, "progress increases");
        last = v;
    }
    // Without a token, none.
    c.notes.clear();
    let r = c
        .call(
            2,
            "ipfs_add",
            json!({"paths": [path], "only_hash": true, "pin": false}),
        )
        .await;
    assert_eq!(r["result"]["isError"], false);
    assert!(
        !c.notes
            .iter()
            .any(|n| n["method"] == "notifications/progress")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_stops_the_operation() {
    let (mut c, server, home) = start(McpOptions::default()).await;
    init(&mut c, "2025-11-25").await;
    // 64 GiB of zeros: hashing it would take minutes.
    let path = sparse_file(home.path(), 64 << 30);
    c.send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "ipfs_add", "arguments": {"paths": [path], "only_hash": true, "pin": false},
        "_meta": {"progressToken": 7}}}),
    )
    .await;
    // Wait for the first progress: the operation is running.
    loop {
        let m = c.next().await;
        if m["method"] == "notifications/progress" {
            break;
        }
    }
    assert_eq!(server.calls_in_flight(), 1);
    c.send(
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                  "params": {"requestId": 1, "reason": "test"}}),
    )
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.calls_in_flight() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the operation kept running"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The server keeps serving; the cancelled request gets no response.
    let r = c.request(2, "ping", json!({})).await;
    assert!(r["result"].is_object());
}

#[tokio::test]
async fn resources_and_prompts() {
    let (mut c, _s, home) = start(McpOptions::default()).await;
    init(&mut c, "2025-11-25").await;
    let r = c
        .call(1, "ipfs_add", json!({"content": "resource text"}))
        .await;
    let cid = r["result"]["structuredContent"]["root"]
        .as_str()
        .unwrap()
        .to_string();
    let r = c
        .request(2, "resources/read", json!({"uri": format!("ipfs://{cid}")}))
        .await;
    assert_eq!(r["result"]["contents"][0]["text"], "resource text");
    let r = c
        .request(
            3,
            "resources/read",
            json!({"uri": "ipfs://bafkqaaa-not-a-cid"}),
        )
        .await;
    assert!(r["error"]["code"].is_i64());
    let r = c.request(4, "resources/templates/list", json!({})).await;
    assert_eq!(
        r["result"]["resourceTemplates"][0]["uriTemplate"],
        "ipfs://{cid}{/path}"
    );
    // Config files are listed, and secrets are redacted when read.
    std::fs::create_dir_all(home.path().join("config")).unwrap();
    std::fs::write(
        home.path().join("config/kit.toml"),
        "name = \"x\"\napi_token = \"s3cret\"\n",
    )
    .unwrap();
    let r = c.request(5, "resources/list", json!({})).await;
    let uri = r["result"]["resources"][0]["uri"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(uri, "ipfs-kit://config/config/kit.toml");
    let r = c.request(6, "resources/read", json!({"uri": uri})).await;
    let text = r["result"]["contents"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("name = \"x\"") && !text.contains("s3cret"),
        "{text}"
    );
    let r = c.request(7, "prompts/list", json!({})).await;
    assert!(r["result"]["prompts"].as_array().unwrap().len() >= 2);
    let r = c
        .request(
            8,
            "prompts/get",
            json!({"name": "inspect_cid", "arguments": {"cid": cid}}),
        )
        .await;
    assert!(
        r["result"]["messages"][0]["content"]["text"]
            .as_str()
            .unwrap()
            .contains(&cid)
    );
}

#[tokio::test]
async fn serves_2026_07_28_without_initialize() {
    let (mut c, _s, _h) = start(McpOptions::default()).await;
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {}});
    let r = c
        .request(1, "server/discover", json!({"_meta": meta}))
        .await;
    let versions = r["result"]["supportedVersions"].as_array().unwrap();
    assert!(versions.contains(&json!("2026-07-28")) && versions.contains(&json!("2025-11-25")));
    let r = c
        .request(
            2,
            "tools/call",
            json!({"name": "ipfs_add", "arguments": {"content": "x"}, "_meta": meta}),
        )
        .await;
    assert_eq!(r["result"]["isError"], false, "{r}");
    assert_eq!(r["result"]["resultType"], "complete");
}
