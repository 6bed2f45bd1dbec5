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
//!   socket) to close idle or stalled connections, send watchers a progress notification (so a
//!   watch sees its `timeoutSeconds` pass), and move graceful termination along:
//!
//! ```text
//! SIGTERM -> ShutdownInitiated (/readyz 500) -> --shutdown-delay-duration
//!   -> AfterShutdownDelayDuration -> NotAcceptingNewRequest (listener closed, idle
//!      connections closed, watches end) -> InFlightRequestsDrained
//!   -> HTTPServerStoppedListening (every connection gone) -> exit 0
//! ```

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::signals::SIGNAL_BYTE;
use crate::http::conn::Connections;
use crate::server::filters::InFlight;
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
    /// `--shutdown-delay-duration`.
    pub shutdown_delay: Duration,
    /// How long connections may linger after the listener closed before they are cut.
    pub drain_timeout: Duration,
    /// Our own address, to connect to once so the accept loop wakes and sees it should stop.
    pub listen_addr: SocketAddr,
    /// Where to say "done" (the control socket).
    pub done: UnixStream,
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
            if buf[..n].contains(&TERMINATE) && graceful.lifecycle.shutdown_initiated.fire() {
                shutdown_at = Some(Instant::now());
            }
            let now = Instant::now();
            graceful.connections.reap(now);
            graceful.storage.notify_progress();
            let Some(began) = shutdown_at else { continue };
            let l = &graceful.lifecycle;
            if now >= began + graceful.shutdown_delay && l.after_shutdown_delay_duration.fire() {
                l.not_accepting_new_requests.fire();
                stopped_accepting_at = Some(now);
                graceful.connections.start_draining();
                // Wake the accept loop, which then sees the signal and drops the listener.
                let _ = may::net::TcpStream::connect(graceful.listen_addr);
            }
            let Some(stopped) = stopped_accepting_at else {
                continue;
            };
            if graceful.in_flight.count() == 0 {
                l.in_flight_requests_drained.fire();
            }
            let overdue = now >= stopped + graceful.drain_timeout;
            if overdue {
                graceful.connections.start_draining_all();
            }
            if (l.in_flight_requests_drained.fired() || overdue) && graceful.connections.is_empty()
            {
                l.http_server_stopped_listening.fire();
                let _ = (&graceful.done).write_all(&[DONE_BYTE]);
                return;
            }
        }
    });
}
// ANCHOR_END: heartbeat
