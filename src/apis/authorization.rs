//! `authorization.k8s.io/v1`: the access reviews (book chapter 3). Mirrors
//! `pkg/apis/authorization` and its validation. A review is a question put to the authorizer
//! by creating an object: the answer comes back in its `status`, and nothing is stored. The REST
//! that answers is `registry::authorization`.

use std::sync::Arc;

use serde_json::Value;

use crate::scheme::meta::StatusCause;
use crate::scheme::schema::{
    field, Field, ListType, Struct, Type, METADATA_DOC, OBJECT_META, STRING_LIST,
};
use crate::scheme::{invalid, ResourceDef, Scheme, Strategy, TableColumn};

pub const GROUP: &str = "authorization.k8s.io";

pub fn add_to_scheme(scheme: &mut Scheme) {
    let kinds: [(&'static str, &'static str, bool, &'static Struct); 4] = [
        (
            "LocalSubjectAccessReview",
            "localsubjectaccessreviews",
            true,
            &LOCAL_SUBJECT_ACCESS_REVIEW,
        ),
        (
            "SelfSubjectAccessReview",
            "selfsubjectaccessreviews",
            false,
            &SELF_SUBJECT_ACCESS_REVIEW,
        ),
        (
            "SelfSubjectRulesReview",
            "selfsubjectrulesreviews",
            false,
            &SELF_SUBJECT_RULES_REVIEW,
        ),
        (
            "SubjectAccessReview",
            "subjectaccessreviews",
            false,
            &SUBJECT_ACCESS_REVIEW,
        ),
    ];
    for (kind, resource, namespaced, schema) in kinds {
        scheme.add_known_type(ResourceDef {
            group: GROUP.into(),
            version: "v1".into(),
            kind: kind.into(),
            resource: resource.into(),
            singular: resource.trim_end_matches('s').into(),
            namespaced,
            short_names: Vec::new(),
            categories: Vec::new(),
            verbs: &["create"],
            schema,
            selectable_fields: &[],
            subresources: &[],
            strategy: Arc::new(ReviewStrategy),
        });
    }
}

static SELECTOR_REQUIREMENT: Struct = Struct {
    name: "io.k8s.apimachinery.pkg.apis.meta.v1.FieldSelectorRequirement",
    description: "One requirement of a selector: a key, an operator, values.",
    fields: &[
        field(
            1,
            "key",
            Type::String,
            "The key the requirement applies to.",
        ),
        field(
            2,
            "operator",
            Type::String,
            "In, NotIn, Exists or DoesNotExist.",
        ),
        field(3, "values", STRING_LIST, "The values for In and NotIn."),
    ],
};

static SELECTOR_ATTRIBUTES: Struct = Struct {
    name: "io.k8s.api.authorization.v1.FieldSelectorAttributes",
    description: "A selector the request is limited by, which an authorizer may take into account.",
    fields: &[
        field(
            1,
            "rawSelector",
            Type::String,
            "The selector as a query parameter writes it.",
        ),
        field(
            2,
            "requirements",
            Type::List(&Type::Struct(&SELECTOR_REQUIREMENT), ListType::Atomic),
            "The selector, parsed.",
        ),
    ],
};

pub static RESOURCE_ATTRIBUTES: Struct = Struct {
    name: "io.k8s.api.authorization.v1.ResourceAttributes",
    description: "The request asked about, when it is a resource request.",
    fields: &[
        field(1, "namespace", Type::String, "The namespace of the request; \"\" for cluster-scoped resources and all namespaces."),
        field(2, "verb", Type::String, "get, list, watch, create, update, patch, delete, deletecollection, or another verb such as bind or escalate."),
        field(3, "group", Type::String, "The API group; \"\" for the core group."),
        field(4, "version", Type::String, "The API version; \"\" means all."),
        field(5, "resource", Type::String, "The resource, plural."),
        field(6, "subresource", Type::String, "The subresource, if any."),
        field(7, "name", Type::String, "The name of the object; \"\" means all."),
        field(8, "fieldSelector", Type::Pointer(&Type::Struct(&SELECTOR_ATTRIBUTES)), "The field selector of a list or watch."),
        field(9, "labelSelector", Type::Pointer(&Type::Struct(&SELECTOR_ATTRIBUTES)), "The label selector of a list or watch."),
    ],
};

pub static NON_RESOURCE_ATTRIBUTES: Struct = Struct {
    name: "io.k8s.api.authorization.v1.NonResourceAttributes",
    description: "The request asked about, when it is for a plain path.",
    fields: &[
        field(1, "path", Type::String, "The URL path."),
        field(2, "verb", Type::String, "The lower-cased HTTP method."),
    ],
};

pub static SUBJECT_ACCESS_REVIEW_SPEC: Struct = Struct {
    name: "io.k8s.api.authorization.v1.SubjectAccessReviewSpec",
    description:
        "Who asks, and for what: exactly one of resourceAttributes and nonResourceAttributes.",
    fields: &[
        field(
            1,
            "resourceAttributes",
            Type::Pointer(&Type::Struct(&RESOURCE_ATTRIBUTES)),
            "The resource request.",
        ),
        field(
            2,
            "nonResourceAttributes",
            Type::Pointer(&Type::Struct(&NON_RESOURCE_ATTRIBUTES)),
            "The non-resource request.",
        ),
        field(3, "user", Type::String, "The user to check for."),
        field(4, "groups", STRING_LIST, "The user's groups."),
        field(
            5,
            "extra",
            Type::Map(&STRING_LIST),
            "The user's extra information.",
        ),
        field(6, "uid", Type::String, "The user's UID."),
    ],
};

pub static SELF_SUBJECT_ACCESS_REVIEW_SPEC: Struct = Struct {
    name: "io.k8s.api.authorization.v1.SelfSubjectAccessReviewSpec",
    description: "What the requesting user asks about: exactly one of the two attributes.",
    fields: &[
        field(
            1,
            "resourceAttributes",
            Type::Pointer(&Type::Struct(&RESOURCE_ATTRIBUTES)),
            "The resource request.",
        ),
        field(
            2,
            "nonResourceAttributes",
            Type::Pointer(&Type::Struct(&NON_RESOURCE_ATTRIBUTES)),
            "The non-resource request.",
        ),
    ],
};

pub static SUBJECT_ACCESS_REVIEW_STATUS: Struct = Struct {
    name: "io.k8s.api.authorization.v1.SubjectAccessReviewStatus",
    description: "The answer.",
    fields: &[
        field(
            1,
            "allowed",
            Type::Boolean,
            "Whether the request would be allowed.",
        ),
        field(2, "reason", Type::String, "Why, as the authorizer says it."),
        field(
            3,
            "evaluationError",
            Type::String,
            "What went wrong while deciding, if anything.",
        ),
        field(
            4,
            "denied",
            Type::Boolean,
            "Whether an authorizer denied it outright (rather than no one allowing it).",
        ),
    ],
};

/// Every review kind's fields: the question under `spec`, and under `status` the answer the
/// server fills in; nothing of it is stored.
const fn review_fields(
    spec: &'static Struct,
    spec_doc: &'static str,
    status: &'static Struct,
) -> [Field; 3] {
    [
        field(1, "metadata", Type::Struct(&OBJECT_META), METADATA_DOC),
        field(2, "spec", Type::Struct(spec), spec_doc),
        field(
            3,
            "status",
            Type::Struct(status),
            "The answer, filled in by the server.",
        ),
    ]
}

pub static SUBJECT_ACCESS_REVIEW: Struct = Struct {
    name: "io.k8s.api.authorization.v1.SubjectAccessReview",
    description: "Asks whether a given user may do something.",
    fields: &review_fields(
        &SUBJECT_ACCESS_REVIEW_SPEC,
        "The question.",
        &SUBJECT_ACCESS_REVIEW_STATUS,
    ),
};

pub static LOCAL_SUBJECT_ACCESS_REVIEW: Struct = Struct {
    name: "io.k8s.api.authorization.v1.LocalSubjectAccessReview",
    description: "Asks whether a given user may do something in one namespace; whoever may \
                  create it in that namespace may ask.",
    fields: &review_fields(
        &SUBJECT_ACCESS_REVIEW_SPEC,
        "The question; its namespace must be the review's.",
        &SUBJECT_ACCESS_REVIEW_STATUS,
    ),
};

pub static SELF_SUBJECT_ACCESS_REVIEW: Struct = Struct {
    name: "io.k8s.api.authorization.v1.SelfSubjectAccessReview",
    description: "Asks whether the requesting user may do something (kubectl auth can-i).",
    fields: &review_fields(
        &SELF_SUBJECT_ACCESS_REVIEW_SPEC,
        "The question.",
        &SUBJECT_ACCESS_REVIEW_STATUS,
    ),
};

pub static RESOURCE_RULE: Struct = Struct {
    name: "io.k8s.api.authorization.v1.ResourceRule",
    description: "Verbs the user may use on resources.",
    fields: &[
        field(1, "verbs", STRING_LIST, "The verbs; '*' is all."),
        field(2, "apiGroups", STRING_LIST, "The API groups; '*' is all."),
        field(3, "resources", STRING_LIST, "The resources; '*' is all."),
        field(
            4,
            "resourceNames",
            STRING_LIST,
            "The names the rule is limited to.",
        ),
    ],
};

pub static NON_RESOURCE_RULE: Struct = Struct {
    name: "io.k8s.api.authorization.v1.NonResourceRule",
    description: "Verbs the user may use on plain paths.",
    fields: &[
        field(1, "verbs", STRING_LIST, "The verbs; '*' is all."),
        field(
            2,
            "nonResourceURLs",
            STRING_LIST,
            "The paths; a trailing '*' is a prefix.",
        ),
    ],
};

pub static SELF_SUBJECT_RULES_REVIEW_SPEC: Struct = Struct {
    name: "io.k8s.api.authorization.v1.SelfSubjectRulesReviewSpec",
    description: "The namespace to list the rules in.",
    fields: &[field(1, "namespace", Type::String, "The namespace.")],
};

pub static SUBJECT_RULES_REVIEW_STATUS: Struct = Struct {
    name: "io.k8s.api.authorization.v1.SubjectRulesReviewStatus",
    description: "What the user may do in the namespace.",
    fields: &[
        field(
            1,
            "resourceRules",
            Type::List(&Type::Struct(&RESOURCE_RULE), ListType::Atomic),
            "Rules on resources.",
        ),
        field(
            2,
            "nonResourceRules",
            Type::List(&Type::Struct(&NON_RESOURCE_RULE), ListType::Atomic),
            "Rules on plain paths.",
        ),
        field(
            3,
            "incomplete",
            Type::Boolean,
            "True when some authorizer cannot list what it would allow.",
        ),
        field(
            4,
            "evaluationError",
            Type::String,
            "What went wrong while listing, if anything.",
        ),
    ],
};

pub static SELF_SUBJECT_RULES_REVIEW: Struct = Struct {
    name: "io.k8s.api.authorization.v1.SelfSubjectRulesReview",
    description:
        "Lists what the requesting user may do in a namespace (kubectl auth can-i --list).",
    fields: &review_fields(
        &SELF_SUBJECT_RULES_REVIEW_SPEC,
        "The question.",
        &SUBJECT_RULES_REVIEW_STATUS,
    ),
};

// ANCHOR: validate_review
/// `ValidateSubjectAccessReviewSpec` (and its Self form, without the user part): exactly one
/// of the two attributes; a SubjectAccessReview must also name a user or a group.
pub fn validate_spec(spec: &Value, needs_subject: bool) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    let resource = &spec["resourceAttributes"];
    let non_resource = &spec["nonResourceAttributes"];
    if !resource.is_null() && !non_resource.is_null() {
        causes.push(invalid(
            "spec.nonResourceAttributes",
            non_resource,
            "cannot be specified in combination with resourceAttributes",
        ));
    }
    if resource.is_null() && non_resource.is_null() {
        causes.push(invalid(
            "spec.resourceAttributes",
            &Value::Null,
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        ));
    }
    let no_groups = spec["groups"].as_array().is_none_or(Vec::is_empty);
    let user = spec["user"].as_str().unwrap_or_default();
    if needs_subject && user.is_empty() && no_groups {
        causes.push(invalid(
            "spec.user",
            &Value::from(user),
            "at least one of user or group must be specified",
        ));
    }
    causes
}
// ANCHOR_END: validate_review

/// The reviews are never stored, so there is nothing for the generic strategy to check or
/// print; their REST validates the question itself, as Go's does.
pub struct ReviewStrategy;

impl Strategy for ReviewStrategy {
    fn validate(&self, _obj: &Value) -> Vec<StatusCause> {
        Vec::new()
    }

    fn table_columns(&self) -> Vec<TableColumn> {
        Vec::new()
    }

    fn table_cells(&self, _obj: &Value) -> Vec<Value> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_question_names_one_thing_and_someone() {
        let fields = |spec: Value, subject: bool| -> Vec<String> {
            validate_spec(&spec, subject)
                .into_iter()
                .map(|c| c.field)
                .collect()
        };
        assert!(fields(
            json!({"resourceAttributes": {"verb": "get"}, "user": "bob"}),
            true
        )
        .is_empty());
        assert_eq!(
            fields(json!({"user": "bob"}), true),
            ["spec.resourceAttributes"]
        );
        assert_eq!(
            fields(
                json!({"resourceAttributes": {}, "nonResourceAttributes": {}}),
                true
            ),
            ["spec.nonResourceAttributes", "spec.user"]
        );
        assert!(fields(json!({"nonResourceAttributes": {"path": "/"}}), false).is_empty());
    }
}
