//! Services and monitoring (toolset `services`): the registry of daemons and storage services, their
//! supervised processes, health, logs and storage use. Every operation goes through the kit's one
//! [`ipfs_kit_services::Services`] handle.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ipfs_kit_services::kinds::{self, Setting};
use ipfs_kit_services::registry::RecordUpdate;
use ipfs_kit_services::{
    Class, Error as SvcError, RestartPolicy, ServiceKind, ServiceRecord, ServiceStatus, StorageUse,
    SystemHealth,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::op_meta;
use super::repo::NoInput;
use crate::{ErrorCode, Kit, OpContext, OpError, OpMeta, Operation, Toolset};

/// Most log lines one call returns.
const MAX_LOG_LINES: usize = 10_000;

pub(crate) fn svc_meta(
    title: &'static str,
    description: &'static str,
    read_only: bool,
    destructive: bool,
    idempotent: bool,
    open_world: bool,
) -> OpMeta {
    OpMeta {
        open_world,
        ..op_meta(
            Toolset::Services,
            title,
            description,
            read_only,
            destructive,
            idempotent,
        )
    }
}

impl From<SvcError> for OpError {
    fn from(e: SvcError) -> OpError {
        let msg = e.to_string();
        match e {
            SvcError::Io { source, .. } => OpError::from(source),
            SvcError::Config(c) => OpError::from(c),
            SvcError::NoHome => OpError::new(ErrorCode::Internal, msg),
            SvcError::UnknownKind(k) => OpError::new(ErrorCode::InvalidInput, msg)
                .with("kind", k)
                .with("known", ServiceKind::names().join(",")),
            SvcError::NotFound(n) => OpError::new(ErrorCode::NotFound, msg).with("service", n),
            SvcError::Exists(n) => OpError::new(ErrorCode::AlreadyExists, msg).with("service", n),
            SvcError::BadName(_) | SvcError::Invalid { .. } => {
                OpError::new(ErrorCode::InvalidInput, msg)
            }
            SvcError::Corrupt { path, .. } => {
                OpError::new(ErrorCode::Corrupted, msg).with("path", path.display().to_string())
            }
            SvcError::BinaryNotFound { service, program } => {
                OpError::new(ErrorCode::DaemonUnavailable, msg)
                    .with("service", service)
                    .with("program", program)
            }
            SvcError::PortInUse { service, .. } => {
                OpError::new(ErrorCode::PortInUse, msg).with("service", service)
            }
            SvcError::Unsupported { service, .. } => {
                OpError::new(ErrorCode::Unsupported, msg).with("service", service)
            }
            SvcError::Cancelled { service } => {
                OpError::new(ErrorCode::Cancelled, msg).with("service", service)
            }
            SvcError::Start { service, .. } | SvcError::Unreachable { service, .. } => {
                OpError::new(ErrorCode::DaemonUnavailable, msg).with("service", service)
            }
        }
    }
}

/// A service name, as every service operation takes it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NameInput {
    /// The service name.
    pub name: String,
}

/// `service_add`.
#[derive(Debug, Clone, Copy)]
pub struct ServiceAdd;

/// Input of `service_add`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceAddInput {
    /// Unique name: 1-63 of a-z, 0-9, `_`, `-`, `.`.
    pub name: String,
    /// The kind: ipfs, ipfs_cluster_service, ipfs_cluster_follow, lotus, lassie, ipfs_kit (daemons); s3,
    /// storacha, huggingface, ftp, sftp, github (storage). `service_list` shows each kind's settings.
    pub kind: String,
    /// Kind-specific settings (API address, endpoint, bucket, repo, credentials…).
    #[serde(default)]
    pub settings: Map<String, Value>,
    /// Daemons: the program (absolute path or a name on PATH) instead of the kind's default.
    pub binary: Option<PathBuf>,
    /// Daemons: arguments instead of the kind's defaults.
    pub args: Option<Vec<String>>,
    /// Daemons: extra environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Daemons: working directory (default `state/run/<name>` in the kit home).
    pub cwd: Option<PathBuf>,
    /// Daemons: start it whenever the supervisor (`ipfs-kit daemon`) starts.
    #[serde(default)]
    pub autostart: bool,
    /// Daemons: restart policy (mode never / on-failure / always, max_attempts, back-off, stop timeout).
    pub restart: Option<RestartPolicy>,
    /// Services that must run before this one.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// How long a start may wait for the health probe (ms, default 30000).
    pub start_timeout_ms: Option<u64>,
    /// Storage quota in bytes.
    pub quota_bytes: Option<u64>,
}

/// A record as every service operation returns it (secrets redacted).
#[derive(Debug, Serialize, JsonSchema)]
pub struct RecordOutput {
    /// The record.
    pub service: ServiceRecord,
}

impl Operation for ServiceAdd {
    const NAME: &'static str = "service_add";
    type Input = ServiceAddInput;
    type Output = RecordOutput;

    fn meta(&self) -> OpMeta {
        svc_meta(
            "Register a service",
            "Add a daemon (Kubo/any Kubo-RPC daemon, IPFS Cluster service or follower, Lotus, Lassie, ipfs-kit) \
             or a storage service (S3, Storacha, HuggingFace, FTP, SFTP, GitHub) to the registry in \
             ~/.ipfs_kit/services/<name>.yaml (mode 0600). Nothing is started.",
            false,
            false,
            false,
            false,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: ServiceAddInput,
        _cx: &OpContext,
    ) -> Result<RecordOutput, OpError> {
        let mut rec = ServiceRecord::new(i.name, ServiceKind::parse(&i.kind)?);
        rec.settings = i.settings;
        rec.binary = i.binary;
        rec.args = i.args;
        rec.env = i.env;
        rec.cwd = i.cwd;
        rec.autostart = i.autostart;
        if let Some(r) = i.restart {
            rec.restart = r;
        }
        rec.depends_on = i.depends_on;
        if let Some(t) = i.start_timeout_ms {
            rec.start_timeout_ms = t;
        }
        rec.quota_bytes = i.quota_bytes;
        let svc = kit.services()?.clone();
        let service = kit.blocking(move |_| Ok(svc.add(rec)?)).await?;
        Ok(RecordOutput { service })
    }
}

/// `service_remove`.
#[derive(Debug, Clone, Copy)]
pub struct ServiceRemove;

impl Operation for ServiceRemove {
    const NAME: &'static str = "service_remove";
    type Input = NameInput;
    type Output = RecordOutput;

    fn meta(&self) -> OpMeta {
        svc_meta(
            "Remove a service",
            "Stop the service's process if it runs (SIGTERM, then SIGKILL after its stop timeout) and remove it \
             from the registry. Its logs and data stay.",
            false,
            true,
            false,
            false,
        )
    }

    async fn run(&self, kit: &Kit, i: NameInput, _cx: &OpContext) -> Result<RecordOutput, OpError> {
        Ok(RecordOutput {
            service: kit.services()?.remove(&i.name).await?,
        })
    }
}

/// One kind as `service_list` describes it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct KindInfo {
    /// The kind's name.
    pub kind: ServiceKind,
    /// Daemon or storage.
    pub class: Class,
    /// What it is.
    pub summary: &'static str,
    /// The program a daemon runs by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program: Option<&'static str>,
    /// The settings it accepts.
    #[schemars(with = "Vec<Value>")]
    pub settings: &'static [Setting],
}

/// One row of `service_list`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ServiceRow {
    /// The record (secrets redacted).
    pub service: ServiceRecord,
    /// Daemons: the process state word (running, stopped, crashed, backoff, failed, exited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
    /// Daemons: its pid while it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

/// Output of `service_list`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ServiceListOutput {
    /// Registered services, by name.
    pub services: Vec<ServiceRow>,
    /// Files in services/ that do not parse, with the reason.
    pub damaged: Vec<String>,
    /// Every kind that can be registered.
    pub kinds: Vec<KindInfo>,
}

/// `service_list`.
#[derive(Debug, Clone, Copy)]
pub struct ServiceList;

impl Operation for ServiceList {
    const NAME: &'static str = "service_list";
    type Input = NoInput;
    type Output = ServiceListOutput;

    fn meta(&self) -> OpMeta {
        svc_meta(
            "List services",
            "Every registered service with its process state (no health probes: see service_status), and every \
             kind that can be registered with the settings it accepts.",
            true,
            false,
            true,
            false,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        _i: NoInput,
        _cx: &OpContext,
    ) -> Result<ServiceListOutput, OpError> {
        let svc = kit.services()?.clone();
        kit.blocking(move |_| {
            let l = svc.list()?;
            let services = l
                .records
                .into_iter()
                .map(|r| {
                    let st =
                        (r.kind.class() == Class::Daemon).then(|| svc.supervisor().state(&r.name));
                    ServiceRow {
                        process: st.as_ref().map(|s| s.status.label().to_string()),
                        pid: st.and_then(|s| s.pid),
                        service: r,
                    }
                })
                .collect();
            Ok(ServiceListOutput {
                services,
                damaged: l
                    .damaged
                    .into_iter()
                    .map(|(f, e)| format!("{f}: {e}"))
                    .collect(),
                kinds: ServiceKind::ALL
                    .iter()
                    .map(|&k| {
                        let s = kinds::spec(k);
                        KindInfo {
                            kind: k,
                            class: k.class(),
                            summary: s.summary(),
                            program: s.program(),
                            settings: s.settings(),
                        }
                    })
                    .collect(),
            })
        })
        .await
    }
}

/// `service_status`.
#[derive(Debug, Clone, Copy)]
pub struct ServiceStatusOp;

/// Input of `service_status`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusInput {
    /// The service; every service when absent.
    pub name: Option<String>,
    /// Bypass the metadata cache (statuses younger than 5 s are served from it) and probe now.
    #[serde(default)]
    pub fresh: bool,
}

/// Output of `service_status`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StatusOutput {
    /// One status per service asked for.
    pub services: Vec<ServiceStatus>,
}

impl Operation for ServiceStatusOp {
    const NAME: &'static str = "service_status";
    type Input = StatusInput;
    type Output = StatusOutput;

    fn meta(&self) -> OpMeta {
        svc_meta(
            "Service status",
            "Process state (pid, uptime, restarts, last exit) and a health probe against the service's real API \
             (Kubo /api/v0/id, Cluster /id, Lotus Filecoin.Version, Lassie HTTP, storage endpoints), with a \
             score 0-100. Served from the metadata cache for 5 s unless `fresh`.",
            true,
            false,
            true,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: StatusInput,
        _cx: &OpContext,
    ) -> Result<StatusOutput, OpError> {
        let svc = kit.services()?;
        let services = match i.name {
            Some(n) => vec![svc.status(&n, i.fresh).await?],
            None => svc.system_health(i.fresh).await?.services,
        };
        Ok(StatusOutput { services })
    }
}

/// Run `f` with the call's watch of a start: progress in milliseconds waited out of the start timeout
/// (`notifications/progress` in MCP), and the call's cancellation.
async fn watched<T>(
    cx: &OpContext,
    f: impl AsyncFnOnce(ipfs_kit_services::StartWatch<'_>) -> T,
) -> T {
    let progress = |waited: u64, timeout: u64| cx.progress(waited, Some(timeout), "ms");
    f(ipfs_kit_services::StartWatch {
        progress: Some(&progress),
        cancel: Some(cx.cancel_flag()),
    })
    .await
}

macro_rules! lifecycle_op {
    ($ty:ident, $name:literal, $title:literal, $desc:literal, $destructive:expr, $method:ident) => {
        #[doc = concat!("`", $name, "`.")]
        #[derive(Debug, Clone, Copy)]
        pub struct $ty;

        impl Operation for $ty {
            const NAME: &'static str = $name;
            type Input = NameInput;
            type Output = ServiceStatus;

            fn meta(&self) -> OpMeta {
                svc_meta($title, $desc, false, $destructive, true, true)
            }

            async fn run(
                &self,
                kit: &Kit,
                i: NameInput,
                cx: &OpContext,
            ) -> Result<ServiceStatus, OpError> {
                let svc = kit.services()?;
                Ok(lifecycle_op!(@call svc, $method, &i.name, cx)?)
            }
        }
    };
    (@call $svc:ident, start, $name:expr, $cx:ident) => {
        watched($cx, async |w| $svc.start_watched($name, w).await).await
    };
    (@call $svc:ident, restart, $name:expr, $cx:ident) => {
        watched($cx, async |w| $svc.restart_watched($name, w).await).await
    };
    (@call $svc:ident, stop, $name:expr, $cx:ident) => {{
        let _ = $cx;
        $svc.stop($name).await
    }};
}

lifecycle_op!(
    ServiceStart,
    "service_start",
    "Start a service",
    "Start a daemon as a supervised child process (own process group, logs in ~/.ipfs_kit/logs/<name>.log): \
     dependencies first (cluster after ipfs), its ports checked first, and wait until its health probe answers. \
     A daemon already running is adopted, never started twice. A daemon that exits or stays unhealthy past its \
     start timeout is an error and is left stopped. The wait reports progress (milliseconds of the start \
     timeout) and a cancelled call stops the daemon it was starting.",
    false,
    start
);
lifecycle_op!(
    ServiceStop,
    "service_stop",
    "Stop a service",
    "Stop a daemon: SIGTERM to its process group, SIGKILL after its stop timeout. The restart policy does not \
     bring it back.",
    true,
    stop
);
lifecycle_op!(
    ServiceRestart,
    "service_restart",
    "Restart a service",
    "Stop then start a daemon, waiting for its health probe.",
    true,
    restart
);

/// `service_config_get`.
#[derive(Debug, Clone, Copy)]
pub struct ServiceConfigGet;

/// Output of `service_config_get`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ServiceConfigOutput {
    /// The record (secrets redacted).
    pub service: ServiceRecord,
    /// The daemon config the service reads (Kubo config, Cluster service.json…), secrets redacted, when
    /// it has one and it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daemon_config: Option<Value>,
}

/// Input of `service_config_get`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfigGetInput {
    /// The service.
    pub name: String,
    /// Read the files now instead of a copy younger than 5 s from the metadata cache.
    #[serde(default)]
    pub fresh: bool,
}

impl Operation for ServiceConfigGet {
    const NAME: &'static str = "service_config_get";
    type Input = ServiceConfigGetInput;
    type Output = ServiceConfigOutput;

    fn meta(&self) -> OpMeta {
        svc_meta(
            "Get a service's configuration",
            "The service's record (program, arguments, restart policy, settings) and the daemon config it reads, \
             secrets redacted.",
            true,
            false,
            true,
            false,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: ServiceConfigGetInput,
        _cx: &OpContext,
    ) -> Result<ServiceConfigOutput, OpError> {
        let svc = kit.services()?.clone();
        kit.blocking(move |_| {
            let (service, daemon_config) = svc.config_get(&i.name, i.fresh)?;
            Ok(ServiceConfigOutput {
                service,
                daemon_config,
            })
        })
        .await
    }
}

/// `service_config_set`.
#[derive(Debug, Clone, Copy)]
pub struct ServiceConfigSet;

/// Input of `service_config_set`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfigSetInput {
    /// The service.
    pub name: String,
    /// Settings merged into the record's settings (`null` removes one; a redacted value keeps the old one).
    #[serde(default)]
    pub settings: Map<String, Value>,
    /// Other fields: autostart, binary, args, env, cwd, restart (merged), depends_on, start_timeout_ms,
    /// quota_bytes (`null` resets one).
    #[serde(default)]
    pub fields: Map<String, Value>,
}

impl Operation for ServiceConfigSet {
    const NAME: &'static str = "service_config_set";
    type Input = ServiceConfigSetInput;
    type Output = RecordOutput;

    fn meta(&self) -> OpMeta {
        svc_meta(
            "Change a service's configuration",
            "Merge settings and fields into the service's record, checked against its kind; nothing is written \
             when the result is invalid. A running daemon picks the change up at its next start. Daemon configs \
             themselves are changed with update_daemon_config.",
            false,
            false,
            true,
            false,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: ServiceConfigSetInput,
        _cx: &OpContext,
    ) -> Result<RecordOutput, OpError> {
        let svc = kit.services()?.clone();
        kit.blocking(move |_| {
            let u = RecordUpdate {
                settings: i.settings,
                fields: i.fields,
            };
            Ok(RecordOutput {
                service: svc.config_set(&i.name, &u)?,
            })
        })
        .await
    }
}

/// `service_storage`.
#[derive(Debug, Clone, Copy)]
pub struct ServiceStorage;

impl Operation for ServiceStorage {
    const NAME: &'static str = "service_storage";
    type Input = NameInput;
    type Output = StorageUse;

    fn meta(&self) -> OpMeta {
        svc_meta(
            "Storage used by a service",
            "Bytes and files under the service's data directory on this host (Kubo repo, cluster folder, Lotus \
             repo, ipfs-kit repo), against its quota when one is set.",
            true,
            false,
            true,
            false,
        )
    }

    async fn run(&self, kit: &Kit, i: NameInput, _cx: &OpContext) -> Result<StorageUse, OpError> {
        let svc = kit.services()?.clone();
        kit.blocking(move |_| Ok(svc.storage(&i.name)?)).await
    }
}

/// `service_quota`.
#[derive(Debug, Clone, Copy)]
pub struct ServiceQuota;

/// Input of `service_quota`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaInput {
    /// The service.
    pub name: String,
    /// Set the quota to this many bytes (0 removes it); only read it when absent.
    pub set_bytes: Option<u64>,
}

impl Operation for ServiceQuota {
    const NAME: &'static str = "service_quota";
    type Input = QuotaInput;
    type Output = StorageUse;

    fn meta(&self) -> OpMeta {
        svc_meta(
            "A service's storage quota",
            "Read or set the storage quota of a service and compare it with what its data uses on this host.",
            false,
            false,
            true,
            false,
        )
    }

    async fn run(&self, kit: &Kit, i: QuotaInput, _cx: &OpContext) -> Result<StorageUse, OpError> {
        let svc = kit.services()?.clone();
        kit.blocking(move |_| {
            if let Some(b) = i.set_bytes {
                let mut u = RecordUpdate::default();
                u.fields.insert(
                    "quota_bytes".into(),
                    if b == 0 { Value::Null } else { b.into() },
                );
                svc.config_set(&i.name, &u)?;
            }
            Ok(svc.storage(&i.name)?)
        })
        .await
    }
}

/// `service_logs`.
#[derive(Debug, Clone, Copy)]
pub struct ServiceLogs;

/// Input of `service_logs`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogsInput {
    /// The service.
    pub name: String,
    /// How many of the newest lines (default 100, at most 10000).
    pub lines: Option<usize>,
}

/// Output of `service_logs`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LogsOutput {
    /// The lines, oldest first.
    pub lines: Vec<String>,
}

impl Operation for ServiceLogs {
    const NAME: &'static str = "service_logs";
    type Input = LogsInput;
    type Output = LogsOutput;

    fn meta(&self) -> OpMeta {
        svc_meta(
            "A daemon's log",
            "The newest lines a supervised daemon wrote to stdout and stderr (~/.ipfs_kit/logs/<name>.log, \
             rotated at 10 MiB, 5 generations kept).",
            true,
            false,
            true,
            false,
        )
    }

    async fn run(&self, kit: &Kit, i: LogsInput, _cx: &OpContext) -> Result<LogsOutput, OpError> {
        let n = i.lines.unwrap_or(100).min(MAX_LOG_LINES);
        let svc = kit.services()?.clone();
        kit.blocking(move |_| {
            Ok(LogsOutput {
                lines: svc.logs(&i.name, n)?,
            })
        })
        .await
    }
}

/// `system_health`.
#[derive(Debug, Clone, Copy)]
pub struct SystemHealthOp;

/// Input of `system_health`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SystemHealthInput {
    /// Probe every service now instead of using statuses younger than 5 s.
    #[serde(default)]
    pub fresh: bool,
}

impl Operation for SystemHealthOp {
    const NAME: &'static str = "system_health";
    type Input = SystemHealthInput;
    type Output = SystemHealth;

    fn meta(&self) -> OpMeta {
        svc_meta(
            "Health of the whole stack",
            "Every service's status and health score, and one score for the stack: the mean over daemons that \
             should run and storage services; healthy (>= 90), degraded (>= 50) or unhealthy.",
            true,
            false,
            true,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: SystemHealthInput,
        _cx: &OpContext,
    ) -> Result<SystemHealth, OpError> {
        Ok(kit.services()?.system_health(i.fresh).await?)
    }
}

/// Most points one metrics query returns.
const MAX_POINTS: usize = 10_000;

/// `service_stats`.
#[derive(Debug, Clone, Copy)]
pub struct ServiceStatsOp;

/// Input of `service_stats` and `monitoring_get_metrics`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsInput {
    /// The service (`monitoring_get_metrics`: absent or `system` for the machine).
    pub name: Option<String>,
    /// Only points at or after this time (ms since the Unix epoch).
    #[serde(default)]
    pub since_ms: u64,
    /// At most this many of the newest points (default 60, at most 10000).
    pub limit: Option<usize>,
    /// `service_stats`: sample the process now instead of using a point the supervisor recorded in the
    /// last 15 s.
    #[serde(default)]
    pub fresh: bool,
}

impl Operation for ServiceStatsOp {
    const NAME: &'static str = "service_stats";
    type Input = MetricsInput;
    type Output = ipfs_kit_services::ServiceStats;

    fn meta(&self) -> OpMeta {
        svc_meta(
            "A daemon's resource use",
            "Process state, and a sample of the daemon's whole process group taken now: CPU %, RSS, virtual \
             memory, threads, open files, connections (listening / established), uptime; plus the series the \
             supervisor recorded with min/max/avg. A figure that cannot be read is absent, never 0.",
            true,
            false,
            true,
            false,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: MetricsInput,
        _cx: &OpContext,
    ) -> Result<ipfs_kit_services::ServiceStats, OpError> {
        let name = i
            .name
            .ok_or_else(|| OpError::invalid("name: which service?"))?;
        let limit = i.limit.unwrap_or(60).min(MAX_POINTS);
        let svc = kit.services()?.clone();
        kit.blocking(move |_| Ok(svc.stats(&name, i.since_ms, limit, i.fresh)?))
            .await
    }
}

/// `monitoring_get_metrics`.
#[derive(Debug, Clone, Copy)]
pub struct MonitoringGetMetrics;

/// Output of `monitoring_get_metrics`: a service's series, or the machine's.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MetricsOutput {
    /// A service's recorded series (when `name` is a service).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<ipfs_kit_services::metrics::Query<ipfs_kit_services::metrics::Sample>>,
    /// The machine, sampled now (when `name` is absent or `system`; CPU % needs two samples, so it is
    /// absent on a first call).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_now: Option<ipfs_kit_services::metrics::SystemSample>,
    /// The machine's recorded series.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<ipfs_kit_services::metrics::Query<ipfs_kit_services::metrics::SystemSample>>,
}

impl Operation for MonitoringGetMetrics {
    const NAME: &'static str = "monitoring_get_metrics";
    type Input = MetricsInput;
    type Output = MetricsOutput;

    fn meta(&self) -> OpMeta {
        svc_meta(
            "Recorded metrics",
            "The time series the supervisor (`ipfs-kit daemon`) records every 10 s: per service (CPU %, RSS, \
             open files, connections…) or for the machine (`system`: CPU %, load, memory), bounded to the newest \
             720 points, with min/max/avg per metric.",
            true,
            false,
            true,
            false,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: MetricsInput,
        _cx: &OpContext,
    ) -> Result<MetricsOutput, OpError> {
        let limit = i.limit.unwrap_or(60).min(MAX_POINTS);
        let svc = kit.services()?.clone();
        kit.blocking(move |_| match i.name.as_deref() {
            None | Some(ipfs_kit_services::metrics::SYSTEM) => {
                let (now, recorded) = svc.system_metrics(i.since_ms, limit)?;
                Ok(MetricsOutput {
                    series: None,
                    system_now: now,
                    system: Some(recorded),
                })
            }
            Some(n) => {
                svc.registry().get(n)?;
                Ok(MetricsOutput {
                    series: Some(svc.metrics().query(n, i.since_ms, limit)?),
                    system_now: None,
                    system: None,
                })
            }
        })
        .await
    }
}

/// `monitoring_create_alert`.
#[derive(Debug, Clone, Copy)]
pub struct MonitoringCreateAlert;

/// Output of `monitoring_create_alert`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AlertOutput {
    /// The rule as stored.
    pub rule: ipfs_kit_services::alerts::AlertRule,
}

impl Operation for MonitoringCreateAlert {
    const NAME: &'static str = "monitoring_create_alert";
    type Input = ipfs_kit_services::alerts::AlertSpec;
    type Output = AlertOutput;

    fn meta(&self) -> OpMeta {
        svc_meta(
            "Create an alert rule",
            "A threshold on a metric (cpu_percent, rss_bytes, open_files, connections, health_score, down) of one \
             service, every service (`*`) or the machine (`system`), `gt` or `lt`, after `for_samples` samples in \
             a row. The supervisor evaluates it every 10 s and emits one `alert` event when it starts firing and \
             one `alert_resolved` when it stops.",
            false,
            false,
            false,
            false,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: ipfs_kit_services::alerts::AlertSpec,
        _cx: &OpContext,
    ) -> Result<AlertOutput, OpError> {
        let svc = kit.services()?.clone();
        kit.blocking(move |_| {
            Ok(AlertOutput {
                rule: svc.alerts().create(&i)?,
            })
        })
        .await
    }
}

/// `monitoring_list_alerts`.
#[derive(Debug, Clone, Copy)]
pub struct MonitoringListAlerts;

/// Input of `monitoring_list_alerts`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListAlertsInput {
    /// Also the newest events (alerts, crashes, restarts, health changes), at most this many (default 0).
    #[serde(default)]
    pub events: usize,
}

/// Output of `monitoring_list_alerts`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListAlertsOutput {
    /// Every rule with its state (firing or ok, since when, last value, per service).
    pub alerts: Vec<ipfs_kit_services::alerts::AlertStatus>,
    /// The newest events from the event log, oldest first.
    pub events: Vec<ipfs_kit_services::Event>,
}

impl Operation for MonitoringListAlerts {
    const NAME: &'static str = "monitoring_list_alerts";
    type Input = ListAlertsInput;
    type Output = ListAlertsOutput;

    fn meta(&self) -> OpMeta {
        svc_meta(
            "List alert rules",
            "Every alert rule and whether it fires, and optionally the newest events of the event log (started, \
             stopped, crashed, restarted, gave_up, healthy, unhealthy, alert, alert_resolved).",
            true,
            false,
            true,
            false,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: ListAlertsInput,
        _cx: &OpContext,
    ) -> Result<ListAlertsOutput, OpError> {
        let svc = kit.services()?.clone();
        kit.blocking(move |_| {
            let events = match (i.events.min(MAX_POINTS), svc.events().log_path()) {
                (0, _) | (_, None) => Vec::new(),
                (n, Some(log)) => ipfs_kit_services::events::read_log(log, n),
            };
            Ok(ListAlertsOutput {
                alerts: svc.alerts().list()?,
                events,
            })
        })
        .await
    }
}

/// `backends_stats`.
#[derive(Debug, Clone, Copy)]
pub struct BackendsStats;

/// One storage service in `backends_stats`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct BackendRow {
    /// Its status (reachable or unreachable, with the probe).
    pub status: ServiceStatus,
    /// Bytes it holds on this host, when it keeps data here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageUse>,
}

/// Output of `backends_stats`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct BackendsStatsOutput {
    /// Storage services by name.
    pub backends: Vec<BackendRow>,
    /// How many answer their probe.
    pub reachable: usize,
    /// How many are registered.
    pub total: usize,
}

impl Operation for BackendsStats {
    const NAME: &'static str = "backends_stats";
    type Input = SystemHealthInput;
    type Output = BackendsStatsOutput;

    fn meta(&self) -> OpMeta {
        svc_meta(
            "Storage backends",
            "Every registered storage service (S3, Storacha, HuggingFace, FTP, SFTP, GitHub) with a connectivity \
             probe against its real endpoint (latency, what it answered) and its quota.",
            true,
            false,
            true,
            true,
        )
    }

    async fn run(
        &self,
        kit: &Kit,
        i: SystemHealthInput,
        _cx: &OpContext,
    ) -> Result<BackendsStatsOutput, OpError> {
        let svc = kit.services()?;
        let all = svc.system_health(i.fresh).await?;
        let backends: Vec<BackendRow> = all
            .services
            .into_iter()
            .filter(|s| s.class == Class::Storage)
            .map(|status| BackendRow {
                storage: svc.storage(&status.name).ok(),
                status,
            })
            .collect();
        Ok(BackendsStatsOutput {
            reachable: backends
                .iter()
                .filter(|b| b.status.status == "reachable")
                .count(),
            total: backends.len(),
            backends,
        })
    }
}
