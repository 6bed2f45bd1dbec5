//! Client certificates: `k8s.io/apiserver/pkg/authentication/request/x509`. The TLS handshake
//! only proves that the client holds the key of the certificate it sent (see
//! `run::tls::RequestClientCert`); whether a CA we trust signed it is decided here, per
//! authenticator, because `--client-ca-file` and `--requestheader-client-ca-file` trust
//! different CAs for different purposes.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::ClientCertVerifier;
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;

use super::{RequestAuthenticator, UserInfo, CREDENTIAL_ID_KEY};
use crate::http::Request;

// ANCHOR: ca_verifier
/// One CA bundle and the check Go's `x509.Certificate.Verify` makes against it: the chain
/// (the client's certificate, then any intermediates it sent) leads to one of these roots, every
/// certificate in it is within its validity, and the client's is usable for client auth.
/// rustls' WebPKI verifier does exactly this, so it is reused here after the handshake.
pub struct CaVerifier {
    verifier: Arc<dyn ClientCertVerifier>,
}

impl CaVerifier {
    /// Reads a PEM bundle; `flag` names it in errors (`--client-ca-file /x: no certificate found`).
    pub fn from_file(path: &Path, flag: &str) -> Result<CaVerifier, String> {
        let mut roots = RootCertStore::empty();
        for cert in crate::run::tls::read_certs(path, flag)? {
            roots
                .add(cert)
                .map_err(|e| format!("{flag} {}: {e}", path.display()))?;
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            crate::run::tls::provider(),
        )
        .build()
        .map_err(|e| format!("{flag} {}: {e}", path.display()))?;
        Ok(CaVerifier { verifier })
    }

    pub fn verify(&self, chain: &[CertificateDer<'static>]) -> Result<(), String> {
        let (leaf, intermediates) = chain.split_first().ok_or("no client certificate")?;
        self.verifier
            .verify_client_cert(leaf, intermediates, UnixTime::now())
            .map(|_| ())
            .map_err(|e| format!("verifying certificate failed: {e}"))
    }
}
// ANCHOR_END: ca_verifier

/// The `x509` authenticator: a verified client certificate names the user.
pub struct X509Authenticator {
    ca: CaVerifier,
}

impl X509Authenticator {
    pub fn new(ca: CaVerifier) -> X509Authenticator {
        X509Authenticator { ca }
    }
}

impl RequestAuthenticator for X509Authenticator {
    fn authenticate(&self, req: &Request) -> Result<Option<UserInfo>, String> {
        let Some(chain) = req.peer_certificates.as_deref() else {
            return Ok(None);
        };
        self.ca.verify(chain)?;
        common_name_user_conversion(&chain[0])
    }
}

// ANCHOR: common_name_user_conversion
/// `CommonNameUserConversion`: the subject's CommonName is the user name, its Organizations are
/// the groups, the UID attribute (OID 1.3.6.1.4.1.57683.2) the uid, and the SHA-256 of the
/// certificate becomes the credential id an audit log can tell certificates apart by. A
/// certificate without a CommonName names nobody: no opinion.
pub fn common_name_user_conversion(cert: &CertificateDer<'_>) -> Result<Option<UserInfo>, String> {
    let subject = Subject::parse(cert).ok_or("the client certificate's subject cannot be read")?;
    if subject.common_name.is_empty() {
        return Ok(None);
    }
    let uid = match subject.uids.as_slice() {
        [] => String::new(),
        [uid] => uid.clone(),
        _ => return Err("the client certificate names more than one UID".into()),
    };
    let id = format!("X509SHA256={}", sha256_hex(cert));
    Ok(Some(UserInfo {
        name: subject.common_name,
        uid,
        groups: subject.organizations,
        extra: [(CREDENTIAL_ID_KEY.to_string(), vec![id])].into(),
    }))
}
// ANCHOR_END: common_name_user_conversion

fn sha256_hex(der: &[u8]) -> String {
    // rustls' own SHA-256 (ring's, through the cipher suite that names it): no hashing crate
    // for one fingerprint.
    let suite = rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256;
    let hash = suite
        .tls13()
        .expect("a TLS 1.3 suite")
        .common
        .hash_provider
        .hash(der);
    hash.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The parts of a certificate's subject name that say who it is for.
#[derive(Debug, Default, PartialEq)]
pub struct Subject {
    pub common_name: String,
    pub organizations: Vec<String>,
    pub uids: Vec<String>,
}

const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
const OID_ORGANIZATION: &[u8] = &[0x55, 0x04, 0x0a];
/// 1.3.6.1.4.1.57683.2, the attribute kube reads a user's UID from.
const OID_UID: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xc2, 0x53, 0x02];

impl Subject {
    // ANCHOR: subject_parse
    /// Reads the subject from a DER certificate: `Certificate ::= SEQUENCE { tbsCertificate
    /// SEQUENCE { [0] version, serialNumber, signature, issuer, validity, subject, ... } ... }`,
    /// and a Name is a SEQUENCE of SETs of (OID, value). `None` if it is not shaped so. As in
    /// Go, a later CommonName replaces an earlier one and Organizations accumulate.
    pub fn parse(cert: &[u8]) -> Option<Subject> {
        let (_, certificate, _) = der(cert, 0x30)?;
        let (_, mut tbs, _) = der(certificate, 0x30)?;
        if tbs.first() == Some(&0xa0) {
            tbs = der_any(tbs)?.2;
        }
        // serialNumber, signature, issuer, validity, then the subject.
        for tag in [0x02, 0x30, 0x30, 0x30] {
            tbs = der(tbs, tag)?.2;
        }
        let (_, mut name, _) = der(tbs, 0x30)?;
        let mut subject = Subject::default();
        while !name.is_empty() {
            let (_, mut rdn, rest) = der(name, 0x31)?;
            name = rest;
            while !rdn.is_empty() {
                let (_, attribute, rest) = der(rdn, 0x30)?;
                rdn = rest;
                let (_, oid, value) = der(attribute, 0x06)?;
                let (tag, value, _) = der_any(value)?;
                let value = directory_string(tag, value)?;
                match oid {
                    OID_COMMON_NAME => subject.common_name = value,
                    OID_ORGANIZATION => subject.organizations.push(value),
                    OID_UID => subject.uids.push(value),
                    _ => {}
                }
            }
        }
        Some(subject)
    }
    // ANCHOR_END: subject_parse
}

/// One DER element of the expected tag: `(tag, contents, rest)`.
fn der(input: &[u8], tag: u8) -> Option<(u8, &[u8], &[u8])> {
    der_any(input).filter(|(t, _, _)| *t == tag)
}

/// One DER element, whatever its tag (single-byte tags only, as every tag of a Name is).
fn der_any(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| acc << 8 | usize::from(*b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The string kinds an X.501 attribute value comes in.
fn directory_string(tag: u8, value: &[u8]) -> Option<String> {
    match tag {
        // UTF8String, PrintableString, IA5String, and T61String, which in practice holds ASCII.
        0x0c | 0x13 | 0x16 | 0x14 => String::from_utf8(value.to_vec()).ok(),
        // BMPString: UTF-16, big-endian.
        0x1e if value.len().is_multiple_of(2) => {
            let units: Vec<u16> = value
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

/// Certificates for the tests of this folder: a CA written where the flags will read it, and
/// client certificates it signs.
#[cfg(test)]
pub mod tests_support {
    use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
    use rustls::pki_types::CertificateDer;
    use std::path::{Path, PathBuf};

    pub struct TestCa {
        cert: rcgen::Certificate,
        key: KeyPair,
    }

    pub fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("authn-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    pub fn ca(path: &Path) -> TestCa {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{}", path.display()));
        params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        std::fs::write(path, cert.pem()).unwrap();
        TestCa { cert, key }
    }

    pub fn client_cert(ca: &TestCa, cn: &str, group: Option<&str>) -> CertificateDer<'static> {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        if let Some(group) = group {
            params
                .distinguished_name
                .push(DnType::OrganizationName, group);
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params
            .signed_by(&key, &ca.cert, &ca.key)
            .unwrap()
            .der()
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DnType, DnValue, KeyPair};

    fn cert_with(dn: &[(DnType, &str)]) -> CertificateDer<'static> {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        for (t, v) in dn {
            params.distinguished_name.push(t.clone(), *v);
        }
        params.self_signed(&key).unwrap().der().clone()
    }

    #[test]
    fn common_name_is_the_user_and_organizations_the_groups() {
        let uid = DnType::CustomDnType(vec![1, 3, 6, 1, 4, 1, 57683, 2]);
        let cert = cert_with(&[
            (DnType::OrganizationName, "dev"),
            (DnType::CommonName, "jane"),
            (uid, "1234"),
        ]);
        let user = common_name_user_conversion(&cert).unwrap().unwrap();
        assert_eq!(user.name, "jane");
        assert_eq!(user.groups, ["dev"]);
        assert_eq!(user.uid, "1234");
        let id = &user.extra[CREDENTIAL_ID_KEY][0];
        assert!(id.starts_with("X509SHA256=") && id.len() == 11 + 64, "{id}");
    }

    fn tlv(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
        let content = parts.concat();
        let mut out = vec![tag];
        if content.len() < 0x80 {
            out.push(content.len() as u8);
        } else {
            out.extend([0x82, (content.len() >> 8) as u8, content.len() as u8]);
        }
        out.extend(content);
        out
    }

    #[test]
    fn organizations_accumulate_and_the_last_common_name_wins() {
        // rcgen keeps one value per attribute type, so this subject is put together by hand.
        let attribute = |oid: &[u8], value: &str| {
            let pair = tlv(0x30, &[&tlv(0x06, &[oid]), &tlv(0x0c, &[value.as_bytes()])]);
            tlv(0x31, &[&pair])
        };
        let name = tlv(
            0x30,
            &[
                &attribute(OID_COMMON_NAME, "first"),
                &attribute(OID_ORGANIZATION, "dev"),
                &attribute(OID_ORGANIZATION, "ops"),
                &attribute(OID_COMMON_NAME, "jane"),
            ],
        );
        let empty = tlv(0x30, &[]);
        let version = tlv(0xa0, &[&tlv(0x02, &[&[2]])]);
        let tbs = tlv(
            0x30,
            &[&version, &tlv(0x02, &[&[1]]), &empty, &empty, &empty, &name],
        );
        let cert = tlv(0x30, &[&tbs, &empty]);
        let subject = Subject::parse(&cert).unwrap();
        assert_eq!(subject.common_name, "jane");
        assert_eq!(subject.organizations, ["dev", "ops"]);
        // Cut anywhere, the same bytes are refused, never read past.
        for len in 0..cert.len() {
            assert!(Subject::parse(&cert[..len]).is_none(), "{len}");
        }
    }

    #[test]
    fn no_common_name_is_no_opinion_and_garbage_an_error() {
        let cert = cert_with(&[(DnType::OrganizationName, "dev")]);
        assert_eq!(common_name_user_conversion(&cert), Ok(None));
        let garbage = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01]);
        assert!(common_name_user_conversion(&garbage).is_err());
        assert!(Subject::parse(&[]).is_none());
    }

    #[test]
    fn string_kinds_decode() {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(
            DnType::CommonName,
            DnValue::PrintableString("bob".try_into().unwrap()),
        );
        params.distinguished_name.push(
            DnType::OrganizationName,
            DnValue::BmpString("grüne".try_into().unwrap()),
        );
        let cert = params.self_signed(&key).unwrap();
        let subject = Subject::parse(cert.der()).unwrap();
        assert_eq!(subject.common_name, "bob");
        assert_eq!(subject.organizations, ["grüne"]);
    }

    #[test]
    fn only_certificates_of_the_ca_are_users() {
        use tests_support::*;
        let dir = scratch("x509");
        let ours = ca(&dir.join("ca.crt"));
        let theirs = ca(&dir.join("other.crt"));
        let auth = X509Authenticator::new(
            CaVerifier::from_file(&dir.join("ca.crt"), "--client-ca-file").unwrap(),
        );
        let req = |cert| Request {
            peer_certificates: Some(Arc::new(vec![cert])),
            ..Default::default()
        };
        let user = auth
            .authenticate(&req(client_cert(&ours, "jane", Some("dev"))))
            .unwrap()
            .unwrap();
        assert_eq!(
            (user.name.as_str(), user.groups.as_slice()),
            ("jane", &["dev".to_string()][..])
        );
        let err = auth
            .authenticate(&req(client_cert(&theirs, "jane", Some("dev"))))
            .unwrap_err();
        assert!(err.contains("UnknownIssuer"), "{err}");
        assert_eq!(auth.authenticate(&Request::default()), Ok(None));
        let err = CaVerifier::from_file(&dir.join("missing.crt"), "--client-ca-file")
            .err()
            .unwrap();
        assert!(err.starts_with("--client-ca-file "), "{err}");
    }

    #[test]
    fn sha256_matches_a_known_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
