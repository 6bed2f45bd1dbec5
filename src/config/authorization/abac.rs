//! ABAC: attribute-based access control from `--authorization-policy-file`. Mirrors
//! `pkg/auth/authorizer/abac`: the file holds one `abac.authorization.kubernetes.io/v1beta1`
//! Policy per line, and a request is allowed when any policy matches it. Policies only allow;
//! a request none matches gets no opinion, so a later mode may still decide.

use std::path::Path;

use serde::Deserialize;

use super::{Answer, ModeAuthorizer, NonResourceRuleInfo, ResourceRuleInfo, Rules};
use crate::config::authentication::UserInfo;
use crate::server::filters::request_info::RequestInfo;

pub const API_VERSION: &str = "abac.authorization.kubernetes.io/v1beta1";

/// `v1beta1.PolicySpec`: who (user, group, `*` for all), and what. A resource policy names
/// `namespace`, `resource` and `apiGroup` (each `*` for all); a non-resource policy names a
/// `nonResourcePath` (exact, `*`, or a prefix ending in `*`). `readonly` limits it to reads.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicySpec {
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub readonly: bool,
    #[serde(default)]
    pub api_group: String,
    #[serde(default)]
    pub resource: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub non_resource_path: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Policy {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    spec: PolicySpec,
}

/// The policies of one file, in order (`abac.PolicyList`).
#[derive(Debug, Default)]
pub struct PolicyList(pub Vec<PolicySpec>);

impl PolicyList {
    /// `NewFromFile`: blank lines and `#` comments are skipped; any other bad line fails the
    /// start, naming the file and line as kube-apiserver's `policyLoadError` does.
    pub fn from_file(path: &Path) -> Result<PolicyList, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("error reading policy file {}: {e}", path.display()))?;
        let mut policies = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let fail = |e: String| {
                format!(
                    "error reading policy file {}, line {}: {trimmed}: {e}",
                    path.display(),
                    i + 1
                )
            };
            let policy = parse_line(trimmed).map_err(fail)?;
            policies.push(policy);
        }
        Ok(PolicyList(policies))
    }
}

fn parse_line(line: &str) -> Result<PolicySpec, String> {
    let policy: Policy = serde_json::from_str(line).map_err(|e| e.to_string())?;
    if policy.api_version != API_VERSION {
        return Err(format!(
            "apiVersion {:?} is not {API_VERSION:?}",
            policy.api_version
        ));
    }
    if policy.kind != "Policy" {
        return Err(format!(
            "no kind {:?} is registered for version {API_VERSION:?}",
            policy.kind
        ));
    }
    Ok(policy.spec)
}

// ANCHOR: abac_matches
/// `subjectMatches`: a policy names a user, a group, or both, and each it names must match.
fn subject_matches(p: &PolicySpec, user: &UserInfo) -> bool {
    let mut matched = false;
    if !p.user.is_empty() {
        if p.user != "*" && p.user != user.name {
            return false;
        }
        matched = true;
    }
    if !p.group.is_empty() {
        if p.group != "*" && !user.groups.contains(&p.group) {
            return false;
        }
        matched = true;
    }
    matched
}

/// `verbMatches`: every policy allows reads; only a policy that is not read-only allows writes.
fn verb_matches(p: &PolicySpec, info: &RequestInfo) -> bool {
    matches!(info.verb.as_str(), "get" | "list" | "watch") || !p.readonly
}

fn resource_matches(p: &PolicySpec, info: &RequestInfo) -> bool {
    let any_or = |want: &str, got: &str| want == "*" || want == got;
    info.is_resource_request
        && any_or(&p.namespace, &info.namespace)
        && any_or(&p.resource, &info.resource)
        && any_or(&p.api_group, &info.api_group)
}

fn non_resource_matches(p: &PolicySpec, info: &RequestInfo) -> bool {
    let path = &p.non_resource_path;
    !info.is_resource_request
        && (path == "*"
            || *path == info.path
            || path
                .strip_suffix('*')
                .is_some_and(|prefix| info.path.starts_with(prefix)))
}

pub fn matches(p: &PolicySpec, user: &UserInfo, info: &RequestInfo) -> bool {
    subject_matches(p, user)
        && verb_matches(p, info)
        && (resource_matches(p, info) || non_resource_matches(p, info))
}
// ANCHOR_END: abac_matches

fn verbs(readonly: bool) -> Vec<String> {
    let verbs: &[&str] = if readonly {
        &["get", "list", "watch"]
    } else {
        &["*"]
    };
    verbs.iter().map(|v| v.to_string()).collect()
}

impl ModeAuthorizer for PolicyList {
    fn authorize(&self, user: &UserInfo, info: &RequestInfo) -> Answer {
        if self.0.iter().any(|p| matches(p, user, info)) {
            Answer::allow("")
        } else {
            Answer::no_opinion("No policy matched.")
        }
    }

    fn rules_for(&self, user: &UserInfo, namespace: &str) -> Rules {
        let mut rules = Rules::default();
        for p in self.0.iter().filter(|p| subject_matches(p, user)) {
            if p.namespace != "*" && p.namespace != namespace {
                continue;
            }
            if !p.resource.is_empty() {
                rules.resource_rules.push(ResourceRuleInfo {
                    verbs: verbs(p.readonly),
                    api_groups: vec![p.api_group.clone()],
                    resources: vec![p.resource.clone()],
                    resource_names: Vec::new(),
                });
            }
            if !p.non_resource_path.is_empty() {
                rules.non_resource_rules.push(NonResourceRuleInfo {
                    verbs: verbs(p.readonly),
                    non_resource_urls: vec![p.non_resource_path.clone()],
                });
            }
        }
        rules
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, groups: &[&str]) -> UserInfo {
        UserInfo {
            name: name.into(),
            uid: String::new(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..Default::default()
        }
    }

    fn policy(spec: &str) -> PolicySpec {
        parse_line(&format!(
            r#"{{"apiVersion": "{API_VERSION}", "kind": "Policy", "spec": {spec}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn lines_as_kube_reads_them() {
        let dir = std::env::temp_dir().join(format!("abac-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("policy.jsonl");
        let good = format!(
            "# comment\n\n{{\"apiVersion\":\"{API_VERSION}\",\"kind\":\"Policy\",\"spec\":{{\"user\":\"alice\",\"namespace\":\"*\",\"resource\":\"*\",\"apiGroup\":\"*\"}}}}\n"
        );
        std::fs::write(&path, &good).unwrap();
        let list = PolicyList::from_file(&path).unwrap();
        assert_eq!(list.0.len(), 1);
        assert_eq!(list.0[0].user, "alice");
        std::fs::write(&path, format!("{good}{{\"spec\": {{}}}}\n")).unwrap();
        let err = PolicyList::from_file(&path).unwrap_err();
        assert!(
            err.contains(", line 4: {\"spec\": {}}: apiVersion \"\""),
            "{err}"
        );
        std::fs::write(&path, format!("{{\"apiVersion\":\"{API_VERSION}\",\"kind\":\"Policy\",\"spec\":{{\"usr\":\"x\"}}}}")).unwrap();
        assert!(PolicyList::from_file(&path)
            .unwrap_err()
            .contains("unknown field `usr`"));
    }

    #[test]
    fn matching_rules() {
        let list_pods = RequestInfo::parse("GET", "/api/v1/namespaces/demo/pods", "");
        let create_pod = RequestInfo::parse("POST", "/api/v1/namespaces/demo/pods", "");
        let deploys = RequestInfo::parse("GET", "/apis/apps/v1/namespaces/demo/deployments", "");
        let healthz = RequestInfo::parse("GET", "/healthz/ping", "");
        let alice = user("alice", &["dev"]);
        let bob = user("bob", &["ops"]);

        let reader = policy(
            r#"{"user": "alice", "namespace": "demo", "resource": "pods", "apiGroup": "", "readonly": true}"#,
        );
        assert!(matches(&reader, &alice, &list_pods));
        assert!(!matches(&reader, &alice, &create_pod), "read-only");
        assert!(
            !matches(&reader, &alice, &deploys),
            "other group and resource"
        );
        assert!(!matches(&reader, &bob, &list_pods), "other user");
        assert!(!matches(&reader, &alice, &healthz), "a resource policy");

        let ops = policy(r#"{"group": "ops", "namespace": "*", "resource": "*", "apiGroup": "*"}"#);
        assert!(matches(&ops, &bob, &create_pod) && matches(&ops, &bob, &deploys));
        assert!(!matches(&ops, &alice, &create_pod));

        let both = policy(
            r#"{"user": "bob", "group": "dev", "namespace": "*", "resource": "*", "apiGroup": "*"}"#,
        );
        assert!(
            !matches(&both, &bob, &list_pods),
            "user and group must both match"
        );

        let health = policy(r#"{"user": "*", "nonResourcePath": "/healthz*", "readonly": true}"#);
        assert!(matches(&health, &alice, &healthz));
        assert!(!matches(&health, &alice, &list_pods));
        let nobody = policy(r#"{"namespace": "*", "resource": "*", "apiGroup": "*"}"#);
        assert!(
            !matches(&nobody, &alice, &list_pods),
            "no subject, no match"
        );
    }

    #[test]
    fn answers_and_rules() {
        let list = PolicyList(vec![
            policy(
                r#"{"user": "alice", "namespace": "demo", "resource": "pods", "apiGroup": "", "readonly": true}"#,
            ),
            // Go lists a policy's rules only when its namespace matches, URL policies too.
            policy(r#"{"user": "alice", "namespace": "*", "nonResourcePath": "*"}"#),
        ]);
        let alice = user("alice", &[]);
        let list_pods = RequestInfo::parse("GET", "/api/v1/namespaces/demo/pods", "");
        assert_eq!(list.authorize(&alice, &list_pods), Answer::allow(""));
        let other = RequestInfo::parse("GET", "/api/v1/namespaces/other/pods", "");
        assert_eq!(
            list.authorize(&alice, &other),
            Answer::no_opinion("No policy matched.")
        );
        let rules = list.rules_for(&alice, "demo");
        assert_eq!(rules.resource_rules[0].verbs, ["get", "list", "watch"]);
        assert_eq!(rules.non_resource_rules[0].verbs, ["*"]);
        assert!(list.rules_for(&alice, "other").resource_rules.is_empty());
    }
}
