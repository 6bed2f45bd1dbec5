//! What an object charges against a quota: Go's quota evaluators (`pkg/quota/v1/evaluator/core`
//! for pods and services, the generic object-count evaluator for everything else). The
//! admission plugin charges a new object's usage; the quota controller sums the usage of what
//! is stored.

use serde_json::Value;

use crate::scheme::ResourceDef;
use crate::util::resource::{resource_list, Quantity, ResourceList};

/// The core resources a quota counts by their bare name (`pods`), beside `count/pods`.
const LEGACY_COUNTED: &[&str] = &[
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
];

/// Resources no quota counts (Go's default `ignoredResources`): events are written by the
/// system about everything, and refusing one helps nobody.
fn ignored(def: &ResourceDef) -> bool {
    def.resource == "events"
}

/// `count/pods`, `count/deployments.apps`: the object-count name of any resource.
pub fn object_count_name(def: &ResourceDef) -> String {
    if def.group.is_empty() {
        format!("count/{}", def.resource)
    } else {
        format!("count/{}.{}", def.resource, def.group)
    }
}

/// The compute resources of a pod, by the names a quota may use for them.
const POD_COMPUTE: &[&str] = &[
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
];

/// The requests and limits every container must name when a quota limits them
/// (`validationSet`: quotas on cpu and memory once coupled counting with validation, and kube
/// keeps that for compatibility).
const MUST_SPECIFY: &[&str] = &[
    "cpu",
    "memory",
    "requests.cpu",
    "requests.memory",
    "limits.cpu",
    "limits.memory",
];

/// `MatchingResources`: which of a quota's resources this kind is charged for.
pub fn matching_resources<'a>(def: &ResourceDef, hard: &'a ResourceList) -> Vec<&'a str> {
    if ignored(def) {
        return Vec::new();
    }
    let count = object_count_name(def);
    hard.keys()
        .map(String::as_str)
        .filter(|name| {
            *name == count
                || (def.group.is_empty()
                    && (LEGACY_COUNTED.contains(&def.resource.as_ref()) && *name == def.resource
                        || def.resource == "pods" && POD_COMPUTE.contains(name)
                        || def.resource == "services"
                            && matches!(*name, "services.nodeports" | "services.loadbalancers")))
        })
        .collect()
}

fn add(list: &mut ResourceList, name: &str, q: Quantity) {
    let sum = list.get(name).copied().unwrap_or(Quantity::ZERO) + q;
    list.insert(name.to_string(), sum);
}

/// `QuotaV1Pod`: a pod that has finished uses nothing any more (but still counts as an object).
fn pod_is_live(pod: &Value) -> bool {
    !matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    )
}

/// `podComputeUsageHelper`: one set of requests and limits as quota names.
fn compute_usage(requests: &ResourceList, limits: &ResourceList) -> ResourceList {
    let mut out = ResourceList::new();
    for r in ["cpu", "memory", "ephemeral-storage"] {
        if let Some(q) = requests.get(r) {
            out.insert(r.to_string(), *q);
            out.insert(format!("requests.{r}"), *q);
        }
        if let Some(q) = limits.get(r) {
            out.insert(format!("limits.{r}"), *q);
        }
    }
    out
}

/// A pod's requests or limits as one: its containers summed, or its largest init container if
/// that is more.
fn pod_resources(pod: &Value, kind: &str) -> ResourceList {
    let mut total = ResourceList::new();
    for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
        for (k, q) in resource_list(&c["resources"][kind]) {
            add(&mut total, &k, q);
        }
    }
    for c in pod["spec"]["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for (k, q) in resource_list(&c["resources"][kind]) {
            if total.get(&k).is_none_or(|t| q > *t) {
                total.insert(k, q);
            }
        }
    }
    total
}

// ANCHOR: quota_usage
/// `Usage`: what one object of this kind charges.
pub fn usage(def: &ResourceDef, obj: &Value) -> ResourceList {
    let mut out = ResourceList::new();
    if ignored(def) {
        return out;
    }
    let one = Quantity::from_units(1);
    out.insert(object_count_name(def), one);
    if !def.group.is_empty() {
        return out;
    }
    match def.resource.as_ref() {
        "pods" if pod_is_live(obj) => {
            out.insert("pods".into(), one);
            let requests = pod_resources(obj, "requests");
            let limits = pod_resources(obj, "limits");
            out.extend(compute_usage(&requests, &limits));
        }
        // A finished pod is only an object now: `count/pods`, not `pods`.
        "pods" => {}
        "services" => {
            out.insert("services".into(), one);
            let ports = obj["spec"]["ports"].as_array().map_or(0, Vec::len) as i64;
            match obj["spec"]["type"].as_str() {
                Some("LoadBalancer") => {
                    out.insert("services.loadbalancers".into(), one);
                    out.insert("services.nodeports".into(), Quantity::from_units(ports));
                }
                Some("NodePort") => {
                    out.insert("services.nodeports".into(), Quantity::from_units(ports));
                }
                _ => {}
            }
        }
        r if LEGACY_COUNTED.contains(&r) => {
            out.insert(r.to_string(), one);
        }
        _ => {}
    }
    out
}
// ANCHOR_END: quota_usage

/// The pod evaluator's `Constraints`: when a quota limits cpu or memory, every container must
/// say how much it requests (or may use) of it, or the quota could not be charged.
pub fn constraints(def: &ResourceDef, required: &[&str], pod: &Value) -> Result<(), String> {
    if !def.group.is_empty() || def.resource != "pods" {
        return Ok(());
    }
    let required: Vec<&str> = required
        .iter()
        .copied()
        .filter(|r| MUST_SPECIFY.contains(r))
        .collect();
    let mut missing: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for list in ["containers", "initContainers"] {
        for c in pod["spec"][list].as_array().into_iter().flatten() {
            let has = compute_usage(
                &resource_list(&c["resources"]["requests"]),
                &resource_list(&c["resources"]["limits"]),
            );
            let name = c["name"].as_str().unwrap_or_default();
            for r in &required {
                if !has.contains_key(*r) {
                    missing.entry(r).or_default().push(name);
                }
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let parts: Vec<String> = missing
        .iter()
        .map(|(r, containers)| format!("{r} for: {}", containers.join(",")))
        .collect();
    Err(format!("must specify {}", parts.join("; ")))
}

/// Whether a quota's scopes take in this object: an unscoped quota counts everything; the pod
/// scopes sort pods by deadline and QoS; other kinds fall in no scope.
pub fn matches_scopes(def: &ResourceDef, quota: &Value, obj: &Value) -> bool {
    let scopes: Vec<&str> = quota["spec"]["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if scopes.is_empty() {
        return true;
    }
    if !def.group.is_empty() || def.resource != "pods" {
        return false;
    }
    let terminating = obj["spec"]["activeDeadlineSeconds"]
        .as_i64()
        .is_some_and(|s| s >= 0);
    let best_effort = crate::config::admission::containers(obj).all(|(_, c)| {
        resource_list(&c["resources"]["requests"]).is_empty()
            && resource_list(&c["resources"]["limits"]).is_empty()
    });
    scopes.iter().all(|s| match *s {
        "Terminating" => terminating,
        "NotTerminating" => !terminating,
        "BestEffort" => best_effort,
        "NotBestEffort" => !best_effort,
        // PriorityClass, CrossNamespacePodAffinity and VolumeAttributesClass need fields or
        // kinds this server does not interpret: nothing falls in them.
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn def(group: &str, resource: &str) -> std::sync::Arc<ResourceDef> {
        crate::apis::new_scheme()
            .lookup(group, "v1", resource)
            .unwrap()
    }

    #[test]
    fn a_pod_charges_its_count_and_its_summed_resources() {
        let pod = json!({"spec": {
            "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "2"}}}],
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"},
                                            "limits": {"memory": "2Gi"}}},
                {"name": "b", "resources": {"requests": {"cpu": "250m"}}}]}});
        let u = usage(&def("", "pods"), &pod);
        let shown: Vec<String> = u.iter().map(|(k, q)| format!("{k}={q}")).collect();
        assert_eq!(
            shown,
            [
                "count/pods=1",
                "cpu=2",
                "limits.memory=2Gi",
                "memory=1Gi",
                "pods=1",
                "requests.cpu=2",
                "requests.memory=1Gi",
            ]
        );
        let done = json!({"status": {"phase": "Succeeded"}});
        assert_eq!(usage(&def("", "pods"), &done).len(), 1);
    }

    #[test]
    fn other_kinds_charge_their_counts() {
        let u = usage(&def("apps", "deployments"), &json!({}));
        assert_eq!(u.keys().collect::<Vec<_>>(), ["count/deployments.apps"]);
        let svc = json!({"spec": {"type": "NodePort", "ports": [{"port": 1}, {"port": 2}]}});
        let u = usage(&def("", "services"), &svc);
        assert_eq!(u["services.nodeports"], Quantity::from_units(2));
        assert!(usage(&def("", "events"), &json!({})).is_empty());
    }

    #[test]
    fn every_container_must_name_what_is_limited() {
        let pod = json!({"spec": {"containers": [
            {"name": "a", "resources": {"requests": {"cpu": "1"}}},
            {"name": "b", "resources": {}}]}});
        let err = constraints(
            &def("", "pods"),
            &["pods", "limits.cpu", "requests.cpu"],
            &pod,
        );
        assert_eq!(
            err.unwrap_err(),
            "must specify limits.cpu for: a,b; requests.cpu for: b"
        );
    }

    #[test]
    fn scopes_sort_pods() {
        let quota = json!({"spec": {"scopes": ["BestEffort"]}});
        let pods = def("", "pods");
        assert!(matches_scopes(
            &pods,
            &quota,
            &json!({"spec": {"containers": [{}]}})
        ));
        let burstable =
            json!({"spec": {"containers": [{"resources": {"requests": {"cpu": "1"}}}]}});
        assert!(!matches_scopes(&pods, &quota, &burstable));
        assert!(!matches_scopes(&def("", "configmaps"), &quota, &json!({})));
    }
}
