//! The Table view (`meta.k8s.io/v1` Table) kubectl asks for to print `kubectl get`, and the
//! PartialObjectMetadata view. Mirrors `k8s.io/apiserver/pkg/registry/rest/table.go` and the
//! printers of `pkg/printers/internalversion`, which the strategies' columns stand in for.

use serde_json::{json, Value};

use crate::scheme::ResourceDef;

/// `?includeObject=`: what each row carries besides its cells. Metadata is the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}

impl IncludeObject {
    pub fn parse(v: Option<&str>) -> IncludeObject {
        match v {
            Some("None") => IncludeObject::None,
            Some("Object") => IncludeObject::Object,
            _ => IncludeObject::Metadata,
        }
    }
}

/// An object reduced to `PartialObjectMetadata`.
pub fn partial_object_metadata(obj: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]})
}

pub fn partial_object_metadata_list(list: &Value) -> Value {
    let items: Vec<Value> = list["items"]
        .as_array()
        .map(|i| i.iter().map(partial_object_metadata).collect())
        .unwrap_or_default();
    json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": list["metadata"], "items": items})
}

// ANCHOR: to_table
/// A Table of `objects`. `with_columns` is false for watch events after the first, which carry
/// `"columnDefinitions": null` as kube-apiserver's do.
pub fn to_table(
    def: &ResourceDef,
    objects: &[Value],
    list_metadata: Value,
    include: IncludeObject,
    with_columns: bool,
) -> Value {
    let strategy = &def.strategy;
    let columns: Value = if with_columns {
        let mut cols = Vec::new();
        if strategy.name_column_first() {
            cols.push(json!({
                "name": "Name", "type": "string", "format": "name",
                "description": "The object's name, unique within its namespace.", "priority": 0,
            }));
        }
        cols.extend(strategy.table_columns().iter().map(|c| {
            json!({"name": c.name, "type": c.type_, "format": c.format, "description": c.description, "priority": c.priority})
        }));
        Value::Array(cols)
    } else {
        Value::Null
    };
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| {
            let mut cells = Vec::new();
            if strategy.name_column_first() {
                cells.push(obj["metadata"]["name"].clone());
            }
            cells.extend(strategy.table_cells(obj));
            let mut row = json!({"cells": cells});
            match include {
                IncludeObject::None => {}
                IncludeObject::Metadata => row["object"] = partial_object_metadata(obj),
                IncludeObject::Object => row["object"] = obj.clone(),
            }
            row
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_metadata, "columnDefinitions": columns, "rows": rows})
}
// ANCHOR_END: to_table
