//! Splicing a real, labelled capture into a generated background.
//!
//! - [`load_labels`] reads `LABELS.csv` (`file,qname_or_pattern,label,note`)
//!   and [`label_of`] says which label (c2, exfil, ip_check, staging,
//!   tunnel, dga, …) applies to a name seen in a capture: a pattern is an
//!   exact name, `*.suffix` (names under the suffix, not the apex) or
//!   `re:REGEX` (matching the whole lowercased name).
//! - [`read_capture`] reads a pcap or pcapng file (Ethernet with 802.1Q or
//!   802.1ad tags, Linux SLL and SLL2, raw IP, BSD loopback) and extracts
//!   its DNS messages over UDP and TCP port 53 (mDNS and LLMNR, on 5353 and
//!   5355, are not DNS here; TCP streams are reassembled), each with its
//!   time and which side is the client.
//! - [`reframe`] builds the messages again with the crate's own frame
//!   builders: every client address of the capture becomes one new host
//!   ([`splice_host`], in 10.77.0.0/16, which the background does not
//!   use), the server side becomes the scenario's resolver
//!   ([`RESOLVER`]), and times are shifted so that the capture starts at a
//!   chosen time (its own spacing kept). The DNS messages themselves are
//!   kept byte for byte.
//! - [`merge`] interleaves them with the background in time order;
//!   [`splice`] does all of it and returns the ground truth of the splice
//!   ([`SpliceTruth`]: the host, the labelled names found with their
//!   labels).

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    fs::File,
    io::BufReader,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    path::Path,
};

use anyhow::{Context, Result, bail};
use pcap_parser::{PcapBlockOwned, PcapError, create_reader, pcapng::Block};
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::{
    dns,
    frame::Frame,
    scenario::{GATEWAY_MAC, Packet, RESOLVER},
};

/// How a label's pattern matches names.
#[derive(Clone, Debug)]
enum Matcher {
    /// This name exactly.
    Exact(String),
    /// Names ending in `.suffix` (the suffix itself excluded).
    Under(String),
    /// A regular expression matching the whole name.
    Regex(Regex),
}

/// One row of `LABELS.csv`.
#[derive(Clone, Debug)]
pub struct Label {
    /// The capture file it applies to (a file name, no directory).
    pub file: String,
    /// The pattern as written.
    pub pattern: String,
    /// The label: `c2`, `exfil`, `ip_check`, `staging`, `tunnel`, `dga`,
    /// `benign_odd`.
    pub label: String,
    /// The note.
    pub note: String,
    matcher: Matcher,
}

impl Label {
    /// A label of `file` for names matching `pattern`.
    pub fn new(file: &str, pattern: &str, label: &str, note: &str) -> Result<Self> {
        let p = pattern.trim();
        let matcher = if let Some(re) = p.strip_prefix("re:") {
            let re = Regex::new(&format!("^(?:{re})$"))
                .with_context(|| format!("bad pattern {p:?} for {file}"))?;
            Matcher::Regex(re)
        } else if let Some(suffix) = p.strip_prefix("*.") {
            Matcher::Under(normal(suffix))
        } else {
            Matcher::Exact(normal(p))
        };
        Ok(Self {
            file: file.trim().to_owned(),
            pattern: p.to_owned(),
            label: label.trim().to_owned(),
            note: note.to_owned(),
            matcher,
        })
    }

    /// Whether `name` (dotted; compared lowercased, without a trailing
    /// dot) matches the pattern.
    pub fn matches(&self, name: &str) -> bool {
        let name = normal(name);
        match &self.matcher {
            Matcher::Exact(n) => name == *n,
            Matcher::Under(s) => {
                name.len() > s.len() + 1
                    && name.ends_with(s.as_str())
                    && name.as_bytes()[name.len() - s.len() - 1] == b'.'
            }
            Matcher::Regex(re) => re.is_match(&name),
        }
    }
}

fn normal(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Splits one CSV line into fields (double quotes, `""` inside them).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// Parses the text of `LABELS.csv` (a header line first).
pub fn parse_labels(text: &str) -> Result<Vec<Label>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f = csv_fields(line);
        if f.len() < 3 {
            bail!(
                "line {}: expected file,pattern,label[,note]: {line:?}",
                i + 1
            );
        }
        let note = f.get(3).map_or("", String::as_str);
        out.push(Label::new(&f[0], &f[1], &f[2], note)?);
    }
    Ok(out)
}

/// Reads `LABELS.csv`.
pub fn load_labels(path: &Path) -> Result<Vec<Label>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_labels(&text).with_context(|| format!("parsing {}", path.display()))
}

/// The label of `name` in capture `file` (a file name; a path is reduced
/// to its name), the first matching row's.
pub fn label_of<'a>(labels: &'a [Label], file: &str, name: &str) -> Option<&'a Label> {
    let file = Path::new(file)
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or(file);
    labels.iter().find(|l| l.file == file && l.matches(name))
}

/// One DNS message of a capture.
#[derive(Clone, Debug)]
pub struct DnsMessage {
    /// Capture time, ns since the epoch.
    pub time_ns: u64,
    /// The client's address and port.
    pub client: SocketAddr,
    /// The server's address and port.
    pub server: SocketAddr,
    /// Carried over TCP.
    pub tcp: bool,
    /// A response (QR set).
    pub response: bool,
    /// The question name as dnsrare reports it
    /// ([`crate::names::canonical`]), if there is a question.
    pub qname: Option<String>,
    /// The question type.
    pub qtype: Option<u16>,
    /// The response code.
    pub rcode: u8,
    /// The DNS message, byte for byte.
    pub payload: Vec<u8>,
}

/// The DNS of one capture file.
#[derive(Clone, Debug)]
pub struct Capture {
    /// The file name.
    pub file: String,
    /// Frames in the file.
    pub packets: u64,
    /// Time of the first frame, ns since the epoch.
    pub first_ns: u64,
    /// Time of the last frame.
    pub last_ns: u64,
    /// Its DNS messages, in capture order.
    pub messages: Vec<DnsMessage>,
}

impl Capture {
    /// Queries (messages without QR).
    pub fn queries(&self) -> usize {
        self.messages.iter().filter(|m| !m.response).count()
    }

    /// Distinct client addresses.
    pub fn clients(&self) -> BTreeSet<IpAddr> {
        self.messages.iter().map(|m| m.client.ip()).collect()
    }
}

/// Reads `path` (pcap or pcapng) and extracts its DNS messages.
pub fn read_capture(path: &Path) -> Result<Capture> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut reader = create_reader(1 << 20, BufReader::new(file))
        .map_err(|e| anyhow::anyhow!("{}: not a capture: {e:?}", path.display()))?;
    let mut capture = Capture {
        file: path
            .file_name()
            .map_or_else(String::new, |f| f.to_string_lossy().into_owned()),
        packets: 0,
        first_ns: u64::MAX,
        last_ns: 0,
        messages: Vec::new(),
    };
    let mut legacy: (i32, bool) = (1, false);
    // Per pcapng interface: link type, units per second, offset (s).
    let mut interfaces: Vec<(i32, u64, i64)> = Vec::new();
    let mut tcp = TcpStreams::default();
    loop {
        let frame: Option<(u64, i32, Vec<u8>)> = match reader.next() {
            Ok((offset, block)) => {
                let out = match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        legacy = (h.network.0, h.is_nanosecond_precision());
                        None
                    }
                    PcapBlockOwned::Legacy(b) => {
                        let frac = u64::from(b.ts_usec) * if legacy.1 { 1 } else { 1000 };
                        let t = u64::from(b.ts_sec) * 1_000_000_000 + frac;
                        let len = (b.caplen as usize).min(b.data.len());
                        Some((t, legacy.0, b.data[..len].to_vec()))
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                        interfaces.clear();
                        None
                    }
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        let res = idb.ts_resolution().unwrap_or(1_000_000);
                        interfaces.push((idb.linktype.0, res, idb.ts_offset()));
                        None
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        let (link, res, off) = interfaces
                            .get(epb.if_id as usize)
                            .copied()
                            .unwrap_or((1, 1_000_000, 0));
                        let raw = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                        let t = (u128::from(raw) * 1_000_000_000 / u128::from(res.max(1))) as i128
                            + i128::from(off) * 1_000_000_000;
                        let len = (epb.caplen as usize).min(epb.data.len());
                        Some((t.max(0) as u64, link, epb.data[..len].to_vec()))
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        let link = interfaces.first().map_or(1, |i| i.0);
                        let len = (spb.origlen as usize).min(spb.data.len());
                        // No timestamp: the previous frame's.
                        let t = if capture.last_ns == 0 {
                            0
                        } else {
                            capture.last_ns
                        };
                        Some((t, link, spb.data[..len].to_vec()))
                    }
                    PcapBlockOwned::NG(_) => None,
                };
                reader.consume(offset);
                out
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                reader
                    .refill()
                    .map_err(|e| anyhow::anyhow!("{}: {e:?}", path.display()))?;
                continue;
            }
            Err(e) => bail!("{}: {e:?}", path.display()),
        };
        let Some((t, link, data)) = frame else {
            continue;
        };
        capture.packets += 1;
        capture.first_ns = capture.first_ns.min(t);
        capture.last_ns = capture.last_ns.max(t);
        if let Some(ip) = network_layer(link, &data) {
            dns_of_ip(t, ip, &mut tcp, &mut capture.messages);
        }
    }
    if capture.packets == 0 {
        capture.first_ns = 0;
    }
    Ok(capture)
}

/// The IP packet inside a frame of link type `link`, if any.
fn network_layer(link: i32, f: &[u8]) -> Option<&[u8]> {
    let be16 = |at: usize| Some(u16::from_be_bytes([*f.get(at)?, *f.get(at + 1)?]));
    let (ethertype, at) = match link {
        // Ethernet, with any number of 802.1Q / 802.1ad / QinQ tags.
        1 => {
            let mut at = 12;
            let mut ethertype = be16(at)?;
            while matches!(ethertype, 0x8100 | 0x88a8 | 0x9100) {
                at += 4;
                ethertype = be16(at)?;
            }
            (ethertype, at + 2)
        }
        // Linux cooked capture v1 and v2.
        113 => (be16(14)?, 16),
        276 => (be16(0)?, 20),
        // Raw IP.
        12 | 14 | 101 | 228 | 229 => {
            return f.first().filter(|b| matches!(**b >> 4, 4 | 6)).map(|_| f);
        }
        // BSD loopback: a 4-byte address family in either byte order.
        0 | 108 => {
            let family = u32::from_le_bytes(f.get(..4)?.try_into().ok()?);
            let family = if family > 0xffff {
                family.swap_bytes()
            } else {
                family
            };
            return match family {
                2 | 24 | 28 | 30 => f.get(4..),
                _ => None,
            };
        }
        _ => return None,
    };
    match ethertype {
        0x0800 | 0x86dd => f.get(at..),
        _ => None,
    }
}

/// A TCP segment's parts.
struct Segment<'a> {
    seq: u32,
    syn: bool,
    data: &'a [u8],
}

/// Reassembly of DNS-over-TCP streams, per direction.
#[derive(Default)]
struct TcpStreams {
    streams: HashMap<(SocketAddr, SocketAddr), (Option<u32>, Vec<u8>)>,
}

impl TcpStreams {
    /// Adds a segment from `src` to `dst`; returns the whole messages it
    /// completes.
    fn add(&mut self, src: SocketAddr, dst: SocketAddr, seg: &Segment) -> Vec<Vec<u8>> {
        let (next, buf) = self.streams.entry((src, dst)).or_default();
        if seg.syn {
            *next = Some(seg.seq.wrapping_add(1));
            buf.clear();
        }
        if !seg.data.is_empty() {
            let start = next.unwrap_or(seg.seq);
            let ahead = seg.seq.wrapping_sub(start) as i32;
            if ahead > 0 {
                // A gap: what was missing is lost; start again here.
                buf.clear();
                buf.extend_from_slice(seg.data);
            } else {
                let skip = (-ahead) as usize;
                if skip < seg.data.len() {
                    buf.extend_from_slice(&seg.data[skip..]);
                }
            }
            let end = seg.seq.wrapping_add(seg.data.len() as u32);
            if next.is_none_or(|n| (end.wrapping_sub(n) as i32) > 0) {
                *next = Some(end);
            }
        }
        let mut out = Vec::new();
        while buf.len() >= 2 {
            let len = usize::from(u16::from_be_bytes([buf[0], buf[1]]));
            if buf.len() < 2 + len {
                break;
            }
            out.push(buf[2..2 + len].to_vec());
            buf.drain(..2 + len);
        }
        out
    }
}

/// Extracts the DNS messages of one IP packet.
fn dns_of_ip(t: u64, ip: &[u8], tcp: &mut TcpStreams, out: &mut Vec<DnsMessage>) {
    let Some(&first) = ip.first() else {
        return;
    };
    let (src, dst, proto, l4): (IpAddr, IpAddr, u8, &[u8]) = match first >> 4 {
        4 => {
            if ip.len() < 20 {
                return;
            }
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([ip[2], ip[3]])).min(ip.len());
            let frag = u16::from_be_bytes([ip[6], ip[7]]);
            // Fragments (not reassembled) are skipped.
            if frag & 0x3fff != 0 || ihl < 20 || total < ihl {
                return;
            }
            let s: [u8; 4] = ip[12..16].try_into().unwrap_or_default();
            let d: [u8; 4] = ip[16..20].try_into().unwrap_or_default();
            (
                IpAddr::V4(Ipv4Addr::from(s)),
                IpAddr::V4(Ipv4Addr::from(d)),
                ip[9],
                &ip[ihl..total],
            )
        }
        6 => {
            if ip.len() < 40 {
                return;
            }
            let payload = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
            let end = (40 + payload).min(ip.len());
            let s: [u8; 16] = ip[8..24].try_into().unwrap_or_default();
            let d: [u8; 16] = ip[24..40].try_into().unwrap_or_default();
            let mut next = ip[6];
            let mut at = 40;
            while matches!(next, 0 | 43 | 60) {
                let (Some(&n), Some(&len)) = (ip.get(at), ip.get(at + 1)) else {
                    return;
                };
                next = n;
                at += (usize::from(len) + 1) * 8;
            }
            if next == 44 || at > end {
                return;
            }
            (
                IpAddr::V6(Ipv6Addr::from(s)),
                IpAddr::V6(Ipv6Addr::from(d)),
                next,
                &ip[at..end],
            )
        }
        _ => return,
    };
    let ports = |l4: &[u8]| -> Option<(u16, u16)> {
        Some((
            u16::from_be_bytes([*l4.first()?, *l4.get(1)?]),
            u16::from_be_bytes([*l4.get(2)?, *l4.get(3)?]),
        ))
    };
    let Some((sport, dport)) = ports(l4) else {
        return;
    };
    let is_dns = (sport == 53 || dport == 53)
        && ![5353, 5355].contains(&sport)
        && ![5353, 5355].contains(&dport);
    if !is_dns {
        return;
    }
    let (s, d) = (SocketAddr::new(src, sport), SocketAddr::new(dst, dport));
    match proto {
        17 if l4.len() >= 8 => {
            let len = usize::from(u16::from_be_bytes([l4[4], l4[5]])).clamp(8, l4.len());
            if let Some(m) = message(t, s, d, false, &l4[8..len]) {
                out.push(m);
            }
        }
        6 if l4.len() >= 20 => {
            let off = usize::from(l4[12] >> 4) * 4;
            if off < 20 || off > l4.len() {
                return;
            }
            let seg = Segment {
                seq: u32::from_be_bytes([l4[4], l4[5], l4[6], l4[7]]),
                syn: l4[13] & 0x02 != 0,
                data: &l4[off..],
            };
            for payload in tcp.add(s, d, &seg) {
                if let Some(m) = message(t, s, d, true, &payload) {
                    out.push(m);
                }
            }
        }
        _ => {}
    }
}

/// A DNS message from `src` to `dst`, if the payload has a DNS header.
fn message(t: u64, src: SocketAddr, dst: SocketAddr, tcp: bool, p: &[u8]) -> Option<DnsMessage> {
    if p.len() < 12 {
        return None;
    }
    let flags = u16::from_be_bytes([p[2], p[3]]);
    let response = flags & 0x8000 != 0;
    let qd = u16::from_be_bytes([p[4], p[5]]);
    let (qname, qtype) = if qd > 0 {
        match question(p) {
            Some((n, q)) => (Some(n), Some(q)),
            None => (None, None),
        }
    } else {
        (None, None)
    };
    let (client, server) = if response { (dst, src) } else { (src, dst) };
    Some(DnsMessage {
        time_ns: t,
        client,
        server,
        tcp,
        response,
        qname,
        qtype,
        rcode: (flags & 0x0f) as u8,
        payload: p.to_vec(),
    })
}

/// The first question's name (as dnsrare reports it) and type.
fn question(m: &[u8]) -> Option<(String, u16)> {
    let mut name = String::new();
    let mut at = 12;
    let mut end = None;
    let mut jumps = 0;
    loop {
        let len = *m.get(at)?;
        match len {
            0 => {
                at += 1;
                break;
            }
            l if l & 0xc0 == 0xc0 => {
                let ptr = usize::from(u16::from_be_bytes([l, *m.get(at + 1)?]) & 0x3fff);
                end.get_or_insert(at + 2);
                jumps += 1;
                if jumps > 20 {
                    return None;
                }
                at = ptr;
            }
            l if l > 63 => return None,
            l => {
                let label = m.get(at + 1..at + 1 + usize::from(l))?;
                if !name.is_empty() {
                    name.push('.');
                }
                for &b in label {
                    match b {
                        b'A'..=b'Z' => name.push(char::from(b.to_ascii_lowercase())),
                        b'\\' | 0..=0x20 | 0x7f..=0xff => {
                            name.push('\\');
                            name.push_str(&format!("{b:03}"));
                        }
                        _ => name.push(char::from(b)),
                    }
                }
                at += 1 + usize::from(l);
            }
        }
    }
    let at = end.unwrap_or(at);
    let qtype = u16::from_be_bytes([*m.get(at)?, *m.get(at + 1)?]);
    if name.is_empty() {
        name.push('.');
    }
    Some((name, qtype))
}

/// Address of spliced capture number `index` (10.77.0.0/16, which
/// generated backgrounds do not use).
pub fn splice_host(index: u16) -> Ipv4Addr {
    Ipv4Addr::new(10, 77, (index / 250) as u8, (index % 250 + 2) as u8)
}

/// MAC address of the spliced host `host`.
fn host_mac(host: Ipv4Addr) -> [u8; 6] {
    let o = host.octets();
    [0x02, 0x77, o[0], o[1], o[2], o[3]]
}

/// The capture's DNS messages as frames of one host, `host`, asking the
/// scenario's resolver, shifted so that the capture's first frame falls
/// at `at_ns`; in time order.
pub fn reframe(capture: &Capture, host: Ipv4Addr, at_ns: u64) -> Vec<Packet> {
    let mac = host_mac(host);
    let mut seqs: HashMap<(u16, bool), u32> = HashMap::new();
    let mut out: Vec<Packet> = capture
        .messages
        .iter()
        .map(|m| {
            let client = SocketAddr::new(IpAddr::V4(host), m.client.port());
            let server = SocketAddr::new(IpAddr::V4(RESOLVER), 53);
            let (src, dst) = if m.response {
                (server, client)
            } else {
                (client, server)
            };
            let mut f = if m.tcp {
                let payload = dns::tcp_framed(std::slice::from_ref(&m.payload));
                let seq = seqs
                    .entry((m.client.port(), m.response))
                    .or_insert_with(|| 0x1000_0000 ^ u32::from(m.client.port()) << 8);
                let frame = Frame::tcp(src, dst, *seq, payload.clone());
                *seq = seq.wrapping_add(payload.len() as u32);
                frame
            } else {
                Frame::udp(src, dst, m.payload.clone())
            };
            (f.src_mac, f.dst_mac) = if m.response {
                (GATEWAY_MAC, mac)
            } else {
                (mac, GATEWAY_MAC)
            };
            Packet {
                time_ns: at_ns + m.time_ns.saturating_sub(capture.first_ns),
                frame: f.bytes(),
            }
        })
        .collect();
    out.sort_by_key(|p| p.time_ns);
    out
}

/// Two packet lists in time order, merged (the first list's packet first
/// on equal times).
pub fn merge<'a>(first: &'a [Packet], second: &'a [Packet]) -> Merge<'a> {
    Merge {
        a: first,
        b: second,
        i: 0,
        j: 0,
    }
}

/// The iterator of [`merge`].
#[derive(Clone, Debug)]
pub struct Merge<'a> {
    a: &'a [Packet],
    b: &'a [Packet],
    i: usize,
    j: usize,
}

impl<'a> Iterator for Merge<'a> {
    type Item = &'a Packet;

    fn next(&mut self) -> Option<&'a Packet> {
        let take_a = match (self.a.get(self.i), self.b.get(self.j)) {
            (None, None) => return None,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(x), Some(y)) => x.time_ns <= y.time_ns,
        };
        if take_a {
            self.i += 1;
            self.a.get(self.i - 1)
        } else {
            self.j += 1;
            self.b.get(self.j - 1)
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.a.len() - self.i + self.b.len() - self.j;
        (n, Some(n))
    }
}

/// The ground truth of one spliced capture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpliceTruth {
    /// The capture file.
    pub capture: String,
    /// The host every client of the capture became.
    pub host: IpAddr,
    /// The capture's own client addresses.
    pub original_clients: Vec<IpAddr>,
    /// Time of the capture's first frame after the shift, ns since the
    /// epoch.
    pub start_ns: u64,
    /// Time of its last frame after the shift.
    pub end_ns: u64,
    /// DNS queries spliced in.
    pub queries: u64,
    /// DNS responses spliced in.
    pub responses: u64,
    /// Queries for labelled names.
    pub labelled_queries: u64,
    /// Every labelled name asked (as dnsrare reports it) with its label.
    pub labelled: BTreeMap<String, String>,
}

/// The ground truth of splicing `capture` as `host` at `at_ns`.
pub fn truth(capture: &Capture, labels: &[Label], host: Ipv4Addr, at_ns: u64) -> SpliceTruth {
    let mut t = SpliceTruth {
        capture: capture.file.clone(),
        host: IpAddr::V4(host),
        original_clients: capture.clients().into_iter().collect(),
        start_ns: at_ns,
        end_ns: at_ns + capture.last_ns.saturating_sub(capture.first_ns),
        queries: 0,
        responses: 0,
        labelled_queries: 0,
        labelled: BTreeMap::new(),
    };
    for m in &capture.messages {
        if m.response {
            t.responses += 1;
            continue;
        }
        t.queries += 1;
        let Some(name) = &m.qname else {
            continue;
        };
        if let Some(l) = label_of(labels, &capture.file, name) {
            t.labelled_queries += 1;
            t.labelled.insert(name.clone(), l.label.clone());
        }
    }
    t
}

/// Splices `capture` into `background` (in time order) as `host`, its
/// first frame at `at_ns`: the merged packets and the splice's truth.
pub fn splice(
    background: &[Packet],
    capture: &Capture,
    labels: &[Label],
    host: Ipv4Addr,
    at_ns: u64,
) -> (Vec<Packet>, SpliceTruth) {
    let spliced = reframe(capture, host, at_ns);
    let merged = merge(background, &spliced).cloned().collect();
    (merged, truth(capture, labels, host, at_ns))
}

#[cfg(test)]
mod tests;
