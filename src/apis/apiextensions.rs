//! `apiextensions.k8s.io/v1`: CustomResourceDefinition, the kind the apiextensions-apiserver
//! (the first server of the chain) stores.
//!
//! Mirrors `k8s.io/apiextensions-apiserver/pkg/apis/apiextensions` (defaults, validation, the
//! condition helpers) and the `customresourcedefinition` registry strategy. The status is not
//! the strategy's business: the naming and establishing controllers of
//! [`crate::server::apiextensions`] write it, through the status subresource.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::apis::validation::dns1035_label;
use crate::scheme::meta::StatusCause;
use crate::scheme::schema::{field, Struct, Type, METADATA_DOC, OBJECT_META};
use crate::scheme::{
    invalid, not_supported, required, set_meta, ResourceDef, Scheme, Strategy, Subresource,
    TableColumn, ALL_VERBS,
};

pub const GROUP: &str = "apiextensions.k8s.io";

/// `apiextensions.CustomResourceCleanupFinalizer`: a deleted CRD keeps it until its objects are
/// gone.
pub const CUSTOM_RESOURCE_CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

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

// ANCHOR: crd_conditions
/// `FindCRDCondition`: the condition of that type, if the status has one.
pub fn find_condition<'a>(crd: &'a Value, type_: &str) -> Option<&'a Value> {
    crd["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

/// `IsCRDConditionTrue`.
pub fn is_condition_true(crd: &Value, type_: &str) -> bool {
    find_condition(crd, type_).is_some_and(|c| c["status"] == "True")
}

/// `SetCRDCondition`: replaces the condition of the same type, keeping its
/// `lastTransitionTime` unless the status changed; a new type is appended.
pub fn set_condition(crd: &mut Value, type_: &str, status: &str, reason: &str, message: &str) {
    let now = crate::util::time::rfc3339(std::time::SystemTime::now());
    let transition = match find_condition(crd, type_) {
        Some(old) if old["status"] == status => old["lastTransitionTime"].clone(),
        _ => json!(now),
    };
    let condition = json!({"type": type_, "status": status, "lastTransitionTime": transition,
                           "reason": reason, "message": message});
    if !crd["status"].is_object() {
        crd["status"] = json!({});
    }
    if !crd["status"]["conditions"].is_array() {
        crd["status"]["conditions"] = json!([]);
    }
    let conditions = crd["status"]["conditions"]
        .as_array_mut()
        .expect("set above");
    match conditions.iter_mut().find(|c| c["type"] == type_) {
        Some(c) => *c = condition,
        None => conditions.push(condition),
    }
}
// ANCHOR_END: crd_conditions

/// `GetCRDStorageVersion`: the one version marked `storage: true`.
pub fn storage_version(crd: &Value) -> Option<&str> {
    crd["spec"]["versions"]
        .as_array()?
        .iter()
        .find(|v| v["storage"] == true)?["name"]
        .as_str()
}

pub struct CustomResourceDefinitionStrategy;

impl Strategy for CustomResourceDefinitionStrategy {
    /// `SetDefaults_CustomResourceDefinition(Spec)`: the singular is the lower-case kind, the
    /// list kind `<Kind>List`, and conversion `None`.
    fn set_defaults(&self, obj: &mut Value) {
        let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) else {
            return;
        };
        if let Some(kind) = spec["names"]["kind"].as_str().map(str::to_string) {
            if spec["names"]["singular"].as_str().unwrap_or("").is_empty() {
                spec["names"]["singular"] = json!(kind.to_lowercase());
            }
            if spec["names"]["listKind"].as_str().unwrap_or("").is_empty() {
                spec["names"]["listKind"] = json!(format!("{kind}List"));
            }
        }
        if spec["conversion"].is_null() {
            spec["conversion"] = json!({"strategy": "None"});
        }
    }

    /// `PrepareForCreate`: the status starts empty but for the storage version, which is
    /// recorded at once so that no object is ever stored in a version `storedVersions` misses.
    fn prepare_for_create(&self, obj: &mut Value) {
        set_meta(obj, "generation", json!(1));
        let stored: Vec<Value> = storage_version(obj).map(|v| json!(v)).into_iter().collect();
        obj["status"] = json!({"storedVersions": stored, "conditions": [],
                               "acceptedNames": {"plural": "", "kind": ""}});
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        new["status"] = old["status"].clone();
        // `metadata.generation` counts changes of the spec, and only the server moves it.
        let generation = old["metadata"]["generation"].as_i64().unwrap_or(1);
        let bump = i64::from(new["spec"] != old["spec"]);
        set_meta(new, "generation", json!(generation + bump));
        // A new storage version joins the stored ones; the old ones stay until a migration
        // removes them through the status.
        if let Some(v) = storage_version(new).map(str::to_string) {
            if !new["status"]["storedVersions"].is_array() {
                new["status"]["storedVersions"] = json!([]);
            }
            let stored = new["status"]["storedVersions"]
                .as_array_mut()
                .expect("set above");
            if !stored.iter().any(|s| *s == v) {
                stored.push(json!(v));
            }
        }
    }

    fn validate(&self, obj: &Value) -> Vec<StatusCause> {
        validate_custom_resource_definition(obj)
    }

    /// An established CRD keeps its scope: its objects are stored under keys that have, or
    /// have not, a namespace.
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<StatusCause> {
        let mut causes = validate_custom_resource_definition(new);
        if is_condition_true(old, "Established") && new["spec"]["scope"] != old["spec"]["scope"] {
            causes.push(invalid(
                "spec.scope",
                &new["spec"]["scope"],
                "field is immutable",
            ));
        }
        causes
    }

    fn table_columns(&self) -> Vec<TableColumn> {
        vec![TableColumn {
            type_: "date".into(),
            ..TableColumn::text("Created At", "When the definition was created.", 0)
        }]
    }

    fn table_cells(&self, obj: &Value) -> Vec<Value> {
        vec![obj["metadata"]["creationTimestamp"].clone()]
    }
}

// ANCHOR: validate_crd
/// `ValidateCustomResourceDefinition`: the checks, field paths and messages of Go's, for the
/// parts this server reads. The structural schema is checked by the schema module.
pub fn validate_custom_resource_definition(obj: &Value) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    let spec = &obj["spec"];
    let group = spec["group"].as_str().unwrap_or("");
    let plural = spec["names"]["plural"].as_str().unwrap_or("");
    let name = obj["metadata"]["name"].as_str().unwrap_or("");
    if !group.is_empty() && !plural.is_empty() && name != format!("{plural}.{group}") {
        causes.push(invalid(
            "metadata.name",
            &obj["metadata"]["name"],
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    if group.is_empty() {
        causes.push(required("spec.group", ""));
    } else if !group.contains('.') {
        causes.push(invalid(
            "spec.group",
            &spec["group"],
            "should be a domain with at least one dot",
        ));
    } else if let Some(e) = crate::apis::validation::dns1123_subdomain(group)
        .into_iter()
        .next()
    {
        causes.push(invalid("spec.group", &spec["group"], &e));
    }
    match spec["scope"].as_str().unwrap_or("") {
        "" => causes.push(required("spec.scope", "")),
        "Cluster" | "Namespaced" => {}
        other => causes.push(not_supported(
            "spec.scope",
            other,
            &["Cluster", "Namespaced"],
        )),
    }
    causes.extend(validate_names(&spec["names"], "spec.names"));
    causes.extend(validate_versions(&spec["versions"]));
    match spec["conversion"]["strategy"].as_str().unwrap_or("None") {
        "None" => {}
        other => causes.push(not_supported("spec.conversion.strategy", other, &["None"])),
    }
    causes
}

/// `ValidateCustomResourceDefinitionNames`.
fn validate_names(names: &Value, path: &str) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    let label = |field: &str, value: &str, causes: &mut Vec<StatusCause>| {
        if let Some(e) = dns1035_label(value).into_iter().next() {
            causes.push(invalid(&format!("{path}.{field}"), &json!(value), &e));
        }
    };
    for field in ["plural", "singular"] {
        match names[field].as_str().unwrap_or("") {
            "" => causes.push(required(&format!("{path}.{field}"), "")),
            v => label(field, v, &mut causes),
        }
    }
    for field in ["kind", "listKind"] {
        match names[field].as_str().unwrap_or("") {
            "" => causes.push(required(&format!("{path}.{field}"), "")),
            v => label(field, &v.to_lowercase(), &mut causes),
        }
    }
    let kind = names["kind"].as_str().unwrap_or("");
    if !kind.is_empty() && names["listKind"].as_str() == Some(kind) {
        causes.push(invalid(
            &format!("{path}.listKind"),
            &names["listKind"],
            "kind and listKind may not be the same",
        ));
    }
    for (i, short) in names["shortNames"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(e) = dns1035_label(short.as_str().unwrap_or(""))
            .into_iter()
            .next()
        {
            causes.push(invalid(&format!("{path}.shortNames[{i}]"), short, &e));
        }
    }
    for (i, category) in names["categories"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(e) = dns1035_label(category.as_str().unwrap_or(""))
            .into_iter()
            .next()
        {
            causes.push(invalid(&format!("{path}.categories[{i}]"), category, &e));
        }
    }
    causes
}

/// The printer column types Go accepts, `validColumnTypes`.
const COLUMN_TYPES: &[&str] = &["integer", "number", "string", "boolean", "date"];

/// `spec.versions`: unique DNS-1035 names, exactly one storage version, a schema each, and
/// printer columns and scale paths of the shapes the handler can serve.
fn validate_versions(versions: &Value) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    let Some(list) = versions.as_array().filter(|l| !l.is_empty()) else {
        return vec![invalid(
            "spec.versions",
            versions,
            "must have exactly one version marked as storage version",
        )];
    };
    let mut seen: Vec<&str> = Vec::new();
    let mut unique = true;
    for (i, v) in list.iter().enumerate() {
        let path = format!("spec.versions[{i}]");
        let name = v["name"].as_str().unwrap_or("");
        if seen.contains(&name) {
            unique = false;
        }
        seen.push(name);
        if let Some(e) = dns1035_label(name).into_iter().next() {
            causes.push(invalid(&format!("{path}.name"), &v["name"], &e));
        }
        if !v["schema"]["openAPIV3Schema"].is_object() {
            causes.push(required(
                &format!("{path}.schema.openAPIV3Schema"),
                "schemas are required",
            ));
        } else if let Err(errs) = crate::server::apiextensions::schema::Structural::new(
            &v["schema"]["openAPIV3Schema"],
            &format!("{path}.schema.openAPIV3Schema"),
        ) {
            causes.extend(errs);
        }
        for (j, col) in v["additionalPrinterColumns"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let col_path = format!("{path}.additionalPrinterColumns[{j}]");
            if col["name"].as_str().unwrap_or("").is_empty() {
                causes.push(required(&format!("{col_path}.name"), ""));
            }
            match col["type"].as_str().unwrap_or("") {
                "" => causes.push(required(&format!("{col_path}.type"), "")),
                t if COLUMN_TYPES.contains(&t) => {}
                t => causes.push(not_supported(&format!("{col_path}.type"), t, COLUMN_TYPES)),
            }
            match col["jsonPath"].as_str().unwrap_or("") {
                "" => causes.push(required(&format!("{col_path}.jsonPath"), "")),
                p => {
                    if let Err(e) = crate::util::jsonpath::Path::parse(p) {
                        causes.push(invalid(
                            &format!("{col_path}.jsonPath"),
                            &col["jsonPath"],
                            &e,
                        ));
                    }
                }
            }
        }
        let scale = &v["subresources"]["scale"];
        if scale.is_object() {
            let scale_path = format!("{path}.subresources.scale");
            for (field, under) in [
                ("specReplicasPath", ".spec."),
                ("statusReplicasPath", ".status."),
                ("labelSelectorPath", ""),
            ] {
                let value = scale[field].as_str().unwrap_or("");
                if value.is_empty() && field == "labelSelectorPath" {
                    continue;
                }
                if value.is_empty() {
                    causes.push(required(&format!("{scale_path}.{field}"), ""));
                } else if crate::util::jsonpath::Path::parse(value).is_err()
                    || (!under.is_empty() && !value.starts_with(under))
                {
                    let detail = match field {
                        "specReplicasPath" => "should be a json path under .spec",
                        "statusReplicasPath" => "should be a json path under .status",
                        _ => "should be a json path under either .spec or .status",
                    };
                    causes.push(invalid(
                        &format!("{scale_path}.{field}"),
                        &scale[field],
                        detail,
                    ));
                }
            }
        }
    }
    if !unique {
        causes.push(invalid(
            "spec.versions",
            versions,
            "must contain unique version names",
        ));
    }
    if list.iter().filter(|v| v["storage"] == true).count() != 1 {
        causes.push(invalid(
            "spec.versions",
            versions,
            "must have exactly one version marked as storage version",
        ));
    }
    causes
}
// ANCHOR_END: validate_crd

#[cfg(test)]
mod tests {
    use super::*;

    fn crd() -> Value {
        json!({"metadata": {"name": "widgets.example.com"},
               "spec": {"group": "example.com", "scope": "Namespaced",
                        "names": {"plural": "widgets", "kind": "Widget"},
                        "versions": [{"name": "v1", "served": true, "storage": true,
                                      "schema": {"openAPIV3Schema": {"type": "object"}}}]}})
    }

    fn fields(causes: &[StatusCause]) -> Vec<&str> {
        causes.iter().map(|c| c.field.as_str()).collect()
    }

    #[test]
    fn defaults_fill_singular_list_kind_and_conversion() {
        let mut obj = crd();
        CustomResourceDefinitionStrategy.set_defaults(&mut obj);
        assert_eq!(obj["spec"]["names"]["singular"], "widget");
        assert_eq!(obj["spec"]["names"]["listKind"], "WidgetList");
        assert_eq!(obj["spec"]["conversion"]["strategy"], "None");
        assert!(validate_custom_resource_definition(&obj).is_empty());
    }

    #[test]
    fn bad_definitions_name_their_fields() {
        let mut obj = crd();
        CustomResourceDefinitionStrategy.set_defaults(&mut obj);
        obj["metadata"]["name"] = json!("other.example.com");
        obj["spec"]["scope"] = json!("Everywhere");
        obj["spec"]["versions"] = json!([
            {"name": "v1", "storage": true, "schema": {"openAPIV3Schema": {}}},
            {"name": "v2", "storage": true},
        ]);
        let causes = validate_custom_resource_definition(&obj);
        assert_eq!(
            fields(&causes),
            [
                "metadata.name",
                "spec.scope",
                "spec.versions[0].schema.openAPIV3Schema.type",
                "spec.versions[1].schema.openAPIV3Schema",
                "spec.versions"
            ]
        );
        assert_eq!(
            causes[2].message,
            "Required value: must not be empty at the root"
        );
        assert_eq!(
            causes[4].message.rsplit(": ").next(),
            Some("must have exactly one version marked as storage version")
        );
        let mut dotless = crd();
        CustomResourceDefinitionStrategy.set_defaults(&mut dotless);
        dotless["spec"]["group"] = json!("example");
        dotless["metadata"]["name"] = json!("widgets.example");
        assert_eq!(
            fields(&validate_custom_resource_definition(&dotless)),
            ["spec.group"]
        );
    }

    #[test]
    fn printer_columns_and_scale_paths_are_checked() {
        let mut obj = crd();
        CustomResourceDefinitionStrategy.set_defaults(&mut obj);
        obj["spec"]["versions"][0]["additionalPrinterColumns"] =
            json!([{"name": "Size", "type": "float", "jsonPath": ".spec.size"}]);
        obj["spec"]["versions"][0]["subresources"] =
            json!({"scale": {"specReplicasPath": ".status.n", "statusReplicasPath": ".status.n"}});
        assert_eq!(
            fields(&validate_custom_resource_definition(&obj)),
            [
                "spec.versions[0].additionalPrinterColumns[0].type",
                "spec.versions[0].subresources.scale.specReplicasPath"
            ]
        );
    }

    #[test]
    fn generation_and_stored_versions_follow_the_spec() {
        let strategy = CustomResourceDefinitionStrategy;
        let mut old = crd();
        strategy.prepare_for_create(&mut old);
        assert_eq!(old["metadata"]["generation"], 1);
        assert_eq!(old["status"]["storedVersions"], json!(["v1"]));
        let mut same = crd();
        strategy.prepare_for_update(&mut same, &old);
        assert_eq!(same["metadata"]["generation"], 1);
        let mut changed = crd();
        changed["spec"]["versions"] =
            json!([{"name": "v1", "storage": false}, {"name": "v2", "storage": true}]);
        strategy.prepare_for_update(&mut changed, &old);
        assert_eq!(changed["metadata"]["generation"], 2);
        assert_eq!(changed["status"]["storedVersions"], json!(["v1", "v2"]));
    }
}
