//! Chapter 4: the server chain. Builds the three servers and sends requests straight into the
//! outermost one (no network), printing which server answered each: the director's debug line
//! (`-v=4` on the real binary) names it, and this example's own logger keeps that name.
//!
//! Run: `cargo run --example ch04_server_chain`

use std::sync::{Arc, Mutex};

use mini_apiserver::cmd::{new_api_server_command, Command};
use mini_apiserver::config::{admin_user, build_generic_config};
use mini_apiserver::http::{Handler, Request};
use mini_apiserver::server::create_server_chain;
use mini_apiserver::server::filters::request_info::RequestInfo;
use mini_apiserver::server::generic::DelegationTarget;

/// The server named by the last `satisfied by` (or `NotFound`) line the chain logged.
struct LastServer(Mutex<String>);

impl log::Log for LastServer {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Debug
    }

    fn log(&self, record: &log::Record) {
        let line = record.args().to_string();
        if line.contains(" satisfied by ") || line.starts_with("NotFound:") {
            let server = line.split(':').next().unwrap_or_default().to_string();
            *self.0.lock().unwrap() = server;
        }
    }

    fn flush(&self) {}
}

static LAST_SERVER: LastServer = LastServer(Mutex::new(String::new()));

fn main() {
    log::set_logger(&LAST_SERVER).expect("the only logger");
    log::set_max_level(log::LevelFilter::Debug);
    let Ok(Command::Run(opts)) = new_api_server_command(std::iter::empty()) else {
        panic!("flags")
    };
    let config = build_generic_config(
        &opts,
        Arc::new(mini_apiserver::apis::new_scheme()),
        "token",
        6443,
    )
    .expect("config");
    let aggregator = create_server_chain(&config, "127.0.0.1:6443").generic_api_server;
    // The post-start hooks create the system namespaces and the local APIServices.
    for hook in aggregator.post_start_hooks() {
        hook.run_once().expect("a post-start hook");
    }
    // A remote APIService whose backend was never started: the aggregator's proxy answers for it.
    let api_services = "/apis/apiregistration.k8s.io/v1/apiservices";
    let mut register = admin_request(
        "POST",
        api_services,
        Some(serde_json::json!({
            "metadata": {"name": "v1alpha1.wardle.example.com"},
            "spec": {"group": "wardle.example.com", "version": "v1alpha1",
                     "service": {"namespace": "default", "name": "api", "port": 8443},
                     "insecureSkipTLSVerify": true, "groupPriorityMinimum": 1000, "versionPriority": 15},
        })),
    );
    assert_eq!(aggregator.serve(&mut register).status, 201);
    // A CRD: the apiextensions-apiserver's controllers establish it, then its crdHandler
    // serves widgets.
    let crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
    let mut define = admin_request(
        "POST",
        crds,
        Some(serde_json::json!({
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"plural": "widgets", "kind": "Widget"},
                     "versions": [{"name": "v1", "served": true, "storage": true,
                                   "schema": {"openAPIV3Schema": {"type": "object"}}}]},
        })),
    );
    assert_eq!(aggregator.serve(&mut define).status, 201);
    wait_until_established(&aggregator, &format!("{crds}/widgets.example.com"));
    println!(
        "{:<7} {:<62} {:<24} {:<5} ANSWER",
        "METHOD", "PATH", "SERVER", "CODE"
    );
    for path in [
        "/apis",
        "/apis/apiregistration.k8s.io/v1/apiservices",
        "/api/v1/namespaces",
        "/api/v1/namespaces/default/configmaps/missing",
        "/apis/apiextensions.k8s.io/v1",
        "/apis/example.com/v1/namespaces/default/widgets",
        "/apis/example.com/v1/namespaces/default/gadgets",
        "/apis/wardle.example.com/v1alpha1/namespaces/default/flunders",
    ] {
        let mut req = admin_request("GET", path, None);
        LAST_SERVER.0.lock().unwrap().clear();
        let resp = aggregator.serve(&mut req);
        let server = LAST_SERVER.0.lock().unwrap().clone();
        let body: serde_json::Value = serde_json::from_slice(resp.body_bytes()).unwrap_or_default();
        let answer = match body["kind"].as_str() {
            Some("Status") => body["message"].as_str().unwrap_or("").to_string(),
            Some(kind) => format!(
                "{kind} ({} items)",
                body["items"]
                    .as_array()
                    .or(body["groups"].as_array())
                    .or(body["resources"].as_array())
                    .map_or(0, |v| v.len())
            ),
            None => String::new(),
        };
        println!(
            "{:<7} {path:<62} {server:<24} {:<5} {answer}",
            "GET", resp.status
        );
    }
}

/// Polls the CRD until its `Established` condition is true: the controllers run in a
/// coroutine, which a real server's worker thread runs beside this one.
fn wait_until_established(server: &dyn Handler, path: &str) {
    for _ in 0..500 {
        let mut req = admin_request("GET", path, None);
        let body: serde_json::Value =
            serde_json::from_slice(server.serve(&mut req).body_bytes()).unwrap_or_default();
        let established = body["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Established" && c["status"] == "True");
        if established {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("{path} was never established");
}

/// A request as the filters would hand it to the servers: its `RequestInfo` parsed and the
/// admin as its user.
fn admin_request(method: &str, path: &str, body: Option<serde_json::Value>) -> Request {
    let mut req = Request {
        method: method.into(),
        path: path.into(),
        ..Default::default()
    };
    if let Some(body) = body {
        req.headers = vec![("Content-Type".into(), "application/json".into())];
        req.body = body.to_string().into_bytes();
    }
    req.context.request_info = RequestInfo::parse(method, path, "");
    req.context.user = admin_user();
    req
}
