//! The `crdRegistrationController` (`pkg/controlplane/controller/crdregistration`): a local
//! APIService for every group/version some CRD serves, and none once no CRD does, so that
//! `/apis` and `kubectl get apiservices` show CRD groups beside the built-in ones.
//!
//! Like the apiextensions controllers, it is a coroutine over a storage watch of the CRDs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::apis::apiregistration::crd_api_service;
use crate::config::admin_user;
use crate::registry::store::Store;
use crate::scheme::codec::FieldValidation;
use crate::scheme::parameter_codec::{DeleteOptions, ListOptions, WriteOptions};
use crate::server::lifecycle_signals::LifecycleSignals;
use crate::storage::WatchMessage;

/// The label value of APIServices that are kept in step with the CRDs.
const MANAGED_CONTINUOUSLY: &str = "true";

/// How often the APIServices are checked again without a CRD change (one we missed, or an
/// APIService someone deleted).
const RESYNC: Duration = Duration::from_secs(10);

pub struct CrdRegistrationController {
    pub crds: Arc<Store>,
    pub api_services: Arc<Store>,
}

impl CrdRegistrationController {
    /// `(group, version)` of every served version of every CRD.
    fn wanted(&self) -> Vec<(String, String)> {
        let Ok(list) = self.crds.list("", &ListOptions::default()) else {
            return Vec::new();
        };
        let mut out: Vec<(String, String)> = Vec::new();
        for crd in list["items"].as_array().into_iter().flatten() {
            let group = crd["spec"]["group"].as_str().unwrap_or("");
            for v in crd["spec"]["versions"].as_array().into_iter().flatten() {
                let version = v["name"].as_str().unwrap_or("");
                let gv = (group.to_string(), version.to_string());
                if v["served"] == true && !group.is_empty() && !out.contains(&gv) {
                    out.push(gv);
                }
            }
        }
        out
    }

    // ANCHOR: crd_registration_sync
    /// Creates the APIServices that are missing and deletes the managed ones no CRD needs.
    pub fn sync(&self) {
        let wanted = self.wanted();
        let Ok(existing) = self.api_services.list("", &ListOptions::default()) else {
            return;
        };
        let existing = existing["items"].as_array().cloned().unwrap_or_default();
        let opts = WriteOptions {
            dry_run: false,
            field_manager: "kube-aggregator".into(),
            field_validation: FieldValidation::Strict,
            force: None,
        };
        for (group, version) in &wanted {
            let name = format!("{version}.{group}");
            if existing.iter().any(|s| s["metadata"]["name"] == name) {
                continue;
            }
            match self.api_services.create(
                "",
                crd_api_service(group, version),
                &opts,
                &admin_user(),
            ) {
                Ok(_) => log::info!("registered APIService {name} for custom resources"),
                Err(e) if e.code() == 409 => {}
                Err(e) => log::warn!("registering APIService {name}: {e}"),
            }
        }
        for svc in &existing {
            let managed = svc["metadata"]["labels"]["kube-aggregator.kubernetes.io/automanaged"]
                == MANAGED_CONTINUOUSLY;
            let spec = &svc["spec"];
            let gv = (
                spec["group"].as_str().unwrap_or("").to_string(),
                spec["version"].as_str().unwrap_or("").to_string(),
            );
            if !managed || wanted.contains(&gv) {
                continue;
            }
            let name = svc["metadata"]["name"].as_str().unwrap_or("");
            match self
                .api_services
                .delete("", name, &DeleteOptions::default(), &admin_user())
            {
                Ok(_) => log::info!("removed APIService {name}: no CRD serves it"),
                Err(e) if e.code() == 404 => {}
                Err(e) => log::warn!("removing APIService {name}: {e}"),
            }
        }
    }
    // ANCHOR_END: crd_registration_sync
}

/// Syncs now, then after every CRD change and every `RESYNC`.
pub fn start(
    controller: CrdRegistrationController,
    lifecycle: Arc<LifecycleSignals>,
) -> Result<(), String> {
    let store = &controller.crds;
    let watcher = store
        .storage()
        .watch(&store.key_prefix(""), store.storage().current_revision())
        .map_err(|e| e.to_string())?;
    controller.sync();
    may::go!(move || {
        let mut last = Instant::now();
        while let Some(message) = watcher.next() {
            if lifecycle.not_accepting_new_requests.fired() {
                break;
            }
            if matches!(message, WatchMessage::Event(_)) || last.elapsed() >= RESYNC {
                controller.sync();
                last = Instant::now();
            }
        }
    });
    Ok(())
}
