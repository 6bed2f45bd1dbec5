//! `apps/v1`: Deployment. Mirrors `pkg/apis/apps/v1` defaulting, `pkg/apis/apps/validation`
//! and the `deployment` registry strategy, and `autoscaling/v1` Scale, the view its `/scale`
//! subresource reads and writes.
//!
//! No deployment controller runs here (it lives in kube-controller-manager), so a Deployment is
//! stored, validated and scaled, but makes no ReplicaSets: its `status` stays as a controller
//! would find it, and `kubectl get deployments` shows `0/3` ready.

use std::sync::Arc;

use serde_json::{json, Value};

use super::core::pod::{default_pod_spec, validate_pod_spec, POD_SPEC};
use super::{age_cell, AGE_COLUMN};
use crate::scheme::meta::StatusCause;
use crate::scheme::schema::{
    field, ListType, Struct, Type, LABEL_SELECTOR, METADATA_DOC, OBJECT_META,
};
use crate::scheme::{
    forbidden, invalid, not_supported, required, set_meta, ResourceDef, Scheme, Strategy,
    Subresource, TableColumn, ALL_VERBS,
};

pub const GROUP: &str = "apps";

pub fn add_to_scheme(scheme: &mut Scheme) {
    scheme.add_known_type(ResourceDef {
        group: GROUP.into(),
        version: "v1".into(),
        kind: "Deployment".into(),
        resource: "deployments".into(),
        singular: "deployment".into(),
        namespaced: true,
        short_names: crate::scheme::names(&["deploy"]),
        categories: crate::scheme::names(&["all"]),
        verbs: ALL_VERBS,
        schema: &DEPLOYMENT,
        selectable_fields: &[],
        subresources: &[Subresource::Scale, Subresource::Status],
        strategy: Arc::new(DeploymentStrategy),
    });
}

// ANCHOR: deployment_schema
/// `apps/v1.Deployment`.
pub static DEPLOYMENT: Struct = Struct {
    name: "io.k8s.api.apps.v1.Deployment",
    description: "Declarative updates for pods, through ReplicaSets.",
    fields: &[
        field(1, "metadata", Type::Struct(&OBJECT_META), METADATA_DOC),
        field(
            2,
            "spec",
            Type::Struct(&DEPLOYMENT_SPEC),
            "The desired behaviour of the deployment.",
        ),
        field(
            3,
            "status",
            Type::Struct(&DEPLOYMENT_STATUS),
            "The most recently observed status of the deployment.",
        ),
    ],
};

static DEPLOYMENT_SPEC: Struct = Struct {
    name: "io.k8s.api.apps.v1.DeploymentSpec",
    description: "The desired state of a deployment.",
    fields: &[
        field(1, "replicas", Type::Pointer(&Type::Integer), "How many pods are wanted; 1 by default."),
        field(2, "selector", Type::Struct(&LABEL_SELECTOR), "The label query over the pods this deployment manages; it must match the template's labels and cannot change."),
        field(3, "template", Type::Struct(&POD_TEMPLATE_SPEC), "The pods to create."),
        field(4, "strategy", Type::Struct(&DEPLOYMENT_STRATEGY), "How old pods are replaced by new ones."),
        field(5, "minReadySeconds", Type::Integer, "Seconds a new pod must be ready before it counts as available."),
        field(6, "revisionHistoryLimit", Type::Pointer(&Type::Integer), "How many old ReplicaSets to keep; 10 by default."),
        field(7, "paused", Type::Boolean, "Whether rollouts are paused."),
        field(9, "progressDeadlineSeconds", Type::Pointer(&Type::Integer), "Seconds for a rollout to progress before it is reported failed; 600 by default."),
    ],
};

/// `v1.PodTemplateSpec`.
pub static POD_TEMPLATE_SPEC: Struct = Struct {
    name: "io.k8s.api.core.v1.PodTemplateSpec",
    description: "The pods a controller creates.",
    fields: &[
        field(1, "metadata", Type::Struct(&OBJECT_META), METADATA_DOC),
        field(
            2,
            "spec",
            Type::Struct(&POD_SPEC),
            "The pods' desired behaviour.",
        ),
    ],
};

static DEPLOYMENT_STRATEGY: Struct = Struct {
    name: "io.k8s.api.apps.v1.DeploymentStrategy",
    description: "How a deployment replaces its pods.",
    fields: &[
        field(
            1,
            "type",
            Type::String,
            "RollingUpdate (the default) or Recreate.",
        ),
        field(
            2,
            "rollingUpdate",
            Type::Pointer(&Type::Struct(&ROLLING_UPDATE)),
            "Parameters of a rolling update.",
        ),
    ],
};

static ROLLING_UPDATE: Struct = Struct {
    name: "io.k8s.api.apps.v1.RollingUpdateDeployment",
    description: "How fast a rolling update goes.",
    fields: &[
        field(
            1,
            "maxUnavailable",
            Type::IntOrString,
            "Pods that may be unavailable during the update; 25% by default.",
        ),
        field(
            2,
            "maxSurge",
            Type::IntOrString,
            "Pods that may be created above the desired number; 25% by default.",
        ),
    ],
};

static DEPLOYMENT_STATUS: Struct = Struct {
    name: "io.k8s.api.apps.v1.DeploymentStatus",
    description: "What the deployment controller last observed.",
    fields: &[
        field(
            1,
            "observedGeneration",
            Type::Integer,
            "The generation the controller last acted on.",
        ),
        field(
            2,
            "replicas",
            Type::Integer,
            "Pods targeted by this deployment.",
        ),
        field(
            3,
            "updatedReplicas",
            Type::Integer,
            "Pods with the desired template.",
        ),
        field(7, "readyReplicas", Type::Integer, "Pods that are ready."),
        field(
            4,
            "availableReplicas",
            Type::Integer,
            "Pods ready for at least minReadySeconds.",
        ),
        field(
            5,
            "unavailableReplicas",
            Type::Integer,
            "Pods still needed for 100% availability.",
        ),
        field(
            9,
            "terminatingReplicas",
            Type::Pointer(&Type::Integer),
            "Pods being terminated.",
        ),
        field(
            6,
            "conditions",
            Type::List(&Type::Any, ListType::Map(&["type"])),
            "The latest observations of the deployment's state.",
        ),
        field(
            8,
            "collisionCount",
            Type::Pointer(&Type::Integer),
            "Hash collisions met when naming ReplicaSets.",
        ),
    ],
};
// ANCHOR_END: deployment_schema

/// `autoscaling/v1.Scale`: what `/scale` reads and writes.
pub static SCALE: Struct = Struct {
    name: "io.k8s.api.autoscaling.v1.Scale",
    description: "A scaling request for a resource.",
    fields: &[
        field(1, "metadata", Type::Struct(&OBJECT_META), METADATA_DOC),
        field(
            2,
            "spec",
            Type::Struct(&SCALE_SPEC),
            "The desired number of replicas.",
        ),
        field(
            3,
            "status",
            Type::Any,
            "The current number of replicas and the label selector of the pods.",
        ),
    ],
};

static SCALE_SPEC: Struct = Struct {
    name: "io.k8s.api.autoscaling.v1.ScaleSpec",
    description: "The desired scale.",
    fields: &[field(
        1,
        "replicas",
        Type::Integer,
        "The desired number of replicas.",
    )],
};

/// A `LabelSelector` in the text form selectors take in URLs: `app=web,tier in (a,b)`.
pub fn selector_string(selector: &Value) -> String {
    let mut parts: Vec<String> = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    for e in selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let key = e["key"].as_str().unwrap_or_default();
        let values: Vec<&str> = e["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        parts.push(match e["operator"].as_str().unwrap_or_default() {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            _ => format!("!{key}"),
        });
    }
    parts.join(",")
}

/// Whether `labels` satisfy a `LabelSelector` object.
fn selector_matches(selector: &Value, labels: &Value) -> bool {
    let label = |k: &str| labels[k].as_str();
    let by_labels = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| label(k) == v.as_str());
    let by_expressions = selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|e| {
            let key = e["key"].as_str().unwrap_or_default();
            let values: Vec<&str> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            match e["operator"].as_str().unwrap_or_default() {
                "In" => label(key).is_some_and(|v| values.contains(&v)),
                "NotIn" => label(key).is_none_or(|v| !values.contains(&v)),
                "Exists" => label(key).is_some(),
                _ => label(key).is_none(),
            }
        });
    by_labels && by_expressions
}

// ANCHOR: deployment_defaults
/// `SetDefaults_Deployment`, and the pod defaults inside its template.
fn default_deployment(obj: &mut Value) {
    let spec = &mut obj["spec"];
    if !spec.is_object() {
        return;
    }
    if spec["replicas"].is_null() {
        spec["replicas"] = json!(1);
    }
    // As in Go, an empty type is no type.
    if spec["strategy"]["type"].is_null() || spec["strategy"]["type"] == "" {
        spec["strategy"]["type"] = json!("RollingUpdate");
    }
    if spec["strategy"]["type"] == "RollingUpdate" {
        let rolling = &mut spec["strategy"]["rollingUpdate"];
        for name in ["maxUnavailable", "maxSurge"] {
            if rolling[name].is_null() {
                rolling[name] = json!("25%");
            }
        }
    }
    for (name, value) in [
        ("revisionHistoryLimit", 10),
        ("progressDeadlineSeconds", 600),
    ] {
        if spec[name].is_null() {
            spec[name] = json!(value);
        }
    }
    default_pod_spec(&mut spec["template"]["spec"]);
}
// ANCHOR_END: deployment_defaults

/// A `maxUnavailable` or `maxSurge`: a count, or a percentage of the desired replicas.
/// Returns the number it names (a percentage's number), and its errors
/// (`ValidatePositiveIntOrPercent`).
fn int_or_percent(v: &Value, path: &str, causes: &mut Vec<StatusCause>) -> i64 {
    match v {
        Value::String(s) => match s.strip_suffix('%').map(str::parse::<i64>) {
            Some(Ok(n)) if !s.starts_with(['+', '-']) => n,
            _ => {
                causes.push(invalid(path, v, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"));
                0
            }
        },
        _ => {
            let n = v.as_i64().unwrap_or(0);
            if n < 0 {
                causes.push(invalid(path, v, "must be greater than or equal to 0"));
            }
            n
        }
    }
}

/// `ValidateDeploymentStrategy`: a known type, rolling-update parameters only for a rolling
/// update, and a rolling update that can make progress.
fn validate_strategy(strategy: &Value) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    let rolling = &strategy["rollingUpdate"];
    match strategy["type"].as_str() {
        Some("Recreate") if !rolling.is_null() => causes.push(forbidden(
            "spec.strategy.rollingUpdate",
            "may not be specified when strategy `type` is 'Recreate'",
        )),
        Some("RollingUpdate") => {
            let path = "spec.strategy.rollingUpdate";
            let unavailable = &rolling["maxUnavailable"];
            let max_unavailable =
                int_or_percent(unavailable, &format!("{path}.maxUnavailable"), &mut causes);
            let max_surge = int_or_percent(
                &rolling["maxSurge"],
                &format!("{path}.maxSurge"),
                &mut causes,
            );
            if max_unavailable == 0 && max_surge == 0 {
                causes.push(invalid(
                    &format!("{path}.maxUnavailable"),
                    unavailable,
                    "may not be 0 when `maxSurge` is 0",
                ));
            }
            if unavailable.is_string() && max_unavailable > 100 {
                causes.push(invalid(
                    &format!("{path}.maxUnavailable"),
                    unavailable,
                    "must not be greater than 100%",
                ));
            }
        }
        Some("Recreate") | None => {}
        Some(t) => causes.push(not_supported(
            "spec.strategy.type",
            t,
            &["Recreate", "RollingUpdate"],
        )),
    }
    causes
}

pub struct DeploymentStrategy;

impl Strategy for DeploymentStrategy {
    fn set_defaults(&self, obj: &mut Value) {
        default_deployment(obj);
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        set_meta(obj, "generation", json!(1));
        obj["status"] = json!({});
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        new["status"] = old["status"].clone();
        let generation = old["metadata"]["generation"].as_i64().unwrap_or(1);
        // Annotations count too: the controller copies them to the ReplicaSets it makes.
        let bumped = if new["spec"] != old["spec"]
            || new["metadata"]["annotations"] != old["metadata"]["annotations"]
        {
            generation + 1
        } else {
            generation
        };
        set_meta(new, "generation", json!(bumped));
    }

    // ANCHOR: validate_deployment
    fn validate(&self, obj: &Value) -> Vec<StatusCause> {
        let mut causes = Vec::new();
        let spec = &obj["spec"];
        if spec["replicas"].as_i64().is_some_and(|r| r < 0) {
            causes.push(invalid(
                "spec.replicas",
                &spec["replicas"],
                "must be greater than or equal to 0",
            ));
        }
        let selector = &spec["selector"];
        if selector.is_null() {
            causes.push(required("spec.selector", ""));
        } else if selector_string(selector).is_empty() {
            causes.push(invalid(
                "spec.selector",
                selector,
                "empty selector is invalid for deployment",
            ));
        } else {
            let labels = &spec["template"]["metadata"]["labels"];
            if !selector_matches(selector, labels) {
                causes.push(invalid(
                    "spec.template.metadata.labels",
                    labels,
                    "`selector` does not match template `labels`",
                ));
            }
        }
        causes.extend(validate_strategy(&spec["strategy"]));
        let template = &spec["template"]["spec"];
        causes.extend(validate_pod_spec(template, "spec.template.spec"));
        if let Some(policy) = template["restartPolicy"]
            .as_str()
            .filter(|p| *p != "Always")
        {
            causes.push(not_supported(
                "spec.template.spec.restartPolicy",
                policy,
                &["Always"],
            ));
        }
        causes
    }
    // ANCHOR_END: validate_deployment

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<StatusCause> {
        let mut causes = self.validate(new);
        if new["spec"]["selector"] != old["spec"]["selector"] {
            causes.push(invalid(
                "spec.selector",
                &new["spec"]["selector"],
                "field is immutable",
            ));
        }
        causes
    }

    fn table_columns(&self) -> Vec<TableColumn> {
        let count = |name, description| TableColumn {
            type_: "integer".into(),
            ..TableColumn::text(name, description, 0)
        };
        vec![
            TableColumn::text(
                "Ready",
                "The number of ready pods, out of the desired number.",
                0,
            ),
            count("Up-to-date", "Pods updated to the desired template."),
            count("Available", "Pods available to users."),
            AGE_COLUMN,
            TableColumn::text("Containers", "The names of the template's containers.", 1),
            TableColumn::text("Images", "The images of the template's containers.", 1),
            TableColumn::text(
                "Selector",
                "The label selector of the deployment's pods.",
                1,
            ),
        ]
    }

    fn table_cells(&self, obj: &Value) -> Vec<Value> {
        let status = &obj["status"];
        let count = |v: &Value| v.as_i64().unwrap_or(0);
        let containers: Vec<&Value> = obj["spec"]["template"]["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .collect();
        let joined = |field: &str| {
            containers
                .iter()
                .map(|c| c[field].as_str().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(",")
        };
        vec![
            json!(format!(
                "{}/{}",
                count(&status["readyReplicas"]),
                count(&obj["spec"]["replicas"])
            )),
            json!(count(&status["updatedReplicas"])),
            json!(count(&status["availableReplicas"])),
            age_cell(obj),
            json!(joined("name")),
            json!(joined("image")),
            json!(selector_string(&obj["spec"]["selector"])),
        ]
    }
}

// ANCHOR: to_scale
/// The `Scale` a deployment's `/scale` shows: its desired replicas, and what the controller
/// last saw (`replicas`, `selector`).
pub fn to_scale(deployment: &Value) -> Value {
    let meta = &deployment["metadata"];
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": deployment["spec"]["replicas"]},
        "status": {
            "replicas": deployment["status"]["replicas"].as_i64().unwrap_or(0),
            "selector": selector_string(&deployment["spec"]["selector"]),
        },
    })
}
// ANCHOR_END: to_scale

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(selector: Value, labels: Value) -> Value {
        json!({"metadata": {"name": "web"}, "spec": {"selector": selector,
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    }

    #[test]
    fn defaults_and_the_selector_rule() {
        let mut d = deployment(
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "web"}),
        );
        DeploymentStrategy.set_defaults(&mut d);
        DeploymentStrategy.prepare_for_create(&mut d);
        assert_eq!(d["spec"]["replicas"], 1);
        assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
        assert_eq!(d["metadata"]["generation"], 1);
        assert!(DeploymentStrategy.validate(&d).is_empty());

        let wrong = deployment(json!({"matchLabels": {"app": "web"}}), json!({"app": "db"}));
        let causes = DeploymentStrategy.validate(&wrong);
        assert_eq!(causes[0].field, "spec.template.metadata.labels");
    }

    #[test]
    fn a_spec_change_bumps_the_generation_and_the_selector_is_fixed() {
        let mut old = deployment(
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "web"}),
        );
        DeploymentStrategy.set_defaults(&mut old);
        DeploymentStrategy.prepare_for_create(&mut old);
        let mut new = old.clone();
        new["spec"]["replicas"] = json!(3);
        DeploymentStrategy.prepare_for_update(&mut new, &old);
        assert_eq!(new["metadata"]["generation"], 2);
        new["spec"]["selector"] = json!({"matchLabels": {"app": "web", "x": "y"}});
        let fields: Vec<String> = DeploymentStrategy
            .validate_update(&new, &old)
            .into_iter()
            .map(|c| c.field)
            .collect();
        assert!(fields.contains(&"spec.selector".to_string()));
    }

    #[test]
    fn annotations_bump_the_generation_labels_do_not() {
        let mut old = deployment(
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "web"}),
        );
        DeploymentStrategy.set_defaults(&mut old);
        DeploymentStrategy.prepare_for_create(&mut old);
        let mut labelled = old.clone();
        labelled["metadata"]["labels"] = json!({"tier": "web"});
        DeploymentStrategy.prepare_for_update(&mut labelled, &old);
        assert_eq!(labelled["metadata"]["generation"], 1);
        let mut annotated = old.clone();
        annotated["metadata"]["annotations"] = json!({"note": "x"});
        DeploymentStrategy.prepare_for_update(&mut annotated, &old);
        assert_eq!(annotated["metadata"]["generation"], 2);
    }

    #[test]
    fn strategies_are_validated() {
        let causes = |strategy: Value| -> Vec<(String, String)> {
            validate_strategy(&strategy)
                .into_iter()
                .map(|c| (c.field, c.message))
                .collect()
        };
        let one = |field: &str, message: &str| vec![(field.to_string(), message.to_string())];
        assert_eq!(
            causes(json!({"type": "Recreate", "rollingUpdate": {"maxSurge": 1}})),
            one(
                "spec.strategy.rollingUpdate",
                "Forbidden: may not be specified when strategy `type` is 'Recreate'"
            )
        );
        assert!(causes(json!({"type": "Recreate"})).is_empty());
        assert_eq!(
            causes(
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "0%", "maxSurge": 0}})
            ),
            one(
                "spec.strategy.rollingUpdate.maxUnavailable",
                "Invalid value: \"0%\": may not be 0 when `maxSurge` is 0"
            )
        );
        assert_eq!(
            causes(
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "150%", "maxSurge": -1}})
            ),
            vec![
                (
                    "spec.strategy.rollingUpdate.maxSurge".to_string(),
                    "Invalid value: -1: must be greater than or equal to 0".to_string()
                ),
                (
                    "spec.strategy.rollingUpdate.maxUnavailable".to_string(),
                    "Invalid value: \"150%\": must not be greater than 100%".to_string()
                )
            ]
        );
        assert_eq!(
            causes(json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "x%", "maxSurge": 1}}))[0].0,
            "spec.strategy.rollingUpdate.maxUnavailable"
        );
        assert_eq!(causes(json!({"type": "Blue"}))[0].0, "spec.strategy.type");
    }

    #[test]
    fn scale_shows_the_selector_as_text() {
        let d = deployment(
            json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}),
            json!({"app": "web", "tier": "a"}),
        );
        assert_eq!(to_scale(&d)["status"]["selector"], "app=web,tier in (a,b)");
        assert!(selector_matches(
            &d["spec"]["selector"],
            &d["spec"]["template"]["metadata"]["labels"]
        ));
    }
}
