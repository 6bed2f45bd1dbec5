//! The kube-apiserver proper: the built-in API groups. Mirrors `CreateKubeAPIServer` /
//! `controlplane.CompletedConfig.New` and `InstallLegacyAPI`: it serves the core group at
//! `/api/v1` and delegates to the apiextensions-apiserver.
//!
//! Its post-start hook `start-system-namespaces-controller` creates the namespaces every cluster
//! has (`default`, `kube-system`, `kube-public`, `kube-node-lease`), as kube-apiserver's system
//! namespaces controller does. Its hook `start-service-account-controller` gives each namespace
//! its `default` ServiceAccount ([`super::serviceaccounts`]).

use std::sync::Arc;

use serde_json::json;

use super::generic::{APIGroupInfo, DelegationTarget, GenericAPIServer};
use super::{new_store, resource_handler, serviceaccounts};
use crate::config::{admin_user, Config};
use crate::registry::namespace::NamespaceRest;
use crate::registry::Rest;
use crate::scheme::codec::FieldValidation;
use crate::scheme::parameter_codec::WriteOptions;

pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

pub fn create_kube_apiserver(
    config: &Config,
    delegate: Arc<dyn DelegationTarget>,
    external_address: &str,
) -> GenericAPIServer {
    let mut server =
        GenericAPIServer::new("kube-apiserver", delegate, external_address.to_string());
    let configmaps = new_store(config, "", "v1", "configmaps");
    let secrets = new_store(config, "", "v1", "secrets");
    let service_accounts = new_store(config, "", "v1", "serviceaccounts");
    let events = new_store(config, "", "v1", "events");
    let pods = new_store(config, "", "v1", "pods");
    let deployments = new_store(config, "apps", "v1", "deployments");
    // The same objects as `events`, under the same prefix, renamed (`apis::events`).
    let events_v1 = new_store(config, "events.k8s.io", "v1", "events");
    let namespace_store = new_store(config, "", "v1", "namespaces");
    let namespaces = Arc::new(NamespaceRest {
        namespaces: Arc::clone(&namespace_store),
        namespaced: vec![
            Arc::clone(&configmaps),
            Arc::clone(&secrets),
            Arc::clone(&service_accounts),
            Arc::clone(&events),
            Arc::clone(&pods),
            Arc::clone(&deployments),
        ],
    });
    let namespaces_for_hook = Arc::clone(&namespaces);
    let service_accounts_for_hook = Arc::clone(&service_accounts);
    server.install_api_group(APIGroupInfo {
        group: "",
        version: "v1",
        resources: vec![
            resource_handler(config, namespaces),
            resource_handler(config, configmaps),
            resource_handler(config, secrets),
            resource_handler(config, service_accounts),
            resource_handler(config, events),
            resource_handler(config, pods),
        ],
    });
    server.install_api_group(APIGroupInfo {
        group: "apps",
        version: "v1",
        resources: vec![resource_handler(config, deployments)],
    });
    server.install_api_group(APIGroupInfo {
        group: "events.k8s.io",
        version: "v1",
        resources: vec![resource_handler(config, events_v1)],
    });
    let storage = Arc::clone(&config.storage);
    server.add_health_check("etcd", move || {
        storage.current_revision();
        Ok(())
    });
    // ANCHOR: system_namespaces
    server.add_post_start_hook("start-system-namespaces-controller", move || {
        let opts = WriteOptions {
            dry_run: false,
            field_manager: "kube-apiserver".into(),
            field_validation: FieldValidation::Strict,
            force: None,
        };
        for name in SYSTEM_NAMESPACES {
            let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
            match namespaces_for_hook
                .store()
                .create("", ns, &opts, &admin_user())
            {
                Ok(_) => log::info!("created system namespace {name}"),
                Err(e) if e.code() == 409 => {}
                Err(e) => return Err(format!("creating namespace {name}: {e}")),
            }
        }
        Ok(())
    });
    // ANCHOR_END: system_namespaces
    let lifecycle = Arc::clone(&config.lifecycle);
    server.add_post_start_hook("start-service-account-controller", move || {
        serviceaccounts::start_controller(
            Arc::clone(&namespace_store),
            Arc::clone(&service_accounts_for_hook),
            Arc::clone(&lifecycle),
        )
    });
    server
}
