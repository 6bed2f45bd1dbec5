//! `apiregistration.k8s.io/v1`: APIService, the kind the kube-aggregator (the last server of the
//! chain) stores. Each built-in group/version has a *local* APIService (no `spec.service`),
//! registered at start by the aggregator; a remote one would name the Service to proxy to.
//!
//! Mirrors `k8s.io/kube-aggregator/pkg/apis/apiregistration` validation and the `apiservice`
//! registry strategy.

use std::sync::Arc;

use serde_json::{json, Value};

use super::validation::{dns1123_label, dns1123_subdomain, NameRule};
use super::{age_cell, AGE_COLUMN};
use crate::scheme::meta::StatusCause;
use crate::scheme::schema::{field, Struct, Type, METADATA_DOC, OBJECT_META};
use crate::scheme::{
    invalid, required, ResourceDef, Scheme, Strategy, Subresource, TableColumn, ALL_VERBS,
};

pub const GROUP: &str = "apiregistration.k8s.io";

/// Spec and status are stored as given and checked by the strategy.
pub static API_SERVICE: Struct = Struct {
    name: "io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIService",
    description: "A group/version the aggregator serves, locally or from another server.",
    fields: &[
        field(1, "metadata", Type::Struct(&OBJECT_META), METADATA_DOC),
        field(2, "spec", Type::Any, "The desired state."),
        field(
            3,
            "status",
            Type::Any,
            "The observed state, written by the server.",
        ),
    ],
};

pub fn add_to_scheme(scheme: &mut Scheme) {
    scheme.add_known_type(ResourceDef {
        group: GROUP.into(),
        version: "v1".into(),
        kind: "APIService".into(),
        resource: "apiservices".into(),
        singular: "apiservice".into(),
        namespaced: false,
        short_names: Vec::new(),
        categories: crate::scheme::names(&["api-extensions"]),
        verbs: ALL_VERBS,
        schema: &API_SERVICE,
        selectable_fields: &[],
        subresources: &[Subresource::Status],
        strategy: Arc::new(APIServiceStrategy),
    });
}

/// The object the aggregator writes for a group/version served in this process.
pub fn local_api_service(group: &str, version: &str, group_priority: i64) -> Value {
    json!({
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {"name": format!("{version}.{group}"), "labels": {"kube-aggregator.kubernetes.io/automanaged": "onstart"}},
        "spec": {"group": group, "version": version, "groupPriorityMinimum": group_priority, "versionPriority": 15},
    })
}

/// The APIService the aggregator keeps for a group/version that CRDs serve: kept while some
/// CRD serves it (`automanaged: true`), with the low priority kube gives CRD groups.
pub fn crd_api_service(group: &str, version: &str) -> Value {
    let mut svc = local_api_service(group, version, 1000);
    svc["metadata"]["labels"]["kube-aggregator.kubernetes.io/automanaged"] = json!("true");
    svc["spec"]["versionPriority"] = json!(100);
    svc
}

// ANCHOR: validate_service
/// `ValidateAPIService`'s checks of where a remote APIService lives and how it is trusted.
fn validate_service(spec: &Value) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    let service = &spec["service"];
    if !service.is_null() {
        for field in ["namespace", "name"] {
            let value = service[field].as_str().unwrap_or("");
            if value.is_empty() {
                causes.push(required(&format!("spec.service.{field}"), ""));
            } else if let Some(e) = dns1123_label(value).into_iter().next() {
                causes.push(invalid(
                    &format!("spec.service.{field}"),
                    &service[field],
                    &e,
                ));
            }
        }
        if let Some(port) = service.get("port").filter(|p| !p.is_null()) {
            if !port.as_u64().is_some_and(|p| (1..=65535).contains(&p)) {
                causes.push(invalid(
                    "spec.service.port",
                    port,
                    "port is not valid: must be between 1 and 65535, inclusive",
                ));
            }
        }
    } else {
        if spec["insecureSkipTLSVerify"] == true {
            causes.push(invalid(
                "spec.insecureSkipTLSVerify",
                &spec["insecureSkipTLSVerify"],
                "local APIServices may not have insecureSkipTLSVerify",
            ));
        }
        if spec["caBundle"].as_str().is_some_and(|b| !b.is_empty()) {
            causes.push(invalid(
                "spec.caBundle",
                &json!("<omitted>"),
                "local APIServices may not have a caBundle",
            ));
        }
    }
    if let Some(bundle) = spec["caBundle"].as_str() {
        use base64::Engine;
        if base64::engine::general_purpose::STANDARD
            .decode(bundle)
            .is_err()
        {
            causes.push(invalid(
                "spec.caBundle",
                &spec["caBundle"],
                "must be base64",
            ));
        } else if spec["insecureSkipTLSVerify"] == true {
            causes.push(invalid(
                "spec.insecureSkipTLSVerify",
                &spec["insecureSkipTLSVerify"],
                "may not be true if caBundle is present",
            ));
        }
    }
    causes
}
// ANCHOR_END: validate_service

pub struct APIServiceStrategy;

impl Strategy for APIServiceStrategy {
    fn name_rule(&self) -> NameRule {
        NameRule::ByStrategy
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        // A local APIService is available as soon as it exists; a remote one has no condition
        // until the availability controller has checked its backend (`server::aggregator`).
        if !obj["spec"]["service"].is_null() {
            obj["status"] = json!({});
            return;
        }
        let now = crate::util::time::rfc3339(std::time::SystemTime::now());
        obj["status"] = json!({"conditions": [{
            "type": "Available",
            "status": "True",
            "lastTransitionTime": now,
            "reason": "Local",
            "message": "Local APIServices are always available",
        }]});
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        new["status"] = old["status"].clone();
    }

    fn validate(&self, obj: &Value) -> Vec<StatusCause> {
        let mut causes = Vec::new();
        let spec = &obj["spec"];
        let version = spec["version"].as_str().unwrap_or("");
        let group = spec["group"].as_str().unwrap_or("");
        if version.is_empty() {
            causes.push(required("spec.version", ""));
        } else if let Some(e) = dns1123_label(version).into_iter().next() {
            causes.push(invalid("spec.version", &spec["version"], &e));
        }
        if let Some(e) = (!group.is_empty())
            .then(|| dns1123_subdomain(group))
            .and_then(|es| es.into_iter().next())
        {
            causes.push(invalid("spec.group", &spec["group"], &e));
        }
        let name = obj["metadata"]["name"].as_str().unwrap_or("");
        if !version.is_empty() && name != format!("{version}.{group}") {
            causes.push(invalid(
                "metadata.name",
                &obj["metadata"]["name"],
                "must be spec.version+\".\"+spec.group",
            ));
        }
        causes.extend(validate_service(spec));
        for field in ["groupPriorityMinimum", "versionPriority"] {
            match spec[field].as_i64() {
                Some(p)
                    if (1..=20000).contains(&p) || (field == "groupPriorityMinimum" && p > 0) => {}
                _ => causes.push(invalid(
                    &format!("spec.{field}"),
                    &spec[field],
                    "must be positive and less than 20000",
                )),
            }
        }
        causes
    }

    fn table_columns(&self) -> Vec<TableColumn> {
        vec![
            TableColumn {
                name: "Service".into(),
                type_: "string".into(),
                format: "".into(),
                description: "The service that serves this API, or Local.".into(),
                priority: 0,
            },
            TableColumn {
                name: "Available".into(),
                type_: "string".into(),
                format: "".into(),
                description: "Whether the API is reachable.".into(),
                priority: 0,
            },
            AGE_COLUMN,
        ]
    }

    fn table_cells(&self, obj: &Value) -> Vec<Value> {
        let service = match &obj["spec"]["service"] {
            Value::Null => "Local".to_string(),
            s => format!(
                "{}/{}",
                s["namespace"].as_str().unwrap_or(""),
                s["name"].as_str().unwrap_or("")
            ),
        };
        let available = obj["status"]["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == "Available"))
            .map_or(json!("Unknown"), |c| c["status"].clone());
        vec![json!(service), available, age_cell(obj)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(spec: Value) -> Vec<String> {
        validate_service(&spec)
            .into_iter()
            .map(|c| c.field)
            .collect()
    }

    #[test]
    fn a_remote_api_service_names_its_service_and_one_way_to_trust_it() {
        let service = json!({"namespace": "wardle", "name": "api", "port": 443});
        assert!(fields(json!({"service": service, "insecureSkipTLSVerify": true})).is_empty());
        assert_eq!(
            fields(json!({"service": service, "insecureSkipTLSVerify": true, "caBundle": "AAAA"})),
            ["spec.insecureSkipTLSVerify"]
        );
        assert_eq!(
            fields(json!({"service": {"namespace": "wardle", "port": 0}})),
            ["spec.service.name", "spec.service.port"]
        );
        assert_eq!(
            fields(json!({"service": service, "caBundle": "%%"})),
            ["spec.caBundle"]
        );
        assert_eq!(
            fields(json!({"insecureSkipTLSVerify": true})),
            ["spec.insecureSkipTLSVerify"]
        );
    }
}
