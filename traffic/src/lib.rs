//! Traffic for testing, demonstrating and benchmarking dnsrare: DNS
//! messages and Ethernet frames built byte by byte, generated scenarios
//! with their ground truth, pcap output, network-namespace labs and a raw
//! sender. Nothing here touches interfaces outside a lab it created.

pub mod dns;
pub mod frame;
pub mod names;
pub mod netns;
pub mod pcap_out;
pub mod scenario;
pub mod sender;
pub mod splice;
