//! The types that cross module and process borders: host addresses,
//! capture counters, what a report asks for, its rows, what a score is made
//! of, and the daemon's status. Plain data with serde; no behaviour beyond
//! small conversions, and no dependency on the rest of the crate.

pub mod capture;
pub mod host;
pub mod query;
pub mod report;
pub mod score;
pub mod status;
