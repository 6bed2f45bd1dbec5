//! The resource quota controller (book chapter 3): kube-controller-manager's
//! `pkg/controller/resourcequota`, run by kube-apiserver's post-start hook
//! `start-resource-quota-controller` as there is no controller manager here.
//!
//! The ResourceQuota admission plugin only ever adds to `status.used`. This controller is what
//! makes the status true: it copies `spec.hard` to `status.hard` (a quota counts nothing until
//! then) and recounts `status.used` from what is stored, when a quota is created or its limits
//! change, and when an object it counts is deleted or a pod finishes.
//!
//! One storage watch on the whole registry is its informer: it sees every kind's changes in one
//! stream, so the controller needs one coroutine, no timer and no thread.

use std::sync::Arc;

use serde_json::{json, Value};

use super::lifecycle_signals::LifecycleSignals;
use crate::config::admin_user;
use crate::config::admission::resourcequota::evaluator;
use crate::config::admission::{loopback_write_options, Clients};
use crate::registry::store::Store;
use crate::scheme::meta::StatusError;
use crate::scheme::meta_str;
use crate::storage::{Event, EventType, WatchMessage, Watcher};
use crate::util::resource::{resource_list, resource_list_value, Quantity, ResourceList};

#[derive(Clone)]
pub struct ResourceQuotaController {
    pub quotas: Arc<Store>,
    /// The stores of every kind a quota may count (the quotas' own store among them).
    pub counted: Vec<Arc<Store>>,
}

impl ResourceQuotaController {
    // ANCHOR: sync_quota
    /// `syncResourceQuota`: `status.hard` from `spec.hard`, `status.used` recounted. The write is
    /// a compare-and-swap like the plugin's, recounted if a charge got in between; a recount
    /// that changes nothing writes nothing, so the controller does not wake itself.
    pub fn sync(&self, namespace: &str, name: &str) -> Result<(), StatusError> {
        self.quotas
            .update_status(
                namespace,
                name,
                &|stored: &Value| {
                    let hard = resource_list(&stored["spec"]["hard"]);
                    let used = self.recount(namespace, stored, &hard)?;
                    let mut updated = stored.clone();
                    updated["status"] = json!({
                        "hard": resource_list_value(&hard),
                        "used": resource_list_value(&used),
                    });
                    Ok(updated)
                },
                &loopback_write_options(),
                &admin_user(),
            )
            .map(|_| ())
    }

    /// What the namespace's stored objects use of each of the quota's resources.
    fn recount(
        &self,
        namespace: &str,
        quota: &Value,
        hard: &ResourceList,
    ) -> Result<ResourceList, StatusError> {
        let mut used: ResourceList = hard.keys().map(|k| (k.clone(), Quantity::ZERO)).collect();
        for store in &self.counted {
            let matching = evaluator::matching_resources(&store.def, hard);
            if matching.is_empty() {
                continue;
            }
            for obj in Clients::list_in(store, namespace)? {
                if !evaluator::matches_scopes(&store.def, quota, &obj) {
                    continue;
                }
                for (k, q) in evaluator::usage(&store.def, &obj) {
                    if matching.contains(&k.as_str()) {
                        let sum = used[&k] + q;
                        used.insert(k, sum);
                    }
                }
            }
        }
        Ok(used)
    }
    // ANCHOR_END: sync_quota

    fn sync_logged(&self, namespace: &str, name: &str) {
        match self.sync(namespace, name) {
            Ok(()) => {}
            // Deleted meanwhile: nothing left to keep true.
            Err(e) if e.code() == 404 => {}
            Err(e) => log::warn!("syncing resourcequota {namespace}/{name}: {e}"),
        }
    }

    /// Recounts the quotas of a namespace that count this kind of object.
    fn sync_namespace(&self, namespace: &str, store: &Store) {
        let Ok(quotas) = Clients::list_in(&self.quotas, namespace) else {
            return;
        };
        for quota in quotas {
            let hard = resource_list(&quota["status"]["hard"]);
            if !evaluator::matching_resources(&store.def, &hard).is_empty() {
                self.sync_logged(namespace, meta_str(&quota, "name"));
            }
        }
    }

    // ANCHOR: quota_events
    /// One change anywhere in the registry.
    fn handle(&self, event: &Event) {
        let key = &event.kv.key;
        if key.starts_with(&self.quotas.key_prefix("")) {
            let Ok(quota) = self.quotas.decode(&event.kv) else {
                return;
            };
            let stale =
                resource_list(&quota["spec"]["hard"]) != resource_list(&quota["status"]["hard"]);
            if event.kind == EventType::Added || (event.kind == EventType::Modified && stale) {
                self.sync_logged(meta_str(&quota, "namespace"), meta_str(&quota, "name"));
            }
        }
        let Some(store) = self
            .counted
            .iter()
            .find(|s| key.starts_with(&s.key_prefix("")))
        else {
            return;
        };
        let Ok(obj) = store.decode(&event.kv) else {
            return;
        };
        // What a charge added is given back when the object goes, or when a pod finishes
        // (a finished pod still exists, but uses no cpu or memory and no `pods` slot).
        let released = match event.kind {
            EventType::Deleted => true,
            EventType::Modified => {
                let before = event.prev_kv.as_ref().and_then(|p| store.decode(p).ok());
                before.is_some_and(|b| {
                    evaluator::usage(&store.def, &b) != evaluator::usage(&store.def, &obj)
                })
            }
            EventType::Added => false,
        };
        if released {
            self.sync_namespace(meta_str(&obj, "namespace"), store);
        }
    }
    // ANCHOR_END: quota_events
}

impl ResourceQuotaController {
    /// A watch of everything under `root` from now, and every quota as of then (listed after
    /// the watch began, so that no quota falls between the two).
    fn watch(&self, root: &str) -> Result<(Watcher, Vec<Value>), String> {
        let storage = self.quotas.storage();
        let watcher = storage
            .watch(root, storage.current_revision())
            .map_err(|e| e.to_string())?;
        let quotas = Clients::list_in(&self.quotas, "").map_err(|e| e.to_string())?;
        Ok((watcher, quotas))
    }
}

/// Starts the controller on a watch of everything under `root` (the `--etcd-prefix`); it
/// recounts every quota, then follows the changes until the server stops accepting requests.
pub fn start(
    controller: ResourceQuotaController,
    root: String,
    lifecycle: Arc<LifecycleSignals>,
) -> Result<(), String> {
    let mut current = controller.watch(&root)?;
    let stopped = move || lifecycle.not_accepting_new_requests.fired();
    may::go!(move || loop {
        let (watcher, quotas) = current;
        for quota in quotas {
            controller.sync_logged(meta_str(&quota, "namespace"), meta_str(&quota, "name"));
        }
        // Progress messages arrive with every heartbeat, so the signal is seen within 100 ms.
        while let Some(message) = watcher.next() {
            if stopped() {
                return;
            }
            if let WatchMessage::Event(event) = message {
                controller.handle(&event);
            }
        }
        // The store drops a watcher that falls too far behind. Watch again from a fresh list:
        // recounting every quota makes up for whatever changed in between.
        current = loop {
            if stopped() {
                return;
            }
            match controller.watch(&root) {
                Ok(c) => break c,
                Err(e) => {
                    log::warn!("resource quota controller: watching again: {e}");
                    may::coroutine::sleep(std::time::Duration::from_secs(1));
                }
            }
        };
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::admission::AdmissionChain;
    use crate::scheme::parameter_codec::DeleteOptions;
    use crate::storage::embedded::EmbeddedStore;

    fn store(storage: &Arc<dyn crate::storage::Storage>, resource: &str) -> Arc<Store> {
        // The stores alone, without admission: the controller is what is under test.
        let off: Vec<String> = [
            "NamespaceLifecycle",
            "LimitRanger",
            "ServiceAccount",
            "ResourceQuota",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        Arc::new(Store::new(
            crate::apis::new_scheme()
                .lookup("", "v1", resource)
                .unwrap(),
            Arc::clone(storage),
            "/registry",
            Arc::new(AdmissionChain::new(&[], &off)),
        ))
    }

    fn pod(name: &str, cpu: &str) -> Value {
        json!({"metadata": {"name": name}, "spec": {"containers": [
            {"name": "app", "image": "nginx", "resources": {"requests": {"cpu": cpu}}}]}})
    }

    #[test]
    fn a_sync_copies_hard_and_a_delete_gives_back_what_it_used() {
        let storage: Arc<dyn crate::storage::Storage> = Arc::new(EmbeddedStore::new(100));
        let (quotas, pods) = (store(&storage, "resourcequotas"), store(&storage, "pods"));
        let controller = ResourceQuotaController {
            quotas: Arc::clone(&quotas),
            counted: vec![Arc::clone(&pods), Arc::clone(&quotas)],
        };
        let (opts, admin) = (loopback_write_options(), admin_user());
        let quota = json!({"metadata": {"name": "q"},
                           "spec": {"hard": {"pods": "5", "requests.cpu": "1", "resourcequotas": "1"}}});
        quotas.create("ns", quota, &opts, &admin).unwrap();
        for (ns, name) in [("ns", "a"), ("ns", "b"), ("elsewhere", "c")] {
            pods.create(ns, pod(name, "300m"), &opts, &admin).unwrap();
        }
        controller.sync("ns", "q").unwrap();
        let status = &quotas.get("ns", "q").unwrap()["status"];
        assert_eq!(
            status["hard"],
            json!({"pods": "5", "requests.cpu": "1", "resourcequotas": "1"})
        );
        assert_eq!(
            status["used"],
            json!({"pods": "2", "requests.cpu": "600m", "resourcequotas": "1"})
        );

        let (watcher, _) = controller.watch("/registry/").unwrap();
        pods.delete("ns", "a", &DeleteOptions::default(), &admin)
            .unwrap();
        let event = loop {
            if let Some(WatchMessage::Event(e)) = watcher.next() {
                break e;
            }
        };
        assert_eq!(event.kind, EventType::Deleted);
        controller.handle(&event);
        let used = &quotas.get("ns", "q").unwrap()["status"]["used"];
        assert_eq!(
            used,
            &json!({"pods": "1", "requests.cpu": "300m", "resourcequotas": "1"})
        );
    }
}
