//! The gateway on a loopback port over a real repo: path gateway (files, ranges, directories,
//! HAMT, symlinks), trustless responses (raw, CAR scopes, entity-bytes, dups), the CAR vectors,
//! bad input, and the CARs checked by @ipld/car + ipfs-unixfs-exporter (code we did not write).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ipfs_kit_content::car::CarReader;
use ipfs_kit_content::{Cid, parse_cid};
use ipfs_kit_ops::{Catalogue, Kit, OpContext};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[path = "../../../tests/support/interop.rs"]
mod interop;
use interop::{ensure_interop, interop_dir};

struct Gw {
    base: String,
    addr: SocketAddr,
    kit: Kit,
    client: reqwest::Client,
    home: tempfile::TempDir,
}

async fn start() -> Gw {
    let home = tempfile::tempdir().unwrap();
    let kit = Kit::open(&home.path().join("kit")).unwrap();
    let app = ipfs_kit_http::gateway::router(kit.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = ipfs_kit_clients::http_client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Gw {
        base: format!("http://{addr}"),
        addr,
        kit,
        client,
        home,
    }
}

/// Deterministic pseudo-random bytes.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

const ODD_NAME: &str = "<x> & \"q\" ü.txt";

impl Gw {
    async fn add(&self, path: &Path, extra: Value) -> String {
        let mut input = json!({
            "paths": [path.to_str().unwrap()],
            "recursive": true,
            "cid_version": 1,
            "raw_leaves": true,
            "chunker": "size-1024",
        });
        for (k, v) in extra.as_object().unwrap() {
            input[k] = v.clone();
        }
        let out = Catalogue::standard()
            .require("ipfs_add")
            .unwrap()
            .call(&self.kit, input, &OpContext::default())
            .await
            .unwrap();
        out["root"].as_str().unwrap().to_string()
    }

    /// The test tree: site/{www/index.html, docs/{a.txt, big.bin, rep.bin, noext, empty.txt,
    /// link -> a.txt, ODD_NAME}}; returns (root CID, local dir).
    /// `ipfs_name_publish` with `input`; the name.
    async fn publish(&self, input: Value) -> String {
        let out = Catalogue::standard()
            .require("ipfs_name_publish")
            .unwrap()
            .call(&self.kit, input, &OpContext::default())
            .await
            .unwrap();
        out["name"].as_str().unwrap().to_string()
    }

    async fn add_site(&self) -> (String, PathBuf) {
        let site = self.home.path().join("site");
        std::fs::create_dir_all(site.join("www")).unwrap();
        std::fs::create_dir_all(site.join("docs")).unwrap();
        std::fs::write(
            site.join("www/index.html"),
            "<html><body>hi</body></html>\n",
        )
        .unwrap();
        std::fs::write(site.join("docs/a.txt"), "hello a\n").unwrap();
        std::fs::write(site.join("docs/big.bin"), noise(300_000, 7)).unwrap();
        std::fs::write(site.join("docs/rep.bin"), noise(1024, 9).repeat(16)).unwrap();
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(noise(100, 3));
        std::fs::write(site.join("docs/noext"), png).unwrap();
        std::fs::write(site.join("docs/empty.txt"), "").unwrap();
        std::fs::write(site.join("docs").join(ODD_NAME), "odd").unwrap();
        std::os::unix::fs::symlink("a.txt", site.join("docs/link")).unwrap();
        (self.add(&site, json!({})).await, site)
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        self.req(reqwest::Method::GET, path, headers).await
    }

    async fn req(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut r = self.client.request(method, format!("{}{path}", self.base));
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.send().await.unwrap()
    }
}

fn h(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

fn cid_of(gw_root: &str, kit: &Kit, path: &str) -> Cid {
    let blocks = kit.repo().unwrap().blocks();
    ipfs_kit_content::export::resolve_path(blocks, &format!("/ipfs/{gw_root}/{path}")).unwrap()
}

/// The CIDs of a CAR's blocks in order, checking each block against its CID; and its roots.
fn car_blocks(bytes: &[u8]) -> (Vec<Cid>, Vec<Cid>) {
    let mut r = CarReader::new(bytes).unwrap();
    let roots = r.roots().to_vec();
    let mut cids = Vec::new();
    for b in &mut r {
        let b = b.unwrap();
        ipfs_kit_content::Block::verify(&b.cid, &b.data).unwrap();
        cids.push(b.cid);
    }
    (roots, cids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_ranges_etags_and_types() {
    let gw = start().await;
    let (root, site) = gw.add_site().await;
    let big = std::fs::read(site.join("docs/big.bin")).unwrap();
    let big_cid = cid_of(&root, &gw.kit, "docs/big.bin");

    // Whole file with its headers.
    let r = gw.get(&format!("/ipfs/{root}/docs/big.bin"), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(h(&r, "etag"), format!("\"{big_cid}\""));
    assert_eq!(
        h(&r, "cache-control"),
        "public, max-age=29030400, immutable"
    );
    assert_eq!(h(&r, "x-ipfs-path"), format!("/ipfs/{root}/docs/big.bin"));
    let docs = cid_of(&root, &gw.kit, "docs");
    assert_eq!(h(&r, "x-ipfs-roots"), format!("{root},{docs},{big_cid}"));
    assert_eq!(h(&r, "accept-ranges"), "bytes");
    assert_eq!(h(&r, "content-length"), "300000");
    assert_eq!(h(&r, "content-type"), "application/octet-stream");
    assert!(h(&r, "last-modified").is_empty());
    assert_eq!(r.bytes().await.unwrap(), big);

    // HEAD: the same headers, no body.
    let r = gw
        .req(
            reqwest::Method::HEAD,
            &format!("/ipfs/{root}/docs/big.bin"),
            &[],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(h(&r, "content-length"), "300000");
    assert_eq!(h(&r, "etag"), format!("\"{big_cid}\""));
    assert!(r.bytes().await.unwrap().is_empty());

    // Ranges: first, middle (across chunk boundaries), last, suffix, open, past the end.
    let url = format!("/ipfs/{root}/docs/big.bin");
    for (range, a, b) in [
        ("bytes=0-0", 0usize, 0usize),
        ("bytes=0-1023", 0, 1023),
        ("bytes=1000-5000", 1000, 5000),
        ("bytes=299999-299999", 299_999, 299_999),
        ("bytes=-100", 299_900, 299_999),
        ("bytes=250000-", 250_000, 299_999),
        ("bytes=299000-999999", 299_000, 299_999),
    ] {
        let r = gw.get(&url, &[("range", range)]).await;
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(h(&r, "content-range"), format!("bytes {a}-{b}/300000"));
        assert_eq!(h(&r, "content-length"), (b - a + 1).to_string());
        assert_eq!(r.bytes().await.unwrap(), &big[a..=b], "{range}");
    }
    for range in ["bytes=300000-", "bytes=400000-400010", "bytes=-0"] {
        let r = gw.get(&url, &[("range", range)]).await;
        assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
        assert_eq!(h(&r, "content-range"), "bytes */300000");
    }
    // Multi-range: the whole file (our choice, allowed by RFC 9110).
    let r = gw.get(&url, &[("range", "bytes=0-1,5-6")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().len(), 300_000);
    // An empty file ignores Range.
    let r = gw
        .get(
            &format!("/ipfs/{root}/docs/empty.txt"),
            &[("range", "bytes=0-10")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(h(&r, "content-length"), "0");

    // Etag / If-None-Match.
    let etag = format!("\"{big_cid}\"");
    for inm in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"x\", {etag}"),
        "*".into(),
    ] {
        let r = gw.get(&url, &[("if-none-match", &inm)]).await;
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{inm}");
        assert_eq!(h(&r, "etag"), etag);
        assert!(r.bytes().await.unwrap().is_empty());
    }
    let r = gw.get(&url, &[("if-none-match", "\"other\"")]).await;
    assert_eq!(r.status(), StatusCode::OK);

    // Content types: extension, sniffed, index.html.
    for (path, ct) in [
        ("docs/a.txt", "text/plain; charset=utf-8"),
        ("docs/noext", "image/png"),
        ("www/index.html", "text/html; charset=utf-8"),
    ] {
        let r = gw.get(&format!("/ipfs/{root}/{path}"), &[]).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(h(&r, "content-type"), ct, "{path}");
    }
    // A file addressed by its own CID sniffs its bytes.
    let a = cid_of(&root, &gw.kit, "docs/a.txt");
    let r = gw.get(&format!("/ipfs/{a}"), &[]).await;
    assert_eq!(h(&r, "content-type"), "text/plain; charset=utf-8");
    assert_eq!(r.text().await.unwrap(), "hello a\n");

    // ?filename and ?download.
    let r = gw
        .get(&format!("/ipfs/{a}?filename=r%C3%A9sum%C3%A9.txt"), &[])
        .await;
    assert_eq!(
        h(&r, "content-disposition"),
        "inline; filename=\"r_sum_.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt"
    );
    assert_eq!(h(&r, "content-type"), "text/plain; charset=utf-8");
    let r = gw
        .get(&format!("/ipfs/{a}?filename=a.bin&download=true"), &[])
        .await;
    assert_eq!(
        h(&r, "content-disposition"),
        "attachment; filename=\"a.bin\"; filename*=UTF-8''a.bin"
    );

    // The odd name resolves when percent-encoded.
    let enc = percent_encoding::utf8_percent_encode(ODD_NAME, percent_encoding::NON_ALPHANUMERIC);
    let r = gw.get(&format!("/ipfs/{root}/docs/{enc}"), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "odd");

    // Last-Modified from a stored mtime.
    let dated = gw.home.path().join("dated.txt");
    std::fs::write(&dated, "dated").unwrap();
    let dcid = gw
        .add(&dated, json!({"mtime": 1_700_000_000, "raw_leaves": false}))
        .await;
    let r = gw.get(&format!("/ipfs/{dcid}"), &[]).await;
    assert_eq!(h(&r, "last-modified"), "Tue, 14 Nov 2023 22:13:20 GMT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directories_symlinks_and_hamt() {
    let gw = start().await;
    let (root, _) = gw.add_site().await;
    let docs = cid_of(&root, &gw.kit, "docs");

    // Redirect to the trailing-slash form, keeping the query.
    let r = gw.get(&format!("/ipfs/{root}/docs?x=1"), &[]).await;
    assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(h(&r, "location"), format!("/ipfs/{root}/docs/?x=1"));
    let r = gw.get(&format!("/ipfs/{root}"), &[]).await;
    assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(h(&r, "location"), format!("/ipfs/{root}/"));

    // Listing: escaped names, CIDs, sizes, parent link; Etag of the directory.
    let r = gw.get(&format!("/ipfs/{root}/docs/"), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(h(&r, "content-type"), "text/html; charset=utf-8");
    let etag = h(&r, "etag");
    assert!(etag.starts_with("\"DirIndex-") && etag.ends_with(&format!("_CID-{docs}\"")));
    let html = r.text().await.unwrap();
    assert!(
        html.contains("&lt;x&gt; &amp; &quot;q&quot; ü.txt"),
        "{html}"
    );
    assert!(!html.contains("<x>"));
    assert!(html.contains("<a href=\"../\">..</a>"));
    let a = cid_of(&root, &gw.kit, "docs/a.txt");
    assert!(html.contains(&format!("<a href=\"/ipfs/{a}\">{a}</a>")));
    assert!(html.contains("<a href=\"./big.bin\">big.bin</a>"));
    let r = gw
        .get(&format!("/ipfs/{root}/docs/"), &[("if-none-match", &etag)])
        .await;
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    // The root listing has no parent link.
    let html = gw
        .get(&format!("/ipfs/{root}/"), &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("href=\"../\""));
    assert!(html.contains("./docs"));

    // index.html is served for its directory.
    let r = gw.get(&format!("/ipfs/{root}/www/"), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(h(&r, "content-type"), "text/html; charset=utf-8");
    let index = cid_of(&root, &gw.kit, "www/index.html");
    assert_eq!(h(&r, "etag"), format!("\"{index}\""));
    assert_eq!(r.text().await.unwrap(), "<html><body>hi</body></html>\n");

    // A symlink answers its target, typed inode/symlink (Kubo's behaviour).
    let r = gw.get(&format!("/ipfs/{root}/docs/link"), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(h(&r, "content-type"), "inode/symlink");
    assert_eq!(r.text().await.unwrap(), "a.txt");

    // A HAMT-sharded directory: lookups and the listing.
    let hdir = gw.home.path().join("hamt");
    std::fs::create_dir_all(&hdir).unwrap();
    for i in 0..300 {
        std::fs::write(
            hdir.join(format!("entry-with-a-long-name-{i:04}.txt")),
            format!("n{i}"),
        )
        .unwrap();
    }
    let hroot = gw.add(&hdir, json!({"hamt_threshold": 1000})).await;
    let st = ipfs_kit_content::export::stat(
        gw.kit.repo().unwrap().blocks(),
        &parse_cid(&hroot).unwrap(),
    )
    .unwrap();
    assert_eq!(st.kind, ipfs_kit_content::export::NodeKind::HamtDirectory);
    for i in [0, 17, 299] {
        let r = gw
            .get(
                &format!("/ipfs/{hroot}/entry-with-a-long-name-{i:04}.txt"),
                &[],
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.text().await.unwrap(), format!("n{i}"));
    }
    let r = gw.get(&format!("/ipfs/{hroot}/missing.txt"), &[]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let html = gw
        .get(&format!("/ipfs/{hroot}/"), &[])
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(html.matches("<tr><td><a href=\"./entry").count(), 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_and_car_scopes() {
    let gw = start().await;
    let (root, _) = gw.add_site().await;
    let rootc = parse_cid(&root).unwrap();
    let docs = cid_of(&root, &gw.kit, "docs");
    let big = cid_of(&root, &gw.kit, "docs/big.bin");
    let rep = cid_of(&root, &gw.kit, "docs/rep.bin");
    let blocks = gw.kit.repo().unwrap().blocks();
    let car_all = |cid: &Cid| {
        let mut v = Vec::new();
        ipfs_kit_content::car::export_dag(blocks, cid, &mut v).unwrap();
        car_blocks(&v).1
    };

    // Raw block.
    let r = gw.get(&format!("/ipfs/{big}?format=raw"), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(h(&r, "content-type"), "application/vnd.ipld.raw");
    assert_eq!(h(&r, "x-content-type-options"), "nosniff");
    assert_eq!(h(&r, "etag"), format!("\"{big}.raw\""));
    assert!(
        h(&r, "content-disposition").starts_with(&format!("attachment; filename=\"{big}.bin\""))
    );
    assert_eq!(r.bytes().await.unwrap(), blocks.get(&big).unwrap());
    let r = gw
        .get(
            &format!("/ipfs/{big}"),
            &[("accept", "application/vnd.ipld.raw")],
        )
        .await;
    assert_eq!(h(&r, "content-type"), "application/vnd.ipld.raw");
    let r = gw.get(&format!("/ipfs/{root}/docs?format=raw"), &[]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Identity probe.
    let r = gw.get("/ipfs/bafkqaaa?format=raw", &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.bytes().await.unwrap().is_empty());
    let r = gw.get("/ipfs/bafkqaaa?format=car", &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let (roots, _) = car_blocks(&r.bytes().await.unwrap());
    assert_eq!(roots, vec![parse_cid("bafkqaaa").unwrap()]);

    // CAR headers.
    let url = format!("/ipfs/{root}/docs/big.bin?format=car");
    let r = gw.get(&url, &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        h(&r, "content-type"),
        "application/vnd.ipld.car; version=1; order=dfs; dups=n"
    );
    assert_eq!(h(&r, "x-content-type-options"), "nosniff");
    assert!(
        h(&r, "content-disposition")
            .starts_with(&format!("attachment; filename=\"{root}_big.bin.car\""))
    );
    assert_eq!(
        h(&r, "cache-control"),
        "public, max-age=29030400, immutable"
    );
    let etag_all = h(&r, "etag");
    assert!(etag_all.starts_with(&format!("W/\"{root}.car.")));
    let (roots, got) = car_blocks(&r.bytes().await.unwrap());
    assert_eq!(roots, vec![rootc]);
    let mut want = vec![rootc, docs];
    want.extend(car_all(&big));
    assert_eq!(got, want);

    // Every scope gives a different Etag; If-None-Match answers 304.
    let mut etags = std::collections::HashSet::from([etag_all.clone()]);
    for q in [
        "&dag-scope=block",
        "&dag-scope=entity",
        "&car-dups=y",
        "&entity-bytes=0:99",
        "&car-order=unk",
    ] {
        let r = gw.get(&format!("{url}{q}"), &[]).await;
        assert_eq!(r.status(), StatusCode::OK, "{q}");
        assert!(etags.insert(h(&r, "etag")), "{q} shares an Etag");
    }
    let r = gw.get(&url, &[("if-none-match", &etag_all)]).await;
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);

    // dag-scope=block: path blocks then the terminus block.
    let r = gw.get(&format!("{url}&dag-scope=block"), &[]).await;
    assert_eq!(
        car_blocks(&r.bytes().await.unwrap()).1,
        vec![rootc, docs, big]
    );
    // entity on a file: the whole file DAG; on a directory: only the directory block.
    let r = gw.get(&format!("{url}&dag-scope=entity"), &[]).await;
    assert_eq!(car_blocks(&r.bytes().await.unwrap()).1, want);
    let r = gw
        .get(
            &format!("/ipfs/{root}/docs?format=car&dag-scope=entity"),
            &[],
        )
        .await;
    assert_eq!(car_blocks(&r.bytes().await.unwrap()).1, vec![rootc, docs]);
    // all on a directory: everything under it, each block once; equal to `dag export`.
    let r = gw
        .get(&format!("/ipfs/{root}/docs?format=car&dag-scope=all"), &[])
        .await;
    let mut want_docs = vec![rootc];
    want_docs.extend(car_all(&docs));
    assert_eq!(car_blocks(&r.bytes().await.unwrap()).1, want_docs);
    // The Accept header form, with its parameters.
    let r = gw
        .get(
            &format!("/ipfs/{root}/docs/big.bin"),
            &[(
                "accept",
                "application/vnd.ipld.car; version=1; order=dfs; dups=y",
            )],
        )
        .await;
    assert_eq!(
        h(&r, "content-type"),
        "application/vnd.ipld.car; version=1; order=dfs; dups=y"
    );

    // entity-bytes: only the blocks covering the range (1 KiB leaves under one or two levels).
    let file_blocks = car_all(&big);
    let leaves: Vec<Cid> = file_blocks
        .iter()
        .copied()
        .filter(|c| c.codec() == 0x55)
        .collect();
    assert_eq!(leaves.len(), 293);
    for (range, first, last) in [
        ("0:0", 0usize, 0usize),
        ("0:1023", 0, 0),
        ("1000:3000", 0, 2),
        ("-1:*", 292, 292),
        ("-2048:*", 290, 292),
        ("299000:-1", 291, 292),
        ("5000:999999999", 4, 292),
    ] {
        let r = gw.get(&format!("{url}&entity-bytes={range}"), &[]).await;
        assert_eq!(r.status(), StatusCode::OK, "{range}");
        let got = car_blocks(&r.bytes().await.unwrap()).1;
        let got_leaves: Vec<Cid> = got.iter().copied().filter(|c| c.codec() == 0x55).collect();
        assert_eq!(got_leaves, leaves[first..=last], "{range}");
        assert_eq!(&got[..3], &[rootc, docs, big], "{range}");
    }
    // A range entirely outside the file: 400; a zero-length one: the terminus block alone.
    let r = gw.get(&format!("{url}&entity-bytes=300000:*"), &[]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = gw
        .get(&format!("{url}&entity-bytes=100:-299950"), &[])
        .await;
    assert_eq!(
        car_blocks(&r.bytes().await.unwrap()).1,
        vec![rootc, docs, big]
    );

    // dups: rep.bin is 16 copies of one leaf.
    let rep_url = format!("/ipfs/{rep}?format=car");
    let r = gw.get(&rep_url, &[]).await;
    let got = car_blocks(&r.bytes().await.unwrap()).1;
    assert_eq!(got.len(), 2);
    let r = gw.get(&format!("{rep_url}&car-dups=y"), &[]).await;
    assert_eq!(
        h(&r, "content-type"),
        "application/vnd.ipld.car; version=1; order=dfs; dups=y"
    );
    let got = car_blocks(&r.bytes().await.unwrap()).1;
    assert_eq!(got.len(), 17);
    assert!(got[1..].iter().all(|c| *c == got[1]));

    // Bad CAR parameters.
    for q in [
        "dag-scope=dfs",
        "entity-bytes=a:b",
        "car-version=2",
        "car-order=bfs",
        "car-dups=maybe",
    ] {
        let r = gw.get(&format!("{url}&{q}"), &[]).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{q}");
    }

    // HEAD on a CAR: headers only; a missing root: 404; only-if-cached.
    let r = gw.req(reqwest::Method::HEAD, &url, &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.bytes().await.unwrap().is_empty());
    let absent = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
    for q in ["?format=car", "?format=raw", ""] {
        let r = gw.get(&format!("/ipfs/{absent}{q}"), &[]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{q}");
    }
    let r = gw
        .req(
            reqwest::Method::HEAD,
            &format!("/ipfs/{absent}"),
            &[("cache-control", "only-if-cached")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    let r = gw
        .req(
            reqwest::Method::HEAD,
            &format!("/ipfs/{root}/"),
            &[("cache-control", "only-if-cached")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tar_and_codec_formats() {
    let gw = start().await;
    let (root, _) = gw.add_site().await;
    let docs = cid_of(&root, &gw.kit, "docs");

    let r = gw.get(&format!("/ipfs/{root}/docs?format=tar"), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(h(&r, "content-type"), "application/x-tar");
    assert_eq!(h(&r, "etag"), format!("W/\"{docs}.x-tar\""));
    let tar = r.bytes().await.unwrap();
    let mut want = Vec::new();
    ipfs_kit_content::export::get_tar(
        gw.kit.repo().unwrap().blocks(),
        &docs,
        "docs",
        &mut want,
        &ipfs_kit_content::Control::new(),
    )
    .unwrap();
    assert_eq!(tar, want);

    // A dag-pb directory as dag-json.
    let r = gw.get(&format!("/ipfs/{docs}?format=dag-json"), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(h(&r, "content-type"), "application/vnd.ipld.dag-json");
    let v: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert!(v["Links"].as_array().unwrap().len() >= 7);
    let r = gw
        .get(
            &format!("/ipfs/{docs}"),
            &[("accept", "application/vnd.ipld.dag-cbor")],
        )
        .await;
    assert_eq!(h(&r, "content-type"), "application/vnd.ipld.dag-cbor");
    assert_eq!(h(&r, "etag"), format!("\"{docs}.dag-cbor\""));

    let r = gw.get(&format!("/ipfs/{docs}?format=zip"), &[]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = gw
        .get(&format!("/ipfs/{docs}?format=ipns-record"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("is not an IPNS link"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn car_vectors_are_byte_identical() {
    let gw = start().await;
    // shared/ sits beside the checkout.
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|d| d.join("shared/reference/gateway/car-vectors.json"))
        .find(|p| p.exists())
        .or_else(|| {
            Some(PathBuf::from(
                "/work/shared/reference/gateway/car-vectors.json",
            ))
        })
        .unwrap();
    let vectors: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    let blocks = gw.kit.repo().unwrap().blocks();
    let mut n = 0;
    for v in vectors["vectors"].as_array().unwrap() {
        let car = hex::decode(v["car_hex"].as_str().unwrap()).unwrap();
        ipfs_kit_content::car::import_car(&car[..], blocks).unwrap();
        let root = v["root"].as_str().unwrap();
        let r = gw.get(&format!("/ipfs/{root}?format=car"), &[]).await;
        assert_eq!(r.status(), StatusCode::OK, "{}", v["id"]);
        assert_eq!(r.bytes().await.unwrap(), car, "{}", v["id"]);
        n += 1;
    }
    assert_eq!(n, 3);
}

/// One raw HTTP/1.1 exchange (reqwest would normalise `..` and refuse odd bytes); returns
/// (status, headers and body as text).
fn raw_http(addr: SocketAddr, request: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    let _ = s.write_all(request.as_bytes());
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out).into_owned();
    let status = out.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, out)
}

fn get_raw(addr: SocketAddr, target: &str, extra: &str) -> (u16, String) {
    raw_http(
        addr,
        &format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}\r\n"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_clear_4xx() {
    let gw = start().await;
    let (root, _) = gw.add_site().await;
    let addr = gw.addr;
    let cases: Vec<(String, u16)> = vec![
        ("/ipfs/not-a-cid".into(), 400),
        ("/ipfs/bafy".into(), 400),
        ("/ipfs/".into(), 400),
        ("/".into(), 404),
        ("/elsewhere".into(), 404),
        (format!("/ipfs/{root}/docs/../www/index.html"), 400),
        (format!("/ipfs/{root}/docs/%2e%2e/www/index.html"), 400),
        (format!("/ipfs/{root}/docs%2Fa.txt"), 400),
        (format!("/ipfs/{root}/docs/%00"), 400),
        (format!("/ipfs/{root}/docs/%ff"), 400),
        (format!("/ipfs/{root}/nothing/here"), 404),
        (format!("/ipfs/{root}/docs/a.txt/deeper"), 404),
        (format!("/ipfs/{root}/docs/a.txt?format=bogus"), 400),
        (format!("/ipfs/{}", "a".repeat(9000)), 414),
    ];
    for (target, want) in &cases {
        let (status, text) = get_raw(addr, target, "");
        assert_eq!(status, *want, "{target}: {text}");
        if *want != 414 {
            assert!(
                text.contains("text/plain") && text.contains(&format!("{want} ")),
                "{target}: {text}"
            );
        }
    }
    // A 64 KiB header.
    let big = format!("X-Big: {}\r\n", "a".repeat(64 * 1024));
    let (status, _) = get_raw(addr, &format!("/ipfs/{root}/docs/a.txt"), &big);
    assert!(
        status == 431 || status == 400,
        "64 KiB header answered {status}"
    );
    // Range far beyond the end.
    let (status, text) = get_raw(
        addr,
        &format!("/ipfs/{root}/docs/a.txt"),
        "Range: bytes=99999999999-\r\n",
    );
    assert_eq!(status, 416, "{text}");
    // Methods.
    for m in ["POST", "PUT", "DELETE"] {
        let (status, text) = raw_http(
            addr,
            &format!(
                "{m} /ipfs/{root}/ HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
            ),
        );
        assert_eq!(status, 405, "{m}");
        assert!(
            text.to_ascii_lowercase()
                .contains("allow: get, head, options")
        );
    }
    let (status, _) = raw_http(
        addr,
        &format!("OPTIONS /ipfs/{root}/ HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(status, 200);
    // The server is still fine.
    let r = gw.get(&format!("/ipfs/{root}/docs/a.txt"), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipns_paths() {
    let gw = start().await;
    let (root, _) = gw.add_site().await;
    let name = &gw
        .publish(json!({"path": format!("/ipfs/{root}/docs")}))
        .await;
    let r = gw.get(&format!("/ipns/{name}/a.txt"), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(h(&r, "cache-control"), "public, max-age=60");
    assert_eq!(h(&r, "x-ipfs-path"), format!("/ipns/{name}/a.txt"));
    let a = cid_of(&root, &gw.kit, "docs/a.txt");
    assert_eq!(h(&r, "etag"), format!("\"{a}\""));
    assert_eq!(r.text().await.unwrap(), "hello a\n");
    // Directories redirect and list under the /ipns/ path.
    let r = gw.get(&format!("/ipns/{name}"), &[]).await;
    assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(h(&r, "location"), format!("/ipns/{name}/"));
    let r = gw.get(&format!("/ipns/{name}/"), &[]).await;
    assert!(
        r.text()
            .await
            .unwrap()
            .contains(&format!("Index of /ipns/{name}/"))
    );
    // A CAR of an /ipns/ path has the resolved CID as its root.
    let r = gw.get(&format!("/ipns/{name}/a.txt?format=car"), &[]).await;
    let (roots, cids) = car_blocks(&r.bytes().await.unwrap());
    assert_eq!(roots, vec![parse_cid(&root).unwrap()]);
    assert_eq!(cids.last(), Some(&a));
    // A name this node holds no record for, and one that is not a name.
    let r = gw
        .get(
            "/ipns/k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8/",
            &[],
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "{}",
        r.text().await.unwrap()
    );
    // Not a key: a DNSLink name, which the offline embedded node cannot resolve.
    let r = gw.get("/ipns/example.org/", &[]).await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    assert!(r.text().await.unwrap().contains("DNSLink"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipns_records_are_served_and_verify_with_the_js_ipns_library() {
    ensure_interop();
    let gw = start().await;
    let (root, _) = gw.add_site().await;
    let name = gw
        .publish(json!({"path": format!("/ipfs/{root}"), "ttl": "90s"}))
        .await;
    let r = gw
        .get(&format!("/ipns/{name}?format=ipns-record"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(h(&r, "content-type"), "application/vnd.ipfs.ipns-record");
    assert_eq!(h(&r, "x-content-type-options"), "nosniff");
    assert_eq!(h(&r, "cache-control"), "public, max-age=90");
    assert!(
        h(&r, "content-disposition")
            .starts_with(&format!("attachment; filename=\"{name}.ipns-record\"")),
        "{}",
        h(&r, "content-disposition")
    );
    let etag = h(&r, "etag");
    let record = r.bytes().await.unwrap();
    // The npm `ipns` library validates it for the name (V2 signature, validity, V1/V2 agreement).
    let file = gw.home.path().join("served.ipns-record");
    std::fs::write(&file, &record).unwrap();
    let out = Command::new("node")
        .arg(interop_dir().join("ipns-verify.mjs"))
        .arg(&file)
        .arg(&name)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let verdict: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict["value"], format!("/ipfs/{root}"), "{verdict}");
    // The same through Accept, a 304 on its Etag, and ?filename=.
    let r = gw
        .get(
            &format!("/ipns/{name}"),
            &[("accept", "application/vnd.ipfs.ipns-record")],
        )
        .await;
    assert_eq!(r.bytes().await.unwrap(), record);
    let r = gw
        .get(
            &format!("/ipns/{name}?format=ipns-record"),
            &[("if-none-match", etag.as_str())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(h(&r, "etag"), etag);
    let r = gw
        .get(
            &format!("/ipns/{name}?format=ipns-record&filename=mine.bin"),
            &[],
        )
        .await;
    assert!(h(&r, "content-disposition").contains("filename=\"mine.bin\""));
    // No record below a name, none for names this node did not publish, none for DNSLink names.
    for (path, status) in [
        (format!("/ipns/{name}/docs?format=ipns-record"), StatusCode::BAD_REQUEST),
        (
            "/ipns/k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8?format=ipns-record"
                .to_string(),
            StatusCode::NOT_FOUND,
        ),
        ("/ipns/example.org?format=ipns-record".to_string(), StatusCode::BAD_REQUEST),
    ] {
        let r = gw.get(&path, &[]).await;
        assert_eq!(r.status(), status, "{path}: {}", r.text().await.unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cars_verified_by_js_car_and_unixfs_exporter() {
    ensure_interop();
    let gw = start().await;
    let (root, site) = gw.add_site().await;
    let hdir = gw.home.path().join("hamt");
    std::fs::create_dir_all(&hdir).unwrap();
    let mut names = Vec::new();
    for i in 0..300 {
        let name = format!("entry-with-a-long-name-{i:04}.txt");
        std::fs::write(hdir.join(&name), noise(3000 + i, i as u64)).unwrap();
        names.push(name);
    }
    let hroot = gw.add(&hdir, json!({"hamt_threshold": 1000})).await;
    let docs = site.join("docs");
    let f = |p: &Path| p.to_str().unwrap().to_string();
    let b = &gw.base;
    let docs_names: Vec<String> = std::fs::read_dir(&docs)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let cases = json!([
        {"url": format!("{b}/ipfs/{root}/docs/big.bin?format=car"),
         "path": format!("{root}/docs/big.bin"), "expect_file": f(&docs.join("big.bin"))},
        {"url": format!("{b}/ipfs/{root}/docs/rep.bin?format=car&car-dups=y"),
         "path": format!("{root}/docs/rep.bin"), "expect_file": f(&docs.join("rep.bin"))},
        {"url": format!("{b}/ipfs/{root}?format=car"),
         "path": format!("{root}/docs/a.txt"), "expect_file": f(&docs.join("a.txt"))},
        {"url": format!("{b}/ipfs/{root}/docs?format=car&dag-scope=entity"),
         "path": format!("{root}/docs"), "expect_entries": docs_names},
        {"url": format!("{b}/ipfs/{root}/docs/big.bin?format=car&entity-bytes=100000:150000"),
         "path": format!("{root}/docs/big.bin"), "expect_file": f(&docs.join("big.bin")),
         "offset": 100000, "length": 50001, "expect_missing": true},
        {"url": format!("{b}/ipfs/{root}/docs/big.bin?format=car&entity-bytes=-5000:*"),
         "path": format!("{root}/docs/big.bin"), "expect_file": f(&docs.join("big.bin")),
         "offset": 295000, "length": 5000, "expect_missing": true},
        {"url": format!("{b}/ipfs/{hroot}?format=car"),
         "path": hroot.clone(), "expect_entries": names.clone()},
        {"url": format!("{b}/ipfs/{hroot}?format=car&dag-scope=entity"),
         "path": hroot.clone(), "expect_entries": names.clone()},
        {"url": format!("{b}/ipfs/{hroot}/entry-with-a-long-name-0123.txt?format=car"),
         "path": format!("{hroot}/entry-with-a-long-name-0123.txt"),
         "expect_file": f(&hdir.join("entry-with-a-long-name-0123.txt"))},
        {"url": format!("{b}/ipfs/{hroot}/entry-with-a-long-name-0042.txt?format=car&dag-scope=entity"),
         "path": format!("{hroot}/entry-with-a-long-name-0042.txt"),
         "expect_file": f(&hdir.join("entry-with-a-long-name-0042.txt"))},
    ]);
    let script = interop_dir().join("gateway-verify.mjs");
    let out = tokio::task::spawn_blocking(move || {
        let mut child = Command::new("node")
            .arg(script)
            .current_dir(interop_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node is needed for the interop tests");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(cases.to_string().as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "gateway-verify.mjs failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(results.as_array().unwrap().len(), 10);
    assert!(
        results
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["ok"] == true && r["blocks"].as_u64().unwrap() > 0)
    );
}
