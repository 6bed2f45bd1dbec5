//! The legacy core group, served at `/api/v1` (book chapter 1). Mirrors `pkg/apis/core`
//! (types, defaulting), `pkg/apis/core/validation` and the strategies in `pkg/registry/core/*`,
//! one module per kind:
//!
//! - [`namespace`] holds Namespace;
//! - [`pod`] holds Pod, and the pod spec Deployment's template shares;
//! - [`service`] holds Service;
//! - [`configmap`] holds ConfigMap;
//! - [`endpoints`] holds Endpoints, which the aggregator reads to reach a Service's backend;
//! - [`event`] holds Event;
//! - [`secret`] holds Secret;
//! - [`serviceaccount`] holds ServiceAccount;
//! - [`limitrange`] holds LimitRange;
//! - [`resourcequota`] holds ResourceQuota.

pub mod configmap;
pub mod endpoints;
pub mod event;
pub mod limitrange;
pub mod namespace;
pub mod pod;
pub mod resourcequota;
pub mod secret;
pub mod service;
pub mod serviceaccount;

use std::sync::Arc;

use crate::scheme::schema::{field, Struct, Type};
use crate::scheme::{ResourceDef, Scheme, Subresource, ALL_VERBS};
use configmap::ConfigMapStrategy;
use endpoints::EndpointsStrategy;
use event::EventStrategy;
use limitrange::LimitRangeStrategy;
use namespace::NamespaceStrategy;
use pod::PodStrategy;
use resourcequota::ResourceQuotaStrategy;
use secret::SecretStrategy;
use service::ServiceStrategy;
use serviceaccount::ServiceAccountStrategy;

pub use namespace::NAMESPACE_FINALIZER;

/// `v1.ObjectReference`: a pointer to any object.
pub static OBJECT_REFERENCE: Struct = Struct {
    name: "io.k8s.api.core.v1.ObjectReference",
    description: "A reference to an object, enough to find it.",
    fields: &[
        field(1, "kind", Type::String, "Kind of the referent."),
        field(2, "namespace", Type::String, "Namespace of the referent."),
        field(3, "name", Type::String, "Name of the referent."),
        field(4, "uid", Type::String, "UID of the referent."),
        field(
            5,
            "apiVersion",
            Type::String,
            "API version of the referent.",
        ),
        field(
            6,
            "resourceVersion",
            Type::String,
            "The referent's resourceVersion when the reference was made.",
        ),
        field(
            7,
            "fieldPath",
            Type::String,
            "A part of the referent, such as spec.containers{name}.",
        ),
    ],
};

/// `v1.LocalObjectReference`: an object in the same namespace, by name.
pub static LOCAL_OBJECT_REFERENCE: Struct = Struct {
    name: "io.k8s.api.core.v1.LocalObjectReference",
    description: "A reference to an object in the same namespace.",
    fields: &[field(1, "name", Type::String, "Name of the referent.")],
};

// ANCHOR: add_to_scheme
/// Registers the core kinds: `core.AddToScheme` in kube-apiserver.
pub fn add_to_scheme(scheme: &mut Scheme) {
    scheme.add_known_type(ResourceDef {
        group: "".into(),
        version: "v1".into(),
        kind: "Namespace".into(),
        resource: "namespaces".into(),
        singular: "namespace".into(),
        namespaced: false,
        short_names: crate::scheme::names(&["ns"]),
        categories: Vec::new(),
        verbs: &[
            "create", "delete", "get", "list", "patch", "update", "watch",
        ],
        schema: &namespace::NAMESPACE,
        selectable_fields: &["status.phase"],
        subresources: &[Subresource::Status],
        strategy: Arc::new(NamespaceStrategy),
    });
    scheme.add_known_type(ResourceDef {
        group: "".into(),
        version: "v1".into(),
        kind: "ConfigMap".into(),
        resource: "configmaps".into(),
        singular: "configmap".into(),
        namespaced: true,
        short_names: crate::scheme::names(&["cm"]),
        categories: Vec::new(),
        verbs: ALL_VERBS,
        schema: &configmap::CONFIG_MAP,
        selectable_fields: &[],
        subresources: &[],
        strategy: Arc::new(ConfigMapStrategy),
    });
    scheme.add_known_type(ResourceDef {
        group: "".into(),
        version: "v1".into(),
        kind: "Endpoints".into(),
        resource: "endpoints".into(),
        singular: "endpoints".into(),
        namespaced: true,
        short_names: crate::scheme::names(&["ep"]),
        categories: Vec::new(),
        verbs: ALL_VERBS,
        schema: &endpoints::ENDPOINTS,
        selectable_fields: &[],
        subresources: &[],
        strategy: Arc::new(EndpointsStrategy),
    });
    scheme.add_known_type(ResourceDef {
        group: "".into(),
        version: "v1".into(),
        kind: "Secret".into(),
        resource: "secrets".into(),
        singular: "secret".into(),
        namespaced: true,
        short_names: Vec::new(),
        categories: Vec::new(),
        verbs: ALL_VERBS,
        schema: &secret::SECRET,
        selectable_fields: &["type"],
        subresources: &[],
        strategy: Arc::new(SecretStrategy),
    });
    scheme.add_known_type(ResourceDef {
        group: "".into(),
        version: "v1".into(),
        kind: "ServiceAccount".into(),
        resource: "serviceaccounts".into(),
        singular: "serviceaccount".into(),
        namespaced: true,
        short_names: crate::scheme::names(&["sa"]),
        categories: Vec::new(),
        verbs: ALL_VERBS,
        schema: &serviceaccount::SERVICE_ACCOUNT,
        selectable_fields: &[],
        subresources: &[],
        strategy: Arc::new(ServiceAccountStrategy),
    });
    scheme.add_known_type(ResourceDef {
        group: "".into(),
        version: "v1".into(),
        kind: "Event".into(),
        resource: "events".into(),
        singular: "event".into(),
        namespaced: true,
        short_names: crate::scheme::names(&["ev"]),
        categories: Vec::new(),
        verbs: ALL_VERBS,
        schema: &event::EVENT,
        selectable_fields: event::SELECTABLE_FIELDS,
        subresources: &[],
        strategy: Arc::new(EventStrategy),
    });
    scheme.add_known_type(ResourceDef {
        group: "".into(),
        version: "v1".into(),
        kind: "Pod".into(),
        resource: "pods".into(),
        singular: "pod".into(),
        namespaced: true,
        short_names: crate::scheme::names(&["po"]),
        categories: crate::scheme::names(&["all"]),
        verbs: ALL_VERBS,
        schema: &pod::POD,
        selectable_fields: pod::SELECTABLE_FIELDS,
        subresources: &[Subresource::Status],
        strategy: Arc::new(PodStrategy),
    });
    scheme.add_known_type(ResourceDef {
        group: "".into(),
        version: "v1".into(),
        kind: "Service".into(),
        resource: "services".into(),
        singular: "service".into(),
        namespaced: true,
        short_names: crate::scheme::names(&["svc"]),
        categories: crate::scheme::names(&["all"]),
        verbs: ALL_VERBS,
        schema: &service::SERVICE,
        selectable_fields: service::SELECTABLE_FIELDS,
        subresources: &[Subresource::Status],
        strategy: Arc::new(ServiceStrategy),
    });
    scheme.add_known_type(ResourceDef {
        group: "".into(),
        version: "v1".into(),
        kind: "LimitRange".into(),
        resource: "limitranges".into(),
        singular: "limitrange".into(),
        namespaced: true,
        short_names: crate::scheme::names(&["limits"]),
        categories: Vec::new(),
        verbs: ALL_VERBS,
        schema: &limitrange::LIMIT_RANGE,
        selectable_fields: &[],
        subresources: &[],
        strategy: Arc::new(LimitRangeStrategy),
    });
    scheme.add_known_type(ResourceDef {
        group: "".into(),
        version: "v1".into(),
        kind: "ResourceQuota".into(),
        resource: "resourcequotas".into(),
        singular: "resourcequota".into(),
        namespaced: true,
        short_names: crate::scheme::names(&["quota"]),
        categories: Vec::new(),
        verbs: ALL_VERBS,
        schema: &resourcequota::RESOURCE_QUOTA,
        selectable_fields: &[],
        subresources: &[Subresource::Status],
        strategy: Arc::new(ResourceQuotaStrategy),
    });
}
// ANCHOR_END: add_to_scheme
