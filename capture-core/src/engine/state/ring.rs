//! Arrival rings: the last [`RING_BEATS`] arrival times of a (host, name),
//! kept for beacon scoring while a name has few hosts, in deciseconds since
//! the pair's first query.

use serde::{Deserialize, Serialize};

use super::{NONE, ShardState};
use crate::engine::chunked::Chunked;
use crate::model::status::Pressure;

/// Arrival times kept per (host, name).
pub const RING_BEATS: usize = 64;
/// Names asked by more hosts than this keep no arrival rings: beacon
/// scoring is for rare names, and a name everyone asks would otherwise hold
/// a ring per host.
pub const RING_MAX_HOSTS: u32 = 32;
/// Arrivals closer than this to the previous kept one are the same beat
/// (retries, A + AAAA pairs); in ring units (100 ms).
const BEAT_GAP_DS: u32 = 10;
/// Nanoseconds per ring unit.
pub(super) const NS_PER_DS: u64 = 100_000_000;

/// Arrival times of one (host, name): deciseconds since the pair's first
/// query, oldest overwritten first.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(super) struct Ring {
    // Two halves: serde arrays stop at 32 elements.
    pub(super) beats: [[u32; RING_BEATS / 2]; 2],
    pub(super) used: u8,
    pub(super) next: u8,
    /// Cached bits of beacon evidence ([`crate::score::combine::beacon_bits`])
    /// times four, 0 also when the beats are too few to measure; valid
    /// while `scored`.
    pub(super) beacon: u8,
    /// The measured period is under
    /// [`crate::score::combine::RETRY_PERIOD_S`] (valid while `scored`;
    /// recomputed after a snapshot loads).
    #[serde(skip)]
    pub(super) short_period: bool,
    /// Whether `beacon` is up to date with the beats.
    pub(super) scored: bool,
}

impl Ring {
    pub(super) const EMPTY: Self = Self {
        beats: [[0; RING_BEATS / 2]; 2],
        used: 0,
        next: 0,
        beacon: 0,
        short_period: false,
        scored: false,
    };

    pub(super) fn slot(&self, i: usize) -> u32 {
        self.beats[i / (RING_BEATS / 2)][i % (RING_BEATS / 2)]
    }

    pub(super) fn last(&self) -> Option<u32> {
        (self.used > 0).then(|| self.slot((usize::from(self.next) + RING_BEATS - 1) % RING_BEATS))
    }

    pub(super) fn push(&mut self, beat: u32) {
        let i = usize::from(self.next);
        self.beats[i / (RING_BEATS / 2)][i % (RING_BEATS / 2)] = beat;
        self.next = ((i + 1) % RING_BEATS) as u8;
        self.used = (usize::from(self.used) + 1).min(RING_BEATS) as u8;
    }

    pub(super) fn in_order(&self) -> impl Iterator<Item = u32> + '_ {
        let used = usize::from(self.used);
        let start = (usize::from(self.next) + RING_BEATS - used) % RING_BEATS;
        (0..used).map(move |k| self.slot((start + k) % RING_BEATS))
    }
}

impl ShardState {
    /// Frees the arrival rings of every pair of `name` (it became popular).
    pub(super) fn release_rings(&mut self, name: u32) {
        let mut next = self.data.names.get(name).link;
        while next != NONE {
            let pair = self.data.pairs.get_mut(next);
            if pair.ring != NONE {
                self.data.free_rings.push(pair.ring);
                pair.ring = NONE;
            }
            next = pair.next;
        }
    }

    /// Keeps arrival `t` in `ring` (of a pair first seen at `first`, of a
    /// name with `hosts` hosts) unless it is within a second of the last
    /// kept beat; returns the ring, allocated if need be, or `NONE`.
    pub(super) fn record_beat(&mut self, ring: u32, first: u64, t: u64, hosts: u32) -> u32 {
        let offset = (t.saturating_sub(first) / NS_PER_DS).min(u64::from(u32::MAX)) as u32;
        if ring != NONE {
            let r = self.data.rings.get_mut(ring);
            if r.last()
                .is_none_or(|last| offset.saturating_sub(last) >= BEAT_GAP_DS)
            {
                r.push(offset);
                if r.scored {
                    r.scored = false;
                    self.dirty_rings.push(ring);
                }
            }
            return ring;
        }
        if offset < BEAT_GAP_DS || self.pressure != Pressure::Normal || hosts > RING_MAX_HOSTS {
            return NONE;
        }
        let ring = match self.data.free_rings.pop() {
            Some(r) => {
                *self.data.rings.get_mut(r) = Ring::EMPTY;
                r
            }
            None => {
                if self.data.rings.is_full() && self.over_budget(Chunked::<Ring>::chunk_bytes()) {
                    return NONE;
                }
                self.data.rings.push(Ring::EMPTY)
            }
        };
        let r = self.data.rings.get_mut(ring);
        // The first query is beat zero.
        r.push(0);
        r.push(offset);
        self.dirty_rings.push(ring);
        ring
    }
}
