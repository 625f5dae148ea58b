//! Export to ClickHouse and the central report across sensors, as pure
//! logic: per-window aggregates of what a sensor counted ([`window`]), the
//! batches that carry them with their ids and row encoding ([`batch`]),
//! the SQL text of the schema and the report's queries ([`schema`]), and
//! turning rows read back into the same engine input as a capture
//! ([`central`]). The HTTP client, the spool files and the daemon's export
//! thread are in the `dnsrare` binary.

pub mod backfill;
pub mod batch;
pub mod central;
pub mod schema;
pub mod window;
