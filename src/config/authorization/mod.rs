//! Authorization: may this user do this (book chapter 3). Mirrors `BuiltInAuthorizationOptions`
//! and the union authorizer `authorizerfactory` builds from `--authorization-mode`.
//!
//! The chain, in order: members of `system:masters` may do anything (kube-apiserver puts this
//! privileged-group authorizer first, whatever the modes); then each mode in the order given.
//! The first allow or deny decides; "no opinion" falls through, and when every mode has none
//! the request is refused. Anonymous callers get no special treatment here: what they may read
//! (health, version, discovery) the bootstrap RBAC policy grants them.
//!
//! - [`abac`]: `--authorization-policy-file`, one policy per line.
//! - [`rbac`]: roles and bindings read from storage, and the rules behind escalation checks.

pub mod abac;
pub mod rbac;

use std::sync::Arc;

use serde::Serialize;

use crate::config::authentication::{UserInfo, MASTERS_GROUP};
use crate::server::filters::request_info::RequestInfo;
use crate::storage::Storage;

#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    Allow,
    Deny(String),
    NoOpinion,
}

/// What an authorizer says and why: Go's `(Decision, reason string, error)`. The reason of a
/// deny is also in [`Decision::Deny`]; RBAC gives one with an allow (which binding allowed) and
/// with no opinion (a binding names a role that does not exist).
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub decision: Decision,
    pub reason: String,
}

impl Answer {
    fn allow(reason: impl Into<String>) -> Answer {
        Answer {
            decision: Decision::Allow,
            reason: reason.into(),
        }
    }

    fn deny(reason: &str) -> Answer {
        Answer {
            decision: Decision::Deny(reason.into()),
            reason: reason.into(),
        }
    }

    fn no_opinion(reason: impl Into<String>) -> Answer {
        Answer {
            decision: Decision::NoOpinion,
            reason: reason.into(),
        }
    }
}

/// One resource rule a user holds, as a rules review reports it (`authorizer.ResourceRuleInfo`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRuleInfo {
    pub verbs: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub api_groups: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
}

/// One non-resource rule a user holds (`authorizer.NonResourceRuleInfo`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NonResourceRuleInfo {
    pub verbs: Vec<String>,
    #[serde(rename = "nonResourceURLs", skip_serializing_if = "Vec::is_empty")]
    pub non_resource_urls: Vec<String>,
}

/// Everything a user may do in a namespace, as far as the modes can say (`RuleResolver.RulesFor`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rules {
    pub resource_rules: Vec<ResourceRuleInfo>,
    pub non_resource_rules: Vec<NonResourceRuleInfo>,
    /// Some mode could not list all it would allow.
    pub incomplete: bool,
    /// What went wrong while resolving (a binding to a missing role).
    pub errors: Vec<String>,
}

// ANCHOR: mode_authorizer
/// One mode of the union: Go's `authorizer.Authorizer` together with `authorizer.RuleResolver`,
/// which every built-in mode also implements so that `kubectl auth can-i --list` can ask it.
pub trait ModeAuthorizer: Send + Sync {
    fn authorize(&self, user: &UserInfo, info: &RequestInfo) -> Answer;
    fn rules_for(&self, user: &UserInfo, namespace: &str) -> Rules;
}
// ANCHOR_END: mode_authorizer

/// `AlwaysAllow`: everything, for everyone.
pub struct AlwaysAllow;

impl ModeAuthorizer for AlwaysAllow {
    fn authorize(&self, _: &UserInfo, _: &RequestInfo) -> Answer {
        Answer::allow("")
    }

    fn rules_for(&self, _: &UserInfo, _: &str) -> Rules {
        let all = || vec!["*".to_string()];
        Rules {
            resource_rules: vec![ResourceRuleInfo {
                verbs: all(),
                api_groups: all(),
                resources: all(),
                resource_names: Vec::new(),
            }],
            non_resource_rules: vec![NonResourceRuleInfo {
                verbs: all(),
                non_resource_urls: all(),
            }],
            ..Default::default()
        }
    }
}

/// `AlwaysDeny`: nothing, for anyone (behind the privileged group, which still passes).
pub struct AlwaysDeny;

impl ModeAuthorizer for AlwaysDeny {
    fn authorize(&self, _: &UserInfo, _: &RequestInfo) -> Answer {
        Answer::deny("Everything is forbidden.")
    }

    fn rules_for(&self, _: &UserInfo, _: &str) -> Rules {
        Rules::default()
    }
}

/// The modes `--authorization-mode` accepts, in the spelling kube-apiserver uses.
pub const MODES: &[&str] = &["AlwaysAllow", "AlwaysDeny", "ABAC", "RBAC"];

// ANCHOR: authorizer
/// The union authorizer (`union.New`) behind the privileged-group rule.
pub struct Authorizer {
    modes: Vec<Box<dyn ModeAuthorizer>>,
}

impl Authorizer {
    pub fn new(modes: Vec<Box<dyn ModeAuthorizer>>) -> Authorizer {
        Authorizer { modes }
    }

    pub fn authorize(&self, user: &UserInfo, info: &RequestInfo) -> Decision {
        self.answer(user, info).decision
    }

    /// The decision with its reason, as the 403 message and SubjectAccessReview's status show it.
    /// When no mode has an opinion, their reasons are joined one per line, as Go's union does.
    pub fn answer(&self, user: &UserInfo, info: &RequestInfo) -> Answer {
        if user.groups.iter().any(|g| g == MASTERS_GROUP) {
            return Answer::allow("");
        }
        let mut reasons = Vec::new();
        for mode in &self.modes {
            let answer = mode.authorize(user, info);
            if answer.decision != Decision::NoOpinion {
                return answer;
            }
            if !answer.reason.is_empty() {
                reasons.push(answer.reason);
            }
        }
        Answer::no_opinion(reasons.join("\n"))
    }

    /// The union of every mode's rules (`unionAuthzRulesHandler.RulesFor`). The privileged
    /// group is not a rule resolver in kube-apiserver either: masters see the rules RBAC's
    /// bootstrap binding of `cluster-admin` gives them.
    pub fn rules_for(&self, user: &UserInfo, namespace: &str) -> Rules {
        let mut all = Rules::default();
        for mode in &self.modes {
            let rules = mode.rules_for(user, namespace);
            all.resource_rules.extend(rules.resource_rules);
            all.non_resource_rules.extend(rules.non_resource_rules);
            all.incomplete |= rules.incomplete;
            all.errors.extend(rules.errors);
        }
        all
    }
}
// ANCHOR_END: authorizer

// ANCHOR: new_authorizer
/// `BuiltInAuthorizationOptions.ToAuthorizationConfig` and `authorizerfactory.New`: one
/// authorizer per mode, in the order given.
pub fn new_authorizer(
    modes: &[String],
    policy_file: Option<&std::path::Path>,
    storage: &Arc<dyn Storage>,
    etcd_prefix: &str,
) -> Result<Authorizer, String> {
    let mut authorizers: Vec<Box<dyn ModeAuthorizer>> = Vec::new();
    for mode in modes {
        authorizers.push(match mode.as_str() {
            "AlwaysAllow" => Box::new(AlwaysAllow),
            "AlwaysDeny" => Box::new(AlwaysDeny),
            "ABAC" => {
                let path = policy_file
                    .ok_or("authorization-mode ABAC's authorization policy file not passed")?;
                Box::new(abac::PolicyList::from_file(path)?)
            }
            "RBAC" => Box::new(rbac::RBACAuthorizer::new(rbac::DefaultRuleResolver::new(
                Arc::clone(storage),
                etcd_prefix,
            ))),
            other => return Err(format!("authorization-mode {other:?} is not a valid mode")),
        });
    }
    Ok(Authorizer::new(authorizers))
}
// ANCHOR_END: new_authorizer

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

    /// A mode with no opinion and a reason, as RBAC is for a binding to a missing role.
    struct Abstains(&'static str);

    impl ModeAuthorizer for Abstains {
        fn authorize(&self, _: &UserInfo, _: &RequestInfo) -> Answer {
            Answer::no_opinion(self.0)
        }
        fn rules_for(&self, _: &UserInfo, _: &str) -> Rules {
            Rules {
                incomplete: true,
                ..Default::default()
            }
        }
    }

    #[test]
    fn masters_first_then_the_first_opinion_decides() {
        let list = RequestInfo::parse("GET", "/api/v1/namespaces/demo/configmaps", "");
        let deny = Authorizer::new(vec![Box::new(AlwaysDeny), Box::new(AlwaysAllow)]);
        assert_eq!(
            deny.authorize(&user("admin", &[MASTERS_GROUP]), &list),
            Decision::Allow
        );
        assert_eq!(
            deny.authorize(&user("bob", &[]), &list),
            Decision::Deny("Everything is forbidden.".into())
        );
        let allow = Authorizer::new(vec![Box::new(Abstains("a")), Box::new(AlwaysAllow)]);
        assert_eq!(allow.authorize(&user("bob", &[]), &list), Decision::Allow);
        let none = Authorizer::new(vec![Box::new(Abstains("a")), Box::new(Abstains("b"))]);
        assert_eq!(
            none.answer(&user("bob", &[]), &list),
            Answer::no_opinion("a\nb")
        );
    }

    #[test]
    fn rules_are_the_union_of_the_modes() {
        let union = Authorizer::new(vec![
            Box::new(AlwaysDeny),
            Box::new(Abstains("")),
            Box::new(AlwaysAllow),
        ]);
        let rules = union.rules_for(&user("bob", &[]), "demo");
        assert!(rules.incomplete);
        assert_eq!(rules.resource_rules.len(), 1);
        assert_eq!(rules.non_resource_rules[0].non_resource_urls, ["*"]);
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
