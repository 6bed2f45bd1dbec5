//! `WithRequestDeadline` and `WithTimeoutForNonLongRunningRequests`
//! (`k8s.io/apiserver/pkg/endpoints/filters/request_deadline.go`,
//! `k8s.io/apiserver/pkg/server/filters/timeout.go`): a request that is not long-running gets
//! `--request-timeout` (or less, with `?timeout=`) to be answered; past that the client gets a
//! 504 and whatever the handler answers later is thrown away.
//!
//! Go runs the rest of the chain in a goroutine of its own and `select`s on its result and on
//! the context's deadline. Here the rest of the chain runs in a coroutine of its own, and the
//! request's coroutine waits on a channel for the first of two messages: the handler's answer,
//! or "time is up" from [`RequestDeadlines::expire`], which the heartbeat (chapter 6) calls at
//! every tick. An answer that comes after the deadline but before the tick is late all the
//! same, and is thrown away as Go's would be.
//!
//! *Why not `Receiver::recv_timeout`?* may runs a timed-out coroutine on its timer thread, not
//! on the worker: the rest of that request would run beside the worker, and the server would no
//! longer be single-threaded. The heartbeat is already the one clock of the process, so a
//! deadline is as precise as a tick (100 ms), which is plenty for a limit counted in seconds.

use std::any::Any;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::audit::WithFailedAuthenticationAudit;
use crate::audit::AuditConfig;
use crate::cmd::flags::parse_duration;
use crate::endpoints::metrics::Metrics;
use crate::http::{Handler, Request, Response};
use crate::scheme::meta::StatusError;

/// `invalidTimeoutInURL`.
const INVALID_TIMEOUT_IN_URL: &str = "invalid timeout specified in the request URL";

/// Go writes the `Status` of `NewTimeoutError` with a plain `json.Encoder`: no `kind` or
/// `apiVersion` (the error's `TypeMeta` is empty), a trailing newline, and no `Content-Type`, so
/// `net/http` sniffs the body as text.
const TIMEOUT_STATUS: &str = concat!(
    r#"{"metadata":{},"status":"Failure","#,
    r#""message":"Timeout: request did not complete within the allotted timeout","#,
    r#""reason":"Timeout","details":{},"code":504}"#,
    "\n"
);

/// How a request's own coroutine ended, or that its time ran out first.
enum Finished {
    Served(Box<(Request, Response)>),
    Panicked(Box<dyn Any + Send>),
    TimedOut,
}

/// The deadlines of the requests being served, earliest first, each with the channel its
/// request waits on.
#[derive(Default)]
pub struct RequestDeadlines {
    next_id: AtomicU64,
    pending: Mutex<BTreeMap<(Instant, u64), may::sync::mpsc::Sender<Finished>>>,
}

impl RequestDeadlines {
    fn add(&self, at: Instant, waiter: may::sync::mpsc::Sender<Finished>) -> (Instant, u64) {
        let key = (at, self.next_id.fetch_add(1, Ordering::Relaxed));
        self.pending.lock().expect("deadlines").insert(key, waiter);
        key
    }

    fn remove(&self, key: &(Instant, u64)) {
        self.pending.lock().expect("deadlines").remove(key);
    }

    // ANCHOR: expire
    /// Tells every request whose deadline has passed that its time is up. Called by the
    /// heartbeat coroutine at each tick.
    pub fn expire(&self, now: Instant) {
        let mut pending = self.pending.lock().expect("deadlines");
        let later = pending.split_off(&(now, u64::MAX));
        let due = std::mem::replace(&mut *pending, later);
        drop(pending);
        for waiter in due.into_values() {
            // The request may have been answered since; then nobody listens.
            let _ = waiter.send(Finished::TimedOut);
        }
    }
    // ANCHOR_END: expire
}

/// `parseTimeout` and the rule of `WithRequestDeadline`: `?timeout=` may shorten the server's
/// limit but never lengthen it, and `0s` (or less) means "the server's limit".
fn request_timeout(req: &Request, maximum: Duration) -> Result<Duration, StatusError> {
    let Some(value) = req.query_param("timeout").filter(|v| !v.is_empty()) else {
        return Ok(maximum);
    };
    // Go's ParseDuration takes a sign; a negative timeout is "none given".
    let (negative, unsigned) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value.strip_prefix('+').unwrap_or(&value)),
    };
    let parsed = parse_duration(unsigned).map_err(|e| {
        let e = e.replace(&format!("{unsigned:?}"), &format!("{value:?}"));
        StatusError::bad_request(format!("{INVALID_TIMEOUT_IN_URL} - {e}"))
    })?;
    Ok(match parsed {
        t if negative || t.is_zero() || t >= maximum => maximum,
        t => t,
    })
}

/// The request as the filters outside this one still see it while the handler has it: all of
/// it but the body.
fn head_of(req: &Request) -> Request {
    Request {
        method: req.method.clone(),
        path: req.path.clone(),
        query: req.query.clone(),
        minor_version: req.minor_version,
        headers: req.headers.clone(),
        remote_addr: req.remote_addr,
        peer_certificates: req.peer_certificates.clone(),
        context: req.context.clone(),
        ..Default::default()
    }
}

/// `failedErrorHandler`: the answer to a `?timeout=` that is not a duration.
struct FailedErrorHandler(StatusError);

impl Handler for FailedErrorHandler {
    fn serve(&self, _req: &mut Request) -> Response {
        self.0.to_response()
    }
}

pub struct WithTimeoutForNonLongRunningRequests {
    /// `--request-timeout`.
    pub request_timeout: Duration,
    /// The refusal of a bad `?timeout=` is audited here: `WithAudit`, further in, never sees it.
    pub audit: Option<AuditConfig>,
    pub deadlines: Arc<RequestDeadlines>,
    /// Where a 504 is counted (`RecordRequestTermination`).
    pub metrics: Arc<Metrics>,
    pub next: Arc<dyn Handler>,
}

// ANCHOR: with_timeout
impl Handler for WithTimeoutForNonLongRunningRequests {
    fn serve(&self, req: &mut Request) -> Response {
        if req.context.request_info.is_long_running() {
            return self.next.serve(req);
        }
        let timeout = match request_timeout(req, self.request_timeout) {
            Ok(t) => t,
            Err(e) => {
                log::error!("Error - {}: {:?}", e.0.message, req.path);
                let failed = Arc::new(FailedErrorHandler(e));
                return match &self.audit {
                    // Go's `withFailedRequestAudit` writes the same one ResponseStarted event,
                    // without a user, that a refused authentication gets.
                    Some(audit) => WithFailedAuthenticationAudit {
                        audit: audit.clone(),
                        failed,
                    }
                    .serve(req),
                    None => failed.serve(req),
                };
            }
        };
        let deadline = Instant::now() + timeout;
        let (waiter, answer) = may::sync::mpsc::channel();
        let key = self.deadlines.add(deadline, waiter.clone());
        // The handler gets the request; this coroutine keeps its head for the outer filters.
        let mut owned = std::mem::replace(req, head_of(req));
        let next = Arc::clone(&self.next);
        may::go!(move || {
            let (method, path) = (owned.method.clone(), owned.path.clone());
            // A panic is carried back and raised again in the request's coroutine, so that
            // WithPanicRecovery answers it as if there were no second coroutine.
            let finished = match catch_unwind(AssertUnwindSafe(|| next.serve(&mut owned))) {
                Ok(resp) => Finished::Served(Box::new((owned, resp))),
                Err(panic) => Finished::Panicked(panic),
            };
            if waiter.send(finished).is_err() {
                log::error!(
                    "post-timeout activity - time-elapsed: {:?}, {method} {path:?}: the answer is discarded",
                    deadline.elapsed()
                );
            }
        });
        let finished = answer.recv().unwrap_or(Finished::TimedOut);
        self.deadlines.remove(&key);
        match finished {
            Finished::Served(served) => {
                let (served, resp) = *served;
                *req = served;
                if Instant::now() < deadline {
                    return resp;
                }
                self.timed_out(req)
            }
            Finished::Panicked(panic) => resume_unwind(panic),
            Finished::TimedOut => self.timed_out(req),
        }
    }
}

impl WithTimeoutForNonLongRunningRequests {
    /// `tw.timeout(err)` and `postTimeoutFn`: the 504, counted as a termination.
    fn timed_out(&self, req: &Request) -> Response {
        self.metrics.record_request_termination(req, 504);
        Response::bytes(
            504,
            "text/plain; charset=utf-8",
            TIMEOUT_STATUS.as_bytes().to_vec(),
        )
    }
}
// ANCHOR_END: with_timeout

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::filters::request_info::RequestInfo;

    fn request(query: &str) -> Request {
        let mut req = Request {
            method: "GET".into(),
            path: "/api/v1/namespaces".into(),
            query: query.into(),
            ..Default::default()
        };
        req.context.request_info = RequestInfo::parse("GET", "/api/v1/namespaces", query);
        req
    }

    #[test]
    fn the_query_may_shorten_the_limit_but_not_lengthen_it() {
        let max = Duration::from_secs(60);
        let t = |q: &str| request_timeout(&request(q), max).map_err(|e| e.0.message.clone());
        assert_eq!(t(""), Ok(max));
        assert_eq!(t("timeout=5s"), Ok(Duration::from_secs(5)));
        assert_eq!(t("timeout=1m30s"), Ok(max));
        assert_eq!(t("timeout=0s"), Ok(max));
        assert_eq!(t("timeout=-3s"), Ok(max));
        assert_eq!(
            t("timeout=abc"),
            Err(
                "invalid timeout specified in the request URL - time: invalid duration \"abc\""
                    .into()
            )
        );
        assert_eq!(
            t("timeout=-5"),
            Err(
                "invalid timeout specified in the request URL - time: missing unit in duration \"-5\""
                    .into()
            )
        );
    }

    #[test]
    fn only_passed_deadlines_expire() {
        let deadlines = RequestDeadlines::default();
        let now = Instant::now();
        let (tx, rx) = may::sync::mpsc::channel();
        deadlines.add(now, tx.clone());
        deadlines.add(now + Duration::from_secs(60), tx);
        deadlines.expire(now);
        assert!(matches!(rx.try_recv(), Ok(Finished::TimedOut)));
        assert!(rx.try_recv().is_err());
        assert_eq!(deadlines.pending.lock().unwrap().len(), 1);
    }
}
