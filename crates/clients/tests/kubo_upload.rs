//! The Kubo client's streamed multipart uploads: the body a server receives, byte for byte, and
//! what a producer's failure or a cancel does to the request. The server here only records the
//! body it was sent (no IPFS logic), so what is checked is the client's own encoding; the part
//! conventions themselves are checked against real daemons (ours and js-ipfs) in the CLI and
//! interop tests.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use ipfs_kit_clients::kubo::{Error, KuboClient, PartMeta};
use tokio::sync::mpsc;

/// What the server saw: the Content-Type and the whole body, or the error that ended it.
type Seen = Result<(String, Vec<u8>), String>;

async fn serve() -> (KuboClient, mpsc::UnboundedReceiver<Seen>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = Router::new().route(
        "/api/v0/add",
        post(move |headers: HeaderMap, body: Body| {
            let tx = tx.clone();
            async move {
                let ct = headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                match to_bytes(body, 64 << 20).await {
                    Ok(b) => {
                        let _ = tx.send(Ok((ct, b.to_vec())));
                        (StatusCode::OK, "{}")
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        (StatusCode::BAD_REQUEST, "{}")
                    }
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (KuboClient::new(&addr.to_string()).unwrap(), rx)
}

/// A reader that hands out its bytes a few at a time (as a pipe would), then fails if asked to.
struct Trickle {
    data: Vec<u8>,
    at: usize,
    fail_at_end: bool,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.data.len() {
            if self.fail_at_end {
                return Err(std::io::Error::other("the disk went away"));
            }
            return Ok(0);
        }
        let n = buf.len().min(70_001).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn data(len: usize) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_body_is_kubos_multipart_byte_for_byte() {
    let (client, mut seen) = serve().await;
    let big = data(3 * 1024 * 1024 + 17);
    let big2 = big.clone();
    let (resp, task) = client
        .upload("add", &[], None, move |w| {
            w.directory("d", PartMeta::default())?;
            let mut progress = Vec::new();
            let n = w.file(
                "d/a b",
                None,
                PartMeta {
                    mode: Some(0o644),
                    mtime: Some((7, 9)),
                },
                &mut Trickle {
                    data: big2,
                    at: 0,
                    fail_at_end: false,
                },
                &mut |s| progress.push(s),
            )?;
            assert_eq!(n, 3 * 1024 * 1024 + 17);
            assert_eq!(progress.last(), Some(&n));
            assert!(progress.windows(2).all(|p| p[0] < p[1]));
            w.symlink("d/l", "a b")?;
            w.file(
                "d/empty",
                None,
                PartMeta::default(),
                &mut std::io::empty(),
                &mut |_| {},
            )?;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    task.finish().await.unwrap();
    let (ct, body) = seen.recv().await.unwrap().unwrap();
    let boundary = ct
        .strip_prefix("multipart/form-data; boundary=")
        .unwrap()
        .to_string();
    let mut want = Vec::new();
    let head = |name: &str, field: &str, ct: &str| {
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\nContent-Type: {ct}\r\n\r\n"
        )
    };
    want.extend_from_slice(head("d", "file", "application/x-directory").as_bytes());
    want.extend_from_slice(b"\r\n");
    want.extend_from_slice(
        head(
            "d%2Fa%20b",
            "file?mode=0644&mtime=7&mtime-nsecs=9",
            "application/octet-stream",
        )
        .as_bytes(),
    );
    want.extend_from_slice(&big);
    want.extend_from_slice(b"\r\n");
    want.extend_from_slice(head("d%2Fl", "file", "application/symlink").as_bytes());
    want.extend_from_slice(b"a b\r\n");
    want.extend_from_slice(head("d%2Fempty", "file", "application/octet-stream").as_bytes());
    want.extend_from_slice(b"\r\n");
    want.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    assert_eq!(body.len(), want.len());
    assert!(
        body == want,
        "the body differs from the expected multipart bytes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_producer_breaks_the_body_and_is_reported() {
    let (client, mut seen) = serve().await;
    let r = client
        .upload("add", &[], None, move |w| {
            w.file(
                "f",
                None,
                PartMeta::default(),
                &mut Trickle {
                    data: data(2 * 1024 * 1024),
                    at: 0,
                    fail_at_end: true,
                },
                &mut |_| {},
            )?;
            Ok(())
        })
        .await;
    // The server never sees a whole body: its read of the body fails.
    let got = seen.recv().await.unwrap();
    assert!(got.is_err(), "the server got a complete body: {got:?}");
    let err = match r {
        Err(e) => e,
        Ok((_, task)) => task.finish().await.unwrap_err(),
    };
    match err {
        Error::Upload { source, .. } => assert!(source.to_string().contains("the disk went away")),
        e => panic!("expected the producer's error, got {e:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_upload_stops_and_says_so() {
    let (client, mut seen) = serve().await;
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    let r = client
        .upload("add", &[], Some(cancel), move |w| {
            w.file(
                "f",
                None,
                PartMeta::default(),
                &mut std::io::repeat(1).take(64 << 20),
                &mut |sent| {
                    if sent >= 2 << 20 {
                        flag.store(true, Ordering::SeqCst);
                    }
                },
            )?;
            Ok(())
        })
        .await;
    assert!(seen.recv().await.unwrap().is_err());
    let err = match r {
        Err(e) => e,
        Ok((_, task)) => task.finish().await.unwrap_err(),
    };
    assert!(matches!(err, Error::Cancelled(_)), "{err:?}");
}
