//! Serving the v1.13 insecure port (book chapter 6): `DeprecatedInsecureServingInfo.Serve`,
//! plain HTTP/1.1 over the same connection coroutines as the secure port, and stopped by the same
//! graceful termination.

use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rustls::pki_types::CertificateDer;

use crate::http::conn::{serve_connection, ConnLimits, Connections, PeerCertificates};
use crate::http::Handler;

/// A plain connection never carries a client certificate.
struct Plain(may::net::TcpStream);

impl std::io::Read for Plain {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl std::io::Write for Plain {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl PeerCertificates for Plain {
    fn peer_certificates(&self) -> Option<Arc<Vec<CertificateDer<'static>>>> {
        None
    }
}

/// Accepts plain connections until `stop_listening` is set (graceful termination connects once
/// to wake this loop), each served in a coroutine of its own.
pub fn serve_insecure(
    listener: TcpListener,
    handler: Arc<dyn Handler>,
    connections: Arc<Connections>,
    limits: ConnLimits,
    stop_listening: Arc<AtomicBool>,
) {
    // SAFETY: the fd comes from a listener we own and give up here.
    let listener = unsafe { may::net::TcpListener::from_raw_fd(listener.into_raw_fd()) };
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
            let (handler, connections) = (Arc::clone(&handler), Arc::clone(&connections));
            may::go!(move || serve_plain(stream, remote, handler, connections, limits));
        }
        log::info!(
            "stopped listening insecurely on {:?}",
            listener.local_addr()
        );
    });
}

fn serve_plain(
    stream: may::net::TcpStream,
    remote: SocketAddr,
    handler: Arc<dyn Handler>,
    connections: Arc<Connections>,
    limits: ConnLimits,
) {
    let _ = stream.set_nodelay(true);
    let guard = connections.register(stream.as_raw_fd());
    let mut plain = Plain(stream);
    serve_connection(&mut plain, Some(remote), &*handler, &guard, limits);
    // Unregister before the socket closes, so the reaper never shuts down a reused fd number.
    drop(guard);
    drop(plain);
}
