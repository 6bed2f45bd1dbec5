//! Authentication: who is asking (book chapter 3). Mirrors `BuiltInAuthenticationOptions`
//! `.ToAuthenticationConfig` and the union authenticator that `authenticator.Config.New` in
//! `pkg/kubeapiserver/authenticator/config.go` builds from it.
//!
//! Each way in answers a request in one of three ways: this is the user, these are not my
//! kind of credentials, or these credentials are wrong. [`union::Authenticator`] asks them in
//! kube-apiserver's order and adds `system:authenticated`; a request that brought no
//! credentials at all is anonymous, one whose credentials nobody accepts is a 401.
//!
//! - [`requestheader`]: a front proxy (the aggregator) vouches for a user in headers.
//! - [`x509`]: client certificates signed by `--client-ca-file`.
//! - [`tokenfile`]: bearer tokens from `--token-auth-file` (and the generated admin token).
//! - [`union`]: the union, the group adder, anonymous.

pub mod requestheader;
pub mod tokenfile;
pub mod union;
pub mod x509;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use crate::http::Request;

pub use tokenfile::read_token_file;
pub use union::{AuthResult, Authenticator};

/// `user.Info`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserInfo {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
    /// What an authenticator knows beyond name and groups (a proxy's `X-Remote-Extra-*`, an
    /// impersonator's `Impersonate-Extra-*`, a certificate's fingerprint). Sorted keys, so
    /// that a review lists them in a stable order.
    pub extra: BTreeMap<String, Vec<String>>,
}

pub const ANONYMOUS_USER: &str = "system:anonymous";
pub const UNAUTHENTICATED_GROUP: &str = "system:unauthenticated";
pub const AUTHENTICATED_GROUP: &str = "system:authenticated";
/// The group that every authorizer chain allows everything (`user.SystemPrivilegedGroup`).
pub const MASTERS_GROUP: &str = "system:masters";
/// The extra key naming the credential a request was authenticated with
/// (`user.CredentialIDKey`), so that an audit log can tell two certificates of one user apart.
pub const CREDENTIAL_ID_KEY: &str = "authentication.kubernetes.io/credential-id";

// ANCHOR: request_authenticator
/// `authenticator.Request`: one way in. `Ok(None)` means the request carries no credentials of
/// this kind and the next authenticator may try; `Err` means it carries some and they are
/// wrong (the reason is logged, never sent to the client).
pub trait RequestAuthenticator: Send + Sync {
    fn authenticate(&self, req: &Request) -> Result<Option<UserInfo>, String>;
}
// ANCHOR_END: request_authenticator

/// The authentication flags after parsing (`BuiltInAuthenticationOptions`).
pub struct AuthenticationConfig<'a> {
    pub anonymous: bool,
    pub client_ca_file: Option<&'a PathBuf>,
    pub token_auth_file: Option<&'a PathBuf>,
    pub request_header: Option<requestheader::RequestHeaderConfig>,
    /// The generated admin kubeconfig's token, added to the token file's users.
    pub admin_token: &'a str,
    pub admin: UserInfo,
}

// ANCHOR: new_authenticator
/// `authenticator.Config.New`: the authenticators in kube-apiserver's order. The front proxy
/// comes first: its certificate may also be a valid client certificate, and then the headers,
/// not the certificate's name, must say who the user is. Certificates and the token file
/// follow; kube-apiserver puts checks it can make on its own before those that call out
/// (webhooks, OIDC), which this server does not have.
pub fn new_authenticator(config: AuthenticationConfig) -> Result<Authenticator, String> {
    let mut authenticators: Vec<Box<dyn RequestAuthenticator>> = Vec::new();
    let mut clear_headers = Vec::new();
    if let Some(rh) = config.request_header {
        clear_headers = rh.header_names();
        authenticators.push(Box::new(requestheader::RequestHeaderAuthenticator::new(
            rh,
        )?));
    }
    if let Some(ca) = config.client_ca_file {
        let verifier = x509::CaVerifier::from_file(ca, "--client-ca-file")?;
        authenticators.push(Box::new(x509::X509Authenticator::new(verifier)));
    }
    let mut tokens = match config.token_auth_file {
        Some(path) => read_token_file(path)?,
        None => HashMap::new(),
    };
    tokens.insert(config.admin_token.to_string(), config.admin);
    authenticators.push(Box::new(tokenfile::TokenFile::new(tokens)));
    Ok(Authenticator::new(
        authenticators,
        config.anonymous,
        clear_headers,
    ))
}
// ANCHOR_END: new_authenticator
