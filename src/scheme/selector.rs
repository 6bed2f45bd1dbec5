//! Label and field selectors, as `k8s.io/apimachinery/pkg/labels` and `.../fields` parse them.
//!
//! Labels: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a` (exists), `!a` (does not exist),
//! joined by commas, all of which must hold. Fields: `path=value`, `path==value`, `path!=value`.

use serde_json::Value;

use super::meta::StatusError;

#[derive(Clone, Debug, PartialEq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A parsed `labelSelector`; the empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabelSelector(Vec<Requirement>);

fn bad(selector: &str, why: &str) -> StatusError {
    StatusError::bad_request(format!(
        "unable to parse requirement: {why} in selector {selector:?}"
    ))
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(s: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 317
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
}

fn valid_value(v: &str) -> bool {
    v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

impl LabelSelector {
    pub fn parse(text: &str) -> Result<LabelSelector, StatusError> {
        let mut reqs = Vec::new();
        for raw in split_top_level(text) {
            let part = raw.trim();
            if part.is_empty() {
                continue;
            }
            let req = if let Some(key) = part.strip_prefix('!') {
                Requirement::DoesNotExist(key.trim().to_string())
            } else if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotEquals(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                Requirement::Equals(k.trim().into(), v.trim().into())
            } else if let Some((k, set)) = split_set(part, " notin ") {
                Requirement::NotIn(
                    k,
                    set.ok_or_else(|| bad(text, "expected a set in parentheses"))?,
                )
            } else if let Some((k, set)) = split_set(part, " in ") {
                Requirement::In(
                    k,
                    set.ok_or_else(|| bad(text, "expected a set in parentheses"))?,
                )
            } else {
                Requirement::Exists(part.to_string())
            };
            let (key, values): (&str, Vec<&str>) = match &req {
                Requirement::Equals(k, v) | Requirement::NotEquals(k, v) => (k, vec![v.as_str()]),
                Requirement::In(k, vs) | Requirement::NotIn(k, vs) => {
                    (k, vs.iter().map(String::as_str).collect())
                }
                Requirement::Exists(k) | Requirement::DoesNotExist(k) => (k, vec![]),
            };
            if !valid_key(key) {
                return Err(bad(text, &format!("invalid label key {key:?}")));
            }
            if let Some(v) = values.iter().find(|v| !valid_value(v)) {
                return Err(bad(text, &format!("invalid label value {v:?}")));
            }
            reqs.push(req);
        }
        Ok(LabelSelector(reqs))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether an object with these labels (`metadata.labels`) is selected.
    pub fn matches(&self, labels: Option<&serde_json::Map<String, Value>>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => !get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::DoesNotExist(k) => get(k).is_none(),
        })
    }
}

/// `key in (a,b)` to `(key, Some([a, b]))`; `None` for the set when the parentheses are missing.
fn split_set(part: &str, op: &str) -> Option<(String, Option<Vec<String>>)> {
    let (k, rest) = part.split_once(op)?;
    let rest = rest.trim();
    let set = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .map(|inner| {
            inner
                .split(',')
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect()
        });
    Some((k.trim().to_string(), set))
}

/// A parsed `fieldSelector`: every term must hold.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    pub fn parse(text: &str) -> Result<FieldSelector, StatusError> {
        let mut terms = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (field, equal, value) = if let Some((f, v)) = part.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                (f, true, v)
            } else {
                return Err(StatusError::bad_request(format!(
                    "invalid selector: '{text}'; can't understand '{part}'"
                )));
            };
            terms.push((field.trim().to_string(), equal, value.trim().to_string()));
        }
        Ok(FieldSelector(terms))
    }

    /// `RequiresExactMatch("metadata.name")`: a watch or list of one named object.
    pub fn exact_match(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, eq, _)| f == field && *eq)
            .map(|(_, _, v)| v.as_str())
    }

    /// Checks that every field is one the resource supports (`supported` lists them beyond
    /// `metadata.name` and `metadata.namespace`); kube-apiserver answers 400 otherwise.
    pub fn check_fields(&self, supported: &[&str]) -> Result<(), StatusError> {
        for (f, _, _) in &self.0 {
            if f != "metadata.name" && f != "metadata.namespace" && !supported.contains(&f.as_str())
            {
                return Err(StatusError::bad_request(format!(
                    "field label not supported: {f}"
                )));
            }
        }
        Ok(())
    }

    /// Whether the object's fields (looked up by dotted path) satisfy every term.
    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(path, equal, want)| {
            let got = path
                .split('.')
                .try_fold(obj, |v, seg| v.get(seg))
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                })
                .unwrap_or_default();
            (got == *want) == *equal
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn label_selectors_of_every_form() {
        let l = labels(json!({"tier": "backend", "env": "prod"}));
        let sel = |s: &str| LabelSelector::parse(s).unwrap().matches(Some(&l));
        assert!(sel("tier=backend"));
        assert!(sel("tier==backend,env"));
        assert!(!sel("tier!=backend"));
        assert!(sel("env in (prod, staging)"));
        assert!(!sel("env notin (prod)"));
        assert!(sel("!missing"));
        assert!(!sel("missing"));
        assert!(sel(""));
        assert!(LabelSelector::parse("a in x").is_err());
        assert!(LabelSelector::parse("bad key!=x y").is_err());
    }

    #[test]
    fn field_selectors() {
        let obj = json!({"metadata": {"name": "a", "namespace": "demo"}, "type": "Opaque"});
        assert!(FieldSelector::parse("metadata.name=a")
            .unwrap()
            .matches(&obj));
        assert!(!FieldSelector::parse("metadata.namespace!=demo")
            .unwrap()
            .matches(&obj));
        assert_eq!(
            FieldSelector::parse("metadata.name==a")
                .unwrap()
                .exact_match("metadata.name"),
            Some("a")
        );
        assert!(FieldSelector::parse("nonsense").is_err());
        assert_eq!(
            FieldSelector::parse("spec.x=1")
                .unwrap()
                .check_fields(&[])
                .unwrap_err()
                .code(),
            400
        );
    }
}
