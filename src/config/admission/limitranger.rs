//! LimitRanger (`plugin/pkg/admission/limitranger`): the LimitRanges of a namespace applied to
//! each new pod. Mutating, it gives every container the `default` limits and `defaultRequest`
//! requests it lacks (and says so in the `kubernetes.io/limit-ranger` annotation); validating,
//! it refuses a pod whose containers (or whose sum, for a `Pod` item) fall outside `min`, `max`
//! or `maxLimitRequestRatio`, with kube-apiserver's messages.
//!
//! Pod updates are skipped, as in Go: a pod's containers and their resources cannot change, so
//! there is nothing new to default or judge. PersistentVolumeClaim items are accepted in a
//! LimitRange but have nothing to apply to here, as this server serves no claims.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{aggregate, containers_mut, AdmissionPlugin, Attributes, Clients, Operation};
use crate::apis::core::limitrange::{LIMIT_TYPE_CONTAINER, LIMIT_TYPE_POD};
use crate::scheme::meta::StatusError;
use crate::util::resource::{resource_list, Quantity, ResourceList};

const LIMIT_RANGER_ANNOTATION: &str = "kubernetes.io/limit-ranger";

pub struct LimitRanger {
    clients: Arc<Clients>,
}

impl LimitRanger {
    pub fn new(clients: &Arc<Clients>) -> LimitRanger {
        LimitRanger {
            clients: Arc::clone(clients),
        }
    }

    /// `GetLimitRanges`: the namespace's LimitRanges, or none for what the plugin skips.
    fn limit_ranges(&self, attrs: &Attributes) -> Result<Vec<Value>, StatusError> {
        if !attrs.is("", "pods") || attrs.operation != Operation::Create {
            return Ok(Vec::new());
        }
        let store = self.clients.limit_ranges()?;
        Clients::list_in(&store, attrs.namespace)
    }
}

/// The items of one LimitRange of one type.
fn items<'a>(limit_range: &'a Value, limit_type: &'a str) -> impl Iterator<Item = &'a Value> {
    limit_range["spec"]["limits"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |i| i["type"] == limit_type)
}

// ANCHOR: limitranger_defaults
/// `PodMutateLimitFunc`: the defaults of one LimitRange merged into each container that lacks
/// them, and the annotation that lists what was set.
fn mutate_pod(limit_range: &Value, pod: &mut Value) {
    let (mut limits, mut requests) = (serde_json::Map::new(), serde_json::Map::new());
    for item in items(limit_range, LIMIT_TYPE_CONTAINER) {
        for (from, to) in [("default", &mut limits), ("defaultRequest", &mut requests)] {
            for (k, v) in item[from].as_object().into_iter().flatten() {
                to.insert(k.clone(), v.clone());
            }
        }
    }
    let mut notes = Vec::new();
    for (list, what) in [
        ("containers", "container"),
        ("initContainers", "init container"),
    ] {
        for c in containers_mut(pod, list) {
            let name = c["name"].as_str().unwrap_or_default().to_string();
            // Go notes, per container, the requests it set before the limits.
            for (kind, defaults, label) in [
                ("requests", &requests, "request"),
                ("limits", &limits, "limit"),
            ] {
                if !c["resources"].is_object() {
                    c["resources"] = json!({});
                }
                if !c["resources"][kind].is_object() {
                    c["resources"][kind] = json!({});
                }
                let own = c["resources"][kind].as_object_mut().expect("an object");
                let mut set: Vec<&str> = Vec::new();
                for (k, v) in defaults {
                    if !own.contains_key(k) {
                        own.insert(k.clone(), v.clone());
                        set.push(k);
                    }
                }
                if own.is_empty() {
                    c["resources"]
                        .as_object_mut()
                        .expect("an object")
                        .remove(kind);
                }
                if !set.is_empty() {
                    set.sort_unstable();
                    notes.push(format!("{} {label} for {what} {name}", set.join(", ")));
                }
            }
        }
    }
    if !notes.is_empty() {
        if !pod["metadata"]["annotations"].is_object() {
            pod["metadata"]["annotations"] = json!({});
        }
        pod["metadata"]["annotations"][LIMIT_RANGER_ANNOTATION] =
            json!(format!("LimitRanger plugin set: {}", notes.join("; ")));
    }
}
// ANCHOR_END: limitranger_defaults

/// `requestLimitEnforcedValues` compares in milli-units when they fit; comparing whole
/// quantities is the same, so the constraints below compare `Quantity`s.
fn min_constraint(
    limit_type: &str,
    resource: &str,
    enforced: Quantity,
    requests: &ResourceList,
    limits: &ResourceList,
) -> Option<String> {
    let Some(req) = requests.get(resource) else {
        return Some(format!(
            "minimum {resource} usage per {limit_type} is {enforced}.  No request is specified"
        ));
    };
    if *req < enforced {
        return Some(format!(
            "minimum {resource} usage per {limit_type} is {enforced}, but request is {req}"
        ));
    }
    match limits.get(resource) {
        Some(lim) if *lim < enforced => Some(format!(
            "minimum {resource} usage per {limit_type} is {enforced}, but limit is {lim}"
        )),
        _ => None,
    }
}

fn max_constraint(
    limit_type: &str,
    resource: &str,
    enforced: Quantity,
    requests: &ResourceList,
    limits: &ResourceList,
) -> Option<String> {
    let Some(lim) = limits.get(resource) else {
        return Some(format!(
            "maximum {resource} usage per {limit_type} is {enforced}.  No limit is specified"
        ));
    };
    if *lim > enforced {
        return Some(format!(
            "maximum {resource} usage per {limit_type} is {enforced}, but limit is {lim}"
        ));
    }
    match requests.get(resource) {
        Some(req) if *req > enforced => Some(format!(
            "maximum {resource} usage per {limit_type} is {enforced}, but request is {req}"
        )),
        _ => None,
    }
}

fn ratio_constraint(
    limit_type: &str,
    resource: &str,
    enforced: Quantity,
    requests: &ResourceList,
    limits: &ResourceList,
) -> Option<String> {
    let req = requests.get(resource).filter(|q| !q.is_zero());
    let lim = limits.get(resource).filter(|q| !q.is_zero());
    let Some(req) = req else {
        return Some(format!("{resource} max limit to request ratio per {limit_type} is {enforced}, but no request is specified or request is 0"));
    };
    let Some(lim) = lim else {
        return Some(format!("{resource} max limit to request ratio per {limit_type} is {enforced}, but no limit is specified or limit is 0"));
    };
    let observed = lim.as_f64() / req.as_f64();
    (observed > enforced.as_f64()).then(|| {
        format!("{resource} max limit to request ratio per {limit_type} is {enforced}, but provided ratio is {observed:.6}")
    })
}

/// The three checks of one item against one set of requests and limits.
fn check_item(
    item: &Value,
    limit_type: &str,
    requests: &ResourceList,
    limits: &ResourceList,
    errors: &mut Vec<String>,
) {
    type Check = fn(&str, &str, Quantity, &ResourceList, &ResourceList) -> Option<String>;
    let checks: [(&str, Check); 3] = [
        ("min", min_constraint),
        ("max", max_constraint),
        ("maxLimitRequestRatio", ratio_constraint),
    ];
    for (map, check) in checks {
        for (resource, enforced) in resource_list(&item[map]) {
            errors.extend(check(limit_type, &resource, enforced, requests, limits));
        }
    }
}

fn container_resources(c: &Value, kind: &str) -> ResourceList {
    resource_list(&c["resources"][kind])
}

/// A pod's requests or limits as one: the sum of its containers, or the largest init
/// container if that is more (init containers run one at a time, before the others).
fn pod_total(pod: &Value, kind: &str) -> ResourceList {
    let mut total = ResourceList::new();
    for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
        for (k, q) in container_resources(c, kind) {
            let sum = total.get(&k).copied().unwrap_or(Quantity::ZERO) + q;
            total.insert(k, sum);
        }
    }
    for c in pod["spec"]["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for (k, q) in container_resources(c, kind) {
            if total.get(&k).is_none_or(|t| q > *t) {
                total.insert(k, q);
            }
        }
    }
    total
}

// ANCHOR: limitranger_validate
/// `PodValidateLimitFunc`: every container against each Container item, and the pod's totals
/// against each Pod item.
fn validate_pod(limit_range: &Value, pod: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    for item in items(limit_range, LIMIT_TYPE_CONTAINER) {
        for list in ["containers", "initContainers"] {
            for c in pod["spec"][list].as_array().into_iter().flatten() {
                let (requests, limits) = (
                    container_resources(c, "requests"),
                    container_resources(c, "limits"),
                );
                check_item(item, LIMIT_TYPE_CONTAINER, &requests, &limits, &mut errors);
            }
        }
    }
    for item in items(limit_range, LIMIT_TYPE_POD) {
        let (requests, limits) = (pod_total(pod, "requests"), pod_total(pod, "limits"));
        check_item(item, LIMIT_TYPE_POD, &requests, &limits, &mut errors);
    }
    errors
}
// ANCHOR_END: limitranger_validate

impl AdmissionPlugin for LimitRanger {
    fn admit(&self, attrs: &Attributes, pod: &mut Value) -> Result<(), StatusError> {
        for limit_range in self.limit_ranges(attrs)? {
            mutate_pod(&limit_range, pod);
        }
        Ok(())
    }

    fn validate(&self, attrs: &Attributes, pod: &Value) -> Result<(), StatusError> {
        for limit_range in self.limit_ranges(attrs)? {
            let errors = validate_pod(&limit_range, pod);
            if !errors.is_empty() {
                return Err(attrs.forbidden(pod, &aggregate(&errors)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(item: Value) -> Value {
        let mut lr = json!({"spec": {"limits": [item]}});
        use crate::scheme::Strategy;
        crate::apis::core::limitrange::LimitRangeStrategy.set_defaults(&mut lr);
        lr
    }

    fn pod(resources: Value) -> Value {
        json!({"metadata": {"name": "x"}, "spec": {"containers": [
            {"name": "app", "image": "nginx", "resources": resources}]}})
    }

    #[test]
    fn defaults_fill_only_what_a_container_lacks() {
        let lr = range(
            json!({"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"},
                              "defaultRequest": {"cpu": "100m"}}),
        );
        let mut p = pod(json!({"limits": {"memory": "1Gi"}, "requests": {"memory": "1Gi"}}));
        mutate_pod(&lr, &mut p);
        let r = &p["spec"]["containers"][0]["resources"];
        assert_eq!(r["limits"], json!({"cpu": "500m", "memory": "1Gi"}));
        assert_eq!(r["requests"], json!({"cpu": "100m", "memory": "1Gi"}));
        assert_eq!(
            p["metadata"]["annotations"][LIMIT_RANGER_ANNOTATION],
            "LimitRanger plugin set: cpu request for container app; cpu limit for container app"
        );
        assert!(p["spec"].get("initContainers").is_none());
    }

    #[test]
    fn min_max_and_ratio_in_kubes_words() {
        let lr = range(
            json!({"type": "Container", "min": {"cpu": "100m"}, "max": {"memory": "1Gi"},
                              "maxLimitRequestRatio": {"cpu": "2"}}),
        );
        let p = pod(json!({"requests": {"cpu": "50m", "memory": "2Gi"},
                           "limits": {"cpu": "400m", "memory": "2Gi"}}));
        assert_eq!(
            validate_pod(&lr, &p),
            [
                "minimum cpu usage per Container is 100m, but request is 50m",
                "maximum memory usage per Container is 1Gi, but limit is 2Gi",
                "cpu max limit to request ratio per Container is 2, but provided ratio is 8.000000",
            ]
        );
        let p = pod(json!({}));
        assert_eq!(
            validate_pod(
                &range(json!({"type": "Container", "min": {"cpu": "100m"}})),
                &p
            ),
            ["minimum cpu usage per Container is 100m.  No request is specified"]
        );
        let fits =
            pod(json!({"requests": {"cpu": "200m"}, "limits": {"cpu": "300m", "memory": "1Gi"}}));
        assert!(validate_pod(&lr, &fits).is_empty());
    }

    #[test]
    fn a_pod_item_judges_the_sum() {
        let lr = range(json!({"type": "Pod", "max": {"cpu": "1"}}));
        let p = json!({"metadata": {"name": "x"}, "spec": {
            "initContainers": [{"name": "i", "resources": {"limits": {"cpu": "700m"}}}],
            "containers": [
                {"name": "a", "resources": {"limits": {"cpu": "600m"}}},
                {"name": "b", "resources": {"limits": {"cpu": "600m"}}}]}});
        assert_eq!(
            validate_pod(&lr, &p),
            ["maximum cpu usage per Pod is 1, but limit is 1200m"]
        );
    }
}
