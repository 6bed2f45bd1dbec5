//! `rbac.authorization.k8s.io/v1`: Role, ClusterRole, RoleBinding, ClusterRoleBinding (book
//! chapters 1 and 3). Mirrors `pkg/apis/rbac` (types, `SetDefaults_*`), `pkg/apis/rbac/validation`
//! and the printers in `pkg/printers/internalversion`. What these objects mean to a request is
//! in `config::authorization::rbac`; what a write of them must not do (escalate) is in
//! `registry::rbac`.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::apis::{age_cell, AGE_COLUMN};
use crate::config::authorization::rbac::GROUP;
use crate::scheme::meta::StatusCause;
use crate::scheme::schema::{
    field, ListType, Struct, Type, LABEL_SELECTOR, METADATA_DOC, OBJECT_META, STRING_LIST,
};
use crate::scheme::selector::LabelSelector;
use crate::scheme::{
    invalid, not_supported, required, ResourceDef, Scheme, Strategy, TableColumn, ALL_VERBS,
};

pub fn add_to_scheme(scheme: &mut Scheme) {
    let mut add = |kind: &'static str, resource: &'static str, namespaced, schema, strategy| {
        scheme.add_known_type(ResourceDef {
            group: GROUP.into(),
            version: "v1".into(),
            kind: kind.into(),
            resource: resource.into(),
            singular: resource.trim_end_matches('s').into(),
            namespaced,
            short_names: Vec::new(),
            categories: Vec::new(),
            verbs: ALL_VERBS,
            schema,
            selectable_fields: &[],
            subresources: &[],
            strategy,
        })
    };
    add(
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
        &CLUSTER_ROLE_BINDING,
        Arc::new(BindingStrategy { namespaced: false }),
    );
    add(
        "ClusterRole",
        "clusterroles",
        false,
        &CLUSTER_ROLE,
        Arc::new(RoleStrategy { namespaced: false }),
    );
    add(
        "RoleBinding",
        "rolebindings",
        true,
        &ROLE_BINDING,
        Arc::new(BindingStrategy { namespaced: true }),
    );
    add(
        "Role",
        "roles",
        true,
        &ROLE,
        Arc::new(RoleStrategy { namespaced: true }),
    );
}

const LIST: ListType = ListType::Atomic;

pub static POLICY_RULE: Struct = Struct {
    name: "io.k8s.api.rbac.v1.PolicyRule",
    description: "What a rule allows: verbs on resources of API groups (optionally only some \
                  names), or verbs on non-resource URLs.",
    fields: &[
        field(1, "verbs", STRING_LIST, "Verbs allowed: get, list, watch, create, update, patch, delete, deletecollection, or '*' for all."),
        field(2, "apiGroups", STRING_LIST, "API groups of the resources; \"\" is the core group, '*' all."),
        field(3, "resources", STRING_LIST, "Resources the rule applies to; 'pods/log' names a subresource, '*' all, '*/scale' a subresource of all."),
        field(4, "resourceNames", STRING_LIST, "Names the rule is limited to; empty means every name."),
        field(5, "nonResourceURLs", STRING_LIST, "Paths that are not resources (/healthz); a trailing '*' is a prefix. Only in ClusterRoles."),
    ],
};

static RULES: Type = Type::List(&Type::Struct(&POLICY_RULE), LIST);

pub static ROLE: Struct = Struct {
    name: "io.k8s.api.rbac.v1.Role",
    description: "A namespaced set of rules, granted by RoleBindings in its namespace.",
    fields: &[
        field(1, "metadata", Type::Struct(&OBJECT_META), METADATA_DOC),
        field(2, "rules", RULES, "The rules of this Role."),
    ],
};

pub static AGGREGATION_RULE: Struct = Struct {
    name: "io.k8s.api.rbac.v1.AggregationRule",
    description: "Which ClusterRoles' rules are gathered into this one.",
    fields: &[field(
        1,
        "clusterRoleSelectors",
        Type::List(&Type::Struct(&LABEL_SELECTOR), LIST),
        "ClusterRoles matching any of these selectors give their rules to this one.",
    )],
};

pub static CLUSTER_ROLE: Struct = Struct {
    name: "io.k8s.api.rbac.v1.ClusterRole",
    description: "A cluster-wide set of rules, granted by ClusterRoleBindings everywhere or by \
                  RoleBindings in one namespace.",
    fields: &[
        field(1, "metadata", Type::Struct(&OBJECT_META), METADATA_DOC),
        field(
            2,
            "rules",
            RULES,
            "The rules of this ClusterRole; with an aggregationRule the controller sets them.",
        ),
        field(
            3,
            "aggregationRule",
            Type::Pointer(&Type::Struct(&AGGREGATION_RULE)),
            "Makes this role the union of the ClusterRoles it selects.",
        ),
    ],
};

pub static SUBJECT: Struct = Struct {
    name: "io.k8s.api.rbac.v1.Subject",
    description: "Who a binding grants its role to: a User, a Group or a ServiceAccount.",
    fields: &[
        field(1, "kind", Type::String, "User, Group or ServiceAccount."),
        field(
            2,
            "apiGroup",
            Type::String,
            "rbac.authorization.k8s.io for users and groups, \"\" for service accounts.",
        ),
        field(3, "name", Type::String, "The name of the subject."),
        field(
            4,
            "namespace",
            Type::String,
            "The namespace of a ServiceAccount; in a RoleBinding it defaults to the binding's.",
        ),
    ],
};

pub static ROLE_REF: Struct = Struct {
    name: "io.k8s.api.rbac.v1.RoleRef",
    description: "The role a binding grants; it cannot change once the binding exists.",
    fields: &[
        field(1, "apiGroup", Type::String, "rbac.authorization.k8s.io."),
        field(2, "kind", Type::String, "Role or ClusterRole."),
        field(3, "name", Type::String, "The name of the role."),
    ],
};

static SUBJECTS: Type = Type::List(&Type::Struct(&SUBJECT), LIST);

pub static ROLE_BINDING: Struct = Struct {
    name: "io.k8s.api.rbac.v1.RoleBinding",
    description: "Grants a Role, or a ClusterRole, to subjects within one namespace.",
    fields: &[
        field(1, "metadata", Type::Struct(&OBJECT_META), METADATA_DOC),
        field(2, "subjects", SUBJECTS, "Who is granted the role."),
        field(3, "roleRef", Type::Struct(&ROLE_REF), "The role granted."),
    ],
};

pub static CLUSTER_ROLE_BINDING: Struct = Struct {
    name: "io.k8s.api.rbac.v1.ClusterRoleBinding",
    description: "Grants a ClusterRole to subjects in every namespace.",
    fields: &[
        field(1, "metadata", Type::Struct(&OBJECT_META), METADATA_DOC),
        field(2, "subjects", SUBJECTS, "Who is granted the role."),
        field(
            3,
            "roleRef",
            Type::Struct(&ROLE_REF),
            "The ClusterRole granted.",
        ),
    ],
};

/// `ValidateRBACName` (`path.IsValidPathSegmentName`): RBAC names may hold colons
/// (`system:discovery`), so they are only kept from breaking the URL path.
fn rbac_name_errors(name: &str) -> Vec<String> {
    if name == "." || name == ".." {
        return vec![format!("may not be '{name}'")];
    }
    ["/", "%"]
        .iter()
        .filter(|bad| name.contains(*bad))
        .map(|bad| format!("may not contain '{bad}'"))
        .collect()
}

fn name_causes(obj: &Value) -> Vec<StatusCause> {
    match obj["metadata"]["name"].as_str() {
        Some(name) => rbac_name_errors(name)
            .iter()
            .map(|e| invalid("metadata.name", &obj["metadata"]["name"], e))
            .collect(),
        None => Vec::new(),
    }
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

// ANCHOR: validate_policy_rule
/// `ValidatePolicyRule`: a rule names verbs, and either URLs (only in a ClusterRole) or
/// groups and resources, never both.
fn validate_policy_rule(rule: &Value, namespaced: bool, path: &str) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    let has = |f: &str| !strings(&rule[f]).is_empty();
    if !has("verbs") {
        causes.push(required(
            &format!("{path}.verbs"),
            "verbs must contain at least one value",
        ));
    }
    if has("nonResourceURLs") {
        let urls = &rule["nonResourceURLs"];
        if namespaced {
            causes.push(invalid(
                &format!("{path}.nonResourceURLs"),
                urls,
                "namespaced rules cannot apply to non-resource URLs",
            ));
        }
        if has("apiGroups") || has("resources") || has("resourceNames") {
            causes.push(invalid(
                &format!("{path}.nonResourceURLs"),
                urls,
                "rules cannot apply to both regular resources and non-resource URLs",
            ));
        }
        return causes;
    }
    if !has("apiGroups") {
        causes.push(required(
            &format!("{path}.apiGroups"),
            "resource rules must supply at least one api group",
        ));
    }
    if !has("resources") {
        causes.push(required(
            &format!("{path}.resources"),
            "resource rules must supply at least one resource",
        ));
    }
    causes
}
// ANCHOR_END: validate_policy_rule

/// Role and ClusterRole (`ValidateRole`, `ValidateClusterRole`).
pub struct RoleStrategy {
    namespaced: bool,
}

impl Strategy for RoleStrategy {
    fn name_rule(&self) -> crate::apis::validation::NameRule {
        crate::apis::validation::NameRule::ByStrategy
    }

    fn validate(&self, obj: &Value) -> Vec<StatusCause> {
        let mut causes = name_causes(obj);
        for (i, rule) in obj["rules"].as_array().into_iter().flatten().enumerate() {
            causes.extend(validate_policy_rule(
                rule,
                self.namespaced,
                &format!("rules[{i}]"),
            ));
        }
        let aggregation = &obj["aggregationRule"];
        if !self.namespaced && !aggregation.is_null() {
            let selectors = aggregation["clusterRoleSelectors"]
                .as_array()
                .map_or(&[][..], Vec::as_slice);
            if selectors.is_empty() {
                causes.push(required(
                    "aggregationRule.clusterRoleSelectors",
                    "at least one clusterRoleSelector required if aggregationRule is non-nil",
                ));
            }
            for (i, s) in selectors.iter().enumerate() {
                if LabelSelector::parse(&crate::apis::apps::selector_string(s)).is_err() {
                    causes.push(invalid(
                        &format!("aggregationRule.clusterRoleSelectors[{i}]"),
                        s,
                        "invalid label selector.",
                    ));
                }
            }
        }
        causes
    }

    fn table_columns(&self) -> Vec<TableColumn> {
        vec![TableColumn {
            name: "Created At".into(),
            type_: "date".into(),
            format: "".into(),
            description: "When the server created the object.".into(),
            priority: 0,
        }]
    }

    fn table_cells(&self, obj: &Value) -> Vec<Value> {
        vec![obj["metadata"]["creationTimestamp"].clone()]
    }
}

/// `SetDefaults_Subject`: users and groups are of the RBAC group, service accounts of the core.
fn default_subjects(obj: &mut Value) {
    for s in obj["subjects"].as_array_mut().into_iter().flatten() {
        if s["apiGroup"].as_str().unwrap_or_default().is_empty() {
            match s["kind"].as_str() {
                Some("User" | "Group") => s["apiGroup"] = json!(GROUP),
                Some("ServiceAccount") => s["apiGroup"] = json!(""),
                _ => {}
            }
        }
    }
}

/// RoleBinding and ClusterRoleBinding (`ValidateRoleBinding`, `ValidateClusterRoleBinding`).
pub struct BindingStrategy {
    namespaced: bool,
}

fn validate_subject(s: &Value, namespaced: bool, path: &str) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    let name = s["name"].as_str().unwrap_or_default();
    let api_group = s["apiGroup"].as_str().unwrap_or_default();
    if name.is_empty() {
        causes.push(required(&format!("{path}.name"), ""));
    }
    match s["kind"].as_str().unwrap_or_default() {
        "ServiceAccount" => {
            if !name.is_empty() {
                for e in crate::apis::validation::dns1123_subdomain(name) {
                    causes.push(invalid(&format!("{path}.name"), &s["name"], &e));
                }
            }
            if !api_group.is_empty() {
                causes.push(not_supported(&format!("{path}.apiGroup"), api_group, &[""]));
            }
            if !namespaced && s["namespace"].as_str().unwrap_or_default().is_empty() {
                causes.push(required(&format!("{path}.namespace"), ""));
            }
        }
        "User" | "Group" => {
            if api_group != GROUP {
                causes.push(not_supported(
                    &format!("{path}.apiGroup"),
                    api_group,
                    &[GROUP],
                ));
            }
        }
        other => causes.push(not_supported(
            &format!("{path}.kind"),
            other,
            &["ServiceAccount", "User", "Group"],
        )),
    }
    causes
}

impl Strategy for BindingStrategy {
    fn name_rule(&self) -> crate::apis::validation::NameRule {
        crate::apis::validation::NameRule::ByStrategy
    }

    fn set_defaults(&self, obj: &mut Value) {
        if obj.get("roleRef").is_some_and(Value::is_object)
            && obj["roleRef"]["apiGroup"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
        {
            obj["roleRef"]["apiGroup"] = json!(GROUP);
        }
        default_subjects(obj);
    }

    fn validate(&self, obj: &Value) -> Vec<StatusCause> {
        let mut causes = name_causes(obj);
        let role_ref = &obj["roleRef"];
        let api_group = role_ref["apiGroup"].as_str().unwrap_or_default();
        if api_group != GROUP {
            causes.push(not_supported("roleRef.apiGroup", api_group, &[GROUP]));
        }
        let kind = role_ref["kind"].as_str().unwrap_or_default();
        let kinds: &[&str] = if self.namespaced {
            &["Role", "ClusterRole"]
        } else {
            &["ClusterRole"]
        };
        if !kinds.contains(&kind) {
            causes.push(not_supported("roleRef.kind", kind, kinds));
        }
        match role_ref["name"].as_str().unwrap_or_default() {
            "" => causes.push(required("roleRef.name", "")),
            name => causes.extend(
                rbac_name_errors(name)
                    .iter()
                    .map(|e| invalid("roleRef.name", &role_ref["name"], e)),
            ),
        }
        for (i, s) in obj["subjects"].as_array().into_iter().flatten().enumerate() {
            causes.extend(validate_subject(
                s,
                self.namespaced,
                &format!("subjects[{i}]"),
            ));
        }
        causes
    }

    /// `ValidateRoleBindingUpdate`: a binding's role is what it is; to grant another, make
    /// another binding (so that the escalation check of a create always applies).
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<StatusCause> {
        let mut causes = self.validate(new);
        if new["roleRef"] != old["roleRef"] {
            causes.push(invalid("roleRef", &new["roleRef"], "cannot change roleRef"));
        }
        causes
    }

    fn table_columns(&self) -> Vec<TableColumn> {
        vec![
            TableColumn::text("Role", "The role the binding grants: Kind/name.", 0),
            AGE_COLUMN,
            TableColumn::text("Users", "Users in the roleBinding", 1),
            TableColumn::text("Groups", "Groups in the roleBinding", 1),
            TableColumn::text("ServiceAccounts", "ServiceAccounts in the roleBinding", 1),
        ]
    }

    fn table_cells(&self, obj: &Value) -> Vec<Value> {
        let role = format!(
            "{}/{}",
            obj["roleRef"]["kind"].as_str().unwrap_or_default(),
            obj["roleRef"]["name"].as_str().unwrap_or_default()
        );
        let (mut users, mut groups, mut sas) = (Vec::new(), Vec::new(), Vec::new());
        for s in obj["subjects"].as_array().into_iter().flatten() {
            let name = s["name"].as_str().unwrap_or_default().to_string();
            match s["kind"].as_str() {
                Some("User") => users.push(name),
                Some("Group") => groups.push(name),
                Some("ServiceAccount") => match s["namespace"].as_str() {
                    Some(ns) if !ns.is_empty() => sas.push(format!("{ns}/{name}")),
                    _ => sas.push(name),
                },
                _ => {}
            }
        }
        vec![
            json!(role),
            age_cell(obj),
            json!(users.join(", ")),
            json!(groups.join(", ")),
            json!(sas.join(", ")),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(causes: Vec<StatusCause>) -> Vec<String> {
        causes.into_iter().map(|c| c.field).collect()
    }

    #[test]
    fn role_rules_are_checked_as_kube_checks_them() {
        let cluster = RoleStrategy { namespaced: false };
        let ns = RoleStrategy { namespaced: true };
        let ok = json!({"metadata": {"name": "system:reader"}, "rules": [
            {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]},
            {"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]});
        assert!(cluster.validate(&ok).is_empty());
        assert_eq!(fields(ns.validate(&ok)), ["rules[1].nonResourceURLs"]);
        let bad = json!({"metadata": {"name": "a/b"}, "rules": [{"apiGroups": [""]},
            {"verbs": ["get"], "resources": ["pods"], "nonResourceURLs": ["/x"]}],
            "aggregationRule": {}});
        assert_eq!(
            fields(cluster.validate(&bad)),
            [
                "metadata.name",
                "rules[0].verbs",
                "rules[0].resources",
                "rules[1].nonResourceURLs",
                "aggregationRule.clusterRoleSelectors"
            ]
        );
    }

    #[test]
    fn bindings_default_and_validate_subjects_and_role_refs() {
        let crb = BindingStrategy { namespaced: false };
        let mut obj = json!({"metadata": {"name": "b"}, "roleRef": {"kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "User", "name": "bob"}, {"kind": "ServiceAccount", "name": "sa"}, {"kind": "Robot", "name": "r"}]});
        crb.set_defaults(&mut obj);
        assert_eq!(obj["roleRef"]["apiGroup"], GROUP);
        assert_eq!(obj["subjects"][0]["apiGroup"], GROUP);
        assert_eq!(
            fields(crb.validate(&obj)),
            ["subjects[1].namespace", "subjects[2].kind"]
        );
        obj["roleRef"]["kind"] = json!("Role");
        assert_eq!(fields(crb.validate(&obj))[0], "roleRef.kind");
        let rb = BindingStrategy { namespaced: true };
        let old = json!({"metadata": {"name": "b"}, "roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "a"}});
        let new = json!({"metadata": {"name": "b"}, "roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "b"}});
        assert_eq!(fields(rb.validate_update(&new, &old)), ["roleRef"]);
        let row = rb.table_cells(&json!({"roleRef": {"kind": "Role", "name": "a"}, "subjects": [
            {"kind": "User", "name": "u"}, {"kind": "ServiceAccount", "name": "s", "namespace": "n"}]}));
        assert_eq!(
            (row[0].as_str(), row[2].as_str(), row[4].as_str()),
            (Some("Role/a"), Some("u"), Some("n/s"))
        );
    }
}
