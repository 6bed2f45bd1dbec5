//! `BuildInsecureHandlerChain` of kube-apiserver v1.13 (seed 001): the chain behind
//! `--insecure-port`, plain HTTP on (by default) loopback.
//!
//! It has no authentication and no authorization filter. Whoever reaches the port is
//! `InsecureSuperuser`: `system:unsecured` in `system:masters`, the group every RBAC rule allows.
//! The thinking was that only a process on the same machine can reach 127.0.0.1. That ended up
//! being untrue often enough (a `--insecure-bind-address=0.0.0.0`, a pod on the host network, a
//! proxy on the node forwarding to localhost) that v1.20 stopped serving it and v1.24 removed the
//! flags: book chapter 6.

use std::sync::Arc;

use super::maxinflight::WithMaxInFlightLimit;
use super::timeout::WithTimeoutForNonLongRunningRequests;
use super::{InFlight, WithPanicRecovery, WithRequestInfo, WithWaitGroup};
use crate::config::authentication::UserInfo;
use crate::config::Config;
use crate::http::{Handler, Request, Response};

/// `server.InsecureSuperuser`: every request is this user.
struct WithInsecureSuperuser {
    next: Arc<dyn Handler>,
}

impl Handler for WithInsecureSuperuser {
    fn serve(&self, req: &mut Request) -> Response {
        req.context.user = UserInfo {
            name: "system:unsecured".into(),
            groups: vec!["system:masters".into(), "system:authenticated".into()],
            ..Default::default()
        };
        self.next.serve(req)
    }
}

// ANCHOR: build_insecure_handler_chain
/// The servers behind the insecure chain, innermost first: no authorization, a fixed superuser.
pub fn build_insecure_handler_chain(
    servers: Arc<dyn Handler>,
    config: &Config,
    in_flight: Arc<InFlight>,
) -> Arc<dyn Handler> {
    let h: Arc<dyn Handler> = Arc::new(WithInsecureSuperuser { next: servers });
    let h = Arc::new(WithTimeoutForNonLongRunningRequests {
        request_timeout: config.request_timeout,
        audit: config.audit.clone(),
        deadlines: Arc::clone(&config.request_deadlines),
        metrics: Arc::clone(&config.metrics),
        next: h,
    });
    let h = Arc::new(WithMaxInFlightLimit::new(
        config.max_requests_inflight,
        config.max_mutating_requests_inflight,
        Arc::clone(&config.metrics),
        h,
    ));
    let h = Arc::new(WithWaitGroup { in_flight, next: h });
    let h = Arc::new(WithRequestInfo { next: h });
    Arc::new(WithPanicRecovery { next: h })
}
// ANCHOR_END: build_insecure_handler_chain
