//! Ordinary names for generated traffic: well-known domains, written here
//! by hand (not taken from the shared lists, which stay out of the
//! repository), and the subdomain prefixes that go with them.

/// Popular registered domains, roughly most popular first.
pub const BENIGN_DOMAINS: &[&str] = &[
    "google.com", "microsoft.com", "apple.com", "windowsupdate.com", "office.com",
    "youtube.com", "facebook.com", "amazon.com", "cloudflare.com", "github.com",
    "wikipedia.org", "linkedin.com", "twitter.com", "instagram.com", "netflix.com",
    "yahoo.com", "bing.com", "live.com", "outlook.com", "adobe.com",
    "zoom.us", "slack.com", "dropbox.com", "salesforce.com", "reddit.com",
    "stackoverflow.com", "mozilla.org", "ubuntu.com", "debian.org", "python.org",
    "npmjs.org", "docker.com", "atlassian.net", "gitlab.com", "spotify.com",
    "paypal.com", "ebay.com", "wordpress.com", "medium.com", "bbc.co.uk",
    "nytimes.com", "cnn.com", "theguardian.com", "weather.com", "imdb.com",
    "twitch.tv", "discord.com", "whatsapp.net", "telegram.org", "skype.com",
    "icloud.com", "mzstatic.com", "gstatic.com", "googleapis.com", "doubleclick.net",
    "google-analytics.com", "googletagmanager.com", "fbcdn.net", "akamai.net", "fastly.net",
    "digicert.com", "letsencrypt.org", "sectigo.com", "msftconnecttest.com", "msn.com",
    "sharepoint.com", "onedrive.com", "teams.microsoft.com", "xbox.com", "playstation.net",
    "samsung.com", "lenovo.com", "dell.com", "hp.com", "intel.com",
    "nvidia.com", "oracle.com", "ibm.com", "cisco.com", "vmware.com",
    "zendesk.com", "hubspot.com", "shopify.com", "stripe.com", "twilio.com",
    "okta.com", "duo.com", "crowdstrike.com", "sentinelone.net", "sophos.com",
    "trendmicro.com", "mcafee.com", "kaspersky.com", "eset.com", "avast.com",
    "booking.com", "airbnb.com", "uber.com", "tripadvisor.com", "expedia.com",
    "etsy.com", "walmart.com", "target.com", "bestbuy.com", "ikea.com",
    "bloomberg.com", "reuters.com", "forbes.com", "wsj.com", "economist.com",
    "coursera.org", "khanacademy.org", "duolingo.com", "quora.com", "pinterest.com",
    "tumblr.com", "vimeo.com", "soundcloud.com", "pandora.com", "deezer.com",
];

/// Subdomain prefixes, cycled over the domains ("" for the bare domain).
pub const SUBDOMAINS: &[&str] = &["www", "", "api", "login", "static", "mail", "cdn", "app"];
