//! The `default` ServiceAccount of every namespace (book chapter 4). In a cluster,
//! kube-controller-manager's serviceaccounts controller (`pkg/controller/serviceaccount`) makes
//! it. There is no controller manager here, so a post-start hook of kube-apiserver runs the same
//! loop in a coroutine, as namespace finalization is also done in-process.
//!
//! The loop is a small informer: list the namespaces, then watch from the revision of that list,
//! and create `default` in every namespace that appears.

use std::sync::Arc;

use serde_json::json;

use super::lifecycle_signals::LifecycleSignals;
use crate::config::admin_user;
use crate::registry::store::Store;
use crate::scheme::codec::FieldValidation;
use crate::scheme::parameter_codec::{ListOptions, WriteOptions};
use crate::storage::{EventType, WatchMessage};

// ANCHOR: serviceaccounts_controller
/// Starts the controller; it ends when the server stops accepting requests.
pub fn start_controller(
    namespaces: Arc<Store>,
    service_accounts: Arc<Store>,
    lifecycle: Arc<LifecycleSignals>,
) -> Result<(), String> {
    let list = namespaces
        .list("", &ListOptions::default())
        .map_err(|e| e.to_string())?;
    let revision = list["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    let watcher = namespaces
        .storage()
        .watch(&namespaces.key_prefix(""), revision)
        .map_err(|e| e.to_string())?;
    let existing: Vec<String> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|ns| ns["metadata"]["name"].as_str().map(String::from))
        .collect();
    may::go!(move || {
        for name in existing {
            ensure_default(&service_accounts, &name);
        }
        // Progress messages arrive with every heartbeat, so the signal is seen within 100 ms.
        while let Some(message) = watcher.next() {
            if lifecycle.not_accepting_new_requests.fired() {
                break;
            }
            let WatchMessage::Event(event) = message else {
                continue;
            };
            if event.kind != EventType::Added {
                continue;
            }
            if let Ok(ns) = namespaces.decode(&event.kv) {
                ensure_default(
                    &service_accounts,
                    ns["metadata"]["name"].as_str().unwrap_or(""),
                );
            }
        }
    });
    Ok(())
}

/// Creates `default` in `namespace` unless it is there. A namespace that is already terminating
/// (or gone) refuses it, which is fine: it needs no account any more.
fn ensure_default(service_accounts: &Store, namespace: &str) {
    let account = json!({"apiVersion": "v1", "kind": "ServiceAccount",
                         "metadata": {"name": "default", "namespace": namespace}});
    let opts = WriteOptions {
        dry_run: false,
        field_manager: "kube-controller-manager".into(),
        field_validation: FieldValidation::Strict,
        force: None,
    };
    match service_accounts.create(namespace, account, &opts, &admin_user()) {
        Ok(_) => log::debug!("created serviceaccount default in {namespace}"),
        Err(e) if matches!(e.code(), 409 | 403 | 404) => {}
        Err(e) => log::warn!("creating serviceaccount default in {namespace}: {e}"),
    }
}
// ANCHOR_END: serviceaccounts_controller
