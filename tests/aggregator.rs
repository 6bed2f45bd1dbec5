//! The aggregator in front of extension API servers: the sample server
//! (`examples/sample_apiserver.rs`, run as a child process), and a tiny TLS echo server in this
//! test that shows exactly what a backend receives.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::TestServer;
use serde_json::{json, Value};

/// Builds the sample server once and returns its binary, beside this test's in the target dir.
fn sample_binary() -> PathBuf {
    static BUILT: Mutex<bool> = Mutex::new(false);
    let mut built = BUILT.lock().unwrap();
    if !*built {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--example", "sample_apiserver"])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the sample server");
        *built = true;
    }
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/sample_apiserver")
}

struct Sample {
    child: Child,
    port: u16,
}

impl Sample {
    /// Starts the sample server against `main`'s kubeconfig, on `port` (0: any).
    fn start(main: &TestServer, port: u16) -> Sample {
        Sample::start_with(main, port, &[])
    }

    fn start_with(main: &TestServer, port: u16, extra: &[&str]) -> Sample {
        let mut child = Command::new(sample_binary())
            .args(extra)
            .arg(format!("--secure-port={port}"))
            .arg(format!("--cert-dir={}", main.dir.join("wardle").display()))
            .arg(format!("--kubeconfig={}", main.kubeconfig.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the sample server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        Sample { child, port }
    }
}

impl Drop for Sample {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn register(main: &TestServer, group: &str, version: &str, port: u16) {
    let ns = json!({"metadata": {"name": "ext"}});
    main.send_json("POST", "/api/v1/namespaces", &ns);
    let svc = json!({"metadata": {"name": group.split('.').next().unwrap()},
        "spec": {"type": "ExternalName", "externalName": "localhost"}});
    let r = main.send_json("POST", "/api/v1/namespaces/ext/services", &svc);
    assert_eq!(r.status, 201, "{}", r.text());
    let api_service = json!({
        "metadata": {"name": format!("{version}.{group}")},
        "spec": {"group": group, "version": version, "insecureSkipTLSVerify": true,
                 "groupPriorityMinimum": 1000, "versionPriority": 15,
                 "service": {"namespace": "ext", "name": svc["metadata"]["name"], "port": port}},
    });
    let r = main.send_json(
        "POST",
        "/apis/apiregistration.k8s.io/v1/apiservices",
        &api_service,
    );
    assert_eq!(r.status, 201, "{}", r.text());
}

/// Waits until the APIService's `Available` condition has `status`, and returns it.
fn wait_available(main: &TestServer, name: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut last = Value::Null;
    while Instant::now() < deadline {
        let svc = main
            .get(&format!(
                "/apis/apiregistration.k8s.io/v1/apiservices/{name}"
            ))
            .json();
        last = svc["status"]["conditions"][0].clone();
        if last["status"] == status {
            return last;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{name} never became Available={status}: {last}");
}

const FLUNDERS: &str = "/apis/wardle.example.com/v1alpha1/namespaces/default/flunders";
const WARDLE: &str = "v1alpha1.wardle.example.com";

#[test]
fn flunders_are_served_through_the_aggregator_and_survive_a_backend_restart() {
    let main = TestServer::start("aggregator-sample", &[]);
    // The ConfigMap extension servers read before anything else.
    let cm = main
        .get("/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication")
        .json();
    assert_eq!(
        cm["data"]["requestheader-allowed-names"],
        r#"["front-proxy-client"]"#
    );
    assert_eq!(
        cm["data"]["requestheader-username-headers"],
        r#"["X-Remote-User"]"#
    );
    assert!(cm["data"]["requestheader-client-ca-file"]
        .as_str()
        .unwrap()
        .contains("BEGIN CERTIFICATE"));

    let sample = Sample::start(&main, 0);
    register(&main, "wardle.example.com", "v1alpha1", sample.port);
    let cond = wait_available(&main, WARDLE, "True");
    assert_eq!(cond["reason"], "Passed");

    // Discovery: the legacy list and the aggregated one both name the remote group.
    let groups = main.get("/apis").json();
    assert!(groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["name"] == "wardle.example.com"));
    let aggregated = main
        .request(
            "GET",
            "/apis",
            &[(
                "Accept",
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
            )],
            None,
        )
        .json();
    let wardle = aggregated["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["metadata"]["name"] == "wardle.example.com")
        .expect("wardle in aggregated discovery")
        .clone();
    let resources = &wardle["versions"][0]["resources"];
    assert!(resources
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["resource"] == "fischers" && r["scope"] == "Cluster"));
    assert_eq!(
        main.get("/apis/wardle.example.com").json()["preferredVersion"]["version"],
        "v1alpha1"
    );

    // A watch through the proxy sees the create and the delete, chunk by chunk.
    let mut conn = main.connect();
    let head = format!(
        "GET {FLUNDERS}?watch=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
        main.token
    );
    conn.write_all(head.as_bytes()).unwrap();
    let mut watch = BufReader::new(conn);
    let mut line = String::new();
    while line != "\r\n" {
        line.clear();
        watch.read_line(&mut line).unwrap();
    }

    let flunder = json!({"apiVersion": "wardle.example.com/v1alpha1", "kind": "Flunder",
        "metadata": {"name": "f1"}, "spec": {"reference": "f0", "referenceType": "Flunder"}});
    let r = main.send_json("POST", FLUNDERS, &flunder);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(main.names(FLUNDERS), ["f1"]);
    let bad = json!({"metadata": {"name": "f2"}, "spec": {"referenceType": "Fish"}});
    assert_eq!(main.send_json("POST", FLUNDERS, &bad).status, 422);
    assert_eq!(
        main.request("DELETE", &format!("{FLUNDERS}/f1"), &[], None)
            .status,
        200
    );

    let event = |watch: &mut BufReader<_>| -> Value {
        let mut size = String::new();
        watch.read_line(&mut size).unwrap();
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        let mut chunk = vec![0u8; size + 2];
        Read::read_exact(watch, &mut chunk).unwrap();
        serde_json::from_slice(&chunk[..size]).unwrap()
    };
    assert_eq!(event(&mut watch)["type"], "ADDED");
    assert_eq!(event(&mut watch)["type"], "DELETED");

    // The backend goes away: the APIService says so, and its requests get a quick 503.
    let port = sample.port;
    drop(sample);
    let cond = wait_available(&main, WARDLE, "False");
    assert_eq!(cond["reason"], "FailedDiscoveryCheck");
    assert!(cond["message"]
        .as_str()
        .unwrap()
        .starts_with("failing or missing response from https://localhost:"));
    let r = main.get(FLUNDERS);
    assert_eq!(r.status, 503);
    assert_eq!(
        r.json()["message"],
        "the server is currently unable to handle the request"
    );

    // It comes back on the same port, and so do its requests, with no restart here.
    let _sample = Sample::start(&main, port);
    wait_available(&main, WARDLE, "True");
    assert_eq!(main.get(FLUNDERS).status, 200);
    main.stop();
}

/// A TLS server that answers every request with what it received: the head, and the
/// CommonName-bearing certificate the client presented.
/// The heads of the requests the echo server received, in order.
type Seen = Arc<Mutex<Vec<Vec<(String, String)>>>>;

fn echo_server(dir: &std::path::Path) -> (u16, Seen) {
    let certs =
        mini_apiserver::run::tls::maybe_default_with_self_signed_certs(dir, &[], &[]).unwrap();
    let ca = dir.join("ca.crt");
    let tls = mini_apiserver::run::tls::server_config(
        &certs.serving_cert,
        &certs.serving_key,
        &[("ca", ca.as_path())],
    )
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Seen = Arc::default();
    let seen_by_server = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let conn = rustls::ServerConnection::new(Arc::clone(&tls)).unwrap();
            let mut s = rustls::StreamOwned::new(conn, stream);
            let mut reader = BufReader::new(&mut s);
            let mut headers = Vec::new();
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let (n, v) = line
                    .trim_end()
                    .split_once(": ")
                    .unwrap_or((line.trim_end(), ""));
                headers.push((n.to_string(), v.to_string()));
            }
            let peer_cert = s.conn.peer_certificates().is_some();
            headers.push(("x-test-peer-cert".into(), peer_cert.to_string()));
            seen_by_server.lock().unwrap().push(headers);
            let body = br#"{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"echo.example.com/v1","resources":[]}"#;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(body);
            let _ = s.flush();
            s.conn.send_close_notify();
            let _ = s.flush();
        }
    });
    (port, seen)
}

#[test]
fn the_backend_sees_the_caller_in_front_proxy_headers_and_never_the_credentials() {
    let main = TestServer::start("aggregator-echo", &[]);
    let (port, seen) = echo_server(&main.dir.join("echo"));
    register(&main, "echo.example.com", "v1", port);
    wait_available(&main, "v1.echo.example.com", "True");
    seen.lock().unwrap().clear();
    let r = main.request(
        "GET",
        "/apis/echo.example.com/v1/things",
        &[("X-Remote-User", "mallory"), ("Accept", "application/json")],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let headers = seen.lock().unwrap().pop().expect("the backend was called");
    let values = |name: &str| -> Vec<String> {
        headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .collect()
    };
    // The admin token authenticated `admin`; a header the caller made up did not count.
    assert_eq!(values("X-Remote-User"), ["admin"]);
    assert!(values("X-Remote-Group").contains(&"system:masters".to_string()));
    assert!(values("Authorization").is_empty(), "{headers:?}");
    assert_eq!(values("Accept"), ["application/json"]);
    assert_eq!(values("x-test-peer-cert"), ["true"]);
    main.stop();
}

/// kubectl against `s`, which must succeed.
fn kubectl(s: &TestServer, args: &[&str]) -> String {
    let (ok, text) = s.kubectl(args);
    assert!(ok, "kubectl {args:?} failed:\n{text}");
    text
}

#[test]
fn kubectl_manages_flunders_through_the_aggregator() {
    let main = TestServer::start("aggregator-kubectl", &[]);
    let sample = Sample::start(&main, 0);
    // The registration the book shows, at the port the sample server got.
    let manifests = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/sample_apiserver/apiservice.yaml"
    ))
    .unwrap()
    .replace("port: 8443", &format!("port: {}", sample.port));
    let file = main.dir.join("apiservice.yaml");
    std::fs::write(&file, manifests).unwrap();
    kubectl(&main, &["create", "namespace", "wardle"]);
    kubectl(&main, &["apply", "-f", file.to_str().unwrap()]);
    wait_available(&main, WARDLE, "True");

    let resources = kubectl(&main, &["api-resources", "--api-group=wardle.example.com"]);
    assert!(resources.contains("flunders"), "{resources}");
    assert!(resources.contains("fischers"), "{resources}");
    let flunder = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/sample_apiserver/flunder.yaml"
    );
    let created = kubectl(&main, &["create", "-f", flunder]);
    assert!(
        created.contains("flunder.wardle.example.com/my-first-flunder created"),
        "{created}"
    );
    let listed = kubectl(&main, &["get", "flunders"]);
    assert!(listed.contains("my-first-flunder"), "{listed}");
    kubectl(&main, &["delete", "flunder", "my-first-flunder"]);
    let listed = kubectl(&main, &["get", "flunders"]);
    assert!(listed.contains("No resources found"), "{listed}");
    main.stop();
}

/// An IPv4 address of this host that is not loopback: an Endpoints address may not be.
fn host_ipv4() -> std::net::Ipv4Addr {
    let mut found = None;
    // SAFETY: getifaddrs fills a list that freeifaddrs releases; it is only read in between.
    unsafe {
        let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
        assert_eq!(libc::getifaddrs(&mut list), 0, "getifaddrs");
        let mut at = list;
        while !at.is_null() {
            let addr = (*at).ifa_addr;
            if !addr.is_null() && i32::from((*addr).sa_family) == libc::AF_INET {
                let v4 = &*(addr as *const libc::sockaddr_in);
                let ip = std::net::Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr));
                if !ip.is_loopback() && !ip.is_link_local() {
                    found = Some(ip);
                    break;
                }
            }
            at = (*at).ifa_next;
        }
        libc::freeifaddrs(list);
    }
    found.expect("this test needs a network interface with an IPv4 address besides loopback")
}

#[test]
fn a_cluster_ip_service_is_reached_through_its_endpoints() {
    let main = TestServer::start("aggregator-endpoints", &[]);
    let sample = Sample::start_with(&main, 0, &["--bind-address=0.0.0.0"]);
    let ns = json!({"metadata": {"name": "ext"}});
    assert_eq!(
        main.send_json("POST", "/api/v1/namespaces", &ns).status,
        201
    );
    let svc = json!({"metadata": {"name": "api"},
        "spec": {"ports": [{"name": "https", "port": 443, "targetPort": 8443}]}});
    let r = main.send_json("POST", "/api/v1/namespaces/ext/services", &svc);
    assert_eq!(r.status, 201, "{}", r.text());
    let endpoints = |ip: &str| {
        json!({"metadata": {"name": "api"},
            "subsets": [{"addresses": [{"ip": ip}], "ports": [{"name": "https", "port": sample.port}]}]})
    };
    let eps_path = "/api/v1/namespaces/ext/endpoints";
    // The server must not be turned into a proxy to its own host.
    let r = main.send_json("POST", eps_path, &endpoints("127.0.0.1"));
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        r.json()["details"]["causes"][0]["message"],
        "Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)"
    );
    let api_service = json!({
        "metadata": {"name": WARDLE},
        "spec": {"group": "wardle.example.com", "version": "v1alpha1", "insecureSkipTLSVerify": true,
                 "groupPriorityMinimum": 1000, "versionPriority": 15,
                 "service": {"namespace": "ext", "name": "api", "port": 443}},
    });
    let r = main.send_json(
        "POST",
        "/apis/apiregistration.k8s.io/v1/apiservices",
        &api_service,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let cond = wait_available(&main, WARDLE, "False");
    assert_eq!(cond["reason"], "EndpointsNotFound");
    assert_eq!(
        cond["message"],
        "cannot find endpoints for service/api in \"ext\""
    );

    let ip = host_ipv4().to_string();
    let r = main.send_json("POST", eps_path, &endpoints(&ip));
    assert_eq!(r.status, 201, "{}", r.text());
    wait_available(&main, WARDLE, "True");
    let flunders = "/apis/wardle.example.com/v1alpha1/namespaces/default/flunders";
    let r = main.get(flunders);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["kind"], "FlunderList");

    // Endpoints that serve no port of that name leave nowhere to go.
    let mut renamed = endpoints(&ip);
    renamed["subsets"][0]["ports"][0]["name"] = json!("other");
    renamed["metadata"]["resourceVersion"] =
        main.get(&format!("{eps_path}/api")).json()["metadata"]["resourceVersion"].clone();
    let r = main.send_json("PUT", &format!("{eps_path}/api"), &renamed);
    assert_eq!(r.status, 200, "{}", r.text());
    let cond = wait_available(&main, WARDLE, "False");
    assert_eq!(cond["reason"], "MissingEndpoints");
    assert_eq!(main.get(flunders).status, 503);
    main.stop();
}
