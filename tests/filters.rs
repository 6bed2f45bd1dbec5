//! The filters that keep the server alive, over the wire (issue 6, book chapter 6): 429 past the
//! in-flight budgets, 504 past the deadline, 500 for a panic and then normal service, 429 with
//! `Retry-After` during the drain, and the metrics that count what they turned away.
//!
//! The slow and the panicking handlers exist only here: each test adds them to the server it
//! starts, through the builder, as Go's tests add handlers to the `NonGoRestfulMux`.

mod common;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{parse_response, ClientResponse, TestServer};
use mini_apiserver::config::Config;
use mini_apiserver::http::{Handler, Request, Response};
use mini_apiserver::prepare::PrepareRun;
use mini_apiserver::run::lifecycle::Outcome;
use mini_apiserver::server::create_server_chain;
use serde_json::json;

/// Answers only once the test lets it: `entered` counts the requests inside, `gate` lets one
/// of them go. It waits on a may semaphore, so the worker serves other requests meanwhile.
struct Slow {
    entered: AtomicUsize,
    answered: AtomicUsize,
    gate: may::sync::Semphore,
}

impl Handler for Slow {
    fn serve(&self, _req: &mut Request) -> Response {
        self.entered.fetch_add(1, Ordering::SeqCst);
        self.gate.wait();
        self.answered.fetch_add(1, Ordering::SeqCst);
        Response::text(200, "the slow handler finally answers")
    }
}

impl Default for Slow {
    fn default() -> Slow {
        Slow {
            entered: AtomicUsize::new(0),
            answered: AtomicUsize::new(0),
            gate: may::sync::Semphore::new(0),
        }
    }
}

impl Slow {
    /// Waits until `n` requests have come in.
    fn wait_entered(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.entered.load(Ordering::SeqCst) < n {
            assert!(Instant::now() < deadline, "the slow request never arrived");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn wait_answered(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.answered.load(Ordering::SeqCst) < n {
            assert!(Instant::now() < deadline, "the slow handler never finished");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// A bug in a handler.
struct Panics;

impl Handler for Panics {
    fn serve(&self, _req: &mut Request) -> Response {
        panic!("a deliberate panic, from a test-only handler");
    }
}

/// The server chain with `/slow` and `/panic` added to the aggregator, the first server a
/// request reaches.
fn start(name: &str, extra: &[&str], slow: &Arc<Slow>) -> TestServer {
    let slow = Arc::clone(slow);
    let build = move |config: &Config, external: &str| -> Box<dyn PrepareRun> {
        let mut aggregator = create_server_chain(config, external);
        let server = &mut aggregator.generic_api_server;
        server.handle("/slow", Arc::clone(&slow) as Arc<dyn Handler>);
        server.handle("/panic", Arc::new(Panics));
        Box::new(aggregator)
    };
    TestServer::start_with_builder(name, extra, &build)
}

/// Reads exactly one response from a kept-alive connection (the tests' responses all carry a
/// `Content-Length`).
fn read_one(s: &mut impl Read) -> ClientResponse {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut byte).unwrap(), 1, "the connection ended early");
        raw.push(byte[0]);
    }
    let head = parse_response(&raw);
    let length: usize = head.header("content-length").unwrap().parse().unwrap();
    let mut body = vec![0u8; length];
    s.read_exact(&mut body).unwrap();
    raw.extend_from_slice(&body);
    parse_response(&raw)
}

fn send(s: &mut impl Write, token: &str, path: &str) {
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
    .unwrap();
    s.flush().unwrap();
}

/// The value of the series that starts with `prefix`, or 0 when there is none.
fn value(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .map_or(0.0, |v| v.parse().unwrap())
}

const TIMEOUT_STATUS: &str = "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"Timeout: request did not complete within the allotted timeout\",\"reason\":\"Timeout\",\"details\":{},\"code\":504}\n";

#[test]
fn a_request_past_its_timeout_gets_504_and_its_late_answer_is_discarded() {
    let slow = Arc::new(Slow::default());
    let s = start("timeout-query", &[], &slow);
    // `?timeout=` shortens the server's minute to one second.
    let mut conn = s.connect();
    let started = Instant::now();
    send(&mut conn, &s.token, "/slow?timeout=1s");
    let resp = read_one(&mut conn);
    let took = started.elapsed();
    assert_eq!(resp.status, 504, "{}", resp.text());
    assert_eq!(resp.text(), TIMEOUT_STATUS);
    assert_eq!(
        resp.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(resp.header("cache-control"), Some("no-cache, private"));
    assert!(resp.header("audit-id").is_some());
    assert!(took >= Duration::from_secs(1), "answered after {took:?}");
    slow.wait_entered(1);

    // The handler finishes later; what it answers goes nowhere, and the same connection's next
    // request gets its own answer.
    slow.gate.post();
    slow.wait_answered(1);
    send(&mut conn, &s.token, "/version");
    let version = read_one(&mut conn);
    assert_eq!(version.status, 200);
    assert!(
        version.json()["gitVersion"].is_string(),
        "{}",
        version.text()
    );

    // An answer that comes after its deadline is late even when no tick has passed yet; `0s`
    // means the server's own limit.
    let late = s.get("/api/v1/namespaces?timeout=1ns");
    assert_eq!(late.status, 504, "{}", late.text());
    assert_eq!(s.get("/api/v1/namespaces?timeout=0s").status, 200);

    // A timeout that is not a duration is the client's mistake.
    let bad = s.get("/api/v1/namespaces?timeout=soon");
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.json()["message"],
        "invalid timeout specified in the request URL - time: invalid duration \"soon\""
    );
    assert_eq!(bad.json()["reason"], "BadRequest");

    // The 504 is a termination, not a request a server answered; the late answer is counted
    // with its own code once it came, as Go's instrumented handler counts it.
    let metrics = s.get("/metrics").text();
    let series = "group=\"\",resource=\"\",subresource=\"other\",verb=\"GET\",version=\"\"}";
    assert_eq!(
        value(
            &metrics,
            &format!("apiserver_request_terminations_total{{code=\"504\",{series}")
        ),
        1.0,
        "{metrics}"
    );
    assert_eq!(
        value(
            &metrics,
            &format!("apiserver_request_total{{code=\"200\",{series}")
        ),
        1.0
    );
    assert_eq!(
        value(
            &metrics,
            &format!("apiserver_request_total{{code=\"504\",{series}")
        ),
        0.0
    );
    s.stop();
}

#[test]
fn request_timeout_cuts_short_requests_but_not_watches() {
    let slow = Arc::new(Slow::default());
    let s = start("request-timeout", &["--request-timeout=1s"], &slow);
    let mut watch = s.connect();
    send(
        &mut watch,
        &s.token,
        "/api/v1/namespaces/default/configmaps?watch=true",
    );

    let started = Instant::now();
    let resp = s.get("/slow");
    assert_eq!(resp.status, 504, "{}", resp.text());
    assert!(started.elapsed() >= Duration::from_secs(1));
    // Asking for more than the server allows gets the server's limit.
    let resp = s.get("/slow?timeout=10m");
    assert_eq!(resp.status, 504, "{}", resp.text());
    assert!(started.elapsed() < Duration::from_secs(60));
    slow.gate.post();
    slow.gate.post();

    // The watch outlived --request-timeout and still reports what happens.
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "after"}});
    let created = s.send_json("POST", "/api/v1/namespaces/default/configmaps", &cm);
    assert_eq!(created.status, 201);
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("\"after\"") {
        let n = watch.read(&mut buf).expect("the watch is still open");
        assert!(n > 0, "the watch ended");
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(seen.starts_with(b"HTTP/1.1 200"));
    drop(watch);
    s.stop();
}

#[test]
fn past_the_in_flight_budgets_requests_get_429_with_retry_after() {
    let dir = std::env::temp_dir().join(format!("mini-apiserver-inflight-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tokens = dir.join("tokens.csv");
    std::fs::write(&tokens, "alice-token,alice,1001,\n").unwrap();
    let slow = Arc::new(Slow::default());
    let s = start(
        "inflight",
        &[
            "--max-requests-inflight=1",
            "--max-mutating-requests-inflight=1",
            &format!("--token-auth-file={}", tokens.display()),
            "--authorization-mode=AlwaysAllow",
        ],
        &slow,
    );
    let alice = [("Authorization", "Bearer alice-token")];
    let as_alice = |method: &str, path: &str, body: Option<&serde_json::Value>| {
        let body = body.map(|b| b.to_string());
        let mut headers = alice.to_vec();
        headers.push(("Content-Type", "application/json"));
        s.request(method, path, &headers, body.as_deref().map(str::as_bytes))
    };
    let namespaces = "/api/v1/namespaces";
    let configmaps = "/api/v1/namespaces/default/configmaps";
    let cm =
        |name: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}});
    let before = s.get("/metrics").text();

    std::thread::scope(|scope| {
        // One read in flight fills the read budget of 1.
        let held = scope.spawn(|| as_alice("GET", "/slow", None));
        slow.wait_entered(1);
        let refused = as_alice("GET", namespaces, None);
        assert_eq!(refused.status, 429, "{}", refused.text());
        assert_eq!(refused.header("retry-after"), Some("1"));
        assert_eq!(
            refused.text(),
            "Too many requests, please try again later.\n"
        );
        // Writes have a budget of their own; watches hold no place; system:masters is never
        // turned away.
        assert_eq!(as_alice("POST", configmaps, Some(&cm("one"))).status, 201);
        let mut watch = s.connect();
        write!(
            watch,
            "GET {configmaps}?watch=true HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer alice-token\r\n\r\n"
        )
        .unwrap();
        let mut head = [0u8; 12];
        watch.read_exact(&mut head).unwrap();
        assert_eq!(&head, b"HTTP/1.1 200");
        assert_eq!(s.get(namespaces).status, 200);
        slow.gate.post();
        assert_eq!(held.join().unwrap().status, 200);
        assert_eq!(as_alice("GET", namespaces, None).status, 200);

        // The same with a write in flight.
        let held = scope.spawn(|| as_alice("POST", "/slow", Some(&json!({}))));
        slow.wait_entered(2);
        let refused = as_alice("POST", configmaps, Some(&cm("two")));
        assert_eq!(refused.status, 429, "{}", refused.text());
        assert_eq!(refused.header("retry-after"), Some("1"));
        assert_eq!(as_alice("GET", configmaps, None).status, 200);
        slow.gate.post();
        assert_eq!(held.join().unwrap().status, 200);
        assert_eq!(as_alice("POST", configmaps, Some(&cm("two"))).status, 201);
        drop(watch);
    });

    // Each refusal is a termination, and no server counted it as a request.
    let after = s.get("/metrics").text();
    let counted = |text: &str, name: &str, code: u16, verb: &str, resource: &str| {
        value(
            text,
            &format!("{name}{{code=\"{code}\",group=\"\",resource=\"{resource}\",subresource=\"\",verb=\"{verb}\",version=\"v1\"}}"),
        )
    };
    let delta = |name: &str, code: u16, verb: &str, resource: &str| {
        counted(&after, name, code, verb, resource) - counted(&before, name, code, verb, resource)
    };
    let terminations = "apiserver_request_terminations_total";
    let requests = "apiserver_request_total";
    assert_eq!(
        delta(terminations, 429, "LIST", "namespaces"),
        1.0,
        "{after}"
    );
    assert_eq!(delta(terminations, 429, "POST", "configmaps"), 1.0);
    assert_eq!(delta(requests, 429, "LIST", "namespaces"), 0.0);
    assert_eq!(delta(requests, 429, "POST", "configmaps"), 0.0);
    assert_eq!(delta(requests, 201, "POST", "configmaps"), 2.0);
    assert_eq!(delta(requests, 200, "LIST", "namespaces"), 2.0);
    assert_eq!(delta(requests, 200, "LIST", "configmaps"), 1.0);
    s.stop();
}

#[test]
fn a_panicking_handler_gets_a_500_and_the_server_serves_on() {
    let slow = Arc::new(Slow::default());
    let s = start("panic", &[], &slow);
    for _ in 0..2 {
        let resp = s.get("/panic");
        assert_eq!(resp.status, 500);
        assert_eq!(
            resp.text(),
            "This request caused apiserver to panic. Look in the logs for details.\n"
        );
        assert_eq!(s.get("/api/v1/namespaces").status, 200);
        assert_eq!(s.get("/version").status, 200);
    }
    assert_eq!(s.stop(), Outcome::Stopped);
}

#[test]
fn with_send_retry_after_new_requests_get_429_during_the_drain() {
    let slow = Arc::new(Slow::default());
    let s = start("drain", &["--shutdown-send-retry-after"], &slow);
    std::thread::scope(|scope| {
        // A request in flight keeps the drain, and so the listener, open.
        let held = scope.spawn(|| s.get("/slow"));
        slow.wait_entered(1);
        s.terminate();
        let deadline = Instant::now() + Duration::from_secs(10);
        let refused = loop {
            let resp = s.get("/api/v1/namespaces");
            if resp.status == 429 {
                break resp;
            }
            assert_eq!(resp.status, 200, "{}", resp.text());
            assert!(Instant::now() < deadline, "never refused");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(refused.header("retry-after"), Some("5"));
        assert_eq!(refused.header("connection"), Some("close"));
        assert_eq!(
            refused.text(),
            "The apiserver is shutting down, please try again later.\n"
        );
        // Probes are still answered: not ready.
        assert_eq!(s.get("/readyz").status, 500);
        // The request in flight finishes normally, and then the server stops.
        slow.gate.post();
        let answered = held.join().unwrap();
        assert_eq!(answered.status, 200);
        assert_eq!(answered.text(), "the slow handler finally answers");
    });
    assert_eq!(s.wait(), Outcome::Stopped);
}

#[test]
fn a_timeout_that_is_not_a_duration_is_refused_and_audited() {
    let dir =
        std::env::temp_dir().join(format!("mini-apiserver-bad-timeout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("policy.json");
    std::fs::write(
        &policy,
        r#"{"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[{"level":"Metadata"}]}"#,
    )
    .unwrap();
    let log = dir.join("audit.log");
    let _ = std::fs::remove_file(&log);
    let slow = Arc::new(Slow::default());
    let s = start(
        "bad-timeout",
        &[
            &format!("--audit-policy-file={}", policy.display()),
            &format!("--audit-log-path={}", log.display()),
        ],
        &slow,
    );
    let bad = s.get("/api/v1/namespaces?timeout=5");
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.json()["message"],
        "invalid timeout specified in the request URL - time: missing unit in duration \"5\""
    );
    let id = bad.header("audit-id").unwrap().to_string();
    assert_eq!(s.stop(), Outcome::Stopped);
    let events: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &serde_json::Value| e["auditID"] == id.as_str())
        .collect();
    // One event, as for a refused authentication: authentication has not run, so no user.
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["stage"], "ResponseStarted");
    assert_eq!(events[0]["responseStatus"]["code"], 400);
    assert_eq!(events[0]["verb"], "list");
}
