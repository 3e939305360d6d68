//! One bounded event bus for every state change (started, stopped, crashed, restarted, unhealthy, alert),
//! for the dashboard, MCP notifications and `ipfs-kit service events`.
//!
//! Live subscribers get events through a bounded broadcast channel (a slow subscriber loses the oldest,
//! never blocks the emitter); the newest events are also kept in a ring buffer and, when the bus has a log,
//! appended to `monitoring/events.ndjson` so other processes can read them (rotated at [`LOG_MAX_BYTES`]).

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;

/// Size at which the event log is rotated to `events.ndjson.1` (one generation kept).
pub const LOG_MAX_BYTES: u64 = 1 << 20;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A service was registered.
    Added,
    /// A service was removed from the registry.
    Removed,
    /// A service's record or config changed.
    ConfigChanged,
    /// A process is being started.
    Starting,
    /// A process is running.
    Started,
    /// A process that was already running was adopted instead of started twice.
    Adopted,
    /// A process was stopped on request.
    Stopped,
    /// A process exited on its own with success.
    Exited,
    /// A process exited with failure or was killed by a signal.
    Crashed,
    /// The restart policy started a process again.
    Restarted,
    /// The restart policy gave up (attempts exhausted).
    GaveUp,
    /// A health probe succeeded after failing (or for the first time).
    Healthy,
    /// A health probe failed after succeeding (or never succeeded in time).
    Unhealthy,
    /// An alert rule started firing.
    Alert,
    /// An alert rule stopped firing.
    AlertResolved,
}

/// One state change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Event {
    /// Sequence number, increasing within one bus.
    pub seq: u64,
    /// When, in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The service concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// What happened.
    pub kind: EventKind,
    /// Human text.
    pub message: String,
    /// Details (exit code, pid, metric value…).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub data: Value,
}

/// The bus. Cheap to clone (shared inside).
#[derive(Debug, Clone)]
pub struct EventBus {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    tx: broadcast::Sender<Event>,
    ring: Mutex<VecDeque<Event>>,
    capacity: usize,
    seq: AtomicU64,
    log: Option<PathBuf>,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl EventBus {
    /// A bus keeping the newest `capacity` events (and as many per live subscriber), in memory only.
    pub fn new(capacity: usize) -> EventBus {
        let capacity = capacity.max(1);
        let (tx, _) = broadcast::channel(capacity);
        EventBus {
            inner: Arc::new(Inner {
                tx,
                ring: Mutex::new(VecDeque::with_capacity(capacity.min(4096))),
                capacity,
                seq: AtomicU64::new(0),
                log: None,
            }),
        }
    }

    /// A bus that also appends every event to `log` (ndjson, rotated at [`LOG_MAX_BYTES`]). Sequence numbers
    /// continue after the newest event already in the log.
    pub fn with_log(capacity: usize, log: impl Into<PathBuf>) -> EventBus {
        let log = log.into();
        let mut bus = EventBus::new(capacity);
        let last = read_log(&log, 1).last().map(|e| e.seq).unwrap_or(0);
        if let Some(inner) = Arc::get_mut(&mut bus.inner) {
            inner.seq = AtomicU64::new(last);
            inner.log = Some(log);
        }
        bus
    }

    /// Records an event and hands it to every subscriber. Never blocks on subscribers; a failing log write
    /// is reported through `tracing` and does not lose the in-memory event.
    pub fn emit(
        &self,
        service: Option<&str>,
        kind: EventKind,
        message: impl Into<String>,
        data: Value,
    ) -> Event {
        let ev = Event {
            seq: self.inner.seq.fetch_add(1, Ordering::SeqCst) + 1,
            time_ms: now_ms(),
            service: service.map(str::to_owned),
            kind,
            message: message.into(),
            data,
        };
        {
            let mut ring = self.inner.ring.lock().unwrap_or_else(|p| p.into_inner());
            if ring.len() == self.inner.capacity {
                ring.pop_front();
            }
            ring.push_back(ev.clone());
            if let Some(log) = &self.inner.log
                && let Err(e) = append_log(log, &ev)
            {
                tracing::warn!("event log {}: {e}", log.display());
            }
        }
        let _ = self.inner.tx.send(ev.clone());
        ev
    }

    /// A live subscription: every event emitted from now on (a subscriber that falls more than the bus's
    /// capacity behind gets `Lagged` and continues with the oldest kept).
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.tx.subscribe()
    }

    /// The newest events with `seq > since`, oldest first, at most `limit`.
    pub fn recent(&self, since: u64, limit: usize) -> Vec<Event> {
        let ring = self.inner.ring.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<Event> = ring
            .iter()
            .rev()
            .filter(|e| e.seq > since)
            .take(limit)
            .cloned()
            .collect();
        out.reverse();
        out
    }

    /// The log this bus appends to, if any.
    pub fn log_path(&self) -> Option<&Path> {
        self.inner.log.as_deref()
    }
}

fn append_log(log: &Path, ev: &Event) -> std::io::Result<()> {
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir)?;
    }
    if std::fs::metadata(log).map(|m| m.len()).unwrap_or(0) >= LOG_MAX_BYTES {
        let mut old = log.as_os_str().to_owned();
        old.push(".1");
        std::fs::rename(log, PathBuf::from(old))?;
    }
    let mut line = serde_json::to_vec(ev).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    // one write of a whole line: O_APPEND keeps lines from several processes whole
    f.write_all(&line)
}

/// The newest `limit` events in an event log (and its rotated generation), oldest first. Lines that do
/// not parse (a torn write after a crash) are skipped.
pub fn read_log(log: &Path, limit: usize) -> Vec<Event> {
    let mut old = log.as_os_str().to_owned();
    old.push(".1");
    let mut out: VecDeque<Event> = VecDeque::new();
    for p in [PathBuf::from(old), log.to_path_buf()] {
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        for line in text.lines() {
            if let Ok(ev) = serde_json::from_str::<Event>(line) {
                if out.len() == limit {
                    out.pop_front();
                }
                out.push_back(ev);
            }
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_is_bounded_and_ordered() {
        let bus = EventBus::new(3);
        for i in 0..5 {
            bus.emit(Some("a"), EventKind::Started, format!("{i}"), Value::Null);
        }
        let r = bus.recent(0, 10);
        assert_eq!(r.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4, 5]);
        assert_eq!(bus.recent(4, 10).len(), 1);
        assert_eq!(bus.recent(0, 1)[0].seq, 5);
    }

    #[tokio::test]
    async fn subscribers_see_events_and_log_persists() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("m/events.ndjson");
        let bus = EventBus::with_log(8, &log);
        let mut rx = bus.subscribe();
        bus.emit(
            Some("ipfs"),
            EventKind::Crashed,
            "exit 1",
            serde_json::json!({"code": 1}),
        );
        let got = rx.recv().await.unwrap();
        assert_eq!(got.kind, EventKind::Crashed);
        assert_eq!(got.data["code"], 1);
        // a second bus on the same log continues the sequence and reads what the first wrote
        let bus2 = EventBus::with_log(8, &log);
        let e2 = bus2.emit(None, EventKind::Alert, "cpu", Value::Null);
        assert_eq!(e2.seq, 2);
        let all = read_log(&log, 10);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].service.as_deref(), Some("ipfs"));
        std::fs::write(&log, b"{torn\n").unwrap();
        assert!(read_log(&log, 10).is_empty());
    }
}
