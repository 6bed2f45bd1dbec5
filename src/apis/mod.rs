//! The API groups and their kinds (book chapter 1): each group module has an `add_to_scheme`
//! that registers its kinds, as each Go API package's `AddToScheme` does.
//!
//! - [`core`]: the legacy group (`/api/v1`): Namespace, ConfigMap, Secret, ServiceAccount,
//!   Event, Pod, Service, Endpoints, LimitRange, ResourceQuota.
//! - [`apps`]: `apps/v1` Deployment (and the `autoscaling/v1` Scale of its `/scale`).
//! - [`events`]: `events.k8s.io/v1` Event, a second view of core/v1 events.
//! - [`authorization`]: `authorization.k8s.io/v1` access reviews, answered and never stored.
//! - [`rbac`]: `rbac.authorization.k8s.io/v1` Role, ClusterRole and their bindings.
//! - [`apiextensions`]: `apiextensions.k8s.io/v1` CustomResourceDefinition.
//! - [`apiregistration`]: `apiregistration.k8s.io/v1` APIService.
//! - [`authentication`]: `authentication.k8s.io/v1` SelfSubjectReview.
//! - [`validation`]: the name and metadata rules every kind shares (`ValidateObjectMeta`).

pub mod apiextensions;
pub mod apiregistration;
pub mod apps;
pub mod authentication;
pub mod authorization;
pub mod core;
pub mod events;
pub mod rbac;
pub mod validation;

use std::time::SystemTime;

use serde_json::Value;

use crate::scheme::TableColumn;
use crate::util::time::{human_duration, parse_rfc3339};

/// The `Age` column every kind's printer ends with.
pub const AGE_COLUMN: TableColumn = TableColumn::text(
    "Age",
    "How long ago the object was created (from metadata.creationTimestamp).",
    0,
);

/// The `Age` cell: `5s`, `3m`, or `<unknown>` when the timestamp is missing.
pub fn age_cell(obj: &Value) -> Value {
    since_cell(&obj["metadata"]["creationTimestamp"])
}

/// The time since an RFC 3339 timestamp, as the printers show it (`translateTimestampSince`).
pub fn since_cell(timestamp: &Value) -> Value {
    Value::String(match timestamp.as_str().and_then(parse_rfc3339) {
        Some(t) => human_duration(SystemTime::now().duration_since(t).unwrap_or_default()),
        None => "<unknown>".into(),
    })
}

// ANCHOR: new_scheme
/// The scheme with every group's kinds, registered in the order discovery lists them. In
/// kube-apiserver each group package registers itself into `legacyscheme.Scheme` from an `init()`
/// when `import_known_versions.go` imports it; Rust has no `init()`, so the list is explicit.
pub fn new_scheme() -> crate::scheme::Scheme {
    let mut scheme = crate::scheme::Scheme::default();
    core::add_to_scheme(&mut scheme);
    apps::add_to_scheme(&mut scheme);
    events::add_to_scheme(&mut scheme);
    authorization::add_to_scheme(&mut scheme);
    rbac::add_to_scheme(&mut scheme);
    apiextensions::add_to_scheme(&mut scheme);
    apiregistration::add_to_scheme(&mut scheme);
    authentication::add_to_scheme(&mut scheme);
    scheme
}
// ANCHOR_END: new_scheme
