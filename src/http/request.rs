//! Reading one HTTP/1.1 request from a stream: the head through `httparse`, then the body.
//!
//! Every limit here answers a way a client could make us hold memory or wait forever; each bad input
//! becomes an [`HttpError`] with the status a client should see, and the connection is closed after
//! it, because after a malformed request we no longer know where the next one starts.

use std::io::{self, Read};
use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;

/// Go's `net/http` caps a head at 1 MiB; a Kubernetes client sends a few hundred bytes, so 64 KiB
/// is generous and keeps a garbage-spewing client cheap.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// kubectl sends about ten headers; 100 is what the malformed-input tests send.
pub const MAX_HEADERS: usize = 64;
/// kube-apiserver's `MaxRequestBodyBytes`: 3 MiB, then 413.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// One parsed request plus what the handler chain learns about it on the way in.
#[derive(Debug, Default)]
pub struct Request {
    pub method: String,
    /// The path exactly as sent, without the query (`/api/v1/namespaces/demo/configmaps`).
    pub path: String,
    /// The raw query string, without the `?`.
    pub query: String,
    /// `1` for HTTP/1.1, `0` for HTTP/1.0.
    pub minor_version: u8,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub remote_addr: Option<SocketAddr>,
    /// The certificate chain the client sent in the TLS handshake, its own first (Go's
    /// `Request.TLS.PeerCertificates`). The handshake proved the client holds the key; which CA
    /// signed it is for the authenticators to check.
    pub peer_certificates: Option<Arc<Vec<CertificateDer<'static>>>>,
    /// Filled by the handler chain (request info, user), the way Go puts them in the context.
    pub context: crate::server::filters::RequestContext,
}

impl Request {
    /// The first header of that name (names are case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Decoded query parameters in order, `+` as space and `%XX` decoded.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        parse_query(&self.query)
    }

    /// The first value of one query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// Whether the client asked for the connection to end after this request.
    pub fn wants_close(&self) -> bool {
        let conn = self.header("connection").map(str::to_ascii_lowercase);
        match self.minor_version {
            0 => !conn.is_some_and(|c| c.contains("keep-alive")),
            _ => conn.is_some_and(|c| c.contains("close")),
        }
    }
}

/// Splits and decodes `a=1&b=x%20y`.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(pair), String::new()),
        })
        .collect()
}

/// `%2F` to `/`, `+` to space; an invalid escape is kept as written.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Why a request could not be read. `status` is what the client is told before we hang up.
#[derive(Debug)]
pub struct HttpError {
    pub status: u16,
    pub message: String,
}

impl HttpError {
    fn new(status: u16, message: impl Into<String>) -> Self {
        HttpError {
            status,
            message: message.into(),
        }
    }
}

/// What reading a request can come to.
#[derive(Debug)]
pub enum ReadOutcome {
    /// Boxed: a request is large, and the other outcomes small.
    Request(Box<Request>),
    /// The peer closed the connection cleanly between requests.
    Closed,
    /// The request was malformed or over a limit: answer `status` and close.
    Bad(HttpError),
    /// The stream failed (reset, deadline shut it down): nothing more to say.
    Failed(io::Error),
}

/// A read buffer that survives between requests on one keep-alive connection, since a client may
/// pipeline the next request into the same packet as this one's body.
#[derive(Default)]
pub struct RequestReader {
    buf: Vec<u8>,
}

impl RequestReader {
    /// Reads the next request. `on_continue` is called when the client sent `Expect: 100-continue`
    /// and is waiting for our word before sending the body.
    pub fn read<S: Read>(
        &mut self,
        stream: &mut S,
        on_continue: impl FnOnce(&mut S) -> io::Result<()>,
    ) -> ReadOutcome {
        let (mut req, head_len) = match self.read_head(stream) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return ReadOutcome::Closed,
            Err(Failure::Http(e)) => return ReadOutcome::Bad(e),
            Err(Failure::Io(e)) => return ReadOutcome::Failed(e),
        };
        self.buf.drain(..head_len);
        let framing = match body_framing(&req) {
            Ok(f) => f,
            Err(e) => return ReadOutcome::Bad(e),
        };
        let expects_continue = req
            .header("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
        if expects_continue && framing != Framing::Empty {
            if let Err(e) = on_continue(stream) {
                return ReadOutcome::Failed(e);
            }
        }
        let body = match framing {
            Framing::Empty => Ok(Vec::new()),
            Framing::Length(n) => self.read_exact_body(stream, n),
            Framing::Chunked => self.read_chunked_body(stream),
        };
        match body {
            Ok(b) => {
                req.body = b;
                ReadOutcome::Request(Box::new(req))
            }
            Err(Failure::Http(e)) => ReadOutcome::Bad(e),
            Err(Failure::Io(e)) => ReadOutcome::Failed(e),
        }
    }

    /// Reads more bytes into the buffer; `Ok(0)` is end of stream.
    fn fill<S: Read>(&mut self, stream: &mut S) -> Result<usize, Failure> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match stream.read(&mut chunk) {
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Failure::Io(e)),
            }
        }
    }

    fn read_head<S: Read>(&mut self, stream: &mut S) -> Result<Option<(Request, usize)>, Failure> {
        loop {
            if !self.buf.is_empty() {
                let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
                let mut parsed = httparse::Request::new(&mut headers);
                match parsed.parse(&self.buf) {
                    Ok(httparse::Status::Complete(len)) if len > MAX_HEAD_BYTES => {
                        return Err(http(431, "request head is larger than 64 KiB"))
                    }
                    Ok(httparse::Status::Complete(len)) => {
                        return Ok(Some((to_request(&parsed)?, len)))
                    }
                    Ok(httparse::Status::Partial) => {}
                    Err(httparse::Error::TooManyHeaders) => {
                        return Err(http(431, "request has too many headers"))
                    }
                    Err(e) => return Err(http(400, format!("malformed request head: {e}"))),
                }
                if self.buf.len() > MAX_HEAD_BYTES {
                    return Err(http(431, "request head is larger than 64 KiB"));
                }
            }
            let was_empty = self.buf.is_empty();
            if self.fill(stream)? == 0 {
                return if was_empty {
                    Ok(None)
                } else {
                    Err(http(
                        400,
                        "connection closed in the middle of a request head",
                    ))
                };
            }
        }
    }

    fn read_exact_body<S: Read>(&mut self, stream: &mut S, n: usize) -> Result<Vec<u8>, Failure> {
        while self.buf.len() < n {
            if self.fill(stream)? == 0 {
                return Err(http(400, "connection closed before the whole body arrived"));
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// RFC 9112 §7.1: `size[;ext]\r\n data \r\n` ... `0\r\n` trailers `\r\n`.
    fn read_chunked_body<S: Read>(&mut self, stream: &mut S) -> Result<Vec<u8>, Failure> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line(stream)?;
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .ok()
                .filter(|_| !size_text.is_empty() && size_text.len() <= 8)
                .ok_or_else(|| http(400, format!("invalid chunk size {size_text:?}")))?;
            if size == 0 {
                // Trailers: read and ignore lines up to the empty one.
                while !self.read_line(stream)?.is_empty() {}
                return Ok(body);
            }
            if body.len() + size > MAX_BODY_BYTES {
                return Err(too_large());
            }
            body.extend(self.read_exact_body(stream, size)?);
            if !self.read_line(stream)?.is_empty() {
                return Err(http(400, "chunk data is not followed by CRLF"));
            }
        }
    }

    fn read_line<S: Read>(&mut self, stream: &mut S) -> Result<String, Failure> {
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..pos + 2).take(pos).collect();
                return String::from_utf8(line).map_err(|_| http(400, "chunk line is not UTF-8"));
            }
            if self.buf.len() > 4096 {
                return Err(http(400, "chunk line is too long"));
            }
            if self.fill(stream)? == 0 {
                return Err(http(
                    400,
                    "connection closed in the middle of a chunked body",
                ));
            }
        }
    }
}

enum Failure {
    Http(HttpError),
    Io(io::Error),
}

fn http(status: u16, message: impl Into<String>) -> Failure {
    Failure::Http(HttpError::new(status, message))
}

fn too_large() -> Failure {
    http(413, "the request is too large: the limit is 3145728 bytes")
}

fn to_request(parsed: &httparse::Request) -> Result<Request, Failure> {
    let target = parsed.path.unwrap_or("/");
    if !target.starts_with('/') {
        return Err(http(400, "request target must be an absolute path"));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = Vec::with_capacity(parsed.headers.len());
    for h in parsed.headers.iter() {
        let value = std::str::from_utf8(h.value)
            .map_err(|_| http(400, format!("header {} is not valid UTF-8", h.name)))?;
        headers.push((h.name.to_string(), value.trim().to_string()));
    }
    Ok(Request {
        method: parsed.method.unwrap_or("GET").to_string(),
        path: path.to_string(),
        query: query.to_string(),
        minor_version: parsed.version.unwrap_or(1),
        headers,
        ..Request::default()
    })
}

#[derive(Debug, PartialEq, Eq)]
enum Framing {
    Empty,
    Length(usize),
    Chunked,
}

/// How the body is delimited. Both framings at once, or two different lengths, is how request
/// smuggling starts, so both are refused rather than resolved.
fn body_framing(req: &Request) -> Result<Framing, HttpError> {
    let lengths: Vec<&str> = req
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .collect();
    let chunked = match req.header("transfer-encoding") {
        None => false,
        Some(te) if te.eq_ignore_ascii_case("chunked") => true,
        Some(te) => {
            return Err(HttpError::new(
                501,
                format!("unsupported transfer encoding {te:?}"),
            ))
        }
    };
    if chunked && !lengths.is_empty() {
        return Err(HttpError::new(
            400,
            "both Transfer-Encoding and Content-Length given",
        ));
    }
    if chunked {
        return Ok(Framing::Chunked);
    }
    let Some(first) = lengths.first() else {
        return Ok(Framing::Empty);
    };
    if lengths.iter().any(|l| l != first) {
        return Err(HttpError::new(400, "conflicting Content-Length headers"));
    }
    if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) || first.len() > 12 {
        return Err(HttpError::new(
            400,
            format!("invalid Content-Length {first:?}"),
        ));
    }
    let n: usize = first
        .parse()
        .map_err(|_| HttpError::new(400, "invalid Content-Length"))?;
    if n > MAX_BODY_BYTES {
        return Err(HttpError::new(
            413,
            "the request is too large: the limit is 3145728 bytes",
        ));
    }
    Ok(if n == 0 {
        Framing::Empty
    } else {
        Framing::Length(n)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8]) -> Vec<ReadOutcome> {
        let mut reader = RequestReader::default();
        let mut stream = input;
        let mut out = Vec::new();
        loop {
            let o = reader.read(&mut stream, |_| Ok(()));
            let done = !matches!(o, ReadOutcome::Request(_));
            out.push(o);
            if done {
                return out;
            }
        }
    }

    fn status_of(input: &[u8]) -> u16 {
        match read_all(input).remove(0) {
            ReadOutcome::Bad(e) => e.status,
            ReadOutcome::Request(r) => panic!(
                "expected an error, got a request for {} {}",
                r.method, r.path
            ),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn reads_pipelined_requests_with_both_framings() {
        let input = b"POST /a?x=1&y=a%2Fb HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcPUT /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n3;ext=1\r\n!!!\r\n0\r\nX-Trailer: t\r\n\r\n";
        let out = read_all(input);
        let ReadOutcome::Request(a) = &out[0] else {
            panic!("{:?}", out[0])
        };
        assert_eq!(
            (a.method.as_str(), a.path.as_str(), a.body.as_slice()),
            ("POST", "/a", &b"abc"[..])
        );
        assert_eq!(a.query_param("y").as_deref(), Some("a/b"));
        let ReadOutcome::Request(b) = &out[1] else {
            panic!("{:?}", out[1])
        };
        assert_eq!(b.body, b"hi!!!");
        assert!(matches!(out[2], ReadOutcome::Closed));
    }

    #[test]
    fn refuses_bad_framing_and_limits() {
        assert_eq!(
            status_of(b"GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n"),
            400
        );
        assert_eq!(
            status_of(b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
            400
        );
        assert_eq!(
            status_of(b"GET / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"),
            400
        );
        assert_eq!(
            status_of(b"GET / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"),
            400
        );
        assert_eq!(
            status_of(b"GET / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n"),
            413
        );
        assert_eq!(status_of(b"\x00\x01garbage\r\n\r\n"), 400);
        assert_eq!(
            status_of(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort"),
            400
        );
        assert_eq!(
            status_of(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
            400
        );
        let many: String = (0..100).map(|i| format!("X-H{i}: v\r\n")).collect();
        assert_eq!(
            status_of(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes()),
            431
        );
        let huge = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(70_000));
        assert_eq!(status_of(huge.as_bytes()), 431);
    }

    #[test]
    fn chunked_bodies_are_capped_too() {
        let chunk = format!("{:x}\r\n{}\r\n", 1 << 20, "a".repeat(1 << 20));
        let input = format!(
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n{}",
            chunk.repeat(4)
        );
        assert_eq!(status_of(input.as_bytes()), 413);
    }

    #[test]
    fn http10_closes_unless_asked_not_to() {
        let out = read_all(b"GET / HTTP/1.0\r\n\r\n");
        let ReadOutcome::Request(r) = &out[0] else {
            panic!()
        };
        assert!(r.wants_close());
        let out = read_all(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
        let ReadOutcome::Request(r) = &out[0] else {
            panic!()
        };
        assert!(r.wants_close());
    }

    #[test]
    fn percent_decoding_keeps_invalid_escapes() {
        assert_eq!(percent_decode("a%3Db+c"), "a=b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
