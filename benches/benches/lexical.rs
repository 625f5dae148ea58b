//! Time per name of the lexical randomness score
//! (`dnsrare_core::score::lexical`): `cargo bench -p dnsrare-benches --bench lexical`.
//!
//! The names are generated here, not read from shared data: ordinary labels
//! made of common words ("dailynews", "mybank") and random labels of letters
//! and digits as a domain generation algorithm makes them, half and half.
//! Criterion reports the time per batch of [`BATCH`] names and the names per
//! second.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dnsrare_core::score::lexical::LexicalModel;

/// Names scored per iteration.
const BATCH: usize = 1000;

/// Common words, joined into ordinary labels.
const WORDS: &str = "mail news shop cloud online web tech my the best daily world media bank \
    games music photo travel home live google facebook wikipedia amazon weather sport store api \
    cdn www";

/// SplitMix64: a small deterministic generator, so every run scores the
/// same names.
struct SplitMix64(u64);

impl SplitMix64 {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

/// An ordinary label: one to three common words run together.
fn ordinary(rng: &mut SplitMix64) -> String {
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    (0..1 + rng.below(3))
        .map(|_| words[rng.below(words.len())])
        .collect()
}

/// A random label of 8 to 24 letters and digits.
fn random(rng: &mut SplitMix64) -> String {
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..8 + rng.below(17))
        .map(|_| char::from(ALNUM[rng.below(ALNUM.len())]))
        .collect()
}

fn names(rng: &mut SplitMix64, generate: impl Fn(&mut SplitMix64) -> String) -> Vec<String> {
    (0..BATCH).map(|_| generate(rng)).collect()
}

fn bench_lexical(c: &mut Criterion) {
    let model = LexicalModel::embedded();
    let mut rng = SplitMix64(0x6c65_7869_6361_6c21);
    let sets = [
        ("ordinary", names(&mut rng, ordinary)),
        ("random", names(&mut rng, random)),
        (
            "mixed",
            names(&mut rng, |rng| {
                if rng.below(2) == 0 {
                    ordinary(rng)
                } else {
                    random(rng)
                }
            }),
        ),
    ];
    let mut group = c.benchmark_group("lexical_score");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (label, set) in &sets {
        group.bench_function(*label, |b| {
            b.iter(|| {
                for name in set {
                    black_box(model.score(black_box(name)));
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_lexical);
criterion_main!(benches);
