//! The lexical randomness signal: how little a name's labels look like the
//! labels of ordinary, popular domains — in the spirit of Mark Baggett's
//! freq.py, plus length, digit ratio, entropy and consonant runs.
//!
//! A character 4-gram model of popular registrable labels (the labels left
//! of the public suffix: `google` for `google.com`, `bbc` for `bbc.co.uk`),
//! over `a`–`z`, `0`–`9`, `-`, `_`, "anything else" and a label boundary,
//! smoothed by interpolated Kneser–Ney, gives the mean log-probability per
//! character of a label string. A logistic combination of that with the
//! plain features gives `randomness` in `[0, 1]`.
//!
//! The model is trained at development time by `cargo xtask train-lexical`
//! (`xtask/src/lexical.rs`) from the Alexa top-10k list in
//! `../shared/data/names`, and only the resulting table is committed:
//! `capture-user/data/lexical-model.bin` (about 115 kB), embedded with
//! `include_bytes!` and parsed at compile time, so a malformed table fails
//! the build, not the daemon. The symbol alphabet, the table format and the
//! feature arithmetic are in the submodule `model` (`lexical/model.rs`),
//! which the training step includes too, so both sides agree by
//! construction.
//!
//! Scoring never panics, never allocates, and takes about 0.2–0.3 µs per
//! name (`cargo bench -p dnsrare-benches --bench lexical`).

mod model;

use std::sync::LazyLock;

pub use model::roc_auc;
use serde::{Deserialize, Serialize};

/// The trained model file.
const MODEL_FILE: &[u8] = include_bytes!("../../data/lexical-model.bin");

/// The embedded model's table, checked when this crate is compiled.
const TABLE: model::Table<'static> = match model::Table::parse(MODEL_FILE) {
    Ok(table) => table,
    Err(error) => panic!("{}", error.message()),
};

/// The embedded model, its costs laid out on first use (under a
/// millisecond).
static EMBEDDED: LazyLock<LexicalModel> = LazyLock::new(|| LexicalModel {
    table: TABLE.dense(),
});

/// The lexical model: n-gram costs of ordinary labels and the weights that
/// combine the features into a randomness score.
#[derive(Clone, Debug)]
pub struct LexicalModel {
    table: model::Dense<'static>,
}

impl LexicalModel {
    /// The model trained at development time and embedded in the binary.
    pub fn embedded() -> &'static LexicalModel {
        &EMBEDDED
    }

    /// Scores one or more dotted labels (e.g. "d3ag4hukkh62yn" or
    /// "x7k.q9z"), already lowercase. Any text is accepted: a `\DDD` escape
    /// or a non-ASCII character counts as one unusual character, empty
    /// labels are skipped, and a string without characters scores 0.
    pub fn score(&self, labels: &str) -> LexicalScore {
        let features = self.table.features(labels);
        let model::Features {
            bits_per_symbol,
            length,
            digit_ratio,
            entropy,
            longest_consonant_run,
        } = features;
        LexicalScore {
            randomness: self.table.randomness(&features),
            // Not `-0.0` for a name without characters.
            log_prob_per_char: if length == 0 { 0.0 } else { -bits_per_symbol },
            length: u16::try_from(length).unwrap_or(u16::MAX),
            digit_ratio,
            entropy,
            longest_consonant_run: u8::try_from(longest_consonant_run).unwrap_or(u8::MAX),
        }
    }
}

/// The lexical features of a label string and their combination.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LexicalScore {
    /// How random the labels look, in `[0, 1]`: the logistic combination
    /// of the fields below, fitted to tell generated random labels from
    /// popular ones.
    pub randomness: f32,
    /// Mean `log2` probability (≤ 0) under the 4-gram model, per
    /// character and per label end: mostly −2 to −4 for ordinary labels,
    /// below −5 for random ones; 0 for a name without characters.
    pub log_prob_per_char: f32,
    /// Characters, dots excluded, an escape counting once (saturating).
    pub length: u16,
    /// Share of characters that are digits.
    pub digit_ratio: f32,
    /// Shannon entropy of the characters, bits per character.
    pub entropy: f32,
    /// Longest run of consonants within one label (saturating).
    pub longest_consonant_run: u8,
}

#[cfg(test)]
mod tests {
    use std::{fs, path::Path};

    use super::*;

    fn score(labels: &str) -> LexicalScore {
        LexicalModel::embedded().score(labels)
    }

    #[test]
    fn ordinary_labels_score_low() {
        for label in [
            "google",
            "facebook",
            "wikipedia",
            "amazon",
            "bbc",
            "www.microsoft",
            "dailynewsworld",
        ] {
            let s = score(label);
            assert!(s.randomness < 0.2, "{label}: {s:?}");
        }
    }

    #[test]
    fn random_labels_score_high() {
        for label in [
            "xkq7zv9w3j",
            "d3ag4hukkh62yn",
            "c85b735ebe2d04a9d4a4ef52e397ec1e",
            "qxbmkstz",
        ] {
            let s = score(label);
            assert!(s.randomness > 0.8, "{label}: {s:?}");
        }
    }

    #[test]
    fn plain_features_are_exact() {
        let s = score("ab12.xyzq");
        assert_eq!(s.length, 8);
        assert_eq!(s.digit_ratio, 0.25);
        assert_eq!(s.entropy, 3.0); // eight distinct characters
        assert_eq!(s.longest_consonant_run, 4); // "xyzq"; the dot ends "b"
        assert!(s.log_prob_per_char < 0.0);
        let aaaa = score("aaaa");
        assert_eq!(aaaa.entropy, 0.0);
        assert_eq!(aaaa.longest_consonant_run, 0);
    }

    #[test]
    fn dots_and_escapes_count_as_documented() {
        assert_eq!(score("x7k.q9z"), score("x7k..q9z."));
        assert_eq!(score("a\\046b").length, 3);
        assert_eq!(score("a\\.b").length, 3);
        assert_eq!(score("aé").length, 2);
        assert_eq!(score("GOOGLE"), score("google"));
    }

    #[test]
    fn anything_scores_without_panicking() {
        let empty = score("");
        assert_eq!(empty.randomness, 0.0);
        assert_eq!(empty.length, 0);
        assert!(empty.log_prob_per_char.is_sign_positive());
        assert_eq!(score("..."), empty);
        let long = "a".repeat(70_000);
        assert_eq!(score(&long).length, u16::MAX);
        for text in [
            "\\",
            "a\\",
            "\\04",
            "\u{0}",
            "ü\u{10ffff}",
            "-_-",
            "0",
            &"z".repeat(300),
        ] {
            let s = score(text);
            assert!((0.0..=1.0).contains(&s.randomness), "{text:?}: {s:?}");
        }
    }

    #[test]
    fn arbitrary_bytes_score_without_panicking() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..2000 {
            let len = (next() % 300) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let text = String::from_utf8_lossy(&bytes);
            let s = score(&text);
            assert!((0.0..=1.0).contains(&s.randomness), "{text:?}: {s:?}");
            assert!(s.log_prob_per_char.is_finite() && s.entropy.is_finite());
        }
    }

    #[test]
    fn roc_auc_is_exact_on_small_cases() {
        assert_eq!(roc_auc(&[3.0, 4.0], &[1.0, 2.0]), 1.0);
        assert_eq!(roc_auc(&[1.0, 2.0], &[3.0, 4.0]), 0.0);
        assert_eq!(roc_auc(&[1.0], &[1.0]), 0.5);
        assert_eq!(roc_auc(&[2.0, 1.0], &[1.5]), 0.5);
        assert!(roc_auc(&[], &[1.0]).is_nan());
    }

    /// A model file with one context, boundary boundary `c`, backoff 10,
    /// with one follower `o` at cost 5; every order-3 cost is 100.
    fn one_context_file(c: u8) -> Vec<u8> {
        let mut file = model::MAGIC.to_vec();
        file.extend([0; 4 * model::WEIGHTS]);
        file.extend([100; model::TABLE_LEN]);
        file.extend(0u32.to_le_bytes()); // pair (boundary, boundary)
        for _ in 1..=model::PAIRS {
            file.extend(1u32.to_le_bytes());
        }
        file.extend([c, 10, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
        file.extend([15, 5]);
        file
    }

    #[test]
    fn four_gram_lookup_follows_the_documented_format() {
        let file = one_context_file(7);
        let table = model::Table::parse(&file).expect("a well-formed file");
        let (g, h, o, a) = (7, 8, 15, 1);
        assert_eq!(table.cost([0, 0, g], o), 5);
        assert_eq!(table.cost([0, 0, g], a), 110);
        assert_eq!(table.cost([0, 0, h], o), 100);
        assert_eq!(table.cost([0, a, g], o), 100);
    }

    #[test]
    fn dense_costs_are_the_table_costs() {
        // Every context and symbol, and some bytes that are no symbol, on
        // the embedded model, on one with wild indexes, and on one whose
        // only context has a symbol past the alphabet (41, where a row
        // would alias the context boundary `a` `a`).
        let garbage = garbage_table();
        let past: &'static [u8] = Box::leak(one_context_file(41).into_boxed_slice());
        let past = model::Table::parse(past).expect("well-formed sizes");
        for table in [TABLE, garbage, past] {
            let dense = table.dense();
            for a in 0..=41 {
                for b in 0..=41 {
                    for c in 0..=41 {
                        for d in (0..=41).chain([255]) {
                            assert_eq!(
                                dense.cost([a, b, c], d),
                                table.cost([a, b, c], d),
                                "{a} {b} {c} {d}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn malformed_model_files_are_refused() {
        use model::{FormatError, Table};
        assert_eq!(Table::parse(&[]).err(), Some(FormatError::Length));
        let mut wrong_magic = MODEL_FILE.to_vec();
        wrong_magic[0] ^= 1;
        assert_eq!(Table::parse(&wrong_magic).err(), Some(FormatError::Magic));
        let cut = &MODEL_FILE[..MODEL_FILE.len() - 1];
        assert_eq!(Table::parse(cut).err(), Some(FormatError::Length));
        let mut longer = MODEL_FILE.to_vec();
        longer.push(0);
        assert_eq!(Table::parse(&longer).err(), Some(FormatError::Length));
    }

    /// The embedded model's file with the right sizes and wild indexes.
    fn garbage_table() -> model::Table<'static> {
        let mut file = MODEL_FILE.to_vec();
        let pairs = 8 + 4 * model::WEIGHTS + model::TABLE_LEN;
        let contexts = pairs + 4 * (model::PAIRS + 1);
        for (i, byte) in file[pairs..contexts - 4].iter_mut().enumerate() {
            *byte = (i as u8).wrapping_mul(151);
        }
        let k = u32::from_le_bytes(file[contexts - 4..contexts].try_into().expect("4 bytes"));
        let closing = contexts + model::CONTEXT_LEN * k as usize;
        for byte in file[contexts..closing].iter_mut().step_by(5) {
            *byte = 0xff;
        }
        for byte in file[closing + model::CONTEXT_LEN..].iter_mut().step_by(3) {
            *byte = 0x80;
        }
        let file: &'static [u8] = Box::leak(file.into_boxed_slice());
        model::Table::parse(file).expect("sizes are unchanged")
    }

    #[test]
    fn garbage_tables_score_without_panicking() {
        // Every lookup must stay in bounds.
        let garbage = LexicalModel {
            table: garbage_table().dense(),
        };
        for text in [
            "google",
            "xkq7zv9w3j",
            "a.b.c",
            "\\255",
            "zzzzzzzzzzzzzzzzzzzzz",
        ] {
            let s = garbage.score(text);
            assert!((0.0..=1.0).contains(&s.randomness), "{text:?}: {s:?}");
        }
    }

    /// The labels left of the public suffix (`psl`, private section
    /// included), or `None` for a bare suffix.
    fn left_of_suffix(name: &str) -> Option<&str> {
        let name = name.trim_end_matches('.');
        let suffix = psl::suffix(name.as_bytes())?;
        let cut = name.len().checked_sub(suffix.as_bytes().len() + 1)?;
        name.get(..cut).filter(|left| !left.is_empty())
    }

    #[test]
    fn separates_real_dga_names_from_popular_names() {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/names");
        if !data.exists() {
            println!(
                "{} is absent: the lexical AUC check checks nothing",
                data.display()
            );
            return;
        }
        let read = |file: &str| {
            let path = data.join(file);
            fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        };
        let dga_text = read("dga_netlab360_2017-07_sample.tsv");
        let dga: Vec<&str> = dga_text
            .lines()
            .skip(1)
            .filter_map(|line| line.split('\t').nth(1))
            .filter_map(left_of_suffix)
            .collect();
        let benign_text = read("benign_alexa_sample.txt");
        let benign: Vec<&str> = benign_text.lines().filter_map(left_of_suffix).collect();
        // Three popular names are public suffixes themselves (hatenablog.jp,
        // k12.fl.us, sc.gov.br): nothing is left of them to score.
        assert_eq!((dga.len(), benign.len()), (300, 297));

        let model = LexicalModel::embedded();
        let randomness = |names: &[&str]| -> Vec<f32> {
            names.iter().map(|n| model.score(n).randomness).collect()
        };
        let entropy =
            |names: &[&str]| -> Vec<f32> { names.iter().map(|n| model.score(n).entropy).collect() };
        let auc = roc_auc(&randomness(&dga), &randomness(&benign));
        let baseline = roc_auc(&entropy(&dga), &entropy(&benign));
        println!(
            "ROC AUC, 300 netlab360 DGA vs 297 Alexa names: randomness {auc:.4}, entropy baseline {baseline:.4}"
        );
        assert!(auc >= 0.97, "randomness AUC {auc:.4} < 0.97");
        assert!(
            auc > baseline,
            "randomness AUC {auc:.4} <= entropy AUC {baseline:.4}"
        );
    }
}
