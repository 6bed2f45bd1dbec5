//! Small helpers every stage uses: clocks and timestamps, random identifiers, resource quantities,
//! the JSONPath subset CRDs use.
//!
//! Kubernetes gets these from `k8s.io/apimachinery/pkg/util` (uuid, `metav1.Time`) and Go's standard
//! library; we write the few lines ourselves rather than pull in a date or uuid crate.

pub mod hash;
pub mod jsonpath;
pub mod random;
pub mod resource;
pub mod time;
