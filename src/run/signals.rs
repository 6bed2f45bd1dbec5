//! Signals (book chapter 6): `SetupSignalHandler` in `k8s.io/apiserver/pkg/server/signal.go`.
//!
//! Go turns SIGTERM and SIGINT into a closed channel; the second signal exits with code 1 at once.
//! Here the signal handler does the one thing that is safe in a handler: it writes a byte into the
//! control socket that the main thread reads (see `lifecycle`).

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, Ordering};

/// The control socket's write end, for the handler (a handler cannot capture anything).
static CONTROL_FD: AtomicI32 = AtomicI32::new(-1);

/// The byte a signal writes into the control socket.
pub const SIGNAL_BYTE: u8 = b'S';

extern "C" fn on_signal(_signal: libc::c_int) {
    let fd = CONTROL_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; the buffer is a static byte.
        unsafe { libc::write(fd, [SIGNAL_BYTE].as_ptr().cast(), 1) };
    }
}

/// Routes SIGTERM and SIGINT to `control_fd`.
pub fn setup_signal_handler(control_fd: RawFd) {
    CONTROL_FD.store(control_fd, Ordering::Relaxed);
    for signal in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: a zeroed sigaction with a plain handler and SA_RESTART is a valid argument.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// Ends the process now with `code`, without running destructors or `atexit` handlers.
///
/// Returning from `main` would run the worker thread's thread-local destructors while its
/// coroutines may still be parked on them, which corrupts the heap. Everything worth keeping is
/// already written: the logs are flushed here, and every acknowledged write is in the store.
pub fn exit_now(code: i32) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: _exit takes any int and never returns.
    unsafe { libc::_exit(code) }
}
