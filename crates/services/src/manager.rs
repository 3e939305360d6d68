//! [`Services`]: one handle over the registry, the supervisor, health probes, metrics, alerts and events
//! of one kit home. Operations (MCP, REST, CLI) call only this.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ipfs_kit_config::{ConfigStore, PortPlan};
use serde::Serialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::alerts::Alerts;
use crate::cache::MetaCache;
use crate::events::now_ms;
use crate::health::{self, Health};
use crate::kinds::{self, KindCtx};
use crate::metrics::{MetricsStore, Query, Sample, Sampler, SystemSample};
use crate::process::find_program;
use crate::registry::{Listing, RecordUpdate, Registry};
use crate::supervisor::{Desired, LaunchSpec, ProcState, ProcStatus, Supervisor};
use crate::{Class, Error, EventBus, EventKind, Home, Result, ServiceKind, ServiceRecord};

/// How long a cached status stays fresh.
pub const STATUS_TTL: Duration = Duration::from_secs(5);
/// How old a recorded sample may be to stand for "now" in [`Services::stats`].
const RECENT_SAMPLE_MS: u64 = 15_000;
/// Events kept in memory.
const EVENT_CAPACITY: usize = 1024;
/// How often a health probe is polled while waiting for a started daemon.
const READY_POLL: Duration = Duration::from_millis(150);

/// Everything known about one service.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ServiceStatus {
    /// The service name.
    pub name: String,
    /// Its kind.
    pub kind: ServiceKind,
    /// Daemon or storage.
    pub class: Class,
    /// One word: `running`, `unhealthy`, `stopped`, `crashed`, `backoff`, `failed`, `exited`, `external`
    /// (answers but is not supervised here), `reachable`, `unreachable`.
    pub status: String,
    /// 0–100.
    pub score: u8,
    /// The process, for daemons this kit supervises.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<ProcState>,
    /// The last health probe, when one ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// The record, secrets redacted.
    pub record: ServiceRecord,
    /// When this status was computed (ms since the Unix epoch).
    pub computed_ms: u64,
    /// Whether it came from the metadata cache.
    pub cached: bool,
}

/// The health of the whole stack.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SystemHealth {
    /// `healthy` (score ≥ 90), `degraded` (≥ 50), `unhealthy`, or `empty` with no services.
    pub status: String,
    /// Mean score of the services that should be up (0–100).
    pub score: u8,
    /// Per service.
    pub services: Vec<ServiceStatus>,
    /// Damaged records in `services/`.
    pub damaged: Vec<String>,
}

/// Bytes used by a service's data on this host.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct StorageUse {
    /// The service.
    pub name: String,
    /// Where its data lives.
    pub path: PathBuf,
    /// Bytes in regular files under `path`.
    pub used_bytes: u64,
    /// Regular files counted.
    pub files: u64,
    /// Whether the walk stopped at its bound before the end (then `used_bytes` is a lower bound).
    pub truncated: bool,
    /// The configured quota, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota_bytes: Option<u64>,
    /// `used / quota` in percent, when a quota is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota_used_percent: Option<f64>,
}

/// What `service_stats` reports: the process, a sample taken now, and the recorded series' summary.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ServiceStats {
    /// The service.
    pub name: String,
    /// Its process state.
    pub process: ProcState,
    /// A sample of its process group taken now (absent when it does not run). CPU % needs two samples, so
    /// it is absent unless this process sampled it before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub now: Option<Sample>,
    /// The series recorded by the supervisor (`ipfs-kit daemon`): recent points and min/max/avg.
    pub recorded: Query<Sample>,
}

/// What a caller sees of a start while the daemon comes up: progress and a way to give up.
#[derive(Clone, Copy, Default)]
pub struct StartWatch<'a> {
    /// Called before each health probe with (milliseconds waited, the start timeout in ms).
    pub progress: Option<&'a (dyn Fn(u64, u64) + Send + Sync)>,
    /// Set to give up: the daemon being started is stopped and the start is [`Error::Cancelled`].
    pub cancel: Option<&'a std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for StartWatch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartWatch")
            .field("progress", &self.progress.is_some())
            .field("cancel", &self.cancel)
            .finish()
    }
}

/// The services of one kit home. Cheap to clone (shared inside).
#[derive(Debug, Clone)]
pub struct Services {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    home: Home,
    configs: ConfigStore,
    events: EventBus,
    registry: Registry,
    supervisor: Arc<Supervisor>,
    cache: MetaCache<String, ServiceStatus>,
    configs_cache: MetaCache<String, (ServiceRecord, Option<Value>)>,
    health: Mutex<HashMap<String, Health>>,
    sampler: Mutex<Sampler>,
    metrics: MetricsStore,
    alerts: Alerts,
}

impl Services {
    /// The services of `home`, with daemon configs in `configs`. Events are logged to
    /// `monitoring/events.ndjson`.
    pub fn open(home: Home, configs: ConfigStore) -> Result<Services> {
        home.ensure()?;
        let events =
            EventBus::with_log(EVENT_CAPACITY, home.monitoring_dir().join("events.ndjson"));
        let registry = Registry::new(home.clone(), events.clone());
        let supervisor = Arc::new(Supervisor::new(home.clone(), events.clone()));
        Ok(Services {
            inner: Arc::new(Inner {
                home: home.clone(),
                configs,
                events,
                registry,
                supervisor,
                cache: MetaCache::new(STATUS_TTL, 4096),
                configs_cache: MetaCache::new(STATUS_TTL, 4096),
                health: Mutex::new(HashMap::new()),
                sampler: Mutex::new(Sampler::new()),
                metrics: MetricsStore::new(home.clone(), crate::metrics::DEFAULT_CAPACITY),
                alerts: Alerts::new(home.clone()),
            }),
        })
    }

    /// The home.
    pub fn home(&self) -> &Home {
        &self.inner.home
    }

    /// The event bus.
    pub fn events(&self) -> &EventBus {
        &self.inner.events
    }

    /// The registry.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The supervisor.
    pub fn supervisor(&self) -> &Arc<Supervisor> {
        &self.inner.supervisor
    }

    fn ctx(&self) -> KindCtx<'_> {
        KindCtx {
            home: &self.inner.home,
            configs: &self.inner.configs,
        }
    }

    fn invalidate(&self, name: &str) {
        self.inner.cache.invalidate(&name.to_owned());
        self.inner.configs_cache.invalidate(&name.to_owned());
    }

    /// The alert rules.
    pub fn alerts(&self) -> &Alerts {
        &self.inner.alerts
    }

    /// The recorded metric series.
    pub fn metrics(&self) -> &MetricsStore {
        &self.inner.metrics
    }

    /// The process, a current sample, and the recorded series of a daemon. Unless `fresh`, a point the
    /// supervisor recorded in the last 15 s stands for "now" (metadata first); else the process group is
    /// sampled now.
    pub fn stats(
        &self,
        name: &str,
        since_ms: u64,
        limit: usize,
        fresh: bool,
    ) -> Result<ServiceStats> {
        let rec = self.inner.registry.get(name)?;
        if rec.kind.class() != Class::Daemon {
            return Err(Error::Unsupported {
                service: name.to_owned(),
                message: format!(
                    "{} is a storage service: it has no process to measure",
                    rec.kind
                ),
            });
        }
        let process = self.inner.supervisor.state(name);
        let recorded = self.inner.metrics.query(name, since_ms, limit)?;
        let running = process
            .pid
            .filter(|_| matches!(process.status, ProcStatus::Running));
        let recent = recorded
            .points
            .last()
            .filter(|p| {
                !fresh && Some(p.pid) == running && p.time_ms + RECENT_SAMPLE_MS >= now_ms()
            })
            .cloned();
        let now = recent.or_else(|| {
            running.and_then(|pid| {
                let mut s = self.inner.sampler.lock().unwrap_or_else(|p| p.into_inner());
                s.sample(&[(name, pid)]).samples.into_iter().next()
            })
        });
        Ok(ServiceStats {
            name: name.to_owned(),
            process,
            now,
            recorded,
        })
    }

    /// The machine's recorded series, and a sample taken now.
    pub fn system_metrics(
        &self,
        since_ms: u64,
        limit: usize,
    ) -> Result<(Option<SystemSample>, Query<SystemSample>)> {
        let now = {
            let mut s = self.inner.sampler.lock().unwrap_or_else(|p| p.into_inner());
            s.sample::<&str>(&[]).system
        };
        Ok((now, self.inner.metrics.query_system(since_ms, limit)?))
    }

    /// One monitoring round: sample every running daemon, record the samples, probe running daemons, and
    /// evaluate the alert rules (events on transitions).
    pub async fn monitor_once(&self) -> Result<()> {
        let pids = self.inner.supervisor.pids();
        let sampling = {
            let mut s = self.inner.sampler.lock().unwrap_or_else(|p| p.into_inner());
            s.sample(&pids)
        };
        self.inner.metrics.record(&sampling)?;
        let mut health: Vec<(String, u8, bool)> = Vec::new();
        for (name, _) in &pids {
            if let Ok(st) = self.status(name, true).await {
                let healthy = st.health.as_ref().is_some_and(|h| h.healthy);
                health.push((name.clone(), st.score, healthy));
            }
        }
        if !health.is_empty() {
            let mean = health.iter().map(|h| h.1 as u32).sum::<u32>() / health.len() as u32;
            let all = health.iter().all(|h| h.2);
            health.push((crate::metrics::SYSTEM.to_string(), mean as u8, all));
        }
        self.inner
            .alerts
            .evaluate(&sampling, &health, &self.inner.events)?;
        Ok(())
    }

    /// Registers a service.
    pub fn add(&self, rec: ServiceRecord) -> Result<ServiceRecord> {
        let r = self.inner.registry.add(rec)?;
        Ok(Registry::redacted(&r))
    }

    /// Removes a service; a running daemon is stopped first.
    pub async fn remove(&self, name: &str) -> Result<ServiceRecord> {
        let rec = self.inner.registry.get(name)?;
        if rec.kind.class() == Class::Daemon {
            self.inner
                .supervisor
                .remove(
                    name,
                    Some(Duration::from_millis(rec.restart.stop_timeout_ms)),
                )
                .await?;
        }
        let r = self.inner.registry.remove(name)?;
        self.invalidate(name);
        Ok(Registry::redacted(&r))
    }

    /// Every record (secrets redacted) and the damaged files.
    pub fn list(&self) -> Result<Listing> {
        let mut l = self.inner.registry.list()?;
        for r in &mut l.records {
            *r = Registry::redacted(r);
        }
        Ok(l)
    }

    /// The record of `name`, secrets redacted, with its daemon config (redacted) when it has one; from the
    /// metadata cache for [`STATUS_TTL`] unless `fresh`.
    pub fn config_get(&self, name: &str, fresh: bool) -> Result<(ServiceRecord, Option<Value>)> {
        self.inner
            .configs_cache
            .get_or_load(&name.to_owned(), fresh, || {
                let rec = self.inner.registry.get(name)?;
                let cfg = kinds::spec(rec.kind)
                    .config_target(&rec)
                    .filter(|t| self.inner.configs.exists(t).unwrap_or(false))
                    .and_then(|t| self.inner.configs.get(&t, false).ok());
                Ok((Registry::redacted(&rec), cfg))
            })
    }

    /// Changes the record of `name`.
    pub fn config_set(&self, name: &str, update: &RecordUpdate) -> Result<ServiceRecord> {
        let r = self.inner.registry.update(name, update)?;
        self.invalidate(name);
        Ok(Registry::redacted(&r))
    }

    /// The launch spec of a daemon record: program found, arguments and environment from its kind.
    pub fn launch_spec(&self, rec: &ServiceRecord) -> Result<LaunchSpec> {
        let spec = kinds::spec(rec.kind);
        let Some(default_program) = spec.program() else {
            return Err(Error::Unsupported {
                service: rec.name.clone(),
                message: format!(
                    "{} is a storage service: there is no process to run",
                    rec.kind
                ),
            });
        };
        let wanted = rec
            .binary
            .clone()
            .unwrap_or_else(|| PathBuf::from(default_program));
        let program = find_program(&wanted).ok_or_else(|| Error::BinaryNotFound {
            service: rec.name.clone(),
            program: wanted.display().to_string(),
        })?;
        let ctx = self.ctx();
        let mut env: std::collections::BTreeMap<String, String> =
            spec.env(rec, &ctx).into_iter().collect();
        env.extend(rec.env.clone());
        Ok(LaunchSpec {
            name: rec.name.clone(),
            program,
            args: rec.args.clone().unwrap_or_else(|| spec.args(rec, &ctx)),
            env,
            cwd: rec
                .cwd
                .clone()
                .unwrap_or_else(|| self.inner.home.state_dir().join("run").join(&rec.name)),
            restart: rec.restart.clone(),
        })
    }

    /// The services `rec` needs running first: its `depends_on`, and registered services of the kinds its
    /// kind requires (cluster → ipfs).
    fn dependencies(&self, rec: &ServiceRecord) -> Result<Vec<ServiceRecord>> {
        let mut out = Vec::new();
        for d in &rec.depends_on {
            out.push(self.inner.registry.get(d)?);
        }
        let required = kinds::spec(rec.kind).requires();
        if !required.is_empty() {
            for r in self.inner.registry.list()?.records {
                if required.contains(&r.kind)
                    && !out.iter().any(|o| o.name == r.name)
                    && r.name != rec.name
                {
                    out.push(r);
                }
            }
        }
        Ok(out)
    }

    /// Refuses a start whose listeners are taken: by a socket open on this host, or planned by another
    /// registered daemon that is running.
    fn check_ports(&self, rec: &ServiceRecord) -> Result<()> {
        let ctx = self.ctx();
        let mut plan = PortPlan::default();
        let mut mine = PortPlan::default();
        for (key, addr) in kinds::spec(rec.kind).listeners(rec, &ctx) {
            plan.add_listener(&rec.name, &key, &addr);
            mine.add_listener(&rec.name, &key, &addr);
        }
        if let Some(c) = mine.live_conflicts().into_iter().next() {
            return Err(Error::PortInUse {
                service: rec.name.clone(),
                detail: format!(
                    "{} ({}) is already taken by another program{}",
                    c.listener.address,
                    c.listener.key,
                    if c.suggested_port > 0 {
                        format!("; port {} is free", c.suggested_port)
                    } else {
                        String::new()
                    }
                ),
            });
        }
        for other in self.inner.registry.list()?.records {
            if other.name == rec.name || other.kind.class() != Class::Daemon {
                continue;
            }
            if !matches!(
                self.inner.supervisor.state(&other.name).status,
                ProcStatus::Running
            ) {
                continue;
            }
            for (key, addr) in kinds::spec(other.kind).listeners(&other, &ctx) {
                plan.add_listener(&other.name, &key, &addr);
            }
        }
        if let Some(c) = plan.conflicts().into_iter().find(|c| {
            c.listener.owner == rec.name || c.with.as_ref().is_some_and(|w| w.owner == rec.name)
        }) {
            let with = c
                .with
                .map(|w| format!("{} of {}", w.address, w.owner))
                .unwrap_or_default();
            return Err(Error::PortInUse {
                service: rec.name.clone(),
                detail: format!("{} collides with {with}", c.listener.address),
            });
        }
        Ok(())
    }

    /// Starts a daemon (its dependencies first) and waits until its health probe answers. Already running
    /// (here or adopted) is success. A daemon that exits, or stays unhealthy past its `start_timeout_ms`,
    /// is an [`Error::Start`] and is left stopped, never "starting".
    pub async fn start(&self, name: &str) -> Result<ServiceStatus> {
        self.start_watched(name, StartWatch::default()).await
    }

    /// [`Services::start`], reporting the wait for health to `watch` and giving up when it is
    /// cancelled (the daemon being started is then stopped; dependencies already healthy stay up).
    pub async fn start_watched(&self, name: &str, watch: StartWatch<'_>) -> Result<ServiceStatus> {
        let mut seen = BTreeSet::new();
        self.start_inner(name, &mut seen, watch).await?;
        self.status(name, true).await
    }

    fn start_inner<'a>(
        &'a self,
        name: &'a str,
        seen: &'a mut BTreeSet<String>,
        watch: StartWatch<'a>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>> {
        Box::pin(async move {
            if !seen.insert(name.to_owned()) {
                return Err(Error::invalid(
                    "depends_on",
                    format!("dependency cycle through {name}"),
                ));
            }
            let rec = self.inner.registry.get(name)?;
            let spec = self.launch_spec(&rec)?;
            for dep in self.dependencies(&rec)? {
                if dep.kind.class() == Class::Daemon {
                    self.start_inner(&dep.name, seen, watch).await?;
                }
            }
            self.invalidate(name);
            let before = self.inner.supervisor.state(name);
            if matches!(before.status, ProcStatus::Running) {
                // running already: adopt it if this process does not watch it yet
                self.inner.supervisor.start(spec).await?;
                return Ok(());
            }
            self.check_ports(&rec)?;
            self.inner.supervisor.start(spec).await?;
            self.wait_ready(&rec, watch).await
        })
    }

    /// Stop a daemon whose start is given up (timed out or cancelled). A failure to stop is
    /// logged; the caller answers with the start's own error.
    async fn abandon_start(&self, rec: &ServiceRecord) {
        let grace = Duration::from_millis(rec.restart.stop_timeout_ms);
        if let Err(e) = self.inner.supervisor.stop(&rec.name, Some(grace)).await {
            tracing::warn!(service = %rec.name, "stopping an abandoned start failed: {e}");
        }
    }

    async fn wait_ready(&self, rec: &ServiceRecord, watch: StartWatch<'_>) -> Result<()> {
        let probe = kinds::spec(rec.kind).probe(rec, &self.ctx())?;
        let started = Instant::now();
        let deadline = started + Duration::from_millis(rec.start_timeout_ms);
        loop {
            if let Some(p) = watch.progress {
                p(started.elapsed().as_millis() as u64, rec.start_timeout_ms);
            }
            if watch.cancel.is_some_and(|c| c.load(Ordering::SeqCst)) {
                self.abandon_start(rec).await;
                return Err(Error::Cancelled {
                    service: rec.name.clone(),
                });
            }
            let h = health::check(&probe).await;
            if h.healthy {
                self.note_health(&rec.name, h);
                return Ok(());
            }
            let st = self.inner.supervisor.state(&rec.name);
            if !matches!(st.status, ProcStatus::Running | ProcStatus::Backoff { .. }) {
                let tail = self
                    .inner
                    .supervisor
                    .logs(&rec.name, 10)
                    .unwrap_or_default();
                return Err(Error::Start {
                    service: rec.name.clone(),
                    message: format!(
                        "exited before answering its health probe ({}): {}{}",
                        st.status.label(),
                        serde_json::to_string(&st.last_exit).unwrap_or_default(),
                        if tail.is_empty() {
                            String::new()
                        } else {
                            format!("; last log lines:\n{}", tail.join("\n"))
                        }
                    ),
                });
            }
            if Instant::now() >= deadline {
                let detail = h.detail.clone();
                self.note_health(&rec.name, h);
                self.abandon_start(rec).await;
                return Err(Error::Start {
                    service: rec.name.clone(),
                    message: format!(
                        "did not become healthy within {} ms ({detail}); it was stopped",
                        rec.start_timeout_ms
                    ),
                });
            }
            tokio::time::sleep(READY_POLL).await;
        }
    }

    /// Records a probe result and emits `healthy` / `unhealthy` on a change.
    fn note_health(&self, name: &str, h: Health) {
        let prev = self
            .inner
            .health
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_owned(), h.clone());
        if prev.as_ref().map(|p| p.healthy) != Some(h.healthy) {
            let (kind, word) = if h.healthy {
                (EventKind::Healthy, "healthy")
            } else {
                (EventKind::Unhealthy, "unhealthy")
            };
            self.inner.events.emit(
                Some(name),
                kind,
                format!("{name} is {word}: {}", h.detail),
                json!({"score": h.score, "check": h.check}),
            );
        }
    }

    /// Stops a daemon (SIGTERM, then SIGKILL after its stop timeout).
    pub async fn stop(&self, name: &str) -> Result<ServiceStatus> {
        let rec = self.inner.registry.get(name)?;
        if rec.kind.class() != Class::Daemon {
            return Err(Error::Unsupported {
                service: name.to_owned(),
                message: format!(
                    "{} is a storage service: there is no process to stop",
                    rec.kind
                ),
            });
        }
        self.invalidate(name);
        self.inner
            .supervisor
            .stop(
                name,
                Some(Duration::from_millis(rec.restart.stop_timeout_ms)),
            )
            .await?;
        self.inner
            .health
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        self.status(name, true).await
    }

    /// Stops then starts a daemon.
    pub async fn restart(&self, name: &str) -> Result<ServiceStatus> {
        self.restart_watched(name, StartWatch::default()).await
    }

    /// [`Services::restart`], its start watched as in [`Services::start_watched`].
    pub async fn restart_watched(
        &self,
        name: &str,
        watch: StartWatch<'_>,
    ) -> Result<ServiceStatus> {
        let rec = self.inner.registry.get(name)?;
        self.launch_spec(&rec)?;
        self.stop(name).await?;
        self.start_watched(name, watch).await
    }

    /// The status of `name`: from the metadata cache when younger than [`STATUS_TTL`] unless `fresh`; a fresh
    /// status runs the health probe.
    pub async fn status(&self, name: &str, fresh: bool) -> Result<ServiceStatus> {
        let asked = now_ms();
        let mut st = self
            .inner
            .cache
            .get_or_load_async(&name.to_owned(), fresh, || async {
                let rec = self.inner.registry.get(name)?;
                Ok::<_, Error>(self.compute_status(&rec).await)
            })
            .await?;
        st.cached = st.computed_ms < asked;
        Ok(st)
    }

    async fn compute_status(&self, rec: &ServiceRecord) -> ServiceStatus {
        let class = rec.kind.class();
        let health = match kinds::spec(rec.kind).probe(rec, &self.ctx()) {
            Ok(p) => health::check(&p).await,
            Err(e) => Health {
                healthy: false,
                score: 0,
                latency_ms: None,
                checked_ms: now_ms(),
                check: "probe".into(),
                detail: e.to_string(),
                info: Value::Null,
            },
        };
        let process = (class == Class::Daemon).then(|| self.inner.supervisor.state(&rec.name));
        let (status, score) = match (&process, health.healthy) {
            (None, true) => ("reachable".to_string(), health.score),
            (None, false) => ("unreachable".to_string(), 0),
            (Some(p), healthy) => match (&p.status, healthy) {
                (ProcStatus::Running, true) => ("running".into(), health.score),
                (ProcStatus::Running, false) => ("unhealthy".into(), 25),
                (_, true) => ("external".into(), health.score),
                (s, false) => (s.label().to_string(), 0),
            },
        };
        if process
            .as_ref()
            .is_some_and(|p| p.desired == Desired::Running)
            || process.is_none()
        {
            self.note_health(&rec.name, health.clone());
        }
        ServiceStatus {
            name: rec.name.clone(),
            kind: rec.kind,
            class,
            status,
            score,
            process,
            health: Some(health),
            record: Registry::redacted(rec),
            computed_ms: now_ms(),
            cached: false,
        }
    }

    /// The health of every service and of the whole stack (probes run concurrently).
    pub async fn system_health(&self, fresh: bool) -> Result<SystemHealth> {
        let listing = self.inner.registry.list()?;
        let mut set = tokio::task::JoinSet::new();
        for r in &listing.records {
            let me = self.clone();
            let name = r.name.clone();
            set.spawn(async move { me.status(&name, fresh).await });
        }
        let mut services = Vec::new();
        while let Some(r) = set.join_next().await {
            if let Ok(Ok(s)) = r {
                services.push(s);
            }
        }
        services.sort_by(|a, b| a.name.cmp(&b.name));
        let counted: Vec<u8> = services
            .iter()
            .filter(|s| {
                s.class == Class::Storage
                    || s.process
                        .as_ref()
                        .is_some_and(|p| p.desired == Desired::Running)
                    || s.status == "external"
            })
            .map(|s| s.score)
            .collect();
        let score = if counted.is_empty() {
            100
        } else {
            (counted.iter().map(|&s| s as u32).sum::<u32>() / counted.len() as u32) as u8
        };
        let status = if services.is_empty() {
            "empty"
        } else if score >= 90 {
            "healthy"
        } else if score >= 50 {
            "degraded"
        } else {
            "unhealthy"
        };
        Ok(SystemHealth {
            status: status.into(),
            score,
            services,
            damaged: listing
                .damaged
                .into_iter()
                .map(|(f, e)| format!("{f}: {e}"))
                .collect(),
        })
    }

    /// The last `lines` lines of a daemon's log.
    pub fn logs(&self, name: &str, lines: usize) -> Result<Vec<String>> {
        let rec = self.inner.registry.get(name)?;
        if rec.kind.class() != Class::Daemon {
            return Err(Error::Unsupported {
                service: name.to_owned(),
                message: format!("{} is a storage service: it has no process log", rec.kind),
            });
        }
        self.inner.supervisor.logs(name, lines)
    }

    /// Bytes used by the service's data on this host, against its quota.
    pub fn storage(&self, name: &str) -> Result<StorageUse> {
        let rec = self.inner.registry.get(name)?;
        let Some(path) = kinds::spec(rec.kind).data_dir(&rec, &self.ctx()) else {
            return Err(Error::Unsupported {
                service: name.to_owned(),
                message: format!(
                    "{} keeps no data on this host; its remote usage needs the storage backends",
                    rec.kind
                ),
            });
        };
        let (used_bytes, files, truncated) = du(&path)?;
        Ok(StorageUse {
            name: name.to_owned(),
            path,
            used_bytes,
            files,
            truncated,
            quota_bytes: rec.quota_bytes,
            quota_used_percent: rec
                .quota_bytes
                .filter(|&q| q > 0)
                .map(|q| used_bytes as f64 * 100.0 / q as f64),
        })
    }

    /// Applies autostart records in dependency order, then runs the supervisor's reconcile loop and the
    /// health loop until `shutdown`. Children keep running after it returns.
    pub async fn run(&self, shutdown: CancellationToken, health_every: Duration) {
        if let Ok(l) = self.inner.registry.list() {
            for r in l
                .records
                .iter()
                .filter(|r| r.autostart && r.kind.class() == Class::Daemon)
            {
                if let Err(e) = self.start(&r.name).await {
                    tracing::warn!("autostart {}: {e}", r.name);
                }
            }
        }
        let sup = self.inner.supervisor.clone();
        let loop_token = shutdown.clone();
        let sup_task = tokio::spawn(sup.run(loop_token));
        let mut sub = self.inner.events.subscribe();
        let mut tick = tokio::time::interval(health_every);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                ev = sub.recv() => {
                    if let Ok(ev) = ev && let Some(s) = ev.service.as_deref() {
                        self.invalidate(s);
                    }
                }
                _ = tick.tick() => {
                    if let Err(e) = self.monitor_once().await {
                        tracing::warn!("monitoring: {e}");
                    }
                }
            }
        }
        let _ = sup_task.await;
        if let Err(e) = self.inner.metrics.flush() {
            tracing::warn!("metrics: {e}");
        }
    }
}

/// Sums regular file sizes under `path` (iteratively, bounded to 5 million entries).
fn du(path: &std::path::Path) -> Result<(u64, u64, bool)> {
    const MAX_ENTRIES: u64 = 5_000_000;
    let meta = std::fs::symlink_metadata(path).map_err(|e| Error::io("stat", path, e))?;
    if meta.is_file() {
        return Ok((meta.len(), 1, false));
    }
    let (mut bytes, mut files, mut seen) = (0u64, 0u64, 0u64);
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                return Ok((bytes, files, true));
            }
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                files += 1;
                bytes += e.metadata().map(|m| m.len()).unwrap_or(0);
            }
        }
    }
    Ok((bytes, files, false))
}
