//! Watches: live events, from a resourceVersion, Table events, timeoutSeconds, and 410 Gone.

mod common;

use std::time::{Duration, Instant};

use common::{open_watch, TestServer};
use serde_json::{json, Value};

fn cm(name: &str) -> Value {
    json!({"metadata": {"name": name}, "data": {"k": "v"}})
}

#[test]
fn watch_from_now_and_from_a_revision() {
    let s = TestServer::start("watch", &[]);
    let base = "/api/v1/namespaces/default/configmaps";
    assert_eq!(s.send_json("POST", base, &cm("before")).status, 201);
    let rv = s.get(base).json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();

    // No resourceVersion: a synthetic ADDED for what exists, then live events.
    let mut events = open_watch(&s, &format!("{base}?watch=true"), "application/json");
    let first = events().unwrap();
    assert_eq!(
        (
            first["type"].as_str(),
            first["object"]["metadata"]["name"].as_str()
        ),
        (Some("ADDED"), Some("before"))
    );
    s.send_json("POST", base, &cm("during"));
    let mut obj = s.get(&format!("{base}/during")).json();
    obj["data"]["k"] = json!("v2");
    s.send_json("PUT", &format!("{base}/during"), &obj);
    s.request("DELETE", &format!("{base}/during"), &[], None);
    let kinds: Vec<String> = (0..3)
        .map(|_| events().unwrap()["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["ADDED", "MODIFIED", "DELETED"]);

    // From the revision of the earlier list: replayed from history, in order.
    let mut replay = open_watch(
        &s,
        &format!("{base}?watch=1&resourceVersion={rv}"),
        "application/json",
    );
    let kinds: Vec<String> = (0..3)
        .map(|_| replay().unwrap()["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["ADDED", "MODIFIED", "DELETED"]);
    s.stop();
}

#[test]
fn table_watch_events_carry_columns_once() {
    let s = TestServer::start("watch-table", &[]);
    let base = "/api/v1/namespaces/default/configmaps";
    let rv = s.get(base).json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
    let mut events = open_watch(
        &s,
        &format!("{base}?watch=true&resourceVersion={rv}"),
        accept,
    );
    s.send_json("POST", base, &cm("t1"));
    s.send_json("POST", base, &cm("t2"));
    let (a, b) = (events().unwrap(), events().unwrap());
    assert_eq!(a["object"]["kind"], "Table");
    assert_eq!(a["object"]["columnDefinitions"][1]["name"], "Data");
    assert_eq!(b["object"]["columnDefinitions"], Value::Null);
    assert_eq!(b["object"]["rows"][0]["cells"][0], "t2");
    s.stop();
}

#[test]
fn timeout_seconds_ends_the_stream() {
    let s = TestServer::start("watch-timeout", &[]);
    let started = Instant::now();
    let mut events = open_watch(
        &s,
        "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1",
        "application/json",
    );
    assert!(events().is_none(), "no objects, then the end of the stream");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
    s.stop();
}

#[test]
fn a_revision_that_left_the_history_is_gone() {
    let s = TestServer::start("watch-gone", &["--default-watch-cache-size=2"]);
    let base = "/api/v1/namespaces/default/configmaps";
    for i in 0..5 {
        s.send_json("POST", base, &cm(&format!("c{i}")));
    }
    let mut events = open_watch(
        &s,
        &format!("{base}?watch=true&resourceVersion=3"),
        "application/json",
    );
    let error = events().unwrap();
    assert_eq!(error["type"], "ERROR");
    assert_eq!(error["object"]["code"], 410);
    assert_eq!(error["object"]["reason"], "Expired");
    assert!(events().is_none(), "the ERROR event is the last");
    s.stop();
}

#[test]
fn shutdown_ends_open_watches() {
    let s = TestServer::start("watch-shutdown", &[]);
    let mut events = open_watch(
        &s,
        "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1",
        "application/json",
    );
    assert_eq!(s.stop(), mini_apiserver::run::lifecycle::Outcome::Stopped);
    while events().is_some() {}
}

#[test]
fn a_streaming_list_ends_its_initial_events_with_a_bookmark() {
    let s = TestServer::start("watch-list", &[]);
    let base = "/api/v1/namespaces/default/configmaps";
    for name in ["a", "b"] {
        assert_eq!(s.send_json("POST", base, &cm(name)).status, 201);
    }
    let mut events = open_watch(
        &s,
        &format!("{base}?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan"),
        "application/json",
    );
    let names: Vec<Value> = (0..2)
        .map(|_| {
            let e = events().unwrap();
            assert_eq!(e["type"], "ADDED");
            e["object"]["metadata"]["name"].clone()
        })
        .collect();
    assert_eq!(names, [json!("a"), json!("b")]);
    let end = events().unwrap();
    assert_eq!(end["type"], "BOOKMARK");
    assert_eq!(end["object"]["kind"], "ConfigMap");
    assert_eq!(
        end["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    let listed = s.get(base).json()["metadata"]["resourceVersion"].clone();
    assert_eq!(end["object"]["metadata"]["resourceVersion"], listed);
    assert_eq!(s.send_json("POST", base, &cm("c")).status, 201);
    assert_eq!(events().unwrap()["type"], "ADDED");

    // sendInitialEvents=false from an unset resourceVersion: live events only.
    let mut live = open_watch(
        &s,
        &format!("{base}?watch=true&sendInitialEvents=false&resourceVersionMatch=NotOlderThan"),
        "application/json",
    );
    assert_eq!(s.send_json("POST", base, &cm("d")).status, 201);
    assert_eq!(live().unwrap()["object"]["metadata"]["name"], "d");

    // The combinations ValidateListOptions refuses, each a 422 on ListOptions.
    for (query, message) in [
        (
            "watch=true&sendInitialEvents=true",
            "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        ),
        (
            "watch=true&resourceVersionMatch=NotOlderThan",
            "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
        ),
        (
            "sendInitialEvents=true",
            "sendInitialEvents is forbidden for list",
        ),
        (
            "resourceVersionMatch=Exact",
            "resourceVersionMatch is forbidden unless resourceVersion is provided",
        ),
    ] {
        let refused = s.get(&format!("{base}?{query}"));
        assert_eq!(refused.status, 422, "{query}: {}", refused.text());
        let body = refused.json();
        assert_eq!(body["details"]["kind"], "ListOptions");
        assert!(
            body["message"].as_str().unwrap().contains(message),
            "{body}"
        );
    }
    s.stop();
}

#[test]
fn a_continue_token_from_a_compacted_revision_is_gone() {
    let s = TestServer::start("continue-gone", &["--default-watch-cache-size=2"]);
    let base = "/api/v1/namespaces/default/configmaps";
    for i in 0..3 {
        assert_eq!(s.send_json("POST", base, &cm(&format!("c{i}"))).status, 201);
    }
    let first = s.get(&format!("{base}?limit=1")).json();
    let token = first["metadata"]["continue"].as_str().unwrap().to_string();
    // Still in the history: the next page follows.
    let next = s.get(&format!("{base}?limit=1&continue={token}")).json();
    assert_eq!(next["items"][0]["metadata"]["name"], "c1");
    // Enough writes push the first page's revision out of the history.
    for i in 3..6 {
        assert_eq!(s.send_json("POST", base, &cm(&format!("c{i}"))).status, 201);
    }
    let gone = s.get(&format!("{base}?limit=1&continue={token}"));
    assert_eq!(gone.status, 410, "{}", gone.text());
    let body = gone.json();
    assert_eq!(body["reason"], "Expired");
    // The fresh token in the Status goes on from where the old one pointed.
    let fresh = body["metadata"]["continue"].as_str().unwrap();
    let rest = s.get(&format!("{base}?continue={fresh}")).json();
    assert_eq!(rest["items"].as_array().unwrap().len(), 5);
    s.stop();
}

#[test]
fn lists_at_an_exact_revision_and_pages_of_one_snapshot() {
    let s = TestServer::start("list-exact", &[]);
    let base = "/api/v1/namespaces/default/configmaps";
    for name in ["a", "b", "c"] {
        assert_eq!(s.send_json("POST", base, &cm(name)).status, 201);
    }
    let then = s.get(base).json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let page1 = s.get(&format!("{base}?limit=2")).json();
    let token = page1["metadata"]["continue"].as_str().unwrap().to_string();
    // Changes after the first page: the second page still shows the list as it was.
    let deleted = s.request("DELETE", &format!("{base}/c"), &[], None);
    assert_eq!(deleted.status, 200);
    assert_eq!(s.send_json("POST", base, &cm("d")).status, 201);
    assert_eq!(s.names(&format!("{base}?limit=2&continue={token}")), ["c"]);

    let exact = s.get(&format!(
        "{base}?resourceVersion={then}&resourceVersionMatch=Exact"
    ));
    assert_eq!(exact.status, 200, "{}", exact.text());
    let exact = exact.json();
    assert_eq!(exact["metadata"]["resourceVersion"], then.as_str());
    let names: Vec<&str> = exact["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(s.names(base), ["a", "b", "d"]);

    let future = s.get(&format!(
        "{base}?resourceVersion=999999&resourceVersionMatch=Exact"
    ));
    assert_eq!(future.status, 504, "{}", future.text());
    assert_eq!(future.json()["reason"], "Timeout");
}
