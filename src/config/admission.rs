//! Admission: the last say on a write, after authorization and before storage (book chapter 3).
//! Mirrors `k8s.io/apiserver/pkg/admission` (`Attributes`, `MutationInterface`,
//! `ValidationInterface`, the plugin chain) and kube-apiserver's `--enable-admission-plugins` /
//! `--disable-admission-plugins`.
//!
//! Plugins run in a fixed order whatever order the flags name them in, mutating ones first, as in
//! kube-apiserver. The one plugin so far is NamespaceLifecycle.

use std::sync::Arc;

use serde_json::Value;

use crate::config::authentication::UserInfo;
use crate::scheme::meta::{GroupResource, StatusError};
use crate::scheme::ResourceDef;
use crate::storage::Storage;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
}

/// `admission.Attributes`: what is being done to which object by whom.
pub struct Attributes<'a> {
    pub operation: Operation,
    pub def: &'a ResourceDef,
    pub namespace: &'a str,
    pub name: &'a str,
    pub user: &'a UserInfo,
}

pub trait AdmissionPlugin: Send + Sync {
    fn name(&self) -> &'static str;
    /// `MutationInterface.Admit`: may change the object.
    fn admit(&self, _attrs: &Attributes, _obj: &mut Value) -> Result<(), StatusError> {
        Ok(())
    }
    /// `ValidationInterface.Validate`: may only refuse.
    fn validate(&self, _attrs: &Attributes, _obj: &Value) -> Result<(), StatusError> {
        Ok(())
    }
}

/// The plugins we have, in the order they run (kube-apiserver's `AllOrderedPlugins`).
pub const ORDERED_PLUGINS: &[&str] = &["NamespaceLifecycle"];

#[derive(Default)]
pub struct AdmissionChain {
    plugins: Vec<Arc<dyn AdmissionPlugin>>,
}

impl AdmissionChain {
    // ANCHOR: admission_chain
    /// The enabled plugins: kube-apiserver's default-on set (all of ours), plus `enable`, minus
    /// `disable`, in `ORDERED_PLUGINS` order.
    pub fn new(
        enable: &[String],
        disable: &[String],
        storage: Arc<dyn Storage>,
        etcd_prefix: &str,
    ) -> AdmissionChain {
        let mut plugins: Vec<Arc<dyn AdmissionPlugin>> = Vec::new();
        for name in ORDERED_PLUGINS {
            let on = enable.iter().any(|e| e == name) || !disable.iter().any(|d| d == name);
            if !on {
                continue;
            }
            match *name {
                "NamespaceLifecycle" => plugins.push(Arc::new(NamespaceLifecycle {
                    storage: Arc::clone(&storage),
                    prefix: format!("{}/namespaces/", etcd_prefix.trim_end_matches('/')),
                })),
                other => unreachable!("admission plugin {other} is listed but not built"),
            }
        }
        AdmissionChain { plugins }
    }
    // ANCHOR_END: admission_chain

    pub fn names(&self) -> Vec<&'static str> {
        self.plugins.iter().map(|p| p.name()).collect()
    }

    pub fn admit(&self, attrs: &Attributes, obj: &mut Value) -> Result<(), StatusError> {
        self.plugins.iter().try_for_each(|p| p.admit(attrs, obj))
    }

    pub fn validate(&self, attrs: &Attributes, obj: &Value) -> Result<(), StatusError> {
        self.plugins.iter().try_for_each(|p| p.validate(attrs, obj))
    }
}

/// The namespaces that exist from the start and may not be deleted.
pub const IMMORTAL_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public"];

/// `plugin/pkg/admission/namespace/lifecycle`: nothing is created in a namespace that does not
/// exist or is being deleted, and the immortal namespaces stay.
pub struct NamespaceLifecycle {
    storage: Arc<dyn Storage>,
    prefix: String,
}

impl AdmissionPlugin for NamespaceLifecycle {
    fn name(&self) -> &'static str {
        "NamespaceLifecycle"
    }

    // ANCHOR: namespace_lifecycle
    fn validate(&self, attrs: &Attributes, _obj: &Value) -> Result<(), StatusError> {
        let gr = attrs.def.group_resource();
        if attrs.def.resource == "namespaces" {
            if attrs.operation == Operation::Delete && IMMORTAL_NAMESPACES.contains(&attrs.name) {
                return Err(StatusError::forbidden(
                    gr,
                    attrs.name,
                    "this namespace may not be deleted",
                ));
            }
            return Ok(());
        }
        if !attrs.def.namespaced || attrs.operation != Operation::Create {
            return Ok(());
        }
        let ns_gr = GroupResource {
            group: "",
            resource: "namespaces",
        };
        let stored = self
            .storage
            .get(&format!("{}{}", self.prefix, attrs.namespace))
            .map_err(StatusError::internal)?;
        let Some(kv) = stored else {
            return Err(StatusError::not_found(ns_gr, attrs.namespace));
        };
        let ns: Value = serde_json::from_slice(&kv.value).map_err(StatusError::internal)?;
        if ns["status"]["phase"] == "Terminating" {
            return Err(StatusError::forbidden(
                gr,
                attrs.name,
                &format!(
                    "unable to create new content in namespace {} because it is being terminated",
                    attrs.namespace
                ),
            ));
        }
        Ok(())
    }
    // ANCHOR_END: namespace_lifecycle
}
