//! The apiextensions-apiserver's controllers, started by its post-start hook
//! `start-apiextensions-controllers`: [`naming`], [`establish`] and [`finalizer`].
//!
//! In Go each has its own work queue, fed by one shared CRD informer. Here one coroutine
//! watches the CRDs in storage and, after every change, lets each controller look at every
//! CRD: they are few, each look reads the CRD afresh, and a controller writes only when
//! something changed, so its own write (which the watch reports) ends in a quiet pass.

pub mod establish;
pub mod finalizer;
pub mod naming;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::config::admin_user;
use crate::registry::store::Store;
use crate::scheme::codec::FieldValidation;
use crate::scheme::meta_str;
use crate::scheme::parameter_codec::{ListOptions, WriteOptions};
use crate::server::lifecycle_signals::LifecycleSignals;
use crate::storage::{EventType, WatchMessage};

use super::customresource_handler::ServingInfos;
use super::lister::CrdLister;
use establish::EstablishingController;
use finalizer::CrdFinalizer;
use naming::NamingConditionController;

/// How often every CRD is looked at again without a change: what retries a finalizer whose
/// objects were still there.
pub const RESYNC: Duration = Duration::from_secs(2);

/// How the controllers write: as the apiextensions-apiserver's loopback client.
fn status_write_options() -> WriteOptions {
    WriteOptions {
        dry_run: false,
        field_manager: "kube-apiserver".into(),
        field_validation: FieldValidation::Strict,
        force: None,
    }
}

/// `UpdateStatus` of one CRD, the new status computed from the stored object. A CRD deleted
/// meanwhile is no error: the next pass has nothing to do for it.
fn update_status(
    crds: &Store,
    crd: &Value,
    opts: &WriteOptions,
    change: &dyn Fn(&Value) -> Value,
) -> Result<(), String> {
    match crds.update_status(
        "",
        meta_str(crd, "name"),
        &|stored| Ok(change(stored)),
        opts,
        &admin_user(),
    ) {
        Ok(_) => Ok(()),
        Err(e) if e.code() == 404 => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

pub struct Controllers {
    pub crds: Arc<Store>,
    pub naming: NamingConditionController,
    pub establishing: EstablishingController,
    pub finalizer: CrdFinalizer,
    pub serving: Arc<ServingInfos>,
    pub lister: Arc<CrdLister>,
}

impl Controllers {
    /// One look at every CRD by each controller, in the order their conditions build on.
    pub fn sync_all(&self) {
        let Ok(list) = self.crds.list("", &ListOptions::default()) else {
            return;
        };
        let crds = list["items"].as_array().cloned().unwrap_or_default();
        for crd in &crds {
            if let Err(e) = self.naming.sync(crd, &crds) {
                log::warn!("naming {}: {e}", meta_str(crd, "name"));
            }
        }
        for crd in &crds {
            let Ok(fresh) = self.crds.get("", meta_str(crd, "name")) else {
                continue;
            };
            if let Err(e) = self.establishing.sync(&fresh) {
                log::warn!("establishing {}: {e}", meta_str(crd, "name"));
            }
            if let Err(e) = self.finalizer.sync(&fresh) {
                log::warn!("finalizing {}: {e}", meta_str(crd, "name"));
            }
        }
    }
}

// ANCHOR: start_controllers
/// Starts the controllers' coroutine. `synced` is set after the first pass over the CRDs
/// that exist, which the `crd-informer-synced` hook waits for, so that a restarted server
/// serves its custom resources before it says it is ready.
pub fn start(
    controllers: Controllers,
    lifecycle: Arc<LifecycleSignals>,
    synced: Arc<AtomicBool>,
) -> Result<(), String> {
    let store = &controllers.crds;
    let prefix = store.key_prefix("");
    let watcher = store
        .storage()
        .watch(&prefix, store.storage().current_revision())
        .map_err(|e| e.to_string())?;
    // The watch began first, so the list misses nothing; what it replays, the lister skips.
    controllers.lister.sync().map_err(|e| e.to_string())?;
    may::go!(move || {
        controllers.sync_all();
        synced.store(true, Ordering::SeqCst);
        let mut last = Instant::now();
        while let Some(message) = watcher.next() {
            if lifecycle.not_accepting_new_requests.fired() {
                break;
            }
            let changed = match &message {
                WatchMessage::Event(e) => {
                    let name = e.kv.key.trim_start_matches(&prefix);
                    controllers.lister.apply(e, name);
                    if e.kind == EventType::Deleted {
                        controllers
                            .serving
                            .remove(e.kv.key.trim_start_matches(&prefix));
                    } else if let Ok(crd) = controllers.crds.decode(&e.kv) {
                        controllers.serving.update(&crd);
                    }
                    true
                }
                _ => false,
            };
            if changed || last.elapsed() >= RESYNC {
                controllers.sync_all();
                last = Instant::now();
            }
        }
    });
    Ok(())
}
// ANCHOR_END: start_controllers
