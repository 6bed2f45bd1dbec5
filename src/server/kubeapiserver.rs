//! The kube-apiserver proper: the built-in API groups. Mirrors `CreateKubeAPIServer` /
//! `controlplane.CompletedConfig.New` and `InstallLegacyAPI`: it serves the core group at
//! `/api/v1` and delegates to the apiextensions-apiserver.
//!
//! Its post-start hook `start-system-namespaces-controller` creates the namespaces every cluster
//! has (`default`, `kube-system`, `kube-public`, `kube-node-lease`), as kube-apiserver's system
//! namespaces controller does. Its hook `start-service-account-controller` gives each namespace
//! its `default` ServiceAccount ([`super::serviceaccounts`]), `start-resource-quota-controller`
//! keeps each ResourceQuota's status true ([`super::resourcequota`]), and `bootstrap-controller` creates
//! the `kubernetes` Service in `default`, the address pods reach this server at.
//! `rbac/bootstrap-roles` writes the bootstrap RBAC policy ([`crate::registry::rbac`]).

use std::sync::Arc;

use serde_json::json;

use super::apiextensions::customresource_handler::{
    namespaced_custom_resource_stores, CustomResourceConfig,
};
use super::generic::{APIGroupInfo, DelegationTarget, GenericAPIServer};
use super::{generic_store, new_store, resource_handler, resourcequota, serviceaccounts};
use crate::apis::apiextensions::GROUP as CRD_GROUP;
use crate::config::admission::Stores;
use crate::config::authorization::rbac::DefaultRuleResolver;
use crate::config::{admin_user, Config, ExtraConfig};
use crate::registry::authorization::ReviewRest;
use crate::registry::namespace::NamespaceRest;
use crate::registry::rbac::{bootstrappolicy, PolicyBasedRest};
use crate::registry::selfsubjectreview::SelfSubjectReviewRest;
use crate::registry::service::ServiceAllocators;
use crate::registry::store::Store;
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
    // ANCHOR: service_store
    // The Service storage: the generic store with the hooks that hand out addresses.
    let services = Arc::new(
        generic_store(config, "", "v1", "services").with_begin_hooks(ServiceAllocators {
            service_ips: config.extra.service_ip_range,
            node_ports: config.extra.service_node_port_range,
        }),
    );
    // ANCHOR_END: service_store
    let deployments = new_store(config, "apps", "v1", "deployments");
    // The same objects as `events`, under the same prefix, renamed (`apis::events`).
    let events_v1 = new_store(config, "events.k8s.io", "v1", "events");
    let limit_ranges = new_store(config, "", "v1", "limitranges");
    let endpoints = new_store(config, "", "v1", "endpoints");
    let resource_quotas = new_store(config, "", "v1", "resourcequotas");
    let namespace_store = new_store(config, "", "v1", "namespaces");
    config.admission.initialize(Stores {
        namespaces: Arc::downgrade(&namespace_store),
        service_accounts: Arc::downgrade(&service_accounts),
        limit_ranges: Arc::downgrade(&limit_ranges),
        resource_quotas: Arc::downgrade(&resource_quotas),
    });
    // Built here, not in `install_authorization`, because a namespace's deletion empties them too.
    let rbac = |resource| new_store(config, "rbac.authorization.k8s.io", "v1", resource);
    let (roles, role_bindings) = (rbac("roles"), rbac("rolebindings"));
    // Every namespaced kind: what a namespace's deletion empties, and what a quota may count.
    let namespaced = vec![
        Arc::clone(&roles),
        Arc::clone(&role_bindings),
        Arc::clone(&configmaps),
        Arc::clone(&secrets),
        Arc::clone(&service_accounts),
        Arc::clone(&events),
        Arc::clone(&pods),
        Arc::clone(&services),
        Arc::clone(&deployments),
        Arc::clone(&limit_ranges),
        Arc::clone(&resource_quotas),
        Arc::clone(&endpoints),
    ];
    let quota_controller = resourcequota::ResourceQuotaController {
        quotas: Arc::clone(&resource_quotas),
        counted: namespaced.clone(),
    };
    let namespaces = Arc::new(NamespaceRest {
        namespaces: Arc::clone(&namespace_store),
        namespaced,
        // Custom objects too, though their stores belong to the apiextensions-apiserver: which
        // kinds exist is read from the CRDs when a namespace goes.
        custom_resources: {
            let crds = new_store(config, CRD_GROUP, "v1", "customresourcedefinitions");
            let cr_config = CustomResourceConfig::new(config);
            Box::new(move || namespaced_custom_resource_stores(&crds, &cr_config))
        },
    });
    let namespaces_for_hook = Arc::clone(&namespaces);
    let service_accounts_for_hook = Arc::clone(&service_accounts);
    let services_for_hook = Arc::clone(&services);
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
            resource_handler(config, services),
            resource_handler(config, limit_ranges),
            resource_handler(config, resource_quotas),
            resource_handler(config, endpoints),
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
    let self_subject_reviews = SelfSubjectReviewRest {
        store: generic_store(config, "authentication.k8s.io", "v1", "selfsubjectreviews"),
    };
    server.install_api_group(APIGroupInfo {
        group: "authentication.k8s.io",
        version: "v1",
        resources: vec![resource_handler(config, Arc::new(self_subject_reviews))],
    });
    install_authorization(config, &mut server, roles, role_bindings);
    let storage = Arc::clone(&config.storage);
    server.add_health_check("etcd", move || {
        storage.check_health().map_err(|e| e.to_string())
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
    let extra = config.extra;
    server.add_post_start_hook("bootstrap-controller", move || {
        create_or_update_kubernetes_service(&services_for_hook, &extra)
    });
    let lifecycle = Arc::clone(&config.lifecycle);
    server.add_post_start_hook("start-service-account-controller", move || {
        serviceaccounts::start_controller(
            Arc::clone(&namespace_store),
            Arc::clone(&service_accounts_for_hook),
            Arc::clone(&lifecycle),
        )
    });
    let lifecycle = Arc::clone(&config.lifecycle);
    let registry_root = format!("{}/", config.etcd_prefix.trim_end_matches('/'));
    server.add_post_start_hook("start-resource-quota-controller", move || {
        resourcequota::start(
            quota_controller.clone(),
            registry_root.clone(),
            Arc::clone(&lifecycle),
        )
    });
    server
}

// ANCHOR: install_rbac
/// `authorization.k8s.io/v1` (the reviews) and `rbac.authorization.k8s.io/v1` (the roles and
/// bindings, behind the escalation checks), and the hook that writes the bootstrap policy.
fn install_authorization(
    config: &Config,
    server: &mut GenericAPIServer,
    roles: Arc<Store>,
    bindings: Arc<Store>,
) {
    let review = |resource| {
        let rest = ReviewRest::new(
            new_store(config, "authorization.k8s.io", "v1", resource),
            Arc::clone(&config.authorizer),
        );
        resource_handler(config, Arc::new(rest))
    };
    server.install_api_group(APIGroupInfo {
        group: "authorization.k8s.io",
        version: "v1",
        resources: vec![
            review("localsubjectaccessreviews"),
            review("selfsubjectaccessreviews"),
            review("selfsubjectrulesreviews"),
            review("subjectaccessreviews"),
        ],
    });
    let rbac = |resource| new_store(config, "rbac.authorization.k8s.io", "v1", resource);
    let resolver = || DefaultRuleResolver::new(Arc::clone(&config.storage), &config.etcd_prefix);
    let (cluster_roles, cluster_bindings) = (rbac("clusterroles"), rbac("clusterrolebindings"));
    let authorizer = &config.authorizer;
    let role_rest = |store: &Arc<Store>| {
        let rest = PolicyBasedRest::role(Arc::clone(store), Arc::clone(authorizer), resolver());
        resource_handler(config, Arc::new(rest))
    };
    let binding_rest = |store: &Arc<Store>| {
        let rest = PolicyBasedRest::binding(
            Arc::clone(store),
            Arc::clone(authorizer),
            resolver(),
            Arc::clone(&roles),
            Arc::clone(&cluster_roles),
        );
        resource_handler(config, Arc::new(rest))
    };
    server.install_api_group(APIGroupInfo {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        resources: vec![
            binding_rest(&cluster_bindings),
            role_rest(&cluster_roles),
            binding_rest(&bindings),
            role_rest(&roles),
        ],
    });
    server.add_post_start_hook("rbac/bootstrap-roles", move || {
        bootstrappolicy::ensure_rbac_policy(&cluster_roles, &cluster_bindings)
    });
}
// ANCHOR_END: install_rbac

// ANCHOR: kubernetes_service
/// The bootstrap controller's `CreateOrUpdateMasterServiceIfNeeded`: the `kubernetes` Service,
/// at the first address of the range, port 443 to the secure port. It has no selector: its
/// endpoints are this server, which kube-apiserver's endpoint reconciler maintains.
fn create_or_update_kubernetes_service(
    services: &Store,
    extra: &ExtraConfig,
) -> Result<(), String> {
    let opts = WriteOptions {
        dry_run: false,
        field_manager: "kube-apiserver".into(),
        field_validation: FieldValidation::Strict,
        force: None,
    };
    let ports = json!([{
        "name": "https",
        "protocol": "TCP",
        "port": 443,
        "targetPort": extra.public_service_port,
    }]);
    let svc = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": extra.service_ip_range.kubernetes_service_ip().to_string(),
            "sessionAffinity": "None",
            "ports": ports,
        },
    });
    let fail = |e| format!("creating the kubernetes service: {e}");
    // Go asks first: a Service stored by an earlier run, or by another server on the same etcd,
    // already holds the address, so a create would fail allocating it before it found the name.
    // Only its ports follow this run's.
    let existing = match services.get("default", "kubernetes") {
        Ok(existing) => existing,
        Err(e) if e.code() == 404 => match services.create("default", svc, &opts, &admin_user()) {
            Ok(_) => {
                log::info!("created the kubernetes service");
                return Ok(());
            }
            // Another server created it in between.
            Err(e) if e.code() == 409 => services.get("default", "kubernetes").map_err(fail)?,
            Err(e) => return Err(fail(e)),
        },
        Err(e) => return Err(fail(e)),
    };
    if existing["spec"]["ports"] == ports {
        return Ok(());
    }
    let mut updated = existing;
    updated["spec"]["ports"] = ports;
    services
        .update("default", "kubernetes", updated, &opts, &admin_user())
        .map(|_| ())
        .map_err(fail)
}
// ANCHOR_END: kubernetes_service
