//! Authorization over HTTP: RBAC from stored roles and bindings (the matrix below), escalation
//! prevention, aggregation, the access reviews, ABAC from a policy file, and unions of modes.

mod common;

use std::io::{Read, Write};

use common::TestServer;
use serde_json::{json, Value};

/// Users of the token file: `token,name,uid,"groups"`. Every one also gets system:authenticated.
const TOKENS: &str = "\
alice-token,alice,1,dev
bob-token,bob,2
carol-token,carol,3
dave-token,dave,4,ops
erin-token,erin,5
builder-token,system:serviceaccount:demo:builder,6,system:serviceaccounts
frank-token,frank,7
manager-token,manager,8
monitor-token,monitor,9,system:monitoring
";

fn token_flag(name: &str) -> (TestServer, String) {
    let dir =
        std::env::temp_dir().join(format!("mini-apiserver-rbac-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tokens.csv");
    std::fs::write(&file, TOKENS).unwrap();
    let flag = format!("--token-auth-file={}", file.display());
    (TestServer::start(name, &[&flag]), flag)
}

fn bearer(user: &str) -> String {
    let token = if user.starts_with("system:serviceaccount:") {
        "builder-token".to_string()
    } else {
        format!("{user}-token")
    };
    format!("Bearer {token}")
}

/// The status code alone: the connection is dropped after the status line, so an allowed
/// watch does not hold the test.
fn status(s: &TestServer, user: &str, method: &str, path: &str, body: Option<&str>) -> u16 {
    let mut conn = s.connect();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: {}\r\n",
        bearer(user)
    );
    if let Some(b) = body {
        let ct = if method == "PATCH" {
            "application/merge-patch+json"
        } else {
            "application/json"
        };
        head.push_str(&format!(
            "Content-Type: {ct}\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    head.push_str("\r\n");
    head.push_str(body.unwrap_or_default());
    conn.write_all(head.as_bytes()).unwrap();
    conn.flush().unwrap();
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") && conn.read(&mut byte).unwrap_or(0) == 1 {
        line.push(byte[0]);
    }
    let line = String::from_utf8_lossy(&line);
    line.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {line:?}"))
}

/// A request as `user`, with its JSON answer.
fn as_user(s: &TestServer, user: &str, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let auth = bearer(user);
    let resp = s.request(
        method,
        path,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        Some(body.to_string().as_bytes()),
    );
    (
        resp.status,
        serde_json::from_slice(&resp.body).unwrap_or(Value::Null),
    )
}

fn create(s: &TestServer, path: &str, body: Value) {
    let resp = s.send_json("POST", path, &body);
    assert_eq!(resp.status, 201, "{path}: {}", resp.text());
}

const RBAC: &str = "/apis/rbac.authorization.k8s.io/v1";

fn role(name: &str, rules: Value) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": name}, "rules": rules})
}

fn cluster_role(name: &str, rules: Value) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name}, "rules": rules})
}

fn binding(kind: &str, name: &str, role_kind: &str, role: &str, subjects: Value) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": name},
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
           "subjects": subjects})
}

fn user(name: &str) -> Value {
    json!([{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": name}])
}

fn namespaces(s: &TestServer, names: &[&str]) {
    for ns in names {
        create(s, "/api/v1/namespaces", json!({"metadata": {"name": ns}}));
    }
}

/// The roles and bindings the matrix is checked against.
fn grant_matrix_policy(s: &TestServer) {
    namespaces(s, &["demo", "other"]);
    // alice: the bootstrap `view` role everywhere.
    create(
        s,
        &format!("{RBAC}/clusterrolebindings"),
        binding(
            "ClusterRoleBinding",
            "alice-view",
            "ClusterRole",
            "view",
            user("alice"),
        ),
    );
    // bob: the bootstrap `edit` role, in demo only.
    create(
        s,
        &format!("{RBAC}/namespaces/demo/rolebindings"),
        binding(
            "RoleBinding",
            "bob-edit",
            "ClusterRole",
            "edit",
            user("bob"),
        ),
    );
    // carol: reads config maps in demo, and does anything to secrets in other.
    create(
        s,
        &format!("{RBAC}/namespaces/demo/roles"),
        role(
            "cm-reader",
            json!([{"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["configmaps"]}]),
        ),
    );
    create(
        s,
        &format!("{RBAC}/namespaces/demo/rolebindings"),
        binding(
            "RoleBinding",
            "carol-cm",
            "Role",
            "cm-reader",
            user("carol"),
        ),
    );
    create(
        s,
        &format!("{RBAC}/namespaces/other/roles"),
        role(
            "secrets-all",
            json!([{"verbs": ["*"], "apiGroups": [""], "resources": ["secrets"]}]),
        ),
    );
    create(
        s,
        &format!("{RBAC}/namespaces/other/rolebindings"),
        binding(
            "RoleBinding",
            "carol-secrets",
            "Role",
            "secrets-all",
            user("carol"),
        ),
    );
    // dave, through his group ops: deployments in demo; and creating secrets anywhere.
    create(
        s,
        &format!("{RBAC}/clusterroles"),
        cluster_role(
            "deploy-manager",
            json!([{"verbs": ["*"], "apiGroups": ["apps"], "resources": ["deployments"]}]),
        ),
    );
    create(
        s,
        &format!("{RBAC}/namespaces/demo/rolebindings"),
        binding(
            "RoleBinding",
            "ops-deploy",
            "ClusterRole",
            "deploy-manager",
            json!([{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "ops"}]),
        ),
    );
    create(
        s,
        &format!("{RBAC}/clusterroles"),
        cluster_role(
            "secret-creator",
            json!([{"verbs": ["create"], "apiGroups": [""], "resources": ["secrets"]}]),
        ),
    );
    create(
        s,
        &format!("{RBAC}/clusterrolebindings"),
        binding(
            "ClusterRoleBinding",
            "dave-secrets",
            "ClusterRole",
            "secret-creator",
            user("dave"),
        ),
    );
    // The service account demo/builder: some pod verbs, and emptying services, in demo. The
    // subject has no namespace: a RoleBinding's own is meant.
    create(
        s,
        &format!("{RBAC}/namespaces/demo/roles"),
        role(
            "builder",
            json!([
        {"verbs": ["get", "create", "delete"], "apiGroups": [""], "resources": ["pods"]},
        {"verbs": ["deletecollection"], "apiGroups": [""], "resources": ["services"]}]),
        ),
    );
    create(
        s,
        &format!("{RBAC}/namespaces/demo/rolebindings"),
        binding(
            "RoleBinding",
            "builder",
            "Role",
            "builder",
            json!([{"kind": "ServiceAccount", "name": "builder"}]),
        ),
    );
    // frank: one config map, by name, anywhere.
    create(
        s,
        &format!("{RBAC}/clusterroles"),
        cluster_role(
            "settings-editor",
            json!([
        {"verbs": ["get", "update", "patch", "delete"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["settings"]}]),
        ),
    );
    create(
        s,
        &format!("{RBAC}/clusterrolebindings"),
        binding(
            "ClusterRoleBinding",
            "frank-settings",
            "ClusterRole",
            "settings-editor",
            user("frank"),
        ),
    );
}

const VERBS: [&str; 8] = [
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
];
const RESOURCES: [&str; 6] = [
    "pods",
    "configmaps",
    "secrets",
    "services",
    "deployments",
    "serviceaccounts",
];

/// One verb on one resource in `ns`, as the HTTP request that asks it. Objects are named
/// `settings`, the one config map frank may touch.
fn request(verb: &str, resource: &str, ns: &str) -> (&'static str, String, Option<&'static str>) {
    let base = match resource {
        "deployments" => format!("/apis/apps/v1/namespaces/{ns}/deployments"),
        r => format!("/api/v1/namespaces/{ns}/{r}"),
    };
    let one = format!("{base}/settings");
    match verb {
        "get" => ("GET", one, None),
        "list" => ("GET", base, None),
        "watch" => ("GET", format!("{base}?watch=true"), None),
        "create" => ("POST", base, Some("{}")),
        "update" => ("PUT", one, Some("{}")),
        "patch" => ("PATCH", one, Some("{}")),
        "delete" => ("DELETE", one, None),
        _ => ("DELETE", base, None),
    }
}

// ANCHOR: matrix
/// What each user may do in namespace `demo`, from the bindings above and the rules of the
/// bootstrap roles. One letter per verb, in the order get, list, watch, create, update, patch,
/// delete, deletecollection (`g l w c u p d D`), a dot where RBAC says no.
const DEMO: &[(&str, [&str; 6])] = &[
    //           pods        configmaps  secrets     services    deployments serviceaccounts
    // view: reads all but secrets (reading a secret's token is an escalation).
    (
        "alice",
        [
            "glw.....", "glw.....", "........", "glw.....", "glw.....", "glw.....",
        ],
    ),
    // edit: everything on these, secrets included.
    (
        "bob",
        [
            "glwcupdD", "glwcupdD", "glwcupdD", "glwcupdD", "glwcupdD", "glwcupdD",
        ],
    ),
    (
        "carol",
        [
            "........", "glw.....", "........", "........", "........", "........",
        ],
    ),
    (
        "dave",
        [
            "........", "........", "...c....", "........", "glwcupdD", "........",
        ],
    ),
    (
        "erin",
        [
            "........", "........", "........", "........", "........", "........",
        ],
    ),
    (
        "system:serviceaccount:demo:builder",
        [
            "g..c..d.", "........", "........", ".......D", "........", "........",
        ],
    ),
    // A list, a watch, a create and a collection name no object, so resourceNames never match.
    (
        "frank",
        [
            "........", "g...upd.", "........", "........", "........", "........",
        ],
    ),
];

/// And in `other`, where only cluster-wide bindings and carol's Role apply.
const OTHER: &[(&str, [&str; 6])] = &[
    (
        "alice",
        [
            "glw.....", "glw.....", "........", "glw.....", "glw.....", "glw.....",
        ],
    ),
    (
        "bob",
        [
            "........", "........", "........", "........", "........", "........",
        ],
    ),
    (
        "carol",
        [
            "........", "........", "glwcupdD", "........", "........", "........",
        ],
    ),
    (
        "dave",
        [
            "........", "........", "...c....", "........", "........", "........",
        ],
    ),
    (
        "frank",
        [
            "........", "g...upd.", "........", "........", "........", "........",
        ],
    ),
];
// ANCHOR_END: matrix

#[test]
fn rbac_matrix_users_verbs_resources_namespaces() {
    let (s, _) = token_flag("rbac-matrix");
    grant_matrix_policy(&s);
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (ns, table) in [("demo", DEMO), ("other", OTHER)] {
        for (who, row) in table {
            for (resource, allowed) in RESOURCES.iter().zip(row) {
                for (i, verb) in VERBS.iter().enumerate() {
                    let expect = allowed.as_bytes()[i] != b'.';
                    let (method, path, body) = request(verb, resource, ns);
                    let code = status(&s, who, method, &path, body);
                    checked += 1;
                    if (code != 403) != expect {
                        wrong.push(format!(
                            "{who} {verb} {resource} in {ns}: {code}, expected {}",
                            if expect { "allowed" } else { "403" }
                        ));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {checked} answers differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(checked >= 6 * 8 * 6);
    s.stop();
}

#[test]
fn forbidden_messages_name_the_request_and_rbac_errors() {
    let (s, _) = token_flag("rbac-messages");
    namespaces(&s, &["demo"]);
    let (code, body) = as_user(
        &s,
        "erin",
        "GET",
        "/api/v1/namespaces/demo/pods",
        &json!(null),
    );
    assert_eq!(code, 403);
    assert_eq!(body["message"], "pods is forbidden: User \"erin\" cannot list resource \"pods\" in API group \"\" in the namespace \"demo\"");
    assert_eq!(body["details"]["kind"], "pods");
    // A binding to a role that does not exist: RBAC has no opinion, and says why.
    create(
        &s,
        &format!("{RBAC}/namespaces/demo/rolebindings"),
        binding("RoleBinding", "dangling", "Role", "missing", user("erin")),
    );
    let (_, body) = as_user(
        &s,
        "erin",
        "GET",
        "/api/v1/namespaces/demo/pods",
        &json!(null),
    );
    assert_eq!(body["message"], "pods is forbidden: User \"erin\" cannot list resource \"pods\" in API group \"\" in the namespace \"demo\": RBAC: role.rbac.authorization.k8s.io \"missing\" not found");
    s.stop();
}

#[test]
fn bootstrap_policy_discovery_basic_user_and_monitoring() {
    let (s, _) = token_flag("rbac-bootstrap");
    // Written by the post-start hook, labelled and annotated as kube-apiserver's.
    let admin = s.get(&format!("{RBAC}/clusterroles/cluster-admin")).json();
    assert_eq!(
        admin["metadata"]["labels"]["kubernetes.io/bootstrapping"],
        "rbac-defaults"
    );
    assert_eq!(
        admin["metadata"]["annotations"]["rbac.authorization.kubernetes.io/autoupdate"],
        "true"
    );
    let masters = s
        .get(&format!("{RBAC}/clusterrolebindings/cluster-admin"))
        .json();
    assert_eq!(masters["subjects"][0]["name"], "system:masters");
    // Aggregated: view gathers system:aggregate-to-view, edit gathers view and more.
    let rules = |name: &str| {
        s.get(&format!("{RBAC}/clusterroles/{name}")).json()["rules"]
            .as_array()
            .unwrap()
            .len()
    };
    assert!(rules("view") > 0 && rules("edit") > rules("view") && rules("admin") > rules("edit"));
    // An authenticated user with no roles may discover, ask about themselves, and no more.
    assert_eq!(status(&s, "erin", "GET", "/api", None), 200);
    assert_eq!(status(&s, "erin", "GET", "/apis/apps/v1", None), 200);
    assert_eq!(status(&s, "erin", "GET", "/openapi/v2", None), 200);
    assert_eq!(status(&s, "erin", "GET", "/metrics", None), 403);
    assert_eq!(status(&s, "monitor", "GET", "/metrics", None), 200);
    let (code, body) = as_user(
        &s,
        "erin",
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        &json!({"spec": {"resourceAttributes": {"verb": "list", "resource": "pods", "namespace": "demo"}}}),
    );
    assert_eq!((code, &body["status"]), (201, &json!({"allowed": false})));
    s.stop();
}

#[test]
fn aggregation_follows_labelled_cluster_roles() {
    let (s, _) = token_flag("rbac-aggregation");
    let widgets = json!({"verbs": ["get"], "apiGroups": ["example.com"], "resources": ["widgets"]});
    let mut role = cluster_role("widget-viewer", json!([widgets]));
    role["metadata"]["labels"] = json!({"rbac.authorization.k8s.io/aggregate-to-view": "true"});
    create(&s, &format!("{RBAC}/clusterroles"), role);
    for name in ["view", "edit", "admin"] {
        let rules = s.get(&format!("{RBAC}/clusterroles/{name}")).json()["rules"].clone();
        assert!(
            rules.as_array().unwrap().contains(&widgets),
            "{name} lacks the new rule"
        );
    }
    assert_eq!(
        s.request(
            "DELETE",
            &format!("{RBAC}/clusterroles/widget-viewer"),
            &[],
            None
        )
        .status,
        200
    );
    let rules = s.get(&format!("{RBAC}/clusterroles/admin")).json()["rules"].clone();
    assert!(!rules.as_array().unwrap().contains(&widgets));
    s.stop();
}

// ANCHOR: escalation_test
#[test]
fn escalation_is_refused_unless_escalate_or_bind() {
    let (s, _) = token_flag("rbac-escalation");
    namespaces(&s, &["demo"]);
    // manager may write roles and bindings in demo, and read pods there.
    create(
        &s,
        &format!("{RBAC}/namespaces/demo/roles"),
        role(
            "role-writer",
            json!([
        {"verbs": ["create", "update", "get"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"]},
        {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}]),
        ),
    );
    create(
        &s,
        &format!("{RBAC}/namespaces/demo/rolebindings"),
        binding(
            "RoleBinding",
            "manager",
            "Role",
            "role-writer",
            user("manager"),
        ),
    );
    let roles = format!("{RBAC}/namespaces/demo/roles");
    let bindings = format!("{RBAC}/namespaces/demo/rolebindings");

    // Granting what one holds is fine; more is a 403 listing what is missing.
    let (code, _) = as_user(
        &s,
        "manager",
        "POST",
        &roles,
        &role(
            "pod-reader",
            json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]),
        ),
    );
    assert_eq!(code, 201);
    let too_much = role(
        "too-much",
        json!([{"verbs": ["get", "delete", "create"], "apiGroups": [""], "resources": ["pods", "secrets"]}]),
    );
    let (code, body) = as_user(&s, "manager", "POST", &roles, &too_much);
    assert_eq!(code, 403);
    assert_eq!(body["reason"], "Forbidden");
    assert_eq!(body["message"], "roles.rbac.authorization.k8s.io \"too-much\" is forbidden: user \"manager\" (groups=[\"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"delete\" \"create\"]}\n{APIGroups:[\"\"], Resources:[\"secrets\"], Verbs:[\"get\" \"delete\" \"create\"]}");
    // Nor may an update add to a role.
    let mut widened = s.get(&format!("{roles}/pod-reader")).json();
    widened["rules"][0]["verbs"] = json!(["get", "delete"]);
    let (code, _) = as_user(
        &s,
        "manager",
        "PUT",
        &format!("{roles}/pod-reader"),
        &widened,
    );
    assert_eq!(code, 403);

    // A binding needs the role's permissions: pod-reader's are held, edit's are not.
    let (code, _) = as_user(
        &s,
        "manager",
        "POST",
        &bindings,
        &binding(
            "RoleBinding",
            "erin-pods",
            "Role",
            "pod-reader",
            user("erin"),
        ),
    );
    assert_eq!(code, 201);
    let (code, body) = as_user(
        &s,
        "manager",
        "POST",
        &bindings,
        &binding(
            "RoleBinding",
            "erin-edit",
            "ClusterRole",
            "edit",
            user("erin"),
        ),
    );
    assert_eq!(code, 403);
    assert!(body["message"].as_str().unwrap().starts_with(
        "rolebindings.rbac.authorization.k8s.io \"erin-edit\" is forbidden: user \"manager\""
    ));
    let (code, body) = as_user(
        &s,
        "manager",
        "POST",
        &bindings,
        &binding("RoleBinding", "nothing", "Role", "absent", user("erin")),
    );
    assert_eq!(
        (code, body["message"].as_str()),
        (
            404,
            Some("roles.rbac.authorization.k8s.io \"absent\" not found")
        )
    );

    // `escalate` on roles and `bind` on the edit ClusterRole lift the checks.
    create(
        &s,
        &roles,
        role(
            "escalator",
            json!([
        {"verbs": ["escalate"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"]},
        {"verbs": ["bind"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "resourceNames": ["edit"]}]),
        ),
    );
    create(
        &s,
        &bindings,
        binding(
            "RoleBinding",
            "manager-escalates",
            "Role",
            "escalator",
            user("manager"),
        ),
    );
    assert_eq!(as_user(&s, "manager", "POST", &roles, &too_much).0, 201);
    assert_eq!(
        as_user(
            &s,
            "manager",
            "POST",
            &bindings,
            &binding(
                "RoleBinding",
                "erin-edit",
                "ClusterRole",
                "edit",
                user("erin")
            )
        )
        .0,
        201
    );
    // erin now edits in demo.
    assert_eq!(
        status(
            &s,
            "erin",
            "DELETE",
            "/api/v1/namespaces/demo/secrets",
            None
        ),
        200
    );
    s.stop();
}
// ANCHOR_END: escalation_test

#[test]
fn an_aggregation_rule_takes_holding_everything() {
    let (s, _) = token_flag("rbac-aggregation-rule");
    create(
        &s,
        &format!("{RBAC}/clusterroles"),
        cluster_role(
            "clusterrole-writer",
            json!([
        {"verbs": ["create"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"]},
        {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]),
        ),
    );
    create(
        &s,
        &format!("{RBAC}/clusterrolebindings"),
        binding(
            "ClusterRoleBinding",
            "manager",
            "ClusterRole",
            "clusterrole-writer",
            user("manager"),
        ),
    );
    let roles = format!("{RBAC}/clusterroles");
    // Rules one holds may be given out...
    let (code, _) = as_user(
        &s,
        "manager",
        "POST",
        &roles,
        &cluster_role(
            "pod-getter",
            json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]),
        ),
    );
    assert_eq!(code, 201);
    // ...but an aggregation rule, even without rules of its own, could gather anything.
    let mut gatherer = cluster_role("gatherer", json!([]));
    gatherer["aggregationRule"] = json!({"clusterRoleSelectors": [{"matchLabels": {"x": "y"}}]});
    let (code, body) = as_user(&s, "manager", "POST", &roles, &gatherer);
    assert_eq!(code, 403);
    assert_eq!(body["message"], "clusterroles.rbac.authorization.k8s.io \"gatherer\" is forbidden: must have cluster-admin privileges to use the aggregationRule");
    s.stop();
}

#[test]
fn rbac_objects_are_validated_and_printed() {
    let s = TestServer::start("rbac-validation", &[]);
    let resp = s.send_json(
        "POST",
        &format!("{RBAC}/namespaces/default/roles"),
        &role(
            "urls",
            json!([{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]),
        ),
    );
    assert_eq!(resp.status, 422, "{}", resp.text());
    assert_eq!(resp.json()["message"], "Role.rbac.authorization.k8s.io \"urls\" is invalid: rules[0].nonResourceURLs: Invalid value: [\"/healthz\"]: namespaced rules cannot apply to non-resource URLs");
    let resp = s.send_json(
        "POST",
        &format!("{RBAC}/clusterrolebindings"),
        &binding(
            "ClusterRoleBinding",
            "b",
            "Role",
            "r",
            json!([{"kind": "ServiceAccount", "name": "sa"}]),
        ),
    );
    assert_eq!(resp.status, 422);
    let causes: Vec<String> = resp.json()["details"]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(causes, ["roleRef.kind", "subjects[0].namespace"]);
    let table = s
        .request(
            "GET",
            &format!("{RBAC}/clusterrolebindings/cluster-admin"),
            &[("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")],
            None,
        )
        .json();
    let columns: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        columns,
        ["Name", "Role", "Age", "Users", "Groups", "ServiceAccounts"]
    );
    assert_eq!(table["rows"][0]["cells"][1], "ClusterRole/cluster-admin");
    assert_eq!(table["rows"][0]["cells"][4], "system:masters");
    s.stop();
}

#[test]
fn access_reviews_answer_for_others_and_oneself() {
    let (s, _) = token_flag("rbac-reviews");
    grant_matrix_policy(&s);
    let authz = "/apis/authorization.k8s.io/v1";
    // SubjectAccessReview: the admin asks about alice, and about a group.
    let sar = |spec: Value| {
        let resp = s.send_json("POST", &format!("{authz}/subjectaccessreviews"), &json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}));
        assert_eq!(resp.status, 201, "{}", resp.text());
        resp.json()["status"].clone()
    };
    assert_eq!(
        sar(
            json!({"user": "alice", "resourceAttributes": {"verb": "list", "resource": "pods", "namespace": "demo"}})
        ),
        json!({"allowed": true, "reason": "RBAC: allowed by ClusterRoleBinding \"alice-view\" of ClusterRole \"view\" to User \"alice\""})
    );
    assert_eq!(
        sar(
            json!({"user": "alice", "resourceAttributes": {"verb": "get", "resource": "secrets", "namespace": "demo"}})
        ),
        json!({"allowed": false})
    );
    assert_eq!(
        sar(
            json!({"groups": ["ops"], "resourceAttributes": {"verb": "delete", "group": "apps", "resource": "deployments", "namespace": "demo"}})
        )["allowed"],
        true
    );
    assert_eq!(
        sar(json!({"user": "x", "nonResourceAttributes": {"verb": "get", "path": "/healthz"}}))
            ["allowed"],
        false
    );
    assert_eq!(
        sar(
            json!({"user": "x", "groups": ["system:authenticated"], "nonResourceAttributes": {"verb": "get", "path": "/healthz"}})
        )["allowed"],
        true
    );
    let bad = s.send_json(
        "POST",
        &format!("{authz}/subjectaccessreviews"),
        &json!({"spec": {"resourceAttributes": {}}}),
    );
    assert_eq!(bad.status, 422);
    assert_eq!(bad.json()["message"], "SubjectAccessReview.authorization.k8s.io \"\" is invalid: spec.user: Invalid value: \"\": at least one of user or group must be specified");
    // LocalSubjectAccessReview: the namespace of the question is the review's.
    let local = format!("{authz}/namespaces/demo/localsubjectaccessreviews");
    let resp = s.send_json("POST", &local, &json!({"spec": {"user": "bob", "resourceAttributes": {"verb": "create", "resource": "secrets", "namespace": "demo"}}}));
    assert_eq!(
        (resp.status, resp.json()["status"]["allowed"].clone()),
        (201, json!(true))
    );
    assert_eq!(resp.json()["metadata"]["namespace"], "demo");
    let resp = s.send_json("POST", &local, &json!({"spec": {"user": "bob", "resourceAttributes": {"verb": "create", "resource": "secrets", "namespace": "other"}}}));
    assert_eq!(resp.status, 422);
    assert!(resp.text().contains("spec.resourceAttributes.namespace: Invalid value: \\\"other\\\": must match metadata.namespace"), "{}", resp.text());
    // Only create is served.
    assert_eq!(s.get(&format!("{authz}/subjectaccessreviews")).status, 405);
    // SelfSubjectRulesReview: carol's rules in demo, bootstrap ones included.
    let (code, body) = as_user(
        &s,
        "carol",
        "POST",
        &format!("{authz}/selfsubjectrulesreviews"),
        &json!({"spec": {"namespace": "demo"}}),
    );
    assert_eq!(code, 201);
    let rules = body["status"]["resourceRules"].as_array().unwrap();
    assert!(rules.contains(&json!({"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["configmaps"]})), "{body}");
    assert!(rules.contains(&json!({"verbs": ["create"], "apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]})));
    assert_eq!(body["status"]["incomplete"], false);
    assert!(body["status"]["nonResourceRules"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["nonResourceURLs"]
            .as_array()
            .unwrap()
            .contains(&json!("/api/*"))));
    let (code, _) = as_user(
        &s,
        "carol",
        "POST",
        &format!("{authz}/selfsubjectrulesreviews"),
        &json!({"spec": {}}),
    );
    assert_eq!(code, 400);
    // Discovery lists the reviews with only their one verb.
    let list = s.get(authz).json();
    let names: Vec<&str> = list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "localsubjectaccessreviews",
            "selfsubjectaccessreviews",
            "selfsubjectrulesreviews",
            "subjectaccessreviews"
        ]
    );
    assert_eq!(list["resources"][1]["verbs"], json!(["create"]));
    s.stop();
}

fn policy_file(name: &str, lines: &[Value]) -> String {
    let dir =
        std::env::temp_dir().join(format!("mini-apiserver-abac-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("policy.jsonl");
    let mut text = String::from("# one policy per line\n");
    for spec in lines {
        text.push_str(&json!({"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": spec}).to_string());
        text.push('\n');
    }
    std::fs::write(&file, text).unwrap();
    format!("--authorization-policy-file={}", file.display())
}

fn tokens_flag(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!(
        "mini-apiserver-abac-tokens-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tokens.csv");
    std::fs::write(&file, TOKENS).unwrap();
    format!("--token-auth-file={}", file.display())
}

#[test]
fn abac_from_a_policy_file() {
    let policies = policy_file(
        "abac",
        &[
            json!({"user": "alice", "namespace": "demo", "resource": "*", "apiGroup": "*", "readonly": true}),
            json!({"group": "ops", "namespace": "*", "resource": "deployments", "apiGroup": "apps"}),
            json!({"user": "*", "nonResourcePath": "*", "readonly": true}),
        ],
    );
    let s = TestServer::start(
        "abac",
        &[&tokens_flag("abac"), "--authorization-mode=ABAC", &policies],
    );
    namespaces(&s, &["demo"]);
    assert_ne!(
        status(&s, "alice", "GET", "/api/v1/namespaces/demo/secrets", None),
        403
    );
    assert_eq!(
        status(
            &s,
            "alice",
            "POST",
            "/api/v1/namespaces/demo/configmaps",
            Some("{}")
        ),
        403
    );
    assert_eq!(
        status(
            &s,
            "alice",
            "GET",
            "/api/v1/namespaces/default/configmaps",
            None
        ),
        403
    );
    assert_ne!(
        status(
            &s,
            "dave",
            "DELETE",
            "/apis/apps/v1/namespaces/demo/deployments/x",
            None
        ),
        403
    );
    assert_eq!(
        status(&s, "dave", "GET", "/api/v1/namespaces/demo/pods", None),
        403
    );
    assert_eq!(status(&s, "erin", "GET", "/version", None), 200);
    let (code, body) = as_user(
        &s,
        "erin",
        "GET",
        "/api/v1/namespaces/demo/pods",
        &json!(null),
    );
    assert_eq!(code, 403);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .ends_with("in the namespace \"demo\": No policy matched."),
        "{body}"
    );
    s.stop();
}

#[test]
fn unions_fall_through_on_no_opinion() {
    // ABAC first, then RBAC: alice through a policy, carol through a RoleBinding.
    let policies = policy_file(
        "union",
        &[json!({"user": "alice", "namespace": "*", "resource": "pods", "apiGroup": ""})],
    );
    let s = TestServer::start(
        "abac-rbac",
        &[
            &tokens_flag("union"),
            "--authorization-mode=ABAC,RBAC",
            &policies,
        ],
    );
    namespaces(&s, &["demo"]);
    create(
        &s,
        &format!("{RBAC}/namespaces/demo/roles"),
        role(
            "cm",
            json!([{"verbs": ["list"], "apiGroups": [""], "resources": ["configmaps"]}]),
        ),
    );
    create(
        &s,
        &format!("{RBAC}/namespaces/demo/rolebindings"),
        binding("RoleBinding", "carol", "Role", "cm", user("carol")),
    );
    assert_eq!(
        status(&s, "alice", "GET", "/api/v1/namespaces/demo/pods", None),
        200
    );
    assert_eq!(
        status(
            &s,
            "carol",
            "GET",
            "/api/v1/namespaces/demo/configmaps",
            None
        ),
        200
    );
    assert_eq!(
        status(&s, "carol", "GET", "/api/v1/namespaces/demo/pods", None),
        403
    );
    // Discovery comes from RBAC's bootstrap binding, after ABAC said nothing.
    assert_eq!(status(&s, "erin", "GET", "/api", None), 200);
    s.stop();

    // AlwaysDeny first: it decides, so RBAC never gets asked; masters still pass.
    let s = TestServer::start(
        "deny-rbac",
        &[&tokens_flag("deny"), "--authorization-mode=AlwaysDeny,RBAC"],
    );
    namespaces(&s, &["demo"]);
    create(
        &s,
        &format!("{RBAC}/namespaces/demo/rolebindings"),
        binding("RoleBinding", "carol", "ClusterRole", "view", user("carol")),
    );
    let (code, body) = as_user(
        &s,
        "carol",
        "GET",
        "/api/v1/namespaces/demo/pods",
        &json!(null),
    );
    assert_eq!(code, 403);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .ends_with(": Everything is forbidden."));
    assert_eq!(s.get("/api/v1/namespaces/demo/pods").status, 200);
    s.stop();

    // RBAC first, then AlwaysDeny: what RBAC allows passes, the rest is denied by the second.
    let s = TestServer::start(
        "rbac-deny",
        &[
            &tokens_flag("rbac-deny"),
            "--authorization-mode=RBAC,AlwaysDeny",
        ],
    );
    namespaces(&s, &["demo"]);
    create(
        &s,
        &format!("{RBAC}/namespaces/demo/rolebindings"),
        binding("RoleBinding", "carol", "ClusterRole", "view", user("carol")),
    );
    assert_eq!(
        status(&s, "carol", "GET", "/api/v1/namespaces/demo/pods", None),
        200
    );
    let (_, body) = as_user(
        &s,
        "carol",
        "GET",
        "/api/v1/namespaces/demo/secrets",
        &json!(null),
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .ends_with(": Everything is forbidden."),
        "{body}"
    );
    s.stop();
}
