//! End to end with the real kubectl (and once the Python client): a kubeconfig holding a client
//! certificate signed by `--client-ca-file`, one holding a token, `--as`/`--as-group`, and no
//! credentials at all, each asked `kubectl auth whoami`, which prints kube-apiserver's table.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{TestCa, TestServer};

fn kubectl(s: &TestServer, kubeconfig: &Path, args: &[&str]) -> (bool, String) {
    s.kubectl_with(kubeconfig, args)
}

/// A copy of the admin kubeconfig (same cluster, same CA) whose current user is `user`,
/// with the credentials `kubectl config set-credentials` takes from `credentials`.
fn kubeconfig_for(s: &TestServer, user: &str, credentials: &[&str]) -> PathBuf {
    let path = s.dir.join(format!("{user}.kubeconfig"));
    std::fs::copy(&s.kubeconfig, &path).unwrap();
    let mut set = vec!["config", "set-credentials", user];
    set.extend_from_slice(credentials);
    for args in [
        set,
        vec![
            "config",
            "set-context",
            "--current",
            &format!("--user={user}"),
        ],
    ] {
        let (ok, text) = kubectl(s, &path, &args);
        assert!(ok, "kubectl {args:?}: {text}");
    }
    path
}

/// `kubectl auth whoami`, its table with the column padding folded to one space.
fn whoami(s: &TestServer, kubeconfig: &Path, args: &[&str]) -> Vec<String> {
    let mut all = vec!["auth", "whoami"];
    all.extend_from_slice(args);
    let (ok, text) = kubectl(s, kubeconfig, &all);
    assert!(ok, "kubectl auth whoami {args:?}: {text}");
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn kubectl_auth_whoami_for_each_way_in() {
    let dir = std::env::temp_dir().join(format!("mini-apiserver-e2e-authn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = TestCa::new(&dir.join("client-ca.crt"), "client-ca");
    let tokens = dir.join("tokens.csv");
    std::fs::write(&tokens, "alice-token,alice,1001,\"dev,ops\"\n").unwrap();
    let flags = [
        format!("--client-ca-file={}", dir.join("client-ca.crt").display()),
        format!("--token-auth-file={}", tokens.display()),
        "--authorization-mode=AlwaysAllow".to_string(),
    ];
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let s = TestServer::start("e2e-authn", &flags);

    // A client certificate for jane in the group dev, embedded in her kubeconfig.
    let jane = ca.issue("jane", Some("dev"));
    std::fs::write(dir.join("jane.crt"), &jane.cert_pem).unwrap();
    std::fs::write(dir.join("jane.key"), &jane.key_pem).unwrap();
    let cert = format!("--client-certificate={}", dir.join("jane.crt").display());
    let key = format!("--client-key={}", dir.join("jane.key").display());
    let jane_config = kubeconfig_for(&s, "jane", &[&cert, &key, "--embed-certs"]);
    let table = whoami(&s, &jane_config, &[]);
    assert_eq!(
        table[..3],
        [
            "ATTRIBUTE VALUE",
            "Username jane",
            "Groups [dev system:authenticated]"
        ],
        "{table:?}"
    );
    assert!(
        table[3].starts_with("Extra: authentication.kubernetes.io/credential-id [X509SHA256="),
        "{table:?}"
    );

    let alice_config = kubeconfig_for(&s, "alice", &["--token=alice-token"]);
    assert_eq!(
        whoami(&s, &alice_config, &[]),
        [
            "ATTRIBUTE VALUE",
            "Username alice",
            "UID 1001",
            "Groups [dev ops system:authenticated]"
        ]
    );

    assert_eq!(
        whoami(
            &s,
            &s.kubeconfig,
            &["--as=jane", "--as-group=dev", "--as-group=qa"]
        ),
        [
            "ATTRIBUTE VALUE",
            "Username jane",
            "Groups [dev qa system:authenticated]"
        ]
    );
    // The certificate user works for ordinary commands too.
    let (ok, text) = kubectl(&s, &jane_config, &["get", "ns", "default", "-o", "name"]);
    assert!(ok && text.trim() == "namespace/default", "{text}");

    // The Python client with the same kubeconfig: its own TLS stack presents the certificate.
    let script = r#"
import sys
from kubernetes import client, config
config.load_kube_config(sys.argv[1])
review = client.AuthenticationV1Api().create_self_subject_review(
    {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
info = review.status.user_info
assert info.username == "jane", info
assert info.groups == ["dev", "system:authenticated"], info.groups
print("python whoami ok")
"#;
    let out = Command::new(common::tool("PYTHON", "python3"))
        .args(["-c", script, jane_config.to_str().unwrap()])
        .output()
        .expect("python runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("python whoami ok"),
        "{text}"
    );
    s.stop();
}

#[test]
fn kubectl_anonymous_and_refused_impersonation() {
    let dir = std::env::temp_dir().join(format!("mini-apiserver-e2e-deny-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tokens = dir.join("tokens.csv");
    std::fs::write(&tokens, "alice-token,alice,1001,dev\n").unwrap();
    let token_flag = format!("--token-auth-file={}", tokens.display());
    let s = TestServer::start(
        "e2e-deny",
        &[&token_flag, "--authorization-mode=AlwaysDeny"],
    );

    // A user kubectl can send no token or certificate for would be asked for a password at a
    // terminal; given one, kubectl sends HTTP basic auth, which kube-apiserver no longer
    // knows, so the request is anonymous. And the authorizer does not let system:anonymous ask.
    let anonymous = kubeconfig_for(&s, "anonymous", &["--username=nobody", "--password=secret"]);
    let (ok, text) = kubectl(&s, &anonymous, &["auth", "whoami"]);
    assert!(!ok, "{text}");
    // kubectl's own words for a 403 (or 404) from the review.
    assert_eq!(
        text.trim(),
        "error: the selfsubjectreviews API is not enabled in the cluster or you do not have permission to call it"
    );
    // Nor may it read discovery, as in kube-apiserver, so `get ns` would stop there: `--raw`
    // goes straight to the list.
    let (ok, text) = kubectl(&s, &anonymous, &["get", "--raw", "/api/v1/namespaces"]);
    assert!(!ok, "{text}");
    assert!(
        text.starts_with("Error from server (Forbidden): namespaces is forbidden: User \"system:anonymous\" cannot list resource \"namespaces\" in API group \"\" at the cluster scope"),
        "{text}"
    );

    let alice = kubeconfig_for(&s, "alice", &["--token=alice-token"]);
    // `--raw` again: discovery is refused too, and kubectl's message for that names nothing.
    let (ok, text) = kubectl(
        &s,
        &alice,
        &["get", "--raw", "/api/v1/namespaces", "--as=jane"],
    );
    assert!(!ok, "{text}");
    assert_eq!(
        text.trim(),
        "Error from server (Forbidden): users \"jane\" is forbidden: User \"alice\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope: Everything is forbidden."
    );

    // A token nobody issued: kubectl's wording for a 401, met at discovery (nothing above
    // could read discovery for it to cache).
    let wrong = kubeconfig_for(&s, "wrong", &["--token=not-a-token"]);
    let (ok, text) = kubectl(&s, &wrong, &["get", "ns"]);
    assert!(!ok, "{text}");
    assert!(
        text.contains("error: You must be logged in to the server (the server has asked for the client to provide credentials)"),
        "{text}"
    );
    s.stop();
}
