//! The shape of each kind, described once: what a Go struct and its tags tell kube-apiserver.
//!
//! In Go one struct declaration carries a kind's field names (`json:"..."`), its protobuf
//! numbers (`protobuf:"bytes,1,opt,name=..."`), its merge behaviour (`patchStrategy`,
//! `patchMergeKey`, `+listType`, `+listMapKeys`) and, through its comments, the descriptions that
//! `kubectl explain` prints. Here a [`Struct`] is that declaration as data, and everything that
//! needs those facts reads it:
//!
//! - decoding ([`check`]): unknown fields (dropped, warned about, or refused under
//!   `fieldValidation=Strict`) and values of the wrong JSON type (a 400, as from Go's decoder);
//! - [`super::protobuf`]: field numbers;
//! - strategic merge patch and server-side apply: [`list_type_at`];
//! - `/openapi/v3`: types and descriptions (`crate::prepare::openapi`).

use serde_json::Value;

/// How a list merges: `x-kubernetes-list-type` and, for strategic merge patch, the merge key
/// (the first of the map keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListType {
    /// Replaced as a whole.
    Atomic,
    /// A list of scalars merged as a set (`finalizers`).
    Set,
    /// Elements identified by these fields (`containers` by `name`).
    Map(&'static [&'static str]),
}

/// The type of one field.
#[derive(Clone, Copy, Debug)]
pub enum Type {
    String,
    /// Any Go integer; zero is Go's empty value and is left out of protobuf-decoded objects.
    Integer,
    Boolean,
    /// `metav1.Time`: RFC 3339 in JSON.
    Time,
    /// `[]byte`: base64 in JSON.
    Bytes,
    /// `intstr.IntOrString`: `80` or `"http"`.
    IntOrString,
    /// `resource.Quantity`: `"500m"`, `"1Gi"` (or a bare number).
    Quantity,
    /// A pointer (`*int32`, `*bool`): a zero value is still a value, kept when decoded.
    Pointer(&'static Type),
    Struct(&'static Struct),
    /// `map[string]T`.
    Map(&'static Type),
    List(&'static Type, ListType),
    /// Any JSON, kept as given: parts of a kind this server stores but does not interpret.
    Any,
}

/// One named Go struct.
#[derive(Debug)]
pub struct Struct {
    /// The OpenAPI definition name: `io.k8s.api.core.v1.Container`.
    pub name: &'static str,
    pub description: &'static str,
    pub fields: &'static [Field],
}

/// The structs whose Go types are marked `+structType=atomic`: server-side apply replaces one
/// whole and owns it as a single field (`f:selector: {}`), and OpenAPI says
/// `x-kubernetes-map-type: atomic`.
const ATOMIC_STRUCTS: &[&str] = &[
    "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
    "io.k8s.api.core.v1.ObjectReference",
];

impl Struct {
    pub fn is_atomic(&self) -> bool {
        ATOMIC_STRUCTS.contains(&self.name)
    }

    /// The short Go name (`Container`), which error messages and `kubectl explain` show.
    pub fn short_name(&self) -> &'static str {
        self.name.rsplit('.').next().unwrap_or(self.name)
    }

    /// Whether the struct has an [`ANY_OTHER_FIELD`]: then no Go struct describes it, and it
    /// has no protobuf form.
    pub fn is_open(&self) -> bool {
        self.fields.iter().any(|f| f.name == ANY_OTHER_FIELD)
    }

    /// The field of that name, or the struct's [`ANY_OTHER_FIELD`] if it has one.
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        let named = |n: &str| self.fields.iter().find(|f| f.name == n);
        named(name).or_else(|| named(ANY_OTHER_FIELD))
    }
}

/// A field of this name stands for every field its struct does not name. Only a custom
/// resource's top level has one: what lies beside `metadata` there is described by its CRD's
/// schema, not by a Go struct, so decoding keeps it and leaves it to that schema.
pub const ANY_OTHER_FIELD: &str = "*";

/// One field of a struct.
#[derive(Debug)]
pub struct Field {
    /// The protobuf field number.
    pub number: u64,
    /// The JSON name.
    pub name: &'static str,
    pub type_: Type,
    pub description: &'static str,
}

/// A field, in the order its `protobuf:` tag lists the facts.
pub const fn field(
    number: u64,
    name: &'static str,
    type_: Type,
    description: &'static str,
) -> Field {
    Field {
        number,
        name,
        type_,
        description,
    }
}

/// What `kubectl explain` says of every kind's `metadata`.
pub const METADATA_DOC: &str =
    "Standard object's metadata: name, namespace, labels, annotations and what the server records.";

pub const STRING_MAP: Type = Type::Map(&Type::String);
pub const STRING_LIST: Type = Type::List(&Type::String, ListType::Atomic);

// ANCHOR: object_meta_schema
/// `metav1.ObjectMeta`, which every kind has under `metadata`.
pub static OBJECT_META: Struct = Struct {
    name: "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
    description: "Metadata all persisted resources have: name, namespace, labels, annotations, and what the server records.",
    fields: &[
        field(1, "name", Type::String, "Unique within a namespace; cannot be changed."),
        field(2, "generateName", Type::String, "A prefix from which the server generates a unique name when name is empty."),
        field(3, "namespace", Type::String, "The namespace the object lives in; empty for cluster-scoped kinds."),
        field(4, "selfLink", Type::String, "Deprecated and never set."),
        field(5, "uid", Type::String, "Unique in time and space; set by the server on create."),
        field(6, "resourceVersion", Type::String, "The storage revision of the last change, for optimistic concurrency and watches."),
        field(7, "generation", Type::Integer, "A sequence number of changes to the desired state, set by the server."),
        field(8, "creationTimestamp", Type::Time, "When the server created the object."),
        field(9, "deletionTimestamp", Type::Time, "When deletion was requested, while finalizers keep the object."),
        field(10, "deletionGracePeriodSeconds", Type::Integer, "Seconds allowed for graceful termination."),
        field(11, "labels", STRING_MAP, "Keys and values that selectors match."),
        field(12, "annotations", STRING_MAP, "Keys and values for tools; not used in selection."),
        field(13, "ownerReferences", Type::List(&Type::Struct(&OWNER_REFERENCE), ListType::Map(&["uid"])), "Objects this one depends on; the garbage collector deletes it after them."),
        field(14, "finalizers", Type::List(&Type::String, ListType::Set), "What must happen before the object is removed from storage."),
        field(17, "managedFields", Type::List(&Type::Struct(&MANAGED_FIELDS_ENTRY), ListType::Atomic), "Which manager owns which fields (server-side apply)."),
    ],
};
// ANCHOR_END: object_meta_schema

pub static OWNER_REFERENCE: Struct = Struct {
    name: "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference",
    description: "Identifies an owning object.",
    fields: &[
        field(5, "apiVersion", Type::String, "API version of the owner."),
        field(1, "kind", Type::String, "Kind of the owner."),
        field(3, "name", Type::String, "Name of the owner."),
        field(4, "uid", Type::String, "UID of the owner."),
        field(
            6,
            "controller",
            Type::Pointer(&Type::Boolean),
            "Whether the owner is the managing controller.",
        ),
        field(
            7,
            "blockOwnerDeletion",
            Type::Pointer(&Type::Boolean),
            "Whether the owner waits for this object's deletion in foreground deletion.",
        ),
    ],
};

pub static MANAGED_FIELDS_ENTRY: Struct = Struct {
    name: "io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry",
    description: "The fields one manager owns, and how it last wrote them.",
    fields: &[
        field(
            1,
            "manager",
            Type::String,
            "The field manager: kubectl, kubectl-client-side-apply, ...",
        ),
        field(2, "operation", Type::String, "Apply or Update."),
        field(
            3,
            "apiVersion",
            Type::String,
            "The version the fields are described in.",
        ),
        field(
            4,
            "time",
            Type::Time,
            "When the manager last changed its fields.",
        ),
        field(6, "fieldsType", Type::String, "Always FieldsV1."),
        field(7, "fieldsV1", Type::Any, "The set of owned fields."),
        field(
            8,
            "subresource",
            Type::String,
            "The subresource written, if any.",
        ),
    ],
};

/// `metav1.LabelSelector`.
pub static LABEL_SELECTOR: Struct = Struct {
    name: "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
    description: "A label query: matchLabels and matchExpressions, ANDed.",
    fields: &[
        field(
            1,
            "matchLabels",
            STRING_MAP,
            "Labels that must have exactly these values.",
        ),
        field(
            2,
            "matchExpressions",
            Type::List(&Type::Struct(&LABEL_SELECTOR_REQUIREMENT), ListType::Atomic),
            "Requirements on labels: In, NotIn, Exists, DoesNotExist.",
        ),
    ],
};

pub static LABEL_SELECTOR_REQUIREMENT: Struct = Struct {
    name: "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement",
    description: "One requirement of a label selector.",
    fields: &[
        field(1, "key", Type::String, "The label key."),
        field(
            2,
            "operator",
            Type::String,
            "In, NotIn, Exists or DoesNotExist.",
        ),
        field(3, "values", STRING_LIST, "The values for In and NotIn."),
    ],
};

/// A field of the wrong type or one the kind does not have, as decoding into Go structs finds it.
#[derive(Debug, Default)]
pub struct Problems {
    /// Paths of unknown fields (`spec.template.spec.containers[0].imagee`).
    pub unknown: Vec<String>,
    /// The first value whose JSON type is wrong, in the words of Go's `encoding/json`.
    pub type_error: Option<String>,
}

// ANCHOR: schema_check
/// Walks `obj` against `schema`: drops unknown fields (reporting their paths) and notes the
/// first value of the wrong type. `apiVersion` and `kind` are the caller's business.
pub fn check(obj: &mut serde_json::Map<String, Value>, schema: &Struct, problems: &mut Problems) {
    check_struct(obj, schema, "", problems);
}

fn check_struct(
    obj: &mut serde_json::Map<String, Value>,
    schema: &Struct,
    path: &str,
    problems: &mut Problems,
) {
    obj.retain(|name, value| {
        let here = join(path, name);
        match schema.field(name) {
            Some(f) => {
                check_value(value, &f.type_, schema, &here, problems);
                true
            }
            None if path.is_empty() && (name == "apiVersion" || name == "kind") => true,
            None => {
                problems.unknown.push(here);
                false
            }
        }
    });
}

fn check_value(
    value: &mut Value,
    type_: &Type,
    parent: &Struct,
    path: &str,
    problems: &mut Problems,
) {
    if value.is_null() {
        return;
    }
    let ok = match (type_, &mut *value) {
        (Type::Any, _) => true,
        (Type::String | Type::Time | Type::Bytes, Value::String(_)) => true,
        (Type::Integer, Value::Number(n)) => n.is_i64() || n.is_u64(),
        (Type::Boolean, Value::Bool(_)) => true,
        (Type::IntOrString, Value::String(_)) => true,
        (Type::IntOrString, Value::Number(n)) => n.is_i64(),
        (Type::Quantity, Value::String(_) | Value::Number(_)) => true,
        (Type::Pointer(inner), _) => {
            check_value(value, inner, parent, path, problems);
            true
        }
        (Type::Struct(s), Value::Object(m)) => {
            check_struct(m, s, path, problems);
            true
        }
        (Type::Map(inner), Value::Object(m)) => {
            for (k, v) in m.iter_mut() {
                check_value(v, inner, parent, &format!("{path}[{k}]"), problems);
            }
            true
        }
        (Type::List(inner, _), Value::Array(items)) => {
            for (i, v) in items.iter_mut().enumerate() {
                check_value(v, inner, parent, &format!("{path}[{i}]"), problems);
            }
            true
        }
        _ => false,
    };
    if !ok && problems.type_error.is_none() {
        problems.type_error = Some(format!(
            "json: cannot unmarshal {} into Go struct field {}.{} of type {}",
            json_type(value),
            parent.short_name(),
            without_indices(path),
            go_type(type_)
        ));
    }
}
// ANCHOR_END: schema_check

/// Go names a field by its path of field names, without list positions or map keys.
fn without_indices(path: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// The word `encoding/json` uses for a JSON value's type.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The Go type as `encoding/json` names it in an error.
fn go_type(t: &Type) -> String {
    match t {
        Type::String => "string".into(),
        Type::Integer => "int32".into(),
        Type::Boolean => "bool".into(),
        Type::Time => "v1.Time".into(),
        Type::Bytes => "[]uint8".into(),
        Type::IntOrString => "intstr.IntOrString".into(),
        Type::Quantity => "resource.Quantity".into(),
        Type::Pointer(inner) => go_type(inner),
        Type::Struct(s) => format!("v1.{}", s.short_name()),
        Type::Map(inner) => format!("map[string]{}", go_type(inner)),
        Type::List(inner, _) => format!("[]{}", go_type(inner)),
        Type::Any => "interface {}".into(),
    }
}

/// The type at a path of field names (`spec.template.spec.containers`), lists and maps stepped
/// through: what strategic merge patch and server-side apply ask of a list they meet.
pub fn type_at(schema: &'static Struct, path: &[&str]) -> Option<&'static Type> {
    let (first, rest) = path.split_first()?;
    let mut current = &schema.field(first)?.type_;
    for name in rest {
        current = step(current, name)?;
    }
    Some(current)
}

fn step(t: &'static Type, name: &str) -> Option<&'static Type> {
    match t {
        Type::Struct(s) => s.field(name).map(|f| &f.type_),
        Type::Pointer(inner) | Type::List(inner, _) => step(inner, name),
        Type::Map(inner) => Some(inner),
        _ => None,
    }
}

/// How the list at `path` merges; anything that is not a declared list is atomic.
pub fn list_type_at(schema: &'static Struct, path: &[&str]) -> ListType {
    match type_at(schema, path) {
        Some(Type::List(_, list_type)) => *list_type,
        _ => ListType::Atomic,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    static THING: Struct = Struct {
        name: "io.k8s.api.test.v1.Thing",
        description: "",
        fields: &[
            field(1, "metadata", Type::Struct(&OBJECT_META), ""),
            field(2, "count", Type::Pointer(&Type::Integer), ""),
            field(
                3,
                "items",
                Type::List(&Type::Struct(&LABEL_SELECTOR), ListType::Map(&["key"])),
                "",
            ),
        ],
    };

    #[test]
    fn unknown_fields_are_dropped_with_their_paths() {
        let mut obj = json!({"apiVersion": "v1", "kind": "Thing", "metadata": {"name": "a", "nmae": "b"},
                             "items": [{"matchLabels": {"a": "b"}, "extra": 1}], "other": true});
        let mut problems = Problems::default();
        check(obj.as_object_mut().unwrap(), &THING, &mut problems);
        assert_eq!(
            problems.unknown,
            ["items[0].extra", "metadata.nmae", "other"]
        );
        assert_eq!(
            obj,
            json!({"apiVersion": "v1", "kind": "Thing", "metadata": {"name": "a"}, "items": [{"matchLabels": {"a": "b"}}]})
        );
        assert!(problems.type_error.is_none());
    }

    #[test]
    fn a_wrong_type_reads_like_go() {
        let mut obj = json!({"count": "three", "metadata": {"labels": {"a": 1}}});
        let mut problems = Problems::default();
        check(obj.as_object_mut().unwrap(), &THING, &mut problems);
        assert_eq!(
            problems.type_error.as_deref(),
            Some("json: cannot unmarshal string into Go struct field Thing.count of type int32")
        );
    }

    #[test]
    fn list_types_by_path() {
        assert_eq!(list_type_at(&THING, &["items"]), ListType::Map(&["key"]));
        assert_eq!(
            list_type_at(&THING, &["metadata", "finalizers"]),
            ListType::Set
        );
        assert_eq!(
            list_type_at(&THING, &["items", "matchExpressions"]),
            ListType::Atomic
        );
        assert_eq!(list_type_at(&THING, &["nothing", "here"]), ListType::Atomic);
    }
}
