//! A version's `openAPIV3Schema` read from JSON as kube's `JSONSchemaProps`, every keyword kept
//! (even those a CRD may not use), so that [`super::convert`] can refuse them by name.
//!
//! kube decodes the schema into the Go struct first; a keyword of the wrong JSON type is a decode
//! error there. Here it is a cause naming the keyword, with the same field path.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::scheme::invalid;
use crate::scheme::meta::StatusCause;

/// `JSONSchemaPropsOrBool` of `additionalProperties`.
#[derive(Clone, Debug)]
pub enum PropsOrBool {
    Bool(bool),
    Schema(Box<Props>),
}

/// `JSONSchemaProps`.
#[derive(Clone, Debug, Default)]
pub struct Props {
    pub id: String,
    pub schema_uri: String,
    pub ref_: Option<String>,
    pub description: String,
    pub type_: String,
    pub format: String,
    pub title: String,
    pub default: Option<Value>,
    pub maximum: Option<f64>,
    pub exclusive_maximum: bool,
    pub minimum: Option<f64>,
    pub exclusive_minimum: bool,
    pub max_length: Option<i64>,
    pub min_length: Option<i64>,
    pub pattern: String,
    pub max_items: Option<i64>,
    pub min_items: Option<i64>,
    pub unique_items: bool,
    pub multiple_of: Option<f64>,
    pub enum_: Option<Vec<Value>>,
    pub max_properties: Option<i64>,
    pub min_properties: Option<i64>,
    pub required: Vec<String>,
    pub items: Option<Box<Props>>,
    /// `items` given as an array of schemas (JSON Schema's tuple form).
    pub items_array: Vec<Props>,
    pub all_of: Vec<Props>,
    pub one_of: Vec<Props>,
    pub any_of: Vec<Props>,
    pub not: Option<Box<Props>>,
    pub properties: BTreeMap<String, Props>,
    pub additional_properties: Option<PropsOrBool>,
    pub pattern_properties: BTreeMap<String, Props>,
    pub dependencies: bool,
    pub additional_items: bool,
    pub definitions: BTreeMap<String, Props>,
    pub external_docs: Option<Value>,
    pub example: Option<Value>,
    pub nullable: bool,
    pub x_preserve_unknown_fields: Option<bool>,
    pub x_embedded_resource: bool,
    pub x_int_or_string: bool,
    pub x_list_map_keys: Vec<String>,
    pub x_list_type: Option<String>,
    pub x_map_type: Option<String>,
    pub x_validations: Option<Value>,
}

/// Reads one schema object at `path` (`spec.versions[0].schema.openAPIV3Schema`).
pub fn parse(value: &Value, path: &str, errs: &mut Vec<StatusCause>) -> Props {
    *parse_at(value, path, errs)
}

// One call per level of the schema, its keywords read in `scalars`: a level costs little stack.
fn parse_at(value: &Value, path: &str, errs: &mut Vec<StatusCause>) -> Box<Props> {
    let mut props = Box::<Props>::default();
    let Some(fields) = value.as_object() else {
        errs.push(invalid(path, value, "must be a JSON object"));
        return props;
    };
    let mut r = Reader { fields, path, errs };
    scalars(&mut props, &mut r);
    match fields.get("items") {
        None | Some(Value::Null) => {}
        Some(Value::Array(schemas)) => {
            props.items_array = r.each(schemas, &format!("{path}.items"))
        }
        Some(schema) => props.items = Some(r.one(schema, "items")),
    }
    props.all_of = r.schemas("allOf");
    props.one_of = r.schemas("oneOf");
    props.any_of = r.schemas("anyOf");
    if let Some(not) = fields.get("not").filter(|v| !v.is_null()) {
        props.not = Some(r.one(not, "not"));
    }
    props.properties = r.schema_map("properties");
    props.additional_properties = match fields.get("additionalProperties") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(PropsOrBool::Bool(*b)),
        Some(schema) => Some(PropsOrBool::Schema(r.one(schema, "additionalProperties"))),
    };
    props.pattern_properties = r.schema_map("patternProperties");
    props.definitions = r.schema_map("definitions");
    props
}

/// Every keyword that is not itself a schema.
#[inline(never)]
fn scalars(props: &mut Props, r: &mut Reader) {
    let fields = r.fields;
    props.id = r.string("id");
    props.schema_uri = r.string("$schema");
    props.ref_ = fields.get("$ref").map(|_| r.string("$ref"));
    props.description = r.string("description");
    props.type_ = r.string("type");
    props.format = r.string("format");
    props.title = r.string("title");
    props.default = fields.get("default").cloned();
    props.maximum = r.number("maximum");
    props.exclusive_maximum = r.bool("exclusiveMaximum");
    props.minimum = r.number("minimum");
    props.exclusive_minimum = r.bool("exclusiveMinimum");
    props.max_length = r.integer("maxLength");
    props.min_length = r.integer("minLength");
    props.pattern = r.string("pattern");
    props.max_items = r.integer("maxItems");
    props.min_items = r.integer("minItems");
    props.unique_items = r.bool("uniqueItems");
    props.multiple_of = r.number("multipleOf");
    props.enum_ = r.array("enum").map(<[Value]>::to_vec);
    props.max_properties = r.integer("maxProperties");
    props.min_properties = r.integer("minProperties");
    props.required = r.strings("required");
    props.dependencies = fields.get("dependencies").is_some_and(|v| !v.is_null());
    props.additional_items = fields.get("additionalItems").is_some_and(|v| !v.is_null());
    props.external_docs = fields.get("externalDocs").filter(|v| !v.is_null()).cloned();
    props.example = fields.get("example").filter(|v| !v.is_null()).cloned();
    props.nullable = r.bool("nullable");
    props.x_preserve_unknown_fields = fields
        .get("x-kubernetes-preserve-unknown-fields")
        .filter(|v| !v.is_null())
        .map(|_| r.bool("x-kubernetes-preserve-unknown-fields"));
    props.x_embedded_resource = r.bool("x-kubernetes-embedded-resource");
    props.x_int_or_string = r.bool("x-kubernetes-int-or-string");
    props.x_list_map_keys = r.strings("x-kubernetes-list-map-keys");
    props.x_list_type = fields
        .get("x-kubernetes-list-type")
        .filter(|v| !v.is_null())
        .map(|_| r.string("x-kubernetes-list-type"));
    props.x_map_type = fields
        .get("x-kubernetes-map-type")
        .filter(|v| !v.is_null())
        .map(|_| r.string("x-kubernetes-map-type"));
    props.x_validations = fields
        .get("x-kubernetes-validations")
        .filter(|v| !v.is_null())
        .cloned();
}

struct Reader<'a> {
    fields: &'a Map<String, Value>,
    path: &'a str,
    errs: &'a mut Vec<StatusCause>,
}

impl<'a> Reader<'a> {
    fn child(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    fn wrong(&mut self, key: &str, want: &str) {
        let value = self.fields[key].clone();
        let path = self.child(key);
        self.errs
            .push(invalid(&path, &value, &format!("must be {want}")));
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key).filter(|v| !v.is_null())
    }

    fn string(&mut self, key: &str) -> String {
        match self.get(key) {
            None => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                self.wrong(key, "a string");
                String::new()
            }
        }
    }

    fn bool(&mut self, key: &str) -> bool {
        match self.get(key) {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                self.wrong(key, "a boolean");
                false
            }
        }
    }

    fn number(&mut self, key: &str) -> Option<f64> {
        let v = self.get(key)?;
        match v.as_f64() {
            Some(n) => Some(n),
            None => {
                self.wrong(key, "a number");
                None
            }
        }
    }

    fn integer(&mut self, key: &str) -> Option<i64> {
        let v = self.get(key)?;
        match v.as_i64() {
            Some(n) => Some(n),
            None => {
                self.wrong(key, "an integer");
                None
            }
        }
    }

    fn array(&mut self, key: &str) -> Option<&'a [Value]> {
        let fields = self.fields;
        match fields.get(key).filter(|v| !v.is_null()) {
            None => None,
            Some(Value::Array(a)) => Some(a),
            Some(_) => {
                self.wrong(key, "an array");
                None
            }
        }
    }

    fn strings(&mut self, key: &str) -> Vec<String> {
        let Some(items) = self.array(key) else {
            return Vec::new();
        };
        if items.iter().all(Value::is_string) {
            items
                .iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        } else {
            self.wrong(key, "an array of strings");
            Vec::new()
        }
    }

    /// The schema under `key`, one level down.
    fn one(&mut self, schema: &Value, key: &str) -> Box<Props> {
        parse_at(schema, &self.child(key), self.errs)
    }

    fn each(&mut self, schemas: &[Value], path: &str) -> Vec<Props> {
        (schemas.iter().enumerate())
            .map(|(i, s)| *parse_at(s, &format!("{path}[{i}]"), self.errs))
            .collect()
    }

    fn schemas(&mut self, key: &str) -> Vec<Props> {
        let path = self.child(key);
        let Some(items) = self.array(key) else {
            return Vec::new();
        };
        self.each(items, &path)
    }

    fn schema_map(&mut self, key: &str) -> BTreeMap<String, Props> {
        let path = self.child(key);
        let fields = self.fields;
        match fields.get(key).filter(|v| !v.is_null()) {
            None => BTreeMap::new(),
            Some(Value::Object(m)) => (m.iter())
                .map(|(k, v)| {
                    let p = parse_at(v, &format!("{path}[{k}]"), self.errs);
                    (k.clone(), *p)
                })
                .collect(),
            Some(_) => {
                self.wrong(key, "an object");
                BTreeMap::new()
            }
        }
    }
}
