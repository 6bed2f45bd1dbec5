//! The lifecycle signals of a server (book chapter 6): `k8s.io/apiserver/pkg/server/lifecycle_signals.go`.
//!
//! Each signal fires once and stays fired. The run loop fires them in order during graceful
//! shutdown, and the parts of the server that care read them: `/readyz` fails once
//! `shutdown_initiated` fires, watches end at `not_accepting_new_requests`, and the process exits
//! after `in_flight_requests_drained`.

use std::sync::atomic::{AtomicBool, Ordering};

pub struct Signal {
    pub name: &'static str,
    fired: AtomicBool,
}

impl Signal {
    const fn new(name: &'static str) -> Signal {
        Signal {
            name,
            fired: AtomicBool::new(false),
        }
    }

    /// Fires the signal; returns true the first time only.
    pub fn fire(&self) -> bool {
        let first = !self.fired.swap(true, Ordering::SeqCst);
        if first {
            // klog's `InfoS("[graceful-termination] shutdown event", "name", ...)`, at -v=1.
            log::info!("[graceful-termination] shutdown event name={:?}", self.name);
        }
        first
    }

    pub fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }
}

// ANCHOR: lifecycle_signals
pub struct LifecycleSignals {
    /// Every path and discovery document is installed; fired as Run begins.
    pub mux_and_discovery_complete: Signal,
    /// SIGTERM or SIGINT arrived.
    pub shutdown_initiated: Signal,
    /// `--shutdown-delay-duration` has passed since then (load balancers saw /readyz fail).
    pub after_shutdown_delay_duration: Signal,
    /// The pre-shutdown hooks, started at `shutdown_initiated`, have all returned.
    pub pre_shutdown_hooks_stopped: Signal,
    /// The delay has passed and the pre-shutdown hooks stopped: no new requests are taken.
    pub not_accepting_new_requests: Signal,
    /// Every request that was being served has been answered.
    pub in_flight_requests_drained: Signal,
    /// The listener is closed: at `not_accepting_new_requests`, or with
    /// `--shutdown-send-retry-after` only at `in_flight_requests_drained`.
    pub http_server_stopped_listening: Signal,
    /// `/readyz` has answered 200 at least once.
    pub has_been_ready: Signal,
}
// ANCHOR_END: lifecycle_signals

impl Default for LifecycleSignals {
    fn default() -> Self {
        LifecycleSignals {
            mux_and_discovery_complete: Signal::new("MuxAndDiscoveryComplete"),
            shutdown_initiated: Signal::new("ShutdownInitiated"),
            after_shutdown_delay_duration: Signal::new("AfterShutdownDelayDuration"),
            pre_shutdown_hooks_stopped: Signal::new("PreShutdownHooksStopped"),
            not_accepting_new_requests: Signal::new("NotAcceptingNewRequest"),
            in_flight_requests_drained: Signal::new("InFlightRequestsDrained"),
            http_server_stopped_listening: Signal::new("HTTPServerStoppedListening"),
            has_been_ready: Signal::new("HasBeenReady"),
        }
    }
}
