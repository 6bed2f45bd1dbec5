//! Chapter 3: the generic config. Builds it as `buildGenericConfig` does, then asks each part a
//! question: who is this token or certificate, may they do this, what does admission say, what
//! did storage do, at which level a request is audited.
//!
//! Run: `cargo run --example ch03_generic_config`

use std::sync::Arc;

use mini_apiserver::cmd::{new_api_server_command, Command};
use mini_apiserver::config::authentication::AuthResult;
use mini_apiserver::config::{build_generic_config, Config};
use mini_apiserver::http::Request;
use mini_apiserver::server::filters::request_info::RequestInfo;
use rcgen::{CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::CertificateDer;

/// A self-signed CA, as `openssl req -x509` would make one.
fn ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    (params.self_signed(&key).unwrap(), key)
}

/// A client certificate for jane in the group dev, signed by `issuer`.
fn client_cert(issuer: &rcgen::Certificate, issuer_key: &KeyPair) -> CertificateDer<'static> {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, "jane");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "dev");
    params
        .signed_by(&key, issuer, issuer_key)
        .unwrap()
        .der()
        .clone()
}

/// The generic config these flags make, as the server would build it at startup.
fn generic_config(args: &[String]) -> Config {
    let Ok(Command::Run(opts)) = new_api_server_command(args.iter().map(Into::into)) else {
        panic!("flags")
    };
    build_generic_config(
        &opts,
        Arc::new(mini_apiserver::apis::new_scheme()),
        "admin-token",
        6443,
    )
    .expect("config")
}

fn main() {
    let dir = std::env::temp_dir().join(format!("ch03-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tokens = dir.join("tokens.csv");
    std::fs::write(&tokens, "alice-token,alice,1001,\"dev\"\n").unwrap();
    // A client CA whose certificate the server trusts, and one it has never heard of.
    let (client_ca, client_ca_key) = ca("client-ca");
    std::fs::write(dir.join("client-ca.crt"), client_ca.pem()).unwrap();
    let (stranger, stranger_key) = ca("stranger-ca");
    let args = [
        format!("--token-auth-file={}", tokens.display()),
        format!("--client-ca-file={}", dir.join("client-ca.crt").display()),
        "--authorization-mode=AlwaysDeny".into(),
    ];
    let config = generic_config(&args);

    println!("authentication:");
    for header in [
        Some("Bearer alice-token"),
        Some("Bearer admin-token"),
        Some("Bearer wrong"),
        None,
    ] {
        let req = Request {
            headers: header
                .map(|h| vec![("Authorization".into(), h.into())])
                .unwrap_or_default(),
            ..Default::default()
        };
        let who = match config.authenticator.authenticate(&req) {
            AuthResult::User(u) => format!("{} {:?}", u.name, u.groups),
            AuthResult::Invalid => "401 Unauthorized".into(),
        };
        println!("  {:<22} -> {who}", header.unwrap_or("(no credentials)"));
    }
    for (what, issuer, issuer_key) in [
        ("cert CN=jane O=dev", &client_ca, &client_ca_key),
        ("cert of another CA", &stranger, &stranger_key),
    ] {
        // What the TLS layer hands over: the chain the client presented.
        let req = Request {
            peer_certificates: Some(Arc::new(vec![client_cert(issuer, issuer_key)])),
            ..Default::default()
        };
        let who = match config.authenticator.authenticate(&req) {
            AuthResult::User(u) => format!("{} {:?}", u.name, u.groups),
            AuthResult::Invalid => "401 Unauthorized".into(),
        };
        println!("  {what:<22} -> {who}");
    }

    println!("authorization (--authorization-mode=AlwaysDeny):");
    let list = RequestInfo::parse("GET", "/api/v1/namespaces/default/configmaps", "");
    let version = RequestInfo::parse("GET", "/version", "");
    for token in ["alice-token", "admin-token"] {
        let req = Request {
            headers: vec![("Authorization".into(), format!("Bearer {token}"))],
            ..Default::default()
        };
        let AuthResult::User(user) = config.authenticator.authenticate(&req) else {
            continue;
        };
        println!(
            "  {:<6} list configmaps -> {:?}",
            user.name,
            config.authorizer.authorize(&user, &list)
        );
        println!(
            "  {:<6} get /version    -> {:?}",
            user.name,
            config.authorizer.authorize(&user, &version)
        );
    }

    println!("admission plugins: {:?}", config.admission.names());
    println!(
        "storage: embedded, revision {}",
        config.storage.current_revision()
    );
    let kv = config
        .storage
        .create("/registry/demo/a", b"{}".to_vec())
        .unwrap();
    println!(
        "  create /registry/demo/a -> mod revision {}",
        kv.mod_revision
    );
    println!(
        "  update with a stale revision -> {:?}",
        config
            .storage
            .update("/registry/demo/a", b"{}".to_vec(), 1)
            .err()
            .map(|e| e.to_string())
    );
    rbac_from_storage(&tokens);
    audit_levels(&dir);
}

/// RBAC reads its roles and bindings from storage: one ClusterRole and one binding written
/// straight to the store are enough for the authorizer to answer, with its reason.
fn rbac_from_storage(tokens: &std::path::Path) {
    let args = [format!("--token-auth-file={}", tokens.display())];
    let config = generic_config(&args);
    let put = |key: &str, obj: serde_json::Value| {
        config
            .storage
            .create(key, obj.to_string().into_bytes())
            .unwrap();
    };
    put(
        "/registry/clusterroles/cm-reader",
        serde_json::json!({"metadata": {"name": "cm-reader"},
            "rules": [{"verbs": ["list"], "apiGroups": [""], "resources": ["configmaps"]}]}),
    );
    put(
        "/registry/clusterrolebindings/dev-reads",
        serde_json::json!({"metadata": {"name": "dev-reads"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cm-reader"},
            "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "dev"}]}),
    );
    println!("authorization (--authorization-mode=RBAC, one binding in storage):");
    let alice = mini_apiserver::config::authentication::UserInfo {
        name: "alice".into(),
        uid: "1001".into(),
        groups: vec!["dev".into(), "system:authenticated".into()],
        ..Default::default()
    };
    for (method, path) in [
        ("GET", "/api/v1/namespaces/default/configmaps"),
        ("DELETE", "/api/v1/namespaces/default/configmaps/x"),
    ] {
        let info = RequestInfo::parse(method, path, "");
        let answer = config.authorizer.answer(&alice, &info);
        println!(
            "  alice  {} {} -> {:?} {:?}",
            info.verb, info.resource, answer.decision, answer.reason
        );
    }
}

/// The audit policy: the level the first matching rule gives each request.
fn audit_levels(dir: &std::path::Path) {
    let policy = dir.join("policy.json");
    std::fs::write(
        &policy,
        r#"{"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[
          {"level":"None","nonResourceURLs":["/healthz*"]},
          {"level":"RequestResponse","verbs":["create"],"resources":[{"resources":["configmaps"]}]},
          {"level":"Metadata"}]}"#,
    )
    .unwrap();
    let args = [
        format!("--audit-policy-file={}", policy.display()),
        format!("--audit-log-path={}", dir.join("audit.log").display()),
    ];
    let config = generic_config(&args);
    let audit = config.audit.expect("a policy and a log path: audit is on");
    println!("audit (--audit-policy-file, the first matching rule decides):");
    let alice = mini_apiserver::config::authentication::UserInfo {
        name: "alice".into(),
        ..Default::default()
    };
    for (method, path) in [
        ("POST", "/api/v1/namespaces/default/configmaps"),
        ("GET", "/api/v1/namespaces/default/configmaps"),
        ("GET", "/healthz"),
    ] {
        let info = RequestInfo::parse(method, path, "");
        let what = if info.is_resource_request {
            format!("{} {}", info.verb, info.resource)
        } else {
            format!("{} {}", info.verb, info.path)
        };
        println!(
            "  alice  {what:<17} -> {:?}",
            audit.policy.evaluate(&alice, &info).level
        );
    }
}
