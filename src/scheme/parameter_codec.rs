//! Query strings to options structs: what `legacyscheme.ParameterCodec` decodes into
//! `metav1.ListOptions`, `GetOptions`, `CreateOptions` and `DeleteOptions`.
//!
//! A parameter we know with a value we cannot read is a 400, as kube-apiserver answers; unknown
//! parameters are ignored (kubectl adds `timeout=32s` to discovery, which is ours to ignore).

use super::codec::FieldValidation;
use super::meta::StatusError;
use super::selector::{FieldSelector, LabelSelector};
use super::{forbidden, not_supported};

#[derive(Debug, Default)]
pub struct ListOptions {
    pub label_selector: LabelSelector,
    pub field_selector: FieldSelector,
    pub watch: bool,
    pub allow_watch_bookmarks: bool,
    pub resource_version: String,
    /// `Exact` or `NotOlderThan`; a watch takes it only together with `sendInitialEvents`.
    pub resource_version_match: String,
    /// The streaming list: a watch that begins with the current state as ADDED events and marks
    /// their end with a bookmark annotated `k8s.io/initial-events-end`.
    pub send_initial_events: Option<bool>,
    pub timeout_seconds: Option<u64>,
    pub limit: Option<usize>,
    pub continue_token: String,
}

#[derive(Debug)]
pub struct WriteOptions {
    pub dry_run: bool,
    pub field_manager: String,
    pub field_validation: FieldValidation,
    /// `PatchOptions.force`: a server-side apply takes fields other managers own. Absent and
    /// `false` differ only in that any other patch type refuses the parameter when present.
    pub force: Option<bool>,
}

fn parse_bool(name: &str, value: &str) -> Result<bool, StatusError> {
    match value {
        "" | "true" | "1" | "True" | "TRUE" | "t" | "T" => Ok(true),
        "false" | "0" | "False" | "FALSE" | "f" | "F" => Ok(false),
        other => Err(StatusError::bad_request(format!(
            "invalid value {other:?} for query parameter {name}: want true or false"
        ))),
    }
}

fn parse_uint(name: &str, value: &str) -> Result<u64, StatusError> {
    value.parse().map_err(|_| {
        StatusError::bad_request(format!(
            "invalid value {value:?} for query parameter {name}: want a non-negative integer"
        ))
    })
}

impl ListOptions {
    pub fn decode(query: &[(String, String)]) -> Result<ListOptions, StatusError> {
        let mut o = ListOptions::default();
        for (k, v) in query {
            match k.as_str() {
                "labelSelector" => o.label_selector = LabelSelector::parse(v)?,
                "fieldSelector" => o.field_selector = FieldSelector::parse(v)?,
                "watch" => o.watch = parse_bool(k, v)?,
                "allowWatchBookmarks" => o.allow_watch_bookmarks = parse_bool(k, v)?,
                "resourceVersion" => o.resource_version = v.clone(),
                "resourceVersionMatch" => o.resource_version_match = v.clone(),
                "sendInitialEvents" => o.send_initial_events = Some(parse_bool(k, v)?),
                "timeoutSeconds" => o.timeout_seconds = Some(parse_uint(k, v)?),
                "limit" => o.limit = Some(parse_uint(k, v)? as usize).filter(|l| *l > 0),
                "continue" => o.continue_token = v.clone(),
                _ => {}
            }
        }
        o.validate()?;
        Ok(o)
    }

    // ANCHOR: validate_list_options
    /// `ValidateListOptions`: which combinations of `resourceVersion`, `resourceVersionMatch`,
    /// `continue` and `sendInitialEvents` mean something. A 422 for `ListOptions.meta.k8s.io`.
    fn validate(&self) -> Result<(), StatusError> {
        let mut causes = Vec::new();
        let rv_match = self.resource_version_match.as_str();
        // Most rules are about `resourceVersionMatch`.
        let forbid = |detail: &str| forbidden("resourceVersionMatch", detail);
        let unsupported =
            |supported: &[&str]| not_supported("resourceVersionMatch", rv_match, supported);
        if self.watch {
            if self.send_initial_events.is_some() && rv_match != "NotOlderThan" {
                causes.push(forbid(
                    "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                ));
            }
            if !rv_match.is_empty() {
                if self.send_initial_events.is_none() {
                    causes.push(forbid(
                        "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                    ));
                }
                if rv_match != "NotOlderThan" {
                    causes.push(unsupported(&["NotOlderThan"]));
                }
            }
        } else {
            if !rv_match.is_empty() {
                if self.resource_version.is_empty() {
                    causes.push(forbid(
                        "resourceVersionMatch is forbidden unless resourceVersion is provided",
                    ));
                }
                if !matches!(rv_match, "Exact" | "NotOlderThan") {
                    causes.push(unsupported(&["Exact", "NotOlderThan", ""]));
                }
                if rv_match == "Exact" && self.resource_version == "0" {
                    causes.push(forbid(
                        "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
                    ));
                }
            }
            if self.send_initial_events.is_some() {
                causes.push(forbidden(
                    "sendInitialEvents",
                    "sendInitialEvents is forbidden for list",
                ));
            }
        }
        if !rv_match.is_empty() && !self.continue_token.is_empty() {
            causes.push(forbid(
                "resourceVersionMatch is forbidden when continue is provided",
            ));
        }
        if causes.is_empty() {
            Ok(())
        } else {
            Err(StatusError::invalid(
                "meta.k8s.io",
                "ListOptions",
                "",
                causes,
            ))
        }
    }
    // ANCHOR_END: validate_list_options
}

impl WriteOptions {
    pub fn decode(query: &[(String, String)]) -> Result<WriteOptions, StatusError> {
        let mut dry_run = false;
        let mut field_manager = String::new();
        let mut field_validation = None;
        let mut force = None;
        for (k, v) in query {
            match k.as_str() {
                "dryRun" if v == "All" => dry_run = true,
                "dryRun" => {
                    return Err(StatusError::bad_request(format!(
                        "dryRun: Unsupported value: {v:?}: supported values: \"All\""
                    )))
                }
                "fieldManager" if v.len() > 128 => {
                    return Err(StatusError::bad_request(
                        "fieldManager: Too long: may not be longer than 128",
                    ))
                }
                "fieldManager" => field_manager = v.clone(),
                "fieldValidation" => field_validation = Some(v.as_str()),
                "force" => force = Some(parse_bool("force", v)?),
                _ => {}
            }
        }
        Ok(WriteOptions {
            dry_run,
            field_manager,
            field_validation: FieldValidation::parse(field_validation)?,
            force,
        })
    }
}

/// `DeleteOptions`, from the body kubectl sends (`{"propagationPolicy":"Background"}`) or the query.
#[derive(Debug, Default)]
pub struct DeleteOptions {
    pub dry_run: bool,
    pub precondition_uid: Option<String>,
    pub precondition_resource_version: Option<String>,
}

impl DeleteOptions {
    pub fn decode(query: &[(String, String)], body: &[u8]) -> Result<DeleteOptions, StatusError> {
        let mut o = DeleteOptions::default();
        for (k, v) in query {
            if k == "dryRun" {
                o.dry_run = v == "All";
            }
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(o);
        }
        let v: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| StatusError::bad_request(format!("invalid DeleteOptions body: {e}")))?;
        if !v.is_object() {
            return Err(StatusError::bad_request(
                "invalid DeleteOptions body: not an object",
            ));
        }
        if let Some(policy) = v.get("propagationPolicy").and_then(|p| p.as_str()) {
            if !matches!(policy, "Orphan" | "Background" | "Foreground") {
                return Err(StatusError::invalid(
                    "",
                    "DeleteOptions",
                    "",
                    vec![super::invalid(
                        "propagationPolicy",
                        &v["propagationPolicy"],
                        "must be one of Orphan, Background, Foreground",
                    )],
                ));
            }
        }
        if v.get("dryRun")
            .and_then(|d| d.as_array())
            .is_some_and(|d| d.iter().any(|x| x == "All"))
        {
            o.dry_run = true;
        }
        let pre = &v["preconditions"];
        o.precondition_uid = pre.get("uid").and_then(|x| x.as_str()).map(String::from);
        o.precondition_resource_version = pre
            .get("resourceVersion")
            .and_then(|x| x.as_str())
            .map(String::from);
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn list_options_from_a_watch_query() {
        let o = ListOptions::decode(&q(&[
            ("watch", "1"),
            ("resourceVersion", "42"),
            ("timeoutSeconds", "10"),
            ("limit", "500"),
        ]))
        .unwrap();
        assert!(o.watch);
        assert_eq!(
            (o.resource_version.as_str(), o.timeout_seconds, o.limit),
            ("42", Some(10), Some(500))
        );
        assert_eq!(
            ListOptions::decode(&q(&[("limit", "x")]))
                .unwrap_err()
                .code(),
            400
        );
        assert_eq!(
            ListOptions::decode(&q(&[("watch", "maybe")]))
                .unwrap_err()
                .code(),
            400
        );
    }

    #[test]
    fn write_and_delete_options() {
        let w = WriteOptions::decode(&q(&[
            ("fieldManager", "kubectl-create"),
            ("fieldValidation", "Strict"),
        ]))
        .unwrap();
        assert_eq!(w.field_validation, FieldValidation::Strict);
        assert_eq!(
            WriteOptions::decode(&q(&[("fieldValidation", "Loose")]))
                .unwrap_err()
                .code(),
            400
        );
        assert!(DeleteOptions::decode(&[], br#"{"propagationPolicy":"Background"}"#).is_ok());
        assert_eq!(
            DeleteOptions::decode(&[], br#"{"propagationPolicy":"Later"}"#)
                .unwrap_err()
                .code(),
            422
        );
        assert_eq!(DeleteOptions::decode(&[], b"{").unwrap_err().code(), 400);
        let d =
            DeleteOptions::decode(&[], br#"{"preconditions":{"resourceVersion":"7"}}"#).unwrap();
        assert_eq!(d.precondition_resource_version.as_deref(), Some("7"));
    }
}
