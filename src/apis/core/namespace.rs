//! Namespace: `pkg/registry/core/namespace` strategy (deletion is in `registry::namespace`).

use serde_json::{json, Value};

use crate::apis::validation::NameRule;
use crate::apis::{age_cell, AGE_COLUMN};
use crate::scheme::meta::StatusCause;
use crate::scheme::schema::{
    field, ListType, Struct, Type, METADATA_DOC, OBJECT_META, STRING_LIST,
};
use crate::scheme::{Strategy, TableColumn};

/// The finalizer that keeps a deleted namespace until its contents are gone.
pub const NAMESPACE_FINALIZER: &str = "kubernetes";

pub struct NamespaceStrategy;

/// `v1.Namespace`.
pub static NAMESPACE: Struct = Struct {
    name: "io.k8s.api.core.v1.Namespace",
    description: "A scope for names: most kinds' objects live in a namespace.",
    fields: &[
        field(1, "metadata", Type::Struct(&OBJECT_META), METADATA_DOC),
        field(
            2,
            "spec",
            Type::Struct(&NAMESPACE_SPEC),
            "How the namespace is kept: its finalizers.",
        ),
        field(
            3,
            "status",
            Type::Struct(&NAMESPACE_STATUS),
            "Active or Terminating.",
        ),
    ],
};

static NAMESPACE_SPEC: Struct = Struct {
    name: "io.k8s.api.core.v1.NamespaceSpec",
    description: "The desired state of a namespace.",
    fields: &[field(
        1,
        "finalizers",
        STRING_LIST,
        "What must finish before the namespace is removed; \"kubernetes\" empties it.",
    )],
};

static NAMESPACE_STATUS: Struct = Struct {
    name: "io.k8s.api.core.v1.NamespaceStatus",
    description: "The observed state of a namespace.",
    fields: &[
        field(
            1,
            "phase",
            Type::String,
            "Active, or Terminating once deletion has begun.",
        ),
        field(
            2,
            "conditions",
            Type::List(&Type::Any, ListType::Map(&["type"])),
            "The latest observations of its state.",
        ),
    ],
};

impl Strategy for NamespaceStrategy {
    fn name_rule(&self) -> NameRule {
        NameRule::Label
    }

    // ANCHOR: namespace_prepare
    fn prepare_for_create(&self, obj: &mut Value) {
        // Like kube-apiserver: every namespace starts Active, carries the "kubernetes" finalizer,
        // and is labelled with its own name so that selectors can pick namespaces by name.
        obj["spec"] = json!({ "finalizers": [NAMESPACE_FINALIZER] });
        obj["status"] = json!({ "phase": "Active" });
        let name = obj["metadata"]["name"].clone();
        if !obj["metadata"]["labels"].is_object() {
            obj["metadata"]["labels"] = json!({});
        }
        obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = name;
    }
    // ANCHOR_END: namespace_prepare

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        // Status and finalizers change only through the server's own deletion path.
        new["status"] = old["status"].clone();
        new["spec"] = old["spec"].clone();
        let name = old["metadata"]["name"].clone();
        if !new["metadata"]["labels"].is_object() {
            new["metadata"]["labels"] = json!({});
        }
        new["metadata"]["labels"]["kubernetes.io/metadata.name"] = name;
    }

    fn validate(&self, _obj: &Value) -> Vec<StatusCause> {
        Vec::new()
    }

    fn table_columns(&self) -> Vec<TableColumn> {
        vec![
            TableColumn {
                name: "Status".into(),
                type_: "string".into(),
                format: "".into(),
                description: "The lifecycle phase of the namespace: Active or Terminating.".into(),
                priority: 0,
            },
            AGE_COLUMN,
        ]
    }

    fn table_cells(&self, obj: &Value) -> Vec<Value> {
        vec![obj["status"]["phase"].clone(), age_cell(obj)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_start_active_and_labelled() {
        let mut ns = json!({"metadata": {"name": "demo"}});
        NamespaceStrategy.prepare_for_create(&mut ns);
        assert_eq!(ns["status"]["phase"], "Active");
        assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
        assert_eq!(
            ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
            "demo"
        );
    }
}
