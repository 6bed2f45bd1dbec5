//! Stage 6: secure serving (book chapter 6, `ch06-run.md`). Mirrors kube-apiserver's
//! `SecureServingOptions.MaybeDefaultWithSelfSignedCerts` and the TLS config of
//! `SecureServingInfo`: with no `--tls-cert-file`, a self-signed CA and a serving certificate
//! it signed are generated into `--cert-dir` (and reused at the next start), and an admin
//! kubeconfig trusting that CA is written beside them, so `kubectl` works with no set-up at all.

use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Paths of the self-signed material in `--cert-dir`.
pub struct SelfSignedCerts {
    pub ca_cert: PathBuf,
    pub serving_cert: PathBuf,
    pub serving_key: PathBuf,
}

/// Writes a file readable by its owner only (keys, tokens, the kubeconfig).
fn write_private(path: &Path, contents: &[u8]) -> Result<(), String> {
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(contents))
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

fn rcgen_err(e: rcgen::Error) -> String {
    format!("generating certificates: {e}")
}

/// The serving certificate's subject alternative names, one per line: written beside the
/// certificate so that a restart with a new advertise address knows to make a new one.
fn san_list(ips: &[IpAddr], dns_names: &[String]) -> Vec<String> {
    let mut sans = vec!["localhost".to_string(), IpAddr::V4(Ipv4Addr::LOCALHOST).to_string()];
    for s in dns_names.iter().cloned().chain(ips.iter().filter(|ip| !ip.is_unspecified()).map(IpAddr::to_string)) {
        if !sans.contains(&s) {
            sans.push(s);
        }
    }
    sans
}

pub fn maybe_default_with_self_signed_certs(cert_dir: &Path, ips: &[IpAddr], dns_names: &[String]) -> Result<SelfSignedCerts, String> {
    // ANCHOR: self_signed
    let paths = SelfSignedCerts {
        ca_cert: cert_dir.join("ca.crt"),
        serving_cert: cert_dir.join("apiserver.crt"),
        serving_key: cert_dir.join("apiserver.key"),
    };
    let sans = san_list(ips, dns_names);
    let sans_file = cert_dir.join("apiserver.sans");
    let have: Vec<String> = fs::read_to_string(&sans_file).unwrap_or_default().lines().map(String::from).collect();
    let complete = [&paths.ca_cert, &paths.serving_cert, &paths.serving_key].iter().all(|p| p.exists());
    if complete && sans.iter().all(|s| have.contains(s)) {
        return Ok(paths);
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(cert_dir)
        .map_err(|e| format!("--cert-dir {}: {e}", cert_dir.display()))?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();

    // The CA: it signs nothing but our serving certificate.
    let ca_key = KeyPair::generate().map_err(rcgen_err)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(rcgen_err)?;
    ca_params.distinguished_name.push(DnType::CommonName, format!("mini-apiserver-ca@{now}"));
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let ca = ca_params.self_signed(&ca_key).map_err(rcgen_err)?;

    // The serving certificate, valid for every name a client may dial.
    let key = KeyPair::generate().map_err(rcgen_err)?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(rcgen_err)?;
    params.distinguished_name.push(DnType::CommonName, format!("localhost@{now}"));
    for san in &sans {
        params.subject_alt_names.push(match san.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(san.clone().try_into().map_err(rcgen_err)?),
        });
    }
    let cert = params.signed_by(&key, &ca, &ca_key).map_err(rcgen_err)?;

    write_private(&paths.ca_cert, ca.pem().as_bytes())?;
    write_private(&paths.serving_cert, cert.pem().as_bytes())?;
    write_private(&paths.serving_key, key.serialize_pem().as_bytes())?;
    write_private(&sans_file, sans.join("\n").as_bytes())?;
    log::info!("generated a self-signed CA and serving certificate in {}", cert_dir.display());
    Ok(paths)
    // ANCHOR_END: self_signed
}

pub fn server_config(cert_file: &Path, key_file: &Path) -> Result<Arc<rustls::ServerConfig>, String> {
    // ANCHOR: server_config
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_file)
        .and_then(|it| it.collect())
        .map_err(|e| format!("--tls-cert-file {}: {e}", cert_file.display()))?;
    if certs.is_empty() {
        return Err(format!("--tls-cert-file {}: no certificate found", cert_file.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| format!("--tls-private-key-file {}: {e}", key_file.display()))?;
    // The ring provider, named here rather than installed process-wide: nothing else may pick
    // another one for us.
    // rustls 0.23.48 deprecates the ring provider for lacking post-quantum key exchange; we keep
    // ring because it builds without cmake (see the dependency appendix).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("--tls-cert-file {}: {e}", cert_file.display()))?;
    // HTTP/1.1 only: our HTTP layer speaks nothing else, and kubectl works unchanged over it.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
    // ANCHOR_END: server_config
}

/// The admin's bearer token: `<cert-dir>/admin.token`, made from /dev/urandom the first time.
pub fn admin_token(cert_dir: &Path) -> Result<String, String> {
    let path = cert_dir.join("admin.token");
    if let Ok(token) = fs::read_to_string(&path) {
        if token.trim().len() == 64 {
            return Ok(token.trim().to_string());
        }
    }
    fs::DirBuilder::new().recursive(true).mode(0o700).create(cert_dir).map_err(|e| format!("--cert-dir {}: {e}", cert_dir.display()))?;
    let mut bytes = [0u8; 32];
    crate::util::random::fill(&mut bytes);
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_private(&path, token.as_bytes())?;
    Ok(token)
}

/// A kubeconfig with one cluster, one user (the admin token) and one context.
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

pub fn write_admin_kubeconfig(cert_dir: &Path, server_url: &str, ca_pem: &[u8], token: &str) -> Result<PathBuf, String> {
    let path = cert_dir.join("admin.kubeconfig");
    write_private(&path, admin_kubeconfig(server_url, ca_pem, token).as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mini-apiserver-tls-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn certificates_are_reused_until_a_new_name_is_wanted() {
        let dir = temp_dir("reuse");
        let first = maybe_default_with_self_signed_certs(&dir, &[], &[]).unwrap();
        let pem = fs::read(&first.serving_cert).unwrap();
        maybe_default_with_self_signed_certs(&dir, &[], &[]).unwrap();
        assert_eq!(fs::read(&first.serving_cert).unwrap(), pem, "same SANs: reused");
        maybe_default_with_self_signed_certs(&dir, &["10.1.2.3".parse().unwrap()], &[]).unwrap();
        assert_ne!(fs::read(&first.serving_cert).unwrap(), pem, "a new IP: regenerated");
        assert!(server_config(&first.serving_cert, &first.serving_key).is_ok());
    }

    #[test]
    fn bad_files_are_named_in_the_error() {
        let dir = temp_dir("bad");
        fs::create_dir_all(&dir).unwrap();
        let garbage = dir.join("garbage.pem");
        fs::write(&garbage, "not a certificate").unwrap();
        let err = server_config(&garbage, &garbage).err().unwrap();
        assert!(err.contains("garbage.pem"), "{err}");
        let err = server_config(&dir.join("missing.crt"), &garbage).err().unwrap();
        assert!(err.contains("missing.crt"), "{err}");
    }

    #[test]
    fn the_admin_token_is_stable_and_the_kubeconfig_carries_it() {
        let dir = temp_dir("token");
        let token = admin_token(&dir).unwrap();
        assert_eq!(token.len(), 64);
        assert_eq!(admin_token(&dir).unwrap(), token);
        let text = admin_kubeconfig("https://127.0.0.1:6443", b"PEM", &token);
        assert!(text.contains("server: https://127.0.0.1:6443"));
        assert!(text.contains(&format!("token: {token}")));
        assert!(text.contains("certificate-authority-data: UEVN"));
    }
}
