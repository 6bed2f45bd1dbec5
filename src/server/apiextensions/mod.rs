//! The apiextensions-apiserver: the first server built and the last to see a request. Mirrors
//! `createAPIExtensionsServer` / `apiextensionsapiserver.CompletedConfig.New`: it serves
//! `apiextensions.k8s.io/v1` CustomResourceDefinitions, the custom resources they define (the
//! crdHandler under `/apis/`), and delegates the rest to the NotFound handler.
//!
//! - [`customresource_handler`]: the crdHandler and the handlers it builds per CRD.
//! - [`customresource`]: one served version: its definition and strategy.
//! - [`discovery`]: `/apis/<group>[/<version>]` of CRD groups, and what aggregated discovery shows.
//! - [`controller`]: naming, establishing and finalizing, behind the post-start hooks.
//! - [`lister`]: the CRDs in memory, kept by the controllers' watch, read by the crdHandler.
//! - [`openapiv3`]: `/openapi/v3` documents of the custom resources, from their schemas.
//! - [`schema`]: structural schemas: pruning, defaulting, validation and OpenAPI of custom objects.

pub mod controller;
pub mod customresource;
pub mod customresource_handler;
pub mod discovery;
pub mod lister;
pub mod openapiv3;
pub mod schema;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::generic::{APIGroupInfo, DelegationTarget, GenericAPIServer};
use super::{new_store, resource_handler};
use crate::apis::apiextensions::GROUP;
use crate::config::Config;
use crate::registry::customresourcedefinition::CustomResourceDefinitionRest;
use controller::establish::EstablishingController;
use controller::finalizer::CrdFinalizer;
use controller::naming::NamingConditionController;
use controller::Controllers;
use customresource_handler::{CrdHandler, CustomResourceConfig, ServingInfos};

// ANCHOR: create_apiextensions_server
pub fn create_apiextensions_server(
    config: &Config,
    delegate: Arc<dyn DelegationTarget>,
    external_address: &str,
) -> GenericAPIServer {
    let mut server = GenericAPIServer::new(
        "apiextensions-apiserver",
        Arc::clone(&delegate),
        external_address.to_string(),
    );
    let crds = new_store(config, GROUP, "v1", "customresourcedefinitions");
    server.install_api_group(APIGroupInfo {
        group: GROUP,
        version: "v1",
        resources: vec![resource_handler(
            config,
            Arc::new(CustomResourceDefinitionRest {
                store: Arc::clone(&crds),
            }),
        )],
    });
    // Everything under /apis/ that no server before this one claimed: custom resources.
    let serving = Arc::new(ServingInfos::new(CustomResourceConfig::new(config)));
    let lister = Arc::new(lister::CrdLister::new(Arc::clone(&crds)));
    server.handle_prefix(
        "/apis",
        Arc::new(CrdHandler {
            crds: Arc::clone(&crds),
            lister: Arc::clone(&lister),
            serving: Arc::clone(&serving),
            delegate,
        }),
    );
    // Merged into `/openapi/v3` by the aggregator, which asks its delegates.
    server.handle_prefix(
        "/openapi/v3",
        Arc::new(openapiv3::CrdOpenAPIV3 {
            crds: Arc::clone(&crds),
        }),
    );
    let controllers = Mutex::new(Some(Controllers {
        naming: NamingConditionController {
            crds: Arc::clone(&crds),
            scheme: Arc::clone(&config.scheme),
        },
        establishing: EstablishingController {
            crds: Arc::clone(&crds),
        },
        finalizer: CrdFinalizer {
            crds: Arc::clone(&crds),
            serving: Arc::clone(&serving),
        },
        crds,
        serving,
        lister,
    }));
    let synced = Arc::new(AtomicBool::new(false));
    let lifecycle = Arc::clone(&config.lifecycle);
    let synced_for_start = Arc::clone(&synced);
    server.add_post_start_hook("start-apiextensions-controllers", move || match controllers
        .lock()
        .expect("controllers")
        .take()
    {
        Some(c) => controller::start(c, Arc::clone(&lifecycle), Arc::clone(&synced_for_start)),
        None => Ok(()),
    });
    // Hooks run one after another, and the aggregator's autoregistration comes later: waiting
    // here means existing CRDs are established, and registered, before the server is ready.
    server.add_post_start_hook("crd-informer-synced", move || {
        while !synced.load(Ordering::SeqCst) {
            may::coroutine::sleep(std::time::Duration::from_millis(10));
        }
        Ok(())
    });
    server
}
// ANCHOR_END: create_apiextensions_server
