//! The `AvailableConditionController`: whether each remote APIService's backend answers, in its
//! `Available` condition. The proxy refuses requests (503) for an APIService that is not
//! available, so a dead backend costs a client one quick error instead of a hung request.
//!
//! A check resolves the Service and asks the backend for `/apis/<group>/<version>` as
//! `system:kube-aggregator`; the answer is also the resource list that aggregated discovery
//! shows for that group/version.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::frontproxy::ProxyClientConfig;
use super::proxy::{auth_proxy_headers, resolve, round_trip, RemoteState};
use crate::config::admin_user;
use crate::config::authentication::UserInfo;
use crate::registry::store::Store;
use crate::scheme::codec::FieldValidation;
use crate::scheme::parameter_codec::{ListOptions, WriteOptions};
use crate::server::lifecycle_signals::LifecycleSignals;
use crate::storage::{EventType, WatchMessage};

/// How often every remote APIService is checked again. Kube re-queues each one every 30s and
/// also on every change; we only poll, so we poll more often, and a restarted backend is back
/// in a few seconds.
pub const RECHECK: Duration = Duration::from_secs(2);

/// The largest discovery document we read from a backend.
const MAX_DISCOVERY_BYTES: usize = 1024 * 1024;

pub struct AvailableConditionController {
    pub api_services: Arc<Store>,
    pub services: Arc<Store>,
    pub endpoints: Arc<Store>,
    pub proxy_client: Arc<ProxyClientConfig>,
    pub state: Arc<RemoteState>,
}

/// One outcome of a check: the `Available` condition's status, reason and message.
#[derive(Debug, PartialEq)]
pub struct Availability {
    pub status: &'static str,
    pub reason: &'static str,
    pub message: String,
}

impl AvailableConditionController {
    /// Checks every remote APIService once.
    pub fn sync_all(&self) {
        let Ok(list) = self.api_services.list("", &ListOptions::default()) else {
            return;
        };
        for svc in list["items"].as_array().into_iter().flatten() {
            if svc["spec"]["service"].is_null() {
                continue;
            }
            let name = svc["metadata"]["name"].as_str().unwrap_or("").to_string();
            let availability = self.check(svc, &name);
            if let Err(e) = self.set_condition(&name, &availability) {
                log::warn!("updating APIService {name}: {e}");
            }
        }
    }

    // ANCHOR: check
    /// `sync`: the Service must exist, and the backend must answer discovery with a 2xx.
    fn check(&self, api_service: &Value, name: &str) -> Availability {
        let fail = |reason, message| Availability {
            status: "False",
            reason,
            message,
        };
        let location = match resolve(
            api_service,
            &self.services,
            &self.endpoints,
            &self.proxy_client,
        ) {
            Ok(l) => l,
            Err((reason, message)) => return fail(reason, message),
        };
        let spec = &api_service["spec"];
        let path = format!(
            "/apis/{}/{}",
            spec["group"].as_str().unwrap_or(""),
            spec["version"].as_str().unwrap_or("")
        );
        let url = format!("https://{}:{}{path}", location.host, location.port);
        let aggregator = UserInfo {
            name: "system:kube-aggregator".into(),
            groups: vec!["system:masters".into()],
            ..Default::default()
        };
        let mut headers = auth_proxy_headers(&aggregator);
        headers.push(("Accept".into(), "application/json".into()));
        let get = |path: &str| round_trip(&location, "GET", path, headers.clone(), b"");
        let answer = get(&path).and_then(|a| {
            let status = a.status;
            let body = a.read_all(MAX_DISCOVERY_BYTES)?;
            if !(200..300).contains(&status) {
                return Err(format!("bad status from {url}: {status}"));
            }
            serde_json::from_slice::<Value>(&body).map_err(|e| e.to_string())
        });
        match answer {
            Ok(list) => {
                // The backend's OpenAPI entry for this group/version, for the aggregated
                // `/openapi/v3` index; a backend without one is still available.
                let doc_path = path.trim_start_matches('/').to_string();
                let entry = get("/openapi/v3")
                    .and_then(|a| a.read_all(MAX_DISCOVERY_BYTES))
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                    .map(|index| index["paths"][&doc_path].clone())
                    .filter(|e| e.is_object());
                let mut openapi = self.state.openapi.lock().expect("openapi cache");
                match entry {
                    Some(e) => openapi.insert(name.to_string(), (doc_path, e)),
                    None => openapi.remove(name),
                };
                drop(openapi);
                self.state
                    .discovery
                    .lock()
                    .expect("discovery cache")
                    .insert(name.to_string(), list);
                Availability {
                    status: "True",
                    reason: "Passed",
                    message: "all checks passed".into(),
                }
            }
            Err(e) => {
                self.state
                    .discovery
                    .lock()
                    .expect("discovery cache")
                    .remove(name);
                self.state
                    .openapi
                    .lock()
                    .expect("openapi cache")
                    .remove(name);
                fail(
                    "FailedDiscoveryCheck",
                    format!("failing or missing response from {url}: {e}"),
                )
            }
        }
    }
    // ANCHOR_END: check

    /// Writes the condition through the status subresource, only when it changed, and moves
    /// `lastTransitionTime` only when the status did.
    fn set_condition(&self, name: &str, a: &Availability) -> Result<(), String> {
        let current = self.api_services.get("", name).map_err(|e| e.to_string())?;
        let old = current["status"]["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == "Available"))
            .cloned();
        if let Some(old) = &old {
            if old["status"] == a.status
                && old["reason"] == a.reason
                && old["message"] == *a.message
            {
                return Ok(());
            }
        }
        if old.as_ref().is_none_or(|o| o["status"] != a.status) {
            log::info!(
                "APIService {name} Available={} ({}): {}",
                a.status,
                a.reason,
                a.message
            );
        }
        let now = crate::util::time::rfc3339(std::time::SystemTime::now());
        let transition = match &old {
            Some(o) if o["status"] == a.status => o["lastTransitionTime"].clone(),
            _ => json!(now),
        };
        let condition = json!({
            "type": "Available",
            "status": a.status,
            "lastTransitionTime": transition,
            "reason": a.reason,
            "message": a.message,
        });
        let opts = WriteOptions {
            dry_run: false,
            field_manager: "kube-aggregator".into(),
            field_validation: FieldValidation::Strict,
            force: None,
        };
        self.api_services
            .update_status(
                "",
                name,
                &|stored: &Value| {
                    let mut obj = stored.clone();
                    obj["status"] = json!({"conditions": [condition.clone()]});
                    Ok(obj)
                },
                &opts,
                &admin_user(),
            )
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

// ANCHOR: periodic
/// Checks every remote APIService when one is added and every [`RECHECK`] after that, until
/// the server stops accepting requests. A storage watch on the APIServices is both the
/// informer and the clock: its progress messages arrive with every heartbeat (chapter 6), so
/// the coroutine needs no timer and no thread of its own, and waits on the network without
/// holding up the worker.
pub fn start(
    controller: AvailableConditionController,
    lifecycle: Arc<LifecycleSignals>,
) -> Result<(), String> {
    let store = &controller.api_services;
    let revision = store.storage().current_revision();
    let watcher = store
        .storage()
        .watch(&store.key_prefix(""), revision)
        .map_err(|e| e.to_string())?;
    may::go!(move || {
        controller.sync_all();
        let mut last = Instant::now();
        while let Some(message) = watcher.next() {
            if lifecycle.not_accepting_new_requests.fired() {
                break;
            }
            let added = matches!(&message, WatchMessage::Event(e) if e.kind == EventType::Added);
            if added || last.elapsed() >= RECHECK {
                controller.sync_all();
                last = Instant::now();
            }
        }
    });
    Ok(())
}
// ANCHOR_END: periodic
