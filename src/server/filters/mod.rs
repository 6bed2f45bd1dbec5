//! The handler chain (book chapter 3): the filters every request passes before it reaches a
//! server, outermost first, as `DefaultBuildHandlerChain` in `k8s.io/apiserver/pkg/server/config.go`
//! wraps them:
//!
//! ```text
//! audit init -> panic recovery -> request info -> retry-after (with --shutdown-send-retry-after)
//!   -> cache control -> in-flight wait group -> timeout (and request deadline)
//!   -> authentication -> audit -> impersonation -> max-in-flight -> authorization
//!   -> the server chain
//!
//! authentication's 401 -> failed-authentication audit -> unauthorized
//! ```
//!
//! Each filter is a [`Handler`] holding the next one; what a filter learns (the request info,
//! the user) goes into [`RequestContext`], where Go would put it in the `context.Context`.

pub mod audit;
pub mod cache_control;
pub mod impersonation;
pub mod insecure;
pub mod maxinflight;
pub mod request_info;
pub mod retry_after;
pub mod timeout;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::config::authentication::{AuthResult, Authenticator, UserInfo};
use crate::config::authorization::{forbidden_message, Authorizer, Decision};
use crate::config::Config;
use crate::http::{Handler, Request, Response};
use crate::scheme::meta::{GroupResource, StatusError};
use request_info::RequestInfo;

/// What the filters learned about a request.
#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    pub request_info: RequestInfo,
    pub user: UserInfo,
    pub audit_id: String,
    /// Set by impersonation, which also makes it `user`: the audit event's `impersonatedUser`.
    pub impersonated_user: Option<UserInfo>,
    /// What later filters tell the audit event (`audit.AddAuditAnnotation`), such as
    /// authorization's decision.
    pub audit_annotations: Vec<(String, String)>,
}

/// Requests being served right now, for graceful shutdown to wait on (`NonLongRunningRequestWaitGroup`).
/// Watches are long-running and do not count: shutdown ends them instead of waiting.
#[derive(Default)]
pub struct InFlight(AtomicUsize);

impl InFlight {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

struct Finish<'a>(&'a AtomicUsize);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

// ANCHOR: build_handler_chain
/// `DefaultBuildHandlerChain(apiHandler, c *Config)`: wraps the server chain in the filters,
/// innermost first, each configured from the generic config.
pub fn build_handler_chain(
    servers: Arc<dyn Handler>,
    config: &Config,
    in_flight: Arc<InFlight>,
) -> Arc<dyn Handler> {
    let authorizer = Arc::clone(&config.authorizer);
    let h: Arc<dyn Handler> = Arc::new(WithAuthorization {
        authorizer: Arc::clone(&authorizer),
        next: servers,
    });
    let h = Arc::new(maxinflight::WithMaxInFlightLimit::new(
        config.max_requests_inflight,
        config.max_mutating_requests_inflight,
        Arc::clone(&config.metrics),
        h,
    ));
    let h = Arc::new(impersonation::WithImpersonation {
        authorizer: Arc::clone(&authorizer),
        next: h,
    });
    let mut h: Arc<dyn Handler> = h;
    let mut failed: Arc<dyn Handler> = Arc::new(Unauthorized);
    if let Some(audit) = config.audit.clone() {
        h = Arc::new(audit::WithAudit {
            audit: audit.clone(),
            next: h,
        });
        failed = Arc::new(audit::WithFailedAuthenticationAudit { audit, failed });
    }
    let h = Arc::new(WithAuthentication {
        authenticator: Arc::clone(&config.authenticator),
        failed,
        next: h,
    });
    // Outside authentication, so that a slow authenticator cannot hold a request past its
    // deadline either; inside the wait group, so that a request that timed out stops counting.
    let h = Arc::new(timeout::WithTimeoutForNonLongRunningRequests {
        request_timeout: config.request_timeout,
        audit: config.audit.clone(),
        deadlines: Arc::clone(&config.request_deadlines),
        metrics: Arc::clone(&config.metrics),
        next: h,
    });
    let h = Arc::new(WithWaitGroup { in_flight, next: h });
    let h: Arc<dyn Handler> = Arc::new(cache_control::WithCacheControl { next: h });
    let h = match config.shutdown_send_retry_after {
        true => Arc::new(retry_after::WithRetryAfter {
            lifecycle: Arc::clone(&config.lifecycle),
            next: h,
        }),
        false => h,
    };
    let h = Arc::new(WithRequestInfo { next: h });
    let h = Arc::new(WithPanicRecovery { next: h });
    Arc::new(audit::WithAuditInit { next: h })
}
// ANCHOR_END: build_handler_chain

// ANCHOR: with_panic_recovery
/// `WithPanicRecovery`: a bug in a handler becomes a 500 for that request, not a dead server.
struct WithPanicRecovery {
    next: Arc<dyn Handler>,
}

impl Handler for WithPanicRecovery {
    fn serve(&self, req: &mut Request) -> Response {
        let (method, path) = (req.method.clone(), req.path.clone());
        match catch_unwind(AssertUnwindSafe(|| self.next.serve(req))) {
            Ok(resp) => resp,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                log::error!("apiserver panic'd method={method} URI={path}: {what}");
                // Go answers with `http.Error`, plain text: a handler that panicked may have
                // been half-way through building a Status.
                Response::text(
                    500,
                    "This request caused apiserver to panic. Look in the logs for details.\n",
                )
                .with_header("X-Content-Type-Options", "nosniff")
            }
        }
    }
}
// ANCHOR_END: with_panic_recovery

/// `WithRequestInfo`.
struct WithRequestInfo {
    next: Arc<dyn Handler>,
}

impl Handler for WithRequestInfo {
    fn serve(&self, req: &mut Request) -> Response {
        req.context.request_info = RequestInfo::parse(&req.method, &req.path, &req.query);
        self.next.serve(req)
    }
}

// ANCHOR: with_wait_group
/// `WithWaitGroup`: counts the short requests in flight so shutdown can wait for them.
struct WithWaitGroup {
    in_flight: Arc<InFlight>,
    next: Arc<dyn Handler>,
}

impl Handler for WithWaitGroup {
    fn serve(&self, req: &mut Request) -> Response {
        if req.context.request_info.is_long_running() {
            return self.next.serve(req);
        }
        self.in_flight.0.fetch_add(1, Ordering::SeqCst);
        let _done = Finish(&self.in_flight.0);
        self.next.serve(req)
    }
}
// ANCHOR_END: with_wait_group

// ANCHOR: with_authentication
/// `WithAuthentication`: sets the user, or answers 401. The credentials go no further: the
/// `Authorization` header and the front proxy's headers are removed before any handler or log
/// can see them.
struct WithAuthentication {
    authenticator: Arc<Authenticator>,
    /// Answers a request whose credentials were refused: the 401, audited.
    failed: Arc<dyn Handler>,
    next: Arc<dyn Handler>,
}

impl Handler for WithAuthentication {
    fn serve(&self, req: &mut Request) -> Response {
        let result = self.authenticator.authenticate(req);
        self.authenticator.clear_credentials(req);
        match result {
            AuthResult::User(user) => {
                req.context.user = user;
                self.next.serve(req)
            }
            AuthResult::Invalid => self.failed.serve(req),
        }
    }
}
// ANCHOR_END: with_authentication

/// `Unauthorized`: authentication's failed handler.
struct Unauthorized;

impl Handler for Unauthorized {
    fn serve(&self, _: &mut Request) -> Response {
        StatusError::unauthorized().to_response()
    }
}

/// The audit annotations of `WithAuthorization`.
const DECISION_ANNOTATION_KEY: &str = "authorization.k8s.io/decision";
const REASON_ANNOTATION_KEY: &str = "authorization.k8s.io/reason";

// ANCHOR: with_authorization
/// `WithAuthorization`: 403 unless the authorizer allows.
struct WithAuthorization {
    authorizer: Arc<Authorizer>,
    next: Arc<dyn Handler>,
}

impl Handler for WithAuthorization {
    fn serve(&self, req: &mut Request) -> Response {
        // The reason of a deny, or of no opinion (RBAC's missing roles), ends the 403 message.
        let answer = self
            .authorizer
            .answer(&req.context.user, &req.context.request_info);
        let decision = match answer.decision {
            Decision::Allow => "allow",
            Decision::Deny(_) | Decision::NoOpinion => "forbid",
        };
        req.context.audit_annotations.extend([
            (DECISION_ANNOTATION_KEY.into(), decision.into()),
            (REASON_ANNOTATION_KEY.into(), answer.reason.clone()),
        ]);
        match answer.decision {
            Decision::Allow => self.next.serve(req),
            Decision::Deny(_) | Decision::NoOpinion => forbidden(&req.context, &answer.reason),
        }
    }
}

fn forbidden(ctx: &RequestContext, reason: &str) -> Response {
    let info = &ctx.request_info;
    let mut message = forbidden_message(&ctx.user, info);
    if !reason.is_empty() {
        message = format!("{message}: {reason}");
    }
    if !info.is_resource_request {
        return StatusError::new(403, format!("forbidden: {message}")).to_response();
    }
    let gr = GroupResource {
        group: &info.api_group,
        resource: &info.resource,
    };
    StatusError::forbidden(gr, &info.name, &message).to_response()
}
// ANCHOR_END: with_authorization

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    /// Panics at its first request only: the filter must turn that into a 500 and the next
    /// request must be served as if nothing had happened.
    struct PanicsOnce(AtomicBool);

    impl Handler for PanicsOnce {
        fn serve(&self, _req: &mut Request) -> Response {
            if !self.0.swap(true, Ordering::SeqCst) {
                panic!("a bug in a handler");
            }
            Response::text(200, "ok")
        }
    }

    #[test]
    fn a_panic_is_a_500_for_that_request_and_the_next_one_is_served() {
        let filter = WithPanicRecovery {
            next: Arc::new(PanicsOnce(AtomicBool::new(false))),
        };
        let resp = filter.serve(&mut Request::default());
        assert_eq!(resp.status, 500);
        match &resp.body {
            crate::http::Body::Bytes(b) => assert_eq!(
                b.as_slice(),
                b"This request caused apiserver to panic. Look in the logs for details.\n"
            ),
            _ => panic!("a plain body"),
        }
        assert_eq!(filter.serve(&mut Request::default()).status, 200);
    }
}
