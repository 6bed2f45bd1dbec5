//! The audit filters (book chapter 3, "Audit"): `WithAuditInit`, `WithAudit` and
//! `WithFailedAuthenticationAudit` of `k8s.io/apiserver/pkg/endpoints/filters`.
//!
//! `WithAudit` writes RequestReceived before the rest of the chain runs, then ResponseStarted
//! (long-running requests only) when the response head goes out, and ResponseComplete when the
//! response is finished: for a watch that is when its stream ends, so the event rides inside the
//! stream and is written when the stream is dropped. A panic writes Panic and keeps unwinding to
//! `WithPanicRecovery`.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::Value;

use crate::audit::event::{remove_managed_fields, EventUser, ResponseStatus};
use crate::audit::policy::RequestAuditConfig;
use crate::audit::{AuditConfig, Event, Level, Stage};
use crate::http::{Body, Handler, Request, Response, StreamBody};
use crate::util::time::rfc3339_micro;

/// The response header, and the request header a client may set to choose the ID itself.
pub const HEADER_AUDIT_ID: &str = "Audit-Id";

// ANCHOR: with_audit_init
/// `WithAuditInit`, the outermost filter: every request gets an audit ID, the caller's own if it
/// sent one, and every response says which, whether or not anything is audited.
pub struct WithAuditInit {
    pub next: Arc<dyn Handler>,
}

impl Handler for WithAuditInit {
    fn serve(&self, req: &mut Request) -> Response {
        req.context.audit_id = match req.header(HEADER_AUDIT_ID) {
            Some(id) if !id.is_empty() => id.to_string(),
            _ => crate::util::random::uuid(),
        };
        let resp = self.next.serve(req);
        resp.with_header(HEADER_AUDIT_ID, req.context.audit_id.clone())
    }
}
// ANCHOR_END: with_audit_init

/// Sends one stage of an event unless the policy omits it (`processAuditEvent`).
fn process_audit_event(audit: &AuditConfig, ev: &mut Event, omit: &[Stage]) {
    ev.stage_timestamp = if ev.stage == Stage::RequestReceived {
        ev.request_received_timestamp.clone()
    } else {
        rfc3339_micro(SystemTime::now())
    };
    if !omit.contains(&ev.stage) {
        audit.backend.process_events(&[ev]);
    }
}

/// The request's level and a fresh event, or None when the policy says not to audit it.
fn new_event(audit: &AuditConfig, req: &Request) -> Option<(Event, RequestAuditConfig)> {
    let rac = audit
        .policy
        .evaluate(&req.context.user, &req.context.request_info);
    if rac.level == Level::None {
        return None;
    }
    Some((Event::from_request(req, rac.level, SystemTime::now()), rac))
}

/// A body as JSON, if it is JSON; protobuf and text bodies are left out of the event.
fn json(bytes: &[u8], omit_managed_fields: bool) -> Option<Value> {
    let mut v: Value = serde_json::from_slice(bytes).ok()?;
    if omit_managed_fields {
        remove_managed_fields(&mut v);
    }
    Some(v)
}

/// What the response tells the event: its code, its `Status`, its body (never a stream's).
fn log_response(ev: &mut Event, resp: &Response, rac: &RequestAuditConfig) {
    let is_json = resp
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json"));
    let body = match &resp.body {
        Body::Bytes(b) if is_json => json(b, rac.omit_managed_fields),
        _ => None,
    };
    ev.log_response(resp.status, body);
}

// ANCHOR: with_audit
/// `WithAudit`: just inside authentication, so the event names the authenticated user; outside
/// impersonation and authorization, so it also records whom the user acted as and the decision.
pub struct WithAudit {
    pub audit: AuditConfig,
    pub next: Arc<dyn Handler>,
}

impl Handler for WithAudit {
    fn serve(&self, req: &mut Request) -> Response {
        let Some((mut ev, rac)) = new_event(&self.audit, req) else {
            return self.next.serve(req);
        };
        process_audit_event(&self.audit, &mut ev, &rac.omit_stages);
        let served = catch_unwind(AssertUnwindSafe(|| self.next.serve(req)));
        // What the inner filters learned: the impersonated user, the authorization decision.
        ev.impersonated_user = req.context.impersonated_user.as_ref().map(EventUser::from);
        ev.annotations
            .extend(req.context.audit_annotations.iter().cloned());
        let resp = match served {
            Ok(resp) => resp,
            Err(panic) => {
                ev.stage = Stage::Panic;
                ev.response_status = Some(ResponseStatus {
                    status: "Failure".into(),
                    reason: "InternalError".into(),
                    message: format!("APIServer panic'd: {}", panic_message(&*panic)),
                    code: 500,
                    ..Default::default()
                });
                process_audit_event(&self.audit, &mut ev, &rac.omit_stages);
                resume_unwind(panic);
            }
        };
        if ev.level >= Level::Request && req.context.request_info.is_resource_request {
            ev.request_object = json(&req.body, rac.omit_managed_fields);
        }
        log_response(&mut ev, &resp, &rac);
        let long_running = req.context.request_info.verb == "watch";
        if long_running || matches!(resp.body, Body::Stream(_)) {
            ev.stage = Stage::ResponseStarted;
            process_audit_event(&self.audit, &mut ev, &rac.omit_stages);
        }
        ev.stage = Stage::ResponseComplete;
        match resp.body {
            Body::Stream(inner) => Response {
                status: resp.status,
                headers: resp.headers,
                body: Body::Stream(Box::new(AuditedStream {
                    inner,
                    completed: Some((ev, rac.omit_stages)),
                    audit: self.audit.clone(),
                })),
            },
            Body::Bytes(_) => {
                process_audit_event(&self.audit, &mut ev, &rac.omit_stages);
                resp
            }
        }
    }
}
// ANCHOR_END: with_audit

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// A watch's body that writes ResponseComplete when it ends, however it ends: the stream ran
/// out, the client went away, or shutdown closed the connection.
struct AuditedStream {
    inner: Box<dyn StreamBody>,
    completed: Option<(Event, Vec<Stage>)>,
    audit: AuditConfig,
}

impl StreamBody for AuditedStream {
    fn next_chunk(&mut self) -> Option<Vec<u8>> {
        self.inner.next_chunk()
    }
}

impl Drop for AuditedStream {
    fn drop(&mut self) {
        if let Some((mut ev, omit)) = self.completed.take() {
            process_audit_event(&self.audit, &mut ev, &omit);
        }
    }
}

// ANCHOR: with_failed_authentication_audit
/// `WithFailedAuthenticationAudit`: wraps the 401 handler, so a request whose credentials were
/// refused is audited too, though `WithAudit` never sees it. The event has no user, and is
/// written once, as stage ResponseStarted, the way kube-apiserver writes it.
pub struct WithFailedAuthenticationAudit {
    pub audit: AuditConfig,
    pub failed: Arc<dyn Handler>,
}

impl Handler for WithFailedAuthenticationAudit {
    fn serve(&self, req: &mut Request) -> Response {
        let Some((mut ev, rac)) = new_event(&self.audit, req) else {
            return self.failed.serve(req);
        };
        let resp = self.failed.serve(req);
        log_response(&mut ev, &resp, &rac);
        ev.stage = Stage::ResponseStarted;
        process_audit_event(&self.audit, &mut ev, &rac.omit_stages);
        resp
    }
}
// ANCHOR_END: with_failed_authentication_audit

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::backend::Backend;
    use crate::audit::policy::{load_policy_from_bytes, PolicyRuleEvaluator};
    use crate::server::filters::request_info::RequestInfo;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<Event>>);

    impl Backend for Recorder {
        fn process_events(&self, events: &[&Event]) -> bool {
            let mut got = self.0.lock().unwrap();
            got.extend(events.iter().map(|e| (*e).clone()));
            true
        }
        fn run(&self) -> Result<(), String> {
            Ok(())
        }
        fn shutdown(&self) {}
        fn name(&self) -> &'static str {
            "recorder"
        }
    }

    fn audit(rules: &str) -> (AuditConfig, Arc<Recorder>) {
        let text = format!(r#"{{"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":{rules}}}"#);
        let recorder = Arc::new(Recorder::default());
        let cfg = AuditConfig {
            policy: Arc::new(PolicyRuleEvaluator::new(
                load_policy_from_bytes(text.as_bytes()).unwrap(),
            )),
            backend: recorder.clone(),
        };
        (cfg, recorder)
    }

    struct Panics;
    impl Handler for Panics {
        fn serve(&self, _: &mut Request) -> Response {
            panic!("deliberately")
        }
    }

    struct Streams;
    struct TwoChunks(u8);
    impl StreamBody for TwoChunks {
        fn next_chunk(&mut self) -> Option<Vec<u8>> {
            self.0 += 1;
            (self.0 <= 2).then(|| vec![self.0])
        }
    }
    impl Handler for Streams {
        fn serve(&self, _: &mut Request) -> Response {
            Response::stream(200, "application/json", Box::new(TwoChunks(0)))
        }
    }

    fn request(method: &str, path: &str, query: &str) -> Request {
        let mut req = Request {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            ..Default::default()
        };
        req.context.request_info = RequestInfo::parse(method, path, query);
        req
    }

    fn stages(r: &Recorder) -> Vec<Stage> {
        r.0.lock().unwrap().iter().map(|e| e.stage).collect()
    }

    #[test]
    fn a_panic_is_recorded_then_unwinds_on() {
        let (cfg, rec) = audit(r#"[{"level":"Metadata"}]"#);
        let h = WithAudit {
            audit: cfg,
            next: Arc::new(Panics),
        };
        let mut req = request("GET", "/api/v1/pods", "");
        assert!(catch_unwind(AssertUnwindSafe(|| h.serve(&mut req))).is_err());
        assert_eq!(stages(&rec), [Stage::RequestReceived, Stage::Panic]);
        let got = rec.0.lock().unwrap();
        let status = got[1].response_status.as_ref().unwrap();
        assert_eq!(
            (status.code, status.reason.as_str(), status.message.as_str()),
            (500, "InternalError", "APIServer panic'd: deliberately")
        );
    }

    #[test]
    fn a_watch_completes_when_its_stream_ends() {
        let (cfg, rec) = audit(r#"[{"level":"RequestResponse","omitStages":["RequestReceived"]}]"#);
        let h = WithAudit {
            audit: cfg,
            next: Arc::new(Streams),
        };
        let mut req = request("GET", "/api/v1/pods", "watch=1");
        let resp = h.serve(&mut req);
        assert_eq!(stages(&rec), [Stage::ResponseStarted]);
        let Body::Stream(mut body) = resp.body else {
            panic!("still a stream")
        };
        while body.next_chunk().is_some() {}
        assert_eq!(
            stages(&rec),
            [Stage::ResponseStarted],
            "not before the drop"
        );
        drop(body);
        assert_eq!(
            stages(&rec),
            [Stage::ResponseStarted, Stage::ResponseComplete]
        );
        let got = rec.0.lock().unwrap();
        assert!(
            got[1].response_object.is_none(),
            "a stream's body is not recorded"
        );
        assert_eq!(got[1].response_status.as_ref().unwrap().code, 200);
    }

    struct Answers;
    impl Handler for Answers {
        fn serve(&self, _: &mut Request) -> Response {
            Response::json(
                200,
                &serde_json::json!({"kind":"ConfigMap","metadata":{"name":"a","managedFields":[{}]}}),
            )
        }
    }

    #[test]
    fn omit_managed_fields_trims_both_bodies() {
        let (cfg, rec) = audit(r#"[{"level":"RequestResponse","omitManagedFields":true}]"#);
        let h = WithAudit {
            audit: cfg,
            next: Arc::new(Answers),
        };
        let mut req = request("PUT", "/api/v1/namespaces/d/configmaps/a", "");
        req.body = br#"{"kind":"ConfigMap","metadata":{"name":"a","managedFields":[{}]}}"#.to_vec();
        h.serve(&mut req);
        let got = rec.0.lock().unwrap();
        assert_eq!(got.len(), 2);
        let done = &got[1];
        assert_eq!(done.stage, Stage::ResponseComplete);
        for body in [&done.request_object, &done.response_object] {
            assert_eq!(
                body.as_ref().unwrap()["metadata"],
                serde_json::json!({"name":"a"})
            );
        }
    }

    #[test]
    fn the_callers_audit_id_is_kept() {
        let h = WithAuditInit {
            next: Arc::new(Streams),
        };
        let mut req = request("GET", "/api/v1/pods", "");
        req.headers.push(("Audit-ID".into(), "mine".into()));
        assert_eq!(h.serve(&mut req).header("audit-id"), Some("mine"));
        let mut req = request("GET", "/api/v1/pods", "");
        let id = h.serve(&mut req).header("audit-id").unwrap().to_string();
        assert_eq!(id.len(), 36, "a UUID: {id}");
    }
}
