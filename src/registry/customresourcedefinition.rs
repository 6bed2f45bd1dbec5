//! CustomResourceDefinition storage: `apiextensions-apiserver/pkg/registry/customresourcedefinition`
//! `REST.Delete`.
//!
//! The first delete of a CRD does not remove it: it sets the `deletionTimestamp`, adds the
//! `customresourcecleanup.apiextensions.k8s.io` finalizer and a `Terminating` condition. The
//! finalizer controller of the apiextensions-apiserver then deletes the CRD's objects and drops
//! the finalizer, and that last update removes the CRD.

use std::time::SystemTime;

use serde_json::{json, Value};

use super::store::{Deleted, Store};
use super::Rest;
use crate::apis::apiextensions::{set_condition, CUSTOM_RESOURCE_CLEANUP_FINALIZER};
use crate::config::authentication::UserInfo;
use crate::scheme::meta::StatusError;
use crate::scheme::parameter_codec::DeleteOptions;
use crate::scheme::{meta_str, set_meta};
use crate::util::time::rfc3339;

pub struct CustomResourceDefinitionRest {
    pub store: std::sync::Arc<Store>,
}

impl Rest for CustomResourceDefinitionRest {
    fn store(&self) -> &Store {
        &self.store
    }

    // ANCHOR: crd_delete
    fn delete(
        &self,
        _namespace: &str,
        name: &str,
        opts: &DeleteOptions,
        user: &UserInfo,
    ) -> Result<Deleted, StatusError> {
        let mut crd = self.store.get("", name)?;
        self.store.check_preconditions(&crd, opts)?;
        if !crd["metadata"]["deletionTimestamp"].is_null() {
            return self.store.delete("", name, opts, user);
        }
        self.store.admit_delete("", name, &crd, opts, user)?;
        set_meta(
            &mut crd,
            "deletionTimestamp",
            Value::String(rfc3339(SystemTime::now())),
        );
        set_meta(&mut crd, "deletionGracePeriodSeconds", json!(0));
        let mut finalizers = crd["metadata"]["finalizers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !finalizers
            .iter()
            .any(|f| f == CUSTOM_RESOURCE_CLEANUP_FINALIZER)
        {
            finalizers.push(json!(CUSTOM_RESOURCE_CLEANUP_FINALIZER));
        }
        set_meta(&mut crd, "finalizers", Value::Array(finalizers));
        set_condition(
            &mut crd,
            "Terminating",
            "True",
            "InstanceDeletionPending",
            "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
        );
        if opts.dry_run {
            return Ok(Deleted::Object(crd));
        }
        let revision = meta_str(&crd, "resourceVersion").parse().unwrap_or(0);
        let marked = self.store.write_back("", name, &crd, revision)?;
        Ok(Deleted::Object(marked))
    }
    // ANCHOR_END: crd_delete
}
