//! `GenericAPIServer`: one server of the chain (book chapter 4). Mirrors
//! `k8s.io/apiserver/pkg/server/genericapiserver.go`: a server owns some API groups and some
//! plain paths, answers those, and hands every other request to its `delegation_target`, the next
//! server of the chain (or, at the end, the NotFound handler). Post-start hooks and health checks
//! are gathered along the chain the same way, so the outermost server sees them all.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::endpoints::discovery::{
    aggregated_response, api_group, api_group_discovery, api_resource_list, api_versions,
    wants_aggregated,
};
use crate::endpoints::handlers::ResourceHandler;
use crate::http::{Handler, Request, Response};
use crate::scheme::meta::Status;

/// One group/version and the handlers of its resources: `APIGroupInfo`.
pub struct APIGroupInfo {
    pub group: &'static str,
    pub version: &'static str,
    pub resources: Vec<ResourceHandler>,
}

/// A function run once the server is serving, with the name `/readyz` reports it under.
pub struct PostStartHook {
    pub name: String,
    pub run: Box<dyn Fn() -> Result<(), String> + Send + Sync>,
    /// Set when `run` has returned Ok; `/readyz` fails until then.
    pub done: AtomicBool,
}

/// A function run once graceful termination begins (`preShutdownHookEntry`): the place to
/// deregister or flush before the server stops taking requests.
pub struct PreShutdownHook {
    pub name: String,
    pub run: Box<dyn Fn() -> Result<(), String> + Send + Sync>,
}

/// A named health check (`healthz.HealthChecker`).
pub struct HealthCheck {
    pub name: String,
    pub check: Box<dyn Fn() -> Result<(), String> + Send + Sync>,
}

/// `DelegationTarget`: what a server needs from the one it delegates to.
pub trait DelegationTarget: Handler {
    fn post_start_hooks(&self) -> Vec<Arc<PostStartHook>>;
    fn pre_shutdown_hooks(&self) -> Vec<Arc<PreShutdownHook>>;
    fn health_checks(&self) -> Vec<Arc<HealthCheck>>;
    /// The `(group, version)` pairs served along the chain, from here down.
    fn group_versions(&self) -> Vec<(&'static str, &'static str)>;
}

/// The end of the chain: `NotFoundHandler`.
pub struct NotFound;

impl NotFound {
    /// The 404 for a path nothing serves, with the empty `details` kube-apiserver sends.
    pub fn response() -> Response {
        let mut status = Status::failure(404, "the server could not find the requested resource");
        status.details = Some(Default::default());
        Response::json(404, &status)
    }
}

impl Handler for NotFound {
    fn serve(&self, req: &mut Request) -> Response {
        log::debug!(
            "NotFound: {} {:?} reached the end of the chain",
            req.method,
            req.path
        );
        NotFound::response()
    }
}

impl DelegationTarget for NotFound {
    fn post_start_hooks(&self) -> Vec<Arc<PostStartHook>> {
        Vec::new()
    }
    fn pre_shutdown_hooks(&self) -> Vec<Arc<PreShutdownHook>> {
        Vec::new()
    }
    fn health_checks(&self) -> Vec<Arc<HealthCheck>> {
        Vec::new()
    }
    fn group_versions(&self) -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }
}

// ANCHOR: generic_api_server
pub struct GenericAPIServer {
    pub name: &'static str,
    api_groups: Vec<APIGroupInfo>,
    /// Plain paths (`/healthz`, `/version`...): the `NonGoRestfulMux` of the Go server. The flag
    /// says whether the handler also takes everything below the path (`HandlePrefix`).
    paths: Vec<(String, bool, Arc<dyn Handler>)>,
    post_start_hooks: Vec<Arc<PostStartHook>>,
    pre_shutdown_hooks: Vec<Arc<PreShutdownHook>>,
    health_checks: Vec<Arc<HealthCheck>>,
    /// Where a request goes when this server has nothing for it.
    pub delegation_target: Arc<dyn DelegationTarget>,
    /// `host:port` clients should use, for the `/api` document.
    pub external_address: String,
    /// `SkipOpenAPIInstallation`: PrepareRun leaves `/openapi` to the caller (the aggregator,
    /// which installs its aggregated documents there after the generic PrepareRun).
    pub skip_openapi_installation: bool,
}
// ANCHOR_END: generic_api_server

impl GenericAPIServer {
    pub fn new(
        name: &'static str,
        delegation_target: Arc<dyn DelegationTarget>,
        external_address: String,
    ) -> GenericAPIServer {
        GenericAPIServer {
            name,
            api_groups: Vec::new(),
            paths: Vec::new(),
            post_start_hooks: Vec::new(),
            pre_shutdown_hooks: Vec::new(),
            health_checks: Vec::new(),
            delegation_target,
            external_address,
            skip_openapi_installation: false,
        }
    }

    /// `InstallAPIGroup` (and `InstallLegacyAPIGroup` for the core group).
    pub fn install_api_group(&mut self, group: APIGroupInfo) {
        log::debug!("{}: serving {}/{}", self.name, group.group, group.version);
        self.api_groups.push(group);
    }

    /// Serves exactly `path` with `handler` (`NonGoRestfulMux.Handle`).
    pub fn handle(&mut self, path: &str, handler: Arc<dyn Handler>) {
        self.paths.push((path.to_string(), false, handler));
    }

    /// Serves `path` and everything below it (`NonGoRestfulMux.HandlePrefix`).
    pub fn handle_prefix(&mut self, path: &str, handler: Arc<dyn Handler>) {
        self.paths.push((path.to_string(), true, handler));
    }

    pub fn add_post_start_hook(
        &mut self,
        name: &str,
        run: impl Fn() -> Result<(), String> + Send + Sync + 'static,
    ) {
        self.post_start_hooks.push(Arc::new(PostStartHook {
            name: name.to_string(),
            run: Box::new(run),
            done: AtomicBool::new(false),
        }));
    }

    /// `AddPreShutdownHook`: run at `ShutdownInitiated`; new requests are still taken until
    /// every such hook has returned.
    pub fn add_pre_shutdown_hook(
        &mut self,
        name: &str,
        run: impl Fn() -> Result<(), String> + Send + Sync + 'static,
    ) {
        self.pre_shutdown_hooks.push(Arc::new(PreShutdownHook {
            name: name.to_string(),
            run: Box::new(run),
        }));
    }

    pub fn add_health_check(
        &mut self,
        name: &str,
        check: impl Fn() -> Result<(), String> + Send + Sync + 'static,
    ) {
        self.health_checks.push(Arc::new(HealthCheck {
            name: name.to_string(),
            check: Box::new(check),
        }));
    }

    fn group(&self, group: &str, version: &str) -> Option<&APIGroupInfo> {
        self.api_groups
            .iter()
            .find(|g| g.group == group && g.version == version)
    }

    /// The discovery documents of the groups this server owns.
    fn discovery(&self, req: &Request) -> Option<Response> {
        let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
        let body = match segments.as_slice() {
            ["api"] if wants_aggregated(req.header("accept")) => {
                let core = self.group("", "v1")?;
                return Some(aggregated_response(vec![api_group_discovery(
                    "",
                    &[("v1", defs(core))],
                )]));
            }
            ["api"] if self.group("", "v1").is_some() => api_versions(&self.external_address),
            ["api", v] => {
                let g = self.group("", v)?;
                api_resource_list("", v, &defs(g))
            }
            ["apis", group] => {
                let versions: Vec<&str> = self
                    .api_groups
                    .iter()
                    .filter(|g| g.group == *group)
                    .map(|g| g.version)
                    .collect();
                if versions.is_empty() {
                    return None;
                }
                let mut doc = api_group(group, &versions);
                doc["kind"] = "APIGroup".into();
                doc["apiVersion"] = "v1".into();
                doc
            }
            ["apis", group, v] => {
                let g = self.group(group, v)?;
                api_resource_list(group, v, &defs(g))
            }
            _ => return None,
        };
        Some(Response::json(200, &body))
    }
}

fn defs(g: &APIGroupInfo) -> Vec<Arc<crate::scheme::ResourceDef>> {
    g.resources.iter().map(|r| Arc::clone(&r.def)).collect()
}

// ANCHOR: director
impl Handler for GenericAPIServer {
    /// The `director` of `APIServerHandler`: our API groups, our paths, or the delegate.
    fn serve(&self, req: &mut Request) -> Response {
        let info = &req.context.request_info;
        if info.is_resource_request {
            if let Some(group) = self.group(&info.api_group, &info.api_version) {
                // kube's director names the server that took a request at -v=5 (here -v=4,
                // our debug level): the one way to watch a request walk the chain.
                if log::log_enabled!(log::Level::Debug) {
                    let webservice = match group.group {
                        "" => format!("/api/{}", group.version),
                        g => format!("/apis/{g}/{}", group.version),
                    };
                    log::debug!(
                        "{}: {} {:?} satisfied by gorestful with webservice {webservice}",
                        self.name,
                        req.method,
                        req.path
                    );
                }
                return match group
                    .resources
                    .iter()
                    .find(|r| r.def.resource == info.resource)
                {
                    Some(resource) => resource.serve(req),
                    None => NotFound::response(),
                };
            }
        } else if let Some(resp) = self.discovery(req) {
            log::debug!(
                "{}: {} {:?} satisfied by gorestful",
                self.name,
                req.method,
                req.path
            );
            return resp;
        }
        // A resource of a group this server did not install may still be a path's: the
        // apiextensions-apiserver's crdHandler takes all of `/apis/` this way.
        if let Some((_, _, handler)) = self.paths.iter().find(|(p, prefix, _)| {
            req.path == *p
                || *prefix
                    && req
                        .path
                        .strip_prefix(p.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
        }) {
            log::debug!(
                "{}: {} {:?} satisfied by nonGoRestful",
                self.name,
                req.method,
                req.path
            );
            return handler.serve(req);
        }
        self.delegation_target.serve(req)
    }
}
// ANCHOR_END: director

impl DelegationTarget for GenericAPIServer {
    fn post_start_hooks(&self) -> Vec<Arc<PostStartHook>> {
        let mut hooks = self.delegation_target.post_start_hooks();
        hooks.extend(self.post_start_hooks.iter().cloned());
        hooks
    }

    fn pre_shutdown_hooks(&self) -> Vec<Arc<PreShutdownHook>> {
        let mut hooks = self.delegation_target.pre_shutdown_hooks();
        hooks.extend(self.pre_shutdown_hooks.iter().cloned());
        hooks
    }

    fn health_checks(&self) -> Vec<Arc<HealthCheck>> {
        let mut checks = self.delegation_target.health_checks();
        checks.extend(self.health_checks.iter().cloned());
        checks
    }

    fn group_versions(&self) -> Vec<(&'static str, &'static str)> {
        let mut gvs: Vec<_> = self
            .api_groups
            .iter()
            .map(|g| (g.group, g.version))
            .collect();
        gvs.extend(self.delegation_target.group_versions());
        gvs
    }
}

impl PostStartHook {
    /// Runs the hook once; `/readyz` reads `done`. An error is the hook's way of saying the server
    /// must not go on (kube-apiserver's `klog.Fatalf`), so the caller ends the process.
    pub fn run_once(&self) -> Result<(), String> {
        (self.run)().map_err(|e| format!("PostStartHook {:?} failed: {e}", self.name))?;
        self.done.store(true, Ordering::SeqCst);
        log::info!("post-start hook {} finished", self.name);
        Ok(())
    }
}

// ANCHOR: run_pre_shutdown_hooks
/// `RunPreShutdownHooks`: every hook, in the order they were added along the chain (delegates
/// first). A failing hook is logged and the rest still run: shutdown goes on either way.
pub fn run_pre_shutdown_hooks(hooks: &[Arc<PreShutdownHook>]) {
    for hook in hooks {
        match (hook.run)() {
            Ok(()) => log::info!("pre-shutdown hook {} finished", hook.name),
            Err(e) => log::error!("PreShutdownHook {:?} failed: {e}", hook.name),
        }
    }
}
// ANCHOR_END: run_pre_shutdown_hooks
