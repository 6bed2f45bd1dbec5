//! The audit log of a scripted session holds exactly the events the policy asks for, each with
//! the `auditID` its response carried; and a server stopped by SIGTERM loses none.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{ClientResponse, TestServer};
use serde_json::{json, Value};

/// Levels by user, verb and resource; the namespace create and the health checks are not
/// audited at all.
const POLICY: &str = r#"{
  "apiVersion": "audit.k8s.io/v1",
  "kind": "Policy",
  "rules": [
    {"level": "Metadata", "users": ["bob"]},
    {"level": "RequestResponse", "namespaces": ["demo"], "verbs": ["create", "update", "get"],
     "resources": [{"resources": ["configmaps"]}], "omitStages": ["RequestReceived"]},
    {"level": "Request", "namespaces": ["demo"], "verbs": ["list", "delete"],
     "resources": [{"resources": ["configmaps"]}]},
    {"level": "Metadata", "namespaces": ["demo"], "resources": [{"resources": ["configmaps"]}]},
    {"level": "Metadata", "resources": [{"resources": ["secrets"]}]},
    {"level": "None"}
  ]
}"#;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mini-apiserver-audit-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read_events(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// One expected event: the response it belongs to, then stage, level, verb, code, and whether
/// it holds the request and the response bodies.
struct Expect<'a> {
    resp: &'a ClientResponse,
    stage: &'a str,
    level: &'a str,
    verb: &'a str,
    code: u64,
    request_object: bool,
    response_object: bool,
}

#[test]
fn a_scripted_session_is_audited_exactly() {
    let dir = scratch("session");
    let policy = dir.join("policy.json");
    std::fs::write(&policy, POLICY).unwrap();
    let tokens = dir.join("tokens.csv");
    std::fs::write(&tokens, "bob-token,bob,2001,\"dev\"\n").unwrap();
    let log = dir.join("audit.log");
    let s = TestServer::start(
        "audit-session",
        &[
            &format!("--audit-policy-file={}", policy.display()),
            &format!("--audit-log-path={}", log.display()),
            &format!("--token-auth-file={}", tokens.display()),
            "--authorization-mode=AlwaysDeny",
        ],
    );
    let ns = s.send_json(
        "POST",
        "/api/v1/namespaces",
        &json!({"metadata":{"name":"demo"}}),
    );
    assert_eq!(ns.status, 201, "{}", ns.text());
    let cms = "/api/v1/namespaces/demo/configmaps";
    let cm =
        json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"a":"1"}});
    let create = s.send_json("POST", cms, &cm);
    assert_eq!(create.status, 201, "{}", create.text());
    let get = s.get(&format!("{cms}/cfg"));
    let list = s.get(cms);
    let watch = s.get(&format!("{cms}?watch=1&timeoutSeconds=1"));
    assert_eq!(watch.status, 200);
    let mut updated = get.json();
    updated["data"]["a"] = json!("2");
    let update = s.send_json("PUT", &format!("{cms}/cfg"), &updated);
    assert_eq!(update.status, 200, "{}", update.text());
    let delete = s.request("DELETE", &format!("{cms}/cfg"), &[], None);
    assert_eq!(delete.status, 200, "{}", delete.text());
    let missing = s.get(&format!("{cms}/cfg"));
    assert_eq!(missing.status, 404);
    let unauthorized = s.request(
        "GET",
        "/api/v1/namespaces/demo/secrets",
        &[("Authorization", "Bearer not-a-token")],
        None,
    );
    assert_eq!(unauthorized.status, 401);
    let forbidden = s.request("GET", cms, &[("Authorization", "Bearer bob-token")], None);
    assert_eq!(forbidden.status, 403);
    let chosen = s.request("GET", cms, &[("Audit-ID", "my-own-id")], None);
    assert_eq!(chosen.header("audit-id"), Some("my-own-id"));
    s.stop();

    let e = |resp, stage, level, verb, code, request_object, response_object| Expect {
        resp,
        stage,
        level,
        verb,
        code,
        request_object,
        response_object,
    };
    let expected = [
        e(
            &create,
            "ResponseComplete",
            "RequestResponse",
            "create",
            201,
            true,
            true,
        ),
        e(
            &get,
            "ResponseComplete",
            "RequestResponse",
            "get",
            200,
            false,
            true,
        ),
        e(&list, "RequestReceived", "Request", "list", 0, false, false),
        e(
            &list,
            "ResponseComplete",
            "Request",
            "list",
            200,
            false,
            false,
        ),
        e(
            &watch,
            "RequestReceived",
            "Metadata",
            "watch",
            0,
            false,
            false,
        ),
        e(
            &watch,
            "ResponseStarted",
            "Metadata",
            "watch",
            200,
            false,
            false,
        ),
        e(
            &watch,
            "ResponseComplete",
            "Metadata",
            "watch",
            200,
            false,
            false,
        ),
        e(
            &update,
            "ResponseComplete",
            "RequestResponse",
            "update",
            200,
            true,
            true,
        ),
        e(
            &delete,
            "RequestReceived",
            "Request",
            "delete",
            0,
            false,
            false,
        ),
        e(
            &delete,
            "ResponseComplete",
            "Request",
            "delete",
            200,
            false,
            false,
        ),
        e(
            &missing,
            "ResponseComplete",
            "RequestResponse",
            "get",
            404,
            false,
            true,
        ),
        e(
            &unauthorized,
            "ResponseStarted",
            "Metadata",
            "list",
            401,
            false,
            false,
        ),
        e(
            &forbidden,
            "RequestReceived",
            "Metadata",
            "list",
            0,
            false,
            false,
        ),
        e(
            &forbidden,
            "ResponseComplete",
            "Metadata",
            "list",
            403,
            false,
            false,
        ),
        e(
            &chosen,
            "RequestReceived",
            "Request",
            "list",
            0,
            false,
            false,
        ),
        e(
            &chosen,
            "ResponseComplete",
            "Request",
            "list",
            200,
            false,
            false,
        ),
    ];
    let events = read_events(&log);
    let got: Vec<String> = events
        .iter()
        .map(|ev| {
            format!(
                "{} {} {} {}",
                ev["verb"], ev["stage"], ev["level"], ev["responseStatus"]["code"]
            )
        })
        .collect();
    assert_eq!(events.len(), expected.len(), "{got:#?}");
    for (i, (ev, want)) in events.iter().zip(&expected).enumerate() {
        let what = format!("event {i}: {}", ev);
        assert_eq!(ev["kind"], "Event", "{what}");
        assert_eq!(ev["apiVersion"], "audit.k8s.io/v1", "{what}");
        assert_eq!(
            ev["auditID"].as_str(),
            want.resp.header("audit-id"),
            "{what}"
        );
        assert_eq!(ev["stage"], want.stage, "{what}");
        assert_eq!(ev["level"], want.level, "{what}");
        assert_eq!(ev["verb"], want.verb, "{what}");
        assert_eq!(
            ev["responseStatus"]["code"].as_u64().unwrap_or(0),
            want.code,
            "{what}"
        );
        assert_eq!(
            ev.get("requestObject").is_some(),
            want.request_object,
            "{what}"
        );
        assert_eq!(
            ev.get("responseObject").is_some(),
            want.response_object,
            "{what}"
        );
        assert_eq!(ev["objectRef"]["namespace"], "demo", "{what}");
        assert_eq!(ev["objectRef"]["apiVersion"], "v1", "{what}");
        assert!(
            ev["requestReceivedTimestamp"]
                .as_str()
                .unwrap()
                .ends_with('Z'),
            "{what}"
        );
        assert_eq!(ev["sourceIPs"], json!(["127.0.0.1"]), "{what}");
    }
    // The bodies as sent and as answered.
    assert_eq!(events[0]["requestObject"]["data"], json!({"a": "1"}));
    assert_eq!(events[0]["responseObject"]["metadata"]["name"], "cfg");
    assert_eq!(events[0]["objectRef"]["resource"], "configmaps");
    assert_eq!(events[1]["objectRef"]["name"], "cfg");
    assert_eq!(events[7]["requestObject"]["data"], json!({"a": "2"}));
    // Who, and what authorization said.
    assert_eq!(events[0]["user"]["username"], "admin");
    assert_eq!(
        events[0]["annotations"]["authorization.k8s.io/decision"],
        "allow"
    );
    assert_eq!(events[10]["responseStatus"]["reason"], "NotFound");
    assert_eq!(events[10]["responseObject"]["kind"], "Status");
    let failed = &events[11];
    assert_eq!(
        failed["user"],
        json!({}),
        "a refused credential names nobody"
    );
    assert_eq!(failed["responseStatus"]["reason"], "Unauthorized");
    assert_eq!(failed["objectRef"]["resource"], "secrets");
    let denied = &events[13];
    assert_eq!(denied["user"]["username"], "bob");
    assert_eq!(denied["responseStatus"]["reason"], "Forbidden");
    assert_eq!(
        denied["annotations"]["authorization.k8s.io/decision"],
        "forbid"
    );
    assert!(
        events[12].get("annotations").is_none(),
        "RequestReceived comes before authorization"
    );
}

#[test]
fn kubes_example_policy_file_in_yaml_audits_a_request() {
    let dir = scratch("yaml");
    let policy = dir.join("policy.yaml");
    std::fs::write(&policy, include_str!("fixtures/audit-policy.yaml")).unwrap();
    let log = dir.join("audit.log");
    let s = TestServer::start(
        "audit-yaml",
        &[
            &format!("--audit-policy-file={}", policy.display()),
            &format!("--audit-log-path={}", log.display()),
        ],
    );
    assert_eq!(s.get("/api/v1/namespaces/default/pods").status, 200);
    assert_eq!(s.get("/version").status, 200);
    s.stop();
    let events: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let pods: Vec<_> = events
        .iter()
        .filter(|e| e["requestURI"] == "/api/v1/namespaces/default/pods")
        .collect();
    // The first rule: pods at RequestResponse, with RequestReceived left out by the policy.
    assert_eq!(pods.len(), 1, "{events:?}");
    assert_eq!(pods[0]["level"], "RequestResponse");
    assert_eq!(pods[0]["stage"], "ResponseComplete");
    assert!(
        events.iter().all(|e| e["requestURI"] != "/version"),
        "/version is level None for authenticated users"
    );
}

#[test]
fn a_bad_policy_file_stops_the_start_with_its_reason() {
    let dir = scratch("bad");
    let policy = dir.join("policy.yaml");
    std::fs::write(
        &policy,
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  verbs: *all\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mini-apiserver"))
        .args([
            "--secure-port=0",
            &format!("--cert-dir={}", dir.join("certs").display()),
            &format!("--audit-policy-file={}", policy.display()),
            &format!("--audit-log-path={}", dir.join("audit.log").display()),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("loading audit policy file: file"), "{err}");
    assert!(
        err.contains("failed decoding: yaml: line 5 column 10: aliases (*name) are not supported"),
        "{err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_mini-apiserver"))
        .args(["--audit-log-format=legacy"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("invalid audit log format legacy, allowed formats are \"json\""));
}

/// `curl` against the binary: the status line's code and the `Audit-Id` header.
fn curl(port: u16, dir: &Path, token: &str, path: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-D",
            "-",
            "--cacert",
            &dir.join("ca.crt").display().to_string(),
            "-H",
            &format!("Authorization: Bearer {token}"),
            &format!("https://localhost:{port}{path}"),
        ])
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&out.stdout).into_owned();
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let id = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("Audit-Id: ")
                .or_else(|| l.strip_prefix("audit-id: "))
        })
        .unwrap_or_default()
        .trim()
        .to_string();
    (code, id)
}

#[test]
fn sigterm_loses_no_event_of_a_served_request() {
    let dir = scratch("sigterm");
    let policy = dir.join("policy.json");
    std::fs::write(
        &policy,
        r#"{"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[{"level":"Metadata","nonResourceURLs":["/version"]}]}"#,
    )
    .unwrap();
    let log = dir.join("audit.log");
    let certs = dir.join("certs");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mini-apiserver"))
        .args([
            "--secure-port=0".to_string(),
            format!("--cert-dir={}", certs.display()),
            format!("--audit-policy-file={}", policy.display()),
            format!("--audit-log-path={}", log.display()),
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let port = common::wait_for_secure_port(&mut child);
    let token = std::fs::read_to_string(certs.join("admin.token"))
        .unwrap()
        .trim()
        .to_string();
    let mut ids = Vec::new();
    for _ in 0..20 {
        let (code, id) = curl(port, &certs, &token, "/version");
        assert_eq!(code, 200);
        ids.push(id);
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(15);
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        assert!(Instant::now() < deadline, "never exited");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(code, Some(0));
    let events = read_events(&log);
    for id in &ids {
        let stages: Vec<&str> = events
            .iter()
            .filter(|e| e["auditID"] == id.as_str())
            .map(|e| e["stage"].as_str().unwrap())
            .collect();
        assert_eq!(stages, ["RequestReceived", "ResponseComplete"], "{id}");
    }
    assert_eq!(events.len(), 2 * ids.len());
}
