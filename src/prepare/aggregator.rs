//! `APIAggregator.PrepareRun` (seed 004, `k8s.io/kube-aggregator/pkg/apiserver/apiserver.go`):
//! the kube-aggregator's steps around the generic PrepareRun.

use std::sync::Arc;

use super::{generic_prepare_run, prepared, PrepareRun, PreparedGenericAPIServer};
use crate::config::Config;
use crate::server::aggregator::{available, APIAggregator};

// ANCHOR: aggregator_prepare_run
impl PrepareRun for APIAggregator {
    fn prepare_run(self: Box<Self>, config: &Config) -> PreparedGenericAPIServer {
        let APIAggregator {
            generic_api_server: mut server,
            available_controller,
            openapi_v3,
        } = *self;

        // 1. The controllers' post-start hooks, before the generic PrepareRun, so that the
        //    health endpoints it installs have a `poststarthook/` check for them. Go adds the
        //    OpenAPI and discovery aggregation controllers here; ours is one controller that
        //    checks each remote APIService and, from the same answers, keeps its discovery
        //    document and OpenAPI entry (`available.rs`).
        let controller = std::sync::Mutex::new(Some(available_controller));
        let lifecycle = Arc::clone(&config.lifecycle);
        server.add_post_start_hook("apiservice-status-remote-available-controller", move || {
            match controller.lock().expect("controller").take() {
                Some(c) => available::start(c, Arc::clone(&lifecycle)),
                None => Ok(()),
            }
        });

        // 2. The generic PrepareRun: health endpoints, the audit pre-shutdown hook. It leaves
        //    `/openapi` alone (`skip_openapi_installation`).
        generic_prepare_run(&mut server, config);

        // 3. OpenAPI only now, "until the delegate had a chance to setup their OpenAPI
        //    handlers": the documents of the delegates' groups, and those of the remote
        //    APIServices, behind one index. v2 is the delegates' documents alone.
        server.handle_prefix("/openapi/v3", Arc::new(openapi_v3));
        server.handle(
            "/openapi/v2",
            Arc::new(super::openapi::OpenAPIV2::new(&config.scheme)),
        );

        prepared(server, config)
    }
}
// ANCHOR_END: aggregator_prepare_run
