//! `apiextensions.k8s.io/v1`: CustomResourceDefinition, the kind the apiextensions-apiserver
//! (the first server of the chain) stores.
//!
//! Mirrors `k8s.io/apiextensions-apiserver/pkg/apis/apiextensions` validation and the
//! `customresourcedefinition` registry strategy. Serving the custom resources themselves comes
//! with the apiextensions issue; for now a CRD is stored, validated and marked Established.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::scheme::meta::StatusCause;
use crate::scheme::schema::{field, Struct, Type, METADATA_DOC, OBJECT_META};
use crate::scheme::{
    invalid, required, set_meta, ResourceDef, Scheme, Strategy, Subresource, TableColumn, ALL_VERBS,
};

pub const GROUP: &str = "apiextensions.k8s.io";

/// Spec and status are stored as given and checked by the strategy.
pub static CUSTOM_RESOURCE_DEFINITION: Struct = Struct {
    name: "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
    description: "A new resource served by the apiextensions-apiserver under its group and names.",
    fields: &[
        field(1, "metadata", Type::Struct(&OBJECT_META), METADATA_DOC),
        field(2, "spec", Type::Any, "The desired state."),
        field(
            3,
            "status",
            Type::Any,
            "The observed state, written by the server.",
        ),
    ],
};

pub fn add_to_scheme(scheme: &mut Scheme) {
    scheme.add_known_type(ResourceDef {
        group: GROUP.into(),
        version: "v1".into(),
        kind: "CustomResourceDefinition".into(),
        resource: "customresourcedefinitions".into(),
        singular: "customresourcedefinition".into(),
        namespaced: false,
        short_names: crate::scheme::names(&["crd", "crds"]),
        categories: crate::scheme::names(&["api-extensions"]),
        verbs: ALL_VERBS,
        schema: &CUSTOM_RESOURCE_DEFINITION,
        selectable_fields: &[],
        subresources: &[Subresource::Status],
        strategy: Arc::new(CustomResourceDefinitionStrategy),
    });
}

pub struct CustomResourceDefinitionStrategy;

impl Strategy for CustomResourceDefinitionStrategy {
    fn prepare_for_create(&self, obj: &mut Value) {
        // No controller runs yet to accept names: a valid CRD is accepted and established at once,
        // which is what `kubectl wait --for condition=established` waits for.
        set_meta(obj, "generation", json!(1));
        let now = crate::util::time::rfc3339(std::time::SystemTime::now());
        let condition = |type_: &str, reason: &str, message: &str| json!({"type": type_, "status": "True", "lastTransitionTime": now, "reason": reason, "message": message});
        obj["status"] = json!({
            "conditions": [
                condition("NamesAccepted", "NoConflicts", "no conflicts found"),
                condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
            ],
            "acceptedNames": obj["spec"]["names"].clone(),
            "storedVersions": obj["spec"]["versions"].as_array().map(|vs| {
                vs.iter().filter(|v| v["storage"] == true).map(|v| v["name"].clone()).collect::<Vec<_>>()
            }).unwrap_or_default(),
        });
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        new["status"] = old["status"].clone();
        // `metadata.generation` counts changes of the spec, and only the server moves it.
        let generation = old["metadata"]["generation"].as_i64().unwrap_or(1);
        let bump = i64::from(new["spec"] != old["spec"]);
        set_meta(new, "generation", json!(generation + bump));
    }

    fn validate(&self, obj: &Value) -> Vec<StatusCause> {
        let mut causes = Vec::new();
        let spec = &obj["spec"];
        let group = spec["group"].as_str().unwrap_or("");
        let plural = spec["names"]["plural"].as_str().unwrap_or("");
        if group.is_empty() {
            causes.push(required("spec.group", ""));
        } else if !group.contains('.') {
            causes.push(invalid(
                "spec.group",
                &spec["group"],
                "should be a domain with at least one dot",
            ));
        }
        if plural.is_empty() {
            causes.push(required("spec.names.plural", ""));
        }
        if spec["names"]["kind"].as_str().unwrap_or("").is_empty() {
            causes.push(required("spec.names.kind", ""));
        }
        let name = obj["metadata"]["name"].as_str().unwrap_or("");
        if !group.is_empty() && !plural.is_empty() && name != format!("{plural}.{group}") {
            causes.push(invalid(
                "metadata.name",
                &obj["metadata"]["name"],
                "must be spec.names.plural+\".\"+spec.group",
            ));
        }
        if !matches!(spec["scope"].as_str(), Some("Namespaced") | Some("Cluster")) {
            causes.push(invalid(
                "spec.scope",
                &spec["scope"],
                "must be either Namespaced or Cluster",
            ));
        }
        match spec["versions"].as_array() {
            Some(vs) if !vs.is_empty() => {
                if vs.iter().filter(|v| v["storage"] == true).count() != 1 {
                    causes.push(invalid(
                        "spec.versions",
                        &spec["versions"],
                        "must have exactly one version marked as storage version",
                    ));
                }
            }
            _ => causes.push(required("spec.versions", "must have at least one version")),
        }
        causes
    }

    fn table_columns(&self) -> Vec<TableColumn> {
        vec![TableColumn {
            name: "Created At".into(),
            type_: "date".into(),
            format: "".into(),
            description: "When the definition was created.".into(),
            priority: 0,
        }]
    }

    fn table_cells(&self, obj: &Value) -> Vec<Value> {
        vec![obj["metadata"]["creationTimestamp"].clone()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_counts_spec_changes() {
        let strategy = CustomResourceDefinitionStrategy;
        let mut old = json!({"metadata": {"name": "a.b.c"}, "spec": {"group": "b.c"}});
        strategy.prepare_for_create(&mut old);
        assert_eq!(old["metadata"]["generation"], 1);
        let mut same = json!({"metadata": {"generation": 7}, "spec": {"group": "b.c"}});
        strategy.prepare_for_update(&mut same, &old);
        assert_eq!(same["metadata"]["generation"], 1);
        let mut changed = json!({"metadata": {}, "spec": {"group": "d.c"}});
        strategy.prepare_for_update(&mut changed, &old);
        assert_eq!(changed["metadata"]["generation"], 2);
    }
}
