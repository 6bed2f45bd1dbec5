//! Discovery documents: how kubectl learns which resources exist. Mirrors
//! `k8s.io/apiserver/pkg/endpoints/discovery` (`APIVersions`, `APIGroupList`, `APIGroup`,
//! `APIResourceList`) and its `aggregated` package (`APIGroupDiscoveryList`, apidiscovery v2).
//! kubectl reads them to map `cm` to `configmaps` in `/api/v1`.
//!
//! kubectl asks `/api` and `/apis` for the aggregated document first: one answer with every
//! resource of every group, instead of one request per group/version. A server that ignores
//! the media type gets those requests instead; both work, the aggregated one is faster.

use serde_json::{json, Value};

use crate::http::Response;
use crate::util::hash::fnv1a_hex;

use crate::scheme::{group_version, ResourceDef};

/// `/api`: the legacy group's versions and where to reach the server.
pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

/// One entry of `/apis` or the body of `/apis/<group>`.
pub fn api_group(group: &str, versions: &[&str]) -> Value {
    let gvs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": group_version(group, v), "version": v}))
        .collect();
    json!({"name": group, "versions": gvs, "preferredVersion": gvs.first().cloned().unwrap_or(Value::Null)})
}

/// `/apis`.
pub fn api_group_list(groups: Vec<Value>) -> Value {
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

// ANCHOR: api_resource_list
/// `/api/v1` or `/apis/<group>/<version>`: every resource with its scope, verbs and short names.
pub fn api_resource_list(
    group: &str,
    version: &str,
    resources: &[std::sync::Arc<ResourceDef>],
) -> Value {
    let mut list: Vec<Value> = Vec::new();
    for r in resources {
        let mut entry = json!({
            "name": r.resource,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": r.verbs,
        });
        if !r.short_names.is_empty() {
            entry["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            entry["categories"] = json!(r.categories);
        }
        list.push(entry);
        // Each subresource is an entry of its own, `deployments/scale`, which names its group
        // and version only when they are not the parent's.
        for sub in r.subresources {
            let (group, version, kind) = sub.response_kind(r);
            let mut entry = json!({
                "name": format!("{}/{}", r.resource, sub.name()),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": kind,
                "verbs": crate::scheme::Subresource::VERBS,
            });
            if !version.is_empty() {
                entry["group"] = json!(group);
                entry["version"] = json!(version);
            }
            list.push(entry);
        }
    }
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version(group, version), "resources": list})
}
// ANCHOR_END: api_resource_list

/// The media type of the aggregated document, as kubectl asks for it and as the answer says.
pub const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether the first media type of `Accept` that we serve is the aggregated document.
pub fn wants_aggregated(accept: Option<&str>) -> bool {
    for candidate in accept.unwrap_or("").split(',') {
        let mut parts = candidate.split(';').map(str::trim);
        let media = parts.next().unwrap_or("");
        if !matches!(media, "application/json" | "application/*" | "*/*") {
            continue;
        }
        let params: Vec<&str> = parts.collect();
        if params.is_empty() {
            return false;
        }
        let has = |p: &str| params.contains(&p);
        if has("g=apidiscovery.k8s.io") && has("v=v2") && has("as=APIGroupDiscoveryList") {
            return true;
        }
    }
    false
}

// ANCHOR: aggregated_discovery
/// One group of the aggregated document: its versions, each with every resource.
/// `responseKind` leaves group and version empty, meaning "this group/version", as kube does.
pub fn api_group_discovery(
    group: &str,
    versions: &[(&str, Vec<std::sync::Arc<ResourceDef>>)],
) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|(version, resources)| {
            let resources: Vec<Value> = resources
                .iter()
                .map(|r| {
                    let mut entry = json!({
                        "resource": r.resource,
                        "responseKind": {"group": "", "version": "", "kind": r.kind},
                        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
                        "singularResource": r.singular,
                        "verbs": r.verbs,
                    });
                    if !r.short_names.is_empty() {
                        entry["shortNames"] = json!(r.short_names);
                    }
                    if !r.categories.is_empty() {
                        entry["categories"] = json!(r.categories);
                    }
                    if !r.subresources.is_empty() {
                        let subs: Vec<Value> = r.subresources.iter().map(|sub| {
                            let (group, version, kind) = sub.response_kind(r);
                            json!({"subresource": sub.name(),
                                   "responseKind": {"group": group, "version": version, "kind": kind},
                                   "verbs": crate::scheme::Subresource::VERBS})
                        }).collect();
                        entry["subresources"] = json!(subs);
                    }
                    entry
                })
                .collect();
            json!({"version": version, "resources": resources, "freshness": "Current"})
        })
        .collect();
    let metadata = if group.is_empty() {
        json!({})
    } else {
        json!({"name": group})
    };
    json!({"metadata": metadata, "versions": versions})
}

/// The `APIGroupDiscoveryList` response, with the `ETag` and `Vary` kube-apiserver sends.
pub fn aggregated_response(items: Vec<Value>) -> Response {
    let body = json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items});
    let bytes = serde_json::to_vec(&body).expect("discovery serializes");
    let etag = format!("\"{}\"", fnv1a_hex(&bytes));
    Response::bytes(200, AGGREGATED, bytes)
        .with_header("Cache-Control", "public")
        .with_header("Etag", etag)
        .with_header("Vary", "Accept")
}
// ANCHOR_END: aggregated_discovery

// ANCHOR: kube_aware_versions
/// `version.CompareKubeAwareVersionStrings` as a sort order: GA before beta before alpha, a
/// higher major first, then a higher minor (`v2`, `v1`, `v1beta2`, `v1beta1`, `v1alpha1`), and
/// versions of other shapes last, alphabetically. Discovery's preferred version is the first.
pub fn kube_aware_version_order(a: &str, b: &str) -> std::cmp::Ordering {
    /// `(stability, major, minor)`; higher sorts first.
    fn parse(v: &str) -> Option<(u8, u64, u64)> {
        let rest = v.strip_prefix('v')?;
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let major: u64 = rest[..digits].parse().ok()?;
        if major == 0 {
            return None;
        }
        let tail = &rest[digits..];
        if tail.is_empty() {
            return Some((2, major, 0));
        }
        let (stability, minor) = if let Some(m) = tail.strip_prefix("beta") {
            (1, m)
        } else {
            (0, tail.strip_prefix("alpha")?)
        };
        let minor = minor.parse().ok().filter(|_| !minor.starts_with('0'))?;
        Some((stability, major, minor))
    }
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => y.cmp(&x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}
// ANCHOR_END: kube_aware_versions

#[cfg(test)]
mod tests {
    use super::{kube_aware_version_order, wants_aggregated};

    #[test]
    fn versions_sort_as_kube_compares_them() {
        let mut versions = vec![
            "foo", "v1alpha1", "v1", "v2beta1", "v1beta2", "v1beta1", "v2", "bar",
        ];
        versions.sort_by(|a, b| kube_aware_version_order(a, b));
        assert_eq!(
            versions,
            ["v2", "v1", "v2beta1", "v1beta2", "v1beta1", "v1alpha1", "bar", "foo"]
        );
    }

    #[test]
    fn kubectl_asks_for_the_aggregated_document_first() {
        let kubectl =
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
        assert!(wants_aggregated(Some(kubectl)));
        assert!(!wants_aggregated(Some("application/json, */*")));
        assert!(!wants_aggregated(None));
        assert!(!wants_aggregated(Some("application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")));
    }
}
