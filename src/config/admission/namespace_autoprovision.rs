//! NamespaceAutoProvision (`plugin/pkg/admission/namespace/autoprovision`): creating something
//! in a namespace that does not exist creates the namespace first. Off by default: most clusters
//! prefer a typo in `-n` to fail rather than make a namespace.
//!
//! It is a mutating plugin although it leaves the object alone, because it must act before the
//! validating NamespaceLifecycle looks for the namespace. A dry run creates nothing.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{loopback_write_options, AdmissionPlugin, Attributes, Clients, Operation};
use crate::config::admin_user;
use crate::scheme::meta::StatusError;

pub struct Provision {
    clients: Arc<Clients>,
}

impl Provision {
    pub fn new(clients: &Arc<Clients>) -> Provision {
        Provision {
            clients: Arc::clone(clients),
        }
    }
}

impl AdmissionPlugin for Provision {
    fn admit(&self, attrs: &Attributes, obj: &mut Value) -> Result<(), StatusError> {
        if attrs.operation != Operation::Create
            || attrs.dry_run
            || attrs.namespace.is_empty()
            || attrs.is("", "namespaces")
        {
            return Ok(());
        }
        let namespaces = self.clients.namespaces()?;
        match namespaces.get(attrs.namespace, attrs.namespace) {
            Ok(_) => return Ok(()),
            Err(e) if e.code() == 404 => {}
            Err(e) => return Err(attrs.forbidden(obj, &e.to_string())),
        }
        let ns = json!({"apiVersion": "v1", "kind": "Namespace",
                        "metadata": {"name": attrs.namespace}});
        match namespaces.create("", ns, &loopback_write_options(), &admin_user()) {
            Ok(_) => Ok(()),
            // Someone else made it meanwhile: what we wanted.
            Err(e) if e.code() == 409 => Ok(()),
            Err(e) => Err(attrs.forbidden(obj, &e.to_string())),
        }
    }
}
