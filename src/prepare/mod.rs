//! Stage 5: PrepareRun (book chapter 5, `ch05-prepare-run.md`).
//!
//! Mirrors `GenericAPIServer.PrepareRun` (seed 003) and `APIAggregator.PrepareRun` (seed 004).
//! The aggregator, the outermost server, registers its controllers' post-start hooks, then the
//! generic PrepareRun installs `/healthz`, `/livez` and `/readyz` with every check gathered along
//! the chain (plus one check per post-start hook, and the `shutdown` check on `/readyz`), then
//! the aggregator installs the OpenAPI documents of the whole chain. Last, the chain is wrapped
//! in the handler chain. What comes out is ready to serve.
//!
//! - [`aggregator`] is `APIAggregator.PrepareRun`.
//! - [`healthz`]: the three health endpoints.
//! - [`openapi`] serves `/openapi/v3` and `/openapi/v2`.
//! - [`version`] serves `/version`.

pub mod aggregator;
pub mod healthz;
pub mod openapi;
pub mod version;

use std::sync::Arc;

use crate::audit::Backend;
use crate::config::Config;
use crate::endpoints::metrics::{MetricsHandler, WithMetrics};
use crate::http::Handler;
use crate::server::filters::insecure::build_insecure_handler_chain;
use crate::server::filters::{build_handler_chain, InFlight};
use crate::server::generic::{DelegationTarget, GenericAPIServer, PostStartHook, PreShutdownHook};
use crate::server::lifecycle_signals::LifecycleSignals;
use healthz::{Check, HealthzHandler};

/// `preparedGenericAPIServer`: the server with its handler chain, and what Run needs.
pub struct PreparedGenericAPIServer {
    /// The filters wrapped around the server chain: what every connection serves.
    pub handler: Arc<dyn Handler>,
    /// What the insecure port serves: the same servers behind `BuildInsecureHandlerChain`.
    pub insecure_handler: Arc<dyn Handler>,
    pub post_start_hooks: Vec<Arc<PostStartHook>>,
    pub pre_shutdown_hooks: Vec<Arc<PreShutdownHook>>,
    pub lifecycle: Arc<LifecycleSignals>,
    pub in_flight: Arc<InFlight>,
    /// Started by `NonBlockingRun` before the listener accepts.
    pub audit_backend: Option<Arc<dyn Backend>>,
}

/// What `Run` starts: a plain `GenericAPIServer` (an extension API server's), or the
/// aggregator, whose PrepareRun adds steps of its own around the generic one ([`aggregator`]).
pub trait PrepareRun {
    fn prepare_run(self: Box<Self>, config: &Config) -> PreparedGenericAPIServer;
}

impl PrepareRun for GenericAPIServer {
    fn prepare_run(mut self: Box<Self>, config: &Config) -> PreparedGenericAPIServer {
        generic_prepare_run(&mut self, config);
        prepared(*self, config)
    }
}

// ANCHOR: prepare_run
/// `GenericAPIServer.PrepareRun` on the outermost server: OpenAPI (unless the server installs
/// its own), the health endpoints with every check of the chain, and the audit backend's
/// pre-shutdown hook.
pub fn generic_prepare_run(server: &mut GenericAPIServer, config: &Config) {
    if !server.skip_openapi_installation {
        install_openapi(server, config);
    }

    // The checks of every server in the chain, then one per post-start hook.
    let hooks = server.post_start_hooks();
    let mut checks: Vec<Check> = vec![Check::ping()];
    checks.extend(
        server
            .health_checks()
            .into_iter()
            .map(Check::from_health_check),
    );
    checks.extend(hooks.iter().map(|h| Check::post_start_hook(Arc::clone(h))));
    server.handle_prefix(
        "/healthz",
        Arc::new(HealthzHandler::new("healthz", checks.clone(), None)),
    );
    server.handle_prefix(
        "/livez",
        Arc::new(HealthzHandler::new("livez", checks.clone(), None)),
    );

    // /readyz also fails from the moment shutdown begins, so load balancers stop sending traffic
    // while in-flight requests still finish.
    let lifecycle = Arc::clone(&config.lifecycle);
    let mut ready_checks = checks;
    ready_checks.push(Check::shutdown(Arc::clone(&lifecycle)));
    server.handle_prefix(
        "/readyz",
        Arc::new(HealthzHandler::new("readyz", ready_checks, Some(lifecycle))),
    );

    // Seed 004's order: the audit backend is flushed before the listener stops, so the events of
    // every request served so far are on disk. Later events still reach the file.
    if let Some(audit) = &config.audit {
        let backend = Arc::clone(&audit.backend);
        server.add_pre_shutdown_hook("audit-backend", move || {
            backend.shutdown();
            Ok(())
        });
    }
}
// ANCHOR_END: prepare_run

/// `routes.OpenAPI{}.InstallV2` and `InstallV3`: the documents of every group the scheme knows.
pub fn install_openapi(server: &mut GenericAPIServer, config: &Config) {
    server.handle_prefix(
        "/openapi/v3",
        Arc::new(openapi::OpenAPIV3::new(&config.scheme)),
    );
    server.handle(
        "/openapi/v2",
        Arc::new(openapi::OpenAPIV2::new(&config.scheme)),
    );
}

// ANCHOR: prepared
/// `preparedGenericAPIServer{s}`, with what Go's `New` had already done: `/version` and
/// `/metrics`, and the handler chain wrapped around the servers.
pub fn prepared(mut server: GenericAPIServer, config: &Config) -> PreparedGenericAPIServer {
    let post_start_hooks = server.post_start_hooks();
    let pre_shutdown_hooks = server.pre_shutdown_hooks();
    server.handle("/version", Arc::new(version::VersionHandler));

    // `/metrics` (Go installs it in `installAPI`), and the wrapper that feeds it: every request
    // the servers answer, after the filters let it through, is counted.
    let metrics = Arc::clone(&config.metrics);
    server.handle("/metrics", Arc::new(MetricsHandler(Arc::clone(&metrics))));
    let servers = Arc::new(WithMetrics {
        metrics,
        next: Arc::new(server),
    });

    let in_flight = Arc::new(InFlight::default());
    let insecure_handler = build_insecure_handler_chain(
        Arc::clone(&servers) as Arc<dyn Handler>,
        config,
        Arc::clone(&in_flight),
    );
    let handler = build_handler_chain(servers, config, Arc::clone(&in_flight));
    PreparedGenericAPIServer {
        handler,
        insecure_handler,
        post_start_hooks,
        pre_shutdown_hooks,
        lifecycle: Arc::clone(&config.lifecycle),
        in_flight,
        audit_backend: config.audit.as_ref().map(|a| Arc::clone(&a.backend)),
    }
}
// ANCHOR_END: prepared
