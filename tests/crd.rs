//! CustomResourceDefinitions: the controllers establish a CRD, the crdHandler serves its
//! objects with every verb, in two versions, with printer columns and the status and scale
//! subresources; discovery and APIServices follow the CRDs; a name clash is not accepted; a
//! deleted CRD takes its objects along.

mod common;

use std::time::{Duration, Instant};

use common::{open_watch, TestServer};
use serde_json::{json, Value};

const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const WIDGETS: &str = "/apis/example.com/v1/namespaces/default/widgets";

fn widget_crd() -> Value {
    let schema = json!({"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}});
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"], "categories": ["all"]},
            "versions": [
                {"name": "v1beta1", "served": true, "storage": false, "schema": schema},
                {"name": "v1", "served": true, "storage": true, "schema": schema,
                 "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                     "statusReplicasPath": ".status.replicas", "labelSelectorPath": ".status.selector"}},
                 "additionalPrinterColumns": [
                    {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                    {"name": "Color", "type": "string", "jsonPath": ".spec.color", "priority": 1},
                    {"name": "Ready", "type": "boolean", "jsonPath": ".status.ready"}]}]}})
}

/// Polls `check` until it is true, for at most five seconds.
fn eventually(what: &str, check: impl FnMut() -> bool) {
    assert!(
        common::within(Duration::from_secs(5), check),
        "never: {what}"
    );
}

fn condition(crd: &Value, type_: &str) -> Value {
    crd["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == type_).cloned())
        .unwrap_or(Value::Null)
}

fn create_established(s: &TestServer, crd: &Value) {
    let created = s.send_json("POST", CRDS, crd);
    assert_eq!(created.status, 201, "{}", created.text());
    let name = crd["metadata"]["name"].as_str().unwrap();
    eventually("the CRD is established", || {
        condition(&s.get(&format!("{CRDS}/{name}")).json(), "Established")["status"] == "True"
    });
}

fn widget(name: &str, size: i64) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget",
           "metadata": {"name": name, "labels": {"size": if size > 2 { "big" } else { "small" }}},
           "spec": {"size": size, "color": "red", "replicas": 1}, "status": {"ready": true}})
}

#[test]
fn an_established_crd_serves_every_verb_in_two_versions() {
    let s = TestServer::start("crd-verbs", &[]);
    assert_eq!(
        s.get(WIDGETS).status,
        404,
        "nothing is served before the CRD"
    );
    let created = s.send_json("POST", CRDS, &widget_crd());
    assert_eq!(created.status, 201, "{}", created.text());
    let crd = created.json();
    assert_eq!(crd["status"]["storedVersions"], json!(["v1"]));
    assert_eq!(crd["spec"]["names"]["singular"], "widget");
    eventually("names accepted and established", || {
        let crd = s.get(&format!("{CRDS}/widgets.example.com")).json();
        condition(&crd, "NamesAccepted")["reason"] == "NoConflicts"
            && condition(&crd, "Established")["reason"] == "InitialNamesAccepted"
            && crd["status"]["acceptedNames"]["shortNames"] == json!(["wd"])
    });

    // Create drops the status (it has its own endpoint) and starts the generation.
    let made = s.send_json("POST", WIDGETS, &widget("w1", 1));
    assert_eq!(made.status, 201, "{}", made.text());
    let w1 = made.json();
    assert_eq!(w1["metadata"]["generation"], 1);
    assert!(w1.get("status").is_none(), "{w1}");
    for (name, size) in [("w2", 3), ("w3", 5)] {
        assert_eq!(
            s.send_json("POST", WIDGETS, &widget(name, size)).status,
            201
        );
    }
    // The other version reads the same objects, under its own apiVersion.
    let old = s
        .get("/apis/example.com/v1beta1/namespaces/default/widgets/w1")
        .json();
    assert_eq!(old["apiVersion"], "example.com/v1beta1");
    assert_eq!(old["spec"]["size"], 1);
    assert_eq!(
        s.get("/apis/example.com/v1/widgets").json()["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        s.names(&format!("{WIDGETS}?labelSelector=size%3Dbig")),
        ["w2", "w3"]
    );
    let page = s.get(&format!("{WIDGETS}?limit=2")).json();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let token = page["metadata"]["continue"].as_str().unwrap();
    assert_eq!(
        s.names(&format!("{WIDGETS}?limit=2&continue={token}")),
        ["w3"]
    );
    assert_eq!(
        s.names(&format!("{WIDGETS}?fieldSelector=metadata.name%3Dw2")),
        ["w2"]
    );

    // Update: spec changes move the generation, a status in the body is ignored.
    let mut w1 = s.get(&format!("{WIDGETS}/w1")).json();
    w1["spec"]["size"] = json!(2);
    w1["status"] = json!({"ready": false});
    let put = s.send_json("PUT", &format!("{WIDGETS}/w1"), &w1);
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(put.json()["metadata"]["generation"], 2);
    assert!(put.json().get("status").is_none());

    // Patches: merge and JSON patch; strategic merge patch is refused as kube refuses it.
    let patch = |content_type: &str, body: &str| {
        s.request(
            "PATCH",
            &format!("{WIDGETS}/w1"),
            &[("Content-Type", content_type)],
            Some(body.as_bytes()),
        )
    };
    let merged = patch(
        "application/merge-patch+json",
        r#"{"spec":{"color":"blue"}}"#,
    );
    assert_eq!(merged.status, 200, "{}", merged.text());
    assert_eq!(merged.json()["spec"]["color"], "blue");
    let jsonpatched = patch(
        "application/json-patch+json",
        r#"[{"op":"replace","path":"/spec/size","value":4}]"#,
    );
    assert_eq!(jsonpatched.json()["spec"]["size"], 4);
    let strategic = patch(
        "application/strategic-merge-patch+json",
        r#"{"spec":{"size":1}}"#,
    );
    assert_eq!(strategic.status, 415);
    assert!(strategic.json()["message"].as_str().unwrap().ends_with(
        "accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    ));
    // Server-side apply creates, and records who owns what.
    let applied = s.request(
        "PATCH",
        &format!("{WIDGETS}/w4?fieldManager=tester"),
        &[("Content-Type", "application/apply-patch+yaml")],
        Some(br#"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w4"},"spec":{"size":9}}"#),
    );
    assert_eq!(applied.status, 201, "{}", applied.text());
    assert_eq!(
        applied.json()["metadata"]["managedFields"][0]["manager"],
        "tester"
    );

    // The status subresource writes the status and nothing else.
    let mut with_status = s.get(&format!("{WIDGETS}/w1")).json();
    with_status["status"] = json!({"ready": true, "replicas": 2, "selector": "app=w1"});
    with_status["spec"]["size"] = json!(100);
    let status = s.send_json("PUT", &format!("{WIDGETS}/w1/status"), &with_status);
    assert_eq!(status.status, 200, "{}", status.text());
    assert_eq!(status.json()["status"]["ready"], true);
    assert_eq!(status.json()["spec"]["size"], 4);
    let patched_status = s.request(
        "PATCH",
        &format!("{WIDGETS}/w1/status"),
        &[("Content-Type", "application/merge-patch+json")],
        Some(br#"{"status":{"ready":false}}"#),
    );
    assert_eq!(patched_status.json()["status"]["ready"], false);

    // The scale subresource reads and writes the declared paths.
    let scale = s.get(&format!("{WIDGETS}/w1/scale")).json();
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["spec"]["replicas"], 1);
    assert_eq!(
        scale["status"],
        json!({"replicas": 2, "selector": "app=w1"})
    );
    let mut scaled = scale.clone();
    scaled["spec"]["replicas"] = json!(5);
    assert_eq!(
        s.send_json("PUT", &format!("{WIDGETS}/w1/scale"), &scaled)
            .status,
        200
    );
    assert_eq!(
        s.get(&format!("{WIDGETS}/w1")).json()["spec"]["replicas"],
        5
    );
    assert_eq!(
        s.get("/apis/example.com/v1beta1/namespaces/default/widgets/w1/status")
            .status,
        404,
        "v1beta1 has no subresources"
    );

    // The Table has Name and the CRD's columns, with typed cells.
    let table = s
        .request(
            "GET",
            WIDGETS,
            &[("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")],
            None,
        )
        .json();
    let columns: Vec<(&str, &str, i64)> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap(),
                c["type"].as_str().unwrap(),
                c["priority"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        columns,
        [
            ("Name", "string", 0),
            ("Size", "integer", 0),
            ("Color", "string", 1),
            ("Ready", "boolean", 0)
        ]
    );
    assert_eq!(table["rows"][0]["cells"], json!(["w1", 4, "blue", false]));
    let v1beta1_table = s
        .request(
            "GET",
            "/apis/example.com/v1beta1/namespaces/default/widgets",
            &[("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")],
            None,
        )
        .json();
    assert_eq!(
        v1beta1_table["columnDefinitions"][1]["name"], "Age",
        "kube's default column"
    );

    // Watch sees a change; delete and deletecollection remove.
    let rv = s.get(WIDGETS).json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let mut events = open_watch(
        &s,
        &format!("{WIDGETS}?watch=true&resourceVersion={rv}"),
        "application/json",
    );
    patch(
        "application/merge-patch+json",
        r#"{"spec":{"color":"green"}}"#,
    );
    let event = events().unwrap();
    assert_eq!(event["type"], "MODIFIED");
    assert_eq!(event["object"]["spec"]["color"], "green");
    assert_eq!(
        s.request("DELETE", &format!("{WIDGETS}/w1"), &[], None)
            .status,
        200
    );
    assert_eq!(s.get(&format!("{WIDGETS}/w1")).status, 404);
    let swept = s.request(
        "DELETE",
        &format!("{WIDGETS}?labelSelector=size%3Dbig"),
        &[],
        None,
    );
    assert_eq!(swept.status, 200);
    assert_eq!(s.names(WIDGETS), ["w4"]);
    s.stop();
}

#[test]
fn cluster_scope_discovery_and_api_services_follow_the_crds() {
    let s = TestServer::start("crd-discovery", &[]);
    create_established(&s, &widget_crd());
    let mut gadgets = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.com"},
        "spec": {"group": "example.com", "scope": "Cluster", "names": {"plural": "gadgets", "kind": "Gadget"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                          "schema": {"openAPIV3Schema": {"type": "object"}}}]}});
    create_established(&s, &gadgets);
    let made = s.send_json(
        "POST",
        "/apis/example.com/v1/gadgets",
        &json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g1"}}),
    );
    assert_eq!(made.status, 201, "{}", made.text());
    assert_eq!(
        s.get("/apis/example.com/v1/namespaces/default/gadgets/g1")
            .status,
        404
    );

    let group = s.get("/apis/example.com").json();
    assert_eq!(group["preferredVersion"]["version"], "v1");
    assert_eq!(group["versions"].as_array().unwrap().len(), 2);
    let resources = s.get("/apis/example.com/v1").json();
    let names: Vec<&str> = resources["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["gadgets", "widgets", "widgets/status", "widgets/scale"]
    );
    assert_eq!(resources["resources"][1]["shortNames"], json!(["wd"]));
    assert_eq!(resources["resources"][3]["kind"], "Scale");
    let v1beta1 = s.get("/apis/example.com/v1beta1").json();
    assert_eq!(v1beta1["resources"].as_array().unwrap().len(), 1);

    // The aggregator registers the CRD group/versions and lists them in /apis, both forms.
    eventually("APIServices for the CRD group", || {
        s.get("/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.example.com")
            .status
            == 200
    });
    let apis = s.get("/apis").json();
    let example = apis["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "example.com")
        .cloned()
        .unwrap();
    assert_eq!(example["preferredVersion"]["version"], "v1");
    let aggregated = s
        .request(
            "GET",
            "/apis",
            &[(
                "Accept",
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
            )],
            None,
        )
        .json();
    let example = aggregated["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["metadata"]["name"] == "example.com")
        .cloned()
        .unwrap();
    let v1 = &example["versions"][0];
    assert_eq!(v1["version"], "v1");
    assert_eq!(v1["resources"][0]["resource"], "gadgets");
    assert_eq!(v1["resources"][0]["scope"], "Cluster");
    assert_eq!(
        v1["resources"][1]["subresources"][1]["subresource"],
        "scale"
    );
    assert_eq!(v1["resources"][1]["categories"], json!(["all"]));

    // Not serving v1beta1 any more removes its APIService; deleting the CRDs removes the rest.
    let mut widgets = s.get(&format!("{CRDS}/widgets.example.com")).json();
    widgets["spec"]["versions"][0]["served"] = json!(false);
    assert_eq!(
        s.send_json("PUT", &format!("{CRDS}/widgets.example.com"), &widgets)
            .status,
        200
    );
    eventually("the v1beta1 APIService goes", || {
        s.get("/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.example.com")
            .status
            == 404
    });
    assert_eq!(
        s.get("/apis/example.com/v1beta1/namespaces/default/widgets")
            .status,
        404
    );
    gadgets = s.get(&format!("{CRDS}/gadgets.example.com")).json();
    assert_eq!(gadgets["metadata"]["generation"], 1);
    gadgets["spec"]["scope"] = json!("Namespaced");
    let rescoped = s.send_json("PUT", &format!("{CRDS}/gadgets.example.com"), &gadgets);
    assert_eq!(rescoped.status, 422);
    assert_eq!(
        rescoped.json()["details"]["causes"][0]["field"],
        "spec.scope"
    );
    let protobuf = s.request(
        "POST",
        "/apis/example.com/v1/gadgets",
        &[("Content-Type", "application/vnd.kubernetes.protobuf")],
        Some(b"k8s\x00"),
    );
    assert_eq!(protobuf.status, 415);
    for name in ["gadgets.example.com", "widgets.example.com"] {
        assert_eq!(
            s.request("DELETE", &format!("{CRDS}/{name}"), &[], None)
                .status,
            200
        );
    }
    eventually("the v1 APIService goes", || {
        s.get("/apis/apiregistration.k8s.io/v1/apiservices/v1.example.com")
            .status
            == 404
    });
    assert_eq!(s.get("/apis/example.com").status, 404);
    s.stop();
}

#[test]
fn a_name_clash_leaves_names_not_accepted() {
    let s = TestServer::start("crd-clash", &[]);
    create_established(&s, &widget_crd());
    let clash = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gizmos.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "gizmos", "kind": "Gizmo", "shortNames": ["wd"]},
            "versions": [{"name": "v1", "served": true, "storage": true,
                          "schema": {"openAPIV3Schema": {"type": "object"}}}]}});
    assert_eq!(s.send_json("POST", CRDS, &clash).status, 201);
    let mut crd = Value::Null;
    eventually("the clash is reported", || {
        crd = s.get(&format!("{CRDS}/gizmos.example.com")).json();
        condition(&crd, "NamesAccepted")["status"] == "False"
    });
    let accepted = condition(&crd, "NamesAccepted");
    assert_eq!(accepted["reason"], "ShortNamesConflict");
    assert_eq!(accepted["message"], "\"wd\" is already in use");
    assert_eq!(condition(&crd, "Established")["reason"], "NotAccepted");
    assert_eq!(
        s.get("/apis/example.com/v1/namespaces/default/gizmos")
            .status,
        404
    );
    assert_eq!(crd["status"]["acceptedNames"]["plural"], "gizmos");
    assert!(crd["status"]["acceptedNames"].get("shortNames").is_none());
    // The name is freed with the CRD that had it, and the other one gets it.
    assert_eq!(
        s.request("DELETE", &format!("{CRDS}/widgets.example.com"), &[], None)
            .status,
        200
    );
    eventually("gizmos gets its short name and is established", || {
        let crd = s.get(&format!("{CRDS}/gizmos.example.com")).json();
        crd["status"]["acceptedNames"]["shortNames"] == json!(["wd"])
            && condition(&crd, "Established")["status"] == "True"
    });
    assert_eq!(
        s.get("/apis/example.com/v1/namespaces/default/gizmos")
            .status,
        200
    );
    s.stop();
}

#[test]
fn deleting_a_crd_removes_its_objects_and_stops_serving() {
    let s = TestServer::start("crd-delete", &[]);
    create_established(&s, &widget_crd());
    assert_eq!(
        s.send_json(
            "POST",
            "/api/v1/namespaces",
            &json!({"metadata": {"name": "other"}})
        )
        .status,
        201
    );
    for (ns, name) in [("default", "a"), ("default", "b"), ("other", "c")] {
        let path = format!("/apis/example.com/v1/namespaces/{ns}/widgets");
        assert_eq!(s.send_json("POST", &path, &widget(name, 1)).status, 201);
    }
    // A deleted namespace takes its custom objects along, as it takes its ConfigMaps.
    assert_eq!(
        s.request("DELETE", "/api/v1/namespaces/other", &[], None)
            .status,
        200
    );
    eventually("the namespace is gone", || {
        s.get("/api/v1/namespaces/other").status == 404
    });
    assert_eq!(s.names("/apis/example.com/v1/widgets"), ["a", "b"]);
    let deleted = s.request("DELETE", &format!("{CRDS}/widgets.example.com"), &[], None);
    assert_eq!(deleted.status, 200);
    let marked = deleted.json();
    assert!(
        marked["metadata"]["deletionTimestamp"].is_string(),
        "{marked}"
    );
    assert_eq!(
        marked["metadata"]["finalizers"],
        json!(["customresourcecleanup.apiextensions.k8s.io"])
    );
    assert_eq!(
        condition(&marked, "Terminating")["reason"],
        "InstanceDeletionPending"
    );
    eventually("the CRD is gone", || {
        s.get(&format!("{CRDS}/widgets.example.com")).status == 404
    });
    assert_eq!(s.get(&format!("{WIDGETS}/a")).status, 404);
    // Defined again, it starts empty: the objects were deleted, not just hidden.
    create_established(&s, &widget_crd());
    assert!(s.names("/apis/example.com/v1/widgets").is_empty());
    s.stop();
}

#[test]
fn invalid_crds_are_refused_with_field_paths() {
    let s = TestServer::start("crd-invalid", &[]);
    let refuse = |change: &dyn Fn(&mut Value), fields: &[&str]| {
        let mut crd = widget_crd();
        change(&mut crd);
        let answer = s.send_json("POST", CRDS, &crd);
        assert_eq!(answer.status, 422, "{}", answer.text());
        let body = answer.json();
        assert_eq!(body["details"]["group"], "apiextensions.k8s.io");
        let got: Vec<&str> = body["details"]["causes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["field"].as_str().unwrap())
            .collect();
        assert_eq!(got, fields, "{body}");
    };
    refuse(
        &|c| c["metadata"]["name"] = json!("wrong.example.com"),
        &["metadata.name"],
    );
    refuse(
        &|c| {
            c["spec"]["group"] = json!("example");
            c["metadata"]["name"] = json!("widgets.example");
        },
        &["spec.group"],
    );
    refuse(&|c| c["spec"]["scope"] = json!("Galaxy"), &["spec.scope"]);
    refuse(
        &|c| c["spec"]["versions"][0]["storage"] = json!(true),
        &["spec.versions"],
    );
    refuse(
        &|c| c["spec"]["versions"][1]["storage"] = json!(false),
        &["spec.versions"],
    );
    refuse(
        &|c| c["spec"]["names"]["plural"] = json!("Widgets"),
        &["metadata.name", "spec.names.plural"],
    );
    assert_eq!(s.get(&format!("{CRDS}/widgets.example.com")).status, 404);
    s.stop();
}

/// Reads events until the server ends the stream, and returns their types. The test client
/// gives up on a silent stream only after its read timeout, far later than the five seconds
/// allowed here, so an ended stream is the server's doing.
fn events_until_the_end(mut next: impl FnMut() -> Option<Value>) -> Vec<String> {
    let began = Instant::now();
    let mut types = Vec::new();
    while let Some(event) = next() {
        types.push(event["type"].as_str().unwrap_or("").to_string());
    }
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "the server never ended the watch: {types:?}"
    );
    types
}

#[test]
fn watches_end_when_their_version_stops_being_served_or_the_crd_goes() {
    let s = TestServer::start("crd-watch-end", &[]);
    create_established(&s, &widget_crd());
    assert_eq!(s.send_json("POST", WIDGETS, &widget("a", 1)).status, 201);
    let v1beta1 = open_watch(
        &s,
        "/apis/example.com/v1beta1/namespaces/default/widgets?watch=true",
        "application/json",
    );
    let v1 = open_watch(&s, &format!("{WIDGETS}?watch=true"), "application/json");
    // v1beta1 is no longer served: the old serving info goes, and its watches with it.
    let mut crd = s.get(&format!("{CRDS}/widgets.example.com")).json();
    crd["spec"]["versions"][0]["served"] = json!(false);
    let updated = s.send_json("PUT", &format!("{CRDS}/widgets.example.com"), &crd);
    assert_eq!(updated.status, 200, "{}", updated.text());
    assert_eq!(events_until_the_end(v1beta1), ["ADDED"]);
    let rewatch = s.get("/apis/example.com/v1beta1/namespaces/default/widgets?watch=true");
    assert_eq!(rewatch.status, 404, "a client that watches again is told");
    // The v1 watch ended too (the spec changed), and a new one sees the CRD's deletion through.
    assert_eq!(events_until_the_end(v1), ["ADDED"]);
    let v1 = open_watch(&s, &format!("{WIDGETS}?watch=true"), "application/json");
    let deleted = s.request("DELETE", &format!("{CRDS}/widgets.example.com"), &[], None);
    assert_eq!(deleted.status, 200);
    assert_eq!(events_until_the_end(v1), ["ADDED", "DELETED"]);
    assert_eq!(s.get(&format!("{CRDS}/widgets.example.com")).status, 404);
    s.stop();
}

#[test]
fn lists_are_of_the_crds_list_kind() {
    let s = TestServer::start("crd-list-kind", &[]);
    let mut crd = widget_crd();
    crd["spec"]["names"]["listKind"] = json!("WidgetCollection");
    create_established(&s, &crd);
    assert_eq!(s.send_json("POST", WIDGETS, &widget("a", 1)).status, 201);
    let list = s.get(WIDGETS).json();
    assert_eq!(list["kind"], "WidgetCollection");
    let accept = |a: &str| {
        s.request("GET", WIDGETS, &[("Accept", a)], None).json()["kind"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(
        accept("application/json;as=Table;v=v1;g=meta.k8s.io"),
        "Table"
    );
    assert_eq!(
        accept("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"),
        "PartialObjectMetadataList"
    );
    let swept = s.request("DELETE", WIDGETS, &[], None).json();
    assert_eq!(swept["kind"], "WidgetCollection");
    let doc = s.get("/openapi/v3/apis/example.com/v1").json();
    assert!(
        doc["components"]["schemas"]["com.example.v1.WidgetCollection"].is_object(),
        "{}",
        doc["components"]["schemas"]
    );
    s.stop();
}
