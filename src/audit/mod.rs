//! Audit (book chapter 3, `ch03-generic-config.md`, "Audit"): who did what, when, and with what
//! result, as an `audit.k8s.io/v1` event log. Mirrors `k8s.io/apiserver/pkg/audit` and the log
//! backend of `k8s.io/apiserver/plugin/pkg/audit/log`.
//!
//! - [`policy`]: the `Policy` file and `policy.Checker`, which gives each request its level.
//! - [`event`]: the `Event` and how a request and its response fill it.
//! - [`backend`]: the `Backend` trait and the log backend behind `--audit-log-path`.
//!
//! The filters that produce events, `WithAuditInit`, `WithAudit` and
//! `WithFailedAuthenticationAudit`, are in `server::filters::audit`.

pub mod backend;
pub mod event;
pub mod policy;

use std::sync::Arc;

pub use backend::{Backend, LogBackend};
pub use event::{Event, Level, Stage};
pub use policy::PolicyRuleEvaluator;

/// What the audit filters need: the policy that levels a request, and the backend its events
/// go to (Go's `Config.AuditPolicyRuleEvaluator` and `Config.AuditBackend`).
#[derive(Clone)]
pub struct AuditConfig {
    pub policy: Arc<PolicyRuleEvaluator>,
    pub backend: Arc<dyn Backend>,
}

/// `AuditOptions.ApplyTo`: with both a policy file and a log path, audit is on; with either
/// missing, no event can be recorded, and the server says so at start.
pub fn new_audit_config(
    policy_file: Option<&std::path::Path>,
    log_path: Option<&str>,
) -> Result<Option<AuditConfig>, String> {
    let Some(policy_file) = policy_file else {
        log::info!("No audit policy file provided, no events will be recorded");
        return Ok(None);
    };
    let policy = policy::load_policy_from_file(policy_file)
        .map_err(|e| format!("loading audit policy file: {e}"))?;
    let Some(path) = log_path else {
        log::info!("No audit log path provided, no events will be recorded");
        return Ok(None);
    };
    let backend = LogBackend::open(path)?;
    Ok(Some(AuditConfig {
        policy: Arc::new(PolicyRuleEvaluator::new(policy)),
        backend: Arc::new(backend),
    }))
}
