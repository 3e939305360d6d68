//! Gateway throughput from the page cache: adds a 256 MiB file to a fresh repo, then downloads it
//! through the gateway several times over loopback and prints MB/s, next to the same read
//! straight from the repo into a sink (the ceiling).
//!
//! `cargo run --release -p ipfs-kit-http --example gateway_throughput [MiB] [--serve]`
//! (with `--serve` it keeps serving afterwards so `curl -o /dev/null URL` can be timed too).

use std::time::Instant;

use ipfs_kit_ops::{Catalogue, Kit, OpContext};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mib: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(256);
    let serve = args.iter().any(|a| a == "--serve");
    let home = tempfile::tempdir().expect("tempdir");
    let kit = Kit::open(&home.path().join("kit")).expect("open kit");
    let file = home.path().join("big.bin");
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let data: Vec<u8> = (0..mib << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    std::fs::write(&file, &data).expect("write input");
    drop(data);
    let out = Catalogue::standard()
        .require("ipfs_add")
        .expect("ipfs_add")
        .call(
            &kit,
            serde_json::json!({"paths": [file.to_str().expect("utf-8 path")]}),
            &OpContext::default(),
        )
        .await
        .expect("add");
    let cid = out["root"].as_str().expect("root").to_string();
    // The ceiling on this machine right now: the same read (verify on read, read-ahead) into a sink.
    let root = ipfs_kit_content::parse_cid(&cid).expect("cid");
    for run in 0..2 {
        let t = Instant::now();
        let blocks = kit.repo().expect("repo").blocks();
        let n = ipfs_kit_content::export::cat(blocks, &root, 0, None)
            .expect("cat")
            .with_read_ahead(ipfs_kit_content::export::READ_AHEAD)
            .write_to(&mut std::io::sink())
            .expect("read");
        let secs = t.elapsed().as_secs_f64();
        println!(
            "direct cat {run}: {n} bytes in {secs:.3} s = {:.0} MB/s",
            n as f64 / secs / 1e6
        );
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = ipfs_kit_http::gateway::router(kit.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let url = format!("http://{addr}/ipfs/{cid}");
    let client = ipfs_kit_clients::http_client_builder()
        .build()
        .expect("client");
    for run in 0..4 {
        let t = Instant::now();
        let mut resp = client.get(&url).send().await.expect("GET");
        let mut n = 0usize;
        while let Some(chunk) = resp.chunk().await.expect("body") {
            n += chunk.len();
        }
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(n, mib << 20);
        println!(
            "run {run}: {n} bytes in {secs:.3} s = {:.0} MB/s",
            n as f64 / secs / 1e6
        );
    }
    if serve {
        println!("serving {url} (Ctrl-C to stop)");
        let _ = tokio::signal::ctrl_c().await;
    }
}
