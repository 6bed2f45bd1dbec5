//! Endpoints: `pkg/apis/core/validation.ValidateEndpoints` and the `endpoint` strategy.
//!
//! The addresses behind a Service. kube-controller-manager's endpoints controller writes them for
//! Services with a selector; there is no controller here, so they are written by hand, which is
//! also how kube users point a selector-less Service at a backend of their own. The aggregator
//! reads them to reach an extension API server (`--enable-aggregator-routing`).

use std::net::IpAddr;

use serde_json::{json, Value};

use super::OBJECT_REFERENCE;
use crate::apis::{age_cell, AGE_COLUMN};
use crate::scheme::meta::StatusCause;
use crate::scheme::schema::{field, ListType, Struct, Type, METADATA_DOC, OBJECT_META};
use crate::scheme::{invalid, required, Strategy, TableColumn};

pub static ENDPOINT_ADDRESS: Struct = Struct {
    name: "io.k8s.api.core.v1.EndpointAddress",
    description: "One address of a backend.",
    fields: &[
        field(1, "ip", Type::String, "The IP of the backend."),
        field(
            2,
            "targetRef",
            Type::Pointer(&Type::Struct(&OBJECT_REFERENCE)),
            "What the address belongs to, usually a pod.",
        ),
        field(3, "hostname", Type::String, "The backend's hostname."),
        field(
            4,
            "nodeName",
            Type::Pointer(&Type::String),
            "The node the backend runs on.",
        ),
    ],
};

pub static ENDPOINT_PORT: Struct = Struct {
    name: "io.k8s.api.core.v1.EndpointPort",
    description: "A port of the backends, named as the Service's port it serves.",
    fields: &[
        field(1, "name", Type::String, "The Service port's name."),
        field(2, "port", Type::Integer, "The port number."),
        field(
            3,
            "protocol",
            Type::String,
            "TCP, UDP or SCTP; TCP by default.",
        ),
        field(
            4,
            "appProtocol",
            Type::Pointer(&Type::String),
            "The application protocol.",
        ),
    ],
};

pub static ENDPOINT_SUBSET: Struct = Struct {
    name: "io.k8s.api.core.v1.EndpointSubset",
    description: "Addresses that all serve the same ports.",
    fields: &[
        field(
            1,
            "addresses",
            Type::List(&Type::Struct(&ENDPOINT_ADDRESS), ListType::Atomic),
            "Addresses ready to serve.",
        ),
        field(
            2,
            "notReadyAddresses",
            Type::List(&Type::Struct(&ENDPOINT_ADDRESS), ListType::Atomic),
            "Addresses not ready yet.",
        ),
        field(
            3,
            "ports",
            Type::List(&Type::Struct(&ENDPOINT_PORT), ListType::Atomic),
            "The ports every address serves.",
        ),
    ],
};

/// `v1.Endpoints`.
pub static ENDPOINTS: Struct = Struct {
    name: "io.k8s.api.core.v1.Endpoints",
    description: "The addresses and ports behind a Service of the same name.",
    fields: &[
        field(1, "metadata", Type::Struct(&OBJECT_META), METADATA_DOC),
        field(
            2,
            "subsets",
            Type::List(&Type::Struct(&ENDPOINT_SUBSET), ListType::Atomic),
            "Sets of addresses with the ports they serve.",
        ),
    ],
};

pub struct EndpointsStrategy;

impl Strategy for EndpointsStrategy {
    fn set_defaults(&self, obj: &mut Value) {
        for subset in obj["subsets"].as_array_mut().into_iter().flatten() {
            for port in subset["ports"].as_array_mut().into_iter().flatten() {
                if port.get("protocol").is_none_or(Value::is_null) {
                    port["protocol"] = json!("TCP");
                }
            }
        }
    }

    fn validate(&self, obj: &Value) -> Vec<StatusCause> {
        let mut causes = Vec::new();
        for (i, subset) in obj["subsets"].as_array().into_iter().flatten().enumerate() {
            let at = format!("subsets[{i}]");
            for list in ["addresses", "notReadyAddresses"] {
                for (j, address) in subset[list].as_array().into_iter().flatten().enumerate() {
                    let path = format!("{at}.{list}[{j}].ip");
                    if let Some(why) = endpoint_ip_problem(address["ip"].as_str().unwrap_or("")) {
                        causes.push(invalid(&path, &address["ip"], why));
                    }
                }
            }
            let ports = subset["ports"].as_array().map_or(&[][..], Vec::as_slice);
            for (j, port) in ports.iter().enumerate() {
                let path = format!("{at}.ports[{j}]");
                // One unnamed port may stand alone; beside others every port needs a name.
                if ports.len() > 1 && port["name"].as_str().is_none_or(str::is_empty) {
                    causes.push(required(&format!("{path}.name"), ""));
                }
                if !(1..=65535).contains(&port["port"].as_i64().unwrap_or(0)) {
                    causes.push(invalid(
                        &format!("{path}.port"),
                        &port["port"],
                        "must be between 1 and 65535, inclusive",
                    ));
                }
            }
        }
        causes
    }

    fn table_columns(&self) -> Vec<TableColumn> {
        vec![
            TableColumn::text(
                "Endpoints",
                "The first addresses with their ports, as ip:port.",
                0,
            ),
            AGE_COLUMN,
        ]
    }

    fn table_cells(&self, obj: &Value) -> Vec<Value> {
        let mut shown: Vec<String> = Vec::new();
        for subset in obj["subsets"].as_array().into_iter().flatten() {
            for address in subset["addresses"].as_array().into_iter().flatten() {
                for port in subset["ports"].as_array().into_iter().flatten() {
                    shown.push(format!(
                        "{}:{}",
                        address["ip"].as_str().unwrap_or(""),
                        port["port"]
                    ));
                }
            }
        }
        // The printer shows three and counts the rest, as `formatEndpoints` does.
        let cell = match shown.len() {
            0 => "<none>".to_string(),
            n if n > 3 => format!("{} + {} more...", shown[..3].join(","), n - 3),
            _ => shown.join(","),
        };
        vec![json!(cell), age_cell(obj)]
    }
}

/// `ValidateEndpointIP`: an endpoint must be a routable unicast address. Loopback and
/// link-local ones are refused because the API server itself proxies to endpoints (services,
/// the aggregator): an endpoint on 127.0.0.1 would turn it against its own host.
fn endpoint_ip_problem(ip: &str) -> Option<&'static str> {
    let Ok(addr) = ip.parse::<IpAddr>() else {
        return Some("must be a valid IP address");
    };
    let link_local = match addr {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    };
    if addr.is_unspecified() {
        Some("may not be unspecified (0.0.0.0)")
    } else if addr.is_loopback() {
        Some("may not be in the loopback range (127.0.0.0/8, ::1/128)")
    } else if link_local {
        Some("may not be in the link-local range (169.254.0.0/16, fe80::/10)")
    } else if addr.is_multicast() {
        Some("may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_must_be_routable_and_ports_named_beside_others() {
        let ok =
            json!({"subsets": [{"addresses": [{"ip": "192.0.2.7"}], "ports": [{"port": 443}]}]});
        assert!(EndpointsStrategy.validate(&ok).is_empty());
        let bad = json!({"subsets": [{
            "addresses": [{"ip": "127.0.0.1"}, {"ip": "169.254.1.1"}, {"ip": "x"}],
            "ports": [{"name": "a", "port": 1}, {"port": 70000}]}]});
        let fields: Vec<String> = EndpointsStrategy
            .validate(&bad)
            .into_iter()
            .map(|c| c.field)
            .collect();
        assert_eq!(
            fields,
            [
                "subsets[0].addresses[0].ip",
                "subsets[0].addresses[1].ip",
                "subsets[0].addresses[2].ip",
                "subsets[0].ports[1].name",
                "subsets[0].ports[1].port",
            ]
        );
    }

    #[test]
    fn the_table_shows_three_addresses_and_counts_the_rest() {
        let addresses: Vec<Value> = (1..=5)
            .map(|i| json!({"ip": format!("192.0.2.{i}")}))
            .collect();
        let obj = json!({"subsets": [{"addresses": addresses, "ports": [{"port": 80}]}]});
        assert_eq!(
            EndpointsStrategy.table_cells(&obj)[0],
            "192.0.2.1:80,192.0.2.2:80,192.0.2.3:80 + 2 more..."
        );
    }
}
