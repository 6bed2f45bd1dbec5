//! The etcd backend: `--etcd-servers`, a real etcd for users who outgrow one process (book
//! chapter 3).
//!
//! Mirrors `k8s.io/apiserver/pkg/storage/etcd3` (`store.go`, `watcher.go`). kube-apiserver speaks
//! gRPC to etcd; we speak the same v3 API as JSON over HTTP/1.1, through the gateway etcd serves on
//! its client port beside gRPC (`POST /v3/kv/range` and friends), so that the small
//! [`crate::http::client`] the aggregator already uses is the whole transport. In that JSON, keys
//! and values are base64, 64-bit numbers are strings, and a field at its default (0, false, the
//! event type PUT) is left out.
//!
//! - resourceVersion is etcd's revision, as in kube.
//! - `create` is a txn "`create_revision == 0`, then put", `update` and a preconditioned `delete`
//!   a txn "`mod_revision == expected`, then write, else read", as in `store.Create` and
//!   `GuaranteedUpdate`: the failure branch's read is the current value a `Conflict` carries.
//! - A watch is one `POST /v3/watch`, whose chunked answer is a line of JSON per message, read by
//!   a coroutine of its own. Its progress is the revision etcd last brought it to (see
//!   `WatchFeed::notify_progress`), since the gateway gives no way to ask for more mid-stream.
//! - [`EtcdStore::start_compactor`] is kube's compactor (`--etcd-compaction-interval`).
//! - With several `--etcd-servers`, the first that accepts a connection at start is used; when it
//!   stops accepting them, each request moves on down the list. Only a connection that could not
//!   be made moves a request: once it is sent, it is never sent again elsewhere, so no write
//!   happens twice.
//! - Each request has a connection of its own (`Connection: close`, as the client does for the
//!   aggregator), which on a local network costs a connect, well under a millisecond.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::{json, Value};

use super::{
    watch_channel, Event, EventType, KeyValue, Revision, Storage, StorageError, WatchMessage,
    WatchSender, Watcher,
};
use crate::http::client::{self, ClientRequest, ResponseBody};
use crate::http::StreamBody;

/// etcd's client port, when a server is given without one.
const DEFAULT_PORT: u16 = 2379;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// etcd gives up on a request it cannot commit after about 7 s ("etcdserver: request timed out"),
/// so a read that waits longer than this is waiting on a connection that is gone.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// kube-apiserver's `DefaultHealthcheckTimeout`.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);
/// An answer larger than this is refused rather than held in memory.
const MAX_ANSWER_BYTES: usize = 512 * 1024 * 1024;

/// kube's `compactRevKey`, outside every prefix: its version counts the compactions made by all
/// the servers sharing an etcd.
const COMPACT_REV_KEY: &str = "compact_rev_key";

/// etcd's own error texts (`mvcc.ErrCompacted`, `mvcc.ErrFutureRev`), which the gateway passes on
/// with gRPC code 11 (OutOfRange).
const ERR_COMPACTED: &str = "required revision has been compacted";
const ERR_FUTURE_REV: &str = "required revision is a future revision";

// ANCHOR: etcd_store
pub struct EtcdStore {
    endpoints: Vec<Endpoint>,
    /// The endpoint that accepted the last connection: tried first next time.
    preferred: AtomicUsize,
    /// `<--etcd-prefix>/health`, the key the health check reads, as kube-apiserver's does.
    health_key: String,
    /// The newest revision any answer has carried, for `current_revision` while etcd is away.
    revision: AtomicU64,
    /// The newest compaction this store has made or heard of.
    compacted: Arc<AtomicU64>,
    /// The open watches, for `notify_progress`.
    feeds: Mutex<Vec<Arc<WatchFeed>>>,
}
// ANCHOR_END: etcd_store

#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

/// One `--etcd-servers` entry: `http://host:port` (the port defaults to 2379).
pub fn parse_server(url: &str) -> Result<Endpoint, String> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(if url.starts_with("https://") {
            format!(
                "{url:?}: https is not supported by this build; give etcd an http:// client URL"
            )
        } else {
            format!("{url:?} is not an http:// URL")
        });
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => {
            let port = p.parse().map_err(|_| format!("{url:?}: bad port {p:?}"))?;
            (h, port)
        }
        _ => (rest, DEFAULT_PORT),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.contains('/') {
        return Err(format!("{url:?}: bad host"));
    }
    Ok(Endpoint {
        host: host.to_string(),
        port,
    })
}

/// What became of a request to etcd.
#[derive(Debug, PartialEq)]
enum CallError {
    /// No answer: no server took the connection, or it broke, or the answer was not etcd's.
    Unreachable(String),
    /// etcd answered with a gRPC error.
    Grpc(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Unreachable(why) => f.write_str(why),
            CallError::Grpc(message) => write!(f, "etcdserver: {message}"),
        }
    }
}

impl From<CallError> for StorageError {
    fn from(e: CallError) -> StorageError {
        match e {
            CallError::Unreachable(why) => StorageError::Unavailable(why),
            grpc => StorageError::Unavailable(grpc.to_string()),
        }
    }
}

impl EtcdStore {
    /// A store over `servers`, using the first that accepts a connection; an error if none does,
    /// since a server that cannot read or write anything is better not started.
    pub fn new(servers: &[String], prefix: &str) -> Result<EtcdStore, String> {
        let endpoints = servers
            .iter()
            .map(|s| parse_server(s))
            .collect::<Result<Vec<_>, _>>()?;
        if endpoints.is_empty() {
            return Err("--etcd-servers must be specified".into());
        }
        let store = EtcdStore {
            endpoints,
            preferred: AtomicUsize::new(0),
            health_key: format!("{}/health", prefix.trim_end_matches('/')),
            revision: AtomicU64::new(0),
            compacted: Arc::new(AtomicU64::new(0)),
            feeds: Mutex::new(Vec::new()),
        };
        store
            .check_health()
            .map_err(|e| format!("etcd at {}: {e}", servers.join(",")))?;
        let chosen = &store.endpoints[store.preferred.load(Ordering::Relaxed)];
        log::info!("storage: etcd at http://{}:{}", chosen.host, chosen.port);
        Ok(store)
    }

    // ANCHOR: etcd_compactor
    /// kube's compactor (`etcd3.StartCompactor`, `--etcd-compaction-interval`): every `interval`,
    /// compact to the revision seen one interval before, so that a watch or a continue token has
    /// at least that long before it goes stale. Servers that share an etcd take turns: each turn
    /// is a txn on `compact_rev_key`'s version, and only the server whose txn moved it compacts.
    pub fn start_compactor(self: &Arc<Self>, interval: Duration) {
        // Weak: the compactor ends with the store, at its next turn.
        let store = Arc::downgrade(self);
        may::go!(move || {
            let (mut version, mut revision) = (0, 0);
            loop {
                may::coroutine::sleep(interval);
                let Some(store) = store.upgrade() else {
                    return;
                };
                match store.compact_turn(version, revision) {
                    Ok(next) => (version, revision) = next,
                    Err(e) => log::warn!("storage: etcd compaction: {e}"),
                }
            }
        });
    }

    /// One turn: the new count of compactions, and the revision the next turn compacts to.
    fn compact_turn(&self, version: u64, revision: Revision) -> Result<(u64, Revision), CallError> {
        let k = b64(COMPACT_REV_KEY.as_bytes());
        let answer = self.call(
            "/v3/kv/txn",
            json!({
                "compare": [{"key": k, "target": "VERSION", "result": "EQUAL", "version": version.to_string()}],
                "success": [{"request_put": {"key": k, "value": b64(revision.to_string().as_bytes())}}],
                "failure": [{"request_range": {"key": k}}],
            }),
        )?;
        let now = number(&answer["header"]["revision"]);
        if answer["succeeded"] != true {
            // Another server took this turn: count from where it left the key.
            let theirs = number(&answer["responses"][0]["response_range"]["kvs"][0]["version"]);
            return Ok((theirs, now));
        }
        // The first turn only records where the next one will compact to.
        if revision > 0 {
            self.compact(revision);
        }
        Ok((version + 1, now))
    }
    // ANCHOR_END: etcd_compactor

    /// A connection to the preferred endpoint, or the next one down the list that takes it.
    fn connect(&self) -> Result<(may::net::TcpStream, &Endpoint), CallError> {
        let first = self.preferred.load(Ordering::Relaxed);
        let mut last = String::new();
        for i in 0..self.endpoints.len() {
            let index = (first + i) % self.endpoints.len();
            let ep = &self.endpoints[index];
            match client::connect(&ep.host, ep.port, CONNECT_TIMEOUT) {
                Ok(tcp) => {
                    if index != first {
                        log::warn!(
                            "storage: etcd moved to http://{}:{} ({last})",
                            ep.host,
                            ep.port
                        );
                        self.preferred.store(index, Ordering::Relaxed);
                    }
                    return Ok((tcp, ep));
                }
                Err(e) => last = e,
            }
        }
        Err(CallError::Unreachable(last))
    }

    /// Sends `body` to `path` and returns the answer's status and body stream. `stoppable` also
    /// returns a second handle on the socket, whose shutdown ends a read blocked on the first.
    fn open(
        &self,
        path: &str,
        body: &Value,
        timeout: Option<Duration>,
        stoppable: bool,
    ) -> Result<(ResponseBody, u16, Option<may::net::TcpStream>), CallError> {
        let (tcp, ep) = self.connect()?;
        let unreachable = |e: std::io::Error| CallError::Unreachable(e.to_string());
        tcp.set_read_timeout(timeout).map_err(unreachable)?;
        let handle = if stoppable {
            Some(tcp.try_clone().map_err(unreachable)?)
        } else {
            None
        };
        let body = body.to_string();
        let req = ClientRequest {
            method: "POST",
            target: path,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.as_bytes(),
        };
        let resp =
            client::exchange(tcp, &ep.host, ep.port, &req).map_err(CallError::Unreachable)?;
        Ok((resp.body, resp.status, handle))
    }

    /// One unary call: its answer, or etcd's error.
    fn call_with(&self, path: &str, body: Value, timeout: Duration) -> Result<Value, CallError> {
        in_coroutine(|| self.call_here(path, body, timeout))
    }

    fn call_here(&self, path: &str, body: Value, timeout: Duration) -> Result<Value, CallError> {
        let (mut stream, status, _) = self.open(path, &body, Some(timeout), false)?;
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next_chunk() {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > MAX_ANSWER_BYTES {
                return Err(CallError::Unreachable(format!(
                    "etcd's answer to {path} is larger than {MAX_ANSWER_BYTES} bytes"
                )));
            }
        }
        if let Some(e) = stream.error {
            return Err(CallError::Unreachable(e));
        }
        let answer: Value = serde_json::from_slice(&bytes).map_err(|e| {
            CallError::Unreachable(format!("{path} answered HTTP {status} without JSON: {e}"))
        })?;
        if status != 200 {
            return Err(CallError::Grpc(grpc_message(&answer)));
        }
        self.revision
            .fetch_max(number(&answer["header"]["revision"]), Ordering::Relaxed);
        Ok(answer)
    }

    fn call(&self, path: &str, body: Value) -> Result<Value, CallError> {
        self.call_with(path, body, REQUEST_TIMEOUT)
    }

    /// A range over `prefix` (at `revision`, if not 0): the keys and the header revision.
    fn range(
        &self,
        prefix: &str,
        revision: Revision,
    ) -> Result<(Vec<KeyValue>, Revision), CallError> {
        let (key, range_end) = prefix_range(prefix);
        let mut body = json!({"key": key, "range_end": range_end});
        if revision > 0 {
            body["revision"] = revision.to_string().into();
        }
        let answer = self.call("/v3/kv/range", body)?;
        Ok((kvs(&answer["kvs"])?, number(&answer["header"]["revision"])))
    }

    /// The revision etcd has compacted up to, once a request for `requested` has been refused
    /// for it: the range error does not say, but a watch from there is canceled with it.
    fn compacted_since(&self, requested: Revision) -> Revision {
        in_coroutine(|| self.compacted_since_here(requested))
    }

    fn compacted_since_here(&self, requested: Revision) -> Revision {
        let body = json!({"create_request": {
            "key": b64(self.health_key.as_bytes()),
            "start_revision": requested.max(1).to_string(),
        }});
        if let Ok((stream, 200, _)) = self.open("/v3/watch", &body, Some(HEALTH_TIMEOUT), false) {
            let mut lines = JsonLines::new(stream);
            // The answer to the create, then the cancellation.
            for _ in 0..2 {
                let Some(message) = lines.next() else { break };
                let found = number(&message["result"]["compact_revision"]);
                if found > 0 {
                    self.compacted.fetch_max(found, Ordering::Relaxed);
                    break;
                }
            }
        }
        // The refusal itself proves this much.
        self.compacted.load(Ordering::Relaxed).max(requested + 1)
    }

    /// Maps the gRPC errors a read at a revision can meet.
    fn revision_error(&self, e: CallError, requested: Revision) -> StorageError {
        match e {
            CallError::Grpc(m) if m.contains(ERR_COMPACTED) => StorageError::Compacted {
                requested,
                oldest: self.compacted_since(requested),
            },
            CallError::Grpc(m) if m.contains(ERR_FUTURE_REV) => StorageError::FutureRevision {
                requested,
                current: self.current_revision(),
            },
            other => other.into(),
        }
    }

    /// A txn "if `mod_revision == expected` (and the key exists) then `op`, else read the key":
    /// the op's answer, or the error a failed comparison means.
    fn guarded(&self, key: &str, expected: Revision, op: Value) -> Result<Value, StorageError> {
        let k = b64(key.as_bytes());
        let answer = self.call(
            "/v3/kv/txn",
            json!({
                "compare": [
                    {"key": k, "target": "MOD", "result": "EQUAL", "mod_revision": expected.to_string()},
                    {"key": k, "target": "CREATE", "result": "GREATER", "create_revision": "0"},
                ],
                "success": [op],
                "failure": [{"request_range": {"key": k}}],
            }),
        )?;
        if answer["succeeded"] == true {
            return Ok(answer);
        }
        let current = kvs(&answer["responses"][0]["response_range"]["kvs"])?;
        match current.into_iter().next() {
            Some(current) => Err(StorageError::Conflict { current }),
            None => Err(StorageError::NotFound),
        }
    }
}

impl Storage for EtcdStore {
    fn current_revision(&self) -> Revision {
        let body = json!({"key": b64(self.health_key.as_bytes()), "count_only": true});
        match self.call("/v3/kv/range", body) {
            Ok(answer) => number(&answer["header"]["revision"]),
            Err(_) => self.revision.load(Ordering::Relaxed),
        }
    }

    fn compacted_revision(&self) -> Revision {
        self.compacted.load(Ordering::Relaxed)
    }

    fn get(&self, key: &str) -> Result<Option<KeyValue>, StorageError> {
        let answer = self.call("/v3/kv/range", json!({"key": b64(key.as_bytes())}))?;
        Ok(kvs(&answer["kvs"])?.into_iter().next())
    }

    fn list(&self, prefix: &str) -> Result<(Vec<KeyValue>, Revision), StorageError> {
        Ok(self.range(prefix, 0)?)
    }

    fn list_at(&self, prefix: &str, revision: Revision) -> Result<Vec<KeyValue>, StorageError> {
        self.range(prefix, revision.max(1))
            .map(|(items, _)| items)
            .map_err(|e| self.revision_error(e, revision))
    }

    // ANCHOR: etcd_create
    fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue, StorageError> {
        let k = b64(key.as_bytes());
        let answer = self.call(
            "/v3/kv/txn",
            json!({
                "compare": [{"key": k, "target": "CREATE", "result": "EQUAL", "create_revision": "0"}],
                "success": [{"request_put": {"key": k, "value": b64(&value)}}],
            }),
        )?;
        if answer["succeeded"] != true {
            return Err(StorageError::AlreadyExists);
        }
        let revision = number(&answer["header"]["revision"]);
        Ok(KeyValue {
            key: key.to_string(),
            value: Arc::new(value),
            create_revision: revision,
            mod_revision: revision,
        })
    }
    // ANCHOR_END: etcd_create

    fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        expected: Revision,
    ) -> Result<KeyValue, StorageError> {
        let put = json!({"request_put": {"key": b64(key.as_bytes()), "value": b64(&value), "prev_kv": true}});
        let answer = self.guarded(key, expected, put)?;
        let prev = kv(&answer["responses"][0]["response_put"]["prev_kv"])?;
        Ok(KeyValue {
            key: key.to_string(),
            value: Arc::new(value),
            create_revision: prev.create_revision,
            mod_revision: number(&answer["header"]["revision"]),
        })
    }

    fn delete(&self, key: &str, expected: Option<Revision>) -> Result<KeyValue, StorageError> {
        let delete = json!({"key": b64(key.as_bytes()), "prev_kv": true});
        let (answer, deleted) = match expected {
            Some(expected) => {
                let answer =
                    self.guarded(key, expected, json!({"request_delete_range": delete}))?;
                let deleted = answer["responses"][0]["response_delete_range"].clone();
                (answer, deleted)
            }
            None => {
                let answer = self.call("/v3/kv/deleterange", delete)?;
                (answer.clone(), answer)
            }
        };
        let prev = kvs(&deleted["prev_kvs"])?
            .into_iter()
            .next()
            .ok_or(StorageError::NotFound)?;
        Ok(KeyValue {
            mod_revision: number(&answer["header"]["revision"]),
            ..prev
        })
    }

    // ANCHOR: etcd_watch
    fn watch(&self, prefix: &str, after: Revision) -> Result<Watcher, StorageError> {
        // etcd would accept the watch and cancel it a moment later; asking first makes a
        // compacted start an error here, as the embedded store's is.
        let probe = json!({"key": b64(self.health_key.as_bytes()), "count_only": true,
                           "revision": after.max(1).to_string()});
        match self.call("/v3/kv/range", probe) {
            Ok(_) => {}
            // For a revision still to come etcd's watch waits, as the embedded store's does.
            Err(CallError::Grpc(m)) if m.contains(ERR_FUTURE_REV) => {}
            Err(e) => return Err(self.revision_error(e, after)),
        }
        let (key, range_end) = prefix_range(prefix);
        let body = json!({"create_request": {
            "key": key,
            "range_end": range_end,
            "start_revision": (after + 1).to_string(),
            "prev_kv": true,
            "progress_notify": true,
        }});
        // No read timeout: a quiet watch is silent until etcd's progress notification, minutes
        // apart. It ends when its watcher is dropped, which shuts the socket down.
        let (lines, handle) = in_coroutine(|| {
            let (stream, status, handle) = self.open("/v3/watch", &body, None, true)?;
            let mut lines = JsonLines::new(stream);
            match lines.next() {
                Some(created) if status == 200 && created["result"]["created"] == true => {
                    Ok((lines, handle))
                }
                Some(answer) => Err(CallError::Grpc(grpc_message(&answer))),
                None => Err(CallError::Unreachable(lines.why_ended())),
            }
        })?;
        let (tx, watcher) = watch_channel();
        let feed = Arc::new(WatchFeed {
            state: Mutex::new(Some((tx, after))),
        });
        self.feeds.lock().unwrap().push(Arc::clone(&feed));
        let compacted = Arc::clone(&self.compacted);
        may::go!(move || feed.run(lines, &compacted));
        Ok(watcher.on_drop(move || {
            if let Some(socket) = handle {
                let _ = socket.shutdown(std::net::Shutdown::Both);
            }
        }))
    }
    // ANCHOR_END: etcd_watch

    fn compact(&self, revision: Revision) {
        let body = json!({"revision": revision.to_string()});
        match self.call("/v3/kv/compaction", body) {
            Ok(_) => {
                self.compacted.fetch_max(revision, Ordering::Relaxed);
            }
            // Someone compacted past it already.
            Err(CallError::Grpc(m)) if m.contains(ERR_COMPACTED) => {
                self.compacted.fetch_max(revision, Ordering::Relaxed);
            }
            Err(e) => log::warn!("storage: compacting etcd to {revision}: {e}"),
        }
    }

    fn notify_progress(&self) {
        self.feeds
            .lock()
            .unwrap()
            .retain(|feed| feed.notify_progress());
    }

    fn check_health(&self) -> Result<(), StorageError> {
        self.call_with(
            "/v3/kv/range",
            json!({"key": b64(self.health_key.as_bytes())}),
            HEALTH_TIMEOUT,
        )
        .map(|_| ())
        .map_err(|e| StorageError::Unavailable(format!("error getting data from etcd: {e}")))
    }
}

/// One watch's side of the store: the sender, and the revision the watcher has been brought up
/// to. Both sit under one lock, so a progress message never overtakes an event it counts.
struct WatchFeed {
    /// `None` once the watch has ended.
    state: Mutex<Option<(WatchSender, Revision)>>,
}

impl WatchFeed {
    // ANCHOR: etcd_watch_loop
    /// The watch's coroutine: every message etcd sends, until the stream or the watcher ends.
    fn run(&self, mut lines: JsonLines, compacted: &AtomicU64) {
        while let Some(message) = lines.next() {
            let result = &message["result"];
            if result["canceled"] == true || message.get("error").is_some() {
                compacted.fetch_max(number(&result["compact_revision"]), Ordering::Relaxed);
                break;
            }
            let mut state = self.state.lock().unwrap();
            let Some((tx, revision)) = state.as_mut() else {
                break;
            };
            let delivered = match result["events"].as_array() {
                Some(events) => events.iter().all(|e| match watch_event(e) {
                    Ok(event) => {
                        *revision = event.kv.mod_revision;
                        tx.send(WatchMessage::Event(event))
                    }
                    Err(why) => {
                        log::warn!("storage: etcd watch event not understood: {why}");
                        false
                    }
                }),
                // etcd's progress notification: nothing more under the prefix up to here.
                None => {
                    *revision = (*revision).max(number(&result["header"]["revision"]));
                    tx.send(WatchMessage::Progress(*revision))
                }
            };
            if !delivered {
                break;
            }
        }
        // Dropping the sender ends the watcher's stream; the client then watches again.
        self.state.lock().unwrap().take();
    }
    // ANCHOR_END: etcd_watch_loop

    /// Tells the watcher how far it has been brought, and whether the watch is still open.
    ///
    /// That is the revision of the last event or progress notification etcd sent this watch,
    /// not etcd's newest revision: an event before that one may still be on its way.
    fn notify_progress(&self) -> bool {
        let mut state = self.state.lock().unwrap();
        let alive = match state.as_ref() {
            Some((tx, revision)) => tx.send(WatchMessage::Progress(*revision)),
            None => false,
        };
        if !alive {
            state.take();
        }
        alive
    }
}

/// The messages of a streamed gateway answer: one JSON object a line, whatever the chunks.
struct JsonLines {
    body: ResponseBody,
    buf: Vec<u8>,
}

impl JsonLines {
    fn new(body: ResponseBody) -> JsonLines {
        JsonLines {
            body,
            buf: Vec::new(),
        }
    }

    /// The next message, or `None` at the end of the stream or on a line that is not JSON.
    fn next(&mut self) -> Option<Value> {
        loop {
            if let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=end).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return serde_json::from_slice(&line).ok();
            }
            let chunk = self.body.next_chunk()?;
            self.buf.extend_from_slice(&chunk);
        }
    }

    fn why_ended(&self) -> String {
        self.body
            .error
            .clone()
            .unwrap_or_else(|| "etcd ended the watch before creating it".into())
    }
}

/// Runs `f` in a coroutine and waits for it there. A may socket used from a plain thread (the main
/// thread while the server starts, a test) puts its timeouts in the worker's timer list while the
/// worker itself uses that list, which corrupts it; inside a coroutine only the worker touches it.
fn in_coroutine<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if may::coroutine::is_coroutine() {
        return f();
    }
    may::coroutine::scope(|scope| {
        // SAFETY: the scope joins the coroutine before it returns, so what `f` borrows outlives it.
        unsafe { scope.spawn(f) }.join()
    })
}

fn b64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// etcd's JSON numbers: 64-bit ones are strings, and a missing one is 0.
fn number(v: &Value) -> u64 {
    match v {
        Value::String(s) => s.parse().unwrap_or(0),
        other => other.as_u64().unwrap_or(0),
    }
}

/// The text of a gateway error: `{"error": ..., "message": ..., "code": 11}`.
fn grpc_message(answer: &Value) -> String {
    let body = answer
        .get("error")
        .filter(|e| e.is_object())
        .unwrap_or(answer);
    body["message"]
        .as_str()
        .or(body["error"].as_str())
        .unwrap_or("etcd answered an error without a message")
        .trim_start_matches("etcdserver: ")
        .to_string()
}

/// The key and `range_end` that cover every key starting with `prefix` (clientv3's
/// `GetPrefixRangeEnd`): the prefix with its last byte below 0xff incremented.
fn prefix_range(prefix: &str) -> (String, String) {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(&last) = end.last() {
        if last < 0xff {
            *end.last_mut().unwrap() += 1;
            return (b64(prefix.as_bytes()), b64(&end));
        }
        end.pop();
    }
    // No such byte (the empty prefix): from the first key to the end, etcd's "\0" to "\0".
    (b64(b"\0"), b64(b"\0"))
}

fn kv(v: &Value) -> Result<KeyValue, CallError> {
    let bytes = |field: &str| {
        BASE64.decode(v[field].as_str().unwrap_or("")).map_err(|e| {
            CallError::Unreachable(format!("etcd sent a {field} that is not base64: {e}"))
        })
    };
    if !v.is_object() {
        return Err(CallError::Unreachable(
            "etcd sent no key-value where one was due".into(),
        ));
    }
    let key = String::from_utf8(bytes("key")?)
        .map_err(|_| CallError::Unreachable("etcd sent a key that is not UTF-8".into()))?;
    Ok(KeyValue {
        key,
        value: Arc::new(bytes("value")?),
        create_revision: number(&v["create_revision"]),
        mod_revision: number(&v["mod_revision"]),
    })
}

fn kvs(v: &Value) -> Result<Vec<KeyValue>, CallError> {
    v.as_array()
        .map_or(Ok(Vec::new()), |items| items.iter().map(kv).collect())
}

/// One watch event as the registries know it. For a delete, etcd's `kv` holds only the key and
/// the revision of the delete; the value is the one before (`prev_kv`), as kube's watcher reports.
fn watch_event(e: &Value) -> Result<Event, String> {
    let current = kv(&e["kv"]).map_err(|e| e.to_string())?;
    let prev_kv = match e.get("prev_kv") {
        Some(prev) => Some(kv(prev).map_err(|e| e.to_string())?),
        None => None,
    };
    match e["type"].as_str().unwrap_or("PUT") {
        "DELETE" => {
            let last = prev_kv.clone().ok_or("a delete without prev_kv")?;
            Ok(Event {
                kind: EventType::Deleted,
                kv: KeyValue {
                    mod_revision: current.mod_revision,
                    ..last
                },
                prev_kv,
            })
        }
        "PUT" => Ok(Event {
            // kube's `IsCreate`: a key's first version has its creation as its last change.
            kind: if current.create_revision == current.mod_revision {
                EventType::Added
            } else {
                EventType::Modified
            },
            kv: current,
            prev_kv,
        }),
        other => Err(format!("unknown event type {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_http_urls_with_a_default_port() {
        let ep = |h: &str, p| Endpoint {
            host: h.into(),
            port: p,
        };
        assert_eq!(
            parse_server("http://127.0.0.1:2379"),
            Ok(ep("127.0.0.1", 2379))
        );
        assert_eq!(parse_server("http://etcd-0/"), Ok(ep("etcd-0", 2379)));
        assert_eq!(parse_server("http://[::1]:12379"), Ok(ep("::1", 12379)));
        assert_eq!(parse_server("http://[::1]"), Ok(ep("::1", 2379)));
        assert!(parse_server("https://127.0.0.1:2379")
            .unwrap_err()
            .contains("https is not supported"));
        assert!(parse_server("127.0.0.1:2379").is_err());
        assert!(parse_server("http://h:port").is_err());
        assert!(parse_server("http://").is_err());
    }

    #[test]
    fn a_prefix_is_a_range_to_its_successor() {
        let decoded = |p: &str| {
            let (k, e) = prefix_range(p);
            (BASE64.decode(k).unwrap(), BASE64.decode(e).unwrap())
        };
        assert_eq!(
            decoded("/registry/pods/"),
            (b"/registry/pods/".to_vec(), b"/registry/pods0".to_vec())
        );
        assert_eq!(decoded(""), (b"\0".to_vec(), b"\0".to_vec()));
        // What etcd answers: base64 keys and values, revisions as strings.
        assert_eq!(prefix_range("/a/").0, "L2Ev");
    }

    #[test]
    fn key_values_come_as_base64_and_strings() {
        let v = json!({"key": "L2EvYg==", "create_revision": "2", "mod_revision": "5",
                       "version": "3", "value": "e30="});
        let kv = kv(&v).unwrap();
        assert_eq!(kv.key, "/a/b");
        assert_eq!(kv.value.as_slice(), b"{}");
        assert_eq!((kv.create_revision, kv.mod_revision), (2, 5));
        // An empty value is left out of the JSON, as every default is.
        let empty = super::kv(&json!({"key": "L2E=", "create_revision": "7", "mod_revision": "7"}));
        assert_eq!(empty.unwrap().value.as_slice(), b"");
        assert!(super::kv(&json!({"key": "not base64!"})).is_err());
        assert!(super::kv(&Value::Null).is_err());
        assert_eq!(kvs(&Value::Null), Ok(Vec::new()));
        assert_eq!(
            (
                number(&json!("42")),
                number(&Value::Null),
                number(&json!(7))
            ),
            (42, 0, 7)
        );
    }

    #[test]
    fn watch_events_map_to_added_modified_deleted() {
        let created = json!({"kv": {"key": "L2E=", "create_revision": "5", "mod_revision": "5", "value": "MQ=="}});
        let e = watch_event(&created).unwrap();
        assert_eq!(
            (e.kind, e.kv.mod_revision, e.prev_kv),
            (EventType::Added, 5, None)
        );

        let modified = json!({
            "kv": {"key": "L2E=", "create_revision": "5", "mod_revision": "6", "value": "Mg=="},
            "prev_kv": {"key": "L2E=", "create_revision": "5", "mod_revision": "5", "value": "MQ=="},
        });
        let e = watch_event(&modified).unwrap();
        assert_eq!(e.kind, EventType::Modified);
        assert_eq!(e.prev_kv.unwrap().value.as_slice(), b"1");

        let deleted = json!({
            "type": "DELETE",
            "kv": {"key": "L2E=", "mod_revision": "7"},
            "prev_kv": {"key": "L2E=", "create_revision": "5", "mod_revision": "6", "value": "Mg=="},
        });
        let e = watch_event(&deleted).unwrap();
        assert_eq!(e.kind, EventType::Deleted);
        // The last value, at the revision of the delete.
        assert_eq!(
            (
                e.kv.value.as_slice(),
                e.kv.mod_revision,
                e.kv.create_revision
            ),
            (&b"2"[..], 7, 5)
        );

        let no_prev = json!({"type": "DELETE", "kv": {"key": "L2E=", "mod_revision": "7"}});
        assert!(watch_event(&no_prev).is_err());
        assert!(watch_event(&json!({"type": "BOGUS", "kv": {"key": "L2E="}})).is_err());
    }

    #[test]
    fn gateway_errors_keep_etcds_text() {
        let answer = json!({"error": "etcdserver: mvcc: required revision has been compacted",
                            "message": "etcdserver: mvcc: required revision has been compacted",
                            "code": 11});
        let m = grpc_message(&answer);
        assert_eq!(m, "mvcc: required revision has been compacted");
        assert!(m.contains(ERR_COMPACTED));
        // A streamed answer nests it.
        let streamed = json!({"error": {"grpc_code": 11, "message": "mvcc: required revision is a future revision"}});
        assert!(grpc_message(&streamed).contains(ERR_FUTURE_REV));
        assert_eq!(
            StorageError::from(CallError::Grpc("no leader".into())),
            StorageError::Unavailable("etcdserver: no leader".into())
        );
    }

    #[test]
    fn an_unreachable_etcd_is_an_error_not_a_panic() {
        // Port 1 on localhost refuses at once.
        let err = EtcdStore::new(&["http://127.0.0.1:1".into()], "/registry")
            .err()
            .unwrap();
        assert!(err.contains("connect"), "{err}");
        assert!(EtcdStore::new(&["https://127.0.0.1:2379".into()], "/registry").is_err());
    }
}
