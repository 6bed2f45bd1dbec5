//! JSON merge patch (RFC 7386), the patch kubectl sends for `label`, `annotate` and
//! `patch --type=merge`. For the kinds served so far, whose fields are maps and scalars, a
//! strategic merge patch means the same thing, so it is applied the same way.

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
}
