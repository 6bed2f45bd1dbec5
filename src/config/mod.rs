//! Stage 3: the generic config (book chapter 3, `ch03-generic-config.md`).
//!
//! Mirrors kube-apiserver's `buildGenericConfig` (seed 002): `genericapiserver.NewConfig`, then in
//! the seed's order the storage factory, the authenticator, the authorizer, and admission. Every
//! server of the chain is built from this one config.
//!
//! - [`authentication`]: front proxy, client certificates, token file, admin token, anonymous.
//! - [`authorization`]: the union of AlwaysAllow, AlwaysDeny, ABAC and RBAC behind the
//!   privileged-group rule.
//! - [`admission`]: the plugin chain.
//! - audit: the policy and the log backend, in [`crate::audit`].

pub mod admission;
pub mod authentication;
pub mod authorization;

use std::sync::Arc;

use crate::audit::AuditConfig;
use crate::cmd::options::CompletedOptions;
use crate::registry::service::ipallocator::ServiceIPRange;
use crate::registry::service::portallocator::PortRange;
use crate::scheme::Scheme;
use crate::server::lifecycle_signals::LifecycleSignals;
use crate::storage::embedded::EmbeddedStore;
use crate::storage::etcd::EtcdStore;
use crate::storage::Storage;
use admission::AdmissionChain;
use authentication::requestheader::RequestHeaderConfig;
use authentication::{Authenticator, UserInfo, MASTERS_GROUP};
use authorization::Authorizer;

/// `genericapiserver.Config`: what every `GenericAPIServer` of the chain shares.
pub struct Config {
    pub scheme: Arc<Scheme>,
    pub storage: Arc<dyn Storage>,
    /// `--etcd-prefix`: the root of every key.
    pub etcd_prefix: String,
    pub authenticator: Arc<Authenticator>,
    pub authorizer: Arc<Authorizer>,
    pub admission: Arc<AdmissionChain>,
    /// `AuditPolicyRuleEvaluator` and `AuditBackend`; None when nothing is audited.
    pub audit: Option<AuditConfig>,
    pub lifecycle: Arc<LifecycleSignals>,
    /// `--max-requests-inflight`: 0 means no limit.
    pub max_requests_inflight: u32,
    /// `--max-mutating-requests-inflight`: 0 means no limit.
    pub max_mutating_requests_inflight: u32,
    /// `--min-request-timeout`: the least time a watch without `timeoutSeconds` runs.
    pub min_request_timeout: std::time::Duration,
    /// `--shutdown-send-retry-after`: 429 new requests during the drain, listener kept open.
    pub shutdown_send_retry_after: bool,
    /// `--request-timeout`: the most time a request that is not long-running is given.
    pub request_timeout: std::time::Duration,
    /// The deadlines of the requests being served, which the heartbeat expires (chapter 6).
    pub request_deadlines: Arc<crate::server::filters::timeout::RequestDeadlines>,
    /// What `/metrics` reports; Go keeps it in a process-wide registry, here each server has
    /// its own, so that servers started side by side (tests) count apart.
    pub metrics: Arc<crate::endpoints::metrics::Metrics>,
    pub extra: ExtraConfig,
    /// The aggregator's front-proxy identity (`--proxy-client-cert-file`), and what it publishes.
    pub proxy_client: Arc<crate::server::aggregator::frontproxy::ProxyClientConfig>,
}

/// The control plane's `Extra` config (`CreateKubeAPIServerConfig`): what only the
/// kube-apiserver of the chain reads.
#[derive(Clone, Copy)]
pub struct ExtraConfig {
    /// `--service-cluster-ip-range`.
    pub service_ip_range: ServiceIPRange,
    /// `--service-node-port-range`.
    pub service_node_port_range: PortRange,
    /// The port the `kubernetes` service sends its traffic to: the secure port being served.
    pub public_service_port: u16,
}

/// The user the generated `admin.kubeconfig` authenticates as.
pub fn admin_user() -> UserInfo {
    UserInfo {
        name: "admin".into(),
        uid: "admin".into(),
        groups: vec![MASTERS_GROUP.into()],
        ..Default::default()
    }
}

/// `BuiltInAuthenticationOptions.ToAuthenticationConfig`: the flags as the authenticator
/// wants them. Without `--requestheader-client-ca-file` no proxy is trusted at all.
fn authentication_config<'a>(
    opts: &'a CompletedOptions,
    admin_token: &'a str,
) -> authentication::AuthenticationConfig<'a> {
    let a = &opts.authentication;
    let rh = &a.request_header;
    authentication::AuthenticationConfig {
        anonymous: a.anonymous_auth,
        client_ca_file: a.client_ca_file.as_ref(),
        token_auth_file: a.token_auth_file.as_ref(),
        request_header: rh.client_ca_file.as_ref().map(|ca| RequestHeaderConfig {
            client_ca_file: ca.clone(),
            allowed_names: rh.allowed_names.clone(),
            username_headers: rh.username_headers.clone(),
            uid_headers: rh.uid_headers.clone(),
            group_headers: rh.group_headers.clone(),
            extra_headers_prefix: rh.extra_headers_prefix.clone(),
        }),
        admin_token,
        admin: admin_user(),
    }
}

// ANCHOR: build_generic_config
/// `buildGenericConfig`. `admin_token` is the bearer token of the generated admin kubeconfig;
/// `secure_port` is the port the listener got (`--secure-port=0` picks one).
pub fn build_generic_config(
    opts: &CompletedOptions,
    scheme: Arc<Scheme>,
    admin_token: &str,
    secure_port: u16,
) -> Result<Config, String> {
    // 1. Storage: the embedded store, or etcd when `--etcd-servers` names one.
    let storage: Arc<dyn Storage> = match opts.etcd.storage_backend.as_str() {
        "embedded" => Arc::new(EmbeddedStore::new(opts.etcd.watch_cache_size)),
        "etcd3" => {
            let etcd = Arc::new(EtcdStore::new(
                &opts.etcd.etcd_servers,
                &opts.etcd.etcd_prefix,
            )?);
            if !opts.etcd.compaction_interval.is_zero() {
                etcd.start_compactor(opts.etcd.compaction_interval);
            }
            etcd
        }
        other => {
            return Err(format!(
                "--storage-backend {other:?} is not available in this build yet"
            ))
        }
    };

    // 2. Authentication: front proxy, client certificates, tokens, then anonymous.
    let authenticator =
        authentication::new_authenticator(authentication_config(opts, admin_token))?;

    // 3. Authorization: the modes, in the order given.
    let authorizer = authorization::new_authorizer(
        &opts.authorization.modes,
        opts.authorization.policy_file.as_deref(),
        &storage,
        &opts.etcd.etcd_prefix,
    )?;

    // 4. Admission: the enabled plugins in their fixed order.
    let admission = AdmissionChain::new(
        &opts.admission.enable_plugins,
        &opts.admission.disable_plugins,
    );
    log::info!("admission plugins: {}", admission.names().join(","));

    // 5. Audit: the policy and the log backend (`AuditOptions.ApplyTo`).
    let audit = crate::audit::new_audit_config(
        opts.audit.policy_file.as_deref(),
        opts.audit.log_path.as_deref(),
    )?;

    let metrics = Arc::new(crate::endpoints::metrics::Metrics::new(
        Arc::clone(&scheme),
        Arc::clone(&storage),
        &opts.etcd.etcd_prefix,
    ));
    Ok(Config {
        scheme,
        storage,
        etcd_prefix: opts.etcd.etcd_prefix.clone(),
        authenticator: Arc::new(authenticator),
        authorizer: Arc::new(authorizer),
        admission: Arc::new(admission),
        audit,
        lifecycle: Arc::new(LifecycleSignals::default()),
        max_requests_inflight: opts.generic.max_requests_inflight,
        max_mutating_requests_inflight: opts.generic.max_mutating_requests_inflight,
        min_request_timeout: std::time::Duration::from_secs(
            opts.generic.min_request_timeout.into(),
        ),
        shutdown_send_retry_after: opts.generic.shutdown_send_retry_after,
        request_timeout: opts.generic.request_timeout,
        request_deadlines: Arc::default(),
        metrics,
        // 5. The control plane's own: the ranges services take their addresses from.
        extra: ExtraConfig {
            service_ip_range: ServiceIPRange::parse(&opts.extra.service_cluster_ip_range)
                .map_err(|e| format!("--service-cluster-ip-range: {e}"))?,
            service_node_port_range: PortRange::parse(&opts.extra.service_node_port_range)
                .map_err(|e| format!("--service-node-port-range: {e}"))?,
            public_service_port: secure_port,
        },
        // 6. The aggregator's: who it is to the extension API servers it proxies to.
        proxy_client: Arc::new(crate::server::aggregator::frontproxy::proxy_client_config(
            opts,
        )?),
    })
}
// ANCHOR_END: build_generic_config
