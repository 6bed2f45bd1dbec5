//! `WithRetryAfter` (`k8s.io/apiserver/pkg/server/filters/with_retry_after.go`), installed only
//! with `--shutdown-send-retry-after`.
//!
//! Once `NotAcceptingNewRequest` fires the listener stays open until the in-flight requests have
//! drained, and every new request in that window is turned away with a 429 that tells the client
//! to come back in 5 seconds (by then, behind a load balancer, to another server) and to drop
//! this connection. Health probes and metrics scrapes are still answered, and so is the server's
//! own loopback traffic, so that nothing the drain waits on is itself refused.

use std::sync::Arc;

use crate::http::{Handler, Request, Response};
use crate::server::lifecycle_signals::LifecycleSignals;

/// Probes and scrapes go on during the drain.
const PATH_PREFIXES_EXEMPT_FROM_RETRY_AFTER: [&str; 4] =
    ["/readyz", "/livez", "/healthz", "/metrics"];

pub struct WithRetryAfter {
    pub lifecycle: Arc<LifecycleSignals>,
    pub next: Arc<dyn Handler>,
}

/// `isRequestExemptFromRetryAfter`: the loopback client (its user agent, since authentication
/// has not run yet) or an exempt path.
fn is_request_exempt_from_retry_after(req: &Request) -> bool {
    req.header("User-Agent")
        .is_some_and(|ua| ua.starts_with("kube-apiserver/"))
        || PATH_PREFIXES_EXEMPT_FROM_RETRY_AFTER
            .iter()
            .any(|p| req.path.starts_with(p))
}

// ANCHOR: with_retry_after
impl Handler for WithRetryAfter {
    fn serve(&self, req: &mut Request) -> Response {
        if !self.lifecycle.not_accepting_new_requests.fired()
            || is_request_exempt_from_retry_after(req)
        {
            return self.next.serve(req);
        }
        // Go answers with `http.Error`: plain text ending in a newline, not a Status.
        Response::text(
            429,
            "The apiserver is shutting down, please try again later.\n",
        )
        .with_header("X-Content-Type-Options", "nosniff")
        .with_header("Connection", "close")
        .with_header("Retry-After", "5")
    }
}
// ANCHOR_END: with_retry_after

#[cfg(test)]
mod tests {
    use super::*;

    struct Ok200;
    impl Handler for Ok200 {
        fn serve(&self, _req: &mut Request) -> Response {
            Response::text(200, "ok")
        }
    }

    fn serve(filter: &WithRetryAfter, path: &str, ua: Option<&str>) -> Response {
        let mut req = Request {
            method: "GET".into(),
            path: path.into(),
            headers: ua
                .map(|ua| vec![("User-Agent".into(), ua.into())])
                .unwrap_or_default(),
            ..Default::default()
        };
        filter.serve(&mut req)
    }

    #[test]
    fn answers_429_only_once_new_requests_are_refused_and_exempts_probes() {
        let lifecycle = Arc::new(LifecycleSignals::default());
        let filter = WithRetryAfter {
            lifecycle: Arc::clone(&lifecycle),
            next: Arc::new(Ok200),
        };
        assert_eq!(serve(&filter, "/api/v1/pods", None).status, 200);
        lifecycle.not_accepting_new_requests.fire();
        let resp = serve(&filter, "/api/v1/pods", Some("kubectl/v1.37"));
        assert_eq!(resp.status, 429);
        let header = |n: &str| {
            resp.headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(header("Retry-After"), Some("5"));
        assert_eq!(header("Connection"), Some("close"));
        for path in ["/readyz", "/livez/ping", "/healthz", "/metrics"] {
            assert_eq!(serve(&filter, path, None).status, 200, "{path}");
        }
        assert_eq!(
            serve(&filter, "/api/v1/pods", Some("kube-apiserver/v1.37.0")).status,
            200
        );
    }
}
