//! ServiceAccount: `pkg/apis/core/validation.ValidateServiceAccount` and the `serviceaccount`
//! strategy.
//!
//! kube-apiserver checks little beyond the object's metadata: each entry of `secrets` and
//! `imagePullSecrets` must name something, and `automountServiceAccountToken` is a boolean.
//! The `default` account every namespace holds is made by kube-controller-manager's
//! serviceaccount controller, which this server does not run.

use serde_json::{json, Value};

use crate::apis::{age_cell, AGE_COLUMN};
use crate::scheme::meta::StatusCause;
use crate::scheme::{invalid, required, MergeKeys, Strategy, TableColumn};

pub struct ServiceAccountStrategy;

impl Strategy for ServiceAccountStrategy {
    fn patch_merge_keys(&self) -> MergeKeys {
        &[("secrets", "name")]
    }

    fn validate(&self, obj: &Value) -> Vec<StatusCause> {
        let mut causes = Vec::new();
        for list in ["secrets", "imagePullSecrets"] {
            match &obj[list] {
                Value::Null => {}
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if item["name"].as_str().is_none_or(str::is_empty) {
                            causes.push(required(&format!("{list}[{i}].name"), ""));
                        }
                    }
                }
                other => causes.push(invalid(list, other, "must be a list of references")),
            }
        }
        let automount = &obj["automountServiceAccountToken"];
        if !automount.is_null() && !automount.is_boolean() {
            causes.push(invalid(
                "automountServiceAccountToken",
                automount,
                "must be a boolean",
            ));
        }
        causes
    }

    fn table_columns(&self) -> Vec<TableColumn> {
        vec![
            TableColumn {
                name: "Secrets",
                type_: "string",
                format: "",
                description: "How many secrets the account lists.",
                priority: 0,
            },
            AGE_COLUMN,
        ]
    }

    fn table_cells(&self, obj: &Value) -> Vec<Value> {
        let count = obj["secrets"].as_array().map_or(0, Vec::len);
        vec![json!(count), age_cell(obj)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_must_name_something() {
        assert!(ServiceAccountStrategy
            .validate(&json!({"secrets": [{"name": "tok"}], "automountServiceAccountToken": false}))
            .is_empty());
        let causes = ServiceAccountStrategy
            .validate(&json!({"imagePullSecrets": [{}], "automountServiceAccountToken": "yes"}));
        let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            ["imagePullSecrets[0].name", "automountServiceAccountToken"]
        );
    }
}
