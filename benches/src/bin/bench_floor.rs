//! The offline floor of issue 12: the least work that still does the
//! counting `dnsrare pcap` does, over a classic pcap file mapped into
//! memory, so that `cargo xtask bench offline` can say how far dnsrare is
//! from what the hardware allows.
//!
//! What it counts, and nothing more:
//! - per name: queries, first and last seen, query types, responses,
//!   NXDOMAIN answers, its registered domain (public suffix looked up once
//!   per new name);
//! - per (host, name) pair: queries, first and last seen and a 64-beat
//!   arrival ring;
//! - per registered domain: queries and distinct hosts;
//! - per host: queries.
//!
//! How: the file is cut at record boundaries into one chunk per thread;
//! each thread parses its chunk (Ethernet, VLAN tags, IPv4, IPv6 with
//! extension headers, UDP and TCP on port 53, the first question) into
//! compact records with the lowercase dotted name in a per-thread arena,
//! scattered into [`PARTITIONS`] partitions by a hash of the name's last
//! two labels (which keeps every registered domain whole). Then every
//! partition is counted whole, chunk after chunk, so in file order: the
//! counts, rings and first-seen times are the same on any thread count.
//!
//! No report, no scoring, no pcapng, no damaged-file handling. Usage:
//! `bench_floor FILE [--threads N]`; prints one JSON line of totals.

use std::{hash::BuildHasher, path::PathBuf, time::Instant};

use anyhow::{Context, Result, bail};
use dnsrare_core::engine::domain;
use hashbrown::HashTable;
use serde_json::json;

/// Partitions the records are scattered into.
const PARTITIONS: usize = 256;
/// Beats kept per (host, name) pair.
const RING: usize = 64;

type Hasher = foldhash::fast::FixedState;

fn main() -> Result<()> {
    let mut path: Option<PathBuf> = None;
    let mut threads = std::thread::available_parallelism().map_or(1, usize::from);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => threads = args.next().context("--threads N")?.parse()?,
            _ if path.is_none() => path = Some(arg.into()),
            other => bail!("unknown argument {other}"),
        }
    }
    let path = path.context("usage: bench_floor FILE [--threads N]")?;
    let started = Instant::now();
    let file = std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    // SAFETY: the file is only read; a capture changed under us while we
    // read it gives wrong counts, not undefined behaviour we rely on.
    let map = unsafe { memmap2::Mmap::map(&file) }?;
    let format = Format::of(&map)?;
    let chunks = cut(&map, &format, threads.max(1));
    let hasher = Hasher::with_seed(0x646e_7372);
    let parsed: Vec<Parsed> = std::thread::scope(|s| {
        let workers: Vec<_> = chunks
            .iter()
            .map(|&(from, to)| {
                let (map, format, hasher) = (&map[..], &format, &hasher);
                s.spawn(move || parse_chunk(&map[from..to], format, hasher))
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("parser thread"))
            .collect()
    });
    let next = std::sync::atomic::AtomicUsize::new(0);
    let counted: Vec<Totals> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                let (parsed, next, hasher) = (&parsed, &next, &hasher);
                s.spawn(move || {
                    let mut totals = Totals::default();
                    loop {
                        let p = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if p >= PARTITIONS {
                            return totals;
                        }
                        totals.add(&count_partition(parsed, p, hasher));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("counting thread"))
            .collect()
    });
    let mut totals = Totals::default();
    for t in &counted {
        totals.add(t);
    }
    // Hosts span partitions: one merge over the per-partition host lists.
    let mut hosts: HashTable<(u128, u64)> = HashTable::new();
    for t in &counted {
        for &(addr, queries) in &t.hosts {
            let hash = hasher.hash_one(addr);
            match hosts.find_mut(hash, |&(a, _)| a == addr) {
                Some(e) => e.1 += queries,
                None => {
                    hosts.insert_unique(hash, (addr, queries), |&(a, _)| hasher.hash_one(a));
                }
            }
        }
    }
    let frames: u64 = parsed.iter().map(|p| p.frames).sum();
    println!(
        "{}",
        json!({
            "bench": "floor",
            "file": path.display().to_string(),
            "threads": threads,
            "frames": frames,
            "queries": totals.queries,
            "responses": totals.responses,
            "nxdomain": totals.nxdomain,
            "names": totals.names,
            "pairs": totals.pairs,
            "domains": totals.domains,
            "domain_hosts": totals.domain_hosts,
            "hosts": hosts.len(),
            "beats": totals.beats,
            "first_seen_sum": totals.first_seen_sum,
            "seconds": started.elapsed().as_secs_f64(),
        })
    );
    Ok(())
}

/// A classic pcap file's layout.
struct Format {
    big_endian: bool,
    nanos: bool,
}

impl Format {
    fn of(map: &[u8]) -> Result<Self> {
        let magic = map.get(..4).context("shorter than a pcap header")?;
        let (big_endian, nanos) = match magic {
            [0xd4, 0xc3, 0xb2, 0xa1] => (false, false),
            [0x4d, 0x3c, 0xb2, 0xa1] => (false, true),
            [0xa1, 0xb2, 0xc3, 0xd4] => (true, false),
            [0xa1, 0xb2, 0x3c, 0x4d] => (true, true),
            _ => bail!("not a classic pcap file (the floor reads no pcapng)"),
        };
        let format = Self { big_endian, nanos };
        if map.len() < 24 || format.u32(&map[20..24]) != 1 {
            bail!("the floor reads Ethernet captures only");
        }
        Ok(format)
    }

    fn u32(&self, b: &[u8]) -> u32 {
        let b = [b[0], b[1], b[2], b[3]];
        if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }
}

/// Byte ranges of whole records, one per thread, in file order.
fn cut(map: &[u8], format: &Format, parts: usize) -> Vec<(usize, usize)> {
    let want = (map.len() - 24) / parts + 1;
    let mut chunks = Vec::with_capacity(parts);
    let (mut start, mut at) = (24, 24);
    while at + 16 <= map.len() {
        let len = format.u32(&map[at + 8..at + 12]) as usize;
        at += 16 + len;
        if at - start >= want {
            chunks.push((start, at.min(map.len())));
            start = at;
        }
    }
    if start < map.len() {
        chunks.push((start, map.len()));
    }
    chunks
}

/// One parsed query or response (40 bytes).
#[derive(Clone, Copy)]
struct Record {
    time_ns: u64,
    name_hash: u64,
    host: u128,
    /// Offset of the dotted name in its chunk's arena.
    name_at: u32,
    name_len: u8,
    /// Bit 7: response; bits 0–3: RCODE.
    kind: u8,
    qtype: u16,
}

/// What one thread made of its chunk.
struct Parsed {
    frames: u64,
    names: Vec<u8>,
    partitions: Vec<Vec<Record>>,
}

fn parse_chunk(chunk: &[u8], format: &Format, hasher: &Hasher) -> Parsed {
    let mut out = Parsed {
        frames: 0,
        names: Vec::with_capacity(chunk.len() / 8),
        partitions: (0..PARTITIONS)
            .map(|_| Vec::with_capacity(chunk.len() / 128 / PARTITIONS))
            .collect(),
    };
    let mut at = 0;
    while at + 16 <= chunk.len() {
        let h = &chunk[at..at + 16];
        let secs = u64::from(format.u32(&h[0..4]));
        let frac = u64::from(format.u32(&h[4..8]));
        let len = format.u32(&h[8..12]) as usize;
        let Some(frame) = chunk.get(at + 16..at + 16 + len) else {
            break;
        };
        at += 16 + len;
        out.frames += 1;
        let time_ns = secs * 1_000_000_000 + if format.nanos { frac } else { frac * 1000 };
        parse_frame(frame, time_ns, hasher, &mut out);
    }
    out
}

/// Parses one Ethernet frame; a DNS query or response on port 53 becomes
/// a record, anything else is skipped.
fn parse_frame(f: &[u8], time_ns: u64, hasher: &Hasher, out: &mut Parsed) -> Option<()> {
    let mut at = 12;
    let mut ether = u16::from_be_bytes(f.get(at..at + 2)?.try_into().ok()?);
    while ether == 0x8100 || ether == 0x88a8 {
        at += 4;
        ether = u16::from_be_bytes(f.get(at..at + 2)?.try_into().ok()?);
    }
    at += 2;
    let (proto, src, dst, l4) = match ether {
        0x0800 => {
            let ip = f.get(at..at + 20)?;
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let v4 = |b: &[u8]| u128::from(u32::from_be_bytes(b.try_into().unwrap_or([0; 4])));
            (ip[9], v4(&ip[12..16]), v4(&ip[16..20]), at + ihl)
        }
        0x86dd => {
            let ip = f.get(at..at + 40)?;
            let v6 = |b: &[u8]| u128::from_be_bytes(b.try_into().unwrap_or([0; 16]));
            let (mut next, mut l4) = (ip[6], at + 40);
            while matches!(next, 0 | 43 | 60) {
                let ext = f.get(l4..l4 + 2)?;
                next = ext[0];
                l4 += (usize::from(ext[1]) + 1) * 8;
            }
            (next, v6(&ip[8..24]), v6(&ip[24..40]), l4)
        }
        _ => return None,
    };
    let ports = f.get(l4..l4 + 4)?;
    let (sport, dport) = (
        u16::from_be_bytes([ports[0], ports[1]]),
        u16::from_be_bytes([ports[2], ports[3]]),
    );
    if sport != 53 && dport != 53 {
        return None;
    }
    let dns = match proto {
        17 => l4 + 8,
        6 => l4 + usize::from(f.get(l4 + 12)? >> 4) * 4 + 2,
        _ => return None,
    };
    let header = f.get(dns..dns + 12)?;
    let response = header[2] & 0x80 != 0;
    if header[2] & 0x78 != 0 || u16::from_be_bytes([header[4], header[5]]) == 0 {
        return None;
    }
    // The question name, lowercased into dotted text.
    let start = out.names.len();
    let mut at = dns + 12;
    let mut labels = [start; 2];
    loop {
        let len = usize::from(*f.get(at)?);
        at += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            out.names.truncate(start);
            return None;
        }
        if out.names.len() > start {
            out.names.push(b'.');
        }
        labels = [labels[1], out.names.len()];
        let Some(label) = f.get(at..at + len) else {
            out.names.truncate(start);
            return None;
        };
        out.names.extend(label.iter().map(u8::to_ascii_lowercase));
        at += len;
    }
    if out.names.len() - start > 253 || out.names.len() == start {
        out.names.truncate(start);
        return None;
    }
    let Some(qtype) = f.get(at..at + 2) else {
        out.names.truncate(start);
        return None;
    };
    let name = &out.names[start..];
    let last_two = &out.names[labels[0]..];
    let partition = (hasher.hash_one(last_two) >> 56) as usize % PARTITIONS;
    out.partitions[partition].push(Record {
        time_ns,
        name_hash: hasher.hash_one(name),
        host: if response { dst } else { src },
        name_at: start as u32,
        name_len: name.len() as u8,
        kind: if response {
            0x80 | (header[3] & 0x0f)
        } else {
            0
        },
        qtype: u16::from_be_bytes([qtype[0], qtype[1]]),
    });
    Some(())
}

#[derive(Clone, Copy)]
struct NameStats {
    name_at: u32,
    chunk: u16,
    name_len: u8,
    qtypes: u16,
    queries: u64,
    first_seen: u64,
    last_seen: u64,
    responses: u32,
    nxdomain: u32,
    domain: u32,
}

#[derive(Clone, Copy)]
struct PairStats {
    name: u32,
    host: u32,
    queries: u32,
    ring: u32,
    first_seen: u64,
    last_seen: u64,
}

/// An arrival ring: the last [`RING`] arrival times, seconds.
struct Ring {
    next: u8,
    beats: [u32; RING],
}

#[derive(Clone, Copy)]
struct DomainStats {
    queries: u64,
    hosts: u32,
}

#[derive(Default)]
struct Totals {
    queries: u64,
    responses: u64,
    nxdomain: u64,
    names: u64,
    pairs: u64,
    domains: u64,
    domain_hosts: u64,
    beats: u64,
    first_seen_sum: u64,
    hosts: Vec<(u128, u64)>,
}

impl Totals {
    fn add(&mut self, o: &Totals) {
        self.queries += o.queries;
        self.responses += o.responses;
        self.nxdomain += o.nxdomain;
        self.names += o.names;
        self.pairs += o.pairs;
        self.domains += o.domains;
        self.domain_hosts += o.domain_hosts;
        self.beats += o.beats;
        self.first_seen_sum = self.first_seen_sum.wrapping_add(o.first_seen_sum);
        self.hosts.extend_from_slice(&o.hosts);
    }
}

/// Counts partition `p` whole: each chunk's records in turn (file order).
fn count_partition(parsed: &[Parsed], p: usize, hasher: &Hasher) -> Totals {
    let mut names: Vec<NameStats> = Vec::new();
    let mut name_index: HashTable<u32> = HashTable::new();
    let mut pairs: Vec<PairStats> = Vec::new();
    let mut pair_index: HashTable<u32> = HashTable::new();
    let mut rings: Vec<Ring> = Vec::new();
    let mut domains: Vec<(DomainStats, Vec<u8>)> = Vec::new();
    let mut domain_index: HashTable<u32> = HashTable::new();
    let mut domain_hosts: HashTable<(u32, u32)> = HashTable::new();
    let mut hosts: Vec<(u128, u64)> = Vec::new();
    let mut host_index: HashTable<u32> = HashTable::new();
    let mut t = Totals::default();
    let text = |n: &NameStats| {
        let a = n.name_at as usize;
        &parsed[usize::from(n.chunk)].names[a..a + usize::from(n.name_len)]
    };
    for (chunk, part) in parsed.iter().enumerate() {
        for r in &part.partitions[p] {
            let name = &part.names[r.name_at as usize..][..usize::from(r.name_len)];
            let found = name_index
                .find(r.name_hash, |&i| text(&names[i as usize]) == name)
                .copied();
            if r.kind & 0x80 != 0 {
                t.responses += 1;
                if let Some(i) = found {
                    let n = &mut names[i as usize];
                    n.responses += 1;
                    if r.kind & 0x0f == 3 {
                        n.nxdomain += 1;
                        t.nxdomain += 1;
                    }
                }
                continue;
            }
            t.queries += 1;
            let name_i = match found {
                Some(i) => i,
                None => {
                    // A new name: its registered domain, once.
                    let domain = registered_domain(name);
                    let dh = hasher.hash_one(domain);
                    let d = match domain_index
                        .find(dh, |&i| domains[i as usize].1 == domain)
                        .copied()
                    {
                        Some(d) => d,
                        None => {
                            let d = domains.len() as u32;
                            domains.push((
                                DomainStats {
                                    queries: 0,
                                    hosts: 0,
                                },
                                domain.to_vec(),
                            ));
                            domain_index
                                .insert_unique(dh, d, |&i| hasher.hash_one(&domains[i as usize].1));
                            d
                        }
                    };
                    let i = names.len() as u32;
                    names.push(NameStats {
                        name_at: r.name_at,
                        chunk: chunk as u16,
                        name_len: r.name_len,
                        qtypes: 0,
                        queries: 0,
                        first_seen: r.time_ns,
                        last_seen: r.time_ns,
                        responses: 0,
                        nxdomain: 0,
                        domain: d,
                    });
                    name_index.insert_unique(r.name_hash, i, |&j| {
                        hasher.hash_one(text(&names[j as usize]))
                    });
                    i
                }
            };
            let hh = hasher.hash_one(r.host);
            let host_i = match host_index.find(hh, |&i| hosts[i as usize].0 == r.host) {
                Some(&i) => i,
                None => {
                    let i = hosts.len() as u32;
                    hosts.push((r.host, 0));
                    host_index.insert_unique(hh, i, |&j| hasher.hash_one(hosts[j as usize].0));
                    i
                }
            };
            hosts[host_i as usize].1 += 1;
            let n = &mut names[name_i as usize];
            n.queries += 1;
            n.last_seen = r.time_ns;
            n.qtypes |= 1 << (r.qtype & 15);
            let domain = n.domain;
            domains[domain as usize].0.queries += 1;
            let key = (u64::from(name_i) << 32) | u64::from(host_i);
            let ph = hasher.hash_one(key);
            let pair_i = match pair_index
                .find(ph, |&i| {
                    let q = &pairs[i as usize];
                    q.name == name_i && q.host == host_i
                })
                .copied()
            {
                Some(i) => i,
                None => {
                    let i = pairs.len() as u32;
                    pairs.push(PairStats {
                        name: name_i,
                        host: host_i,
                        queries: 0,
                        ring: rings.len() as u32,
                        first_seen: r.time_ns,
                        last_seen: r.time_ns,
                    });
                    rings.push(Ring {
                        next: 0,
                        beats: [0; RING],
                    });
                    pair_index.insert_unique(ph, i, |&j| {
                        let q = &pairs[j as usize];
                        hasher.hash_one((u64::from(q.name) << 32) | u64::from(q.host))
                    });
                    let dk = (domain, host_i);
                    let dkh = hasher.hash_one(dk);
                    if domain_hosts.find(dkh, |&k| k == dk).is_none() {
                        domain_hosts.insert_unique(dkh, dk, |&k| hasher.hash_one(k));
                        domains[domain as usize].0.hosts += 1;
                    }
                    i
                }
            };
            let pair = &mut pairs[pair_i as usize];
            pair.queries += 1;
            pair.last_seen = r.time_ns;
            let ring = &mut rings[pair.ring as usize];
            ring.beats[usize::from(ring.next) % RING] = (r.time_ns / 1_000_000_000) as u32;
            ring.next = ring.next.wrapping_add(1);
        }
    }
    t.names = names.len() as u64;
    t.pairs = pairs.len() as u64;
    t.domains = domains.len() as u64;
    t.domain_hosts = domain_hosts.len() as u64;
    t.beats = rings.iter().map(|r| u64::from(r.next)).sum();
    t.first_seen_sum = names
        .iter()
        .map(|n| n.first_seen ^ n.last_seen)
        .chain(pairs.iter().map(|p| p.first_seen ^ p.last_seen))
        .fold(0u64, u64::wrapping_add);
    t.hosts = hosts;
    t
}

/// The registered domain of a lowercase dotted name, as the engine finds
/// it (the ICANN suffix plus one label; the name itself when it has none).
fn registered_domain(name: &[u8]) -> &[u8] {
    let offset = std::str::from_utf8(name).map_or(0, domain::registered_domain_offset);
    &name[offset..]
}
