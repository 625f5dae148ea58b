//! The scoring cache: each name's lexical randomness and list marks, and
//! each arrival ring's beacon score, computed once (while the shard is idle
//! or before a report) and kept quantized beside the counts, so that
//! ranking a million names reads bytes instead of scoring them. The
//! registrable label's randomness is kept per domain, so a domain's
//! thousand names score its label once.

use super::{ShardState, ring::NS_PER_DS};
use crate::score::{
    beacon,
    class::NameClass,
    combine::{self, has_long_label, marks},
    lexical::LexicalModel,
    lists::{DomainVerdict, ListKind},
};

/// Cached beacon bits are kept as `bits × 4` in a byte.
pub(super) const BEACON_BITS_SCALE: f32 = 4.0;

/// The lists a name is marked against, with their marks.
const MARKED_LISTS: [(ListKind, u8); 4] = [
    (ListKind::CdnCloud, marks::CDN),
    (ListKind::DynamicDns, marks::DYNAMIC_DNS),
    (ListKind::IpLookup, marks::IP_LOOKUP),
    (ListKind::Watch, marks::WATCH),
];

/// What every name of one domain shares, scored once per domain.
#[derive(Clone, Copy, Debug)]
pub(super) struct DomainFeatures {
    /// Lexical randomness of the registrable label.
    label: f32,
    /// What each of [`MARKED_LISTS`] says of the domain's names.
    lists: [DomainVerdict; MARKED_LISTS.len()],
}

impl ShardState {
    /// Scores up to `budget` names and dirty rings not scored yet (lexical
    /// randomness and list marks per name, beacon score per ring); returns
    /// whether work remains. The shard calls this when it is idle, and
    /// before answering a scored report.
    pub fn refresh_scores(&mut self, mut budget: usize) -> bool {
        let model = LexicalModel::embedded();
        while budget > 0 && (self.scored_names as usize) < self.data.names.len() {
            let i = self.scored_names;
            self.scored_names += 1;
            budget -= 1;
            let domain = self.domain_features(self.data.names.get(i).domain, model);
            let (lexical, marks, class) = self.name_features(i, domain, model);
            let e = self.data.names.get_mut(i);
            e.lexical = lexical;
            e.marks = marks;
            e.class = class as u8;
        }
        while budget > 0 {
            let Some(r) = self.dirty_rings.pop() else {
                break;
            };
            budget -= 1;
            let ring = self.data.rings.get(r);
            if ring.scored {
                continue;
            }
            // Too few arrivals to make the beats a score needs: nothing to
            // measure (the ring is dirtied again by its next beat).
            if usize::from(ring.used) < beacon::MIN_BEATS {
                let ring = self.data.rings.get_mut(r);
                ring.beacon = 0;
                ring.short_period = false;
                ring.scored = true;
                continue;
            }
            let arrivals: Vec<u64> = ring
                .in_order()
                .map(|ds| u64::from(ds) * NS_PER_DS)
                .collect();
            let measured = beacon::score(&arrivals);
            let bits = measured.as_ref().map_or(0.0, combine::beacon_bits);
            let ring = self.data.rings.get_mut(r);
            ring.beacon = (bits * BEACON_BITS_SCALE).round().clamp(0.0, 255.0) as u8;
            ring.short_period = measured.is_some_and(|b| b.period_s < combine::RETRY_PERIOD_S);
            ring.scored = true;
        }
        (self.scored_names as usize) < self.data.names.len() || !self.dirty_rings.is_empty()
    }

    /// What `domain`'s names share, worked out the first time it is asked
    /// for: the lexical randomness of its registrable label (the label left
    /// of the public suffix) and what each marked list says of it.
    fn domain_features(&mut self, domain: u32, model: &LexicalModel) -> DomainFeatures {
        let d = domain as usize;
        if self.domain_features.len() <= d {
            self.domain_features
                .resize(self.data.domains.len().max(d + 1), None);
        }
        if let Some(features) = self.domain_features[d] {
            return features;
        }
        let text = self.domain_text(domain);
        let features = DomainFeatures {
            label: model.score(text.split('.').next().unwrap_or("")).randomness,
            lists: MARKED_LISTS.map(|(kind, _)| self.lists.get(kind).domain_verdict(text)),
        };
        self.domain_features[d] = Some(features);
        features
    }

    /// Lexical randomness (quantized), list marks and class of name `i`,
    /// whose domain has `shared` features.
    fn name_features(
        &self,
        i: u32,
        shared: DomainFeatures,
        model: &LexicalModel,
    ) -> (u8, u8, NameClass) {
        let name = self.name_text(i);
        let domain = self.domain_text(self.data.names.get(i).domain);
        // The labels left of the public suffix: the registrable label and
        // any below it; the more random of the two counts.
        let sub = name
            .strip_suffix(domain)
            .and_then(|s| s.strip_suffix('.'))
            .unwrap_or("");
        let mut randomness = shared.label;
        if !sub.is_empty() {
            randomness = randomness.max(model.score(sub).randomness);
        }
        let mut m = marks::SCORED;
        for ((kind, bit), verdict) in MARKED_LISTS.into_iter().zip(shared.lists) {
            if self.lists.get(kind).name_matches(verdict, name, domain) {
                m |= bit;
            }
        }
        if has_long_label(name) {
            m |= marks::LONG_LABEL;
        }
        (
            (randomness.clamp(0.0, 1.0) * 255.0).round() as u8,
            m,
            NameClass::of(name, &self.lists),
        )
    }
}
