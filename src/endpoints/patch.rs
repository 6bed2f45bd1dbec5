//! Patches, as `k8s.io/apiserver/pkg/endpoints/handlers/patch.go` applies them:
//!
//! - JSON merge patch (RFC 7386): `patch --type=merge`; the strategic merge patch kubectl sends
//!   for `label`, `annotate`, `apply` and `patch` builds on it (`strategic.rs`).
//! - JSON patch (RFC 6902): `patch --type=json`, a list of operations on JSON pointers.

use serde_json::Value;

/// Applies `patch` to `target`: objects merge key by key, `null` deletes, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_fields) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let fields = target.as_object_mut().expect("made an object above");
    for (k, v) in patch_fields {
        if v.is_null() {
            fields.remove(k);
        } else {
            merge_patch(fields.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

// ANCHOR: json_patch
/// Why a JSON patch could not be applied: `Malformed` is the client's syntax (400), `Failed` an
/// operation that does not fit the object (422), as kube-apiserver tells the two apart.
#[derive(Debug, PartialEq)]
pub enum JsonPatchError {
    Malformed(String),
    Failed(String),
}

/// Applies an RFC 6902 patch: every operation in order, or none (the target is left unchanged
/// when one fails).
pub fn json_patch(target: &mut Value, patch: &Value) -> Result<(), JsonPatchError> {
    let ops = patch.as_array().ok_or_else(|| {
        JsonPatchError::Malformed("a JSON patch must be an array of operations".into())
    })?;
    let mut doc = target.clone();
    for op in ops {
        let field = |name: &str| -> Result<&str, JsonPatchError> {
            op.get(name).and_then(Value::as_str).ok_or_else(|| {
                JsonPatchError::Malformed(format!("operation {op} has no string {name:?}"))
            })
        };
        let value = || {
            op.get("value").cloned().ok_or_else(|| {
                JsonPatchError::Malformed(format!("operation {op} has no \"value\""))
            })
        };
        let path = parse_pointer(field("path")?)?;
        match field("op")? {
            "add" => add(&mut doc, &path, value()?)?,
            "remove" => {
                remove(&mut doc, &path)?;
            }
            "replace" => {
                remove(&mut doc, &path)?;
                add(&mut doc, &path, value()?)?;
            }
            "move" => {
                let from = parse_pointer(field("from")?)?;
                let moved = remove(&mut doc, &from)?;
                add(&mut doc, &path, moved)?;
            }
            "copy" => {
                let from = parse_pointer(field("from")?)?;
                let copied = get(&doc, &from)?.clone();
                add(&mut doc, &path, copied)?;
            }
            "test" => {
                if *get(&doc, &path)? != value()? {
                    return Err(JsonPatchError::Failed(format!(
                        "testing value {} failed",
                        field("path")?
                    )));
                }
            }
            other => {
                return Err(JsonPatchError::Malformed(format!(
                    "unknown patch operation {other:?}"
                )))
            }
        }
    }
    *target = doc;
    Ok(())
}
// ANCHOR_END: json_patch

/// `/a/b~1c/0` to `["a", "b/c", "0"]`.
fn parse_pointer(pointer: &str) -> Result<Vec<String>, JsonPatchError> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let rest = pointer.strip_prefix('/').ok_or_else(|| {
        JsonPatchError::Malformed(format!("path {pointer:?} does not start with /"))
    })?;
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn missing(path: &[String]) -> JsonPatchError {
    JsonPatchError::Failed(format!("doc is missing path: \"/{}\"", path.join("/")))
}

fn index(token: &str, len: usize, path: &[String]) -> Result<usize, JsonPatchError> {
    match token.parse::<usize>() {
        Ok(i) if i < len && (token == "0" || !token.starts_with('0')) => Ok(i),
        _ => Err(missing(path)),
    }
}

fn get<'a>(doc: &'a Value, path: &[String]) -> Result<&'a Value, JsonPatchError> {
    path.iter().try_fold(doc, |v, token| match v {
        Value::Object(m) => m.get(token).ok_or_else(|| missing(path)),
        Value::Array(a) => Ok(&a[index(token, a.len(), path)?]),
        _ => Err(missing(path)),
    })
}

/// The container a path's last token lives in, and that token.
fn parent<'a, 'p>(
    doc: &'a mut Value,
    path: &'p [String],
) -> Result<(&'a mut Value, &'p str), JsonPatchError> {
    let (last, dirs) = path
        .split_last()
        .ok_or_else(|| JsonPatchError::Failed("the whole document cannot be the target".into()))?;
    let mut v = doc;
    for token in dirs {
        v = match v {
            Value::Object(m) => m.get_mut(token).ok_or_else(|| missing(path))?,
            Value::Array(a) => {
                let i = index(token, a.len(), path)?;
                &mut a[i]
            }
            _ => return Err(missing(path)),
        };
    }
    Ok((v, last))
}

fn add(doc: &mut Value, path: &[String], value: Value) -> Result<(), JsonPatchError> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (container, last) = parent(doc, path)?;
    match container {
        Value::Object(m) => {
            m.insert(last.to_string(), value);
        }
        Value::Array(a) if last == "-" => a.push(value),
        Value::Array(a) => {
            let i = if last == a.len().to_string() {
                a.len()
            } else {
                index(last, a.len(), path)?
            };
            a.insert(i, value);
        }
        _ => return Err(missing(path)),
    }
    Ok(())
}

fn remove(doc: &mut Value, path: &[String]) -> Result<Value, JsonPatchError> {
    let (container, last) = parent(doc, path)?;
    match container {
        Value::Object(m) => m.remove(last).ok_or_else(|| missing(path)),
        Value::Array(a) => {
            let i = index(last, a.len(), path)?;
            Ok(a.remove(i))
        }
        _ => Err(missing(path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc7386_examples() {
        let mut doc = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut doc, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(doc, json!({"a": "z", "c": {"d": "e"}}));
        let mut doc = json!({"a": [1, 2]});
        merge_patch(&mut doc, &json!({"a": [3]}));
        assert_eq!(doc, json!({"a": [3]}));
        let mut doc = json!({"metadata": {"name": "x"}});
        merge_patch(
            &mut doc,
            &json!({"metadata": {"labels": {"tier": "backend"}}}),
        );
        assert_eq!(doc["metadata"]["labels"]["tier"], "backend");
    }

    #[test]
    fn rfc6902_operations() {
        let mut doc =
            json!({"data": {"a": "1"}, "list": [1, 2], "metadata": {"labels": {"x/y": "z"}}});
        let patch = json!([
            {"op": "add", "path": "/data/b", "value": "2"},
            {"op": "remove", "path": "/data/a"},
            {"op": "replace", "path": "/list/0", "value": 9},
            {"op": "add", "path": "/list/-", "value": 3},
            {"op": "copy", "from": "/data/b", "path": "/data/c"},
            {"op": "move", "from": "/metadata/labels/x~1y", "path": "/metadata/labels/moved"},
            {"op": "test", "path": "/list", "value": [9, 2, 3]},
        ]);
        json_patch(&mut doc, &patch).unwrap();
        assert_eq!(
            doc,
            json!({"data": {"b": "2", "c": "2"}, "list": [9, 2, 3], "metadata": {"labels": {"moved": "z"}}})
        );
    }

    #[test]
    fn a_failed_patch_changes_nothing() {
        let before = json!({"data": {"a": "1"}});
        let mut doc = before.clone();
        let failing = json!([{"op": "add", "path": "/data/b", "value": "2"}, {"op": "test", "path": "/data/a", "value": "9"}]);
        assert!(matches!(
            json_patch(&mut doc, &failing),
            Err(JsonPatchError::Failed(_))
        ));
        assert_eq!(doc, before);
        assert!(matches!(
            json_patch(&mut doc, &json!([{"op": "remove", "path": "/nope"}])),
            Err(JsonPatchError::Failed(_))
        ));
        assert!(matches!(
            json_patch(&mut doc, &json!({"op": "add"})),
            Err(JsonPatchError::Malformed(_))
        ));
        assert!(matches!(
            json_patch(&mut doc, &json!([{"op": "jump", "path": "/a"}])),
            Err(JsonPatchError::Malformed(_))
        ));
        assert!(matches!(
            json_patch(
                &mut doc,
                &json!([{"op": "add", "path": "data", "value": 1}])
            ),
            Err(JsonPatchError::Malformed(_))
        ));
        assert!(matches!(
            json_patch(
                &mut doc,
                &json!([{"op": "add", "path": "/data/a/b/c", "value": 1}])
            ),
            Err(JsonPatchError::Failed(_))
        ));
    }
}
