//! Discovery of the custom resources: the apiextensions-apiserver's `DiscoveryController`,
//! which keeps `/apis/<group>` and `/apis/<group>/<version>` of every CRD group, and feeds the
//! aggregated document. Here the documents are made from the stored CRDs when asked for.

use std::sync::Arc;

use serde_json::Value;

use super::customresource::resource_defs;
use crate::apis::apiextensions::is_condition_true;
use crate::endpoints::discovery::{api_group, api_resource_list, kube_aware_version_order};
use crate::http::Response;
use crate::registry::store::Store;
use crate::scheme::parameter_codec::ListOptions;
use crate::scheme::ResourceDef;

/// One CRD group: its versions, preferred first, each with the resources CRDs serve in it.
pub struct ServedGroup {
    pub group: String,
    pub versions: Vec<(String, Vec<Arc<ResourceDef>>)>,
}

// ANCHOR: served_groups
/// Every group/version that established CRDs serve, groups by name, resources by plural.
pub fn served_groups(crds: &Store) -> Vec<ServedGroup> {
    let Ok(list) = crds.list("", &ListOptions::default()) else {
        return Vec::new();
    };
    let mut groups: Vec<ServedGroup> = Vec::new();
    for crd in list["items"].as_array().into_iter().flatten() {
        if !is_condition_true(crd, "Established") {
            continue;
        }
        for def in resource_defs(crd) {
            let at = match groups.iter().position(|g| g.group == def.group) {
                Some(i) => i,
                None => {
                    groups.push(ServedGroup {
                        group: def.group.to_string(),
                        versions: Vec::new(),
                    });
                    groups.len() - 1
                }
            };
            let versions = &mut groups[at].versions;
            match versions.iter_mut().find(|(v, _)| *v == def.version) {
                Some((_, defs)) => defs.push(def),
                None => versions.push((def.version.to_string(), vec![def])),
            }
        }
    }
    for g in &mut groups {
        g.versions
            .sort_by(|(a, _), (b, _)| kube_aware_version_order(a, b));
        for (_, defs) in &mut g.versions {
            defs.sort_by(|a, b| a.resource.cmp(&b.resource));
        }
    }
    groups.sort_by(|a, b| a.group.cmp(&b.group));
    groups
}
// ANCHOR_END: served_groups

/// `/apis/<group>/<version>`: the `APIResourceList`, if CRDs serve that group/version.
pub fn version_document(crds: &Store, group: &str, version: &str) -> Option<Response> {
    let groups = served_groups(crds);
    let (_, defs) = groups
        .iter()
        .find(|g| g.group == group)?
        .versions
        .iter()
        .find(|(v, _)| v == version)?;
    Some(Response::json(
        200,
        &api_resource_list(group, version, defs),
    ))
}

/// `/apis/<group>`: the `APIGroup`, its preferred version first.
pub fn group_document(crds: &Store, group: &str) -> Option<Response> {
    let groups = served_groups(crds);
    let served = groups.iter().find(|g| g.group == group)?;
    let versions: Vec<&str> = served.versions.iter().map(|(v, _)| v.as_str()).collect();
    let mut doc: Value = api_group(group, &versions);
    doc["kind"] = "APIGroup".into();
    doc["apiVersion"] = "v1".into();
    Some(Response::json(200, &doc))
}
