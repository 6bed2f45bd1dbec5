//! The REST endpoints a `GenericAPIServer` installs for its API groups (book chapter 4).
//! Mirrors `k8s.io/apiserver/pkg/endpoints`: the installer that maps
//! `/apis/<group>/<version>/...` onto a resource's REST storage, the handlers for each verb
//! (`handlers/get.go`, `create.go`, `update.go`, `patch.go`, `delete.go`, `watch.go`), and the
//! discovery documents.
//!
//! - [`handlers`]: one function per verb, from request to response.
//! - [`discovery`]: `/api`, `/apis`, `/apis/<group>`, `/apis/<group>/<version>`.
//! - [`table`]: the Table and PartialObjectMetadata views.
//! - [`patch`]: JSON merge patch and JSON patch.
//! - [`strategic`]: strategic merge patch, with each kind's merge keys.
//! - [`fieldmanager`]: server-side apply and the managedFields it keeps.
//! - [`metrics`]: `/metrics`, and the wrapper that counts requests for it.

pub mod discovery;
pub mod fieldmanager;
pub mod handlers;
pub mod metrics;
pub mod patch;
pub mod strategic;
pub mod table;
