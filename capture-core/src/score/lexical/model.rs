//! The lexical model's file format and feature arithmetic: the part that
//! the runtime scorer (`capture-user/src/score/lexical.rs`) and the training
//! step (`xtask/src/lexical.rs`, which includes this very file with
//! `#[path]`) must agree on byte for byte. Plain `std`, no dependencies.
//!
//! # Symbols
//!
//! A label is read as a sequence of symbols: `0` is the label boundary,
//! `1..=26` are `a`–`z` (upper case folds to lower), `27..=36` are `0`–`9`,
//! `37` is `-`, `38` is `_`, and `39` stands for any other character — a
//! `\DDD` or `\X` escape as the name decoder writes it, or one non-ASCII
//! character, counts once. A `.` separates labels; empty labels are
//! skipped. The model predicts each character of a label from the three
//! symbols before it (boundaries before the label's start), then the
//! label's end (a boundary) from its last three.
//!
//! # Costs
//!
//! A cost is `−log2 P` in sixteenths of a bit, rounded and capped at 255
//! per stored byte. The probabilities are a 4-gram model; P(d | a b c) is
//! looked up as:
//! - if the context `a b c` is stored and `d` is one of its followers, the
//!   follower's own cost;
//! - if the context is stored but `d` is not among its followers, the
//!   context's backoff cost plus the order-3 cost of `d` after `b c`;
//! - otherwise the order-3 cost of `d` after `b c`.
//!
//! # File format (`capture-user/data/lexical-model.bin`, version 1)
//!
//! All integers little-endian. With `K` contexts and `F` followers:
//!
//! | offset         | size          | content                                          |
//! |----------------|---------------|--------------------------------------------------|
//! | 0              | 8             | magic `DNSRLEX1`                                 |
//! | 8              | 4 × 6         | logistic weights, `f32`, bias last               |
//! | 32             | 40³ = 64 000  | order-3 costs, `u8`: `d` after `b c` at `(b × 40 + c) × 40 + d` |
//! | 64 032         | 4 × 1 601     | `u32` per symbol pair `a b` at `a × 40 + b`: index of its first context; entry 1 600 = `K` |
//! | 70 436         | 6 × (`K` + 1) | contexts, sorted by `a b` then `c`: `c` `u8`, backoff cost `u8`, index of its first follower `u32`; a last entry `0, 0, F` closes the list |
//! | 70 442 + 6`K`  | 2 × `F`       | followers, per context sorted by symbol: `d` `u8`, cost `u8` |
//!
//! A context's followers run from its first-follower index to the next
//! entry's. The weights multiply [`Features::inputs`] in order.

/// Number of symbols: boundary, `a`–`z`, `0`–`9`, `-`, `_`, other.
pub const SYMBOLS: usize = 40;
/// The label boundary symbol.
pub const BOUNDARY: u8 = 0;
/// The symbol for any character outside `[a-z0-9_-]`.
const OTHER: u8 = 39;
/// Entries of the dense order-3 table.
pub const TABLE_LEN: usize = SYMBOLS * SYMBOLS * SYMBOLS;
/// Symbol pairs, the first level of the 4-gram index.
pub const PAIRS: usize = SYMBOLS * SYMBOLS;
/// Costs are in units of 1/`COST_SCALE` bit.
pub const COST_SCALE: f32 = 16.0;
/// Number of inputs to the logistic combination ([`Features::inputs`]).
pub const INPUTS: usize = 5;
/// Logistic weights in the file: one per input, then the bias.
pub const WEIGHTS: usize = INPUTS + 1;
/// The magic bytes at the start of the file (format version 1).
pub const MAGIC: [u8; 8] = *b"DNSRLEX1";
/// Bytes per context entry.
pub const CONTEXT_LEN: usize = 6;

/// Why bytes are not a model file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatError {
    /// The file is cut short or has bytes left over.
    Length,
    /// The file does not start with [`MAGIC`].
    Magic,
}

impl FormatError {
    /// What is wrong, in words.
    pub const fn message(self) -> &'static str {
        match self {
            Self::Length => "lexical model file is cut short or too long",
            Self::Magic => "lexical model file does not start with DNSRLEX1",
        }
    }
}

/// A parsed model file: weights copied out, tables borrowed.
#[derive(Clone, Copy)]
pub struct Table<'a> {
    weights: [f32; WEIGHTS],
    order3: &'a [u8; TABLE_LEN],
    pairs: &'a [[u8; 4]],
    contexts: &'a [[u8; CONTEXT_LEN]],
    followers: &'a [[u8; 2]],
}

impl std::fmt::Debug for Table<'_> {
    /// The weights and the table sizes, not the tables' 100 kB of costs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("weights", &self.weights)
            .field("contexts", &self.contexts.len().saturating_sub(1))
            .field("followers", &self.followers.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Table<'a> {
    /// Parses a model file. Usable in a `const` context, so the embedded
    /// model is checked when the binary is compiled. Only sizes are
    /// checked; lookups never index out of bounds whatever the contents.
    pub const fn parse(bytes: &'a [u8]) -> Result<Self, FormatError> {
        let Some((magic, mut rest)) = bytes.split_first_chunk::<8>() else {
            return Err(FormatError::Length);
        };
        let mut m = 0;
        while m < MAGIC.len() {
            if magic[m] != MAGIC[m] {
                return Err(FormatError::Magic);
            }
            m += 1;
        }
        let mut weights = [0.0f32; WEIGHTS];
        let mut w = 0;
        while w < WEIGHTS {
            let Some((word, tail)) = rest.split_first_chunk::<4>() else {
                return Err(FormatError::Length);
            };
            weights[w] = f32::from_le_bytes(*word);
            rest = tail;
            w += 1;
        }
        let Some((order3, rest)) = rest.split_first_chunk::<TABLE_LEN>() else {
            return Err(FormatError::Length);
        };
        let Some((pairs, rest)) = rest.split_at_checked(4 * (PAIRS + 1)) else {
            return Err(FormatError::Length);
        };
        let (pairs, _) = pairs.as_chunks::<4>();
        let contexts = u32::from_le_bytes(pairs[PAIRS]) as usize;
        let context_bytes = match contexts.checked_add(1) {
            Some(entries) => entries.checked_mul(CONTEXT_LEN),
            None => None,
        };
        let Some(context_bytes) = context_bytes else {
            return Err(FormatError::Length);
        };
        let Some((contexts, followers)) = rest.split_at_checked(context_bytes) else {
            return Err(FormatError::Length);
        };
        let (contexts, _) = contexts.as_chunks::<CONTEXT_LEN>();
        let (followers, odd) = followers.as_chunks::<2>();
        // The closing context entry's first-follower index is `F`.
        let Some(closing) = contexts.last() else {
            return Err(FormatError::Length);
        };
        if !odd.is_empty() || first_follower(closing) != followers.len() {
            return Err(FormatError::Length);
        }
        Ok(Self {
            weights,
            order3,
            pairs,
            contexts,
            followers,
        })
    }

    /// The cost of symbol `d` after the symbols `[a, b, c]`.
    pub fn cost(&self, [a, b, c]: [u8; 3], d: u8) -> u32 {
        let order3 = u32::from(self.order3.get(index(b, c, d)).copied().unwrap_or(u8::MAX));
        match self.stored([a, b, c]) {
            None => order3,
            Some((backoff, followers)) => follower_cost(u32::from(backoff) + order3, followers, d),
        }
    }

    /// The context `a b c` as stored: its backoff cost and its followers
    /// (`None` when their range is not in the file); `None` when the
    /// context is not stored.
    fn stored(&self, [a, b, c]: [u8; 3]) -> Option<(u8, Option<&'a [[u8; 2]]>)> {
        let pair = usize::from(a) * SYMBOLS + usize::from(b);
        let (first, pair_contexts) = self.pair_contexts(pair)?;
        let i = pair_contexts
            .binary_search_by_key(&c, |entry| entry[0])
            .ok()?;
        let context = self.contexts.get(first + i)?;
        let next = self.contexts.get(first + i + 1)?;
        Some((
            context[1],
            self.followers
                .get(first_follower(context)..first_follower(next)),
        ))
    }

    /// The contexts stored for the symbol pair `pair` (`a × 40 + b`), with
    /// the index of the first; `None` when the file's range is not in it.
    fn pair_contexts(&self, pair: usize) -> Option<(usize, &'a [[u8; CONTEXT_LEN]])> {
        let first = u32::from_le_bytes(*self.pairs.get(pair)?) as usize;
        let end = u32::from_le_bytes(*self.pairs.get(pair + 1)?) as usize;
        Some((first, self.contexts.get(first..end)?))
    }

    /// The logistic combination of `features` in `[0, 1]`; 0 for a name
    /// without characters.
    pub fn randomness(&self, features: &Features) -> f32 {
        if features.length == 0 {
            return 0.0;
        }
        let (bias, weights) = match self.weights.split_last() {
            Some((bias, weights)) => (*bias, weights),
            None => (0.0, &[][..]),
        };
        let z: f32 = bias
            + weights
                .iter()
                .zip(features.inputs())
                .map(|(w, x)| w * x)
                .sum::<f32>();
        let r = 1.0 / (1.0 + (-z).exp());
        if r.is_nan() { 0.0 } else { r }
    }
}

/// A [`Table`] with its 4-gram costs laid out for one lookup per symbol:
/// each stored context's costs for every next symbol in a row (its
/// followers' own costs, the backoff for the rest), and a dense index from
/// a context to its row. Gives the same costs as [`Table::cost`], without
/// its two binary searches; about 440 kB for the embedded model.
#[derive(Clone, Debug)]
pub struct Dense<'a> {
    table: Table<'a>,
    /// Row number plus one of each context `a b c` (at `index(a, b, c)`),
    /// 0 when the context is not stored.
    rows_of: Vec<u16>,
    rows: Vec<[u16; SYMBOLS]>,
}

impl<'a> Table<'a> {
    /// The table with its costs laid out for lookups ([`Dense`]).
    pub fn dense(self) -> Dense<'a> {
        let mut rows_of = vec![0u16; TABLE_LEN];
        let mut rows = Vec::new();
        // Every stored context `a b c`, looked up as `cost` looks it up (in
        // a malformed file that entry need not be the one listed, and a
        // context listed twice gets one row); at most 40³ rows, so a row
        // number fits in a `u16`.
        for pair in 0..PAIRS {
            let [a, b] = [pair / SYMBOLS, pair % SYMBOLS].map(|s| s as u8);
            let listed = self.pair_contexts(pair).map_or(&[][..], |(_, cs)| cs);
            // A symbol past the alphabet (a malformed file) would index
            // another context's row; `cost` never asks for it here.
            for &[c, ..] in listed
                .iter()
                .filter(|entry| usize::from(entry[0]) < SYMBOLS)
            {
                let row_of = &mut rows_of[index(a, b, c)];
                if *row_of != 0 {
                    continue;
                }
                let Some((backoff, followers)) = self.stored([a, b, c]) else {
                    continue;
                };
                let mut costs = [0u16; SYMBOLS];
                for (d, cost) in costs.iter_mut().enumerate() {
                    let order3 = u32::from(self.order3[index(b, c, d as u8)]);
                    let own = follower_cost(u32::from(backoff) + order3, followers, d as u8);
                    *cost = u16::try_from(own).unwrap_or(u16::MAX);
                }
                rows.push(costs);
                *row_of = u16::try_from(rows.len()).unwrap_or(0);
            }
        }
        Dense {
            table: self,
            rows_of,
            rows,
        }
    }
}

impl Dense<'_> {
    /// The cost of symbol `d` after the symbols `[a, b, c]`: the same as
    /// [`Table::cost`].
    pub fn cost(&self, [a, b, c]: [u8; 3], d: u8) -> u32 {
        if [a, b, c, d].iter().any(|&s| usize::from(s) >= SYMBOLS) {
            return self.table.cost([a, b, c], d);
        }
        let row = self.rows_of[index(a, b, c)];
        match self.rows.get(usize::from(row).wrapping_sub(1)) {
            Some(costs) => u32::from(costs[usize::from(d)]),
            None => u32::from(self.table.order3[index(b, c, d)]),
        }
    }

    /// The features of `labels` (one or more dotted labels). Never panics
    /// and never allocates.
    pub fn features(&self, labels: &str) -> Features {
        features(labels, |context, d| self.cost(context, d))
    }

    /// The logistic combination of `features` ([`Table::randomness`]).
    pub fn randomness(&self, features: &Features) -> f32 {
        self.table.randomness(features)
    }
}

/// The features of `labels` (one or more dotted labels), with `cost` the
/// cost of a symbol after its context. Never panics and never allocates.
fn features(labels: &str, cost_of: impl Fn([u8; 3], u8) -> u32) -> Features {
    // Counters in `usize` cannot overflow: each step adds at most one
    // per byte of `labels`.
    let mut counts = [0usize; SYMBOLS];
    let mut cost: u64 = 0;
    let (mut predictions, mut chars, mut digits) = (0usize, 0usize, 0usize);
    let (mut run, mut longest_run) = (0usize, 0usize);
    for (context, d) in Predictions::new(labels) {
        cost += u64::from(cost_of(context, d));
        predictions += 1;
        if d == BOUNDARY {
            run = 0;
            continue;
        }
        if let Some(count) = counts.get_mut(usize::from(d)) {
            *count += 1;
        }
        chars += 1;
        if is_digit(d) {
            digits += 1;
        }
        run = if is_consonant(d) { run + 1 } else { 0 };
        longest_run = longest_run.max(run);
    }
    if chars == 0 {
        return Features::default();
    }
    let n = chars as f32;
    let sum_c_log_c: f32 = counts
        .iter()
        .filter(|&&c| c > 1)
        .map(|&c| {
            let c = c as f32;
            c * c.log2()
        })
        .sum();
    Features {
        bits_per_symbol: cost as f32 / COST_SCALE / predictions as f32,
        length: chars,
        digit_ratio: digits as f32 / n,
        entropy: (n.log2() - sum_c_log_c / n).max(0.0),
        longest_consonant_run: longest_run,
    }
}

/// The cost of `d` after a stored context with these `followers`: its
/// own cost if it is one of them, else `backoff` (the context's backoff
/// plus the order-3 cost).
fn follower_cost(backoff: u32, followers: Option<&[[u8; 2]]>, d: u8) -> u32 {
    let Some(followers) = followers else {
        return backoff;
    };
    match followers.binary_search_by_key(&d, |follower| follower[0]) {
        Ok(j) => followers
            .get(j)
            .map_or(backoff, |follower| u32::from(follower[1])),
        Err(_) => backoff,
    }
}

/// The first-follower index of a context entry.
const fn first_follower(entry: &[u8; CONTEXT_LEN]) -> usize {
    u32::from_le_bytes([entry[2], entry[3], entry[4], entry[5]]) as usize
}

/// The plain features of one or more labels.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Features {
    /// Mean cost per predicted symbol in bits (each character, plus each
    /// label's end): `−log2` of the geometric-mean probability.
    pub bits_per_symbol: f32,
    /// Characters, dots excluded, an escape counting once.
    pub length: usize,
    /// Share of characters that are digits.
    pub digit_ratio: f32,
    /// Shannon entropy of the character distribution, bits per character.
    pub entropy: f32,
    /// Longest run of consonants (letters other than a e i o u) in a label.
    pub longest_consonant_run: usize,
}

impl Features {
    /// The inputs of the logistic combination, in the order of the weights.
    pub fn inputs(&self) -> [f32; INPUTS] {
        let Self {
            bits_per_symbol,
            length,
            digit_ratio,
            entropy,
            longest_consonant_run,
        } = *self;
        [
            bits_per_symbol,
            (length as f32).ln_1p(),
            digit_ratio,
            entropy,
            longest_consonant_run.min(16) as f32,
        ]
    }
}

/// Area under the ROC curve of `positives` against `negatives`: the chance
/// that a random positive scores above a random negative, ties counting
/// half (the Mann–Whitney statistic). NaN when either side is empty.
pub fn roc_auc(positives: &[f32], negatives: &[f32]) -> f64 {
    if positives.is_empty() || negatives.is_empty() {
        return f64::NAN;
    }
    let mut all: Vec<(f32, bool)> = positives
        .iter()
        .map(|&s| (s, true))
        .chain(negatives.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Sum of the positives' ranks (1-based), tied scores sharing their mean rank.
    let mut rank_sum = 0.0f64;
    let mut start = 0;
    while start < all.len() {
        let tied = all[start..]
            .iter()
            .take_while(|(s, _)| s.total_cmp(&all[start].0).is_eq())
            .count();
        let end = start + tied;
        let mean_rank = (start + 1 + end) as f64 / 2.0;
        let tied_positives = all[start..end].iter().filter(|(_, p)| *p).count();
        rank_sum += mean_rank * tied_positives as f64;
        start = end;
    }
    let (p, n) = (positives.len() as f64, negatives.len() as f64);
    (rank_sum - p * (p + 1.0) / 2.0) / (p * n)
}

/// The predictions the model makes over dotted labels, as `([a, b, c], d)`:
/// each character `d` after the three symbols before it in its label
/// (boundaries before the start), then each label's end (`d` =
/// [`BOUNDARY`]).
pub struct Predictions<'a> {
    symbols: Symbols<'a>,
    context: [u8; 3],
}

impl<'a> Predictions<'a> {
    /// The predictions over `labels`.
    pub fn new(labels: &'a str) -> Self {
        Self {
            symbols: Symbols {
                bytes: labels.as_bytes(),
            },
            context: [BOUNDARY; 3],
        }
    }
}

impl Iterator for Predictions<'_> {
    type Item = ([u8; 3], u8);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let context = self.context;
            match self.symbols.next() {
                Some(Some(d)) => {
                    self.context = [context[1], context[2], d];
                    return Some((context, d));
                }
                // The end of a label: a dot, or the end of the text.
                _ if context[2] != BOUNDARY => {
                    self.context = [BOUNDARY; 3];
                    return Some((context, BOUNDARY));
                }
                // An empty label, or the end after a label's end.
                Some(None) => {}
                None => return None,
            }
        }
    }
}

/// The order-3 table index of symbol `c` after symbols `a`, `b`.
pub const fn index(a: u8, b: u8, c: u8) -> usize {
    (a as usize * SYMBOLS + b as usize) * SYMBOLS + c as usize
}

/// The symbol of an ASCII byte other than `.` and `\`.
const fn symbol(byte: u8) -> u8 {
    match byte.to_ascii_lowercase() {
        c @ b'a'..=b'z' => c - b'a' + 1,
        c @ b'0'..=b'9' => c - b'0' + 27,
        b'-' => 37,
        b'_' => 38,
        _ => OTHER,
    }
}

const fn is_digit(symbol: u8) -> bool {
    matches!(symbol, 27..=36)
}

const fn is_consonant(symbol: u8) -> bool {
    // a = 1, e = 5, i = 9, o = 15, u = 21.
    matches!(symbol, 1..=26) && !matches!(symbol, 1 | 5 | 9 | 15 | 21)
}

/// The symbols of dotted text: `Some(symbol)` per character, `None` per dot.
struct Symbols<'a> {
    bytes: &'a [u8],
}

impl Iterator for Symbols<'_> {
    type Item = Option<u8>;

    fn next(&mut self) -> Option<Option<u8>> {
        let (&first, rest) = self.bytes.split_first()?;
        let char_len = |bytes: &[u8]| {
            1 + bytes
                .iter()
                .skip(1)
                .take_while(|&&b| b & 0xc0 == 0x80)
                .count()
        };
        let (item, used) = match first {
            b'.' => (None, 1),
            b'\\' => match rest {
                [a, b, c, ..] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
                    (Some(OTHER), 4)
                }
                [] => (Some(OTHER), 1),
                // `\X`: the escaped character, whole.
                _ => (Some(OTHER), 1 + char_len(rest)),
            },
            // One non-ASCII character: its lead byte and continuation bytes.
            0x80.. => (Some(OTHER), char_len(self.bytes)),
            _ => (Some(symbol(first)), 1),
        };
        self.bytes = self.bytes.get(used..).unwrap_or_default();
        Some(item)
    }
}
