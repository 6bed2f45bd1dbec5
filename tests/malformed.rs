//! Garbage on the wire: every malformed request gets a Status (or a closed connection), and the
//! server goes on serving the next client.

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::{parse_response, TestServer};
use mini_apiserver::http::conn::ConnLimits;

fn status_of(raw: &[u8]) -> u16 {
    parse_response(raw).status
}

#[test]
fn malformed_requests_never_take_the_server_down() {
    let s = TestServer::start("malformed", &[]);
    let auth = format!("Authorization: Bearer {}\r\n", s.token);
    let many_headers: String = (0..100).map(|i| format!("X-Header-{i}: v\r\n")).collect();
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("garbage head", b"\x16\x03garbage\r\n\r\n".to_vec(), 400),
        ("no version", b"GET /\r\n\r\n".to_vec(), 400),
        ("bad content-length", format!("POST /api/v1/namespaces HTTP/1.1\r\n{auth}Content-Length: ten\r\n\r\n").into_bytes(), 400),
        ("conflicting content-length", format!("POST /api/v1/namespaces HTTP/1.1\r\n{auth}Content-Length: 2\r\nContent-Length: 3\r\n\r\n{{}}").into_bytes(), 400),
        ("length and chunked", format!("POST /api/v1/namespaces HTTP/1.1\r\n{auth}Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n").into_bytes(), 400),
        ("100 headers", format!("GET /healthz HTTP/1.1\r\n{many_headers}\r\n").into_bytes(), 431),
        ("truncated body", format!("POST /api/v1/namespaces HTTP/1.1\r\n{auth}Content-Length: 100\r\n\r\n{{\"metadata\"").into_bytes(), 400),
        ("oversized body", format!("POST /api/v1/namespaces HTTP/1.1\r\n{auth}Content-Length: 4000000\r\n\r\n").into_bytes(), 413),
        ("bad chunk size", format!("POST /api/v1/namespaces HTTP/1.1\r\n{auth}Transfer-Encoding: chunked\r\n\r\nzz\r\n").into_bytes(), 400),
        ("invalid json", format!("POST /api/v1/namespaces HTTP/1.1\r\n{auth}Content-Type: application/json\r\nContent-Length: 9\r\nConnection: close\r\n\r\n{{\"meta\":[").into_bytes(), 400),
        ("json array", format!("POST /api/v1/namespaces HTTP/1.1\r\n{auth}Content-Length: 2\r\nConnection: close\r\n\r\n[]").into_bytes(), 400),
        ("truncated protobuf", format!("POST /api/v1/namespaces HTTP/1.1\r\n{auth}Content-Type: application/vnd.kubernetes.protobuf\r\nContent-Length: 6\r\nConnection: close\r\n\r\nk8s\0\n\u{7f}").into_bytes(), 400),
        ("non-utf8 header", b"GET /healthz HTTP/1.1\r\nX-Bad: \xff\xfe\r\n\r\n".to_vec(), 400),
    ];
    for (name, raw, want) in cases {
        let answer = s.raw(&raw);
        assert_eq!(
            status_of(&answer),
            want,
            "{name}: {}",
            String::from_utf8_lossy(&answer)
        );
        let body = parse_response(&answer).json();
        assert_eq!(body["kind"], "Status", "{name}");
        assert_eq!(
            s.get("/healthz").text(),
            "ok",
            "the server still serves after {name}"
        );
    }
    // A TLS client that hangs up mid-handshake, and one that sends plain HTTP to the TLS port.
    drop(std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap());
    let mut plain = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = plain.write_all(b"GET /healthz HTTP/1.1\r\n\r\n");
    let _ = plain.read(&mut [0u8; 64]);
    assert_eq!(s.get("/healthz").status, 200);
    assert_eq!(
        s.get("/api/v1/namespaces").json()["items"]
            .as_array()
            .unwrap()
            .len(),
        4,
        "no namespace was created"
    );
    s.stop();
}

#[test]
fn keep_alive_pipelining_and_http10() {
    let s = TestServer::start("keepalive", &[]);
    let auth = format!("Authorization: Bearer {}\r\n", s.token);
    // Two pipelined requests on one connection, the second asking to close.
    let raw = format!("GET /healthz HTTP/1.1\r\n\r\nGET /api/v1/namespaces/default HTTP/1.1\r\n{auth}Connection: close\r\n\r\n");
    let out = String::from_utf8(s.raw(raw.as_bytes())).unwrap();
    assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 2, "{out}");
    assert!(out.contains("Connection: close"));
    // HTTP/1.0 without keep-alive gets one answer and a closed connection.
    let out = String::from_utf8(s.raw(b"GET /healthz HTTP/1.0\r\n\r\n")).unwrap();
    assert!(
        out.starts_with("HTTP/1.1 200 OK") && out.ends_with("ok"),
        "{out}"
    );
    // A chunked request body, and Expect: 100-continue.
    let body = r#"{"metadata":{"name":"chunked"}}"#;
    let raw = format!("POST /api/v1/namespaces HTTP/1.1\r\n{auth}Expect: 100-continue\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
    let out = String::from_utf8(s.raw(raw.as_bytes())).unwrap();
    assert!(
        out.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created"),
        "{out}"
    );
    s.stop();
}

#[test]
fn idle_connections_are_closed() {
    let limits = ConnLimits {
        idle_timeout: Duration::from_millis(300),
        write_timeout: Duration::from_secs(5),
    };
    let s = TestServer::start_with_limits("idle", &[], limits);
    let mut conn = s.connect();
    conn.write_all(b"GET /healthz HTTP/1.1\r\n\r\n").unwrap();
    let mut buf = [0u8; 512];
    assert!(conn.read(&mut buf).unwrap() > 0);
    // Then silence, and a slow client that never finishes its head: both are cut.
    let started = Instant::now();
    let mut rest = Vec::new();
    let _ = conn.read_to_end(&mut rest);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "idle connection closed by the server"
    );
    let mut slow = s.connect();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nX-Slow: ")
        .unwrap();
    let started = Instant::now();
    let _ = slow.read_to_end(&mut rest);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "slow client cut"
    );
    assert_eq!(s.get("/healthz").status, 200);
    s.stop();
}
