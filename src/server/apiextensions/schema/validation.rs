//! `ValidateStructural`: the invariants that make a schema structural.
//!
//! Mirrors `pkg/apiserver/schema/validation.go` and `complete.go`: every specified field has a
//! `type` (unless it is int-or-string or preserves unknown fields), `items` for every array,
//! junctors (`allOf`...) only add value checks, `metadata` at the root may only say something about
//! `name` and `generateName`, and every field a junctor reaches is also specified outside it.

use serde_json::json;

use super::{AdditionalProperties, NestedValueValidation, Structural, ValueValidation};
use crate::scheme::meta::StatusCause;
use crate::scheme::{forbidden, invalid, required};

#[derive(Clone, Copy, PartialEq)]
enum Level {
    Root,
    Item,
    Field,
}

/// The causes, unsorted (the caller sorts them, as kube does).
pub fn validate_structural(path: &str, s: &Structural) -> Vec<StatusCause> {
    let mut errs = Vec::new();
    invariants(s, Level::Root, path, &mut errs);
    completeness(&s.value_validation, s, path, path, &mut errs);
    errs
}

fn invariants(s: &Structural, lvl: Level, path: &str, errs: &mut Vec<StatusCause>) {
    if s.type_ == "array" && s.items.is_none() {
        errs.push(required(&format!("{path}.items"), "must be specified"));
    }
    if let Some(items) = &s.items {
        invariants(items, Level::Item, &format!("{path}.items"), errs);
    }
    for (k, v) in &s.properties {
        invariants(v, Level::Field, &format!("{path}.properties[{k}]"), errs);
    }
    if let Some(additional) = &s.additional_properties {
        if lvl == Level::Root {
            errs.push(forbidden(
                &format!("{path}.additionalProperties"),
                "must not be used at the root",
            ));
        }
        if let AdditionalProperties::Schema(inner) = additional {
            invariants(
                inner,
                Level::Field,
                &format!("{path}.additionalProperties"),
                errs,
            );
        }
    }
    if s.x_int_or_string && s.x_preserve_unknown_fields {
        errs.push(invalid(
            &format!("{path}.x-kubernetes-preserve-unknown-fields"),
            &json!(true),
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    if s.x_int_or_string && s.x_embedded_resource {
        errs.push(invalid(
            &format!("{path}.x-kubernetes-embedded-resource"),
            &json!(true),
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    let skip_any_of = is_int_or_string_any_of(&s.value_validation.any_of);
    let skip_first_all_of_any_of = s
        .value_validation
        .all_of
        .first()
        .is_some_and(|first| is_int_or_string_any_of(&first.value_validation.any_of));
    value_validation(
        &s.value_validation,
        skip_any_of,
        skip_first_all_of_any_of,
        path,
        errs,
    );

    let type_path = format!("{path}.type");
    if s.x_embedded_resource && s.type_ != "object" {
        let why = "must be object if x-kubernetes-embedded-resource is true";
        errs.push(if s.type_.is_empty() {
            required(&type_path, why)
        } else {
            invalid(&type_path, &json!(s.type_), why)
        });
    } else if s.type_.is_empty() && !s.x_int_or_string && !s.x_preserve_unknown_fields {
        errs.push(required(
            &type_path,
            match lvl {
                Level::Root => "must not be empty at the root",
                Level::Item => "must not be empty for specified array items",
                Level::Field => "must not be empty for specified object fields",
            },
        ));
    }
    if s.x_embedded_resource && s.additional_properties.is_some() {
        errs.push(forbidden(
            &format!("{path}.additionalProperties"),
            "must not be used if x-kubernetes-embedded-resource is set",
        ));
    }
    if lvl == Level::Root && !s.type_.is_empty() && s.type_ != "object" {
        errs.push(invalid(
            &type_path,
            &json!(s.type_),
            "must be object at the root",
        ));
    }
    let check_metadata = lvl == Level::Root || s.x_embedded_resource;
    for name in ["kind", "apiVersion"] {
        if let Some(p) = s.properties.get(name) {
            if check_metadata && p.type_ != "string" {
                errs.push(invalid(
                    &format!("{path}.properties[{name}].type"),
                    &json!(p.type_),
                    "must be string",
                ));
            }
        }
    }
    if let Some(metadata) = s.properties.get("metadata") {
        let meta_path = format!("{path}.properties[metadata]");
        if check_metadata && metadata.type_ != "object" {
            errs.push(invalid(
                &format!("{meta_path}.type"),
                &json!(metadata.type_),
                "must be object",
            ));
        }
        if lvl == Level::Root && !metadata_only_names(metadata) {
            errs.push(forbidden(
                &meta_path,
                "must not specify anything other than name and generateName, but metadata is implicitly specified",
            ));
        }
    }
    if s.x_embedded_resource && !s.x_preserve_unknown_fields && s.properties.is_empty() {
        errs.push(required(
            &format!("{path}.properties"),
            "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        ));
    }
}

/// Whether a root `metadata` schema says nothing beyond its type, its default (checked
/// elsewhere) and the schemas of `name` and `generateName`.
fn metadata_only_names(metadata: &Structural) -> bool {
    let mut rest = metadata.clone();
    let names = rest
        .properties
        .keys()
        .filter(|k| *k == "name" || *k == "generateName")
        .count();
    if names == rest.properties.len() {
        rest.properties.clear();
    }
    rest.type_.clear();
    rest.default = None;
    rest == <Structural as Default>::default()
}

/// `anyOf: [{type: integer}, {type: string}]` and nothing else: how an int-or-string is spelt.
fn is_int_or_string_any_of(any_of: &[NestedValueValidation]) -> bool {
    let bare = |t: &str| NestedValueValidation {
        forbidden_type: t.to_string(),
        ..Default::default()
    };
    any_of == [bare("integer"), bare("string")]
}

fn value_validation(
    v: &ValueValidation,
    skip_any_of: bool,
    skip_first_all_of_any_of: bool,
    path: &str,
    errs: &mut Vec<StatusCause>,
) {
    if !skip_any_of {
        for (i, n) in v.any_of.iter().enumerate() {
            nested(n, false, &format!("{path}.anyOf[{i}]"), errs);
        }
    }
    for (i, n) in v.all_of.iter().enumerate() {
        nested(
            n,
            skip_first_all_of_any_of && i == 0,
            &format!("{path}.allOf[{i}]"),
            errs,
        );
    }
    for (i, n) in v.one_of.iter().enumerate() {
        nested(n, false, &format!("{path}.oneOf[{i}]"), errs);
    }
    if let Some(n) = &v.not {
        nested(n, false, &format!("{path}.not"), errs);
    }
}

fn nested(v: &NestedValueValidation, skip_any_of: bool, path: &str, errs: &mut Vec<StatusCause>) {
    value_validation(&v.value_validation, skip_any_of, false, path, errs);
    if let Some(items) = &v.items {
        nested(items, false, &format!("{path}.items"), errs);
    }
    for (k, p) in &v.properties {
        nested(p, false, &format!("{path}.properties[{k}]"), errs);
    }
    if !v.forbidden_type.is_empty() {
        errs.push(forbidden(
            &format!("{path}.type"),
            "must be empty to be structural",
        ));
    }
    if v.additional_properties.is_some() {
        errs.push(forbidden(
            &format!("{path}.additionalProperties"),
            "must be undefined to be structural",
        ));
    }
    for (keyword, why) in &v.forbidden {
        errs.push(forbidden(&format!("{path}.{keyword}"), why));
    }
    if v.properties.contains_key("metadata") {
        errs.push(forbidden(
            &format!("{path}.properties[metadata]"),
            "must not be specified in a nested context",
        ));
    }
}

/// `validateStructuralCompleteness`: what the root's junctors reach must exist outside them.
fn completeness(
    v: &ValueValidation,
    s: &Structural,
    s_path: &str,
    v_path: &str,
    errs: &mut Vec<StatusCause>,
) {
    if let Some(not) = &v.not {
        nested_completeness(not, Some(s), s_path, &format!("{v_path}.not"), errs);
    }
    for (junctor, list) in [
        ("allOf", &v.all_of),
        ("anyOf", &v.any_of),
        ("oneOf", &v.one_of),
    ] {
        for (i, n) in list.iter().enumerate() {
            nested_completeness(
                n,
                Some(s),
                s_path,
                &format!("{v_path}.{junctor}[{i}]"),
                errs,
            );
        }
    }
}

fn nested_completeness(
    v: &NestedValueValidation,
    s: Option<&Structural>,
    s_path: &str,
    v_path: &str,
    errs: &mut Vec<StatusCause>,
) {
    let Some(s) = s else {
        errs.push(required(
            s_path,
            &format!("because it is defined in {v_path}"),
        ));
        return;
    };
    completeness(&v.value_validation, s, s_path, v_path, errs);
    if let Some(items) = &v.items {
        nested_completeness(
            items,
            s.items.as_deref(),
            &format!("{s_path}.items"),
            &format!("{v_path}.items"),
            errs,
        );
    }
    for (k, p) in &v.properties {
        nested_completeness(
            p,
            s.properties.get(k),
            &format!("{s_path}.properties[{k}]"),
            &format!("{v_path}.properties[{k}]"),
            errs,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn errors(schema: Value) -> Vec<String> {
        match Structural::new(&schema, "s") {
            Ok(_) => Vec::new(),
            Err(errs) => errs
                .into_iter()
                .map(|c| format!("{}: {}", c.field, c.message))
                .collect(),
        }
    }

    #[test]
    fn every_specified_field_needs_a_type() {
        // From kube's validation_test.go: missing types at each level.
        assert_eq!(
            errors(json!({"properties": {"spec": {"properties": {"a": {}}}, "list": {"type": "array", "items": {}}}})),
            [
                "s.properties[list].items.type: Required value: must not be empty for specified array items",
                "s.properties[spec].properties[a].type: Required value: must not be empty for specified object fields",
                "s.properties[spec].type: Required value: must not be empty for specified object fields",
                "s.type: Required value: must not be empty at the root",
            ]
        );
        assert_eq!(
            errors(json!({"type": "object", "properties": {"a": {"type": "array"}}})),
            ["s.properties[a].items: Required value: must be specified"]
        );
        assert_eq!(
            errors(json!({"type": "string"})),
            ["s.type: Invalid value: \"string\": must be object at the root"]
        );
    }

    #[test]
    fn int_or_string_and_preserved_fields_need_no_type() {
        assert!(errors(json!({"type": "object", "properties": {
            "port": {"x-kubernetes-int-or-string": true},
            "port2": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]},
            "port3": {"x-kubernetes-int-or-string": true, "allOf": [{"anyOf": [{"type": "integer"}, {"type": "string"}]}, {"pattern": "^[0-9]+$"}]},
            "any": {"x-kubernetes-preserve-unknown-fields": true},
        }}))
        .is_empty());
    }

    #[test]
    fn junctors_may_only_add_value_checks() {
        assert_eq!(
            errors(json!({"type": "object", "properties": {"a": {"type": "string"}},
                "anyOf": [{"type": "string", "description": "x", "nullable": true,
                           "properties": {"metadata": {}}}]})),
            [
                "s.anyOf[0].description: Forbidden: must be empty to be structural",
                "s.anyOf[0].nullable: Forbidden: must be false to be structural",
                "s.anyOf[0].properties[metadata]: Forbidden: must not be specified in a nested context",
                "s.anyOf[0].type: Forbidden: must be empty to be structural",
                "s.properties[metadata]: Required value: because it is defined in s.anyOf[0].properties[metadata]",
            ]
        );
        assert_eq!(
            errors(json!({"type": "object", "properties": {"a": {"type": "string"}},
                "allOf": [{"properties": {"a": {"pattern": "^x"}, "b": {"pattern": "^y"}}}]})),
            ["s.properties[b]: Required value: because it is defined in s.allOf[0].properties[b]"]
        );
    }

    #[test]
    fn root_metadata_may_only_restrict_names() {
        assert!(errors(
            json!({"type": "object", "properties": {"metadata": {"type": "object",
            "properties": {"name": {"type": "string", "maxLength": 10}}}}})
        )
        .is_empty());
        assert_eq!(
            errors(json!({"type": "object", "properties": {"metadata": {"type": "object",
                "properties": {"labels": {"type": "object"}}}}})),
            ["s.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified"]
        );
        assert_eq!(
            errors(json!({"type": "object", "properties": {"metadata": {"type": "string"}}})),
            ["s.properties[metadata].type: Invalid value: \"string\": must be object",]
        );
    }

    #[test]
    fn embedded_resources_are_objects_with_fields() {
        assert_eq!(
            errors(json!({"type": "object", "properties": {"e": {"x-kubernetes-embedded-resource": true}}})),
            [
                "s.properties[e].properties: Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
                "s.properties[e].type: Required value: must be object if x-kubernetes-embedded-resource is true",
            ]
        );
        assert!(errors(
            json!({"type": "object", "properties": {"e": {"type": "object",
            "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true}}})
        )
        .is_empty());
        assert_eq!(
            errors(json!({"type": "object", "additionalProperties": {"type": "string"}})),
            ["s.additionalProperties: Forbidden: must not be used at the root"]
        );
    }
}
