//! Cost of beacon scoring: `score` over 64 arrivals (the most it looks at).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use dnsrare_core::score::beacon::score;

const NS_PER_S: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * NS_PER_S;

/// xorshift64: deterministic bench input.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// 64 arrivals of a 300 s beacon with ±5 % jitter and ~20 % missed beats.
fn jittered_beacon() -> [u64; 64] {
    let mut rng = 0x5EED_u64;
    let (mut t, mut out, mut n) = (T0, [0u64; 64], 0);
    while n < 64 {
        if n == 0 || !next(&mut rng).is_multiple_of(5) {
            out[n] = t;
            n += 1;
        }
        t += 285 * NS_PER_S + next(&mut rng) % (30 * NS_PER_S);
    }
    out
}

/// 64 Poisson arrivals, mean 300 s.
fn poisson() -> [u64; 64] {
    let mut rng = 0xC0FFEE_u64;
    let mut t = T0;
    std::array::from_fn(|_| {
        let u = (next(&mut rng) >> 11) as f64 / (1u64 << 53) as f64;
        t += (-(1.0 - u).ln() * 300e9) as u64;
        t
    })
}

fn bench(c: &mut Criterion) {
    let beacon = jittered_beacon();
    let random = poisson();
    c.bench_function("beacon::score 64 arrivals, jittered beacon", |b| {
        b.iter(|| score(black_box(&beacon)));
    });
    c.bench_function("beacon::score 64 arrivals, poisson", |b| {
        b.iter(|| score(black_box(&random)));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
