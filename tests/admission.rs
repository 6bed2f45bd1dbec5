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

fn pod(name: &str, resources: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
           "spec": {"containers": [{"name": "app", "image": "nginx:1.27", "resources": resources}]}})
}

/// Polls `path` until `done` holds of it, for the controllers that work a moment after a write.
fn wait_for(s: &TestServer, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let obj = s.get(path).json();
        if done(&obj) {
            return obj;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{path} never got there: {obj}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn limit_range_defaults_appear_on_a_created_pod_and_its_bounds_refuse() {
    let s = TestServer::start("admission-limitranger", &[]);
    let lr = json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "bounds"},
        "spec": {"limits": [{"type": "Container",
            "default": {"cpu": "500m", "memory": "256Mi"}, "defaultRequest": {"cpu": "200m"},
            "min": {"cpu": "100m"}, "max": {"memory": "1Gi"}}]}});
    let r = s.send_json("POST", "/api/v1/namespaces/default/limitranges", &lr);
    assert_eq!(r.status, 201, "{}", r.text());
    // The request default for memory came from the default limit (SetDefaults_LimitRangeItem).
    assert_eq!(
        r.json()["spec"]["limits"][0]["defaultRequest"],
        json!({"cpu": "200m", "memory": "256Mi"})
    );

    let r = s.send_json(
        "POST",
        "/api/v1/namespaces/default/pods",
        &pod("plain", json!({})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    let resources = &created["spec"]["containers"][0]["resources"];
    assert_eq!(
        resources["limits"],
        json!({"cpu": "500m", "memory": "256Mi"})
    );
    assert_eq!(
        resources["requests"],
        json!({"cpu": "200m", "memory": "256Mi"})
    );
    assert_eq!(
        created["metadata"]["annotations"]["kubernetes.io/limit-ranger"],
        "LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app"
    );
    assert_eq!(created["status"]["qosClass"], "Burstable");
    assert!(created["spec"].get("initContainers").is_none(), "{created}");

    let small = pod("small", json!({"requests": {"cpu": "50m"}}));
    let r = s.send_json("POST", "/api/v1/namespaces/default/pods", &small);
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json()["reason"], "Forbidden");
    assert_eq!(
        r.json()["message"],
        "pods \"small\" is forbidden: minimum cpu usage per Container is 100m, but request is 50m"
    );
    let big = pod("big", json!({"limits": {"memory": "2Gi"}}));
    let r = s.send_json("POST", "/api/v1/namespaces/default/pods", &big);
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "pods \"big\" is forbidden: maximum memory usage per Container is 1Gi, but limit is 2Gi"
    );
    assert_eq!(s.get("/api/v1/namespaces/default/pods/small").status, 404);

    let bad = json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "bad"},
        "spec": {"limits": [{"type": "Container", "min": {"cpu": "2"}, "max": {"cpu": "1"}}]}});
    let r = s.send_json("POST", "/api/v1/namespaces/default/limitranges", &bad);
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        r.json()["details"]["causes"][0]["field"],
        "spec.limits[0].min[cpu]"
    );
}

#[test]
fn a_create_refused_by_quota_and_usage_kept_current() {
    let s = TestServer::start("admission-quota", &[]);
    let r = s.send_json(
        "POST",
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let quota = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"},
                       "spec": {"hard": {"pods": "2", "count/configmaps": "1"}},
                       "status": {"used": {"pods": "99"}}});
    let r = s.send_json("POST", "/api/v1/namespaces/team/resourcequotas", &quota);
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.json().get("status").is_none(), "{}", r.text());
    let path = "/api/v1/namespaces/team/resourcequotas/q";
    let q = wait_for(&s, path, |q| !q["status"]["hard"].is_null());
    assert_eq!(
        q["status"]["hard"],
        json!({"count/configmaps": "1", "pods": "2"})
    );
    assert_eq!(
        q["status"]["used"],
        json!({"count/configmaps": "0", "pods": "0"})
    );

    // A dry run is judged, and charges nothing.
    let r = s.send_json(
        "POST",
        "/api/v1/namespaces/team/pods?dryRun=All",
        &pod("dry", json!({})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(s.get(path).json()["status"]["used"]["pods"], "0");

    for name in ["a", "b"] {
        let r = s.send_json(
            "POST",
            "/api/v1/namespaces/team/pods",
            &pod(name, json!({})),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    }
    assert_eq!(s.get(path).json()["status"]["used"]["pods"], "2");
    let r = s.send_json("POST", "/api/v1/namespaces/team/pods", &pod("c", json!({})));
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "pods \"c\" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2"
    );
    assert_eq!(s.get("/api/v1/namespaces/team/pods/c").status, 404);

    // A delete gives the slot back (the controller recounts), and the create goes through.
    let r = s.request("DELETE", "/api/v1/namespaces/team/pods/a", &[], None);
    assert_eq!(r.status, 200, "{}", r.text());
    wait_for(&s, path, |q| q["status"]["used"]["pods"] == "1");
    let r = s.send_json("POST", "/api/v1/namespaces/team/pods", &pod("c", json!({})));
    assert_eq!(r.status, 201, "{}", r.text());

    let r = s.send_json(
        "POST",
        "/api/v1/namespaces/team/configmaps",
        &config_map("one"),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = s.send_json(
        "POST",
        "/api/v1/namespaces/team/configmaps",
        &config_map("two"),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "configmaps \"two\" is forbidden: exceeded quota: q, requested: count/configmaps=1, used: count/configmaps=1, limited: count/configmaps=1"
    );

    // Any kind is counted by `count/<resource>.<group>`.
    let apps = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "apps"},
                      "spec": {"hard": {"count/deployments.apps": "0"}}});
    let r = s.send_json("POST", "/api/v1/namespaces/team/resourcequotas", &apps);
    assert_eq!(r.status, 201, "{}", r.text());
    wait_for(&s, "/api/v1/namespaces/team/resourcequotas/apps", |q| {
        !q["status"]["hard"].is_null()
    });
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}});
    let r = s.send_json(
        "POST",
        "/apis/apps/v1/namespaces/team/deployments",
        &deployment,
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "deployments.apps \"web\" is forbidden: exceeded quota: apps, requested: count/deployments.apps=1, used: count/deployments.apps=0, limited: count/deployments.apps=0"
    );

    // An update is charged for what it adds: a Service made a NodePort takes node ports.
    let ports = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "ports"},
                       "spec": {"hard": {"services.nodeports": "0"}}});
    let r = s.send_json("POST", "/api/v1/namespaces/team/resourcequotas", &ports);
    assert_eq!(r.status, 201, "{}", r.text());
    wait_for(&s, "/api/v1/namespaces/team/resourcequotas/ports", |q| {
        !q["status"]["hard"].is_null()
    });
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                     "spec": {"ports": [{"port": 80}]}});
    let r = s.send_json("POST", "/api/v1/namespaces/team/services", &svc);
    assert_eq!(r.status, 201, "{}", r.text());
    let mut node_port = r.json();
    node_port["spec"]["type"] = json!("NodePort");
    let r = s.send_json("PUT", "/api/v1/namespaces/team/services/web", &node_port);
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "services \"web\" is forbidden: exceeded quota: ports, requested: services.nodeports=1, used: services.nodeports=0, limited: services.nodeports=0"
    );

    // Raising the limit is seen by the controller, which copies it to status.hard.
    let mut raised = s.get(path).json();
    raised["spec"]["hard"]["pods"] = json!("5");
    let r = s.send_json("PUT", path, &raised);
    assert_eq!(r.status, 200, "{}", r.text());
    wait_for(&s, path, |q| q["status"]["hard"]["pods"] == "5");

    let bad = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "bad"},
                     "spec": {"hard": {"pods": "1.5"}}});
    let r = s.send_json("POST", "/api/v1/namespaces/team/resourcequotas", &bad);
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        r.json()["details"]["causes"][0]["message"],
        "Invalid value: \"1.5\": must be an integer"
    );
}

#[test]
fn a_compute_quota_needs_every_container_to_name_it_and_sums_what_they_do() {
    let s = TestServer::start("admission-quota-compute", &[]);
    let quota = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "compute"},
                       "spec": {"hard": {"requests.cpu": "1", "limits.memory": "1Gi"}}});
    let r = s.send_json("POST", "/api/v1/namespaces/default/resourcequotas", &quota);
    assert_eq!(r.status, 201, "{}", r.text());
    let path = "/api/v1/namespaces/default/resourcequotas/compute";
    wait_for(&s, path, |q| !q["status"]["hard"].is_null());

    let r = s.send_json(
        "POST",
        "/api/v1/namespaces/default/pods",
        &pod("bare", json!({})),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "pods \"bare\" is forbidden: failed quota: compute: must specify limits.memory for: app; requests.cpu for: app"
    );
    let sized = json!({"requests": {"cpu": "600m"}, "limits": {"memory": "512Mi"}});
    let r = s.send_json(
        "POST",
        "/api/v1/namespaces/default/pods",
        &pod("one", sized.clone()),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let q = s.get(path).json();
    assert_eq!(
        q["status"]["used"],
        json!({"limits.memory": "512Mi", "requests.cpu": "600m"})
    );
    let r = s.send_json(
        "POST",
        "/api/v1/namespaces/default/pods",
        &pod("two", sized),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "pods \"two\" is forbidden: exceeded quota: compute, requested: requests.cpu=600m, used: requests.cpu=600m, limited: requests.cpu=1"
    );
}

#[test]
fn concurrent_creates_cannot_both_take_the_last_unit() {
    let s = std::sync::Arc::new(TestServer::start("admission-quota-race", &[]));
    let quota = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "few"},
                       "spec": {"hard": {"secrets": "3"}}});
    let r = s.send_json(
        "POST",
        "/api/v1/namespaces/kube-public/resourcequotas",
        &quota,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let path = "/api/v1/namespaces/kube-public/resourcequotas/few";
    wait_for(&s, path, |q| q["status"]["used"]["secrets"] == "0");
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let s = std::sync::Arc::clone(&s);
            std::thread::spawn(move || {
                let secret = json!({"apiVersion": "v1", "kind": "Secret",
                                    "metadata": {"name": format!("s{i}")}});
                s.send_json("POST", "/api/v1/namespaces/kube-public/secrets", &secret)
                    .status
            })
        })
        .collect();
    let codes: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(codes.iter().filter(|c| **c == 201).count(), 3, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 403).count(), 5, "{codes:?}");
    assert_eq!(s.names("/api/v1/namespaces/kube-public/secrets").len(), 3);
    assert_eq!(s.get(path).json()["status"]["used"]["secrets"], "3");
}

#[test]
fn service_account_is_filled_in_and_must_exist() {
    let s = TestServer::start("admission-serviceaccount", &[]);
    let r = s.send_json(
        "POST",
        "/api/v1/namespaces/default/pods",
        &pod("p", json!({})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["spec"]["serviceAccountName"], "default");
    assert_eq!(r.json()["spec"]["serviceAccount"], "default");

    let mut robot = pod("r", json!({}));
    robot["spec"]["serviceAccountName"] = json!("robot");
    let r = s.send_json("POST", "/api/v1/namespaces/default/pods", &robot);
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "pods \"r\" is forbidden: error looking up service account default/robot: serviceaccount \"robot\" not found"
    );
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"},
                    "imagePullSecrets": [{"name": "registry"}]});
    let r = s.send_json("POST", "/api/v1/namespaces/default/serviceaccounts", &sa);
    assert_eq!(r.status, 201, "{}", r.text());
    let r = s.send_json("POST", "/api/v1/namespaces/default/pods", &robot);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        r.json()["spec"]["imagePullSecrets"],
        json!([{"name": "registry"}])
    );
    // No token volume is mounted: this server issues no service-account tokens.
    assert!(r.json()["spec"]["volumes"].is_null(), "{}", r.text());
}

#[test]
fn always_pull_images_overrides_the_pull_policy_when_enabled() {
    let s = TestServer::start(
        "admission-alwayspull",
        &["--enable-admission-plugins=AlwaysPullImages"],
    );
    let mut p = pod("p", json!({}));
    p["spec"]["containers"][0]["imagePullPolicy"] = json!("IfNotPresent");
    p["spec"]["initContainers"] = json!([{"name": "init", "image": "busybox:1.36"}]);
    let r = s.send_json("POST", "/api/v1/namespaces/default/pods", &p);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        r.json()["spec"]["containers"][0]["imagePullPolicy"],
        "Always"
    );
    assert_eq!(
        r.json()["spec"]["initContainers"][0]["imagePullPolicy"],
        "Always"
    );
    // A new image on update is pulled anew too; the stored policy is already Always.
    let mut stored = r.json();
    stored["spec"]["containers"][0]["image"] = json!("nginx:1.28");
    let r = s.send_json("PUT", "/api/v1/namespaces/default/pods/p", &stored);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["spec"]["containers"][0]["imagePullPolicy"],
        "Always"
    );
}

/// Exercise 9 of chapter 3: what the quota charges is the pod with LimitRanger's defaults in it.
#[test]
fn limit_range_defaults_are_what_the_quota_charges() {
    let setup = |s: &TestServer| {
        let lr = json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "cpu"},
            "spec": {"limits": [{"type": "Container",
                "default": {"cpu": "500m"}, "defaultRequest": {"cpu": "250m"}}]}});
        let r = s.send_json("POST", "/api/v1/namespaces/default/limitranges", &lr);
        assert_eq!(r.status, 201, "{}", r.text());
        let quota = json!({"apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": {"name": "compute"}, "spec": {"hard": {"requests.cpu": "500m"}}});
        let r = s.send_json("POST", "/api/v1/namespaces/default/resourcequotas", &quota);
        assert_eq!(r.status, 201, "{}", r.text());
        wait_for(
            s,
            "/api/v1/namespaces/default/resourcequotas/compute",
            |q| !q["status"]["hard"].is_null(),
        );
    };
    let create = |s: &TestServer, name: &str| {
        let r = s.send_json(
            "POST",
            "/api/v1/namespaces/default/pods",
            &pod(name, json!({})),
        );
        (
            r.status,
            r.json()["message"].as_str().unwrap_or("").to_string(),
        )
    };

    let s = TestServer::start("admission-exercise-defaults", &[]);
    setup(&s);
    assert_eq!(create(&s, "p1").0, 201);
    assert_eq!(create(&s, "p2").0, 201);
    assert_eq!(
        create(&s, "p3"),
        (403, "pods \"p3\" is forbidden: exceeded quota: compute, requested: requests.cpu=250m, used: requests.cpu=500m, limited: requests.cpu=500m".into())
    );

    let s = TestServer::start(
        "admission-exercise-no-defaults",
        &["--disable-admission-plugins=LimitRanger"],
    );
    setup(&s);
    assert_eq!(
        create(&s, "p1"),
        (
            403,
            "pods \"p1\" is forbidden: failed quota: compute: must specify requests.cpu for: app"
                .into()
        )
    );
}
