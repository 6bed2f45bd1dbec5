//! Stage 6: Run (book chapter 6, `ch06-run.md`).
//!
//! Mirrors kube-apiserver's `Run` (seed 004): `CreateServerChain`, `PrepareRun`, then
//! `preparedGenericAPIServer.Run`, which serves until a signal and then terminates gracefully.
//!
//! - [`tls`]: self-signed certificates, the rustls config, the admin kubeconfig.
//! - [`serve`]: the listener and the connection coroutines.
//! - [`lifecycle`]: the control loop, the heartbeat, graceful termination.
//! - [`signals`]: SIGTERM and SIGINT.
//! - [`insecure_serving`]: the v1.13 insecure port, when `--insecure-port` is set.
//! - [`notify`]: `READY=1` for systemd.

pub mod insecure_serving;
pub mod lifecycle;
pub mod notify;
pub mod serve;
pub mod signals;
pub mod tls;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{Arc, Once};
use std::thread::JoinHandle;

use crate::cmd::options::CompletedOptions;
use crate::config::build_generic_config;
use crate::http::conn::ConnLimits;
use crate::prepare::{PrepareRun, PreparedGenericAPIServer};
use crate::scheme::Scheme;
use crate::server::create_server_chain;
use lifecycle::{control_loop, spawn_heartbeat, Graceful, Outcome};
use serve::SecureServingInfo;

/// A coroutine stack deep enough for the deepest body JSON allows (serde_json refuses nesting
/// past 128): decoding, patching, managed fields and encoding all recurse once per level, at up
/// to a few KiB a level in a debug build. 0x20000 words, 1 MiB on 64-bit; may's default of 0x1000
/// words overflows even inside rustls. The stack is mapped, not allocated: a connection only
/// commits the pages it touches, so a shallow request costs what it did with a small stack.
pub const COROUTINE_STACK_WORDS: usize = 0x20000;

// ANCHOR: init_runtime
/// Configures may before anything starts a coroutine or opens a may socket: one worker thread,
/// so every connection is a coroutine taking turns on it, and stacks sized for TLS.
pub fn init_runtime() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        may::config()
            .set_workers(1)
            .set_stack_size(COROUTINE_STACK_WORDS);
    });
}
// ANCHOR_END: init_runtime

/// The files a client needs to reach the server, written at start.
pub struct ClientCredentials {
    pub kubeconfig: PathBuf,
    pub ca_pem: Vec<u8>,
    pub admin_token: String,
}

/// The address clients are told to use: the advertise address, or loopback for a wildcard bind.
fn client_host(opts: &CompletedOptions) -> IpAddr {
    let ip = opts
        .generic
        .advertise_address
        .unwrap_or(opts.secure_serving.bind_address);
    if ip.is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        ip
    }
}

/// `SecureServingOptions.MaybeDefaultWithSelfSignedCerts` and `ApplyTo`: certificates, the
/// listener, and the admin kubeconfig pointing at it.
fn secure_serving(
    opts: &CompletedOptions,
) -> Result<(SecureServingInfo, ClientCredentials), String> {
    let ss = &opts.secure_serving;
    let host = client_host(opts);
    let (cert, key, ca_file) = match (&ss.tls_cert_file, &ss.tls_private_key_file) {
        (Some(cert), Some(key)) => (cert.clone(), key.clone(), cert.clone()),
        _ => {
            let mut dns = Vec::new();
            if !opts.generic.external_hostname.is_empty() {
                dns.push(opts.generic.external_hostname.clone());
            }
            let generated = tls::maybe_default_with_self_signed_certs(
                &ss.cert_dir,
                &[host, ss.bind_address],
                &dns,
            )?;
            (
                generated.serving_cert,
                generated.serving_key,
                generated.ca_cert,
            )
        }
    };
    // A client may present a certificate whenever some authenticator could accept one.
    let a = &opts.authentication;
    let client_cas: Vec<(&str, &std::path::Path)> = [
        ("--client-ca-file", &a.client_ca_file),
        (
            "--requestheader-client-ca-file",
            &a.request_header.client_ca_file,
        ),
    ]
    .into_iter()
    .filter_map(|(flag, file)| file.as_deref().map(|path| (flag, path)))
    .collect();
    let tls = tls::server_config(&cert, &key, &client_cas)?;
    let listener = serve::bind(SocketAddr::new(ss.bind_address, ss.secure_port))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let ca_pem = std::fs::read(&ca_file).map_err(|e| format!("{}: {e}", ca_file.display()))?;
    let admin_token = tls::admin_token(&ss.cert_dir)?;
    let url = format!("https://{}", SocketAddr::new(host, port));
    let kubeconfig = tls::write_admin_kubeconfig(&ss.cert_dir, &url, &ca_pem, &admin_token)?;
    log::info!(
        "serving securely on {}; kubeconfig: {}",
        SocketAddr::new(ss.bind_address, port),
        kubeconfig.display()
    );
    Ok((
        SecureServingInfo { listener, tls },
        ClientCredentials {
            kubeconfig,
            ca_pem,
            admin_token,
        },
    ))
}

/// `--insecure-port`, when not 0: bound now, like the secure port, so a port in use fails early.
fn insecure_listener(opts: &CompletedOptions) -> Result<Option<std::net::TcpListener>, String> {
    let ss = &opts.secure_serving;
    if ss.insecure_port == 0 {
        return Ok(None);
    }
    let addr = SocketAddr::new(ss.insecure_bind_address, ss.insecure_port);
    let listener = serve::bind(addr)?;
    log::warn!("Serving insecurely on {addr}: no authentication, no authorization");
    Ok(Some(listener))
}

/// A server that is serving, and the way to stop it.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub credentials: ClientCredentials,
    /// Write the signal byte here to ask for graceful termination.
    control: UnixStream,
    /// The control loop, on its own thread when the server runs in-process (tests, examples).
    control_loop: Option<JoinHandle<Outcome>>,
}

impl RunningServer {
    /// Graceful termination, as a SIGTERM would start it; returns once the server has stopped.
    pub fn shutdown(self) -> Outcome {
        self.terminate();
        self.wait()
    }

    /// Starts graceful termination, as a SIGTERM does, and returns at once; a second call is a
    /// second signal.
    pub fn terminate(&self) {
        use std::io::Write;
        let _ = (&self.control).write_all(&[signals::SIGNAL_BYTE]);
    }

    /// Waits for the server to stop.
    pub fn wait(mut self) -> Outcome {
        self.control_loop
            .take()
            .map_or(Outcome::Forced, |h| h.join().unwrap_or(Outcome::Forced))
    }
}

/// Everything up to the control loop: the stages 3 to 6 of `Run`.
/// `control` is the socket pair the control loop reads (stop requests, the worker's "done").
fn start_serving(
    opts: &CompletedOptions,
    scheme: Arc<Scheme>,
    limits: ConnLimits,
    control: (UnixStream, UnixStream),
    build: &ServerBuilder,
) -> Result<(RunningServer, UnixStream, UnixStream), String> {
    init_runtime();
    let (control_read, control_write) = control;
    // Stage 6 starts early, as in kube-apiserver: the listener is bound while the config is built.
    let (serving, credentials) = secure_serving(opts)?;
    let addr = serving.listener.local_addr().map_err(|e| e.to_string())?;
    let insecure = insecure_listener(opts)?;
    let insecure_addr = match &insecure {
        Some(l) => Some(l.local_addr().map_err(|e| e.to_string())?),
        None => None,
    };
    // Stage 3: the generic config.
    let config = build_generic_config(opts, scheme, &credentials.admin_token, addr.port())?;
    // Stage 4: the three servers.
    let external = SocketAddr::new(client_host(opts), addr.port()).to_string();
    let aggregator = build(&config, &external);
    // Stage 5: PrepareRun.
    let prepared = aggregator.prepare_run(&config);
    // Stage 6: Run.
    let (heartbeat_main, heartbeat_worker) = UnixStream::pair().map_err(|e| e.to_string())?;
    let wake_addr = SocketAddr::new(
        if addr.ip().is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            addr.ip()
        },
        addr.port(),
    );
    let graceful = Graceful {
        lifecycle: Arc::clone(&prepared.lifecycle),
        connections: Default::default(),
        in_flight: Arc::clone(&prepared.in_flight),
        storage: Arc::clone(&config.storage),
        request_deadlines: Arc::clone(&config.request_deadlines),
        pre_shutdown_hooks: prepared.pre_shutdown_hooks.clone(),
        shutdown_delay: opts.generic.shutdown_delay_duration,
        drain_timeout: opts.generic.request_timeout,
        send_retry_after: opts.generic.shutdown_send_retry_after,
        stop_listening: Default::default(),
        listen_addr: wake_addr,
        insecure_addr,
        done: control_write.try_clone().map_err(|e| e.to_string())?,
    };
    non_blocking_run(
        prepared,
        serving,
        insecure,
        graceful,
        heartbeat_worker,
        limits,
    )?;
    let server = RunningServer {
        addr,
        credentials,
        control: control_write,
        control_loop: None,
    };
    Ok((server, control_read, heartbeat_main))
}

// ANCHOR: non_blocking_run
/// `NonBlockingRun`: start serving, the heartbeat, and the post-start hooks, then return.
fn non_blocking_run(
    prepared: PreparedGenericAPIServer,
    serving: SecureServingInfo,
    insecure: Option<std::net::TcpListener>,
    graceful: Graceful,
    heartbeat: UnixStream,
    limits: ConnLimits,
) -> Result<(), String> {
    // The audit backend is running before the first request can produce an event.
    if let Some(backend) = &prepared.audit_backend {
        backend
            .run()
            .map_err(|e| format!("failed to run the audit backend: {e}"))?;
    }
    let connections = Arc::clone(&graceful.connections);
    let lifecycle = Arc::clone(&prepared.lifecycle);
    let stop_listening = Arc::clone(&graceful.stop_listening);
    // PrepareRun installed every path and discovery document before we got here.
    lifecycle.mux_and_discovery_complete.fire();
    if let Some(listener) = insecure {
        insecure_serving::serve_insecure(
            listener,
            Arc::clone(&prepared.insecure_handler),
            Arc::clone(&connections),
            limits,
            Arc::clone(&stop_listening),
        );
    }
    serve::serve(
        serving,
        prepared.handler,
        connections,
        limits,
        lifecycle,
        stop_listening,
    );
    spawn_heartbeat(heartbeat, graceful);
    let hooks = prepared.post_start_hooks;
    let lifecycle = Arc::clone(&prepared.lifecycle);
    may::go!(move || {
        for hook in hooks {
            // Go hands each hook the server's stop channel, and a hook that sees it closed
            // returns quietly: a SIGTERM during startup is a shutdown, not a broken server.
            if lifecycle.shutdown_initiated.fired() {
                log::info!("post-start hooks stopped: the server is shutting down");
                return;
            }
            if let Err(e) = hook.run_once() {
                if lifecycle.shutdown_initiated.fired() {
                    log::info!("{e} (during shutdown, so not fatal)");
                    return;
                }
                // A hook fails only when the server cannot work without it (`klog.Fatalf`).
                log::error!("{e}");
                signals::exit_now(255);
            }
        }
        notify::sd_notify_ready();
    });
    Ok(())
}
// ANCHOR_END: non_blocking_run

// ANCHOR: run
/// `Run` for the binary: serve until SIGTERM or SIGINT, on the calling (main) thread.
pub fn run(opts: &CompletedOptions, scheme: Arc<Scheme>) -> Result<Outcome, String> {
    let control = UnixStream::pair().map_err(|e| e.to_string())?;
    // Signals are routed before anything starts, so that an early SIGTERM is graceful too.
    signals::setup_signal_handler(control.1.as_raw_fd());
    let (_server, control_read, heartbeat) = start_serving(
        opts,
        scheme,
        ConnLimits::default(),
        control,
        &kube_apiserver,
    )?;
    Ok(control_loop(control_read, heartbeat))
}
// ANCHOR_END: run

/// The same server in-process, its control loop on a thread of its own: for tests and examples,
/// which stop it with [`RunningServer::shutdown`]. `limits` lets a test shorten the idle timeout.
pub fn start(
    opts: &CompletedOptions,
    scheme: Arc<Scheme>,
    limits: ConnLimits,
) -> Result<RunningServer, String> {
    start_with(opts, scheme, limits, &kube_apiserver)
}

/// Builds the server that faces the clients from the config and the external address: the
/// chain, or (for `examples/sample_apiserver.rs`) one `GenericAPIServer` of its own.
pub type ServerBuilder = dyn Fn(&crate::config::Config, &str) -> Box<dyn PrepareRun>;

/// kube-apiserver's server chain, as `Run` prepares it: the aggregator in front.
fn kube_apiserver(config: &crate::config::Config, external: &str) -> Box<dyn PrepareRun> {
    Box::new(create_server_chain(config, external))
}

/// [`start`] with another server than kube-apiserver's chain, for an extension API server
/// built from the same pieces.
pub fn start_with(
    opts: &CompletedOptions,
    scheme: Arc<Scheme>,
    limits: ConnLimits,
    build: &ServerBuilder,
) -> Result<RunningServer, String> {
    let control = UnixStream::pair().map_err(|e| e.to_string())?;
    let (mut server, control_read, heartbeat) =
        start_serving(opts, scheme, limits, control, build)?;
    server.control_loop = Some(std::thread::spawn(move || {
        control_loop(control_read, heartbeat)
    }));
    Ok(server)
}
