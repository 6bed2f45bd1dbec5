//! Protobuf request bodies: what kubectl's typed commands send (`kubectl create namespace`,
//! `kubectl create configmap`). Mirrors the read side of
//! `k8s.io/apimachinery/pkg/runtime/serializer/protobuf`.
//!
//! Such a body is the magic `k8s\0` and a `runtime.Unknown` message whose `raw` field holds the
//! object, encoded by the Go types' `generated.proto`. We turn it into the same JSON a JSON
//! client would have sent, so that everything after decoding is shared. Responses stay JSON:
//! kubectl accepts `application/json` second, and client-go picks the decoder by the response's
//! `Content-Type`. Only the kinds in `schema_of` can be read this way; others answer 415.

use base64::Engine;
use serde_json::{Map, Value};

/// The four bytes before every Kubernetes protobuf message.
pub const MAGIC: &[u8] = b"k8s\0";

/// How one protobuf field becomes JSON.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    Int,
    Bool,
    /// `metav1.Time`: `{1: seconds, 2: nanos}`, written as RFC 3339.
    Time,
    Message(&'static [Field]),
    RepeatedStr,
    RepeatedMessage(&'static [Field]),
    MapStrStr,
    /// `map<string, bytes>`, written as base64 (`binaryData`).
    MapStrBytes,
}

#[derive(Clone, Copy)]
struct Field {
    number: u64,
    name: &'static str,
    kind: Kind,
}

const fn f(number: u64, name: &'static str, kind: Kind) -> Field {
    Field { number, name, kind }
}

// ANCHOR: object_meta_proto
/// `ObjectMeta` in `k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto` (managedFields, 17, is
/// left out: the server writes its own).
const OBJECT_META: &[Field] = &[
    f(1, "name", Kind::Str),
    f(2, "generateName", Kind::Str),
    f(3, "namespace", Kind::Str),
    f(5, "uid", Kind::Str),
    f(6, "resourceVersion", Kind::Str),
    f(7, "generation", Kind::Int),
    f(8, "creationTimestamp", Kind::Time),
    f(9, "deletionTimestamp", Kind::Time),
    f(10, "deletionGracePeriodSeconds", Kind::Int),
    f(11, "labels", Kind::MapStrStr),
    f(12, "annotations", Kind::MapStrStr),
    f(
        13,
        "ownerReferences",
        Kind::RepeatedMessage(OWNER_REFERENCE),
    ),
    f(14, "finalizers", Kind::RepeatedStr),
];
// ANCHOR_END: object_meta_proto

const OWNER_REFERENCE: &[Field] = &[
    f(1, "kind", Kind::Str),
    f(3, "name", Kind::Str),
    f(4, "uid", Kind::Str),
    f(5, "apiVersion", Kind::Str),
    f(6, "controller", Kind::Bool),
    f(7, "blockOwnerDeletion", Kind::Bool),
];

const CONFIG_MAP: &[Field] = &[
    f(1, "metadata", Kind::Message(OBJECT_META)),
    f(2, "data", Kind::MapStrStr),
    f(3, "binaryData", Kind::MapStrBytes),
    f(4, "immutable", Kind::Bool),
];

const SECRET: &[Field] = &[
    f(1, "metadata", Kind::Message(OBJECT_META)),
    f(2, "data", Kind::MapStrBytes),
    f(3, "type", Kind::Str),
    f(4, "stringData", Kind::MapStrStr),
    f(5, "immutable", Kind::Bool),
];

const SERVICE_ACCOUNT: &[Field] = &[
    f(1, "metadata", Kind::Message(OBJECT_META)),
    f(2, "secrets", Kind::RepeatedMessage(OBJECT_REFERENCE)),
    f(
        3,
        "imagePullSecrets",
        Kind::RepeatedMessage(&[f(1, "name", Kind::Str)]),
    ),
    f(4, "automountServiceAccountToken", Kind::Bool),
];

const OBJECT_REFERENCE: &[Field] = &[
    f(1, "kind", Kind::Str),
    f(2, "namespace", Kind::Str),
    f(3, "name", Kind::Str),
    f(4, "uid", Kind::Str),
    f(5, "apiVersion", Kind::Str),
    f(6, "resourceVersion", Kind::Str),
    f(7, "fieldPath", Kind::Str),
];

const NAMESPACE: &[Field] = &[
    f(1, "metadata", Kind::Message(OBJECT_META)),
    f(
        2,
        "spec",
        Kind::Message(&[f(1, "finalizers", Kind::RepeatedStr)]),
    ),
    f(3, "status", Kind::Message(&[f(1, "phase", Kind::Str)])),
];

/// The part of `runtime.Unknown` (1 typeMeta {1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding,
/// 4 contentType) that names the kind; `raw` is read separately.
const UNKNOWN_TYPE_META: &[Field] = &[f(1, "typeMeta", Kind::Message(TYPE_META))];
const TYPE_META: &[Field] = &[f(1, "apiVersion", Kind::Str), f(2, "kind", Kind::Str)];

/// The fields of a kind we can read from protobuf, by `apiVersion` and `kind`.
fn schema_of(api_version: &str, kind: &str) -> Option<&'static [Field]> {
    match (api_version, kind) {
        ("v1", "ConfigMap") => Some(CONFIG_MAP),
        ("v1", "Namespace") => Some(NAMESPACE),
        ("v1", "Secret") => Some(SECRET),
        ("v1", "ServiceAccount") => Some(SERVICE_ACCOUNT),
        _ => None,
    }
}

/// One field as read off the wire.
enum WireValue<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

/// A cursor over one message's bytes; every read checks its bounds.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.buf.split_first().ok_or("truncated varint")?;
            self.buf = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint longer than 10 bytes".into())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.buf.len() {
            return Err("field runs past the end of its message".into());
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    /// The next `(field number, value)`, or `None` at the end.
    fn next(&mut self) -> Result<Option<(u64, WireValue<'a>)>, String> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let tag = self.varint()?;
        let value = match tag & 7 {
            0 => WireValue::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                WireValue::Fixed
            }
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| "length too large")?;
                WireValue::Bytes(self.take(len)?)
            }
            5 => {
                self.take(4)?;
                WireValue::Fixed
            }
            other => return Err(format!("unsupported wire type {other}")),
        };
        Ok(Some((tag >> 3, value)))
    }
}

fn utf8(bytes: &[u8]) -> Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| "a string field is not UTF-8".into())
}

/// A map entry message: `{1: key, 2: value}`.
fn map_entry(bytes: &[u8]) -> Result<(String, &[u8]), String> {
    let mut r = Reader { buf: bytes };
    let (mut key, mut value): (String, &[u8]) = (String::new(), &[]);
    while let Some((n, v)) = r.next()? {
        match (n, v) {
            (1, WireValue::Bytes(b)) => key = utf8(b)?,
            (2, WireValue::Bytes(b)) => value = b,
            _ => {}
        }
    }
    Ok((key, value))
}

fn time(bytes: &[u8]) -> Result<Option<Value>, String> {
    let mut r = Reader { buf: bytes };
    let mut seconds = None;
    while let Some((n, v)) = r.next()? {
        if let (1, WireValue::Varint(s)) = (n, v) {
            seconds = Some(s);
        }
    }
    Ok(seconds.map(|s| {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(s);
        Value::String(crate::util::time::rfc3339(t))
    }))
}

/// Decodes one message into a JSON object, leaving out empty values as Go's `omitempty` does.
fn message(bytes: &[u8], schema: &[Field]) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    let mut r = Reader { buf: bytes };
    while let Some((number, value)) = r.next()? {
        // Fields we do not know are skipped, as a Go decoder keeps them out of the struct.
        let Some(field) = schema.iter().find(|fd| fd.number == number) else {
            continue;
        };
        let name = field.name.to_string();
        let wrong = || format!("field {} has the wrong wire type", field.name);
        match (field.kind, value) {
            (Kind::Str, WireValue::Bytes(b)) => {
                let s = utf8(b)?;
                if !s.is_empty() {
                    out.insert(name, Value::String(s));
                }
            }
            (Kind::Int, WireValue::Varint(v)) => {
                if v != 0 {
                    out.insert(name, Value::from(v as i64));
                }
            }
            (Kind::Bool, WireValue::Varint(v)) => {
                if v != 0 {
                    out.insert(name, Value::Bool(true));
                }
            }
            (Kind::Time, WireValue::Bytes(b)) => {
                if let Some(t) = time(b)? {
                    out.insert(name, t);
                }
            }
            (Kind::Message(inner), WireValue::Bytes(b)) => {
                let m = message(b, inner)?;
                if !m.is_empty() {
                    out.insert(name, Value::Object(m));
                }
            }
            (Kind::RepeatedStr, WireValue::Bytes(b)) => {
                let list = out.entry(name).or_insert_with(|| Value::Array(Vec::new()));
                list.as_array_mut()
                    .ok_or_else(wrong)?
                    .push(Value::String(utf8(b)?));
            }
            (Kind::RepeatedMessage(inner), WireValue::Bytes(b)) => {
                let item = Value::Object(message(b, inner)?);
                let list = out.entry(name).or_insert_with(|| Value::Array(Vec::new()));
                list.as_array_mut().ok_or_else(wrong)?.push(item);
            }
            (Kind::MapStrStr | Kind::MapStrBytes, WireValue::Bytes(b)) => {
                let (key, value) = map_entry(b)?;
                let value = match field.kind {
                    Kind::MapStrBytes => base64::engine::general_purpose::STANDARD.encode(value),
                    _ => utf8(value)?,
                };
                let map = out.entry(name).or_insert_with(|| Value::Object(Map::new()));
                map.as_object_mut()
                    .ok_or_else(wrong)?
                    .insert(key, Value::String(value));
            }
            _ => return Err(wrong()),
        }
    }
    Ok(out)
}

// ANCHOR: decode_protobuf
/// A protobuf body as the JSON object it stands for, with `apiVersion` and `kind` from its
/// `runtime.Unknown` envelope. The error says why, for a 400 (or 415 for a kind we cannot read).
pub fn decode(body: &[u8]) -> Result<Value, ProtobufError> {
    let bad = |why: String| ProtobufError::Malformed(why);
    let envelope = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| bad("the body does not start with the k8s protobuf magic".into()))?;
    let unknown = message(envelope, UNKNOWN_TYPE_META).map_err(bad)?;
    let mut r = Reader { buf: envelope };
    let mut raw: &[u8] = &[];
    while let Some((n, v)) = r.next().map_err(bad)? {
        if let (2, WireValue::Bytes(b)) = (n, v) {
            raw = b;
        }
    }
    let type_meta = &unknown.get("typeMeta").cloned().unwrap_or_default();
    let api_version = type_meta["apiVersion"].as_str().unwrap_or("");
    let kind = type_meta["kind"].as_str().unwrap_or("");
    let schema = schema_of(api_version, kind)
        .ok_or_else(|| ProtobufError::Unsupported(format!("{api_version}, Kind={kind}")))?;
    let mut object = message(raw, schema).map_err(bad)?;
    object.insert("apiVersion".into(), Value::String(api_version.into()));
    object.insert("kind".into(), Value::String(kind.into()));
    Ok(Value::Object(object))
}
// ANCHOR_END: decode_protobuf

#[derive(Debug, PartialEq)]
pub enum ProtobufError {
    Malformed(String),
    /// A kind this server cannot read from protobuf (yet).
    Unsupported(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `kubectl create configmap cm1 -n demo --from-literal=a=b`, byte for byte from the wire
    /// reference (logs/06-create-cm.log).
    const CREATE_CM: &[u8] = &[
        0x6b, 0x38, 0x73, 0x00, 0x0a, 0x0f, 0x0a, 0x02, 0x76, 0x31, 0x12, 0x09, 0x43, 0x6f, 0x6e,
        0x66, 0x69, 0x67, 0x4d, 0x61, 0x70, 0x12, 0x21, 0x0a, 0x17, 0x0a, 0x03, 0x63, 0x6d, 0x31,
        0x12, 0x00, 0x1a, 0x04, 0x64, 0x65, 0x6d, 0x6f, 0x22, 0x00, 0x2a, 0x00, 0x32, 0x00, 0x38,
        0x00, 0x42, 0x00, 0x12, 0x06, 0x0a, 0x01, 0x61, 0x12, 0x01, 0x62, 0x1a, 0x00, 0x22, 0x00,
    ];

    /// `kubectl create ns demo` (logs/05-create-ns.log).
    const CREATE_NS: &[u8] = &[
        0x6b, 0x38, 0x73, 0x00, 0x0a, 0x0f, 0x0a, 0x02, 0x76, 0x31, 0x12, 0x09, 0x4e, 0x61, 0x6d,
        0x65, 0x73, 0x70, 0x61, 0x63, 0x65, 0x12, 0x1c, 0x0a, 0x14, 0x0a, 0x04, 0x64, 0x65, 0x6d,
        0x6f, 0x12, 0x00, 0x1a, 0x00, 0x22, 0x00, 0x2a, 0x00, 0x32, 0x00, 0x38, 0x00, 0x42, 0x00,
        0x12, 0x00, 0x1a, 0x02, 0x0a, 0x00, 0x1a, 0x00, 0x22, 0x00,
    ];

    #[test]
    fn kubectl_bodies_from_the_wire() {
        assert_eq!(
            decode(CREATE_CM).unwrap(),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm1", "namespace": "demo"}, "data": {"a": "b"}})
        );
        assert_eq!(
            decode(CREATE_NS).unwrap(),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
        );
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        for cut in 4..CREATE_CM.len() {
            let _ = decode(&CREATE_CM[..cut]);
        }
        assert!(matches!(
            decode(b"k8s\0\x0a\xff"),
            Err(ProtobufError::Malformed(_))
        ));
        assert!(matches!(
            decode(b"not protobuf"),
            Err(ProtobufError::Malformed(_))
        ));
        assert!(matches!(
            decode(b"k8s\0\x0a\x04\x12\x02XY"),
            Err(ProtobufError::Unsupported(_))
        ));
    }
}
