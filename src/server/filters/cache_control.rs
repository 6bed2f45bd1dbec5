//! `WithCacheControl` (`k8s.io/apiserver/pkg/endpoints/filters/cachecontrol.go`): every answer of
//! the API server is about one user's view of changing state, so no shared cache (a proxy) may
//! keep it, and no private one may reuse it without asking again. A handler that knows better
//! (the OpenAPI documents, which can be cached by ETag) sets its own header and keeps it.

use std::sync::Arc;

use crate::http::{Handler, Request, Response};

// ANCHOR: with_cache_control
pub struct WithCacheControl {
    pub next: Arc<dyn Handler>,
}

impl Handler for WithCacheControl {
    fn serve(&self, req: &mut Request) -> Response {
        let resp = self.next.serve(req);
        if resp
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("Cache-Control"))
        {
            return resp;
        }
        resp.with_header("Cache-Control", "no-cache, private")
    }
}
// ANCHOR_END: with_cache_control

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Option<&'static str>);
    impl Handler for Fixed {
        fn serve(&self, _req: &mut Request) -> Response {
            let resp = Response::text(200, "ok");
            match self.0 {
                Some(v) => resp.with_header("Cache-Control", v),
                None => resp,
            }
        }
    }

    fn cache_control(inner: Option<&'static str>) -> Vec<String> {
        let filter = WithCacheControl {
            next: Arc::new(Fixed(inner)),
        };
        filter
            .serve(&mut Request::default())
            .headers
            .into_iter()
            .filter(|(n, _)| n == "Cache-Control")
            .map(|(_, v)| v)
            .collect()
    }

    #[test]
    fn set_once_unless_the_handler_chose_its_own() {
        assert_eq!(cache_control(None), ["no-cache, private"]);
        assert_eq!(
            cache_control(Some("public, max-age=60")),
            ["public, max-age=60"]
        );
        assert_eq!(
            cache_control(Some("no-cache, private")),
            ["no-cache, private"]
        );
    }
}
