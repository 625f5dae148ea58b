//! From bytes to observations: reading pcap and pcapng files, the
//! userspace twin of the XDP frame parser (Ethernet to the DNS question,
//! counting what it refuses exactly as the kernel side does), decoding
//! wire-form names, and turning events into the observations the engine
//! counts; and reading DNS logs (Zeek `dns.log`, Suricata EVE) into the
//! same observations.

pub mod answers;
pub mod eve;
pub mod frame_decoder;
pub mod frame_parser_twin;
pub mod logs;
pub mod name;
pub mod observation;
pub mod pcap;
pub mod zeek;
