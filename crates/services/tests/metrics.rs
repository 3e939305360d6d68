//! Metrics of real processes, bounded persisted series, alerts across restarts.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ipfs_kit_services::alerts::{AlertSpec, AlertState, Alerts};
use ipfs_kit_services::metrics::{MetricsStore, Sample, Sampler, Sampling, SystemSample};
use ipfs_kit_services::{Error, EventBus, EventKind, Home};

/// A child in its own process group, killed with its whole group when dropped.
struct Group(Child);

impl Group {
    fn spawn(cmd: &mut Command) -> Group {
        Group(cmd.process_group(0).spawn().expect("spawn"))
    }
    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.0.id() as i32) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        let _ = self.0.wait();
    }
}

fn sh(script: &str) -> Group {
    Group::spawn(Command::new("sh").args(["-c", script]))
}

fn one(s: &Sampling) -> &Sample {
    assert_eq!(s.samples.len(), 1, "{s:?}");
    &s.samples[0]
}

#[cfg(target_os = "linux")]
#[test]
fn busy_process_has_cpu_on_the_second_sample() {
    let busy = sh("while :; do :; done");
    let mut sampler = Sampler::new();
    let first = sampler.sample(&[("busy", busy.pid())]);
    let s1 = one(&first);
    assert_eq!(s1.cpu_percent, None, "the first sample has no CPU figure");
    assert_eq!(s1.pid, busy.pid());
    assert!(s1.rss_bytes > 0);
    assert!(s1.virtual_bytes >= s1.rss_bytes);
    assert_eq!(s1.threads, Some(1));
    assert!(s1.open_files.is_some_and(|n| n >= 3), "{s1:?}");
    let sys = first.system.as_ref().unwrap();
    assert_eq!(sys.cpu_percent, None);
    assert!(sys.memory_total_bytes > 0 && sys.memory_used_bytes <= sys.memory_total_bytes);
    assert!(sys.cpus >= 1);

    // too soon after the first: no CPU figure rather than a noisy one
    let soon = sampler.sample(&[("busy", busy.pid())]);
    assert_eq!(one(&soon).cpu_percent, None);

    std::thread::sleep(Duration::from_millis(600));
    let second = sampler.sample(&[("busy", busy.pid())]);
    let cpu = one(&second).cpu_percent.expect("cpu on the second sample");
    assert!(
        cpu > 5.0 && cpu < 150.0,
        "a busy loop uses most of one core: {cpu}"
    );
    assert!(second.system.as_ref().unwrap().cpu_percent.is_some());
}

#[cfg(target_os = "linux")]
#[test]
fn a_wrapper_is_measured_with_its_detached_worker() {
    // the subshell starts the busy loop and exits at once: the loop is re-parented away from the
    // wrapper and is found only through the process group
    let wrapper = sh("( sh -c 'while :; do :; done' & ) ; sleep 60");
    let mut sampler = Sampler::new();
    std::thread::sleep(Duration::from_millis(200));
    let first = sampler.sample(&[("wrapped", wrapper.pid())]);
    assert!(one(&first).processes >= 2, "{first:?}");
    std::thread::sleep(Duration::from_millis(600));
    let second = sampler.sample(&[("wrapped", wrapper.pid())]);
    let s = one(&second);
    assert!(s.processes >= 2, "{s:?}");
    let cpu = s.cpu_percent.unwrap();
    assert!(cpu > 5.0, "the worker's CPU counts for the wrapper: {cpu}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_tcp_listener_shows_in_connections() {
    let mut node = Group::spawn(
        Command::new("node")
            .args([
                "-e",
                "const net=require('net');const s=net.createServer(c=>{c.on('data',()=>{})});\
                 s.listen(0,'127.0.0.1',()=>console.log(s.address().port));",
            ])
            .stdout(Stdio::piped()),
    );
    let mut line = String::new();
    BufReader::new(node.0.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("node prints its port (is node installed?)");
    let port: u16 = line.trim().parse().expect("a port");
    let mut sampler = Sampler::new();
    let s = sampler.sample(&[("node", node.pid())]);
    let s = one(&s);
    assert_eq!(s.listening, Some(1), "{s:?}");
    assert_eq!(s.established, Some(0), "{s:?}");
    assert!(s.connections.unwrap() >= 1);
    assert!(s.open_files.unwrap() > s.connections.unwrap());

    let _client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut established = None;
    for _ in 0..50 {
        let round = sampler.sample(&[("node", node.pid())]);
        established = one(&round).established;
        if established == Some(1) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(established, Some(1), "the accepted connection is counted");
}

#[cfg(target_os = "linux")]
#[test]
fn a_process_that_is_gone_gives_no_sample() {
    let mut exited = Command::new("sleep").arg("0.05").spawn().unwrap();
    let gone = exited.id();
    exited.wait().unwrap();
    // a zombie (exited, not yet reaped) is gone too
    let mut zombie = Command::new("true").spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let live = sh("sleep 60");
    let mut sampler = Sampler::new();
    let s = sampler.sample(&[("a", gone), ("z", zombie.id()), ("live", live.pid())]);
    assert_eq!(s.samples.len(), 1);
    assert_eq!(s.samples[0].service, "live");
    let vanished: Vec<_> = s
        .vanished
        .iter()
        .map(|v| (v.service.as_str(), v.pid))
        .collect();
    assert_eq!(vanished, vec![("a", gone), ("z", zombie.id())]);
    zombie.wait().unwrap();
}

fn point(service: &str, t: u64, cpu: Option<f64>, rss: u64) -> Sample {
    Sample {
        service: service.into(),
        time_ms: t,
        pid: 42,
        processes: 1,
        cpu_percent: cpu,
        rss_bytes: rss,
        virtual_bytes: rss * 2,
        threads: Some(4),
        open_files: Some(10),
        connections: Some(2),
        listening: Some(1),
        established: Some(1),
        uptime_s: t / 1000,
    }
}

fn round(t: u64, samples: Vec<Sample>) -> Sampling {
    Sampling {
        time_ms: t,
        samples,
        vanished: vec![],
        system: Some(SystemSample {
            time_ms: t,
            cpu_percent: Some(10.0),
            cpus: 2,
            load1: 0.5,
            load5: 0.4,
            load15: 0.3,
            memory_total_bytes: 1000,
            memory_used_bytes: 500,
            swap_total_bytes: 0,
            swap_used_bytes: 0,
        }),
    }
}

#[test]
fn series_are_bounded_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    {
        let store =
            MetricsStore::new(home.clone(), 5).with_flush_interval(Duration::from_secs(3600));
        for i in 1..=8u64 {
            store
                .record(&round(
                    i * 1000,
                    vec![point("ipfs", i * 1000, Some(i as f64), i * 100)],
                ))
                .unwrap();
        }
        // the first round wrote at once, the rest wait for the interval
        let on_disk = MetricsStore::new(home.clone(), 5)
            .query("ipfs", 0, 100)
            .unwrap();
        assert_eq!(on_disk.points.len(), 1);
        let q = store.query("ipfs", 0, 100).unwrap();
        assert_eq!(q.points.len(), 5);
        store.flush().unwrap();
    }
    let file = home.monitoring_dir().join("ipfs.metrics.json");
    assert!(file.exists());
    let store = MetricsStore::new(home.clone(), 5);
    let q = store.query("ipfs", 0, 100).unwrap();
    let times: Vec<u64> = q.points.iter().map(|p| p.time_ms).collect();
    assert_eq!(times, vec![4000, 5000, 6000, 7000, 8000]);
    let cpu = &q.summary["cpu_percent"];
    assert_eq!((cpu.min, cpu.max, cpu.avg, cpu.last), (4.0, 8.0, 6.0, 8.0));
    let q = store.query("ipfs", 6000, 2).unwrap();
    assert_eq!(
        q.points.iter().map(|p| p.time_ms).collect::<Vec<_>>(),
        vec![7000, 8000]
    );
    assert_eq!(q.summary["rss_bytes"].count, 3);
    assert_eq!(store.query_system(0, 100).unwrap().points.len(), 5);
    // recording after a restart continues the loaded history, still bounded
    store
        .record(&round(9000, vec![point("ipfs", 9000, None, 900)]))
        .unwrap();
    let q = store.query("ipfs", 0, 100).unwrap();
    assert_eq!(q.points.first().unwrap().time_ms, 5000);
    assert_eq!(q.points.last().unwrap().time_ms, 9000);
    assert!(store.query("nothing-yet", 0, 10).unwrap().points.is_empty());
    store.forget("ipfs").unwrap();
    assert!(!file.exists());
}

#[test]
fn a_damaged_series_is_reported_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    let file = home.monitoring_dir().join("ipfs.metrics.json");
    std::fs::create_dir_all(home.monitoring_dir()).unwrap();
    std::fs::write(
        &file,
        b"{\"version\":1,\"service\":\"ipfs\",\"points\":[{\"ti",
    )
    .unwrap();
    let store = MetricsStore::new(home.clone(), 10).with_flush_interval(Duration::ZERO);
    store
        .record(&round(1000, vec![point("ipfs", 1000, None, 1)]))
        .unwrap();
    let damaged = store.damaged();
    assert_eq!(damaged.len(), 1);
    assert!(damaged[0].contains("ipfs.metrics.json"), "{damaged:?}");
    assert!(
        home.monitoring_dir()
            .join("ipfs.metrics.json.damaged")
            .exists()
    );
    let q = MetricsStore::new(home, 10).query("ipfs", 0, 10).unwrap();
    assert_eq!(q.points.len(), 1, "replaced by a good file");
}

fn cpu_rule(for_samples: u32) -> AlertSpec {
    AlertSpec {
        name: "ipfs cpu".into(),
        service: "ipfs".into(),
        metric: "cpu_percent".into(),
        op: "gt".into(),
        threshold: 80.0,
        for_samples,
        enabled: true,
    }
}

fn cpu_round(cpu: f64) -> Sampling {
    round(1, vec![point("ipfs", 1, Some(cpu), 1)])
}

const NO_HEALTH: &[(&str, u8, bool)] = &[];

#[test]
fn an_alert_fires_once_resolves_once_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    let bus = EventBus::new(64);
    let alerts = Alerts::new(home.clone());
    let rule = alerts.create(&cpu_rule(3)).unwrap();
    assert_eq!(rule.id, "alert-1");

    let mut fired = Vec::new();
    for cpu in [90.0, 95.0] {
        fired.extend(alerts.evaluate(&cpu_round(cpu), NO_HEALTH, &bus).unwrap());
    }
    assert!(fired.is_empty(), "two breaches are not three");
    fired.extend(alerts.evaluate(&cpu_round(99.0), NO_HEALTH, &bus).unwrap());
    assert_eq!(fired.len(), 1);
    let ev = &fired[0];
    assert_eq!(ev.kind, EventKind::Alert);
    assert_eq!(ev.service.as_deref(), Some("ipfs"));
    assert_eq!(ev.data["value"], 99.0);
    assert_eq!(ev.data["threshold"], 80.0);
    assert_eq!(ev.data["rule_id"], "alert-1");
    for cpu in [97.0, 50.0, 99.0] {
        assert!(
            alerts
                .evaluate(&cpu_round(cpu), NO_HEALTH, &bus)
                .unwrap()
                .is_empty(),
            "no repeat"
        );
    }
    let listed = alerts.list().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, AlertState::Firing);
    assert_eq!(listed[0].last_value, Some(99.0));
    assert!(listed[0].since_ms.is_some());

    // a restarted ipfs-kit reads the firing state: still breaching → no second Alert
    drop(alerts);
    let alerts = Alerts::new(home.clone());
    assert_eq!(alerts.list().unwrap()[0].state, AlertState::Firing);
    assert!(
        alerts
            .evaluate(&cpu_round(99.0), NO_HEALTH, &bus)
            .unwrap()
            .is_empty()
    );
    let mut resolved = Vec::new();
    for cpu in [10.0, 10.0, 10.0, 10.0, 10.0] {
        resolved.extend(alerts.evaluate(&cpu_round(cpu), NO_HEALTH, &bus).unwrap());
    }
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].kind, EventKind::AlertResolved);
    assert_eq!(resolved[0].data["value"], 10.0);
    let listed = Alerts::new(home.clone()).list().unwrap();
    assert_eq!(listed[0].state, AlertState::Ok);
    // the bus saw exactly one of each
    let kinds: Vec<_> = bus.recent(0, 100).iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec![EventKind::Alert, EventKind::AlertResolved]);

    assert!(matches!(alerts.delete("nope"), Err(Error::NotFound(_))));
    assert_eq!(alerts.delete("ipfs cpu").unwrap().id, "alert-1");
    assert!(alerts.list().unwrap().is_empty());
    // ids are not reused
    assert_eq!(alerts.create(&cpu_rule(1)).unwrap().id, "alert-2");
}

#[test]
fn health_rules_and_the_system_target() {
    let dir = tempfile::tempdir().unwrap();
    let bus = EventBus::new(64);
    let alerts = Alerts::new(Home::new(dir.path()));
    alerts
        .create(&AlertSpec {
            name: "unhealthy".into(),
            service: "*".into(),
            metric: "health_score".into(),
            op: "lt".into(),
            threshold: 50.0,
            for_samples: 1,
            enabled: true,
        })
        .unwrap();
    alerts
        .create(&AlertSpec {
            name: "machine busy".into(),
            service: "system".into(),
            metric: "cpu_percent".into(),
            op: "gt".into(),
            threshold: 5.0,
            for_samples: 1,
            enabled: true,
        })
        .unwrap();
    let health = [
        ("ipfs", 20u8, false),
        ("cluster", 100, true),
        ("system", 60, true),
    ];
    let ev = alerts.evaluate(&round(1, vec![]), &health, &bus).unwrap();
    let mut got: Vec<_> = ev
        .iter()
        .map(|e| {
            (
                e.service.clone().unwrap(),
                e.data["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("ipfs".to_owned(), "unhealthy".to_owned()),
            ("system".to_owned(), "machine busy".to_owned())
        ]
    );
}

#[test]
fn invalid_rules_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    let alerts = Alerts::new(home.clone());
    let path = alerts.path().to_path_buf();
    let bad = [
        AlertSpec {
            metric: "temperature".into(),
            ..cpu_rule(1)
        },
        AlertSpec {
            op: "ge".into(),
            ..cpu_rule(1)
        },
        AlertSpec {
            threshold: f64::NAN,
            ..cpu_rule(1)
        },
        AlertSpec {
            for_samples: 0,
            ..cpu_rule(1)
        },
        AlertSpec {
            service: "../etc".into(),
            ..cpu_rule(1)
        },
        AlertSpec {
            name: " ".into(),
            ..cpu_rule(1)
        },
        AlertSpec {
            service: "system".into(),
            metric: "rss_bytes".into(),
            ..cpu_rule(1)
        },
    ];
    for spec in &bad {
        let err = alerts.create(spec).unwrap_err();
        assert!(matches!(err, Error::Invalid { .. }), "{spec:?}: {err}");
        assert!(!path.exists(), "nothing written for {spec:?}");
    }
    alerts.create(&cpu_rule(1)).unwrap();
    let before = std::fs::read(&path).unwrap();
    for spec in bad.iter().chain([&cpu_rule(2)]) {
        assert!(
            matches!(alerts.create(spec), Err(Error::Invalid { .. })),
            "{spec:?}"
        );
    }
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "a duplicate name is refused too"
    );
    // a damaged rules file is reported, never silently replaced
    std::fs::write(&path, b"{not json").unwrap();
    assert!(matches!(alerts.list(), Err(Error::Corrupt { .. })));
    assert!(matches!(
        alerts.create(&cpu_rule(1)),
        Err(Error::Corrupt { .. })
    ));
    assert_eq!(std::fs::read(&path).unwrap(), b"{not json");
}
