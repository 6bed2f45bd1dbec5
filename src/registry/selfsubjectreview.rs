//! The REST of `authentication.k8s.io/v1` SelfSubjectReview
//! (`pkg/registry/authentication/selfsubjectreview`): create only, and what is created is never
//! stored. The answer is the request's own user, as the filters left it.

use serde_json::{json, Value};

use super::store::Store;
use super::Rest;
use crate::config::authentication::UserInfo;
use crate::scheme::meta::StatusError;
use crate::scheme::parameter_codec::WriteOptions;
use crate::util::time::rfc3339;

/// The generic store is kept for the kind it serves (discovery, decoding); the kind's only
/// verb is `create`, which is answered here without touching storage.
pub struct SelfSubjectReviewRest {
    pub store: Store,
}

impl Rest for SelfSubjectReviewRest {
    fn store(&self) -> &Store {
        &self.store
    }

    // ANCHOR: self_subject_review
    fn create(
        &self,
        _namespace: &str,
        _obj: Value,
        _opts: &WriteOptions,
        user: &UserInfo,
    ) -> Result<Value, StatusError> {
        let mut user_info = json!({"username": user.name});
        if !user.uid.is_empty() {
            user_info["uid"] = json!(user.uid);
        }
        if !user.groups.is_empty() {
            user_info["groups"] = json!(user.groups);
        }
        if !user.extra.is_empty() {
            user_info["extra"] = json!(user.extra);
        }
        Ok(json!({
            "kind": "SelfSubjectReview",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": rfc3339(std::time::SystemTime::now())},
            "status": {"userInfo": user_info},
        }))
    }
    // ANCHOR_END: self_subject_review
}
