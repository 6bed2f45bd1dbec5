//! Pruning: dropping the fields a structural schema does not specify.
//!
//! Mirrors `pkg/apiserver/schema/pruning/algorithm.go` (with `ReturnPruned`, which records the
//! path of each dropped field for `fieldValidation`) and, for `metadata`, `objectmeta.Coerce`,
//! which keeps only what `ObjectMeta` has. Under `x-kubernetes-preserve-unknown-fields` unknown
//! fields stay, while the fields the schema does specify below it are still pruned.

use serde_json::Value;

use super::{AdditionalProperties, Structural};
use crate::scheme::schema::{check, Problems, OBJECT_META};

const META_FIELDS: &[&str] = &["apiVersion", "kind", "metadata"];

// ANCHOR: prune
/// Prunes a whole object: its root is a resource, so `apiVersion`, `kind` and `metadata` are
/// kept whatever the schema says (and `metadata` cut to `ObjectMeta`).
pub fn prune_root(obj: &mut Value, s: &Structural) -> Vec<String> {
    let mut root = s.clone();
    root.x_embedded_resource = true;
    let mut pruned = Vec::new();
    prune(obj, Some(&root), "", &mut pruned);
    pruned.sort();
    pruned
}

/// Prunes a value as the field `s` describes (a resource only if `s` is an embedded one).
pub fn prune_field(x: &mut Value, s: &Structural) -> Vec<String> {
    let mut pruned = Vec::new();
    prune(x, Some(s), "", &mut pruned);
    pruned
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn prune(x: &mut Value, s: Option<&Structural>, path: &str, pruned: &mut Vec<String>) {
    if let Some(s) = s.filter(|s| s.x_preserve_unknown_fields) {
        skip_prune(x, s, path, pruned);
        return;
    }
    match x {
        Value::Object(fields) => {
            let Some(s) = s else {
                pruned.extend(fields.keys().map(|k| join(path, k)));
                fields.clear();
                return;
            };
            fields.retain(|k, v| {
                let here = join(path, k);
                if s.x_embedded_resource && META_FIELDS.contains(&k.as_str()) {
                    coerce_meta(k, v, &here, pruned);
                    return true;
                }
                match (s.properties.get(k), &s.additional_properties) {
                    (Some(prop), _) => prune(v, Some(prop), &here, pruned),
                    (None, Some(additional)) => prune(v, schema_of(additional), &here, pruned),
                    (None, None) => {
                        pruned.push(here);
                        return false;
                    }
                }
                true
            });
        }
        Value::Array(items) => {
            let item_schema = s.and_then(|s| s.items.as_deref());
            for (i, item) in items.iter_mut().enumerate() {
                prune(item, item_schema, &format!("{path}[{i}]"), pruned);
            }
        }
        _ => {}
    }
}
// ANCHOR_END: prune

/// Below `x-kubernetes-preserve-unknown-fields`: unknown fields stay, known ones are pruned.
fn skip_prune(x: &mut Value, s: &Structural, path: &str, pruned: &mut Vec<String>) {
    match x {
        Value::Object(fields) => {
            for (k, v) in fields.iter_mut() {
                let here = join(path, k);
                if s.x_embedded_resource && META_FIELDS.contains(&k.as_str()) {
                    coerce_meta(k, v, &here, pruned);
                    continue;
                }
                match (s.properties.get(k), &s.additional_properties) {
                    (Some(prop), _) => prune(v, Some(prop), &here, pruned),
                    (None, Some(additional)) => prune(v, schema_of(additional), &here, pruned),
                    (None, None) => {}
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = &s.items {
                for (i, item) in items.iter_mut().enumerate() {
                    skip_prune(item, item_schema, &format!("{path}[{i}]"), pruned);
                }
            }
        }
        _ => {}
    }
}

fn schema_of(additional: &AdditionalProperties) -> Option<&Structural> {
    match additional {
        AdditionalProperties::Schema(s) => Some(s),
        AdditionalProperties::Bool(_) => None,
    }
}

/// A resource's `metadata` keeps `ObjectMeta`'s fields only; `apiVersion` and `kind` are left.
fn coerce_meta(key: &str, value: &mut Value, path: &str, pruned: &mut Vec<String>) {
    if key != "metadata" {
        return;
    }
    if let Value::Object(meta) = value {
        let mut problems = Problems::default();
        check(meta, &OBJECT_META, &mut problems);
        pruned.extend(problems.unknown.iter().map(|f| join(path, f)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(s: Value) -> Structural {
        Structural::new(&s, "s").unwrap()
    }

    #[test]
    fn unknown_fields_are_dropped_and_named() {
        // The shape of kube's pruning algorithm_test "unknown fields" case.
        let s = schema(json!({"type": "object", "properties": {
        "spec": {"type": "object", "properties": {
            "replicas": {"type": "integer"},
            "ports": {"type": "array", "items": {"type": "object", "properties": {"port": {"type": "integer"}}}},
            "labels": {"type": "object", "additionalProperties": {"type": "object", "properties": {"a": {"type": "string"}}}},
        }}}}));
        let mut obj = json!({"apiVersion": "x/v1", "kind": "X",
            "metadata": {"name": "n", "bogus": 1, "labels": {"k": "v"}},
            "spec": {"replicas": 1, "foo": "bar",
                     "ports": [{"port": 80, "name": "http"}],
                     "labels": {"x": {"a": "keep", "b": "drop"}}},
            "status": {"anything": true}});
        let pruned = s.prune(&mut obj);
        assert_eq!(
            pruned,
            [
                "metadata.bogus",
                "spec.foo",
                "spec.labels.x.b",
                "spec.ports[0].name",
                "status"
            ]
        );
        assert_eq!(
            obj,
            json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "n", "labels": {"k": "v"}},
                   "spec": {"replicas": 1, "ports": [{"port": 80}], "labels": {"x": {"a": "keep"}}}})
        );
    }

    #[test]
    fn preserve_unknown_fields_keeps_them_but_prunes_known_children() {
        let s = schema(json!({"type": "object", "properties": {
            "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {
                "known": {"type": "object", "properties": {"a": {"type": "string"}}}}},
            "free": {"type": "object", "additionalProperties": true},
        }}));
        let mut obj = json!({"spec": {"extra": {"deep": 1}, "known": {"a": "x", "b": "y"}},
                             "free": {"k": {"nested": 1}, "v": 2}});
        let pruned = s.prune(&mut obj);
        // `additionalProperties: true` has no schema: kube prunes the values' own fields.
        assert_eq!(pruned, ["free.k.nested", "spec.known.b"]);
        assert_eq!(
            obj,
            json!({"spec": {"extra": {"deep": 1}, "known": {"a": "x"}}, "free": {"k": {}, "v": 2}})
        );
    }

    #[test]
    fn embedded_resources_keep_their_type_and_object_meta() {
        let s = schema(
            json!({"type": "object", "properties": {"template": {"type": "object",
            "x-kubernetes-embedded-resource": true, "properties": {"spec": {"type": "object"}}}}}),
        );
        let mut obj = json!({"template": {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "nope": 1}, "spec": {}, "other": 1}});
        assert_eq!(
            s.prune(&mut obj),
            ["template.metadata.nope", "template.other"]
        );
        assert_eq!(
            obj,
            json!({"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}}})
        );
    }
}
