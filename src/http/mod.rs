//! The HTTP/1.1 layer under every server (book chapter 6, and the dependency appendix for why it exists).
//!
//! kube-apiserver gets HTTP from Go's `net/http`. We considered `may_minihttp`, which runs on the same
//! `may` runtime, and measured that it cannot serve the secure port: it has no TLS, no streaming
//! responses (a watch is one), it panics on a 17th response header and on a malformed
//! `Content-Length`, misreads chunked request bodies and ignores `Connection: close`. So this module
//! is a small HTTP/1.1 server of our own over any `Read + Write` stream, plain TCP or rustls:
//!
//! - [`request`] reads one request (head through `httparse`, then a `Content-Length` or chunked body),
//!   enforcing the limits that keep a bad client from costing us memory.
//! - [`response`] is what a handler returns: a status, headers, and either bytes or a stream of chunks.
//! - [`conn`] drives one connection: keep-alive, `Connection: close`, HTTP/1.0, deadlines.

pub mod client;
pub mod conn;
pub mod request;
pub mod response;

pub use request::Request;
pub use response::{Body, Response, StreamBody};

/// Something that answers requests: a filter of the handler chain, a `GenericAPIServer`, the NotFound
/// handler at the end of the chain. It is Go's `http.Handler`.
///
/// `Send + Sync` although we run on one worker thread: may's timer thread may resume a coroutine
/// after a timed wait, so everything a coroutine touches must be safe to touch from another thread.
pub trait Handler: Send + Sync {
    fn serve(&self, req: &mut Request) -> Response;
}
