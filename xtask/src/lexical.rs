//! `cargo xtask train-lexical`: trains the lexical randomness model that
//! `dnsrare` embeds (`capture-core/data/lexical-model.bin`).
//!
//! Input: a list of popular domains, `rank,domain` per line after a header
//! (by default `../shared/data/names/benign_alexa_top10k.csv`, which is read
//! in place and never copied into the repository). Each domain is cut to
//! the labels left of its public suffix by a simple rule (below), labels are
//! deduplicated, and:
//!
//! 1. a character 4-gram model is counted over them and smoothed by
//!    interpolated Kneser–Ney (4-gram → trigram → bigram → unigram →
//!    uniform), then stored as costs in sixteenths of a bit: a dense
//!    order-3 table plus the 4-grams seen more than the discount;
//! 2. the logistic weights that turn the features into `randomness` are
//!    fitted (Newton's method, light L2 penalty) on out-of-fold features of
//!    the popular labels (5 folds, each scored by a table built without it)
//!    against generated random labels (uniform letters, letters and digits,
//!    hexadecimal), so that they do not reward the model for remembering
//!    its own training names.
//!
//! The file format and the feature arithmetic live in
//! `capture-core/src/score/lexical/model.rs`, which this file includes with
//! `#[path]` (the model file is all xtask needs of the core), so training and the
//! runtime scorer cannot disagree.

#[path = "../../capture-core/src/score/lexical/model.rs"]
mod model;

use std::{
    collections::BTreeSet,
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, anyhow, bail};

/// Options of `cargo xtask train-lexical`.
#[derive(clap::Args)]
pub struct TrainArgs {
    /// Popular domains, `rank,domain` per line after a header
    /// [default: ../shared/data/names/benign_alexa_top10k.csv].
    #[arg(long)]
    input: Option<PathBuf>,
    /// Where to write the model [default: capture-core/data/lexical-model.bin].
    #[arg(long)]
    output: Option<PathBuf>,
}

/// Second-level labels under which popular country domains register
/// (`bbc.co.uk`, `sina.com.cn`, `gov.br`): the simple public-suffix rule
/// used for training. The runtime scorer receives labels already cut by
/// the `psl` crate.
const GENERIC_SECOND_LEVEL: &[&str] = &[
    "ac", "co", "com", "edu", "gc", "go", "gob", "gouv", "gov", "gv", "in", "mil", "ne", "net",
    "nic", "or", "org",
];

/// Folds for the out-of-fold features the weights are fitted on.
const FOLDS: usize = 5;
/// The Kneser–Ney discount. With 1, a 4-gram seen once costs exactly its
/// backoff, so only 4-grams seen twice or more are stored; the held-out
/// cost on the Alexa list (3.578 bits per symbol) is about 0.01 bit above
/// that of the best discount (0.9, storing every 4-gram).
const DISCOUNT: f64 = 1.0;
/// L2 penalty on the standardised weights (not on the bias).
const L2: f64 = 1e-3;

/// Trains the model and writes it.
pub fn train(root: &Path, args: &TrainArgs) -> Result<()> {
    let input = args
        .input
        .clone()
        .unwrap_or_else(|| root.join("../shared/data/names/benign_alexa_top10k.csv"));
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| root.join("capture-core/data/lexical-model.bin"));
    let labels = read_labels(&input)?;
    eprintln!(
        "xtask: {} distinct labels from {}",
        labels.len(),
        input.display()
    );

    // Out-of-fold features of the popular labels (and their total cost,
    // the held-out measure of the smoothing), then the full model.
    let mut benign = Vec::with_capacity(labels.len());
    let (mut held_out_cost, mut held_out_predictions) = (0u64, 0u64);
    for fold in 0..FOLDS {
        let (held_out, counted): (Vec<_>, Vec<_>) = labels
            .iter()
            .enumerate()
            .partition(|(i, _)| i % FOLDS == fold);
        let body = Counts::from_labels(counted.into_iter().map(|(_, label)| label)).body()?;
        let file = encode(&[0.0; model::WEIGHTS], &body);
        let table = parse(&file)?;
        let dense = table.dense();
        for (_, label) in held_out {
            benign.push(dense.features(label));
            for (context, d) in model::Predictions::new(label) {
                held_out_cost += u64::from(table.cost(context, d));
                held_out_predictions += 1;
            }
        }
    }
    let body = Counts::from_labels(labels.iter()).body()?;
    let unweighted = encode(&[0.0; model::WEIGHTS], &body);
    let table = parse(&unweighted)?.dense();
    let mut rng = SplitMix64(0x646e_7372_6172_6531);
    let random: Vec<model::Features> = (0..labels.len())
        .map(|_| table.features(&random_label(&mut rng)))
        .collect();

    let weights = fit(&random, &benign);
    let file = encode(&weights, &body);
    let model = parse(&file)?.dense();
    let score = |features: &[model::Features]| -> Vec<f32> {
        features.iter().map(|f| model.randomness(f)).collect()
    };
    let auc = model::roc_auc(&score(&random), &score(&benign));
    let fresh: Vec<f32> = (0..labels.len())
        .map(|_| model.randomness(&model.features(&random_label(&mut rng))))
        .collect();
    let fresh_auc = model::roc_auc(&fresh, &score(&benign));
    eprintln!(
        "xtask: held-out popular labels cost {:.3} bits per symbol ({FOLDS} folds)",
        held_out_cost as f64 / f64::from(model::COST_SCALE) / held_out_predictions as f64
    );
    eprintln!("xtask: weights (inputs then bias) {weights:?}");
    eprintln!(
        "xtask: AUC random vs held-out popular labels: {auc:.4} (fitted on), {fresh_auc:.4} (fresh random labels)"
    );
    fs::write(&output, &file).with_context(|| format!("cannot write {}", output.display()))?;
    eprintln!("xtask: wrote {} ({} bytes)", output.display(), file.len());
    Ok(())
}

/// The distinct labels left of the public suffix of the domains in the
/// `rank,domain` file `input`, sorted.
fn read_labels(input: &Path) -> Result<Vec<String>> {
    let text = fs::read_to_string(input)
        .with_context(|| format!("cannot read the training domains {}", input.display()))?;
    let labels: BTreeSet<String> = text
        .lines()
        .skip(1)
        .filter_map(|line| line.split(',').nth(1))
        .filter_map(|domain| labels_left_of_suffix(&domain.trim().to_ascii_lowercase()))
        .collect();
    if labels.len() < 1000 {
        bail!(
            "{} gives only {} distinct labels; expected a list of popular domains",
            input.display(),
            labels.len()
        );
    }
    Ok(labels.into_iter().collect())
}

/// The labels left of the public suffix of `domain` by the simple rule:
/// drop the last label, then a [`GENERIC_SECOND_LEVEL`] label before it.
/// `None` for IPv4 literals and names without a registrable part.
fn labels_left_of_suffix(domain: &str) -> Option<String> {
    let domain = domain.trim_end_matches('.');
    if domain
        .split('.')
        .all(|l| l.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let (rest, _tld) = domain.rsplit_once('.')?;
    let rest = match rest.rsplit_once('.') {
        Some((left, second)) if GENERIC_SECOND_LEVEL.contains(&second) => left,
        _ => rest,
    };
    (!rest.is_empty()).then(|| rest.to_owned())
}

fn parse(file: &[u8]) -> Result<model::Table<'_>> {
    model::Table::parse(file).map_err(|e| anyhow!(e.message()))
}

/// The model file: magic, weights, then `body` (layout in `model.rs`).
fn encode(weights: &[f32; model::WEIGHTS], body: &[u8]) -> Vec<u8> {
    let mut file = Vec::with_capacity(model::MAGIC.len() + 4 * model::WEIGHTS + body.len());
    file.extend_from_slice(&model::MAGIC);
    for w in weights {
        file.extend_from_slice(&w.to_le_bytes());
    }
    file.extend_from_slice(body);
    file
}

/// 4-gram counts, indexed `index(a, b, c) × 40 + d`.
struct Counts {
    fourgrams: Vec<u32>,
}

impl Counts {
    /// Counts the 4-grams of `labels`.
    fn from_labels<'a>(labels: impl Iterator<Item = &'a String>) -> Self {
        let mut fourgrams = vec![0; model::TABLE_LEN * model::SYMBOLS];
        for label in labels {
            for ([a, b, c], d) in model::Predictions::new(label) {
                fourgrams[model::index(a, b, c) * model::SYMBOLS + usize::from(d)] += 1;
            }
        }
        Self { fourgrams }
    }

    /// The model file after its weights (layout in `model.rs`), smoothed by
    /// interpolated Kneser–Ney with one discount `D`:
    /// P(d|abc) = (max(C(abcd) − D, 0) + D·T(abc)·P(d|bc)) / C(abc), where
    /// C(abc) sums C(abc·) and T(abc) counts the distinct symbols seen after
    /// abc; P(d|bc), P(d|c) and P(d) are built the same way from
    /// continuation counts (the number of distinct symbols seen before
    /// bcd, cd, d), and P(d) backs off to the uniform 1/40. A context never
    /// seen falls back to the lower order entirely.
    ///
    /// Only 4-grams counted more than `D` times are stored: the others get
    /// exactly the context's backoff D·T(abc)/C(abc) times P(d|bc), which
    /// is what an unlisted follower costs. A context with no stored
    /// follower and no backoff cost is left out (it equals the lower order).
    fn body(&self) -> Result<Vec<u8>> {
        const S: usize = model::SYMBOLS;
        let mut n3 = vec![0u32; model::TABLE_LEN];
        for (i, &n) in self.fourgrams.iter().enumerate() {
            n3[i % model::TABLE_LEN] += u32::from(n > 0);
        }
        let mut n2 = vec![0u32; model::PAIRS];
        for (i, &n) in n3.iter().enumerate() {
            n2[i % model::PAIRS] += u32::from(n > 0);
        }
        let mut n1 = vec![0u32; S];
        for (i, &n) in n2.iter().enumerate() {
            n1[i % S] += u32::from(n > 0);
        }
        let p1 = interpolate(&n1, &[1.0 / S as f64; S]);
        let p2: Vec<Vec<f64>> = n2.chunks(S).map(|row| interpolate(row, &p1)).collect();
        let p3: Vec<Vec<f64>> = n3
            .chunks(S)
            .enumerate()
            .map(|(bc, row)| interpolate(row, &p2[bc % S]))
            .collect();

        let mut body: Vec<u8> = p3.iter().flatten().map(|&p| cost(p)).collect();
        let mut pairs = Vec::with_capacity(model::PAIRS + 1);
        let mut contexts = Vec::new();
        let mut followers = Vec::new();
        let as_u32 = |n: usize, what: &str| {
            u32::try_from(n).with_context(|| format!("too many {what} for the model format: {n}"))
        };
        for (abc, row) in self.fourgrams.chunks(S).enumerate() {
            if abc % S == 0 {
                pairs.push(as_u32(contexts.len() / model::CONTEXT_LEN, "contexts")?);
            }
            let total: u32 = row.iter().sum();
            if total == 0 {
                continue;
            }
            let types = row.iter().filter(|&&n| n > 0).count() as f64;
            let backoff = DISCOUNT * types / f64::from(total);
            let first_follower = as_u32(followers.len() / 2, "followers")?;
            for (d, &n) in row.iter().enumerate() {
                if f64::from(n) > DISCOUNT {
                    let p = (f64::from(n) - DISCOUNT) / f64::from(total)
                        + backoff * p3[abc % model::PAIRS][d];
                    followers.extend([d as u8, cost(p)]);
                }
            }
            if followers.len() / 2 == first_follower as usize && cost(backoff) == 0 {
                continue;
            }
            contexts.extend([(abc % S) as u8, cost(backoff)]);
            contexts.extend(first_follower.to_le_bytes());
        }
        pairs.push(as_u32(contexts.len() / model::CONTEXT_LEN, "contexts")?);
        contexts.extend([0, 0]);
        contexts.extend(as_u32(followers.len() / 2, "followers")?.to_le_bytes());
        for first in pairs {
            body.extend(first.to_le_bytes());
        }
        body.extend(contexts);
        body.extend(followers);
        Ok(body)
    }
}

/// The stored cost of probability `p`: `−log2 p` in sixteenths of a bit,
/// rounded, capped at 255.
fn cost(p: f64) -> u8 {
    (-p.log2() * f64::from(model::COST_SCALE))
        .round()
        .clamp(0.0, 255.0) as u8
}

/// One Kneser–Ney step: the distribution after a context whose followers
/// were counted `seen` times, discounted and interpolated with `lower`.
fn interpolate(seen: &[u32], lower: &[f64]) -> Vec<f64> {
    let total: u32 = seen.iter().sum();
    let types = seen.iter().filter(|&&n| n > 0).count() as f64;
    seen.iter()
        .zip(lower)
        .map(|(&n, &p)| {
            if total == 0 {
                p
            } else {
                ((f64::from(n) - DISCOUNT).max(0.0) + DISCOUNT * types * p) / f64::from(total)
            }
        })
        .collect()
}

/// Logistic regression of "random" (1) against "popular" (0) on the
/// model's inputs, by Newton's method on standardised inputs; returns raw
/// weights with the bias last.
fn fit(random: &[model::Features], popular: &[model::Features]) -> [f32; model::WEIGHTS] {
    const K: usize = model::INPUTS;
    let rows: Vec<([f64; K], f64)> = random
        .iter()
        .map(|f| (f, 1.0))
        .chain(popular.iter().map(|f| (f, 0.0)))
        .map(|(f, y)| (f.inputs().map(f64::from), y))
        .collect();
    let n = rows.len() as f64;
    let mut mean = [0.0; K];
    let mut sd = [0.0; K];
    for (x, _) in &rows {
        for k in 0..K {
            mean[k] += x[k] / n;
        }
    }
    for (x, _) in &rows {
        for k in 0..K {
            sd[k] += (x[k] - mean[k]).powi(2) / n;
        }
    }
    let sd = sd.map(|v| if v > 0.0 { v.sqrt() } else { 1.0 });
    let standard: Vec<([f64; K + 1], f64)> = rows
        .iter()
        .map(|(x, y)| {
            let mut z = [1.0; K + 1];
            for k in 0..K {
                z[k] = (x[k] - mean[k]) / sd[k];
            }
            (z, *y)
        })
        .collect();
    let mut beta = [0.0f64; K + 1];
    for _ in 0..50 {
        let mut gradient = [0.0f64; K + 1];
        let mut hessian = [[0.0f64; K + 1]; K + 1];
        for (z, y) in &standard {
            let t: f64 = z.iter().zip(&beta).map(|(a, b)| a * b).sum();
            let p = 1.0 / (1.0 + (-t).exp());
            let w = (p * (1.0 - p)).max(1e-12);
            for i in 0..=K {
                gradient[i] += (p - y) * z[i];
                for j in 0..=K {
                    hessian[i][j] += w * z[i] * z[j];
                }
            }
        }
        for k in 0..K {
            gradient[k] += L2 * n * beta[k];
            hessian[k][k] += L2 * n;
        }
        let step = solve(hessian, gradient);
        let mut largest = 0.0f64;
        for (b, s) in beta.iter_mut().zip(step) {
            *b -= s;
            largest = largest.max(s.abs());
        }
        if largest < 1e-9 {
            break;
        }
    }
    let mut weights = [0.0f32; model::WEIGHTS];
    let mut bias = beta[K];
    for k in 0..K {
        weights[k] = (beta[k] / sd[k]) as f32;
        bias -= beta[k] * mean[k] / sd[k];
    }
    weights[K] = bias as f32;
    weights
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting (`a` is
/// positive definite here, so pivots do not vanish).
fn solve<const N: usize>(mut a: [[f64; N]; N], mut b: [f64; N]) -> [f64; N] {
    for col in 0..N {
        let pivot = (col..N)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        b.swap(col, pivot);
        let pivot_row = a[col];
        for row in col + 1..N {
            let f = a[row][col] / pivot_row[col];
            for (x, p) in a[row][col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0; N];
    for row in (0..N).rev() {
        let s: f64 = (row + 1..N).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    x
}

/// A random label as a domain generation algorithm might make one: uniform
/// letters (6–20), letters and digits (6–24) or hexadecimal (8–32).
fn random_label(rng: &mut SplitMix64) -> String {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    const HEX: &[u8] = b"0123456789abcdef";
    let (alphabet, min, max) = match rng.below(3) {
        0 => (LETTERS, 6, 20),
        1 => (ALNUM, 6, 24),
        _ => (HEX, 8, 32),
    };
    let len = min + rng.below(max - min + 1);
    (0..len)
        .map(|_| char::from(alphabet[rng.below(alphabet.len())]))
        .collect()
}

/// SplitMix64: a small deterministic generator, so training is repeatable.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n ≥ 1; the modulo bias is negligible here).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
