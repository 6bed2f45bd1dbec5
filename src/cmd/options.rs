pub struct ServerRunOptions {
    pub generic: GenericServerRunOptions,
    pub etcd: EtcdOptions,
    pub secure_serving: SecureServingOptions,
    pub authentication: AuthenticationOptions,
    pub authorization: AuthorizationOptions,
    pub admission: AdmissionOptions,
    pub logs: LogsOptions,
}
pub struct GenericServerRunOptions {
    pub advertise_address: Option<std::net::IpAddr>,
    pub external_hostname: String,
    pub max_requests_inflight: u32,
    pub request_timeout: std::time::Duration,
    pub shutdown_delay_duration: std::time::Duration,
}
pub struct EtcdOptions { pub storage_backend: String, pub etcd_servers: Vec<String>, pub etcd_prefix: String, pub watch_cache_size: usize }
pub struct SecureServingOptions { pub bind_address: std::net::IpAddr, pub secure_port: u16, pub cert_dir: std::path::PathBuf, pub tls_cert_file: Option<std::path::PathBuf>, pub tls_private_key_file: Option<std::path::PathBuf> }
pub struct AuthenticationOptions { pub anonymous_auth: bool, pub token_auth_file: Option<std::path::PathBuf> }
pub struct AuthorizationOptions { pub modes: Vec<String> }
pub struct AdmissionOptions { pub enable_plugins: Vec<String>, pub disable_plugins: Vec<String> }
pub struct LogsOptions { pub verbosity: u8 }
pub struct CompletedOptions(pub ServerRunOptions);
impl std::ops::Deref for CompletedOptions { type Target = ServerRunOptions; fn deref(&self) -> &ServerRunOptions { &self.0 } }
