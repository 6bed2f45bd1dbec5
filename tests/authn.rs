//! Authentication at the door, over real TLS: client certificates, a front proxy's headers,
//! and impersonation. Each test asks `authentication.k8s.io/v1` SelfSubjectReview who the
//! server thinks the caller is.

mod common;

use common::{ClientResponse, TestCa, TestServer};
use serde_json::{json, Value};

const WHOAMI: &str = "/apis/authentication.k8s.io/v1/selfsubjectreviews";
const REVIEW: &[u8] = br#"{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"#;
const JSON: (&str, &str) = ("Content-Type", "application/json");

fn user_info(resp: &ClientResponse) -> Value {
    assert_eq!(resp.status, 201, "{}", resp.text());
    resp.json()["status"]["userInfo"].clone()
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mini-apiserver-authn-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn client_certificates_signed_by_the_client_ca_name_the_user() {
    let dir = scratch("x509");
    let ca = TestCa::new(&dir.join("client-ca.crt"), "client-ca");
    let stranger = TestCa::new(&dir.join("other-ca.crt"), "other-ca");
    let flag = format!("--client-ca-file={}", dir.join("client-ca.crt").display());
    // AlwaysAllow: whether jane may ask is not the question here.
    let s = TestServer::start("x509", &[&flag, "--authorization-mode=AlwaysAllow"]);

    let jane = ca.issue("jane", Some("dev"));
    let info = user_info(&s.request_with_cert(&jane, "POST", WHOAMI, &[JSON], Some(REVIEW)));
    assert_eq!(info["username"], "jane");
    assert_eq!(info["groups"], json!(["dev", "system:authenticated"]));
    let id = info["extra"]["authentication.kubernetes.io/credential-id"][0]
        .as_str()
        .unwrap();
    assert!(id.starts_with("X509SHA256="), "{id}");

    // The certificate is tried before a bearer token, so even a bad token does not matter.
    let with_token = s.request_with_cert(
        &jane,
        "POST",
        WHOAMI,
        &[JSON, ("Authorization", "Bearer not-a-token")],
        Some(REVIEW),
    );
    assert_eq!(user_info(&with_token)["username"], "jane");

    // A certificate no trusted CA signed: the handshake completes (as with Go's
    // RequestClientCert) and the answer is a 401 the client can read.
    let forged = s.request_with_cert(
        &stranger.issue("admin", Some("system:masters")),
        "GET",
        "/api/v1/namespaces",
        &[],
        None,
    );
    assert_eq!(forged.status, 401, "{}", forged.text());
    assert_eq!(forged.json()["reason"], "Unauthorized");

    // No certificate at all: still welcome, as anonymous or with a token.
    let anon = s.request("GET", "/version", &[("Authorization", "")], None);
    assert_eq!(anon.status, 200, "{}", anon.text());
    assert_eq!(s.get("/api/v1/namespaces").status, 200);
    s.stop();
}

/// The aggregator's set-up: a front-proxy CA that only the proxy's certificate comes from, and
/// the usual X-Remote-* headers.
fn front_proxy_server(dir: &std::path::Path, allowed: &str) -> TestServer {
    let flags = [
        format!("--client-ca-file={}", dir.join("client-ca.crt").display()),
        format!(
            "--requestheader-client-ca-file={}",
            dir.join("proxy-ca.crt").display()
        ),
        format!("--requestheader-allowed-names={allowed}"),
        "--requestheader-username-headers=X-Remote-User".into(),
        "--requestheader-group-headers=X-Remote-Group".into(),
        "--requestheader-extra-headers-prefix=X-Remote-Extra-".into(),
        "--authorization-mode=AlwaysAllow".into(),
    ];
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    TestServer::start("front-proxy", &flags)
}

#[test]
fn a_front_proxy_vouches_for_users_in_headers() {
    let dir = scratch("front-proxy");
    let client_ca = TestCa::new(&dir.join("client-ca.crt"), "client-ca");
    let proxy_ca = TestCa::new(&dir.join("proxy-ca.crt"), "front-proxy-ca");
    let s = front_proxy_server(&dir, "front-proxy");
    let asserted = [
        JSON,
        ("X-Remote-User", "jane"),
        ("X-Remote-Group", "dev"),
        ("X-Remote-Group", "ops"),
        ("X-Remote-Extra-Acme.com%2Fproject", "apollo"),
    ];

    let proxy = proxy_ca.issue("front-proxy", None);
    let info = user_info(&s.request_with_cert(&proxy, "POST", WHOAMI, &asserted, Some(REVIEW)));
    assert_eq!(info["username"], "jane");
    assert_eq!(
        info["groups"],
        json!(["dev", "ops", "system:authenticated"])
    );
    assert_eq!(info["extra"]["acme.com/project"], json!(["apollo"]));

    // A certificate of the proxy CA with a name not in --requestheader-allowed-names.
    let impostor = proxy_ca.issue("not-the-proxy", None);
    let refused = s.request_with_cert(&impostor, "POST", WHOAMI, &asserted, Some(REVIEW));
    assert_eq!(refused.status, 401, "{}", refused.text());

    // An ordinary client certificate may not speak for anyone: the headers are ignored, and
    // the certificate's own name is the user.
    let bob = client_ca.issue("bob", None);
    let info = user_info(&s.request_with_cert(&bob, "POST", WHOAMI, &asserted, Some(REVIEW)));
    assert_eq!(info["username"], "bob");
    assert_eq!(info["groups"], json!(["system:authenticated"]));

    // Nor may a token user.
    let admin = s.request("POST", WHOAMI, &asserted, Some(REVIEW));
    assert_eq!(user_info(&admin)["username"], "admin");
    s.stop();
}

#[test]
fn any_proxy_certificate_counts_when_no_names_are_listed() {
    let dir = scratch("front-proxy-any");
    TestCa::new(&dir.join("client-ca.crt"), "client-ca");
    let proxy_ca = TestCa::new(&dir.join("proxy-ca.crt"), "front-proxy-ca");
    let s = front_proxy_server(&dir, "");
    let proxy = proxy_ca.issue("any-name", None);
    let headers = [JSON, ("X-Remote-User", "jane")];
    let info = user_info(&s.request_with_cert(&proxy, "POST", WHOAMI, &headers, Some(REVIEW)));
    assert_eq!(info["username"], "jane");
    // Without a user header, the proxy's certificate is not a client certificate here (another
    // CA signed it), so nobody accepts it.
    let nobody = s.request_with_cert(&proxy, "POST", WHOAMI, &[JSON], Some(REVIEW));
    assert_eq!(nobody.status, 401, "{}", nobody.text());
    s.stop();
}

fn token_file(name: &str) -> String {
    let dir = scratch(name);
    let file = dir.join("tokens.csv");
    std::fs::write(&file, "alice-token,alice,1001,\"dev,ops\"\n").unwrap();
    format!("--token-auth-file={}", file.display())
}

#[test]
fn impersonation_is_authorized_with_the_impersonate_verb() {
    let tokens = token_file("impersonation-deny");
    let s = TestServer::start(
        "impersonation-deny",
        &[&tokens, "--authorization-mode=AlwaysDeny"],
    );
    let as_jane = [
        JSON,
        ("Impersonate-User", "jane"),
        ("Impersonate-Group", "dev"),
    ];

    // The admin (system:masters) may impersonate; the request then runs as jane, whom
    // AlwaysDeny refuses: the 403 names her, not the admin.
    let refused = s.request("POST", WHOAMI, &as_jane, Some(REVIEW));
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.json()["message"],
        "selfsubjectreviews.authentication.k8s.io is forbidden: User \"jane\" cannot create resource \"selfsubjectreviews\" in API group \"authentication.k8s.io\" at the cluster scope: Everything is forbidden."
    );
    let as_master = [
        JSON,
        ("Impersonate-User", "jane"),
        ("Impersonate-Group", "system:masters"),
        ("Impersonate-Uid", "42"),
        ("Impersonate-Extra-Scopes", "view"),
    ];
    let info = user_info(&s.request("POST", WHOAMI, &as_master, Some(REVIEW)));
    assert_eq!(info["username"], "jane");
    assert_eq!(info["uid"], "42");
    assert_eq!(
        info["groups"],
        json!(["system:masters", "system:authenticated"])
    );
    assert_eq!(info["extra"]["scopes"], json!(["view"]));

    // A token user may not: the first check (the user) is refused, worded as kube words it.
    let alice = [
        ("Authorization", "Bearer alice-token"),
        ("Impersonate-User", "jane"),
    ];
    let refused = s.request("GET", "/api/v1/namespaces", &alice, None);
    assert_eq!(refused.status, 403);
    let body = refused.json();
    assert_eq!(
        body["message"],
        "users \"jane\" is forbidden: User \"alice\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope: Everything is forbidden."
    );
    assert_eq!(body["details"], json!({"name": "jane", "kind": "users"}));

    // Groups without a user are refused before any check.
    let no_user = s.request(
        "GET",
        "/api/v1/namespaces",
        &[("Impersonate-Group", "dev")],
        None,
    );
    assert_eq!(no_user.status, 500);
    s.stop();
}

#[test]
fn token_users_impersonate_when_the_authorizer_allows() {
    let tokens = token_file("impersonation-allow");
    let s = TestServer::start(
        "impersonation-allow",
        &[&tokens, "--authorization-mode=AlwaysAllow"],
    );
    let headers = [
        JSON,
        ("Authorization", "Bearer alice-token"),
        ("Impersonate-User", "system:serviceaccount:demo:robot"),
    ];
    let info = user_info(&s.request("POST", WHOAMI, &headers, Some(REVIEW)));
    assert_eq!(info["username"], "system:serviceaccount:demo:robot");
    assert_eq!(
        info["groups"],
        json!([
            "system:serviceaccounts",
            "system:serviceaccounts:demo",
            "system:authenticated"
        ])
    );
    // Without impersonation, alice is alice, with her uid and groups from the file.
    let me = [JSON, ("Authorization", "Bearer alice-token")];
    let info = user_info(&s.request("POST", WHOAMI, &me, Some(REVIEW)));
    assert_eq!(info["uid"], "1001");
    assert_eq!(
        info["groups"],
        json!(["dev", "ops", "system:authenticated"])
    );
    s.stop();
}

#[test]
fn unreadable_authentication_files_stop_the_start() {
    use mini_apiserver::cmd::new_api_server_command;
    let missing = std::env::temp_dir().join("mini-apiserver-no-such-ca.crt");
    let args = [
        format!("--client-ca-file={}", missing.display()),
        format!("--requestheader-client-ca-file={}", missing.display()),
        format!("--token-auth-file={}", missing.display()),
    ];
    let err = match new_api_server_command(args.iter().map(Into::into)) {
        Err(e) => e.0,
        Ok(_) => panic!("missing files accepted"),
    };
    for flag in [
        "--client-ca-file",
        "--requestheader-client-ca-file",
        "--token-auth-file",
    ] {
        assert!(
            err.iter()
                .any(|e| e.starts_with(&format!("{flag} {}", missing.display()))),
            "{err:?}"
        );
    }
}
