//! `events.k8s.io/v1` Event: a second view of the core/v1 events store (stage 1, book chapter 1).
//!
//! In kube-apiserver both versions convert to one internal `core.Event` and share one etcd
//! prefix (`/registry/events/`). The newer version renamed some fields (`regarding` for
//! `involvedObject`, `note` for `message`, `deprecated...` for the fields of the old event
//! recorder) and validates new events strictly. Here the events.k8s.io store keeps core/v1
//! objects under the same prefix, renaming on the way in and out, so an event written through
//! either version is read through both.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::apis::core::event::{EventStrategy, EVENT_SERIES, EVENT_SOURCE};
use crate::apis::core::OBJECT_REFERENCE;
use crate::scheme::meta::StatusCause;
use crate::scheme::schema::{field, Struct, Type, METADATA_DOC, OBJECT_META};
use crate::scheme::{
    invalid, meta_str, required, ResourceDef, Scheme, Strategy, TableColumn, ALL_VERBS,
};

pub const GROUP: &str = "events.k8s.io";

pub fn add_to_scheme(scheme: &mut Scheme) {
    scheme.add_known_type(ResourceDef {
        group: GROUP.into(),
        version: "v1".into(),
        kind: "Event".into(),
        resource: "events".into(),
        singular: "event".into(),
        namespaced: true,
        short_names: crate::scheme::names(&["ev"]),
        categories: Vec::new(),
        verbs: ALL_VERBS,
        schema: &EVENT,
        selectable_fields: SELECTABLE_FIELDS,
        subresources: &[],
        strategy: Arc::new(EventsV1Strategy),
    });
}

// ANCHOR: renamed_fields
/// The fields `events.k8s.io/v1` renamed, beside their core/v1 names
/// (`pkg/apis/events/v1/conversion.go`). The others keep their names.
const RENAMED: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];
// ANCHOR_END: renamed_fields

/// `events.k8s.io/v1.Event`, with the protobuf numbers of `k8s.io/api/events/v1`.
pub static EVENT: Struct = Struct {
    name: "io.k8s.api.events.v1.Event",
    description: "A report of something that happened to an object, as events.k8s.io/v1 \
                  words it.",
    fields: &[
        field(1, "metadata", Type::Struct(&OBJECT_META), METADATA_DOC),
        field(
            2,
            "eventTime",
            Type::Time,
            "When it was first observed (MicroTime); required.",
        ),
        field(
            3,
            "series",
            Type::Pointer(&Type::Struct(&EVENT_SERIES)),
            "Data about a series of the same event, if it repeats.",
        ),
        field(
            4,
            "reportingController",
            Type::String,
            "The controller that reported it, e.g. `kubernetes.io/kubelet`; required.",
        ),
        field(
            5,
            "reportingInstance",
            Type::String,
            "The instance of that controller; required.",
        ),
        field(
            6,
            "action",
            Type::String,
            "What was done, or failed, about the object; required.",
        ),
        field(
            7,
            "reason",
            Type::String,
            "Why the action was taken, in one word; required.",
        ),
        field(
            8,
            "regarding",
            Type::Struct(&OBJECT_REFERENCE),
            "The object this event is about.",
        ),
        field(
            9,
            "related",
            Type::Pointer(&Type::Struct(&OBJECT_REFERENCE)),
            "A secondary object, if any.",
        ),
        field(
            10,
            "note",
            Type::String,
            "A human-readable description of what happened.",
        ),
        field(11, "type", Type::String, "Normal or Warning."),
        field(
            12,
            "deprecatedSource",
            Type::Struct(&EVENT_SOURCE),
            "core/v1's `source`; must be unset on create.",
        ),
        field(
            13,
            "deprecatedFirstTimestamp",
            Type::Time,
            "core/v1's `firstTimestamp`; must be unset on create.",
        ),
        field(
            14,
            "deprecatedLastTimestamp",
            Type::Time,
            "core/v1's `lastTimestamp`; must be unset on create.",
        ),
        field(
            15,
            "deprecatedCount",
            Type::Integer,
            "core/v1's `count`; must be unset on create.",
        ),
    ],
};

/// The field selectors kube-apiserver accepts for events.k8s.io/v1 (the core/v1 ones, renamed).
const SELECTABLE_FIELDS: &[&str] = &[
    "regarding.kind",
    "regarding.namespace",
    "regarding.name",
    "regarding.uid",
    "regarding.apiVersion",
    "regarding.resourceVersion",
    "regarding.fieldPath",
    "reason",
    "reportingController",
    "type",
];

/// Renames the top-level fields of `obj` with `pairs` (from, to) and sets its `apiVersion`.
fn convert(obj: &mut Value, pairs: impl Iterator<Item = (&'static str, &'static str)>, to: &str) {
    let Some(fields) = obj.as_object_mut() else {
        return;
    };
    let mut renamed = Map::new();
    for (from, to) in pairs {
        if let Some(v) = fields.remove(from) {
            renamed.insert(to.to_string(), v);
        }
    }
    fields.extend(renamed);
    if fields.contains_key("apiVersion") {
        fields.insert("apiVersion".into(), Value::String(to.into()));
    }
}

/// The core/v1 form of an events.k8s.io/v1 event.
fn to_core(obj: &Value) -> Value {
    let mut core = obj.clone();
    convert(&mut core, RENAMED.iter().copied(), "v1");
    core
}

pub struct EventsV1Strategy;

impl Strategy for EventsV1Strategy {
    fn convert_to_storage(&self, obj: &mut Value) {
        convert(obj, RENAMED.iter().copied(), "v1");
    }

    fn convert_from_storage(&self, obj: &mut Value) {
        convert(
            obj,
            RENAMED.iter().map(|&(v1, core)| (core, v1)),
            "events.k8s.io/v1",
        );
    }

    // ANCHOR: validate_events_v1
    /// `ValidateEventCreate` for a request in events.k8s.io/v1: core's rules, then the strict
    /// ones for the new event API. Go validates the internal type, so the fields in the causes
    /// have their internal (core) names, `involvedObject.namespace` and `count`, even here.
    fn validate(&self, obj: &Value) -> Vec<StatusCause> {
        let core = to_core(obj);
        let mut causes = EventStrategy.validate(&core);
        for name in [
            "reportingComponent",
            "reportingInstance",
            "action",
            "reason",
        ] {
            if core[name].as_str().unwrap_or_default().is_empty() {
                let field = if name == "reportingComponent" {
                    "reportingController"
                } else {
                    name
                };
                causes.push(required(field, ""));
            }
        }
        if core["eventTime"].as_str().unwrap_or_default().is_empty() {
            causes.push(required("eventTime", ""));
        }
        let type_ = core["type"].as_str().unwrap_or_default();
        if !matches!(type_, "Normal" | "Warning") {
            causes.push(invalid(
                "type",
                &Value::from(""),
                &format!("has invalid value: {type_}"),
            ));
        }
        for name in ["firstTimestamp", "lastTimestamp", "count", "source"] {
            if !core[name].is_null() {
                causes.push(invalid(name, &Value::from(""), "needs to be unset"));
            }
        }
        causes
    }
    // ANCHOR_END: validate_events_v1

    /// An update is checked as core/v1 checks it: events written by the old recorder, with
    /// `count` and `source`, are read and updated through this version too.
    fn validate_update(&self, new: &Value, _old: &Value) -> Vec<StatusCause> {
        EventStrategy.validate(&to_core(new))
    }

    fn name_column_first(&self) -> bool {
        EventStrategy.name_column_first()
    }

    fn table_columns(&self) -> Vec<TableColumn> {
        EventStrategy.table_columns()
    }

    /// kube-apiserver prints the internal type, so both versions print the same rows.
    fn table_cells(&self, obj: &Value) -> Vec<Value> {
        let mut core = to_core(obj);
        if meta_str(&core, "name").is_empty() {
            core["metadata"]["name"] = obj["metadata"]["name"].clone();
        }
        EventStrategy.table_cells(&core)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_versions_are_one_object_renamed() {
        let v1 = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "e"}, "regarding": {"kind": "Pod", "name": "p"},
            "note": "pulled", "reportingController": "kubelet", "reason": "Pulled"});
        let mut stored = v1.clone();
        EventsV1Strategy.convert_to_storage(&mut stored);
        assert_eq!(stored["apiVersion"], "v1");
        assert_eq!(stored["involvedObject"]["name"], "p");
        assert_eq!(stored["message"], "pulled");
        assert_eq!(stored["reportingComponent"], "kubelet");
        assert!(stored.get("regarding").is_none() && stored.get("note").is_none());
        EventsV1Strategy.convert_from_storage(&mut stored);
        assert_eq!(stored, v1);
    }

    #[test]
    fn a_new_event_must_say_who_did_what_and_when() {
        let event = json!({"metadata": {"name": "e", "namespace": "default"}, "count": 2,
            "regarding": {"kind": "Pod", "name": "p", "namespace": "default"}});
        let fields: Vec<String> = EventsV1Strategy
            .validate(&event)
            .into_iter()
            .map(|c| c.field)
            .collect();
        assert_eq!(
            fields,
            [
                "reportingController",
                "reportingInstance",
                "action",
                "reason",
                "eventTime",
                "type",
                "count"
            ]
        );
        let good = json!({"metadata": {"name": "e", "namespace": "default"},
            "regarding": {"kind": "Pod", "name": "p", "namespace": "default"},
            "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "me",
            "reportingInstance": "me-1", "action": "Test", "reason": "Tested", "type": "Normal"});
        assert!(EventsV1Strategy.validate(&good).is_empty());
    }
}
