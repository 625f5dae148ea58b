//! Names for generated traffic, from pluggable sources.
//!
//! A [`NameSource`] hands the scenario generator every kind of name it
//! needs: popular domains (the Zipf catalogue of ordinary traffic), CDN and
//! cloud host names, DGA families, random-looking C2 names, dynamic-DNS
//! names, IP-lookup services and tunnel queries. Two sources exist:
//! [`Builtin`], synthetic and self-contained (hand-written word lists and
//! generators, nothing taken from the shared lists, which stay out of the
//! repository), and [`SharedNames`], which reads the labelled lists of
//! `../shared/data/names` in place.
//!
//! [`canonical`] gives a name as dnsrare prints it, which is how the ground
//! truth names it.

mod builtin;
mod shared;
pub mod words;

use std::fmt::Debug;

pub use builtin::{
    Builtin, DGA_STYLES, DYNDNS_PROVIDERS, IP_LOOKUP_SERVICES, c2_name, cdn_name, dga_name,
    dyndns_name, ordinary_domain,
};
use rand_chacha::ChaCha8Rng;
pub use shared::{CDN_FILE, DGA_FILE, POPULAR_FILE, SharedNames, TUNNEL_FILE};

/// The random generator name sources draw from (seeded by the scenario).
pub type NameRng = ChaCha8Rng;

/// The names of one DGA burst.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DgaFamily {
    /// Family (or generator style) the names come from.
    pub family: String,
    /// The names, in the order the infected host asks them.
    pub names: Vec<String>,
}

/// The names of one DNS tunnel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunnelNames {
    /// The domain every name ends in.
    pub domain: String,
    /// The query names, each asked once, in order (as sent on the wire:
    /// case and bytes kept).
    pub names: Vec<String>,
}

/// Where a scenario's names come from. Every method is called once per
/// scenario, in a fixed order, with the scenario's generator, so a source
/// that draws from `rng` stays deterministic. Names are dotted, without a
/// trailing dot.
pub trait NameSource: Debug + Send + Sync {
    /// Short identifier recorded in the ground truth (`builtin`, `shared`).
    fn id(&self) -> &'static str;

    /// Popular registered domains, most popular first (at least a few
    /// hundred; the generator adds host-name prefixes).
    fn popular_domains(&self, rng: &mut NameRng) -> Vec<String>;

    /// Up to `n` distinct CDN and cloud auto-generated host names.
    fn cdn_names(&self, rng: &mut NameRng, n: usize) -> Vec<String>;

    /// `bursts` DGA bursts of at most `size` distinct names each.
    fn dga_bursts(&self, rng: &mut NameRng, bursts: usize, size: usize) -> Vec<DgaFamily>;

    /// `n` random-looking C2 names for beacons.
    fn c2_names(&self, rng: &mut NameRng, n: usize) -> Vec<String>;

    /// `n` ordinary-looking names under free dynamic-DNS providers.
    fn dyndns_names(&self, rng: &mut NameRng, n: usize) -> Vec<String> {
        (0..n).map(|_| dyndns_name(rng)).collect()
    }

    /// IP-lookup service names (`api.ipify.org` and the like); the
    /// generator picks from them.
    fn ip_lookup_names(&self) -> Vec<String> {
        IP_LOOKUP_SERVICES.iter().map(|s| (*s).to_owned()).collect()
    }

    /// Tunnel number `index`: up to `queries` unique names under one
    /// domain.
    fn tunnel(&self, rng: &mut NameRng, index: usize, queries: usize) -> TunnelNames;
}

/// A name as dnsrare reports it: lowercase ASCII letters, empty labels
/// dropped, and bytes that are not printable ASCII (or a `\` inside a
/// label) written as `\DDD`, as in zone files. Names made only of
/// lowercase letters, digits, hyphens and dots come back unchanged.
pub fn canonical(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for label in name.split('.').filter(|l| !l.is_empty()) {
        if !out.is_empty() {
            out.push('.');
        }
        for &b in label.as_bytes() {
            match b {
                b'A'..=b'Z' => out.push(char::from(b.to_ascii_lowercase())),
                b'\\' => push_escaped(b, &mut out),
                0x21..=0x7e => out.push(char::from(b)),
                _ => push_escaped(b, &mut out),
            }
        }
    }
    if out.is_empty() {
        out.push('.');
    }
    out
}

fn push_escaped(b: u8, out: &mut String) {
    out.push('\\');
    out.push(char::from(b'0' + b / 100));
    out.push(char::from(b'0' + (b / 10) % 10));
    out.push(char::from(b'0' + b % 10));
}

/// Popular registered domains, roughly most popular first.
pub const BENIGN_DOMAINS: &[&str] = &[
    "google.com",
    "microsoft.com",
    "apple.com",
    "windowsupdate.com",
    "office.com",
    "youtube.com",
    "facebook.com",
    "amazon.com",
    "cloudflare.com",
    "github.com",
    "wikipedia.org",
    "linkedin.com",
    "twitter.com",
    "instagram.com",
    "netflix.com",
    "yahoo.com",
    "bing.com",
    "live.com",
    "outlook.com",
    "adobe.com",
    "zoom.us",
    "slack.com",
    "dropbox.com",
    "salesforce.com",
    "reddit.com",
    "stackoverflow.com",
    "mozilla.org",
    "ubuntu.com",
    "debian.org",
    "python.org",
    "npmjs.org",
    "docker.com",
    "atlassian.net",
    "gitlab.com",
    "spotify.com",
    "paypal.com",
    "ebay.com",
    "wordpress.com",
    "medium.com",
    "bbc.co.uk",
    "nytimes.com",
    "cnn.com",
    "theguardian.com",
    "weather.com",
    "imdb.com",
    "twitch.tv",
    "discord.com",
    "whatsapp.net",
    "telegram.org",
    "skype.com",
    "icloud.com",
    "mzstatic.com",
    "gstatic.com",
    "googleapis.com",
    "doubleclick.net",
    "google-analytics.com",
    "googletagmanager.com",
    "fbcdn.net",
    "akamai.net",
    "fastly.net",
    "digicert.com",
    "letsencrypt.org",
    "sectigo.com",
    "msftconnecttest.com",
    "msn.com",
    "sharepoint.com",
    "onedrive.com",
    "teams.microsoft.com",
    "xbox.com",
    "playstation.net",
    "samsung.com",
    "lenovo.com",
    "dell.com",
    "hp.com",
    "intel.com",
    "nvidia.com",
    "oracle.com",
    "ibm.com",
    "cisco.com",
    "vmware.com",
    "zendesk.com",
    "hubspot.com",
    "shopify.com",
    "stripe.com",
    "twilio.com",
    "okta.com",
    "duo.com",
    "crowdstrike.com",
    "sentinelone.net",
    "sophos.com",
    "trendmicro.com",
    "mcafee.com",
    "kaspersky.com",
    "eset.com",
    "avast.com",
    "booking.com",
    "airbnb.com",
    "uber.com",
    "tripadvisor.com",
    "expedia.com",
    "etsy.com",
    "walmart.com",
    "target.com",
    "bestbuy.com",
    "ikea.com",
    "bloomberg.com",
    "reuters.com",
    "forbes.com",
    "wsj.com",
    "economist.com",
    "coursera.org",
    "khanacademy.org",
    "duolingo.com",
    "quora.com",
    "pinterest.com",
    "tumblr.com",
    "vimeo.com",
    "soundcloud.com",
    "pandora.com",
    "deezer.com",
];

/// Subdomain prefixes, cycled over the domains ("" for the bare domain).
pub const SUBDOMAINS: &[&str] = &["www", "", "api", "login", "static", "mail", "cdn", "app"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_matches_the_report_form() {
        assert_eq!(canonical("www.example.com"), "www.example.com");
        assert_eq!(canonical("AbC..hideMyself.org."), "abc.hidemyself.org");
        assert_eq!(canonical("a\u{6fd}b.x"), "a\\219\\189b.x");
        assert_eq!(canonical(""), ".");
    }
}
