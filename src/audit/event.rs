//! The `audit.k8s.io/v1` `Event`: one line of the audit log, written once per stage a request
//! reaches (`k8s.io/apiserver/pkg/apis/audit/types.go`, filled as `audit.NewEventFromRequest`
//! and `LogResponseObject` fill it).

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::authentication::UserInfo;
use crate::http::Request;
use crate::util::time::rfc3339_micro;

// ANCHOR: level
/// How much of a request is recorded. Ordered: each level holds everything of the ones before.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Level {
    /// Nothing.
    None,
    /// Who, what, when, and the response code.
    Metadata,
    /// Metadata and the request body.
    Request,
    /// Request and the response body.
    RequestResponse,
}

/// Where in its life a request was when the event was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// As soon as the audit filter has the request, before anything else decides about it.
    RequestReceived,
    /// The response head is sent but the body still streams: long-running requests (watches).
    ResponseStarted,
    /// The response is finished.
    ResponseComplete,
    /// The handler panicked.
    Panic,
}
// ANCHOR_END: level

/// `authenticationv1.UserInfo` as the event spells it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct EventUser {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uid: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Vec<String>>,
}

impl From<&UserInfo> for EventUser {
    fn from(u: &UserInfo) -> EventUser {
        EventUser {
            username: u.name.clone(),
            uid: u.uid.clone(),
            groups: u.groups.clone(),
            extra: u.extra.clone(),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub resource: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api_group: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subresource: String,
}

/// The bounded fields of a `metav1.Status` that the event keeps of a response.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ResponseStatus {
    pub metadata: Map<String, Value>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    pub code: u16,
}

// ANCHOR: event
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub kind: &'static str,
    pub api_version: &'static str,
    pub level: Level,
    #[serde(rename = "auditID")]
    pub audit_id: String,
    pub stage: Stage,
    #[serde(rename = "requestURI")]
    pub request_uri: String,
    pub verb: String,
    pub user: EventUser,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impersonated_user: Option<EventUser>,
    #[serde(rename = "sourceIPs", skip_serializing_if = "Vec::is_empty")]
    pub source_ips: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user_agent: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_ref: Option<ObjectReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_status: Option<ResponseStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_object: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_object: Option<Value>,
    pub request_received_timestamp: String,
    pub stage_timestamp: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}
// ANCHOR_END: event

/// Go's `maxUserAgentLength`: a client cannot make every event of its requests huge.
const MAX_USER_AGENT_LENGTH: usize = 1024;
const USER_AGENT_TRUNCATE_SUFFIX: &str = "...TRUNCATED";

impl Event {
    /// `NewEventFromRequest`: what is known before the handler runs.
    pub fn from_request(req: &Request, level: Level, received: SystemTime) -> Event {
        let info = &req.context.request_info;
        let request_uri = if req.query.is_empty() {
            req.path.clone()
        } else {
            format!("{}?{}", req.path, req.query)
        };
        let mut user_agent = req.header("user-agent").unwrap_or_default().to_string();
        if user_agent.len() > MAX_USER_AGENT_LENGTH {
            let mut cut = MAX_USER_AGENT_LENGTH;
            while !user_agent.is_char_boundary(cut) {
                cut -= 1;
            }
            user_agent.truncate(cut);
            user_agent.push_str(USER_AGENT_TRUNCATE_SUFFIX);
        }
        let received = rfc3339_micro(received);
        Event {
            kind: "Event",
            api_version: "audit.k8s.io/v1",
            level,
            audit_id: req.context.audit_id.clone(),
            stage: Stage::RequestReceived,
            request_uri,
            verb: info.verb.clone(),
            user: EventUser::from(&req.context.user),
            impersonated_user: None,
            source_ips: source_ips(req),
            user_agent,
            object_ref: info.is_resource_request.then(|| ObjectReference {
                resource: info.resource.clone(),
                namespace: info.namespace.clone(),
                name: info.name.clone(),
                api_group: info.api_group.clone(),
                api_version: info.api_version.clone(),
                subresource: info.subresource.clone(),
            }),
            response_status: None,
            request_object: None,
            response_object: None,
            stage_timestamp: received.clone(),
            request_received_timestamp: received,
            annotations: BTreeMap::new(),
        }
    }

    /// `LogResponseObject` and the response writer's `WriteHeader`: the code always; a `Status`
    /// body's bounded fields from Metadata up; the whole body at RequestResponse.
    pub fn log_response(&mut self, code: u16, json_body: Option<Value>) {
        let mut status = ResponseStatus {
            code,
            ..Default::default()
        };
        if let Some(Value::Object(body)) = &json_body {
            if body.get("kind").and_then(Value::as_str) == Some("Status") {
                let field = |name: &str| {
                    body.get(name)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                status.status = field("status");
                status.message = field("message");
                status.reason = field("reason");
                status.details = body.get("details").cloned();
            }
        }
        self.response_status = Some(status);
        if self.level >= Level::RequestResponse {
            self.response_object = json_body;
        }
    }
}

/// `utilnet.SourceIPs`: the proxies' `X-Forwarded-For`, then `X-Real-Ip`, then the peer, each once.
fn source_ips(req: &Request) -> Vec<String> {
    let mut ips: Vec<String> = Vec::new();
    let mut add = |ip: &str| {
        let ip = ip.trim();
        if ip.parse::<std::net::IpAddr>().is_ok() && !ips.iter().any(|i| i == ip) {
            ips.push(ip.to_string());
        }
    };
    if let Some(forwarded) = req.header("x-forwarded-for") {
        forwarded.split(',').for_each(&mut add);
    }
    if let Some(real) = req.header("x-real-ip") {
        add(real);
    }
    if let Some(peer) = req.remote_addr {
        add(&peer.ip().to_string());
    }
    ips
}

/// `omitManagedFields`: an object's, or each list item's, `metadata.managedFields` dropped.
pub fn remove_managed_fields(value: &mut Value) {
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    if let Some(items) = value.get_mut("items").and_then(Value::as_array_mut) {
        items.iter_mut().for_each(remove_managed_fields);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn an_event_encodes_as_kube_writes_it() {
        let mut req = Request {
            method: "GET".into(),
            path: "/api/v1/namespaces/demo/configmaps/cfg".into(),
            query: "pretty=true".into(),
            headers: vec![
                ("User-Agent".into(), "kubectl/v1.37.0".into()),
                ("X-Forwarded-For".into(), "10.0.0.1, 10.0.0.2".into()),
            ],
            remote_addr: Some("127.0.0.1:5000".parse().unwrap()),
            ..Default::default()
        };
        req.context.request_info =
            crate::server::filters::request_info::RequestInfo::parse("GET", &req.path, &req.query);
        req.context.audit_id = "1f1e1d1c-0000-4000-8000-000000000000".into();
        req.context.user = UserInfo {
            name: "alice".into(),
            groups: vec!["system:authenticated".into()],
            ..Default::default()
        };
        let t = UNIX_EPOCH + Duration::from_micros(1_796_000_000_123_456);
        let mut ev = Event::from_request(&req, Level::Metadata, t);
        let status = serde_json::json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
            "message":"configmaps \"cfg\" not found","reason":"NotFound",
            "details":{"name":"cfg","kind":"configmaps"},"code":404});
        ev.log_response(404, Some(status));
        ev.stage = Stage::ResponseComplete;
        assert_eq!(
            serde_json::to_string(&ev).unwrap(),
            concat!(
                r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","#,
                r#""auditID":"1f1e1d1c-0000-4000-8000-000000000000","stage":"ResponseComplete","#,
                r#""requestURI":"/api/v1/namespaces/demo/configmaps/cfg?pretty=true","verb":"get","#,
                r#""user":{"username":"alice","groups":["system:authenticated"]},"#,
                r#""sourceIPs":["10.0.0.1","10.0.0.2","127.0.0.1"],"userAgent":"kubectl/v1.37.0","#,
                r#""objectRef":{"resource":"configmaps","namespace":"demo","name":"cfg","apiVersion":"v1"},"#,
                r#""responseStatus":{"metadata":{},"status":"Failure","message":"configmaps \"cfg\" not found","#,
                r#""reason":"NotFound","details":{"kind":"configmaps","name":"cfg"},"code":404},"#,
                r#""requestReceivedTimestamp":"2026-11-30T00:53:20.123456Z","#,
                r#""stageTimestamp":"2026-11-30T00:53:20.123456Z"}"#
            )
        );
    }

    #[test]
    fn only_request_response_keeps_the_body_and_user_agents_are_bounded() {
        let mut req = Request {
            path: "/healthz".into(),
            headers: vec![("User-Agent".into(), "x".repeat(2000))],
            ..Default::default()
        };
        req.context.request_info =
            crate::server::filters::request_info::RequestInfo::parse("GET", "/healthz", "");
        let mut ev = Event::from_request(&req, Level::Request, UNIX_EPOCH);
        assert!(
            ev.object_ref.is_none(),
            "a non-resource request has no objectRef"
        );
        assert_eq!(ev.user_agent.len(), 1024 + USER_AGENT_TRUNCATE_SUFFIX.len());
        ev.log_response(200, Some(serde_json::json!({"kind":"ConfigMap"})));
        assert!(ev.response_object.is_none());
        assert_eq!(
            serde_json::to_value(&ev.response_status).unwrap(),
            serde_json::json!({"metadata":{},"code":200})
        );
        let mut ev = Event::from_request(&req, Level::RequestResponse, UNIX_EPOCH);
        ev.log_response(200, Some(serde_json::json!({"kind":"ConfigMap"})));
        assert_eq!(
            ev.response_object,
            Some(serde_json::json!({"kind":"ConfigMap"}))
        );
    }

    #[test]
    fn managed_fields_go_from_objects_and_list_items() {
        let mut list = serde_json::json!({"metadata":{"managedFields":[1]},
            "items":[{"metadata":{"name":"a","managedFields":[2]}}]});
        remove_managed_fields(&mut list);
        assert_eq!(
            list,
            serde_json::json!({"metadata":{},"items":[{"metadata":{"name":"a"}}]})
        );
    }
}
