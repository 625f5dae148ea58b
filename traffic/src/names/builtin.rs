//! The built-in synthetic name source: hand-written popular domains and
//! word lists, and generators for the shapes of names a gateway sees —
//! CDN and cloud host names, DGA families, C2 and dynamic-DNS names,
//! IP-lookup services and tunnel queries.

use rand::{RngExt, distr::uniform::SampleRange, seq::IndexedRandom};

use super::{
    BENIGN_DOMAINS, DgaFamily, NameRng, NameSource, TunnelNames,
    words::{ADJECTIVES, FIRST_NAMES, NOUNS, ORDINARY_TLDS, PLACES, TECH},
};

/// Long-tail sites the built-in source adds after [`BENIGN_DOMAINS`].
const SYNTHETIC_DOMAINS: usize = 9000;

/// The built-in synthetic name source (no files needed).
#[derive(Clone, Copy, Debug, Default)]
pub struct Builtin;

impl NameSource for Builtin {
    fn id(&self) -> &'static str {
        "builtin"
    }

    fn popular_domains(&self, rng: &mut NameRng) -> Vec<String> {
        let mut out: Vec<String> = BENIGN_DOMAINS.iter().map(|d| (*d).to_owned()).collect();
        let mut seen: std::collections::HashSet<String> = out.iter().cloned().collect();
        while out.len() < BENIGN_DOMAINS.len() + SYNTHETIC_DOMAINS {
            let d = ordinary_domain(rng);
            if seen.insert(d.clone()) {
                out.push(d);
            }
        }
        out
    }

    fn cdn_names(&self, rng: &mut NameRng, n: usize) -> Vec<String> {
        unique(n, || cdn_name(rng))
    }

    fn dga_bursts(&self, rng: &mut NameRng, bursts: usize, size: usize) -> Vec<DgaFamily> {
        (0..bursts)
            .map(|i| {
                let style = DGA_STYLES[i % DGA_STYLES.len()];
                DgaFamily {
                    family: style.to_owned(),
                    names: unique(size, || dga_name(rng, style)),
                }
            })
            .collect()
    }

    fn c2_names(&self, rng: &mut NameRng, n: usize) -> Vec<String> {
        unique(n, || c2_name(rng))
    }

    fn tunnel(&self, rng: &mut NameRng, _index: usize, queries: usize) -> TunnelNames {
        tunnel(rng, queries)
    }
}

/// Distinct values from `f`, `n` of them.
fn unique(n: usize, mut f: impl FnMut() -> String) -> Vec<String> {
    let mut seen = std::collections::HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let s = f();
        if seen.insert(s.clone()) {
            out.push(s);
        }
    }
    out
}

fn pick<'a>(rng: &mut NameRng, from: &[&'a str]) -> &'a str {
    from.choose(rng).copied().unwrap_or("x")
}

/// A string of `len` (drawn from the range) characters of `alphabet`.
fn chars(rng: &mut NameRng, alphabet: &[u8], len: impl SampleRange<usize>) -> String {
    let n = rng.random_range(len);
    (0..n)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}

const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789abcdef";
/// RFC 4648 base32, lowercased as resolvers see it.
const BASE32: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";

/// An ordinary-looking site: words, a place, a name, a few digits.
pub fn ordinary_domain(rng: &mut NameRng) -> String {
    let tld = pick(rng, ORDINARY_TLDS);
    let label = match rng.random_range(0..10) {
        0 | 1 => format!("{}{}", pick(rng, ADJECTIVES), pick(rng, NOUNS)),
        2 => format!("{}-{}", pick(rng, NOUNS), pick(rng, NOUNS)),
        3 => format!("{}{}", pick(rng, PLACES), pick(rng, NOUNS)),
        4 => format!("{}{}", pick(rng, NOUNS), pick(rng, TECH)),
        5 => format!("{}{}", pick(rng, TECH), pick(rng, NOUNS)),
        6 => format!("the{}{}", pick(rng, ADJECTIVES), pick(rng, NOUNS)),
        7 => format!("{}s{}", pick(rng, FIRST_NAMES), pick(rng, NOUNS)),
        8 => format!("my{}", pick(rng, NOUNS)),
        _ => format!("{}{}", pick(rng, NOUNS), rng.random_range(1..100)),
    };
    format!("{label}.{tld}")
}

const AWS_REGIONS: &[&str] = &[
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "eu-north-1",
    "ap-southeast-1",
    "ap-northeast-1",
    "sa-east-1",
];
const AIRPORTS: &[&str] = &[
    "ams", "arn", "atl", "bcn", "bru", "cdg", "cph", "dfw", "dub", "fra", "hel", "iad", "lax",
    "lhr", "mad", "mia", "mrs", "mxp", "ord", "osl", "prg", "sea", "sin", "vie", "waw", "zrh",
];

/// One auto-generated CDN or cloud host name, in the shapes the big
/// providers use (two of them, `herokuapp.com` and `sc-cdn.net`, are on no
/// shipped suffix list, so the spread signal must catch them alone).
pub fn cdn_name(rng: &mut NameRng) -> String {
    match rng.random_range(0..20) {
        0..=2 => format!("d{}.cloudfront.net", chars(rng, ALNUM, 13..=13)),
        3 => format!(
            "ec2-{}-{}-{}-{}.compute-1.amazonaws.com",
            pick(rng, &["3", "18", "34", "44", "52", "54"]),
            rng.random_range(0..256),
            rng.random_range(0..256),
            rng.random_range(1..255)
        ),
        4 => format!(
            "ec2-{}-{}-{}-{}.{}.compute.amazonaws.com",
            pick(rng, &["3", "13", "18", "35", "52"]),
            rng.random_range(0..256),
            rng.random_range(0..256),
            rng.random_range(1..255),
            pick(rng, AWS_REGIONS)
        ),
        5 => format!(
            "{}-{}-{}.{}.elb.amazonaws.com",
            pick(rng, TECH),
            pick(rng, &["prod", "prd", "live", "main", "ext"]),
            rng.random_range(100_000_000u64..2_000_000_000),
            pick(rng, AWS_REGIONS)
        ),
        6..=8 => format!(
            "e{}.{}.akamaiedge.net",
            rng.random_range(1..30_000),
            pick(rng, &["a", "b", "d", "g", "x", "dscb", "dscx", "dsca"])
        ),
        9 => format!(
            "a{}.{}.akamai.net",
            rng.random_range(1..2_000),
            pick(rng, &["dscd", "dscg", "w7", "g2", "b"])
        ),
        10 => format!(
            "{}.{}.{}.{}.bc.googleusercontent.com",
            rng.random_range(1..255),
            rng.random_range(0..256),
            rng.random_range(0..256),
            pick(rng, &["34", "35", "104", "130"])
        ),
        11 => format!(
            "{}-{}.googleusercontent.com",
            chars(rng, LOWER, 3..=3),
            chars(rng, ALNUM, 10..20)
        ),
        12 => format!(
            "rr{}---sn-{}.googlevideo.com",
            rng.random_range(1..7),
            chars(rng, ALNUM, 8..=8)
        ),
        13 => format!(
            "{}-{}.trafficmanager.net",
            pick(rng, TECH),
            chars(rng, ALNUM, 4..10)
        ),
        14 => format!(
            "{}{}.{}",
            chars(rng, LOWER, 2..5),
            chars(rng, HEX, 8..13),
            pick(
                rng,
                &["azureedge.net", "z01.azurefd.net", "azurewebsites.net"]
            )
        ),
        15 => format!(
            "scontent-{}{}-{}.xx.fbcdn.net",
            pick(rng, AIRPORTS),
            rng.random_range(1..4),
            rng.random_range(1..3)
        ),
        16 => format!(
            "{}.{}",
            chars(rng, ALNUM, 8..16),
            pick(
                rng,
                &["global.ssl.fastly.net", "map.fastly.net", "b-cdn.net"]
            )
        ),
        17 => format!(
            "{}-{}-{}.herokuapp.com",
            pick(rng, ADJECTIVES),
            pick(rng, NOUNS),
            rng.random_range(10_000..100_000)
        ),
        18 => format!("cf-st.{}.sc-cdn.net", chars(rng, ALNUM, 12..=12)),
        _ => format!(
            "{}.execute-api.{}.amazonaws.com",
            chars(rng, ALNUM, 10..=10),
            pick(rng, AWS_REGIONS)
        ),
    }
}

/// The DGA styles of the built-in source, one per burst in turn.
pub const DGA_STYLES: &[&str] = &["random-letters", "hex-md5", "dictionary", "short-many-tlds"];

/// One name of a DGA family in `style` (see [`DGA_STYLES`]).
pub fn dga_name(rng: &mut NameRng, style: &str) -> String {
    match style {
        "hex-md5" => format!(
            "{}.{}",
            chars(rng, HEX, 32..=32),
            pick(rng, &["org", "info"])
        ),
        "dictionary" => format!(
            "{}{}.{}",
            pick(rng, NOUNS),
            pick(rng, ADJECTIVES),
            pick(rng, &["net", "com", "org"])
        ),
        "short-many-tlds" => format!(
            "{}.{}",
            chars(rng, LOWER, 5..11),
            pick(
                rng,
                &["ws", "cn", "cc", "org", "info", "biz", "com", "net", "in"]
            )
        ),
        _ => format!(
            "{}.{}",
            chars(rng, LOWER, 12..21),
            pick(
                rng,
                &["com", "net", "biz", "ru", "info", "top", "xyz", "online"]
            )
        ),
    }
}

/// A random-looking C2 name under a cheap TLD.
pub fn c2_name(rng: &mut NameRng) -> String {
    let label = match rng.random_range(0..3) {
        0 => chars(rng, ALNUM, 10..17),
        1 => chars(rng, LOWER, 9..15),
        _ => format!("{}{}", chars(rng, LOWER, 4..8), chars(rng, HEX, 4..8)),
    };
    let tld = pick(
        rng,
        &[
            "info", "xyz", "top", "net", "com", "online", "site", "biz", "ru", "pw",
        ],
    );
    format!("{label}.{tld}")
}

/// Free dynamic-DNS providers commodity RATs use for C2.
pub const DYNDNS_PROVIDERS: &[&str] = &[
    "duckdns.org",
    "ddns.net",
    "hopto.org",
    "zapto.org",
    "no-ip.biz",
    "myftp.biz",
    "servebeer.com",
    "dynu.net",
    "mooo.com",
    "freeddns.org",
];

/// An ordinary-looking host name under a free dynamic-DNS provider.
pub fn dyndns_name(rng: &mut NameRng) -> String {
    let label = match rng.random_range(0..4) {
        0 => format!("{}{}", pick(rng, TECH), pick(rng, TECH)),
        1 => format!(
            "{}-{}",
            pick(rng, &["win", "office", "ms", "sys", "net"]),
            pick(rng, TECH)
        ),
        2 => format!("{}{}", pick(rng, FIRST_NAMES), rng.random_range(1..2000)),
        _ => format!("{}{}", pick(rng, NOUNS), pick(rng, TECH)),
    };
    format!("{label}.{}", pick(rng, DYNDNS_PROVIDERS))
}

/// Services malware asks for its public address.
pub const IP_LOOKUP_SERVICES: &[&str] = &[
    "api.ipify.org",
    "ipinfo.io",
    "checkip.amazonaws.com",
    "icanhazip.com",
    "ip-api.com",
    "myexternalip.com",
    "wtfismyip.com",
];

/// A tunnel: many unique names of long base32 labels under one domain.
pub fn tunnel(rng: &mut NameRng, queries: usize) -> TunnelNames {
    let domain = format!("t.{}", ordinary_domain(rng));
    let names = unique(queries, || {
        let mut labels = Vec::new();
        // A sequence-and-session tag, then the data labels.
        labels.push(chars(rng, BASE32, 5..=5));
        let data = rng.random_range(60..150usize);
        let mut left = data;
        while left > 0 {
            let n = left.min(63);
            labels.push(chars(rng, BASE32, n..=n));
            left -= n;
        }
        format!("{}.{domain}", labels.join("."))
    });
    TunnelNames { domain, names }
}
