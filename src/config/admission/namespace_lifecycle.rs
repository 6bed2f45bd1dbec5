//! NamespaceLifecycle (`plugin/pkg/admission/namespace/lifecycle`): nothing is created in a
//! namespace that does not exist or is being deleted, and the namespaces every cluster relies on
//! may not be deleted at all.

use std::sync::Arc;

use serde_json::Value;

use super::namespace_exists::NAMESPACES;
use super::{AdmissionPlugin, Attributes, Clients, Operation};
use crate::scheme::meta::{StatusCause, StatusError};

/// The namespaces that exist from the start and may not be deleted.
pub const IMMORTAL_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public"];

pub struct Lifecycle {
    clients: Arc<Clients>,
}

impl Lifecycle {
    pub fn new(clients: &Arc<Clients>) -> Lifecycle {
        Lifecycle {
            clients: Arc::clone(clients),
        }
    }
}

impl AdmissionPlugin for Lifecycle {
    // ANCHOR: namespace_lifecycle
    fn validate(&self, attrs: &Attributes, obj: &Value) -> Result<(), StatusError> {
        if attrs.def.group.is_empty() && attrs.def.resource == "namespaces" {
            if attrs.operation == Operation::Delete && IMMORTAL_NAMESPACES.contains(&attrs.name) {
                return Err(attrs.forbidden(obj, "this namespace may not be deleted"));
            }
            return Ok(());
        }
        // Deletes are always allowed: they are how a terminating namespace empties.
        if attrs.namespace.is_empty() || attrs.operation == Operation::Delete {
            return Ok(());
        }
        let ns = match self
            .clients
            .namespaces()?
            .get(attrs.namespace, attrs.namespace)
        {
            Ok(ns) => ns,
            Err(e) if e.code() == 404 => {
                return Err(StatusError::not_found(NAMESPACES, attrs.namespace))
            }
            Err(e) => return Err(StatusError::internal(e)),
        };
        if attrs.operation == Operation::Create && ns["status"]["phase"] == "Terminating" {
            let mut err = attrs.forbidden(
                obj,
                &format!(
                    "unable to create new content in namespace {} because it is being terminated",
                    attrs.namespace
                ),
            );
            if let Some(details) = err.0.details.as_mut() {
                details.causes.push(StatusCause {
                    reason: "NamespaceTerminating".into(),
                    message: format!("namespace {} is being terminated", attrs.namespace),
                    field: "metadata.namespace".into(),
                });
            }
            return Err(err);
        }
        Ok(())
    }
    // ANCHOR_END: namespace_lifecycle
}
