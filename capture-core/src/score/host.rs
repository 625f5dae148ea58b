//! How suspicious a host is, from the scores of its findings.

/// Findings scoring at least this count their names among a host's
/// suspicious names.
pub const SUSPICIOUS: f32 = 20.0;
/// Findings scoring at least this add to their host's score beyond its
/// best.
pub const CLEARLY_SUSPICIOUS: f32 = 50.0;
/// Findings listed per host row.
pub const HOST_TOP_NAMES: usize = 5;

/// A host's score from its findings' scores, best first: the best counts
/// whole; every other clearly suspicious one adds a fifth of its score
/// (many weak hints do not make a host look infected, a second C2 channel
/// does); at most 100.
pub fn host_score(best_first: impl IntoIterator<Item = f32>) -> f32 {
    best_first
        .into_iter()
        .enumerate()
        .map(|(k, s)| match k {
            0 => s,
            _ if s >= CLEARLY_SUSPICIOUS => s * 0.2,
            _ => 0.0,
        })
        .sum::<f32>()
        .min(100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_name_counts_whole_others_a_fifth_when_clearly_suspicious() {
        assert_eq!(host_score([]), 0.0);
        assert_eq!(host_score([40.0]), 40.0);
        assert_eq!(host_score([60.0, 49.0, 30.0]), 60.0);
        assert_eq!(host_score([60.0, 50.0, 55.0]), 60.0 + 10.0 + 11.0);
        assert_eq!(host_score([90.0, 90.0, 90.0, 90.0]), 100.0);
    }
}
