//! The `audit.k8s.io/v1` `Policy` and `policy.Checker` (`k8s.io/apiserver/pkg/audit/policy`):
//! the first rule that matches a request gives its level and the stages to leave out; a request
//! no rule matches is not audited.
//!
//! kube-apiserver reads the file as YAML or JSON; so do we, through [`crate::scheme::yaml`]
//! (JSON is YAML too), as `runtime.Decode` with the YAML-or-JSON decoder does.

use std::path::Path;

use serde::Deserialize;

use super::event::{Level, Stage};
use crate::config::authentication::UserInfo;
use crate::server::filters::request_info::RequestInfo;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Policy {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub rules: Vec<PolicyRule>,
    /// Left out of every event, whatever rule matched.
    #[serde(default)]
    pub omit_stages: Vec<Stage>,
    #[serde(default)]
    pub omit_managed_fields: bool,
}

// ANCHOR: policy_rule
/// One rule. Every field that is set must match; an empty one matches anything.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyRule {
    pub level: Option<Level>,
    #[serde(default)]
    pub users: Vec<String>,
    #[serde(default)]
    pub user_groups: Vec<String>,
    #[serde(default)]
    pub verbs: Vec<String>,
    #[serde(default)]
    pub resources: Vec<GroupResources>,
    /// `""` is a cluster-scoped resource.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Paths such as `/healthz`, or a prefix ending in `*`.
    #[serde(default, rename = "nonResourceURLs")]
    pub non_resource_urls: Vec<String>,
    #[serde(default)]
    pub omit_stages: Vec<Stage>,
    /// Unset means the policy's `omitManagedFields`.
    pub omit_managed_fields: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupResources {
    /// `""` is the core group.
    #[serde(default)]
    pub group: String,
    /// `pods`, `pods/log`, `*`, `*/status`, `pods/*`; empty is every resource of the group.
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub resource_names: Vec<String>,
}
// ANCHOR_END: policy_rule

/// `LoadPolicyFromFile`: read, decode, validate. Every problem is a start-up error.
pub fn load_policy_from_file(path: &Path) -> Result<Policy, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("failed to read file path {:?}: {e}", path.display()))?;
    load_policy_from_bytes(&bytes).map_err(|e| format!("file {:?}: {e}", path.display()))
}

pub fn load_policy_from_bytes(bytes: &[u8]) -> Result<Policy, String> {
    let (value, _) =
        crate::scheme::yaml::from_slice(bytes).map_err(|e| format!("failed decoding: {e}"))?;
    let policy: Policy =
        serde_json::from_value(value).map_err(|e| format!("failed decoding: {e}"))?;
    if policy.kind != "Policy" || policy.api_version != "audit.k8s.io/v1" {
        return Err(format!(
            "failed decoding: no kind {:?} is registered for version {:?}: the audit policy is kind \"Policy\" of apiVersion \"audit.k8s.io/v1\"",
            policy.kind, policy.api_version
        ));
    }
    let errs = validate_policy(&policy);
    if !errs.is_empty() {
        return Err(errs.join(", "));
    }
    if policy.rules.is_empty() {
        return Err("loaded illegal policy with 0 rules".into());
    }
    Ok(policy)
}

/// `validation.ValidatePolicy`: field errors named by their path, all of them at once.
fn validate_policy(policy: &Policy) -> Vec<String> {
    let mut errs = Vec::new();
    for (i, rule) in policy.rules.iter().enumerate() {
        let at = format!("rules[{i}]");
        if rule.level.is_none() {
            errs.push(format!("{at}.level: Required value"));
        }
        if !rule.non_resource_urls.is_empty()
            && (!rule.resources.is_empty() || !rule.namespaces.is_empty())
        {
            errs.push(format!(
                "{at}.nonResourceURLs: Invalid value: {:?}: rules cannot apply to both regular resources and non-resource URLs",
                rule.non_resource_urls
            ));
        }
        for (j, url) in rule.non_resource_urls.iter().enumerate() {
            if url.trim_end_matches('*').contains('*') {
                errs.push(format!(
                    "{at}.nonResourceURLs[{j}]: Invalid value: {url:?}: non-resource URL rules may only use '*' at the end"
                ));
            } else if !url.starts_with('/') && url != "*" {
                errs.push(format!(
                    "{at}.nonResourceURLs[{j}]: Invalid value: {url:?}: non-resource URL rules must begin with a '/' character"
                ));
            }
        }
        for (j, gr) in rule.resources.iter().enumerate() {
            let wildcard = gr.resources.iter().any(|r| r.contains('*'));
            if wildcard && !gr.resource_names.is_empty() {
                errs.push(format!(
                    "{at}.resources[{j}].resourceNames: Invalid value: {:?}: using resourceNames with wildcard resources is not supported",
                    gr.resource_names
                ));
            }
            if gr.resources.is_empty() && !gr.resource_names.is_empty() {
                errs.push(format!(
                    "{at}.resources[{j}].resourceNames: Invalid value: {:?}: resourceNames require resources",
                    gr.resource_names
                ));
            }
        }
    }
    errs
}

/// What the policy says about one request (Go's `RequestAuditConfig`).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestAuditConfig {
    pub level: Level,
    pub omit_stages: Vec<Stage>,
    pub omit_managed_fields: bool,
}

/// `policy.Checker`, named for the interface the filters call (`PolicyRuleEvaluator`).
#[derive(Debug)]
pub struct PolicyRuleEvaluator {
    policy: Policy,
}

impl PolicyRuleEvaluator {
    pub fn new(policy: Policy) -> PolicyRuleEvaluator {
        PolicyRuleEvaluator { policy }
    }

    // ANCHOR: evaluate_policy_rule
    /// `EvaluatePolicyRule`: the first matching rule decides; the policy's `omitStages` are
    /// added to the rule's. No match is level None.
    pub fn evaluate(&self, user: &UserInfo, info: &RequestInfo) -> RequestAuditConfig {
        for rule in &self.policy.rules {
            if rule_matches(rule, user, info) {
                let mut omit_stages = rule.omit_stages.clone();
                for s in &self.policy.omit_stages {
                    if !omit_stages.contains(s) {
                        omit_stages.push(*s);
                    }
                }
                return RequestAuditConfig {
                    level: rule.level.unwrap_or(Level::None),
                    omit_stages,
                    omit_managed_fields: rule
                        .omit_managed_fields
                        .unwrap_or(self.policy.omit_managed_fields),
                };
            }
        }
        RequestAuditConfig {
            level: Level::None,
            omit_stages: Vec::new(),
            omit_managed_fields: false,
        }
    }
    // ANCHOR_END: evaluate_policy_rule
}

// ANCHOR: rule_matches
fn rule_matches(rule: &PolicyRule, user: &UserInfo, info: &RequestInfo) -> bool {
    if !rule.users.is_empty() && !rule.users.contains(&user.name) {
        return false;
    }
    if !rule.user_groups.is_empty() && !user.groups.iter().any(|g| rule.user_groups.contains(g)) {
        return false;
    }
    if !rule.verbs.is_empty() && !rule.verbs.contains(&info.verb) {
        return false;
    }
    // A rule about resources says nothing of /healthz, and one about URLs nothing of pods.
    if !rule.namespaces.is_empty() || !rule.resources.is_empty() {
        return info.is_resource_request && rule_matches_resource(rule, info);
    }
    if !rule.non_resource_urls.is_empty() {
        return !info.is_resource_request && rule_matches_non_resource(rule, &info.path);
    }
    true
}

fn rule_matches_non_resource(rule: &PolicyRule, path: &str) -> bool {
    rule.non_resource_urls
        .iter()
        .any(|spec| match spec.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => spec == path,
        })
}

fn rule_matches_resource(rule: &PolicyRule, info: &RequestInfo) -> bool {
    if !rule.namespaces.is_empty() && !rule.namespaces.contains(&info.namespace) {
        return false;
    }
    if rule.resources.is_empty() {
        return true;
    }
    let combined = if info.subresource.is_empty() {
        info.resource.clone()
    } else {
        format!("{}/{}", info.resource, info.subresource)
    };
    rule.resources
        .iter()
        .filter(|gr| gr.group == info.api_group)
        .any(|gr| {
            if gr.resources.is_empty() {
                return true;
            }
            if !gr.resource_names.is_empty() && !gr.resource_names.contains(&info.name) {
                return false;
            }
            gr.resources.iter().any(|res| {
                res == &combined
                    || res == "*"
                    || (!info.subresource.is_empty()
                        && res.strip_prefix("*/") == Some(info.subresource.as_str()))
                    || res.strip_suffix("/*") == Some(info.resource.as_str())
            })
        })
}
// ANCHOR_END: rule_matches

#[cfg(test)]
mod tests {
    use super::*;

    fn evaluator(rules: &str) -> PolicyRuleEvaluator {
        let text = format!(
            r#"{{"apiVersion":"audit.k8s.io/v1","kind":"Policy","omitStages":["RequestReceived"],"rules":{rules}}}"#
        );
        PolicyRuleEvaluator::new(load_policy_from_bytes(text.as_bytes()).unwrap())
    }

    fn user(name: &str, groups: &[&str]) -> UserInfo {
        UserInfo {
            name: name.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..Default::default()
        }
    }

    fn level(e: &PolicyRuleEvaluator, u: &UserInfo, method: &str, path: &str) -> Level {
        e.evaluate(u, &RequestInfo::parse(method, path, "")).level
    }

    #[test]
    fn each_field_of_a_rule_must_match() {
        let e = evaluator(
            r#"[
            {"level":"RequestResponse","users":["alice"]},
            {"level":"Request","userGroups":["devs"]},
            {"level":"Metadata","verbs":["delete"]},
            {"level":"Request","resources":[{"group":"apps","resources":["deployments/scale"]}]},
            {"level":"Metadata","resources":[{"resources":["configmaps"],"resourceNames":["cfg"]}]},
            {"level":"Request","namespaces":["kube-system"]},
            {"level":"Metadata","namespaces":[""],"resources":[{"resources":["namespaces"]}]},
            {"level":"RequestResponse","resources":[{"resources":["*/status"]}]},
            {"level":"Request","resources":[{"resources":["pods/*"]}]},
            {"level":"Metadata","nonResourceURLs":["/healthz*","/version"]}
        ]"#,
        );
        let bob = user("bob", &["system:authenticated"]);
        let pods = "/api/v1/namespaces/demo/pods";
        assert_eq!(
            level(&e, &user("alice", &[]), "GET", pods),
            Level::RequestResponse
        );
        assert_eq!(
            level(&e, &user("carol", &["devs"]), "GET", pods),
            Level::Request
        );
        assert_eq!(
            level(&e, &bob, "DELETE", &format!("{pods}/p")),
            Level::Metadata
        );
        assert_eq!(
            level(&e, &bob, "GET", pods),
            Level::Request,
            "as in Go, pods/* also matches pods itself"
        );
        assert_eq!(level(&e, &bob, "GET", "/api/v1/services"), Level::None);
        let scale = "/apis/apps/v1/namespaces/demo/deployments/web/scale";
        assert_eq!(level(&e, &bob, "GET", scale), Level::Request);
        assert_eq!(
            level(
                &e,
                &bob,
                "GET",
                "/apis/apps/v1/namespaces/demo/deployments/web"
            ),
            Level::None,
            "deployments/scale is not deployments"
        );
        let cm = "/api/v1/namespaces/demo/configmaps";
        assert_eq!(
            level(&e, &bob, "GET", &format!("{cm}/cfg")),
            Level::Metadata
        );
        assert_eq!(level(&e, &bob, "GET", &format!("{cm}/other")), Level::None);
        assert_eq!(
            level(&e, &bob, "GET", cm),
            Level::None,
            "a list has no name"
        );
        assert_eq!(
            level(&e, &bob, "GET", "/api/v1/namespaces/kube-system/secrets"),
            Level::Request
        );
        assert_eq!(
            level(&e, &bob, "GET", "/api/v1/namespaces"),
            Level::Metadata
        );
        assert_eq!(
            level(&e, &bob, "GET", "/api/v1/namespaces/demo"),
            Level::None,
            "a namespace's own name is its namespace, not \"\""
        );
        assert_eq!(
            level(&e, &bob, "PUT", &format!("{pods}/p/status")),
            Level::RequestResponse
        );
        assert_eq!(
            level(&e, &bob, "GET", &format!("{pods}/p/log")),
            Level::Request
        );
        assert_eq!(level(&e, &bob, "GET", "/healthz/ping"), Level::Metadata);
        assert_eq!(level(&e, &bob, "GET", "/version"), Level::Metadata);
        assert_eq!(level(&e, &bob, "GET", "/versions"), Level::None);
        assert_eq!(
            level(&e, &bob, "GET", "/api/v1/healthz"),
            Level::None,
            "a URL rule never matches a resource request"
        );
    }

    #[test]
    fn the_first_match_wins_and_omit_stages_add_up() {
        let e = evaluator(
            r#"[
            {"level":"None","users":["system:kube-proxy"]},
            {"level":"Metadata","omitStages":["ResponseStarted"],"omitManagedFields":true},
            {"level":"RequestResponse"}
        ]"#,
        );
        let info = RequestInfo::parse("GET", "/api/v1/pods", "");
        assert_eq!(
            e.evaluate(&user("system:kube-proxy", &[]), &info).level,
            Level::None
        );
        let got = e.evaluate(&user("bob", &[]), &info);
        assert_eq!(
            got,
            RequestAuditConfig {
                level: Level::Metadata,
                omit_stages: vec![Stage::ResponseStarted, Stage::RequestReceived],
                omit_managed_fields: true,
            }
        );
    }

    #[test]
    fn no_rule_matching_is_level_none() {
        let e = evaluator(r#"[{"level":"Metadata","verbs":["create"]}]"#);
        let info = RequestInfo::parse("GET", "/api/v1/pods", "");
        assert_eq!(e.evaluate(&user("bob", &[]), &info).level, Level::None);
    }

    #[test]
    fn kubes_example_policy_reads_as_yaml() {
        let policy =
            load_policy_from_bytes(include_bytes!("../../tests/fixtures/audit-policy.yaml"))
                .unwrap();
        assert_eq!(policy.rules.len(), 9);
        assert_eq!(policy.omit_stages, [Stage::RequestReceived]);
        assert_eq!(
            policy.rules[2].resources[0].resource_names,
            ["controller-leader"]
        );
        assert_eq!(policy.rules[4].non_resource_urls, ["/api*", "/version"]);
        let e = PolicyRuleEvaluator::new(policy);
        let level = |verb: &str, path: &str, u: &UserInfo| {
            e.evaluate(u, &RequestInfo::parse(verb, path, "")).level
        };
        let alice = user("alice", &["system:authenticated"]);
        assert_eq!(
            level("GET", "/api/v1/namespaces/a/pods/p", &alice),
            Level::RequestResponse
        );
        assert_eq!(
            level("GET", "/api/v1/namespaces/a/pods/p/log", &alice),
            Level::Metadata
        );
        assert_eq!(level("GET", "/version", &alice), Level::None);
        assert_eq!(
            level("PUT", "/api/v1/namespaces/kube-system/configmaps/c", &alice),
            Level::Request
        );
        assert_eq!(
            level("GET", "/apis/apps/v1/deployments", &alice),
            Level::Metadata
        );
    }

    #[test]
    fn bad_policies_are_refused_with_the_field_named() {
        let bad = |text: &str| load_policy_from_bytes(text.as_bytes()).unwrap_err();
        let head = r#""apiVersion":"audit.k8s.io/v1","kind":"Policy""#;
        assert!(
            bad("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: &a None\n")
                .contains("failed decoding: yaml: line 4 column 10: anchors")
        );
        assert!(
            bad(r#"{"apiVersion":"audit.k8s.io/v1beta1","kind":"Policy","rules":[]}"#)
                .contains("\"audit.k8s.io/v1beta1\"")
        );
        assert_eq!(
            bad(&format!("{{{head},\"rules\":[]}}")),
            "loaded illegal policy with 0 rules"
        );
        assert_eq!(
            bad(&format!("{{{head},\"rules\":[{{\"verbs\":[\"get\"]}}]}}")),
            "rules[0].level: Required value"
        );
        assert!(bad(&format!(
            "{{{head},\"rules\":[{{\"level\":\"Everything\"}}]}}"
        ))
        .contains("unknown variant `Everything`"));
        assert!(bad(&format!("{{{head},\"rules\":[{{\"level\":\"None\",\"nonResourceURLs\":[\"/a*b\"]}}]}}"))
            .contains("rules[0].nonResourceURLs[0]: Invalid value: \"/a*b\": non-resource URL rules may only use '*' at the end"));
        assert!(bad(&format!("{{{head},\"rules\":[{{\"level\":\"None\",\"nonResourceURLs\":[\"/x\"],\"namespaces\":[\"a\"]}}]}}"))
            .contains("rules cannot apply to both regular resources and non-resource URLs"));
        assert!(bad(&format!(
            "{{{head},\"rules\":[{{\"level\":\"None\",\"omitStages\":[\"Later\"]}}]}}"
        ))
        .contains("unknown variant `Later`"));
        assert!(bad(&format!(
            "{{{head},\"rules\":[{{\"level\":\"None\",\"user\":[\"a\"]}}]}}"
        ))
        .contains("unknown field `user`"));
    }
}
