//! The Service REST storage: `pkg/registry/core/service/storage` (book chapter 4).
//!
//! It is the generic store with two hooks set ([`BeginHooks`]), as `NewREST` sets
//! `store.BeginCreate` and `store.BeginUpdate`: before a Service is validated, it gets its
//! addresses. A cluster IP from `--service-cluster-ip-range` ([`ipallocator`]) unless it is
//! headless or an ExternalName, and a node port from `--service-node-port-range`
//! ([`portallocator`]) for each port of a NodePort or LoadBalancer service. What is taken is read
//! from the stored Services under the store's hook lock, so a delete releases without a hook of
//! its own (Go's `AfterDelete`).
//!
//! - [`ipallocator`]: the cluster IP range and its allocation.
//! - [`portallocator`]: the node port range and its allocation.

pub mod ipallocator;
pub mod portallocator;

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

use serde_json::{json, Value};

use super::store::{BeginHooks, Store};
use crate::apis::core::service::wants_node_ports;
use crate::scheme::meta::{StatusCause, StatusError};
use crate::scheme::{invalid, invalid_error, meta_str, not_supported};
use ipallocator::ServiceIPRange;
use portallocator::PortRange;

const IP_FAMILY_POLICIES: &[&str] = &["PreferDualStack", "RequireDualStack", "SingleStack"];
const IP_FAMILIES: &[&str] = &["IPv4", "IPv6"];

/// `Allocators` in `alloc.go`: the ranges services take their addresses from.
pub struct ServiceAllocators {
    pub service_ips: ServiceIPRange,
    pub node_ports: PortRange,
}

/// The addresses the stored Services hold, but for the one being updated.
struct Taken {
    ips: HashSet<Ipv4Addr>,
    node_ports: HashSet<u16>,
}

// ANCHOR: taken
impl Taken {
    fn read(store: &Store, updating: Option<&Value>) -> Result<Taken, StatusError> {
        let is_self = |svc: &Value| {
            updating.is_some_and(|old| {
                meta_str(svc, "namespace") == meta_str(old, "namespace")
                    && meta_str(svc, "name") == meta_str(old, "name")
            })
        };
        let (kvs, _) = store
            .storage()
            .list(&store.key_prefix(""))
            .map_err(|e| store.storage_error("", e))?;
        let mut taken = Taken {
            ips: HashSet::new(),
            node_ports: HashSet::new(),
        };
        for kv in &kvs {
            let svc = store.decode(kv)?;
            if is_self(&svc) {
                continue;
            }
            let spec = &svc["spec"];
            taken.ips.extend(
                strings(&spec["clusterIPs"])
                    .iter()
                    .filter_map(|ip| ip.parse::<Ipv4Addr>().ok()),
            );
            taken.node_ports.extend(node_ports(spec));
        }
        Ok(taken)
    }
}
// ANCHOR_END: taken

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(String::from))
        .collect()
}

fn node_ports(spec: &Value) -> impl Iterator<Item = u16> + '_ {
    spec["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["nodePort"].as_u64())
        .chain(spec["healthCheckNodePort"].as_u64())
        .filter_map(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0)
}

fn needs_cluster_ip(svc: &Value) -> bool {
    svc["spec"]["type"] != "ExternalName"
}

impl BeginHooks for ServiceAllocators {
    fn begin_create(&self, store: &Store, svc: &mut Value) -> Result<(), StatusError> {
        let taken = Taken::read(store, None)?;
        let name = meta_str(svc, "name").to_string();
        let refuse = |causes| invalid_error(&store.def, &name, causes);
        if needs_cluster_ip(svc) {
            self.allocate_cluster_ip(&mut svc["spec"], &taken)
                .map_err(|e| e.into_status(refuse))?;
        }
        self.allocate_node_ports(&mut svc["spec"], &taken)
            .map_err(|e| e.into_status(refuse))
    }

    fn begin_update(&self, store: &Store, new: &mut Value, old: &Value) -> Result<(), StatusError> {
        let taken = Taken::read(store, Some(old))?;
        let name = meta_str(new, "name").to_string();
        let refuse = |causes| invalid_error(&store.def, &name, causes);
        patch_allocated_values(new, old);
        normalize_cluster_ips(new, old);
        drop_type_dependent_fields(new, old);
        // An ExternalName that becomes a ClusterIP (or NodePort...) service needs its first
        // address; every other change keeps the address it has, which validation holds to.
        if needs_cluster_ip(new) && !needs_cluster_ip(old) {
            self.allocate_cluster_ip(&mut new["spec"], &taken)
                .map_err(|e| e.into_status(refuse))?;
        }
        self.allocate_node_ports(&mut new["spec"], &taken)
            .map_err(|e| e.into_status(refuse))
    }
}

/// What an allocation refuses: the field errors of a 422, or the 500 of a range that is full.
enum Refusal {
    Invalid(Vec<StatusCause>),
    Internal(String),
}

impl Refusal {
    fn into_status(self, invalid: impl FnOnce(Vec<StatusCause>) -> StatusError) -> StatusError {
        match self {
            Refusal::Invalid(causes) => invalid(causes),
            Refusal::Internal(why) => StatusError::internal(why),
        }
    }
}

impl ServiceAllocators {
    // ANCHOR: allocate_cluster_ip
    /// `initIPFamilyFields` and `allocClusterIPs` for a single-stack IPv4 cluster: settles
    /// `clusterIPs`, `ipFamilies` and `ipFamilyPolicy`, then takes the address.
    fn allocate_cluster_ip(&self, spec: &mut Value, taken: &Taken) -> Result<(), Refusal> {
        let cluster_ip = spec["clusterIP"].as_str().unwrap_or_default().to_string();
        let mut ips = strings(&spec["clusterIPs"]);
        // `normalizeClusterIPs`: a client that only sets clusterIP means clusterIPs too.
        if !cluster_ip.is_empty() && ips.is_empty() {
            ips.push(cluster_ip.clone());
        }
        let listed = json!(ips);
        let mut causes = Vec::new();
        if cluster_ip.is_empty() && !ips.is_empty() {
            causes.push(invalid(
                "spec.clusterIPs",
                &listed,
                "must be empty when `clusterIP` is not specified",
            ));
        } else if ips.first().is_some_and(|first| *first != cluster_ip) {
            causes.push(invalid(
                "spec.clusterIPs",
                &listed,
                "first value must match `clusterIP`",
            ));
        }
        let headless = cluster_ip == "None";
        // Headless and selectorless is the one case kube lets ask for both families on a
        // single-stack cluster, and where it defaults to asking for them.
        let selectorless = spec["selector"].as_object().is_none_or(|m| m.is_empty());
        let either_family = headless && selectorless;
        let policy = match spec["ipFamilyPolicy"].as_str() {
            Some(p) => p.to_string(),
            None if either_family => "RequireDualStack".into(),
            None => "SingleStack".into(),
        };
        if !IP_FAMILY_POLICIES.contains(&policy.as_str()) {
            causes.push(not_supported(
                "spec.ipFamilyPolicy",
                &policy,
                IP_FAMILY_POLICIES,
            ));
        } else if policy == "RequireDualStack" && !either_family {
            causes.push(invalid(
                "spec.ipFamilyPolicy",
                &json!(policy),
                "this cluster is not configured for dual-stack services",
            ));
        }
        let mut families = strings(&spec["ipFamilies"]);
        for (i, family) in families.iter().enumerate() {
            let at = format!("spec.ipFamilies[{i}]");
            if !IP_FAMILIES.contains(&family.as_str()) {
                causes.push(not_supported(&at, family, IP_FAMILIES));
            } else if family == "IPv6" && !either_family {
                causes.push(invalid(
                    &at,
                    &json!(family),
                    "not configured on this cluster",
                ));
            }
        }
        if !headless {
            for (i, ip) in ips.iter().enumerate() {
                match ip.parse::<IpAddr>() {
                    Err(_) => causes.push(invalid(
                        &format!("spec.clusterIPs[{i}]"),
                        &json!(ip),
                        "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                    )),
                    Ok(IpAddr::V6(_)) => causes.push(invalid(
                        &format!("spec.clusterIPs[{i}]"),
                        &listed,
                        "IPv6 is not configured on this cluster",
                    )),
                    Ok(IpAddr::V4(_)) if i > 0 => causes.push(invalid(
                        "spec.clusterIPs",
                        &listed,
                        "may specify no more than one IP for each IP family",
                    )),
                    Ok(IpAddr::V4(_)) => {}
                }
            }
        }
        if !causes.is_empty() {
            return Err(Refusal::Invalid(causes));
        }
        if families.is_empty() {
            families.push("IPv4".into());
        }
        if either_family && policy != "SingleStack" && families.len() < 2 {
            let other = if families[0] == "IPv4" {
                "IPv6"
            } else {
                "IPv4"
            };
            families.push(other.into());
        }
        spec["ipFamilies"] = json!(families);
        spec["ipFamilyPolicy"] = json!(policy);
        if headless {
            spec["clusterIPs"] = json!(["None"]);
            return Ok(());
        }
        let requested = ips.first().and_then(|ip| ip.parse().ok());
        let ip = ipallocator::allocate(&self.service_ips, &taken.ips, requested).map_err(|e| {
            match requested {
                Some(ip) => Refusal::Invalid(vec![invalid(
                    "spec.clusterIPs",
                    &listed,
                    &format!("failed to allocate IP {ip}: {e}"),
                )]),
                None => Refusal::Internal(format!("failed to allocate a serviceIP: {e}")),
            }
        })?;
        spec["clusterIP"] = json!(ip.to_string());
        spec["clusterIPs"] = json!([ip.to_string()]);
        Ok(())
    }
    // ANCHOR_END: allocate_cluster_ip

    /// `txnAllocNodePorts`: a node port for each port of a NodePort or LoadBalancer service that
    /// has none, and the requested ones checked.
    fn allocate_node_ports(&self, spec: &mut Value, taken: &Taken) -> Result<(), Refusal> {
        let lb_without_node_ports =
            spec["type"] == "LoadBalancer" && spec["allocateLoadBalancerNodePorts"] == false;
        if !wants_node_ports(spec) || lb_without_node_ports {
            return Ok(());
        }
        let mut used = taken.node_ports.clone();
        // One service may use a node port for the same port number over two protocols.
        let mut own = HashSet::new();
        for (i, port) in spec["ports"]
            .as_array_mut()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let requested = match port["nodePort"].as_i64() {
                None | Some(0) => None,
                Some(n) => Some(u16::try_from(n).unwrap_or(0)),
            };
            if requested.is_some_and(|p| own.contains(&p)) {
                continue;
            }
            let node_port =
                portallocator::allocate(&self.node_ports, &used, requested).map_err(|e| {
                    match requested {
                        Some(_) => Refusal::Invalid(vec![invalid(
                            &format!("spec.ports[{i}].nodePort"),
                            &port["nodePort"],
                            &e.to_string(),
                        )]),
                        None => Refusal::Internal(format!("failed to allocate a nodePort: {e}")),
                    }
                })?;
            port["nodePort"] = json!(node_port);
            used.insert(node_port);
            own.insert(node_port);
        }
        Ok(())
    }
}

// ANCHOR: patch_allocated_values
/// `patchAllocatedValues`: a client that leaves the allocated values out of an update (a PUT of
/// what it applied, say) keeps them, rather than changing them, which validation would refuse.
fn patch_allocated_values(new: &mut Value, old: &Value) {
    if needs_cluster_ip(new) && needs_cluster_ip(old) {
        for name in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
            let absent = match &new["spec"][name] {
                Value::Null => true,
                Value::String(s) => s.is_empty(),
                Value::Array(a) => a.is_empty(),
                _ => false,
            };
            if absent {
                new["spec"][name] = old["spec"][name].clone();
            }
        }
    }
    if wants_node_ports(&new["spec"]) && wants_node_ports(&old["spec"]) {
        let old_ports = old["spec"]["ports"].as_array().cloned().unwrap_or_default();
        let in_use: HashSet<u16> = node_ports(&new["spec"]).collect();
        for port in new["spec"]["ports"].as_array_mut().into_iter().flatten() {
            if port["nodePort"].as_u64().is_some_and(|p| p != 0) {
                continue;
            }
            // By name, as kube matches them: a port's number may have changed.
            let kept = old_ports
                .iter()
                .find(|o| o["name"] == port["name"])
                .and_then(|o| o["nodePort"].as_u64())
                .filter(|p| !u16::try_from(*p).is_ok_and(|p| in_use.contains(&p)));
            if let Some(p) = kept {
                port["nodePort"] = json!(p);
            }
        }
    }
}
// ANCHOR_END: patch_allocated_values

/// `normalizeClusterIPs` for an update: a client that changed `clusterIP` alone (a patch of
/// that one field) meant `clusterIPs[0]` too, so that validation judges the change it asked for.
fn normalize_cluster_ips(new: &mut Value, old: &Value) {
    let spec = &mut new["spec"];
    if spec["clusterIP"] != old["spec"]["clusterIP"]
        && spec["clusterIPs"] == old["spec"]["clusterIPs"]
        && spec["clusterIPs"]
            .as_array()
            .is_some_and(|ips| !ips.is_empty())
    {
        spec["clusterIPs"][0] = spec["clusterIP"].clone();
    }
}

/// `dropTypeDependentFields`: a change of type drops what the old type was given and the new
/// one cannot have, when the client left it as it was.
fn drop_type_dependent_fields(new: &mut Value, old: &Value) {
    if needs_cluster_ip(old) && !needs_cluster_ip(new) {
        for name in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
            if new["spec"][name] == old["spec"][name] {
                if let Some(spec) = new["spec"].as_object_mut() {
                    spec.remove(name);
                }
            }
        }
    }
    if wants_node_ports(&old["spec"]) && !wants_node_ports(&new["spec"]) {
        let old_ports: Vec<Value> = old["spec"]["ports"].as_array().cloned().unwrap_or_default();
        for port in new["spec"]["ports"].as_array_mut().into_iter().flatten() {
            let unchanged = old_ports
                .iter()
                .any(|o| o["name"] == port["name"] && o["nodePort"] == port["nodePort"]);
            if unchanged {
                if let Some(p) = port.as_object_mut() {
                    p.remove("nodePort");
                }
            }
        }
    }
}
