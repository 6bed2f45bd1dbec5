//! Chapter 1: the scheme. Prints every registered kind, then decodes a request body the way a
//! create handler does, and shows what the namespace strategy fills in.
//!
//! Run: `cargo run --example ch01_scheme`

use mini_apiserver::apis;
use mini_apiserver::scheme::codec::{decode, FieldValidation};

fn main() {
    let scheme = apis::new_scheme();
    println!(
        "{:<28} {:<26} {:<26} {:<10} SHORT NAMES",
        "GROUP/VERSION", "KIND", "RESOURCE", "SCOPE"
    );
    for (group, version) in scheme.group_versions() {
        for r in scheme.resources_of(group, version) {
            let scope = if r.namespaced {
                "Namespaced"
            } else {
                "Cluster"
            };
            println!(
                "{:<28} {:<26} {:<26} {:<10} {}",
                r.api_version(),
                r.kind,
                r.resource,
                scope,
                r.short_names.join(",")
            );
        }
    }

    // A body as the Python client sends it: no apiVersion, no kind, and a field Namespace lacks.
    let ns = scheme
        .lookup("", "v1", "namespaces")
        .expect("namespaces are registered");
    let body = br#"{"metadata": {"name": "demo"}, "colour": "blue"}"#;
    let decoded = decode(None, body, &ns, FieldValidation::Warn).expect("a valid body");
    println!("\ndecoded:  {}", decoded.object);
    println!("warnings: {:?}", decoded.warnings);
    let mut obj = decoded.object;
    ns.strategy.prepare_for_create(&mut obj);
    println!("prepared: {obj}");
    let strict = decode(None, body, &ns, FieldValidation::Strict)
        .err()
        .expect("strict refuses");
    println!("strict:   {} {}", strict.code(), strict.0.message);
}
