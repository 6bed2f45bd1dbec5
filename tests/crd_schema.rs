//! Structural schemas over the wire: a non-structural CRD refused, custom objects pruned (with
//! `fieldValidation`), defaulted and validated with kube's field paths, and the OpenAPI v3
//! document `kubectl explain` reads.

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use serde_json::{json, Value};

const CRONTABS: &str = "/apis/stable.example.com/v1/namespaces/default/crontabs";

fn crd(schema: Value) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "crontabs.stable.example.com"},
        "spec": {"group": "stable.example.com", "scope": "Namespaced",
                 "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab", "shortNames": ["ct"]},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                               "schema": {"openAPIV3Schema": schema}}]}
    })
}

fn crontab_schema() -> Value {
    json!({"type": "object", "properties": {
        "spec": {"type": "object", "description": "What the CronTab should do.",
                 "required": ["cronSpec"], "properties": {
            "cronSpec": {"type": "string", "description": "When to run.",
                         "pattern": "^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$"},
            "image": {"type": "string", "minLength": 1},
            "replicas": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1},
            "mode": {"type": "string", "enum": ["Fast", "Slow"], "default": "Fast"},
            "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
        }},
        "status": {"type": "object", "properties": {"replicas": {"type": "integer"}}},
    }})
}

fn crontab(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "stable.example.com/v1", "kind": "CronTab",
           "metadata": {"name": name}, "spec": spec})
}

/// Creates the CronTab CRD and waits until its objects are served.
fn serve_crontabs(server: &TestServer) {
    let created = server.send_json(
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        &crd(crontab_schema()),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.get(CRONTABS).status != 200 {
        assert!(Instant::now() < deadline, "crontabs never served");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn fields(status: &Value) -> Vec<(String, String)> {
    status["details"]["causes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["field"].as_str().unwrap_or("").to_string(),
                c["message"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn non_structural_schemas_are_refused_on_create_and_update() {
    let server = TestServer::start("crd-schema-refused", &[]);
    let bad = crd(json!({"type": "object", "properties": {
        "spec": {"properties": {"replicas": {"type": "integer"}}},
        "list": {"type": "array", "uniqueItems": true, "items": {"type": "string"}}}}));
    let resp = server.send_json(
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        &bad,
    );
    assert_eq!(resp.status, 422, "{}", resp.text());
    let status = resp.json();
    assert_eq!(status["reason"], "Invalid");
    let causes = fields(&status);
    let root = "spec.versions[0].schema.openAPIV3Schema";
    assert!(causes.contains(&(
        format!("{root}.properties[spec].type"),
        "Required value: must not be empty for specified object fields".into()
    )));
    assert!(causes.contains(&(
        format!("{root}.properties[list].uniqueItems"),
        "Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic".into()
    )));
    assert!(status["message"]
        .as_str()
        .unwrap()
        .starts_with("CustomResourceDefinition.apiextensions.k8s.io \"crontabs.stable.example.com\" is invalid: ["));
    // Nothing was stored.
    assert_eq!(
        server
            .get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/crontabs.stable.example.com")
            .status,
        404
    );

    // A default must pass the checks of its own schema.
    let resp = server.send_json(
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        &crd(
            json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "replicas": {"type": "integer", "minimum": 1, "default": 0}}}}}),
        ),
    );
    assert_eq!(resp.status, 422, "{}", resp.text());
    assert_eq!(
        fields(&resp.json()),
        [(
            format!("{root}.properties[spec].properties[replicas].default"),
            "Invalid value: 0:  in body should be greater than or equal to 1".into()
        )]
    );

    serve_crontabs(&server);
    let path =
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/crontabs.stable.example.com";
    let mut stored = server.get(path).json();
    stored["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        ["properties"]["image"] = json!({"pattern": "^[a-z]+$"});
    let resp = server.send_json("PUT", path, &stored);
    assert_eq!(resp.status, 422, "{}", resp.text());
    assert_eq!(
        fields(&resp.json()),
        [(
            format!("{root}.properties[spec].properties[image].type"),
            "Required value: must not be empty for specified object fields".into()
        )]
    );
    server.stop();
}

#[test]
fn objects_are_pruned_defaulted_and_validated() {
    let server = TestServer::start("crd-schema-objects", &[]);
    serve_crontabs(&server);

    // Defaults fill what is absent; unknown fields go, except under preserve-unknown-fields.
    let resp = server.send_json(
        "POST",
        CRONTABS,
        &crontab(
            "ok",
            json!({"cronSpec": "* * * * */5", "image": "img", "foo": "bar",
                   "extra": {"anything": {"deep": true}}}),
        ),
    );
    assert_eq!(resp.status, 201, "{}", resp.text());
    let obj = server.get(&format!("{CRONTABS}/ok")).json();
    assert_eq!(
        obj["spec"],
        json!({"cronSpec": "* * * * */5", "image": "img", "replicas": 1, "mode": "Fast",
               "extra": {"anything": {"deep": true}}})
    );

    // Invalid values: a 422 whose causes name each field, as kube's.
    let resp = server.send_json(
        "POST",
        CRONTABS,
        &crontab(
            "bad",
            json!({"cronSpec": "often", "image": "", "replicas": 11, "mode": "Medium"}),
        ),
    );
    assert_eq!(resp.status, 422, "{}", resp.text());
    let status = resp.json();
    assert_eq!(status["details"]["kind"], "CronTab");
    assert_eq!(status["details"]["group"], "stable.example.com");
    let causes = fields(&status);
    for want in [
        ("spec.cronSpec", "Invalid value: \"often\": spec.cronSpec in body should match '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'"),
        ("spec.image", "Invalid value: \"\": spec.image in body should be at least 1 chars long"),
        ("spec.replicas", "Invalid value: 11: spec.replicas in body should be less than or equal to 10"),
        ("spec.mode", "Unsupported value: \"Medium\": supported values: \"Fast\", \"Slow\""),
    ] {
        assert!(
            causes.contains(&(want.0.into(), want.1.into())),
            "{want:?} not in {causes:?}"
        );
    }
    assert!(status["message"]
        .as_str()
        .unwrap()
        .starts_with("CronTab.stable.example.com \"bad\" is invalid: ["));
    assert_eq!(server.get(&format!("{CRONTABS}/bad")).status, 404);

    // A null where the schema allows none counts as absent: the default replaces it.
    let resp = server.send_json(
        "POST",
        CRONTABS,
        &crontab("nulls", json!({"cronSpec": "* * * * *", "replicas": null})),
    );
    assert_eq!(resp.status, 201, "{}", resp.text());
    assert_eq!(resp.json()["spec"]["replicas"], 1);

    // Required fields and types.
    let resp = server.send_json(
        "POST",
        CRONTABS,
        &crontab("empty", json!({"replicas": "3"})),
    );
    assert_eq!(resp.status, 422);
    let causes = fields(&resp.json());
    assert!(causes.contains(&("spec.cronSpec".into(), "Required value".into())));
    assert!(causes.contains(&(
        "spec.replicas".into(),
        "Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\""
            .into()
    )));

    // A patch is validated as the object it makes.
    let resp = server.request(
        "PATCH",
        &format!("{CRONTABS}/ok"),
        &[("Content-Type", "application/merge-patch+json")],
        Some(br#"{"spec": {"replicas": 0}}"#),
    );
    assert_eq!(resp.status, 422, "{}", resp.text());
    assert_eq!(
        fields(&resp.json()),
        [(
            "spec.replicas".to_string(),
            "Invalid value: 0: spec.replicas in body should be greater than or equal to 1"
                .to_string()
        )]
    );
    server.stop();
}

#[test]
fn field_validation_sees_pruned_fields() {
    let server = TestServer::start("crd-schema-fieldvalidation", &[]);
    serve_crontabs(&server);
    let body = crontab(
        "x",
        json!({"cronSpec": "* * * * *", "foo": 1, "bar": {"baz": 2}}),
    );

    let strict = server.send_json("POST", &format!("{CRONTABS}?fieldValidation=Strict"), &body);
    assert_eq!(strict.status, 400, "{}", strict.text());
    assert_eq!(
        strict.json()["message"],
        "CronTab in version \"v1\" cannot be handled as a CronTab: strict decoding error: unknown field \"spec.bar\", unknown field \"spec.foo\""
    );
    assert_eq!(server.get(&format!("{CRONTABS}/x")).status, 404);

    let warn = server.send_json("POST", &format!("{CRONTABS}?fieldValidation=Warn"), &body);
    assert_eq!(warn.status, 201, "{}", warn.text());
    let warnings: Vec<&str> = warn
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("warning"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(
        warnings,
        [
            "299 - \"unknown field \\\"spec.bar\\\"\"",
            "299 - \"unknown field \\\"spec.foo\\\"\""
        ]
    );
    assert!(warn.json()["spec"].get("foo").is_none());
    server.stop();
}

#[test]
fn openapi_v3_publishes_the_kind_from_its_schema() {
    let server = TestServer::start("crd-schema-openapi", &[]);
    serve_crontabs(&server);
    let index = server.get("/openapi/v3").json();
    let url = index["paths"]["apis/stable.example.com/v1"]["serverRelativeURL"]
        .as_str()
        .expect("the CRD group/version is listed")
        .to_string();
    assert!(
        index["paths"]["api/v1"].is_object(),
        "built-in documents stay"
    );
    let doc = server.get(&url);
    assert_eq!(doc.status, 200, "{}", doc.text());
    let doc = doc.json();
    let kind = &doc["components"]["schemas"]["com.example.stable.v1.CronTab"];
    assert_eq!(
        kind["x-kubernetes-group-version-kind"],
        json!([{"group": "stable.example.com", "version": "v1", "kind": "CronTab"}])
    );
    assert_eq!(
        kind["properties"]["spec"]["description"],
        "What the CronTab should do."
    );
    assert_eq!(kind["properties"]["spec"]["required"], json!(["cronSpec"]));
    assert_eq!(
        kind["properties"]["metadata"]["allOf"][0]["$ref"],
        "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
    assert!(
        doc["components"]["schemas"]["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"].is_object()
    );
    assert!(
        doc["paths"][format!("{}/{{name}}", CRONTABS.replace("default", "{namespace}"))]
            .is_object()
    );
    server.stop();
}

#[test]
fn a_stricter_schema_ratchets_on_update() {
    let server = TestServer::start("crd-schema-ratchet", &[]);
    serve_crontabs(&server);
    let resp = server.send_json(
        "POST",
        CRONTABS,
        &crontab(
            "old",
            json!({"cronSpec": "* * * * *", "image": "a-long-image-name"}),
        ),
    );
    assert_eq!(resp.status, 201, "{}", resp.text());

    // The schema gets stricter: images of at most 5 characters.
    let path =
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/crontabs.stable.example.com";
    let mut stored = server.get(path).json();
    stored["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        ["properties"]["image"]["maxLength"] = json!(5);
    let resp = server.send_json("PUT", path, &stored);
    assert_eq!(resp.status, 200, "{}", resp.text());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let resp = server.send_json(
            "POST",
            CRONTABS,
            &crontab(
                "probe",
                json!({"cronSpec": "* * * * *", "image": "too-long"}),
            ),
        );
        if resp.status == 422 {
            break;
        }
        assert!(Instant::now() < deadline, "the new schema never applied");
        server.request("DELETE", &format!("{CRONTABS}/probe"), &[], None);
        std::thread::sleep(Duration::from_millis(20));
    }

    // The old object may still change elsewhere; its image may not change to another bad one.
    let patch = |body: &str| {
        server.request(
            "PATCH",
            &format!("{CRONTABS}/old"),
            &[("Content-Type", "application/merge-patch+json")],
            Some(body.as_bytes()),
        )
    };
    let resp = patch(r#"{"spec": {"replicas": 3}}"#);
    assert_eq!(resp.status, 200, "{}", resp.text());
    let resp = patch(r#"{"spec": {"image": "another-long-name"}}"#);
    assert_eq!(resp.status, 422, "{}", resp.text());
    assert_eq!(
        fields(&resp.json()),
        [(
            "spec.image".to_string(),
            "Too long: may not be longer than 5".to_string()
        )]
    );
    server.stop();
}

#[test]
fn a_deep_schema_is_served() {
    // Far deeper than real CRDs nest (a pod template's affinity terms are about 12 levels): the
    // CRD's own body is then about 120 JSON levels deep, near serde_json's limit of 128.
    const DEPTH: usize = 55;
    let server = TestServer::start("crd-schema-deep", &[]);
    let mut schema = json!({"type": "integer", "maximum": 1});
    let mut good = json!(1);
    let mut bad = json!(2);
    for _ in 0..DEPTH {
        schema = json!({"type": "object", "properties": {"a": schema}});
        good = json!({ "a": good });
        bad = json!({ "a": bad });
    }
    let mut definition = crd(json!({"type": "object", "properties": {"spec": schema}}));
    definition["spec"]["names"]["shortNames"] = json!([]);
    let created = server.send_json(
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        &definition,
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.get(CRONTABS).status != 200 {
        assert!(Instant::now() < deadline, "crontabs never served");
        std::thread::sleep(Duration::from_millis(20));
    }
    let resp = server.send_json("POST", CRONTABS, &crontab("good", good));
    assert_eq!(resp.status, 201, "{}", resp.text());
    let resp = server.send_json("POST", CRONTABS, &crontab("bad", bad));
    assert_eq!(resp.status, 422, "{}", resp.text());
    let field = format!("spec{}", ".a".repeat(DEPTH));
    assert_eq!(fields(&resp.json())[0].0, field);
    assert_eq!(
        server.get("/openapi/v3/apis/stable.example.com/v1").status,
        200
    );
    server.stop();
}

#[test]
fn a_body_as_deep_as_json_allows_is_served_and_a_deeper_one_refused() {
    // Every step of a request recurses once per level (decoding, pruning, managed fields, merge
    // patches, encoding a watch event): the connection's stack must hold the deepest body the
    // JSON decoder accepts, and a deeper one is a 400, never a dead connection.
    let server = TestServer::start("crd-schema-deep-body", &[]);
    serve_crontabs(&server);
    let nested = |depth: usize| {
        let mut v = json!("leaf");
        for _ in 0..depth {
            v = json!({ "a": v });
        }
        v
    };
    let mut watch = common::open_watch(
        &server,
        &format!("{CRONTABS}?watch=true"),
        "application/json",
    );
    // apiVersion/kind/metadata, spec, extra: the object is DEPTH + 3 levels deep.
    const DEPTH: usize = 122;
    let deep = crontab(
        "deep",
        json!({"cronSpec": "* * * * *", "extra": nested(DEPTH)}),
    );
    let created = server.send_json("POST", CRONTABS, &deep);
    assert_eq!(created.status, 201, "{}", created.text());
    let event = watch().expect("the watch sees the deep object");
    assert_eq!(event["object"]["spec"]["extra"], nested(DEPTH));
    let got = server.get(&format!("{CRONTABS}/deep"));
    assert_eq!(got.json()["spec"]["extra"], nested(DEPTH));
    let patch = json!({"spec": {"extra": nested(DEPTH - 1)}});
    let patched = server.request(
        "PATCH",
        &format!("{CRONTABS}/deep"),
        &[("Content-Type", "application/merge-patch+json")],
        Some(patch.to_string().as_bytes()),
    );
    assert_eq!(patched.status, 200, "{}", patched.text());
    let too_deep = crontab(
        "too-deep",
        json!({"cronSpec": "* * * * *", "extra": nested(140)}),
    );
    let refused = server.send_json("POST", CRONTABS, &too_deep);
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert_eq!(server.get(&format!("{CRONTABS}/too-deep")).status, 404);
    server.stop();
}
