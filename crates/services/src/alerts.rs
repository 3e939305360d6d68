//! Alert rules on metrics and health, stored in `monitoring/alerts.json`, evaluated at each sampling round
//! and delivered as [`EventKind::Alert`] / [`EventKind::AlertResolved`] events, once per transition.
//!
//! A rule fires after `for_samples` consecutive breaching values and resolves after as many consecutive
//! values that do not breach (the same hysteresis both ways, so a value hovering at the threshold does not
//! flap). A sampling round with no value for a rule (no sample, no CPU figure yet) changes nothing. The
//! firing state is persisted with the rules, so a restarted ipfs-kit neither fires again nor forgets to
//! resolve.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::events::now_ms;
use crate::metrics::{SYSTEM, Sampling};
use crate::{Error, Event, EventBus, EventKind, Home, Result};

/// The rule target meaning every service (not the machine).
pub const ANY_SERVICE: &str = "*";

/// Most consecutive samples a rule may wait for.
pub const MAX_FOR_SAMPLES: u32 = 10_000;

/// Most rules stored.
pub const MAX_RULES: usize = 1_000;

/// Shortest time between two writes of rule state that only update counters and last values (a firing or
/// resolving transition is written at once).
pub const STATE_WRITE_INTERVAL: Duration = Duration::from_secs(5);

/// What a rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// CPU % of the daemon (of one core), or of the whole machine for `system`.
    CpuPercent,
    /// Resident memory of the daemon in bytes.
    RssBytes,
    /// Open file descriptors of the daemon.
    OpenFiles,
    /// TCP and UDP sockets of the daemon.
    Connections,
    /// Health score, 0–100.
    HealthScore,
    /// 1 when the service is unhealthy or its process is gone, 0 when it is up.
    Down,
}

impl Metric {
    /// Every metric.
    pub const ALL: [Metric; 6] = [
        Metric::CpuPercent,
        Metric::RssBytes,
        Metric::OpenFiles,
        Metric::Connections,
        Metric::HealthScore,
        Metric::Down,
    ];

    /// The metric's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::CpuPercent => "cpu_percent",
            Metric::RssBytes => "rss_bytes",
            Metric::OpenFiles => "open_files",
            Metric::Connections => "connections",
            Metric::HealthScore => "health_score",
            Metric::Down => "down",
        }
    }

    /// Parses a metric name.
    pub fn parse(s: &str) -> Result<Metric> {
        Metric::ALL
            .into_iter()
            .find(|m| m.as_str() == s.trim())
            .ok_or_else(|| {
                let known: Vec<_> = Metric::ALL.iter().map(|m| m.as_str()).collect();
                Error::invalid(
                    "alert metric",
                    format!("unknown metric {s:?} (known: {})", known.join(", ")),
                )
            })
    }
}

/// How the value is compared with the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Breaches when the value is greater than the threshold.
    Gt,
    /// Breaches when the value is less than the threshold.
    Lt,
}

impl Op {
    /// The operator's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Gt => "gt",
            Op::Lt => "lt",
        }
    }

    /// Parses `gt`/`>` or `lt`/`<`.
    pub fn parse(s: &str) -> Result<Op> {
        match s.trim() {
            "gt" | ">" => Ok(Op::Gt),
            "lt" | "<" => Ok(Op::Lt),
            other => Err(Error::invalid(
                "alert op",
                format!("unknown operator {other:?} (known: gt, lt)"),
            )),
        }
    }

    fn breached(self, value: f64, threshold: f64) -> bool {
        match self {
            Op::Gt => value > threshold,
            Op::Lt => value < threshold,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Lt => "<",
        }
    }
}

/// A stored alert rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AlertRule {
    /// Identifier given at creation (`alert-<n>`).
    pub id: String,
    /// Human name, unique among rules.
    pub name: String,
    /// A service name, [`ANY_SERVICE`] for every service, or [`SYSTEM`] for the machine.
    pub service: String,
    /// What is watched.
    pub metric: Metric,
    /// How it is compared.
    pub op: Op,
    /// The threshold.
    pub threshold: f64,
    /// Consecutive breaching samples before the rule fires (and non-breaching ones before it resolves).
    pub for_samples: u32,
    /// Whether the rule is evaluated.
    pub enabled: bool,
    /// When it was created (ms since the Unix epoch).
    pub created_ms: u64,
}

/// A rule as asked for (by a tool or the CLI): metric and op are names, checked by [`Alerts::create`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AlertSpec {
    /// Human name, unique among rules.
    pub name: String,
    /// A service name, `*` for every service, or `system` for the machine.
    pub service: String,
    /// `cpu_percent`, `rss_bytes`, `open_files`, `connections`, `health_score` or `down`.
    pub metric: String,
    /// `gt` or `lt`.
    pub op: String,
    /// The threshold.
    pub threshold: f64,
    /// Consecutive breaching samples before firing (default 1).
    #[serde(default = "one")]
    pub for_samples: u32,
    /// Whether the rule is evaluated (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn one() -> u32 {
    1
}

fn yes() -> bool {
    true
}

/// Whether a rule (or one of its services) is firing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// The condition holds.
    Firing,
    /// The condition does not hold (or was never evaluated).
    Ok,
}

/// The state of a rule for one service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AlertInstance {
    /// The service (or `system`).
    pub service: String,
    /// Firing or ok.
    pub state: AlertState,
    /// When it entered that state (ms since the Unix epoch), if it ever changed.
    pub since_ms: Option<u64>,
    /// The newest value evaluated.
    pub last_value: Option<f64>,
    /// When that value was evaluated.
    pub last_ms: Option<u64>,
}

/// A rule with its state, as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AlertStatus {
    /// The rule.
    pub rule: AlertRule,
    /// Firing when any of its services is firing.
    pub state: AlertState,
    /// When the current state began: the earliest firing instance's start, else the newest resolution.
    pub since_ms: Option<u64>,
    /// The newest value evaluated for any of its services.
    pub last_value: Option<f64>,
    /// Per service.
    pub instances: Vec<AlertInstance>,
}

/// Persisted per (rule, service).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct InstanceState {
    firing: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    since_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_ms: Option<u64>,
    /// Consecutive breaching values (while ok) or non-breaching values (while firing).
    #[serde(default)]
    streak: u32,
}

type StateMap = BTreeMap<String, BTreeMap<String, InstanceState>>;

#[derive(Debug, Default, Serialize, Deserialize)]
struct AlertsFile {
    version: u32,
    next_id: u64,
    rules: Vec<AlertRule>,
    #[serde(default)]
    state: StateMap,
}

const ALERTS_VERSION: u32 = 1;

/// The alert rules of one home and their evaluation. Cheap to share behind an `Arc`; every write goes through
/// `Home::lock("alerts")`, so the CLI may create rules while a daemon evaluates them.
#[derive(Debug)]
pub struct Alerts {
    home: Home,
    path: PathBuf,
    mem: Mutex<Option<Memory>>,
}

/// The evaluating process's view of the state (the file's, once loaded, then its own).
#[derive(Debug)]
struct Memory {
    state: StateMap,
    last_write: Instant,
}

impl Alerts {
    /// The rules of `home` (`monitoring/alerts.json`); nothing is read until used.
    pub fn new(home: Home) -> Alerts {
        let path = home.monitoring_dir().join("alerts.json");
        Alerts {
            home,
            path,
            mem: Mutex::new(None),
        }
    }

    /// The file the rules are stored in.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    fn read(&self) -> Result<AlertsFile> {
        let Some(bytes) = self.home.read_opt(&self.path)? else {
            return Ok(AlertsFile {
                version: ALERTS_VERSION,
                next_id: 1,
                ..AlertsFile::default()
            });
        };
        // rules are what a user wrote: a damaged file is reported, never silently replaced
        let file: AlertsFile = serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        if file.version != ALERTS_VERSION {
            return Err(Error::Corrupt {
                path: self.path.clone(),
                message: format!("unknown version {}", file.version),
            });
        }
        Ok(file)
    }

    fn write(&self, file: &AlertsFile) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(file)
            .map_err(|e| Error::invalid("alerts file", e.to_string()))?;
        self.home.write_atomic(&self.path, &bytes, false)
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, Option<Memory>> {
        self.mem.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Checks and stores a new rule. Unknown metric, operator or target, a bad threshold or a duplicate name
    /// give [`Error::Invalid`] and write nothing.
    pub fn create(&self, spec: &AlertSpec) -> Result<AlertRule> {
        let metric = Metric::parse(&spec.metric)?;
        let op = Op::parse(&spec.op)?;
        let name = spec.name.trim();
        if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
            return Err(Error::invalid(
                "alert name",
                "give 1-100 printable characters",
            ));
        }
        let service = spec.service.trim();
        if service != ANY_SERVICE && service != SYSTEM {
            crate::record::check_name(service).map_err(|_| {
                Error::invalid(
                    "alert service",
                    format!("{service:?} is neither a service name, \"*\" nor \"system\""),
                )
            })?;
        }
        if service == SYSTEM
            && !matches!(
                metric,
                Metric::CpuPercent | Metric::HealthScore | Metric::Down
            )
        {
            return Err(Error::invalid(
                "alert metric",
                format!(
                    "{} is a per-service metric; for \"system\" use cpu_percent, health_score or down",
                    metric.as_str()
                ),
            ));
        }
        if !spec.threshold.is_finite() {
            return Err(Error::invalid("alert threshold", "must be a finite number"));
        }
        if spec.for_samples == 0 || spec.for_samples > MAX_FOR_SAMPLES {
            return Err(Error::invalid(
                "alert for_samples",
                format!("must be 1..={MAX_FOR_SAMPLES}"),
            ));
        }
        let _lock = self.home.lock("alerts")?;
        let mut file = self.read()?;
        if file.rules.iter().any(|r| r.name == name) {
            return Err(Error::invalid(
                "alert name",
                format!("an alert named {name:?} already exists"),
            ));
        }
        if file.rules.len() >= MAX_RULES {
            return Err(Error::invalid(
                "alerts",
                format!("at most {MAX_RULES} rules"),
            ));
        }
        let rule = AlertRule {
            id: format!("alert-{}", file.next_id.max(1)),
            name: name.to_owned(),
            service: service.to_owned(),
            metric,
            op,
            threshold: spec.threshold,
            for_samples: spec.for_samples,
            enabled: spec.enabled,
            created_ms: now_ms(),
        };
        file.next_id = file.next_id.max(1) + 1;
        file.rules.push(rule.clone());
        self.write(&file)?;
        Ok(rule)
    }

    /// Deletes a rule (by id or name) and its state. [`Error::NotFound`] when there is no such rule.
    pub fn delete(&self, id_or_name: &str) -> Result<AlertRule> {
        let _lock = self.home.lock("alerts")?;
        let mut file = self.read()?;
        let pos = file
            .rules
            .iter()
            .position(|r| r.id == id_or_name || r.name == id_or_name)
            .ok_or_else(|| Error::NotFound(format!("alert {id_or_name}")))?;
        let rule = file.rules.remove(pos);
        file.state.remove(&rule.id);
        self.write(&file)?;
        if let Some(m) = self.memory().as_mut() {
            m.state.remove(&rule.id);
        }
        Ok(rule)
    }

    /// Every rule with its state (this process's newest state if it evaluates, else the stored one).
    pub fn list(&self) -> Result<Vec<AlertStatus>> {
        let file = self.read()?;
        let mem = self.memory();
        let state = mem.as_ref().map_or(&file.state, |m| &m.state);
        Ok(file
            .rules
            .into_iter()
            .map(|rule| status(rule.clone(), state.get(&rule.id)))
            .collect())
    }

    /// Evaluates every enabled rule against one sampling round and the current health (`(service, score
    /// 0–100, healthy)`; an entry named `system` feeds the `system` rules). Emits [`EventKind::Alert`] when a
    /// rule starts firing for a service and [`EventKind::AlertResolved`] when it stops, once per transition;
    /// returns those events.
    pub fn evaluate<S: AsRef<str>>(
        &self,
        sampling: &Sampling,
        health: &[(S, u8, bool)],
        bus: &EventBus,
    ) -> Result<Vec<Event>> {
        let _lock = self.home.lock("alerts")?;
        let mut file = self.read()?;
        let mut mem_guard = self.memory();
        let mem = mem_guard.get_or_insert_with(|| Memory {
            state: std::mem::take(&mut file.state),
            last_write: Instant::now(),
        });
        let now = now_ms();
        let inputs = Inputs::new(sampling, health);
        let mut events = Vec::new();
        let mut transition = false;
        let mut touched = false;

        let ids: BTreeSet<&str> = file.rules.iter().map(|r| r.id.as_str()).collect();
        mem.state.retain(|id, _| ids.contains(id.as_str()));

        for rule in file.rules.iter().filter(|r| r.enabled) {
            let per_rule = mem.state.entry(rule.id.clone()).or_default();
            for service in inputs.targets(&rule.service) {
                let Some(value) = inputs.value(rule.metric, &service) else {
                    continue;
                };
                touched = true;
                let st = per_rule.entry(service.clone()).or_default();
                st.last_value = Some(value);
                st.last_ms = Some(now);
                let breached = rule.op.breached(value, rule.threshold);
                if breached != st.firing {
                    st.streak = st.streak.saturating_add(1);
                } else {
                    st.streak = 0;
                }
                if st.streak < rule.for_samples {
                    continue;
                }
                st.firing = breached;
                st.since_ms = Some(now);
                st.streak = 0;
                transition = true;
                let (kind, verb) = if breached {
                    (EventKind::Alert, "firing")
                } else {
                    (EventKind::AlertResolved, "resolved")
                };
                let message = format!(
                    "alert {:?} {verb}: {} {} {} {} ({} sample{})",
                    rule.name,
                    rule.metric.as_str(),
                    fmt_value(value),
                    if breached {
                        rule.op.symbol()
                    } else {
                        "no longer"
                    },
                    fmt_value(rule.threshold),
                    rule.for_samples,
                    if rule.for_samples == 1 { "" } else { "s" },
                );
                let data = json!({
                    "rule_id": rule.id,
                    "rule": rule.name,
                    "metric": rule.metric.as_str(),
                    "op": rule.op.as_str(),
                    "value": value,
                    "threshold": rule.threshold,
                    "for_samples": rule.for_samples,
                });
                events.push(bus.emit(Some(&service), kind, message, data));
            }
        }
        if transition || (touched && mem.last_write.elapsed() >= STATE_WRITE_INTERVAL) {
            file.state = mem.state.clone();
            self.write(&file)?;
            mem.last_write = Instant::now();
        }
        Ok(events)
    }
}

fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.2}")
    }
}

fn status(rule: AlertRule, state: Option<&BTreeMap<String, InstanceState>>) -> AlertStatus {
    let instances: Vec<AlertInstance> = state
        .into_iter()
        .flatten()
        .map(|(service, st)| AlertInstance {
            service: service.clone(),
            state: if st.firing {
                AlertState::Firing
            } else {
                AlertState::Ok
            },
            since_ms: st.since_ms,
            last_value: st.last_value,
            last_ms: st.last_ms,
        })
        .collect();
    let firing: Vec<&AlertInstance> = instances
        .iter()
        .filter(|i| i.state == AlertState::Firing)
        .collect();
    let (state, since_ms) = if firing.is_empty() {
        (
            AlertState::Ok,
            instances.iter().filter_map(|i| i.since_ms).max(),
        )
    } else {
        (
            AlertState::Firing,
            firing.iter().filter_map(|i| i.since_ms).min(),
        )
    };
    let last_value = instances
        .iter()
        .filter(|i| i.last_ms.is_some())
        .max_by_key(|i| i.last_ms)
        .and_then(|i| i.last_value);
    AlertStatus {
        rule,
        state,
        since_ms,
        last_value,
        instances,
    }
}

/// One round's values, by service.
struct Inputs<'a> {
    sampling: &'a Sampling,
    health: BTreeMap<&'a str, (u8, bool)>,
}

impl<'a> Inputs<'a> {
    fn new<S: AsRef<str>>(sampling: &'a Sampling, health: &'a [(S, u8, bool)]) -> Inputs<'a> {
        Inputs {
            sampling,
            health: health
                .iter()
                .map(|(s, score, ok)| (s.as_ref(), (*score, *ok)))
                .collect(),
        }
    }

    /// The services a rule target covers in this round.
    fn targets(&self, target: &str) -> Vec<String> {
        if target != ANY_SERVICE {
            return vec![target.to_owned()];
        }
        let mut all: BTreeSet<&str> = BTreeSet::new();
        all.extend(self.sampling.samples.iter().map(|s| s.service.as_str()));
        all.extend(self.sampling.vanished.iter().map(|v| v.service.as_str()));
        all.extend(self.health.keys().copied().filter(|s| *s != SYSTEM));
        all.into_iter().map(str::to_owned).collect()
    }

    fn value(&self, metric: Metric, service: &str) -> Option<f64> {
        if service == SYSTEM {
            return match metric {
                Metric::CpuPercent => self.sampling.system.as_ref()?.cpu_percent,
                Metric::HealthScore => self.health.get(SYSTEM).map(|h| f64::from(h.0)),
                Metric::Down => self.health.get(SYSTEM).map(|h| if h.1 { 0.0 } else { 1.0 }),
                _ => None,
            };
        }
        let sample = self.sampling.samples.iter().find(|s| s.service == service);
        match metric {
            Metric::CpuPercent => sample?.cpu_percent,
            Metric::RssBytes => sample.map(|s| s.rss_bytes as f64),
            Metric::OpenFiles => sample?.open_files.map(|v| v as f64),
            Metric::Connections => sample?.connections.map(|v| v as f64),
            Metric::HealthScore => self.health.get(service).map(|h| f64::from(h.0)),
            Metric::Down => {
                let vanished = self.sampling.vanished.iter().any(|v| v.service == service);
                match self.health.get(service) {
                    Some((_, healthy)) => Some(if *healthy && !vanished { 0.0 } else { 1.0 }),
                    None if vanished => Some(1.0),
                    None if sample.is_some() => Some(0.0),
                    None => None,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Sample;

    fn spec(metric: &str, op: &str) -> AlertSpec {
        AlertSpec {
            name: "r".into(),
            service: "ipfs".into(),
            metric: metric.into(),
            op: op.into(),
            threshold: 1.0,
            for_samples: 1,
            enabled: true,
        }
    }

    fn round(service: &str, cpu: Option<f64>) -> Sampling {
        Sampling {
            time_ms: 1,
            samples: vec![Sample {
                service: service.into(),
                time_ms: 1,
                pid: 1,
                processes: 1,
                cpu_percent: cpu,
                rss_bytes: 10,
                virtual_bytes: 10,
                threads: None,
                open_files: Some(3),
                connections: None,
                listening: None,
                established: None,
                uptime_s: 1,
            }],
            vanished: vec![],
            system: None,
        }
    }

    #[test]
    fn parse_names() {
        assert_eq!(Metric::parse("rss_bytes").unwrap(), Metric::RssBytes);
        assert!(matches!(Metric::parse("temp"), Err(Error::Invalid { .. })));
        assert_eq!(Op::parse(">").unwrap(), Op::Gt);
        assert!(matches!(Op::parse("ge"), Err(Error::Invalid { .. })));
    }

    #[test]
    fn missing_value_changes_nothing_and_wildcard_covers_services() {
        let dir = tempfile::tempdir().unwrap();
        let alerts = Alerts::new(Home::new(dir.path()));
        let bus = EventBus::new(16);
        let mut s = spec("cpu_percent", "gt");
        s.service = "*".into();
        s.for_samples = 2;
        alerts.create(&s).unwrap();
        let none: &[(&str, u8, bool)] = &[];
        // breach, no value (first sample has no CPU figure), breach: still two in a row
        assert!(
            alerts
                .evaluate(&round("a", Some(5.0)), none, &bus)
                .unwrap()
                .is_empty()
        );
        assert!(
            alerts
                .evaluate(&round("a", None), none, &bus)
                .unwrap()
                .is_empty()
        );
        let ev = alerts.evaluate(&round("a", Some(5.0)), none, &bus).unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].service.as_deref(), Some("a"));
        // down: vanished with no health entry counts as down
        let mut d = spec("down", "gt");
        d.name = "down".into();
        d.threshold = 0.5;
        alerts.create(&d).unwrap();
        let gone = Sampling {
            vanished: vec![crate::metrics::Vanished {
                service: "ipfs".into(),
                pid: 9,
            }],
            ..Sampling::default()
        };
        let ev = alerts.evaluate(&gone, none, &bus).unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].kind, EventKind::Alert);
        assert_eq!(ev[0].data["metric"], "down");
        let healthy = [("ipfs", 100u8, true)];
        let ev = alerts
            .evaluate(&Sampling::default(), &healthy, &bus)
            .unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].kind, EventKind::AlertResolved);
    }
}
