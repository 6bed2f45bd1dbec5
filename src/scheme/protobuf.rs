//! Protobuf request bodies: what kubectl's typed commands send (`kubectl create namespace`,
//! `kubectl create configmap`). Mirrors the read side of
//! `k8s.io/apimachinery/pkg/runtime/serializer/protobuf`.
//!
//! Such a body is the magic `k8s\0` and a `runtime.Unknown` message whose `raw` field holds the
//! object, encoded by the Go types' `generated.proto`. We turn it into the same JSON a JSON
//! client would have sent, so that everything after decoding is shared. The field numbers come
//! from the kind's [`Struct`], the one description of its shape. Responses stay JSON: kubectl
//! accepts `application/json` second, and client-go picks the decoder by the response's
//! `Content-Type`.

use base64::Engine;
use serde_json::{Map, Value};

use super::schema::{Struct, Type};

/// The four bytes before every Kubernetes protobuf message.
pub const MAGIC: &[u8] = b"k8s\0";

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

/// Whether a decoded value is Go's empty value, which `omitempty` leaves out of JSON.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_i64() == Some(0),
        Value::Bool(b) => !b,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
    }
}

/// One value of `type_` from one field on the wire (one element, for a repeated field).
fn single(type_: &Type, wire: WireValue, name: &str) -> Result<Value, String> {
    let wrong = || format!("field {name} has the wrong wire type");
    Ok(match (type_, wire) {
        (Type::String, WireValue::Bytes(b)) => Value::String(utf8(b)?),
        (Type::Integer, WireValue::Varint(v)) => Value::from(v as i64),
        (Type::Boolean, WireValue::Varint(v)) => Value::Bool(v != 0),
        (Type::Time, WireValue::Bytes(b)) => time(b)?.unwrap_or(Value::Null),
        (Type::Bytes, WireValue::Bytes(b)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        // `intstr.IntOrString`: {1: type (0 int, 1 string), 2: intVal, 3: strVal}.
        (Type::IntOrString, WireValue::Bytes(b)) => {
            let mut r = Reader { buf: b };
            let (mut is_string, mut int, mut string) = (false, 0i64, String::new());
            while let Some((n, v)) = r.next()? {
                match (n, v) {
                    (1, WireValue::Varint(t)) => is_string = t == 1,
                    (2, WireValue::Varint(i)) => int = i as i64,
                    (3, WireValue::Bytes(s)) => string = utf8(s)?,
                    _ => return Err(wrong()),
                }
            }
            if is_string {
                Value::String(string)
            } else {
                Value::from(int)
            }
        }
        // `resource.Quantity`: {1: the string form}.
        (Type::Quantity, WireValue::Bytes(b)) => {
            let mut r = Reader { buf: b };
            let mut out = String::new();
            while let Some((n, v)) = r.next()? {
                match (n, v) {
                    (1, WireValue::Bytes(s)) => out = utf8(s)?,
                    _ => return Err(wrong()),
                }
            }
            Value::String(out)
        }
        (Type::Pointer(inner), wire) => single(inner, wire, name)?,
        (Type::Struct(s), WireValue::Bytes(b)) => Value::Object(message(b, s)?),
        (Type::Any, _) => return Err(format!("field {name} cannot be read from protobuf")),
        _ => return Err(wrong()),
    })
}

/// Decodes one message into a JSON object, leaving out empty values as Go's `omitempty` does.
fn message(bytes: &[u8], schema: &Struct) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    let mut r = Reader { buf: bytes };
    while let Some((number, wire)) = r.next()? {
        // A number the Go type does not have means the body is for another version of the
        // type than ours: refuse it rather than lose what it says.
        let field = schema
            .fields
            .iter()
            .find(|fd| fd.number == number)
            .ok_or_else(|| {
                format!(
                    "field number {number} is not a field of {}",
                    schema.short_name()
                )
            })?;
        let name = field.name.to_string();
        let wrong = || format!("field {} has the wrong wire type", field.name);
        match (&field.type_, wire) {
            (Type::List(item, _), wire) => {
                let item = single(item, wire, field.name)?;
                let list = out.entry(name).or_insert_with(|| Value::Array(Vec::new()));
                list.as_array_mut().ok_or_else(wrong)?.push(item);
            }
            (Type::Map(item), WireValue::Bytes(b)) => {
                let (key, value) = map_entry(b)?;
                let value = single(item, WireValue::Bytes(value), field.name)?;
                let map = out.entry(name).or_insert_with(|| Value::Object(Map::new()));
                map.as_object_mut().ok_or_else(wrong)?.insert(key, value);
            }
            (Type::Map(_), _) => return Err(wrong()),
            // A pointer's zero value was set on purpose (`replicas: 0`).
            (Type::Pointer(_), wire) => {
                out.insert(name, single(&field.type_, wire, field.name)?);
            }
            (type_, wire) => {
                let value = single(type_, wire, field.name)?;
                if !is_empty(&value) {
                    out.insert(name, value);
                }
            }
        }
    }
    Ok(out)
}

/// `runtime.Unknown`: {1: typeMeta {1: apiVersion, 2: kind}, 2: raw, 3: contentEncoding,
/// 4: contentType}.
fn envelope(bytes: &[u8]) -> Result<(String, String, &[u8]), String> {
    let mut r = Reader { buf: bytes };
    let (mut api_version, mut kind, mut raw): (String, String, &[u8]) =
        (String::new(), String::new(), &[]);
    while let Some((n, v)) = r.next()? {
        match (n, v) {
            (1, WireValue::Bytes(type_meta)) => {
                let mut t = Reader { buf: type_meta };
                while let Some((n, v)) = t.next()? {
                    match (n, v) {
                        (1, WireValue::Bytes(b)) => api_version = utf8(b)?,
                        (2, WireValue::Bytes(b)) => kind = utf8(b)?,
                        _ => return Err("malformed typeMeta in the envelope".into()),
                    }
                }
            }
            (2, WireValue::Bytes(b)) => raw = b,
            (3 | 4, WireValue::Bytes(_)) => {}
            _ => return Err("malformed runtime.Unknown envelope".into()),
        }
    }
    Ok((api_version, kind, raw))
}

// ANCHOR: decode_protobuf
/// A protobuf body as the JSON object it stands for, read with the kind's schema, with
/// `apiVersion` and `kind` from its `runtime.Unknown` envelope. The error says why, for a 400.
pub fn decode(body: &[u8], schema: &Struct) -> Result<Value, String> {
    let bytes = body
        .strip_prefix(MAGIC)
        .ok_or("the body does not start with the k8s protobuf magic")?;
    let (api_version, kind, raw) = envelope(bytes)?;
    let mut object = message(raw, schema)?;
    object.insert("apiVersion".into(), Value::String(api_version));
    object.insert("kind".into(), Value::String(kind));
    Ok(Value::Object(object))
}
// ANCHOR_END: decode_protobuf

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

    /// `kubectl create deployment web --image=nginx --replicas=2`, recorded from kubectl
    /// v1.37 (`-v=9`): a pod template inside a Deployment, with Go's empty values written out.
    const CREATE_DEPLOYMENT: &[u8] = &[
        0x6b, 0x38, 0x73, 0x00, 0x0a, 0x15, 0x0a, 0x07, 0x61, 0x70, 0x70, 0x73, 0x2f, 0x76, 0x31,
        0x12, 0x0a, 0x44, 0x65, 0x70, 0x6c, 0x6f, 0x79, 0x6d, 0x65, 0x6e, 0x74, 0x12, 0xab, 0x01,
        0x0a, 0x1f, 0x0a, 0x03, 0x77, 0x65, 0x62, 0x12, 0x00, 0x1a, 0x00, 0x22, 0x00, 0x2a, 0x00,
        0x32, 0x00, 0x38, 0x00, 0x42, 0x00, 0x5a, 0x0a, 0x0a, 0x03, 0x61, 0x70, 0x70, 0x12, 0x03,
        0x77, 0x65, 0x62, 0x12, 0x7a, 0x08, 0x02, 0x12, 0x0c, 0x0a, 0x0a, 0x0a, 0x03, 0x61, 0x70,
        0x70, 0x12, 0x03, 0x77, 0x65, 0x62, 0x1a, 0x60, 0x0a, 0x1c, 0x0a, 0x00, 0x12, 0x00, 0x1a,
        0x00, 0x22, 0x00, 0x2a, 0x00, 0x32, 0x00, 0x38, 0x00, 0x42, 0x00, 0x5a, 0x0a, 0x0a, 0x03,
        0x61, 0x70, 0x70, 0x12, 0x03, 0x77, 0x65, 0x62, 0x12, 0x40, 0x12, 0x22, 0x0a, 0x05, 0x6e,
        0x67, 0x69, 0x6e, 0x78, 0x12, 0x05, 0x6e, 0x67, 0x69, 0x6e, 0x78, 0x2a, 0x00, 0x42, 0x00,
        0x6a, 0x00, 0x72, 0x00, 0x80, 0x01, 0x00, 0x88, 0x01, 0x00, 0x90, 0x01, 0x00, 0xa2, 0x01,
        0x00, 0x1a, 0x00, 0x32, 0x00, 0x42, 0x00, 0x4a, 0x00, 0x52, 0x00, 0x58, 0x00, 0x60, 0x00,
        0x68, 0x00, 0x82, 0x01, 0x00, 0x8a, 0x01, 0x00, 0x9a, 0x01, 0x00, 0xc2, 0x01, 0x00, 0x22,
        0x02, 0x0a, 0x00, 0x28, 0x00, 0x38, 0x00, 0x1a, 0x0c, 0x08, 0x00, 0x10, 0x00, 0x18, 0x00,
        0x20, 0x00, 0x28, 0x00, 0x38, 0x00, 0x1a, 0x00, 0x22, 0x00,
    ];

    use crate::apis::apps::DEPLOYMENT;
    use crate::apis::core::{configmap::CONFIG_MAP, namespace::NAMESPACE};

    #[test]
    fn a_deployment_from_kubectl_create_deployment() {
        // The empty strategy, status, resources and pod-spec fields are Go's zero values,
        // left out as JSON's omitempty would; `replicas` is a pointer, so its value stays.
        assert_eq!(
            decode(CREATE_DEPLOYMENT, &DEPLOYMENT).unwrap(),
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "web", "labels": {"app": "web"}},
                   "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                            "template": {"metadata": {"labels": {"app": "web"}},
                                         "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}})
        );
    }

    #[test]
    fn kubectl_bodies_from_the_wire() {
        assert_eq!(
            decode(CREATE_CM, &CONFIG_MAP).unwrap(),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm1", "namespace": "demo"}, "data": {"a": "b"}})
        );
        assert_eq!(
            decode(CREATE_NS, &NAMESPACE).unwrap(),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
        );
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        for cut in 4..CREATE_CM.len() {
            let _ = decode(&CREATE_CM[..cut], &CONFIG_MAP);
        }
        assert!(decode(b"k8s\0\x0a\xff", &CONFIG_MAP).is_err());
        assert!(decode(b"not protobuf", &CONFIG_MAP).is_err());
    }

    #[test]
    fn an_unknown_field_number_is_refused_not_dropped() {
        // The ConfigMap body with its `data` entry renumbered to field 9.
        let mut body = CREATE_CM.to_vec();
        let at = body.windows(2).position(|w| w == [0x12, 0x06]).unwrap();
        body[at] = 0x4a;
        assert_eq!(
            decode(&body, &CONFIG_MAP).unwrap_err(),
            "field number 9 is not a field of ConfigMap"
        );
    }
}
