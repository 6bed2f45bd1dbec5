//! Namespace deletion: `pkg/registry/core/namespace/storage.REST.Delete`, plus the work of the
//! namespace controller in kube-controller-manager, which this server has no other process for.
//!
//! Deleting a namespace marks it `Terminating` (it carries the `kubernetes` finalizer); then
//! everything in it is deleted, the finalizer removed, and the namespace itself goes. kube-apiserver
//! leaves the second half to the controller, which runs moments later; we do it before answering,
//! so a client's `kubectl delete ns` finds it gone at its first poll.

use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{json, Value};

use super::store::{Deleted, Store};
use super::Rest;
use crate::apis::core::NAMESPACE_FINALIZER;
use crate::config::authentication::UserInfo;
use crate::scheme::meta::StatusError;
use crate::scheme::parameter_codec::DeleteOptions;
use crate::scheme::{meta_str, set_meta};
use crate::util::time::rfc3339;

pub struct NamespaceRest {
    pub namespaces: Arc<Store>,
    /// The stores of every namespaced resource, whose contents a deleted namespace takes along.
    pub namespaced: Vec<Arc<Store>>,
    /// The stores of the namespaced custom resources, asked for at each deletion because CRDs
    /// come and go.
    pub custom_resources: Box<dyn Fn() -> Vec<Arc<Store>> + Send + Sync>,
}

impl Rest for NamespaceRest {
    fn store(&self) -> &Store {
        &self.namespaces
    }

    // ANCHOR: namespace_delete
    fn delete(
        &self,
        _ns: &str,
        name: &str,
        opts: &DeleteOptions,
        user: &UserInfo,
    ) -> Result<Deleted, StatusError> {
        let store = &self.namespaces;
        let mut ns = store.get(name, name)?;
        store.check_preconditions(&ns, opts)?;
        store.admit_delete(name, name, &ns, opts, user)?;
        if opts.dry_run {
            return Ok(Deleted::Object(ns));
        }
        if ns["metadata"]["deletionTimestamp"].is_null() {
            set_meta(
                &mut ns,
                "deletionTimestamp",
                Value::String(rfc3339(SystemTime::now())),
            );
            ns["status"] = json!({"phase": "Terminating"});
            ns = self.write_back(&ns)?;
        }
        let terminating = ns.clone();
        self.finalize(ns)?;
        Ok(Deleted::Object(terminating))
    }
    // ANCHOR_END: namespace_delete
}

impl NamespaceRest {
    fn write_back(&self, ns: &Value) -> Result<Value, StatusError> {
        let name = meta_str(ns, "name");
        let rv: u64 = meta_str(ns, "resourceVersion").parse().unwrap_or(0);
        self.namespaces.write_back(name, name, ns, rv)
    }

    /// The namespace controller's job: empty the namespace, drop our finalizer, and let the
    /// namespace go once no finalizer is left.
    fn finalize(&self, mut ns: Value) -> Result<(), StatusError> {
        let name = meta_str(&ns, "name").to_string();
        let custom = (self.custom_resources)();
        for store in self.namespaced.iter().chain(&custom) {
            let prefix = store.key_prefix(&name);
            let (kvs, _) = store
                .storage()
                .list(&prefix)
                .map_err(|e| store.storage_error("", e))?;
            for kv in kvs {
                let obj = store.decode(&kv)?;
                store.remove(&name, meta_str(&obj, "name"))?;
            }
        }
        let finalizers: Vec<Value> = ns["spec"]["finalizers"]
            .as_array()
            .map(|f| {
                f.iter()
                    .filter(|x| *x != NAMESPACE_FINALIZER)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        ns["spec"]["finalizers"] = Value::Array(finalizers);
        let metadata_finalizers_left = ns["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        if ns["spec"]["finalizers"]
            .as_array()
            .is_some_and(|f| f.is_empty())
            && !metadata_finalizers_left
        {
            return self.namespaces.remove(&name, &name);
        }
        self.write_back(&ns).map(|_| ())
    }
}
