//! Secret: `pkg/apis/core/validation.ValidateSecret` and the `secret` strategy.
//!
//! `data` holds base64 strings. `stringData` is for writing only: its plain values are encoded
//! into `data` (winning over a key of the same name) and the field is never stored, as in
//! kube-apiserver. `type` defaults to `Opaque` and cannot change.

use base64::Engine;
use serde_json::{json, Map, Value};

use super::configmap::{base64_decoded_len, config_map_key_error, MAX_CONFIG_MAP_BYTES};
use crate::apis::{age_cell, AGE_COLUMN};
use crate::scheme::meta::StatusCause;
use crate::scheme::schema::{field, Struct, Type, METADATA_DOC, OBJECT_META, STRING_MAP};
use crate::scheme::{forbidden, invalid, Strategy, TableColumn};

pub struct SecretStrategy;

/// `v1.Secret`.
pub static SECRET: Struct = Struct {
    name: "io.k8s.api.core.v1.Secret",
    description: "Secret data (passwords, tokens, keys), base64-encoded.",
    fields: &[
        field(1, "metadata", Type::Struct(&OBJECT_META), METADATA_DOC),
        field(
            2,
            "data",
            Type::Map(&Type::Bytes),
            "The secret values, base64-encoded.",
        ),
        field(
            4,
            "stringData",
            STRING_MAP,
            "Plain-text values, folded into data on write and never stored.",
        ),
        field(
            3,
            "type",
            Type::String,
            "How the data is to be used: Opaque by default, kubernetes.io/tls, ...",
        ),
        field(
            5,
            "immutable",
            Type::Pointer(&Type::Boolean),
            "If true, data cannot change; only deletion is allowed.",
        ),
    ],
};

// ANCHOR: secret_string_data
/// Folds `stringData` into `data` and defaults `type`: the defaulting of `v1.Secret`.
fn fold_string_data(obj: &mut Value) {
    if let Some(Value::Object(plain)) = obj.as_object_mut().and_then(|o| o.remove("stringData")) {
        if !obj["data"].is_object() {
            obj["data"] = Value::Object(Map::new());
        }
        for (k, v) in plain {
            let encoded =
                base64::engine::general_purpose::STANDARD.encode(v.as_str().unwrap_or_default());
            obj["data"][k.as_str()] = Value::String(encoded);
        }
    }
    if obj["type"].as_str().is_none_or(str::is_empty) {
        obj["type"] = json!("Opaque");
    }
}
// ANCHOR_END: secret_string_data

impl Strategy for SecretStrategy {
    fn prepare_for_create(&self, obj: &mut Value) {
        fold_string_data(obj);
    }

    fn prepare_for_update(&self, new: &mut Value, _old: &Value) {
        fold_string_data(new);
    }

    fn validate(&self, obj: &Value) -> Vec<StatusCause> {
        let mut causes = Vec::new();
        let mut total = 0;
        match &obj["data"] {
            Value::Null => {}
            Value::Object(map) => {
                for (k, v) in map {
                    let path = format!("data[{k}]");
                    if let Some(e) = config_map_key_error(k) {
                        causes.push(invalid(&path, &Value::String(k.clone()), e));
                    }
                    match v.as_str().and_then(base64_decoded_len) {
                        Some(n) => total += n,
                        None => causes.push(invalid(&path, v, "must be a base64-encoded string")),
                    }
                }
            }
            other => causes.push(invalid("data", other, "must be a map of base64 strings")),
        }
        if total > MAX_CONFIG_MAP_BYTES {
            causes.push(StatusCause {
                reason: "FieldValueTooLong".into(),
                message: format!("Too long: must have at most {MAX_CONFIG_MAP_BYTES} bytes"),
                field: "data".into(),
            });
        }
        match obj["type"].as_str() {
            Some(t) if !t.is_empty() && t.len() <= 253 => {}
            _ => causes.push(invalid(
                "type",
                &obj["type"],
                "must be a non-empty string of at most 253 characters",
            )),
        }
        causes
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<StatusCause> {
        let mut causes = self.validate(new);
        if new["type"] != old["type"] {
            causes.push(invalid("type", &new["type"], "field is immutable"));
        }
        if old["immutable"] == Value::Bool(true)
            && (new["data"] != old["data"] || new["immutable"] != Value::Bool(true))
        {
            causes.push(forbidden(
                "data",
                "field is immutable when `immutable` is set",
            ));
        }
        causes
    }

    fn table_columns(&self) -> Vec<TableColumn> {
        vec![
            TableColumn {
                name: "Type".into(),
                type_: "string".into(),
                format: "".into(),
                description: "The type of the secret.".into(),
                priority: 0,
            },
            TableColumn {
                name: "Data".into(),
                type_: "string".into(),
                format: "".into(),
                description: "How many keys the secret holds.".into(),
                priority: 0,
            },
            AGE_COLUMN,
        ]
    }

    fn table_cells(&self, obj: &Value) -> Vec<Value> {
        let count = obj["data"].as_object().map_or(0, |m| m.len());
        vec![obj["type"].clone(), json!(count), age_cell(obj)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_data_is_folded_into_data() {
        let mut s = json!({"data": {"a": "eA=="}, "stringData": {"a": "plain", "b": "two"}});
        SecretStrategy.prepare_for_create(&mut s);
        assert_eq!(
            s,
            json!({"data": {"a": "cGxhaW4=", "b": "dHdv"}, "type": "Opaque"})
        );
        assert!(SecretStrategy.validate(&s).is_empty());
    }

    #[test]
    fn data_must_be_base64_and_type_cannot_change() {
        let bad = json!({"data": {"k": "not base64!"}, "type": "Opaque"});
        assert_eq!(SecretStrategy.validate(&bad)[0].field, "data[k]");
        let old = json!({"data": {}, "type": "Opaque"});
        let new = json!({"data": {}, "type": "kubernetes.io/tls"});
        assert_eq!(SecretStrategy.validate_update(&new, &old)[0].field, "type");
    }
}
