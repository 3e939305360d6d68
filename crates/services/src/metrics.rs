//! Resource metrics of supervised daemons and of the machine, and their bounded time series.
//!
//! A [`Sampler`] measures each daemon as a whole: the process it was started as plus every descendant and,
//! when that process leads its own process group, every member of the group (a daemon launched through a
//! shell wrapper or `node` is measured with its real worker). Counts the kernel does not expose to us (another
//! user's `/proc/<pid>/fd`, a platform without `/proc`) are `None`, never zero; a process that is gone gives
//! no sample but a [`Vanished`] entry.
//!
//! A [`Series`] keeps the newest samples of one service (default [`DEFAULT_CAPACITY`]) and persists them to
//! `monitoring/<service>.metrics.json` with an atomic write at most every [`DEFAULT_FLUSH_INTERVAL`]; the
//! [`MetricsStore`] holds one series per service plus the machine's.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sysinfo::{
    CpuRefreshKind, MemoryRefreshKind, Pid, ProcessRefreshKind, ProcessStatus, ProcessesToUpdate,
    RefreshKind, System,
};

use crate::events::now_ms;
use crate::{Error, Home, Result};

/// Samples kept per series unless told otherwise (an hour at one sample every five seconds).
pub const DEFAULT_CAPACITY: usize = 720;

/// Shortest time between two writes of one series file.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(5);

/// The reserved series name of the machine itself (also the alert target `system`).
pub const SYSTEM: &str = "system";

/// CPU time is counted in 10 ms clock ticks: over a shorter window a percentage would be mostly noise, so
/// a sample taken sooner than this after the previous one has no CPU figure.
pub const MIN_CPU_INTERVAL_MS: u64 = 200;

/// One measurement of one daemon (its whole process group / tree).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Sample {
    /// The service measured.
    pub service: String,
    /// When, in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The daemon's main process.
    pub pid: u32,
    /// Processes counted (the main one, its descendants and its process group).
    pub processes: u32,
    /// CPU use since the previous sample, in percent of one core (may exceed 100 on several cores); `None`
    /// on the first sample of a process or when the previous one is less than [`MIN_CPU_INTERVAL_MS`] old.
    pub cpu_percent: Option<f64>,
    /// Resident memory, summed over the processes.
    pub rss_bytes: u64,
    /// Virtual memory, summed over the processes.
    pub virtual_bytes: u64,
    /// Threads, summed over the processes (`None` where the platform does not say).
    pub threads: Option<u64>,
    /// Open file descriptors, summed over the processes (`None` when they cannot be read).
    pub open_files: Option<u64>,
    /// TCP and UDP sockets of the processes (`None` when they cannot be read).
    pub connections: Option<u64>,
    /// Of those, listening TCP sockets and bound, unconnected UDP sockets.
    pub listening: Option<u64>,
    /// Of those, established TCP connections and connected UDP sockets.
    pub established: Option<u64>,
    /// Seconds since the main process started.
    pub uptime_s: u64,
}

/// One measurement of the machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SystemSample {
    /// When, in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// CPU use of all cores since the previous sample, 0–100; `None` on the first sample or when the previous
    /// one is less than [`MIN_CPU_INTERVAL_MS`] old.
    pub cpu_percent: Option<f64>,
    /// Logical CPUs.
    pub cpus: u32,
    /// Load average over 1 minute.
    pub load1: f64,
    /// Load average over 5 minutes.
    pub load5: f64,
    /// Load average over 15 minutes.
    pub load15: f64,
    /// Physical memory.
    pub memory_total_bytes: u64,
    /// Memory in use (total minus available).
    pub memory_used_bytes: u64,
    /// Swap space.
    pub swap_total_bytes: u64,
    /// Swap in use.
    pub swap_used_bytes: u64,
}

/// A daemon that was asked for but whose main process no longer exists (or is a zombie).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Vanished {
    /// The service.
    pub service: String,
    /// The pid that is gone.
    pub pid: u32,
}

/// The result of one [`Sampler::sample`] round.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Sampling {
    /// When, in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// One sample per live daemon, in the order asked.
    pub samples: Vec<Sample>,
    /// Daemons whose process is gone: no sample for them.
    pub vanished: Vec<Vanished>,
    /// The machine.
    pub system: Option<SystemSample>,
}

/// Measures processes and the machine. Keeps the previous CPU counters of each service to compute CPU %.
pub struct Sampler {
    sys: System,
    prev: HashMap<String, GroupCpu>,
    sys_cpu_at: Option<Instant>,
}

impl std::fmt::Debug for Sampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sampler")
            .field("services", &self.prev.len())
            .finish_non_exhaustive()
    }
}

/// CPU counters of one service's processes at one sample.
#[derive(Debug)]
struct GroupCpu {
    root: u32,
    root_start: u64,
    time_ms: u64,
    /// pid → (start time in s, accumulated CPU in ms)
    members: HashMap<u32, (u64, u64)>,
}

impl Default for Sampler {
    fn default() -> Self {
        Sampler::new()
    }
}

impl Sampler {
    /// A sampler with no history (the first sample of everything has no CPU figure).
    pub fn new() -> Sampler {
        // sysinfo would otherwise keep one /proc/<pid>/stat open per process on the machine, in our
        // own process, for speed we do not need at one sample every few seconds
        sysinfo::set_open_files_limit(0);
        let sys = System::new_with_specifics(
            RefreshKind::nothing().with_cpu(CpuRefreshKind::nothing().with_cpu_usage()),
        );
        Sampler {
            sys,
            prev: HashMap::new(),
            sys_cpu_at: None,
        }
    }

    /// Measures each `(service, pid)` and the machine. Services not asked for are forgotten (their next
    /// sample has no CPU figure).
    pub fn sample<S: AsRef<str>>(&mut self, targets: &[(S, u32)]) -> Sampling {
        self.sys.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing()
                .with_memory()
                .with_cpu()
                .without_tasks(),
        );
        let time_ms = now_ms();
        let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
        for (pid, p) in self.sys.processes() {
            if p.thread_kind().is_some() {
                continue;
            }
            if let Some(parent) = p.parent() {
                children
                    .entry(parent.as_u32())
                    .or_default()
                    .push(pid.as_u32());
            }
        }
        let mut round = Round::default();
        let mut out = Sampling {
            time_ms,
            ..Sampling::default()
        };
        let mut seen = HashSet::new();
        for (service, pid) in targets {
            let service = service.as_ref();
            seen.insert(service.to_owned());
            match self.sample_one(service, *pid, time_ms, &children, &mut round) {
                Some(s) => out.samples.push(s),
                None => {
                    self.prev.remove(service);
                    out.vanished.push(Vanished {
                        service: service.to_owned(),
                        pid: *pid,
                    });
                }
            }
        }
        self.prev.retain(|k, _| seen.contains(k));
        out.system = Some(self.sample_system(time_ms));
        out
    }

    fn live(&self, pid: u32) -> Option<&sysinfo::Process> {
        self.sys
            .process(Pid::from_u32(pid))
            .filter(|p| !matches!(p.status(), ProcessStatus::Zombie | ProcessStatus::Dead))
            .filter(|p| p.thread_kind().is_none())
    }

    fn sample_one(
        &mut self,
        service: &str,
        root: u32,
        time_ms: u64,
        children: &HashMap<u32, Vec<u32>>,
        round: &mut Round,
    ) -> Option<Sample> {
        let root_proc = self.live(root)?;
        let root_start = root_proc.start_time();
        let uptime_s = root_proc.run_time();
        let members = self.members(root, children, &mut round.pgids);

        let mut rss = 0u64;
        let mut virt = 0u64;
        let mut cpu_now: HashMap<u32, (u64, u64)> = HashMap::with_capacity(members.len());
        for &pid in &members {
            if let Some(p) = self.live(pid) {
                rss = rss.saturating_add(p.memory());
                virt = virt.saturating_add(p.virtual_memory());
                cpu_now.insert(pid, (p.start_time(), p.accumulated_cpu_time()));
            }
        }
        let members: Vec<u32> = members
            .into_iter()
            .filter(|p| cpu_now.contains_key(p))
            .collect();
        let counts = proc_counts(root, &members, &mut round.sockets);

        let cpu_percent = match self.prev.get(service) {
            Some(prev) if prev.root == root && prev.root_start == root_start => {
                let elapsed = time_ms.saturating_sub(prev.time_ms);
                if elapsed < MIN_CPU_INTERVAL_MS {
                    // keep the older baseline so the next sample measures a long enough window
                    None
                } else {
                    let prev_s = prev.time_ms / 1000;
                    let mut used = 0u64;
                    for (pid, (start, cpu)) in &cpu_now {
                        used += match prev.members.get(pid) {
                            Some((pstart, pcpu)) if pstart == start => cpu.saturating_sub(*pcpu),
                            // started since the previous sample: all of its time is new
                            _ if *start >= prev_s => *cpu,
                            // joined the group from outside: its earlier time is not ours to count
                            _ => 0,
                        };
                    }
                    let pct = used as f64 * 100.0 / elapsed as f64;
                    self.prev.insert(
                        service.to_owned(),
                        GroupCpu {
                            root,
                            root_start,
                            time_ms,
                            members: cpu_now,
                        },
                    );
                    Some(pct)
                }
            }
            _ => {
                self.prev.insert(
                    service.to_owned(),
                    GroupCpu {
                        root,
                        root_start,
                        time_ms,
                        members: cpu_now,
                    },
                );
                None
            }
        };

        Some(Sample {
            service: service.to_owned(),
            time_ms,
            pid: root,
            processes: members.len() as u32,
            cpu_percent,
            rss_bytes: rss,
            virtual_bytes: virt,
            threads: counts.threads,
            open_files: counts.open_files,
            connections: counts.sockets.map(|s| s.total),
            listening: counts.sockets.map(|s| s.listening),
            established: counts.sockets.map(|s| s.established),
            uptime_s,
        })
    }

    /// The root, its descendants and, when it leads its own process group, the group's members.
    fn members(
        &self,
        root: u32,
        children: &HashMap<u32, Vec<u32>>,
        pgids: &mut Option<HashMap<u32, u32>>,
    ) -> Vec<u32> {
        let mut set = HashSet::from([root]);
        let mut out = vec![root];
        let mut i = 0;
        // breadth-first over the parent links: iterative, and the set stops any cycle a racing pid reuse
        // could create
        while i < out.len() {
            if let Some(kids) = children.get(&out[i]) {
                for &k in kids {
                    if set.insert(k) {
                        out.push(k);
                    }
                }
            }
            i += 1;
        }
        if pgid_of(root) == Some(root) {
            let map = pgids.get_or_insert_with(|| {
                self.sys
                    .processes()
                    .iter()
                    .filter(|(_, p)| p.thread_kind().is_none())
                    .filter_map(|(pid, _)| pgid_of(pid.as_u32()).map(|g| (pid.as_u32(), g)))
                    .collect()
            });
            for (&pid, &g) in map.iter() {
                if g == root && set.insert(pid) {
                    out.push(pid);
                }
            }
        }
        out
    }

    fn sample_system(&mut self, time_ms: u64) -> SystemSample {
        self.sys
            .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram().with_swap());
        let cpu_percent = match self.sys_cpu_at {
            Some(at) if at.elapsed() < Duration::from_millis(MIN_CPU_INTERVAL_MS) => None,
            Some(_) => {
                self.sys.refresh_cpu_usage();
                self.sys_cpu_at = Some(Instant::now());
                Some(f64::from(self.sys.global_cpu_usage()))
            }
            None => {
                self.sys.refresh_cpu_usage();
                self.sys_cpu_at = Some(Instant::now());
                None
            }
        };
        let load = System::load_average();
        let total = self.sys.total_memory();
        SystemSample {
            time_ms,
            cpu_percent,
            cpus: self.sys.cpus().len() as u32,
            load1: load.one,
            load5: load.five,
            load15: load.fifteen,
            memory_total_bytes: total,
            memory_used_bytes: total.saturating_sub(self.sys.available_memory()),
            swap_total_bytes: self.sys.total_swap(),
            swap_used_bytes: self.sys.used_swap(),
        }
    }
}

#[cfg(target_os = "linux")]
fn pgid_of(pid: u32) -> Option<u32> {
    procfs::stat(pid).ok().map(|s| s.pgrp)
}

#[cfg(not(target_os = "linux"))]
fn pgid_of(_pid: u32) -> Option<u32> {
    None
}

/// Socket counts of a process group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sockets {
    total: u64,
    listening: u64,
    established: u64,
}

/// What one sampling round reads once and shares between services.
#[derive(Debug, Default)]
struct Round {
    /// pid → process group, read when a daemon leads its own group.
    pgids: Option<HashMap<u32, u32>>,
    /// Network namespace → its socket table (`None`: unreadable). Reading the tables is the slowest
    /// part of a round (milliseconds each on some kernels), so each namespace's is read once.
    sockets: HashMap<String, Option<std::rc::Rc<SocketTable>>>,
}

/// Socket inode → state, for one network namespace.
type SocketTable = HashMap<u64, SockState>;

/// What a socket is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SockState {
    Listening,
    Established,
    Other,
}

/// What `/proc` says about a group's threads, descriptors and sockets.
#[derive(Debug, Default)]
struct Counts {
    threads: Option<u64>,
    open_files: Option<u64>,
    sockets: Option<Sockets>,
}

#[cfg(target_os = "linux")]
fn proc_counts(
    root: u32,
    members: &[u32],
    tables: &mut HashMap<String, Option<std::rc::Rc<SocketTable>>>,
) -> Counts {
    use procfs::*;
    let mut threads = Some(0u64);
    let mut open_files = Some(0u64);
    let mut inodes: HashSet<u64> = HashSet::new();
    for &pid in members {
        match stat(pid) {
            Ok(st) => threads = threads.map(|t| t + st.threads),
            // exited between the listing and now: it has no threads left to count
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) => threads = None,
        }
        match scan_fds(pid, &mut inodes) {
            Ok(n) => open_files = open_files.map(|t| t + n),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && pid != root => {}
            Err(_) => open_files = None,
        }
    }
    let sockets = if open_files.is_none() {
        None
    } else if inodes.is_empty() {
        Some(Sockets::default())
    } else {
        let table = match net_namespace(root) {
            Ok(ns) => tables
                .entry(ns)
                .or_insert_with(|| socket_states(root).ok().map(std::rc::Rc::new))
                .clone(),
            Err(_) => socket_states(root).ok().map(std::rc::Rc::new),
        };
        table.map(|table| {
            let mut s = Sockets::default();
            for ino in &inodes {
                if let Some(state) = table.get(ino) {
                    s.total += 1;
                    match state {
                        SockState::Listening => s.listening += 1,
                        SockState::Established => s.established += 1,
                        SockState::Other => {}
                    }
                }
            }
            s
        })
    };
    Counts {
        threads,
        open_files,
        sockets,
    }
}

#[cfg(not(target_os = "linux"))]
fn proc_counts(
    _root: u32,
    _members: &[u32],
    _tables: &mut HashMap<String, Option<std::rc::Rc<SocketTable>>>,
) -> Counts {
    Counts::default()
}

/// Reading `/proc` directly: threads, file descriptors and the socket tables of a network namespace.
#[cfg(target_os = "linux")]
mod procfs {
    use std::collections::{HashMap, HashSet};
    use std::io::{BufRead, BufReader};

    pub(super) use super::SockState;

    /// Descriptors looked at per process at most.
    const MAX_FDS: usize = 1 << 20;
    /// Lines read per socket table at most.
    const MAX_SOCKET_LINES: usize = 1 << 20;

    /// The fields we use of `/proc/<pid>/stat`.
    #[derive(Debug, Clone, Copy)]
    pub(super) struct Stat {
        /// Process group, field 5 (0 for kernel threads).
        pub(super) pgrp: u32,
        /// Threads, field 20.
        pub(super) threads: u64,
    }

    pub(super) fn stat(pid: u32) -> std::io::Result<Stat> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        // the command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'
        let rest = text
            .rsplit_once(')')
            .map(|(_, r)| r)
            .ok_or_else(|| std::io::Error::other("stat without ')'"))?;
        let fields: Vec<&str> = rest.split_whitespace().take(18).collect();
        let field = |n: usize| -> std::io::Result<u64> {
            fields
                .get(n - 3)
                .and_then(|f| f.parse().ok())
                .ok_or_else(|| std::io::Error::other(format!("stat without field {n}")))
        };
        Ok(Stat {
            pgrp: field(5)? as u32,
            threads: field(20)?,
        })
    }

    /// Counts `/proc/<pid>/fd` and collects the inodes of its sockets.
    pub(super) fn scan_fds(pid: u32, sockets: &mut HashSet<u64>) -> std::io::Result<u64> {
        let dir = format!("/proc/{pid}/fd");
        let mut n = 0u64;
        for entry in std::fs::read_dir(&dir)?.take(MAX_FDS) {
            let Ok(entry) = entry else { continue };
            n += 1;
            if let Ok(target) = std::fs::read_link(entry.path())
                && let Some(ino) = target
                    .to_str()
                    .and_then(|t| t.strip_prefix("socket:["))
                    .and_then(|t| t.strip_suffix(']'))
                    .and_then(|t| t.parse().ok())
            {
                sockets.insert(ino);
            }
        }
        Ok(n)
    }

    /// The identity of `pid`'s network namespace (`net:[<inode>]`).
    pub(super) fn net_namespace(pid: u32) -> std::io::Result<String> {
        Ok(std::fs::read_link(format!("/proc/{pid}/ns/net"))?
            .to_string_lossy()
            .into_owned())
    }

    /// inode → state for every TCP and UDP socket (v4 and v6) in `pid`'s network namespace.
    pub(super) fn socket_states(pid: u32) -> std::io::Result<HashMap<u64, SockState>> {
        let mut map = HashMap::new();
        let mut any = false;
        for (file, tcp) in [
            ("tcp", true),
            ("tcp6", true),
            ("udp", false),
            ("udp6", false),
        ] {
            let f = match std::fs::File::open(format!("/proc/{pid}/net/{file}")) {
                Ok(f) => f,
                // a kernel without IPv6 has no tcp6/udp6
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            any = true;
            for line in BufReader::new(f)
                .lines()
                .skip(1)
                .take(MAX_SOCKET_LINES)
                .map_while(Result::ok)
            {
                if let Some((ino, state)) = parse_socket_line(&line, tcp) {
                    map.insert(ino, state);
                }
            }
        }
        if any {
            Ok(map)
        } else {
            Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no socket tables",
            ))
        }
    }

    /// One line of `/proc/net/{tcp,udp}[6]`: `sl local rem st queues timer retr uid timeout inode …`.
    pub(super) fn parse_socket_line(line: &str, tcp: bool) -> Option<(u64, SockState)> {
        let f: Vec<&str> = line.split_whitespace().take(10).collect();
        if f.len() < 10 {
            return None;
        }
        let st = u8::from_str_radix(f[3], 16).ok()?;
        let ino: u64 = f[9].parse().ok()?;
        if ino == 0 {
            // a socket no process owns any more (TIME_WAIT)
            return None;
        }
        // kernel TCP states: 1 ESTABLISHED, 7 CLOSE, 10 LISTEN
        let state = match (tcp, st) {
            (true, 0x0A) => SockState::Listening,
            (_, 0x01) => SockState::Established,
            (false, 0x07) => {
                let (_, port) = f[1].rsplit_once(':')?;
                if u16::from_str_radix(port, 16).ok()? != 0 {
                    SockState::Listening
                } else {
                    SockState::Other
                }
            }
            _ => SockState::Other,
        };
        Some((ino, state))
    }
}

/// A point of a time series: its time and its numeric metrics by name.
pub trait Point: Clone + Serialize + DeserializeOwned {
    /// When, in milliseconds since the Unix epoch.
    fn time_ms(&self) -> u64;
    /// Every metric with its value (`None`: not measured in this point).
    fn metrics(&self) -> Vec<(&'static str, Option<f64>)>;
}

impl Point for Sample {
    fn time_ms(&self) -> u64 {
        self.time_ms
    }
    fn metrics(&self) -> Vec<(&'static str, Option<f64>)> {
        vec![
            ("cpu_percent", self.cpu_percent),
            ("rss_bytes", Some(self.rss_bytes as f64)),
            ("virtual_bytes", Some(self.virtual_bytes as f64)),
            ("threads", self.threads.map(|v| v as f64)),
            ("open_files", self.open_files.map(|v| v as f64)),
            ("connections", self.connections.map(|v| v as f64)),
            ("listening", self.listening.map(|v| v as f64)),
            ("established", self.established.map(|v| v as f64)),
            ("processes", Some(f64::from(self.processes))),
            ("uptime_s", Some(self.uptime_s as f64)),
        ]
    }
}

impl Point for SystemSample {
    fn time_ms(&self) -> u64 {
        self.time_ms
    }
    fn metrics(&self) -> Vec<(&'static str, Option<f64>)> {
        vec![
            ("cpu_percent", self.cpu_percent),
            ("load1", Some(self.load1)),
            ("load5", Some(self.load5)),
            ("load15", Some(self.load15)),
            ("memory_total_bytes", Some(self.memory_total_bytes as f64)),
            ("memory_used_bytes", Some(self.memory_used_bytes as f64)),
            ("swap_total_bytes", Some(self.swap_total_bytes as f64)),
            ("swap_used_bytes", Some(self.swap_used_bytes as f64)),
        ]
    }
}

/// Minimum, maximum, mean and newest value of one metric over a query's points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Stat {
    /// Points that had a value.
    pub count: u64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Mean value.
    pub avg: f64,
    /// The newest value.
    pub last: f64,
}

/// The answer to a time-series query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Query<T> {
    /// The series (a service name, or [`SYSTEM`]).
    pub service: String,
    /// Points with `time_ms >= since_ms`, at most `limit` of the newest, oldest first.
    pub points: Vec<T>,
    /// Per metric, over every point with `time_ms >= since_ms` (not only the returned ones).
    pub summary: BTreeMap<String, Stat>,
    /// Points in the series in all.
    pub total: u64,
}

/// The file format of a series.
#[derive(Serialize, Deserialize)]
struct SeriesFile<T> {
    version: u32,
    service: String,
    points: Vec<T>,
}

const SERIES_VERSION: u32 = 1;

/// The newest samples of one service, bounded, persisted to `monitoring/<service>.metrics.json`.
#[derive(Debug)]
pub struct Series<T> {
    service: String,
    path: PathBuf,
    capacity: usize,
    points: VecDeque<T>,
    dirty: bool,
    last_write: Option<Instant>,
    damaged: Option<String>,
}

impl<T: Point> Series<T> {
    /// An empty series of `service` keeping `capacity` points (at least 1); nothing is read or written.
    pub fn new(home: &Home, service: &str, capacity: usize) -> Result<Series<T>> {
        crate::record::check_name(service)?;
        Ok(Series {
            service: service.to_owned(),
            path: home
                .monitoring_dir()
                .join(format!("{service}.metrics.json")),
            capacity: capacity.max(1),
            points: VecDeque::new(),
            dirty: false,
            last_write: None,
            damaged: None,
        })
    }

    /// The series as last persisted (empty when there is no file). A file that does not parse is moved
    /// aside to `<file>.damaged`, reported by [`Series::damaged`] and replaced at the next flush.
    pub fn load(home: &Home, service: &str, capacity: usize) -> Result<Series<T>> {
        let mut s = Series::new(home, service, capacity)?;
        let Some(bytes) = home.read_opt(&s.path)? else {
            return Ok(s);
        };
        match serde_json::from_slice::<SeriesFile<T>>(&bytes) {
            Ok(f) if f.version == SERIES_VERSION => {
                let skip = f.points.len().saturating_sub(s.capacity);
                s.points = f.points.into_iter().skip(skip).collect();
            }
            Ok(f) => s.set_damaged(format!("unknown version {}", f.version))?,
            Err(e) => s.set_damaged(e.to_string())?,
        }
        Ok(s)
    }

    fn set_damaged(&mut self, message: String) -> Result<()> {
        let mut aside = self.path.as_os_str().to_owned();
        aside.push(".damaged");
        tracing::warn!(
            "{} is damaged ({message}); kept as {} and started afresh",
            self.path.display(),
            PathBuf::from(&aside).display()
        );
        std::fs::rename(&self.path, &aside).map_err(|e| Error::io("rename", &self.path, e))?;
        self.damaged = Some(message);
        self.dirty = true;
        Ok(())
    }

    /// Why the file was found damaged at load, if it was.
    pub fn damaged(&self) -> Option<&str> {
        self.damaged.as_deref()
    }

    /// The service.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The file it persists to.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Points kept.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether no point is kept.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The most points kept.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The points, oldest first.
    pub fn points(&self) -> impl Iterator<Item = &T> {
        self.points.iter()
    }

    /// Adds a point, dropping the oldest beyond capacity (in memory; see [`Series::flush`]).
    pub fn append(&mut self, point: T) {
        if self.points.len() == self.capacity {
            self.points.pop_front();
        }
        self.points.push_back(point);
        self.dirty = true;
    }

    /// Writes the file if anything changed and the last write is at least `min_interval` old. Returns
    /// whether it wrote.
    pub fn flush_if_due(&mut self, home: &Home, min_interval: Duration) -> Result<bool> {
        if !self.dirty || self.last_write.is_some_and(|t| t.elapsed() < min_interval) {
            return Ok(false);
        }
        self.flush(home)?;
        Ok(true)
    }

    /// Writes the file now (atomically) if anything changed.
    pub fn flush(&mut self, home: &Home) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let file = SeriesFile {
            version: SERIES_VERSION,
            service: self.service.clone(),
            points: self.points.iter().collect::<Vec<_>>(),
        };
        let bytes = serde_json::to_vec(&file)
            .map_err(|e| Error::invalid("metrics series", e.to_string()))?;
        home.write_atomic(&self.path, &bytes, false)?;
        self.dirty = false;
        self.last_write = Some(Instant::now());
        Ok(())
    }

    /// The points since `since_ms` (at most `limit` of the newest) and a summary of every metric over all of
    /// them.
    pub fn query(&self, since_ms: u64, limit: usize) -> Query<T> {
        let matching: Vec<&T> = self
            .points
            .iter()
            .filter(|p| p.time_ms() >= since_ms)
            .collect();
        let mut acc: BTreeMap<&'static str, (u64, f64, f64, f64, f64)> = BTreeMap::new();
        for p in &matching {
            for (name, v) in p.metrics() {
                let Some(v) = v.filter(|v| v.is_finite()) else {
                    continue;
                };
                let e = acc
                    .entry(name)
                    .or_insert((0, f64::INFINITY, f64::NEG_INFINITY, 0.0, v));
                e.0 += 1;
                e.1 = e.1.min(v);
                e.2 = e.2.max(v);
                e.3 += v;
                e.4 = v;
            }
        }
        let summary = acc
            .into_iter()
            .map(|(name, (count, min, max, sum, last))| {
                let avg = sum / count as f64;
                (
                    name.to_owned(),
                    Stat {
                        count,
                        min,
                        max,
                        avg,
                        last,
                    },
                )
            })
            .collect();
        let skip = matching.len().saturating_sub(limit);
        Query {
            service: self.service.clone(),
            points: matching.into_iter().skip(skip).cloned().collect(),
            summary,
            total: self.points.len() as u64,
        }
    }
}

/// The time series of every service and of the machine, shared between the sampling task and readers.
///
/// The process that records a series owns it (its memory is the truth, written at most every flush
/// interval); a process that only reads (the CLI) reads the file at each query.
#[derive(Debug)]
pub struct MetricsStore {
    home: Home,
    capacity: usize,
    flush_interval: Duration,
    inner: Mutex<StoreInner>,
}

#[derive(Debug, Default)]
struct StoreInner {
    services: HashMap<String, Series<Sample>>,
    system: Option<Series<SystemSample>>,
    damaged: VecDeque<String>,
}

/// Damage reports kept by a store.
const MAX_DAMAGE_REPORTS: usize = 32;

impl MetricsStore {
    /// A store under `home`'s `monitoring/` keeping `capacity` points per series, flushing each at most every
    /// [`DEFAULT_FLUSH_INTERVAL`].
    pub fn new(home: Home, capacity: usize) -> MetricsStore {
        MetricsStore {
            home,
            capacity: capacity.max(1),
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            inner: Mutex::new(StoreInner::default()),
        }
    }

    /// The same store with another shortest interval between two writes of one series.
    pub fn with_flush_interval(mut self, interval: Duration) -> MetricsStore {
        self.flush_interval = interval;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StoreInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends one sampling round (loading each series from disk the first time it is touched, so history
    /// survives a restart) and writes the series whose flush is due. Vanished services get no point.
    pub fn record(&self, sampling: &Sampling) -> Result<()> {
        let mut inner = self.lock();
        let StoreInner {
            services,
            system,
            damaged,
        } = &mut *inner;
        let mut first_err = None;
        for s in &sampling.samples {
            if !services.contains_key(&s.service) {
                let series = Series::load(&self.home, &s.service, self.capacity)?;
                note_damage(damaged, series.damaged(), series.path());
                services.insert(s.service.clone(), series);
            }
            if let Some(series) = services.get_mut(&s.service) {
                series.append(s.clone());
                if let Err(e) = series.flush_if_due(&self.home, self.flush_interval) {
                    first_err.get_or_insert(e);
                }
            }
        }
        if let Some(sys) = &sampling.system {
            if system.is_none() {
                let series = Series::load(&self.home, SYSTEM, self.capacity)?;
                note_damage(damaged, series.damaged(), series.path());
                *system = Some(series);
            }
            if let Some(series) = system.as_mut() {
                series.append(sys.clone());
                if let Err(e) = series.flush_if_due(&self.home, self.flush_interval) {
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Writes every series with unwritten points (at shutdown).
    pub fn flush(&self) -> Result<()> {
        let mut inner = self.lock();
        for s in inner.services.values_mut() {
            s.flush(&self.home)?;
        }
        if let Some(s) = inner.system.as_mut() {
            s.flush(&self.home)?;
        }
        Ok(())
    }

    /// The points of `service` since `since_ms` (at most `limit` of the newest) with a summary. A service
    /// with no series yet gives an empty answer.
    pub fn query(&self, service: &str, since_ms: u64, limit: usize) -> Result<Query<Sample>> {
        let mut inner = self.lock();
        if let Some(s) = inner.services.get(service) {
            return Ok(s.query(since_ms, limit));
        }
        let s = Series::<Sample>::load(&self.home, service, self.capacity)?;
        note_damage(&mut inner.damaged, s.damaged(), s.path());
        Ok(s.query(since_ms, limit))
    }

    /// The machine's points since `since_ms` (at most `limit` of the newest) with a summary.
    pub fn query_system(&self, since_ms: u64, limit: usize) -> Result<Query<SystemSample>> {
        let mut inner = self.lock();
        if let Some(s) = &inner.system {
            return Ok(s.query(since_ms, limit));
        }
        let s = Series::<SystemSample>::load(&self.home, SYSTEM, self.capacity)?;
        note_damage(&mut inner.damaged, s.damaged(), s.path());
        Ok(s.query(since_ms, limit))
    }

    /// Drops the series of a removed service and deletes its file.
    pub fn forget(&self, service: &str) -> Result<()> {
        let mut inner = self.lock();
        inner.services.remove(service);
        let s = Series::<Sample>::new(&self.home, service, 1)?;
        match std::fs::remove_file(s.path()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove", s.path(), e)),
        }
    }

    /// Series files found damaged (and replaced) since this store was made, newest last.
    pub fn damaged(&self) -> Vec<String> {
        self.lock().damaged.iter().cloned().collect()
    }
}

fn note_damage(log: &mut VecDeque<String>, damage: Option<&str>, path: &std::path::Path) {
    if let Some(d) = damage {
        if log.len() == MAX_DAMAGE_REPORTS {
            log.pop_front();
        }
        log.push_back(format!("{}: {d}", path.display()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(service: &str, t: u64, cpu: Option<f64>, rss: u64) -> Sample {
        Sample {
            service: service.into(),
            time_ms: t,
            pid: 1,
            processes: 1,
            cpu_percent: cpu,
            rss_bytes: rss,
            virtual_bytes: 0,
            threads: Some(1),
            open_files: None,
            connections: None,
            listening: None,
            established: None,
            uptime_s: 0,
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn socket_lines() {
        use procfs::{SockState, parse_socket_line};
        let listen = "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0";
        assert_eq!(
            parse_socket_line(listen, true),
            Some((4242, SockState::Listening))
        );
        let est = "   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 4243 1";
        assert_eq!(
            parse_socket_line(est, true),
            Some((4243, SockState::Established))
        );
        let tw = "   2: 0100007F:1F90 0100007F:C351 06 00000000:00000000 03:00000000 00000000     0        0 0 3";
        assert_eq!(parse_socket_line(tw, true), None);
        let udp = "  5: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000   100        0 777 2";
        assert_eq!(
            parse_socket_line(udp, false),
            Some((777, SockState::Listening))
        );
        assert_eq!(parse_socket_line("garbage", true), None);
    }

    #[test]
    fn shareable_across_tasks() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Sampler>();
        send_sync::<MetricsStore>();
        send_sync::<crate::alerts::Alerts>();
        send_sync::<crate::cache::MetaCache<String, Sample>>();
    }

    #[test]
    fn query_summarises_and_limits() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        let mut s = Series::<Sample>::new(&home, "ipfs", 3).unwrap();
        s.append(sample("ipfs", 10, None, 100));
        s.append(sample("ipfs", 20, Some(10.0), 300));
        s.append(sample("ipfs", 30, Some(30.0), 200));
        s.append(sample("ipfs", 40, Some(50.0), 400));
        assert_eq!(s.len(), 3);
        let q = s.query(25, 1);
        assert_eq!(q.total, 3);
        assert_eq!(q.points.len(), 1);
        assert_eq!(q.points[0].time_ms, 40);
        let cpu = &q.summary["cpu_percent"];
        assert_eq!(
            (cpu.count, cpu.min, cpu.max, cpu.avg, cpu.last),
            (2, 30.0, 50.0, 40.0, 50.0)
        );
        let all = s.query(0, 100);
        assert_eq!(all.points.len(), 3);
        assert_eq!(all.summary["rss_bytes"].avg, 300.0);
        assert!(!all.summary.contains_key("open_files"));
        assert!(Series::<Sample>::new(&home, "../x", 3).is_err());
    }
}
