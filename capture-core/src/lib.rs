//! dnsrare's core: everything between the captured bytes and the ranked
//! report that needs no kernel, no privileges and no command line.
//!
//! Data flows one way: [`ingest`] turns frames (from the XDP ring buffer
//! or a capture file) into observations; the sharded [`engine`] counts
//! them and answers views; [`score`] holds every scoring rule as pure
//! functions; [`model`] holds the types that cross borders, and
//! [`protocol`] the socket messages built from them. [`offline`] wires
//! ingest to the engine for capture files. The `dnsrare` binary
//! (`capture-user`) adds the XDP loader, the daemon and the CLI.

pub mod engine;
pub mod export;
pub mod ingest;
pub mod model;
pub mod offline;
pub mod prometheus;
pub mod protocol;
pub mod score;
