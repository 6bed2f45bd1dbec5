//! Chapter 6: Run. Starts the server in-process on a free port, asks it over HTTPS (with curl)
//! whether it is ready, then shuts it down with a one-second `--shutdown-delay-duration` and
//! prints the graceful-termination timeline (each lifecycle signal with its offset from the
//! stop request, in milliseconds); halfway through, /readyz already fails while /healthz still
//! answers.
//!
//! Run: `cargo run --example ch06_run` (needs curl)

use std::io::Write;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mini_apiserver::cmd::{new_api_server_command, Command as Parsed};
use mini_apiserver::http::conn::ConnLimits;
use mini_apiserver::run;

fn curl(port: u16, ca: &str, path: &str) -> String {
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--cacert",
            ca,
            &format!("https://localhost:{port}{path}"),
        ])
        .output()
        .expect("curl is installed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The lifecycle log lines as they happen, for the timeline printed at the end.
static EVENTS: Mutex<Vec<(Instant, String)>> = Mutex::new(Vec::new());

fn main() {
    env_logger::Builder::new()
        .format(|buf, record| {
            let line = record.args().to_string();
            if line.starts_with("[graceful-termination]") {
                EVENTS.lock().unwrap().push((Instant::now(), line.clone()));
            }
            writeln!(buf, "{} {} {line}", buf.timestamp_millis(), record.level())
        })
        .filter_level(log::LevelFilter::Info)
        .filter_module(
            "mini_apiserver::server::kubeapiserver",
            log::LevelFilter::Warn,
        )
        .filter_module("may", log::LevelFilter::Warn)
        .filter_module("rustls", log::LevelFilter::Warn)
        .format_timestamp_millis()
        .init();
    let dir = std::env::temp_dir().join(format!("ch06-{}", std::process::id()));
    let args = [
        "--secure-port=0".to_string(),
        format!("--cert-dir={}", dir.display()),
        "--shutdown-delay-duration=1s".into(),
    ];
    let Ok(Parsed::Run(opts)) = new_api_server_command(args.iter().map(Into::into)) else {
        panic!("flags")
    };
    let server = run::start(
        &opts,
        Arc::new(mini_apiserver::apis::new_scheme()),
        ConnLimits::default(),
    )
    .expect("serving");
    let port = server.addr.port();
    let ca = dir.join("ca.crt").display().to_string();

    let started = Instant::now();
    while curl(port, &ca, "/readyz") != "200" {
        std::thread::sleep(Duration::from_millis(10));
    }
    println!(
        "ready after {:?}; try: kubectl --kubeconfig {} get ns",
        started.elapsed(),
        server.credentials.kubeconfig.display()
    );
    let threads = std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0);
    println!("OS threads in this process: {threads} (main, may's timer, the worker, and this example's control-loop thread)");

    let probe = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        println!(
            "during the shutdown delay: /readyz {}, /healthz {}",
            curl(port, &ca, "/readyz"),
            curl(port, &ca, "/healthz")
        );
    });
    let stop_asked = Instant::now();
    println!("shutting down: {:?}", server.shutdown());
    probe.join().unwrap();
    println!("\ntimeline, from the stop request:");
    for (at, line) in EVENTS.lock().unwrap().iter() {
        // Signals from before the stop (the server getting ready) show as negative offsets.
        let offset = if *at >= stop_asked {
            (*at - stop_asked).as_millis() as i64
        } else {
            -((stop_asked - *at).as_millis() as i64)
        };
        println!("{offset:>6} ms  {line}");
    }
}
