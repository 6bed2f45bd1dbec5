//! Reading request bodies and choosing how to write responses: what `legacyscheme.Codecs`
//! (a `serializer.CodecFactory`) does for kube-apiserver.
//!
//! We write JSON or YAML, and read JSON, YAML or (for the kinds kubectl's typed commands create)
//! protobuf. YAML goes through JSON both ways, as kube's YAML serializer does (see [`super::yaml`]).
//! A request may ask for the same object as a `meta.k8s.io/v1` Table (kubectl's
//! human output) or as `PartialObjectMetadata`; those are views, built in `endpoints::table`.

use serde_json::{Map, Value};

use super::meta::StatusError;
use super::{protobuf, schema, strict_json, yaml, ResourceDef};
use crate::http::Response;

/// Kubernetes' protobuf media type, which kubectl's typed commands send.
pub const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

/// What the client wants back, from its `Accept` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Json,
    /// `application/yaml`, for single objects and lists (a watch has no YAML stream).
    Yaml,
    Table,
    PartialObjectMetadata,
}

/// The first media type in `Accept` that we can produce. kubectl lists what it prefers first
/// (Table, then JSON); a client that accepts nothing we write gets 406.
pub fn negotiate(accept: Option<&str>) -> Result<Output, StatusError> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(Output::Json);
    };
    for candidate in accept.split(',') {
        let mut parts = candidate.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let params: Vec<(String, String)> = parts
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let param = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        if media == "application/yaml" && param("as").is_none() {
            return Ok(Output::Yaml);
        }
        if !matches!(media.as_str(), "application/json" | "application/*" | "*/*") {
            continue;
        }
        let meta_group =
            param("g") == Some("meta.k8s.io") && matches!(param("v"), Some("v1") | Some("v1beta1"));
        match param("as") {
            None => return Ok(Output::Json),
            Some("Table") if meta_group => return Ok(Output::Table),
            Some("PartialObjectMetadata") | Some("PartialObjectMetadataList") if meta_group => {
                return Ok(Output::PartialObjectMetadata)
            }
            Some(_) => continue,
        }
    }
    Err(StatusError::not_acceptable())
}

// ANCHOR: respond
/// An object or list in the negotiated media type: YAML is the JSON form written by
/// [`yaml::to_string`], as `JSONToYAML` writes it.
pub fn respond(output: Output, status: u16, body: &Value) -> Response {
    match output {
        Output::Yaml => Response::bytes(status, YAML, yaml::to_string(body).into_bytes())
            .with_header("Cache-Control", "no-cache, private"),
        _ => Response::json(status, body),
    }
}
// ANCHOR_END: respond

/// The YAML media type kube-apiserver reads and writes.
pub const YAML: &str = "application/yaml";

/// YAML turned into JSON for the JSON codec, with the keys it repeats; a body that is not
/// YAML gets the 400 of `transformDecodeError`, which names the kind and shows the body's
/// first 30 bytes in hex.
// ANCHOR: yaml_to_json
pub fn yaml_to_json(body: &[u8], kind: &str) -> Result<(Value, Vec<String>), StatusError> {
    yaml::from_slice(body).map_err(|e| {
        let summary = match body.len() {
            0 => "<empty>".to_string(),
            n if n > 30 => format!("{} ...", hex(&body[..30])),
            _ => hex(body),
        };
        StatusError::bad_request(format!(
            "the object provided is unrecognized (must be of type {kind}): {e} ({summary})"
        ))
    })
}
// ANCHOR_END: yaml_to_json

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `?fieldValidation=`: what to do with fields the kind does not have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

impl FieldValidation {
    /// Unset means `Warn`, as in kube-apiserver since server-side field validation went GA.
    pub fn parse(value: Option<&str>) -> Result<FieldValidation, StatusError> {
        match value.unwrap_or("Warn") {
            "Ignore" => Ok(FieldValidation::Ignore),
            "" | "Warn" => Ok(FieldValidation::Warn),
            "Strict" => Ok(FieldValidation::Strict),
            other => Err(StatusError::bad_request(format!(
                "fieldValidation parameter unsupported: {other:?}, valid values are: Ignore, Warn, Strict"
            ))),
        }
    }
}

/// A decoded body and the warnings to send back in `Warning` headers.
pub struct Decoded {
    pub object: Value,
    pub warnings: Vec<String>,
}

/// Decodes a request body as an object of `def`'s kind.
///
/// A missing `Content-Type` is JSON: the Python client sends none on create. A missing
/// `apiVersion`/`kind` is filled from the URL, as kube-apiserver does; a different one is refused.
pub fn decode(
    content_type: Option<&str>,
    body: &[u8],
    def: &ResourceDef,
    validation: FieldValidation,
) -> Result<Decoded, StatusError> {
    let media = content_type
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let (mut object, duplicates) = match media.as_str() {
        "" | "application/json" => strict_json::from_slice(body).map_err(|e| {
            StatusError::bad_request(format!(
                "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: {e}",
                def.kind
            ))
        })?,
        YAML => yaml_to_json(body, def.kind.as_ref())?,
        // Custom resources are JSON only: their objects have no protobuf schema.
        PROTOBUF if def.schema.is_open() => {
            return Err(StatusError::new(
                415,
                format!("the body of the request was in an unknown format - accepted media types include: application/json (got {:?})", content_type.unwrap_or("")),
            ))
        }
        PROTOBUF => {
            let object = protobuf::decode(body, def.schema).map_err(|why| {
                StatusError::bad_request(format!("unable to decode a protobuf {}: {why}", def.kind))
            })?;
            (object, Vec::new())
        }
        _ => return Err(StatusError::unsupported_media_type(content_type.unwrap_or(""))),
    };
    let Some(fields) = object.as_object_mut() else {
        return Err(StatusError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): the body is not a JSON object",
            def.kind
        )));
    };
    check_type_meta(fields, def)?;
    let mut problems = schema::Problems::default();
    schema::check(fields, def.schema, &mut problems);
    if let Some(why) = problems.type_error {
        return Err(StatusError::bad_request(format!(
            "{} in version {:?} cannot be handled as a {}: {why}",
            def.kind, def.version, def.kind
        )));
    }
    problems.unknown.extend(def.strategy.prune(&mut object));
    // ANCHOR: strict_decoding
    let warnings: Vec<String> = (duplicates.iter())
        .map(|f| format!("duplicate field \"{f}\""))
        .chain(
            problems
                .unknown
                .iter()
                .map(|f| format!("unknown field \"{f}\"")),
        )
        .collect();
    match validation {
        FieldValidation::Strict if !warnings.is_empty() => Err(StatusError::bad_request(format!(
            "{} in version {:?} cannot be handled as a {}: strict decoding error: {}",
            def.kind,
            def.version,
            def.kind,
            warnings.join(", ")
        ))),
        FieldValidation::Warn => Ok(Decoded { object, warnings }),
        _ => Ok(Decoded {
            object,
            warnings: Vec::new(),
        }),
    }
    // ANCHOR_END: strict_decoding
}

fn check_type_meta(fields: &mut Map<String, Value>, def: &ResourceDef) -> Result<(), StatusError> {
    let want_version = def.api_version();
    match fields.get("apiVersion") {
        None => {}
        Some(Value::String(v)) if *v == want_version => {}
        Some(other) => {
            return Err(StatusError::bad_request(format!(
                "the API version in the data ({}) does not match the expected API version ({want_version})",
                other.as_str().unwrap_or("not a string")
            )))
        }
    }
    match fields.get("kind") {
        None => {}
        Some(Value::String(k)) if *k == def.kind => {}
        Some(other) => {
            return Err(StatusError::bad_request(format!(
                "the kind in the data ({}) does not match the expected kind ({})",
                other.as_str().unwrap_or("not a string"),
                def.kind
            )))
        }
    }
    fields.insert("apiVersion".into(), Value::String(want_version));
    fields.insert("kind".into(), Value::String(def.kind.to_string()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_gets_a_table_and_others_json() {
        let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(negotiate(Some(kubectl)).unwrap(), Output::Table);
        assert_eq!(
            negotiate(Some("application/json, */*")).unwrap(),
            Output::Json
        );
        assert_eq!(negotiate(None).unwrap(), Output::Json);
        assert_eq!(
            negotiate(Some("application/yaml, application/json")).unwrap(),
            Output::Yaml
        );
        assert_eq!(
            negotiate(Some("application/vnd.kubernetes.protobuf,application/json")).unwrap(),
            Output::Json
        );
        assert_eq!(
            negotiate(Some("application/vnd.kubernetes.protobuf"))
                .unwrap_err()
                .code(),
            406
        );
        assert_eq!(
            negotiate(Some("application/json;as=Unknown;v=v1;g=x"))
                .unwrap_err()
                .code(),
            406
        );
    }

    #[test]
    fn a_yaml_body_that_does_not_parse_is_a_400_naming_the_kind_and_the_bytes() {
        let err = yaml_to_json(b"a: [1", "ConfigMap").unwrap_err();
        assert_eq!(err.code(), 400);
        assert_eq!(
            err.to_string(),
            "the object provided is unrecognized (must be of type ConfigMap): yaml: line 1 column 4: did not find the closing ']' of a flow sequence (613a205b31) (400)"
        );
    }
}
