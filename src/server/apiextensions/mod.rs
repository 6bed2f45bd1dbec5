//! The apiextensions-apiserver: the first server built and the last to see a request. Mirrors
//! `createAPIExtensionsServer` / `apiextensionsapiserver.CompletedConfig.New`: it serves
//! `apiextensions.k8s.io/v1` CustomResourceDefinitions and delegates to the NotFound handler.

use std::sync::Arc;

use super::generic::{APIGroupInfo, DelegationTarget, GenericAPIServer};
use super::{new_store, resource_handler};
use crate::apis::apiextensions::GROUP;
use crate::config::Config;

pub fn create_apiextensions_server(
    config: &Config,
    delegate: Arc<dyn DelegationTarget>,
    external_address: &str,
) -> GenericAPIServer {
    let mut server = GenericAPIServer::new(
        "apiextensions-apiserver",
        delegate,
        external_address.to_string(),
    );
    let crds = new_store(config, GROUP, "v1", "customresourcedefinitions");
    server.install_api_group(APIGroupInfo {
        group: GROUP,
        version: "v1",
        resources: vec![resource_handler(config, crds)],
    });
    server
}
