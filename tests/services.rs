//! Services over HTTPS, against an in-process server: cluster IPs and node ports handed out,
//! refused as kube-apiserver refuses them, kept across updates and released on delete.

mod common;

use common::TestServer;
use serde_json::{json, Value};

const BASE: &str = "/api/v1/namespaces/default/services";

fn svc(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec})
}

fn web(name: &str) -> Value {
    svc(
        name,
        json!({"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]}),
    )
}

/// `(name, clusterIP)` of every Service in `default`, sorted by name.
fn addresses(s: &TestServer) -> Vec<(String, String)> {
    let list = s.get(BASE).json();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["metadata"]["name"].as_str().unwrap().to_string(),
                i["spec"]["clusterIP"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn the_kubernetes_service_holds_the_first_address() {
    let s = TestServer::start("svc-kubernetes", &[]);
    let k = s.get(&format!("{BASE}/kubernetes"));
    assert_eq!(k.status, 200, "{}", k.text());
    let k = k.json();
    assert_eq!(k["spec"]["clusterIP"], "10.0.0.1");
    assert_eq!(k["spec"]["clusterIPs"], json!(["10.0.0.1"]));
    assert_eq!(k["spec"]["ipFamilies"], json!(["IPv4"]));
    assert_eq!(k["spec"]["ipFamilyPolicy"], "SingleStack");
    assert_eq!(
        k["spec"]["ports"],
        json!([{"name": "https", "protocol": "TCP", "port": 443, "targetPort": s.port}])
    );
    assert!(k["spec"]["selector"].is_null());
    assert_eq!(
        k["metadata"]["labels"],
        json!({"component": "apiserver", "provider": "kubernetes"})
    );
    s.stop();
}

#[test]
fn addresses_are_handed_out_and_released() {
    let s = TestServer::start("svc-allocate", &[]);
    let a = s.send_json("POST", BASE, &web("a"));
    assert_eq!(a.status, 201, "{}", a.text());
    let a = a.json();
    assert_eq!(a["spec"]["clusterIP"], "10.0.0.2");
    assert_eq!(a["spec"]["clusterIPs"], json!(["10.0.0.2"]));
    assert_eq!(a["spec"]["ipFamilyPolicy"], "SingleStack");
    assert_eq!(a["spec"]["type"], "ClusterIP");
    let b = s.send_json("POST", BASE, &web("b")).json();
    assert_eq!(b["spec"]["clusterIP"], "10.0.0.3");

    // A dry run shows the address it would get, and takes none.
    let dry = s.send_json("POST", &format!("{BASE}?dryRun=All"), &web("c"));
    assert_eq!(dry.status, 201, "{}", dry.text());
    assert_eq!(dry.json()["spec"]["clusterIP"], "10.0.0.4");

    assert_eq!(
        s.request("DELETE", &format!("{BASE}/a"), &[], None).status,
        200
    );
    // a's address is free again, and the next service gets it.
    let c = s.send_json("POST", BASE, &web("c")).json();
    assert_eq!(c["spec"]["clusterIP"], "10.0.0.2");
    assert_eq!(
        addresses(&s),
        pairs(&[
            ("b", "10.0.0.3"),
            ("c", "10.0.0.2"),
            ("kubernetes", "10.0.0.1")
        ])
    );
    s.stop();
}

#[test]
fn requested_addresses_and_their_refusals() {
    let s = TestServer::start(
        "svc-requested",
        &["--service-cluster-ip-range=10.96.0.0/28"],
    );
    let asked = |name: &str, ip: &str| {
        let mut body = web(name);
        body["spec"]["clusterIP"] = json!(ip);
        s.send_json("POST", BASE, &body)
    };
    let ok = asked("fixed", "10.96.0.10");
    assert_eq!(ok.status, 201, "{}", ok.text());
    assert_eq!(ok.json()["spec"]["clusterIPs"], json!(["10.96.0.10"]));
    let before = addresses(&s);

    let out = asked("out", "1.1.1.1");
    assert_eq!(out.status, 422);
    let out = out.json();
    assert_eq!(out["reason"], "Invalid");
    assert_eq!(
        out["message"],
        "Service \"out\" is invalid: spec.clusterIPs: Invalid value: [\"1.1.1.1\"]: failed to allocate IP 1.1.1.1: the provided IP (1.1.1.1) is not in the valid range. The range of valid IPs is 10.96.0.0/28"
    );
    assert_eq!(out["details"]["causes"][0]["field"], "spec.clusterIPs");

    let taken = asked("taken", "10.96.0.10").json();
    assert_eq!(
        taken["details"]["causes"][0]["message"],
        "Invalid value: [\"10.96.0.10\"]: failed to allocate IP 10.96.0.10: provided IP is already allocated"
    );
    // The broadcast address is not in the range either.
    assert_eq!(asked("bcast", "10.96.0.15").status, 422);
    let garbage = asked("garbage", "ten").json();
    assert_eq!(
        garbage["details"]["causes"][0]["field"],
        "spec.clusterIPs[0]"
    );
    let v6 = asked("v6", "fd00::1").json();
    assert_eq!(
        v6["details"]["causes"][0]["message"],
        "Invalid value: [\"fd00::1\"]: IPv6 is not configured on this cluster"
    );
    assert_eq!(addresses(&s), before, "a refused service changed the store");
    s.stop();
}

#[test]
fn a_full_range_is_an_internal_error() {
    // A /30 holds two addresses: the kubernetes service's and one more.
    let s = TestServer::start("svc-full", &["--service-cluster-ip-range=10.9.0.0/30"]);
    assert_eq!(s.send_json("POST", BASE, &web("one")).status, 201);
    let full = s.send_json("POST", BASE, &web("two"));
    assert_eq!(full.status, 500);
    assert_eq!(
        full.json()["message"],
        "Internal error occurred: failed to allocate a serviceIP: range is full"
    );
    assert_eq!(
        addresses(&s),
        pairs(&[("kubernetes", "10.9.0.1"), ("one", "10.9.0.2")])
    );
    s.stop();
}

#[test]
fn headless_services_get_no_address() {
    let s = TestServer::start("svc-headless", &[]);
    let mut body = web("db");
    body["spec"]["clusterIP"] = json!("None");
    let db = s.send_json("POST", BASE, &body);
    assert_eq!(db.status, 201, "{}", db.text());
    let db = db.json();
    assert_eq!(db["spec"]["clusterIPs"], json!(["None"]));
    assert_eq!(db["spec"]["ipFamilies"], json!(["IPv4"]));
    // The next service still starts at the first free address.
    assert_eq!(
        s.send_json("POST", BASE, &web("next")).json()["spec"]["clusterIP"],
        "10.0.0.2"
    );
    s.stop();
}

#[test]
fn the_cluster_ip_may_not_change() {
    let s = TestServer::start("svc-immutable", &[]);
    let created = s.send_json("POST", BASE, &web("a")).json();
    let mut moved = created.clone();
    moved["spec"]["clusterIP"] = json!("10.0.0.50");
    moved["spec"]["clusterIPs"] = json!(["10.0.0.50"]);
    let refused = s.send_json("PUT", &format!("{BASE}/a"), &moved);
    assert_eq!(refused.status, 422);
    assert_eq!(
        refused.json()["message"],
        "Service \"a\" is invalid: spec.clusterIPs[0]: Invalid value: [\"10.0.0.50\"]: may not change once set"
    );
    // A patch of clusterIP alone means clusterIPs too, and is refused the same way.
    let patched = s.request(
        "PATCH",
        &format!("{BASE}/a"),
        &[("Content-Type", "application/strategic-merge-patch+json")],
        Some(br#"{"spec":{"clusterIP":"10.0.0.99"}}"#),
    );
    assert_eq!(patched.status, 422, "{}", patched.text());
    assert_eq!(
        patched.json()["details"]["causes"][0]["message"],
        "Invalid value: [\"10.0.0.99\"]: may not change once set"
    );
    // A PUT that leaves the addresses out keeps them.
    let mut relabelled = web("a");
    relabelled["metadata"]["labels"] = json!({"tier": "web"});
    let kept = s.send_json("PUT", &format!("{BASE}/a"), &relabelled);
    assert_eq!(kept.status, 200, "{}", kept.text());
    assert_eq!(kept.json()["spec"]["clusterIPs"], json!(["10.0.0.2"]));
    assert_eq!(
        addresses(&s),
        pairs(&[("a", "10.0.0.2"), ("kubernetes", "10.0.0.1")])
    );
    s.stop();
}

#[test]
fn node_ports_for_node_port_services() {
    let s = TestServer::start("svc-nodeport", &["--service-node-port-range=30000-30001"]);
    let np = |name: &str, node_port: Option<u16>| {
        let mut port = json!({"name": "http", "port": 80});
        if let Some(p) = node_port {
            port["nodePort"] = json!(p);
        }
        svc(name, json!({"type": "NodePort", "ports": [port]}))
    };
    let a = s.send_json("POST", BASE, &np("a", None));
    assert_eq!(a.status, 201, "{}", a.text());
    assert_eq!(a.json()["spec"]["ports"][0]["nodePort"], 30000);
    let out = s.send_json("POST", BASE, &np("out", Some(80))).json();
    assert_eq!(
        out["details"]["causes"][0]["field"],
        "spec.ports[0].nodePort"
    );
    assert_eq!(
        out["details"]["causes"][0]["message"],
        "Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-30001"
    );
    let taken = s.send_json("POST", BASE, &np("taken", Some(30000))).json();
    assert_eq!(
        taken["details"]["causes"][0]["message"],
        "Invalid value: 30000: provided port is already allocated"
    );
    assert_eq!(s.send_json("POST", BASE, &np("b", None)).status, 201);
    let full = s.send_json("POST", BASE, &np("c", None));
    assert_eq!(full.status, 500);
    assert_eq!(
        full.json()["message"],
        "Internal error occurred: failed to allocate a nodePort: range is full"
    );
    // Back to ClusterIP: the node port goes with the type.
    let mut back = s.get(&format!("{BASE}/a")).json();
    back["spec"]["type"] = json!("ClusterIP");
    let back = s.send_json("PUT", &format!("{BASE}/a"), &back);
    assert_eq!(back.status, 200, "{}", back.text());
    assert!(back.json()["spec"]["ports"][0]["nodePort"].is_null());
    let c = s.send_json("POST", BASE, &np("c", None));
    assert_eq!(c.json()["spec"]["ports"][0]["nodePort"], 30000);
    s.stop();
}

#[test]
fn deleting_a_namespace_releases_its_addresses() {
    let s = TestServer::start("svc-namespace", &["--service-cluster-ip-range=10.7.0.0/30"]);
    let ns = s.send_json(
        "POST",
        "/api/v1/namespaces",
        &json!({"metadata": {"name": "demo"}}),
    );
    assert_eq!(ns.status, 201);
    let demo = "/api/v1/namespaces/demo/services";
    let held = s.send_json("POST", demo, &web("a"));
    assert_eq!(held.json()["spec"]["clusterIP"], "10.7.0.2");
    assert_eq!(s.send_json("POST", BASE, &web("b")).status, 500);
    assert_eq!(
        s.request("DELETE", "/api/v1/namespaces/demo", &[], None)
            .status,
        200
    );
    assert_eq!(s.get(&format!("{demo}/a")).status, 404);
    let b = s.send_json("POST", BASE, &web("b"));
    assert_eq!(b.json()["spec"]["clusterIP"], "10.7.0.2");
    s.stop();
}

#[test]
fn discovery_names_services_svc_in_all() {
    let s = TestServer::start("svc-discovery", &[]);
    let list = s.get("/api/v1").json();
    let resources = list["resources"].as_array().unwrap();
    let services = resources
        .iter()
        .find(|r| r["name"] == "services")
        .expect("services are served");
    assert_eq!(services["shortNames"], json!(["svc"]));
    assert_eq!(services["categories"], json!(["all"]));
    assert!(resources.iter().any(|r| r["name"] == "services/status"));
    s.stop();
}
