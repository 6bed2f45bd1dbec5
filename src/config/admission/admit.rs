//! AlwaysAdmit (`plugin/pkg/admission/admit`): lets everything through. kube-apiserver keeps it
//! for old command lines that name it; it is off by default and changes nothing when on.

use super::AdmissionPlugin;

pub struct AlwaysAdmit;

impl AdmissionPlugin for AlwaysAdmit {}
