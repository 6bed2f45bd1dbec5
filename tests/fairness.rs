//! One worker thread serves every connection, so no connection may keep it to itself.

mod common;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::TestServer;
use mini_apiserver::http::conn::ConnLimits;

#[test]
fn a_client_that_pipelines_and_never_reads_stalls_only_itself() {
    let limits = ConnLimits {
        idle_timeout: Duration::from_secs(30),
        write_timeout: Duration::from_secs(1),
    };
    let s = Arc::new(TestServer::start_with_limits("fairness", &[], limits));
    let stop = Arc::new(AtomicBool::new(false));
    let mut hog = s.connect();
    let writer_stop = Arc::clone(&stop);
    // Requests as fast as the socket takes them, answers never read: the server's writes to
    // this connection fill the socket and stall, until the write deadline cuts it.
    let writer = std::thread::spawn(move || {
        let batch = b"GET /healthz HTTP/1.1\r\n\r\n".repeat(200);
        let started = Instant::now();
        while !writer_stop.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(10) {
            if hog.write_all(&batch).is_err() {
                break;
            }
        }
        started.elapsed()
    });
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    assert_eq!(s.get("/healthz").status, 200);
    let waited = started.elapsed();
    let hog_ran = writer.join().unwrap();
    stop.store(true, Ordering::SeqCst);
    assert!(
        waited < Duration::from_secs(1),
        "another client waited {waited:?} behind the hog"
    );
    assert!(
        hog_ran < Duration::from_secs(5),
        "the stalled connection was cut after {hog_ran:?}"
    );
}
