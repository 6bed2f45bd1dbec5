//! The OpenAPI v3 schema of a custom kind, as the apiextensions-apiserver publishes it.
//!
//! Mirrors `Structural.ToKubeOpenAPI` and `buildKubeNative` in
//! `pkg/controller/openapi/builder`: the structural schema as OpenAPI, with `metadata` a
//! reference to `ObjectMeta` and `apiVersion` and `kind` added, at the root and in every
//! embedded resource. `kubectl explain` walks it.

use serde_json::{json, Map, Value};

use super::{AdditionalProperties, Structural};

pub const OBJECT_META_REF: &str =
    "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

// ANCHOR: to_kube_openapi
/// `ToKubeOpenAPI`: every keyword the structural schema kept, in OpenAPI's spelling.
pub fn to_kube_openapi(s: &Structural) -> Value {
    let mut out = Map::new();
    let mut put = |k: &str, v: Value| {
        out.insert(k.to_string(), v);
    };
    if !s.description.is_empty() {
        put("description", json!(s.description));
    }
    if !s.type_.is_empty() {
        put("type", json!(s.type_));
    }
    if !s.title.is_empty() {
        put("title", json!(s.title));
    }
    if let Some(d) = &s.default {
        put("default", d.clone());
    }
    if s.nullable {
        put("nullable", json!(true));
    }
    if let Some(items) = &s.items {
        put("items", to_kube_openapi(items));
    }
    if !s.properties.is_empty() {
        let props: Map<String, Value> = (s.properties.iter())
            .map(|(k, p)| (k.clone(), to_kube_openapi(p)))
            .collect();
        put("properties", Value::Object(props));
    }
    match &s.additional_properties {
        Some(AdditionalProperties::Bool(b)) => put("additionalProperties", json!(b)),
        Some(AdditionalProperties::Schema(a)) => put("additionalProperties", to_kube_openapi(a)),
        None => {}
    }
    let v = &s.value_validation;
    if !v.format.is_empty() {
        put("format", json!(v.format));
    }
    for (k, n) in [
        ("maximum", v.maximum),
        ("minimum", v.minimum),
        ("multipleOf", v.multiple_of),
    ] {
        if let Some(n) = n {
            put(k, json!(n));
        }
    }
    if v.exclusive_maximum {
        put("exclusiveMaximum", json!(true));
    }
    if v.exclusive_minimum {
        put("exclusiveMinimum", json!(true));
    }
    for (k, n) in [
        ("maxLength", v.max_length),
        ("minLength", v.min_length),
        ("maxItems", v.max_items),
        ("minItems", v.min_items),
        ("maxProperties", v.max_properties),
        ("minProperties", v.min_properties),
    ] {
        if let Some(n) = n {
            put(k, json!(n));
        }
    }
    if let Some(p) = &v.pattern {
        put("pattern", json!(p.as_str()));
    }
    if let Some(e) = &v.enum_ {
        put("enum", json!(e));
    }
    if !v.required.is_empty() {
        put("required", json!(v.required));
    }
    if s.x_preserve_unknown_fields {
        put("x-kubernetes-preserve-unknown-fields", json!(true));
    }
    if s.x_embedded_resource {
        put("x-kubernetes-embedded-resource", json!(true));
    }
    if s.x_int_or_string {
        put("x-kubernetes-int-or-string", json!(true));
    }
    if !s.x_list_map_keys.is_empty() {
        put("x-kubernetes-list-map-keys", json!(s.x_list_map_keys));
    }
    if let Some(t) = &s.x_list_type {
        put("x-kubernetes-list-type", json!(t));
    }
    if let Some(t) = &s.x_map_type {
        put("x-kubernetes-map-type", json!(t));
    }
    Value::Object(out)
}
// ANCHOR_END: to_kube_openapi

fn add_type_meta(schema: &mut Value) {
    schema["properties"]["apiVersion"] = json!({"type": "string", "description": "The versioned schema of this object: group/version."});
    schema["properties"]["kind"] =
        json!({"type": "string", "description": "The kind of this object, in CamelCase."});
    schema["properties"]["metadata"] = json!({
        "description": "Standard object's metadata.",
        "allOf": [{"$ref": OBJECT_META_REF}],
    });
}

/// `addEmbeddedProperties`: embedded resources are objects with type and object meta too.
fn add_embedded_properties(schema: &mut Value) {
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        for p in props.values_mut() {
            add_embedded_properties(p);
        }
    }
    for k in ["items", "additionalProperties"] {
        if let Some(inner) = schema.get_mut(k).filter(|v| v.is_object()) {
            add_embedded_properties(inner);
        }
    }
    if schema["x-kubernetes-embedded-resource"] == true {
        add_type_meta(schema);
        let mut required: Vec<Value> = schema["required"].as_array().cloned().unwrap_or_default();
        for k in ["kind", "apiVersion"] {
            if !required.contains(&json!(k)) {
                required.push(json!(k));
            }
        }
        schema["required"] = json!(required);
    }
}

/// `buildKubeNative` for OpenAPI v3.
pub fn kind_schema(s: &Structural) -> Value {
    let mut schema = to_kube_openapi(s);
    if !schema["properties"].is_object() {
        schema["properties"] = json!({});
    }
    add_type_meta(&mut schema);
    add_embedded_properties(&mut schema);
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_schema_has_type_meta_and_object_meta() {
        let s = Structural::new(
            &json!({"type": "object", "description": "A cron job.", "properties": {"spec": {
            "type": "object", "required": ["cronSpec"], "properties": {
                "cronSpec": {"type": "string", "description": "When to run.", "pattern": "^a"},
                "replicas": {"type": "integer", "minimum": 1, "default": 1},
                "mode": {"type": "string", "enum": ["Fast", "Slow"]},
                "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                             "x-kubernetes-preserve-unknown-fields": true},
            }}}}),
            "s",
        )
        .unwrap();
        let got = s.openapi_v3();
        assert_eq!(got["description"], "A cron job.");
        assert_eq!(
            got["properties"]["metadata"]["allOf"][0]["$ref"],
            OBJECT_META_REF
        );
        assert_eq!(got["properties"]["apiVersion"]["type"], "string");
        let spec = &got["properties"]["spec"];
        assert_eq!(spec["required"], json!(["cronSpec"]));
        assert_eq!(
            spec["properties"]["cronSpec"]["description"],
            "When to run."
        );
        assert_eq!(spec["properties"]["cronSpec"]["pattern"], "^a");
        assert_eq!(
            spec["properties"]["replicas"],
            json!({"type": "integer", "minimum": 1.0, "default": 1})
        );
        assert_eq!(spec["properties"]["mode"]["enum"], json!(["Fast", "Slow"]));
        let template = &spec["properties"]["template"];
        assert_eq!(template["required"], json!(["kind", "apiVersion"]));
        assert_eq!(
            template["properties"]["metadata"]["allOf"][0]["$ref"],
            OBJECT_META_REF
        );
    }
}
