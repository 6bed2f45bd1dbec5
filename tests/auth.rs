//! Authentication and authorization at the door: tokens, anonymous, AlwaysAllow / AlwaysDeny.
//! RBAC itself is tested in `tests/rbac.rs`.

mod common;

use common::TestServer;

#[test]
fn anonymous_reaches_only_health_and_version() {
    // Under the default mode, RBAC, what anonymous callers may read is what the bootstrap
    // binding of system:public-info-viewer to system:unauthenticated grants.
    let s = TestServer::start("anonymous", &[]);
    let anon = |path: &str| s.request("GET", path, &[("Authorization", "")], None);
    // The helper sends the admin token unless a header named Authorization is given; an empty one
    // is dropped, so these requests carry no credentials at all.
    for path in ["/healthz", "/livez", "/readyz", "/version"] {
        assert_eq!(anon(path).status, 200, "{path}");
    }
    // Discovery is for authenticated users (system:discovery), and the role names each health
    // path exactly, so the individual checks are not public either.
    for path in ["/api", "/apis", "/api/v1", "/openapi/v2", "/readyz/ping"] {
        let resp = anon(path);
        assert_eq!(resp.status, 403, "{path}");
        assert_eq!(
            resp.json()["message"],
            format!("forbidden: User \"system:anonymous\" cannot get path \"{path}\"")
        );
    }
    let list = anon("/api/v1/namespaces/default/configmaps");
    assert_eq!(list.status, 403);
    assert_eq!(list.json()["message"], "configmaps is forbidden: User \"system:anonymous\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"default\"");
    let bad = s.request(
        "GET",
        "/api/v1/namespaces",
        &[("Authorization", "Bearer not-a-token")],
        None,
    );
    assert_eq!(bad.status, 401);
    assert_eq!(bad.json()["reason"], "Unauthorized");
    s.stop();
}

#[test]
fn anonymous_auth_can_be_turned_off() {
    let s = TestServer::start("no-anonymous", &["--anonymous-auth=false"]);
    assert_eq!(
        s.request("GET", "/version", &[("Authorization", "")], None)
            .status,
        401
    );
    s.stop();
}

#[test]
fn token_file_users_and_always_deny() {
    let dir = std::env::temp_dir().join(format!("mini-apiserver-tokens-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tokens.csv");
    std::fs::write(&file, "alice-token,alice,1001,\"dev,ops\"\n").unwrap();
    let flag = format!("--token-auth-file={}", file.display());

    let allow = TestServer::start("token-allow", &[&flag, "--authorization-mode=AlwaysAllow"]);
    let alice = allow.request(
        "GET",
        "/api/v1/namespaces",
        &[("Authorization", "Bearer alice-token")],
        None,
    );
    assert_eq!(alice.status, 200);
    allow.stop();

    let deny = TestServer::start("token-deny", &[&flag, "--authorization-mode=AlwaysDeny"]);
    let alice = deny.request(
        "GET",
        "/api/v1/namespaces",
        &[("Authorization", "Bearer alice-token")],
        None,
    );
    assert_eq!(alice.status, 403);
    assert!(
        alice.json()["message"]
            .as_str()
            .unwrap()
            .ends_with("at the cluster scope: Everything is forbidden."),
        "{}",
        alice.text()
    );
    // The admin is in system:masters, which every authorizer chain lets through.
    assert_eq!(deny.get("/api/v1/namespaces").status, 200);
    deny.stop();
}
