//! YAML over the wire: a create, an update and a server-side apply sent as YAML, objects and
//! lists read back with `Accept: application/yaml`, and the 400s and 406s around them.

mod common;

use common::TestServer;
use serde_json::json;

const CM: &str = "/api/v1/namespaces/default/configmaps";

fn yaml_of(s: &TestServer, path: &str) -> (u16, String, Option<String>) {
    let r = s.request("GET", path, &[("Accept", "application/yaml")], None);
    let ct = r.header("content-type").map(str::to_string);
    (r.status, r.text(), ct)
}

#[test]
fn a_configmap_created_updated_and_applied_in_yaml_reads_back_in_yaml() {
    let s = TestServer::start("yaml-wire", &[]);
    let created = s.request(
        "POST",
        CM,
        &[("Content-Type", "application/yaml")],
        Some(b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  labels: {app: web}\ndata:\n  enabled: \"yes\"\n  script: |\n    echo one\n    echo two\n"),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let obj = created.json();
    assert_eq!(
        obj["data"],
        json!({"enabled": "yes", "script": "echo one\necho two\n"})
    );

    let (status, text, ct) = yaml_of(&s, &format!("{CM}/web"));
    assert_eq!(status, 200);
    assert_eq!(ct.as_deref(), Some("application/yaml"));
    assert!(text.starts_with("apiVersion: v1\ndata:\n  enabled: \"yes\"\n  script: |\n    echo one\n    echo two\nkind: ConfigMap\nmetadata:\n"), "{text}");
    assert!(text.contains("\n  creationTimestamp: \""), "{text}");

    // An update with the YAML just read, changed, and then a server-side apply in YAML.
    let put = text.replace("echo two", "echo three");
    let updated = s.request(
        "PUT",
        &format!("{CM}/web"),
        &[("Content-Type", "application/yaml")],
        Some(put.as_bytes()),
    );
    assert_eq!(updated.status, 200, "{}", updated.text());
    assert_eq!(updated.json()["data"]["script"], "echo one\necho three\n");
    let apply = |body: &str| {
        s.request(
            "PATCH",
            &format!("{CM}/web?fieldManager=tester&force=true"),
            &[("Content-Type", "application/apply-patch+yaml")],
            Some(
                format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n{body}")
                    .as_bytes(),
            ),
        )
    };
    // YAML 1.1, as go-yaml v2 reads it: a plain `on` is a boolean, which data cannot hold.
    let refused = apply("  added: on\n");
    assert_eq!(refused.status, 400);
    assert!(refused.json()["message"]
        .as_str()
        .unwrap()
        .contains("cannot unmarshal bool"));
    let applied = apply("  added: 'on'\n  replicas: '3'\n");
    assert_eq!(applied.status, 200, "{}", applied.text());
    assert_eq!(applied.json()["data"]["added"], "on");
    assert_eq!(applied.json()["data"]["replicas"], "3");
    let applied = s.request(
        "PATCH",
        &format!("{CM}/fresh?fieldManager=tester"),
        &[("Content-Type", "application/apply-patch+yaml")],
        Some(b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fresh\ndata: {a: b}\n"),
    );
    assert_eq!(applied.status, 201, "{}", applied.text());

    let (status, list, _) = yaml_of(&s, CM);
    assert_eq!(status, 200);
    assert!(
        list.starts_with("apiVersion: v1\nitems:\n- apiVersion: v1\n"),
        "{list}"
    );
    assert!(list.contains("kind: ConfigMapList\n"), "{list}");
    s.stop();
}

#[test]
fn bad_yaml_is_a_400_and_a_yaml_watch_a_406() {
    let s = TestServer::start("yaml-errors", &[]);
    // Nested by indentation, past the 128 levels a JSON body may have: no brackets to count.
    let deep: String = (0..200)
        .map(|i| format!("{}a:\n", " ".repeat(i)))
        .collect::<String>()
        + &" ".repeat(200)
        + "a: 1\n";
    for body in [
        &b"metadata:\n  name: &a x\n"[..],
        b"metadata: {name: x\n",
        b"metadata:\n\tname: x\n",
        b"a: 1\n---\nb: 2\n",
        deep.as_bytes(),
    ] {
        let r = s.request(
            "POST",
            CM,
            &[("Content-Type", "application/yaml")],
            Some(body),
        );
        assert_eq!(r.status, 400, "{}", r.text());
        let status = r.json();
        assert_eq!(status["kind"], "Status");
        assert_eq!(status["reason"], "BadRequest");
        let message = status["message"].as_str().unwrap();
        assert!(
            message.starts_with(
                "the object provided is unrecognized (must be of type ConfigMap): yaml: line "
            ),
            "{message}"
        );
    }
    let apply = s.request(
        "PATCH",
        &format!("{CM}/x?fieldManager=t"),
        &[("Content-Type", "application/apply-patch+yaml")],
        Some(b"data: *alias\n"),
    );
    assert_eq!(apply.status, 400);
    assert!(apply.json()["message"]
        .as_str()
        .unwrap()
        .starts_with("error decoding YAML: yaml: line 1 column 7: aliases"));
    assert!(s.names(CM).is_empty());

    let watch = s.request(
        "GET",
        &format!("{CM}?watch=true"),
        &[("Accept", "application/yaml")],
        None,
    );
    assert_eq!(watch.status, 406);
    assert!(watch.json()["message"]
        .as_str()
        .unwrap()
        .contains("application/yaml"));
    s.stop();
}
