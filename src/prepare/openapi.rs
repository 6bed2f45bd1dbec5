//! `/openapi/v3`: the OpenAPI documents PrepareRun installs (`routes.OpenAPI{...}.InstallV3`).
//!
//! kubectl reads them before `apply`, `create -f` and `explain`. What it needs from them, per the
//! wire reference: for each kind, a path whose operations carry `x-kubernetes-group-version-kind`
//! and whose PATCH lists the `fieldValidation` parameter, which tells kubectl to leave field
//! validation to the server (and send `fieldValidation=Strict`). So each document lists every
//! path and operation of its group/version, and the definitions of its kinds and of every struct
//! they use, made from the kinds' [`Struct`]s, so `kubectl explain deployment.spec.template`
//! walks them to any depth.

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
    defs.insert(
        s.name.into(),
        json!({"description": s.description, "type": "object", "properties": properties}),
    );
}
// ANCHOR_END: openapi_schema

// ANCHOR: openapi_document
/// The OpenAPI v3 document of one group/version.
fn document(group: &str, version: &str, resources: &[Arc<ResourceDef>]) -> Value {
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
