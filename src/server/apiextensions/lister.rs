//! The CRD lister: `crdLister` of Go's crdHandler, an in-memory copy of every CRD kept by the
//! controllers' watch, so that a request for a custom resource finds its CRD without a read
//! from storage.
//!
//! A watch lags the writes it reports (with etcd, by a network round trip), and a stale copy
//! must never serve a CRD that was deleted or changed. So the copy answers only when it has
//! seen the CRD store's newest write ([`Store::last_write`]); otherwise, and for a name it
//! does not hold, the read goes to storage as before.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::registry::store::Store;
use crate::scheme::meta::StatusError;
use crate::scheme::meta_str;
use crate::scheme::parameter_codec::ListOptions;
use crate::storage::{Event, EventType, Revision};

#[derive(Default)]
struct Cache {
    by_name: HashMap<String, Arc<Value>>,
    /// The newest revision applied; older events (replayed by a watch that began before the
    /// initial list) are skipped.
    applied: Revision,
}

pub struct CrdLister {
    crds: Arc<Store>,
    cache: Mutex<Cache>,
}

impl CrdLister {
    pub fn new(crds: Arc<Store>) -> CrdLister {
        CrdLister {
            crds,
            cache: Mutex::new(Cache::default()),
        }
    }

    /// Fills the copy from a list of every CRD: the informer's initial list.
    pub fn sync(&self) -> Result<(), StatusError> {
        let list = self.crds.list("", &ListOptions::default())?;
        let revision = list["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|r| r.parse().ok())
            .unwrap_or(0);
        let mut cache = self.cache.lock().expect("crd cache");
        cache.by_name = list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|crd| (meta_str(crd, "name").to_string(), Arc::new(crd.clone())))
            .collect();
        cache.applied = cache.applied.max(revision);
        Ok(())
    }

    /// One event of the CRD watch.
    pub fn apply(&self, event: &Event, name: &str) {
        let mut cache = self.cache.lock().expect("crd cache");
        if event.kv.mod_revision <= cache.applied {
            return;
        }
        match event.kind {
            EventType::Deleted => {
                cache.by_name.remove(name);
            }
            _ => match self.crds.decode(&event.kv) {
                Ok(crd) => {
                    cache.by_name.insert(name.to_string(), Arc::new(crd));
                }
                // Undecodable, it cannot be served from here: forget it, storage answers.
                Err(_) => {
                    cache.by_name.remove(name);
                }
            },
        }
        cache.applied = event.kv.mod_revision;
    }

    // ANCHOR: crd_lister_get
    /// `crdLister.Get`: the copy when it is current, else a read.
    pub fn get(&self, name: &str) -> Result<Arc<Value>, StatusError> {
        {
            let cache = self.cache.lock().expect("crd cache");
            if cache.applied >= self.crds.last_write() {
                if let Some(crd) = cache.by_name.get(name) {
                    return Ok(Arc::clone(crd));
                }
            }
        }
        self.crds.get("", name).map(Arc::new)
    }
    // ANCHOR_END: crd_lister_get
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::admin_user;
    use crate::scheme::parameter_codec::{DeleteOptions, WriteOptions};
    use crate::storage::WatchMessage;
    use serde_json::json;

    fn crds() -> Arc<Store> {
        let storage: Arc<dyn crate::storage::Storage> =
            Arc::new(crate::storage::embedded::EmbeddedStore::new(10));
        let def = crate::apis::new_scheme()
            .lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
            .unwrap();
        let admission = Arc::new(crate::config::admission::AdmissionChain::new(&[], &[]));
        Arc::new(Store::new(def, storage, "/registry", admission))
    }

    fn widget_crd() -> Value {
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
               "metadata": {"name": "widgets.example.com"},
               "spec": {"group": "example.com", "scope": "Namespaced",
                        "names": {"plural": "widgets", "kind": "Widget"},
                        "versions": [{"name": "v1", "served": true, "storage": true,
                                      "schema": {"openAPIV3Schema": {"type": "object"}}}]}})
    }

    #[test]
    fn the_copy_answers_only_once_it_has_seen_the_newest_write() {
        let crds = crds();
        let lister = CrdLister::new(Arc::clone(&crds));
        let name = "widgets.example.com";
        let prefix = crds.key_prefix("");
        let watcher = crds
            .storage()
            .watch(&prefix, crds.storage().current_revision())
            .unwrap();
        let opts = WriteOptions {
            dry_run: false,
            field_manager: "test".into(),
            field_validation: crate::scheme::codec::FieldValidation::Strict,
            force: None,
        };
        crds.create("", widget_crd(), &opts, &admin_user()).unwrap();
        lister.sync().unwrap();
        let first = lister.get(name).unwrap();
        assert!(
            Arc::ptr_eq(&first, &lister.get(name).unwrap()),
            "from memory"
        );
        // The create's event is older than the list: skipped, the copy stays current.
        let Some(WatchMessage::Event(created)) = watcher.next() else {
            panic!("no event")
        };
        lister.apply(&created, name);
        assert!(Arc::ptr_eq(&first, &lister.get(name).unwrap()));
        // Deleted, and the copy has not heard of it yet: storage answers, with a 404.
        let deleted = crds.delete("", name, &DeleteOptions::default(), &admin_user());
        assert!(deleted.is_ok());
        assert_eq!(lister.get(name).unwrap_err().code(), 404);
        while let Some(WatchMessage::Event(e)) = watcher.next() {
            lister.apply(&e, name);
            if e.kind == EventType::Deleted {
                break;
            }
        }
        assert_eq!(lister.get(name).unwrap_err().code(), 404);
        assert!(lister.cache.lock().unwrap().by_name.is_empty());
    }
}
