//! Bounds-checked packet reads and the walk from Ethernet to the UDP or TCP
//! payload, for both programs: the XDP program and the TC egress
//! classifier see the same Ethernet frame through [`Packet`].
//!
//! Every read compares its end against `data_end` before touching the packet,
//! as the verifier requires. The computed end goes through
//! `core::hint::black_box`: without it LLVM rewrites the comparison into a
//! form the verifier cannot relate to the packet pointer ("invalid access to
//! packet", TOOLCHAIN.md).

use core::hint::black_box;

use aya_ebpf::{
    EbpfContext,
    helpers::generated::{bpf_skb_load_bytes, bpf_xdp_load_bytes},
    programs::{TcContext, XdpContext},
};
use capture_common::{
    DIRECTION_EGRESS, DIRECTION_INGRESS, DNS_PORT, FAMILY_IPV4, FAMILY_IPV6, MAX_HEADER_OFFSET,
    MAX_IPV6_EXT, MAX_VLAN_TAGS, STATS_EGRESS, STATS_INGRESS, TRANSPORT_TCP, TRANSPORT_UDP,
    wire::{
        ETH_HLEN, ETH_P_8021AD, ETH_P_8021Q, ETH_P_IPV4, ETH_P_IPV6, IPPROTO_TCP, IPPROTO_UDP,
        IPV4_MIN_HLEN, IPV6_DSTOPTS, IPV6_FRAGMENT, IPV6_HLEN, IPV6_HOPOPTS, IPV6_ROUTING,
        TCP_MIN_HLEN, UDP_HLEN, VLAN_HLEN,
    },
};

/// A packet as one of the programs sees it: its directly accessible bytes
/// (`data..data_end`, starting at the Ethernet header), a helper that
/// copies bytes out of it, and where its counts and events go.
pub trait Packet: EbpfContext {
    /// [`capture_common::DnsEvent::direction`] of its events.
    const DIRECTION: u8;
    /// Index of its counters in the `STATS` map.
    const STATS_INDEX: u32;

    /// Address of the first byte of the frame.
    fn data(&self) -> usize;

    /// Address one past the last directly readable byte.
    fn data_end(&self) -> usize;

    /// The interface the packet arrived on (XDP) or leaves by (TC).
    fn ifindex(&self) -> u32;

    /// Copies `len` packet bytes at `offset` to `dst` with the program
    /// type's helper (which checks the range itself); true on success.
    ///
    /// # Safety
    /// `dst` must be valid for `len` bytes of writes.
    unsafe fn load_bytes(&self, offset: usize, dst: *mut u8, len: u32) -> bool;
}

impl Packet for XdpContext {
    const DIRECTION: u8 = DIRECTION_INGRESS;
    const STATS_INDEX: u32 = STATS_INGRESS;

    #[inline(always)]
    fn data(&self) -> usize {
        XdpContext::data(self)
    }

    #[inline(always)]
    fn data_end(&self) -> usize {
        XdpContext::data_end(self)
    }

    #[inline(always)]
    fn ifindex(&self) -> u32 {
        self.ingress_ifindex() as u32
    }

    #[inline(always)]
    unsafe fn load_bytes(&self, offset: usize, dst: *mut u8, len: u32) -> bool {
        // SAFETY: the caller guarantees `dst`; the helper bounds the read.
        unsafe { bpf_xdp_load_bytes(self.ctx, offset as u32, dst.cast(), len) == 0 }
    }
}

impl Packet for TcContext {
    const DIRECTION: u8 = DIRECTION_EGRESS;
    const STATS_INDEX: u32 = STATS_EGRESS;

    #[inline(always)]
    fn data(&self) -> usize {
        TcContext::data(self)
    }

    #[inline(always)]
    fn data_end(&self) -> usize {
        TcContext::data_end(self)
    }

    #[inline(always)]
    fn ifindex(&self) -> u32 {
        // SAFETY: the context pointer the kernel handed the program; a
        // plain field read the verifier rewrites into `skb->dev->ifindex`.
        unsafe { (*self.skb.skb).ifindex }
    }

    #[inline(always)]
    unsafe fn load_bytes(&self, offset: usize, dst: *mut u8, len: u32) -> bool {
        // SAFETY: the caller guarantees `dst`; the helper bounds the read
        // (and reads paged data too).
        unsafe { bpf_skb_load_bytes(self.as_ptr(), offset as u32, dst.cast(), len) == 0 }
    }
}

/// Where a UDP or TCP payload sits and who sent it to whom.
#[derive(Clone, Copy)]
pub struct Datagram {
    /// Source and destination address as they lie in the packet, read as
    /// native-order words: IPv4 in the low half of words 0 and 2, the rest
    /// zero; IPv6 source in words 0-1, destination in words 2-3.
    pub addrs: [u64; 4],
    /// [`FAMILY_IPV4`] or [`FAMILY_IPV6`].
    pub family: u8,
    /// [`TRANSPORT_UDP`] or [`TRANSPORT_TCP`].
    pub transport: u8,
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Offset of the first payload byte.
    pub payload: usize,
}

/// Reads a `T` at `off` as its bytes lie in the packet (unaligned, native
/// order), or `None` past the end of the packet.
///
/// `T` must be a plain integer or byte array (every bit pattern valid).
#[inline(always)]
fn read_at<T: Copy, P: Packet>(ctx: &P, off: usize) -> Option<T> {
    let ptr = ctx.data() + off;
    if black_box(ptr + size_of::<T>()) > ctx.data_end() {
        return None;
    }
    // SAFETY: `ptr + size_of::<T>() <= data_end`, checked just above, and
    // every bit pattern is a valid `T`.
    Some(unsafe { (ptr as *const T).read_unaligned() })
}

/// Reads one byte at `off`, or `None` past the end of the packet.
#[inline(always)]
pub fn byte_at<P: Packet>(ctx: &P, off: usize) -> Option<u8> {
    read_at(ctx, off)
}

/// Reads a big-endian `u16` at `off`, or `None` past the end of the packet.
#[inline(always)]
pub fn be16_at<P: Packet>(ctx: &P, off: usize) -> Option<u16> {
    read_at(ctx, off).map(u16::from_be_bytes)
}

/// Walks Ethernet, VLAN tags, IPv4/IPv6 and UDP or TCP. `None` for anything
/// that is not a complete, first-fragment UDP or TCP header to or from port
/// 53.
#[inline(always)]
pub fn datagram<P: Packet>(ctx: &P) -> Option<Datagram> {
    let mut ethertype = be16_at(ctx, ETH_HLEN - 2)?;
    let mut l3 = ETH_HLEN;
    for _ in 0..MAX_VLAN_TAGS {
        if ethertype != ETH_P_8021Q && ethertype != ETH_P_8021AD {
            break;
        }
        ethertype = be16_at(ctx, l3 + 2)?;
        l3 += VLAN_HLEN;
    }
    let (family, addrs, protocol, l4) = match ethertype {
        ETH_P_IPV4 => ipv4(ctx, l3)?,
        ETH_P_IPV6 => ipv6(ctx, l3)?,
        _ => return None,
    };
    if l4 > MAX_HEADER_OFFSET {
        return None;
    }
    if protocol != IPPROTO_UDP && protocol != IPPROTO_TCP {
        return None;
    }
    let src_port = be16_at(ctx, l4)?;
    let dst_port = be16_at(ctx, l4 + 2)?;
    // Most traffic is not DNS: stop as early as the ports say so.
    if src_port != DNS_PORT && dst_port != DNS_PORT {
        return None;
    }
    let (transport, header_len) = match protocol {
        IPPROTO_UDP => (TRANSPORT_UDP, UDP_HLEN),
        IPPROTO_TCP => {
            let data_offset = usize::from(byte_at(ctx, l4 + 12)? >> 4) * 4;
            if data_offset < TCP_MIN_HLEN {
                return None;
            }
            (TRANSPORT_TCP, data_offset)
        }
        _ => return None,
    };
    // The header must be complete even when no payload follows.
    be16_at(ctx, l4 + header_len - 2)?;
    Some(Datagram {
        addrs,
        family,
        transport,
        src_port,
        dst_port,
        payload: l4 + header_len,
    })
}

/// IPv4 header at `off`: any IHL, non-first fragments skipped. Returns the
/// family, the addresses, the protocol and the offset of the transport
/// header.
#[inline(always)]
fn ipv4<P: Packet>(ctx: &P, off: usize) -> Option<(u8, [u64; 4], u8, usize)> {
    let version_ihl = byte_at(ctx, off)?;
    if version_ihl >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(version_ihl & 0x0f) * 4;
    if ihl < IPV4_MIN_HLEN {
        return None;
    }
    // Fragment offset (13 bits): a non-first fragment holds no UDP header.
    if be16_at(ctx, off + 6)? & 0x1fff != 0 {
        return None;
    }
    let protocol = byte_at(ctx, off + 9)?;
    let src: u32 = read_at(ctx, off + 12)?;
    let dst: u32 = read_at(ctx, off + 16)?;
    Some((
        FAMILY_IPV4,
        [u64::from(src), 0, u64::from(dst), 0],
        protocol,
        off + ihl,
    ))
}

/// IPv6 header at `off` with up to [`MAX_IPV6_EXT`] hop-by-hop, routing,
/// fragment (first fragments only) and destination-options headers.
#[inline(always)]
fn ipv6<P: Packet>(ctx: &P, off: usize) -> Option<(u8, [u64; 4], u8, usize)> {
    if byte_at(ctx, off)? >> 4 != 6 {
        return None;
    }
    let mut next = byte_at(ctx, off + 6)?;
    let addrs = [
        read_at(ctx, off + 8)?,
        read_at(ctx, off + 16)?,
        read_at(ctx, off + 24)?,
        read_at(ctx, off + 32)?,
    ];
    let mut l4 = off + IPV6_HLEN;
    for _ in 0..MAX_IPV6_EXT {
        match next {
            IPV6_HOPOPTS | IPV6_ROUTING | IPV6_DSTOPTS => {
                next = byte_at(ctx, l4)?;
                let len = (usize::from(byte_at(ctx, l4 + 1)?) + 1) * 8;
                l4 += len;
            }
            IPV6_FRAGMENT => {
                next = byte_at(ctx, l4)?;
                if be16_at(ctx, l4 + 2)? & 0xfff8 != 0 {
                    return None;
                }
                l4 += 8;
            }
            _ => break,
        }
        if l4 > MAX_HEADER_OFFSET {
            return None;
        }
    }
    Some((FAMILY_IPV6, addrs, next, l4))
}
