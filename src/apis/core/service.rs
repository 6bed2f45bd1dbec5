//! Service: `pkg/apis/core/v1` defaulting, `ValidateService` and the `service` strategy.
//!
//! The addresses (`spec.clusterIP`, node ports) are not the strategy's to choose: the service
//! REST storage allocates them, and keeps them across updates, before the object is validated
//! ([`crate::registry::service`]).
//! What is here is what a Service is without them: its defaults, its rules, and its row in
//! `kubectl get services`.

use serde_json::{json, Value};

use super::pod::{port_error, PROTOCOLS};
use crate::apis::validation::dns1123_label;
use crate::apis::{age_cell, AGE_COLUMN};
use crate::scheme::meta::StatusCause;
use crate::scheme::schema::{
    field, ListType, Struct, Type, METADATA_DOC, OBJECT_META, STRING_LIST, STRING_MAP,
};
use crate::scheme::{
    duplicate, forbidden, invalid, not_supported, required, Strategy, TableColumn,
};

/// `v1.Service`.
pub static SERVICE: Struct = Struct {
    name: "io.k8s.api.core.v1.Service",
    description: "A named set of ports, load-balanced over the pods its selector picks.",
    fields: &[
        field(1, "metadata", Type::Struct(&OBJECT_META), METADATA_DOC),
        field(
            2,
            "spec",
            Type::Struct(&SERVICE_SPEC),
            "The desired behaviour of the service.",
        ),
        field(
            3,
            "status",
            Type::Struct(&SERVICE_STATUS),
            "The most recently observed status of the service.",
        ),
    ],
};

static SERVICE_SPEC: Struct = Struct {
    name: "io.k8s.api.core.v1.ServiceSpec",
    description: "How a service is reached and where its traffic goes.",
    fields: &[
        field(1, "ports", Type::List(&Type::Struct(&SERVICE_PORT), ListType::Map(&["port", "protocol"])), "The ports the service exposes."),
        field(2, "selector", STRING_MAP, "The labels of the pods traffic is sent to."),
        field(3, "clusterIP", Type::String, "The virtual IP, allocated from --service-cluster-ip-range unless given; None for a headless service."),
        field(18, "clusterIPs", STRING_LIST, "The virtual IPs, one per IP family; the first is clusterIP."),
        field(4, "type", Type::String, "ClusterIP (the default), NodePort, LoadBalancer or ExternalName."),
        field(5, "externalIPs", STRING_LIST, "Addresses outside the cluster that also reach the service."),
        field(7, "sessionAffinity", Type::String, "ClientIP or None (the default)."),
        field(8, "loadBalancerIP", Type::String, "Deprecated: an address to ask the load balancer for."),
        field(9, "loadBalancerSourceRanges", STRING_LIST, "Client ranges a load balancer admits."),
        field(10, "externalName", Type::String, "The DNS name an ExternalName service aliases."),
        field(11, "externalTrafficPolicy", Type::String, "Cluster or Local, for external traffic."),
        field(12, "healthCheckNodePort", Type::Integer, "The node port for load-balancer health checks."),
        field(13, "publishNotReadyAddresses", Type::Boolean, "Publish addresses of pods that are not ready."),
        field(14, "sessionAffinityConfig", Type::Struct(&SESSION_AFFINITY_CONFIG), "Settings of session affinity."),
        field(19, "ipFamilies", STRING_LIST, "IPv4 and/or IPv6."),
        field(17, "ipFamilyPolicy", Type::Pointer(&Type::String), "SingleStack (the default), PreferDualStack or RequireDualStack."),
        field(20, "allocateLoadBalancerNodePorts", Type::Pointer(&Type::Boolean), "Whether a LoadBalancer service gets node ports."),
        field(21, "loadBalancerClass", Type::Pointer(&Type::String), "The load balancer implementation."),
        field(22, "internalTrafficPolicy", Type::Pointer(&Type::String), "Cluster (the default) or Local, for traffic from inside."),
        field(23, "trafficDistribution", Type::Pointer(&Type::String), "A preference for how traffic is spread."),
    ],
};

static SERVICE_PORT: Struct = Struct {
    name: "io.k8s.api.core.v1.ServicePort",
    description: "One port of a service.",
    fields: &[
        field(
            1,
            "name",
            Type::String,
            "A DNS label; required when there is more than one port.",
        ),
        field(
            2,
            "protocol",
            Type::String,
            "TCP (the default), UDP or SCTP.",
        ),
        field(
            6,
            "appProtocol",
            Type::Pointer(&Type::String),
            "The application protocol.",
        ),
        field(3, "port", Type::Integer, "The port the service exposes."),
        field(
            4,
            "targetPort",
            Type::IntOrString,
            "The port (or a named container port) on the pods; port by default.",
        ),
        field(
            5,
            "nodePort",
            Type::Integer,
            "The port on every node, for NodePort and LoadBalancer services.",
        ),
    ],
};

static SERVICE_STATUS: Struct = Struct {
    name: "io.k8s.api.core.v1.ServiceStatus",
    description: "The observed state of a service.",
    fields: &[
        field(
            1,
            "loadBalancer",
            Type::Struct(&LOAD_BALANCER_STATUS),
            "The load balancer's ingress points, if any.",
        ),
        field(
            2,
            "conditions",
            Type::List(&Type::Struct(&CONDITION), ListType::Map(&["type"])),
            "The service's current conditions.",
        ),
    ],
};

// The structs below are typed, not `Any`, because kubectl sends a Service as protobuf, with
// `status.loadBalancer` in it, and protobuf can only be read with the field numbers.

static SESSION_AFFINITY_CONFIG: Struct = Struct {
    name: "io.k8s.api.core.v1.SessionAffinityConfig",
    description: "Settings of session affinity.",
    fields: &[field(
        1,
        "clientIP",
        Type::Struct(&CLIENT_IP_CONFIG),
        "Settings of ClientIP affinity.",
    )],
};

static CLIENT_IP_CONFIG: Struct = Struct {
    name: "io.k8s.api.core.v1.ClientIPConfig",
    description: "Settings of ClientIP session affinity.",
    fields: &[field(
        1,
        "timeoutSeconds",
        Type::Pointer(&Type::Integer),
        "How long a session sticks.",
    )],
};

static LOAD_BALANCER_STATUS: Struct = Struct {
    name: "io.k8s.api.core.v1.LoadBalancerStatus",
    description: "The state of a load balancer.",
    fields: &[field(
        1,
        "ingress",
        Type::List(&Type::Struct(&LOAD_BALANCER_INGRESS), ListType::Atomic),
        "Where traffic reaches the load balancer.",
    )],
};

static LOAD_BALANCER_INGRESS: Struct = Struct {
    name: "io.k8s.api.core.v1.LoadBalancerIngress",
    description: "One ingress point of a load balancer.",
    fields: &[
        field(1, "ip", Type::String, "An IP address."),
        field(2, "hostname", Type::String, "A DNS name."),
        field(3, "ipMode", Type::Pointer(&Type::String), "VIP or Proxy."),
        field(
            4,
            "ports",
            Type::List(&Type::Struct(&PORT_STATUS), ListType::Atomic),
            "The state of each port.",
        ),
    ],
};

static PORT_STATUS: Struct = Struct {
    name: "io.k8s.api.core.v1.PortStatus",
    description: "The state of one port of a load balancer.",
    fields: &[
        field(1, "port", Type::Integer, "The port number."),
        field(2, "protocol", Type::String, "TCP, UDP or SCTP."),
        field(
            3,
            "error",
            Type::Pointer(&Type::String),
            "Why the port is not working, if it is not.",
        ),
    ],
};

/// `metav1.Condition`.
static CONDITION: Struct = Struct {
    name: "io.k8s.apimachinery.pkg.apis.meta.v1.Condition",
    description: "One aspect of an object's state.",
    fields: &[
        field(
            1,
            "type",
            Type::String,
            "The condition's type, in CamelCase.",
        ),
        field(2, "status", Type::String, "True, False or Unknown."),
        field(
            3,
            "observedGeneration",
            Type::Integer,
            "The generation the condition was set for.",
        ),
        field(
            4,
            "lastTransitionTime",
            Type::Time,
            "When the status last changed.",
        ),
        field(5, "reason", Type::String, "Why, in CamelCase."),
        field(6, "message", Type::String, "Why, for a human."),
    ],
};

/// The fields a field selector may name besides `metadata.name` and `metadata.namespace`, as
/// kube-proxy selects on them.
pub const SELECTABLE_FIELDS: &[&str] = &["spec.clusterIP", "spec.type"];

pub const SERVICE_TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];

/// Whether a service of this type gets node ports.
pub fn wants_node_ports(spec: &Value) -> bool {
    matches!(spec["type"].as_str(), Some("NodePort" | "LoadBalancer"))
}

// ANCHOR: service_defaults
/// `SetDefaults_Service`, but for the addresses the REST storage allocates.
fn default_service(obj: &mut Value) {
    let spec = &mut obj["spec"];
    if !spec.is_object() {
        *spec = json!({});
    }
    if spec["type"].is_null() {
        spec["type"] = json!("ClusterIP");
    }
    if spec["sessionAffinity"].is_null() {
        spec["sessionAffinity"] = json!("None");
    }
    let external_name = spec["type"] == "ExternalName";
    if !external_name && spec["internalTrafficPolicy"].is_null() {
        spec["internalTrafficPolicy"] = json!("Cluster");
    }
    if wants_node_ports(spec) && spec["externalTrafficPolicy"].is_null() {
        spec["externalTrafficPolicy"] = json!("Cluster");
    }
    for port in spec
        .get_mut("ports")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if !port.is_object() {
            continue;
        }
        if port["protocol"].is_null() {
            port["protocol"] = json!("TCP");
        }
        if port["targetPort"].is_null() || port["targetPort"] == 0 {
            port["targetPort"] = port["port"].clone();
        }
    }
    if obj["status"].is_null() {
        obj["status"] = json!({"loadBalancer": {}});
    }
}
// ANCHOR_END: service_defaults

pub struct ServiceStrategy;

impl Strategy for ServiceStrategy {
    fn name_rule(&self) -> crate::apis::validation::NameRule {
        crate::apis::validation::NameRule::Label
    }

    fn return_deleted_object(&self) -> bool {
        true
    }

    fn set_defaults(&self, obj: &mut Value) {
        default_service(obj);
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        obj["status"] = Value::Null;
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        new["status"] = old["status"].clone();
    }

    // ANCHOR: validate_service
    fn validate(&self, obj: &Value) -> Vec<StatusCause> {
        let mut causes = Vec::new();
        let spec = &obj["spec"];
        let type_ = spec["type"].as_str().unwrap_or_default();
        if !SERVICE_TYPES.contains(&type_) {
            causes.push(not_supported("spec.type", type_, SERVICE_TYPES));
        }
        let ports = spec["ports"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let headless = spec["clusterIP"] == "None";
        if type_ == "ExternalName" {
            if spec["externalName"].as_str().is_none_or(str::is_empty) {
                causes.push(required("spec.externalName", ""));
            }
        } else if ports.is_empty() && !headless {
            causes.push(required("spec.ports", ""));
        }
        let mut names = Vec::new();
        for (i, port) in ports.iter().enumerate() {
            let at = format!("spec.ports[{i}]");
            match port["name"].as_str().unwrap_or_default() {
                "" if ports.len() > 1 => causes.push(required(&format!("{at}.name"), "")),
                "" => {}
                name => {
                    for e in dns1123_label(name) {
                        causes.push(invalid(&format!("{at}.name"), &port["name"], &e));
                    }
                    if names.contains(&name) {
                        causes.push(duplicate(&format!("{at}.name"), &port["name"]));
                    }
                    names.push(name);
                }
            }
            if let Some(e) = port_error(&port["port"]) {
                causes.push(invalid(&format!("{at}.port"), &port["port"], e));
            }
            if let Some(p) = port["protocol"].as_str() {
                if !PROTOCOLS.contains(&p) {
                    causes.push(not_supported(&format!("{at}.protocol"), p, PROTOCOLS));
                }
            }
            match &port["targetPort"] {
                Value::Number(_) => {
                    if let Some(e) = port_error(&port["targetPort"]) {
                        causes.push(invalid(&format!("{at}.targetPort"), &port["targetPort"], e));
                    }
                }
                Value::String(s) if dns1123_label(s).is_empty() && s.len() <= 15 => {}
                Value::String(_) => causes.push(invalid(
                    &format!("{at}.targetPort"),
                    &port["targetPort"],
                    "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                )),
                _ => {}
            }
            if !port["nodePort"].is_null() && !wants_node_ports(spec) {
                causes.push(forbidden(
                    &format!("{at}.nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                ));
            }
        }
        causes
    }
    // ANCHOR_END: validate_service

    // ANCHOR: validate_service_update
    /// `ValidateServiceUpdate`'s rule for addresses (`validateUpgradeDowngradeClusterIPs`, single
    /// stack): the first cluster IP may not change, nor be dropped, unless the type moves to or
    /// from ExternalName, where the registry gives or takes it.
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<StatusCause> {
        let mut causes = self.validate(new);
        let external = |s: &Value| s["spec"]["type"] == "ExternalName";
        if external(old) || external(new) {
            return causes;
        }
        let (was, is) = (&old["spec"]["clusterIPs"][0], &new["spec"]["clusterIPs"][0]);
        let listed = &new["spec"]["clusterIPs"];
        if !is.is_null() && *is != new["spec"]["clusterIP"] {
            causes.push(invalid(
                "spec.clusterIPs",
                listed,
                "first value must match `clusterIP`",
            ));
        }
        if is.is_null() && !was.is_null() {
            causes.push(invalid(
                "spec.clusterIPs[0]",
                listed,
                "primary clusterIP can not be unset",
            ));
        } else if was != is {
            causes.push(invalid(
                "spec.clusterIPs[0]",
                listed,
                "may not change once set",
            ));
        }
        causes
    }
    // ANCHOR_END: validate_service_update

    fn table_columns(&self) -> Vec<TableColumn> {
        vec![
            TableColumn::text("Type", "The type of the service.", 0),
            TableColumn::text("Cluster-IP", "The virtual IP of the service.", 0),
            TableColumn::text(
                "External-IP",
                "Where the service is reached from outside.",
                0,
            ),
            TableColumn::text("Port(s)", "The ports of the service.", 0),
            AGE_COLUMN,
            TableColumn::text(
                "Selector",
                "The labels of the pods the service routes to.",
                1,
            ),
        ]
    }

    fn table_cells(&self, obj: &Value) -> Vec<Value> {
        let spec = &obj["spec"];
        let type_ = spec["type"].as_str().unwrap_or("ClusterIP");
        let cluster_ip = match spec["clusterIP"].as_str() {
            Some(ip) if !ip.is_empty() => ip,
            _ => "<none>",
        };
        let listed = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        };
        let mut external = listed(&spec["externalIPs"]);
        match type_ {
            "ExternalName" => {
                external.push(spec["externalName"].as_str().unwrap_or_default().into())
            }
            "LoadBalancer" => {
                for ingress in obj["status"]["loadBalancer"]["ingress"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    if let Some(a) = ingress["ip"].as_str().or(ingress["hostname"].as_str()) {
                        external.push(a.into());
                    }
                }
                if external.is_empty() {
                    external.push("<pending>".into());
                }
            }
            _ => {}
        }
        let ports: Vec<String> = spec["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                let protocol = p["protocol"].as_str().unwrap_or("TCP");
                match p["nodePort"].as_i64() {
                    Some(node) => format!("{}:{node}/{protocol}", p["port"]),
                    None => format!("{}/{protocol}", p["port"]),
                }
            })
            .collect();
        let selector: Vec<String> = spec["selector"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect();
        let or_none = |parts: Vec<String>| {
            if parts.is_empty() {
                json!("<none>")
            } else {
                json!(parts.join(","))
            }
        };
        vec![
            json!(type_),
            json!(cluster_ip),
            or_none(external),
            or_none(ports),
            age_cell(obj),
            or_none(selector),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_default_and_validate() {
        let mut svc = json!({"spec": {"ports": [{"port": 80}]}});
        ServiceStrategy.set_defaults(&mut svc);
        ServiceStrategy.prepare_for_create(&mut svc);
        assert_eq!(
            svc["spec"]["ports"][0],
            json!({"port": 80, "protocol": "TCP", "targetPort": 80})
        );
        assert_eq!(svc["spec"]["type"], "ClusterIP");
        assert!(ServiceStrategy.validate(&svc).is_empty());

        let bad = json!({"spec": {"type": "ClusterIP", "ports": [{"port": 0, "protocol": "TCP"}, {"port": 81, "name": "b", "protocol": "ICMP"}]}});
        let fields: Vec<String> = ServiceStrategy
            .validate(&bad)
            .into_iter()
            .map(|c| c.field)
            .collect();
        assert_eq!(
            fields,
            [
                "spec.ports[0].name",
                "spec.ports[0].port",
                "spec.ports[1].protocol"
            ]
        );
    }

    #[test]
    fn the_row_kubectl_prints() {
        let svc = json!({"metadata": {}, "spec": {"type": "NodePort", "clusterIP": "10.0.0.7",
            "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}], "selector": {"app": "web"}}});
        let cells = ServiceStrategy.table_cells(&svc);
        assert_eq!(
            cells[..4],
            [
                json!("NodePort"),
                json!("10.0.0.7"),
                json!("<none>"),
                json!("80:30080/TCP")
            ]
        );
        assert_eq!(cells[5], "app=web");
    }
}
