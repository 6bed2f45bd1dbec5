//! The RBAC registry (book chapter 3): the generic store of roles and bindings, wrapped so that
//! no one grants more than they hold. Mirrors `pkg/registry/rbac/role/policybased`,
//! `rolebinding/policybased` (and their cluster forms), `pkg/registry/rbac/escalation_check.go`,
//! and the ClusterRole aggregation controller.
//!
//! Without this check RBAC would be a formality: anyone allowed to create a Role and a
//! RoleBinding could write a Role granting everything and bind it to themselves. So a write of
//! a role must grant only what the writer already holds (or the writer must be allowed the
//! `escalate` verb on roles), and a binding may only point at a role whose rules the writer
//! holds (or the writer must be allowed `bind` on that role). `system:masters` always passes.
//!
//! - [`bootstrappolicy`]: the roles and bindings every cluster starts with.

pub mod bootstrappolicy;

use std::sync::Arc;

use serde_json::{json, Value};

use super::store::{Deleted, Store, UpdatedObject};
use super::Rest;
use crate::apis::apps::selector_string;
use crate::config::admin_user;
use crate::config::authentication::{UserInfo, MASTERS_GROUP};
use crate::config::authorization::rbac::{
    confirm_no_escalation, DefaultRuleResolver, PolicyRule, RoleRef, GROUP,
};
use crate::config::authorization::{Authorizer, Decision};
use crate::scheme::codec::FieldValidation;
use crate::scheme::meta::StatusError;
use crate::scheme::parameter_codec::{DeleteOptions, ListOptions, WriteOptions};
use crate::scheme::selector::LabelSelector;
use crate::scheme::{meta_str, set_meta};
use crate::server::filters::request_info::RequestInfo;

/// `EscalationAllowed`: the loopback and admin identity may do anything, so it may grant anything.
fn escalation_allowed(user: &UserInfo) -> bool {
    user.groups.iter().any(|g| g == MASTERS_GROUP)
}

/// A resource request on an RBAC resource, as the `escalate` and `bind` checks ask it.
fn rbac_request(verb: &str, resource: &str, namespace: &str, name: &str) -> RequestInfo {
    RequestInfo {
        is_resource_request: true,
        verb: verb.into(),
        api_group: GROUP.into(),
        api_version: "*".into(),
        resource: resource.into(),
        namespace: namespace.into(),
        name: name.into(),
        ..Default::default()
    }
}

/// `IsOnlyMutatingGCFields`: an update that only touches owner references and finalizers is
/// the garbage collector's business, and needs no escalation check.
fn only_gc_fields(new: &Value, old: &Value) -> bool {
    let mut copied = new.clone();
    for field in [
        "ownerReferences",
        "finalizers",
        "managedFields",
        "resourceVersion",
    ] {
        match old["metadata"].get(field) {
            Some(v) => set_meta(&mut copied, field, v.clone()),
            None => {
                if let Some(m) = copied["metadata"].as_object_mut() {
                    m.remove(field);
                }
            }
        }
    }
    copied == *old
}

/// `*` on everything, and on every URL: what `cluster-admin` grants.
fn full_authority() -> Vec<PolicyRule> {
    let all = || vec!["*".to_string()];
    vec![
        PolicyRule {
            verbs: all(),
            api_groups: all(),
            resources: all(),
            ..Default::default()
        },
        PolicyRule {
            verbs: all(),
            non_resource_urls: all(),
            ..Default::default()
        },
    ]
}

/// What each write of an RBAC object must check before the store has it.
enum Policy {
    /// Role or ClusterRole: the rules it grants.
    Role,
    /// RoleBinding or ClusterRoleBinding: the role it points at, looked up in these stores.
    Binding {
        roles: Arc<Store>,
        cluster_roles: Arc<Store>,
    },
}

// ANCHOR: policy_based_rest
/// The REST of one RBAC resource: the generic store behind the escalation checks.
pub struct PolicyBasedRest {
    store: Arc<Store>,
    policy: Policy,
    authorizer: Arc<Authorizer>,
    resolver: DefaultRuleResolver,
    /// For ClusterRoles: whether the aggregated roles are brought up to date after each write.
    aggregate: bool,
}

impl PolicyBasedRest {
    pub fn role(
        store: Arc<Store>,
        authorizer: Arc<Authorizer>,
        resolver: DefaultRuleResolver,
    ) -> PolicyBasedRest {
        let aggregate = store.def.resource == "clusterroles";
        PolicyBasedRest {
            resolver,
            store,
            policy: Policy::Role,
            authorizer,
            aggregate,
        }
    }

    pub fn binding(
        store: Arc<Store>,
        authorizer: Arc<Authorizer>,
        resolver: DefaultRuleResolver,
        roles: Arc<Store>,
        cluster_roles: Arc<Store>,
    ) -> PolicyBasedRest {
        PolicyBasedRest {
            resolver,
            store,
            policy: Policy::Binding {
                roles,
                cluster_roles,
            },
            authorizer,
            aggregate: false,
        }
    }

    fn allowed(&self, user: &UserInfo, info: &RequestInfo) -> bool {
        self.authorizer.authorize(user, info) == Decision::Allow
    }

    /// The check of one write of `obj` by `user` in `namespace`, under the URL's `name`;
    /// `old` is the stored object an update replaces.
    fn check(
        &self,
        user: &UserInfo,
        namespace: &str,
        name: &str,
        obj: &Value,
        old: Option<&Value>,
    ) -> Result<(), StatusError> {
        let forbidden = |why: &str| {
            StatusError::forbidden(self.store.def.group_resource(), meta_str(obj, "name"), why)
        };
        let rules = match &self.policy {
            Policy::Role => {
                // `RoleEscalationAuthorized`: the `escalate` verb on roles waives the check.
                let escalate = rbac_request("escalate", &self.store.def.resource, namespace, name);
                if escalation_allowed(user) || self.allowed(user, &escalate) {
                    return Ok(());
                }
                confirm_no_escalation(&self.resolver, user, namespace, &PolicyRule::of(obj))
                    .map_err(|why| forbidden(&why))?;
                // An aggregation rule can gather any rule of any ClusterRole, so setting one
                // (or changing a role that has one) takes holding everything.
                let aggregates = |o: &Value| o["aggregationRule"].is_object();
                if aggregates(obj) || old.is_some_and(aggregates) {
                    confirm_no_escalation(&self.resolver, user, namespace, &full_authority())
                        .map_err(|_| {
                            forbidden(
                                "must have cluster-admin privileges to use the aggregationRule",
                            )
                        })?;
                }
                return Ok(());
            }
            Policy::Binding {
                roles,
                cluster_roles,
            } => {
                let role_ref: RoleRef =
                    serde_json::from_value(obj["roleRef"].clone()).unwrap_or_default();
                // `BindingAuthorized`: the `bind` verb on the role waives the check.
                let (resource, store) = match role_ref.kind.as_str() {
                    "Role" => ("roles", roles),
                    "ClusterRole" => ("clusterroles", cluster_roles),
                    // Validation refuses the kind after this; nothing to check against.
                    _ => return Ok(()),
                };
                let mut bind = rbac_request("bind", resource, namespace, &role_ref.name);
                bind.api_group = role_ref.api_group.clone();
                if self.allowed(user, &bind) {
                    return Ok(());
                }
                let ns = if resource == "roles" { namespace } else { "" };
                PolicyRule::of(&store.get(ns, &role_ref.name)?)
            }
        };
        confirm_no_escalation(&self.resolver, user, namespace, &rules)
            .map_err(|why| forbidden(&why))
    }

    fn after_write(&self) {
        if self.aggregate {
            if let Err(e) = aggregate_cluster_roles(&self.store) {
                log::error!("aggregating cluster roles: {e}");
            }
        }
    }
}

impl Rest for PolicyBasedRest {
    fn store(&self) -> &Store {
        &self.store
    }

    fn create(
        &self,
        namespace: &str,
        obj: Value,
        opts: &WriteOptions,
        user: &UserInfo,
    ) -> Result<Value, StatusError> {
        self.check(user, namespace, "", &obj, None)?;
        let created = self.store.create(namespace, obj, opts, user)?;
        self.after_write();
        Ok(created)
    }

    /// The check runs on the object each attempt computes, as Go wraps the `UpdatedObjectInfo`.
    fn update(
        &self,
        namespace: &str,
        name: &str,
        updated: &UpdatedObject,
        opts: &WriteOptions,
        user: &UserInfo,
    ) -> Result<Value, StatusError> {
        let checked = |old: &Value| {
            let new = updated(old)?;
            if !only_gc_fields(&new, old) {
                self.check(user, namespace, name, &new, Some(old))?;
            }
            Ok(new)
        };
        let written = self
            .store
            .update_with(namespace, name, &checked, opts, user)?;
        self.after_write();
        Ok(written)
    }

    fn delete(
        &self,
        namespace: &str,
        name: &str,
        opts: &DeleteOptions,
        user: &UserInfo,
    ) -> Result<Deleted, StatusError> {
        let deleted = self.store.delete(namespace, name, opts, user)?;
        self.after_write();
        Ok(deleted)
    }
}
// ANCHOR_END: policy_based_rest

/// The options of the server's own writes, under a manager named as kube-apiserver's.
pub fn own_write(manager: &str) -> WriteOptions {
    WriteOptions {
        dry_run: false,
        field_manager: manager.into(),
        field_validation: FieldValidation::Strict,
        force: None,
    }
}

// ANCHOR: aggregate
/// The ClusterRole aggregation controller's sync, run after every ClusterRole write: each role
/// with an `aggregationRule` gets the rules of the roles its selectors match, in name order,
/// each once. Aggregated roles may feed others (`view` into `edit` into `admin`), so it
/// repeats until nothing changes, at most once per aggregated role.
pub fn aggregate_cluster_roles(store: &Store) -> Result<(), StatusError> {
    let opts = own_write("clusterrole-aggregation-controller");
    let mut passes = 0;
    loop {
        let list = store.list("", &ListOptions::default())?;
        let roles = list["items"].as_array().cloned().unwrap_or_default();
        let aggregated: Vec<&Value> = roles
            .iter()
            .filter(|r| r["aggregationRule"].is_object())
            .collect();
        let mut changed = false;
        for role in &aggregated {
            let name = meta_str(role, "name");
            let mut rules: Vec<Value> = Vec::new();
            for selector in role["aggregationRule"]["clusterRoleSelectors"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let Ok(selector) = LabelSelector::parse(&selector_string(selector)) else {
                    continue;
                };
                for other in &roles {
                    if meta_str(other, "name") == name
                        || !selector.matches(other["metadata"]["labels"].as_object())
                    {
                        continue;
                    }
                    for rule in other["rules"].as_array().into_iter().flatten() {
                        if !rules.contains(rule) {
                            rules.push(rule.clone());
                        }
                    }
                }
            }
            let current = role["rules"].as_array().cloned().unwrap_or_default();
            if current == rules {
                continue;
            }
            let mut new = (*role).clone();
            new["rules"] = json!(rules);
            store.update("", name, new, &opts, &admin_user())?;
            changed = true;
        }
        passes += 1;
        if !changed || passes > aggregated.len() {
            return Ok(());
        }
    }
}
// ANCHOR_END: aggregate

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gc_fields_alone_skip_the_check() {
        let old = json!({"metadata": {"name": "r", "resourceVersion": "5"}, "rules": []});
        let owned = json!({"metadata": {"name": "r", "ownerReferences": [{"uid": "u"}], "finalizers": ["f"]}, "rules": []});
        assert!(only_gc_fields(&owned, &old));
        let relabelled = json!({"metadata": {"name": "r", "labels": {"a": "b"}}, "rules": []});
        assert!(!only_gc_fields(&relabelled, &old));
    }
}
