//! What an answer's address says about the name it answers: nothing
//! (a public address), a null or loopback answer (a blocked or parked
//! name), an address no public name should have (private, link-local: DNS
//! rebinding, an internal relay), or a known sinkhole (a security team took
//! the name over from malware).
//!
//! The sinkhole ranges come from a shipped, sourced list
//! (`data/sinkholes.txt`, each entry with its operator and source) that
//! users extend with files of their own in the same format.

use std::{
    net::IpAddr,
    path::{Path, PathBuf},
};

use ipnet::IpNet;

/// What kind of address an answer gave.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum AddressClass {
    /// An ordinary public address.
    #[default]
    Public,
    /// 0.0.0.0 or `::`: the answer of a blocking resolver, or a parked
    /// name.
    Null,
    /// 127.0.0.0/8 or `::1`.
    Loopback,
    /// Private, shared (carrier-grade NAT) or unique-local space.
    Private,
    /// 169.254.0.0/16 or fe80::/10.
    LinkLocal,
    /// On the sinkhole list.
    Sinkhole,
}

impl AddressClass {
    /// Short name for explanations.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Null => "null (0.0.0.0)",
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::LinkLocal => "link-local",
            Self::Sinkhole => "a known sinkhole",
        }
    }
}

/// Why a sinkhole list cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AddressListError {
    /// A line that is neither blank, a comment nor an address or range.
    #[error("{}line {line}: not an address or CIDR range: {entry:?}", path_prefix(.path.as_deref()))]
    BadEntry {
        /// The file it came from; `None` for the shipped text.
        path: Option<PathBuf>,
        /// One-based line number.
        line: usize,
        /// The entry as written.
        entry: String,
    },
    /// The file could not be read.
    #[error("cannot read sinkhole list {}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

fn path_prefix(path: Option<&Path>) -> String {
    path.map_or_else(String::new, |p| format!("{}: ", p.display()))
}

/// A set of address ranges (the sinkhole list), held as sorted, merged
/// intervals per family so that a lookup is a binary search.
#[derive(Clone, Debug, Default)]
pub struct AddressList {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
    /// Entries as listed (before merging).
    entries: usize,
}

impl AddressList {
    /// The shipped sinkhole list.
    pub fn embedded() -> Self {
        Self::parse(include_str!("../../data/sinkholes.txt"), None)
            .expect("the shipped sinkhole list parses (tested)")
    }

    /// Parses a list: one address or CIDR range per line, `#` starts a
    /// comment.
    pub fn parse(text: &str, path: Option<&Path>) -> Result<Self, AddressListError> {
        let mut nets = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let entry = raw.split('#').next().unwrap_or_default().trim();
            if entry.is_empty() {
                continue;
            }
            let net = entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| AddressListError::BadEntry {
                    path: path.map(Path::to_path_buf),
                    line: index + 1,
                    entry: entry.to_owned(),
                })?;
            nets.push(net.trunc());
        }
        let mut list = Self::default();
        list.add(&nets);
        Ok(list)
    }

    /// Adds `nets` and merges the intervals again.
    fn add(&mut self, nets: &[IpNet]) {
        for net in nets {
            match net {
                IpNet::V4(n) => self
                    .v4
                    .push((u32::from(n.network()), u32::from(n.broadcast()))),
                IpNet::V6(n) => self
                    .v6
                    .push((u128::from(n.network()), u128::from(n.broadcast()))),
            }
        }
        self.entries += nets.len();
        merge(&mut self.v4);
        merge(&mut self.v6);
    }

    /// Reads a user's list file.
    pub fn from_file(path: &Path) -> Result<Self, AddressListError> {
        let text = std::fs::read_to_string(path).map_err(|source| AddressListError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, Some(path))
    }

    /// Adds another list's ranges.
    pub fn extend(&mut self, other: Self) {
        self.v4.extend(other.v4);
        self.v6.extend(other.v6);
        self.entries += other.entries;
        merge(&mut self.v4);
        merge(&mut self.v6);
    }

    /// Whether `ip` is in one of the ranges.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match canonical(ip) {
            IpAddr::V4(v4) => within(&self.v4, u32::from(v4)),
            IpAddr::V6(v6) => within(&self.v6, u128::from(v6)),
        }
    }

    /// Ranges listed.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }
}

/// Sorts inclusive intervals and merges those that overlap, leaving them
/// disjoint.
fn merge<T: Ord + Copy>(ranges: &mut Vec<(T, T)>) {
    ranges.sort_unstable();
    let mut merged: Vec<(T, T)> = Vec::with_capacity(ranges.len());
    for &(start, end) in ranges.iter() {
        match merged.last_mut() {
            Some(last) if start <= last.1 => {
                last.1 = last.1.max(end);
            }
            _ => merged.push((start, end)),
        }
    }
    *ranges = merged;
}

/// Whether `x` is inside one of the sorted, disjoint intervals.
fn within<T: Ord + Copy>(ranges: &[(T, T)], x: T) -> bool {
    let after = ranges.partition_point(|&(start, _)| start <= x);
    after > 0 && x <= ranges[after - 1].1
}

/// An IPv4-mapped IPv6 address as the IPv4 address it carries.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The class of an answer address (the sinkhole list first: a sinkhole in
/// private space is still a sinkhole).
pub fn classify(ip: IpAddr, sinkholes: &AddressList) -> AddressClass {
    if sinkholes.contains(ip) {
        return AddressClass::Sinkhole;
    }
    match canonical(ip) {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            if v4.is_unspecified() {
                AddressClass::Null
            } else if v4.is_loopback() {
                AddressClass::Loopback
            } else if v4.is_link_local() {
                AddressClass::LinkLocal
            } else if v4.is_private() || (a == 100 && (64..128).contains(&b)) {
                AddressClass::Private
            } else {
                AddressClass::Public
            }
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            if v6.is_unspecified() {
                AddressClass::Null
            } else if v6.is_loopback() {
                AddressClass::Loopback
            } else if first & 0xffc0 == 0xfe80 {
                AddressClass::LinkLocal
            } else if first & 0xfe00 == 0xfc00 {
                AddressClass::Private
            } else {
                AddressClass::Public
            }
        }
    }
}

/// The network part that tells address diversity apart: a /16 of IPv4, a
/// /32 of IPv6 (fast-flux networks spread over many; a CDN's answers for
/// one name mostly share a few).
pub fn spread_prefix(ip: IpAddr) -> u32 {
    match canonical(ip) {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            u32::from(a) << 8 | u32::from(b)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            (u32::from(s[0]) << 16 | u32::from(s[1])) | 1 << 31
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn classes() {
        let none = AddressList::default();
        for (addr, class) in [
            ("0.0.0.0", AddressClass::Null),
            ("::", AddressClass::Null),
            ("127.0.0.2", AddressClass::Loopback),
            ("::1", AddressClass::Loopback),
            ("10.1.2.3", AddressClass::Private),
            ("172.20.0.1", AddressClass::Private),
            ("192.168.1.1", AddressClass::Private),
            ("100.64.0.1", AddressClass::Private),
            ("fd00::1", AddressClass::Private),
            ("169.254.1.1", AddressClass::LinkLocal),
            ("fe80::1", AddressClass::LinkLocal),
            ("8.8.8.8", AddressClass::Public),
            ("172.32.0.1", AddressClass::Public),
            ("2001:4860::8888", AddressClass::Public),
            ("::ffff:10.0.0.1", AddressClass::Private),
        ] {
            assert_eq!(classify(ip(addr), &none), class, "{addr}");
        }
    }

    #[test]
    fn sinkhole_list_matches_ranges_and_single_addresses() {
        let list = AddressList::parse(
            "# comment\n192.0.2.0/24 # a range\n198.51.100.7\n\n2001:db8::/32\n",
            None,
        )
        .unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(classify(ip("192.0.2.77"), &list), AddressClass::Sinkhole);
        assert_eq!(
            classify(ip("::ffff:192.0.2.1"), &list),
            AddressClass::Sinkhole
        );
        assert_eq!(classify(ip("198.51.100.7"), &list), AddressClass::Sinkhole);
        assert_eq!(classify(ip("198.51.100.8"), &list), AddressClass::Public);
        assert_eq!(classify(ip("2001:db8::5"), &list), AddressClass::Sinkhole);
    }

    #[test]
    fn overlapping_and_nested_ranges_match_to_their_edges() {
        let mut list = AddressList::parse(
            "10.0.0.0/16\n10.0.5.0/24\n10.0.255.255\n10.2.0.0/16\n",
            None,
        )
        .unwrap();
        list.extend(AddressList::parse("10.1.0.0/16\n::/0\n", None).unwrap());
        assert_eq!(list.len(), 6);
        for inside in [
            "10.0.0.0",
            "10.0.5.9",
            "10.1.255.255",
            "10.2.0.0",
            "10.2.255.255",
        ] {
            assert!(list.contains(ip(inside)), "{inside}");
        }
        for outside in ["9.255.255.255", "10.3.0.0", "255.255.255.255", "0.0.0.0"] {
            assert!(!list.contains(ip(outside)), "{outside}");
        }
        assert!(list.contains(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
        assert!(list.contains(ip("::")));
    }

    #[test]
    fn bad_lines_name_the_line() {
        let err =
            AddressList::parse("1.2.3.4\nnot-an-address\n", Some(Path::new("x.txt"))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.txt: line 2: not an address or CIDR range: \"not-an-address\""
        );
    }

    #[test]
    fn the_shipped_list_parses() {
        assert!(!AddressList::embedded().is_empty());
    }

    #[test]
    fn spread_prefixes() {
        assert_eq!(spread_prefix(ip("1.2.3.4")), spread_prefix(ip("1.2.200.9")));
        assert_ne!(spread_prefix(ip("1.2.3.4")), spread_prefix(ip("1.3.3.4")));
    }
}
