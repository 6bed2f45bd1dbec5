//! Discovery documents: how kubectl learns which resources exist. Mirrors
//! `k8s.io/apiserver/pkg/endpoints/discovery` (`APIVersions`, `APIGroupList`, `APIGroup`,
//! `APIResourceList`). kubectl reads them to map `cm` to `configmaps` in `/api/v1`.

use serde_json::{json, Value};

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
    let list: Vec<Value> = resources
        .iter()
        .map(|r| {
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
            entry
        })
        .collect();
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version(group, version), "resources": list})
}
// ANCHOR_END: api_resource_list
