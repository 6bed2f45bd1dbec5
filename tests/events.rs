//! Events through both APIs: core/v1 and events.k8s.io/v1 read and write one store, each with
//! its own field names, and the newer API validates new events strictly.

mod common;

use common::TestServer;
use serde_json::json;

const CORE: &str = "/api/v1/namespaces/default/events";
const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/default/events";

#[test]
fn an_event_written_through_one_version_is_read_through_the_other() {
    let s = TestServer::start("events-views", &[]);
    let old_style = json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "pulled.1"}, "reason": "Pulled", "message": "image pulled",
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
        "source": {"component": "kubelet"}, "count": 3, "type": "Normal"});
    let created = s.send_json("POST", CORE, &old_style);
    assert_eq!(created.status, 201, "{}", created.text());

    let seen = s.get(&format!("{EVENTS}/pulled.1"));
    assert_eq!(seen.status, 200, "{}", seen.text());
    let v1 = seen.json();
    assert_eq!(v1["apiVersion"], "events.k8s.io/v1");
    assert_eq!(v1["regarding"]["name"], "web");
    assert_eq!(v1["note"], "image pulled");
    assert_eq!(v1["deprecatedCount"], 3);
    assert_eq!(v1["deprecatedSource"]["component"], "kubelet");
    assert!(v1.get("involvedObject").is_none() && v1.get("message").is_none());
    assert_eq!(
        v1["metadata"]["resourceVersion"],
        created.json()["metadata"]["resourceVersion"]
    );

    // A field selector in the new names finds it; the old names are refused there.
    let selected = s.names(&format!("{EVENTS}?fieldSelector=regarding.name%3Dweb"));
    assert_eq!(selected, ["pulled.1"]);
    let old_name = s.get(&format!("{EVENTS}?fieldSelector=involvedObject.name%3Dweb"));
    assert_eq!(old_name.status, 400, "{}", old_name.text());

    // A new-style event, written through events.k8s.io, is a core event with core names.
    let new_style = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "scaled.1"}, "eventTime": "2026-01-01T00:00:00.000000Z",
        "reportingController": "example.com/scaler", "reportingInstance": "scaler-1",
        "action": "Scale", "reason": "ScaledUp", "type": "Normal", "note": "to 3",
        "regarding": {"kind": "Deployment", "name": "web", "namespace": "default"}});
    let created = s.send_json("POST", EVENTS, &new_style);
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(created.json()["note"], "to 3");
    let core = s.get(&format!("{CORE}/scaled.1")).json();
    assert_eq!(core["apiVersion"], "v1");
    assert_eq!(core["message"], "to 3");
    assert_eq!(core["reportingComponent"], "example.com/scaler");
    assert_eq!(core["involvedObject"]["kind"], "Deployment");
    assert_eq!(s.names(CORE).len(), 2);
}

#[test]
fn events_k8s_io_refuses_an_old_style_event_and_stores_nothing() {
    let s = TestServer::start("events-strict", &[]);
    let old_style = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "bad"}, "reason": "Pulled", "deprecatedCount": 2,
        "regarding": {"kind": "Pod", "name": "web", "namespace": "default"}});
    let refused = s.send_json("POST", EVENTS, &old_style);
    assert_eq!(refused.status, 422, "{}", refused.text());
    let status = refused.json();
    assert_eq!(status["details"]["kind"], "Event");
    assert_eq!(status["details"]["group"], "events.k8s.io");
    let fields: Vec<&str> = status["details"]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    // Go validates the internal type, so `deprecatedCount` is reported as `count`.
    assert_eq!(
        fields,
        [
            "reportingController",
            "reportingInstance",
            "action",
            "eventTime",
            "type",
            "count"
        ]
    );
    assert!(status["message"]
        .as_str()
        .unwrap()
        .starts_with("Event.events.k8s.io \"bad\" is invalid: ["));
    assert!(s.names(CORE).is_empty());
}
