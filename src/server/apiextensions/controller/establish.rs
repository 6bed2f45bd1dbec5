//! The `EstablishingController` (`pkg/controller/establish`): once a CRD's names are accepted,
//! it is `Established`, and from then on its objects are served and listed in discovery.
//! Kube sets it apart from the naming controller so that every server has seen the accepted
//! names through its informer before clients are told they may use them.

use std::sync::Arc;

use serde_json::Value;

use super::{status_write_options, update_status};
use crate::apis::apiextensions::{is_condition_true, set_condition};
use crate::registry::store::Store;

pub struct EstablishingController {
    pub crds: Arc<Store>,
}

impl EstablishingController {
    // ANCHOR: establish
    pub fn sync(&self, crd: &Value) -> Result<(), String> {
        if !is_condition_true(crd, "NamesAccepted") || is_condition_true(crd, "Established") {
            return Ok(());
        }
        update_status(
            &self.crds,
            crd,
            &status_write_options(),
            &|stored: &Value| {
                let mut new = stored.clone();
                set_condition(
                    &mut new,
                    "Established",
                    "True",
                    "InitialNamesAccepted",
                    "the initial names have been accepted",
                );
                new
            },
        )
    }
    // ANCHOR_END: establish
}
