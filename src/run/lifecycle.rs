//! The clock and the graceful-termination sequence (book chapter 6). Mirrors
//! `preparedGenericAPIServer.Run` / `NonBlockingRun` (seeds 003 and 004), whose goroutines wait on
//! the lifecycle signals and fire the next one.
//!
//! Two loops cooperate:
//! - the **control loop**, on the main OS thread, reads the control socket (signals, a test's
//!   stop request, the worker's "done") and ticks a heartbeat to the worker every 100 ms. It is
//!   the only place that waits on a clock, because may's timers would resume coroutines on may's
//!   timer thread;
//! - the **heartbeat coroutine**, on the worker, wakes at each tick (through epoll, like any
//!   socket) to close idle or stalled connections, time out requests past their deadline
//!   (`--request-timeout`), send watchers a progress notification (so a
//!   watch sees its `timeoutSeconds` pass), and move graceful termination along:
//!
//! ```text
//! MuxAndDiscoveryComplete (as Run begins)
//! SIGTERM -> ShutdownInitiated (/readyz 500) -> pre-shutdown hooks -> PreShutdownHooksStopped
//!         -> --shutdown-delay-duration -> AfterShutdownDelayDuration
//!   both  -> NotAcceptingNewRequest (idle connections closed, watches end; the listener closes
//!            here, or with --shutdown-send-retry-after only after the drain)
//!         -> InFlightRequestsDrained -> HTTPServerStoppedListening (every connection gone)
//!         -> exit 0
//! ```

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::signals::SIGNAL_BYTE;
use crate::http::conn::Connections;
use crate::server::filters::timeout::RequestDeadlines;
use crate::server::filters::InFlight;
use crate::server::generic::{run_pre_shutdown_hooks, PreShutdownHook};
use crate::server::lifecycle_signals::LifecycleSignals;
use crate::storage::Storage;

pub const HEARTBEAT: Duration = Duration::from_millis(100);
const TICK: u8 = b't';
const TERMINATE: u8 = b'T';
/// Written by the worker into the control socket once the server has stopped.
pub const DONE_BYTE: u8 = b'D';

/// How the control loop ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Graceful termination finished: exit 0.
    Stopped,
    /// A second signal arrived before that: exit 1 at once.
    Forced,
}

// ANCHOR: control_loop
/// The main thread's loop: relays the first stop request, ticks the heartbeat, and returns when
/// the worker says it is done, or at a second stop request.
pub fn control_loop(mut control: UnixStream, mut heartbeat: UnixStream) -> Outcome {
    control
        .set_read_timeout(Some(HEARTBEAT))
        .expect("a socket takes a read timeout");
    let mut stops = 0;
    let mut last_tick = Instant::now();
    loop {
        let mut buf = [0u8; 64];
        match control.read(&mut buf) {
            Ok(0) => return Outcome::Forced,
            Ok(n) => {
                for byte in &buf[..n] {
                    match *byte {
                        SIGNAL_BYTE => {
                            stops += 1;
                            if stops > 1 {
                                log::warn!("received a second termination signal, exiting now");
                                return Outcome::Forced;
                            }
                            log::info!("received a termination signal, shutting down gracefully");
                            let _ = heartbeat.write_all(&[TERMINATE]);
                        }
                        DONE_BYTE => return Outcome::Stopped,
                        _ => {}
                    }
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(e) => {
                log::error!("control socket failed: {e}");
                return Outcome::Forced;
            }
        }
        if last_tick.elapsed() >= HEARTBEAT {
            last_tick = Instant::now();
            if heartbeat.write_all(&[TICK]).is_err() {
                return Outcome::Forced;
            }
        }
    }
}
// ANCHOR_END: control_loop

/// What the heartbeat coroutine looks after.
pub struct Graceful {
    pub lifecycle: Arc<LifecycleSignals>,
    pub connections: Arc<Connections>,
    pub in_flight: Arc<InFlight>,
    pub storage: Arc<dyn Storage>,
    /// The deadlines of the requests being served: the heartbeat is their clock.
    pub request_deadlines: Arc<RequestDeadlines>,
    /// Run at `ShutdownInitiated`; `PreShutdownHooksStopped` fires when they have returned.
    pub pre_shutdown_hooks: Vec<Arc<PreShutdownHook>>,
    /// `--shutdown-delay-duration`.
    pub shutdown_delay: Duration,
    /// How long connections may linger after the listener closed before they are cut.
    pub drain_timeout: Duration,
    /// `--shutdown-send-retry-after`: keep listening (and answering 429) until the drain ends.
    pub send_retry_after: bool,
    /// Read by the accept loop: Go's `stopHttpServerCh`.
    pub stop_listening: Arc<AtomicBool>,
    /// Our own address, to connect to once so the accept loop wakes and sees it should stop.
    pub listen_addr: SocketAddr,
    /// The insecure port's address, woken the same way.
    pub insecure_addr: Option<SocketAddr>,
    /// Where to say "done" (the control socket).
    pub done: UnixStream,
}

impl Graceful {
    /// `Server.Shutdown`: close the listener (the accept loop wakes on our own connection and
    /// sees the flag) and the idle connections; busy ones close after their response.
    fn stop_http_server(&self) {
        if !self.stop_listening.swap(true, Ordering::SeqCst) {
            self.connections.start_draining();
            let _ = may::net::TcpStream::connect(self.listen_addr);
            if let Some(addr) = self.insecure_addr {
                let _ = may::net::TcpStream::connect(addr);
            }
        }
    }
}

// ANCHOR: heartbeat
/// Spawns the heartbeat coroutine; `ticks` is the worker's end of the heartbeat socket.
pub fn spawn_heartbeat(ticks: UnixStream, graceful: Graceful) {
    // SAFETY: the fd is a socket we own; may takes it over.
    let mut ticks = unsafe {
        <may::os::unix::net::UnixStream as std::os::fd::FromRawFd>::from_raw_fd(
            std::os::fd::IntoRawFd::into_raw_fd(ticks),
        )
    };
    may::go!(move || {
        let mut shutdown_at: Option<Instant> = None;
        let mut stopped_accepting_at: Option<Instant> = None;
        let mut buf = [0u8; 64];
        loop {
            let n = match ticks.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let l = &graceful.lifecycle;
            if buf[..n].contains(&TERMINATE) && l.shutdown_initiated.fire() {
                shutdown_at = Some(Instant::now());
                // Go runs them while the delay's timer runs; the delay is counted from
                // ShutdownInitiated all the same.
                run_pre_shutdown_hooks(&graceful.pre_shutdown_hooks);
                l.pre_shutdown_hooks_stopped.fire();
            }
            let now = Instant::now();
            graceful.connections.reap(now);
            graceful.request_deadlines.expire(now);
            graceful.storage.notify_progress();
            let Some(began) = shutdown_at else { continue };
            if now >= began + graceful.shutdown_delay {
                l.after_shutdown_delay_duration.fire();
            }
            // New requests stop only once the delay has passed *and* the hooks have stopped.
            if l.after_shutdown_delay_duration.fired()
                && l.pre_shutdown_hooks_stopped.fired()
                && l.not_accepting_new_requests.fire()
            {
                stopped_accepting_at = Some(now);
                if !graceful.send_retry_after {
                    graceful.stop_http_server();
                }
            }
            let Some(stopped) = stopped_accepting_at else {
                continue;
            };
            if graceful.in_flight.count() == 0
                && l.in_flight_requests_drained.fire()
                && graceful.send_retry_after
            {
                graceful.stop_http_server();
            }
            let overdue = now >= stopped + graceful.drain_timeout;
            if overdue {
                graceful.stop_http_server();
                graceful.connections.start_draining_all();
            }
            if (l.in_flight_requests_drained.fired() || overdue)
                && l.http_server_stopped_listening.fired()
                && graceful.connections.is_empty()
            {
                log::info!("[graceful-termination] apiserver is exiting");
                let _ = (&graceful.done).write_all(&[DONE_BYTE]);
                return;
            }
        }
    });
}
// ANCHOR_END: heartbeat
