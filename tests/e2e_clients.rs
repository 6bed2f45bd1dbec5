//! End to end with the real clients: kubectl v1.37 and the official Python client, installed by
//! `.ci/test-all` into `target/e2e-venv` (or named by `KUBECTL` and `PYTHON`).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TestServer;
use serde_json::json;

fn kubectl(s: &TestServer, args: &[&str]) -> (bool, String) {
    s.kubectl(args)
}

fn ok(s: &TestServer, args: &[&str]) -> String {
    let (success, text) = kubectl(s, args);
    assert!(success, "kubectl {args:?} failed:\n{text}");
    text
}

/// Runs a Python client script against the server, with the kubeconfig as its argument; it must
/// succeed and print `done`.
fn python(s: &TestServer, script: &str, done: &str) {
    let out = Command::new(common::tool("PYTHON", "python3"))
        .args(["-c", script, s.kubeconfig.to_str().unwrap()])
        .output()
        .expect("python runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && text.contains(done), "{text}");
}

#[test]
fn kubectl_everyday_commands() {
    let s = TestServer::start("kubectl", &[]);
    assert!(ok(&s, &["version"]).contains("Server Version: v1.36.0"));
    let ns = ok(&s, &["get", "ns"]);
    for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert!(ns.contains(name), "{ns}");
    }
    // The typed commands send protobuf.
    assert!(ok(&s, &["create", "namespace", "demo"]).contains("namespace/demo created"));
    let created = ok(
        &s,
        &[
            "create",
            "configmap",
            "cm1",
            "-n",
            "demo",
            "--from-literal=a=b",
        ],
    );
    assert!(created.contains("configmap/cm1 created"), "{created}");
    let (success, text) = kubectl(
        &s,
        &[
            "create",
            "configmap",
            "cm1",
            "-n",
            "demo",
            "--from-literal=a=b",
        ],
    );
    assert!(
        !success
            && text
                .contains("error: failed to create configmap: configmaps \"cm1\" already exists"),
        "{text}"
    );
    assert_eq!(
        ok(
            &s,
            &["get", "cm", "cm1", "-n", "demo", "-o", "jsonpath={.data.a}"]
        ),
        "b"
    );
    let manifest = s.dir.join("cm.yaml");
    std::fs::write(&manifest, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-config\n  namespace: default\ndata:\n  mode: blue\n").unwrap();
    assert!(ok(&s, &["create", "-f", manifest.to_str().unwrap()])
        .contains("configmap/app-config created"));
    let all = ok(&s, &["get", "cm", "-A"]);
    assert!(
        all.contains("default") && all.contains("app-config"),
        "{all}"
    );
    let yaml = ok(&s, &["get", "cm", "app-config", "-o", "yaml"]);
    assert!(
        yaml.contains("mode: blue") && yaml.contains("resourceVersion:"),
        "{yaml}"
    );

    std::fs::write(&manifest, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-config\n  namespace: default\ndata:\n  mode: green\n").unwrap();
    assert!(ok(&s, &["replace", "-f", manifest.to_str().unwrap()]).contains("replaced"));
    assert_eq!(
        ok(
            &s,
            &["get", "cm", "app-config", "-o", "jsonpath={.data.mode}"]
        ),
        "green"
    );
    ok(&s, &["label", "cm", "app-config", "tier=web"]);
    ok(&s, &["annotate", "cm", "app-config", "note=hello"]);
    ok(
        &s,
        &[
            "patch",
            "cm",
            "app-config",
            "--type=merge",
            "-p",
            r#"{"data":{"extra":"1"}}"#,
        ],
    );
    ok(
        &s,
        &[
            "patch",
            "cm",
            "app-config",
            "--type=json",
            "-p",
            r#"[{"op":"add","path":"/data/jsonpatched","value":"yes"}]"#,
        ],
    );
    assert_eq!(
        ok(
            &s,
            &[
                "get",
                "cm",
                "app-config",
                "-o",
                "jsonpath={.data.jsonpatched}"
            ]
        ),
        "yes"
    );
    let selected = ok(&s, &["get", "cm", "-l", "tier=web", "-o", "name"]);
    assert_eq!(selected.trim(), "configmap/app-config");
    assert!(ok(&s, &["apply", "-f", manifest.to_str().unwrap()]).contains("configured"));

    let (success, text) = kubectl(&s, &["get", "cm", "nope"]);
    assert!(
        !success && text.contains("Error from server (NotFound): configmaps \"nope\" not found"),
        "{text}"
    );
    // Secrets: kubectl sends protobuf; `data` comes back base64, the table shows Type and Data.
    assert!(ok(
        &s,
        &[
            "create",
            "secret",
            "generic",
            "s1",
            "--from-literal=user=admin"
        ]
    )
    .contains("secret/s1 created"));
    assert_eq!(
        ok(&s, &["get", "secret", "s1", "-o", "jsonpath={.data.user}"]),
        "YWRtaW4="
    );
    let table = ok(&s, &["get", "secrets", "--field-selector", "type=Opaque"]);
    assert!(
        table.contains("TYPE") && table.contains("Opaque") && table.contains("s1"),
        "{table}"
    );
    // `create secret tls` and `docker-registry` are protobuf too, with their own types and keys.
    let certs = s.dir.join("certs");
    let cert = format!("--cert={}", certs.join("apiserver.crt").display());
    let key = format!("--key={}", certs.join("apiserver.key").display());
    ok(&s, &["create", "secret", "tls", "tls1", &cert, &key]);
    let keys = ok(
        &s,
        &["get", "secret", "tls1", "-o", "jsonpath={.type} {.data}"],
    );
    assert!(
        keys.starts_with("kubernetes.io/tls ")
            && keys.contains("tls.crt")
            && keys.contains("tls.key"),
        "{keys}"
    );
    ok(
        &s,
        &[
            "create",
            "secret",
            "docker-registry",
            "reg1",
            "--docker-server=registry.example.com",
            "--docker-username=u",
            "--docker-password=p",
        ],
    );
    let config = ok(&s, &["get", "secret", "reg1", "-o", "jsonpath={.type}"]);
    assert_eq!(config, "kubernetes.io/dockerconfigjson");
    assert!(ok(&s, &["create", "serviceaccount", "robot"]).contains("serviceaccount/robot created"));
    // The default patch type is strategic: `secrets` merges by name; a merge patch replaces.
    for secret in ["one", "two"] {
        let patch = format!(r#"{{"secrets":[{{"name":"{secret}"}}]}}"#);
        ok(&s, &["patch", "sa", "robot", "-p", &patch]);
    }
    let names = "jsonpath={.secrets[*].name}";
    assert_eq!(ok(&s, &["get", "sa", "robot", "-o", names]), "one two");
    ok(
        &s,
        &[
            "patch",
            "sa",
            "robot",
            "--type=merge",
            "-p",
            r#"{"secrets":[{"name":"three"}]}"#,
        ],
    );
    assert_eq!(ok(&s, &["get", "sa", "robot", "-o", names]), "three");
    let accounts = ok(&s, &["get", "sa"]);
    assert!(
        accounts.contains("SECRETS") && accounts.contains("robot"),
        "{accounts}"
    );
    // `describe` finds the object's events by a field selector on involvedObject.
    let uid = ok(
        &s,
        &["get", "cm", "app-config", "-o", "jsonpath={.metadata.uid}"],
    );
    let event = s.dir.join("event.yaml");
    std::fs::write(&event, format!("apiVersion: v1\nkind: Event\nmetadata:\n  name: app-config.1\n  namespace: default\ninvolvedObject:\n  apiVersion: v1\n  kind: ConfigMap\n  name: app-config\n  namespace: default\n  uid: {uid}\nreason: Checked\nmessage: looked at it\ntype: Normal\nsource:\n  component: teacher\n")).unwrap();
    ok(&s, &["create", "-f", event.to_str().unwrap()]);
    let described = ok(&s, &["describe", "cm", "app-config"]);
    assert!(
        described.contains("Checked") && described.contains("teacher"),
        "{described}"
    );
    let events = ok(&s, &["get", "events"]);
    assert!(
        events.contains("LAST SEEN") && events.contains("configmap/app-config"),
        "{events}"
    );
    // `edit` with a non-interactive editor: a script that rewrites the file kubectl hands it.
    let editor = s.dir.join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nsed -i 's/mode: green/mode: edited/' \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let edited = Command::new(common::tool("KUBECTL", "kubectl"))
        .arg(format!("--kubeconfig={}", s.kubeconfig.display()))
        .args(["edit", "cm", "app-config"])
        .env("KUBE_EDITOR", &editor)
        .output()
        .unwrap();
    assert!(
        edited.status.success(),
        "{}",
        String::from_utf8_lossy(&edited.stderr)
    );
    assert_eq!(
        ok(
            &s,
            &["get", "cm", "app-config", "-o", "jsonpath={.data.mode}"]
        ),
        "edited"
    );
    assert!(ok(&s, &["delete", "cm", "app-config"]).contains("deleted"));
    assert!(ok(&s, &["get", "cm"]).contains("No resources found"));
    ok(
        &s,
        &["wait", "--for=delete", "cm/app-config", "--timeout=10s"],
    );
    assert!(ok(&s, &["api-resources"]).contains("configmaps"));
    let explained = ok(&s, &["explain", "secret.stringData"]);
    assert!(
        explained.contains("map[string]string") && explained.contains("folded into data"),
        "{explained}"
    );
    assert!(ok(&s, &["get", "apiservices"]).contains("v1.apiextensions.k8s.io"));
    // kubectl v1.37's `wait` opens a streaming list (sendInitialEvents) and waits for the
    // bookmark that ends the initial events before it looks at the condition.
    let crd = s.dir.join("crd.yaml");
    std::fs::write(&crd, "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  names: {plural: widgets, singular: widget, kind: Widget}\n  scope: Namespaced\n  versions:\n  - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}\n").unwrap();
    ok(&s, &["create", "-f", crd.to_str().unwrap()]);
    let waited = ok(
        &s,
        &[
            "wait",
            "--for",
            "condition=established",
            "crd/widgets.example.com",
            "--timeout=10s",
        ],
    );
    assert!(waited.contains("condition met"), "{waited}");
    assert!(ok(&s, &["get", "--raw", "/readyz?verbose"]).contains("readyz check passed"));
    s.stop();
}

#[test]
fn kubectl_server_side_apply_twice_then_a_conflict() {
    let s = TestServer::start("kubectl-ssa", &[]);
    let manifest = s.dir.join("ssa.yaml");
    let write = |a: &str| {
        let yaml = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  labels: {{app: demo}}\ndata:\n  a: \"{a}\"\n  b: \"2\"\n"
        );
        std::fs::write(&manifest, yaml).unwrap();
    };
    let path = manifest.to_str().unwrap();
    write("1");
    assert!(ok(&s, &["apply", "--server-side", "-f", path]).contains("serverside-applied"));
    assert!(ok(&s, &["apply", "--server-side", "-f", path]).contains("serverside-applied"));
    let managers = ok(
        &s,
        &[
            "get",
            "cm",
            "ssa",
            "--show-managed-fields",
            "-o",
            "jsonpath={range .metadata.managedFields[*]}{.manager}/{.operation} {end}",
        ],
    );
    assert_eq!(managers.trim(), "kubectl/Apply");

    // Someone else changes `a`; the same apply now conflicts and leaves their value.
    ok(
        &s,
        &[
            "patch",
            "cm",
            "ssa",
            "--type=merge",
            "-p",
            r#"{"data":{"a":"patched"}}"#,
        ],
    );
    let (success, text) = kubectl(&s, &["apply", "--server-side", "-f", path]);
    assert!(!success, "{text}");
    assert!(
        text.contains(
            "Apply failed with 1 conflict: conflict with \"kubectl-patch\" using v1: .data.a"
        ),
        "{text}"
    );
    let a = ok(&s, &["get", "cm", "ssa", "-o", "jsonpath={.data.a}"]);
    assert_eq!(a, "patched");

    // Forcing takes the field back; a changed manifest updates through the same path.
    ok(
        &s,
        &["apply", "--server-side", "--force-conflicts", "-f", path],
    );
    assert_eq!(
        ok(&s, &["get", "cm", "ssa", "-o", "jsonpath={.data.a}"]),
        "1"
    );
    write("3");
    ok(&s, &["apply", "--server-side", "-f", path]);
    assert_eq!(
        ok(&s, &["get", "cm", "ssa", "-o", "jsonpath={.data.a}"]),
        "3"
    );

    // A deployment applied from a manifest: containers merge by name.
    let deploy = s.dir.join("deploy.yaml");
    std::fs::write(&deploy, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: nginx\n        image: nginx:1.27\n").unwrap();
    let deploy = deploy.to_str().unwrap();
    ok(&s, &["apply", "--server-side", "-f", deploy]);
    ok(&s, &["scale", "deployment", "web", "--replicas=2"]);
    // The scale's manager owns spec.replicas now, so applying replicas: 1 conflicts.
    let (success, text) = kubectl(&s, &["apply", "--server-side", "-f", deploy]);
    assert!(!success && text.contains(".spec.replicas"), "{text}");
    s.stop();
}

#[test]
fn kubectl_reads_dry_runs_diffs_and_deletes() {
    let s = TestServer::start("kubectl-reads", &[]);
    let versions = ok(&s, &["api-versions"]);
    for v in [
        "v1",
        "apps/v1",
        "apiextensions.k8s.io/v1",
        "apiregistration.k8s.io/v1",
    ] {
        assert!(versions.lines().any(|l| l == v), "{versions}");
    }
    ok(&s, &["create", "namespace", "reads"]);
    for (name, tier) in [("c3", "web"), ("c1", "db"), ("c2", "web")] {
        ok(
            &s,
            &[
                "create",
                "configmap",
                name,
                "-n",
                "reads",
                "--from-literal=k=v",
            ],
        );
        ok(
            &s,
            &["label", "cm", name, "-n", "reads", &format!("tier={tier}")],
        );
    }
    let n = ["-n", "reads"];
    let names = |args: &[&str]| -> Vec<String> {
        let out = ok(&s, &[&n[..], args].concat());
        out.lines().map(str::to_string).collect()
    };
    // Sorted by the client; paged by the server two at a time (limit and continue).
    let sorted = names(&[
        "get",
        "cm",
        "--sort-by=.metadata.name",
        "-o",
        "name",
        "--chunk-size=2",
    ]);
    assert_eq!(sorted, ["configmap/c1", "configmap/c2", "configmap/c3"]);
    let wide = ok(&s, &["get", "cm", "-n", "reads", "-o", "wide"]);
    assert!(
        wide.starts_with("NAME") && wide.contains("DATA") && wide.contains("c2"),
        "{wide}"
    );
    let json: serde_json::Value = serde_json::from_str(&ok(
        &s,
        &["get", "cm", "-n", "reads", "-l", "tier=web", "-o", "json"],
    ))
    .unwrap();
    assert_eq!(json["kind"], "List");
    assert_eq!(json["items"].as_array().unwrap().len(), 2);
    let all = ok(
        &s,
        &["get", "cm", "-A", "--field-selector", "metadata.name=c1"],
    );
    assert!(
        all.contains("reads") && all.contains("c1") && !all.contains("c2"),
        "{all}"
    );

    // --dry-run=server answers as if written, and writes nothing.
    let dry = ok(
        &s,
        &[
            "create",
            "configmap",
            "dry",
            "-n",
            "reads",
            "--from-literal=a=b",
            "--dry-run=server",
            "-o",
            "jsonpath={.data.a}",
        ],
    );
    assert_eq!(dry, "b");
    let (found, text) = kubectl(&s, &["get", "cm", "dry", "-n", "reads"]);
    assert!(!found && text.contains("NotFound"), "{text}");

    // diff: exit 0 when the manifest matches, 1 with the change shown when it does not.
    let manifest = s.dir.join("c1.yaml");
    let write = |v: &str| {
        let yaml = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c1\n  namespace: reads\n  labels: {{tier: db}}\ndata:\n  k: {v}\n");
        std::fs::write(&manifest, yaml).unwrap();
    };
    write("v");
    let path = manifest.to_str().unwrap();
    let (same, text) = kubectl(&s, &["diff", "-f", path]);
    assert!(same, "{text}");
    write("changed");
    let (same, text) = kubectl(&s, &["diff", "-f", path]);
    assert!(
        !same && text.contains("+  k: changed") && text.contains("-  k: v"),
        "{text}"
    );
    assert_eq!(
        ok(
            &s,
            &["get", "cm", "c1", "-n", "reads", "-o", "jsonpath={.data.k}"]
        ),
        "v"
    );

    // Deletes by selector, then everything, then the namespace with what is left in it.
    ok(&s, &["delete", "cm", "-n", "reads", "-l", "tier=web"]);
    let left = names(&["get", "cm", "-o", "name"]);
    assert!(
        left.contains(&"configmap/c1".to_string())
            && !left.iter().any(|l| l.ends_with("c2") || l.ends_with("c3")),
        "{left:?}"
    );
    ok(&s, &["delete", "cm", "-n", "reads", "--all"]);
    assert!(names(&["get", "cm", "-o", "name"])
        .iter()
        .all(|l| !l.ends_with("c1")));
    ok(&s, &["create", "configmap", "last", "-n", "reads"]);
    ok(&s, &["delete", "namespace", "reads", "--wait=true"]);
    let (exists, text) = kubectl(&s, &["get", "ns", "reads"]);
    assert!(
        !exists && text.contains("namespaces \"reads\" not found"),
        "{text}"
    );
    s.stop();
}

#[test]
fn kubectl_creates_and_shows_services() {
    let s = TestServer::start("kubectl-svc", &[]);
    // `create service` sends the Service as protobuf, `status.loadBalancer` included.
    ok(
        &s,
        &["create", "service", "clusterip", "svc1", "--tcp=80:8080"],
    );
    let ports = ok(
        &s,
        &[
            "get",
            "svc",
            "svc1",
            "-o",
            "jsonpath={.spec.ports}|{.spec.selector}|{.spec.clusterIP}",
        ],
    );
    assert_eq!(
        ports,
        r#"[{"name":"80-8080","port":80,"protocol":"TCP","targetPort":8080}]|{"app":"svc1"}|10.0.0.2"#
    );
    let wide = ok(&s, &["get", "svc", "-o", "wide"]);
    assert!(
        wide.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == [
                    "svc1",
                    "ClusterIP",
                    "10.0.0.2",
                    "<none>",
                    "80/TCP",
                    l.split_whitespace().nth(5).unwrap_or(""),
                    "app=svc1"
                ]),
        "{wide}"
    );
    assert!(ok(&s, &["get", "all"]).contains("service/kubernetes"));
    let (created, why) = kubectl(
        &s,
        &[
            "create",
            "service",
            "clusterip",
            "out",
            "--tcp=80",
            "--clusterip=1.1.1.1",
        ],
    );
    assert!(!created);
    assert!(
        why.contains("The range of valid IPs is 10.0.0.0/24"),
        "{why}"
    );
    s.stop();
}

#[test]
fn kubectl_watch_sees_an_object_created_meanwhile() {
    let s = TestServer::start("kubectl-watch", &[]);
    let mut watch = Command::new(common::tool("KUBECTL", "kubectl"))
        .arg(format!("--kubeconfig={}", s.kubeconfig.display()))
        .arg(format!(
            "--cache-dir={}",
            s.dir.join("kube-cache").display()
        ))
        .args(["get", "cm", "-w"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // kubectl's output, read on a thread of its own and collected for the test to look at.
    let printed = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let collector = std::sync::Arc::clone(&printed);
    let stdout = watch.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            collector.lock().unwrap().push(line);
        }
    });
    // Create once kubectl has listed and is watching, then wait for its line.
    std::thread::sleep(Duration::from_millis(500));
    s.send_json(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        &json!({"metadata": {"name": "watched"}, "data": {"a": "b"}}),
    );
    let seen = common::within(Duration::from_secs(20), || {
        printed
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.starts_with("watched"))
    });
    let _ = watch.kill();
    let _ = watch.wait();
    assert!(
        seen,
        "kubectl get cm -w printed the configmap created while it watched"
    );
    s.stop();
}

#[test]
fn python_client_lists_creates_watches_and_deletes() {
    let s = TestServer::start("python", &[]);
    let script = r#"
import sys, threading, time
from kubernetes import client, config, watch
config.load_kube_config(sys.argv[1])
v1 = client.CoreV1Api()
names = [n.metadata.name for n in v1.list_namespace().items]
assert "default" in names, names
v1.create_namespace({"metadata": {"name": "pyns"}})
v1.create_namespaced_config_map("pyns", {"metadata": {"name": "py-cm1"}, "data": {"a": "1"}})
def churn():
    time.sleep(0.5)
    v1.create_namespaced_config_map("pyns", {"metadata": {"name": "py-cm2"}, "data": {"b": "2"}})
    v1.patch_namespaced_config_map("py-cm2", "pyns", {"data": {"b": "3"}})
    v1.delete_namespaced_config_map("py-cm2", "pyns")
threading.Thread(target=churn).start()
seen = []
for event in watch.Watch().stream(v1.list_namespaced_config_map, "pyns", timeout_seconds=5):
    seen.append((event["type"], event["object"].metadata.name))
    if len(seen) == 4:
        break
assert seen == [("ADDED", "py-cm1"), ("ADDED", "py-cm2"), ("MODIFIED", "py-cm2"), ("DELETED", "py-cm2")], seen
assert v1.read_namespaced_config_map("py-cm1", "pyns").data == {"a": "1"}
try:
    v1.read_namespaced_config_map("nope", "pyns")
    raise SystemExit("expected a 404")
except client.exceptions.ApiException as e:
    assert e.status == 404, e.status
# Server-side apply through the client: 201 and an Apply entry, then 409 naming the other manager.
cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "py-ssa"}, "data": {"k": "1"}}
applied = v1.patch_namespaced_config_map("py-ssa", "pyns", cm, field_manager="py", _content_type="application/apply-patch+yaml")
assert [(m.manager, m.operation) for m in applied.metadata.managed_fields] == [("py", "Apply")], applied.metadata.managed_fields
v1.patch_namespaced_config_map("py-ssa", "pyns", {"data": {"k": "2"}}, field_manager="other")
try:
    v1.patch_namespaced_config_map("py-ssa", "pyns", cm, field_manager="py", _content_type="application/apply-patch+yaml")
    raise SystemExit("expected a 409")
except client.exceptions.ApiException as e:
    assert e.status == 409 and 'conflict with \\"other\\"' in e.body, (e.status, e.body)
# An event written through events.k8s.io/v1 reads through core/v1 with the old field names.
client.EventsV1Api().create_namespaced_event("pyns", {"metadata": {"name": "ev1"},
    "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "example.com/py",
    "reportingInstance": "py-1", "action": "Test", "reason": "Tested", "type": "Normal", "note": "hello",
    "regarding": {"kind": "ConfigMap", "name": "py-cm1", "namespace": "pyns"}})
old = v1.read_namespaced_event("ev1", "pyns")
assert (old.message, old.involved_object.name, old.reporting_component) == ("hello", "py-cm1", "example.com/py"), old
print("python client ok")
"#;
    python(&s, script, "python client ok");
    s.stop();
}

#[test]
fn kubectl_pods_and_deployments() {
    let s = TestServer::start("kubectl-workloads", &[]);
    // A typed command: the Deployment travels as protobuf, pod template and all.
    let created = ok(
        &s,
        &[
            "create",
            "deployment",
            "web",
            "--image=nginx",
            "--replicas=2",
        ],
    );
    assert!(created.contains("deployment.apps/web created"), "{created}");
    let wide = ok(&s, &["get", "deploy", "web", "-o", "wide"]);
    let header: Vec<&str> = wide.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ]
    );
    let row: Vec<&str> = wide.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(
        (row[0], row[1], row[5], row[6], row[7]),
        ("web", "0/2", "nginx", "nginx", "app=web"),
        "{wide}"
    );
    // `scale` goes through the /scale subresource.
    assert!(ok(&s, &["scale", "deployment", "web", "--replicas=3"]).contains("scaled"));
    assert_eq!(
        ok(
            &s,
            &["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]
        ),
        "3"
    );

    assert!(ok(&s, &["run", "p", "--image=busybox", "--restart=Never"]).contains("pod/p created"));
    assert_eq!(
        ok(
            &s,
            &[
                "get",
                "pod",
                "p",
                "-o",
                "jsonpath={.status.phase} {.spec.restartPolicy}"
            ]
        ),
        "Pending Never"
    );
    let pods = ok(&s, &["get", "pods", "-o", "wide"]);
    assert!(
        pods.contains("NOMINATED NODE") && pods.contains("READINESS GATES"),
        "{pods}"
    );
    let row: Vec<&str> = pods.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(
        (row[0], row[1], row[2], row[3], row[5], row[6]),
        ("p", "0/1", "Pending", "0", "<none>", "<none>"),
        "{pods}"
    );
    // `all` is the category pods and deployments are in.
    let all = ok(&s, &["get", "all"]);
    assert!(
        all.contains("pod/p") && all.contains("deployment.apps/web"),
        "{all}"
    );
    let explained = ok(&s, &["explain", "deployment.spec.template.spec.containers"]);
    for field in [
        "image\t<string>",
        "imagePullPolicy",
        "ports\t<[]ContainerPort>",
        "resources",
    ] {
        assert!(explained.contains(field), "{field} in {explained}");
    }

    // A strategic merge patch merges containers by name: the sidecar is added, and
    // `set image` then changes one container and leaves the other.
    ok(
        &s,
        &[
            "patch",
            "deployment",
            "web",
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox:1.36"}]}}}}"#,
        ],
    );
    assert!(
        ok(&s, &["set", "image", "deployment/web", "nginx=nginx:1.27"]).contains("image updated")
    );
    let images = "jsonpath={.spec.template.spec.containers[*].image}";
    assert_eq!(
        ok(&s, &["get", "deploy", "web", "-o", images]),
        "nginx:1.27 busybox:1.36"
    );
    let described = ok(&s, &["describe", "deployment", "web"]);
    for line in [
        "Selector:               app=web",
        "Replicas:               3 desired | 0 updated | 0 total | 0 available | 0 unavailable",
        "StrategyType:           RollingUpdate",
        "RollingUpdateStrategy:  25% max unavailable, 25% max surge",
    ] {
        assert!(described.contains(line), "{line:?} in {described}");
    }
    let images: Vec<&str> = described
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Image:"))
        .map(str::trim)
        .collect();
    assert_eq!(images, ["nginx:1.27", "busybox:1.36"], "{described}");
    // The rollout commands that only write the deployment; `rollout status` and `history`
    // need a deployment controller and its ReplicaSets.
    ok(&s, &["rollout", "restart", "deployment/web"]);
    let restarted =
        r"jsonpath={.spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}";
    assert!(!ok(&s, &["get", "deploy", "web", "-o", restarted]).is_empty());
    ok(&s, &["rollout", "pause", "deployment/web"]);
    assert_eq!(
        ok(
            &s,
            &["get", "deploy", "web", "-o", "jsonpath={.spec.paused}"]
        ),
        "true"
    );
    ok(&s, &["rollout", "resume", "deployment/web"]);
    // create, scale, patch, set image, restart, pause, resume: each a new generation.
    assert_eq!(
        ok(
            &s,
            &[
                "get",
                "deploy",
                "web",
                "-o",
                "jsonpath={.metadata.generation}"
            ]
        ),
        "7"
    );

    assert!(ok(&s, &["delete", "deployment", "web", "--wait=false"]).contains("deleted"));
    ok(
        &s,
        &["wait", "--for=delete", "deployment/web", "--timeout=10s"],
    );
    assert!(ok(&s, &["delete", "pod", "p"]).contains("pod \"p\" deleted"));
    // Only the `kubernetes` service is left, as in any fresh cluster.
    let all = ok(&s, &["get", "all", "-o", "name"]);
    assert_eq!(all.trim(), "service/kubernetes", "{all}");
    s.stop();
}

#[test]
fn python_client_deployments_and_their_scale() {
    let s = TestServer::start("python-apps", &[]);
    let script = r#"
import sys
from kubernetes import client, config
config.load_kube_config(sys.argv[1])
apps = client.AppsV1Api()
labels = {"app": "py-web"}
body = {"metadata": {"name": "py-web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}}}}
d = apps.create_namespaced_deployment("default", body)
assert (d.metadata.generation, d.spec.strategy.type) == (1, "RollingUpdate"), d
assert d.spec.template.spec.containers[0].ports[0].protocol == "TCP"
assert [i.metadata.name for i in apps.list_namespaced_deployment("default").items] == ["py-web"]
# The client's patch is a strategic merge patch: the container is matched by name.
d = apps.patch_namespaced_deployment("py-web", "default",
    {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.28"}]}}}})
c = d.spec.template.spec.containers[0]
assert (c.image, c.ports[0].container_port, d.metadata.generation) == ("nginx:1.28", 80, 2), d
scale = apps.read_namespaced_deployment_scale("py-web", "default")
assert type(scale).__name__ == "V1Scale", type(scale)
assert (scale.spec.replicas, scale.status.replicas, scale.status.selector) == (1, 0, "app=py-web"), scale
scale = apps.patch_namespaced_deployment_scale("py-web", "default", {"spec": {"replicas": 4}})
assert scale.spec.replicas == 4, scale
assert apps.read_namespaced_deployment("py-web", "default").spec.replicas == 4
try:
    apps.patch_namespaced_deployment_scale("py-web", "default", {"spec": {"replicas": -1}})
    raise SystemExit("expected a 422")
except client.exceptions.ApiException as e:
    assert e.status == 422, e.status
deleted = apps.delete_namespaced_deployment("py-web", "default")
assert deleted["status"] == "Success", deleted
assert apps.list_namespaced_deployment("default").items == []
print("python apps ok")
"#;
    python(&s, script, "python apps ok");
    s.stop();
}

/// kubectl under the admin's kubeconfig with its token swapped for `token`: another user of the
/// token file. Returns whether it succeeded, its exit code and what it printed.
fn kubectl_with_token(s: &TestServer, token: &str, args: &[&str]) -> (i32, String) {
    let admin = std::fs::read_to_string(&s.kubeconfig).unwrap();
    let path = s.dir.join(format!("{token}.kubeconfig"));
    std::fs::write(&path, admin.replace(&s.token, token)).unwrap();
    let out = Command::new(common::tool("KUBECTL", "kubectl"))
        .arg(format!("--kubeconfig={}", path.display()))
        .arg(format!(
            "--cache-dir={}",
            s.dir.join(format!("kube-cache-{token}")).display()
        ))
        .args(args)
        .output()
        .expect("kubectl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

// ANCHOR: kubectl_auth_can_i
#[test]
fn kubectl_auth_can_i_and_rbac_objects() {
    let tokens = std::env::temp_dir().join(format!("e2e-rbac-tokens-{}", std::process::id()));
    std::fs::write(&tokens, "erin-token,erin,5\n").unwrap();
    let s = TestServer::start(
        "e2e-rbac",
        &[&format!("--token-auth-file={}", tokens.display())],
    );
    ok(&s, &["create", "namespace", "demo"]);
    let erin = |args: &[&str]| kubectl_with_token(&s, "erin-token", args);

    // The admin (system:masters) may; erin, with only the bootstrap roles, may not.
    assert_eq!(ok(&s, &["auth", "can-i", "create", "configmaps"]), "yes\n");
    assert_eq!(
        erin(&["auth", "can-i", "list", "pods", "-n", "demo"]),
        (1, "no\n".into())
    );
    assert_eq!(
        erin(&["auth", "can-i", "get", "/healthz"]),
        (0, "yes\n".into())
    );
    // The admin may impersonate (`--as`), and then asks as erin.
    let as_erin = ["auth", "can-i", "list", "pods", "-n", "demo", "--as=erin"];
    assert_eq!(kubectl(&s, &as_erin), (false, "no\n".into()));
    let (code, text) = erin(&["get", "pods", "-n", "demo"]);
    assert_eq!(code, 1);
    assert!(text.contains("Error from server (Forbidden): pods is forbidden: User \"erin\" cannot list resource \"pods\" in API group \"\" in the namespace \"demo\""), "{text}");
    let (code, list) = erin(&["auth", "can-i", "--list", "-n", "demo"]);
    assert_eq!(code, 0, "{list}");
    let header: Vec<&str> = list
        .lines()
        .next()
        .unwrap()
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        header,
        ["Resources", "Non-Resource URLs", "Resource Names", "Verbs"]
    );
    assert!(
        list.lines().any(
            |l| l.starts_with("selfsubjectaccessreviews.authorization.k8s.io")
                && l.ends_with("[create]")
        ),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.trim_start().starts_with("[/api/*]") && l.ends_with("[get]")),
        "{list}"
    );

    // The admin grants erin pod reading in demo; kubectl's create role/rolebinding send protobuf.
    assert_eq!(
        ok(
            &s,
            &[
                "create",
                "role",
                "pod-reader",
                "--verb=get,list,watch",
                "--resource=pods",
                "-n",
                "demo"
            ]
        ),
        "role.rbac.authorization.k8s.io/pod-reader created\n"
    );
    assert_eq!(
        ok(
            &s,
            &[
                "create",
                "rolebinding",
                "erin-pods",
                "--role=pod-reader",
                "--user=erin",
                "-n",
                "demo"
            ]
        ),
        "rolebinding.rbac.authorization.k8s.io/erin-pods created\n"
    );
    assert_eq!(
        erin(&["get", "pods", "-n", "demo"]),
        (0, "No resources found in demo namespace.\n".into())
    );
    assert_eq!(
        erin(&["auth", "can-i", "list", "pods", "-n", "demo"]),
        (0, "yes\n".into())
    );
    assert_eq!(kubectl(&s, &as_erin), (true, "yes\n".into()));
    assert_eq!(
        erin(&["auth", "can-i", "delete", "pods", "-n", "demo"]),
        (1, "no\n".into())
    );
    let (_, list) = erin(&["auth", "can-i", "--list", "-n", "demo"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with("pods ") && l.ends_with("[get list watch]")),
        "{list}"
    );

    // A cluster-wide grant of the bootstrap view role.
    assert_eq!(
        ok(
            &s,
            &[
                "create",
                "clusterrolebinding",
                "erin-view",
                "--clusterrole=view",
                "--user=erin"
            ]
        ),
        "clusterrolebinding.rbac.authorization.k8s.io/erin-view created\n"
    );
    assert_eq!(erin(&["get", "deployments", "-A"]).0, 0);
    assert_eq!(
        erin(&["auth", "can-i", "list", "deployments.apps", "-A"]),
        (0, "yes\n".into())
    );

    // Reading them back: tables, describe, delete.
    let roles = ok(&s, &["get", "role", "-n", "demo"]);
    assert!(
        roles.starts_with("NAME ") && roles.contains("CREATED AT") && roles.contains("pod-reader"),
        "{roles}"
    );
    let wide = ok(
        &s,
        &[
            "get",
            "rolebinding",
            "erin-pods",
            "-n",
            "demo",
            "-o",
            "wide",
        ],
    );
    assert!(
        wide.contains("Role/pod-reader") && wide.contains("erin"),
        "{wide}"
    );
    let described = ok(&s, &["describe", "role", "pod-reader", "-n", "demo"]);
    assert!(
        described.contains("PolicyRule:")
            && described.contains("pods")
            && described.contains("[get list watch]"),
        "{described}"
    );
    let described = ok(&s, &["describe", "clusterrolebinding", "erin-view"]);
    assert!(
        described.contains("ClusterRole")
            && described.contains("view")
            && described.contains("erin"),
        "{described}"
    );
    assert_eq!(
        ok(&s, &["delete", "rolebinding", "erin-pods", "-n", "demo"]),
        "rolebinding.rbac.authorization.k8s.io \"erin-pods\" deleted from demo namespace\n"
    );
    assert_eq!(
        erin(&["auth", "can-i", "create", "pods", "-n", "demo"]),
        (1, "no\n".into())
    );
    s.stop();
}
// ANCHOR_END: kubectl_auth_can_i

/// Collapses the runs of spaces a tab writer pads columns with, to compare table rows.
fn squeezed(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn kubectl_quota_until_refused_and_limit_ranges() {
    let s = TestServer::start("kubectl-quota", &[]);
    ok(&s, &["create", "namespace", "q"]);
    let created = ok(
        &s,
        &[
            "create",
            "quota",
            "small",
            "-n",
            "q",
            "--hard=pods=2,configmaps=3",
        ],
    );
    assert!(created.contains("resourcequota/small created"), "{created}");
    // The quota counts nothing until its controller has filled in status.hard.
    let deadline = Instant::now() + Duration::from_secs(10);
    while ok(
        &s,
        &[
            "get",
            "quota",
            "small",
            "-n",
            "q",
            "-o",
            "jsonpath={.status.hard.pods}",
        ],
    ) != "2"
    {
        assert!(Instant::now() < deadline, "the quota never got its status");
        std::thread::sleep(Duration::from_millis(50));
    }
    for name in ["p1", "p2"] {
        let out = ok(&s, &["run", name, "-n", "q", "--image=nginx:1.27"]);
        assert!(out.contains(&format!("pod/{name} created")), "{out}");
    }
    let (success, refused) = kubectl(&s, &["run", "p3", "-n", "q", "--image=nginx:1.27"]);
    assert!(!success, "{refused}");
    assert!(
        refused.contains("Error from server (Forbidden): pods \"p3\" is forbidden: exceeded quota: small, requested: pods=1, used: pods=2, limited: pods=2"),
        "{refused}"
    );
    let described = squeezed(&ok(&s, &["describe", "quota", "small", "-n", "q"]));
    assert!(
        described.contains("Name: small Namespace: q Resource Used Hard -------- ---- ---- configmaps 0 3 pods 2 2"),
        "{described}"
    );
    let listed = squeezed(&ok(&s, &["get", "quota", "-n", "q"]));
    assert!(
        listed.starts_with("NAME AGE REQUEST LIMIT small "),
        "{listed}"
    );
    assert!(listed.ends_with("configmaps: 0/3, pods: 2/2"), "{listed}");

    let manifest = s.dir.join("limits.json");
    let lr = json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "bounds"},
        "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m"},
                             "defaultRequest": {"cpu": "200m"}, "min": {"cpu": "100m"}}]}});
    std::fs::write(&manifest, lr.to_string()).unwrap();
    let out = ok(&s, &["create", "-n", "q", "-f", manifest.to_str().unwrap()]);
    assert!(out.contains("limitrange/bounds created"), "{out}");
    let listed = squeezed(&ok(&s, &["get", "limits", "-n", "q"]));
    assert!(listed.starts_with("NAME CREATED AT bounds 20"), "{listed}");
    let described = squeezed(&ok(&s, &["describe", "limitrange", "bounds", "-n", "q"]));
    assert!(
        described.contains("Container cpu 100m - 200m 500m -"),
        "{described}"
    );
    // `describe ns` lists the namespace's quotas and limit ranges, which it reads from
    // `resourcequotas` and `limitranges`.
    let described = squeezed(&ok(&s, &["describe", "ns", "q"]));
    assert!(
        described.contains("Resource Quotas Name: small Resource Used Hard -------- --- --- configmaps 0 3 pods 2 2"),
        "{described}"
    );
    assert!(
        described.contains("Resource Limits Type Resource Min Max Default Request Default Limit Max Limit/Request Ratio"),
        "{described}"
    );
}

#[test]
fn python_client_reads_quota_status_and_a_refusal() {
    let s = TestServer::start("python-quota", &[]);
    let script = r#"
import sys, time
from kubernetes import client, config
config.load_kube_config(sys.argv[1])
v1 = client.CoreV1Api()
v1.create_namespaced_limit_range("default", {"metadata": {"name": "lr"},
    "spec": {"limits": [{"type": "Container", "default": {"memory": "128Mi"}}]}})
v1.create_namespaced_resource_quota("default", {"metadata": {"name": "mem"},
    "spec": {"hard": {"limits.memory": "200Mi"}}})
for _ in range(200):
    q = v1.read_namespaced_resource_quota_status("mem", "default")
    if q.status and q.status.hard:
        break
    time.sleep(0.05)
assert q.status.hard == {"limits.memory": "200Mi"} and q.status.used == {"limits.memory": "0"}, q.status
pod = lambda n: {"metadata": {"name": n}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
made = v1.create_namespaced_pod("default", pod("p1"))
assert made.spec.containers[0].resources.limits == {"memory": "128Mi"}, made.spec.containers[0].resources
try:
    v1.create_namespaced_pod("default", pod("p2"))
    raise SystemExit("expected a 403")
except client.exceptions.ApiException as e:
    assert e.status == 403 and "exceeded quota: mem, requested: limits.memory=128Mi, used: limits.memory=128Mi, limited: limits.memory=200Mi" in e.body, (e.status, e.body)
assert v1.read_namespaced_resource_quota("mem", "default").status.used == {"limits.memory": "128Mi"}
assert [l.type for l in v1.read_namespaced_limit_range("lr", "default").spec.limits] == ["Container"]
print("python quota ok")
"#;
    python(&s, script, "python quota ok");
    s.stop();
}

#[test]
fn python_client_custom_objects_and_the_dynamic_client() {
    let s = TestServer::start("python-crd", &[]);
    let script = r#"
import sys, time
from kubernetes import client, config, dynamic
config.load_kube_config(sys.argv[1])
schema = {"openAPIV3Schema": {"type": "object", "properties": {
    "spec": {"type": "object", "properties": {"size": {"type": "integer"}, "color": {"type": "string"}}},
    "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}}}}
crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
       "metadata": {"name": "widgets.example.com"},
       "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"plural": "widgets", "kind": "Widget"},
                "versions": [{"name": "v1", "served": True, "storage": True, "schema": schema,
                              "subresources": {"status": {}}}]}}
ext = client.ApiextensionsV1Api()
ext.create_custom_resource_definition(crd)
for _ in range(100):
    c = ext.read_custom_resource_definition("widgets.example.com")
    if any(x.type == "Established" and x.status == "True" for x in (c.status.conditions or [])):
        break
    time.sleep(0.05)
else:
    raise SystemExit("never established")
api = client.CustomObjectsApi()
args = ("example.com", "v1", "default", "widgets")
for name, size in [("small", 1), ("big", 5)]:
    made = api.create_namespaced_custom_object(*args, {"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": name, "labels": {"size": name}}, "spec": {"size": size, "color": "red"}})
    assert made["metadata"]["generation"] == 1, made
got = api.get_namespaced_custom_object(*args, "big")
assert got["spec"] == {"size": 5, "color": "red"}, got
listed = api.list_namespaced_custom_object(*args, label_selector="size=big")
assert listed["kind"] == "WidgetList" and [i["metadata"]["name"] for i in listed["items"]] == ["big"], listed
patched = api.patch_namespaced_custom_object(*args, "big", {"spec": {"color": "blue"}})
assert patched["spec"] == {"size": 5, "color": "blue"} and patched["metadata"]["generation"] == 2, patched
status = api.patch_namespaced_custom_object_status(*args, "big", {"status": {"ready": True}})
assert status["status"] == {"ready": True} and status["metadata"]["generation"] == 2, status
deleted = api.delete_namespaced_custom_object(*args, "small")
assert deleted["status"] == "Success", deleted
dyn = dynamic.DynamicClient(client.ApiClient())
widgets = dyn.resources.get(api_version="example.com/v1", kind="Widget")
assert widgets.namespaced and widgets.name == "widgets", widgets
names = [i.metadata.name for i in widgets.get(namespace="default").items]
assert names == ["big"], names
print("python custom objects ok")
"#;
    python(&s, script, "python custom objects ok");
    s.stop();
}
