//! `/healthz`, `/livez`, `/readyz`: `k8s.io/apiserver/pkg/server/healthz`.
//!
//! Each endpoint runs its checks in order. `?verbose` lists them (`[+]ping ok`); `?exclude=name`
//! skips one; `/readyz/<name>` runs one alone. Any failure answers 500 with the list, so a
//! human with curl sees which check failed without asking again.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::http::{Handler, Request, Response};
use crate::server::generic::{HealthCheck, PostStartHook};
use crate::server::lifecycle_signals::LifecycleSignals;

type CheckFn = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// One named check.
#[derive(Clone)]
pub struct Check {
    pub name: String,
    run: CheckFn,
}

impl Check {
    pub fn ping() -> Check {
        Check {
            name: "ping".into(),
            run: Arc::new(|| Ok(())),
        }
    }

    pub fn from_health_check(h: Arc<HealthCheck>) -> Check {
        Check {
            name: h.name.clone(),
            run: Arc::new(move || (h.check)()),
        }
    }

    /// `poststarthook/<name>`: fails until the hook has finished.
    pub fn post_start_hook(hook: Arc<PostStartHook>) -> Check {
        Check {
            name: format!("poststarthook/{}", hook.name),
            run: Arc::new(move || {
                if hook.done.load(Ordering::SeqCst) {
                    Ok(())
                } else {
                    Err("not finished".into())
                }
            }),
        }
    }

    /// `shutdown`: fails once graceful termination has begun.
    pub fn shutdown(lifecycle: Arc<LifecycleSignals>) -> Check {
        Check {
            name: "shutdown".into(),
            run: Arc::new(move || {
                if lifecycle.shutdown_initiated.fired() {
                    Err("process is shutting down".into())
                } else {
                    Ok(())
                }
            }),
        }
    }
}

pub struct HealthzHandler {
    /// `healthz`, `livez` or `readyz`: the endpoint and the word in its last line.
    name: &'static str,
    checks: Vec<Check>,
    /// For `/readyz`: fires `HasBeenReady` at the first success.
    lifecycle: Option<Arc<LifecycleSignals>>,
}

impl HealthzHandler {
    pub fn new(
        name: &'static str,
        checks: Vec<Check>,
        lifecycle: Option<Arc<LifecycleSignals>>,
    ) -> HealthzHandler {
        HealthzHandler {
            name,
            checks,
            lifecycle,
        }
    }
}

impl Handler for HealthzHandler {
    // ANCHOR: healthz_serve
    fn serve(&self, req: &mut Request) -> Response {
        let sub = req
            .path
            .trim_start_matches('/')
            .trim_start_matches(self.name)
            .trim_start_matches('/');
        if !sub.is_empty() {
            return match self.checks.iter().find(|c| c.name == sub) {
                Some(c) => match (c.run)() {
                    Ok(()) => Response::text(200, "ok"),
                    Err(e) => Response::text(500, format!("internal server error: {e}\n")),
                },
                None => crate::server::generic::NotFound::response(),
            };
        }
        let excluded: Vec<String> = req
            .query_pairs()
            .into_iter()
            .filter(|(k, _)| k == "exclude")
            .map(|(_, v)| v)
            .collect();
        let verbose = req.query_pairs().iter().any(|(k, _)| k == "verbose");
        let mut report = String::new();
        let mut failed = false;
        for check in &self.checks {
            if excluded.contains(&check.name) {
                report.push_str(&format!("[+]{} excluded: ok\n", check.name));
                continue;
            }
            match (check.run)() {
                Ok(()) => report.push_str(&format!("[+]{} ok\n", check.name)),
                Err(e) => {
                    failed = true;
                    log::debug!("{} check {} failed: {e}", self.name, check.name);
                    // The reason stays in the log: a health endpoint is public.
                    report.push_str(&format!("[-]{} failed: reason withheld\n", check.name));
                }
            }
        }
        if failed {
            report.push_str(&format!("{} check failed\n", self.name));
            return Response::text(500, report).with_header("X-Content-Type-Options", "nosniff");
        }
        if let Some(l) = &self.lifecycle {
            l.has_been_ready.fire();
        }
        let body = if verbose {
            format!("{report}{} check passed\n", self.name)
        } else {
            "ok".to_string()
        };
        Response::text(200, body).with_header("X-Content-Type-Options", "nosniff")
    }
    // ANCHOR_END: healthz_serve
}
