//! Server-side apply and `metadata.managedFields` over HTTPS: creation by apply, ownership by
//! manager, the 409 a conflicting apply gets and what `force` does, the parameter errors, and
//! the managedFields every other write records.

mod common;

use common::{ClientResponse, TestServer};
use serde_json::{json, Value};

const APPLY: &str = "application/apply-patch+yaml";
const CMS: &str = "/api/v1/namespaces/default/configmaps";

fn patch(s: &TestServer, path: &str, content_type: &str, body: &Value) -> ClientResponse {
    s.request(
        "PATCH",
        path,
        &[("Content-Type", content_type)],
        Some(body.to_string().as_bytes()),
    )
}

fn cm(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": data})
}

/// The managers of an object, with the fields each owns under `data` (as `f:` names).
fn owners(obj: &Value) -> Vec<(String, String, Vec<String>)> {
    obj["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .map(|e| {
            let data = e["fieldsV1"]["f:data"].as_object();
            let fields = data.into_iter().flat_map(|m| m.keys().cloned()).collect();
            (
                e["manager"].as_str().unwrap().to_string(),
                e["operation"].as_str().unwrap().to_string(),
                fields,
            )
        })
        .collect()
}

fn owner(manager: &str, operation: &str, fields: &[&str]) -> (String, String, Vec<String>) {
    let fields = fields.iter().map(|f| f.to_string()).collect();
    (manager.into(), operation.into(), fields)
}

#[test]
fn apply_creates_then_merges_and_conflicts_name_the_owner() {
    let s = TestServer::start("ssa", &[]);
    let url = format!("{CMS}/ssa?fieldManager=alice&force=false");

    let created = patch(&s, &url, APPLY, &cm(json!({"a": "1", "b": "2"})));
    assert_eq!(created.status, 201, "{}", created.text());
    let obj = created.json();
    assert_eq!(obj["data"], json!({"a": "1", "b": "2"}));
    assert_eq!(owners(&obj), vec![owner("alice", "Apply", &["f:a", "f:b"])]);
    let rv = obj["metadata"]["resourceVersion"].clone();

    // The same configuration again changes nothing, so nothing is written.
    let again = patch(&s, &url, APPLY, &cm(json!({"a": "1", "b": "2"})));
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["metadata"]["resourceVersion"], rv);

    // Another manager's update takes `a` from alice.
    let bob = format!("{CMS}/ssa?fieldManager=bob");
    let merged = patch(
        &s,
        &bob,
        "application/merge-patch+json",
        &json!({"data": {"a": "bob"}}),
    );
    assert_eq!(merged.status, 200, "{}", merged.text());
    assert_eq!(
        owners(&merged.json()),
        vec![
            owner("alice", "Apply", &["f:b"]),
            owner("bob", "Update", &["f:a"]),
        ]
    );

    // Alice applying her old value of `a` conflicts with bob, and changes nothing.
    let conflict = patch(&s, &url, APPLY, &cm(json!({"a": "1", "b": "2"})));
    assert_eq!(conflict.status, 409, "{}", conflict.text());
    let status = conflict.json();
    assert_eq!(status["reason"], "Conflict");
    assert_eq!(
        status["message"],
        "Apply failed with 1 conflict: conflict with \"bob\" using v1: .data.a"
    );
    assert_eq!(
        status["details"]["causes"],
        json!([{"reason": "FieldManagerConflict", "message": "conflict with \"bob\" using v1", "field": ".data.a"}])
    );
    assert_eq!(s.get(&format!("{CMS}/ssa")).json()["data"]["a"], "bob");

    // Applying bob's value shares the field instead; forcing takes it.
    let shared = patch(&s, &url, APPLY, &cm(json!({"a": "bob", "b": "2"})));
    assert_eq!(shared.status, 200, "{}", shared.text());
    let forced = patch(
        &s,
        &format!("{CMS}/ssa?fieldManager=alice&force=true"),
        APPLY,
        &cm(json!({"a": "alice", "b": "2"})),
    );
    assert_eq!(forced.status, 200, "{}", forced.text());
    let obj = forced.json();
    assert_eq!(obj["data"]["a"], "alice");
    assert_eq!(owners(&obj), vec![owner("alice", "Apply", &["f:a", "f:b"])]);

    // A field alice stops applying, and nobody else owns, is removed.
    let pruned = patch(&s, &url, APPLY, &cm(json!({"a": "alice"})));
    assert_eq!(pruned.status, 200, "{}", pruned.text());
    assert_eq!(pruned.json()["data"], json!({"a": "alice"}));
}

#[test]
fn apply_parameter_errors_are_kube_statuses_and_change_nothing() {
    let s = TestServer::start("ssa-errors", &[]);
    let url = format!("{CMS}/ssa");

    let no_manager = patch(&s, &url, APPLY, &cm(json!({"a": "1"})));
    assert_eq!(no_manager.status, 422, "{}", no_manager.text());
    assert_eq!(
        no_manager.json()["message"],
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
    );

    let mut with_fields = cm(json!({"a": "1"}));
    with_fields["metadata"]["managedFields"] = json!([{"manager": "x", "operation": "Apply"}]);
    let managed = patch(&s, &format!("{url}?fieldManager=a"), APPLY, &with_fields);
    assert_eq!(managed.status, 400, "{}", managed.text());
    assert_eq!(
        managed.json()["message"],
        "metadata.managedFields must be nil"
    );

    let not_json = s.request(
        "PATCH",
        &format!("{url}?fieldManager=a"),
        &[("Content-Type", APPLY)],
        Some(b"data: [unclosed"),
    );
    assert_eq!(not_json.status, 400, "{}", not_json.text());

    let unknown = patch(
        &s,
        &format!("{url}?fieldManager=a&fieldValidation=Strict"),
        APPLY,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "dataa": {}}),
    );
    assert_eq!(unknown.status, 400, "{}", unknown.text());
    assert!(
        unknown.json()["message"]
            .as_str()
            .unwrap()
            .contains("unknown field \"dataa\""),
        "{}",
        unknown.text()
    );
    assert_eq!(
        s.get(&url).status,
        404,
        "no apply above may create the object"
    );

    let created = s.send_json("POST", CMS, &cm(json!({"a": "1"})));
    assert_eq!(created.status, 201);
    let forced_merge = patch(
        &s,
        &format!("{url}?force=true"),
        "application/merge-patch+json",
        &json!({"data": {"a": "2"}}),
    );
    assert_eq!(forced_merge.status, 422, "{}", forced_merge.text());
    assert_eq!(
        forced_merge.json()["message"],
        "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch"
    );
    assert_eq!(s.get(&url).json()["data"]["a"], "1");
}

#[test]
fn every_write_records_its_manager() {
    let s = TestServer::start("managed-fields", &[]);
    let url = format!("{CMS}/ssa");

    // Without `fieldManager`, the User-Agent's product names the manager.
    let created = s.request(
        "POST",
        CMS,
        &[
            ("Content-Type", "application/json"),
            ("User-Agent", "curl/8.5.0"),
        ],
        Some(cm(json!({"a": "1"})).to_string().as_bytes()),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let obj = created.json();
    // `.` under `f:data`: the creator brought the `data` map itself into being, and owns that.
    assert_eq!(owners(&obj), vec![owner("curl", "Update", &[".", "f:a"])]);
    assert_eq!(
        obj["metadata"]["managedFields"][0]["fieldsType"],
        "FieldsV1"
    );

    // A PUT by another manager takes what it changed and nothing else.
    let mut put = obj.clone();
    put["data"]["b"] = json!("2");
    let replaced = s.send_json("PUT", &format!("{url}?fieldManager=editor"), &put);
    assert_eq!(replaced.status, 200, "{}", replaced.text());
    assert_eq!(
        owners(&replaced.json()),
        vec![
            owner("curl", "Update", &[".", "f:a"]),
            owner("editor", "Update", &["f:b"]),
        ]
    );

    // kubectl's migration from client-side apply rewrites managedFields with a JSON patch
    // that tests the resourceVersion: the entries sent replace the stored ones.
    let rv = replaced.json()["metadata"]["resourceVersion"].clone();
    let entries = json!([{"manager": "kubectl", "operation": "Apply", "apiVersion": "v1",
                          "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {".": {}, "f:a": {}, "f:b": {}}}}]);
    let migrated = patch(
        &s,
        &format!("{url}?fieldManager=kubectl"),
        "application/json-patch+json",
        &json!([{"op": "replace", "path": "/metadata/managedFields", "value": entries},
                {"op": "replace", "path": "/metadata/resourceVersion", "value": rv}]),
    );
    assert_eq!(migrated.status, 200, "{}", migrated.text());
    assert_eq!(
        owners(&migrated.json()),
        vec![owner("kubectl", "Apply", &[".", "f:a", "f:b"])]
    );

    // The same patch again names a resourceVersion that is no longer current: 409.
    let stale = patch(
        &s,
        &format!("{url}?fieldManager=kubectl"),
        "application/json-patch+json",
        &json!([{"op": "replace", "path": "/metadata/resourceVersion", "value": rv}]),
    );
    assert_eq!(stale.status, 409, "{}", stale.text());

    // A status write through /status is recorded with its subresource.
    let ns = s.get("/api/v1/namespaces/default").json();
    let mut status = ns.clone();
    status["status"]["conditions"] = json!([{"type": "Test", "status": "True"}]);
    let written = s.send_json(
        "PUT",
        "/api/v1/namespaces/default/status?fieldManager=statuswriter",
        &status,
    );
    assert_eq!(written.status, 200, "{}", written.text());
    let entry = written.json()["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["manager"] == "statuswriter")
        .cloned()
        .expect("an entry for the status writer");
    assert_eq!(entry["subresource"], "status");
    assert!(entry["fieldsV1"]["f:status"]["f:conditions"].is_object());
}

#[test]
fn the_creator_owns_the_defaults_an_applier_does_not() {
    let s = TestServer::start("ssa-defaults", &[]);
    let base = "/apis/apps/v1/namespaces/default/deployments";
    let deployment = |name: &str| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
               "spec": {"selector": {"matchLabels": {"app": name}},
                        "template": {"metadata": {"labels": {"app": name}},
                                     "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}})
    };
    let container = |obj: &Value| {
        obj["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]
            ["f:containers"]["k:{\"name\":\"web\"}"]
            .clone()
    };
    // Go defaults a body as it decodes it, before the field manager sees it.
    let created = s.send_json(
        "POST",
        &format!("{base}?fieldManager=creator"),
        &deployment("a"),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let created = created.json();
    let spec = &created["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"];
    assert!(spec["f:progressDeadlineSeconds"].is_object(), "{spec}");
    // `LabelSelector` is atomic in Go: owned as one field, not key by key.
    assert_eq!(spec["f:selector"], json!({}), "{spec}");
    assert!(container(&created)["f:imagePullPolicy"].is_object());

    // An applier owns what it sent; the defaults filled in after the merge have no owner.
    let applied = patch(
        &s,
        &format!("{base}/b?fieldManager=applier"),
        APPLY,
        &deployment("b"),
    );
    assert_eq!(applied.status, 201, "{}", applied.text());
    let applied = applied.json();
    assert_eq!(
        applied["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "Always"
    );
    assert!(container(&applied)["f:image"].is_object());
    assert!(container(&applied).get("f:imagePullPolicy").is_none());
}
