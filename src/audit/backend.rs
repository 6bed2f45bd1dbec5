//! Where events go: the `audit.Backend` interface and the log backend of `--audit-log-path`
//! (`k8s.io/apiserver/plugin/pkg/audit/log`).
//!
//! Events are written on the worker, by the request that produced them, one `write` per event
//! and no buffer of ours. That is kube-apiserver's default for the log backend too
//! (`--audit-log-mode=blocking`: no buffering goroutine in front of the file). Once a request's
//! event is written it is in the kernel, so an exit cannot lose it; `shutdown` only asks the
//! kernel to put it on the disk.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Mutex;

use super::event::Event;

// ANCHOR: backend
/// `audit.Backend`: a sink for events that is started before the server serves and shut down
/// (flushed) by a pre-shutdown hook.
pub trait Backend: Send + Sync {
    /// `Sink.ProcessEvents`: false if some event could not be recorded.
    fn process_events(&self, events: &[&Event]) -> bool;
    /// `Run`: start whatever the backend needs before the first event.
    fn run(&self) -> Result<(), String>;
    /// `Shutdown`: everything processed so far is durable when this returns.
    fn shutdown(&self);
    /// `String()`: the name in log lines.
    fn name(&self) -> &'static str;
}
// ANCHOR_END: backend

enum Output {
    Stdout,
    File(File),
}

/// The log backend: one JSON line per event (`--audit-log-format=json`).
pub struct LogBackend {
    out: Mutex<Output>,
}

impl LogBackend {
    /// `-` is standard output; any other path is created (mode 0600, as Go creates it) or
    /// appended to.
    pub fn open(path: &str) -> Result<LogBackend, String> {
        let out = if path == "-" {
            Output::Stdout
        } else {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| format!("--audit-log-path: failed to open log file {path:?}: {e}"))?;
            Output::File(file)
        };
        Ok(LogBackend {
            out: Mutex::new(out),
        })
    }

    fn log_event(out: &mut Output, ev: &Event) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(ev).map_err(std::io::Error::other)?;
        line.push(b'\n');
        match out {
            Output::Stdout => std::io::stdout().lock().write_all(&line),
            Output::File(f) => f.write_all(&line),
        }
    }
}

impl Backend for LogBackend {
    fn process_events(&self, events: &[&Event]) -> bool {
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let mut ok = true;
        for ev in events {
            if let Err(e) = LogBackend::log_event(&mut out, ev) {
                // `audit.HandlePluginError`: the request goes on; the loss is logged.
                log::error!(
                    "Error in audit plugin 'log' affecting 1 audit events: {e}\nImpacted events:\n{} {} {} {:?}",
                    ev.audit_id, ev.verb, ev.request_uri, ev.stage
                );
                ok = false;
            }
        }
        ok
    }

    /// Nothing to start: the file is open and events are written by the requests themselves.
    fn run(&self) -> Result<(), String> {
        log::info!("audit backend {} started", self.name());
        Ok(())
    }

    fn shutdown(&self) {
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let flushed = match &mut *out {
            Output::Stdout => std::io::stdout().flush(),
            Output::File(f) => f.sync_data(),
        };
        if let Err(e) = flushed {
            log::error!(
                "audit backend {}: flushing the log failed: {e}",
                self.name()
            );
        }
    }

    fn name(&self) -> &'static str {
        "log"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::event::Level;
    use crate::http::Request;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn events_are_appended_one_json_line_each() {
        let dir = std::env::temp_dir().join(format!("audit-backend-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("audit.log");
        let ev = Event::from_request(&Request::default(), Level::Metadata, std::time::UNIX_EPOCH);
        for _ in 0..2 {
            let backend = LogBackend::open(path.to_str().unwrap()).unwrap();
            assert!(backend.process_events(&[&ev]));
            backend.shutdown();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "a second open appends");
        let v: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(v["kind"], "Event");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let err = LogBackend::open(dir.join("no/such/dir").to_str().unwrap())
            .err()
            .unwrap();
        assert!(
            err.starts_with("--audit-log-path: failed to open log file"),
            "{err}"
        );
    }
}
