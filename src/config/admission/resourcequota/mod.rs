//! ResourceQuota (`k8s.io/apiserver/pkg/admission/plugin/resourcequota`): a create (or what an
//! update adds) is charged against every ResourceQuota of its namespace that counts it, and
//! refused (403) if any of them would go over `status.hard`.
//!
//! It is a validating plugin and runs last but for AlwaysDeny, so that what it charges is the
//! object as it will be stored (LimitRanger's defaults included) and nothing is charged for a
//! request another plugin refuses. The charge is a compare-and-swap write of the quota's
//! `status.used` through `/status`: two creates that race read the same `used`, one write wins,
//! and the other is computed again from the winner's `used`, so both cannot slip under the same
//! last unit. A dry run is judged but charges nothing.
//!
//! Go batches the charges of concurrent requests and retries the batch on a conflict; one
//! request's charge at a time, retried by the store's update loop, is the same guarantee. As in
//! Go, a create charged here and then refused by storage (its name was taken) stays charged
//! until the quota controller (`server::resourcequota`) next recounts.

pub mod evaluator;

use std::sync::Arc;

use serde_json::Value;

use super::{loopback_write_options, AdmissionPlugin, Attributes, Clients, Operation};
use crate::config::admin_user;
use crate::scheme::meta::StatusError;
use crate::scheme::meta_str;
use crate::util::resource::{resource_list, resource_list_value, Quantity, ResourceList};

pub struct ResourceQuota {
    clients: Arc<Clients>,
}

impl ResourceQuota {
    pub fn new(clients: &Arc<Clients>) -> ResourceQuota {
        ResourceQuota {
            clients: Arc::clone(clients),
        }
    }
}

/// `prettyPrint`: `pods=1,requests.cpu=500m`, in name order.
fn pretty_print(list: &ResourceList) -> String {
    list.iter()
        .map(|(k, q)| format!("{k}={q}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// `SubtractWithNonNegativeResult`: what `new` uses beyond `old`, nothing where it uses less.
fn growth(new: &ResourceList, old: &ResourceList) -> ResourceList {
    new.iter()
        .filter_map(|(k, q)| {
            let more = *q - old.get(k).copied().unwrap_or(Quantity::ZERO);
            (!more.is_zero() && !more.is_negative()).then(|| (k.clone(), more))
        })
        .collect()
}

fn mask(list: &ResourceList, names: &[&String]) -> ResourceList {
    list.iter()
        .filter(|(k, _)| names.contains(k))
        .map(|(k, q)| (k.clone(), *q))
        .collect()
}

// ANCHOR: quota_charge
/// One quota's new `status.used` with `delta` charged, or kube-apiserver's refusal if that goes
/// over `status.hard`.
fn charge(quota: &Value, delta: &ResourceList) -> Result<ResourceList, String> {
    let hard = resource_list(&quota["status"]["hard"]);
    let used = resource_list(&quota["status"]["used"]);
    let hard_names: Vec<&String> = hard.keys().collect();
    let requested = mask(delta, &hard_names);
    let mut new_used = used.clone();
    for (k, q) in &requested {
        let sum = new_used.get(k).copied().unwrap_or(Quantity::ZERO) + *q;
        new_used.insert(k.clone(), sum);
    }
    let exceeded: Vec<&String> = requested
        .keys()
        .filter(|k| new_used[*k] > hard[*k])
        .collect();
    if exceeded.is_empty() {
        return Ok(new_used);
    }
    Err(format!(
        "exceeded quota: {}, requested: {}, used: {}, limited: {}",
        meta_str(quota, "name"),
        pretty_print(&mask(&requested, &exceeded)),
        pretty_print(&mask(&used, &exceeded)),
        pretty_print(&mask(&hard, &exceeded)),
    ))
}
// ANCHOR_END: quota_charge

impl AdmissionPlugin for ResourceQuota {
    // ANCHOR: quota_validate
    fn validate(&self, attrs: &Attributes, obj: &Value) -> Result<(), StatusError> {
        // A delete is given back by the controller's recount, not here.
        if attrs.operation == Operation::Delete
            || !attrs.subresource.is_empty()
            || attrs.namespace.is_empty()
        {
            return Ok(());
        }
        let delta = match attrs.old_object {
            // An update is charged only for what it adds (a Service turned LoadBalancer); a
            // pod's resources are fixed, so its updates add nothing.
            Some(old) => growth(
                &evaluator::usage(attrs.def, obj),
                &evaluator::usage(attrs.def, old),
            ),
            None => evaluator::usage(attrs.def, obj),
        };
        if delta.values().all(Quantity::is_zero) {
            return Ok(());
        }
        let quotas = self.clients.resource_quotas()?;
        let mut charged = Vec::new();
        for quota in Clients::list_in(&quotas, attrs.namespace)? {
            let hard = resource_list(&quota["status"]["hard"]);
            // A quota the controller has not filled in yet counts nothing, as in Go.
            let matching = evaluator::matching_resources(attrs.def, &hard);
            if matching.is_empty() || !evaluator::matches_scopes(attrs.def, &quota, obj) {
                continue;
            }
            let name = meta_str(&quota, "name").to_string();
            if attrs.operation == Operation::Create {
                evaluator::constraints(attrs.def, &matching, obj)
                    .map_err(|e| attrs.forbidden(obj, &format!("failed quota: {name}: {e}")))?;
            }
            charge(&quota, &delta).map_err(|e| attrs.forbidden(obj, &e))?;
            charged.push(name);
        }
        if attrs.dry_run {
            return Ok(());
        }
        for name in charged {
            quotas.update_status(
                attrs.namespace,
                &name,
                &|stored: &Value| {
                    let used = charge(stored, &delta).map_err(|e| attrs.forbidden(obj, &e))?;
                    let mut updated = stored.clone();
                    updated["status"]["used"] = resource_list_value(&used);
                    Ok(updated)
                },
                &loopback_write_options(),
                &admin_user(),
            )?;
        }
        Ok(())
    }
    // ANCHOR_END: quota_validate
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_charge_over_hard_is_refused_in_kubes_words() {
        let quota = json!({"metadata": {"name": "q"}, "status": {
            "hard": {"pods": "2", "requests.cpu": "1"}, "used": {"pods": "2", "requests.cpu": "0"}}});
        let delta: ResourceList = [
            ("pods".to_string(), Quantity::from_units(1)),
            ("count/pods".to_string(), Quantity::from_units(1)),
            ("requests.cpu".to_string(), Quantity::parse("500m").unwrap()),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            charge(&quota, &delta).unwrap_err(),
            "exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2"
        );
        let roomy = json!({"metadata": {"name": "q"}, "status": {
            "hard": {"pods": "3", "requests.cpu": "1"}, "used": {"pods": "2", "requests.cpu": "250m"}}});
        let used = charge(&roomy, &delta).unwrap();
        assert_eq!(
            resource_list_value(&used),
            json!({"pods": "3", "requests.cpu": "750m"})
        );
    }
}
