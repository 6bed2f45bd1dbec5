//! A watch as the client reads it: storage events turned into `{"type":...,"object":...}` lines.
//!
//! Mirrors the watch path of `registry.Store.Watch` and `endpoints/handlers/watch.go`: an optional
//! burst of synthetic ADDED events for what already exists, then live events, filtered by the
//! selectors, until the client goes, `timeoutSeconds` runs out, or the server shuts down.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Rest;
use crate::http::StreamBody;
use crate::scheme::parameter_codec::ListOptions;
use crate::server::lifecycle_signals::LifecycleSignals;
use crate::storage::{EventType, WatchMessage, Watcher};

/// How often a watch that allows bookmarks gets one: about once a minute, as from kube-apiserver's
/// watch cache.
pub const BOOKMARK_INTERVAL: Duration = Duration::from_secs(60);

/// Turns one event (`ADDED`, the object) into the bytes of one line of the stream.
pub type EventEncoder = Box<dyn FnMut(&str, &Value) -> Vec<u8> + Send>;

pub struct WatchStream {
    pub rest: Arc<dyn Rest>,
    pub watcher: Watcher,
    pub opts: ListOptions,
    /// Events to send before the live ones: synthetic ADDED for existing objects, or an ERROR.
    pub initial: VecDeque<(&'static str, Value)>,
    pub encode: EventEncoder,
    /// With `allowWatchBookmarks`, the object of a periodic BOOKMARK event, sent at a progress
    /// notification once [`BOOKMARK_INTERVAL`] has passed, so that a client that reconnects
    /// resumes from a recent revision instead of one that has left the history.
    pub bookmark: Option<Value>,
    pub last_bookmark: Instant,
    /// From `timeoutSeconds`: checked at each progress notification, which the heartbeat sends
    /// often enough that the stream ends on time without a timer of its own.
    pub deadline: Option<Instant>,
    pub lifecycle: Arc<LifecycleSignals>,
    /// Set after an ERROR event, which is always the last.
    pub finished: bool,
}

impl StreamBody for WatchStream {
    fn next_chunk(&mut self) -> Option<Vec<u8>> {
        if let Some((kind, obj)) = self.initial.pop_front() {
            self.finished = kind == "ERROR";
            return Some((self.encode)(kind, &obj));
        }
        if self.finished {
            return None;
        }
        loop {
            if self.lifecycle.not_accepting_new_requests.fired()
                || self.rest.store().is_destroyed()
                || self.deadline.is_some_and(|d| Instant::now() >= d)
            {
                return None;
            }
            match self.watcher.next()? {
                WatchMessage::Progress(revision) => {
                    if let Some(bookmark) = &mut self.bookmark {
                        if self.last_bookmark.elapsed() >= BOOKMARK_INTERVAL {
                            self.last_bookmark = Instant::now();
                            bookmark["metadata"]["resourceVersion"] = revision.to_string().into();
                            return Some((self.encode)("BOOKMARK", bookmark));
                        }
                    }
                }
                WatchMessage::Event(event) => {
                    let Ok(obj) = self.rest.store().decode(&event.kv) else {
                        continue;
                    };
                    if !self.rest.store().matches(&obj, &self.opts) {
                        continue;
                    }
                    let kind = match event.kind {
                        EventType::Added => "ADDED",
                        EventType::Modified => "MODIFIED",
                        EventType::Deleted => "DELETED",
                    };
                    return Some((self.encode)(kind, &obj));
                }
            }
        }
    }
}
