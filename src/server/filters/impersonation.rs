//! `WithImpersonation` (`k8s.io/apiserver/pkg/endpoints/filters/impersonation.go`): a user
//! allowed to may act as another (`kubectl --as=jane --as-group=dev`). The request is
//! authenticated as the real caller, each part of the new identity is authorized with the verb
//! `impersonate`, and only then does the request continue as the impersonated user, so that
//! every later filter and handler (authorization, admission, audit, `kubectl auth whoami`)
//! sees that user.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::request_info::RequestInfo;
use super::{forbidden, RequestContext};
use crate::config::authentication::requestheader::{strip_prefix_ignore_case, unescape_extra_key};
use crate::config::authentication::{
    UserInfo, ANONYMOUS_USER, AUTHENTICATED_GROUP, UNAUTHENTICATED_GROUP,
};
use crate::config::authorization::{Authorizer, Decision};
use crate::http::{Handler, Request, Response};
use crate::scheme::meta::StatusError;

pub const IMPERSONATE_USER_HEADER: &str = "Impersonate-User";
pub const IMPERSONATE_UID_HEADER: &str = "Impersonate-Uid";
pub const IMPERSONATE_GROUP_HEADER: &str = "Impersonate-Group";
pub const IMPERSONATE_USER_EXTRA_HEADER_PREFIX: &str = "Impersonate-Extra-";

/// The prefix of a service account's user name: `system:serviceaccount:<namespace>:<name>`.
const SERVICE_ACCOUNT_USER_PREFIX: &str = "system:serviceaccount:";

/// One thing asked for, as Go's filter lists them in `ObjectReference`s.
#[derive(Clone, Debug, PartialEq)]
enum ImpersonationRequest {
    User(String),
    ServiceAccount { namespace: String, name: String },
    Group(String),
    UserExtra { key: String, value: String },
    Uid(String),
}

impl ImpersonationRequest {
    /// What the authorizer is asked: may the caller `impersonate` this?
    fn attributes(&self) -> RequestInfo {
        let (group, resource, subresource, namespace, name) = match self {
            Self::User(name) => ("", "users", "", "", name.as_str()),
            Self::ServiceAccount { namespace, name } => {
                ("", "serviceaccounts", "", namespace.as_str(), name.as_str())
            }
            Self::Group(name) => ("", "groups", "", "", name.as_str()),
            Self::UserExtra { key, value } => (
                "authentication.k8s.io",
                "userextras",
                key.as_str(),
                "",
                value.as_str(),
            ),
            Self::Uid(uid) => ("authentication.k8s.io", "uids", "", "", uid.as_str()),
        };
        RequestInfo {
            is_resource_request: true,
            verb: "impersonate".into(),
            api_group: group.into(),
            api_version: if group.is_empty() { "" } else { "v1" }.into(),
            namespace: namespace.into(),
            resource: resource.into(),
            subresource: subresource.into(),
            name: name.into(),
            ..Default::default()
        }
    }
}

// ANCHOR: build_impersonation_requests
/// `buildImpersonationRequests`: the user first (a service account's name is split into its
/// namespace and name, so that RBAC can grant impersonating the accounts of one namespace),
/// then each group, each extra value, and the uid. Groups, extras or a uid without a user are
/// refused: they would change who someone is without saying who.
fn build_impersonation_requests(req: &Request) -> Result<Vec<ImpersonationRequest>, String> {
    let mut requests = Vec::new();
    let user = req.header(IMPERSONATE_USER_HEADER).unwrap_or("");
    if !user.is_empty() {
        let service_account = user
            .strip_prefix(SERVICE_ACCOUNT_USER_PREFIX)
            .and_then(|rest| rest.split_once(':'))
            .filter(|(ns, name)| !ns.is_empty() && !name.is_empty() && !name.contains(':'));
        requests.push(match service_account {
            Some((namespace, name)) => ImpersonationRequest::ServiceAccount {
                namespace: namespace.into(),
                name: name.into(),
            },
            None => ImpersonationRequest::User(user.into()),
        });
    }
    let mut others = 0;
    for (name, value) in &req.headers {
        if name.eq_ignore_ascii_case(IMPERSONATE_GROUP_HEADER) {
            requests.push(ImpersonationRequest::Group(value.clone()));
            others += 1;
        }
    }
    for (name, value) in &req.headers {
        if let Some(key) = strip_prefix_ignore_case(name, IMPERSONATE_USER_EXTRA_HEADER_PREFIX) {
            requests.push(ImpersonationRequest::UserExtra {
                key: unescape_extra_key(&key.to_ascii_lowercase()),
                value: value.clone(),
            });
            others += 1;
        }
    }
    let uid = req.header(IMPERSONATE_UID_HEADER).unwrap_or("");
    if !uid.is_empty() {
        requests.push(ImpersonationRequest::Uid(uid.into()));
        others += 1;
    }
    if others > 0 && user.is_empty() {
        let asked: Vec<String> = requests.iter().map(|r| format!("{r:?}")).collect();
        return Err(format!(
            "requested [{}] without impersonating a user",
            asked.join(" ")
        ));
    }
    Ok(requests)
}
// ANCHOR_END: build_impersonation_requests

pub struct WithImpersonation {
    pub authorizer: Arc<Authorizer>,
    pub next: Arc<dyn Handler>,
}

impl Handler for WithImpersonation {
    // ANCHOR: with_impersonation
    fn serve(&self, req: &mut Request) -> Response {
        let requests = match build_impersonation_requests(req) {
            Ok(r) => r,
            Err(e) => {
                let uri = request_uri(req);
                return StatusError::new(500, format!("Internal Server Error: {uri:?}: {e}"))
                    .to_response();
            }
        };
        if requests.is_empty() {
            return self.next.serve(req);
        }
        let requestor = req.context.user.clone();
        // Groups given are the whole list; none given, a service account gets its fixed ones.
        let groups_specified = requests
            .iter()
            .any(|r| matches!(r, ImpersonationRequest::Group(_)));
        let mut user = UserInfo::default();
        let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for request in &requests {
            let attributes = request.attributes();
            match request {
                ImpersonationRequest::User(name) => user.name = name.clone(),
                ImpersonationRequest::ServiceAccount { namespace, name } => {
                    user.name = format!("{SERVICE_ACCOUNT_USER_PREFIX}{namespace}:{name}");
                    if !groups_specified {
                        user.groups = vec![
                            "system:serviceaccounts".into(),
                            format!("system:serviceaccounts:{namespace}"),
                        ];
                    }
                }
                ImpersonationRequest::Group(group) => user.groups.push(group.clone()),
                ImpersonationRequest::UserExtra { key, value } => {
                    extra.entry(key.clone()).or_default().push(value.clone())
                }
                ImpersonationRequest::Uid(uid) => user.uid = uid.clone(),
            }
            match self.authorizer.authorize(&requestor, &attributes) {
                Decision::Allow => {}
                Decision::Deny(reason) => return refuse(&requestor, attributes, &reason),
                Decision::NoOpinion => return refuse(&requestor, attributes, ""),
            }
        }
        user.extra = extra;
        add_implied_group(&mut user);
        log::debug!("{:?} is impersonating {:?}", requestor.name, user.name);
        req.context.impersonated_user = Some(user.clone());
        req.context.user = user;
        req.headers
            .retain(|(name, _)| !is_impersonation_header(name));
        self.next.serve(req)
    }
    // ANCHOR_END: with_impersonation
}

/// An impersonated user is in `system:authenticated` as any signed-in user is, unless the
/// groups asked for already say authenticated or unauthenticated; impersonating
/// `system:anonymous` gives `system:unauthenticated` instead.
fn add_implied_group(user: &mut UserInfo) {
    let has = |g: &str| user.groups.iter().any(|x| x == g);
    if user.name == ANONYMOUS_USER {
        if !has(UNAUTHENTICATED_GROUP) {
            user.groups.push(UNAUTHENTICATED_GROUP.into());
        }
    } else if !has(AUTHENTICATED_GROUP) && !has(UNAUTHENTICATED_GROUP) {
        user.groups.push(AUTHENTICATED_GROUP.into());
    }
}

pub fn is_impersonation_header(name: &str) -> bool {
    [
        IMPERSONATE_USER_HEADER,
        IMPERSONATE_UID_HEADER,
        IMPERSONATE_GROUP_HEADER,
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
        || strip_prefix_ignore_case(name, IMPERSONATE_USER_EXTRA_HEADER_PREFIX).is_some()
}

/// The 403 of `responsewriters.Forbidden` for the impersonation check that failed: `users
/// "jane" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the
/// cluster scope`.
fn refuse(requestor: &UserInfo, attributes: RequestInfo, reason: &str) -> Response {
    let ctx = RequestContext {
        request_info: attributes,
        user: requestor.clone(),
        ..Default::default()
    };
    forbidden(&ctx, reason)
}

fn request_uri(req: &Request) -> String {
    if req.query.is_empty() {
        req.path.clone()
    } else {
        format!("{}?{}", req.path, req.query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::authorization::{AlwaysAllow, AlwaysDeny, ModeAuthorizer};

    fn request(headers: &[(&str, &str)]) -> Request {
        Request {
            path: "/api/v1/namespaces".into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn requests_in_go_order() {
        let req = request(&[
            ("Impersonate-Group", "dev"),
            ("impersonate-extra-acme.com%2fproject", "apollo"),
            ("Impersonate-Uid", "42"),
            ("Impersonate-User", "system:serviceaccount:demo:robot"),
            ("Impersonate-Group", "ops"),
        ]);
        use ImpersonationRequest::*;
        assert_eq!(
            build_impersonation_requests(&req).unwrap(),
            [
                ServiceAccount {
                    namespace: "demo".into(),
                    name: "robot".into()
                },
                Group("dev".into()),
                Group("ops".into()),
                UserExtra {
                    key: "acme.com/project".into(),
                    value: "apollo".into()
                },
                Uid("42".into()),
            ]
        );
        let err =
            build_impersonation_requests(&request(&[("Impersonate-Group", "dev")])).unwrap_err();
        assert!(err.ends_with("without impersonating a user"), "{err}");
        assert!(build_impersonation_requests(&request(&[]))
            .unwrap()
            .is_empty());
        // Not a service account name: too few or too many parts.
        let user = build_impersonation_requests(&request(&[(
            "Impersonate-User",
            "system:serviceaccount:demo",
        )]))
        .unwrap();
        assert_eq!(user, [User("system:serviceaccount:demo".into())]);
    }

    #[test]
    fn attributes_name_kube_resources() {
        let extra = ImpersonationRequest::UserExtra {
            key: "scopes".into(),
            value: "view".into(),
        }
        .attributes();
        assert_eq!(
            (
                extra.verb.as_str(),
                extra.api_group.as_str(),
                extra.resource.as_str(),
                extra.subresource.as_str(),
                extra.name.as_str()
            ),
            (
                "impersonate",
                "authentication.k8s.io",
                "userextras",
                "scopes",
                "view"
            )
        );
        let sa = ImpersonationRequest::ServiceAccount {
            namespace: "demo".into(),
            name: "robot".into(),
        }
        .attributes();
        assert_eq!(
            (sa.namespace.as_str(), sa.resource.as_str()),
            ("demo", "serviceaccounts")
        );
    }

    struct Echo;
    impl Handler for Echo {
        fn serve(&self, req: &mut Request) -> Response {
            let u = &req.context.user;
            let headers: Vec<&str> = req.headers.iter().map(|(n, _)| n.as_str()).collect();
            Response::json(
                200,
                &serde_json::json!({"name": u.name, "uid": u.uid, "groups": u.groups, "extra": u.extra, "headers": headers}),
            )
        }
    }

    fn serve(
        mode: Box<dyn ModeAuthorizer>,
        caller: &[&str],
        headers: &[(&str, &str)],
    ) -> (u16, serde_json::Value) {
        let filter = WithImpersonation {
            authorizer: Arc::new(Authorizer::new(vec![mode])),
            next: Arc::new(Echo),
        };
        let mut req = request(headers);
        req.headers
            .push(("Accept".into(), "application/json".into()));
        req.context.user = UserInfo {
            name: "bob".into(),
            groups: caller.iter().map(|g| g.to_string()).collect(),
            ..Default::default()
        };
        let resp = filter.serve(&mut req);
        let body = match &resp.body {
            crate::http::Body::Bytes(b) => serde_json::from_slice(b).unwrap(),
            crate::http::Body::Stream(_) => panic!("a stream"),
        };
        (resp.status, body)
    }

    #[test]
    fn allowed_impersonation_replaces_the_user_and_drops_the_headers() {
        let (status, body) = serve(
            Box::new(AlwaysAllow),
            &[],
            &[
                ("Impersonate-User", "jane"),
                ("Impersonate-Group", "dev"),
                ("Impersonate-Extra-Scopes", "view"),
            ],
        );
        assert_eq!(status, 200);
        assert_eq!(body["name"], "jane");
        assert_eq!(
            body["groups"],
            serde_json::json!(["dev", AUTHENTICATED_GROUP])
        );
        assert_eq!(body["extra"]["scopes"], serde_json::json!(["view"]));
        assert_eq!(body["headers"], serde_json::json!(["Accept"]));

        let (_, body) = serve(
            Box::new(AlwaysAllow),
            &[],
            &[("Impersonate-User", "system:serviceaccount:demo:robot")],
        );
        assert_eq!(
            body["groups"],
            serde_json::json!([
                "system:serviceaccounts",
                "system:serviceaccounts:demo",
                AUTHENTICATED_GROUP
            ])
        );
        let (_, body) = serve(
            Box::new(AlwaysAllow),
            &[],
            &[("Impersonate-User", ANONYMOUS_USER)],
        );
        assert_eq!(body["groups"], serde_json::json!([UNAUTHENTICATED_GROUP]));
    }

    #[test]
    fn refused_impersonation_is_a_403_naming_the_check() {
        let (status, body) = serve(Box::new(AlwaysDeny), &[], &[("Impersonate-User", "jane")]);
        assert_eq!(status, 403);
        assert_eq!(
            body["message"],
            "users \"jane\" is forbidden: User \"bob\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope: Everything is forbidden."
        );
        assert_eq!(body["details"]["kind"], "users");
        let (status, _) = serve(
            Box::new(AlwaysDeny),
            &["system:masters"],
            &[("Impersonate-User", "jane")],
        );
        assert_eq!(status, 200);
        let (status, body) = serve(Box::new(AlwaysAllow), &[], &[("Impersonate-Uid", "42")]);
        assert_eq!(status, 500);
        assert!(body["message"]
            .as_str()
            .unwrap()
            .starts_with("Internal Server Error: \"/api/v1/namespaces\": requested"));
    }
}
