//! ResourceQuota: `pkg/apis/core/validation.ValidateResourceQuota` and the `resourcequota`
//! strategy. `spec.hard` is what the namespace may hold; `status` is written by the
//! ResourceQuota admission plugin (`config::admission::resourcequota`, which charges each create)
//! and by the quota controller (`server::resourcequota`, which recounts), through `/status`.

use serde_json::{json, Value};

use crate::apis::{age_cell, AGE_COLUMN};
use crate::scheme::meta::StatusCause;
use crate::scheme::schema::{field, Struct, Type, METADATA_DOC, OBJECT_META, STRING_LIST};
use crate::scheme::{invalid, Strategy, TableColumn};
use crate::util::resource::{Quantity, FORMAT_ERROR};

pub struct ResourceQuotaStrategy;

const RESOURCE_LIST: Type = Type::Map(&Type::Quantity);

/// `v1.ResourceQuota`.
pub static RESOURCE_QUOTA: Struct = Struct {
    name: "io.k8s.api.core.v1.ResourceQuota",
    description: "Sets aggregate quota restrictions enforced per namespace.",
    fields: &[
        field(1, "metadata", Type::Struct(&OBJECT_META), METADATA_DOC),
        field(
            2,
            "spec",
            Type::Struct(&RESOURCE_QUOTA_SPEC),
            "The hard limits of the quota.",
        ),
        field(
            3,
            "status",
            Type::Struct(&RESOURCE_QUOTA_STATUS),
            "The enforced hard limits and what the namespace uses of them.",
        ),
    ],
};

static RESOURCE_QUOTA_SPEC: Struct = Struct {
    name: "io.k8s.api.core.v1.ResourceQuotaSpec",
    description: "The desired hard limits of a quota.",
    fields: &[
        field(
            1,
            "hard",
            RESOURCE_LIST,
            "The most of each named resource the namespace may use.",
        ),
        field(
            2,
            "scopes",
            STRING_LIST,
            "Which objects the quota counts: all of them, or those in every listed scope.",
        ),
        field(
            3,
            "scopeSelector",
            Type::Any,
            "Scopes as selector expressions (not enforced by this server).",
        ),
    ],
};

static RESOURCE_QUOTA_STATUS: Struct = Struct {
    name: "io.k8s.api.core.v1.ResourceQuotaStatus",
    description: "The enforced hard limits and the observed use.",
    fields: &[
        field(1, "hard", RESOURCE_LIST, "The hard limits being enforced."),
        field(
            2,
            "used",
            RESOURCE_LIST,
            "What the namespace uses of each limited resource.",
        ),
    ],
};

/// `standardQuotaResources`: the names a quota may limit without a domain.
const STANDARD_QUOTA_RESOURCES: &[&str] = &[
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "services.nodeports",
    "services.loadbalancers",
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.storage",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
];

/// `IsIntegerResourceName`: object counts, which no fraction of can exist.
pub fn is_integer_resource(name: &str) -> bool {
    STANDARD_QUOTA_RESOURCES[..9].contains(&name) || name.starts_with("count/")
}

fn is_standard_quota_resource(name: &str) -> bool {
    STANDARD_QUOTA_RESOURCES.contains(&name)
        || name.starts_with("hugepages-")
        || name.starts_with("requests.hugepages-")
}

/// The scopes kube-apiserver knows (`standardResourceQuotaScopes`).
const STANDARD_SCOPES: &[&str] = &[
    "Terminating",
    "NotTerminating",
    "BestEffort",
    "NotBestEffort",
    "PriorityClass",
    "CrossNamespacePodAffinity",
    "VolumeAttributesClass",
];

/// The resources a scoped quota may limit (`IsResourceQuotaScopeValidForResource`): BestEffort
/// pods have no requests or limits, so a BestEffort quota may only count them.
fn scope_allows(scope: &str, resource: &str) -> bool {
    const COMPUTE: &[&str] = &[
        "pods",
        "cpu",
        "memory",
        "requests.cpu",
        "requests.memory",
        "limits.cpu",
        "limits.memory",
    ];
    match scope {
        "BestEffort" => resource == "pods",
        "Terminating" | "NotTerminating" | "NotBestEffort" | "PriorityClass" => {
            COMPUTE.contains(&resource)
        }
        _ => true,
    }
}

// ANCHOR: validate_resource_list
/// One resource list of a quota (`spec.hard`, `status.hard`, `status.used`): names a quota
/// knows, quantities that parse, are not negative, and are whole for object counts.
fn validate_resource_list(list: &Value, path: &str) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    for (k, v) in list.as_object().into_iter().flatten() {
        let at = format!("{path}[{k}]");
        if !k.contains('/') && !is_standard_quota_resource(k) {
            causes.push(invalid(
                &at,
                &Value::String(k.clone()),
                "must be a standard resource for quota",
            ));
        }
        let Some(q) = Quantity::from_value(v) else {
            causes.push(invalid(&at, v, FORMAT_ERROR));
            continue;
        };
        if q.is_negative() {
            causes.push(invalid(&at, v, "must be greater than or equal to 0"));
        }
        if is_integer_resource(k) && !q.is_integer() {
            causes.push(invalid(&at, v, "must be an integer"));
        }
    }
    causes
}
// ANCHOR_END: validate_resource_list

fn validate_scopes(spec: &Value) -> Vec<StatusCause> {
    let scopes: Vec<&str> = spec["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut causes = Vec::new();
    let value = &spec["scopes"];
    if scopes.iter().any(|s| !STANDARD_SCOPES.contains(s)) {
        causes.push(invalid("spec.scopes", value, "unsupported scope"));
    }
    let has = |s: &str| scopes.contains(&s);
    if (has("Terminating") && has("NotTerminating")) || (has("BestEffort") && has("NotBestEffort"))
    {
        causes.push(invalid("spec.scopes", value, "conflicting scopes"));
    }
    let hard = spec["hard"].as_object();
    if hard
        .into_iter()
        .flatten()
        .any(|(k, _)| scopes.iter().any(|s| !scope_allows(s, k)))
    {
        causes.push(invalid(
            "spec.scopes",
            value,
            "unsupported scope applied to resource",
        ));
    }
    causes
}

impl Strategy for ResourceQuotaStrategy {
    /// `PrepareForCreate`: a new quota has used nothing yet; the controller fills its status.
    fn prepare_for_create(&self, obj: &mut Value) {
        if let Some(o) = obj.as_object_mut() {
            o.remove("status");
        }
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(o) = new.as_object_mut() {
                    o.remove("status");
                }
            }
        }
    }

    fn validate(&self, obj: &Value) -> Vec<StatusCause> {
        let mut causes = validate_resource_list(&obj["spec"]["hard"], "spec.hard");
        causes.extend(validate_scopes(&obj["spec"]));
        causes.extend(validate_resource_list(
            &obj["status"]["hard"],
            "status.hard",
        ));
        causes.extend(validate_resource_list(
            &obj["status"]["used"],
            "status.used",
        ));
        causes
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<StatusCause> {
        let mut causes = self.validate(new);
        if new["spec"]["scopes"] != old["spec"]["scopes"] {
            causes.push(invalid(
                "spec.scopes",
                &new["spec"]["scopes"],
                "field is immutable",
            ));
        }
        causes
    }

    fn table_columns(&self) -> Vec<TableColumn> {
        vec![
            AGE_COLUMN,
            TableColumn::text(
                "Request",
                "Request represents a minimum amount of cpu/memory that a container may consume.",
                0,
            ),
            TableColumn::text(
                "Limit",
                "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
                0,
            ),
        ]
    }

    // ANCHOR: quota_cells
    /// `printResourceQuota`: `used/hard` of every enforced resource, the `limits.*` ones in the
    /// Limit column and all others in the Request column.
    fn table_cells(&self, obj: &Value) -> Vec<Value> {
        let hard = crate::util::resource::resource_list(&obj["status"]["hard"]);
        let used = crate::util::resource::resource_list(&obj["status"]["used"]);
        let (mut request, mut limit) = (Vec::new(), Vec::new());
        for (name, h) in &hard {
            let u = used.get(name).copied().unwrap_or(Quantity::ZERO);
            let cell = format!("{name}: {u}/{h}");
            if name.split('.').next() == Some("limits") && name.contains('.') {
                limit.push(cell);
            } else {
                request.push(cell);
            }
        }
        vec![
            age_cell(obj),
            json!(request.join(", ")),
            json!(limit.join(", ")),
        ]
    }
    // ANCHOR_END: quota_cells
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hard_limits_are_known_whole_and_not_negative() {
        let q = json!({"spec": {"hard": {"pods": "1500m", "cpu": "-1", "widgets": "1",
                                         "count/deployments.apps": "2", "memory": "1Gi"}}});
        let messages: Vec<String> = ResourceQuotaStrategy
            .validate(&q)
            .into_iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        assert_eq!(
            messages,
            [
                "spec.hard[cpu]: Invalid value: \"-1\": must be greater than or equal to 0",
                "spec.hard[pods]: Invalid value: \"1500m\": must be an integer",
                "spec.hard[widgets]: Invalid value: \"widgets\": must be a standard resource for quota",
            ]
        );
    }

    #[test]
    fn scopes_are_known_and_fit_the_resources() {
        let bad = |scopes: Value, hard: Value| {
            ResourceQuotaStrategy
                .validate(&json!({"spec": {"hard": hard, "scopes": scopes}}))
                .into_iter()
                .map(|c| c.message)
                .collect::<Vec<_>>()
        };
        assert!(bad(json!(["BestEffort"]), json!({"pods": "2"})).is_empty());
        assert_eq!(
            bad(json!(["BestEffort"]), json!({"cpu": "2"})),
            ["Invalid value: [\"BestEffort\"]: unsupported scope applied to resource"]
        );
        assert_eq!(
            bad(json!(["Terminating", "NotTerminating"]), json!({})),
            ["Invalid value: [\"Terminating\",\"NotTerminating\"]: conflicting scopes"]
        );
        assert_eq!(
            bad(json!(["Sometimes"]), json!({})),
            ["Invalid value: [\"Sometimes\"]: unsupported scope"]
        );
    }

    #[test]
    fn the_table_splits_requests_from_limits() {
        let q = json!({"status": {
            "hard": {"pods": "2", "requests.cpu": "1", "limits.memory": "1Gi", "cpu": "2"},
            "used": {"pods": "1", "requests.cpu": "500m", "limits.memory": "512Mi"}}});
        let cells = ResourceQuotaStrategy.table_cells(&q);
        assert_eq!(cells[1], "cpu: 0/2, pods: 1/2, requests.cpu: 500m/1");
        assert_eq!(cells[2], "limits.memory: 512Mi/1Gi");
    }

    #[test]
    fn status_is_the_servers() {
        let mut q = json!({"spec": {"hard": {"pods": "1"}}, "status": {"used": {"pods": "9"}}});
        ResourceQuotaStrategy.prepare_for_create(&mut q);
        assert!(q.get("status").is_none());
        let old = json!({"status": {"hard": {"pods": "1"}}});
        let mut new = json!({"spec": {"hard": {"pods": "3"}}, "status": {"hard": {"pods": "3"}}});
        ResourceQuotaStrategy.prepare_for_update(&mut new, &old);
        assert_eq!(new["status"], old["status"]);
    }
}
