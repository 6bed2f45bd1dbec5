//! Authorization: may this user do this (book chapter 3). Mirrors `BuiltInAuthorizationOptions`
//! and the union authorizer `authorizerfactory` builds from `--authorization-mode`.
//!
//! The chain, in order: members of `system:masters` may do anything (kube-apiserver puts this
//! privileged-group authorizer first, whatever the modes); anonymous users may read only the
//! health, version and discovery paths (a stand-in for the bootstrap RBAC roles
//! `system:public-info-viewer` and `system:discovery`, until RBAC arrives); then each mode in
//! the order given. The first allow or deny decides.

use crate::config::authentication::{UserInfo, ANONYMOUS_USER, MASTERS_GROUP};
use crate::server::filters::request_info::RequestInfo;

#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    Allow,
    Deny(String),
    NoOpinion,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    AlwaysAllow,
    AlwaysDeny,
}

impl Mode {
    /// This mode's decision (the two modes so far decide everything the same way).
    fn authorize(&self) -> Decision {
        match self {
            Mode::AlwaysAllow => Decision::Allow,
            Mode::AlwaysDeny => Decision::Deny("Everything is forbidden.".into()),
        }
    }

    pub fn parse(name: &str) -> Option<Mode> {
        match name {
            "AlwaysAllow" => Some(Mode::AlwaysAllow),
            "AlwaysDeny" => Some(Mode::AlwaysDeny),
            _ => None,
        }
    }
}

/// Paths any caller may read: `/healthz`, `/livez`, `/readyz` (and their checks), `/version`,
/// and the discovery documents.
fn is_public_info(info: &RequestInfo) -> bool {
    if info.verb != "get" {
        return false;
    }
    let p = info.path.as_str();
    let health = ["/healthz", "/livez", "/readyz"]
        .iter()
        .any(|h| p == *h || p.starts_with(&format!("{h}/")));
    let discovery = match p.strip_prefix("/apis/").or_else(|| p.strip_prefix("/api/")) {
        // `/api/v1`, `/apis/<group>` and `/apis/<group>/<version>`, nothing deeper.
        Some(rest) => !info.is_resource_request && rest.split('/').count() <= 2,
        None => {
            matches!(p, "/api" | "/apis" | "/version" | "/openapi/v2")
                || p.starts_with("/openapi/v3")
        }
    };
    health || discovery
}

// ANCHOR: authorizer
pub struct Authorizer {
    modes: Vec<Mode>,
}

impl Authorizer {
    pub fn new(modes: Vec<Mode>) -> Authorizer {
        Authorizer { modes }
    }

    pub fn authorize(&self, user: &UserInfo, info: &RequestInfo) -> Decision {
        if user.groups.iter().any(|g| g == MASTERS_GROUP) {
            return Decision::Allow;
        }
        if user.name == ANONYMOUS_USER {
            return if is_public_info(info) {
                Decision::Allow
            } else {
                Decision::Deny(String::new())
            };
        }
        self.modes
            .iter()
            .map(Mode::authorize)
            .find(|d| *d != Decision::NoOpinion)
            .unwrap_or(Decision::NoOpinion)
    }
}
// ANCHOR_END: authorizer

/// The message of a 403, worded as `endpoints/handlers/responsewriters.forbiddenMessage`.
pub fn forbidden_message(user: &UserInfo, info: &RequestInfo) -> String {
    if !info.is_resource_request {
        return format!(
            "User {:?} cannot {} path {:?}",
            user.name, info.verb, info.path
        );
    }
    let mut resource = info.resource.clone();
    if !info.subresource.is_empty() {
        resource = format!("{resource}/{}", info.subresource);
    }
    if info.namespace.is_empty() {
        format!(
            "User {:?} cannot {} resource {resource:?} in API group {:?} at the cluster scope",
            user.name, info.verb, info.api_group
        )
    } else {
        format!(
            "User {:?} cannot {} resource {resource:?} in API group {:?} in the namespace {:?}",
            user.name, info.verb, info.api_group, info.namespace
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::filters::request_info::RequestInfo;

    fn user(name: &str, groups: &[&str]) -> UserInfo {
        UserInfo {
            name: name.into(),
            uid: String::new(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn masters_anonymous_and_modes() {
        let list = RequestInfo::parse("GET", "/api/v1/namespaces/demo/configmaps", "");
        let discovery = RequestInfo::parse("GET", "/apis/apps/v1", "");
        let deny = Authorizer::new(vec![Mode::AlwaysDeny]);
        assert_eq!(
            deny.authorize(&user("admin", &[MASTERS_GROUP]), &list),
            Decision::Allow
        );
        assert!(matches!(
            deny.authorize(&user("bob", &[]), &list),
            Decision::Deny(_)
        ));
        let allow = Authorizer::new(vec![Mode::AlwaysAllow]);
        assert_eq!(allow.authorize(&user("bob", &[]), &list), Decision::Allow);
        assert!(matches!(
            allow.authorize(&user(ANONYMOUS_USER, &[]), &list),
            Decision::Deny(_)
        ));
        assert_eq!(
            allow.authorize(&user(ANONYMOUS_USER, &[]), &discovery),
            Decision::Allow
        );
        let readyz = RequestInfo::parse("GET", "/readyz/ping", "");
        assert_eq!(
            allow.authorize(&user(ANONYMOUS_USER, &[]), &readyz),
            Decision::Allow
        );
    }

    #[test]
    fn forbidden_messages_read_like_kube() {
        let info = RequestInfo::parse("GET", "/api/v1/namespaces/demo/configmaps", "");
        assert_eq!(
            forbidden_message(&user("system:anonymous", &[]), &info),
            "User \"system:anonymous\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"demo\""
        );
    }
}
