//! The kube-aggregator: the last server built and the first to see a request. Mirrors
//! `createAggregatorServer` / `aggregatorapiserver.CompletedConfig.NewWithDelegate`: it stores
//! `apiregistration.k8s.io/v1` APIServices, answers `/apis` from them, and delegates everything
//! else to the kube-apiserver.
//!
//! Its post-start hook `kube-apiserver-autoregistration` writes a local APIService for every
//! group/version the chain serves, as the autoregister controller does; `/apis` then lists exactly
//! the APIServices that exist, so a reader can `kubectl get apiservices` and see the same list.

use std::sync::Arc;

use serde_json::Value;

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

/// kube-aggregator's `apiVersionPriorities`: the order of groups in `/apis`.
fn priority(group: &str) -> i64 {
    match group {
        "" | "apiregistration.k8s.io" => 18000,
        "apiextensions.k8s.io" => 16700,
        _ => 1000,
    }
}

pub fn create_aggregator_server(
    config: &Config,
    delegate: Arc<dyn DelegationTarget>,
    external_address: &str,
) -> GenericAPIServer {
    let mut server =
        GenericAPIServer::new("kube-aggregator", delegate, external_address.to_string());
    let api_services = new_store(config, GROUP, "v1", "apiservices");
    server.install_api_group(APIGroupInfo {
        group: GROUP,
        version: "v1",
        resources: vec![resource_handler(
            config,
            Arc::clone(&api_services) as Arc<dyn crate::registry::Rest>,
        )],
    });
    server.handle(
        "/apis",
        Arc::new(ApisHandler {
            api_services: Arc::clone(&api_services),
            scheme: Arc::clone(&config.scheme),
        }),
    );
    // ANCHOR: autoregistration
    let group_versions = server.group_versions();
    server.add_post_start_hook("kube-apiserver-autoregistration", move || {
        let opts = WriteOptions {
            dry_run: false,
            field_manager: "kube-aggregator".into(),
            field_validation: FieldValidation::Strict,
            force: None,
        };
        for (group, version) in &group_versions {
            match api_services.create(
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
        Ok(())
    });
    // ANCHOR_END: autoregistration
    server
}

/// `/apis` (exactly): the groups of every APIService, highest priority first.
struct ApisHandler {
    api_services: Arc<Store>,
    scheme: Arc<Scheme>,
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
            // Every resource of every group in one answer, from the kinds the scheme registered.
            let items = groups
                .iter()
                .map(|(group, versions)| {
                    let versions: Vec<_> = versions
                        .iter()
                        .map(|v| (v.as_str(), self.scheme.resources_of(group, v)))
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

/// Groups (not the legacy core group, which lives at `/api`) with their versions, ordered by
/// `groupPriorityMinimum`, then name.
fn groups_of(list: &Value) -> Vec<(String, Vec<String>)> {
    let mut groups: Vec<(i64, String, Vec<String>)> = Vec::new();
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
        match groups.iter_mut().find(|(_, g, _)| g == group) {
            Some((_, _, versions)) => versions.push(version.to_string()),
            None => groups.push((prio, group.to_string(), vec![version.to_string()])),
        }
    }
    groups.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    groups.into_iter().map(|(_, g, vs)| (g, vs)).collect()
}
