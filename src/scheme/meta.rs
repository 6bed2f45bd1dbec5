//! The `meta.k8s.io` and `v1` kinds every group shares: `Status` and the errors built from it.
//!
//! Mirrors `k8s.io/apimachinery/pkg/apis/meta/v1` (`Status`, `StatusDetails`, `StatusCause`) and
//! `k8s.io/apimachinery/pkg/api/errors`, whose constructors (`NewNotFound`, `NewConflict`, ...) and
//! message wording we keep, because kubectl prints the message as it comes.

use serde::{Deserialize, Serialize};

use crate::http::Response;

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct StatusCause {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct StatusDetails {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<StatusCause>,
}

/// `v1.Status`: every error a client sees, and the body of a successful delete.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub kind: String,
    pub api_version: String,
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<StatusDetails>,
    pub code: u16,
}

/// The `StatusReason` kube-apiserver pairs with each code when nothing more specific applies
/// (`NewGenericServerResponse`).
fn reason_for(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        406 => "NotAcceptable",
        409 => "Conflict",
        410 => "Expired",
        413 => "RequestEntityTooLarge",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "",
    }
}

impl Status {
    pub fn failure(code: u16, message: &str) -> Status {
        Status {
            kind: "Status".into(),
            api_version: "v1".into(),
            metadata: Default::default(),
            status: "Failure".into(),
            message: message.into(),
            reason: reason_for(code).into(),
            details: None,
            code,
        }
    }

    /// The body of a successful delete of a kind that does not return the object.
    pub fn success(details: StatusDetails) -> Status {
        Status {
            status: "Success".into(),
            reason: String::new(),
            details: Some(details),
            ..Status::failure(200, "")
        }
    }
}

/// An error that becomes a `Status` response: `apierrors.StatusError`.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusError(pub Box<Status>);

/// The resource an error is about, as apimachinery's `schema.GroupResource` prints it:
/// `configmaps`, or `customresourcedefinitions.apiextensions.k8s.io`.
#[derive(Clone, Copy, Debug)]
pub struct GroupResource<'a> {
    pub group: &'a str,
    pub resource: &'a str,
}

impl std::fmt::Display for GroupResource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.group.is_empty() {
            f.write_str(self.resource)
        } else {
            write!(f, "{}.{}", self.resource, self.group)
        }
    }
}

impl StatusError {
    pub fn new(code: u16, message: impl Into<String>) -> StatusError {
        StatusError(Box::new(Status::failure(code, &message.into())))
    }

    fn with_details(mut self, reason: &str, details: StatusDetails) -> StatusError {
        self.0.reason = reason.into();
        self.0.details = Some(details);
        self
    }

    pub fn code(&self) -> u16 {
        self.0.code
    }

    pub fn reason(&self) -> &str {
        &self.0.reason
    }

    fn resource_details(gr: GroupResource, name: &str) -> StatusDetails {
        StatusDetails {
            name: name.into(),
            group: gr.group.into(),
            kind: gr.resource.into(),
            ..Default::default()
        }
    }

    pub fn not_found(gr: GroupResource, name: &str) -> StatusError {
        StatusError::new(404, format!("{gr} \"{name}\" not found"))
            .with_details("NotFound", Self::resource_details(gr, name))
    }

    pub fn already_exists(gr: GroupResource, name: &str) -> StatusError {
        StatusError::new(409, format!("{gr} \"{name}\" already exists"))
            .with_details("AlreadyExists", Self::resource_details(gr, name))
    }

    pub fn conflict(gr: GroupResource, name: &str, why: &str) -> StatusError {
        StatusError::new(
            409,
            format!("Operation cannot be fulfilled on {gr} \"{name}\": {why}"),
        )
        .with_details("Conflict", Self::resource_details(gr, name))
    }

    /// `NewInvalid`: 422 naming the kind (not the resource) and every failed field.
    pub fn invalid(group: &str, kind: &str, name: &str, causes: Vec<StatusCause>) -> StatusError {
        let errs: Vec<String> = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        let summary = match errs.as_slice() {
            [one] => one.clone(),
            many => format!("[{}]", many.join(", ")),
        };
        let details = StatusDetails {
            name: name.into(),
            group: group.into(),
            kind: kind.into(),
            causes,
            ..Default::default()
        };
        // `schema.GroupKind.String()`: `ConfigMap`, `Deployment.apps`.
        let qualified = match group {
            "" => kind.to_string(),
            group => format!("{kind}.{group}"),
        };
        StatusError::new(422, format!("{qualified} \"{name}\" is invalid: {summary}"))
            .with_details("Invalid", details)
    }

    /// `NewApplyConflict`: a server-side apply that would take fields other managers own. The
    /// details carry only the causes, one per field.
    pub fn apply_conflict(message: String, causes: Vec<StatusCause>) -> StatusError {
        let details = StatusDetails {
            causes,
            ..Default::default()
        };
        StatusError::new(409, message).with_details("Conflict", details)
    }

    pub fn bad_request(message: impl Into<String>) -> StatusError {
        StatusError::new(400, message)
    }

    pub fn method_not_supported(gr: GroupResource, action: &str) -> StatusError {
        StatusError::new(
            405,
            format!("{action} is not supported on resources of kind \"{gr}\""),
        )
        .with_details("MethodNotAllowed", Self::resource_details(gr, ""))
    }

    pub fn unsupported_media_type(content_type: &str) -> StatusError {
        StatusError::new(
            415,
            format!("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got {content_type:?})"),
        )
    }

    pub fn not_acceptable() -> StatusError {
        StatusError::new(
            406,
            "only the following media types are accepted: application/json, application/yaml, application/json;as=Table;v=v1;g=meta.k8s.io",
        )
    }

    pub fn forbidden(gr: GroupResource, name: &str, why: &str) -> StatusError {
        let subject = if name.is_empty() {
            format!("{gr}")
        } else {
            format!("{gr} \"{name}\"")
        };
        StatusError::new(403, format!("{subject} is forbidden: {why}"))
            .with_details("Forbidden", Self::resource_details(gr, name))
    }

    pub fn unauthorized() -> StatusError {
        StatusError::new(401, "Unauthorized")
    }

    /// `NewResourceExpired`: 410 Gone, reason Expired, for a revision that has left the history.
    pub fn expired(message: impl Into<String>) -> StatusError {
        StatusError::new(410, message)
    }

    pub fn internal(message: impl std::fmt::Display) -> StatusError {
        StatusError::new(500, format!("Internal error occurred: {message}"))
    }

    pub fn to_response(&self) -> Response {
        Response::json(self.0.code, &*self.0)
    }
}

impl std::fmt::Display for StatusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.0.message, self.0.code)
    }
}

impl std::error::Error for StatusError {}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIGMAPS: GroupResource = GroupResource {
        group: "",
        resource: "configmaps",
    };

    #[test]
    fn not_found_matches_the_wire() {
        let got =
            serde_json::to_value(&*StatusError::not_found(CONFIGMAPS, "does-not-exist").0).unwrap();
        let want: serde_json::Value = serde_json::from_str(
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
                "message":"configmaps \"does-not-exist\" not found","reason":"NotFound",
                "details":{"name":"does-not-exist","kind":"configmaps"},"code":404}"#,
        )
        .unwrap();
        assert_eq!(got, want);
    }

    #[test]
    fn invalid_lists_every_cause() {
        let cause = |f: &str| StatusCause {
            reason: "FieldValueInvalid".into(),
            message: "Invalid value".into(),
            field: f.into(),
        };
        let one = StatusError::invalid("", "ConfigMap", "x", vec![cause("metadata.name")]);
        assert_eq!(
            one.0.message,
            "ConfigMap \"x\" is invalid: metadata.name: Invalid value"
        );
        let two = StatusError::invalid("", "ConfigMap", "x", vec![cause("a"), cause("b")]);
        assert_eq!(
            two.0.message,
            "ConfigMap \"x\" is invalid: [a: Invalid value, b: Invalid value]"
        );
        assert_eq!(two.code(), 422);
    }

    #[test]
    fn group_resources_print_like_apimachinery() {
        let gr = GroupResource {
            group: "apiextensions.k8s.io",
            resource: "customresourcedefinitions",
        };
        assert_eq!(
            gr.to_string(),
            "customresourcedefinitions.apiextensions.k8s.io"
        );
    }
}
