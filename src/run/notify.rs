//! `READY=1` for systemd (book chapter 6): what `systemd.SdNotify` in
//! `github.com/coreos/go-systemd/daemon` does for kube-apiserver's `NonBlockingRun`.
//!
//! A unit with `Type=notify` starts the server with `$NOTIFY_SOCKET` set to a Unix datagram
//! socket; systemd counts the service as started only when `READY=1` arrives there, so units
//! ordered after it (`After=kube-apiserver.service`) wait for a server that really serves.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// The address `$NOTIFY_SOCKET` names: a path, or an abstract name written with a leading `@`.
fn notify_addr(socket: &str) -> std::io::Result<SocketAddr> {
    match socket.strip_prefix('@') {
        Some(name) => SocketAddr::from_abstract_name(name.as_bytes()),
        None => SocketAddr::from_pathname(socket),
    }
}

/// Sends `state` to `socket`.
fn sd_notify(socket: &str, state: &str) -> std::io::Result<()> {
    let addr = notify_addr(socket)?;
    let sock = UnixDatagram::unbound()?;
    sock.send_to_addr(state.as_bytes(), &addr)?;
    Ok(())
}

// ANCHOR: sd_notify_ready
/// Tells systemd the server is up, when it runs under a notify unit. Outside systemd there is no
/// `$NOTIFY_SOCKET` and nothing to do; a failed send is logged, not fatal, as in kube-apiserver.
pub fn sd_notify_ready() {
    let Ok(socket) = std::env::var("NOTIFY_SOCKET") else {
        return;
    };
    match sd_notify(&socket, "READY=1\n") {
        Ok(()) => log::info!("sent READY=1 to {socket}"),
        Err(e) => log::error!("Unable to send systemd daemon successful start message: {e}"),
    }
}
// ANCHOR_END: sd_notify_ready

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_reaches_a_path_socket_and_an_abstract_one() {
        let dir = std::env::temp_dir().join(format!("notify-unit-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let path_sock = UnixDatagram::bind(&dir).unwrap();
        sd_notify(dir.to_str().unwrap(), "READY=1\n").unwrap();
        let mut buf = [0u8; 32];
        let n = path_sock.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\n");
        let _ = std::fs::remove_file(&dir);

        let name = format!("mini-apiserver-notify-{}", std::process::id());
        let abstract_sock =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
                .unwrap();
        sd_notify(&format!("@{name}"), "READY=1\n").unwrap();
        let n = abstract_sock.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\n");
    }

    #[test]
    fn a_missing_socket_is_an_error_not_a_panic() {
        assert!(sd_notify("/nonexistent/notify.sock", "READY=1\n").is_err());
    }
}
