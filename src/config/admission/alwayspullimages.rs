//! AlwaysPullImages (`plugin/pkg/admission/alwayspullimages`): every container of a pod pulls
//! its image on each start. On a shared cluster that is what makes a private image private: a
//! node that pulled it once for someone with the credentials would otherwise run it for anyone
//! who names it. Off by default.
//!
//! Mutating, it sets `imagePullPolicy: Always`; validating, it refuses a pod that a later
//! mutating plugin changed back. An update that brings no new image is left alone, as the pod's
//! policies cannot change after create anyway.

use serde_json::Value;

use super::{
    aggregate, containers, containers_mut, AdmissionPlugin, Attributes, Operation, CONTAINER_LISTS,
};
use crate::scheme::meta::StatusError;

pub struct AlwaysPullImages;

/// `shouldIgnore`: only writes of pods themselves, and of those only creates and the updates
/// that name an image the old pod did not have.
fn should_ignore(attrs: &Attributes, pod: &Value) -> bool {
    if !attrs.is("", "pods") || attrs.operation == Operation::Delete {
        return true;
    }
    match (attrs.operation, attrs.old_object) {
        (Operation::Update, Some(old)) => {
            let old_images: Vec<&Value> = containers(old).map(|(_, c)| &c["image"]).collect();
            containers(pod).all(|(_, c)| old_images.contains(&&c["image"]))
        }
        _ => false,
    }
}

impl AdmissionPlugin for AlwaysPullImages {
    // ANCHOR: always_pull_images
    fn admit(&self, attrs: &Attributes, pod: &mut Value) -> Result<(), StatusError> {
        if should_ignore(attrs, pod) {
            return Ok(());
        }
        for list in CONTAINER_LISTS {
            for c in containers_mut(pod, list) {
                c["imagePullPolicy"] = Value::String("Always".into());
            }
        }
        Ok(())
    }

    fn validate(&self, attrs: &Attributes, pod: &Value) -> Result<(), StatusError> {
        if should_ignore(attrs, pod) {
            return Ok(());
        }
        let errors: Vec<String> = containers(pod)
            .filter(|(_, c)| c["imagePullPolicy"] != "Always")
            .map(|(path, c)| {
                let cause = crate::scheme::not_supported(
                    &format!("{path}.imagePullPolicy"),
                    c["imagePullPolicy"].as_str().unwrap_or_default(),
                    &["Always"],
                );
                attrs
                    .forbidden(pod, &format!("{}: {}", cause.field, cause.message))
                    .0
                    .message
            })
            .collect();
        if errors.is_empty() {
            return Ok(());
        }
        // Go returns the per-container Forbidden errors joined in a plain aggregate error, which
        // is no API status, so kube-apiserver answers it as an unknown error: a 500 with the
        // joined messages. Only a mutating plugin after this one (a webhook) can get here.
        Err(StatusError::new(500, aggregate(&errors)))
    }
    // ANCHOR_END: always_pull_images
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::admin_user;

    fn run(op: Operation, pod: &mut Value, old: Option<&Value>) -> Result<(), StatusError> {
        let scheme = crate::apis::new_scheme();
        let def = scheme.lookup("", "v1", "pods").unwrap();
        let user = admin_user();
        let attrs = Attributes {
            operation: op,
            def: &def,
            namespace: "default",
            name: "p",
            subresource: "",
            old_object: old,
            dry_run: false,
            user: &user,
        };
        AlwaysPullImages.admit(&attrs, pod)?;
        AlwaysPullImages.validate(&attrs, pod)
    }

    #[test]
    fn every_container_pulls_always() {
        let mut pod = json!({"metadata": {"name": "p"}, "spec": {
            "initContainers": [{"name": "i", "image": "busybox:1", "imagePullPolicy": "Never"}],
            "containers": [{"name": "c", "image": "nginx:1", "imagePullPolicy": "IfNotPresent"}]}});
        run(Operation::Create, &mut pod, None).unwrap();
        assert_eq!(
            pod["spec"]["initContainers"][0]["imagePullPolicy"],
            "Always"
        );
        assert_eq!(pod["spec"]["containers"][0]["imagePullPolicy"], "Always");
        assert!(pod["spec"].get("ephemeralContainers").is_none());
    }

    #[test]
    fn an_update_without_new_images_is_left_alone() {
        let old = json!({"spec": {"containers": [{"name": "c", "image": "nginx:1",
                                                  "imagePullPolicy": "IfNotPresent"}]}});
        let mut same = old.clone();
        run(Operation::Update, &mut same, Some(&old)).unwrap();
        assert_eq!(same, old);
        let mut newer = json!({"spec": {"containers": [{"name": "c", "image": "nginx:2",
                                                        "imagePullPolicy": "IfNotPresent"}]}});
        run(Operation::Update, &mut newer, Some(&old)).unwrap();
        assert_eq!(newer["spec"]["containers"][0]["imagePullPolicy"], "Always");
    }

    #[test]
    fn validate_refuses_any_other_policy_in_gos_words() {
        let scheme = crate::apis::new_scheme();
        let def = scheme.lookup("", "v1", "pods").unwrap();
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
        let pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "a", "image": "x", "imagePullPolicy": "Always"},
            {"name": "b", "image": "y", "imagePullPolicy": "IfNotPresent"},
            {"name": "c", "image": "z", "imagePullPolicy": "Never"}]}});
        let err = AlwaysPullImages.validate(&attrs, &pod).unwrap_err();
        assert_eq!(err.code(), 500);
        assert_eq!(
            err.0.message,
            "[pods \"p\" is forbidden: spec.containers[1].imagePullPolicy: Unsupported value: \"IfNotPresent\": supported values: \"Always\", \
             pods \"p\" is forbidden: spec.containers[2].imagePullPolicy: Unsupported value: \"Never\": supported values: \"Always\"]"
        );
    }
}
