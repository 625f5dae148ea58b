//! ClickHouse over its HTTP interface: where to reach it ([`target`]), the
//! client that creates the schema, inserts batches and reads the central
//! report's rows ([`client`]), and the sensor's on-disk [`spool`] of
//! batches waiting for the server.

pub mod client;
pub mod spool;
pub mod target;
