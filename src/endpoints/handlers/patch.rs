//! `PATCH` (`handlers/patch.go`): the three patch types applied to the stored object, and
//! server-side apply, with the managedFields each records (book chapter 4).

use std::cell::RefCell;
use std::time::SystemTime;

use serde_json::{json, Value};

use super::ResourceHandler;
use crate::endpoints::fieldmanager::{self, conflict_message};
use crate::endpoints::patch::{json_patch, merge_patch, JsonPatchError};
use crate::endpoints::strategic::strategic_merge_patch;
use crate::http::{Request, Response};
use crate::scheme::codec::decode;
use crate::scheme::meta::{StatusCause, StatusError};
use crate::scheme::parameter_codec::WriteOptions;
use crate::scheme::schema::Struct;
use crate::scheme::{meta_str, set_meta};
use crate::util::time::rfc3339;

impl ResourceHandler {
    // ANCHOR: patch
    /// `PATCH`: a JSON patch, a JSON merge patch or a strategic merge patch, applied to the
    /// stored object and written as an update; or a server-side apply.
    pub(super) fn patch(
        &self,
        req: &Request,
        namespace: &str,
        name: &str,
    ) -> Result<Response, StatusError> {
        let opts = self.write_options(req)?;
        if media_type(req) == APPLY_PATCH && self.patch_types.contains(&APPLY_PATCH) {
            return self.apply(req, namespace, name, &opts);
        }
        if opts.force.is_some() {
            return Err(patch_options_invalid(StatusCause {
                reason: "FieldValueForbidden".into(),
                message: "Forbidden: may not be specified for non-apply patch".into(),
                field: "force".into(),
            }));
        }
        let warnings = RefCell::new(Vec::new());
        let updated = |old: &Value| {
            let patched = apply_patch(req, old.clone(), self.def.schema, self.patch_types)?;
            // The patched object is decoded as a request body would be: unknown fields, types.
            let body = serde_json::to_vec(&patched).expect("objects serialize");
            let decoded = decode(
                Some("application/json"),
                &body,
                &self.def,
                opts.field_validation,
            )?;
            *warnings.borrow_mut() = decoded.warnings;
            let mut new = decoded.object;
            self.def.strategy.set_defaults(&mut new);
            precondition(&mut new, &patched, old);
            self.track(Some(old), &mut new, &opts.field_manager, "");
            Ok(new)
        };
        let updated = self
            .rest
            .update(namespace, name, &updated, &opts, &req.context.user)?;
        Ok(Self::with_warnings(
            self.object_response(req, 200, &updated)?,
            warnings.into_inner(),
        ))
    }
    // ANCHOR_END: patch

    // ANCHOR: server_side_apply
    /// Server-side apply: the body is the applier's whole intent for the fields it manages.
    /// It creates the object if there is none (201), merges into it otherwise, and refuses
    /// with 409 to change a field another manager owns unless `force=true`.
    fn apply(
        &self,
        req: &Request,
        namespace: &str,
        name: &str,
        opts: &WriteOptions,
    ) -> Result<Response, StatusError> {
        if req
            .query_param("fieldManager")
            .unwrap_or_default()
            .is_empty()
        {
            return Err(patch_options_invalid(StatusCause {
                reason: "FieldValueRequired".into(),
                message: "Required value: is required for apply patch".into(),
                field: "fieldManager".into(),
            }));
        }
        // kubectl and client-go send the patch as JSON, which is YAML too; people send YAML.
        let (sent, _) = crate::scheme::yaml::from_slice(&req.body)
            .map_err(|e| StatusError::bad_request(format!("error decoding YAML: {e}")))?;
        if sent.pointer("/metadata/managedFields").is_some() {
            return Err(StatusError::bad_request(
                "metadata.managedFields must be nil",
            ));
        }
        let decoded = decode(
            Some(crate::scheme::codec::YAML),
            &req.body,
            &self.def,
            opts.field_validation,
        )?;
        let mut config = decoded.object;
        if meta_str(&config, "name").is_empty() {
            set_meta(&mut config, "name", json!(name));
        }
        let (schema, version) = (self.managed_schema(""), self.def.api_version());
        let now = rfc3339(SystemTime::now());
        let force = opts.force.unwrap_or(false);
        let apply = |live: Option<&Value>| {
            fieldmanager::apply(
                live,
                &config,
                &opts.field_manager,
                force,
                &version,
                &now,
                &schema,
            )
            .map_err(|conflicts| {
                let (message, causes) = conflict_message(&conflicts);
                let causes = causes
                    .into_iter()
                    .map(|(reason, message, field)| StatusCause {
                        reason,
                        message,
                        field,
                    })
                    .collect();
                StatusError::apply_conflict(message, causes)
            })
        };
        let (rest, user) = (&self.rest, &req.context.user);
        let (status, written) = match rest.store().get(namespace, name) {
            Err(e) if e.code() == 404 => (201, rest.create(namespace, apply(None)?, opts, user)?),
            Err(e) => return Err(e),
            Ok(_) => {
                let updated = |old: &Value| {
                    let mut merged = apply(Some(old))?;
                    let sent = merged.clone();
                    precondition(&mut merged, &sent, old);
                    Ok(merged)
                };
                (200, rest.update(namespace, name, &updated, opts, user)?)
            }
        };
        Ok(Self::with_warnings(
            self.object_response(req, status, &written)?,
            decoded.warnings,
        ))
    }
    // ANCHOR_END: server_side_apply
}

// ANCHOR: apply_patch
/// Applies the request's patch, of the type its `Content-Type` names, to `target`.
pub(super) fn apply_patch(
    req: &Request,
    mut target: Value,
    schema: &'static Struct,
    patch_types: &[&str],
) -> Result<Value, StatusError> {
    let media = media_type(req);
    check_patch_type(media, patch_types)?;
    let patch: Result<Value, StatusError> = serde_json::from_slice(&req.body)
        .map_err(|e| StatusError::bad_request(format!("error decoding patch: {e}")));
    match media {
        "application/json-patch+json" => json_patch(&mut target, &patch?).map_err(|e| match e {
            JsonPatchError::Malformed(why) => {
                StatusError::bad_request(format!("error decoding patch: {why}"))
            }
            JsonPatchError::Failed(why) => StatusError::new(
                422,
                format!("the server rejected our request due to an error in our request: {why}"),
            ),
        })?,
        "application/merge-patch+json" => {
            let patch = patch?;
            if !patch.is_object() {
                return Err(StatusError::bad_request(
                    "error decoding patch: a merge patch must be a JSON object",
                ));
            }
            merge_patch(&mut target, &patch)
        }
        "application/strategic-merge-patch+json" => {
            strategic_merge_patch(&mut target, &patch?, schema)
                .map_err(|why| StatusError::bad_request(format!("error decoding patch: {why}")))?
        }
        _ => return Err(unsupported_patch_type(patch_types)),
    }
    Ok(target)
}
// ANCHOR_END: apply_patch

const APPLY_PATCH: &str = "application/apply-patch+yaml";

/// The patch types of a built-in kind, in the order Go's 415 lists them.
pub const PATCH_TYPES: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    APPLY_PATCH,
];

/// A custom resource's: strategic merge patch needs the patch directives of a Go struct, which
/// a custom resource does not have (`supportedTypes` in the crdHandler).
pub const CUSTOM_RESOURCE_PATCH_TYPES: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    APPLY_PATCH,
];

/// A patch type the resource takes, other than apply (which has its own path).
fn check_patch_type(media: &str, patch_types: &[&str]) -> Result<(), StatusError> {
    if patch_types.contains(&media) && media != APPLY_PATCH {
        return Ok(());
    }
    Err(unsupported_patch_type(patch_types))
}

/// The 415 of `negotiation.NewUnsupportedMediaTypeError`.
fn unsupported_patch_type(patch_types: &[&str]) -> StatusError {
    StatusError::new(
        415,
        format!(
            "the body of the request was in an unknown format - accepted media types include: {}",
            patch_types.join(", ")
        ),
    )
}

/// The request's media type, without parameters.
fn media_type(req: &Request) -> &str {
    let content_type = req.header("content-type").unwrap_or("");
    content_type.split(';').next().unwrap_or("").trim()
}

/// Sets the `resourceVersion` a computed write must find: the one `sent` names, unless that is
/// the version the write was computed from, which leaves the write unconditional (a patch that
/// does not mention the version keeps the one it was applied to). A write that loses a race is
/// computed again from the newer object, where a version the client really named no longer
/// matches and ends in 409.
pub(super) fn precondition(new: &mut Value, sent: &Value, old: &Value) {
    let wanted = meta_str(sent, "resourceVersion").to_string();
    if wanted.is_empty() || wanted == meta_str(old, "resourceVersion") {
        if let Some(Value::Object(meta)) = new.get_mut("metadata") {
            meta.remove("resourceVersion");
        }
    } else {
        set_meta(new, "resourceVersion", Value::String(wanted));
    }
}

/// `PatchOptions.meta.k8s.io "" is invalid: ...`, Go's answer to a bad patch parameter.
fn patch_options_invalid(cause: StatusCause) -> StatusError {
    StatusError::invalid("meta.k8s.io", "PatchOptions", "", vec![cause])
}
