//! The binary as a user runs it: `--help`, bad flags, its threads, and its signals.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mini-apiserver");

#[test]
fn help_prints_the_flag_sections() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for section in [
        "Generic flags:",
        "Etcd flags:",
        "Secure serving flags:",
        "Authentication flags:",
        "Authorization flags:",
        "Admission flags:",
        "Logs flags:",
        "Global flags:",
    ] {
        assert!(text.contains(section), "{section} missing from:\n{text}");
    }
    assert!(text.contains("--secure-port int"));
}

#[test]
fn bad_flags_exit_non_zero_naming_the_flag() {
    let out = Command::new(BIN)
        .args(["--secure-port=http", "--authorization-mode=Nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("invalid argument \"http\" for \"--secure-port\" flag"),
        "{err}"
    );
    let out = Command::new(BIN)
        .arg("--authorization-mode=Nope")
        .output()
        .unwrap();
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("--authorization-mode \"Nope\" is not one of"));
    let out = Command::new(BIN).arg("serve").output().unwrap();
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("unknown command \"serve\""));
}

/// Starts the binary on a free port and waits for its "serving securely" line; returns the
/// child and the port.
fn start(extra: &[&str]) -> (Child, u16, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "mini-apiserver-process-{}-{}",
        std::process::id(),
        extra.len()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let mut child = Command::new(BIN)
        .args(["--secure-port=0", &format!("--cert-dir={}", dir.display())])
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let port = common::wait_for_secure_port(&mut child);
    (child, port, dir)
}

fn readyz(port: u16, dir: &std::path::Path) -> Option<String> {
    let out = Command::new("curl")
        .args([
            "-s",
            "--cacert",
            &dir.join("ca.crt").display().to_string(),
            &format!("https://localhost:{port}/readyz"),
        ])
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn wait_exit(child: &mut Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    None
}

#[test]
fn serves_on_three_threads_and_stops_on_sigterm() {
    let (mut child, port, dir) = start(&[]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while readyz(port, &dir).as_deref() != Some("ok") {
        assert!(Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    let threads = std::fs::read_dir(format!("/proc/{}/task", child.id()))
        .unwrap()
        .count();
    assert!(
        threads <= 3,
        "{threads} threads: main, may's timer and one worker at most"
    );
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(wait_exit(&mut child, Duration::from_secs(10)), Some(0));
}

#[test]
fn a_second_signal_exits_at_once_with_1() {
    let (mut child, _port, _dir) = start(&["--shutdown-delay-duration=30s"]);
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    std::thread::sleep(Duration::from_millis(200));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(wait_exit(&mut child, Duration::from_secs(5)), Some(1));
}
