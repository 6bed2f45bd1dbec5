//! `/version`: what `kubectl version` prints as the server version. Mirrors
//! `k8s.io/apiserver/pkg/endpoints/handlers/version.go` with the fields of `version.Info`.
//!
//! We report the Kubernetes API version we follow (1.36, the one the wire reference was recorded
//! against) and name ourselves in `gitVersion`'s build metadata, so `kubectl version` shows both.

use serde_json::json;

use crate::http::{Handler, Request, Response};

pub const KUBERNETES_MAJOR: &str = "1";
pub const KUBERNETES_MINOR: &str = "36";

pub struct VersionHandler;

pub fn git_version() -> String {
    format!(
        "v{KUBERNETES_MAJOR}.{KUBERNETES_MINOR}.0+mini-apiserver.{}",
        env!("CARGO_PKG_VERSION")
    )
}

impl Handler for VersionHandler {
    fn serve(&self, _req: &mut Request) -> Response {
        let platform = format!(
            "{}/{}",
            std::env::consts::OS,
            match std::env::consts::ARCH {
                "x86_64" => "amd64",
                "aarch64" => "arm64",
                other => other,
            }
        );
        Response::json(
            200,
            &json!({
                "major": KUBERNETES_MAJOR,
                "minor": KUBERNETES_MINOR,
                "emulationMajor": KUBERNETES_MAJOR,
                "emulationMinor": KUBERNETES_MINOR,
                "minCompatibilityMajor": KUBERNETES_MAJOR,
                "minCompatibilityMinor": "35",
                "gitVersion": git_version(),
                "gitCommit": "",
                "gitTreeState": "",
                "buildDate": "",
                "goVersion": "",
                "compiler": "rustc",
                "platform": platform,
            }),
        )
    }
}
