//! The access reviews' REST (book chapter 3): `pkg/registry/authorization/*`. A create is a
//! question to the authorizer; the answer is the created object's `status`, and nothing is
//! stored. `kubectl auth can-i` creates a SelfSubjectAccessReview, `--list` a
//! SelfSubjectRulesReview.

use std::sync::Arc;

use serde_json::{json, Value};

use super::store::Store;
use super::Rest;
use crate::apis::authorization::validate_spec;
use crate::config::authentication::UserInfo;
use crate::config::authorization::rbac::aggregate;
use crate::config::authorization::{Authorizer, Decision};
use crate::scheme::meta::StatusError;
use crate::scheme::parameter_codec::WriteOptions;
use crate::scheme::{invalid, meta_str};
use crate::server::filters::request_info::RequestInfo;

pub struct ReviewRest {
    /// The kind's store: it gives the handlers the kind's definition, and is never written.
    store: Arc<Store>,
    authorizer: Arc<Authorizer>,
}

impl ReviewRest {
    pub fn new(store: Arc<Store>, authorizer: Arc<Authorizer>) -> ReviewRest {
        ReviewRest { store, authorizer }
    }

    fn invalid(&self, causes: Vec<crate::scheme::meta::StatusCause>) -> StatusError {
        StatusError::invalid(&self.store.def.group, &self.store.def.kind, "", causes)
    }
}

// ANCHOR: attributes_from
/// `authorizationutil.ResourceAttributesFrom` / `NonResourceAttributesFrom`: the request a
/// review's spec describes, in the form the authorizer reads.
fn request_info_from(spec: &Value) -> RequestInfo {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let r = &spec["resourceAttributes"];
    if r.is_object() {
        return RequestInfo {
            is_resource_request: true,
            verb: s(&r["verb"]),
            namespace: s(&r["namespace"]),
            api_group: s(&r["group"]),
            api_version: match s(&r["version"]) {
                v if v.is_empty() => "*".into(),
                v => v,
            },
            resource: s(&r["resource"]),
            subresource: s(&r["subresource"]),
            name: s(&r["name"]),
            ..Default::default()
        };
    }
    let n = &spec["nonResourceAttributes"];
    RequestInfo {
        is_resource_request: false,
        verb: s(&n["verb"]),
        path: s(&n["path"]),
        ..Default::default()
    }
}
// ANCHOR_END: attributes_from

/// The user a SubjectAccessReview asks about.
fn user_from(spec: &Value) -> UserInfo {
    UserInfo {
        name: spec["user"].as_str().unwrap_or_default().into(),
        uid: spec["uid"].as_str().unwrap_or_default().into(),
        groups: spec["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| g.as_str().map(String::from))
            .collect(),
        extra: serde_json::from_value(spec["extra"].clone()).unwrap_or_default(),
    }
}

/// Only `managedFields` (which the create handler records) may be set on a review's metadata,
/// and `namespace` on a LocalSubjectAccessReview.
fn metadata_is_empty(obj: &Value, allow_namespace: bool) -> bool {
    obj["metadata"].as_object().is_none_or(|m| {
        m.iter().all(|(k, v)| {
            k == "managedFields"
                || (allow_namespace && k == "namespace")
                || v.is_null()
                || v.as_str() == Some("")
        })
    })
}

impl Rest for ReviewRest {
    fn store(&self) -> &Store {
        &self.store
    }

    // ANCHOR: review_create
    fn create(
        &self,
        namespace: &str,
        mut obj: Value,
        _opts: &WriteOptions,
        user: &UserInfo,
    ) -> Result<Value, StatusError> {
        let kind = &*self.store.def.kind;
        let spec = obj["spec"].clone();
        if kind == "SelfSubjectRulesReview" {
            let ns = spec["namespace"].as_str().unwrap_or_default();
            if ns.is_empty() {
                return Err(StatusError::bad_request("no namespace on request"));
            }
            let rules = self.authorizer.rules_for(user, ns);
            let mut status = json!({
                "resourceRules": rules.resource_rules,
                "nonResourceRules": rules.non_resource_rules,
                "incomplete": rules.incomplete,
            });
            if !rules.errors.is_empty() {
                status["evaluationError"] = json!(aggregate(&rules.errors));
            }
            // Go answers with a new object holding only the status, not the question.
            return Ok(json!({
                "kind": kind,
                "apiVersion": self.store.def.api_version(),
                "metadata": {},
                "spec": {},
                "status": status,
            }));
        }
        let (subject, mut causes) = match kind {
            "SelfSubjectAccessReview" => (user.clone(), validate_spec(&spec, false)),
            _ => (user_from(&spec), validate_spec(&spec, true)),
        };
        if kind == "LocalSubjectAccessReview" {
            match meta_str(&obj, "namespace") {
                "" => crate::scheme::set_meta(&mut obj, "namespace", json!(namespace)),
                ns if ns == namespace => {}
                _ => {
                    return Err(StatusError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ))
                }
            }
            if !metadata_is_empty(&obj, true) {
                causes.push(invalid(
                    "metadata",
                    &obj["metadata"],
                    "must be empty except for namespace",
                ));
            }
            let asked = &spec["resourceAttributes"];
            if asked.is_object() && asked["namespace"].as_str().unwrap_or_default() != namespace {
                causes.push(invalid(
                    "spec.resourceAttributes.namespace",
                    &asked["namespace"],
                    "must match metadata.namespace",
                ));
            }
            if !spec["nonResourceAttributes"].is_null() {
                causes.push(invalid(
                    "spec.nonResourceAttributes",
                    &spec["nonResourceAttributes"],
                    "disallowed on this kind of request",
                ));
            }
        } else if kind == "SubjectAccessReview" && !metadata_is_empty(&obj, false) {
            causes.push(invalid("metadata", &obj["metadata"], "must be empty"));
        }
        if !causes.is_empty() {
            return Err(self.invalid(causes));
        }
        let answer = self.authorizer.answer(&subject, &request_info_from(&spec));
        let mut status = json!({
            "allowed": answer.decision == Decision::Allow,
        });
        if matches!(answer.decision, Decision::Deny(_)) {
            status["denied"] = json!(true);
        }
        if !answer.reason.is_empty() {
            status["reason"] = json!(answer.reason);
        }
        obj["status"] = status;
        Ok(obj)
    }
    // ANCHOR_END: review_create
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_becomes_a_request() {
        let info = request_info_from(
            &json!({"resourceAttributes": {"verb": "list", "resource": "pods", "namespace": "demo"}}),
        );
        assert!(info.is_resource_request);
        assert_eq!(
            (info.verb.as_str(), info.api_version.as_str()),
            ("list", "*")
        );
        let info = request_info_from(
            &json!({"nonResourceAttributes": {"verb": "get", "path": "/healthz"}}),
        );
        assert_eq!(
            (info.is_resource_request, info.path.as_str()),
            (false, "/healthz")
        );
        assert!(metadata_is_empty(
            &json!({"metadata": {"managedFields": [{}], "creationTimestamp": null}}),
            false
        ));
        assert!(!metadata_is_empty(
            &json!({"metadata": {"name": "x"}}),
            false
        ));
    }
}
