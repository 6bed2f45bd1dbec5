//! Stage 4: three servers chained by delegation (book chapter 4, `ch04-server-chain.md`).
//!
//! Mirrors `CreateServerChain` in `cmd/kube-apiserver/app/server.go` (seeds 001, 002, 004): the
//! apiextensions-apiserver is built first with the NotFound handler as its delegate, the
//! kube-apiserver delegates to it, and the kube-aggregator, built last, delegates to the
//! kube-apiserver and faces the clients:
//!
//! ```text
//! client -> filters -> aggregator -> kube-apiserver -> apiextensions -> NotFound
//! ```
//!
//! - [`generic`]: `GenericAPIServer`, `DelegationTarget`, the NotFound end.
//! - [`apiextensions`], [`kubeapiserver`], [`aggregator`]: the three servers.
//! - [`filters`]: the handler chain in front of them.
//! - [`lifecycle_signals`]: the shutdown signals every part can read.
//! - [`serviceaccounts`]: the in-process stand-in for the controller that gives each namespace
//!   its `default` ServiceAccount.
//! - [`resourcequota`]: the in-process stand-in for the controller that keeps each
//!   ResourceQuota's status true.

pub mod aggregator;
pub mod apiextensions;
pub mod filters;
pub mod generic;
pub mod kubeapiserver;
pub mod lifecycle_signals;
pub mod resourcequota;
pub mod serviceaccounts;

use std::sync::Arc;

use crate::config::Config;
use crate::endpoints::handlers::ResourceHandler;
use crate::registry::store::Store;
use crate::registry::Rest;
use generic::NotFound;

// ANCHOR: create_server_chain
/// `CreateServerChain`: builds the three servers from one config, last delegate first.
pub fn create_server_chain(config: &Config, external_address: &str) -> aggregator::APIAggregator {
    // The end of the chain answers 404 for whatever no server claims.
    let not_found = Arc::new(NotFound);
    // apiextensions-apiserver: CustomResourceDefinitions.
    let api_extensions = Arc::new(apiextensions::create_apiextensions_server(
        config,
        not_found,
        external_address,
    ));
    // kube-apiserver: the built-in groups, delegating to apiextensions.
    let kube_apiserver = Arc::new(kubeapiserver::create_kube_apiserver(
        config,
        api_extensions,
        external_address,
    ));
    // kube-aggregator: APIServices and /apis, delegating to kube-apiserver.
    aggregator::create_aggregator_server(config, kube_apiserver, external_address)
}
// ANCHOR_END: create_server_chain

/// The generic store of one registered kind, as every server's `NewRESTStorage` builds them.
pub fn new_store(config: &Config, group: &str, version: &str, resource: &str) -> Arc<Store> {
    Arc::new(generic_store(config, group, version, resource))
}

/// The generic store before it is shared, for a kind that sets hooks on it.
pub fn generic_store(config: &Config, group: &str, version: &str, resource: &str) -> Store {
    let def = config
        .scheme
        .lookup(group, version, resource)
        .unwrap_or_else(|| panic!("{group}/{version} {resource} is not in the scheme"));
    Store::new(
        def,
        Arc::clone(&config.storage),
        &config.etcd_prefix,
        Arc::clone(&config.admission),
    )
}

/// A resource's handler over its REST storage.
pub fn resource_handler(config: &Config, rest: Arc<dyn Rest>) -> ResourceHandler {
    ResourceHandler {
        def: Arc::clone(&rest.store().def),
        rest,
        lifecycle: Arc::clone(&config.lifecycle),
        min_request_timeout: config.min_request_timeout,
        patch_types: crate::endpoints::handlers::PATCH_TYPES,
    }
}
