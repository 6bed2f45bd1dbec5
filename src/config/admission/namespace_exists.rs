//! NamespaceExists (`plugin/pkg/admission/namespace/exists`): a write into a namespace that does
//! not exist is refused with the namespace's 404. NamespaceLifecycle does this and more, so this
//! plugin is off by default; it is for clusters that want the check without the rest.

use std::sync::Arc;

use serde_json::Value;

use super::{AdmissionPlugin, Attributes, Clients};
use crate::scheme::meta::{GroupResource, StatusError};

pub struct Exists {
    clients: Arc<Clients>,
}

impl Exists {
    pub fn new(clients: &Arc<Clients>) -> Exists {
        Exists {
            clients: Arc::clone(clients),
        }
    }
}

pub(super) const NAMESPACES: GroupResource<'static> = GroupResource {
    group: "",
    resource: "namespaces",
};

impl AdmissionPlugin for Exists {
    fn validate(&self, attrs: &Attributes, _obj: &Value) -> Result<(), StatusError> {
        if attrs.namespace.is_empty() || attrs.is("", "namespaces") {
            return Ok(());
        }
        let namespaces = self.clients.namespaces()?;
        match namespaces.get(attrs.namespace, attrs.namespace) {
            Ok(_) => Ok(()),
            Err(e) if e.code() == 404 => Err(StatusError::not_found(NAMESPACES, attrs.namespace)),
            Err(e) => Err(StatusError::internal(e)),
        }
    }
}
