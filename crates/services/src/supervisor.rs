//! The supervisor of real child processes.
//!
//! Each supervised process has a record, `state/<name>.json`, written atomically under the per-service
//! lock (`state/locks/svc-<name>.lock`): the desired state, the [`LaunchSpec`], the pid and process group,
//! the process's start time from `/proc/<pid>/stat` (so a recycled pid is never taken for ours), restart
//! counters and the last exit. Because the record holds everything needed to start the process again, any
//! ipfs-kit process can stop, restart or re-adopt it; two processes starting the same service at once get
//! one child (the second adopts the first's).
//!
//! A process runs in its own process group with stdin closed and stdout and stderr appended to
//! `logs/<name>.log` through one shared file descriptor: the child writes its log itself, so output keeps
//! flowing after the ipfs-kit process that started it exits. Logs are rotated by copy-and-truncate (lines
//! written between the copy and the truncation are lost) when they pass a size, keeping a fixed number of
//! generations `<name>.log.1` (newest) … `<name>.log.N`.
//!
//! [`Supervisor::run`] is the reconcile loop: it notices processes that died (own children are reaped by a
//! task that waits on them, so their exit status is known; processes started by another ipfs-kit are polled),
//! applies the [`RestartPolicy`] with exponential back-off, gives up after the allowed attempts, adopts
//! processes other ipfs-kit processes started, and rotates logs. Every state change goes on the [`EventBus`].
//! Stopping the loop leaves the processes running: they are daemons, a later ipfs-kit adopts them.
//!
//! Callers must not hold `Home::lock("svc-<name>")` themselves while calling into the supervisor: the lock
//! is a `flock`, which blocks even within one process.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ipfs_kit_config::fsio::FileLock;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use crate::events::now_ms;
use crate::process::{self, StopSignal};
use crate::record::check_name;
use crate::{Error, EventBus, EventKind, Home, RestartMode, RestartPolicy, Result};

/// Default size (bytes) past which a process log is rotated.
pub const DEFAULT_LOG_MAX_BYTES: u64 = 10 << 20;
/// Default number of rotated log generations kept (`<name>.log.1` … `<name>.log.5`).
pub const DEFAULT_LOG_KEEP: u32 = 5;
/// Most lines [`Supervisor::logs`] returns.
pub const MAX_LOG_LINES: usize = 10_000;
/// Most bytes [`Supervisor::logs`] reads from the end of each log file.
const MAX_TAIL_BYTES: u64 = 4 << 20;
/// How long a process may survive `SIGKILL` before stop reports failure.
const KILL_WAIT: Duration = Duration::from_secs(5);
/// How long to wait for the reaper task to publish the status of an own child that is seen dead.
const REAP_WAIT: Duration = Duration::from_secs(1);
/// Log lines quoted in a start error.
const START_ERROR_LINES: usize = 20;

/// How to run one process. Stored in its record, so a restart does not need the service registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LaunchSpec {
    /// The service name: names the record, the log and the lock.
    pub name: String,
    /// The program: an absolute path, a path with a `/`, or a name looked up on `PATH`; stored resolved.
    pub program: PathBuf,
    /// Arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment variables set on top of the supervisor's own environment.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Working directory (created if missing).
    pub cwd: PathBuf,
    /// Restart policy and stop timeout.
    #[serde(default)]
    pub restart: RestartPolicy,
}

impl LaunchSpec {
    /// A spec with no arguments, no extra environment and the default restart policy.
    pub fn new(
        name: impl Into<String>,
        program: impl Into<PathBuf>,
        cwd: impl Into<PathBuf>,
    ) -> LaunchSpec {
        LaunchSpec {
            name: name.into(),
            program: program.into(),
            args: Vec::new(),
            env: BTreeMap::new(),
            cwd: cwd.into(),
            restart: RestartPolicy::default(),
        }
    }
}

/// Whether a process should be running.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Desired {
    /// It should run; the reconcile loop restarts it by its policy.
    Running,
    /// It was stopped on request (or never started).
    #[default]
    Stopped,
}

/// How a process ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExitInfo {
    /// Its pid.
    pub pid: u32,
    /// Exit code, when it exited by itself and the status is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    /// The signal that ended it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// When the end was seen (ms since the Unix epoch).
    pub time_ms: u64,
}

impl ExitInfo {
    /// An end whose status is unknown: the process was not this supervisor's child.
    pub fn unknown(pid: u32) -> ExitInfo {
        ExitInfo {
            pid,
            code: None,
            signal: None,
            time_ms: now_ms(),
        }
    }

    fn from_status(pid: u32, status: std::io::Result<std::process::ExitStatus>) -> ExitInfo {
        let mut info = ExitInfo::unknown(pid);
        if let Ok(status) = status {
            info.code = status.code();
            #[cfg(unix)]
            {
                use std::os::unix::process::ExitStatusExt;
                info.signal = status.signal();
            }
        }
        info
    }

    /// Whether it exited with code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

impl std::fmt::Display for ExitInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.code, self.signal) {
            (Some(code), _) => write!(f, "pid {} exited with code {code}", self.pid),
            (None, Some(sig)) => write!(
                f,
                "pid {} was killed by {}",
                self.pid,
                process::signal_name(sig)
            ),
            (None, None) => write!(
                f,
                "pid {} is gone (exit status unknown: not this supervisor's child)",
                self.pid
            ),
        }
    }
}

/// The stored record of one supervised process, `state/<name>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProcRecord {
    /// How to run it.
    pub spec: LaunchSpec,
    /// Whether it should run.
    pub desired: Desired,
    /// The pid of the current (or last unhandled) process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Its process group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pgid: Option<u32>,
    /// Its start time (field 22 of `/proc/<pid>/stat`, clock ticks after boot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<u64>,
    /// When it was started (ms since the Unix epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_ms: Option<u64>,
    /// Restarts made by the restart policy since the last start on request.
    #[serde(default)]
    pub restarts: u32,
    /// Restart attempts in a row (reset by a run of `reset_after_ms`).
    #[serde(default)]
    pub attempts: u32,
    /// When the next restart attempt is due (ms since the Unix epoch), during back-off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_restart_ms: Option<u64>,
    /// Why the supervisor stopped trying (start failure, attempts exhausted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// How the last process ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_exit: Option<ExitInfo>,
    /// The last error met while starting or restarting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the record was written (ms since the Unix epoch).
    #[serde(default)]
    pub updated_ms: u64,
}

impl ProcRecord {
    fn new(spec: LaunchSpec) -> ProcRecord {
        ProcRecord {
            spec,
            desired: Desired::Running,
            pid: None,
            pgid: None,
            start_time: None,
            started_ms: None,
            restarts: 0,
            attempts: 0,
            next_restart_ms: None,
            failed: None,
            last_exit: None,
            last_error: None,
            updated_ms: 0,
        }
    }

    fn clear_process(&mut self) {
        self.pid = None;
        self.pgid = None;
        self.start_time = None;
    }

    fn alive(&self) -> bool {
        self.pid
            .is_some_and(|pid| process::is_alive(pid, self.start_time))
    }
}

/// The status of a supervised process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ProcStatus {
    /// It runs.
    Running,
    /// It was stopped on request, or never started.
    Stopped,
    /// It exited with code 0 and the policy does not restart it.
    Exited {
        /// The exit code.
        code: i32,
    },
    /// It exited with failure, was killed, or vanished; the policy does not restart it.
    Crashed {
        /// The exit code, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<i32>,
        /// The signal that killed it, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signal: Option<i32>,
    },
    /// It ended and the policy restarts it when the back-off expires.
    Backoff {
        /// The restart attempt that is due (1-based).
        attempt: u32,
        /// When it is due (ms since the Unix epoch).
        next_ms: u64,
    },
    /// The supervisor gave up: it exited while starting, could not be run, or used up its attempts.
    Failed {
        /// Why.
        reason: String,
    },
}

impl ProcStatus {
    fn from_exit(exit: &ExitInfo) -> ProcStatus {
        match exit.code {
            Some(0) => ProcStatus::Exited { code: 0 },
            code => ProcStatus::Crashed {
                code,
                signal: exit.signal,
            },
        }
    }

    /// The status word: `running`, `stopped`, `exited`, `crashed`, `backoff` or `failed`.
    pub fn label(&self) -> &'static str {
        match self {
            ProcStatus::Running => "running",
            ProcStatus::Stopped => "stopped",
            ProcStatus::Exited { .. } => "exited",
            ProcStatus::Crashed { .. } => "crashed",
            ProcStatus::Backoff { .. } => "backoff",
            ProcStatus::Failed { .. } => "failed",
        }
    }
}

/// What the supervisor knows about one process, computed from its record and whether its pid still lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProcState {
    /// The service name.
    pub name: String,
    /// The status (flattened: `"status": "crashed", "code": 1`).
    #[serde(flatten)]
    pub status: ProcStatus,
    /// Whether it should run.
    pub desired: Desired,
    /// Its pid, while running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Its process group, while running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pgid: Option<u32>,
    /// When it was started (ms since the Unix epoch), while running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_ms: Option<u64>,
    /// How long it has run (ms), while running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_ms: Option<u64>,
    /// Restarts made by the policy since the last start on request.
    pub restarts: u32,
    /// Restart attempts in a row.
    pub attempts: u32,
    /// How the last process ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_exit: Option<ExitInfo>,
    /// The last error met while starting or restarting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The program it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<PathBuf>,
    /// Its log file.
    pub log: PathBuf,
    /// Whether this supervisor spawned it (and reaps it); `false` for adopted processes.
    pub child: bool,
}

/// Tunables of a [`Supervisor`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisorConfig {
    /// Period of the reconcile loop.
    pub tick: Duration,
    /// A process that exits this soon after start fails the start.
    pub settle: Duration,
    /// Size (bytes) past which a log is rotated.
    pub log_max_bytes: u64,
    /// Rotated generations kept.
    pub log_keep: u32,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        SupervisorConfig {
            tick: Duration::from_millis(250),
            settle: Duration::from_millis(300),
            log_max_bytes: DEFAULT_LOG_MAX_BYTES,
            log_keep: DEFAULT_LOG_KEEP,
        }
    }
}

/// A child this supervisor spawned; its wait task publishes the exit.
#[derive(Debug)]
struct OwnChild {
    pid: u32,
    exit: watch::Receiver<Option<ExitInfo>>,
}

/// The supervisor. Share it with `Arc`; several supervisors (threads or processes) on one home cooperate
/// through the records and their locks.
#[derive(Debug)]
pub struct Supervisor {
    home: Home,
    events: EventBus,
    config: SupervisorConfig,
    children: Mutex<HashMap<String, OwnChild>>,
    /// The (pid, start time) last seen running per service, to report adoption once.
    watched: Mutex<HashMap<String, (u32, Option<u64>)>>,
    wake: Arc<Notify>,
}

/// What a spawn produced.
struct Spawned {
    child: tokio::process::Child,
    pid: u32,
    start_time: Option<u64>,
}

impl Supervisor {
    /// A supervisor over `home` with the default [`SupervisorConfig`].
    pub fn new(home: Home, events: EventBus) -> Supervisor {
        Supervisor::with_config(home, events, SupervisorConfig::default())
    }

    /// A supervisor with explicit tunables.
    pub fn with_config(home: Home, events: EventBus, config: SupervisorConfig) -> Supervisor {
        Supervisor {
            home,
            events,
            config,
            children: Mutex::new(HashMap::new()),
            watched: Mutex::new(HashMap::new()),
            wake: Arc::new(Notify::new()),
        }
    }

    /// The home it works in.
    pub fn home(&self) -> &Home {
        &self.home
    }

    /// Its tunables.
    pub fn config(&self) -> &SupervisorConfig {
        &self.config
    }

    /// The record file of `name`: `state/<name>.json`.
    pub fn record_path(&self, name: &str) -> PathBuf {
        record_path(&self.home, name)
    }

    /// The log file of `name`: `logs/<name>.log`.
    pub fn log_path(&self, name: &str) -> PathBuf {
        log_path(&self.home, name)
    }

    /// The stored record of `name`, `None` when it has none.
    pub fn record(&self, name: &str) -> Result<Option<ProcRecord>> {
        check_name(name)?;
        load(&self.home, name)
    }

    /// The names of every service with a process record, sorted.
    pub fn names(&self) -> Result<Vec<String>> {
        let dir = self.home.state_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("list", &dir, e)),
        };
        let mut names = Vec::new();
        for entry in entries.take(100_000) {
            let entry = entry.map_err(|e| Error::io("list", &dir, e))?;
            let file = entry.file_name();
            let Some(name) = file.to_str().and_then(|f| f.strip_suffix(".json")) else {
                continue;
            };
            if check_name(name).is_ok() {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Starts the process `spec` describes, or adopts it when its record names a live process with the
    /// recorded start time (two callers at once, in any processes, get one child). A program that is not
    /// found is [`Error::BinaryNotFound`] before anything is written. A process that exits within the
    /// settle window is [`Error::Start`] with its exit status and last log lines, and its state is left
    /// `failed`. An adopted process keeps running with the spec it was started with; use
    /// [`Supervisor::restart`] to apply a new one.
    pub async fn start(&self, spec: LaunchSpec) -> Result<ProcState> {
        check_name(&spec.name)?;
        let mut spec = spec;
        spec.program =
            process::find_program(&spec.program).ok_or_else(|| Error::BinaryNotFound {
                service: spec.name.clone(),
                program: spec.program.display().to_string(),
            })?;
        let name = spec.name.clone();
        self.home.ensure()?;
        let _lock = self.lock(&name).await?;

        if let Some(mut rec) = load(&self.home, &name)?
            && let Some(pid) = rec.pid
            && rec.alive()
        {
            if rec.desired != Desired::Running
                || rec.failed.is_some()
                || rec.next_restart_ms.is_some()
            {
                rec.desired = Desired::Running;
                rec.failed = None;
                rec.next_restart_ms = None;
                store(&self.home, &mut rec)?;
            }
            self.note_watched(&name, pid, rec.start_time);
            self.events.emit(
                Some(&name),
                EventKind::Adopted,
                format!("{name}: pid {pid} is already running; adopted"),
                json!({ "pid": pid, "pgid": rec.pgid }),
            );
            return Ok(self.state_of(&rec));
        }

        let mut rec = ProcRecord::new(spec);
        self.events.emit(
            Some(&name),
            EventKind::Starting,
            format!("{name}: starting {}", rec.spec.program.display()),
            json!({ "program": rec.spec.program, "args": rec.spec.args }),
        );
        let spawned = match self.spawn(&rec.spec) {
            Ok(s) => s,
            Err(e) => {
                rec.failed = Some(e.to_string());
                rec.last_error = Some(e.to_string());
                store(&self.home, &mut rec)?;
                return Err(e);
            }
        };
        let pid = spawned.pid;
        rec.pid = Some(pid);
        rec.pgid = Some(pid);
        rec.start_time = spawned.start_time;
        rec.started_ms = Some(now_ms());
        let mut exit_rx = self.track(&name, spawned);
        store(&self.home, &mut rec)?;
        self.note_watched(&name, pid, rec.start_time);

        let settled =
            tokio::time::timeout(self.config.settle, exit_rx.wait_for(|e| e.is_some())).await;
        let exit = match settled {
            Ok(Ok(e)) => e.clone(),
            // the wait task was dropped with its runtime: fall back to polling once
            Ok(Err(_)) => (!process::is_alive(pid, rec.start_time)).then(|| ExitInfo::unknown(pid)),
            Err(_) => None,
        };
        if let Some(exit) = exit {
            let tail = self.logs(&name, START_ERROR_LINES).unwrap_or_default();
            let reason = format!(
                "{} exited during start: {exit} within {} ms",
                rec.spec.program.display(),
                self.config.settle.as_millis()
            );
            rec.clear_process();
            rec.last_exit = Some(exit.clone());
            rec.failed = Some(reason.clone());
            rec.last_error = Some(reason.clone());
            store(&self.home, &mut rec)?;
            self.forget(&name, pid);
            self.events.emit(
                Some(&name),
                EventKind::Crashed,
                format!("{name}: {reason}"),
                json!({ "pid": pid, "code": exit.code, "signal": exit.signal, "during_start": true }),
            );
            let mut message = reason;
            if tail.is_empty() {
                message.push_str("; its log is empty");
            } else {
                message.push_str("; last log lines:\n");
                message.push_str(&tail.join("\n"));
            }
            return Err(Error::Start {
                service: name,
                message,
            });
        }
        self.events.emit(
            Some(&name),
            EventKind::Started,
            format!("{name}: started pid {pid}"),
            json!({ "pid": pid, "pgid": pid }),
        );
        Ok(self.state_of(&rec))
    }

    /// Stops `name`: records desired=stopped first (so no reconcile loop restarts it), sends `SIGTERM` to its
    /// process group, waits up to `timeout` (the policy's `stop_timeout_ms` when `None`), then `SIGKILL`s the
    /// group. Works for adopted processes too. [`Error::NotFound`] when it has no record.
    pub async fn stop(&self, name: &str, timeout: Option<Duration>) -> Result<ProcState> {
        check_name(name)?;
        let _lock = self.lock(name).await?;
        let mut rec = load(&self.home, name)?.ok_or_else(|| Error::NotFound(name.to_owned()))?;
        let was_desired = rec.desired == Desired::Running;
        rec.desired = Desired::Stopped;
        rec.next_restart_ms = None;
        rec.failed = None;
        store(&self.home, &mut rec)?;
        let timeout =
            timeout.unwrap_or_else(|| Duration::from_millis(rec.spec.restart.stop_timeout_ms));

        let mut stopped = None;
        if let Some(pid) = rec.pid {
            if rec.alive() {
                let pgid = rec.pgid.unwrap_or(pid);
                let sig = terminate(pid, pgid, rec.start_time, timeout)
                    .await
                    .map_err(|e| Error::io("stop", self.record_path(name), e))?;
                let exit = self.own_exit_wait(name, pid, REAP_WAIT).await;
                stopped = Some((pid, sig, exit));
            }
            if let Some((_, _, Some(exit))) = &stopped {
                rec.last_exit = Some(exit.clone());
            }
            rec.clear_process();
            self.forget(name, pid);
            store(&self.home, &mut rec)?;
        }
        if let Some((pid, sig, exit)) = &stopped {
            self.events.emit(
                Some(name),
                EventKind::Stopped,
                format!("{name}: pid {pid} stopped with {}", sig.name()),
                json!({
                    "pid": pid,
                    "signal": sig.name(),
                    "code": exit.as_ref().and_then(|e| e.code),
                }),
            );
        } else if was_desired {
            self.events.emit(
                Some(name),
                EventKind::Stopped,
                format!("{name}: stopped (it was not running)"),
                serde_json::Value::Null,
            );
        }
        Ok(self.state_of(&rec))
    }

    /// Stops `name` (when it has a record) and starts it again with `spec`, or with its recorded spec when
    /// `spec` is `None`.
    pub async fn restart(&self, name: &str, spec: Option<LaunchSpec>) -> Result<ProcState> {
        check_name(name)?;
        let existing = load(&self.home, name)?;
        let spec = match (spec, &existing) {
            (Some(s), _) => s,
            (None, Some(rec)) => rec.spec.clone(),
            (None, None) => return Err(Error::NotFound(name.to_owned())),
        };
        if spec.name != name {
            return Err(Error::invalid(
                "launch spec",
                format!("spec is for {:?}, not {name:?}", spec.name),
            ));
        }
        if existing.is_some() {
            self.stop(name, None).await?;
        }
        self.start(spec).await
    }

    /// Stops `name` if it runs and deletes its process record (its logs stay). `Ok` when it had no record.
    pub async fn remove(&self, name: &str, timeout: Option<Duration>) -> Result<()> {
        check_name(name)?;
        if load(&self.home, name)?.is_none() {
            return Ok(());
        }
        self.stop(name, timeout).await?;
        let _lock = self.lock(name).await?;
        let path = self.record_path(name);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove", path, e)),
        }
    }

    /// The state of `name` from its record and whether its pid lives; `stopped` when it has no record, and
    /// `failed` (naming the problem) when the record cannot be read.
    pub fn state(&self, name: &str) -> ProcState {
        let fallback = |status| ProcState {
            name: name.to_owned(),
            status,
            desired: Desired::Stopped,
            pid: None,
            pgid: None,
            started_ms: None,
            uptime_ms: None,
            restarts: 0,
            attempts: 0,
            last_exit: None,
            last_error: None,
            program: None,
            log: self.log_path(name),
            child: false,
        };
        match self.record(name) {
            Ok(Some(rec)) => self.state_of(&rec),
            Ok(None) => fallback(ProcStatus::Stopped),
            Err(e) => fallback(ProcStatus::Failed {
                reason: e.to_string(),
            }),
        }
    }

    /// The state of every service with a process record, sorted by name.
    pub fn states(&self) -> Vec<ProcState> {
        match self.names() {
            Ok(names) => names.iter().map(|n| self.state(n)).collect(),
            Err(e) => {
                tracing::warn!("supervisor: {e}");
                Vec::new()
            }
        }
    }

    /// The running supervised processes: (service name, pid), sorted by name.
    pub fn pids(&self) -> Vec<(String, u32)> {
        let Ok(names) = self.names() else {
            return Vec::new();
        };
        names
            .into_iter()
            .filter_map(|n| {
                let rec = load(&self.home, &n).ok()??;
                let pid = rec.pid?;
                rec.alive().then_some((n, pid))
            })
            .collect()
    }

    /// The last `lines` lines (at most [`MAX_LOG_LINES`]) of `name`'s log, across the current file and the
    /// newest rotated one, oldest first. Reads a bounded amount from the end of each file.
    pub fn logs(&self, name: &str, lines: usize) -> Result<Vec<String>> {
        check_name(name)?;
        let lines = lines.min(MAX_LOG_LINES);
        let current = self.log_path(name);
        let mut out = tail_lines(&current, lines)?;
        if out.len() < lines {
            let mut older = tail_lines(&generation(&current, 1), lines - out.len())?;
            older.append(&mut out);
            out = older;
        }
        Ok(out)
    }

    /// Rotates every log that has passed `log_max_bytes` (the reconcile loop does this each tick).
    pub fn rotate_logs(&self) -> Result<()> {
        rotate_logs(
            &self.home,
            &self.names()?,
            self.config.log_max_bytes,
            self.config.log_keep,
        )
    }

    /// One pass of the reconcile loop: handles processes that ended (events, restart policy), restarts
    /// those whose back-off expired, reports processes adopted from other supervisors, rotates logs.
    pub async fn tick(&self) {
        let names = match self.names() {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!("supervisor: {e}");
                return;
            }
        };
        for name in &names {
            if let Err(e) = self.reconcile(name).await {
                tracing::warn!("supervisor: {name}: {e}");
            }
        }
        let home = self.home.clone();
        let (max, keep) = (self.config.log_max_bytes, self.config.log_keep);
        match tokio::task::spawn_blocking(move || rotate_logs(&home, &names, max, keep)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("supervisor: log rotation: {e}"),
            Err(e) => tracing::warn!("supervisor: log rotation task: {e}"),
        }
    }

    /// The reconcile loop: a [`Supervisor::tick`] every `config.tick` (and at once when an own child exits)
    /// until `shutdown` is cancelled. Processes keep running after the loop ends. Cancel-safe between ticks;
    /// dropping it mid-tick leaves every record consistent (each change is one atomic write under a lock).
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            self.tick().await;
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(self.config.tick) => {}
                () = self.wake.notified() => {}
            }
        }
    }

    async fn reconcile(&self, name: &str) -> Result<()> {
        let Some(rec) = load(&self.home, name)? else {
            return Ok(());
        };
        if rec.desired != Desired::Running {
            return Ok(());
        }
        if let Some(pid) = rec.pid
            && rec.alive()
        {
            if self.note_watched(name, pid, rec.start_time) && !self.is_own(name, pid) {
                self.events.emit(
                    Some(name),
                    EventKind::Adopted,
                    format!("{name}: watching pid {pid}, started by another supervisor"),
                    json!({ "pid": pid, "pgid": rec.pgid }),
                );
            }
            return Ok(());
        }
        if rec.pid.is_none() && !restart_due(&rec) {
            return Ok(());
        }
        if let Some(pid) = rec.pid {
            // a dead own child may not be reaped yet (a zombie already looks dead): wait for its status
            self.own_exit_wait(name, pid, REAP_WAIT).await;
        }
        let _lock = self.lock(name).await?;
        // another supervisor may have acted while we waited for the lock
        let Some(mut rec) = load(&self.home, name)? else {
            return Ok(());
        };
        if rec.desired != Desired::Running || rec.alive() {
            return Ok(());
        }
        if rec.pid.is_some() {
            self.handle_exit(&mut rec)?;
        }
        if rec.pid.is_none() && restart_due(&rec) {
            self.respawn(&mut rec)?;
        }
        Ok(())
    }

    /// Records the end of the process in `rec` (lock held), emits Crashed or Exited, applies the policy.
    fn handle_exit(&self, rec: &mut ProcRecord) -> Result<()> {
        let name = rec.spec.name.clone();
        let Some(pid) = rec.pid else {
            return Ok(());
        };
        let exit = rec
            .last_exit
            .clone()
            .filter(|e| e.pid == pid)
            .or_else(|| self.own_exit(&name, pid))
            .unwrap_or_else(|| ExitInfo::unknown(pid));
        self.forget(&name, pid);
        let now = now_ms();
        let uptime = rec.started_ms.map_or(0, |s| now.saturating_sub(s));
        let policy = rec.spec.restart.clone();
        if uptime >= policy.reset_after_ms {
            rec.attempts = 0;
        }
        rec.clear_process();
        rec.last_exit = Some(exit.clone());
        let failure = !exit.success();
        let restart = match policy.mode {
            RestartMode::Never => false,
            RestartMode::OnFailure => failure,
            RestartMode::Always => true,
        };
        self.events.emit(
            Some(&name),
            if failure {
                EventKind::Crashed
            } else {
                EventKind::Exited
            },
            format!("{name}: {exit} after {uptime} ms"),
            json!({
                "pid": pid,
                "code": exit.code,
                "signal": exit.signal,
                "uptime_ms": uptime,
                "restart": restart,
            }),
        );
        if restart {
            self.schedule_retry(rec, &exit.to_string());
        }
        store(&self.home, rec)
    }

    /// Counts a restart attempt: schedules it after the back-off, or gives up when attempts are used up.
    fn schedule_retry(&self, rec: &mut ProcRecord, what: &str) {
        let name = rec.spec.name.clone();
        let policy = &rec.spec.restart;
        if rec.attempts >= policy.max_attempts {
            let reason = format!(
                "gave up after {} restart attempt(s); last: {what}",
                policy.max_attempts
            );
            rec.next_restart_ms = None;
            rec.failed = Some(reason.clone());
            self.events.emit(
                Some(&name),
                EventKind::GaveUp,
                format!("{name}: {reason}"),
                json!({ "attempts": rec.attempts, "max_attempts": policy.max_attempts }),
            );
        } else {
            rec.attempts += 1;
            let delay = policy.backoff_ms(rec.attempts);
            rec.next_restart_ms = Some(now_ms().saturating_add(delay));
        }
    }

    /// Starts the process again by its record (lock held, back-off expired).
    fn respawn(&self, rec: &mut ProcRecord) -> Result<()> {
        let name = rec.spec.name.clone();
        rec.next_restart_ms = None;
        let spawned = process::find_program(&rec.spec.program)
            .ok_or_else(|| Error::BinaryNotFound {
                service: name.clone(),
                program: rec.spec.program.display().to_string(),
            })
            .and_then(|_| self.spawn(&rec.spec));
        match spawned {
            Ok(spawned) => {
                let pid = spawned.pid;
                rec.pid = Some(pid);
                rec.pgid = Some(pid);
                rec.start_time = spawned.start_time;
                rec.started_ms = Some(now_ms());
                rec.restarts = rec.restarts.saturating_add(1);
                rec.last_error = None;
                drop(self.track(&name, spawned));
                store(&self.home, rec)?;
                self.note_watched(&name, pid, rec.start_time);
                self.events.emit(
                    Some(&name),
                    EventKind::Restarted,
                    format!(
                        "{name}: restarted as pid {pid} (attempt {} of {})",
                        rec.attempts, rec.spec.restart.max_attempts
                    ),
                    json!({ "pid": pid, "attempt": rec.attempts, "restarts": rec.restarts }),
                );
            }
            Err(e) => {
                rec.last_error = Some(e.to_string());
                self.schedule_retry(rec, &e.to_string());
                store(&self.home, rec)?;
            }
        }
        Ok(())
    }

    /// Spawns the process of `spec` (program already resolved) in its own process group, output to its log.
    fn spawn(&self, spec: &LaunchSpec) -> Result<Spawned> {
        let name = &spec.name;
        let log = self.log_path(name);
        let logs_dir = self.home.logs_dir();
        std::fs::create_dir_all(&logs_dir)
            .map_err(|e| Error::io("create directory", &logs_dir, e))?;
        let mut opts = std::fs::OpenOptions::new();
        opts.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // output may carry tokens or paths the owner alone should read
            opts.mode(0o600);
        }
        let mut file = opts
            .open(&log)
            .map_err(|e| Error::io("open log", &log, e))?;
        let header = format!(
            "=== ipfs-kit supervisor: starting {} {} at {} ms ===\n",
            spec.program.display(),
            spec.args.join(" "),
            now_ms()
        );
        file.write_all(header.as_bytes())
            .map_err(|e| Error::io("write log", &log, e))?;
        let out = file
            .try_clone()
            .map_err(|e| Error::io("duplicate log descriptor", &log, e))?;
        std::fs::create_dir_all(&spec.cwd)
            .map_err(|e| Error::io("create directory", &spec.cwd, e))?;

        let mut cmd = tokio::process::Command::new(&spec.program);
        cmd.args(&spec.args)
            .envs(&spec.env)
            .current_dir(&spec.cwd)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(file)
            .kill_on_drop(false);
        #[cfg(unix)]
        cmd.process_group(0);
        let child = cmd.spawn().map_err(|e| Error::Start {
            service: name.clone(),
            message: format!("cannot run {}: {e}", spec.program.display()),
        })?;
        let pid = child.id().ok_or_else(|| Error::Start {
            service: name.clone(),
            message: "the spawned process has no pid".to_owned(),
        })?;
        Ok(Spawned {
            child,
            pid,
            start_time: process::start_time(pid),
        })
    }

    /// Reaps an own child in a task: publishes its exit, wakes the loop, and writes the exit status into
    /// the record so other supervisors see the code too.
    fn track(&self, name: &str, spawned: Spawned) -> watch::Receiver<Option<ExitInfo>> {
        let (tx, rx) = watch::channel(None);
        let pid = spawned.pid;
        self.children
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                name.to_owned(),
                OwnChild {
                    pid,
                    exit: rx.clone(),
                },
            );
        let mut child = spawned.child;
        let home = self.home.clone();
        let wake = self.wake.clone();
        let name = name.to_owned();
        tokio::spawn(async move {
            let info = ExitInfo::from_status(pid, child.wait().await);
            let _ = tx.send(Some(info.clone()));
            wake.notify_one();
            let noted = tokio::task::spawn_blocking(move || note_exit(&home, &name, info)).await;
            if let Ok(Err(e)) = noted {
                tracing::warn!("supervisor: recording exit of pid {pid}: {e}");
            }
        });
        rx
    }

    fn is_own(&self, name: &str, pid: u32) -> bool {
        self.children
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .is_some_and(|c| c.pid == pid)
    }

    fn own_exit(&self, name: &str, pid: u32) -> Option<ExitInfo> {
        let children = self.children.lock().unwrap_or_else(|p| p.into_inner());
        let c = children.get(name).filter(|c| c.pid == pid)?;
        c.exit.borrow().clone()
    }

    async fn own_exit_wait(&self, name: &str, pid: u32, wait: Duration) -> Option<ExitInfo> {
        let mut rx = {
            let children = self.children.lock().unwrap_or_else(|p| p.into_inner());
            children.get(name).filter(|c| c.pid == pid)?.exit.clone()
        };
        match tokio::time::timeout(wait, rx.wait_for(|e| e.is_some())).await {
            Ok(Ok(e)) => e.clone(),
            _ => None,
        }
    }

    fn forget(&self, name: &str, pid: u32) {
        let mut children = self.children.lock().unwrap_or_else(|p| p.into_inner());
        if children.get(name).is_some_and(|c| c.pid == pid) {
            children.remove(name);
        }
        drop(children);
        let mut watched = self.watched.lock().unwrap_or_else(|p| p.into_inner());
        if watched.get(name).is_some_and(|w| w.0 == pid) {
            watched.remove(name);
        }
    }

    /// Remembers the running process of `name`; `true` when it is new to this supervisor.
    fn note_watched(&self, name: &str, pid: u32, start_time: Option<u64>) -> bool {
        let mut watched = self.watched.lock().unwrap_or_else(|p| p.into_inner());
        watched.insert(name.to_owned(), (pid, start_time)) != Some((pid, start_time))
    }

    async fn lock(&self, name: &str) -> Result<FileLock> {
        let home = self.home.clone();
        let what = format!("svc-{name}");
        tokio::task::spawn_blocking(move || home.lock(&what))
            .await
            .map_err(|e| Error::io("lock", self.home.state_dir(), std::io::Error::other(e)))?
    }

    fn state_of(&self, rec: &ProcRecord) -> ProcState {
        let name = &rec.spec.name;
        let alive = rec.alive();
        let status = if alive {
            ProcStatus::Running
        } else if rec.desired == Desired::Stopped {
            ProcStatus::Stopped
        } else if let Some(reason) = &rec.failed {
            ProcStatus::Failed {
                reason: reason.clone(),
            }
        } else if let Some(pid) = rec.pid {
            // ended, not yet handled by a reconcile loop
            let exit = rec
                .last_exit
                .clone()
                .filter(|e| e.pid == pid)
                .or_else(|| self.own_exit(name, pid))
                .unwrap_or_else(|| ExitInfo::unknown(pid));
            ProcStatus::from_exit(&exit)
        } else if let Some(next_ms) = rec.next_restart_ms {
            ProcStatus::Backoff {
                attempt: rec.attempts,
                next_ms,
            }
        } else if let Some(exit) = &rec.last_exit {
            ProcStatus::from_exit(exit)
        } else {
            ProcStatus::Stopped
        };
        let now = now_ms();
        ProcState {
            name: name.clone(),
            status,
            desired: rec.desired,
            pid: rec.pid.filter(|_| alive),
            pgid: rec.pgid.filter(|_| alive),
            started_ms: rec.started_ms.filter(|_| alive),
            uptime_ms: rec
                .started_ms
                .filter(|_| alive)
                .map(|s| now.saturating_sub(s)),
            restarts: rec.restarts,
            attempts: rec.attempts,
            last_exit: rec.last_exit.clone(),
            last_error: rec.last_error.clone(),
            program: Some(rec.spec.program.clone()),
            log: self.log_path(name),
            child: alive && rec.pid.is_some_and(|pid| self.is_own(name, pid)),
        }
    }
}

fn restart_due(rec: &ProcRecord) -> bool {
    rec.failed.is_none() && rec.next_restart_ms.is_some_and(|t| t <= now_ms())
}

/// Sends `SIGTERM` to the group, waits up to `timeout` for the leader to go, then `SIGKILL`s the group.
/// Returns the signal that ended it.
async fn terminate(
    pid: u32,
    pgid: u32,
    start_time: Option<u64>,
    timeout: Duration,
) -> std::io::Result<StopSignal> {
    if !process::signal_group(pgid, StopSignal::Term)? {
        process::signal_process(pid, StopSignal::Term)?;
    }
    if wait_gone(pid, start_time, timeout).await {
        // members that outlived their leader already had their SIGTERM
        if process::group_alive(pgid) {
            process::signal_group(pgid, StopSignal::Kill)?;
        }
        return Ok(StopSignal::Term);
    }
    process::signal_group(pgid, StopSignal::Kill)?;
    if process::is_alive(pid, start_time) {
        process::signal_process(pid, StopSignal::Kill)?;
    }
    if wait_gone(pid, start_time, KILL_WAIT).await {
        Ok(StopSignal::Kill)
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!(
                "pid {pid} is still alive {} s after SIGKILL",
                KILL_WAIT.as_secs()
            ),
        ))
    }
}

async fn wait_gone(pid: u32, start_time: Option<u64>, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if !process::is_alive(pid, start_time) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn record_path(home: &Home, name: &str) -> PathBuf {
    home.state_dir().join(format!("{name}.json"))
}

fn log_path(home: &Home, name: &str) -> PathBuf {
    home.logs_dir().join(format!("{name}.log"))
}

/// `<log>.<n>`.
fn generation(log: &Path, n: u32) -> PathBuf {
    let mut p = log.as_os_str().to_owned();
    p.push(format!(".{n}"));
    PathBuf::from(p)
}

fn load(home: &Home, name: &str) -> Result<Option<ProcRecord>> {
    let path = record_path(home, name);
    let Some(bytes) = home.read_opt(&path)? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::Corrupt {
            path,
            message: e.to_string(),
        })
}

/// Writes the record (caller holds the service's lock). Secret: the spec's environment may hold tokens.
fn store(home: &Home, rec: &mut ProcRecord) -> Result<()> {
    rec.updated_ms = now_ms();
    let bytes =
        serde_json::to_vec_pretty(rec).map_err(|e| Error::invalid("record", e.to_string()))?;
    home.write_atomic(&record_path(home, &rec.spec.name), &bytes, true)
}

/// Writes an own child's exit status into its record, if the record still names that process.
fn note_exit(home: &Home, name: &str, info: ExitInfo) -> Result<()> {
    let _lock = home.lock(&format!("svc-{name}"))?;
    let Some(mut rec) = load(home, name)? else {
        return Ok(());
    };
    if rec.pid == Some(info.pid) && rec.last_exit.as_ref().is_none_or(|e| e.pid != info.pid) {
        rec.last_exit = Some(info);
        store(home, &mut rec)?;
    }
    Ok(())
}

fn rotate_logs(home: &Home, names: &[String], max: u64, keep: u32) -> Result<()> {
    for name in names {
        let log = log_path(home, name);
        let over = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.len() > max);
        if !over(&log) {
            continue;
        }
        let _lock = home.lock(&format!("svc-{name}"))?;
        if over(&log) {
            rotate_log(&log, keep).map_err(|e| Error::io("rotate log", &log, e))?;
        }
    }
    Ok(())
}

/// Copy-truncate rotation: `.{keep-1}` → `.{keep}` … `.1` → `.2`, the live file copied to `.1`, then
/// truncated in place so the writer (which appends) continues at its start.
fn rotate_log(log: &Path, keep: u32) -> std::io::Result<()> {
    if keep > 0 {
        for n in (1..keep).rev() {
            let from = generation(log, n);
            if from.exists() {
                std::fs::rename(&from, generation(log, n + 1))?;
            }
        }
        std::fs::copy(log, generation(log, 1))?;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .open(log)?
        .set_len(0)
}

/// The last `n` lines of `path` (empty when it does not exist), reading at most [`MAX_TAIL_BYTES`] from its end.
fn tail_lines(path: &Path, n: usize) -> Result<Vec<String>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("open log", path, e)),
    };
    let len = file
        .metadata()
        .map_err(|e| Error::io("stat log", path, e))?
        .len();
    const CHUNK: u64 = 64 << 10;
    let mut pos = len;
    let mut buf: Vec<u8> = Vec::new();
    let mut newlines = 0usize;
    // one more newline than lines wanted: the line before the first one we keep is complete
    while pos > 0 && newlines <= n && (len - pos) < MAX_TAIL_BYTES {
        let take = CHUNK.min(pos);
        pos -= take;
        let mut chunk = vec![0u8; take as usize];
        file.seek(SeekFrom::Start(pos))
            .and_then(|_| file.read_exact(&mut chunk))
            .map_err(|e| Error::io("read log", path, e))?;
        newlines += chunk.iter().filter(|b| **b == b'\n').count();
        chunk.extend_from_slice(&buf);
        buf = chunk;
    }
    let text = String::from_utf8_lossy(&buf);
    let mut lines: Vec<&str> = text.split('\n').collect();
    if lines.last() == Some(&"") {
        lines.pop();
    }
    if pos > 0 && !lines.is_empty() {
        // the first piece starts mid-line
        lines.remove(0);
    }
    let skip = lines.len().saturating_sub(n);
    Ok(lines[skip..].iter().map(|l| (*l).to_owned()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_reads_the_last_lines_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.log");
        let mut text = String::new();
        for i in 0..20_000 {
            text.push_str(&format!("line {i}\n"));
        }
        std::fs::write(&p, &text).unwrap();
        let t = tail_lines(&p, 3).unwrap();
        assert_eq!(t, vec!["line 19997", "line 19998", "line 19999"]);
        let t = tail_lines(&p, 15_000).unwrap();
        assert_eq!(t.len(), 15_000);
        assert_eq!(t[0], "line 5000");
        std::fs::write(&p, "a\nb").unwrap();
        assert_eq!(tail_lines(&p, 5).unwrap(), vec!["a", "b"]);
        assert!(tail_lines(&dir.path().join("none"), 5).unwrap().is_empty());
    }

    #[test]
    fn rotation_keeps_bounded_generations() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.log");
        for round in 0..5 {
            std::fs::write(&p, format!("round {round}\n")).unwrap();
            rotate_log(&p, 3).unwrap();
            assert_eq!(std::fs::metadata(&p).unwrap().len(), 0);
        }
        assert_eq!(
            std::fs::read_to_string(generation(&p, 1)).unwrap(),
            "round 4\n"
        );
        assert_eq!(
            std::fs::read_to_string(generation(&p, 3)).unwrap(),
            "round 2\n"
        );
        assert!(!generation(&p, 4).exists());
    }

    #[test]
    fn state_serialises_flat() {
        let s = ProcState {
            name: "a".into(),
            status: ProcStatus::Crashed {
                code: Some(1),
                signal: None,
            },
            desired: Desired::Running,
            pid: None,
            pgid: None,
            started_ms: None,
            uptime_ms: None,
            restarts: 2,
            attempts: 1,
            last_exit: None,
            last_error: None,
            program: None,
            log: "l".into(),
            child: false,
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["status"], "crashed");
        assert_eq!(v["code"], 1);
        let back: ProcState = serde_json::from_value(v).unwrap();
        assert_eq!(back, s);
    }
}
