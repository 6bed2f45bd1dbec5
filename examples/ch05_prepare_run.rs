//! Chapter 5: PrepareRun. Prepares the chain, then asks `/readyz?verbose` before and after the
//! post-start hooks have run, and lists the OpenAPI documents.
//!
//! Run: `cargo run --example ch05_prepare_run`

use std::sync::Arc;

use mini_apiserver::cmd::{new_api_server_command, Command};
use mini_apiserver::config::build_generic_config;
use mini_apiserver::http::{Handler, Request};
use mini_apiserver::prepare::PrepareRun;
use mini_apiserver::server::create_server_chain;

fn get(handler: &dyn Handler, path: &str, query: &str) -> (u16, String) {
    let mut req = Request {
        method: "GET".into(),
        path: path.into(),
        query: query.into(),
        ..Default::default()
    };
    req.headers
        .push(("Authorization".into(), "Bearer token".into()));
    let resp = handler.serve(&mut req);
    (
        resp.status,
        String::from_utf8_lossy(resp.body_bytes()).into_owned(),
    )
}

fn main() {
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
    let prepared = Box::new(create_server_chain(&config, "127.0.0.1:6443")).prepare_run(&config);
    let handler = &*prepared.handler;

    let (code, body) = get(handler, "/readyz", "verbose");
    println!("before the post-start hooks: /readyz {code}\n{body}");
    for hook in &prepared.post_start_hooks {
        hook.run_once().expect("a post-start hook");
    }
    let (code, body) = get(handler, "/readyz", "verbose");
    println!("after them: /readyz {code}\n{body}");
    let (_, index) = get(handler, "/openapi/v3", "");
    let index: serde_json::Value = serde_json::from_str(&index).unwrap();
    println!("OpenAPI v3 documents:");
    for (path, entry) in index["paths"].as_object().unwrap() {
        println!("  {path:<34} {}", entry["serverRelativeURL"]);
    }
    config.lifecycle.shutdown_initiated.fire();
    let (code, body) = get(handler, "/readyz", "");
    println!("after ShutdownInitiated: /readyz {code}\n{body}");
}
