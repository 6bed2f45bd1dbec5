//! `/openapi/v3` and `/openapi/v2`: the OpenAPI documents PrepareRun installs
//! (`routes.OpenAPI{...}.InstallV3` and `InstallV2`).
//!
//! kubectl reads them before `apply`, `create -f` and `explain`. What it needs from them, per the
//! wire reference: for each kind, a path whose operations carry `x-kubernetes-group-version-kind`
//! and whose PATCH lists the `fieldValidation` parameter, which tells kubectl to leave field
//! validation to the server (and send `fieldValidation=Strict`). So each document lists every
//! path and operation of its group/version, and the definitions of its kinds and of every struct
//! they use, made from the kinds' [`Struct`]s, so `kubectl explain deployment.spec.template`
//! walks them to any depth. `/openapi/v2` is the same content as one Swagger 2.0 document for
//! every group, for clients older than v3 discovery.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::http::{Handler, Request, Response};
use crate::scheme::schema::{ListType, Struct, Type};
use crate::scheme::{ResourceDef, Scheme};
use crate::util::hash::fnv1a_hex;

/// The path of a group/version's document below `/openapi/v3/`: `api/v1`, `apis/apps/v1`.
fn doc_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn query_param(name: &str, type_: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": type_, "uniqueItems": true}})
}

// ANCHOR: openapi_schema
/// The OpenAPI schema of a field's type. Structs are `$ref`s to their own definitions (named as
/// kube-apiserver names them, so `kubectl explain` prints `<[]Container>`); every struct met is
/// added to `defs`.
fn type_schema(type_: &Type, defs: &mut Map<String, Value>) -> Value {
    match type_ {
        Type::String => json!({"type": "string"}),
        Type::Integer => json!({"type": "integer", "format": "int32"}),
        Type::Boolean => json!({"type": "boolean"}),
        Type::Time => json!({"type": "string", "format": "date-time"}),
        Type::Bytes => json!({"type": "string", "format": "byte"}),
        Type::IntOrString | Type::Quantity => {
            json!({"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]})
        }
        Type::Pointer(inner) => type_schema(inner, defs),
        Type::Struct(s) => {
            add_definition(s, defs);
            json!({"allOf": [{"$ref": format!("#/components/schemas/{}", s.name)}], "default": {}})
        }
        Type::Map(inner) => {
            json!({"type": "object", "additionalProperties": type_schema(inner, defs)})
        }
        Type::List(inner, list_type) => {
            let mut list = json!({"type": "array", "items": type_schema(inner, defs)});
            match list_type {
                ListType::Atomic => {}
                ListType::Set => {
                    list["x-kubernetes-list-type"] = json!("set");
                    list["x-kubernetes-patch-strategy"] = json!("merge");
                }
                ListType::Map(keys) => {
                    list["x-kubernetes-list-type"] = json!("map");
                    list["x-kubernetes-list-map-keys"] = json!(keys);
                    list["x-kubernetes-patch-merge-key"] = json!(keys[0]);
                    list["x-kubernetes-patch-strategy"] = json!("merge");
                }
            }
            list
        }
        Type::Any => json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
    }
}

/// Adds the definition of `s` (and of the structs it uses) under its name.
fn add_definition(s: &Struct, defs: &mut Map<String, Value>) {
    if defs.contains_key(s.name) {
        return;
    }
    // A placeholder first: a struct may reach itself.
    defs.insert(s.name.into(), Value::Null);
    let mut properties = Map::new();
    for f in s.fields {
        let mut schema = type_schema(&f.type_, defs);
        if !f.description.is_empty() {
            schema["description"] = json!(f.description);
        }
        properties.insert(f.name.into(), schema);
    }
    let mut definition =
        json!({"description": s.description, "type": "object", "properties": properties});
    if s.is_atomic() {
        definition["x-kubernetes-map-type"] = json!("atomic");
    }
    defs.insert(s.name.into(), definition);
}
// ANCHOR_END: openapi_schema

// ANCHOR: openapi_document
/// The OpenAPI v3 document of one group/version.
pub fn document(group: &str, version: &str, resources: &[Arc<ResourceDef>]) -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for def in resources {
        let gvk = json!({"group": def.group, "version": def.version, "kind": def.kind});
        let root = if def.group.is_empty() {
            format!("/api/{version}")
        } else {
            format!("/apis/{group}/{version}")
        };
        let collection = if def.namespaced {
            format!("{root}/namespaces/{{namespace}}/{}", def.resource)
        } else {
            format!("{root}/{}", def.resource)
        };
        let op = |verb: &str, action: &str, params: Vec<Value>| {
            json!({
                "operationId": format!("{verb}{}", def.kind),
                "description": format!("{action} {}", def.kind),
                "parameters": params,
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk,
                "responses": {"200": {"description": "OK"}},
            })
        };
        let write_params = || {
            vec![
                query_param("dryRun", "string"),
                query_param("fieldManager", "string"),
                query_param("fieldValidation", "string"),
            ]
        };
        let mut patch_params = write_params();
        patch_params.push(query_param("force", "boolean"));
        let mut patch = op("patch", "patch", patch_params);
        patch["requestBody"] = json!({"content": {
            "application/json-patch+json": {}, "application/merge-patch+json": {},
            "application/strategic-merge-patch+json": {}, "application/apply-patch+yaml": {},
        }});
        paths.insert(collection.clone(), json!({
            "get": op("list", "list", vec![query_param("labelSelector", "string"), query_param("fieldSelector", "string"), query_param("watch", "boolean")]),
            "post": op("create", "post", write_params()),
            "delete": op("deletecollection", "deletecollection", vec![]),
        }));
        paths.insert(
            format!("{collection}/{{name}}"),
            json!({
                "get": op("read", "get", vec![]),
                "put": op("replace", "put", write_params()),
                "patch": patch,
                "delete": op("delete", "delete", vec![query_param("dryRun", "string")]),
            }),
        );
        add_definition(def.schema, &mut schemas);
        let kind = &mut schemas[def.schema.name];
        kind["properties"]["apiVersion"] = json!({"type": "string", "description": "The versioned schema of this object: group/version."});
        kind["properties"]["kind"] =
            json!({"type": "string", "description": "The kind of this object, in CamelCase."});
        kind["x-kubernetes-group-version-kind"] = json!([gvk]);
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": format!("{}.{}", super::version::KUBERNETES_MAJOR, super::version::KUBERNETES_MINOR)},
        "paths": paths,
        "components": {"schemas": schemas},
    })
}
// ANCHOR_END: openapi_document

/// Serves `/openapi/v3` and the per-group/version documents, all built once at PrepareRun.
pub struct OpenAPIV3 {
    index: Vec<u8>,
    documents: Vec<(String, Vec<u8>, String)>,
}

impl OpenAPIV3 {
    pub fn new(scheme: &Scheme) -> OpenAPIV3 {
        let mut index = Map::new();
        let mut documents = Vec::new();
        for (group, version) in scheme.group_versions() {
            let path = doc_path(group, version);
            let body = serde_json::to_vec(&document(
                group,
                version,
                &scheme.resources_of(group, version),
            ))
            .expect("documents serialize");
            let hash = fnv1a_hex(&body);
            index.insert(
                path.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={hash}")}),
            );
            documents.push((path, body, hash));
        }
        let index = serde_json::to_vec(&json!({"paths": index})).expect("the index serializes");
        OpenAPIV3 { index, documents }
    }
}

impl Handler for OpenAPIV3 {
    fn serve(&self, req: &mut Request) -> Response {
        let rest = req.path.trim_start_matches("/openapi/v3").trim_matches('/');
        if rest.is_empty() {
            // kube-apiserver labels the index text/plain; kubectl reads it as JSON either way.
            return Response::bytes(200, "text/plain; charset=utf-8", self.index.clone());
        }
        match self.documents.iter().find(|(p, _, _)| p == rest) {
            Some((_, body, hash)) => Response::bytes(200, "application/json", body.clone())
                .with_header("Etag", format!("\"{hash}\""))
                .with_header(
                    "Cache-Control",
                    if req.query_param("hash").is_some() {
                        "public, immutable"
                    } else {
                        "no-cache, private"
                    },
                )
                .with_header("Vary", "Accept"),
            None => crate::server::generic::NotFound::response(),
        }
    }
}

// ANCHOR: openapi_v2
/// The Swagger 2.0 form of the v3 documents, all in one: definitions under `definitions`
/// (and `$ref`s pointing there), query parameters with their type inline, a request body's
/// media types as `consumes`.
fn swagger(documents: &[Value]) -> Value {
    let mut paths = Map::new();
    let mut definitions = Map::new();
    for doc in documents {
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            let mut item = item.clone();
            for op in item
                .as_object_mut()
                .into_iter()
                .flat_map(|m| m.values_mut())
            {
                for param in op["parameters"].as_array_mut().into_iter().flatten() {
                    let type_ = param["schema"]["type"].clone();
                    param["type"] = type_;
                    param["uniqueItems"] = json!(true);
                    if let Some(p) = param.as_object_mut() {
                        p.remove("schema");
                    }
                }
                if let Some(op) = op.as_object_mut() {
                    if let Some(body) = op.remove("requestBody") {
                        let types: Vec<&String> = body["content"]
                            .as_object()
                            .map(|c| c.keys().collect())
                            .unwrap_or_default();
                        op.insert("consumes".into(), json!(types));
                    }
                    // The media types the handlers write, as kube lists them (less protobuf).
                    op.insert(
                        "produces".into(),
                        json!(["application/json", "application/yaml"]),
                    );
                    op.insert("schemes".into(), json!(["https"]));
                }
            }
            paths.insert(path.clone(), item);
        }
        for (name, schema) in doc["components"]["schemas"]
            .as_object()
            .into_iter()
            .flatten()
        {
            definitions.insert(name.clone(), schema.clone());
        }
    }
    let mut out = json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": format!("v{}.{}.0", super::version::KUBERNETES_MAJOR, super::version::KUBERNETES_MINOR)},
        "paths": paths,
        "definitions": definitions,
    });
    rewrite_refs(&mut out);
    out
}
// ANCHOR_END: openapi_v2

/// Turns v3-only schema forms into v2's: `allOf: [{$ref}]` (v3's way to give a reference a
/// description) into a plain `$ref`, and int-or-string into `format: int-or-string`.
fn rewrite_refs(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(all)) = m.get("allOf") {
                if let [one] = all.as_slice() {
                    let one = one.clone();
                    m.remove("allOf");
                    m.remove("default");
                    m.extend(one.as_object().cloned().unwrap_or_default());
                }
            }
            if m.remove("x-kubernetes-int-or-string").is_some() {
                m.remove("anyOf");
                m.insert("type".into(), json!("string"));
                m.insert("format".into(), json!("int-or-string"));
            }
            for (k, child) in m.iter_mut() {
                match (k.as_str(), &*child) {
                    ("$ref", Value::String(r)) => {
                        *child = json!(r.replace("#/components/schemas/", "#/definitions/"));
                    }
                    _ => rewrite_refs(child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

/// Serves `/openapi/v2`, built once at PrepareRun. Only the JSON form: kube-apiserver also
/// speaks protobuf here (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`), which
/// clients from before v3 asked for first, falling back to JSON.
pub struct OpenAPIV2 {
    body: Vec<u8>,
    hash: String,
}

impl OpenAPIV2 {
    pub fn new(scheme: &Scheme) -> OpenAPIV2 {
        let documents: Vec<Value> = scheme
            .group_versions()
            .into_iter()
            .map(|(g, v)| document(g, v, &scheme.resources_of(g, v)))
            .collect();
        let body = serde_json::to_vec(&swagger(&documents)).expect("documents serialize");
        let hash = fnv1a_hex(&body);
        OpenAPIV2 { body, hash }
    }
}

impl Handler for OpenAPIV2 {
    fn serve(&self, req: &mut Request) -> Response {
        let accept = req.header("accept").unwrap_or("");
        let json_ok = accept.is_empty()
            || accept.split(',').any(|a| {
                let media = a.split(';').next().unwrap_or("").trim();
                matches!(media, "application/json" | "*/*" | "application/*")
            });
        if !json_ok {
            return crate::scheme::meta::StatusError::new(
                406,
                "only application/json is served at /openapi/v2",
            )
            .to_response();
        }
        Response::bytes(200, "application/json", self.body.clone())
            .with_header("Etag", format!("\"{}\"", self.hash))
            .with_header("Vary", "Accept")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swagger_points_every_ref_at_definitions() {
        let scheme = crate::apis::new_scheme();
        let v2: Value = serde_json::from_slice(&OpenAPIV2::new(&scheme).body).unwrap();
        assert_eq!(v2["swagger"], "2.0");
        let text = v2.to_string();
        assert!(!text.contains("#/components/schemas/"));
        let deployment = &v2["definitions"]["io.k8s.api.apps.v1.Deployment"];
        assert_eq!(
            deployment["x-kubernetes-group-version-kind"][0]["kind"],
            "Deployment"
        );
        assert!(deployment["properties"]["spec"]["$ref"]
            .as_str()
            .unwrap()
            .starts_with("#/definitions/"));
        let patch = &v2["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"];
        assert!(patch["consumes"]
            .as_array()
            .unwrap()
            .contains(&json!("application/apply-patch+yaml")));
        let field_validation = patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "fieldValidation")
            .unwrap();
        assert_eq!(field_validation["type"], "string");
        assert!(field_validation.get("schema").is_none());
    }
}
