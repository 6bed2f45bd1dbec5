//! LimitRange: `pkg/apis/core/validation.ValidateLimitRange`, `SetDefaults_LimitRangeItem` and
//! the `limitrange` strategy. The LimitRanger admission plugin
//! (`config::admission::limitranger`) is what gives a LimitRange its effect.

use serde_json::{json, Value};

use crate::scheme::meta::StatusCause;
use crate::scheme::schema::{field, ListType, Struct, Type, METADATA_DOC, OBJECT_META};
use crate::scheme::{forbidden, invalid, required, Strategy, TableColumn};
use crate::util::resource::{Quantity, FORMAT_ERROR};

pub struct LimitRangeStrategy;

const RESOURCE_LIST: Type = Type::Map(&Type::Quantity);

/// `v1.LimitRange`.
pub static LIMIT_RANGE: Struct = Struct {
    name: "io.k8s.api.core.v1.LimitRange",
    description: "Sets resource usage limits for each kind of resource in a namespace.",
    fields: &[
        field(1, "metadata", Type::Struct(&OBJECT_META), METADATA_DOC),
        field(
            2,
            "spec",
            Type::Struct(&LIMIT_RANGE_SPEC),
            "The limits enforced.",
        ),
    ],
};

static LIMIT_RANGE_SPEC: Struct = Struct {
    name: "io.k8s.api.core.v1.LimitRangeSpec",
    description: "The limits a LimitRange enforces.",
    fields: &[field(
        1,
        "limits",
        Type::List(&Type::Struct(&LIMIT_RANGE_ITEM), ListType::Atomic),
        "The limits, one item per kind of object limited.",
    )],
};

static LIMIT_RANGE_ITEM: Struct = Struct {
    name: "io.k8s.api.core.v1.LimitRangeItem",
    description: "The min/max usage limits for one kind of object.",
    fields: &[
        field(
            1,
            "type",
            Type::String,
            "The kind of object limited: Container, Pod or PersistentVolumeClaim.",
        ),
        field(
            2,
            "max",
            RESOURCE_LIST,
            "The most of each resource allowed.",
        ),
        field(
            3,
            "min",
            RESOURCE_LIST,
            "The least of each resource required.",
        ),
        field(
            4,
            "default",
            RESOURCE_LIST,
            "The limit a container gets for a resource it names no limit for.",
        ),
        field(
            5,
            "defaultRequest",
            RESOURCE_LIST,
            "The request a container gets for a resource it names no request for.",
        ),
        field(
            6,
            "maxLimitRequestRatio",
            RESOURCE_LIST,
            "The largest limit-to-request ratio allowed for each resource.",
        ),
    ],
};

pub const LIMIT_TYPE_POD: &str = "Pod";
pub const LIMIT_TYPE_CONTAINER: &str = "Container";
const LIMIT_TYPE_PVC: &str = "PersistentVolumeClaim";

/// The five maps of an item, in the order validation reads them.
const LIMIT_MAPS: [&str; 5] = [
    "max",
    "min",
    "default",
    "defaultRequest",
    "maxLimitRequestRatio",
];

// ANCHOR: limitrange_defaults
/// `SetDefaults_LimitRangeItem`: for a Container item, the default limit falls back to the max,
/// and the default request to the default limit, then to the min. So a LimitRange that names
/// only a max still gives every container that limit.
fn default_item(item: &mut Value) {
    if item["type"] != LIMIT_TYPE_CONTAINER {
        return;
    }
    for (to, from) in [
        ("default", "max"),
        ("defaultRequest", "default"),
        ("defaultRequest", "min"),
    ] {
        let Some(source) = item[from].as_object().cloned() else {
            continue;
        };
        if !item[to].is_object() {
            item[to] = json!({});
        }
        let target = item[to].as_object_mut().expect("an object");
        for (k, q) in source {
            target.entry(k).or_insert(q);
        }
    }
    for name in ["default", "defaultRequest"] {
        if item[name].as_object().is_some_and(|m| m.is_empty()) {
            item.as_object_mut().expect("an object").remove(name);
        }
    }
}
// ANCHOR_END: limitrange_defaults

/// `validateLimitRangeTypeName`: a standard type, or a name qualified with a domain.
fn type_errors(t: &str, path: &str, value: &Value) -> Vec<StatusCause> {
    if t.is_empty() {
        return vec![required(path, "")];
    }
    if !t.contains('/') && ![LIMIT_TYPE_POD, LIMIT_TYPE_CONTAINER, LIMIT_TYPE_PVC].contains(&t) {
        return vec![invalid(
            path,
            value,
            "must be a standard limit type or fully qualified",
        )];
    }
    Vec::new()
}

/// `validateLimitRangeResourceName`: for the standard types, the standard resources of that
/// type, or a name qualified with a domain (an extended resource).
fn resource_name_errors(t: &str, name: &str, path: &str) -> Vec<StatusCause> {
    let standard = match t {
        LIMIT_TYPE_PVC => name == "storage",
        LIMIT_TYPE_POD | LIMIT_TYPE_CONTAINER => {
            matches!(name, "cpu" | "memory" | "ephemeral-storage") || name.starts_with("hugepages-")
        }
        _ => return Vec::new(),
    };
    if standard || name.contains('/') {
        return Vec::new();
    }
    let what = if t == LIMIT_TYPE_PVC {
        "must be a standard resource for PersistentVolumeClaims"
    } else {
        "must be a standard resource for containers"
    };
    vec![invalid(path, &Value::String(name.into()), what)]
}

/// One item's quantities by map, the unparsable ones reported.
fn item_quantities(
    item: &Value,
    at: &str,
    causes: &mut Vec<StatusCause>,
) -> [Vec<(String, Quantity)>; 5] {
    LIMIT_MAPS.map(|map| {
        let mut out = Vec::new();
        for (k, v) in item[map].as_object().into_iter().flatten() {
            match Quantity::from_value(v) {
                Some(q) => out.push((k.clone(), q)),
                None => causes.push(invalid(&format!("{at}.{map}[{k}]"), v, FORMAT_ERROR)),
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    })
}

// ANCHOR: validate_limit_range
/// `ValidateLimitRange`: each type once, resources the type knows, and per resource
/// `min <= defaultRequest <= default <= max` and a ratio of at least 1.
fn validate_limits(obj: &Value) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    let mut seen_types = Vec::new();
    for (i, item) in obj["spec"]["limits"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let at = format!("spec.limits[{i}]");
        let t = item["type"].as_str().unwrap_or_default();
        causes.extend(type_errors(t, &format!("{at}.type"), &item["type"]));
        if seen_types.contains(&t) {
            causes.push(crate::scheme::duplicate(
                &format!("{at}.type"),
                &item["type"],
            ));
        }
        seen_types.push(t);
        let [max, min, default, default_request, ratio] = item_quantities(item, &at, &mut causes);
        for (map, list) in [
            ("max", &max),
            ("min", &min),
            ("default", &default),
            ("defaultRequest", &default_request),
            ("maxLimitRequestRatio", &ratio),
        ] {
            if t == LIMIT_TYPE_POD && matches!(map, "default" | "defaultRequest") {
                if !list.is_empty() {
                    causes.push(forbidden(
                        &format!("{at}.{map}"),
                        "may not be specified when `type` is 'Pod'",
                    ));
                }
                continue;
            }
            for (k, _) in list {
                causes.extend(resource_name_errors(t, k, &format!("{at}.{map}[{k}]")));
            }
        }
        let get = |list: &[(String, Quantity)], k: &str| {
            list.iter().find(|(n, _)| n == k).map(|(_, q)| *q)
        };
        let mut keys: Vec<&String> = [&max, &min, &default, &default_request, &ratio]
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
            .collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            let path = |map: &str| format!("{at}.{map}[{k}]");
            let (lo, hi) = (get(&min, k), get(&max, k));
            let (def, req) = (get(&default, k), get(&default_request, k));
            let show = |q: Quantity| Value::String(q.to_string());
            if let (Some(lo), Some(hi)) = (lo, hi) {
                if lo > hi {
                    causes.push(invalid(
                        &path("min"),
                        &show(lo),
                        &format!("min value {lo} is greater than max value {hi}"),
                    ));
                }
            }
            if let (Some(req), Some(lo)) = (req, lo) {
                if lo > req {
                    causes.push(invalid(
                        &path("defaultRequest"),
                        &show(req),
                        &format!("min value {lo} is greater than default request value {req}"),
                    ));
                }
            }
            if let (Some(req), Some(hi)) = (req, hi) {
                if req > hi {
                    causes.push(invalid(
                        &path("defaultRequest"),
                        &show(req),
                        &format!("default request value {req} is greater than max value {hi}"),
                    ));
                }
            }
            if let (Some(req), Some(def)) = (req, def) {
                if req > def {
                    causes.push(invalid(
                        &path("defaultRequest"),
                        &show(req),
                        &format!(
                            "default request value {req} is greater than default limit value {def}"
                        ),
                    ));
                }
            }
            if let (Some(def), Some(lo)) = (def, lo) {
                if lo > def {
                    causes.push(invalid(
                        &path("default"),
                        &show(lo),
                        &format!("min value {lo} is greater than default value {def}"),
                    ));
                }
            }
            if let (Some(def), Some(hi)) = (def, hi) {
                if def > hi {
                    causes.push(invalid(
                        &path("default"),
                        &show(hi),
                        &format!("default value {def} is greater than max value {hi}"),
                    ));
                }
            }
            if let Some(r) = get(&ratio, k) {
                if r < Quantity::from_units(1) {
                    causes.push(invalid(
                        &path("maxLimitRequestRatio"),
                        &show(r),
                        &format!("ratio {r} is less than 1"),
                    ));
                }
                if let (Some(lo), Some(hi)) = (lo, hi) {
                    let bound = hi.as_f64() / lo.as_f64();
                    if r.as_f64() > bound {
                        causes.push(invalid(
                            &path("maxLimitRequestRatio"),
                            &show(r),
                            &format!("ratio {r} is greater than max/min = {bound:.6}"),
                        ));
                    }
                }
            }
        }
    }
    causes
}
// ANCHOR_END: validate_limit_range

impl Strategy for LimitRangeStrategy {
    fn set_defaults(&self, obj: &mut Value) {
        // `get_mut`, not indexing, so that a LimitRange without limits is not given `null` ones.
        for item in obj
            .get_mut("spec")
            .and_then(|spec| spec.get_mut("limits"))
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter(|i| i.is_object())
        {
            default_item(item);
        }
    }

    fn validate(&self, obj: &Value) -> Vec<StatusCause> {
        validate_limits(obj)
    }

    /// kube's printer shows a LimitRange by its name and creation time only: what it limits
    /// takes `kubectl describe`.
    fn table_columns(&self) -> Vec<TableColumn> {
        vec![TableColumn {
            name: "Created At".into(),
            type_: "date".into(),
            format: "".into(),
            description: "When the server created the object.".into(),
            priority: 0,
        }]
    }

    fn table_cells(&self, obj: &Value) -> Vec<Value> {
        vec![obj["metadata"]["creationTimestamp"].clone()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(item: Value) -> Value {
        json!({"spec": {"limits": [item]}})
    }

    #[test]
    fn container_defaults_fall_back_to_max_then_min() {
        let mut lr = limits(json!({"type": "Container",
            "max": {"cpu": "2", "memory": "1Gi"}, "min": {"cpu": "100m", "ephemeral-storage": "1Gi"},
            "default": {"cpu": "1"}}));
        LimitRangeStrategy.set_defaults(&mut lr);
        let item = &lr["spec"]["limits"][0];
        assert_eq!(item["default"], json!({"cpu": "1", "memory": "1Gi"}));
        assert_eq!(
            item["defaultRequest"],
            json!({"cpu": "1", "memory": "1Gi", "ephemeral-storage": "1Gi"})
        );
        let mut pod = limits(json!({"type": "Pod", "max": {"cpu": "2"}}));
        LimitRangeStrategy.set_defaults(&mut pod);
        assert!(pod["spec"]["limits"][0]["default"].is_null());
    }

    #[test]
    fn min_default_max_in_order_in_kubes_words() {
        let causes = LimitRangeStrategy.validate(&limits(json!({"type": "Container",
            "min": {"cpu": "2"}, "max": {"cpu": "1"}, "maxLimitRequestRatio": {"memory": "500m"}})));
        let messages: Vec<&str> = causes.iter().map(|c| c.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "Invalid value: \"2\": min value 2 is greater than max value 1",
                "Invalid value: \"500m\": ratio 500m is less than 1",
            ]
        );
        assert_eq!(causes[0].field, "spec.limits[0].min[cpu]");
        let ok = limits(
            json!({"type": "Container", "min": {"cpu": "100m"}, "max": {"cpu": "1"},
            "default": {"cpu": "500m"}, "defaultRequest": {"cpu": "200m"}}),
        );
        assert!(LimitRangeStrategy.validate(&ok).is_empty());
    }

    #[test]
    fn types_and_resources_must_be_known() {
        let lr = json!({"spec": {"limits": [
            {"type": "Container", "max": {"gpu": "1", "example.com/dongle": "1"}},
            {"type": "Container"},
            {"type": "Pod", "default": {"cpu": "1"}},
            {"type": "Widget"},
            {"type": "Container", "min": {"cpu": "lots"}},
        ]}});
        let fields: Vec<String> = LimitRangeStrategy
            .validate(&lr)
            .into_iter()
            .map(|c| c.field)
            .collect();
        assert_eq!(
            fields,
            [
                "spec.limits[0].max[gpu]",
                "spec.limits[1].type",
                "spec.limits[2].default",
                "spec.limits[3].type",
                "spec.limits[4].type",
                "spec.limits[4].min[cpu]",
            ]
        );
    }
}
