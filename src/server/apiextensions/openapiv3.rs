//! `/openapi/v3` of the custom resources: one document per group/version that established CRDs
//! serve, so `kubectl explain <kind>.spec` works.
//!
//! Mirrors the apiextensions-apiserver's `openapiv3.Controller`, which builds a document for
//! each CRD version (`builder.BuildOpenAPIV3`) and publishes it under
//! `/openapi/v3/apis/<group>/<version>`, merged per group/version. Here the documents are made
//! from the stored CRDs when asked for; the aggregator lists them next to the built-in ones.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Value};

use super::customresource::resource_defs;
use super::schema::Structural;
use crate::apis::apiextensions::is_condition_true;
use crate::http::{Handler, Request, Response};
use crate::prepare::openapi::document;
use crate::registry::store::Store;
use crate::scheme::parameter_codec::ListOptions;
use crate::scheme::ResourceDef;
use crate::server::generic::NotFound;
use crate::util::hash::fnv1a_hex;

/// `util.ToRESTFriendlyName("stable.example.com/v1.CronTab")`: the definition name
/// `com.example.stable.v1.CronTab`, the group's domain reversed.
pub fn definition_name(group: &str, version: &str, kind: &str) -> String {
    let mut parts: Vec<&str> = group.split('.').collect();
    parts.reverse();
    format!("{}.{version}.{kind}", parts.join("."))
}

/// One served version of a CRD: its definition and its kind's schema.
type Served = (Arc<ResourceDef>, Value);

// ANCHOR: crd_openapi_document
/// The document of one group/version: the paths of its kinds, as for built-in kinds, and
/// each kind's schema from its structural schema, with the list kind beside it.
fn crd_document(group: &str, version: &str, served: &[Served]) -> Value {
    let defs: Vec<Arc<ResourceDef>> = served.iter().map(|(d, _)| Arc::clone(d)).collect();
    let mut doc = document(group, version, &defs);
    doc["info"] = json!({"title": "Kubernetes CRD Swagger", "version": "v0.1.0"});
    let schemas = &mut doc["components"]["schemas"];
    if let Some(map) = schemas.as_object_mut() {
        // The stand-in definition decoding uses says nothing of a custom kind.
        map.remove(super::customresource::CUSTOM_RESOURCE.name);
    }
    for (def, kind_schema) in served {
        let gvk = |kind: &str| json!([{"group": group, "version": version, "kind": kind}]);
        let name = definition_name(group, version, &def.kind);
        let mut schema = kind_schema.clone();
        schema["x-kubernetes-group-version-kind"] = gvk(&def.kind);
        schemas[&name] = schema;
        let list_kind = def.list_kind();
        schemas[definition_name(group, version, &list_kind)] = json!({
            "description": format!("{list_kind} is a list of {}", def.kind),
            "type": "object",
            "required": ["items"],
            "properties": {
                "apiVersion": {"type": "string", "description": "The versioned schema of this object: group/version."},
                "kind": {"type": "string", "description": "The kind of this object, in CamelCase."},
                "metadata": {"type": "object", "description": "Standard list metadata."},
                "items": {"type": "array", "description": format!("List of {}.", def.resource),
                          "items": {"$ref": format!("#/components/schemas/{name}")}},
            },
            "x-kubernetes-group-version-kind": gvk(&list_kind),
        });
    }
    doc
}
// ANCHOR_END: crd_openapi_document

/// Every group/version established CRDs serve, with its versions' definitions and schemas.
fn served(crds: &Store) -> BTreeMap<(String, String), Vec<Served>> {
    let mut out: BTreeMap<(String, String), Vec<Served>> = BTreeMap::new();
    let Ok(list) = crds.list("", &ListOptions::default()) else {
        return out;
    };
    for crd in list["items"].as_array().into_iter().flatten() {
        if !is_condition_true(crd, "Established") {
            continue;
        }
        let versions = crd["spec"]["versions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let schemas = versions.iter().filter(|v| v["served"] == true);
        for (def, v) in resource_defs(crd).into_iter().zip(schemas) {
            let Ok(structural) = Structural::new(&v["schema"]["openAPIV3Schema"], "") else {
                continue;
            };
            let key = (def.group.to_string(), def.version.to_string());
            out.entry(key)
                .or_default()
                .push((def, structural.openapi_v3()));
        }
    }
    out
}

/// Serves the index of the CRD documents and the documents, for the aggregator to merge.
pub struct CrdOpenAPIV3 {
    pub crds: Arc<Store>,
}

impl Handler for CrdOpenAPIV3 {
    fn serve(&self, req: &mut Request) -> Response {
        let rest = req.path.trim_start_matches("/openapi/v3").trim_matches('/');
        let mut paths = serde_json::Map::new();
        for ((group, version), served) in served(&self.crds) {
            let path = format!("apis/{group}/{version}");
            let body = serde_json::to_vec(&crd_document(&group, &version, &served))
                .expect("documents serialize");
            let hash = fnv1a_hex(&body);
            if rest == path {
                return Response::bytes(200, "application/json", body)
                    .with_header("Etag", format!("\"{hash}\""))
                    .with_header(
                        "Cache-Control",
                        if req.query_param("hash").is_some() {
                            "public, immutable"
                        } else {
                            "no-cache, private"
                        },
                    )
                    .with_header("Vary", "Accept");
            }
            paths.insert(
                path.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={hash}")}),
            );
        }
        if rest.is_empty() {
            let body =
                serde_json::to_vec(&json!({ "paths": paths })).expect("the index serializes");
            return Response::bytes(200, "application/json", body);
        }
        NotFound::response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_are_named_as_kube_names_them() {
        assert_eq!(
            definition_name("stable.example.com", "v1", "CronTab"),
            "com.example.stable.v1.CronTab"
        );
    }

    #[test]
    fn a_document_holds_the_kind_its_list_and_object_meta() {
        let crd = json!({"metadata": {"name": "crontabs.stable.example.com"},
            "spec": {"group": "stable.example.com", "scope": "Namespaced",
                     "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab"},
                     "versions": [{"name": "v1", "served": true, "storage": true,
                        "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {
                            "type": "object", "description": "The desired state.",
                            "properties": {"cronSpec": {"type": "string"}}}}}}}]},
            "status": {"acceptedNames": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab"}}});
        let def = resource_defs(&crd).remove(0);
        let schema = Structural::new(&crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"], "")
            .unwrap()
            .openapi_v3();
        let doc = crd_document("stable.example.com", "v1", &[(def, schema)]);
        let schemas = &doc["components"]["schemas"];
        let kind = &schemas["com.example.stable.v1.CronTab"];
        assert_eq!(
            kind["properties"]["spec"]["description"],
            "The desired state."
        );
        assert_eq!(
            kind["x-kubernetes-group-version-kind"],
            json!([{"group": "stable.example.com", "version": "v1", "kind": "CronTab"}])
        );
        assert!(schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"].is_object());
        assert!(schemas["com.example.stable.v1.CronTabList"].is_object());
        assert_eq!(doc["info"]["title"], "Kubernetes CRD Swagger");
        assert!(schemas
            .get(super::super::customresource::CUSTOM_RESOURCE.name)
            .is_none());
        assert!(
            doc["paths"]["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}"]
                ["patch"]
                .is_object()
        );
    }
}
