//! The registered domain of a name, through the psl crate, which compiles
//! Mozilla's Public Suffix List into code and is regenerated with every list
//! update (about 20 ns per name here).
//!
//! Only the list's ICANN section counts: its private section makes every
//! `x.cloudfront.net` or `x.duckdns.org` a registered domain of its own,
//! which would hide exactly the spread dnsrare measures (many names under
//! one provider's domain). So `a.b.example.co.uk` → `example.co.uk`,
//! `d3ag4hukkh62yn.cloudfront.net` → `cloudfront.net`.
//!
//! The engine looks it up once per new name; which shard a name goes to is
//! decided by its last two labels ([`last_two_labels_offset`]), which need
//! no lookup.

use psl::Type;

/// Byte offset in `name` where its registered domain starts (the ICANN
/// public suffix plus one label). Names without one — single labels such
/// as `wpad`, the root `.`, bare suffixes — are their own domain (offset 0).
pub fn registered_domain_offset(name: &(impl AsRef<[u8]> + ?Sized)) -> usize {
    let bytes = name.as_ref();
    let suffix_len = icann_suffix_len(bytes);
    if suffix_len == 0 || suffix_len + 2 > bytes.len() {
        return 0;
    }
    // The label before the suffix (and its dot).
    let head = &bytes[..bytes.len() - suffix_len - 1];
    head.iter()
        .rposition(|&b| b == b'.')
        .map_or(0, |dot| dot + 1)
}

/// The registered domain of `name`; see [`registered_domain_offset`].
pub fn registered_domain(name: &str) -> &str {
    &name[registered_domain_offset(name)..]
}

/// Byte offset in `name` where its last two labels start (0 when it has
/// two or fewer). Every name under one registered domain has the same last
/// two labels (a registered domain has at least two, or is a single-label
/// name on its own), so they choose a domain's shard without the
/// public-suffix lookup.
pub fn last_two_labels_offset(name: &[u8]) -> usize {
    let mut dots = 0;
    for (i, &b) in name.iter().enumerate().rev() {
        if b == b'.' {
            dots += 1;
            if dots == 2 {
                return i + 1;
            }
        }
    }
    0
}

/// Length of the ICANN (or unknown-TLD) public suffix at the end of `name`.
fn icann_suffix_len(name: &[u8]) -> usize {
    let mut tail = name;
    // Each round drops at least one label, so this ends.
    loop {
        let Some(suffix) = psl::suffix(tail) else {
            return 0;
        };
        let bytes = suffix.as_bytes();
        if suffix.typ() != Some(Type::Private) {
            return bytes.len();
        }
        match bytes.iter().position(|&b| b == b'.') {
            Some(dot) => tail = &bytes[dot + 1..],
            None => return 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icann_suffix_aware() {
        for (name, domain) in [
            ("a.b.example.co.uk", "example.co.uk"),
            ("d3ag4hukkh62yn.cloudfront.net", "cloudfront.net"),
            ("ec2-1-2-3-4.compute-1.amazonaws.com", "amazonaws.com"),
            ("www.google.com", "google.com"),
            ("google.com", "google.com"),
            ("foo.github.io", "github.io"),
            ("x.duckdns.org", "duckdns.org"),
            ("host.corp.internal", "corp.internal"),
            ("wpad", "wpad"),
            (".", "."),
            ("co.uk", "co.uk"),
            ("a\\046b.example.com", "example.com"),
        ] {
            assert_eq!(registered_domain(name), domain, "{name}");
            // The shard key: every name shares its domain's last two labels.
            let key = |n: &'static str| &n[last_two_labels_offset(n.as_bytes())..];
            assert_eq!(key(name), key(domain), "{name}");
        }
    }
}
