//! `mini-apiserver`: the binary. Reads like kube-apiserver's `main()` and `Run()` (seeds 001 and
//! 004): one call per startup stage, in order.

use std::sync::Arc;

use mini_apiserver::cmd::{self, Command};
use mini_apiserver::run::{self, lifecycle::Outcome, signals::exit_now};
use mini_apiserver::{apis, prepare};

// ANCHOR: main
fn main() {
    // Stage 2: the command: flags, --help, Complete, Validate.
    let opts = match cmd::new_api_server_command(std::env::args_os().skip(1)) {
        Ok(Command::Run(opts)) => opts,
        Ok(Command::Help(usage)) => {
            print!("{usage}");
            exit_now(0);
        }
        Ok(Command::Version) => {
            println!("mini-apiserver {}", prepare::version::git_version());
            exit_now(0);
        }
        Err(e) => {
            eprintln!("Error: {e}");
            exit_now(1);
        }
    };
    // Logs: -v=N, as klog reads it (RUST_LOG still wins when set).
    init_logs(opts.logs.verbosity);
    // The runtime: one may worker thread, coroutine stacks big enough for TLS.
    run::init_runtime();
    // Stage 1: the scheme, with every API group's kinds.
    let scheme = Arc::new(apis::new_scheme());
    // Stages 3 to 6: config, server chain, PrepareRun, Run; returns after graceful termination.
    let code = match run::run(&opts, scheme) {
        Ok(Outcome::Stopped) => 0,
        Ok(Outcome::Forced) => 1,
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    };
    // Exit without unwinding the worker's coroutines (see exit_now).
    exit_now(code);
}
// ANCHOR_END: main

/// klog's verbosity to log levels: 0 and 1 are info, up to 4 debug, beyond that trace.
fn init_logs(verbosity: u8) {
    let level = match verbosity {
        0..=1 => log::LevelFilter::Info,
        2..=4 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    };
    let rustls_level = if verbosity >= 6 {
        level
    } else {
        log::LevelFilter::Warn
    };
    env_logger::Builder::new()
        .filter_level(level)
        .filter_module("rustls", rustls_level)
        .filter_module("may", log::LevelFilter::Warn)
        .format_timestamp_millis()
        .parse_default_env()
        .init();
}
