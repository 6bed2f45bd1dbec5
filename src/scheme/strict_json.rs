//! JSON read as `serde_json::Value`, with the keys an object repeats noted by path (stage 1,
//! book chapter 1: the codec's strict decoding, as `sigs.k8s.io/json` does it).
//!
//! `serde_json::Value` keeps the last of two equal keys and says nothing. Go's strict decoder
//! (`sigs.k8s.io/json`) reports each repeat as `duplicate field "metadata.name"`, which
//! `fieldValidation=Strict` turns into a 400 and `Warn` into a warning, so the repeats must be
//! seen while the bytes are read.

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A value, and the path of every key its objects repeat (the last of each is kept).
///
/// No depth limit: what comes from a client has passed [`check_depth`] first, and what the
/// server decodes again (a patched object, with managedFields a few levels below its deepest
/// field) must not be refused for depth the server itself added.
pub fn from_slice(body: &[u8]) -> Result<(Value, Vec<String>), serde_json::Error> {
    let duplicates = RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_slice(body);
    de.disable_recursion_limit();
    let value = Seed {
        path: String::new(),
        duplicates: &duplicates,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok((value, duplicates.into_inner()))
}

// ANCHOR: check_depth
/// How deeply a request body may nest: serde_json's own limit. Go's decoder has no stack to
/// overflow; every walk here recurses once per level, so the limit is what bounds the stack a
/// request needs (`run::COROUTINE_STACK_WORDS` is sized for it).
pub const MAX_DEPTH: usize = 128;

/// Refuses a JSON body nested deeper than [`MAX_DEPTH`], by counting brackets outside strings:
/// a loop, not a recursion, so the check itself cannot overflow.
pub fn check_depth(body: &[u8]) -> Result<(), String> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in body {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(format!(
                        "the request body nests deeper than {MAX_DEPTH} levels"
                    ));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}
// ANCHOR_END: check_depth

struct Seed<'a> {
    /// Where this value is: `spec.containers[0]` (empty at the top).
    path: String,
    duplicates: &'a RefCell<Vec<String>>,
}

impl Seed<'_> {
    fn child(&self, path: String) -> Seed<'_> {
        Seed {
            path,
            duplicates: self.duplicates,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) =
            seq.next_element_seed(self.child(format!("{}[{}]", self.path, items.len())))?
        {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut fields = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = match self.path.as_str() {
                "" => key.clone(),
                parent => format!("{parent}.{key}"),
            };
            let value = map.next_value_seed(self.child(path.clone()))?;
            if fields.insert(key, value).is_some() {
                self.duplicates.borrow_mut().push(path);
            }
        }
        Ok(Value::Object(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_counted_outside_strings_only() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(check_depth(nested(MAX_DEPTH).as_bytes()).is_ok());
        assert!(check_depth(nested(MAX_DEPTH + 1).as_bytes()).is_err());
        // Brackets in strings, and an escaped quote that does not end one, are text.
        let quoted = format!(r#"{{"a": "{}\"{}"}}"#, "[".repeat(500), "{".repeat(500));
        assert!(check_depth(quoted.as_bytes()).is_ok());
    }
    use serde_json::json;

    #[test]
    fn repeated_keys_are_named_by_path_and_the_last_wins() {
        let body = br#"{"metadata": {"name": "a", "name": "b"},
                        "spec": {"containers": [{"name": "x", "image": "1", "image": "2"}]},
                        "data": {}, "data": {"k": "v"}}"#;
        let (value, duplicates) = from_slice(body).unwrap();
        assert_eq!(
            duplicates,
            ["metadata.name", "spec.containers[0].image", "data"]
        );
        assert_eq!(value["metadata"]["name"], "b");
        assert_eq!(value["data"], json!({"k": "v"}));
        assert_eq!(
            from_slice(b"{\"a\": 1.5, \"b\": [null, -2]}").unwrap().0,
            json!({"a": 1.5, "b": [null, -2]})
        );
        assert!(from_slice(b"{} trailing").is_err());
    }
}
