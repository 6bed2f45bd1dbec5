//! End to end with the real kubectl: a CRD's structural schema prunes, defaults and validates
//! the objects kubectl sends, and `kubectl explain` reads the schema back.

mod common;

use common::TestServer;
use serde_json::{json, Value};

fn ok(s: &TestServer, args: &[&str]) -> String {
    let (success, text) = s.kubectl(args);
    assert!(success, "kubectl {args:?} failed:\n{text}");
    text
}

fn write(s: &TestServer, name: &str, obj: &Value) -> String {
    let path = s.dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(obj).unwrap()).unwrap();
    path.display().to_string()
}

fn crontab(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "stable.example.com/v1", "kind": "CronTab",
           "metadata": {"name": name, "namespace": "default"}, "spec": spec})
}

#[test]
fn kubectl_meets_a_structural_schema() {
    let s = TestServer::start("e2e-crd-schema", &[]);
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "crontabs.stable.example.com"},
        "spec": {"group": "stable.example.com", "scope": "Namespaced",
                 "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab", "shortNames": ["ct"]},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                   "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                     "spec": {"type": "object", "description": "What the CronTab should do.",
                              "required": ["cronSpec"], "properties": {
                       "cronSpec": {"type": "string", "description": "When to run, in cron syntax.",
                                    "pattern": "^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$"},
                       "image": {"type": "string", "description": "The image to run."},
                       "replicas": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1,
                                    "description": "How many to run."}}}}}}}]}
    });
    let crd_file = write(&s, "crd.json", &crd);
    ok(&s, &["apply", "-f", &crd_file]);
    ok(
        &s,
        &[
            "wait",
            "--for",
            "condition=established",
            "--timeout=20s",
            "crd/crontabs.stable.example.com",
        ],
    );

    // An invalid object: kubectl prints kube's message with each field path.
    let bad = write(
        &s,
        "bad.json",
        &crontab("bad", json!({"cronSpec": "sometimes", "replicas": 11})),
    );
    let (success, text) = s.kubectl(&["apply", "-f", &bad]);
    assert!(!success, "{text}");
    assert!(text.contains("The CronTab \"bad\" is invalid: "), "{text}");
    assert!(
        text.contains("spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10"),
        "{text}"
    );
    assert!(
        text.contains(
            "spec.cronSpec: Invalid value: \"sometimes\": spec.cronSpec in body should match"
        ),
        "{text}"
    );

    // Unknown fields: refused under kubectl's default strict validation, pruned without it.
    let extra = write(
        &s,
        "extra.json",
        &crontab(
            "extra",
            json!({"cronSpec": "* * * * */5", "image": "img", "foo": "bar"}),
        ),
    );
    let (success, text) = s.kubectl(&["create", "-f", &extra]);
    assert!(!success, "{text}");
    assert!(text.contains("unknown field \"spec.foo\""), "{text}");
    let text = ok(&s, &["create", "--validate=warn", "-f", &extra]);
    assert!(
        text.contains("Warning: unknown field \"spec.foo\""),
        "{text}"
    );

    // The stored object: pruned, and defaulted.
    let got: Value = serde_json::from_str(&ok(&s, &["get", "ct", "extra", "-o", "json"])).unwrap();
    assert_eq!(
        got["spec"],
        json!({"cronSpec": "* * * * */5", "image": "img", "replicas": 1})
    );

    // explain reads the OpenAPI v3 document built from the schema.
    let text = ok(&s, &["explain", "crontab.spec"]);
    assert!(text.contains("KIND:       CronTab"), "{text}");
    assert!(text.contains("What the CronTab should do."), "{text}");
    assert!(text.contains("cronSpec\t<string> -required-"), "{text}");
    assert!(text.contains("When to run, in cron syntax."), "{text}");
    assert!(text.contains("replicas\t<integer>"), "{text}");
    let text = ok(&s, &["explain", "crontab.spec.replicas"]);
    assert!(text.contains("How many to run."), "{text}");
    s.stop();
}
