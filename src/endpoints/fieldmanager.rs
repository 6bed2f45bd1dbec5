//! Server-side apply and `metadata.managedFields`: who owns which field of an object.
//!
//! [`FieldSet`] is `sigs.k8s.io/structured-merge-diff/v4/fieldpath`'s `Set` with its `fieldsV1`
//! form (`serialize.go`, `serialize-pe.go`) and printed paths (`element.go`). [`apply`] and
//! [`update`] are that module's `typed` walks (`tofieldset.go`, `compare.go`, `merge.go`,
//! `remove.go`) driven as `merge/update.go` drives them. The entries' wire format, the stripped
//! metadata and the 409 text come from `k8s.io/apimachinery/pkg/util/managedfields/internal`
//! (`managedfields.go`, `stripmeta.go`, `conflict.go`, `managedfieldsupdater.go`), which
//! `k8s.io/apiserver/pkg/endpoints/handlers/fieldmanager` wraps for the handlers. Go reads list
//! types and struct fields from OpenAPI; a [`Schema`] gives only list types, so every JSON object
//! is a map of fields here.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

pub use crate::scheme::schema::ListType;
use crate::scheme::schema::{self, Struct};

/// The schema knowledge apply needs.
pub trait Schema {
    /// The list type at a field path (field names from the root, list positions left out).
    fn list_type(&self, path: &[&str]) -> ListType;
    /// The kind's `GetResetFields` on this endpoint as dotted paths, e.g. `["status"]` on the
    /// main resource of a kind with a status subresource. Go passes them to the updater as
    /// `IgnoredFields`: the strategy overwrites them anyway, so nobody owns or conflicts on them.
    fn reset_fields(&self) -> &'static [&'static str] {
        &[]
    }
    /// Whether an object at this path may be absent (a map, or a struct behind a pointer), so
    /// that an update which brings it into being owns it, and not only what is inside. A plain
    /// struct field always exists in Go's typed object, so nobody owns its existence.
    fn may_be_absent(&self, _path: &[&str]) -> bool {
        false
    }
    /// Whether the object at this path is one value (a Go struct marked `+structType=atomic`,
    /// like `LabelSelector`): owned as a whole, and replaced whole by an apply.
    fn is_atomic(&self, _path: &[&str]) -> bool {
        false
    }
}

/// A kind's [`Struct`] on one endpoint: list types from the schema, and the fields that
/// endpoint's strategy resets (`status` on the main resource of a kind with a status
/// subresource, everything but `status` on `/status`).
pub struct KindSchema {
    pub schema: &'static Struct,
    pub reset: &'static [&'static str],
}

impl Schema for KindSchema {
    fn list_type(&self, path: &[&str]) -> ListType {
        schema::list_type_at(self.schema, path)
    }

    fn reset_fields(&self) -> &'static [&'static str] {
        self.reset
    }

    fn may_be_absent(&self, path: &[&str]) -> bool {
        matches!(
            schema::type_at(self.schema, path),
            Some(schema::Type::Map(_) | schema::Type::Pointer(_))
        )
    }

    fn is_atomic(&self, path: &[&str]) -> bool {
        let mut t = schema::type_at(self.schema, path);
        while let Some(schema::Type::Pointer(inner)) = t {
            t = Some(inner);
        }
        matches!(t, Some(schema::Type::Struct(s)) if s.is_atomic())
    }
}

/// Owned by nobody (`stripmeta.go`): identity and bookkeeping the server writes. Go's list has
/// no `deletionTimestamp`, so neither has this one.
const STRIPPED: &str = "apiVersion kind metadata metadata.name metadata.namespace \
    metadata.creationTimestamp metadata.selfLink metadata.uid metadata.clusterName \
    metadata.generation metadata.managedFields metadata.resourceVersion";

/// A set of field paths, as `fieldpath.Set`. A path is a list of `fieldsV1` path elements kept
/// serialized: `f:name` (a field), `k:{"name":"nginx"}` (a list-map element), `v:"x"` (a set
/// value), `i:0` (an element by position). Canonical strings make equal elements equal, so the
/// set algebra is `BTreeSet`'s.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldSet(BTreeSet<Vec<String>>);

impl FieldSet {
    /// Every leaf the object sets and every list-map or set element (an element's existence is
    /// owned in itself), minus the stripped metadata and the kind's reset fields. An empty map
    /// or list is a leaf, as `Compare` treats it, so whoever sends `labels: {}` owns it.
    pub fn from_object(obj: &Value, schema: &dyn Schema) -> FieldSet {
        FieldSet(nodes(obj, schema).into_keys().collect())
    }

    /// The `fieldsV1` tree: a path that is a member and also has children gets a `.` child.
    pub fn to_fields_v1(&self) -> Value {
        #[derive(Default)]
        struct Tree(bool, BTreeMap<String, Tree>);
        fn json(Tree(member, children): &Tree) -> Value {
            let mut m: Map<String, Value> =
                children.iter().map(|(k, c)| (k.clone(), json(c))).collect();
            if *member && !children.is_empty() {
                m.insert(".".into(), json!({}));
            }
            Value::Object(m)
        }
        let mut root = Tree::default();
        for path in &self.0 {
            let node = path
                .iter()
                .fold(&mut root, |node, pe| node.1.entry(pe.clone()).or_default());
            node.0 = true;
        }
        json(&root)
    }

    /// Parses `fieldsV1`, rewriting `k:` and `v:` keys in this module's canonical form so a
    /// client's spacing or key order still matches. Unknown element kinds are dropped, as
    /// `readIterV1` does; anything else malformed is an error.
    pub fn from_fields_v1(v: &Value) -> Result<FieldSet, String> {
        fn read(v: &Value, path: &mut Vec<String>, out: &mut FieldSet) -> Result<(), String> {
            let Value::Object(m) = v else {
                return Err(format!("fieldsV1 nodes must be objects, not {v}"));
            };
            for (key, child) in m {
                if key == "." {
                    if !path.is_empty() {
                        out.0.insert(path.clone());
                    }
                    continue;
                }
                let Some(pe) = parse_element(key)? else {
                    continue;
                };
                path.push(pe);
                let before = out.0.len();
                read(child, path, out)?;
                // Nothing known below: a leaf, which is how `{}` reads.
                if out.0.len() == before {
                    out.0.insert(path.clone());
                }
                path.pop();
            }
            Ok(())
        }
        let mut set = FieldSet::default();
        read(v, &mut Vec::new(), &mut set)?;
        Ok(set)
    }

    /// The paths as `fieldpath.Path.String` prints them, for conflict messages: `.data.a`,
    /// `.spec.containers[name="nginx"].image`, `.metadata.finalizers[="x"]`.
    pub fn paths(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|path| path.iter().map(|pe| printed(pe)).collect())
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn union(&self, other: &FieldSet) -> FieldSet {
        FieldSet(&self.0 | &other.0)
    }

    fn minus(&self, other: &FieldSet) -> FieldSet {
        FieldSet(&self.0 - &other.0)
    }
}

/// `{"name":"nginx"}`: fields sorted by name, compact JSON, as `SerializePathElement` writes.
fn canonical_key<'a>(fields: impl Iterator<Item = (&'a str, &'a Value)>) -> String {
    let mut fields: Vec<_> = fields.collect();
    fields.sort_by_key(|(name, _)| *name);
    let body: Vec<String> = fields
        .iter()
        .map(|(n, v)| format!("{}:{v}", Value::from(*n)))
        .collect();
    format!("{{{}}}", body.join(","))
}

/// One `fieldsV1` key, checked and canonical (`DeserializePathElement`); `None` for a kind this
/// version does not know.
fn parse_element(key: &str) -> Result<Option<String>, String> {
    let bytes = key.as_bytes();
    if bytes.len() < 2 || bytes[1] != b':' {
        return Err(format!("invalid fieldsV1 key {key:?}: not <kind>:<body>"));
    }
    // bytes[1] is ASCII, so bytes[0] is too and index 2 is a char boundary.
    let body = &key[2..];
    let bad = |e: &dyn std::fmt::Display| format!("invalid fieldsV1 key {key:?}: {e}");
    Ok(Some(match bytes[0] {
        b'f' => key.to_string(),
        b'v' => format!(
            "v:{}",
            serde_json::from_str::<Value>(body).map_err(|e| bad(&e))?
        ),
        b'k' => {
            let fields: Map<String, Value> = serde_json::from_str(body).map_err(|e| bad(&e))?;
            let fields = fields.iter().map(|(n, v)| (n.as_str(), v));
            format!("k:{}", canonical_key(fields))
        }
        b'i' => format!("i:{}", body.parse::<usize>().map_err(|e| bad(&e))?),
        _ => return Ok(None),
    }))
}

/// A path element as `PathElement.String` prints it. Values print as JSON, which for strings,
/// numbers and booleans is what Go's `value.ToString` gives.
fn printed(pe: &str) -> String {
    let (kind, body) = (
        pe.get(..2).unwrap_or_default(),
        pe.get(2..).unwrap_or_default(),
    );
    match (kind, serde_json::from_str::<Map<String, Value>>(body)) {
        ("f:", _) => format!(".{body}"),
        ("v:", _) => format!("[={body}]"),
        ("k:", Ok(fields)) => {
            let parts: Vec<String> = fields.iter().map(|(n, v)| format!("{n}={v}")).collect();
            format!("[{}]", parts.join(","))
        }
        _ => format!("[{body}]"),
    }
}

/// The path element of a list element. A list-map element with none of its key fields gets its
/// position rather than a refusal: rejecting it is validation's job, not ours.
fn element(list_type: ListType, index: usize, item: &Value) -> String {
    match (list_type, item) {
        (ListType::Set, _) => format!("v:{item}"),
        (ListType::Map(keys), Value::Object(m)) => {
            let present = keys
                .iter()
                .filter_map(|k| Some((*k, m.get(*k).filter(|v| !v.is_null())?)));
            match canonical_key(present) {
                key if key == "{}" => format!("i:{index}"),
                key => format!("k:{key}"),
            }
        }
        _ => format!("i:{index}"),
    }
}

/// Whether the list element at `index` is the one `pe` names.
fn element_is(pe: &str, index: usize, item: &Value) -> bool {
    if let Some(key) = pe.strip_prefix("k:") {
        serde_json::from_str::<Map<String, Value>>(key)
            .is_ok_and(|k| !k.is_empty() && k.iter().all(|(n, v)| item.get(n) == Some(v)))
    } else if let Some(v) = pe.strip_prefix("v:") {
        serde_json::from_str::<Value>(v).is_ok_and(|v| &v == item)
    } else {
        pe.strip_prefix("i:").and_then(|i| i.parse().ok()) == Some(index)
    }
}

/// Whether `path` is the dotted field path `fields` or (unless `exact`) below it.
fn under(path: &[String], fields: &str, exact: bool) -> bool {
    let names: Vec<&str> = fields.split('.').collect();
    let fits = names.len() == path.len() || (!exact && names.len() < path.len());
    fits && names
        .iter()
        .zip(path)
        .all(|(n, pe)| pe.strip_prefix("f:") == Some(*n))
}

fn list_type_at(schema: &dyn Schema, path: &[String]) -> ListType {
    let names: Vec<&str> = path.iter().filter_map(|pe| pe.strip_prefix("f:")).collect();
    schema.list_type(&names)
}

/// What is at an owned path: a leaf, whose value `Compare` looks at, or a list element, which
/// only exists or not, so a change inside it never takes the element from its owner.
enum Node<'a> {
    Leaf(&'a Value),
    Element,
}

type Nodes<'a> = BTreeMap<Vec<String>, Node<'a>>;

/// Every owned path of `obj`, as `ToFieldSet` walks it, with what is there.
fn nodes<'a>(obj: &'a Value, schema: &dyn Schema) -> Nodes<'a> {
    fn walk<'a>(v: &'a Value, path: &mut Vec<String>, schema: &dyn Schema, out: &mut Nodes<'a>) {
        let in_element = path.last().is_some_and(|pe| !pe.starts_with("f:"));
        let names: Vec<&str> = path.iter().filter_map(|pe| pe.strip_prefix("f:")).collect();
        match v {
            Value::Object(m) if (!m.is_empty() || in_element) && !schema.is_atomic(&names) => {
                for (name, child) in m {
                    path.push(format!("f:{name}"));
                    walk(child, path, schema, out);
                    path.pop();
                }
            }
            Value::Array(items)
                if !items.is_empty() && list_type_at(schema, path) != ListType::Atomic =>
            {
                let list_type = list_type_at(schema, path);
                for (i, item) in items.iter().enumerate() {
                    path.push(element(list_type, i, item));
                    if let (ListType::Map(_), Value::Object(_)) = (list_type, item) {
                        out.insert(path.clone(), Node::Element);
                        walk(item, path, schema, out);
                    } else {
                        out.insert(path.clone(), Node::Leaf(item));
                    }
                    path.pop();
                }
            }
            _ if !path.is_empty() => {
                out.insert(path.clone(), Node::Leaf(v));
            }
            _ => {}
        }
    }
    let mut out = Nodes::new();
    walk(obj, &mut Vec::new(), schema, &mut out);
    out.retain(|path, _| {
        !STRIPPED.split_whitespace().any(|s| under(path, s, true))
            && !schema.reset_fields().iter().any(|r| under(path, r, false))
    });
    out
}

/// `Compare`: the paths added or modified from `old` to `new`, and the paths removed.
fn diff(old: &Value, new: &Value, schema: &dyn Schema) -> (FieldSet, FieldSet) {
    let (before, after) = (nodes(old, schema), nodes(new, schema));
    let changed = after
        .iter()
        .filter(|(path, now)| match (before.get(*path), now) {
            (Some(Node::Leaf(was)), Node::Leaf(is)) => was != is,
            (Some(Node::Element), Node::Element) => false,
            _ => true,
        });
    let removed = before.keys().filter(|path| !after.contains_key(*path));
    let mut changed: BTreeSet<_> = changed.map(|(path, _)| path.clone()).collect();
    added_objects(Some(old), new, &mut Vec::new(), schema, &mut changed);
    (FieldSet(changed), FieldSet(removed.cloned().collect()))
}

/// `Compare` also counts as added a map (or pointer struct) that `new` has and `old` had not:
/// its own path joins the set, printed as `".": {}` under it in `fieldsV1`.
fn added_objects(
    old: Option<&Value>,
    new: &Value,
    path: &mut Vec<String>,
    schema: &dyn Schema,
    out: &mut BTreeSet<Vec<String>>,
) {
    match new {
        Value::Object(m) => {
            let names: Vec<&str> = path.iter().filter_map(|pe| pe.strip_prefix("f:")).collect();
            // An atomic object is one leaf, already in the set as a whole.
            if schema.is_atomic(&names) {
                return;
            }
            let in_element = path.last().is_some_and(|pe| !pe.starts_with("f:"));
            let skipped = STRIPPED.split_whitespace().any(|s| under(path, s, true))
                || schema.reset_fields().iter().any(|r| under(path, r, false));
            if old.is_none()
                && !m.is_empty()
                && !in_element
                && !skipped
                && !path.is_empty()
                && schema.may_be_absent(&names)
            {
                out.insert(path.clone());
            }
            for (name, child) in m {
                path.push(format!("f:{name}"));
                added_objects(old.and_then(|o| o.get(name)), child, path, schema, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            let list_type = list_type_at(schema, path);
            if let ListType::Map(_) = list_type {
                let before = old.and_then(Value::as_array);
                for (i, item) in items.iter().enumerate() {
                    let pe = element(list_type, i, item);
                    let was = before.and_then(|b| {
                        b.iter()
                            .enumerate()
                            .find(|(j, o)| element(list_type, *j, o) == pe)
                            .map(|(_, o)| o)
                    });
                    path.push(pe);
                    // The element's own existence is already owned (`Node::Element`); what is
                    // inside it is compared against the element it was.
                    added_objects(Some(was.unwrap_or(&Value::Null)), item, path, schema, out);
                    path.pop();
                }
            }
        }
        _ => {}
    }
}

/// `TypedValue.Merge`: maps merge field by field; atomic lists and scalars are replaced;
/// list-maps and sets merge element by element, live order kept and new elements appended.
fn merge<'a>(
    live: &Value,
    config: &'a Value,
    names: &mut Vec<&'a str>,
    schema: &dyn Schema,
) -> Value {
    match (live, config) {
        (Value::Object(l), Value::Object(c)) if !schema.is_atomic(names) => {
            let mut out = l.clone();
            for (name, cv) in c {
                names.push(name);
                let merged = l
                    .get(name)
                    .map_or_else(|| cv.clone(), |lv| merge(lv, cv, names, schema));
                names.pop();
                out.insert(name.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(c)) if schema.list_type(names) != ListType::Atomic => {
            let list_type = schema.list_type(names);
            let mut out = l.clone();
            for (i, item) in c.iter().enumerate() {
                let pe = element(list_type, i, item);
                match (0..out.len()).find(|&j| element(list_type, j, &out[j]) == pe) {
                    Some(j) => out[j] = merge(&out[j], item, names, schema),
                    None => out.push(item.clone()),
                }
            }
            Value::Array(out)
        }
        _ => config.clone(),
    }
}

/// `RemoveItems` for one path; whether anything went. A map or list this empties goes too (Go's
/// walker leaves it null and the typed object drops it), so an applier that stops sending
/// `data` leaves no `data: {}` behind.
fn remove_path(v: &mut Value, path: &[String]) -> bool {
    let Some((pe, rest)) = path.split_first() else {
        return false;
    };
    let hollow = |v: &Value| {
        v.as_object().is_some_and(Map::is_empty) || v.as_array().is_some_and(Vec::is_empty)
    };
    match v {
        Value::Object(m) => {
            let Some(name) = pe.strip_prefix("f:") else {
                return false;
            };
            let Some(child) = m.get_mut(name) else {
                return false;
            };
            if !rest.is_empty() && !remove_path(child, rest) {
                return false;
            }
            if rest.is_empty() || hollow(child) {
                m.remove(name);
            }
            true
        }
        Value::Array(items) => {
            let Some(i) = (0..items.len()).find(|&i| element_is(pe, i, &items[i])) else {
                return false;
            };
            if !rest.is_empty() && !remove_path(&mut items[i], rest) {
                return false;
            }
            if rest.is_empty() || hollow(&items[i]) {
                items.remove(i);
            }
            true
        }
        _ => false,
    }
}

/// One `metadata.managedFields` entry.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ManagedFieldsEntry {
    pub manager: String,
    /// `"Apply"` or `"Update"`.
    pub operation: String,
    pub api_version: String,
    pub time: String,
    pub subresource: String,
    pub fields: FieldSet,
}

impl ManagedFieldsEntry {
    fn new(manager: &str, operation: &str, api_version: &str, time: &str) -> Self {
        ManagedFieldsEntry {
            manager: manager.into(),
            operation: operation.into(),
            api_version: api_version.into(),
            time: time.into(),
            ..Default::default()
        }
    }
}

/// `BuildManagerIdentifier`: the entry without fields and time, and without the apiVersion for
/// an applier, which keeps one entry across versions while an updater has one per version.
fn identity(e: &ManagedFieldsEntry) -> String {
    let applier = e.operation == "Apply";
    let version = if applier { "" } else { &e.api_version };
    json!([e.manager, e.operation, version, e.subresource]).to_string()
}

fn by_identity(entries: Vec<ManagedFieldsEntry>) -> BTreeMap<String, ManagedFieldsEntry> {
    entries.into_iter().map(|e| (identity(&e), e)).collect()
}

/// `DecodeManagedFields`: absent is empty; anything malformed is an error.
pub fn decode_managed_fields(obj: &Value) -> Result<Vec<ManagedFieldsEntry>, String> {
    match obj.pointer("/metadata/managedFields") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(entries)) => entries
            .iter()
            .enumerate()
            .map(|(i, e)| decode_entry(i, e))
            .collect(),
        Some(_) => Err("metadata.managedFields must be a list".into()),
    }
}

fn decode_entry(i: usize, e: &Value) -> Result<ManagedFieldsEntry, String> {
    let Value::Object(m) = e else {
        return Err(format!("managed fields entry {i} must be an object"));
    };
    let text = |name: &str| match m.get(name) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("managed fields entry {i}: {name} is not a string")),
    };
    let (manager, operation, api_version) =
        (text("manager")?, text("operation")?, text("apiVersion")?);
    if operation != "Apply" && operation != "Update" {
        return Err("operation must be `Apply` or `Update`".into());
    }
    if api_version.is_empty() {
        return Err("apiVersion must not be empty".into());
    }
    match text("fieldsType")?.as_str() {
        "FieldsV1" => {}
        "" => return Err(format!("missing fieldsType in managed fields entry {i}")),
        other => {
            return Err(format!(
                "invalid fieldsType {other:?} in managed fields entry {i}"
            ))
        }
    }
    let mut entry = ManagedFieldsEntry::new(&manager, &operation, &api_version, &text("time")?);
    entry.subresource = text("subresource")?;
    if let Some(v) = m.get("fieldsV1").filter(|v| !v.is_null()) {
        entry.fields =
            FieldSet::from_fields_v1(v).map_err(|e| format!("managed fields entry {i}: {e}"))?;
    }
    Ok(entry)
}

/// `encodeManagedFields`, in `sortEncodedManagedFields`' order: operation, time (RFC 3339 UTC
/// strings sort as times do), manager, apiVersion, subresource.
pub fn encode_managed_fields(obj: &mut Value, entries: &[ManagedFieldsEntry]) {
    let mut kept: Vec<&ManagedFieldsEntry> =
        entries.iter().filter(|e| !e.fields.is_empty()).collect();
    kept.sort_by_key(|e| {
        [
            &e.operation,
            &e.time,
            &e.manager,
            &e.api_version,
            &e.subresource,
        ]
        .map(String::clone)
    });
    let encoded: Vec<Value> = kept
        .iter()
        .map(|e| {
            let mut m = json!({"manager": e.manager, "operation": e.operation, "apiVersion": e.api_version,
                               "fieldsType": "FieldsV1", "fieldsV1": e.fields.to_fields_v1()});
            for (name, value) in [("time", &e.time), ("subresource", &e.subresource)] {
                if !value.is_empty() {
                    m[name] = json!(value);
                }
            }
            m
        })
        .collect();
    let Some(root) = obj.as_object_mut() else {
        return;
    };
    if encoded.is_empty() {
        if let Some(Value::Object(meta)) = root.get_mut("metadata") {
            meta.remove("managedFields");
        }
    } else if let Some(meta) = root
        .entry("metadata")
        .or_insert_with(|| json!({}))
        .as_object_mut()
    {
        meta.insert("managedFields".into(), Value::Array(encoded));
    }
}

fn without_managed_fields(obj: &Value) -> Value {
    let mut obj = obj.clone();
    if let Some(Value::Object(meta)) = obj.get_mut("metadata") {
        meta.remove("managedFields");
    }
    obj
}

/// A field another manager owns whose value an apply without `force` would change.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub manager: String,
    /// The owner's operation: Go names an updater with its apiVersion, an applier without.
    pub operation: String,
    pub api_version: String,
    pub subresource: String,
    pub path: String,
}

/// `printManager`. Go could append ` at <time>`, but manager identities never carry a time.
fn owner(c: &Conflict) -> String {
    let mut s = Value::from(c.manager.as_str()).to_string();
    if !c.subresource.is_empty() {
        s += &format!(" with subresource {}", Value::from(c.subresource.as_str()));
    }
    if c.operation == "Update" {
        s += &format!(" using {}", c.api_version);
    }
    s
}

/// The 409's message and causes (reason, message, field), as `NewConflictError` builds them:
/// one conflict inline, several grouped under their owners.
pub fn conflict_message(conflicts: &[Conflict]) -> (String, Vec<(String, String, String)>) {
    let reason = || "FieldManagerConflict".to_string();
    let cause = |c: &Conflict| {
        (
            reason(),
            format!("conflict with {}", owner(c)),
            c.path.clone(),
        )
    };
    let causes = conflicts.iter().map(cause).collect();
    if let [c] = conflicts {
        let message = format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            owner(c),
            c.path
        );
        return (message, causes);
    }
    let mut by_owner: BTreeMap<_, (String, Vec<&str>)> = BTreeMap::new();
    for c in conflicts {
        let id = (&c.manager, &c.operation, &c.api_version, &c.subresource);
        let (_, paths) = by_owner.entry(id).or_insert_with(|| (owner(c), Vec::new()));
        paths.push(&c.path);
    }
    let mut lines = Vec::new();
    for (who, paths) in by_owner.into_values() {
        lines.push(format!("conflicts with {who}:"));
        lines.extend(paths.iter().map(|p| format!("- {p}")));
    }
    let message = format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    );
    (message, causes)
}

// ANCHOR: apply
/// Server-side apply (`Updater.Apply`). `live` is the stored object (None: the apply creates
/// it); `config` the applied configuration, whose own managedFields are ignored (Go's handler
/// refuses them with a 400). Returns the merged object with its managedFields, or the conflicts.
pub fn apply(
    live: Option<&Value>,
    config: &Value,
    manager: &str,
    force: bool,
    api_version: &str,
    now: &str,
    schema: &dyn Schema,
) -> Result<Value, Vec<Conflict>> {
    // Stored managedFields were written by this module; ones that do not decode are dropped
    // rather than making the object impossible to apply to.
    let stored = live.and_then(|l| decode_managed_fields(l).ok());
    let mut managers = by_identity(stored.unwrap_or_default());
    let live = live.map_or_else(|| json!({}), without_managed_fields);
    let config = without_managed_fields(config);
    let mut mine = ManagedFieldsEntry::new(manager, "Apply", api_version, now);
    mine.fields = FieldSet::from_object(&config, schema);
    let previous = managers.remove(&identity(&mine));
    let mut merged = merge(&live, &config, &mut Vec::new(), schema);

    // Prune: what this applier sent last time and no longer sends goes, unless someone (applier
    // or updater) owns it. A field still holding someone's field stays; a list element goes
    // with its contents, since its owner owns its existence.
    let mut owned = mine.fields.clone();
    for e in managers.values() {
        owned = owned.union(&e.fields);
    }
    let holds = |path: &Vec<String>| {
        owned
            .0
            .iter()
            .any(|o| o.len() > path.len() && o.starts_with(path))
    };
    let last = previous.as_ref().map(|p| p.fields.minus(&owned));
    for path in last.iter().flat_map(|set| &set.0) {
        if !(path.last().is_some_and(|pe| pe.starts_with("f:")) && holds(path)) {
            remove_path(&mut merged, path);
        }
    }

    // Conflicts: another owner's field whose value this apply changes (an equal value is
    // shared). Forced, those fields leave their owners; removed fields leave everyone.
    let (changed, removed) = diff(&live, &merged, schema);
    let mut conflicts = Vec::new();
    for e in managers.values_mut() {
        let taken = FieldSet(&e.fields.0 & &changed.0);
        if !force {
            conflicts.extend(taken.paths().into_iter().map(|path| Conflict {
                manager: e.manager.clone(),
                operation: e.operation.clone(),
                api_version: e.api_version.clone(),
                subresource: e.subresource.clone(),
                path,
            }));
        }
        e.fields = e.fields.minus(&taken).minus(&removed);
    }
    if !conflicts.is_empty() {
        return Err(conflicts);
    }
    // A no-op keeps the entry's time, as Go's managedFieldsUpdater only stamps real changes.
    if let Some(previous) = previous.filter(|_| merged == live) {
        mine.time = previous.time;
    }
    managers.insert(identity(&mine), mine);
    encode_managed_fields(&mut merged, &managers.into_values().collect::<Vec<_>>());
    Ok(merged)
}
// ANCHOR_END: apply

/// managedFields for a non-apply write (create, update, patch) by `manager` through the main
/// resource (`subresource` empty) or a subresource (`status`, `scale`), as Go's `Update`
/// under `managedFieldsUpdater`: the fields whose values changed from `old` to `new` (all of
/// `new`'s on create) leave every entry, including this manager's others, and join its "Update"
/// entry, whose time moves only when it takes something. Writes the result into `new`.
pub fn update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    subresource: &str,
    api_version: &str,
    now: &str,
    schema: &dyn Schema,
) {
    // decodeLiveOrNew: a client may rewrite managedFields and `[]` or `[{}]` clears them; sending
    // none, or ones that do not decode, keeps the stored entries.
    let reset = match new.pointer("/metadata/managedFields") {
        Some(Value::Array(l)) => {
            l.is_empty() || matches!(l.as_slice(), [Value::Object(m)] if m.is_empty())
        }
        _ => false,
    };
    let entries = match decode_managed_fields(new) {
        _ if reset => Vec::new(),
        Ok(sent) if !sent.is_empty() => sent,
        _ => old
            .and_then(|o| decode_managed_fields(o).ok())
            .unwrap_or_default(),
    };
    let mut managers = by_identity(entries);
    *new = without_managed_fields(new);
    let old = old.map_or_else(|| json!({}), without_managed_fields);
    let (changed, removed) = diff(&old, new, schema);
    for e in managers.values_mut() {
        e.fields = e.fields.minus(&changed).minus(&removed);
    }
    if !changed.is_empty() {
        let mut fresh = ManagedFieldsEntry::new(manager, "Update", api_version, now);
        fresh.subresource = subresource.into();
        let e = managers.entry(identity(&fresh)).or_insert(fresh);
        e.fields = e.fields.union(&changed);
        e.time = now.into();
    }
    encode_managed_fields(new, &managers.into_values().collect::<Vec<_>>());
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: &str = "2024-01-01T00:00:00Z";
    const T1: &str = "2024-01-01T00:01:00Z";

    struct Pods;
    impl Schema for Pods {
        fn list_type(&self, path: &[&str]) -> ListType {
            match path {
                ["spec", "containers"] => ListType::Map(&["name"]),
                ["metadata", "finalizers"] => ListType::Set,
                _ => ListType::Atomic,
            }
        }
    }

    fn cm(data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": data})
    }

    /// A pod with one container per (name, image).
    fn pod(containers: &[(&str, &str)]) -> Value {
        let list: Vec<Value> = containers
            .iter()
            .map(|(n, i)| json!({"name": n, "image": i}))
            .collect();
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": list}})
    }

    fn ssa(live: Option<&Value>, config: Value, manager: &str) -> Value {
        apply(live, &config, manager, false, "v1", T1, &Pods).expect("no conflict")
    }

    fn updated(old: Option<&Value>, mut new: Value, manager: &str) -> Value {
        update(old, &mut new, manager, "", "v1", T0, &Pods);
        new
    }

    /// Each entry as "manager Operation: path path".
    fn owners(obj: &Value) -> Vec<String> {
        let entries = decode_managed_fields(obj).expect("our own encoding decodes");
        let show = |e: ManagedFieldsEntry| {
            let paths = e.fields.paths().join(" ");
            format!("{} {}: {paths}", e.manager, e.operation)
        };
        entries.into_iter().map(show).collect()
    }

    /// The containers as "name=image name=image".
    fn images(obj: &Value) -> String {
        let list = obj["spec"]["containers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let pairs: Vec<String> = list
            .iter()
            .map(|c| format!("{}={}", c["name"], c["image"]))
            .collect();
        pairs.join(" ").replace('"', "")
    }

    #[test]
    fn fields_v1_round_trip() {
        let obj = json!({"apiVersion": "v1", "kind": "Pod", "data": {"a": "1"},
            "metadata": {"name": "p", "uid": "u", "resourceVersion": "1", "finalizers": ["x"]},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1"}]}});
        let set = FieldSet::from_object(&obj, &Pods);
        let v1 = json!({"f:data": {"f:a": {}}, "f:metadata": {"f:finalizers": {"v:\"x\"": {}}},
            "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {}}}}});
        assert_eq!(set.to_fields_v1(), v1);
        assert_eq!(FieldSet::from_fields_v1(&v1).as_ref(), Ok(&set));
        let nginx = r#".spec.containers[name="nginx"]"#;
        let paths =
            format!(r#".data.a .metadata.finalizers[="x"] {nginx} {nginx}.image {nginx}.name"#);
        assert_eq!(set.paths().join(" "), paths);
        // A client's spacing is not ours, yet it must name the same element.
        let spaced =
            json!({"f:spec": {"f:containers": {"k:{ \"name\": \"nginx\" }": {"f:image": {}}}}});
        assert_eq!(
            FieldSet::from_fields_v1(&spaced).unwrap().paths(),
            [format!("{nginx}.image")]
        );
    }

    #[test]
    fn malformed_managed_fields_are_errors() {
        let with = |mf: Value| json!({"metadata": {"name": "c", "managedFields": mf}});
        let entry = |f: Value| json!([{"manager": "m", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": f}]);
        assert_eq!(decode_managed_fields(&json!({"metadata": {}})), Ok(vec![]));
        assert!(decode_managed_fields(&with(entry(json!({"f:data": {}})))).is_ok());
        for bad in [
            json!("nope"),
            json!([7]),
            json!([{"manager": "m", "operation": "Patch", "apiVersion": "v1", "fieldsType": "FieldsV1"}]),
            json!([{"manager": "m", "operation": "Apply", "fieldsType": "FieldsV1"}]),
            json!([{"manager": "m", "operation": "Apply", "apiVersion": "v1"}]),
            json!([{"manager": 3, "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1"}]),
            entry(json!({"x": {}})),
            entry(json!({"é:": {}})),
            entry(json!({"f:data": []})),
            entry(json!({"k:not-json": {}})),
            entry(json!({"i:one": {}})),
        ] {
            assert!(decode_managed_fields(&with(bad.clone())).is_err(), "{bad}");
        }
    }

    #[test]
    fn apply_creates() {
        let created = ssa(None, cm(json!({"a": "1"})), "kubectl");
        assert_eq!(created["data"], json!({"a": "1"}));
        let entry = json!({"manager": "kubectl", "operation": "Apply", "apiVersion": "v1", "time": T1,
            "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:a": {}}}});
        assert_eq!(created["metadata"]["managedFields"], json!([entry]));
    }

    #[test]
    fn reapply_removes_what_the_applier_dropped() {
        let one = ssa(None, cm(json!({"a": "1", "b": "2"})), "kubectl");
        let two = ssa(Some(&one), cm(json!({"a": "1"})), "kubectl");
        assert_eq!(two["data"], json!({"a": "1"}));
        assert_eq!(owners(&two), ["kubectl Apply: .data.a"]);
        // The same apply again changes nothing, so the entry keeps its time.
        let config = cm(json!({"a": "1"}));
        let again = apply(Some(&two), &config, "kubectl", false, "v1", "later", &Pods).unwrap();
        assert_eq!(again["metadata"]["managedFields"][0]["time"], T1);
        let no_data = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        let three = ssa(Some(&two), no_data, "kubectl");
        assert!(three.get("data").is_none(), "an emptied map goes too");
        assert!(three["metadata"].get("managedFields").is_none());
    }

    #[test]
    fn appliers_share_an_equal_value() {
        let one = ssa(None, cm(json!({"a": "1"})), "alice");
        let two = ssa(Some(&one), cm(json!({"a": "1", "b": "2"})), "bob");
        assert_eq!(
            owners(&two),
            ["alice Apply: .data.a", "bob Apply: .data.a .data.b"]
        );
        // Alice letting go of `a` does not delete it: Bob still wants it.
        let three = ssa(Some(&two), cm(json!({"c": "3"})), "alice");
        assert_eq!(three["data"], json!({"a": "1", "b": "2", "c": "3"}));
    }

    const CSA: &str = "kubectl-client-side-apply";

    #[test]
    fn conflict_with_an_updater() {
        let live = updated(None, cm(json!({"a": "1", "b": "2"})), CSA);
        let config = cm(json!({"a": "2", "b": "2"}));
        let conflicts = apply(Some(&live), &config, "kubectl", false, "v1", T1, &Pods).unwrap_err();
        let (message, causes) = conflict_message(&conflicts);
        let owner = "conflict with \"kubectl-client-side-apply\" using v1";
        let expected = format!("Apply failed with 1 conflict: {owner}: .data.a");
        assert_eq!(message, expected);
        let [(reason, text, field)] = causes.as_slice() else {
            panic!("{causes:?}")
        };
        assert_eq!(
            [reason, text, field],
            ["FieldManagerConflict", owner, ".data.a"]
        );
    }

    #[test]
    fn several_conflicts_are_grouped_by_owner() {
        let conflict = |manager: &str, operation: &str, subresource: &str, path: &str| Conflict {
            manager: manager.into(),
            operation: operation.into(),
            api_version: "v1".into(),
            subresource: subresource.into(),
            path: path.into(),
        };
        let conflicts = [
            conflict("foo", "Update", "scale", ".spec.replicas"),
            conflict("bar", "Apply", "", ".metadata.labels.app"),
            conflict("bar", "Apply", "", ".data.x"),
        ];
        let (message, causes) = conflict_message(&conflicts);
        let expected = "Apply failed with 3 conflicts: conflicts with \"bar\":\n- .metadata.labels.app\n- .data.x\n\
                        conflicts with \"foo\" with subresource \"scale\" using v1:\n- .spec.replicas";
        assert_eq!(message, expected);
        assert_eq!(causes[1].1, "conflict with \"bar\"");
    }

    #[test]
    fn force_moves_ownership() {
        let live = updated(None, cm(json!({"a": "1", "b": "2"})), CSA);
        let config = cm(json!({"a": "2"}));
        let forced = apply(Some(&live), &config, "kubectl", true, "v1", T1, &Pods).unwrap();
        assert_eq!(forced["data"], json!({"a": "2", "b": "2"}));
        let expected = [
            "kubectl Apply: .data.a",
            "kubectl-client-side-apply Update: .data.b",
        ];
        assert_eq!(owners(&forced), expected);
    }

    #[test]
    fn update_moves_changed_fields() {
        let one = updated(None, cm(json!({"a": "1", "b": "2"})), "creator");
        assert_eq!(owners(&one), ["creator Update: .data.a .data.b"]);
        let mut two = cm(json!({"a": "1", "b": "3"}));
        update(Some(&one), &mut two, "editor", "", "v1", T1, &Pods);
        assert_eq!(
            owners(&two),
            ["creator Update: .data.a", "editor Update: .data.b"]
        );
        assert_eq!(two["metadata"]["managedFields"][1]["time"], T1);
        // Removing `a` leaves the creator owning nothing, so its entry goes.
        let three = updated(Some(&two), cm(json!({"b": "3"})), "editor");
        assert_eq!(owners(&three), ["editor Update: .data.b"]);
        // A client sending `managedFields: []` clears them.
        let mut cleared = cm(json!({"b": "3"}));
        cleared["metadata"]["managedFields"] = json!([]);
        let four = updated(Some(&three), cleared, "editor");
        assert!(four["metadata"].get("managedFields").is_none());
    }

    #[test]
    fn containers_merge_by_name() {
        let one = ssa(None, pod(&[("nginx", "nginx:1")]), "app");
        let two = ssa(Some(&one), pod(&[("sidecar", "envoy")]), "mesh");
        assert_eq!(images(&two), "nginx=nginx:1 sidecar=envoy");
        let three = ssa(Some(&two), pod(&[("nginx", "nginx:2")]), "app");
        assert_eq!(images(&three), "nginx=nginx:2 sidecar=envoy");
        // The app dropping its container removes that element only.
        let four = ssa(Some(&three), pod(&[("worker", "w")]), "app");
        assert_eq!(images(&four), "sidecar=envoy worker=w");
    }

    #[test]
    fn an_update_owns_the_maps_and_pointer_structs_it_brings_into_being() {
        let schema = KindSchema {
            schema: &crate::apis::apps::DEPLOYMENT,
            reset: &["status"],
        };
        let mut d = json!({"metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
                     "template": {"metadata": {"labels": {"app": "web"}}}}});
        update(None, &mut d, "kubectl-create", "", "apps/v1", T0, &schema);
        let fields = &d["metadata"]["managedFields"][0]["fieldsV1"];
        // `labels` (a map) and `rollingUpdate` (a pointer) are owned as wholes; `metadata`,
        // `spec`, `strategy` and the template's metadata are plain structs, always there.
        assert_eq!(
            fields,
            &json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                    "f:spec": {"f:strategy": {"f:rollingUpdate": {".": {}, "f:maxSurge": {}}, "f:type": {}},
                               "f:template": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}}}})
        );
    }

    #[test]
    fn reset_fields_are_owned_by_nobody() {
        struct WithStatus;
        impl Schema for WithStatus {
            fn list_type(&self, _: &[&str]) -> ListType {
                ListType::Atomic
            }
            fn reset_fields(&self) -> &'static [&'static str] {
                &["status"]
            }
        }
        let config =
            json!({"metadata": {"name": "d"}, "spec": {"replicas": 1}, "status": {"ready": 1}});
        assert_eq!(
            FieldSet::from_object(&config, &WithStatus).paths(),
            [".spec.replicas"]
        );
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let weird_meta = json!({"metadata": {"managedFields": 1}});
        for (live, config) in [
            (json!([1]), json!("x")),
            (json!({"metadata": 5}), weird_meta),
        ] {
            let _ = apply(Some(&live), &config, "m", false, "v1", T0, &Pods);
            let _ = updated(Some(&live), config, "m");
        }
        let keyless = json!({"spec": {"containers": [{"image": "a"}, {"image": "b"}]}});
        assert_eq!(ssa(None, keyless.clone(), "m")["spec"], keyless["spec"]);
    }
}
