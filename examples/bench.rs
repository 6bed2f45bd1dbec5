//! The benchmark: starts the release binary, then measures with wrk over HTTPS with 32
//! keep-alive connections: GET of one configmap, LIST of 100 configmaps, and CREATE of
//! configmaps; plus the time from start to a ready `/readyz` and the server's memory.
//!
//! Run: `cargo run --release --example bench` (needs wrk and curl; `BENCH_SECONDS=N` sets how
//! long each load runs, 10 by default). The figures go in the book, chapter 6.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CONNECTIONS: u32 = 32;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-s", "-k"])
        .args(args)
        .output()
        .expect("curl is installed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Builds the release binary (examples do not build the crate's binaries themselves).
fn build_server() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "--bin", "mini-apiserver"])
        .current_dir(&root)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the release binary builds");
    root.join("target/release/mini-apiserver")
}

fn start_server(binary: &Path, dir: &Path, port: u16) -> Child {
    Command::new(binary)
        .args([
            format!("--secure-port={port}"),
            format!("--cert-dir={}", dir.display()),
            "--max-requests-inflight=0".into(),
        ])
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts")
}

struct Figures {
    requests_per_sec: String,
    latency: Vec<(String, String)>,
    errors: String,
}

fn wrk(url: &str, token: &str, seconds: u64, script: Option<&Path>) -> Figures {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t2",
        &format!("-c{CONNECTIONS}"),
        &format!("-d{seconds}s"),
        "--latency",
        "-H",
        &format!("Authorization: Bearer {token}"),
    ]);
    if let Some(s) = script {
        cmd.args(["-s", s.to_str().unwrap()]);
    }
    let out = cmd
        .arg(url)
        .output()
        .expect("wrk is installed (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let requests_per_sec = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .unwrap_or("?")
        .trim()
        .to_string();
    let mut latency = Vec::new();
    let mut in_distribution = false;
    for line in text.lines() {
        if line.contains("Latency Distribution") {
            in_distribution = true;
            continue;
        }
        if in_distribution {
            let parts: Vec<&str> = line.split_whitespace().collect();
            match parts.as_slice() {
                [p, v] if p.ends_with('%') => latency.push((p.to_string(), v.to_string())),
                _ => in_distribution = false,
            }
        }
    }
    let errors = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .unwrap_or("0")
        .trim()
        .to_string();
    Figures {
        requests_per_sec,
        latency,
        errors,
    }
}

fn rss_kib(pid: u32, field: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_string())
        })
        .unwrap_or_else(|| "?".into())
}

fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let dir = std::env::temp_dir().join(format!("mini-apiserver-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let port = free_port();
    let base = format!("https://127.0.0.1:{port}");

    let binary = build_server();
    let started = Instant::now();
    let mut server = start_server(&binary, &dir, port);
    while curl(&[&format!("{base}/readyz")]) != "ok" {
        std::thread::sleep(Duration::from_millis(2));
    }
    let ready = started.elapsed();
    let token = std::fs::read_to_string(dir.join("admin.token"))
        .unwrap()
        .trim()
        .to_string();
    let auth = format!("Authorization: Bearer {token}");

    let post = |path: &str, body: &str| {
        curl(&[
            "-H",
            &auth,
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
            &format!("{base}{path}"),
        ])
    };
    for ns in ["bench-get", "bench-list", "bench-create"] {
        post(
            "/api/v1/namespaces",
            &format!(r#"{{"metadata":{{"name":"{ns}"}}}}"#),
        );
    }
    post(
        "/api/v1/namespaces/bench-get/configmaps",
        r#"{"metadata":{"name":"one"},"data":{"k":"v"}}"#,
    );
    for i in 0..100 {
        post(
            "/api/v1/namespaces/bench-list/configmaps",
            &format!(
                r#"{{"metadata":{{"name":"cm-{i:03}","labels":{{"app":"bench"}}}},"data":{{"key":"value-{i}"}}}}"#
            ),
        );
    }
    let idle_rss = rss_kib(server.id(), "VmRSS:");

    let script = dir.join("create.lua");
    std::fs::write(
        &script,
        r#"
local threads = {}
function setup(thread) thread:set("id", #threads); table.insert(threads, thread) end
function init(args) n = 0 end
function request()
  n = n + 1
  local body = '{"metadata":{"name":"c-' .. id .. '-' .. n .. '"},"data":{"k":"v"}}'
  -- wrk.format replaces wrk.headers when given headers, so copy them (the bearer token).
  local headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Content-Type"] = "application/json"
  return wrk.format("POST", "/api/v1/namespaces/bench-create/configmaps", headers, body)
end
"#,
    )
    .unwrap();

    let runs = [
        (
            "GET one configmap",
            wrk(
                &format!("{base}/api/v1/namespaces/bench-get/configmaps/one"),
                &token,
                seconds,
                None,
            ),
        ),
        (
            "LIST 100 configmaps",
            wrk(
                &format!("{base}/api/v1/namespaces/bench-list/configmaps"),
                &token,
                seconds,
                None,
            ),
        ),
        (
            "CREATE configmaps",
            wrk(&base, &token, seconds, Some(&script)),
        ),
    ];
    let loaded_rss = rss_kib(server.id(), "VmRSS:");
    let peak_rss = rss_kib(server.id(), "VmHWM:");
    let threads = std::fs::read_dir(format!("/proc/{}/task", server.id()))
        .map(|d| d.count())
        .unwrap_or(0);

    println!("mini-apiserver benchmark: wrk -t2 -c{CONNECTIONS} -d{seconds}s over HTTPS (TLS 1.3, keep-alive), {} cores", std::thread::available_parallelism().map_or(0, |n| n.get()));
    println!();
    println!("| request | requests/s | p50 | p90 | p99 | non-2xx |");
    println!("|---|---|---|---|---|---|");
    for (name, f) in &runs {
        let p = |q: &str| {
            f.latency
                .iter()
                .find(|(k, _)| k == q)
                .map_or("?".to_string(), |(_, v)| v.clone())
        };
        println!(
            "| {name} | {} | {} | {} | {} | {} |",
            f.requests_per_sec,
            p("50%"),
            p("90%"),
            p("99%"),
            f.errors
        );
    }
    println!();
    println!("start to /readyz 200: {ready:?} (polled with curl every 2 ms)");
    println!("RSS: {idle_rss} KiB idle with 101 configmaps, {loaded_rss} KiB after the loads (peak {peak_rss} KiB)");
    println!("OS threads of the server: {threads}");

    unsafe { libc::kill(server.id() as i32, libc::SIGTERM) };
    let _ = server.wait();
}
