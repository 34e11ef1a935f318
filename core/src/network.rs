//! Where a late-bound address may point. A managed cluster declares the addresses its published
//! services may have (`spec.managedClusters[].network`: CIDRs and DNS suffixes); the renderer
//! copies the destination's declaration onto each late-bound ReplicationSource (annotation
//! `hubdr.io/late-bind-network`), and the source cluster's agent refuses an address the
//! destination publishes outside it. Whatever is declared, an address is never loopback,
//! link-local (which holds the cloud metadata service, 169.254.169.254), unspecified,
//! multicast or broadcast, nor `localhost`.
//!
//! Pure: text in, verdicts out.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The annotation carrying the destination's declared network onto a late-bound object.
pub const ANNOTATION_LATE_BIND_NETWORK: &str = "hubdr.io/late-bind-network";

/// Metadata services outside the link-local ranges (AWS over IPv6, Alibaba Cloud).
const METADATA_ADDRESSES: [&str; 2] = ["fd00:ec2::254", "100.100.100.200"];
/// Host names that reach this host or a metadata service.
const REFUSED_NAMES: [&str; 3] = ["localhost", "metadata.google.internal", "metadata"];

/// An IPv4 or IPv6 network, `10.0.0.0/8` or `fd00::/8` (a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    base: IpAddr,
    prefix: u8,
}

/// What a cluster declares its published addresses may be.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Network {
    pub addresses: Vec<Cidr>,
    /// DNS suffixes, lower case, without leading or trailing dots.
    pub domains: Vec<String>,
}

impl Cidr {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let base: IpAddr = address.parse().map_err(|_| {
            format!("{text:?} is not a CIDR: write an IPv4 or IPv6 network such as 10.0.0.0/8 or fd00::/8")
        })?;
        let max = if base.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| {
                format!("{text:?} is not a CIDR: the prefix length must be 0 to {max}")
            })?,
        };
        let cidr = Cidr { base, prefix };
        if cidr.masked(base) != base {
            return Err(format!(
                "{text:?} has host bits set after /{prefix}: write the network address, {}/{prefix}",
                cidr.masked(base)
            ));
        }
        Ok(cidr)
    }

    /// `ip` with the bits after the prefix cleared.
    fn masked(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(v4) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.base.is_ipv4() == ip.is_ipv4() && self.masked(ip) == self.base
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

/// A DNS suffix as declared (`svc.clusterset.local`, `.example.com`), normalized: lower case,
/// no leading or trailing dot.
pub fn parse_domain(text: &str) -> Result<String, String> {
    let domain = text
        .trim()
        .trim_start_matches('.')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if domain.starts_with('*') {
        return Err(format!(
            "{text:?}: write the suffix without a wildcard (example.com covers every name under it)"
        ));
    }
    check_dns_name(&domain).map_err(|why| format!("{text:?} is not a DNS suffix: {why}"))?;
    Ok(domain)
}

fn check_dns_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 253 {
        return Err("a DNS name has 1 to 253 characters".into());
    }
    for label in name.split('.') {
        let ok = (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(format!(
                "{label:?} is not a DNS label (1 to 63 letters, digits or '-', not starting or ending with '-')"
            ));
        }
    }
    Ok(())
}

impl Network {
    /// From the site's lists; the first bad entry is the error.
    pub fn from_lists(addresses: &[String], domains: &[String]) -> Result<Self, String> {
        Ok(Network {
            addresses: addresses
                .iter()
                .map(|a| Cidr::parse(a))
                .collect::<Result<_, _>>()?,
            domains: domains
                .iter()
                .map(|d| parse_domain(d))
                .collect::<Result<_, _>>()?,
        })
    }

    /// The annotation value: `addresses=<cidr>,...;domains=<suffix>,...`.
    pub fn annotation(&self) -> String {
        let addresses: Vec<String> = self.addresses.iter().map(Cidr::to_string).collect();
        format!(
            "addresses={};domains={}",
            addresses.join(","),
            self.domains.join(",")
        )
    }

    /// Parse an annotation value written by [`Network::annotation`].
    pub fn parse_annotation(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "malformed {ANNOTATION_LATE_BIND_NETWORK} annotation {text:?}; re-render it with `hubdr render`"
            )
        };
        let (addresses, domains) = text.split_once(';').ok_or_else(bad)?;
        let addresses = addresses.strip_prefix("addresses=").ok_or_else(bad)?;
        let domains = domains.strip_prefix("domains=").ok_or_else(bad)?;
        let list = |s: &str| -> Vec<String> {
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        Network::from_lists(&list(addresses), &list(domains))
            .map_err(|why| format!("{}: {why}", bad()))
    }

    fn describe(&self) -> String {
        let list = |items: Vec<String>| {
            if items.is_empty() {
                "none".to_string()
            } else {
                items.join(", ")
            }
        };
        format!(
            "addresses {}; domains {}",
            list(self.addresses.iter().map(Cidr::to_string).collect()),
            list(self.domains.clone())
        )
    }
}

/// Whether `address`, published by `cluster` for a late-bound field, may be used: never a
/// loopback, link-local, metadata, unspecified, multicast or broadcast address, and inside
/// `network` when the cluster declares one. The error says why not.
pub fn check_address(
    address: &str,
    cluster: &str,
    network: Option<&Network>,
) -> Result<(), String> {
    let shown = address.escape_debug().to_string();
    if address.is_empty() || address.len() > 253 || address.trim() != address {
        return Err(format!("{shown:?} is not an IP address or DNS name"));
    }
    if let Ok(ip) = address.parse::<IpAddr>() {
        let ip = canonical(ip);
        if let Some(kind) = never_allowed(ip) {
            return Err(format!(
                "{address} is {kind}; such an address is never bound"
            ));
        }
        return match network {
            Some(n) if !n.addresses.iter().any(|c| c.contains(ip)) => Err(format!(
                "{address} is outside the network {cluster} declares ({}; spec.managedClusters[{cluster}].network)",
                n.describe()
            )),
            _ => Ok(()),
        };
    }
    let name = address.trim_end_matches('.').to_ascii_lowercase();
    check_dns_name(&name)
        .map_err(|why| format!("{shown:?} is not an IP address or DNS name: {why}"))?;
    if REFUSED_NAMES.contains(&name.as_str()) || name.ends_with(".localhost") {
        return Err(format!(
            "{address} names this host or a metadata service; such a name is never bound"
        ));
    }
    match network {
        Some(n) if !n.domains.iter().any(|d| name == *d || name.ends_with(&format!(".{d}"))) => {
            Err(format!(
                "{address} is outside the network {cluster} declares ({}; spec.managedClusters[{cluster}].network)",
                n.describe()
            ))
        }
        _ => Ok(()),
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// What kind of never-allowed address `ip` is, if it is one.
fn never_allowed(ip: IpAddr) -> Option<&'static str> {
    if METADATA_ADDRESSES
        .iter()
        .any(|m| m.parse::<IpAddr>().ok() == Some(ip))
    {
        return Some("a cloud metadata service address");
    }
    match ip {
        IpAddr::V4(v4) => {
            if v4.is_loopback() {
                Some("a loopback address")
            } else if v4.is_link_local() {
                Some("a link-local address (the range of the cloud metadata service)")
            } else if v4.is_unspecified() || v4.octets()[0] == 0 {
                Some("an unspecified address")
            } else if v4.is_multicast() || v4.is_broadcast() {
                Some("a multicast or broadcast address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if v6.is_loopback() {
                Some("a loopback address")
            } else if (v6.segments()[0] & 0xffc0) == 0xfe80 {
                Some("a link-local address")
            } else if v6.is_unspecified() {
                Some("an unspecified address")
            } else if v6.is_multicast() {
                Some("a multicast address")
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network(addresses: &[&str], domains: &[&str]) -> Network {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        Network::from_lists(&s(addresses), &s(domains)).unwrap()
    }

    #[test]
    fn cidrs_parse_and_contain() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains("10.200.0.1".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert!(
            !c.contains("::ffff:10.0.0.1".parse().unwrap()),
            "families are apart"
        );
        let v6 = Cidr::parse("fd00::/8").unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert_eq!(
            Cidr::parse("192.0.2.7").unwrap().to_string(),
            "192.0.2.7/32"
        );
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.1/8")
            .unwrap_err()
            .contains("10.0.0.0/8"));
        for bad in ["10.0.0.0/33", "ten/8", "", "10.0.0.0/x", "fd00::/129"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn annotations_round_trip() {
        let n = network(
            &["10.0.0.0/8", "fd00::/8"],
            &[".svc.clusterset.local", "Example.COM."],
        );
        assert_eq!(n.domains, ["svc.clusterset.local", "example.com"]);
        let text = n.annotation();
        assert_eq!(
            text,
            "addresses=10.0.0.0/8,fd00::/8;domains=svc.clusterset.local,example.com"
        );
        assert_eq!(Network::parse_annotation(&text).unwrap(), n);
        assert_eq!(
            Network::parse_annotation("addresses=;domains=").unwrap(),
            Network::default()
        );
        for bad in [
            "",
            "addresses=10.0.0.0/8",
            "domains=x;addresses=y",
            "addresses=300.0.0.0/8;domains=",
        ] {
            assert!(Network::parse_annotation(bad).is_err(), "{bad}");
        }
        assert!(parse_domain("*.example.com")
            .unwrap_err()
            .contains("wildcard"));
        assert!(parse_domain("a..b").is_err());
    }

    #[test]
    fn addresses_inside_the_declared_network_are_bound() {
        let n = network(&["10.0.0.0/8"], &["svc.clusterset.local"]);
        assert!(check_address("10.0.0.7", "west-1", Some(&n)).is_ok());
        assert!(check_address("db.shop.svc.clusterset.local", "west-1", Some(&n)).is_ok());
        assert!(check_address("DB.shop.svc.clusterset.local.", "west-1", Some(&n)).is_ok());
        let e = check_address("203.0.113.9", "west-1", Some(&n)).unwrap_err();
        assert_eq!(
            e,
            "203.0.113.9 is outside the network west-1 declares (addresses 10.0.0.0/8; domains svc.clusterset.local; spec.managedClusters[west-1].network)"
        );
        assert!(check_address("evil.example.com", "west-1", Some(&n))
            .unwrap_err()
            .contains("outside the network west-1 declares"));
        assert!(
            check_address("xsvc.clusterset.local", "west-1", Some(&n)).is_err(),
            "suffixes match whole labels"
        );
        // Nothing declared: anything but the never-allowed addresses.
        assert!(check_address("203.0.113.9", "west-1", None).is_ok());
        assert!(check_address("lb.example.com", "west-1", None).is_ok());
    }

    #[test]
    fn loopback_link_local_and_metadata_are_never_bound() {
        let everything = network(&["0.0.0.0/0", "::/0"], &["internal", "localhost"]);
        for (address, needle) in [
            ("127.0.0.1", "loopback"),
            ("::1", "loopback"),
            ("169.254.169.254", "link-local"),
            ("::ffff:169.254.169.254", "link-local"),
            ("fe80::1", "link-local"),
            ("fd00:ec2::254", "metadata"),
            ("0.0.0.0", "unspecified"),
            ("255.255.255.255", "broadcast"),
            ("224.0.0.1", "multicast"),
            ("localhost", "this host"),
            ("foo.localhost", "this host"),
            ("metadata.google.internal", "metadata"),
            ("", "not an IP address"),
            ("10.0.0.7:8000", "not an IP address"),
            ("a b", "not an IP address"),
            ("x\n", "not an IP address"),
        ] {
            for n in [None, Some(&everything)] {
                let e = check_address(address, "west-1", n).unwrap_err();
                assert!(e.contains(needle), "{address:?}: {e}");
            }
        }
    }
}
