//! Writing generated packets as a classic pcap file with nanosecond
//! timestamps, through pcap-parser's serializer (the same crate reads
//! captures in dnsrare).

use std::{
    fs::File,
    io::{BufWriter, Write},
    path::Path,
};

use anyhow::{Context, Result};
use pcap_parser::{LegacyPcapBlock, Linktype, PcapHeader, ToVec};

use crate::scenario::Packet;

/// Magic number of a pcap file with nanosecond timestamps, host order.
const MAGIC_NANOS: u32 = 0xa1b2_3c4d;

/// Writes `packets` to `path` (Ethernet link type, nanosecond stamps).
pub fn write_pcap(path: &Path, packets: &[Packet]) -> Result<()> {
    write_pcap_iter(path, packets)
}

/// Writes the packets `packets` yields to `path` (Ethernet link type,
/// nanosecond stamps), e.g. a background and a splice merged on the fly.
pub fn write_pcap_iter<'a>(
    path: &Path,
    packets: impl IntoIterator<Item = &'a Packet>,
) -> Result<()> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::new(file);
    let mut header = PcapHeader::new();
    header.magic_number = MAGIC_NANOS;
    header.network = Linktype::ETHERNET;
    header.snaplen = 65535;
    out.write_all(&header.to_vec_raw().map_err(|e| anyhow::anyhow!("{e:?}"))?)?;
    for p in packets {
        let block = LegacyPcapBlock {
            ts_sec: (p.time_ns / 1_000_000_000) as u32,
            ts_usec: (p.time_ns % 1_000_000_000) as u32,
            caplen: p.frame.len() as u32,
            origlen: p.frame.len() as u32,
            data: &p.frame,
        };
        out.write_all(&block.to_vec_raw().map_err(|e| anyhow::anyhow!("{e:?}"))?)?;
    }
    out.flush()
        .with_context(|| format!("writing {}", path.display()))
}
