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
pub fn from_slice(body: &[u8]) -> Result<(Value, Vec<String>), serde_json::Error> {
    let duplicates = RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = Seed {
        path: String::new(),
        duplicates: &duplicates,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok((value, duplicates.into_inner()))
}

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
