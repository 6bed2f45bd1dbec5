//! Admission plugins through HTTP: which plugins run is decided by the flags, in kube-apiserver's
//! fixed order, and each refusal is the Status kube-apiserver gives.

mod common;

use common::TestServer;
use mini_apiserver::cmd::new_api_server_command;
use serde_json::{json, Value};

fn config_map(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}})
}

#[test]
fn a_bad_plugin_name_stops_the_start_in_kubes_words() {
    let err = new_api_server_command(
        [
            "--enable-admission-plugins=NamespaceExists,Nope",
            "--disable-admission-plugins=NamespaceExists",
        ]
        .into_iter()
        .map(Into::into),
    )
    .err()
    .expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("enable-admission-plugins plugin \"Nope\" is unknown"),
        "{text}"
    );
    assert!(
        text.contains(
            "[NamespaceExists] in enable-admission-plugins and disable-admission-plugins overlapped"
        ),
        "{text}"
    );
}

#[test]
fn namespace_lifecycle_refuses_missing_namespaces_and_keeps_the_immortal_ones() {
    let s = TestServer::start("admission-lifecycle", &[]);
    let r = s.send_json(
        "POST",
        "/api/v1/namespaces/nowhere/configmaps",
        &config_map("a"),
    );
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.json()["message"], "namespaces \"nowhere\" not found");

    for name in ["default", "kube-system", "kube-public"] {
        let r = s.request("DELETE", &format!("/api/v1/namespaces/{name}"), &[], None);
        assert_eq!(r.status, 403, "{}", r.text());
        assert_eq!(
            r.json()["message"],
            format!("namespaces \"{name}\" is forbidden: this namespace may not be deleted")
        );
    }
}

#[test]
fn namespace_autoprovision_creates_the_namespace_but_not_on_a_dry_run() {
    let s = TestServer::start(
        "admission-autoprovision",
        &["--enable-admission-plugins=NamespaceAutoProvision"],
    );
    let dry = s.send_json(
        "POST",
        "/api/v1/namespaces/dry/configmaps?dryRun=All",
        &config_map("a"),
    );
    // The dry run creates no namespace, so NamespaceLifecycle, which runs after, finds none.
    assert_eq!(dry.status, 404, "{}", dry.text());
    assert_eq!(s.get("/api/v1/namespaces/dry").status, 404);

    let r = s.send_json(
        "POST",
        "/api/v1/namespaces/made/configmaps",
        &config_map("a"),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let ns = s.get("/api/v1/namespaces/made").json();
    assert_eq!(ns["status"]["phase"], "Active");
    assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
}

#[test]
fn namespace_exists_alone_refuses_with_the_namespace_404() {
    let s = TestServer::start(
        "admission-exists",
        &[
            "--disable-admission-plugins=NamespaceLifecycle",
            "--enable-admission-plugins=NamespaceExists",
        ],
    );
    let r = s.send_json(
        "POST",
        "/api/v1/namespaces/nowhere/configmaps",
        &config_map("a"),
    );
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.json()["details"]["kind"], "namespaces");
    // Without NamespaceLifecycle, nothing protects default from deletion.
    let r = s.request("DELETE", "/api/v1/namespaces/kube-public", &[], None);
    assert_eq!(r.status, 200, "{}", r.text());
}
