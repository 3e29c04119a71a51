//! The keys added so far, for finding a repeated key: an open-addressing table of entry
//! numbers (4 bytes a bucket, at most half of them full), probed linearly from the key's
//! XXH3-64 hash, whose keys are compared in the writer's key arena.
//!
//! Memory: 8 to 16 bytes an entry, 24 while the table doubles (a million entries: 8 MiB).
//! The map from hash to entry it replaces took 19 to 39 (17 bytes a bucket), 51 MiB at its
//! last doubling before a million entries (issue 25's 1M-entry writer memory).

use super::Pending;

/// An empty bucket.
const EMPTY: u32 = u32::MAX;

/// The table: entry numbers (into the writer's entries) by bucket.
pub(super) struct Slots {
    table: Vec<u32>,
    len: usize,
}

/// The key of entry `i`.
fn key_of<'k>(entries: &[Pending], keys: &'k str, i: u32) -> &'k str {
    entries.get(i as usize).map_or("", |p| p.key(keys))
}

fn hash(key: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key.as_bytes())
}

impl Slots {
    /// An empty table (no allocation until the first key).
    pub(super) fn new() -> Slots {
        Slots {
            table: Vec::new(),
            len: 0,
        }
    }

    /// The bucket holding `key` (`Ok`, its entry) or the empty one where it would go (`Err`).
    fn probe(&self, key: &str, entries: &[Pending], keys: &str) -> Result<u32, usize> {
        let mask = self.table.len().wrapping_sub(1);
        let mut b = hash(key) as usize & mask;
        loop {
            match self.table[b] {
                EMPTY => return Err(b),
                i if key_of(entries, keys, i) == key => return Ok(i),
                _ => b = (b + 1) & mask,
            }
        }
    }

    /// The entry whose key is `key`, if any (`entries` with their keys in `keys`).
    pub(super) fn find(&self, key: &str, entries: &[Pending], keys: &str) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        self.probe(key, entries, keys).ok()
    }

    /// Records that entry `i` (already in `entries`) holds `key`, which no other entry holds.
    pub(super) fn insert(&mut self, key: &str, i: u32, entries: &[Pending], keys: &str) {
        if (self.len + 1) * 2 > self.table.len() {
            self.grow(entries, keys);
        }
        if let Err(b) = self.probe(key, entries, keys) {
            self.table[b] = i;
            self.len += 1;
        }
    }

    /// Doubles the table (16 buckets at first), placing every entry again.
    fn grow(&mut self, entries: &[Pending], keys: &str) {
        let cap = (self.table.len() * 2).max(16);
        let old = std::mem::replace(&mut self.table, vec![EMPTY; cap]);
        let mask = cap - 1;
        for i in old.into_iter().filter(|&i| i != EMPTY) {
            let mut b = hash(key_of(entries, keys, i)) as usize & mask;
            while self.table[b] != EMPTY {
                b = (b + 1) & mask;
            }
            self.table[b] = i;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key_at: usize, key: &str) -> Pending {
        Pending {
            key_at: key_at as u64,
            key_len: key.len() as u16,
            spool_at: 0,
            lead_len: 0,
            body_len: 0,
            content_type: 0,
            date: 0,
        }
    }

    #[test]
    fn every_key_added_is_found_and_no_other() {
        let mut keys = String::new();
        let mut entries = Vec::new();
        let mut slots = Slots::new();
        assert_eq!(slots.find("a", &entries, &keys), None);
        for n in 0..5_000u32 {
            // Keys that share long prefixes and lengths, and one empty-looking neighbour.
            let key = format!("synth/{n:06}");
            assert_eq!(slots.find(&key, &entries, &keys), None);
            entries.push(entry(keys.len(), &key));
            keys.push_str(&key);
            slots.insert(&key, n, &entries, &keys);
            assert_eq!(slots.find(&key, &entries, &keys), Some(n));
        }
        for n in 0..5_000u32 {
            let key = format!("synth/{n:06}");
            assert_eq!(slots.find(&key, &entries, &keys), Some(n), "{key}");
        }
        for absent in ["synth/005000", "synth/00000", "synth/0000000", "", "x"] {
            assert_eq!(slots.find(absent, &entries, &keys), None, "{absent}");
        }
        // At most half full, so that a probe ends at an empty bucket soon.
        assert!(slots.len * 2 <= slots.table.len());
        assert_eq!(slots.table.len(), 16_384);
    }
}
