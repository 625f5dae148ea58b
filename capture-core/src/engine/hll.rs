//! A HyperLogLog sketch (Flajolet et al. 2007, with linear counting for
//! small cardinalities): estimates how many distinct names were folded into
//! an exploded domain's aggregate row, in 1 KiB, without storing the names.

use serde::{Deserialize, Serialize};

/// Register index bits: 2^10 registers, standard error about 3.2%.
const P: u32 = 10;
const M: usize = 1 << P;

/// A distinct-count sketch over 64-bit hashes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hll {
    registers: Vec<u8>,
}

impl Default for Hll {
    fn default() -> Self {
        Self {
            registers: vec![0; M],
        }
    }
}

impl Hll {
    /// Adds an element by its 64-bit hash (re-mixed here: table hashes
    /// need not have uniform high bits).
    pub fn add(&mut self, hash: u64) {
        let hash = mix(hash);
        let index = (hash >> (64 - P)) as usize;
        // Rank of the first set bit in the remaining bits, 1-based.
        let rest = (hash << P) | (1 << (P - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        if let Some(r) = self.registers.get_mut(index) {
            *r = (*r).max(rank);
        }
    }

    /// The estimated number of distinct elements added.
    pub fn estimate(&self) -> u64 {
        let m = M as f64;
        let (sum, zeros) = self.registers.iter().fold((0.0f64, 0usize), |(s, z), &r| {
            (s + 2f64.powi(-i32::from(r)), z + usize::from(r == 0))
        });
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let raw = alpha * m * m / sum;
        let estimate = if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        estimate.round() as u64
    }

    /// Whether it has the register count this build uses (a check for
    /// sketches read from a snapshot).
    pub fn is_valid(&self) -> bool {
        self.registers.len() == M
    }

    /// Bytes this sketch holds.
    pub fn bytes(&self) -> usize {
        self.registers.capacity()
    }
}

/// MurmurHash3's 64-bit finalizer.
fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn estimates_within_a_few_percent() {
        let h = foldhash::fast::FixedState::with_seed(7);
        for n in [0u64, 1, 10, 1_000, 100_000, 1_000_000] {
            let mut hll = Hll::default();
            for i in 0..n {
                hll.add(h.hash_one(i));
                hll.add(h.hash_one(i)); // duplicates do not count
            }
            let e = hll.estimate() as f64;
            let err = if n == 0 {
                e
            } else {
                (e - n as f64).abs() / n as f64
            };
            assert!(err < if n < 100 { 0.1 } else { 0.05 }, "n={n} estimate={e}");
        }
    }
}
