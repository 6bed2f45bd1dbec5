//! `WithMaxInFlightLimit` (`k8s.io/apiserver/pkg/server/filters/maxinflight.go`): two budgets,
//! `--max-requests-inflight` for reads and `--max-mutating-requests-inflight` for writes, so a
//! flood of writes cannot starve reads (a controller's lists) and the other way round. Past its
//! budget a request gets a 429 with `Retry-After: 1`, and a client backs off instead of queueing.
//! Long-running requests (watches) hold no place: they would fill any budget and never leave.
//! Nor is a `system:masters` user ever turned away: that is the super-admin, or the server's own
//! loopback client, and it must always get an answer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::endpoints::metrics::Metrics;
use crate::http::{Handler, Request, Response};

/// The verbs that read: every other verb counts against the mutating budget.
const NON_MUTATING_REQUEST_VERBS: [&str; 3] = ["get", "list", "watch"];

/// `user.SystemPrivilegedGroup`.
const SYSTEM_PRIVILEGED_GROUP: &str = "system:masters";

/// One budget: Go's buffered channel, here a counter.
#[derive(Default)]
struct Budget {
    limit: usize,
    used: AtomicUsize,
}

impl Budget {
    /// Takes a place if one is free.
    fn try_acquire(&self) -> Option<Place<'_>> {
        let taken = self
            .used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .is_ok();
        // Lazily: a `Place` made and dropped for a refused request would give back a place it
        // never took.
        taken.then(|| Place(&self.used))
    }
}

struct Place<'a>(&'a AtomicUsize);

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

pub struct WithMaxInFlightLimit {
    non_mutating: Option<Budget>,
    mutating: Option<Budget>,
    /// Where a 429 is counted (`RecordRequestTermination`).
    metrics: Arc<Metrics>,
    next: Arc<dyn Handler>,
}

impl WithMaxInFlightLimit {
    /// A limit of 0 means no budget of that kind.
    pub fn new(
        non_mutating_limit: u32,
        mutating_limit: u32,
        metrics: Arc<Metrics>,
        next: Arc<dyn Handler>,
    ) -> Self {
        let budget = |limit: u32| {
            (limit > 0).then(|| Budget {
                limit: limit as usize,
                used: AtomicUsize::new(0),
            })
        };
        WithMaxInFlightLimit {
            non_mutating: budget(non_mutating_limit),
            mutating: budget(mutating_limit),
            metrics,
            next,
        }
    }
}

// ANCHOR: max_in_flight
impl Handler for WithMaxInFlightLimit {
    fn serve(&self, req: &mut Request) -> Response {
        if req.context.request_info.is_long_running() {
            return self.next.serve(req);
        }
        let verb = req.context.request_info.verb.as_str();
        let budget = if NON_MUTATING_REQUEST_VERBS.contains(&verb) {
            &self.non_mutating
        } else {
            &self.mutating
        };
        let Some(budget) = budget else {
            return self.next.serve(req);
        };
        if let Some(_place) = budget.try_acquire() {
            return self.next.serve(req);
        }
        if req
            .context
            .user
            .groups
            .iter()
            .any(|g| g == SYSTEM_PRIVILEGED_GROUP)
        {
            return self.next.serve(req);
        }
        self.metrics.record_request_termination(req, 429);
        // Go answers with `http.Error`: plain text, not a Status.
        Response::text(429, "Too many requests, please try again later.\n")
            .with_header("X-Content-Type-Options", "nosniff")
            .with_header("Retry-After", "1")
    }
}
// ANCHOR_END: max_in_flight

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Mutex, Weak};

    /// Serves a request by first sending `inner` requests through the filter again: on one
    /// worker thread that is how requests come to be in flight at the same time.
    struct Reentrant {
        filter: Mutex<Weak<WithMaxInFlightLimit>>,
        inner: Mutex<Vec<&'static str>>,
        seen: Mutex<Vec<(String, u16)>>,
    }

    impl Handler for Reentrant {
        fn serve(&self, _req: &mut Request) -> Response {
            // The outermost request sends all of them while it holds its place.
            let inner = std::mem::take(&mut *self.inner.lock().unwrap());
            for verb in inner {
                let filter = self.filter.lock().unwrap().upgrade().unwrap();
                let status = filter.serve(&mut request(verb)).status;
                self.seen.lock().unwrap().push((verb.to_string(), status));
            }
            Response::text(200, "ok")
        }
    }

    fn metrics() -> Arc<Metrics> {
        let storage = Arc::new(crate::storage::embedded::EmbeddedStore::new(10));
        Arc::new(Metrics::new(
            Arc::new(crate::apis::new_scheme()),
            storage,
            "/registry",
        ))
    }

    fn request(verb: &str) -> Request {
        let mut req = Request::default();
        req.context.request_info.verb = verb.to_string();
        req
    }

    fn nested(limits: (u32, u32), outer: &str, inner: &[&'static str]) -> Vec<(String, u16)> {
        let handler = Arc::new(Reentrant {
            filter: Mutex::new(Weak::new()),
            inner: Mutex::new(inner.to_vec()),
            seen: Mutex::new(Vec::new()),
        });
        let filter = Arc::new(WithMaxInFlightLimit::new(
            limits.0,
            limits.1,
            metrics(),
            handler.clone(),
        ));
        *handler.filter.lock().unwrap() = Arc::downgrade(&filter);
        assert_eq!(filter.serve(&mut request(outer)).status, 200);
        let seen = handler.seen.lock().unwrap().clone();
        seen
    }

    #[test]
    fn each_kind_has_its_own_budget() {
        // One read in flight fills a read budget of 1; a write still has its own place.
        let seen = nested((1, 1), "get", &["list", "create"]);
        assert_eq!(seen, [("list".into(), 429), ("create".into(), 200)]);
        // The other way round: a write in flight fills the write budget, reads go on.
        let seen = nested((1, 1), "delete", &["patch", "get"]);
        assert_eq!(seen, [("patch".into(), 429), ("get".into(), 200)]);
    }

    struct Ok200;
    impl Handler for Ok200 {
        fn serve(&self, _req: &mut Request) -> Response {
            Response::text(200, "ok")
        }
    }

    #[test]
    fn watches_and_zero_limits_are_exempt_and_places_are_given_back() {
        let seen = nested((1, 0), "get", &["watch", "update", "update"]);
        assert!(seen.iter().all(|(_, s)| *s == 200), "{seen:?}");
        let filter = WithMaxInFlightLimit::new(1, 1, metrics(), Arc::new(Ok200));
        for _ in 0..3 {
            assert_eq!(filter.serve(&mut request("get")).status, 200);
            assert_eq!(filter.serve(&mut request("create")).status, 200);
        }
    }

    #[test]
    fn the_refusal_says_when_to_come_back() {
        let filter = WithMaxInFlightLimit::new(1, 1, metrics(), Arc::new(Ok200));
        let _held = filter.mutating.as_ref().unwrap().try_acquire().unwrap();
        let resp = filter.serve(&mut request("deletecollection"));
        assert_eq!(resp.status, 429);
        // The refusal took no place, so it gave none back: the budget is still full.
        assert_eq!(filter.serve(&mut request("create")).status, 429);
        assert!(resp
            .headers
            .iter()
            .any(|(n, v)| n == "Retry-After" && v == "1"));
        assert_eq!(filter.serve(&mut request("list")).status, 200);
        let mut admin = request("create");
        admin.context.user.groups = vec![SYSTEM_PRIVILEGED_GROUP.into()];
        assert_eq!(filter.serve(&mut admin).status, 200);
        assert!(filter.metrics.render().contains(
            "apiserver_request_terminations_total{code=\"429\",group=\"\",resource=\"\",subresource=\"other\",verb=\"\",version=\"\"} 2"
        ));
    }
}
