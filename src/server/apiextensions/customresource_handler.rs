//! The crdHandler: `apiextensions-apiserver/pkg/apiserver/customresource_handler.go`.
//!
//! Registered under `/apis/` on the apiextensions-apiserver, it sees every request the servers
//! in front of it left alone. A resource request is for a custom resource if a CRD is named
//! `<resource>.<group>`; it is served if that CRD serves the version, has the request's scope,
//! and has its names accepted or is established. Anything else goes to the delegate, the
//! NotFound handler. `/apis/<group>` and `/apis/<group>/<version>` of CRD groups are its
//! discovery documents.
//!
//! Each CRD's handlers (one generic [`ResourceHandler`] per served version, over one store)
//! are built at its first request and kept while its spec and accepted names stay the same:
//! the `crdInfo` of Go's handler.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::customresource::{resource_defs, storage_prefix};
use super::discovery;
use crate::apis::apiextensions::is_condition_true;
use crate::config::admission::AdmissionChain;
use crate::config::Config;
use crate::endpoints::handlers::{ResourceHandler, CUSTOM_RESOURCE_PATCH_TYPES};
use crate::http::{Handler, Request, Response};
use crate::registry::store::Store;
use crate::registry::Rest;
use crate::scheme::meta::StatusError;
use crate::server::generic::DelegationTarget;
use crate::server::lifecycle_signals::LifecycleSignals;
use crate::storage::Storage;

/// What building a custom resource's store and handlers takes from the server's config.
pub struct CustomResourceConfig {
    pub storage: Arc<dyn Storage>,
    pub etcd_prefix: String,
    pub admission: Arc<AdmissionChain>,
    pub lifecycle: Arc<LifecycleSignals>,
    pub min_request_timeout: Duration,
}

impl CustomResourceConfig {
    pub fn new(config: &Config) -> CustomResourceConfig {
        CustomResourceConfig {
            storage: Arc::clone(&config.storage),
            etcd_prefix: config.etcd_prefix.clone(),
            admission: Arc::clone(&config.admission),
            lifecycle: Arc::clone(&config.lifecycle),
            min_request_timeout: config.min_request_timeout,
        }
    }
}

/// `crdInfo`: what one CRD is served with, and what it was built from.
pub struct CrdInfo {
    uid: String,
    spec: Value,
    accepted_names: Value,
    /// One handler per served version, each over a store of that version's view.
    handlers: Vec<ResourceHandler>,
    /// The store of the storage version: where the finalizer lists and deletes from.
    pub storage_store: Arc<Store>,
}

impl CrdInfo {
    fn handler(&self, version: &str) -> Option<&ResourceHandler> {
        self.handlers.iter().find(|h| h.def.version == version)
    }

    /// Whether this info was built from `crd` as it is now.
    fn serves(&self, crd: &Value) -> bool {
        self.uid == crd["metadata"]["uid"].as_str().unwrap_or("")
            && self.spec == crd["spec"]
            && self.accepted_names == crd["status"]["acceptedNames"]
    }

    // ANCHOR: tear_down
    /// `tearDown`: ends the watches of every version. Go first waits for in-flight requests;
    /// here a request other than a watch has finished before another coroutine can run, and
    /// watches are long-running, which Go does not wait for either.
    fn tear_down(&self) {
        for h in &self.handlers {
            h.rest.store().destroy();
        }
        self.storage_store.destroy();
    }
    // ANCHOR_END: tear_down
}

// ANCHOR: serving_infos
/// `customStorage`: the `crdInfo` of every CRD that has been served, by name. An entry is
/// replaced when its CRD's uid, spec or accepted names change, and dropped when the CRD goes,
/// so it holds at most one entry per CRD that exists.
pub struct ServingInfos {
    config: CustomResourceConfig,
    infos: Mutex<HashMap<String, Arc<CrdInfo>>>,
}

impl ServingInfos {
    pub fn new(config: CustomResourceConfig) -> ServingInfos {
        ServingInfos {
            config,
            infos: Mutex::new(HashMap::new()),
        }
    }

    /// `getOrCreateServingInfoFor`.
    pub fn get_or_create(&self, crd: &Value) -> Result<Arc<CrdInfo>, StatusError> {
        let name = crd["metadata"]["name"].as_str().unwrap_or("").to_string();
        let mut infos = self.infos.lock().expect("serving infos");
        if let Some(info) = infos.get(&name) {
            if info.serves(crd) {
                return Ok(Arc::clone(info));
            }
        }
        let info = Arc::new(self.build(crd)?);
        if let Some(old) = infos.insert(name, Arc::clone(&info)) {
            old.tear_down();
        }
        Ok(info)
    }

    /// `updateCustomResourceDefinition`: a CRD whose uid, spec or accepted names changed loses
    /// its serving info, whose watches end; the next request builds a new one.
    pub fn update(&self, crd: &Value) {
        let name = crd["metadata"]["name"].as_str().unwrap_or("");
        let mut infos = self.infos.lock().expect("serving infos");
        if infos.get(name).is_some_and(|info| !info.serves(crd)) {
            if let Some(old) = infos.remove(name) {
                old.tear_down();
            }
        }
    }

    /// `removeDeadStorage`: forgets a CRD that is gone and ends its watches.
    pub fn remove(&self, name: &str) {
        if let Some(old) = self.infos.lock().expect("serving infos").remove(name) {
            old.tear_down();
        }
    }

    fn build(&self, crd: &Value) -> Result<CrdInfo, StatusError> {
        let storage_version = crate::apis::apiextensions::storage_version(crd).unwrap_or("");
        let config = &self.config;
        let mut handlers = Vec::new();
        let mut storage_store = None;
        for def in resource_defs(crd) {
            let store = Arc::new(Store::new_at(
                Arc::clone(&def),
                Arc::clone(&config.storage),
                &config.etcd_prefix,
                &storage_prefix(&def),
                Arc::clone(&config.admission),
            ));
            if def.version == storage_version {
                storage_store = Some(Arc::clone(&store));
            }
            handlers.push(ResourceHandler {
                def,
                rest: store as Arc<dyn Rest>,
                lifecycle: Arc::clone(&config.lifecycle),
                min_request_timeout: config.min_request_timeout,
                patch_types: CUSTOM_RESOURCE_PATCH_TYPES,
            });
        }
        // A storage version that is not served still holds the objects; its store reads them.
        let storage_store = match storage_store {
            Some(s) => s,
            None => storage_version_store(crd, config)?,
        };
        Ok(CrdInfo {
            uid: crd["metadata"]["uid"].as_str().unwrap_or("").to_string(),
            spec: crd["spec"].clone(),
            accepted_names: crd["status"]["acceptedNames"].clone(),
            handlers,
            storage_store,
        })
    }
}
// ANCHOR_END: serving_infos

/// The store of a CRD's storage version, served or not: where all its objects are.
pub fn storage_version_store(
    crd: &Value,
    config: &CustomResourceConfig,
) -> Result<Arc<Store>, StatusError> {
    let storage_version = crate::apis::apiextensions::storage_version(crd).unwrap_or("");
    let mut only_storage = crd.clone();
    for v in only_storage["spec"]["versions"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        v["served"] = Value::Bool(v["name"] == storage_version);
    }
    let def = resource_defs(&only_storage)
        .into_iter()
        .next()
        .ok_or_else(|| {
            StatusError::internal(format!(
                "customresourcedefinition {} has no storage version",
                crd["metadata"]["name"]
            ))
        })?;
    let prefix = storage_prefix(&def);
    Ok(Arc::new(Store::new_at(
        def,
        Arc::clone(&config.storage),
        &config.etcd_prefix,
        &prefix,
        Arc::clone(&config.admission),
    )))
}

// ANCHOR: namespaced_custom_resources
/// The stores of every namespaced custom resource: what a deleted namespace must also be
/// emptied of, as the namespace controller finds them through discovery.
pub fn namespaced_custom_resource_stores(
    crds: &Store,
    config: &CustomResourceConfig,
) -> Vec<Arc<Store>> {
    let Ok(list) = crds.list("", &crate::scheme::parameter_codec::ListOptions::default()) else {
        return Vec::new();
    };
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|crd| crd["spec"]["scope"] == "Namespaced")
        .filter_map(|crd| storage_version_store(crd, config).ok())
        .collect()
}
// ANCHOR_END: namespaced_custom_resources

pub struct CrdHandler {
    pub crds: Arc<Store>,
    pub lister: Arc<super::lister::CrdLister>,
    pub serving: Arc<ServingInfos>,
    /// The apiextensions-apiserver's delegate: the NotFound handler.
    pub delegate: Arc<dyn DelegationTarget>,
}

/// Verbs a namespaced resource answers without a namespace: across all of them.
const ACROSS_ALL_NAMESPACES_VERBS: &[&str] = &["list", "watch"];

// ANCHOR: crd_handler
impl Handler for CrdHandler {
    fn serve(&self, req: &mut Request) -> Response {
        let info = req.context.request_info.clone();
        if !info.is_resource_request {
            let parts: Vec<&str> = info.path.trim_matches('/').split('/').collect();
            let answer = match parts.as_slice() {
                ["apis", group, version] => discovery::version_document(&self.crds, group, version),
                ["apis", group] => discovery::group_document(&self.crds, group),
                _ => None,
            };
            return answer.unwrap_or_else(|| self.delegate.serve(req));
        }
        let crd_name = format!("{}.{}", info.resource, info.api_group);
        let crd = match self.lister.get(&crd_name) {
            Ok(crd) => crd,
            Err(e) if e.code() == 404 => {
                self.serving.remove(&crd_name);
                return self.delegate.serve(req);
            }
            Err(e) => return e.to_response(),
        };
        // A request of the wrong scope, or for a version the CRD does not serve, is not ours.
        let namespaced_crd = crd["spec"]["scope"] == "Namespaced";
        let namespaced_req = !info.namespace.is_empty();
        if (!namespaced_crd && namespaced_req)
            || (namespaced_crd
                && !namespaced_req
                && !ACROSS_ALL_NAMESPACES_VERBS.contains(&info.verb.as_str()))
            || !serves_version(&crd, &info.api_version)
        {
            return self.delegate.serve(req);
        }
        if !is_condition_true(&crd, "NamesAccepted") && !is_condition_true(&crd, "Established") {
            return self.delegate.serve(req);
        }
        if info.verb == "create"
            && info.subresource.is_empty()
            && is_condition_true(&crd, "Terminating")
        {
            let mut err = StatusError::method_not_supported(
                crate::scheme::meta::GroupResource {
                    group: &info.api_group,
                    resource: &info.resource,
                },
                "create",
            );
            err.0.message =
                "create not allowed while custom resource definition is terminating".into();
            return err.to_response();
        }
        let crd_info = match self.serving.get_or_create(&crd) {
            Ok(i) => i,
            Err(e) => return e.to_response(),
        };
        match crd_info.handler(&info.api_version) {
            Some(handler) => handler.serve(req),
            None => self.delegate.serve(req),
        }
    }
}
// ANCHOR_END: crd_handler

/// `HasServedCRDVersion`.
pub fn serves_version(crd: &Value, version: &str) -> bool {
    crd["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|v| v["name"] == version && v["served"] == true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn serving() -> ServingInfos {
        ServingInfos::new(CustomResourceConfig {
            storage: Arc::new(crate::storage::embedded::EmbeddedStore::new(10)),
            etcd_prefix: "/registry".into(),
            admission: Arc::new(AdmissionChain::new(&[], &[])),
            lifecycle: Arc::new(LifecycleSignals::default()),
            min_request_timeout: Duration::ZERO,
        })
    }

    fn crd(uid: &str, served_v1beta1: bool) -> Value {
        let schema = json!({"openAPIV3Schema": {"type": "object"}});
        json!({"metadata": {"name": "widgets.example.com", "uid": uid},
               "spec": {"group": "example.com", "scope": "Namespaced",
                        "names": {"plural": "widgets", "kind": "Widget"},
                        "versions": [{"name": "v1beta1", "served": served_v1beta1, "storage": true, "schema": schema},
                                     {"name": "v1", "served": true, "storage": false, "schema": schema}]},
               "status": {"acceptedNames": {"plural": "widgets", "singular": "widget", "kind": "Widget"}}})
    }

    #[test]
    fn serving_info_is_kept_until_the_crd_changes() {
        let infos = serving();
        let first = infos.get_or_create(&crd("u1", true)).unwrap();
        assert!(Arc::ptr_eq(
            &first,
            &infos.get_or_create(&crd("u1", true)).unwrap()
        ));
        assert!(first.handler("v1beta1").is_some() && first.handler("v1").is_some());
        let unserved = infos.get_or_create(&crd("u1", false)).unwrap();
        assert!(!Arc::ptr_eq(&first, &unserved));
        assert!(unserved.handler("v1beta1").is_none());
        // The storage version still holds the objects, served or not.
        assert_eq!(unserved.storage_store.def.version, "v1beta1");
        assert!(!Arc::ptr_eq(
            &unserved,
            &infos.get_or_create(&crd("u2", false)).unwrap()
        ));
        infos.remove("widgets.example.com");
        assert!(infos.infos.lock().unwrap().is_empty());
    }

    #[test]
    fn served_versions_are_the_ones_marked_served() {
        assert!(serves_version(&crd("u", false), "v1"));
        assert!(!serves_version(&crd("u", false), "v1beta1"));
        assert!(!serves_version(&crd("u", true), "v2"));
    }
}
