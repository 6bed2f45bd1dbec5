//! Defaulting: filling in a schema's `default`s, and checking them when the CRD is written.
//!
//! Mirrors `pkg/apiserver/schema/defaulting`: `algorithm.go` (`Default`), `prunenulls.go`
//! (`PruneNonNullableNullsWithoutDefaults`, run first: a `null` where the schema allows none is
//! dropped, unless a default will replace it) and `validation.go` (`ValidateDefaults`: each
//! default must survive pruning and pass the schema it sits in).

use serde_json::Value;

use super::pruning::prune_field;
use super::values::validate_custom_resource;
use super::{AdditionalProperties, Structural};
use crate::scheme::invalid;
use crate::scheme::meta::StatusCause;

fn is_non_nullable_null(x: &Value, s: Option<&Structural>) -> bool {
    x.is_null() && s.is_some_and(|s| !s.nullable)
}

fn additional_schema(s: &Structural) -> Option<&Structural> {
    match &s.additional_properties {
        Some(AdditionalProperties::Schema(a)) => Some(a),
        _ => None,
    }
}

// ANCHOR: default
/// `Default`: a property that is absent, or a null its schema does not allow, gets its default.
pub fn default(x: &mut Value, s: &Structural) {
    match x {
        Value::Object(fields) => {
            for (k, prop) in &s.properties {
                let Some(d) = &prop.default else { continue };
                let absent = fields
                    .get(k)
                    .is_none_or(|v| is_non_nullable_null(v, Some(prop)));
                if absent {
                    fields.insert(k.clone(), d.clone());
                }
            }
            for (k, v) in fields.iter_mut() {
                if let Some(prop) = s.properties.get(k) {
                    default(v, prop);
                } else if let Some(a) = additional_schema(s) {
                    if let (true, Some(d)) = (is_non_nullable_null(v, Some(a)), &a.default) {
                        *v = d.clone();
                    }
                    default(v, a);
                }
            }
        }
        Value::Array(items) => {
            let Some(item_schema) = &s.items else { return };
            for item in items.iter_mut() {
                if let (true, Some(d)) = (
                    is_non_nullable_null(item, Some(item_schema)),
                    &item_schema.default,
                ) {
                    *item = d.clone();
                }
                default(item, item_schema);
            }
        }
        _ => {}
    }
}
// ANCHOR_END: default

/// `PruneNonNullableNullsWithoutDefaults`.
pub fn prune_non_nullable_nulls_without_defaults(x: &mut Value, s: &Structural) {
    prune_nulls(x, Some(s));
}

fn prune_nulls(x: &mut Value, s: Option<&Structural>) {
    match x {
        Value::Object(fields) => {
            fields.retain(|k, v| {
                let schema = s.and_then(|s| s.properties.get(k).or_else(|| additional_schema(s)));
                if is_non_nullable_null(v, schema) && schema.is_some_and(|s| s.default.is_none()) {
                    return false;
                }
                prune_nulls(v, schema);
                true
            });
        }
        Value::Array(items) => {
            let item_schema = s.and_then(|s| s.items.as_deref());
            for item in items {
                prune_nulls(item, item_schema);
            }
        }
        _ => {}
    }
}

/// `ValidateDefaults`: every `default` in the schema at `path`.
pub fn validate_defaults(path: &str, s: &Structural) -> Vec<StatusCause> {
    let mut errs = Vec::new();
    walk(path, s, &mut errs);
    errs
}

fn walk(path: &str, s: &Structural, errs: &mut Vec<StatusCause>) {
    if let Some(d) = &s.default {
        let here = format!("{path}.default");
        let mut pruned = d.clone();
        let lost = !prune_field(&mut pruned, s).is_empty();
        if lost || pruned != *d {
            errs.push(invalid(&here, d, "must not have unknown fields"));
        } else {
            errs.extend(validate_custom_resource(&here, d, s));
        }
    }
    for (k, p) in &s.properties {
        walk(&format!("{path}.properties[{k}]"), p, errs);
    }
    if let Some(items) = &s.items {
        walk(&format!("{path}.items"), items, errs);
    }
    if let Some(a) = additional_schema(s) {
        walk(&format!("{path}.additionalProperties"), a, errs);
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
    fn defaults_fill_absent_fields_and_non_nullable_nulls() {
        // After kube's defaulting algorithm_test: defaults at each level, nulls by nullability.
        let s = schema(
            json!({"type": "object", "properties": {"spec": {"type": "object",
            "default": {},
            "properties": {
                "replicas": {"type": "integer", "default": 1},
                "mode": {"type": "string", "default": "Fast"},
                "note": {"type": "string", "nullable": true, "default": "n"},
                "gone": {"type": "string"},
                "ports": {"type": "array", "items": {"type": "object", "properties": {
                    "protocol": {"type": "string", "default": "TCP"}}}},
                "labels": {"type": "object", "additionalProperties": {"type": "string", "default": "v"}},
            }}}}),
        );
        let mut obj = json!({});
        s.default(&mut obj);
        assert_eq!(
            obj,
            json!({"spec": {"replicas": 1, "mode": "Fast", "note": "n"}})
        );

        let mut obj = json!({"spec": {"replicas": 3, "mode": null, "note": null, "gone": null,
            "ports": [{"port": 80}, {"protocol": "UDP"}], "labels": {"a": null, "b": "x"}}});
        s.default(&mut obj);
        assert_eq!(
            obj,
            json!({"spec": {"replicas": 3, "mode": "Fast", "note": null,
                "ports": [{"port": 80, "protocol": "TCP"}, {"protocol": "UDP"}],
                "labels": {"a": "v", "b": "x"}}})
        );
    }

    #[test]
    fn a_default_must_be_pruned_and_valid() {
        let err = Structural::new(
            &json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
                "replicas": {"type": "integer", "minimum": 1, "default": 0},
                "size": {"type": "integer", "default": "big"},
                "tpl": {"type": "object", "properties": {"a": {"type": "string"}}, "default": {"a": "x", "b": "y"}},
            }}}}),
            "s",
        )
        .unwrap_err();
        let got: Vec<String> = err
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        assert_eq!(
            got,
            [
                "s.properties[spec].properties[replicas].default: Invalid value: 0:  in body should be greater than or equal to 1",
                "s.properties[spec].properties[size].default: Invalid value: \"string\":  in body must be of type integer: \"string\"",
                "s.properties[spec].properties[tpl].default: Invalid value: {\"a\":\"x\",\"b\":\"y\"}: must not have unknown fields",
            ]
        );
    }
}
