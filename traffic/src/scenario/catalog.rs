//! The scenario's name table: every name a query or an answer uses, once,
//! with how the resolver answers it (TTL, NXDOMAIN, AAAA records, an alias
//! or a target) and what it is, for the ground truth.

use std::collections::HashMap;

use super::truth::MaliciousKind;

/// What a name is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An ordinary popular (or long-tail) name.
    Popular,
    /// A CDN or cloud auto-generated name.
    Cdn,
    /// A name of the company's own zone.
    Internal,
    /// A reverse lookup.
    Ptr,
    /// A mistyped popular name (NXDOMAIN).
    Typo,
    /// A popular name with the search suffix appended (NXDOMAIN).
    Suffixed,
    /// Only ever an answer (a CNAME, PTR or SRV target).
    Target,
    /// A benign name that looks suspicious.
    Decoy,
    /// A name of the background noise (its class is in the noise plan).
    Noise,
    /// A malicious name.
    Malicious(MaliciousKind),
}

/// How a name's responses look.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// A records (and AAAA ones when `aaaa`), behind an optional alias.
    Addresses {
        /// A records per response.
        a: u8,
        /// Whether AAAA queries get answers (NODATA otherwise).
        aaaa: bool,
        /// Alias the addresses hang off.
        cname: Option<u32>,
    },
    /// NXDOMAIN with the SOA of the zone of the last `zone_labels` labels.
    NxDomain {
        /// Labels of the zone whose SOA comes back.
        zone_labels: u8,
    },
    /// A PTR record to this name.
    Ptr(u32),
    /// An SRV record to this name.
    Srv(u32),
    /// Tunnel data (TXT or NULL, whatever was asked).
    TunnelData,
    /// SERVFAIL (the name's servers are broken).
    ServFail,
    /// A DNS blocklist hit: 127.0.0.`n` for A queries, NODATA otherwise.
    Listed(u8),
    /// A TXT record (DMARC, DKIM) for TXT queries, NODATA otherwise.
    Text(String),
}

/// One name.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    /// The name as sent on the wire (dotted; case and bytes kept).
    pub name: String,
    /// TTL of its answers, in seconds.
    pub ttl: u32,
    /// What it is.
    pub kind: Kind,
    /// How it is answered.
    pub answer: Answer,
}

/// The name table.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    /// Names by id.
    pub entries: Vec<Entry>,
    index: HashMap<String, u32>,
}

impl Catalog {
    /// The id of `name`, adding it with `make` if it is new.
    pub fn intern(&mut self, name: &str, make: impl FnOnce() -> (u32, Kind, Answer)) -> u32 {
        if let Some(&id) = self.index.get(name) {
            return id;
        }
        let (ttl, kind, answer) = make();
        let id = self.entries.len() as u32;
        self.entries.push(Entry {
            name: name.to_owned(),
            ttl,
            kind,
            answer,
        });
        self.index.insert(name.to_owned(), id);
        id
    }

    /// Adds `name` unless it is already there; its id if it was added.
    pub fn add_new(&mut self, name: &str, ttl: u32, kind: Kind, answer: Answer) -> Option<u32> {
        if self.index.contains_key(name) {
            return None;
        }
        Some(self.intern(name, || (ttl, kind, answer)))
    }

    /// Whether `name` is in the table.
    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The entry of `id`.
    pub fn get(&self, id: u32) -> &Entry {
        &self.entries[id as usize]
    }
}
