//! A name's structural class, kept as one byte per name: ordinary, or one
//! of the benign classes [`super::benign`] recognises (reverse lookups,
//! blocklist lookups, service labels, Active Directory, WPAD/ISATAP,
//! special-use names, OS background checks), a single label (which cannot
//! resolve on the Internet, so it cannot reach C2: Chrome's intranet
//! probes are such names), or a dynamic-DNS provider's own site.
//!
//! Benign names stay visible (`--by name` lists them, with their class in
//! the explanation) but give no evidence of randomness, NXDOMAIN, DGA or
//! tunnelling, and make no finding.

use super::{
    benign::{self, BenignClass},
    lists::{ListKind, Lists},
};

/// The structural class of a name.
#[repr(u8)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NameClass {
    /// None of the classes below.
    #[default]
    Ordinary = 0,
    /// A reverse lookup under in-addr.arpa or ip6.arpa.
    Reverse = 1,
    /// A reversed address under a blocklist zone (DNSBL).
    Dnsbl = 2,
    /// An underscore service label (`_ldap._tcp…`, `_dmarc…`).
    Service = 3,
    /// An Active Directory name (`_msdcs`, DNS zone partitions, default
    /// Windows computer names).
    ActiveDirectory = 4,
    /// WPAD or ISATAP auto-discovery.
    AutoDiscovery = 5,
    /// A special-use or local name (`.local`, `.home.arpa`, `.internal`…).
    SpecialUse = 6,
    /// An operating system's connectivity, time or revocation check.
    Background = 7,
    /// A single label: unresolvable on the Internet (Chrome's intranet
    /// probes, search-list mistakes).
    SingleLabel = 8,
    /// A dynamic-DNS provider's own apex or web site, not a customer name.
    DdnsProvider = 9,
}

impl NameClass {
    /// The class of `name` (lowercase dotted), against `lists` for the
    /// dynamic-DNS providers.
    pub fn of(name: &str, lists: &Lists) -> Self {
        if let Some(class) = benign::classify(name) {
            return match class {
                BenignClass::Reverse(_) => Self::Reverse,
                BenignClass::Dnsbl(_) => Self::Dnsbl,
                BenignClass::ActiveDirectory(_) => Self::ActiveDirectory,
                BenignClass::Service(_) => Self::Service,
                BenignClass::AutoDiscovery(_) => Self::AutoDiscovery,
                BenignClass::SpecialUse(_) => Self::SpecialUse,
                BenignClass::Background(_) => Self::Background,
            };
        }
        if !name.contains('.') {
            return Self::SingleLabel;
        }
        if let Some(provider) = lists.get(ListKind::DynamicDns).matching(name)
            && benign::is_ddns_provider_host(name, provider)
        {
            return Self::DdnsProvider;
        }
        Self::Ordinary
    }

    /// The class stored as `code`; unknown codes are ordinary.
    pub fn from_code(code: u8) -> Self {
        match code {
            1 => Self::Reverse,
            2 => Self::Dnsbl,
            3 => Self::Service,
            4 => Self::ActiveDirectory,
            5 => Self::AutoDiscovery,
            6 => Self::SpecialUse,
            7 => Self::Background,
            8 => Self::SingleLabel,
            9 => Self::DdnsProvider,
            _ => Self::Ordinary,
        }
    }

    /// Whether names of this class are known benign structure.
    pub fn is_benign(self) -> bool {
        self != Self::Ordinary
    }

    /// How the explanation names the class.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Ordinary => "ordinary name",
            Self::Reverse => "reverse lookup",
            Self::Dnsbl => "blocklist (DNSBL) lookup",
            Self::Service => "service label lookup",
            Self::ActiveDirectory => "Active Directory name",
            Self::AutoDiscovery => "WPAD/ISATAP auto-discovery",
            Self::SpecialUse => "special-use or local name",
            Self::Background => "OS connectivity/time/revocation check",
            Self::SingleLabel => {
                "single label (cannot resolve on the Internet; Chrome probes are such)"
            }
            Self::DdnsProvider => "the dynamic-DNS provider's own site",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(name: &str) -> NameClass {
        NameClass::of(name, &Lists::embedded())
    }

    #[test]
    fn real_benign_names_get_their_class_and_round_trip() {
        // Names seen in ../shared/data/pcaps (cerber, njrat, tinba).
        for (name, want) in [
            ("2.100.168.192.in-addr.arpa", NameClass::Reverse),
            ("2.0.0.127.zen.spamhaus.org", NameClass::Dnsbl),
            (
                "_ldap._tcp.dc._msdcs.picklesworth.local",
                NameClass::ActiveDirectory,
            ),
            ("_dmarc.qq.com", NameClass::Service),
            // Microsoft's federation SRV name is 16 characters, one more
            // than RFC 6335 allows.
            ("_sipfederationtls._tcp.example.com", NameClass::Service),
            ("wpad.picklesworth.local", NameClass::AutoDiscovery),
            ("fileserver.home.arpa", NameClass::SpecialUse),
            ("dns.msftncsi.com", NameClass::Background),
            ("amphgclfvqj", NameClass::SingleLabel),
            ("www.duckdns.org", NameClass::DdnsProvider),
            ("duckdns.org", NameClass::DdnsProvider),
        ] {
            assert_eq!(class(name), want, "{name}");
            assert_eq!(NameClass::from_code(want as u8), want);
            assert!(want.is_benign());
        }
    }

    #[test]
    fn c2_names_stay_ordinary() {
        for name in [
            "mynas.duckdns.org",
            "7.tcp.eu.ngrok.io",
            "ffoqr3ug7m726zou.04hyxg.top",
            "rwxpmbrqnnsx.xyz",
            "fffreenet.xyz",
            "c.1-1.24006.ns.ostrykebs.pl",
            "amhonc.skydrive.services",
        ] {
            assert_eq!(class(name), NameClass::Ordinary, "{name}");
        }
    }
}
