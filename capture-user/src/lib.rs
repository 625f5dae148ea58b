//! dnsrare: live DNS rare-name hunting.
//!
//! The XDP program (`capture-ebpf`) picks DNS queries off the wire into a
//! ring buffer; [`drain`] empties it into the sharded counting [`engine`];
//! the [`server`] answers [`protocol`] requests from the CLI with a
//! [`report`]. Every stage below the loader ([`capture`]) is plain code that
//! tests without a kernel.

pub mod capture;
pub mod cli;
pub mod client;
pub mod config;
pub mod daemon;
pub mod drain;
pub mod engine;
pub mod install;
pub mod name;
pub mod observation;
pub mod offline;
pub mod packet;
pub mod pcap;
pub mod privilege;
pub mod protocol;
pub mod query;
pub mod report;
pub mod score;
pub mod server;
pub mod stats;
