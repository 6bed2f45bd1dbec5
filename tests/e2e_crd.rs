//! End to end with the real kubectl: a CRD with two versions, printer columns and a status
//! subresource; its objects applied, listed with their columns, patched (the main resource and
//! `--subresource=status`), watched and deleted; and the CRD's deletion taking them along.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::TestServer;

const CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames: [ct]
    categories: [all]
  versions:
  - name: v1beta1
    served: true
    storage: false
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
    subresources:
      status: {}
    additionalPrinterColumns:
    - {name: Spec, type: string, jsonPath: .spec.cronSpec}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Phase, type: string, jsonPath: .status.phase}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
"#;

const CRONTAB: &str = r#"apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: my-cron
spec:
  cronSpec: "* * * * */5"
  replicas: 1
"#;

fn ok(s: &TestServer, args: &[&str]) -> String {
    let (success, text) = s.kubectl(args);
    assert!(success, "kubectl {args:?} failed:\n{text}");
    text
}

/// The first line of `kubectl get`'s output, split into its column names.
fn header(table: &str) -> Vec<String> {
    table
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn kubectl_works_with_a_crd_from_apply_to_deletion() {
    let s = TestServer::start("e2e-crd", &[]);
    let crd = s.dir.join("crd.yaml");
    std::fs::write(&crd, CRD).unwrap();
    let crontab = s.dir.join("crontab.yaml");
    std::fs::write(&crontab, CRONTAB).unwrap();
    let (crd, crontab) = (crd.to_str().unwrap(), crontab.to_str().unwrap());

    assert!(ok(&s, &["apply", "-f", crd]).contains(
        "customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com created"
    ));
    let waited = ok(
        &s,
        &[
            "wait",
            "--for",
            "condition=established",
            "crd/crontabs.stable.example.com",
            "--timeout=20s",
        ],
    );
    assert!(waited.contains("condition met"), "{waited}");
    let resources = ok(&s, &["api-resources", "--api-group=stable.example.com"]);
    let line = resources
        .lines()
        .find(|l| l.starts_with("crontabs"))
        .unwrap_or("");
    assert_eq!(
        line.split_whitespace().collect::<Vec<_>>(),
        ["crontabs", "ct", "stable.example.com/v1", "true", "CronTab"],
        "{resources}"
    );
    assert!(
        ok(&s, &["apply", "-f", crontab]).contains("crontab.stable.example.com/my-cron created")
    );

    // `get all` takes in the kinds of the `all` category; `get crd` prints the default
    // columns; `describe` reads the object through the discovery of its kind.
    let all = ok(&s, &["get", "all"]);
    assert!(all.contains("crontab.stable.example.com/my-cron"), "{all}");
    let crds = ok(&s, &["get", "crd"]);
    assert_eq!(header(&crds), ["NAME", "CREATED", "AT"], "{crds}");
    let row: Vec<&str> = crds
        .lines()
        .nth(1)
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(row.len(), 2, "{crds}");
    assert_eq!(row[0], "crontabs.stable.example.com");
    assert!(
        row[1].ends_with('Z') && row[1].contains('T'),
        "RFC 3339: {crds}"
    );
    let described = ok(&s, &["describe", "crontab", "my-cron"]);
    for line in [
        "Name:         my-cron",
        "Kind:         CronTab",
        "Cron Spec:",
    ] {
        assert!(described.contains(line), "{line:?} in:\n{described}");
    }

    // The columns are the CRD's, after Name; the short name works.
    let table = ok(&s, &["get", "crontabs"]);
    assert_eq!(
        header(&table),
        ["NAME", "SPEC", "REPLICAS", "PHASE", "AGE"],
        "{table}"
    );
    let row = table.lines().nth(1).unwrap_or("");
    assert!(
        row.starts_with("my-cron") && row.contains("* * * * */5") && row.contains(" 1 "),
        "{table}"
    );
    assert!(ok(&s, &["get", "ct"]).contains("my-cron"));
    // The other version serves the same object, with the default Age column.
    let old = ok(
        &s,
        &[
            "get",
            "crontabs.v1beta1.stable.example.com",
            "my-cron",
            "-o",
            "jsonpath={.apiVersion}",
        ],
    );
    assert_eq!(old, "stable.example.com/v1beta1");
    assert_eq!(
        header(&ok(&s, &["get", "crontabs.v1beta1.stable.example.com"])),
        ["NAME", "AGE"]
    );

    // Apply again changes nothing; a merge patch changes the spec.
    assert!(ok(&s, &["apply", "-f", crontab]).contains("unchanged"));
    let patched = ok(
        &s,
        &[
            "patch",
            "crontab",
            "my-cron",
            "--type=merge",
            "-p",
            r#"{"spec":{"replicas":3}}"#,
        ],
    );
    assert!(
        patched.contains("crontab.stable.example.com/my-cron patched"),
        "{patched}"
    );
    assert_eq!(
        ok(
            &s,
            &["get", "ct", "my-cron", "-o", "jsonpath={.spec.replicas}"]
        ),
        "3"
    );
    let strategic = s.kubectl(&[
        "patch",
        "crontab",
        "my-cron",
        "--type=strategic",
        "-p",
        r#"{"spec":{"replicas":4}}"#,
    ]);
    assert!(
        !strategic.0 && strategic.1.contains("unknown format"),
        "{}",
        strategic.1
    );

    // The status goes through its subresource; the main resource cannot set it.
    let main = s.kubectl(&[
        "patch",
        "crontab",
        "my-cron",
        "--type=merge",
        "-p",
        r#"{"status":{"phase":"Sneaky"}}"#,
    ]);
    assert!(main.0 && main.1.contains("no change"), "{}", main.1);
    let status = ok(
        &s,
        &[
            "patch",
            "crontab",
            "my-cron",
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"phase":"Running"}}"#,
        ],
    );
    assert!(status.contains("patched"), "{status}");
    assert!(ok(&s, &["get", "crontabs"])
        .lines()
        .nth(1)
        .unwrap_or("")
        .contains("Running"));

    // `get -w` prints the object, then its change.
    let mut watch = Command::new(common::tool("KUBECTL", "kubectl"))
        .arg(format!("--kubeconfig={}", s.kubeconfig.display()))
        .arg(format!(
            "--cache-dir={}",
            s.dir.join("kube-cache").display()
        ))
        .args(["get", "crontabs", "-w"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let printed = Arc::new(Mutex::new(Vec::<String>::new()));
    let collector = Arc::clone(&printed);
    let stdout = watch.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            collector.lock().unwrap().push(line);
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    ok(
        &s,
        &[
            "patch",
            "crontab",
            "my-cron",
            "--type=merge",
            "-p",
            r#"{"spec":{"cronSpec":"0 0 * * *"}}"#,
        ],
    );
    let seen = common::within(Duration::from_secs(20), || {
        printed
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("0 0 * * *"))
    });
    let _ = watch.kill();
    let _ = watch.wait();
    assert!(
        seen,
        "kubectl get -w printed the change: {:?}",
        printed.lock().unwrap()
    );

    assert!(ok(&s, &["delete", "crontab", "my-cron"])
        .contains("crontab.stable.example.com \"my-cron\" deleted"));
    assert!(ok(&s, &["get", "crontabs"]).contains("No resources found"));

    // Deleting the CRD deletes its objects: defined again, it has none.
    ok(&s, &["apply", "-f", crontab]);
    assert!(ok(&s, &["delete", "-f", crd]).contains("deleted"));
    let gone = s.kubectl(&["get", "crontabs"]);
    assert!(!gone.0, "{}", gone.1);
    ok(&s, &["apply", "-f", crd]);
    ok(
        &s,
        &[
            "wait",
            "--for",
            "condition=established",
            "crd/crontabs.stable.example.com",
            "--timeout=20s",
        ],
    );
    assert!(ok(&s, &["get", "crontabs"]).contains("No resources found"));
    s.stop();
}
