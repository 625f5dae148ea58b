//! Ethernet frames built byte by byte: VLAN tags with any TPID, IPv4 with
//! options and fragment fields, IPv6 with extension headers, UDP and TCP
//! with correct checksums.
//!
//! Hand-written rather than taken from a packet-building crate because the
//! tests need byte-exact control over things such crates normalise away:
//! 802.1ad outer tags, option bytes, extension-header chains, fragment
//! offsets with arbitrary payloads.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// 802.1Q customer tag.
pub const TPID_8021Q: u16 = 0x8100;
/// 802.1ad service tag (QinQ outer tag).
pub const TPID_8021AD: u16 = 0x88a8;

/// TCP flag FIN.
pub const TCP_FIN: u8 = 0x01;
/// TCP flag SYN.
pub const TCP_SYN: u8 = 0x02;
/// TCP flag PSH.
pub const TCP_PSH: u8 = 0x08;
/// TCP flag ACK.
pub const TCP_ACK: u8 = 0x10;

/// Default source MAC of generated frames (locally administered).
pub const CLIENT_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
/// Default destination MAC of generated frames (locally administered).
pub const SERVER_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];

/// An IPv6 extension header placed between the fixed header and the
/// transport header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ipv6Ext {
    /// Hop-by-hop options (next header 0) with this many 8-byte units.
    HopByHop(u8),
    /// Routing header (43), type 0 segments left 0, with this many units.
    Routing(u8),
    /// Destination options (60) with this many 8-byte units.
    DestinationOptions(u8),
    /// Fragment header (44): offset in 8-byte units, more-fragments flag.
    Fragment {
        /// Fragment offset, in 8-byte units.
        offset: u16,
        /// More fragments follow.
        more: bool,
    },
}

impl Ipv6Ext {
    fn number(&self) -> u8 {
        match self {
            Self::HopByHop(_) => 0,
            Self::Routing(_) => 43,
            Self::DestinationOptions(_) => 60,
            Self::Fragment { .. } => 44,
        }
    }

    fn write(&self, next: u8, out: &mut Vec<u8>) {
        match *self {
            Self::HopByHop(units) | Self::Routing(units) | Self::DestinationOptions(units) => {
                let len = (usize::from(units) + 1) * 8;
                let start = out.len();
                out.resize(start + len, 0);
                out[start] = next;
                out[start + 1] = units;
                // Fill the options with PadN so the header is well formed.
                if !matches!(self, Self::Routing(_)) {
                    out[start + 2] = 1;
                    out[start + 3] = (len - 4) as u8;
                }
            }
            Self::Fragment { offset, more } => {
                out.extend_from_slice(&[next, 0]);
                out.extend_from_slice(&((offset << 3) | u16::from(more)).to_be_bytes());
                out.extend_from_slice(&0x1234_5678u32.to_be_bytes());
            }
        }
    }
}

/// The transport part of a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// UDP with a correct checksum.
    Udp,
    /// TCP with PSH|ACK, the given sequence number, and a correct checksum.
    Tcp {
        /// Sequence number.
        seq: u32,
    },
    /// TCP with the given sequence and acknowledgement numbers and flags
    /// (`TCP_*` bits), and a correct checksum.
    TcpSegment {
        /// Sequence number.
        seq: u32,
        /// Acknowledgement number.
        ack: u32,
        /// Flag bits (FIN 0x01, SYN 0x02, PSH 0x08, ACK 0x10).
        flags: u8,
    },
    /// No transport header: the payload follows the IP header(s) as is,
    /// under the given protocol number (for non-first fragments).
    Raw(u8),
}

/// One Ethernet frame to build.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Source MAC.
    pub src_mac: [u8; 6],
    /// Destination MAC.
    pub dst_mac: [u8; 6],
    /// VLAN tags, outermost first: (TPID, VLAN id).
    pub vlans: Vec<(u16, u16)>,
    /// Source address and port.
    pub src: SocketAddr,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// IPv4 options (padded to 4 bytes by the caller), ignored for IPv6.
    pub ipv4_options: Vec<u8>,
    /// IPv4 fragment: (offset in 8-byte units, more-fragments flag).
    pub ipv4_fragment: (u16, bool),
    /// IPv6 extension headers in order, ignored for IPv4.
    pub ipv6_ext: Vec<Ipv6Ext>,
    /// Transport header.
    pub transport: Transport,
    /// Transport payload.
    pub payload: Vec<u8>,
}

impl Frame {
    /// A UDP frame from `src` to `dst` carrying `payload`.
    pub fn udp(src: SocketAddr, dst: SocketAddr, payload: Vec<u8>) -> Self {
        Self {
            src_mac: CLIENT_MAC,
            dst_mac: SERVER_MAC,
            vlans: Vec::new(),
            src,
            dst,
            ipv4_options: Vec::new(),
            ipv4_fragment: (0, false),
            ipv6_ext: Vec::new(),
            transport: Transport::Udp,
            payload,
        }
    }

    /// A TCP segment from `src` to `dst` carrying `payload`.
    pub fn tcp(src: SocketAddr, dst: SocketAddr, seq: u32, payload: Vec<u8>) -> Self {
        Self {
            transport: Transport::Tcp { seq },
            ..Self::udp(src, dst, payload)
        }
    }

    /// Adds a VLAN tag inside the ones already present.
    pub fn vlan(mut self, tpid: u16, id: u16) -> Self {
        self.vlans.push((tpid, id));
        self
    }

    /// The frame's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.payload.len());
        out.extend_from_slice(&self.dst_mac);
        out.extend_from_slice(&self.src_mac);
        for &(tpid, id) in &self.vlans {
            out.extend_from_slice(&tpid.to_be_bytes());
            out.extend_from_slice(&(id & 0x0fff).to_be_bytes());
        }
        let l4 = self.transport_bytes();
        match (self.src.ip(), self.dst.ip()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                out.extend_from_slice(&0x0800u16.to_be_bytes());
                self.write_ipv4(s, d, &l4, &mut out);
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                out.extend_from_slice(&0x86ddu16.to_be_bytes());
                self.write_ipv6(s, d, &l4, &mut out);
            }
            _ => panic!("frame addresses must be of one family"),
        }
        out
    }

    fn protocol(&self) -> u8 {
        match self.transport {
            Transport::Udp => 17,
            Transport::Tcp { .. } | Transport::TcpSegment { .. } => 6,
            Transport::Raw(p) => p,
        }
    }

    /// Transport header and payload, checksum field zero for now.
    fn transport_bytes(&self) -> Vec<u8> {
        let mut l4 = Vec::with_capacity(20 + self.payload.len());
        match self.transport {
            Transport::Udp => {
                l4.extend_from_slice(&self.src.port().to_be_bytes());
                l4.extend_from_slice(&self.dst.port().to_be_bytes());
                l4.extend_from_slice(&((8 + self.payload.len()) as u16).to_be_bytes());
                l4.extend_from_slice(&[0, 0]);
            }
            Transport::Tcp { seq } => self.tcp_header(seq, 1, TCP_PSH | TCP_ACK, &mut l4),
            Transport::TcpSegment { seq, ack, flags } => self.tcp_header(seq, ack, flags, &mut l4),
            Transport::Raw(_) => {}
        }
        l4.extend_from_slice(&self.payload);
        l4
    }

    /// A TCP header without options, checksum zero for now.
    fn tcp_header(&self, seq: u32, ack: u32, flags: u8, l4: &mut Vec<u8>) {
        l4.extend_from_slice(&self.src.port().to_be_bytes());
        l4.extend_from_slice(&self.dst.port().to_be_bytes());
        l4.extend_from_slice(&seq.to_be_bytes());
        l4.extend_from_slice(&ack.to_be_bytes());
        l4.extend_from_slice(&[5 << 4, flags]); // data offset 5
        l4.extend_from_slice(&65535u16.to_be_bytes());
        l4.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent
    }

    /// Fills the UDP/TCP checksum given the pseudo-header sum.
    fn finish_checksum(&self, pseudo: u32, l4: &mut [u8]) {
        let at = match self.transport {
            Transport::Udp => 6,
            Transport::Tcp { .. } | Transport::TcpSegment { .. } => 16,
            Transport::Raw(_) => return,
        };
        let sum = checksum(l4, pseudo);
        // A computed UDP checksum of zero is sent as all ones (RFC 768).
        let sum = if sum == 0 && at == 6 { 0xffff } else { sum };
        l4[at..at + 2].copy_from_slice(&sum.to_be_bytes());
    }

    fn write_ipv4(&self, s: Ipv4Addr, d: Ipv4Addr, l4: &[u8], out: &mut Vec<u8>) {
        let ihl = 20 + self.ipv4_options.len();
        let start = out.len();
        out.push(0x40 | (ihl / 4) as u8);
        out.push(0);
        out.extend_from_slice(&((ihl + l4.len()) as u16).to_be_bytes());
        out.extend_from_slice(&0x1c46u16.to_be_bytes());
        let (offset, more) = self.ipv4_fragment;
        out.extend_from_slice(&((u16::from(more) << 13) | (offset & 0x1fff)).to_be_bytes());
        out.push(64);
        out.push(self.protocol());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&s.octets());
        out.extend_from_slice(&d.octets());
        out.extend_from_slice(&self.ipv4_options);
        let sum = checksum(&out[start..], 0);
        out[start + 10..start + 12].copy_from_slice(&sum.to_be_bytes());
        let mut l4 = l4.to_vec();
        let pseudo = sum_words(&s.octets())
            + sum_words(&d.octets())
            + u32::from(self.protocol())
            + l4.len() as u32;
        if offset == 0 {
            self.finish_checksum(pseudo, &mut l4);
        }
        out.extend_from_slice(&l4);
    }

    fn write_ipv6(&self, s: Ipv6Addr, d: Ipv6Addr, l4: &[u8], out: &mut Vec<u8>) {
        let mut ext = Vec::new();
        for (i, header) in self.ipv6_ext.iter().enumerate() {
            let next = self
                .ipv6_ext
                .get(i + 1)
                .map_or(self.protocol(), Ipv6Ext::number);
            header.write(next, &mut ext);
        }
        let first = self
            .ipv6_ext
            .first()
            .map_or(self.protocol(), Ipv6Ext::number);
        out.extend_from_slice(&[0x60, 0, 0, 0]);
        out.extend_from_slice(&((ext.len() + l4.len()) as u16).to_be_bytes());
        out.push(first);
        out.push(64);
        out.extend_from_slice(&s.octets());
        out.extend_from_slice(&d.octets());
        out.extend_from_slice(&ext);
        let mut l4 = l4.to_vec();
        let pseudo = sum_words(&s.octets())
            + sum_words(&d.octets())
            + u32::from(self.protocol())
            + l4.len() as u32;
        self.finish_checksum(pseudo, &mut l4);
        out.extend_from_slice(&l4);
    }
}

fn sum_words(bytes: &[u8]) -> u32 {
    bytes
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum()
}

/// The Internet checksum of `bytes` plus an initial sum (RFC 1071).
fn checksum(bytes: &[u8], initial: u32) -> u16 {
    let mut sum = u64::from(initial) + u64::from(sum_words(bytes));
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_checksum_verifies() {
        let f = Frame::udp(
            "10.0.0.1:1000".parse().expect("addr"),
            "10.0.0.2:53".parse().expect("addr"),
            vec![1, 2, 3],
        );
        let b = f.bytes();
        assert_eq!(checksum(&b[14..34], 0), 0);
        assert_eq!(b.len(), 14 + 20 + 8 + 3);
    }

    #[test]
    fn vlan_tags_come_in_order() {
        let f = Frame::udp(
            "10.0.0.1:1000".parse().expect("addr"),
            "10.0.0.2:53".parse().expect("addr"),
            vec![],
        )
        .vlan(TPID_8021AD, 100)
        .vlan(TPID_8021Q, 200);
        let b = f.bytes();
        assert_eq!(&b[12..14], &[0x88, 0xa8]);
        assert_eq!(&b[16..18], &[0x81, 0x00]);
        assert_eq!(&b[20..22], &[0x08, 0x00]);
    }
}
