//! ServiceAccount: `pkg/apis/core/validation.ValidateServiceAccount` and the `serviceaccount`
//! strategy.
//!
//! kube-apiserver checks little beyond the object's metadata: each entry of `secrets` and
//! `imagePullSecrets` must name something, and `automountServiceAccountToken` is a boolean.
//! The `default` account every namespace holds is made by kube-controller-manager's
//! serviceaccount controller; here the `start-service-account-controller` post-start hook
//! (`server::serviceaccounts`) plays that part.

use serde_json::{json, Value};

use super::{LOCAL_OBJECT_REFERENCE, OBJECT_REFERENCE};
use crate::apis::{age_cell, AGE_COLUMN};
use crate::scheme::meta::StatusCause;
use crate::scheme::schema::{field, ListType, Struct, Type, METADATA_DOC, OBJECT_META};
use crate::scheme::{required, Strategy, TableColumn};

pub struct ServiceAccountStrategy;

/// `v1.ServiceAccount`.
pub static SERVICE_ACCOUNT: Struct = Struct {
    name: "io.k8s.api.core.v1.ServiceAccount",
    description: "An identity for processes that run in a pod.",
    fields: &[
        field(1, "metadata", Type::Struct(&OBJECT_META), METADATA_DOC),
        field(
            2,
            "secrets",
            Type::List(&Type::Struct(&OBJECT_REFERENCE), ListType::Map(&["name"])),
            "Secrets that pods running as this account may use, merged by name.",
        ),
        field(
            3,
            "imagePullSecrets",
            Type::List(&Type::Struct(&LOCAL_OBJECT_REFERENCE), ListType::Atomic),
            "Secrets for pulling the images of pods that run as this account.",
        ),
        field(
            4,
            "automountServiceAccountToken",
            Type::Pointer(&Type::Boolean),
            "Whether pods get an API token mounted automatically.",
        ),
    ],
};

impl Strategy for ServiceAccountStrategy {
    fn validate(&self, obj: &Value) -> Vec<StatusCause> {
        let mut causes = Vec::new();
        for list in ["secrets", "imagePullSecrets"] {
            // Decoding has checked the types; what is left is that each entry names something.
            for (i, item) in obj[list].as_array().into_iter().flatten().enumerate() {
                if item["name"].as_str().is_none_or(str::is_empty) {
                    causes.push(required(&format!("{list}[{i}].name"), ""));
                }
            }
        }
        causes
    }

    fn table_columns(&self) -> Vec<TableColumn> {
        vec![
            TableColumn {
                name: "Secrets".into(),
                type_: "string".into(),
                format: "".into(),
                description: "How many secrets the account lists.".into(),
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
        let causes = ServiceAccountStrategy.validate(&json!({"imagePullSecrets": [{}]}));
        let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["imagePullSecrets[0].name"]);
    }
}
