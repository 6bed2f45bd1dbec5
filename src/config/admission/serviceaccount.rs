//! ServiceAccount (`plugin/pkg/admission/serviceaccount`): every pod runs as an account of its
//! namespace. A pod that names none runs as `default` (which the
//! `start-service-account-controller` hook makes in every namespace); a pod naming an account
//! that does not exist is refused; a pod without `imagePullSecrets` gets its account's.
//!
//! Left out of Go's plugin: mounting the account's token. Go adds a projected volume (a bound
//! token from the TokenRequest API, the CA bundle and the namespace) and mounts it into every
//! container at `/var/run/secrets/kubernetes.io/serviceaccount`. This server issues no
//! service-account tokens and its authenticator would not accept one, so such a volume would
//! promise a credential that never works; pods are stored without it. For the same reason the
//! `kubernetes.io/enforce-mountable-secrets` check, which is about what the token may read, is
//! not made.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::{AdmissionPlugin, Attributes, Clients, Operation};
use crate::registry::store::Store;
use crate::scheme::meta::StatusError;

pub const DEFAULT_SERVICE_ACCOUNT_NAME: &str = "default";

/// Static pods a kubelet reflects into the API carry this annotation.
const MIRROR_POD_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// How often the `default` account is looked for again: it is made by a controller just after
/// its namespace, so a pod created at once may arrive first (Go tries 10 times, 100-200 ms apart).
const DEFAULT_ACCOUNT_ATTEMPTS: u32 = 10;
const RETRY_INTERVAL: Duration = Duration::from_millis(150);

pub struct ServiceAccount {
    clients: Arc<Clients>,
}

impl ServiceAccount {
    pub fn new(clients: &Arc<Clients>) -> ServiceAccount {
        ServiceAccount {
            clients: Arc::clone(clients),
        }
    }

    /// `getServiceAccount`, with Go's error: `serviceaccount "x" not found`.
    fn service_account(&self, namespace: &str, name: &str) -> Result<Value, String> {
        let accounts = self.clients.service_accounts().map_err(|e| e.to_string())?;
        let attempts = if name == DEFAULT_SERVICE_ACCOUNT_NAME {
            DEFAULT_ACCOUNT_ATTEMPTS
        } else {
            1
        };
        lookup(&accounts, namespace, name, attempts)
    }
}

fn lookup(accounts: &Store, namespace: &str, name: &str, attempts: u32) -> Result<Value, String> {
    for attempt in 0..attempts {
        if attempt > 0 {
            // A coroutine sleep: it parks this request, not the worker thread.
            may::coroutine::sleep(RETRY_INTERVAL);
        }
        match accounts.get(namespace, name) {
            Ok(sa) => return Ok(sa),
            Err(e) if e.code() == 404 => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Err(format!("serviceaccount \"{name}\" not found"))
}

fn is_mirror_pod(pod: &Value) -> bool {
    pod["metadata"]["annotations"]
        .get(MIRROR_POD_ANNOTATION)
        .is_some()
}

/// Only creates of pods themselves (Go also checks the ephemeral containers' secrets on
/// `pods/ephemeralcontainers`, a subresource this server does not serve).
fn should_ignore(attrs: &Attributes) -> bool {
    !attrs.is("", "pods") || attrs.operation != Operation::Create
}

impl ServiceAccount {
    fn looked_up(&self, attrs: &Attributes, pod: &Value) -> Result<Value, StatusError> {
        let name = pod["spec"]["serviceAccountName"]
            .as_str()
            .unwrap_or_default();
        self.service_account(attrs.namespace, name).map_err(|e| {
            attrs.forbidden(
                pod,
                &format!(
                    "error looking up service account {}/{name}: {e}",
                    attrs.namespace
                ),
            )
        })
    }
}

impl AdmissionPlugin for ServiceAccount {
    // ANCHOR: service_account_admit
    fn admit(&self, attrs: &Attributes, pod: &mut Value) -> Result<(), StatusError> {
        if should_ignore(attrs) || is_mirror_pod(pod) || !pod["spec"].is_object() {
            return Ok(());
        }
        if pod["spec"]["serviceAccountName"]
            .as_str()
            .is_none_or(str::is_empty)
        {
            pod["spec"]["serviceAccountName"] = json!(DEFAULT_SERVICE_ACCOUNT_NAME);
        }
        let account = self.looked_up(attrs, pod)?;
        let pull_secrets = &account["imagePullSecrets"];
        let has_own = pod["spec"]["imagePullSecrets"]
            .as_array()
            .is_some_and(|s| !s.is_empty());
        if !has_own && pull_secrets.as_array().is_some_and(|s| !s.is_empty()) {
            pod["spec"]["imagePullSecrets"] = pull_secrets.clone();
        }
        Ok(())
    }

    fn validate(&self, attrs: &Attributes, pod: &Value) -> Result<(), StatusError> {
        if should_ignore(attrs) {
            return Ok(());
        }
        if is_mirror_pod(pod) {
            // A kubelet's static pod has no API identity to borrow.
            if !pod["spec"]["serviceAccountName"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
            {
                return Err(attrs.forbidden(pod, "a mirror pod may not reference service accounts"));
            }
            return Ok(());
        }
        self.looked_up(attrs, pod).map(|_| ())
    }
    // ANCHOR_END: service_account_admit
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::admin_user;
    use crate::config::admission::loopback_write_options;
    use crate::config::admission::{AdmissionChain, Stores};
    use crate::registry::store::Store;
    use crate::storage::embedded::EmbeddedStore;

    #[test]
    fn fills_default_copies_pull_secrets_and_refuses_missing_accounts() {
        let scheme = crate::apis::new_scheme();
        let storage: Arc<dyn crate::storage::Storage> = Arc::new(EmbeddedStore::new(100));
        let default_on = [
            "NamespaceLifecycle",
            "LimitRanger",
            "ServiceAccount",
            "ResourceQuota",
        ];
        let off: Vec<String> = default_on.iter().map(|s| s.to_string()).collect();
        let chain = Arc::new(AdmissionChain::new(&[], &off));
        let accounts = Arc::new(Store::new(
            scheme.lookup("", "v1", "serviceaccounts").unwrap(),
            Arc::clone(&storage),
            "/registry",
            chain,
        ));
        let opts = loopback_write_options();
        let sa = json!({"metadata": {"name": "default"}, "imagePullSecrets": [{"name": "reg"}]});
        accounts.create("ns", sa, &opts, &admin_user()).unwrap();
        let clients = Arc::new(Clients::default());
        clients
            .stores
            .set(Stores {
                namespaces: Default::default(),
                service_accounts: Arc::downgrade(&accounts),
                limit_ranges: Default::default(),
                resource_quotas: Default::default(),
            })
            .ok()
            .unwrap();
        let plugin = ServiceAccount::new(&clients);
        let def = scheme.lookup("", "v1", "pods").unwrap();
        let user = admin_user();
        let attrs = Attributes {
            operation: Operation::Create,
            def: &def,
            namespace: "ns",
            name: "p",
            subresource: "",
            old_object: None,
            dry_run: false,
            user: &user,
        };
        let mut pod = json!({"metadata": {"name": "p"}, "spec": {"containers": []}});
        plugin.admit(&attrs, &mut pod).unwrap();
        plugin.validate(&attrs, &pod).unwrap();
        assert_eq!(pod["spec"]["serviceAccountName"], "default");
        assert_eq!(pod["spec"]["imagePullSecrets"], json!([{"name": "reg"}]));

        let mut pod = json!({"metadata": {"name": "p"}, "spec": {"serviceAccountName": "robot"}});
        let err = plugin.admit(&attrs, &mut pod).unwrap_err();
        assert_eq!(err.code(), 403);
        assert_eq!(
            err.0.message,
            "pods \"p\" is forbidden: error looking up service account ns/robot: serviceaccount \"robot\" not found"
        );
    }
}
