//! Structural recognition of known-benign classes of DNS query names.
//!
//! dnsrare ranks rare and random-looking names for an analyst. Several
//! classes of names are rare or random-looking *by design* and yet benign:
//! reverse lookups, DNSBL queries, SRV/DNS-SD/DKIM service names, Active
//! Directory locator names, Chrome's intranet-redirect probes, special-use and
//! internal pseudo-TLDs, WPAD/ISATAP auto-discovery, a dynamic-DNS provider's
//! own web/update hosts, and OS connectivity/time/revocation checks. This
//! module recognises each class from the *structure of the name alone*, so
//! the ranking can demote (not drop) them.
//!
//! Input contract: a query name as lowercase dotted text without a trailing
//! dot (`_ldap._tcp.dc._msdcs.corp.example.com`); the root is `.`. Every
//! function also copes with anything else without panicking: one trailing dot
//! is ignored, ASCII case is ignored, and names that cannot be a valid name
//! in presentation form (empty, root, empty labels, a label over 63 bytes,
//! over 253 bytes) are never classed. Names containing a backslash (the
//! `\DDD` / `\.` escapes for non-printable bytes) are never classed either:
//! none of the benign classes needs such bytes, and they are a tunnel marker.
//!
//! Cost: every function works on borrowed slices and label iterators; none
//! allocates. Each runs once per distinct name.
//!
//! What this module deliberately does **not** do: it never says a name is
//! malicious, and where a class is only benign in context (Chrome probes,
//! DNSBL zones, DKIM selectors, DNS-SD instance names) the doc comment says
//! what the caller must add. [`classify`] combines the tests that are safe on
//! the name alone.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

/// Longest name in presentation form without the trailing dot (RFC 1035
/// §2.3.4: 255 octets on the wire = 253 characters of text).
const MAX_NAME_LEN: usize = 253;
/// Longest label (RFC 1035 §2.3.4).
const MAX_LABEL_LEN: usize = 63;

/// Validates a name and returns it without a trailing dot, or `None` if it
/// is not a plausible presentation-form name (see module doc).
fn prepare(name: &str) -> Option<&str> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return None;
    }
    // One pass: no backslash, no empty label, none too long (every
    // classifier prepares the name, so this runs several times per name).
    let mut label = 0usize;
    for &b in name.as_bytes() {
        match b {
            b'\\' => return None,
            b'.' if label == 0 => return None,
            b'.' => label = 0,
            _ if label == MAX_LABEL_LEN => return None,
            _ => label += 1,
        }
    }
    (label > 0).then_some(name)
}

/// If `name` is `suffix` or ends with `.suffix` (ASCII case-insensitive),
/// returns the part before the suffix without the joining dot ("" when the
/// name is the suffix itself).
fn strip_domain<'a>(name: &'a str, suffix: &str) -> Option<&'a str> {
    let (n, s) = (name.as_bytes(), suffix.as_bytes());
    if n.len() < s.len() || !n[n.len() - s.len()..].eq_ignore_ascii_case(s) {
        return None;
    }
    if n.len() == s.len() {
        return Some("");
    }
    let dot = n.len() - s.len() - 1;
    // `dot` indexes an ASCII byte (or the byte before an ASCII suffix), so
    // slicing there is on a char boundary when the byte is '.'.
    (n[dot] == b'.').then(|| &name[..dot])
}

/// The last label of a (prepared) name.
fn last_label(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// The first label of a (prepared) name.
fn first_label(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

/// Strict decimal octet as used in reverse names: 0–255, no leading zero.
fn parse_octet(label: &str) -> Option<u8> {
    let b = label.as_bytes();
    if b.is_empty() || b.len() > 3 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if b.len() > 1 && b[0] == b'0' {
        return None;
    }
    label.parse().ok()
}

/// One hexadecimal nibble label (`0`–`f`, any case).
fn parse_nibble(label: &str) -> Option<u8> {
    match label.as_bytes() {
        [c] => (*c as char).to_digit(16).map(|d| d as u8),
        _ => None,
    }
}

fn is_ldh(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

// ---------------------------------------------------------------------------
// 1. Reverse lookups
// ---------------------------------------------------------------------------

/// A well-formed name under `in-addr.arpa` (RFC 1035 §3.5) or `ip6.arpa`
/// (RFC 3596 §2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReverseLookup {
    /// `d.c.b.a.in-addr.arpa`: the complete address `a.b.c.d`.
    Ipv4(Ipv4Addr),
    /// 0–3 octet labels under `in-addr.arpa` (zone cuts: SOA/NS lookups such
    /// as `168.192.in-addr.arpa`); `octets` is how many were present.
    Ipv4Partial {
        /// Number of octet labels present (0–3).
        octets: u8,
    },
    /// 32 nibble labels under `ip6.arpa`: the complete address.
    Ipv6(Ipv6Addr),
    /// 0–31 nibble labels under `ip6.arpa`.
    Ipv6Partial {
        /// Number of nibble labels present (0–31).
        nibbles: u8,
    },
}

/// Recognises a well-formed reverse lookup and returns the address when
/// complete.
///
/// Recognised: `in-addr.arpa` with up to four strict decimal octets (0–255,
/// no leading zeros) and `ip6.arpa` with up to 32 single-hex-digit labels.
///
/// Deliberately not recognised: anything else under those zones, e.g.
/// RFC 2317 classless delegation labels (`0/25`, `0-25`), DNS-SD browse
/// names (`b._dns-sd._udp.0.1.168.192.in-addr.arpa`, see
/// [`underscore_service`]), or free text. A network owner can have a reverse
/// zone delegated to it, so free-form labels there could be a tunnel.
///
/// Caveat for the caller: a delegated `ip6.arpa` zone can still carry about
/// 10 bytes per query in well-formed nibbles; many distinct complete IPv6
/// reverse names for one /48 from one host deserve a look.
pub fn reverse_lookup(name: &str) -> Option<ReverseLookup> {
    let name = prepare(name)?;
    if let Some(rest) = strip_domain(name, "in-addr.arpa") {
        let mut octets = [0u8; 4];
        let mut count = 0usize;
        if !rest.is_empty() {
            // Rightmost label is the first octet.
            for label in rest.rsplit('.') {
                if count == 4 {
                    return None;
                }
                octets[count] = parse_octet(label)?;
                count += 1;
            }
        }
        return Some(if count == 4 {
            ReverseLookup::Ipv4(Ipv4Addr::from(octets))
        } else {
            ReverseLookup::Ipv4Partial {
                octets: count as u8,
            }
        });
    }
    if let Some(rest) = strip_domain(name, "ip6.arpa") {
        let mut value: u128 = 0;
        let mut count = 0u8;
        if !rest.is_empty() {
            // Rightmost label is the most significant nibble.
            for label in rest.rsplit('.') {
                if count == 32 {
                    return None;
                }
                value = (value << 4) | u128::from(parse_nibble(label)?);
                count += 1;
            }
        }
        return Some(if count == 32 {
            ReverseLookup::Ipv6(Ipv6Addr::from(value))
        } else {
            ReverseLookup::Ipv6Partial { nibbles: count }
        });
    }
    None
}

// ---------------------------------------------------------------------------
// 2. DNSBL-style lookups
// ---------------------------------------------------------------------------

/// A DNSBL-style query: a reversed address prefixed to a list zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsblLookup<'a> {
    /// The address being checked (already un-reversed).
    pub addr: IpAddr,
    /// The list zone: everything after the address labels.
    pub zone: &'a str,
}

/// Recognises a DNSBL/DNSWL-style query (RFC 5782 §2.1, §2.4): four strict
/// decimal octet labels, or 32 hex nibble labels, in reversed order, followed
/// by a zone of at least two labels whose first label is not all digits and
/// which is not under `in-addr.arpa`/`ip6.arpa` (those are
/// [`reverse_lookup`]). Example: `2.0.0.127.bl.spamcop.net` → 127.0.0.2 in
/// `bl.spamcop.net`.
///
/// Deliberately not recognised: hash-style lookups (Spamhaus DBL/HBL,
/// SURBL/URIBL domain or hash queries). A hex or base32 label in front of an
/// arbitrary zone is exactly what dnscat2 and other tunnels send (e.g.
/// `147901b8d3df9cc46c59d600078b3316ce.biillpi.com` in
/// `tunnel_dnscat2_dmachard_biillpi.pcap`), so it cannot be told apart from
/// the name alone.
///
/// What the caller must add: the shape only says "address in front of a
/// zone". Forward names such as `1.2.3.4.nip.io` (wildcard IP services) or a
/// beacon that puts the victim's address in front of a C2 domain have the
/// same shape. Judge the returned `zone`: a real DNSBL is a known list zone,
/// queried by the site's mail servers with many distinct addresses.
pub fn dnsbl_lookup(name: &str) -> Option<DnsblLookup<'_>> {
    let name = prepare(name)?;
    if strip_domain(name, "in-addr.arpa").is_some() || strip_domain(name, "ip6.arpa").is_some() {
        return None;
    }
    let v4 = dnsbl_v4(name).and_then(|(addr, n)| Some((addr, dnsbl_zone(name, n)?)));
    let (addr, zone) = v4.or_else(|| {
        let (addr, n) = dnsbl_v6(name)?;
        Some((addr, dnsbl_zone(name, n)?))
    })?;
    Some(DnsblLookup { addr, zone })
}

/// The zone after the first `consumed` labels, if it looks like a list zone:
/// at least two labels, its first label not all digits, and (after an IPv6
/// address) not a single hex digit: either would mean a malformed address
/// part. (`b.barracudacentral.org` after an IPv4 address is fine.)
fn dnsbl_zone(name: &str, consumed: usize) -> Option<&str> {
    let offset: usize = name.split('.').take(consumed).map(|l| l.len() + 1).sum();
    let zone = name.get(offset..)?;
    let zone_first = first_label(zone);
    if zone.is_empty()
        || !zone.contains('.')
        || zone_first.bytes().all(|b| b.is_ascii_digit())
        || (consumed == 32 && parse_nibble(zone_first).is_some())
    {
        return None;
    }
    Some(zone)
}

/// Four reversed octet labels at the front of `name`.
fn dnsbl_v4(name: &str) -> Option<(IpAddr, usize)> {
    let mut labels = name.split('.');
    let mut o = [0u8; 4];
    // Leftmost label is the last octet.
    for i in (0..4).rev() {
        o[i] = parse_octet(labels.next()?)?;
    }
    Some((IpAddr::V4(Ipv4Addr::from(o)), 4))
}

/// 32 reversed nibble labels at the front of `name`.
fn dnsbl_v6(name: &str) -> Option<(IpAddr, usize)> {
    let mut labels = name.split('.');
    let mut value: u128 = 0;
    // Leftmost nibble is the least significant.
    for i in 0..32 {
        value |= u128::from(parse_nibble(labels.next()?)?) << (4 * i);
    }
    Some((IpAddr::V6(Ipv6Addr::from(value)), 32))
}

// ---------------------------------------------------------------------------
// 3. Underscore service / attribute labels
// ---------------------------------------------------------------------------

/// What an underscore-labelled name is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceKind {
    /// SRV-style `_service._proto` (RFC 2782, RFC 6335), e.g.
    /// `_ldap._tcp`, `_sip._udp`, `_autodiscover._tcp`, `_http._tcp`.
    Srv,
    /// DNS-SD browsing or enumeration (RFC 6763 §9, §11): `_dns-sd._udp`
    /// (`b.`, `lb.`, `db.`, `r.`, `dr.`, `_services.`).
    DnsSd,
    /// DANE TLSA `_port._proto` (RFC 6698 §3).
    Dane,
    /// DKIM key `selector._domainkey` (RFC 6376 §3.6.2.1).
    Dkim,
    /// `_dmarc` policy (RFC 7489 §6.1).
    Dmarc,
    /// ACME DNS-01 `_acme-challenge` (RFC 8555 §8.4).
    AcmeChallenge,
    /// `_mta-sts` policy (RFC 8461 §3.1).
    MtaSts,
    /// SMTP TLS reporting `_smtp._tls` (RFC 8460 §3).
    TlsRpt,
    /// Active Directory locator labels `_msdcs` / `_sites` ([MS-ADTS] DC
    /// locator DNS records).
    AdLocator,
    /// Another registered attribute leaf (RFC 8552 registry): `_openpgpkey`
    /// (RFC 7929), `_adsp` (RFC 5617), `_vouch` (RFC 5518), `_dns`
    /// (RFC 9461/9462 DDR, e.g. `_dns.resolver.arpa`), `_kerberos` realm TXT
    /// (MIT Kerberos `dns_lookup_realm`), and
    /// `_ta-<keytag>` trust-anchor signals (RFC 8145 §5).
    OtherLeaf,
}

/// An underscore-labelled name, split into its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceName<'a> {
    /// What the underscore labels say the name is for.
    pub kind: ServiceKind,
    /// The domain after the last underscore label ("" if there is none,
    /// e.g. the single-label search `_vlmcs._tcp`).
    pub domain: &'a str,
}

const PROTO_LABELS: &[&str] = &["_tcp", "_udp", "_tls", "_sctp", "_dccp"];

/// `_` + 1–62 LDH bytes, no leading/trailing hyphen (RFC 8552 §2 attrleaf
/// names in practice).
fn is_attrleaf(label: &str) -> bool {
    let Some(body) = label.strip_prefix('_') else {
        return false;
    };
    let b = body.as_bytes();
    !b.is_empty() && b.iter().all(|&c| is_ldh(c)) && b[0] != b'-' && b[b.len() - 1] != b'-'
}

/// A service name (without `_`) as RFC 6335 §5.1 shapes it: LDH chars, at
/// least one letter, no leading/trailing hyphen, no `--`. RFC 6335 allows
/// 15 characters, but names in real use are longer (Microsoft's
/// `_sipfederationtls._tcp`, 16, in Lync/Teams federation lookups), so up
/// to [`MAX_SERVICE_NAME`] pass.
fn is_service_name(body: &str) -> bool {
    let b = body.as_bytes();
    (1..=MAX_SERVICE_NAME).contains(&b.len())
        && b.iter().all(|&c| is_ldh(c))
        && b.iter().any(u8::is_ascii_alphabetic)
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && !body.contains("--")
}

/// Longest service name accepted (see [`is_service_name`]).
const MAX_SERVICE_NAME: usize = 24;

fn is_port(body: &str) -> bool {
    (1..=5).contains(&body.len()) && body.bytes().all(|b| b.is_ascii_digit())
}

fn other_leaf(label: &str) -> bool {
    const LEAVES: &[&str] = &["_openpgpkey", "_adsp", "_vouch", "_dns", "_kerberos"];
    if LEAVES.iter().any(|l| label.eq_ignore_ascii_case(l)) {
        return true;
    }
    // RFC 8145 key-tag signal: `_ta-` + one or more 4-hex key tags.
    label.len() >= 8
        && label.as_bytes()[..4].eq_ignore_ascii_case(b"_ta-")
        && label[4..]
            .split('-')
            .all(|t| t.len() == 4 && t.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Recognises names that use underscore service/attribute labels: SRV and
/// DNS-SD (`_ldap._tcp…`, `_sip._udp…`, `_kerberos._tcp.site._sites…`,
/// `_services._dns-sd._udp…`, `b._dns-sd._udp…`, `lb._dns-sd._udp…`,
/// `_autodiscover._tcp…`, `gemini._sftp-ssh._tcp.local`), DANE
/// (`_25._tcp.mail…`), `_dmarc`, `selector._domainkey`, `_acme-challenge`,
/// `_mta-sts`, `_smtp._tls`, AD `_msdcs`/`_sites`, and a few other
/// registered leaves (see [`ServiceKind::OtherLeaf`]).
///
/// Rules, to keep tunnels out:
/// * every label that starts with `_` must be a clean attribute leaf
///   (`_` + LDH, no edge hyphens); one bad underscore label rejects the name;
/// * at most **one** ordinary label may precede the first underscore label
///   (a DNS-SD instance, a DKIM selector, a DC GUID, `b`/`lb`); data split
///   over several labels in front of `_http._tcp.evil.example` is rejected;
/// * an SRV pair needs an RFC 6335-shaped service name (≤24 chars, has a letter)
///   or a port number in front of `_tcp`/`_udp`/`_tls`/`_sctp`/`_dccp`.
///
/// What the caller must add: the one free label (DNS-SD instance, DKIM
/// selector) can still carry up to 63 bytes. Judge [`ServiceName::domain`]:
/// many distinct free labels under one public domain is worth a look.
pub fn underscore_service(name: &str) -> Option<ServiceName<'_>> {
    let name = prepare(name)?;
    let mut kind: Option<ServiceKind> = None;
    let mut rank = 0u8; // specific kinds beat the generic SRV shape
    let mut set = |k: ServiceKind, r: u8, kind: &mut Option<ServiceKind>| {
        if r > rank {
            rank = r;
            *kind = Some(k);
        }
    };
    let mut prev: Option<&str> = None;
    let mut plain_before_first = 0usize;
    let mut seen_underscore = false;
    let mut domain_start = None;
    let mut offset = 0usize;
    for label in name.split('.') {
        let end = offset + label.len();
        if label.starts_with('_') {
            if !is_attrleaf(label) {
                return None;
            }
            seen_underscore = true;
            domain_start = Some(end + 1);
            let l = LabelCmp(label);
            if l.is("_domainkey") {
                set(ServiceKind::Dkim, 5, &mut kind);
            } else if l.is("_dmarc") {
                set(ServiceKind::Dmarc, 5, &mut kind);
            } else if l.is("_acme-challenge") {
                set(ServiceKind::AcmeChallenge, 5, &mut kind);
            } else if l.is("_mta-sts") {
                set(ServiceKind::MtaSts, 5, &mut kind);
            } else if l.is("_dns-sd") {
                set(ServiceKind::DnsSd, 4, &mut kind);
            } else if l.is("_msdcs") || l.is("_sites") {
                set(ServiceKind::AdLocator, 3, &mut kind);
            } else if PROTO_LABELS.iter().any(|p| l.is(p)) {
                if let Some(svc) = prev.and_then(|p| p.strip_prefix('_')) {
                    if l.is("_tls") && svc.eq_ignore_ascii_case("smtp") {
                        set(ServiceKind::TlsRpt, 5, &mut kind);
                    } else if is_port(svc) {
                        set(ServiceKind::Dane, 2, &mut kind);
                    } else if is_service_name(svc) {
                        set(ServiceKind::Srv, 2, &mut kind);
                    }
                }
            } else if other_leaf(label) {
                set(ServiceKind::OtherLeaf, 1, &mut kind);
            }
        } else if !seen_underscore {
            plain_before_first += 1;
            if plain_before_first > 1 {
                return None;
            }
        }
        prev = Some(label);
        offset = end + 1;
    }
    let kind = kind?;
    let domain = match domain_start {
        Some(s) if s < name.len() => &name[s..],
        _ => "",
    };
    Some(ServiceName { kind, domain })
}

/// Case-insensitive label comparison without allocating.
struct LabelCmp<'a>(&'a str);
impl LabelCmp<'_> {
    fn is(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

// ---------------------------------------------------------------------------
// 4. Active Directory names
// ---------------------------------------------------------------------------

/// A Windows default (never renamed) computer name pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowsDefaultName {
    /// `WIN-` + 11 alphanumerics (Windows Server / older setup; 15 chars,
    /// the NetBIOS limit).
    Win,
    /// `DESKTOP-` + 7 alphanumerics (Windows 10/11 OOBE).
    Desktop,
    /// `LAPTOP-` + 7–8 alphanumerics (Windows 10/11 OOBE on portables; the
    /// exact suffix length is not documented by Microsoft, so both fit the
    /// 15-character NetBIOS limit).
    Laptop,
    /// `<user>-PC` (Windows Vista/7 default), e.g. `user-pc` in
    /// `c2_njrat_zeek-njrat-detector_njrat.pcap` (LLMNR).
    UserPc,
}

/// Tests one label against the Windows default computer-name patterns
/// (case-insensitive). Exposed for callers that know a name's suffix is the
/// site's AD domain; [`active_directory`] applies it only to single-label
/// and private-suffix names.
pub fn windows_default_hostname(label: &str) -> Option<WindowsDefaultName> {
    let b = label.as_bytes();
    let alnum = |s: &[u8]| s.iter().all(u8::is_ascii_alphanumeric);
    let has_prefix =
        |p: &str| b.len() >= p.len() && b[..p.len()].eq_ignore_ascii_case(p.as_bytes());
    if has_prefix("win-") && b.len() == 15 && alnum(&b[4..]) {
        return Some(WindowsDefaultName::Win);
    }
    if has_prefix("desktop-") && b.len() == 15 && alnum(&b[8..]) {
        return Some(WindowsDefaultName::Desktop);
    }
    if has_prefix("laptop-") && (14..=15).contains(&b.len()) && alnum(&b[7..]) {
        return Some(WindowsDefaultName::Laptop);
    }
    if b.len() >= 4 && b.len() <= 15 && b[b.len() - 3..].eq_ignore_ascii_case(b"-pc") {
        let user = &b[..b.len() - 3];
        if user.iter().all(|&c| is_ldh(c)) && user[0] != b'-' {
            return Some(WindowsDefaultName::UserPc);
        }
    }
    None
}

/// An Active Directory name class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdName {
    /// Anything under an `_msdcs` label: DC locator (`_ldap._tcp.dc._msdcs`,
    /// `pdc._msdcs`, `gc._msdcs`), `<dsa-guid>._msdcs` replication CNAMEs,
    /// `<guid>.domains._msdcs` ([MS-ADTS] DC locator DNS records).
    Msdcs,
    /// The application-partition zones `domaindnszones.<domain>` and
    /// `forestdnszones.<domain>` (and names under them).
    DnsZonesPartition,
    /// A Windows default computer name, single-label (LLMNR/NetBIOS-style
    /// search) or under a private suffix (see [`special_use`]).
    DefaultComputerName(WindowsDefaultName),
}

/// Recognises Active Directory infrastructure names: any name with an
/// `_msdcs` label followed by at least one more label, any name with a
/// `domaindnszones`/`forestdnszones` label followed by at least one more
/// label, and Windows default computer names ([`windows_default_hostname`])
/// as the first label of a single-label name or of a name whose suffix is
/// private/local ([`special_use`] other than `.arpa` infrastructure).
///
/// Deliberately not recognised: default computer names under a public
/// domain (`desktop-abc1234.example.com`): an AD domain is often a public
/// subdomain, but so is a C2 domain, and only the caller knows the site's AD
/// domains. Call [`windows_default_hostname`] on the first label yourself
/// when the suffix is known to be yours.
pub fn active_directory(name: &str) -> Option<AdName> {
    let name = prepare(name)?;
    let mut labels = name.split('.').peekable();
    while let Some(l) = labels.next() {
        let more = labels.peek().is_some();
        if more && l.eq_ignore_ascii_case("_msdcs") {
            return Some(AdName::Msdcs);
        }
        if more
            && (l.eq_ignore_ascii_case("domaindnszones")
                || l.eq_ignore_ascii_case("forestdnszones"))
        {
            return Some(AdName::DnsZonesPartition);
        }
    }
    let host = first_label(name);
    let kind = windows_default_hostname(host)?;
    let private_suffix = !name.contains('.')
        || matches!(special_use(name), Some(s) if s != SpecialUse::ArpaInfrastructure);
    private_suffix.then_some(AdName::DefaultComputerName(kind))
}

// ---------------------------------------------------------------------------
// 5. Chrome intranet-redirect probes
// ---------------------------------------------------------------------------

/// Shortest random host name Chromium's `IntranetRedirectDetector` makes.
pub const CHROME_PROBE_MIN_LEN: usize = 7;
/// Longest random host name Chromium's `IntranetRedirectDetector` makes.
pub const CHROME_PROBE_MAX_LEN: usize = 15;

/// Structural test for Chrome's intranet-redirect probes: a single label (no
/// dot) of 7–15 lowercase ASCII letters. Unlike the other tests this one is
/// case-sensitive, because Chromium only generates `a`–`z` and upper-case
/// single labels are NetBIOS-style names (`WORKGROUP` in
/// `logs/zeek_opt-basic_dns.canon.log`).
///
/// Source: Chromium `chrome/browser/intranet_redirect_detector.cc`
/// (`FinishSleep`): three loaders, each for `http://` + `base::RandInt(7, 15)`
/// characters of `'a' + RandInt(0, 'z' - 'a')`; run 7 s after start-up and
/// 1 s after a network or DNS-config change. So they come in bursts of three.
/// Real example: `amphgclfvqj`, `lfggymsavygqqrv`, `uvfarfimw` (LLMNR, one
/// burst) in `c2_njrat_zeek-njrat-detector_njrat.pcap`.
///
/// This is the shape only; any 7–15 letter word (`printer`, `fileserver`)
/// matches too. What the caller must add: the answer was NXDOMAIN (or the
/// query went out by LLMNR/mDNS/NetBIOS fallback), and the name is a one-off
/// from that host while the same shape is seen from many hosts. If the
/// client appends a DNS search suffix, strip the site's suffix first (probes
/// then look like `amphgclfvqj.corp.example.com`). Tinba's `[a-z]{12}.xyz`
/// DGA names are not single labels and never match.
pub fn is_chrome_probe_shape(name: &str) -> bool {
    let Some(name) = prepare(name) else {
        return false;
    };
    (CHROME_PROBE_MIN_LEN..=CHROME_PROBE_MAX_LEN).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase())
}

// ---------------------------------------------------------------------------
// 6. Special-use, local and auto-discovery names
// ---------------------------------------------------------------------------

/// Why a name's suffix is special-use or internal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecialUse {
    /// `.local`: Multicast DNS (RFC 6762 §3; RFC 6761 special-use registry).
    Local,
    /// `.home.arpa`: home networks (RFC 8375).
    HomeArpa,
    /// Other names under `.arpa` (RFC 3172 infrastructure: `ipv4only.arpa`
    /// RFC 7050, `resolver.arpa` RFC 9462, `e164.arpa`, …). Names under
    /// `in-addr.arpa`/`ip6.arpa` are left to [`reverse_lookup`].
    ArpaInfrastructure,
    /// `localhost` and `*.localhost` (RFC 6761 §6.3).
    Localhost,
    /// `.invalid` (RFC 6761 §6.4).
    Invalid,
    /// `.test` (RFC 6761 §6.2).
    Test,
    /// `.example` (RFC 6761 §6.5; RFC 2606).
    Example,
    /// `.internal`: reserved by ICANN for private use (ICANN Board decision
    /// of July 2024 reserving `.internal`, following SSAC's SAC113 advice on
    /// a private-use TLD); never delegated.
    Internal,
    /// Common internal pseudo-TLDs never delegated in the root: `.lan`,
    /// `.localdomain`, `.home`, `.corp`, `.mail` (ICANN's Board stopped the
    /// `.home`/`.corp`/`.mail` applications in February 2018 because of name
    /// collisions), `.intranet`, `.private` (top non-delegated TLDs in
    /// ICANN's name-collision reports, e.g. JAS Global Advisors'
    /// "Mitigating the Risk of DNS Namespace Collisions"; see also
    /// draft-ietf-dnsop-private-use-tld on why private use needs a reserved
    /// TLD).
    PrivateUse,
}

/// Recognises special-use and internal suffixes (see [`SpecialUse`] for the
/// list and sources), including single-label `localhost` and `local`.
///
/// Deliberately not recognised:
/// * `.onion` (RFC 7686) is special-use, but an `.onion` name that reaches
///   DNS means software tried Tor addressing without Tor: ransomware and
///   Tor-based C2 (e.g. Cerber's payment site, here only via the `.top`
///   gateway in `c2_cerber_elcabezzonn_2016-11-24.pcap`) leak exactly such
///   names. An analyst wants to see them.
/// * `in-addr.arpa`/`ip6.arpa` subtrees, which [`reverse_lookup`] checks
///   for well-formedness (malformed names there stay unclassified).
/// * Site-specific internal suffixes (`oompa.loompa` in the WRCCDC log):
///   the caller's configuration must supply those.
pub fn special_use(name: &str) -> Option<SpecialUse> {
    let name = prepare(name)?;
    if strip_domain(name, "home.arpa").is_some() {
        return Some(SpecialUse::HomeArpa);
    }
    if strip_domain(name, "in-addr.arpa").is_some() || strip_domain(name, "ip6.arpa").is_some() {
        return None;
    }
    let tld = last_label(name);
    let is = |s: &str| tld.eq_ignore_ascii_case(s);
    if is("local") {
        Some(SpecialUse::Local)
    } else if is("arpa") {
        Some(SpecialUse::ArpaInfrastructure)
    } else if is("localhost") {
        Some(SpecialUse::Localhost)
    } else if is("invalid") {
        Some(SpecialUse::Invalid)
    } else if is("test") {
        Some(SpecialUse::Test)
    } else if is("example") {
        Some(SpecialUse::Example)
    } else if is("internal") {
        Some(SpecialUse::Internal)
    } else if [
        "lan",
        "localdomain",
        "home",
        "corp",
        "mail",
        "intranet",
        "private",
    ]
    .iter()
    .any(|s| is(s))
    {
        Some(SpecialUse::PrivateUse)
    } else {
        None
    }
}

/// An automatic proxy or tunnel discovery lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoDiscovery {
    /// Web Proxy Auto-Discovery: `wpad` or `wpad.<search domain>`
    /// (draft-ietf-wrec-wpad-01, DNS A-record discovery; clients walk up the
    /// search domain).
    Wpad,
    /// ISATAP router discovery: `isatap` or `isatap.<domain>` (RFC 5214
    /// potential router list; Windows queries it by default).
    Isatap,
}

/// Recognises WPAD and ISATAP discovery names: a first label of `wpad` or
/// `isatap`, alone (LLMNR/NetBIOS) or under any domain.
///
/// Caveat for the caller: `wpad.<public domain>` is benign as a query but a
/// *positive answer* from outside the site is a known attack (WPAD
/// name-collision hijack); rank the answer, not the query.
pub fn auto_discovery(name: &str) -> Option<AutoDiscovery> {
    let name = prepare(name)?;
    let first = first_label(name);
    if first.eq_ignore_ascii_case("wpad") {
        Some(AutoDiscovery::Wpad)
    } else if first.eq_ignore_ascii_case("isatap") {
        Some(AutoDiscovery::Isatap)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------
// 7. Dynamic-DNS provider's own hosts
// ---------------------------------------------------------------------------

/// Per-provider service host labels, checked against each provider's
/// documentation. The apex and `www` are always the provider's own.
const DDNS_PROVIDER_HOSTS: &[(&str, &[&str])] = &[
    // duckdns.org/spec.jsp: updates go to https://www.duckdns.org/update.
    ("duckdns.org", &[]),
    // noip.com/integrate/request: dynupdate.no-ip.com/nic/update.
    ("no-ip.com", &["dynupdate"]),
    // No-IP's current web site; updates still go to no-ip.com (above).
    ("noip.com", &[]),
    // dynu.com IP-Update-Protocol: api.dynu.com/nic/update; Dynu basic
    // SDK: basicupdate.dynu.com/basic/update.asp.
    ("dynu.com", &["api", "basicupdate"]),
    // FreeDNS: freedns.afraid.org/dynamic/update.php and the v2
    // sync.afraid.org/u/<key>/ update URLs.
    ("afraid.org", &["freedns", "sync"]),
    // help.dyn.com perform-update: members.dyndns.org/nic/update.
    // checkip.dyndns.org is left out on purpose: malware uses it as an
    // external-IP check (compare api.ipify.org, labelled ip_check).
    ("dyndns.org", &["members"]),
];

/// Says whether `name` is the dynamic-DNS provider `provider` itself (its
/// apex, `www.`, or a documented update/API host) rather than a customer
/// name under it. Both arguments follow the module's input contract.
///
/// Known providers and their hosts are in a sourced table (duckdns.org,
/// no-ip.com, noip.com, dynu.com, afraid.org, dyndns.org). For any other
/// provider suffix (e.g. No-IP's customer zones `ddns.net`, `hopto.org`)
/// only the apex and `www.` count: a customer can register `api.ddns.net`.
///
/// Deliberately not recognised: guessed hosts (`login.`, `ipv4.`, `ipv6.`,
/// `update.`) that no provider documentation listed, and IP-check hosts
/// (`checkip.dyndns.org`) that malware abuses.
pub fn is_ddns_provider_host(name: &str, provider: &str) -> bool {
    let (Some(name), Some(provider)) = (prepare(name), prepare(provider)) else {
        return false;
    };
    let Some(sub) = strip_domain(name, provider) else {
        return false;
    };
    if sub.is_empty() || sub.eq_ignore_ascii_case("www") {
        return true;
    }
    DDNS_PROVIDER_HOSTS
        .iter()
        .find(|(p, _)| p.eq_ignore_ascii_case(provider))
        .is_some_and(|(_, hosts)| hosts.iter().any(|h| sub.eq_ignore_ascii_case(h)))
}

// ---------------------------------------------------------------------------
// 8. Connectivity checks and OS background
// ---------------------------------------------------------------------------

/// What an OS background name is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackgroundKind {
    /// Captive-portal / connectivity probe.
    ConnectivityCheck,
    /// Teredo IPv6 tunnel server.
    Teredo,
    /// Time synchronisation (NTP).
    TimeSync,
    /// Certificate trust list / revocation (CTL, OCSP, CRL).
    CertRevocation,
    /// Latency measurement with random per-probe labels.
    LatencyMeasurement,
}

/// Exact host names, each with the source that documents it.
const BACKGROUND_HOSTS: &[(&str, BackgroundKind)] = &[
    // Microsoft NCSI (Windows Vista–8.1): "Network Connectivity Status
    // Indicator" docs, ncsi.txt + dns.msftncsi.com A record check.
    ("www.msftncsi.com", BackgroundKind::ConnectivityCheck),
    ("dns.msftncsi.com", BackgroundKind::ConnectivityCheck),
    // Microsoft NCSI (Windows 10/11): connecttest.txt, IPv6 variant.
    ("www.msftconnecttest.com", BackgroundKind::ConnectivityCheck),
    (
        "ipv6.msftconnecttest.com",
        BackgroundKind::ConnectivityCheck,
    ),
    // AOSP NetworkMonitor default captive-portal URLs (generate_204).
    (
        "connectivitycheck.gstatic.com",
        BackgroundKind::ConnectivityCheck,
    ),
    ("clients3.google.com", BackgroundKind::ConnectivityCheck),
    // Apple captive network assistant: captive.apple.com/hotspot-detect.html.
    ("captive.apple.com", BackgroundKind::ConnectivityCheck),
    // Firefox captive-portal service: network.captive-portal-service.uri.
    (
        "detectportal.firefox.com",
        BackgroundKind::ConnectivityCheck,
    ),
    // NetworkManager connectivity URIs shipped by GNOME, Debian
    // (network-manager-config-connectivity-debian) and Ubuntu
    // (network-manager-config-connectivity-ubuntu).
    ("nmcheck.gnome.org", BackgroundKind::ConnectivityCheck),
    ("network-test.debian.org", BackgroundKind::ConnectivityCheck),
    (
        "connectivity-check.ubuntu.com",
        BackgroundKind::ConnectivityCheck,
    ),
    // Windows default Teredo server (netsh interface teredo).
    ("teredo.ipv6.microsoft.com", BackgroundKind::Teredo),
    // Windows W32Time default NtpServer.
    ("time.windows.com", BackgroundKind::TimeSync),
    // Ubuntu systemd-timesyncd default (timesyncd.conf NTP=).
    ("ntp.ubuntu.com", BackgroundKind::TimeSync),
    // Windows automatic root/disallowed CTL update (authrootstl.cab,
    // disallowedcertstl.cab); seen in c2_roguerobin-* captures.
    ("ctldl.windowsupdate.com", BackgroundKind::CertRevocation),
];

/// Registered domains of CAs whose `ocsp*`/`crl*` hosts appear in
/// certificates' AIA/CDP extensions. Each was seen as OCSP/CRL traffic in
/// the shared data (cerber = c2_cerber_elcabezzonn_2016-11-24.pcap, emotet =
/// c2_emotet_unit42_2021-01-06.pcap, wrccdc = zeek_zed-sample-wrccdc_dns.log.gz).
const CA_DOMAINS: &[&str] = &[
    "digicert.com",    // DigiCert; cerber, wrccdc
    "verisign.com",    // VeriSign/Symantec legacy; cerber, emotet
    "symantec.com",    // ocsp.ws.symantec.com; cerber
    "comodoca.com",    // Comodo/Sectigo; cerber, wrccdc
    "comodoca4.com",   // Comodo ECC; wrccdc
    "usertrust.com",   // Sectigo USERTrust; wrccdc
    "godaddy.com",     // GoDaddy; cerber, wrccdc
    "msocsp.com",      // Microsoft IT TLS CAs; cerber, wrccdc
    "microsoft.com",   // crl.microsoft.com; cerber
    "geotrust.com",    // GeoTrust; cerber
    "pki.goog",        // Google Trust Services; wrccdc
    "letsencrypt.org", // ocsp.int-x3.letsencrypt.org; wrccdc
    "amazontrust.com", // ocsp.sca1b.amazontrust.com; wrccdc
];

/// Symantec's short OCSP/CRL domains (`sg.symcd.com`, `s2.symcb.com`, seen
/// in cerber): one short label in front.
const CA_SHORT_DOMAINS: &[&str] = &["symcd.com", "symcb.com"];

fn is_revocation_label(l: &str) -> bool {
    ["ocsp", "crl"].iter().any(|p| {
        l.len() >= p.len()
            && l.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
            && l.len() <= p.len() + 1
            && l[p.len()..].bytes().all(|b| b.is_ascii_digit())
    })
}

/// Recognises connectivity checks and OS background names that look rare
/// but are benign: the exact hosts in `BACKGROUND_HOSTS` (NCSI, Android,
/// Apple, Firefox, NetworkManager probes, Teredo, Windows/Ubuntu time,
/// Windows CTL), the NTP pool (`pool.ntp.org` and up to two short labels in
/// front: `0.debian.pool.ntp.org`), OCSP/CRL hosts (`ocsp`, `ocsp2`, `crl`,
/// `crl3`… as first label, at most one label between it and a listed CA
/// domain), Symantec's `*.symcd.com`/`*.symcb.com`, and Azure Traffic
/// Manager real-user measurements `<32 hex>.clo.footprintdns.com` and
/// `report.footprintdns.com` (josh.st, "FootprintDNS – what is it for?",
/// 2018: the RUM script uses `.clo.footprintdns.com`; seen in cerber).
///
/// Deliberately not recognised: CDN/telemetry names in general (too many,
/// and abusable as fronting), CNAME targets such as
/// `www.msftncsi.com.edgesuite.net`, and any `ocsp.`/`crl.` host under a
/// domain not in the CA list.
pub fn os_background(name: &str) -> Option<BackgroundKind> {
    let name = prepare(name)?;
    if let Some((_, k)) = BACKGROUND_HOSTS
        .iter()
        .find(|(h, _)| h.eq_ignore_ascii_case(name))
    {
        return Some(*k);
    }
    if let Some(sub) = strip_domain(name, "pool.ntp.org") {
        let ok = sub.is_empty()
            || (sub.split('.').count() <= 2
                && sub
                    .split('.')
                    .all(|l| l.len() <= 16 && l.bytes().all(is_ldh)));
        return ok.then_some(BackgroundKind::TimeSync);
    }
    if let Some(sub) = strip_domain(name, "footprintdns.com") {
        if sub.eq_ignore_ascii_case("report") {
            return Some(BackgroundKind::LatencyMeasurement);
        }
        if let Some(id) = strip_domain(sub, "clo")
            && id.len() == 32
            && id.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Some(BackgroundKind::LatencyMeasurement);
        }
        return None;
    }
    for ca in CA_DOMAINS {
        if let Some(sub) = strip_domain(name, ca) {
            let mut parts = sub.split('.');
            let first = parts.next().unwrap_or("");
            let middle = parts.count();
            if is_revocation_label(first) && middle <= 1 {
                return Some(BackgroundKind::CertRevocation);
            }
            return None;
        }
    }
    for d in CA_SHORT_DOMAINS {
        if let Some(sub) = strip_domain(name, d) {
            let ok = (1..=3).contains(&sub.len()) && sub.bytes().all(|b| b.is_ascii_alphanumeric());
            return ok.then_some(BackgroundKind::CertRevocation);
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Combined
// ---------------------------------------------------------------------------

/// The benign class a name falls in, from [`classify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenignClass<'a> {
    /// See [`reverse_lookup`].
    Reverse(ReverseLookup),
    /// See [`dnsbl_lookup`].
    Dnsbl(DnsblLookup<'a>),
    /// See [`active_directory`].
    ActiveDirectory(AdName),
    /// See [`underscore_service`].
    Service(ServiceName<'a>),
    /// See [`auto_discovery`].
    AutoDiscovery(AutoDiscovery),
    /// See [`special_use`].
    SpecialUse(SpecialUse),
    /// See [`os_background`].
    Background(BackgroundKind),
}

/// Runs the name-only tests in a fixed order (reverse, DNSBL, Active
/// Directory, underscore service, WPAD/ISATAP, special-use, OS background)
/// and returns the first match.
///
/// Not included, because they need the caller's context:
/// [`is_chrome_probe_shape`] (needs NXDOMAIN + many hosts) and
/// [`is_ddns_provider_host`] (needs the provider list). Note that
/// [`BenignClass::Dnsbl`] also needs a check of its zone (see
/// [`dnsbl_lookup`]).
pub fn classify(name: &str) -> Option<BenignClass<'_>> {
    if let Some(r) = reverse_lookup(name) {
        return Some(BenignClass::Reverse(r));
    }
    if let Some(d) = dnsbl_lookup(name) {
        return Some(BenignClass::Dnsbl(d));
    }
    if let Some(a) = active_directory(name) {
        return Some(BenignClass::ActiveDirectory(a));
    }
    if let Some(s) = underscore_service(name) {
        return Some(BenignClass::Service(s));
    }
    if let Some(w) = auto_discovery(name) {
        return Some(BenignClass::AutoDiscovery(w));
    }
    if let Some(s) = special_use(name) {
        return Some(BenignClass::SpecialUse(s));
    }
    os_background(name).map(BenignClass::Background)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Sources of real names (read in place from /work/shared/data):
    // CERBER  = pcaps/c2_cerber_elcabezzonn_2016-11-24.pcap
    // NJRAT   = pcaps/c2_njrat_zeek-njrat-detector_njrat.pcap
    // TESLA   = pcaps/c2_agenttesla_anyrun_a30789ce.pcap
    // OSTRY   = pcaps/c2_dns-txt-backdoor_pcap-attack_ostrykebs.pcap
    // DRIDEX  = pcaps/c2_dridex_unit42_https-tutorial.pcap
    // EMOTET  = pcaps/c2_emotet_unit42_2021-01-06.pcap
    // RR-NET  = pcaps/c2_roguerobin-net_domainator_*.pcapng
    // RR-PS   = pcaps/c2_roguerobin-ps_domainator_upload-rsa4096.pcapng
    // WIKI    = pcaps/benign_zeek_wikipedia.pcap (= logs/zeek_opt-basic.pcap)
    // WRCCDC  = logs/zeek_zed-sample-wrccdc_dns.log.gz
    // TXT     = logs/zeek_multiple-txt-strings_dns.log
    // MDNS    = logs/zeek_mdns-no-assoc_dns.canon.log
    // SURILOG = logs/suricata_suricatalog-eve-2_v2_eve.json

    #[test]
    fn prepare_refuses_what_is_not_a_presentation_name() {
        let long = "a".repeat(63);
        assert_eq!(prepare("www.example.com."), Some("www.example.com"));
        assert_eq!(
            prepare(&format!("{long}.com")),
            Some(&*format!("{long}.com"))
        );
        for bad in [
            "",
            ".",
            "..",
            ".example.com",
            "www..example.com",
            "example.com..",
            "a\\046b.com",
            &format!("a{long}.com"),
            &"a.".repeat(128),
        ] {
            assert_eq!(prepare(bad), None, "{bad:?}");
        }
    }

    // ---- 1. reverse lookups -------------------------------------------

    #[test]
    fn reverse_real_ipv4() {
        // OSTRY
        assert_eq!(
            reverse_lookup("2.100.168.192.in-addr.arpa"),
            Some(ReverseLookup::Ipv4(Ipv4Addr::new(192, 168, 100, 2)))
        );
        // OSTRY, RR-NET, RR-PS
        assert_eq!(
            reverse_lookup("8.8.8.8.in-addr.arpa"),
            Some(ReverseLookup::Ipv4(Ipv4Addr::new(8, 8, 8, 8)))
        );
        // DRIDEX
        assert_eq!(
            reverse_lookup("128.3.107.13.in-addr.arpa"),
            Some(ReverseLookup::Ipv4(Ipv4Addr::new(13, 107, 3, 128)))
        );
        // WRCCDC
        assert_eq!(
            reverse_lookup("156.0.16.172.in-addr.arpa"),
            Some(ReverseLookup::Ipv4(Ipv4Addr::new(172, 16, 0, 156)))
        );
    }

    #[test]
    fn reverse_partial_and_ipv6() {
        assert_eq!(
            reverse_lookup("168.192.in-addr.arpa"),
            Some(ReverseLookup::Ipv4Partial { octets: 2 })
        );
        assert_eq!(
            reverse_lookup("in-addr.arpa"),
            Some(ReverseLookup::Ipv4Partial { octets: 0 })
        );
        assert_eq!(
            reverse_lookup("0.in-addr.arpa"),
            Some(ReverseLookup::Ipv4Partial { octets: 1 })
        );
        // RFC 3596 §2.5 example: 4321:0:1:2:3:4:567:89ab.
        let v6 = "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa";
        assert_eq!(
            reverse_lookup(v6),
            Some(ReverseLookup::Ipv6(
                "4321:0:1:2:3:4:567:89ab".parse().unwrap()
            ))
        );
        assert_eq!(
            reverse_lookup("8.b.d.0.1.0.0.2.ip6.arpa"),
            Some(ReverseLookup::Ipv6Partial { nibbles: 8 })
        );
        assert_eq!(
            reverse_lookup("ip6.arpa"),
            Some(ReverseLookup::Ipv6Partial { nibbles: 0 })
        );
        // Case and a trailing dot are tolerated.
        assert_eq!(
            reverse_lookup("8.8.8.8.IN-ADDR.ARPA."),
            Some(ReverseLookup::Ipv4(Ipv4Addr::new(8, 8, 8, 8)))
        );
    }

    #[test]
    fn reverse_malformed_is_rejected() {
        for n in [
            "256.1.1.1.in-addr.arpa",
            "01.1.1.1.in-addr.arpa",
            "1.2.3.4.5.in-addr.arpa",
            "0/25.2.0.192.in-addr.arpa", // RFC 2317 classless: not ours
            "0-25.2.0.192.in-addr.arpa",
            "exfil-data.in-addr.arpa",
            "b._dns-sd._udp.0.1.168.192.in-addr.arpa", // DNS-SD, class 3
            "x.ip6.arpa",
            "10.ip6.arpa",
            "1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.ip6.arpa",
            "in-addr.arpa.example.com",
            "xin-addr.arpa",
            "1.2.3.4.example.com",
        ] {
            assert_eq!(reverse_lookup(n), None, "{n}");
        }
    }

    // ---- 2. DNSBL ------------------------------------------------------

    // No DNSBL query occurs in the shared data; these are RFC 5782 §2.1/§5
    // and documented list zones.
    #[test]
    fn dnsbl_documented() {
        let d = dnsbl_lookup("2.0.0.127.bl.spamcop.net").unwrap();
        assert_eq!(d.addr, IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)));
        assert_eq!(d.zone, "bl.spamcop.net");
        let d = dnsbl_lookup("4.3.2.1.zen.spamhaus.org").unwrap();
        assert_eq!(d.addr, IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4)));
        assert_eq!(d.zone, "zen.spamhaus.org");
        // Zone whose first label is a single letter.
        let d = dnsbl_lookup("4.3.2.1.b.barracudacentral.org").unwrap();
        assert_eq!(d.zone, "b.barracudacentral.org");
        // RFC 5782 §2.4 IPv6 form, 2001:db8:1:2:3:4:567:89ab.
        let v6 =
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.dnsbl.example.net";
        let d = dnsbl_lookup(v6).unwrap();
        assert_eq!(
            d.addr,
            IpAddr::V6("2001:db8:1:2:3:4:567:89ab".parse().unwrap())
        );
        assert_eq!(d.zone, "dnsbl.example.net");
        // IPv6 whose leftmost nibble is a digit (must not stop at the v4 try).
        let v6 = "1.2.3.4.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example.org";
        assert_eq!(dnsbl_lookup(v6).unwrap().zone, "bl.example.org");
    }

    #[test]
    fn dnsbl_rejects() {
        for n in [
            "1.2.3.4.in-addr.arpa", // reverse lookup, not DNSBL
            "1.2.3.4.5.example.com",
            "1.2.3.4.com",
            "1.2.3.bl.spamcop.net",
            "256.0.0.127.bl.spamcop.net",
            "7.tcp.eu.ngrok.io",           // NJRAT C2
            "c.1-1.24006.ns.ostrykebs.pl", // OSTRY C2
            "l.1.ns.ostrykebs.pl",
            // dnscat2 hex label (hash-style lookups are not recognised)
            "147901b8d3df9cc46c59d600078b3316ce.biillpi.com",
        ] {
            assert_eq!(dnsbl_lookup(n), None, "{n}");
        }
    }

    // ---- 3. underscore service labels ------------------------------------

    fn svc(n: &str) -> Option<(ServiceKind, &str)> {
        underscore_service(n).map(|s| (s.kind, s.domain))
    }

    #[test]
    fn underscore_real() {
        use ServiceKind::*;
        // WIKI (mDNS)
        assert_eq!(svc("gemini._sftp-ssh._tcp.local"), Some((Srv, "local")));
        // TESLA, NJRAT (mDNS)
        assert_eq!(svc("_googlecast._tcp.local"), Some((Srv, "local")));
        // RR-NET (mDNS)
        assert_eq!(svc("_ipps._tcp.local"), Some((Srv, "local")));
        // CERBER
        assert_eq!(svc("_daap._tcp.local"), Some((Srv, "local")));
        assert_eq!(
            svc("_ldap._tcp.dc._msdcs.picklesworth.local"),
            Some((AdLocator, "picklesworth.local"))
        );
        assert_eq!(
            svc("_ldap._tcp.default-first-site-name._sites.domaindnszones.picklesworth.local"),
            Some((AdLocator, "domaindnszones.picklesworth.local"))
        );
        assert_eq!(
            svc("_ldap._tcp.snicklefritz.picklesworth.local"),
            Some((Srv, "snicklefritz.picklesworth.local"))
        );
        // TXT
        assert_eq!(
            svc("flkr._domainkey.flickr.com"),
            Some((Dkim, "flickr.com"))
        );
        // WRCCDC
        assert_eq!(
            svc("_http._tcp.us.archive.ubuntu.com"),
            Some((Srv, "us.archive.ubuntu.com"))
        );
        assert_eq!(svc("_git._tcp.github.com"), Some((Srv, "github.com")));
        assert_eq!(svc("_vlmcs._tcp"), Some((Srv, "")));
        assert_eq!(
            svc("adstrofudge-2._udisks-ssh._tcp.local"),
            Some((Srv, "local"))
        );
        assert_eq!(svc("_sleep-proxy._udp.local"), Some((Srv, "local")));
        assert_eq!(svc("_nmea-0183._tcp.local"), Some((Srv, "local")));
    }

    #[test]
    fn underscore_documented() {
        use ServiceKind::*;
        assert_eq!(svc("_dmarc.example.com"), Some((Dmarc, "example.com")));
        assert_eq!(
            svc("_acme-challenge.www.example.org"),
            Some((AcmeChallenge, "www.example.org"))
        );
        assert_eq!(svc("_mta-sts.example.com"), Some((MtaSts, "example.com")));
        assert_eq!(svc("_smtp._tls.example.com"), Some((TlsRpt, "example.com")));
        assert_eq!(
            svc("_25._tcp.mail.example.com"),
            Some((Dane, "mail.example.com"))
        );
        assert_eq!(svc("_services._dns-sd._udp.local"), Some((DnsSd, "local")));
        assert_eq!(
            svc("b._dns-sd._udp.0.1.168.192.in-addr.arpa"),
            Some((DnsSd, "0.1.168.192.in-addr.arpa"))
        );
        assert_eq!(
            svc("lb._dns-sd._udp.example.com"),
            Some((DnsSd, "example.com"))
        );
        assert_eq!(
            svc("_autodiscover._tcp.example.com"),
            Some((Srv, "example.com"))
        );
        assert_eq!(svc("_sip._udp.example.com"), Some((Srv, "example.com")));
        assert_eq!(
            svc("_kerberos._tcp.site1._sites.corp.example.com"),
            Some((AdLocator, "corp.example.com"))
        );
        assert_eq!(
            svc("_kerberos.example.com"),
            Some((OtherLeaf, "example.com"))
        );
        assert_eq!(
            svc("_dns.resolver.arpa"),
            Some((OtherLeaf, "resolver.arpa"))
        );
        assert_eq!(svc("_ta-4f66"), Some((OtherLeaf, "")));
        assert_eq!(svc("_ta-4f66-9728"), Some((OtherLeaf, "")));
        assert_eq!(svc("_HTTP._TCP.Example.COM"), Some((Srv, "Example.COM")));
    }

    #[test]
    fn underscore_rejects() {
        for n in [
            "a.b._http._tcp.evil.example", // data in 2 labels before service
            "_=auth.example.com",
            "_abc.example.com", // unknown leaf, no protocol
            "_tcp.local",       // protocol without service
            "_thisservicenameiswaytoolong._tcp.example.com",
            "_-x._tcp.example.com",
            "_x-._tcp.example.com",
            "_1--2._tcp.example.com",
            "_ta-4f6.",
            "_ta-zzzz",
            "_",
            "_._tcp.example.com",
            // real exfil/tunnel names with underscores inside labels
            "1.29kvgvnyyqz5xfejrpvv7vh_wsi2smpyy_pvzo39mvavfu9ryjgrszxqwd68flp.hsc.fr",
            "aaaaah7wqa.=auth.dns2tcp.hsc.fr",
            "example.com",
        ] {
            assert_eq!(underscore_service(n), None, "{n}");
        }
    }

    // ---- 4. Active Directory -----------------------------------------------

    #[test]
    fn ad_real() {
        use AdName::*;
        // CERBER
        assert_eq!(
            active_directory("_ldap._tcp.pdc._msdcs.picklesworth.local"),
            Some(Msdcs)
        );
        assert_eq!(
            active_directory(
                "_ldap._tcp.default-first-site-name._sites.dc._msdcs.picklesworth.local"
            ),
            Some(Msdcs)
        );
        assert_eq!(
            active_directory(
                "_ldap._tcp.default-first-site-name._sites.forestdnszones.picklesworth.local"
            ),
            Some(DnsZonesPartition)
        );
        // WRCCDC (AD domain under a made-up TLD)
        assert_eq!(
            active_directory("_ldap._tcp.dc._msdcs.factory.oompa.loompa"),
            Some(Msdcs)
        );
        // RR-NET, RR-PS: LLMNR and mDNS for the lab PC's default name
        assert_eq!(
            active_directory("desktop-r2r40v7"),
            Some(DefaultComputerName(WindowsDefaultName::Desktop))
        );
        assert_eq!(
            active_directory("desktop-r2r40v7.local"),
            Some(DefaultComputerName(WindowsDefaultName::Desktop))
        );
        // NJRAT, TESLA: Windows 7 default `<user>-PC` over LLMNR
        assert_eq!(
            active_directory("user-pc"),
            Some(DefaultComputerName(WindowsDefaultName::UserPc))
        );
    }

    #[test]
    fn ad_documented_and_rejects() {
        use AdName::*;
        // [MS-ADTS] DC locator names.
        assert_eq!(
            active_directory("3f4c1a2b-1d2e-4f5a-9b8c-0123456789ab._msdcs.corp.example.com"),
            Some(Msdcs)
        );
        assert_eq!(active_directory("gc._msdcs.corp.example.com"), Some(Msdcs));
        assert_eq!(
            active_directory("domaindnszones.corp.example.com"),
            Some(DnsZonesPartition)
        );
        assert_eq!(
            active_directory("win-a1b2c3d4e5f.corp"),
            Some(DefaultComputerName(WindowsDefaultName::Win))
        );
        assert_eq!(
            active_directory("LAPTOP-1A2B3C4D.home.arpa"),
            Some(DefaultComputerName(WindowsDefaultName::Laptop))
        );
        assert_eq!(
            active_directory("laptop-1a2b3c4.lan"),
            Some(DefaultComputerName(WindowsDefaultName::Laptop))
        );
        for n in [
            "desktop-r2r40v7.example.com", // public suffix: caller decides
            "desktop-r2r40v",
            "desktop-r2r40v77",
            "win-abc.local",
            "_msdcs",
            "domaindnszones",
            "desktop-r2r40v7.1.168.192.in-addr.arpa",
            "-pc",
            "pc",
            "picklesworth.local",
        ] {
            assert_eq!(active_directory(n), None, "{n}");
        }
        assert_eq!(
            windows_default_hostname("desktop-1d8k0yz"),
            Some(WindowsDefaultName::Desktop)
        );
        assert_eq!(
            windows_default_hostname("desktop-ipfttco"),
            Some(WindowsDefaultName::Desktop)
        );
        assert_eq!(windows_default_hostname("desktop"), None);
    }

    // ---- 5. Chrome probes ----------------------------------------------

    #[test]
    fn chrome_probe_real_burst() {
        // NJRAT: one IntranetRedirectDetector burst of three, over LLMNR.
        for n in ["amphgclfvqj", "lfggymsavygqqrv", "uvfarfimw"] {
            assert!(is_chrome_probe_shape(n), "{n}");
        }
    }

    #[test]
    fn chrome_probe_bounds() {
        assert!(is_chrome_probe_shape("abcdefg")); // 7
        assert!(is_chrome_probe_shape("abcdefghijklmno")); // 15
        assert!(!is_chrome_probe_shape("abcdef")); // 6
        assert!(!is_chrome_probe_shape("abcdefghijklmnop")); // 16
        // Tinba DGA (dga_tinba_ustc-tfc2016_tinba.pcap) is label + .xyz.
        assert!(!is_chrome_probe_shape("bbiqnlscrrkl.xyz"));
        assert!(!is_chrome_probe_shape("fffreenet.xyz"));
        // ...but the bare 12-letter label does match: that is why the caller
        // must add NXDOMAIN + many hosts.
        assert!(is_chrome_probe_shape("bbiqnlscrrkl"));
        // WIKI LLMNR printer name has digits.
        assert!(!is_chrome_probe_shape("brwc0cb383d1f42"));
        assert!(!is_chrome_probe_shape("user-pc"));
        // WIKI NetBIOS workgroup name, kept upper-case in the Zeek canon log.
        assert!(!is_chrome_probe_shape("WORKGROUP"));
        // WRCCDC internal host names that were NXDOMAIN: the shape matches,
        // so the caller's "many hosts" condition is what excludes them.
        assert!(is_chrome_probe_shape("pigfoot"));
        assert!(is_chrome_probe_shape("gummybacon"));
        assert!(!is_chrome_probe_shape("abcdef.")); // 6 letters after the dot is stripped
        assert!(is_chrome_probe_shape("abcdefgh.")); // trailing dot ignored
    }

    // ---- 6. special-use and auto-discovery ----------------------------------

    #[test]
    fn special_use_real() {
        use SpecialUse::*;
        // CERBER
        assert_eq!(special_use("snicklefritz.picklesworth.local"), Some(Local));
        // MDNS
        assert_eq!(special_use("initial-query-a.local"), Some(Local));
        // WRCCDC
        assert_eq!(special_use("chatserver.local"), Some(Local));
        assert_eq!(special_use("local"), Some(Local));
        assert_eq!(
            special_use("mirror.cs.vt.edu.localdomain"),
            Some(PrivateUse)
        );
        assert_eq!(
            special_use("repo.mongodb.org.localdomain"),
            Some(PrivateUse)
        );
        // WRCCDC `analytics.example.com` is example.com, not .example.
        assert_eq!(special_use("analytics.example.com"), None);
    }

    #[test]
    fn special_use_documented() {
        use SpecialUse::*;
        let cases = [
            ("printer.home.arpa", HomeArpa), // RFC 8375
            ("home.arpa", HomeArpa),
            ("ipv4only.arpa", ArpaInfrastructure), // RFC 7050
            ("_dns.resolver.arpa", ArpaInfrastructure), // RFC 9462
            ("localhost", Localhost),              // RFC 6761 §6.3
            ("app.localhost", Localhost),
            ("x.invalid", Invalid),        // §6.4
            ("x.test", Test),              // §6.2
            ("www.example", Example),      // §6.5
            ("gitlab.internal", Internal), // ICANN 2024
            ("nas.lan", PrivateUse),
            ("dc1.corp", PrivateUse),
            ("router.home", PrivateUse),
            ("wiki.intranet", PrivateUse),
            ("db.private", PrivateUse),
            ("box.mail", PrivateUse),
            ("host.localdomain", PrivateUse),
            ("HOST.LOCAL", Local),
        ];
        for (n, want) in cases {
            assert_eq!(special_use(n), Some(want), "{n}");
        }
        for n in [
            "duskgytldkxiuqc6.onion", // decided: not benign
            "8.8.8.8.in-addr.arpa",   // class 1
            "ip6.arpa",
            "local.example.com",
            "localhost.example.com",
            "lan.com",
            "ffoqr3ug7m726zou.04hyxg.top",
        ] {
            assert_eq!(special_use(n), None, "{n}");
        }
    }

    #[test]
    fn auto_discovery_real_and_rejects() {
        use AutoDiscovery::*;
        assert_eq!(auto_discovery("wpad"), Some(Wpad)); // NJRAT (LLMNR)
        assert_eq!(auto_discovery("isatap"), Some(Isatap)); // TESLA, NJRAT, OSTRY (LLMNR)
        assert_eq!(auto_discovery("wpad.picklesworth.local"), Some(Wpad)); // CERBER
        assert_eq!(auto_discovery("isatap.picklesworth.local"), Some(Isatap)); // CERBER
        assert_eq!(auto_discovery("wpad.wrccdc.black"), Some(Wpad)); // WRCCDC
        assert_eq!(auto_discovery("WPAD.corp.example.com."), Some(Wpad));
        for n in [
            "wpadx.example.com",
            "mywpad.com",
            "www.wpad.com",
            "isatap-1.corp",
        ] {
            assert_eq!(auto_discovery(n), None, "{n}");
        }
    }

    // ---- 7. dynamic-DNS provider hosts ---------------------------------------

    #[test]
    fn ddns_provider_hosts() {
        // Provider apexes seen in names/benign_alexa_top10k.csv.
        assert!(is_ddns_provider_host("dyndns.org", "dyndns.org"));
        assert!(is_ddns_provider_host("noip.com", "noip.com"));
        // Documented update hosts (sources in DDNS_PROVIDER_HOSTS).
        for (n, p) in [
            ("duckdns.org", "duckdns.org"),
            ("www.duckdns.org", "duckdns.org"),
            ("dynupdate.no-ip.com", "no-ip.com"),
            ("api.dynu.com", "dynu.com"),
            ("basicupdate.dynu.com", "dynu.com"),
            ("freedns.afraid.org", "afraid.org"),
            ("sync.afraid.org", "afraid.org"),
            ("members.dyndns.org", "dyndns.org"),
            ("www.ddns.net", "ddns.net"),
            ("ddns.net", "ddns.net."),
            ("WWW.DuckDNS.org", "duckdns.org"),
        ] {
            assert!(is_ddns_provider_host(n, p), "{n} / {p}");
        }
        for (n, p) in [
            ("myhost.duckdns.org", "duckdns.org"),
            ("login.duckdns.org", "duckdns.org"), // not documented
            ("checkip.dyndns.org", "dyndns.org"), // IP check: left out
            ("api.ddns.net", "ddns.net"),         // customer zone
            ("www.myhost.duckdns.org", "duckdns.org"),
            ("notduckdns.org", "duckdns.org"),
            // Symmi DGA on No-IP's customer zone (names/dga_netlab360_2017-07_sample.tsv)
            ("atseehalu.ddns.net", "ddns.net"),
            ("helaseikiqvoa.ddns.net", "ddns.net"),
            ("duckdns.org", ""),
            ("", "duckdns.org"),
        ] {
            assert!(!is_ddns_provider_host(n, p), "{n} / {p}");
        }
    }

    // ---- 8. OS background ----------------------------------------------

    #[test]
    fn background_real() {
        use BackgroundKind::*;
        let cases = [
            ("dns.msftncsi.com", ConnectivityCheck), // CERBER, EMOTET, tinba, RR-NET
            ("www.msftncsi.com", ConnectivityCheck), // CERBER, WRCCDC
            ("detectportal.firefox.com", ConnectivityCheck), // WRCCDC
            ("teredo.ipv6.microsoft.com", Teredo),   // WRCCDC
            ("0.debian.pool.ntp.org", TimeSync),     // WRCCDC
            ("2.fedora.pool.ntp.org", TimeSync),     // WRCCDC
            ("1.arch.pool.ntp.org", TimeSync),       // WRCCDC
            ("ntp.ubuntu.com", TimeSync),            // WRCCDC
            ("ctldl.windowsupdate.com", CertRevocation), // RR-PS, SURILOG
            ("ocsp.digicert.com", CertRevocation),   // CERBER, WRCCDC
            ("ocsp.verisign.com", CertRevocation),   // CERBER, EMOTET
            ("ocsp.ws.symantec.com", CertRevocation), // CERBER
            ("crl.microsoft.com", CertRevocation),   // CERBER
            ("crl.geotrust.com", CertRevocation),    // CERBER
            ("ocsp.msocsp.com", CertRevocation),     // CERBER, WRCCDC
            ("g.symcd.com", CertRevocation),         // CERBER
            ("s2.symcb.com", CertRevocation),        // CERBER
            ("ocsp.int-x3.letsencrypt.org", CertRevocation), // WRCCDC
            ("ocsp.sca1b.amazontrust.com", CertRevocation), // WRCCDC
            ("ocsp.pki.goog", CertRevocation),       // WRCCDC
            (
                "9867e997dab5ab2d7a5298c00f962e1e.clo.footprintdns.com",
                LatencyMeasurement,
            ), // CERBER
            ("report.footprintdns.com", LatencyMeasurement), // CERBER
        ];
        for (n, want) in cases {
            assert_eq!(os_background(n), Some(want), "{n}");
        }
    }

    #[test]
    fn background_documented_and_rejects() {
        use BackgroundKind::*;
        for n in [
            "www.msftconnecttest.com",
            "ipv6.msftconnecttest.com",
            "connectivitycheck.gstatic.com",
            "clients3.google.com",
            "captive.apple.com",
            "nmcheck.gnome.org",
            "network-test.debian.org",
            "connectivity-check.ubuntu.com",
        ] {
            assert_eq!(os_background(n), Some(ConnectivityCheck), "{n}");
        }
        assert_eq!(os_background("time.windows.com"), Some(TimeSync));
        assert_eq!(os_background("pool.ntp.org"), Some(TimeSync));
        assert_eq!(os_background("crl3.digicert.com"), Some(CertRevocation));
        for n in [
            "ocsp-ds.ws.symantec.com.edgekey.net", // CERBER CNAME-ish target
            "www.msftncsi.com.edgesuite.net",      // CERBER
            "evil.ocsp.digicert.com",
            "ocsp.evil.com",
            "crl.a.b.digicert.com",
            "ocspx.digicert.com",
            "x.y.z.pool.ntp.org",
            "abc.clo.footprintdns.com",
            "9867e997dab5ab2d7a5298c00f962e1e.footprintdns.com",
            "evil.symcd.com.attacker.net",
            "toolongname.symcd.com",
            "clients4.google.com", // WRCCDC: not a connectivity check
            "msftncsi.com",
        ] {
            assert_eq!(os_background(n), None, "{n}");
        }
    }

    // ---- negatives: real C2 / DGA / tunnel names ------------------------------

    /// Labelled names from /work/shared/data/LABELS.csv as found in the
    /// captures (first, last and longest distinct name per label row).
    const REAL_BAD: &[&str] = &[
        // c2_njrat_zeek-njrat-detector_njrat.pcap
        "7.tcp.eu.ngrok.io",
        // c2_cerber_elcabezzonn_2016-11-24.pcap
        "ffoqr3ug7m726zou.04hyxg.top",
        "btc.blockr.io",
        "new.mobilelav.com",
        // dga_tinba_ustc-tfc2016_tinba.pcap
        "bbiqnlscrrkl.xyz",
        "yytxpiylmovs.xyz",
        "fffreenet.xyz",
        // c2_emotet_unit42_2021-01-06.pcap
        "padreescapes.com",
        "sarture.com",
        "seo.udaipurkart.com",
        "hangarlastik.com",
        // c2_dridex_unit42_https-tutorial.pcap
        "foodsgoodforliver.com",
        "105711.com",
        // c2_dns-txt-backdoor_pcap-attack_ostrykebs.pcap
        "c.1-1.24006.ns.ostrykebs.pl",
        "l.ns.ostrykebs.pl",
        // c2_roguerobin-net_domainator_upload-ed25519.pcapng
        "bqhcamlqx.0nedrive.agency",
        "dcqhhnklmoirnilkohlllllpmnkjncjfndoommlplpn.0nedrive.agency",
        "bqhcftjhc.onedrive.agency",
        "dcqhhnknnpivhanmlqomnondnnljoqlmmpoinpnalk-qr.onedrive.agency",
        "dcqhhnkjikitlildoolilililioloankkjnoolmamoh-w1.onedrive.agency",
        "bqhccqqya.skydrive.agency",
        "dcqhhnkqjitdjdjdjdjdhanjkkljncnjneleoanilk.skydrive.agency",
        "dcqhhnkokhitonclinikjlnoknimilmlklioomikdha.skydrive.agency",
        "bqhcamlqx.sharepoint.agency",
        "dcqhhnkoqphrdjdjdha.sharepoint.agency",
        "dcqhhnkkqmiulilioloankkjnoolmamomioqlemlmmo.sharepoint.agency",
        "bqhcayugh-nw.corewindows.agency",
        "dcqhhnkmopiroqlpnloplmkkkjknncnildlqnojfoh.corewindows.agency",
        "dcqhhnkijjirkiojmampnbolnlnalmlilililililj.corewindows.agency",
        "bqhcoqcis.microsoftonline.agency",
        "dcqhhnkoqphrdjdjdha.microsoftonline.agency",
        "dcqhhnklmoirnilkohlllllpmnkjncjfndoommlplpn.microsoftonline.agency",
        "bqhclwhgj.0ffice365.agency",
        "dcqhhnkqjitdjdjdjdjdhanjkkljncnjneleoanilk.0ffice365.agency",
        "dcqhhnkljnivplfmililililklinanmkpopllkpoooo-ut.0ffice365.agency",
        "bqhcabdlr.0ffice365.life",
        "dcqhhnknkpisljnflbnbldldnlmpnimpjbnjljmink.0ffice365.life",
        "dcqhhnklmoirnilkohlllllpmnkjncjfndoommlplpn.0ffice365.life",
        "bqhccrsfu.0ffice365.services",
        "dcqhhnkoniiujdjdjdjdjdlmlelljhlfmhlmlemkmkl.0ffice365.services",
        "dcqhhnklpoisqlcnflaneoonknplnknnfmqooonojl-c5.0ffice365.services",
        "bqhcmkmuq.skydrive.services",
        "dcqhhnkoqiispjhmhmjlqmnlimllmjhlblmmqjdjdj.skydrive.services",
        "dcqhhnkkqmiulilioloankkjnoolmamomioqlemlmmo.skydrive.services",
        // c2_roguerobin-net_domainator_handshake-offline.pcapng
        "amhonc-nv.0nedrive.agency",
        "amhonc.0nedrive.agency",
        "amhonc.onedrive.agency",
        "amhonc.skydrive.agency",
        "amhonc-su.sharepoint.agency",
        "amhonc.sharepoint.agency",
        "amhonc.corewindows.agency",
        "amhonc-cj.microsoftonline.agency",
        "amhonc.microsoftonline.agency",
        "amhonc.0ffice365.agency",
        "amhonc-vt.0ffice365.life",
        "amhonc.0ffice365.life",
        "amhonc.0ffice365.services",
        "amhonc.skydrive.services",
        // c2_roguerobin-ps_domainator_upload-rsa4096.pcapng
        "104-222204-1181-fbqkc1dmjtvufbquffym05dvprqufbqufbqufbqk.windowsdefender.win",
        "104-222204-9881-xny9em0zrt0fnak0vrfntqnnbqwhbzlznzxrb.windowsdefender.win",
        "104-222204-25511-i92nmditjhieda5ukhzoupoyzrebhbiuwlxyzjqadl.windowsdefender.win",
        "104-222204-1181-fbqkc1dmjtvufbquffym05dvprqufbqufbqufbqk.symanteclive.download",
        "104-222204-9881-xny9em0zrt0fnak0vrfntqnnbqwhbzlznzxrb.symanteclive.download",
        "104-222204-25511-i92nmditjhieda5ukhzoupoyzrebhbiuwlxyzjqadl.symanteclive.download",
        "104-222204-11071-i4nuh2uvp2a2ljt1zhmwfmclcza0jkrudebgftclz.kaspersky.science",
        "104-gt0x.kaspersky.science",
        "104-222204-13291-y4sjltymoxbtlhwdb0rxpqulhotdq0rdzlm3dgbgtvm.kaspersky.science",
        "104-222204-10661-rjoug5cdf4c0jvv2v5yi9zcevhceu1aflqow.ac.fortiweb.download",
        "104-222204-8351-cnraznq1rnrwcldxwjj4egyyu2hkatd.ac.fortiweb.download",
        "104-222204-17411-8znzdfc2nsvxfwwwxoynnobmn2d3owutbaehzsmgljz.ac.fortiweb.download",
        "104-222204-0.bigip.stream",
        "104-222204-8041-jyzjndufftqnvvblr3m0zisgo0egh2zugvt3cy.bigip.stream",
        "104-222204-34521-s0tls1ftkqgt1bftlntscbquklwqvrfietfws0tls0t.bigip.stream",
        "104-222204-1181-fbqkc1dmjtvufbquffym05dvprqufbqufbqufbqk.anyconnect.stream",
        "104-cjxx.anyconnect.stream",
        "104-222204-25511-i92nmditjhieda5ukhzoupoyzrebhbiuwlxyzjqadl.anyconnect.stream",
        "104-222204-11771-jitmcwrhzttvbgl2dac2fmdxzkcwqytenlv3g1n.owa365.bid",
        "104-222204-9511-utzdkpxrlrtnw8xstkvmu9xm3ark2sregvhc0s.owa365.bid",
        "104-222204-16251-fmvujubkvzwk1itw5hn1fbqufbtujbquvbqufhqug1s.owa365.bid",
        "104-222204-11381-ledjhy1drwkfybemwymxpehnzq1jyav.microtik.stream",
        "104-222204-9131-dha01qb0dwqufbquiztnphqzf5yzikrufbqudcqupmn.microtik.stream",
        "104-222204-18251-1tq1fjbi9ormwzoxreyxl3og8ynjkwwhd1tk1iwjhua.microtik.stream",
        // c2_symbiote_domainator_upload-ed25519.pcapng
        "11111.875486667.20e573211f7d7ad043b46939123545dcc7288bb6e878aad80edd9857b3c48e.x3206.caixa.cx",
        "11219.875486667.6b237c9c59f269f659f2bf14f7efbbc1.x3206.caixa.cx",
        // c2_symbiote-dnscat_domainator_upload-rsa4096.pcapng
        "01b701f5631b6b38cf70625169716332506839544e53734e473138697436.4745342b4367734e657a745a704a516733324a6d76594c6d2b7250520a6c.555759616673717261704833667459413361746c6e4d3138712f5a4f3739.39306f30315758494e31.git.bancodobrasil.dev",
        "fbbe01f5631ab538cf524346534d4e7836774234646e42414141410a7745.7a307541424554486d354b4a55754e4b745668666f4f78394930324b412f.376a495472456d4e4d5847386c4876517032544b76443730306f73655763.796d5253454863770a34.git.bancodobrasil.dev",
        // tunnel_dnscat2_dmachard_biillpi.pcap
        "147901b8d3df9cc46c59d600078b3316ce.biillpi.com",
        "ef7f01b8d374b68284e790000b52d6cc98.biillpi.com",
        // tunnel_dns2tcp_dmachard_hsc.pcap
        "aaaaah7wqa.=auth.dns2tcp.hsc.fr",
        "onefgaabadc0quu3njcyn0i4ouezrenfqzg3oee4qzezqui1njjboeewnjy0quy.=auth.dns2tcp.hsc.fr",
        "oncaaaafcaaabdwefmr01ycc+blulhwmph7l/5caaaeuy3vydmuyntuxos1zage.yntysy3vydmuyntuxos1zageyntzabglic3nolm9yzyxly2rolxnoytitbmlzdh.ayntyszwnkac1zageylw5pc3rwmzg0lgvjzggtc2hhmi1uaxn0.dns2tcp.hsc.fr",
        // exfil_dnsexfiltrator_dmachard_hsc.pcap
        "0.r747clg-tk5pudkh0r12a7gj9sfpi9aackw0kgtq_dnfd7vnx5cb3l1jqqjqmh3.nki710rsrocstxi1r8do9_odr3ockgv3oal9tch1xe9ggksownaksywln5t49zy.ht-hfdd1oh0jlwbxubhh-st-iq1uxsuymsrpxmvhdapio6xbxkov4dl76yd5zfz.ho0flsf4zcutbkmklz1sm3ypaey4tph0o5-8aw7ozell.hsc.fr",
        "init.mrxhg5dboaxgg33omyxhi6dupqytg.base64.hsc.fr",
        "10.ur8xfb4bkesizhzmcbuq47tjxg56jo_hcssd2euh-bph3mwynyl2s5xrufaxpi4.mrpr-xloijhzhuw2pjbd1qw9ohpxfn6dpl2ih6_b_0ikcrikzrptpdim0zups1t.o-sxzbieycrkgolpcvtuxknojptwzfpueqkze2hdkgtenesrrn7jvhd7i1oyiik.9y_phktedrg08txotzgke5nlqdz5povckj7wsohjfszw.hsc.fr",
        // tunnel_sods_dmachard_hsc.pcap
        "0-13457.id-43729.down.tun.hsc.fr",
        "zzgorlekdbokgy25pyovea6r4rfflylfobxy32sjgfekgfes3gadjihb5y.43550-3549.id-43729.up.tun.hsc.fr",
        "3r7uznyrhpxhsu25kif6aozrlmlyj4urisyupo6hr32yqmtyki545gentis6ee.glwv4xm2uieerft6vjwedxiqdvih777pfmdt65znri6a7yust3g4tmhuef7yfc5.qefbqyinqq5z65wtr7wymcckwzy7fvsb6lazeot5cqehl35jxvd.39615-2273.id-43729.up.tun.hsc.fr",
        // names/tunnel_iodine_sample.csv (verbatim, with odd bytes)
        "0qlabEtV۽8RKLjXHOJXQ3gBHdl17Tu.NR83ORj5wBDh6PEdf7u4stpod.XGRf47qlww10IQCZa7cfEqUv3.fttKOgU30Om7MwUiI2Z3F45sVYSqsNEg..hidemyself.org.",
        // names/dga_netlab360_2017-07_sample.tsv
        "c85b735ebe2d04a9d4a4ef52e397ec1e.org",
        "atseehalu.ddns.net",
    ];

    #[test]
    fn real_c2_names_are_never_benign() {
        let providers = [
            "duckdns.org",
            "no-ip.com",
            "ddns.net",
            "ngrok.io",
            "xyz",
            "top",
        ];
        for &n in REAL_BAD {
            assert_eq!(classify(n), None, "classify {n}");
            assert_eq!(reverse_lookup(n), None, "reverse {n}");
            assert_eq!(dnsbl_lookup(n), None, "dnsbl {n}");
            assert_eq!(underscore_service(n), None, "underscore {n}");
            assert_eq!(active_directory(n), None, "ad {n}");
            assert_eq!(special_use(n), None, "special {n}");
            assert_eq!(auto_discovery(n), None, "autodiscovery {n}");
            assert_eq!(os_background(n), None, "background {n}");
            assert!(!is_chrome_probe_shape(n), "chrome {n}");
            for p in providers {
                assert!(!is_ddns_provider_host(n, p), "ddns {n} / {p}");
            }
        }
    }

    #[test]
    fn classify_order_and_examples() {
        assert!(matches!(
            classify("8.8.8.8.in-addr.arpa"),
            Some(BenignClass::Reverse(_))
        ));
        assert!(matches!(
            classify("2.0.0.127.bl.spamcop.net"),
            Some(BenignClass::Dnsbl(_))
        ));
        assert!(matches!(
            classify("_ldap._tcp.dc._msdcs.picklesworth.local"),
            Some(BenignClass::ActiveDirectory(AdName::Msdcs))
        ));
        assert!(matches!(
            classify("desktop-r2r40v7.local"),
            Some(BenignClass::ActiveDirectory(_))
        ));
        assert!(matches!(
            classify("_googlecast._tcp.local"),
            Some(BenignClass::Service(_))
        ));
        assert!(matches!(
            classify("wpad.picklesworth.local"),
            Some(BenignClass::AutoDiscovery(AutoDiscovery::Wpad))
        ));
        assert!(matches!(
            classify("chatserver.local"),
            Some(BenignClass::SpecialUse(SpecialUse::Local))
        ));
        assert!(matches!(
            classify("dns.msftncsi.com"),
            Some(BenignClass::Background(_))
        ));
        // Chrome probes and DDNS hosts are not part of classify.
        assert_eq!(classify("amphgclfvqj"), None);
        assert_eq!(classify("www.duckdns.org"), None);
    }

    // ---- odd inputs ----------------------------------------------------

    fn all(n: &str) {
        let _ = classify(n);
        let _ = reverse_lookup(n);
        let _ = dnsbl_lookup(n);
        let _ = underscore_service(n);
        let _ = active_directory(n);
        let _ = special_use(n);
        let _ = auto_discovery(n);
        let _ = os_background(n);
        let _ = is_chrome_probe_shape(n);
        let _ = is_ddns_provider_host(n, n);
        let _ = is_ddns_provider_host(n, "duckdns.org");
        let _ = is_ddns_provider_host("www.duckdns.org", n);
        let _ = windows_default_hostname(n);
    }

    #[test]
    fn odd_inputs_never_panic_and_are_not_classed() {
        let long300 = "a".repeat(300);
        let long_labels = format!("{}.local", ["abcdefghij"; 25].join("."));
        let label64 = format!("{}.local", "a".repeat(64));
        let odd = [
            "",
            ".",
            "..",
            "...",
            "a..b",
            ".local",
            "local..",
            long300.as_str(),
            long_labels.as_str(),
            label64.as_str(),
            "\\000.example.com",
            "wpad\\032.local",
            "abc\\.def.local",
            "\\255\\255\\255\\255",
            "8.8.8.8.in-addr.arpa..",
            "_",
            "-",
            "é.local.",
            "ñ",
            "日本語.テスト",
            "\u{0}\u{1}",
            "1.2.3.4.",
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2",
        ];
        for n in odd {
            all(n);
        }
        for n in [
            "",
            ".",
            "..",
            long300.as_str(),
            long_labels.as_str(),
            label64.as_str(),
            "\\000.example.com",
            "wpad\\032.local",
            "abc\\.def.local",
            "8.8.8.8.in-addr.arpa..",
        ] {
            assert_eq!(classify(n), None, "{n:?}");
            assert!(!is_chrome_probe_shape(n), "{n:?}");
        }
        // One trailing dot is accepted; valid long names still work.
        assert!(classify("wpad.").is_some());
        let ok253 = format!("{}.local", vec!["a".repeat(61); 4].join(".")); // 4*61 + 3 + 6 = 253
        assert_eq!(ok253.len(), 253);
        assert_eq!(special_use(&ok253), Some(SpecialUse::Local));
        let too_long = format!("a{ok253}");
        assert_eq!(special_use(&too_long), None);
    }

    #[test]
    fn pseudo_random_inputs_never_panic() {
        // Deterministic LCG over a hostile alphabet (dots, underscores,
        // digits, hex, escapes, multi-byte chars).
        const ALPHA: &[&str] = &[
            ".", ".", "_", "-", "0", "1", "9", "2", "5", "a", "b", "f", "x", "\\", "é", "日",
            "in-addr", "ip6", "arpa", "_tcp", "_msdcs", "local", "wpad", "ocsp", "pool", "ntp",
            "org", "com", "desktop-", "dns-sd",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize
        };
        let mut s = String::new();
        for _ in 0..20_000 {
            s.clear();
            let len = next() % 40;
            for _ in 0..len {
                s.push_str(ALPHA[next() % ALPHA.len()]);
            }
            all(&s);
        }
    }
}
