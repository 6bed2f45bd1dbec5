//! Cluster IPs out of `--service-cluster-ip-range`: `pkg/registry/core/service/ipallocator`.
//!
//! kube-apiserver remembers which addresses are taken in storage of its own (a bitmap in etcd,
//! and since v1.33 one `IPAddress` object per address), and a repair loop mends that record when
//! it drifts from the Services. Here the record *is* the Services: the caller passes the addresses
//! the stored Services hold, so a delete, whoever does it (a client, namespace finalization),
//! frees its address by removing the Service, and a crash cannot leave an address taken that no
//! Service holds. The price is a list of all Services per allocation, which a server of this size
//! can pay.

use std::collections::HashSet;
use std::fmt;
use std::net::Ipv4Addr;

// ANCHOR: service_ip_range
/// A parsed `--service-cluster-ip-range`: IPv4 only (this server is single-stack).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceIPRange {
    network: u32,
    prefix: u8,
}

impl ServiceIPRange {
    /// Parses `10.0.0.0/24`. Host bits are dropped, as Go's `net.ParseCIDR` does.
    pub fn parse(cidr: &str) -> Result<ServiceIPRange, String> {
        let (ip, prefix) = cidr
            .split_once('/')
            .ok_or_else(|| format!("{cidr:?} is not a CIDR such as 10.0.0.0/24"))?;
        let ip: Ipv4Addr = ip.parse().map_err(|_| {
            format!("{cidr:?} is not an IPv4 CIDR such as 10.0.0.0/24 (IPv6 is not supported)")
        })?;
        let prefix: u8 = match prefix.parse() {
            Ok(p) if p <= 32 => p,
            _ => return Err(format!("{cidr:?} has a prefix length outside 0-32")),
        };
        // A /31 or /32 has no address left once the network, broadcast and the `kubernetes`
        // service's address are set aside.
        if prefix > 30 {
            return Err(format!(
                "{cidr:?} is too small: it must hold at least two service IPs (a prefix of at most /30)"
            ));
        }
        let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
        Ok(ServiceIPRange {
            network: u32::from(ip) & mask,
            prefix,
        })
    }

    fn broadcast(&self) -> u32 {
        self.network | (u32::MAX >> self.prefix)
    }

    /// Whether `ip` may be a service's address: inside the range, and neither its network nor
    /// its broadcast address.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let ip = u32::from(ip);
        ip > self.network && ip < self.broadcast()
    }

    /// The first address, which the `kubernetes` service gets (`GetIndexedIP(range, 1)`).
    pub fn kubernetes_service_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.network + 1)
    }
}

impl fmt::Display for ServiceIPRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.network), self.prefix)
    }
}
// ANCHOR_END: service_ip_range

/// Why an address could not be had, in kube's words (`ipallocator/interfaces.go`).
#[derive(Debug, PartialEq, Eq)]
pub enum AllocateError {
    NotInRange { ip: Ipv4Addr, range: ServiceIPRange },
    Allocated,
    Full,
}

impl fmt::Display for AllocateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllocateError::NotInRange { ip, range } => write!(
                f,
                "the provided IP ({ip}) is not in the valid range. The range of valid IPs is {range}"
            ),
            AllocateError::Allocated => f.write_str("provided IP is already allocated"),
            AllocateError::Full => f.write_str("range is full"),
        }
    }
}

// ANCHOR: allocate
/// `Allocate(ip)` when a service asks for `requested`, else `AllocateNext()`; `used` is every
/// address the stored Services hold.
///
/// kube-apiserver picks a free address at random, from the upper part of the range first, so
/// that the lower part stays free for addresses users choose themselves (KEP-3070). We take the
/// lowest free one, which a reader can predict. The first address is never handed out this way:
/// it is the `kubernetes` service's, which asks for it by name.
pub fn allocate(
    range: &ServiceIPRange,
    used: &HashSet<Ipv4Addr>,
    requested: Option<Ipv4Addr>,
) -> Result<Ipv4Addr, AllocateError> {
    if let Some(ip) = requested {
        return if !range.contains(ip) {
            Err(AllocateError::NotInRange { ip, range: *range })
        } else if used.contains(&ip) {
            Err(AllocateError::Allocated)
        } else {
            Ok(ip)
        };
    }
    (range.network + 2..range.broadcast())
        .map(Ipv4Addr::from)
        .find(|ip| !used.contains(ip))
        .ok_or(AllocateError::Full)
}
// ANCHOR_END: allocate

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_ipv4_cidrs_only() {
        let r = ServiceIPRange::parse("10.0.0.7/24").unwrap();
        assert_eq!(r.to_string(), "10.0.0.0/24");
        assert_eq!(r.kubernetes_service_ip(), ip("10.0.0.1"));
        for bad in [
            "10.0.0.0",
            "10.0.0.0/33",
            "fd00::/108",
            "ten/8",
            "10.0.0.0/31",
        ] {
            assert!(ServiceIPRange::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn never_the_network_broadcast_or_kubernetes_address() {
        let r = ServiceIPRange::parse("10.0.0.0/30").unwrap();
        assert!(!r.contains(ip("10.0.0.0")));
        assert!(!r.contains(ip("10.0.0.3")));
        assert!(!r.contains(ip("10.0.1.1")));
        let none = HashSet::new();
        assert_eq!(allocate(&r, &none, None), Ok(ip("10.0.0.2")));
        let full: HashSet<_> = [ip("10.0.0.2")].into();
        assert_eq!(allocate(&r, &full, None), Err(AllocateError::Full));
        assert_eq!(
            allocate(&r, &full, None).unwrap_err().to_string(),
            "range is full"
        );
        // The kubernetes service asks for the first address by name.
        assert_eq!(
            allocate(&r, &full, Some(ip("10.0.0.1"))),
            Ok(ip("10.0.0.1"))
        );
    }

    #[test]
    fn a_released_address_is_handed_out_again() {
        let r = ServiceIPRange::parse("10.0.0.0/24").unwrap();
        let mut used: HashSet<_> = [ip("10.0.0.1"), ip("10.0.0.2"), ip("10.0.0.3")].into();
        assert_eq!(allocate(&r, &used, None), Ok(ip("10.0.0.4")));
        // The service holding .2 was deleted: its address no longer appears among the used.
        used.remove(&ip("10.0.0.2"));
        assert_eq!(allocate(&r, &used, None), Ok(ip("10.0.0.2")));
    }

    #[test]
    fn a_requested_address_must_be_free_and_in_range() {
        let r = ServiceIPRange::parse("10.0.0.0/24").unwrap();
        let used: HashSet<_> = [ip("10.0.0.9")].into();
        assert_eq!(
            allocate(&r, &used, Some(ip("10.0.0.200"))),
            Ok(ip("10.0.0.200"))
        );
        assert_eq!(
            allocate(&r, &used, Some(ip("10.0.0.9"))),
            Err(AllocateError::Allocated)
        );
        let out = allocate(&r, &used, Some(ip("1.1.1.1"))).unwrap_err();
        assert_eq!(
            out.to_string(),
            "the provided IP (1.1.1.1) is not in the valid range. The range of valid IPs is 10.0.0.0/24"
        );
        assert_eq!(
            allocate(&r, &used, Some(ip("10.0.0.255"))).unwrap_err(),
            AllocateError::NotInRange {
                ip: ip("10.0.0.255"),
                range: r
            }
        );
    }
}
