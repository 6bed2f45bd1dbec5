//! The REST API over HTTPS, against an in-process server: every verb on namespaces and
//! configmaps, and each error as kube-apiserver words it (bodies from the wire reference).

mod common;

use common::TestServer;
use serde_json::{json, Value};

fn cm(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})
}

#[test]
fn configmap_lifecycle_with_kube_errors() {
    let s = TestServer::start("cm-lifecycle", &[]);
    let base = "/api/v1/namespaces/default/configmaps";

    let created = s.send_json("POST", base, &cm("cm-a", json!({"k": "v"})));
    assert_eq!(created.status, 201, "{}", created.text());
    let obj = created.json();
    assert_eq!(obj["metadata"]["namespace"], "default");
    assert_eq!(obj["metadata"]["uid"].as_str().unwrap().len(), 36);
    let rv = obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();

    let dup = s.send_json("POST", base, &cm("cm-a", json!({})));
    assert_eq!(dup.status, 409);
    assert_eq!(dup.json()["reason"], "AlreadyExists");
    assert_eq!(dup.json()["message"], "configmaps \"cm-a\" already exists");

    let got = s.get(&format!("{base}/cm-a"));
    assert_eq!(got.json()["data"]["k"], "v");
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert!(got.header("audit-id").is_some());

    // An update carrying the current resourceVersion wins; the same one again is stale.
    let mut update = obj.clone();
    update["data"] = json!({"k": "v2"});
    let updated = s.send_json("PUT", &format!("{base}/cm-a"), &update);
    assert_eq!(updated.status, 200, "{}", updated.text());
    assert_ne!(updated.json()["metadata"]["resourceVersion"], rv.as_str());
    let stale = s.send_json("PUT", &format!("{base}/cm-a"), &update);
    assert_eq!(stale.status, 409);
    let want: Value = serde_json::from_str(r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Operation cannot be fulfilled on configmaps \"cm-a\": the object has been modified; please apply your changes to the latest version and try again","reason":"Conflict","details":{"name":"cm-a","kind":"configmaps"},"code":409}"#).unwrap();
    assert_eq!(stale.json(), want);

    let list = s.get(base).json();
    assert_eq!(list["kind"], "ConfigMapList");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    let deleted = s.request(
        "DELETE",
        &format!("{base}/cm-a"),
        &[("Content-Type", "application/json")],
        Some(br#"{"propagationPolicy":"Background"}"#),
    );
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.json()["status"], "Success");
    assert_eq!(deleted.json()["details"]["name"], "cm-a");

    let missing = s.get(&format!("{base}/cm-a"));
    let want: Value = serde_json::from_str(r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \"cm-a\" not found","reason":"NotFound","details":{"name":"cm-a","kind":"configmaps"},"code":404}"#).unwrap();
    assert_eq!(missing.json(), want);
    s.stop();
}

#[test]
fn bad_writes_get_a_status_and_change_nothing() {
    let s = TestServer::start("bad-writes", &[]);
    let base = "/api/v1/namespaces/default/configmaps";
    let before = s.get(base).json()["metadata"]["resourceVersion"].clone();

    let invalid = s.send_json("POST", base, &cm("Bad_Name", json!({})));
    assert_eq!(invalid.status, 422);
    let body = invalid.json();
    assert_eq!(body["reason"], "Invalid");
    assert_eq!(body["details"]["causes"][0]["field"], "metadata.name");
    assert!(body["message"].as_str().unwrap().starts_with("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"));

    let bad_json = s.request(
        "POST",
        base,
        &[("Content-Type", "application/json")],
        Some(b"{\"apiVersion\":\"v1\",\"kind\":\"Con"),
    );
    assert_eq!(bad_json.status, 400);
    assert_eq!(bad_json.json()["reason"], "BadRequest");

    let text = s.request(
        "POST",
        base,
        &[("Content-Type", "text/plain")],
        Some(b"a: b"),
    );
    assert_eq!(text.status, 415);
    assert!(text.json()["message"]
        .as_str()
        .unwrap()
        .contains("application/json, application/yaml"));

    let wrong_kind = s.send_json(
        "POST",
        base,
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}),
    );
    assert_eq!(wrong_kind.status, 400);

    let strict = s.send_json(
        "POST",
        &format!("{base}?fieldValidation=Strict"),
        &json!({"metadata": {"name": "s"}, "spec": {}}),
    );
    assert_eq!(strict.status, 400);
    assert_eq!(
        strict.json()["message"],
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"spec\""
    );

    // A repeated key: Strict refuses it, Warn keeps the last and says so.
    let repeated = br#"{"metadata": {"name": "dup"}, "data": {"a": "1"}, "data": {"b": "2"}}"#;
    let post = |validation: &str| {
        s.request(
            "POST",
            &format!("{base}?fieldValidation={validation}"),
            &[("Content-Type", "application/json")],
            Some(repeated),
        )
    };
    let refused = post("Strict");
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert_eq!(
        refused.json()["message"],
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: duplicate field \"data\""
    );
    assert_eq!(s.get(&format!("{base}/dup")).status, 404);
    // (A dry run, so that this test still writes nothing.)
    let warned = post("Warn&dryRun=All");
    assert_eq!(warned.status, 201, "{}", warned.text());
    assert_eq!(
        warned.header("warning"),
        Some(r#"299 - "duplicate field \"data\"""#)
    );
    assert_eq!(warned.json()["data"], json!({"b": "2"}));

    let no_namespace = s.send_json(
        "POST",
        "/api/v1/namespaces/nowhere/configmaps",
        &cm("x", json!({})),
    );
    assert_eq!(no_namespace.status, 404);
    assert_eq!(
        no_namespace.json()["message"],
        "namespaces \"nowhere\" not found"
    );

    let bad_key = s.send_json("POST", base, &cm("x", json!({"bad key": "v"})));
    assert_eq!(bad_key.status, 422);
    assert_eq!(
        bad_key.json()["details"]["causes"][0]["field"],
        "data[bad key]"
    );

    // A value of the wrong type fails decoding, before validation: 400, in Go's words.
    let not_a_string = s.send_json("POST", base, &cm("x", json!({"n": 1})));
    assert_eq!(not_a_string.status, 400);
    assert_eq!(
        not_a_string.json()["message"],
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: json: cannot unmarshal number into Go struct field ConfigMap.data of type string"
    );

    let put_collection = s.send_json("PUT", base, &cm("x", json!({})));
    assert_eq!(put_collection.status, 405);

    assert_eq!(
        s.get(base).json()["metadata"]["resourceVersion"],
        before,
        "nothing was written"
    );
    s.stop();
}

#[test]
fn a_body_without_content_type_is_json() {
    // The Python client sends creates with no Content-Type and no apiVersion/kind.
    let s = TestServer::start("no-content-type", &[]);
    let r = s.request(
        "POST",
        "/api/v1/namespaces",
        &[],
        Some(br#"{"metadata": {"name": "pyns"}}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let ns = r.json();
    assert_eq!(
        (ns["kind"].as_str(), ns["status"]["phase"].as_str()),
        (Some("Namespace"), Some("Active"))
    );
    assert_eq!(
        ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "pyns"
    );
    s.stop();
}

#[test]
fn namespaces_take_their_contents_with_them() {
    let s = TestServer::start("ns-delete", &[]);
    assert_eq!(
        s.send_json(
            "POST",
            "/api/v1/namespaces",
            &json!({"metadata": {"name": "demo"}})
        )
        .status,
        201
    );
    assert_eq!(
        s.send_json(
            "POST",
            "/api/v1/namespaces/demo/configmaps",
            &cm("a", json!({}))
        )
        .status,
        201
    );
    // RBAC's namespaced kinds are emptied with the rest: a binding left behind would grant its
    // rights again to whoever recreates the namespace.
    let rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/demo";
    let role = json!({"metadata": {"name": "r"}, "rules": []});
    assert_eq!(
        s.send_json("POST", &format!("{rbac}/roles"), &role).status,
        201
    );
    let binding = json!({"metadata": {"name": "b"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
        "subjects": [{"kind": "User", "name": "someone"}]});
    let bound = s.send_json("POST", &format!("{rbac}/rolebindings"), &binding);
    assert_eq!(bound.status, 201, "{}", bound.text());
    let deleted = s.request("DELETE", "/api/v1/namespaces/demo", &[], None);
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.json()["status"]["phase"], "Terminating");
    assert_eq!(s.get("/api/v1/namespaces/demo").status, 404);
    assert_eq!(s.get("/api/v1/namespaces/demo/configmaps/a").status, 404);
    assert_eq!(s.get(&format!("{rbac}/roles/r")).status, 404);
    assert_eq!(s.get(&format!("{rbac}/rolebindings/b")).status, 404);
    let default = s.request("DELETE", "/api/v1/namespaces/default", &[], None);
    assert_eq!(default.status, 403);
    assert_eq!(
        default.json()["message"],
        "namespaces \"default\" is forbidden: this namespace may not be deleted"
    );
    s.stop();
}

#[test]
fn patches_selectors_and_pages() {
    let s = TestServer::start("patch", &[]);
    let base = "/api/v1/namespaces/default/configmaps";
    for (name, tier) in [("a", "web"), ("b", "db"), ("c", "web")] {
        let mut obj = cm(name, json!({}));
        obj["metadata"]["labels"] = json!({"tier": tier});
        assert_eq!(s.send_json("POST", base, &obj).status, 201);
    }
    let patched = s.request(
        "PATCH",
        &format!("{base}/a"),
        &[("Content-Type", "application/merge-patch+json")],
        Some(br#"{"metadata":{"labels":{"note":"x"}},"data":{"k":"v"}}"#),
    );
    assert_eq!(patched.status, 200, "{}", patched.text());
    assert_eq!(
        patched.json()["metadata"]["labels"],
        json!({"tier": "web", "note": "x"})
    );
    let json = |body: &str| {
        s.request(
            "PATCH",
            &format!("{base}/a"),
            &[("Content-Type", "application/json-patch+json")],
            Some(body.as_bytes()),
        )
    };
    let patched = json(
        r#"[{"op":"add","path":"/data/j","value":"p"},{"op":"remove","path":"/metadata/labels/note"}]"#,
    );
    assert_eq!(patched.status, 200, "{}", patched.text());
    assert_eq!(patched.json()["data"], json!({"k": "v", "j": "p"}));
    assert_eq!(patched.json()["metadata"]["labels"], json!({"tier": "web"}));
    assert_eq!(
        json(r#"[{"op":"test","path":"/data/j","value":"other"}]"#).status,
        422
    );
    assert_eq!(json(r#"{"op":"add"}"#).status, 400);
    let yaml_patch = s.request(
        "PATCH",
        &format!("{base}/a"),
        &[("Content-Type", "application/yaml")],
        Some(b"a: b"),
    );
    assert_eq!(yaml_patch.status, 415);

    let names = |path: &str| s.names(path);
    assert_eq!(
        names(&format!("{base}?labelSelector=tier%3Dweb")),
        ["a", "c"]
    );
    assert_eq!(
        names(&format!("{base}?labelSelector=tier+notin+(web)")),
        ["b"]
    );
    assert_eq!(
        names(&format!("{base}?fieldSelector=metadata.name%3Db")),
        ["b"]
    );
    assert_eq!(s.get(&format!("{base}?labelSelector=a+in+b")).status, 400);

    let page1 = s.get(&format!("{base}?limit=2")).json();
    assert_eq!(page1["items"].as_array().unwrap().len(), 2);
    assert_eq!(page1["metadata"]["remainingItemCount"], 1);
    let token = page1["metadata"]["continue"].as_str().unwrap();
    assert_eq!(names(&format!("{base}?limit=2&continue={token}")), ["c"]);
    assert_eq!(s.get(&format!("{base}?continue=garbage")).status, 400);
    s.stop();
}

#[test]
fn tables_for_kubectl_get() {
    let s = TestServer::start("table", &[]);
    s.send_json(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        &cm("t", json!({"a": "1", "b": "2"})),
    );
    let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
    let table = s
        .request(
            "GET",
            "/api/v1/namespaces/default/configmaps",
            &[("Accept", accept)],
            None,
        )
        .json();
    assert_eq!(table["kind"], "Table");
    let columns: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["Name", "Data", "Age"]);
    assert_eq!(table["rows"][0]["cells"][0], "t");
    assert_eq!(table["rows"][0]["cells"][1], 2);
    assert_eq!(table["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    let ns = s
        .request("GET", "/api/v1/namespaces", &[("Accept", accept)], None)
        .json();
    let columns: Vec<&str> = ns["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["Name", "Status", "Age"]);
    assert_eq!(
        s.request(
            "GET",
            "/api/v1/namespaces",
            &[("Accept", "application/vnd.kubernetes.protobuf")],
            None
        )
        .status,
        406
    );
    s.stop();
}

#[test]
fn discovery_walks_the_three_servers() {
    let s = TestServer::start("discovery", &[]);
    let api = s.get("/api").json();
    assert_eq!(api["versions"], json!(["v1"]));
    let v1 = s.get("/api/v1").json();
    let cms = v1["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "configmaps")
        .unwrap()
        .clone();
    assert_eq!(cms["shortNames"], json!(["cm"]));
    assert_eq!(cms["namespaced"], true);
    // /apis is the aggregator's, built from the APIServices autoregistration wrote.
    let groups: Vec<String> = s.get("/apis").json()["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        groups,
        [
            "apiregistration.k8s.io",
            "apiextensions.k8s.io",
            "apps",
            "authentication.k8s.io",
            "authorization.k8s.io",
            "events.k8s.io",
            "rbac.authorization.k8s.io"
        ]
    );
    // A subresource is its own entry, naming its kind's group when it is not the parent's.
    let apps = s.get("/apis/apps/v1").json();
    assert_eq!(apps["resources"][1]["name"], "deployments/scale");
    assert_eq!(apps["resources"][1]["group"], "autoscaling");
    // Served by the apiextensions server, two delegations down.
    let crds = s.get("/apis/apiextensions.k8s.io/v1").json();
    assert_eq!(crds["resources"][0]["name"], "customresourcedefinitions");
    let services: Vec<String> = s.get("/apis/apiregistration.k8s.io/v1/apiservices").json()
        ["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        services,
        [
            "v1.",
            "v1.apiextensions.k8s.io",
            "v1.apiregistration.k8s.io",
            "v1.apps",
            "v1.authentication.k8s.io",
            "v1.authorization.k8s.io",
            "v1.events.k8s.io",
            "v1.rbac.authorization.k8s.io"
        ]
    );
    // Aggregated discovery (apidiscovery.k8s.io/v2), as kubectl asks for it first.
    let accept =
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
    let aggregated = s.request("GET", "/api", &[("Accept", accept)], None);
    assert_eq!(
        aggregated.header("content-type"),
        Some("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
    );
    assert!(aggregated.header("etag").is_some());
    let core = aggregated.json();
    assert_eq!(core["kind"], "APIGroupDiscoveryList");
    let cm = &core["items"][0]["versions"][0]["resources"][1];
    assert_eq!(
        (cm["resource"].as_str(), cm["scope"].as_str()),
        (Some("configmaps"), Some("Namespaced"))
    );
    assert_eq!(
        cm["responseKind"],
        json!({"group": "", "version": "", "kind": "ConfigMap"})
    );
    let apis = s
        .request("GET", "/apis", &[("Accept", accept)], None)
        .json();
    let names: Vec<&str> = apis["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "apiregistration.k8s.io",
            "apiextensions.k8s.io",
            "apps",
            "authentication.k8s.io",
            "authorization.k8s.io",
            "events.k8s.io",
            "rbac.authorization.k8s.io"
        ]
    );
    assert_eq!(
        apis["items"][1]["versions"][0]["resources"][0]["resource"],
        "customresourcedefinitions"
    );
    // The end of the chain.
    let nowhere = s.get("/apis/nowhere.example.com/v1/things");
    assert_eq!(nowhere.status, 404);
    assert_eq!(
        nowhere.json()["message"],
        "the server could not find the requested resource"
    );
    // OpenAPI: the index points at a document that names the kind and the fieldValidation parameter.
    let index = s.get("/openapi/v3").json();
    let url = index["paths"]["api/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap()
        .to_string();
    let doc = s.get(&url).json();
    let patch = &doc["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"];
    assert_eq!(
        patch["x-kubernetes-group-version-kind"]["kind"],
        "ConfigMap"
    );
    assert!(patch["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "fieldValidation"));
    // OpenAPI v2: one Swagger document, JSON only.
    let v2 = s.get("/openapi/v2");
    assert_eq!(v2.status, 200);
    assert_eq!(v2.header("content-type"), Some("application/json"));
    let v2 = v2.json();
    assert_eq!(v2["swagger"], "2.0");
    assert!(v2["definitions"]["io.k8s.api.core.v1.ConfigMap"].is_object());
    let protobuf_only = s.request(
        "GET",
        "/openapi/v2",
        &[(
            "Accept",
            "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
        )],
        None,
    );
    assert_eq!(protobuf_only.status, 406);
    let version = s.get("/version").json();
    assert_eq!(
        (version["major"].as_str(), version["minor"].as_str()),
        (Some("1"), Some("36"))
    );
    s.stop();
}

#[test]
fn crds_and_apiservices_are_validated() {
    let s = TestServer::start("crd", &[]);
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "widgets", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                               "schema": {"openAPIV3Schema": {"type": "object"}}}]}});
    let created = s.send_json(
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        &crd,
    );
    assert_eq!(created.status, 201, "{}", created.text());
    // The controllers, not the create, write the conditions (tests/crd.rs follows them).
    assert_eq!(created.json()["status"]["storedVersions"], json!(["v1"]));
    let mut bad = crd.clone();
    bad["metadata"]["name"] = json!("wrong.example.com");
    let refused = s.send_json(
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        &bad,
    );
    assert_eq!(refused.status, 422);
    assert_eq!(refused.json()["details"]["group"], "apiextensions.k8s.io");
    s.stop();
}

#[test]
fn secrets_fold_string_data_and_refuse_bad_base64() {
    let s = TestServer::start("secrets", &[]);
    let base = "/api/v1/namespaces/default/secrets";
    let created = s.send_json(
        "POST",
        base,
        &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s1"},
                "data": {"a": "b2xk"}, "stringData": {"a": "new", "b": "plain"}}),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let obj = created.json();
    assert_eq!(obj["type"], "Opaque");
    assert_eq!(obj["data"], json!({"a": "bmV3", "b": "cGxhaW4="}));
    assert!(obj.get("stringData").is_none());

    let bad = s.send_json(
        "POST",
        base,
        &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s2"},
                "data": {"a": "not base64!"}}),
    );
    assert_eq!(bad.status, 422, "{}", bad.text());
    assert_eq!(bad.json()["details"]["causes"][0]["field"], "data[a]");
    assert_eq!(s.get(&format!("{base}/s2")).status, 404);

    let mut retyped = obj.clone();
    retyped["type"] = json!("kubernetes.io/tls");
    let refused = s.send_json("PUT", &format!("{base}/s1"), &retyped);
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert_eq!(s.get(&format!("{base}/s1")).json()["type"], "Opaque");

    // `type` is a field a secret selector may name; a configmap has no such field.
    let names = |path: &str| s.names(path);
    assert_eq!(
        names(&format!("{base}?fieldSelector=type%3DOpaque")),
        ["s1"]
    );
    assert!(names(&format!("{base}?fieldSelector=type%3Dkubernetes.io%2Ftls")).is_empty());
    let refused = s.get("/api/v1/namespaces/default/configmaps?fieldSelector=type%3DOpaque");
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["message"], "field label not supported: type");
    let phases = s
        .get("/api/v1/namespaces?fieldSelector=status.phase%3DActive")
        .json();
    assert_eq!(phases["items"].as_array().unwrap().len(), 4);
    s.stop();
}

#[test]
fn finalizers_hold_a_deleted_object_until_the_last_is_removed() {
    let s = TestServer::start("finalizers", &[]);
    let base = "/api/v1/namespaces/default/configmaps";
    let mut obj = cm("held", json!({}));
    obj["metadata"]["finalizers"] = json!(["example.com/keep"]);
    assert_eq!(s.send_json("POST", base, &obj).status, 201);

    let deleted = s.request("DELETE", &format!("{base}/held"), &[], None);
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    assert!(deleted.json()["metadata"]["deletionTimestamp"].is_string());
    let still = s.get(&format!("{base}/held"));
    assert_eq!(still.status, 200);

    let merge = [("Content-Type", "application/merge-patch+json")];
    let added = s.request(
        "PATCH",
        &format!("{base}/held"),
        &merge,
        Some(br#"{"metadata":{"finalizers":["example.com/keep","example.com/more"]}}"#),
    );
    assert_eq!(added.status, 422, "{}", added.text());
    assert_eq!(
        added.json()["details"]["causes"][0]["field"],
        "metadata.finalizers"
    );
    assert_eq!(s.get(&format!("{base}/held")).json(), still.json());

    // An empty map in a patch leaves nothing behind, as Go's omitempty would (kubectl diff
    // sends `"annotations":{}`).
    let emptied = s.request(
        "PATCH",
        &format!("{base}/held?dryRun=All"),
        &[("Content-Type", "application/strategic-merge-patch+json")],
        Some(br#"{"metadata":{"annotations":{}}}"#),
    );
    assert_eq!(emptied.status, 200, "{}", emptied.text());
    assert!(emptied.json()["metadata"].get("annotations").is_none());

    let cleared = s.request(
        "PATCH",
        &format!("{base}/held"),
        &merge,
        Some(br#"{"metadata":{"finalizers":null}}"#),
    );
    assert_eq!(cleared.status, 200, "{}", cleared.text());
    assert_eq!(s.get(&format!("{base}/held")).status, 404);
    s.stop();
}

#[test]
fn every_namespace_gets_a_default_service_account() {
    let s = TestServer::start("default-sa", &[]);
    let appears = |ns: &str| {
        let path = format!("/api/v1/namespaces/{ns}/serviceaccounts/default");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while s.get(&path).status != 200 {
            assert!(
                std::time::Instant::now() < deadline,
                "no default account in {ns}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    appears("kube-system");
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fresh"}});
    assert_eq!(s.send_json("POST", "/api/v1/namespaces", &ns).status, 201);
    appears("fresh");
    s.stop();
}

fn pod(name: &str, containers: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
           "spec": {"containers": containers}})
}

fn deployment(name: &str, replicas: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
           "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}},
                                 "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
}

/// Every `null` in a JSON document, by path: Go's encoder never writes one for an absent
/// optional field, so a stored object must not have any.
fn nulls(v: &Value, at: &str) -> Vec<String> {
    match v {
        Value::Null => vec![at.to_string()],
        Value::Object(m) => m
            .iter()
            .flat_map(|(k, v)| nulls(v, &format!("{at}.{k}")))
            .collect(),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .flat_map(|(i, v)| nulls(v, &format!("{at}[{i}]")))
            .collect(),
        _ => vec![],
    }
}

fn fields(r: &common::ClientResponse) -> Vec<String> {
    r.json()["details"]["causes"]
        .as_array()
        .unwrap_or_else(|| panic!("no causes in {}", r.text()))
        .iter()
        .map(|c| c["field"].as_str().unwrap().to_string())
        .collect()
}

/// The Table's columns as (name, priority).
fn column_names(table: &Value) -> Vec<(&str, i64)> {
    table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["priority"].as_i64().unwrap()))
        .collect()
}

const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

#[test]
fn pods_are_defaulted_pending_and_fixed_but_for_images() {
    let s = TestServer::start("pods", &[]);
    let base = "/api/v1/namespaces/default/pods";
    let created = s.send_json(
        "POST",
        base,
        &pod(
            "web",
            json!([{"name": "nginx", "image": "nginx", "ports": [{"containerPort": 80}]},
                   {"name": "side", "image": "busybox:1.36",
                    "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}}}]),
        ),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let obj = created.json();
    assert_eq!(nulls(&obj, ""), Vec::<String>::new());
    let spec = &obj["spec"];
    assert_eq!(
        (
            &spec["restartPolicy"],
            &spec["dnsPolicy"],
            &spec["schedulerName"],
            &spec["terminationGracePeriodSeconds"],
            &spec["enableServiceLinks"],
            &spec["securityContext"],
        ),
        (
            &json!("Always"),
            &json!("ClusterFirst"),
            &json!("default-scheduler"),
            &json!(30),
            &json!(true),
            &json!({}),
        )
    );
    let nginx = &spec["containers"][0];
    assert_eq!(nginx["imagePullPolicy"], "Always", "untagged means latest");
    assert_eq!(nginx["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(nginx["terminationMessagePolicy"], "File");
    assert_eq!(nginx["resources"], json!({}));
    assert_eq!(
        nginx["ports"],
        json!([{"containerPort": 80, "protocol": "TCP"}])
    );
    let side = &spec["containers"][1];
    assert_eq!(side["imagePullPolicy"], "IfNotPresent");
    // A pod's requests default to its limits (`SetDefaults_Pod`), which makes it Guaranteed
    // only if every container has both; nginx has neither.
    assert_eq!(
        side["resources"]["requests"],
        json!({"cpu": "100m", "memory": "64Mi"})
    );
    assert_eq!(
        obj["status"],
        json!({"phase": "Pending", "qosClass": "Burstable"})
    );

    // Anything in the spec but an image is fixed once the pod exists.
    let mut changed = obj.clone();
    changed["spec"]["containers"][0]["env"] = json!([{"name": "A", "value": "1"}]);
    let refused = s.send_json("PUT", &format!("{base}/web"), &changed);
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert_eq!(fields(&refused), ["spec"]);
    assert!(refused.json()["message"].as_str().unwrap().starts_with(
        "Pod \"web\" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
    ));
    assert_eq!(s.get(&format!("{base}/web")).json(), obj, "nothing changed");

    // A new image is allowed; the status in the body is not the client's to write.
    let mut reimaged = obj.clone();
    reimaged["spec"]["containers"][0]["image"] = json!("nginx:1.27");
    reimaged["status"]["phase"] = json!("Running");
    let updated = s.send_json("PUT", &format!("{base}/web"), &reimaged);
    assert_eq!(updated.status, 200, "{}", updated.text());
    let updated = updated.json();
    assert_eq!(updated["spec"]["containers"][0]["image"], "nginx:1.27");
    assert_eq!(
        updated["spec"]["containers"][0]["imagePullPolicy"], "Always",
        "a default already set stays"
    );
    assert_eq!(updated["status"]["phase"], "Pending");

    // A pod's delete answers with the pod (`ReturnDeletedObject`), not a Status.
    let deleted = s.request("DELETE", &format!("{base}/web"), &[], None);
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    let deleted = deleted.json();
    assert_eq!(deleted["kind"], "Pod");
    assert_eq!(deleted["spec"]["containers"][0]["image"], "nginx:1.27");
    assert_eq!(s.get(&format!("{base}/web")).status, 404);
    s.stop();
}

#[test]
fn pod_specs_are_validated_field_by_field() {
    let s = TestServer::start("pod-validation", &[]);
    let base = "/api/v1/namespaces/default/pods";
    let before = s.get(base).json()["metadata"]["resourceVersion"].clone();
    let refused = |body: Value| {
        let r = s.send_json("POST", base, &body);
        assert_eq!(r.status, 422, "{}", r.text());
        assert_eq!(r.json()["reason"], "Invalid");
        r
    };
    let none = refused(pod("none", json!([])));
    assert_eq!(
        none.json()["message"],
        "Pod \"none\" is invalid: spec.containers: Required value"
    );
    assert_eq!(fields(&none), ["spec.containers"]);

    let twice = refused(pod(
        "twice",
        json!([{"name": "a", "image": "x"}, {"name": "a", "image": "y"}]),
    ));
    assert_eq!(fields(&twice), ["spec.containers[1].name"]);
    assert_eq!(
        twice.json()["details"]["causes"][0]["message"],
        "Duplicate value: \"a\""
    );

    let ports = refused(pod(
        "ports",
        json!([{"name": "a", "image": "x", "ports": [
            {"containerPort": 70000, "protocol": "XTP"},
            {"containerPort": 0, "hostPort": -1},
            {"containerPort": 80, "name": "http"},
            {"containerPort": 81, "name": "http"},
            {"containerPort": 82, "name": "Not_A_Port_Name!"}]}]),
    ));
    assert_eq!(
        fields(&ports),
        [
            "spec.containers[0].ports[0].containerPort",
            "spec.containers[0].ports[0].protocol",
            "spec.containers[0].ports[1].containerPort",
            "spec.containers[0].ports[1].hostPort",
            "spec.containers[0].ports[3].name",
            "spec.containers[0].ports[4].name",
            "spec.containers[0].ports[4].name",
        ]
    );
    let messages: Vec<String> = ports.json()["details"]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        messages,
        [
            "Invalid value: 70000: must be between 1 and 65535, inclusive",
            "Unsupported value: \"XTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
            "Required value",
            "Invalid value: -1: must be between 1 and 65535, inclusive",
            "Duplicate value: \"http\"",
            "Invalid value: \"Not_A_Port_Name!\": must be no more than 15 characters",
            "Invalid value: \"Not_A_Port_Name!\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
        ]
    );
    let policies = refused(json!({"metadata": {"name": "p"}, "spec": {
        "restartPolicy": "Sometimes",
        "containers": [{"name": "Bad", "image": " ", "imagePullPolicy": "Maybe"}]}}));
    assert_eq!(
        fields(&policies),
        [
            "spec.containers[0].name",
            "spec.containers[0].image",
            "spec.containers[0].imagePullPolicy",
            "spec.restartPolicy",
        ]
    );
    assert_eq!(
        s.get(base).json()["metadata"]["resourceVersion"],
        before,
        "nothing was written"
    );
    s.stop();
}

#[test]
fn pod_status_and_field_selectors() {
    let s = TestServer::start("pod-status", &[]);
    let base = "/api/v1/namespaces/default/pods";
    for name in ["a", "b"] {
        let r = s.send_json(
            "POST",
            base,
            &pod(name, json!([{"name": "c", "image": "x"}])),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    }
    // `/status` writes the status, and only the status: the spec in the patch is dropped.
    let merge = [("Content-Type", "application/merge-patch+json")];
    let ran = s.request(
        "PATCH",
        &format!("{base}/b/status"),
        &merge,
        Some(br#"{"status":{"phase":"Running","podIP":"10.0.0.7"},"spec":{"nodeName":"node-1"}}"#),
    );
    assert_eq!(ran.status, 200, "{}", ran.text());
    let ran = ran.json();
    assert_eq!(ran["kind"], "Pod");
    assert_eq!(ran["status"]["phase"], "Running");
    assert!(ran["spec"].get("nodeName").is_none(), "{ran}");
    assert_eq!(s.get(&format!("{base}/b/status")).json(), ran);

    let names = |q: &str| s.names(&format!("{base}?fieldSelector={q}"));
    assert_eq!(names("status.phase%3DPending"), ["a"]);
    assert_eq!(names("status.phase%3DRunning"), ["b"]);
    assert_eq!(names("status.podIP%3D10.0.0.7"), ["b"]);
    // Unscheduled pods, as a kubelet's informer would not see them.
    assert_eq!(names("spec.nodeName%3D"), ["a", "b"]);
    assert_eq!(names("spec.nodeName%21%3D"), Vec::<String>::new());
    assert_eq!(
        names("spec.restartPolicy%3DAlways,metadata.name%3Da"),
        ["a"]
    );
    let refused = s.get(&format!("{base}?fieldSelector=spec.containers%3Dx"));
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.json()["message"],
        "field label not supported: spec.containers"
    );

    let table = s.request("GET", base, &[("Accept", TABLE)], None).json();
    assert_eq!(
        column_names(&table),
        [
            ("Name", 0),
            ("Ready", 0),
            ("Status", 0),
            ("Restarts", 0),
            ("Age", 0),
            ("IP", 1),
            ("Node", 1),
            ("Nominated Node", 1),
            ("Readiness Gates", 1),
        ]
    );
    let cells = table["rows"][1]["cells"].as_array().unwrap();
    assert_eq!(
        cells[0..4],
        [json!("b"), json!("0/1"), json!("Running"), json!("0")]
    );
    assert_eq!(
        cells[5..],
        [
            json!("10.0.0.7"),
            json!("<none>"),
            json!("<none>"),
            json!("<none>")
        ]
    );
    s.stop();
}

#[test]
fn deployments_count_generations_and_keep_their_selector() {
    let s = TestServer::start("deployments", &[]);
    let base = "/apis/apps/v1/namespaces/default/deployments";
    let created = s.send_json("POST", base, &deployment("web", 2));
    assert_eq!(created.status, 201, "{}", created.text());
    let obj = created.json();
    assert_eq!(nulls(&obj, ""), Vec::<String>::new());
    assert_eq!(obj["metadata"]["generation"], 1);
    assert_eq!(obj["status"], json!({}));
    assert_eq!(
        obj["spec"]["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    );
    assert_eq!(
        (
            &obj["spec"]["revisionHistoryLimit"],
            &obj["spec"]["progressDeadlineSeconds"]
        ),
        (&json!(10), &json!(600))
    );
    let template = &obj["spec"]["template"]["spec"];
    assert_eq!(template["restartPolicy"], "Always");
    assert_eq!(template["containers"][0]["imagePullPolicy"], "IfNotPresent");

    let merge = [("Content-Type", "application/merge-patch+json")];
    let patch = |path: &str, body: &str| {
        s.request(
            "PATCH",
            &format!("{base}/{path}"),
            &merge,
            Some(body.as_bytes()),
        )
    };
    let generation = |r: common::ClientResponse| {
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["metadata"]["generation"].as_i64().unwrap()
    };
    // Labels are metadata only; annotations are copied to ReplicaSets, so they count as a
    // change the controller must act on, as a spec change does.
    assert_eq!(
        generation(patch("web", r#"{"metadata":{"labels":{"tier":"web"}}}"#)),
        1
    );
    assert_eq!(generation(patch("web", r#"{"spec":{"replicas":3}}"#)), 2);
    assert_eq!(
        generation(patch("web", r#"{"metadata":{"annotations":{"note":"x"}}}"#)),
        3
    );

    // The main resource ignores a status in the patch.
    let ignored = patch("web", r#"{"status":{"replicas":7}}"#);
    assert_eq!(ignored.status, 200, "{}", ignored.text());
    assert_eq!(ignored.json()["status"], json!({}));

    // A selector cannot change in apps/v1, and must select the template's pods.
    let moved = patch(
        "web",
        r#"{"spec":{"selector":{"matchLabels":{"app":"web","v":"2"}},"template":{"metadata":{"labels":{"v":"2"}}}}}"#,
    );
    assert_eq!(moved.status, 422, "{}", moved.text());
    assert_eq!(fields(&moved), ["spec.selector"]);
    assert!(moved.json()["message"]
        .as_str()
        .unwrap()
        .ends_with(": field is immutable"));
    let mut mismatched = deployment("db", 1);
    mismatched["spec"]["template"]["metadata"]["labels"] = json!({"app": "other"});
    let refused = s.send_json("POST", base, &mismatched);
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert_eq!(fields(&refused), ["spec.template.metadata.labels"]);
    assert_eq!(refused.json()["details"]["group"], "apps");
    assert!(refused.json()["message"]
        .as_str()
        .unwrap()
        .ends_with("spec.template.metadata.labels: Invalid value: {\"app\":\"other\"}: `selector` does not match template `labels`"));
    let mut negative = deployment("neg", -1);
    negative["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
    let refused = s.send_json("POST", base, &negative);
    assert_eq!(
        fields(&refused),
        ["spec.replicas", "spec.template.spec.restartPolicy"]
    );
    // Recreate replaces every pod at once: rolling-update parameters make no sense with it.
    let recreate = patch("web", r#"{"spec":{"strategy":{"type":"Recreate"}}}"#);
    assert_eq!(recreate.status, 422, "{}", recreate.text());
    assert_eq!(fields(&recreate), ["spec.strategy.rollingUpdate"]);
    let recreate = patch(
        "web",
        r#"{"spec":{"strategy":{"type":"Recreate","rollingUpdate":null}}}"#,
    );
    assert_eq!(recreate.status, 200, "{}", recreate.text());
    assert_eq!(
        recreate.json()["spec"]["strategy"],
        json!({"type": "Recreate"})
    );

    // `/status` changes the status alone, and leaves the generation.
    let mut status = s.get(&format!("{base}/web")).json();
    status["status"] = json!({"replicas": 3, "readyReplicas": 1, "observedGeneration": 4});
    status["spec"]["replicas"] = json!(9);
    let written = s.send_json("PUT", &format!("{base}/web/status"), &status);
    assert_eq!(written.status, 200, "{}", written.text());
    let written = written.json();
    assert_eq!(written["spec"]["replicas"], 3);
    assert_eq!(written["status"]["readyReplicas"], 1);
    assert_eq!(written["metadata"]["generation"], 4);

    let table = s.request("GET", base, &[("Accept", TABLE)], None).json();
    assert_eq!(
        column_names(&table),
        [
            ("Name", 0),
            ("Ready", 0),
            ("Up-to-date", 0),
            ("Available", 0),
            ("Age", 0),
            ("Containers", 1),
            ("Images", 1),
            ("Selector", 1),
        ]
    );
    let cells = table["rows"][0]["cells"].as_array().unwrap();
    assert_eq!(
        cells[0..4],
        [json!("web"), json!("1/3"), json!(0), json!(0)]
    );
    assert_eq!(
        cells[5..],
        [json!("web"), json!("nginx:1.27"), json!("app=web")]
    );
    s.stop();
}

#[test]
fn deployment_scale_is_an_autoscaling_v1_view() {
    let s = TestServer::start("scale", &[]);
    let base = "/apis/apps/v1/namespaces/default/deployments";
    let mut d = deployment("web", 2);
    d["spec"]["selector"]["matchExpressions"] =
        json!([{"key": "tier", "operator": "In", "values": ["a", "b"]}]);
    d["spec"]["template"]["metadata"]["labels"]["tier"] = json!("a");
    let created = s.send_json("POST", base, &d).json();
    let scale = s.get(&format!("{base}/web/scale"));
    assert_eq!(scale.status, 200, "{}", scale.text());
    let protobuf_only = s.request(
        "GET",
        &format!("{base}/web/scale"),
        &[("Accept", "application/vnd.kubernetes.protobuf")],
        None,
    );
    assert_eq!(protobuf_only.status, 406, "{}", protobuf_only.text());
    let scale = scale.json();
    assert_eq!(
        (scale["apiVersion"].as_str(), scale["kind"].as_str()),
        (Some("autoscaling/v1"), Some("Scale"))
    );
    assert_eq!(scale["metadata"]["uid"], created["metadata"]["uid"]);
    assert_eq!(
        scale["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );
    assert_eq!(scale["spec"], json!({"replicas": 2}));
    assert_eq!(
        scale["status"],
        json!({"replicas": 0, "selector": "app=web,tier in (a,b)"})
    );

    let mut put = scale.clone();
    put["spec"]["replicas"] = json!(5);
    let scaled = s.send_json("PUT", &format!("{base}/web/scale"), &put);
    assert_eq!(scaled.status, 200, "{}", scaled.text());
    assert_eq!(scaled.json()["spec"]["replicas"], 5);
    // The Scale was read at a version the deployment has since left: a conflict.
    let stale = s.send_json("PUT", &format!("{base}/web/scale"), &put);
    assert_eq!(stale.status, 409, "{}", stale.text());

    for (content_type, replicas) in [
        ("application/merge-patch+json", 4),
        ("application/strategic-merge-patch+json", 6),
    ] {
        let body = format!(r#"{{"spec":{{"replicas":{replicas}}}}}"#);
        let r = s.request(
            "PATCH",
            &format!("{base}/web/scale"),
            &[("Content-Type", content_type)],
            Some(body.as_bytes()),
        );
        assert_eq!(r.status, 200, "{content_type}: {}", r.text());
        assert_eq!(r.json()["spec"]["replicas"], replicas);
    }
    let d = s.get(&format!("{base}/web")).json();
    assert_eq!(d["spec"]["replicas"], 6);
    assert_eq!(
        d["metadata"]["generation"], 4,
        "each scale is a spec change"
    );

    let negative = s.request(
        "PATCH",
        &format!("{base}/web/scale"),
        &[("Content-Type", "application/merge-patch+json")],
        Some(br#"{"spec":{"replicas":-1}}"#),
    );
    assert_eq!(negative.status, 422, "{}", negative.text());
    assert_eq!(negative.json()["details"]["kind"], "Scale");
    assert_eq!(fields(&negative), ["spec.replicas"]);
    assert!(negative.json()["message"]
        .as_str()
        .unwrap()
        .ends_with("spec.replicas: Invalid value: -1: must be greater than or equal to 0"));
    assert_eq!(s.get(&format!("{base}/web")).json(), d, "nothing changed");

    assert_eq!(s.get(&format!("{base}/nope/scale")).status, 404);
    assert_eq!(
        s.get("/api/v1/namespaces/default/configmaps/x/scale")
            .status,
        404
    );
    s.stop();
}

#[test]
fn discovery_names_the_subresources() {
    let s = TestServer::start("discovery-subresources", &[]);
    let find = |path: &str, name: &str| -> Value {
        s.get(path).json()["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} not in {path}"))
            .clone()
    };
    let pods = find("/api/v1", "pods");
    assert_eq!(
        (&pods["shortNames"], &pods["categories"]),
        (&json!(["po"]), &json!(["all"]))
    );
    let status = find("/api/v1", "pods/status");
    assert_eq!(
        (&status["kind"], &status["verbs"]),
        (&json!("Pod"), &json!(["get", "patch", "update"]))
    );
    let scale = find("/apis/apps/v1", "deployments/scale");
    assert_eq!(
        (&scale["group"], &scale["version"], &scale["kind"]),
        (&json!("autoscaling"), &json!("v1"), &json!("Scale"))
    );
    assert_eq!(
        find("/apis/apps/v1", "deployments/status")["kind"],
        "Deployment"
    );
    let accept =
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
    let apis = s
        .request("GET", "/apis", &[("Accept", accept)], None)
        .json();
    let apps = apis["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["metadata"]["name"] == "apps")
        .unwrap();
    let subresources: Vec<(&str, &Value)> = apps["versions"][0]["resources"][0]["subresources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["subresource"].as_str().unwrap(), &r["responseKind"]))
        .collect();
    assert_eq!(
        subresources,
        [
            (
                "scale",
                &json!({"group": "autoscaling", "version": "v1", "kind": "Scale"})
            ),
            (
                "status",
                &json!({"group": "", "version": "", "kind": "Deployment"})
            )
        ]
    );
    s.stop();
}
