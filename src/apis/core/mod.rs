//! The legacy core group, served at `/api/v1` (book chapter 1). Mirrors `pkg/apis/core`
//! (types, defaulting), `pkg/apis/core/validation` and the strategies in `pkg/registry/core/*`,
//! one module per kind:
//!
//! - [`namespace`] holds Namespace;
//! - [`configmap`] holds ConfigMap;
//! - [`event`] holds Event;
//! - [`secret`] holds Secret;
//! - [`serviceaccount`] holds ServiceAccount.

pub mod configmap;
pub mod event;
pub mod namespace;
pub mod secret;
pub mod serviceaccount;

use std::sync::Arc;

use crate::scheme::{ResourceDef, Scheme, ALL_VERBS};
use configmap::ConfigMapStrategy;
use event::EventStrategy;
use namespace::NamespaceStrategy;
use secret::SecretStrategy;
use serviceaccount::ServiceAccountStrategy;

pub use namespace::NAMESPACE_FINALIZER;

// ANCHOR: add_to_scheme
/// Registers the core kinds: `core.AddToScheme` in kube-apiserver.
pub fn add_to_scheme(scheme: &mut Scheme) {
    scheme.add_known_type(ResourceDef {
        group: "",
        version: "v1",
        kind: "Namespace",
        resource: "namespaces",
        singular: "namespace",
        namespaced: false,
        short_names: &["ns"],
        categories: &[],
        verbs: &[
            "create", "delete", "get", "list", "patch", "update", "watch",
        ],
        fields: &["metadata", "spec", "status"],
        selectable_fields: &["status.phase"],
        strategy: Arc::new(NamespaceStrategy),
    });
    scheme.add_known_type(ResourceDef {
        group: "",
        version: "v1",
        kind: "ConfigMap",
        resource: "configmaps",
        singular: "configmap",
        namespaced: true,
        short_names: &["cm"],
        categories: &[],
        verbs: ALL_VERBS,
        fields: &["metadata", "data", "binaryData", "immutable"],
        selectable_fields: &[],
        strategy: Arc::new(ConfigMapStrategy),
    });
    scheme.add_known_type(ResourceDef {
        group: "",
        version: "v1",
        kind: "Secret",
        resource: "secrets",
        singular: "secret",
        namespaced: true,
        short_names: &[],
        categories: &[],
        verbs: ALL_VERBS,
        fields: &["metadata", "data", "stringData", "type", "immutable"],
        selectable_fields: &["type"],
        strategy: Arc::new(SecretStrategy),
    });
    scheme.add_known_type(ResourceDef {
        group: "",
        version: "v1",
        kind: "ServiceAccount",
        resource: "serviceaccounts",
        singular: "serviceaccount",
        namespaced: true,
        short_names: &["sa"],
        categories: &[],
        verbs: ALL_VERBS,
        fields: &[
            "metadata",
            "secrets",
            "imagePullSecrets",
            "automountServiceAccountToken",
        ],
        selectable_fields: &[],
        strategy: Arc::new(ServiceAccountStrategy),
    });
    scheme.add_known_type(ResourceDef {
        group: "",
        version: "v1",
        kind: "Event",
        resource: "events",
        singular: "event",
        namespaced: true,
        short_names: &["ev"],
        categories: &[],
        verbs: ALL_VERBS,
        fields: &[
            "metadata",
            "involvedObject",
            "reason",
            "message",
            "source",
            "firstTimestamp",
            "lastTimestamp",
            "count",
            "type",
            "eventTime",
            "series",
            "action",
            "related",
            "reportingComponent",
            "reportingInstance",
        ],
        selectable_fields: event::SELECTABLE_FIELDS,
        strategy: Arc::new(EventStrategy),
    });
}
// ANCHOR_END: add_to_scheme
