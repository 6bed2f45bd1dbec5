//! The `CRDFinalizer` (`pkg/controller/finalizer/crd_finalizer.go`): a CRD that is being
//! deleted first loses its objects, then its `customresourcecleanup.apiextensions.k8s.io`
//! finalizer, and with it its last reason to stay. The `Terminating` condition tells a reader
//! how far it got.

use std::sync::Arc;

use serde_json::Value;

use super::{status_write_options, update_status};
use crate::apis::apiextensions::{
    is_condition_true, set_condition, CUSTOM_RESOURCE_CLEANUP_FINALIZER,
};
use crate::config::admin_user;
use crate::registry::store::Store;
use crate::scheme::meta_str;
use crate::scheme::parameter_codec::{DeleteOptions, ListOptions};
use crate::server::apiextensions::customresource_handler::ServingInfos;

pub struct CrdFinalizer {
    pub crds: Arc<Store>,
    /// The crdHandler's storage, which Go's finalizer reaches as its `crClientGetter`.
    pub serving: Arc<ServingInfos>,
}

/// `Terminating` as `(status, reason, message)`.
type Condition = (&'static str, &'static str, String);

impl CrdFinalizer {
    // ANCHOR: finalize
    pub fn sync(&self, crd: &Value) -> Result<(), String> {
        let has_finalizer = crd["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x == CUSTOM_RESOURCE_CLEANUP_FINALIZER));
        if crd["metadata"]["deletionTimestamp"].is_null() || !has_finalizer {
            return Ok(());
        }
        let opts = status_write_options();
        let condition = |crd: &Value, (status, reason, message): &Condition| {
            update_status(&self.crds, crd, &opts, &|stored: &Value| {
                let mut new = stored.clone();
                set_condition(&mut new, "Terminating", status, reason, message);
                new
            })
        };
        // Marked once: a retry that rewrote it would wake every watcher of CRDs for nothing.
        let pending = crate::apis::apiextensions::find_condition(crd, "Terminating")
            .is_some_and(|c| c["reason"] == "InstanceDeletionPending");
        if pending {
            condition(
                crd,
                &(
                    "True",
                    "InstanceDeletionInProgress",
                    "CustomResource deletion is in progress".into(),
                ),
            )?;
        }
        let done = if is_condition_true(crd, "Established") {
            let outcome = self.delete_instances(crd);
            if outcome.0 == "True" {
                // Some objects are left (their own finalizers keep them): try again later.
                return condition(crd, &outcome);
            }
            outcome
        } else {
            (
                "False",
                "NeverEstablished",
                "resource was never established".into(),
            )
        };
        condition(crd, &done)?;
        let name = meta_str(crd, "name");
        self.crds
            .update_with(
                "",
                name,
                &|stored: &Value| {
                    let mut new = stored.clone();
                    if let Some(f) = new["metadata"]["finalizers"].as_array_mut() {
                        f.retain(|x| x != CUSTOM_RESOURCE_CLEANUP_FINALIZER);
                    }
                    Ok(new)
                },
                &opts,
                &admin_user(),
            )
            .map(|_| ())
            .or_else(|e| {
                if e.code() == 404 {
                    Ok(())
                } else {
                    Err(e.to_string())
                }
            })?;
        self.serving.remove(name);
        log::info!("customresourcedefinition {name}: instances removed, finalized");
        Ok(())
    }
    // ANCHOR_END: finalize

    /// `deleteInstances`: every object through the store's delete (admission included), then
    /// a list to see that none is left.
    fn delete_instances(&self, crd: &Value) -> Condition {
        let failed = |message: String| ("True", "InstanceDeletionFailed", message);
        let info = match self.serving.get_or_create(crd) {
            Ok(i) => i,
            Err(e) => return failed(format!("could not list instances: {e}")),
        };
        let store = &info.storage_store;
        let list = match store.list("", &ListOptions::default()) {
            Ok(l) => l,
            Err(e) => return failed(format!("could not list instances: {e}")),
        };
        for item in list["items"].as_array().into_iter().flatten() {
            let (ns, name) = (meta_str(item, "namespace"), meta_str(item, "name"));
            match store.delete(ns, name, &DeleteOptions::default(), &admin_user()) {
                Ok(_) => {}
                Err(e) if e.code() == 404 => {}
                Err(e) => return failed(format!("could not issue all deletes: {e}")),
            }
        }
        match store.list("", &ListOptions::default()) {
            Ok(l) if l["items"].as_array().is_none_or(|i| i.is_empty()) => (
                "False",
                "InstanceDeletionCompleted",
                "removed all instances".into(),
            ),
            Ok(l) => (
                "True",
                "InstanceDeletionCheck",
                format!(
                    "could not confirm zero CustomResources remaining: {} left",
                    l["items"].as_array().map_or(0, Vec::len)
                ),
            ),
            Err(e) => (
                "True",
                "InstanceDeletionCheck",
                format!("could not confirm zero CustomResources remaining: {e}"),
            ),
        }
    }
}
