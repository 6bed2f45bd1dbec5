//! `RequestInfo`: what a request is about, from its method and path alone. Mirrors
//! `k8s.io/apiserver/pkg/endpoints/request.RequestInfoFactory.NewRequestInfo`, rule for rule,
//! because authorization decides on these fields and a reader should find the same answers here
//! as in the Go code.

use crate::http::request::parse_query;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestInfo {
    pub is_resource_request: bool,
    /// The path without the query.
    pub path: String,
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`; for a
    /// non-resource request the lower-cased HTTP method.
    pub verb: String,
    /// `api` or `apis`.
    pub api_prefix: String,
    pub api_group: String,
    pub api_version: String,
    pub namespace: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
    pub parts: Vec<String>,
}

/// Subresources of a namespace that are not a resource inside it (`namespaces/x/status`).
const NAMESPACE_SUBRESOURCES: &[&str] = &["status", "finalize"];

impl RequestInfo {
    // ANCHOR: new_request_info
    pub fn parse(method: &str, path: &str, query: &str) -> RequestInfo {
        let mut info = RequestInfo {
            path: path.to_string(),
            verb: method.to_ascii_lowercase(),
            ..Default::default()
        };
        let segments: Vec<&str> = path
            .trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        let mut parts = segments.as_slice();
        // /api/<version>/... or /apis/<group>/<version>/...; anything else is a non-resource path.
        match parts {
            ["api", version, rest @ ..] => {
                info.api_prefix = "api".into();
                info.api_version = version.to_string();
                parts = rest;
            }
            ["apis", group, version, rest @ ..] => {
                info.api_prefix = "apis".into();
                info.api_group = group.to_string();
                info.api_version = version.to_string();
                parts = rest;
            }
            _ => return info,
        }
        if parts.is_empty() {
            return info;
        }
        info.is_resource_request = true;
        // The old /api/v1/watch/... form says "watch" in the path.
        let mut verb_from_path = None;
        if parts[0] == "watch" {
            verb_from_path = Some("watch");
            parts = &parts[1..];
        }
        info.verb = match verb_from_path {
            Some(v) => v.to_string(),
            None => match method {
                "POST" => "create",
                "GET" | "HEAD" => "get",
                "PUT" => "update",
                "PATCH" => "patch",
                "DELETE" => "delete",
                _ => "",
            }
            .to_string(),
        };
        if parts.first() == Some(&"namespaces") && parts.len() > 1 {
            info.namespace = parts[1].to_string();
            if parts.len() > 2 && !NAMESPACE_SUBRESOURCES.contains(&parts[2]) {
                parts = &parts[2..];
            }
        }
        info.parts = parts.iter().map(|s| s.to_string()).collect();
        // resource/name/subresource
        if parts.len() >= 3 {
            info.subresource = parts[2].to_string();
        }
        if parts.len() >= 2 {
            info.name = parts[1].to_string();
        }
        if let Some(r) = parts.first() {
            info.resource = r.to_string();
        }
        // A get without a name is a list, or a watch if asked; a delete without one, a collection.
        if info.name.is_empty() && info.verb == "get" {
            let query = parse_query(query);
            let watch = query.iter().any(|(k, v)| {
                k == "watch" && matches!(v.as_str(), "" | "1" | "true" | "True" | "t")
            });
            info.verb = if watch { "watch" } else { "list" }.into();
            if let Some((_, sel)) = query.iter().find(|(k, _)| k == "fieldSelector") {
                if let Some(name) = sel.split(',').find_map(|t| {
                    t.strip_prefix("metadata.name=")
                        .or_else(|| t.strip_prefix("metadata.name=="))
                }) {
                    info.name = name.to_string();
                }
            }
        }
        if info.name.is_empty() && info.verb == "delete" {
            info.verb = "deletecollection".into();
        }
        info
    }
    // ANCHOR_END: new_request_info

    // ANCHOR: long_running
    /// kube-apiserver's `BasicLongRunningRequestCheck`: watches and proxies, and the
    /// subresources that stream (`exec`, `attach`, `log`, `portforward`, `proxy`). They hold no
    /// place in the in-flight budgets, graceful termination does not wait for them, and
    /// `--request-timeout` does not cut them.
    pub fn is_long_running(&self) -> bool {
        const LONG_RUNNING_VERBS: [&str; 2] = ["watch", "proxy"];
        const LONG_RUNNING_SUBRESOURCES: [&str; 5] =
            ["attach", "exec", "proxy", "log", "portforward"];
        LONG_RUNNING_VERBS.contains(&self.verb.as_str())
            || self.is_resource_request
                && LONG_RUNNING_SUBRESOURCES.contains(&self.subresource.as_str())
            || !self.is_resource_request && self.path.starts_with("/debug/pprof/")
    }
    // ANCHOR_END: long_running
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(method: &str, path: &str, query: &str) -> (String, String, String, String, String) {
        let i = RequestInfo::parse(method, path, query);
        (i.verb, i.api_group, i.namespace, i.resource, i.name)
    }

    fn t(v: &str, g: &str, ns: &str, r: &str, n: &str) -> (String, String, String, String, String) {
        (v.into(), g.into(), ns.into(), r.into(), n.into())
    }

    #[test]
    fn the_cases_of_the_go_table() {
        assert_eq!(
            p("GET", "/api/v1/namespaces", ""),
            t("list", "", "", "namespaces", "")
        );
        assert_eq!(
            p("GET", "/api/v1/namespaces/other", ""),
            t("get", "", "other", "namespaces", "other")
        );
        assert_eq!(
            p("GET", "/api/v1/namespaces/other/configmaps/foo", ""),
            t("get", "", "other", "configmaps", "foo")
        );
        assert_eq!(
            p("GET", "/api/v1/configmaps", "watch=true"),
            t("watch", "", "", "configmaps", "")
        );
        assert_eq!(
            p("GET", "/api/v1/watch/namespaces/other/configmaps", ""),
            t("watch", "", "other", "configmaps", "")
        );
        assert_eq!(
            p("DELETE", "/api/v1/namespaces/other/configmaps", ""),
            t("deletecollection", "", "other", "configmaps", "")
        );
        assert_eq!(
            p("POST", "/apis/apps/v1/namespaces/other/deployments", ""),
            t("create", "apps", "other", "deployments", "")
        );
        assert_eq!(
            p(
                "GET",
                "/api/v1/namespaces/other/configmaps",
                "fieldSelector=metadata.name%3Dx"
            ),
            t("list", "", "other", "configmaps", "x")
        );
        let status = RequestInfo::parse("PUT", "/api/v1/namespaces/other/status", "");
        assert_eq!(
            (
                status.resource.as_str(),
                status.name.as_str(),
                status.subresource.as_str()
            ),
            ("namespaces", "other", "status")
        );
        let np = RequestInfo::parse("GET", "/healthz", "");
        assert!(!np.is_resource_request);
        assert_eq!(np.verb, "get");
        assert!(!RequestInfo::parse("GET", "/apis/apps/v1", "").is_resource_request);
    }
}
