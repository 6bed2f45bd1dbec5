//! The aggregated `/openapi/v3`: the local documents (the built-in kinds', and those the
//! delegates publish for custom resources), and for each available remote
//! APIService the entry its backend publishes, whose document is then fetched through the
//! proxy. kubectl validates `create -f` against these, so without them a remote kind could not
//! be created with kubectl's default `--validate=strict`.

use std::sync::Arc;

use serde_json::Value;

use super::proxy::{ProxyRouter, RemoteState};
use crate::http::{Handler, Request, Response};
use crate::prepare::openapi::OpenAPIV3;

pub struct AggregatedOpenAPIV3 {
    pub local: OpenAPIV3,
    pub remote: Arc<RemoteState>,
    pub router: Arc<ProxyRouter>,
}

// ANCHOR: aggregated_openapi
impl Handler for AggregatedOpenAPIV3 {
    fn serve(&self, req: &mut Request) -> Response {
        let rest = req.path.trim_start_matches("/openapi/v3").trim_matches('/');
        let remote = self.remote.openapi.lock().expect("openapi cache").clone();
        if rest.is_empty() {
            let local = self.local.serve(req);
            let mut index: Value = serde_json::from_slice(local.body_bytes()).unwrap_or_default();
            // The delegates' own documents: the custom resources of the apiextensions-apiserver.
            let delegated = self.router.local_delegate.serve(req);
            if delegated.status == 200 {
                let more: Value =
                    serde_json::from_slice(delegated.body_bytes()).unwrap_or_default();
                for (path, entry) in more["paths"].as_object().into_iter().flatten() {
                    index["paths"][path] = entry.clone();
                }
            }
            for (path, entry) in remote.values() {
                index["paths"][path] = entry.clone();
            }
            let body = serde_json::to_vec(&index).expect("the index serializes");
            return Response::bytes(200, "text/plain; charset=utf-8", body);
        }
        match remote.iter().find(|(_, (path, _))| path == rest) {
            Some((name, _)) => match self.router.api_services.get("", name) {
                Ok(api_service) => self.router.proxy(&api_service, req),
                Err(e) => e.to_response(),
            },
            None => match self.local.serve(req) {
                found if found.status != 404 => found,
                _ => self.router.local_delegate.serve(req),
            },
        }
    }
}
// ANCHOR_END: aggregated_openapi
