//! Storage: the key-value store under every registry (book chapter 3, `ch03-generic-config.md`).
//!
//! Mirrors `k8s.io/apiserver/pkg/storage.Interface` and the etcd3 implementation behind it. The
//! interface is etcd's, on purpose, so that an etcd backend can slide in without changing a caller:
//! one global revision that is every object's `resourceVersion`; create fails if the key exists;
//! update and delete are compare-and-swap on the key's modification revision; a watch starts
//! from a revision and fails with [`StorageError::Compacted`] once that revision has been
//! compacted away; progress notifications tell a quiet watcher how far the store has got.
//!
//! - [`embedded`]: the default, in memory, needing nothing installed.
//! - [`etcd`]: a real etcd (`--etcd-servers`), through its v3 JSON gateway.
//! - [`conformance`]: the behaviour both must have, as checks that both pass.

pub mod conformance;
pub mod embedded;
pub mod etcd;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// etcd's revision: a counter bumped by every write, shared by all keys.
pub type Revision = u64;

/// A stored value and the revisions etcd keeps beside it.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyValue {
    pub key: String,
    pub value: Arc<Vec<u8>>,
    pub create_revision: Revision,
    pub mod_revision: Revision,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

/// One change, as a watcher receives it. For a delete, `kv` is the last value, with
/// `mod_revision` set to the revision of the delete (what kube-apiserver reports as the
/// deleted object's `resourceVersion`).
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub kind: EventType,
    pub kv: KeyValue,
    /// The value before this change (etcd's `prev_kv`), none for a create. It is what lets the
    /// history be read backwards, to list as of an older revision.
    pub prev_kv: Option<KeyValue>,
}

/// What a watcher can be told.
#[derive(Clone, Debug, PartialEq)]
pub enum WatchMessage {
    Event(Event),
    /// Nothing under the watched prefix changed up to this revision (etcd's progress notify).
    /// The heartbeat sends one regularly, which is also how a waiting watch notices its
    /// `timeoutSeconds` or a shutdown without a timer of its own.
    Progress(Revision),
}

#[derive(Clone, Debug, PartialEq)]
pub enum StorageError {
    NotFound,
    AlreadyExists,
    /// The key's modification revision was not the expected one; `current` is what is stored.
    Conflict {
        current: KeyValue,
    },
    /// The requested revision is older than the oldest one still kept.
    Compacted {
        requested: Revision,
        oldest: Revision,
    },
    /// The requested revision is newer than any the store has written.
    FutureRevision {
        requested: Revision,
        current: Revision,
    },
    /// The backend could not be reached or answered nonsense.
    Unavailable(String),
}

impl std::fmt::Display for StorageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StorageError::NotFound => f.write_str("key not found"),
            StorageError::AlreadyExists => f.write_str("key already exists"),
            StorageError::Conflict { current } => {
                write!(f, "key modified at revision {}", current.mod_revision)
            }
            StorageError::Compacted { requested, oldest } => {
                write!(f, "too old resource version: {requested} ({oldest})")
            }
            StorageError::FutureRevision { requested, current } => {
                write!(
                    f,
                    "Too large resource version: {requested}, current: {current}"
                )
            }
            StorageError::Unavailable(why) => write!(f, "storage unavailable: {why}"),
        }
    }
}

// ANCHOR: storage_interface
/// `storage.Interface`, reduced to what the registries use.
pub trait Storage: Send + Sync {
    /// The newest revision (etcd's header revision).
    fn current_revision(&self) -> Revision;
    /// The revision history has been forgotten up to (etcd's compact revision): a watch or a
    /// list continuation from before it can no longer be served.
    fn compacted_revision(&self) -> Revision;
    fn get(&self, key: &str) -> Result<Option<KeyValue>, StorageError>;
    /// Every key under `prefix`, in key order, and the revision the snapshot was taken at.
    fn list(&self, prefix: &str) -> Result<(Vec<KeyValue>, Revision), StorageError>;
    /// Every key under `prefix` as it was at `revision` (etcd's range read at a revision):
    /// `Compacted` once that revision's history is gone, `FutureRevision` before it exists.
    fn list_at(&self, prefix: &str, revision: Revision) -> Result<Vec<KeyValue>, StorageError>;
    /// Creates `key`; fails with `AlreadyExists` if it is there.
    fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue, StorageError>;
    /// Replaces `key` if its modification revision is still `expected`.
    fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        expected: Revision,
    ) -> Result<KeyValue, StorageError>;
    /// Deletes `key` (if `expected` is given, only at that modification revision) and returns the
    /// deleted value with `mod_revision` set to the revision of the delete.
    fn delete(&self, key: &str, expected: Option<Revision>) -> Result<KeyValue, StorageError>;
    /// Streams every change under `prefix` after revision `after`.
    fn watch(&self, prefix: &str, after: Revision) -> Result<Watcher, StorageError>;
    /// Forgets history up to and including `revision`.
    fn compact(&self, revision: Revision);
    /// Sends every watcher a `Progress` message with the current revision.
    fn notify_progress(&self);
    /// The `etcd` health check (`storagefactory.CreateHealthCheck`): can the store serve a read?
    fn check_health(&self) -> Result<(), StorageError>;
}
// ANCHOR_END: storage_interface

/// The receiving end of a watch. Dropping it cancels the watch.
pub struct Watcher {
    rx: may::sync::mpsc::Receiver<WatchMessage>,
    /// Messages sent but not yet received, shared with the sender, which gives up on a watcher
    /// that falls too far behind instead of buffering without bound.
    pending: Arc<AtomicUsize>,
    /// Run when the watcher is dropped: a backend whose watch holds a connection of its own
    /// (etcd) closes it at once, instead of at the next event it fails to deliver.
    on_drop: Option<Box<dyn FnOnce() + Send>>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if let Some(stop) = self.on_drop.take() {
            stop();
        }
    }
}

impl Watcher {
    /// This watcher, with `stop` to run when it is dropped.
    pub fn on_drop(mut self, stop: impl FnOnce() + Send + 'static) -> Watcher {
        self.on_drop = Some(Box::new(stop));
        self
    }

    /// The next message, blocking this coroutine; `None` when the store ended the watch (the
    /// watcher fell behind, or the store is going away): the client then watches again.
    pub fn next(&self) -> Option<WatchMessage> {
        let msg = self.rx.recv().ok()?;
        self.pending.fetch_sub(1, Ordering::Relaxed);
        Some(msg)
    }
}

/// The sending end, kept by the store.
pub struct WatchSender {
    tx: may::sync::mpsc::Sender<WatchMessage>,
    pending: Arc<AtomicUsize>,
}

/// How many undelivered messages a watcher may have before the store drops it, as
/// kube-apiserver's cacher drops a watcher whose buffer is full.
pub const WATCHER_BUFFER: usize = 10_000;

impl WatchSender {
    /// Sends, or returns false if the watcher is gone or too far behind to keep.
    pub fn send(&self, msg: WatchMessage) -> bool {
        if self.pending.load(Ordering::Relaxed) >= WATCHER_BUFFER {
            return false;
        }
        self.pending.fetch_add(1, Ordering::Relaxed);
        self.tx.send(msg).is_ok()
    }
}

/// A connected sender and watcher.
pub fn watch_channel() -> (WatchSender, Watcher) {
    let (tx, rx) = may::sync::mpsc::channel();
    let pending = Arc::new(AtomicUsize::new(0));
    (
        WatchSender {
            tx,
            pending: Arc::clone(&pending),
        },
        Watcher {
            rx,
            pending,
            on_drop: None,
        },
    )
}
