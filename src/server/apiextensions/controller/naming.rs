//! The `NamingConditionController` (`pkg/controller/status/naming_controller.go`): which of a
//! CRD's requested names it may have. A name another CRD of the group has already been given,
//! or one a built-in resource of the group uses, is refused with kube's reason and message, and
//! the CRD keeps the names it had; the condition `NamesAccepted` says which.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{status_write_options, update_status};
use crate::apis::apiextensions::{find_condition, set_condition};
use crate::registry::store::Store;
use crate::scheme::Scheme;

pub struct NamingConditionController {
    pub crds: Arc<Store>,
    pub scheme: Arc<Scheme>,
}

/// The resource names and the kind names already taken in one group.
#[derive(Default)]
struct UsedNames {
    resources: Vec<String>,
    kinds: Vec<String>,
}

/// `equalToAcceptedOrFresh`.
fn equal_to_accepted_or_fresh(
    requested: &str,
    accepted: &str,
    used: &[String],
) -> Result<(), String> {
    if requested == accepted || !used.iter().any(|u| u == requested) {
        return Ok(());
    }
    Err(format!("{requested:?} is already in use"))
}

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or("")
}

fn list(v: &Value, field: &str) -> Vec<String> {
    v[field]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

impl NamingConditionController {
    /// `getAcceptedNamesForGroup`, and the names of the group's built-in resources: a CRD may
    /// not take `deployments.apps` from the server.
    fn used_names(&self, crds: &[Value], group: &str) -> UsedNames {
        let mut used = UsedNames::default();
        for crd in crds.iter().filter(|c| c["spec"]["group"] == group) {
            let accepted = &crd["status"]["acceptedNames"];
            for field in ["plural", "singular"] {
                used.resources.push(text(accepted, field).to_string());
            }
            used.resources.extend(list(accepted, "shortNames"));
            for field in ["kind", "listKind"] {
                used.kinds.push(text(accepted, field).to_string());
            }
        }
        for (g, v) in self.scheme.group_versions() {
            if g != group {
                continue;
            }
            for def in self.scheme.resources_of(g, v) {
                used.resources.push(def.resource.to_string());
                used.resources.push(def.singular.to_string());
                used.resources
                    .extend(def.short_names.iter().map(|s| s.to_string()));
                used.kinds.push(def.kind.to_string());
                used.kinds.push(def.list_kind());
            }
        }
        used.resources.retain(|n| !n.is_empty());
        used.kinds.retain(|n| !n.is_empty());
        used
    }

    // ANCHOR: calculate_names
    /// `calculateNamesAndConditions`: the names the CRD may have, the `NamesAccepted` condition
    /// `(status, reason, message)`, and the `Established` condition that goes with it.
    fn calculate_names_and_conditions(
        &self,
        crd: &Value,
        crds: &[Value],
    ) -> (Value, [String; 3], [String; 3]) {
        let used = self.used_names(crds, text(&crd["spec"], "group"));
        let requested = &crd["spec"]["names"];
        let accepted = &crd["status"]["acceptedNames"];
        let mut names = if accepted.is_object() {
            accepted.clone()
        } else {
            json!({})
        };
        let mut refused: Option<(&str, String)> = None;
        for (field, reason) in [
            ("plural", "PluralConflict"),
            ("singular", "SingularConflict"),
        ] {
            match equal_to_accepted_or_fresh(
                text(requested, field),
                text(accepted, field),
                &used.resources,
            ) {
                Ok(()) => names[field] = requested[field].clone(),
                Err(e) => refused = Some((reason, e)),
            }
        }
        let requested_short = list(requested, "shortNames");
        let accepted_short = list(accepted, "shortNames");
        if requested_short != accepted_short {
            let errors: Vec<String> = requested_short
                .iter()
                .filter(|s| !accepted_short.contains(s))
                .filter(|s| **s != text(accepted, "plural") && **s != text(accepted, "singular"))
                .filter_map(|s| equal_to_accepted_or_fresh(s, "", &used.resources).err())
                .collect();
            match errors.len() {
                0 => names["shortNames"] = requested["shortNames"].clone(),
                1 => refused = Some(("ShortNamesConflict", errors[0].clone())),
                _ => refused = Some(("ShortNamesConflict", format!("[{}]", errors.join(", ")))),
            }
        }
        for (field, reason) in [("kind", "KindConflict"), ("listKind", "ListKindConflict")] {
            match equal_to_accepted_or_fresh(
                text(requested, field),
                text(accepted, field),
                &used.kinds,
            ) {
                Ok(()) => names[field] = requested[field].clone(),
                Err(e) => refused = Some((reason, e)),
            }
        }
        names["categories"] = requested["categories"].clone();
        if let Some(m) = names.as_object_mut() {
            m.retain(|_, v| !v.is_null());
        }
        let names_accepted = match &refused {
            Some((reason, message)) => ["False".into(), reason.to_string(), message.clone()],
            None => [
                "True".into(),
                "NoConflicts".into(),
                "no conflicts found".into(),
            ],
        };
        // Established is the establishing controller's to set; until then it says why not.
        let mut established = match find_condition(crd, "Established") {
            Some(c) => [0, 1, 2].map(|i| text(c, ["status", "reason", "message"][i]).to_string()),
            None => [
                "False".into(),
                "NotAccepted".into(),
                "not all names are accepted".into(),
            ],
        };
        if established[0] != "True" && names_accepted[0] == "True" {
            established = [
                "False".into(),
                "Installing".into(),
                "the initial names have been accepted".into(),
            ];
        }
        (names, names_accepted, established)
    }
    // ANCHOR_END: calculate_names

    /// `sync`: recomputes one CRD's names, and writes them if they or the condition changed.
    pub fn sync(&self, crd: &Value, crds: &[Value]) -> Result<(), String> {
        if crd["spec"]["names"] == crd["status"]["acceptedNames"] {
            return Ok(());
        }
        let (names, accepted, established) = self.calculate_names_and_conditions(crd, crds);
        let unchanged = find_condition(crd, "NamesAccepted").is_some_and(|c| {
            c["status"] == accepted[0] && c["reason"] == accepted[1] && c["message"] == accepted[2]
        });
        if crd["status"]["acceptedNames"] == names && unchanged {
            return Ok(());
        }
        if accepted[0] != "True" {
            log::info!(
                "customresourcedefinition {}: names not accepted: {}",
                text(&crd["metadata"], "name"),
                accepted[2]
            );
        }
        update_status(
            &self.crds,
            crd,
            &status_write_options(),
            &|stored: &Value| {
                let mut new = stored.clone();
                new["status"]["acceptedNames"] = names.clone();
                set_condition(
                    &mut new,
                    "NamesAccepted",
                    &accepted[0],
                    &accepted[1],
                    &accepted[2],
                );
                set_condition(
                    &mut new,
                    "Established",
                    &established[0],
                    &established[1],
                    &established[2],
                );
                new
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn controller() -> NamingConditionController {
        let storage: Arc<dyn crate::storage::Storage> =
            Arc::new(crate::storage::embedded::EmbeddedStore::new(10));
        let scheme = Arc::new(crate::apis::new_scheme());
        let def = scheme
            .lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
            .unwrap();
        let admission = Arc::new(crate::config::admission::AdmissionChain::new(&[], &[]));
        NamingConditionController {
            crds: Arc::new(Store::new(def, storage, "/registry", admission)),
            scheme,
        }
    }

    fn crd(plural: &str, group: &str, kind: &str, accepted: Value) -> Value {
        json!({"metadata": {"name": format!("{plural}.{group}")},
               "spec": {"group": group, "names": {"plural": plural, "singular": plural.trim_end_matches('s'), "kind": kind, "listKind": format!("{kind}List")}},
               "status": {"acceptedNames": accepted}})
    }

    #[test]
    fn fresh_names_are_accepted_and_installing() {
        let c = controller();
        let a = crd(
            "widgets",
            "example.com",
            "Widget",
            json!({"plural": "", "kind": ""}),
        );
        let (names, accepted, established) =
            c.calculate_names_and_conditions(&a, std::slice::from_ref(&a));
        assert_eq!(names["plural"], "widgets");
        assert_eq!(names["listKind"], "WidgetList");
        assert_eq!(accepted, ["True", "NoConflicts", "no conflicts found"]);
        assert_eq!(
            established,
            [
                "False",
                "Installing",
                "the initial names have been accepted"
            ]
        );
    }

    #[test]
    fn a_kind_taken_by_another_crd_is_a_conflict() {
        let c = controller();
        let first = crd(
            "widgets",
            "example.com",
            "Widget",
            json!({"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"}),
        );
        let second = crd(
            "gadgets",
            "example.com",
            "Widget",
            json!({"plural": "", "kind": ""}),
        );
        let all = [first, second.clone()];
        let (names, accepted, established) = c.calculate_names_and_conditions(&second, &all);
        assert_eq!(
            accepted,
            [
                "False",
                "ListKindConflict",
                "\"WidgetList\" is already in use"
            ]
        );
        assert_eq!(names["kind"], "", "the kind stays as it was accepted");
        assert_eq!(names["plural"], "gadgets");
        assert_eq!(established[1], "NotAccepted");
    }

    #[test]
    fn a_built_in_plural_of_the_group_is_taken() {
        let c = controller();
        let mut clash = crd(
            "deployments",
            "apps",
            "MyDeployment",
            json!({"plural": "", "kind": ""}),
        );
        clash["spec"]["names"]["singular"] = json!("mydeployment");
        let (_, accepted, _) =
            c.calculate_names_and_conditions(&clash, std::slice::from_ref(&clash));
        assert_eq!(
            accepted,
            [
                "False",
                "PluralConflict",
                "\"deployments\" is already in use"
            ]
        );
    }
}
