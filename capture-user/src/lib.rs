//! The kernel-facing half of dnsrare, as a library for the `dnsrare`
//! binary, the end-to-end tests and the capture benchmarks: loading and
//! attaching the XDP program, draining its ring buffer into the core's
//! engine, and the daemon around them (socket server, privileges).
//! Everything that needs no kernel lives in `dnsrare-core`.

pub mod clickhouse;
pub mod live;
