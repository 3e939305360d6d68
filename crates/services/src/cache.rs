//! The metadata cache: status, stats and config reads are answered from memory for a short TTL, dropped on
//! writes and events, and bypassed with `fresh`.
//!
//! A load that races with an invalidation is returned to its caller but not kept, so an answer computed
//! before a change is never served after it.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::broadcast::error::RecvError;

use crate::{Event, EventBus};

/// What an event invalidates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalidate<K> {
    /// Nothing.
    Nothing,
    /// One key.
    Key(K),
    /// Some keys.
    Keys(Vec<K>),
    /// Everything.
    All,
}

/// Hit and miss counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Answers from memory.
    pub hits: u64,
    /// Answers that ran the loader (expired, missing, or `fresh`).
    pub loads: u64,
    /// Entries now held.
    pub entries: usize,
}

/// A bounded map from keys to values that expire after a TTL. Shareable across threads.
#[derive(Debug)]
pub struct MetaCache<K, V> {
    ttl: Duration,
    capacity: usize,
    map: Mutex<HashMap<K, Entry<V>>>,
    /// Bumped by every invalidation; a load started under an older epoch is not stored.
    epoch: AtomicU64,
    hits: AtomicU64,
    loads: AtomicU64,
}

#[derive(Debug)]
struct Entry<V> {
    value: V,
    stored: Instant,
}

impl<K: Eq + Hash + Clone, V: Clone> MetaCache<K, V> {
    /// A cache keeping each value for `ttl` and at most `capacity` entries (at least 1; the oldest goes
    /// first).
    pub fn new(ttl: Duration, capacity: usize) -> MetaCache<K, V> {
        MetaCache {
            ttl,
            capacity: capacity.max(1),
            map: Mutex::new(HashMap::new()),
            epoch: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            loads: AtomicU64::new(0),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<K, Entry<V>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The TTL.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The value of `key` if it is held and younger than the TTL.
    pub fn get(&self, key: &K) -> Option<V> {
        let map = self.map();
        let e = map.get(key)?;
        if e.stored.elapsed() < self.ttl {
            self.hits.fetch_add(1, Ordering::Relaxed);
            Some(e.value.clone())
        } else {
            None
        }
    }

    /// Stores a value loaded under `epoch` unless an invalidation happened since.
    fn store(&self, key: K, value: V, epoch: u64) {
        let mut map = self.map();
        if self.epoch.load(Ordering::SeqCst) != epoch {
            return;
        }
        if map.len() >= self.capacity && !map.contains_key(&key) {
            let ttl = self.ttl;
            map.retain(|_, e| e.stored.elapsed() < ttl);
            if map.len() >= self.capacity
                && let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, e)| e.stored)
                    .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(
            key,
            Entry {
                value,
                stored: Instant::now(),
            },
        );
    }

    /// The held value of `key`, or the loader's (then kept for the TTL). `fresh` always runs the loader and
    /// replaces what is held. A loader error is returned and nothing is kept.
    pub fn get_or_load<E>(
        &self,
        key: &K,
        fresh: bool,
        loader: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E> {
        if !fresh && let Some(v) = self.get(key) {
            return Ok(v);
        }
        let epoch = self.epoch.load(Ordering::SeqCst);
        self.loads.fetch_add(1, Ordering::Relaxed);
        let v = loader()?;
        self.store(key.clone(), v.clone(), epoch);
        Ok(v)
    }

    /// [`MetaCache::get_or_load`] with an async loader (a health probe). No lock is held while it runs;
    /// cancelling the future keeps nothing.
    pub async fn get_or_load_async<E, F>(
        &self,
        key: &K,
        fresh: bool,
        loader: impl FnOnce() -> F,
    ) -> Result<V, E>
    where
        F: Future<Output = Result<V, E>>,
    {
        if !fresh && let Some(v) = self.get(key) {
            return Ok(v);
        }
        let epoch = self.epoch.load(Ordering::SeqCst);
        self.loads.fetch_add(1, Ordering::Relaxed);
        let v = loader().await?;
        self.store(key.clone(), v.clone(), epoch);
        Ok(v)
    }

    /// Drops `key` (after a write that changes it).
    pub fn invalidate(&self, key: &K) {
        let mut map = self.map();
        self.epoch.fetch_add(1, Ordering::SeqCst);
        map.remove(key);
    }

    /// Drops everything.
    pub fn invalidate_all(&self) {
        let mut map = self.map();
        self.epoch.fetch_add(1, Ordering::SeqCst);
        map.clear();
    }

    /// Applies what an event invalidates.
    pub fn apply(&self, what: Invalidate<K>) {
        match what {
            Invalidate::Nothing => {}
            Invalidate::Key(k) => self.invalidate(&k),
            Invalidate::Keys(ks) => {
                let mut map = self.map();
                self.epoch.fetch_add(1, Ordering::SeqCst);
                for k in &ks {
                    map.remove(k);
                }
            }
            Invalidate::All => self.invalidate_all(),
        }
    }

    /// Entries held (expired ones included until they are replaced or evicted).
    pub fn len(&self) -> usize {
        self.map().len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.map().is_empty()
    }

    /// Hit and load counts since creation.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            loads: self.loads.load(Ordering::Relaxed),
            entries: self.len(),
        }
    }
}

impl<K, V> MetaCache<K, V>
where
    K: Eq + Hash + Clone + Send + 'static,
    V: Clone + Send + 'static,
{
    /// Subscribes to `bus` and applies `select(event)` to the cache for every event (a subscriber that
    /// lagged behind the bus drops everything, since it cannot know what it missed). The task ends when the
    /// cache is dropped (at the next event) or the bus closes; abort the handle to end it sooner. Needs a
    /// Tokio runtime.
    pub fn invalidate_on<F>(
        self: &Arc<Self>,
        bus: &EventBus,
        select: F,
    ) -> tokio::task::JoinHandle<()>
    where
        F: Fn(&Event) -> Invalidate<K> + Send + 'static,
    {
        let weak: Weak<Self> = Arc::downgrade(self);
        let mut rx = bus.subscribe();
        tokio::spawn(async move {
            loop {
                let what = match rx.recv().await {
                    Ok(ev) => select(&ev),
                    Err(RecvError::Lagged(_)) => Invalidate::All,
                    Err(RecvError::Closed) => return,
                };
                let Some(cache) = weak.upgrade() else {
                    return;
                };
                cache.apply(what);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn ttl_fresh_and_invalidation() {
        let c: MetaCache<String, u32> = MetaCache::new(Duration::from_millis(80), 8);
        let n = Cell::new(0u32);
        let load = || -> Result<u32, ()> {
            n.set(n.get() + 1);
            Ok(n.get())
        };
        let k = "ipfs".to_string();
        assert_eq!(c.get_or_load(&k, false, load), Ok(1));
        assert_eq!(c.get_or_load(&k, false, load), Ok(1));
        assert_eq!(c.get_or_load(&k, true, load), Ok(2));
        assert_eq!(c.get_or_load(&k, false, load), Ok(2));
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(c.get(&k), None);
        assert_eq!(c.get_or_load(&k, false, load), Ok(3));
        c.invalidate(&k);
        assert_eq!(c.get_or_load(&k, false, load), Ok(4));
        c.invalidate_all();
        assert!(c.is_empty());
        assert_eq!(
            c.get_or_load(&k, false, || Err::<u32, &str>("down")),
            Err("down")
        );
        assert!(c.is_empty(), "errors are not kept");
        let s = c.stats();
        assert_eq!((s.hits, s.loads), (2, 5));
    }

    #[test]
    fn bounded_and_races_not_kept() {
        let c: MetaCache<u32, u32> = MetaCache::new(Duration::from_secs(60), 3);
        for i in 0..10 {
            c.get_or_load(&i, false, || Ok::<_, ()>(i)).unwrap();
        }
        assert_eq!(c.len(), 3);
        assert_eq!(c.get(&9), Some(9));
        assert_eq!(c.get(&0), None);
        // an invalidation while loading: the caller gets its value, the cache keeps nothing stale
        let v = c
            .get_or_load(&42, false, || {
                c.invalidate(&42);
                Ok::<_, ()>(1)
            })
            .unwrap();
        assert_eq!(v, 1);
        assert_eq!(c.get(&42), None);
    }

    #[tokio::test]
    async fn events_invalidate() {
        let bus = EventBus::new(16);
        let c: Arc<MetaCache<String, u32>> = Arc::new(MetaCache::new(Duration::from_secs(60), 8));
        let task = c.invalidate_on(&bus, |ev| match &ev.service {
            Some(s) => Invalidate::Key(s.clone()),
            None => Invalidate::All,
        });
        for k in ["a", "b"] {
            c.get_or_load(&k.to_string(), false, || Ok::<_, ()>(1))
                .unwrap();
        }
        let v = c
            .get_or_load_async(&"c".to_string(), false, || async { Ok::<_, ()>(7) })
            .await
            .unwrap();
        assert_eq!(v, 7);
        bus.emit(
            Some("a"),
            crate::EventKind::Stopped,
            "",
            serde_json::Value::Null,
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        while c.get(&"a".to_string()).is_some() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(c.get(&"a".to_string()), None);
        assert_eq!(c.get(&"b".to_string()), Some(1));
        drop(c);
        bus.emit(None, crate::EventKind::Added, "", serde_json::Value::Null);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the task ends once the cache is gone")
            .unwrap();
    }
}
