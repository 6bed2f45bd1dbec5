//! Graceful termination of the real binary (issue 6, book chapter 6): a SIGTERM under load, with
//! the lifecycle log read from its stderr and every answer found in the audit log, and `READY=1`
//! on a systemd-style notify socket.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use common::{dechunk, parse_response, ClientResponse};
use rustls::pki_types::pem::PemObject;

const BIN: &str = env!("CARGO_BIN_EXE_mini-apiserver");

/// The binary, its stderr kept line by line with the time each line was read.
struct Proc {
    child: Child,
    port: u16,
    token: String,
    tls: Arc<rustls::ClientConfig>,
    log: Arc<Mutex<Vec<(Instant, String)>>>,
}

fn test_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mini-apiserver-graceful-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Proc {
    fn start(dir: &std::path::Path, extra: &[&str], notify: Option<&std::path::Path>) -> Proc {
        let certs = dir.join("certs");
        let mut cmd = Command::new(BIN);
        cmd.args([
            "--secure-port=0",
            "-v=1",
            &format!("--cert-dir={}", certs.display()),
        ])
        .args(extra)
        .stderr(Stdio::piped())
        .env_remove("NOTIFY_SOCKET");
        if let Some(sock) = notify {
            cmd.env("NOTIFY_SOCKET", sock);
        }
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = mpsc::channel();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                if let Some(port) = common::served_port(&line) {
                    let _ = port_tx.send(port);
                }
                sink.lock().unwrap().push((Instant::now(), line));
            }
        });
        let port = port_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the server logs where it serves");
        let token = std::fs::read_to_string(certs.join("admin.token"))
            .unwrap()
            .trim()
            .to_string();
        let mut roots = rustls::RootCertStore::empty();
        let ca = std::fs::read(certs.join("ca.crt")).unwrap();
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&ca) {
            roots.add(cert.unwrap()).unwrap();
        }
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Proc {
            child,
            port,
            token,
            tls: Arc::new(tls),
            log,
        }
    }

    /// One request on a fresh connection; `None` when the connection or the answer failed
    /// (refused, reset, or cut before a whole response).
    fn request(&self, method: &str, path: &str, body: Option<&str>) -> Option<ClientResponse> {
        let tcp = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        tcp.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let conn =
            rustls::ClientConnection::new(Arc::clone(&self.tls), "localhost".try_into().unwrap())
                .unwrap();
        let mut s = rustls::StreamOwned::new(conn, tcp);
        let mut head =
            format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
        if !self.token.is_empty() {
            head.push_str(&format!("Authorization: Bearer {}\r\n", self.token));
        }
        let body = body.unwrap_or_default();
        if !body.is_empty() {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        head.push_str(body);
        s.write_all(head.as_bytes()).ok()?;
        s.flush().ok()?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).ok()?;
        if !out.starts_with(b"HTTP/1.1 ") {
            return None;
        }
        Some(parse_response(&out))
    }

    /// The same request without the bearer token: the anonymous user on the secure port.
    fn request_anonymous(&self, method: &str, path: &str) -> Option<ClientResponse> {
        let anonymous = Proc {
            child: Command::new("true").spawn().unwrap(),
            port: self.port,
            token: String::new(),
            tls: Arc::clone(&self.tls),
            log: Arc::clone(&self.log),
        };
        anonymous.request(method, path, None)
    }

    fn lines(&self) -> Vec<(Instant, String)> {
        self.log.lock().unwrap().clone()
    }

    /// When the line containing `needle` was read, waiting for it up to `limit`.
    fn wait_line(&self, needle: &str, limit: Duration) -> Instant {
        let deadline = Instant::now() + limit;
        loop {
            if let Some((at, _)) = self.lines().into_iter().find(|(_, l)| l.contains(needle)) {
                return at;
            }
            assert!(Instant::now() < deadline, "no log line with {needle:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn line_index(&self, needle: &str) -> usize {
        self.lines()
            .iter()
            .position(|(_, l)| l.contains(needle))
            .unwrap_or_else(|| panic!("no log line with {needle:?}"))
    }

    fn signal(&self, signal: i32) {
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        None
    }
}

fn event(name: &str) -> String {
    format!("shutdown event name=\"{name}\"")
}

/// One request of the load: when it started and how it ended.
struct Served {
    started: Instant,
    status: Option<u16>,
    /// What the audit log holds for it.
    audit_id: Option<String>,
}

#[test]
fn sigterm_under_load_drains_in_the_seeds_order_and_exits_0() {
    let dir = test_dir("load");
    let notify_path = dir.join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    // Every request audited at Metadata: the log must hold each one that was answered.
    let policy = dir.join("audit-policy.json");
    std::fs::write(
        &policy,
        r#"{"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[{"level":"Metadata"}]}"#,
    )
    .unwrap();
    let audit_log = dir.join("audit.log");
    let server = Proc::start(
        &dir,
        &[
            "--shutdown-delay-duration=2s",
            &format!("--audit-policy-file={}", policy.display()),
            &format!("--audit-log-path={}", audit_log.display()),
        ],
        Some(&notify_path),
    );

    // READY=1 comes once every post-start hook has finished.
    let mut buf = [0u8; 64];
    let n = notify.recv(&mut buf).expect("READY=1 on the notify socket");
    assert_eq!(&buf[..n], b"READY=1\n");
    let ready_at = server.wait_line("sent READY=1", Duration::from_secs(5));
    let hooks: Vec<String> = server
        .lines()
        .iter()
        .filter_map(|(at, l)| {
            let name = l
                .split("post-start hook ")
                .nth(1)?
                .strip_suffix(" finished")?;
            assert!(*at <= ready_at, "hook {name} finished after READY=1");
            Some(name.to_string())
        })
        .collect();
    // The hooks of every server of the chain: kube-apiserver's, and the aggregator's from its
    // construction and from its PrepareRun.
    for name in [
        "rbac/bootstrap-roles",
        "start-system-namespaces-controller",
        "kube-apiserver-autoregistration",
        "apiservice-status-remote-available-controller",
    ] {
        assert!(hooks.iter().any(|h| h == name), "{name} not in {hooks:?}");
    }
    let verbose = server.request("GET", "/readyz?verbose", None).unwrap();
    assert_eq!(verbose.status, 200, "{}", verbose.text());
    let report = verbose.text();
    for hook in &hooks {
        assert!(
            report.contains(&format!("[+]poststarthook/{hook} ok\n")),
            "{report}"
        );
    }
    assert!(report.contains("[+]shutdown ok\n"), "{report}");
    assert!(report.ends_with("readyz check passed\n"), "{report}");

    let server = Arc::new(Mutex::new(Some(server)));
    let proc = || {
        let guard = server.lock().unwrap();
        let p = guard.as_ref().unwrap();
        Proc {
            child: Command::new("true").spawn().unwrap(),
            port: p.port,
            token: p.token.clone(),
            tls: Arc::clone(&p.tls),
            log: Arc::clone(&p.log),
        }
    };

    // A few watches: they must end, cleanly, when new requests stop.
    let watches: Vec<_> = (0..3)
        .map(|_| {
            let client = proc();
            std::thread::spawn(move || {
                let tcp = TcpStream::connect(("127.0.0.1", client.port)).unwrap();
                tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                let conn = rustls::ClientConnection::new(
                    Arc::clone(&client.tls),
                    "localhost".try_into().unwrap(),
                )
                .unwrap();
                let mut s = rustls::StreamOwned::new(conn, tcp);
                write!(
                    s,
                    "GET /api/v1/namespaces/default/configmaps?watch=true HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\r\n",
                    client.token
                )
                .unwrap();
                s.flush().unwrap();
                // The watch's connection is kept alive, as kubectl's is, so once the watch has
                // ended the server closes it as an idle one: the end of the watch is the
                // terminating chunk, not the end of the connection.
                let mut out = Vec::new();
                let mut buf = [0u8; 4096];
                while !out.ends_with(b"0\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => out.extend_from_slice(&buf[..n]),
                    }
                }
                (out, Instant::now())
            })
        })
        .collect();

    // The load: each worker creates, reads, lists and deletes its own ConfigMaps.
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..3)
        .map(|w| {
            let client = proc();
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut served = Vec::new();
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    i += 1;
                    let name = format!("load-{w}-{i}");
                    let body = format!(r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}"}},"data":{{"i":"{i}"}}}}"#);
                    let base = "/api/v1/namespaces/default/configmaps";
                    let one = format!("{base}/{name}");
                    for (method, path, body) in [
                        ("POST", base, Some(body.as_str())),
                        ("GET", one.as_str(), None),
                        ("GET", base, None),
                        ("DELETE", one.as_str(), None),
                    ] {
                        let started = Instant::now();
                        let resp = client.request(method, path, body);
                        served.push(Served {
                            started,
                            status: resp.as_ref().map(|r| r.status),
                            audit_id: resp
                                .as_ref()
                                .and_then(|r| r.header("Audit-Id").map(str::to_string)),
                        });
                    }
                }
                served
            })
        })
        .collect();

    std::thread::sleep(Duration::from_millis(500));
    let client = proc();
    let sigterm_at = Instant::now();
    server
        .lock()
        .unwrap()
        .as_ref()
        .unwrap()
        .signal(libc::SIGTERM);
    let not_ready_at = loop {
        if client.request("GET", "/readyz", None).map(|r| r.status) == Some(500) {
            break Instant::now();
        }
        assert!(
            sigterm_at.elapsed() < Duration::from_secs(1),
            "/readyz never failed"
        );
    };
    assert!(
        not_ready_at - sigterm_at < Duration::from_millis(100),
        "/readyz took {:?} to fail",
        not_ready_at - sigterm_at
    );
    let report = client
        .request("GET", "/readyz?verbose", None)
        .unwrap()
        .text();
    assert!(
        report.contains("[-]shutdown failed: reason withheld\n"),
        "{report}"
    );
    assert!(report.ends_with("readyz check failed\n"), "{report}");
    // The server goes on serving during the delay, and says so: /livez is still fine.
    assert_eq!(client.request("GET", "/livez", None).unwrap().status, 200);

    let mut server = server.lock().unwrap().take().unwrap();
    assert_eq!(server.wait_exit(Duration::from_secs(20)), Some(0));
    stop.store(true, Ordering::SeqCst);

    // The signals in the order of the seed's Run(); the listener closing and the drain run side
    // by side, so only their place after NotAcceptingNewRequest is fixed.
    let order = [
        "MuxAndDiscoveryComplete",
        "ShutdownInitiated",
        "PreShutdownHooksStopped",
        "AfterShutdownDelayDuration",
        "NotAcceptingNewRequest",
    ];
    let at: Vec<usize> = order.iter().map(|n| server.line_index(&event(n))).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{order:?} at {at:?}");
    let last = *at.last().unwrap();
    for name in ["InFlightRequestsDrained", "HTTPServerStoppedListening"] {
        assert!(server.line_index(&event(name)) > last, "{name}");
    }
    assert!(
        server.line_index("apiserver is exiting")
            > server.line_index(&event("InFlightRequestsDrained"))
    );
    let delay_over = server.wait_line(&event("AfterShutdownDelayDuration"), Duration::ZERO);
    assert!(delay_over - sigterm_at >= Duration::from_secs(2));

    // Every request sent while the server still took new ones was answered in full, with
    // success; after that a request may find the door closed, but never a half answer or an error.
    let not_accepting = server.wait_line(&event("NotAcceptingNewRequest"), Duration::ZERO);
    let served: Vec<Served> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    let mut during_delay = 0;
    let mut audit_ids = Vec::new();
    for s in &served {
        match s.status {
            Some(code) => {
                assert!((200..300).contains(&code), "a request got {code}");
                audit_ids.push(s.audit_id.clone().expect("every answer has an Audit-Id"));
            }
            // The line is read a little after the signal fires: allow that much.
            None => assert!(
                s.started + Duration::from_millis(200) > not_accepting,
                "a request started {:?} before NotAcceptingNewRequest failed",
                not_accepting - s.started
            ),
        }
        if s.started > sigterm_at && s.status.is_some() {
            during_delay += 1;
        }
    }
    assert!(
        during_delay > 10,
        "only {during_delay} requests served during the delay"
    );
    assert!(!audit_ids.is_empty());
    // The audit-backend pre-shutdown hook flushed before the listener closed, and what came
    // after it still reached the file before exit 0: every answer is in the log, complete.
    let completed: std::collections::HashSet<String> = std::fs::read_to_string(&audit_log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["stage"] == "ResponseComplete")
        .map(|e| e["auditID"].as_str().unwrap().to_string())
        .collect();
    let missing: Vec<&String> = audit_ids
        .iter()
        .filter(|id| !completed.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} answered requests are not in the audit log: {missing:?}",
        missing.len(),
        audit_ids.len()
    );

    for watch in watches {
        let (out, ended_at) = watch.join().unwrap();
        assert!(
            out.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&out)
        );
        assert!(
            out.ends_with(b"0\r\n\r\n"),
            "a watch was cut instead of ended"
        );
        assert!(
            ended_at + Duration::from_millis(200) > not_accepting,
            "a watch ended early"
        );
        let head_end = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let events = String::from_utf8(dechunk(&out[head_end..])).unwrap();
        assert!(
            events.lines().any(|l| l.contains("\"type\":\"DELETED\"")),
            "the watch saw the load"
        );
    }
}

#[test]
fn with_send_retry_after_the_listener_closes_only_after_the_drain() {
    let dir = test_dir("retry-after");
    let mut server = Proc::start(&dir, &["--shutdown-send-retry-after"], None);
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.request("GET", "/readyz", None).map(|r| r.status) != Some(200) {
        assert!(Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    server.signal(libc::SIGTERM);
    assert_eq!(server.wait_exit(Duration::from_secs(20)), Some(0));
    let drained = server.line_index(&event("InFlightRequestsDrained"));
    assert!(server.line_index(&event("NotAcceptingNewRequest")) < drained);
    assert!(drained < server.line_index(&event("HTTPServerStoppedListening")));
}

#[test]
fn a_failing_notify_socket_is_logged_and_the_server_serves_on() {
    let dir = test_dir("no-notify");
    let mut server = Proc::start(&dir, &[], Some(&dir.join("nobody-listens.sock")));
    server.wait_line(
        "Unable to send systemd daemon successful start message",
        Duration::from_secs(20),
    );
    assert_eq!(
        server.request("GET", "/readyz", None).map(|r| r.status),
        Some(200)
    );
    server.signal(libc::SIGTERM);
    assert_eq!(server.wait_exit(Duration::from_secs(20)), Some(0));
}

#[test]
fn a_watch_without_timeout_seconds_ends_between_min_request_timeout_and_twice_it() {
    let dir = test_dir("min-request-timeout");
    let mut server = Proc::start(&dir, &["--min-request-timeout=1"], None);
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.request("GET", "/readyz", None).map(|r| r.status) != Some(200) {
        assert!(Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    let started = Instant::now();
    let watch = server
        .request(
            "GET",
            "/api/v1/namespaces/default/configmaps?watch=true",
            None,
        )
        .expect("the watch ends with a whole response");
    let took = started.elapsed();
    assert_eq!(watch.status, 200);
    // Between 1 s and 2 s, plus at most one heartbeat tick for the watch to notice.
    assert!(took >= Duration::from_secs(1), "ended after {took:?}");
    assert!(took < Duration::from_millis(2300), "ended after {took:?}");
    server.signal(libc::SIGTERM);
    assert_eq!(server.wait_exit(Duration::from_secs(20)), Some(0));
}

/// A plain HTTP/1.1 request with no credentials at all.
fn plain(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> std::io::Result<ClientResponse> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let body = body.unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    Ok(parse_response(&out))
}

#[test]
fn the_insecure_port_serves_anyone_as_a_superuser_and_is_off_by_default() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let dir = test_dir("insecure");
    let mut server = Proc::start(&dir, &[&format!("--insecure-port={port}")], None);
    server.wait_line("Serving insecurely on 127.0.0.1:", Duration::from_secs(5));
    let deadline = Instant::now() + Duration::from_secs(20);
    while plain(port, "GET", "/readyz", None).map(|r| r.status).ok() != Some(200) {
        assert!(Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    // No token, no certificate: still allowed to write, as system:masters.
    let created = plain(
        port,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some(r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"insecure"}}"#),
    )
    .unwrap();
    assert_eq!(created.status, 201, "{}", created.text());
    let review = plain(
        port,
        "POST",
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        Some(r#"{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"#),
    )
    .unwrap();
    let user = &review.json()["status"]["userInfo"];
    assert_eq!(user["username"], "system:unsecured", "{}", review.text());
    assert!(user["groups"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g == "system:masters"));
    // The same request on the secure port without credentials is anonymous, and refused.
    let secure = server
        .request_anonymous("GET", "/api/v1/namespaces/default/configmaps/insecure")
        .unwrap();
    assert_eq!(secure.status, 403);
    server.signal(libc::SIGTERM);
    assert_eq!(server.wait_exit(Duration::from_secs(20)), Some(0));
    assert!(
        plain(port, "GET", "/readyz", None).is_err(),
        "the insecure port closed too"
    );

    // Without the flag, nothing listens there and the log says nothing of it.
    let dir = test_dir("no-insecure");
    let mut server = Proc::start(&dir, &[], None);
    assert!(server
        .lines()
        .iter()
        .all(|(_, l)| !l.contains("Serving insecurely")));
    server.signal(libc::SIGTERM);
    assert_eq!(server.wait_exit(Duration::from_secs(20)), Some(0));
}
