//! From a version's `openAPIV3Schema` to a [`Structural`], refusing what kube refuses.
//!
//! Mirrors, in kube's order, the schema part of `validateCustomResourceDefinitionValidation`:
//! `ValidateCustomResourceDefinitionOpenAPISchema` (keywords a CRD may not use, list and map
//! types), then `NewStructural` and `ValidateStructural`, then `ValidateDefaults` (each
//! `default` must be pruned and valid), the last only for a structural schema.

use serde_json::{json, Value};

use super::pattern::Regex;
use super::props::{self, Props, PropsOrBool};
use super::{AdditionalProperties, NestedValueValidation, Structural, ValueValidation};
use crate::scheme::meta::StatusCause;
use crate::scheme::{forbidden, invalid, not_supported, required};

/// `openapiV3Types`, sorted as `sets.List` returns them.
const OPENAPI_V3_TYPES: &[&str] = &["array", "boolean", "integer", "number", "object", "string"];
const META_FIELDS: &[&str] = &["apiVersion", "kind", "metadata"];

pub fn new_structural(schema: &Value, path: &str) -> Result<Structural, Vec<StatusCause>> {
    let mut errs = Vec::new();
    let props = props::parse(schema, path, &mut errs);
    if !errs.is_empty() {
        return Err(errs);
    }
    validate_openapi_schema(&props, path, Ssv::default(), true, &mut errs);
    let mut structural_errs = Vec::new();
    let structural = to_structural(&props, path, &mut structural_errs);
    structural_errs.extend(super::validation::validate_structural(path, &structural));
    if structural_errs.is_empty() {
        structural_errs.extend(super::defaulting::validate_defaults(path, &structural));
    } else {
        // ValidateStructural sorts its errors: maps in Go have no order.
        structural_errs.sort_by_key(|c| format!("{}: {}", c.field, c.message));
    }
    errs.extend(structural_errs);
    if errs.is_empty() {
        Ok(structural)
    } else {
        Err(errs)
    }
}

// ANCHOR: spec_standard_validator
/// `specStandardValidatorV3`: what it knows about where it is.
#[derive(Clone, Copy, Default)]
struct Ssv {
    /// Why defaults are forbidden here, if they are.
    forbid_defaults: Option<&'static str>,
    inside_resource_meta: bool,
}

fn child(path: &str, name: &str) -> String {
    format!("{path}.{name}")
}

fn key(path: &str, name: &str, key: &str) -> String {
    format!("{path}.{name}[{key}]")
}

/// The keywords no CRD schema may use, and what every schema must get right.
fn validate_standard(s: &Props, path: &str, ssv: Ssv, errs: &mut Vec<StatusCause>) {
    if !s.type_.is_empty() && !OPENAPI_V3_TYPES.contains(&s.type_.as_str()) {
        errs.push(not_supported(
            &child(path, "type"),
            &s.type_,
            OPENAPI_V3_TYPES,
        ));
    }
    if s.default.is_some() {
        if let Some(why) = ssv.forbid_defaults {
            errs.push(forbidden(
                &child(path, "default"),
                &format!("must not be set {why}"),
            ));
        }
    }
    if !s.id.is_empty() {
        errs.push(forbidden(&child(path, "id"), "id is not supported"));
    }
    if s.additional_items {
        errs.push(forbidden(
            &child(path, "additionalItems"),
            "additionalItems is not supported",
        ));
    }
    if !s.pattern_properties.is_empty() {
        errs.push(forbidden(
            &child(path, "patternProperties"),
            "patternProperties is not supported",
        ));
    }
    if !s.definitions.is_empty() {
        errs.push(forbidden(
            &child(path, "definitions"),
            "definitions is not supported",
        ));
    }
    if s.dependencies {
        errs.push(forbidden(
            &child(path, "dependencies"),
            "dependencies is not supported",
        ));
    }
    if s.ref_.is_some() {
        errs.push(forbidden(&child(path, "$ref"), "$ref is not supported"));
    }
    if s.type_ == "null" {
        errs.push(forbidden(
            &child(path, "type"),
            "type cannot be set to null, use nullable as an alternative",
        ));
    }
    if !s.items_array.is_empty() {
        errs.push(forbidden(
            &child(path, "items"),
            "items must be a schema object and not an array",
        ));
    }
    if ssv.inside_resource_meta && s.x_embedded_resource {
        errs.push(forbidden(
            &child(path, "x-kubernetes-embedded-resource"),
            "must not be used inside of resource meta",
        ));
    }
    // Not kube: CEL needs an interpreter this server does not have, and accepting rules it
    // cannot enforce would let through objects kube refuses.
    if s.x_validations.is_some() {
        errs.push(forbidden(
            &child(path, "x-kubernetes-validations"),
            "CEL validation rules are not supported by this server",
        ));
    }
}
// ANCHOR_END: spec_standard_validator

/// `ValidateCustomResourceDefinitionOpenAPISchema`.
fn validate_openapi_schema(
    s: &Props,
    path: &str,
    ssv: Ssv,
    is_root: bool,
    errs: &mut Vec<StatusCause>,
) {
    validate_standard(s, path, ssv, errs);
    if s.unique_items {
        errs.push(forbidden(
            &child(path, "uniqueItems"),
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ));
    }
    if let Some(additional) = &s.additional_properties {
        let sets_values = matches!(
            additional,
            PropsOrBool::Bool(false) | PropsOrBool::Schema(_)
        );
        if !s.properties.is_empty() && sets_values {
            errs.push(forbidden(
                &child(path, "additionalProperties"),
                "additionalProperties and properties are mutual exclusive",
            ));
        }
        if let PropsOrBool::Schema(inner) = additional {
            let mut sub = ssv;
            if ssv.inside_resource_meta {
                sub.forbid_defaults =
                    Some("inside additionalProperties applying to object metadata");
            }
            validate_openapi_schema(
                inner,
                &child(path, "additionalProperties"),
                sub,
                false,
                errs,
            );
        }
    }
    for (name, prop) in &s.properties {
        let mut sub = ssv;
        if (is_root || s.x_embedded_resource) && META_FIELDS.contains(&name.as_str()) {
            sub.inside_resource_meta = true;
            if is_root {
                sub.forbid_defaults = Some(match name.as_str() {
                    "apiVersion" => "in top-level apiVersion",
                    "kind" => "in top-level kind",
                    _ => "in top-level metadata",
                });
            }
        }
        validate_openapi_schema(prop, &key(path, "properties", name), sub, false, errs);
    }
    if let Some(not) = &s.not {
        validate_openapi_schema(not, &child(path, "not"), ssv, false, errs);
    }
    for (junctor, list) in [
        ("allOf", &s.all_of),
        ("oneOf", &s.one_of),
        ("anyOf", &s.any_of),
    ] {
        for (i, sub) in list.iter().enumerate() {
            validate_openapi_schema(sub, &format!("{path}.{junctor}[{i}]"), ssv, false, errs);
        }
    }
    for (name, def) in &s.definitions {
        validate_openapi_schema(def, &key(path, "definitions", name), ssv, false, errs);
    }
    if let Some(items) = &s.items {
        validate_openapi_schema(items, &child(path, "items"), ssv, false, errs);
    }
    for (i, items) in s.items_array.iter().enumerate() {
        validate_openapi_schema(items, &format!("{path}.items[{i}]"), ssv, false, errs);
    }
    if s.x_preserve_unknown_fields == Some(false) {
        errs.push(invalid(
            &child(path, "x-kubernetes-preserve-unknown-fields"),
            &json!(false),
            "must be true or undefined",
        ));
    }
    validate_list_and_map_types(s, path, errs);
}

/// The `x-kubernetes-map-type`, `-list-type` and `-list-map-keys` rules.
fn validate_list_and_map_types(s: &Props, path: &str, errs: &mut Vec<StatusCause>) {
    let type_path = child(path, "type");
    if let Some(map_type) = &s.x_map_type {
        if s.type_ != "object" {
            let why = "must be object if x-kubernetes-map-type is specified";
            errs.push(if s.type_.is_empty() {
                required(&type_path, why)
            } else {
                invalid(&type_path, &json!(s.type_), why)
            });
        }
        if map_type != "atomic" && map_type != "granular" {
            errs.push(not_supported(
                &child(path, "x-kubernetes-map-type"),
                map_type,
                &["atomic", "granular"],
            ));
        }
    }
    let list_type_path = child(path, "x-kubernetes-list-type");
    if let Some(list_type) = &s.x_list_type {
        if s.type_ != "array" {
            let why = "must be array if x-kubernetes-list-type is specified";
            errs.push(if s.type_.is_empty() {
                required(&type_path, why)
            } else {
                invalid(&type_path, &json!(s.type_), why)
            });
        }
        if !["atomic", "set", "map"].contains(&list_type.as_str()) {
            errs.push(not_supported(
                &list_type_path,
                list_type,
                &["atomic", "set", "map"],
            ));
        }
    }
    let keys_path = child(path, "x-kubernetes-list-map-keys");
    if !s.x_list_map_keys.is_empty() {
        let why = "must be map if x-kubernetes-list-map-keys is non-empty";
        match s.x_list_type.as_deref() {
            None => errs.push(required(&list_type_path, why)),
            Some("map") => {}
            Some(other) => errs.push(invalid(&list_type_path, &json!(other), why)),
        }
    }
    if s.x_list_type.as_deref() != Some("map") {
        return;
    }
    if s.x_list_map_keys.is_empty() {
        errs.push(required(
            &keys_path,
            "must not be empty if x-kubernetes-list-type is map",
        ));
    }
    let Some(items) = &s.items else {
        errs.push(required(
            &child(path, "items"),
            "must have a schema if x-kubernetes-list-type is map",
        ));
        return;
    };
    if items.type_ != "object" {
        errs.push(invalid(
            &format!("{path}.items.type"),
            &json!(items.type_),
            "must be object if parent array's x-kubernetes-list-type is map",
        ));
        return;
    }
    let keys = json!(s.x_list_map_keys);
    for (i, k) in s.x_list_map_keys.iter().enumerate() {
        match items.properties.get(k) {
            Some(p) => {
                if p.type_ == "array" || p.type_ == "object" {
                    errs.push(invalid(
                        &format!("{path}.items.properties[{k}].type"),
                        &json!(items.type_),
                        "must be a scalar type if parent array's x-kubernetes-list-type is map",
                    ));
                }
                if p.default.is_none() && !items.required.contains(k) {
                    errs.push(required(
                        &format!("{path}.items.properties[{k}]"),
                        "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
                    ));
                }
                if p.nullable {
                    errs.push(forbidden(
                        &format!("{path}.items.properties[{k}].nullable"),
                        "this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
                    ));
                }
            }
            None => errs.push(invalid(
                &keys_path,
                &keys,
                "entries must all be names of item properties",
            )),
        }
        if s.x_list_map_keys[..i].contains(k) {
            errs.push(invalid(
                &keys_path,
                &keys,
                "must not contain duplicate entries",
            ));
        }
    }
}

// ANCHOR: new_structural
/// `NewStructural`: the fields and types, with value checks set aside. A `pattern` that does
/// not compile is a cause here (kube finds it in `ValidateStructural`).
fn to_structural(s: &Props, path: &str, errs: &mut Vec<StatusCause>) -> Structural {
    Structural {
        type_: s.type_.clone(),
        description: s.description.clone(),
        title: s.title.clone(),
        nullable: s.nullable,
        default: s.default.clone(),
        properties: (s.properties.iter())
            .map(|(k, p)| {
                (
                    k.clone(),
                    to_structural(p, &key(path, "properties", k), errs),
                )
            })
            .collect(),
        items: (s.items.as_ref()).map(|i| Box::new(to_structural(i, &child(path, "items"), errs))),
        additional_properties: s.additional_properties.as_ref().map(|a| match a {
            PropsOrBool::Bool(b) => AdditionalProperties::Bool(*b),
            PropsOrBool::Schema(p) => AdditionalProperties::Schema(Box::new(to_structural(
                p,
                &child(path, "additionalProperties"),
                errs,
            ))),
        }),
        x_preserve_unknown_fields: s.x_preserve_unknown_fields == Some(true),
        x_embedded_resource: s.x_embedded_resource,
        x_int_or_string: s.x_int_or_string,
        x_list_type: s.x_list_type.clone(),
        x_list_map_keys: s.x_list_map_keys.clone(),
        x_map_type: s.x_map_type.clone(),
        value_validation: to_value_validation(s, path, errs),
    }
}
// ANCHOR_END: new_structural

fn to_value_validation(s: &Props, path: &str, errs: &mut Vec<StatusCause>) -> ValueValidation {
    let pattern = if s.pattern.is_empty() {
        None
    } else {
        match Regex::new(&s.pattern) {
            Ok(re) => Some(re),
            Err(e) => {
                errs.push(invalid(
                    &child(path, "pattern"),
                    &json!(s.pattern),
                    &format!("must be a valid regular expression, but isn't: {e}"),
                ));
                None
            }
        }
    };
    let nested = |list: &[Props], junctor: &str, errs: &mut Vec<StatusCause>| {
        (list.iter().enumerate())
            .map(|(i, p)| to_nested(p, &format!("{path}.{junctor}[{i}]"), errs))
            .collect()
    };
    ValueValidation {
        format: s.format.clone(),
        maximum: s.maximum,
        exclusive_maximum: s.exclusive_maximum,
        minimum: s.minimum,
        exclusive_minimum: s.exclusive_minimum,
        max_length: s.max_length,
        min_length: s.min_length,
        pattern,
        max_items: s.max_items,
        min_items: s.min_items,
        unique_items: s.unique_items,
        multiple_of: s.multiple_of,
        enum_: s.enum_.clone(),
        max_properties: s.max_properties,
        min_properties: s.min_properties,
        required: s.required.clone(),
        all_of: nested(&s.all_of, "allOf", errs),
        one_of: nested(&s.one_of, "oneOf", errs),
        any_of: nested(&s.any_of, "anyOf", errs),
        not: (s.not.as_ref()).map(|n| Box::new(to_nested(n, &child(path, "not"), errs))),
    }
}

/// A schema under a junctor: value checks, and the generic keywords it sets, by name, so that
/// `ValidateStructural` can say which ones are not allowed there.
fn to_nested(s: &Props, path: &str, errs: &mut Vec<StatusCause>) -> NestedValueValidation {
    let mut forbidden = Vec::new();
    let mut forbid = |set: bool, keyword: &'static str, why: &'static str| {
        if set {
            forbidden.push((keyword, why));
        }
    };
    forbid(
        s.default.is_some(),
        "default",
        "must be undefined to be structural",
    );
    forbid(
        !s.title.is_empty(),
        "title",
        "must be empty to be structural",
    );
    forbid(
        !s.description.is_empty(),
        "description",
        "must be empty to be structural",
    );
    forbid(s.nullable, "nullable", "must be false to be structural");
    forbid(
        s.external_docs.is_some(),
        "externalDocs",
        "must be undefined to be structural",
    );
    forbid(
        s.x_preserve_unknown_fields == Some(true),
        "x-kubernetes-preserve-unknown-fields",
        "must be false to be structural",
    );
    forbid(
        s.x_embedded_resource,
        "x-kubernetes-embedded-resource",
        "must be false to be structural",
    );
    forbid(
        s.x_int_or_string,
        "x-kubernetes-int-or-string",
        "must be false to be structural",
    );
    forbid(
        !s.x_list_map_keys.is_empty(),
        "x-kubernetes-list-map-keys",
        "must be empty to be structural",
    );
    forbid(
        s.x_list_type.is_some(),
        "x-kubernetes-list-type",
        "must be undefined to be structural",
    );
    forbid(
        s.x_map_type.is_some(),
        "x-kubernetes-map-type",
        "must be undefined to be structural",
    );
    NestedValueValidation {
        value_validation: to_value_validation(s, path, errs),
        items: (s.items.as_ref()).map(|i| Box::new(to_nested(i, &child(path, "items"), errs))),
        properties: (s.properties.iter())
            .map(|(k, p)| (k.clone(), to_nested(p, &key(path, "properties", k), errs)))
            .collect(),
        additional_properties: match &s.additional_properties {
            Some(PropsOrBool::Schema(p)) => Some(Box::new(to_nested(
                p,
                &child(path, "additionalProperties"),
                errs,
            ))),
            Some(PropsOrBool::Bool(_)) => Some(Box::default()),
            None => None,
        },
        forbidden_type: s.type_.clone(),
        forbidden,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "spec.versions[0].schema.openAPIV3Schema";

    fn causes(schema: Value) -> Vec<(String, String, String)> {
        match Structural::new(&schema, ROOT) {
            Ok(_) => Vec::new(),
            Err(errs) => errs
                .into_iter()
                .map(|c| (c.field, c.reason, c.message))
                .collect(),
        }
    }

    fn has(causes: &[(String, String, String)], field: &str, message: &str) -> bool {
        causes
            .iter()
            .any(|(f, _, m)| f == &format!("{ROOT}{field}") && m == message)
    }

    #[test]
    fn the_crontab_schema_of_the_kube_docs_is_structural() {
        let s = Structural::new(
            &json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
                "cronSpec": {"type": "string", "pattern": "^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$"},
                "image": {"type": "string"},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1}}}}}),
            ROOT,
        )
        .unwrap();
        let replicas = &s.properties["spec"].properties["replicas"];
        assert_eq!(replicas.type_, "integer");
        assert_eq!(replicas.value_validation.minimum, Some(1.0));
        assert_eq!(replicas.default, Some(json!(1)));
    }

    #[test]
    fn keywords_a_crd_may_not_use_are_refused_by_name() {
        let got = causes(json!({"type": "object", "properties": {
            "a": {"type": "array", "items": {"type": "string"}, "uniqueItems": true},
            "b": {"$ref": "#/definitions/x", "type": "string"},
            "c": {"type": "null"},
            "d": {"type": "object", "properties": {"x": {"type": "string"}}, "additionalProperties": {"type": "string"}},
            "e": {"type": "string", "x-kubernetes-preserve-unknown-fields": false},
            "f": {"type": "array", "items": [{"type": "string"}]},
            "g": {"type": "object", "patternProperties": {"^a": {"type": "string"}}},
        }}));
        assert!(has(
            &got,
            ".properties[a].uniqueItems",
            "Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic"
        ));
        assert!(has(
            &got,
            ".properties[b].$ref",
            "Forbidden: $ref is not supported"
        ));
        assert!(has(
            &got,
            ".properties[c].type",
            "Forbidden: type cannot be set to null, use nullable as an alternative"
        ));
        assert!(has(
            &got,
            ".properties[c].type",
            "Unsupported value: \"null\": supported values: \"array\", \"boolean\", \"integer\", \"number\", \"object\", \"string\""
        ));
        assert!(has(
            &got,
            ".properties[d].additionalProperties",
            "Forbidden: additionalProperties and properties are mutual exclusive"
        ));
        assert!(has(
            &got,
            ".properties[e].x-kubernetes-preserve-unknown-fields",
            "Invalid value: false: must be true or undefined"
        ));
        assert!(has(
            &got,
            ".properties[f].items",
            "Forbidden: items must be a schema object and not an array"
        ));
        assert!(has(
            &got,
            ".properties[g].patternProperties",
            "Forbidden: patternProperties is not supported"
        ));
    }

    #[test]
    fn defaults_in_top_level_metadata_are_refused() {
        let got = causes(json!({"type": "object", "properties": {
            "metadata": {"type": "object", "default": {}}}}));
        assert!(has(
            &got,
            ".properties[metadata].default",
            "Forbidden: must not be set in top-level metadata"
        ));
    }

    #[test]
    fn list_map_keys_follow_kubes_rules() {
        let got = causes(json!({"type": "object", "properties": {"ports": {
            "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name", "missing"],
            "items": {"type": "object", "properties": {"name": {"type": "string"}}}}}}));
        assert!(has(
            &got,
            ".properties[ports].items.properties[name]",
            "Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property"
        ));
        assert!(has(
            &got,
            ".properties[ports].x-kubernetes-list-map-keys",
            "Invalid value: [\"name\",\"missing\"]: entries must all be names of item properties"
        ));
        let got = causes(
            json!({"type": "object", "properties": {"m": {"type": "string", "x-kubernetes-map-type": "sometimes"}}}),
        );
        assert!(has(
            &got,
            ".properties[m].type",
            "Invalid value: \"string\": must be object if x-kubernetes-map-type is specified"
        ));
        assert!(has(
            &got,
            ".properties[m].x-kubernetes-map-type",
            "Unsupported value: \"sometimes\": supported values: \"atomic\", \"granular\""
        ));
    }

    #[test]
    fn a_bad_pattern_is_refused_with_gos_words() {
        let got = causes(
            json!({"type": "object", "properties": {"a": {"type": "string", "pattern": "[a"}}}),
        );
        assert!(has(
            &got,
            ".properties[a].pattern",
            "Invalid value: \"[a\": must be a valid regular expression, but isn't: error parsing regexp: missing closing ]: `[a`"
        ));
        let got = causes(
            json!({"type": "object", "properties": {"a": {"type": "string", "pattern": "(?i)abc"}}}),
        );
        assert!(got[0].2.contains("not supported by this server"));
    }

    #[test]
    fn cel_rules_are_refused_rather_than_ignored() {
        let got =
            causes(json!({"type": "object", "x-kubernetes-validations": [{"rule": "self.a > 0"}]}));
        assert!(has(
            &got,
            ".x-kubernetes-validations",
            "Forbidden: CEL validation rules are not supported by this server"
        ));
    }

    #[test]
    fn keywords_of_the_wrong_json_type_are_named() {
        let got = causes(json!({"type": "object", "properties": {"a": {"type": 5}}}));
        assert!(has(
            &got,
            ".properties[a].type",
            "Invalid value: 5: must be a string"
        ));
        let got = causes(json!([]));
        assert_eq!(got[0].0, ROOT);
    }
}
