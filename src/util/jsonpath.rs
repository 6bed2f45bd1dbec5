//! The part of kubectl's JSONPath that CustomResourceDefinitions use: printer columns
//! (`additionalPrinterColumns[].jsonPath`) and the scale subresource's replica and selector
//! paths. Go reads them with `k8s.io/client-go/util/jsonpath`; what CRDs write is a simple path
//! from the object's root, which is all this module reads:
//!
//! - fields: `.spec.replicas`, or bracketed for keys with dots: `.metadata.labels['app.kubernetes.io/name']`;
//! - list positions: `.spec.containers[0].image`;
//! - a filter on a list, for conditions: `.status.conditions[?(@.type=="Ready")].status`.

use serde_json::Value;

/// One step of a path.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    Field(String),
    Index(usize),
    /// `[?(@.<field>=="<value>")]`: the first element whose field has that string value.
    Filter(String, String),
}

/// A parsed path.
#[derive(Clone, Debug, PartialEq)]
pub struct Path(Vec<Step>);

impl Path {
    /// Reads `.a.b[0]['c.d'][?(@.type=="Ready")]`; the braces of a full JSONPath template
    /// (`{.spec.x}`) are accepted too.
    pub fn parse(text: &str) -> Result<Path, String> {
        let bad = |why: &str| Err(format!("unparsable JSONPath {text:?}: {why}"));
        let mut rest = text.trim();
        if let Some(inner) = rest.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
            rest = inner;
        }
        if !rest.starts_with('.') {
            return bad("must start with a dot");
        }
        let mut steps = Vec::new();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                let name = &after[..end];
                if name.is_empty() {
                    return bad("empty field name");
                }
                steps.push(Step::Field(name.to_string()));
                rest = &after[end..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let Some(end) = after.find(']') else {
                    return bad("unclosed bracket");
                };
                let inside = &after[..end];
                steps.push(parse_bracket(inside).ok_or_else(|| {
                    format!("unparsable JSONPath {text:?}: unsupported [{inside}]")
                })?);
                rest = &after[end + 1..];
            } else {
                return bad("expected '.' or '['");
            }
        }
        Ok(Path(steps))
    }

    /// The value at the path, if every step finds one.
    pub fn find<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        let mut current = root;
        for step in &self.0 {
            current = match step {
                Step::Field(name) => current.as_object()?.get(name)?,
                Step::Index(i) => current.as_array()?.get(*i)?,
                Step::Filter(field, value) => current
                    .as_array()?
                    .iter()
                    .find(|item| item[field.as_str()].as_str() == Some(value.as_str()))?,
            };
        }
        Some(current)
    }

    /// Sets the value at a path of fields, creating the objects on the way, as Go's
    /// `unstructured.SetNestedField` does for the scale subresource. A path with positions or
    /// filters, or one that runs through a non-object, is not set.
    pub fn set(&self, root: &mut Value, value: Value) -> bool {
        let mut current = root;
        for (i, step) in self.0.iter().enumerate() {
            let Step::Field(name) = step else {
                return false;
            };
            if current.is_null() {
                *current = Value::Object(Default::default());
            }
            let Some(map) = current.as_object_mut() else {
                return false;
            };
            if i + 1 == self.0.len() {
                map.insert(name.clone(), value);
                return true;
            }
            current = map.entry(name.clone()).or_insert(Value::Null);
        }
        false
    }
}

fn parse_bracket(inside: &str) -> Option<Step> {
    let unquote = |s: &str| {
        let s = s.trim();
        s.strip_prefix('\'')
            .and_then(|r| r.strip_suffix('\''))
            .or_else(|| s.strip_prefix('"').and_then(|r| r.strip_suffix('"')))
            .map(str::to_string)
    };
    if let Ok(i) = inside.trim().parse::<usize>() {
        return Some(Step::Index(i));
    }
    if let Some(filter) = inside
        .strip_prefix("?(@.")
        .and_then(|f| f.strip_suffix(')'))
    {
        let (field, value) = filter.split_once("==")?;
        return Some(Step::Filter(field.trim().to_string(), unquote(value)?));
    }
    unquote(inside).map(Step::Field)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_positions_keys_and_filters() {
        let obj = json!({"spec": {"size": 3, "list": [{"a": 1}, {"a": 2}]},
                         "metadata": {"labels": {"app.kubernetes.io/name": "x"}},
                         "status": {"conditions": [{"type": "A", "status": "False"}, {"type": "Ready", "status": "True"}]}});
        let find = |p: &str| Path::parse(p).unwrap().find(&obj).cloned();
        assert_eq!(find(".spec.size"), Some(json!(3)));
        assert_eq!(find("{.spec.list[1].a}"), Some(json!(2)));
        assert_eq!(
            find(".metadata.labels['app.kubernetes.io/name']"),
            Some(json!("x"))
        );
        assert_eq!(
            find(r#".status.conditions[?(@.type=="Ready")].status"#),
            Some(json!("True"))
        );
        assert_eq!(find(".spec.missing"), None);
        assert_eq!(find(".spec.size.deeper"), None);
    }

    #[test]
    fn bad_paths_are_refused() {
        for p in ["spec.size", ".spec..size", ".spec[", ".spec[*]", ""] {
            assert!(Path::parse(p).is_err(), "{p}");
        }
    }

    #[test]
    fn set_creates_the_way() {
        let mut obj = json!({"spec": {}});
        assert!(Path::parse(".spec.scale.replicas")
            .unwrap()
            .set(&mut obj, json!(4)));
        assert_eq!(obj, json!({"spec": {"scale": {"replicas": 4}}}));
        assert!(!Path::parse(".spec[0]").unwrap().set(&mut obj, json!(1)));
    }
}
