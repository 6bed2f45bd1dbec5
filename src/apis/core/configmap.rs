//! ConfigMap: `pkg/apis/core/validation.ValidateConfigMap` and the `configmap` strategy.

use serde_json::{json, Value};

use crate::apis::{age_cell, AGE_COLUMN};
use crate::scheme::meta::StatusCause;
use crate::scheme::schema::{field, Struct, Type, METADATA_DOC, OBJECT_META, STRING_MAP};
use crate::scheme::{forbidden, invalid, Strategy, TableColumn};

pub struct ConfigMapStrategy;

/// `v1.ConfigMap`.
pub static CONFIG_MAP: Struct = Struct {
    name: "io.k8s.api.core.v1.ConfigMap",
    description: "Configuration data for pods to consume, as keys and values.",
    fields: &[
        field(1, "metadata", Type::Struct(&OBJECT_META), METADATA_DOC),
        field(
            2,
            "data",
            STRING_MAP,
            "Configuration data as UTF-8 strings; keys are alphanumeric, '-', '_' or '.'.",
        ),
        field(
            3,
            "binaryData",
            Type::Map(&Type::Bytes),
            "Binary data, base64 in JSON; its keys must not also be in data.",
        ),
        field(
            4,
            "immutable",
            Type::Pointer(&Type::Boolean),
            "If true, data and binaryData cannot change; only deletion is allowed.",
        ),
    ],
};

/// `IsConfigMapKey`: what a key of `data` or `binaryData` may be.
pub(super) fn config_map_key_error(key: &str) -> Option<&'static str> {
    if key.len() > 253 {
        return Some("must be no more than 253 characters");
    }
    if key.is_empty()
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
    {
        return Some("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')");
    }
    if key == "." || key == ".." {
        return Some("must not be '.' or '..'");
    }
    None
}

/// kube-apiserver's limit on the data a ConfigMap holds (`MaxSecretSize`, 1 MiB).
pub(super) const MAX_CONFIG_MAP_BYTES: usize = 1024 * 1024;

impl Strategy for ConfigMapStrategy {
    fn validate(&self, obj: &Value) -> Vec<StatusCause> {
        let mut causes = Vec::new();
        let mut total = 0;
        let mut seen = Vec::new();
        for field in ["data", "binaryData"] {
            match &obj[field] {
                Value::Null => {}
                Value::Object(map) => {
                    for (k, v) in map {
                        let path = format!("{field}[{k}]");
                        if let Some(e) = config_map_key_error(k) {
                            causes.push(invalid(&path, &Value::String(k.clone()), e));
                        }
                        if seen.contains(k) {
                            causes.push(invalid(
                                &path,
                                &Value::String(k.clone()),
                                "duplicate of key present in data",
                            ));
                        }
                        seen.push(k.clone());
                        match v.as_str() {
                            Some(s) if field == "binaryData" && base64_decoded_len(s).is_none() => {
                                causes.push(invalid(&path, v, "must be base64-encoded"))
                            }
                            Some(s) => total += s.len(),
                            None => causes.push(invalid(&path, v, "must be a string")),
                        }
                    }
                }
                other => causes.push(invalid(field, other, "must be a map of strings")),
            }
        }
        if total > MAX_CONFIG_MAP_BYTES {
            causes.push(StatusCause {
                reason: "FieldValueTooLong".into(),
                message: format!("Too long: must have at most {MAX_CONFIG_MAP_BYTES} bytes"),
                field: "data".into(),
            });
        }
        causes
    }

    // ANCHOR: configmap_immutable
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<StatusCause> {
        let mut causes = self.validate(new);
        if old["immutable"] == Value::Bool(true) {
            if new["immutable"] != Value::Bool(true) {
                causes.push(invalid(
                    "immutable",
                    &new["immutable"],
                    "field is immutable when `immutable` is set",
                ));
            }
            for field in ["data", "binaryData"] {
                if new[field] != old[field] {
                    causes.push(forbidden(
                        field,
                        "field is immutable when `immutable` is set",
                    ));
                }
            }
        }
        causes
    }
    // ANCHOR_END: configmap_immutable

    fn table_columns(&self) -> Vec<TableColumn> {
        vec![
            TableColumn {
                name: "Data".into(),
                type_: "string".into(),
                format: "".into(),
                description: "How many keys the ConfigMap holds in data and binaryData.".into(),
                priority: 0,
            },
            AGE_COLUMN,
        ]
    }

    fn table_cells(&self, obj: &Value) -> Vec<Value> {
        let count = |f: &str| obj[f].as_object().map_or(0, |m| m.len());
        vec![json!(count("data") + count("binaryData")), age_cell(obj)]
    }
}

pub(super) fn base64_decoded_len(s: &str) -> Option<usize> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .ok()
        .map(|b| b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_map_data_rules() {
        let s = ConfigMapStrategy;
        assert!(s
            .validate(&json!({"data": {"a.b": "x", "C_D-e": ""}}))
            .is_empty());
        let fields: Vec<String> = s
            .validate(&json!({"data": {"bad key": "x", "n": 5}, "binaryData": {"b": "!!"}}))
            .into_iter()
            .map(|c| c.field)
            .collect();
        assert_eq!(fields, ["data[bad key]", "data[n]", "binaryData[b]"]);
        let big = "x".repeat(MAX_CONFIG_MAP_BYTES + 1);
        assert_eq!(s.validate(&json!({"data": {"k": big}}))[0].field, "data");
    }

    #[test]
    fn immutable_config_maps_keep_their_data() {
        let s = ConfigMapStrategy;
        let old = json!({"data": {"a": "1"}, "immutable": true});
        assert!(s.validate_update(&old.clone(), &old).is_empty());
        let changed = json!({"data": {"a": "2"}, "immutable": true});
        assert_eq!(s.validate_update(&changed, &old)[0].field, "data");
        assert_eq!(
            s.validate_update(&json!({"data": {"a": "1"}}), &old)[0].field,
            "immutable"
        );
    }
}
