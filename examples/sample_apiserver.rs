//! An extension API server built from this crate's pieces, like kubernetes' sample-apiserver:
//! `wardle.example.com/v1alpha1` Flunder (namespaced) and Fischer (cluster-scoped), in one
//! `GenericAPIServer` over embedded storage, reached through mini-apiserver's aggregator.
//!
//! Run (with mini-apiserver already running, its cert dir in `$MINI`):
//!
//! ```text
//! cargo run --example sample_apiserver -- --secure-port=8443 --cert-dir=/tmp/wardle \
//!     --kubeconfig=$MINI/admin.kubeconfig
//! ```
//!
//! Like the real one, it learns whom to believe from mini-apiserver's
//! `kube-system/extension-apiserver-authentication` ConfigMap (the front-proxy CA, the allowed
//! names, the header names), read over the kubeconfig; `--requestheader-client-ca-file` and the
//! other `--requestheader-*` flags may be given instead. Every other flag is mini-apiserver's.
//!
//! Authorization is a shortcut: anonymous requests are refused and every authenticated user
//! (in practice, the users the front proxy vouches for, already authorized by mini-apiserver)
//! may do anything. kube's sample server asks mini-apiserver with a SubjectAccessReview instead.

use std::ffi::OsString;
use std::sync::Arc;

use serde_json::Value;

use mini_apiserver::apis::{age_cell, AGE_COLUMN};
use mini_apiserver::cmd::{new_api_server_command, Command};
use mini_apiserver::http::client::{send, ClientRequest, TlsClientConfig};
use mini_apiserver::http::conn::ConnLimits;
use mini_apiserver::prepare::PrepareRun;
use mini_apiserver::scheme::meta::StatusCause;
use mini_apiserver::scheme::schema::{field, Struct, Type, METADATA_DOC, OBJECT_META};
use mini_apiserver::scheme::{invalid, ResourceDef, Scheme, Strategy, TableColumn, ALL_VERBS};
use mini_apiserver::server::generic::{APIGroupInfo, GenericAPIServer, NotFound};
use mini_apiserver::server::{new_store, resource_handler};

const GROUP: &str = "wardle.example.com";
const VERSION: &str = "v1alpha1";

static FLUNDER: Struct = Struct {
    name: "com.example.wardle.v1alpha1.Flunder",
    description: "A flunder, which may refer to another flunder or to a fischer.",
    fields: &[
        field(1, "metadata", Type::Struct(&OBJECT_META), METADATA_DOC),
        field(
            2,
            "spec",
            Type::Any,
            "`reference` and `referenceType` (Flunder or Fischer).",
        ),
        field(3, "status", Type::Any, "Nothing yet."),
    ],
};

static FISCHER: Struct = Struct {
    name: "com.example.wardle.v1alpha1.Fischer",
    description: "A fischer, with the flunders it will not have.",
    fields: &[
        field(1, "metadata", Type::Struct(&OBJECT_META), METADATA_DOC),
        field(
            2,
            "disallowedFlunders",
            Type::Any,
            "Names no flunder may have.",
        ),
    ],
};

struct FlunderStrategy;

impl Strategy for FlunderStrategy {
    /// sample-apiserver's `ValidateFlunderSpec`: a reference names its type, and only a known one.
    fn validate(&self, obj: &Value) -> Vec<StatusCause> {
        let spec = &obj["spec"];
        let kind = spec["referenceType"].as_str().unwrap_or("");
        let reference = spec["reference"].as_str().unwrap_or("");
        match kind {
            "" if !reference.is_empty() => vec![invalid(
                "spec.referenceType",
                &spec["referenceType"],
                "must be Flunder or Fischer when a reference is set",
            )],
            "" | "Flunder" | "Fischer" => Vec::new(),
            _ => vec![invalid(
                "spec.referenceType",
                &spec["referenceType"],
                "must be Flunder or Fischer",
            )],
        }
    }

    fn table_columns(&self) -> Vec<TableColumn> {
        vec![AGE_COLUMN]
    }

    fn table_cells(&self, obj: &Value) -> Vec<Value> {
        vec![age_cell(obj)]
    }
}

struct FischerStrategy;

impl Strategy for FischerStrategy {
    fn validate(&self, obj: &Value) -> Vec<StatusCause> {
        match &obj["disallowedFlunders"] {
            Value::Null => Vec::new(),
            Value::Array(names) if names.iter().all(Value::is_string) => Vec::new(),
            other => vec![invalid(
                "disallowedFlunders",
                other,
                "must be a list of names",
            )],
        }
    }

    fn table_columns(&self) -> Vec<TableColumn> {
        vec![AGE_COLUMN]
    }

    fn table_cells(&self, obj: &Value) -> Vec<Value> {
        vec![age_cell(obj)]
    }
}

fn wardle_scheme() -> Scheme {
    let mut scheme = Scheme::default();
    scheme.add_known_type(ResourceDef {
        group: GROUP.into(),
        version: VERSION.into(),
        kind: "Flunder".into(),
        resource: "flunders".into(),
        singular: "flunder".into(),
        namespaced: true,
        short_names: Vec::new(),
        categories: Vec::new(),
        verbs: ALL_VERBS,
        schema: &FLUNDER,
        selectable_fields: &[],
        subresources: &[],
        strategy: Arc::new(FlunderStrategy),
    });
    scheme.add_known_type(ResourceDef {
        group: GROUP.into(),
        version: VERSION.into(),
        kind: "Fischer".into(),
        resource: "fischers".into(),
        singular: "fischer".into(),
        namespaced: false,
        short_names: Vec::new(),
        categories: Vec::new(),
        verbs: ALL_VERBS,
        schema: &FISCHER,
        selectable_fields: &[],
        subresources: &[],
        strategy: Arc::new(FischerStrategy),
    });
    scheme
}

/// The cluster's address, CA and token from a kubeconfig as mini-apiserver writes it.
fn read_kubeconfig(path: &str) -> Result<(String, u16, Vec<u8>, String), String> {
    use base64::Engine;
    let text = std::fs::read_to_string(path).map_err(|e| format!("--kubeconfig {path}: {e}"))?;
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(key).map(|v| v.trim().to_string()))
            .ok_or(format!("--kubeconfig {path}: no {key}"))
    };
    let server = value("server:")?;
    let hostport = server
        .strip_prefix("https://")
        .ok_or(format!("--kubeconfig {path}: the server must be https"))?;
    let (host, port) = hostport
        .rsplit_once(':')
        .ok_or(format!("--kubeconfig {path}: the server has no port"))?;
    let ca = base64::engine::general_purpose::STANDARD
        .decode(value("certificate-authority-data:")?)
        .map_err(|e| format!("--kubeconfig {path}: {e}"))?;
    Ok((
        host.trim_matches(['[', ']']).to_string(),
        port.parse()
            .map_err(|_| format!("--kubeconfig {path}: bad port"))?,
        ca,
        value("token:")?,
    ))
}

/// sample-apiserver's `DelegatingAuthenticationOptions`: the request-header settings from
/// `kube-system/extension-apiserver-authentication`, as flags, the CA written into `cert_dir`.
fn requestheader_flags(kubeconfig: &str, cert_dir: &str) -> Result<Vec<String>, String> {
    let (host, port, ca, token) = read_kubeconfig(kubeconfig)?;
    let tls = TlsClientConfig {
        ca_bundle: Some(ca),
        insecure: false,
        client_cert: None,
    }
    .rustls()?;
    let answer = send(
        &host,
        port,
        tls,
        &ClientRequest {
            method: "GET",
            target: "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication",
            headers: vec![("Authorization".into(), format!("Bearer {token}"))],
            body: b"",
        },
    )?;
    let status = answer.status;
    let cm: Value =
        serde_json::from_slice(&answer.read_all(1 << 20)?).map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!(
            "reading kube-system/extension-apiserver-authentication: {}",
            cm["message"]
        ));
    }
    let data = &cm["data"];
    let ca_pem = data["requestheader-client-ca-file"]
        .as_str()
        .ok_or("extension-apiserver-authentication has no requestheader-client-ca-file")?;
    std::fs::create_dir_all(cert_dir).map_err(|e| format!("--cert-dir {cert_dir}: {e}"))?;
    let ca_file = format!("{cert_dir}/requestheader-client-ca.crt");
    std::fs::write(&ca_file, ca_pem).map_err(|e| format!("{ca_file}: {e}"))?;
    let mut flags = vec![format!("--requestheader-client-ca-file={ca_file}")];
    for (key, flag) in [
        (
            "requestheader-allowed-names",
            "--requestheader-allowed-names",
        ),
        (
            "requestheader-username-headers",
            "--requestheader-username-headers",
        ),
        (
            "requestheader-group-headers",
            "--requestheader-group-headers",
        ),
        (
            "requestheader-extra-headers-prefix",
            "--requestheader-extra-headers-prefix",
        ),
    ] {
        let list: Vec<String> = data[key]
            .as_str()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        if !list.is_empty() {
            flags.push(format!("{flag}={}", list.join(",")));
        }
    }
    Ok(flags)
}

fn build_sample_server(
    config: &mini_apiserver::config::Config,
    external: &str,
) -> Box<dyn PrepareRun> {
    let mut server =
        GenericAPIServer::new("sample-apiserver", Arc::new(NotFound), external.to_string());
    let flunders = new_store(config, GROUP, VERSION, "flunders");
    let fischers = new_store(config, GROUP, VERSION, "fischers");
    server.install_api_group(APIGroupInfo {
        group: GROUP,
        version: VERSION,
        resources: vec![
            resource_handler(config, flunders),
            resource_handler(config, fischers),
        ],
    });
    Box::new(server)
}

fn main() {
    // Before the first may socket (reading the ConfigMap), which would start may as it is.
    mini_apiserver::run::init_runtime();
    let mut kubeconfig = None;
    let mut cert_dir = String::from("apiserver.local.config/certificates");
    let mut args: Vec<OsString> = Vec::new();
    for arg in std::env::args().skip(1) {
        if let Some(path) = arg.strip_prefix("--kubeconfig=") {
            kubeconfig = Some(path.to_string());
            continue;
        }
        if let Some(dir) = arg.strip_prefix("--cert-dir=") {
            cert_dir = dir.to_string();
        }
        args.push(arg.into());
    }
    let given_ca = args.iter().any(|a| {
        a.to_string_lossy()
            .starts_with("--requestheader-client-ca-file")
    });
    // Only the front proxy's users get in, so AlwaysAllow is "whatever mini-apiserver allowed".
    // Namespaces live in mini-apiserver, not here: kube's sample server checks them there through
    // an informer; this one takes any namespace the caller names. The other default-on plugins
    // are kube-apiserver's, not the generic server's kube's sample builds on, and read kinds
    // (service accounts, limit ranges, quotas) this server does not serve.
    let mut flags: Vec<OsString> = vec![
        "--anonymous-auth=false".into(),
        "--authorization-mode=AlwaysAllow".into(),
        "--disable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,ResourceQuota"
            .into(),
    ];
    match (&kubeconfig, given_ca) {
        (_, true) => {}
        (Some(path), false) => match requestheader_flags(path, &cert_dir) {
            Ok(rh) => flags.extend(rh.into_iter().map(OsString::from)),
            Err(e) => {
                eprintln!("sample-apiserver: {e}");
                std::process::exit(1);
            }
        },
        (None, false) => {
            eprintln!(
                "sample-apiserver: --kubeconfig or --requestheader-client-ca-file is required"
            );
            std::process::exit(1);
        }
    }
    flags.extend(args);
    let opts = match new_api_server_command(flags) {
        Ok(Command::Run(opts)) => opts,
        Ok(_) => return,
        Err(e) => {
            eprintln!("sample-apiserver: {e}");
            std::process::exit(1);
        }
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info,may=warn"))
        .init();
    let server = mini_apiserver::run::start_with(
        &opts,
        Arc::new(wardle_scheme()),
        ConnLimits::default(),
        &build_sample_server,
    );
    match server {
        Ok(server) => {
            // The test that starts us reads the port from here (`--secure-port=0`).
            println!("sample-apiserver serving on {}", server.addr);
            loop {
                std::thread::park();
            }
        }
        Err(e) => {
            eprintln!("sample-apiserver: {e}");
            std::process::exit(1);
        }
    }
}
