//! Node ports out of `--service-node-port-range`: `pkg/registry/core/service/portallocator`.
//!
//! Like the cluster IPs ([`super::ipallocator`]), the ports taken are read from the stored
//! Services rather than kept in a record of their own.

use std::collections::HashSet;
use std::fmt;

/// A parsed `--service-node-port-range`, inclusive at both ends: `30000-32767`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    base: u16,
    last: u16,
}

impl PortRange {
    /// `utilnet.ParsePortRange`: `first-last`, or a single port.
    pub fn parse(value: &str) -> Result<PortRange, String> {
        let bad = || format!("{value:?} is not a port range such as 30000-32767");
        let (base, last) = value.split_once('-').unwrap_or((value, value));
        let (base, last): (u16, u16) = (
            base.trim().parse().map_err(|_| bad())?,
            last.trim().parse().map_err(|_| bad())?,
        );
        if base == 0 || last < base {
            return Err(bad());
        }
        Ok(PortRange { base, last })
    }

    fn contains(&self, port: u16) -> bool {
        (self.base..=self.last).contains(&port)
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.base, self.last)
    }
}

/// Why a node port could not be had, in kube's words (`portallocator/allocator.go`).
#[derive(Debug, PartialEq, Eq)]
pub enum AllocateError {
    NotInRange { range: PortRange },
    Allocated,
    Full,
}

impl fmt::Display for AllocateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllocateError::NotInRange { range } => write!(
                f,
                "provided port is not in the valid range. The range of valid ports is {range}"
            ),
            AllocateError::Allocated => f.write_str("provided port is already allocated"),
            AllocateError::Full => f.write_str("range is full"),
        }
    }
}

/// `Allocate(port)` for a requested port, else `AllocateNext()`: the lowest free one (kube picks
/// at random).
pub fn allocate(
    range: &PortRange,
    used: &HashSet<u16>,
    requested: Option<u16>,
) -> Result<u16, AllocateError> {
    match requested {
        Some(port) if !range.contains(port) => Err(AllocateError::NotInRange { range: *range }),
        Some(port) if used.contains(&port) => Err(AllocateError::Allocated),
        Some(port) => Ok(port),
        None => (range.base..=range.last)
            .find(|p| !used.contains(p))
            .ok_or(AllocateError::Full),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges() {
        assert_eq!(
            PortRange::parse("30000-32767").unwrap().to_string(),
            "30000-32767"
        );
        assert_eq!(
            PortRange::parse("30080").unwrap().to_string(),
            "30080-30080"
        );
        for bad in ["", "0-10", "32767-30000", "30000-70000", "a-b"] {
            assert!(PortRange::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn allocates_within_the_range_and_reuses_released_ports() {
        let r = PortRange::parse("30000-30001").unwrap();
        let mut used = HashSet::from([30000]);
        assert_eq!(allocate(&r, &used, None), Ok(30001));
        used.insert(30001);
        assert_eq!(allocate(&r, &used, None), Err(AllocateError::Full));
        used.remove(&30000);
        assert_eq!(allocate(&r, &used, None), Ok(30000));
        assert_eq!(
            allocate(&r, &used, Some(30001)),
            Err(AllocateError::Allocated)
        );
        assert_eq!(
            allocate(&r, &used, Some(80)).unwrap_err().to_string(),
            "provided port is not in the valid range. The range of valid ports is 30000-30001"
        );
    }
}
