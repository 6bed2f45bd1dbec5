//! One connection's life: read a request, hand it to the handler, write the answer, repeat.
//!
//! Timeouts are not may timers. may's timer thread resumes a timed-out coroutine *on the timer
//! thread*, beside the worker, which the rest of this server is not written for. Instead every
//! connection publishes a deadline in [`Connections`], and one heartbeat coroutine on the worker
//! (driven by the main thread's clock, see `run::lifecycle`) shuts down the socket of any
//! connection past its deadline. The blocked read or write then fails, on the worker, and the
//! connection's coroutine ends normally. This is also how Go's `http.Server.Shutdown` works: it
//! closes idle connections and lets busy ones finish.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rustls::pki_types::CertificateDer;

use super::request::{ReadOutcome, RequestReader};
use super::response::{reason_phrase, Body, Response};
use super::Handler;
use crate::util::time::http_date;

/// How long a connection may sit between requests, or take to send one, before we hang up
/// (Go's `IdleTimeout` and `ReadTimeout` folded into one clock), and how long one write may stall.
#[derive(Clone, Copy, Debug)]
pub struct ConnLimits {
    pub idle_timeout: Duration,
    pub write_timeout: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            idle_timeout: Duration::from_secs(90),
            write_timeout: Duration::from_secs(60),
        }
    }
}

struct Entry {
    fd: RawFd,
    /// `None` while a handler is working or a watch waits for its next event.
    deadline: Option<Instant>,
    /// Between requests: the state in which graceful shutdown may close it at once.
    idle: bool,
}

/// Every open connection of one server, as Go's `http.Server` keeps `activeConn`.
#[derive(Default)]
pub struct Connections {
    inner: Mutex<ConnectionsInner>,
}

#[derive(Default)]
struct ConnectionsInner {
    /// Bumped by every heartbeat. The heartbeat runs only when the worker gets back to epoll, so
    /// a value that stops moving means something is keeping the worker from it.
    epoch: u64,
    next_id: u64,
    open: HashMap<u64, Entry>,
    draining: bool,
    /// The drain took too long: cut every connection, busy or not.
    cut_all: bool,
}

impl Connections {
    /// Registers a socket; the returned guard unregisters it when dropped, which must happen
    /// *before* the socket closes so that a reused fd number is never shut down by mistake.
    pub fn register(self: &Arc<Self>, fd: RawFd) -> ConnGuard {
        let mut inner = self.inner.lock().unwrap();
        inner.next_id += 1;
        let id = inner.next_id;
        inner.open.insert(
            id,
            Entry {
                fd,
                deadline: None,
                idle: false,
            },
        );
        ConnGuard {
            id,
            connections: Arc::clone(self),
        }
    }

    pub fn len(&self) -> usize {
        self.inner.lock().unwrap().open.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Shuts down every connection whose deadline has passed; when draining, every idle one too.
    /// Called by the heartbeat coroutine.
    pub fn reap(&self, now: Instant) {
        let mut inner = self.inner.lock().unwrap();
        inner.epoch += 1;
        for e in inner.open.values() {
            let expired = e.deadline.is_some_and(|d| d <= now);
            if expired || inner.cut_all || (inner.draining && e.idle) {
                // SAFETY: the fd is open: its entry is removed before the socket is dropped, and
                // both happen on the worker thread that is running this loop.
                unsafe { libc::shutdown(e.fd, libc::SHUT_RDWR) };
            }
        }
    }

    /// Graceful shutdown has begun: idle connections are closed on the next heartbeat, busy ones
    /// after their current response.
    pub fn start_draining(&self) {
        self.inner.lock().unwrap().draining = true;
    }

    /// The last resort of a shutdown whose connections will not finish.
    pub fn start_draining_all(&self) {
        let mut inner = self.inner.lock().unwrap();
        inner.draining = true;
        inner.cut_all = true;
    }

    fn draining(&self) -> bool {
        self.inner.lock().unwrap().draining
    }

    fn epoch(&self) -> u64 {
        self.inner.lock().unwrap().epoch
    }
}

pub struct ConnGuard {
    id: u64,
    connections: Arc<Connections>,
}

impl ConnGuard {
    fn set(&self, deadline: Option<Duration>, idle: bool) {
        let mut inner = self.connections.inner.lock().unwrap();
        if let Some(e) = inner.open.get_mut(&self.id) {
            e.deadline = deadline.map(|d| Instant::now() + d);
            e.idle = idle;
        }
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.connections.inner.lock().unwrap().open.remove(&self.id);
    }
}

/// What the transport knows of the client beyond its bytes.
pub trait PeerCertificates {
    /// The certificate chain the client presented, once the TLS handshake is over.
    fn peer_certificates(&self) -> Option<Arc<Vec<CertificateDer<'static>>>>;
}

impl<S: Read + Write> PeerCertificates for rustls::StreamOwned<rustls::ServerConnection, S> {
    fn peer_certificates(&self) -> Option<Arc<Vec<CertificateDer<'static>>>> {
        self.conn
            .peer_certificates()
            .filter(|chain| !chain.is_empty())
            .map(|chain| Arc::new(chain.to_vec()))
    }
}

/// Serves requests on one stream until either side closes it.
pub fn serve_connection<S: Read + Write + PeerCertificates>(
    stream: &mut S,
    remote_addr: Option<SocketAddr>,
    handler: &dyn Handler,
    guard: &ConnGuard,
    limits: ConnLimits,
) {
    let mut reader = RequestReader::default();
    let mut starvation = StarvationGuard::new(guard.connections.epoch());
    // Known once the first request has been read, which is when the handshake has finished;
    // every request of the connection shares the one chain.
    let mut peer_certificates = None;
    loop {
        guard.set(Some(limits.idle_timeout), true);
        let outcome = reader.read(stream, |s| {
            stream_write(s, b"HTTP/1.1 100 Continue\r\n\r\n")
        });
        guard.set(None, false);
        let mut req = match outcome {
            ReadOutcome::Request(r) => r,
            ReadOutcome::Closed | ReadOutcome::Failed(_) => return,
            ReadOutcome::Bad(e) => {
                log::debug!("bad request from {remote_addr:?}: {}", e.message);
                let status = crate::scheme::meta::Status::failure(e.status, &e.message);
                let resp = Response::json(e.status, &status);
                let _ = write_response(stream, resp, false, 1, true, guard, limits);
                return;
            }
        };
        req.remote_addr = remote_addr;
        if peer_certificates.is_none() {
            peer_certificates = stream.peer_certificates();
        }
        req.peer_certificates = peer_certificates.clone();
        let hogging = starvation.served(guard.connections.epoch());
        if hogging {
            log::warn!("closing the connection of {remote_addr:?}: its back-to-back requests keep every other connection waiting");
        }
        let close = req.wants_close() || guard.connections.draining() || hogging;
        let head_only = req.method == "HEAD";
        let mut resp = handler.serve(&mut req);
        // A handler may ask for the connection to end after its answer, as Go's net/http honours.
        let asked = resp
            .headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("connection") && v.eq_ignore_ascii_case("close"));
        resp.headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("connection"));
        let close = close || asked;
        if write_response(
            stream,
            resp,
            head_only,
            req.minor_version,
            close,
            guard,
            limits,
        )
        .is_err()
            || close
        {
            return;
        }
    }
}

// ANCHOR: starvation_guard
/// Why there is no yield after each response: may's worker polls epoll only once its run queue
/// is empty, and a coroutine that yields goes straight back on that queue. With a client that
/// always has its next request ready, the queue never empties and every other connection
/// waits (with 32 wrk connections, a yield after each response made p99 latency 340 ms instead
/// of 2 ms). Without the yield a connection parks in epoll whenever its next request has not
/// arrived yet, which for a request-response client is nearly always. A client that pipelines
/// without pause would still keep the worker to itself, so this guard hangs up on a connection
/// that has been served many requests in a row while the heartbeat could not run.
struct StarvationGuard {
    epoch: u64,
    since: Instant,
    served: u32,
}

/// Requests in a row, and time without a heartbeat (five of them), that make a connection a hog.
const HOG_REQUESTS: u32 = 64;
const HOG_TIME: Duration = Duration::from_millis(500);

impl StarvationGuard {
    fn new(epoch: u64) -> StarvationGuard {
        StarvationGuard {
            epoch,
            since: Instant::now(),
            served: 0,
        }
    }

    /// Records one request; true if this connection is starving the worker.
    fn served(&mut self, epoch: u64) -> bool {
        if epoch != self.epoch {
            *self = StarvationGuard::new(epoch);
        }
        self.served += 1;
        self.served >= HOG_REQUESTS && self.since.elapsed() >= HOG_TIME
    }
}
// ANCHOR_END: starvation_guard

fn stream_write<S: Write>(stream: &mut S, bytes: &[u8]) -> io::Result<()> {
    stream.write_all(bytes)?;
    stream.flush()
}

fn write_response<S: Write>(
    stream: &mut S,
    resp: Response,
    head_only: bool,
    minor_version: u8,
    close: bool,
    guard: &ConnGuard,
    limits: ConnLimits,
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        resp.status,
        reason_phrase(resp.status)
    );
    for (name, value) in &resp.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Date: {}\r\n", http_date(SystemTime::now())));
    // An HTTP/1.0 client knows no chunked encoding: its stream ends when we close.
    let chunked = matches!(resp.body, Body::Stream(_)) && minor_version >= 1;
    let close = close || (matches!(resp.body, Body::Stream(_)) && !chunked);
    match &resp.body {
        Body::Bytes(b) => head.push_str(&format!("Content-Length: {}\r\n", b.len())),
        Body::Stream(_) if chunked => head.push_str("Transfer-Encoding: chunked\r\n"),
        Body::Stream(_) => {}
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    guard.set(Some(limits.write_timeout), false);
    match resp.body {
        Body::Bytes(body) => {
            let mut out = head.into_bytes();
            if !head_only {
                out.extend_from_slice(&body);
            }
            stream_write(stream, &out)?;
        }
        Body::Stream(mut body) => {
            stream_write(stream, head.as_bytes())?;
            loop {
                guard.set(None, false);
                let next = body.next_chunk();
                guard.set(Some(limits.write_timeout), false);
                let Some(chunk) = next else { break };
                if chunked {
                    let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
                    framed.extend_from_slice(&chunk);
                    framed.extend_from_slice(b"\r\n");
                    stream_write(stream, &framed)?;
                } else {
                    stream_write(stream, &chunk)?;
                }
            }
            if chunked {
                stream_write(stream, b"0\r\n\r\n")?;
            }
        }
    }
    guard.set(None, false);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_a_hog_only_while_the_heartbeat_is_starved() {
        let mut guard = StarvationGuard::new(7);
        for _ in 0..HOG_REQUESTS * 2 {
            assert!(!guard.served(7), "many requests in a short time are fine");
        }
        guard.since -= HOG_TIME;
        assert!(
            guard.served(7),
            "still the same epoch after HOG_TIME: hogging"
        );
        assert!(
            !guard.served(8),
            "the heartbeat ran: the count starts again"
        );
        guard.since -= HOG_TIME;
        assert!(!guard.served(8), "a slow request is not many requests");
    }
}
