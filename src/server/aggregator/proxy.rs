//! The aggregator's `proxyHandler`: a request for a group/version whose APIService names a
//! Service goes over TLS to the extension API server behind it; every other request goes on to
//! the local delegate, the kube-apiserver. The caller was already authenticated and authorized
//! by this server's filters; the backend learns who they are from `X-Remote-*` headers, which
//! it believes because of our front-proxy client certificate.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::frontproxy::ProxyClientConfig;
use crate::config::authentication::UserInfo;
use crate::endpoints::discovery::api_group;
use crate::http::client::{self, ClientRequest, ClientResponse, TlsClientConfig};
use crate::http::{Handler, Request, Response};
use crate::registry::store::Store;
use crate::scheme::meta::StatusError;
use crate::server::generic::{DelegationTarget, HealthCheck, PostStartHook, PreShutdownHook};

/// What the availability controller learned of each remote APIService (by name), read by the
/// proxy and by discovery.
#[derive(Default)]
pub struct RemoteState {
    /// The backend's `APIResourceList` from the last discovery check that passed.
    pub discovery: Mutex<BTreeMap<String, Value>>,
    /// The backend's `/openapi/v3` entry for its group/version (`apis/<group>/<version>`).
    pub openapi: Mutex<BTreeMap<String, (String, Value)>>,
}

/// Where an APIService's requests go: `spec.service` resolved as kube-aggregator's
/// `ServiceResolver` does, and how to trust what answers there.
pub struct Location {
    pub host: String,
    pub port: u16,
    pub tls: TlsClientConfig,
}

// ANCHOR: resolve
/// `ResolveEndpoint`, the resolver of `--enable-aggregator-routing=true`: an ExternalName Service
/// is its external name at the APIService's port; any other Service is an address of its
/// Endpoints, at the endpoint port named as the Service's port. (Routing to the cluster IP, kube's
/// default, needs a kube-proxy to carry the packets; there is none here.)
pub fn resolve(
    api_service: &Value,
    services: &Store,
    endpoints: &Store,
    proxy_client: &ProxyClientConfig,
) -> Result<Location, (&'static str, String)> {
    let spec = &api_service["spec"];
    let svc_ref = &spec["service"];
    let (namespace, name) = (
        svc_ref["namespace"].as_str().unwrap_or(""),
        svc_ref["name"].as_str().unwrap_or(""),
    );
    let port = svc_ref["port"].as_u64().unwrap_or(443) as u16;
    let svc = services.get(namespace, name).map_err(|_| {
        (
            "ServiceNotFound",
            format!("service/{name} in \"{namespace}\" is not present"),
        )
    })?;
    let (host, port) = if svc["spec"]["type"] == "ExternalName" {
        let host = svc["spec"]["externalName"].as_str().unwrap_or("");
        (host.to_string(), port)
    } else {
        let Some(svc_port) = svc["spec"]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["port"].as_u64() == Some(u64::from(port)))
        else {
            return Err((
                "ServicePortError",
                format!("service/{name} in \"{namespace}\" is not listening on port {port}"),
            ));
        };
        let eps = endpoints.get(namespace, name).map_err(|_| {
            (
                "EndpointsNotFound",
                format!("cannot find endpoints for service/{name} in \"{namespace}\""),
            )
        })?;
        let port_name = svc_port["name"].as_str().unwrap_or("");
        endpoint_address(&eps, port_name).ok_or_else(|| {
            (
                "MissingEndpoints",
                format!(
                    "endpoints for service/{name} in \"{namespace}\" have no addresses with port name \"{port_name}\""
                ),
            )
        })?
    };
    // Validation made sure a caBundle is base64.
    let ca_bundle = spec["caBundle"].as_str().map(|b64| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap_or_default()
    });
    Ok(Location {
        host,
        port,
        tls: TlsClientConfig {
            ca_bundle,
            insecure: spec["insecureSkipTLSVerify"] == true,
            client_cert: Some((proxy_client.chain.clone(), Arc::clone(&proxy_client.key))),
        },
    })
}
// ANCHOR_END: resolve

/// The first ready address of a subset that serves the port named `port_name`. Go picks one at
/// random to spread the load; the first keeps a reader's test runs repeatable.
fn endpoint_address(endpoints: &Value, port_name: &str) -> Option<(String, u16)> {
    endpoints["subsets"].as_array()?.iter().find_map(|subset| {
        let port = subset["ports"]
            .as_array()?
            .iter()
            .find(|p| p["name"].as_str().unwrap_or("") == port_name)?;
        let address = subset["addresses"].as_array()?.first()?;
        let ip = address["ip"].as_str()?.to_string();
        Some((ip, u16::try_from(port["port"].as_u64()?).ok()?))
    })
}

/// Headers that belong to one hop, or to our own authentication, and never go on.
fn forwarded(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    !matches!(
        lower.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "content-length"
            | "host"
            | "authorization"
    ) && !lower.starts_with("impersonate-")
        && !lower.starts_with("x-remote-")
}

// ANCHOR: auth_proxy_headers
/// `SetAuthProxyHeaders`: the user as the front-proxy headers say it. Extra keys are
/// percent-encoded, since a header name cannot hold `/` or upper case faithfully.
pub fn auth_proxy_headers(user: &UserInfo) -> Vec<(String, String)> {
    let mut headers = vec![("X-Remote-User".to_string(), user.name.clone())];
    for group in &user.groups {
        headers.push(("X-Remote-Group".into(), group.clone()));
    }
    for (key, values) in &user.extra {
        for value in values {
            headers.push((
                format!("X-Remote-Extra-{}", escape_extra_key(key)),
                value.clone(),
            ));
        }
    }
    headers
}
// ANCHOR_END: auth_proxy_headers

fn escape_extra_key(key: &str) -> String {
    let mut out = String::new();
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Sends one request to the APIService's backend.
pub fn round_trip(
    location: &Location,
    method: &str,
    target: &str,
    headers: Vec<(String, String)>,
    body: &[u8],
) -> Result<ClientResponse, String> {
    let tls = location.tls.rustls()?;
    client::send(
        &location.host,
        location.port,
        tls,
        &ClientRequest {
            method,
            target,
            headers,
            body,
        },
    )
}

/// The aggregator's delegate: remote APIServices' requests to their backends, the rest on.
pub struct ProxyRouter {
    pub api_services: Arc<Store>,
    pub services: Arc<Store>,
    pub endpoints: Arc<Store>,
    pub proxy_client: Arc<ProxyClientConfig>,
    pub local_delegate: Arc<dyn DelegationTarget>,
}

/// The APIService a path belongs to: `/apis/<group>/<version>...` is `<version>.<group>`.
fn api_service_name(path: &str) -> Option<(String, String)> {
    let mut parts = path.strip_prefix("/apis/")?.split('/');
    let group = parts.next().filter(|g| !g.is_empty())?;
    match parts.next().filter(|v| !v.is_empty()) {
        Some(version) => Some((group.to_string(), format!("{version}.{group}"))),
        None => Some((group.to_string(), String::new())),
    }
}

/// Whether the APIService's `Available` condition is `True`.
pub fn is_available(api_service: &Value) -> bool {
    api_service["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Available" && c["status"] == "True")
}

/// kube-apiserver's answer while a backend is down; kubectl shows this same sentence.
fn service_unavailable() -> Response {
    StatusError::new(503, "the server is currently unable to handle the request").to_response()
}

impl ProxyRouter {
    /// `/apis/<group>` for a group only remote APIServices serve: the aggregator answers it
    /// from the APIServices, highest `versionPriority` first, as its `apiGroupHandler` does.
    fn group_discovery(&self, group: &str) -> Option<Response> {
        if self
            .local_delegate
            .group_versions()
            .iter()
            .any(|(g, _)| *g == group)
        {
            return None;
        }
        let list = self.api_services.list("", &Default::default()).ok()?;
        let mut versions: Vec<(i64, String)> = list["items"]
            .as_array()?
            .iter()
            .filter(|s| s["spec"]["group"] == group && !s["spec"]["service"].is_null())
            .map(|s| {
                (
                    s["spec"]["versionPriority"].as_i64().unwrap_or(0),
                    s["spec"]["version"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        if versions.is_empty() {
            return None;
        }
        versions.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let names: Vec<&str> = versions.iter().map(|(_, v)| v.as_str()).collect();
        let mut doc = api_group(group, &names);
        doc["kind"] = "APIGroup".into();
        doc["apiVersion"] = "v1".into();
        Some(Response::json(200, &doc))
    }

    // ANCHOR: proxy_serve
    pub fn proxy(&self, api_service: &Value, req: &mut Request) -> Response {
        if !is_available(api_service) {
            return service_unavailable();
        }
        let location = match resolve(
            api_service,
            &self.services,
            &self.endpoints,
            &self.proxy_client,
        ) {
            Ok(l) => l,
            Err((_, why)) => {
                log::info!("cannot resolve {}: {why}", req.path);
                return service_unavailable();
            }
        };
        // The caller's credentials were for us and stay here; the backend gets our
        // certificate and the name we authenticated.
        let mut headers: Vec<(String, String)> = req
            .headers
            .iter()
            .filter(|(n, _)| forwarded(n))
            .cloned()
            .collect();
        headers.extend(auth_proxy_headers(&req.context.user));
        let target = if req.query.is_empty() {
            req.path.clone()
        } else {
            format!("{}?{}", req.path, req.query)
        };
        let answer = match round_trip(&location, &req.method, &target, headers, &req.body) {
            Ok(a) => a,
            Err(e) => {
                let name = api_service["metadata"]["name"].as_str().unwrap_or("");
                log::warn!(
                    "proxying to {name} at {}:{}: {e}",
                    location.host,
                    location.port
                );
                return StatusError::new(503, format!("error trying to reach service: {e}"))
                    .to_response();
            }
        };
        log::debug!(
            "{} {} answered {} by {}:{}",
            req.method,
            req.path,
            answer.status,
            location.host,
            location.port
        );
        let content_type = answer
            .header("content-type")
            .unwrap_or("application/json")
            .to_string();
        let mut resp = Response::stream(answer.status, &content_type, Box::new(answer.body));
        for (name, value) in answer.headers {
            let skip = [
                "content-type",
                "date",
                "content-length",
                "transfer-encoding",
                "connection",
            ];
            if !skip.iter().any(|s| name.eq_ignore_ascii_case(s)) {
                resp.headers.push((name, value));
            }
        }
        resp
    }
    // ANCHOR_END: proxy_serve
}

impl Handler for ProxyRouter {
    fn serve(&self, req: &mut Request) -> Response {
        if let Some((group, name)) = api_service_name(&req.path) {
            if name.is_empty() {
                if let Some(resp) = self.group_discovery(&group) {
                    return resp;
                }
            } else if let Ok(svc) = self.api_services.get("", &name) {
                if !svc["spec"]["service"].is_null() {
                    // The proxy is a path of kube-aggregator's NonGoRestfulMux in Go.
                    log::debug!(
                        "kube-aggregator: {} {:?} satisfied by nonGoRestful (APIService {name})",
                        req.method,
                        req.path
                    );
                    return self.proxy(&svc, req);
                }
            }
        }
        self.local_delegate.serve(req)
    }
}

impl DelegationTarget for ProxyRouter {
    fn post_start_hooks(&self) -> Vec<Arc<PostStartHook>> {
        self.local_delegate.post_start_hooks()
    }
    fn health_checks(&self) -> Vec<Arc<HealthCheck>> {
        self.local_delegate.health_checks()
    }
    fn pre_shutdown_hooks(&self) -> Vec<Arc<PreShutdownHook>> {
        self.local_delegate.pre_shutdown_hooks()
    }
    fn group_versions(&self) -> Vec<(&'static str, &'static str)> {
        self.local_delegate.group_versions()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_api_service() {
        let name = |p| api_service_name(p);
        assert_eq!(
            name("/apis/wardle.example.com/v1alpha1/namespaces/x/flunders"),
            Some((
                "wardle.example.com".into(),
                "v1alpha1.wardle.example.com".into()
            ))
        );
        assert_eq!(
            name("/apis/wardle.example.com"),
            Some(("wardle.example.com".into(), String::new()))
        );
        assert_eq!(name("/api/v1/pods"), None);
        assert_eq!(name("/apis"), None);
    }

    #[test]
    fn credentials_and_hop_headers_stay_here() {
        for h in [
            "Authorization",
            "impersonate-user",
            "Impersonate-Extra-x",
            "X-Remote-User",
            "Connection",
            "Host",
        ] {
            assert!(!forwarded(h), "{h}");
        }
        for h in ["Accept", "Content-Type", "User-Agent"] {
            assert!(forwarded(h), "{h}");
        }
    }

    #[test]
    fn the_user_travels_in_front_proxy_headers() {
        let user = UserInfo {
            name: "alice".into(),
            uid: String::new(),
            groups: vec!["dev".into(), "system:authenticated".into()],
            extra: [("acme.com/project".to_string(), vec!["x".to_string()])].into(),
        };
        let h = auth_proxy_headers(&user);
        assert_eq!(h[0], ("X-Remote-User".into(), "alice".into()));
        assert_eq!(h.iter().filter(|(n, _)| n == "X-Remote-Group").count(), 2);
        assert!(h.contains(&("X-Remote-Extra-acme.com%2Fproject".into(), "x".into())));
    }
}
