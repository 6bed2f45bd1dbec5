//! Serving the secure port (book chapter 6): `SecureServingInfo.Serve` in
//! `k8s.io/apiserver/pkg/server/secure_serving.go`, over may coroutines instead of goroutines.
//!
//! One coroutine accepts; each connection gets a coroutine that does the TLS handshake and then
//! serves HTTP/1.1 requests until the connection ends. All of them run on may's single worker
//! thread, taking turns whenever one would block on a socket.

use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::http::conn::{serve_connection, ConnLimits, Connections};
use crate::http::Handler;
use crate::server::lifecycle_signals::LifecycleSignals;

/// What `SecureServingOptions.ApplyTo` produces: a bound listener and the TLS config.
pub struct SecureServingInfo {
    pub listener: TcpListener,
    pub tls: Arc<rustls::ServerConfig>,
}

impl SecureServingInfo {
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }
}

/// Binds with std rather than may: may's `bind` sets SO_REUSEPORT, which would let a second
/// server bind the same port and silently take half the connections.
pub fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr).map_err(|e| format!("failed to listen on {addr}: {e}"))
}

// ANCHOR: accept_loop
/// Accepts connections until `stop_listening` is set (the lifecycle then connects to us once to
/// wake this loop up), each served in a coroutine of its own; then drops the listener and fires
/// `HTTPServerStoppedListening`.
pub fn serve(
    info: SecureServingInfo,
    handler: Arc<dyn Handler>,
    connections: Arc<Connections>,
    limits: ConnLimits,
    lifecycle: Arc<LifecycleSignals>,
    stop_listening: Arc<AtomicBool>,
) {
    // SAFETY: the fd comes from a listener we own and give up here.
    let listener = unsafe { may::net::TcpListener::from_raw_fd(info.listener.into_raw_fd()) };
    let tls = info.tls;
    may::go!(move || {
        loop {
            let (stream, remote) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    continue;
                }
            };
            if stop_listening.load(Ordering::SeqCst) {
                break;
            }
            let (handler, connections, tls) = (
                Arc::clone(&handler),
                Arc::clone(&connections),
                Arc::clone(&tls),
            );
            may::go!(move || serve_tls(stream, remote, tls, handler, connections, limits));
        }
        log::info!("stopped listening on {:?}", listener.local_addr());
        drop(listener);
        lifecycle.http_server_stopped_listening.fire();
    });
}
// ANCHOR_END: accept_loop

fn serve_tls(
    stream: may::net::TcpStream,
    remote: SocketAddr,
    tls: Arc<rustls::ServerConfig>,
    handler: Arc<dyn Handler>,
    connections: Arc<Connections>,
    limits: ConnLimits,
) {
    let _ = stream.set_nodelay(true);
    let guard = connections.register(stream.as_raw_fd());
    let conn = match rustls::ServerConnection::new(tls) {
        Ok(c) => c,
        Err(e) => {
            log::warn!("TLS setup failed for {remote}: {e}");
            return;
        }
    };
    let mut tls_stream = rustls::StreamOwned::new(conn, stream);
    serve_connection(&mut tls_stream, Some(remote), &*handler, &guard, limits);
    // Say goodbye only on a finished handshake, and write the alert directly: `flush` on a
    // connection still handshaking would first wait to read the rest of the handshake.
    if !tls_stream.conn.is_handshaking() {
        tls_stream.conn.send_close_notify();
        while tls_stream.conn.wants_write()
            && tls_stream
                .conn
                .write_tls(&mut tls_stream.sock)
                .is_ok_and(|n| n > 0)
        {}
    }
    // Unregister before the socket closes, so the reaper never shuts down a reused fd number.
    drop(guard);
    drop(tls_stream);
}
