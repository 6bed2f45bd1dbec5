use std::path::{Path, PathBuf};
use std::net::IpAddr;
use std::sync::Arc;
pub struct SelfSignedCerts { pub ca_cert: PathBuf, pub serving_cert: PathBuf, pub serving_key: PathBuf }
pub fn maybe_default_with_self_signed_certs(_cert_dir: &Path, _ips: &[IpAddr], _dns_names: &[String]) -> Result<SelfSignedCerts, String> { todo!() }
pub fn server_config(_cert_file: &Path, _key_file: &Path) -> Result<Arc<rustls::ServerConfig>, String> { todo!() }
pub fn admin_token(_cert_dir: &Path) -> Result<String, String> { todo!() }
pub fn write_admin_kubeconfig(_cert_dir: &Path, _server_url: &str, _ca_pem: &[u8], _token: &str) -> Result<PathBuf, String> { todo!() }
