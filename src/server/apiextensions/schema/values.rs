//! Value validation of a custom object against its schema: `ValidateCustomResource`.
//!
//! kube runs kube-openapi's schema validator (a go-openapi fork) and turns each of its errors
//! into a field error (`kubeOpenAPIResultToFieldErrors`). Both halves are kept here: the
//! validator's names for places (`spec.replicas`, `spec.ports[0]`, `spec.labels.app`) and
//! messages (`spec.replicas in body should be less than or equal to 10`), and the field error
//! each becomes (`Required value`, `Unsupported value: ...`, `Invalid value: 11: ...`).

use serde_json::Value;

use super::formats;
use super::{AdditionalProperties, NestedValueValidation, Structural, ValueValidation};
use crate::scheme::meta::StatusCause;

/// Validates `obj` against `s`; causes are named under `base` (empty for a whole object,
/// `....default` for a schema's default).
pub fn validate_custom_resource(base: &str, obj: &Value, s: &Structural) -> Vec<StatusCause> {
    let mut v = Validator {
        base,
        errs: Vec::new(),
    };
    v.structural(obj, None, s, "");
    v.errs
}

/// Validates an update: a value equal to the one it replaces is not validated again
/// (`CRDValidationRatcheting`, on by default since Kubernetes 1.30), so a schema made stricter
/// does not lock existing objects. Object fields pair up by name, list items only in
/// `x-kubernetes-list-type: map` (by their keys) and `set` lists.
pub fn validate_custom_resource_update(
    base: &str,
    obj: &Value,
    old: &Value,
    s: &Structural,
) -> Vec<StatusCause> {
    let mut v = Validator {
        base,
        errs: Vec::new(),
    };
    v.structural(obj, Some(old), s, "");
    v.errs
}

/// The item of the old list that an item of the new one replaces, where kube can tell.
fn correlated_item<'a>(old: Option<&'a Value>, item: &Value, s: &Structural) -> Option<&'a Value> {
    let old_items = old?.as_array()?;
    match s.x_list_type.as_deref() {
        Some("map") => old_items
            .iter()
            .find(|o| s.x_list_map_keys.iter().all(|k| o.get(k) == item.get(k))),
        Some("set") => old_items.iter().find(|o| *o == item),
        _ => None,
    }
}

/// Go's `%v` of a float64: `%g` with the shortest digits, which writes an exponent from 1e6 up
/// and below 1e-4 (`1e+06`, `1.5`).
pub fn go_float(f: f64) -> String {
    if f == 0.0 || !f.is_finite() {
        return format!("{f}");
    }
    let exp = f.abs().log10().floor() as i32;
    if (-4..6).contains(&exp) {
        format!("{f}")
    } else {
        let sci = format!("{f:e}");
        let (mantissa, e) = sci.split_once('e').unwrap_or((&sci, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        format!("{mantissa}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
    }
}

/// How `field.Error` prints a bad value: strings quoted, numbers and booleans bare, `null`
/// quoted (Go substitutes the string), composites as JSON.
pub fn go_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "\"null\"".into(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if !(n.is_i64() || n.is_u64()) => go_float(f),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// The JSON type kube-openapi sees: JSON numbers decode to int64 when they can.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

struct Validator<'a> {
    base: &'a str,
    errs: Vec<StatusCause>,
}

/// The validator's name for a property of `name`.
fn child(name: &str, key: &str) -> String {
    if name.is_empty() {
        key.to_string()
    } else {
        format!("{name}.{key}")
    }
}

impl Validator<'_> {
    /// `errPath`: the base path, then the validator's name without its leading dot.
    fn field(&self, name: &str) -> String {
        let name = name.trim_start_matches('.');
        match (self.base, name) {
            (base, "") => base.to_string(),
            ("", name) => name.to_string(),
            (base, name) => format!("{base}.{name}"),
        }
    }

    fn push(&mut self, reason: &str, name: &str, body: String) {
        let field = self.field(name);
        self.errs.push(StatusCause {
            reason: reason.into(),
            message: body,
            field,
        });
    }

    /// `field.Invalid(errPath, value, err.Error())`: every failure without a closer match.
    fn invalid(&mut self, name: &str, value: &str, detail: String) {
        self.push(
            "FieldValueInvalid",
            name,
            format!("Invalid value: {value}: {name} in body {detail}"),
        );
    }

    fn type_invalid(&mut self, name: &str, observed: &str, want: &str) {
        self.push(
            "FieldValueTypeInvalid",
            name,
            format!(
                "Invalid value: {observed:?}: {name} in body must be of type {want}: {observed:?}"
            ),
        );
    }

    fn check_type(&mut self, value: &Value, types: &[&str], nullable: bool, name: &str) {
        if types.is_empty() {
            return;
        }
        let observed = json_type(value);
        let ok = match value {
            Value::Null => nullable,
            Value::Number(n) => {
                types.contains(&observed)
                    || (observed == "integer" && types.contains(&"number"))
                    || (types.contains(&"integer") && n.as_f64().is_some_and(|f| f.fract() == 0.0))
            }
            _ => types.contains(&observed),
        };
        if !ok {
            self.type_invalid(name, observed, &types.join(","));
        }
    }

    // ANCHOR: validate_structural
    fn structural(&mut self, value: &Value, old: Option<&Value>, s: &Structural, name: &str) {
        if old == Some(value) {
            return;
        }
        let types: Vec<&str> = if s.x_int_or_string {
            vec!["integer", "string"]
        } else if s.type_.is_empty() {
            Vec::new()
        } else {
            vec![s.type_.as_str()]
        };
        self.check_type(value, &types, s.nullable, name);
        if value.is_null() {
            // Only the type and the enum apply to a null.
            self.check_enum(value, &s.value_validation, name);
            return;
        }
        self.values(value, &s.value_validation, name);
        match value {
            Value::Array(items) => {
                if let Some(item_schema) = &s.items {
                    for (i, item) in items.iter().enumerate() {
                        let old_item = correlated_item(old, item, s);
                        self.structural(item, old_item, item_schema, &format!("{name}[{i}]"));
                    }
                }
            }
            Value::Object(fields) => {
                for (k, v) in fields {
                    let old_v = old.and_then(|o| o.get(k));
                    match (s.properties.get(k), &s.additional_properties) {
                        (Some(p), _) => self.structural(v, old_v, p, &child(name, k)),
                        (None, Some(AdditionalProperties::Schema(a))) => {
                            self.structural(v, old_v, a, &format!("{name}.{k}"))
                        }
                        (None, Some(AdditionalProperties::Bool(false))) => {
                            let prop = format!("{name}.{k}");
                            self.push(
                                "FieldValueInvalid",
                                name,
                                format!(
                                    "Invalid value: {k:?}: {prop} in body is a forbidden property"
                                ),
                            );
                        }
                        _ => {}
                    }
                }
                self.check_required(fields, &s.value_validation, name);
            }
            _ => {}
        }
    }
    // ANCHOR_END: validate_structural

    /// A schema under a junctor: its checks, and those of the properties and items it names.
    fn nested(&mut self, value: &Value, n: &NestedValueValidation, name: &str) {
        if !n.forbidden_type.is_empty() {
            self.check_type(value, &[n.forbidden_type.as_str()], false, name);
        }
        if value.is_null() {
            self.check_enum(value, &n.value_validation, name);
            return;
        }
        self.values(value, &n.value_validation, name);
        match value {
            Value::Array(items) => {
                if let Some(item_schema) = &n.items {
                    for (i, item) in items.iter().enumerate() {
                        self.nested(item, item_schema, &format!("{name}[{i}]"));
                    }
                }
            }
            Value::Object(fields) => {
                for (k, v) in fields {
                    match (n.properties.get(k), &n.additional_properties) {
                        (Some(p), _) => self.nested(v, p, &child(name, k)),
                        (None, Some(a)) => self.nested(v, a, &format!("{name}.{k}")),
                        _ => {}
                    }
                }
                self.check_required(fields, &n.value_validation, name);
            }
            _ => {}
        }
    }

    /// Whether `value` passes `n`, without reporting.
    fn passes(&self, value: &Value, n: &NestedValueValidation, name: &str) -> Vec<StatusCause> {
        let mut probe = Validator {
            base: self.base,
            errs: Vec::new(),
        };
        probe.nested(value, n, name);
        probe.errs
    }

    /// The checks of one node, in kube-openapi's order, except the type's and the recursion.
    fn values(&mut self, value: &Value, v: &ValueValidation, name: &str) {
        self.junctors(value, v, name);
        match value {
            Value::String(s) => self.check_string(s, v, name),
            Value::Number(_) => self.check_number(value, v, name),
            Value::Array(items) => self.check_items(items, v, name),
            Value::Object(fields) => {
                let n = fields.len() as i64;
                if let Some(min) = v.min_properties.filter(|&m| n < m) {
                    self.invalid(
                        name,
                        &min.to_string(),
                        format!("should have at least {min} properties"),
                    );
                }
                if let Some(max) = v.max_properties.filter(|&m| n > m) {
                    self.push(
                        "FieldValueTooMany",
                        name,
                        format!("Too many: {n}: must have at most {max} items"),
                    );
                }
            }
            _ => {}
        }
        self.check_enum(value, v, name);
    }

    fn junctors(&mut self, value: &Value, v: &ValueValidation, name: &str) {
        for n in &v.all_of {
            self.nested(value, n, name);
        }
        let quoted = format!("{name:?}");
        if !v.any_of.is_empty() {
            let failures: Vec<Vec<StatusCause>> = v
                .any_of
                .iter()
                .map(|n| self.passes(value, n, name))
                .collect();
            if failures.iter().all(|f| !f.is_empty()) {
                self.push(
                    "FieldValueInvalid",
                    name,
                    format!(
                        "Invalid value: \"\": {quoted} must validate at least one schema (anyOf)"
                    ),
                );
                self.errs
                    .extend(failures.into_iter().next().unwrap_or_default());
            }
        }
        if !v.one_of.is_empty() {
            let failures: Vec<Vec<StatusCause>> = v
                .one_of
                .iter()
                .map(|n| self.passes(value, n, name))
                .collect();
            let valid = failures.iter().filter(|f| f.is_empty()).count();
            if valid != 1 {
                let found = if valid == 0 {
                    "Found none valid".to_string()
                } else {
                    format!("Found {valid} valid alternatives")
                };
                self.push(
                    "FieldValueInvalid",
                    name,
                    format!("Invalid value: \"\": {quoted} must validate one and only one schema (oneOf). {found}"),
                );
                if valid == 0 {
                    self.errs
                        .extend(failures.into_iter().next().unwrap_or_default());
                }
            }
        }
        if let Some(not) = &v.not {
            if self.passes(value, not, name).is_empty() {
                self.push(
                    "FieldValueInvalid",
                    name,
                    format!("Invalid value: \"\": {quoted} must not validate the schema (not)"),
                );
            }
        }
    }

    fn check_string(&mut self, s: &str, v: &ValueValidation, name: &str) {
        let quoted = format!("{s:?}");
        let len = s.chars().count() as i64;
        if let Some(max) = v.max_length.filter(|&m| len > m) {
            self.push(
                "FieldValueTooLong",
                name,
                format!("Too long: may not be longer than {max}"),
            );
        }
        if let Some(min) = v.min_length.filter(|&m| len < m) {
            self.invalid(
                name,
                &quoted,
                format!("should be at least {min} chars long"),
            );
        }
        if let Some(re) = &v.pattern {
            if !re.is_match(s) {
                self.invalid(name, &quoted, format!("should match '{}'", re.as_str()));
            }
        }
        if formats::validates(&v.format, s) == Some(false) {
            self.type_invalid_format(name, s, &v.format);
        }
    }

    fn type_invalid_format(&mut self, name: &str, s: &str, format: &str) {
        self.push(
            "FieldValueTypeInvalid",
            name,
            format!("Invalid value: {s:?}: {name} in body must be of type {format}: {s:?}"),
        );
    }

    fn check_number(&mut self, value: &Value, v: &ValueValidation, name: &str) {
        let shown = go_value(value);
        // An integer is compared with the bound cut to an integer, as kube-openapi does.
        let int = value.as_i64();
        let data = value.as_f64().unwrap_or(0.0);
        let bound = |b: f64| match int {
            Some(_) => ((b as i64) as f64, (b as i64).to_string()),
            None => (b, go_float(b)),
        };
        if let Some(max) = v.maximum {
            let (max, text) = bound(max);
            if (!v.exclusive_maximum && data > max) || (v.exclusive_maximum && data >= max) {
                let op = if v.exclusive_maximum {
                    "less than"
                } else {
                    "less than or equal to"
                };
                self.invalid(name, &shown, format!("should be {op} {text}"));
            }
        }
        if let Some(min) = v.minimum {
            let (min, text) = bound(min);
            if (!v.exclusive_minimum && data < min) || (v.exclusive_minimum && data <= min) {
                let op = if v.exclusive_minimum {
                    "greater than"
                } else {
                    "greater than or equal to"
                };
                self.invalid(name, &shown, format!("should be {op} {text}"));
            }
        }
        if let Some(factor) = v.multiple_of {
            if factor <= 0.0 {
                self.invalid(
                    name,
                    &go_float(factor),
                    format!(
                        "factor MultipleOf declared for {name} must be positive: {}",
                        go_float(factor)
                    ),
                );
            } else {
                let multiple = match int {
                    Some(i) => {
                        let f = factor as i64;
                        f != 0 && i % f == 0
                    }
                    None => {
                        let m = if factor < 1.0 {
                            1.0 / factor * data
                        } else {
                            data / factor
                        };
                        m.fract() == 0.0
                    }
                };
                if !multiple {
                    let text = if int.is_some() {
                        (factor as i64).to_string()
                    } else {
                        go_float(factor)
                    };
                    self.invalid(name, &shown, format!("should be a multiple of {text}"));
                }
            }
        }
    }

    fn check_items(&mut self, items: &[Value], v: &ValueValidation, name: &str) {
        let n = items.len() as i64;
        if let Some(min) = v.min_items.filter(|&m| n < m) {
            self.invalid(
                name,
                &n.to_string(),
                format!("should have at least {min} items"),
            );
        }
        if let Some(max) = v.max_items.filter(|&m| n > m) {
            self.push(
                "FieldValueTooMany",
                name,
                format!("Too many: {n}: must have at most {max} items"),
            );
        }
        if v.unique_items && (1..items.len()).any(|i| items[..i].contains(&items[i])) {
            self.invalid(name, "\"\"", "shouldn't contain duplicates".into());
        }
    }

    fn check_enum(&mut self, value: &Value, v: &ValueValidation, name: &str) {
        let Some(allowed) = &v.enum_ else {
            return;
        };
        let same = |a: &Value| match (a, value) {
            (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
            (a, b) => !b.is_null() && a == b,
        };
        if allowed.iter().any(same) {
            return;
        }
        let supported: Vec<String> = (allowed.iter())
            .map(|a| match a {
                Value::String(s) => format!("{s:?}"),
                other => format!("{:?}", other.to_string()),
            })
            .collect();
        let detail = if supported.is_empty() {
            String::new()
        } else {
            format!(": supported values: {}", supported.join(", "))
        };
        self.push(
            "FieldValueNotSupported",
            name,
            format!("Unsupported value: {}{detail}", go_value(value)),
        );
    }

    fn check_required(
        &mut self,
        fields: &serde_json::Map<String, Value>,
        v: &ValueValidation,
        name: &str,
    ) {
        for k in &v.required {
            if !fields.contains_key(k) {
                self.push(
                    "FieldValueRequired",
                    &format!("{name}.{k}"),
                    "Required value".into(),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(s: Value) -> Structural {
        Structural::new(&s, "s").unwrap()
    }

    fn errors(s: &Structural, obj: Value) -> Vec<(String, String, String)> {
        s.validate(&obj)
            .into_iter()
            .map(|c| (c.field, c.reason, c.message))
            .collect()
    }

    fn crontab() -> Structural {
        schema(
            json!({"type": "object", "properties": {"spec": {"type": "object",
            "required": ["cronSpec"],
            "properties": {
                "cronSpec": {"type": "string", "pattern": "^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$"},
                "image": {"type": "string", "minLength": 1, "maxLength": 10},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 10},
                "ratio": {"type": "number", "exclusiveMinimum": true, "minimum": 0, "exclusiveMaximum": true, "maximum": 1.5},
                "mode": {"type": "string", "enum": ["Fast", "Slow"]},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "note": {"type": "string", "nullable": true},
                "port": {"x-kubernetes-int-or-string": true},
            }}}}),
        )
    }

    #[test]
    fn a_valid_crontab_has_no_errors() {
        let s = crontab();
        assert!(errors(&s, json!({"apiVersion": "stable.example.com/v1", "kind": "CronTab",
            "metadata": {"name": "x"},
            "spec": {"cronSpec": "* * * * */5", "image": "img", "replicas": 3, "ratio": 0.5,
                     "mode": "Fast", "tags": ["a"], "labels": {"a": "b"}, "note": null, "port": "http"}}))
        .is_empty());
        assert!(errors(
            &s,
            json!({"spec": {"cronSpec": "* * * * *", "replicas": 2.0, "port": 80}})
        )
        .is_empty());
    }

    #[test]
    fn failures_read_as_kube_reports_them() {
        let s = crontab();
        let got = errors(
            &s,
            json!({"spec": {"cronSpec": "bad", "image": "", "replicas": 11, "ratio": 1.5,
                "mode": "Medium", "tags": ["a", "b", "c"], "labels": {"a": 1}, "port": true}}),
        );
        let want = [
            ("spec.cronSpec", "FieldValueInvalid", "Invalid value: \"bad\": spec.cronSpec in body should match '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'"),
            ("spec.image", "FieldValueInvalid", "Invalid value: \"\": spec.image in body should be at least 1 chars long"),
            ("spec.labels.a", "FieldValueTypeInvalid", "Invalid value: \"integer\": spec.labels.a in body must be of type string: \"integer\""),
            ("spec.mode", "FieldValueNotSupported", "Unsupported value: \"Medium\": supported values: \"Fast\", \"Slow\""),
            ("spec.port", "FieldValueTypeInvalid", "Invalid value: \"boolean\": spec.port in body must be of type integer,string: \"boolean\""),
            ("spec.ratio", "FieldValueInvalid", "Invalid value: 1.5: spec.ratio in body should be less than 1.5"),
            ("spec.replicas", "FieldValueInvalid", "Invalid value: 11: spec.replicas in body should be less than or equal to 10"),
            ("spec.tags", "FieldValueTooMany", "Too many: 3: must have at most 2 items"),
        ];
        for (field, reason, message) in want {
            assert!(
                got.contains(&(field.into(), reason.into(), message.into())),
                "{field}: {message}\nnot in {got:#?}"
            );
        }
        assert_eq!(got.len(), want.len(), "{got:#?}");
    }

    #[test]
    fn required_types_and_nulls() {
        let s = crontab();
        assert_eq!(
            errors(&s, json!({"spec": {"replicas": "3", "image": null, "tags": []}})),
            [
                ("spec.image".into(), "FieldValueTypeInvalid".into(), "Invalid value: \"null\": spec.image in body must be of type string: \"null\"".into()),
                ("spec.replicas".into(), "FieldValueTypeInvalid".into(), "Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\"".into()),
                ("spec.tags".into(), "FieldValueInvalid".into(), "Invalid value: 0: spec.tags in body should have at least 1 items".into()),
                ("spec.cronSpec".into(), "FieldValueRequired".into(), "Required value".into()),
            ]
        );
        let long = errors(
            &s,
            json!({"spec": {"cronSpec": "* * * * *", "image": "much-too-long"}}),
        );
        assert_eq!(
            long,
            [(
                "spec.image".into(),
                "FieldValueTooLong".into(),
                "Too long: may not be longer than 10".into()
            )]
        );
    }

    #[test]
    fn required_at_the_root_and_items_by_index() {
        let s = schema(
            json!({"type": "object", "required": ["spec"], "properties": {
            "spec": {"type": "object", "properties": {"ports": {"type": "array",
                "items": {"type": "object", "required": ["port"], "properties": {"port": {"type": "integer", "maximum": 65535}}}}}}}}),
        );
        assert_eq!(
            errors(&s, json!({})),
            [(
                "spec".into(),
                "FieldValueRequired".into(),
                "Required value".into()
            )]
        );
        assert_eq!(
            errors(&s, json!({"spec": {"ports": [{"port": 1}, {"port": 70000}, {}]}})),
            [
                ("spec.ports[1].port".into(), "FieldValueInvalid".into(), "Invalid value: 70000: spec.ports[1].port in body should be less than or equal to 65535".into()),
                ("spec.ports[2].port".into(), "FieldValueRequired".into(), "Required value".into()),
            ]
        );
    }

    #[test]
    fn junctors_and_formats() {
        let s = schema(json!({"type": "object", "properties": {
            "a": {"type": "string", "anyOf": [{"pattern": "^x"}, {"pattern": "^y"}]},
            "b": {"type": "string", "not": {"pattern": "^z"}},
            "c": {"type": "string", "format": "date-time"},
            "d": {"type": "string", "format": "uuid"},
            "e": {"type": "integer", "multipleOf": 5},
        }}));
        assert!(errors(
            &s,
            json!({"a": "yes", "b": "ok", "c": "2024-01-02T03:04:05Z",
            "d": "123e4567-e89b-12d3-a456-426614174000", "e": 10})
        )
        .is_empty());
        let got = errors(
            &s,
            json!({"a": "no", "b": "zed", "c": "yesterday", "d": "nope", "e": 7}),
        );
        assert!(got.contains(&(
            "a".into(),
            "FieldValueInvalid".into(),
            "Invalid value: \"\": \"a\" must validate at least one schema (anyOf)".into()
        )));
        assert!(got.contains(&(
            "b".into(),
            "FieldValueInvalid".into(),
            "Invalid value: \"\": \"b\" must not validate the schema (not)".into()
        )));
        assert!(got.contains(&(
            "c".into(),
            "FieldValueTypeInvalid".into(),
            "Invalid value: \"yesterday\": c in body must be of type date-time: \"yesterday\""
                .into()
        )));
        assert!(got.contains(&(
            "d".into(),
            "FieldValueTypeInvalid".into(),
            "Invalid value: \"nope\": d in body must be of type uuid: \"nope\"".into()
        )));
        assert!(got.contains(&(
            "e".into(),
            "FieldValueInvalid".into(),
            "Invalid value: 7: e in body should be a multiple of 5".into()
        )));
    }

    #[test]
    fn go_prints_floats_its_own_way() {
        assert_eq!(go_float(1.5), "1.5");
        assert_eq!(go_float(10.0), "10");
        assert_eq!(go_float(123456.0), "123456");
        assert_eq!(go_float(1e6), "1e+06");
        assert_eq!(go_float(1234567.5), "1.2345675e+06");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(go_value(&json!(null)), "\"null\"");
    }

    #[test]
    fn unchanged_values_are_not_validated_again_on_update() {
        let s = schema(
            json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
                "image": {"type": "string", "maxLength": 3},
                "size": {"type": "integer", "maximum": 5},
                "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                          "items": {"type": "object", "required": ["name"], "properties": {
                              "name": {"type": "string"}, "port": {"type": "integer", "maximum": 100}}}},
                "args": {"type": "array", "items": {"type": "string", "maxLength": 2}},
            }}}}),
        );
        let old = json!({"spec": {"image": "too-long", "size": 9,
            "ports": [{"name": "a", "port": 500}, {"name": "b", "port": 1}], "args": ["long"]}});
        // Only what changed is checked: `size`, the port named b, and the atomic list as a whole.
        let new = json!({"spec": {"image": "too-long", "size": 8,
            "ports": [{"name": "b", "port": 700}, {"name": "a", "port": 500}], "args": ["long", "x"]}});
        let fields: Vec<String> = s
            .validate_update(&new, &old)
            .into_iter()
            .map(|c| c.field)
            .collect();
        assert_eq!(fields, ["spec.args[0]", "spec.ports[0].port", "spec.size"]);
        assert!(s.validate_update(&old, &old).is_empty());
        assert_eq!(s.validate(&old).len(), 4);
    }
}
