//! Validation shared by every kind: names (`IsDNS1123Label`, `IsDNS1123Subdomain`), labels,
//! annotations, and the parts of `ValidateObjectMeta` we keep. Messages are kube-apiserver's,
//! because they reach the user verbatim through kubectl.

use serde_json::Value;

use crate::scheme::meta::StatusCause;
use crate::scheme::{forbidden, invalid, required};

const DNS1123_LABEL_ERR: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_SUBDOMAIN_ERR: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

fn is_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Why `s` is not a DNS-1123 label (at most 63 characters), or nothing if it is one.
pub fn dns1123_label(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    if !is_label(s) {
        errs.push(DNS1123_LABEL_ERR.to_string());
    }
    errs
}

const DNS1035_LABEL_ERR: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

/// Why `s` is not a DNS-1035 label (a DNS-1123 label that starts with a letter), or nothing:
/// what a CRD's resource names and versions must be.
pub fn dns1035_label(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    if !is_label(s) || !s.as_bytes()[0].is_ascii_lowercase() {
        errs.push(DNS1035_LABEL_ERR.to_string());
    }
    errs
}

/// Why `s` is not a DNS-1123 subdomain (dot-separated labels, at most 253 characters).
pub fn dns1123_subdomain(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 253 {
        errs.push("must be no more than 253 characters".to_string());
    }
    if s.is_empty() || !s.split('.').all(is_label) {
        errs.push(DNS1123_SUBDOMAIN_ERR.to_string());
    }
    errs
}

/// `IsQualifiedName` for label and annotation keys: an optional DNS-subdomain prefix and `/`,
/// then a name of at most 63 alphanumerics, `-`, `_` or `.`, starting and ending alphanumeric.
fn qualified_name(key: &str) -> Option<String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if let Some(e) = dns1123_subdomain(p).into_iter().next() {
            return Some(format!("prefix part {e}"));
        }
    }
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    (!ok).then(|| "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') and be at most 63 characters".to_string())
}

fn label_value(v: &str) -> bool {
    v.is_empty()
        || (v.len() <= 63
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && v.starts_with(|c: char| c.is_ascii_alphanumeric())
            && v.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

/// Which name rule a kind's `metadata.name` follows.
#[derive(Clone, Copy)]
pub enum NameRule {
    Label,
    Subdomain,
    /// The kind's strategy checks the name itself (an APIService is `<version>.<group>`, and
    /// `v1.` for the core group ends in a dot).
    ByStrategy,
}

/// `ValidateObjectMeta`: name (or generateName), labels, annotations, finalizers.
pub fn validate_object_meta(obj: &Value, rule: NameRule) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    let meta = &obj["metadata"];
    if !meta.is_object() {
        causes.push(required("metadata", ""));
        return causes;
    }
    match meta.get("name") {
        None | Some(Value::Null) => causes.push(required(
            "metadata.name",
            "name or generateName is required",
        )),
        Some(Value::String(name)) => {
            let errs = match rule {
                NameRule::Label => dns1123_label(name),
                NameRule::Subdomain => dns1123_subdomain(name),
                NameRule::ByStrategy => Vec::new(),
            };
            causes.extend(
                errs.iter()
                    .map(|e| invalid("metadata.name", &meta["name"], e)),
            );
        }
        Some(other) => causes.push(invalid("metadata.name", other, "must be a string")),
    }
    for field in ["labels", "annotations"] {
        match meta.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                let mut total = 0;
                for (k, v) in map {
                    let path = format!("metadata.{field}");
                    if let Some(e) = qualified_name(k) {
                        causes.push(invalid(&path, &Value::String(k.clone()), &e));
                    }
                    match v {
                        Value::String(s) if field == "labels" && !label_value(s) => causes.push(invalid(
                            &path,
                            v,
                            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
                        )),
                        Value::String(s) => total += k.len() + s.len(),
                        _ => causes.push(invalid(&format!("{path}.{k}"), v, "must be a string")),
                    }
                }
                if field == "annotations" && total > 256 * 1024 {
                    causes.push(StatusCause {
                        reason: "FieldValueTooLong".into(),
                        message: "Too long: must have at most 262144 bytes".into(),
                        field: "metadata.annotations".into(),
                    });
                }
            }
            Some(other) => causes.push(invalid(
                &format!("metadata.{field}"),
                other,
                "must be an object of strings",
            )),
        }
    }
    match meta.get("finalizers") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items))
            if items
                .iter()
                .all(|f| f.as_str().is_some_and(|s| qualified_name(s).is_none())) => {}
        Some(other) => causes.push(invalid(
            "metadata.finalizers",
            other,
            "must be a list of qualified names",
        )),
    }
    causes
}

/// The finalizers of an object; none when the field is missing.
pub fn finalizers(obj: &Value) -> &[Value] {
    obj["metadata"]["finalizers"]
        .as_array()
        .map_or(&[], Vec::as_slice)
}

/// The part of `ValidateObjectMetaUpdate` that needs the stored object: once an object is being
/// deleted, its finalizers may only go away.
pub fn validate_object_meta_update(new: &Value, old: &Value) -> Vec<StatusCause> {
    let before = finalizers(old);
    let being_deleted = !old["metadata"]["deletionTimestamp"].is_null();
    if being_deleted && finalizers(new).iter().any(|f| !before.contains(f)) {
        return vec![forbidden(
            "metadata.finalizers",
            "no new finalizers can be added if the object is being deleted",
        )];
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names() {
        assert!(dns1123_label("my-ns").is_empty());
        assert!(!dns1123_label("My_ns").is_empty());
        assert!(!dns1123_label(&"a".repeat(64)).is_empty());
        assert!(dns1123_subdomain("a.b-c.d").is_empty());
        assert!(!dns1123_subdomain("Bad_Name").is_empty());
        assert!(!dns1123_subdomain("a..b").is_empty());
    }

    #[test]
    fn object_meta_reports_every_field() {
        let obj = json!({"metadata": {"name": "Bad_Name", "labels": {"ok": "v", "bad key": "v", "k": "bad value"}}});
        let fields: Vec<String> = validate_object_meta(&obj, NameRule::Subdomain)
            .into_iter()
            .map(|c| c.field)
            .collect();
        assert_eq!(
            fields,
            ["metadata.name", "metadata.labels", "metadata.labels"]
        );
        assert_eq!(
            validate_object_meta(&json!({"metadata": {}}), NameRule::Label)[0].field,
            "metadata.name"
        );
        assert!(validate_object_meta(
            &json!({"metadata": {"name": "ok", "labels": {"example.com/tier": "web"}}}),
            NameRule::Label
        )
        .is_empty());
    }
}
