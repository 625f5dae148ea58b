//! A host's address as every table and row keys it.

use std::{
    fmt,
    net::{IpAddr, Ipv6Addr},
};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A host address in 16 bytes: IPv6 as is, IPv4 mapped (`::ffff:a.b.c.d`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct HostAddr(pub [u8; 16]);

impl HostAddr {
    /// The address as an `IpAddr` (IPv4 for mapped addresses).
    pub fn ip(self) -> IpAddr {
        Ipv6Addr::from(self.0).to_canonical()
    }
}

impl From<IpAddr> for HostAddr {
    fn from(ip: IpAddr) -> Self {
        Self(match ip {
            IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
            IpAddr::V6(v6) => v6.octets(),
        })
    }
}

impl fmt::Display for HostAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.ip().fmt(f)
    }
}

impl fmt::Debug for HostAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.ip().fmt(f)
    }
}

impl Serialize for HostAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            self.ip().serialize(s)
        } else {
            self.0.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for HostAddr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            IpAddr::deserialize(d).map(Self::from)
        } else {
            <[u8; 16]>::deserialize(d).map(Self)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_addresses_round_trip() {
        for s in ["10.1.2.3", "2001:db8::1", "::1", "0.0.0.0"] {
            let ip: IpAddr = s.parse().expect("literal");
            let h = HostAddr::from(ip);
            assert_eq!(h.ip(), ip);
            assert_eq!(h.to_string(), s);
            let json = serde_json::to_string(&h).expect("json");
            assert_eq!(serde_json::from_str::<HostAddr>(&json).expect("back"), h);
        }
    }
}
