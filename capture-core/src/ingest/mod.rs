//! From bytes to observations: reading pcap and pcapng files, the
//! userspace twin of the XDP frame parser (Ethernet to the DNS question,
//! counting what it refuses exactly as the kernel side does), decoding
//! wire-form names, and turning events into the observations the engine
//! counts.

pub mod frame_parser_twin;
pub mod name;
pub mod observation;
pub mod pcap;
