//! Stage 1: resource registration (book chapter 1, `ch01-scheme.md`).
//!
//! Mirrors `legacyscheme.Scheme`, `legacyscheme.Codecs` and `legacyscheme.ParameterCodec` in
//! `k8s.io/kubernetes/pkg/api/legacyscheme`, and the `AddToScheme` functions every API group
//! package calls from an `init()`. In Go the Scheme maps Go types to group/version/kind; here
//! objects are JSON values, so a [`ResourceDef`] carries what the Go type would: its kind and
//! resource names, scope, verbs, the fields it knows, and the [`Strategy`] that defaults,
//! validates and prints it.
//!
//! - [`meta`]: `Status` and the API errors built from it.
//! - [`codec`]: reading request bodies and choosing a response media type (`Codecs`).
//! - [`parameter_codec`]: query strings to list/get/delete options (`ParameterCodec`).
//! - [`protobuf`]: protobuf request bodies, read into JSON.
//! - [`schema`]: each kind's fields, types, protobuf numbers and list semantics, described once.
//! - [`selector`]: label and field selectors.
//! - [`strict_json`]: JSON read with the keys an object repeats noted, for strict decoding.
//! - [`yaml`]: YAML read into JSON and written from it, as `sigs.k8s.io/yaml` does.

pub mod codec;
pub mod meta;
pub mod parameter_codec;
pub mod protobuf;
pub mod schema;
pub mod selector;
pub mod strict_json;
pub mod yaml;

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::Value;

use meta::{StatusCause, StatusError};

/// The verbs of a resource that stores objects and supports every list operation.
pub const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// One column of a `meta.k8s.io/v1` Table, as the Go printers declare them.
#[derive(Clone, Debug)]
pub struct TableColumn {
    pub name: Cow<'static, str>,
    pub type_: Cow<'static, str>,
    pub format: Cow<'static, str>,
    pub description: Cow<'static, str>,
    /// 0 for `kubectl get`, 1 for columns that only `-o wide` shows.
    pub priority: u8,
}

impl TableColumn {
    /// A string column, the kind almost every printer column is.
    pub const fn text(name: &'static str, description: &'static str, priority: u8) -> TableColumn {
        TableColumn {
            name: Cow::Borrowed(name),
            type_: Cow::Borrowed("string"),
            format: Cow::Borrowed(""),
            description: Cow::Borrowed(description),
            priority,
        }
    }
}

/// What kube-apiserver spreads over a type's defaulting functions, its registry strategy
/// (`PrepareForCreate`, `Validate`, ...) and its table printer.
pub trait Strategy: Send + Sync {
    /// The rule `metadata.name` must follow (`ValidateObjectMeta`'s name function).
    fn name_rule(&self) -> crate::apis::validation::NameRule {
        crate::apis::validation::NameRule::Subdomain
    }
    /// `SetDefaults_<Kind>`: what Go's decoder fills in as it reads a body. The handlers call
    /// it right after decoding, before they record managedFields, so that the writer owns the
    /// defaults as in Go; the store calls it again for writes from inside the server.
    fn set_defaults(&self, _obj: &mut Value) {}
    /// Drops the fields the kind's schema does not know, beyond what decoding into the kind's
    /// [`schema::Struct`] already dropped, and returns their paths. Custom resources prune by
    /// their structural schema here, as kube's decoder does for them.
    fn prune(&self, _obj: &mut Value) -> Vec<String> {
        Vec::new()
    }
    /// Clearing of fields a client may not set, before admission and validation.
    fn prepare_for_create(&self, _obj: &mut Value) {}
    /// On update: carry over what the client may not change (for example `status`).
    fn prepare_for_update(&self, _new: &mut Value, _old: &Value) {}
    /// Field errors of the kind's own fields; object metadata is validated by the registry.
    fn validate(&self, obj: &Value) -> Vec<StatusCause>;
    /// Extra checks of an update against the stored object (immutability).
    fn validate_update(&self, new: &Value, _old: &Value) -> Vec<StatusCause> {
        self.validate(new)
    }
    /// The object in the version storage keeps, from this version, and back. Go converts
    /// every version through the kind's internal type and stores one version; here a kind is
    /// stored as its own version, except `events.k8s.io/v1` Event, stored as core/v1 Event so
    /// that both views read and write the same objects.
    fn convert_to_storage(&self, _obj: &mut Value) {}
    fn convert_from_storage(&self, _obj: &mut Value) {}
    /// Whether a delete answers with the deleted object rather than a `Status` (the Go store's
    /// `ReturnDeletedObject`, which pods and services set).
    fn return_deleted_object(&self) -> bool {
        false
    }
    /// Whether the Table starts with the Name column. Events' printer shows the name last, and
    /// only with `-o wide`, so their strategy says no and lists a Name column of its own.
    fn name_column_first(&self) -> bool {
        true
    }
    /// The kind of a list of these objects, when it is not `<Kind>List`: a CRD may name it
    /// (`spec.names.listKind`).
    fn list_kind(&self) -> Option<String> {
        None
    }

    /// The `autoscaling/v1` Scale of an object, for `/scale`. The default is the layout of the
    /// built-in scalable kinds: `spec.replicas`, `status.replicas`, `spec.selector`.
    fn to_scale(&self, obj: &Value) -> Value {
        crate::apis::apps::to_scale(obj)
    }
    /// Writes the replica count a Scale asks for into the object.
    fn set_replicas(&self, obj: &mut Value, replicas: Value) {
        obj["spec"]["replicas"] = replicas;
    }

    /// Columns after `Name` in the Table view (`kubectl get`).
    fn table_columns(&self) -> Vec<TableColumn>;
    /// The cells for those columns.
    fn table_cells(&self, obj: &Value) -> Vec<Value>;
}

/// A registered kind and the resource that serves it.
///
/// Built-in kinds are described once, at start, from constants; a custom resource's definition
/// is made at run time from its CustomResourceDefinition and dropped with it. So the names are
/// `Cow`s: borrowed for the first, owned for the second, and nothing is leaked per CRD.
pub struct ResourceDef {
    pub group: Cow<'static, str>,
    pub version: Cow<'static, str>,
    pub kind: Cow<'static, str>,
    /// The plural, lower-case resource name in URLs: `configmaps`.
    pub resource: Cow<'static, str>,
    pub singular: Cow<'static, str>,
    pub namespaced: bool,
    pub short_names: Vec<Cow<'static, str>>,
    pub categories: Vec<Cow<'static, str>>,
    pub verbs: &'static [&'static str],
    /// The kind's fields: what decoding keeps (unknown fields are dropped, or refused when the
    /// client asks for strict field validation, as decoding into a Go struct would), protobuf
    /// numbers, list merge semantics and the descriptions OpenAPI serves.
    pub schema: &'static schema::Struct,
    /// Fields a `fieldSelector` may name besides `metadata.name` and `metadata.namespace`: the
    /// kind's `GetAttrs`/`SelectableFields` in kube-apiserver (`type` for secrets).
    pub selectable_fields: &'static [&'static str],
    /// The subresources served under each object's path.
    pub subresources: &'static [Subresource],
    pub strategy: Arc<dyn Strategy>,
}

/// A subresource: a second view of an object at `<object>/<name>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subresource {
    /// `/status`: reads the object, writes only its `status` (the main resource writes all but
    /// it), so controllers and users do not overwrite each other.
    Status,
    /// `/scale`: an `autoscaling/v1` Scale, the replica count alone, for `kubectl scale` and
    /// autoscalers.
    Scale,
}

impl Subresource {
    pub const VERBS: &'static [&'static str] = &["get", "patch", "update"];

    pub fn name(self) -> &'static str {
        match self {
            Subresource::Status => "status",
            Subresource::Scale => "scale",
        }
    }

    /// The group, version and kind of its body; for `status`, the parent's kind in the
    /// parent's group/version, which discovery writes as an empty group and version.
    pub fn response_kind(self, def: &ResourceDef) -> (&str, &str, &str) {
        match self {
            Subresource::Status => ("", "", &def.kind),
            Subresource::Scale => ("autoscaling", "v1", "Scale"),
        }
    }
}

/// Names known at compile time, as a [`ResourceDef`]'s `short_names` or `categories`.
pub fn names(list: &[&'static str]) -> Vec<Cow<'static, str>> {
    list.iter().map(|n| Cow::Borrowed(*n)).collect()
}

impl ResourceDef {
    /// `v1` for the core group, `group/version` otherwise: the `apiVersion` of its objects.
    pub fn api_version(&self) -> String {
        group_version(&self.group, &self.version)
    }

    pub fn list_kind(&self) -> String {
        self.strategy
            .list_kind()
            .unwrap_or_else(|| format!("{}List", self.kind))
    }

    pub fn group_resource(&self) -> meta::GroupResource<'_> {
        meta::GroupResource {
            group: &self.group,
            resource: &self.resource,
        }
    }

    /// The key prefix under the `--etcd-prefix` root, as kube-apiserver lays out etcd:
    /// `/configmaps/`, but `/apiextensions.k8s.io/customresourcedefinitions/` for the two groups
    /// whose servers were once separate binaries.
    pub fn storage_prefix(&self) -> String {
        let group = match &*self.group {
            "apiextensions.k8s.io" | "apiregistration.k8s.io" => format!("{}/", self.group),
            _ => String::new(),
        };
        format!("/{group}{}/", self.resource)
    }
}

/// `v1` or `apps/v1`.
pub fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

// ANCHOR: scheme
/// The registry of every kind the server knows, filled by each API group's `add_to_scheme`.
#[derive(Default)]
pub struct Scheme {
    resources: Vec<Arc<ResourceDef>>,
}

impl Scheme {
    /// `scheme.AddKnownTypes`: registers one kind. Registering a kind twice is a programming error.
    pub fn add_known_type(&mut self, def: ResourceDef) {
        assert!(
            self.lookup(&def.group, &def.version, &def.resource)
                .is_none(),
            "{}/{} registered twice",
            def.api_version(),
            def.resource
        );
        self.resources.push(Arc::new(def));
    }

    /// The resource at `/apis/<group>/<version>/<resource>`.
    pub fn lookup(&self, group: &str, version: &str, resource: &str) -> Option<Arc<ResourceDef>> {
        self.resources
            .iter()
            .find(|r| r.group == group && r.version == version && r.resource == resource)
            .cloned()
    }

    /// Every resource of one group/version, in registration order (the order of discovery).
    pub fn resources_of(&self, group: &str, version: &str) -> Vec<Arc<ResourceDef>> {
        self.resources
            .iter()
            .filter(|r| r.group == group && r.version == version)
            .cloned()
            .collect()
    }

    /// The group/versions that have kinds, in registration order.
    pub fn group_versions(&self) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = Vec::new();
        for r in &self.resources {
            if !out.contains(&(&r.group, &r.version)) {
                out.push((&r.group, &r.version));
            }
        }
        out
    }
}
// ANCHOR_END: scheme

/// The object's `metadata` map, if it has one.
pub fn metadata(obj: &Value) -> Option<&serde_json::Map<String, Value>> {
    obj.get("metadata").and_then(Value::as_object)
}

/// A string field of `metadata` (`name`, `namespace`, `resourceVersion`...), or "".
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    metadata(obj)
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Sets a field of `metadata`, creating the map if the object had none.
pub fn set_meta(obj: &mut Value, field: &str, value: Value) {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = Value::Object(Default::default());
    }
    obj["metadata"][field] = value;
}

/// A field error as `field.Invalid` makes it.
pub fn invalid(field: &str, value: &Value, detail: &str) -> StatusCause {
    let shown = match value {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    StatusCause {
        reason: "FieldValueInvalid".into(),
        message: format!("Invalid value: {shown}: {detail}"),
        field: field.into(),
    }
}

/// Drops the metadata fields that are empty, as encoding a Go `ObjectMeta` does: all of them are
/// `omitempty`, so `"annotations": {}` in a patch leaves no `annotations` behind.
pub fn drop_empty_meta(obj: &mut Value) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.retain(|_, v| match v {
            Value::Null => false,
            Value::Object(m) => !m.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::String(s) => !s.is_empty(),
            _ => true,
        });
    }
}

/// A field error as `field.Forbidden` makes it.
pub fn forbidden(field: &str, detail: &str) -> StatusCause {
    StatusCause {
        reason: "FieldValueForbidden".into(),
        message: format!("Forbidden: {detail}"),
        field: field.into(),
    }
}

/// A field error as `field.NotSupported` makes it.
pub fn not_supported(field: &str, value: &str, supported: &[&str]) -> StatusCause {
    let quoted: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
    StatusCause {
        reason: "FieldValueNotSupported".into(),
        message: format!(
            "Unsupported value: {value:?}: supported values: {}",
            quoted.join(", ")
        ),
        field: field.into(),
    }
}

/// A field error as `field.Duplicate` makes it.
pub fn duplicate(field: &str, value: &Value) -> StatusCause {
    StatusCause {
        reason: "FieldValueDuplicate".into(),
        message: format!("Duplicate value: {value}"),
        field: field.into(),
    }
}

/// A field error as `field.Required` makes it.
pub fn required(field: &str, detail: &str) -> StatusCause {
    StatusCause {
        reason: "FieldValueRequired".into(),
        message: if detail.is_empty() {
            "Required value".into()
        } else {
            format!("Required value: {detail}")
        },
        field: field.into(),
    }
}

/// Lets callers turn causes into the 422 for one object.
pub fn invalid_error(def: &ResourceDef, name: &str, causes: Vec<StatusCause>) -> StatusError {
    StatusError::invalid(&def.group, &def.kind, name, causes)
}
