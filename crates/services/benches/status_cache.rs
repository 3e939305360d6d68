//! Cached vs fresh status: what a `status` call costs when answered from the metadata cache, against loading
//! it from a home on disk (six service records in YAML, their process records, a check of each pid).
//!
//! `cargo bench -p ipfs-kit-services --bench status_cache` prints p50/p99/max of both.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use ipfs_kit_services::cache::MetaCache;
use ipfs_kit_services::{Home, ServiceKind, ServiceRecord};
use serde_json::{Value, json};

const SERVICES: [(&str, ServiceKind); 6] = [
    ("ipfs", ServiceKind::Ipfs),
    ("cluster", ServiceKind::IpfsClusterService),
    ("follow", ServiceKind::IpfsClusterFollow),
    ("lassie", ServiceKind::Lassie),
    ("s3-backup", ServiceKind::S3),
    ("hf", ServiceKind::Huggingface),
];

/// What a status call returns for one service.
#[derive(Debug, Clone)]
#[allow(dead_code)] // fields are what a caller reads; the bench only passes them to black_box
struct Status {
    record: ServiceRecord,
    process: Option<Value>,
    running: bool,
}

fn setup(home: &Home) {
    home.ensure().unwrap();
    for (i, (name, kind)) in SERVICES.iter().enumerate() {
        let mut r = ServiceRecord::new(*name, *kind);
        r.args = Some(vec!["daemon".into(), "--enable-gc".into()]);
        r.settings.insert(
            "api".into(),
            format!("/ip4/127.0.0.1/tcp/{}", 5001 + i).into(),
        );
        r.settings
            .insert("endpoint".into(), "https://s3.example.invalid".into());
        std::fs::write(home.service_file(name), r.to_yaml().unwrap()).unwrap();
        let rec = json!({
            "service": name,
            "pid": std::process::id(),
            "pgid": std::process::id(),
            "started_ms": 1_700_000_000_000u64 + i as u64,
            "binary": "/usr/local/bin/ipfs",
            "restarts": 0,
        });
        std::fs::write(
            home.state_dir().join(format!("{name}.pid.json")),
            serde_json::to_vec(&rec).unwrap(),
        )
        .unwrap();
    }
}

fn load(home: &Home) -> Vec<Status> {
    SERVICES
        .iter()
        .map(|(name, _)| {
            let path = home.service_file(name);
            let text = std::fs::read_to_string(&path).unwrap();
            let record = ServiceRecord::from_yaml(&text, &path).unwrap();
            let process: Option<Value> = home
                .read_opt(&home.state_dir().join(format!("{name}.pid.json")))
                .unwrap()
                .map(|b| serde_json::from_slice(&b).unwrap());
            let running = process
                .as_ref()
                .and_then(|p| p["pid"].as_u64())
                .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
            Status {
                record,
                process,
                running,
            }
        })
        .collect()
}

fn percentiles(mut d: Vec<Duration>) -> (Duration, Duration, Duration) {
    d.sort();
    let at = |q: f64| d[((d.len() - 1) as f64 * q).round() as usize];
    (at(0.50), at(0.99), d[d.len() - 1])
}

fn time(n: usize, mut f: impl FnMut()) -> Vec<Duration> {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    setup(&home);
    let cache: MetaCache<&'static str, Vec<Status>> = MetaCache::new(Duration::from_secs(60), 64);
    let status = |fresh: bool| {
        cache
            .get_or_load(&"status", fresh, || Ok::<_, ()>(load(&home)))
            .unwrap()
    };
    // warm up the page cache and the allocator
    for _ in 0..200 {
        black_box(status(true));
    }
    let fresh = time(2_000, || {
        black_box(status(true));
    });
    let cached = time(100_000, || {
        black_box(status(false));
    });
    assert_eq!(status(false).len(), SERVICES.len());
    let (f50, f99, fmax) = percentiles(fresh);
    let (c50, c99, cmax) = percentiles(cached);
    println!("status of {} services from a home on disk", SERVICES.len());
    println!("  fresh  (2000 calls):   p50 {f50:>10.2?}  p99 {f99:>10.2?}  max {fmax:>10.2?}");
    println!("  cached (100000 calls): p50 {c50:>10.2?}  p99 {c99:>10.2?}  max {cmax:>10.2?}");
    println!(
        "  cached p99 < 1 ms: {}",
        if c99 < Duration::from_millis(1) {
            "yes"
        } else {
            "NO"
        }
    );
    let s = cache.stats();
    println!("  cache: {} hits, {} loads", s.hits, s.loads);
}
