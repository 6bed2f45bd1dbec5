//! `/metrics` over HTTPS: counts that match the requests sent, the watchers open, the objects
//! stored, and no metrics for anonymous callers.

mod common;

use std::io::{Read, Write};

use common::TestServer;
use serde_json::json;

/// The value of the first series that starts with `prefix`, or 0 when there is none yet.
fn value(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .map_or(0.0, |v| v.parse().unwrap())
}

#[test]
fn metrics_count_what_was_served() {
    let s = TestServer::start("metrics", &[]);
    let base = "/api/v1/namespaces/default/configmaps";
    let list = "apiserver_request_total{code=\"200\",group=\"\",resource=\"configmaps\",subresource=\"\",verb=\"LIST\",version=\"v1\"}";
    let created = "apiserver_request_total{code=\"201\",group=\"\",resource=\"configmaps\",subresource=\"\",verb=\"POST\",version=\"v1\"}";
    let conflict = "apiserver_request_total{code=\"409\",group=\"\",resource=\"configmaps\",subresource=\"\",verb=\"POST\",version=\"v1\"}";
    let before = s.get("/metrics").text();
    for _ in 0..3 {
        assert_eq!(s.get(base).status, 200);
    }
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m"}});
    assert_eq!(s.send_json("POST", base, &cm).status, 201);
    assert_eq!(s.send_json("POST", base, &cm).status, 409);

    // A watch stays registered while its stream is open.
    let mut watch = s.connect();
    let head = format!(
        "GET {base}?watch=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
        s.token
    );
    watch.write_all(head.as_bytes()).unwrap();
    let mut first = [0u8; 64];
    let _ = watch.read(&mut first).unwrap();

    let after = s.get("/metrics");
    assert_eq!(after.status, 200);
    assert!(after
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let after = after.text();
    assert_eq!(value(&after, list) - value(&before, list), 3.0, "{after}");
    assert_eq!(value(&after, created) - value(&before, created), 1.0);
    assert_eq!(value(&after, conflict) - value(&before, conflict), 1.0);
    let watchers = "apiserver_registered_watchers{group=\"\",kind=\"ConfigMap\",version=\"v1\"}";
    assert_eq!(value(&after, watchers), 1.0, "{after}");
    // kube-system also holds the aggregator's extension-apiserver-authentication ConfigMap.
    let configmaps = "apiserver_storage_objects{resource=\"configmaps\"}";
    assert_eq!(value(&after, configmaps) - value(&before, configmaps), 1.0);
    assert!(value(&after, "apiserver_storage_objects{resource=\"namespaces\"}") >= 4.0);

    let anonymous = s.request("GET", "/metrics", &[("Authorization", "")], None);
    assert_eq!(anonymous.status, 403, "{}", anonymous.text());
    drop(watch);
    s.stop();
}
