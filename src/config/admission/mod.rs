//! Admission: the last say on a write, after authorization and before storage (book chapter 3).
//! Mirrors `k8s.io/apiserver/pkg/admission` (`Attributes`, `MutationInterface`,
//! `ValidationInterface`, the plugin chain), kube-apiserver's plugin list
//! (`pkg/kubeapiserver/options/plugins.go`: `AllOrderedPlugins`, `DefaultOffAdmissionPlugins`) and
//! its `--enable-admission-plugins` / `--disable-admission-plugins`.
//!
//! One module per plugin, as Go has one package per plugin under `plugin/pkg/admission/`:
//!
//! - [`admit`], [`deny`]: AlwaysAdmit and AlwaysDeny, the two trivial answers.
//! - [`namespace_autoprovision`], [`namespace_lifecycle`], [`namespace_exists`]: where an object
//!   may be created.
//! - [`limitranger`]: a namespace's LimitRanges, applied to the containers of each new pod.
//! - [`serviceaccount`]: the account a pod runs as, filled in and checked.
//! - [`alwayspullimages`]: every image pulled anew, with the puller's credentials.
//! - [`resourcequota`]: a namespace's ResourceQuotas, charged for each create.

pub mod admit;
pub mod alwayspullimages;
pub mod deny;
pub mod limitranger;
pub mod namespace_autoprovision;
pub mod namespace_exists;
pub mod namespace_lifecycle;
pub mod resourcequota;
pub mod serviceaccount;

use std::sync::{Arc, OnceLock, Weak};

use serde_json::Value;

use crate::config::authentication::UserInfo;
use crate::registry::store::Store;
use crate::scheme::codec::FieldValidation;
use crate::scheme::meta::StatusError;
use crate::scheme::parameter_codec::WriteOptions;
use crate::scheme::{meta_str, ResourceDef};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
}

/// `admission.Attributes`: what is being done to which object by whom.
pub struct Attributes<'a> {
    pub operation: Operation,
    pub def: &'a ResourceDef,
    pub namespace: &'a str,
    /// The name on the URL; empty for a create (the object carries it, or a `generateName`).
    pub name: &'a str,
    /// `status` for a write of `/status`, else empty.
    pub subresource: &'a str,
    /// The stored object an update replaces.
    pub old_object: Option<&'a Value>,
    /// `?dryRun=All`: plugins still judge the request, but change nothing outside it.
    pub dry_run: bool,
    pub user: &'a UserInfo,
}

impl Attributes<'_> {
    /// `admission.NewForbidden`: a 403 naming the object, or its `generateName` while the name
    /// is still to be generated, or `Unknown`.
    pub fn forbidden(&self, obj: &Value, why: &str) -> StatusError {
        let name = [
            meta_str(obj, "name"),
            meta_str(obj, "generateName"),
            self.name,
        ]
        .into_iter()
        .find(|n| !n.is_empty())
        .unwrap_or("Unknown");
        StatusError::forbidden(self.def.group_resource(), name, why)
    }

    /// Whether this is a write of the main resource of `group`/`resource` (not a subresource).
    pub fn is(&self, group: &str, resource: &str) -> bool {
        self.def.group == group && self.def.resource == resource && self.subresource.is_empty()
    }
}

pub trait AdmissionPlugin: Send + Sync {
    /// `MutationInterface.Admit`: may change the object.
    fn admit(&self, _attrs: &Attributes, _obj: &mut Value) -> Result<(), StatusError> {
        Ok(())
    }
    /// `ValidationInterface.Validate`: may only refuse.
    fn validate(&self, _attrs: &Attributes, _obj: &Value) -> Result<(), StatusError> {
        Ok(())
    }
}

// ANCHOR: clients
/// What plugins read and write through: in Go, the informers and the loopback client a
/// `PluginInitializer` hands each plugin that wants them (`WantsExternalKubeInformerFactory`,
/// `WantsExternalKubeClientSet`). The stores are built after the chain (each store holds the
/// chain), so the kube-apiserver hands them over once they exist; the references are weak so
/// that neither keeps the other alive.
#[derive(Default)]
pub struct Clients {
    stores: OnceLock<Stores>,
}

pub struct Stores {
    pub namespaces: Weak<Store>,
    pub service_accounts: Weak<Store>,
    pub limit_ranges: Weak<Store>,
    pub resource_quotas: Weak<Store>,
}
// ANCHOR_END: clients

impl Clients {
    fn store(&self, which: fn(&Stores) -> &Weak<Store>) -> Result<Arc<Store>, StatusError> {
        self.stores
            .get()
            .and_then(|s| which(s).upgrade())
            .ok_or_else(|| StatusError::internal("admission plugins are not initialized"))
    }

    pub fn namespaces(&self) -> Result<Arc<Store>, StatusError> {
        self.store(|s| &s.namespaces)
    }

    pub fn service_accounts(&self) -> Result<Arc<Store>, StatusError> {
        self.store(|s| &s.service_accounts)
    }

    pub fn limit_ranges(&self) -> Result<Arc<Store>, StatusError> {
        self.store(|s| &s.limit_ranges)
    }

    pub fn resource_quotas(&self) -> Result<Arc<Store>, StatusError> {
        self.store(|s| &s.resource_quotas)
    }

    /// The items of a namespace's objects in one store, as a lister would hand them over.
    pub fn list_in(store: &Store, namespace: &str) -> Result<Vec<Value>, StatusError> {
        let list = store.list(namespace, &Default::default())?;
        Ok(match list.get("items") {
            Some(Value::Array(items)) => items.clone(),
            _ => Vec::new(),
        })
    }
}

/// The lists of containers in a pod spec, in the order Go's `VisitContainersWithPath` visits them.
pub const CONTAINER_LISTS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

/// Every container of a pod with its path (`spec.containers[0]`).
pub fn containers(pod: &Value) -> impl Iterator<Item = (String, &Value)> {
    CONTAINER_LISTS.into_iter().flat_map(move |list| {
        pod["spec"][list]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .map(move |(i, c)| (format!("spec.{list}[{i}]"), c))
    })
}

/// The containers of one list of a pod spec, to change in place. Reached with `get_mut`, because
/// indexing a `Value` mutably would add the list, as `null`, to a pod that has none.
pub fn containers_mut<'a>(pod: &'a mut Value, list: &str) -> impl Iterator<Item = &'a mut Value> {
    pod.get_mut("spec")
        .and_then(|spec| spec.get_mut(list))
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter(|c| c.is_object())
}

/// `utilerrors.NewAggregate(...).Error()`: one message as it is, several (without repeats) in
/// brackets, as kube-apiserver joins a plugin's errors.
pub fn aggregate(messages: &[String]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for m in messages {
        if !seen.contains(&m.as_str()) {
            seen.push(m);
        }
    }
    match seen.as_slice() {
        [one] => one.to_string(),
        many => format!("[{}]", many.join(", ")),
    }
}

/// The options of a write a plugin makes itself, as kube-apiserver's loopback client would.
pub fn loopback_write_options() -> WriteOptions {
    WriteOptions {
        dry_run: false,
        field_manager: "kube-apiserver".into(),
        field_validation: FieldValidation::Strict,
        force: None,
    }
}

// ANCHOR: plugin_registry
/// A plugin as kube-apiserver registers it: its name, whether it is on without being asked
/// for, and how to build it.
pub struct Registration {
    pub name: &'static str,
    pub default_on: bool,
    new: fn(&Arc<Clients>) -> Arc<dyn AdmissionPlugin>,
}

/// The plugins we have, in the order they run: kube-apiserver's `AllOrderedPlugins` with the
/// ones we lack left out. The namespace plugins come first (nothing else should look at an
/// object headed for a namespace that cannot take it); LimitRanger fills in container resources
/// before ResourceQuota charges them; ResourceQuota is last but for AlwaysDeny, so that nothing
/// is charged for a request a later plugin would refuse.
pub static PLUGINS: &[Registration] = &[
    Registration {
        name: "AlwaysAdmit",
        default_on: false,
        new: |_| Arc::new(admit::AlwaysAdmit),
    },
    Registration {
        name: "NamespaceAutoProvision",
        default_on: false,
        new: |c| Arc::new(namespace_autoprovision::Provision::new(c)),
    },
    Registration {
        name: "NamespaceLifecycle",
        default_on: true,
        new: |c| Arc::new(namespace_lifecycle::Lifecycle::new(c)),
    },
    Registration {
        name: "NamespaceExists",
        default_on: false,
        new: |c| Arc::new(namespace_exists::Exists::new(c)),
    },
    Registration {
        name: "LimitRanger",
        default_on: true,
        new: |c| Arc::new(limitranger::LimitRanger::new(c)),
    },
    Registration {
        name: "ServiceAccount",
        default_on: true,
        new: |c| Arc::new(serviceaccount::ServiceAccount::new(c)),
    },
    Registration {
        name: "AlwaysPullImages",
        default_on: false,
        new: |_| Arc::new(alwayspullimages::AlwaysPullImages),
    },
    Registration {
        name: "ResourceQuota",
        default_on: true,
        new: |c| Arc::new(resourcequota::ResourceQuota::new(c)),
    },
    Registration {
        name: "AlwaysDeny",
        default_on: false,
        new: |_| Arc::new(deny::AlwaysDeny),
    },
];

/// `AdmissionOptions.Validate`: every named plugin must exist, and none be both enabled and
/// disabled. The wording is kube-apiserver's.
pub fn validate_plugin_names(enable: &[String], disable: &[String]) -> Vec<String> {
    let known = |name: &String| PLUGINS.iter().any(|p| p.name == name);
    let mut errs = Vec::new();
    for (flag, list) in [
        ("enable-admission-plugins", enable),
        ("disable-admission-plugins", disable),
    ] {
        for name in list.iter().filter(|n| !known(n)) {
            errs.push(format!("{flag} plugin {name:?} is unknown"));
        }
    }
    let mut both: Vec<&str> = enable
        .iter()
        .filter(|n| disable.contains(n))
        .map(String::as_str)
        .collect();
    both.sort_unstable();
    both.dedup();
    if !both.is_empty() {
        errs.push(format!(
            "[{}] in enable-admission-plugins and disable-admission-plugins overlapped",
            both.join(" ")
        ));
    }
    errs
}

/// `enabledPluginNames`: the default-on plugins and the enabled ones, minus the disabled ones
/// (an explicit enable wins over a default off), in `PLUGINS` order whatever order the flags
/// name them in.
pub fn enabled_plugin_names(enable: &[String], disable: &[String]) -> Vec<&'static str> {
    PLUGINS
        .iter()
        .filter(|p| {
            enable.iter().any(|e| e == p.name)
                || (p.default_on && !disable.iter().any(|d| d == p.name))
        })
        .map(|p| p.name)
        .collect()
}
// ANCHOR_END: plugin_registry

pub struct AdmissionChain {
    plugins: Vec<(&'static str, Arc<dyn AdmissionPlugin>)>,
    clients: Arc<Clients>,
}

impl AdmissionChain {
    /// The chain of the enabled plugins (names already validated).
    pub fn new(enable: &[String], disable: &[String]) -> AdmissionChain {
        let clients = Arc::new(Clients::default());
        let plugins = enabled_plugin_names(enable, disable)
            .into_iter()
            .filter_map(|name| PLUGINS.iter().find(|p| p.name == name))
            .map(|p| (p.name, (p.new)(&clients)))
            .collect();
        AdmissionChain { plugins, clients }
    }

    /// Hands the plugins the stores they read (Go runs its `PluginInitializer` here).
    pub fn initialize(&self, stores: Stores) {
        if self.clients.stores.set(stores).is_err() {
            log::warn!("admission plugins were initialized twice; keeping the first stores");
        }
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.plugins.iter().map(|(name, _)| *name).collect()
    }

    // ANCHOR: admission_chain
    /// Every plugin's `Admit`, in order. The store calls this before it validates the object,
    /// so that what is validated and stored is what the mutating plugins made of it.
    pub fn admit(&self, attrs: &Attributes, obj: &mut Value) -> Result<(), StatusError> {
        self.plugins
            .iter()
            .try_for_each(|(_, p)| p.admit(attrs, obj))
    }

    /// Every plugin's `Validate`, in order, after the object has passed its own validation:
    /// none of them changes it any more, so each judges the object that will be stored.
    pub fn validate(&self, attrs: &Attributes, obj: &Value) -> Result<(), StatusError> {
        self.plugins
            .iter()
            .try_for_each(|(_, p)| p.validate(attrs, obj))
    }
    // ANCHOR_END: admission_chain
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn default_on_set_and_fixed_order() {
        assert_eq!(
            enabled_plugin_names(&[], &[]),
            [
                "NamespaceLifecycle",
                "LimitRanger",
                "ServiceAccount",
                "ResourceQuota"
            ]
        );
        let enabled = enabled_plugin_names(
            &names(&["AlwaysDeny", "NamespaceExists", "NamespaceAutoProvision"]),
            &names(&["NamespaceLifecycle"]),
        );
        assert_eq!(
            enabled,
            [
                "NamespaceAutoProvision",
                "NamespaceExists",
                "LimitRanger",
                "ServiceAccount",
                "ResourceQuota",
                "AlwaysDeny"
            ]
        );
        let enabled = enabled_plugin_names(
            &names(&["AlwaysPullImages"]),
            &names(&["LimitRanger", "ResourceQuota"]),
        );
        assert_eq!(
            enabled,
            ["NamespaceLifecycle", "ServiceAccount", "AlwaysPullImages"]
        );
    }

    #[test]
    fn unknown_and_overlapping_names_in_kubes_words() {
        let errs = validate_plugin_names(
            &names(&["Nope", "NamespaceExists"]),
            &names(&["NamespaceExists", "Gone"]),
        );
        assert_eq!(
            errs,
            [
                "enable-admission-plugins plugin \"Nope\" is unknown",
                "disable-admission-plugins plugin \"Gone\" is unknown",
                "[NamespaceExists] in enable-admission-plugins and disable-admission-plugins overlapped",
            ]
        );
        assert!(validate_plugin_names(&names(&["AlwaysDeny"]), &[]).is_empty());
    }
}
