//! The front-proxy authenticator: `authentication/request/headerrequest` behind the x509
//! `Verifier`. A proxy that has already authenticated a user (the kube-aggregator, forwarding
//! to an extension API server, or an authenticating proxy in front of kube-apiserver) says who
//! the user is in headers such as `X-Remote-User`. Anyone can send a header, so the headers
//! count only on a connection whose client certificate was signed by
//! `--requestheader-client-ca-file` and, when `--requestheader-allowed-names` is set, carries
//! one of those CommonNames.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::x509::{CaVerifier, Subject};
use super::{RequestAuthenticator, UserInfo};
use crate::http::Request;

/// The `--requestheader-*` flags (`RequestHeaderAuthenticationOptions`).
#[derive(Clone, Debug, Default)]
pub struct RequestHeaderConfig {
    pub client_ca_file: PathBuf,
    pub allowed_names: Vec<String>,
    pub username_headers: Vec<String>,
    pub uid_headers: Vec<String>,
    pub group_headers: Vec<String>,
    pub extra_headers_prefix: Vec<String>,
}

impl RequestHeaderConfig {
    /// What [`RequestHeaderAuthenticator`] reads: the header names, and the extra prefixes
    /// ending in `*`, the way `Authenticator::clear_credentials` matches them.
    pub fn header_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .username_headers
            .iter()
            .chain(&self.uid_headers)
            .chain(&self.group_headers)
            .cloned()
            .collect();
        names.extend(self.extra_headers_prefix.iter().map(|p| format!("{p}*")));
        names
    }
}

pub struct RequestHeaderAuthenticator {
    ca: CaVerifier,
    config: RequestHeaderConfig,
}

impl RequestHeaderAuthenticator {
    pub fn new(config: RequestHeaderConfig) -> Result<RequestHeaderAuthenticator, String> {
        let ca = CaVerifier::from_file(&config.client_ca_file, "--requestheader-client-ca-file")?;
        Ok(RequestHeaderAuthenticator { ca, config })
    }

    /// The first non-empty value among `names`, tried in order (`headerValue`).
    fn first_value<'r>(req: &'r Request, names: &[String]) -> Option<&'r str> {
        names
            .iter()
            .find_map(|n| req.header(n).filter(|v| !v.is_empty()))
    }
}

// ANCHOR: requestheader_authenticate
impl RequestAuthenticator for RequestHeaderAuthenticator {
    fn authenticate(&self, req: &Request) -> Result<Option<UserInfo>, String> {
        // `x509.Verifier`: the proxy's certificate first, then its name.
        let Some(chain) = req.peer_certificates.as_deref() else {
            return Ok(None);
        };
        self.ca.verify(chain)?;
        let allowed = &self.config.allowed_names;
        if !allowed.is_empty() {
            let cn = Subject::parse(&chain[0])
                .map(|s| s.common_name)
                .unwrap_or_default();
            if !allowed.contains(&cn) {
                return Err(format!(
                    "x509: subject with cn={cn} is not in the allowed list"
                ));
            }
        }
        // A trusted proxy that names no user vouches for nobody: let the next one try.
        let Some(name) = Self::first_value(req, &self.config.username_headers) else {
            return Ok(None);
        };
        let uid = Self::first_value(req, &self.config.uid_headers).unwrap_or_default();
        let groups = self
            .config
            .group_headers
            .iter()
            .flat_map(|g| {
                req.headers
                    .iter()
                    .filter(move |(n, _)| n.eq_ignore_ascii_case(g))
            })
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
            .collect();
        let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for prefix in &self.config.extra_headers_prefix {
            for (header, value) in &req.headers {
                if let Some(key) = strip_prefix_ignore_case(header, prefix) {
                    // Header names are case-insensitive and limited in what they may hold, so
                    // a key travels lower-cased and percent-encoded.
                    let key = unescape_extra_key(&key.to_ascii_lowercase());
                    extra.entry(key).or_default().push(value.clone());
                }
            }
        }
        Ok(Some(UserInfo {
            name: name.to_string(),
            uid: uid.to_string(),
            groups,
            extra,
        }))
    }
}
// ANCHOR_END: requestheader_authenticate

/// `unescapeExtraKey`: `%XX` escapes decoded (`acme.com%2Fproject` is `acme.com/project`);
/// a key with a broken escape is kept as sent rather than dropped.
pub fn unescape_extra_key(key: &str) -> String {
    let b = key.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(byte) => out.push(byte),
                None => return key.to_string(),
            }
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `s` without `prefix`, compared without regard to ASCII case, as header names are.
pub fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::authentication::x509::tests_support::{ca, client_cert};
    use std::sync::Arc;

    fn config(dir: &std::path::Path, allowed: &[&str]) -> RequestHeaderConfig {
        RequestHeaderConfig {
            client_ca_file: dir.join("proxy-ca.crt"),
            allowed_names: allowed.iter().map(|s| s.to_string()).collect(),
            username_headers: vec!["X-Remote-User".into()],
            uid_headers: vec!["X-Remote-Uid".into()],
            group_headers: vec!["X-Remote-Group".into()],
            extra_headers_prefix: vec!["X-Remote-Extra-".into()],
        }
    }

    fn request(cert: Option<rustls::pki_types::CertificateDer<'static>>) -> Request {
        let h = |n: &str, v: &str| (n.to_string(), v.to_string());
        Request {
            headers: vec![
                h("x-remote-user", "jane"),
                h("X-Remote-Uid", "42"),
                h("X-Remote-Group", "dev"),
                h("X-Remote-Group", "ops"),
                h("X-Remote-Extra-Acme.com%2Fproject", "apollo"),
                h("X-Remote-Extra-Scopes", "view"),
            ],
            peer_certificates: cert.map(|c| Arc::new(vec![c])),
            ..Default::default()
        }
    }

    #[test]
    fn a_trusted_proxy_names_the_user() {
        let dir = crate::config::authentication::x509::tests_support::scratch("rh-trusted");
        let proxy_ca = ca(&dir.join("proxy-ca.crt"));
        let auth = RequestHeaderAuthenticator::new(config(&dir, &["front-proxy"])).unwrap();
        let user = auth
            .authenticate(&request(Some(client_cert(&proxy_ca, "front-proxy", None))))
            .unwrap()
            .unwrap();
        assert_eq!(user.name, "jane");
        assert_eq!(user.uid, "42");
        assert_eq!(user.groups, ["dev", "ops"]);
        assert_eq!(user.extra["acme.com/project"], ["apollo"]);
        assert_eq!(user.extra["scopes"], ["view"]);

        // A proxy certificate with another name, a certificate of another CA, no certificate.
        let other = auth.authenticate(&request(Some(client_cert(&proxy_ca, "mallory", None))));
        assert_eq!(
            other,
            Err("x509: subject with cn=mallory is not in the allowed list".into())
        );
        let other_ca = ca(&dir.join("other-ca.crt"));
        let err = auth
            .authenticate(&request(Some(client_cert(&other_ca, "front-proxy", None))))
            .unwrap_err();
        assert!(err.starts_with("verifying certificate failed"), "{err}");
        assert_eq!(auth.authenticate(&request(None)), Ok(None));
    }

    #[test]
    fn extra_keys_unescape() {
        assert_eq!(unescape_extra_key("acme.com%2fproject"), "acme.com/project");
        assert_eq!(unescape_extra_key("a+b"), "a+b");
        assert_eq!(unescape_extra_key("broken%2"), "broken%2");
        assert_eq!(unescape_extra_key("bad%zzkey"), "bad%zzkey");
    }

    #[test]
    fn any_name_when_no_names_are_listed_and_no_user_header_is_no_opinion() {
        let dir = crate::config::authentication::x509::tests_support::scratch("rh-any");
        let proxy_ca = ca(&dir.join("proxy-ca.crt"));
        let auth = RequestHeaderAuthenticator::new(config(&dir, &[])).unwrap();
        let mut req = request(Some(client_cert(&proxy_ca, "whoever", None)));
        assert_eq!(auth.authenticate(&req).unwrap().unwrap().name, "jane");
        req.headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("x-remote-user"));
        assert_eq!(auth.authenticate(&req), Ok(None));
    }
}
