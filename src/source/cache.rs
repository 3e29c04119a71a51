//! A bounded cache of fetched byte ranges, least recently used evicted first, by bytes.
//!
//! [`RemoteSource`](super::RemoteSource) keeps each range it fetched here, so the dictionary,
//! index pages and blocks a reader asks for again cost no request. A lookup is served when the
//! range asked lies inside one cached range. The cache keeps one invariant that makes that a
//! single ordered-map lookup: **no cached range contains another** (a new range that contains
//! cached ones replaces them; one contained in a cached range is not stored). With no
//! containment, ranges sorted by start are also sorted by end, so the cached range with the
//! greatest start ≤ the asked start is the only candidate that can cover the request.

use bytes::Bytes;
use std::collections::BTreeMap;
use std::ops::Range;

/// One cached range: its bytes and when it was last used.
#[derive(Debug)]
struct Slot {
    bytes: Bytes,
    tick: u64,
}

/// Fetched ranges keyed by start offset, at most `budget` bytes in all.
#[derive(Debug)]
pub(crate) struct RangeCache {
    /// start offset → slot; no slot's range contains another's.
    slots: BTreeMap<u64, Slot>,
    /// last-use tick → start offset: the eviction order.
    by_use: BTreeMap<u64, u64>,
    used: usize,
    budget: usize,
    clock: u64,
}

impl RangeCache {
    /// An empty cache that holds at most `budget` bytes.
    pub(crate) fn new(budget: usize) -> Self {
        RangeCache {
            slots: BTreeMap::new(),
            by_use: BTreeMap::new(),
            used: 0,
            budget,
            clock: 0,
        }
    }

    /// Bytes held now.
    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.used
    }

    /// Number of ranges held now.
    #[cfg(test)]
    pub(crate) fn ranges(&self) -> usize {
        self.slots.len()
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// The start of the cached range that covers `r`, if one does.
    fn covering(&self, r: &Range<u64>) -> Option<u64> {
        let (&start, slot) = self.slots.range(..=r.start).next_back()?;
        let end = start.checked_add(slot.bytes.len() as u64)?;
        (r.end <= end).then_some(start)
    }

    /// The bytes of `r` if a cached range covers it (marking that range used).
    pub(crate) fn get(&mut self, r: &Range<u64>) -> Option<Bytes> {
        let start = self.covering(r)?;
        let tick = self.tick();
        let slot = self.slots.get_mut(&start)?;
        self.by_use.remove(&slot.tick);
        slot.tick = tick;
        self.by_use.insert(tick, start);
        // Both offsets lie inside the slot: covering() checked start ≤ r.start ≤ r.end ≤ end.
        let from = usize::try_from(r.start - start).ok()?;
        let to = usize::try_from(r.end - start).ok()?;
        slot.bytes.get(from..to).map(|_| slot.bytes.slice(from..to))
    }

    /// Keeps `bytes` as the range starting at `start`, evicting the least recently used ranges
    /// past the budget. A range larger than the whole budget is not kept.
    pub(crate) fn insert(&mut self, start: u64, bytes: Bytes) {
        let Some(end) = start.checked_add(bytes.len() as u64) else {
            return;
        };
        if bytes.is_empty() || bytes.len() > self.budget {
            return;
        }
        if self.get(&(start..end)).is_some() {
            return; // already covered (and now marked used)
        }
        // Drop the cached ranges the new one contains: starts in start..end whose ends are
        // ≤ end. Ends grow with starts, so they form a prefix of that run.
        let contained: Vec<u64> = self
            .slots
            .range(start..end)
            .take_while(|&(&s, slot)| s.saturating_add(slot.bytes.len() as u64) <= end)
            .map(|(&s, _)| s)
            .collect();
        for s in contained {
            self.remove(s);
        }
        let tick = self.tick();
        self.used += bytes.len();
        self.slots.insert(start, Slot { bytes, tick });
        self.by_use.insert(tick, start);
        while self.used > self.budget {
            let Some((_, oldest)) = self.by_use.pop_first() else {
                break;
            };
            self.remove(oldest);
        }
    }

    fn remove(&mut self, start: u64) {
        if let Some(slot) = self.slots.remove(&start) {
            self.by_use.remove(&slot.tick);
            self.used -= slot.bytes.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(start: u64, len: usize) -> Bytes {
        (0..len).map(|i| (start as usize + i) as u8).collect()
    }

    fn check(c: &mut RangeCache, r: Range<u64>) -> bool {
        match c.get(&r) {
            Some(b) => {
                assert_eq!(b, bytes(r.start, (r.end - r.start) as usize));
                true
            }
            None => false,
        }
    }

    #[test]
    fn serves_ranges_inside_cached_ones_only() {
        let mut c = RangeCache::new(1000);
        c.insert(100, bytes(100, 50));
        assert!(check(&mut c, 100..150));
        assert!(check(&mut c, 120..130));
        assert!(check(&mut c, 149..150));
        assert!(!check(&mut c, 99..101));
        assert!(!check(&mut c, 140..151));
        assert!(!check(&mut c, 0..10));
        c.insert(300, bytes(300, 10));
        assert!(check(&mut c, 305..310));
        assert!(!check(&mut c, 145..305));
    }

    #[test]
    fn a_range_containing_cached_ones_replaces_them() {
        let mut c = RangeCache::new(1000);
        c.insert(10, bytes(10, 5));
        c.insert(20, bytes(20, 5));
        c.insert(40, bytes(40, 50)); // overlaps the next one, contains neither
        c.insert(0, bytes(0, 30));
        assert_eq!((c.ranges(), c.used()), (2, 80));
        assert!(check(&mut c, 12..28));
        assert!(check(&mut c, 50..90));
        // Contained in a cached range: not stored again.
        c.insert(45, bytes(45, 10));
        assert_eq!((c.ranges(), c.used()), (2, 80));
        // Partly overlapping: both kept, each lookup finds the right one.
        c.insert(80, bytes(80, 40));
        assert!(check(&mut c, 85..120));
        assert!(check(&mut c, 41..89));
        assert!(!check(&mut c, 41..91));
    }

    #[test]
    fn evicts_least_recently_used_by_bytes() {
        let mut c = RangeCache::new(100);
        c.insert(0, bytes(0, 40));
        c.insert(100, bytes(100, 40));
        assert!(check(&mut c, 0..10)); // 0.. is now the most recent
        c.insert(200, bytes(200, 40)); // 120 > 100: 100.. goes
        assert_eq!(c.used(), 80);
        assert!(!check(&mut c, 100..110));
        assert!(check(&mut c, 0..40));
        assert!(check(&mut c, 200..240));
        // Larger than the budget: not kept, nothing evicted for it.
        c.insert(1000, bytes(1000, 101));
        assert_eq!(c.used(), 80);
        assert!(!check(&mut c, 1000..1001));
        // Exactly the budget: everything else goes.
        c.insert(500, bytes(500, 100));
        assert_eq!((c.ranges(), c.used()), (1, 100));
    }

    #[test]
    fn a_zero_budget_keeps_nothing_and_offsets_near_the_top_are_safe() {
        let mut c = RangeCache::new(0);
        c.insert(0, bytes(0, 1));
        assert_eq!(c.used(), 0);
        let mut c = RangeCache::new(100);
        c.insert(u64::MAX - 5, bytes(0, 10)); // would wrap: refused
        assert_eq!(c.used(), 0);
        c.insert(u64::MAX - 10, Bytes::from(vec![1; 10]));
        assert_eq!(
            c.get(&(u64::MAX - 3..u64::MAX - 1)).as_deref(),
            Some(&[1, 1][..])
        );
        assert_eq!(c.get(&(u64::MAX - 1..u64::MAX)).as_deref(), Some(&[1][..]));
        assert!(c.get(&(u64::MAX - 11..u64::MAX - 9)).is_none());
    }
}
