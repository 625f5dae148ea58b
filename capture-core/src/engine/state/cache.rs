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
pub(super) const MARKED_LISTS: [(ListKind, u8); 4] = [
    (ListKind::CdnCloud, marks::CDN),
    (ListKind::DynamicDns, marks::DYNAMIC_DNS),
    (ListKind::IpLookup, marks::IP_LOOKUP),
    (ListKind::Watch, marks::WATCH),
];

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
            let domain = self.data.names.get(i).domain;
            let label = self.label_randomness(domain, model);
            let lists = self.domain_lists(domain);
            let (lexical, marks, class) = self.name_features(i, label, lists, model);
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

    /// Lexical randomness of `domain`'s registrable label (the label left
    /// of the public suffix), scored the first time it is asked for.
    fn label_randomness(&mut self, domain: u32, model: &LexicalModel) -> f32 {
        let d = domain as usize;
        if self.label_randomness.len() <= d {
            self.label_randomness
                .resize(self.data.domains.len().max(d + 1), f32::NAN);
        }
        let cached = self.label_randomness[d];
        if !cached.is_nan() {
            return cached;
        }
        let text = self.data.arena.get(self.data.domains.get(domain).name);
        let text = std::str::from_utf8(text).unwrap_or("");
        let scored = model.score(text.split('.').next().unwrap_or("")).randomness;
        self.label_randomness[d] = scored;
        scored
    }

    /// What each marked list says of `domain`'s names, worked out the
    /// first time it is asked for.
    fn domain_lists(&mut self, domain: u32) -> [DomainVerdict; MARKED_LISTS.len()] {
        let d = domain as usize;
        if self.domain_lists.len() <= d {
            self.domain_lists
                .resize(self.data.domains.len().max(d + 1), None);
        }
        if let Some(verdicts) = self.domain_lists[d] {
            return verdicts;
        }
        let text = self.data.arena.get(self.data.domains.get(domain).name);
        let text = std::str::from_utf8(text).unwrap_or("");
        let verdicts = MARKED_LISTS.map(|(kind, _)| self.lists.get(kind).domain_verdict(text));
        self.domain_lists[d] = Some(verdicts);
        verdicts
    }

    /// Lexical randomness (quantized), list marks and class of name `i`,
    /// whose registrable label scored `label` and whose domain the lists
    /// judged `lists`.
    fn name_features(
        &self,
        i: u32,
        label: f32,
        lists: [DomainVerdict; MARKED_LISTS.len()],
        model: &LexicalModel,
    ) -> (u8, u8, NameClass) {
        let e = self.data.names.get(i);
        let name = std::str::from_utf8(self.data.arena.get(e.name)).unwrap_or("");
        let domain = std::str::from_utf8(self.data.arena.get(self.data.domains.get(e.domain).name))
            .unwrap_or("");
        // The labels left of the public suffix: the registrable label and
        // any below it; the more random of the two counts.
        let sub = name
            .strip_suffix(domain)
            .and_then(|s| s.strip_suffix('.'))
            .unwrap_or("");
        let mut randomness = label;
        if !sub.is_empty() {
            randomness = randomness.max(model.score(sub).randomness);
        }
        let mut m = marks::SCORED;
        for ((kind, bit), verdict) in MARKED_LISTS.into_iter().zip(lists) {
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
