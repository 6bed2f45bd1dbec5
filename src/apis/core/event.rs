//! Event (core/v1): `pkg/apis/core/validation.ValidateEventCreate` and the `event` strategy.
//!
//! kubectl reads events for `describe`, by a field selector on `involvedObject.*`, and prints them
//! with `get events`. The `events.k8s.io/v1` view of the same store is [`crate::apis::events`];
//! `--event-ttl`, which lets kube-apiserver's events expire, is not here.

use serde_json::{json, Value};

use super::OBJECT_REFERENCE;
use crate::apis::since_cell;
use crate::scheme::meta::StatusCause;
use crate::scheme::schema::{field, Struct, Type, METADATA_DOC, OBJECT_META};
use crate::scheme::{invalid, meta_str, Strategy, TableColumn};

pub struct EventStrategy;

/// `v1.Event`.
pub static EVENT: Struct = Struct {
    name: "io.k8s.api.core.v1.Event",
    description: "A report of something that happened to an object.",
    fields: &[
        field(1, "metadata", Type::Struct(&OBJECT_META), METADATA_DOC),
        field(
            2,
            "involvedObject",
            Type::Struct(&OBJECT_REFERENCE),
            "The object this event is about.",
        ),
        field(
            3,
            "reason",
            Type::String,
            "A short, machine-readable word for why it happened.",
        ),
        field(
            4,
            "message",
            Type::String,
            "A human-readable description of what happened.",
        ),
        field(
            5,
            "source",
            Type::Struct(&EVENT_SOURCE),
            "The component (and host) that reported it.",
        ),
        field(
            6,
            "firstTimestamp",
            Type::Time,
            "When it was first recorded.",
        ),
        field(
            7,
            "lastTimestamp",
            Type::Time,
            "When it was most recently recorded.",
        ),
        field(8, "count", Type::Integer, "How many times it has happened."),
        field(9, "type", Type::String, "Normal or Warning."),
        field(
            10,
            "eventTime",
            Type::Time,
            "When it was first observed (MicroTime).",
        ),
        field(
            11,
            "series",
            Type::Struct(&EVENT_SERIES),
            "Data about a series of the same event, if it repeats.",
        ),
        field(
            12,
            "action",
            Type::String,
            "What was done, or failed, about the object.",
        ),
        field(
            13,
            "related",
            Type::Struct(&OBJECT_REFERENCE),
            "A secondary object, if any.",
        ),
        field(
            14,
            "reportingComponent",
            Type::String,
            "The controller that reported it.",
        ),
        field(
            15,
            "reportingInstance",
            Type::String,
            "The instance of that controller.",
        ),
    ],
};

pub static EVENT_SOURCE: Struct = Struct {
    name: "io.k8s.api.core.v1.EventSource",
    description: "Where an event came from.",
    fields: &[
        field(
            1,
            "component",
            Type::String,
            "The component that reported it.",
        ),
        field(2, "host", Type::String, "The node it was reported on."),
    ],
};

pub static EVENT_SERIES: Struct = Struct {
    name: "io.k8s.api.core.v1.EventSeries",
    description: "A repeating event.",
    fields: &[
        field(1, "count", Type::Integer, "Occurrences so far."),
        field(2, "lastObservedTime", Type::Time, "When it was last seen."),
    ],
};

/// The fields `kubectl describe` and `--field-selector` may name (`ToSelectableFields`), beyond
/// `metadata.name` and `metadata.namespace`.
pub const SELECTABLE_FIELDS: &[&str] = &[
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "type",
];

impl Strategy for EventStrategy {
    fn validate(&self, obj: &Value) -> Vec<StatusCause> {
        // An event lives in the namespace of the object it is about; one about a cluster-scoped
        // object lives in `default` (or nowhere).
        let namespace = meta_str(obj, "namespace");
        let involved = &obj["involvedObject"]["namespace"];
        let fits = match involved.as_str().unwrap_or_default() {
            "" => namespace.is_empty() || namespace == "default",
            theirs => theirs == namespace,
        };
        if fits {
            Vec::new()
        } else {
            vec![invalid(
                "involvedObject.namespace",
                involved,
                "does not match event.namespace",
            )]
        }
    }

    fn name_column_first(&self) -> bool {
        false
    }

    fn table_columns(&self) -> Vec<TableColumn> {
        vec![
            TableColumn::text("Last Seen", "The time the event was last seen.", 0),
            TableColumn::text("Type", "Normal or Warning.", 0),
            TableColumn::text("Reason", "Why the event happened, in one word.", 0),
            TableColumn::text("Object", "The object the event is about.", 0),
            TableColumn::text(
                "Subobject",
                "The part of the object, such as a container.",
                1,
            ),
            TableColumn::text("Source", "The component that reported the event.", 1),
            TableColumn::text("Message", "What happened, for a human.", 0),
            TableColumn::text("First Seen", "The time the event was first seen.", 1),
            TableColumn::text("Count", "How many times the event has happened.", 1),
            TableColumn {
                format: "name".into(),
                ..TableColumn::text("Name", "The event's name.", 1)
            },
        ]
    }

    fn table_cells(&self, obj: &Value) -> Vec<Value> {
        let involved = &obj["involvedObject"];
        let last_seen = [&obj["lastTimestamp"], &obj["eventTime"]]
            .into_iter()
            .find(|t| t.is_string())
            .unwrap_or(&obj["metadata"]["creationTimestamp"]);
        let text = |v: &Value| json!(v.as_str().unwrap_or_default());
        let mut source = obj["source"]["component"]
            .as_str()
            .or(obj["reportingComponent"].as_str())
            .unwrap_or_default()
            .to_string();
        if let Some(host) = obj["source"]["host"].as_str().filter(|h| !h.is_empty()) {
            source = format!("{source}, {host}");
        }
        vec![
            since_cell(last_seen),
            text(&obj["type"]),
            text(&obj["reason"]),
            json!(format!(
                "{}/{}",
                involved["kind"].as_str().unwrap_or_default().to_lowercase(),
                involved["name"].as_str().unwrap_or_default()
            )),
            text(&involved["fieldPath"]),
            json!(source),
            text(&obj["message"]),
            since_cell(&obj["firstTimestamp"]),
            json!(obj["count"].as_i64().unwrap_or(1)),
            obj["metadata"]["name"].clone(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_lives_beside_its_object() {
        let event = |ns: &str, theirs: &str| {
            json!({"metadata": {"name": "e", "namespace": ns},
                   "involvedObject": {"kind": "ConfigMap", "name": "a", "namespace": theirs}})
        };
        assert!(EventStrategy.validate(&event("demo", "demo")).is_empty());
        assert!(EventStrategy.validate(&event("default", "")).is_empty());
        let causes = EventStrategy.validate(&event("demo", "other"));
        assert_eq!(causes[0].field, "involvedObject.namespace");
    }

    #[test]
    fn the_name_comes_last() {
        let row = EventStrategy.table_cells(&json!({
            "metadata": {"name": "a.1"}, "type": "Normal", "reason": "Made",
            "involvedObject": {"kind": "ConfigMap", "name": "a"}, "message": "hi", "count": 2,
            "source": {"component": "me", "host": "box"}}));
        assert_eq!(row.len(), EventStrategy.table_columns().len());
        assert_eq!(row[3], "configmap/a");
        assert_eq!(row[5], "me, box");
        assert_eq!(row[8], 2);
        assert_eq!(row[9], "a.1");
    }
}
