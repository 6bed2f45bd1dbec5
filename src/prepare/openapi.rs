//! `/openapi/v3`: the OpenAPI documents PrepareRun installs (`routes.OpenAPI{...}.InstallV3`).
//!
//! kubectl reads them before `apply`, `create -f` and `explain`. What it needs from them, per the
//! wire reference: for each kind, a path whose operations carry `x-kubernetes-group-version-kind`
//! and whose PATCH lists the `fieldValidation` parameter, which tells kubectl to leave field
//! validation to the server (and send `fieldValidation=Strict`). So each document lists every
//! path and operation of its group/version, and a schema per kind with its top-level fields.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::http::{Handler, Request, Response};
use crate::scheme::{group_version, ResourceDef, Scheme};
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

fn schema_name(def: &ResourceDef) -> String {
    let group = if def.group.is_empty() {
        "core"
    } else {
        def.group
    };
    format!("mini.{group}.{}.{}", def.version, def.kind)
}

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

fn string_map() -> Value {
    json!({"type": "object", "additionalProperties": {"type": "string", "default": ""}})
}

/// `ObjectMeta`, in enough detail for kubectl to compute a client-side apply patch of labels and
/// annotations.
fn object_meta_schema() -> Value {
    json!({"type": "object", "properties": {
        "name": {"type": "string"}, "generateName": {"type": "string"}, "namespace": {"type": "string"},
        "uid": {"type": "string"}, "resourceVersion": {"type": "string"}, "generation": {"type": "integer"},
        "creationTimestamp": {"type": "string", "format": "date-time"},
        "deletionTimestamp": {"type": "string", "format": "date-time"},
        "labels": string_map(), "annotations": string_map(),
        "finalizers": {"type": "array", "items": {"type": "string"}},
    }})
}

/// The schema of a top-level field, from its name, with the description `kubectl explain`
/// prints. The names mean the same thing in every kind we serve, which is what lets one table
/// describe them all.
fn field_schema(field: &str) -> Value {
    let string = json!({"type": "string"});
    let time = json!({"type": "string", "format": "date-time"});
    let object = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
    let references = |merge: bool| {
        let mut list = json!({"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}});
        if merge {
            list["x-kubernetes-patch-merge-key"] = json!("name");
            list["x-kubernetes-patch-strategy"] = json!("merge");
        }
        list
    };
    let (mut schema, description) = match field {
        "metadata" => (
            json!({"allOf": [{"$ref": format!("#/components/schemas/{OBJECT_META}")}], "default": {}}),
            "Standard object's metadata: name, namespace, labels, annotations and what the server records.",
        ),
        "data" => (string_map(), "The data, as keys and values. In a Secret the values are base64."),
        "binaryData" => (string_map(), "Binary data, base64-encoded, under keys that must not appear in data."),
        "stringData" => (string_map(), "Plain-text values, folded into data on write and never stored."),
        "immutable" => (json!({"type": "boolean"}), "If true, data cannot be changed; only deletion is allowed."),
        "type" => (string, "The type: Opaque for a Secret by default; Normal or Warning for an Event."),
        "secrets" => (references(true), "Secrets that pods using this service account may use, merged by name."),
        "imagePullSecrets" => (references(false), "Secrets used to pull container images."),
        "automountServiceAccountToken" => (json!({"type": "boolean"}), "Whether pods get an API token mounted."),
        "involvedObject" => (object, "The object this event is about."),
        "reason" | "action" => (string, "A short, machine-readable word for what happened."),
        "message" => (string, "A human-readable description of what happened."),
        "source" => (object, "The component (and host) that reported the event."),
        "firstTimestamp" | "lastTimestamp" | "eventTime" => (time, "When the event was first or last seen."),
        "count" => (json!({"type": "integer", "format": "int32"}), "How many times the event has happened."),
        "reportingComponent" | "reportingInstance" => (string, "The controller that reported the event."),
        "spec" => (object, "The desired state of the object."),
        "status" => (object, "The observed state of the object, written by the system."),
        _ => (object, ""),
    };
    if !description.is_empty() {
        schema["description"] = json!(description);
    }
    schema
}

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
        let mut properties = Map::new();
        properties.insert("apiVersion".into(), json!({"type": "string"}));
        properties.insert("kind".into(), json!({"type": "string"}));
        for f in def.fields {
            properties.insert((*f).into(), field_schema(f));
        }
        schemas.insert(
            schema_name(def),
            json!({
                "description": format!("{} in {}", def.kind, group_version(def.group, def.version)),
                "type": "object",
                "properties": properties,
                "x-kubernetes-group-version-kind": [gvk],
            }),
        );
    }
    schemas.insert(OBJECT_META.into(), object_meta_schema());
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
