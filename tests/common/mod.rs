//! Shared by the integration tests: a server started in-process on port 0, and a small HTTPS
//! client that speaks to it as kubectl would (bearer token, JSON).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mini_apiserver::cmd::{new_api_server_command, Command};
use mini_apiserver::config::Config;
use mini_apiserver::http::conn::ConnLimits;
use mini_apiserver::prepare::PrepareRun;
use mini_apiserver::run::{self, RunningServer, ServerBuilder};
use mini_apiserver::server::create_server_chain;
use rustls::pki_types::pem::PemObject;
use serde_json::Value;

pub struct TestServer {
    server: Option<RunningServer>,
    pub port: u16,
    pub token: String,
    pub dir: PathBuf,
    pub kubeconfig: PathBuf,
    tls: Arc<rustls::ClientConfig>,
    roots: Arc<rustls::RootCertStore>,
}

pub struct ClientResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl ClientResponse {
    pub fn json(&self) -> Value {
        parse(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn unique_dir(name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "mini-apiserver-test-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl TestServer {
    /// Starts a server with `--secure-port=0`, its own `--cert-dir`, and `extra` flags, and waits
    /// until `/readyz` answers 200.
    pub fn start(name: &str, extra: &[&str]) -> TestServer {
        TestServer::start_with_limits(name, extra, ConnLimits::default())
    }

    pub fn start_with_limits(name: &str, extra: &[&str], limits: ConnLimits) -> TestServer {
        let chain = |config: &Config, external: &str| -> Box<dyn PrepareRun> {
            Box::new(create_server_chain(config, external))
        };
        TestServer::start_built(name, extra, limits, &chain)
    }

    /// [`TestServer::start`] with the servers `build` makes: how a test adds a handler of its own
    /// to the server it starts (`GenericAPIServer::handle`), as Go's tests add one to the
    /// `NonGoRestfulMux`. Nothing of it is in the binary.
    pub fn start_with_builder(name: &str, extra: &[&str], build: &ServerBuilder) -> TestServer {
        TestServer::start_built(name, extra, ConnLimits::default(), build)
    }

    fn start_built(
        name: &str,
        extra: &[&str],
        limits: ConnLimits,
        build: &ServerBuilder,
    ) -> TestServer {
        let dir = unique_dir(name);
        let mut args = vec![
            "--secure-port=0".to_string(),
            format!("--cert-dir={}", dir.join("certs").display()),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let opts = match new_api_server_command(args.into_iter().map(Into::into)) {
            Ok(Command::Run(opts)) => opts,
            Ok(_) => panic!("flags did not ask for a run"),
            Err(e) => panic!("bad flags: {e}"),
        };
        let scheme = Arc::new(mini_apiserver::apis::new_scheme());
        let server = run::start_with(&opts, scheme, limits, build).expect("server starts");
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&server.credentials.ca_pem) {
            roots.add(cert.unwrap()).unwrap();
        }
        let roots = Arc::new(roots);
        let tls = client_config(&roots).with_no_client_auth();
        let t = TestServer {
            port: server.addr.port(),
            token: server.credentials.admin_token.clone(),
            kubeconfig: server.credentials.kubeconfig.clone(),
            server: Some(server),
            dir,
            tls: Arc::new(tls),
            roots,
        };
        t.wait_ready();
        t
    }

    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.get("/readyz").status == 200 {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("server never became ready");
    }

    /// A TLS connection to the server, as a plain blocking stream.
    pub fn connect(&self) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
        self.connect_with(&self.tls)
    }

    fn connect_with(
        &self,
        tls: &Arc<rustls::ClientConfig>,
    ) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
        let tcp = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let conn = rustls::ClientConnection::new(Arc::clone(tls), "localhost".try_into().unwrap())
            .unwrap();
        rustls::StreamOwned::new(conn, tcp)
    }

    /// A request over a connection that presents `identity`'s client certificate. No bearer
    /// token is added: the certificate is the credential.
    pub fn request_with_cert(
        &self,
        identity: &ClientIdentity,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> ClientResponse {
        let chain = rustls::pki_types::CertificateDer::pem_slice_iter(identity.cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key =
            rustls::pki_types::PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes()).unwrap();
        let tls = client_config(&self.roots)
            .with_client_auth_cert(chain, key)
            .unwrap();
        let mut headers = headers.to_vec();
        headers.push(("Authorization", ""));
        self.request_over(&Arc::new(tls), method, path, &headers, body)
    }

    /// Sends `raw` bytes, closes our side (TLS close_notify, so a truncated request ends there),
    /// and returns everything the server sends back until it closes (or 10 s).
    pub fn raw(&self, raw: &[u8]) -> Vec<u8> {
        let mut s = self.connect();
        let _ = s.write_all(raw);
        s.conn.send_close_notify();
        let _ = s.flush();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        out
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> ClientResponse {
        self.request_over(&self.tls, method, path, headers, body)
    }

    fn request_over(
        &self,
        tls: &Arc<rustls::ClientConfig>,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> ClientResponse {
        let mut s = self.connect_with(tls);
        let mut head =
            format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        {
            head.push_str(&format!("Authorization: Bearer {}\r\n", self.token));
        }
        for (n, v) in headers {
            if !v.is_empty() {
                head.push_str(&format!("{n}: {v}\r\n"));
            }
        }
        if let Some(b) = body {
            head.push_str(&format!("Content-Length: {}\r\n", b.len()));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body.unwrap_or_default());
        s.write_all(&bytes).unwrap();
        s.flush().unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        parse_response(&out)
    }

    pub fn get(&self, path: &str) -> ClientResponse {
        self.request("GET", path, &[], None)
    }

    /// The names of the items a list at `path` returns, in order.
    pub fn names(&self, path: &str) -> Vec<String> {
        self.get(path).json()["items"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    }

    pub fn send_json(&self, method: &str, path: &str, body: &Value) -> ClientResponse {
        self.request(
            method,
            path,
            &[("Content-Type", "application/json")],
            Some(body.to_string().as_bytes()),
        )
    }

    /// The real kubectl (see [`tool`]) against this server, with a cache of its own:
    /// whether it succeeded, and what it printed (stdout, then stderr).
    pub fn kubectl(&self, args: &[&str]) -> (bool, String) {
        self.kubectl_with(&self.kubeconfig, args)
    }

    /// kubectl against this server as the user of another kubeconfig.
    pub fn kubectl_with(&self, kubeconfig: &std::path::Path, args: &[&str]) -> (bool, String) {
        let out = std::process::Command::new(tool("KUBECTL", "kubectl"))
            .arg(format!("--kubeconfig={}", kubeconfig.display()))
            .arg(format!(
                "--cache-dir={}",
                self.dir.join("kube-cache").display()
            ))
            .args(args)
            .output()
            .expect("kubectl runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// Graceful shutdown, as SIGTERM would do it.
    pub fn stop(mut self) -> run::lifecycle::Outcome {
        self.server.take().unwrap().shutdown()
    }

    /// Starts graceful shutdown and returns at once, so the test can go on sending requests.
    pub fn terminate(&self) {
        self.server.as_ref().unwrap().terminate();
    }

    /// Waits for a shutdown started by [`TestServer::terminate`] to finish.
    pub fn wait(mut self) -> run::lifecycle::Outcome {
        self.server.take().unwrap().wait()
    }
}

/// Starts a watch and returns a reader of its event lines (chunk framing stripped).
pub fn open_watch(s: &TestServer, path: &str, accept: &str) -> impl FnMut() -> Option<Value> {
    let mut conn = s.connect();
    let head = format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nAccept: {accept}\r\n\r\n",
        s.token
    );
    conn.write_all(head.as_bytes()).unwrap();
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
    }
    // One event per chunk: the size line, the event, CRLF; a zero-size chunk ends the stream.
    move || {
        let mut size = String::new();
        if reader.read_line(&mut size).ok()? == 0 {
            return None;
        }
        let size = usize::from_str_radix(size.trim(), 16).ok()?;
        if size == 0 {
            return None;
        }
        let mut chunk = vec![0u8; size + 2];
        std::io::Read::read_exact(&mut reader, &mut chunk).ok()?;
        parse(&chunk[..size]).ok()
    }
}

/// JSON as kubectl reads it: Go's decoder has no limit of 128 levels, and an object the server
/// accepted near that limit comes back deeper, with its managedFields.
fn parse(bytes: &[u8]) -> serde_json::Result<Value> {
    use serde::Deserialize;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    de.disable_recursion_limit();
    let value = Value::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

fn client_config(
    roots: &Arc<rustls::RootCertStore>,
) -> rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert> {
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(Arc::clone(roots))
}

/// A client certificate and its key, in PEM, as a kubeconfig or a TLS client takes them.
pub struct ClientIdentity {
    pub cert_pem: String,
    pub key_pem: String,
}

/// A certificate authority for the tests: its certificate is written where a `--*-ca-file`
/// flag will read it, and it signs client certificates.
pub struct TestCa {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

impl TestCa {
    pub fn new(path: &std::path::Path, name: &str) -> TestCa {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        std::fs::write(path, cert.pem()).unwrap();
        TestCa { cert, key }
    }

    /// A client certificate for the user `cn`, in the group `group` (rcgen holds one value
    /// per attribute type, so one Organization at most).
    pub fn issue(&self, cn: &str, group: Option<&str>) -> ClientIdentity {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        if let Some(group) = group {
            params
                .distinguished_name
                .push(rcgen::DnType::OrganizationName, group);
        }
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        ClientIdentity {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// Splits a whole HTTP/1.1 response, decoding a chunked body.
pub fn parse_response(raw: &[u8]) -> ClientResponse {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v == "chunked")
    {
        body = dechunk(&body);
    }
    ClientResponse {
        status,
        headers,
        body,
    }
}

pub fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(pos) = b.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(std::str::from_utf8(&b[..pos]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[pos + 2..pos + 2 + size]);
        b = &b[pos + 2 + size + 2..];
    }
    out
}

/// A tool from the e2e virtualenv. Missing tools fail the test: run `.ci/test-all`, which
/// installs them.
pub fn tool(env: &str, name: &str) -> PathBuf {
    if let Ok(path) = std::env::var(env) {
        return PathBuf::from(path);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/e2e-venv/bin")
        .join(name);
    assert!(
        venv.exists(),
        "{name} not found: set {env} or run .ci/test-all, which installs it into target/e2e-venv"
    );
    venv
}

/// Whether `check` comes true within `timeout`, asked every 20 ms.
pub fn within(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The port in the line a server process logs once it listens (`serving securely on
/// 127.0.0.1:PORT; kubeconfig: ...`), if this is that line.
pub fn served_port(line: &str) -> Option<u16> {
    let rest = line.split("serving securely on ").nth(1)?;
    rest.split(';').next()?.rsplit(':').next()?.parse().ok()
}

/// Waits for a server child process (its stderr piped) to log where it serves, and returns
/// the port. Its stderr is drained from then on, so the child never blocks on a full pipe.
pub fn wait_for_secure_port(child: &mut std::process::Child) -> u16 {
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let port = loop {
        let line = lines
            .next()
            .expect("the server logs where it serves")
            .unwrap();
        if let Some(port) = served_port(&line) {
            break port;
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    port
}
