//! The bootstrap policy (book chapter 3): the ClusterRoles and ClusterRoleBindings every
//! kube-apiserver writes at start, from `plugin/pkg/auth/authorizer/rbac/bootstrappolicy`, and
//! the post-start hook `rbac/bootstrap-roles` that writes them (`PolicyData.EnsureRBACPolicy`).
//!
//! An existing object is reconciled rather than replaced, as kube-apiserver's reconciliation
//! does: what the policy needs is added (rules, subjects, labels), what an administrator added
//! is kept, and an object annotated `rbac.authorization.kubernetes.io/autoupdate: "false"` is
//! left alone.

use serde_json::{json, Value};

use super::{aggregate_cluster_roles, own_write};
use crate::config::admin_user;
use crate::config::authentication::{AUTHENTICATED_GROUP, MASTERS_GROUP, UNAUTHENTICATED_GROUP};
use crate::config::authorization::rbac::{covers, PolicyRule, GROUP};
use crate::registry::store::Store;

pub const AUTOUPDATE_ANNOTATION: &str = "rbac.authorization.kubernetes.io/autoupdate";
pub const BOOTSTRAPPING_LABEL: &str = "kubernetes.io/bootstrapping";
/// The group whose members may read `/metrics` (`user.MonitoringGroup`).
pub const MONITORING_GROUP: &str = "system:monitoring";

const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];
const READ_WRITE: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
];

fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> Value {
    json!({"verbs": verbs, "apiGroups": groups, "resources": resources})
}

fn urls(verbs: &[&str], urls: &[&str]) -> Value {
    json!({"verbs": verbs, "nonResourceURLs": urls})
}

fn metadata(name: &str, labels: &[(&str, &str)]) -> Value {
    let mut all = serde_json::Map::new();
    for (k, v) in labels {
        all.insert(k.to_string(), json!(v));
    }
    all.insert(BOOTSTRAPPING_LABEL.into(), json!("rbac-defaults"));
    json!({"name": name, "labels": all, "annotations": {AUTOUPDATE_ANNOTATION: "true"}})
}

fn cluster_role(name: &str, labels: &[(&str, &str)], rules: Vec<Value>) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
           "metadata": metadata(name, labels), "rules": rules})
}

/// A role made of the roles labelled `rbac.authorization.k8s.io/aggregate-to-<into>`.
fn aggregated(name: &str, labels: &[(&str, &str)], from: &str) -> Value {
    let mut role = cluster_role(name, labels, Vec::new());
    let key = format!("rbac.authorization.k8s.io/aggregate-to-{from}");
    role["aggregationRule"] = json!({"clusterRoleSelectors": [{"matchLabels": {key: "true"}}]});
    role
}

const TO_ADMIN: (&str, &str) = ("rbac.authorization.k8s.io/aggregate-to-admin", "true");
const TO_EDIT: (&str, &str) = ("rbac.authorization.k8s.io/aggregate-to-edit", "true");
const TO_VIEW: (&str, &str) = ("rbac.authorization.k8s.io/aggregate-to-view", "true");

// ANCHOR: cluster_roles
/// `ClusterRoles()`: the part of kube-apiserver's bootstrap roles that concerns what this
/// server serves (the node, controller and scheduler roles are left out).
pub fn cluster_roles() -> Vec<Value> {
    vec![
        cluster_role(
            "cluster-admin",
            &[],
            vec![rule(&["*"], &["*"], &["*"]), urls(&["*"], &["*"])],
        ),
        // Enough to see whether the server is up and which APIs it has.
        cluster_role(
            "system:discovery",
            &[],
            vec![urls(
                &["get"],
                &[
                    "/livez",
                    "/readyz",
                    "/healthz",
                    "/version",
                    "/version/",
                    "/openapi",
                    "/openapi/*",
                    "/api",
                    "/api/*",
                    "/apis",
                    "/apis/*",
                ],
            )],
        ),
        // Enough to learn about oneself.
        cluster_role(
            "system:basic-user",
            &[],
            vec![
                rule(
                    &["create"],
                    &["authorization.k8s.io"],
                    &["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                ),
                rule(
                    &["create"],
                    &["authentication.k8s.io"],
                    &["selfsubjectreviews"],
                ),
            ],
        ),
        // What anyone, even unauthenticated, may read.
        cluster_role(
            "system:public-info-viewer",
            &[],
            vec![urls(
                &["get"],
                &["/livez", "/readyz", "/healthz", "/version", "/version/"],
            )],
        ),
        cluster_role(
            "system:monitoring",
            &[],
            vec![urls(
                &["get"],
                &[
                    "/metrics",
                    "/metrics/slis",
                    "/livez",
                    "/readyz",
                    "/healthz",
                    "/livez/*",
                    "/readyz/*",
                    "/healthz/*",
                ],
            )],
        ),
        aggregated("admin", &[], "admin"),
        aggregated("edit", &[TO_ADMIN], "edit"),
        aggregated("view", &[TO_EDIT], "view"),
        cluster_role(
            "system:aggregate-to-admin",
            &[TO_ADMIN],
            vec![
                rule(
                    &["create"],
                    &["authorization.k8s.io"],
                    &["localsubjectaccessreviews"],
                ),
                rule(READ_WRITE, &[GROUP], &["roles", "rolebindings"]),
            ],
        ),
        cluster_role(
            "system:aggregate-to-edit",
            &[TO_EDIT],
            vec![
                rule(
                    READ,
                    &[""],
                    &[
                        "pods/attach",
                        "pods/proxy",
                        "pods/exec",
                        "pods/portforward",
                        "secrets",
                        "services/proxy",
                    ],
                ),
                rule(&["impersonate"], &[""], &["serviceaccounts"]),
                rule(
                    WRITE,
                    &[""],
                    &[
                        "pods",
                        "pods/attach",
                        "pods/proxy",
                        "pods/exec",
                        "pods/portforward",
                    ],
                ),
                rule(&["create"], &[""], &["pods/eviction"]),
                rule(
                    WRITE,
                    &[""],
                    &[
                        "replicationcontrollers",
                        "replicationcontrollers/scale",
                        "serviceaccounts",
                        "services",
                        "services/proxy",
                        "persistentvolumeclaims",
                        "configmaps",
                        "secrets",
                        "events",
                    ],
                ),
                rule(&["create"], &[""], &["serviceaccounts/token"]),
                rule(
                    WRITE,
                    &["apps"],
                    &[
                        "statefulsets",
                        "statefulsets/scale",
                        "daemonsets",
                        "deployments",
                        "deployments/scale",
                        "deployments/rollback",
                        "replicasets",
                        "replicasets/scale",
                    ],
                ),
                rule(WRITE, &["autoscaling"], &["horizontalpodautoscalers"]),
                rule(WRITE, &["batch"], &["jobs", "cronjobs"]),
                rule(WRITE, &["policy"], &["poddisruptionbudgets"]),
                rule(
                    WRITE,
                    &["networking.k8s.io"],
                    &["networkpolicies", "ingresses"],
                ),
                rule(WRITE, &["coordination.k8s.io"], &["leases"]),
            ],
        ),
        cluster_role(
            "system:aggregate-to-view",
            &[TO_VIEW],
            vec![
                rule(
                    READ,
                    &[""],
                    &[
                        "pods",
                        "replicationcontrollers",
                        "replicationcontrollers/scale",
                        "serviceaccounts",
                        "services",
                        "services/status",
                        "endpoints",
                        "persistentvolumeclaims",
                        "persistentvolumeclaims/status",
                        "configmaps",
                    ],
                ),
                rule(
                    READ,
                    &[""],
                    &[
                        "limitranges",
                        "resourcequotas",
                        "bindings",
                        "events",
                        "pods/status",
                        "resourcequotas/status",
                        "namespaces/status",
                        "replicationcontrollers/status",
                        "pods/log",
                    ],
                ),
                // Reading the namespace itself tells a user which namespaces are theirs.
                rule(READ, &[""], &["namespaces"]),
                rule(READ, &["discovery.k8s.io"], &["endpointslices"]),
                rule(
                    READ,
                    &["apps"],
                    &[
                        "controllerrevisions",
                        "statefulsets",
                        "statefulsets/status",
                        "statefulsets/scale",
                        "daemonsets",
                        "daemonsets/status",
                        "deployments",
                        "deployments/status",
                        "deployments/scale",
                        "replicasets",
                        "replicasets/status",
                        "replicasets/scale",
                    ],
                ),
                rule(
                    READ,
                    &["autoscaling"],
                    &[
                        "horizontalpodautoscalers",
                        "horizontalpodautoscalers/status",
                    ],
                ),
                rule(
                    READ,
                    &["batch"],
                    &["jobs", "cronjobs", "cronjobs/status", "jobs/status"],
                ),
                rule(READ, &["events.k8s.io"], &["events"]),
                rule(
                    READ,
                    &["policy"],
                    &["poddisruptionbudgets", "poddisruptionbudgets/status"],
                ),
                rule(
                    READ,
                    &["networking.k8s.io"],
                    &["networkpolicies", "ingresses", "ingresses/status"],
                ),
                rule(READ, &["coordination.k8s.io"], &["leases"]),
            ],
        ),
    ]
}
// ANCHOR_END: cluster_roles

fn group(name: &str) -> Value {
    json!({"kind": "Group", "apiGroup": GROUP, "name": name})
}

fn binding(role: &str, subjects: Vec<Value>) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
           "metadata": metadata(role, &[]),
           "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": role},
           "subjects": subjects})
}

// ANCHOR: cluster_role_bindings
/// `ClusterRoleBindings()`. Discovery is for authenticated users only (kube-apiserver took
/// it from anonymous callers in 1.14); health and version are for everyone.
pub fn cluster_role_bindings() -> Vec<Value> {
    vec![
        binding("cluster-admin", vec![group(MASTERS_GROUP)]),
        binding("system:monitoring", vec![group(MONITORING_GROUP)]),
        binding("system:discovery", vec![group(AUTHENTICATED_GROUP)]),
        binding("system:basic-user", vec![group(AUTHENTICATED_GROUP)]),
        binding(
            "system:public-info-viewer",
            vec![group(AUTHENTICATED_GROUP), group(UNAUTHENTICATED_GROUP)],
        ),
    ]
}
// ANCHOR_END: cluster_role_bindings

/// Adds `expected`'s labels and annotations the existing object lacks.
fn merge_metadata(existing: &mut Value, expected: &Value) {
    for field in ["labels", "annotations"] {
        for (k, v) in expected["metadata"][field]
            .as_object()
            .into_iter()
            .flatten()
        {
            if existing["metadata"][field][k].is_null() {
                existing["metadata"][field][k] = v.clone();
            }
        }
    }
}

/// `computeReconciledRole`: the rules the existing role lacks are added (an aggregated role's
/// rules are the aggregation's business, its selectors are kept as the policy has them).
fn reconcile_role(existing: &Value, expected: &Value) -> Value {
    let mut out = existing.clone();
    merge_metadata(&mut out, expected);
    if expected["aggregationRule"].is_object() {
        out["aggregationRule"] = expected["aggregationRule"].clone();
        return out;
    }
    let (_, missing) = covers(&PolicyRule::of(existing), &PolicyRule::of(expected));
    let rules = out["rules"].as_array_mut();
    match rules {
        Some(rules) => rules.extend(missing.iter().map(|r| json!(r))),
        None => out["rules"] = json!(missing),
    }
    out
}

/// `computeReconciledRoleBinding`: the subjects the existing binding lacks are added.
fn reconcile_binding(existing: &Value, expected: &Value) -> Value {
    let mut out = existing.clone();
    merge_metadata(&mut out, expected);
    let subjects = out["subjects"].as_array().cloned().unwrap_or_default();
    let mut all = subjects.clone();
    for s in expected["subjects"].as_array().into_iter().flatten() {
        if !subjects.contains(s) {
            all.push(s.clone());
        }
    }
    out["subjects"] = json!(all);
    out
}

/// Creates `expected`, or reconciles the stored object with it.
fn ensure(
    store: &Store,
    expected: Value,
    reconcile: fn(&Value, &Value) -> Value,
) -> Result<(), String> {
    let name = expected["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let opts = own_write("kube-apiserver");
    let fail = |e| format!("{} {name}: {e}", store.def.resource);
    match store.get("", &name) {
        Err(e) if e.code() == 404 => {
            store
                .create("", expected, &opts, &admin_user())
                .map_err(fail)?;
            log::info!("created {} {name}", store.def.resource);
        }
        Err(e) => return Err(fail(e)),
        Ok(existing) => {
            if existing["metadata"]["annotations"][AUTOUPDATE_ANNOTATION] == "false" {
                return Ok(());
            }
            let reconciled = reconcile(&existing, &expected);
            if reconciled != existing {
                store
                    .update("", &name, reconciled, &opts, &admin_user())
                    .map_err(fail)?;
                log::info!("reconciled {} {name}", store.def.resource);
            }
        }
    }
    Ok(())
}

// ANCHOR: ensure_rbac_policy
/// The post-start hook `rbac/bootstrap-roles`: the roles, then the bindings, then one pass of
/// aggregation so that `admin`, `edit` and `view` hold their rules before `/readyz` says ok.
pub fn ensure_rbac_policy(cluster_roles_store: &Store, bindings: &Store) -> Result<(), String> {
    for role in cluster_roles() {
        ensure(cluster_roles_store, role, reconcile_role)?;
    }
    for b in cluster_role_bindings() {
        ensure(bindings, b, reconcile_binding)?;
    }
    aggregate_cluster_roles(cluster_roles_store).map_err(|e| format!("aggregating: {e}"))
}
// ANCHOR_END: ensure_rbac_policy

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconciliation_adds_and_keeps() {
        let expected = cluster_role("r", &[], vec![rule(&["get", "list"], &[""], &["pods"])]);
        let mut existing = cluster_role(
            "r",
            &[],
            vec![
                rule(&["get"], &[""], &["pods"]),
                rule(&["*"], &["x"], &["y"]),
            ],
        );
        existing["metadata"]["labels"] = json!({"mine": "yes"});
        let out = reconcile_role(&existing, &expected);
        assert_eq!(out["rules"].as_array().unwrap().len(), 3, "{out}");
        assert_eq!(
            out["rules"][2],
            json!({"verbs": ["list"], "apiGroups": [""], "resources": ["pods"]})
        );
        assert_eq!(out["metadata"]["labels"]["mine"], "yes");
        assert_eq!(
            out["metadata"]["labels"][BOOTSTRAPPING_LABEL],
            "rbac-defaults"
        );

        let expected = binding("b", vec![group("g1")]);
        let mut existing = binding("b", vec![group("g0")]);
        existing["metadata"]["labels"] = json!({});
        let out = reconcile_binding(&existing, &expected);
        assert_eq!(out["subjects"], json!([group("g0"), group("g1")]));
    }

    #[test]
    fn every_binding_names_a_bootstrap_role() {
        let roles: Vec<Value> = cluster_roles();
        for b in cluster_role_bindings() {
            let name = &b["roleRef"]["name"];
            assert!(
                roles.iter().any(|r| r["metadata"]["name"] == *name),
                "{name}"
            );
        }
    }
}
