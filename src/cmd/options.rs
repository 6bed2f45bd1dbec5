//! `ServerRunOptions`: every flag's value, its default, `complete` and `validate`. Mirrors
//! `cmd/kube-apiserver/app/options` (`NewServerRunOptions`, `Flags`, `Complete`, `Validate`),
//! with each group of options adding its own flags to its own named set.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use super::flags::{format_duration, parse_duration, NamedFlagSets};
use crate::registry::service::ipallocator::ServiceIPRange;
use crate::registry::service::portallocator::PortRange;

// ANCHOR: server_run_options
pub struct ServerRunOptions {
    pub generic: GenericServerRunOptions,
    pub etcd: EtcdOptions,
    pub secure_serving: SecureServingOptions,
    pub authentication: AuthenticationOptions,
    pub authorization: AuthorizationOptions,
    pub admission: AdmissionOptions,
    pub audit: AuditOptions,
    pub logs: LogsOptions,
    pub extra: Extra,
}
// ANCHOR_END: server_run_options

pub struct GenericServerRunOptions {
    pub advertise_address: Option<IpAddr>,
    pub external_hostname: String,
    pub max_requests_inflight: u32,
    pub max_mutating_requests_inflight: u32,
    pub min_request_timeout: u32,
    pub request_timeout: Duration,
    pub shutdown_delay_duration: Duration,
    pub shutdown_send_retry_after: bool,
}

pub struct EtcdOptions {
    pub storage_backend: String,
    pub etcd_servers: Vec<String>,
    pub etcd_prefix: String,
    /// How many events of history the embedded store keeps for watches from the past.
    pub watch_cache_size: usize,
    /// How often the etcd backend compacts etcd's history; zero never.
    pub compaction_interval: Duration,
}

pub struct SecureServingOptions {
    pub bind_address: IpAddr,
    pub secure_port: u16,
    pub cert_dir: PathBuf,
    pub tls_cert_file: Option<PathBuf>,
    pub tls_private_key_file: Option<PathBuf>,
    /// The v1.13 insecure port: plain HTTP, no authentication or authorization. 0 is off.
    pub insecure_port: u16,
    pub insecure_bind_address: IpAddr,
}

pub struct AuthenticationOptions {
    pub anonymous_auth: bool,
    pub token_auth_file: Option<PathBuf>,
    pub client_ca_file: Option<PathBuf>,
    pub request_header: RequestHeaderAuthenticationOptions,
}

/// The `--requestheader-*` flags: which proxy may vouch for users, and in which headers.
/// kube-apiserver gives them no defaults; a cluster that runs the aggregator sets them.
#[derive(Default)]
pub struct RequestHeaderAuthenticationOptions {
    pub client_ca_file: Option<PathBuf>,
    pub allowed_names: Vec<String>,
    pub username_headers: Vec<String>,
    pub uid_headers: Vec<String>,
    pub group_headers: Vec<String>,
    pub extra_headers_prefix: Vec<String>,
}

pub struct AuthorizationOptions {
    pub modes: Vec<String>,
    /// `--authorization-policy-file`: the ABAC policies, one per line.
    pub policy_file: Option<PathBuf>,
}

pub struct AdmissionOptions {
    pub enable_plugins: Vec<String>,
    pub disable_plugins: Vec<String>,
}

/// `AuditOptions`: the policy and the log backend (the webhook backend is not built).
pub struct AuditOptions {
    /// `--audit-policy-file`.
    pub policy_file: Option<PathBuf>,
    /// `--audit-log-path`; `-` is standard output.
    pub log_path: Option<String>,
    /// `--audit-log-format`: only `json`.
    pub log_format: String,
}

pub struct LogsOptions {
    pub verbosity: u8,
}

// ANCHOR: extra_options
/// kube-apiserver's `Extra` options, the ones of the control plane itself, under `misc` in
/// `--help`.
pub struct Extra {
    /// `--service-cluster-ip-range`; empty means kube-apiserver's default, 10.0.0.0/24.
    pub service_cluster_ip_range: String,
    /// `--service-node-port-range`.
    pub service_node_port_range: String,
    /// `--proxy-client-cert-file` / `--proxy-client-key-file`: who the aggregator is to the
    /// extension API servers it proxies to; generated into `--cert-dir` when not given.
    pub proxy_client_cert_file: Option<PathBuf>,
    pub proxy_client_key_file: Option<PathBuf>,
}

/// `DefaultServiceIPCIDR` in kube-apiserver.
pub const DEFAULT_SERVICE_IP_CIDR: &str = "10.0.0.0/24";
// ANCHOR_END: extra_options

/// Options after `complete`: the only form `Run` accepts, as in kube-apiserver.
pub struct CompletedOptions(pub ServerRunOptions);

impl std::ops::Deref for CompletedOptions {
    type Target = ServerRunOptions;
    fn deref(&self) -> &ServerRunOptions {
        &self.0
    }
}

pub const STORAGE_BACKENDS: &[&str] = &["embedded", "etcd3"];
pub use crate::config::authorization::MODES as AUTHORIZATION_MODES;

/// Comma lists that may also be repeated: `--x=a,b --x=c` is `[a, b, c]`.
fn push_list(list: &mut Vec<String>, value: &str) {
    list.extend(
        value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from),
    );
}

fn parse_bool(v: &str) -> Result<bool, String> {
    match v {
        "true" | "1" | "t" | "T" | "TRUE" | "True" => Ok(true),
        "false" | "0" | "f" | "F" | "FALSE" | "False" => Ok(false),
        _ => Err("strconv.ParseBool: parsing: invalid syntax".into()),
    }
}

fn parse_ip(v: &str) -> Result<IpAddr, String> {
    v.parse().map_err(|_| "failed to parse IP".to_string())
}

fn parse_int<T: std::str::FromStr>(v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| "strconv.ParseInt: parsing: invalid syntax".to_string())
}

impl Default for ServerRunOptions {
    fn default() -> Self {
        ServerRunOptions::new()
    }
}

impl ServerRunOptions {
    /// `NewServerRunOptions`: the defaults.
    pub fn new() -> ServerRunOptions {
        ServerRunOptions {
            generic: GenericServerRunOptions {
                advertise_address: None,
                external_hostname: String::new(),
                max_requests_inflight: 400,
                max_mutating_requests_inflight: 200,
                min_request_timeout: 1800,
                request_timeout: Duration::from_secs(60),
                shutdown_delay_duration: Duration::ZERO,
                shutdown_send_retry_after: false,
            },
            etcd: EtcdOptions {
                // Chosen in `complete`: etcd3 if `--etcd-servers` names any, else embedded.
                storage_backend: String::new(),
                etcd_servers: Vec::new(),
                etcd_prefix: "/registry".into(),
                watch_cache_size: 100,
                compaction_interval: Duration::from_secs(300),
            },
            secure_serving: SecureServingOptions {
                bind_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
                secure_port: 6443,
                cert_dir: PathBuf::from("apiserver.local.config/certificates"),
                tls_cert_file: None,
                tls_private_key_file: None,
                insecure_port: 0,
                insecure_bind_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            },
            authentication: AuthenticationOptions {
                anonymous_auth: true,
                token_auth_file: None,
                client_ca_file: None,
                request_header: RequestHeaderAuthenticationOptions::default(),
            },
            authorization: AuthorizationOptions {
                modes: vec!["RBAC".into()],
                policy_file: None,
            },
            admission: AdmissionOptions {
                enable_plugins: Vec::new(),
                disable_plugins: Vec::new(),
            },
            audit: AuditOptions {
                policy_file: None,
                log_path: None,
                log_format: "json".into(),
            },
            logs: LogsOptions { verbosity: 0 },
            extra: Extra {
                service_cluster_ip_range: String::new(),
                service_node_port_range: "30000-32767".into(),
                proxy_client_cert_file: None,
                proxy_client_key_file: None,
            },
        }
    }

    // ANCHOR: named_flag_sets
    /// `ServerRunOptions.Flags()`: every option group adds its flags to its own set, in the order
    /// `--help` shows them.
    pub fn flags(&self) -> NamedFlagSets {
        let mut fss = NamedFlagSets::default();
        self.generic.add_flags(&mut fss);
        self.etcd.add_flags(&mut fss);
        self.secure_serving.add_flags(&mut fss);
        self.authentication.add_flags(&mut fss);
        self.authorization.add_flags(&mut fss);
        self.admission.add_flags(&mut fss);
        self.audit.add_flags(&mut fss);
        self.logs.add_flags(&mut fss);
        self.extra.add_flags(&mut fss);
        let global = fss.flag_set("global");
        global.add(
            "help",
            "",
            "false",
            "help for mini-apiserver",
            |_, _| Ok(()),
        );
        global.add(
            "version",
            "",
            "false",
            "Print version information and quit",
            |_, _| Ok(()),
        );
        fss
    }
    // ANCHOR_END: named_flag_sets

    // ANCHOR: complete
    /// `Complete`: fills what depends on other flags.
    pub fn complete(self) -> CompletedOptions {
        let mut o = self;
        // The advertise address defaults to the bind address, as in kube-apiserver.
        if o.generic.advertise_address.is_none() && !o.secure_serving.bind_address.is_unspecified()
        {
            o.generic.advertise_address = Some(o.secure_serving.bind_address);
        }
        if o.generic.external_hostname.is_empty() {
            if let Some(ip) = o.generic.advertise_address {
                o.generic.external_hostname = ip.to_string();
            }
        }
        // kube's one backend is etcd3; here `--etcd-servers` is what asks for it.
        if o.etcd.storage_backend.is_empty() {
            let chosen = if o.etcd.etcd_servers.is_empty() {
                "embedded"
            } else {
                "etcd3"
            };
            o.etcd.storage_backend = chosen.into();
        }
        // `getServiceIPAndRanges`: no range given is the default range.
        if o.extra.service_cluster_ip_range.is_empty() {
            o.extra.service_cluster_ip_range = DEFAULT_SERVICE_IP_CIDR.into();
        }
        CompletedOptions(o)
    }
    // ANCHOR_END: complete
}

impl CompletedOptions {
    // ANCHOR: validate
    /// `Validate`: every error at once, each naming its flag.
    pub fn validate(&self) -> Vec<String> {
        let mut errs = Vec::new();
        let e = &self.etcd;
        if !STORAGE_BACKENDS.contains(&e.storage_backend.as_str()) {
            errs.push(format!(
                "--storage-backend {:?} is not one of: {}",
                e.storage_backend,
                STORAGE_BACKENDS.join(", ")
            ));
        }
        if e.storage_backend == "etcd3" && e.etcd_servers.is_empty() {
            errs.push("--etcd-servers must be specified when --storage-backend is etcd3".into());
        }
        if e.storage_backend == "embedded" && !e.etcd_servers.is_empty() {
            errs.push("--etcd-servers cannot be used with --storage-backend=embedded".into());
        }
        for server in &e.etcd_servers {
            if let Err(why) = crate::storage::etcd::parse_server(server) {
                errs.push(format!("--etcd-servers: {why}"));
            }
        }
        if !e.etcd_prefix.starts_with('/') {
            errs.push(format!(
                "--etcd-prefix {:?} must start with /",
                e.etcd_prefix
            ));
        }
        if e.watch_cache_size < 1 {
            errs.push("--default-watch-cache-size must be at least 1".into());
        }
        let s = &self.secure_serving;
        if s.tls_cert_file.is_some() != s.tls_private_key_file.is_some() {
            errs.push("--tls-cert-file and --tls-private-key-file must be given together".into());
        }
        errs.extend(self.authentication.validate());
        if self.authorization.modes.is_empty() {
            errs.push("--authorization-mode must name at least one mode".into());
        }
        for m in &self.authorization.modes {
            if !AUTHORIZATION_MODES.contains(&m.as_str()) {
                errs.push(format!(
                    "--authorization-mode {m:?} is not one of: {}",
                    AUTHORIZATION_MODES.join(", ")
                ));
            }
        }
        let z = &self.authorization;
        let abac = z.modes.iter().any(|m| m == "ABAC");
        if abac && z.policy_file.is_none() {
            errs.push("authorization-mode ABAC's authorization policy file not passed".into());
        }
        if !abac && z.policy_file.is_some() {
            errs.push("cannot specify --authorization-policy-file without mode ABAC".into());
        }
        let a = &self.admission;
        errs.extend(crate::config::admission::validate_plugin_names(
            &a.enable_plugins,
            &a.disable_plugins,
        ));
        // `AuditLogOptions.Validate`; legacy, the other format Go knows, is not built.
        if self.audit.log_format != "json" {
            errs.push(format!(
                "invalid audit log format {}, allowed formats are \"json\"",
                self.audit.log_format
            ));
        }
        let x = &self.extra;
        if let Err(e) = ServiceIPRange::parse(&x.service_cluster_ip_range) {
            errs.push(format!("--service-cluster-ip-range: {e}"));
        }
        if let Err(e) = PortRange::parse(&x.service_node_port_range) {
            errs.push(format!("--service-node-port-range: {e}"));
        }
        errs
    }
    // ANCHOR_END: validate
}

impl GenericServerRunOptions {
    fn add_flags(&self, fss: &mut NamedFlagSets) {
        let fs = fss.flag_set("generic");
        fs.add("advertise-address", "ip", "", "The IP address on which to advertise the apiserver to members of the cluster. If blank, the --bind-address will be used.", |o, v| {
            o.generic.advertise_address = Some(parse_ip(v)?);
            Ok(())
        });
        fs.add(
            "external-hostname",
            "string",
            "",
            "The hostname to use when generating externalized URLs for this master.",
            |o, v| {
                o.generic.external_hostname = v.into();
                Ok(())
            },
        );
        fs.add("max-requests-inflight", "int", self.max_requests_inflight, "The maximum number of requests in flight at a given time. When the server exceeds this, it rejects requests. Zero for no limit.", |o, v| {
            o.generic.max_requests_inflight = parse_int(v)?;
            Ok(())
        });
        fs.add("max-mutating-requests-inflight", "int", self.max_mutating_requests_inflight, "The maximum number of mutating requests in flight at a given time. When the server exceeds this, it rejects requests. Zero for no limit.", |o, v| {
            o.generic.max_mutating_requests_inflight = parse_int(v)?;
            Ok(())
        });
        fs.add("min-request-timeout", "int", self.min_request_timeout, "An optional field indicating the minimum number of seconds a handler must keep a request open before timing it out. Currently only honored by the watch request handler, which picks a randomized value above this number as the connection timeout, to spread out load.", |o, v| {
            o.generic.min_request_timeout = parse_int(v)?;
            Ok(())
        });
        fs.add(
            "request-timeout",
            "duration",
            format_duration(self.request_timeout),
            "An optional field indicating the duration a handler must keep a request open before timing it out. This is the default request timeout for requests but may be overridden by flags such as --min-request-timeout for specific types of requests.",
            |o, v| {
                o.generic.request_timeout = parse_duration(v)?;
                Ok(())
            },
        );
        fs.add("shutdown-delay-duration", "duration", format_duration(self.shutdown_delay_duration), "Time to delay the termination. During that time the server keeps serving requests normally while /readyz returns failure.", |o, v| {
            o.generic.shutdown_delay_duration = parse_duration(v)?;
            Ok(())
        });
        fs.add("shutdown-send-retry-after", "", self.shutdown_send_retry_after, "If true the HTTP Server will continue listening until all non long running request(s) in flight have been drained, during this window all incoming requests will be rejected with a status code 429 and a 'Retry-After' response header, in addition 'Connection: close' response header is set in order to tear down the TCP connection when idle.", |o, v| {
            o.generic.shutdown_send_retry_after = parse_bool(v)?;
            Ok(())
        });
    }
}

impl EtcdOptions {
    fn add_flags(&self, fss: &mut NamedFlagSets) {
        let fs = fss.flag_set("etcd");
        fs.add("storage-backend", "string", &self.storage_backend, "The storage backend for persistence. Options: 'etcd3' (the default when --etcd-servers is given), 'embedded' (in memory, the default otherwise).", |o, v| {
            o.etcd.storage_backend = v.into();
            Ok(())
        });
        fs.add(
            "etcd-servers",
            "strings",
            "[]",
            "List of etcd servers to connect with (http://ip:port), comma separated. The first that answers at start is used; a request moves down the list when its server cannot be reached.",
            |o, v| {
                push_list(&mut o.etcd.etcd_servers, v);
                Ok(())
            },
        );
        fs.add(
            "etcd-prefix",
            "string",
            &self.etcd_prefix,
            "The prefix to prepend to all resource paths in etcd.",
            |o, v| {
                o.etcd.etcd_prefix = v.into();
                Ok(())
            },
        );
        fs.add("etcd-compaction-interval", "duration", format_duration(self.compaction_interval), "How often to compact etcd's history to the revision of the interval before. If 0, this server never compacts etcd.", |o, v| {
            o.etcd.compaction_interval = parse_duration(v)?;
            Ok(())
        });
        fs.add("default-watch-cache-size", "int", self.watch_cache_size, "How many events the embedded store keeps so that a watch can start from an older resourceVersion.", |o, v| {
            o.etcd.watch_cache_size = parse_int(v)?;
            Ok(())
        });
    }
}

impl SecureServingOptions {
    fn add_flags(&self, fss: &mut NamedFlagSets) {
        let fs = fss.flag_set("secure serving");
        fs.add(
            "bind-address",
            "ip",
            self.bind_address,
            "The IP address on which to listen for the --secure-port port.",
            |o, v| {
                o.secure_serving.bind_address = parse_ip(v)?;
                Ok(())
            },
        );
        fs.add("secure-port", "int", self.secure_port, "The port on which to serve HTTPS with authentication and authorization. 0 picks a free port.", |o, v| {
            o.secure_serving.secure_port = v.parse().map_err(|_| "must be a port number between 0 and 65535".to_string())?;
            Ok(())
        });
        fs.add("insecure-port", "int", self.insecure_port, "The port on which to serve unsecured, unauthenticated access. 0 turns it off. (DEPRECATED: kube-apiserver removed it in v1.24.)", |o, v| {
            o.secure_serving.insecure_port = v.parse().map_err(|_| "must be a port number between 0 and 65535".to_string())?;
            Ok(())
        });
        fs.add("insecure-bind-address", "ip", self.insecure_bind_address, "The IP address on which to serve the --insecure-port (set to 0.0.0.0 for all IPv4 interfaces and :: for all IPv6 interfaces). (DEPRECATED: removed with --insecure-port.)", |o, v| {
            o.secure_serving.insecure_bind_address = v.parse().map_err(|_| format!("invalid IP address {v:?}"))?;
            Ok(())
        });
        fs.add("cert-dir", "string", self.cert_dir.display(), "The directory where the TLS certs are located. If --tls-cert-file and --tls-private-key-file are provided, this flag will be ignored.", |o, v| {
            o.secure_serving.cert_dir = v.into();
            Ok(())
        });
        fs.add("tls-cert-file", "string", "", "File containing the default x509 certificate for HTTPS (CA cert, if any, concatenated after server cert).", |o, v| {
            o.secure_serving.tls_cert_file = Some(v.into());
            Ok(())
        });
        fs.add(
            "tls-private-key-file",
            "string",
            "",
            "File containing the default x509 private key matching --tls-cert-file.",
            |o, v| {
                o.secure_serving.tls_private_key_file = Some(v.into());
                Ok(())
            },
        );
    }
}

impl AuthenticationOptions {
    fn add_flags(&self, fss: &mut NamedFlagSets) {
        let fs = fss.flag_set("authentication");
        fs.add("anonymous-auth", "", self.anonymous_auth, "Enables anonymous requests to the secure port of the API server. Requests that are not rejected by another authentication method are treated as anonymous requests.", |o, v| {
            o.authentication.anonymous_auth = parse_bool(v)?;
            Ok(())
        });
        fs.add("token-auth-file", "string", "", "If set, the file that will be used to secure the secure port of the API server via token authentication.", |o, v| {
            o.authentication.token_auth_file = Some(v.into());
            Ok(())
        });
        // ANCHOR: authentication_flags
        fs.add("client-ca-file", "string", "", "A PEM bundle of certificate authorities. A client that presents a certificate signed by one of them is the user named by its CommonName, in the groups named by its Organizations.", |o, v| {
            o.authentication.client_ca_file = Some(v.into());
            Ok(())
        });
        fs.add("requestheader-allowed-names", "strings", "[]", "CommonNames a front proxy's client certificate may carry to be believed about the user in the request headers. Empty: any certificate signed by --requestheader-client-ca-file.", |o, v| {
            push_list(&mut o.authentication.request_header.allowed_names, v);
            Ok(())
        });
        fs.add("requestheader-client-ca-file", "string", "", "A PEM bundle of the authorities that sign front-proxy client certificates. Only a request over a connection with such a certificate may name its user in the --requestheader-username-headers.", |o, v| {
            o.authentication.request_header.client_ca_file = Some(v.into());
            Ok(())
        });
        fs.add("requestheader-extra-headers-prefix", "strings", "[]", "Header prefixes whose headers carry the user's extra attributes, the rest of the header name being the key. X-Remote-Extra- is the usual one.", |o, v| {
            push_list(&mut o.authentication.request_header.extra_headers_prefix, v);
            Ok(())
        });
        fs.add("requestheader-group-headers", "strings", "[]", "Request headers that carry the user's groups, every value of each. X-Remote-Group is the usual one.", |o, v| {
            push_list(&mut o.authentication.request_header.group_headers, v);
            Ok(())
        });
        fs.add("requestheader-uid-headers", "strings", "[]", "Request headers that carry the user's UID, the first non-empty one winning. X-Remote-Uid is the usual one.", |o, v| {
            push_list(&mut o.authentication.request_header.uid_headers, v);
            Ok(())
        });
        fs.add("requestheader-username-headers", "strings", "[]", "Request headers that carry the user name, the first non-empty one winning. X-Remote-User is the usual one, and the one the aggregator sends.", |o, v| {
            push_list(&mut o.authentication.request_header.username_headers, v);
            Ok(())
        });
        // ANCHOR_END: authentication_flags
    }

    /// The files must be readable at start, not only at the first request that needs them.
    fn validate(&self) -> Vec<String> {
        let mut errs = Vec::new();
        let rh = &self.request_header;
        let files = [
            ("--token-auth-file", &self.token_auth_file),
            ("--client-ca-file", &self.client_ca_file),
            ("--requestheader-client-ca-file", &rh.client_ca_file),
        ];
        for (flag, file) in files {
            if let Some(path) = file {
                if let Err(e) = std::fs::read(path) {
                    errs.push(format!("{flag} {}: {e}", path.display()));
                }
            }
        }
        if !rh.username_headers.is_empty()
            && !rh
                .username_headers
                .iter()
                .any(|h| h.eq_ignore_ascii_case("X-Remote-User"))
        {
            log::warn!("--requestheader-username-headers is set without specifying the standard X-Remote-User header - API aggregation will not work");
        }
        errs
    }
}

impl AuthorizationOptions {
    fn add_flags(&self, fss: &mut NamedFlagSets) {
        let fs = fss.flag_set("authorization");
        fs.add("authorization-mode", "strings", format!("[{}]", self.modes.join(",")), "Ordered list of plug-ins to do authorization on secure port. Comma-delimited list of: AlwaysAllow,AlwaysDeny,ABAC,RBAC.", |o, v| {
            // The first use of the flag replaces the default; later uses append.
            if o.authorization.modes == ["RBAC"] {
                o.authorization.modes.clear();
            }
            push_list(&mut o.authorization.modes, v);
            Ok(())
        });
        fs.add("authorization-policy-file", "string", "", "File with authorization policy in json line by line format, used with --authorization-mode=ABAC, on the secure port.", |o, v| {
            o.authorization.policy_file = Some(v.into());
            Ok(())
        });
    }
}

impl AdmissionOptions {
    fn add_flags(&self, fss: &mut NamedFlagSets) {
        let fs = fss.flag_set("admission");
        fs.add("enable-admission-plugins", "strings", "[]", "Admission plugins to turn on besides the default ones (NamespaceLifecycle, LimitRanger, ServiceAccount, ResourceQuota). Comma-separated; the plugins known are AlwaysAdmit, NamespaceAutoProvision, NamespaceLifecycle, NamespaceExists, LimitRanger, ServiceAccount, AlwaysPullImages, ResourceQuota, AlwaysDeny. They run in that fixed order, whatever order this flag names them in.", |o, v| {
            push_list(&mut o.admission.enable_plugins, v);
            Ok(())
        });
        fs.add("disable-admission-plugins", "strings", "[]", "Admission plugins to turn off although they are on by default (NamespaceLifecycle, LimitRanger, ServiceAccount, ResourceQuota). Comma-separated; the plugins known are AlwaysAdmit, NamespaceAutoProvision, NamespaceLifecycle, NamespaceExists, LimitRanger, ServiceAccount, AlwaysPullImages, ResourceQuota, AlwaysDeny. Naming a plugin here and in --enable-admission-plugins is an error.", |o, v| {
            push_list(&mut o.admission.disable_plugins, v);
            Ok(())
        });
    }
}

impl AuditOptions {
    fn add_flags(&self, fss: &mut NamedFlagSets) {
        let fs = fss.flag_set("auditing");
        fs.add("audit-log-format", "string", &self.log_format, "Format of saved audits. Known formats are: json. json is one JSON Event per line (kube-apiserver also knows legacy).", |o, v| {
            o.audit.log_format = v.into();
            Ok(())
        });
        fs.add("audit-log-path", "string", "", "If set, all requests coming to the apiserver will be logged to this file.  '-' means standard out.", |o, v| {
            o.audit.log_path = Some(v.into());
            Ok(())
        });
        fs.add("audit-policy-file", "string", "", "Path to the file that defines the audit policy configuration (audit.k8s.io/v1 Policy, in JSON).", |o, v| {
            o.audit.policy_file = Some(v.into());
            Ok(())
        });
    }
}

impl LogsOptions {
    fn add_flags(&self, fss: &mut NamedFlagSets) {
        let fs = fss.flag_set("logs");
        fs.add(
            "v",
            "Level",
            self.verbosity,
            "number for the log level verbosity",
            |o, v| {
                o.logs.verbosity = parse_int(v)?;
                Ok(())
            },
        );
    }
}

impl Extra {
    fn add_flags(&self, fss: &mut NamedFlagSets) {
        let fs = fss.flag_set("misc");
        fs.add("service-cluster-ip-range", "string", "", "A CIDR notation IP range from which to assign service cluster IPs. This must not overlap with any IP ranges assigned to nodes or pods. Only one IPv4 range is supported here (kube-apiserver also takes IPv6 and a dual-stack pair). Defaults to 10.0.0.0/24.", |o, v| {
            o.extra.service_cluster_ip_range = v.into();
            Ok(())
        });
        fs.add("service-node-port-range", "portRange", &self.service_node_port_range, "A port range to reserve for services with NodePort visibility.  This must not overlap with the ephemeral port range on nodes.  Example: '30000-32767'. Inclusive at both ends of the range.", |o, v| {
            o.extra.service_node_port_range = v.into();
            Ok(())
        });
        fs.add("proxy-client-cert-file", "string", "", "Client certificate used to prove the identity of the aggregator or kube-apiserver when it must call out during a request. This includes proxying requests to a user api-server and calling out to webhook admission plugins. It is expected that this cert includes a signature from the CA in the --requestheader-client-ca-file flag. That CA is published in the 'extension-apiserver-authentication' configmap in the kube-system namespace. Components receiving calls from kube-aggregator should use that CA to perform their half of the mutual TLS verification. Without it, a front-proxy CA and a client certificate for front-proxy-client are generated in --cert-dir.", |o, v| {
            o.extra.proxy_client_cert_file = Some(v.into());
            Ok(())
        });
        fs.add("proxy-client-key-file", "string", "", "Private key for the client certificate used to prove the identity of the aggregator or kube-apiserver when it must call out during a request. This includes proxying requests to a user api-server and calling out to webhook admission plugins.", |o, v| {
            o.extra.proxy_client_key_file = Some(v.into());
            Ok(())
        });
    }
}
