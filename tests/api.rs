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

    let yaml = s.request(
        "POST",
        base,
        &[("Content-Type", "application/yaml")],
        Some(b"a: b"),
    );
    assert_eq!(yaml.status, 415);

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
    assert!(strict.json()["message"]
        .as_str()
        .unwrap()
        .contains("unknown field \"spec\""));

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
    let deleted = s.request("DELETE", "/api/v1/namespaces/demo", &[], None);
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.json()["status"]["phase"], "Terminating");
    assert_eq!(s.get("/api/v1/namespaces/demo").status, 404);
    assert_eq!(s.get("/api/v1/namespaces/demo/configmaps/a").status, 404);
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
            "events.k8s.io"
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
            "v1.events.k8s.io"
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
            "events.k8s.io"
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
                 "versions": [{"name": "v1", "served": true, "storage": true}]}});
    let created = s.send_json(
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        &crd,
    );
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(
        created.json()["status"]["conditions"][1]["type"],
        "Established"
    );
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
