//! `/metrics`: kube-apiserver's request metrics in the Prometheus text format
//! (`k8s.io/apiserver/pkg/endpoints/metrics`, served by `routes.DefaultMetrics`; book chapter 5).
//!
//! Go instruments each route as it registers it; here one wrapper around the servers of the
//! chain ([`WithMetrics`]) records every request that got past authentication and
//! authorization, as Go's instrumented routes do. Only the series a reader is likely to query
//! are kept, with a subset of Go's labels: no `component`, `scope` or `dry_run`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::http::{Body, Handler, Request, Response, StreamBody};
use crate::scheme::Scheme;
use crate::server::filters::request_info::RequestInfo;
use crate::storage::Storage;

/// `apiserver_request_duration_seconds`'s buckets, as kube-apiserver declares them.
const BUCKETS: [f64; 23] = [
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0,
    10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
];

/// The non-resource paths that get a series of their own (in Go's `subresource` label);
/// anything else counts as `other`, so that random paths cannot grow the registry.
const NAMED_PATHS: &[&str] = &[
    "/api",
    "/apis",
    "/healthz",
    "/livez",
    "/readyz",
    "/version",
    "/metrics",
    "/openapi/v2",
    "/openapi/v3",
];

/// verb, group, version, resource, subresource.
type Labels = [String; 5];

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// What the server has counted since it started.
pub struct Metrics {
    /// `apiserver_request_total`, by labels and response code.
    requests: Mutex<BTreeMap<(Labels, u16), u64>>,
    /// `apiserver_request_terminations_total`: the requests a filter answered in self-defence
    /// (429 past the in-flight budget, 504 past the deadline). They never reached a server, or
    /// it answered too late, so `apiserver_request_total` does not hold them.
    terminations: Mutex<BTreeMap<(Labels, u16), u64>>,
    /// `apiserver_request_duration_seconds`, until the handler returns (for a watch, until the
    /// stream starts: Go measures watches apart).
    durations: Mutex<BTreeMap<Labels, Histogram>>,
    /// `apiserver_current_inflight_requests`: read-only, then mutating.
    in_flight: [AtomicI64; 2],
    /// `apiserver_registered_watchers`, by group, version and kind.
    watchers: Arc<Mutex<BTreeMap<[String; 3], i64>>>,
    scheme: Arc<Scheme>,
    storage: Arc<dyn Storage>,
    etcd_prefix: String,
}

impl Metrics {
    pub fn new(scheme: Arc<Scheme>, storage: Arc<dyn Storage>, etcd_prefix: &str) -> Metrics {
        Metrics {
            requests: Mutex::default(),
            terminations: Mutex::default(),
            durations: Mutex::default(),
            in_flight: [AtomicI64::new(0), AtomicI64::new(0)],
            watchers: Arc::default(),
            scheme,
            storage,
            etcd_prefix: etcd_prefix.trim_end_matches('/').to_string(),
        }
    }

    /// `CleanVerb`: the verb in capitals as the route names it, `APPLY` for server-side apply,
    /// and for a non-resource request its method.
    fn labels(req: &Request, info: &RequestInfo) -> Labels {
        if !info.is_resource_request {
            let path = NAMED_PATHS
                .iter()
                .find(|p| req.path == **p || req.path.starts_with(&format!("{p}/")))
                .map_or("other", |p| p);
            return [
                req.method.clone(),
                String::new(),
                String::new(),
                String::new(),
                path.into(),
            ];
        }
        let apply = req
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/apply-patch+yaml"));
        let verb = match info.verb.as_str() {
            "create" => "POST",
            "update" => "PUT",
            "patch" if apply => "APPLY",
            other => return Self::resource_labels(other.to_uppercase(), info),
        };
        Self::resource_labels(verb.to_string(), info)
    }

    fn resource_labels(verb: String, info: &RequestInfo) -> Labels {
        [
            verb,
            info.api_group.clone(),
            info.api_version.clone(),
            info.resource.clone(),
            info.subresource.clone(),
        ]
    }

    /// `RecordRequestTermination`: called once for a request a filter cut short with `code`.
    pub fn record_request_termination(&self, req: &Request, code: u16) {
        let labels = Self::labels(req, &req.context.request_info);
        *self
            .terminations
            .lock()
            .unwrap()
            .entry((labels, code))
            .or_default() += 1;
    }

    fn record(&self, labels: Labels, code: u16, seconds: f64) {
        *self
            .requests
            .lock()
            .unwrap()
            .entry((labels.clone(), code))
            .or_default() += 1;
        let mut durations = self.durations.lock().unwrap();
        let h = durations.entry(labels).or_default();
        for (bucket, le) in h.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= le {
                *bucket += 1;
            }
        }
        h.sum += seconds;
        h.count += 1;
    }

    // ANCHOR: metrics_text
    /// The Prometheus text exposition of everything counted, and of the objects in storage.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let series = |labels: &Labels| {
            let [verb, group, version, resource, subresource] = labels;
            format!("group=\"{group}\",resource=\"{resource}\",subresource=\"{subresource}\",verb=\"{verb}\",version=\"{version}\"")
        };
        out += "# HELP apiserver_request_total Counter of apiserver requests broken out for each verb, group, version, resource and HTTP response code.\n";
        out += "# TYPE apiserver_request_total counter\n";
        for ((labels, code), n) in self.requests.lock().unwrap().iter() {
            let _ = writeln!(
                out,
                "apiserver_request_total{{code=\"{code}\",{}}} {n}",
                series(labels)
            );
        }
        out += "# HELP apiserver_request_terminations_total Number of requests which apiserver terminated in self-defense.\n";
        out += "# TYPE apiserver_request_terminations_total counter\n";
        for ((labels, code), n) in self.terminations.lock().unwrap().iter() {
            let _ = writeln!(
                out,
                "apiserver_request_terminations_total{{code=\"{code}\",{}}} {n}",
                series(labels)
            );
        }
        out += "# HELP apiserver_request_duration_seconds Response latency distribution in seconds for each verb, group, version and resource.\n";
        out += "# TYPE apiserver_request_duration_seconds histogram\n";
        for (labels, h) in self.durations.lock().unwrap().iter() {
            let s = series(labels);
            for (n, le) in h.buckets.iter().zip(BUCKETS) {
                let _ = writeln!(
                    out,
                    "apiserver_request_duration_seconds_bucket{{{s},le=\"{le}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "apiserver_request_duration_seconds_bucket{{{s},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "apiserver_request_duration_seconds_sum{{{s}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "apiserver_request_duration_seconds_count{{{s}}} {}",
                h.count
            );
        }
        out += "# HELP apiserver_current_inflight_requests Maximal number of currently used inflight request limit of this apiserver per request kind in last second.\n";
        out += "# TYPE apiserver_current_inflight_requests gauge\n";
        for (kind, n) in ["readOnly", "mutating"].iter().zip(&self.in_flight) {
            let n = n.load(Ordering::SeqCst);
            let _ = writeln!(
                out,
                "apiserver_current_inflight_requests{{request_kind=\"{kind}\"}} {n}"
            );
        }
        out += "# HELP apiserver_registered_watchers Number of currently registered watchers for a given resources\n";
        out += "# TYPE apiserver_registered_watchers gauge\n";
        for ([group, version, kind], n) in self.watchers.lock().unwrap().iter() {
            let _ = writeln!(out, "apiserver_registered_watchers{{group=\"{group}\",kind=\"{kind}\",version=\"{version}\"}} {n}");
        }
        out += "# HELP apiserver_storage_objects Number of stored objects at the time of last check split by kind.\n";
        out += "# TYPE apiserver_storage_objects gauge\n";
        let mut counted = BTreeMap::new();
        for (group, version) in self.scheme.group_versions() {
            for def in self.scheme.resources_of(group, version) {
                let prefix = format!("{}{}", self.etcd_prefix, def.storage_prefix());
                // Two versions of one resource share a prefix: count it once.
                if counted.contains_key(&prefix) {
                    continue;
                }
                let n = self.storage.list(&prefix).map_or(0, |(kvs, _)| kvs.len());
                counted.insert(prefix, (def.group_resource().to_string(), n));
            }
        }
        let mut rows: Vec<_> = counted.into_values().collect();
        rows.sort();
        for (resource, n) in rows {
            let _ = writeln!(
                out,
                "apiserver_storage_objects{{resource=\"{resource}\"}} {n}"
            );
        }
        out
    }
    // ANCHOR_END: metrics_text
}

/// A watch stream that keeps its watcher counted until it ends.
struct CountedStream {
    inner: Box<dyn StreamBody>,
    watchers: Arc<Mutex<BTreeMap<[String; 3], i64>>>,
    key: [String; 3],
}

impl StreamBody for CountedStream {
    fn next_chunk(&mut self) -> Option<Vec<u8>> {
        self.inner.next_chunk()
    }
}

impl Drop for CountedStream {
    fn drop(&mut self) {
        if let Some(n) = self.watchers.lock().unwrap().get_mut(&self.key) {
            *n -= 1;
        }
    }
}

// ANCHOR: with_metrics
/// Records each request the servers answer: its count by code, its latency, and while it runs
/// the in-flight gauge; a watch stays in `apiserver_registered_watchers` until its stream ends.
pub struct WithMetrics {
    pub metrics: Arc<Metrics>,
    pub next: Arc<dyn Handler>,
}

impl Handler for WithMetrics {
    fn serve(&self, req: &mut Request) -> Response {
        let info = req.context.request_info.clone();
        let labels = Metrics::labels(req, &info);
        let mutating = !matches!(info.verb.as_str(), "get" | "list" | "watch");
        let gauge = &self.metrics.in_flight[usize::from(mutating)];
        let started = Instant::now();
        gauge.fetch_add(1, Ordering::SeqCst);
        let mut resp = self.next.serve(req);
        gauge.fetch_sub(1, Ordering::SeqCst);
        self.metrics
            .record(labels, resp.status, started.elapsed().as_secs_f64());
        if info.verb == "watch" && resp.status == 200 {
            let kind = self
                .metrics
                .scheme
                .lookup(&info.api_group, &info.api_version, &info.resource)
                .map_or_else(String::new, |d| d.kind.to_string());
            let key = [info.api_group.clone(), info.api_version.clone(), kind];
            if let Body::Stream(inner) = std::mem::replace(&mut resp.body, Body::Bytes(Vec::new()))
            {
                *self
                    .metrics
                    .watchers
                    .lock()
                    .unwrap()
                    .entry(key.clone())
                    .or_default() += 1;
                let watchers = Arc::clone(&self.metrics.watchers);
                resp.body = Body::Stream(Box::new(CountedStream {
                    inner,
                    watchers,
                    key,
                }));
            }
        }
        resp
    }
}
// ANCHOR_END: with_metrics

/// `GET /metrics`.
pub struct MetricsHandler(pub Arc<Metrics>);

impl Handler for MetricsHandler {
    fn serve(&self, _req: &mut Request) -> Response {
        Response::bytes(
            200,
            "text/plain; version=0.0.4; charset=utf-8",
            self.0.render().into_bytes(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Answer(u16);
    impl Handler for Answer {
        fn serve(&self, _req: &mut Request) -> Response {
            Response::text(self.0, "")
        }
    }

    fn request(method: &str, path: &str, content_type: Option<&str>) -> Request {
        let mut req = Request {
            method: method.into(),
            path: path.into(),
            headers: content_type
                .map(|c| ("Content-Type".to_string(), c.to_string()))
                .into_iter()
                .collect(),
            ..Default::default()
        };
        req.context.request_info = RequestInfo::parse(method, path, "");
        req
    }

    #[test]
    fn requests_are_counted_by_verb_resource_and_code() {
        let scheme = Arc::new(crate::apis::new_scheme());
        let storage = Arc::new(crate::storage::embedded::EmbeddedStore::new(10));
        let metrics = Arc::new(Metrics::new(scheme, storage, "/registry"));
        let ok = WithMetrics {
            metrics: Arc::clone(&metrics),
            next: Arc::new(Answer(200)),
        };
        let missing = WithMetrics {
            metrics: Arc::clone(&metrics),
            next: Arc::new(Answer(404)),
        };
        ok.serve(&mut request(
            "GET",
            "/api/v1/namespaces/default/configmaps",
            None,
        ));
        ok.serve(&mut request(
            "GET",
            "/api/v1/namespaces/default/configmaps",
            None,
        ));
        missing.serve(&mut request(
            "GET",
            "/api/v1/namespaces/default/configmaps/x",
            None,
        ));
        ok.serve(&mut request(
            "PATCH",
            "/apis/apps/v1/namespaces/default/deployments/web",
            Some("application/apply-patch+yaml"),
        ));
        ok.serve(&mut request("GET", "/healthz/ping", None));
        let text = metrics.render();
        let line = |needle: &str| {
            text.lines()
                .find(|l| l.starts_with(needle))
                .unwrap_or_else(|| panic!("no {needle} in\n{text}"))
                .to_string()
        };
        assert!(line("apiserver_request_total{code=\"200\",group=\"\",resource=\"configmaps\",subresource=\"\",verb=\"LIST\"").ends_with(" 2"));
        assert!(line("apiserver_request_total{code=\"404\",group=\"\",resource=\"configmaps\",subresource=\"\",verb=\"GET\"").ends_with(" 1"));
        assert!(line("apiserver_request_total{code=\"200\",group=\"apps\",resource=\"deployments\",subresource=\"\",verb=\"APPLY\"").ends_with(" 1"));
        assert!(line("apiserver_request_total{code=\"200\",group=\"\",resource=\"\",subresource=\"/healthz\",verb=\"GET\"").ends_with(" 1"));
        assert!(line("apiserver_request_duration_seconds_count{group=\"\",resource=\"configmaps\",subresource=\"\",verb=\"LIST\"").ends_with(" 2"));
        assert!(
            line("apiserver_current_inflight_requests{request_kind=\"mutating\"}").ends_with(" 0")
        );
        assert!(line("apiserver_storage_objects{resource=\"configmaps\"}").ends_with(" 0"));
    }
}
