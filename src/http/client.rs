//! A small blocking HTTP/1.1 client, for the places this server is itself a client: the
//! kube-aggregator proxying to an extension API server over rustls (book chapter 4), and the etcd
//! backend speaking plain HTTP to etcd's JSON gateway (chapter 3), which uses [`connect`] and
//! [`exchange`] directly so that it can set its own timeouts and end a watch from outside.
//!
//! It runs inside a request's coroutine, so it uses may's `TcpStream`: a read that would block
//! parks the coroutine and lets the worker serve other connections, where a std socket would
//! stop them all. One connection per request, `Connection: close`: an extension server sees a
//! few requests a second at most here, and no pool means nothing to go stale.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, StreamOwned};

use super::response::StreamBody;

/// How long to wait for the TCP connection, and then for each read of the answer. A watch sends
/// a bookmark or progress event well within a minute, so the read timeout does not cut it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const READ_TIMEOUT: Duration = Duration::from_secs(90);
/// An answer's head is a few hundred bytes; this bounds what a broken backend can make us hold.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// What an answer is read from: a TLS stream, or a plain TCP one.
type Stream = Box<dyn Read + Send>;

/// How to trust the server and who we are to it: `rest.TLSClientConfig`.
pub struct TlsClientConfig {
    /// PEM roots for the server's certificate; `None` with `insecure` false means "no roots".
    pub ca_bundle: Option<Vec<u8>>,
    /// `insecureSkipTLSVerify`: any server certificate is accepted.
    pub insecure: bool,
    /// The client certificate chain and key to present.
    pub client_cert: Option<(Vec<CertificateDer<'static>>, Arc<PrivateKeyDer<'static>>)>,
}

impl TlsClientConfig {
    pub fn rustls(&self) -> Result<Arc<ClientConfig>, String> {
        let provider = crate::run::tls::provider();
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| e.to_string())?;
        let builder = if self.insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
        } else {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(self.ca_bundle.as_deref().unwrap_or(b"")) {
                let cert = cert.map_err(|e| format!("caBundle: {e}"))?;
                roots.add(cert).map_err(|e| format!("caBundle: {e}"))?;
            }
            builder.with_root_certificates(roots)
        };
        let mut config = match &self.client_cert {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .map_err(|e| format!("client certificate: {e}"))?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// `insecureSkipTLSVerify`: the handshake still proves the server holds its key, but nobody
/// vouches for whose key it is.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// One request to send.
pub struct ClientRequest<'a> {
    pub method: &'a str,
    /// Path and query, as they go on the request line.
    pub target: &'a str,
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
}

/// The answer: its head, and the body still on the wire.
pub struct ClientResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: ResponseBody,
}

impl ClientResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The whole body, for answers that are known to be small (discovery, health).
    pub fn read_all(mut self, limit: usize) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        while let Some(chunk) = self.body.next_chunk() {
            out.extend_from_slice(&chunk);
            if out.len() > limit {
                return Err(format!("the answer is larger than {limit} bytes"));
            }
        }
        self.body.error.map_or(Ok(out), Err)
    }
}

enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

/// The body of an answer, read as it arrives. Each chunk of a chunked answer comes out as one
/// piece, so a proxied watch passes through event by event.
pub struct ResponseBody {
    reader: BufReader<Stream>,
    framing: Framing,
    done: bool,
    /// Why the body ended early, for callers that must tell a cut answer from a whole one.
    pub error: Option<String>,
}

impl ResponseBody {
    fn next(&mut self) -> io::Result<Option<Vec<u8>>> {
        match self.framing {
            Framing::Length(0) => Ok(None),
            Framing::Length(ref mut left) => {
                let mut buf = vec![0; (*left).min(64 * 1024)];
                let n = self.reader.read(&mut buf)?;
                if n == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                *left -= n;
                buf.truncate(n);
                Ok(Some(buf))
            }
            Framing::UntilClose => {
                let mut buf = vec![0; 64 * 1024];
                let n = read_allowing_unclean_close(&mut self.reader, &mut buf)?;
                buf.truncate(n);
                Ok((n > 0).then_some(buf))
            }
            Framing::Chunked => {
                let line = read_line(&mut self.reader)?;
                let size = line.split(';').next().unwrap_or("").trim();
                let size = usize::from_str_radix(size, 16)
                    .map_err(|_| io::Error::other(format!("bad chunk size {size:?}")))?;
                if size == 0 {
                    // Trailers, if any, up to the empty line.
                    while !read_line(&mut self.reader)?.is_empty() {}
                    return Ok(None);
                }
                let mut buf = vec![0; size];
                self.reader.read_exact(&mut buf)?;
                read_line(&mut self.reader)?;
                Ok(Some(buf))
            }
        }
    }
}

impl StreamBody for ResponseBody {
    fn next_chunk(&mut self) -> Option<Vec<u8>> {
        if self.done {
            return None;
        }
        match self.next() {
            Ok(Some(chunk)) => Some(chunk),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                self.error = Some(e.to_string());
                None
            }
        }
    }
}

/// A server that closes without TLS's close_notify ends its body there all the same.
fn read_allowing_unclean_close<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    match r.read(buf) {
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
        other => other,
    }
}

fn read_line<R: BufRead>(r: &mut R) -> io::Result<String> {
    let mut line = String::new();
    if r.by_ref().take(8 * 1024).read_line(&mut line)? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Sends `req` to `host:port` over TLS, checking the certificate against `host`, and returns
/// the answer once its head has arrived.
pub fn send(
    host: &str,
    port: u16,
    tls: Arc<ClientConfig>,
    req: &ClientRequest,
) -> Result<ClientResponse, String> {
    let tcp = connect(host, port, CONNECT_TIMEOUT)?;
    tcp.set_read_timeout(Some(READ_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
    let conn = ClientConnection::new(tls, name).map_err(|e| e.to_string())?;
    exchange(StreamOwned::new(conn, tcp), host, port, req)
}

/// A TCP connection to the first address of `host:port` that accepts one, with Go's
/// `dial tcp` wording in the error.
pub fn connect(host: &str, port: u16, timeout: Duration) -> Result<may::net::TcpStream, String> {
    // A name resolves through the system resolver; for `localhost` and other /etc/hosts names
    // that is a file read, not a network wait, so the worker is not held up.
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("dial tcp: lookup {host}: {e}"))?
        .collect();
    let mut last = format!("dial tcp: lookup {host}: no addresses");
    for addr in &addrs {
        match may::net::TcpStream::connect_timeout(addr, timeout) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = format!("dial tcp {addr}: connect: {e}"),
        }
    }
    Err(last)
}

/// Writes `req` on `stream` (`Connection: close`: one request per connection) and reads the
/// answer's head; the body is left on the wire for the caller to read as it arrives.
pub fn exchange<S: Read + Write + Send + 'static>(
    mut stream: S,
    host: &str,
    port: u16,
    req: &ClientRequest,
) -> Result<ClientResponse, String> {
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {host}:{port}\r\n",
        req.method, req.target
    );
    for (name, value) in &req.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        req.body.len()
    ));
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(req.body))
        .and_then(|()| stream.flush())
        .map_err(|e| e.to_string())?;

    let mut reader = BufReader::new(Box::new(stream) as Stream);
    let mut raw = Vec::new();
    loop {
        let n = reader
            .by_ref()
            .take(8 * 1024)
            .read_until(b'\n', &mut raw)
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the server closed the connection before answering".into());
        }
        if raw.ends_with(b"\r\n\r\n") || raw.ends_with(b"\n\n") {
            break;
        }
        if raw.len() > MAX_HEAD_BYTES {
            return Err("the answer's head is too large".into());
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Response::new(&mut headers);
    parsed
        .parse(&raw)
        .map_err(|e| format!("malformed answer: {e}"))?;
    let status = parsed.code.unwrap_or(0);
    let headers: Vec<(String, String)> = parsed
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let find = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.as_str())
    };
    let framing = if req.method == "HEAD" || status == 204 || status == 304 {
        Framing::Length(0)
    } else if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        Framing::Chunked
    } else if let Some(len) = find("content-length") {
        Framing::Length(
            len.trim()
                .parse()
                .map_err(|_| format!("bad Content-Length {len:?}"))?,
        )
    } else {
        Framing::UntilClose
    };
    Ok(ClientResponse {
        status,
        headers,
        body: ResponseBody {
            reader,
            framing,
            done: false,
            error: None,
        },
    })
}
