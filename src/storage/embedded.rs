//! The embedded store: the default `--storage-backend`, in memory.
//!
//! One mutex around a sorted map, a revision counter, and a bounded history of events. The
//! history is what lets a client watch "from resourceVersion N": while N is still in it, the
//! events after N are replayed, and after that the watch is live; once N has been dropped the
//! client hears 410 Gone and lists again, exactly as it does against etcd after a compaction.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use super::{
    watch_channel, Event, EventType, KeyValue, Revision, Storage, StorageError, WatchMessage,
    WatchSender, Watcher,
};

// ANCHOR: embedded_store
pub struct EmbeddedStore {
    inner: Mutex<Inner>,
}

struct Inner {
    /// The revision of the newest write (1 before the first, as in a fresh etcd).
    revision: Revision,
    data: BTreeMap<String, KeyValue>,
    /// The most recent events, oldest first, at most `history_limit` of them.
    history: VecDeque<Event>,
    history_limit: usize,
    /// Events at or below this revision are gone: a watch must start after it.
    compacted: Revision,
    watchers: Vec<(String, WatchSender)>,
}
// ANCHOR_END: embedded_store

impl EmbeddedStore {
    /// A store that remembers the last `history_limit` events for watches that start in the past.
    pub fn new(history_limit: usize) -> EmbeddedStore {
        EmbeddedStore {
            inner: Mutex::new(Inner {
                revision: 1,
                data: BTreeMap::new(),
                history: VecDeque::new(),
                history_limit: history_limit.max(1),
                compacted: 0,
                watchers: Vec::new(),
            }),
        }
    }
}

impl Inner {
    /// Records an event: history first, then every live watcher of a matching prefix.
    fn publish(&mut self, event: Event) {
        self.history.push_back(event.clone());
        while self.history.len() > self.history_limit {
            if let Some(old) = self.history.pop_front() {
                self.compacted = old.kv.mod_revision;
            }
        }
        self.watchers.retain(|(prefix, tx)| {
            !event.kv.key.starts_with(prefix.as_str())
                || tx.send(WatchMessage::Event(event.clone()))
        });
    }

    fn write(&mut self, key: &str, value: Vec<u8>, create_revision: Option<Revision>) -> KeyValue {
        self.revision += 1;
        let kv = KeyValue {
            key: key.to_string(),
            value: Arc::new(value),
            create_revision: create_revision.unwrap_or(self.revision),
            mod_revision: self.revision,
        };
        let prev_kv = self.data.insert(key.to_string(), kv.clone());
        let kind = if create_revision.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.publish(Event {
            kind,
            kv: kv.clone(),
            prev_kv,
        });
        kv
    }
}

impl Storage for EmbeddedStore {
    fn current_revision(&self) -> Revision {
        self.inner.lock().unwrap().revision
    }

    fn compacted_revision(&self) -> Revision {
        self.inner.lock().unwrap().compacted
    }

    fn get(&self, key: &str) -> Result<Option<KeyValue>, StorageError> {
        Ok(self.inner.lock().unwrap().data.get(key).cloned())
    }

    fn list(&self, prefix: &str) -> Result<(Vec<KeyValue>, Revision), StorageError> {
        let inner = self.inner.lock().unwrap();
        let items = inner
            .data
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v.clone())
            .collect();
        Ok((items, inner.revision))
    }

    // ANCHOR: embedded_list_at
    /// The present, with the history after `revision` undone, newest change first.
    fn list_at(&self, prefix: &str, revision: Revision) -> Result<Vec<KeyValue>, StorageError> {
        let inner = self.inner.lock().unwrap();
        if revision < inner.compacted {
            let oldest = inner.compacted;
            return Err(StorageError::Compacted {
                requested: revision,
                oldest,
            });
        }
        if revision > inner.revision {
            return Err(StorageError::FutureRevision {
                requested: revision,
                current: inner.revision,
            });
        }
        let mut then: BTreeMap<&str, &KeyValue> = inner
            .data
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v))
            .collect();
        for event in inner.history.iter().rev() {
            if event.kv.mod_revision <= revision {
                break;
            }
            if !event.kv.key.starts_with(prefix) {
                continue;
            }
            match &event.prev_kv {
                Some(prev) => then.insert(prev.key.as_str(), prev),
                None => then.remove(event.kv.key.as_str()),
            };
        }
        Ok(then.into_values().cloned().collect())
    }
    // ANCHOR_END: embedded_list_at

    fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue, StorageError> {
        let mut inner = self.inner.lock().unwrap();
        if inner.data.contains_key(key) {
            return Err(StorageError::AlreadyExists);
        }
        Ok(inner.write(key, value, None))
    }

    fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        expected: Revision,
    ) -> Result<KeyValue, StorageError> {
        let mut inner = self.inner.lock().unwrap();
        let current = inner.data.get(key).cloned().ok_or(StorageError::NotFound)?;
        if current.mod_revision != expected {
            return Err(StorageError::Conflict { current });
        }
        Ok(inner.write(key, value, Some(current.create_revision)))
    }

    fn delete(&self, key: &str, expected: Option<Revision>) -> Result<KeyValue, StorageError> {
        let mut inner = self.inner.lock().unwrap();
        let current = inner.data.get(key).cloned().ok_or(StorageError::NotFound)?;
        if expected.is_some_and(|e| e != current.mod_revision) {
            return Err(StorageError::Conflict { current });
        }
        inner.data.remove(key);
        inner.revision += 1;
        let deleted = KeyValue {
            mod_revision: inner.revision,
            ..current.clone()
        };
        inner.publish(Event {
            kind: EventType::Deleted,
            kv: deleted.clone(),
            prev_kv: Some(current),
        });
        Ok(deleted)
    }

    // ANCHOR: embedded_watch
    fn watch(&self, prefix: &str, after: Revision) -> Result<Watcher, StorageError> {
        let mut inner = self.inner.lock().unwrap();
        if after < inner.compacted {
            let oldest = inner
                .history
                .front()
                .map_or(inner.revision, |e| e.kv.mod_revision);
            return Err(StorageError::Compacted {
                requested: after,
                oldest,
            });
        }
        let (tx, rx) = watch_channel();
        // Replay and subscribe under one lock, so no event falls between the two.
        for event in inner.history.iter() {
            if event.kv.mod_revision > after && event.kv.key.starts_with(prefix) {
                tx.send(WatchMessage::Event(event.clone()));
            }
        }
        inner.watchers.push((prefix.to_string(), tx));
        Ok(rx)
    }
    // ANCHOR_END: embedded_watch

    fn compact(&self, revision: Revision) {
        let mut inner = self.inner.lock().unwrap();
        while inner
            .history
            .front()
            .is_some_and(|e| e.kv.mod_revision <= revision)
        {
            inner.history.pop_front();
        }
        inner.compacted = inner.compacted.max(revision.min(inner.revision));
    }

    fn notify_progress(&self) {
        let mut inner = self.inner.lock().unwrap();
        let revision = inner.revision;
        inner
            .watchers
            .retain(|(_, tx)| tx.send(WatchMessage::Progress(revision)));
    }

    /// In memory, the store is up whenever the process is.
    fn check_health(&self) -> Result<(), StorageError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::conformance;

    #[test]
    fn passes_the_storage_conformance_checks() {
        conformance::check_all(&EmbeddedStore::new(100), "/");
    }

    #[test]
    fn the_first_write_is_revision_2_as_in_a_fresh_etcd() {
        let s = EmbeddedStore::new(10);
        assert_eq!(s.current_revision(), 1);
        assert_eq!(s.create("/a", vec![]).unwrap().mod_revision, 2);
    }

    #[test]
    fn a_watch_from_before_the_history_is_gone() {
        let s = EmbeddedStore::new(2);
        for i in 0..5 {
            s.create(&format!("/k{i}"), vec![]).unwrap(); // revs 2..=6
        }
        assert!(matches!(
            s.watch("/", 2),
            Err(StorageError::Compacted {
                requested: 2,
                oldest: 5
            })
        ));
        assert!(s.watch("/", 4).is_ok());
    }

    #[test]
    fn progress_is_the_newest_revision_of_the_whole_store() {
        let s = EmbeddedStore::new(10);
        let w = s.watch("/cm/", 1).unwrap();
        let rev = s.create("/other", vec![]).unwrap().mod_revision;
        s.notify_progress();
        assert_eq!(w.next(), Some(WatchMessage::Progress(rev)));
    }

    #[test]
    fn a_dropped_watcher_is_forgotten() {
        let s = EmbeddedStore::new(10);
        drop(s.watch("/", 1).unwrap());
        s.create("/a", vec![]).unwrap();
        assert!(s.inner.lock().unwrap().watchers.is_empty());
    }
}
