//! Structural schemas: what a CRD version's `openAPIV3Schema` means to the server (stage 4, book
//! chapter 4, "Structural schemas").
//!
//! Mirrors `k8s.io/apiextensions-apiserver/pkg/apiserver/schema`: a schema is *structural* when
//! every field it lets through has a type, given outside `allOf`/`anyOf`/`oneOf`/`not` (those
//! may only add value checks). kube refuses other schemas in `apiextensions.k8s.io/v1`, because
//! only a structural schema says, for any JSON, which fields are known. With that, a custom
//! object is handled in the order kube's custom resource handler uses:
//!
//! 1. [`Structural::prune`] drops the fields the schema does not know (`pruning.Prune`), which
//!    `fieldValidation=Strict` turns into a 400 and `Warn` into warnings;
//! 2. [`Structural::default`] fills in `default`s (`defaulting.Default`);
//! 3. [`Structural::validate`] checks values (`validation.ValidateCustomResource`), each failure
//!    a cause with the field's path.
//!
//! [`Structural::openapi_v3`] is the schema `kubectl explain` reads (`builder.BuildOpenAPIV3`).
//!
//! The modules follow kube's files: [`props`] reads the JSON (`JSONSchemaProps`), [`convert`]
//! checks what a CRD may say and builds a [`Structural`] (`NewStructural`), [`validation`] holds
//! the structural invariants (`ValidateStructural`), [`pruning`], [`defaulting`], [`values`]
//! (with [`formats`] and [`pattern`]) and [`openapi`]. Every walk runs on [`stack`]'s own
//! stack, so no schema JSON can express is too deep for a connection.

pub mod convert;
pub mod defaulting;
pub mod formats;
pub mod openapi;
pub mod pattern;
pub mod props;
pub mod pruning;
pub mod stack;
pub mod validation;
pub mod values;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::scheme::meta::StatusCause;
use pattern::Regex;
use stack::on_schema_stack;

// ANCHOR: structural
/// `structuralschema.Structural`: the part of a schema that says which fields exist and what
/// type each has, plus the value checks that apply at that node.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Structural {
    pub type_: String,
    pub description: String,
    pub title: String,
    pub nullable: bool,
    pub default: Option<Value>,
    pub properties: BTreeMap<String, Structural>,
    pub items: Option<Box<Structural>>,
    pub additional_properties: Option<AdditionalProperties>,
    pub x_preserve_unknown_fields: bool,
    pub x_embedded_resource: bool,
    pub x_int_or_string: bool,
    pub x_list_type: Option<String>,
    pub x_list_map_keys: Vec<String>,
    pub x_map_type: Option<String>,
    pub value_validation: ValueValidation,
}

/// `StructuralOrBool`: `additionalProperties: true`, or the schema of every value of a map.
#[derive(Clone, Debug, PartialEq)]
pub enum AdditionalProperties {
    Bool(bool),
    Schema(Box<Structural>),
}
// ANCHOR_END: structural

/// `ValueValidation`: checks of a value that do not change which fields exist.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ValueValidation {
    pub format: String,
    pub maximum: Option<f64>,
    pub exclusive_maximum: bool,
    pub minimum: Option<f64>,
    pub exclusive_minimum: bool,
    pub max_length: Option<i64>,
    pub min_length: Option<i64>,
    pub pattern: Option<Regex>,
    pub max_items: Option<i64>,
    pub min_items: Option<i64>,
    pub unique_items: bool,
    pub multiple_of: Option<f64>,
    pub enum_: Option<Vec<Value>>,
    pub max_properties: Option<i64>,
    pub min_properties: Option<i64>,
    pub required: Vec<String>,
    pub all_of: Vec<NestedValueValidation>,
    pub one_of: Vec<NestedValueValidation>,
    pub any_of: Vec<NestedValueValidation>,
    pub not: Option<Box<NestedValueValidation>>,
}

/// `NestedValueValidation`: a schema under `allOf`/`anyOf`/`oneOf`/`not`. It may reach into
/// properties and items, but only to check values there; what it says beyond that is kept in
/// `forbidden` so that [`validation`] can refuse it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NestedValueValidation {
    pub value_validation: ValueValidation,
    pub items: Option<Box<NestedValueValidation>>,
    pub properties: BTreeMap<String, NestedValueValidation>,
    pub additional_properties: Option<Box<NestedValueValidation>>,
    /// `ForbiddenGenerics.Type`, kept apart: the IntOrString exception is made of it.
    pub forbidden_type: String,
    /// The other keywords a nested schema set that a structural schema may only set outside:
    /// (keyword, why), in kube's words.
    pub forbidden: Vec<(&'static str, &'static str)>,
}

impl Structural {
    /// Parses a version's `openAPIV3Schema` and refuses it, with kube's causes, when it uses a
    /// keyword a CRD may not use or is not structural. `path` is the field path of the schema
    /// (`spec.versions[0].schema.openAPIV3Schema`).
    pub fn new(schema: &Value, path: &str) -> Result<Structural, Vec<StatusCause>> {
        on_schema_stack(|| convert::new_structural(schema, path))
    }

    /// Drops the fields the schema does not know and returns their paths (`spec.foo`), for
    /// `fieldValidation`. At the root `apiVersion` and `kind` are kept and `metadata` is cut to
    /// `ObjectMeta`'s fields.
    pub fn prune(&self, obj: &mut Value) -> Vec<String> {
        on_schema_stack(|| pruning::prune_root(obj, self))
    }

    /// Applies the schema's `default`s where a field is absent (or a null the schema does not
    /// allow), after dropping such nulls that have no default, as kube does.
    pub fn default(&self, obj: &mut Value) {
        on_schema_stack(|| {
            defaulting::prune_non_nullable_nulls_without_defaults(obj, self);
            defaulting::default(obj, self);
        })
    }

    /// Checks every value against the schema; one cause per failure, with kube's field paths,
    /// reasons and messages.
    pub fn validate(&self, obj: &Value) -> Vec<StatusCause> {
        on_schema_stack(|| values::validate_custom_resource("", obj, self))
    }

    /// [`Structural::validate`] for an update: values equal to those they replace are not
    /// checked again (kube's validation ratcheting).
    pub fn validate_update(&self, obj: &Value, old: &Value) -> Vec<StatusCause> {
        on_schema_stack(|| values::validate_custom_resource_update("", obj, old, self))
    }

    /// The kind's OpenAPI v3 schema as kube's builder publishes it: the schema with `metadata`
    /// as a reference to `ObjectMeta` and `apiVersion`/`kind` added. The caller adds
    /// `x-kubernetes-group-version-kind`, which the schema does not know.
    pub fn openapi_v3(&self) -> Value {
        on_schema_stack(|| openapi::kind_schema(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_deepest_schema_json_allows_fits_a_connections_coroutine() {
        // serde_json stops at 128 levels; a schema nests two per level (`properties`, name).
        let mut schema = json!({"type": "string", "pattern": "^a$", "default": "a"});
        let mut obj = json!("a");
        for _ in 0..62 {
            schema = json!({"type": "object", "properties": {"a": schema}});
            obj = json!({ "a": obj });
        }
        let work = move || {
            let s = Structural::new(&schema, "s").unwrap();
            let mut o = obj.clone();
            let pruned = s.prune(&mut o);
            s.default(&mut o);
            let errors = s.validate(&o).len() + s.validate_update(&o, &obj).len();
            let openapi = s.openapi_v3();
            (
                pruned.is_empty(),
                errors,
                openapi["properties"]["a"]["type"].clone(),
            )
        };
        // The stack a connection's handler runs on, as the server sets it.
        let connection =
            may::coroutine::Builder::new().stack_size(crate::run::COROUTINE_STACK_WORDS);
        // SAFETY: the coroutine computes and returns; it neither blocks its thread nor keeps
        // thread-locals across a yield.
        let handle = unsafe { connection.spawn(work) }.unwrap();
        assert_eq!(handle.join().unwrap(), (true, 0, json!("object")));
    }
}
