//! `authentication.k8s.io/v1`: SelfSubjectReview, "who am I to this server". A client creates
//! one (`kubectl auth whoami`) and gets it back with `status.userInfo` filled in with the user the
//! request was authenticated as, after impersonation. Nothing is stored: its REST is
//! [`crate::registry::selfsubjectreview`].

use std::sync::Arc;

use serde_json::Value;

use crate::scheme::meta::StatusCause;
use crate::scheme::schema::{field, Struct, Type, METADATA_DOC, OBJECT_META, STRING_LIST};
use crate::scheme::{ResourceDef, Scheme, Strategy, TableColumn};

pub const GROUP: &str = "authentication.k8s.io";

/// `authentication/v1.UserInfo`. `extra` maps to lists of strings (`ExtraValue`).
pub static USER_INFO: Struct = Struct {
    name: "io.k8s.api.authentication.v1.UserInfo",
    description: "The information about a user that the authenticators found.",
    fields: &[
        field(
            1,
            "username",
            Type::String,
            "The name that identifies this user among all active users.",
        ),
        field(
            2,
            "uid",
            Type::String,
            "A unique value that identifies this user across time.",
        ),
        field(
            3,
            "groups",
            STRING_LIST,
            "The names of the groups this user is a part of.",
        ),
        field(
            4,
            "extra",
            Type::Map(&STRING_LIST),
            "Any additional information provided by the authenticator.",
        ),
    ],
};

pub static SELF_SUBJECT_REVIEW_STATUS: Struct = Struct {
    name: "io.k8s.api.authentication.v1.SelfSubjectReviewStatus",
    description: "What the server knows about the user who sent the review.",
    fields: &[field(
        1,
        "userInfo",
        Type::Struct(&USER_INFO),
        "The user the request was authenticated as.",
    )],
};

pub static SELF_SUBJECT_REVIEW: Struct = Struct {
    name: "io.k8s.api.authentication.v1.SelfSubjectReview",
    description: "Returns the user attributes the server knows the current user by. When impersonating, it describes the impersonated user.",
    fields: &[
        field(1, "metadata", Type::Struct(&OBJECT_META), METADATA_DOC),
        field(
            2,
            "status",
            Type::Struct(&SELF_SUBJECT_REVIEW_STATUS),
            "Filled in by the server with the user attributes.",
        ),
    ],
};

pub fn add_to_scheme(scheme: &mut Scheme) {
    scheme.add_known_type(ResourceDef {
        group: GROUP.into(),
        version: "v1".into(),
        kind: "SelfSubjectReview".into(),
        resource: "selfsubjectreviews".into(),
        singular: "selfsubjectreview".into(),
        namespaced: false,
        short_names: Vec::new(),
        categories: Vec::new(),
        verbs: &["create"],
        schema: &SELF_SUBJECT_REVIEW,
        selectable_fields: &[],
        subresources: &[],
        strategy: Arc::new(SelfSubjectReviewStrategy),
    });
}

/// A review has nothing a client fills in that could be wrong: the server writes its status.
pub struct SelfSubjectReviewStrategy;

impl Strategy for SelfSubjectReviewStrategy {
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
