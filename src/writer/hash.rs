//! The hash index (§7) as the writer builds it.

use crate::format::{self, Slot, SLOTS_PER_BUCKET};

/// The hash index as built: buckets, seed and largest probe distance.
pub(crate) struct HashIndex {
    pub(crate) buckets: Vec<[Slot; SLOTS_PER_BUCKET]>,
    pub(crate) seed: u64,
    pub(crate) max_probe: u32,
}

/// Builds the hash index of §7: load at most 6 of 7 slots; seeds tried from 0 while the
/// longest probe exceeds 8 buckets (keeping the best); should even the best exceed the
/// format's limit (hostile keys), twice the buckets and again.
pub(crate) fn build_hash_index(keys: &[&[u8]]) -> HashIndex {
    let mut bucket_count = (keys.len() as u64).div_ceil(6);
    if bucket_count == 0 {
        return HashIndex {
            buckets: Vec::new(),
            seed: 0,
            max_probe: 0,
        };
    }
    loop {
        let mut best: Option<HashIndex> = None;
        for seed in 0..16u64 {
            let index = fill_buckets(keys, seed, bucket_count);
            let good = index.max_probe <= 8;
            if best.as_ref().is_none_or(|b| index.max_probe < b.max_probe) {
                best = Some(index);
            }
            if good {
                break;
            }
        }
        match best {
            Some(b) if b.max_probe <= format::MAX_PROBE => return b,
            _ => bucket_count *= 2,
        }
    }
}

/// Linear probing over buckets with one seed.
fn fill_buckets(keys: &[&[u8]], seed: u64, bucket_count: u64) -> HashIndex {
    let mut buckets = vec![[Slot::EMPTY; SLOTS_PER_BUCKET]; bucket_count as usize];
    let mut fill = vec![0u8; bucket_count as usize];
    let mut max_probe = 0u64;
    for (i, k) in keys.iter().enumerate() {
        let h = format::key_hash(k, seed);
        let home = h % bucket_count;
        let mut p = 0u64;
        loop {
            let b = ((home + p) % bucket_count) as usize;
            if usize::from(fill[b]) < SLOTS_PER_BUCKET {
                buckets[b][usize::from(fill[b])] = Slot {
                    entry: i as u32,
                    tag: (h >> 32) as u32,
                };
                fill[b] += 1;
                break;
            }
            p += 1;
        }
        max_probe = max_probe.max(p);
    }
    HashIndex {
        buckets,
        seed,
        max_probe: u32::try_from(max_probe).unwrap_or(u32::MAX),
    }
}
