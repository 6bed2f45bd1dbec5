//! Pod: `pkg/apis/core/v1` defaulting, `pkg/apis/core/validation.ValidatePod*` and the `pod`
//! strategy.
//!
//! A pod is stored as given, after defaulting, with `status.phase: Pending`: no scheduler or
//! kubelet runs here, so it never moves on. Because it is never bound to a node, deleting it is
//! immediate, as kube-apiserver deletes an unscheduled pod. The pod template's parts (`PodSpec`,
//! `Container`) are shared with Deployment, whose template is validated by the same functions.

use serde_json::{json, Value};

use crate::apis::validation::dns1123_label;
use crate::apis::{age_cell, AGE_COLUMN};
use crate::scheme::meta::StatusCause;
use crate::scheme::schema::{
    field, ListType, Struct, Type, METADATA_DOC, OBJECT_META, STRING_LIST, STRING_MAP,
};
use crate::scheme::{
    duplicate, forbidden, invalid, not_supported, required, Strategy, TableColumn,
};

use super::LOCAL_OBJECT_REFERENCE;

// ANCHOR: pod_schema
/// `v1.Pod`.
pub static POD: Struct = Struct {
    name: "io.k8s.api.core.v1.Pod",
    description: "A group of containers that run together on one node.",
    fields: &[
        field(1, "metadata", Type::Struct(&OBJECT_META), METADATA_DOC),
        field(
            2,
            "spec",
            Type::Struct(&POD_SPEC),
            "The desired behaviour of the pod.",
        ),
        field(
            3,
            "status",
            Type::Struct(&POD_STATUS),
            "The most recently observed status of the pod, written by the system.",
        ),
    ],
};

/// `v1.PodSpec`. Fields this server does not interpret are `Any`: kept as given.
pub static POD_SPEC: Struct = Struct {
    name: "io.k8s.api.core.v1.PodSpec",
    description: "The containers of a pod and how they run.",
    fields: &[
        field(
            1,
            "volumes",
            Type::List(&Type::Struct(&VOLUME), ListType::Map(&["name"])),
            "Volumes the containers may mount.",
        ),
        field(
            20,
            "initContainers",
            Type::List(&Type::Struct(&CONTAINER), ListType::Map(&["name"])),
            "Containers run to completion, in order, before the app containers start.",
        ),
        field(
            2,
            "containers",
            Type::List(&Type::Struct(&CONTAINER), ListType::Map(&["name"])),
            "The containers of the pod; at least one. Cannot be updated.",
        ),
        field(
            34,
            "ephemeralContainers",
            Type::List(&Type::Any, ListType::Map(&["name"])),
            "Containers added to a running pod for debugging.",
        ),
        field(
            3,
            "restartPolicy",
            Type::String,
            "Always (the default), OnFailure or Never.",
        ),
        field(
            4,
            "terminationGracePeriodSeconds",
            Type::Pointer(&Type::Integer),
            "Seconds the pod has to stop gracefully; 30 by default.",
        ),
        field(
            5,
            "activeDeadlineSeconds",
            Type::Pointer(&Type::Integer),
            "Seconds the pod may be active before the system ends it.",
        ),
        field(
            6,
            "dnsPolicy",
            Type::String,
            "ClusterFirst (the default), ClusterFirstWithHostNet, Default or None.",
        ),
        field(
            7,
            "nodeSelector",
            STRING_MAP,
            "Labels a node must have for the pod to be scheduled there.",
        ),
        field(
            8,
            "serviceAccountName",
            Type::String,
            "The ServiceAccount the pod runs as.",
        ),
        field(
            9,
            "serviceAccount",
            Type::String,
            "Deprecated: use serviceAccountName.",
        ),
        field(
            21,
            "automountServiceAccountToken",
            Type::Pointer(&Type::Boolean),
            "Whether an API token is mounted.",
        ),
        field(
            10,
            "nodeName",
            Type::String,
            "The node the pod is bound to; set by the scheduler.",
        ),
        field(
            11,
            "hostNetwork",
            Type::Boolean,
            "Use the node's network namespace.",
        ),
        field(
            12,
            "hostPID",
            Type::Boolean,
            "Use the node's PID namespace.",
        ),
        field(
            13,
            "hostIPC",
            Type::Boolean,
            "Use the node's IPC namespace.",
        ),
        field(
            27,
            "shareProcessNamespace",
            Type::Pointer(&Type::Boolean),
            "Share one PID namespace between the containers.",
        ),
        field(
            14,
            "securityContext",
            Type::Any,
            "Pod-level security attributes.",
        ),
        field(
            15,
            "imagePullSecrets",
            Type::List(
                &Type::Struct(&LOCAL_OBJECT_REFERENCE),
                ListType::Map(&["name"]),
            ),
            "Secrets for pulling the images.",
        ),
        field(
            16,
            "hostname",
            Type::String,
            "The pod's hostname; the pod's name by default.",
        ),
        field(
            17,
            "subdomain",
            Type::String,
            "The pod's subdomain, for a fully qualified hostname.",
        ),
        field(18, "affinity", Type::Any, "Scheduling constraints."),
        field(
            19,
            "schedulerName",
            Type::String,
            "The scheduler that places the pod; default-scheduler by default.",
        ),
        field(
            22,
            "tolerations",
            Type::List(&Type::Any, ListType::Atomic),
            "Taints the pod tolerates.",
        ),
        field(
            23,
            "hostAliases",
            Type::List(&Type::Any, ListType::Map(&["ip"])),
            "Entries added to the pod's hosts file.",
        ),
        field(
            24,
            "priorityClassName",
            Type::String,
            "The pod's priority class.",
        ),
        field(
            25,
            "priority",
            Type::Pointer(&Type::Integer),
            "The priority value, from the priority class.",
        ),
        field(
            26,
            "dnsConfig",
            Type::Any,
            "DNS parameters beyond those dnsPolicy gives.",
        ),
        field(
            28,
            "readinessGates",
            Type::List(&Type::Any, ListType::Atomic),
            "Extra conditions for the pod to be ready.",
        ),
        field(
            29,
            "runtimeClassName",
            Type::Pointer(&Type::String),
            "The RuntimeClass to run the pod with.",
        ),
        field(
            30,
            "enableServiceLinks",
            Type::Pointer(&Type::Boolean),
            "Whether services' addresses are injected as environment variables; true by default.",
        ),
        field(
            31,
            "preemptionPolicy",
            Type::Pointer(&Type::String),
            "Whether the pod may preempt lower-priority pods.",
        ),
        field(
            32,
            "overhead",
            Type::Map(&Type::Quantity),
            "Resources the pod's sandbox uses.",
        ),
        field(
            33,
            "topologySpreadConstraints",
            Type::List(
                &Type::Any,
                ListType::Map(&["topologyKey", "whenUnsatisfiable"]),
            ),
            "How pods spread across topology domains.",
        ),
        field(
            35,
            "setHostnameAsFQDN",
            Type::Pointer(&Type::Boolean),
            "Use the fully qualified domain name as the hostname.",
        ),
        field(
            36,
            "os",
            Type::Any,
            "The operating system of the containers.",
        ),
        field(
            37,
            "hostUsers",
            Type::Pointer(&Type::Boolean),
            "Use the node's user namespace.",
        ),
        field(
            38,
            "schedulingGates",
            Type::List(&Type::Any, ListType::Map(&["name"])),
            "Gates that hold the pod back from scheduling.",
        ),
        field(
            39,
            "resourceClaims",
            Type::List(&Type::Any, ListType::Map(&["name"])),
            "Dynamic resources the pod claims.",
        ),
        field(
            40,
            "resources",
            Type::Struct(&RESOURCE_REQUIREMENTS),
            "Pod-level resource requests and limits.",
        ),
        field(
            41,
            "hostnameOverride",
            Type::Pointer(&Type::String),
            "A hostname to use instead of the generated one.",
        ),
    ],
};

/// `v1.Container`.
pub static CONTAINER: Struct = Struct {
    name: "io.k8s.api.core.v1.Container",
    description: "One container of a pod.",
    fields: &[
        field(
            1,
            "name",
            Type::String,
            "The container's name, a DNS label unique within the pod.",
        ),
        field(2, "image", Type::String, "The container image."),
        field(
            3,
            "command",
            STRING_LIST,
            "The entrypoint; the image's ENTRYPOINT if unset.",
        ),
        field(
            4,
            "args",
            STRING_LIST,
            "Arguments to the entrypoint; the image's CMD if unset.",
        ),
        field(5, "workingDir", Type::String, "The working directory."),
        field(
            6,
            "ports",
            Type::List(
                &Type::Struct(&CONTAINER_PORT),
                ListType::Map(&["containerPort", "protocol"]),
            ),
            "Ports the container exposes.",
        ),
        field(
            19,
            "envFrom",
            Type::List(&Type::Any, ListType::Atomic),
            "Sources of environment variables.",
        ),
        field(
            7,
            "env",
            Type::List(&Type::Struct(&ENV_VAR), ListType::Map(&["name"])),
            "Environment variables.",
        ),
        field(
            8,
            "resources",
            Type::Struct(&RESOURCE_REQUIREMENTS),
            "Compute resources the container requests and is limited to.",
        ),
        field(
            23,
            "resizePolicy",
            Type::List(&Type::Any, ListType::Atomic),
            "How resources are resized.",
        ),
        field(
            24,
            "restartPolicy",
            Type::Pointer(&Type::String),
            "For init containers: Always makes a sidecar.",
        ),
        field(
            9,
            "volumeMounts",
            Type::List(&Type::Struct(&VOLUME_MOUNT), ListType::Map(&["mountPath"])),
            "Volumes mounted into the container.",
        ),
        field(
            21,
            "volumeDevices",
            Type::List(&Type::Any, ListType::Map(&["devicePath"])),
            "Block devices the container uses.",
        ),
        field(
            10,
            "livenessProbe",
            Type::Any,
            "Restarts the container when it fails.",
        ),
        field(
            11,
            "readinessProbe",
            Type::Any,
            "Removes the pod from service endpoints while it fails.",
        ),
        field(
            22,
            "startupProbe",
            Type::Any,
            "Holds the other probes back until it succeeds.",
        ),
        field(
            12,
            "lifecycle",
            Type::Any,
            "Hooks run after start and before stop.",
        ),
        field(
            13,
            "terminationMessagePath",
            Type::String,
            "Where the container writes its termination message.",
        ),
        field(
            20,
            "terminationMessagePolicy",
            Type::String,
            "File or FallbackToLogsOnError.",
        ),
        field(
            14,
            "imagePullPolicy",
            Type::String,
            "Always, Never or IfNotPresent; Always for :latest images.",
        ),
        field(
            15,
            "securityContext",
            Type::Any,
            "Security options of the container.",
        ),
        field(16, "stdin", Type::Boolean, "Allocate a buffer for stdin."),
        field(
            17,
            "stdinOnce",
            Type::Boolean,
            "Close stdin after the first attach.",
        ),
        field(18, "tty", Type::Boolean, "Allocate a TTY."),
    ],
};

static CONTAINER_PORT: Struct = Struct {
    name: "io.k8s.api.core.v1.ContainerPort",
    description: "A network port of a container.",
    fields: &[
        field(
            1,
            "name",
            Type::String,
            "An IANA service name, unique in the pod.",
        ),
        field(
            2,
            "hostPort",
            Type::Integer,
            "The port on the node, if any.",
        ),
        field(
            3,
            "containerPort",
            Type::Integer,
            "The port on the pod's IP address.",
        ),
        field(
            4,
            "protocol",
            Type::String,
            "TCP (the default), UDP or SCTP.",
        ),
        field(
            5,
            "hostIP",
            Type::String,
            "The node address to bind the host port to.",
        ),
    ],
};

static ENV_VAR: Struct = Struct {
    name: "io.k8s.api.core.v1.EnvVar",
    description: "An environment variable.",
    fields: &[
        field(1, "name", Type::String, "The variable's name."),
        field(
            2,
            "value",
            Type::String,
            "Its value; $(VAR) references are expanded.",
        ),
        field(
            3,
            "valueFrom",
            Type::Any,
            "Where the value comes from, instead of value.",
        ),
    ],
};

pub static RESOURCE_REQUIREMENTS: Struct = Struct {
    name: "io.k8s.api.core.v1.ResourceRequirements",
    description: "Requests and limits of compute resources.",
    fields: &[
        field(
            1,
            "limits",
            Type::Map(&Type::Quantity),
            "The most of each resource allowed.",
        ),
        field(
            2,
            "requests",
            Type::Map(&Type::Quantity),
            "The least of each resource required.",
        ),
        field(
            3,
            "claims",
            Type::List(&Type::Any, ListType::Map(&["name"])),
            "Dynamic resources used.",
        ),
    ],
};

static VOLUME_MOUNT: Struct = Struct {
    name: "io.k8s.api.core.v1.VolumeMount",
    description: "A volume mounted into a container.",
    fields: &[
        field(1, "name", Type::String, "The volume's name."),
        field(2, "readOnly", Type::Boolean, "Mount read-only."),
        field(
            7,
            "recursiveReadOnly",
            Type::Pointer(&Type::String),
            "Whether read-only applies to submounts.",
        ),
        field(3, "mountPath", Type::String, "Where in the container."),
        field(
            4,
            "subPath",
            Type::String,
            "A path inside the volume to mount instead of its root.",
        ),
        field(
            5,
            "mountPropagation",
            Type::Pointer(&Type::String),
            "How mounts propagate.",
        ),
        field(
            6,
            "subPathExpr",
            Type::String,
            "Like subPath, with $(VAR) expanded.",
        ),
    ],
};

/// `v1.Volume`: its name, and one volume source kept as given.
static VOLUME: Struct = Struct {
    name: "io.k8s.api.core.v1.Volume",
    description: "A named volume of a pod.",
    fields: &[
        field(
            1,
            "name",
            Type::String,
            "The volume's name, a DNS label unique in the pod.",
        ),
        field(2, "hostPath", Type::Any, "A directory on the node."),
        field(
            3,
            "emptyDir",
            Type::Any,
            "A directory that lives as long as the pod.",
        ),
        field(6, "secret", Type::Any, "A Secret's data as files."),
        field(
            10,
            "persistentVolumeClaim",
            Type::Any,
            "A PersistentVolumeClaim.",
        ),
        field(19, "configMap", Type::Any, "A ConfigMap's data as files."),
        field(20, "downwardAPI", Type::Any, "Pod fields as files."),
        field(
            26,
            "projected",
            Type::Any,
            "Several sources in one directory.",
        ),
        field(
            29,
            "ephemeral",
            Type::Any,
            "A volume provisioned for the pod.",
        ),
        field(30, "image", Type::Any, "An OCI image's contents."),
    ],
};

static POD_STATUS: Struct = Struct {
    name: "io.k8s.api.core.v1.PodStatus",
    description: "What the kubelet last reported about the pod.",
    fields: &[
        field(
            1,
            "phase",
            Type::String,
            "Pending, Running, Succeeded, Failed or Unknown.",
        ),
        field(
            2,
            "conditions",
            Type::List(&Type::Any, ListType::Map(&["type"])),
            "The pod's current conditions.",
        ),
        field(
            3,
            "message",
            Type::String,
            "Why the pod is in this condition.",
        ),
        field(
            4,
            "reason",
            Type::String,
            "A CamelCase reason, such as Evicted.",
        ),
        field(
            11,
            "nominatedNodeName",
            Type::String,
            "The node a preempting pod is waiting for.",
        ),
        field(5, "hostIP", Type::String, "The node's address."),
        field(
            16,
            "hostIPs",
            Type::List(&Type::Any, ListType::Atomic),
            "The node's addresses.",
        ),
        field(6, "podIP", Type::String, "The pod's address."),
        field(
            12,
            "podIPs",
            Type::List(&Type::Any, ListType::Map(&["ip"])),
            "The pod's addresses.",
        ),
        field(
            7,
            "startTime",
            Type::Time,
            "When the kubelet accepted the pod.",
        ),
        field(
            10,
            "initContainerStatuses",
            Type::List(&Type::Any, ListType::Atomic),
            "The init containers' statuses.",
        ),
        field(
            8,
            "containerStatuses",
            Type::List(&Type::Any, ListType::Atomic),
            "The containers' statuses.",
        ),
        field(
            9,
            "qosClass",
            Type::String,
            "Guaranteed, Burstable or BestEffort, from the resources.",
        ),
        field(
            13,
            "ephemeralContainerStatuses",
            Type::List(&Type::Any, ListType::Atomic),
            "The ephemeral containers' statuses.",
        ),
        field(14, "resize", Type::String, "Deprecated resize status."),
        field(
            15,
            "resourceClaimStatuses",
            Type::List(&Type::Any, ListType::Map(&["name"])),
            "Claims generated for the pod.",
        ),
        field(
            17,
            "observedGeneration",
            Type::Integer,
            "The pod generation this status is for.",
        ),
    ],
};
// ANCHOR_END: pod_schema

/// The fields a pod `fieldSelector` may name (`pod.ToSelectableFields`).
pub const SELECTABLE_FIELDS: &[&str] = &[
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
];

// ANCHOR: pod_defaults
/// `SetDefaults_PodSpec` and `SetDefaults_Container`: what a pod that names only its images
/// comes back with.
pub fn default_pod_spec(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    let defaults = [
        ("restartPolicy", json!("Always")),
        ("terminationGracePeriodSeconds", json!(30)),
        ("dnsPolicy", json!("ClusterFirst")),
        ("securityContext", json!({})),
        ("schedulerName", json!("default-scheduler")),
        ("enableServiceLinks", json!(true)),
    ];
    for (name, value) in defaults {
        if unset(&spec[name]) {
            spec[name] = value;
        }
    }
    for c in containers_mut(spec) {
        default_container(c);
    }
}

/// Whether a defaulted field is unset. A Go string field cannot tell `""` from absent, so the
/// defaulters fill both.
fn unset(v: &Value) -> bool {
    v.is_null() || v == ""
}

/// Every container of a pod spec, init containers too, to change in place.
fn containers_mut(spec: &mut Value) -> impl Iterator<Item = &mut Value> {
    spec.as_object_mut()
        .into_iter()
        .flat_map(|fields| fields.iter_mut())
        .filter(|(name, _)| matches!(name.as_str(), "initContainers" | "containers"))
        .filter_map(|(_, list)| list.as_array_mut())
        .flatten()
}

fn default_container(c: &mut Value) {
    if !c.is_object() {
        return;
    }
    if unset(&c["imagePullPolicy"]) {
        // An image without a tag, or tagged `latest`, may change under the same name.
        let image = c["image"].as_str().unwrap_or_default();
        let tag = image
            .rsplit('/')
            .next()
            .and_then(|last| last.split('@').next())
            .and_then(|last| last.split_once(':').map(|(_, t)| t));
        let policy = match tag {
            None | Some("latest") if !image.contains('@') => "Always",
            _ => "IfNotPresent",
        };
        c["imagePullPolicy"] = json!(policy);
    }
    if unset(&c["terminationMessagePath"]) {
        c["terminationMessagePath"] = json!("/dev/termination-log");
    }
    if unset(&c["terminationMessagePolicy"]) {
        c["terminationMessagePolicy"] = json!("File");
    }
    if c["resources"].is_null() {
        c["resources"] = json!({});
    }
    for port in c
        .get_mut("ports")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if port.is_object() && unset(&port["protocol"]) {
            port["protocol"] = json!("TCP");
        }
    }
}

/// `SetDefaults_Pod`: a container's requests default to its limits. Only a pod gets this, not a
/// pod template, so a Deployment's template keeps what its author wrote.
fn default_requests_to_limits(spec: &mut Value) {
    for c in containers_mut(spec) {
        let Some(limits) = c["resources"]["limits"].as_object().cloned() else {
            continue;
        };
        let resources = &mut c["resources"];
        if !resources["requests"].is_object() {
            resources["requests"] = json!({});
        }
        let requests = resources["requests"].as_object_mut().expect("an object");
        for (name, quantity) in limits {
            requests.entry(name).or_insert(quantity);
        }
    }
}
// ANCHOR_END: pod_defaults

pub const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];

/// A port number's error, if it is not in 1..=65535 (`validation.IsValidPortNum`).
pub fn port_error(v: &Value) -> Option<&'static str> {
    match v.as_i64() {
        Some(1..=65535) => None,
        _ => Some("must be between 1 and 65535, inclusive"),
    }
}

/// Why `name` is not an IANA service name, the form of a named port (`IsValidPortName`).
fn port_name_errors(name: &str) -> Vec<&'static str> {
    let mut errs = Vec::new();
    if name.len() > 15 {
        errs.push("must be no more than 15 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
    }
    if !name.bytes().any(|b| b.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)");
    }
    if name.contains("--") {
        errs.push("must not contain consecutive hyphens");
    }
    if name.starts_with('-') || name.ends_with('-') {
        errs.push("must not begin or end with a hyphen");
    }
    errs
}

/// `validateContainerPorts`: one container's ports, whose names are unique within it (the
/// names a Service's `targetPort` may refer to).
fn validate_container_ports(ports: &Value, path: &str) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    let mut names = Vec::new();
    for (j, port) in ports.as_array().into_iter().flatten().enumerate() {
        let at = format!("{path}[{j}]");
        if let Some(name) = port["name"].as_str().filter(|n| !n.is_empty()) {
            let errs = port_name_errors(name);
            if !errs.is_empty() {
                for e in errs {
                    causes.push(invalid(&format!("{at}.name"), &port["name"], e));
                }
            } else if names.contains(&name) {
                causes.push(duplicate(&format!("{at}.name"), &port["name"]));
            } else {
                names.push(name);
            }
        }
        match port["containerPort"].as_i64() {
            None | Some(0) => causes.push(required(&format!("{at}.containerPort"), "")),
            Some(_) => {
                if let Some(e) = port_error(&port["containerPort"]) {
                    causes.push(invalid(
                        &format!("{at}.containerPort"),
                        &port["containerPort"],
                        e,
                    ));
                }
            }
        }
        // A host port is optional: 0 means none.
        if port["hostPort"].as_i64().is_some_and(|p| p != 0) {
            if let Some(e) = port_error(&port["hostPort"]) {
                causes.push(invalid(&format!("{at}.hostPort"), &port["hostPort"], e));
            }
        }
        if let Some(p) = port["protocol"].as_str() {
            if !PROTOCOLS.contains(&p) {
                causes.push(not_supported(&format!("{at}.protocol"), p, PROTOCOLS));
            }
        }
    }
    causes
}

// ANCHOR: validate_pod_spec
/// `ValidatePodSpec` for the fields we interpret, with `path` the spec's own path
/// (`spec`, or `spec.template.spec` in a Deployment).
pub fn validate_pod_spec(spec: &Value, path: &str) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    let containers = spec["containers"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if containers.is_empty() {
        causes.push(required(&format!("{path}.containers"), ""));
    }
    let mut names = Vec::new();
    for list in ["initContainers", "containers"] {
        for (i, c) in spec[list].as_array().into_iter().flatten().enumerate() {
            let at = format!("{path}.{list}[{i}]");
            match c["name"].as_str().unwrap_or_default() {
                "" => causes.push(required(&format!("{at}.name"), "")),
                name => {
                    for e in dns1123_label(name) {
                        causes.push(invalid(&format!("{at}.name"), &c["name"], &e));
                    }
                    if names.contains(&name) {
                        causes.push(duplicate(&format!("{at}.name"), &c["name"]));
                    }
                    names.push(name);
                }
            }
            if c["image"].as_str().is_none_or(|s| s.trim().is_empty()) {
                causes.push(required(&format!("{at}.image"), ""));
            }
            if let Some(policy) = c["imagePullPolicy"].as_str() {
                let supported = ["Always", "IfNotPresent", "Never"];
                if !supported.contains(&policy) {
                    causes.push(not_supported(
                        &format!("{at}.imagePullPolicy"),
                        policy,
                        &supported,
                    ));
                }
            }
            causes.extend(validate_container_ports(
                &c["ports"],
                &format!("{at}.ports"),
            ));
        }
    }
    let choices: [(&str, &[&str]); 2] = [
        ("restartPolicy", &["Always", "OnFailure", "Never"]),
        (
            "dnsPolicy",
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        ),
    ];
    for (name, supported) in choices {
        if let Some(v) = spec[name].as_str() {
            if !supported.contains(&v) {
                causes.push(not_supported(&format!("{path}.{name}"), v, supported));
            }
        }
    }
    causes
}
// ANCHOR_END: validate_pod_spec

/// `GetPodQOS`: BestEffort without requests or limits, Guaranteed when every container's
/// limits are set and equal its requests, Burstable otherwise.
fn qos_class(spec: &Value) -> &'static str {
    let containers: Vec<&Value> = spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let resources = |c: &Value, kind: &str| {
        c["resources"][kind]
            .as_object()
            .cloned()
            .unwrap_or_default()
    };
    if containers
        .iter()
        .all(|c| resources(c, "requests").is_empty() && resources(c, "limits").is_empty())
    {
        return "BestEffort";
    }
    let guaranteed = containers.iter().all(|c| {
        let limits = resources(c, "limits");
        let requests = resources(c, "requests");
        ["cpu", "memory"].iter().all(|r| limits.contains_key(*r))
            && requests.iter().all(|(k, v)| limits.get(k) == Some(v))
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// The cells `Name`, `Ready`, `Status`, `Restarts`, `Age` and the wide ones share.
fn none_if_empty(v: &Value) -> Value {
    match v.as_str() {
        Some(s) if !s.is_empty() => json!(s),
        _ => json!("<none>"),
    }
}

pub struct PodStrategy;

/// v1 conversion writes `serviceAccountName` (filled in by the ServiceAccount admission plugin)
/// back into the deprecated `serviceAccount`, so old clients read the same account.
fn mirror_service_account(pod: &mut Value) {
    if let Some(name) = pod["spec"]["serviceAccountName"]
        .as_str()
        .filter(|n| !n.is_empty())
        .map(String::from)
    {
        pod["spec"]["serviceAccount"] = json!(name);
    }
}

impl Strategy for PodStrategy {
    fn return_deleted_object(&self) -> bool {
        true
    }

    fn set_defaults(&self, obj: &mut Value) {
        default_pod_spec(&mut obj["spec"]);
        default_requests_to_limits(&mut obj["spec"]);
        // v1 conversion: the deprecated `serviceAccount` stands in for an empty
        // `serviceAccountName`.
        if let Some(spec) = obj["spec"].as_object_mut() {
            if unset(spec.get("serviceAccountName").unwrap_or(&Value::Null)) {
                if let Some(sa) = spec.get("serviceAccount").filter(|v| !unset(v)).cloned() {
                    spec.insert("serviceAccountName".into(), sa);
                }
            }
        }
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        let qos = qos_class(&obj["spec"]);
        obj["status"] = json!({"phase": "Pending", "qosClass": qos});
        mirror_service_account(obj);
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        new["status"] = old["status"].clone();
        mirror_service_account(new);
    }

    fn validate(&self, obj: &Value) -> Vec<StatusCause> {
        validate_pod_spec(&obj["spec"], "spec")
    }

    // ANCHOR: pod_update
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<StatusCause> {
        let mut causes = self.validate(new);
        // A pod's spec is fixed once created, but for the images and a few fields a kubelet
        // can apply in place (`ValidatePodUpdate`).
        let mutable_cleared = |spec: &Value| {
            let mut spec = spec.clone();
            for c in containers_mut(&mut spec) {
                c["image"] = Value::Null;
            }
            for name in [
                "activeDeadlineSeconds",
                "tolerations",
                "terminationGracePeriodSeconds",
            ] {
                spec[name] = Value::Null;
            }
            spec
        };
        if mutable_cleared(&new["spec"]) != mutable_cleared(&old["spec"]) {
            causes.push(forbidden("spec", "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"));
        }
        causes
    }
    // ANCHOR_END: pod_update

    fn table_columns(&self) -> Vec<TableColumn> {
        vec![
            TableColumn::text(
                "Ready",
                "The number of ready containers, out of all of them.",
                0,
            ),
            TableColumn::text(
                "Status",
                "The aggregate status of the containers in this pod.",
                0,
            ),
            TableColumn::text(
                "Restarts",
                "The number of times the containers in this pod have been restarted.",
                0,
            ),
            AGE_COLUMN,
            TableColumn::text("IP", "The IP address of the pod.", 1),
            TableColumn::text("Node", "The node the pod is assigned to.", 1),
            TableColumn::text("Nominated Node", "The node a preempting pod waits for.", 1),
            TableColumn::text("Readiness Gates", "The pod's readiness gates.", 1),
        ]
    }

    fn table_cells(&self, obj: &Value) -> Vec<Value> {
        let statuses = obj["status"]["containerStatuses"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let total = obj["spec"]["containers"].as_array().map_or(0, Vec::len);
        let ready = statuses.iter().filter(|s| s["ready"] == true).count();
        let restarts: i64 = statuses
            .iter()
            .filter_map(|s| s["restartCount"].as_i64())
            .sum();
        let status = if !obj["metadata"]["deletionTimestamp"].is_null() {
            "Terminating"
        } else {
            obj["status"]["reason"]
                .as_str()
                .or(obj["status"]["phase"].as_str())
                .unwrap_or("Unknown")
        };
        let gates = obj["spec"]["readinessGates"].as_array().map_or(0, Vec::len);
        vec![
            json!(format!("{ready}/{total}")),
            json!(status),
            json!(restarts.to_string()),
            age_cell(obj),
            none_if_empty(&obj["status"]["podIP"]),
            none_if_empty(&obj["spec"]["nodeName"]),
            none_if_empty(&obj["status"]["nominatedNodeName"]),
            if gates == 0 {
                json!("<none>")
            } else {
                json!(format!("0/{gates}"))
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_pod_is_defaulted_like_kube() {
        let mut pod = json!({"spec": {"containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 80}]},
                                                     {"name": "side", "image": "busybox:1.36"}]}});
        PodStrategy.set_defaults(&mut pod);
        PodStrategy.prepare_for_create(&mut pod);
        let c = &pod["spec"]["containers"];
        assert_eq!(c[0]["imagePullPolicy"], "Always");
        assert_eq!(c[1]["imagePullPolicy"], "IfNotPresent");
        assert_eq!(c[0]["ports"][0]["protocol"], "TCP");
        // Defaulting walks lists that may be absent; it must not leave `null` in their place.
        assert!(c[1].get("ports").is_none());
        assert!(pod["spec"].get("initContainers").is_none());
        assert_eq!(pod["spec"]["restartPolicy"], "Always");
        assert_eq!(
            pod["status"],
            json!({"phase": "Pending", "qosClass": "BestEffort"})
        );
    }

    #[test]
    fn containers_are_validated_by_path() {
        let spec = json!({"containers": [{"name": "a", "image": ""}, {"name": "a", "image": "x", "ports": [{"containerPort": 0}]}]});
        let fields: Vec<String> = validate_pod_spec(&spec, "spec.template.spec")
            .into_iter()
            .map(|c| c.field)
            .collect();
        assert_eq!(
            fields,
            [
                "spec.template.spec.containers[0].image",
                "spec.template.spec.containers[1].name",
                "spec.template.spec.containers[1].ports[0].containerPort"
            ]
        );
        assert_eq!(
            validate_pod_spec(&json!({}), "spec")[0].field,
            "spec.containers"
        );
    }

    #[test]
    fn empty_strings_are_defaulted_and_requests_follow_limits() {
        let mut pod = json!({"spec": {"restartPolicy": "", "containers": [{"name": "a", "image": "x:1",
            "imagePullPolicy": "", "ports": [{"containerPort": 80, "protocol": ""}],
            "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}}}]}});
        PodStrategy.set_defaults(&mut pod);
        PodStrategy.prepare_for_create(&mut pod);
        let c = &pod["spec"]["containers"][0];
        assert_eq!(pod["spec"]["restartPolicy"], "Always");
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert_eq!(c["ports"][0]["protocol"], "TCP");
        // A request already given stays; the missing one is the limit.
        assert_eq!(
            c["resources"]["requests"],
            json!({"cpu": "500m", "memory": "1Gi"})
        );
        assert_eq!(pod["status"]["qosClass"], "Burstable");
        assert!(PodStrategy.validate(&pod).is_empty());

        // A Deployment's template is a PodSpec too, but only pods get requests from limits.
        let mut template = json!({"containers": [{"name": "a", "image": "x",
            "resources": {"limits": {"cpu": "1"}}}]});
        default_pod_spec(&mut template);
        assert!(template["containers"][0]["resources"]
            .get("requests")
            .is_none());
    }

    #[test]
    fn port_names_are_iana_service_names_unique_in_their_container() {
        let spec = json!({"containers": [
            {"name": "a", "image": "x", "ports": [{"containerPort": 80, "name": "http"},
                                                   {"containerPort": 81, "name": "http"},
                                                   {"containerPort": 82, "name": "-9"}]},
            {"name": "b", "image": "x", "ports": [{"containerPort": 80, "name": "http", "hostPort": 70000}]}]});
        let causes: Vec<(String, String)> = validate_pod_spec(&spec, "spec")
            .into_iter()
            .map(|c| (c.field, c.message))
            .collect();
        let want = [
            (
                "spec.containers[0].ports[1].name",
                "Duplicate value: \"http\"",
            ),
            (
                "spec.containers[0].ports[2].name",
                "Invalid value: \"-9\": must contain at least one letter (a-z)",
            ),
            (
                "spec.containers[0].ports[2].name",
                "Invalid value: \"-9\": must not begin or end with a hyphen",
            ),
            (
                "spec.containers[1].ports[0].hostPort",
                "Invalid value: 70000: must be between 1 and 65535, inclusive",
            ),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(f, m)| (f.to_string(), m.to_string()))
            .collect();
        assert_eq!(causes, want);
        assert_eq!(
            port_name_errors("a-very-long-port-name"),
            ["must be no more than 15 characters"]
        );
    }

    #[test]
    fn only_images_change_in_place() {
        let mut old = json!({"spec": {"containers": [{"name": "a", "image": "x:1"}]}});
        PodStrategy.set_defaults(&mut old);
        PodStrategy.prepare_for_create(&mut old);
        let mut new = old.clone();
        new["spec"]["containers"][0]["image"] = json!("x:2");
        assert!(PodStrategy.validate_update(&new, &old).is_empty());
        new["spec"]["containers"][0]["name"] = json!("b");
        assert_eq!(PodStrategy.validate_update(&new, &old)[0].field, "spec");
    }
}
