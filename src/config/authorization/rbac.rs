//! RBAC: role-based access control, evaluated from the roles and bindings in storage. Mirrors
//! `plugin/pkg/auth/authorizer/rbac` (`RBACAuthorizer`, `RuleAllows`) and
//! `pkg/registry/rbac/validation` (`DefaultRuleResolver`, `Covers`, `ConfirmNoEscalation`).
//!
//! A user's rules are those of every ClusterRoleBinding naming them, then, in the request's
//! namespace, of every RoleBinding naming them. A rule allows a request when its verbs, API
//! groups, resources and resource names (or, for a plain path, its non-resource URLs) all
//! match. RBAC only allows: a request no rule covers gets no opinion, so a later mode may
//! still decide.
//!
//! kube-apiserver reads through informers' caches; here each check reads storage directly,
//! which is in memory for the embedded store and keeps the answer current without a cache.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Answer, ModeAuthorizer, NonResourceRuleInfo, ResourceRuleInfo, Rules};
use crate::config::authentication::UserInfo;
use crate::server::filters::request_info::RequestInfo;
use crate::storage::Storage;

pub const GROUP: &str = "rbac.authorization.k8s.io";

/// `rbacv1.PolicyRule`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRule {
    #[serde(default)]
    pub verbs: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
    #[serde(
        default,
        rename = "nonResourceURLs",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub non_resource_urls: Vec<String>,
}

impl PolicyRule {
    /// The rules of a Role or ClusterRole object (`rules`), skipping any that do not parse.
    pub fn of(role: &Value) -> Vec<PolicyRule> {
        serde_json::from_value(role["rules"].clone()).unwrap_or_default()
    }
}

/// `rbacv1.Subject`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Subject {
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

/// `rbacv1.RoleRef`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct RoleRef {
    pub api_group: String,
    pub kind: String,
    pub name: String,
}

/// The parts of a RoleBinding or ClusterRoleBinding the resolver reads.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Binding {
    pub metadata: BindingMeta,
    pub subjects: Vec<Subject>,
    pub role_ref: RoleRef,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct BindingMeta {
    pub name: String,
    pub namespace: String,
}

// ANCHOR: rule_allows
fn has(set: &[String], want: &str) -> bool {
    set.iter().any(|s| s == want)
}

fn verb_matches(rule: &PolicyRule, verb: &str) -> bool {
    has(&rule.verbs, "*") || has(&rule.verbs, verb)
}

fn api_group_matches(rule: &PolicyRule, group: &str) -> bool {
    has(&rule.api_groups, "*") || has(&rule.api_groups, group)
}

/// `pods`, `pods/log`, `*`, or `*/scale` for that subresource of any resource.
fn resource_matches(rule: &PolicyRule, combined: &str, subresource: &str) -> bool {
    rule.resources.iter().any(|r| {
        r == "*"
            || r == combined
            || (!subresource.is_empty() && r.strip_prefix("*/") == Some(subresource))
    })
}

/// A rule without resource names covers every name; one with names only those.
fn resource_name_matches(rule: &PolicyRule, name: &str) -> bool {
    rule.resource_names.is_empty() || has(&rule.resource_names, name)
}

/// `/healthz`, `*`, or a prefix ending in `*` (`/healthz/*`).
fn non_resource_url_matches(rule: &PolicyRule, path: &str) -> bool {
    rule.non_resource_urls
        .iter()
        .any(|u| u == "*" || u == path || u.strip_suffix('*').is_some_and(|p| path.starts_with(p)))
}

/// `RuleAllows`: whether one rule allows the request.
pub fn rule_allows(info: &RequestInfo, rule: &PolicyRule) -> bool {
    if info.is_resource_request {
        let combined = if info.subresource.is_empty() {
            info.resource.clone()
        } else {
            format!("{}/{}", info.resource, info.subresource)
        };
        return verb_matches(rule, &info.verb)
            && api_group_matches(rule, &info.api_group)
            && resource_matches(rule, &combined, &info.subresource)
            && resource_name_matches(rule, &info.name);
    }
    verb_matches(rule, &info.verb) && non_resource_url_matches(rule, &info.path)
}
// ANCHOR_END: rule_allows

/// `appliesToUser`: a ServiceAccount subject without a namespace means the binding's own.
fn applies_to(user: &UserInfo, subject: &Subject, namespace: &str) -> bool {
    match subject.kind.as_str() {
        "User" => user.name == subject.name,
        "Group" => user.groups.contains(&subject.name),
        "ServiceAccount" => {
            let ns = if subject.namespace.is_empty() {
                namespace
            } else {
                &subject.namespace
            };
            !ns.is_empty() && user.name == format!("system:serviceaccount:{ns}:{}", subject.name)
        }
        _ => false,
    }
}

/// How a reason names a subject: `User "bob"`, `ServiceAccount "default/demo"`.
fn describe_subject(s: &Subject, binding_namespace: &str) -> String {
    match s.kind.as_str() {
        "ServiceAccount" => {
            let ns = if s.namespace.is_empty() {
                binding_namespace
            } else {
                &s.namespace
            };
            format!("{} {:?}", s.kind, format!("{}/{ns}", s.name))
        }
        _ => format!("{} {:?}", s.kind, s.name),
    }
}

/// What `visit_rules_for` calls: with a rule and where it comes from, or with an error.
pub type RuleVisitor<'a> = dyn FnMut(Result<(&str, &PolicyRule), String>) -> bool + 'a;

// ANCHOR: rule_resolver
/// `DefaultRuleResolver`: the rules a user holds, from the bindings in storage.
pub struct DefaultRuleResolver {
    storage: Arc<dyn Storage>,
    /// `--etcd-prefix`, where the `clusterroles/`, `roles/` ... keys live.
    prefix: String,
}

impl DefaultRuleResolver {
    pub fn new(storage: Arc<dyn Storage>, etcd_prefix: &str) -> DefaultRuleResolver {
        DefaultRuleResolver {
            storage,
            prefix: etcd_prefix.trim_end_matches('/').to_string(),
        }
    }

    fn list<T: for<'de> Deserialize<'de>>(
        &self,
        resource: &str,
        namespace: &str,
    ) -> Result<Vec<T>, String> {
        let mut prefix = format!("{}/{resource}/", self.prefix);
        if !namespace.is_empty() {
            prefix = format!("{prefix}{namespace}/");
        }
        let (kvs, _) = self.storage.list(&prefix).map_err(|e| e.to_string())?;
        Ok(kvs
            .iter()
            .filter_map(|kv| serde_json::from_slice(&kv.value).ok())
            .collect())
    }

    /// A role by kind and name, or the NotFound an informer's lister gives (which names the
    /// resource in the singular: `clusterrole.rbac.authorization.k8s.io "x" not found`).
    fn get_role(&self, kind: &str, namespace: &str, name: &str) -> Result<Value, String> {
        let (resource, key) = match kind {
            "ClusterRole" => (
                "clusterrole",
                format!("{}/clusterroles/{name}", self.prefix),
            ),
            "Role" => ("role", format!("{}/roles/{namespace}/{name}", self.prefix)),
            other => return Err(format!("unsupported role reference kind: {other:?}")),
        };
        match self.storage.get(&key) {
            Ok(Some(kv)) => serde_json::from_slice(&kv.value).map_err(|e| e.to_string()),
            Ok(None) => Err(format!("{resource}.{GROUP} {name:?} not found")),
            Err(e) => Err(e.to_string()),
        }
    }

    /// `GetRoleReferenceRules`: the rules of the role a binding in `namespace` refers to.
    pub fn role_reference_rules(
        &self,
        role_ref: &RoleRef,
        namespace: &str,
    ) -> Result<Vec<PolicyRule>, String> {
        self.get_role(&role_ref.kind, namespace, &role_ref.name)
            .map(|role| PolicyRule::of(&role))
    }

    /// `VisitRulesFor`: calls `visit` with each rule the user holds in `namespace` (and where it
    /// comes from), or with an error; `visit` returns false to stop.
    pub fn visit_rules_for(&self, user: &UserInfo, namespace: &str, visit: &mut RuleVisitor) {
        let mut scopes = vec![("clusterrolebindings", "")];
        if !namespace.is_empty() {
            scopes.push(("rolebindings", namespace));
        }
        for (resource, ns) in scopes {
            let bindings: Vec<Binding> = match self.list(resource, ns) {
                Ok(b) => b,
                Err(e) => {
                    if !visit(Err(e)) {
                        return;
                    }
                    continue;
                }
            };
            for binding in bindings {
                let Some(subject) = binding.subjects.iter().find(|s| applies_to(user, s, ns))
                else {
                    continue;
                };
                let rules = match self.role_reference_rules(&binding.role_ref, ns) {
                    Ok(rules) => rules,
                    Err(e) => {
                        if !visit(Err(e)) {
                            return;
                        }
                        continue;
                    }
                };
                let source = if ns.is_empty() {
                    format!(
                        "ClusterRoleBinding {:?} of {} {:?} to {}",
                        binding.metadata.name,
                        binding.role_ref.kind,
                        binding.role_ref.name,
                        describe_subject(subject, "")
                    )
                } else {
                    format!(
                        "RoleBinding {:?} of {} {:?} to {}",
                        format!("{}/{ns}", binding.metadata.name),
                        binding.role_ref.kind,
                        binding.role_ref.name,
                        describe_subject(subject, ns)
                    )
                };
                for rule in &rules {
                    if !visit(Ok((&source, rule))) {
                        return;
                    }
                }
            }
        }
    }

    /// `RulesFor`: every rule the user holds in `namespace`, and the errors met on the way
    /// (the rules found are still good: a missing role takes away only its own).
    pub fn rules_for(&self, user: &UserInfo, namespace: &str) -> (Vec<PolicyRule>, Vec<String>) {
        let (mut rules, mut errors) = (Vec::new(), Vec::new());
        self.visit_rules_for(user, namespace, &mut |r| {
            match r {
                Ok((_, rule)) => rules.push(rule.clone()),
                Err(e) => errors.push(e),
            }
            true
        });
        (rules, errors)
    }
}
// ANCHOR_END: rule_resolver

/// Go's `utilerrors.NewAggregate(errs).Error()`: one error alone, or `[a, b]`.
pub fn aggregate(errors: &[String]) -> String {
    match errors {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

// ANCHOR: rbac_authorizer
/// `RBACAuthorizer`.
pub struct RBACAuthorizer {
    pub resolver: DefaultRuleResolver,
}

impl RBACAuthorizer {
    pub fn new(resolver: DefaultRuleResolver) -> RBACAuthorizer {
        RBACAuthorizer { resolver }
    }
}

impl ModeAuthorizer for RBACAuthorizer {
    fn authorize(&self, user: &UserInfo, info: &RequestInfo) -> Answer {
        let mut allowed_by = None;
        let mut errors = Vec::new();
        self.resolver
            .visit_rules_for(user, &info.namespace, &mut |r| match r {
                Ok((source, rule)) if rule_allows(info, rule) => {
                    allowed_by = Some(source.to_string());
                    false
                }
                Ok(_) => true,
                Err(e) => {
                    errors.push(e);
                    true
                }
            });
        if let Some(source) = allowed_by {
            return Answer::allow(format!("RBAC: allowed by {source}"));
        }
        if errors.is_empty() {
            Answer::no_opinion("")
        } else {
            Answer::no_opinion(format!("RBAC: {}", aggregate(&errors)))
        }
    }

    fn rules_for(&self, user: &UserInfo, namespace: &str) -> Rules {
        let (policy_rules, errors) = self.resolver.rules_for(user, namespace);
        let mut rules = Rules {
            errors,
            ..Default::default()
        };
        for r in policy_rules {
            if !r.resources.is_empty() {
                rules.resource_rules.push(ResourceRuleInfo {
                    verbs: r.verbs.clone(),
                    api_groups: r.api_groups.clone(),
                    resources: r.resources.clone(),
                    resource_names: r.resource_names.clone(),
                });
            }
            if !r.non_resource_urls.is_empty() {
                rules.non_resource_rules.push(NonResourceRuleInfo {
                    verbs: r.verbs,
                    non_resource_urls: r.non_resource_urls,
                });
            }
        }
        rules
    }
}
// ANCHOR_END: rbac_authorizer

// ANCHOR: covers
/// `BreakdownRule`: one rule per group × resource × verb (× name), and per URL × verb, so that
/// each piece is either wholly covered by one owner rule or not at all.
fn breakdown(rule: &PolicyRule) -> Vec<PolicyRule> {
    let one = |s: &String| vec![s.clone()];
    let mut out = Vec::new();
    for group in &rule.api_groups {
        for resource in &rule.resources {
            for verb in &rule.verbs {
                let piece = PolicyRule {
                    api_groups: one(group),
                    resources: one(resource),
                    verbs: one(verb),
                    ..Default::default()
                };
                if rule.resource_names.is_empty() {
                    out.push(piece);
                } else {
                    for name in &rule.resource_names {
                        out.push(PolicyRule {
                            resource_names: one(name),
                            ..piece.clone()
                        });
                    }
                }
            }
        }
    }
    for url in &rule.non_resource_urls {
        for verb in &rule.verbs {
            out.push(PolicyRule {
                non_resource_urls: one(url),
                verbs: one(verb),
                ..Default::default()
            });
        }
    }
    out
}

fn has_all(set: &[String], wanted: &[String]) -> bool {
    wanted.iter().all(|w| has(set, w))
}

/// `resourceCoversAll`: `*`, the same names, or `*/sub` for a wanted `res/sub`.
fn resources_cover(owner: &[String], wanted: &[String]) -> bool {
    if has(owner, "*") || has_all(owner, wanted) {
        return true;
    }
    wanted.iter().all(|w| {
        has(owner, w)
            || w.split_once('/')
                .is_some_and(|(_, sub)| has(owner, &format!("*/{sub}")))
    })
}

fn urls_cover(owner: &[String], wanted: &[String]) -> bool {
    wanted.iter().all(|w| {
        owner
            .iter()
            .any(|o| o == w || o.strip_suffix('*').is_some_and(|p| w.starts_with(p)))
    })
}

/// `ruleCovers`: whether an owner rule covers one broken-down piece.
fn rule_covers(owner: &PolicyRule, piece: &PolicyRule) -> bool {
    let names = if piece.resource_names.is_empty() {
        owner.resource_names.is_empty()
    } else {
        owner.resource_names.is_empty() || has_all(&owner.resource_names, &piece.resource_names)
    };
    (has(&owner.verbs, "*") || has_all(&owner.verbs, &piece.verbs))
        && (has(&owner.api_groups, "*") || has_all(&owner.api_groups, &piece.api_groups))
        && resources_cover(&owner.resources, &piece.resources)
        && urls_cover(&owner.non_resource_urls, &piece.non_resource_urls)
        && names
}

/// `Covers`: whether `owner` holds everything `wanted` grants, and the pieces it lacks.
pub fn covers(owner: &[PolicyRule], wanted: &[PolicyRule]) -> (bool, Vec<PolicyRule>) {
    let missing: Vec<PolicyRule> = wanted
        .iter()
        .flat_map(breakdown)
        .filter(|piece| !owner.iter().any(|o| rule_covers(o, piece)))
        .collect();
    (missing.is_empty(), missing)
}
// ANCHOR_END: covers

/// `CompactRules`: pieces of one group and resource (and at most one name) merged back into
/// one rule with all their verbs, so the refusal lists `Verbs:["get" "list"]` once.
fn compact(rules: Vec<PolicyRule>) -> Vec<PolicyRule> {
    let mut out: Vec<PolicyRule> = Vec::new();
    let mut simple: Vec<PolicyRule> = Vec::new();
    for rule in rules {
        let is_simple = rule.resource_names.len() <= 1
            && rule.non_resource_urls.is_empty()
            && rule.api_groups.len() == 1
            && rule.resources.len() == 1;
        if !is_simple {
            out.push(rule);
            continue;
        }
        match simple.iter_mut().find(|s| {
            s.api_groups == rule.api_groups
                && s.resources == rule.resources
                && s.resource_names == rule.resource_names
        }) {
            Some(existing) => existing.verbs.extend(rule.verbs),
            None => simple.push(rule),
        }
    }
    out.extend(simple);
    out
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
fn quoted_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", quoted.join(" "))
}

/// `CompactString`: `{APIGroups:[""], Resources:["pods"], Verbs:["get"]}`.
pub fn compact_string(r: &PolicyRule) -> String {
    let parts: Vec<String> = [
        ("APIGroups", &r.api_groups),
        ("Resources", &r.resources),
        ("NonResourceURLs", &r.non_resource_urls),
        ("ResourceNames", &r.resource_names),
        ("Verbs", &r.verbs),
    ]
    .iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(name, v)| format!("{name}:{}", quoted_list(v)))
    .collect();
    format!("{{{}}}", parts.join(", "))
}

// ANCHOR: confirm_no_escalation
/// `ConfirmNoEscalation`: refuses to let `user` grant `rules` in `namespace` unless the rules
/// they hold there already cover them. The error is the reason of the 403 the caller builds.
pub fn confirm_no_escalation(
    resolver: &DefaultRuleResolver,
    user: &UserInfo,
    namespace: &str,
    rules: &[PolicyRule],
) -> Result<(), String> {
    let (owner, errors) = resolver.rules_for(user, namespace);
    let (covered, missing) = covers(&owner, rules);
    if covered {
        return Ok(());
    }
    let mut lines: Vec<String> = compact(missing).iter().map(compact_string).collect();
    lines.sort();
    lines.dedup();
    let mut msg = format!(
        "user {:?} (groups={}) is attempting to grant RBAC permissions not currently held:\n{}",
        user.name,
        quoted_list(&user.groups),
        lines.join("\n")
    );
    if !errors.is_empty() {
        msg.push_str(&format!("; resolution errors: [{}]", errors.join(" ")));
    }
    Err(msg)
}
// ANCHOR_END: confirm_no_escalation

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::embedded::EmbeddedStore;
    use serde_json::json;

    fn rule(v: Value) -> PolicyRule {
        serde_json::from_value(v).unwrap()
    }

    fn user(name: &str, groups: &[&str]) -> UserInfo {
        UserInfo {
            name: name.into(),
            uid: String::new(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn rules_match_verbs_groups_resources_names_and_urls() {
        let r = |m: &str, p: &str| RequestInfo::parse(m, p, "");
        let pods =
            rule(json!({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}));
        assert!(rule_allows(&r("GET", "/api/v1/namespaces/a/pods"), &pods));
        assert!(rule_allows(&r("GET", "/api/v1/namespaces/a/pods/p"), &pods));
        assert!(!rule_allows(
            &r("DELETE", "/api/v1/namespaces/a/pods/p"),
            &pods
        ));
        assert!(
            !rule_allows(&r("GET", "/api/v1/namespaces/a/pods/p/status"), &pods),
            "subresources are named"
        );
        assert!(!rule_allows(
            &r("GET", "/apis/apps/v1/namespaces/a/deployments"),
            &pods
        ));

        let status = rule(json!({"verbs": ["get"], "apiGroups": ["*"], "resources": ["*/status"]}));
        assert!(rule_allows(
            &r("GET", "/api/v1/namespaces/a/pods/p/status"),
            &status
        ));
        assert!(!rule_allows(
            &r("GET", "/api/v1/namespaces/a/pods/p"),
            &status
        ));

        let named = rule(
            json!({"verbs": ["*"], "apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["web"]}),
        );
        assert!(rule_allows(
            &r("PUT", "/apis/apps/v1/namespaces/a/deployments/web"),
            &named
        ));
        assert!(!rule_allows(
            &r("PUT", "/apis/apps/v1/namespaces/a/deployments/db"),
            &named
        ));
        assert!(
            !rule_allows(&r("GET", "/apis/apps/v1/namespaces/a/deployments"), &named),
            "a list has no name"
        );

        let urls = rule(json!({"verbs": ["get"], "nonResourceURLs": ["/healthz", "/readyz*"]}));
        assert!(rule_allows(&r("GET", "/healthz"), &urls));
        assert!(!rule_allows(&r("GET", "/healthz/ping"), &urls));
        assert!(rule_allows(&r("GET", "/readyz/ping"), &urls));
        assert!(!rule_allows(&r("POST", "/healthz"), &urls));
        assert!(!rule_allows(&r("GET", "/api/v1/namespaces/a/pods"), &urls));
    }

    #[test]
    fn subjects_users_groups_and_service_accounts() {
        let sa = user(
            "system:serviceaccount:demo:builder",
            &["system:serviceaccounts"],
        );
        let subject = |kind: &str, name: &str, ns: &str| Subject {
            kind: kind.into(),
            name: name.into(),
            namespace: ns.into(),
        };
        assert!(applies_to(
            &sa,
            &subject("ServiceAccount", "builder", ""),
            "demo"
        ));
        assert!(!applies_to(
            &sa,
            &subject("ServiceAccount", "builder", ""),
            "other"
        ));
        assert!(
            !applies_to(&sa, &subject("ServiceAccount", "builder", ""), ""),
            "no namespace, no match"
        );
        assert!(applies_to(
            &sa,
            &subject("ServiceAccount", "builder", "demo"),
            ""
        ));
        assert!(applies_to(
            &sa,
            &subject("Group", "system:serviceaccounts", ""),
            ""
        ));
        assert!(!applies_to(&sa, &subject("User", "builder", ""), ""));
    }

    #[test]
    fn the_resolver_reads_bindings_and_explains_itself() {
        let storage: Arc<dyn Storage> = Arc::new(EmbeddedStore::new(100));
        let put = |key: &str, v: Value| {
            storage
                .create(&format!("/registry/{key}"), v.to_string().into_bytes())
                .unwrap();
        };
        put(
            "clusterroles/reader",
            json!({"metadata": {"name": "reader"}, "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]}),
        );
        put(
            "clusterrolebindings/readers",
            json!({"metadata": {"name": "readers"}, "subjects": [{"kind": "Group", "name": "dev"}], "roleRef": {"kind": "ClusterRole", "name": "reader"}}),
        );
        put(
            "rolebindings/demo/gone",
            json!({"metadata": {"name": "gone", "namespace": "demo"}, "subjects": [{"kind": "User", "name": "bob"}], "roleRef": {"kind": "Role", "name": "missing"}}),
        );
        let rbac = RBACAuthorizer::new(DefaultRuleResolver::new(Arc::clone(&storage), "/registry"));
        let get = RequestInfo::parse("GET", "/api/v1/namespaces/demo/pods/p", "");
        assert_eq!(
            rbac.authorize(&user("bob", &["dev"]), &get),
            Answer::allow("RBAC: allowed by ClusterRoleBinding \"readers\" of ClusterRole \"reader\" to Group \"dev\"")
        );
        let delete = RequestInfo::parse("DELETE", "/api/v1/namespaces/demo/pods/p", "");
        assert_eq!(
            rbac.authorize(&user("bob", &["dev"]), &delete),
            Answer::no_opinion("RBAC: role.rbac.authorization.k8s.io \"missing\" not found")
        );
        assert_eq!(
            rbac.authorize(&user("eve", &[]), &get),
            Answer::no_opinion("")
        );
        let rules = rbac.rules_for(&user("bob", &["dev"]), "demo");
        assert_eq!(rules.resource_rules[0].resources, ["pods"]);
        assert_eq!(rules.errors.len(), 1);
    }

    #[test]
    fn covers_breaks_rules_down() {
        let owner = vec![
            rule(
                json!({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods", "*/status"]}),
            ),
            rule(
                json!({"verbs": ["*"], "apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["web"]}),
            ),
            rule(json!({"verbs": ["get"], "nonResourceURLs": ["/healthz*"]})),
        ];
        let want = |v: Value| covers(&owner, &[rule(v)]).0;
        assert!(want(
            json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods", "pods/status"]})
        ));
        assert!(!want(
            json!({"verbs": ["get", "delete"], "apiGroups": [""], "resources": ["pods"]})
        ));
        assert!(want(
            json!({"verbs": ["update"], "apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["web"]})
        ));
        assert!(
            !want(
                json!({"verbs": ["update"], "apiGroups": ["apps"], "resources": ["deployments"]})
            ),
            "names limit the owner"
        );
        assert!(want(
            json!({"verbs": ["get"], "nonResourceURLs": ["/healthz/ping"]})
        ));
        assert!(!want(
            json!({"verbs": ["get"], "nonResourceURLs": ["/metrics"]})
        ));
        let (_, missing) = covers(
            &owner,
            &[rule(
                json!({"verbs": ["create", "delete"], "apiGroups": [""], "resources": ["secrets"]}),
            )],
        );
        let compacted: Vec<String> = compact(missing).iter().map(compact_string).collect();
        assert_eq!(
            compacted,
            [r#"{APIGroups:[""], Resources:["secrets"], Verbs:["create" "delete"]}"#]
        );
    }
}
