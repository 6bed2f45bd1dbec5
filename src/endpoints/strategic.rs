//! Strategic merge patch (stage 4, book appendix A), as
//! `k8s.io/apimachinery/pkg/util/strategicpatch` applies it: a merge patch that knows which
//! lists are sets to merge into rather than values to replace.
//!
//! In Go the knowledge comes from struct tags (`patchStrategy:"merge" patchMergeKey:"name"`).
//! Here it comes from the kind's [`Struct`]: a list declared `ListType::Map` merges by its first
//! key, a `ListType::Set` of scalars is a union. A list with a merge key is merged element by element
//! (elements with the same key are patched, new ones appended); a list of scalars marked for
//! merging is a union; every other list is replaced, as in JSON merge patch. The directives:
//!
//! - `$patch: replace` replaces the map (or, as a list element, the whole list) it appears in;
//!   `$patch: delete` deletes the map, or, in a list element, the element with that key;
//! - `$retainKeys: [...]` keeps only the named keys of the map after patching;
//! - `$setElementOrder/<field>: [...]` orders the merged list;
//! - `$deleteFromPrimitiveList/<field>: [...]` takes values out of a merged list of scalars.

use serde_json::{Map, Value};

use crate::scheme::schema::{list_type_at, ListType, Struct};

/// The merge key of the list at `path` (`""` for a set of scalars), or `None` for a list that a
/// patch replaces.
fn merge_key(schema: &'static Struct, path: &str) -> Option<&'static str> {
    let names: Vec<&str> = path.split('.').collect();
    match list_type_at(schema, &names) {
        ListType::Map(keys) => keys.first().copied(),
        ListType::Set => Some(""),
        ListType::Atomic => None,
    }
}

// ANCHOR: strategic_merge
/// Applies a strategic merge patch to `target`. An error is a malformed directive (a 400).
pub fn strategic_merge_patch(
    target: &mut Value,
    patch: &Value,
    schema: &'static Struct,
) -> Result<(), String> {
    let Value::Object(patch) = patch else {
        return Err("a strategic merge patch must be a JSON object".into());
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    merge_map(
        target.as_object_mut().expect("an object"),
        patch,
        "",
        schema,
    )
}

fn merge_map(
    target: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    path: &str,
    schema: &'static Struct,
) -> Result<(), String> {
    match patch.get("$patch").map(|d| d.as_str()) {
        None => {}
        Some(Some("replace")) => {
            *target = strip_directives(patch);
            return Ok(());
        }
        Some(Some("delete")) => {
            target.clear();
            return Ok(());
        }
        Some(other) => return Err(format!("unknown patch type: {other:?}")),
    }
    for (field, value) in patch {
        if field.starts_with('$') {
            continue;
        }
        let field_path = join(path, field);
        match value {
            Value::Null => {
                target.remove(field);
            }
            Value::Object(inner) => match target.get_mut(field) {
                Some(Value::Object(existing)) if !is_delete(inner) => {
                    merge_map(existing, inner, &field_path, schema)?
                }
                _ if is_delete(inner) => {
                    target.remove(field);
                }
                _ => {
                    let mut fresh = Map::new();
                    merge_map(&mut fresh, inner, &field_path, schema)?;
                    target.insert(field.clone(), Value::Object(fresh));
                }
            },
            Value::Array(items) => match merge_key(schema, &field_path) {
                Some(key) => {
                    let list = target
                        .entry(field.clone())
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if !list.is_array() {
                        *list = Value::Array(Vec::new());
                    }
                    let list = list.as_array_mut().expect("an array");
                    merge_list(list, items, key, &field_path, schema)?;
                }
                None => {
                    target.insert(field.clone(), Value::Array(items.clone()));
                }
            },
            scalar => {
                target.insert(field.clone(), scalar.clone());
            }
        }
    }
    for (directive, values) in patch {
        let values = || {
            values
                .as_array()
                .ok_or(format!("{directive} must be a list"))
        };
        if let Some(field) = directive.strip_prefix("$deleteFromPrimitiveList/") {
            let doomed = values()?;
            if let Some(Value::Array(list)) = target.get_mut(field) {
                list.retain(|v| !doomed.contains(v));
            }
        } else if let Some(field) = directive.strip_prefix("$setElementOrder/") {
            let order = values()?;
            let key = merge_key(schema, &join(path, field)).unwrap_or_default();
            if let Some(Value::Array(list)) = target.get_mut(field) {
                set_element_order(list, order, key);
            }
        } else if directive == "$retainKeys" {
            let keep = values()?;
            target.retain(|k, _| keep.iter().any(|v| v.as_str() == Some(k.as_str())));
        }
    }
    Ok(())
}

fn merge_list(
    list: &mut Vec<Value>,
    patch: &[Value],
    key: &str,
    path: &str,
    schema: &'static Struct,
) -> Result<(), String> {
    if patch
        .iter()
        .any(|p| p.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        *list = patch
            .iter()
            .filter(|p| p.get("$patch").is_none())
            .cloned()
            .collect();
        return Ok(());
    }
    for item in patch {
        if key.is_empty() {
            // A set of scalars: add what is missing.
            if !list.contains(item) {
                list.push(item.clone());
            }
            continue;
        }
        let Value::Object(fields) = item else {
            return Err(format!(
                "{path}: an element of a list merged by {key:?} must be a map"
            ));
        };
        let Some(id) = fields.get(key) else {
            return Err(format!(
                "{path}: an element is missing its merge key {key:?}"
            ));
        };
        let found = list.iter().position(|e| e.get(key) == Some(id));
        match (found, is_delete(fields)) {
            (Some(i), true) => {
                list.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => {
                let existing = list[i]
                    .as_object_mut()
                    .ok_or(format!("{path}: not a map"))?;
                merge_map(existing, fields, path, schema)?;
            }
            (None, false) => list.push(Value::Object(strip_directives(fields))),
        }
    }
    Ok(())
}
// ANCHOR_END: strategic_merge

/// Puts the elements named in `order` first, in that order; the rest keep theirs.
fn set_element_order(list: &mut [Value], order: &[Value], key: &str) {
    // An element is named by its merge key, or, in a list of scalars, by itself.
    let id = |v: &'_ Value| -> Option<Value> {
        if key.is_empty() {
            Some(v.clone())
        } else {
            v.get(key).cloned()
        }
    };
    let ids: Vec<Option<Value>> = order.iter().map(id).collect();
    list.sort_by_key(|v| {
        let own = id(v);
        ids.iter()
            .position(|o| own.is_some() && *o == own)
            .unwrap_or(usize::MAX)
    });
}

fn is_delete(fields: &Map<String, Value>) -> bool {
    fields.get("$patch").and_then(Value::as_str) == Some("delete")
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

/// A patch map without its directives, for where it becomes the value itself.
fn strip_directives(fields: &Map<String, Value>) -> Map<String, Value> {
    fields
        .iter()
        .filter(|(k, _)| !k.starts_with('$'))
        .map(|(k, v)| {
            let v = match v {
                Value::Object(inner) => Value::Object(strip_directives(inner)),
                other => other.clone(),
            };
            (k.clone(), v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SA: &Struct = &crate::apis::core::serviceaccount::SERVICE_ACCOUNT;

    fn patched(target: Value, patch: Value) -> Value {
        let mut t = target;
        strategic_merge_patch(&mut t, &patch, SA).unwrap();
        t
    }

    #[test]
    fn lists_with_a_merge_key_merge_by_it() {
        let sa = json!({"secrets": [{"name": "a", "x": 1}, {"name": "b"}]});
        assert_eq!(
            patched(
                sa.clone(),
                json!({"secrets": [{"name": "a", "x": 2}, {"name": "c"}]})
            ),
            json!({"secrets": [{"name": "a", "x": 2}, {"name": "b"}, {"name": "c"}]})
        );
        assert_eq!(
            patched(
                sa.clone(),
                json!({"secrets": [{"name": "a", "$patch": "delete"}]})
            ),
            json!({"secrets": [{"name": "b"}]})
        );
        assert_eq!(
            patched(
                sa,
                json!({"secrets": [{"$patch": "replace"}, {"name": "z"}]})
            ),
            json!({"secrets": [{"name": "z"}]})
        );
    }

    #[test]
    fn finalizers_are_a_set_and_other_lists_are_replaced() {
        let obj = json!({"metadata": {"finalizers": ["a"]}, "imagePullSecrets": [{"name": "x"}]});
        let out = patched(
            obj,
            json!({"metadata": {"finalizers": ["b", "a"],
                                "$deleteFromPrimitiveList/finalizers": ["a"]},
                   "imagePullSecrets": [{"name": "y"}]}),
        );
        assert_eq!(
            out,
            json!({"metadata": {"finalizers": ["b"]}, "imagePullSecrets": [{"name": "y"}]})
        );
    }

    #[test]
    fn map_directives() {
        let obj = json!({"data": {"a": "1", "b": "2"}, "metadata": {"labels": {"x": "y"}}});
        assert_eq!(
            patched(
                obj.clone(),
                json!({"data": {"$patch": "replace", "c": "3"}})
            ),
            json!({"data": {"c": "3"}, "metadata": {"labels": {"x": "y"}}})
        );
        assert_eq!(
            patched(
                obj.clone(),
                json!({"data": {"$retainKeys": ["a", "c"], "c": "3"}})
            ),
            json!({"data": {"a": "1", "c": "3"}, "metadata": {"labels": {"x": "y"}}})
        );
        assert_eq!(
            patched(
                obj.clone(),
                json!({"metadata": {"labels": {"$patch": "delete"}}})
            ),
            json!({"data": {"a": "1", "b": "2"}, "metadata": {}})
        );
        let mut t = obj;
        assert!(
            strategic_merge_patch(&mut t, &json!({"data": {"$patch": "merge-ish"}}), SA).is_err()
        );
    }

    #[test]
    fn set_element_order_orders_the_merged_list() {
        let sa = json!({"secrets": [{"name": "a"}, {"name": "b"}]});
        assert_eq!(
            patched(
                sa,
                json!({"secrets": [{"name": "c"}],
                                "$setElementOrder/secrets": [{"name": "c"}, {"name": "b"}, {"name": "a"}]})
            ),
            json!({"secrets": [{"name": "c"}, {"name": "b"}, {"name": "a"}]})
        );
    }
}
