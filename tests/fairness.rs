//! One worker thread serves every connection, so no connection may keep it to itself.

mod common;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::TestServer;

#[test]
fn a_client_that_pipelines_without_pause_does_not_starve_the_others() {
    let s = Arc::new(TestServer::start("fairness", &[]));
    let stop = Arc::new(AtomicBool::new(false));
    let hog = s.connect();
    let hog = Arc::new(std::sync::Mutex::new(hog));
    // The hog writes requests as fast as it can and reads the answers on the side.
    let (writer_stop, writer_hog) = (Arc::clone(&stop), Arc::clone(&hog));
    let writer = std::thread::spawn(move || {
        let batch = b"GET /healthz HTTP/1.1\r\n\r\n".repeat(200);
        let started = Instant::now();
        while !writer_stop.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(5) {
            let mut conn = writer_hog.lock().unwrap();
            if conn.write_all(&batch).is_err() {
                return started.elapsed();
            }
            let mut buf = vec![0u8; 1 << 16];
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => return started.elapsed(),
                Ok(_) => {}
            }
        }
        started.elapsed()
    });
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    assert_eq!(s.get("/healthz").status, 200);
    let waited = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let hog_ran = writer.join().unwrap();
    assert!(waited < Duration::from_secs(2), "another client waited {waited:?} behind the hog");
    assert!(hog_ran < Duration::from_secs(4), "the hog was cut off after {hog_ran:?}");
}
