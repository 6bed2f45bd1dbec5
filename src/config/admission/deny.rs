//! AlwaysDeny (`plugin/pkg/admission/deny`): refuses every write. Useful only to see where
//! admission sits: a request that reaches it has passed authentication, authorization, decoding
//! and validation, and still changes nothing. With it on, kube-apiserver's own post-start writes
//! (the system namespaces) are refused too, so the server never becomes ready, as a real one
//! would not.

use serde_json::Value;

use super::{AdmissionPlugin, Attributes};
use crate::scheme::meta::StatusError;

pub struct AlwaysDeny;

impl AdmissionPlugin for AlwaysDeny {
    fn admit(&self, attrs: &Attributes, obj: &mut Value) -> Result<(), StatusError> {
        Err(attrs.forbidden(obj, "admission control is denying all modifications"))
    }

    fn validate(&self, attrs: &Attributes, obj: &Value) -> Result<(), StatusError> {
        Err(attrs.forbidden(obj, "admission control is denying all modifications"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::admin_user;
    use crate::config::admission::Operation;

    #[test]
    fn refuses_naming_a_generated_object_by_its_prefix() {
        let scheme = crate::apis::new_scheme();
        let def = scheme.lookup("", "v1", "configmaps").unwrap();
        let user = admin_user();
        let attrs = Attributes {
            operation: Operation::Create,
            def: &def,
            namespace: "default",
            name: "",
            subresource: "",
            old_object: None,
            dry_run: false,
            user: &user,
        };
        let mut obj = json!({"metadata": {"generateName": "gen-"}});
        let err = AlwaysDeny.admit(&attrs, &mut obj).unwrap_err();
        assert_eq!(err.code(), 403);
        assert_eq!(
            err.0.message,
            "configmaps \"gen-\" is forbidden: admission control is denying all modifications"
        );
    }
}
