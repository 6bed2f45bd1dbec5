//! One version of a custom resource, made from its CustomResourceDefinition at run time: the
//! [`ResourceDef`] the generic handlers and store serve it with, and the
//! [`CustomResourceStrategy`] that stands in for Go's `customresource` registry package
//! (`strategy.go`, `validator.go`, the `tableconvertor` and the scale conversion).

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::apis::since_cell;
use crate::scheme::meta::StatusCause;
use crate::scheme::schema::{field, Struct, Type, ANY_OTHER_FIELD, METADATA_DOC, OBJECT_META};
use crate::scheme::{
    group_version, invalid, set_meta, ResourceDef, Strategy, Subresource, TableColumn, ALL_VERBS,
};
use crate::util::jsonpath::Path;

use super::schema::Structural;

/// A custom object's shape as decoding sees it: typed `metadata`, and everything else kept
/// for the CRD's schema to prune, default and validate.
pub static CUSTOM_RESOURCE: Struct = Struct {
    name: "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResource",
    description: "An object of a kind a CustomResourceDefinition defines.",
    fields: &[
        field(1, "metadata", Type::Struct(&OBJECT_META), METADATA_DOC),
        field(
            2,
            ANY_OTHER_FIELD,
            Type::Any,
            "Described by the definition's schema.",
        ),
    ],
};

/// The printer column of a `date` type, and of kube's default when a version lists none.
const AGE_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// One `additionalPrinterColumns` entry, its path parsed.
struct PrinterColumn {
    column: TableColumn,
    path: Path,
}

/// `subresources.scale`: where the replica counts and the selector live.
struct ScalePaths {
    spec_replicas: Path,
    spec_replicas_text: String,
    status_replicas: Path,
    label_selector: Option<Path>,
}

// ANCHOR: custom_resource_strategy
/// What the generic store and handlers ask of one served version of a custom resource.
pub struct CustomResourceStrategy {
    group: String,
    version: String,
    /// Objects are stored in this version, whichever version they were written in.
    storage_version: String,
    /// This version's `schema.openAPIV3Schema`: the one place the structural schema applies to
    /// the version's objects (pruning and defaulting as they are decoded, validation with the
    /// rest of `validate`), and what its OpenAPI document is built from.
    pub open_api_v3_schema: Value,
    /// That schema, structural (CRD validation refused any other): `None` only for a CRD
    /// stored before this server checked schemas, whose objects are then kept as given.
    structural: Option<Structural>,
    /// Whether `/status` is served: then the main resource may not write `status`.
    status_enabled: bool,
    scale: Option<ScalePaths>,
    columns: Vec<PrinterColumn>,
    /// `status.acceptedNames.listKind`: what the version's lists are called.
    list_kind: Option<String>,
}
// ANCHOR_END: custom_resource_strategy

/// The subresources a version serves, as the static lists a [`ResourceDef`] holds.
fn subresources(status: bool, scale: bool) -> &'static [Subresource] {
    match (status, scale) {
        (false, false) => &[],
        (true, false) => &[Subresource::Status],
        (false, true) => &[Subresource::Scale],
        (true, true) => &[Subresource::Status, Subresource::Scale],
    }
}

fn strings(v: &Value) -> Vec<Cow<'static, str>> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(|s| Cow::Owned(s.to_string())))
        .collect()
}

// ANCHOR: resource_defs
/// The [`ResourceDef`] of every served version of a CRD, in the order the CRD lists them, with
/// the names the naming controller accepted (`status.acceptedNames`), as the crdHandler's
/// `getOrCreateServingInfoFor` builds its request scopes.
pub fn resource_defs(crd: &Value) -> Vec<Arc<ResourceDef>> {
    let spec = &crd["spec"];
    let names = &crd["status"]["acceptedNames"];
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    let group = text(&spec["group"]);
    let storage_version = crate::apis::apiextensions::storage_version(crd)
        .unwrap_or("")
        .to_string();
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    versions
        .iter()
        .filter(|v| v["served"] == true)
        .map(|v| {
            let version = text(&v["name"]);
            let status_enabled = v["subresources"]["status"].is_object();
            let scale = &v["subresources"]["scale"];
            let strategy = CustomResourceStrategy {
                group: group.clone(),
                version: version.clone(),
                storage_version: storage_version.clone(),
                open_api_v3_schema: v["schema"]["openAPIV3Schema"].clone(),
                structural: Structural::new(&v["schema"]["openAPIV3Schema"], "").ok(),
                status_enabled,
                scale: scale_paths(scale),
                columns: printer_columns(&v["additionalPrinterColumns"]),
                list_kind: names["listKind"]
                    .as_str()
                    .filter(|k| !k.is_empty())
                    .map(str::to_string),
            };
            Arc::new(ResourceDef {
                group: Cow::Owned(group.clone()),
                version: Cow::Owned(version),
                kind: Cow::Owned(text(&names["kind"])),
                resource: Cow::Owned(text(&names["plural"])),
                singular: Cow::Owned(text(&names["singular"])),
                namespaced: spec["scope"] == "Namespaced",
                short_names: strings(&names["shortNames"]),
                categories: strings(&names["categories"]),
                verbs: ALL_VERBS,
                schema: &CUSTOM_RESOURCE,
                selectable_fields: &[],
                subresources: subresources(status_enabled, strategy.scale.is_some()),
                strategy: Arc::new(strategy),
            })
        })
        .collect()
}
// ANCHOR_END: resource_defs

/// Where a custom resource's objects are kept below `--etcd-prefix`: under its group, so that
/// `widgets.example.com` and a built-in `widgets` could never share keys.
pub fn storage_prefix(def: &ResourceDef) -> String {
    format!("/{}/{}/", def.group, def.resource)
}

fn scale_paths(scale: &Value) -> Option<ScalePaths> {
    if !scale.is_object() {
        return None;
    }
    let path = |field: &str| Path::parse(scale[field].as_str()?).ok();
    Some(ScalePaths {
        spec_replicas: path("specReplicasPath")?,
        spec_replicas_text: scale["specReplicasPath"].as_str()?.to_string(),
        status_replicas: path("statusReplicasPath")?,
        label_selector: path("labelSelectorPath"),
    })
}

/// The columns of `kubectl get`: the version's own, or the `Age` column kube serves for a
/// version that lists none (`serveDefaultColumnsIfEmpty`).
fn printer_columns(columns: &Value) -> Vec<PrinterColumn> {
    let given: Vec<PrinterColumn> = columns
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let text = |f: &str| Cow::Owned(c[f].as_str().unwrap_or("").to_string());
            Some(PrinterColumn {
                path: Path::parse(c["jsonPath"].as_str()?).ok()?,
                column: TableColumn {
                    name: text("name"),
                    type_: text("type"),
                    format: text("format"),
                    description: text("description"),
                    priority: c["priority"].as_u64().unwrap_or(0).min(u64::from(u8::MAX)) as u8,
                },
            })
        })
        .collect();
    if !given.is_empty() || columns.as_array().is_some_and(|c| !c.is_empty()) {
        return given;
    }
    vec![PrinterColumn {
        path: Path::parse(".metadata.creationTimestamp").expect("a valid path"),
        column: TableColumn {
            type_: "date".into(),
            ..TableColumn::text("Age", AGE_DESCRIPTION, 0)
        },
    }]
}

// ANCHOR: cell_for_json_value
/// A printer cell as Go's tableconvertor makes it: `string` columns print whatever they find
/// (objects as JSON), the other types keep a value of their type, and `date` shows the age.
fn cell(type_: &str, value: Option<&Value>) -> Value {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Value::Null;
    };
    match (type_, value) {
        ("string", Value::String(s)) => json!(s),
        ("string", other) => json!(other.to_string()),
        ("integer", Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map_or(Value::Null, |i| json!(i)),
        ("number", Value::Number(n)) => n.as_f64().map_or(Value::Null, |f| json!(f)),
        ("boolean", Value::Bool(b)) => json!(b),
        ("date", Value::String(s)) => match crate::util::time::parse_rfc3339(s) {
            Some(_) => since_cell(value),
            None => json!("<invalid>"),
        },
        _ => Value::Null,
    }
}
// ANCHOR_END: cell_for_json_value

/// Everything but `metadata` (and `status`, when it has its own endpoint): what a change of
/// moves `metadata.generation`.
fn generation_content(obj: &Value, without_status: bool) -> Value {
    let mut copy = obj.clone();
    if let Some(m) = copy.as_object_mut() {
        m.remove("metadata");
        if without_status {
            m.remove("status");
        }
    }
    copy
}

impl CustomResourceStrategy {
    /// The replica count a scale subresource reads must be a non-negative 32-bit integer
    /// (`ValidateScaleSpec`).
    fn validate_scale(&self, obj: &Value) -> Vec<StatusCause> {
        let mut causes = Vec::new();
        if let Some(scale) = &self.scale {
            let path = &scale.spec_replicas_text;
            match scale.spec_replicas.find(obj) {
                None | Some(Value::Null) => {}
                Some(Value::Number(n)) if n.is_i64() => {
                    let n = n.as_i64().unwrap_or(0);
                    if n < 0 {
                        causes.push(invalid(path, &json!(n), "should be a non-negative integer"));
                    } else if n > i64::from(i32::MAX) {
                        causes.push(invalid(
                            path,
                            &json!(n),
                            &format!("should be less than or equal to {}", i32::MAX),
                        ));
                    }
                }
                Some(other) => causes.push(invalid(
                    path,
                    other,
                    &format!("{path} accessor error: {other} is not an int64"),
                )),
            }
        }
        causes
    }
}

// ANCHOR: structural_strategy
impl Strategy for CustomResourceStrategy {
    /// kube's decoder for custom resources prunes by the structural schema (its paths feed
    /// `fieldValidation`), then the defaulter fills in the schema's defaults.
    fn prune(&self, obj: &mut Value) -> Vec<String> {
        self.structural
            .as_ref()
            .map_or_else(Vec::new, |s| s.prune(obj))
    }

    fn set_defaults(&self, obj: &mut Value) {
        if let Some(s) = &self.structural {
            s.default(obj);
        }
    }
    // ANCHOR_END: structural_strategy
    fn prepare_for_create(&self, obj: &mut Value) {
        if self.status_enabled {
            if let Some(m) = obj.as_object_mut() {
                m.remove("status");
            }
        }
        set_meta(obj, "generation", json!(1));
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        if self.status_enabled {
            match old.get("status") {
                Some(s) => new["status"] = s.clone(),
                None => {
                    if let Some(m) = new.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
        }
        let generation = old["metadata"]["generation"].as_i64().unwrap_or(1);
        let changed = generation_content(new, self.status_enabled)
            != generation_content(old, self.status_enabled);
        set_meta(new, "generation", json!(generation + i64::from(changed)));
    }

    /// `customResourceValidator`: the schema's value validation, then the scale's.
    fn validate(&self, obj: &Value) -> Vec<StatusCause> {
        let mut causes = (self.structural.as_ref()).map_or_else(Vec::new, |s| s.validate(obj));
        causes.extend(self.validate_scale(obj));
        causes
    }

    /// On update the schema ratchets: what did not change is not validated again.
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<StatusCause> {
        let mut causes =
            (self.structural.as_ref()).map_or_else(Vec::new, |s| s.validate_update(new, old));
        causes.extend(self.validate_scale(new));
        causes
    }

    /// `conversion.strategy: None`: only `apiVersion` differs between versions.
    fn convert_to_storage(&self, obj: &mut Value) {
        obj["apiVersion"] = json!(group_version(&self.group, &self.storage_version));
    }

    fn convert_from_storage(&self, obj: &mut Value) {
        obj["apiVersion"] = json!(group_version(&self.group, &self.version));
    }

    fn to_scale(&self, obj: &Value) -> Value {
        let Some(scale) = &self.scale else {
            return crate::apis::apps::to_scale(obj);
        };
        let meta = &obj["metadata"];
        let count = |p: &Path| p.find(obj).and_then(Value::as_i64).unwrap_or(0);
        let selector = scale
            .label_selector
            .as_ref()
            .and_then(|p| p.find(obj))
            .and_then(Value::as_str)
            .unwrap_or("");
        json!({
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                "name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
                "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"],
            },
            "spec": {"replicas": count(&scale.spec_replicas)},
            "status": {"replicas": count(&scale.status_replicas), "selector": selector},
        })
    }

    fn set_replicas(&self, obj: &mut Value, replicas: Value) {
        match &self.scale {
            Some(scale) => {
                scale.spec_replicas.set(obj, replicas);
            }
            None => obj["spec"]["replicas"] = replicas,
        }
    }

    fn list_kind(&self) -> Option<String> {
        self.list_kind.clone()
    }

    fn table_columns(&self) -> Vec<TableColumn> {
        self.columns.iter().map(|c| c.column.clone()).collect()
    }

    fn table_cells(&self, obj: &Value) -> Vec<Value> {
        self.columns
            .iter()
            .map(|c| cell(&c.column.type_, c.path.find(obj)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd() -> Value {
        json!({"metadata": {"name": "widgets.example.com", "uid": "u1"},
               "spec": {"group": "example.com", "scope": "Namespaced",
                        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                        "versions": [
                            {"name": "v1beta1", "served": true, "storage": false,
                             "schema": {"openAPIV3Schema": {"type": "object"}}},
                            {"name": "v1", "served": true, "storage": true,
                             "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                             "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas", "labelSelectorPath": ".status.selector"}},
                             "additionalPrinterColumns": [
                                {"name": "Size", "type": "integer", "jsonPath": ".spec.size", "priority": 0},
                                {"name": "Color", "type": "string", "jsonPath": ".spec.color", "priority": 1},
                                {"name": "Ready", "type": "boolean", "jsonPath": ".status.ready"},
                                {"name": "Made", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]},
                            {"name": "v0", "served": false, "storage": false}]},
               "status": {"acceptedNames": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"], "categories": ["all"]}}})
    }

    #[test]
    fn one_def_per_served_version_with_the_accepted_names() {
        let defs = resource_defs(&crd());
        let versions: Vec<&str> = defs.iter().map(|d| &*d.version).collect();
        assert_eq!(versions, ["v1beta1", "v1"]);
        let v1 = &defs[1];
        assert_eq!(
            (&*v1.kind, &*v1.resource, v1.namespaced),
            ("Widget", "widgets", true)
        );
        assert_eq!(v1.short_names, ["wd"]);
        assert_eq!(v1.subresources, [Subresource::Status, Subresource::Scale]);
        assert!(defs[0].subresources.is_empty());
        assert_eq!(storage_prefix(v1), "/example.com/widgets/");
    }

    #[test]
    fn versions_share_storage_in_the_storage_version() {
        let defs = resource_defs(&crd());
        let mut obj = json!({"apiVersion": "example.com/v1beta1", "kind": "Widget"});
        defs[0].strategy.convert_to_storage(&mut obj);
        assert_eq!(obj["apiVersion"], "example.com/v1");
        defs[0].strategy.convert_from_storage(&mut obj);
        assert_eq!(obj["apiVersion"], "example.com/v1beta1");
    }

    #[test]
    fn printer_columns_become_typed_cells() {
        let defs = resource_defs(&crd());
        let strategy = &defs[1].strategy;
        let names: Vec<String> = strategy
            .table_columns()
            .iter()
            .map(|c| format!("{}:{}:{}", c.name, c.type_, c.priority))
            .collect();
        assert_eq!(
            names,
            [
                "Size:integer:0",
                "Color:string:1",
                "Ready:boolean:0",
                "Made:date:0"
            ]
        );
        let obj = json!({"metadata": {"creationTimestamp": "2020-01-01T00:00:00Z"},
                         "spec": {"size": 3.0, "color": {"r": 1}}, "status": {}});
        let cells = strategy.table_cells(&obj);
        assert_eq!(cells[0], json!(3));
        assert_eq!(cells[1], json!("{\"r\":1}"));
        assert_eq!(cells[2], Value::Null);
        assert_eq!(cells[3], since_cell(&json!("2020-01-01T00:00:00Z")));
        let age = defs[0].strategy.table_columns();
        assert_eq!((&*age[0].name, &*age[0].type_), ("Age", "date"));
    }

    #[test]
    fn status_is_the_subresources_and_generation_counts_the_rest() {
        let defs = resource_defs(&crd());
        let strategy = &defs[1].strategy;
        let mut obj = json!({"metadata": {}, "spec": {"size": 1}, "status": {"ready": true}});
        strategy.prepare_for_create(&mut obj);
        assert!(obj.get("status").is_none());
        assert_eq!(obj["metadata"]["generation"], 1);
        let old =
            json!({"metadata": {"generation": 1}, "spec": {"size": 1}, "status": {"ready": true}});
        let mut status_only =
            json!({"metadata": {}, "spec": {"size": 1}, "status": {"ready": false}});
        strategy.prepare_for_update(&mut status_only, &old);
        assert_eq!(status_only["status"]["ready"], true);
        assert_eq!(status_only["metadata"]["generation"], 1);
        let mut spec = json!({"metadata": {}, "spec": {"size": 2}});
        strategy.prepare_for_update(&mut spec, &old);
        assert_eq!(spec["metadata"]["generation"], 2);
    }

    #[test]
    fn scale_reads_and_writes_the_declared_paths() {
        let defs = resource_defs(&crd());
        let strategy = &defs[1].strategy;
        let mut obj = json!({"metadata": {"name": "w"}, "spec": {"replicas": 2},
                             "status": {"replicas": 1, "selector": "app=w"}});
        let scale = strategy.to_scale(&obj);
        assert_eq!(scale["spec"]["replicas"], 2);
        assert_eq!(scale["status"], json!({"replicas": 1, "selector": "app=w"}));
        strategy.set_replicas(&mut obj, json!(5));
        assert_eq!(obj["spec"]["replicas"], 5);
        obj["spec"]["replicas"] = json!(-1);
        assert_eq!(strategy.validate(&obj)[0].field, ".spec.replicas");
        obj["spec"]["replicas"] = json!("two");
        assert_eq!(strategy.validate(&obj).len(), 1);
    }
}
