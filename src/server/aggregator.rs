//! The kube-aggregator: the last server built and the first to see a request. Mirrors
//! `createAggregatorServer` / `aggregatorapiserver.CompletedConfig.NewWithDelegate`: it stores
//! `apiregistration.k8s.io/v1` APIServices, answers `/apis` from them, and delegates everything
//! else to the kube-apiserver.
//!
//! Its post-start hook `kube-apiserver-autoregistration` writes a local APIService for every
//! group/version the chain serves, as the autoregister controller does; `/apis` then lists exactly
//! the APIServices that exist, so a reader can `kubectl get apiservices` and see the same list.
//! The same hook starts the [`crdregistration`] controller, which does it for CRD groups.

pub mod available;
pub mod crdregistration;
pub mod frontproxy;
pub mod openapi;
pub mod proxy;

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::generic::{APIGroupInfo, DelegationTarget, GenericAPIServer};
use super::{new_store, resource_handler};
use crate::apis::apiregistration::{local_api_service, GROUP};
use crate::config::{admin_user, Config};
use crate::endpoints::discovery::{
    aggregated_response, api_group, api_group_discovery, api_group_list, wants_aggregated,
};
use crate::http::{Handler, Request, Response};
use crate::registry::store::Store;
use crate::scheme::codec::FieldValidation;
use crate::scheme::parameter_codec::{ListOptions, WriteOptions};
use crate::scheme::Scheme;
use available::AvailableConditionController;
use proxy::{ProxyRouter, RemoteState};

/// kube-aggregator's `apiVersionPriorities`: the order of groups in `/apis`.
fn priority(group: &str) -> i64 {
    match group {
        "" | "apiregistration.k8s.io" => 18000,
        "apiextensions.k8s.io" => 16700,
        _ => 1000,
    }
}

/// `APIAggregator`: the kube-aggregator's `GenericAPIServer`, and what its own PrepareRun
/// (`crate::prepare::aggregator`) still has to add around the generic one.
pub struct APIAggregator {
    pub generic_api_server: GenericAPIServer,
    /// Started by the post-start hook PrepareRun registers.
    pub(crate) available_controller: AvailableConditionController,
    /// The aggregated `/openapi/v3`, installed by PrepareRun once the generic PrepareRun is done.
    pub(crate) openapi_v3: openapi::AggregatedOpenAPIV3,
}

pub fn create_aggregator_server(
    config: &Config,
    delegate: Arc<dyn DelegationTarget>,
    external_address: &str,
) -> APIAggregator {
    let api_services = new_store(config, GROUP, "v1", "apiservices");
    // ANCHOR: proxy_router
    // Between the aggregator and the kube-apiserver: requests for a remote APIService leave
    // the process here, everything else goes on down the chain.
    let services = new_store(config, "", "v1", "services");
    let endpoints = new_store(config, "", "v1", "endpoints");
    let remote = Arc::new(RemoteState::default());
    let router = Arc::new(ProxyRouter {
        api_services: Arc::clone(&api_services),
        services: Arc::clone(&services),
        endpoints: Arc::clone(&endpoints),
        proxy_client: Arc::clone(&config.proxy_client),
        local_delegate: delegate,
    });
    let mut server = GenericAPIServer::new(
        "kube-aggregator",
        Arc::clone(&router) as Arc<dyn DelegationTarget>,
        external_address.to_string(),
    );
    // ANCHOR_END: proxy_router
    // The aggregator serves the OpenAPI of the whole chain itself, after PrepareRun.
    server.skip_openapi_installation = true;
    let openapi_v3 = openapi::AggregatedOpenAPIV3 {
        local: crate::prepare::openapi::OpenAPIV3::new(&config.scheme),
        remote: Arc::clone(&remote),
        router,
    };
    server.install_api_group(APIGroupInfo {
        group: GROUP,
        version: "v1",
        resources: vec![resource_handler(
            config,
            Arc::clone(&api_services) as Arc<dyn crate::registry::Rest>,
        )],
    });
    let crds = new_store(
        config,
        crate::apis::apiextensions::GROUP,
        "v1",
        "customresourcedefinitions",
    );
    server.handle(
        "/apis",
        Arc::new(ApisHandler {
            api_services: Arc::clone(&api_services),
            scheme: Arc::clone(&config.scheme),
            remote: Arc::clone(&remote),
            crds: Arc::clone(&crds),
        }),
    );
    // ANCHOR: autoregistration
    let group_versions = server.group_versions();
    let api_services_for_hook = Arc::clone(&api_services);
    let crd_registration = Mutex::new(Some(crdregistration::CrdRegistrationController {
        crds,
        api_services: Arc::clone(&api_services),
    }));
    let lifecycle_for_registration = Arc::clone(&config.lifecycle);
    server.add_post_start_hook("kube-apiserver-autoregistration", move || {
        let opts = WriteOptions {
            dry_run: false,
            field_manager: "kube-aggregator".into(),
            field_validation: FieldValidation::Strict,
            force: None,
        };
        for (group, version) in &group_versions {
            match api_services_for_hook.create(
                "",
                local_api_service(group, version, priority(group)),
                &opts,
                &admin_user(),
            ) {
                Ok(_) => log::debug!("registered local APIService {version}.{group}"),
                Err(e) if e.code() == 409 => {}
                Err(e) => return Err(format!("registering APIService {version}.{group}: {e}")),
            }
        }
        match crd_registration.lock().expect("controller").take() {
            Some(c) => crdregistration::start(c, Arc::clone(&lifecycle_for_registration)),
            None => Ok(()),
        }
    });
    // ANCHOR_END: autoregistration
    // ANCHOR: aggregator_hooks
    let configmaps = new_store(config, "", "v1", "configmaps");
    let proxy_client = Arc::clone(&config.proxy_client);
    server.add_post_start_hook("start-cluster-authentication-info-controller", move || {
        frontproxy::publish_extension_authentication(
            &configmaps,
            &proxy_client.extension_authentication,
        )
    });
    // ANCHOR_END: aggregator_hooks
    APIAggregator {
        generic_api_server: server,
        available_controller: AvailableConditionController {
            api_services,
            services,
            endpoints,
            proxy_client: Arc::clone(&config.proxy_client),
            state: remote,
        },
        openapi_v3,
    }
}

/// `/apis` (exactly): the groups of every APIService, highest priority first.
struct ApisHandler {
    api_services: Arc<Store>,
    scheme: Arc<Scheme>,
    /// What the backends of remote APIServices said they serve.
    remote: Arc<RemoteState>,
    /// For the resources of CRD groups, which the scheme does not know.
    crds: Arc<Store>,
}

// ANCHOR: apis_handler
impl Handler for ApisHandler {
    fn serve(&self, req: &mut Request) -> Response {
        let list = match self.api_services.list("", &ListOptions::default()) {
            Ok(list) => list,
            Err(e) => return e.to_response(),
        };
        let groups = groups_of(&list);
        if wants_aggregated(req.header("accept")) {
            // Every resource of every group in one answer: a local group's from the kinds the
            // scheme registered, a remote one's from what its backend last answered.
            let cache = self.remote.discovery.lock().expect("discovery cache");
            let custom = crate::server::apiextensions::discovery::served_groups(&self.crds);
            let items = groups
                .iter()
                .map(|(group, versions)| {
                    let remote: Vec<(&str, &Value)> = versions
                        .iter()
                        .filter_map(|v| Some((v.as_str(), cache.get(&format!("{v}.{group}"))?)))
                        .collect();
                    if !remote.is_empty() {
                        return remote_group_discovery(group, &remote);
                    }
                    let versions: Vec<_> = versions
                        .iter()
                        .map(|v| {
                            let mut defs = self.scheme.resources_of(group, v);
                            if defs.is_empty() {
                                defs = custom_resources_of(&custom, group, v);
                            }
                            (v.as_str(), defs)
                        })
                        .collect();
                    api_group_discovery(group, &versions)
                })
                .collect();
            return aggregated_response(items);
        }
        let groups = groups
            .iter()
            .map(|(g, vs)| api_group(g, &vs.iter().map(String::as_str).collect::<Vec<_>>()))
            .collect();
        Response::json(200, &api_group_list(groups)).with_header("Vary", "Accept")
    }
}
// ANCHOR_END: apis_handler

// ANCHOR: remote_group_discovery
/// A remote group in the aggregated document, from the `APIResourceList` each version's backend
/// served: the same facts, reshaped (`scope` for `namespaced`, `a/b` entries as subresources).
fn remote_group_discovery(group: &str, versions: &[(&str, &Value)]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|(version, list)| {
            let all = list["resources"].as_array().cloned().unwrap_or_default();
            let mut resources: Vec<Value> = Vec::new();
            for r in all.iter().filter(|r| !r["name"].as_str().unwrap_or("").contains('/')) {
                let name = r["name"].as_str().unwrap_or("");
                let mut entry = json!({
                    "resource": name,
                    "responseKind": {"group": "", "version": "", "kind": r["kind"]},
                    "scope": if r["namespaced"] == true { "Namespaced" } else { "Cluster" },
                    "singularResource": r["singularName"],
                    "verbs": r["verbs"],
                });
                for key in ["shortNames", "categories"] {
                    if r[key].is_array() {
                        entry[key] = r[key].clone();
                    }
                }
                let subs: Vec<Value> = all
                    .iter()
                    .filter_map(|s| {
                        let sub = s["name"].as_str()?.strip_prefix(name)?.strip_prefix('/')?;
                        Some(json!({"subresource": sub,
                            "responseKind": {"group": s["group"].as_str().unwrap_or(""), "version": s["version"].as_str().unwrap_or(""), "kind": s["kind"]},
                            "verbs": s["verbs"]}))
                    })
                    .collect();
                if !subs.is_empty() {
                    entry["subresources"] = json!(subs);
                }
                resources.push(entry);
            }
            json!({"version": version, "resources": resources, "freshness": "Current"})
        })
        .collect();
    json!({"metadata": {"name": group}, "versions": versions})
}
// ANCHOR_END: remote_group_discovery

/// The resources CRDs serve in one group/version, for the aggregated document.
fn custom_resources_of(
    custom: &[crate::server::apiextensions::discovery::ServedGroup],
    group: &str,
    version: &str,
) -> Vec<Arc<crate::scheme::ResourceDef>> {
    custom
        .iter()
        .filter(|g| g.group == group)
        .flat_map(|g| g.versions.iter())
        .filter(|(v, _)| v == version)
        .flat_map(|(_, defs)| defs.iter().cloned())
        .collect()
}

/// Groups (not the legacy core group, which lives at `/api`) with their versions, ordered by
/// `groupPriorityMinimum`, then name; versions by `versionPriority`, then as kube compares
/// version names (`v2`, `v1`, `v1beta1`), so that the preferred version comes first.
fn groups_of(list: &Value) -> Vec<(String, Vec<String>)> {
    /// A version and its `versionPriority`.
    type Version = (i64, String);
    let mut groups: Vec<(i64, String, Vec<Version>)> = Vec::new();
    for svc in list["items"].as_array().into_iter().flatten() {
        let spec = &svc["spec"];
        let (Some(group), Some(version)) = (spec["group"].as_str(), spec["version"].as_str())
        else {
            continue;
        };
        if group.is_empty() {
            continue;
        }
        let prio = spec["groupPriorityMinimum"].as_i64().unwrap_or(0);
        let version = (
            spec["versionPriority"].as_i64().unwrap_or(0),
            version.to_string(),
        );
        match groups.iter_mut().find(|(_, g, _)| g == group) {
            Some((p, _, versions)) => {
                *p = (*p).max(prio);
                versions.push(version);
            }
            None => groups.push((prio, group.to_string(), vec![version])),
        }
    }
    groups.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    groups
        .into_iter()
        .map(|(_, g, mut vs)| {
            vs.sort_by(|a, b| {
                b.0.cmp(&a.0)
                    .then_with(|| crate::endpoints::discovery::kube_aware_version_order(&a.1, &b.1))
            });
            (g, vs.into_iter().map(|(_, v)| v).collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backends_resource_list_becomes_its_aggregated_group() {
        let list = json!({"kind": "APIResourceList", "groupVersion": "wardle.example.com/v1alpha1",
        "resources": [
            {"name": "flunders", "singularName": "flunder", "namespaced": true, "kind": "Flunder", "verbs": ["get", "list"], "shortNames": ["fl"]},
            {"name": "flunders/status", "singularName": "", "namespaced": true, "kind": "Flunder", "verbs": ["get"]},
            {"name": "fischers", "singularName": "fischer", "namespaced": false, "kind": "Fischer", "verbs": ["get"]},
        ]});
        let group = remote_group_discovery("wardle.example.com", &[("v1alpha1", &list)]);
        assert_eq!(group["metadata"]["name"], "wardle.example.com");
        let resources = group["versions"][0]["resources"].as_array().unwrap();
        assert_eq!(resources.len(), 2);
        assert_eq!(resources[0]["scope"], "Namespaced");
        assert_eq!(resources[0]["shortNames"], json!(["fl"]));
        assert_eq!(resources[0]["subresources"][0]["subresource"], "status");
        assert_eq!(resources[1]["scope"], "Cluster");
        assert!(resources[1].get("subresources").is_none());
    }
}
