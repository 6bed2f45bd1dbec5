//! Stage 6: secure serving (book chapter 6, `ch06-run.md`). Mirrors kube-apiserver's
//! `SecureServingOptions.MaybeDefaultWithSelfSignedCerts` and the TLS half of
//! `SecureServingInfo`, plus the admin kubeconfig that `kubeadm` would otherwise write.
//!
//! kube-apiserver only ever serves HTTPS. When it is started without `--tls-cert-file`, it makes
//! a throwaway CA and a serving certificate signed by it in `--cert-dir`, and uses those files
//! again at the next start. We do the same, and then also write an admin bearer token and a
//! kubeconfig that trusts that CA, so `kubectl --kubeconfig <cert-dir>/admin.kubeconfig` works
//! against a fresh server with no set-up at all.

use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::RootCertStore;

/// Paths of the self-signed material in `--cert-dir`.
pub struct SelfSignedCerts {
    pub ca_cert: PathBuf,
    pub serving_cert: PathBuf,
    pub serving_key: PathBuf,
}

/// How long a generated certificate is valid: one year, as in client-go's
/// `GenerateSelfSignedCertKey`. Short enough that a stolen test key does not live forever, and
/// a restart after that year simply makes new ones.
const VALIDITY: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// `notBefore` is set this far in the past (client-go does the same), so that a client whose
/// clock runs a little behind ours does not reject a certificate made a second ago.
const BACKDATE: Duration = Duration::from_secs(60 * 60);

/// Certificates are reused only if still valid this far from now: one that would expire during
/// the run is replaced at start, rather than breaking every client mid-run.
const RENEW_BEFORE: Duration = Duration::from_secs(24 * 60 * 60);

/// The one crypto provider of this module, named at each use rather than installed as the
/// process-wide default: then no other crate in the process can pick a different one for us.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    // rustls 0.23.48 deprecates ring for lacking post-quantum key exchange. We keep it because
    // it builds with a C compiler alone (aws-lc-rs wants cmake), and classical ECDHE is plenty
    // for a server that is read, not deployed.
    #[allow(deprecated)]
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Like kube's `MaybeDefaultWithSelfSignedCerts`: if `cert_dir` already holds `ca.crt`,
/// `apiserver.crt` and `apiserver.key`, and the serving certificate still verifies against that
/// CA for every wanted name, they are reused; otherwise a fresh CA
/// (`mini-apiserver-ca@<unix seconds>`) and a serving certificate signed by it are written.
///
/// The serving certificate's SANs are DNS `localhost` and IP `127.0.0.1`, every name in
/// `dns_names` (one that parses as an IP address becomes an IP SAN) and every IP in `ips`
/// except an unspecified one (`0.0.0.0`, `::`): that is a bind address, which no client dials.
/// ECDSA P-256 keys; `cert_dir` is created with mode 0700, the key is written with mode 0600.
pub fn maybe_default_with_self_signed_certs(
    cert_dir: &Path,
    ips: &[IpAddr],
    dns_names: &[String],
) -> Result<SelfSignedCerts, String> {
    // ANCHOR: self_signed
    let paths = SelfSignedCerts {
        ca_cert: cert_dir.join("ca.crt"),
        serving_cert: cert_dir.join("apiserver.crt"),
        serving_key: cert_dir.join("apiserver.key"),
    };
    let sans = wanted_sans(ips, dns_names)?;
    // Kube reuses whatever files it finds. We check them first, so that a restart with a new
    // --advertise-address gets a certificate that names it, instead of failing every handshake.
    match reusable(&paths, &sans) {
        Ok(()) => {
            log::info!(
                "reusing the self-signed certificates in {}",
                cert_dir.display()
            );
            return Ok(paths);
        }
        Err(why) => log::info!(
            "generating a self-signed CA and serving certificate in {} ({why})",
            cert_dir.display()
        ),
    }
    create_private_dir(cert_dir)?;
    let now = unix_now()?;
    // The CA: the only certificate a client has to trust. It signs the serving certificate and
    // nothing else, and its key is thrown away, so nothing else can ever be signed by it.
    let (ca, ca_key) = new_ca("mini-apiserver-ca", now)?;
    // The serving certificate: for TLS servers only, valid for every name a client may dial.
    let key = KeyPair::generate().map_err(rcgen_err)?;
    let mut params = leaf_params(
        format!("localhost@{}", now.as_secs()),
        ExtendedKeyUsagePurpose::ServerAuth,
        now,
    );
    params.subject_alt_names = sans.iter().map(to_rcgen_san).collect::<Result<_, _>>()?;
    let cert = params.signed_by(&key, &ca, &ca_key).map_err(rcgen_err)?;

    write_file(&paths.serving_key, key.serialize_pem().as_bytes(), 0o600)?;
    write_file(&paths.serving_cert, cert.pem().as_bytes(), 0o644)?;
    write_file(&paths.ca_cert, ca.pem().as_bytes(), 0o644)?;
    Ok(paths)
    // ANCHOR_END: self_signed
}

/// The time every generated certificate counts from: seconds since 1970, which also name a CA.
pub(crate) fn unix_now() -> Result<Duration, String> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| format!("the clock is before 1970: {e}"))
}

// ANCHOR: certificate_makers
/// From `BACKDATE` ago, for `VALIDITY`. rcgen wants `time::OffsetDateTime`; adding a std
/// Duration to its epoch gives one without depending on the `time` crate ourselves.
fn set_validity(params: &mut CertificateParams, now: Duration) {
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    params.not_before = epoch + now.saturating_sub(BACKDATE);
    params.not_after = epoch + now + VALIDITY;
}

/// A CA named `<name>@<seconds>`, as Go's `GenerateSelfSignedCertKey` names its CAs, that may
/// sign leaf certificates only (path length 0).
pub(crate) fn new_ca(name: &str, now: Duration) -> Result<(rcgen::Certificate, KeyPair), String> {
    let key = KeyPair::generate().map_err(rcgen_err)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, format!("{name}@{}", now.as_secs()));
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params, now);
    let ca = params.self_signed(&key).map_err(rcgen_err)?;
    Ok((ca, key))
}

/// A leaf certificate's parameters: one common name and one use (serving or client).
pub(crate) fn leaf_params(
    common_name: String,
    usage: ExtendedKeyUsagePurpose,
    now: Duration,
) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    set_validity(&mut params, now);
    params
}
// ANCHOR_END: certificate_makers

/// The serving certificate's names, in order and without duplicates (DNS names compare
/// case-insensitively). rustls' `ServerName` is used as the type because it is exactly what
/// a client checks the certificate against.
fn wanted_sans(ips: &[IpAddr], dns_names: &[String]) -> Result<Vec<ServerName<'static>>, String> {
    let localhost = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let mut sans = vec![localhost, ServerName::from(IpAddr::V4(Ipv4Addr::LOCALHOST))];
    for name in dns_names {
        let san = ServerName::try_from(name.clone())
            .map_err(|e| format!("{name:?} cannot be a name in a certificate: {e}"))?;
        if !sans.contains(&san) {
            sans.push(san);
        }
    }
    for ip in ips.iter().filter(|ip| !ip.is_unspecified()) {
        let san = ServerName::from(*ip);
        if !sans.contains(&san) {
            sans.push(san);
        }
    }
    Ok(sans)
}

fn to_rcgen_san(name: &ServerName<'static>) -> Result<SanType, String> {
    match name {
        ServerName::DnsName(dns) => Ok(SanType::DnsName(
            dns.as_ref().to_string().try_into().map_err(rcgen_err)?,
        )),
        ServerName::IpAddress(ip) => Ok(SanType::IpAddress((*ip).into())),
        // `ServerName` is non-exhaustive; `wanted_sans` makes only the two kinds above.
        other => Err(format!("unsupported certificate name {other:?}")),
    }
}

/// Whether the files in `cert_dir` can serve as they are, checked the way a client would:
/// the key matches the certificate, and the certificate verifies against `ca.crt` for every
/// wanted name. This also catches an expired set and a half-written one. `Err` says why not.
fn reusable(paths: &SelfSignedCerts, sans: &[ServerName<'static>]) -> Result<(), String> {
    for path in [&paths.ca_cert, &paths.serving_cert, &paths.serving_key] {
        if !path.exists() {
            return Err(format!("no {}", path.display()));
        }
    }
    server_config(&paths.serving_cert, &paths.serving_key, &[])?;
    let mut roots = RootCertStore::empty();
    for ca in read_certs(&paths.ca_cert, "CA file")? {
        roots
            .add(ca)
            .map_err(|e| format!("{}: {e}", paths.ca_cert.display()))?;
    }
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| e.to_string())?;
    let chain = read_certs(&paths.serving_cert, "--tls-cert-file")?;
    let soon =
        UnixTime::since_unix_epoch(Duration::from_secs(UnixTime::now().as_secs()) + RENEW_BEFORE);
    for san in sans {
        verifier
            .verify_server_cert(&chain[0], &chain[1..], san, &[], soon)
            .map_err(|e| format!("{} for {}: {e}", paths.serving_cert.display(), san.to_str()))?;
    }
    Ok(())
}

pub(crate) fn rcgen_err(e: rcgen::Error) -> String {
    format!("generating certificates: {e}")
}

/// A rustls `ServerConfig` from PEM files: the certificate chain (serving certificate first)
/// and its private key. The ring provider, TLS 1.2 and 1.3, ALPN `http/1.1` only. With client
/// CA files (`(flag, path)`), a client may present a certificate ([`RequestClientCert`]).
/// Errors name the flag and the file: `--tls-cert-file /x: no certificate found`.
pub fn server_config(
    cert_file: &Path,
    key_file: &Path,
    client_ca_files: &[(&str, &Path)],
) -> Result<Arc<rustls::ServerConfig>, String> {
    // ANCHOR: server_config
    let certs = read_certs(cert_file, "--tls-cert-file")?;
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| match e {
        pem::Error::NoItemsFound => format!(
            "--tls-private-key-file {}: no private key found",
            key_file.display()
        ),
        e => format!("--tls-private-key-file {}: {e}", key_file.display()),
    })?;
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        // TLS 1.2 as well as 1.3: kube-apiserver's default minimum is 1.2 too, and some
        // clients still stop there.
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| e.to_string())?;
    let builder = if client_ca_files.is_empty() {
        builder.with_no_client_auth()
    } else {
        builder.with_client_cert_verifier(Arc::new(RequestClientCert::new(client_ca_files)?))
    };
    let mut config = builder
        // This also checks that the key is the certificate's key.
        .with_single_cert(certs, key)
        .map_err(|e| {
            format!(
                "--tls-cert-file {} with --tls-private-key-file {}: {e}",
                cert_file.display(),
                key_file.display()
            )
        })?;
    // Only HTTP/1.1, because that is all our HTTP layer speaks. kubectl (Go) offers h2 first;
    // seeing http/1.1 chosen, it simply uses HTTP/1.1, so nothing is lost but multiplexing.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
    // ANCHOR_END: server_config
}

// ANCHOR: request_client_cert
/// Go's `tls.RequestClientCert`, which kube-apiserver sets whenever it has a client CA: the
/// server asks for a certificate, a client without one still connects (and may use a token),
/// and a certificate that no trusted CA signed still completes the handshake. It is the
/// authenticators that check the chain, each against its own CA, and a bad certificate is then
/// a 401 the client can read rather than a failed handshake it cannot.
///
/// What the handshake does check is that the client holds the certificate's private key (the
/// signature over the handshake), so a certificate copied from somewhere proves nothing.
#[derive(Debug)]
pub struct RequestClientCert {
    /// The subjects of the trusted CAs, sent to the client as hints for choosing a certificate.
    hints: Vec<rustls::DistinguishedName>,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl RequestClientCert {
    pub fn new(ca_files: &[(&str, &Path)]) -> Result<RequestClientCert, String> {
        let mut roots = RootCertStore::empty();
        for (flag, path) in ca_files {
            for ca in read_certs(path, flag)? {
                roots
                    .add(ca)
                    .map_err(|e| format!("{flag} {}: {e}", path.display()))?;
            }
        }
        Ok(RequestClientCert {
            hints: roots.subjects(),
            algorithms: provider().signature_verification_algorithms,
        })
    }
}

impl rustls::server::danger::ClientCertVerifier for RequestClientCert {
    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &self.hints
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        Ok(rustls::server::danger::ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
// ANCHOR_END: request_client_cert

/// Every certificate in a PEM file; none at all is an error, like a missing file.
pub(crate) fn read_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect())
        .map_err(|e| format!("{what} {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{what} {}: no certificate found", path.display()));
    }
    Ok(certs)
}

/// The admin's bearer token: the one in `<cert_dir>/admin.token` if that holds a token, else 32
/// random bytes (`util::random`) as 64 lowercase hex digits, written there with mode 0600.
/// Keeping it across restarts keeps an exported kubeconfig working.
pub fn admin_token(cert_dir: &Path) -> Result<String, String> {
    let path = cert_dir.join("admin.token");
    if let Ok(text) = fs::read_to_string(&path) {
        // Trimmed, because an editor adds a newline to a file written by hand.
        let token = text.trim();
        if is_token(token) {
            return Ok(token.to_string());
        }
        log::warn!(
            "{} does not hold 64 hex digits: replacing it",
            path.display()
        );
    }
    create_private_dir(cert_dir)?;
    let mut bytes = [0u8; 32];
    crate::util::random::fill(&mut bytes);
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_file(&path, token.as_bytes(), 0o600)?;
    Ok(token)
}

fn is_token(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A kubeconfig with one cluster `mini-apiserver` (the server and its CA, inline), one user
/// `admin` (the bearer token) and the context `admin@mini-apiserver` joining them, made current.
/// Every value is a URL, base64 or hex, none of which needs quoting in YAML.
pub fn admin_kubeconfig(server_url: &str, ca_pem: &[u8], token: &str) -> String {
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: mini-apiserver
  cluster:
    server: {server_url}
    certificate-authority-data: {ca}
users:
- name: admin
  user:
    token: {token}
contexts:
- name: admin@mini-apiserver
  context:
    cluster: mini-apiserver
    user: admin
current-context: admin@mini-apiserver
"
    )
}

/// Writes [`admin_kubeconfig`] to `<cert_dir>/admin.kubeconfig`, mode 0600 (it holds the
/// token), and returns its path.
pub fn write_admin_kubeconfig(
    cert_dir: &Path,
    server_url: &str,
    ca_pem: &[u8],
    token: &str,
) -> Result<PathBuf, String> {
    create_private_dir(cert_dir)?;
    let path = cert_dir.join("admin.kubeconfig");
    write_file(
        &path,
        admin_kubeconfig(server_url, ca_pem, token).as_bytes(),
        0o600,
    )?;
    Ok(path)
}

/// Creates `dir` (and missing parents) readable by its owner only: it holds private keys.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), String> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("--cert-dir {}: {e}", dir.display()))
}

/// Writes `path` whole or not at all: into a new file beside it, then renamed over it. So a
/// crash never leaves half a key, and the mode is that of a new file even if `path` existed
/// with a looser one (a mode given to `open` applies only to files it creates).
pub(crate) fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), String> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let _ = fs::remove_file(&tmp);
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .and_then(|mut f| f.write_all(contents).and_then(|()| f.sync_all()))
        .and_then(|()| fs::rename(&tmp, path))
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::{ClientConfig, ClientConnection, ServerConnection};
    use std::os::unix::fs::PermissionsExt;

    /// A fresh directory under the system temp dir, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir()
                .join(format!("mini-apiserver-tls-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    /// A client that trusts only the CA in `ca_file`, offering h2 before http/1.1 as kubectl
    /// does, limited to the given TLS versions.
    fn client(
        ca_file: &Path,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        for ca in CertificateDer::pem_file_iter(ca_file).unwrap() {
            roots.add(ca.unwrap()).unwrap();
        }
        let mut config = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Arc::new(config)
    }

    /// A complete handshake in memory, the bytes carried between the two sides by hand. Returns
    /// the client's connection, to ask what was negotiated, or the first error of either side.
    fn handshake(
        client: Arc<ClientConfig>,
        name: &str,
        server: Arc<rustls::ServerConfig>,
    ) -> Result<ClientConnection, rustls::Error> {
        let name = ServerName::try_from(name.to_string()).unwrap();
        let mut c = ClientConnection::new(client, name)?;
        let mut s = ServerConnection::new(server)?;
        // A TLS 1.2 handshake takes two round trips and 1.3 fewer; ten is plenty.
        for _ in 0..10 {
            if !c.is_handshaking() && !s.is_handshaking() {
                return Ok(c);
            }
            let mut to_server = Vec::new();
            while c.wants_write() {
                c.write_tls(&mut to_server).unwrap();
            }
            let mut rd = to_server.as_slice();
            while !rd.is_empty() {
                s.read_tls(&mut rd).unwrap();
                s.process_new_packets()?;
            }
            let mut to_client = Vec::new();
            while s.wants_write() {
                s.write_tls(&mut to_client).unwrap();
            }
            let mut rd = to_client.as_slice();
            while !rd.is_empty() {
                c.read_tls(&mut rd).unwrap();
                c.process_new_packets()?;
            }
        }
        panic!("the handshake did not finish");
    }

    #[test]
    fn certificates_are_reused_until_a_new_name_is_wanted() {
        let dir = Scratch::new("reuse");
        let first = maybe_default_with_self_signed_certs(&dir.0, &[], &[]).unwrap();
        assert_eq!(mode(&dir.0), 0o700);
        assert_eq!(mode(&first.serving_key), 0o600);
        let read_all = |p: &SelfSignedCerts| {
            [&p.ca_cert, &p.serving_cert, &p.serving_key].map(|f| fs::read(f).unwrap())
        };
        let files = read_all(&first);

        // The same names, or names the certificate already has, in another spelling: reused.
        let again = maybe_default_with_self_signed_certs(
            &dir.0,
            &["127.0.0.1".parse().unwrap(), "0.0.0.0".parse().unwrap()],
            &["LOCALHOST".to_string()],
        )
        .unwrap();
        assert_eq!(read_all(&again), files, "nothing new wanted: reused");

        // A new IP: a new CA and certificate, which the next call with it reuses.
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        let regenerated = maybe_default_with_self_signed_certs(&dir.0, &[ip], &[]).unwrap();
        let new_files = read_all(&regenerated);
        for (old, new) in files.iter().zip(&new_files) {
            assert_ne!(old, new, "a new IP: regenerated");
        }
        maybe_default_with_self_signed_certs(&dir.0, &[ip], &[]).unwrap();
        assert_eq!(read_all(&regenerated), new_files, "same new IP: reused");

        // A damaged serving certificate is replaced rather than served.
        fs::write(&regenerated.serving_cert, "-----BEGIN CERTIFICATE-----\n").unwrap();
        maybe_default_with_self_signed_certs(&dir.0, &[ip], &[]).unwrap();
        assert!(server_config(&regenerated.serving_cert, &regenerated.serving_key, &[]).is_ok());
    }

    #[test]
    fn clients_that_trust_the_ca_connect_by_name_and_by_ip_and_get_http_1_1() {
        let dir = Scratch::new("handshake");
        let extra_ip: IpAddr = "192.0.2.7".parse().unwrap();
        let certs = maybe_default_with_self_signed_certs(
            &dir.0,
            &[extra_ip],
            &["apiserver.example".to_string()],
        )
        .unwrap();
        let server = server_config(&certs.serving_cert, &certs.serving_key, &[]).unwrap();
        let all = [&rustls::version::TLS13, &rustls::version::TLS12];
        for name in ["localhost", "127.0.0.1", "192.0.2.7", "apiserver.example"] {
            let conn = handshake(client(&certs.ca_cert, &all), name, server.clone())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(conn.alpn_protocol(), Some(&b"http/1.1"[..]), "{name}");
            assert_eq!(
                conn.protocol_version(),
                Some(rustls::ProtocolVersion::TLSv1_3)
            );
        }
        let tls12 = client(&certs.ca_cert, &[&rustls::version::TLS12]);
        let conn = handshake(tls12, "localhost", server.clone()).unwrap();
        assert_eq!(
            conn.protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_2)
        );

        // A name the certificate does not carry is refused.
        let err = handshake(client(&certs.ca_cert, &all), "example.com", server.clone())
            .err()
            .unwrap();
        assert!(
            matches!(err, rustls::Error::InvalidCertificate(_)),
            "{err:?}"
        );

        // So is a client that trusts another CA: it must not be our certificate that it accepts.
        let other_dir = Scratch::new("handshake-other");
        let other = maybe_default_with_self_signed_certs(&other_dir.0, &[], &[]).unwrap();
        let err = handshake(client(&other.ca_cert, &all), "localhost", server)
            .err()
            .unwrap();
        // Two CAs made in the same second share their name, and then the client finds the other
        // one as the issuer and rejects the signature rather than the issuer.
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(
                    rustls::CertificateError::UnknownIssuer
                        | rustls::CertificateError::BadSignature
                )
            ),
            "{err:?}"
        );
    }

    #[test]
    fn bad_files_are_named_in_the_error() {
        let dir = Scratch::new("bad");
        let certs = maybe_default_with_self_signed_certs(&dir.0, &[], &[]).unwrap();
        let garbage = dir.0.join("garbage.pem");
        fs::write(&garbage, "not PEM at all").unwrap();
        let missing = dir.0.join("missing.crt");

        let err = server_config(&missing, &certs.serving_key, &[])
            .err()
            .unwrap();
        assert!(err.starts_with("--tls-cert-file "), "{err}");
        assert!(err.contains("missing.crt"), "{err}");
        let err = server_config(&garbage, &certs.serving_key, &[])
            .err()
            .unwrap();
        assert_eq!(
            err,
            format!(
                "--tls-cert-file {}: no certificate found",
                garbage.display()
            )
        );
        let err = server_config(&certs.serving_cert, &garbage, &[])
            .err()
            .unwrap();
        assert_eq!(
            err,
            format!(
                "--tls-private-key-file {}: no private key found",
                garbage.display()
            )
        );

        // A key that is not the certificate's: caught at start, not at the first handshake.
        let other_dir = Scratch::new("bad-other");
        let other = maybe_default_with_self_signed_certs(&other_dir.0, &[], &[]).unwrap();
        let err = server_config(&certs.serving_cert, &other.serving_key, &[])
            .err()
            .unwrap();
        assert!(err.contains("apiserver.key"), "{err}");
    }

    #[test]
    fn the_admin_token_is_random_hex_and_stable() {
        let dir = Scratch::new("token");
        let token = admin_token(&dir.0).unwrap();
        assert!(is_token(&token), "{token}");
        assert_eq!(mode(&dir.0.join("admin.token")), 0o600);
        assert_eq!(admin_token(&dir.0).unwrap(), token);

        let other = Scratch::new("token-other");
        assert_ne!(admin_token(&other.0).unwrap(), token);

        // A file that holds no token is replaced, not trusted.
        fs::write(dir.0.join("admin.token"), "guessable\n").unwrap();
        let replaced = admin_token(&dir.0).unwrap();
        assert!(is_token(&replaced) && replaced != token, "{replaced}");
    }

    #[test]
    fn the_kubeconfig_carries_server_ca_and_token() {
        use base64::Engine;
        let dir = Scratch::new("kubeconfig");
        let pem = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let token = "ab".repeat(32);
        let path = write_admin_kubeconfig(&dir.0, "https://127.0.0.1:6443", pem, &token).unwrap();
        assert_eq!(mode(&path), 0o600);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            admin_kubeconfig("https://127.0.0.1:6443", pem, &token)
        );

        assert!(
            text.contains("\n    server: https://127.0.0.1:6443\n"),
            "{text}"
        );
        assert!(text.contains(&format!("\n    token: {token}\n")), "{text}");
        assert!(text.ends_with("\ncurrent-context: admin@mini-apiserver\n"));
        let ca = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("certificate-authority-data: "))
            .unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(ca)
            .unwrap();
        assert_eq!(decoded, pem);
    }
}
