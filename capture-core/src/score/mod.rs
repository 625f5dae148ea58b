//! Scoring signals: each a pure function of what the engine counted, tested
//! on small exact cases without a kernel.

pub mod addresses;
pub mod beacon;
pub mod benign;
pub mod class;
pub mod combine;
pub mod findings;
pub mod host;
pub mod lexical;
pub mod lists;
pub mod report_lists;
