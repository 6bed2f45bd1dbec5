//! Who the aggregator is to an extension API server, and how that server learns to believe it.
//!
//! The aggregator authenticates the caller itself, then proxies with a client certificate of
//! its own (`--proxy-client-cert-file`) and the caller's name in `X-Remote-User`. The extension
//! server believes those headers only on a connection whose certificate a CA it trusts signed
//! (its `--requestheader-client-ca-file`). kube-apiserver publishes that CA, with the header
//! names, in the ConfigMap `kube-system/extension-apiserver-authentication`, which extension
//! servers read at start (`ClientCARegistrationHook`).
//!
//! Without `--proxy-client-cert-file`, as kubeadm would, we make a front-proxy CA and a client
//! certificate for `front-proxy-client` in `--cert-dir`, and publish that CA.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{ExtendedKeyUsagePurpose, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;

use crate::cmd::options::CompletedOptions;
use crate::config::admin_user;
use crate::config::authentication::x509::CaVerifier;
use crate::registry::store::Store;
use crate::run::tls::{self, read_certs};
use crate::scheme::codec::FieldValidation;
use crate::scheme::parameter_codec::WriteOptions;

/// The CommonName kubeadm gives the aggregator's client certificate, and so the one name
/// extension servers are told to allow.
pub const FRONT_PROXY_CLIENT_CN: &str = "front-proxy-client";

pub const EXTENSION_AUTH_NAMESPACE: &str = "kube-system";
pub const EXTENSION_AUTH_NAME: &str = "extension-apiserver-authentication";

/// The aggregator's identity and what it publishes about it.
pub struct ProxyClientConfig {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: Arc<PrivateKeyDer<'static>>,
    /// The data of `extension-apiserver-authentication`.
    pub extension_authentication: BTreeMap<String, String>,
}

/// The generated front-proxy files in `--cert-dir`, named as kubeadm names them.
struct GeneratedFiles {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl GeneratedFiles {
    fn in_dir(dir: &Path) -> GeneratedFiles {
        GeneratedFiles {
            ca: dir.join("front-proxy-ca.crt"),
            cert: dir.join("front-proxy-client.crt"),
            key: dir.join("front-proxy-client.key"),
        }
    }
}

// ANCHOR: proxy_client_config
/// The proxy client certificate from the flags, or generated; and the ConfigMap data
/// kube-apiserver's `ClientCARegistrationHook` writes: the client CA, and the request-header
/// settings extension servers must use to believe us.
pub fn proxy_client_config(opts: &CompletedOptions) -> Result<ProxyClientConfig, String> {
    let a = &opts.authentication;
    let rh = &a.request_header;
    let x = &opts.extra;
    let mut data = BTreeMap::new();
    if let Some(ca) = &a.client_ca_file {
        data.insert("client-ca-file".into(), read_text(ca, "--client-ca-file")?);
    }
    let list = |v: &[String]| serde_json::to_string(v).expect("strings serialize");
    let (cert, key) = match (&x.proxy_client_cert_file, &x.proxy_client_key_file) {
        (Some(cert), Some(key)) => {
            // The operator chose the front proxy: publish what the request-header flags say.
            if let Some(ca) = &rh.client_ca_file {
                data.insert(
                    "requestheader-client-ca-file".into(),
                    read_text(ca, "--requestheader-client-ca-file")?,
                );
                data.insert(
                    "requestheader-allowed-names".into(),
                    list(&rh.allowed_names),
                );
                data.insert(
                    "requestheader-username-headers".into(),
                    list(&rh.username_headers),
                );
                data.insert(
                    "requestheader-group-headers".into(),
                    list(&rh.group_headers),
                );
                data.insert(
                    "requestheader-extra-headers-prefix".into(),
                    list(&rh.extra_headers_prefix),
                );
            }
            (cert.clone(), key.clone())
        }
        (None, None) => {
            let files = maybe_generate(&opts.secure_serving.cert_dir)?;
            // The generated CA signs only our certificate, so the settings are kubeadm's.
            data.insert(
                "requestheader-client-ca-file".into(),
                read_text(&files.ca, "front-proxy CA")?,
            );
            data.insert(
                "requestheader-allowed-names".into(),
                list(&[FRONT_PROXY_CLIENT_CN.into()]),
            );
            data.insert(
                "requestheader-username-headers".into(),
                list(&["X-Remote-User".into()]),
            );
            data.insert(
                "requestheader-group-headers".into(),
                list(&["X-Remote-Group".into()]),
            );
            data.insert(
                "requestheader-extra-headers-prefix".into(),
                list(&["X-Remote-Extra-".into()]),
            );
            (files.cert, files.key)
        }
        _ => {
            return Err(
                "--proxy-client-cert-file and --proxy-client-key-file must be given together"
                    .into(),
            )
        }
    };
    let chain = read_certs(&cert, "--proxy-client-cert-file")?;
    let key = PrivateKeyDer::from_pem_file(&key)
        .map_err(|e| format!("--proxy-client-key-file {}: {e}", key.display()))?;
    Ok(ProxyClientConfig {
        chain,
        key: Arc::new(key),
        extension_authentication: data,
    })
}
// ANCHOR_END: proxy_client_config

fn read_text(path: &Path, what: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{what} {}: {e}", path.display()))
}

/// Reuses the files of an earlier start while the client certificate still verifies against
/// the CA beside it; otherwise writes a new CA (`front-proxy-ca@<unix seconds>`) and client
/// certificate. The CA key is not kept, so nothing else can ever be signed as the front proxy.
fn maybe_generate(cert_dir: &Path) -> Result<GeneratedFiles, String> {
    let files = GeneratedFiles::in_dir(cert_dir);
    let reusable = CaVerifier::from_file(&files.ca, "front-proxy CA").and_then(|ca| {
        ca.verify(&read_certs(&files.cert, "front-proxy client")?)?;
        PrivateKeyDer::from_pem_file(&files.key).map_err(|e| e.to_string())
    });
    if reusable.is_ok() {
        return Ok(files);
    }
    log::info!(
        "generating a front-proxy CA and client certificate in {}",
        cert_dir.display()
    );
    tls::create_private_dir(cert_dir)?;
    let now = tls::unix_now()?;
    let (ca, ca_key) = tls::new_ca("front-proxy-ca", now)?;
    let key = KeyPair::generate().map_err(tls::rcgen_err)?;
    let params = tls::leaf_params(
        FRONT_PROXY_CLIENT_CN.to_string(),
        ExtendedKeyUsagePurpose::ClientAuth,
        now,
    );
    let cert = params
        .signed_by(&key, &ca, &ca_key)
        .map_err(tls::rcgen_err)?;

    tls::write_file(&files.key, key.serialize_pem().as_bytes(), 0o600)?;
    tls::write_file(&files.cert, cert.pem().as_bytes(), 0o644)?;
    tls::write_file(&files.ca, ca.pem().as_bytes(), 0o644)?;
    Ok(files)
}

// ANCHOR: client_ca_registration
/// The post-start hook `start-cluster-authentication-info-controller`: create or update
/// `kube-system/extension-apiserver-authentication` with `data`.
pub fn publish_extension_authentication(
    configmaps: &Store,
    data: &BTreeMap<String, String>,
) -> Result<(), String> {
    let opts = WriteOptions {
        dry_run: false,
        field_manager: "kube-apiserver".into(),
        field_validation: FieldValidation::Strict,
        force: None,
    };
    let fail = |e| format!("writing {EXTENSION_AUTH_NAMESPACE}/{EXTENSION_AUTH_NAME}: {e}");
    let cm = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": EXTENSION_AUTH_NAME, "namespace": EXTENSION_AUTH_NAMESPACE},
        "data": data,
    });
    match configmaps.create(EXTENSION_AUTH_NAMESPACE, cm, &opts, &admin_user()) {
        Ok(_) => Ok(()),
        Err(e) if e.code() == 409 => {
            let mut existing = configmaps
                .get(EXTENSION_AUTH_NAMESPACE, EXTENSION_AUTH_NAME)
                .map_err(fail)?;
            if existing["data"] == json!(data) {
                return Ok(());
            }
            existing["data"] = json!(data);
            configmaps
                .update(
                    EXTENSION_AUTH_NAMESPACE,
                    EXTENSION_AUTH_NAME,
                    existing,
                    &opts,
                    &admin_user(),
                )
                .map(|_| ())
                .map_err(fail)
        }
        Err(e) => Err(fail(e)),
    }
}
// ANCHOR_END: client_ca_registration

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::authentication::x509::Subject;

    #[test]
    fn the_generated_client_certificate_is_front_proxy_client_and_is_reused() {
        let dir = std::env::temp_dir().join(format!("frontproxy-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let files = maybe_generate(&dir).unwrap();
        let chain = read_certs(&files.cert, "cert").unwrap();
        CaVerifier::from_file(&files.ca, "ca")
            .unwrap()
            .verify(&chain)
            .unwrap();
        assert_eq!(
            Subject::parse(&chain[0]).unwrap().common_name,
            FRONT_PROXY_CLIENT_CN
        );
        let before = std::fs::read(&files.cert).unwrap();
        maybe_generate(&dir).unwrap();
        assert_eq!(std::fs::read(&files.cert).unwrap(), before);
        // A CA that no longer signs the certificate (replaced by hand) means new files.
        std::fs::write(
            &files.ca,
            std::fs::read(dir.join("front-proxy-client.crt")).unwrap(),
        )
        .unwrap();
        maybe_generate(&dir).unwrap();
        assert_ne!(std::fs::read(&files.cert).unwrap(), before);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
