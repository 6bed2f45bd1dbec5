//! Registries: the REST storage behind each resource (book chapter 4, `ch04-server-chain.md`).
//!
//! Mirrors `k8s.io/apiserver/pkg/registry/generic/registry.Store`: the one generic store that,
//! given a kind's strategy, implements create, get, list, update, delete and watch on top of the
//! storage interface, with admission run in the right place. Kinds whose REST is special wrap it:
//! [`namespace`] (deletion through the `kubernetes` finalizer). Kinds that only add to the
//! generic writes set its hooks instead: [`service`] (cluster IPs and node ports).
//!
//! - [`store`]: the generic store.
//! - [`rbac`]: roles and bindings behind the escalation checks, aggregation, the bootstrap policy.
//! - [`authorization`]: the access reviews, answered and never stored.
//! - [`customresourcedefinition`]: CRD deletion through the cleanup finalizer.
//! - [`namespace`]: namespace deletion and finalization.
//! - [`selfsubjectreview`]: the create-only, never-stored SelfSubjectReview.
//! - [`service`]: the Service storage and its allocators.
//! - [`watch`]: turning storage events into the watch stream a client reads.

pub mod authorization;
pub mod customresourcedefinition;
pub mod namespace;
pub mod rbac;
pub mod selfsubjectreview;
pub mod service;
pub mod store;
pub mod watch;

use serde_json::Value;

use crate::config::authentication::UserInfo;
use crate::scheme::meta::StatusError;
use crate::scheme::parameter_codec::{DeleteOptions, WriteOptions};
use store::{Deleted, Store, UpdatedObject};

/// The REST storage of one resource, as the endpoint handlers see it: the generic store, and a
/// create, update and delete that a kind may override (kube-apiserver's per-kind `REST` types
/// wrap `registry.Store` the same way: RBAC's refuse escalation, the reviews store nothing).
pub trait Rest: Send + Sync {
    fn store(&self) -> &Store;

    /// `rest.Creater`. A kind that computes its answer instead of storing it (a review)
    /// overrides this.
    fn create(
        &self,
        namespace: &str,
        obj: Value,
        opts: &WriteOptions,
        user: &UserInfo,
    ) -> Result<Value, StatusError> {
        self.store().create(namespace, obj, opts, user)
    }

    /// An update of the main resource (PUT, PATCH, apply), the object computed from the stored.
    fn update(
        &self,
        namespace: &str,
        name: &str,
        updated: &UpdatedObject,
        opts: &WriteOptions,
        user: &UserInfo,
    ) -> Result<Value, StatusError> {
        self.store()
            .update_with(namespace, name, updated, opts, user)
    }

    fn delete(
        &self,
        namespace: &str,
        name: &str,
        opts: &DeleteOptions,
        user: &UserInfo,
    ) -> Result<Deleted, StatusError> {
        self.store().delete(namespace, name, opts, user)
    }
}

impl Rest for Store {
    fn store(&self) -> &Store {
        self
    }
}
