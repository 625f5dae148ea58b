//! `dnsrare run` and what it is made of: the [`loader`] of the embedded
//! XDP program, the [`drain`] of its ring buffer into the engine, the
//! socket [`server`], [`privilege`] dropping, and the [`daemon`] that ties
//! them together.

pub mod daemon;
pub mod drain;
pub mod exporter;
pub mod lists;
pub mod loader;
pub mod metrics;
pub mod privilege;
pub mod server;
